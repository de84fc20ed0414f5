/* SPDX-License-Identifier: MIT */
/*
 * The project's own interfaces (idl/testpair.idl, idl/bdev.idl), compiled
 * the way the tree uses them: idl_stubs_c plus the rl_idl_tables library.
 * Checks the ids and tables the broker and domains rely on, and the word
 * encoding of the Test methods the integration tests call. The runtime is
 * replaced by test doubles; rl_call() loops back into Test_dispatch().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../helpers.h"

#include "redleaf_idl.h"

static uint64_t t_args[RL_MSG_ARGS];
static unsigned t_nargs;

static int t_neg(void *self, int32_t x, int32_t *out)
{
	*out = -x;
	return 0;
}

static int t_add(void *self, uint64_t a, uint64_t b, uint64_t *out)
{
	*out = a + b;
	return 0;
}

static int t_fill(void *self, rref_payload x, uint8_t byte)
{
	return byte == 0xab && x.r.slot == 3 ? 0 : -EINVAL;
}

static const struct Test_ops t_ops = { .neg = t_neg, .add = t_add, .fill = t_fill };

rpc_result rl_call(rl_cap cap, uint16_t method, const uint64_t *args, unsigned nargs,
		   uint64_t *ret)
{
	t_nargs = nargs;
	if (nargs)
		memcpy(t_args, args, sizeof(t_args[0]) * nargs);
	return Test_dispatch(&t_ops, NULL, method, args, ret);
}

/* Referenced by the stubs file; the calls this test makes never reach them. */
void rl_rref_drop(rl_rref r)
{
	abort();
}

rpc_result rl_shadow_forward(void *shadow, uint16_t iface_id, uint16_t method,
			     const uint64_t *args, unsigned nargs, uint64_t *ret)
{
	T_EQ(iface_id, RL_IFACE_BDev);
	return (int)nargs;
}

int main(void)
{
	const struct rl_iface_desc *test = rl_idl_iface_by_name("Test");
	const struct rl_iface_desc *bdev = rl_idl_iface_by_name("BDev");
	int32_t r = 0;
	uint64_t sum = 0;

	/* ids: structs first (files in order), then other rref targets */
	T_EQ(RL_TYPE_payload, 1);
	T_EQ(RL_TYPE_node, 2);
	T_EQ(RL_TYPE_block, 3);
	T_EQ(RL_TYPE_breq, 4);
	T_EQ(RL_TYPE_vec_u32, 5);
	T_EQ(RL_TYPE_arr_u8_1024, 6);
	T_EQ(RL_TYPE_deque_node_8, 7);
	T_EQ(RL_TYPE_deque_breq_128, 8);
	T_EQ(rl_idl_ntypes, 9);
	T_EQ(rl_idl_types[RL_TYPE_deque_breq_128].n_rrefs, 1);
	T_EQ(rl_idl_types[RL_TYPE_deque_breq_128].rrefs[0].offset, offsetof(struct breq, data));
	T_EQ(rl_idl_types[RL_TYPE_deque_breq_128].rrefs[0].type_id, RL_TYPE_block);
	T_EQ(rl_idl_types[RL_TYPE_deque_node_8].kind, RL_TYPE_DEQUE);
	T_EQ(rl_idl_types[RL_TYPE_deque_node_8].capacity, 8);
	T_EQ(rl_idl_types[RL_TYPE_deque_node_8].elem_size, sizeof(struct node));
	T_EQ(rl_idl_types[RL_TYPE_deque_node_8].size, RL_CONTAINER_HDR + 8 * sizeof(struct node));
	T_EQ(rl_idl_types[RL_TYPE_deque_node_8].n_rrefs, 1);
	T_EQ(rl_idl_types[RL_TYPE_deque_node_8].rrefs[0].offset, offsetof(struct node, next));
	T_EQ(rl_idl_types[RL_TYPE_deque_node_8].rrefs[0].type_id, RL_TYPE_node);
	T_EQ(RL_IFACE_Test, 1);
	T_EQ(RL_IFACE_BDev, 2);
	T_EQ(rl_idl_nifaces, 3);
	T_EQ(test == &rl_idl_ifaces[RL_IFACE_Test], 1);
	T_EQ(bdev == &rl_idl_ifaces[RL_IFACE_BDev], 1);

	T_EQ(rl_idl_types[RL_TYPE_block].size, 4096);
	T_EQ(rl_idl_types[RL_TYPE_payload].size, 64);
	T_EQ(rl_idl_types[RL_TYPE_node].size, sizeof(struct node));
	T_EQ(rl_idl_types[RL_TYPE_node].n_rrefs, 1);
	T_EQ(rl_idl_types[RL_TYPE_node].rrefs[0].offset, offsetof(struct node, next));
	T_EQ(rl_idl_types[RL_TYPE_node].rrefs[0].type_id, RL_TYPE_node);
	T_EQ(rl_idl_types[RL_TYPE_vec_u32].kind, RL_TYPE_VEC);
	T_EQ(rl_idl_types[RL_TYPE_vec_u32].elem_size, 4);
	T_EQ(RL_CONST_BSIZE, 4096);

	T_EQ(test->nmethods >= 10, 1);
	T_EQ(test->methods[RL_METHOD_Test_peek].params[0].kind, RL_PARAM_RREF_BORROW);
	T_EQ(test->methods[RL_METHOD_Test_peek].params[0].id, RL_TYPE_payload);
	T_EQ(test->methods[RL_METHOD_Test_call_null].params[0].kind, RL_PARAM_CAP);
	T_EQ(test->methods[RL_METHOD_Test_call_null].params[0].id, RL_IFACE_Test);
	T_EQ(test->methods[RL_METHOD_Test_make].result.kind, RL_PARAM_RREF);
	T_EQ(test->methods[RL_METHOD_Test_neg].params[0].kind, RL_PARAM_I32);
	T_EQ(test->methods[RL_METHOD_Test_null].nparams, 0);
	T_EQ(bdev->nmethods, 5);
	for (unsigned i = 0; i < bdev->nmethods; i++)
		T_EQ(bdev->methods[i].flags, RL_METHOD_IDEMPOTENT);
	T_EQ(bdev->methods[RL_METHOD_BDev_read].result.id, RL_TYPE_block);
	T_EQ(bdev->methods[RL_METHOD_BDev_write].params[1].kind, RL_PARAM_RREF_BORROW);

	/* i32 -1 travels as 0x00000000ffffffff, and comes back negated */
	T_EQ(Test_neg(1, -1, &r), 0);
	T_EQ(t_nargs, 1);
	T_EQ(t_args[0], 0x00000000ffffffffull);
	T_EQ(r, 1);
	T_EQ(Test_neg(1, INT32_MAX, &r), 0);
	T_EQ(r, -INT32_MAX);
	T_EQ(Test_add(1, UINT64_MAX, 2, &sum), 0);
	T_EQ(sum, 1);
	T_EQ(Test_fill(1, (rref_payload){ { 3, 1 } }, 0xab), 0);
	T_EQ(t_args[1], 0xab);
	T_EQ(Test_null(1), (uint64_t)(int64_t)-ENOSYS); /* no op for null in t_ops */
	T_EQ(BDev_shadow_dispatch(NULL, NULL, RL_METHOD_BDev_read, t_args, NULL), 2);
	T_EQ(BDev_shadow_dispatch(NULL, NULL, RL_METHOD_BDev_nblocks, t_args, NULL), 0);
	T_EQ(BDev_shadow_dispatch(NULL, NULL, RL_METHOD_BDev_batch, t_args, NULL), 1);
	T_EQ(BDev_shadow_dispatch(NULL, NULL, 5, t_args, NULL), (uint64_t)(int64_t)-ENOSYS);
	printf("ok: project IDL tables and stubs\n");
	return 0;
}
