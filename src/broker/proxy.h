/* SPDX-License-Identifier: MIT */
/* The proxy threads' loop. See proxy.c. */
#ifndef RL_BROKER_PROXY_H
#define RL_BROKER_PROXY_H

#include <stddef.h>

#include "state.h"

/* A proxy thread; arg is its struct rl_proxy_worker. */
void *rl_proxy_thread(void *arg);
/* The locks more than one proxy thread needs (b->nworkers set); 0 or a negative errno. */
int rl_proxy_init_locks(struct broker *b);
/*
 * One pass of the only proxy thread over every domain: handles deaths seen,
 * drains, validates and forwards every tx ring, and publishes what it
 * delivered. Returns the work done (messages and deaths); *msgs = messages.
 */
unsigned rl_proxy_pass(struct broker *b, unsigned *msgs);

struct rl_proxy_load {
	uint64_t messages; /* taken from domains' tx rings */
	uint64_t busy_ns;  /* spent in passes that found work, summed over the proxy threads */
	uint64_t up_ns;    /* since the proxy thread started */
};

/* A snapshot of the proxy threads' load (summed), from any thread. */
void rl_proxy_load(struct broker *b, struct rl_proxy_load *l);
/*
 * Finishes every death seen but not yet handled, then audits the registry
 * (rl_ownership_audit). On a proxy thread, or once they have stopped.
 */
int rl_proxy_audit(struct broker *b, char *why, size_t whylen);

#endif /* RL_BROKER_PROXY_H */
