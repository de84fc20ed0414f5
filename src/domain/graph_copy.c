// SPDX-License-Identifier: MIT
/* Copies of heap object graphs (graph_copy.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph_copy.h"
#include "redleaf/idl.h"

/* Where the nested handles of one object lie: n offsets and their types. */
struct nested {
	unsigned n;
	uint32_t off[RL_GRAPH_COPY_MAX];
	uint16_t type[RL_GRAPH_COPY_MAX];
	uint64_t wire[RL_GRAPH_COPY_MAX]; /* save(): the handles, read before the buffer grows */
};

/*
 * The non-null nested handles of an object of type t whose bytes are
 * obj[0, len), counted as the broker counts them (vector length and deque
 * fill clamped to what the object holds). -E2BIG beyond the limit.
 */
static int nested_of(const struct rl_type_desc *t, const uint8_t *obj, size_t len, struct nested *out)
{
	uint64_t base = 0, count = 1, stride = 0, first = 0, wrap = 0;

	out->n = 0;
	if (!t->n_rrefs)
		return 0;
	if (t->kind == RL_TYPE_VEC || t->kind == RL_TYPE_DEQUE) {
		uint32_t a, z;
		uint64_t fits = len > RL_CONTAINER_HDR && t->elem_size ? (len - RL_CONTAINER_HDR) / t->elem_size : 0;
		memcpy(&a, obj, 4);
		memcpy(&z, obj + 4, 4);
		base = RL_CONTAINER_HDR;
		stride = t->elem_size;
		if (t->kind == RL_TYPE_VEC) {
			count = a < fits ? a : fits;
		} else {
			uint32_t live = z - a;
			count = live < t->capacity ? live : t->capacity;
			if (count > fits)
				count = fits;
			first = a;
			wrap = t->capacity;
		}
	}
	for (uint64_t i = 0; i < count; i++) {
		uint64_t e = wrap ? (first + i) % wrap : i;
		for (unsigned k = 0; k < t->n_rrefs; k++) {
			uint64_t off = base + e * stride + t->rrefs[k].offset, w;
			if (off + 8 > len)
				continue;
			memcpy(&w, obj + off, 8);
			if (rl_rref_is_null(rl_rref_from_wire(w)))
				continue;
			if (out->n == RL_GRAPH_COPY_MAX)
				return -E2BIG;
			out->off[out->n] = (uint32_t)off;
			out->type[out->n++] = t->rrefs[k].type_id;
		}
	}
	return 0;
}

static int reserve(struct graph_copy *g, size_t more)
{
	if (g->cap - g->len >= more)
		return 0;
	size_t cap = g->cap ? g->cap : 64 << 10;
	while (cap - g->len < more)
		cap *= 2;
	uint8_t *b = realloc(g->buf, cap);
	if (!b)
		return -ENOMEM;
	g->buf = b;
	g->cap = cap;
	return 0;
}

static int save(const struct graph_heap *h, struct graph_copy *g, rl_rref r, uint16_t type_id, unsigned *objects)
{
	const uint8_t *p = h->get(r);
	uint32_t len = (uint32_t)h->capacity(r);
	int err;

	if (!p)
		return -EPERM;
	if (++*objects > RL_GRAPH_COPY_MAX || type_id >= rl_idl_ntypes)
		return -E2BIG;
	if ((err = reserve(g, 4 + (size_t)len)))
		return err;
	size_t at = g->len;
	memcpy(g->buf + at, &len, 4);
	memcpy(g->buf + at + 4, p, len);
	g->len += 4 + (size_t)len;
	if (!rl_idl_types[type_id].n_rrefs)
		return 0; /* a leaf (a block): nothing nested, no walk */

	struct nested *n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	/* g->buf may move as children are saved: read the handles from this copy first. */
	err = nested_of(&rl_idl_types[type_id], g->buf + at + 4, len, n);
	for (unsigned i = 0; !err && i < n->n; i++)
		memcpy(&n->wire[i], g->buf + at + 4 + n->off[i], 8);
	for (unsigned i = 0; !err && i < n->n; i++)
		err = save(h, g, rl_rref_from_wire(n->wire[i]), n->type[i], objects);
	free(n);
	return err;
}

int graph_save(const struct graph_heap *h, struct graph_copy *g, rl_rref root, uint16_t type_id)
{
	unsigned objects = 0;

	g->len = 0;
	return save(h, g, root, type_id, &objects);
}

/* Drops the fresh graph rooted at r: its nested objects, then r. */
static void drop_fresh(const struct graph_heap *h, rl_rref r, uint16_t type_id)
{
	uint8_t *p = h->get(r);

	if (!p)
		return;
	struct nested *n = malloc(sizeof(*n));
	if (n && !nested_of(&rl_idl_types[type_id], p, h->capacity(r), n)) {
		for (unsigned i = 0; i < n->n; i++) {
			uint64_t w;
			memcpy(&w, p + n->off[i], 8);
			drop_fresh(h, rl_rref_from_wire(w), n->type[i]);
		}
	}
	free(n);
	h->drop(r);
}

static int restore(const struct graph_heap *h, const struct graph_copy *g, size_t *at, uint16_t type_id,
		   rl_rref *out)
{
	uint32_t len;
	rl_rref r;
	int err;

	if (g->len - *at < 4)
		return -EINVAL;
	memcpy(&len, g->buf + *at, 4);
	if (g->len - *at - 4 < len)
		return -EINVAL;
	const uint8_t *src = g->buf + *at + 4;
	*at += 4 + (size_t)len;
	if ((err = h->alloc(type_id, len, &r)))
		return err;
	uint8_t *p = h->get(r);
	if (!p || h->capacity(r) < len) {
		h->drop(r);
		return -EPROTO;
	}
	memcpy(p, src, len);
	if (!rl_idl_types[type_id].n_rrefs) {
		*out = r;
		return 0;
	}
	struct nested *n = malloc(sizeof(*n));
	if (!n) {
		h->drop(r);
		return -ENOMEM;
	}
	err = nested_of(&rl_idl_types[type_id], src, len, n);
	unsigned done = 0;
	/* Null the handles first, so a failure part-way drops only what was made. */
	for (unsigned i = 0; !err && i < n->n; i++)
		memset(p + n->off[i], 0, 8);
	for (; !err && done < n->n; done++) {
		rl_rref child;
		if ((err = restore(h, g, at, n->type[done], &child)))
			break;
		uint64_t w = rl_rref_to_wire(child);
		memcpy(p + n->off[done], &w, 8);
	}
	free(n);
	if (err) {
		drop_fresh(h, r, type_id);
		return err;
	}
	*out = r;
	return 0;
}

int graph_restore(const struct graph_heap *h, const struct graph_copy *g, uint16_t type_id, rl_rref *out)
{
	size_t at = 0;

	return restore(h, g, &at, type_id, out);
}

void graph_copy_free(struct graph_copy *g)
{
	free(g->buf);
	memset(g, 0, sizeof(*g));
}
