// SPDX-License-Identifier: MIT
/*
 * Time-sharing a comparison (share.c): slot medians, the pairing of our
 * slots with the floor's just before, and the schedule itself on the real
 * clock: a side works only in its own slots, never in its warm-up slot or
 * the first operations of a slot, and stops when the phase ends.
 */
#include <math.h>
#include <time.h>

#include "../tests/helpers.h"
#include "share.h"

#define SLOT_NS 20000000ull /* 20 ms */

static void test_slot_medians(void)
{
	double v[] = { 9, 1, 5, 40, 20, 7 };
	const uint32_t slot[] = { 4, 4, 4, 6, 6, 9 };
	struct rl_slot_median m[4];

	t_assert_eq(rl_share_slot_medians(v, slot, 6, m, 4), 3);
	t_assert_eq(m[0].slot, 4);
	t_assert_eq(m[0].n, 3);
	t_assert_eq(m[0].median, 5);
	t_assert_eq(m[1].slot, 6);
	t_assert_eq(m[1].median, 30);
	t_assert_eq(m[2].slot, 9);
	t_assert_eq(m[2].n, 1);
	/* Room for two: two written, none past them. */
	m[2].slot = 99;
	t_assert_eq(rl_share_slot_medians(v, slot, 6, m, 2), 2);
	t_assert_eq(m[2].slot, 99);
}

static void test_paired(void)
{
	const unsigned N = RL_SHARE_MIN_SAMPLES;
	/* Floor slots 0, 2, 4, 6; ours 1, 3, 5, 7, 9. */
	const struct rl_slot_median floor[] = {
		{ 0, N, 100 }, { 2, N, 200 }, { 4, N - 1, 100 }, { 6, N, 50 },
	};
	const struct rl_slot_median ours[] = {
		{ 1, N, 110 },  /* 1.1 */
		{ 3, N, 180 },  /* 0.9 */
		{ 5, N, 500 },  /* floor slot 4 is too thin: no pair */
		{ 7, N - 1, 5 },/* too thin itself: no pair */
		{ 9, N, 900 },  /* floor slot 8 missing: no pair */
	};
	unsigned pairs;

	/* Each slot with the floor's just before (overall medians would give 180 / 100 = 1.8). */
	t_assert(fabs(rl_share_paired(ours, 5, floor, 4, &pairs) - 1.0) < 1e-9);
	t_assert_eq(pairs, 2);
	/* A pair with the floor's slot after (ours 3 with floor 4) would be wrong: only s-1 counts. */
	const struct rl_slot_median late[] = { { 3, N, 100 } };
	const struct rl_slot_median after[] = { { 4, N, 50 } };
	t_assert(isnan(rl_share_paired(late, 1, after, 1, &pairs)));
	t_assert_eq(pairs, 0);
	/* Ours in slot 0 has no slot before it. */
	const struct rl_slot_median zero[] = { { 0, N, 100 } };
	t_assert(isnan(rl_share_paired(zero, 1, floor, 4, &pairs)));
}

/* One side through a whole phase on the real clock: where it worked and what it kept. */
static void run_side(uint64_t t0, unsigned first, unsigned end, unsigned side)
{
	struct rl_share s;
	long slot_seen = -1, kept_slot = -1;
	unsigned ops = 0, kept = 0;

	unsigned per_slot[16] = { 0 };
	long first_entered = -1;

	rl_share_init(&s, t0, SLOT_NS, first, end, side);
	while (rl_share_enter(&s)) {
		if (first_entered < 0) /* a busy machine may wake us slots late: the warm slot is the first reached */
			first_entered = s.slot;
		if (s.slot >= 0 && s.slot < 16)
			per_slot[s.slot]++;
		/* Entered only in an own slot of the phase, once it began. */
		t_assert(s.slot >= 0 && s.slot % 2 == side && s.slot >= first && s.slot < end);
		t_assert(rl_share_now_ns() >= t0 + (uint64_t)s.slot * SLOT_NS);
		t_assert(s.slot_end_ns == t0 + (uint64_t)(s.slot + 1) * SLOT_NS);
		if (s.slot != slot_seen) {
			t_assert(s.slot > slot_seen);
			t_assert_eq(s.started, 1);
			slot_seen = s.slot;
		}
		bool keep = rl_share_keep(&s);
		if (keep) {
			t_assert(s.slot != s.warm);
			t_assert(s.started > RL_SHARE_SKIP);
			kept_slot = s.slot;
			kept++;
		} else if (s.slot != s.warm && s.started > RL_SHARE_SKIP) {
			t_assert(rl_share_now_ns() > s.slot_end_ns); /* dropped only for crossing the end */
		}
		ops++;
		struct timespec ts = { 0, 1000000 }; /* 1 ms per "operation" */
		nanosleep(&ts, NULL);
	}
	/* The phase is over: past the last own slot's usable part. */
	uint64_t last = end - 1 - ((end - 1) % 2 != side);
	t_assert(rl_share_now_ns() >= t0 + (last + 1) * SLOT_NS - RL_SHARE_GUARD_NS);
	t_assert(ops > 0);
	t_assert_eq(s.warm, first_entered);
	t_assert(s.warm >= (long)(first + side) && s.warm % 2 == (long)side);
	/* Something is kept from every later own slot that ran past its first RL_SHARE_SKIP operations. */
	bool could_keep = false;
	for (long k = s.warm + 2; k < (long)end && k < 16; k += 2)
		could_keep |= per_slot[k] > RL_SHARE_SKIP + 1;
	if (could_keep) {
		t_assert(kept > 0);
		t_assert(kept_slot > s.warm);
	}
	/* Once over, it stays over. */
	t_assert(!rl_share_enter(&s));
}

int main(void)
{
	test_slot_medians();
	test_paired();
	/* Starting before the schedule: both sides sleep until their first slot. */
	uint64_t t0 = rl_share_now_ns() + SLOT_NS / 2;
	run_side(t0, 0, 6, 1);
	run_side(rl_share_now_ns() + SLOT_NS / 2, 2, 8, 0);
	/* A phase already over: no operation at all. */
	struct rl_share s;
	rl_share_init(&s, rl_share_now_ns() - 10 * SLOT_NS, SLOT_NS, 0, 4, 1);
	t_assert(!rl_share_enter(&s));
	return t_failed;
}
