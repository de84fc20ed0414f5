/* SPDX-License-Identifier: MIT */
/*
 * What the recovery harness reports from its runs: the table on stdout,
 * the JSON file with every sample, and the plot (data files plus gnuplot).
 */
#ifndef RL_BENCH_RECOVERY_REPORT_H
#define RL_BENCH_RECOVERY_REPORT_H

#include <stdio.h>

#include "run.h"

struct rec_config {
	unsigned seconds, rounds, tail_ms, bucket_ms, blocks, settle_s, max_others_pct;
	const char *every;      /* crash period, as `redleaf crash --every` takes it */
	unsigned batch;         /* blocks per call of the first four systems */
	unsigned nsystems;      /* 4, or 8 with the one-block rows */
	bool standby;           /* the driver keeps a warm standby */
	bool nvme;              /* the driver is nvmedrv on the NVMe model, not ramblk */
	const char *redleaf;    /* path of the redleaf binary */
	const char *domain_path;
	const char *json_path;
	const char *plot_path;  /* NULL: no plot */
	const char *plot_script;
	char data_dir[4096];    /* plot data files */
};

/*
 * The systems of a round, in the order they run: read without and with
 * crashes, write without and with, in batches of c->batch blocks; then,
 * unless --single off, the same four a block per call.
 */
#define REC_MAX_SYSTEMS 8

/* The crash profile: buckets from REC_PROFILE_BEFORE before a crash's bucket to REC_PROFILE_AFTER - 1 after. */
#define REC_PROFILE_BEFORE 10
#define REC_PROFILE_AFTER 50
#define REC_PROFILE_LEN (REC_PROFILE_BEFORE + REC_PROFILE_AFTER)

/* Per system, over every round (and every recovery of every round). */
struct rec_system_summary {
	const char *mode;
	bool crash;
	unsigned batch;
	unsigned runs;
	double mean_mbps_median, mean_mbps_min, mean_mbps_max;       /* per-run means */
	double bucket_median_median, bucket_p5_median, bucket_p95_median; /* per-run bucket stats */
	double ratio_mean_median, ratio_mean_min, ratio_mean_max;    /* crash / no crash, per round (crash rows) */
	double ratio_median_median;                                  /* of bucket medians */
	unsigned crashes_in_window, crashes_total;
	struct rec_stats recovery_ms, stall_ms;
	unsigned stalls_matched;
	double others_share_max;   /* the most CPU other processes took during one of its runs */
	/*
	 * Crash runs: MB/s per bucket around a crash, averaged over every
	 * in-window crash of every round, aligned on the bucket holding the
	 * crash (index REC_PROFILE_BEFORE); level is the mean of the buckets
	 * before it, and loss_ms what the crash and the buckets after it lost
	 * against that level, in milliseconds of throughput.
	 */
	double profile[REC_PROFILE_LEN];
	unsigned profile_n[REC_PROFILE_LEN];
	double profile_level, crash_bucket_share, loss_ms;
};

/* runs[round * c->nsystems + system]. */
void rec_summarise(const struct rec_config *c, struct rec_run *runs, unsigned rounds,
		   struct rec_system_summary out[REC_MAX_SYSTEMS]);

void rec_print_table(FILE *f, const struct rec_config *c, const struct rec_system_summary s[REC_MAX_SYSTEMS]);

/* Returns 0 or a negative errno. */
int rec_write_json(const struct rec_config *c, const struct rec_run *runs, unsigned rounds,
		   const struct rec_system_summary s[REC_MAX_SYSTEMS], const char *uname_text);

/*
 * Writes the plot's data files for round 0 into c->data_dir and runs
 * gnuplot on c->plot_script. Returns 0, or a negative errno (-ENOENT: no
 * gnuplot), with the reason printed to stderr.
 */
int rec_plot(const struct rec_config *c, const struct rec_run *runs);

#endif /* RL_BENCH_RECOVERY_REPORT_H */
