// SPDX-License-Identifier: MIT
/* The heap and registry: size classes, allocation, exhaustion, generations, reclamation, audit. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../helpers.h"
#include "heap.h"
#include "registry.h"

static bool alive[RL_MAX_DOMAINS + 1];

static void test_classes(void)
{
	t_assert_eq(rl_class_for(0), 0);
	t_assert_eq(rl_class_for(64), 0);
	t_assert_eq(rl_class_for(65), 1);
	t_assert_eq(rl_class_for(4096), 3);
	t_assert_eq(rl_class_for(65536), 5);
	t_assert_eq(rl_class_for(65537), -1);
}

static void test_layout(struct rl_heap *h)
{
	t_assert(h->base == (void *)RL_HEAP_BASE);
	for (unsigned c = 0; c < RL_NCLASSES; c++) {
		uint32_t first = h->hdr->class_first[c];
		uint8_t *p = rl_heap_slot_ptr(h, first);
		/* Objects are aligned to their class size and inside the heap. */
		t_assert(((uintptr_t)p & (rl_class_size(c) - 1)) == 0);
		uint32_t last = first + h->hdr->class_count[c] - 1;
		t_assert((uint8_t *)rl_heap_slot_ptr(h, last) + rl_class_size(c) <= h->base + h->size);
	}
}

static void test_alloc_free(struct rl_heap *h)
{
	uint32_t s[RL_NCLASSES];
	char why[256];

	alive[1] = alive[2] = true;
	for (unsigned c = 0; c < RL_NCLASSES; c++) {
		t_assert_eq(rl_registry_alloc(h, c, 1, &s[c]), 0);
		t_assert_eq(h->objs[s[c]].cls, c);
		t_assert_eq(h->objs[s[c]].owner, 1);
		memset(rl_heap_slot_ptr(h, s[c]), 0x5a, rl_class_size(c)); /* the whole slot is usable */
	}
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), 0);
	uint32_t gen = h->objs[s[3]].gen;
	int err = 0;
	t_assert(rl_registry_resolve(h, (rl_rref){ s[3], gen }, &err) != NULL);
	rl_registry_free(h, s[3]);
	t_assert_eq(h->objs[s[3]].gen, gen + 1);
	t_assert(rl_registry_resolve(h, (rl_rref){ s[3], gen }, &err) == NULL);
	t_assert_eq(err, -ESTALE);
	t_assert(rl_registry_resolve(h, (rl_rref){ h->hdr->nslots, 1 }, &err) == NULL);
	t_assert_eq(err, -EINVAL);
	/* The slot comes back with the new generation. */
	uint32_t again;
	t_assert_eq(rl_registry_alloc(h, 3, 2, &again), 0);
	t_assert_eq(again, s[3]);
	t_assert_eq(h->objs[again].gen, gen + 1);
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), 0);
	for (unsigned c = 0; c < RL_NCLASSES; c++)
		rl_registry_free(h, c == 3 ? again : s[c]);
}

static void test_exhaustion(struct rl_heap *h)
{
	unsigned c = RL_NCLASSES - 1;
	uint32_t n = h->hdr->class_count[c], slot, taken = 0;
	char why[256];

	while (rl_registry_alloc(h, c, 1, &slot) == 0)
		taken++;
	t_assert_eq(taken, n);
	t_assert_eq(rl_registry_alloc(h, c, 1, &slot), -ENOMEM);
	t_assert_eq(rl_registry_alloc(h, RL_NCLASSES, 1, &slot), -ENOMEM);
	/* The other classes are unaffected. */
	t_assert_eq(rl_registry_alloc(h, 0, 1, &slot), 0);
	rl_registry_free(h, slot);
	/* Reclaiming owner 1 frees them all. */
	t_assert_eq(rl_registry_reclaim(h, 1), n);
	t_assert_eq(h->free_top[c], n);
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), 0);
}

static void test_reclaim_with_loans(struct rl_heap *h)
{
	uint16_t *expect = calloc(h->hdr->nslots, sizeof(uint16_t));
	uint32_t lent, kept;
	char why[256];

	t_assert_eq(rl_registry_alloc(h, 1, 2, &lent), 0);
	t_assert_eq(rl_registry_alloc(h, 1, 2, &kept), 0);
	h->objs[lent].borrows = 1;
	expect[lent] = 1;
	t_assert_eq(rl_registry_audit(h, alive, expect, why, sizeof(why)), 0);
	alive[2] = false;
	t_assert_eq(rl_registry_reclaim(h, 2), 1); /* kept freed now, lent deferred */
	t_assert_eq(h->objs[lent].state, RL_OBJ_ORPHAN);
	t_assert_eq(h->objs[kept].state, RL_OBJ_FREE);
	t_assert_eq(rl_registry_audit(h, alive, expect, why, sizeof(why)), 0);
	rl_registry_unborrow(h, lent);
	expect[lent] = 0;
	t_assert_eq(h->objs[lent].state, RL_OBJ_FREE);
	t_assert_eq(rl_registry_audit(h, alive, expect, why, sizeof(why)), 0);
	alive[2] = true;
	free(expect);
}

static void test_audit_catches(struct rl_heap *h)
{
	uint32_t s;
	char why[256];

	/* An object owned by a dead domain is a leak. */
	t_assert_eq(rl_registry_alloc(h, 0, 5, &s), 0);
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), -EUCLEAN);
	t_assert(strstr(why, "leaked") != NULL);
	rl_registry_free(h, s);
	/* A loan nobody accounts for. */
	t_assert_eq(rl_registry_alloc(h, 0, 1, &s), 0);
	h->objs[s].borrows = 2;
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), -EUCLEAN);
	t_assert(strstr(why, "loans") != NULL);
	h->objs[s].borrows = 0;
	rl_registry_free(h, s);
	/* A free slot missing from every free list. */
	t_assert_eq(rl_registry_alloc(h, 0, 1, &s), 0);
	h->objs[s].state = RL_OBJ_FREE;
	h->objs[s].owner = 0;
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), -EUCLEAN);
	h->objs[s].state = RL_OBJ_OWNED;
	h->objs[s].owner = 1;
	rl_registry_free(h, s);
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), 0);
	/* An owner list that lost a slot (reclaim would miss it). */
	uint32_t a, b2;
	t_assert_eq(rl_registry_alloc(h, 0, 1, &a), 0);
	t_assert_eq(rl_registry_alloc(h, 0, 1, &b2), 0);
	uint32_t saved = h->own_next[b2];
	h->own_next[b2] = UINT32_MAX; /* b2 is the head: cut a off the list */
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), -EUCLEAN);
	t_assert(strstr(why, "owner list") != NULL || strstr(why, "owned slots") != NULL);
	h->own_next[b2] = saved;
	/*
	 * A stolen object: only its owner word rewritten (domain 2 takes domain
	 * 1's), as a write into the registry from outside the broker would do.
	 * Every per-object invariant still holds: one owner, alive, no loans.
	 * The owner lists and totals are what catch it.
	 */
	h->objs[a].owner = 2;
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), -EUCLEAN);
	t_assert(strstr(why, "owner list of domain 1 is broken") != NULL);
	h->objs[a].owner = 1;
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), 0);
	/* Ownership moves keep the lists right. */
	rl_registry_set_owner(h, a, 2);
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), 0);
	t_assert_eq(rl_registry_reclaim(h, 2), 1);
	t_assert_eq(h->objs[a].state, RL_OBJ_FREE);
	t_assert_eq(h->objs[b2].state, RL_OBJ_OWNED);
	rl_registry_free(h, b2);
	t_assert_eq(rl_registry_audit(h, alive, NULL, why, sizeof(why)), 0);
}

int main(void)
{
	struct rl_heap h;
	int ret;

	test_classes();
	t_assert_eq(rl_heap_create(&h, 1024, false), -EINVAL);
	ret = rl_heap_create(&h, 16 << 20, false);
	if (ret) {
		fprintf(stderr, "rl_heap_create: %s\n", strerror(-ret));
		return 1;
	}
	/* A second heap cannot take the same fixed address. */
	struct rl_heap h2;
	t_assert(rl_heap_create(&h2, 16 << 20, false) < 0);
	test_layout(&h);
	test_alloc_free(&h);
	test_exhaustion(&h);
	test_reclaim_with_loans(&h);
	test_audit_catches(&h);
	/* The registry descriptor handed to domains is read-only. */
	int ro = rl_heap_registry_ro_fd(&h);
	t_assert(ro >= 0);
	t_assert(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED);
	/*
	 * Nor can a read-only mapping be made writable afterwards (a domain
	 * may mprotect): its header holds broker_sleeping, which decides
	 * whether producers ring the broker's bell.
	 */
	void *view = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
	t_assert(view != MAP_FAILED);
	if (view != MAP_FAILED) {
		t_assert(mprotect(view, 4096, PROT_READ | PROT_WRITE) < 0);
		munmap(view, 4096);
	}
	close(ro);
	rl_heap_destroy(&h);
	return t_result();
}
