// SPDX-License-Identifier: MIT
/*
 * The callee of the paper's test pair: implements the Test interface. Every
 * method that follows an RRef first asks the runtime whether this domain
 * owns it (or holds it on loan): bytes in the shared heap are untrusted.
 */
#include <errno.h>
#include <time.h>

#include "redleaf_idl.h"

static uint64_t payload_sum(const struct payload *p)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < sizeof(p->data); i++)
		sum += p->data[i];
	return sum;
}

static int t_null(void *self)
{
	return 0;
}

static int t_add(void *self, uint64_t a, uint64_t b, uint64_t *out)
{
	*out = a + b;
	return 0;
}

static int t_take(void *self, rref_payload x, uint64_t *out)
{
	struct payload *p = rref_payload_get(x);
	if (!p)
		return -EPERM;
	*out = payload_sum(p);
	rref_payload_drop(x);
	return 0;
}

static int t_peek(void *self, rref_payload x, uint64_t *out)
{
	const struct payload *p = rref_payload_borrow(x);
	if (!p)
		return -EPERM;
	/* While we run, the registry must show the loan the broker recorded. */
	if (rl_rref_borrows(x.r) == 0)
		return -EPROTO;
	*out = payload_sum(p);
	return 0;
}

static int t_make(void *self, uint64_t seed, rref_payload *out)
{
	rref_payload r;
	int ret = rref_payload_new(&r);
	if (ret)
		return ret;
	struct payload *p = rref_payload_get(r);
	for (unsigned i = 0; i < sizeof(p->data); i++)
		p->data[i] = (uint8_t)(seed + i);
	*out = r;
	return 0;
}

static int t_sum_list(void *self, rref_node head, uint64_t *out)
{
	uint64_t sum = 0;
	rref_node cur = head;

	/* The whole graph was moved to us; anything we do not own was tampered with. */
	while (!rl_rref_is_null(cur.r)) {
		struct node *n = rref_node_get(cur);
		if (!n)
			return -EPERM;
		sum += n->value;
		rref_node next = n->next;
		rref_node_drop(cur);
		cur = next;
	}
	*out = sum;
	return 0;
}

static int t_call_null(void *self, rl_cap peer, uint64_t *out)
{
	*out = (uint64_t)(int64_t)Test_null(peer);
	return 0;
}

static int t_sum_vec(void *self, rref_vec_u32 v, uint64_t *out)
{
	struct vec_u32 *p = rref_vec_u32_get(v);
	if (!p)
		return -EPERM;
	uint64_t fits = (rl_rref_capacity(v.r) - RL_CONTAINER_HDR) / sizeof(uint32_t);
	uint64_t len = p->hdr.len < fits ? p->hdr.len : fits;
	uint64_t sum = 0;
	for (uint64_t i = 0; i < len; i++)
		sum += p->items[i];
	rref_vec_u32_drop(v);
	*out = sum;
	return 0;
}

static int t_fill(void *self, rref_payload x, uint8_t byte)
{
	return rref_payload_borrow(x) ? 0 : -EPERM;
}

static int t_neg(void *self, int32_t x, int32_t *out)
{
	*out = -x;
	return 0;
}

static int t_take_big(void *self, rref_arr_u8_1024 x, uint64_t *out)
{
	uint8_t *p = rref_arr_u8_1024_get(x);
	if (!p)
		return -EPERM;
	*out = p[0];
	rref_arr_u8_1024_drop(x);
	return 0;
}

static int t_slow_make(void *self, uint32_t ms, uint64_t seed, rref_payload *out)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
	return t_make(self, seed, out);
}

/* Sums the live elements of a ring of nodes and the nodes each one points to. */
static int t_sum_ring(void *self, rref_deque_node_8 q, uint64_t *out)
{
	struct deque_node_8 *d = rref_deque_node_8_get(q);
	uint64_t sum = 0;

	if (!d)
		return -EPERM;
	uint32_t live = d->hdr.tail - d->hdr.head;
	if (live > 8)
		live = 8;
	for (uint32_t i = 0; i < live; i++) {
		struct node *e = &d->items[(d->hdr.head + i) % 8];
		sum += e->value;
		if (rl_rref_is_null(e->next.r))
			continue;
		struct node *n = rref_node_get(e->next); /* moved with the ring, or tampered with */
		if (!n)
			return -EPERM;
		sum += n->value;
		rref_node_drop(e->next);
	}
	rref_deque_node_8_drop(q);
	*out = sum;
	return 0;
}

static const struct Test_ops ops = {
	.sum_ring = t_sum_ring,
	.slow_make = t_slow_make,
	.null = t_null,
	.add = t_add,
	.take = t_take,
	.peek = t_peek,
	.make = t_make,
	.sum_list = t_sum_list,
	.call_null = t_call_null,
	.sum_vec = t_sum_vec,
	.fill = t_fill,
	.neg = t_neg,
	.take_big = t_take_big,
	.checksum = t_take,
};

int rl_domain_main(int argc, char **argv)
{
	int ret = Test_export(&ops, NULL);
	if (ret)
		rl_panic("cannot export Test: %d", ret);
	rl_serve();
}
