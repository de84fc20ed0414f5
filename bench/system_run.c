// SPDX-License-Identifier: MIT
/* Runs one redleaf system and collects its BENCH lines (see system_run.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procs.h"
#include "system_run.h"

#define LOG_MAX (4u << 20) /* a runaway domain must not eat our memory */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void log_append(struct rl_system_run *r, const char *p, size_t n)
{
	if (r->loglen + n + 1 > LOG_MAX)
		return;
	char *nl = realloc(r->log, r->loglen + n + 1);
	if (!nl)
		return;
	r->log = nl;
	memcpy(r->log + r->loglen, p, n);
	r->loglen += n;
	r->log[r->loglen] = 0;
}

/*
 * "[name] BENCH {...}" / "[name] PROGRESS ...". A domain writes its line
 * with one write(), so it is never split; but the broker prints its own
 * lines in pieces, so a broker prefix may precede ours on the same line.
 * Hence the name is taken from the last '[' before the marker.
 */
static void take_line(struct rl_system_run *r, const char *line)
{
	const char *b = strstr(line, "] BENCH {");
	const char *pr = strstr(line, "] PROGRESS ");
	const char *mark = b ? b : pr;

	if (!mark)
		return;
	const char *open = mark;
	while (open > line && open[-1] != '[')
		open--;
	if (open == line)
		return;
	char domain[32];
	size_t dl = (size_t)(mark - open);
	if (dl >= sizeof(domain))
		dl = sizeof(domain) - 1;
	memcpy(domain, open, dl);
	domain[dl] = 0;
	if (pr) {
		fprintf(stderr, "ipc: %s: %s: %s\n", r->label, domain, pr + strlen("] PROGRESS "));
		return;
	}
	if (r->nlines == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		struct rl_bench_line *nl = realloc(r->lines, ncap * sizeof(*nl));
		if (!nl)
			return;
		r->lines = nl;
		r->cap = ncap;
	}
	struct rl_bench_line *l = &r->lines[r->nlines++];
	snprintf(l->domain, sizeof(l->domain), "%s", domain);
	snprintf(l->json, sizeof(l->json), "%s", b + strlen("] BENCH "));
}

static int pin_to(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : 0;
}

/*
 * Pins the broker's threads and its domains once all expected domains and
 * the proxy thread exist (domains are children of the broker's threads).
 * Returns 1 when done, 0 when not everything runs yet, or a negative errno.
 */
static int try_place(struct rl_system_run *r, pid_t broker)
{
	char path[64];
	pid_t tids[16], kids[RL_BENCH_MAX_DOMAINS];
	unsigned ntids = 0, nkids = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)broker);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	for (struct dirent *e; (e = readdir(d)) && ntids < 16;)
		if (e->d_name[0] != '.')
			tids[ntids++] = (pid_t)atoi(e->d_name);
	closedir(d);
	for (unsigned i = 0; i < ntids; i++) {
		char cpath[96];
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%d/children", (int)broker, (int)tids[i]);
		FILE *f = fopen(cpath, "r");
		int pid;
		while (f && nkids < RL_BENCH_MAX_DOMAINS && fscanf(f, "%d", &pid) == 1)
			kids[nkids++] = pid;
		if (f)
			fclose(f);
	}
	/* The proxy thread starts after the last domain: wait for both. */
	if (nkids < r->expect_domains || ntids < 2)
		return 0;
	for (unsigned i = 0; i < nkids; i++) {
		int ret = pin_to(kids[i], r->domains_cpu);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < ntids; i++) {
		int ret = pin_to(tids[i], r->broker_cpu);
		if (ret)
			return ret;
	}
	return 1;
}

int rl_system_run(struct rl_system_run *r)
{
	int pipefd[2];
	char *argv[] = { (char *)r->redleaf, "run", "--until", (char *)r->until, "--socket",
			 (char *)r->socket, (char *)r->manifest, NULL };
	char **env = rl_procs_env(r->domain_path);

	r->status = -EIO;
	snprintf(r->command, sizeof(r->command), "REDLEAF_DOMAIN_PATH=%s %s run --until %s --socket %s %s",
		 r->domain_path, r->redleaf, r->until, r->socket, r->manifest);
	if (!env)
		return -ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		int err = -errno;
		rl_procs_env_free(env);
		return err;
	}
	pid_t pid = rl_procs_exec(argv, env, -1, pipefd[1]);
	close(pipefd[1]);
	rl_procs_env_free(env);
	if (pid < 0) {
		close(pipefd[0]);
		return pid;
	}

	uint64_t start_ms = now_ms(), deadline = start_ms + (uint64_t)r->timeout_ms;
	bool placing = r->domains_cpu >= 0 && r->broker_cpu >= 0;
	char buf[8192], pending[8192];
	size_t plen = 0;
	bool timed_out = false;
	for (;;) {
		struct pollfd pfd = { pipefd[0], POLLIN, 0 };
		uint64_t now = now_ms();
		if (now >= deadline) {
			timed_out = true;
			break;
		}
		if (placing) {
			int ret = try_place(r, pid);
			if (ret || now - start_ms > 3000) {
				r->placed = ret ? ret : -ETIMEDOUT;
				placing = false;
			}
		}
		int pr = poll(&pfd, 1, placing ? 2 : (int)(deadline - now < 500 ? deadline - now : 500));
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		ssize_t n = read(pipefd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EOF: the broker and every domain closed stderr */
		log_append(r, buf, (size_t)n);
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || plen == sizeof(pending) - 1) {
				pending[plen] = 0;
				take_line(r, pending);
				plen = 0;
			} else {
				pending[plen++] = buf[i];
			}
		}
	}
	close(pipefd[0]);
	if (timed_out) {
		fprintf(stderr, "ipc: %s: the system did not finish in %d s; stopping it\n", r->label,
			r->timeout_ms / 1000);
		rl_procs_stop(pid);
		r->status = -ETIMEDOUT;
		return 0;
	}
	int st = rl_procs_wait(pid, 10000);
	if (st == -ETIMEDOUT) {
		rl_procs_stop(pid);
		r->status = -ETIMEDOUT;
		return 0;
	}
	if (st < 0)
		return st;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

void rl_system_run_free(struct rl_system_run *r)
{
	free(r->lines);
	free(r->log);
	r->lines = NULL;
	r->log = NULL;
	r->nlines = r->cap = r->loglen = 0;
}

static const char *value_of(const char *json, const char *key)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(json, pat);
	return p ? p + strlen(pat) : NULL;
}

int rl_json_number(const char *json, const char *key, double *out)
{
	const char *v = value_of(json, key);
	char *end;

	if (!v)
		return -ENOENT;
	double d = strtod(v, &end);
	if (end == v)
		return -ENOENT;
	*out = d;
	return 0;
}

int rl_json_string(const char *json, const char *key, char *out, size_t len)
{
	const char *v = value_of(json, key);

	if (!v || *v != '"' || !len)
		return -ENOENT;
	v++;
	const char *e = strchr(v, '"');
	if (!e)
		return -ENOENT;
	size_t n = (size_t)(e - v) < len - 1 ? (size_t)(e - v) : len - 1;
	memcpy(out, v, n);
	out[n] = 0;
	return 0;
}
