// SPDX-License-Identifier: MIT
/*
 * bench/ipc beyond the latency table: scaling (calls per second of 1, 2
 * and 4 client domains calling one callee through 1, 2 and 4 proxy
 * threads) and broker load (a pipelined row again, in a system of its own,
 * with the proxy thread's account of its busy time).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "redleaf/clock.h"
#include "system_run.h"

/* ---- broker load ---- */

/*
 * How much of a pipelined row is the broker's own work: the row again, in a
 * system of its own, and the proxy thread's account when the system ends
 * ("proxy thread: N messages, busy X ms of Y s"). Every call is two messages
 * (the call, its reply); start-up and warm-up change the busy time per
 * message by well under a percent.
 */
struct load ipc_loads[] = { { .id = "batch.128" }, { .id = "pipeline.512" } };
const unsigned ipc_nloads = sizeof(ipc_loads) / sizeof(ipc_loads[0]);

void ipc_load_run(struct load *l)
{
	char args[256];
	struct rl_system_run run;

	snprintf(args, sizeof(args), "--iterations, \"%u\", --warmup, \"%u\", --only, \"%s\"%s", g.iterations,
		 g.warmup, l->id, g.placed ? ", --settle-ms, \"300\"" : "");
	char *m = ipc_system_manifest(1, args, NULL, 1);
	if (!m) {
		snprintf(l->note, sizeof(l->note), "out of memory");
		l->state = ROW_FAILED;
		return;
	}
	ipc_progress("broker load: %s in a system of its own", l->id);
	int ret = ipc_system_run("load", m, 3, "ipcbench", 60000 + (int)g.iterations * 4, g.placed, &run);
	free(m);
	l->state = ROW_FAILED;
	if (ret) {
		snprintf(l->note, sizeof(l->note), "cannot run the system: %s", strerror(-ret));
		rl_system_run_free(&run);
		return;
	}
	for (size_t i = 0; i < run.nlines; i++) {
		char id[48];
		if (ipc_system_line_id(run.lines[i].json, id, sizeof(id)) && !strcmp(id, l->id))
			rl_json_number(run.lines[i].json, "median", &l->row_ticks);
	}
	/* "proxy thread: N messages, ..." ("proxy threads:" with more than one) */
	const char *acct = run.log ? strstr(run.log, "proxy thread") : NULL;
	acct = acct ? strchr(acct, ':') : NULL;
	unsigned long long msgs = 0;
	double busy_ms = 0, up_s = 0;
	if (run.status)
		snprintf(l->note, sizeof(l->note), "the system ended with status %d", run.status);
	else if (l->row_ticks <= 0)
		snprintf(l->note, sizeof(l->note), "no result line for %s", l->id);
	else if (!acct || sscanf(acct, ": %llu messages, busy %lf ms of %lf s", &msgs, &busy_ms, &up_s) != 3 ||
		 !msgs || up_s <= 0)
		snprintf(l->note, sizeof(l->note), "the broker did not account for its proxy thread");
	else {
		l->msg_ticks = busy_ms / 1e3 * g.tsc_hz / (double)msgs;
		l->state = ROW_MEASURED;
	}
	if (l->state == ROW_FAILED) {
		fprintf(stderr, "ipc: broker load %s: %s\n", l->id, l->note);
		ipc_system_log_tail(&run);
		g.any_failed = true;
	}
	rl_system_run_free(&run);
}

/* ---- scaling ---- */

/*
 * nclients client domains calling one callee through a broker with threads
 * proxy threads. More than one proxy thread is measured only where every
 * spinning process (proxy threads, callee, clients) has a CPU: on fewer,
 * the threads would take each other's time and the row would measure that.
 */
void ipc_scaling_run(unsigned nclients, unsigned threads, struct scaling *sc)
{
	struct rl_system_run run;
	char args[160], until[128] = "";
	uint64_t lead_ms = g.quick ? 800 : 1200, window_ms = g.quick ? 300 : 2000;

	memset(sc, 0, sizeof(*sc));
	sc->clients = nclients;
	sc->threads = threads;
	long need = (long)threads + (long)nclients + 1;
	if (threads > 1 && g.usable_cpus < need) {
		sc->skipped = true;
		snprintf(sc->note, sizeof(sc->note),
			 "skipped: %u proxy threads, the callee and %u client(s) spin; we may use %ld CPU(s), not %ld",
			 threads, nclients, g.usable_cpus, need);
		return;
	}
	/*
	 * The window is in CLOCK_MONOTONIC, which every process shares: clients
	 * start calling at once and count only calls completing inside it, so
	 * all of them are loaded over the same interval. lead_ms covers the
	 * broker's start-up.
	 */
	uint64_t start = rl_now_ns() + lead_ms * 1000000ull;
	uint64_t end = start + window_ms * 1000000ull;
	sc->window_s = (double)window_ms / 1000.0;
	snprintf(args, sizeof(args), "--throughput, --window, \"%llu\", \"%llu\"", (unsigned long long)start,
		 (unsigned long long)end);
	for (unsigned c = 1; c <= nclients; c++) {
		size_t l = strlen(until);
		snprintf(until + l, sizeof(until) - l, "%sclient%u", c > 1 ? "," : "", c);
	}
	char *m = ipc_system_manifest(nclients, args, NULL, threads);
	char what[32];
	snprintf(what, sizeof(what), "clients-%u-threads-%u", nclients, threads);
	ipc_progress("scaling: %u client domain(s) calling one callee for %.1f s, %u proxy thread(s)", nclients,
		     sc->window_s, threads);
	/* --placed puts the broker's threads on one CPU: only for the one-thread rows. */
	int ret = m ? ipc_system_run(what, m, nclients + 1, until, (int)(lead_ms + window_ms) + 30000,
				     g.placed && threads == 1, &run)
		    : -ENOMEM;
	free(m);
	if (ret) {
		snprintf(sc->note, sizeof(sc->note), "cannot run the system: %s", strerror(-ret));
		g.any_failed = true;
		rl_system_run_free(&run);
		return;
	}
	unsigned seen = 0;
	double total = 0;
	for (size_t i = 0; i < run.nlines; i++) {
		const char *j = run.lines[i].json;
		char op[32];
		double calls, late = 0, errors = 0;
		unsigned c;
		if (rl_json_string(j, "op", op, sizeof(op)) || strcmp(op, "throughput") ||
		    sscanf(run.lines[i].domain, "client%u", &c) != 1 || c < 1 || c > nclients ||
		    rl_json_number(j, "calls", &calls))
			continue;
		rl_json_number(j, "late", &late);
		rl_json_number(j, "errors", &errors);
		sc->per_client[c - 1] = calls / sc->window_s;
		total += calls;
		sc->late |= late != 0;
		if (errors)
			snprintf(sc->note, sizeof(sc->note), "client%u saw %.0f failed calls", c, errors);
		seen++;
	}
	if (seen != nclients || run.status) {
		snprintf(sc->note, sizeof(sc->note), "%u of %u clients reported; system exit status %d", seen,
			 nclients, run.status);
		ipc_system_log_tail(&run);
		g.any_failed = true;
	} else {
		sc->ok = true;
		sc->calls_per_s = total / sc->window_s;
		if (sc->late)
			snprintf(sc->note, sizeof(sc->note),
				 "a client started after the window opened: under-counted");
	}
	rl_system_run_free(&run);
}
