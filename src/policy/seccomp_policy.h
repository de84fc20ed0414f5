/* SPDX-License-Identifier: MIT */
/*
 * Seccomp policy as data: a fixed table of named syscall groups, each with a
 * line of help. A domain's filter is "base" plus the extra groups its
 * manifest names; everything else traps and kills the domain by SIGSYS.
 * docs/seccomp.md explains what each group allows and why.
 *
 * The broker uses the table to validate manifests and to name syscalls in
 * its log; the domain launcher calls rl_seccomp_install() as the very last
 * step before entering domain code.
 */
#ifndef REDLEAF_SECCOMP_POLICY_H
#define REDLEAF_SECCOMP_POLICY_H

#include <stdint.h>
#include <sys/types.h>

struct sock_filter;

/* One allow rule (a syscall and its argument filters); private to seccomp_policy.c. */
struct rl_seccomp_rule;

struct rl_seccomp_group {
	const char *name;                   /* as written in a manifest's syscalls: list */
	const char *help;                   /* one line, for `redleaf` help and docs */
	const struct rl_seccomp_rule *rules;
	unsigned nrules;
};

/* The group called name, or NULL if there is none (also for name == NULL). */
const struct rl_seccomp_group *rl_seccomp_group_find(const char *name);

/* The i-th group of the table (i = 0 is "base"), or NULL past the end. */
const struct rl_seccomp_group *rl_seccomp_group_at(unsigned i);

/*
 * Confines the calling process (all its threads) for good: "base" always,
 * plus the ngroups groups named in groups[] (duplicates and an explicit
 * "base" are harmless). Anything else traps.
 *
 * Order of work: all names are checked first, so an unknown name changes
 * nothing. Then PR_SET_NO_NEW_PRIVS is set, the filter is built with default
 * action SCMP_ACT_TRAP (a syscall of a foreign architecture, e.g. int 0x80,
 * kills the process outright), a SIGSYS handler is installed with
 * SA_SIGINFO|SA_RESETHAND, and the filter is loaded.
 *
 * On a trap, the handler stores the syscall number into *violation (when
 * violation is not NULL; meant to be a word in shared memory the broker also
 * maps) and re-issues the same syscall with the same arguments. The handler
 * is back to SIG_DFL by then, so the process dies by SIGSYS and its parent
 * sees WTERMSIG == SIGSYS. rt_sigaction is in no group, so confined code
 * cannot replace the handler; if it blocks SIGSYS the kernel still kills it
 * by SIGSYS, only *violation then stays unwritten. The word is written by
 * the (untrusted) domain, so the broker must treat it as a hint for its log.
 *
 * In sanitizer builds, __sanitizer_sandbox_on_notify() is called before
 * loading so that ASan can cache /proc/self/maps for its reports.
 *
 * Returns 0 on success, or:
 *   -EINVAL  groups is NULL while ngroups > 0, or a name is NULL
 *   -ENOENT  a group name is unknown (nothing was changed)
 *   -ENOMEM  out of memory while building the filter
 *   other negative errnos from prctl(), sigaction() or the kernel's seccomp()
 * On failure after the name check, NO_NEW_PRIVS stays set (it cannot be
 * undone) but no filter is loaded and the previous SIGSYS action is back.
 * Every allocation is released on all paths.
 */
int rl_seccomp_install(const char *const *groups, unsigned ngroups, volatile int32_t *violation);

/*
 * The filter a domain runs under from its first instruction: the same groups
 * plus "startup" (what the loader, libc and the launcher need), built by the
 * broker with libseccomp and loaded by its child right before the execve.
 * The execve takes the binary through descriptor RL_SECCOMP_EXEC_FD; rules
 * that name the domain's own process carry RL_SECCOMP_SELF_PID until
 * rl_seccomp_prog_load() puts the real pid in.
 */
#define RL_SECCOMP_EXEC_FD 9
#define RL_SECCOMP_ERR_FD 8
#define RL_SECCOMP_SELF_PID 0x7ffffffeu

/*
 * The group the broker adds for a domain whose device is a VFIO device: its
 * region queries, mmap and pread/pwrite on descriptor RL_SECCOMP_DEVICE_FD
 * (channel.h's RL_FD_DEVICE) only. No manifest can name it.
 */
#define RL_SECCOMP_VFIO_DEVICE_GROUP "vfio-device"
#define RL_SECCOMP_DEVICE_FD 12

struct rl_seccomp_prog {
	struct sock_filter *insns;
	unsigned short len;
};

/* Builds it into *out (malloc'd). 0, or -ENOENT/-EINVAL for names, other negative errnos. */
int rl_seccomp_export(const char *const *groups, unsigned ngroups, struct rl_seccomp_prog *out);

/*
 * Sets no-new-privs and loads p for the calling thread, self being the pid
 * the process sees as its own. Raw system calls only: async-signal-safe, for
 * a child between fork and exec. Patches p in place. 0 or a negative errno.
 */
int rl_seccomp_prog_load(struct rl_seccomp_prog *p, pid_t self);

void rl_seccomp_prog_free(struct rl_seccomp_prog *p);

/*
 * Name of syscall number nr on the native architecture, for logs; "?" if
 * unknown. The string is static and stays valid. Thread-safe; not
 * async-signal-safe (the first call builds a table).
 */
const char *rl_seccomp_syscall_name(int nr);

#endif /* REDLEAF_SECCOMP_POLICY_H */
