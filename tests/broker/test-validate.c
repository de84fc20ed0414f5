// SPDX-License-Identifier: MIT
/*
 * Validation of every argument kind, on the in-process broker (bed.c):
 * d1 calls d2's Test through a capability, and each call either reaches d2
 * as an invocation or comes back to d1 as the broker's rejection with the
 * errno that names what was wrong. A rejected call must change nothing in
 * the registry; an accepted one moves, lends and grants exactly what its
 * parameters say. Replies are validated the same way.
 */
#include <errno.h>
#include <string.h>

#include "../../src/broker/caps.h"
#include "../helpers.h"
#include "bed.h"
#include "redleaf_idl.h"

enum { CALLER = 1, CALLEE = 2, OTHER = 3 };

static struct t_bed bed;
static struct broker *b;
static rl_cap cap;
static uint64_t next_tag = 1;

/* The delivered invocation of the last call (valid after call() returned 1). */
static struct rl_msg invoked;

/* Who owns the object a wire handle names, and its borrow count. */
static unsigned owner(uint64_t wire)
{
	rl_rref r = rl_rref_from_wire(wire);
	const struct rl_obj *o = &b->heap.objs[r.slot];
	return o->state == RL_OBJ_OWNED ? o->owner : 0;
}

static unsigned borrows(uint64_t wire)
{
	return b->heap.objs[rl_rref_from_wire(wire).slot].borrows;
}

static void *ptr(uint64_t wire)
{
	return rl_heap_slot_ptr(&b->heap, rl_rref_from_wire(wire).slot);
}

/*
 * d1 calls method with args through handle c. Returns 1 when the callee got
 * it (in `invoked`), else the status of the broker's rejection (0 would be
 * a completion without a rejection: a failure of the test).
 */
static int call_via(rl_cap c, uint16_t method, uint64_t a0, uint64_t a1)
{
	struct rl_msg m = { .kind = RL_MSG_CALL, .cap = c, .method = method, .tag = next_tag++ };
	struct rl_msg got;

	m.arg[0] = a0;
	m.arg[1] = a1;
	t_assert(t_bed_post(&bed, CALLER, &m));
	t_bed_run(&bed);
	if (t_bed_take(&bed, CALLEE, &invoked)) {
		t_assert_eq(invoked.kind, RL_MSG_INVOKE);
		t_assert_eq(invoked.method, method);
		t_assert(!t_bed_take(&bed, CALLER, &got));
		return 1;
	}
	t_assert(t_bed_take(&bed, CALLER, &got));
	t_assert_eq(got.kind, RL_MSG_COMPLETE);
	t_assert_eq(got.tag, m.tag);
	t_assert(got.flags & RL_MSG_F_BROKER);
	t_assert(got.status < 0);
	return got.status;
}

static int call(uint16_t method, uint64_t a0, uint64_t a1)
{
	return call_via(cap, method, a0, a1);
}

/* The callee answers the last invocation; returns the caller's completion status (and *ret). */
static int reply(int status, uint64_t result, uint64_t *ret, bool *from_broker)
{
	struct rl_msg m = { .kind = RL_MSG_REPLY, .tag = invoked.tag, .status = status };
	struct rl_msg got = { 0 };

	m.arg[0] = result;
	t_assert(t_bed_post(&bed, CALLEE, &m));
	t_bed_run(&bed);
	t_assert(t_bed_take(&bed, CALLER, &got));
	t_assert_eq(got.kind, RL_MSG_COMPLETE);
	if (ret)
		*ret = got.arg[0];
	if (from_broker)
		*from_broker = got.flags & RL_MSG_F_BROKER;
	return got.status;
}

static void audit(const char *when)
{
	t_assert(t_bed_audit(&bed, when));
}

static void scalars(void)
{
	/* 64-bit scalars: anything goes, and reaches the callee as sent. */
	t_assert_eq(call(RL_METHOD_Test_add, ~0ull, 7), 1);
	t_assert_eq(invoked.arg[0], ~0ull);
	t_assert_eq(invoked.arg[1], 7);
	t_assert_eq(reply(0, 6, NULL, NULL), 0);
	/* i32: the word must be a 32-bit pattern. */
	t_assert_eq(call(RL_METHOD_Test_neg, 1ull << 32, 0), -EINVAL);
	t_assert_eq(call(RL_METHOD_Test_neg, 0xffffffffull, 0), 1);
	/* ... and so must the callee's result: a wider one is the callee's fault. */
	bool broker;
	t_assert_eq(reply(0, 1ull << 40, NULL, &broker), -EPROTO);
	t_assert(broker);
	/* u32 and u64 together (slow_make): the narrow one is checked. */
	t_assert_eq(call(RL_METHOD_Test_slow_make, 1ull << 33, 5), -EINVAL);
	/* Words past a method's parameters are not forwarded. */
	t_assert_eq(call(RL_METHOD_Test_null, 0x1234, 0x5678), 1);
	t_assert_eq(invoked.arg[0], 0);
	t_assert_eq(reply(0, 0, NULL, NULL), 0);
	/* A status out of the errno range, or positive, from the callee: -EPROTO. */
	t_assert_eq(call(RL_METHOD_Test_null, 0, 0), 1);
	t_assert_eq(reply(5, 0, NULL, &broker), -EPROTO);
	t_assert(broker);
	t_assert_eq(call(RL_METHOD_Test_null, 0, 0), 1);
	t_assert_eq(reply(-100000, 0, NULL, &broker), -EPROTO);
	/* A callee's own error goes through as its own. */
	t_assert_eq(call(RL_METHOD_Test_null, 0, 0), 1);
	t_assert_eq(reply(-ENOSPC, 0, NULL, &broker), -ENOSPC);
	t_assert(!broker);
}

static void handles_and_methods(void)
{
	t_assert_eq(call(999, 0, 0), -ENOSYS);
	t_assert_eq(call_via(RL_MAX_CAPS + 5, RL_METHOD_Test_null, 0, 0), -EBADF);
	t_assert_eq(call_via(40 | (7u << 16), RL_METHOD_Test_null, 0, 0), -EBADF); /* an unused slot */
	/* The callee restarted since the grant: the old handle is stale. */
	b->dom[CALLEE].incarnation++;
	t_assert_eq(call(RL_METHOD_Test_null, 0, 0), -ESTALE);
	rl_cap fresh = t_bed_grant(&bed, CALLER, CALLEE, RL_IFACE_Test);
	t_assert(fresh != cap);
	t_assert_eq(call_via(cap, RL_METHOD_Test_null, 0, 0), -ESTALE); /* the old one stays stale */
	cap = fresh;
	/* A callee that is not running: -EHOSTDOWN, and nothing reaches it. */
	atomic_store(&b->dom[CALLEE].state, DOM_DEAD);
	t_assert_eq(call(RL_METHOD_Test_null, 0, 0), -EHOSTDOWN);
	atomic_store(&b->dom[CALLEE].state, DOM_RUNNING);
	t_assert_eq(call(RL_METHOD_Test_null, 0, 0), 1);
	t_assert_eq(reply(0, 0, NULL, NULL), 0);
}

static void moves(void)
{
	uint64_t mine = t_bed_alloc(&bed, CALLER, sizeof(struct payload));
	uint64_t theirs = t_bed_alloc(&bed, OTHER, sizeof(struct payload));
	uint64_t small = t_bed_alloc(&bed, CALLER, 64);

	/* Not the caller's: refused, ownership untouched. */
	t_assert_eq(call(RL_METHOD_Test_take, theirs, 0), -EPERM);
	t_assert_eq(owner(theirs), OTHER);
	t_assert_eq(call(RL_METHOD_Test_take, rl_rref_to_wire((rl_rref)RL_RREF_NULL), 0), -EINVAL);
	/* A handle of an earlier life of the slot, and one past the heap. */
	rl_rref stale = rl_rref_from_wire(mine);
	stale.gen++;
	t_assert(call(RL_METHOD_Test_take, rl_rref_to_wire(stale), 0) < 0);
	rl_rref past = { .slot = b->heap.hdr->nslots + 3, .gen = 1 };
	t_assert(call(RL_METHOD_Test_take, rl_rref_to_wire(past), 0) < 0);
	/* Too small for the declared type. */
	t_assert_eq(call(RL_METHOD_Test_take_big, small, 0), -EMSGSIZE);
	t_assert_eq(owner(small), CALLER);
	/* Stamped as another type. */
	b->heap.objs[rl_rref_from_wire(small).slot].type_id = rl_idl_ifaces[RL_IFACE_Test]
		.methods[RL_METHOD_Test_sum_list].params[0].id;
	t_assert_eq(call(RL_METHOD_Test_take, small, 0), -EPROTOTYPE);
	t_assert_eq(owner(small), CALLER);
	/* A good move: the callee owns it when it is invoked. */
	t_assert_eq(call(RL_METHOD_Test_take, mine, 0), 1);
	t_assert_eq(owner(mine), CALLEE);
	t_assert_eq(invoked.arg[0], mine);
	t_assert_eq(reply(0, 0, NULL, NULL), 0);
	/* The caller cannot move it again: it is not its any more. */
	t_assert_eq(call(RL_METHOD_Test_take, mine, 0), -EPERM);
	audit("after moves");
}

static void graphs(void)
{
	uint64_t a = t_bed_alloc(&bed, CALLER, sizeof(struct node));
	uint64_t c = t_bed_alloc(&bed, CALLER, sizeof(struct node));
	uint64_t foreign = t_bed_alloc(&bed, OTHER, sizeof(struct node));
	struct node *na = ptr(a), *nc = ptr(c);

	/* a -> foreign: one object of the graph is not the caller's; nothing moves. */
	memset(na, 0, sizeof(*na));
	memset(nc, 0, sizeof(*nc));
	memcpy(&na->next, &foreign, sizeof(foreign));
	t_assert_eq(call(RL_METHOD_Test_sum_list, a, 0), -EPERM);
	t_assert_eq(owner(a), CALLER);
	t_assert_eq(owner(foreign), OTHER);
	/* a -> a: reachable twice is no single-owner graph. */
	memcpy(&na->next, &a, sizeof(a));
	t_assert_eq(call(RL_METHOD_Test_sum_list, a, 0), -EINVAL);
	/* a -> c -> a: a cycle through two. */
	memcpy(&na->next, &c, sizeof(c));
	memcpy(&nc->next, &a, sizeof(a));
	t_assert_eq(call(RL_METHOD_Test_sum_list, a, 0), -EINVAL);
	t_assert_eq(owner(a), CALLER);
	t_assert_eq(owner(c), CALLER);
	/* a -> c: the whole graph moves. */
	uint64_t null = rl_rref_to_wire(RL_RREF_NULL);
	memcpy(&nc->next, &null, sizeof(null));
	t_assert_eq(call(RL_METHOD_Test_sum_list, a, 0), 1);
	t_assert_eq(owner(a), CALLEE);
	t_assert_eq(owner(c), CALLEE);
	t_assert_eq(reply(0, 0, NULL, NULL), 0);
	audit("after graphs");
}

static void loans(void)
{
	uint64_t p = t_bed_alloc(&bed, CALLER, sizeof(struct payload));
	uint64_t theirs = t_bed_alloc(&bed, OTHER, sizeof(struct payload));

	t_assert_eq(call(RL_METHOD_Test_peek, theirs, 0), -EPERM);
	t_assert_eq(borrows(theirs), 0);
	/* fill(&payload, u8): the u8 is checked, and a refused call lends nothing. */
	t_assert_eq(call(RL_METHOD_Test_fill, p, 256), -EINVAL);
	t_assert_eq(borrows(p), 0);
	/* A loan: the caller keeps it, the count is up while the call is in flight. */
	t_assert_eq(call(RL_METHOD_Test_fill, p, 255), 1);
	t_assert_eq(owner(p), CALLER);
	t_assert_eq(borrows(p), 1);
	audit("with a loan in flight");
	/* While lent out it cannot be moved. */
	struct rl_msg saved = invoked;
	t_assert_eq(call(RL_METHOD_Test_take, p, 0), -EPERM);
	invoked = saved;
	t_assert_eq(reply(0, 0, NULL, NULL), 0);
	t_assert_eq(borrows(p), 0);
	audit("after the loan");
}

static void capabilities(void)
{
	/* call_null(peer: Test): the callee gets a handle of its own to the same export. */
	t_assert_eq(call(RL_METHOD_Test_call_null, cap, 0), 1);
	rl_cap got = (rl_cap)invoked.arg[0];
	int err;
	const struct cap_entry *e = rl_caps_resolve(&b->dom[CALLEE], got, &err);
	t_assert(e != NULL);
	if (e) {
		t_assert_eq(e->target, CALLEE);
		t_assert_eq(e->iface, RL_IFACE_Test);
	}
	t_assert_eq(reply(0, 0, NULL, NULL), 0);
	/* A handle that names nothing: -EBADF. */
	t_assert_eq(call(RL_METHOD_Test_call_null, 55, 0), -EBADF);
	t_assert_eq(call(RL_METHOD_Test_call_null, 1ull << 40, 0), -EBADF);
}

static void returned_objects(void)
{
	uint64_t ret = 0;
	bool broker;

	/* make(): the callee returns an object it owns; the caller owns it after. */
	uint64_t made = t_bed_alloc(&bed, CALLEE, sizeof(struct payload));
	t_assert_eq(call(RL_METHOD_Test_make, 1, 0), 1);
	t_assert_eq(reply(0, made, &ret, &broker), 0);
	t_assert_eq(ret, made);
	t_assert_eq(owner(made), CALLER);
	/* ... but not one it does not own: the caller gets -EPROTO, nothing moves. */
	uint64_t other = t_bed_alloc(&bed, OTHER, sizeof(struct payload));
	t_assert_eq(call(RL_METHOD_Test_make, 1, 0), 1);
	t_assert_eq(reply(0, other, &ret, &broker), -EPROTO);
	t_assert(broker);
	t_assert_eq(owner(other), OTHER);
	/* A reply to nothing (a forged tag) reaches nobody and is counted. */
	uint64_t rejected = atomic_load(&b->dom[CALLEE].rejected);
	struct rl_msg forged = { .kind = RL_MSG_REPLY, .tag = 0x7777000012ull };
	struct rl_msg got;
	t_assert(t_bed_post(&bed, CALLEE, &forged));
	t_bed_run(&bed);
	t_assert(!t_bed_take(&bed, CALLER, &got));
	t_assert_eq(atomic_load(&b->dom[CALLEE].rejected), rejected + 1);
	audit("after replies");
}

int main(void)
{
	b = t_bed_setup(&bed, 3, 16ull << 20);
	t_bed_export(&bed, CALLEE, RL_IFACE_Test);
	cap = t_bed_grant(&bed, CALLER, CALLEE, RL_IFACE_Test);
	t_assert(cap != RL_CAP_INVALID);

	scalars();
	handles_and_methods();
	moves();
	graphs();
	loans();
	capabilities();
	returned_objects();
	audit("at the end");
	t_bed_destroy(&bed);
	return t_result();
}
