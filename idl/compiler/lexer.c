/* SPDX-License-Identifier: MIT */
#include "lexer.h"

#include <string.h>

#include "arena.h"

static const struct {
	const char *word;
	enum idl_tok kind;
} keywords[] = {
	{ "const", TOK_CONST }, { "struct", TOK_STRUCT }, { "interface", TOK_INTERFACE },
	{ "fn", TOK_FN }, { "rref", TOK_RREF }, { "rref_vec", TOK_RREF_VEC },
	{ "rref_deque", TOK_RREF_DEQUE },
};

/* Our own classes: the C library's depend on the locale, and the IDL is ASCII. */
static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* The value of c as a digit in base 10 or 16, or -1. */
static int digit_value(int c, unsigned base)
{
	int v = -1;

	if (is_digit(c))
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	return v >= 0 && (unsigned)v < base ? v : -1;
}

void idl_lexer_init(struct idl_lexer *lx, struct idl_unit *u, uint32_t file)
{
	lx->u = u;
	lx->file = file;
	lx->p = u->files[file].text;
	lx->end = lx->p + u->files[file].len;
	lx->line_start = lx->p;
	lx->line = 1;
}

static struct idl_pos here(const struct idl_lexer *lx, const char *at)
{
	return (struct idl_pos){ lx->file, lx->line, (uint32_t)(at - lx->line_start) + 1 };
}

static void newline(struct idl_lexer *lx, const char *after)
{
	lx->line++;
	lx->line_start = after;
}

/* Skips blanks and comments. Returns false after reporting an unterminated comment. */
static bool skip_space(struct idl_lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '\n') {
			newline(lx, ++lx->p);
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			lx->p++;
		} else if (c == '/' && lx->end - lx->p >= 2 && lx->p[1] == '/') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (c == '/' && lx->end - lx->p >= 2 && lx->p[1] == '*') {
			struct idl_pos start = here(lx, lx->p);

			lx->p += 2;
			for (;;) {
				if (lx->p >= lx->end) {
					idl_error(lx->u, start,
						  "unterminated comment: '/*' without a matching '*/'");
					return false;
				}
				if (*lx->p == '*' && lx->end - lx->p >= 2 && lx->p[1] == '/') {
					lx->p += 2;
					break;
				}
				if (*lx->p == '\n')
					newline(lx, lx->p + 1);
				lx->p++;
			}
		} else {
			break;
		}
	}
	return true;
}

static struct idl_token int_error(struct idl_lexer *lx, struct idl_token t, const char *why)
{
	idl_error(lx->u, t.pos, "integer %s %s", idl_quote(lx->u, t.text, t.len), why);
	t.kind = TOK_ERROR;
	return t;
}

static struct idl_token lex_int(struct idl_lexer *lx, struct idl_token t)
{
	const char *p = lx->p;
	unsigned base;
	bool hex;
	size_t i;
	uint64_t v = 0;

	/* Take the whole run of word characters so "12ab" or "0x" is one error, not two tokens. */
	while (p < lx->end && (is_alpha(*p) || is_digit(*p)))
		p++;
	t.text = lx->p;
	t.len = (size_t)(p - lx->p);
	lx->p = p;
	hex = t.len >= 2 && t.text[0] == '0' && (t.text[1] == 'x' || t.text[1] == 'X');
	base = hex ? 16 : 10;
	if (hex && t.len == 2)
		return int_error(lx, t, "is malformed");
	for (i = hex ? 2 : 0; i < t.len; i++)
		if (digit_value(t.text[i], base) < 0)
			return int_error(lx, t, "is malformed");
	for (i = hex ? 2 : 0; i < t.len; i++) {
		unsigned d = (unsigned)digit_value(t.text[i], base);

		if (v > (UINT64_MAX - d) / base)
			return int_error(lx, t, "does not fit in 64 bits");
		v = v * base + d;
	}
	if (!hex && t.len > 1 && t.text[0] == '0')
		return int_error(lx, t, "has a leading zero (octal is not supported: write decimal or 0x hex)");
	t.kind = TOK_INT;
	t.value = v;
	return t;
}

static struct idl_token lex_word(struct idl_lexer *lx, struct idl_token t)
{
	const char *p = lx->p;

	while (p < lx->end && (is_alpha(*p) || is_digit(*p)))
		p++;
	t.text = lx->p;
	t.len = (size_t)(p - lx->p);
	lx->p = p;
	if (t.len > IDL_MAX_NAME) {
		idl_error(lx->u, t.pos, "name %s is longer than %d characters",
			  idl_quote(lx->u, t.text, t.len), IDL_MAX_NAME);
		t.kind = TOK_ERROR;
		return t;
	}
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strlen(keywords[i].word) == t.len && !memcmp(keywords[i].word, t.text, t.len)) {
			t.kind = keywords[i].kind;
			return t;
		}
	}
	for (int s = 0; s < IDL_NSCALARS; s++) {
		if (strlen(idl_scalars[s].name) == t.len &&
		    !memcmp(idl_scalars[s].name, t.text, t.len)) {
			t.kind = TOK_SCALAR;
			t.scalar = (enum idl_scalar)s;
			return t;
		}
	}
	t.kind = TOK_IDENT;
	return t;
}

struct idl_token idl_lex(struct idl_lexer *lx)
{
	struct idl_token t = { .kind = TOK_EOF };
	char c;

	if (!skip_space(lx)) {
		lx->p = lx->end;
		t.pos = here(lx, lx->p);
		t.kind = TOK_ERROR;
		return t;
	}
	t.pos = here(lx, lx->p);
	t.text = lx->p;
	if (lx->p >= lx->end)
		return t;
	c = *lx->p;
	if (is_alpha(c))
		return lex_word(lx, t);
	if (is_digit(c))
		return lex_int(lx, t);
	t.len = 1;
	switch (c) {
	case '{': t.kind = TOK_LBRACE; break;
	case '}': t.kind = TOK_RBRACE; break;
	case '(': t.kind = TOK_LPAREN; break;
	case ')': t.kind = TOK_RPAREN; break;
	case '[': t.kind = TOK_LBRACKET; break;
	case ']': t.kind = TOK_RBRACKET; break;
	case '<': t.kind = TOK_LT; break;
	case '>': t.kind = TOK_GT; break;
	case ':': t.kind = TOK_COLON; break;
	case ';': t.kind = TOK_SEMI; break;
	case ',': t.kind = TOK_COMMA; break;
	case '=': t.kind = TOK_EQ; break;
	case '&': t.kind = TOK_AMP; break;
	case '*': t.kind = TOK_STAR; break;
	case '-':
		if (lx->end - lx->p >= 2 && lx->p[1] == '>') {
			t.kind = TOK_ARROW;
			t.len = 2;
		} else {
			t.kind = TOK_MINUS;
		}
		break;
	default:
		if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
			idl_error(lx->u, t.pos, "unexpected character '%c'", c);
		else
			idl_error(lx->u, t.pos,
				  "unexpected byte 0x%02x (outside comments the IDL is printable ASCII)",
				  (unsigned char)c);
		t.kind = TOK_ERROR;
		break;
	}
	lx->p += t.len;
	return t;
}

const char *idl_token_describe(struct idl_unit *u, const struct idl_token *t)
{
	switch (t->kind) {
	case TOK_EOF:
		return "end of file";
	case TOK_ERROR:
		return "an invalid token";
	default:
		return idl_quote(u, t->text, t->len);
	}
}
