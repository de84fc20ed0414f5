/* SPDX-License-Identifier: MIT */
/*
 * Single-producer single-consumer rings of messages in shared memory
 * (waiting on them: wait.h).
 *
 * A ring is RL_RING_UNITS units of 32 bytes, two to a cache line. A short
 * message (the first 32 bytes of struct rl_msg: header, tag, status and
 * one argument word) takes one unit, a long one (RL_MSG_F_LONG: all five
 * argument words) two; calls with at most one argument, replies and
 * completions are short, so a stream of them moves half as many lines
 * between CPUs as one line per message would. A long message never wraps:
 * where it would, the producer writes a one-unit RL_MSG_PAD first.
 *
 * Each side keeps its own index in private memory and only publishes it to
 * the shared ring; it never reads its own index back from shared memory,
 * because the peer may be hostile. The peer's index is re-validated on every
 * read: a producer can never claim more than RL_RING_UNITS units, and every
 * unit access is masked, so garbage indices (or a long flag on the last
 * unit) cannot reach outside the ring.
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
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "redleaf/clock.h"
#include "redleaf/types.h"
#include "wait.h"

#define RL_RING_ORDER 9
#define RL_RING_UNITS (1U << RL_RING_ORDER)
#define RL_RING_MASK (RL_RING_UNITS - 1)
#define RL_UNIT_BYTES 32
/*
 * A relay (the broker) forwarding a stream publishes at least every this
 * many units instead of once per drained batch, so its consumer can start
 * on the first entries while it forwards the rest (docs/performance.md).
 */
#define RL_RING_FORWARD_PUBLISH 8

struct rl_ring {
	_Alignas(64) _Atomic uint32_t tail; /* written by the producer */
	_Alignas(64) _Atomic uint32_t head; /* written by the consumer */
	/* Set by the consumer before it sleeps on tail; the producer wakes it. */
	_Alignas(64) _Atomic uint32_t consumer_sleeping;
	_Alignas(64) struct rl_unit {
		uint64_t w[RL_UNIT_BYTES / 8];
	} unit[RL_RING_UNITS];
};

static_assert(sizeof(struct rl_ring) == 3 * 64 + RL_RING_UNITS * RL_UNIT_BYTES, "ring layout");

/* The message starting at unit pos (masked). Its second unit, if long, is pos + 1. */
static inline struct rl_msg *rl_ring_at(struct rl_ring *r, uint32_t pos)
{
	return (struct rl_msg *)(void *)&r->unit[pos & RL_RING_MASK];
}

/* Units a message of these flags takes. */
static inline unsigned rl_msg_units(uint8_t flags)
{
	return flags & RL_MSG_F_LONG ? 2 : 1;
}

struct rl_ring_prod {
	struct rl_ring *ring;
	uint32_t tail;       /* next unit to fill (private truth) */
	uint32_t published;  /* last tail stored to the ring */
	uint32_t head_cache; /* consumer position last seen */
	bool unchecked;      /* published quietly since the sleeping flag was last read */
};

struct rl_ring_cons {
	struct rl_ring *ring;
	uint32_t head;       /* next unit to read (private truth) */
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

/*
 * Room for a message of units (1 or 2) units, or NULL when the ring is full
 * (or the consumer's index is garbage). A long message that would wrap
 * gets a pad unit before it, written and committed here. The caller fills
 * the message (only its first 32 bytes when short, with flags saying
 * which) and commits the same units.
 */
static inline struct rl_msg *rl_ring_reserve(struct rl_ring_prod *p, unsigned units)
{
	uint32_t pad = units == 2 && (p->tail & RL_RING_MASK) == RL_RING_MASK;
	uint32_t need = pad + units;

	if (p->tail + need - p->head_cache > RL_RING_UNITS) {
		uint32_t h = atomic_load_explicit(&p->ring->head, memory_order_acquire);
		/* A consumer can never be ahead of us or more than a ring behind. */
		if (p->tail - h > RL_RING_UNITS)
			return NULL;
		p->head_cache = h;
		if (p->tail + need - h > RL_RING_UNITS)
			return NULL;
	}
	if (pad) {
		struct rl_msg *m = rl_ring_at(p->ring, p->tail);
		m->kind = RL_MSG_PAD;
		m->flags = 0;
		p->tail++;
	}
	return rl_ring_at(p->ring, p->tail);
}

/* Units free for the producer (reading the consumer's head when the cached one shows fewer than want). */
static inline uint32_t rl_ring_room(struct rl_ring_prod *p, uint32_t want)
{
	uint32_t room = RL_RING_UNITS - (p->tail - p->head_cache);

	if (room < want) {
		uint32_t h = atomic_load_explicit(&p->ring->head, memory_order_acquire);
		if (p->tail - h > RL_RING_UNITS)
			return 0; /* a consumer ahead of us: garbage, no room */
		p->head_cache = h;
		room = RL_RING_UNITS - (p->tail - h);
	}
	return room;
}

static inline void rl_ring_commit(struct rl_ring_prod *p, unsigned units)
{
	p->tail += units;
}

/* Copies m (short or long by its flags) into the ring; false when it is full. */
static inline bool rl_ring_write(struct rl_ring_prod *p, const struct rl_msg *m)
{
	unsigned units = rl_msg_units(m->flags);
	struct rl_msg *slot = rl_ring_reserve(p, units);

	if (!slot)
		return false;
	if (units == 2)
		*slot = *m;
	else
		memcpy(slot, m, RL_UNIT_BYTES);
	rl_ring_commit(p, units);
	return true;
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
 * every store before it to reach the consumer's CPU -- all the lines
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
 * Units ready to read: 0 when empty, -EPROTO when the producer published
 * an impossible tail (more than a ring ahead, or behind us).
 */
static inline int rl_ring_ready(struct rl_ring_cons *c)
{
	if (c->head == c->tail_cache) {
		uint32_t t = atomic_load_explicit(&c->ring->tail, memory_order_acquire);
		if (t - c->head > RL_RING_UNITS)
			return -EPROTO;
		c->tail_cache = t;
	}
	return (int)(c->tail_cache - c->head);
}

/* Like rl_ring_ready(), but reads the producer's tail even when some units are known ready. */
static inline int rl_ring_ready_more(struct rl_ring_cons *c)
{
	uint32_t t = atomic_load_explicit(&c->ring->tail, memory_order_acquire);
	if (t - c->head > RL_RING_UNITS)
		return -EPROTO;
	c->tail_cache = t;
	return (int)(c->tail_cache - c->head);
}

/*
 * The message at the head, in place; only valid while rl_ring_ready() > 0,
 * and its second unit only when it is long and 2 units are ready. For a
 * producer we trust (the broker, to a domain); the broker copies with
 * rl_ring_take_many().
 */
static inline struct rl_msg *rl_ring_peek(struct rl_ring_cons *c)
{
	return rl_ring_at(c->ring, c->head);
}

static inline void rl_ring_pop(struct rl_ring_cons *c, unsigned units)
{
	c->head += units;
}

/*
 * Copies up to max messages into out[] and pops them: how many, 0 when
 * there is none (pads are skipped) or only the first unit of a long one is
 * published yet, or -EPROTO for an impossible tail before any message.
 * Each unit is read once, by masked index, so a producer rewriting it
 * meanwhile or flagging the ring's last unit long cannot make a copy
 * inconsistent or reach outside the ring. A short message's arg[1..4] come
 * out zero. A producer only ever needs one pad in a row, so a second one
 * ends the call: a hostile producer publishing pads as fast as they are
 * read cannot keep the consumer here.
 */
static inline int rl_ring_take_many(struct rl_ring_cons *c, struct rl_msg *out, unsigned max)
{
	/* Locals: the copies into out[] could alias *c, and would make the compiler store head each time. */
	struct rl_ring *ring = c->ring;
	uint32_t head = c->head, tail = c->tail_cache;
	unsigned n = 0, pads = 0;
	int err = 0;

	while (n < max) {
		if (head == tail) {
			c->head = head;
			int r = rl_ring_ready(c);
			if (r <= 0) {
				err = r;
				break;
			}
			tail = c->tail_cache;
		}
		struct rl_msg *m = &out[n];
		memcpy(m, rl_ring_at(ring, head), RL_UNIT_BYTES);
		if (m->kind == RL_MSG_PAD) {
			head++;
			if (pads++)
				break;
			continue;
		}
		if (m->flags & RL_MSG_F_LONG) {
			if (tail - head < 2) {
				c->head = head;
				int r = rl_ring_ready_more(c);
				if (r < 2) {
					err = r < 0 ? r : 0;
					break;
				}
				tail = c->tail_cache;
			}
			memcpy(&m->arg[1], rl_ring_at(ring, head + 1), RL_UNIT_BYTES);
			head += 2;
		} else {
			m->arg[1] = m->arg[2] = m->arg[3] = m->arg[4] = 0;
			head++;
		}
		pads = 0;
		n++;
	}
	c->head = head;
	return n ? (int)n : err;
}

/* rl_ring_take_many() of one message: 1, 0 or -EPROTO. */
static inline int rl_ring_take(struct rl_ring_cons *c, struct rl_msg *m)
{
	return rl_ring_take_many(c, m, 1);
}

/* Hands consumed units back to the producer (one store per batch). */
static inline void rl_ring_release(struct rl_ring_cons *c)
{
	if (c->head != c->released) {
		atomic_store_explicit(&c->ring->head, c->head, memory_order_release);
		c->released = c->head;
	}
}

/* Wakes a consumer sleeping on the ring's tail. */
static inline void rl_ring_wake(struct rl_ring *r)
{
	rl_futex_wake(&r->tail, 1);
}

#endif /* REDLEAF_RING_H */
