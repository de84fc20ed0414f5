/* SPDX-License-Identifier: MIT */
/*
 * A domain's io_uring, made by the broker: the domain may operate only on
 * the files its manifest names (docs/security.md, "io_uring").
 */
#ifndef RL_BROKER_URING_H
#define RL_BROKER_URING_H

#include <linux/io_uring.h>
#include <stdbool.h>

/*
 * Makes a ring of entries entries, disabled, restricts it to reads, writes,
 * fsync and no-ops on registered files (IOSQE_FIXED_FILE required) and to
 * registering buffers, registers files[0..nfiles), and enables it. Returns
 * the ring's descriptor (close-on-exec) with its parameters in *params, or a
 * negative errno.
 */
int rl_uring_make(const int *files, unsigned nfiles, unsigned entries, struct io_uring_params *params);

/*
 * The broker's hold on a domain's ring whose files do direct I/O: the
 * device transfers straight into the callers' RRefs, also after the domain
 * died (the ring lives on until its requests end). Before the dead
 * domain's objects are reclaimed, rl_uring_drain() waits until every
 * request the ring took has completed, as a device model is stopped before
 * reclaim (docs/security.md).
 */
struct rl_uring_watch;

/* Keeps a duplicate of ring (made with params); NULL when out of memory or descriptors. */
struct rl_uring_watch *rl_uring_watch(int ring, const struct io_uring_params *params);

/*
 * Waits up to timeout_ms until every request the ring took has posted its
 * completion (consuming completions itself, so overflowed ones come
 * through), then lets the ring go and frees w. Returns true when drained;
 * false after timeout_ms with *left requests still running (or 0 when the
 * ring could not be mapped). NULL w: true.
 */
bool rl_uring_drain(struct rl_uring_watch *w, int timeout_ms, unsigned *left);

/* Lets the ring go without waiting (a process that never ran) and frees w; NULL w is fine. */
void rl_uring_watch_free(struct rl_uring_watch *w);

#endif /* RL_BROKER_URING_H */
