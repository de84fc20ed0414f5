// SPDX-License-Identifier: MIT
/*
 * System (a): stbench -> broker -> nvmedrv on the NVMe model the broker
 * starts (namespace in RAM), one broker per round:
 *   redleaf run --socket TMP/s --until stbench TMP/storage.yaml
 * The harness reads the broker's output line by line; on stbench's CELL
 * line (the cell starts gap_ms later) and on its DONE line (it then sleeps
 * gap_ms) it samples the CPU time of the broker and all its descendants
 * but the model: the broker's threads, stbench, nvmedrv and the init
 * processes of their namespaces. Everything is idle around the samples, so
 * the difference is the cell's, whatever the pipe's latency, as long as a
 * line is read within gap_ms (else the cell is marked late).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procs.h"
#include "storage.h"

#define MODEL_COMM "redleaf-nvme-mo" /* the model's comm: its name cut to 15 characters */
#define START_TIMEOUT_S 60
#define LOG_TAIL 4096

/* Nanoseconds on a CPU of every thread of pid (schedstat's first field, per thread). */
static uint64_t process_cpu_ns(pid_t pid)
{
	char path[64];
	uint64_t sum = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[320];
		unsigned long long ns;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(d);
	return sum;
}

static bool is_model(pid_t pid)
{
	char path[64], comm[32] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool got = fgets(comm, sizeof(comm), f) != NULL;
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;
	return got && !strcmp(comm, MODEL_COMM);
}

/* CPU nanoseconds of pid and its descendants; the model (and what hangs below it) only with with_model. */
static uint64_t tree_cpu_ns(pid_t pid, unsigned depth, bool with_model)
{
	if (depth > 8 || (!with_model && is_model(pid)))
		return 0;
	uint64_t sum = process_cpu_ns(pid);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return sum;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[320];
		snprintf(p, sizeof(p), "/proc/%d/task/%s/children", (int)pid, e->d_name);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		int child;
		while (fscanf(f, "%d", &child) == 1)
			sum += tree_cpu_ns(child, depth + 1, with_model);
		fclose(f);
	}
	closedir(d);
	return sum;
}

static int write_manifest(const struct st_config *c, const char *path)
{
	char cells[512], broker[64] = "";
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	st_cells_format(c->cells, c->ncells, cells, sizeof(cells));
	if (c->broker_spin_us >= 0)
		snprintf(broker, sizeof(broker), "broker: {spin_us: %d}\n", c->broker_spin_us);
	/*
	 * Queue depth 256 (entries; 255 in flight) so that a batch of 128 is
	 * in flight whole; devmem holds its queues and PRP pages
	 * (nvme_qmem_size(256) is about 1.1 MiB).
	 */
	fprintf(f,
		"# written by bench/storage for one round (docs/storage.md, \"Storage benchmark\")\n"
		"system: storage\n"
		"heap: {size: 64M}\n"
		"%s"
		"domains:\n"
		"  - name: nvme\n"
		"    binary: nvmedrv\n"
		"    args: [--depth, \"256\"]\n"
		"    exports: [BDev]\n"
		"    devmem: 4M\n"
		"    device: {model: nvme, blocks: %u, block_size: 4096}\n"
		"  - name: stbench\n"
		"    binary: stbench\n"
		"    args: [--cells, \"%s\", --ms, \"%u\", --gap-ms, \"%u\"]\n"
		"    imports: [{name: bdev, iface: BDev, from: nvme}]\n",
		broker, c->blocks, cells, c->ms, c->gap_ms);
	return fclose(f) ? -errno : 0;
}

/* The value after "key=" in s, or -1 with *ok cleared. */
static uint64_t field(const char *s, const char *key, bool *ok)
{
	char k[64];
	snprintf(k, sizeof(k), " %s=", key);
	const char *p = strstr(s, k);
	if (!p) {
		*ok = false;
		return 0;
	}
	return strtoull(p + strlen(k), NULL, 10);
}

struct run_state {
	const struct st_config *c;
	unsigned round;
	pid_t broker;
	struct st_result *res;
	uint64_t cpu0[ST_MAX_CELLS];
	double busy0[ST_MAX_CELLS], all0[ST_MAX_CELLS], wall0[ST_MAX_CELLS]; /* for others' share */
	uint64_t verified;
	bool filled, end, failed;
	char panic[300];
	char tail[LOG_TAIL]; /* the broker's last lines, for the error message */
};

static void tail_add(struct run_state *s, const char *line)
{
	size_t have = strlen(s->tail), add = strlen(line) + 1;
	if (add >= sizeof(s->tail))
		return;
	if (have + add >= sizeof(s->tail)) {
		size_t drop = have + add - sizeof(s->tail) + 1;
		memmove(s->tail, s->tail + drop, have - drop + 1);
	}
	strcat(s->tail, line);
	strcat(s->tail, "\n");
}

static void on_line(struct run_state *s, const char *line)
{
	static const char tag[] = "[stbench] ";
	uint64_t now = st_now_ns();
	bool ok = true;

	tail_add(s, line);
	if (strncmp(line, tag, sizeof(tag) - 1))
		return;
	const char *t = line + sizeof(tag) - 1;
	if (!strncmp(t, "panic: ", 7)) {
		snprintf(s->panic, sizeof(s->panic), "%s", t + 7);
		return;
	}
	if (!strncmp(t, "STBENCH CELL ", 13)) {
		unsigned k = (unsigned)strtoul(t + 13, NULL, 10);
		uint64_t t0 = field(t, "t0_ns", &ok);
		if (k >= s->c->ncells || !ok)
			return;
		s->cpu0[k] = tree_cpu_ns(s->broker, 0, false);
		s->all0[k] = (double)tree_cpu_ns(s->broker, 0, true) / 1e9 + st_self_cpu();
		s->busy0[k] = st_machine_busy();
		s->wall0[k] = (double)st_now_ns() / 1e9;
		s->res[k].late = st_now_ns() >= t0;
	} else if (!strncmp(t, "STBENCH DONE ", 13)) {
		unsigned k = (unsigned)strtoul(t + 13, NULL, 10);
		if (k >= s->c->ncells)
			return;
		struct st_result *r = &s->res[k];
		uint64_t cpu1 = tree_cpu_ns(s->broker, 0, false);
		double all1 = (double)tree_cpu_ns(s->broker, 0, true) / 1e9 + st_self_cpu(), busy1 = st_machine_busy();
		double wall = (double)st_now_ns() / 1e9 - s->wall0[k];
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		r->others = -1;
		if (s->busy0[k] >= 0 && busy1 >= 0 && wall > 0) {
			r->others = (busy1 - s->busy0[k] - (all1 - s->all0[k])) / (wall * (double)(ncpu > 0 ? ncpu : 1));
			if (r->others < 0)
				r->others = 0; /* ticks against exact times */
		}
		r->ios = field(t, "ios", &ok);
		r->batches = field(t, "batches", &ok);
		uint64_t t0 = field(t, "t0_ns", &ok), t1 = field(t, "t1_ns", &ok);
		uint64_t p50 = field(t, "lat_p50_ns", &ok), p99 = field(t, "lat_p99_ns", &ok);
		if (!ok || t1 <= t0) {
			snprintf(r->why, sizeof(r->why), "unreadable report: %.150s", t);
			return;
		}
		r->seconds = (double)(t1 - t0) / 1e9;
		r->cpu_s = (double)(cpu1 - s->cpu0[k]) / 1e9;
		r->batch_p50_us = (double)p50 / 1e3;
		r->batch_p99_us = (double)p99 / 1e3;
		r->io_p50_us = r->io_p99_us = -1;
		r->late |= now >= t1 + (uint64_t)s->c->gap_ms * 1000000u;
		r->ran = r->ios > 0;
		if (!r->ran)
			snprintf(r->why, sizeof(r->why), "no I/O done");
		fprintf(stderr, "storage:   (a) %-9s qd %3u: %8.0f IOPS, %6.0f ns CPU per I/O%s\n",
			st_wl[s->c->cells[k].wl].name, s->c->cells[k].qd, st_iops(r), r->cpu_s * 1e9 / (double)r->ios,
			r->late ? " (CPU sampled late)" : "");
	} else if (!strncmp(t, "STBENCH FILLED ", 15)) {
		s->filled = field(t, "verified", &ok) == s->c->blocks && ok;
	} else if (!strncmp(t, "STBENCH VERIFIED ", 17)) {
		uint64_t v = field(t, "verified", &ok);
		s->verified = ok ? v : 0;
	} else if (!strncmp(t, "STBENCH END ", 12)) {
		s->end = field(t, "errors", &ok) == 0 && ok;
	}
}

/* Reads the broker's output until it ends or the deadline passes; lines go to log and on_line(). */
static int watch(struct run_state *s, int fd, FILE *log, uint64_t deadline)
{
	static char buf[1 << 16];
	size_t len = 0;

	for (;;) {
		uint64_t now = st_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 200);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		ssize_t got = read(fd, buf + len, sizeof(buf) - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0;
		len += (size_t)got;
		buf[len] = 0;
		char *start = buf, *nl;
		while ((nl = strchr(start, '\n'))) {
			*nl = 0;
			if (log)
				fprintf(log, "%s\n", start);
			on_line(s, start);
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		if (len == sizeof(buf) - 1)
			len = 0; /* a line longer than the buffer: dropped */
	}
}

/*
 * The folder of the rounds' manifest and socket, made once and removed at
 * exit, also on a signal (procs.h keeps a short list: register once).
 */
static int tmpdir_get(char *dir, size_t len)
{
	static char made[64];

	if (!made[0]) {
		char d[] = "/tmp/redleaf-storage.XXXXXX";
		if (!mkdtemp(d)) {
			int ret = -errno;
			fprintf(stderr, "storage: cannot create a temporary folder: %s\n", strerror(errno));
			return ret;
		}
		snprintf(made, sizeof(made), "%s", d);
		char p[96];
		rl_procs_remove_at_exit(made, 1);
		snprintf(p, sizeof(p), "%s/storage.yaml", made);
		rl_procs_remove_at_exit(p, 0);
		snprintf(p, sizeof(p), "%s/s", made);
		rl_procs_remove_at_exit(p, 0);
	}
	snprintf(dir, len, "%s", made);
	return 0;
}

int st_redleaf_round(const struct st_config *c, unsigned round, struct st_result *res, uint64_t *verified)
{
	char dir[64], manifest[PATH_MAX], sock[PATH_MAX], logpath[PATH_MAX];
	struct run_state *s = calloc(1, sizeof(*s));
	int fds[2] = { -1, -1 }, ret;
	FILE *log = NULL;

	*verified = 0;
	if (!s)
		return -ENOMEM;
	if ((ret = tmpdir_get(dir, sizeof(dir)))) {
		free(s);
		return ret;
	}
	st_path(manifest, sizeof(manifest), "%s/storage.yaml", dir);
	st_path(sock, sizeof(sock), "%s/s", dir);
	if ((ret = write_manifest(c, manifest))) {
		fprintf(stderr, "storage: cannot write %s: %s\n", manifest, strerror(-ret));
		goto out;
	}
	st_path(logpath, sizeof(logpath), "%s/redleaf-r%u.log", c->data_dir, round);
	log = fopen(logpath, "w");
	char **env = rl_procs_env(c->domain_path);
	if (!env || pipe2(fds, O_CLOEXEC) < 0) {
		ret = -ENOMEM;
		rl_procs_env_free(env);
		goto out;
	}
	fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
	char *argv[] = { (char *)c->redleaf, "run", "--socket", sock, "--until", "stbench", manifest, NULL };
	s->c = c;
	s->round = round;
	s->res = res;
	s->broker = rl_procs_exec(argv, env, fds[1], fds[1]);
	rl_procs_env_free(env);
	close(fds[1]);
	fds[1] = -1;
	if (s->broker < 0) {
		ret = s->broker;
		fprintf(stderr, "storage: cannot start %s: %s\n", c->redleaf, strerror(-ret));
		goto out;
	}
	uint64_t deadline = st_now_ns() + (START_TIMEOUT_S + (uint64_t)c->ncells * (c->ms + 3 * c->gap_ms) / 1000 +
					   c->blocks / 1000) * 1000000000ull;
	ret = watch(s, fds[0], log, deadline);
	int status = rl_procs_wait(s->broker, ret ? 0 : 20000);
	if (status == -ETIMEDOUT)
		status = rl_procs_stop(s->broker);
	if (ret == -ETIMEDOUT)
		fprintf(stderr, "storage: (a) round %u did not end in time\n", round + 1);
	else if (s->panic[0])
		fprintf(stderr, "storage: (a) stbench panicked: %s\n", s->panic);
	else if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "storage: (a) the broker exited with status %#x\n", status);
	else if (!s->filled || !s->end)
		fprintf(stderr, "storage: (a) stbench did not %s\n", !s->filled ? "fill and verify the device" : "report its end");
	else if (s->verified != c->blocks)
		fprintf(stderr, "storage: (a) stbench verified %" PRIu64 " of %u blocks\n", s->verified, c->blocks);
	else
		goto good;
	fprintf(stderr, "storage: (a) the broker's last lines (whole log: %s):\n%s", logpath, s->tail);
	ret = ret ? ret : -EIO;
	for (unsigned k = 0; k < c->ncells; k++) {
		if (s->panic[0])
			snprintf(res[k].why, sizeof(res[k].why), "stbench panicked: %.150s", s->panic);
		else if (!res[k].why[0])
			snprintf(res[k].why, sizeof(res[k].why), "the broker's run failed (log: redleaf-r%u.log)", round);
	}
	goto out;
good:
	*verified = s->verified;
	ret = 0;
out:
	if (log)
		fclose(log);
	if (fds[0] >= 0)
		close(fds[0]);
	unlink(manifest);
	unlink(sock);
	free(s);
	return ret;
}
