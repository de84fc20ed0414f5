// SPDX-License-Identifier: MIT
/*
 * bench/ipc: the paper's communication-cost table, measured on this machine
 * next to the floors this machine sets. One run measures
 *   1. floors, with processes the harness forks (floors.c),
 *   2. our calls, from the bench domain ipcbench under a real broker, and
 *      again in pinned polling mode where there is a core per spinning process,
 *   3. throughput with 1, 2 and 4 client domains calling one callee,
 * and prints one table (stdout), writes every number to JSON, and with
 * --check fails when a target is missed. Run with --help for the options.
 *
 * This file is main() and the order of the run. The parts, one file each
 * (ipc.h is what they share):
 *   ipc_options.c  the command line (--help, --only)
 *   ipc_machine.c  paths, CPUs, other processes' load, the line probe
 *   ipc_rows.c     rows and tables, --only selection, time-shared pairs
 *   ipc_floors.c   the floors, one after the other
 *   ipc_system.c   manifests, running a system, its BENCH lines
 *   ipc_ours.c     our rows, the latency system, the time-shared schedule
 *   ipc_scaling.c  scaling and broker load
 *   ipc_checks.c   one figure out of the rounds, the targets (--check)
 *   ipc_report.c   the printed table
 *   ipc_json.c     the JSON
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc.h"
#include "procs.h"
#include "tsc.h"

struct ipc_state g;

static struct table round_floors[MAX_ROUNDS], round_ours[MAX_ROUNDS];

static void calibrate(void)
{
	g.tsc_hz = rl_tsc_calibrate(100000000);
}

static void nap_200ms(void)
{
	struct timespec ts = { 0, 200000000 };
	nanosleep(&ts, NULL);
}

/* Floors and our rows, in turns for every round, then one figure per row out of the rounds. */
static void measure_rounds(void)
{
	struct load_mark mark;

	for (unsigned round = 0; round < g.repeat; round++) {
		double others;
		if (g.repeat > 1)
			ipc_progress("round %u of %u", round + 1, g.repeat);
		memset(&g.floors, 0, sizeof(g.floors));
		memset(&g.ours, 0, sizeof(g.ours));
		g.line_rt[round][0] = ipc_machine_line_probe();
		mark = ipc_machine_mark();
		ipc_floors_run();
		others = ipc_machine_others_since(&mark);
		if (others > g.others_floors || others < 0)
			g.others_floors = others;
		g.line_rt[round][1] = ipc_machine_line_probe();
		mark = ipc_machine_mark();
		ipc_ours_run(&g.ours, "ours", NULL);
		others = ipc_machine_others_since(&mark);
		if (others > g.others_ours || others < 0)
			g.others_ours = others;
		g.line_rt[round][2] = ipc_machine_line_probe();
		round_floors[round] = g.floors;
		round_ours[round] = g.ours;
	}
	ipc_rounds_aggregate(&g.floors, round_floors, g.repeat);
	ipc_rounds_aggregate(&g.ours, round_ours, g.repeat);
}

/* After the rounds, once each: pinned polling, scaling, broker load. */
static void measure_once(void)
{
	struct load_mark mark;

	/*
	 * Pinned polling, once (not per round): caller, callee and broker each
	 * spin on a core of their own, the shadow on a fourth. Never with
	 * fewer cores than spinning processes.
	 */
	if (g.usable_cpus >= 3) {
		struct pin_plan plan = { g.cpu_list[0], g.cpu_list[1], g.cpu_list[2], g.cpu_list[3] };
		mark = ipc_machine_mark();
		ipc_ours_run(&g.pinned, "pinned", &plan);
		double others = ipc_machine_others_since(&mark);
		if (others > g.others_ours || others < 0)
			g.others_ours = others;
	}
	mark = ipc_machine_mark();
	static const unsigned counts[] = { 1, 2, 4 }; /* clients, and proxy threads */
	for (unsigned t = 0; t < 3 && ipc_selected("scaling", "all"); t++)
		for (unsigned i = 0; i < 3; i++)
			ipc_scaling_run(counts[i], counts[t], &g.scale[g.nscale++]);
	g.others_scaling = ipc_machine_others_since(&mark);
	for (unsigned i = 0; i < ipc_nloads; i++)
		if (ipc_selected("load", ipc_loads[i].id)) {
			mark = ipc_machine_mark();
			ipc_load_run(&ipc_loads[i]);
			double others = ipc_machine_others_since(&mark);
			if (others > g.others_ours || others < 0)
				g.others_ours = others;
		}
}

int main(int argc, char **argv)
{
	int ret = ipc_options_parse(argc, argv);
	if (ret)
		return ret < 0 ? 0 : ret;
	rl_procs_init();
	if (ipc_machine_paths())
		return 1;
	ipc_machine_describe(argc, argv);
	if (g.placed && g.usable_cpus < 2) {
		fprintf(stderr, "ipc: --placed needs at least 2 usable CPUs; this process may use %ld\n",
			g.usable_cpus);
		return 2;
	}

	snprintf(g.tmpdir, sizeof(g.tmpdir), "/tmp/rl-bench-ipc.XXXXXX");
	if (!mkdtemp(g.tmpdir)) {
		fprintf(stderr, "ipc: cannot create a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	rl_procs_remove_at_exit(g.tmpdir, 1);
	{
		char sock[PATH_MAX + 8];
		snprintf(sock, sizeof(sock), "%s/s", g.tmpdir);
		rl_procs_remove_at_exit(sock, 0);
	}

	if (ipc_floors_alloc()) {
		fprintf(stderr, "ipc: out of memory\n");
		rl_procs_cleanup();
		return 1;
	}

	ipc_progress("calibrating the TSC against CLOCK_MONOTONIC (100 ms)");
	g.busy_before = ipc_machine_others_busy(calibrate);
	if (g.tsc_hz <= 0) {
		fprintf(stderr, "ipc: TSC calibration failed\n");
		rl_procs_cleanup();
		return 1;
	}
	measure_rounds();
	measure_once();

	g.busy_after = ipc_machine_others_busy(nap_200ms);

	ipc_checks_evaluate();
	ipc_report_print();
	ipc_report_print_loads();
	bool all_met = ipc_checks_print();
	ipc_report_placement_hint();
	if (g.any_failed)
		printf("\nsome measurements failed: see the notes above and the log on stderr\n");
	if (g.any_starved)
		printf("\nsome rows were not measured: the machine gave them no time (see the notes above);\n"
		       "run again on a quieter machine\n");
	ret = ipc_json_write();
	if (ret)
		fprintf(stderr, "ipc: cannot write %s: %s\n", g.json_path, strerror(-ret));
	else
		printf("\nall numbers: %s\n", g.json_path);
	fflush(stdout);
	rl_procs_cleanup();
	for (unsigned i = 0; i < g.nsystems; i++)
		free(g.systems[i].manifest);
	ipc_floors_free();
	if (g.any_failed || ret)
		return 1;
	return g.check && !all_met ? 1 : 0;
}
