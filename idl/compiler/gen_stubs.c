/* SPDX-License-Identifier: MIT */
/*
 * The generated stubs file: caller stubs (pack arguments into message words,
 * rl_call, unpack the result), callee dispatchers (the reverse), and shadow
 * dispatchers for the interfaces declared `shadow interface`, with the
 * table rl_idl_shadow_dispatch[] (by interface id; NULL for the others). Words: unsigned scalars zero-extended, signed ones as their
 * same-width unsigned bit pattern zero-extended, bool 0/1, rrefs as
 * rl_rref_to_wire(), capabilities as the 32-bit handle.
 */
#include "redleaf/idl.h"

#include "arena.h"
#include "gen.h"

static void emit_stub(struct idl_unit *u, struct idl_buf *o, const struct idl_decl *d,
		      const struct idl_method *m)
{
	const struct idl_field *res = &m->result;
	bool has_result = res->param_kind != RL_PARAM_NONE;
	unsigned i = 0;

	idl_buf_printf(o, "\nrpc_result %s_%s(rl_cap cap", d->name, m->name);
	for (const struct idl_field *p = m->params; p; p = p->next)
		idl_buf_printf(o, ", %s %s", idl_c_param_type(p), p->name);
	if (has_result)
		idl_buf_printf(o, ", %s *out", idl_c_param_type(res));
	idl_buf_puts(o, ")\n{\n");
	if (m->nparams)
		idl_buf_printf(o, "\tuint64_t __rl_args[%u];\n", m->nparams);
	if (has_result)
		idl_buf_puts(o, "\tuint64_t __rl_ret = 0;\n");
	idl_buf_puts(o, "\trpc_result __rl_rc;\n\n");
	for (const struct idl_field *p = m->params; p; p = p->next)
		idl_buf_printf(o, "\t__rl_args[%u] = %s;\n", i++, idl_c_pack(u, p, p->name));
	idl_buf_printf(o, "\t__rl_rc = rl_call(cap, RL_METHOD_%s_%s, %s, %u, %s);\n", d->name,
		       m->name, m->nparams ? "__rl_args" : "NULL", m->nparams,
		       has_result ? "&__rl_ret" : "NULL");
	if (has_result) {
		idl_buf_printf(o, "\tif (__rl_rc == 0 && out)\n\t\t*out = %s;\n",
			       idl_c_unpack(u, res, "__rl_ret"));
		if (res->param_kind == RL_PARAM_RREF)
			idl_buf_puts(o,
				     "\telse if (__rl_rc == 0)\n"
				     "\t\trl_rref_drop(rl_rref_from_wire(__rl_ret));\n");
	}
	idl_buf_puts(o, "\treturn __rl_rc;\n}\n");
}

static void emit_dispatch(struct idl_unit *u, struct idl_buf *o, const struct idl_decl *d)
{
	idl_buf_printf(o,
		       "\nint %s_dispatch(const void *ops, void *self, uint16_t method, const uint64_t *args,\n"
		       "\t\tuint64_t *ret)\n"
		       "{\n"
		       "\tconst struct %s_ops *o = ops;\n"
		       "\tint rc;\n\n"
		       "\tif (!o)\n\t\treturn -ENOSYS;\n"
		       "\tswitch (method) {\n",
		       d->name, d->name);
	for (const struct idl_method *m = d->methods; m; m = m->next) {
		const struct idl_field *res = &m->result;
		bool has_result = res->param_kind != RL_PARAM_NONE;
		unsigned i = 0;

		idl_buf_printf(o, "\tcase RL_METHOD_%s_%s: {\n", d->name, m->name);
		if (has_result)
			idl_buf_printf(o, "\t\t%s out = %s;\n\n", idl_c_param_type(res),
				       res->param_kind == RL_PARAM_CAP ? "RL_CAP_INVALID" :
				       res->param_kind == RL_PARAM_RREF ? "{ RL_RREF_NULL }" : "0");
		idl_buf_printf(o, "\t\tif (!o->%s)\n\t\t\treturn -ENOSYS;\n", m->name);
		idl_buf_printf(o, "\t\trc = o->%s(self", m->name);
		for (const struct idl_field *p = m->params; p; p = p->next) {
			const char *word = idl_arena_printf(u->arena, "args[%u]", i++);

			idl_buf_printf(o, ", %s", idl_c_unpack(u, p, word));
		}
		idl_buf_printf(o, "%s);\n", has_result ? ", &out" : "");
		idl_buf_printf(o, "\t\tif (rc == 0 && ret)\n\t\t\t*ret = %s;\n",
			       has_result ? idl_c_pack(u, res, "out") : "0");
		idl_buf_puts(o, "\t\treturn rc;\n\t}\n");
	}
	idl_buf_puts(o, "\tdefault:\n\t\treturn -ENOSYS;\n\t}\n}\n");
}

/* Cases grouped by parameter count: rl_shadow_forward() needs only that. */
static void emit_shadow_dispatch(struct idl_buf *o, const struct idl_decl *d)
{
	idl_buf_printf(o,
		       "\nint %s_shadow_dispatch(const void *ops, void *shadow, uint16_t method,\n"
		       "\t\tconst uint64_t *args, uint64_t *ret)\n"
		       "{\n"
		       "\t(void)ops;\n"
		       "\tswitch (method) {\n",
		       d->name);
	for (unsigned n = 0; n <= RL_MSG_ARGS; n++) {
		bool any = false;

		for (const struct idl_method *m = d->methods; m; m = m->next) {
			if (m->nparams != n)
				continue;
			idl_buf_printf(o, "\tcase RL_METHOD_%s_%s:\n", d->name, m->name);
			any = true;
		}
		if (any)
			idl_buf_printf(o,
				       "\t\treturn rl_shadow_forward(shadow, RL_IFACE_%s, method, args, %u, ret);\n",
				       d->name, n);
	}
	idl_buf_puts(o, "\tdefault:\n\t\treturn -ENOSYS;\n\t}\n}\n");
}

void idl_gen_stubs(struct idl_unit *u, const char *header_name, struct idl_buf *o)
{
	idl_gen_banner(u, o, "Caller stubs, callee dispatchers and shadow dispatchers.");
	idl_buf_printf(o, "#include \"%s\"\n", header_name);
	for (unsigned id = 1; id < u->nifaces; id++) {
		const struct idl_decl *d = u->ifaces[id];

		idl_buf_printf(o, "\n/* ---- interface %s ---- */\n", d->name);
		for (const struct idl_method *m = d->methods; m; m = m->next)
			emit_stub(u, o, d, m);
		emit_dispatch(u, o, d);
		if (d->shadow)
			emit_shadow_dispatch(o, d);
	}
	/* What a generic shadow domain looks up: the shadow dispatcher of each interface that asks for one. */
	idl_buf_printf(o, "\nconst rl_dispatch_fn rl_idl_shadow_dispatch[%u] = {\n", u->nifaces);
	for (unsigned id = 1; id < u->nifaces; id++)
		if (u->ifaces[id]->shadow)
			idl_buf_printf(o, "\t[RL_IFACE_%s] = %s_shadow_dispatch,\n", u->ifaces[id]->name,
				       u->ifaces[id]->name);
	idl_buf_puts(o, "};\n");
}
