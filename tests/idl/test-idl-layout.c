/* SPDX-License-Identifier: MIT */
/*
 * Checks the code redleaf-idlc generated from good/layout.idl:
 *  - layouts: the tables' sizes, alignments and nested-rref offsets equal
 *    what the C compiler says for the generated structs, and what the IDL
 *    says (hand-computed numbers below);
 *  - tables: type ids, names, kinds, method flags and parameter kinds;
 *  - stubs and dispatchers: every argument and result survives packing into
 *    words and unpacking again, with the documented word encodings.
 * The runtime is replaced by test doubles (t_*) that capture what the
 * generated code hands it; rl_call() loops back into the dispatchers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../helpers.h"

#include "good_layout.h"

#define T_CHECK(cond)                                                                   \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                 \
			exit(1);                                                        \
		}                                                                       \
	} while (0)

/* ---- test doubles for the domain runtime ---- */

enum { T_SLOTS = 16, T_SLOT_SIZE = 65536 + 64 };
static _Alignas(64) unsigned char t_heap[T_SLOTS][T_SLOT_SIZE];
static unsigned t_nslots;
static uint16_t t_alloc_type[T_SLOTS];
static size_t t_alloc_size[T_SLOTS];

static struct {
	rl_cap cap;
	uint16_t method;
	unsigned nargs;
	uint64_t args[RL_MSG_ARGS];
	bool args_null;
} t_last_call;

static rl_rref t_last_drop = { 0, 0 };
static unsigned t_drops;

static struct {
	uint16_t iface;
	rl_dispatch_fn dispatch;
	const void *ops;
	void *self;
} t_last_export;

static struct {
	void *shadow;
	uint16_t iface, method;
	unsigned nargs;
} t_last_forward;

int rl_rref_alloc(uint16_t type_id, size_t size, rl_rref *out)
{
	if (t_nslots == T_SLOTS)
		return -ENOMEM;
	if (size > 65536)
		return -EMSGSIZE;
	/* garbage, so the test sees whether _new() initialises */
	memset(t_heap[t_nslots], 0xa5, T_SLOT_SIZE);
	t_alloc_type[t_nslots] = type_id;
	t_alloc_size[t_nslots] = size;
	*out = (rl_rref){ t_nslots++, 1 };
	return 0;
}

void *rl_rref_get(rl_rref r)
{
	return r.slot < t_nslots && r.gen == 1 ? t_heap[r.slot] : NULL;
}

const void *rl_rref_borrow(rl_rref r)
{
	return rl_rref_get(r);
}

void rl_rref_drop(rl_rref r)
{
	t_last_drop = r;
	t_drops++;
}

int rl_export(uint16_t iface_id, rl_dispatch_fn dispatch, const void *ops, void *self)
{
	t_last_export.iface = iface_id;
	t_last_export.dispatch = dispatch;
	t_last_export.ops = ops;
	t_last_export.self = self;
	return 0;
}

rpc_result rl_shadow_forward(void *shadow, uint16_t iface_id, uint16_t method,
			     const uint64_t *args, unsigned nargs, uint64_t *ret)
{
	t_last_forward.shadow = shadow;
	t_last_forward.iface = iface_id;
	t_last_forward.method = method;
	t_last_forward.nargs = nargs;
	if (ret)
		*ret = 0x5eed;
	return 0;
}

/* Capabilities the loopback understands. */
enum { T_CAP_SINK = 9, T_CAP_EVERYTHING = 7 };

/* length of outer.many (const N in the IDL) */
enum { N_MANY = 3 };

static const struct Everything_ops t_everything_ops;
static const struct Sink_ops t_sink_ops;
static int t_self;

rpc_result rl_call(rl_cap cap, uint16_t method, const uint64_t *args, unsigned nargs,
		   uint64_t *ret)
{
	T_CHECK(nargs <= RL_MSG_ARGS);
	t_last_call.cap = cap;
	t_last_call.method = method;
	t_last_call.nargs = nargs;
	t_last_call.args_null = args == NULL;
	memset(t_last_call.args, 0, sizeof(t_last_call.args));
	if (nargs)
		memcpy(t_last_call.args, args, nargs * sizeof(*args));
	if (cap == T_CAP_EVERYTHING)
		return Everything_dispatch(&t_everything_ops, &t_self, method, args, ret);
	if (cap == T_CAP_SINK)
		return Sink_dispatch(&t_sink_ops, &t_self, method, args, ret);
	return -EBADF;
}

/* ---- the callee: records what the dispatcher unpacked ---- */

static struct {
	int calls;
	uint8_t a, b_u8[5];
	uint16_t b;
	uint32_t c, i;
	uint64_t d;
	int8_t e;
	int16_t f;
	int32_t g;
	int64_t h;
	bool flag;
	rl_rref r[3];
	rl_cap caps[2];
	void *self;
	int fail; /* when non-zero, ops return it */
} t_got;

static int t_none(void *self)
{
	t_got.calls++;
	t_got.self = self;
	return t_got.fail;
}

static int t_scalars(void *self, uint8_t a, uint16_t b, uint32_t c, uint64_t d, int8_t e,
		     int64_t *out)
{
	t_got.a = a;
	t_got.b = b;
	t_got.c = c;
	t_got.d = d;
	t_got.e = e;
	*out = -5;
	return t_got.fail;
}

static int t_more(void *self, int16_t f, int32_t g, int64_t h, bool flag, bool *out)
{
	t_got.f = f;
	t_got.g = g;
	t_got.h = h;
	t_got.flag = flag;
	*out = !flag;
	return 0;
}

static int t_lookup(void *self, rref_outer key, uint32_t i, uint16_t *out)
{
	const struct outer *o = rref_outer_borrow(key);

	t_got.r[0] = key.r;
	t_got.i = i;
	if (!o)
		return -EPERM;
	*out = o->many[i % N_MANY].tag;
	return 0;
}

static int t_setup(void *self, rl_cap sink, rl_cap self_cap, rl_cap *out)
{
	t_got.caps[0] = sink;
	t_got.caps[1] = self_cap;
	*out = 0xfffe0001u; /* the full 32 bits must survive */
	return 0;
}

static int t_containers(void *self, rref_vec_pkt v, rref_deque_u64_8 d, rref_vec_inner w,
			rref_deque_inner_2 *out)
{
	t_got.r[0] = v.r;
	t_got.r[1] = d.r;
	t_got.r[2] = w.r;
	out->r = (rl_rref){ 0x1234, 0xabcdef01 };
	return 0;
}

static int t_arrays(void *self, rref_arr_u8_16 a, rref_u64 b, rref_arr_inner_2 c,
		    rref_arr_arr_u32_2_2 *out)
{
	t_got.r[0] = a.r;
	t_got.r[1] = b.r;
	t_got.r[2] = c.r;
	out->r = (rl_rref){ 7, 8 };
	return 0;
}

static int t_five(void *self, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t *out)
{
	t_got.b_u8[0] = a;
	t_got.b_u8[1] = b;
	t_got.b_u8[2] = c;
	t_got.b_u8[3] = d;
	t_got.b_u8[4] = e;
	*out = (uint8_t)(a + b + c + d + e);
	return 0;
}

static int t_small(void *self, int8_t x, int16_t y, int16_t *out)
{
	t_got.e = x;
	t_got.f = y;
	*out = (int16_t)(x + y);
	return 0;
}

static int t_handle(void *self, rref_rref_pkt h, uint32_t *out)
{
	t_got.r[0] = h.r;
	*out = 42;
	return 0;
}

static int t_put(void *self, rref_pkt p)
{
	t_got.r[0] = p.r;
	return 0;
}


static const struct Everything_ops t_everything_ops = {
	.none = t_none,
	.scalars = t_scalars,
	.more = t_more,
	.lookup = t_lookup,
	.setup = t_setup,
	.both = NULL, /* must answer -ENOSYS */
	.containers = t_containers,
	.arrays = t_arrays,
	.five = t_five,
	.small = t_small,
	.handle = t_handle,
};

static const struct Sink_ops t_sink_ops = { .put = t_put };

/* ---- layouts and tables ---- */

struct t_nested {
	uint32_t offset;
	uint16_t type_id;
};

static void t_type(uint16_t id, const char *name, uint8_t kind, size_t size, size_t align,
		   size_t elem_size, uint32_t capacity, const struct t_nested *nested,
		   unsigned n_nested)
{
	const struct rl_type_desc *t;

	T_CHECK(id > 0 && id < rl_idl_ntypes);
	t = &rl_idl_types[id];
	if (strcmp(t->name, name)) {
		fprintf(stderr, "type %u is '%s', expected '%s'\n", id, t->name, name);
		exit(1);
	}
	T_EQ(t->id, id);
	T_EQ(t->kind, kind);
	T_EQ(t->size, size);
	T_EQ(t->align, align);
	T_EQ(t->elem_size, elem_size);
	T_EQ(t->capacity, capacity);
	T_EQ(t->n_rrefs, n_nested);
	T_CHECK(n_nested ? t->rrefs != NULL : t->rrefs == NULL);
	for (unsigned i = 0; i < n_nested; i++) {
		T_EQ(t->rrefs[i].offset, nested[i].offset);
		T_EQ(t->rrefs[i].type_id, nested[i].type_id);
	}
}

static void t_check_layouts(void)
{
	/* What the IDL says, by hand: C must agree (the header's static_asserts pin it too). */
	T_EQ(sizeof(struct scalars), 40);
	T_EQ(offsetof(struct scalars, d), 8);
	T_EQ(offsetof(struct scalars, e), 16);
	T_EQ(offsetof(struct scalars, h), 24);
	T_EQ(offsetof(struct scalars, flag), 32);
	T_EQ(sizeof(struct inner), 16);
	T_EQ(offsetof(struct inner, link), 8);
	T_EQ(sizeof(struct pkt), 62);
	T_EQ(_Alignof(struct pkt), 2);
	/* x@0, one@8, many@24 (3 x 16), grid@72 (12), handles@88, bytes@104,
	 * queue@112, refs@120, after@128, size 136 */
	T_EQ(offsetof(struct outer, one), 8);
	T_EQ(offsetof(struct outer, many), 24);
	T_EQ(offsetof(struct outer, grid), 72);
	T_EQ(offsetof(struct outer, handles), 88);
	T_EQ(offsetof(struct outer, after), 128);
	T_EQ(sizeof(struct outer), 136);
	T_EQ(sizeof(rref_outer), 8);
	T_EQ(_Alignof(rref_inner), 8);
	T_EQ(sizeof(((struct outer *)0)->grid), 12);
	T_EQ(RL_CONST_N, 3);
	T_EQ(RL_CONST_BIG, 16);
	T_CHECK(RL_CONST_UNUSED == -7);
}

static void t_check_types(void)
{
	const struct t_nested inner_n[] = { { offsetof(struct inner, link), RL_TYPE_inner } };
	const struct t_nested outer_n[] = {
		{ offsetof(struct outer, one.link), RL_TYPE_inner },
		{ offsetof(struct outer, many[0].link), RL_TYPE_inner },
		{ offsetof(struct outer, many[1].link), RL_TYPE_inner },
		{ offsetof(struct outer, many[2].link), RL_TYPE_inner },
		{ offsetof(struct outer, handles[0]), RL_TYPE_scalars },
		{ offsetof(struct outer, handles[1]), RL_TYPE_scalars },
		{ offsetof(struct outer, bytes), RL_TYPE_vec_u8 },
		{ offsetof(struct outer, queue), RL_TYPE_deque_inner_4 },
		{ offsetof(struct outer, refs), RL_TYPE_vec_rref_pkt },
	};
	const struct t_nested to_pkt[] = { { 0, RL_TYPE_pkt } };
	const struct t_nested inner2_n[] = {
		{ offsetof(struct inner, link), RL_TYPE_inner },
		{ sizeof(struct inner) + offsetof(struct inner, link), RL_TYPE_inner },
	};

	/* ids: structs in declaration order, then rref targets in order of first use */
	T_EQ(RL_TYPE_scalars, 1);
	T_EQ(RL_TYPE_inner, 2);
	T_EQ(RL_TYPE_outer, 3);
	T_EQ(RL_TYPE_pkt, 4);
	T_EQ(RL_TYPE_vec_u8, 5);
	T_EQ(RL_TYPE_deque_inner_4, 6);
	T_EQ(RL_TYPE_vec_rref_pkt, 7);
	T_EQ(RL_TYPE_vec_pkt, 8);
	T_EQ(RL_TYPE_deque_u64_8, 9);
	T_EQ(RL_TYPE_vec_inner, 10);
	T_EQ(RL_TYPE_deque_inner_2, 11);
	T_EQ(RL_TYPE_arr_u8_16, 12);
	T_EQ(RL_TYPE_u64, 13);
	T_EQ(RL_TYPE_arr_inner_2, 14);
	T_EQ(RL_TYPE_arr_arr_u32_2_2, 15);
	T_EQ(RL_TYPE_rref_pkt, 16);
	T_EQ(rl_idl_ntypes, 17);
	T_CHECK(rl_idl_types[0].name != NULL); /* the placeholder is safe to print */

	t_type(RL_TYPE_scalars, "scalars", RL_TYPE_PLAIN, sizeof(struct scalars),
	       _Alignof(struct scalars), 0, 0, NULL, 0);
	t_type(RL_TYPE_inner, "inner", RL_TYPE_PLAIN, sizeof(struct inner), _Alignof(struct inner),
	       0, 0, inner_n, 1);
	t_type(RL_TYPE_outer, "outer", RL_TYPE_PLAIN, sizeof(struct outer), _Alignof(struct outer),
	       0, 0, outer_n, sizeof(outer_n) / sizeof(outer_n[0]));
	t_type(RL_TYPE_pkt, "pkt", RL_TYPE_PLAIN, sizeof(struct pkt), _Alignof(struct pkt), 0, 0,
	       NULL, 0);
	t_type(RL_TYPE_vec_u8, "vec<u8>", RL_TYPE_VEC, RL_CONTAINER_HDR, 1, 1, 0, NULL, 0);
	t_type(RL_TYPE_deque_inner_4, "deque<inner,4>", RL_TYPE_DEQUE,
	       RL_CONTAINER_HDR + 4 * sizeof(struct inner), _Alignof(struct inner),
	       sizeof(struct inner), 4, inner_n, 1);
	t_type(RL_TYPE_vec_rref_pkt, "vec<rref<pkt>>", RL_TYPE_VEC, RL_CONTAINER_HDR, 8, 8, 0,
	       to_pkt, 1);
	t_type(RL_TYPE_vec_pkt, "vec<pkt>", RL_TYPE_VEC, RL_CONTAINER_HDR, 2, sizeof(struct pkt),
	       0, NULL, 0);
	t_type(RL_TYPE_deque_u64_8, "deque<u64,8>", RL_TYPE_DEQUE, RL_CONTAINER_HDR + 64, 8, 8, 8,
	       NULL, 0);
	t_type(RL_TYPE_vec_inner, "vec<inner>", RL_TYPE_VEC, RL_CONTAINER_HDR, 8,
	       sizeof(struct inner), 0, inner_n, 1);
	t_type(RL_TYPE_deque_inner_2, "deque<inner,2>", RL_TYPE_DEQUE,
	       RL_CONTAINER_HDR + 2 * sizeof(struct inner), 8, sizeof(struct inner), 2, inner_n, 1);
	t_type(RL_TYPE_arr_u8_16, "[u8;16]", RL_TYPE_PLAIN, 16, 1, 0, 0, NULL, 0);
	t_type(RL_TYPE_u64, "u64", RL_TYPE_PLAIN, 8, 8, 0, 0, NULL, 0);
	t_type(RL_TYPE_arr_inner_2, "[inner;2]", RL_TYPE_PLAIN, 2 * sizeof(struct inner), 8, 0, 0,
	       inner2_n, 2);
	t_type(RL_TYPE_arr_arr_u32_2_2, "[[u32;2];2]", RL_TYPE_PLAIN, 16, 4, 0, 0, NULL, 0);
	t_type(RL_TYPE_rref_pkt, "rref<pkt>", RL_TYPE_PLAIN, 8, 8, 0, 0, to_pkt, 1);

	/* the container structs agree with the tables */
	T_EQ(offsetof(struct vec_pkt, items), RL_CONTAINER_HDR);
	T_EQ(offsetof(struct deque_inner_4, items), RL_CONTAINER_HDR);
	T_EQ(sizeof(((struct deque_inner_4 *)0)->items), 4 * sizeof(struct inner));
}

static void t_param(const struct rl_param_desc *p, uint8_t kind, uint16_t id)
{
	T_EQ(p->kind, kind);
	T_EQ(p->id, id);
}

static void t_check_ifaces(void)
{
	const struct rl_iface_desc *e, *s;
	const struct rl_method_desc *m;

	T_EQ(rl_idl_nifaces, 4); /* Sink, Everything, Plain */
	T_EQ(RL_IFACE_Sink, 1);
	T_EQ(RL_IFACE_Everything, 2);
	s = rl_idl_iface_by_name("Sink");
	e = rl_idl_iface_by_name("Everything");
	T_CHECK(s == &rl_idl_ifaces[1] && e == &rl_idl_ifaces[2]);
	T_CHECK(rl_idl_iface_by_name("Nope") == NULL);
	T_CHECK(rl_idl_iface_by_name("") == NULL);
	T_CHECK(rl_idl_iface_by_name(NULL) == NULL);
	T_EQ(s->id, 1);
	T_EQ(s->nmethods, 1);
	T_EQ(e->id, 2);
	T_EQ(e->nmethods, 11);
	T_CHECK(!strcmp(s->methods[0].name, "put"));
	t_param(&s->methods[0].params[0], RL_PARAM_RREF, RL_TYPE_pkt);
	t_param(&s->methods[0].result, RL_PARAM_NONE, 0);

	T_EQ(RL_METHOD_Everything_none, 0);
	T_EQ(RL_METHOD_Everything_handle, 10);
	m = &e->methods[RL_METHOD_Everything_none];
	T_CHECK(!strcmp(m->name, "none"));
	T_EQ(m->nparams, 0);
	T_EQ(m->flags, 0);
	t_param(&m->result, RL_PARAM_NONE, 0);

	m = &e->methods[RL_METHOD_Everything_scalars];
	T_EQ(m->nparams, 5);
	t_param(&m->params[0], RL_PARAM_U8, 0);
	t_param(&m->params[1], RL_PARAM_U16, 0);
	t_param(&m->params[2], RL_PARAM_U32, 0);
	t_param(&m->params[3], RL_PARAM_U64, 0);
	t_param(&m->params[4], RL_PARAM_I8, 0);
	t_param(&m->result, RL_PARAM_I64, 0);

	m = &e->methods[RL_METHOD_Everything_more];
	T_EQ(m->nparams, 4);
	t_param(&m->params[0], RL_PARAM_I16, 0);
	t_param(&m->params[1], RL_PARAM_I32, 0);
	t_param(&m->params[2], RL_PARAM_I64, 0);
	t_param(&m->params[3], RL_PARAM_BOOL, 0);
	t_param(&m->result, RL_PARAM_BOOL, 0);

	m = &e->methods[RL_METHOD_Everything_lookup];
	T_EQ(m->flags, RL_METHOD_IDEMPOTENT);
	t_param(&m->params[0], RL_PARAM_RREF_BORROW, RL_TYPE_outer);
	t_param(&m->params[1], RL_PARAM_U32, 0);
	t_param(&m->result, RL_PARAM_U16, 0);

	m = &e->methods[RL_METHOD_Everything_setup];
	T_EQ(m->flags, RL_METHOD_INIT);
	t_param(&m->params[0], RL_PARAM_CAP, RL_IFACE_Sink);
	t_param(&m->params[1], RL_PARAM_CAP, RL_IFACE_Everything);
	t_param(&m->result, RL_PARAM_CAP, RL_IFACE_Sink);

	T_EQ(e->methods[RL_METHOD_Everything_both].flags, RL_METHOD_INIT | RL_METHOD_IDEMPOTENT);

	m = &e->methods[RL_METHOD_Everything_containers];
	T_EQ(m->flags, RL_METHOD_INIT | RL_METHOD_IDEMPOTENT);
	T_EQ(m->nparams, 3);
	t_param(&m->params[0], RL_PARAM_RREF, RL_TYPE_vec_pkt);
	t_param(&m->params[1], RL_PARAM_RREF, RL_TYPE_deque_u64_8);
	t_param(&m->params[2], RL_PARAM_RREF_BORROW, RL_TYPE_vec_inner);
	t_param(&m->params[3], RL_PARAM_NONE, 0);
	t_param(&m->result, RL_PARAM_RREF, RL_TYPE_deque_inner_2);

	m = &e->methods[RL_METHOD_Everything_arrays];
	t_param(&m->params[0], RL_PARAM_RREF, RL_TYPE_arr_u8_16);
	t_param(&m->params[1], RL_PARAM_RREF, RL_TYPE_u64);
	t_param(&m->params[2], RL_PARAM_RREF, RL_TYPE_arr_inner_2);
	t_param(&m->result, RL_PARAM_RREF, RL_TYPE_arr_arr_u32_2_2);

	m = &e->methods[RL_METHOD_Everything_handle];
	t_param(&m->params[0], RL_PARAM_RREF, RL_TYPE_rref_pkt);
	t_param(&m->result, RL_PARAM_U32, 0);
}

/* ---- stubs and dispatchers ---- */

static void t_check_scalar_calls(void)
{
	const rl_cap cap = T_CAP_EVERYTHING;
	int64_t r64 = 0;
	int16_t r16 = 0;
	uint8_t r8 = 0;
	bool rb = true;

	T_EQ(Everything_none(cap), 0);
	T_EQ(t_last_call.method, RL_METHOD_Everything_none);
	T_EQ(t_last_call.nargs, 0);
	T_CHECK(t_got.calls == 1 && t_got.self == &t_self);

	T_EQ(Everything_scalars(cap, 0xff, 0xffff, 0xffffffffu, UINT64_MAX, -1, &r64), 0);
	T_EQ(t_last_call.cap, cap);
	T_EQ(t_last_call.method, RL_METHOD_Everything_scalars);
	T_EQ(t_last_call.nargs, 5);
	T_EQ(t_last_call.args[0], 0xff);
	T_EQ(t_last_call.args[1], 0xffff);
	T_EQ(t_last_call.args[2], 0xffffffffu);
	T_EQ(t_last_call.args[3], UINT64_MAX);
	T_EQ(t_last_call.args[4], 0xff); /* i8 -1: its 8-bit pattern, zero-extended */
	T_CHECK(t_got.a == 0xff && t_got.b == 0xffff && t_got.c == 0xffffffffu);
	T_CHECK(t_got.d == UINT64_MAX && t_got.e == -1);
	T_CHECK(r64 == -5);

	T_EQ(Everything_more(cap, -2, INT32_MIN, INT64_MIN, true, &rb), 0);
	T_EQ(t_last_call.args[0], 0xfffe);
	T_EQ(t_last_call.args[1], 0x80000000u);
	T_EQ(t_last_call.args[2], 0x8000000000000000ull);
	T_EQ(t_last_call.args[3], 1);
	T_CHECK(t_got.f == -2 && t_got.g == INT32_MIN && t_got.h == INT64_MIN && t_got.flag);
	T_CHECK(rb == false);
	T_EQ(Everything_more(cap, 0, 0, 0, false, &rb), 0);
	T_EQ(t_last_call.args[3], 0);
	T_CHECK(rb == true && !t_got.flag);

	T_EQ(Everything_small(cap, INT8_MIN, -1, &r16), 0);
	T_EQ(t_last_call.args[0], 0x80);
	T_EQ(t_last_call.args[1], 0xffff);
	T_CHECK(t_got.e == INT8_MIN && t_got.f == -1 && r16 == INT8_MIN - 1);

	T_EQ(Everything_five(cap, 1, 2, 3, 4, 250, &r8), 0);
	T_EQ(t_last_call.nargs, 5);
	T_EQ(t_last_call.args[4], 250);
	T_CHECK(t_got.b_u8[0] == 1 && t_got.b_u8[4] == 250 && r8 == (uint8_t)260);

	/* a NULL out is allowed: the result is discarded */
	T_EQ(Everything_five(cap, 1, 1, 1, 1, 1, NULL), 0);
}

static void t_check_rref_calls(void)
{
	const rl_cap cap = T_CAP_EVERYTHING;
	rref_outer key;
	rref_vec_pkt v;
	rref_deque_u64_8 d;
	rref_vec_inner w;
	rref_deque_inner_2 dq = { { 99, 99 } };
	rref_arr_arr_u32_2_2 grid = { { 0, 0 } };
	struct outer *o;
	uint16_t tag = 0;
	uint32_t r32 = 0;
	rl_cap c = 0;
	unsigned drops;

	/* a fresh object is zeroed, with every nested rref NULL */
	T_EQ(rref_outer_new(&key), 0);
	o = rref_outer_get(key);
	T_CHECK(o != NULL);
	T_EQ(t_alloc_type[key.r.slot], RL_TYPE_outer);
	T_EQ(t_alloc_size[key.r.slot], sizeof(struct outer));
	T_CHECK(rl_rref_is_null(o->one.link.r) && rl_rref_is_null(o->many[2].link.r));
	T_CHECK(rl_rref_is_null(o->handles[1].r) && rl_rref_is_null(o->bytes.r));
	T_CHECK(rl_rref_is_null(o->queue.r) && rl_rref_is_null(o->refs.r));
	T_CHECK(o->x == 0 && o->one.tag == 0 && o->grid[1][2] == 0 && o->after == 0);
	o->many[1].tag = 0x4242;

	/* borrowed rref: same wire word as a moved one; the callee borrows it */
	T_EQ(Everything_lookup(cap, key, 4, &tag), 0);
	T_EQ(t_last_call.args[0], rl_rref_to_wire(key.r));
	T_EQ(t_last_call.args[1], 4);
	T_CHECK(t_got.r[0].slot == key.r.slot && t_got.r[0].gen == key.r.gen);
	T_EQ(tag, 0x4242);

	/* containers: header initialised, sizes from the tables */
	T_EQ(rref_vec_pkt_new(5, &v), 0);
	T_EQ(t_alloc_size[v.r.slot], RL_CONTAINER_HDR + 5 * sizeof(struct pkt));
	T_EQ(rref_vec_pkt_get(v)->hdr.len, 0);
	T_EQ(rref_vec_pkt_get(v)->hdr.capacity, 5);
	T_EQ(rref_deque_u64_8_new(&d), 0);
	T_EQ(t_alloc_size[d.r.slot], rl_idl_types[RL_TYPE_deque_u64_8].size);
	T_CHECK(rref_deque_u64_8_get(d)->hdr.head == 0 && rref_deque_u64_8_get(d)->hdr.tail == 0);
	T_EQ(rref_vec_inner_new(0, &w), 0);
	T_EQ(Everything_containers(cap, v, d, w, &dq), 0);
	T_EQ(t_last_call.args[0], rl_rref_to_wire(v.r));
	T_EQ(t_last_call.args[1], rl_rref_to_wire(d.r));
	T_EQ(t_last_call.args[2], rl_rref_to_wire(w.r));
	T_CHECK(dq.r.slot == 0x1234 && dq.r.gen == 0xabcdef01);

	/* rref results: a NULL out drops the object instead of leaking it */
	drops = t_drops;
	T_EQ(Everything_containers(cap, v, d, w, NULL), 0);
	T_EQ(t_drops, drops + 1);
	T_CHECK(t_last_drop.slot == 0x1234 && t_last_drop.gen == 0xabcdef01);

	T_EQ(Everything_arrays(cap, (rref_arr_u8_16){ { 1, 2 } }, (rref_u64){ { 3, 4 } },
			       (rref_arr_inner_2){ { 5, 6 } }, &grid), 0);
	T_EQ(t_last_call.args[0], (2ull << 32) | 1);
	T_EQ(t_last_call.args[2], (6ull << 32) | 5);
	T_CHECK(t_got.r[1].slot == 3 && t_got.r[1].gen == 4);
	T_CHECK(grid.r.slot == 7 && grid.r.gen == 8);

	T_EQ(Everything_handle(cap, (rref_rref_pkt){ RL_RREF_NULL }, &r32), 0);
	T_EQ(t_last_call.args[0], 0xffffffffull);
	T_CHECK(rl_rref_is_null(t_got.r[0]) && r32 == 42);

	/* capabilities: the 32-bit handle, zero-extended, both ways */
	T_EQ(Everything_setup(cap, T_CAP_SINK, 0x80000001u, &c), 0);
	T_EQ(t_last_call.args[0], T_CAP_SINK);
	T_EQ(t_last_call.args[1], 0x80000001u);
	T_CHECK(t_got.caps[0] == T_CAP_SINK && t_got.caps[1] == 0x80000001u);
	T_EQ(c, 0xfffe0001u);

	T_EQ(Sink_put(T_CAP_SINK, (rref_pkt){ { 11, 12 } }), 0);
	T_EQ(t_last_call.nargs, 1);
	T_CHECK(t_got.r[0].slot == 11 && t_got.r[0].gen == 12);
}

static void t_check_errors(void)
{
	const rl_cap cap = T_CAP_EVERYTHING;
	int64_t r64 = 0x77;
	uint64_t args[RL_MSG_ARGS] = { 0 }, ret = 0x99;

	/* a callee error passes through; out is untouched */
	t_got.fail = -EIO;
	T_EQ(Everything_scalars(cap, 1, 2, 3, 4, 5, &r64), (uint64_t)(int64_t)-EIO);
	T_EQ(r64, 0x77);
	t_got.fail = 0;

	/* a transport error too */
	T_EQ(Everything_scalars(1234, 1, 2, 3, 4, 5, &r64), (uint64_t)(int64_t)-EBADF);
	T_EQ(r64, 0x77);

	/* a NULL op, an unknown method, NULL ops */
	T_EQ(Everything_both(cap), (uint64_t)(int64_t)-ENOSYS);
	T_EQ(Everything_dispatch(&t_everything_ops, &t_self, 11, args, &ret),
	     (uint64_t)(int64_t)-ENOSYS);
	T_EQ(Everything_dispatch(&t_everything_ops, &t_self, UINT16_MAX, args, &ret),
	     (uint64_t)(int64_t)-ENOSYS);
	T_EQ(Everything_dispatch(NULL, &t_self, 0, args, &ret), (uint64_t)(int64_t)-ENOSYS);
	T_EQ(Sink_dispatch(&t_sink_ops, &t_self, 1, args, &ret), (uint64_t)(int64_t)-ENOSYS);

	/* the dispatcher writes a zero result word for methods without a result */
	T_EQ(Everything_dispatch(&t_everything_ops, &t_self, RL_METHOD_Everything_none, args, &ret),
	     0);
	T_EQ(ret, 0);
	/* and tolerates a NULL ret */
	T_EQ(Everything_dispatch(&t_everything_ops, &t_self, RL_METHOD_Everything_five, args, NULL),
	     0);
}

static void t_check_export_and_shadow(void)
{
	uint64_t args[RL_MSG_ARGS] = { 1, 2, 3, 4, 5 }, ret = 0;
	int shadow;

	T_EQ(Everything_export(&t_everything_ops, &t_self), 0);
	T_EQ(t_last_export.iface, RL_IFACE_Everything);
	T_CHECK(t_last_export.dispatch == Everything_dispatch);
	T_CHECK(t_last_export.ops == &t_everything_ops && t_last_export.self == &t_self);

	/* the shadow table: the dispatcher of each `shadow interface`, NULL for the others */
	T_EQ(sizeof(rl_idl_shadow_dispatch) / sizeof(rl_idl_shadow_dispatch[0]), (size_t)rl_idl_nifaces);
	T_CHECK(rl_idl_shadow_dispatch[0] == NULL);
	T_CHECK(rl_idl_shadow_dispatch[RL_IFACE_Sink] == Sink_shadow_dispatch);
	T_CHECK(rl_idl_shadow_dispatch[RL_IFACE_Everything] == Everything_shadow_dispatch);
	T_CHECK(rl_idl_shadow_dispatch[RL_IFACE_Plain] == NULL);
	T_EQ(Sink_export_shadow(&shadow), 0);
	T_EQ(t_last_export.iface, RL_IFACE_Sink);
	T_CHECK(t_last_export.dispatch == Sink_shadow_dispatch);
	T_CHECK(t_last_export.ops == NULL && t_last_export.self == &shadow);

	/* a shadow forwards with each method's own parameter count */
	static const struct {
		uint16_t method;
		unsigned nargs;
	} expect[] = {
		{ RL_METHOD_Everything_none, 0 }, { RL_METHOD_Everything_scalars, 5 },
		{ RL_METHOD_Everything_more, 4 }, { RL_METHOD_Everything_lookup, 2 },
		{ RL_METHOD_Everything_setup, 2 }, { RL_METHOD_Everything_both, 0 },
		{ RL_METHOD_Everything_containers, 3 }, { RL_METHOD_Everything_arrays, 3 },
		{ RL_METHOD_Everything_five, 5 }, { RL_METHOD_Everything_small, 2 },
		{ RL_METHOD_Everything_handle, 1 },
	};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		ret = 0;
		T_EQ(Everything_shadow_dispatch(NULL, &shadow, expect[i].method, args, &ret), 0);
		T_CHECK(t_last_forward.shadow == &shadow);
		T_EQ(t_last_forward.iface, RL_IFACE_Everything);
		T_EQ(t_last_forward.method, expect[i].method);
		T_EQ(t_last_forward.nargs, expect[i].nargs);
		T_EQ(t_last_forward.nargs, rl_idl_ifaces[RL_IFACE_Everything].methods[i].nparams);
		T_EQ(ret, 0x5eed);
	}
	T_EQ(Everything_shadow_dispatch(NULL, &shadow, 11, args, &ret), (uint64_t)(int64_t)-ENOSYS);
}

int main(void)
{
	t_check_layouts();
	t_check_types();
	t_check_ifaces();
	t_check_scalar_calls();
	t_check_rref_calls();
	t_check_errors();
	t_check_export_and_shadow();
	printf("ok: layouts, %u types, %u interfaces, stubs and dispatchers\n",
	       rl_idl_ntypes - 1, rl_idl_nifaces - 1);
	return 0;
}
