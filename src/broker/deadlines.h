/* SPDX-License-Identifier: MIT */
/*
 * Call deadlines (manifest: an import's `deadline`): a call through such a
 * capability that has no reply by then completes for its caller with
 * -ETIMEDOUT. Its continuation stays until the callee answers or dies: a
 * late reply is dropped (objects it returns are freed) and the objects the
 * call lent stay lent until then, so the callee never sees them change
 * hands under it. A min-heap by time over the continuations that have a
 * deadline; each knows its place, so a reply removes it in O(log n).
 */
#ifndef RL_BROKER_DEADLINES_H
#define RL_BROKER_DEADLINES_H

#include "state.h"

/* Continuation ci times out at `at` (rl_now_ns()); 0, or -ENOMEM for the heap's first allocation. */
int rl_deadlines_add(struct broker *b, uint32_t ci, uint64_t at);

/* Continuation ci ended (reply, death): no deadline any more. */
void rl_deadlines_remove(struct broker *b, uint32_t ci);

/*
 * Completes, with -ETIMEDOUT, every call whose deadline is at or before
 * now; *next = ns until the next deadline (UINT64_MAX when none). Returns
 * how many timed out.
 */
unsigned rl_deadlines_expire(struct broker *b, uint64_t now, uint64_t *next);

/* ns until the next deadline (0 when one is due), UINT64_MAX when none. */
static inline uint64_t rl_deadlines_next(const struct broker *b, uint64_t now)
{
	if (!b->ndeadlines)
		return UINT64_MAX;
	return b->deadlines[0].at > now ? b->deadlines[0].at - now : 0;
}

#endif /* RL_BROKER_DEADLINES_H */
