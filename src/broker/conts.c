// SPDX-License-Identifier: MIT
/* Continuations: the loans a callee holds. See conts.h. */
#include "conts.h"

bool rl_conts_holds_loan(struct broker *b, const struct domain *d, uint32_t slot)
{
	for (uint32_t i = d->loans_head; i != UINT32_MAX; i = b->conts[i].loan_next) {
		const struct cont *c = &b->conts[i];
		for (unsigned k = 0; k < c->nborrow; k++)
			if (c->borrow[k] == slot)
				return true;
	}
	return false;
}
