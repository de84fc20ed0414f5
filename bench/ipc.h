// SPDX-License-Identifier: MIT
/*
 * bench/ipc's private header: the rows and tables it measures, the state
 * of a run (g), and the functions its files call in one another. ipc.c
 * says which file does what.
 */
#ifndef RL_BENCH_IPC_H
#define RL_BENCH_IPC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "floors.h"
#include "judge.h"
#include "samples.h"
#include "system_run.h"

#define MAX_ROWS 40
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

/* The state of a run: its options, the machine and every result (defined in ipc.c). */
struct ipc_state {
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
};

extern struct ipc_state g;

/* ---- rows (ipc_rows.c) ---- */

/* Adds a row to t with an id and a label; the caller makes sure t has room. */
struct row *ipc_row_add(struct table *t, const char *id, const char *label);
/* The row of t with this id, or NULL. */
struct row *ipc_row_find(struct table *t, const char *id);
/* Sets a row's state and why (printf format); a failed or starved row marks the run. */
void ipc_row_note(struct row *r, enum row_state st, const char *fmt, ...);
bool ipc_row_measured(const struct row *r);
/* TSC ticks in nanoseconds (g.tsc_hz). */
double ipc_ticks_ns(double ticks);
/* Whether the first len characters of an --only item select id. */
bool ipc_only_matches(const char *item, size_t len, const char *id);
/* Whether --only selects row id of part ("floors", "ours", "pinned", "scaling", "load"). */
bool ipc_selected(const char *part, const char *id);
/* A progress line on stderr, "ipc: " and a newline around the text. */
void ipc_progress(const char *fmt, ...);

/* One of our rows and the relay floor it runs time-shared with, at its batch. */
struct shared_pair {
	const char *ours, *floor;
	unsigned batch;
};

#define NPAIRS 3
extern const struct shared_pair ipc_shared_pairs[];
/* Whether a pair runs time-shared in this run (--slot-ms, and --only runs both rows). */
bool ipc_pair_shared(const struct shared_pair *sp);
const struct shared_pair *ipc_pair_of_floor(const char *id);

/* ---- floors (ipc_floors.c) ---- */

/* Every floor's row id, for --only. */
extern const char *const ipc_floor_ids[];
extern const unsigned ipc_nfloor_ids;
int ipc_floors_alloc(void);
void ipc_floors_free(void);
struct rl_floor_params ipc_floors_params(bool relay);
/* Measures every floor not time-shared into g.floors. */
void ipc_floors_run(void);

/* ---- systems (ipc_system.c) ---- */

/* The nice values of the latency system's manifest, and a line saying so. */
struct weights {
	const char *shadow, *other; /* manifest lines for tshadow, and for ipcbench and callee */
	const char *text;
};

/* Pinned polling: the CPU of every process of the latency system; shadow -1 = no shadow. */
struct pin_plan {
	int client, callee, broker, shadow;
};

struct weights ipc_system_weights(void);
/* The manifest of a system of ours (malloc'd), or NULL when out of memory. */
char *ipc_system_manifest(unsigned nclients, const char *client_args, const struct pin_plan *pin,
			  unsigned threads);
/* 0 or a negative errno; *run is to be freed with rl_system_run_free() either way. */
int ipc_system_run(const char *what, const char *manifest, unsigned ndomains, const char *until,
		   int timeout_ms, bool place, struct rl_system_run *run);
void ipc_system_log_tail(const struct rl_system_run *run);
bool ipc_system_line_id(const char *json, char *id, size_t len);

/* ---- our rows (ipc_ours.c) ---- */

struct our_op {
	const char *id;    /* row id: op or op.batch */
	const char *label;
};

struct our_line {
	const char *label;
	const char *id;    /* our row */
	int paper;         /* paper cycles, 0 = none */
	const char *floor; /* floor row id; "ours:ID" / "pinned:ID": one of our own rows; NULL = none */
};

extern const struct our_op ipc_our_ops[];
extern const unsigned ipc_nour_ops;
/* The lines of the table, and those under pinned polling. */
extern const struct our_line ipc_table_lines[], ipc_pinned_lines[];
extern const unsigned ipc_ntable_lines, ipc_npinned_lines;
bool ipc_ours_pinned_row(const char *id);
const struct row *ipc_ours_compared_row(const char *id);
/* Runs the latency system into t (part "ours"), or with pin under pinned polling (part "pinned"). */
void ipc_ours_run(struct table *t, const char *part, const struct pin_plan *pin);

/* ---- scaling and broker load (ipc_scaling.c) ---- */

/* A broker-load row: how it is measured is in ipc_scaling.c. */
struct load {
	const char *id; /* one of our rows */
	enum row_state state;
	char note[200];
	double row_ticks;     /* the row's median in this system, ticks per call */
	double msg_ticks;     /* the proxy thread's busy ticks per message */
};

extern struct load ipc_loads[];
extern const unsigned ipc_nloads;
void ipc_load_run(struct load *l);
void ipc_scaling_run(unsigned nclients, unsigned threads, struct scaling *sc);

/* ---- rounds and targets (ipc_checks.c) ---- */

/* One figure per row of out from nrounds tables of the same rows. */
void ipc_rounds_aggregate(struct table *out, const struct table *rounds, unsigned nrounds);

struct check {
	char name[96];
	char rule[96];
	bool evaluated, met;
	bool interleaved; /* judged over every round: both sides ran interleaved in time */
	double value, limit;
	char why[160];
};

extern struct check ipc_checks[];
extern unsigned ipc_nchecks;
extern unsigned ipc_judged_mask;
extern bool ipc_judged_steady;
void ipc_checks_evaluate(void);
/* Prints the targets; true when every one was met. */
bool ipc_checks_print(void);

/* ---- the report (ipc_report.c) and the JSON (ipc_json.c) ---- */

void ipc_report_print(void);
void ipc_report_print_loads(void);
void ipc_report_placement_hint(void);
/* Writes g.json_path: 0 or a negative errno. */
int ipc_json_write(void);

/* ---- options and machine (ipc_options.c, ipc_machine.c) ---- */

/* 0 to run, -1 after --help, else the exit status (2: bad usage). */
int ipc_options_parse(int argc, char **argv);
/* Fills g's paths: 0 or a negative errno (said on stderr where the broker is missing). */
int ipc_machine_paths(void);
void ipc_machine_describe(int argc, char **argv);
double ipc_machine_others_busy(void (*during)(void));

/* CPU time at a point, for ipc_machine_others_since(). */
struct load_mark {
	unsigned long long total, idle;
	double ours_s;
	bool ok;
};

struct load_mark ipc_machine_mark(void);
/* Other processes' share of all CPUs since a mark, or -1 when /proc/stat cannot tell. */
double ipc_machine_others_since(const struct load_mark *a);
double ipc_machine_line_probe(void);

#endif /* RL_BENCH_IPC_H */
