// SPDX-License-Identifier: MIT
/*
 * bench/recovery: the paper's recovery experiment (RedLeaf, OSDI'20, §6:
 * a program doing sequential block I/O against an in-memory block device
 * through a shadow, with the driver crashed every second).
 *
 * Per round it runs four systems, each a fresh broker:
 *   read, no crash | read, crash every 1 s | write, no crash | write, crash every 1 s
 * The system is bench/recovery.yaml's (written into a temporary folder with
 * this run's mode and duration): ramblk (device memory, restart: always;
 * with --device nvme the NVMe driver domain nvme on its model instead),
 * a generic shadow exporting BDev, and recbench importing BDev from the
 * shadow. Each run is
 *   redleaf run --socket TMP/s --until recbench TMP/recovery-MODE.yaml
 * with, for crash runs, once the socket answers and recbench has started
 * its timed window,
 *   redleaf crash --socket TMP/s --every 1s ramblk
 * and, when the window ends, `redleaf crash --stop` and `redleaf ps --json`
 * (ramblk's recoveries_ns) while recbench's tail keeps calling, so a
 * recovery in progress completes before the broker goes away.
 *
 * Time alignment of crashes and samples: see run.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "procs.h"
#include "report.h"
#include "run.h"

#define CLI_TIMEOUT_MS 5000
#define SOCKET_RETRY_MS 20
#define PS_RETRY_MS 50
#define MAX_ATTEMPTS 3       /* runs disturbed by other processes are repeated this often at most */
#define INJECT_OFFSET_MS 500 /* crash injection starts this long into the window */
#define START_TIMEOUT_S 60  /* broker start, fill pass */
#define END_TIMEOUT_S 60    /* tail, report lines, stop and audit */

static const char *const modes[4] = { "read", "read", "write", "write" };
static const bool crashes[4] = { false, true, false, true };

static char tmpdir[PATH_MAX];

/* snprintf for paths: a path that does not fit is an error, never silently cut. */
static void path_printf(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void path_printf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "recovery: path too long: %.80s...\n", out);
		exit(1);
	}
}

static int write_manifest(const struct rec_config *c, const char *path, const char *mode, unsigned batch)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	/* Keep in step with bench/recovery.yaml, the same system for running by hand. */
	fprintf(f,
		"# written by bench/recovery for one run; see bench/recovery.yaml\n"
		"system: recovery\n"
		"heap: {size: 64M}\n"
		"domains:\n");
	if (c->nvme)
		fprintf(f,
			"  - name: nvme\n"
			"    binary: nvmedrv\n"
			"    exports: [BDev]\n"
			"    devmem: 1M\n"
			"    device: {model: nvme, blocks: %u, block_size: 4096}\n",
			c->blocks);
	else
		fprintf(f,
			"  - name: ramblk\n"
			"    binary: ramblk\n"
			"    args: [--blocks, \"%u\"]\n"
			"    exports: [BDev]\n"
			"    devmem: %uK\n",
			c->blocks, c->blocks * 4);
	fprintf(f,
		"    restart: always\n"
		"    standby: %s\n"
		"  - name: bdev-shadow\n"
		"    binary: shadow\n"
		"    exports: [BDev]\n"
		"    imports:\n"
		"      - {name: target, iface: BDev, from: %s}\n"
		"  - name: recbench\n"
		"    binary: recbench\n"
		"    args: [--mode, %s, --batch, \"%u\", --seconds, \"%u\", --bucket-ms, \"%u\", --tail-ms, \"%u\"]\n"
		"    imports:\n"
		"      - {name: bdev, iface: BDev, from: bdev-shadow}\n",
		c->standby ? "true" : "false", c->nvme ? "nvme" : "ramblk", mode, batch, c->seconds, c->bucket_ms,
		c->tail_ms);
	if (fclose(f))
		return -errno;
	return 0;
}

/* Runs `redleaf SUBCOMMAND --socket S ARGS...`; the answer goes to *out when out is not NULL. */
static int cli(const struct rec_config *c, const char *socket, char **out, const char *sub, const char *a1,
	       const char *a2, const char *a3)
{
	char *argv[] = { (char *)c->redleaf, (char *)sub, "--socket", (char *)socket, (char *)a1, (char *)a2,
			 (char *)a3, NULL };
	char *text = NULL;
	int ret = rl_procs_run(argv, CLI_TIMEOUT_MS, &text);
	if (out)
		*out = text;
	else
		free(text);
	return ret;
}

static void fail_run(struct rec_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_run(struct rec_run *r, const char *fmt, ...)
{
	va_list ap;
	if (r->failure[0])
		return; /* the first reason is the one that matters */
	va_start(ap, fmt);
	vsnprintf(r->failure, sizeof(r->failure), fmt, ap);
	va_end(ap);
}

/* Busy and steal seconds of all CPUs since boot, from /proc/stat's first line. */
static int machine_busy(double *busy_s, double *steal_s)
{
	unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return -errno;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle, &iowait,
		       &irq, &softirq, &steal);
	fclose(f);
	if (n != 8)
		return -EPROTO;
	double hz = (double)sysconf(_SC_CLK_TCK);
	*busy_s = (double)(user + nice + system + irq + softirq) / hz;
	*steal_s = (double)steal / hz;
	return 0;
}

/* CPU seconds of this process and every descendant it has reaped. */
static double our_cpu(void)
{
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) +
	       (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
			kids.ru_stime.tv_usec) / 1e6;
}

/*
 * Waits, at most max_s seconds, for a whole second in which the machine is
 * less than 15% busy (we run nothing then, so that is other people's work).
 * Returns the busy share of the last second measured.
 */
static double settle(unsigned max_s)
{
	double last = -1;
	unsigned long long end = rl_procs_now_ns() + (unsigned long long)max_s * 1000000000ull;
	bool said = false;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	while (max_s) {
		double b0, s0, b1, s1;
		if (machine_busy(&b0, &s0))
			return -1;
		struct timespec one = { 1, 0 };
		nanosleep(&one, NULL);
		if (machine_busy(&b1, &s1))
			return -1;
		last = (b1 - b0 + s1 - s0) / (double)(ncpu > 0 ? ncpu : 1);
		if (last < 0.15)
			break;
		if (rl_procs_now_ns() >= end) {
			fprintf(stderr, "recovery:   the machine is still %.0f%% busy with other work; running anyway\n",
				100 * last);
			break;
		}
		if (!said)
			fprintf(stderr, "recovery:   waiting for other work on this machine to settle (%.0f%% busy)\n",
				100 * last);
		said = true;
	}
	return last;
}

struct line_buf {
	char data[1 << 16];
	size_t len;
};

/* One run of the broker: its files, its log pipe and where the event loop is. */
struct broker_run {
	char manifest[PATH_MAX], socket[PATH_MAX];
	struct line_buf lines;
	FILE *log;
	int fds[2];
	pid_t pid;
	double busy0, steal0, ours0; /* the machine's and our CPU time before the broker started */
	bool have_busy;
	bool socket_ready, injecting, inject_stopped, ps_done, eof;
	unsigned long long next_socket_try, next_ps;
};

/* Writes the run's manifest and log header and starts the broker. Returns 0 or a negative errno. */
static int broker_start(const struct rec_config *c, char **env, struct rec_run *r, struct broker_run *b)
{
	int ret;

	path_printf(b->manifest, sizeof(b->manifest), "%s/recovery-%s.yaml", tmpdir, r->mode);
	path_printf(b->socket, sizeof(b->socket), "%s/s", tmpdir);
	if ((ret = write_manifest(c, b->manifest, r->mode, r->batch)))
		return ret;
	b->log = fopen(r->log_path, "w");
	if (!b->log) {
		ret = -errno;
		fprintf(stderr, "recovery: cannot write %s: %s\n", r->log_path, strerror(errno));
		return ret;
	}
	if (pipe2(b->fds, O_CLOEXEC) < 0)
		return -errno;
	/* Room for every line of a long run's report, so the broker never blocks on its log. */
	fcntl(b->fds[0], F_SETPIPE_SZ, 1 << 20);

	char *argv[] = { (char *)c->redleaf, "run", "--socket", b->socket, "--until", "recbench", b->manifest, NULL };
	fprintf(b->log, "# %s run --socket %s --until recbench %s\n", c->redleaf, b->socket, b->manifest);
	b->ours0 = our_cpu();
	b->have_busy = machine_busy(&b->busy0, &b->steal0) == 0;
	r->launch_ns = rl_procs_now_ns();
	b->pid = rl_procs_exec(argv, env, b->fds[1], b->fds[1]);
	close(b->fds[1]);
	b->fds[1] = -1;
	if (b->pid < 0) {
		ret = b->pid;
		b->pid = -1;
		return ret;
	}
	return 0;
}

/* One whole line of the broker's output: into the log, to rec_run_line(), and progress to stderr. */
static void log_line(const struct rec_config *c, struct rec_run *r, FILE *log, const char *line,
		     unsigned long long arrival)
{
	fprintf(log, "%s\n", line);
	switch (rec_run_line(r, line, arrival)) {
	case REC_EV_START:
		fprintf(stderr, "recovery:   window started (%u s)\n", c->seconds);
		break;
	case REC_EV_CRASH:
		fprintf(stderr, "recovery:   crash #%u\n", r->crashes[r->ncrashes - 1].number);
		break;
	case REC_EV_PANIC:
		fprintf(stderr, "recovery:   recbench panicked: %s\n", r->panic);
		break;
	default:
		break;
	}
}

/* Reads what the broker wrote (b->eof at its end) and hands on every whole line. */
static void log_read(const struct rec_config *c, struct rec_run *r, struct broker_run *b)
{
	struct line_buf *lb = &b->lines;
	ssize_t got = read(b->fds[0], lb->data + lb->len, sizeof(lb->data) - lb->len - 1);
	unsigned long long arrival = rl_procs_now_ns();
	if (got == 0)
		b->eof = true;
	if (got <= 0)
		return;
	lb->len += (size_t)got;
	lb->data[lb->len] = 0;
	char *start = lb->data, *nl;
	while ((nl = memchr(start, '\n', lb->len - (size_t)(start - lb->data)))) {
		*nl = 0;
		log_line(c, r, b->log, start, arrival);
		start = nl + 1;
	}
	lb->len -= (size_t)(start - lb->data);
	memmove(lb->data, start, lb->len);
	if (lb->len == sizeof(lb->data) - 1) { /* a line longer than the buffer: drop it */
		fprintf(b->log, "%s [truncated]\n", lb->data);
		lb->len = 0;
	}
}

/*
 * Starts crash injection in a crash run and stops it when the window ends.
 * Returns false when starting it failed (r->failure says why; the run ends).
 */
static bool injection_step(const struct rec_config *c, struct rec_run *r, struct broker_run *b,
			   unsigned long long now)
{
	/*
	 * Crashes start half a second into the window, so they land at 1.5 s,
	 * 2.5 s, ... and none races the window's end (or our --stop).
	 */
	if (r->crash && b->socket_ready && r->started && !b->injecting && !r->timed_end &&
	    now >= r->started_arrival_ns + INJECT_OFFSET_MS * 1000000ull) {
		char *answer = NULL;
		int rc = cli(c, b->socket, &answer, "crash", "--every", c->every, r->driver);
		if (rc) {
			fail_run(r, "'redleaf crash --every %s %s' failed (%d): %s", c->every, r->driver, rc,
				 answer ? answer : "");
			free(answer);
			return false;
		}
		free(answer);
		b->injecting = true;
	}
	if (r->timed_end && b->injecting && !b->inject_stopped) {
		int rc = cli(c, b->socket, NULL, "crash", "--stop", NULL, NULL);
		if (rc)
			fail_run(r, "'redleaf crash --stop' failed (%d)", rc);
		b->inject_stopped = true;
	}
	return true;
}

/* After the window, asks `redleaf ps --json` for the driver's restarts and recovery times until they are final. */
static void recoveries_poll(const struct rec_config *c, struct rec_run *r, struct broker_run *b,
			    unsigned long long now)
{
	if (!r->timed_end || b->ps_done || !b->socket_ready || now < b->next_ps)
		return;
	char *json = NULL;
	if (cli(c, b->socket, &json, "ps", "--json", NULL, NULL) == 0 && json)
		rec_run_ps(r, json);
	free(json);
	/*
	 * Injection has stopped (the answer to --stop came before this ps), so
	 * the driver's restarts are final: done when it runs and every restart
	 * has its recovery time (the first reply of that incarnation).
	 */
	/*
	 * A crash injected just before the stop may not have been handled yet
	 * (the driver still shows as running, its death not seen): wait until every
	 * crash the log reported has its restart too.
	 */
	if (r->ps_seen && r->driver_running && r->nrecoveries >= r->restarts && r->restarts >= r->ncrashes)
		b->ps_done = true;
	b->next_ps = rl_procs_now_ns() + PS_RETRY_MS * 1000000ull;
}

/*
 * Reads the broker's log until it ends (or the run's deadline passes), and
 * on the way waits for its socket, drives the crash injection and polls
 * `redleaf ps`. Returns 0, or a negative errno when poll() fails.
 */
static int broker_watch(const struct rec_config *c, struct rec_run *r, struct broker_run *b)
{
	unsigned long long deadline = r->launch_ns + (unsigned long long)(START_TIMEOUT_S + c->seconds +
						c->tail_ms / 1000 + END_TIMEOUT_S) * 1000000000ull;
	while (!b->eof) {
		unsigned long long now = rl_procs_now_ns();
		if (now >= deadline) {
			fail_run(r, "the run did not end in time (recbench %s)",
				 !r->started ? "never started its window" : !r->timed_end ? "never ended its window"
				 : "never reported");
			break;
		}
		int timeout_ms = 200;
		if (!b->socket_ready || (r->timed_end && !b->ps_done))
			timeout_ms = 10;
		struct pollfd p = { .fd = b->fds[0], .events = POLLIN };
		int n = poll(&p, 1, timeout_ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			log_read(c, r, b);

		now = rl_procs_now_ns();
		if (!b->socket_ready && now >= b->next_socket_try) {
			b->socket_ready = cli(c, b->socket, NULL, "ps", NULL, NULL, NULL) == 0;
			b->next_socket_try = rl_procs_now_ns() + SOCKET_RETRY_MS * 1000000ull;
		}
		if (!injection_step(c, r, b, now))
			break;
		recoveries_poll(c, r, b, now);
	}
	return 0;
}

/* The machine's CPU time over the run, ours and other processes'. */
static void cpu_account(struct rec_run *r, const struct broker_run *b)
{
	double busy1, steal1;
	r->wall_s = (double)(rl_procs_now_ns() - r->launch_ns) / 1e9;
	if (b->have_busy && !machine_busy(&busy1, &steal1)) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		r->busy_s = busy1 - b->busy0;
		r->steal_s = steal1 - b->steal0;
		r->ours_s = our_cpu() - b->ours0;
		r->foreign_s = r->busy_s - r->ours_s > 0 ? r->busy_s - r->ours_s : 0;
		r->foreign_share = r->foreign_s / ((double)(ncpu > 0 ? ncpu : 1) * r->wall_s);
	}
}

/* Logs an unfinished last line and waits for the broker to exit, stopping it when it does not. */
static void broker_stop(struct rec_run *r, struct broker_run *b)
{
	if (b->lines.len)
		fprintf(b->log, "%.*s [no newline]\n", (int)b->lines.len, b->lines.data);

	int status = rl_procs_wait(b->pid, b->eof ? END_TIMEOUT_S * 1000 : 0);
	if (status == -ETIMEDOUT) {
		fail_run(r, "the broker did not exit; stopped it");
		status = rl_procs_stop(b->pid);
	}
	b->pid = -1;
	r->exit_status = status < 0 ? status : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Whether the run counts: r->failure gets the first reason it does not. Summarises it on the way. */
static void run_judge(struct rec_run *r)
{
	if (r->panic[0])
		fail_run(r, "recbench panicked: %s", r->panic);
	if (r->exit_status)
		fail_run(r, "the broker exited with status %d%s%.400s", r->exit_status, r->last_error[0] ? ": " : "",
			 r->last_error);
	if (!r->ended)
		fail_run(r, "recbench never reported");
	if (r->errors)
		fail_run(r, "recbench reported %ld error(s)", r->errors);
	if (!r->nbuckets || r->nfilled != r->nbuckets)
		fail_run(r, "samples missing (%u of %u)", r->nfilled, r->nbuckets);
	if (!r->ps_seen)
		fail_run(r, "no 'redleaf ps --json' answer while recbench ran");
	rec_run_summarise(r);
	if (r->started && r->batch_seen != r->batch)
		fail_run(r, "recbench made calls of %llu block(s), not %u", r->batch_seen, r->batch);
	if (r->crash && !r->crashes_in_window)
		fail_run(r, "no crash landed in the timed window");
	if (r->crash && (r->nrecoveries < r->ncrashes || r->restarts < r->ncrashes))
		fail_run(r, "%u crash(es) but %u restart(s) and %u recovery time(s)", r->ncrashes, r->restarts,
			 r->nrecoveries);
	if (!r->crash && (r->restarts || r->ncrashes))
		fail_run(r, "%s restarted %u time(s) in a run without crash injection", r->driver, r->restarts);
}

/* Ends what broker_start() left running or open, and removes the run's manifest and socket. */
static void broker_close(struct broker_run *b)
{
	if (b->pid > 0)
		rl_procs_stop(b->pid);
	if (b->fds[0] >= 0)
		close(b->fds[0]);
	if (b->fds[1] >= 0)
		close(b->fds[1]);
	if (b->log)
		fclose(b->log);
	unlink(b->manifest);
	unlink(b->socket);
}

/*
 * One system, start to end. Returns 0 when it ran (r->failure says whether
 * its results count), a negative errno when the harness itself failed.
 */
static int run_one(const struct rec_config *c, char **env, struct rec_run *r)
{
	struct broker_run *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->fds[0] = b->fds[1] = -1;
	b->pid = -1;
	rec_run_reset(r);
	int ret = broker_start(c, env, r, b);
	if (!ret) {
		ret = broker_watch(c, r, b);
		broker_stop(r, b);
		cpu_account(r, b);
		run_judge(r);
	}
	broker_close(b);
	free(b);
	return ret;
}

/* The length of path without a trailing ".json". */
static int json_stem_len(const char *path)
{
	size_t n = strlen(path);
	return (int)(n > 5 && !strcmp(path + n - 5, ".json") ? n - 5 : n);
}

/* Storage for the paths found for what the options did not give, and the logs folder. */
struct found_paths {
	char redleaf[PATH_MAX], domain_path[2 * PATH_MAX + 2], json[PATH_MAX], plot[PATH_MAX], script[PATH_MAX];
	char logdir[PATH_MAX];
};

/*
 * The paths the options did not give, found from this program's folder
 * (BUILD/bench/recovery) and the JSON path, into p. Returns 0, or a
 * negative errno after saying on stderr what is missing.
 */
static int paths_find(struct rec_config *c, bool no_plot, struct found_paths *p)
{
	char self[PATH_MAX];
	int ret;

	if ((ret = rl_procs_self_dir(self, sizeof(self)))) {
		fprintf(stderr, "recovery: cannot find my own folder\n");
		return ret;
	}
	/* self is BUILD/bench/recovery */
	if (!c->redleaf) {
		path_printf(p->redleaf, sizeof(p->redleaf), "%s/../../src/redleaf", self);
		c->redleaf = p->redleaf;
	}
	if (!c->domain_path) {
		path_printf(p->domain_path, sizeof(p->domain_path), "%s:%s/../../domains", self, self);
		c->domain_path = p->domain_path;
	}
	if (!c->json_path) {
		path_printf(p->json, sizeof(p->json), "%s/../results/recovery.json", self);
		c->json_path = p->json;
	}
	if (!no_plot && !c->plot_path) {
		path_printf(p->plot, sizeof(p->plot), "%.*s.png", json_stem_len(c->json_path), c->json_path);
		c->plot_path = p->plot;
	}
	path_printf(p->script, sizeof(p->script), "%s/recovery.gp", self);
	c->plot_script = p->script;
	if (access(c->redleaf, X_OK)) {
		ret = -errno;
		fprintf(stderr, "recovery: no redleaf binary at %s (build it, or give --redleaf)\n", c->redleaf);
		return ret;
	}
	return 0;
}

/*
 * The JSON file's folder, the logs folder (p->logdir) and the plot data
 * folder (c->data_dir). Returns 0, or a negative errno after saying on
 * stderr which could not be created.
 */
static int output_dirs_make(struct rec_config *c, struct found_paths *p)
{
	char base[PATH_MAX], dir[PATH_MAX];
	int ret;

	path_printf(base, sizeof(base), "%.*s", json_stem_len(c->json_path), c->json_path);
	path_printf(dir, sizeof(dir), "%s", c->json_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if ((ret = rl_procs_mkdirs(dir))) {
			fprintf(stderr, "recovery: cannot create %s: %s\n", dir, strerror(errno));
			return ret;
		}
	}
	path_printf(p->logdir, sizeof(p->logdir), "%s-logs", base);
	path_printf(c->data_dir, sizeof(c->data_dir), "%s-plotdata", base);
	if ((ret = rl_procs_mkdirs(p->logdir)) || (c->plot_path && (ret = rl_procs_mkdirs(c->data_dir)))) {
		fprintf(stderr, "recovery: cannot create %s or %s\n", p->logdir, c->data_dir);
		return ret;
	}
	return 0;
}

/* The temporary folder of the runs' manifests and socket, removed at exit. Returns 0 or a negative errno. */
static int tmpdir_make(void)
{
	rl_procs_init();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/redleaf-recovery.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		int ret = -errno;
		fprintf(stderr, "recovery: cannot create a temporary folder: %s\n", strerror(errno));
		return ret;
	}
	rl_procs_remove_at_exit(tmpdir, 1);
	return 0;
}

/* The files every run makes in tmpdir: its manifest and the broker's socket. */
static void tmpdir_files_remove_at_exit(void)
{
	char p[PATH_MAX];

	/* Removed on every path, even if a run is interrupted, and again after each run. */
	for (unsigned i = 0; i < 4; i += 2) {
		path_printf(p, sizeof(p), "%s/recovery-%s.yaml", tmpdir, modes[i]);
		rl_procs_remove_at_exit(p, 0);
	}
	path_printf(p, sizeof(p), "%s/s", tmpdir);
	rl_procs_remove_at_exit(p, 0);
}

/*
 * One system of a round, run again (MAX_ATTEMPTS times in all at most)
 * while other processes used more of the machine than --max-others allows.
 * Returns 0, or a negative errno when the harness could not run it (said
 * on stderr).
 */
static int system_run(const struct rec_config *c, char **env, struct rec_run *r)
{
	for (unsigned attempt = 1;; attempt++) {
		r->settle_busy = settle(c->settle_s);
		int ret = run_one(c, env, r);
		if (ret) {
			fprintf(stderr, "recovery: cannot run: %s\n", strerror(-ret));
			return ret;
		}
		r->attempts = attempt;
		if (r->failure[0] || 100 * r->foreign_share <= c->max_others_pct ||
		    attempt == MAX_ATTEMPTS)
			return 0;
		fprintf(stderr, "recovery:   other processes used %.0f%% of the machine (more than %u%%): "
				"running it again\n", 100 * r->foreign_share, c->max_others_pct);
	}
}

/*
 * Every round's systems into runs[round * c->nsystems + system],
 * counting the runs that failed in *failed. Returns 0, or a negative errno
 * when the harness could not run one (said on stderr).
 */
static int rounds_run(const struct rec_config *c, char **env, const char *logdir, struct rec_run *runs,
		      int *failed)
{
	for (unsigned round = 0; round < c->rounds; round++) {
		for (unsigned s = 0; s < c->nsystems; s++) {
			struct rec_run *r = &runs[round * c->nsystems + s];
			r->mode = modes[s % 4];
			r->crash = crashes[s % 4];
			r->batch = s < 4 ? c->batch : 1;
			r->driver = c->nvme ? "nvme" : "ramblk";
			r->round = round;
			path_printf(r->log_path, sizeof(r->log_path), "%s/%s%u-%s-r%u.log", logdir, r->mode, r->batch,
				 r->crash ? "crash" : "nocrash", round);
			fprintf(stderr, "recovery: round %u/%u: %s, %u block(s) per call, %s\n", round + 1, c->rounds,
				r->mode, r->batch, r->crash ? "crash injection" : "no crashes");
			int ret = system_run(c, env, r);
			if (ret)
				return ret;
			if (r->failure[0]) {
				(*failed)++;
				fprintf(stderr, "recovery:   FAILED: %s (log: %s)\n", r->failure, r->log_path);
			} else {
				fprintf(stderr, "recovery:   %.0f MB/s mean, %u crash(es) in the window, %u recovery time(s); "
					"other processes used %.0f%% of the machine\n", r->mean_mbps, r->crashes_in_window,
					r->nrecoveries, 100 * r->foreign_share);
			}
		}
	}
	return 0;
}

/*
 * The table on stdout, the JSON file and the plot. Returns 0, or a
 * negative errno when the JSON file could not be written (the plot is
 * made where it can be; why not is said on stderr).
 */
static int outputs_write(const struct rec_config *c, struct rec_run *runs)
{
	struct rec_system_summary sum[REC_MAX_SYSTEMS];
	rec_summarise(c, runs, c->rounds, sum);
	rec_print_table(stdout, c, sum);
	fflush(stdout);

	struct utsname u;
	char uname_text[512] = "";
	if (!uname(&u))
		snprintf(uname_text, sizeof(uname_text), "%s %s %s %s", u.sysname, u.release, u.version, u.machine);
	int ret = rec_write_json(c, runs, c->rounds, sum, uname_text);
	if (!ret)
		fprintf(stderr, "recovery: results in %s\n", c->json_path);
	if (c->plot_path && !rec_plot(c, runs))
		fprintf(stderr, "recovery: plot in %s\n", c->plot_path);
	return ret;
}

int main(int argc, char **argv)
{
	struct rec_config c;
	struct found_paths paths;
	bool no_plot;
	int status;

	if (rec_options_parse(argc, argv, &c, &no_plot, &status))
		return status;
	if (paths_find(&c, no_plot, &paths) || output_dirs_make(&c, &paths) || tmpdir_make())
		return 1;
	char **env = rl_procs_env(c.domain_path);
	struct rec_run *runs = calloc((size_t)c.rounds * c.nsystems, sizeof(*runs));
	if (!env || !runs) {
		fprintf(stderr, "recovery: out of memory\n");
		return 1;
	}
	tmpdir_files_remove_at_exit();

	fprintf(stderr, "recovery: %u round(s) of %u systems, %u s each, crash every %s; redleaf %s\n", c.rounds,
		c.nsystems, c.seconds, c.every, c.redleaf);
	int failed = 0;
	if (rounds_run(&c, env, paths.logdir, runs, &failed))
		return 1;
	if (outputs_write(&c, runs))
		failed++;

	for (unsigned i = 0; i < c.rounds * c.nsystems; i++)
		rec_run_free(&runs[i]);
	free(runs);
	rl_procs_env_free(env);
	rl_procs_cleanup();
	if (failed) {
		fprintf(stderr, "recovery: %d run(s) failed\n", failed);
		return 1;
	}
	return 0;
}
