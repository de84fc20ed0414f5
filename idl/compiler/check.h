/* SPDX-License-Identifier: MIT */
/*
 * The checker: resolves names, enforces what is exchangeable where, lays
 * types out exactly as the C compiler will, and assigns the global type and
 * interface ids the broker's tables are indexed by.
 */
#ifndef IDLC_CHECK_H
#define IDLC_CHECK_H

#include "ast.h"

/* Checks every declaration of u. Returns 0, or -EINVAL after reporting errors. */
int idl_check(struct idl_unit *u);

#endif /* IDLC_CHECK_H */
