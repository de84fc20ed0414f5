// SPDX-License-Identifier: MIT
/*
 * bench/ipc's printed report (stdout): the run's conditions, our rows
 * beside the paper's figures and their floors, the floors, pinned polling,
 * scaling, broker load, and a note when placement split our rows.
 */
#include <stdio.h>
#include <string.h>

#include "ipc.h"

/* ---- the report ---- */

/* "lo-hi" of a row's per-round medians, or "" without --repeat. */
static const char *round_range(const struct row *r, char *buf, size_t len)
{
	double lo = 0, hi = 0;

	buf[0] = 0;
	if (g.repeat < 2 || !ipc_row_measured(r) || !r->nrounds)
		return buf;
	for (unsigned k = 0; k < r->nrounds; k++) {
		if (!k || r->round_median[k] < lo)
			lo = r->round_median[k];
		if (!k || r->round_median[k] > hi)
			hi = r->round_median[k];
	}
	snprintf(buf, len, "%.0f-%.0f", lo, hi);
	return buf;
}

static void print_stats_cells(const struct row *r)
{
	if (ipc_row_measured(r))
		printf(" %10.0f | %10.0f | %9.0f |", r->s.median, r->s.p99, ipc_ticks_ns(r->s.median));
	else
		printf(" %10s | %10s | %9s |", "-", "-", "-");
}

/* Our rows of t as lines of the report, with the paper's figure and the ratio to each line's floor. */
static void print_lines(const struct our_line *lines, unsigned n, struct table *t, bool ranges)
{
	bool paired = false;
	printf("\n%-40s | %10s | %10s | %9s | %6s | %-16s | %s%s\n", "operation", "ours med", "ours p99",
	       "ours ns", "paper", "floor", "ours/floor", ranges ? " | range" : "");
	printf("%.*s\n", 121, "----------------------------------------------------------------------"
			      "---------------------------------------------------------------");
	for (unsigned i = 0; i < n; i++) {
		const struct our_line *l = &lines[i];
		char paper[16] = "-";
		if (l->paper)
			snprintf(paper, sizeof(paper), "%d", l->paper);
		printf("%-40s |", l->label);
		struct row *r = ipc_row_find(t, l->id);
		print_stats_cells(r);
		const struct row *f = ipc_ours_compared_row(l->floor);
		char ratio[32] = "-";
		if (ipc_row_measured(r) && r->pairs && l->floor && ipc_pair_of_floor(l->floor)) {
			snprintf(ratio, sizeof(ratio), "%.2f *", r->paired);
			paired = true;
		} else if (ipc_row_measured(r) && ipc_row_measured(f) && f->s.median > 0) {
			snprintf(ratio, sizeof(ratio), "%.2f", r->s.median / f->s.median);
		}
		char range[48];
		printf(" %6s | %-16s | %-10s", paper, l->floor ? l->floor : "-", ratio);
		if (ranges)
			printf(" | %s", round_range(r, range, sizeof(range)));
		if (r && r->state != ROW_MEASURED)
			printf("  (%s)", r->note);
		printf("\n");
	}
	if (paired)
		printf("* time-shared with its floor in %u ms slots: the median over slot pairs of ours / the\n"
		       "  floor's in the slot just before%s (share.h)\n", g.slot_ms,
		       g.repeat > 1 ? ", then the median over the rounds" : "");
}

/*
 * The line probes, one line per round. Cross-CPU figures scale with them:
 * on a VM the host may move the vCPUs closer or further apart mid-run, and
 * a round whose probes differ was measured across such a move.
 */
static void print_line_rt(void)
{
	if (g.usable_cpus < 2) {
		printf("cache-line round trip: not measured (one usable CPU)\n");
		return;
	}
	printf("cache-line round trip, CPU %d <-> %d, ticks (before floors / before ours / after ours):",
	       g.cpu_first, g.cpu_last);
	for (unsigned k = 0; k < g.repeat; k++) {
		if (g.repeat > 1)
			printf("%s round %u:", k % 3 ? ";" : "\n ", k + 1); /* three rounds a line */
		for (unsigned i = 0; i < 3; i++)
			if (g.line_rt[k][i] < 0)
				printf("%s n/a", i ? " /" : "");
			else
				printf("%s %.0f", i ? " /" : "", g.line_rt[k][i]);
	}
	printf("\n  every figure that crosses CPUs moves with it (the host places the vCPUs)\n");
}

/* The run's conditions: machine, waiting, pinning, weights, line probes and the others' load. */
static void print_machine(void)
{
	printf("\nbench/ipc on %ld CPU(s) (%s), kernel %s, TSC %.3f GHz, %s\n", g.nproc, g.cpu_model,
	       g.kernel, g.tsc_hz / 1e9, g.date);
	printf("cycles = TSC ticks (no PMU here); ns = median in nanoseconds; medians and p99 over %s\n",
	       "every timed sample after warm-up");
	printf("waiting: spin %u us, then futex (domains and floors on their rx ring's tail, broker and\n"
	       "  relay on a bell); producers wake only a peer that announced it sleeps. A spin step is\n"
	       "  a pause, or sched_yield() when spinning processes outnumber the %ld usable CPU(s):\n"
	       "  floors: 2 processes %s, 3 processes %s",
	       g.spin_us, g.usable_cpus, 2 > g.usable_cpus ? "yield" : "pause",
	       3 > g.usable_cpus ? "yield" : "pause");
	/* How the broker said it waits, once per distinct answer. */
	for (unsigned i = 0; i < g.nsystems; i++) {
		bool seen = false;
		for (unsigned k = 0; k < i; k++)
			seen |= !strcmp(g.systems[k].waiting, g.systems[i].waiting);
		if (!seen)
			printf("%s%s", i ? "; " : "; broker: ", g.systems[i].waiting);
	}
	printf("\n");
	if (g.placed)
		printf("pinning: --placed: broker (and relay / ping-pong partner) on CPU %d, domains (caller,\n"
		       "  callee) on CPU %d; futex, pipe and socket floors unpinned\n", g.cpu_last, g.cpu_first);
	else
		printf("pinning: none (the scheduler places every process)\n");
	printf("weights: %s\n", ipc_system_weights().text);
	print_line_rt();
	bool busy = g.busy_before > 0.05 || g.busy_after > 0.05 || g.others_floors > 0.05 ||
		    g.others_ours > 0.05 || g.others_scaling > 0.05;
	char share[5][16];
	const double shares[5] = { g.busy_before, g.others_floors, g.others_ours, g.others_scaling, g.busy_after };
	for (int i = 0; i < 5; i++) {
		if (shares[i] < 0)
			snprintf(share[i], sizeof(share[i]), "n/a");
		else
			snprintf(share[i], sizeof(share[i]), "%.0f%%", shares[i] * 100);
	}
	printf("other processes' share of all CPUs: %s before, %s during floors, %s during\n"
	       "  ours, %s during scaling, %s after%s\n",
	       share[0], share[1], share[2], share[3], share[4], busy ? ": NOT IDLE, numbers are inflated" : " (idle)");
}

static void print_floors(void)
{
	printf("\nfloors (harness processes, shared memory, no seccomp, no validation)\n");
	printf("%-16s | %-50s | %10s | %10s | %10s | %9s%s\n", "floor", "what", "median", "p99", "min",
	       "median ns", g.repeat > 1 ? " | range" : "");
	for (unsigned i = 0; i < g.floors.n; i++) {
		const struct row *r = &g.floors.rows[i];
		char range[48];
		char id[32];
		snprintf(id, sizeof(id), "%s%s", r->id, ipc_pair_of_floor(r->id) ? " *" : "");
		printf("%-16s | %-50.50s |", id, r->label);
		if (ipc_row_measured(r))
			printf(" %10.1f | %10.1f | %10.1f | %9.1f%s%s\n", r->s.median, r->s.p99, r->s.min,
			       ipc_ticks_ns(r->s.median), g.repeat > 1 ? " | " : "", round_range(r, range, sizeof(range)));
		else
			printf(" %s\n", r->note);
	}
	for (unsigned i = 0; i < NPAIRS; i++)
		if (ipc_pair_shared(&ipc_shared_pairs[i])) {
			printf("* time-shared with our rows (in the even slots, ours in the odd ones)\n");
			break;
		}
}

static void print_pinned(void)
{
	if (g.usable_cpus < 3) {
		printf("ours pinned polling: skipped: the call path has 3 spinning processes (caller, broker,\n"
		       "  callee) and we may use %ld CPU(s)\n", g.usable_cpus);
	} else {
		printf("\nours, pinned polling (broker: {poll: true}; nobody sleeps or yields): ipcbench on CPU %d,\n"
		       "  callee on %d, broker's proxy thread on %d", g.cpu_list[0], g.cpu_list[1], g.cpu_list[2]);
		if (g.cpu_list[3] >= 0)
			printf(", shadow on %d", g.cpu_list[3]);
		printf("; one run, not repeated\n");
		print_lines(ipc_pinned_lines, ipc_npinned_lines, &g.pinned, false);
	}
}

static void print_scaling(void)
{
	printf("\nscaling: synchronous null calls, N client domains -> broker -> one callee, with 1, 2\n"
	       "  and 4 proxy threads in the broker (more than one only where every spinning process\n"
	       "  has a CPU; --placed pins the one-thread rows only)\n");
	printf("%-8s | %-7s | %14s | %-40s | %s\n", "clients", "threads", "calls/s total", "per client", "notes");
	for (unsigned i = 0; i < g.nscale; i++) {
		const struct scaling *sc = &g.scale[i];
		char per[128] = "";
		for (unsigned c = 0; c < sc->clients; c++) {
			size_t l = strlen(per);
			snprintf(per + l, sizeof(per) - l, "%s%.0f", c ? " " : "", sc->per_client[c]);
		}
		if (sc->ok)
			printf("%-8u | %-7u | %14.0f | %-40s | %s\n", sc->clients, sc->threads, sc->calls_per_s,
			       per, sc->note);
		else
			printf("%-8u | %-7u | %14s | %-40s | %s\n", sc->clients, sc->threads, "-", "-", sc->note);
	}
}

void ipc_report_print(void)
{
	print_machine();

	if (g.repeat > 1)
		printf("\n%u rounds: medians, p99s and ns are medians over the rounds; 'range' is the\n"
		       "lowest-highest round median\n", g.repeat);
	print_lines(ipc_table_lines, ipc_ntable_lines, &g.ours, g.repeat > 1);
	printf("paper (2.6 GHz Haswell, core cycles): seL4 call/reply 834, VMFUNC call/reply 396\n");

	print_floors();
	print_pinned();
	print_scaling();
}

void ipc_report_print_loads(void)
{
	bool any = false;
	for (unsigned i = 0; i < ipc_nloads; i++)
		any |= ipc_loads[i].state != ROW_PENDING;
	if (!any)
		return;
	printf("\nbroker load: the row again in a system of its own; the proxy thread's busy time per\n"
	       "  message, times 2 messages per call, is the broker's work per call. Where it is close to\n"
	       "  the row's own cost, the one proxy thread is what limits the row.\n");
	printf("%-14s | %14s | %18s | %s\n", "row", "ticks per call", "broker per message",
	       "broker per call (share of the row)");
	for (unsigned i = 0; i < ipc_nloads; i++) {
		const struct load *l = &ipc_loads[i];
		if (l->state == ROW_MEASURED)
			printf("%-14s | %14.0f | %18.1f | %.0f (%.0f%%)\n", l->id, l->row_ticks, l->msg_ticks,
			       2 * l->msg_ticks, 100.0 * 2 * l->msg_ticks / l->row_ticks);
		else if (l->state != ROW_PENDING)
			printf("%-14s | %s\n", l->id, l->note);
	}
}

/*
 * Unplaced, our synchronous rows are bimodal (the broker has a CPU to
 * itself, or shares one with a domain). When this run shows it, say so.
 */
void ipc_report_placement_hint(void)
{
	static const char *const sync_rows[] = { "null", "add", "take", "peek", "make" };
	double lo = 0, hi = 0;

	if (g.placed || g.usable_cpus < 2)
		return;
	for (unsigned i = 0; i < sizeof(sync_rows) / sizeof(sync_rows[0]); i++) {
		const struct row *r = ipc_row_find(&g.ours, sync_rows[i]);
		if (!ipc_row_measured(r))
			continue;
		for (unsigned k = 0; k < (r->nrounds ? r->nrounds : 1); k++) {
			double v = r->nrounds ? r->round_median[k] : r->s.median;
			if (lo == 0 || v < lo)
				lo = v;
			if (v > hi)
				hi = v;
		}
	}
	if (lo > 0 && hi / lo > 1.4)
		printf("\nnote: our synchronous calls took %.0f to %.0f ticks in this run, which usually means\n"
		       "  the scheduler gave the broker a CPU of its own for some and made it share one for\n"
		       "  others. --placed pins it to a CPU of its own and the domains to another\n"
		       "  (docs/performance.md)\n",
		       lo, hi);
}

