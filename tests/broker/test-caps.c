// SPDX-License-Identifier: MIT
/*
 * The capability table: handles are a slot and its generation, granted by
 * the broker only; a restart of the target makes older handles stale, a
 * death revokes the dead domain's table, a full table says so, and the
 * manifest's wiring writes every import from the manifest, never from what
 * the domain wrote into its control page.
 */
#include <errno.h>
#include <string.h>

#include "../../src/broker/caps.h"
#include "../helpers.h"
#include "bed.h"
#include "redleaf_idl.h"

static struct t_bed bed;
static struct broker *b;

static int resolve(unsigned who, rl_cap c)
{
	int err = 0;
	return rl_caps_resolve(&b->dom[who], c, &err) ? 0 : err;
}

static void grants(void)
{
	rl_cap a = t_bed_grant(&bed, 1, 2, RL_IFACE_Test);
	rl_cap again = t_bed_grant(&bed, 1, 2, RL_IFACE_Test);
	rl_cap other = t_bed_grant(&bed, 1, 3, RL_IFACE_Test);

	t_assert(a != RL_CAP_INVALID && other != RL_CAP_INVALID);
	t_assert_eq(again, a); /* the same target and export: the same entry */
	t_assert((other & 0xffff) != (a & 0xffff));
	t_assert_eq(resolve(1, a), 0);
	const struct cap_entry *e = rl_caps_lookup(&b->dom[1], a);
	t_assert(e && e->target == 2 && e->iface == RL_IFACE_Test && e->incarnation == 1);
	/* Handles are per domain: d3 holds nothing. */
	t_assert_eq(resolve(3, a), -EBADF);
	/* Forgeries: another generation of a live slot, generation 0, a slot past the table. */
	t_assert_eq(resolve(1, (a & 0xffff) | ((rl_cap)((a >> 16) + 9) << 16)), -EBADF);
	t_assert_eq(resolve(1, a & 0xffff), -EBADF);
	t_assert_eq(resolve(1, RL_MAX_CAPS), -EBADF);
	t_assert_eq(resolve(1, RL_CAP_INVALID), -EBADF);

	/* The target restarts: granting again refreshes the same slot, the old handle is stale. */
	b->dom[2].incarnation++;
	rl_cap fresh = t_bed_grant(&bed, 1, 2, RL_IFACE_Test);
	t_assert_eq(fresh & 0xffff, a & 0xffff);
	t_assert(fresh != a);
	t_assert_eq(resolve(1, a), -ESTALE);
	t_assert_eq(resolve(1, fresh), 0);

	/* A death revokes the whole table; generations live on, so nothing comes back by accident. */
	rl_caps_revoke_all(&b->dom[1]);
	t_assert_eq(resolve(1, fresh), -EBADF);
	t_assert_eq(resolve(1, other), -EBADF);
	rl_cap after = t_bed_grant(&bed, 1, 2, RL_IFACE_Test);
	t_assert(after != fresh && after != a);
}

static void full_table(void)
{
	/* Distinct (target, export) pairs fill d4's table: 8 exports on each of 8 targets. */
	unsigned granted = 0;
	for (unsigned t = 5; t <= 12; t++)
		for (unsigned k = 0; k < RL_MAX_EXPORTS; k++) {
			rl_cap c = rl_caps_grant(&b->dom[4], (uint16_t)t, (uint8_t)k, RL_IFACE_Test);
			granted += c != RL_CAP_INVALID;
		}
	t_assert_eq(granted, RL_MAX_CAPS);
	t_assert_eq(rl_caps_grant(&b->dom[4], 13, 0, RL_IFACE_Test), RL_CAP_INVALID);
	/* Refreshing an entry it has still works with the table full. */
	t_assert(rl_caps_grant(&b->dom[4], 5, 0, RL_IFACE_Test) != RL_CAP_INVALID);
}

static void wiring(void)
{
	/* d13 imports Test from d14 as "svc", and BDev from d14 (which d14 does not export). */
	struct rl_manifest_domain *md = &bed.manifest[13];
	md->nimports = 2;
	snprintf(md->imports[0].name, RL_NAME_MAX, "svc");
	snprintf(md->imports[0].iface, RL_NAME_MAX, "Test");
	snprintf(md->imports[0].from, RL_NAME_MAX, "d14");
	snprintf(md->imports[1].name, RL_NAME_MAX, "blk");
	snprintf(md->imports[1].iface, RL_NAME_MAX, "BDev");
	snprintf(md->imports[1].from, RL_NAME_MAX, "d14");
	t_bed_export(&bed, 14, RL_IFACE_Test);

	struct domain *d = &b->dom[13];
	rl_caps_wire(b, d, NULL);
	struct rl_chan_ctl *ctl = &d->chan->ctl;
	t_assert_eq(ctl->nimports, 2);
	t_assert(!strcmp(ctl->imports[0].name, "svc"));
	t_assert_eq(ctl->imports[0].iface_id, RL_IFACE_Test);
	t_assert_eq(resolve(13, ctl->imports[0].cap), 0);
	t_assert_eq(ctl->imports[0].cap, d->import_caps[0]);
	t_assert_eq(ctl->imports[1].cap, RL_CAP_INVALID); /* not exported: no handle */

	/* d14 restarts; the domain scribbled over its control page meanwhile. */
	rl_cap before = ctl->imports[0].cap;
	ctl->imports[0].iface_id = RL_IFACE_BDev;
	ctl->imports[0].cap = 0x12345;
	b->dom[14].incarnation++;
	rl_caps_wire(b, d, &b->dom[14]);
	t_assert(ctl->imports[0].cap != before);
	t_assert_eq(resolve(13, before), -ESTALE);
	t_assert_eq(resolve(13, ctl->imports[0].cap), 0);
	const struct cap_entry *e = rl_caps_lookup(d, ctl->imports[0].cap);
	/* The entry's interface is the manifest's, whatever the page says. */
	t_assert(e && e->iface == RL_IFACE_Test);
	/* Refreshing from another domain touches nothing. */
	rl_cap now = ctl->imports[0].cap;
	rl_caps_wire(b, d, &b->dom[2]);
	t_assert_eq(ctl->imports[0].cap, now);
}

int main(void)
{
	b = t_bed_setup(&bed, 14, 4ull << 20);
	for (unsigned i = 2; i <= 3; i++)
		t_bed_export(&bed, i, RL_IFACE_Test);
	grants();
	full_table();
	wiring();
	t_bed_destroy(&bed);
	return t_result();
}
