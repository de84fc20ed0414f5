/* SPDX-License-Identifier: MIT */
/* Tokens of the IDL. The lexer reports its own errors and then hands out TOK_ERROR. */
#ifndef IDLC_LEXER_H
#define IDLC_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "ast.h"

enum idl_tok {
	TOK_EOF, TOK_ERROR, TOK_IDENT, TOK_INT,
	TOK_LBRACE, TOK_RBRACE, TOK_LPAREN, TOK_RPAREN, TOK_LBRACKET, TOK_RBRACKET,
	TOK_LT, TOK_GT, TOK_COLON, TOK_SEMI, TOK_COMMA, TOK_EQ, TOK_MINUS, TOK_ARROW,
	TOK_AMP, TOK_STAR,
	/* keywords */
	TOK_CONST, TOK_STRUCT, TOK_INTERFACE, TOK_FN,
	TOK_RREF, TOK_RREF_VEC, TOK_RREF_DEQUE,
	TOK_SCALAR, /* u8 ... bool; which one is in .scalar */
};

struct idl_token {
	enum idl_tok kind;
	struct idl_pos pos;
	const char *text; /* points into the source */
	size_t len;
	uint64_t value;   /* TOK_INT */
	enum idl_scalar scalar; /* TOK_SCALAR */
};

struct idl_lexer {
	struct idl_unit *u;
	uint32_t file;
	const char *p, *end, *line_start;
	uint32_t line;
};

void idl_lexer_init(struct idl_lexer *lx, struct idl_unit *u, uint32_t file);
struct idl_token idl_lex(struct idl_lexer *lx);

/* "'struct'", "'{'", "'foo'", "end of file": how messages name a token. */
const char *idl_token_describe(struct idl_unit *u, const struct idl_token *t);

#endif /* IDLC_LEXER_H */
