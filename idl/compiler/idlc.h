/* SPDX-License-Identifier: MIT */
/*
 * The compiler as a library: what main.c and the fuzz replay drive.
 *   u = idl_unit_new(stderr);
 *   idl_unit_add_source(u, name, text, len);   (per file, in order)
 *   idl_unit_check(u);
 *   idl_gen_header(u, &buf) / idl_gen_stubs / idl_gen_tables   (gen.h)
 *   idl_unit_free(u);
 */
#ifndef IDLC_IDLC_H
#define IDLC_IDLC_H

#include <stddef.h>
#include <stdio.h>

#include "ast.h"
#include "gen.h"

/* diag_out: where "file:line:col: error: ..." lines go; NULL to only count them. NULL on OOM. */
struct idl_unit *idl_unit_new(FILE *diag_out);
void idl_unit_free(struct idl_unit *u);

/*
 * Parses one file. text need not be NUL-terminated and is copied. name is
 * what messages call the file. Returns 0, or -EINVAL (syntax errors, file too
 * large, too many files) or -E2BIG.
 */
int idl_unit_add_source(struct idl_unit *u, const char *name, const char *text, size_t len);

/*
 * Checks everything added so far (once). Returns 0 when generation may
 * proceed, else -EINVAL. Diagnostics are printed sorted by position.
 */
int idl_unit_check(struct idl_unit *u);

#endif /* IDLC_IDLC_H */
