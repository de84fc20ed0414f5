// SPDX-License-Identifier: MIT
/*
 * bench/ipc's floors: a row for every floor, measured with the processes
 * floors.c forks, one after the other -- except the relay floors that run
 * time-shared with our rows (ipc_ours.c measures those).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floors.h"
#include "ipc.h"
#include "samples.h"

#define PIPELINE_DEPTH 512

static double *samples;
static size_t max_samples;

typedef int (*floor_fn)(const struct rl_floor_params *, unsigned, double *, size_t);

static void floor_done(struct row *r, int n)
{
	if (n <= 0) {
		ipc_row_note(r, ROW_FAILED, "measurement failed: %s", strerror(n ? -n : ENODATA));
		return;
	}
	rl_stats_compute(samples, (size_t)n, &r->s);
	r->state = ROW_MEASURED;
}

/* The samples buffer of the floors, for g.iterations: 0, or -ENOMEM. */
int ipc_floors_alloc(void)
{
	max_samples = (size_t)(g.iterations < 1000 ? 1000 : g.iterations) * 4 + 1024;
	samples = malloc(max_samples * sizeof(double));
	return samples ? 0 : -ENOMEM;
}

void ipc_floors_free(void)
{
	free(samples);
}

/* Every floor's row id (--only checks its items against these). */
const char *const ipc_floor_ids[] = {
	"indirect", "raw2.b1", "raw2.b8", "raw2.b32", "raw2.b128", "raw3.b1", "raw3.b8", "raw3.b32",
	"raw3.b128", "raw3.w512", "futex", "pipe", "unix", "raw2.pinned", "raw2.pinned.b32", "raw3.pinned",
	"raw3.pinned.b32", "raw3.pinned.b128", "raw3.pinned.w512",
};
const unsigned ipc_nfloor_ids = sizeof(ipc_floor_ids) / sizeof(ipc_floor_ids[0]);

/*
 * The floors' processes: with relay, caller-relay-callee, else a caller and
 * one partner. --placed: the relay (or the two-process partner) alone on
 * the last CPU, caller and callee together on the first -- the placement
 * the broker would get with its proxy thread on a CPU of its own.
 */
struct rl_floor_params ipc_floors_params(bool relay)
{
	struct rl_floor_params p = {
		.iterations = g.iterations,
		.warmup = g.warmup,
		.spin_ns = (uint64_t)g.spin_us * 1000,
		.cpu = { -1, -1, -1 },
		.usable_cpus = g.usable_cpus,
	};
	if (g.placed && relay) {
		p.cpu[0] = p.cpu[1] = g.cpu_first;
		p.cpu[2] = g.cpu_last;
	} else if (g.placed) {
		p.cpu[0] = g.cpu_first;
		p.cpu[1] = g.cpu_last;
	}
	return p;
}

void ipc_floors_run(void)
{
	struct rl_floor_params p = ipc_floors_params(false), p3 = ipc_floors_params(true);
	static const unsigned batches[] = { 1, 8, 32, 128 };
	unsigned step = 0, total = 0;
	for (unsigned k = 0; k < sizeof(ipc_floor_ids) / sizeof(ipc_floor_ids[0]); k++)
		total += ipc_selected("floors", ipc_floor_ids[k]);
	struct row *r;
	char id[32], label[80];

	/* Each floor: a row, a progress line, and the measurement unless --only leaves it out. */
#define STEP(lbl)                                                               \
	do {                                                                    \
		if (ipc_selected("floors", r->id))                                  \
			ipc_progress("floor %2u/%u: %s", ++step, total, lbl);       \
	} while (0)
#define MEASURE(call)                                                \
	do {                                                         \
		if (!ipc_selected("floors", r->id))                      \
			ipc_row_note(r, ROW_SKIPPED, "not run (--only)"); \
		else                                                 \
			floor_done(r, call);                         \
	} while (0)
	r = ipc_row_add(&g.floors, "indirect", "indirect call (volatile function pointer)");
	STEP(r->label);
	MEASURE(rl_floor_indirect(&p, samples, max_samples));

	for (unsigned i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "raw2.b%u", batches[i]);
		snprintf(label, sizeof(label), batches[i] == 1 ? "raw 2-process ring ping-pong" :
			 "raw 2-process ring, batch %u, per call", batches[i]);
		r = ipc_row_add(&g.floors, id, label);
		STEP(r->label);
		MEASURE(rl_floor_ring2(&p, batches[i], samples, max_samples));
	}
	for (unsigned i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "raw3.b%u", batches[i]);
		snprintf(label, sizeof(label), batches[i] == 1 ? "raw 3-process relay (caller-relay-callee)" :
			 "raw 3-process relay, batch %u, per call", batches[i]);
		r = ipc_row_add(&g.floors, id, label);
		if (ipc_pair_of_floor(id)) {
			if (ipc_selected("floors", r->id))
				ipc_progress("floor %2u/%u: %s: time-shared with ours, later", ++step, total, r->label);
			continue;
		}
		STEP(r->label);
		MEASURE(rl_floor_ring3(&p3, batches[i], 0, samples, max_samples));
	}
	snprintf(id, sizeof(id), "raw3.w%u", PIPELINE_DEPTH);
	snprintf(label, sizeof(label), "raw 3-process relay, %u outstanding, per call", PIPELINE_DEPTH);
	r = ipc_row_add(&g.floors, id, label);
	STEP(r->label);
	MEASURE(rl_floor_ring3(&p3, 1, PIPELINE_DEPTH, samples, max_samples));

	r = ipc_row_add(&g.floors, "futex", "futex ping-pong (always sleeping)");
	STEP(r->label);
	MEASURE(rl_floor_futex(&p, samples, max_samples));
	r = ipc_row_add(&g.floors, "pipe", "pipe ping-pong (64 bytes)");
	STEP(r->label);
	MEASURE(rl_floor_pipe(&p, samples, max_samples));
	r = ipc_row_add(&g.floors, "unix", "Unix stream socket ping-pong (64 bytes)");
	STEP(r->label);
	MEASURE(rl_floor_unix(&p, samples, max_samples));

	/*
	 * Pinned polling: every process spins forever on its own core. Only
	 * meaningful with a core per spinning process; with fewer, spinners
	 * preempt each other for whole time slices (MACHINE.md: ~8 ms).
	 */
	struct rl_floor_params pp = p;
	pp.spin_ns = RL_FLOOR_POLL;
	pp.cpu[0] = g.cpu_list[0];
	pp.cpu[1] = g.cpu_list[1];
	pp.cpu[2] = g.cpu_list[2];
	r = ipc_row_add(&g.floors, "raw2.pinned", "raw 2-process ring ping-pong, pinned polling");
	STEP(r->label);
	if (g.usable_cpus >= 2)
		MEASURE(rl_floor_ring2(&pp, 1, samples, max_samples));
	else
		ipc_row_note(r, ROW_SKIPPED, "skipped: 2 spinning processes need 2 cores, we may use %ld",
			     g.usable_cpus);
	r = ipc_row_add(&g.floors, "raw2.pinned.b32", "raw 2-process ring, batch 32, pinned polling");
	STEP(r->label);
	if (g.usable_cpus >= 2)
		MEASURE(rl_floor_ring2(&pp, 32, samples, max_samples));
	else
		ipc_row_note(r, ROW_SKIPPED, "skipped: 2 spinning processes need 2 cores, we may use %ld",
			     g.usable_cpus);
	static const unsigned pinned_batches[] = { 1, 32, 128, 0 };
	for (unsigned i = 0; i < 4; i++) {
		unsigned b = pinned_batches[i];
		if (b == 1)
			snprintf(id, sizeof(id), "raw3.pinned");
		else if (b)
			snprintf(id, sizeof(id), "raw3.pinned.b%u", b);
		else
			snprintf(id, sizeof(id), "raw3.pinned.w%u", PIPELINE_DEPTH);
		if (b == 1)
			snprintf(label, sizeof(label), "raw 3-process relay, pinned polling");
		else if (b)
			snprintf(label, sizeof(label), "raw 3-process relay, batch %u, pinned polling", b);
		else
			snprintf(label, sizeof(label), "raw 3-process relay, %u outstanding, pinned polling",
				 PIPELINE_DEPTH);
		r = ipc_row_add(&g.floors, id, label);
		STEP(r->label);
		if (g.usable_cpus >= 3)
			MEASURE(rl_floor_ring3(&pp, b ? b : 1, b ? 0 : PIPELINE_DEPTH, samples, max_samples));
		else
			ipc_row_note(r, ROW_SKIPPED,
				     "skipped: 3 spinning processes need 3 cores, we may use %ld "
				     "(two would share a core and preempt each other for whole time slices)",
				     g.usable_cpus);
	}
#undef STEP
#undef MEASURE
	/* --only validates against floor_ids: a floor missing there could not be selected. */
	for (unsigned i = 0; i < g.floors.n; i++) {
		bool listed = false;
		for (unsigned k = 0; k < sizeof(ipc_floor_ids) / sizeof(ipc_floor_ids[0]); k++)
			listed |= !strcmp(ipc_floor_ids[k], g.floors.rows[i].id);
		if (!listed) {
			fprintf(stderr, "ipc: internal: floor '%s' is not in floor_ids\n", g.floors.rows[i].id);
			g.any_failed = true;
		}
	}
}
