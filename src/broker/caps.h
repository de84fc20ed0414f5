/* SPDX-License-Identifier: MIT */
/*
 * Capability tables: a domain names a callee interface only by a handle
 * into its own table here, so handles cannot be forged. A handle is the
 * slot index and the slot's generation; a restart of the target bumps the
 * generation, so older handles say -ESTALE instead of reaching the new
 * incarnation by accident.
 */
#ifndef RL_BROKER_CAPS_H
#define RL_BROKER_CAPS_H

#include <errno.h>

#include "state.h"

/*
 * The entry a handle names, or NULL with *err: -EBADF for a handle that was
 * never valid, -ESTALE for one refreshed since (its domain was restarted).
 */
static inline struct cap_entry *rl_caps_resolve(struct domain *d, rl_cap cap, int *err)
{
	uint32_t idx = cap & 0xffff;
	uint16_t gen = (uint16_t)(cap >> 16);

	*err = -EBADF;
	if (idx >= RL_MAX_CAPS)
		return NULL;
	struct cap_entry *c = &d->caps[idx];
	if (!c->used)
		return NULL;
	if (c->gen != gen) {
		/* Issued for this slot before (generations only grow): outdated, not forged. */
		if (gen && (uint16_t)(c->gen - gen) < 0x8000)
			*err = -ESTALE;
		return NULL;
	}
	return c;
}

static inline struct cap_entry *rl_caps_lookup(struct domain *d, rl_cap cap)
{
	int err;
	return rl_caps_resolve(d, cap, &err);
}

/*
 * Installs (or finds, refreshed to the target's incarnation) an entry for
 * export export_index of domain target in d's table; returns the handle or
 * RL_CAP_INVALID when the table is full.
 */
rl_cap rl_caps_grant(struct domain *d, uint16_t target, uint8_t export_index, uint16_t iface);

/* Revokes every entry of d's table; the generations live on, so old handles stay stale. */
void rl_caps_revoke_all(struct domain *d);

/*
 * The manifest's wiring of importer's imports into its table and control
 * page: all of them (from == NULL, at start and when importer itself
 * restarts), or only those from domain `from` (when `from` restarted: a
 * fresh handle to the new incarnation, the old one now says -ESTALE).
 */
void rl_caps_wire(struct broker *b, struct domain *importer, const struct domain *from);

#endif /* RL_BROKER_CAPS_H */
