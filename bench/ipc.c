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
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "floors.h"
#include "judge.h"
#include "opts.h"
#include "procs.h"
#include "redleaf/ring.h"
#include "rl_config.h"
#include "samples.h"
#include "share.h"
#include "system_run.h"
#include "tsc.h"

#define MAX_ROWS 40
#define PIPELINE_DEPTH 512
#define MAX_CLIENTS 4
#define MAX_ROUNDS RL_JUDGE_MAX_ROUNDS

/* ---- what we measured ---- */

/*
 * ROW_STARVED: it ran and nothing failed, but its time slots saw no sample
 * (a machine too busy to give it time). Not a failure of function: reported,
 * and judged as not measured, but the exit status does not count it.
 */
enum row_state { ROW_PENDING, ROW_MEASURED, ROW_SKIPPED, ROW_FAILED, ROW_STARVED };

struct row {
	char id[32];
	char label[80];
	enum row_state state;
	char note[200]; /* why skipped or failed */
	struct rl_stats s; /* TSC ticks per call (with --repeat: medians of the rounds' figures) */
	double round_median[MAX_ROUNDS]; /* each round's median (--repeat) */
	unsigned nrounds;
	/*
	 * Time-shared with its floor (share.h): the median over slot pairs of
	 * ours / the floor, and how many pairs; with --repeat the median of
	 * the rounds' and each round's. pairs 0: not time-shared.
	 */
	double paired, round_paired[MAX_ROUNDS];
	unsigned pairs, npaired;
};

struct table {
	struct row rows[MAX_ROWS];
	unsigned n;
};

struct scaling {
	unsigned clients;
	unsigned threads; /* the broker's proxy threads */
	bool ok, skipped;
	char note[200];
	double calls_per_s;
	double per_client[MAX_CLIENTS];
	bool late;
	double window_s;
};

struct system_record {
	char what[32];
	char waiting[96]; /* how the broker said it waits ("spin 5 us by yielding then sleep") */
	char command[2048];
	char *manifest;
	int status;
};

static struct {
	/* options */
	unsigned iterations, warmup, spin_us, repeat;
	unsigned slot_ms; /* time-sharing slot (share.h); 0: floors and ours one after the other */
	bool quick, check, placed;
	const char *only; /* --only: comma-separated selection, NULL = everything */
	char json_path[PATH_MAX];
	/* paths */
	char exe_dir[PATH_MAX], redleaf[PATH_MAX], domain_path[2 * PATH_MAX + 2];
	char tmpdir[PATH_MAX];
	/* machine */
	double tsc_hz;
	long nproc, usable_cpus;
	int cpu_first, cpu_last; /* lowest and highest CPU we may use (--placed) */
	int cpu_list[4];         /* the first four CPUs we may use (pinned polling), -1 = none */
	char cpu_model[128], kernel[256], date[64], command[4096];
	double busy_before, busy_after; /* CPU share used by others while we slept; -1 unknown */
	double others_floors, others_ours, others_scaling; /* same, while we measured */
	/* Cache-line round trips between cpu_first and cpu_last: per round, before floors, before ours, after. */
	double line_rt[MAX_ROUNDS][3];
	/* results */
	struct table floors, ours;
	struct table pinned; /* our rows under pinned polling (one core per process) */
	struct scaling scale[9]; /* clients 1, 2, 4 x proxy threads 1, 2, 4 */
	unsigned nscale;
	struct system_record systems[MAX_ROUNDS + 6];
	unsigned nsystems;
	bool any_failed;
	bool any_starved; /* rows that got no time: reported, not a failure */
} g;

static struct row *row_add(struct table *t, const char *id, const char *label)
{
	struct row *r = &t->rows[t->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->label, sizeof(r->label), "%s", label);
	return r;
}

static struct row *row_find(struct table *t, const char *id)
{
	for (unsigned i = 0; i < t->n; i++)
		if (!strcmp(t->rows[i].id, id))
			return &t->rows[i];
	return NULL;
}

/*
 * --only: an item selects a row id equal to it or starting with it and a
 * dot ("raw3" selects raw3.b1 ... raw3.pinned); "floors", "ours" and
 * "scaling" select a whole part; "ours.ID" selects one of our rows.
 */
static bool item_matches(const char *item, size_t len, const char *id)
{
	size_t n = strlen(id);
	return (len == n && !strncmp(item, id, n)) || (len < n && !strncmp(item, id, len) && id[len] == '.');
}

static bool selected(const char *part, const char *id)
{
	char full[64];

	if (!g.only)
		return true;
	snprintf(full, sizeof(full), "%s.%s", part, id);
	for (const char *p = g.only; *p;) {
		size_t len = strcspn(p, ",");
		if (item_matches(p, len, part) || item_matches(p, len, full) ||
		    (!strcmp(part, "floors") && item_matches(p, len, id)))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

static void row_note(struct row *r, enum row_state st, const char *fmt, ...)
{
	va_list ap;

	r->state = st;
	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
	if (st == ROW_FAILED)
		g.any_failed = true;
	if (st == ROW_STARVED)
		g.any_starved = true;
}

static double ns(double ticks)
{
	return ticks * 1e9 / g.tsc_hz;
}

static bool measured(const struct row *r)
{
	return r && r->state == ROW_MEASURED;
}

/* ---- floors ---- */

static double *samples;
static size_t max_samples;

typedef int (*floor_fn)(const struct rl_floor_params *, unsigned, double *, size_t);

static void floor_done(struct row *r, int n)
{
	if (n <= 0) {
		row_note(r, ROW_FAILED, "measurement failed: %s", strerror(n ? -n : ENODATA));
		return;
	}
	rl_stats_compute(samples, (size_t)n, &r->s);
	r->state = ROW_MEASURED;
}

static void progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ipc: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The rows time-shared with their floors (share.h): ours in the odd slots
 * of a phase, the relay floor in the even ones, both at once in a run.
 */
static const struct shared_pair {
	const char *ours, *floor;
	unsigned batch;
} shared_pairs[] = { { "null", "raw3.b1", 1 }, { "batch.32", "raw3.b32", 32 }, { "batch.128", "raw3.b128", 128 } };
#define NPAIRS (sizeof(shared_pairs) / sizeof(shared_pairs[0]))

static bool pair_shared(const struct shared_pair *sp)
{
	return g.slot_ms && selected("ours", sp->ours) && selected("floors", sp->floor);
}

/* The time-shared pair whose floor is id, or NULL. */
static const struct shared_pair *shared_floor(const char *id)
{
	for (unsigned i = 0; i < NPAIRS; i++)
		if (!strcmp(shared_pairs[i].floor, id) && pair_shared(&shared_pairs[i]))
			return &shared_pairs[i];
	return NULL;
}

/* Every floor's row id (--only checks its items against these). */
static const char *const floor_ids[] = {
	"indirect", "raw2.b1", "raw2.b8", "raw2.b32", "raw2.b128", "raw3.b1", "raw3.b8", "raw3.b32",
	"raw3.b128", "raw3.w512", "futex", "pipe", "unix", "raw2.pinned", "raw2.pinned.b32", "raw3.pinned",
	"raw3.pinned.b32", "raw3.pinned.b128", "raw3.pinned.w512",
};

/*
 * The floors' processes: with relay, caller-relay-callee, else a caller and
 * one partner. --placed: the relay (or the two-process partner) alone on
 * the last CPU, caller and callee together on the first -- the placement
 * the broker would get with its proxy thread on a CPU of its own.
 */
static struct rl_floor_params floor_params(bool relay)
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

static void run_floors(void)
{
	struct rl_floor_params p = floor_params(false), p3 = floor_params(true);
	static const unsigned batches[] = { 1, 8, 32, 128 };
	unsigned step = 0, total = 0;
	for (unsigned k = 0; k < sizeof(floor_ids) / sizeof(floor_ids[0]); k++)
		total += selected("floors", floor_ids[k]);
	struct row *r;
	char id[32], label[80];

	/* Each floor: a row, a progress line, and the measurement unless --only leaves it out. */
#define STEP(lbl)                                                               \
	do {                                                                    \
		if (selected("floors", r->id))                                  \
			progress("floor %2u/%u: %s", ++step, total, lbl);       \
	} while (0)
#define MEASURE(call)                                                \
	do {                                                         \
		if (!selected("floors", r->id))                      \
			row_note(r, ROW_SKIPPED, "not run (--only)"); \
		else                                                 \
			floor_done(r, call);                         \
	} while (0)
	r = row_add(&g.floors, "indirect", "indirect call (volatile function pointer)");
	STEP(r->label);
	MEASURE(rl_floor_indirect(&p, samples, max_samples));

	for (unsigned i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "raw2.b%u", batches[i]);
		snprintf(label, sizeof(label), batches[i] == 1 ? "raw 2-process ring ping-pong" :
			 "raw 2-process ring, batch %u, per call", batches[i]);
		r = row_add(&g.floors, id, label);
		STEP(r->label);
		MEASURE(rl_floor_ring2(&p, batches[i], samples, max_samples));
	}
	for (unsigned i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "raw3.b%u", batches[i]);
		snprintf(label, sizeof(label), batches[i] == 1 ? "raw 3-process relay (caller-relay-callee)" :
			 "raw 3-process relay, batch %u, per call", batches[i]);
		r = row_add(&g.floors, id, label);
		if (shared_floor(id)) {
			if (selected("floors", r->id))
				progress("floor %2u/%u: %s: time-shared with ours, later", ++step, total, r->label);
			continue;
		}
		STEP(r->label);
		MEASURE(rl_floor_ring3(&p3, batches[i], 0, samples, max_samples));
	}
	snprintf(id, sizeof(id), "raw3.w%u", PIPELINE_DEPTH);
	snprintf(label, sizeof(label), "raw 3-process relay, %u outstanding, per call", PIPELINE_DEPTH);
	r = row_add(&g.floors, id, label);
	STEP(r->label);
	MEASURE(rl_floor_ring3(&p3, 1, PIPELINE_DEPTH, samples, max_samples));

	r = row_add(&g.floors, "futex", "futex ping-pong (always sleeping)");
	STEP(r->label);
	MEASURE(rl_floor_futex(&p, samples, max_samples));
	r = row_add(&g.floors, "pipe", "pipe ping-pong (64 bytes)");
	STEP(r->label);
	MEASURE(rl_floor_pipe(&p, samples, max_samples));
	r = row_add(&g.floors, "unix", "Unix stream socket ping-pong (64 bytes)");
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
	r = row_add(&g.floors, "raw2.pinned", "raw 2-process ring ping-pong, pinned polling");
	STEP(r->label);
	if (g.usable_cpus >= 2)
		MEASURE(rl_floor_ring2(&pp, 1, samples, max_samples));
	else
		row_note(r, ROW_SKIPPED, "skipped: 2 spinning processes need 2 cores, we may use %ld",
			 g.usable_cpus);
	r = row_add(&g.floors, "raw2.pinned.b32", "raw 2-process ring, batch 32, pinned polling");
	STEP(r->label);
	if (g.usable_cpus >= 2)
		MEASURE(rl_floor_ring2(&pp, 32, samples, max_samples));
	else
		row_note(r, ROW_SKIPPED, "skipped: 2 spinning processes need 2 cores, we may use %ld",
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
		r = row_add(&g.floors, id, label);
		STEP(r->label);
		if (g.usable_cpus >= 3)
			MEASURE(rl_floor_ring3(&pp, b ? b : 1, b ? 0 : PIPELINE_DEPTH, samples, max_samples));
		else
			row_note(r, ROW_SKIPPED,
				 "skipped: 3 spinning processes need 3 cores, we may use %ld "
				 "(two would share a core and preempt each other for whole time slices)",
				 g.usable_cpus);
	}
#undef STEP
#undef MEASURE
	/* --only validates against floor_ids: a floor missing there could not be selected. */
	for (unsigned i = 0; i < g.floors.n; i++) {
		bool listed = false;
		for (unsigned k = 0; k < sizeof(floor_ids) / sizeof(floor_ids[0]); k++)
			listed |= !strcmp(floor_ids[k], g.floors.rows[i].id);
		if (!listed) {
			fprintf(stderr, "ipc: internal: floor '%s' is not in floor_ids\n", g.floors.rows[i].id);
			g.any_failed = true;
		}
	}
}

/* ---- our calls, under the broker ---- */

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

/*
 * Scheduling weights in the latency system with --placed (the domains on
 * one CPU, the broker on another; pinned polling gives everyone a core and
 * needs none): a shadow runs twice per call (the call on its way in, the
 * reply on its way out), so where it shares a CPU with its caller and
 * callee it gets twice their weight (nice 3 apart: 1991 or 1024 against
 * 1024 or 526). Lowering nice needs root; without it the others are raised
 * instead. Unplaced, the broker shares the domains' CPUs and the same
 * weights make a shadowed call slower (docs/performance.md, item 12).
 */
struct weights {
	const char *shadow, *other; /* manifest lines for tshadow, and for ipcbench and callee */
	const char *text;
};

static struct weights latency_weights(void)
{
	if (!g.placed)
		return (struct weights){ "", "", "all at the broker's nice value (not --placed)" };
	if (geteuid() == 0)
		return (struct weights){ "    nice: -3\n", "",
					 "tshadow at nice -3, ipcbench and callee at 0 (a shadow runs twice per call)" };
	return (struct weights){ "", "    nice: 3\n",
				 "ipcbench and callee at nice 3, tshadow at 0 (a shadow runs twice per call)" };
}

/* Pinned polling: the CPU of every process of the latency system; shadow -1 = no shadow. */
struct pin_plan {
	int client, callee, broker, shadow;
};

static char *manifest_text(unsigned nclients, const char *client_args, const struct pin_plan *pin,
			   unsigned threads)
{
	size_t cap = 4096;
	char *t = malloc(cap);
	int n;
	char cpu[4][24] = { "", "", "", "" }; /* client, callee, shadow lines; broker keys */
	bool latency = nclients == 1 && !strstr(client_args, "--throughput");
	bool shadow = latency && (!pin || pin->shadow >= 0);
	/* The shadow's scheduling weight where it shares a CPU (not with pinned polling). */
	struct weights w = shadow && !pin ? latency_weights() : (struct weights){ "", "", "" };

	if (!t)
		return NULL;
	if (threads > 1)
		snprintf(cpu[3], sizeof(cpu[3]), ", threads: %u", threads);
	if (pin) {
		snprintf(cpu[0], sizeof(cpu[0]), "    cpu: %d\n", pin->client);
		snprintf(cpu[1], sizeof(cpu[1]), "    cpu: %d\n", pin->callee);
		snprintf(cpu[2], sizeof(cpu[2]), "    cpu: %d\n", pin->shadow);
		snprintf(cpu[3], sizeof(cpu[3]), ", poll: true, cpu: %d", pin->broker);
	}
	n = snprintf(t, cap,
		     "# Generated by bench/ipc (see bench/ipc.yaml for the hand-run version).\n"
		     "system: ipcbench\n"
		     "heap: {size: 64M}\n"
		     "broker: {spin_us: %u%s}\n"
		     "domains:\n"
		     "  - name: callee\n"
		     "    binary: callee\n"
		     "    exports: [Test]\n%s%s",
		     g.spin_us, cpu[3], cpu[1], w.other);
	if (shadow) /* a shadow of the callee, for the "via shadow" rows */
		n += snprintf(t + n, cap - (size_t)n,
			      "  - name: tshadow\n"
			      "    binary: shadow\n"
			      "    exports: [Test]\n"
			      "    imports:\n"
			      "      - {name: target, iface: Test, from: callee}\n%s%s",
			      cpu[2], w.shadow);
	for (unsigned c = 1; c <= nclients; c++) {
		char name[32];
		if (latency)
			snprintf(name, sizeof(name), "ipcbench");
		else
			snprintf(name, sizeof(name), "client%u", c);
		n += snprintf(t + n, cap - (size_t)n,
			      "  - name: %s\n"
			      "    binary: ipcbench\n"
			      "    args: [%s]\n%s%s"
			      "    imports:\n"
			      "      - {name: test, iface: Test, from: callee}\n%s",
			      name, client_args, cpu[0], w.other,
			      shadow ? "      - {name: shadow, iface: Test, from: tshadow}\n" : "");
	}
	return t;
}

/* Runs one generated system; the record keeps command, manifest and status for the JSON. */
static int run_system(const char *what, const char *manifest, unsigned ndomains, const char *until,
		      int timeout_ms, bool place, struct rl_system_run *run)
{
	char path[PATH_MAX + 64], sock[PATH_MAX + 8];
	struct system_record *rec = &g.systems[g.nsystems++];

	snprintf(path, sizeof(path), "%s/%s.yaml", g.tmpdir, what);
	snprintf(sock, sizeof(sock), "%s/s", g.tmpdir);
	rl_procs_remove_at_exit(path, 0);
	snprintf(rec->what, sizeof(rec->what), "%s", what);
	rec->manifest = strdup(manifest);
	rec->status = -EIO;
	int ret = write_file(path, manifest);
	if (ret)
		return ret;
	memset(run, 0, sizeof(*run));
	run->redleaf = g.redleaf;
	run->domain_path = g.domain_path;
	run->manifest = path;
	run->until = until;
	run->socket = sock;
	run->timeout_ms = timeout_ms;
	run->label = what;
	run->domains_cpu = run->broker_cpu = -1;
	if (place) {
		run->domains_cpu = g.cpu_first;
		run->broker_cpu = g.cpu_last;
		run->expect_domains = ndomains;
	}
	ret = rl_system_run(run);
	snprintf(rec->command, sizeof(rec->command), "%s", run->command);
	rec->status = ret ? ret : run->status;
	if (!ret && place && run->placed != 1) {
		fprintf(stderr, "ipc: %s: could not place the processes: %s\n", what,
			strerror(run->placed ? -run->placed : EINVAL));
		rec->status = run->status ? run->status : -EINVAL;
		ret = -EADDRNOTAVAIL;
	}
	const char *w = run->log ? strstr(run->log, "waiting: ") : NULL;
	if (w) {
		w += strlen("waiting: ");
		size_t len = strcspn(w, ",\n");
		snprintf(rec->waiting, sizeof(rec->waiting), "%.*s", (int)len, w);
	} else {
		snprintf(rec->waiting, sizeof(rec->waiting), "unknown (the broker did not say)");
	}
	unlink(path);
	return ret;
}

static void log_tail(const struct rl_system_run *run)
{
	if (!run->log)
		return;
	const char *start = run->log;
	if (run->loglen > 3000)
		start = run->log + run->loglen - 3000;
	fprintf(stderr, "ipc: --- last lines of the system's log ---\n%s\nipc: ---\n", start);
}

static const struct {
	const char *id;    /* row id: op or op.batch */
	const char *label;
} our_ops[] = {
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

struct our_line {
	const char *label;
	const char *id;    /* our row */
	int paper;         /* paper cycles, 0 = none */
	const char *floor; /* floor row id; "ours:ID" / "pinned:ID": one of our own rows; NULL = none */
};

static const struct our_line table_lines[] = {
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
static const struct our_line pinned_lines[] = {
	{ "cross-domain null call", "null", 124, "raw3.pinned" },
	{ "passing (moving) one RRef (take)", "take", 141, "pinned:null" },
	{ "via shadow", "shadow_null", 279, "pinned:null" },
	{ "batch 32, per call", "batch.32", 0, "raw3.pinned.b32" },
	{ "batch 128, per call", "batch.128", 0, "raw3.pinned.b128" },
	{ "512 outstanding, per call", "pipeline.512", 0, "raw3.pinned.w512" },
};

/* The rows measured again under pinned polling. */
static bool pinned_row(const char *id)
{
	for (unsigned i = 0; i < sizeof(pinned_lines) / sizeof(pinned_lines[0]); i++)
		if (!strcmp(pinned_lines[i].id, id))
			return true;
	return false;
}

/*
 * Runs the latency system once and fills t with our rows (part "ours"), or
 * with pin, the pinned-polling subset (part "pinned"): broker: {poll: true}
 * and every process on a core of its own, so nobody ever sleeps or yields.
 */
/* The row id a BENCH line reports ("null", "batch.32", ...); false when it has no op. */
static bool bench_line_id(const char *json, char *id, size_t len)
{
	char op[32];
	double batch = 0;

	if (rl_json_string(json, "op", op, sizeof(op)))
		return false;
	rl_json_number(json, "batch", &batch);
	if (batch > 0)
		snprintf(id, len, "%s.%u", op, (unsigned)batch);
	else
		snprintf(id, len, "%s", op);
	return true;
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
		const struct shared_pair *sp = &shared_pairs[i];
		if (!pair_shared(sp))
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
		fs->params = floor_params(true);
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
			row_note(row_find(&g.floors, sched.pair[i]->floor), ROW_FAILED,
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
		struct row *f = row_find(&g.floors, sched.pair[i]->floor);
		struct row *o = row_find(t, sched.pair[i]->ours);
		int n = fs->ph[i].n;
		if (!fs->rc && !n) {
			row_note(f, ROW_STARVED, "not measured: the time-shared relay completed no call in its slots "
				 "(a busy machine)");
			continue;
		}
		if (fs->rc || n <= 0) {
			int err = fs->rc ? fs->rc : n ? n : -ENODATA;
			row_note(f, ROW_FAILED, "time-shared relay: %s%s", strerror(-err),
				 WIFEXITED(status) && !WEXITSTATUS(status) ? "" : " (its process did not end cleanly)");
			continue;
		}
		static struct rl_slot_median floor_slots[MAX_SLOT_MEDIANS];
		size_t nf = rl_share_slot_medians(fs->samples[i], fs->slots[i], (size_t)n, floor_slots,
						  MAX_SLOT_MEDIANS);
		rl_stats_compute(fs->samples[i], (size_t)n, &f->s);
		f->state = ROW_MEASURED;
		if (!measured(o))
			continue;
		o->paired = rl_share_paired(sched.ours[i], sched.nours[i], floor_slots, nf, &o->pairs);
		if (!o->pairs)
			row_note(o, ROW_STARVED, "not measured: time-shared with %s, but no slot pair has %u samples "
				 "on both sides (a busy machine)", f->id, RL_SHARE_MIN_SAMPLES);
	}
	munmap(fs, sizeof(*fs));
	sched.fs = NULL;
}

static void run_latency(struct table *t, const char *part, const struct pin_plan *pin)
{
	char args[1024];
	struct rl_system_run run;

	char only[256] = "";
	bool any = false;
	for (unsigned i = 0; i < sizeof(our_ops) / sizeof(our_ops[0]); i++) {
		if (pin && !pinned_row(our_ops[i].id))
			continue;
		struct row *r = row_add(t, our_ops[i].id, our_ops[i].label);
		if (!selected(part, r->id)) {
			row_note(r, ROW_SKIPPED, "not run (--only)");
			continue;
		}
		if (pin && pin->shadow < 0 && !strncmp(r->id, "shadow", 6)) {
			row_note(r, ROW_SKIPPED, "skipped: the shadow is a 4th spinning process, we may use %ld cores",
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
	char *m = manifest_text(1, args, pin, 1);
	if (!m) {
		for (unsigned i = 0; i < t->n; i++)
			if (t->rows[i].state != ROW_SKIPPED)
				row_note(&t->rows[i], ROW_FAILED, "out of memory");
		for (unsigned i = 0; i < sched.n; i++)
			row_note(row_find(&g.floors, sched.pair[i]->floor), ROW_FAILED, "out of memory");
		sched.n = 0;
		return;
	}
	unsigned ndomains = pin && pin->shadow < 0 ? 2 : 3;
	if (pin)
		progress("ours, pinned polling: ipcbench on CPU %d, callee on %d, broker on %d%s (%u iterations per row)",
			 pin->client, pin->callee, pin->broker, pin->shadow >= 0 ? ", shadow on the next" : "",
			 g.iterations);
	else
		progress("ours: starting the broker with callee and ipcbench (%u iterations per row)", g.iterations);
	share_floor_start();
	int timeout_ms = 60000 + (int)g.iterations * 4;
	if (sched.n)
		timeout_ms += (int)((share_plan_end_ns() - rl_share_now_ns()) / 1000000);
	int ret = run_system(pin ? "pinned" : "latency", m, ndomains, "ipcbench", timeout_ms, g.placed && !pin, &run);
	free(m);
	if (ret) {
		for (unsigned i = 0; i < t->n; i++)
			if (t->rows[i].state != ROW_SKIPPED)
				row_note(&t->rows[i], ROW_FAILED, "cannot run the system: %s", strerror(-ret));
		share_finish(t);
		rl_system_run_free(&run);
		return;
	}
	for (size_t i = 0; i < run.nlines; i++) {
		const char *j = run.lines[i].json;
		char id[48];
		double v;
		if (!bench_line_id(j, id, sizeof(id)))
			continue;
		if (!strcmp(id, "slot")) {
			share_line(j);
			continue;
		}
		struct row *r = row_find(t, id);
		if (!r)
			continue;
		if (!rl_json_number(j, "error", &v)) {
			row_note(r, ROW_FAILED, "the call failed: %s", strerror((int)-v));
			continue;
		}
		if (!rl_json_number(j, "n", &v) && !v) {
			row_note(r, ROW_STARVED, "not measured: no call completed in this row's time slots (a busy machine)");
			continue;
		}
		if (rl_json_number(j, "median", &r->s.median) || rl_json_number(j, "p99", &r->s.p99) ||
		    rl_json_number(j, "min", &r->s.min) || rl_json_number(j, "n", &v)) {
			row_note(r, ROW_FAILED, "unreadable result line: %s", j);
			continue;
		}
		r->s.n = (size_t)v;
		rl_json_number(j, "mean", &r->s.mean);
		rl_json_number(j, "max", &r->s.max);
		r->state = ROW_MEASURED;
	}
	share_finish(t);
	bool missing = false;
	for (unsigned i = 0; i < t->n; i++) {
		struct row *r = &t->rows[i];
		if (r->state == ROW_PENDING) {
			row_note(r, ROW_FAILED, "no result (system exit status %d)", run.status);
			missing = true;
		}
	}
	if (missing || run.status) {
		fprintf(stderr, "ipc: %s: the system ended with status %d%s\n", part, run.status,
			missing ? " and rows are missing" : "");
		log_tail(&run);
		if (run.status && !missing)
			g.any_failed = true;
	}
	rl_system_run_free(&run);
}

/* ---- broker load ---- */

/*
 * How much of a pipelined row is the broker's own work: the row again, in a
 * system of its own, and the proxy thread's account when the system ends
 * ("proxy thread: N messages, busy X ms of Y s"). Every call is two messages
 * (the call, its reply); start-up and warm-up change the busy time per
 * message by well under a percent.
 */
struct load {
	const char *id; /* one of our rows */
	enum row_state state;
	char note[200];
	double row_ticks;     /* the row's median in this system, ticks per call */
	double msg_ticks;     /* the proxy thread's busy ticks per message */
};

static struct load loads[] = { { .id = "batch.128" }, { .id = "pipeline.512" } };
#define NLOADS (sizeof(loads) / sizeof(loads[0]))

static void run_load(struct load *l)
{
	char args[256];
	struct rl_system_run run;

	snprintf(args, sizeof(args), "--iterations, \"%u\", --warmup, \"%u\", --only, \"%s\"%s", g.iterations,
		 g.warmup, l->id, g.placed ? ", --settle-ms, \"300\"" : "");
	char *m = manifest_text(1, args, NULL, 1);
	if (!m) {
		snprintf(l->note, sizeof(l->note), "out of memory");
		l->state = ROW_FAILED;
		return;
	}
	progress("broker load: %s in a system of its own", l->id);
	int ret = run_system("load", m, 3, "ipcbench", 60000 + (int)g.iterations * 4, g.placed, &run);
	free(m);
	l->state = ROW_FAILED;
	if (ret) {
		snprintf(l->note, sizeof(l->note), "cannot run the system: %s", strerror(-ret));
		rl_system_run_free(&run);
		return;
	}
	for (size_t i = 0; i < run.nlines; i++) {
		char id[48];
		if (bench_line_id(run.lines[i].json, id, sizeof(id)) && !strcmp(id, l->id))
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
		log_tail(&run);
		g.any_failed = true;
	}
	rl_system_run_free(&run);
}

static void print_loads(void)
{
	bool any = false;
	for (unsigned i = 0; i < NLOADS; i++)
		any |= loads[i].state != ROW_PENDING;
	if (!any)
		return;
	printf("\nbroker load: the row again in a system of its own; the proxy thread's busy time per\n"
	       "  message, times 2 messages per call, is the broker's work per call. Where it is close to\n"
	       "  the row's own cost, the one proxy thread is what limits the row.\n");
	printf("%-14s | %14s | %18s | %s\n", "row", "ticks per call", "broker per message",
	       "broker per call (share of the row)");
	for (unsigned i = 0; i < NLOADS; i++) {
		const struct load *l = &loads[i];
		if (l->state == ROW_MEASURED)
			printf("%-14s | %14.0f | %18.1f | %.0f (%.0f%%)\n", l->id, l->row_ticks, l->msg_ticks,
			       2 * l->msg_ticks, 100.0 * 2 * l->msg_ticks / l->row_ticks);
		else if (l->state != ROW_PENDING)
			printf("%-14s | %s\n", l->id, l->note);
	}
}

/* ---- scaling ---- */

/*
 * nclients client domains calling one callee through a broker with threads
 * proxy threads. More than one proxy thread is measured only where every
 * spinning process (proxy threads, callee, clients) has a CPU: on fewer,
 * the threads would take each other's time and the row would measure that.
 */
static void run_scaling(unsigned nclients, unsigned threads, struct scaling *sc)
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
	char *m = manifest_text(nclients, args, NULL, threads);
	char what[32];
	snprintf(what, sizeof(what), "clients-%u-threads-%u", nclients, threads);
	progress("scaling: %u client domain(s) calling one callee for %.1f s, %u proxy thread(s)", nclients,
		 sc->window_s, threads);
	/* --placed puts the broker's threads on one CPU: only for the one-thread rows. */
	int ret = m ? run_system(what, m, nclients + 1, until, (int)(lead_ms + window_ms) + 30000,
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
		log_tail(&run);
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

/* ---- rounds (--repeat) ---- */

static struct table round_floors[MAX_ROUNDS], round_ours[MAX_ROUNDS];

/*
 * One figure per row out of all rounds: the median of the rounds' medians
 * (and of their p99s and means), the smallest min and the largest max.
 * Placement by the scheduler (and of the VM's vCPUs by the host) shifts
 * whole rows between runs; the median over rounds is what --check judges.
 */
static void aggregate(struct table *out, const struct table *rounds, unsigned nrounds)
{
	*out = rounds[0];
	for (unsigned i = 0; i < out->n; i++) {
		struct row *r = &out->rows[i];
		double med[MAX_ROUNDS], p99[MAX_ROUNDS], mean[MAX_ROUNDS];
		unsigned k = 0;
		size_t n = 0;
		double lo = 0, hi = 0;
		unsigned pairs = 0;
		for (unsigned j = 0; j < nrounds; j++) {
			const struct row *x = &rounds[j].rows[i];
			if (x->state == ROW_FAILED && r->state != ROW_FAILED) {
				r->state = ROW_FAILED;
				snprintf(r->note, sizeof(r->note), "round %u: %s", j + 1, x->note);
			}
			if (x->state != ROW_MEASURED)
				continue;
			if (!k || x->s.min < lo)
				lo = x->s.min;
			if (!k || x->s.max > hi)
				hi = x->s.max;
			r->round_median[k] = med[k] = x->s.median;
			if (x->pairs) {
				r->round_paired[r->npaired++] = x->paired;
				pairs += x->pairs;
			}
			p99[k] = x->s.p99;
			mean[k] = x->s.mean;
			n += x->s.n;
			k++;
		}
		r->nrounds = k;
		r->pairs = pairs;
		if (r->state == ROW_STARVED && k)
			r->state = ROW_MEASURED; /* measured in the other rounds */
		if (r->state != ROW_MEASURED || !k)
			continue;
		struct rl_stats t;
		if (r->npaired) {
			double v[MAX_ROUNDS];
			memcpy(v, r->round_paired, sizeof(v));
			rl_stats_compute(v, r->npaired, &t);
			r->paired = t.median;
		}
		rl_stats_compute(med, k, &t);
		r->s.median = t.median;
		rl_stats_compute(p99, k, &t);
		r->s.p99 = t.median;
		rl_stats_compute(mean, k, &t);
		r->s.mean = t.median;
		r->s.min = lo;
		r->s.max = hi;
		r->s.n = n;
	}
}

/* "lo-hi" of a row's per-round medians, or "" without --repeat. */
static const char *round_range(const struct row *r, char *buf, size_t len)
{
	double lo = 0, hi = 0;

	buf[0] = 0;
	if (g.repeat < 2 || !measured(r) || !r->nrounds)
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

/* ---- the report ---- */

/* The row a line is compared with: a floor, or ("ours:ID") one of our own rows. */
static const struct row *compare_row(const char *id)
{
	if (!id)
		return NULL;
	if (!strncmp(id, "ours:", 5))
		return row_find(&g.ours, id + 5);
	if (!strncmp(id, "pinned:", 7))
		return row_find(&g.pinned, id + 7);
	return row_find(&g.floors, id);
}

static void print_stats_cells(const struct row *r)
{
	if (measured(r))
		printf(" %10.0f | %10.0f | %9.0f |", r->s.median, r->s.p99, ns(r->s.median));
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
		struct row *r = row_find(t, l->id);
		print_stats_cells(r);
		const struct row *f = compare_row(l->floor);
		char ratio[32] = "-";
		if (measured(r) && r->pairs && l->floor && shared_floor(l->floor)) {
			snprintf(ratio, sizeof(ratio), "%.2f *", r->paired);
			paired = true;
		} else if (measured(r) && measured(f) && f->s.median > 0) {
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

static void print_table(void)
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
	printf("weights: %s\n", latency_weights().text);
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

	if (g.repeat > 1)
		printf("\n%u rounds: medians, p99s and ns are medians over the rounds; 'range' is the\n"
		       "lowest-highest round median\n", g.repeat);
	print_lines(table_lines, sizeof(table_lines) / sizeof(table_lines[0]), &g.ours, g.repeat > 1);
	printf("paper (2.6 GHz Haswell, core cycles): seL4 call/reply 834, VMFUNC call/reply 396\n");

	printf("\nfloors (harness processes, shared memory, no seccomp, no validation)\n");
	printf("%-16s | %-50s | %10s | %10s | %10s | %9s%s\n", "floor", "what", "median", "p99", "min",
	       "median ns", g.repeat > 1 ? " | range" : "");
	for (unsigned i = 0; i < g.floors.n; i++) {
		const struct row *r = &g.floors.rows[i];
		char range[48];
		char id[32];
		snprintf(id, sizeof(id), "%s%s", r->id, shared_floor(r->id) ? " *" : "");
		printf("%-16s | %-50.50s |", id, r->label);
		if (measured(r))
			printf(" %10.1f | %10.1f | %10.1f | %9.1f%s%s\n", r->s.median, r->s.p99, r->s.min,
			       ns(r->s.median), g.repeat > 1 ? " | " : "", round_range(r, range, sizeof(range)));
		else
			printf(" %s\n", r->note);
	}
	for (unsigned i = 0; i < NPAIRS; i++)
		if (pair_shared(&shared_pairs[i])) {
			printf("* time-shared with our rows (in the even slots, ours in the odd ones)\n");
			break;
		}
	if (g.usable_cpus < 3) {
		printf("ours pinned polling: skipped: the call path has 3 spinning processes (caller, broker,\n"
		       "  callee) and we may use %ld CPU(s)\n", g.usable_cpus);
	} else {
		printf("\nours, pinned polling (broker: {poll: true}; nobody sleeps or yields): ipcbench on CPU %d,\n"
		       "  callee on %d, broker's proxy thread on %d", g.cpu_list[0], g.cpu_list[1], g.cpu_list[2]);
		if (g.cpu_list[3] >= 0)
			printf(", shadow on %d", g.cpu_list[3]);
		printf("; one run, not repeated\n");
		print_lines(pinned_lines, sizeof(pinned_lines) / sizeof(pinned_lines[0]), &g.pinned, false);
	}
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

/* ---- targets ---- */

struct check {
	char name[96];
	char rule[96];
	bool evaluated, met;
	bool interleaved; /* judged over every round: both sides ran interleaved in time */
	double value, limit;
	char why[160];
};

static struct check checks[8];
static unsigned nchecks;

/* Whether a row has a figure for every round (round_median[k] is then round k's). */
static bool every_round(const struct row *r)
{
	return measured(r) && r->nrounds == g.repeat;
}

static unsigned judged_mask; /* the rounds in which the CPUs held still (all when none did) */
static bool judged_steady;

/*
 * ours_id / base_id <= factor, per round, then the median over the judged
 * rounds: every round when the two ran interleaved in time, else those in
 * judged_mask.
 */
static void check_ratio(const char *name, const char *ours_id, struct table *bt, const char *base_id,
			double factor, bool interleaved)
{
	unsigned mask = interleaved ? (1u << g.repeat) - 1 : judged_mask;
	struct check *c = &checks[nchecks++];
	struct row *a = row_find(&g.ours, ours_id), *b = row_find(bt, base_id);

	c->interleaved = interleaved;

	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->rule, sizeof(c->rule), "%s <= %.2f x %s", ours_id, factor, base_id);
	if (!measured(a) || !measured(b) || b->s.median <= 0) {
		snprintf(c->why, sizeof(c->why), "not evaluated: a row is missing");
		return;
	}
	if (every_round(a) && every_round(b)) {
		double ratio[MAX_ROUNDS];
		for (unsigned k = 0; k < g.repeat; k++)
			ratio[k] = b->round_median[k] > 0 ? a->round_median[k] / b->round_median[k] : NAN;
		/* Time-shared in every round: each round's ratio is its slot pairs'. */
		if (a->npaired == g.repeat && shared_floor(base_id))
			memcpy(ratio, a->round_paired, sizeof(ratio));
		c->value = rl_judged_median(ratio, g.repeat, mask);
	} else {
		c->value = a->s.median / b->s.median;
	}
	c->evaluated = isfinite(c->value);
	if (!c->evaluated) {
		snprintf(c->why, sizeof(c->why), "not evaluated: a floor measured zero");
		return;
	}
	c->limit = factor;
	c->met = c->value <= factor;
}


static void evaluate_checks(void)
{
	unsigned m = judged_mask = rl_judged_rounds(g.line_rt, g.repeat, g.usable_cpus >= 2, &judged_steady);

	/*
	 * A ratio whose two sides ran interleaved in time (a time-shared floor;
	 * take and via shadow in turns with null) saw the same machine on both
	 * sides, whatever the line probes did: every round counts.
	 */
	check_ratio("null call through the broker vs raw 3-process relay", "null", &g.floors, "raw3.b1", 1.25,
		    shared_floor("raw3.b1"));
	check_ratio("moving one RRef vs null call", "take", &g.ours, "null", 1.10, true);
	check_ratio("null call via a shadow vs direct null call", "shadow_null", &g.ours, "null", 2.3, true);
	check_ratio("batch 32 vs raw 3-process relay batch 32", "batch.32", &g.floors, "raw3.b32", 1.25,
		    shared_floor("raw3.b32"));
	check_ratio("batch 128 vs raw 3-process relay batch 128", "batch.128", &g.floors, "raw3.b128", 1.25,
		    shared_floor("raw3.b128"));
	struct check *c = &checks[nchecks++];
	struct row *p = row_find(&g.ours, "pipeline.512");
	snprintf(c->name, sizeof(c->name), "512 outstanding, per call");
	snprintf(c->rule, sizeof(c->rule), "pipeline.512 < 124 cycles");
	if (measured(p)) {
		c->evaluated = true;
		c->value = every_round(p) ? rl_judged_median(p->round_median, g.repeat, m) : p->s.median;
		c->limit = 124;
		c->met = c->value < 124;
	} else {
		snprintf(c->why, sizeof(c->why), "not evaluated: the row is missing");
	}
}

/*
 * Unplaced, our synchronous rows are bimodal (the broker has a CPU to
 * itself, or shares one with a domain). When this run shows it, say so.
 */
static void placement_hint(void)
{
	static const char *const sync_rows[] = { "null", "add", "take", "peek", "make" };
	double lo = 0, hi = 0;

	if (g.placed || g.usable_cpus < 2)
		return;
	for (unsigned i = 0; i < sizeof(sync_rows) / sizeof(sync_rows[0]); i++) {
		const struct row *r = row_find(&g.ours, sync_rows[i]);
		if (!measured(r))
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

static bool print_checks(void)
{
	bool all = true;

	if (g.repeat == 1)
		printf("\ntargets (this run's figures%s)\n",
		       judged_steady ? "" : "; the CPUs' distance changed during the run, see above");
	else if (!judged_steady)
		printf("\ntargets (per round, then the median over all %u rounds: in none of them did the\n"
		       "  CPUs' distance hold still, see above)\n", g.repeat);
	else {
		printf("\ntargets (per round, then the median over the rounds: every round for a ratio\n"
		       "  whose sides ran interleaved in time [i], else rounds");
		for (unsigned k = 0, n = 0; k < g.repeat; k++)
			if (judged_mask & (1u << k))
				printf("%s%u", n++ ? ", " : " ", k + 1);
		printf(" of %u, those in which the\n  CPUs' distance held still, within %.1fx)\n", g.repeat,
		       RL_JUDGE_STEADY);
	}
	for (unsigned i = 0; i < nchecks; i++) {
		struct check *c = &checks[i];
		if (!c->evaluated) {
			printf("  NOT EVALUATED %s: %s\n", c->name, c->why);
			all = false;
			continue;
		}
		bool ratio = c->limit < 10;
		printf("  %-6s %s: %s%.2f (%s)%s\n", c->met ? "MET" : "MISSED", c->name, ratio ? "ratio " : "",
		       c->value, c->rule, c->interleaved ? " [i]" : "");
		all &= c->met;
	}
	return all;
}

/* ---- JSON ---- */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.3f", v);
	else
		fputs("null", f);
}

static void json_row(FILE *f, const struct row *r, const char *extra_floor, int paper)
{
	static const char *const state[] = { "pending", "measured", "skipped", "failed", "starved" };

	fprintf(f, "{\"id\":");
	json_string(f, r->id);
	fprintf(f, ",\"label\":");
	json_string(f, r->label);
	fprintf(f, ",\"state\":\"%s\"", state[r->state]);
	if (r->state == ROW_MEASURED) {
		fprintf(f, ",\"n\":%zu,\"cycles\":{\"min\":", r->s.n);
		json_num(f, r->s.min);
		fprintf(f, ",\"median\":");
		json_num(f, r->s.median);
		fprintf(f, ",\"p99\":");
		json_num(f, r->s.p99);
		fprintf(f, ",\"mean\":");
		json_num(f, r->s.mean);
		fprintf(f, ",\"max\":");
		json_num(f, r->s.max);
		fprintf(f, "},\"ns\":{\"min\":");
		json_num(f, ns(r->s.min));
		fprintf(f, ",\"median\":");
		json_num(f, ns(r->s.median));
		fprintf(f, ",\"p99\":");
		json_num(f, ns(r->s.p99));
		fprintf(f, ",\"mean\":");
		json_num(f, ns(r->s.mean));
		fprintf(f, ",\"max\":");
		json_num(f, ns(r->s.max));
		fprintf(f, "}");
	} else {
		fprintf(f, ",\"note\":");
		json_string(f, r->note);
	}
	if (r->state == ROW_MEASURED && g.repeat > 1) {
		fprintf(f, ",\"round_medians\":[");
		for (unsigned k = 0; k < r->nrounds; k++) {
			fprintf(f, "%s", k ? "," : "");
			json_num(f, r->round_median[k]);
		}
		fprintf(f, "]");
	}
	const struct shared_pair *sp = shared_floor(r->id);
	if (sp && r->state == ROW_MEASURED)
		fprintf(f, ",\"time_shared_with\":\"ours.%s\"", sp->ours);
	if (paper)
		fprintf(f, ",\"paper_cycles\":%d", paper);
	if (extra_floor) {
		const struct row *fl = compare_row(extra_floor);
		fprintf(f, ",\"floor\":");
		json_string(f, extra_floor);
		if (measured(r) && measured(fl) && fl->s.median > 0) {
			fprintf(f, ",\"ratio_to_floor\":");
			json_num(f, r->s.median / fl->s.median);
		}
		if (measured(r) && r->pairs && shared_floor(extra_floor)) {
			fprintf(f, ",\"paired_ratio\":");
			json_num(f, r->paired);
			fprintf(f, ",\"pairs\":%u,\"round_paired\":[", r->pairs);
			for (unsigned k = 0; k < r->npaired; k++) {
				fprintf(f, "%s", k ? "," : "");
				json_num(f, r->round_paired[k]);
			}
			fprintf(f, "]");
		}
	}
	fprintf(f, "}");
}

static int mkdir_parents(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static int write_json(void)
{
	if (mkdir_parents(g.json_path))
		return -errno;
	FILE *f = fopen(g.json_path, "w");
	if (!f)
		return -errno;
	fprintf(f, "{\"tool\":\"bench/ipc\",\"version\":\"%s\",\"date\":\"%s\",\"command\":", RL_VERSION,
		g.date);
	json_string(f, g.command);
	fprintf(f, ",\n\"machine\":{\"nproc\":%ld,\"cpu_model\":", g.nproc);
	json_string(f, g.cpu_model);
	fprintf(f, ",\"kernel\":");
	json_string(f, g.kernel);
	fprintf(f, ",\"tsc_hz\":%.0f,\"others_busy_before\":", g.tsc_hz);
	json_num(f, g.busy_before);
	fprintf(f, ",\"others_busy_after\":");
	json_num(f, g.busy_after);
	fprintf(f, ",\"others_busy_floors\":");
	json_num(f, g.others_floors);
	fprintf(f, ",\"others_busy_ours\":");
	json_num(f, g.others_ours);
	fprintf(f, ",\"others_busy_scaling\":");
	json_num(f, g.others_scaling);
	fprintf(f, ",\"line_round_trip\":{\"cpus\":[%d,%d],\"per_round\":[", g.cpu_first, g.cpu_last);
	static const char *const when[3] = { "before_floors", "before_ours", "after_ours" };
	for (unsigned k = 0; k < g.repeat; k++) {
		for (unsigned i = 0; i < 3; i++) {
			fprintf(f, "%s\"%s\":", i ? "," : k ? ",{" : "{", when[i]);
			json_num(f, g.line_rt[k][i] < 0 ? NAN : g.line_rt[k][i]); /* not measured: null */
		}
		fprintf(f, "}");
	}
	fprintf(f, "]}},\n");
	fprintf(f, "\"config\":{\"iterations\":%u,\"warmup\":%u,\"repeat\":%u,\"spin_us\":%u,\"slot_ms\":%u,\"quick\":%s,"
		   "\"waiting\":\"spin %u us, then futex; floors spin by %s (2 processes) and %s (3 processes)\","
		   "\"usable_cpus\":%ld,\"pinning\":\"%s\",\"weights\":\"%s\",\"cycles\":\"TSC ticks\"},\n",
		g.iterations, g.warmup, g.repeat, g.spin_us, g.slot_ms, g.quick ? "true" : "false", g.spin_us,
		2 > g.usable_cpus ? "yielding" : "pausing", 3 > g.usable_cpus ? "yielding" : "pausing",
		g.usable_cpus, g.placed ? "placed: broker/relay on the last CPU, domains on the first" : "none",
		latency_weights().text);
	fprintf(f, "\"paper\":{\"clock_ghz\":2.6,\"cross_domain_call\":124,\"rref\":141,\"shadow\":279,"
		   "\"shadow_rref\":297,\"sel4_call_reply\":834,\"vmfunc_call_reply\":396},\n");

	fprintf(f, "\"floors\":[");
	for (unsigned i = 0; i < g.floors.n; i++) {
		fprintf(f, "%s\n ", i ? "," : "");
		json_row(f, &g.floors.rows[i], NULL, 0);
	}
	fprintf(f, "],\n\"ours\":[");
	for (unsigned i = 0; i < sizeof(table_lines) / sizeof(table_lines[0]); i++) {
		const struct our_line *l = &table_lines[i];
		fprintf(f, "%s\n ", i ? "," : "");
		json_row(f, row_find(&g.ours, l->id), l->floor, l->paper);
	}
	fprintf(f, "],\n\"ours_pinned\":");
	if (g.usable_cpus < 3) {
		fprintf(f, "{\"state\":\"skipped\",\"note\":\"3 spinning processes need 3 cores; we may use %ld\"},\n",
			g.usable_cpus);
	} else {
		fprintf(f, "{\"state\":\"run\",\"cpus\":{\"ipcbench\":%d,\"callee\":%d,\"broker\":%d,\"shadow\":%d},"
			   "\"rows\":[", g.cpu_list[0], g.cpu_list[1], g.cpu_list[2], g.cpu_list[3]);
		for (unsigned i = 0; i < sizeof(pinned_lines) / sizeof(pinned_lines[0]); i++) {
			fprintf(f, "%s\n ", i ? "," : "");
			json_row(f, row_find(&g.pinned, pinned_lines[i].id), pinned_lines[i].floor,
				 pinned_lines[i].paper);
		}
		fprintf(f, "]},\n");
	}
	fprintf(f, "\"scaling\":[");
	for (unsigned i = 0; i < g.nscale; i++) {
		const struct scaling *sc = &g.scale[i];
		fprintf(f, "%s\n {\"clients\":%u,\"broker_threads\":%u,\"ok\":%s,\"skipped\":%s,\"window_s\":",
			i ? "," : "", sc->clients, sc->threads, sc->ok ? "true" : "false",
			sc->skipped ? "true" : "false");
		json_num(f, sc->window_s);
		fprintf(f, ",\"calls_per_s\":");
		json_num(f, sc->calls_per_s);
		fprintf(f, ",\"per_client\":[");
		for (unsigned c = 0; c < sc->clients; c++) {
			fprintf(f, "%s", c ? "," : "");
			json_num(f, sc->per_client[c]);
		}
		fprintf(f, "],\"late\":%s,\"note\":", sc->late ? "true" : "false");
		json_string(f, sc->note);
		fprintf(f, "}");
	}
	fprintf(f, "],\n\"checks\":[");
	for (unsigned i = 0; i < nchecks; i++) {
		const struct check *c = &checks[i];
		fprintf(f, "%s\n {\"name\":", i ? "," : "");
		json_string(f, c->name);
		fprintf(f, ",\"rule\":");
		json_string(f, c->rule);
		fprintf(f, ",\"evaluated\":%s,\"met\":%s,\"value\":", c->evaluated ? "true" : "false",
			c->met ? "true" : "false");
		json_num(f, c->evaluated ? c->value : NAN);
		fprintf(f, ",\"limit\":");
		json_num(f, c->evaluated ? c->limit : NAN);
		fprintf(f, ",\"rounds\":\"%s\"}", c->interleaved ? "all (interleaved)" : "judged");
	}
	fprintf(f, "],\n\"checks_rounds\":{\"steady\":%s,\"judged\":[", judged_steady ? "true" : "false");
	for (unsigned k = 0, n = 0; k < g.repeat; k++)
		if (judged_mask & (1u << k))
			fprintf(f, "%s%u", n++ ? "," : "", k + 1);
	fprintf(f, "]},\n\"broker_load\":[");
	bool first = true;
	for (unsigned i = 0; i < NLOADS; i++) {
		const struct load *l = &loads[i];
		if (l->state == ROW_PENDING)
			continue;
		fprintf(f, "%s\n {\"row\":", first ? "" : ",");
		first = false;
		json_string(f, l->id);
		fprintf(f, ",\"measured\":%s", l->state == ROW_MEASURED ? "true" : "false");
		if (l->state == ROW_MEASURED)
			fprintf(f, ",\"ticks_per_call\":%.1f,\"broker_ticks_per_message\":%.1f,"
				   "\"broker_ticks_per_call\":%.1f",
				   l->row_ticks, l->msg_ticks, 2 * l->msg_ticks);
		else {
			fprintf(f, ",\"note\":");
			json_string(f, l->note);
		}
		fprintf(f, "}");
	}
	fprintf(f, "],\n\"systems\":[");
	for (unsigned i = 0; i < g.nsystems; i++) {
		const struct system_record *s = &g.systems[i];
		fprintf(f, "%s\n {\"what\":", i ? "," : "");
		json_string(f, s->what);
		fprintf(f, ",\"status\":%d,\"waiting\":", s->status);
		json_string(f, s->waiting);
		fprintf(f, ",\"command\":");
		json_string(f, s->command);
		fprintf(f, ",\"manifest\":");
		json_string(f, s->manifest);
		fprintf(f, "}");
	}
	fprintf(f, "]}\n");
	return fclose(f) ? -errno : 0;
}

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
			known |= item_matches(p, len, parts[i]);
		for (unsigned i = 0; i < NLOADS; i++) {
			snprintf(full, sizeof(full), "load.%s", loads[i].id);
			known |= item_matches(p, len, full);
		}
		for (unsigned i = 0; i < sizeof(floor_ids) / sizeof(floor_ids[0]); i++)
			known |= item_matches(p, len, floor_ids[i]);
		for (unsigned i = 0; i < sizeof(our_ops) / sizeof(our_ops[0]); i++) {
			snprintf(full, sizeof(full), "ours.%s", our_ops[i].id);
			known |= item_matches(p, len, full);
			snprintf(full, sizeof(full), "pinned.%s", our_ops[i].id);
			known |= pinned_row(our_ops[i].id) && item_matches(p, len, full);
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
		"found in <dir of ipc> and <dir of ipc>/../domains.\n"
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

static int parse_options(int argc, char **argv)
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

static int find_paths(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -errno;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	snprintf(g.exe_dir, sizeof(g.exe_dir), "%s", self);
	if (snprintf(g.redleaf, sizeof(g.redleaf), "%s/../src/redleaf", g.exe_dir) >= (int)sizeof(g.redleaf) ||
	    snprintf(g.domain_path, sizeof(g.domain_path), "%s:%s/../domains", g.exe_dir, g.exe_dir) >=
		    (int)sizeof(g.domain_path))
		return -ENAMETOOLONG;
	if (!g.json_path[0] &&
	    snprintf(g.json_path, sizeof(g.json_path), "%s/results/ipc.json", g.exe_dir) >= (int)sizeof(g.json_path))
		return -ENAMETOOLONG;
	if (access(g.redleaf, X_OK)) {
		fprintf(stderr, "ipc: no redleaf binary at %s: %s\n", g.redleaf, strerror(errno));
		return -ENOENT;
	}
	return 0;
}

/* Total and idle jiffies over all CPUs from /proc/stat; 0 or -errno. */
static int cpu_times(unsigned long long *total, unsigned long long *idle)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return -errno;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
		       &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 5)
		return -EIO;
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += v[i];
	*idle = v[3] + v[4]; /* idle + iowait */
	return 0;
}

/*
 * Share of all CPUs busy over a window in which we only sleep: someone
 * else's load, which inflates every number here (a 2-core machine has no
 * core to spare). -1 when /proc/stat cannot tell.
 */
static double others_busy(void (*during)(void))
{
	unsigned long long t0, i0, t1, i1;

	if (cpu_times(&t0, &i0)) {
		during();
		return -1;
	}
	during();
	if (cpu_times(&t1, &i1) || t1 <= t0)
		return -1;
	return 1.0 - (double)(i1 - i0) / (double)(t1 - t0);
}

/*
 * Other processes' CPU use while we measure: all busy time minus our own
 * and our reaped descendants' (floor partners, brokers and, through them,
 * the domains). Measured per phase, as a share of all CPUs.
 */
struct load_mark {
	unsigned long long total, idle;
	double ours_s;
	bool ok;
};

static double cpu_seconds(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru))
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static struct load_mark load_mark(void)
{
	struct load_mark m = { 0 };

	m.ok = !cpu_times(&m.total, &m.idle);
	m.ours_s = cpu_seconds(RUSAGE_SELF) + cpu_seconds(RUSAGE_CHILDREN);
	return m;
}

static double others_since(const struct load_mark *a)
{
	struct load_mark b = load_mark();
	double hz = (double)sysconf(_SC_CLK_TCK);

	if (!a->ok || !b.ok || b.total <= a->total || hz <= 0)
		return -1;
	double busy = (double)((b.total - a->total) - (b.idle - a->idle));
	double others = (busy - (b.ours_s - a->ours_s) * hz) / (double)(b.total - a->total);
	return others < 0 ? 0 : others;
}

static void calibrate(void)
{
	g.tsc_hz = rl_tsc_calibrate(100000000);
}

/* The distance between the two CPUs --placed uses (the first and last we may use): ticks, or -1. */
static double line_probe(void)
{
	if (g.usable_cpus < 2)
		return -1;
	double rt = rl_line_round_trip(g.cpu_first, g.cpu_last, (uint64_t)g.tsc_hz);
	if (rt < 0) {
		fprintf(stderr, "ipc: cache-line round trip between CPUs %d and %d: %s%s\n", g.cpu_first,
			g.cpu_last, strerror((int)-rt), rt == -ETIMEDOUT ? " (a busy machine)" : "");
		/* A probe the machine gave no time to is not measured; any other error is a failure. */
		if (rt == -ETIMEDOUT)
			g.any_starved = true;
		else
			g.any_failed = true;
		return -1;
	}
	return rt;
}

static void nap_200ms(void)
{
	struct timespec ts = { 0, 200000000 };
	nanosleep(&ts, NULL);
}

static void describe_machine(int argc, char **argv)
{
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	time_t now = time(NULL);

	g.nproc = sysconf(_SC_NPROCESSORS_ONLN);
	/* The broker's count: the CPUs this process may run on. */
	cpu_set_t cpus;
	if (sched_getaffinity(0, sizeof(cpus), &cpus)) {
		CPU_ZERO(&cpus);
		for (long c = 0; c < g.nproc && c < CPU_SETSIZE; c++)
			CPU_SET(c, &cpus);
	}
	g.usable_cpus = CPU_COUNT(&cpus);
	g.cpu_first = g.cpu_list[0] = g.cpu_list[1] = g.cpu_list[2] = g.cpu_list[3] = -1;
	for (int c = 0, k = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &cpus))
			continue;
		if (g.cpu_first < 0)
			g.cpu_first = c;
		g.cpu_last = c;
		if (k < 4)
			g.cpu_list[k++] = c;
	}
	snprintf(g.cpu_model, sizeof(g.cpu_model), "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && colon) {
			colon += 2;
			colon[strcspn(colon, "\n")] = 0;
			snprintf(g.cpu_model, sizeof(g.cpu_model), "%s", colon);
			break;
		}
	}
	if (f)
		fclose(f);
	if (!uname(&u))
		snprintf(g.kernel, sizeof(g.kernel), "%s %s %s", u.sysname, u.release, u.machine);
	strftime(g.date, sizeof(g.date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(g.command);
		snprintf(g.command + l, sizeof(g.command) - l, "%s%s", i ? " " : "", argv[i]);
	}
}

int main(int argc, char **argv)
{
	int ret = parse_options(argc, argv);
	if (ret)
		return ret < 0 ? 0 : ret;
	rl_procs_init();
	if (find_paths())
		return 1;
	describe_machine(argc, argv);
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

	max_samples = (size_t)(g.iterations < 1000 ? 1000 : g.iterations) * 4 + 1024;
	samples = malloc(max_samples * sizeof(double));
	if (!samples) {
		fprintf(stderr, "ipc: out of memory\n");
		rl_procs_cleanup();
		return 1;
	}

	progress("calibrating the TSC against CLOCK_MONOTONIC (100 ms)");
	g.busy_before = others_busy(calibrate);
	if (g.tsc_hz <= 0) {
		fprintf(stderr, "ipc: TSC calibration failed\n");
		rl_procs_cleanup();
		return 1;
	}
	struct load_mark mark;
	for (unsigned round = 0; round < g.repeat; round++) {
		double others;
		if (g.repeat > 1)
			progress("round %u of %u", round + 1, g.repeat);
		memset(&g.floors, 0, sizeof(g.floors));
		memset(&g.ours, 0, sizeof(g.ours));
		g.line_rt[round][0] = line_probe();
		mark = load_mark();
		run_floors();
		others = others_since(&mark);
		if (others > g.others_floors || others < 0)
			g.others_floors = others;
		g.line_rt[round][1] = line_probe();
		mark = load_mark();
		run_latency(&g.ours, "ours", NULL);
		others = others_since(&mark);
		if (others > g.others_ours || others < 0)
			g.others_ours = others;
		g.line_rt[round][2] = line_probe();
		round_floors[round] = g.floors;
		round_ours[round] = g.ours;
	}
	aggregate(&g.floors, round_floors, g.repeat);
	aggregate(&g.ours, round_ours, g.repeat);
	/*
	 * Pinned polling, once (not per round): caller, callee and broker each
	 * spin on a core of their own, the shadow on a fourth. Never with
	 * fewer cores than spinning processes.
	 */
	if (g.usable_cpus >= 3) {
		struct pin_plan plan = { g.cpu_list[0], g.cpu_list[1], g.cpu_list[2], g.cpu_list[3] };
		mark = load_mark();
		run_latency(&g.pinned, "pinned", &plan);
		double others = others_since(&mark);
		if (others > g.others_ours || others < 0)
			g.others_ours = others;
	}
	mark = load_mark();
	static const unsigned counts[] = { 1, 2, 4 }; /* clients, and proxy threads */
	for (unsigned t = 0; t < 3 && selected("scaling", "all"); t++)
		for (unsigned i = 0; i < 3; i++)
			run_scaling(counts[i], counts[t], &g.scale[g.nscale++]);
	g.others_scaling = others_since(&mark);
	for (unsigned i = 0; i < NLOADS; i++)
		if (selected("load", loads[i].id)) {
			mark = load_mark();
			run_load(&loads[i]);
			double others = others_since(&mark);
			if (others > g.others_ours || others < 0)
				g.others_ours = others;
		}

	g.busy_after = others_busy(nap_200ms);

	evaluate_checks();
	print_table();
	print_loads();
	bool all_met = print_checks();
	placement_hint();
	if (g.any_failed)
		printf("\nsome measurements failed: see the notes above and the log on stderr\n");
	if (g.any_starved)
		printf("\nsome rows were not measured: the machine gave them no time (see the notes above);\n"
		       "run again on a quieter machine\n");
	ret = write_json();
	if (ret)
		fprintf(stderr, "ipc: cannot write %s: %s\n", g.json_path, strerror(-ret));
	else
		printf("\nall numbers: %s\n", g.json_path);
	fflush(stdout);
	rl_procs_cleanup();
	for (unsigned i = 0; i < g.nsystems; i++)
		free(g.systems[i].manifest);
	free(samples);
	if (g.any_failed || ret)
		return 1;
	return g.check && !all_met ? 1 : 0;
}
