// SPDX-License-Identifier: MIT
/*
 * A hostile domain. It forges capabilities and RRefs, passes objects it does
 * not own or of the wrong type or size, builds cyclic graphs, calls methods
 * that do not exist with arguments out of range, writes garbage messages and
 * impossible ring indices, and rewrites requests after posting them. Each
 * attempt must fail with the expected error for this domain only, and the
 * registry audit must pass after each. Exits 0 when every check held.
 */
#include <errno.h>
#include <string.h>

#include "../testpair/check.h"
#include "heap.h"
#include "registry.h"
#include "redleaf_idl.h"
#include "runtime.h"

static rl_cap t;

#define AUDIT() T_EQ(rl_heap_audit(), 0)

/* Some live object owned by another domain, from the read-only registry. */
static rl_rref find_foreign(void)
{
	const struct rl_heap_hdr *hd = __rl_registry_hdr();
	const struct rl_obj *objs = (const struct rl_obj *)((const uint8_t *)hd + RL_REGISTRY_HDR);
	uint32_t n = hd->nslots;
	for (uint32_t s = 0; s < n; s++)
		if (objs[s].state == RL_OBJ_OWNED && objs[s].owner != rl_domain_id())
			return (rl_rref){ s, objs[s].gen };
	return RL_RREF_NULL;
}

static rref_payload payload(void)
{
	rref_payload x;
	T_EQ(rref_payload_new(&x), 0);
	memset(rref_payload_get(x)->data, 1, sizeof(struct payload));
	return x;
}

static void forged_caps(void)
{
	uint64_t v;
	T_EQ(Test_null(0x00050003), -EBADF);
	T_EQ(Test_null((t & 0xffff) | (((t >> 16) + 1) << 16)), -EBADF); /* right slot, wrong generation */
	T_EQ(Test_null(RL_MAX_IMPORTS + 40), -EBADF);
	T_EQ(Test_call_null(t, 0x00010009, &v), -EBADF); /* a capability never given */
	AUDIT();
}

static void forged_rrefs(void)
{
	uint64_t v;
	rref_payload x = payload();
	rl_rref f = find_foreign();

	T_CHECK(!rl_rref_is_null(f));
	T_EQ(Test_take(t, (rref_payload){ f }, &v), -EPERM);
	T_EQ(Test_peek(t, (rref_payload){ f }, &v), -EPERM);
	T_EQ(Test_take(t, (rref_payload){ { 0x7ffffff0u, 1 } }, &v), -EINVAL);
	T_EQ(Test_take(t, (rref_payload){ RL_RREF_NULL }, &v), -EINVAL);
	T_EQ(Test_take(t, (rref_payload){ { x.r.slot, x.r.gen + 1 } }, &v), -ESTALE);
	T_CHECK(rref_payload_get(x) != NULL); /* nothing moved */
	/* Moved once, moved again. */
	T_EQ(Test_take(t, x, &v), 0);
	int again = Test_take(t, x, &v);
	T_CHECK(again == -EPERM || again == -ESTALE);
	AUDIT();
}

static void wrong_type_and_size(void)
{
	uint64_t v;
	rref_payload x = payload();

	T_EQ(Test_peek(t, x, &v), 0); /* stamps it as payload */
	T_EQ(Test_sum_list(t, (rref_node){ x.r }, &v), -EPROTOTYPE);
	T_CHECK(rref_payload_get(x) != NULL);
	rref_payload_drop(x);

	rl_rref small;
	T_EQ(rl_rref_alloc(0, 100, &small), 0); /* a 256-byte slot, passed as a 1024-byte array */
	T_EQ(Test_take_big(t, (rref_arr_u8_1024){ small }, &v), -EMSGSIZE);
	T_CHECK(rl_rref_get(small) != NULL);
	rl_rref_drop(small);
	AUDIT();
}

static void bad_graphs(void)
{
	uint64_t v;
	rref_node a, b;

	T_EQ(rref_node_new(&a), 0);
	T_EQ(rref_node_new(&b), 0);
	rref_node_get(a)->next = b;
	rref_node_get(b)->next = a; /* a cycle: a graph with two owners of a */
	T_EQ(Test_sum_list(t, a, &v), -EINVAL);
	rref_node_get(b)->next = b; /* a self-loop below a */
	T_EQ(Test_sum_list(t, a, &v), -EINVAL);
	rref_node_get(b)->next = (rref_node){ find_foreign() }; /* a nested object of someone else */
	T_EQ(Test_sum_list(t, a, &v), -EPERM);
	rref_node_get(b)->next = (rref_node){ { 0x7ffffff0u, 3 } };
	T_EQ(Test_sum_list(t, a, &v), -EINVAL);
	T_CHECK(rref_node_get(a) != NULL && rref_node_get(b) != NULL); /* a rejected graph stays ours */

	/* A ring whose live element points at someone else's object, or at itself. */
	rref_deque_node_8 q;
	T_EQ(rref_deque_node_8_new(&q), 0);
	struct deque_node_8 *d = rref_deque_node_8_get(q);
	d->hdr.head = 7;
	d->hdr.tail = 9; /* elements 7 and 0 (new() leaves elements uninitialised) */
	d->items[7].next = (rref_node){ RL_RREF_NULL };
	d->items[0].next = (rref_node){ find_foreign() };
	T_EQ(Test_sum_ring(t, q, &v), -EPERM);
	d->items[0].next = (rref_node){ q.r }; /* the ring itself, typed as a node */
	T_EQ(Test_sum_ring(t, q, &v), -EINVAL);
	for (unsigned i = 0; i < 8; i++)
		d->items[i].next = (rref_node){ RL_RREF_NULL };
	d->hdr.tail = d->hdr.head + 1000; /* an impossible count is clamped to N */
	T_EQ(Test_sum_ring(t, q, &v), 0);
	rref_node_get(b)->next = (rref_node){ RL_RREF_NULL };
	rref_node_get(a)->value = 4;
	rref_node_get(b)->value = 5;
	T_EQ(Test_sum_list(t, a, &v), 0);
	T_EQ(v, 9);
	AUDIT();
}

static void bad_methods_and_scalars(void)
{
	uint64_t args[RL_MSG_ARGS] = { 0 };
	rref_payload x = payload();

	T_EQ(rl_call(t, 200, args, 0, NULL), -ENOSYS);
	T_EQ(rl_call(t, RL_METHOD_Test_null + 0xff00, args, 0, NULL), -ENOSYS);
	args[0] = rl_rref_to_wire(x.r);
	args[1] = 300; /* a u8 */
	T_EQ(rl_call(t, RL_METHOD_Test_fill, args, 2, NULL), -EINVAL);
	args[0] = 1ULL << 32; /* an i32 with high bits set */
	T_EQ(rl_call(t, RL_METHOD_Test_neg, args, 1, NULL), -EINVAL);
	rref_payload_drop(x);
	AUDIT();
}

/* Raw entries: kinds that do not exist, replies to nothing, service requests out of range. */
/*
 * Queues an entry through the runtime (so its private tail stays right) and
 * returns it, to be rewritten by hand before send_raw() publishes it: a
 * long one (two ring units, all argument words) or a short one.
 */
static struct rl_msg *queue_raw(uint64_t tag, bool is_long)
{
	static const uint64_t two[2] = { 1, 1 };
	struct rl_chan *ch = __rl_channel();
	uint32_t pos = atomic_load(&ch->tx.tail);

	T_EQ(rl_call_submit(t, 0, two, is_long ? 2 : 0, tag), 1);
	struct rl_msg *m = rl_ring_at(&ch->tx, pos);
	if (m->kind == RL_MSG_PAD) /* a long entry does not wrap the ring */
		m = rl_ring_at(&ch->tx, pos + 1);
	T_EQ(!!(m->flags & RL_MSG_F_LONG), is_long);
	return m;
}

/* Publishes what was queued; if expect_tag is not 0, checks the one completion that comes back. */
static void send_raw(uint64_t expect_tag, int expect_status)
{
	struct rl_completion c;

	rl_call_flush();
	if (!expect_tag)
		return;
	T_EQ(rl_call_poll(&c, 1, 1), 1);
	T_EQ(c.tag, expect_tag);
	T_EQ(c.status, expect_status);
}

/* A raw service request of the given operation and arguments. */
static void raw_sys(uint64_t tag, uint16_t op, uint64_t a0, uint64_t a1, int expect_status)
{
	struct rl_msg *m = queue_raw(tag, true);

	m->kind = RL_MSG_SYS;
	m->method = op;
	m->arg[0] = a0;
	m->arg[1] = a1;
	send_raw(tag, expect_status);
}

static void garbage_messages(void)
{
	/* A kind that does not exist, with garbage arguments. */
	struct rl_msg *m = queue_raw(1234, true);
	memset(m->arg, 0xab, sizeof(m->arg));
	m->kind = 99;
	send_raw(1234, -EPROTO);

	/* A reply to a call nobody made: silently counted, nothing else changes. */
	m = queue_raw(1235, false);
	m->kind = RL_MSG_REPLY;
	m->tag = 0x0000000500000003ULL;
	send_raw(0, 0);

	/*
	 * A short entry flagged long: the broker takes the unit after it as
	 * its second half, so the entry queued behind it is swallowed. One
	 * message comes out of the two, and only the liar loses one.
	 */
	m = queue_raw(1240, false);
	T_EQ(rl_call_submit(t, 0, NULL, 0, 1241), 1); /* the next unit (unit 0 after the last) */
	m->flags |= RL_MSG_F_LONG;
	send_raw(1240, 0);
	AUDIT();

	/* Service requests out of range. */
	raw_sys(1236, 99, 0, 0, -ENOSYS);
	raw_sys(1237, RL_SYS_REFILL, 9, 4, -EINVAL);          /* no such class */
	raw_sys(1238, RL_SYS_FREE, 100000, 0, -EINVAL);       /* more handles than the page holds */
	/* Freeing someone else's object: refused (0 freed). */
	__rl_channel()->ctl.give_back[0] = rl_rref_to_wire(find_foreign());
	raw_sys(1239, RL_SYS_FREE, 1, 0, 0);
	AUDIT();
}

/* A tail more than a ring ahead: reported once, ignored until it is sane again. */
static void impossible_indices(void)
{
	struct rl_completion c;
	struct rl_chan *ch = __rl_channel();
	uint32_t tail = atomic_load(&ch->tx.tail);
	uint64_t v;

	atomic_store(&ch->tx.tail, tail + 5 * RL_RING_UNITS);
	T_EQ(rl_call_poll(&c, 1, 1), 1);
	T_EQ(c.tag, 0);
	T_EQ(c.status, -EPROTO);
	atomic_store(&ch->tx.tail, tail);
	T_EQ(Test_add(t, 40, 2, &v), 0);
	T_EQ(v, 42);
	AUDIT();
}

/* Rewrite a request while the broker may be reading it: it must act on one consistent copy. */
static void racing_rewrites(void)
{
	struct rl_chan *ch = __rl_channel();
	uint64_t arg[RL_MSG_ARGS] = { 0 };
	unsigned ok = 0, refused = 0;

	for (unsigned i = 0; i < 200; i++) {
		rref_payload x = payload();
		rl_rref f = find_foreign();
		arg[0] = rl_rref_to_wire(x.r);
		uint32_t pos = atomic_load(&ch->tx.tail);
		T_EQ(rl_call_submit(t, RL_METHOD_Test_take, arg, 1, 5000 + i), 1);
		rl_call_flush();
		volatile uint64_t *word = &rl_ring_at(&ch->tx, pos)->arg[0];
		struct rl_completion c;
		int got = 0;
		for (unsigned k = 0; !got; k++) {
			*word = (k & 1) ? rl_rref_to_wire(f) : rl_rref_to_wire(x.r);
			got = rl_call_poll(&c, 1, k > 100000);
		}
		T_EQ(c.tag, 5000 + i);
		if (c.status == 0) {
			ok++;
			T_CHECK(rref_payload_get(x) == NULL); /* moved: it was x the broker saw */
		} else {
			refused++;
			T_EQ(c.status, -EPERM);
			T_CHECK(rref_payload_get(x) != NULL); /* refused: x untouched */
			rref_payload_drop(x);
		}
	}
	rl_log("racing rewrites: %u moved, %u refused", ok, refused);
	AUDIT();
}

int rl_domain_main(int argc, char **argv)
{
	uint64_t v;

	t = rl_cap_lookup("test");
	if (t == RL_CAP_INVALID)
		rl_panic("no import named 'test'");
	/* Make the callee allocate, so its magazine holds objects we can try to steal. */
	rref_payload mine;
	T_EQ(Test_make(t, 1, &mine), 0);
	rref_payload_drop(mine);
	forged_caps();
	forged_rrefs();
	wrong_type_and_size();
	bad_graphs();
	bad_methods_and_scalars();
	garbage_messages();
	impossible_indices();
	racing_rewrites();
	/* After all that, an honest call still works. */
	T_EQ(Test_add(t, 1, 2, &v), 0);
	T_EQ(v, 3);
	return t_report();
}
