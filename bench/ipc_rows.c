// SPDX-License-Identifier: MIT
/*
 * bench/ipc's rows: adding, finding and noting the state of a row of a
 * table; which rows run (--only, and the pairs of our rows and relay
 * floors that run time-shared); the progress lines on stderr.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ipc.h"

struct row *ipc_row_add(struct table *t, const char *id, const char *label)
{
	struct row *r = &t->rows[t->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->label, sizeof(r->label), "%s", label);
	return r;
}

struct row *ipc_row_find(struct table *t, const char *id)
{
	for (unsigned i = 0; i < t->n; i++)
		if (!strcmp(t->rows[i].id, id))
			return &t->rows[i];
	return NULL;
}

/*
 * --only: an item selects a row id equal to it or starting with it and a
 * dot ("raw3" selects raw3.b1 ... raw3.pinned); "floors", "ours" and
 * "scaling" select a whole part; "ours.ID" selects one of our rows.
 */
bool ipc_only_matches(const char *item, size_t len, const char *id)
{
	size_t n = strlen(id);
	return (len == n && !strncmp(item, id, n)) || (len < n && !strncmp(item, id, len) && id[len] == '.');
}

bool ipc_selected(const char *part, const char *id)
{
	char full[64];

	if (!g.only)
		return true;
	snprintf(full, sizeof(full), "%s.%s", part, id);
	for (const char *p = g.only; *p;) {
		size_t len = strcspn(p, ",");
		if (ipc_only_matches(p, len, part) || ipc_only_matches(p, len, full) ||
		    (!strcmp(part, "floors") && ipc_only_matches(p, len, id)))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

void ipc_row_note(struct row *r, enum row_state st, const char *fmt, ...)
{
	va_list ap;

	r->state = st;
	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
	if (st == ROW_FAILED)
		g.any_failed = true;
	if (st == ROW_STARVED)
		g.any_starved = true;
}

double ipc_ticks_ns(double ticks)
{
	return ticks * 1e9 / g.tsc_hz;
}

bool ipc_row_measured(const struct row *r)
{
	return r && r->state == ROW_MEASURED;
}

void ipc_progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ipc: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The rows time-shared with their floors (share.h): ours in the odd slots
 * of a phase, the relay floor in the even ones, both at once in a run.
 */
const struct shared_pair ipc_shared_pairs[] = { { "null", "raw3.b1", 1 }, { "batch.32", "raw3.b32", 32 },
					   { "batch.128", "raw3.b128", 128 } };
static_assert(sizeof(ipc_shared_pairs) / sizeof(ipc_shared_pairs[0]) == NPAIRS, "NPAIRS counts ipc_shared_pairs");

bool ipc_pair_shared(const struct shared_pair *sp)
{
	return g.slot_ms && ipc_selected("ours", sp->ours) && ipc_selected("floors", sp->floor);
}

/* The time-shared pair whose floor is id, or NULL. */
const struct shared_pair *ipc_pair_of_floor(const char *id)
{
	for (unsigned i = 0; i < NPAIRS; i++)
		if (!strcmp(ipc_shared_pairs[i].floor, id) && ipc_pair_shared(&ipc_shared_pairs[i]))
			return &ipc_shared_pairs[i];
	return NULL;
}
