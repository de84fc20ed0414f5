// SPDX-License-Identifier: MIT
/*
 * The mpqemu back end: QEMU 7.2's NVMe emulation in a process of its own,
 * driven over QEMU's multi-process protocol (docs/mpqemu.md).
 *
 * Wire facts (QEMU 7.2, include/hw/remote/mpqemu-link.h and
 * hw/remote/message.c): every message is a header {int cmd; size_t size}
 * followed by size bytes of payload, on an AF_UNIX stream socket; file
 * descriptors travel as SCM_RIGHTS with the header. QEMU answers every
 * request but SYNC_SYSMEM with a RET message carrying a u64. QEMU reads at
 * most 7 descriptors per message and ends its message loop (and shuts down)
 * on any malformed message or bad address, so requests are validated here
 * before they are sent.
 */
#include "mpqemu.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- The wire format (facts from QEMU 7.2; layouts as on x86-64 Linux) ---- */

enum mpqemu_cmd {
	MPQEMU_SYNC_SYSMEM = 0,
	MPQEMU_RET = 1,
	MPQEMU_PCI_CFGWRITE = 2,
	MPQEMU_PCI_CFGREAD = 3,
	MPQEMU_BAR_WRITE = 4,
	MPQEMU_BAR_READ = 5,
};

/* QEMU sends and receives MPQemuMsg up to its data union: {int cmd; size_t size}. */
struct mpqemu_header {
	int32_t cmd;
	uint32_t pad;
	uint64_t size;
};

#define MPQEMU_MAX_FDS 8 /* REMOTE_MAX_FDS; QEMU rejects num_fds >= 8 */

struct mpqemu_sync_sysmem {
	uint64_t gpas[MPQEMU_MAX_FDS];
	uint64_t sizes[MPQEMU_MAX_FDS];
	int64_t offsets[MPQEMU_MAX_FDS]; /* off_t */
};

struct mpqemu_pci_conf {
	uint32_t addr;
	uint32_t val;
	int32_t len;
};

struct mpqemu_bar_access {
	uint64_t addr; /* absolute: BAR0 as programmed + offset */
	uint64_t val;
	uint32_t size;
	bool memory; /* memory space, not I/O ports */
};

struct mpqemu_reply {
	struct mpqemu_header h;
	uint64_t u64;
};

/* QEMU compares payload sizes with sizeof of its own structs: pin ours to them. */
static_assert(sizeof(struct mpqemu_header) == 16, "MPQEMU_MSG_HDR_SIZE");
static_assert(offsetof(struct mpqemu_header, size) == 8, "size_t after int");
static_assert(sizeof(struct mpqemu_sync_sysmem) == 192, "SyncSysmemMsg");
static_assert(sizeof(struct mpqemu_pci_conf) == 12, "PciConfDataMsg");
static_assert(sizeof(struct mpqemu_bar_access) == 24, "BarAccessMsg");
static_assert(offsetof(struct mpqemu_bar_access, memory) == 20, "BarAccessMsg.memory");
static_assert(sizeof(struct mpqemu_reply) == 24, "RET with u64");
static_assert(RL_MPQEMU_MAX_REGIONS < MPQEMU_MAX_FDS, "QEMU takes at most 7 fds");
static_assert(RL_MPQEMU_MAX_REGIONS <= RL_DEV_MAX_REGIONS, "every region is an rl_dev region");

/* PCI configuration space (PCI Local Bus Specification 3.0, section 6.2). */
#define PCI_COMMAND 0x04
#define PCI_CACHE_LINE_SIZE 0x0c /* writable, and cleared by a device reset */
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_BAR0 0x10
#define PCI_BAR_IO 0x1
#define PCI_BAR_TYPE_MASK 0x6
#define PCI_BAR_TYPE_64 0x4
#define PCI_CONFIG_SIZE 256 /* conventional PCI: the x-remote machine's bus */

/* Our end of QEMU's socket sits at this descriptor in QEMU (fd=3 crashes QEMU 7.2). */
#define QEMU_SOCKET_FD 10
/* Where BAR0 goes unless a region is there (the top of 32-bit space, as on a PC). */
#define BAR0_PREFERRED 0xfe000000ull
/* How long a QEMU whose socket closed may take to exit on its own before it is killed. */
#define EXIT_GRACE_MS 1000
#define STDERR_QUOTE 1024
/* Written to PCI_CACHE_LINE_SIZE before QEMU starts; its disappearance marks QEMU's startup reset. */
#define RESET_MARKER 0x10

struct rl_mpqemu {
	struct rl_dev dev;
	int sock;     /* our end of the socketpair */
	int errfd;    /* memfd holding QEMU's stdout and stderr */
	pid_t pid;    /* QEMU, or -1 once reaped */
	int status;   /* its wait status once reaped */
	bool dead;
	bool killed;  /* we sent SIGKILL */
	unsigned timeout_ms;
	uint64_t bar0;
	char err[2048];
};

static const struct rl_dev_ops mpqemu_ops;

static struct rl_mpqemu *from_dev(struct rl_dev *d)
{
	return (struct rl_mpqemu *)((char *)d - offsetof(struct rl_mpqemu, dev));
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* ---- The QEMU process ---- */

/* Waits up to grace_ms for QEMU to exit by itself, then kills it; always reaps. */
static void reap(struct rl_mpqemu *q, unsigned grace_ms)
{
	struct timespec start, pause = {.tv_nsec = 1000000};
	int status = 0;
	pid_t r;

	if (q->pid < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((r = waitpid(q->pid, &status, WNOHANG)) == 0 && elapsed_ms(&start) < grace_ms)
		nanosleep(&pause, NULL);
	if (r == 0) {
		kill(q->pid, SIGKILL);
		q->killed = true;
		do
			r = waitpid(q->pid, &status, 0);
		while (r < 0 && errno == EINTR);
	}
	/* r < 0: ECHILD (the caller ignores SIGCHLD, so the kernel reaped it). */
	q->status = r == q->pid ? status : -1;
	q->pid = -1;
}

/* The last STDERR_QUOTE bytes QEMU wrote, on one line, or "" (QEMU's stderr is a memfd). */
static void stderr_tail(const struct rl_mpqemu *q, char *buf, size_t len)
{
	struct stat st;
	size_t want, n = 0;
	ssize_t got;

	buf[0] = '\0';
	if (q->errfd < 0 || fstat(q->errfd, &st) < 0 || st.st_size <= 0 || len < 2)
		return;
	want = (size_t)st.st_size < len - 1 ? (size_t)st.st_size : len - 1;
	got = pread(q->errfd, buf, want, st.st_size - (off_t)want);
	if (got > 0)
		n = (size_t)got;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = '|';
		else if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
			buf[i] = '?';
}

static void describe_exit(const struct rl_mpqemu *q, char *buf, size_t len)
{
	if (q->status < 0)
		snprintf(buf, len, "QEMU is gone");
	else if (WIFEXITED(q->status))
		snprintf(buf, len, "QEMU exited with status %d", WEXITSTATUS(q->status));
	else if (WIFSIGNALED(q->status) && q->killed)
		snprintf(buf, len, "QEMU was killed");
	else if (WIFSIGNALED(q->status))
		snprintf(buf, len, "QEMU was killed by signal %s",
			 sigabbrev_np(WTERMSIG(q->status)) ? sigabbrev_np(WTERMSIG(q->status)) : "?");
	else
		snprintf(buf, len, "QEMU ended (wait status 0x%x)", (unsigned)q->status);
}

/*
 * The device is dead from now on: QEMU is reaped (killed first unless it is
 * already exiting) and q->err says what happened, how QEMU ended and what it
 * printed. Returns rc for the caller to pass on.
 */
static int die(struct rl_mpqemu *q, int rc, unsigned grace_ms, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int die(struct rl_mpqemu *q, int rc, unsigned grace_ms, const char *fmt, ...)
{
	char what[256], how[128], said[STDERR_QUOTE + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	q->dead = true;
	reap(q, grace_ms);
	describe_exit(q, how, sizeof how);
	stderr_tail(q, said, sizeof said);
	snprintf(q->err, sizeof q->err, "%s; %s%s%s", what, how, said[0] ? "; its stderr: " : "", said);
	return rc;
}

/* A failure that leaves the device usable (a request refused before it was sent). */
static int refuse(struct rl_mpqemu *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct rl_mpqemu *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->err, sizeof q->err, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- Messages ---- */

/* Sends header + payload (+ fds with the first byte), all of it or an error. */
static int send_message(struct rl_mpqemu *q, int cmd, const void *payload, size_t size,
			const int *fds, unsigned nfds)
{
	struct mpqemu_header h = {.cmd = cmd, .size = size};
	struct iovec iov[2] = {{&h, sizeof h}, {(void *)payload, size}};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MPQEMU_MAX_FDS)];
	} control;
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
	size_t total = sizeof h + size, sent = 0;

	if (nfds) {
		memset(&control, 0, sizeof control);
		m.msg_control = control.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (sent < total) {
		ssize_t n = sendmsg(q->sock, &m, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return die(q, -ETIMEDOUT, 0, "QEMU took no request for %u ms", q->timeout_ms);
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return die(q, -ECONNRESET, EXIT_GRACE_MS, "QEMU closed the connection");
		if (n < 0)
			return die(q, -errno, EXIT_GRACE_MS, "sending to QEMU: %s", strerror(errno));
		sent += (size_t)n;
		/* A short send: the rest goes without the descriptors, which went with the first byte. */
		m.msg_control = NULL;
		m.msg_controllen = 0;
		while (m.msg_iovlen && (size_t)n >= m.msg_iov->iov_len) {
			n -= (ssize_t)m.msg_iov->iov_len;
			m.msg_iov++;
			m.msg_iovlen--;
		}
		if (m.msg_iovlen) {
			m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + n;
			m.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/*
 * Receives QEMU's RET reply. The socket's SO_RCVTIMEO bounds each recv; the
 * clock is read only on the slow path (a signal, a partial message), so one
 * round trip costs one sendmsg and one recv.
 */
static int receive_reply(struct rl_mpqemu *q, uint64_t *val)
{
	struct mpqemu_reply r;
	struct timespec start = {0};
	size_t got = 0;

	while (got < sizeof r) {
		ssize_t n = recv(q->sock, (char *)&r + got, sizeof r - got, MSG_WAITALL);
		int e = errno;

		if (n == (ssize_t)(sizeof r - got)) {
			got = sizeof r;
			break;
		}
		/* ECONNRESET: QEMU went away with a request of ours still unread. */
		if (n == 0 || (n < 0 && e == ECONNRESET))
			return die(q, -ECONNRESET, EXIT_GRACE_MS, "QEMU closed the connection");
		if (n < 0 && e != EINTR && e != EAGAIN && e != EWOULDBLOCK)
			return die(q, -e, EXIT_GRACE_MS, "receiving from QEMU: %s", strerror(e));
		if (n > 0)
			got += (size_t)n;
		if (start.tv_sec == 0 && start.tv_nsec == 0)
			clock_gettime(CLOCK_MONOTONIC, &start);
		/* No data for a whole SO_RCVTIMEO period is a timeout however much came before. */
		if ((n < 0 && e != EINTR) || elapsed_ms(&start) >= (long)q->timeout_ms)
			return die(q, -ETIMEDOUT, 0, "no reply from QEMU within %u ms", q->timeout_ms);
	}
	if (r.h.cmd != MPQEMU_RET || r.h.size != sizeof r.u64)
		return die(q, -EPROTO, 0, "QEMU replied with command %d, size %llu (expected RET, 8)",
			   (int)r.h.cmd, (unsigned long long)r.h.size);
	*val = r.u64;
	return 0;
}

static int round_trip(struct rl_mpqemu *q, int cmd, const void *payload, size_t size, uint64_t *val)
{
	int rc;

	if (q->dead)
		return -ENOTCONN;
	rc = send_message(q, cmd, payload, size, NULL, 0);
	return rc < 0 ? rc : receive_reply(q, val);
}

/* ---- Configuration space and BAR access ---- */

static int check_config(struct rl_mpqemu *q, uint32_t off, unsigned len)
{
	/* QEMU checks off + 4 against the config size whatever len is, and exits on failure. */
	if ((len != 1 && len != 2 && len != 4) || off % len || off + 4 > PCI_CONFIG_SIZE)
		return refuse(q, "config access of %u bytes at 0x%x refused", len, off);
	return 0;
}

int rl_mpqemu_config_read(struct rl_mpqemu *q, uint32_t off, unsigned len, uint32_t *val)
{
	struct mpqemu_pci_conf m = {.addr = off, .len = (int32_t)len};
	uint64_t reply;
	int rc = check_config(q, off, len);

	if (rc == 0)
		rc = round_trip(q, MPQEMU_PCI_CFGREAD, &m, sizeof m, &reply);
	if (rc < 0)
		return rc;
	*val = (uint32_t)reply;
	return 0;
}

int rl_mpqemu_config_write(struct rl_mpqemu *q, uint32_t off, unsigned len, uint32_t val)
{
	struct mpqemu_pci_conf m = {.addr = off, .val = val, .len = (int32_t)len};
	uint64_t reply;
	int rc = check_config(q, off, len);

	if (rc == 0)
		rc = round_trip(q, MPQEMU_PCI_CFGWRITE, &m, sizeof m, &reply);
	if (rc == 0 && reply != 0)
		return die(q, -EIO, EXIT_GRACE_MS, "QEMU refused a config write at 0x%x", off);
	return rc;
}

static int check_bar(struct rl_mpqemu *q, uint32_t off, unsigned size)
{
	/* An access QEMU cannot route ends its message loop: refuse it here instead. */
	if ((size != 4 && size != 8) || off % size || (size_t)off + size > q->dev.bar_len)
		return refuse(q, "BAR0 access of %u bytes at 0x%x refused (BAR0 is 0x%zx bytes)", size, off,
			      q->dev.bar_len);
	return 0;
}

int rl_mpqemu_bar_read(struct rl_mpqemu *q, uint32_t off, unsigned size, uint64_t *val)
{
	struct mpqemu_bar_access m;
	uint64_t reply;
	int rc = check_bar(q, off, size);

	if (rc < 0)
		return rc;
	memset(&m, 0, sizeof m); /* no stray bytes in the padding on the wire */
	m.addr = q->bar0 + off;
	m.size = size;
	m.memory = true;
	rc = round_trip(q, MPQEMU_BAR_READ, &m, sizeof m, &reply);
	if (rc < 0)
		return rc;
	*val = reply;
	return 0;
}

int rl_mpqemu_bar_write(struct rl_mpqemu *q, uint32_t off, unsigned size, uint64_t val)
{
	struct mpqemu_bar_access m;
	uint64_t reply;
	int rc = check_bar(q, off, size);

	if (rc < 0)
		return rc;
	memset(&m, 0, sizeof m);
	m.addr = q->bar0 + off;
	m.val = val;
	m.size = size;
	m.memory = true;
	rc = round_trip(q, MPQEMU_BAR_WRITE, &m, sizeof m, &reply);
	if (rc == 0 && reply != 0)
		return die(q, -EIO, EXIT_GRACE_MS, "QEMU refused a BAR0 write at 0x%x", off);
	return rc;
}

/* The rl_dev ops: a failed read is all ones (what a vanished PCI device reads as). */
static uint32_t ops_read32(struct rl_dev *d, uint32_t off)
{
	uint64_t v;
	return rl_mpqemu_bar_read(from_dev(d), off, 4, &v) == 0 ? (uint32_t)v : UINT32_MAX;
}

static void ops_write32(struct rl_dev *d, uint32_t off, uint32_t val)
{
	(void)rl_mpqemu_bar_write(from_dev(d), off, 4, val);
}

static uint64_t ops_read64(struct rl_dev *d, uint32_t off)
{
	uint64_t v;
	return rl_mpqemu_bar_read(from_dev(d), off, 8, &v) == 0 ? v : UINT64_MAX;
}

static void ops_write64(struct rl_dev *d, uint32_t off, uint64_t val)
{
	(void)rl_mpqemu_bar_write(from_dev(d), off, 8, val);
}

static const struct rl_dev_ops mpqemu_ops = {
	.read32 = ops_read32,
	.write32 = ops_write32,
	.read64 = ops_read64,
	.write64 = ops_write64,
};

/* ---- Start ---- */

/* The QEMU binary as a path: cfg's if it has a '/', else found in PATH. */
static int find_qemu(const char *name, char *path, size_t len)
{
	const char *dirs = getenv("PATH");

	if (strchr(name, '/')) {
		snprintf(path, len, "%s", name);
		return access(path, X_OK) == 0 ? 0 : -errno;
	}
	if (!dirs || !*dirs)
		dirs = "/usr/local/bin:/usr/bin:/bin";
	while (*dirs) {
		size_t n = strcspn(dirs, ":");
		if (n > 0 && (size_t)snprintf(path, len, "%.*s/%s", (int)n, dirs, name) < len &&
		    access(path, X_OK) == 0)
			return 0;
		dirs += n + (dirs[n] == ':');
	}
	return -ENOENT;
}

/* Appends s to a QEMU option value: QEMU's option syntax escapes a comma by doubling it. */
static bool append_escaped(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	for (; *s; s++) {
		if (n + 3 > len)
			return false;
		buf[n++] = *s;
		if (*s == ',')
			buf[n++] = ',';
	}
	buf[n] = '\0';
	return true;
}

static bool serial_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 20) /* NVMe 1.4, figure 247: SN is 20 ASCII bytes */
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static bool regions_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int check_regions(const struct rl_mpqemu_config *cfg, char *err, size_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct stat st;

	if (cfg->nregions == 0 || cfg->nregions > RL_MPQEMU_MAX_REGIONS || !cfg->regions) {
		snprintf(err, len, "%u memory regions given: 1 to %d are needed", cfg->nregions,
			 RL_MPQEMU_MAX_REGIONS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < cfg->nregions; i++) {
		const struct rl_mpqemu_region *r = &cfg->regions[i];
		uint64_t a = (uint64_t)(uintptr_t)r->addr;

		if (a % page || r->len == 0 || r->len % page || r->offset < 0 || (uint64_t)r->offset % page) {
			snprintf(err, len, "region %u (%p, 0x%zx bytes, offset 0x%llx) is not page-aligned", i,
				 r->addr, r->len, (long long)r->offset);
			return -EINVAL;
		}
		if (fstat(r->memfd, &st) < 0 || (uint64_t)st.st_size < (uint64_t)r->offset + r->len) {
			snprintf(err, len, "region %u: descriptor %d is not a file of at least 0x%llx bytes", i,
				 r->memfd, (unsigned long long)r->offset + r->len);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++)
			if (regions_overlap(a, r->len, (uintptr_t)cfg->regions[j].addr, cfg->regions[j].len)) {
				snprintf(err, len, "regions %u and %u overlap", j, i);
				return -EINVAL;
			}
	}
	return 0;
}

static int check_start_config(const struct rl_mpqemu_config *cfg, char *qemu, size_t qlen, char *err,
			       size_t len)
{
	const char *name = cfg->qemu ? cfg->qemu : RL_MPQEMU_DEFAULT_BINARY;
	int rc;

	if (!cfg->image || !*cfg->image) {
		snprintf(err, len, "no backing image given");
		return -EINVAL;
	}
	if (access(cfg->image, R_OK | W_OK) < 0) {
		rc = -errno;
		snprintf(err, len, "backing image %.512s: %s", cfg->image, strerror(errno));
		return rc;
	}
	if (cfg->serial && !serial_ok(cfg->serial)) {
		snprintf(err, len, "serial \"%s\" is not 1 to 20 printable ASCII characters", cfg->serial);
		return -EINVAL;
	}
	rc = check_regions(cfg, err, len);
	if (rc < 0)
		return rc;
	rc = find_qemu(name, qemu, qlen);
	if (rc < 0)
		snprintf(err, len, "QEMU not found: %.512s%s%s (Debian 12: apt-get install %s)", name,
			 strchr(name, '/') ? ": " : " ", strchr(name, '/') ? strerror(-rc) : "is not in PATH",
			 RL_MPQEMU_PACKAGE);
	return rc;
}

/*
 * Starts QEMU with its socket end at QEMU_SOCKET_FD, stdin from /dev/null and
 * stdout and stderr into the memfd q->errfd. Every other descriptor is closed
 * in the child, so QEMU holds nothing of the caller's but what SYNC_SYSMEM
 * hands it.
 */
static int spawn_qemu(struct rl_mpqemu *q, const char *path, char *const argv[], int qemu_end)
{
	posix_spawn_file_actions_t fa;
	int rc;

	rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return -rc;
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, q->errfd, 1);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, q->errfd, 2);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, qemu_end, QEMU_SOCKET_FD);
	/* glibc ignores EBADF for a close action, so closing unused slots is harmless. */
	for (int fd = 3; !rc && fd < QEMU_SOCKET_FD; fd++)
		rc = posix_spawn_file_actions_addclose(&fa, fd);
	if (!rc)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, QEMU_SOCKET_FD + 1);
	if (!rc)
		rc = posix_spawn(&q->pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		q->pid = -1;
	return -rc;
}

/*
 * QEMU 7.2 starts the message loop from a machine-init-done notifier and
 * resets every device right after it (qdev_machine_creation_done() in
 * hw/core/machine.c): requests already waiting on the socket are served
 * before that reset and their effect on the device is then undone (BAR0 and
 * COMMAND cleared: the "Bad address fe000000" of docs/mpqemu.md). So a
 * marker write is queued before QEMU even runs: it is served before the
 * reset for sure, and the reset clears it. Once the marker reads back as 0
 * the reset is behind us and nothing we program is lost.
 */
static int queue_reset_marker(struct rl_mpqemu *q)
{
	struct mpqemu_pci_conf m = {.addr = PCI_CACHE_LINE_SIZE, .val = RESET_MARKER, .len = 1};
	struct mpqemu_header h = {.cmd = MPQEMU_PCI_CFGWRITE, .size = sizeof m};
	struct iovec iov[2] = {{&h, sizeof h}, {&m, sizeof m}};

	/* The socket is empty and its buffer far larger than one message: this cannot block. */
	if (writev(q->sock, iov, 2) != (ssize_t)(sizeof h + sizeof m))
		return refuse(q, "cannot queue the first request: %s", strerror(errno));
	return 0;
}

static int wait_startup_reset(struct rl_mpqemu *q)
{
	struct timespec start;
	uint64_t reply;
	uint32_t marker;
	int rc;

	rc = receive_reply(q, &reply); /* the queued marker write: QEMU is up */
	if (rc)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		rc = rl_mpqemu_config_read(q, PCI_CACHE_LINE_SIZE, 1, &marker);
		if (rc)
			return rc;
		if (marker == 0)
			return 0;
	} while (elapsed_ms(&start) < (long)q->timeout_ms);
	return die(q, -EPROTO, 0, "QEMU's startup device reset not seen within %u ms (QEMU 7.2 expected)",
		   q->timeout_ms);
}

/* Moves fd above 0..2 (when the caller runs with stdio closed): the spawn's dup2s must not clobber it. */
static int above_stdio(int fd)
{
	int moved, e;

	if (fd < 0 || fd > 2)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	e = errno;
	close(fd);
	errno = e;
	return moved;
}

static int launch(struct rl_mpqemu *q, const struct rl_mpqemu_config *cfg, const char *path)
{
	char drive[PATH_MAX * 2 + 64] = "id=d0,if=none,format=raw,file=";
	char device[128] = "nvme,id=nvme0,drive=d0,serial=";
	char object[64];
	int sv[2], rc;

	if (!append_escaped(drive, sizeof drive, cfg->image) ||
	    !append_escaped(device, sizeof device, cfg->serial ? cfg->serial : "redleaf-mpqemu"))
		return refuse(q, "image path too long");
	snprintf(object, sizeof object, "x-remote-object,id=r0,devid=nvme0,fd=%d", QEMU_SOCKET_FD);
	/*
	 * -display/-monitor/-serial none: with -nographic the monitor would sit on
	 * stdio; -nodefaults together with -monitor none crashes QEMU 7.2.
	 */
	char *const argv[] = {
		(char *)path, "-machine", "x-remote", "-display", "none", "-monitor", "none",
		"-serial", "none", "-no-user-config", "-drive", drive, "-device", device,
		"-object", object, NULL,
	};

	q->errfd = above_stdio(memfd_create("mpqemu-stderr", MFD_CLOEXEC));
	if (q->errfd < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	q->sock = above_stdio(sv[0]);
	sv[1] = above_stdio(sv[1]);
	if (q->sock < 0 || sv[1] < 0) {
		rc = -errno;
		if (sv[1] >= 0)
			close(sv[1]);
		return rc;
	}
	rc = queue_reset_marker(q);
	if (rc == 0) {
		rc = spawn_qemu(q, path, argv, sv[1]);
		if (rc < 0)
			snprintf(q->err, sizeof q->err, "cannot start %.512s: %s", path, strerror(-rc));
	}
	close(sv[1]); /* QEMU's end lives in QEMU only: its exit is then our EOF */
	return rc;
}

static int set_timeouts(struct rl_mpqemu *q)
{
	struct timeval tv = {.tv_sec = q->timeout_ms / 1000, .tv_usec = (q->timeout_ms % 1000) * 1000};

	if (setsockopt(q->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(q->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		return die(q, -errno, 0, "setting socket timeouts: %s", strerror(errno));
	return 0;
}

/* BAR0's size by the standard probe (PCI 3.0, section 6.2.5.1): write ones, read the mask back. */
static int size_bar0(struct rl_mpqemu *q, uint64_t *size)
{
	uint32_t lo, hi = UINT32_MAX;
	int rc;

	rc = rl_mpqemu_config_write(q, PCI_BAR0, 4, UINT32_MAX);
	if (!rc)
		rc = rl_mpqemu_config_read(q, PCI_BAR0, 4, &lo);
	if (rc)
		return rc;
	if (lo & PCI_BAR_IO)
		return die(q, -ENODEV, 0, "BAR0 is an I/O port BAR, not memory");
	if ((lo & PCI_BAR_TYPE_MASK) == PCI_BAR_TYPE_64) {
		rc = rl_mpqemu_config_write(q, PCI_BAR0 + 4, 4, UINT32_MAX);
		if (!rc)
			rc = rl_mpqemu_config_read(q, PCI_BAR0 + 4, 4, &hi);
		if (rc)
			return rc;
	}
	*size = ~((uint64_t)hi << 32 | (lo & ~0xfu)) + 1;
	if (*size == 0 || (*size & (*size - 1)) || ((lo & PCI_BAR_TYPE_MASK) != PCI_BAR_TYPE_64 && *size > (1ull << 31)))
		return die(q, -ENODEV, 0, "BAR0 reads back 0x%08x%08x: no memory BAR", hi, lo);
	return 0;
}

/* The first size-aligned address at or above BAR0_PREFERRED that no region covers. */
static uint64_t place_bar0(const struct rl_mpqemu_config *cfg, uint64_t size)
{
	uint64_t at = (BAR0_PREFERRED + size - 1) & ~(size - 1);
	bool moved = true;

	while (moved) {
		moved = false;
		for (unsigned i = 0; i < cfg->nregions; i++) {
			uint64_t a = (uintptr_t)cfg->regions[i].addr, len = cfg->regions[i].len;
			if (regions_overlap(at, size, a, len)) {
				at = (a + len + size - 1) & ~(size - 1);
				moved = true;
			}
		}
	}
	return at;
}

/* BAR0 and COMMAND read back as programmed (a reset in between would have cleared them). */
static int verify_programming(struct rl_mpqemu *q)
{
	uint32_t cmd, lo, hi;
	int rc;

	rc = rl_mpqemu_config_read(q, PCI_COMMAND, 2, &cmd);
	if (!rc)
		rc = rl_mpqemu_config_read(q, PCI_BAR0, 4, &lo);
	if (!rc)
		rc = rl_mpqemu_config_read(q, PCI_BAR0 + 4, 4, &hi);
	if (rc)
		return rc;
	if ((cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) != (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER) ||
	    ((uint64_t)hi << 32 | (lo & ~0xfu)) != q->bar0)
		return die(q, -EPROTO, 0, "QEMU lost the PCI setup: COMMAND 0x%04x, BAR0 0x%08x%08x", cmd, hi,
			   lo);
	return 0;
}

/*
 * The order that makes QEMU 7.2 reliable (docs/mpqemu.md): after QEMU's
 * startup reset, BAR0 and COMMAND first, then guest RAM, then a round trip
 * before any BAR access.
 */
static int program_device(struct rl_mpqemu *q, const struct rl_mpqemu_config *cfg)
{
	struct mpqemu_sync_sysmem sync;
	int fds[RL_MPQEMU_MAX_REGIONS];
	uint64_t size = 0;
	int rc;

	rc = wait_startup_reset(q);
	if (!rc)
		rc = size_bar0(q, &size);
	if (rc)
		return rc;
	q->bar0 = place_bar0(cfg, size);
	q->dev.bar_len = size;
	rc = rl_mpqemu_config_write(q, PCI_BAR0, 4, (uint32_t)q->bar0);
	if (!rc)
		rc = rl_mpqemu_config_write(q, PCI_BAR0 + 4, 4, (uint32_t)(q->bar0 >> 32));
	/* Completions are polled (QEMU has no MSI-X here): INTx stays off. */
	if (!rc)
		rc = rl_mpqemu_config_write(q, PCI_COMMAND, 2,
					    PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	if (rc)
		return rc;

	memset(&sync, 0, sizeof sync);
	for (unsigned i = 0; i < cfg->nregions; i++) {
		sync.gpas[i] = (uintptr_t)cfg->regions[i].addr;
		sync.sizes[i] = cfg->regions[i].len;
		sync.offsets[i] = cfg->regions[i].offset;
		fds[i] = cfg->regions[i].memfd;
		q->dev.regions[i].start = (uintptr_t)cfg->regions[i].addr;
		q->dev.regions[i].len = cfg->regions[i].len;
	}
	q->dev.nregions = cfg->nregions;
	rc = send_message(q, MPQEMU_SYNC_SYSMEM, &sync, sizeof sync, fds, cfg->nregions);
	if (rc)
		return rc;
	/* SYNC_SYSMEM has no reply: these reads are the round trip that orders it before BAR accesses. */
	return verify_programming(q);
}

static void destroy(struct rl_mpqemu *q)
{
	if (q->sock >= 0)
		close(q->sock); /* QEMU's message loop sees EOF and QEMU shuts down */
	q->sock = -1;
	reap(q, EXIT_GRACE_MS);
	if (q->errfd >= 0)
		close(q->errfd);
	free(q);
}

int rl_mpqemu_start(struct rl_mpqemu **out, const struct rl_mpqemu_config *cfg)
{
	char path[PATH_MAX];
	struct rl_mpqemu *q;
	int rc;

	q = calloc(1, sizeof *q);
	if (!q) {
		if (cfg->err && cfg->err_len)
			snprintf(cfg->err, cfg->err_len, "out of memory");
		return -ENOMEM;
	}
	q->sock = q->errfd = q->pid = -1;
	q->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : RL_MPQEMU_DEFAULT_TIMEOUT_MS;
	q->dev.ops = &mpqemu_ops;
	q->dev.priv = q;

	rc = check_start_config(cfg, path, sizeof path, q->err, sizeof q->err);
	if (!rc)
		rc = launch(q, cfg, path);
	if (!rc)
		rc = set_timeouts(q);
	if (!rc)
		rc = program_device(q, cfg);
	if (rc < 0) {
		if (cfg->err && cfg->err_len)
			snprintf(cfg->err, cfg->err_len, "mpqemu: %s", q->err);
		else
			fprintf(stderr, "mpqemu: %s\n", q->err);
		destroy(q);
		return rc;
	}
	*out = q;
	return 0;
}

/* ---- The rest of the API ---- */

struct rl_dev *rl_mpqemu_dev(struct rl_mpqemu *q)
{
	return &q->dev;
}

bool rl_mpqemu_alive(struct rl_mpqemu *q)
{
	int status;

	if (q->dead)
		return false;
	/* QEMU may have died since the last exchange: ask the kernel, without waiting. */
	if (q->pid > 0 && waitpid(q->pid, &status, WNOHANG) == q->pid) {
		q->pid = -1;
		q->status = status;
		die(q, -ECONNRESET, 0, "QEMU is no longer running");
		return false;
	}
	return true;
}

const char *rl_mpqemu_error(const struct rl_mpqemu *q)
{
	return q->err;
}

pid_t rl_mpqemu_pid(const struct rl_mpqemu *q)
{
	return q->pid;
}

uint64_t rl_mpqemu_bar0(const struct rl_mpqemu *q)
{
	return q->bar0;
}

void rl_mpqemu_stop(struct rl_mpqemu *q)
{
	if (q)
		destroy(q);
}
