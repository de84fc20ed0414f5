/* SPDX-License-Identifier: MIT */
/*
 * Single-producer single-consumer rings of struct rl_msg in shared memory,
 * and the futex-based waiting around them.
 *
 * Each side keeps its own index in private memory and only publishes it to
 * the shared ring; it never reads its own index back from shared memory,
 * because the peer may be hostile. The peer's index is re-validated on every
 * read: a producer can never claim more than RL_RING_SLOTS entries, and every
 * slot access is masked, so garbage indices cannot reach outside the ring.
 *
 * Producer, consumer and the sleeping flag live on separate cache lines so a
 * busy ring costs one line transfer per batch each way.
 */
#ifndef REDLEAF_RING_H
#define REDLEAF_RING_H

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "redleaf/types.h"

#define RL_RING_ORDER 8
#define RL_RING_SLOTS (1U << RL_RING_ORDER)
#define RL_RING_MASK (RL_RING_SLOTS - 1)
/*
 * A relay (the broker) forwarding a stream publishes at least every this
 * many entries instead of once per drained batch, so its consumer can start
 * on the first entries while it forwards the rest (docs/performance.md).
 */
#define RL_RING_FORWARD_PUBLISH 8

struct rl_ring {
	_Alignas(64) _Atomic uint32_t tail; /* written by the producer */
	_Alignas(64) _Atomic uint32_t head; /* written by the consumer */
	/* Set by the consumer before it sleeps on tail; the producer wakes it. */
	_Alignas(64) _Atomic uint32_t consumer_sleeping;
	_Alignas(64) struct rl_msg slot[RL_RING_SLOTS];
};

static_assert(sizeof(struct rl_ring) == 3 * 64 + RL_RING_SLOTS * 64, "ring layout");

struct rl_ring_prod {
	struct rl_ring *ring;
	uint32_t tail;       /* next slot to fill (private truth) */
	uint32_t published;  /* last tail stored to the ring */
	uint32_t head_cache; /* consumer position last seen */
	bool unchecked;      /* published quietly since the sleeping flag was last read */
};

struct rl_ring_cons {
	struct rl_ring *ring;
	uint32_t head;       /* next slot to read (private truth) */
	uint32_t released;   /* last head stored to the ring */
	uint32_t tail_cache; /* producer position last seen */
};

static inline void rl_ring_prod_init(struct rl_ring_prod *p, struct rl_ring *r)
{
	p->ring = r;
	p->tail = p->published = p->head_cache = atomic_load_explicit(&r->tail, memory_order_relaxed);
	p->unchecked = false;
}

static inline void rl_ring_cons_init(struct rl_ring_cons *c, struct rl_ring *r)
{
	c->ring = r;
	c->head = c->released = c->tail_cache = atomic_load_explicit(&r->head, memory_order_relaxed);
}

/* Next free slot, or NULL when the ring is full (or the consumer's index is garbage). */
static inline struct rl_msg *rl_ring_reserve(struct rl_ring_prod *p)
{
	if (p->tail - p->head_cache >= RL_RING_SLOTS) {
		uint32_t h = atomic_load_explicit(&p->ring->head, memory_order_acquire);
		/* A consumer can never be ahead of us or more than a ring behind. */
		if (p->tail - h > RL_RING_SLOTS)
			return NULL;
		p->head_cache = h;
		if (p->tail - h >= RL_RING_SLOTS)
			return NULL;
	}
	return &p->ring->slot[p->tail & RL_RING_MASK];
}

static inline void rl_ring_commit(struct rl_ring_prod *p)
{
	p->tail++;
}

/* Entries committed but not yet published. */
static inline uint32_t rl_ring_unpublished(const struct rl_ring_prod *p)
{
	return p->tail - p->published;
}

/*
 * Makes every committed entry visible with one store. Returns true when the
 * consumer is asleep and must be woken (rl_ring_wake).
 */
static inline bool rl_ring_publish(struct rl_ring_prod *p)
{
	if (p->tail == p->published && !p->unchecked)
		return false;
	atomic_store_explicit(&p->ring->tail, p->tail, memory_order_release);
	p->published = p->tail;
	p->unchecked = false;
	/* Pairs with the consumer's fence between setting consumer_sleeping and re-checking tail. */
	atomic_thread_fence(memory_order_seq_cst);
	return atomic_load_explicit(&p->ring->consumer_sleeping, memory_order_relaxed) != 0;
}

/*
 * Makes committed entries visible without the fence and without asking
 * whether the consumer sleeps: the middle of a stream. The fence waits for
 * every store before it to reach the consumer's CPU -- all the slot lines
 * just written -- so a producer forwarding a stream stalls on it once per
 * publish. A consumer that falls asleep meanwhile is not woken here:
 * rl_ring_publish() must follow before the producer stops producing, and
 * reads the flag then.
 */
static inline void rl_ring_publish_quiet(struct rl_ring_prod *p)
{
	if (p->tail == p->published)
		return;
	atomic_store_explicit(&p->ring->tail, p->tail, memory_order_release);
	p->published = p->tail;
	p->unchecked = true;
}

/*
 * Entries ready to read: 0 when empty, -EPROTO when the producer published
 * an impossible tail (more than a ring ahead, or behind us).
 */
static inline int rl_ring_ready(struct rl_ring_cons *c)
{
	if (c->head == c->tail_cache) {
		uint32_t t = atomic_load_explicit(&c->ring->tail, memory_order_acquire);
		if (t - c->head > RL_RING_SLOTS)
			return -EPROTO;
		c->tail_cache = t;
	}
	return (int)(c->tail_cache - c->head);
}

/* The entry at the head; only valid while rl_ring_ready() > 0. */
static inline struct rl_msg *rl_ring_peek(struct rl_ring_cons *c)
{
	return &c->ring->slot[c->head & RL_RING_MASK];
}

static inline void rl_ring_pop(struct rl_ring_cons *c)
{
	c->head++;
}

/* Hands consumed slots back to the producer (one store per batch). */
static inline void rl_ring_release(struct rl_ring_cons *c)
{
	if (c->head != c->released) {
		atomic_store_explicit(&c->ring->head, c->head, memory_order_release);
		c->released = c->head;
	}
}

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

static inline void rl_ring_wake(struct rl_ring *r)
{
	rl_futex_wake(&r->tail, 1);
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

static inline uint64_t rl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* REDLEAF_RING_H */
