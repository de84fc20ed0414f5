/* SPDX-License-Identifier: MIT */
/*
 * The shared RRef heap and its ownership registry.
 *
 * The heap is one sealed memfd mapped read-write at RL_HEAP_BASE in the
 * broker and in every domain, so an object's address is the same everywhere.
 * It is split into one region per size class; a slot index names one object
 * across all classes. The registry is a second memfd: a header page, then
 * one struct rl_obj per slot. Only the broker maps it writable; domains map
 * it read-only and can check "do I own this?" without a call.
 */
#ifndef REDLEAF_HEAP_H
#define REDLEAF_HEAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redleaf/types.h"

#define RL_HEAP_BASE 0x200000000000UL
#define RL_HEAP_MIN (4UL << 20)
#define RL_HEAP_MAX (16UL << 30)
#define RL_NCLASSES 6
#define RL_CLASS_MIN_SHIFT 6 /* 64 bytes; each class is 4x the previous: 64 .. 64 KiB */
#define RL_OBJ_MAX (64U << 10)
#define RL_REGION_ALIGN (64UL << 10)

static inline uint32_t rl_class_size(unsigned cls)
{
	return 1U << (RL_CLASS_MIN_SHIFT + 2 * cls);
}

/* Smallest class holding size bytes, or -1 when size exceeds RL_OBJ_MAX. */
static inline int rl_class_for(size_t size)
{
	for (unsigned c = 0; c < RL_NCLASSES; c++)
		if (size <= rl_class_size(c))
			return (int)c;
	return -1;
}

/* Registry owners: 0 is "nobody" (free), domains are 1..RL_MAX_DOMAINS. */
#define RL_OWNER_NONE 0

enum rl_obj_state {
	RL_OBJ_FREE = 0,   /* on the broker's free list */
	RL_OBJ_OWNED = 1,  /* owned by obj->owner (in its magazine or in use) */
	RL_OBJ_ORPHAN = 2, /* owner died while the object was lent out; freed at borrows == 0 */
};

/* One registry entry per heap slot; written only by the broker. */
struct rl_obj {
	uint32_t gen;     /* bumped every time the slot is freed */
	uint16_t owner;   /* domain id, or RL_OWNER_NONE */
	uint16_t type_id; /* IDL type, stamped when the object first crosses a boundary; 0 before */
	uint16_t borrows; /* outstanding &rref loans */
	uint8_t cls;      /* size class (fixed per slot) */
	uint8_t state;    /* enum rl_obj_state */
	uint32_t reserved;
};

static_assert(sizeof(struct rl_obj) == 16, "registry entry layout");

#define RL_HEAP_MAGIC 0x524c4850u /* "RLHP" */
#define RL_REGISTRY_HDR 4096

/* The registry's first page. */
struct rl_heap_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t heap_size;
	uint32_t nslots;
	uint32_t class_first[RL_NCLASSES]; /* first slot of each class */
	uint32_t class_count[RL_NCLASSES];
	uint64_t class_offset[RL_NCLASSES]; /* byte offset of each class region in the heap */
	/* Set by the broker before it sleeps: a producer must ring the bell. */
	_Alignas(64) _Atomic uint32_t broker_sleeping;
};

static_assert(sizeof(struct rl_heap_hdr) <= RL_REGISTRY_HDR, "registry header fits its page");

/* A process's view of the heap and registry. */
struct rl_heap {
	uint8_t *base;
	uint64_t size;
	struct rl_heap_hdr *hdr;
	struct rl_obj *objs;
	size_t registry_size;
	int heap_fd;     /* broker only; -1 in domains after the launcher closed it */
	int registry_fd; /* broker only: read-write */
	/* Broker only: per-class free stacks. */
	uint32_t *free_stack[RL_NCLASSES];
	uint32_t free_top[RL_NCLASSES];
	/*
	 * Broker only: every domain's owned slots as a doubly linked list, so a
	 * death reclaims what the domain owned without scanning the registry.
	 */
	uint32_t *own_next, *own_prev;
	uint32_t own_head[RL_MAX_DOMAINS + 1];
	/*
	 * Broker only: what each domain's list holds, kept with the list (so
	 * quotas cost no scan): objects in all, per size class, and bytes.
	 */
	uint32_t own_objects[RL_MAX_DOMAINS + 1];
	uint32_t own_class[RL_MAX_DOMAINS + 1][RL_NCLASSES];
	uint64_t own_bytes[RL_MAX_DOMAINS + 1];
	/* Broker only: a mark per slot for walks of object graphs (the broker's graph_epoch). */
	uint32_t *graph_mark;
};

/* Address of a slot's object. slot must be < nslots. */
static inline void *rl_heap_slot_ptr(const struct rl_heap *h, uint32_t slot)
{
	const struct rl_heap_hdr *hd = h->hdr;
	unsigned c = h->objs[slot].cls;
	return h->base + hd->class_offset[c] +
	       (uint64_t)(slot - hd->class_first[c]) * rl_class_size(c);
}

/*
 * Domain side: maps a heap and registry handed over by the broker (heap
 * read-write at RL_HEAP_BASE, registry read-only) and checks the header.
 */
int rl_heap_attach(struct rl_heap *h, int heap_fd, int registry_fd);

#endif /* REDLEAF_HEAP_H */
