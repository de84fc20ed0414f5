// SPDX-License-Identifier: MIT
/*
 * Child processes and temporary files of the recovery harness (child.h).
 * The signal handler uses only async-signal-safe calls (kill, waitpid,
 * nanosleep, unlink, rmdir, _exit); the tables it reads are changed only
 * with those signals blocked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"

#define MAX_KIDS 16
#define MAX_FILES 64
#define STOP_GRACE_MS 3000

extern char **environ;

static pid_t kids[MAX_KIDS];
static struct {
	char path[PATH_MAX];
	int is_dir;
	int used;
} files[MAX_FILES];
static pid_t harness_pid;

unsigned long long rl_child_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static sigset_t fatal_set(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGHUP);
	return s;
}

static void block_fatal(sigset_t *old)
{
	sigset_t s = fatal_set();
	sigprocmask(SIG_BLOCK, &s, old);
}

static void restore_mask(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Signal-safe: SIGTERM, then SIGKILL after STOP_GRACE_MS; reaps. Returns the wait status. */
static int end_child(pid_t pid)
{
	int status = 0;

	if (waitpid(pid, &status, WNOHANG) == pid)
		return status;
	kill(pid, SIGTERM);
	for (int i = 0; i < STOP_GRACE_MS / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		nap_ms(10);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* Signal-safe. */
static void cleanup_all(void)
{
	if (getpid() != harness_pid)
		return; /* a forked child between fork and exec must not clean up for us */
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i] > 0) {
			end_child(kids[i]);
			kids[i] = 0;
		}
	for (int i = MAX_FILES - 1; i >= 0; i--) /* newest first: files before their folder */
		if (files[i].used) {
			if (files[i].is_dir)
				rmdir(files[i].path);
			else
				unlink(files[i].path);
			files[i].used = 0;
		}
}

static void on_fatal_signal(int sig)
{
	static const char msg[] = "recovery: interrupted; stopping the broker and cleaning up\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	cleanup_all();
	_exit(128 + sig);
}

void rl_child_init(void)
{
	struct sigaction sa;

	harness_pid = getpid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sa.sa_mask = fatal_set(); /* one handler at a time */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(rl_child_cleanup);
}

static void add_kid(pid_t pid)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (!kids[i]) {
			kids[i] = pid;
			return;
		}
}

static void drop_kid(pid_t pid)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

static int free_kid_slots(void)
{
	int n = 0;
	for (int i = 0; i < MAX_KIDS; i++)
		n += !kids[i];
	return n;
}

pid_t rl_child_start(char *const argv[], char *const envp[], int out_fd)
{
	sigset_t old;
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (devnull < 0)
		return -errno;
	block_fatal(&old);
	if (!free_kid_slots()) {
		restore_mask(&old);
		close(devnull);
		return -EAGAIN;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		restore_mask(&old);
		close(devnull);
		return -err;
	}
	if (pid == 0) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		sigaction(SIGPIPE, &dfl, NULL);
		/* The broker gets SIGTERM if we die: it then stops its system itself. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != harness_pid)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
			_exit(127);
		syscall(SYS_close_range, 3U, ~0U, 0U);
		execve(argv[0], argv, envp ? envp : environ);
		dprintf(2, "recovery: cannot execute %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	add_kid(pid);
	restore_mask(&old);
	close(devnull);
	return pid;
}

int rl_child_wait(pid_t pid, int timeout_ms)
{
	int status;
	unsigned long long deadline = rl_child_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			int err = errno;
			if (pidfd >= 0)
				close(pidfd);
			return -err;
		}
		unsigned long long now = rl_child_now_ns();
		if (timeout_ms >= 0 && now >= deadline) {
			if (pidfd >= 0)
				close(pidfd);
			return -ETIMEDOUT;
		}
		int wait_ms = timeout_ms < 0 ? 1000 : (int)((deadline - now + 999999) / 1000000);
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			poll(&p, 1, wait_ms > 1000 ? 1000 : wait_ms);
		} else {
			nap_ms(wait_ms > 10 ? 10 : wait_ms);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	sigset_t old;
	block_fatal(&old);
	drop_kid(pid);
	restore_mask(&old);
	return status;
}

int rl_child_stop(pid_t pid)
{
	sigset_t old;

	block_fatal(&old);
	int status = end_child(pid);
	drop_kid(pid);
	restore_mask(&old);
	return status;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -EIO;
}

int rl_child_run(char *const argv[], int timeout_ms, char **out)
{
	int fds[2];
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int ret;

	*out = NULL;
	if (!buf)
		return -ENOMEM;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		ret = -errno;
		free(buf);
		return ret;
	}
	pid_t pid = rl_child_start(argv, NULL, fds[1]);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		free(buf);
		return pid;
	}
	unsigned long long deadline = rl_child_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
	bool timed_out = false;
	for (;;) {
		unsigned long long now = rl_child_now_ns();
		if (now >= deadline) {
			timed_out = true;
			break;
		}
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		int n = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (len + 1024 > cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fds[0], buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* EOF: every writer (the child) is gone */
		len += (size_t)r;
	}
	close(fds[0]);
	buf[len] = 0;
	*out = buf;
	if (timed_out) {
		rl_child_stop(pid);
		return -ETIMEDOUT;
	}
	ret = rl_child_wait(pid, timeout_ms);
	if (ret == -ETIMEDOUT) {
		rl_child_stop(pid);
		return -ETIMEDOUT;
	}
	return ret < 0 ? ret : exit_code(ret);
}

void rl_child_remove_at_exit(const char *path, int is_dir)
{
	sigset_t old;

	block_fatal(&old);
	for (int i = 0; i < MAX_FILES; i++)
		if (!files[i].used) {
			snprintf(files[i].path, sizeof(files[i].path), "%s", path);
			files[i].is_dir = is_dir;
			files[i].used = 1;
			break;
		}
	restore_mask(&old);
}

void rl_child_cleanup(void)
{
	sigset_t old;

	block_fatal(&old);
	cleanup_all();
	restore_mask(&old);
}
