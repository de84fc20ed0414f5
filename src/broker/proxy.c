// SPDX-License-Identifier: MIT
/*
 * The proxy threads' loop: passes over the domains' tx rings (the call path
 * in calls.c does the work), deaths handed over by the event thread,
 * restarts whose time has come, the mailbox, and sleeping on the bell when
 * there is nothing to do.
 *
 * With more than one proxy thread (`broker: {threads: N}`), thread k (from
 * 0) drains the tx rings of domains k + 1, k + 1 + N, ...: it copies a batch in
 * unlocked, validates and stages it under validation_lock, writes the stage into
 * rx rings under each ring's rx_lock and publishes what it wrote. Deaths,
 * restarts and mailbox commands are thread 0's, done while the others wait
 * at the top of their pass (quiesce), so recovery sees the state it sees
 * with one thread. docs/design.md, "Proxy threads".
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "calls.h"
#include "deliver.h"
#include "ownership.h"
#include "deadlines.h"
#include "proxy.h"
#include "recovery.h"

/*
 * The rest of d's death, if the event thread saw one: the replies it
 * published before dying complete their calls, then recovery takes over.
 * Returns 1 if there was one. The only way a death travels: one way down.
 */
static unsigned death_if_pending(struct broker *b, struct domain *d)
{
	if (!atomic_load_explicit(&d->death_pending, memory_order_acquire))
		return 0;
	rl_calls_take_replies(b, d);
	rl_recovery_handle_death(b, d);
	return 1;
}

int rl_proxy_audit(struct broker *b, char *why, size_t whylen)
{
	/* A death already seen but not yet handled still owns its objects: finish it first. */
	for (unsigned i = 1; i <= b->ndom; i++)
		death_if_pending(b, &b->dom[i]);
	return rl_ownership_audit(b, why, whylen);
}

static void serve_mailbox(struct broker *b)
{
	pthread_mutex_lock(&b->mb_lock);
	switch (atomic_load(&b->mb_op)) {
	case MB_AUDIT:
		b->mb_text[0] = 0;
		b->mb_result = rl_proxy_audit(b, b->mb_text, sizeof(b->mb_text));
		break;
	case MB_RESTART:
		b->mb_result = b->mb_arg >= 1 && b->mb_arg <= b->ndom
				       ? rl_recovery_restart(b, &b->dom[b->mb_arg])
				       : -ENOENT;
		break;
	default:
		b->mb_result = -ENOSYS;
	}
	atomic_store(&b->mb_op, MB_NONE);
	pthread_cond_broadcast(&b->mb_cond);
	pthread_mutex_unlock(&b->mb_lock);
}

/* Does thread w have anything to do? Its own domains' rings, and thread 0's events. */
static bool anything_ready(struct broker *b, const struct rl_proxy_worker *w)
{
	for (unsigned i = 1 + w->idx; i <= b->ndom; i += b->nworkers) {
		struct domain *d = &b->dom[i];
		if (atomic_load_explicit(&d->state, memory_order_relaxed) != DOM_RUNNING || d->tx_insane)
			continue;
		if (atomic_load_explicit(&d->tx.ring->tail, memory_order_acquire) != d->tx.head)
			return true;
	}
	if (atomic_load(&b->stop))
		return true;
	if (w->idx)
		return atomic_load(&b->quiesce);
	for (unsigned i = 1; i <= b->ndom; i++)
		if (atomic_load_explicit(&b->dom[i].death_pending, memory_order_relaxed))
			return true;
	return atomic_load(&b->mb_op) != MB_NONE;
}

void rl_proxy_load(struct broker *b, struct rl_proxy_load *l)
{
	uint64_t ticks = rl_proxy_ticks(), ns = rl_now_ns();

	uint64_t busy = 0;
	l->messages = 0;
	for (unsigned k = 0; k < b->nworkers; k++) {
		l->messages += atomic_load_explicit(&b->workers[k].msgs, memory_order_relaxed);
		busy += atomic_load_explicit(&b->workers[k].busy, memory_order_relaxed);
	}
	l->up_ns = b->proxy_ns0 && ns > b->proxy_ns0 ? ns - b->proxy_ns0 : 0;
	/* Ticks per ns over the whole run so far: no calibration pause at start. */
	double rate = l->up_ns && ticks > b->proxy_t0 ? (double)(ticks - b->proxy_t0) / (double)l->up_ns : 1.0;
	l->busy_ns = (uint64_t)((double)busy / rate);
	if (l->busy_ns > l->up_ns * b->nworkers) /* busy_ns sums the threads */
		l->busy_ns = l->up_ns * b->nworkers;
}

unsigned rl_proxy_pass(struct broker *b, unsigned *msgs)
{
	unsigned deaths = 0;

	*msgs = 0;
	for (unsigned i = 1; i <= b->ndom; i++) {
		struct domain *d = &b->dom[i];
		deaths += death_if_pending(b, d);
		if (atomic_load_explicit(&d->state, memory_order_relaxed) == DOM_RUNNING)
			*msgs += rl_calls_drain(b, d);
	}
	/* What handling deaths delivered (each drain sent its own already). */
	rl_deliver_flush(b);
	for (unsigned i = 1; i <= b->ndom; i++) {
		struct domain *d = &b->dom[i];
		if (atomic_load_explicit(&d->state, memory_order_relaxed) != DOM_RUNNING)
			continue;
		if (d->backlog.head != d->backlog.tail)
			rl_deliver_flush_backlog(d);
		rl_deliver_publish(d);
	}
	return deaths + *msgs;
}

/*
 * Thread 0, with more than one proxy thread: asks the others to wait at the
 * top of their pass and waits until they all do. False when the broker
 * stops meanwhile (the others may be gone): nothing is done then.
 */
static bool others_stop(struct broker *b)
{
	atomic_store(&b->quiesce, 1);
	rl_broker_ring_bell(b); /* the sleeping ones too */
	while (atomic_load(&b->parked) != b->nworkers - 1) {
		if (atomic_load(&b->stop)) {
			atomic_store(&b->quiesce, 0);
			return false;
		}
		rl_spin_step(b->spin_yield);
	}
	return true;
}

static void others_go(struct broker *b)
{
	atomic_store(&b->quiesce, 0);
	/* All must have left the wait before the next others_stop() counts them again. */
	while (atomic_load(&b->parked) && !atomic_load(&b->stop))
		rl_spin_step(b->spin_yield);
}

/* The others' side: wait while thread 0 works alone. */
static void park(struct broker *b)
{
	atomic_fetch_add(&b->parked, 1);
	while (atomic_load(&b->quiesce) && !atomic_load(&b->stop))
		rl_spin_step(b->spin_yield);
	atomic_fetch_sub(&b->parked, 1);
}

/* Calls past their deadline get -ETIMEDOUT; *next (ns to the next event) takes the next deadline into account. */
static unsigned expire_deadlines(struct broker *b, uint64_t *next)
{
	uint64_t next_deadline;
	unsigned n = rl_deadlines_expire(b, rl_now_ns(), &next_deadline);

	if (next_deadline < *next)
		*next = next_deadline;
	return n;
}

/*
 * Thread 0's events with more than one proxy thread: deaths, mailbox
 * commands and restarts whose time has come, handled alone, in the order
 * the single thread handles them (deaths and what they deliver first, then
 * commands and restarts, which reset rings). *next_restart = ns until the
 * next restart (UINT64_MAX for none). Returns the work done.
 */
static unsigned exclusive_work(struct broker *b, uint64_t *next_restart)
{
	bool deaths = false, due = false;

	*next_restart = UINT64_MAX;
	for (unsigned i = 1; i <= b->ndom; i++)
		deaths |= atomic_load_explicit(&b->dom[i].death_pending, memory_order_acquire);
	if (b->restarts_pending)
		*next_restart = rl_recovery_next(b, rl_now_ns(), &due);
	bool mail = atomic_load_explicit(&b->mb_op, memory_order_relaxed) != MB_NONE;
	/* Read racily (the others add and remove under the validation lock): a wrong guess only delays or wakes us. */
	uint64_t next_deadline = b->ndeadlines ? rl_deadlines_next(b, rl_now_ns()) : UINT64_MAX;
	if (next_deadline < *next_restart)
		*next_restart = next_deadline;
	bool standbys = atomic_load_explicit(&b->standby_events, memory_order_relaxed) != 0;
	if (!deaths && !due && !mail && next_deadline && !standbys)
		return 0;
	if (!others_stop(b))
		return 0;
	unsigned work = 0;
	for (unsigned i = 1; i <= b->ndom; i++)
		work += death_if_pending(b, &b->dom[i]);
	rl_deliver_flush(b);
	rl_deliver_publish_touched(b);
	if (atomic_load_explicit(&b->mb_op, memory_order_relaxed) != MB_NONE) {
		serve_mailbox(b);
		work++;
	}
	if (b->restarts_pending) {
		*next_restart = rl_recovery_tick(b, rl_now_ns());
		work += due;
	}
	if (b->ndeadlines)
		work += expire_deadlines(b, next_restart);
	if (standbys)
		work += rl_recovery_standby_events(b);
	rl_deliver_flush(b);
	rl_deliver_publish_touched(b);
	others_go(b);
	return work;
}

/* One pass of thread w over its own domains, with more than one proxy thread. */
static unsigned worker_pass(struct broker *b, const struct rl_proxy_worker *w, unsigned *msgs)
{
	*msgs = 0;
	for (unsigned i = 1 + w->idx; i <= b->ndom; i += b->nworkers) {
		struct domain *d = &b->dom[i];
		/* A death seen is thread 0's to handle, with everyone else waiting. */
		if (atomic_load_explicit(&d->death_pending, memory_order_acquire) ||
		    atomic_load_explicit(&d->state, memory_order_relaxed) != DOM_RUNNING)
			continue;
		*msgs += rl_calls_drain(b, d);
	}
	rl_deliver_publish_touched(b);
	return *msgs;
}

/* Any backlog this thread retries (a full rx ring): then it sleeps with a short timeout. */
static bool backlog_waiting(struct broker *b)
{
	if (b->nworkers > 1)
		return rl_deliver_touched_waiting(); /* what rl_deliver_publish_touched() kept */
	for (unsigned i = 1; i <= b->ndom; i++)
		if (b->dom[i].backlog.head != b->dom[i].backlog.tail)
			return true;
	return false;
}

int rl_proxy_init_locks(struct broker *b)
{
	pthread_mutexattr_t a;
	int err = pthread_mutexattr_init(&a);

	if (err)
		return -err;
	/* Held for a batch at most: spin a little before sleeping. */
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	err = pthread_mutex_init(&b->validation_lock, &a);
	for (unsigned i = 1; i <= b->ndom && !err; i++)
		err = pthread_mutex_init(&b->dom[i].rx_lock, &a);
	pthread_mutexattr_destroy(&a);
	return -err;
}

void *rl_proxy_thread(void *arg)
{
	struct rl_proxy_worker *w = arg;
	struct broker *b = w->b;
	bool multi = b->nworkers > 1;
	uint64_t idle_since = 0;
	unsigned spins = 0;

	while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
		if (multi && w->idx && atomic_load_explicit(&b->quiesce, memory_order_acquire)) {
			park(b);
			continue;
		}
		unsigned msgs = 0, work = 0;
		uint64_t pass_start = rl_proxy_ticks();
		uint64_t next_restart = UINT64_MAX;

		if (!multi) {
			work = rl_proxy_pass(b, &msgs);
			if (atomic_load_explicit(&b->mb_op, memory_order_relaxed) != MB_NONE) {
				serve_mailbox(b);
				work++;
			}
			if (b->restarts_pending)
				next_restart = rl_recovery_tick(b, rl_now_ns());
			if (b->ndeadlines)
				work += expire_deadlines(b, &next_restart);
			if (atomic_load_explicit(&b->standby_events, memory_order_relaxed))
				work += rl_recovery_standby_events(b);
		} else {
			if (w->idx == 0)
				work = exclusive_work(b, &next_restart);
			work += worker_pass(b, w, &msgs);
		}
		if (work) {
			rl_stat_add(&w->busy, rl_proxy_ticks() - pass_start);
			rl_stat_add(&w->msgs, msgs);
			idle_since = 0;
			continue;
		}
		/* Idle: spin for spin_ns, then sleep on the bell. */
		if ((spins++ & 63) == 0) {
			uint64_t now = rl_now_ns();
			if (!idle_since)
				idle_since = now;
			if (now - idle_since < b->spin_ns || b->spin_ns == UINT32_MAX) {
				rl_spin_step(b->spin_yield);
				continue;
			}
		} else {
			rl_spin_step(b->spin_yield);
			continue;
		}
		uint32_t bell = atomic_load(&b->bell->word);
		/* A count: domains ring the bell while any proxy thread sleeps. */
		atomic_fetch_add(&b->heap.hdr->broker_sleeping, 1);
		atomic_thread_fence(memory_order_seq_cst);
		/* Backlogs waiting for a full ring need a periodic retry: sleep with a timeout. */
		if (!anything_ready(b, w)) {
			uint64_t ns = backlog_waiting(b) ? 1000000 : 200000000;
			if (next_restart < ns)
				ns = next_restart + 1;
			struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
			rl_futex_wait(&b->bell->word, bell, &ts);
		}
		atomic_fetch_sub(&b->heap.hdr->broker_sleeping, 1);
		idle_since = 0;
	}
	if (w->idx == 0) {
		/* A command waiting in the mailbox will not be served now: let it see the stop. */
		pthread_mutex_lock(&b->mb_lock);
		pthread_cond_broadcast(&b->mb_cond);
		pthread_mutex_unlock(&b->mb_lock);
	}
	return NULL;
}
