// SPDX-License-Identifier: MIT
/*
 * bench/ipc's machine: where the broker and the domains are, the CPUs we
 * may use, model, kernel and command line; other processes' share of the
 * CPUs; the cache-line round trip between the first and last CPU.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "floors.h"
#include "ipc.h"

int ipc_machine_paths(void)
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
	    snprintf(g.domain_path, sizeof(g.domain_path), "%s:%s/../domains:%s/../tests/domains", g.exe_dir,
		     g.exe_dir, g.exe_dir) >=
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
double ipc_machine_others_busy(void (*during)(void))
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

static double cpu_seconds(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru))
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

struct load_mark ipc_machine_mark(void)
{
	struct load_mark m = { 0 };

	m.ok = !cpu_times(&m.total, &m.idle);
	m.ours_s = cpu_seconds(RUSAGE_SELF) + cpu_seconds(RUSAGE_CHILDREN);
	return m;
}

double ipc_machine_others_since(const struct load_mark *a)
{
	struct load_mark b = ipc_machine_mark();
	double hz = (double)sysconf(_SC_CLK_TCK);

	if (!a->ok || !b.ok || b.total <= a->total || hz <= 0)
		return -1;
	double busy = (double)((b.total - a->total) - (b.idle - a->idle));
	double others = (busy - (b.ours_s - a->ours_s) * hz) / (double)(b.total - a->total);
	return others < 0 ? 0 : others;
}

/* The distance between the two CPUs --placed uses (the first and last we may use): ticks, or -1. */
double ipc_machine_line_probe(void)
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

void ipc_machine_describe(int argc, char **argv)
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

