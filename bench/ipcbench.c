// SPDX-License-Identifier: MIT
/*
 * ipcbench: the bench domain behind bench/ipc. It imports Test ("test")
 * from the callee domain and times real cross-domain calls with rdtsc, from
 * inside a seccomp-confined domain, through the broker, exactly as any
 * domain would make them. Results go out as one line per row,
 *     [name] BENCH {"op":...,"n":...,"min":...,"median":...,"p99":...}
 * through rl_log (stderr is all a domain can write); values are TSC ticks
 * per call. The harness converts them to nanoseconds.
 *
 *   ipcbench [--iterations N] [--warmup N] [--only ID,...] [--settle-ms N]
 *       latency rows: null, add, take (+ alloc), peek, make (+ drop),
 *       shadow_null and shadow_take (when the manifest imports "shadow"),
 *       batch.1/8/32/128, pipeline.512; --only runs the rows named ("batch"
 *       names every batch size); --settle-ms sleeps first (time for the
 *       harness to pin processes)
 *   ipcbench ... --share-clock T0_NS SLOT_NS --share ROW FIRST END ...
 *       time-shared rows (share.h): ROW (null: every synchronous row, or
 *       batch.N) runs in the odd slots of [FIRST, END) only, while the
 *       harness's relay floor runs in the even ones; the slot medians of
 *       null or batch.N go out as lines {"op":"slot","row":ROW,"slot":S,
 *       "n":N,"median":M}. Time-shared rows run first, then the others
 *   ipcbench --throughput --window START_NS END_NS
 *       synchronous null calls back to back; counts the calls that complete
 *       inside [START_NS, END_NS) of CLOCK_MONOTONIC (shared by all
 *       processes), so several clients are measured over the same window
 *
 * What is timed: only the call (stub -> broker -> callee -> broker -> back).
 * Allocating an RRef to move and dropping an RRef that came back are timed
 * separately, as their own rows, because both occasionally make a heap
 * service round trip to the broker (a magazine refill every 32 allocations,
 * a batched free every 64 drops) which is not part of a call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redleaf/domain.h"
#include "redleaf/clock.h"
#include "redleaf_idl.h"
#include "samples.h"
#include "share.h"
#include "tsc.h"

#define MAX_SAMPLES (1u << 20)
#define PIPELINE_DEPTH 512
#define POLL_MAX 256

/* Static: a domain has no business asking the broker for big private memory. */
static double samples[MAX_SAMPLES];

static rl_cap test_cap;
static unsigned iterations = 20000, warmup;
static const char *only; /* comma-separated row ids to run (--only), NULL = all */

/* Time-shared rows (--share): each runs in the odd slots of its phase. */
#define MAX_PHASES 4
struct phase {
	const char *row; /* "null" (all synchronous rows) or "batch.N" */
	unsigned first, end;
};
static uint64_t share_t0, share_slot;
static struct phase phases[MAX_PHASES];
static unsigned nphases;
static uint32_t slots[MAX_SAMPLES]; /* the slot of each sample of the time-shared row being run */
static struct rl_slot_median slot_medians[MAX_SAMPLES / 64];

/* The phase of row id, or NULL when it is not time-shared. */
static const struct phase *phase_of(const char *id)
{
	for (unsigned i = 0; i < nphases; i++)
		if (!strcmp(phases[i].row, id))
			return &phases[i];
	return NULL;
}

/* Slot medians of a time-shared row (before report(), which sorts v whole). */
static void report_slots(const char *row, double *v, size_t n)
{
	size_t k = rl_share_slot_medians(v, slots, n, slot_medians,
					 sizeof(slot_medians) / sizeof(slot_medians[0]));
	for (size_t i = 0; i < k; i++)
		rl_log("BENCH {\"op\":\"slot\",\"batch\":0,\"row\":\"%s\",\"slot\":%u,\"n\":%u,"
		       "\"median\":%.1f}",
		       row, slot_medians[i].slot, slot_medians[i].n, slot_medians[i].median);
}

/* Is row id (e.g. "take", "batch.32") selected? "batch" selects every batch size. */
static int wanted(const char *id)
{
	if (!only)
		return 1;
	size_t n = strlen(id);
	for (const char *p = only; *p;) {
		size_t len = strcspn(p, ",");
		if ((len == n && !strncmp(p, id, n)) || (len < n && !strncmp(p, id, len) && id[len] == '.'))
			return 1;
		p += len + (p[len] == ',');
	}
	return 0;
}

static void report(const char *op, unsigned batch, double *v, size_t n)
{
	struct rl_stats s;

	if (!n) { /* its time slots saw no completed call: a busy machine, not a failure */
		rl_log("BENCH {\"op\":\"%s\",\"batch\":%u,\"n\":0}", op, batch);
		return;
	}
	if (rl_stats_compute(v, n, &s)) {
		rl_log("BENCH {\"op\":\"%s\",\"batch\":%u,\"error\":%d}", op, batch, -ENODATA);
		return;
	}
	rl_log("BENCH {\"op\":\"%s\",\"batch\":%u,\"n\":%zu,\"min\":%.1f,\"median\":%.1f,"
	       "\"p99\":%.1f,\"mean\":%.1f,\"max\":%.1f}",
	       op, batch, s.n, s.min, s.median, s.p99, s.mean, s.max);
}

static void report_error(const char *op, unsigned batch, int err)
{
	rl_log("BENCH {\"op\":\"%s\",\"batch\":%u,\"error\":%d}", op, batch, err);
}

static void progress(const char *op)
{
	rl_log("PROGRESS %s", op);
}

/* ---- synchronous calls ---- */

/*
 * The synchronous rows run interleaved, SYNC_BLOCK calls of each in turn,
 * not one row after the other: this machine changes speed in phases of
 * seconds, and the rows the targets compare (take and via shadow against
 * null) must see the same phases. One call of a row: its ticks in *t, and
 * for take and make the side operation's in *side (the allocation before
 * take, the drop of what make returned), both outside the call's timing.
 */
#define SYNC_BLOCK 500

struct sync_row {
	const char *id, *side_id; /* side_id: the side operation's row, or NULL */
	int (*call)(rl_cap cap, unsigned i, double *t, double *side);
	rl_cap cap;
	int err;
	unsigned n; /* samples taken */
};

static int call_null(rl_cap cap, unsigned i, double *t, double *side)
{
	uint64_t t0 = rl_tsc_begin();
	int rc = Test_null(cap);
	uint64_t t1 = rl_tsc_end();
	*t = (double)(t1 - t0);
	return rc;
}

static int call_add(rl_cap cap, unsigned i, double *t, double *side)
{
	uint64_t v = 0;
	uint64_t t0 = rl_tsc_begin();
	int rc = Test_add(cap, i, 1, &v);
	uint64_t t1 = rl_tsc_end();
	*t = (double)(t1 - t0);
	return rc ? rc : v != (uint64_t)i + 1 ? -EPROTO : 0;
}

/*
 * take(rref<payload>): a fresh object each time (a moved object is gone).
 * The allocation is timed on its own: "alloc" is what rref_payload_new()
 * costs per object when every object leaves (so the magazine refills from
 * the broker every 32), including the zeroing of the 64-byte payload.
 */
static int call_take(rl_cap cap, unsigned i, double *t, double *side)
{
	rref_payload x;
	uint64_t v = 0;
	uint64_t a0 = rl_tsc_begin();
	int rc = rref_payload_new(&x);
	uint64_t a1 = rl_tsc_end();
	if (rc)
		return rc;
	uint64_t t0 = rl_tsc_begin();
	rc = Test_take(cap, x, &v);
	uint64_t t1 = rl_tsc_end();
	*t = (double)(t1 - t0);
	*side = (double)(a1 - a0);
	return rc ? rc : v != 0 ? -EPROTO : 0; /* zeroed payload: its sum is 0 */
}

/* peek lends the same object every time (allocated before the first call, dropped after the last). */
static rref_payload peek_obj;

static int call_peek(rl_cap cap, unsigned i, double *t, double *side)
{
	uint64_t v = 0;
	uint64_t t0 = rl_tsc_begin();
	int rc = Test_peek(cap, peek_obj, &v);
	uint64_t t1 = rl_tsc_end();
	*t = (double)(t1 - t0);
	return rc;
}

/*
 * make(seed) -> rref<payload>: the callee allocates (its own magazine
 * refills are part of the call, as they would be for any callee), the
 * object moves to us, and we drop it outside the timed region. The drop is
 * its own row: the object crossed a boundary, so it goes back to the broker
 * in batches of 64 (one heap service round trip per 64 drops).
 */
static int call_make(rl_cap cap, unsigned i, double *t, double *side)
{
	rref_payload r;
	uint64_t t0 = rl_tsc_begin();
	int rc = Test_make(cap, i, &r);
	uint64_t t1 = rl_tsc_end();
	if (rc)
		return rc;
	uint64_t d0 = rl_tsc_begin();
	rref_payload_drop(r);
	uint64_t d1 = rl_tsc_end();
	*t = (double)(t1 - t0);
	*side = (double)(d1 - d0);
	return 0;
}

enum { MAX_SYNC_ROWS = 7 };

/* Every row's samples, and its side operation's: only the pages a run fills are ever touched. */
static double sync_samples[MAX_SYNC_ROWS][MAX_SAMPLES];
static double sync_side[MAX_SYNC_ROWS][MAX_SAMPLES];

static void bench_sync(rl_cap shadow_cap)
{
	const struct sync_row all[MAX_SYNC_ROWS] = {
		{ "null", NULL, call_null, test_cap, 0, 0 },
		{ "add", NULL, call_add, test_cap, 0, 0 },
		{ "take", "alloc", call_take, test_cap, 0, 0 },
		{ "shadow_null", NULL, call_null, shadow_cap, 0, 0 },
		{ "shadow_take", NULL, call_take, shadow_cap, 0, 0 },
		{ "peek", NULL, call_peek, test_cap, 0, 0 },
		{ "make", "drop", call_make, test_cap, 0, 0 },
	};
	struct sync_row rows[MAX_SYNC_ROWS];
	unsigned n = 0;

	for (unsigned k = 0; k < MAX_SYNC_ROWS; k++) {
		bool want = wanted(all[k].id) || (all[k].side_id && wanted(all[k].side_id));
		if (want && all[k].cap != RL_CAP_INVALID)
			rows[n++] = all[k];
	}
	if (!n)
		return;
	progress("synchronous rows, interleaved");
	bool peeking = false;
	for (unsigned k = 0; k < n; k++)
		if (rows[k].call == call_peek) {
			int rc = rref_payload_new(&peek_obj);
			if (rc)
				rows[k].err = rc;
			peeking = !rc;
		}
	const struct phase *ph = phase_of("null");
	/* The row whose slots are reported when time-shared: the direct null call. */
	unsigned slotted = n;
	for (unsigned k = 0; k < n; k++)
		if (rows[k].call == call_null && rows[k].cap == test_cap)
			slotted = k;
	if (ph) {
		/* Time-shared: turns in our slots until the phase ends; the first slot warms up. */
		struct rl_share sh;
		rl_share_init(&sh, share_t0, share_slot, ph->first, ph->end, 1);
		for (bool more = true; more;) {
			more = false; /* another turn only while some row still works */
			for (unsigned k = 0; k < n; k++)
				more |= !rows[k].err;
			for (unsigned k = 0; k < n && more; k++) {
				struct sync_row *r = &rows[k];
				for (unsigned b = 0; b < SYNC_BLOCK && !r->err; b++) {
					double t = 0, side = 0;
					if (!rl_share_enter(&sh)) {
						more = false;
						break;
					}
					r->err = r->call(r->cap, b, &t, &side);
					if (r->err || !rl_share_keep(&sh) || r->n == MAX_SAMPLES)
						continue;
					if (k == slotted)
						slots[r->n] = (uint32_t)sh.slot;
					sync_samples[k][r->n] = t;
					sync_side[k][r->n++] = side;
				}
			}
		}
	}
	for (unsigned first = 0; !ph && first < warmup + iterations; first += SYNC_BLOCK) {
		unsigned end = first + SYNC_BLOCK < warmup + iterations ? first + SYNC_BLOCK : warmup + iterations;
		for (unsigned k = 0; k < n; k++) {
			struct sync_row *r = &rows[k];
			for (unsigned i = first; i < end && !r->err; i++) {
				double t = 0, side = 0;
				r->err = r->call(r->cap, i, &t, &side);
				if (!r->err && i >= warmup) {
					sync_samples[k][i - warmup] = t;
					sync_side[k][i - warmup] = side;
					r->n = i - warmup + 1;
				}
			}
		}
	}
	if (peeking)
		rref_payload_drop(peek_obj);
	for (unsigned k = 0; k < n; k++) {
		const struct sync_row *r = &rows[k];
		if (r->err) {
			report_error(r->id, 0, r->err);
			if (r->side_id)
				report_error(r->side_id, 0, r->err);
			continue;
		}
		if (ph && k == slotted)
			report_slots(r->id, sync_samples[k], r->n);
		report(r->id, 0, sync_samples[k], r->n);
		if (r->side_id)
			report(r->side_id, 0, sync_side[k], r->n);
	}
}

/* ---- asynchronous calls ---- */

/* Collects exactly n completions; returns 0 or the first failure. */
static int collect(unsigned n)
{
	struct rl_completion c[POLL_MAX];
	int err = 0;

	while (n) {
		int got = rl_call_poll(c, n < POLL_MAX ? n : POLL_MAX, 1);
		if (got < 0)
			return got;
		for (int k = 0; k < got; k++)
			if (c[k].status && !err)
				err = c[k].status;
		n -= (unsigned)got;
	}
	return err;
}

/*
 * Batches of null calls: batch submissions, one flush (one publish and at
 * most one doorbell), then wait until all batch completions are in. One
 * sample per batch: its ticks divided by the batch size.
 */
static int one_batch(unsigned batch, uint64_t *tag, double *ticks)
{
	uint64_t t0 = rl_tsc_begin();
	for (unsigned k = 0; k < batch; k++) {
		int rc = rl_call_submit(test_cap, RL_METHOD_Test_null, NULL, 0, (*tag)++);
		if (rc < 0)
			return rc;
	}
	rl_call_flush();
	int rc = collect(batch);
	uint64_t t1 = rl_tsc_end();
	*ticks = (double)(t1 - t0) / batch;
	return rc;
}

static void bench_batch(unsigned batch, const struct phase *ph)
{
	unsigned nbatches = iterations / batch;
	unsigned nwarm = warmup / batch + 10;
	uint64_t tag = 1;
	double t;
	char id[32];
	int rc;

	if (ph) {
		/* Time-shared: batches in our slots until the phase ends; the first slot warms up. */
		struct rl_share sh;
		size_t n = 0;
		rl_share_init(&sh, share_t0, share_slot, ph->first, ph->end, 1);
		while (n < MAX_SAMPLES && rl_share_enter(&sh)) {
			if ((rc = one_batch(batch, &tag, &t)))
				return report_error("batch", batch, rc);
			if (rl_share_keep(&sh)) {
				slots[n] = (uint32_t)sh.slot;
				samples[n++] = t;
			}
		}
		snprintf(id, sizeof(id), "batch.%u", batch);
		report_slots(id, samples, n);
		report("batch", batch, samples, n);
		return;
	}
	if (nbatches < 200)
		nbatches = 200;
	if (nbatches > MAX_SAMPLES)
		nbatches = MAX_SAMPLES;
	for (unsigned b = 0; b < nwarm + nbatches; b++) {
		if ((rc = one_batch(batch, &tag, &t)))
			return report_error("batch", batch, rc);
		if (b >= nwarm)
			samples[b - nwarm] = t;
	}
	report("batch", batch, samples, nbatches);
}

/*
 * PIPELINE_DEPTH null calls always in flight: every completion is replaced
 * by a new submission, flushed once per poll. One sample per
 * PIPELINE_DEPTH completions: ticks over that stretch divided by its calls.
 */
static void bench_pipeline(void)
{
	struct rl_completion c[POLL_MAX];
	unsigned nsamples = iterations / PIPELINE_DEPTH * 4;
	unsigned nwarm = 8;
	uint64_t total, submitted = 0, completed = 0, mark_at = PIPELINE_DEPTH;
	unsigned s = 0;

	progress("pipeline");
	if (nsamples < 200)
		nsamples = 200;
	if (nsamples > MAX_SAMPLES)
		nsamples = MAX_SAMPLES;
	total = (uint64_t)(nsamples + nwarm + 1) * PIPELINE_DEPTH;
	for (; submitted < PIPELINE_DEPTH; submitted++) {
		int rc = rl_call_submit(test_cap, RL_METHOD_Test_null, NULL, 0, submitted + 1);
		if (rc < 0)
			return report_error("pipeline", PIPELINE_DEPTH, rc);
	}
	rl_call_flush();
	uint64_t mark = rl_tsc_begin();
	while (completed < total) {
		int got = rl_call_poll(c, POLL_MAX, 1);
		if (got < 0)
			return report_error("pipeline", PIPELINE_DEPTH, got);
		for (int k = 0; k < got; k++) {
			if (c[k].status) {
				/* Let the calls still in flight finish before reporting. */
				collect((unsigned)(submitted - completed - (uint64_t)got));
				return report_error("pipeline", PIPELINE_DEPTH, c[k].status);
			}
			if (submitted < total) {
				int rc = rl_call_submit(test_cap, RL_METHOD_Test_null, NULL, 0, ++submitted);
				if (rc < 0)
					return report_error("pipeline", PIPELINE_DEPTH, rc);
			}
		}
		rl_call_flush();
		completed += (uint64_t)got;
		if (completed >= mark_at) {
			uint64_t now = rl_tsc_end();
			/* The first stretches fill the pipeline and warm it: not sampled. */
			if (mark_at > (uint64_t)nwarm * PIPELINE_DEPTH && s < nsamples)
				samples[s++] = (double)(now - mark) / (double)(completed - (mark_at - PIPELINE_DEPTH));
			mark = now;
			mark_at = completed + PIPELINE_DEPTH;
		}
	}
	report("pipeline", PIPELINE_DEPTH, samples, s);
}

/* ---- throughput ---- */

static int throughput(uint64_t start_ns, uint64_t end_ns)
{
	uint64_t calls = 0, before = 0, first = 0;
	int errors = 0;

	for (;;) {
		int rc = Test_null(test_cap);
		uint64_t now = rl_now_ns();
		if (rc)
			errors++;
		if (now < start_ns) {
			before++;
			continue;
		}
		if (now >= end_ns)
			break;
		if (!calls)
			first = now;
		calls++;
	}
	/* late = 1 when this client made no call before the window opened: it was not loaded all along. */
	rl_log("BENCH {\"op\":\"throughput\",\"batch\":0,\"calls\":%llu,\"start\":%llu,\"end\":%llu,"
	       "\"first\":%llu,\"late\":%d,\"errors\":%d}",
	       (unsigned long long)calls, (unsigned long long)start_ns, (unsigned long long)end_ns,
	       (unsigned long long)first, before == 0, errors);
	return errors ? 1 : 0;
}

static unsigned long long number(const char *s, int *bad)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end)
		*bad = 1;
	return v;
}

int rl_domain_main(int argc, char **argv)
{
	int bad = 0, tput = 0;
	unsigned long long start_ns = 0, end_ns = 0, settle_ms = 0;
	int warm_given = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
			iterations = (unsigned)number(argv[++i], &bad);
		} else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) {
			warmup = (unsigned)number(argv[++i], &bad);
			warm_given = 1;
		} else if (!strcmp(argv[i], "--settle-ms") && i + 1 < argc) {
			settle_ms = number(argv[++i], &bad);
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else if (!strcmp(argv[i], "--share-clock") && i + 2 < argc) {
			share_t0 = number(argv[++i], &bad);
			share_slot = number(argv[++i], &bad);
		} else if (!strcmp(argv[i], "--share") && i + 3 < argc && nphases < MAX_PHASES) {
			struct phase *ph = &phases[nphases++];
			ph->row = argv[++i];
			ph->first = (unsigned)number(argv[++i], &bad);
			ph->end = (unsigned)number(argv[++i], &bad);
			bad |= ph->first % 2 || ph->end <= ph->first ||
			       (strcmp(ph->row, "null") && strncmp(ph->row, "batch.", 6));
		} else if (!strcmp(argv[i], "--throughput")) {
			tput = 1;
		} else if (!strcmp(argv[i], "--window") && i + 2 < argc) {
			start_ns = number(argv[++i], &bad);
			end_ns = number(argv[++i], &bad);
		} else {
			rl_log("unknown or incomplete argument '%s'", argv[i]);
			return 2;
		}
	}
	if (bad || !iterations || iterations > MAX_SAMPLES || (tput && end_ns <= start_ns) ||
	    (nphases && !share_slot)) {
		rl_log("bad arguments (iterations 1..%u; --window START_NS END_NS with START < END; "
		       "--share ROW FIRST END: null or batch.N, FIRST even, END > FIRST, with --share-clock T0_NS SLOT_NS)",
		       MAX_SAMPLES);
		return 2;
	}
	if (!warm_given)
		warmup = iterations / 10 < 100 ? 100 : iterations / 10;

	test_cap = rl_cap_lookup("test");
	if (test_cap == RL_CAP_INVALID) {
		rl_log("no import named 'test' in the manifest");
		return 2;
	}
	/* Time for the harness to place the processes (bench/ipc --placed) before anything is timed. */
	if (settle_ms) {
		struct timespec ts = { (time_t)(settle_ms / 1000), (long)(settle_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (tput)
		return throughput(start_ns, end_ns);

	/*
	 * Time-shared rows first, in the harness's schedule; then the others,
	 * after the schedule's last slot, when the floor's processes are gone.
	 */
	rl_cap shadow_cap = rl_cap_lookup("shadow"); /* via shadow too, when the manifest gives one */
	static const unsigned batches[] = { 1, 8, 32, 128 };
	unsigned schedule_end = 0;
	for (unsigned i = 0; i < nphases; i++) {
		if (phases[i].end > schedule_end)
			schedule_end = phases[i].end;
		if (!strcmp(phases[i].row, "null")) {
			bench_sync(shadow_cap);
			continue;
		}
		unsigned b = (unsigned)strtoul(phases[i].row + 6, NULL, 10);
		if (!b || b > 1024 || !wanted(phases[i].row)) {
			rl_log("--share %s: not a batch row this run has", phases[i].row);
			return 2;
		}
		progress(phases[i].row);
		bench_batch(b, &phases[i]);
	}
	if (nphases) {
		uint64_t at = share_t0 + (schedule_end + 1) * share_slot;
		struct timespec ts = { (time_t)(at / 1000000000ull), (long)(at % 1000000000ull) };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	if (!phase_of("null"))
		bench_sync(shadow_cap);
	for (unsigned i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
		char what[32];
		snprintf(what, sizeof(what), "batch.%u", batches[i]);
		if (!wanted(what) || phase_of(what))
			continue;
		progress(what);
		bench_batch(batches[i], NULL);
	}
	if (wanted("pipeline.512"))
		bench_pipeline();
	rl_log("BENCH {\"op\":\"done\",\"batch\":0}");
	return 0;
}
