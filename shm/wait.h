/* SPDX-License-Identifier: MIT */
/* Waiting between processes on shared memory: futexes and spinning. */
#ifndef REDLEAF_WAIT_H
#define REDLEAF_WAIT_H

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Shared (not process-private) futexes: the word lives in a MAP_SHARED memfd. */
static inline int rl_futex_wait(_Atomic uint32_t *word, uint32_t expected, const struct timespec *timeout)
{
	long r = syscall(SYS_futex, word, FUTEX_WAIT, expected, timeout, NULL, 0);
	return r < 0 ? -errno : 0;
}

static inline void rl_futex_wake(_Atomic uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

static inline void rl_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/*
 * One step of a spin-wait. With more spinning processes than CPUs, a pause
 * loop only burns the time slice the awaited process needs (a call then
 * costs a scheduler tick or a futex wake-up); yielding hands the CPU over
 * at the price of a system call per step. The broker decides which from
 * the machine and tells every domain (struct rl_chan_ctl.spin_yield).
 */
static inline void rl_spin_step(bool yield)
{
	if (yield)
		sched_yield();
	else
		rl_cpu_relax();
}

#endif /* REDLEAF_WAIT_H */
