// SPDX-License-Identifier: MIT
/* The NVMe model as a process under test: see nvme_fixture.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nvme_fixture.h"
#include "nvme_model.h"

static struct t_model *live; /* the one atexit() kills */

static void die(const char *what)
{
	fprintf(stderr, "fixture: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int make_region(const char *name, size_t len, uintptr_t addr, void **map)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, len) < 0)
		die("memfd");
	*map = mmap((void *)addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (*map == MAP_FAILED || (uintptr_t)*map != addr)
		die("mapping a DMA region at its fixed address");
	return fd;
}

static void kill_live(void)
{
	if (live && live->pid > 0) {
		kill(live->pid, SIGKILL);
		waitpid(live->pid, NULL, 0);
		live->pid = 0;
	}
}

static char *fd_arg(int fd, uintptr_t addr)
{
	char *s;
	int r = addr ? asprintf(&s, "%d@%#lx", fd, (unsigned long)addr) : asprintf(&s, "%d", fd);
	if (r < 0)
		die("asprintf");
	return s;
}

static void exec_model(struct t_model *t, const char *path, const char *const *extra, int ready_fd, pid_t parent)
{
	const char *argv[40];
	unsigned n = 0;

	/* Die with the test, whatever happens to it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int fds[] = {t->bar_fd, t->qmem_fd, t->buf_fd, ready_fd};
	for (unsigned i = 0; i < 4; i++)
		fcntl(fds[i], F_SETFD, 0);
	argv[n++] = path;
	argv[n++] = "--bar-fd";
	argv[n++] = fd_arg(t->bar_fd, 0);
	argv[n++] = "--dma";
	argv[n++] = fd_arg(t->qmem_fd, T_QMEM_BASE);
	argv[n++] = "--dma";
	argv[n++] = fd_arg(t->buf_fd, T_BUF_BASE);
	argv[n++] = "--ready-fd";
	argv[n++] = fd_arg(ready_fd, 0);
	for (unsigned i = 0; extra && extra[i] && n < 39; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	execv(path, (char *const *)argv);
	fprintf(stderr, "fixture: exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

/* Waits for the model's ready byte; EOF means it died, and its status says why. */
static void wait_ready(struct t_model *t, int rfd)
{
	struct pollfd p = {.fd = rfd, .events = POLLIN};
	char c;

	if (poll(&p, 1, 10000) != 1 || read(rfd, &c, 1) != 1) {
		int st = 0;
		kill(t->pid, SIGKILL);
		waitpid(t->pid, &st, 0);
		t->pid = 0;
		fprintf(stderr, "fixture: the model did not become ready (status %#x)\n", st);
		exit(1);
	}
	close(rfd);
}

int t_model_start(struct t_model *t, const char *const *extra)
{
	const char *path = getenv("NVME_MODEL");
	int pipefd[2];

	memset(t, 0, sizeof(*t));
	if (!path || access(path, X_OK) != 0) {
		fprintf(stderr, "SKIP: $NVME_MODEL does not name the model program\n");
		return 77;
	}
	t->bar_fd = memfd_create("nvme-bar", MFD_CLOEXEC);
	if (t->bar_fd < 0 || ftruncate(t->bar_fd, rl_model_file_size(NVME_MODEL_BAR_LEN)) < 0)
		die("BAR memfd");
	t->qmem_fd = make_region("nvme-qmem", T_QMEM_LEN, T_QMEM_BASE, &t->qmem);
	void *buf;
	t->buf_fd = make_region("nvme-buf", T_BUF_LEN, T_BUF_BASE, &buf);
	t->buf = buf;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe");
	pid_t parent = getpid();
	t->pid = fork();
	if (t->pid < 0)
		die("fork");
	if (t->pid == 0)
		exec_model(t, path, extra, pipefd[1], parent);
	close(pipefd[1]);
	static int registered;
	live = t;
	if (!registered++)
		atexit(kill_live);
	wait_ready(t, pipefd[0]);
	int r = rl_dev_model_open(&t->dev, t->bar_fd);
	if (r) {
		errno = -r;
		die("rl_dev_model_open");
	}
	t->ctl = rl_dev_model_ctl(&t->dev);
	if (rl_dev_add_region(&t->dev, t->qmem, T_QMEM_LEN) || rl_dev_add_region(&t->dev, t->buf, T_BUF_LEN))
		die("rl_dev_add_region");
	return 0;
}

int t_model_alive(struct t_model *t)
{
	return t->pid > 0 && waitpid(t->pid, NULL, WNOHANG) == 0;
}

long t_model_cpu_ticks(struct t_model *t)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)t->pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	/* Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15. */
	char *p = strrchr(line, ')');
	long utime, stime;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime) != 2)
		return -1;
	return utime + stime;
}

void t_model_stop(struct t_model *t)
{
	kill_live();
	rl_dev_model_close(&t->dev);
	munmap(t->qmem, T_QMEM_LEN);
	munmap(t->buf, T_BUF_LEN);
	close(t->bar_fd);
	close(t->qmem_fd);
	close(t->buf_fd);
	live = NULL;
}
