// SPDX-License-Identifier: MIT
/*
 * bench/recovery: the paper's recovery experiment (RedLeaf, OSDI'20, §6:
 * a program doing sequential block I/O against an in-memory block device
 * through a shadow, with the driver crashed every second).
 *
 * Per round it runs four systems, each a fresh broker:
 *   read, no crash | read, crash every 1 s | write, no crash | write, crash every 1 s
 * The system is bench/recovery.yaml's (written into a temporary folder with
 * this run's mode and duration): ramblk (device memory, restart: always),
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
#include <getopt.h>
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

#include "opts.h"
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

static const char *const modes[REC_SYSTEMS] = { "read", "read", "write", "write" };
static const bool crashes[REC_SYSTEMS] = { false, true, false, true };

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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: recovery [--seconds N | --quick] [--rounds N] [--every DURATION] [--blocks N]\n"
		"                [--tail-ms N] [--settle S] [--max-others PCT] [--json FILE]\n"
		"                [--plot FILE | --no-plot]\n"
		"                [--redleaf PATH] [--domain-path DIRS]\n"
		"\n"
		"The paper's recovery experiment: recbench reads (or writes) 4 KiB blocks\n"
		"sequentially through a shadow from the RAM block device ramblk, for N seconds,\n"
		"counting bytes per 10 ms bucket. Each round runs four systems, each with its own\n"
		"broker: read without crashes, read with ramblk crashed (SIGKILL) every DURATION\n"
		"(from 0.5 s into the window on: at ~1.5 s, 2.5 s, ...), write without, write with.\n"
		"throughput (median and p5..p95 over the 10 ms samples, and the mean), the\n"
		"with/without ratio, the crash count, and recovery times: the broker's (death\n"
		"seen -> first reply of the new incarnation, from 'redleaf ps --json') and the\n"
		"client's (the call that spans the crash). Fails (exit 1) if recbench sees any\n"
		"error, a run has no samples, a crash run has no crash in its window or a\n"
		"crash without a recovery time, or a run without crashes restarts ramblk.\n"
		"\n"
		"  --seconds N       timed window of every run (default 10)\n"
		"  --quick           3-second runs, one round: a smoke test\n"
		"  --rounds N        repeat the four systems N times, interleaved (default 1);\n"
		"                    the table gives medians over rounds and min..max\n"
		"  --every DURATION  crash period, as 'redleaf crash --every' takes it (default 1s)\n"
		"  --blocks N        device size in 4 KiB blocks (default 4096 = 16 MiB)\n"
		"  --tail-ms N       calls recbench keeps making after its window (default 1000)\n"
		"  --settle S        before each run, wait up to S seconds (default 30; 0: not at\n"
		"                    all) for a second in which this shared machine is <15%% busy\n"
		"  --max-others PCT  run a system again (at most 3 times in all) when other\n"
		"                    processes used more than PCT%% of the machine's CPU time\n"
		"                    during it (default 10; 100: never)\n"
		"  --json FILE       results with every sample (default: BUILD/bench/results/recovery.json)\n"
		"  --plot FILE       PNG of throughput over time (default: the JSON path with .png)\n"
		"  --no-plot         no plot\n"
		"  --redleaf PATH    the redleaf binary (default: BUILD/src/redleaf)\n"
		"  --domain-path DIRS  REDLEAF_DOMAIN_PATH for the broker (default:\n"
		"                    BUILD/bench/recovery:BUILD/domains)\n"
		"\n"
		"BUILD is the build folder this program was built in (two folders up from it).\n"
		"Progress goes to stderr, the table to stdout. Per-run broker logs are kept\n"
		"beside the JSON file (FILE-without-.json-logs/), the plot's data files too\n"
		"(FILE-without-.json-plotdata/, with recovery.gp beside this program to re-plot).\n");
}

static unsigned parse_uint(const char *opt, const char *v, unsigned min, unsigned max)
{
	unsigned long long n;
	if (rl_parse_count(v, min, max, &n)) {
		fprintf(stderr, "recovery: %s takes a number from %u to %u, not '%s'\n", opt, min, max, v);
		exit(2);
	}
	return (unsigned)n;
}

/* The folder of this executable. */
static int self_dir(char *out, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", out, len - 1);
	if (n <= 0)
		return -errno;
	out[n] = 0;
	char *slash = strrchr(out, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	return 0;
}

static int mkdirs(const char *path)
{
	char buf[PATH_MAX];
	path_printf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_manifest(const struct rec_config *c, const char *path, const char *mode)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	/* Keep in step with bench/recovery.yaml, the same system for running by hand. */
	fprintf(f,
		"# written by bench/recovery for one run; see bench/recovery.yaml\n"
		"system: recovery\n"
		"heap: {size: 64M}\n"
		"domains:\n"
		"  - name: ramblk\n"
		"    binary: ramblk\n"
		"    args: [--blocks, \"%u\"]\n"
		"    exports: [BDev]\n"
		"    devmem: %uK\n"
		"    restart: always\n"
		"  - name: bdev-shadow\n"
		"    binary: shadow\n"
		"    exports: [BDev]\n"
		"    imports:\n"
		"      - {name: target, iface: BDev, from: ramblk}\n"
		"  - name: recbench\n"
		"    binary: recbench\n"
		"    args: [--mode, %s, --seconds, \"%u\", --bucket-ms, \"%u\", --tail-ms, \"%u\"]\n"
		"    imports:\n"
		"      - {name: bdev, iface: BDev, from: bdev-shadow}\n",
		c->blocks, c->blocks * 4, mode, c->seconds, c->bucket_ms, c->tail_ms);
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

/*
 * One system, start to end. Returns 0 when it ran (r->failure says whether
 * its results count), a negative errno when the harness itself failed.
 */
static int run_one(const struct rec_config *c, char **env, struct rec_run *r)
{
	char manifest[PATH_MAX], socket[PATH_MAX];
	struct line_buf *lb = calloc(1, sizeof(*lb));
	FILE *log = NULL;
	int fds[2] = { -1, -1 }, ret = 0;
	pid_t pid = -1;

	if (!lb)
		return -ENOMEM;
	rec_run_reset(r);
	path_printf(manifest, sizeof(manifest), "%s/recovery-%s.yaml", tmpdir, r->mode);
	path_printf(socket, sizeof(socket), "%s/s", tmpdir);
	if ((ret = write_manifest(c, manifest, r->mode)))
		goto out;
	log = fopen(r->log_path, "w");
	if (!log) {
		ret = -errno;
		fprintf(stderr, "recovery: cannot write %s: %s\n", r->log_path, strerror(errno));
		goto out;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	/* Room for every line of a long run's report, so the broker never blocks on its log. */
	fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);

	char *argv[] = { (char *)c->redleaf, "run", "--socket", socket, "--until", "recbench", manifest, NULL };
	fprintf(log, "# %s run --socket %s --until recbench %s\n", c->redleaf, socket, manifest);
	double busy0 = 0, steal0 = 0, ours0 = our_cpu();
	bool have_busy = machine_busy(&busy0, &steal0) == 0;
	r->launch_ns = rl_procs_now_ns();
	pid = rl_procs_exec(argv, env, fds[1], fds[1]);
	close(fds[1]);
	fds[1] = -1;
	if (pid < 0) {
		ret = pid;
		pid = -1;
		goto out;
	}

	bool socket_ready = false, injecting = false, inject_stopped = false, ps_done = false, eof = false;
	unsigned long long next_socket_try = 0, next_ps = 0;
	unsigned long long deadline = r->launch_ns + (unsigned long long)(START_TIMEOUT_S + c->seconds +
						c->tail_ms / 1000 + END_TIMEOUT_S) * 1000000000ull;
	while (!eof) {
		unsigned long long now = rl_procs_now_ns();
		if (now >= deadline) {
			fail_run(r, "the run did not end in time (recbench %s)",
				 !r->started ? "never started its window" : !r->timed_end ? "never ended its window"
				 : "never reported");
			break;
		}
		int timeout_ms = 200;
		if (!socket_ready || (r->timed_end && !ps_done))
			timeout_ms = 10;
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		int n = poll(&p, 1, timeout_ms);
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (n > 0) {
			ssize_t got = read(fds[0], lb->data + lb->len, sizeof(lb->data) - lb->len - 1);
			unsigned long long arrival = rl_procs_now_ns();
			if (got == 0)
				eof = true;
			if (got > 0) {
				lb->len += (size_t)got;
				lb->data[lb->len] = 0;
				char *start = lb->data, *nl;
				while ((nl = memchr(start, '\n', lb->len - (size_t)(start - lb->data)))) {
					*nl = 0;
					fprintf(log, "%s\n", start);
					switch (rec_run_line(r, start, arrival)) {
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
					start = nl + 1;
				}
				lb->len -= (size_t)(start - lb->data);
				memmove(lb->data, start, lb->len);
				if (lb->len == sizeof(lb->data) - 1) { /* a line longer than the buffer: drop it */
					fprintf(log, "%s [truncated]\n", lb->data);
					lb->len = 0;
				}
			}
		}

		now = rl_procs_now_ns();
		if (!socket_ready && now >= next_socket_try) {
			socket_ready = cli(c, socket, NULL, "ps", NULL, NULL, NULL) == 0;
			next_socket_try = rl_procs_now_ns() + SOCKET_RETRY_MS * 1000000ull;
		}
		/*
		 * Crashes start half a second into the window, so they land at 1.5 s,
		 * 2.5 s, ... and none races the window's end (or our --stop).
		 */
		if (r->crash && socket_ready && r->started && !injecting && !r->timed_end &&
		    now >= r->started_arrival_ns + INJECT_OFFSET_MS * 1000000ull) {
			char *answer = NULL;
			int rc = cli(c, socket, &answer, "crash", "--every", c->every, "ramblk");
			if (rc) {
				fail_run(r, "'redleaf crash --every %s ramblk' failed (%d): %s", c->every, rc,
					 answer ? answer : "");
				free(answer);
				break;
			}
			free(answer);
			injecting = true;
		}
		if (r->timed_end && injecting && !inject_stopped) {
			int rc = cli(c, socket, NULL, "crash", "--stop", NULL, NULL);
			if (rc)
				fail_run(r, "'redleaf crash --stop' failed (%d)", rc);
			inject_stopped = true;
		}
		if (r->timed_end && !ps_done && socket_ready && now >= next_ps) {
			char *json = NULL;
			if (cli(c, socket, &json, "ps", "--json", NULL, NULL) == 0 && json)
				rec_run_ps(r, json);
			free(json);
			/*
			 * Injection has stopped (the answer to --stop came before this ps), so
			 * ramblk's restarts are final: done when it runs and every restart
			 * has its recovery time (the first reply of that incarnation).
			 */
			if (r->ps_seen && r->ramblk_running && r->nrecoveries >= r->restarts)
				ps_done = true;
			next_ps = rl_procs_now_ns() + PS_RETRY_MS * 1000000ull;
		}
	}
	if (lb->len)
		fprintf(log, "%.*s [no newline]\n", (int)lb->len, lb->data);

	int status = rl_procs_wait(pid, eof ? END_TIMEOUT_S * 1000 : 0);
	if (status == -ETIMEDOUT) {
		fail_run(r, "the broker did not exit; stopped it");
		status = rl_procs_stop(pid);
	}
	pid = -1;
	r->exit_status = status < 0 ? status : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	double busy1, steal1;
	r->wall_s = (double)(rl_procs_now_ns() - r->launch_ns) / 1e9;
	if (have_busy && !machine_busy(&busy1, &steal1)) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		r->busy_s = busy1 - busy0;
		r->steal_s = steal1 - steal0;
		r->ours_s = our_cpu() - ours0;
		r->foreign_s = r->busy_s - r->ours_s > 0 ? r->busy_s - r->ours_s : 0;
		r->foreign_share = r->foreign_s / ((double)(ncpu > 0 ? ncpu : 1) * r->wall_s);
	}

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
	if (r->crash && !r->crashes_in_window)
		fail_run(r, "no crash landed in the timed window");
	if (r->crash && (r->nrecoveries < r->ncrashes || r->restarts < r->ncrashes))
		fail_run(r, "%u crash(es) but %u restart(s) and %u recovery time(s)", r->ncrashes, r->restarts,
			 r->nrecoveries);
	if (!r->crash && (r->restarts || r->ncrashes))
		fail_run(r, "ramblk restarted %u time(s) in a run without crash injection", r->restarts);
out:
	if (pid > 0)
		rl_procs_stop(pid);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (log)
		fclose(log);
	unlink(manifest);
	unlink(socket);
	free(lb);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "quick", no_argument, NULL, 'q' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "every", required_argument, NULL, 'e' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "tail-ms", required_argument, NULL, 't' },
		{ "settle", required_argument, NULL, 'S' },
		{ "max-others", required_argument, NULL, 'm' },
		{ "json", required_argument, NULL, 'j' },
		{ "plot", required_argument, NULL, 'p' },
		{ "no-plot", no_argument, NULL, 'P' },
		{ "redleaf", required_argument, NULL, 'r' },
		{ "domain-path", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rec_config c = {
		.seconds = 10, .rounds = 1, .tail_ms = 1000, .bucket_ms = 10, .blocks = 4096, .every = "1s",
		.settle_s = 30, .max_others_pct = 10,
	};
	char self[PATH_MAX], redleaf[PATH_MAX], domain_path[2 * PATH_MAX + 2], json[PATH_MAX], plot[PATH_MAX];
	char script[PATH_MAX];
	bool no_plot = false, quick = false, seconds_given = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			c.seconds = parse_uint("--seconds", optarg, 1, 1800);
			seconds_given = true;
			break;
		case 'q':
			quick = true;
			break;
		case 'n':
			c.rounds = parse_uint("--rounds", optarg, 1, 100);
			break;
		case 'e':
			c.every = optarg;
			break;
		case 'b':
			c.blocks = parse_uint("--blocks", optarg, 1, 1u << 20);
			break;
		case 't':
			c.tail_ms = parse_uint("--tail-ms", optarg, 200, 60000);
			break;
		case 'S':
			c.settle_s = parse_uint("--settle", optarg, 0, 3600);
			break;
		case 'm':
			c.max_others_pct = parse_uint("--max-others", optarg, 1, 100);
			break;
		case 'j':
			c.json_path = optarg;
			break;
		case 'p':
			c.plot_path = optarg;
			break;
		case 'P':
			no_plot = true;
			break;
		case 'r':
			c.redleaf = optarg;
			break;
		case 'd':
			c.domain_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "recovery: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (quick && seconds_given) {
		fprintf(stderr, "recovery: --quick sets the duration; give --quick or --seconds, not both\n");
		return 2;
	}
	if (quick) {
		c.seconds = 3;
		c.rounds = 1;
	}
	if (no_plot && c.plot_path) {
		fprintf(stderr, "recovery: --plot and --no-plot do not go together\n");
		return 2;
	}
	if (strpbrk(c.every, " \n,\"")) {
		fprintf(stderr, "recovery: --every takes a duration like 1s or 500ms, not '%s'\n", c.every);
		return 2;
	}
	if (self_dir(self, sizeof(self))) {
		fprintf(stderr, "recovery: cannot find my own folder\n");
		return 1;
	}
	/* self is BUILD/bench/recovery */
	if (!c.redleaf) {
		path_printf(redleaf, sizeof(redleaf), "%s/../../src/redleaf", self);
		c.redleaf = redleaf;
	}
	if (!c.domain_path) {
		path_printf(domain_path, sizeof(domain_path), "%s:%s/../../domains", self, self);
		c.domain_path = domain_path;
	}
	if (!c.json_path) {
		path_printf(json, sizeof(json), "%s/../results/recovery.json", self);
		c.json_path = json;
	}
	if (!no_plot && !c.plot_path) {
		size_t n = strlen(c.json_path);
		path_printf(plot, sizeof(plot), "%.*s.png", (int)(n > 5 && !strcmp(c.json_path + n - 5, ".json") ? n - 5 : n),
			 c.json_path);
		c.plot_path = plot;
	}
	path_printf(script, sizeof(script), "%s/recovery.gp", self);
	c.plot_script = script;
	if (access(c.redleaf, X_OK)) {
		fprintf(stderr, "recovery: no redleaf binary at %s (build it, or give --redleaf)\n", c.redleaf);
		return 1;
	}

	/* Results folder, logs folder, plot data folder. */
	char base[PATH_MAX], logdir[PATH_MAX];
	{
		size_t n = strlen(c.json_path);
		path_printf(base, sizeof(base), "%.*s", (int)(n > 5 && !strcmp(c.json_path + n - 5, ".json") ? n - 5 : n),
			 c.json_path);
		char dir[PATH_MAX];
		path_printf(dir, sizeof(dir), "%s", c.json_path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			if (mkdirs(dir)) {
				fprintf(stderr, "recovery: cannot create %s: %s\n", dir, strerror(errno));
				return 1;
			}
		}
		path_printf(logdir, sizeof(logdir), "%s-logs", base);
		path_printf(c.data_dir, sizeof(c.data_dir), "%s-plotdata", base);
		if (mkdirs(logdir) || (c.plot_path && mkdirs(c.data_dir))) {
			fprintf(stderr, "recovery: cannot create %s or %s\n", logdir, c.data_dir);
			return 1;
		}
	}

	rl_procs_init();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/redleaf-recovery.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "recovery: cannot create a temporary folder: %s\n", strerror(errno));
		return 1;
	}
	rl_procs_remove_at_exit(tmpdir, 1);
	char **env = rl_procs_env(c.domain_path);
	struct rec_run *runs = calloc((size_t)c.rounds * REC_SYSTEMS, sizeof(*runs));
	if (!env || !runs) {
		fprintf(stderr, "recovery: out of memory\n");
		return 1;
	}
	/* Removed on every path, even if a run is interrupted, and again after each run. */
	for (unsigned i = 0; i < REC_SYSTEMS; i += 2) {
		char p[PATH_MAX];
		path_printf(p, sizeof(p), "%s/recovery-%s.yaml", tmpdir, modes[i]);
		rl_procs_remove_at_exit(p, 0);
	}
	{
		char p[PATH_MAX];
		path_printf(p, sizeof(p), "%s/s", tmpdir);
		rl_procs_remove_at_exit(p, 0);
	}

	fprintf(stderr, "recovery: %u round(s) of 4 systems, %u s each, crash every %s; redleaf %s\n", c.rounds,
		c.seconds, c.every, c.redleaf);
	int failed = 0;
	for (unsigned round = 0; round < c.rounds; round++) {
		for (unsigned s = 0; s < REC_SYSTEMS; s++) {
			struct rec_run *r = &runs[round * REC_SYSTEMS + s];
			r->mode = modes[s];
			r->crash = crashes[s];
			r->round = round;
			path_printf(r->log_path, sizeof(r->log_path), "%s/%s-%s-r%u.log", logdir, r->mode,
				 r->crash ? "crash" : "nocrash", round);
			fprintf(stderr, "recovery: round %u/%u: %s, %s\n", round + 1, c.rounds, r->mode,
				r->crash ? "crash injection" : "no crashes");
			for (unsigned attempt = 1;; attempt++) {
				r->settle_busy = settle(c.settle_s);
				int ret = run_one(&c, env, r);
				if (ret) {
					fprintf(stderr, "recovery: cannot run: %s\n", strerror(-ret));
					return 1;
				}
				r->attempts = attempt;
				if (r->failure[0] || 100 * r->foreign_share <= c.max_others_pct ||
				    attempt == MAX_ATTEMPTS)
					break;
				fprintf(stderr, "recovery:   other processes used %.0f%% of the machine (more than %u%%): "
						"running it again\n", 100 * r->foreign_share, c.max_others_pct);
			}
			if (r->failure[0]) {
				failed++;
				fprintf(stderr, "recovery:   FAILED: %s (log: %s)\n", r->failure, r->log_path);
			} else {
				fprintf(stderr, "recovery:   %.0f MB/s mean, %u crash(es) in the window, %u recovery time(s); "
					"other processes used %.0f%% of the machine\n", r->mean_mbps, r->crashes_in_window,
					r->nrecoveries, 100 * r->foreign_share);
			}
		}
	}

	struct rec_system_summary sum[REC_SYSTEMS];
	rec_summarise(&c, runs, c.rounds, sum);
	rec_print_table(stdout, &c, sum);
	fflush(stdout);

	struct utsname u;
	char uname_text[512] = "";
	if (!uname(&u))
		snprintf(uname_text, sizeof(uname_text), "%s %s %s %s", u.sysname, u.release, u.version, u.machine);
	if (rec_write_json(&c, runs, c.rounds, sum, uname_text))
		failed++;
	else
		fprintf(stderr, "recovery: results in %s\n", c.json_path);
	if (c.plot_path && !rec_plot(&c, runs))
		fprintf(stderr, "recovery: plot in %s\n", c.plot_path);

	for (unsigned i = 0; i < c.rounds * REC_SYSTEMS; i++)
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
