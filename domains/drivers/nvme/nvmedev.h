/* SPDX-License-Identifier: MIT */
/*
 * How the NVMe driver domain reaches the device the broker gave it: the
 * back end is chosen here (the device model file the launcher mapped,
 * manifest `device: {model: nvme}`, or a controller bound to vfio-pci,
 * `device: {vfio: ADDRESS}`), so nvmedrv.c is the same on all.
 */
#ifndef RL_NVMEDEV_H
#define RL_NVMEDEV_H

#include <stddef.h>

#include "dev.h"

/*
 * Fills *dev for the assigned device and registers what it may reach (the
 * heap and the domain's device memory); *qmem and *qlen get the device memory
 * for the driver's queues. Returns 0 or a negative errno, after logging why.
 */
int nvmedrv_dev_open(struct rl_dev *dev, void **qmem, size_t *qlen);

#endif
