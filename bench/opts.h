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

#endif /* RL_BENCH_OPTS_H */
