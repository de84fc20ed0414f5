// SPDX-License-Identifier: MIT
/*
 * Delivery: the stage's flush into rx rings, the backlog of a domain whose
 * ring is full, publishing, and the broker's own answers (rejections,
 * service completions). See deliver.h.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "deliver.h"

RL_PROXY_TLS struct rl_stage rl_stage;

/* The most a domain's backlog may hold: what others may queue, its calls' completions, its own answers. */
static uint32_t backlog_limit(const struct domain *d)
{
	return RL_BACKLOG_MAX + (d->calls_max ? d->calls_max : RL_MAX_OUTSTANDING);
}

/* Ends d, which stopped reading its ring (said once: a pidfd signal is not instant). */
static void __attribute__((format(printf, 3, 4))) stuck_kill(struct broker *b, struct domain *d, const char *fmt, ...)
{
	char why[128];
	va_list ap;

	if (d->kill_reason[0])
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	rl_broker_log(b, "%s: %s; killing it", d->name, why);
	snprintf(d->kill_reason, sizeof(d->kill_reason), "stopped reading its ring");
	if (d->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0);
}

static void backlog_push(struct broker *b, struct domain *d, const struct rl_msg *m)
{
	struct backlog *q = &d->backlog;

	uint32_t limit = backlog_limit(d);
	if (q->tail - q->head >= limit) {
		/*
		 * Others can put no more than RL_BACKLOG_ADMIT and a little per
		 * caller here (calls are refused at admission past that), and the
		 * completions of its own calls fit its calls quota: the rest is
		 * the broker's answers to what it sent and did not read.
		 */
		stuck_kill(b, d, "rx backlog over %u messages: it sent more than it read", limit);
		return;
	}
	if (q->tail - q->head == q->size) {
		uint32_t nsize = q->size ? q->size * 2 : 64; /* powers of 2: the indices wrap at 2^32 */
		struct rl_msg *nq = malloc(sizeof(*nq) * nsize);
		if (!nq)
			return;
		for (uint32_t i = 0; i < q->tail - q->head; i++)
			nq[i] = q->q[(q->head + i) % q->size];
		q->tail -= q->head;
		q->head = 0;
		free(q->q);
		q->q = nq;
		q->size = nsize;
	}
	q->q[q->tail++ % q->size] = *m;
	rl_stat_inc(&d->backlogged); /* under rx_lock with more than one proxy thread */
}

/*
 * Puts m into d's rx ring, or behind whatever waits in its backlog already.
 * Whoever built m set RL_MSG_F_LONG whenever an argument word past the
 * first is set; a short m's arg[1..4] are never read.
 */
static void put(struct broker *b, struct domain *d, const struct rl_msg *m)
{
	if (d->backlog.tail == d->backlog.head && rl_ring_write(&d->rx, m)) {
		d->rx_dirty = true;
		return;
	}
	backlog_push(b, d, m);
}

void rl_deliver_flush_backlog(struct domain *d)
{
	struct backlog *q = &d->backlog;
	uint32_t head = q->head;

	while (q->head != q->tail && rl_ring_write(&d->rx, &q->q[q->head % q->size])) {
		q->head++;
		d->rx_dirty = true;
	}
	if (q->head != head || q->head == q->tail) {
		d->rx_stall_ns = 0;
		return;
	}
	/*
	 * Its ring took nothing. Stuck means it stopped consuming: its
	 * backlog is full enough that callers are refused, and it has read
	 * nothing for RL_STUCK_NS, not that others sent a lot.
	 */
	uint64_t now = rl_now_ns();
	if (!d->rx_stall_ns)
		d->rx_stall_ns = now;
	else if (q->tail - q->head >= RL_BACKLOG_ADMIT && now - d->rx_stall_ns >= RL_STUCK_NS)
		stuck_kill(d->broker, d, "read nothing of its ring for %llu s with %u messages waiting",
			   (unsigned long long)(RL_STUCK_NS / 1000000000ull), q->tail - q->head);
}

void rl_deliver_publish(struct domain *d)
{
	if (!d->rx_dirty)
		return;
	d->rx_dirty = false;
	if (rl_ring_publish(&d->rx))
		rl_ring_wake(d->rx.ring);
}

/* With more than one proxy thread: the rx rings this thread wrote since it last published. */
static RL_PROXY_TLS struct {
	uint16_t id[RL_MAX_DOMAINS];
	unsigned n;
	bool on[RL_MAX_DOMAINS + 1];
} touched;

static void touch(struct domain *d)
{
	if (!touched.on[d->id]) {
		touched.on[d->id] = true;
		touched.id[touched.n++] = d->id;
	}
}

/*
 * Publishes every rx ring this thread wrote, each under its lock, and
 * retries their backlogs. A ring whose backlog is still waiting stays on
 * the list: this thread retries it every pass (and sleeps only briefly)
 * until it drains, whoever drains the ring's domain.
 */
void rl_deliver_publish_touched(struct broker *b)
{
	unsigned keep = 0;

	for (unsigned k = 0; k < touched.n; k++) {
		struct domain *d = &b->dom[touched.id[k]];
		bool waiting = false;
		pthread_mutex_lock(&d->rx_lock);
		if (atomic_load_explicit(&d->state, memory_order_relaxed) == DOM_RUNNING) {
			if (d->backlog.head != d->backlog.tail)
				rl_deliver_flush_backlog(d);
			rl_deliver_publish(d);
			waiting = d->backlog.head != d->backlog.tail;
		}
		pthread_mutex_unlock(&d->rx_lock);
		if (waiting)
			touched.id[keep++] = d->id;
		else
			touched.on[d->id] = false;
	}
	touched.n = keep;
}

/*
 * Stage entries [i, j), all for domain d, into d's rx ring. A run of short
 * messages with room for all of them and no backlog ahead is copied unit
 * by unit and committed at once; anything else goes one by one through
 * put(). A long stream goes out in pieces of at most a stage, so its
 * consumer starts early; quietly: the pass's last publish (rx_dirty stays
 * set) reads the sleeping flag.
 */
static inline void stage_put_run(struct broker *b, struct domain *d, unsigned i, unsigned j, uint8_t flags)
{
	if (!(flags & RL_MSG_F_LONG) && d->backlog.tail == d->backlog.head &&
	    rl_ring_room(&d->rx, j - i) >= j - i) {
		struct rl_ring *ring = d->rx.ring; /* locals: the copies must not make the compiler reload them */
		uint32_t tail = d->rx.tail;
		for (unsigned k = i; k < j; k++)
			memcpy(rl_ring_at(ring, tail++), &rl_stage.msg[k], RL_UNIT_BYTES);
		rl_ring_commit(&d->rx, j - i);
		d->rx_dirty = true;
	} else {
		for (unsigned k = i; k < j; k++)
			put(b, d, &rl_stage.msg[k]);
	}
	if (rl_ring_unpublished(&d->rx) >= RL_RING_FORWARD_PUBLISH)
		rl_ring_publish_quiet(&d->rx);
}

/* The end of the run of stage entries for the same domain as entry i, and their flags together. */
static inline unsigned stage_run_end(unsigned i, uint8_t *flags)
{
	unsigned j = i + 1;

	*flags = rl_stage.msg[i].flags;
	while (j < rl_stage.n && rl_stage.to[j] == rl_stage.to[i])
		*flags |= rl_stage.msg[j++].flags;
	return j;
}

static inline void stage_reset(void)
{
	rl_stage.n = 0;
	rl_stage.mixed = false;
	rl_stage.flags = 0;
}

/* stage_flush() with more than one proxy thread: each run of entries for one ring under its lock. */
static __attribute__((noinline)) void stage_flush_locked(struct broker *b)
{
	for (unsigned i = 0, j; i < rl_stage.n; i = j) {
		struct domain *d = rl_stage.to[i];
		uint8_t flags;
		j = stage_run_end(i, &flags);
		pthread_mutex_lock(&d->rx_lock);
		touch(d);
		stage_put_run(b, d, i, j, flags);
		pthread_mutex_unlock(&d->rx_lock);
	}
	stage_reset();
}

void rl_deliver_flush(struct broker *b)
{
	if (b->nworkers > 1)
		return stage_flush_locked(b);
	if (!rl_stage.mixed) { /* the common case: one run, its flags known */
		if (rl_stage.n)
			stage_put_run(b, rl_stage.to[0], 0, rl_stage.n, rl_stage.flags);
	} else {
		for (unsigned i = 0, j; i < rl_stage.n; i = j) {
			uint8_t flags;
			j = stage_run_end(i, &flags);
			stage_put_run(b, rl_stage.to[i], i, j, flags);
		}
	}
	stage_reset();
}

/* Queues a copy of m for d, short (one ring unit) unless an argument word past the first is set. */
void rl_deliver(struct broker *b, struct domain *d, const struct rl_msg *m)
{
	struct rl_msg *s = rl_deliver_slot(b, d);

	*s = *m;
	s->flags &= (uint8_t)~RL_MSG_F_LONG;
	if (m->arg[1] | m->arg[2] | m->arg[3] | m->arg[4])
		s->flags |= RL_MSG_F_LONG;
	rl_deliver_done();
}

void rl_deliver_reject(struct broker *b, struct domain *d, const struct rl_msg *m, int err)
{
	/* A dead, restarted or busy callee, or a quota, is an answer, not a bad message: not counted (quotas are). */
	if (err != -EHOSTDOWN && err != -ESTALE && err != -EAGAIN && err != -EBUSY && err != -EDQUOT)
		rl_stat_inc(&d->rejected);
	struct rl_msg c = {
		.kind = m->kind == RL_MSG_SYS ? RL_MSG_SYS_DONE : RL_MSG_COMPLETE,
		.flags = RL_MSG_F_BROKER,
		.method = m->method,
		.tag = m->tag,
		.status = err,
	};
	rl_deliver(b, d, &c);
}

void rl_deliver_sys_done(struct broker *b, struct domain *d, uint64_t tag, int status)
{
	struct rl_msg done = { .kind = RL_MSG_SYS_DONE, .tag = tag, .status = status };
	rl_deliver(b, d, &done);
}

bool rl_deliver_touched_waiting(void)
{
	return touched.n != 0;
}
