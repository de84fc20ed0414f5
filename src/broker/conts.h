/* SPDX-License-Identifier: MIT */
/*
 * Continuations: one per call in flight, naming its caller and callee, the
 * caller's tag and the objects it lends, so the broker can complete or undo
 * it when either side dies. A callee's reply names its continuation by a
 * tag of index and generation; a stale or forged tag names nothing. Calls
 * that lend are also listed per callee (loans), so a callee may re-lend
 * what it was lent. Inline: every call and reply takes and ends one.
 */
#ifndef RL_BROKER_CONTS_H
#define RL_BROKER_CONTS_H

#include "deadlines.h"
#include "state.h"

/* Lists continuation idx, which lends objects, under its callee: what the callee may re-lend. */
static inline void rl_conts_loan_link(struct broker *b, struct domain *callee, uint32_t idx)
{
	struct cont *c = &b->conts[idx];
	c->loan_prev = UINT32_MAX;
	c->loan_next = callee->loans_head;
	if (callee->loans_head != UINT32_MAX)
		b->conts[callee->loans_head].loan_prev = idx;
	callee->loans_head = idx;
}

static inline void rl_conts_loan_unlink(struct broker *b, uint32_t idx)
{
	struct cont *c = &b->conts[idx];
	struct domain *callee = &b->dom[c->callee];
	if (c->loan_prev != UINT32_MAX)
		b->conts[c->loan_prev].loan_next = c->loan_next;
	else
		callee->loans_head = c->loan_next;
	if (c->loan_next != UINT32_MAX)
		b->conts[c->loan_next].loan_prev = c->loan_prev;
}

/* A free continuation, in use from now on; UINT32_MAX when the table is full. */
static inline uint32_t rl_conts_alloc(struct broker *b)
{
	uint32_t idx = b->cont_free;

	if (idx == UINT32_MAX)
		return idx;
	struct cont *c = &b->conts[idx];
	b->cont_free = c->next_free;
	c->used = 1;
	c->caller_dead = 0;
	c->timed_out = 0;
	c->nborrow = 0;
	c->dl_pos = UINT32_MAX;
	return idx;
}

/* Ends continuation idx: its loans end (borrow counts drop), its generation moves on. */
RL_HOT void rl_conts_free(struct broker *b, uint32_t idx)
{
	struct cont *c = &b->conts[idx];

	if (c->nborrow)
		rl_conts_loan_unlink(b, idx);
	if (__builtin_expect(c->dl_pos != UINT32_MAX, 0))
		rl_deadlines_remove(b, idx);
	for (unsigned k = 0; k < c->nborrow; k++) {
		rl_registry_unborrow(&b->heap, c->borrow[k]);
		b->expected_borrows[c->borrow[k]]--;
	}
	c->nborrow = 0;
	c->used = 0;
	c->gen++;
	c->next_free = b->cont_free;
	b->cont_free = idx;
}

/* The continuation a reply's tag names (index and generation), or NULL for a stale or forged tag. */
static inline struct cont *rl_conts_from_tag(struct broker *b, uint64_t tag, uint32_t *idx)
{
	uint32_t i = (uint32_t)tag;

	if (i >= RL_MAX_CONTS)
		return NULL;
	struct cont *c = &b->conts[i];
	if (!c->used || c->gen != (uint32_t)(tag >> 32))
		return NULL;
	*idx = i;
	return c;
}

/* Is slot lent to d by a call d is serving right now? (re-lending a borrowed object) */
bool rl_conts_holds_loan(struct broker *b, const struct domain *d, uint32_t slot);

#endif /* RL_BROKER_CONTS_H */
