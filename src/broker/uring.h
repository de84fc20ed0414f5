/* SPDX-License-Identifier: MIT */
/*
 * A domain's io_uring, made by the broker: the domain may operate only on
 * the files its manifest names (docs/security.md, "io_uring").
 */
#ifndef RL_BROKER_URING_H
#define RL_BROKER_URING_H

#include <linux/io_uring.h>

/*
 * Makes a ring of entries entries, disabled, restricts it to reads, writes,
 * fsync and no-ops on registered files (IOSQE_FIXED_FILE required) and to
 * registering buffers, registers files[0..nfiles), and enables it. Returns
 * the ring's descriptor (close-on-exec) with its parameters in *params, or a
 * negative errno.
 */
int rl_uring_make(const int *files, unsigned nfiles, unsigned entries, struct io_uring_params *params);

#endif /* RL_BROKER_URING_H */
