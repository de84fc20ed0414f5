// SPDX-License-Identifier: MIT
/*
 * Child processes and temporary files of the harness (see procs.h). The
 * signal handler uses only async-signal-safe calls (kill, waitpid,
 * nanosleep, unlink, rmdir, _exit); the tables it reads are changed only
 * with those signals blocked.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procs.h"
#include "../src/domain/stack.h"

#define MAX_KIDS 32
#define MAX_FILES 32

static struct {
	pid_t pid;
	int term_sig; /* SIGKILL for forks; SIGTERM for the broker, so it tears down itself */
} kids[MAX_KIDS];
static struct {
	char path[PATH_MAX];
	int is_dir;
	int used;
} files[MAX_FILES];

static sigset_t fatal_set(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGHUP);
	return s;
}

static void block(sigset_t *old)
{
	sigset_t s = fatal_set();
	sigprocmask(SIG_BLOCK, &s, old);
}

static void unblock(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Signal-safe: ends one child, escalating to SIGKILL after 3 s; its wait status. */
static int end_child(pid_t pid, int sig)
{
	int status = 0;

	if (waitpid(pid, &status, WNOHANG) == pid)
		return status;
	kill(pid, sig);
	for (int i = 0; sig != SIGKILL && i < 300; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		nap_ms(10);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static pid_t harness_pid;

/* Signal-safe. */
static void cleanup_all(void)
{
	if (getpid() != harness_pid)
		return; /* a forked child must not clean up for the harness */
	for (int i = 0; i < MAX_KIDS; i++) {
		if (kids[i].pid > 0) {
			end_child(kids[i].pid, kids[i].term_sig);
			kids[i].pid = 0;
		}
	}
	for (int i = MAX_FILES - 1; i >= 0; i--) {
		if (!files[i].used)
			continue;
		if (files[i].is_dir)
			rmdir(files[i].path);
		else
			unlink(files[i].path);
		files[i].used = 0;
	}
}

static void on_fatal_signal(int sig)
{
	static const char msg[] = "\ninterrupted: stopping children and removing temporary files\n";

	(void)!write(2, msg, sizeof(msg) - 1);
	cleanup_all();
	_exit(128 + sig);
}

void rl_procs_init(void)
{
	struct sigaction sa;

	harness_pid = getpid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sa.sa_mask = fatal_set();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A broker that died early must not kill us through a write to its pipe. */
	signal(SIGPIPE, SIG_IGN);
	atexit(rl_procs_cleanup);
}

static int remember(pid_t pid, int term_sig)
{
	for (int i = 0; i < MAX_KIDS; i++) {
		if (kids[i].pid <= 0) {
			kids[i].term_sig = term_sig;
			kids[i].pid = pid;
			return 0;
		}
	}
	return -ENOSPC;
}

static void forget(pid_t pid)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i].pid == pid)
			kids[i].pid = 0;
}

/* In a new child: default signal dispositions, and death with the parent. */
static void child_setup(pid_t parent, int death_sig)
{
	sigset_t none;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, death_sig) < 0)
		_exit(127);
	if (getppid() != parent) /* the parent died before prctl took effect */
		_exit(127);
}

pid_t rl_procs_fork(void (*fn)(void *), void *arg)
{
	sigset_t old;
	pid_t parent = getpid();

	block(&old);
	pid_t pid = fork();
	if (pid == 0) {
		child_setup(parent, SIGKILL);
		RL_STACK_PIN(); /* a floor's frames where a domain's are (redleaf/stack.h) */
		fn(arg);
		_exit(0);
	}
	int err = pid < 0 ? -errno : 0;
	if (pid > 0 && remember(pid, SIGKILL)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		err = -ENOSPC;
	}
	unblock(&old);
	return err ? err : pid;
}

pid_t rl_procs_exec(char *const argv[], char *const envp[], int stdout_fd, int stderr_fd)
{
	extern char **environ;
	sigset_t old;
	pid_t parent = getpid();
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (devnull < 0)
		return -errno;
	block(&old);
	pid_t pid = fork();
	if (pid == 0) {
		child_setup(parent, SIGTERM);
		if (dup2(devnull, 0) < 0 || dup2(stdout_fd >= 0 ? stdout_fd : devnull, 1) < 0 ||
		    dup2(stderr_fd >= 0 ? stderr_fd : devnull, 2) < 0)
			_exit(127);
		syscall(SYS_close_range, 3U, ~0U, 0U);
		execve(argv[0], argv, envp ? envp : environ);
		dprintf(2, "cannot execute %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int err = pid < 0 ? -errno : 0;
	if (pid > 0 && remember(pid, SIGTERM)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		err = -ENOSPC;
	}
	unblock(&old);
	close(devnull);
	return err ? err : pid;
}

unsigned long long rl_procs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int rl_procs_run(char *const argv[], int timeout_ms, char **out)
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
	pid_t pid = rl_procs_exec(argv, NULL, fds[1], fds[1]);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		free(buf);
		return pid;
	}
	unsigned long long deadline = rl_procs_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
	bool timed_out = false;
	for (;;) {
		unsigned long long now = rl_procs_now_ns();
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
	if (!timed_out)
		ret = rl_procs_wait(pid, timeout_ms);
	if (timed_out || ret == -ETIMEDOUT) {
		rl_procs_stop(pid);
		return -ETIMEDOUT;
	}
	if (ret < 0)
		return ret;
	return WIFEXITED(ret) ? WEXITSTATUS(ret) : 128 + WTERMSIG(ret);
}

int rl_procs_stop(pid_t pid)
{
	sigset_t old;
	int sig = SIGKILL;

	block(&old);
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i].pid == pid)
			sig = kids[i].term_sig;
	int status = end_child(pid, sig);
	forget(pid);
	unblock(&old);
	return status;
}

int rl_procs_wait(pid_t pid, int timeout_ms)
{
	int status;

	for (long waited = 0;; waited += 5) {
		pid_t r = waitpid(pid, &status, timeout_ms < 0 ? 0 : WNOHANG);
		if (r == pid) {
			sigset_t old;
			block(&old);
			forget(pid);
			unblock(&old);
			return status;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return -ETIMEDOUT;
		if (r == 0)
			nap_ms(5);
	}
}

void rl_procs_remove_at_exit(const char *path, int is_dir)
{
	sigset_t old;

	block(&old);
	for (int i = 0; i < MAX_FILES; i++) {
		if (!files[i].used) {
			snprintf(files[i].path, sizeof(files[i].path), "%s", path);
			files[i].is_dir = is_dir;
			files[i].used = 1;
			break;
		}
	}
	unblock(&old);
}

void rl_procs_cleanup(void)
{
	sigset_t old;

	block(&old);
	cleanup_all();
	unblock(&old);
}

char **rl_procs_env(const char *domain_path)
{
	extern char **environ;
	static const char *const dropped[] = { "REDLEAF_DOMAIN_PATH=", "REDLEAF_DOMAIN=", "REDLEAF_SOCKET=" };
	size_t n = 0;

	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof(char *));
	size_t len = strlen(domain_path) + sizeof("REDLEAF_DOMAIN_PATH=");
	if (!env || !(env[0] = malloc(len))) {
		free(env);
		return NULL;
	}
	/* Ours first: the one string rl_procs_env_free() frees. */
	snprintf(env[0], len, "REDLEAF_DOMAIN_PATH=%s", domain_path);
	size_t k = 1;
	for (size_t i = 0; i < n; i++) {
		bool drop = false;
		for (size_t d = 0; d < sizeof(dropped) / sizeof(dropped[0]); d++)
			drop |= !strncmp(environ[i], dropped[d], strlen(dropped[d]));
		if (!drop)
			env[k++] = environ[i];
	}
	env[k] = NULL;
	return env;
}

void rl_procs_env_free(char **env)
{
	if (env)
		free(env[0]);
	free(env);
}

int rl_procs_self_dir(char *out, size_t len)
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

int rl_procs_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
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
