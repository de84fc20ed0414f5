// SPDX-License-Identifier: MIT
/*
 * The floors of bench/ipc (see floors.h): the same rings and waiting as our
 * calls, minus everything our call path adds on top (seccomp on every
 * futex, capability and argument validation, ownership, continuations).
 *
 * The harness process is always the caller and does the timing; partners
 * are forked children (procs.c), killed after each measurement. Ring
 * entries are struct rl_msg, one cache line, as in the real system.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floors.h"
#include "procs.h"
#include "samples.h"
#include "share.h"
#include "ring.h"
#include "tsc.h"

#define RELAY_DRAIN 64     /* as the broker's DRAIN_BATCH */
#define INDIRECT_BLOCK 1000
#define MIN_BATCHES 200
#define MSG_BYTES 64       /* pipe and socket messages: one rl_msg */

enum { CALLER_TX, CALLER_RX, CALLEE_RX, CALLEE_TX, NRINGS };

struct shm {
	struct rl_ring ring[NRINGS];
	_Alignas(64) _Atomic uint32_t bell;           /* the relay sleeps here, like the broker */
	_Alignas(64) _Atomic uint32_t relay_sleeping; /* like the heap header's broker_sleeping */
	_Alignas(64) _Atomic uint32_t word;           /* futex ping-pong */
};

static_assert(offsetof(struct shm, bell) % 64 == 0, "bell on its own line");

/* One side of a conversation: what it produces and what it consumes. */
struct ep {
	struct rl_ring_prod tx;
	struct rl_ring_cons rx;
	uint64_t spin_ns;
	bool yield;         /* spin by sched_yield (more spinners than CPUs), else by pause */
	struct shm *relay;  /* set: tx goes to a relay; ring its bell, as domains ring the broker's */
	pid_t watch[2];     /* caller only: partners whose death ends the wait with an error */
	bool failed;
};

static struct shm *shm_create(void)
{
	void *p = mmap(NULL, sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void pin(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* The broker's rule: yield while spinning when the spinners outnumber the CPUs. */
static bool spin_yields(uint64_t spin_ns, unsigned spinners, long usable_cpus)
{
	return spin_ns != RL_FLOOR_POLL && (long)spinners > usable_cpus;
}

static void ep_init(struct ep *e, struct shm *s, int tx, int rx, uint64_t spin_ns, bool yield,
		    bool via_relay)
{
	memset(e, 0, sizeof(*e));
	rl_ring_prod_init(&e->tx, &s->ring[tx]);
	rl_ring_cons_init(&e->rx, &s->ring[rx]);
	e->spin_ns = spin_ns;
	e->yield = yield;
	e->relay = via_relay ? s : NULL;
}

/* Publishes what was committed; wakes the consumer only if it announced sleep. */
static void ep_publish(struct ep *e)
{
	if (!rl_ring_unpublished(&e->tx))
		return;
	bool sleeping = rl_ring_publish(&e->tx);
	if (e->relay) {
		/* runtime.c ring_bell(): fence, then ring only a sleeping broker. */
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&e->relay->relay_sleeping, memory_order_relaxed)) {
			atomic_fetch_add_explicit(&e->relay->bell, 1, memory_order_release);
			rl_futex_wake(&e->relay->bell, 1);
		}
	} else if (sleeping) {
		rl_ring_wake(e->tx.ring);
	}
}

static bool partners_alive(struct ep *e)
{
	for (int i = 0; i < 2; i++)
		if (e->watch[i] > 0 && waitpid(e->watch[i], NULL, WNOHANG) != 0)
			return false;
	return true;
}

/*
 * Waits until rx holds at least one entry and returns how many; 0 when a
 * watched partner died (e->failed set). The waiting is runtime.c rx_wait():
 * read the clock on the first spin and every 64th, spin until spin_ns
 * passed, then sleep on the ring's tail.
 */
static int ep_wait(struct ep *e)
{
	uint64_t deadline = 0;
	unsigned spins = 0;
	int n;

	for (;;) {
		if ((n = rl_ring_ready(&e->rx)) != 0)
			goto got;
		if (e->spin_ns == RL_FLOOR_POLL) {
			if ((++spins & 0xffffff) == 0 && !partners_alive(e))
				goto dead;
		} else if ((spins++ & 63) == 0) {
			uint64_t now = rl_now_ns();
			if (!deadline)
				deadline = now + e->spin_ns;
			else if (now >= deadline)
				break;
		}
		rl_spin_step(e->yield);
	}
	for (;;) {
		struct rl_ring *r = e->rx.ring;
		/* A timeout only bounds how long a dead partner can keep us waiting. */
		const struct timespec second = { 1, 0 };
		atomic_store_explicit(&r->consumer_sleeping, 1, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
		uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
		int slept = 0;
		if (t == e->rx.head)
			slept = rl_futex_wait(&r->tail, t, &second);
		atomic_store_explicit(&r->consumer_sleeping, 0, memory_order_relaxed);
		if ((n = rl_ring_ready(&e->rx)) != 0)
			goto got;
		if (slept == -ETIMEDOUT && !partners_alive(e))
			goto dead;
	}
got:
	if (n > 0)
		return n;
	/* An impossible index: only a bug here can cause it. */
	_exit(3);
dead:
	e->failed = true;
	return 0;
}

/* A short message (one ring unit, like a null call's): the first 32 bytes only. */
static void fill(struct rl_msg *m, uint8_t kind, uint64_t tag)
{
	m->kind = kind;
	m->flags = 0;
	m->method = 0;
	m->cap = 0;
	m->tag = tag;
	m->status = 0;
	m->aux = 0;
	m->arg[0] = 0;
}

/* ---- partners ---- */

struct partner {
	struct shm *shm;
	uint64_t spin_ns;
	bool yield;
	int cpu;
	bool relay_mode; /* the callee of a three-process relay (rings CALLEE_*) */
};

/*
 * The callee: drains every entry that is ready, replies to each, and
 * publishes once per drained batch (our runtime publishes per reply).
 */
static void callee_main(void *arg)
{
	struct partner *p = arg;
	struct ep e;

	pin(p->cpu);
	if (p->relay_mode)
		ep_init(&e, p->shm, CALLEE_TX, CALLEE_RX, p->spin_ns, p->yield, true);
	else
		ep_init(&e, p->shm, CALLER_RX, CALLER_TX, p->spin_ns, p->yield, false);
	for (;;) {
		struct rl_msg in;
		int got;
		ep_wait(&e);
		while ((got = rl_ring_take(&e.rx, &in)) > 0) {
			struct rl_msg *out;
			while (!(out = rl_ring_reserve(&e.tx, 1))) {
				rl_ring_release(&e.rx);
				ep_publish(&e);
				sched_yield();
			}
			/*
			 * Copied as taken, the kind rewritten in the slot: a byte
			 * stored into the copy just before the copy's wide loads
			 * would stall them (src/proxy.c put()).
			 */
			memcpy(out, &in, RL_UNIT_BYTES);
			out->kind = RL_MSG_REPLY;
			rl_ring_commit(&e.tx, 1);
		}
		if (got < 0)
			_exit(3);
		rl_ring_release(&e.rx);
		ep_publish(&e);
	}
}

/*
 * Forwards up to RELAY_DRAIN messages from in to out, rewriting only the
 * kind, the way the broker's drain() does without the checks: the batch is
 * copied out of the input first (the broker copies untrusted units before
 * looking at them), then written out in one tight loop (the broker's
 * stage_flush()), published quietly every RL_RING_FORWARD_PUBLISH units.
 * It takes no more than the output has room for: a full output waits in
 * its input ring, so no backlog is needed here.
 */
static unsigned relay_forward(struct rl_ring_cons *in, struct rl_ring_prod *out, bool *dirty)
{
	struct rl_msg batch[RELAY_DRAIN];
	uint32_t room = rl_ring_room(out, RELAY_DRAIN);
	int got = rl_ring_take_many(in, batch, room < RELAY_DRAIN ? room : RELAY_DRAIN);

	if (got < 0)
		_exit(3);
	if (!got)
		return 0;
	unsigned n = (unsigned)got;
	for (unsigned i = 0; i < n; i++)
		if (batch[i].flags & RL_MSG_F_LONG)
			_exit(3); /* the floors send short messages only */
	rl_ring_release(in);
	for (unsigned i = 0; i < n; i++) {
		struct rl_msg *slot = rl_ring_reserve(out, 1);
		/* Copied as taken, the kind rewritten in the slot: see callee_main(). */
		memcpy(slot, &batch[i], RL_UNIT_BYTES);
		slot->kind = batch[i].kind == RL_MSG_CALL ? RL_MSG_INVOKE : RL_MSG_COMPLETE;
		rl_ring_commit(out, 1);
		if (rl_ring_unpublished(out) >= RL_RING_FORWARD_PUBLISH)
			rl_ring_publish_quiet(out);
	}
	*dirty = true;
	return n;
}

/* The relay: src/proxy.c rl_proxy_thread() without validation or bookkeeping. */
static void relay_main(void *arg)
{
	struct partner *p = arg;
	struct shm *s = p->shm;
	struct rl_ring_cons in[2];
	struct rl_ring_prod out[2];
	bool dirty[2] = { false, false };
	uint64_t idle_since = 0;
	unsigned spins = 0;

	pin(p->cpu);
	rl_ring_cons_init(&in[0], &s->ring[CALLER_TX]);
	rl_ring_prod_init(&out[0], &s->ring[CALLEE_RX]);
	rl_ring_cons_init(&in[1], &s->ring[CALLEE_TX]);
	rl_ring_prod_init(&out[1], &s->ring[CALLER_RX]);
	for (;;) {
		unsigned work = 0;
		for (int i = 0; i < 2; i++)
			work += relay_forward(&in[i], &out[i], &dirty[i]);
		for (int i = 0; i < 2; i++) {
			if (!dirty[i])
				continue;
			dirty[i] = false;
			if (rl_ring_publish(&out[i]))
				rl_ring_wake(out[i].ring);
		}
		if (work) {
			idle_since = 0;
			continue;
		}
		if (p->spin_ns == RL_FLOOR_POLL) {
			rl_cpu_relax();
			continue;
		}
		if ((spins++ & 63) == 0) {
			uint64_t now = rl_now_ns();
			if (!idle_since)
				idle_since = now;
			if (now - idle_since < p->spin_ns) {
				rl_spin_step(p->yield);
				continue;
			}
		} else {
			rl_spin_step(p->yield);
			continue;
		}
		uint32_t bell = atomic_load(&s->bell);
		atomic_store(&s->relay_sleeping, 1);
		atomic_thread_fence(memory_order_seq_cst);
		bool ready = false;
		for (int i = 0; i < 2; i++)
			ready |= atomic_load_explicit(&in[i].ring->tail, memory_order_acquire) != in[i].head;
		if (!ready) {
			struct timespec ts = { 0, 200000000 };
			rl_futex_wait(&s->bell, bell, &ts);
		}
		atomic_store(&s->relay_sleeping, 0);
		idle_since = 0;
	}
}

/* ---- the caller's side ---- */

/* Saves the harness's CPU mask, pins it, and restores it later. */
struct pinning {
	cpu_set_t saved;
	bool pinned;
};

static void caller_pin(struct pinning *pn, int cpu)
{
	pn->pinned = false;
	if (cpu < 0 || sched_getaffinity(0, sizeof(pn->saved), &pn->saved) < 0)
		return;
	pin(cpu);
	pn->pinned = true;
}

static void caller_unpin(struct pinning *pn)
{
	if (pn->pinned)
		sched_setaffinity(0, sizeof(pn->saved), &pn->saved);
}

/* Posts n calls with one publish, then collects their n completions. */
static int round_trip(struct ep *e, unsigned n, uint64_t *tag)
{
	for (unsigned k = 0; k < n; k++) {
		struct rl_msg *m = rl_ring_reserve(&e->tx, 1);
		if (!m)
			return -EOVERFLOW; /* batches never exceed the ring */
		fill(m, RL_MSG_CALL, ++*tag);
		rl_ring_commit(&e->tx, 1);
	}
	ep_publish(e);
	for (unsigned got = 0; got < n;) {
		struct rl_msg r;
		int t;
		if (!ep_wait(e))
			return -EPIPE;
		while ((t = rl_ring_take(&e->rx, &r)) > 0) {
			if (r.kind != RL_MSG_REPLY && r.kind != RL_MSG_COMPLETE)
				return -EPROTO;
			got++;
		}
		if (t < 0)
			return -EPROTO;
		rl_ring_release(&e->rx);
	}
	return 0;
}

/* One timed round trip of n calls: its ticks per call in *t. */
static int timed_round_trip(struct ep *e, unsigned n, uint64_t *tag, double *t)
{
	uint64_t t0 = rl_tsc_begin();
	int rc = round_trip(e, n, tag);
	uint64_t t1 = rl_tsc_end();
	*t = (double)(t1 - t0) / n;
	return rc;
}

/* Samples of batch-call round trips, amortized per call. */
static int measure_batches(struct ep *e, const struct rl_floor_params *p, unsigned batch,
			   double *samples, size_t max)
{
	uint64_t tag = 0;
	size_t n = batch == 1 ? p->iterations : p->iterations / batch;
	unsigned warm = batch == 1 ? p->warmup : p->warmup / batch + 10;

	if (n < MIN_BATCHES)
		n = MIN_BATCHES;
	if (n > max)
		n = max;
	for (unsigned i = 0; i < warm; i++)
		if (round_trip(e, batch, &tag))
			return -EPIPE;
	for (size_t i = 0; i < n; i++) {
		int rc = timed_round_trip(e, batch, &tag, &samples[i]);
		if (rc)
			return rc;
	}
	return (int)n;
}

/*
 * window calls in flight: submit while below the window and the ring has
 * room, publish once, collect whatever completed. One sample per window
 * completions (per-call ticks over that stretch); the first stretches fill
 * the pipeline and are not sampled.
 */
static int measure_window(struct ep *e, const struct rl_floor_params *p, unsigned window,
			  double *samples, size_t max)
{
	size_t nsamples = p->iterations / window * 4, s = 0;
	uint64_t tag = 0, inflight = 0, completed = 0, mark_at;
	const unsigned warm_stretches = 8;

	if (nsamples < MIN_BATCHES)
		nsamples = MIN_BATCHES;
	if (nsamples > max)
		nsamples = max;
	uint64_t total = (nsamples + warm_stretches + 1) * (uint64_t)window, submitted = 0;
	uint64_t mark = rl_tsc_begin();
	mark_at = window;
	while (completed < total) {
		struct rl_msg *m;
		while (inflight < window && submitted < total && (m = rl_ring_reserve(&e->tx, 1))) {
			fill(m, RL_MSG_CALL, ++tag);
			rl_ring_commit(&e->tx, 1);
			inflight++;
			submitted++;
		}
		ep_publish(e);
		int ready = ep_wait(e);
		if (!ready)
			return -EPIPE;
		rl_ring_pop(&e->rx, (unsigned)ready); /* completions only, one unit each */
		rl_ring_release(&e->rx);
		inflight -= (uint64_t)ready;
		completed += (uint64_t)ready;
		if (completed >= mark_at) {
			uint64_t now = rl_tsc_end();
			if (mark_at > (uint64_t)warm_stretches * window && s < nsamples)
				samples[s++] = (double)(now - mark) / (double)(completed - (mark_at - window));
			mark = now;
			mark_at = completed + window;
		}
	}
	return (int)s;
}

/* ---- floors ---- */

static int __attribute__((noinline)) indirect_target(int x)
{
	return x + 1;
}

static int (*volatile indirect_fp)(int) = indirect_target;

int rl_floor_indirect(const struct rl_floor_params *p, double *samples, size_t max)
{
	size_t n = p->iterations / 10 < MIN_BATCHES ? MIN_BATCHES : p->iterations / 10;
	volatile int sink = 0;
	int acc = 0;

	if (n > max)
		n = max;
	for (unsigned i = 0; i < p->warmup * 10; i++)
		acc = indirect_fp(acc);
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = rl_tsc_begin();
		for (unsigned k = 0; k < INDIRECT_BLOCK; k++)
			acc = indirect_fp(acc); /* the volatile load keeps every call indirect */
		uint64_t t1 = rl_tsc_end();
		samples[i] = (double)(t1 - t0) / INDIRECT_BLOCK;
	}
	sink = acc;
	(void)sink;
	return (int)n;
}

int rl_floor_ring2(const struct rl_floor_params *p, unsigned batch, double *samples, size_t max)
{
	struct shm *s = shm_create();
	struct pinning pn;
	struct ep e;

	if (!s)
		return -ENOMEM;
	bool yield = spin_yields(p->spin_ns, 2, p->usable_cpus);
	struct partner callee = { s, p->spin_ns, yield, p->cpu[1], false };
	pid_t pid = rl_procs_fork(callee_main, &callee);
	if (pid < 0) {
		munmap(s, sizeof(*s));
		return pid;
	}
	caller_pin(&pn, p->cpu[0]);
	ep_init(&e, s, CALLER_TX, CALLER_RX, p->spin_ns, yield, false);
	e.watch[0] = pid;
	int n = measure_batches(&e, p, batch, samples, max);
	caller_unpin(&pn);
	rl_procs_stop(pid);
	munmap(s, sizeof(*s));
	return n;
}

/* A caller-relay-callee system: the harness (or its floor process) is the caller. */
struct ring3 {
	struct shm *s;
	pid_t callee, relay;
	struct pinning pn;
	struct ep e;
};

static int ring3_start(struct ring3 *r, const struct rl_floor_params *p)
{
	r->s = shm_create();
	if (!r->s)
		return -ENOMEM;
	bool yield = spin_yields(p->spin_ns, 3, p->usable_cpus);
	struct partner callee = { r->s, p->spin_ns, yield, p->cpu[1], true };
	struct partner relay = { r->s, p->spin_ns, yield, p->cpu[2], true };
	r->callee = rl_procs_fork(callee_main, &callee);
	if (r->callee < 0) {
		munmap(r->s, sizeof(*r->s));
		return r->callee;
	}
	r->relay = rl_procs_fork(relay_main, &relay);
	if (r->relay < 0) {
		rl_procs_stop(r->callee);
		munmap(r->s, sizeof(*r->s));
		return r->relay;
	}
	caller_pin(&r->pn, p->cpu[0]);
	ep_init(&r->e, r->s, CALLER_TX, CALLER_RX, p->spin_ns, yield, true);
	r->e.watch[0] = r->callee;
	r->e.watch[1] = r->relay;
	return 0;
}

static void ring3_stop(struct ring3 *r)
{
	caller_unpin(&r->pn);
	rl_procs_stop(r->relay);
	rl_procs_stop(r->callee);
	munmap(r->s, sizeof(*r->s));
}

int rl_floor_ring3(const struct rl_floor_params *p, unsigned batch, unsigned window,
		   double *samples, size_t max)
{
	struct ring3 r;
	int n = ring3_start(&r, p);

	if (n)
		return n;
	if (window)
		n = measure_window(&r.e, p, window, samples, max);
	else
		n = measure_batches(&r.e, p, batch, samples, max);
	ring3_stop(&r);
	return n;
}

/* Batch round trips in the phase's slots only; each kept sample with its slot. */
static int measure_shared(struct ep *e, struct rl_floor_phase *ph)
{
	uint64_t tag = 0;
	size_t n = 0;

	while (n < ph->max && rl_share_enter(&ph->share)) {
		double t;
		int rc = timed_round_trip(e, ph->batch, &tag, &t);
		if (rc)
			return rc;
		if (rl_share_keep(&ph->share)) {
			ph->samples[n] = t;
			ph->slots[n++] = (uint32_t)ph->share.slot;
		}
	}
	return (int)n;
}

int rl_floor_ring3_shared(const struct rl_floor_params *p, struct rl_floor_phase *ph, unsigned nph)
{
	struct ring3 r;
	int rc = ring3_start(&r, p);

	for (unsigned i = 0; i < nph; i++)
		ph[i].n = rc ? rc : measure_shared(&r.e, &ph[i]);
	if (!rc)
		ring3_stop(&r);
	return rc;
}

/* ---- the distance between two CPUs ---- */

#define LINE_BLOCK 64   /* round trips per sample */
#define LINE_SAMPLES 31 /* samples per probe (odd: one median) */

struct line_partner {
	struct shm *s;
	int cpu;
};

/* Answers each number the caller writes to word by writing it to bell: one line each way. */
static void line_partner(void *arg)
{
	struct line_partner *lp = arg;
	struct shm *s = lp->s;

	pin(lp->cpu);
	for (uint32_t want = 1;; want++) {
		while (atomic_load_explicit(&s->word, memory_order_acquire) != want)
			rl_cpu_relax();
		atomic_store_explicit(&s->bell, want, memory_order_release);
	}
}

double rl_line_round_trip(int cpu_a, int cpu_b, uint64_t tsc_hz)
{
	struct pinning pn;
	double samples[LINE_SAMPLES];

	if (cpu_a < 0 || cpu_b < 0 || cpu_a == cpu_b)
		return -EINVAL;
	struct shm *s = shm_create();
	if (!s)
		return -ENOMEM;
	struct line_partner lp = { s, cpu_b };
	pid_t pid = rl_procs_fork(line_partner, &lp);
	if (pid < 0) {
		munmap(s, sizeof(*s));
		return pid;
	}
	caller_pin(&pn, cpu_a);
	/* A partner that never gets its CPU (or died) must not hang us: give it a second. */
	uint64_t give_up = rl_tsc_begin() + tsc_hz;
	int err = 0;
	uint32_t v = 0;
	for (unsigned k = 0; k < LINE_SAMPLES + 2 && !err; k++) {
		uint64_t t0 = rl_tsc_begin();
		for (unsigned i = 0; i < LINE_BLOCK && !err; i++) {
			atomic_store_explicit(&s->word, ++v, memory_order_release);
			for (unsigned spins = 0; atomic_load_explicit(&s->bell, memory_order_acquire) != v; spins++) {
				rl_cpu_relax();
				if ((spins & 4095) == 4095 && rl_tsc_begin() > give_up)
					err = -ETIMEDOUT;
				if (err)
					break;
			}
		}
		uint64_t t1 = rl_tsc_end();
		if (k >= 2) /* two blocks of warm-up */
			samples[k - 2] = (double)(t1 - t0) / LINE_BLOCK;
	}
	caller_unpin(&pn);
	rl_procs_stop(pid);
	munmap(s, sizeof(*s));
	if (err)
		return err;
	struct rl_stats st;
	rl_stats_compute(samples, LINE_SAMPLES, &st);
	return st.median;
}

/* ---- kernel-mediated floors ---- */

static void futex_partner(void *arg)
{
	struct shm *s = arg;

	/* Requests are odd, replies the next even number; wait for our turn, always sleeping. */
	for (uint32_t want = 1;; want += 2) {
		uint32_t v;
		while ((v = atomic_load(&s->word)) != want)
			rl_futex_wait(&s->word, v, NULL);
		atomic_store(&s->word, want + 1);
		rl_futex_wake(&s->word, 1);
	}
}

int rl_floor_futex(const struct rl_floor_params *p, double *samples, size_t max)
{
	struct shm *s = shm_create();
	size_t n = p->iterations < max ? p->iterations : max;

	if (!s)
		return -ENOMEM;
	pid_t pid = rl_procs_fork(futex_partner, s);
	if (pid < 0) {
		munmap(s, sizeof(*s));
		return pid;
	}
	uint32_t req = 1;
	int err = 0;
	for (size_t i = 0; i < p->warmup + n && !err; i++, req += 2) {
		const struct timespec second = { 1, 0 };
		uint64_t t0 = rl_tsc_begin();
		atomic_store(&s->word, req);
		rl_futex_wake(&s->word, 1);
		uint32_t v;
		while ((v = atomic_load(&s->word)) != req + 1) {
			if (rl_futex_wait(&s->word, v, &second) == -ETIMEDOUT &&
			    waitpid(pid, NULL, WNOHANG) != 0) {
				err = -EPIPE;
				break;
			}
		}
		uint64_t t1 = rl_tsc_end();
		if (i >= p->warmup)
			samples[i - p->warmup] = (double)(t1 - t0);
	}
	rl_procs_stop(pid);
	munmap(s, sizeof(*s));
	return err ? err : (int)n;
}

struct fd_partner {
	int in, out;
};

static void echo_partner(void *arg)
{
	struct fd_partner *f = arg;
	char buf[MSG_BYTES];

	for (;;) {
		size_t got = 0;
		while (got < sizeof(buf)) {
			ssize_t r = read(f->in, buf + got, sizeof(buf) - got);
			if (r <= 0)
				_exit(r == 0 ? 0 : 1);
			got += (size_t)r;
		}
		if (write(f->out, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			_exit(1);
	}
}

static int echo_round_trips(const struct rl_floor_params *p, int to, int from, double *samples,
			    size_t max)
{
	char buf[MSG_BYTES] = { 0 };
	size_t n = p->iterations < max ? p->iterations : max;

	for (size_t i = 0; i < p->warmup + n; i++) {
		uint64_t t0 = rl_tsc_begin();
		if (write(to, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return -EPIPE;
		size_t got = 0;
		while (got < sizeof(buf)) {
			ssize_t r = read(from, buf + got, sizeof(buf) - got);
			if (r <= 0)
				return -EPIPE;
			got += (size_t)r;
		}
		uint64_t t1 = rl_tsc_end();
		if (i >= p->warmup)
			samples[i - p->warmup] = (double)(t1 - t0);
	}
	return (int)n;
}

/* Runs the echo partner on (partner_in, partner_out); we talk over (to, from). */
static int echo_floor(const struct rl_floor_params *p, int fds[4], double *samples, size_t max)
{
	struct fd_partner f = { fds[2], fds[3] };
	pid_t pid = rl_procs_fork(echo_partner, &f);
	int n;

	close(fds[2]);
	close(fds[3]);
	n = pid < 0 ? pid : echo_round_trips(p, fds[0], fds[1], samples, max);
	close(fds[0]);
	close(fds[1]);
	if (pid > 0)
		rl_procs_stop(pid);
	return n;
}

int rl_floor_pipe(const struct rl_floor_params *p, double *samples, size_t max)
{
	int req[2], rep[2];

	if (pipe2(req, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(rep, O_CLOEXEC) < 0) {
		int err = -errno;
		close(req[0]);
		close(req[1]);
		return err;
	}
	/* we write req[1] and read rep[0]; the partner reads req[0] and writes rep[1] */
	int fds[4] = { req[1], rep[0], req[0], rep[1] };
	return echo_floor(p, fds, samples, max);
}

int rl_floor_unix(const struct rl_floor_params *p, double *samples, size_t max)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	int partner = dup(sv[1]);
	int mine = dup(sv[0]);
	if (partner < 0 || mine < 0) {
		int err = -errno;
		close(sv[0]);
		close(sv[1]);
		if (partner >= 0)
			close(partner);
		if (mine >= 0)
			close(mine);
		return err;
	}
	int fds[4] = { sv[0], mine, sv[1], partner };
	return echo_floor(p, fds, samples, max);
}
