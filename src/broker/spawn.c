// SPDX-License-Identifier: MIT
/*
 * Starting a domain process. The child does only async-signal-safe system
 * calls between fork and exec (the broker has threads). What it sets up
 * here is what cannot be done after exec without privileges: its own
 * process group (terminal signals go to the broker only), its CPU and
 * nice value, fresh network, IPC and UTS namespaces, and an unprivileged
 * user. The rest of the
 * confinement is the launcher's (src/domain/launcher.c).
 *
 * Exec failures come back over a close-on-exec pipe, so a bad binary is a
 * clear error at start instead of a mysterious exit status. A first start
 * waits for exec; a restart (in the proxy thread, which every call goes
 * through) returns after the fork, and the failure, if any, is read when
 * the process is reaped: waiting for exec blocked every domain's calls for
 * about a millisecond per restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

#define NOBODY 65534

/* Groups whose syscalls need the host's network or root (device access). */
static bool needs_host(const struct domain *d)
{
	for (unsigned i = 0; i < d->m->nsyscalls; i++)
		if (!strcmp(d->m->syscalls[i], "af_xdp") || !strcmp(d->m->syscalls[i], "vfio"))
			return true;
	return false;
}

static void __attribute__((noreturn)) child_fail(int pipe_fd, int stage)
{
	int msg[2] = { stage, errno };
	(void)!write(pipe_fd, msg, sizeof(msg));
	_exit(127);
}

static const char *const stage_text[] = {
	"preparing descriptors", "pinning to its CPU", "dropping privileges", "executing",
	"setting its nice value (lowering it needs root or CAP_SYS_NICE)",
};
#define NSTAGES (sizeof(stage_text) / sizeof(stage_text[0]))

/* What the domain's process is started with: its argv and environment. */
struct exec_args {
	char *argv[64];
	char *envp[8];
	char env_name[64];
	char sanitizer_env[2][768];
};

static void exec_args_build(struct exec_args *x, struct domain *d)
{
	unsigned argc = 0, envc = 0;

	x->argv[argc++] = d->name;
	for (unsigned i = 0; i < d->m->nargs && argc < 63; i++)
		x->argv[argc++] = d->m->args[i];
	x->argv[argc] = NULL;
	snprintf(x->env_name, sizeof(x->env_name), "REDLEAF_DOMAIN=%s", d->name);
	x->envp[envc++] = x->env_name;
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
		if (snprintf(x->sanitizer_env[i], sizeof(x->sanitizer_env[i]), "%s=%s%s%s", passthrough[i],
			     v ? v : "", v && *v ? ":" : "", confined[i]) < (int)sizeof(x->sanitizer_env[i]))
			x->envp[envc++] = x->sanitizer_env[i];
	}
	x->envp[envc] = NULL;
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

/*
 * The child, between fork and exec: async-signal-safe calls only. Puts the
 * shared descriptors at 3.., closes everything else, pins, sets the nice
 * value, drops privileges and executes the binary through binfd. Reports a
 * failure on pipe_w as (stage, errno) and exits 127.
 */
static void __attribute__((noreturn)) child_start(const struct domain *d, const int *fds, int nfds, int pipe_w,
						  int binfd, int devnull, int out_w, bool root, bool host,
						  struct exec_args *x)
{
	int high[5];
	sigset_t none;

	setpgid(0, 0);
	/*
	 * The broker blocks SIGINT, SIGTERM and SIGHUP (its event thread reads
	 * them) and ignores SIGPIPE; a domain starts with neither, or a signal
	 * injected from the CLI would not reach it.
	 */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Move everything out of the way first, so no dup2 below clobbers a source. */
	if ((pipe_w = fcntl(pipe_w, F_DUPFD, 100)) < 0)
		_exit(127);
	if ((binfd = fcntl(binfd, F_DUPFD, 100)) < 0 || (devnull = fcntl(devnull, F_DUPFD, 100)) < 0 ||
	    (out_w = fcntl(out_w, F_DUPFD, 100)) < 0)
		child_fail(pipe_w, 0);
	for (int i = 0; i < nfds; i++)
		if ((high[i] = fcntl(fds[i], F_DUPFD, 100)) < 0)
			child_fail(pipe_w, 0);
	for (int i = 0; i < nfds; i++)
		if (dup2(high[i], 3 + i) < 0)
			child_fail(pipe_w, 0);
	/*
	 * Keep 0-7, the error pipe (8) and the binary (9); everything else the
	 * broker had is gone. stdout and stderr are the broker's output pipe.
	 */
	if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(out_w, 2) < 0 || dup2(pipe_w, 8) < 0 ||
	    dup2(binfd, 9) < 0)
		child_fail(pipe_w, 0);
	pipe_w = 8;
	binfd = 9;
	fcntl(8, F_SETFD, FD_CLOEXEC);
	fcntl(9, F_SETFD, FD_CLOEXEC);
	syscall(SYS_close_range, 10U, ~0U, 0U);
	if (d->m->cpu >= 0) {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(d->m->cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			child_fail(pipe_w, 1);
	}
	if (d->m->nice_set && setpriority(PRIO_PROCESS, 0, d->m->nice) < 0)
		child_fail(pipe_w, 4);
	if (root && !host)
		unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS); /* best effort */
	if (root && !host) {
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			child_fail(pipe_w, 2);
	}
	syscall(SYS_execveat, binfd, "", x->argv, x->envp, AT_EMPTY_PATH);
	child_fail(pipe_w, 3);
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
	unsigned stage = (unsigned)msg[0] < NSTAGES ? (unsigned)msg[0] : 3;
	rl_broker_log(b, "%s: cannot start %s: %s: %s", d->name, d->binary, stage_text[stage], strerror(msg[1]));
	return -msg[1] ? -msg[1] : -EIO;
}

int rl_spawn_domain(struct broker *b, struct domain *d, bool wait)
{
	int fds[5] = { b->heap.heap_fd, -1, b->bell_fd, d->channel_fd, d->devmem_fd };
	int nfds = d->devmem_fd >= 0 ? 5 : 4;
	int pipefd[2] = { -1, -1 }, out[2] = { -1, -1 }, devnull = -1, binfd = -1, ret = 0;
	struct exec_args x;
	bool host = needs_host(d);
	bool root = geteuid() == 0;

	fds[1] = rl_heap_registry_ro_fd(&b->heap);
	if (fds[1] < 0)
		return fds[1];
	/*
	 * Open the binary here, with the broker's rights, and exec it through the
	 * descriptor: the unprivileged child may not be able to walk to its path.
	 */
	binfd = open(d->binary, O_RDONLY | O_CLOEXEC);
	if (binfd < 0) {
		ret = -errno;
		rl_broker_log(b, "%s: cannot open %s: %s", d->name, d->binary, strerror(errno));
		goto out;
	}
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || pipe2(pipefd, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	exec_args_build(&x, d);
	reset_channel(d);

	pid_t pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (pid == 0)
		child_start(d, fds, nfds, pipefd[1], binfd, devnull, out[1], root, host, &x);

	close(pipefd[1]);
	pipefd[1] = -1;
	close(out[1]);
	out[1] = -1;
	if (wait && (ret = wait_exec(b, d, pipefd[0], pid)))
		goto out;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		ret = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	d->pid = pid;
	d->pidfd = pidfd;
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	d->out_fd = out[0]; /* the event thread's from here on */
	out[0] = -1;
	d->out_len = 0;
	d->out_budget = RL_OUTPUT_BURST;
	d->out_refill_ns = rl_now_ns();
	if (!wait) {
		/* The child has exited or exec'd by the time anyone reads it: no need to block. */
		d->start_pipe = pipefd[0];
		pipefd[0] = -1;
	}
	d->started_ns = rl_now_ns();
	atomic_store(&d->state, DOM_RUNNING);
out:
	if (binfd >= 0)
		close(binfd);
	if (fds[1] >= 0)
		close(fds[1]);
	if (devnull >= 0)
		close(devnull);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	return ret;
}

const char *rl_spawn_failure(struct domain *d, char *buf, size_t len)
{
	int msg[2];
	ssize_t n = -1;

	if (d->start_pipe < 0)
		return NULL;
	/* The process is dead: whatever it wrote is there, and the pipe is at EOF after it. */
	do
		n = read(d->start_pipe, msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	close(d->start_pipe);
	d->start_pipe = -1;
	if (n != (ssize_t)sizeof(msg))
		return NULL;
	unsigned stage = (unsigned)msg[0] < NSTAGES ? (unsigned)msg[0] : 3;
	snprintf(buf, len, "cannot start %s: %s: %s", d->binary, stage_text[stage], strerror(msg[1]));
	return buf;
}
