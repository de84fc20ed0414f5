// SPDX-License-Identifier: MIT
/*
 * Seccomp policy as data. The groups below are the whole policy: a domain
 * gets "base" plus the groups its manifest lists, and the default action
 * traps. docs/seccomp.md is the prose version of this table; keep the two
 * in step.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "seccomp_policy.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

#define RULE_MAX_ARGS 3

/* The rule's first comparison is completed with getpid() when the filter is built. */
#define RULE_A0_SELF_PID 0x1u

struct rl_seccomp_rule {
	int nr;                 /* SCMP_SYS(); negative if the syscall is absent on this arch */
	unsigned nargs;         /* comparisons, all of which must hold */
	unsigned flags;         /* RULE_* */
	struct scmp_arg_cmp arg[RULE_MAX_ARGS];
};

/*
 * Comparisons as plain initializers (libseccomp's SCMP_A*() macros are
 * compound literals, which a static table cannot use).
 *
 * CMP32 casts the datum to 32 bits like libseccomp's SCMP_Ax_32: glibc
 * passes an int argument such as an fd zero-extended, so the filter sees
 * -1 as 0xffffffff, not as a 64-bit -1. MASKED32 compares only the bits
 * of mask, for flag words and for ints whose upper half is not defined.
 */
#define CMP32(n, o, a) { .arg = (n), .op = (o), .datum_a = (uint32_t)(a), .datum_b = 0 }
#define MASKED32(n, mask, value) \
	{ .arg = (n), .op = SCMP_CMP_MASKED_EQ, .datum_a = (uint32_t)(mask), .datum_b = (uint32_t)(value) }

#define ALLOW(name) { .nr = SCMP_SYS(name), .nargs = 0 }
#define ALLOW_IF(name, ...)                                                  \
	{ .nr = SCMP_SYS(name),                                              \
	  .nargs = sizeof((struct scmp_arg_cmp[]){ __VA_ARGS__ }) /           \
		   sizeof(struct scmp_arg_cmp),                              \
	  .arg = { __VA_ARGS__ } }

/* Any fd a process can hold is below 2^31; -1 (0xffffffff zero-extended) is not. */
#define FD_IS_REAL(n) CMP32(n, SCMP_CMP_LT, 0x80000000u)

/*
 * mmap of a real fd, shared, never executable: how rings (io_uring, AF_XDP
 * UMEM rings) and VFIO BARs are mapped. MAP_ANONYMOUS must be clear so this
 * is not a back door to shared anonymous memory.
 */
#define MMAP_SHARED_FD                                                       \
	ALLOW_IF(mmap, MASKED32(2, PROT_EXEC, 0),                            \
		 MASKED32(3, MAP_SHARED | MAP_ANONYMOUS, MAP_SHARED),        \
		 FD_IS_REAL(4))

static const struct rl_seccomp_rule base_rules[] = {
	ALLOW(exit),
	ALLOW(exit_group),
	ALLOW(futex),
	/*
	 * Private anonymous memory only, never executable: malloc, stacks.
	 * fd == -1 is checked on the low 32 bits only: glibc passes the int
	 * zero-extended, but the sanitizer runtimes' raw mmap sign-extends it,
	 * and the kernel looks at the low 32 bits alone (fget(unsigned int)).
	 */
	ALLOW_IF(mmap, MASKED32(2, PROT_EXEC, 0), MASKED32(3, MAP_SHARED, 0),
		 MASKED32(4, 0xffffffffu, 0xffffffffu)),
	ALLOW(munmap),
	ALLOW(mremap),
	/* W^X: once confined, a domain gets no new executable page. */
	ALLOW_IF(mprotect, MASKED32(2, PROT_EXEC, 0)),
	ALLOW(madvise),
	ALLOW(brk),
	ALLOW(clock_gettime),
	ALLOW(clock_getres),
	ALLOW(gettimeofday),
	ALLOW(clock_nanosleep),
	ALLOW(nanosleep),
	ALLOW(sched_yield),
	ALLOW(sched_getaffinity),
	ALLOW(getpid),
	ALLOW(gettid),
	ALLOW(getrandom),
	ALLOW(rt_sigreturn),
	ALLOW(rt_sigprocmask),
	ALLOW(restart_syscall),
	/* Logging: stderr only (the launcher points it at the broker's log). */
	ALLOW_IF(write, CMP32(0, SCMP_CMP_EQ, 2)),
	/*
	 * Signals to threads of this process only, so abort() and assert()
	 * end in SIGABRT (a readable crash) instead of a SIGSYS on tgkill.
	 * The datum is filled in with getpid() when the filter is built.
	 */
	{ .nr = SCMP_SYS(tgkill), .nargs = 1, .flags = RULE_A0_SELF_PID,
	  .arg = { CMP32(0, SCMP_CMP_EQ, 0) } },
};

/*
 * The ring the broker made for the domain (manifest `uring:`, broker/uring.c):
 * submitting and registering buffers on it, mapping it. No io_uring_setup:
 * a ring of the domain's own would run operations (OPENAT, SOCKET, ...)
 * that seccomp never sees; the broker's ring is restricted by the kernel to
 * reads and writes on the files the manifest names.
 */
static const struct rl_seccomp_rule io_uring_rules[] = {
	ALLOW(io_uring_enter),
	ALLOW(io_uring_register),
	MMAP_SHARED_FD,
	ALLOW(close),
};

static const struct rl_seccomp_rule af_xdp_rules[] = {
	/* AF_XDP sockets only: no IP sockets, no netlink, no Unix sockets. */
	ALLOW_IF(socket, CMP32(0, SCMP_CMP_EQ, AF_XDP)),
	ALLOW(bind),
	ALLOW(setsockopt),
	ALLOW(getsockopt),
	ALLOW(sendto),
	ALLOW(recvfrom),
	ALLOW(sendmsg),
	ALLOW(recvmsg),
	ALLOW(poll),
	ALLOW(ppoll),
	MMAP_SHARED_FD,
	ALLOW(close),
};

/*
 * VFIO ioctls are all _IO(';', 100 + n): type byte 0x3B, no direction and
 * no size bits (linux/vfio.h; Documentation/userspace-api/ioctl/
 * ioctl-number.rst reserves ';' 0x64-0x7F for VFIO). Masking the low 32 bits
 * as 0x00003Bxx admits exactly that family.
 */
static const struct rl_seccomp_rule vfio_rules[] = {
	ALLOW_IF(ioctl, MASKED32(1, 0xffffff00u, 0x3b00u)),
	ALLOW(pread64),
	ALLOW(pwrite64),
	MMAP_SHARED_FD,
	ALLOW(eventfd2),
	ALLOW(poll),
	ALLOW(ppoll),
	ALLOW(close),
};

/*
 * A driver's own VFIO device (manifest `device: {vfio: ADDRESS}`), which the
 * broker opened and the launcher left at RL_SECCOMP_DEVICE_FD: the region
 * queries it needs to find BAR0 and config space, BAR0 mapped shared and
 * never executable, config space read and written with pread/pwrite. All
 * on that descriptor only, and no other VFIO request: no reset, no
 * interrupts, no container or group ioctls (linux/vfio.h: _IO(';', 107)
 * VFIO_DEVICE_GET_INFO, _IO(';', 108) VFIO_DEVICE_GET_REGION_INFO).
 */
#define VFIO_DEVICE_GET_INFO_NR 0x3b6bu
#define VFIO_DEVICE_GET_REGION_INFO_NR 0x3b6cu
#define DEVICE_FD CMP32(0, SCMP_CMP_EQ, RL_SECCOMP_DEVICE_FD)

static const struct rl_seccomp_rule vfio_device_rules[] = {
	ALLOW_IF(ioctl, DEVICE_FD, MASKED32(1, 0xffffffffu, VFIO_DEVICE_GET_INFO_NR)),
	ALLOW_IF(ioctl, DEVICE_FD, MASKED32(1, 0xffffffffu, VFIO_DEVICE_GET_REGION_INFO_NR)),
	ALLOW_IF(mmap, MASKED32(2, PROT_EXEC, 0), MASKED32(3, MAP_SHARED | MAP_ANONYMOUS, MAP_SHARED),
		 CMP32(4, SCMP_CMP_EQ, RL_SECCOMP_DEVICE_FD)),
	ALLOW_IF(pread64, DEVICE_FD),
	ALLOW_IF(pwrite64, DEVICE_FD),
};

/*
 * Never selectable in a manifest (rl_seccomp_group_find() does not know it):
 * the broker adds it for a domain whose device is a VFIO device, and only
 * then is that descriptor open in the domain.
 */
static const struct rl_seccomp_group vfio_device_group = {
	.name = RL_SECCOMP_VFIO_DEVICE_GROUP,
	.help = "its own VFIO device: region info, mmap of BAR0, pread/pwrite of config space, on that fd only",
	.rules = vfio_device_rules,
	.nrules = sizeof(vfio_device_rules) / sizeof(vfio_device_rules[0]),
};

/*
 * What ASan/UBSan runtimes call after the filter is in place, during
 * normal operation (found by experiment, see docs/seccomp.md): ASan asks
 * sigaltstack() whether it runs on the alternate stack in _exit() and on
 * every no-return path (longjmp). No file, socket, process or ptrace calls:
 * an error report or LSan's exit-time leak check still dies by SIGSYS.
 */
static const struct rl_seccomp_rule sanitizer_rules[] = {
	ALLOW(sigaltstack),
};

/*
 * What runs between the execve the broker's child makes and the launcher's
 * own filter: the dynamic loader mapping the domain's libraries (read-only
 * opens, executable file mappings), libc's start-up, the sanitizer runtimes'
 * start-up in sanitizer builds (they read /proc/self/maps, cmdline, environ
 * and exe), and the launcher mapping its descriptors, marking itself
 * non-dumpable and loading the domain's filter. Never selectable in a
 * manifest: the broker adds it to the filter it installs before the execve,
 * and the launcher's filter, stacked on top, takes it away again. A domain
 * binary that never reaches the launcher keeps it; the files it can open are
 * those of its private root, the system's libraries (docs/security.md).
 */
static const struct rl_seccomp_rule startup_rules[] = {
	ALLOW_IF(execveat, CMP32(0, SCMP_CMP_EQ, RL_SECCOMP_EXEC_FD)),
	/* A failed execve is reported to the broker on this pipe (close-on-exec). */
	ALLOW_IF(write, CMP32(0, SCMP_CMP_EQ, RL_SECCOMP_ERR_FD)),
	ALLOW_IF(openat, MASKED32(2, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY)),
	ALLOW_IF(open, MASKED32(1, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY)),
	ALLOW(read),
	ALLOW(pread64),
	ALLOW(close),
	ALLOW(close_range),
	ALLOW(fstat),
	ALLOW(newfstatat),
	ALLOW(lseek),
	ALLOW(access),
	ALLOW(faccessat),
	ALLOW(readlink),
	ALLOW(mmap),
	ALLOW(mprotect),
	ALLOW(arch_prctl),
	ALLOW(set_tid_address),
	ALLOW(set_robust_list),
	ALLOW(rseq),
	ALLOW_IF(prlimit64, CMP32(0, SCMP_CMP_EQ, 0)),
	ALLOW(getppid),
	ALLOW(prctl),
	ALLOW(seccomp),
	ALLOW(rt_sigaction),
	ALLOW(sigaltstack),
};

static const struct rl_seccomp_group startup_group = {
	.name = "startup",
	.help = "what the loader, libc and the launcher need before the domain's own filter",
	.rules = startup_rules,
	.nrules = sizeof(startup_rules) / sizeof(startup_rules[0]),
};

/*
 * Calls glibc makes on its own inside functions a domain may use, and that
 * it copes without: refused with ENOSYS instead of a trap, so using the
 * function does not kill the domain. qsort() asks sysinfo() for the memory
 * size before sorting a large array (and falls back to sorting in place);
 * allowing it would show the domain the machine's load and memory use.
 */
static const int quiet_refusals[] = {
	SCMP_SYS(sysinfo),
};

#define GROUP(n, h, r) { .name = (n), .help = (h), .rules = (r), .nrules = sizeof(r) / sizeof((r)[0]) }

static const struct rl_seccomp_group groups_table[] = {
	GROUP("base", "pure compute: exit, futex, private non-exec memory, clocks, sleep, "
		      "getrandom, signal masks, write to stderr (always included)",
	      base_rules),
	GROUP("io_uring", "the ring the broker makes (manifest uring:): io_uring_enter/register, "
			  "shared mmap of the ring, close",
	      io_uring_rules),
	GROUP("af_xdp", "AF_XDP sockets only: socket(AF_XDP), bind, {set,get}sockopt, "
			"send/recv, poll, shared mmap of the rings, close",
	      af_xdp_rules),
	GROUP("vfio", "VFIO devices: ioctls of type ';' only, pread/pwrite of config space, "
		      "shared mmap of BARs, eventfd2, poll, close",
	      vfio_rules),
	GROUP("sanitizer", "what ASan/UBSan runtimes call during normal operation (added by "
			   "the launcher in sanitizer builds)",
	      sanitizer_rules),
};

#define NGROUPS (sizeof(groups_table) / sizeof(groups_table[0]))

const struct rl_seccomp_group *rl_seccomp_group_at(unsigned i)
{
	return i < NGROUPS ? &groups_table[i] : NULL;
}

const struct rl_seccomp_group *rl_seccomp_group_find(const char *name)
{
	if (!name)
		return NULL;
	for (unsigned i = 0; i < NGROUPS; i++)
		if (strcmp(groups_table[i].name, name) == 0)
			return &groups_table[i];
	return NULL;
}

/* The table's groups, and those only the broker may add (never named in a manifest). */
static const struct rl_seccomp_group *group_lookup(const char *name)
{
	const struct rl_seccomp_group *g = rl_seccomp_group_find(name);

	if (!g && name && strcmp(name, vfio_device_group.name) == 0)
		g = &vfio_device_group;
	return g;
}

/* ---- the SIGSYS handler ---- */

static volatile int32_t *__rl_violation;

/*
 * Runs on a trapped syscall, with SIGSYS blocked and its action already
 * reset to SIG_DFL (SA_RESETHAND). Re-issuing the same call with the same
 * arguments traps again; a forced SIGSYS that is blocked or at SIG_DFL
 * kills the process, so the parent sees WTERMSIG == SIGSYS. Only raw
 * syscalls here: async-signal-safe.
 */
static void __rl_sigsys(int sig, siginfo_t *si, void *context)
{
	const ucontext_t *uc = context;
	long nr = si->si_syscall;

	if (__rl_violation)
		*__rl_violation = (int32_t)nr;
#if defined(__x86_64__)
	const greg_t *r = uc->uc_mcontext.gregs;
	syscall(nr, r[REG_RDI], r[REG_RSI], r[REG_RDX], r[REG_R10], r[REG_R8], r[REG_R9]);
#elif defined(__aarch64__)
	const unsigned long long *r = uc->uc_mcontext.regs;
	syscall(nr, r[0], r[1], r[2], r[3], r[4], r[5]);
#else
	(void)uc;
#endif
	/*
	 * Not reached when the call is denied, which it is by construction.
	 * Still make sure the process dies by SIGSYS: queue it to ourselves
	 * (tgkill to our own process is in base); it is delivered, with the
	 * default action, as soon as the handler returns and unblocks it.
	 */
	syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), sig);
}

/* ASan's hook to prepare for a sandbox (caches /proc/self/maps); absent in plain builds. */
extern void __sanitizer_sandbox_on_notify(void *args) __attribute__((weak));

/* ---- building and loading ---- */

static int add_group(scmp_filter_ctx ctx, const struct rl_seccomp_group *g, pid_t self)
{
	for (unsigned i = 0; i < g->nrules; i++) {
		const struct rl_seccomp_rule *rule = &g->rules[i];
		struct scmp_arg_cmp arg[RULE_MAX_ARGS];
		int r;

		/* A syscall this architecture does not have cannot be called either. */
		if (rule->nr < 0)
			continue;
		memcpy(arg, rule->arg, sizeof(arg));
		if (rule->flags & RULE_A0_SELF_PID)
			arg[0].datum_a = (uint32_t)self;
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, rule->nr, rule->nargs, arg);
		/* The same rule from two groups (close, mmap) is not an error. */
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

/*
 * The filter for "base" plus the named groups (and the startup group when
 * startup is set), default action TRAP, self as the datum of the
 * own-process rules. Names are all checked before anything is built.
 */
static int build_filter(scmp_filter_ctx *out, const char *const *groups, unsigned ngroups, bool startup,
			pid_t self)
{
	const struct rl_seccomp_group *chosen[NGROUPS + 2];
	bool used[NGROUPS] = { false }, vfio_device = false;
	unsigned nchosen = 0;
	scmp_filter_ctx ctx;
	int r;

	if (!groups && ngroups > 0)
		return -EINVAL;
	used[0] = true;
	chosen[nchosen++] = &groups_table[0];
	for (unsigned i = 0; i < ngroups; i++) {
		const struct rl_seccomp_group *g;

		if (!groups[i])
			return -EINVAL;
		g = group_lookup(groups[i]);
		if (!g)
			return -ENOENT;
		if (g == &vfio_device_group) {
			if (!vfio_device)
				chosen[nchosen++] = g;
			vfio_device = true;
		} else if (!used[g - groups_table]) {
			used[g - groups_table] = true;
			chosen[nchosen++] = g;
		}
	}
	if (startup)
		chosen[nchosen++] = &startup_group;

	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	/* Kernel errnos from seccomp_load() instead of libseccomp's generic -ECANCELED. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	/* A foreign-ABI syscall (x32, int 0x80) would bypass the table: kill, not trap. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (unsigned i = 0; i < nchosen && r >= 0; i++)
		r = add_group(ctx, chosen[i], self);
	for (unsigned i = 0; i < sizeof(quiet_refusals) / sizeof(quiet_refusals[0]) && r >= 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), quiet_refusals[i], 0);
	if (r < 0) {
		seccomp_release(ctx);
		return r;
	}
	/*
	 * Every call pays for the filter: a binary tree instead of a linear list,
	 * and the waiting path's calls first. Best effort: the policy is the same.
	 */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	(void)seccomp_syscall_priority(ctx, SCMP_SYS(sched_yield), 255);
	(void)seccomp_syscall_priority(ctx, SCMP_SYS(futex), 254);
	(void)seccomp_syscall_priority(ctx, SCMP_SYS(clock_gettime), 253);
	*out = ctx;
	return 0;
}

int rl_seccomp_install(const char *const *groups, unsigned ngroups, volatile int32_t *violation)
{
	struct sigaction sa, old_sa;
	scmp_filter_ctx ctx;
	int r;

	r = build_filter(&ctx, groups, ngroups, false, getpid());
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r = -errno;
		goto out_release;
	}
	/* Threads the launcher may have (a sanitizer's, say) are confined too. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r < 0)
		goto out_release;

	if (__sanitizer_sandbox_on_notify)
		__sanitizer_sandbox_on_notify(NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = __rl_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigfillset(&sa.sa_mask);
	__rl_violation = violation;
	if (sigaction(SIGSYS, &sa, &old_sa) < 0) {
		r = -errno;
		goto out_release;
	}

	r = seccomp_load(ctx);
	if (r != 0) {
		/* A failed TSYNC can come back as the positive id of the thread that refused. */
		if (r > 0)
			r = -EAGAIN;
		/* Nothing is confined: give the process its old SIGSYS action back. */
		(void)sigaction(SIGSYS, &old_sa, NULL);
	}

out_release:
	/* free() and munmap() are in base, so releasing after loading is fine. */
	seccomp_release(ctx);
	return r < 0 ? r : 0;
}

int rl_seccomp_export(const char *const *groups, unsigned ngroups, struct rl_seccomp_prog *out)
{
	scmp_filter_ctx ctx;
	struct stat st;
	int fd = -1, r;

	memset(out, 0, sizeof(*out));
	r = build_filter(&ctx, groups, ngroups, true, RL_SECCOMP_SELF_PID);
	if (r < 0)
		return r;
	/* libseccomp 2.5 exports to a descriptor only: a memfd, read back. */
	fd = memfd_create("redleaf-filter", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		goto out;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	size_t n = (size_t)st.st_size / sizeof(struct sock_filter);
	if (n == 0 || n > BPF_MAXINSNS || (size_t)st.st_size % sizeof(struct sock_filter)) {
		r = -E2BIG;
		goto out;
	}
	out->insns = malloc((size_t)st.st_size);
	if (!out->insns) {
		r = -ENOMEM;
		goto out;
	}
	if (pread(fd, out->insns, (size_t)st.st_size, 0) != st.st_size) {
		r = -EIO;
		free(out->insns);
		out->insns = NULL;
		goto out;
	}
	out->len = (unsigned short)n;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return r;
}

int rl_seccomp_prog_load(struct rl_seccomp_prog *p, pid_t self)
{
	/* The own-process rules were built for a placeholder pid: put ours in. */
	for (unsigned i = 0; i < p->len; i++)
		if (p->insns[i].k == RL_SECCOMP_SELF_PID)
			p->insns[i].k = (uint32_t)self;
	struct sock_fprog prog = { .len = p->len, .filter = p->insns };
	if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
		return -errno;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? -errno : 0;
}

void rl_seccomp_prog_free(struct rl_seccomp_prog *p)
{
	free(p->insns);
	p->insns = NULL;
	p->len = 0;
}

/* ---- syscall names ---- */

/* Large enough for every native syscall number on the architectures we build for. */
#define NAME_TABLE_SIZE 1024

static const char *__rl_syscall_names[NAME_TABLE_SIZE];
static pthread_once_t __rl_syscall_names_once = PTHREAD_ONCE_INIT;

/* Resolved once; the strings live as long as the process (reachable, not leaked). */
static void __rl_syscall_names_init(void)
{
	uint32_t arch = seccomp_arch_native();

	for (int nr = 0; nr < NAME_TABLE_SIZE; nr++)
		__rl_syscall_names[nr] = seccomp_syscall_resolve_num_arch(arch, nr);
}

const char *rl_seccomp_syscall_name(int nr)
{
	if (nr < 0 || nr >= NAME_TABLE_SIZE)
		return "?";
	pthread_once(&__rl_syscall_names_once, __rl_syscall_names_init);
	return __rl_syscall_names[nr] ? __rl_syscall_names[nr] : "?";
}
