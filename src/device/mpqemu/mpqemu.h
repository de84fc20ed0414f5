/* SPDX-License-Identifier: MIT */
/*
 * The "mpqemu" back end of the device layer: QEMU's own NVMe emulation in a
 * QEMU process of its own (machine x-remote, no guest, no KVM), reached over
 * QEMU's multi-process protocol on a socket. BAR0 is not memory here: every
 * register access is one request and one reply on the socket (struct rl_dev
 * with bar == NULL and ops). DMA needs no translation: the memory regions
 * handed to rl_mpqemu_start() become QEMU's guest RAM at guest-physical
 * address = their virtual address, so IOVA = virtual address as everywhere
 * in the device layer.
 *
 * The protocol is QEMU-internal and experimental: this back end is written
 * against Debian 12's QEMU 7.2 (package qemu-system-x86); see docs/mpqemu.md.
 *
 * One thread at a time may use one instance (the protocol is strictly one
 * request, one reply).
 */
#ifndef RL_DEVICE_MPQEMU_H
#define RL_DEVICE_MPQEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dev.h"

/* QEMU 7.2 takes at most 7 file descriptors in one SYNC_SYSMEM message. */
#define RL_MPQEMU_MAX_REGIONS 7
/* The Debian package that has the QEMU this back end is written for. */
#define RL_MPQEMU_PACKAGE "qemu-system-x86"
#define RL_MPQEMU_DEFAULT_BINARY "qemu-system-x86_64"
#define RL_MPQEMU_DEFAULT_TIMEOUT_MS 5000

/* Memory the device may reach: [addr, addr + len) is the mapping of memfd at offset. */
struct rl_mpqemu_region {
	void *addr; /* page-aligned; also its guest-physical (bus) address */
	size_t len; /* page-aligned, > 0 */
	int memfd;  /* any shareable file (memfd, hugetlbfs, tmpfs); stays the caller's */
	off_t offset; /* page-aligned offset of addr's page in memfd */
};

struct rl_mpqemu_config {
	const char *image;  /* raw backing image, the caller's; its size is the namespace size */
	const char *serial; /* NVMe serial number, 1..20 printable ASCII characters; NULL: "redleaf-mpqemu" */
	const struct rl_mpqemu_region *regions;
	unsigned nregions;  /* 1..RL_MPQEMU_MAX_REGIONS, pairwise disjoint */
	const char *qemu;   /* QEMU binary (a path, or a name looked up in PATH); NULL: the default */
	unsigned timeout_ms; /* bound on each reply from QEMU; 0: RL_MPQEMU_DEFAULT_TIMEOUT_MS */
	char *err;          /* where a start failure is explained, or NULL: to stderr */
	size_t err_len;
};

struct rl_mpqemu;

/*
 * Starts QEMU on cfg->image, programs BAR0 (at an address outside every
 * region) and the PCI command register, hands the regions over as guest RAM
 * and makes one round trip, in that order (docs/mpqemu.md says why).
 * Returns 0 and *out, or a negative errno with the reason in cfg->err:
 * -ENOENT QEMU or the image is missing, -EINVAL a bad configuration,
 * -ECONNRESET QEMU exited (its stderr is quoted), -ETIMEDOUT QEMU did not
 * answer within the timeout, or what a system call failed with. Nothing is
 * left behind on failure: no process, no descriptor.
 */
int rl_mpqemu_start(struct rl_mpqemu **out, const struct rl_mpqemu_config *cfg);

/* The device, for the rl_dev_* accessors. Valid until rl_mpqemu_stop(). */
struct rl_dev *rl_mpqemu_dev(struct rl_mpqemu *q);

/*
 * Register access that reports errors (the rl_dev ops use these and turn an
 * error into an all-ones read or a dropped write). size is 4 or 8, off a
 * multiple of size inside BAR0. Return 0, -EINVAL (a bad offset or size: the
 * device stays usable), or -ENOTCONN, -ECONNRESET, -ETIMEDOUT, -EPROTO
 * (QEMU is gone or hung: the device is dead from then on, QEMU killed).
 */
int rl_mpqemu_bar_read(struct rl_mpqemu *q, uint32_t off, unsigned size, uint64_t *val);
int rl_mpqemu_bar_write(struct rl_mpqemu *q, uint32_t off, unsigned size, uint64_t val);

/* PCI configuration space, len 1, 2 or 4 bytes, off a multiple of len below 256. Errors as above. */
int rl_mpqemu_config_read(struct rl_mpqemu *q, uint32_t off, unsigned len, uint32_t *val);
int rl_mpqemu_config_write(struct rl_mpqemu *q, uint32_t off, unsigned len, uint32_t val);

/* False once an exchange with QEMU failed or QEMU exited; then every access fails. */
bool rl_mpqemu_alive(struct rl_mpqemu *q);

/* Why the device died or the last access failed, with QEMU's stderr when it exited; "" if nothing failed. */
const char *rl_mpqemu_error(const struct rl_mpqemu *q);

/* QEMU's process id, or -1 once it has been reaped. */
pid_t rl_mpqemu_pid(const struct rl_mpqemu *q);

/* BAR0's bus address as programmed in configuration space. */
uint64_t rl_mpqemu_bar0(const struct rl_mpqemu *q);

/*
 * Ends QEMU (closing the socket lets it shut down cleanly; it is killed if it
 * has not exited within a second) and reaps it, closes every descriptor and
 * frees q. NULL is accepted. The image and the regions stay the caller's.
 */
void rl_mpqemu_stop(struct rl_mpqemu *q);

#endif
