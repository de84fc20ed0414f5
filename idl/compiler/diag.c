/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics are collected and printed sorted by position, so that the
 * order of the checker's passes never shows through: the golden *.err files
 * of the tests stay stable, and a reader sees errors top to bottom.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ast.h"

static void add(struct idl_unit *u, struct idl_pos pos, bool has_pos, const char *msg)
{
	u->nerrors++;
	if (u->nerrors > IDL_MAX_ERRORS) {
		u->nhidden++;
		return;
	}
	if (u->ndiags == u->diags_cap) {
		unsigned cap = u->diags_cap ? u->diags_cap * 2 : 16;
		struct idl_diag *d = idl_arena_alloc(u->arena, cap * sizeof(*d));

		if (u->ndiags)
			memcpy(d, u->diags, u->ndiags * sizeof(*d));
		u->diags = d;
		u->diags_cap = cap;
	}
	u->diags[u->ndiags] = (struct idl_diag){
		.pos = pos, .has_pos = has_pos, .seq = u->ndiags, .msg = msg,
	};
	u->ndiags++;
}

void idl_error(struct idl_unit *u, struct idl_pos pos, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = idl_arena_vprintf(u->arena, fmt, ap);
	va_end(ap);
	add(u, pos, true, msg);
}

void idl_error_nopos(struct idl_unit *u, const char *file, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = idl_arena_vprintf(u->arena, fmt, ap);
	va_end(ap);
	add(u, (struct idl_pos){ 0, 0, 0 }, false,
	    idl_arena_printf(u->arena, "%s: error: %s", file ? file : "redleaf-idlc", msg));
}

static int cmp_diag(const void *pa, const void *pb)
{
	const struct idl_diag *a = pa, *b = pb;

	if (a->has_pos != b->has_pos)
		return a->has_pos ? 1 : -1;
	if (a->pos.file != b->pos.file)
		return a->pos.file < b->pos.file ? -1 : 1;
	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	if (a->pos.col != b->pos.col)
		return a->pos.col < b->pos.col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void idl_diag_flush(struct idl_unit *u)
{
	if (u->diag_out) {
		if (u->ndiags)
			qsort(u->diags, u->ndiags, sizeof(*u->diags), cmp_diag);
		for (unsigned i = 0; i < u->ndiags; i++) {
			const struct idl_diag *d = &u->diags[i];

			if (d->has_pos)
				fprintf(u->diag_out, "%s:%u:%u: error: %s\n", u->files[d->pos.file].name,
					d->pos.line, d->pos.col, d->msg);
			else
				fprintf(u->diag_out, "%s\n", d->msg);
		}
		if (u->nhidden)
			fprintf(u->diag_out, "redleaf-idlc: %u more errors not shown\n", u->nhidden);
	}
	u->ndiags = 0;
	u->nhidden = 0;
}

const char *idl_quote(struct idl_unit *u, const char *s, size_t n)
{
	enum { SHOW = 40 };
	char *out = idl_arena_alloc(u->arena, SHOW * 4 + 8), *o = out;
	size_t show = n > SHOW ? SHOW : n;

	*o++ = '\'';
	for (size_t i = 0; i < show; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isprint(c) && c != '\\' && c != '\'')
			*o++ = (char)c;
		else
			o += sprintf(o, "\\x%02x", c);
	}
	if (show < n)
		o += sprintf(o, "...");
	*o++ = '\'';
	*o = '\0';
	return out;
}
