/* SPDX-License-Identifier: MIT */
/*
 * A bump allocator for everything one compiler run creates (tokens, AST,
 * types, messages). Nothing is freed piecemeal: one idl_arena_free() at the
 * end releases it all, which is what keeps the fuzzed parser leak-free even
 * when it bails out half way through a malformed input.
 */
#ifndef IDLC_ARENA_H
#define IDLC_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct idl_arena;

/* NULL only when malloc fails. */
struct idl_arena *idl_arena_new(void);
void idl_arena_free(struct idl_arena *a);

/*
 * Zeroed, 16-aligned memory. The compiler is a build tool: running out of
 * memory (or past the arena's cap, which bounds what hostile input can make
 * us allocate) prints a message and exits with status 1.
 */
void *idl_arena_alloc(struct idl_arena *a, size_t size);
char *idl_arena_strndup(struct idl_arena *a, const char *s, size_t n);
char *idl_arena_printf(struct idl_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *idl_arena_vprintf(struct idl_arena *a, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Prints "redleaf-idlc: out of memory" and exits(1). */
void idl_out_of_memory(void) __attribute__((noreturn));

#endif /* IDLC_ARENA_H */
