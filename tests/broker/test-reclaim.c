// SPDX-License-Identifier: MIT
/*
 * Reclamation after a death, as the proxy thread runs it (the event thread
 * only marks death_pending): the dead domain's objects are freed, those
 * lent to a call in flight once the loan ends; calls into it fail with
 * -ECONNRESET and what they moved into it is freed; replies it published
 * before dying still count; replies to it are discarded and what they
 * return is freed. The registry stays consistent at every step.
 */
#include <errno.h>
#include <string.h>

#include "../helpers.h"
#include "bed.h"
#include "redleaf_idl.h"

static struct t_bed bed;
static struct broker *b;

static void audit(const char *when)
{
	t_assert(t_bed_audit(&bed, when));
}

static uint8_t state(uint64_t wire)
{
	return b->heap.objs[rl_rref_from_wire(wire).slot].state;
}

static unsigned owner(uint64_t wire)
{
	return b->heap.objs[rl_rref_from_wire(wire).slot].owner;
}

static void post_call(unsigned from, rl_cap cap, uint16_t method, uint64_t a0, uint64_t tag)
{
	struct rl_msg m = { .kind = RL_MSG_CALL, .cap = cap, .method = method, .tag = tag };
	m.arg[0] = a0;
	t_assert(t_bed_post(&bed, from, &m));
}

static void die(unsigned who)
{
	atomic_store(&b->dom[who].death_pending, 1);
	t_bed_run(&bed);
	t_assert_eq(atomic_load(&b->dom[who].state), DOM_DEAD);
}

/* A caller dies with a loan and a move in flight, and objects of its own. */
static void caller_dies(void)
{
	rl_cap cap = t_bed_grant(&bed, 1, 2, RL_IFACE_Test);
	uint64_t kept = t_bed_alloc(&bed, 1, 64);
	uint64_t lent = t_bed_alloc(&bed, 1, sizeof(struct payload));
	uint64_t moved = t_bed_alloc(&bed, 1, sizeof(struct payload));
	uint64_t made = t_bed_alloc(&bed, 2, sizeof(struct payload));
	struct rl_msg peek, take, mk, got;

	post_call(1, cap, RL_METHOD_Test_peek, lent, 1);
	post_call(1, cap, RL_METHOD_Test_take, moved, 2);
	post_call(1, cap, RL_METHOD_Test_make, 9, 3);
	t_bed_run(&bed);
	t_assert(t_bed_take(&bed, 2, &peek));
	t_assert(t_bed_take(&bed, 2, &take));
	t_assert(t_bed_take(&bed, 2, &mk));
	audit("before the caller's death");

	die(1);
	t_assert_eq(state(kept), RL_OBJ_FREE);
	t_assert(state(lent) == RL_OBJ_ORPHAN); /* d2 may still read it until its call ends */
	t_assert_eq(owner(moved), 2);             /* moved before the death: d2's */
	audit("after the caller's death");

	/* The callee's replies to the dead caller: discarded; the loan ends; the returned object is freed. */
	struct rl_msg r = { .kind = RL_MSG_REPLY, .tag = peek.tag };
	t_assert(t_bed_post(&bed, 2, &r));
	r.tag = take.tag;
	t_assert(t_bed_post(&bed, 2, &r));
	r.tag = mk.tag;
	r.arg[0] = made;
	t_assert(t_bed_post(&bed, 2, &r));
	t_bed_run(&bed);
	t_assert(!t_bed_take(&bed, 1, &got));
	t_assert_eq(state(lent), RL_OBJ_FREE);
	t_assert_eq(state(made), RL_OBJ_FREE);
	t_assert_eq(owner(moved), 2);
	t_assert_eq(b->dom[2].outstanding, 0);
	audit("after the replies to the dead caller");
}

/* A callee dies with calls in flight into it, having replied to one of them. */
static void callee_dies(void)
{
	rl_cap cap = t_bed_grant(&bed, 3, 4, RL_IFACE_Test);
	uint64_t moved = t_bed_alloc(&bed, 3, sizeof(struct payload));
	uint64_t lent = t_bed_alloc(&bed, 3, sizeof(struct payload));
	struct rl_msg inv[3], got;

	post_call(3, cap, RL_METHOD_Test_null, 0, 10);
	post_call(3, cap, RL_METHOD_Test_take, moved, 11);
	post_call(3, cap, RL_METHOD_Test_peek, lent, 12);
	t_bed_run(&bed);
	for (unsigned i = 0; i < 3; i++)
		t_assert(t_bed_take(&bed, 4, &inv[i]));
	/* It replied to the first and then died before the broker read the reply. */
	struct rl_msg r = { .kind = RL_MSG_REPLY, .tag = inv[0].tag };
	t_assert(t_bed_post(&bed, 4, &r));
	rl_ring_publish(&bed.side[4].tx);
	die(4);
	int status[3] = { 1, 1, 1 };
	while (t_bed_take(&bed, 3, &got)) {
		t_assert(got.tag >= 10 && got.tag <= 12);
		if (got.tag >= 10 && got.tag <= 12)
			status[got.tag - 10] = got.status;
	}
	t_assert_eq(status[0], 0);            /* its last words count */
	t_assert_eq(status[1], -ECONNRESET);
	t_assert_eq(status[2], -ECONNRESET);
	t_assert_eq(state(moved), RL_OBJ_FREE); /* died with the callee */
	t_assert_eq(state(lent), RL_OBJ_OWNED); /* a loan ends with the call: the lender keeps it */
	t_assert_eq(owner(lent), 3);
	t_assert_eq(b->heap.objs[rl_rref_from_wire(lent).slot].borrows, 0);
	t_assert_eq(b->dom[3].outstanding, 0);
	/* Later calls: -EHOSTDOWN, nothing moves. */
	post_call(3, cap, RL_METHOD_Test_take, lent, 13);
	t_bed_run(&bed);
	t_assert(t_bed_take(&bed, 3, &got));
	t_assert_eq(got.status, -EHOSTDOWN);
	t_assert_eq(owner(lent), 3);
	audit("after the callee's death");
}

int main(void)
{
	b = t_bed_setup(&bed, 4, 4ull << 20);
	t_bed_export(&bed, 2, RL_IFACE_Test);
	t_bed_export(&bed, 4, RL_IFACE_Test);
	caller_dies();
	callee_dies();
	t_bed_destroy(&bed);
	return t_result();
}
