// SPDX-License-Identifier: MIT
/* Capability tables: granting, revoking, and wiring the manifest's imports. See caps.h. */
#include <stdio.h>
#include <string.h>

#include "caps.h"

rl_cap rl_caps_grant(struct domain *d, uint16_t target, uint8_t export_index, uint16_t iface)
{
	int free_idx = -1;

	uint32_t incarnation = d->broker->dom[target].incarnation;

	for (unsigned i = 0; i < RL_MAX_CAPS; i++) {
		struct cap_entry *c = &d->caps[i];
		if (c->used && c->target == target && c->export_index == export_index) {
			if (c->incarnation != incarnation) { /* refresh an entry to an older incarnation */
				c->gen = (uint16_t)(c->gen + 1) ? (uint16_t)(c->gen + 1) : 1;
				c->incarnation = incarnation;
			}
			return (rl_cap)i | ((rl_cap)c->gen << 16);
		}
		if (!c->used && free_idx < 0)
			free_idx = (int)i;
	}
	if (free_idx < 0)
		return RL_CAP_INVALID;
	struct cap_entry *c = &d->caps[free_idx];
	c->gen = (uint16_t)(c->gen + 1) ? (uint16_t)(c->gen + 1) : 1;
	c->used = 1;
	c->target = target;
	c->export_index = export_index;
	c->iface = iface;
	c->incarnation = incarnation;
	c->deadline_ms = 0; /* an import's is set by rl_caps_wire() */
	return (rl_cap)free_idx | ((rl_cap)c->gen << 16);
}

void rl_caps_revoke_all(struct domain *d)
{
	for (unsigned i = 0; i < RL_MAX_CAPS; i++)
		d->caps[i].used = 0;
}

static int export_index(const struct domain *d, uint16_t iface)
{
	for (unsigned i = 0; i < d->nexports; i++)
		if (d->exports[i] == iface)
			return (int)i;
	return -1;
}

void rl_caps_wire(struct broker *b, struct domain *importer, const struct domain *from)
{
	struct rl_chan_ctl *ctl = &importer->chan->ctl;
	const struct rl_manifest_domain *md = importer->m;

	for (unsigned k = 0; k < md->nimports; k++) {
		const struct rl_manifest_import *imp = &md->imports[k];
		if (from && strcmp(imp->from, from->name))
			continue;
		struct domain *target = rl_broker_domain_by_name(b, imp->from);
		uint16_t iface = rl_idl_iface_by_name(imp->iface)->id;
		struct rl_chan_import *ci = &ctl->imports[k];
		int idx = export_index(target, iface);
		if (from) { /* a running importer: only the handle changes */
			if (idx < 0)
				continue;
		} else {
			snprintf(ci->name, sizeof(ci->name), "%s", imp->name);
			ci->iface_id = iface;
		}
		ci->cap = idx < 0 ? RL_CAP_INVALID : rl_caps_grant(importer, target->id, (uint8_t)idx, iface);
		importer->import_caps[k] = ci->cap;
		/* Two imports of one interface from one domain share an entry, and its deadline. */
		struct cap_entry *e = rl_caps_lookup(importer, ci->cap);
		if (e)
			e->deadline_ms = imp->deadline_ms;
	}
	if (!from)
		ctl->nimports = (uint16_t)md->nimports;
}
