// SPDX-License-Identifier: MIT
/*
 * bench/ipc's own rows: the calls ipcbench makes under a real broker, the
 * lines of the table that show them and what each is compared with, and
 * the latency system's run -- its BENCH lines, and the relay floors
 * time-shared with it on one schedule (share.h).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "floors.h"
#include "ipc.h"
#include "procs.h"
#include "share.h"
#include "system_run.h"

const struct our_op ipc_our_ops[] = {
	{ "null", "null call" },
	{ "add", "call with one scalar (add)" },
	{ "take", "moving one RRef (take)" },
	{ "peek", "borrowing one RRef (peek)" },
	{ "make", "returning an RRef (make, drop untimed)" },
	{ "batch.1", "batch 1, per call" },
	{ "batch.8", "batch 8, per call" },
	{ "batch.32", "batch 32, per call" },
	{ "batch.128", "batch 128, per call" },
	{ "pipeline.512", "512 outstanding, per call" },
	{ "shadow_null", "null call via a shadow" },
	{ "shadow_take", "moving one RRef via a shadow" },
	{ "alloc", "RRef allocation (rref_payload_new, not a call)" },
	{ "drop", "drop of a returned RRef (not a call)" },
};
const unsigned ipc_nour_ops = sizeof(ipc_our_ops) / sizeof(ipc_our_ops[0]);

const struct our_line ipc_table_lines[] = {
	{ "cross-domain null call", "null", 124, "raw3.b1" },
	{ "call with one scalar (add)", "add", 0, "raw3.b1" },
	{ "passing (moving) one RRef (take)", "take", 141, "raw3.b1" },
	{ "borrowing one RRef (peek)", "peek", 0, "raw3.b1" },
	{ "returning an RRef (make)", "make", 0, "raw3.b1" },
	{ "via shadow", "shadow_null", 279, "ours:null" },
	{ "via shadow with an RRef", "shadow_take", 297, "ours:take" },
	{ "batch 1, per call", "batch.1", 0, "raw3.b1" },
	{ "batch 8, per call", "batch.8", 0, "raw3.b8" },
	{ "batch 32, per call", "batch.32", 0, "raw3.b32" },
	{ "batch 128, per call", "batch.128", 0, "raw3.b128" },
	{ "512 outstanding, per call", "pipeline.512", 0, "raw3.w512" },
	{ "RRef allocation (not a call)", "alloc", 0, NULL },
	{ "drop of a returned RRef (not a call)", "drop", 0, NULL },
};

/* Under pinned polling: compared with the pinned relay, or with our own pinned null call. */
const struct our_line ipc_pinned_lines[] = {
	{ "cross-domain null call", "null", 124, "raw3.pinned" },
	{ "passing (moving) one RRef (take)", "take", 141, "pinned:null" },
	{ "via shadow", "shadow_null", 279, "pinned:null" },
	{ "batch 32, per call", "batch.32", 0, "raw3.pinned.b32" },
	{ "batch 128, per call", "batch.128", 0, "raw3.pinned.b128" },
	{ "512 outstanding, per call", "pipeline.512", 0, "raw3.pinned.w512" },
};
const unsigned ipc_ntable_lines = sizeof(ipc_table_lines) / sizeof(ipc_table_lines[0]);
const unsigned ipc_npinned_lines = sizeof(ipc_pinned_lines) / sizeof(ipc_pinned_lines[0]);

/* The rows measured again under pinned polling. */
bool ipc_ours_pinned_row(const char *id)
{
	for (unsigned i = 0; i < sizeof(ipc_pinned_lines) / sizeof(ipc_pinned_lines[0]); i++)
		if (!strcmp(ipc_pinned_lines[i].id, id))
			return true;
	return false;
}

/* The row a line is compared with: a floor, or ("ours:ID") one of our own rows. */
const struct row *ipc_ours_compared_row(const char *id)
{
	if (!id)
		return NULL;
	if (!strncmp(id, "ours:", 5))
		return ipc_row_find(&g.ours, id + 5);
	if (!strncmp(id, "pinned:", 7))
		return ipc_row_find(&g.pinned, id + 7);
	return ipc_row_find(&g.floors, id);
}

/* ---- time-shared comparisons (sched.h) ---- */

#define FLOOR_SHARE_MAX (1u << 20) /* samples per phase: a 25 ms slot holds ~8 000 relay round trips */
#define MAX_SLOT_MEDIANS 2048

/* Between the harness and its floor process (MAP_SHARED); the pointers in ph point into it. */
struct floor_share {
	struct rl_floor_params params;
	unsigned n;
	int rc;
	struct rl_floor_phase ph[NPAIRS];
	double samples[NPAIRS][FLOOR_SHARE_MAX];
	uint32_t slots[NPAIRS][FLOOR_SHARE_MAX];
};

/* This round's schedule and what ipcbench reported of it. */
static struct share_plan {
	unsigned n; /* phases */
	const struct shared_pair *pair[NPAIRS];
	unsigned first[NPAIRS], end[NPAIRS];
	uint64_t t0_ns, slot_ns;
	struct rl_slot_median ours[NPAIRS][MAX_SLOT_MEDIANS];
	size_t nours[NPAIRS];
	struct floor_share *fs;
	pid_t pid;
} sched;

static void floor_share_main(void *arg)
{
	struct floor_share *fs = arg;
	fs->rc = rl_floor_ring3_shared(&fs->params, fs->ph, fs->n);
}

/*
 * The schedule of this round: a phase per pair whose rows are both run,
 * starting lead_ms from now, each long enough for our side's iterations
 * (estimated at 5 us per synchronous call of each of the 7 rows, 0.3 us per
 * batched call), at least 2 s (--quick 0.5 s) and 10 pairs of slots, plus
 * one pair to warm up.
 */
static void share_plan_make(unsigned lead_ms)
{
	memset(&sched, 0, sizeof(sched));
	sched.pid = -1;
	sched.slot_ns = (uint64_t)g.slot_ms * 1000000;
	sched.t0_ns = rl_share_now_ns() + (uint64_t)lead_ms * 1000000;
	unsigned slot = 0;
	for (unsigned i = 0; i < NPAIRS; i++) {
		const struct shared_pair *sp = &ipc_shared_pairs[i];
		if (!ipc_pair_shared(sp))
			continue;
		double ns_needed = g.iterations * (sp->batch == 1 ? 7 * 5000.0 : 300.0);
		unsigned pairs = (unsigned)ceil(ns_needed / (double)sched.slot_ns);
		/* Modes switch within tens of ms: a phase spans at least 2 s (0.5 s --quick) of them. */
		unsigned min_pairs = (unsigned)((g.quick ? 500 : 2000) / (2 * g.slot_ms));
		if (pairs < min_pairs)
			pairs = min_pairs;
		if (pairs < 10)
			pairs = 10;
		sched.pair[sched.n] = sp;
		sched.first[sched.n] = slot;
		sched.end[sched.n] = slot + 2 * (pairs + 1);
		slot = sched.end[sched.n++];
	}
}

/* The schedule's end: when the floor process is done. */
static uint64_t share_plan_end_ns(void)
{
	return sched.n ? sched.t0_ns + sched.end[sched.n - 1] * sched.slot_ns : 0;
}

/* Starts the floor process on the schedule; the relay floor rows fail when it cannot. */
static void share_floor_start(void)
{
	if (!sched.n)
		return;
	void *m = mmap(NULL, sizeof(struct floor_share), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int err = m == MAP_FAILED ? -errno : 0;
	if (!err) {
		struct floor_share *fs = sched.fs = m;
		fs->params = ipc_floors_params(true);
		fs->n = sched.n;
		fs->rc = -ECHILD; /* until the process says otherwise */
		for (unsigned i = 0; i < sched.n; i++) {
			struct rl_floor_phase *ph = &fs->ph[i];
			ph->batch = sched.pair[i]->batch;
			rl_share_init(&ph->share, sched.t0_ns, sched.slot_ns, sched.first[i], sched.end[i], 0);
			ph->samples = fs->samples[i];
			ph->slots = fs->slots[i];
			ph->max = FLOOR_SHARE_MAX;
			ph->n = -ECHILD;
		}
		sched.pid = rl_procs_fork(floor_share_main, fs);
		err = sched.pid < 0 ? sched.pid : 0;
	}
	if (err) {
		for (unsigned i = 0; i < sched.n; i++)
			ipc_row_note(ipc_row_find(&g.floors, sched.pair[i]->floor), ROW_FAILED,
				     "cannot start the time-shared relay: %s", strerror(-err));
		if (sched.fs)
			munmap(sched.fs, sizeof(*sched.fs));
		sched.fs = NULL;
		sched.n = 0;
	}
}

/* ipcbench's arguments for the schedule: appended to args. */
static void share_args(char *args, size_t len)
{
	size_t l = strlen(args);
	if (!sched.n)
		return;
	l += (size_t)snprintf(args + l, len - l, ", --share-clock, \"%llu\", \"%llu\"",
			      (unsigned long long)sched.t0_ns, (unsigned long long)sched.slot_ns);
	for (unsigned i = 0; i < sched.n && l < len; i++)
		l += (size_t)snprintf(args + l, len - l, ", --share, \"%s\", \"%u\", \"%u\"", sched.pair[i]->ours,
				      sched.first[i], sched.end[i]);
}

/* A slot line of ipcbench ({"op":"slot","row":...}): its median kept for the pairing. */
static void share_line(const char *json)
{
	char row[32];
	double slot, n, median;

	if (rl_json_string(json, "row", row, sizeof(row)) || rl_json_number(json, "slot", &slot) ||
	    rl_json_number(json, "n", &n) || rl_json_number(json, "median", &median))
		return;
	for (unsigned i = 0; i < sched.n; i++)
		if (!strcmp(sched.pair[i]->ours, row) && sched.nours[i] < MAX_SLOT_MEDIANS)
			sched.ours[i][sched.nours[i]++] =
				(struct rl_slot_median){ .slot = (uint32_t)slot, .n = (uint32_t)n, .median = median };
}

/*
 * After the system: waits for the floor process (it ends with the
 * schedule), fills the relay floor rows and pairs them with ours.
 */
static void share_finish(struct table *t)
{
	if (!sched.n)
		return;
	uint64_t now = rl_share_now_ns(), end = share_plan_end_ns();
	int wait_ms = 10000 + (end > now ? (int)((end - now) / 1000000) : 0);
	int status = rl_procs_wait(sched.pid, wait_ms);
	if (status == -ETIMEDOUT)
		status = rl_procs_stop(sched.pid);
	struct floor_share *fs = sched.fs;
	for (unsigned i = 0; i < sched.n; i++) {
		struct row *f = ipc_row_find(&g.floors, sched.pair[i]->floor);
		struct row *o = ipc_row_find(t, sched.pair[i]->ours);
		int n = fs->ph[i].n;
		if (!fs->rc && !n) {
			ipc_row_note(f, ROW_STARVED, "not measured: the time-shared relay completed no call in its slots "
				     "(a busy machine)");
			continue;
		}
		if (fs->rc || n <= 0) {
			int err = fs->rc ? fs->rc : n ? n : -ENODATA;
			ipc_row_note(f, ROW_FAILED, "time-shared relay: %s%s", strerror(-err),
				     WIFEXITED(status) && !WEXITSTATUS(status) ? "" : " (its process did not end cleanly)");
			continue;
		}
		static struct rl_slot_median floor_slots[MAX_SLOT_MEDIANS];
		size_t nf = rl_share_slot_medians(fs->samples[i], fs->slots[i], (size_t)n, floor_slots,
						  MAX_SLOT_MEDIANS);
		rl_stats_compute(fs->samples[i], (size_t)n, &f->s);
		f->state = ROW_MEASURED;
		if (!ipc_row_measured(o))
			continue;
		o->paired = rl_share_paired(sched.ours[i], sched.nours[i], floor_slots, nf, &o->pairs);
		if (!o->pairs)
			ipc_row_note(o, ROW_STARVED, "not measured: time-shared with %s, but no slot pair has %u samples "
				     "on both sides (a busy machine)", f->id, RL_SHARE_MIN_SAMPLES);
	}
	munmap(fs, sizeof(*fs));
	sched.fs = NULL;
}

/* Our rows of t from the system's BENCH lines; its slot lines go to the time-shared pairing. */
static void read_results(struct table *t, const struct rl_system_run *run)
{
	for (size_t i = 0; i < run->nlines; i++) {
		const char *j = run->lines[i].json;
		char id[48];
		double v;
		if (!ipc_system_line_id(j, id, sizeof(id)))
			continue;
		if (!strcmp(id, "slot")) {
			share_line(j);
			continue;
		}
		struct row *r = ipc_row_find(t, id);
		if (!r)
			continue;
		if (!rl_json_number(j, "error", &v)) {
			ipc_row_note(r, ROW_FAILED, "the call failed: %s", strerror((int)-v));
			continue;
		}
		if (!rl_json_number(j, "n", &v) && !v) {
			ipc_row_note(r, ROW_STARVED, "not measured: no call completed in this row's time slots (a busy machine)");
			continue;
		}
		if (rl_json_number(j, "median", &r->s.median) || rl_json_number(j, "p99", &r->s.p99) ||
		    rl_json_number(j, "min", &r->s.min) || rl_json_number(j, "n", &v)) {
			ipc_row_note(r, ROW_FAILED, "unreadable result line: %s", j);
			continue;
		}
		r->s.n = (size_t)v;
		rl_json_number(j, "mean", &r->s.mean);
		rl_json_number(j, "max", &r->s.max);
		r->state = ROW_MEASURED;
	}
}

/*
 * Runs the latency system once and fills t with our rows (part "ours"), or
 * with pin, the pinned-polling subset (part "pinned"): broker: {poll: true}
 * and every process on a core of its own, so nobody ever sleeps or yields.
 */
void ipc_ours_run(struct table *t, const char *part, const struct pin_plan *pin)
{
	char args[1024];
	struct rl_system_run run;

	char only[256] = "";
	bool any = false;
	for (unsigned i = 0; i < sizeof(ipc_our_ops) / sizeof(ipc_our_ops[0]); i++) {
		if (pin && !ipc_ours_pinned_row(ipc_our_ops[i].id))
			continue;
		struct row *r = ipc_row_add(t, ipc_our_ops[i].id, ipc_our_ops[i].label);
		if (!ipc_selected(part, r->id)) {
			ipc_row_note(r, ROW_SKIPPED, "not run (--only)");
			continue;
		}
		if (pin && pin->shadow < 0 && !strncmp(r->id, "shadow", 6)) {
			ipc_row_note(r, ROW_SKIPPED, "skipped: the shadow is a 4th spinning process, we may use %ld cores",
				     g.usable_cpus);
			continue;
		}
		size_t l = strlen(only);
		snprintf(only + l, sizeof(only) - l, "%s%s", any ? "," : "", r->id);
		any = true;
	}
	if (!any)
		return;
	bool subset = g.only || pin;
	snprintf(args, sizeof(args), "--iterations, \"%u\", --warmup, \"%u\"%s%s%s%s", g.iterations, g.warmup,
		 subset ? ", --only, \"" : "", subset ? only : "", subset ? "\"" : "",
		 g.placed && !pin ? ", --settle-ms, \"300\"" : "");
	/* The broker starts its domains in well under a second; placing them takes 300 ms more. */
	sched.n = 0;
	if (!pin)
		share_plan_make(g.placed ? 1800 : 1500);
	share_args(args, sizeof(args));
	char *m = ipc_system_manifest(1, args, pin, 1);
	if (!m) {
		for (unsigned i = 0; i < t->n; i++)
			if (t->rows[i].state != ROW_SKIPPED)
				ipc_row_note(&t->rows[i], ROW_FAILED, "out of memory");
		for (unsigned i = 0; i < sched.n; i++)
			ipc_row_note(ipc_row_find(&g.floors, sched.pair[i]->floor), ROW_FAILED, "out of memory");
		sched.n = 0;
		return;
	}
	unsigned ndomains = pin && pin->shadow < 0 ? 2 : 3;
	if (pin)
		ipc_progress("ours, pinned polling: ipcbench on CPU %d, callee on %d, broker on %d%s (%u iterations per row)",
			     pin->client, pin->callee, pin->broker, pin->shadow >= 0 ? ", shadow on the next" : "",
			     g.iterations);
	else
		ipc_progress("ours: starting the broker with callee and ipcbench (%u iterations per row)", g.iterations);
	share_floor_start();
	int timeout_ms = 60000 + (int)g.iterations * 4;
	if (sched.n)
		timeout_ms += (int)((share_plan_end_ns() - rl_share_now_ns()) / 1000000);
	int ret = ipc_system_run(pin ? "pinned" : "latency", m, ndomains, "ipcbench", timeout_ms, g.placed && !pin, &run);
	free(m);
	if (ret) {
		for (unsigned i = 0; i < t->n; i++)
			if (t->rows[i].state != ROW_SKIPPED)
				ipc_row_note(&t->rows[i], ROW_FAILED, "cannot run the system: %s", strerror(-ret));
		share_finish(t);
		rl_system_run_free(&run);
		return;
	}
	read_results(t, &run);
	share_finish(t);
	bool missing = false;
	for (unsigned i = 0; i < t->n; i++) {
		struct row *r = &t->rows[i];
		if (r->state == ROW_PENDING) {
			ipc_row_note(r, ROW_FAILED, "no result (system exit status %d)", run.status);
			missing = true;
		}
	}
	if (missing || run.status) {
		fprintf(stderr, "ipc: %s: the system ended with status %d%s\n", part, run.status,
			missing ? " and rows are missing" : "");
		ipc_system_log_tail(&run);
		if (run.status && !missing)
			g.any_failed = true;
	}
	rl_system_run_free(&run);
}
