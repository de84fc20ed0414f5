/* SPDX-License-Identifier: MIT */
/*
 * A growable text buffer. Generated files are built in memory in full and
 * written only once the whole run has succeeded, so a failed run never
 * leaves a half-written header behind for the build to pick up.
 */
#ifndef IDLC_BUF_H
#define IDLC_BUF_H

#include <stddef.h>

struct idl_buf {
	char *data; /* NUL-terminated once anything was added */
	size_t len, cap;
};

void idl_buf_puts(struct idl_buf *b, const char *s);
void idl_buf_printf(struct idl_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void idl_buf_free(struct idl_buf *b);

#endif /* IDLC_BUF_H */
