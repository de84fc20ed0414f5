// SPDX-License-Identifier: MIT
/* An in-process broker for tests and bench/proxycost. See bed.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/broker/caps.h"
#include "../../src/broker/ownership.h"
#include "../../src/broker/proxy.h"
#include "bed.h"

int t_bed_create(struct t_bed *bed, unsigned ndom, uint64_t heap_bytes)
{
	memset(bed, 0, sizeof(*bed));
	if (!ndom || ndom > RL_MAX_DOMAINS)
		return -EINVAL;
	struct broker *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	bed->b = b;
	b->quiet = true;
	b->nworkers = 1;
	b->epoll_fd = b->control_fd = b->wake_fd = b->bell_fd = -1;
	int err = rl_heap_create(&b->heap, heap_bytes, false);
	if (err) {
		free(b);
		bed->b = NULL;
		return err;
	}
	if ((err = rl_broker_alloc_tables(b)))
		goto fail;
	b->ndom = ndom;
	for (unsigned i = 1; i <= ndom; i++) {
		struct domain *d = &b->dom[i];
		struct rl_manifest_domain *md = &bed->manifest[i];
		snprintf(md->name, sizeof(md->name), "d%u", i);
		md->restart = RL_RESTART_NEVER;
		d->m = md;
		d->id = (uint16_t)i;
		d->broker = b;
		d->pidfd = d->start_pipe = d->devmem_fd = d->channel_fd = -1;
		d->loans_head = UINT32_MAX;
		d->incarnation = 1;
		snprintf(d->name, sizeof(d->name), "d%u", i);
		/* aligned_alloc() takes whole multiples of the alignment. */
		size_t chan_size = (sizeof(struct rl_chan) + 4095) & ~(size_t)4095;
		d->chan = aligned_alloc(4096, chan_size);
		if (!d->chan) {
			err = -ENOMEM;
			goto fail;
		}
		memset(d->chan, 0, sizeof(*d->chan));
		rl_ring_cons_init(&d->tx, &d->chan->tx);
		rl_ring_prod_init(&d->rx, &d->chan->rx);
		rl_ring_prod_init(&bed->side[i].tx, &d->chan->tx);
		rl_ring_cons_init(&bed->side[i].rx, &d->chan->rx);
		atomic_store(&d->state, DOM_RUNNING);
	}
	return 0;
fail:
	t_bed_destroy(bed);
	return err;
}

void t_bed_destroy(struct t_bed *bed)
{
	struct broker *b = bed->b;

	if (!b)
		return;
	for (unsigned i = 1; i <= RL_MAX_DOMAINS; i++) {
		free(b->dom[i].chan);
		free(b->dom[i].backlog.q);
	}
	free(b->conts);
	free(b->expected_borrows);
	rl_heap_destroy(&b->heap);
	free(b);
	bed->b = NULL;
}

struct broker *t_bed_setup(struct t_bed *bed, unsigned ndom, uint64_t heap_bytes)
{
	int err = t_bed_create(bed, ndom, heap_bytes);

	if (err) {
		fprintf(stderr, "cannot create the in-process broker: %s\n", strerror(-err));
		exit(1);
	}
	return bed->b;
}

bool t_bed_audit(struct t_bed *bed, const char *when)
{
	char why[256];

	if (!rl_ownership_audit(bed->b, why, sizeof(why)))
		return true;
	fprintf(stderr, "FAIL: registry audit %s: %s\n", when, why);
	return false;
}

unsigned t_bed_export(struct t_bed *bed, unsigned who, uint16_t iface)
{
	struct domain *d = &bed->b->dom[who];

	d->exports[d->nexports] = iface;
	return d->nexports++;
}

rl_cap t_bed_grant(struct t_bed *bed, unsigned from, unsigned to, uint16_t iface)
{
	const struct domain *t = &bed->b->dom[to];

	for (unsigned i = 0; i < t->nexports; i++)
		if (t->exports[i] == iface)
			return rl_caps_grant(&bed->b->dom[from], (uint16_t)to, (uint8_t)i, iface);
	return RL_CAP_INVALID;
}

bool t_bed_post(struct t_bed *bed, unsigned who, struct rl_msg *m)
{
	m->flags = m->arg[1] | m->arg[2] | m->arg[3] | m->arg[4] ? RL_MSG_F_LONG : 0;
	return rl_ring_write(&bed->side[who].tx, m);
}

unsigned t_bed_run(struct t_bed *bed)
{
	unsigned total = 0, msgs;

	for (unsigned i = 1; i <= bed->b->ndom; i++)
		rl_ring_publish(&bed->side[i].tx);
	while (rl_proxy_pass(bed->b, &msgs))
		total += msgs;
	return total;
}

bool t_bed_take(struct t_bed *bed, unsigned who, struct rl_msg *out)
{
	if (rl_ring_take(&bed->side[who].rx, out) <= 0)
		return false;
	rl_ring_release(&bed->side[who].rx);
	return true;
}

uint64_t t_bed_alloc(struct t_bed *bed, unsigned who, size_t size)
{
	struct broker *b = bed->b;
	int cls = rl_class_for(size);
	uint32_t slot;

	if (cls < 0 || rl_registry_alloc(&b->heap, (unsigned)cls, (uint16_t)who, &slot))
		return 0;
	return rl_rref_to_wire((rl_rref){ .slot = slot, .gen = b->heap.objs[slot].gen });
}
