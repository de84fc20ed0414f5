/* SPDX-License-Identifier: MIT */
/*
 * The time-stamp counter, the only clock fine enough for these benchmarks
 * here: the VM has no PMU (no core-cycle counts), and clock_gettime costs
 * ~27 ns against ~11 ns for rdtsc. The TSC is invariant and shared by all
 * processes, so the harness and the bench domain read the same counter and
 * the harness converts ticks to nanoseconds with one calibration.
 *
 * "Cycles" in every report of bench/ipc are TSC ticks, not core cycles.
 * On this machine the TSC advances in steps of ~21 ticks, so single events
 * shorter than ~100 ticks are timed in blocks, never one by one.
 */
#ifndef RL_BENCH_TSC_H
#define RL_BENCH_TSC_H

#include <stdint.h>

#if !defined(__x86_64__) && !defined(__i386__)
#error "bench/ipc times with rdtsc: x86 only"
#endif

#include <x86intrin.h>

/*
 * Start stamp: the lfence keeps earlier instructions (the previous
 * iteration's last load) from drifting past the read.
 */
static inline uint64_t rl_tsc_begin(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

/* End stamp: everything timed must have retired before the read. */
static inline uint64_t rl_tsc_end(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

/*
 * Measures TSC ticks per second against CLOCK_MONOTONIC over about
 * window_ns; each end is bracketed by two TSC reads and the tighter
 * bracket wins, so a preemption during the read does not skew the result.
 * Defined in tsc.c (the harness only; domains never calibrate).
 */
double rl_tsc_calibrate(uint64_t window_ns);

#endif /* RL_BENCH_TSC_H */
