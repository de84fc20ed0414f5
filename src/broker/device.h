/* SPDX-License-Identifier: MIT */
/*
 * Devices: the device model each domain with `device:` drives (device.c).
 * The broker starts the models with the system, before any domain, and they
 * stay until it stops: a model is the hardware, and outlives its driver's
 * restarts.
 */
#ifndef RL_BROKER_DEVICE_H
#define RL_BROKER_DEVICE_H

#include "state.h"

/*
 * Starts the model of every domain whose manifest entry has `device:`, each
 * once it serves, and a thread that logs a model's death. Call after the
 * heap and the domains' device memory exist, before any domain starts.
 * Returns 0, or -1 after saying why; rl_devices_stop() then ends what was
 * started.
 */
int rl_devices_start(struct broker *b);

/*
 * For each start of d: the model file (BAR0, control page) it gets at
 * RL_FD_DEVICE, or -1 when it has no device. Also writes the device fields
 * of d's control page (has_device, devmem_addr) again, since a dead
 * incarnation may have changed them.
 */
int rl_device_fd(struct domain *d);

/*
 * After d (a driver with a device) died, before its objects are reclaimed:
 * disables its controller and waits (200 ms at most) until the model says
 * it stopped, so no command of the dead driver lands in an object that is
 * about to change hands. true when it stopped; false for a domain without
 * a device (or a model that did not stop, which is logged).
 */
bool rl_device_quiesce(struct broker *b, struct domain *d);

/* Ends the watching thread, then kills and reaps every model still running. Safe to call twice. */
void rl_devices_stop(struct broker *b);

#endif /* RL_BROKER_DEVICE_H */
