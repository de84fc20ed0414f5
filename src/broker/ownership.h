/* SPDX-License-Identifier: MIT */
/*
 * Ownership and validation of what a message carries: scalars in range,
 * and graphs of heap objects (an RRef and the RRefs nested in it, found
 * through the IDL's per-type offsets) that the sender owns whole, not lent
 * out, of the declared type and reachable once. Checking changes nothing;
 * moving a checked graph is a separate step, so a rejected call leaves the
 * registry untouched.
 */
#ifndef RL_BROKER_OWNERSHIP_H
#define RL_BROKER_OWNERSHIP_H

#include <errno.h>

#include "state.h"

/* The objects of one moved argument, in the order found. */
struct graph {
	uint32_t slot[RL_MAX_GRAPH];
	uint16_t type[RL_MAX_GRAPH]; /* type to stamp */
	unsigned n;
};

/* Is slot among g's objects? */
static inline bool rl_graph_has(const struct graph *g, uint32_t slot)
{
	for (unsigned i = 0; i < g->n; i++)
		if (g->slot[i] == slot)
			return true;
	return false;
}

/*
 * Can an object of this class, stamped o->type_id (0: untyped), be read as
 * type_id? 0, -EPROTO (no such type), -EPROTOTYPE, -EMSGSIZE (too small).
 */
static inline int rl_check_type(const struct rl_obj *o, uint16_t type_id)
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

/* Is v a value of scalar parameter kind `kind`? 0, -EINVAL (out of range) or -EPROTO (not a scalar kind). */
int rl_check_scalar(uint8_t kind, uint64_t v);

/*
 * Collects the object graph rooted at root (type type_id) owned by owner
 * into g; 0 or the errno to reject the message with.
 */
int rl_graph_collect(struct broker *b, uint16_t owner, uint16_t type_id, rl_rref root, struct graph *g);

/* Gives every object of a collected graph to domain `to`, stamped with its type. */
static inline void rl_graph_move(struct broker *b, const struct graph *g, uint16_t to)
{
	for (unsigned i = 0; i < g->n; i++) {
		rl_registry_set_owner(&b->heap, g->slot[i], to);
		b->heap.objs[g->slot[i]].type_id = g->type[i];
	}
}

/* Frees every object of a collected graph (returned to a caller that died). */
static inline void rl_graph_release(struct broker *b, const struct graph *g)
{
	for (unsigned i = 0; i < g->n; i++)
		rl_registry_free(&b->heap, g->slot[i]);
}

/*
 * Can d take the objects of graphs g[0..n) on top of what it holds (its heap
 * quota: objects, bytes, share of each size class)? 0 or -EDQUOT. A domain
 * rl_quota_init() never saw (the test bed's) has no quota.
 */
int rl_quota_heap_graphs(const struct broker *b, const struct domain *d, const struct graph *g, unsigned n);

/* How many more objects of class cls d may hold now (its heap quota), at most want. */
uint64_t rl_quota_heap_room(const struct broker *b, const struct domain *d, unsigned cls, uint64_t want);

/*
 * The registry's invariants now: every object has one owner that is alive
 * (or is free), and loan counts match the calls in flight. 0, or -EUCLEAN
 * with the first violation in why. Deaths seen but not yet handled count as
 * alive: their objects are theirs until recovery reclaims them.
 */
int rl_ownership_audit(struct broker *b, char *why, size_t whylen);

#endif /* RL_BROKER_OWNERSHIP_H */
