/* SPDX-License-Identifier: MIT */
/*
 * The broker's side of the heap and its registry: creating them, and every
 * change of ownership. Domains map the registry read-only and never see
 * these (shm/heap.h is what they share).
 */
#ifndef REDLEAF_REGISTRY_H
#define REDLEAF_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "heap.h"

/*
 * Creates the heap (size bytes, rounded to whole regions) and the registry,
 * maps both in this process and seals them. Returns 0 or a negative errno
 * (-EINVAL for a size outside RL_HEAP_MIN..RL_HEAP_MAX, -EEXIST when
 * RL_HEAP_BASE is taken).
 */
int rl_heap_create(struct rl_heap *h, uint64_t size, bool hugepages);
void rl_heap_destroy(struct rl_heap *h);

/* A read-only descriptor of the registry, for a domain to map (caller closes it). */
int rl_heap_registry_ro_fd(const struct rl_heap *h);

/* Takes a free slot of class cls for owner. Returns 0 or -ENOMEM. */
int rl_registry_alloc(struct rl_heap *h, unsigned cls, uint16_t owner, uint32_t *slot);

/* Gives an owned slot to another domain (ownership moves with a call). */
void rl_registry_set_owner(struct rl_heap *h, uint32_t slot, uint16_t owner);

/* Frees an owned or orphaned slot: bumps its generation, clears type and owner. */
void rl_registry_free(struct rl_heap *h, uint32_t slot);

/*
 * Resolves a wire handle: slot in range, generation current, not free.
 * Returns the entry or NULL with *err set (-EINVAL, -ESTALE).
 */
struct rl_obj *rl_registry_resolve(struct rl_heap *h, rl_rref r, int *err);

/* Drops one loan; frees an orphan whose last loan ended. */
void rl_registry_unborrow(struct rl_heap *h, uint32_t slot);

/*
 * Reclaims everything owner holds: owned objects are freed, lent-out ones
 * become orphans. Returns the number of objects freed now.
 */
unsigned rl_registry_reclaim(struct rl_heap *h, uint16_t owner);

/* Per-owner totals (objects and bytes), indexed by domain id 0..RL_MAX_DOMAINS. */
struct rl_heap_usage {
	uint64_t objects[RL_MAX_DOMAINS + 1];
	uint64_t bytes[RL_MAX_DOMAINS + 1];
	uint64_t orphans;
	uint64_t free_slots;
};
void rl_registry_usage(const struct rl_heap *h, struct rl_heap_usage *u);

/*
 * Checks the registry's invariants: every slot is free (on exactly one free
 * list, no owner, no loans), owned by a live domain (alive[owner]), or an
 * orphan with loans; and every slot's loan count equals expected_borrows[slot]
 * (as the broker's continuations account for them), and every owned slot is
 * on its owner's list exactly once. On failure writes the first violation to
 * why and returns -EUCLEAN.
 */
int rl_registry_audit(const struct rl_heap *h, const bool *alive, const uint16_t *expected_borrows,
		      char *why, size_t whylen);

#endif /* REDLEAF_REGISTRY_H */
