// SPDX-License-Identifier: MIT
/*
 * The call path: the proxy thread drains a domain's tx ring, validates each
 * message from a private copy, moves ownership, records a continuation and
 * forwards; replies retrace the path. Everything a domain wrote is
 * untrusted, and a rejected message hurts only its sender: it gets a
 * completion with a negative errno and the RL_MSG_F_BROKER flag.
 *
 * Validation is two-phase: first every argument (and every object of every
 * nested graph) is checked without changing anything, then ownership moves
 * and loans are committed. A rejected call leaves the registry untouched.
 * The hot path (a drained batch of calls and replies) is one translation
 * unit: what it calls from the layers below is inline in their headers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "calls.h"
#include "caps.h"
#include "conts.h"
#include "deliver.h"
#include "ownership.h"
#include "recovery.h"
#include "service.h"

#define DRAIN_BATCH RL_DRAIN_BATCH

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
		rl_stat_add(&d->calls_out, r->committed);
		rl_stat_add(&r->callee->calls_in, r->committed);
		r->committed = 0;
	}
}

/* Resolves m's capability and method into r, or returns the errno to reject m with. */
static int route_resolve(struct broker *b, struct domain *d, const struct rl_msg *m, struct route *r)
{
	int err;

	route_count(d, r); /* before r->callee changes */
	const struct cap_entry *cap = rl_caps_resolve(d, m->cap, &err);

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

static __attribute__((noinline, cold)) void call_deadline(struct broker *b, struct domain *d, uint32_t ci,
							    uint32_t ms)
{
	static bool told;

	if (rl_deadlines_add(b, ci, rl_now_ns() + (uint64_t)ms * 1000000) && !told) {
		told = true;
		rl_broker_log(b, "%s: no memory for call deadlines: its calls run without them", d->name);
	}
}

/*
 * The last step of every accepted call: records continuation ci (its
 * loans already in place) and queues the invocation with args for the
 * callee.
 */
RL_HOT void call_commit(struct broker *b, struct domain *d, const struct rl_msg *m,
		     struct route *route, uint32_t ci, const uint64_t *args)
{
	struct cont *c = &b->conts[ci];
	struct domain *callee = route->callee;

	c->caller = d->id;
	c->callee = callee->id;
	if (c->nborrow)
		rl_conts_loan_link(b, callee, ci);
	c->iface = route->ce->iface;
	c->method = m->method;
	c->md = route->md;
	c->caller_tag = m->tag;
	d->outstanding++;
	route->committed++;
	/* A deadline costs only the calls that have one (a failed first allocation: no deadline, logged once). */
	if (__builtin_expect(route->ce->deadline_ms != 0, 0))
		call_deadline(b, d, ci, route->ce->deadline_ms);

	struct rl_msg *fwd = rl_deliver_slot(b, callee);
	fwd->kind = RL_MSG_INVOKE;
	fwd->method = m->method;
	fwd->cap = route->ce->export_index;
	fwd->status = 0;
	fwd->aux = route->ce->iface;
	fwd->tag = ((uint64_t)c->gen << 32) | ci;
	fwd->arg[0] = args[0];
	/* Short for methods of at most one word; else word by word (the compiler's memcpy is a slow rep movs). */
	static_assert(RL_MSG_ARGS == 5, "one store per argument word below");
	if (route->md->nparams > 1) {
		fwd->flags = RL_MSG_F_LONG;
		fwd->arg[1] = args[1];
		fwd->arg[2] = args[2];
		fwd->arg[3] = args[3];
		fwd->arg[4] = args[4];
	} else {
		fwd->flags = 0;
	}
	rl_deliver_done();
}

/* A call whose arguments carry objects or capabilities: check everything, then commit. */
static void do_call_objects(struct broker *b, struct domain *d, const struct rl_msg *m,
			    struct route *route)
{
	struct graph moves[RL_MSG_ARGS];
	uint32_t borrows[RL_MSG_ARGS];
	unsigned nmoves = 0, nborrows = 0;
	uint64_t args[RL_MSG_ARGS] = { 0 };
	const struct rl_method_desc *md = route->md;
	struct domain *callee = route->callee;
	int err;

	/* Phase 1: check everything, change nothing. */
	for (unsigned i = 0; i < md->nparams; i++) {
		const struct rl_param_desc *p = &md->params[i];
		uint64_t v = m->arg[i];
		args[i] = v;
		switch (p->kind) {
		case RL_PARAM_RREF:
			err = rl_graph_collect(b, d->id, p->id, rl_rref_from_wire(v), &moves[nmoves]);
			if (err)
				return rl_deliver_reject(b, d, m, err);
			/* The same object as two moved arguments is a double move. */
			for (unsigned k = 0; k < nmoves; k++)
				for (unsigned j = 0; j < moves[nmoves].n; j++)
					if (rl_graph_has(&moves[k], moves[nmoves].slot[j]))
						return rl_deliver_reject(b, d, m, -EINVAL);
			nmoves++;
			break;
		case RL_PARAM_RREF_BORROW: {
			rl_rref r = rl_rref_from_wire(v);
			struct rl_obj *o = rl_registry_resolve(&b->heap, r, &err);
			if (!o)
				return rl_deliver_reject(b, d, m, err);
			bool mine = o->state == RL_OBJ_OWNED && o->owner == d->id;
			if (!mine && !rl_conts_holds_loan(b, d, r.slot))
				return rl_deliver_reject(b, d, m, -EPERM);
			if ((err = rl_check_type(o, p->id)))
				return rl_deliver_reject(b, d, m, err);
			if (o->borrows == UINT16_MAX)
				return rl_deliver_reject(b, d, m, -EAGAIN);
			for (unsigned k = 0; k < nmoves; k++)
				if (rl_graph_has(&moves[k], r.slot))
					return rl_deliver_reject(b, d, m, -EINVAL);
			borrows[nborrows++] = r.slot;
			break;
		}
		case RL_PARAM_CAP: {
			struct cap_entry *c = rl_caps_lookup(d, (rl_cap)v);
			if (v > UINT32_MAX || !c)
				return rl_deliver_reject(b, d, m, -EBADF);
			if (c->iface != p->id)
				return rl_deliver_reject(b, d, m, -EPROTOTYPE);
			if (c->incarnation != b->dom[c->target].incarnation)
				return rl_deliver_reject(b, d, m, -ESTALE);
			break;
		}
		default:
			if ((err = rl_check_scalar(p->kind, v)))
				return rl_deliver_reject(b, d, m, err);
		}
	}
	/* Borrowed objects must not also travel in a moved graph. */
	for (unsigned i = 0; i < nborrows; i++)
		for (unsigned k = 0; k < nmoves; k++)
			if (rl_graph_has(&moves[k], borrows[i]))
				return rl_deliver_reject(b, d, m, -EINVAL);

	/* What the callee would hold must fit its heap quota: else another could fill it up for it. */
	if (nmoves && rl_quota_heap_graphs(b, callee, moves, nmoves)) {
		rl_quota_hit(b, callee, RL_QUOTA_HEAP, "a call moving objects to it was refused (-EDQUOT to the caller)");
		return rl_deliver_reject(b, d, m, -EDQUOT);
	}
	uint32_t ci = rl_conts_alloc(b);
	if (ci == UINT32_MAX)
		return rl_deliver_reject(b, d, m, -EAGAIN);

	/* Phase 2: commit. Capabilities first: the only step that can still fail. */
	for (unsigned i = 0; i < md->nparams; i++) {
		if (md->params[i].kind != RL_PARAM_CAP)
			continue;
		route->key = 0; /* a grant may refresh entries of a table the route came from */
		struct cap_entry *c = rl_caps_lookup(d, (rl_cap)args[i]);
		rl_cap h = rl_caps_grant(callee, c->target, c->export_index, c->iface);
		if (h == RL_CAP_INVALID) {
			rl_conts_free(b, ci);
			return rl_deliver_reject(b, d, m, -ENOSPC);
		}
		args[i] = h;
	}
	for (unsigned k = 0; k < nmoves; k++)
		rl_graph_move(b, &moves[k], callee->id);
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
	call_commit(b, d, m, route, ci, args);
}

/*
 * Is d at a limit for a call into callee? Its own calls in flight, or (from
 * RL_INFLIGHT_FAIR on) a callee whose backlog is full: then the flood is
 * refused at its senders, and the callee is never made to hold more than
 * RL_BACKLOG_ADMIT (plus a little per caller) of others' messages. The
 * backlog is the callee's rx_lock's with several proxy threads: a racy read
 * is enough for a bound (a few stages off at most).
 */
RL_HOT bool inflight_over(const struct domain *d, const struct domain *callee)
{
	uint32_t max = d->calls_max ? d->calls_max : RL_MAX_OUTSTANDING;

	return d->outstanding >= max ||
	       (d->outstanding >= RL_INFLIGHT_FAIR && callee->backlog.tail - callee->backlog.head >= RL_BACKLOG_ADMIT);
}

/* The errno for a call inflight_over() refused, counted and logged once. */
static __attribute__((noinline, cold)) int inflight_refuse(struct broker *b, struct domain *d,
							    const struct domain *callee)
{
	char what[128];

	if (d->outstanding >= (d->calls_max ? d->calls_max : RL_MAX_OUTSTANDING)) {
		snprintf(what, sizeof(what), "%u calls in flight; more get -EAGAIN", d->outstanding);
		rl_quota_hit(b, d, RL_QUOTA_CALLS, what);
		return -EAGAIN;
	}
	snprintf(what, sizeof(what), "%s has %u messages waiting; calls into it get -EBUSY while it has %u in flight",
		 callee->name, callee->backlog.tail - callee->backlog.head, d->outstanding);
	rl_quota_hit(b, d, RL_QUOTA_BUSY, what);
	return -EBUSY;
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

RL_HOT void do_call(struct broker *b, struct domain *d, const struct rl_msg *m, struct route *route)
{
	int err;

	if (route->key != route_key(m)) {
		if ((err = route_resolve(b, d, m, route))) {
			route->key = 0;
			return rl_deliver_reject(b, d, m, err);
		}
	}
	struct domain *callee = route->callee;
	if (atomic_load_explicit(&callee->state, memory_order_relaxed) != DOM_RUNNING ||
	    atomic_load_explicit(&callee->death_pending, memory_order_relaxed))
		return rl_deliver_reject(b, d, m, -EHOSTDOWN);
	/* One compare while few calls are in flight: the quotas' cost on the call path. */
	if (__builtin_expect(d->outstanding >= d->inflight_check, 0) && inflight_over(d, callee))
		return rl_deliver_reject(b, d, m, inflight_refuse(b, d, callee));
	if (route->checks == CHECK_OBJECTS)
		return do_call_objects(b, d, m, route);

	/* Scalars only: check what needs it; nothing to commit but the continuation. */
	const struct rl_method_desc *md = route->md;
	static_assert(RL_MSG_ARGS == 5, "one mask per argument word below");
	const uint64_t *keep = arg_keep[md->nparams];
	uint64_t args[RL_MSG_ARGS];
	args[0] = m->arg[0] & keep[0];
	if (md->nparams > 1) /* call_commit() reads the later words only then */
		for (unsigned i = 1; i < RL_MSG_ARGS; i++)
			args[i] = m->arg[i] & keep[i];
	if (route->checks == CHECK_SCALARS)
		for (unsigned i = 0; i < md->nparams; i++)
			if ((err = rl_check_scalar(md->params[i].kind, args[i])))
				return rl_deliver_reject(b, d, m, err);
	uint32_t ci = rl_conts_alloc(b);
	if (ci == UINT32_MAX)
		return rl_deliver_reject(b, d, m, -EAGAIN);
	call_commit(b, d, m, route, ci, args);
}

RL_HOT void do_reply(struct broker *b, struct domain *d, const struct rl_msg *m)
{
	uint32_t ci;
	struct cont *c = rl_conts_from_tag(b, m->tag, &ci);

	if (!c || c->callee != d->id) {
		/* A reply to nothing: forged or duplicated. Nobody to complete; count it. */
		rl_stat_inc(&d->rejected);
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
		rl_stat_inc(&d->rejected);
	} else if (!status && md->result.kind != RL_PARAM_NONE) {
		int err = 0;
		bool over_quota = false;
		uint64_t v = m->arg[0];
		struct graph g;
		switch (md->result.kind) {
		case RL_PARAM_RREF:
			err = rl_graph_collect(b, d->id, md->result.id, rl_rref_from_wire(v), &g);
			if (!err) {
				if (c->caller_dead) {
					rl_graph_release(b, &g);
					if (!c->timed_out) /* a late reply after a deadline is counted in ps, not logged */
						rl_broker_log(b, "%s: reply to dead %s discarded; %u returned object(s) freed",
							      d->name, caller->name, g.n);
				} else if (rl_quota_heap_graphs(b, caller, &g, 1)) {
					/* The caller asked, but may not hold more: the callee gave them up, so free them. */
					rl_graph_release(b, &g);
					rl_quota_hit(b, caller, RL_QUOTA_HEAP,
						     "objects returned to it were freed (-EDQUOT)");
					over_quota = true;
				} else {
					rl_graph_move(b, &g, caller->id);
				}
			}
			ret = v;
			break;
		case RL_PARAM_CAP: {
			struct cap_entry *e = rl_caps_lookup(d, (rl_cap)v);
			if (v > UINT32_MAX || !e)
				err = -EBADF;
			else if (e->iface != md->result.id)
				err = -EPROTOTYPE;
			else if (!c->caller_dead) {
				ret = rl_caps_grant(caller, e->target, e->export_index, e->iface);
				if (ret == RL_CAP_INVALID)
					err = -ENOSPC;
			}
			break;
		}
		default:
			err = rl_check_scalar(md->result.kind, v);
			ret = v;
		}
		if (err) {
			/* The callee broke the contract: the caller learns, the callee keeps its objects. */
			status = -EPROTO;
			flags = RL_MSG_F_BROKER;
			ret = 0;
			rl_stat_inc(&d->rejected);
		} else if (over_quota) {
			status = -EDQUOT;
			flags = RL_MSG_F_BROKER;
			ret = 0;
		}
	}
	if (!c->caller_dead) {
		rl_deliver_complete(b, caller, c->caller_tag, status, ret, flags);
		if (caller->outstanding)
			caller->outstanding--;
	}
	rl_conts_free(b, ci);
}

/* Validation's lock, taken only with more than one proxy thread (out of line: one thread's path stays as it was). */
static __attribute__((noinline, cold)) void validation_lock_take(struct broker *b)
{
	pthread_mutex_lock(&b->validation_lock);
}

static __attribute__((noinline, cold)) void validation_lock_drop(struct broker *b)
{
	pthread_mutex_unlock(&b->validation_lock);
}

static inline void validation_lock(struct broker *b)
{
	if (__builtin_expect(b->nworkers > 1, 0))
		validation_lock_take(b);
}

static inline void validation_unlock(struct broker *b)
{
	if (__builtin_expect(b->nworkers > 1, 0))
		validation_lock_drop(b);
}

/*
 * Fair service: a batch of n messages that made the broker visit `visits`
 * graph objects sets how many the next pass takes, so one domain's pass
 * costs about RL_PASS_OBJECTS objects at most, however heavy its messages
 * (at least one message a pass: every domain moves). Cheap batches win
 * their size back.
 */
static __attribute__((noinline, cold)) void drain_budget(struct domain *d, unsigned n, uint64_t visits)
{
	uint64_t take = visits ? (uint64_t)n * RL_PASS_OBJECTS / visits : DRAIN_BATCH;

	if (take < 1)
		take = 1;
	if (take >= DRAIN_BATCH)
		take = 0; /* the whole batch again */
	d->drain_take = (uint16_t)take;
}

unsigned rl_calls_drain(struct broker *b, struct domain *d)
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
			validation_lock(b);
			rl_deliver_reject(b, d, &bad, -EPROTO);
			validation_unlock(b);
			rl_deliver_flush(b);
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
	int got = rl_ring_take_many(&d->tx, batch, d->drain_take ? d->drain_take : DRAIN_BATCH);
	unsigned n = got > 0 ? (unsigned)got : 0; /* an impossible tail is reported on the next pass */
	rl_ring_release(&d->tx);
	validation_lock(b);
	uint64_t visits = b->graph_visits;
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
			rl_service_handle(b, d, m);
		else
			rl_deliver_reject(b, d, m, -EPROTO);
	}
	route_count(d, &route);
	if (__builtin_expect(b->graph_visits - visits > RL_PASS_OBJECTS || d->drain_take, 0))
		drain_budget(d, n, b->graph_visits - visits);
	validation_unlock(b);
	rl_deliver_flush(b);
	return n;
}

/* A dead domain's last words: replies it published before dying still count. */
void rl_calls_take_replies(struct broker *b, struct domain *d)
{
	struct rl_msg m;
	for (unsigned n = 0; n < RL_RING_UNITS && rl_ring_take(&d->tx, &m) > 0; n++) {
		if (m.kind == RL_MSG_REPLY)
			do_reply(b, d, &m);
	}
}
