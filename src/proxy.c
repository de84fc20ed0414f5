// SPDX-License-Identifier: MIT
/*
 * The call path: the broker's proxy thread drains every domain's tx ring,
 * validates each message from a private copy, moves ownership, records a
 * continuation and forwards; replies retrace the path. Everything a domain
 * wrote is untrusted, and a rejected message hurts only its sender: it gets
 * a completion with a negative errno and the RL_MSG_F_BROKER flag.
 *
 * Validation is two-phase: first every argument (and every object of every
 * nested graph) is checked without changing anything, then ownership moves
 * and loans are committed. A rejected call leaves the registry untouched.
 *
 * With more than one proxy thread (`broker: {threads: N}`), thread k (from
 * 0) drains the tx rings of domains k + 1, k + 1 + N, ...: it copies a batch in
 * unlocked, validates and stages it under call_lock, writes the stage into
 * rx rings under each ring's rx_lock and publishes what it wrote. Deaths,
 * restarts and mailbox commands are thread 0's, done while the others wait
 * at the top of their pass (quiesce), so recovery sees the state it sees
 * with one thread. docs/design.md, "Proxy threads".
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "broker.h"

#define DRAIN_BATCH 64

/*
 * Statistics have one writer at a time (one proxy thread, or whoever holds
 * call_lock); `redleaf ps` reads them from the event thread. A plain load
 * and store is enough and avoids a locked read-modify-write on every call.
 */
static inline void stat_add(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void stat_inc(_Atomic uint64_t *counter)
{
	stat_add(counter, 1);
}

/* ---- delivery ---- */

static void backlog_push(struct broker *b, struct domain *d, const struct rl_msg *m)
{
	struct backlog *q = &d->backlog;

	if (q->tail - q->head == q->size) {
		uint32_t nsize = q->size ? q->size * 2 : 64;
		if (nsize > RL_BACKLOG_MAX) {
			/* The domain stopped consuming: it is stuck or hostile. End it. */
			rl_broker_log(b, "%s: rx backlog over %u messages; killing it", d->name,
				      RL_BACKLOG_MAX);
			snprintf(d->kill_reason, sizeof(d->kill_reason), "stopped reading its ring");
			if (d->pidfd >= 0)
				syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0);
			return;
		}
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
	stat_inc(&d->backlogged); /* under rx_lock with more than one proxy thread */
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

static void flush_backlog(struct domain *d)
{
	struct backlog *q = &d->backlog;

	while (q->head != q->tail && rl_ring_write(&d->rx, &q->q[q->head % q->size])) {
		q->head++;
		d->rx_dirty = true;
	}
}

static void publish(struct domain *d)
{
	if (!d->rx_dirty)
		return;
	d->rx_dirty = false;
	if (rl_ring_publish(&d->rx))
		rl_ring_wake(d->rx.ring);
}

/* local-exec: the broker's library is linked into executables only, so no __tls_get_addr. */
#define PROXY_TLS _Thread_local __attribute__((tls_model("local-exec")))

/*
 * Outgoing messages are built in a private stage and go to the rings in
 * one tight loop (stage_flush) every RL_RING_FORWARD_PUBLISH messages, so a
 * stream still reaches its consumer in pieces, and at the end of each batch
 * a domain's tx ring gave us. Writing a slot takes its line from
 * the consumer's CPU; done in the middle of validating, each such transfer
 * stalled every store behind it, while in a loop of copies they overlap.
 * Each proxy thread has its own stage. Whoever fills an entry sets its
 * first 32 bytes, and all 64 with RL_MSG_F_LONG (set when an argument word
 * past the first may be non-zero): entries are reused across domains, and
 * only a long entry's second half goes out.
 */
static PROXY_TLS struct {
	_Alignas(64) struct rl_msg msg[RL_RING_FORWARD_PUBLISH];
	struct domain *to[RL_RING_FORWARD_PUBLISH];
	unsigned n;
	bool mixed;    /* entries for more than one domain */
	uint8_t flags; /* every entry's flags together */
} stage;

/* With more than one proxy thread: the rx rings this thread wrote since it last published. */
static PROXY_TLS struct {
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
static void publish_touched(struct broker *b)
{
	unsigned keep = 0;

	for (unsigned k = 0; k < touched.n; k++) {
		struct domain *d = &b->dom[touched.id[k]];
		bool waiting = false;
		pthread_mutex_lock(&d->rx_lock);
		if (atomic_load_explicit(&d->state, memory_order_relaxed) == DOM_RUNNING) {
			if (d->backlog.head != d->backlog.tail)
				flush_backlog(d);
			publish(d);
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
			memcpy(rl_ring_at(ring, tail++), &stage.msg[k], RL_UNIT_BYTES);
		rl_ring_commit(&d->rx, j - i);
		d->rx_dirty = true;
	} else {
		for (unsigned k = i; k < j; k++)
			put(b, d, &stage.msg[k]);
	}
	if (rl_ring_unpublished(&d->rx) >= RL_RING_FORWARD_PUBLISH)
		rl_ring_publish_quiet(&d->rx);
}

/* The end of the run of stage entries for the same domain as entry i, and their flags together. */
static inline unsigned stage_run_end(unsigned i, uint8_t *flags)
{
	unsigned j = i + 1;

	*flags = stage.msg[i].flags;
	while (j < stage.n && stage.to[j] == stage.to[i])
		*flags |= stage.msg[j++].flags;
	return j;
}

static inline void stage_reset(void)
{
	stage.n = 0;
	stage.mixed = false;
	stage.flags = 0;
}

/* stage_flush() with more than one proxy thread: each run of entries for one ring under its lock. */
static __attribute__((noinline)) void stage_flush_locked(struct broker *b)
{
	for (unsigned i = 0, j; i < stage.n; i = j) {
		struct domain *d = stage.to[i];
		uint8_t flags;
		j = stage_run_end(i, &flags);
		pthread_mutex_lock(&d->rx_lock);
		touch(d);
		stage_put_run(b, d, i, j, flags);
		pthread_mutex_unlock(&d->rx_lock);
	}
	stage_reset();
}

static void stage_flush(struct broker *b)
{
	if (b->nworkers > 1)
		return stage_flush_locked(b);
	if (!stage.mixed) { /* the common case: one run, its flags known */
		if (stage.n)
			stage_put_run(b, stage.to[0], 0, stage.n, stage.flags);
	} else {
		for (unsigned i = 0, j; i < stage.n; i = j) {
			uint8_t flags;
			j = stage_run_end(i, &flags);
			stage_put_run(b, stage.to[i], i, j, flags);
		}
	}
	stage_reset();
}

/* The stage entry to build d's next message in; deliver_done() queues it. */
static struct rl_msg *deliver_slot(struct broker *b, struct domain *d)
{
	if (stage.n == RL_RING_FORWARD_PUBLISH)
		stage_flush(b);
	stage.to[stage.n] = d;
	stage.mixed |= d != stage.to[0];
	return &stage.msg[stage.n];
}

static void deliver_done(void)
{
	stage.flags |= stage.msg[stage.n].flags;
	stage.n++;
}

/* Queues a copy of m for d, short (one ring unit) unless an argument word past the first is set. */
static void deliver(struct broker *b, struct domain *d, const struct rl_msg *m)
{
	struct rl_msg *s = deliver_slot(b, d);

	*s = *m;
	s->flags &= (uint8_t)~RL_MSG_F_LONG;
	if (m->arg[1] | m->arg[2] | m->arg[3] | m->arg[4])
		s->flags |= RL_MSG_F_LONG;
	deliver_done();
}

/* The hot path's own copies of small helpers recovery.c also calls: no call, no register spills. */
#define HOT static inline __attribute__((always_inline))

HOT void complete(struct broker *b, struct domain *caller, uint64_t tag, int status, uint64_t ret,
		  uint8_t flags)
{
	if (atomic_load_explicit(&caller->state, memory_order_relaxed) != DOM_RUNNING)
		return;
	struct rl_msg *m = deliver_slot(b, caller);
	m->kind = RL_MSG_COMPLETE;
	m->flags = flags & (uint8_t)~RL_MSG_F_LONG; /* short: arg[1..4] are not sent */
	m->method = 0;
	m->cap = 0;
	m->tag = tag;
	m->status = status;
	m->aux = 0;
	m->arg[0] = ret;
	deliver_done();
}

void rl_proxy_complete(struct broker *b, struct domain *caller, uint64_t tag, int status,
		       uint64_t ret, uint8_t flags)
{
	complete(b, caller, tag, status, ret, flags);
}

static void reject(struct broker *b, struct domain *d, const struct rl_msg *m, int err)
{
	/* A dead, restarted or busy callee is an answer, not a bad message: not counted. */
	if (err != -EHOSTDOWN && err != -ESTALE && err != -EAGAIN)
		stat_inc(&d->rejected);
	struct rl_msg c = {
		.kind = m->kind == RL_MSG_SYS ? RL_MSG_SYS_DONE : RL_MSG_COMPLETE,
		.flags = RL_MSG_F_BROKER,
		.method = m->method,
		.tag = m->tag,
		.status = err,
	};
	deliver(b, d, &c);
}

/* ---- capabilities ---- */

/*
 * The entry a handle names, or NULL with *err: -EBADF for a handle that was
 * never valid, -ESTALE for one refreshed since (its domain was restarted).
 */
static struct cap_entry *cap_resolve(struct domain *d, rl_cap cap, int *err)
{
	uint32_t idx = cap & 0xffff;
	uint16_t gen = (uint16_t)(cap >> 16);

	*err = -EBADF;
	if (idx >= RL_MAX_CAPS)
		return NULL;
	struct cap_entry *c = &d->caps[idx];
	if (!c->used)
		return NULL;
	if (c->gen != gen) {
		/* Issued for this slot before (generations only grow): outdated, not forged. */
		if (gen && (uint16_t)(c->gen - gen) < 0x8000)
			*err = -ESTALE;
		return NULL;
	}
	return c;
}

static struct cap_entry *cap_lookup(struct domain *d, rl_cap cap)
{
	int err;
	return cap_resolve(d, cap, &err);
}

/* Installs (or finds) an entry in d's table; returns the handle or RL_CAP_INVALID. */
rl_cap rl_proxy_cap_grant(struct domain *d, uint16_t target, uint8_t export_index, uint16_t iface)
{
	int free_idx = -1;

	uint32_t incarnation = d->broker->dom[target].incarnation;

	for (unsigned i = 0; i < RL_MAX_CAPS; i++) {
		struct cap_entry *c = &d->caps[i];
		if (c->used && c->target == target && c->export_index == export_index) {
			if (c->incarnation != incarnation) { /* refresh an entry to an older incarnation */
				c->gen = (uint16_t)(c->gen + 1) ? (uint16_t)(c->gen + 1) : 1;
				c->incarnation = incarnation;
			}
			return (rl_cap)i | ((rl_cap)c->gen << 16);
		}
		if (!c->used && free_idx < 0)
			free_idx = (int)i;
	}
	if (free_idx < 0)
		return RL_CAP_INVALID;
	struct cap_entry *c = &d->caps[free_idx];
	c->gen = (uint16_t)(c->gen + 1) ? (uint16_t)(c->gen + 1) : 1;
	c->used = 1;
	c->target = target;
	c->export_index = export_index;
	c->iface = iface;
	c->incarnation = incarnation;
	return (rl_cap)free_idx | ((rl_cap)c->gen << 16);
}

/* ---- ownership ---- */

struct graph {
	uint32_t slot[RL_MAX_GRAPH];
	uint16_t type[RL_MAX_GRAPH]; /* type to stamp */
	unsigned n;
};

static bool graph_has(const struct graph *g, uint32_t slot)
{
	for (unsigned i = 0; i < g->n; i++)
		if (g->slot[i] == slot)
			return true;
	return false;
}

static int check_type(const struct rl_obj *o, uint16_t type_id)
{
	if (!type_id || type_id >= rl_idl_ntypes)
		return -EPROTO;
	const struct rl_type_desc *t = &rl_idl_types[type_id];
	if (o->type_id && o->type_id != type_id)
		return -EPROTOTYPE;
	if (t->size > rl_class_size(o->cls))
		return -EMSGSIZE;
	return 0;
}

static uint64_t read_word(const struct rl_heap *h, uint32_t slot, uint64_t off)
{
	const volatile uint64_t *p =
		(const volatile uint64_t *)((const uint8_t *)rl_heap_slot_ptr(h, slot) + off);
	return *p; /* one load: the owner may be rewriting it right now */
}

/*
 * Collects the object graph rooted at root (type type_id) owned by owner.
 * Every object must be owned by owner, not lent out, of the declared type
 * (or untyped and large enough) and reachable only once.
 */
static int graph_collect(struct broker *b, uint16_t owner, uint16_t type_id, rl_rref root,
			 struct graph *g)
{
	struct {
		uint32_t slot;
		uint16_t type;
	} stack[RL_MAX_GRAPH];
	unsigned sp = 0;
	int err = 0;

	g->n = 0;
	if (rl_rref_is_null(root))
		return -EINVAL;
	struct rl_obj *o = rl_registry_resolve(&b->heap, root, &err);
	if (!o)
		return err;
	stack[sp].slot = root.slot;
	stack[sp++].type = type_id;

	while (sp) {
		uint32_t slot = stack[--sp].slot;
		uint16_t tid = stack[sp].type;
		o = &b->heap.objs[slot];
		if (o->state != RL_OBJ_OWNED || o->owner != owner)
			return -EPERM;
		if (o->borrows)
			return -EPERM; /* lent out: cannot move until the loans end */
		if ((err = check_type(o, tid)))
			return err;
		if (graph_has(g, slot))
			return -EINVAL; /* reachable twice: not a single-owner graph */
		if (g->n == RL_MAX_GRAPH)
			return -E2BIG;
		g->slot[g->n] = slot;
		g->type[g->n++] = tid;

		const struct rl_type_desc *t = &rl_idl_types[tid];
		if (!t->n_rrefs)
			continue;
		uint64_t base = 0, count = 1, stride = 0, first = 0, wrap = 0;
		uint32_t cap_bytes = rl_class_size(o->cls);
		if (t->kind == RL_TYPE_VEC || t->kind == RL_TYPE_DEQUE) {
			uint64_t hdr = read_word(&b->heap, slot, 0);
			uint32_t a = (uint32_t)hdr, z = (uint32_t)(hdr >> 32);
			uint64_t fits = t->elem_size ? (cap_bytes - RL_CONTAINER_HDR) / t->elem_size : 0;
			base = RL_CONTAINER_HDR;
			stride = t->elem_size;
			if (t->kind == RL_TYPE_VEC) {
				count = a < fits ? a : fits; /* len clamped to what the slot holds */
			} else {
				/* live elements are head .. tail-1, at index % N; clamp to N */
				uint32_t live = z - a;
				count = live < t->capacity ? live : t->capacity;
				first = a;
				wrap = t->capacity;
			}
		}
		for (uint64_t i = 0; i < count; i++) {
			uint64_t e = wrap ? (first + i) % wrap : i;
			for (unsigned k = 0; k < t->n_rrefs; k++) {
				uint64_t w = read_word(&b->heap, slot, base + e * stride + t->rrefs[k].offset);
				rl_rref r = rl_rref_from_wire(w);
				if (rl_rref_is_null(r))
					continue;
				if (!rl_registry_resolve(&b->heap, r, &err))
					return err;
				if (sp == RL_MAX_GRAPH)
					return -E2BIG;
				stack[sp].slot = r.slot;
				stack[sp++].type = t->rrefs[k].type_id;
			}
		}
	}
	return 0;
}

static void graph_move(struct broker *b, const struct graph *g, uint16_t to)
{
	for (unsigned i = 0; i < g->n; i++) {
		rl_registry_set_owner(&b->heap, g->slot[i], to);
		b->heap.objs[g->slot[i]].type_id = g->type[i];
	}
}

void rl_proxy_free_graph(struct broker *b, uint16_t owner, uint16_t type_id, rl_rref root)
{
	struct graph g;

	if (graph_collect(b, owner, type_id, root, &g))
		return;
	for (unsigned i = 0; i < g.n; i++)
		rl_registry_free(&b->heap, g.slot[i]);
}

/* Is slot lent to d by a call d is serving right now? (re-lending a borrowed object) */
static bool holds_loan(struct broker *b, const struct domain *d, uint32_t slot)
{
	for (uint32_t i = d->loans_head; i != UINT32_MAX; i = b->conts[i].loan_next) {
		const struct cont *c = &b->conts[i];
		for (unsigned k = 0; k < c->nborrow; k++)
			if (c->borrow[k] == slot)
				return true;
	}
	return false;
}

static void loan_link(struct broker *b, struct domain *callee, uint32_t idx)
{
	struct cont *c = &b->conts[idx];
	c->loan_prev = UINT32_MAX;
	c->loan_next = callee->loans_head;
	if (callee->loans_head != UINT32_MAX)
		b->conts[callee->loans_head].loan_prev = idx;
	callee->loans_head = idx;
}

static void loan_unlink(struct broker *b, uint32_t idx)
{
	struct cont *c = &b->conts[idx];
	struct domain *callee = &b->dom[c->callee];
	if (c->loan_prev != UINT32_MAX)
		b->conts[c->loan_prev].loan_next = c->loan_next;
	else
		callee->loans_head = c->loan_next;
	if (c->loan_next != UINT32_MAX)
		b->conts[c->loan_next].loan_prev = c->loan_prev;
}

/* ---- scalars ---- */

static int check_scalar(uint8_t kind, uint64_t v)
{
	switch (kind) {
	case RL_PARAM_U8:
	case RL_PARAM_I8:
		return v >> 8 ? -EINVAL : 0;
	case RL_PARAM_U16:
	case RL_PARAM_I16:
		return v >> 16 ? -EINVAL : 0;
	case RL_PARAM_U32:
	case RL_PARAM_I32:
		return v >> 32 ? -EINVAL : 0;
	case RL_PARAM_U64:
	case RL_PARAM_I64:
		return 0;
	case RL_PARAM_BOOL:
		return v > 1 ? -EINVAL : 0;
	default:
		return -EPROTO;
	}
}

/* ---- continuations ---- */

static uint32_t cont_alloc(struct broker *b)
{
	uint32_t idx = b->cont_free;

	if (idx == UINT32_MAX)
		return idx;
	struct cont *c = &b->conts[idx];
	b->cont_free = c->next_free;
	c->used = 1;
	c->caller_dead = 0;
	c->nborrow = 0;
	return idx;
}

HOT void free_cont(struct broker *b, uint32_t idx)
{
	struct cont *c = &b->conts[idx];

	if (c->nborrow)
		loan_unlink(b, idx);
	for (unsigned k = 0; k < c->nborrow; k++) {
		rl_registry_unborrow(&b->heap, c->borrow[k]);
		b->expected_borrows[c->borrow[k]]--;
	}
	c->nborrow = 0;
	c->used = 0;
	c->gen++;
	c->next_free = b->cont_free;
	b->cont_free = idx;
}

void rl_proxy_free_cont(struct broker *b, uint32_t idx)
{
	free_cont(b, idx);
}

static struct cont *cont_from_tag(struct broker *b, uint64_t tag, uint32_t *idx)
{
	uint32_t i = (uint32_t)tag;

	if (i >= RL_MAX_CONTS)
		return NULL;
	struct cont *c = &b->conts[i];
	if (!c->used || c->gen != (uint32_t)(tag >> 32))
		return NULL;
	*idx = i;
	return c;
}

/* ---- calls ---- */

/*
 * What the last call in a drained batch resolved its capability and method
 * to, and what checking the method's parameters takes. The next call
 * through the same handle and method skips those lookups: a batch of calls
 * is validated as a batch. It stays right only while nothing changes the
 * sender's capability table or a callee's incarnation, so drain() forgets
 * it before every message that is not a call, and do_call() after a call
 * that grants capabilities; restarts and deaths happen between drains.
 */
enum param_checks {
	CHECK_NONE,    /* only 64-bit scalars: nothing to check */
	CHECK_SCALARS, /* narrower scalars: range checks only */
	CHECK_OBJECTS, /* RRefs, loans or capabilities: the two-phase path */
};

/* What a route is for, as one word: the capability and method, or 0 for none. */
static inline uint64_t route_key(const struct rl_msg *m)
{
	return 1ull << 63 | (uint64_t)m->cap << 16 | m->method;
}

struct route {
	uint64_t key; /* route_key() of the call it resolved, 0 = nothing */
	uint8_t checks; /* enum param_checks */
	uint32_t committed; /* calls forwarded to callee, not yet in the statistics (route_count) */
	const struct cap_entry *ce;
	const struct rl_method_desc *md;
	struct domain *callee;
};

/* Adds the calls forwarded along r to the caller's and callee's statistics: once per route and batch. */
static void route_count(struct domain *d, struct route *r)
{
	if (r->committed) {
		stat_add(&d->calls_out, r->committed);
		stat_add(&r->callee->calls_in, r->committed);
		r->committed = 0;
	}
}

/* Resolves m's capability and method into r, or returns the errno to reject m with. */
static int route_resolve(struct broker *b, struct domain *d, const struct rl_msg *m, struct route *r)
{
	int err;

	route_count(d, r); /* before r->callee changes */
	const struct cap_entry *cap = cap_resolve(d, m->cap, &err);

	if (!cap)
		return err;
	if (!cap->iface || cap->iface >= rl_idl_nifaces)
		return -EBADF;
	const struct rl_iface_desc *iface = &rl_idl_ifaces[cap->iface];
	if (m->method >= iface->nmethods)
		return -ENOSYS;
	struct domain *callee = &b->dom[cap->target];
	if (cap->incarnation != callee->incarnation)
		return -ESTALE; /* granted before a restart: look the import up again */
	const struct rl_method_desc *md = &iface->methods[m->method];
	r->checks = CHECK_NONE;
	for (unsigned i = 0; i < md->nparams; i++) {
		uint8_t k = md->params[i].kind;
		if (k == RL_PARAM_RREF || k == RL_PARAM_RREF_BORROW || k == RL_PARAM_CAP)
			r->checks = CHECK_OBJECTS;
		else if (k != RL_PARAM_U64 && k != RL_PARAM_I64 && r->checks == CHECK_NONE)
			r->checks = CHECK_SCALARS;
	}
	r->key = route_key(m);
	r->ce = cap;
	r->md = md;
	r->callee = callee;
	return 0;
}

/*
 * The last step of every accepted call: records continuation ci (its
 * loans already in place) and queues the invocation with args for the
 * callee.
 */
HOT void call_commit(struct broker *b, struct domain *d, const struct rl_msg *m,
		     struct route *rt, uint32_t ci, const uint64_t *args)
{
	struct cont *c = &b->conts[ci];
	struct domain *callee = rt->callee;

	c->caller = d->id;
	c->callee = callee->id;
	if (c->nborrow)
		loan_link(b, callee, ci);
	c->iface = rt->ce->iface;
	c->method = m->method;
	c->md = rt->md;
	c->caller_tag = m->tag;
	d->outstanding++;
	rt->committed++;

	struct rl_msg *fwd = deliver_slot(b, callee);
	fwd->kind = RL_MSG_INVOKE;
	fwd->method = m->method;
	fwd->cap = rt->ce->export_index;
	fwd->status = 0;
	fwd->aux = rt->ce->iface;
	fwd->tag = ((uint64_t)c->gen << 32) | ci;
	fwd->arg[0] = args[0];
	/* Short for methods of at most one word; else word by word (the compiler's memcpy is a slow rep movs). */
	static_assert(RL_MSG_ARGS == 5, "one store per argument word below");
	if (rt->md->nparams > 1) {
		fwd->flags = RL_MSG_F_LONG;
		fwd->arg[1] = args[1];
		fwd->arg[2] = args[2];
		fwd->arg[3] = args[3];
		fwd->arg[4] = args[4];
	} else {
		fwd->flags = 0;
	}
	deliver_done();
}

/* A call whose arguments carry objects or capabilities: check everything, then commit. */
static void do_call_objects(struct broker *b, struct domain *d, const struct rl_msg *m,
			    struct route *rt)
{
	struct graph moves[RL_MSG_ARGS];
	uint32_t borrows[RL_MSG_ARGS];
	unsigned nmoves = 0, nborrows = 0;
	uint64_t args[RL_MSG_ARGS] = { 0 };
	const struct rl_method_desc *md = rt->md;
	struct domain *callee = rt->callee;
	int err;

	/* Phase 1: check everything, change nothing. */
	for (unsigned i = 0; i < md->nparams; i++) {
		const struct rl_param_desc *p = &md->params[i];
		uint64_t v = m->arg[i];
		args[i] = v;
		switch (p->kind) {
		case RL_PARAM_RREF:
			err = graph_collect(b, d->id, p->id, rl_rref_from_wire(v), &moves[nmoves]);
			if (err)
				return reject(b, d, m, err);
			/* The same object as two moved arguments is a double move. */
			for (unsigned k = 0; k < nmoves; k++)
				for (unsigned j = 0; j < moves[nmoves].n; j++)
					if (graph_has(&moves[k], moves[nmoves].slot[j]))
						return reject(b, d, m, -EINVAL);
			nmoves++;
			break;
		case RL_PARAM_RREF_BORROW: {
			rl_rref r = rl_rref_from_wire(v);
			struct rl_obj *o = rl_registry_resolve(&b->heap, r, &err);
			if (!o)
				return reject(b, d, m, err);
			bool mine = o->state == RL_OBJ_OWNED && o->owner == d->id;
			if (!mine && !holds_loan(b, d, r.slot))
				return reject(b, d, m, -EPERM);
			if ((err = check_type(o, p->id)))
				return reject(b, d, m, err);
			if (o->borrows == UINT16_MAX)
				return reject(b, d, m, -EAGAIN);
			for (unsigned k = 0; k < nmoves; k++)
				if (graph_has(&moves[k], r.slot))
					return reject(b, d, m, -EINVAL);
			borrows[nborrows++] = r.slot;
			break;
		}
		case RL_PARAM_CAP: {
			struct cap_entry *c = cap_lookup(d, (rl_cap)v);
			if (v > UINT32_MAX || !c)
				return reject(b, d, m, -EBADF);
			if (c->iface != p->id)
				return reject(b, d, m, -EPROTOTYPE);
			if (c->incarnation != b->dom[c->target].incarnation)
				return reject(b, d, m, -ESTALE);
			break;
		}
		default:
			if ((err = check_scalar(p->kind, v)))
				return reject(b, d, m, err);
		}
	}
	/* Borrowed objects must not also travel in a moved graph. */
	for (unsigned i = 0; i < nborrows; i++)
		for (unsigned k = 0; k < nmoves; k++)
			if (graph_has(&moves[k], borrows[i]))
				return reject(b, d, m, -EINVAL);

	uint32_t ci = cont_alloc(b);
	if (ci == UINT32_MAX)
		return reject(b, d, m, -EAGAIN);

	/* Phase 2: commit. Capabilities first: the only step that can still fail. */
	for (unsigned i = 0; i < md->nparams; i++) {
		if (md->params[i].kind != RL_PARAM_CAP)
			continue;
		rt->key = 0; /* a grant may refresh entries of a table the route came from */
		struct cap_entry *c = cap_lookup(d, (rl_cap)args[i]);
		rl_cap h = rl_proxy_cap_grant(callee, c->target, c->export_index, c->iface);
		if (h == RL_CAP_INVALID) {
			rl_proxy_free_cont(b, ci);
			return reject(b, d, m, -ENOSPC);
		}
		args[i] = h;
	}
	for (unsigned k = 0; k < nmoves; k++)
		graph_move(b, &moves[k], callee->id);
	struct cont *c = &b->conts[ci];
	for (unsigned i = 0; i < nborrows; i++) {
		struct rl_obj *o = &b->heap.objs[borrows[i]];
		o->borrows++;
		b->expected_borrows[borrows[i]]++;
		c->borrow[c->nborrow++] = borrows[i];
	}
	/* A loan stamps the type too: the callee reads the object as that type. */
	for (unsigned i = 0; i < md->nparams; i++)
		if (md->params[i].kind == RL_PARAM_RREF_BORROW) {
			struct rl_obj *o = &b->heap.objs[rl_rref_from_wire(args[i]).slot];
			if (!o->type_id)
				o->type_id = md->params[i].id;
		}
	call_commit(b, d, m, rt, ci, args);
}

/* Argument words a method of n parameters forwards (the rest go out as zeros). */
static const uint64_t arg_keep[RL_MSG_ARGS + 1][RL_MSG_ARGS] = {
	{ 0, 0, 0, 0, 0 },
	{ ~0ull, 0, 0, 0, 0 },
	{ ~0ull, ~0ull, 0, 0, 0 },
	{ ~0ull, ~0ull, ~0ull, 0, 0 },
	{ ~0ull, ~0ull, ~0ull, ~0ull, 0 },
	{ ~0ull, ~0ull, ~0ull, ~0ull, ~0ull },
};

HOT void do_call(struct broker *b, struct domain *d, const struct rl_msg *m, struct route *rt)
{
	int err;

	if (rt->key != route_key(m)) {
		if ((err = route_resolve(b, d, m, rt))) {
			rt->key = 0;
			return reject(b, d, m, err);
		}
	}
	struct domain *callee = rt->callee;
	if (atomic_load_explicit(&callee->state, memory_order_relaxed) != DOM_RUNNING ||
	    atomic_load_explicit(&callee->death_pending, memory_order_relaxed))
		return reject(b, d, m, -EHOSTDOWN);
	if (d->outstanding >= RL_MAX_OUTSTANDING)
		return reject(b, d, m, -EAGAIN);
	if (rt->checks == CHECK_OBJECTS)
		return do_call_objects(b, d, m, rt);

	/* Scalars only: check what needs it; nothing to commit but the continuation. */
	const struct rl_method_desc *md = rt->md;
	static_assert(RL_MSG_ARGS == 5, "one mask per argument word below");
	const uint64_t *keep = arg_keep[md->nparams];
	uint64_t args[RL_MSG_ARGS];
	args[0] = m->arg[0] & keep[0];
	if (md->nparams > 1) /* call_commit() reads the later words only then */
		for (unsigned i = 1; i < RL_MSG_ARGS; i++)
			args[i] = m->arg[i] & keep[i];
	if (rt->checks == CHECK_SCALARS)
		for (unsigned i = 0; i < md->nparams; i++)
			if ((err = check_scalar(md->params[i].kind, args[i])))
				return reject(b, d, m, err);
	uint32_t ci = cont_alloc(b);
	if (ci == UINT32_MAX)
		return reject(b, d, m, -EAGAIN);
	call_commit(b, d, m, rt, ci, args);
}

HOT void do_reply(struct broker *b, struct domain *d, const struct rl_msg *m)
{
	uint32_t ci;
	struct cont *c = cont_from_tag(b, m->tag, &ci);

	if (!c || c->callee != d->id) {
		/* A reply to nothing: forged or duplicated. Nobody to complete; count it. */
		stat_inc(&d->rejected);
		return;
	}
	d->served = true;
	if (d->awaiting_service)
		rl_recovery_serving(b, d);
	const struct rl_method_desc *md = c->md;
	struct domain *caller = &b->dom[c->caller];
	int status = m->status;
	uint8_t flags = 0;
	uint64_t ret = 0;

	if (status > 0 || status < -4095) {
		status = -EPROTO;
		flags = RL_MSG_F_BROKER;
		stat_inc(&d->rejected);
	} else if (!status && md->result.kind != RL_PARAM_NONE) {
		int err = 0;
		uint64_t v = m->arg[0];
		struct graph g;
		switch (md->result.kind) {
		case RL_PARAM_RREF:
			err = graph_collect(b, d->id, md->result.id, rl_rref_from_wire(v), &g);
			if (!err) {
				if (c->caller_dead) {
					for (unsigned i = 0; i < g.n; i++)
						rl_registry_free(&b->heap, g.slot[i]);
					rl_broker_log(b, "%s: reply to dead %s discarded; %u returned object(s) freed",
						      d->name, caller->name, g.n);
				} else {
					graph_move(b, &g, caller->id);
				}
			}
			ret = v;
			break;
		case RL_PARAM_CAP: {
			struct cap_entry *e = cap_lookup(d, (rl_cap)v);
			if (v > UINT32_MAX || !e)
				err = -EBADF;
			else if (e->iface != md->result.id)
				err = -EPROTOTYPE;
			else if (!c->caller_dead) {
				ret = rl_proxy_cap_grant(caller, e->target, e->export_index, e->iface);
				if (ret == RL_CAP_INVALID)
					err = -ENOSPC;
			}
			break;
		}
		default:
			err = check_scalar(md->result.kind, v);
			ret = v;
		}
		if (err) {
			/* The callee broke the contract: the caller learns, the callee keeps its objects. */
			status = -EPROTO;
			flags = RL_MSG_F_BROKER;
			ret = 0;
			stat_inc(&d->rejected);
		}
	}
	if (!c->caller_dead) {
		complete(b, caller, c->caller_tag, status, ret, flags);
		if (caller->outstanding)
			caller->outstanding--;
	}
	free_cont(b, ci);
}

/* ---- heap service ---- */

static void do_sys(struct broker *b, struct domain *d, const struct rl_msg *m)
{
	struct rl_msg done = { .kind = RL_MSG_SYS_DONE, .method = m->method, .tag = m->tag };

	switch (m->method) {
	case RL_SYS_REFILL: {
		uint64_t cls = m->arg[0], want = m->arg[1];
		if (cls >= RL_NCLASSES || !want || want > RL_GRANT_MAX)
			return reject(b, d, m, -EINVAL);
		unsigned n = 0;
		uint32_t slot;
		while (n < want && !rl_registry_alloc(&b->heap, (unsigned)cls, d->id, &slot))
			d->chan->ctl.grant[n++] = slot;
		done.status = n ? (int)n : -ENOMEM;
		break;
	}
	case RL_SYS_FREE: {
		uint64_t count = m->arg[0];
		uint64_t handles[RL_GRANT_MAX];
		if (count > RL_GRANT_MAX)
			return reject(b, d, m, -EINVAL);
		memcpy(handles, d->chan->ctl.give_back, count * sizeof(uint64_t));
		int freed = 0, err = 0;
		for (uint64_t i = 0; i < count; i++) {
			rl_rref r = rl_rref_from_wire(handles[i]);
			struct rl_obj *o = rl_registry_resolve(&b->heap, r, &err);
			if (!o || o->state != RL_OBJ_OWNED || o->owner != d->id || o->borrows) {
				stat_inc(&d->rejected);
				continue;
			}
			rl_registry_free(&b->heap, r.slot);
			freed++;
		}
		done.status = freed;
		break;
	}
	case RL_SYS_WAIT_ALIVE: {
		int err;
		struct cap_entry *c = cap_resolve(d, (rl_cap)m->arg[0], &err);
		if (!c && err == -ESTALE) /* a stale handle still names its slot */
			c = &d->caps[m->arg[0] & 0xffff];
		if (!c || m->arg[0] > UINT32_MAX)
			return reject(b, d, m, -EBADF);
		rl_recovery_wait_alive(b, d, m->tag, &b->dom[c->target], m->arg[1]);
		return;
	}
	case RL_SYS_AUDIT: {
		char why[256];
		done.status = rl_proxy_audit(b, why, sizeof(why));
		if (done.status)
			rl_broker_log(b, "%s: registry audit failed: %s", d->name, why);
		break;
	}
	default:
		return reject(b, d, m, -ENOSYS);
	}
	deliver(b, d, &done);
}

/* ---- the loop ---- */

/* Validation's lock, taken only with more than one proxy thread (out of line: one thread's path stays as it was). */
static __attribute__((noinline, cold)) void call_lock_take(struct broker *b)
{
	pthread_mutex_lock(&b->call_lock);
}

static __attribute__((noinline, cold)) void call_lock_drop(struct broker *b)
{
	pthread_mutex_unlock(&b->call_lock);
}

static inline void call_lock(struct broker *b)
{
	if (__builtin_expect(b->nworkers > 1, 0))
		call_lock_take(b);
}

static inline void call_unlock(struct broker *b)
{
	if (__builtin_expect(b->nworkers > 1, 0))
		call_lock_drop(b);
}

static unsigned drain(struct broker *b, struct domain *d)
{
	struct rl_msg batch[DRAIN_BATCH];
	int ready = rl_ring_ready(&d->tx);

	if (ready < 0) {
		/*
		 * Impossible tail: report it once (tag 0) and read nothing until
		 * the domain publishes a sane tail again; our head never moves.
		 */
		if (!d->tx_insane) {
			struct rl_msg bad = { .kind = RL_MSG_CALL, .tag = 0 };
			rl_broker_log(b, "%s: tx ring tail out of range; ignoring it", d->name);
			call_lock(b);
			reject(b, d, &bad, -EPROTO);
			call_unlock(b);
			stage_flush(b);
			d->tx_insane = true;
		}
		return 0;
	}
	d->tx_insane = false;
	if (!ready)
		return 0;
	/*
	 * Copy the whole batch first, in one tight loop: the domain may rewrite
	 * a slot while we validate it, and the lines' transfers from the
	 * domain's CPU overlap each other instead of each stalling its own
	 * message's validation.
	 */
	int got = rl_ring_take_many(&d->tx, batch, DRAIN_BATCH);
	unsigned n = got > 0 ? (unsigned)got : 0; /* an impossible tail is reported on the next pass */
	rl_ring_release(&d->tx);
	call_lock(b);
	struct route route = { .key = 0, .committed = 0 };
	for (unsigned i = 0; i < n; i++) {
		const struct rl_msg *m = &batch[i];
		if (m->kind == RL_MSG_CALL) {
			do_call(b, d, m, &route);
			continue;
		}
		route.key = 0;
		if (m->kind == RL_MSG_REPLY)
			do_reply(b, d, m);
		else if (m->kind == RL_MSG_SYS)
			do_sys(b, d, m);
		else
			reject(b, d, m, -EPROTO);
	}
	route_count(d, &route);
	call_unlock(b);
	stage_flush(b);
	return n;
}

/* A dead domain's last words: replies it published before dying still count. */
void rl_proxy_drain_replies(struct broker *b, struct domain *d)
{
	struct rl_msg m;
	for (unsigned n = 0; n < RL_RING_UNITS && rl_ring_take(&d->tx, &m) > 0; n++) {
		if (m.kind == RL_MSG_REPLY)
			do_reply(b, d, &m);
	}
}

void rl_proxy_sys_done(struct broker *b, struct domain *d, uint64_t tag, int status)
{
	struct rl_msg done = { .kind = RL_MSG_SYS_DONE, .tag = tag, .status = status };
	deliver(b, d, &done);
}

int rl_proxy_audit(struct broker *b, char *why, size_t whylen)
{
	bool alive[RL_MAX_DOMAINS + 1] = { false };

	/* A death already seen but not yet handled still owns its objects: finish it first. */
	for (unsigned i = 1; i <= b->ndom; i++)
		if (atomic_load(&b->dom[i].death_pending))
			rl_recovery_handle_death(b, &b->dom[i]);
	for (unsigned i = 1; i <= b->ndom; i++)
		alive[i] = atomic_load(&b->dom[i].state) == DOM_RUNNING;
	return rl_registry_audit(&b->heap, alive, b->expected_borrows, why, whylen);
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

/* The rest of d's death, if the event thread saw one; returns 1 if so. */
static unsigned death_if_pending(struct broker *b, struct domain *d)
{
	if (!atomic_load_explicit(&d->death_pending, memory_order_acquire))
		return 0;
	rl_recovery_handle_death(b, d);
	return 1;
}

unsigned rl_proxy_pass(struct broker *b, unsigned *msgs)
{
	unsigned deaths = 0;

	*msgs = 0;
	for (unsigned i = 1; i <= b->ndom; i++) {
		struct domain *d = &b->dom[i];
		deaths += death_if_pending(b, d);
		if (atomic_load_explicit(&d->state, memory_order_relaxed) == DOM_RUNNING)
			*msgs += drain(b, d);
	}
	/* What handling deaths delivered (each drain sent its own already). */
	stage_flush(b);
	for (unsigned i = 1; i <= b->ndom; i++) {
		struct domain *d = &b->dom[i];
		if (atomic_load_explicit(&d->state, memory_order_relaxed) != DOM_RUNNING)
			continue;
		if (d->backlog.head != d->backlog.tail)
			flush_backlog(d);
		publish(d);
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

/*
 * Thread 0's events with more than one proxy thread: deaths, mailbox
 * commands and restarts whose time has come, handled alone, in the order
 * the single thread handles them (deaths and what they deliver first, then
 * commands and restarts, which reset rings). *next_restart = ns until the
 * next restart (UINT64_MAX for none). Returns the work done.
 */
static unsigned alone_work(struct broker *b, uint64_t *next_restart)
{
	bool deaths = false, due = false;

	*next_restart = UINT64_MAX;
	for (unsigned i = 1; i <= b->ndom; i++)
		deaths |= atomic_load_explicit(&b->dom[i].death_pending, memory_order_acquire);
	if (b->restarts_pending)
		*next_restart = rl_recovery_next(b, rl_now_ns(), &due);
	bool mail = atomic_load_explicit(&b->mb_op, memory_order_relaxed) != MB_NONE;
	if (!deaths && !due && !mail)
		return 0;
	if (!others_stop(b))
		return 0;
	unsigned work = 0;
	for (unsigned i = 1; i <= b->ndom; i++)
		work += death_if_pending(b, &b->dom[i]);
	stage_flush(b);
	publish_touched(b);
	if (atomic_load_explicit(&b->mb_op, memory_order_relaxed) != MB_NONE) {
		serve_mailbox(b);
		work++;
	}
	if (b->restarts_pending) {
		*next_restart = rl_recovery_tick(b, rl_now_ns());
		work += due;
	}
	stage_flush(b);
	publish_touched(b);
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
		*msgs += drain(b, d);
	}
	publish_touched(b);
	return *msgs;
}

/* Any backlog this thread retries (a full rx ring): then it sleeps with a short timeout. */
static bool backlog_waiting(struct broker *b)
{
	if (b->nworkers > 1)
		return touched.n != 0; /* what publish_touched() kept */
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
	err = pthread_mutex_init(&b->call_lock, &a);
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
		} else {
			if (w->idx == 0)
				work = alone_work(b, &next_restart);
			work += worker_pass(b, w, &msgs);
		}
		if (work) {
			stat_add(&w->busy, rl_proxy_ticks() - pass_start);
			stat_add(&w->msgs, msgs);
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
