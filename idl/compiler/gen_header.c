/* SPDX-License-Identifier: MIT */
/* The generated header: ids, structs, typed RRefs, stub prototypes, ops tables. */
#include <inttypes.h>

#include "redleaf/idl.h"

#include "arena.h"
#include "gen.h"

static void emit_consts(struct idl_unit *u, struct idl_buf *o)
{
	bool any = false;

	for (struct idl_decl *d = u->decls; d; d = d->next) {
		if (d->kind != DECL_CONST)
			continue;
		if (!any)
			idl_buf_puts(o, "\n/* Constants. */\n");
		any = true;
		if (d->cvalue == INT64_MIN)
			idl_buf_printf(o, "#define RL_CONST_%s (-INT64_MAX - 1)\n", d->name);
		else if (d->cvalue < 0)
			idl_buf_printf(o, "#define RL_CONST_%s (-INT64_C(%" PRId64 "))\n", d->name,
				       -d->cvalue);
		else
			idl_buf_printf(o, "#define RL_CONST_%s INT64_C(%" PRId64 ")\n", d->name,
				       d->cvalue);
	}
}

static void emit_ids(struct idl_unit *u, struct idl_buf *o)
{
	idl_buf_puts(o, "\n/* Type ids: indexes of rl_idl_types[]. */\n");
	for (unsigned id = 1; id < u->ntypes; id++)
		idl_buf_printf(o, "#define RL_TYPE_%s %u /* %s */\n", u->types[id]->mangled, id,
			       u->types[id]->name);
	idl_buf_puts(o, "\n/* Interface ids (rl_idl_ifaces[]) and method indexes. */\n");
	for (unsigned id = 1; id < u->nifaces; id++) {
		struct idl_decl *d = u->ifaces[id];
		unsigned i = 0;

		idl_buf_printf(o, "#define RL_IFACE_%s %u\n", d->name, id);
		for (struct idl_method *m = d->methods; m; m = m->next)
			idl_buf_printf(o, "#define RL_METHOD_%s_%s %u\n", d->name, m->name, i++);
	}
}

static void emit_typedefs(struct idl_unit *u, struct idl_buf *o)
{
	idl_buf_puts(o,
		     "\n/*\n"
		     " * Typed RRefs: one wrapper per type with an id, so that passing an rref of\n"
		     " * one type where another is expected is a compile error. Same layout as\n"
		     " * rl_rref (8 bytes, aligned 8), also as a field inside heap objects.\n"
		     " */\n");
	for (unsigned id = 1; id < u->ntypes; id++)
		idl_buf_printf(o, "typedef struct { rl_rref r; } rref_%s;\n", u->types[id]->mangled);
	if (u->ntypes > 1)
		idl_buf_printf(o,
			       "static_assert(sizeof(rref_%s) == 8 && _Alignof(rref_%s) == 8,\n"
			       "\t      \"a typed rref is one aligned 64-bit word\");\n",
			       u->types[1]->mangled, u->types[1]->mangled);
}

static void emit_structs(struct idl_unit *u, struct idl_buf *o)
{
	if (u->nstruct_order)
		idl_buf_puts(o,
			     "\n/* Structs, each after the ones it contains. Layouts are pinned: the\n"
			     " * broker's tables were computed from the IDL, not from this header. */\n");
	for (unsigned i = 0; i < u->nstruct_order; i++) {
		struct idl_type *t = u->struct_order[i];

		idl_buf_printf(o, "struct %s {\n", t->name);
		for (struct idl_field *f = t->decl->fields; f; f = f->next)
			idl_buf_printf(o, "\t%s %s%s;%s\n", idl_c_base(u, f->type), f->name,
				       idl_c_dims(u, f->type),
				       f->type->kind == T_SCALAR && f->type->scalar == IDL_BOOL ?
				       " /* bool: 0 or 1 (see docs/idl.md) */" : "");
		idl_buf_puts(o, "};\n");
		idl_buf_printf(o,
			       "static_assert(sizeof(struct %s) == %" PRIu64
			       " && _Alignof(struct %s) == %" PRIu32 ", \"IDL layout of %s\");\n",
			       t->name, t->size, t->name, t->align, t->name);
		for (struct idl_field *f = t->decl->fields; f; f = f->next)
			idl_buf_printf(o, "static_assert(offsetof(struct %s, %s) == %" PRIu64
				       ", \"IDL layout of %s.%s\");\n",
				       t->name, f->name, f->offset, t->name, f->name);
	}
}

static void emit_containers(struct idl_unit *u, struct idl_buf *o)
{
	bool any = false;

	for (unsigned id = 1; id < u->ntypes; id++) {
		struct idl_type *t = u->types[id];
		const char *base, *dims;

		if (t->kind != T_VEC && t->kind != T_DEQUE)
			continue;
		if (!any)
			idl_buf_puts(o, "\n/* Heap layout of rref_vec<T> and rref_deque<T, N> objects (redleaf/idl.h). */\n");
		any = true;
		base = idl_c_base(u, t->elem);
		dims = idl_c_dims(u, t->elem);
		if (t->kind == T_VEC) {
			idl_buf_printf(o, "struct %s {\n\tstruct rl_vec_hdr hdr;\n\t%s items[]%s;\n};\n",
				       t->mangled, base, dims);
		} else {
			idl_buf_printf(o,
				       "struct %s {\n\tstruct rl_deque_hdr hdr;\n\t%s items[%" PRIu32 "]%s;\n};\n",
				       t->mangled, base, t->len, dims);
			idl_buf_printf(o,
				       "static_assert(sizeof(((struct %s *)0)->items) == %" PRIu64
				       ", \"IDL layout of %s\");\n",
				       t->mangled, t->size - RL_CONTAINER_HDR, t->name);
		}
		idl_buf_printf(o,
			       "static_assert(offsetof(struct %s, items) == RL_CONTAINER_HDR &&\n"
			       "\t      sizeof(((struct %s *)0)->items[0]) == %" PRIu64
			       ", \"IDL layout of %s\");\n",
			       t->mangled, t->mangled, t->elem->size, t->name);
	}
}

/* What rref_<m>_get() points to: the object, or for arrays their first element. */
static const char *pointee(struct idl_unit *u, const struct idl_type *t)
{
	if (t->kind == T_VEC || t->kind == T_DEQUE)
		return idl_arena_printf(u->arena, "struct %s", t->mangled);
	return idl_c_base(u, t);
}

static void emit_helpers(struct idl_unit *u, struct idl_buf *o)
{
	if (u->ntypes <= 1)
		return;
	idl_buf_puts(o,
		     "\n/*\n"
		     " * A new object starts zeroed, with every nested rref NULL (a zero handle\n"
		     " * would name slot 0). The offsets come from the tables (rl_idl_types).\n"
		     " */\n"
		     "static inline void __rl_idl_clear(void *obj, size_t size, uint16_t type_id)\n"
		     "{\n"
		     "\tconst struct rl_type_desc *t = &rl_idl_types[type_id];\n"
		     "\tconst rl_rref null = RL_RREF_NULL;\n"
		     "\tunsigned char *p = obj;\n\n"
		     "\t__builtin_memset(p, 0, size);\n"
		     "\tfor (unsigned i = 0; i < t->n_rrefs; i++)\n"
		     "\t\t__builtin_memcpy(p + t->rrefs[i].offset, &null, sizeof(null));\n"
		     "}\n");
	idl_buf_puts(o,
		     "\n/*\n"
		     " * Per type: _new() allocates (out untouched on failure; 0 or a negative\n"
		     " * errno), _get() is the object if this domain owns it, _borrow() if it is\n"
		     " * lent to the call being served (read-only), both NULL otherwise; _drop()\n"
		     " * gives it back. Check _get()/_borrow() for NULL before following an rref\n"
		     " * found inside a heap object: another domain may have written it.\n"
		     " */\n");
	for (unsigned id = 1; id < u->ntypes; id++) {
		struct idl_type *t = u->types[id];
		const char *m = t->mangled, *ptr = pointee(u, t);

		idl_buf_printf(o, "\n/* %s */\n", t->name);
		if (t->kind == T_VEC) {
			idl_buf_printf(o,
				       "static inline int rref_%s_new(uint32_t capacity, rref_%s *out)\n"
				       "{\n"
				       "\tstruct %s *v;\n"
				       "\trl_rref r;\n"
				       "\tint rc = rl_rref_alloc(RL_TYPE_%s, RL_CONTAINER_HDR + (size_t)capacity * sizeof(v->items[0]), &r);\n\n"
				       "\tif (rc)\n\t\treturn rc;\n"
				       "\tv = rl_rref_get(r);\n"
				       "\tif (!v) {\n\t\trl_rref_drop(r);\n\t\treturn -EPROTO;\n\t}\n"
				       "\tv->hdr.len = 0;\n"
				       "\tv->hdr.capacity = capacity;\n"
				       "\tout->r = r;\n"
				       "\treturn 0;\n"
				       "}\n",
				       m, m, m, m);
		} else if (t->kind == T_DEQUE) {
			idl_buf_printf(o,
				       "static inline int rref_%s_new(rref_%s *out)\n"
				       "{\n"
				       "\tstruct %s *d;\n"
				       "\trl_rref r;\n"
				       "\tint rc = rl_rref_alloc(RL_TYPE_%s, RL_CONTAINER_HDR + sizeof(d->items), &r);\n\n"
				       "\tif (rc)\n\t\treturn rc;\n"
				       "\td = rl_rref_get(r);\n"
				       "\tif (!d) {\n\t\trl_rref_drop(r);\n\t\treturn -EPROTO;\n\t}\n"
				       "\td->hdr.head = 0;\n"
				       "\td->hdr.tail = 0;\n"
				       "\tout->r = r;\n"
				       "\treturn 0;\n"
				       "}\n",
				       m, m, m, m);
		} else {
			const char *size = idl_arena_printf(u->arena, "sizeof(%s%s)", idl_c_base(u, t),
							    idl_c_dims(u, t));

			idl_buf_printf(o,
				       "static inline int rref_%s_new(rref_%s *out)\n"
				       "{\n"
				       "\tvoid *p;\n"
				       "\trl_rref r;\n"
				       "\tint rc = rl_rref_alloc(RL_TYPE_%s, %s, &r);\n\n"
				       "\tif (rc)\n\t\treturn rc;\n"
				       "\tp = rl_rref_get(r);\n"
				       "\tif (!p) {\n\t\trl_rref_drop(r);\n\t\treturn -EPROTO;\n\t}\n"
				       "\t__rl_idl_clear(p, %s, RL_TYPE_%s);\n"
				       "\tout->r = r;\n"
				       "\treturn 0;\n"
				       "}\n",
				       m, m, m, size, size, m);
		}
		idl_buf_printf(o,
			       "static inline %s *rref_%s_get(rref_%s x)\n{\n\treturn rl_rref_get(x.r);\n}\n"
			       "static inline const %s *rref_%s_borrow(rref_%s x)\n{\n\treturn rl_rref_borrow(x.r);\n}\n"
			       "static inline void rref_%s_drop(rref_%s x)\n{\n\trl_rref_drop(x.r);\n}\n",
			       ptr, m, m, ptr, m, m, m, m);
	}
}

/* "rl_cap cap, uint32_t blockno, rref_block data, rref_block *out" */
static const char *stub_params(struct idl_unit *u, const struct idl_method *m, const char *first)
{
	const char *s = first;

	for (const struct idl_field *p = m->params; p; p = p->next)
		s = idl_arena_printf(u->arena, "%s, %s %s", s, idl_c_param_type(p), p->name);
	if (m->result.param_kind != RL_PARAM_NONE)
		s = idl_arena_printf(u->arena, "%s, %s *out", s, idl_c_param_type(&m->result));
	return s;
}

static void emit_iface(struct idl_unit *u, struct idl_buf *o, struct idl_decl *d)
{
	const char *n = d->name;

	idl_buf_printf(o, "\n/* ---- interface %s (RL_IFACE_%s) ---- */\n", n, n);
	idl_buf_printf(o,
		       "\n/*\n"
		       " * Caller stubs: 0 or a negative errno (rpc_result in redleaf/types.h). On\n"
		       " * success the result is stored in *out; out is untouched on failure. With a\n"
		       " * NULL out the result is discarded (a returned rref is dropped).\n"
		       " */\n");
	for (struct idl_method *m = d->methods; m; m = m->next)
		idl_buf_printf(o, "/* %s */\nrpc_result %s_%s(%s);\n", idl_signature(u, m), n, m->name,
			       stub_params(u, m, "rl_cap cap"));
	idl_buf_printf(o,
		       "\n/*\n"
		       " * Callee side: ops return 0 or a negative errno; a NULL member answers\n"
		       " * -ENOSYS. An &rref parameter is only lent for the call: read it with\n"
		       " * rref_<T>_borrow(). A moved rref parameter belongs to the callee.\n"
		       " */\n"
		       "struct %s_ops {\n", n);
	for (struct idl_method *m = d->methods; m; m = m->next)
		idl_buf_printf(o, "\tint (*%s)(%s);\n", m->name, stub_params(u, m, "void *self"));
	idl_buf_puts(o, "};\n");
	idl_buf_printf(o,
		       "int %s_dispatch(const void *ops, void *self, uint16_t method, const uint64_t *args,\n"
		       "\t\tuint64_t *ret);\n"
		       "static inline int %s_export(const struct %s_ops *ops, void *self)\n"
		       "{\n\treturn rl_export(RL_IFACE_%s, %s_dispatch, ops, self);\n}\n",
		       n, n, n, n, n);
	if (!d->shadow)
		return;
	idl_buf_printf(o,
		       "\n/* Shadow (`shadow interface`): forwards every call to the wrapped domain (rl_shadow_forward). */\n"
		       "int %s_shadow_dispatch(const void *ops, void *shadow, uint16_t method,\n"
		       "\t\tconst uint64_t *args, uint64_t *ret);\n"
		       "static inline int %s_export_shadow(void *shadow)\n"
		       "{\n\treturn rl_export(RL_IFACE_%s, %s_shadow_dispatch, NULL, shadow);\n}\n",
		       n, n, n, n);
}

void idl_gen_header(struct idl_unit *u, struct idl_buf *o)
{
	idl_gen_banner(u, o, "IDL types, typed RRefs, caller stubs and callee dispatchers.");
	idl_buf_puts(o,
		     "#ifndef REDLEAF_IDL_GENERATED_H\n"
		     "#define REDLEAF_IDL_GENERATED_H\n\n"
		     "#include <stdbool.h>\n"
		     "#include <stdint.h>\n"
		     "#include <assert.h>\n\n"
		     "#include \"redleaf/types.h\"\n"
		     "#include \"redleaf/idl.h\"\n"
		     "#include \"redleaf/domain.h\"\n");
	emit_consts(u, o);
	emit_ids(u, o);
	emit_typedefs(u, o);
	emit_structs(u, o);
	emit_containers(u, o);
	emit_helpers(u, o);
	for (unsigned id = 1; id < u->nifaces; id++)
		emit_iface(u, o, u->ifaces[id]);
	idl_buf_printf(o,
		       "\n/* By interface id: the shadow dispatcher of a `shadow interface`, NULL for the others. */\n"
		       "extern const rl_dispatch_fn rl_idl_shadow_dispatch[%u];\n", u->nifaces);
	idl_buf_puts(o, "\n#endif /* REDLEAF_IDL_GENERATED_H */\n");
}
