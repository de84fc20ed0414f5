// SPDX-License-Identifier: MIT
/*
 * The ownership registry, broker side. Every function here runs in the
 * broker's proxy thread, the registry's only writer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "registry.h"

/* An owner's totals follow its list: one place keeps both. */
static inline void own_count(struct rl_heap *h, uint32_t slot, uint16_t owner, int sign)
{
	unsigned cls = h->objs[slot].cls;

	h->own_objects[owner] += (uint32_t)sign;
	h->own_class[owner][cls] += (uint32_t)sign;
	h->own_bytes[owner] += (uint64_t)(int64_t)sign * rl_class_size(cls);
}

static void own_link(struct rl_heap *h, uint32_t slot, uint16_t owner)
{
	own_count(h, slot, owner, 1);
	h->own_prev[slot] = UINT32_MAX;
	h->own_next[slot] = h->own_head[owner];
	if (h->own_head[owner] != UINT32_MAX)
		h->own_prev[h->own_head[owner]] = slot;
	h->own_head[owner] = slot;
}

static void own_unlink(struct rl_heap *h, uint32_t slot, uint16_t owner)
{
	uint32_t prev = h->own_prev[slot], next = h->own_next[slot];
	own_count(h, slot, owner, -1);
	if (prev != UINT32_MAX)
		h->own_next[prev] = next;
	else
		h->own_head[owner] = next;
	if (next != UINT32_MAX)
		h->own_prev[next] = prev;
}

void rl_registry_set_owner(struct rl_heap *h, uint32_t slot, uint16_t owner)
{
	struct rl_obj *o = &h->objs[slot];

	if (o->owner == owner)
		return;
	own_unlink(h, slot, o->owner);
	o->owner = owner;
	own_link(h, slot, owner);
}

int rl_registry_alloc(struct rl_heap *h, unsigned cls, uint16_t owner, uint32_t *slot)
{
	if (cls >= RL_NCLASSES || !h->free_top[cls])
		return -ENOMEM;
	uint32_t s = h->free_stack[cls][--h->free_top[cls]];
	struct rl_obj *o = &h->objs[s];
	o->owner = owner;
	o->type_id = 0;
	o->borrows = 0;
	o->state = RL_OBJ_OWNED;
	own_link(h, s, owner);
	*slot = s;
	return 0;
}

void rl_registry_free(struct rl_heap *h, uint32_t slot)
{
	struct rl_obj *o = &h->objs[slot];

	if (o->state == RL_OBJ_FREE)
		return;
	if (o->state == RL_OBJ_OWNED)
		own_unlink(h, slot, o->owner);
	o->gen++;
	if (!o->gen) /* generation 0 never names a live object */
		o->gen = 1;
	o->owner = RL_OWNER_NONE;
	o->type_id = 0;
	o->borrows = 0;
	o->state = RL_OBJ_FREE;
	h->free_stack[o->cls][h->free_top[o->cls]++] = slot;
}

struct rl_obj *rl_registry_resolve(struct rl_heap *h, rl_rref r, int *err)
{
	if (r.slot >= h->hdr->nslots) {
		*err = -EINVAL;
		return NULL;
	}
	struct rl_obj *o = &h->objs[r.slot];
	if (o->gen != r.gen || o->state == RL_OBJ_FREE) {
		*err = -ESTALE;
		return NULL;
	}
	return o;
}

void rl_registry_unborrow(struct rl_heap *h, uint32_t slot)
{
	struct rl_obj *o = &h->objs[slot];

	if (o->borrows)
		o->borrows--;
	if (!o->borrows && o->state == RL_OBJ_ORPHAN)
		rl_registry_free(h, slot);
}

unsigned rl_registry_reclaim(struct rl_heap *h, uint16_t owner)
{
	unsigned freed = 0;
	uint32_t next;

	/* Only what owner holds: its list, not the whole registry. */
	for (uint32_t s = h->own_head[owner]; s != UINT32_MAX; s = next) {
		struct rl_obj *o = &h->objs[s];
		next = h->own_next[s];
		if (o->borrows) {
			/* Still lent to a live call: its borrower may read it until the call ends. */
			own_unlink(h, s, owner);
			o->state = RL_OBJ_ORPHAN;
			o->owner = RL_OWNER_NONE;
		} else {
			rl_registry_free(h, s);
			freed++;
		}
	}
	return freed;
}

void rl_registry_usage(const struct rl_heap *h, struct rl_heap_usage *u)
{
	memset(u, 0, sizeof(*u));
	for (uint32_t s = 0; s < h->hdr->nslots; s++) {
		const struct rl_obj *o = &h->objs[s];
		switch (o->state) {
		case RL_OBJ_FREE:
			u->free_slots++;
			break;
		case RL_OBJ_ORPHAN:
			u->orphans++;
			break;
		default:
			if (o->owner <= RL_MAX_DOMAINS) {
				u->objects[o->owner]++;
				u->bytes[o->owner] += rl_class_size(o->cls);
			}
		}
	}
}

int rl_registry_audit(const struct rl_heap *h, const bool *alive, const uint16_t *expected_borrows,
		      char *why, size_t whylen)
{
	const struct rl_heap_hdr *hd = h->hdr;
	uint8_t *on_list = calloc(hd->nslots ? hd->nslots : 1, 1);
	int ret = -EUCLEAN;

	if (!on_list) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned c = 0; c < RL_NCLASSES; c++) {
		for (uint32_t i = 0; i < h->free_top[c]; i++) {
			uint32_t s = h->free_stack[c][i];
			if (s >= hd->nslots || on_list[s]) {
				snprintf(why, whylen, "slot %u is on a free list twice", s);
				goto out;
			}
			if (h->objs[s].cls != c) {
				snprintf(why, whylen, "slot %u of class %u is on free list %u", s,
					 h->objs[s].cls, c);
				goto out;
			}
			on_list[s] = 1;
		}
	}
	for (uint32_t s = 0; s < hd->nslots; s++) {
		const struct rl_obj *o = &h->objs[s];
		uint16_t want = expected_borrows ? expected_borrows[s] : 0;
		switch (o->state) {
		case RL_OBJ_FREE:
			if (!on_list[s] || o->owner || o->borrows) {
				snprintf(why, whylen, "free slot %u is %s", s,
					 !on_list[s] ? "on no free list (leaked)" : "owned or lent");
				goto out;
			}
			break;
		case RL_OBJ_OWNED:
			if (on_list[s]) {
				snprintf(why, whylen, "slot %u is owned and on a free list", s);
				goto out;
			}
			if (o->owner == RL_OWNER_NONE || o->owner > RL_MAX_DOMAINS || !alive[o->owner]) {
				snprintf(why, whylen, "slot %u is owned by dead or unknown domain %u (leaked)",
					 s, o->owner);
				goto out;
			}
			break;
		case RL_OBJ_ORPHAN:
			if (on_list[s] || !o->borrows) {
				snprintf(why, whylen, "orphan slot %u has no loans (leaked)", s);
				goto out;
			}
			break;
		default:
			snprintf(why, whylen, "slot %u has unknown state %u", s, o->state);
			goto out;
		}
		if (o->borrows != want) {
			snprintf(why, whylen, "slot %u has %u loans, calls in flight account for %u", s,
				 o->borrows, want);
			goto out;
		}
	}
	/* Every owned slot on its owner's list, exactly once, and nothing else there. */
	memset(on_list, 0, hd->nslots);
	uint64_t listed = 0, owned = 0;
	for (unsigned d = 0; d <= RL_MAX_DOMAINS; d++) {
		uint32_t prev = UINT32_MAX;
		uint32_t per_class[RL_NCLASSES] = { 0 };
		uint32_t objects = 0;
		uint64_t bytes = 0;
		for (uint32_t s = h->own_head[d]; s != UINT32_MAX; s = h->own_next[s]) {
			if (s >= hd->nslots || on_list[s] || h->own_prev[s] != prev ||
			    h->objs[s].state != RL_OBJ_OWNED || h->objs[s].owner != d) {
				snprintf(why, whylen, "the owner list of domain %u is broken at slot %u", d, s);
				goto out;
			}
			on_list[s] = 1;
			prev = s;
			listed++;
			objects++;
			per_class[h->objs[s].cls]++;
			bytes += rl_class_size(h->objs[s].cls);
		}
		/* The totals quotas are checked against must be what the list holds. */
		if (objects != h->own_objects[d] || bytes != h->own_bytes[d] ||
		    memcmp(per_class, h->own_class[d], sizeof(per_class))) {
			snprintf(why, whylen, "the owner list of domain %u holds %u objects (%llu bytes), its totals say %u (%llu)", d,
				 objects, (unsigned long long)bytes, h->own_objects[d],
				 (unsigned long long)h->own_bytes[d]);
			goto out;
		}
	}
	for (uint32_t s = 0; s < hd->nslots; s++)
		owned += h->objs[s].state == RL_OBJ_OWNED;
	if (owned != listed) {
		snprintf(why, whylen, "%llu owned slots, %llu on owner lists", (unsigned long long)owned,
			 (unsigned long long)listed);
		goto out;
	}
	ret = 0;
out:
	free(on_list);
	return ret;
}
