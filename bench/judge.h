/* SPDX-License-Identifier: MIT */
/*
 * Which rounds of a bench/ipc run its targets are judged on. Every round
 * times one cache line's round trip between the two CPUs three times
 * (before the floors, before our rows, after them); a round whose three
 * probes differ by more than RL_JUDGE_STEADY measured its floors on one
 * placement of the VM's vCPUs and our rows on another, so its ratios
 * compare two machines. Targets are judged per round and then as the
 * median over the rounds that held still, or over all rounds when none
 * did.
 */
#ifndef RL_BENCH_JUDGE_H
#define RL_BENCH_JUDGE_H

#include <stdbool.h>

#define RL_JUDGE_MAX_ROUNDS 9
#define RL_JUDGE_STEADY 1.5

/*
 * The rounds to judge, as a bit mask (bit k: round k), out of nrounds
 * rounds with probe[k][0..2] in ticks (negative: not measured). Without
 * probes (have_probes false, one usable CPU) every round counts as
 * steady. *steady says whether any round held still; when none did, the
 * mask has every round.
 */
unsigned rl_judged_rounds(const double probe[][3], unsigned nrounds, bool have_probes, bool *steady);

/* The median of v[k] over the rounds in mask (NaN values and an empty set give NaN). */
double rl_judged_median(const double *v, unsigned nrounds, unsigned mask);

#endif /* RL_BENCH_JUDGE_H */
