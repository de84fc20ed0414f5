/* SPDX-License-Identifier: MIT */
/*
 * One run of the recovery experiment (one system: a mode, with or without
 * crash injection) and what the harness learns from the output of its
 * broker and its bench domain, line by line (runlog.c).
 *
 * Time base: everything is CLOCK_MONOTONIC, which the harness, the broker
 * and the domains share (no time namespaces). recbench logs t0_ns, the
 * start of its timed window, and sample i covers [t0 + i*bucket, t0 +
 * (i+1)*bucket). The broker stamps its log lines with T, milliseconds since
 * its own start (truncated); the harness stamps every line with the
 * CLOCK_MONOTONIC of its arrival. A line is written after the event it
 * reports and arrives after it is written, so for every line
 *     broker_start <= arrival - T
 * and the smallest (arrival - T) over all lines of the run is a tight upper
 * bound of broker_start (its error is one line's pipe latency plus what is
 * left of the millisecond T truncated; over tens of lines, well under a
 * millisecond). A crash logged at T happened at broker_start + T + [0, 1)
 * ms, and before its line arrived: both
 *     arrival(crash line)   and   start_upper + T + 1 ms
 * are upper bounds of its time, and we take the smaller. It is late by the
 * line's pipe latency when the harness was scheduled promptly (tens of
 * microseconds), and by at most a millisecond plus the error of
 * start_upper otherwise. broker_launch_ns (taken before fork) is a hard
 * lower bound of broker_start, kept as a check (alignment_slack_ms).
 */
#ifndef RL_BENCH_RECOVERY_RUN_H
#define RL_BENCH_RECOVERY_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REC_MAX_CRASHES 4096
#define REC_MAX_STALLS 4096
#define REC_MAX_RECOVERIES 4096

struct rec_crash {
	unsigned number;                /* the broker's (#N) */
	uint64_t log_ms;                /* T of the log line, in ms since the broker started */
	unsigned long long arrival_ns;  /* CLOCK_MONOTONIC when its line reached us */
	int64_t t_ns;                   /* aligned (an upper bound): nanoseconds after recbench's t0 */
	bool in_window;                 /* inside recbench's timed window */
	int64_t recovery_ns;            /* the broker's death-seen -> first reply; -1 unknown */
	int64_t stall_ns;               /* the client's call that spans it; -1: no stall recorded */
};

struct rec_stall {
	uint64_t start_ns, latency_ns; /* start relative to t0 */
};

struct rec_stats {
	size_t n;
	double min, p5, median, p95, p99, max, mean;
};

struct rec_run {
	/* what ran */
	const char *mode;   /* "read" or "write" */
	bool crash;         /* crash injection on */
	unsigned batch;     /* blocks per call */
	const char *driver; /* the crashed domain's name: "ramblk" or "nvme" */
	unsigned round;
	unsigned attempts;  /* runs of this system in this round (repeated when disturbed) */
	char log_path[4096];

	/* from the broker's log and our clock */
	unsigned long long launch_ns;      /* before fork */
	unsigned long long start_upper_ns; /* min(arrival - T): broker start, upper bound */
	unsigned nbroker_lines;
	struct rec_crash crashes[REC_MAX_CRASHES];
	unsigned ncrashes;

	/* from recbench */
	bool started, timed_end, ended;
	unsigned long long t0_ns, bucket_ns;
	unsigned long long started_arrival_ns, timed_end_arrival_ns;
	unsigned nbuckets, nfilled;
	uint32_t *buckets;          /* blocks completed per bucket */
	unsigned long long dev_blocks, bsize, ops, verified;
	unsigned long long batch_seen; /* blocks per call, as recbench said */
	long errors;                /* from the END line; -1 when there was none */
	struct rec_stall stalls[REC_MAX_STALLS];
	unsigned nstalls;
	char panic[512];            /* "[recbench] panic: ..." if it panicked */
	char last_error[512];       /* the broker's last line with "error" or "cannot" in it */

	/* from `redleaf ps --json` */
	int64_t recoveries_ns[REC_MAX_RECOVERIES];
	unsigned nrecoveries;
	unsigned restarts;          /* the driver's restarts */
	bool driver_running;        /* its state was "running" (not dying or restarting) */
	bool ps_seen;

	/*
	 * Interference: CPU time the whole machine was busy (/proc/stat) minus
	 * ours (the harness and every descendant it reaped: broker, domains,
	 * CLI commands), over the run. This machine is shared; a run where
	 * others used a lot of CPU is reported as such.
	 */
	double wall_s, busy_s, ours_s, steal_s, foreign_s;
	double foreign_share;      /* foreign_s / (CPUs x wall_s) */
	double settle_busy;        /* busy share of the second before the run (-1: not measured) */

	/* outcome */
	int exit_status;            /* broker's: 0..255, 128+signal, or -errno */
	char failure[512];          /* why the run does not count; empty when it does */

	/* summary (filled by rec_run_summarise) */
	struct rec_stats mbps;      /* over the 10 ms samples, MB/s (10^6 bytes) */
	double mean_mbps;           /* bytes of the window / its length */
	unsigned crashes_in_window;
	struct rec_stats recovery_ms;  /* the broker's, every recovery of the run */
	struct rec_stats stall_ms;     /* the client's, calls spanning an in-window crash */
	double align_slack_ms;         /* start_upper - launch: the alignment's worst case */
};

enum rec_event {
	REC_EV_NONE,
	REC_EV_START,     /* recbench's timed window began */
	REC_EV_TIMED_END, /* ... and ended */
	REC_EV_CRASH,     /* the broker injected a crash */
	REC_EV_END,       /* recbench reported everything */
	REC_EV_PANIC,     /* recbench panicked */
};

/* Allocates r's buckets lazily; zeroes everything else except the "what ran" fields. */
void rec_run_reset(struct rec_run *r);
void rec_run_free(struct rec_run *r);

/* One line of output (no newline), stamped with its arrival. */
enum rec_event rec_run_line(struct rec_run *r, const char *line, unsigned long long arrival_ns);

/*
 * Takes ramblk's restarts and recoveries_ns from a `redleaf ps --json`
 * answer. Returns 0, or -ENOENT when ramblk is not in it.
 */
int rec_run_ps(struct rec_run *r, const char *json);

/* Aligns crash times, matches recoveries and stalls to crashes, computes the summary. */
void rec_run_summarise(struct rec_run *r);

/* Nearest-rank statistics of v[0..n) (sorted in place); all zero when n is 0. */
void rec_stats(double *v, size_t n, struct rec_stats *out);

#endif /* RL_BENCH_RECOVERY_RUN_H */
