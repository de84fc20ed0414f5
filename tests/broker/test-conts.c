// SPDX-License-Identifier: MIT
/*
 * Continuations: the table runs out cleanly and hands a slot back with a
 * new generation, a reply's tag must name a live continuation of the
 * replying callee, a caller's calls in flight are bounded, and loans are
 * listed per callee so a callee may re-lend only what it was lent, for as
 * long as it serves the call.
 */
#include <errno.h>
#include <string.h>

#include "../../src/broker/conts.h"
#include "../helpers.h"
#include "bed.h"
#include "redleaf_idl.h"

static struct t_bed bed;
static struct broker *b;

static void table(void)
{
	static uint32_t got[RL_MAX_CONTS];
	uint32_t n = 0, idx;

	while ((idx = rl_conts_alloc(b)) != UINT32_MAX) {
		t_assert(idx < RL_MAX_CONTS);
		t_assert(b->conts[idx].used);
		got[n++] = idx;
		if (n > RL_MAX_CONTS)
			break;
	}
	t_assert_eq(n, RL_MAX_CONTS);
	/* A tag names index and generation: right only while that continuation lives. */
	uint32_t i = got[77];
	uint32_t gen = b->conts[i].gen;
	uint64_t tag = (uint64_t)gen << 32 | i;
	uint32_t out = 0;
	t_assert(rl_conts_from_tag(b, tag, &out) == &b->conts[i] && out == i);
	t_assert(rl_conts_from_tag(b, (uint64_t)(gen + 1) << 32 | i, &out) == NULL);
	t_assert(rl_conts_from_tag(b, (uint64_t)gen << 32 | RL_MAX_CONTS, &out) == NULL);
	rl_conts_free(b, i);
	t_assert(rl_conts_from_tag(b, tag, &out) == NULL); /* ended: a late or replayed reply names nothing */
	t_assert_eq(rl_conts_alloc(b), i);
	t_assert_eq(b->conts[i].gen, gen + 1);
	for (uint32_t k = 0; k < n; k++)
		rl_conts_free(b, got[k]);
	t_assert_eq(rl_conts_alloc(b), got[n - 1]); /* all back on the free list */
	rl_conts_free(b, got[n - 1]);
}

static struct rl_msg call(unsigned from, rl_cap cap, uint16_t method, uint64_t a0, uint64_t tag)
{
	struct rl_msg m = { .kind = RL_MSG_CALL, .cap = cap, .method = method, .tag = tag };
	m.arg[0] = a0;
	t_assert(t_bed_post(&bed, from, &m));
	return m;
}

static void outstanding(void)
{
	rl_cap cap = t_bed_grant(&bed, 1, 2, RL_IFACE_Test);
	struct rl_msg m;
	unsigned delivered = 0, refused = 0;

	/* More calls than a domain may have in flight, in batches that fit its ring. */
	for (unsigned i = 0; i < RL_MAX_OUTSTANDING + 10; i++) {
		call(1, cap, RL_METHOD_Test_null, 0, 1000 + i);
		if (i % 200 == 199 || i == RL_MAX_OUTSTANDING + 9) {
			t_bed_run(&bed);
			while (t_bed_take(&bed, 2, &m))
				delivered++;
			while (t_bed_take(&bed, 1, &m)) {
				t_assert_eq(m.status, -EAGAIN);
				refused++;
			}
		}
	}
	t_assert_eq(delivered, RL_MAX_OUTSTANDING);
	t_assert_eq(refused, 10);
	t_assert_eq(b->dom[1].outstanding, RL_MAX_OUTSTANDING);
}

static void replies_name_their_own(void)
{
	rl_cap cap = t_bed_grant(&bed, 3, 4, RL_IFACE_Test);
	struct rl_msg inv, got;

	call(3, cap, RL_METHOD_Test_null, 0, 42);
	t_bed_run(&bed);
	t_assert(t_bed_take(&bed, 4, &inv));
	/* Another domain answering d4's invocation: refused, counted, the call stays open. */
	struct rl_msg r = { .kind = RL_MSG_REPLY, .tag = inv.tag };
	uint64_t rejected = atomic_load(&b->dom[2].rejected);
	t_assert(t_bed_post(&bed, 2, &r));
	t_bed_run(&bed);
	t_assert(!t_bed_take(&bed, 3, &got));
	t_assert_eq(atomic_load(&b->dom[2].rejected), rejected + 1);
	/* d4's reply completes it, once: the same reply again is counted and dropped. */
	t_assert(t_bed_post(&bed, 4, &r));
	t_assert(t_bed_post(&bed, 4, &r));
	t_bed_run(&bed);
	t_assert(t_bed_take(&bed, 3, &got));
	t_assert_eq(got.tag, 42);
	t_assert_eq(got.status, 0);
	t_assert(!t_bed_take(&bed, 3, &got));
	t_assert_eq(atomic_load(&b->dom[4].rejected), 1);
}

static void loans(void)
{
	/* d5 lends p to d6 (peek); d6 re-lends it to d7 while serving; then no more. */
	rl_cap to6 = t_bed_grant(&bed, 5, 6, RL_IFACE_Test);
	rl_cap to7 = t_bed_grant(&bed, 6, 7, RL_IFACE_Test);
	uint64_t p = t_bed_alloc(&bed, 5, sizeof(struct payload));
	uint32_t slot = rl_rref_from_wire(p).slot;
	struct rl_msg inv6, inv7, got;

	call(5, to6, RL_METHOD_Test_peek, p, 1);
	t_bed_run(&bed);
	t_assert(t_bed_take(&bed, 6, &inv6));
	t_assert(rl_conts_holds_loan(b, &b->dom[6], slot));
	t_assert(!rl_conts_holds_loan(b, &b->dom[7], slot));
	call(6, to7, RL_METHOD_Test_peek, p, 2);
	t_bed_run(&bed);
	t_assert(t_bed_take(&bed, 7, &inv7));
	t_assert_eq(b->heap.objs[slot].borrows, 2);
	t_assert(rl_conts_holds_loan(b, &b->dom[7], slot));
	/* d7 may not move what it only borrows. */
	rl_cap to5 = t_bed_grant(&bed, 7, 5, RL_IFACE_Test);
	call(7, to5, RL_METHOD_Test_take, p, 3);
	t_bed_run(&bed);
	t_assert(t_bed_take(&bed, 7, &got));
	t_assert_eq(got.status, -EPERM);
	/* Replies end the loans, innermost first. */
	struct rl_msg r7 = { .kind = RL_MSG_REPLY, .tag = inv7.tag };
	t_assert(t_bed_post(&bed, 7, &r7));
	t_bed_run(&bed);
	t_assert(t_bed_take(&bed, 6, &got));
	t_assert_eq(b->heap.objs[slot].borrows, 1);
	t_assert(!rl_conts_holds_loan(b, &b->dom[7], slot));
	struct rl_msg r6 = { .kind = RL_MSG_REPLY, .tag = inv6.tag };
	t_assert(t_bed_post(&bed, 6, &r6));
	t_bed_run(&bed);
	t_assert(t_bed_take(&bed, 5, &got));
	t_assert_eq(b->heap.objs[slot].borrows, 0);
	t_assert(!rl_conts_holds_loan(b, &b->dom[6], slot));
	/* After the call d6 cannot lend it on. */
	call(6, to7, RL_METHOD_Test_peek, p, 4);
	t_bed_run(&bed);
	t_assert(t_bed_take(&bed, 6, &got));
	t_assert_eq(got.status, -EPERM);
	t_assert(t_bed_audit(&bed, "after the loans"));
}

int main(void)
{
	b = t_bed_setup(&bed, 7, 4ull << 20);
	for (unsigned i = 2; i <= 7; i++)
		t_bed_export(&bed, i, RL_IFACE_Test);
	table();
	outstanding();
	replies_name_their_own();
	loans();
	t_bed_destroy(&bed);
	return t_result();
}
