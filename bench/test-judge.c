// SPDX-License-Identifier: MIT
/*
 * Which rounds bench/ipc judges its targets on (judge.c): rounds whose
 * line probes held still within RL_JUDGE_STEADY, or all when none did,
 * and medians over exactly those rounds.
 */
#include <math.h>

#include "../tests/helpers.h"
#include "judge.h"

int main(void)
{
	bool steady;

	/* Round 2 moved mid-way (258 -> 1093): judged on rounds 1 and 3. */
	const double moved[3][3] = { { 258, 265, 270 }, { 255, 260, 1093 }, { 250, 240, 251 } };
	t_assert_eq(rl_judged_rounds(moved, 3, true, &steady), 0x5);
	t_assert(steady);
	const double v[3] = { 100, 400, 120 };
	t_assert_eq(rl_judged_median(v, 3, 0x5), 110);
	t_assert_eq(rl_judged_median(v, 3, 0x7), 120);

	/* Steady in a slow placement still counts: the rule looks at the probes, not the results. */
	const double slow[2][3] = { { 1300, 1350, 1400 }, { 250, 1300, 260 } };
	t_assert_eq(rl_judged_rounds(slow, 2, true, &steady), 0x1);
	t_assert(steady);

	/* Exactly the factor is steady, just past it is not. */
	const double edge[2][3] = { { 200, 300, 250 }, { 200, 301, 250 } };
	t_assert_eq(rl_judged_rounds(edge, 2, true, &steady), 0x1);

	/* None held still: every round, and steady says so. */
	const double none[2][3] = { { 100, 400, 100 }, { 300, 100, 100 } };
	t_assert_eq(rl_judged_rounds(none, 2, true, &steady), 0x3);
	t_assert(!steady);

	/* A failed probe (negative) is not steady; no probes at all (one CPU): all rounds. */
	const double failed[2][3] = { { -1, 250, 250 }, { 250, 250, 250 } };
	t_assert_eq(rl_judged_rounds(failed, 2, true, &steady), 0x2);
	t_assert_eq(rl_judged_rounds(failed, 2, false, &steady), 0x3);
	t_assert(steady);

	/* A round without a figure poisons its median rather than vanishing from it. */
	const double gap[3] = { 100, NAN, 120 };
	t_assert(isnan(rl_judged_median(gap, 3, 0x7)));
	t_assert_eq(rl_judged_median(gap, 3, 0x5), 110);
	t_assert(isnan(rl_judged_median(gap, 3, 0)));
	return t_failed;
}
