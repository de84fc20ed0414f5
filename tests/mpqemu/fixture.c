// SPDX-License-Identifier: MIT
#include "fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The instances alive now, stopped at exit and killed on SIGTERM (meson's timeout). */
#define T_MAX_LIVE 4
static struct rl_mpqemu *live[T_MAX_LIVE];

static void stop_all(void)
{
	for (int i = 0; i < T_MAX_LIVE; i++)
		if (live[i]) {
			rl_mpqemu_stop(live[i]);
			live[i] = NULL;
		}
}

static void on_signal(int sig)
{
	/* Only async-signal-safe calls here: kill what runs, then go (init reaps). */
	for (int i = 0; i < T_MAX_LIVE; i++)
		if (live[i] && rl_mpqemu_pid(live[i]) > 0)
			kill(rl_mpqemu_pid(live[i]), SIGKILL);
	_exit(128 + sig);
}

static void install_cleanup(void)
{
	static int done;
	struct sigaction sa = {.sa_handler = on_signal};

	if (done++)
		return;
	atexit(stop_all);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void t_need_qemu(void)
{
	const char *script = getenv("NEED_QEMU");
	char cmd[4096];
	int status;

	install_cleanup();
	if (!script) {
		fprintf(stderr, "NEED_QEMU is not set (run this through meson test)\n");
		exit(1);
	}
	snprintf(cmd, sizeof cmd, "sh '%s'", script);
	status = system(cmd);
	if (status == -1 || !WIFEXITED(status)) {
		fprintf(stderr, "cannot run %s\n", script);
		exit(1);
	}
	if (WEXITSTATUS(status) == 77)
		exit(77);
	if (WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s failed with status %d\n", script, WEXITSTATUS(status));
		exit(1);
	}
}

int t_image(uint64_t size, char *path, size_t path_len)
{
	const char *dir = getenv("TMPDIR");
	char name[4096];
	int fd;

	snprintf(name, sizeof name, "%s/mpqemu-image-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkostemp(name, O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		fprintf(stderr, "cannot create an image in %s: %s\n", name, strerror(errno));
		exit(1);
	}
	unlink(name);
	snprintf(path, path_len, "/proc/%d/fd/%d", (int)getpid(), fd);
	return fd;
}

struct rl_mpqemu_region t_guest_ram(size_t len)
{
	return t_guest_ram_at(len, 0);
}

struct rl_mpqemu_region t_guest_ram_at(size_t len, uintptr_t at)
{
	struct rl_mpqemu_region r = {.len = len};

	r.memfd = memfd_create("mpqemu-guest-ram", MFD_CLOEXEC);
	if (r.memfd < 0 || ftruncate(r.memfd, (off_t)len) < 0) {
		perror("guest RAM memfd");
		exit(1);
	}
	r.addr = MAP_FAILED;
	if (at)
		r.addr = mmap((void *)at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, r.memfd, 0);
	if (r.addr == MAP_FAILED)
		r.addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, r.memfd, 0);
	if (r.addr == MAP_FAILED) {
		perror("guest RAM mmap");
		exit(1);
	}
	return r;
}

struct rl_mpqemu *t_start(struct rl_mpqemu_config *cfg)
{
	struct rl_mpqemu *q = NULL;
	int rc;

	install_cleanup();
	rc = rl_mpqemu_start(&q, cfg);
	if (rc < 0)
		return NULL;
	for (int i = 0; i < T_MAX_LIVE; i++)
		if (!live[i]) {
			live[i] = q;
			return q;
		}
	fprintf(stderr, "too many QEMUs in one test\n");
	rl_mpqemu_stop(q);
	exit(1);
}

void t_stop(struct rl_mpqemu *q)
{
	for (int i = 0; i < T_MAX_LIVE; i++)
		if (live[i] == q)
			live[i] = NULL;
	rl_mpqemu_stop(q);
}

int t_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own descriptor */
}

int t_has_children(void)
{
	siginfo_t info;

	memset(&info, 0, sizeof info);
	return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
