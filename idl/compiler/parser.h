/* SPDX-License-Identifier: MIT */
/*
 * Recursive-descent parser for the grammar in docs/idl.md. Only type
 * expressions recurse, and never deeper than IDL_MAX_TYPE_DEPTH. After a
 * syntax error the parser skips to the next top-level keyword, so one broken
 * declaration yields one message and the declarations after it still get
 * checked for syntax.
 */
#ifndef IDLC_PARSER_H
#define IDLC_PARSER_H

#include <stdint.h>

#include "ast.h"

/* Parses u->files[file], appending its declarations to u->decls. Returns 0 or -EINVAL. */
int idl_parse(struct idl_unit *u, uint32_t file);

/* The type as written ("[u8;BSIZE]"), for messages. */
const char *idl_tx_spell(struct idl_unit *u, const struct idl_tyexpr *tx);

#endif /* IDLC_PARSER_H */
