/* SPDX-License-Identifier: MIT */
/*
 * What every mpqemu test needs: QEMU installed (need-qemu.sh), a backing
 * image and guest RAM that leave nothing behind, and a QEMU that is killed
 * and reaped however the test ends.
 */
#ifndef T_MPQEMU_FIXTURE_H
#define T_MPQEMU_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mpqemu.h"

/* Runs need-qemu.sh (path in $NEED_QEMU); exits 77 when it says QEMU cannot be had. */
void t_need_qemu(void);

/*
 * A raw image of size bytes, already unlinked: QEMU opens it as
 * /proc/<our pid>/fd/<fd>, so no file is left whatever happens to the test.
 * Returns the descriptor (to check what QEMU wrote) and the path in path.
 */
int t_image(uint64_t size, char *path, size_t path_len);

/* Guest RAM: a memfd of len bytes mapped shared; the region to hand over. */
struct rl_mpqemu_region t_guest_ram(size_t len);
/* The same at address at, or anywhere when at is taken. */
struct rl_mpqemu_region t_guest_ram_at(size_t len, uintptr_t at);

/* Starts QEMU (err to stderr) and remembers it, so a failing test still kills and reaps it. */
struct rl_mpqemu *t_start(struct rl_mpqemu_config *cfg);
/* Stops what t_start started. */
void t_stop(struct rl_mpqemu *q);

/* Descriptors open in this process now (to find leaks). */
int t_count_fds(void);
/* True when this process has a child, reaped or not (to find zombies and strays). */
int t_has_children(void);

/* Monotonic time in nanoseconds. */
uint64_t t_now_ns(void);

#endif
