/* SPDX-License-Identifier: MIT */
/*
 * Samples and their summary. Shared by the harness and the bench domain, so
 * both summarise the same way: nearest-rank percentiles over every timed
 * sample (no outlier is dropped; warm-up happens before sampling starts).
 * Samples are doubles because batched rows store per-call amortized costs.
 */
#ifndef RL_BENCH_SAMPLES_H
#define RL_BENCH_SAMPLES_H

#include <stddef.h>

struct rl_stats {
	size_t n;
	double min, median, p99, mean, max;
};

/*
 * Sorts v[0..n) in place and fills *out. Returns 0, or -EINVAL when n is 0
 * (*out untouched).
 */
int rl_stats_compute(double *v, size_t n, struct rl_stats *out);

#endif /* RL_BENCH_SAMPLES_H */
