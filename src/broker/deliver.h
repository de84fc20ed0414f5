/* SPDX-License-Identifier: MIT */
/*
 * Delivery: everything the broker sends a domain goes through a private
 * stage per proxy thread and then into the domain's rx ring, or behind what
 * waits in its backlog when the ring is full. The stage's hot half (taking
 * an entry, completing a call) is inline here, for the call path.
 */
#ifndef RL_BROKER_DELIVER_H
#define RL_BROKER_DELIVER_H

#include "state.h"

/* local-exec: the broker's library is linked into executables only, so no __tls_get_addr. */
#define RL_PROXY_TLS _Thread_local __attribute__((tls_model("local-exec")))

/*
 * Outgoing messages are built in a private stage and go to the rings in
 * one tight loop (rl_deliver_flush) every RL_RING_FORWARD_PUBLISH messages, so a
 * stream still reaches its consumer in pieces, and at the end of each batch
 * a domain's tx ring gave us. Writing a slot takes its line from
 * the consumer's CPU; done in the middle of validating, each such transfer
 * stalled every store behind it, while in a loop of copies they overlap.
 * Each proxy thread has its own stage. Whoever fills an entry sets its
 * first 32 bytes, and all 64 with RL_MSG_F_LONG (set when an argument word
 * past the first may be non-zero): entries are reused across domains, and
 * only a long entry's second half goes out.
 */
struct rl_stage {
	_Alignas(64) struct rl_msg msg[RL_RING_FORWARD_PUBLISH];
	struct domain *to[RL_RING_FORWARD_PUBLISH];
	unsigned n;
	bool mixed;    /* entries for more than one domain */
	uint8_t flags; /* every entry's flags together */
};
extern RL_PROXY_TLS struct rl_stage rl_stage;

/* Sends everything staged (each run of entries for one ring under its lock with several proxy threads). */
void rl_deliver_flush(struct broker *b);

/* The stage entry to build d's next message in; rl_deliver_done() queues it. */
static inline struct rl_msg *rl_deliver_slot(struct broker *b, struct domain *d)
{
	if (rl_stage.n == RL_RING_FORWARD_PUBLISH)
		rl_deliver_flush(b);
	rl_stage.to[rl_stage.n] = d;
	rl_stage.mixed |= d != rl_stage.to[0];
	return &rl_stage.msg[rl_stage.n];
}

static inline void rl_deliver_done(void)
{
	rl_stage.flags |= rl_stage.msg[rl_stage.n].flags;
	rl_stage.n++;
}

/* Completes the call tagged tag at caller (if it still runs): status, result word, flags. */
RL_HOT void rl_deliver_complete(struct broker *b, struct domain *caller, uint64_t tag, int status, uint64_t ret,
				uint8_t flags)
{
	if (atomic_load_explicit(&caller->state, memory_order_relaxed) != DOM_RUNNING)
		return;
	struct rl_msg *m = rl_deliver_slot(b, caller);
	m->kind = RL_MSG_COMPLETE;
	m->flags = flags & (uint8_t)~RL_MSG_F_LONG; /* short: arg[1..4] are not sent */
	m->method = 0;
	m->cap = 0;
	m->tag = tag;
	m->status = status;
	m->aux = 0;
	m->arg[0] = ret;
	rl_deliver_done();
}

/* Queues a copy of m for d, short (one ring unit) unless an argument word past the first is set. */
void rl_deliver(struct broker *b, struct domain *d, const struct rl_msg *m);
/* Answers m (a call or service request of d's) with err, flagged as the broker's answer. */
void rl_deliver_reject(struct broker *b, struct domain *d, const struct rl_msg *m, int err);
/* Completes d's service request tagged tag with status. */
void rl_deliver_sys_done(struct broker *b, struct domain *d, uint64_t tag, int status);

/* One proxy thread: moves what waits in d's backlog into its ring, and publishes d's ring. */
void rl_deliver_flush_backlog(struct domain *d);
void rl_deliver_publish(struct domain *d);
/*
 * Several proxy threads: publishes every rx ring this thread wrote, each
 * under its lock, and retries their backlogs; a ring whose backlog still
 * waits stays on this thread's list (rl_deliver_touched_waiting()).
 */
void rl_deliver_publish_touched(struct broker *b);
bool rl_deliver_touched_waiting(void);

#endif /* RL_BROKER_DELIVER_H */
