/* SPDX-License-Identifier: MIT */
/*
 * Real PCI devices for driver domains (manifest `device: {vfio: ADDRESS}`):
 * the broker's trusted half of the vfio-pci back end (vfio.c). The broker
 * opens the device's VFIO container and group, maps the shared heap and the
 * domain's device memory into the device's IOMMU domain (IOVA = the
 * addresses the domain uses), and hands the domain the device descriptor at
 * RL_FD_DEVICE. docs/storage.md, "vfio-pci back end".
 */
#ifndef RL_BROKER_VFIO_H
#define RL_BROKER_VFIO_H

#include <stdbool.h>

#include "state.h"

/*
 * Takes over d's device (d->m->device.vfio): checks that it exists, has an
 * IOMMU group and is bound to vfio-pci, opens container, group and device,
 * sets the type1 IOMMU and maps the heap at RL_HEAP_BASE and d's device
 * memory at RL_DEVMEM_DEVICE_ADDR. Call after the heap and d's device
 * memory exist, before d starts. Returns 0, or a negative errno after
 * printing why to stderr (with what the user should do); what was opened is
 * then released by rl_vfio_close_all().
 */
int rl_vfio_open(struct broker *b, struct domain *d);

/* d's VFIO device descriptor (the broker keeps it; a start gets a copy), or -1. */
int rl_vfio_device_fd(const struct domain *d);

/*
 * After d's driver died, before its objects are reclaimed: turns bus
 * mastering off in the device's command register, so the device issues no
 * DMA into memory about to change hands; the next driver turns it on
 * again. true when it is off; false for a domain without a VFIO device (or
 * when the config write failed, which is logged).
 */
bool rl_vfio_quiesce(struct broker *b, struct domain *d);

/* Stops every device's DMA and closes device, group and container (which unmaps the DMA). Safe twice. */
void rl_vfio_close_all(struct broker *b);

#endif /* RL_BROKER_VFIO_H */
