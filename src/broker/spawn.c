// SPDX-License-Identifier: MIT
/*
 * Starting a domain process, confined before its first instruction
 * (docs/security.md). The broker builds the domain's seccomp filter here,
 * with libseccomp, and its child loads it right before the execve: the
 * loader, the binary's constructors and a binary that never calls the
 * runtime all run under it. What the filter adds for start-up (read-only
 * opens, executable mappings, the execve itself) the launcher's own filter
 * takes away again (src/domain/launcher.c).
 *
 * With `isolation: own` (the default) the broker clones a small init, still
 * its own code, into fresh pid, mount, network, IPC and UTS namespaces (and
 * a user namespace when it is not root). The init builds a private root
 * that holds only the system's libraries, pivots into it and forks the
 * domain (pid 2 in its namespace), then stays: it forwards the signals the
 * broker sends it and, when the domain ends, writes how on a status pipe
 * before it exits. A domain that is the init of its namespace would ignore
 * every signal it has no handler for (crash --signal TERM); a domain whose
 * init has exited is already dead (the kernel kills and reaps the whole
 * namespace before the init's exit is seen), so a restart never races its
 * predecessor. As root each domain also gets a user id of its own.
 * `isolation: shared` keeps the host's namespaces (the broker forks the
 * domain directly), for kernels that refuse new ones.
 *
 * Between clone and exec the children use system calls only: the broker
 * has threads, and its child is made with a raw clone, so nothing of libc
 * that takes a lock may run there. Start failures come back over a
 * close-on-exec pipe as (stage, errno). A first start waits for the exec;
 * a restart (in the proxy thread) returns after the clone, and the failure,
 * if any, is read when the process is reaped.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "device.h"
#include "rl_config.h"
#include "seccomp_policy.h"
#include "spawn.h"
#include "uring.h"

#define NOBODY 65534
/* As root, domain id i of broker pid p runs as RL_UID_BASE + p * 128 + i (docs/security.md). */
#define RL_UID_BASE 0x40000000u
/* Not root: the broker's own ids, seen as this inside the domain's user namespace. */
#define RL_NS_ID 1000
/* Descriptors in the child: 0-7 the domain's, then these (high ones until arranged). */
#define FD_ERR RL_SECCOMP_ERR_FD
#define FD_BIN RL_SECCOMP_EXEC_FD
#define FD_STATUS 10
#define FD_URING RL_FD_URING
#define FD_DEVICE RL_FD_DEVICE
/* Where the init builds the private root before pivoting into it. */
#define NEW_ROOT "/tmp"

/* Groups whose syscalls need the host's network or root (device access). */
static bool needs_host(const struct domain *d)
{
	for (unsigned i = 0; i < d->m->nsyscalls; i++)
		if (!strcmp(d->m->syscalls[i], "af_xdp") || !strcmp(d->m->syscalls[i], "vfio"))
			return true;
	return false;
}

enum stage {
	ST_FDS, ST_CPU, ST_IDENTITY, ST_EXEC, ST_NICE, ST_FILTER, ST_USERNS, ST_ROOT, ST_CLONE, NSTAGES
};

static const char *const stage_text[NSTAGES] = {
	[ST_FDS] = "preparing descriptors",
	[ST_CPU] = "pinning to its CPU",
	[ST_IDENTITY] = "dropping privileges",
	[ST_EXEC] = "executing",
	[ST_NICE] = "setting its nice value (lowering it needs root or CAP_SYS_NICE)",
	[ST_FILTER] = "loading its seccomp filter",
	[ST_USERNS] = "mapping its user namespace",
	[ST_ROOT] = "building its private root",
	[ST_CLONE] = "starting the domain in its namespaces",
};

static void __attribute__((noreturn)) child_fail(int pipe_fd, enum stage stage)
{
	int msg[2] = { (int)stage, errno };
	(void)!write(pipe_fd, msg, sizeof(msg));
	_exit(127);
}

/*
 * Everything the children need, prepared by the broker before the clone:
 * between clone and exec there is no formatting and no allocation.
 */
struct plan {
	const struct domain *d;
	int fds[5], nfds;
	int err_w, status_w, binfd, devnull, out_w, uring, device; /* -1: none */
	bool own_ns, userns, set_ids, sanitized;
	uid_t uid;
	gid_t gid;
	int broker_pidfd; /* the child's parent: readable once it has died */
	struct rl_uring_watch *ring; /* the broker's hold on the ring (direct I/O), or NULL */
	struct rl_seccomp_prog filter;
	char *argv[64];
	char *envp[8]; /* name, standby, two sanitizer options, NULL */
	char env_name[64];
	char env_standby[32];
	char sanitizer_env[2][768];
	char uid_map[48], gid_map[48];
};

static void plan_args(struct plan *p, const struct domain *d, uint32_t token)
{
	unsigned argc = 0, envc = 0;

	p->argv[argc++] = (char *)d->name;
	for (unsigned i = 0; i < d->m->nargs && argc < 63; i++)
		p->argv[argc++] = (char *)d->m->args[i];
	p->argv[argc] = NULL;
	snprintf(p->env_name, sizeof(p->env_name), "REDLEAF_DOMAIN=%s", d->name);
	p->envp[envc++] = p->env_name;
	if (token) { /* a standby: the launcher waits for its activation (launcher.c) */
		snprintf(p->env_standby, sizeof(p->env_standby), "REDLEAF_STANDBY=%u", token);
		p->envp[envc++] = p->env_standby;
	}
	/*
	 * Sanitizer builds: a confined domain cannot run the sanitizers' own
	 * signal handlers and reports (they open files, use ioctl), so crashes
	 * must stay plain signals the broker can name; no leak check at exit.
	 */
	static const char *const passthrough[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS" };
	static const char *const confined[] = {
		"detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0:color=never",
		"color=never",
	};
	for (unsigned i = 0; i < 2; i++) {
		const char *v = getenv(passthrough[i]);
		if (snprintf(p->sanitizer_env[i], sizeof(p->sanitizer_env[i]), "%s=%s%s%s", passthrough[i],
			     v ? v : "", v && *v ? ":" : "", confined[i]) < (int)sizeof(p->sanitizer_env[i]))
			p->envp[envc++] = p->sanitizer_env[i];
	}
	p->envp[envc] = NULL;
}

/* The domain's filter, built once per domain: its groups plus start-up (seccomp_policy.h). */
static int domain_filter(struct broker *b, struct domain *d)
{
	const char *groups[RL_MANIFEST_MAX_SYSCALL_GROUPS + 2];
	unsigned n = 0;

	if (d->filter.insns)
		return 0;
	for (unsigned i = 0; i < d->m->nsyscalls; i++)
		groups[n++] = d->m->syscalls[i];
	if (d->m->device.model == RL_DEVICE_VFIO)
		groups[n++] = RL_SECCOMP_VFIO_DEVICE_GROUP; /* its device's descriptor only (vfio.c) */
	if (RL_SANITIZED)
		groups[n++] = "sanitizer";
	int ret = rl_seccomp_export(groups, n, &d->filter);
	if (ret)
		rl_broker_log(b, "%s: cannot build its seccomp filter: %s", d->name, strerror(-ret));
	return ret;
}

/* Resets the rings and per-run fields before the new process can see them. */
static void reset_channel(struct domain *d)
{
	memset(&d->chan->tx, 0, sizeof(d->chan->tx));
	memset(&d->chan->rx, 0, sizeof(d->chan->rx));
	d->chan->ctl.violation = -1;
	memset(d->chan->ctl.panic_msg, 0, sizeof(d->chan->ctl.panic_msg));
	d->chan->ctl.broker_pid = getpid();
	d->kill_reason[0] = 0;
	d->served = false;
	atomic_store(&d->injected, false);
	rl_ring_cons_init(&d->tx, &d->chan->tx);
	rl_ring_prod_init(&d->rx, &d->chan->rx);
	d->rx_dirty = false;
}

/* A fresh restricted ring for each start: nothing of a dead incarnation's I/O is left in it. */
static int make_ring(struct broker *b, struct domain *d, int *fd, struct rl_uring_watch **watch)
{
	struct io_uring_params params;
	int r = rl_uring_make(d->uring_files, d->m->nuring_files, d->m->uring_entries, &params);

	if (r < 0) {
		rl_broker_log(b, "%s: cannot make its io_uring: %s", d->name, strerror(-r));
		return r;
	}
	static_assert(sizeof(params) <= sizeof(d->chan->ctl.uring_params), "params fit the control page");
	memcpy(d->chan->ctl.uring_params, &params, sizeof(params));
	d->chan->ctl.has_uring = 1;
	*fd = r;
	if (d->m->uring_direct && !(*watch = rl_uring_watch(r, &params))) {
		rl_broker_log(b, "%s: cannot keep hold of its io_uring for direct I/O", d->name);
		return -ENOMEM;
	}
	return 0;
}

static long raw_fork(unsigned long flags)
{
	return syscall(SYS_clone, flags | SIGCHLD, 0L, NULL, NULL, 0L);
}

/*
 * The first child: puts the shared descriptors at 3..7, stdin at /dev/null,
 * stdout and stderr at the broker's output pipe, the error pipe at 8, the
 * binary at 9, the status pipe at 10, the domain's ring at 11, its device
 * model's file at 12, and closes everything else. Dies with its parent.
 */
static void child_prepare(struct plan *p)
{
	int high[5];
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL); /* unblocked where each child is ready */
	setpgid(0, 0);                        /* terminal signals go to the broker only */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(127);
	/* The parent may have died before PDEATHSIG was set. */
	struct pollfd pfd = { .fd = p->broker_pidfd, .events = POLLIN };
	if (p->broker_pidfd >= 0 && poll(&pfd, 1, 0) != 0)
		_exit(127);
	/* Move everything out of the way first, so no dup2 below clobbers a source. */
	if ((p->err_w = fcntl(p->err_w, F_DUPFD, 100)) < 0)
		_exit(127);
	if ((p->binfd = fcntl(p->binfd, F_DUPFD, 100)) < 0 || (p->devnull = fcntl(p->devnull, F_DUPFD, 100)) < 0 ||
	    (p->out_w = fcntl(p->out_w, F_DUPFD, 100)) < 0 ||
	    (p->status_w >= 0 && (p->status_w = fcntl(p->status_w, F_DUPFD, 100)) < 0) ||
	    (p->uring >= 0 && (p->uring = fcntl(p->uring, F_DUPFD, 100)) < 0) ||
	    (p->device >= 0 && (p->device = fcntl(p->device, F_DUPFD, 100)) < 0))
		child_fail(p->err_w, ST_FDS);
	for (int i = 0; i < p->nfds; i++)
		if ((high[i] = fcntl(p->fds[i], F_DUPFD, 100)) < 0)
			child_fail(p->err_w, ST_FDS);
	for (int i = 0; i < p->nfds; i++)
		if (dup2(high[i], 3 + i) < 0)
			child_fail(p->err_w, ST_FDS);
	if (dup2(p->devnull, 0) < 0 || dup2(p->out_w, 1) < 0 || dup2(p->out_w, 2) < 0 ||
	    dup2(p->err_w, FD_ERR) < 0 || dup2(p->binfd, FD_BIN) < 0 ||
	    (p->status_w >= 0 && dup2(p->status_w, FD_STATUS) < 0) || (p->uring >= 0 && dup2(p->uring, FD_URING) < 0) ||
	    (p->device >= 0 && dup2(p->device, FD_DEVICE) < 0))
		child_fail(p->err_w, ST_FDS);
	p->err_w = FD_ERR;
	p->binfd = FD_BIN;
	fcntl(FD_ERR, F_SETFD, FD_CLOEXEC);
	fcntl(FD_BIN, F_SETFD, FD_CLOEXEC);
	if (p->status_w >= 0) {
		p->status_w = FD_STATUS;
		fcntl(FD_STATUS, F_SETFD, FD_CLOEXEC);
	}
	if (p->status_w < 0)
		close(FD_STATUS);
	if (p->uring < 0)
		close(FD_URING);
	if (p->device < 0)
		close(FD_DEVICE);
	syscall(SYS_close_range, FD_DEVICE + 1U, ~0U, 0U);
	const struct domain *d = p->d;
	if (d->m->cpu >= 0) {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(d->m->cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			child_fail(FD_ERR, ST_CPU);
	}
	if (d->m->nice_set && setpriority(PRIO_PROCESS, 0, d->m->nice) < 0)
		child_fail(FD_ERR, ST_NICE);
	signal(SIGPIPE, SIG_DFL); /* the broker ignores it; a domain starts with the default */
}

/*
 * The domain's own process, after child_prepare (and, with own namespaces,
 * the init's setup): its identity, rlimits, no-new-privs and the filter,
 * then the binary. Signals are unblocked last: until the execve a
 * signal's default action is what the domain would get anyway.
 */
static void __attribute__((noreturn)) domain_exec(struct plan *p)
{
	const struct rlimit zero = { 0, 0 }, few_files = { 32, 32 };
	sigset_t none;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(FD_ERR, ST_IDENTITY);
	if (p->set_ids && (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0 ||
			   syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0))
		child_fail(FD_ERR, ST_IDENTITY);
	/* No RLIMIT_FSIZE: stderr may be a log file, and the domain cannot open others. */
	setrlimit(RLIMIT_CORE, &zero);
	setrlimit(RLIMIT_NOFILE, &few_files);
	if (rl_seccomp_prog_load(&p->filter, (pid_t)syscall(SYS_getpid)) < 0)
		child_fail(FD_ERR, ST_FILTER);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	syscall(SYS_execveat, FD_BIN, "", p->argv, p->envp, AT_EMPTY_PATH);
	child_fail(FD_ERR, ST_EXEC);
}

/* Writes text to a /proc/self file (user namespace maps). */
static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* dir bound read-only from the host's path of the same name under NEW_ROOT. */
static int bind_ro(const char *host, const char *inside)
{
	if (mkdir(inside, 0755) < 0 && errno != EEXIST)
		return -1;
	if (mount(host, inside, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	return mount(NULL, inside, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

/*
 * One entry of the host's library folders: a symlink (merged /usr) is made
 * again, a folder is bound read-only, an absent one is left out.
 */
static int copy_entry(const char *host, const char *inside)
{
	struct stat st;
	char target[256];

	if (lstat(host, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(host, target, sizeof(target) - 1);
		if (n < 0)
			return -1;
		target[n] = 0;
		return symlink(target, inside);
	}
	return S_ISDIR(st.st_mode) ? bind_ro(host, inside) : 0;
}

/*
 * The domain's root: a small read-only tmpfs holding the system's library
 * folders (the loader, libc, libseccomp, the sanitizer runtimes) and, in
 * sanitizer builds, a /proc of the domain's own pid namespace (the runtimes
 * read /proc/self/maps at start). Nothing else of the host is visible.
 */
static int build_root(const struct plan *p)
{
	static const char *const libs[][2] = {
		{ "/lib", NEW_ROOT "/lib" },         { "/lib64", NEW_ROOT "/lib64" },
		{ "/lib32", NEW_ROOT "/lib32" },     { "/libx32", NEW_ROOT "/libx32" },
		{ "/usr/lib", NEW_ROOT "/usr/lib" }, { "/usr/lib64", NEW_ROOT "/usr/lib64" },
		{ "/usr/lib32", NEW_ROOT "/usr/lib32" },
	};

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (mount("redleaf-root", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,nr_inodes=64,mode=0755") < 0)
		return -1;
	if (mkdir(NEW_ROOT "/usr", 0755) < 0 || mkdir(NEW_ROOT "/.old", 0700) < 0)
		return -1;
	for (unsigned i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (copy_entry(libs[i][0], libs[i][1]) < 0)
			return -1;
	if (p->sanitized) {
		if (mkdir(NEW_ROOT "/proc", 0555) < 0 ||
		    mount("proc", NEW_ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "hidepid=invisible,subset=pid") < 0)
			return -1;
	}
	if (syscall(SYS_pivot_root, NEW_ROOT, NEW_ROOT "/.old") < 0 || chdir("/") < 0)
		return -1;
	if (umount2("/.old", MNT_DETACH) < 0 || rmdir("/.old") < 0)
		return -1;
	return mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

static volatile pid_t ns_domain_pid;

/*
 * The broker's request to end the domain (rl_spawn_kill): the init kills
 * it and reaps it, so the domain's CPU time reaches the broker's rusage of
 * its children. A killed init would lose it: the kernel reaps what a dying
 * namespace init leaves without counting it.
 */
#define RL_SIG_END (SIGRTMIN + 1)

static void ns_end(int sig)
{
	(void)sig;
	if (ns_domain_pid > 0)
		syscall(SYS_kill, ns_domain_pid, SIGKILL);
}

/* The init passes on every signal it can catch to the domain. */
static void ns_forward(int sig)
{
	syscall(SYS_kill, ns_domain_pid, sig);
}

/*
 * The init of the domain's namespaces (the broker's child): maps its user
 * namespace, builds the private root, forks the domain, then waits for it
 * and reports its end on the status pipe as (si_code, si_status).
 */
static void __attribute__((noreturn)) ns_init(struct plan *p)
{
	/*
	 * A non-dumpable process's /proc files belong to root: the maps can be
	 * written only while it is dumpable. Domains cannot reach /proc; the
	 * window is open to the broker's own user on the host alone.
	 */
	if (p->userns && (prctl(PR_SET_DUMPABLE, 1) < 0 || write_file("/proc/self/setgroups", "deny") < 0 ||
			  write_file("/proc/self/uid_map", p->uid_map) < 0 ||
			  write_file("/proc/self/gid_map", p->gid_map) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0))
		child_fail(FD_ERR, ST_USERNS);
	if (build_root(p) < 0)
		child_fail(FD_ERR, ST_ROOT);

	long pid = raw_fork(0);
	if (pid < 0)
		child_fail(FD_ERR, ST_CLONE);
	if (pid == 0)
		domain_exec(p);

	ns_domain_pid = (pid_t)pid;
	/* Nothing of the domain's stays open here: its pipes must close with it. */
	syscall(SYS_close_range, 0U, (unsigned)FD_STATUS - 1, 0U);
	close(FD_URING);
	close(FD_DEVICE);
	struct sigaction sa = { .sa_handler = ns_forward, .sa_flags = SA_RESTART };
	sigfillset(&sa.sa_mask);
	for (int sig = 1; sig < SIGRTMIN; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
			sigaction(sig, &sa, NULL);
	sa.sa_handler = ns_end;
	sigaction(RL_SIG_END, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED) < 0) {
			if (errno == EINTR)
				continue;
			_exit(126);
		}
		if (si.si_pid == pid) {
			int msg[2] = { si.si_code, si.si_status };
			(void)!write(FD_STATUS, msg, sizeof(msg));
			_exit(0);
		}
	}
}

/* Blocks until the child has exec'd (the pipe closes) or says why it could not: 0 or its errno. */
static int wait_exec(struct broker *b, struct domain *d, int pipe_r, pid_t pid)
{
	int msg[2];
	ssize_t n;

	do
		n = read(pipe_r, msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(msg))
		return 0;
	waitpid(pid, NULL, 0);
	unsigned stage = (unsigned)msg[0] < NSTAGES ? (unsigned)msg[0] : ST_EXEC;
	rl_broker_log(b, "%s: cannot start %s: %s: %s", d->name, d->binary, stage_text[stage], strerror(msg[1]));
	return -msg[1] ? -msg[1] : -EIO;
}

/* The broker's own pidfd, for its children to notice its death before PDEATHSIG is set. */
static int broker_pidfd(void)
{
	static int fd = -2;
	if (fd == -2)
		fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	return fd;
}

/* Namespaces, identity and maps for d's start; false when it keeps the host's. */
static void plan_isolation(struct plan *p, const struct domain *d, bool root)
{
	bool host = needs_host(d);

	p->own_ns = !d->m->isolation_shared;
	p->userns = p->own_ns && !root;
	/* As root, drop to the domain's own id (devices and AF_XDP need root: those stay). */
	p->set_ids = root && !host;
	p->uid = p->own_ns ? RL_UID_BASE + (uid_t)getpid() * 128u + d->id : NOBODY;
	p->gid = p->own_ns ? p->uid : NOBODY;
	p->sanitized = RL_SANITIZED;
	if (p->userns) {
		snprintf(p->uid_map, sizeof(p->uid_map), "%d %u 1", RL_NS_ID, (unsigned)geteuid());
		snprintf(p->gid_map, sizeof(p->gid_map), "%d %u 1", RL_NS_ID, (unsigned)getegid());
	}
}

static unsigned long clone_flags(const struct plan *p, bool host)
{
	unsigned long f = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
	if (!host)
		f |= CLONE_NEWNET;
	if (p->userns)
		f |= CLONE_NEWUSER;
	return f;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Makes proc d's running process: its output pipe becomes the event thread's. */
static void install(struct domain *d, struct rl_proc *proc)
{
	d->pid = proc->pid;
	d->pidfd = proc->pidfd;
	d->status_fd = proc->status_fd;
	d->start_pipe = proc->start_pipe;
	fcntl(proc->out_fd, F_SETFL, O_NONBLOCK);
	d->out_fd = proc->out_fd; /* the event thread's from here on */
	d->out_len = 0;
	d->out_budget = RL_OUTPUT_BURST;
	d->out_refill_ns = rl_now_ns();
	d->started_ns = rl_now_ns();
	rl_uring_watch_free(d->ring); /* the last incarnation's, drained already when it died */
	d->ring = proc->ring;
	*proc = (struct rl_proc){ .pid = 0, .pidfd = -1, .status_fd = -1, .start_pipe = -1, .out_fd = -1 };
	atomic_store(&d->state, DOM_RUNNING);
}

/*
 * Starts a process for d into *proc; 0 or a negative errno. token != 0 makes
 * it a standby: the launcher waits, confined and mapped, until the
 * channel's activate word holds token, and the channel is left alone (the
 * running incarnation uses it). With wait, returns once the process has
 * exec'd (or failed to, which is then the error); else right after the
 * clone, leaving proc->start_pipe for rl_spawn_failure().
 */
static int spawn_proc(struct broker *b, struct domain *d, bool wait, uint32_t token, struct rl_proc *proc)
{
	int pipefd[2] = { -1, -1 }, out[2] = { -1, -1 }, status[2] = { -1, -1 }, reg = -1, ret;
	bool root = geteuid() == 0;
	struct plan *p = calloc(1, sizeof(*p)); /* the children's copy is their own */

	if (!p)
		return -ENOMEM;
	p->d = d;
	p->binfd = p->devnull = p->uring = -1;
	p->device = rl_device_fd(d); /* device.c's: stays open for the next start */
	if ((ret = domain_filter(b, d)))
		goto out;
	reg = rl_heap_registry_ro_fd(&b->heap);
	if (reg < 0) {
		ret = reg;
		goto out;
	}
	int fds[5] = { b->heap.heap_fd, reg, b->bell_fd, d->channel_fd, d->devmem_fd };
	memcpy(p->fds, fds, sizeof(fds));
	p->nfds = d->devmem_fd >= 0 ? 5 : 4;
	p->filter = d->filter;
	p->broker_pidfd = broker_pidfd();
	plan_isolation(p, d, root);
	plan_args(p, d, token);
	/*
	 * Open the binary here, with the broker's rights, and exec it through the
	 * descriptor: the child may not be able to walk to its path.
	 */
	p->binfd = open(d->binary, O_RDONLY | O_CLOEXEC);
	if (p->binfd < 0) {
		ret = -errno;
		rl_broker_log(b, "%s: cannot open %s: %s", d->name, d->binary, strerror(errno));
		goto out;
	}
	p->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (p->devnull < 0 || pipe2(pipefd, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    (p->own_ns && pipe2(status, O_CLOEXEC) < 0)) {
		ret = -errno;
		goto out;
	}
	p->err_w = pipefd[1];
	p->out_w = out[1];
	p->status_w = status[1];
	if (!token)
		reset_channel(d);
	if (d->m->uring_entries && (ret = make_ring(b, d, &p->uring, &p->ring)))
		goto out;

	long pid = raw_fork(p->own_ns ? clone_flags(p, needs_host(d)) : 0);
	if (pid < 0) {
		ret = -errno;
		if (p->own_ns)
			rl_broker_log(b, "%s: cannot start it in namespaces of its own: %s; this kernel or user may not "
					 "create them (an unprivileged broker needs user namespaces). 'isolation: shared' "
					 "in its manifest entry runs it in the host's namespaces, with weaker confinement",
				      d->name, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		child_prepare(p);
		if (p->own_ns)
			ns_init(p);
		domain_exec(p);
	}

	close_fd(&pipefd[1]);
	close_fd(&out[1]);
	close_fd(&status[1]);
	if (wait && (ret = wait_exec(b, d, pipefd[0], (pid_t)pid)))
		goto out;
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0) {
		ret = -errno;
		kill((pid_t)pid, SIGKILL);
		waitpid((pid_t)pid, NULL, 0);
		goto out;
	}
	*proc = (struct rl_proc){ .pid = (pid_t)pid, .pidfd = pidfd, .status_fd = status[0], .start_pipe = -1,
				  .out_fd = out[0], .ring = p->ring };
	p->ring = NULL;
	status[0] = out[0] = -1;
	if (!wait) {
		/* The child has exited or exec'd by the time anyone reads it: no need to block. */
		proc->start_pipe = pipefd[0];
		pipefd[0] = -1;
	}
	ret = 0;
out:
	close_fd(&p->binfd);
	close_fd(&reg);
	close_fd(&p->devnull);
	close_fd(&pipefd[0]);
	close_fd(&pipefd[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&status[0]);
	close_fd(&status[1]);
	close_fd(&p->uring);
	rl_uring_watch_free(p->ring);
	free(p);
	return ret;
}

int rl_spawn_domain(struct broker *b, struct domain *d, bool wait)
{
	struct rl_proc proc;
	int ret = spawn_proc(b, d, wait, 0, &proc);

	if (!ret)
		install(d, &proc);
	return ret;
}

int rl_spawn_standby(struct broker *b, struct domain *d)
{
	if (d->standby.pidfd >= 0)
		return 0;
	/*
	 * The domain can write its channel's activate word: a token it cannot
	 * guess keeps it from waking its own standby early. Never 0, never the
	 * word's current value.
	 */
	uint32_t token = 0;
	while (!token || token == atomic_load(&d->chan->ctl.activate))
		if (getrandom(&token, sizeof(token), 0) != (ssize_t)sizeof(token))
			return -errno;
	d->standby_token = token;
	int ret = spawn_proc(b, d, false, token, &d->standby);
	if (!ret)
		d->standbys_started++;
	else
		d->standby = (struct rl_proc){ .pid = 0, .pidfd = -1, .status_fd = -1, .start_pipe = -1, .out_fd = -1 };
	return ret;
}

int rl_spawn_activate(struct broker *b, struct domain *d)
{
	if (d->standby.pidfd < 0)
		return -ENOENT;
	reset_channel(d);
	uint32_t token = d->standby_token;
	install(d, &d->standby);
	/* The standby waits in its launcher for this word to hold its token (a futex on shared memory). */
	atomic_store_explicit(&d->chan->ctl.activate, token, memory_order_release);
	syscall(SYS_futex, &d->chan->ctl.activate, FUTEX_WAKE, 1, NULL, NULL, 0);
	return 0;
}

void rl_spawn_close_proc(struct rl_proc *proc)
{
	close_fd(&proc->pidfd);
	close_fd(&proc->status_fd);
	close_fd(&proc->start_pipe);
	close_fd(&proc->out_fd);
	rl_uring_watch_free(proc->ring);
	proc->ring = NULL;
	proc->pid = 0;
}

int rl_spawn_kill(const struct domain *d, int pidfd)
{
	int sig = d->m->isolation_shared ? SIGKILL : RL_SIG_END;

	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

void rl_spawn_reaped(int *status_fd, int *code, int *status)
{
	int msg[2];
	ssize_t n = -1;

	if (*status_fd < 0)
		return;
	/* The init has exited: what it wrote is there, and the pipe is at EOF after it. */
	do
		n = read(*status_fd, msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	close(*status_fd);
	*status_fd = -1;
	/* Without a report the init itself was killed (SIGKILL), and the domain with it. */
	if (n == (ssize_t)sizeof(msg)) {
		*code = msg[0];
		*status = msg[1];
	}
}

const char *rl_spawn_failure(const struct domain *d, int *start_pipe, char *buf, size_t len)
{
	int msg[2];
	ssize_t n = -1;

	if (*start_pipe < 0)
		return NULL;
	/* The process is dead: whatever it wrote is there, and the pipe is at EOF after it. */
	do
		n = read(*start_pipe, msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	close(*start_pipe);
	*start_pipe = -1;
	if (n != (ssize_t)sizeof(msg))
		return NULL;
	unsigned stage = (unsigned)msg[0] < NSTAGES ? (unsigned)msg[0] : ST_EXEC;
	snprintf(buf, len, "cannot start %s: %s: %s", d->binary, stage_text[stage], strerror(msg[1]));
	return buf;
}
