/* SPDX-License-Identifier: MIT */
/*
 * Floors: what the machine itself charges for the pieces of a cross-domain
 * call, measured by the harness with processes it forks and plain shared
 * memory (MAP_SHARED | MAP_ANONYMOUS), without seccomp, a registry or any
 * validation. Each floor fills samples[] with TSC ticks per call (per
 * round trip; amortized per call for batches) and returns how many.
 *
 * The ring floors wait exactly like our calls (include/redleaf/ring.h and
 * src/domain/runtime.c): spin up to spin_ns re-checking the ring, then
 * announce sleep and futex-wait on the ring's tail; producers wake only a
 * consumer that announced it sleeps. The relay waits like the broker: spin,
 * then sleep on one bell word that producers ring only when it sleeps.
 * A spin step is rl_spin_step(): a pause, or sched_yield() when there are
 * more spinning processes than usable CPUs -- the broker's rule (broker.c).
 * Where they differ from our runtime they do less (batch replies, one head
 * store per drained batch): a floor is the best this machine allows.
 */
#ifndef RL_BENCH_FLOORS_H
#define RL_BENCH_FLOORS_H

#include <stddef.h>
#include <stdint.h>

#include "share.h"

#define RL_FLOOR_POLL UINT64_MAX /* spin_ns for pure polling: never sleep */

struct rl_floor_params {
	unsigned iterations; /* timed round trips (batched: calls; at least 200 batches) */
	unsigned warmup;     /* untimed round trips first */
	uint64_t spin_ns;    /* spin this long before sleeping; RL_FLOOR_POLL: never sleep */
	int cpu[3];          /* caller, partner, relay CPUs; -1 = not pinned */
	long usable_cpus;    /* CPUs we may run on: spin by yielding when processes exceed them */
};

/* Indirect call through a volatile function pointer, timed in blocks of 1000. */
int rl_floor_indirect(const struct rl_floor_params *p, double *samples, size_t max);

/* Two processes, one ring each way: batch calls per publish (1 = ping-pong). */
int rl_floor_ring2(const struct rl_floor_params *p, unsigned batch, double *samples, size_t max);

/*
 * Three processes: caller -> relay -> callee and back over four rings, the
 * relay draining and forwarding like the broker but validating nothing.
 * batch calls per publish; with window > 0 instead keeps window calls in
 * flight, refilling as completions arrive (one sample per window calls).
 */
int rl_floor_ring3(const struct rl_floor_params *p, unsigned batch, unsigned window,
		   double *samples, size_t max);

/*
 * The same relay, time-shared with our rows (share.h): one system, then
 * for each phase batch-call round trips in the phase's slots (share, side
 * 0) only, until the phase ends or max samples are kept. Every kept sample
 * (ticks per call) goes to samples[] and its slot to slots[]; n is how
 * many, or a negative errno. Returns 0, or a negative errno when the
 * system could not start (every n then says so too).
 */
struct rl_floor_phase {
	unsigned batch;
	struct rl_share share;
	double *samples;
	uint32_t *slots;
	size_t max;
	int n;
};

int rl_floor_ring3_shared(const struct rl_floor_params *p, struct rl_floor_phase *ph, unsigned nph);

/* Futex ping-pong, both sides always sleeping (no spinning at all). */
int rl_floor_futex(const struct rl_floor_params *p, double *samples, size_t max);

/* 64-byte messages back and forth through two pipes. */
int rl_floor_pipe(const struct rl_floor_params *p, double *samples, size_t max);

/* 64-byte messages back and forth over an AF_UNIX stream socketpair. */
int rl_floor_unix(const struct rl_floor_params *p, double *samples, size_t max);

/*
 * How far apart two CPUs are: the median round trip, in TSC ticks, of one
 * cache line written by a process on cpu_a and answered on another line by
 * a process on cpu_b, both polling. Every cross-CPU figure moves with it;
 * on a VM it changes when the host moves the vCPUs. Negative errno when it
 * cannot be measured (the same CPU twice, or the partner never ran within a
 * second).
 */
double rl_line_round_trip(int cpu_a, int cpu_b, uint64_t tsc_hz);

#endif /* RL_BENCH_FLOORS_H */
