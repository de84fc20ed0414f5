// SPDX-License-Identifier: MIT
/*
 * The broker's services to domains (RL_MSG_SYS): heap magazines granted and
 * given back, an audit of the registry, and waiting until a domain runs
 * again. Every argument comes from the domain and is checked here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "caps.h"
#include "deliver.h"
#include "ownership.h"
#include "recovery.h"
#include "service.h"

/* Takes one of d's audits (a token bucket: RL_AUDIT_BURST, refilled at audits_per_s); false when none is left. */
static bool audit_allowed(struct domain *d)
{
	if (!d->audits_per_s) /* not set up by rl_quota_init() (the test bed): no limit */
		return true;
	uint64_t now = rl_now_ns();
	if (d->audit_refill_ns) {
		uint64_t dt = now - d->audit_refill_ns;
		if (dt > 100000000000ull) /* long idle: the bucket is full anyway; no overflow below */
			dt = 100000000000ull;
		uint64_t tokens = d->audit_tokens + dt * d->audits_per_s / 1000000; /* 1/1000 audits */
		d->audit_tokens = tokens > RL_AUDIT_BURST * 1000 ? RL_AUDIT_BURST * 1000 : (uint32_t)tokens;
	}
	d->audit_refill_ns = now;
	if (d->audit_tokens < 1000)
		return false;
	d->audit_tokens -= 1000;
	return true;
}

static void heap_quota_hit(struct broker *b, struct domain *d, unsigned cls)
{
	const struct rl_heap *h = &b->heap;
	char what[160];

	snprintf(what, sizeof(what),
		 "holds %u objects (%llu bytes), %u of %u-byte class (at most %u); refills get -EDQUOT",
		 h->own_objects[d->id], (unsigned long long)h->own_bytes[d->id], h->own_class[d->id][cls],
		 rl_class_size(cls), d->heap_class_max[cls]);
	rl_quota_hit(b, d, RL_QUOTA_HEAP, what);
}

void rl_service_handle(struct broker *b, struct domain *d, const struct rl_msg *m)
{
	struct rl_msg done = { .kind = RL_MSG_SYS_DONE, .method = m->method, .tag = m->tag };

	switch (m->method) {
	case RL_SYS_REFILL: {
		uint64_t cls = m->arg[0], want = m->arg[1];
		if (cls >= RL_NCLASSES || !want || want > RL_GRANT_MAX)
			return rl_deliver_reject(b, d, m, -EINVAL);
		/* The quota is checked here, where the heap is granted: a domain over it gets -EDQUOT. */
		uint64_t room = rl_quota_heap_room(b, d, (unsigned)cls, want);
		if (!room) {
			heap_quota_hit(b, d, (unsigned)cls);
			done.status = -EDQUOT;
			break;
		}
		unsigned n = 0;
		uint32_t slot;
		while (n < room && !rl_registry_alloc(&b->heap, (unsigned)cls, d->id, &slot))
			d->chan->ctl.grant[n++] = slot;
		done.status = n ? (int)n : -ENOMEM;
		break;
	}
	case RL_SYS_FREE: {
		uint64_t count = m->arg[0];
		uint64_t handles[RL_GRANT_MAX];
		if (count > RL_GRANT_MAX)
			return rl_deliver_reject(b, d, m, -EINVAL);
		memcpy(handles, d->chan->ctl.give_back, count * sizeof(uint64_t));
		int freed = 0, err = 0;
		for (uint64_t i = 0; i < count; i++) {
			rl_rref r = rl_rref_from_wire(handles[i]);
			struct rl_obj *o = rl_registry_resolve(&b->heap, r, &err);
			if (!o || o->state != RL_OBJ_OWNED || o->owner != d->id || o->borrows) {
				rl_stat_inc(&d->rejected);
				continue;
			}
			rl_registry_free(&b->heap, r.slot);
			freed++;
		}
		done.status = freed;
		break;
	}
	case RL_SYS_WAIT_ALIVE: {
		int err;
		struct cap_entry *c = rl_caps_resolve(d, (rl_cap)m->arg[0], &err);
		if (!c && err == -ESTALE) /* a stale handle still names its slot */
			c = &d->caps[m->arg[0] & 0xffff];
		if (!c || m->arg[0] > UINT32_MAX)
			return rl_deliver_reject(b, d, m, -EBADF);
		rl_recovery_wait_alive(b, d, m->tag, &b->dom[c->target], m->arg[1]);
		return;
	}
	case RL_SYS_AUDIT: {
		char why[256];
		/* A scan of the whole registry on the proxy thread: a domain gets a few a second, not a flood. */
		if (!audit_allowed(d)) {
			char what[96];
			snprintf(what, sizeof(what), "more than %u a second (after %u at once) get -EAGAIN",
				 d->audits_per_s, RL_AUDIT_BURST);
			rl_quota_hit(b, d, RL_QUOTA_AUDITS, what);
			return rl_deliver_reject(b, d, m, -EAGAIN);
		}
		done.status = rl_ownership_audit(b, why, sizeof(why));
		if (done.status)
			rl_broker_log(b, "%s: registry audit failed: %s", d->name, why);
		break;
	}
	default:
		return rl_deliver_reject(b, d, m, -ENOSYS);
	}
	rl_deliver(b, d, &done);
}
