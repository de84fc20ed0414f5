/* SPDX-License-Identifier: MIT */
/*
 * The "model" back end of the device layer: a device model process (a
 * trusted program standing in for a card, src/broker/devices/) serves BAR0
 * from a shared file, and the driver maps the same file.
 *
 * The file (a memfd) holds BAR0 followed by one control page:
 *
 *   [0, bar_len)                    BAR0: registers, plain memory
 *   [bar_len, bar_len + 4096)       struct rl_model_ctl, then at
 *                                   RL_MODEL_DEV_AREA the device's own area
 *                                   (fault injection, counters)
 *
 * A model polls BAR0 while busy and sleeps on the futex word `gen` while
 * idle; the driver's stores (rl_dev_write32/64) call kick(), which bumps
 * `gen` and wakes the model when it sleeps. The model sets `magic` last,
 * once registers and control page are initialised: a file without it is not
 * (yet) a model.
 *
 * DMA: the model maps the same memfds as the driver at the same addresses
 * (IOVA = virtual address); rl_dev_add_region() on the driver side only
 * records what the model was given.
 */
#ifndef RL_DEVICE_MODEL_H
#define RL_DEVICE_MODEL_H

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dev.h"

#define RL_MODEL_MAGIC 0x444d4c52u /* "RLMD" */
#define RL_MODEL_VERSION 1
#define RL_MODEL_CTL_SIZE 4096
#define RL_MODEL_DEV_AREA 256 /* offset of the device's area in the control page */

struct rl_model_ctl {
	_Atomic uint32_t magic;     /* RL_MODEL_MAGIC once the model is ready */
	uint32_t version;           /* RL_MODEL_VERSION */
	uint32_t bar_len;           /* BAR0's length: the control page follows it */
	uint32_t kick_from;         /* stores at or past this offset kick the model */
	_Atomic uint32_t stop;      /* anyone: ask the model to return from its loop */
	_Atomic uint32_t model_pid; /* informational */
	uint32_t reserved0[10];
	/* Own cache line: written by every kick, read by the model's spin loop. */
	_Atomic uint32_t gen;      /* futex word: bumped by every kick */
	_Atomic uint32_t sleeping; /* 1 while the model waits (or is about to) on gen */
	uint32_t reserved1[14];
	/* The model's counters. */
	_Atomic uint64_t sleeps;  /* futex waits begun */
	_Atomic uint64_t wakeups; /* futex waits ended */
	_Atomic uint64_t wakes;   /* kicks that had to call FUTEX_WAKE (kicker's count) */
};
static_assert(offsetof(struct rl_model_ctl, gen) == 64, "rl_model_ctl: gen on its own line");
static_assert(offsetof(struct rl_model_ctl, sleeps) == 128, "rl_model_ctl layout");
static_assert(sizeof(struct rl_model_ctl) <= RL_MODEL_DEV_AREA, "rl_model_ctl fits before the device area");

/* The size of a model's shared file for a BAR0 of bar_len bytes (a multiple of 4096). */
static inline size_t rl_model_file_size(size_t bar_len)
{
	return bar_len + RL_MODEL_CTL_SIZE;
}

/* The device's area of the control page. */
static inline void *rl_model_dev_area(struct rl_model_ctl *ctl)
{
	return (uint8_t *)ctl + RL_MODEL_DEV_AREA;
}

/* ---- driver side: the back end ---- */

/*
 * Maps the model file fd and fills *d: bar, bar_len, kick, kick_from, priv;
 * no regions. Returns 0, -ENODEV when the file is not a ready model of this
 * version, -EINVAL when it is too small, or -errno from fstat/mmap. The fd
 * may be closed afterwards.
 */
int rl_dev_model_open(struct rl_dev *d, int fd);

/* Unmaps what rl_dev_model_open mapped and clears *d. */
void rl_dev_model_close(struct rl_dev *d);

/* The control page of a device opened with rl_dev_model_open, or NULL for another back end. */
struct rl_model_ctl *rl_dev_model_ctl(struct rl_dev *d);

/* Waits up to timeout_ms for the model behind fd to set its magic: 0, -ETIMEDOUT, -errno. */
int rl_dev_model_wait_ready(int fd, int timeout_ms);

/* ---- both sides ---- */

/* Bumps gen and wakes the model if it sleeps: what kick() does, for anyone holding ctl. */
void rl_model_kick(struct rl_model_ctl *ctl);

/* ---- model side ---- */

/*
 * Maps a model file of rl_model_file_size(bar_len) bytes (sized by whoever
 * created it, or here when it is smaller), zeroes BAR0 and the control page
 * and fills the control header but magic. *bar gets BAR0. Returns the control
 * page, or NULL with errno set.
 */
struct rl_model_ctl *rl_model_map(int fd, size_t bar_len, uint32_t kick_from, volatile uint8_t **bar);

/* Publishes the model as ready (sets magic, release). */
void rl_model_ready(struct rl_model_ctl *ctl);

/* The generation to compare against before looking for work. */
static inline uint32_t rl_model_gen(struct rl_model_ctl *ctl)
{
	return atomic_load_explicit(&ctl->gen, memory_order_acquire);
}

/*
 * Sleeps until gen differs from seen (read before the model last looked for
 * work), a signal arrives, or timeout (NULL: none) passes. Never sleeps
 * through a kick that came after seen was read.
 */
void rl_model_sleep(struct rl_model_ctl *ctl, uint32_t seen, const struct timespec *timeout);

/*
 * Maps the memfd fd (its whole size, in *len) shared at exactly addr, never
 * replacing an existing mapping (MAP_FIXED_NOREPLACE). Returns 0 or -errno
 * (-EEXIST: something is mapped there already).
 */
int rl_model_map_region(int fd, uintptr_t addr, size_t *len);

#endif
