/* SPDX-License-Identifier: MIT */
/*
 * Time-sharing a comparison: a floor and the row of ours compared with it
 * take turns in slots of CLOCK_MONOTONIC (the clock every process shares),
 * the floor in the even slots, ours in the odd ones, so both see the same
 * phases of a machine that changes speed every few seconds. Neither side
 * talks to the other: both know the schedule (start, slot length, the
 * phase's slots) and sleep through the other's slots.
 *
 * A ratio is then judged pair by pair: our median in slot 2k+1 over the
 * floor's in slot 2k, and the median of those ratios (rl_share_paired).
 *
 * Used by the harness's floor process (floors.c) and by the bench domain
 * ipcbench alike; nothing here makes a syscall a domain may not make.
 */
#ifndef RL_BENCH_SHARE_H
#define RL_BENCH_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* No operation starts this close to its slot's end (one that ends past it is dropped anyway). */
#define RL_SHARE_GUARD_NS 200000ull
/* The first operations of every slot are dropped: they wake the peers the other side let sleep. */
#define RL_SHARE_SKIP 2
/* A slot's median counts in a pair only with at least this many samples. */
#define RL_SHARE_MIN_SAMPLES 8

struct rl_share {
	/* the schedule */
	uint64_t t0_ns;      /* CLOCK_MONOTONIC at the start of slot 0 */
	uint64_t slot_ns;
	unsigned first, end; /* the phase: slots [first, end); first is even */
	unsigned side;       /* 0: even slots (the floor), 1: odd slots (ours) */
	/* where the caller is (rl_share_enter keeps it) */
	long slot;           /* the slot of the last operation, -1 before the first */
	long warm;           /* the side's first slot in this phase: warm-up, not kept */
	uint64_t slot_end_ns;
	unsigned started;    /* operations started in this slot */
};

/* A schedule for slots [first, end) of t0/slot_ns, for one side. */
void rl_share_init(struct rl_share *s, uint64_t t0_ns, uint64_t slot_ns, unsigned first, unsigned end,
		   unsigned side);

/*
 * Before an operation: returns at once inside one of the side's slots with
 * more than RL_SHARE_GUARD_NS left, else sleeps until the next one.
 * Returns false when the phase is over (the caller stops).
 */
bool rl_share_enter(struct rl_share *s);

/*
 * After the operation: whether its sample counts. Not when it ended past
 * its slot, lies in the side's first slot of the phase (warm-up), or is
 * among the first RL_SHARE_SKIP of its slot.
 */
bool rl_share_keep(struct rl_share *s);

/* One slot's median. */
struct rl_slot_median {
	uint32_t slot;
	uint32_t n;
	double median;
};

/*
 * Per-slot medians of samples v[0..n) taken in slot[0..n) (slots never
 * decrease). Sorts each slot's run of v in place; the caller summarises
 * the whole array afterwards. Writes at most max medians; returns how many.
 */
size_t rl_share_slot_medians(double *v, const uint32_t *slot, size_t n, struct rl_slot_median *out,
			     size_t max);

/*
 * The paired ratio: for every slot s of ours with at least
 * RL_SHARE_MIN_SAMPLES samples whose preceding slot s-1 has a floor median
 * with as many, ours[s] / floor[s-1]; returns the median of those ratios
 * and their number in *pairs (NaN and 0 when there is none).
 */
double rl_share_paired(const struct rl_slot_median *ours, size_t nours, const struct rl_slot_median *floor,
		       size_t nfloor, unsigned *pairs);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t rl_share_now_ns(void);

#endif /* RL_BENCH_SHARE_H */
