/* SPDX-License-Identifier: MIT */
#include "idlc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "check.h"
#include "parser.h"

struct idl_unit *idl_unit_new(FILE *diag_out)
{
	struct idl_unit *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->arena = idl_arena_new();
	if (!u->arena) {
		free(u);
		return NULL;
	}
	u->diag_out = diag_out;
	u->decls_tail = &u->decls;
	return u;
}

void idl_unit_free(struct idl_unit *u)
{
	if (!u)
		return;
	idl_arena_free(u->arena);
	free(u);
}

int idl_unit_add_source(struct idl_unit *u, const char *name, const char *text, size_t len)
{
	struct idl_source *src;
	int rc;

	if (u->nfiles == IDL_MAX_FILES) {
		idl_error_nopos(u, name, "more than %d input files", IDL_MAX_FILES);
		u->syntax_failed = true;
		idl_diag_flush(u);
		return -E2BIG;
	}
	src = &u->files[u->nfiles];
	src->name = idl_arena_strndup(u->arena, name, strlen(name));
	if (len > IDL_MAX_FILE_SIZE) {
		idl_error_nopos(u, name, "file is larger than %zu bytes", IDL_MAX_FILE_SIZE);
		u->syntax_failed = true;
		idl_diag_flush(u);
		return -E2BIG;
	}
	src->text = idl_arena_strndup(u->arena, text, len);
	src->len = len;
	rc = idl_parse(u, u->nfiles++);
	idl_diag_flush(u);
	return rc;
}

int idl_unit_check(struct idl_unit *u)
{
	int rc = u->checked ? (u->check_ok ? 0 : -EINVAL) : idl_check(u);

	idl_diag_flush(u);
	return rc || u->nerrors ? -EINVAL : 0;
}
