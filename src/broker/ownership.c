// SPDX-License-Identifier: MIT
/* Ownership and validation: graph collection, scalar checks, the audit. See ownership.h. */
#include <string.h>

#include "ownership.h"

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
int rl_graph_collect(struct broker *b, uint16_t owner, uint16_t type_id, rl_rref root, struct graph *g)
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
	uint32_t epoch = ++b->graph_epoch;
	if (!epoch) { /* wrapped: no mark may look current */
		memset(b->heap.graph_mark, 0, sizeof(uint32_t) * b->heap.hdr->nslots);
		epoch = b->graph_epoch = 1;
	}
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
		if ((err = rl_check_type(o, tid)))
			return err;
		if (b->heap.graph_mark[slot] == epoch)
			return -EINVAL; /* reachable twice: not a single-owner graph */
		if (g->n == RL_MAX_GRAPH)
			return -E2BIG;
		b->heap.graph_mark[slot] = epoch;
		b->graph_visits++;
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

int rl_check_scalar(uint8_t kind, uint64_t v)
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

int rl_ownership_audit(struct broker *b, char *why, size_t whylen)
{
	bool alive[RL_MAX_DOMAINS + 1] = { false };

	for (unsigned i = 1; i <= b->ndom; i++)
		alive[i] = atomic_load(&b->dom[i].state) == DOM_RUNNING;
	return rl_registry_audit(&b->heap, alive, b->expected_borrows, why, whylen);
}

uint64_t rl_quota_heap_room(const struct broker *b, const struct domain *d, unsigned cls, uint64_t want)
{
	const struct rl_heap *h = &b->heap;
	uint64_t room = want;

	if (!d->heap_objects_max)
		return want;
	uint32_t have = h->own_class[d->id][cls];
	room = have >= d->heap_class_max[cls] ? 0 : d->heap_class_max[cls] - have;
	if (room > want)
		room = want;
	uint64_t objects = h->own_objects[d->id];
	if (d->heap_objects_max != UINT64_MAX)
		room = objects >= d->heap_objects_max ? 0 : room < d->heap_objects_max - objects ? room : d->heap_objects_max - objects;
	uint64_t bytes = h->own_bytes[d->id];
	if (d->heap_bytes_max != UINT64_MAX) {
		uint64_t fit = bytes >= d->heap_bytes_max ? 0 : (d->heap_bytes_max - bytes) / rl_class_size(cls);
		room = room < fit ? room : fit;
	}
	return room;
}

int rl_quota_heap_graphs(const struct broker *b, const struct domain *d, const struct graph *g, unsigned n)
{
	const struct rl_heap *h = &b->heap;
	uint32_t per_class[RL_NCLASSES] = { 0 };
	uint64_t objects = 0, bytes = 0;

	if (!d->heap_objects_max)
		return 0;
	for (unsigned k = 0; k < n; k++)
		for (unsigned i = 0; i < g[k].n; i++) {
			unsigned cls = h->objs[g[k].slot[i]].cls;
			per_class[cls]++;
			bytes += rl_class_size(cls);
		}
	for (unsigned c = 0; c < RL_NCLASSES; c++) {
		if (per_class[c] && (uint64_t)h->own_class[d->id][c] + per_class[c] > d->heap_class_max[c])
			return -EDQUOT;
		objects += per_class[c];
	}
	if ((uint64_t)h->own_objects[d->id] + objects > d->heap_objects_max ||
	    h->own_bytes[d->id] + bytes > d->heap_bytes_max)
		return -EDQUOT;
	return 0;
}
