/* SPDX-License-Identifier: MIT */
/*
 * Command-line numbers for the benchmark programs (the harnesses and the
 * bench domains): one parser, each program its own message.
 */
#ifndef RL_BENCH_OPTS_H
#define RL_BENCH_OPTS_H

/*
 * A whole decimal number in min..max: 0 with *out set, or -EINVAL for an
 * empty string, a sign, anything after the digits or a value out of range.
 */
int rl_parse_count(const char *s, unsigned long long min, unsigned long long max,
		   unsigned long long *out);

/*
 * rl_parse_count() for option opt of program prog: on a bad value prints
 * "prog: opt: 'v' is not a number in min..max" and returns -1.
 */
int rl_opt_count(const char *prog, const char *opt, const char *v, unsigned long long min,
		 unsigned long long max, unsigned long long *out);

#include <stdio.h>

/*
 * The options of the one-process benchmarks (proxycost, rtcost):
 * --batch N (1..max_batch), --rounds N, --help, and --method NAME where
 * methods is not NULL (a NULL-terminated list; *method gets the index).
 * Returns 0 to go on, or the exit status: 0 after --help, 2 after saying
 * what was wrong.
 */
struct rl_bench_opts {
	const char *prog;
	unsigned long long max_batch;
	const char *const *methods;
	void (*usage)(FILE *f);
	unsigned long long batch, rounds; /* in: defaults; out: as given */
	unsigned method;
};

int rl_bench_opts_parse(struct rl_bench_opts *o, int argc, char **argv, int *status);

#endif /* RL_BENCH_OPTS_H */
