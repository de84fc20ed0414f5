/* SPDX-License-Identifier: MIT */
/*
 * bench/storage, the harness: its configuration, what one system measures
 * in one cell of one round, and the pieces that measure it:
 *   redleaf.c  system (a): stbench -> broker -> nvmedrv, a broker per round
 *   native.c   system (b): the driver library in this process on its own model
 *   linux.c    system (c): io_uring on a file, and fio's io_uring engine on it
 *   report.c   the table, the JSON file and the plot
 */
#ifndef RL_BENCH_STORAGE_H
#define RL_BENCH_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workload.h"

enum st_system {
	ST_SYS_REDLEAF, /* (a) */
	ST_SYS_NATIVE,  /* (b) */
	ST_SYS_URING,   /* (c) */
	ST_SYS_FIO,     /* (c) */
	ST_NSYS,
};

extern const char *const st_sys_name[ST_NSYS];  /* "redleaf", ... (JSON, plot) */
extern const char *const st_sys_label[ST_NSYS]; /* "(a) redleaf", ... (table) */

struct st_config {
	unsigned rounds, ms, gap_ms, blocks;
	int broker_spin_us;      /* the manifest's broker spin_us; -1: the broker's default */
	struct st_cell cells[ST_MAX_CELLS];
	unsigned ncells;
	bool quick, direct, no_fio;
	const char *dir;         /* the file of (c) goes here */
	const char *redleaf, *model, *domain_path, *json_path, *plot_path, *plot_script, *apt_script;
	char data_dir[4096];     /* plot data */
	char file[4096];         /* the file of (c) */
	const char *file_fs;     /* "tmpfs" or "disk (ext4)" ... */
};

/* One system, one cell, one round. */
struct st_result {
	bool ran;                /* measured (else why says why not) */
	char why[200];
	double seconds;          /* timed window */
	uint64_t ios, batches;   /* I/Os of the cell's size; batch calls (0: not known, fio) */
	double cpu_s;            /* CPU on the driver side (see the docs); < 0: not measured */
	double batch_p50_us, batch_p99_us; /* per batch call; < 0: not measured */
	double io_p50_us, io_p99_us;       /* per I/O; < 0: not measured */
	bool late;               /* (a): the harness sampled CPU after the cell had started */
	double others;           /* share of the machine's CPU time other processes used during the system's round */
};

static inline double st_iops(const struct st_result *r)
{
	return r->seconds > 0 ? (double)r->ios / r->seconds : 0;
}

struct st_lat;

/*
 * A timed cell of a system measured in this process ((b), io_uring): its
 * CPU seconds, its window, the batch latencies from lat; says on stderr
 * what it measured, as "storage:   WHO WORKLOAD qd N: ...".
 */
void st_result_finish(struct st_result *r, double cpu_s, uint64_t window_ns, const struct st_lat *lat,
		      const char *who, const char *workload, unsigned qd);

/* results[(round * ST_NSYS + system) * ncells + cell] */
static inline struct st_result *st_res(struct st_result *all, const struct st_config *c, unsigned round,
				       enum st_system s, unsigned cell)
{
	return &all[((size_t)round * ST_NSYS + s) * c->ncells + cell];
}

/* What each system checked of the data, per round: blocks verified (0: not verified). */
struct st_verify {
	uint64_t blocks[ST_NSYS];
};

/*
 * Each runs every cell of c for one round into res[cell] (ncells entries)
 * and returns 0, or a negative errno with the reason on stderr (then the
 * round's results for that system do not count). *verified gets the number
 * of blocks read back and checked.
 */
int st_redleaf_round(const struct st_config *c, unsigned round, struct st_result *res, uint64_t *verified);
int st_native_round(const struct st_config *c, unsigned round, struct st_result *res, uint64_t *verified);
int st_uring_round(const struct st_config *c, unsigned round, struct st_result *res, uint64_t *verified);
int st_fio_round(const struct st_config *c, unsigned round, struct st_result *res);

/* Fills the file of (c) with every block stamped with generation 0. Returns 0 or a negative errno. */
int st_file_fill(const struct st_config *c);

/* Busy CPU seconds of the whole machine since boot (/proc/stat, steal included), or -1. */
double st_machine_busy(void);

/* CPU seconds (user + system) of this process, every thread, living or ended. */
double st_self_cpu(void);

/* snprintf for paths: a path that does not fit ends the program with a message, never silently cut. */
void st_path(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The path of program name in $PATH into buf: 0, or -ENOENT. */
int st_which(const char *name, char *buf, size_t len);

/* Monotonic clock in nanoseconds. */
uint64_t st_now_ns(void);

/* Summary over rounds. */
struct st_span {
	unsigned n;
	double median, min, max;
};

void st_span(double *v, unsigned n, struct st_span *out);

struct st_summary {
	struct st_span iops, mbps, cpu_ns_per_io, batch_p50, batch_p99, io_p50, io_p99;
	unsigned rounds_ok;
	char why[200]; /* when no round ran */
};

struct st_ratio {
	struct st_span cpu_a_b, iops_a_b, iops_a_uring; /* per round, then over rounds */
};

void st_summarise(const struct st_config *c, struct st_result *all, struct st_summary *sum /* [ST_NSYS][ncells] */,
		  struct st_ratio *ratio /* [ncells] */);

struct st_machine {
	char date[64], uname[256];
	double load_before[3], load_after[3];
	long ncpu;
};

void st_print_table(const struct st_config *c, const struct st_machine *m, struct st_result *all,
		    const struct st_summary *sum, const struct st_ratio *ratio, const struct st_verify *ver);
int st_write_json(const struct st_config *c, const struct st_machine *m, struct st_result *all,
		  const struct st_summary *sum, const struct st_ratio *ratio, const struct st_verify *ver);
/* Returns 0, or a negative errno (-ENOENT: no gnuplot) with the reason on stderr. */
int st_plot(const struct st_config *c, const struct st_summary *sum);

#endif /* RL_BENCH_STORAGE_H */
