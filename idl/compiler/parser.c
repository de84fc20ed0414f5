/* SPDX-License-Identifier: MIT */
#include "parser.h"

#include <errno.h>
#include <string.h>

#include "redleaf/idl.h"

#include "arena.h"
#include "lexer.h"

struct parser {
	struct idl_unit *u;
	struct idl_lexer lx;
	struct idl_token tok;
	unsigned quiet; /* > 0 while parsing a pointee only to name it in a message */
	bool failed;
};

static void advance(struct parser *p)
{
	p->tok = idl_lex(&p->lx);
}

static bool is(const struct parser *p, enum idl_tok kind)
{
	return p->tok.kind == kind;
}

static bool accept(struct parser *p, enum idl_tok kind)
{
	if (!is(p, kind))
		return false;
	advance(p);
	return true;
}

/* Always returns false, for "return syntax_error(...)". The lexer already reported TOK_ERROR. */
static bool syntax_error(struct parser *p, const char *expected)
{
	if (!is(p, TOK_ERROR) && !p->quiet)
		idl_error(p->u, p->tok.pos, "expected %s, found %s", expected,
			  idl_token_describe(p->u, &p->tok));
	p->failed = true;
	return false;
}

/* syntax_error() for functions that return a pointer. */
static void *syntax_error_null(struct parser *p, const char *expected)
{
	syntax_error(p, expected);
	return NULL;
}

static bool expect(struct parser *p, enum idl_tok kind, const char *expected)
{
	return accept(p, kind) || syntax_error(p, expected);
}

static const char *take_name(struct parser *p)
{
	const char *s = idl_arena_strndup(p->u->arena, p->tok.text, p->tok.len);

	advance(p);
	return s;
}

const char *idl_tx_spell(struct idl_unit *u, const struct idl_tyexpr *tx)
{
	const char *len = "";

	if (tx->kind == TX_ARRAY || tx->kind == TX_RDEQUE)
		len = tx->len.name ? tx->len.name :
		      idl_arena_printf(u->arena, "%s%llu", tx->len.negative ? "-" : "",
				       (unsigned long long)tx->len.magnitude);
	switch (tx->kind) {
	case TX_SCALAR:
		return idl_scalars[tx->scalar].name;
	case TX_NAME:
		return tx->name;
	case TX_ARRAY:
		return idl_arena_printf(u->arena, "[%s;%s]", idl_tx_spell(u, tx->inner), len);
	case TX_RREF:
		return idl_arena_printf(u->arena, "rref<%s>", idl_tx_spell(u, tx->inner));
	case TX_RVEC:
		return idl_arena_printf(u->arena, "rref_vec<%s>", idl_tx_spell(u, tx->inner));
	case TX_RDEQUE:
		return idl_arena_printf(u->arena, "rref_deque<%s,%s>", idl_tx_spell(u, tx->inner),
					len);
	case TX_BORROW:
		return idl_arena_printf(u->arena, "&%s", idl_tx_spell(u, tx->inner));
	}
	return "?";
}

static bool parse_len(struct parser *p, struct idl_len *len, const char *expected)
{
	len->pos = p->tok.pos;
	len->negative = accept(p, TOK_MINUS);
	if (is(p, TOK_INT)) {
		len->magnitude = p->tok.value;
		advance(p);
		return true;
	}
	if (is(p, TOK_IDENT) && !len->negative) {
		len->name = take_name(p);
		return true;
	}
	return syntax_error(p, expected);
}

static struct idl_tyexpr *parse_type(struct parser *p, unsigned depth);

/*
 * '*T' and '&T' (T not an rref) are pointers. The pointee is parsed only to
 * spell a precise suggestion; its own errors would be noise, so they are muted.
 * Called with the operator consumed; always returns NULL.
 */
static struct idl_tyexpr *parse_pointer(struct parser *p, unsigned depth, char op,
					struct idl_pos pos)
{
	struct idl_tyexpr *inner;

	p->quiet++;
	inner = parse_type(p, depth + 1);
	p->quiet--;
	p->failed = true;
	if (p->quiet)
		return NULL;
	if (inner) {
		const char *t = idl_tx_spell(p->u, inner);

		idl_error(p->u, pos,
			  "'%c%s' is a pointer, and pointers are not exchangeable between domains; use rref<%s>%s",
			  op, t, t,
			  op == '&' ? idl_arena_printf(p->u->arena, " (or &rref<%s> to lend it)", t) : "");
	} else {
		idl_error(p->u, pos,
			  "pointers are not exchangeable between domains; pass the object in an rref<T>");
	}
	return NULL;
}

static struct idl_tyexpr *new_tx(struct parser *p, enum idl_tx_kind kind, struct idl_pos pos)
{
	struct idl_tyexpr *tx = idl_arena_alloc(p->u->arena, sizeof(*tx));

	tx->kind = kind;
	tx->pos = pos;
	return tx;
}

/* rref<T>, rref_vec<T>, rref_deque<T, N>, after the keyword has been seen. */
static struct idl_tyexpr *parse_rref(struct parser *p, unsigned depth)
{
	static const char *const open[] = {
		[TX_RREF] = "'<' after 'rref'",
		[TX_RVEC] = "'<' after 'rref_vec'",
		[TX_RDEQUE] = "'<' after 'rref_deque'",
	};
	enum idl_tx_kind kind = is(p, TOK_RREF) ? TX_RREF : is(p, TOK_RREF_VEC) ? TX_RVEC : TX_RDEQUE;
	struct idl_tyexpr *tx = new_tx(p, kind, p->tok.pos);

	advance(p);
	if (!expect(p, TOK_LT, open[kind]))
		return NULL;
	tx->inner = parse_type(p, depth + 1);
	if (!tx->inner)
		return NULL;
	if (kind == TX_RDEQUE &&
	    (!expect(p, TOK_COMMA, "',' and a capacity in rref_deque<T, N>") ||
	     !parse_len(p, &tx->len, "a deque capacity (a positive integer or a constant's name)")))
		return NULL;
	if (!expect(p, TOK_GT, "'>' to close the type"))
		return NULL;
	return tx;
}

static struct idl_tyexpr *parse_type(struct parser *p, unsigned depth)
{
	struct idl_tyexpr *tx;

	if (depth >= IDL_MAX_TYPE_DEPTH) {
		if (!p->quiet && !is(p, TOK_ERROR))
			idl_error(p->u, p->tok.pos, "type is nested more than %d levels deep",
				  IDL_MAX_TYPE_DEPTH);
		p->failed = true;
		return NULL;
	}
	switch (p->tok.kind) {
	case TOK_SCALAR:
		tx = new_tx(p, TX_SCALAR, p->tok.pos);
		tx->scalar = p->tok.scalar;
		advance(p);
		return tx;
	case TOK_IDENT:
		tx = new_tx(p, TX_NAME, p->tok.pos);
		tx->name = take_name(p);
		if (is(p, TOK_LT)) {
			if (!p->quiet)
				idl_error(p->u, tx->pos,
					  "'%s<...>' is not an IDL type: the generic types are rref<T>, rref_vec<T> and rref_deque<T, N>",
					  tx->name);
			p->failed = true;
			return NULL;
		}
		return tx;
	case TOK_LBRACKET:
		tx = new_tx(p, TX_ARRAY, p->tok.pos);
		advance(p);
		tx->inner = parse_type(p, depth + 1);
		if (!tx->inner)
			return NULL;
		if (is(p, TOK_RBRACKET)) {
			const char *e = idl_tx_spell(p->u, tx->inner);

			if (!p->quiet)
				idl_error(p->u, tx->pos,
					  "unsized array '[%s]': an exchangeable array has a fixed length, [%s; N] (or use rref_vec<%s>)",
					  e, e, e);
			p->failed = true;
			return NULL;
		}
		if (!expect(p, TOK_SEMI, "';' and a length in the array type") ||
		    !parse_len(p, &tx->len, "an array length (a positive integer or a constant's name)") ||
		    !expect(p, TOK_RBRACKET, "']' to close the array type"))
			return NULL;
		return tx;
	case TOK_RREF:
	case TOK_RREF_VEC:
	case TOK_RREF_DEQUE:
		return parse_rref(p, depth);
	case TOK_AMP:
		tx = new_tx(p, TX_BORROW, p->tok.pos);
		advance(p);
		if (!is(p, TOK_RREF) && !is(p, TOK_RREF_VEC) && !is(p, TOK_RREF_DEQUE))
			return parse_pointer(p, depth, '&', tx->pos);
		tx->inner = parse_rref(p, depth + 1);
		return tx->inner ? tx : NULL;
	case TOK_STAR: {
		struct idl_pos pos = p->tok.pos;

		advance(p);
		return parse_pointer(p, depth, '*', pos);
	}
	default:
		return syntax_error_null(p, "a type");
	}
}

static struct idl_decl *new_decl(struct parser *p, enum idl_decl_kind kind)
{
	struct idl_decl *d = idl_arena_alloc(p->u->arena, sizeof(*d));

	d->kind = kind;
	return d;
}

/* const NAME = [-]INT ; */
static bool parse_const(struct parser *p, struct idl_decl **out)
{
	struct idl_decl *d = new_decl(p, DECL_CONST);

	advance(p);
	d->pos = p->tok.pos;
	if (!is(p, TOK_IDENT))
		return syntax_error(p, "a constant name");
	d->name = take_name(p);
	if (!expect(p, TOK_EQ, "'=' after the constant's name"))
		return false;
	d->value.pos = p->tok.pos;
	d->value.negative = accept(p, TOK_MINUS);
	if (!is(p, TOK_INT))
		return syntax_error(p, "an integer");
	d->value.magnitude = p->tok.value;
	advance(p);
	if (!expect(p, TOK_SEMI, "';' after the constant"))
		return false;
	*out = d;
	return true;
}

/* NAME : type ; (fields) or NAME : type (parameters) */
static struct idl_field *parse_field(struct parser *p, const char *what)
{
	struct idl_field *f = idl_arena_alloc(p->u->arena, sizeof(*f));

	f->pos = p->tok.pos;
	f->name = take_name(p);
	if (!expect(p, TOK_COLON, what))
		return NULL;
	f->tx = parse_type(p, 0);
	return f->tx ? f : NULL;
}

/* struct NAME { field* } */
static bool parse_struct(struct parser *p, struct idl_decl **out)
{
	struct idl_decl *d = new_decl(p, DECL_STRUCT);
	struct idl_field **tail = &d->fields;

	advance(p);
	d->pos = p->tok.pos;
	if (!is(p, TOK_IDENT))
		return syntax_error(p, "a struct name");
	d->name = take_name(p);
	if (!expect(p, TOK_LBRACE, "'{' after the struct's name"))
		return false;
	while (!accept(p, TOK_RBRACE)) {
		struct idl_field *f;

		if (!is(p, TOK_IDENT))
			return syntax_error(p, "a field name or '}'");
		f = parse_field(p, "':' and a type after the field's name");
		if (!f || !expect(p, TOK_SEMI, "';' after the field"))
			return false;
		*tail = f;
		tail = &f->next;
		d->nfields++;
	}
	*out = d;
	return true;
}

/* qualifier* fn NAME ( params ) [-> type] ; */
static struct idl_method *parse_method(struct parser *p)
{
	struct idl_method *m = idl_arena_alloc(p->u->arena, sizeof(*m));
	struct idl_field **tail = &m->params;

	while (is(p, TOK_IDENT)) {
		uint8_t flag = 0;

		if (p->tok.len == 10 && !memcmp(p->tok.text, "idempotent", 10))
			flag = RL_METHOD_IDEMPOTENT;
		else if (p->tok.len == 4 && !memcmp(p->tok.text, "init", 4))
			flag = RL_METHOD_INIT;
		else
			return syntax_error_null(p, "'fn' (or a qualifier: idempotent, init)");
		/* Independent of the syntax around it: reported, but parsing goes on. */
		if (m->flags & flag)
			idl_error(p->u, p->tok.pos, "duplicate qualifier %s",
				  idl_token_describe(p->u, &p->tok));
		m->flags |= flag;
		advance(p);
	}
	if (!expect(p, TOK_FN, "'fn'"))
		return NULL;
	m->pos = p->tok.pos;
	if (!is(p, TOK_IDENT))
		return syntax_error_null(p, "a method name");
	m->name = take_name(p);
	if (!expect(p, TOK_LPAREN, "'(' after the method's name"))
		return NULL;
	while (!accept(p, TOK_RPAREN)) {
		struct idl_field *f;

		if (!is(p, TOK_IDENT))
			return syntax_error_null(p, "a parameter name or ')'");
		f = parse_field(p, "':' and a type after the parameter's name");
		if (!f)
			return NULL;
		*tail = f;
		tail = &f->next;
		m->nparams++;
		if (!is(p, TOK_RPAREN) && !expect(p, TOK_COMMA, "',' or ')' after the parameter"))
			return NULL;
	}
	if (accept(p, TOK_ARROW)) {
		m->result_tx = parse_type(p, 0);
		if (!m->result_tx)
			return NULL;
		if (!expect(p, TOK_SEMI, "';' after the method"))
			return NULL;
	} else if (!expect(p, TOK_SEMI, "'->' and a result type, or ';'")) {
		return NULL;
	}
	return m;
}

/* interface NAME { method* } */
/* [shadow] interface NAME { method* } */
static bool parse_interface(struct parser *p, bool shadow, struct idl_decl **out)
{
	struct idl_decl *d = new_decl(p, DECL_IFACE);
	struct idl_method **tail = &d->methods;

	d->shadow = shadow;
	advance(p);
	d->pos = p->tok.pos;
	if (!is(p, TOK_IDENT))
		return syntax_error(p, "an interface name");
	d->name = take_name(p);
	if (!expect(p, TOK_LBRACE, "'{' after the interface's name"))
		return false;
	while (!accept(p, TOK_RBRACE)) {
		struct idl_method *m;

		if (!is(p, TOK_IDENT) && !is(p, TOK_FN))
			return syntax_error(p, "'fn' or '}'");
		m = parse_method(p);
		if (!m)
			return false;
		*tail = m;
		tail = &m->next;
		d->nmethods++;
	}
	*out = d;
	return true;
}

static bool at_item(const struct parser *p)
{
	return is(p, TOK_CONST) || is(p, TOK_STRUCT) || is(p, TOK_INTERFACE) || is(p, TOK_EOF);
}

int idl_parse(struct idl_unit *u, uint32_t file)
{
	struct parser p = { .u = u };
	bool ok = true;

	idl_lexer_init(&p.lx, u, file);
	advance(&p);
	while (!is(&p, TOK_EOF)) {
		struct idl_decl *d = NULL;

		p.failed = false;
		switch (p.tok.kind) {
		case TOK_CONST:
			parse_const(&p, &d);
			break;
		case TOK_STRUCT:
			parse_struct(&p, &d);
			break;
		case TOK_INTERFACE:
			parse_interface(&p, false, &d);
			break;
		case TOK_IDENT:
			/* `shadow` is special only before `interface`. */
			if (p.tok.len == 6 && !memcmp(p.tok.text, "shadow", 6)) {
				advance(&p);
				if (is(&p, TOK_INTERFACE)) {
					parse_interface(&p, true, &d);
					break;
				}
				syntax_error(&p, "'interface' after 'shadow'");
				break;
			}
			/* fall through */
		default:
			syntax_error(&p, "'const', 'struct', 'interface' or 'shadow interface'");
			advance(&p);
			break;
		}
		if (p.failed || !d) {
			ok = false;
			while (!at_item(&p))
				advance(&p);
			continue;
		}
		*u->decls_tail = d;
		u->decls_tail = &d->next;
	}
	if (!ok)
		u->syntax_failed = true;
	return ok ? 0 : -EINVAL;
}
