// SPDX-License-Identifier: MIT
/* Call deadlines: a min-heap of continuations by time. See deadlines.h. */
#include <errno.h>
#include <stdlib.h>

#include "deadlines.h"
#include "deliver.h"

static void place(struct broker *b, uint32_t pos, struct rl_deadline e)
{
	b->deadlines[pos] = e;
	b->conts[e.ci].dl_pos = pos;
}

static void sift_up(struct broker *b, uint32_t pos, struct rl_deadline e)
{
	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (b->deadlines[parent].at <= e.at)
			break;
		place(b, pos, b->deadlines[parent]);
		pos = parent;
	}
	place(b, pos, e);
}

static void sift_down(struct broker *b, uint32_t pos, struct rl_deadline e)
{
	for (;;) {
		uint32_t child = 2 * pos + 1;
		if (child >= b->ndeadlines)
			break;
		if (child + 1 < b->ndeadlines && b->deadlines[child + 1].at < b->deadlines[child].at)
			child++;
		if (e.at <= b->deadlines[child].at)
			break;
		place(b, pos, b->deadlines[child]);
		pos = child;
	}
	place(b, pos, e);
}

int rl_deadlines_add(struct broker *b, uint32_t ci, uint64_t at)
{
	/* At most one entry per continuation: RL_MAX_CONTS bounds the heap. */
	if (!b->deadlines && !(b->deadlines = calloc(RL_MAX_CONTS, sizeof(*b->deadlines))))
		return -ENOMEM;
	sift_up(b, b->ndeadlines++, (struct rl_deadline){ .at = at, .ci = ci });
	return 0;
}

void rl_deadlines_remove(struct broker *b, uint32_t ci)
{
	uint32_t pos = b->conts[ci].dl_pos;

	b->conts[ci].dl_pos = UINT32_MAX;
	if (pos >= b->ndeadlines)
		return;
	struct rl_deadline last = b->deadlines[--b->ndeadlines];
	if (pos == b->ndeadlines)
		return;
	/* The last entry fills the hole, then moves whichever way its time says. */
	if (pos > 0 && last.at < b->deadlines[(pos - 1) / 2].at)
		sift_up(b, pos, last);
	else
		sift_down(b, pos, last);
}

unsigned rl_deadlines_expire(struct broker *b, uint64_t now, uint64_t *next)
{
	unsigned n = 0;

	while (b->ndeadlines && b->deadlines[0].at <= now) {
		uint32_t ci = b->deadlines[0].ci;
		struct cont *c = &b->conts[ci];
		rl_deadlines_remove(b, ci);
		if (c->caller_dead)
			continue;
		struct domain *caller = &b->dom[c->caller];
		rl_deliver_complete(b, caller, c->caller_tag, -ETIMEDOUT, 0, RL_MSG_F_BROKER);
		if (caller->outstanding)
			caller->outstanding--;
		/* From here on the call is the callee's alone: its reply is dropped like one to a dead caller. */
		c->caller_dead = 1;
		c->timed_out = 1;
		rl_stat_inc(&caller->timeouts);
		n++;
	}
	*next = rl_deadlines_next(b, now);
	return n;
}
