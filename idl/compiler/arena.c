/* SPDX-License-Identifier: MIT */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inputs are capped at 1 MiB per file; this bounds the worst blow-up of tables and names. */
#define ARENA_CAP ((size_t)512 << 20)
#define CHUNK_MIN ((size_t)64 << 10)

struct chunk {
	struct chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

struct idl_arena {
	struct chunk *head;
	size_t total;
};

void idl_out_of_memory(void)
{
	fputs("redleaf-idlc: out of memory\n", stderr);
	exit(1);
}

struct idl_arena *idl_arena_new(void)
{
	return calloc(1, sizeof(struct idl_arena));
}

void idl_arena_free(struct idl_arena *a)
{
	if (!a)
		return;
	while (a->head) {
		struct chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
	free(a);
}

void *idl_arena_alloc(struct idl_arena *a, size_t size)
{
	struct chunk *c = a->head;
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (size > ARENA_CAP)
		idl_out_of_memory();
	if (!c || c->size - c->used < size) {
		size_t want = size > CHUNK_MIN ? size : CHUNK_MIN;

		if (a->total + want > ARENA_CAP)
			idl_out_of_memory();
		c = malloc(sizeof(*c) + want);
		if (!c)
			idl_out_of_memory();
		c->size = want;
		c->used = 0;
		c->next = a->head;
		a->head = c;
		a->total += want;
	}
	p = c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *idl_arena_strndup(struct idl_arena *a, const char *s, size_t n)
{
	char *p = idl_arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * vasprintf() rather than measuring with vsnprintf(NULL, 0, ...) and then
 * printing: one pass, and GCC 12 with -fsanitize=undefined reports a bogus
 * "null format string" for the two-pass form.
 */
char *idl_arena_vprintf(struct idl_arena *a, const char *fmt, va_list ap)
{
	char *tmp, *p;
	int n = vasprintf(&tmp, fmt, ap);

	if (n < 0)
		idl_out_of_memory();
	p = idl_arena_strndup(a, tmp, (size_t)n);
	free(tmp);
	return p;
}

char *idl_arena_printf(struct idl_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = idl_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}
