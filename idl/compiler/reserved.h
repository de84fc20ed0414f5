/* SPDX-License-Identifier: MIT */
/*
 * Which names the generated C cannot use. Every name in the IDL becomes a C
 * identifier (struct tags, fields, parameters, parts of function names); an
 * accepted IDL file must never produce a header that fails to compile.
 */
#ifndef IDLC_RESERVED_H
#define IDLC_RESERVED_H

/* Why name cannot be a C identifier in generated code ("is a C keyword"), or NULL if it can. */
const char *idl_reserved_why(const char *name);

#endif /* IDLC_RESERVED_H */
