/* SPDX-License-Identifier: MIT */
/*
 * Copies of heap object graphs, for a shadow to send a moved argument
 * again after the domain it went to died with it (runtime.c, shadows).
 *
 * A moved RRef carries the objects it refers to (rref fields, elements of
 * vectors and deques: the IDL's nested RRefs, include/redleaf/idl.h), and
 * they all die with the callee. graph_save() keeps the bytes of every
 * object of the graph; graph_restore() allocates a fresh graph from them
 * and writes the fresh handles where the old ones were. A batch of block
 * requests (deque<breq, 128> with a block each) thus goes again whole.
 *
 * The copy is a sequence of records (u32 length, the object's bytes) in
 * pre-order: an object, then the graphs of its non-null nested RRefs in the
 * order the type gives them. Both walks read nested handles from the saved
 * bytes, never from the live objects, so they agree on the shape.
 */
#ifndef RL_GRAPH_COPY_H
#define RL_GRAPH_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "redleaf/types.h"

#define RL_GRAPH_COPY_MAX 256 /* objects in one graph: the broker's limit for a moved argument */

struct graph_copy {
	uint8_t *buf;
	size_t len, cap;
};

/* The heap as the caller sees it: the domain runtime's rl_rref_* (domain.h). */
struct graph_heap {
	void *(*get)(rl_rref r);
	size_t (*capacity)(rl_rref r);
	int (*alloc)(uint16_t type_id, size_t size, rl_rref *out);
	void (*drop)(rl_rref r);
};

/*
 * Saves the graph rooted at root (IDL type type_id), replacing what g held.
 * 0, -EPERM when an object of it is not ours, -E2BIG beyond
 * RL_GRAPH_COPY_MAX objects, -ENOMEM.
 */
int graph_save(const struct graph_heap *h, struct graph_copy *g, rl_rref root, uint16_t type_id);

/* A fresh graph with the saved bytes; *out gets its root. 0 or -errno (nothing is left allocated). */
int graph_restore(const struct graph_heap *h, const struct graph_copy *g, uint16_t type_id, rl_rref *out);

void graph_copy_free(struct graph_copy *g);

#endif
