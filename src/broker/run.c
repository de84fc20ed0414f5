// SPDX-License-Identifier: MIT
/*
 * `redleaf run`: load and check the manifest, build the shared memory, wire
 * the capabilities, start the domains, run the proxy thread and the event
 * loop, and take everything down again -- also when something fails half way.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <unistd.h>

#include "../cli.h"
#include "caps.h"
#include "control.h"
#include "device.h"
#include "proxy.h"
#include "recovery.h"
#include "spawn.h"
#include "seccomp_policy.h"
#include "uring.h"

/* ---- checking the manifest against the IDL and the file system ---- */

static int manifest_error(const struct rl_manifest *m, struct rl_manifest_pos pos, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%u:%u: error: ", m->path, pos.line, pos.col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

static bool executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* Joins dir and name into out (PATH_MAX); false when the result would not fit. */
static bool join_path(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return n > 0 && n < PATH_MAX;
}

/*
 * The files of a domain's ring, opened read-write with the broker's rights
 * (relative paths from the manifest's folder); the ring made at each start
 * registers them (uring.c). Closed in teardown().
 */
static int open_uring_files(const struct rl_manifest *m, const struct rl_manifest_domain *md, struct domain *d)
{
	char path[PATH_MAX];

	for (unsigned k = 0; k < md->nuring_files; k++) {
		const char *f = md->uring_files[k];
		bool fits = f[0] == '/' ? snprintf(path, sizeof(path), "%s", f) < (int)sizeof(path)
					: join_path(path, m->dir, f);
		d->uring_files[k] = fits ? open(path, O_RDWR | O_CLOEXEC | (md->uring_direct ? O_DIRECT : 0)) : -1;
		if (d->uring_files[k] < 0 && fits && md->uring_direct && errno == EINVAL)
			return manifest_error(m, md->uring_pos, "domain '%s': cannot open uring file '%s' for direct I/O "
					      "(its filesystem does none); drop 'direct: true'",
					      md->name, path);
		if (d->uring_files[k] < 0)
			return manifest_error(m, md->uring_pos, "domain '%s': cannot open uring file '%s': %s", md->name,
					      fits ? path : f, fits ? strerror(errno) : "path too long");
	}
	return 0;
}

/* Where domain binaries named without a slash are looked for. */
static int resolve_binary(const struct rl_manifest *m, const struct rl_manifest_domain *md, char *out)
{
	char self[PATH_MAX];
	const char *bin = md->binary;

	if (strchr(bin, '/')) {
		const char *rel = bin;
		while (rel[0] == '.' && rel[1] == '/') /* "./x" names x beside the manifest: say so */
			rel += 2;
		bool fits = bin[0] == '/' ? strlen(bin) < PATH_MAX && strcpy(out, bin)
					  : join_path(out, m->dir, rel);
		if (fits && executable(out))
			return 0;
		return manifest_error(m, md->pos, "domain '%s': binary '%s' is not an executable file (%s)",
				      md->name, out, strerror(errno));
	}
	const char *env = getenv("REDLEAF_DOMAIN_PATH");
	if (env) {
		char *copy = strdup(env), *save = NULL;
		for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			if (join_path(out, dir, bin) && executable(out)) {
				free(copy);
				return 0;
			}
		}
		free(copy);
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		/* Beside an installed redleaf, or in the build tree (domains, then the tests' fixtures). */
		static const char *const rel[] = { "../domains", "domains", "../libexec/redleaf", "../tests/domains" };
		for (unsigned i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			char dir[PATH_MAX];
			if (join_path(dir, self, rel[i]) && join_path(out, dir, bin) && executable(out))
				return 0;
		}
	}
	return manifest_error(m, md->pos,
			      "domain '%s': binary '%s' not found (searched $REDLEAF_DOMAIN_PATH and "
			      "the domains folder beside redleaf)", md->name, bin);
}

static int check_manifest(struct broker *b)
{
	const struct rl_manifest *m = b->m;

	for (unsigned i = 0; i < m->ndomains; i++) {
		const struct rl_manifest_domain *md = &m->domains[i];
		for (unsigned k = 0; k < md->nexports; k++)
			if (!rl_idl_iface_by_name(md->exports[k]))
				return manifest_error(m, md->export_pos[k],
						      "unknown interface '%s' (not in any .idl file)",
						      md->exports[k]);
		for (unsigned k = 0; k < md->nimports; k++)
			if (!rl_idl_iface_by_name(md->imports[k].iface))
				return manifest_error(m, md->imports[k].iface_pos,
						      "unknown interface '%s' (not in any .idl file)",
						      md->imports[k].iface);
		int ret = resolve_binary(m, md, b->dom[i + 1].binary);
		if (ret)
			return ret;
		if ((ret = open_uring_files(m, md, &b->dom[i + 1])))
			return ret;
		if (md->cpu >= 0 && md->cpu >= sysconf(_SC_NPROCESSORS_CONF))
			return manifest_error(m, md->pos, "domain '%s': cpu %d does not exist (this machine has %ld)",
					      md->name, md->cpu, sysconf(_SC_NPROCESSORS_CONF));
	}
	/* Proxy thread k goes on broker cpu + k. */
	long last = (long)m->broker_cpu + (long)m->broker_threads - 1;
	if (m->broker_cpu >= 0 && last >= sysconf(_SC_NPROCESSORS_CONF))
		return manifest_error(m, m->broker_cpu_pos,
				      "broker: %u proxy thread(s) from cpu %d need CPUs up to %ld (this machine has %ld)",
				      m->broker_threads, m->broker_cpu, last, sysconf(_SC_NPROCESSORS_CONF));
	return 0;
}

/* ---- building the system ---- */

static void *map_memfd(const char *name, size_t size, int *fd_out)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		close(fd);
		return NULL;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	*fd_out = fd;
	return p;
}

static int build(struct broker *b)
{
	const struct rl_manifest *m = b->m;
	int ret;

	b->spin_ns = m->spin_us * 1000;
	b->nworkers = m->broker_threads;
	/* The proxy threads and every domain may spin at once: do they fit the CPUs we may use? */
	cpu_set_t cpus;
	long ncpu = sched_getaffinity(0, sizeof(cpus), &cpus) ? sysconf(_SC_NPROCESSORS_ONLN)
							     : CPU_COUNT(&cpus);
	long spinners = (long)m->ndomains + (long)b->nworkers;
	b->spin_yield = spinners > ncpu;
	if (m->poll) {
		/* Pinned polling: nobody sleeps. Only sane with a CPU for every spinning process. */
		b->spin_ns = UINT32_MAX;
		b->spin_yield = false;
		if (spinners > ncpu)
			fprintf(stderr, "redleaf: warning: poll: true with %u domains and %u proxy thread(s) on "
				"%ld CPU(s): spinning processes will take each other's time slices\n",
				m->ndomains, b->nworkers, ncpu);
	}
	ret = rl_heap_create(&b->heap, m->heap_size, m->hugepages);
	if (ret) {
		fprintf(stderr, "redleaf: cannot create the %llu-byte heap%s: %s\n",
			(unsigned long long)m->heap_size, m->hugepages ? " on hugepages" : "",
			strerror(-ret));
		return ret;
	}
	b->bell = map_memfd("redleaf-bell", 4096, &b->bell_fd);
	if (!b->bell || rl_broker_alloc_tables(b)) {
		fprintf(stderr, "redleaf: out of memory setting up the broker\n");
		return -ENOMEM;
	}

	b->ndom = m->ndomains;
	for (unsigned i = 0; i < m->ndomains; i++) {
		struct domain *d = &b->dom[i + 1];
		const struct rl_manifest_domain *md = &m->domains[i];
		d->id = (uint16_t)(i + 1);
		d->broker = b;
		d->m = md;
		d->pidfd = -1;
		d->start_pipe = -1;
		d->status_fd = -1;
		d->out_fd = -1;
		d->standby = (struct rl_proc){ .pid = 0, .pidfd = -1, .status_fd = -1, .start_pipe = -1, .out_fd = -1 };
		d->devmem_fd = -1;
		d->loans_head = UINT32_MAX;
		snprintf(d->name, sizeof(d->name), "%s", md->name);
		rl_quota_init(b, d); /* the manifest's `quota:` */
		if (md->devmem) {
			void *mem = map_memfd("redleaf-devmem", md->devmem, &d->devmem_fd);
			if (!mem) {
				fprintf(stderr, "redleaf: cannot create %llu bytes of device memory for '%s': %s\n",
					(unsigned long long)md->devmem, d->name, strerror(errno));
				return -ENOMEM;
			}
			munmap(mem, md->devmem); /* the broker never touches it; the fd keeps it alive */
		}
		d->chan = map_memfd("redleaf-channel", sizeof(struct rl_chan), &d->channel_fd);
		if (!d->chan) {
			fprintf(stderr, "redleaf: cannot create the channel of '%s': %s\n", d->name,
				strerror(errno));
			return -errno;
		}
		struct rl_chan_ctl *ctl = &d->chan->ctl;
		ctl->magic = RL_CHAN_MAGIC;
		ctl->domain_id = d->id;
		ctl->spin_ns = b->spin_ns;
		ctl->spin_yield = b->spin_yield;
		ctl->devmem_size = md->devmem;
		snprintf(ctl->name, sizeof(ctl->name), "%s", d->name);
		for (unsigned k = 0; k < md->nexports; k++) {
			d->exports[k] = rl_idl_iface_by_name(md->exports[k])->id;
			ctl->export_iface[k] = d->exports[k];
		}
		d->nexports = ctl->nexports = (uint16_t)md->nexports;
		for (unsigned k = 0; k < md->nsyscalls && k < RL_MAX_GROUPS; k++)
			snprintf(ctl->groups[k], RL_NAME_MAX, "%s", md->syscalls[k]);
		ctl->ngroups = (uint16_t)(md->nsyscalls < RL_MAX_GROUPS ? md->nsyscalls : RL_MAX_GROUPS);
	}
	for (unsigned i = 1; i <= b->ndom; i++)
		rl_caps_wire(b, &b->dom[i], NULL);
	if ((ret = rl_proxy_init_locks(b))) {
		fprintf(stderr, "redleaf: cannot set up the proxy threads' locks: %s\n", strerror(-ret));
		return ret;
	}
	return 0;
}

/* Kills the process behind *pidfd (if any), reaps it and closes the descriptor. */
static void kill_pidfd(const struct domain *d, int *pidfd)
{
	siginfo_t si;
	struct pollfd pfd = { .fd = *pidfd, .events = POLLIN };

	if (*pidfd < 0)
		return;
	/* Its init ends it (rl_spawn_kill); an init that does not within a second is killed itself. */
	if (rl_spawn_kill(d, *pidfd) || poll(&pfd, 1, 1000) != 1)
		syscall(SYS_pidfd_send_signal, *pidfd, SIGKILL, NULL, 0);
	waitid(P_PIDFD, (id_t)*pidfd, &si, WEXITED);
	close(*pidfd);
	*pidfd = -1;
}

static void kill_and_reap(struct broker *b)
{
	for (unsigned i = 1; i <= b->ndom; i++) {
		struct domain *d = &b->dom[i];
		kill_pidfd(d, &d->pidfd);
		if (d->out_fd >= 0) /* what it wrote before the end */
			rl_control_output(b, d, -1, true);
		if (d->standby.pidfd >= 0) { /* its standby, never activated */
			kill_pidfd(d, &d->standby.pidfd);
			rl_spawn_close_proc(&d->standby);
		}
	}
	for (unsigned i = 1; i <= b->ndom; i++) {
		if (b->dom[i].start_pipe >= 0)
			close(b->dom[i].start_pipe);
		b->dom[i].start_pipe = -1;
		for (unsigned k = 0; b->dom[i].m && k < b->dom[i].m->nuring_files; k++)
			if (b->dom[i].uring_files[k] > 0)
				close(b->dom[i].uring_files[k]);
		if (b->dom[i].status_fd >= 0)
			close(b->dom[i].status_fd);
		b->dom[i].status_fd = -1;
		rl_uring_watch_free(b->dom[i].ring);
		b->dom[i].ring = NULL;
		rl_seccomp_prog_free(&b->dom[i].filter);
	}
}

static void teardown(struct broker *b)
{
	kill_and_reap(b);
	rl_devices_stop(b); /* the hardware goes last: no driver is left to touch it */
	rl_control_close(b);
	for (unsigned i = 1; i <= b->ndom; i++) {
		struct domain *d = &b->dom[i];
		if (d->chan)
			munmap(d->chan, sizeof(struct rl_chan));
		if (d->chan)
			close(d->channel_fd);
		if (d->devmem_fd >= 0)
			close(d->devmem_fd);
		free(d->backlog.q);
	}
	if (b->bell) {
		munmap(b->bell, 4096);
		close(b->bell_fd);
	}
	free(b->conts);
	free(b->expected_borrows);
	if (b->wake_fd >= 0)
		close(b->wake_fd);
	rl_heap_destroy(&b->heap);
	rl_manifest_free(b->m);
}

static void stop_proxy_threads(struct broker *b)
{
	atomic_store(&b->stop, 1);
	rl_broker_ring_bell(b);
	for (unsigned k = 0; k < b->nworkers; k++)
		if (b->workers[k].started) {
			pthread_join(b->workers[k].thread, NULL);
			b->workers[k].started = false;
		}
}

/* --until D1,D2: marks those domains; 0, or 2 (a usage error) after saying why. */
static int parse_until(struct broker *b, const struct rl_run_options *opt)
{
	char *list = strdup(opt->until), *save = NULL;

	if (!list) {
		fprintf(stderr, "redleaf: out of memory\n");
		return 2;
	}
	for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		const struct rl_manifest_domain *u = rl_manifest_domain(b->m, name);
		if (!u) {
			fprintf(stderr, "redleaf: --until: no domain named '%s' in %s\n", name, opt->manifest);
			free(list);
			return 2;
		}
		unsigned id = (unsigned)(u - b->m->domains + 1);
		if (!b->until[id])
			b->until_left++;
		b->until[id] = true;
	}
	free(list);
	if (!b->until_left) {
		fprintf(stderr, "redleaf: --until needs domain names\n");
		return 2;
	}
	return 0;
}

/* Starts every domain the manifest starts, each once it has exec'd; 0 or -1 after saying why. */
static int start_domains(struct broker *b)
{
	char waiting[64];

	if (b->m->poll)
		snprintf(waiting, sizeof(waiting), "pure polling, never sleep");
	else
		snprintf(waiting, sizeof(waiting), "spin %u us by %s then sleep", b->spin_ns / 1000,
			 b->spin_yield ? "yielding" : "pausing");
	rl_broker_log(b, "system '%s': %u domain(s), heap %llu MiB (%u slots), waiting: %s, control socket %s",
		      b->m->system, b->ndom, (unsigned long long)(b->heap.size >> 20), b->heap.hdr->nslots,
		      waiting, b->socket_path);
	for (unsigned i = 1; i <= b->ndom; i++) {
		struct domain *d = &b->dom[i];
		if (!d->m->start)
			continue;
		int ret = rl_spawn_domain(b, d, true);
		if (ret) {
			fprintf(stderr, "redleaf: cannot start domain '%s': %s\n", d->name, strerror(-ret));
			return -1;
		}
		rl_broker_log(b, "%s: started, pid %d", d->name, d->pid);
		if (d->m->standby) /* its first standby, once the proxy threads run */
			rl_recovery_schedule_standby(b, d, rl_now_ns());
	}
	return 0;
}

/* Starts the proxy threads, pinned where the manifest says; 0 or -1 after saying why. */
static int start_proxy_threads(struct broker *b)
{
	b->proxy_t0 = rl_proxy_ticks();
	b->proxy_ns0 = rl_now_ns();
	for (unsigned k = 0; k < b->nworkers; k++) {
		struct rl_proxy_worker *w = &b->workers[k];
		w->b = b;
		w->idx = k;
		if (pthread_create(&w->thread, NULL, rl_proxy_thread, w)) {
			fprintf(stderr, "redleaf: cannot start proxy thread %u\n", k);
			return -1;
		}
		w->started = true;
		if (b->m->broker_cpu >= 0) {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(b->m->broker_cpu + (int)k, &one);
			int perr = pthread_setaffinity_np(w->thread, sizeof(one), &one);
			if (perr)
				rl_broker_log(b, "cannot pin proxy thread %u to CPU %d: %s", k,
					      b->m->broker_cpu + (int)k, strerror(perr));
		}
	}
	return 0;
}

/* After the event loop: the proxy threads' account, and with --until the final audit. Returns the exit status. */
static int finish(struct broker *b, const struct rl_run_options *opt)
{
	struct rl_proxy_load load;
	int ret = b->exit_status;

	stop_proxy_threads(b);
	rl_proxy_load(b, &load);
	rl_broker_log(b, "proxy thread%s: %llu messages, busy %.3f ms of %.3f s (%.0f ns per message)",
		      b->nworkers > 1 ? "s" : "", (unsigned long long)load.messages, load.busy_ns / 1e6,
		      load.up_ns / 1e9, load.messages ? (double)load.busy_ns / (double)load.messages : 0.0);
	for (unsigned i = 1; i <= b->ndom; i++)
		if (atomic_load(&b->dom[i].backlogged))
			rl_broker_log(b, "%llu message(s) waited for room in the rx ring of %s",
				      (unsigned long long)atomic_load(&b->dom[i].backlogged), b->dom[i].name);
	if (opt->until) {
		char why[512];
		if (rl_proxy_audit(b, why, sizeof(why))) {
			fprintf(stderr, "redleaf: registry audit failed: %s\n", why);
			ret = 1;
		} else {
			rl_broker_log(b, "registry audit: consistent");
		}
	}
	rl_broker_log(b, "stopping (exit status %d)", ret);
	return ret;
}

int rl_cmd_run_system(const struct rl_run_options *opt)
{
	static struct broker broker; /* large; one per process */
	struct broker *b = &broker;
	char err[1024];
	int ret;

	/*
	 * Not dumpable: a process of the broker's user (its domains, when the
	 * broker does not run as root) cannot open /proc/BROKER/mem or its
	 * descriptors, and so cannot write the registry behind its back.
	 */
	prctl(PR_SET_DUMPABLE, 0);
	memset(b, 0, sizeof(*b));
	b->control_fd = -1;
	b->epoll_fd = -1;
	b->bell_fd = -1;
	b->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	b->start_ns = rl_now_ns();
	b->quiet = opt->quiet;
	pthread_mutex_init(&b->mb_lock, NULL);
	pthread_cond_init(&b->mb_cond, NULL);

	ret = rl_manifest_load(opt->manifest, &b->m, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check_manifest(b)) {
		rl_manifest_free(b->m);
		return 1;
	}
	if (opt->until && (ret = parse_until(b, opt))) {
		rl_manifest_free(b->m);
		return ret;
	}
	if (snprintf(b->socket_path, sizeof(b->socket_path), "%s", opt->socket) >= (int)sizeof(b->socket_path)) {
		struct sockaddr_un sa;
		fprintf(stderr, "redleaf: control socket path too long (%zu bytes, at most %zu): %s\n",
			strlen(opt->socket), sizeof(sa.sun_path) - 1, opt->socket);
		rl_manifest_free(b->m);
		return 1;
	}

	/* Signals go to the event thread's signalfd; block them before any thread exists. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (build(b) || rl_control_open(b) || rl_devices_start(b) || start_domains(b) || start_proxy_threads(b)) {
		ret = 1;
		goto out;
	}
	rl_control_loop(b);
	ret = finish(b, opt);
out:
	stop_proxy_threads(b);
	teardown(b);
	return ret;
}
