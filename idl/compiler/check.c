/* SPDX-License-Identifier: MIT */
/*
 * Passes, in order:
 *  1. declare: the shared namespace of consts, structs and interfaces;
 *     struct and interface ids in declaration order.
 *  2. resolve: every type expression, in source order, so that the types
 *     used as rref targets get their ids in order of first use.
 *  3. generated names: every C identifier derived from IDL names is unique.
 *  4. layout: structs, with recursion-by-value and size checks.
 *  5. targets: every rref target fits in the largest heap object.
 *  6. nested rrefs: flattened handle offsets for the tables.
 * An error poisons the type it concerns; anything built on a poisoned type
 * stays silent, which is how one mistake yields one message.
 */
#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "redleaf/idl.h"

#include "arena.h"
#include "parser.h"
#include "reserved.h"

const struct idl_scalar_info idl_scalars[IDL_NSCALARS] = {
	[IDL_U8] = { "u8", "uint8_t", "uint8_t", "uint8_t", 1, false, RL_PARAM_U8 },
	[IDL_U16] = { "u16", "uint16_t", "uint16_t", "uint16_t", 2, false, RL_PARAM_U16 },
	[IDL_U32] = { "u32", "uint32_t", "uint32_t", "uint32_t", 4, false, RL_PARAM_U32 },
	[IDL_U64] = { "u64", "uint64_t", "uint64_t", "uint64_t", 8, false, RL_PARAM_U64 },
	[IDL_I8] = { "i8", "int8_t", "int8_t", "uint8_t", 1, true, RL_PARAM_I8 },
	[IDL_I16] = { "i16", "int16_t", "int16_t", "uint16_t", 2, true, RL_PARAM_I16 },
	[IDL_I32] = { "i32", "int32_t", "int32_t", "uint32_t", 4, true, RL_PARAM_I32 },
	[IDL_I64] = { "i64", "int64_t", "int64_t", "uint64_t", 8, true, RL_PARAM_I64 },
	[IDL_BOOL] = { "bool", "bool", "uint8_t", "uint8_t", 1, false, RL_PARAM_BOOL },
};

static_assert(RL_MSG_ARGS == 5, "docs/idl.md and the tests say 5 parameters");

/* "a constant", "a struct", "an interface" */
static const char *a_decl_kind(enum idl_decl_kind k)
{
	return k == DECL_CONST ? "a constant" : k == DECL_STRUCT ? "a struct" : "an interface";
}

static const char *decl_kind_name(enum idl_decl_kind k)
{
	return k == DECL_CONST ? "constant" : k == DECL_STRUCT ? "struct" : "interface";
}

static const char *where(struct idl_unit *u, struct idl_pos pos)
{
	return idl_arena_printf(u->arena, "%s:%" PRIu32 ":%" PRIu32, u->files[pos.file].name,
				pos.line, pos.col);
}

static const char *size_str(struct idl_unit *u, uint64_t size)
{
	if (size >= IDL_SIZE_CAP)
		return idl_arena_printf(u->arena, "more than %" PRIu64, IDL_SIZE_CAP);
	return idl_arena_printf(u->arena, "%" PRIu64, size);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b >= IDL_SIZE_CAP ? IDL_SIZE_CAP : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	if (a && b > IDL_SIZE_CAP / a)
		return IDL_SIZE_CAP;
	return a * b >= IDL_SIZE_CAP ? IDL_SIZE_CAP : a * b;
}

static uint64_t align_up(uint64_t v, uint32_t align)
{
	return sat_add(v, (align - v % align) % align);
}

/* ---- types ---- */

static struct idl_type *intern(struct idl_unit *u, enum idl_type_kind kind, enum idl_scalar sc,
			       struct idl_type *elem, uint32_t len)
{
	struct idl_arena *a = u->arena;
	struct idl_type *t, *found;
	const char *name, *mangled;

	switch (kind) {
	case T_SCALAR:
		name = mangled = idl_scalars[sc].name;
		break;
	case T_ARRAY:
		name = idl_arena_printf(a, "[%s;%" PRIu32 "]", elem->name, len);
		mangled = idl_arena_printf(a, "arr_%s_%" PRIu32, elem->mangled, len);
		break;
	case T_HANDLE:
		if (elem->kind == T_VEC)
			name = idl_arena_printf(a, "rref_vec<%s>", elem->elem->name);
		else if (elem->kind == T_DEQUE)
			name = idl_arena_printf(a, "rref_deque<%s,%" PRIu32 ">", elem->elem->name,
						elem->len);
		else
			name = idl_arena_printf(a, "rref<%s>", elem->name);
		mangled = idl_arena_printf(a, "rref_%s", elem->mangled);
		break;
	case T_VEC:
		name = idl_arena_printf(a, "vec<%s>", elem->name);
		mangled = idl_arena_printf(a, "vec_%s", elem->mangled);
		break;
	case T_DEQUE:
		name = idl_arena_printf(a, "deque<%s,%" PRIu32 ">", elem->name, len);
		mangled = idl_arena_printf(a, "deque_%s_%" PRIu32, elem->mangled, len);
		break;
	default: /* structs are made by declare() */
		return NULL;
	}
	found = idl_map_get(&u->interned, name);
	if (found)
		return found;
	t = idl_arena_alloc(a, sizeof(*t));
	t->kind = kind;
	t->scalar = sc;
	t->elem = elem;
	t->len = len;
	t->name = name;
	t->mangled = mangled;
	idl_map_add(&u->interned, name, t);
	return t;
}

static void assign_id(struct idl_unit *u, struct idl_type *t, struct idl_pos pos)
{
	if (t->id)
		return;
	if (u->ntypes > IDL_MAX_IDS) {
		if (!u->too_many_types)
			idl_error(u, pos, "more than %d types (structs and rref targets)", IDL_MAX_IDS);
		u->too_many_types = true;
		t->poisoned = true;
		return;
	}
	if (u->ntypes == u->types_cap) {
		unsigned cap = u->types_cap * 2;
		struct idl_type **n = idl_arena_alloc(u->arena, cap * sizeof(*n));

		memcpy(n, u->types, u->ntypes * sizeof(*n));
		u->types = n;
		u->types_cap = cap;
	}
	t->id = (uint16_t)u->ntypes;
	t->first_use = pos;
	u->types[u->ntypes++] = t;
}

/* ---- pass 1: declarations ---- */

static void check_const(struct idl_unit *u, struct idl_decl *d)
{
	const struct idl_len *v = &d->value;

	if (!v->negative && v->magnitude > INT64_MAX) {
		idl_error(u, v->pos, "constant '%s' = %" PRIu64 " is out of range (constants are signed 64-bit)",
			  d->name, v->magnitude);
		return;
	}
	if (v->negative && v->magnitude > (uint64_t)INT64_MAX + 1) {
		idl_error(u, v->pos, "constant '%s' = -%" PRIu64 " is out of range (constants are signed 64-bit)",
			  d->name, v->magnitude);
		return;
	}
	d->cvalue = v->negative ? (int64_t)(0 - v->magnitude) : (int64_t)v->magnitude;
	d->cvalid = true;
}

static void declare(struct idl_unit *u)
{
	unsigned nifaces = 1;

	for (struct idl_decl *d = u->decls; d; d = d->next) {
		const char *why = idl_reserved_why(d->name);
		struct idl_decl *prev;

		if (d->kind == DECL_STRUCT) {
			d->type = idl_arena_alloc(u->arena, sizeof(*d->type));
			d->type->kind = T_STRUCT;
			d->type->decl = d;
			d->type->name = d->type->mangled = d->name;
		}
		/* A reserved name is still declared, so that its uses do not cascade into "unknown". */
		if (why) {
			idl_error(u, d->pos, "%s name '%s' %s", decl_kind_name(d->kind), d->name, why);
			if (d->type)
				d->type->poisoned = true;
		}
		prev = idl_map_add(&u->globals, d->name, d);
		if (prev) {
			idl_error(u, d->pos, "duplicate name '%s': already declared as %s at %s",
				  d->name, a_decl_kind(prev->kind), where(u, prev->pos));
			if (d->type)
				d->type->poisoned = true;
			continue;
		}
		if (why)
			continue;
		switch (d->kind) {
		case DECL_CONST:
			check_const(u, d);
			break;
		case DECL_STRUCT:
			/* idl.h's enum rl_type_kind owns RL_TYPE_PLAIN, _VEC and _DEQUE */
			if (!strcmp(d->name, "PLAIN") || !strcmp(d->name, "VEC") ||
			    !strcmp(d->name, "DEQUE")) {
				idl_error(u, d->pos,
					  "struct name '%s' would define RL_TYPE_%s, which redleaf/idl.h already defines",
					  d->name, d->name);
				d->type->poisoned = true;
			}
			assign_id(u, d->type, d->pos);
			break;
		case DECL_IFACE:
			if (strlen(d->name) >= RL_NAME_MAX) {
				idl_error(u, d->pos,
					  "interface name '%s' is longer than %d characters (RL_NAME_MAX)",
					  d->name, RL_NAME_MAX - 1);
				break;
			}
			if (nifaces > IDL_MAX_IDS) {
				if (nifaces++ == IDL_MAX_IDS + 1) /* say it once */
					idl_error(u, d->pos, "more than %d interfaces", IDL_MAX_IDS);
				break;
			}
			d->iface_id = (uint16_t)nifaces++;
			break;
		}
	}
	if (nifaces > IDL_MAX_IDS + 1)
		nifaces = IDL_MAX_IDS + 1;
	u->ifaces = idl_arena_alloc(u->arena, nifaces * sizeof(*u->ifaces));
	for (struct idl_decl *d = u->decls; d; d = d->next)
		if (d->kind == DECL_IFACE && d->iface_id)
			u->ifaces[d->iface_id] = d;
	u->nifaces = nifaces;
}

/* ---- pass 2: resolving type expressions ---- */

enum ctx {
	CTX_FIELD,  /* inside a heap object: struct field, array or container element */
	CTX_TARGET, /* T of rref<T> */
	CTX_PARAM,
	CTX_RESULT,
};

struct resolved {
	uint8_t kind;          /* enum rl_param_kind, for parameters and results */
	struct idl_type *type; /* scalar or handle (parameters), any value type (heap objects) */
	struct idl_decl *iface;
};

static bool resolve(struct idl_unit *u, const struct idl_tyexpr *tx, enum ctx ctx,
		    struct resolved *out);

static bool resolve_len(struct idl_unit *u, const struct idl_len *len, const char *what,
			uint32_t *out)
{
	uint64_t mag;
	bool neg;
	const char *shown;

	if (len->name) {
		struct idl_decl *d = idl_map_get(&u->globals, len->name);

		if (!d) {
			idl_error(u, len->pos, "unknown constant '%s'", len->name);
			return false;
		}
		if (d->kind != DECL_CONST) {
			idl_error(u, len->pos, "'%s' is %s, not a constant", len->name,
				  a_decl_kind(d->kind));
			return false;
		}
		if (!d->cvalid)
			return false;
		neg = d->cvalue < 0;
		mag = neg ? 0 - (uint64_t)d->cvalue : (uint64_t)d->cvalue;
		shown = idl_arena_printf(u->arena, "%s = %" PRId64, len->name, d->cvalue);
	} else {
		neg = len->negative;
		mag = len->magnitude;
		shown = idl_arena_printf(u->arena, "%s%" PRIu64, neg ? "-" : "", mag);
	}
	if (neg || mag == 0) {
		idl_error(u, len->pos, "%s must be positive, not %s", what, shown);
		return false;
	}
	if (mag > IDL_MAX_OBJECT) {
		idl_error(u, len->pos, "%s %s is too large (at most %d: no heap object is larger)",
			  what, shown, IDL_MAX_OBJECT);
		return false;
	}
	*out = (uint32_t)mag;
	return true;
}

static bool resolve_name(struct idl_unit *u, const struct idl_tyexpr *tx, enum ctx ctx,
			 struct resolved *out)
{
	struct idl_decl *d = idl_map_get(&u->globals, tx->name);

	if (!d) {
		if (!strcmp(tx->name, "str") || !strcmp(tx->name, "String"))
			idl_error(u, tx->pos,
				  "'%s' is unsized: strings are not exchangeable; use a fixed array [u8; N] or rref_vec<u8>",
				  tx->name);
		else if (!strcmp(tx->name, "usize") || !strcmp(tx->name, "isize"))
			idl_error(u, tx->pos, "'%s' has no fixed size; use %s64", tx->name,
				  tx->name[0] == 'u' ? "u" : "i");
		else
			idl_error(u, tx->pos, "unknown type '%s'", tx->name);
		return false;
	}
	switch (d->kind) {
	case DECL_CONST:
		idl_error(u, tx->pos, "'%s' is a constant, not a type", tx->name);
		return false;
	case DECL_STRUCT:
		if (ctx == CTX_PARAM || ctx == CTX_RESULT) {
			idl_error(u, tx->pos, "struct '%s' cannot be %s by value; %s it in an rref<%s>",
				  tx->name, ctx == CTX_PARAM ? "passed" : "returned",
				  ctx == CTX_PARAM ? "pass" : "return", tx->name);
			return false;
		}
		out->type = d->type;
		return true;
	case DECL_IFACE:
		if (ctx == CTX_FIELD) {
			idl_error(u, tx->pos,
				  "interface '%s' cannot be stored in a heap object: capabilities travel only as parameters and results",
				  tx->name);
			return false;
		}
		if (ctx == CTX_TARGET) {
			idl_error(u, tx->pos,
				  "'%s' is an interface and cannot be put in an rref; pass the capability itself (a parameter of type %s)",
				  tx->name, tx->name);
			return false;
		}
		if (!d->iface_id)
			return false;
		out->kind = RL_PARAM_CAP;
		out->iface = d;
		return true;
	}
	return false;
}

static bool resolve_handle(struct idl_unit *u, const struct idl_tyexpr *tx, struct resolved *out)
{
	struct resolved in = { 0 };
	struct idl_type *target;
	uint32_t len = 0;
	bool ok;

	ok = resolve(u, tx->inner, tx->kind == TX_RREF ? CTX_TARGET : CTX_FIELD, &in);
	if (tx->kind == TX_RDEQUE)
		ok = resolve_len(u, &tx->len, "deque capacity", &len) && ok;
	if (!ok)
		return false;
	if (tx->kind == TX_RREF)
		target = in.type;
	else
		target = intern(u, tx->kind == TX_RVEC ? T_VEC : T_DEQUE, 0, in.type, len);
	assign_id(u, target, tx->pos);
	out->type = intern(u, T_HANDLE, 0, target, 0);
	out->kind = RL_PARAM_RREF;
	return true;
}

static bool resolve(struct idl_unit *u, const struct idl_tyexpr *tx, enum ctx ctx,
		    struct resolved *out)
{
	struct resolved in = { 0 };
	uint32_t len = 0;
	bool ok;

	switch (tx->kind) {
	case TX_SCALAR:
		out->type = intern(u, T_SCALAR, tx->scalar, NULL, 0);
		out->kind = idl_scalars[tx->scalar].param_kind;
		return true;
	case TX_NAME:
		return resolve_name(u, tx, ctx, out);
	case TX_ARRAY:
		ok = resolve(u, tx->inner, CTX_FIELD, &in);
		ok = resolve_len(u, &tx->len, "array length", &len) && ok;
		if (!ok)
			return false;
		out->type = intern(u, T_ARRAY, 0, in.type, len);
		if (ctx == CTX_PARAM || ctx == CTX_RESULT) {
			idl_error(u, tx->pos, "array '%s' cannot be %s by value; %s it in an rref<%s>",
				  out->type->name, ctx == CTX_PARAM ? "passed" : "returned",
				  ctx == CTX_PARAM ? "pass" : "return", out->type->name);
			return false;
		}
		return true;
	case TX_RREF:
	case TX_RVEC:
	case TX_RDEQUE:
		return resolve_handle(u, tx, out);
	case TX_BORROW:
		if (ctx == CTX_RESULT) {
			idl_error(u, tx->pos,
				  "a method cannot return a borrowed '%s'; return %s to move the object to the caller",
				  idl_tx_spell(u, tx), idl_tx_spell(u, tx->inner));
			return false;
		}
		if (ctx != CTX_PARAM) {
			idl_error(u, tx->pos,
				  "'%s' cannot be stored in a heap object: a borrow lasts for one call; use %s",
				  idl_tx_spell(u, tx), idl_tx_spell(u, tx->inner));
			return false;
		}
		if (!resolve_handle(u, tx->inner, out))
			return false;
		out->kind = RL_PARAM_RREF_BORROW;
		return true;
	}
	return false;
}

static void check_name(struct idl_unit *u, const char *what, const char *name, struct idl_pos pos)
{
	const char *why = idl_reserved_why(name);

	if (why)
		idl_error(u, pos, "%s name '%s' %s", what, name, why);
}

static void check_struct(struct idl_unit *u, struct idl_decl *d)
{
	struct idl_map fields;

	idl_map_init(&fields, u->arena);
	if (!d->nfields) {
		idl_error(u, d->pos, "struct '%s' has no fields (an empty struct has no C layout)",
			  d->name);
		d->type->poisoned = true;
	}
	for (struct idl_field *f = d->fields; f; f = f->next) {
		struct resolved r = { 0 };
		struct idl_field *prev = idl_map_add(&fields, f->name, f);

		if (prev)
			idl_error(u, f->pos, "duplicate field '%s' in struct '%s' (first at %s)",
				  f->name, d->name, where(u, prev->pos));
		check_name(u, "field", f->name, f->pos);
		if (resolve(u, f->tx, CTX_FIELD, &r))
			f->type = r.type;
		else
			d->type->poisoned = true;
	}
}

static void check_param(struct idl_unit *u, struct idl_method *m, struct idl_field *f,
			struct idl_map *params, unsigned index)
{
	struct resolved r = { 0 };
	struct idl_field *prev = idl_map_add(params, f->name, f);

	if (index == RL_MSG_ARGS)
		idl_error(u, f->pos,
			  "method '%s' has %u parameters; at most %d (RL_MSG_ARGS) fit in a call",
			  m->name, m->nparams, RL_MSG_ARGS);
	if (prev)
		idl_error(u, f->pos, "duplicate parameter '%s' in method '%s'", f->name, m->name);
	/* the stubs' own parameters: rpc_result I_m(rl_cap cap, ..., T *out); ops get void *self */
	if (!strcmp(f->name, "cap") || !strcmp(f->name, "out") || !strcmp(f->name, "self"))
		idl_error(u, f->pos,
			  "parameter name '%s' is reserved (generated stubs and ops use cap, out and self)",
			  f->name);
	else
		check_name(u, "parameter", f->name, f->pos);
	if (resolve(u, f->tx, CTX_PARAM, &r)) {
		f->param_kind = r.kind;
		f->type = r.type;
		f->iface = r.iface;
	}
}

static void check_iface(struct idl_unit *u, struct idl_decl *d)
{
	struct idl_map methods;

	idl_map_init(&methods, u->arena);
	if (!d->nmethods)
		idl_error(u, d->pos, "interface '%s' has no methods", d->name);
	if (d->nmethods > IDL_MAX_IDS)
		idl_error(u, d->pos, "interface '%s' has more than %d methods", d->name, IDL_MAX_IDS);
	for (struct idl_method *m = d->methods; m; m = m->next) {
		struct idl_method *prev = idl_map_add(&methods, m->name, m);
		struct idl_map params;
		unsigned i = 0;

		if (prev) {
			idl_error(u, m->pos, "duplicate method '%s' in interface '%s' (first at %s)",
				  m->name, d->name, where(u, prev->pos));
			m->duplicate = true;
		}
		check_name(u, "method", m->name, m->pos);
		idl_map_init(&params, u->arena);
		for (struct idl_field *f = m->params; f; f = f->next)
			check_param(u, m, f, &params, i++);
		if (m->result_tx) {
			struct resolved r = { 0 };

			if (resolve(u, m->result_tx, CTX_RESULT, &r)) {
				m->result.param_kind = r.kind;
				m->result.type = r.type;
				m->result.iface = r.iface;
			}
		}
	}
}

/* ---- pass 3: C names derived from IDL names ---- */

struct cname {
	const char *origin;
	struct idl_pos pos;
};

static void add_cname(struct idl_unit *u, struct idl_map *m, const char *cname,
		      const char *origin, struct idl_pos pos, bool check_reserved)
{
	struct cname *c = idl_arena_alloc(u->arena, sizeof(*c)), *prev;
	const char *why = check_reserved ? idl_reserved_why(cname) : NULL;

	if (why) {
		idl_error(u, pos, "%s would generate the C name '%s', which %s", origin, cname, why);
		return;
	}
	c->origin = origin;
	c->pos = pos;
	prev = idl_map_add(m, cname, c);
	if (prev)
		idl_error(u, pos,
			  "%s would generate the C name '%s', which %s (%s) also generates; rename one of them",
			  origin, cname, prev->origin, where(u, prev->pos));
}

static void check_cnames(struct idl_unit *u)
{
	static const char *const helpers[] = { "", "_new", "_get", "_borrow", "_drop" };
	static const char *const iface_fns[] = {
		"_dispatch", "_shadow_dispatch", "_export", "_export_shadow",
	};
	struct idl_map ordinary, tags;

	idl_map_init(&ordinary, u->arena);
	idl_map_init(&tags, u->arena);
	for (unsigned id = 1; id < u->ntypes; id++) {
		struct idl_type *t = u->types[id];
		const char *origin = t->kind == T_STRUCT ?
			idl_arena_printf(u->arena, "struct '%s'", t->name) :
			idl_arena_printf(u->arena, "type '%s'", t->name);

		if (t->kind == T_STRUCT)
			idl_map_add(&tags, t->name, (void *)origin);
		for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
			add_cname(u, &ordinary,
				  idl_arena_printf(u->arena, "rref_%s%s", t->mangled, helpers[i]),
				  origin, t->kind == T_STRUCT ? t->decl->pos : t->first_use, false);
	}
	for (unsigned id = 1; id < u->nifaces; id++) {
		struct idl_decl *d = u->ifaces[id];
		const char *origin = idl_arena_printf(u->arena, "interface '%s'", d->name);
		const char *ops = idl_arena_printf(u->arena, "%s_ops", d->name);

		const char *why = idl_reserved_why(idl_arena_printf(u->arena, "%s_x", d->name));

		if (idl_map_get(&tags, ops))
			idl_error(u, d->pos,
				  "interface '%s' would generate 'struct %s', which is already a struct name",
				  d->name, ops);
		/* a prefix problem ("rl" -> rl_...) would hit every name: say it once */
		if (why) {
			idl_error(u, d->pos, "interface '%s' would generate C names like '%s_dispatch', which %s",
				  d->name, d->name, why);
			continue;
		}
		for (size_t i = 0; i < sizeof(iface_fns) / sizeof(iface_fns[0]); i++)
			add_cname(u, &ordinary, idl_arena_printf(u->arena, "%s%s", d->name, iface_fns[i]),
				  origin, d->pos, true);
		for (struct idl_method *m = d->methods; m; m = m->next) {
			if (m->duplicate)
				continue;
			add_cname(u, &ordinary, idl_arena_printf(u->arena, "%s_%s", d->name, m->name),
				  idl_arena_printf(u->arena, "method '%s' of interface '%s'", m->name,
						   d->name),
				  m->pos, true);
		}
	}
}

/* ---- pass 4: layout ---- */

struct path {
	struct idl_type *s[IDL_MAX_STRUCT_DEPTH];
	unsigned n;
};

static bool layout(struct idl_unit *u, struct idl_type *t, struct idl_pos use, struct path *path);

static void report_cycle(struct idl_unit *u, struct idl_type *t, struct idl_pos use,
			 const struct path *path)
{
	const char *chain = t->name;
	unsigned i = 0;

	while (path->s[i] != t)
		i++;
	for (i++; i < path->n; i++)
		chain = idl_arena_printf(u->arena, "%s -> %s", chain, path->s[i]->name);
	idl_error(u, use, "struct '%s' contains itself by value: %s -> %s; break the cycle with rref<%s>",
		  t->name, chain, t->name, t->name);
}

static bool layout_struct(struct idl_unit *u, struct idl_type *t, struct idl_pos use,
			  struct path *path)
{
	uint64_t offset = 0;
	uint32_t align = 1;
	bool ok = !t->poisoned;

	if (t->layout_state == 2)
		return !t->poisoned;
	if (t->layout_state == 1) {
		report_cycle(u, t, use, path);
		return false;
	}
	if (path->n == IDL_MAX_STRUCT_DEPTH) {
		idl_error(u, use, "structs are nested by value more than %d levels deep",
			  IDL_MAX_STRUCT_DEPTH);
		return false;
	}
	t->layout_state = 1;
	path->s[path->n++] = t;
	for (struct idl_field *f = t->decl->fields; f; f = f->next) {
		if (!f->type || !layout(u, f->type, f->tx->pos, path)) {
			ok = false;
			continue;
		}
		offset = align_up(offset, f->type->align);
		f->offset = offset;
		offset = sat_add(offset, f->type->size);
		if (f->type->align > align)
			align = f->type->align;
	}
	path->n--;
	t->layout_state = 2;
	t->size = align_up(offset, align);
	t->align = align;
	if (ok && t->size > IDL_MAX_OBJECT) {
		idl_error(u, t->decl->pos,
			  "struct '%s' is %s bytes, larger than the largest heap object (%d bytes)",
			  t->name, size_str(u, t->size), IDL_MAX_OBJECT);
		ok = false;
	}
	t->poisoned = !ok;
	if (ok)
		u->struct_order[u->nstruct_order++] = t;
	return ok;
}

static bool layout(struct idl_unit *u, struct idl_type *t, struct idl_pos use, struct path *path)
{
	if (t->kind == T_STRUCT)
		return layout_struct(u, t, use, path);
	if (t->layout_state == 2)
		return !t->poisoned;
	switch (t->kind) {
	case T_SCALAR:
		t->size = t->align = idl_scalars[t->scalar].size;
		break;
	case T_HANDLE:
		t->size = t->align = sizeof(rl_rref);
		break;
	case T_ARRAY:
	case T_VEC:
	case T_DEQUE:
		if (!layout(u, t->elem, use, path)) {
			t->poisoned = true;
			break;
		}
		t->align = t->elem->align;
		if (t->kind == T_ARRAY)
			t->size = sat_mul(t->len, t->elem->size);
		else if (t->kind == T_VEC)
			t->size = RL_CONTAINER_HDR;
		else
			t->size = sat_add(RL_CONTAINER_HDR, sat_mul(t->len, t->elem->size));
		break;
	default:
		break;
	}
	t->layout_state = 2;
	return !t->poisoned;
}

/* ---- pass 5: rref targets ---- */

static void check_targets(struct idl_unit *u)
{
	struct path path = { .n = 0 };

	for (unsigned id = 1; id < u->ntypes; id++) {
		struct idl_type *t = u->types[id];

		if (!layout(u, t, t->first_use, &path) || t->kind == T_STRUCT)
			continue;
		if (t->kind == T_VEC && t->elem->size > IDL_MAX_OBJECT - RL_CONTAINER_HDR) {
			idl_error(u, t->first_use,
				  "rref_vec<%s>: one element is %s bytes, and with the %d-byte header it does not fit in the largest heap object (%d bytes)",
				  t->elem->name, size_str(u, t->elem->size), RL_CONTAINER_HDR,
				  IDL_MAX_OBJECT);
			t->poisoned = true;
		} else if (t->size > IDL_MAX_OBJECT) {
			idl_error(u, t->first_use,
				  "rref target '%s' is %s bytes, larger than the largest heap object (%d bytes)",
				  t->name, size_str(u, t->size), IDL_MAX_OBJECT);
			t->poisoned = true;
		}
	}
}

/* ---- pass 6: nested rrefs, flattened ---- */

static bool nested_reserve(struct idl_unit *u, struct idl_type *t, uint64_t n)
{
	if (n > IDL_MAX_NESTED_TOTAL || u->nested_total + n > IDL_MAX_NESTED_TOTAL) {
		if (u->nested_total <= IDL_MAX_NESTED_TOTAL)
			idl_error(u, t->kind == T_STRUCT ? t->decl->pos : t->first_use,
				  "more than %u nested rref fields in all types together",
				  IDL_MAX_NESTED_TOTAL);
		u->nested_total = IDL_MAX_NESTED_TOTAL + 1;
		return false;
	}
	u->nested_total += (unsigned)n;
	t->nested = n ? idl_arena_alloc(u->arena, n * sizeof(*t->nested)) : NULL;
	return true;
}

/* Only called on laid-out types no bigger than IDL_MAX_OBJECT, so offsets fit in 32 bits. */
static bool flatten(struct idl_unit *u, struct idl_type *t)
{
	uint64_t n = 0;

	if (t->nested_done)
		return true;
	switch (t->kind) {
	case T_SCALAR:
		break;
	case T_HANDLE:
		if (!nested_reserve(u, t, 1))
			return false;
		t->nested[0] = (struct idl_nested){ 0, t->elem };
		t->nnested = 1;
		break;
	case T_ARRAY:
	case T_VEC:
	case T_DEQUE:
		if (!flatten(u, t->elem))
			return false;
		n = t->elem->nnested * (uint64_t)(t->kind == T_ARRAY ? t->len : 1);
		if (!nested_reserve(u, t, n))
			return false;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t e = i / t->elem->nnested;

			t->nested[i] = t->elem->nested[i % t->elem->nnested];
			t->nested[i].offset += (uint32_t)(e * t->elem->size);
		}
		t->nnested = (uint32_t)n;
		break;
	case T_STRUCT:
		for (struct idl_field *f = t->decl->fields; f; f = f->next) {
			if (!flatten(u, f->type))
				return false;
			n += f->type->nnested;
		}
		if (!nested_reserve(u, t, n))
			return false;
		for (struct idl_field *f = t->decl->fields; f; f = f->next) {
			for (uint32_t i = 0; i < f->type->nnested; i++) {
				t->nested[t->nnested] = f->type->nested[i];
				t->nested[t->nnested++].offset += (uint32_t)f->offset;
			}
		}
		break;
	}
	t->nested_done = true;
	return true;
}

int idl_check(struct idl_unit *u)
{
	unsigned nstructs = 0;

	u->checked = true;
	if (u->syntax_failed)
		return -EINVAL;
	idl_map_init(&u->globals, u->arena);
	idl_map_init(&u->interned, u->arena);
	u->types_cap = 64;
	u->types = idl_arena_alloc(u->arena, u->types_cap * sizeof(*u->types));
	u->ntypes = 1;
	for (struct idl_decl *d = u->decls; d; d = d->next)
		nstructs += d->kind == DECL_STRUCT;
	u->struct_order = idl_arena_alloc(u->arena, (nstructs + 1) * sizeof(*u->struct_order));

	declare(u);
	for (struct idl_decl *d = u->decls; d; d = d->next) {
		if (d->kind == DECL_STRUCT)
			check_struct(u, d);
		else if (d->kind == DECL_IFACE)
			check_iface(u, d);
	}
	check_cnames(u);
	for (struct idl_decl *d = u->decls; d; d = d->next) {
		struct path path = { .n = 0 };

		if (d->kind == DECL_STRUCT)
			layout_struct(u, d->type, d->pos, &path);
	}
	check_targets(u);
	if (u->nerrors)
		return -EINVAL;
	for (unsigned id = 1; id < u->ntypes; id++)
		if (!flatten(u, u->types[id]))
			return -EINVAL;
	u->check_ok = true;
	return 0;
}
