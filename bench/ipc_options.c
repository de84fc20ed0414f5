// SPDX-License-Identifier: MIT
/*
 * bench/ipc's command line: --help's text, the options into g, and the
 * check that every item of --only names a part or a row.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ipc.h"
#include "opts.h"

/* ---- setup ---- */

/* The first item of --only that names nothing, or NULL when all of them name something. */
static const char *only_unknown(const char *only, char *bad, size_t badlen)
{
	for (const char *p = only; *p;) {
		size_t len = strcspn(p, ",");
		bool known = false;
		char full[64];
		static const char *const parts[] = { "floors", "ours", "pinned", "scaling", "load" };
		for (unsigned i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
			known |= ipc_only_matches(p, len, parts[i]);
		for (unsigned i = 0; i < ipc_nloads; i++) {
			snprintf(full, sizeof(full), "load.%s", ipc_loads[i].id);
			known |= ipc_only_matches(p, len, full);
		}
		for (unsigned i = 0; i < ipc_nfloor_ids; i++)
			known |= ipc_only_matches(p, len, ipc_floor_ids[i]);
		for (unsigned i = 0; i < ipc_nour_ops; i++) {
			snprintf(full, sizeof(full), "ours.%s", ipc_our_ops[i].id);
			known |= ipc_only_matches(p, len, full);
			snprintf(full, sizeof(full), "pinned.%s", ipc_our_ops[i].id);
			known |= ipc_ours_pinned_row(ipc_our_ops[i].id) && ipc_only_matches(p, len, full);
		}
		if (!known) {
			snprintf(bad, badlen, "%.*s", (int)len, p);
			return bad;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ipc [--quick] [--iterations N] [--repeat N] [--spin-us N] [--only LIST] [--placed]\n"
		"           [--slot-ms N] [--json FILE] [--check]\n"
		"\n"
		"Measures the cost of cross-domain calls in one run and prints them next to the\n"
		"RedLeaf paper's numbers and to floors measured on this machine:\n"
		"  floors   an indirect call; two processes ping-ponging over a shared-memory ring\n"
		"           with our waiting (spin, then futex); three processes relaying like\n"
		"           caller -> broker -> callee without validation; futex, pipe and Unix\n"
		"           socket ping-pong; batches of 1, 8, 32, 128 and 512 calls in flight;\n"
		"           pinned pure polling where there is a core per spinning process\n"
		"  ours     the bench domain ipcbench calling the callee domain through a real\n"
		"           broker (redleaf run): null, add, take (moves an RRef), peek (lends\n"
		"           one), make (returns one), via a shadow of the callee, batches of 1, 8,\n"
		"           32, 128 and 512 in flight\n"
		"  pinned   null, take, via shadow, batches of 32 and 128 and 512 in flight again,\n"
		"           with broker: {poll: true} and a core for each of ipcbench, callee and\n"
		"           broker (and shadow); only with at least 3 usable CPUs (4 for the shadow)\n"
		"  scaling  calls per second with 1, 2 and 4 client domains and one callee, with\n"
		"           1 proxy thread in the broker, and with 2 and 4 where every spinning\n"
		"           process (threads, callee, clients) has a CPU of its own\n"
		"  load     batch 128 and 512 in flight again, each in a system of its own, with\n"
		"           the broker's account of its proxy thread: its busy time per message\n"
		"           beside the row's cost per call\n"
		"The null call and batches of 32 and 128 are time-shared with the relay floor they\n"
		"are judged against: both run at once, taking turns in slots of CLOCK_MONOTONIC\n"
		"(the floor in the even ones, ours in the odd ones), and a ratio is the median\n"
		"over slot pairs of ours / the floor's in the slot just before. The machine's\n"
		"speed changes every few seconds; a pair of slots (50 ms) sees one speed.\n"
		"Before the floors, before ours and after ours in every round it times one cache\n"
		"line's round trip between the first and last usable CPU: every cross-CPU figure\n"
		"moves with it, and on a VM it changes when the host moves the vCPUs.\n"
		"Cycles are TSC ticks. The broker is <dir of ipc>/../src/redleaf; domains are\n"
		"found in <dir of ipc>, <dir of ipc>/../domains and <dir of ipc>/../tests/domains.\n"
		"\n"
		"  --quick         short run (1000 iterations per row, 0.3 s scaling windows)\n"
		"  --iterations N  timed calls per row (default 50000; warm-up is a tenth, at least 100);\n"
		"                  a time-shared row runs about as long as N calls take, at least 2 s\n"
		"                  (0.5 s with --quick) and 10 slot pairs; the first pair warms up\n"
		"  --spin-us N     how long every waiter spins before it sleeps, for the floors and\n"
		"                  the broker's manifest alike (default 5, at most 1000)\n"
		"  --json FILE     write every number here (default <dir of ipc>/results/ipc.json)\n"
		"  --only LIST     run only these parts or rows, comma-separated: floors, ours,\n"
		"                  pinned, scaling, load, a floor id or prefix (raw3, raw3.b32, futex,\n"
		"                  ...), ours.ID, pinned.ID or load.ID (ours.null, ours.batch,\n"
		"                  pinned.pipeline, load.pipeline.512, ...); ids as in the JSON\n"
		"  --repeat N      measure floors and our rows N times (1..9), alternating, and report\n"
		"                  per row the median over the rounds and their range: one run's\n"
		"                  placement of processes (and of the VM's vCPUs) can shift whole rows\n"
		"  --slot-ms N     time-sharing slot, 5..1000 ms (default 25); 0 measures those floors\n"
		"                  before our rows instead, like the others\n"
		"  --placed        pin the broker's threads (and the floors' relay) to the last usable\n"
		"                  CPU and every domain (and the floors' caller and callee) to the\n"
		"                  first, instead of leaving placement to the scheduler; waiting is\n"
		"                  unchanged (spin, then futex). Needs at least 2 usable CPUs\n"
		"  --check         exit 1 when a target is missed (or cannot be evaluated):\n"
		"                    null call <= 1.25 x raw 3-process relay; take <= 1.10 x null;\n"
		"                    null via a shadow <= 2.3 x null;\n"
		"                    batches of 32 and 128 <= 1.25 x raw relay at the same batch;\n"
		"                    512 outstanding < 124 cycles per call\n"
		"                  each judged per round (a ratio to a time-shared floor as its\n"
		"                  slot pairs give it), then the median over the rounds: every\n"
		"                  round when both sides ran interleaved in time (time-shared\n"
		"                  floors; take and via shadow in turns with null), else the rounds\n"
		"                  in which the CPUs' distance (the line probe) held still within\n"
		"                  1.5x, or all rounds when none did\n"
		"  --help          this text\n"
		"\n"
		"Exit status: 0 when every row was measured (and with --check, every target met);\n"
		"1 when a measurement failed or (--check) a target was missed; 2 for bad usage.\n");
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long long v;
	if (rl_parse_count(s, min, max, &v))
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int ipc_options_parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "spin-us", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "check", no_argument, NULL, 'c' },
		{ "only", required_argument, NULL, 'o' },
		{ "placed", no_argument, NULL, 'p' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "slot-ms", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool iter_given = false;
	int c;

	g.iterations = 50000;
	g.spin_us = 5;
	g.repeat = 1;
	g.slot_ms = 25;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			g.quick = true;
			break;
		case 'i':
			if (parse_uint(optarg, 1, 1u << 20, &g.iterations)) {
				fprintf(stderr, "ipc: --iterations takes 1..%u\n", 1u << 20);
				return 2;
			}
			iter_given = true;
			break;
		case 's':
			if (parse_uint(optarg, 0, 1000, &g.spin_us)) {
				fprintf(stderr, "ipc: --spin-us takes 0..1000\n");
				return 2;
			}
			break;
		case 'j':
			snprintf(g.json_path, sizeof(g.json_path), "%s", optarg);
			break;
		case 'c':
			g.check = true;
			break;
		case 'o': {
			char bad[64];
			g.only = optarg;
			if (!*optarg || only_unknown(optarg, bad, sizeof(bad))) {
				fprintf(stderr, "ipc: --only: no part or row named '%s' (see --help)\n", *optarg ? bad : "");
				return 2;
			}
			break;
		}
		case 'p':
			g.placed = true;
			break;
		case 'r':
			if (parse_uint(optarg, 1, MAX_ROUNDS, &g.repeat)) {
				fprintf(stderr, "ipc: --repeat takes 1..%u\n", MAX_ROUNDS);
				return 2;
			}
			break;
		case 't':
			if (parse_uint(optarg, 0, 1000, &g.slot_ms) || (g.slot_ms && g.slot_ms < 5)) {
				fprintf(stderr, "ipc: --slot-ms takes 0 (no time-sharing) or 5..1000\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			fprintf(stderr, "ipc: unknown option or missing value '%s' (see --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ipc: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	if (g.quick && !iter_given)
		g.iterations = 1000;
	g.warmup = g.iterations / 10 < 100 ? 100 : g.iterations / 10;
	return 0;
}

