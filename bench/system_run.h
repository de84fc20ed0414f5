/* SPDX-License-Identifier: MIT */
/*
 * Running a whole redleaf system for a benchmark: `redleaf run --until ...
 * --socket DIR/s MANIFEST` as a child, its stderr captured through a pipe.
 * Domains write result lines "[domain] BENCH {json}" and progress lines
 * "[domain] PROGRESS text" there (rl_log); the first are collected, the
 * second echoed to our stderr while the system runs.
 */
#ifndef RL_BENCH_SYSTEM_RUN_H
#define RL_BENCH_SYSTEM_RUN_H

#include <stddef.h>

#define RL_BENCH_JSON_MAX 480
#define RL_BENCH_MAX_DOMAINS 16

struct rl_bench_line {
	char domain[32];
	char json[RL_BENCH_JSON_MAX];
};

struct rl_system_run {
	/* in */
	const char *redleaf;     /* path of the redleaf binary */
	const char *domain_path; /* REDLEAF_DOMAIN_PATH for the broker */
	const char *manifest;
	const char *until;       /* --until list */
	const char *socket;      /* --socket path */
	int timeout_ms;          /* the broker is stopped after this long */
	const char *label;       /* prefix of progress lines */
	/*
	 * Placement (bench/ipc --placed): once expect_domains domains run, pin
	 * every domain to domains_cpu and the broker's threads to broker_cpu.
	 * -1: leave the scheduler alone.
	 */
	int domains_cpu, broker_cpu;
	unsigned expect_domains;
	/* out */
	int placed;              /* 1 done, 0 not asked, negative errno: could not */
	struct rl_bench_line *lines;
	size_t nlines, cap;
	int status;              /* exit code, 128+signal, or -ETIMEDOUT / -errno */
	char *log;               /* everything the broker and its domains wrote to stderr */
	size_t loglen;
	char command[2048];      /* the command line, for the report */
};

/* Runs the system to its end (or the timeout). Returns 0 when it ran, else a negative errno. */
int rl_system_run(struct rl_system_run *r);

void rl_system_run_free(struct rl_system_run *r);

/* The number after "key": in a flat JSON object we wrote ourselves; 0 or -ENOENT. */
int rl_json_number(const char *json, const char *key, double *out);

/* The string after "key": (no escapes: we never write any); 0 or -ENOENT. */
int rl_json_string(const char *json, const char *key, char *out, size_t len);

#endif /* RL_BENCH_SYSTEM_RUN_H */
