// SPDX-License-Identifier: MIT
/*
 * The broker's services to domains (RL_MSG_SYS): heap magazines granted and
 * given back, an audit of the registry, and waiting until a domain runs
 * again. Every argument comes from the domain and is checked here.
 */
#include <errno.h>
#include <string.h>

#include "caps.h"
#include "deliver.h"
#include "ownership.h"
#include "recovery.h"
#include "service.h"

void rl_service_handle(struct broker *b, struct domain *d, const struct rl_msg *m)
{
	struct rl_msg done = { .kind = RL_MSG_SYS_DONE, .method = m->method, .tag = m->tag };

	switch (m->method) {
	case RL_SYS_REFILL: {
		uint64_t cls = m->arg[0], want = m->arg[1];
		if (cls >= RL_NCLASSES || !want || want > RL_GRANT_MAX)
			return rl_deliver_reject(b, d, m, -EINVAL);
		unsigned n = 0;
		uint32_t slot;
		while (n < want && !rl_registry_alloc(&b->heap, (unsigned)cls, d->id, &slot))
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
