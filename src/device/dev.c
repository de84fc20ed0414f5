// SPDX-License-Identifier: MIT
/*
 * The device layer's out-of-line part: the list of memory regions a device
 * may reach. The register accessors and rl_dev_dma() are inline in dev.h
 * because drivers call them on every request.
 */
#include <errno.h>

#include "dev.h"

static bool overlaps(const struct rl_dev_region *r, uintptr_t start, size_t len)
{
	return start < r->start + r->len && r->start < start + len;
}

int rl_dev_add_region(struct rl_dev *d, void *p, size_t len)
{
	uintptr_t start = (uintptr_t)p;

	if (!d || !p || len == 0 || start + len < start)
		return -EINVAL;
	for (unsigned i = 0; i < d->nregions; i++) {
		if (d->regions[i].start == start && d->regions[i].len == len)
			return 0; /* registering the same memory twice is harmless */
		/* rl_dev_dma() wants a buffer inside ONE region: overlaps would make that ambiguous. */
		if (overlaps(&d->regions[i], start, len))
			return -EEXIST;
	}
	if (d->nregions == RL_DEV_MAX_REGIONS)
		return -ENOSPC;
	d->regions[d->nregions++] = (struct rl_dev_region){.start = start, .len = len};
	return 0;
}

int rl_dev_remove_region(struct rl_dev *d, void *p)
{
	for (unsigned i = 0; i < d->nregions; i++) {
		if (d->regions[i].start != (uintptr_t)p)
			continue;
		d->regions[i] = d->regions[--d->nregions];
		return 0;
	}
	return -ENOENT;
}
