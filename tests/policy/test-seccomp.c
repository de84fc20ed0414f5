// SPDX-License-Identifier: MIT
/*
 * Seccomp groups, verified by probe children: each probe forks a child,
 * confines it with "base" plus some groups, makes one harmless call
 * (invalid fds, NULL buffers, flags the kernel rejects) and exits with
 * EXIT_RETURNED if the call came back. A denied call kills the child by
 * SIGSYS, and the violation word, in a shared page mapped before fork,
 * tells which syscall it was. Every probe runs under every configuration,
 * so each group is checked both for what it allows and for what it must not.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <linux/ioctl.h>

#include "helpers.h"
#include "seccomp_policy.h"
#include "rl_config.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

/* VFIO_GET_API_VERSION from linux/vfio.h: _IO(';', 100). */
#define T_VFIO_GET_API_VERSION _IO(';', 100)

#define EXIT_RETURNED 42    /* the probed call came back (allowed) */
#define EXIT_WRONG 43       /* it came back, but not as the probe expected */
#define EXIT_SETUP 44       /* could not prepare or install */
#define VIOLATION_NONE (-1)

/* Groups as bits, for the table of who allows what. */
#define G_BASE (1u << 0)
#define G_IO_URING (1u << 1)
#define G_AF_XDP (1u << 2)
#define G_VFIO (1u << 3)
#define G_SANITIZER (1u << 4)
#define G_NONE 0u
#define G_FD_GROUPS (G_IO_URING | G_AF_XDP | G_VFIO)

static const char *const group_names[] = { "base", "io_uring", "af_xdp", "vfio", "sanitizer" };

static volatile int32_t *t_violation;

/* Prepared in the child before the filter goes in. */
static int t_memfd = -1;
static pid_t t_parent;


/* ---- probes: return 0 if the call behaved as an allowed call should ---- */

static int p_mmap_private_anon(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	*(volatile char *)p = 1;
	return munmap(p, 4096);
}

/* -1 sign-extended to 64 bits, as the sanitizer runtimes pass it. */
static int p_mmap_private_anon_long_fd(void)
{
	long p = syscall(SYS_mmap, NULL, 4096L, (long)(PROT_READ | PROT_WRITE),
			 (long)(MAP_PRIVATE | MAP_ANONYMOUS), -1L, 0L);

	return p == -1 ? -1 : 0;
}

static int p_mmap_shared_anon(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) ==
	       MAP_FAILED;
}

static int p_mmap_exec(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
	       MAP_FAILED;
}

static int p_mmap_shared_fd(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, t_memfd, 0);

	if (p == MAP_FAILED)
		return -1;
	*(volatile char *)p = 1;
	return 0;
}

static int p_mmap_shared_fd_exec(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, t_memfd, 0) == MAP_FAILED;
}

static int p_mmap_private_fd(void)
{
	return mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, t_memfd, 0) == MAP_FAILED;
}

/* Shared anonymous memory through the "real fd" rule: the kernel would ignore the fd. */
static int p_mmap_shared_anon_fd(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, t_memfd, 0) ==
	       MAP_FAILED;
}

static int p_mprotect_rw(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	return mprotect(page, sizeof(page), PROT_READ | PROT_WRITE);
}

static int p_mprotect_exec(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	mprotect(page, sizeof(page), PROT_READ | PROT_EXEC);
	return 0;
}

static int p_munmap_mremap_madvise(void)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || madvise(p, 8192, MADV_DONTNEED) < 0)
		return -1;
	p = mremap(p, 8192, 16384, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -1;
	return munmap(p, 16384);
}

static int p_brk(void)
{
	return syscall(SYS_brk, 0) == 0 ? -1 : 0;
}

static int p_write_stderr(void)
{
	return syscall(SYS_write, 2, "", 0) == 0 ? 0 : -1;
}

static int p_write_stderr_efault(void)
{
	return syscall(SYS_write, 2, NULL, 1) == -1 && errno == EFAULT ? 0 : -1;
}

static int p_write_stdout(void)
{
	syscall(SYS_write, 1, "", 0);
	return 0;
}

static int p_futex(void)
{
	static uint32_t word;

	return syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0;
}

static int p_clocks(void)
{
	struct timespec ts = { 0, 0 };
	struct timeval tv;

	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) < 0 ||
	    syscall(SYS_clock_getres, CLOCK_MONOTONIC, &ts) < 0 ||
	    syscall(SYS_gettimeofday, &tv, NULL) < 0)
		return -1;
	ts = (struct timespec){ 0, 1000 };
	if (syscall(SYS_nanosleep, &ts, NULL) < 0)
		return -1;
	return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL) < 0;
}

static int p_misc_base(void)
{
	char buf[16];
	cpu_set_t set;
	sigset_t mask;

	sigemptyset(&mask);
	if (syscall(SYS_sched_yield) < 0 || syscall(SYS_getpid) <= 0 || syscall(SYS_gettid) <= 0)
		return -1;
	if (syscall(SYS_getrandom, buf, sizeof(buf), 0) != (long)sizeof(buf))
		return -1;
	if (syscall(SYS_sched_getaffinity, 0, sizeof(set), &set) < 0)
		return -1;
	return syscall(SYS_rt_sigprocmask, SIG_BLOCK, &mask, NULL, sizeof(long)) < 0;
}

static int p_tgkill_self(void)
{
	/* Signal 0: only the permission and existence checks. */
	return syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), 0) < 0;
}

static int p_tgkill_other(void)
{
	syscall(SYS_tgkill, t_parent, t_parent, 0);
	return 0;
}

static int p_kill(void)
{
	syscall(SYS_kill, syscall(SYS_getpid), 0);
	return 0;
}

static int p_rt_sigaction(void)
{
	struct sigaction old;

	syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, sizeof(long));
	return 0;
}

static int p_openat(void)
{
	long fd = syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);

	if (fd >= 0)
		close((int)fd);
	return 0;
}

static int p_socket_inet(void)
{
	syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	return 0;
}

static int p_socket_unix(void)
{
	syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	return 0;
}

static int p_socket_xdp(void)
{
	long fd = syscall(SYS_socket, AF_XDP, SOCK_RAW, 0);

	/* Without CAP_NET_RAW or AF_XDP support this fails with an errno: still allowed. */
	if (fd >= 0 && syscall(SYS_close, fd) < 0)
		return -1;
	return 0;
}

static int p_ptrace(void)
{
	/* PEEKDATA on a process we do not trace: ESRCH if it were allowed. */
	syscall(SYS_ptrace, 1 /* PTRACE_PEEKDATA */, t_parent, NULL, NULL);
	return 0;
}

static int p_execve(void)
{
	static char *const argv[] = { "/bin/true", NULL };
	static char *const envp[] = { NULL };

	/* If this were allowed, /bin/true would exit 0, which no verdict accepts. */
	syscall(SYS_execve, "/bin/true", argv, envp);
	return 0;
}

static int p_clone(void)
{
	/* CLONE_THREAD without CLONE_SIGHAND is EINVAL if it gets to the kernel. */
	syscall(SYS_clone, 0x00010000 /* CLONE_THREAD */, NULL, NULL, NULL, 0);
	return 0;
}

static int p_clone3(void)
{
	syscall(SYS_clone3, NULL, 0);
	return 0;
}

static int p_getppid(void)
{
	syscall(SYS_getppid);
	return 0;
}

static int p_read(void)
{
	char c;

	syscall(SYS_read, -1, &c, 1);
	return 0;
}

static int p_ioctl_vfio(void)
{
	return syscall(SYS_ioctl, -1, T_VFIO_GET_API_VERSION) == -1 && errno == EBADF ? 0 : -1;
}

static int p_ioctl_vfio_sized(void)
{
	/* Type ';' but with direction and size bits: not a VFIO request. */
	syscall(SYS_ioctl, -1, _IOR(';', 100, int), NULL);
	return 0;
}

static int p_ioctl_tty(void)
{
	syscall(SYS_ioctl, -1, TCGETS, NULL);
	return 0;
}

static int p_io_uring_setup(void)
{
	return syscall(SYS_io_uring_setup, 0, NULL) >= 0 ? -1 : 0;
}

static int p_io_uring_enter(void)
{
	return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0) >= 0 ? -1 : 0;
}

static int p_io_uring_register(void)
{
	return syscall(SYS_io_uring_register, -1, 0, NULL, 0) >= 0 ? -1 : 0;
}

static int p_close(void)
{
	return syscall(SYS_close, -1) == -1 && errno == EBADF ? 0 : -1;
}

static int p_bind(void)
{
	return syscall(SYS_bind, -1, NULL, 0) >= 0 ? -1 : 0;
}

static int p_sockopts(void)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (syscall(SYS_setsockopt, -1, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) >= 0)
		return -1;
	return syscall(SYS_getsockopt, -1, SOL_SOCKET, SO_RCVBUF, &v, &len) >= 0 ? -1 : 0;
}

static int p_send_recv(void)
{
	char c = 0;
	struct msghdr msg = { 0 };

	if (syscall(SYS_sendto, -1, &c, 1, 0, NULL, 0) >= 0 ||
	    syscall(SYS_recvfrom, -1, &c, 1, 0, NULL, NULL) >= 0 ||
	    syscall(SYS_sendmsg, -1, &msg, 0) >= 0 || syscall(SYS_recvmsg, -1, &msg, 0) >= 0)
		return -1;
	return 0;
}

static int p_poll(void)
{
	struct timespec ts = { 0, 0 };

	if (syscall(SYS_poll, NULL, 0, 0) != 0)
		return -1;
	return syscall(SYS_ppoll, NULL, 0, &ts, NULL, 0) != 0;
}

static int p_pread_pwrite(void)
{
	char c = 0;

	if (syscall(SYS_pread64, -1, &c, 1, 0) >= 0)
		return -1;
	return syscall(SYS_pwrite64, -1, &c, 1, 0) >= 0 ? -1 : 0;
}

static int p_eventfd2(void)
{
	long fd = syscall(SYS_eventfd2, 0, 0);

	return fd < 0 ? -1 : 0;
}

static int p_sigaltstack(void)
{
	stack_t old;

	return syscall(SYS_sigaltstack, NULL, &old) < 0;
}

static int p_prctl_get_dumpable(void)
{
	return syscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0) < 0;
}

static int p_prctl_set_dumpable(void)
{
	syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}

static jmp_buf t_jump;

static void __attribute__((noinline, noreturn)) t_long_jump(void)
{
	longjmp(t_jump, 1);
}

/* Hidden from the compiler, which would warn about a NULL buffer. */
static void *volatile t_null;

/*
 * What a domain does all day, through libc and (in sanitizer builds) the
 * sanitizer runtime: allocations of many sizes, including ones large
 * enough to be mmapped, reallocs, a longjmp, a log line that cannot be
 * written.
 */
static int p_typical_work(void)
{
	static void *blocks[64];
	char *s;

	for (unsigned round = 0; round < 4; round++) {
		for (unsigned i = 0; i < 64; i++) {
			size_t size = ((size_t)1 << (i % 23)) + i * 7 + round;

			blocks[i] = malloc(size);
			if (!blocks[i])
				return -1;
			memset(blocks[i], (int)i, size < 4096 ? size : 4096);
		}
		for (unsigned i = 0; i < 64; i += 2) {
			void *p = realloc(blocks[i], 3000 + i);

			if (!p)
				return -1;
			blocks[i] = p;
		}
		for (unsigned i = 0; i < 64; i++)
			free(blocks[i]);
	}
	s = calloc(1, 1 << 24);
	if (!s)
		return -1;
	free(s);
	/* Past ASan's 256 MiB quarantine, so freed chunks are recycled and unmapped. */
	for (unsigned i = 0; i < 320; i++) {
		s = malloc(1 << 20);
		if (!s)
			return -1;
		s[i] = 1;
		free(s);
	}
	for (unsigned i = 0; i < 100000; i++) {
		s = malloc(16 + i % 512);
		if (!s)
			return -1;
		free(s);
	}
	s = strdup("redleaf");
	if (!s)
		return -1;
	free(s);
	/* A no-return path: ASan checks for the alternate stack there (sigaltstack). */
	if (setjmp(t_jump) == 0)
		t_long_jump();
	/* A failing log write, through libc (and the sanitizer's write interceptor). */
	if (write(2, t_null, 1) != -1 || errno != EFAULT)
		return -1;
	return 0;
}

struct probe {
	const char *name;
	int (*fn)(void);
	long nr;          /* the syscall a denied probe traps on */
	unsigned allowed; /* groups that allow it; G_BASE means every configuration */
};

static const struct probe probes[] = {
	{ "mmap private anonymous", p_mmap_private_anon, SYS_mmap, G_BASE },
	{ "mmap private anonymous, fd sign-extended", p_mmap_private_anon_long_fd, SYS_mmap, G_BASE },
	{ "mmap shared anonymous", p_mmap_shared_anon, SYS_mmap, G_NONE },
	{ "mmap PROT_EXEC", p_mmap_exec, SYS_mmap, G_NONE },
	{ "mmap MAP_SHARED of a real fd", p_mmap_shared_fd, SYS_mmap, G_FD_GROUPS },
	{ "mmap MAP_SHARED of a real fd, PROT_EXEC", p_mmap_shared_fd_exec, SYS_mmap, G_NONE },
	{ "mmap MAP_PRIVATE of a real fd", p_mmap_private_fd, SYS_mmap, G_NONE },
	{ "mmap MAP_SHARED|MAP_ANONYMOUS with a real fd", p_mmap_shared_anon_fd, SYS_mmap, G_NONE },
	{ "mprotect RW", p_mprotect_rw, SYS_mprotect, G_BASE },
	{ "mprotect PROT_EXEC", p_mprotect_exec, SYS_mprotect, G_NONE },
	{ "munmap, mremap, madvise", p_munmap_mremap_madvise, SYS_munmap, G_BASE },
	{ "brk", p_brk, SYS_brk, G_BASE },
	{ "write to fd 2", p_write_stderr, SYS_write, G_BASE },
	{ "write to fd 2, EFAULT", p_write_stderr_efault, SYS_write, G_BASE },
	{ "write to fd 1", p_write_stdout, SYS_write, G_NONE },
	{ "futex", p_futex, SYS_futex, G_BASE },
	{ "clocks and sleeps", p_clocks, SYS_clock_gettime, G_BASE },
	{ "yield, ids, getrandom, affinity, sigprocmask", p_misc_base, SYS_sched_yield, G_BASE },
	{ "tgkill own thread", p_tgkill_self, SYS_tgkill, G_BASE },
	{ "tgkill another process", p_tgkill_other, SYS_tgkill, G_NONE },
	{ "kill", p_kill, SYS_kill, G_NONE },
	{ "rt_sigaction", p_rt_sigaction, SYS_rt_sigaction, G_NONE },
	{ "openat", p_openat, SYS_openat, G_NONE },
	{ "socket AF_INET", p_socket_inet, SYS_socket, G_NONE },
	{ "socket AF_UNIX", p_socket_unix, SYS_socket, G_NONE },
	{ "socket AF_XDP", p_socket_xdp, SYS_socket, G_AF_XDP },
	{ "ptrace", p_ptrace, SYS_ptrace, G_NONE },
	{ "execve", p_execve, SYS_execve, G_NONE },
	{ "clone", p_clone, SYS_clone, G_NONE },
	{ "clone3", p_clone3, SYS_clone3, G_NONE },
	{ "getppid", p_getppid, SYS_getppid, G_NONE },
	{ "read", p_read, SYS_read, G_NONE },
	{ "ioctl VFIO_GET_API_VERSION", p_ioctl_vfio, SYS_ioctl, G_VFIO },
	{ "ioctl type ';' with size bits", p_ioctl_vfio_sized, SYS_ioctl, G_NONE },
	{ "ioctl TCGETS", p_ioctl_tty, SYS_ioctl, G_NONE },
	{ "io_uring_setup", p_io_uring_setup, SYS_io_uring_setup, G_NONE }, /* the broker makes rings */
	{ "io_uring_enter", p_io_uring_enter, SYS_io_uring_enter, G_IO_URING },
	{ "io_uring_register", p_io_uring_register, SYS_io_uring_register, G_IO_URING },
	{ "close", p_close, SYS_close, G_FD_GROUPS },
	{ "bind", p_bind, SYS_bind, G_AF_XDP },
	{ "setsockopt, getsockopt", p_sockopts, SYS_setsockopt, G_AF_XDP },
	{ "sendto, recvfrom, sendmsg, recvmsg", p_send_recv, SYS_sendto, G_AF_XDP },
	{ "poll, ppoll", p_poll, SYS_poll, G_AF_XDP | G_VFIO },
	{ "pread64, pwrite64", p_pread_pwrite, SYS_pread64, G_VFIO },
	{ "eventfd2", p_eventfd2, SYS_eventfd2, G_VFIO },
	{ "sigaltstack", p_sigaltstack, SYS_sigaltstack, G_SANITIZER },
	{ "prctl PR_GET_DUMPABLE", p_prctl_get_dumpable, SYS_prctl, G_NONE },
	{ "prctl PR_SET_DUMPABLE", p_prctl_set_dumpable, SYS_prctl, G_NONE },
};

#define NPROBES (sizeof(probes) / sizeof(probes[0]))

/* Configurations: base alone, base plus each group, base plus all of them. */
static const unsigned configs[] = {
	G_BASE,
	G_BASE | G_IO_URING,
	G_BASE | G_AF_XDP,
	G_BASE | G_VFIO,
	G_BASE | G_SANITIZER,
	G_BASE | G_IO_URING | G_AF_XDP | G_VFIO | G_SANITIZER,
};

static unsigned config_groups(unsigned config, const char *names[5])
{
	unsigned n = 0;

	/* "base" is implied; leaving it out checks that rl_seccomp_install adds it. */
	for (unsigned g = 1; g < 5; g++)
		if (config & (1u << g))
			names[n++] = group_names[g];
	return n;
}

static void describe(unsigned config, char *buf, size_t size)
{
	snprintf(buf, size, "base");
	for (unsigned g = 1; g < 5; g++)
		if (config & (1u << g))
			snprintf(buf + strlen(buf), size - strlen(buf), "+%s", group_names[g]);
}

enum prep {
	PREP_NONE,
	PREP_BLOCK_SIGSYS, /* SIGSYS blocked after the filter is in */
	PREP_NO_FILTER,    /* no filter: what the kernel itself does with the probe */
};

/* Runs fn in a child confined by config; returns its wait status. */
static int run_child(unsigned config, int (*fn)(void), enum prep prep)
{
	int status;
	pid_t pid;

	*t_violation = VIOLATION_NONE;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		const char *names[5];
		unsigned n = config_groups(config, names);
		struct rlimit no_core = { 0, 0 };

		/* A probe that hangs is a failure, not a stuck test run. */
		alarm(10);
		setrlimit(RLIMIT_CORE, &no_core);
		/*
		 * A fault ends the probe by its own signal, in every build: a
		 * sanitizer's handler would run first and make syscalls of its own
		 * (ioctl), which the filter refuses, hiding the real verdict.
		 */
		static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };
		for (unsigned i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
			signal(faults[i], SIG_DFL);
		t_memfd = memfd_create("probe", MFD_CLOEXEC);
		if (t_memfd < 0 || ftruncate(t_memfd, 4096) < 0)
			_exit(EXIT_SETUP);
		if (prep != PREP_NO_FILTER && rl_seccomp_install(names, n, t_violation) < 0)
			_exit(EXIT_SETUP);
		if (prep == PREP_BLOCK_SIGSYS) {
			sigset_t set;

			sigemptyset(&set);
			sigaddset(&set, SIGSYS);
			syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, sizeof(long));
		}
		_exit(fn() == 0 ? EXIT_RETURNED : EXIT_WRONG);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("waitpid");
			exit(1);
		}
	}
	return status;
}

static void status_text(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "signal %d (%s), violation %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), *t_violation,
			 rl_seccomp_syscall_name(*t_violation));
	else
		snprintf(buf, size, "status 0x%x", status);
}

/*
 * In sanitizer builds the launcher adds "sanitizer" to every domain (the
 * runtime calls sigaltstack in _exit, for one), and so do we.
 */
static unsigned launcher_config(unsigned config)
{
	return RL_SANITIZED ? config | G_SANITIZER : config;
}

static void test_probes(void)
{
	for (unsigned c = 0; c < sizeof(configs) / sizeof(configs[0]); c++) {
		unsigned config = launcher_config(configs[c]);
		char cfg[96];

		describe(config, cfg, sizeof(cfg));
		for (unsigned i = 0; i < NPROBES; i++) {
			const struct probe *p = &probes[i];
			bool allowed = (p->allowed & config) != 0;
			int status = run_child(config, p->fn, PREP_NONE);
			char got[128];

			status_text(status, got, sizeof(got));
			if (allowed)
				t_check(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_RETURNED,
					"[%s] %s: expected allowed, got %s", cfg, p->name, got);
			else
				t_check(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS &&
						*t_violation == p->nr,
					"[%s] %s: expected SIGSYS on %s, got %s", cfg, p->name,
					rl_seccomp_syscall_name((int)p->nr), got);
		}
	}
}

/* A domain that blocks SIGSYS still dies by it; only the violation word stays unset. */
static void test_blocked_sigsys(void)
{
	int status = run_child(launcher_config(G_BASE), p_openat, PREP_BLOCK_SIGSYS);
	char got[128];

	status_text(status, got, sizeof(got));
	t_check(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS && *t_violation == VIOLATION_NONE,
		"openat with SIGSYS blocked: expected SIGSYS without a violation, got %s", got);
}

/* A wild write. */
static int p_fault(void)
{
	static int *volatile wild = (int *)8;

	*wild = 1;
	return 0;
}

/* A probe's fault is its own verdict in every build: no sanitizer handler runs under the filter. */
static void test_fault_verdict(void)
{
	int status = run_child(launcher_config(G_BASE), p_fault, PREP_NONE);
	char got[128];

	status_text(status, got, sizeof(got));
	t_check(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV && *t_violation == VIOLATION_NONE,
		"a wild write under the filter: expected SIGSEGV and no violation, got %s", got);
}

#if defined(__x86_64__)
/* The i386 ABI through int 0x80 must not get around the x86_64 table. */
static int p_int80(void)
{
	long ret;

	/* 20 is getpid on i386. */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	return 0;
}

static void test_foreign_abi(void)
{
	char got[128];

	/*
	 * First ask the kernel, with no filter: a kernel without ia32 emulation
	 * (built without it, or booted with ia32_emulation=0) answers int 0x80
	 * with SIGSEGV, and there is nothing for the filter to stop.
	 */
	int status = run_child(G_NONE, p_int80, PREP_NO_FILTER);
	status_text(status, got, sizeof(got));
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) {
		printf("# int 0x80: no ia32 emulation in this kernel (SIGSEGV without a filter), not checked\n");
		return;
	}
	bool returned = WIFEXITED(status) && WEXITSTATUS(status) == EXIT_RETURNED;
	t_check(returned, "int 0x80 getpid without a filter: expected it to return, got %s", got);
	if (!returned)
		return;
	status = run_child(launcher_config(G_BASE), p_int80, PREP_NONE);
	status_text(status, got, sizeof(got));
	t_check(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS && *t_violation == VIOLATION_NONE,
		"int 0x80 getpid: expected SIGSYS (bad arch, no trap), got %s", got);
}
#endif

static int child_unknown_group(void)
{
	static const char *const bad[] = { "io_uring", "no_such_group" };

	if (rl_seccomp_install(bad, 2, t_violation) != -ENOENT)
		return -1;
	if (rl_seccomp_install(NULL, 1, t_violation) != -EINVAL)
		return -1;
	/* Nothing may have changed: no filter, no NO_NEW_PRIVS. */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		return -1;
	return 0;
}

static void test_unknown_group(void)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(child_unknown_group() == 0 ? EXIT_RETURNED : EXIT_WRONG);
	waitpid(pid, &status, 0);
	t_check(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_RETURNED,
		"unknown group: expected -ENOENT with nothing loaded (status 0x%x)", status);
}

/*
 * The sanitizer group proven by work: in sanitizer builds, typical work
 * needs it (the launcher adds it); in plain builds base alone is enough.
 */
static void test_typical_work(void)
{
	unsigned config = RL_SANITIZED ? (G_BASE | G_SANITIZER) : G_BASE;
	int status = run_child(config, p_typical_work, PREP_NONE);
	char got[128];

	status_text(status, got, sizeof(got));
	t_check(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_RETURNED,
		"typical work (%s build): expected to run through, got %s",
		RL_SANITIZED ? "sanitizer" : "plain", got);
	if (RL_SANITIZED) {
		/* Not asserted: shows whether base alone would have been enough. */
		status = run_child(G_BASE, p_typical_work, PREP_NONE);
		status_text(status, got, sizeof(got));
		printf("# typical work under ASan with base alone: %s\n", got);
	}
}

static void test_table(void)
{
	const struct rl_seccomp_group *g;
	unsigned n = 0;

	t_check(rl_seccomp_group_at(0) && strcmp(rl_seccomp_group_at(0)->name, "base") == 0,
		"group 0 is base");
	for (unsigned i = 0; (g = rl_seccomp_group_at(i)); i++, n++) {
		t_check(g->name && g->name[0] && g->help && g->help[0] && !strchr(g->help, '\n'),
			"group %u has a name and a one-line help", i);
		t_check(rl_seccomp_group_find(g->name) == g, "find(%s) returns it", g->name);
		t_check(g->nrules > 0, "group %s has rules", g->name);
	}
	t_check(n == 5, "five groups, got %u", n);
	for (unsigned i = 0; i < 5; i++)
		t_check(rl_seccomp_group_find(group_names[i]) != NULL, "group %s exists",
			group_names[i]);
	t_check(rl_seccomp_group_find("no_such_group") == NULL, "unknown name");
	t_check(rl_seccomp_group_find("BASE") == NULL, "names are case-sensitive");
	t_check(rl_seccomp_group_find(NULL) == NULL, "NULL name");
	t_check(strcmp(rl_seccomp_syscall_name(SYS_openat), "openat") == 0, "name of openat");
	t_check(strcmp(rl_seccomp_syscall_name(SYS_write), "write") == 0, "name of write");
	t_check(strcmp(rl_seccomp_syscall_name(-1), "?") == 0, "name of -1");
	t_check(strcmp(rl_seccomp_syscall_name(100000), "?") == 0, "name of 100000");
}

int main(void)
{
	void *page;

	/* The violation word lives in memory the children share with us, like the broker's. */
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	t_violation = page;
	t_parent = getpid();

	test_table();
	test_unknown_group();
	test_probes();
	test_blocked_sigsys();
	test_fault_verdict();
#if defined(__x86_64__)
	test_foreign_abi();
#endif
	test_typical_work();

	printf("%u checks, %u failed\n", t_checks, t_failures);
	return t_failures ? 1 : 0;
}
