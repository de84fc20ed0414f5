// SPDX-License-Identifier: MIT
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rl_parse_count(const char *s, unsigned long long min, unsigned long long max,
		   unsigned long long *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int rl_opt_count(const char *prog, const char *opt, const char *v, unsigned long long min,
		 unsigned long long max, unsigned long long *out)
{
	if (!rl_parse_count(v, min, max, out))
		return 0;
	fprintf(stderr, "%s: %s: '%s' is not a number in %llu..%llu\n", prog, opt, v, min, max);
	return -1;
}

int rl_bench_opts_parse(struct rl_bench_opts *o, int argc, char **argv, int *status)
{
	static const struct option opts[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "batch", required_argument, NULL, 'b' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*status = 2;
	while ((c = getopt_long(argc, argv, "h", o->methods ? opts : opts + 1, NULL)) != -1) {
		switch (c) {
		case 'm': {
			unsigned i;
			for (i = 0; o->methods[i] && strcmp(optarg, o->methods[i]); i++)
				;
			if (!o->methods[i]) {
				fprintf(stderr, "%s: --method: '%s' is not one of", o->prog, optarg);
				for (i = 0; o->methods[i]; i++)
					fprintf(stderr, " %s", o->methods[i]);
				fputc('\n', stderr);
				return -1;
			}
			o->method = i;
			break;
		}
		case 'b':
			if (rl_opt_count(o->prog, "--batch", optarg, 1, o->max_batch, &o->batch))
				return -1;
			break;
		case 'r':
			if (rl_opt_count(o->prog, "--rounds", optarg, 1, 100000000, &o->rounds))
				return -1;
			break;
		case 'h':
			o->usage(stdout);
			*status = 0;
			return -1;
		default:
			o->usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", o->prog, argv[optind]);
		return -1;
	}
	return 0;
}
