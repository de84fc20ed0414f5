// SPDX-License-Identifier: MIT
/*
 * bench/storage (`redleaf bench storage`): block I/O through the NVMe
 * driver domain against the same driver without isolation and against
 * the Linux path (docs/storage.md, "Storage benchmark"). Every round runs
 * (a), (b), io_uring and fio one after the other, so each ratio compares
 * figures taken minutes apart at most on this shared machine.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "opts.h"
#include "procs.h"
#include "samples.h"
#include "storage.h"
#include "workload.h"

#define TMPFS_MAGIC_NUMBER 0x01021994
#define EXT4_MAGIC_NUMBER 0xEF53
#define XFS_MAGIC_NUMBER 0x58465342
#define BTRFS_MAGIC_NUMBER 0x9123683E

static void usage(FILE *f)
{
	fprintf(f,
		"usage: storage [--quick] [--rounds N] [--ms N] [--blocks N] [--cells LIST]\n"
		"               [--dir DIR] [--direct] [--no-fio] [--json FILE] [--plot FILE | --no-plot]\n"
		"               [--broker-spin-us N] [--redleaf PATH] [--model PATH] [--domain-path DIRS]\n"
		"\n"
		"Block I/O on the NVMe model, three ways, every round in the same run:\n"
		"  (a) redleaf   the bench domain stbench -> broker -> the NVMe driver domain nvmedrv,\n"
		"                BDev.batch with a batch of QD I/Os (a broker per round)\n"
		"  (b) native    the same driver library linked into this process, no isolation,\n"
		"                on a model process of its own: the same batches (the baseline)\n"
		"  (c) io_uring  liburing on a file with the same blocks, QD I/Os per submission;\n"
		"      fio       fio's io_uring engine on that file, same patterns and depths\n"
		"The model's namespace is in RAM. Workloads: 4 KiB random read and write at QD 1,\n"
		"32, 128; 128 KiB sequential read and write (32 consecutive 4 KiB BDev blocks per\n"
		"I/O) at QD 1 and 4 (a batch holds at most 128 blocks). Reports IOPS, MB/s,\n"
		"latency per batch call (and per I/O for fio), CPU time per I/O on the driver\n"
		"side ((a): broker + stbench + nvmedrv; (b), io_uring: this process; fio: its\n"
		"own; never the model's), and the ratios (a)/(b) and (a)/io_uring per round,\n"
		"as medians over rounds with min..max. Every system but fio reads every block\n"
		"back after its cells and checks what was last written there; any error, a\n"
		"cell without I/O or a failed check makes the exit status 1. Slow figures never do.\n"
		"\n"
		"  --quick          a smoke test: 1 round, 150 ms per cell, 4096 blocks\n"
		"  --rounds N       rounds, 1..50 (default 3)\n"
		"  --ms N           timed window of every cell, 10..60000 ms (default 1000)\n"
		"  --blocks N       device and file size in 4 KiB blocks, 1024..1048576, a multiple\n"
		"                   of 128 (default 32768 = 128 MiB)\n"
		"  --cells LIST     WORKLOAD:QD,... of randread, randwrite, seqread, seqwrite (default\n"
		"                   randread:1,randread:32,randread:128,randwrite:1,...,seqwrite:4)\n"
		"  --dir DIR        where the file of (c) goes (default /dev/shm, tmpfs); it is\n"
		"                   removed at the end\n"
		"  --direct         open it with O_DIRECT (io_uring and fio); default: buffered\n"
		"  --no-fio         leave fio out (without fio installed it is left out anyway,\n"
		"                   after trying to install it when run as root)\n"
		"  --json FILE      results (default: BUILD/bench/results/storage.json)\n"
		"  --plot FILE      PNG of IOPS against QD (default: the JSON path with .png)\n"
		"  --no-plot        no plot\n"
		"  --broker-spin-us N  (a): the manifest's broker spin_us, how long waiters spin\n"
		"                   before they sleep, 0..1000 (default: the broker's, 5)\n"
		"  --redleaf PATH   the redleaf binary (default: BUILD/src/redleaf)\n"
		"  --model PATH     redleaf-nvme-model (default: BUILD/src/broker/devices/redleaf-nvme-model)\n"
		"  --domain-path DIRS  REDLEAF_DOMAIN_PATH for the broker (default:\n"
		"                   BUILD/bench/storage:BUILD/domains)\n"
		"\n"
		"BUILD is the build folder this program was built in (two folders up from it).\n"
		"Progress goes to stderr, the table to stdout. The broker's logs, fio's answers\n"
		"and the plot's data go to FILE-without-.json-data/ (storage.gp beside this\n"
		"program re-plots from there).\n");
}

static unsigned parse_uint(const char *opt, const char *v, unsigned min, unsigned max)
{
	unsigned long long n;
	if (rl_opt_count("storage", opt, v, min, max, &n))
		exit(2);
	return (unsigned)n;
}

uint64_t st_now_ns(void)
{
	return rl_procs_now_ns();
}

void st_result_finish(struct st_result *r, double cpu_s, uint64_t window_ns, const struct st_lat *lat,
		      const char *who, const char *workload, unsigned qd)
{
	struct rl_stats s;

	r->cpu_s = cpu_s;
	r->seconds = (double)window_ns / 1e9;
	r->batch_p50_us = r->batch_p99_us = r->io_p50_us = r->io_p99_us = -1;
	if (!rl_stats_compute(lat->v, lat->n, &s)) {
		r->batch_p50_us = s.median / 1e3;
		r->batch_p99_us = s.p99 / 1e3;
	}
	r->ran = r->ios > 0;
	if (!r->ran)
		snprintf(r->why, sizeof(r->why), "no I/O done");
	fprintf(stderr, "storage:   %s %-9s qd %3u: %8.0f IOPS, %6.0f ns CPU per I/O\n", who, workload, qd, st_iops(r),
		r->ios ? r->cpu_s * 1e9 / (double)r->ios : 0);
}

double st_self_cpu(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void st_path(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "storage: path too long: %.80s...\n", out);
		exit(1);
	}
}

int st_which(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");
		if (n && (size_t)snprintf(buf, len, "%.*s/%s", (int)n, p, name) < len && !access(buf, X_OK))
			return 0;
		p += n + (p[n] == ':');
	}
	return -ENOENT;
}

static const struct option options[] = {
	{ "quick", no_argument, NULL, 'q' },
	{ "rounds", required_argument, NULL, 'n' },
	{ "ms", required_argument, NULL, 'm' },
	{ "blocks", required_argument, NULL, 'b' },
	{ "cells", required_argument, NULL, 'c' },
	{ "dir", required_argument, NULL, 'd' },
	{ "direct", no_argument, NULL, 'D' },
	{ "no-fio", no_argument, NULL, 'F' },
	{ "json", required_argument, NULL, 'j' },
	{ "plot", required_argument, NULL, 'p' },
	{ "no-plot", no_argument, NULL, 'P' },
	{ "broker-spin-us", required_argument, NULL, 's' },
	{ "redleaf", required_argument, NULL, 'r' },
	{ "model", required_argument, NULL, 'M' },
	{ "domain-path", required_argument, NULL, 'L' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Returns 0 to go on, or -1 with the exit status in *status. */
static int options_parse(int argc, char **argv, struct st_config *c, bool *no_plot, int *status)
{
	int rounds = -1, ms = -1, blocks = -1, o;
	const char *cells = NULL;

	memset(c, 0, sizeof(*c));
	c->gap_ms = 50;
	c->broker_spin_us = -1;
	c->dir = "/dev/shm";
	*no_plot = false;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (o) {
		case 'q': c->quick = true; break;
		case 'n': rounds = (int)parse_uint("--rounds", optarg, 1, 50); break;
		case 'm': ms = (int)parse_uint("--ms", optarg, 10, 60000); break;
		case 'b': blocks = (int)parse_uint("--blocks", optarg, ST_MIN_BLOCKS, ST_MAX_BLOCKS); break;
		case 'c': cells = optarg; break;
		case 'd': c->dir = optarg; break;
		case 'D': c->direct = true; break;
		case 'F': c->no_fio = true; break;
		case 'j': c->json_path = optarg; break;
		case 'p': c->plot_path = optarg; break;
		case 'P': *no_plot = true; break;
		case 's': c->broker_spin_us = (int)parse_uint("--broker-spin-us", optarg, 0, 1000); break;
		case 'r': c->redleaf = optarg; break;
		case 'M': c->model = optarg; break;
		case 'L': c->domain_path = optarg; break;
		case 'h': usage(stdout); *status = 0; return -1;
		default:
			if (optopt && optopt != '?')
				fprintf(stderr, "storage: option '%s' needs a value\n", argv[optind - 1]);
			else
				fprintf(stderr, "storage: unknown option '%s'\n", argv[optind - 1]);
			fprintf(stderr, "storage: 'storage --help' lists the options\n");
			*status = 2;
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "storage: unexpected argument '%s' ('storage --help' lists the options)\n", argv[optind]);
		*status = 2;
		return -1;
	}
	if (*no_plot && c->plot_path) {
		fprintf(stderr, "storage: --plot and --no-plot together\n");
		*status = 2;
		return -1;
	}
	c->rounds = rounds > 0 ? (unsigned)rounds : c->quick ? 1 : 3;
	c->ms = ms > 0 ? (unsigned)ms : c->quick ? 150 : 1000;
	c->blocks = blocks > 0 ? (unsigned)blocks : c->quick ? 4096 : 32768;
	if (c->blocks % ST_MAX_BATCH) {
		fprintf(stderr, "storage: --blocks must be a multiple of %u, not %u\n", ST_MAX_BATCH, c->blocks);
		*status = 2;
		return -1;
	}
	if (cells) {
		int n = st_cells_parse(cells, c->cells);
		if (n < 0) {
			fprintf(stderr, "storage: --cells: cannot use '%s' (WORKLOAD:QD,... of randread, randwrite, "
					"seqread, seqwrite; at most %u cells; QD x blocks per I/O at most %u)\n",
				cells, ST_MAX_CELLS, ST_MAX_BATCH);
			*status = 2;
			return -1;
		}
		c->ncells = (unsigned)n;
	} else {
		c->ncells = st_cells_default(c->cells);
	}
	return 0;
}

struct paths {
	char redleaf[PATH_MAX], model[PATH_MAX], domain_path[2 * PATH_MAX + 2], json[PATH_MAX], plot[PATH_MAX],
		script[PATH_MAX];
};

/* Fills what the options left open and makes the output folders. Returns 0, or -1 after saying why. */
static int paths_find(struct st_config *c, bool no_plot, struct paths *p)
{
	char self[PATH_MAX];

	if (rl_procs_self_dir(self, sizeof(self))) {
		fprintf(stderr, "storage: cannot find my own folder\n");
		return -1;
	}
	/* self is BUILD/bench/storage */
	if (!c->redleaf) {
		st_path(p->redleaf, sizeof(p->redleaf), "%s/../../src/redleaf", self);
		c->redleaf = p->redleaf;
	}
	if (!c->model) {
		st_path(p->model, sizeof(p->model), "%s/../../src/broker/devices/redleaf-nvme-model", self);
		c->model = p->model;
	}
	if (!c->domain_path) {
		st_path(p->domain_path, sizeof(p->domain_path), "%s:%s/../../domains", self, self);
		c->domain_path = p->domain_path;
	}
	if (!c->json_path) {
		st_path(p->json, sizeof(p->json), "%s/../results/storage.json", self);
		c->json_path = p->json;
	}
	size_t n = strlen(c->json_path);
	int stem = (int)(n > 5 && !strcmp(c->json_path + n - 5, ".json") ? n - 5 : n);
	if (!no_plot && !c->plot_path) {
		st_path(p->plot, sizeof(p->plot), "%.*s.png", stem, c->json_path);
		c->plot_path = p->plot;
	}
	st_path(p->script, sizeof(p->script), "%s/storage.gp", self);
	c->plot_script = p->script;
	st_path(c->data_dir, sizeof(c->data_dir), "%.*s-data", stem, c->json_path);
	const char *need[] = { c->redleaf, c->model };
	for (unsigned i = 0; i < 2; i++) {
		if (access(need[i], X_OK)) {
			fprintf(stderr, "storage: no program at %s (build it, or give --%s)\n", need[i],
				i ? "model" : "redleaf");
			return -1;
		}
	}
	if (rl_procs_mkdirs(c->data_dir)) {
		fprintf(stderr, "storage: cannot create %s: %s\n", c->data_dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The file of (c) and what it lies on. Returns 0, or -1 after saying why. */
static int file_place(struct st_config *c)
{
	static char fs[64];
	struct statfs s;

	st_path(c->file, sizeof(c->file), "%s/redleaf-storage-%d.img", c->dir, (int)getpid());
	if (statfs(c->dir, &s) < 0) {
		fprintf(stderr, "storage: --dir %s: %s\n", c->dir, strerror(errno));
		return -1;
	}
	switch ((unsigned long)s.f_type) {
	case TMPFS_MAGIC_NUMBER: snprintf(fs, sizeof(fs), "tmpfs (RAM)"); break;
	case EXT4_MAGIC_NUMBER: snprintf(fs, sizeof(fs), "disk (ext4)"); break;
	case XFS_MAGIC_NUMBER: snprintf(fs, sizeof(fs), "disk (xfs)"); break;
	case BTRFS_MAGIC_NUMBER: snprintf(fs, sizeof(fs), "disk (btrfs)"); break;
	default: snprintf(fs, sizeof(fs), "file system %#lx", (unsigned long)s.f_type); break;
	}
	c->file_fs = fs;
	rl_procs_remove_at_exit(c->file, 0);
	return 0;
}

/* fio, installed with the project's apt helper when missing and we are root; else left out. */
static void fio_find(struct st_config *c)
{
	char path[PATH_MAX];

	if (c->no_fio || !st_which("fio", path, sizeof(path)))
		return;
	if (geteuid() == 0) {
		char cmd[PATH_MAX + 128];
		fprintf(stderr, "storage: fio is missing; installing it (Debian package fio)\n");
		snprintf(cmd, sizeof(cmd), ". '%s/scripts/apt.sh' && { apt_install fio || { apt_update 3 && apt_install fio; }; }",
			 ST_SOURCE_DIR);
		char *argv[] = { "/bin/sh", "-c", cmd, NULL };
		char *out = NULL;
		/* At most 2 minutes, so the CI smoke test (5 minutes) still fits when the mirror is slow. */
		int rc = rl_procs_run(argv, 120000, &out);
		if (rc)
			fprintf(stderr, "storage: installing fio failed (%d): %.300s\n", rc, out ? out : "");
		free(out);
		if (!st_which("fio", path, sizeof(path)))
			return;
	}
	fprintf(stderr, "storage: fio is not installed (apt-get install fio, as root); its rows are left out\n");
	c->no_fio = true;
}

static void machine_now(double load[3])
{
	FILE *f = fopen("/proc/loadavg", "re");
	load[0] = load[1] = load[2] = -1;
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
			load[0] = load[1] = load[2] = -1;
		fclose(f);
	}
}

static void machine_init(struct st_machine *m)
{
	struct utsname u;
	time_t t = time(NULL);
	struct tm tm;

	memset(m, 0, sizeof(*m));
	gmtime_r(&t, &tm);
	strftime(m->date, sizeof(m->date), "%Y-%m-%d %H:%M UTC", &tm);
	if (!uname(&u))
		snprintf(m->uname, sizeof(m->uname), "%s %s %s", u.sysname, u.release, u.machine);
	m->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	machine_now(m->load_before);
}

static const char *fail_text(int err)
{
	switch (err) {
	case -EILSEQ: return "the data check failed (a block read back wrong, or not every block checked)";
	case -ENODATA: return "a cell did no I/O";
	default: return strerror(-err);
	}
}

/* Marks every cell of a system's failed round as not counted, keeping the first reason. */
static void round_failed(const struct st_config *c, struct st_result *res, int err)
{
	for (unsigned k = 0; k < c->ncells; k++) {
		if (!res[k].why[0])
			snprintf(res[k].why, sizeof(res[k].why), "the round failed: %s", fail_text(err));
		res[k].ran = false;
	}
}

double st_machine_busy(void)
{
	unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return -1;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle, &iowait, &irq,
		       &softirq, &steal);
	fclose(f);
	if (n != 8)
		return -1;
	return (double)(user + nice + system + irq + softirq + steal) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of this process and of every descendant reaped (the broker reaps its domains and model). */
static double our_cpu(void)
{
	struct rusage kids;
	getrusage(RUSAGE_CHILDREN, &kids);
	return st_self_cpu() + (double)(kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) +
	       (double)(kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e6;
}

/* One round of every system. Returns the number of systems that failed. */
static int round_run(const struct st_config *c, unsigned round, struct st_result *all, struct st_verify *ver)
{
	int failed = 0;
	uint64_t v;

	for (unsigned s = 0; s < ST_NSYS; s++) {
		struct st_result *res = st_res(all, c, round, (enum st_system)s, 0);
		int ret;
		if (s == ST_SYS_FIO && c->no_fio) {
			for (unsigned k = 0; k < c->ncells; k++) {
				snprintf(res[k].why, sizeof(res[k].why), "fio left out");
				res[k].others = -1;
			}
			continue;
		}
		fprintf(stderr, "storage: round %u/%u: %s\n", round + 1, c->rounds, st_sys_label[s]);
		v = 0;
		double busy0 = st_machine_busy(), ours0 = our_cpu();
		uint64_t t0 = st_now_ns();
		switch (s) {
		case ST_SYS_REDLEAF: ret = st_redleaf_round(c, round, res, &v); break;
		case ST_SYS_NATIVE: ret = st_native_round(c, round, res, &v); break;
		case ST_SYS_URING: ret = st_uring_round(c, round, res, &v); break;
		default: ret = st_fio_round(c, round, res); v = 1; break;
		}
		double busy1 = st_machine_busy(), wall = (double)(st_now_ns() - t0) / 1e9;
		double others = busy0 >= 0 && busy1 >= 0 && wall > 0 ?
			(busy1 - busy0 - (our_cpu() - ours0)) / (wall * (double)sysconf(_SC_NPROCESSORS_ONLN)) : -1;
		/* Tick-based /proc/stat against exact rusage: a quiet machine can come out slightly below 0. */
		if (busy0 >= 0 && busy1 >= 0 && others < 0)
			others = 0;
		/*
		 * (a) measures it per cell (redleaf.c): the broker does not hand
		 * all of its system's CPU time up through wait(), so a whole
		 * round's figure would count some of (a) as others.
		 */
		if (s == ST_SYS_REDLEAF) {
			others = -1;
			for (unsigned k = 0; k < c->ncells; k++)
				if (res[k].others > others)
					others = res[k].others;
		}
		for (unsigned k = 0; k < c->ncells && s != ST_SYS_REDLEAF; k++)
			res[k].others = others;
		if (others >= 0)
			fprintf(stderr, "storage:   other processes used %.0f%% of the machine meanwhile%s\n", 100 * others,
				s == ST_SYS_REDLEAF ? " (the most in one cell)" : "");
		if (s < ST_SYS_FIO && (round == 0 || v < ver->blocks[s]))
			ver->blocks[s] = v;
		if (!ret && s < ST_SYS_FIO && v != c->blocks)
			ret = -EILSEQ;
		for (unsigned k = 0; !ret && k < c->ncells; k++)
			if (!res[k].ran)
				ret = -ENODATA;
		if (ret) {
			round_failed(c, res, ret);
			fprintf(stderr, "storage:   %s FAILED in round %u: %s\n", st_sys_label[s], round + 1, fail_text(ret));
			failed++;
		}
	}
	return failed;
}

int main(int argc, char **argv)
{
	struct st_config c;
	struct paths paths;
	struct st_machine m;
	struct st_verify ver = { { 0 } };
	bool no_plot;
	int status, failed = 0;

	if (options_parse(argc, argv, &c, &no_plot, &status))
		return status;
	rl_procs_init();
	if (paths_find(&c, no_plot, &paths) || file_place(&c))
		return 1;
	fio_find(&c);
	struct st_result *all = calloc((size_t)c.rounds * ST_NSYS * c.ncells, sizeof(*all));
	struct st_summary *sum = calloc((size_t)ST_NSYS * c.ncells, sizeof(*sum));
	struct st_ratio *ratio = calloc(c.ncells, sizeof(*ratio));
	if (!all || !sum || !ratio) {
		fprintf(stderr, "storage: out of memory\n");
		return 1;
	}
	machine_init(&m);
	fprintf(stderr, "storage: %u round(s) of %u cells, %u ms each, %u blocks; the file of (c): %s on %s%s\n",
		c.rounds, c.ncells, c.ms, c.blocks, c.file, c.file_fs, c.direct ? ", O_DIRECT" : "");
	for (unsigned round = 0; round < c.rounds; round++)
		failed += round_run(&c, round, all, &ver);
	machine_now(m.load_after);

	st_summarise(&c, all, sum, ratio);
	st_print_table(&c, &m, all, sum, ratio, &ver);
	fflush(stdout);
	if (st_write_json(&c, &m, all, sum, ratio, &ver))
		failed++;
	else
		fprintf(stderr, "storage: results in %s\n", c.json_path);
	if (c.plot_path && !st_plot(&c, sum))
		fprintf(stderr, "storage: plot in %s\n", c.plot_path);
	unlink(c.file);
	free(all);
	free(sum);
	free(ratio);
	rl_procs_cleanup();
	if (failed) {
		fprintf(stderr, "storage: %d system round(s) failed\n", failed);
		return 1;
	}
	return 0;
}
