/* SPDX-License-Identifier: MIT */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

static void reserve(struct idl_buf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->len + extra + 1 <= b->cap)
		return;
	while (cap < b->len + extra + 1) {
		if (cap > (size_t)1 << 40)
			idl_out_of_memory();
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		idl_out_of_memory();
	b->data = p;
	b->cap = cap;
}

void idl_buf_puts(struct idl_buf *b, const char *s)
{
	size_t n = strlen(s);

	reserve(b, n);
	memcpy(b->data + b->len, s, n + 1);
	b->len += n;
}

void idl_buf_printf(struct idl_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *tmp;
	int n;

	/* vasprintf: see idl_arena_vprintf() for why not vsnprintf twice */
	va_start(ap, fmt);
	n = vasprintf(&tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		idl_out_of_memory();
	reserve(b, (size_t)n);
	memcpy(b->data + b->len, tmp, (size_t)n + 1);
	b->len += (size_t)n;
	free(tmp);
}

void idl_buf_free(struct idl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
