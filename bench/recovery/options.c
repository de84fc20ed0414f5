// SPDX-License-Identifier: MIT
/*
 * The recovery harness's command line (options.h): --help's text, the
 * defaults, and the options into a struct rec_config.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "opts.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: recovery [--seconds N | --quick] [--rounds N] [--every DURATION] [--blocks N]\n"
		"                [--tail-ms N] [--settle S] [--max-others PCT] [--json FILE]\n"
		"                [--plot FILE | --no-plot] [--standby on|off] [--batch N] [--single on|off]\n"
		"                [--device ram|nvme]\n"
		"                [--redleaf PATH] [--domain-path DIRS]\n"
		"\n"
		"The paper's recovery experiment: recbench reads (or writes) 4 KiB blocks\n"
		"sequentially through a shadow from the RAM block device ramblk, for N seconds,\n"
		"counting bytes per 10 ms bucket. Each round runs four systems, each with its own\n"
		"broker: read without crashes, read with ramblk crashed (SIGKILL) every DURATION\n"
		"(from 0.5 s into the window on: at ~1.5 s, 2.5 s, ...), write without, write with,\n"
		"each in batches of --batch blocks per call (BDev.batch); then, unless --single off,\n"
		"the same four again with one block per call (BDev.read and BDev.write).\n"
		"throughput (median and p5..p95 over the 10 ms samples, and the mean), the\n"
		"with/without ratio, the crash count, and recovery times: the broker's (death\n"
		"seen -> first reply of the new incarnation, from 'redleaf ps --json') and the\n"
		"client's (the call that spans the crash). Fails (exit 1) if recbench sees any\n"
		"error, a run has no samples, a crash run has no crash in its window or a\n"
		"crash without a recovery time, or a run without crashes restarts ramblk.\n"
		"\n"
		"  --seconds N       timed window of every run (default 10)\n"
		"  --quick           3-second runs, one round: a smoke test\n"
		"  --rounds N        repeat the systems N times, interleaved (default 1);\n"
		"                    the table gives medians over rounds and min..max\n"
		"  --every DURATION  crash period, as 'redleaf crash --every' takes it (default 1s)\n"
		"  --blocks N        device size in 4 KiB blocks (default 4096 = 16 MiB)\n"
		"  --tail-ms N       calls recbench keeps making after its window (default 1000)\n"
		"  --settle S        before each run, wait up to S seconds (default 30; 0: not at\n"
		"                    all) for a second in which this shared machine is <15%% busy\n"
		"  --max-others PCT  run a system again (at most 3 times in all) when other\n"
		"                    processes used more than PCT%% of the machine's CPU time\n"
		"                    during it (default 10; 100: never)\n"
		"  --json FILE       results with every sample (default: BUILD/bench/results/recovery.json)\n"
		"  --plot FILE       PNG of throughput over time (default: the JSON path with .png)\n"
		"  --no-plot         no plot\n"
		"  --standby on|off  ramblk's warm standby (manifest 'standby'; default on, as\n"
		"                    for any domain with a restart policy)\n"
		"  --batch N         blocks per call of the first four systems, 1 to 128 (default 32)\n"
		"  --single on|off   also the four systems with one block per call (default on;\n"
		"                    off when --batch is 1, which makes them the same)\n"
		"  --device ram|nvme the block device behind the shadow: ramblk with its blocks\n"
		"                    in device memory (default), or the NVMe driver domain nvmedrv\n"
		"                    on the NVMe model with a RAM namespace (domain 'nvme')\n"
		"  --redleaf PATH    the redleaf binary (default: BUILD/src/redleaf)\n"
		"  --domain-path DIRS  REDLEAF_DOMAIN_PATH for the broker (default:\n"
		"                    BUILD/bench/recovery:BUILD/domains)\n"
		"\n"
		"BUILD is the build folder this program was built in (two folders up from it).\n"
		"Progress goes to stderr, the table to stdout. Per-run broker logs are kept\n"
		"beside the JSON file (FILE-without-.json-logs/), the plot's data files too\n"
		"(FILE-without-.json-plotdata/, with recovery.gp beside this program to re-plot).\n");
}

static unsigned parse_uint(const char *opt, const char *v, unsigned min, unsigned max)
{
	unsigned long long n;
	if (rl_parse_count(v, min, max, &n)) {
		fprintf(stderr, "recovery: %s takes a number from %u to %u, not '%s'\n", opt, min, max, v);
		exit(2);
	}
	return (unsigned)n;
}

/* One of two words: 0 with *second true for the second, -1 after saying what was wrong. */
static int parse_choice(const char *opt, const char *v, const char *first, const char *second, bool *is_second)
{
	if (strcmp(v, first) && strcmp(v, second)) {
		fprintf(stderr, "recovery: %s takes %s or %s, not '%s'\n", opt, first, second, v);
		return -1;
	}
	*is_second = !strcmp(v, second);
	return 0;
}

static const struct option options[] = {
	{ "seconds", required_argument, NULL, 's' },
	{ "quick", no_argument, NULL, 'q' },
	{ "rounds", required_argument, NULL, 'n' },
	{ "every", required_argument, NULL, 'e' },
	{ "blocks", required_argument, NULL, 'b' },
	{ "tail-ms", required_argument, NULL, 't' },
	{ "settle", required_argument, NULL, 'S' },
	{ "max-others", required_argument, NULL, 'm' },
	{ "json", required_argument, NULL, 'j' },
	{ "plot", required_argument, NULL, 'p' },
	{ "no-plot", no_argument, NULL, 'P' },
	{ "standby", required_argument, NULL, 'W' },
	{ "batch", required_argument, NULL, 'B' },
	{ "single", required_argument, NULL, 'O' },
	{ "device", required_argument, NULL, 'D' },
	{ "redleaf", required_argument, NULL, 'r' },
	{ "domain-path", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * What the options mean together: no argument after them, --quick sets
 * the duration (so not with --seconds), --plot or --no-plot, and an --every
 * without spaces, newlines, commas or quotes. Returns 0, or -1 after
 * saying what was wrong.
 */
static int options_combine(int argc, char **argv, struct rec_config *c, bool quick, bool seconds_given,
			   bool no_plot)
{
	if (optind != argc) {
		fprintf(stderr, "recovery: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	if (quick && seconds_given) {
		fprintf(stderr, "recovery: --quick sets the duration; give --quick or --seconds, not both\n");
		return -1;
	}
	if (c->batch == 1)
		c->nsystems = 4;
	if (quick) {
		c->seconds = 3;
		c->rounds = 1;
	}
	if (no_plot && c->plot_path) {
		fprintf(stderr, "recovery: --plot and --no-plot do not go together\n");
		return -1;
	}
	if (strpbrk(c->every, " \n,\"")) {
		fprintf(stderr, "recovery: --every takes a duration like 1s or 500ms, not '%s'\n", c->every);
		return -1;
	}
	return 0;
}

int rec_options_parse(int argc, char **argv, struct rec_config *c, bool *no_plot, int *status)
{
	bool quick = false, seconds_given = false, single;
	int opt;

	*c = (struct rec_config){
		.seconds = 10, .rounds = 1, .tail_ms = 1000, .bucket_ms = 10, .blocks = 4096, .every = "1s",
		.settle_s = 30, .max_others_pct = 10, .standby = true, .batch = 32, .nsystems = 8,
	};
	*no_plot = false;
	*status = 2;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			c->seconds = parse_uint("--seconds", optarg, 1, 1800);
			seconds_given = true;
			break;
		case 'q':
			quick = true;
			break;
		case 'n':
			c->rounds = parse_uint("--rounds", optarg, 1, 100);
			break;
		case 'e':
			c->every = optarg;
			break;
		case 'b':
			c->blocks = parse_uint("--blocks", optarg, 1, 1u << 20);
			break;
		case 't':
			c->tail_ms = parse_uint("--tail-ms", optarg, 200, 60000);
			break;
		case 'S':
			c->settle_s = parse_uint("--settle", optarg, 0, 3600);
			break;
		case 'm':
			c->max_others_pct = parse_uint("--max-others", optarg, 1, 100);
			break;
		case 'j':
			c->json_path = optarg;
			break;
		case 'p':
			c->plot_path = optarg;
			break;
		case 'P':
			*no_plot = true;
			break;
		case 'W':
			if (parse_choice("--standby", optarg, "off", "on", &c->standby))
				return -1;
			break;
		case 'B':
			c->batch = parse_uint("--batch", optarg, 1, 128);
			break;
		case 'O':
			if (parse_choice("--single", optarg, "off", "on", &single))
				return -1;
			c->nsystems = single ? 8 : 4;
			break;
		case 'D':
			if (parse_choice("--device", optarg, "ram", "nvme", &c->nvme))
				return -1;
			break;
		case 'r':
			c->redleaf = optarg;
			break;
		case 'd':
			c->domain_path = optarg;
			break;
		case 'h':
			usage(stdout);
			*status = 0;
			return -1;
		default:
			usage(stderr);
			return -1;
		}
	}
	return options_combine(argc, argv, c, quick, seconds_given, *no_plot);
}
