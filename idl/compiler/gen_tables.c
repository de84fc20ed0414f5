/* SPDX-License-Identifier: MIT */
/*
 * The generated tables file: what the broker validates every call against
 * (redleaf/idl.h). It includes nothing generated, so the broker links it
 * without the header.
 */
#include <inttypes.h>

#include "redleaf/idl.h"

#include "gen.h"

static const char *const kind_names[] = {
	[T_SCALAR] = "RL_TYPE_PLAIN", [T_ARRAY] = "RL_TYPE_PLAIN", [T_STRUCT] = "RL_TYPE_PLAIN",
	[T_HANDLE] = "RL_TYPE_PLAIN", [T_VEC] = "RL_TYPE_VEC", [T_DEQUE] = "RL_TYPE_DEQUE",
};

static const char *const param_kinds[] = {
	[RL_PARAM_NONE] = "RL_PARAM_NONE", [RL_PARAM_U8] = "RL_PARAM_U8",
	[RL_PARAM_U16] = "RL_PARAM_U16", [RL_PARAM_U32] = "RL_PARAM_U32",
	[RL_PARAM_U64] = "RL_PARAM_U64", [RL_PARAM_I8] = "RL_PARAM_I8",
	[RL_PARAM_I16] = "RL_PARAM_I16", [RL_PARAM_I32] = "RL_PARAM_I32",
	[RL_PARAM_I64] = "RL_PARAM_I64", [RL_PARAM_BOOL] = "RL_PARAM_BOOL",
	[RL_PARAM_RREF] = "RL_PARAM_RREF", [RL_PARAM_RREF_BORROW] = "RL_PARAM_RREF_BORROW",
	[RL_PARAM_CAP] = "RL_PARAM_CAP",
};

static unsigned param_id(const struct idl_field *p)
{
	if (p->param_kind == RL_PARAM_RREF || p->param_kind == RL_PARAM_RREF_BORROW)
		return p->type->elem->id;
	if (p->param_kind == RL_PARAM_CAP)
		return p->iface->iface_id;
	return 0;
}

static void emit_param(struct idl_buf *o, const struct idl_field *p)
{
	idl_buf_printf(o, "{ %s, %u }", param_kinds[p->param_kind], param_id(p));
}

static void emit_types(struct idl_unit *u, struct idl_buf *o)
{
	for (unsigned id = 1; id < u->ntypes; id++) {
		const struct idl_type *t = u->types[id];

		if (!t->nnested)
			continue;
		idl_buf_printf(o, "\n/* %s */\nstatic const struct rl_nested_rref nested_%u[] = {\n",
			       t->name, id);
		for (uint32_t i = 0; i < t->nnested; i++)
			idl_buf_printf(o, "\t{ .offset = %" PRIu32 ", .type_id = %u },\n",
				       t->nested[i].offset, t->nested[i].target->id);
		idl_buf_puts(o, "};\n");
	}
	idl_buf_puts(o, "\nconst struct rl_type_desc rl_idl_types[] = {\n"
		     "\t[0] = { .name = \"\" }, /* ids start at 1 */\n");
	for (unsigned id = 1; id < u->ntypes; id++) {
		const struct idl_type *t = u->types[id];
		bool container = t->kind == T_VEC || t->kind == T_DEQUE;

		idl_buf_printf(o,
			       "\t[%u] = {\n"
			       "\t\t.name = \"%s\",\n"
			       "\t\t.id = %u,\n"
			       "\t\t.kind = %s,\n"
			       "\t\t.align = %" PRIu32 ",\n"
			       "\t\t.size = %" PRIu64 ",\n"
			       "\t\t.elem_size = %" PRIu64 ",\n"
			       "\t\t.capacity = %" PRIu32 ",\n"
			       "\t\t.n_rrefs = %" PRIu32 ",\n",
			       id, t->name, id, kind_names[t->kind], t->align, t->size,
			       container ? t->elem->size : 0, t->kind == T_DEQUE ? t->len : 0,
			       t->nnested);
		if (t->nnested)
			idl_buf_printf(o, "\t\t.rrefs = nested_%u,\n", id);
		else
			idl_buf_puts(o, "\t\t.rrefs = NULL,\n");
		idl_buf_puts(o, "\t},\n");
	}
	idl_buf_printf(o, "};\n\nconst unsigned rl_idl_ntypes = %u;\n", u->ntypes);
}

static void emit_ifaces(struct idl_unit *u, struct idl_buf *o)
{
	for (unsigned id = 1; id < u->nifaces; id++) {
		const struct idl_decl *d = u->ifaces[id];

		idl_buf_printf(o, "\nstatic const struct rl_method_desc methods_%u[] = { /* %s */\n",
			       id, d->name);
		for (const struct idl_method *m = d->methods; m; m = m->next) {
			idl_buf_printf(o, "\t{\n\t\t.name = \"%s\",\n\t\t.nparams = %u,\n\t\t.flags = ",
				       m->name, m->nparams);
			if (!m->flags)
				idl_buf_puts(o, "0");
			if (m->flags & RL_METHOD_IDEMPOTENT)
				idl_buf_puts(o, m->flags & RL_METHOD_INIT ?
					     "RL_METHOD_IDEMPOTENT | " : "RL_METHOD_IDEMPOTENT");
			if (m->flags & RL_METHOD_INIT)
				idl_buf_puts(o, "RL_METHOD_INIT");
			idl_buf_puts(o, ",\n\t\t.params = { ");
			if (!m->params) /* an empty initializer list is not C11 */
				idl_buf_puts(o, "{ RL_PARAM_NONE, 0 } ");
			for (const struct idl_field *p = m->params; p; p = p->next) {
				emit_param(o, p);
				idl_buf_puts(o, p->next ? ", " : " ");
			}
			idl_buf_puts(o, "},\n\t\t.result = ");
			emit_param(o, &m->result);
			idl_buf_puts(o, ",\n\t},\n");
		}
		idl_buf_puts(o, "};\n");
	}
	idl_buf_puts(o, "\nconst struct rl_iface_desc rl_idl_ifaces[] = {\n"
		     "\t[0] = { .name = \"\" }, /* ids start at 1 */\n");
	for (unsigned id = 1; id < u->nifaces; id++) {
		const struct idl_decl *d = u->ifaces[id];

		idl_buf_printf(o, "\t[%u] = { .name = \"%s\", .id = %u, .nmethods = %u, .methods = methods_%u },\n",
			       id, d->name, id, d->nmethods, id);
	}
	idl_buf_printf(o, "};\n\nconst unsigned rl_idl_nifaces = %u;\n", u->nifaces);
}

void idl_gen_tables(struct idl_unit *u, struct idl_buf *o)
{
	idl_gen_banner(u, o, "Validation tables for the broker (redleaf/idl.h).");
	idl_buf_puts(o, "#include <stddef.h>\n#include <string.h>\n\n#include \"redleaf/idl.h\"\n");
	emit_types(u, o);
	emit_ifaces(u, o);
	idl_buf_puts(o,
		     "\nconst struct rl_iface_desc *rl_idl_iface_by_name(const char *name)\n"
		     "{\n"
		     "\tif (!name)\n\t\treturn NULL;\n"
		     "\tfor (unsigned i = 1; i < rl_idl_nifaces; i++)\n"
		     "\t\tif (strcmp(rl_idl_ifaces[i].name, name) == 0)\n"
		     "\t\t\treturn &rl_idl_ifaces[i];\n"
		     "\treturn NULL;\n"
		     "}\n");
}
