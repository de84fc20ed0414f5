/* SPDX-License-Identifier: MIT */
/* The call path: draining a domain's tx ring into calls, replies and service requests. See calls.c. */
#ifndef RL_BROKER_CALLS_H
#define RL_BROKER_CALLS_H

#include "state.h"

/*
 * Takes a batch from d's tx ring and handles every message in it: calls are
 * validated and forwarded, replies complete their calls, service requests
 * are served. Returns the messages taken.
 */
unsigned rl_calls_drain(struct broker *b, struct domain *d);

/* A dead domain's last words: the replies it published before dying still complete their calls. */
void rl_calls_take_replies(struct broker *b, struct domain *d);

#endif /* RL_BROKER_CALLS_H */
