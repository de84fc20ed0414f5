/* SPDX-License-Identifier: MIT */
/* The control commands and crash injection, on the event thread. See commands.c. */
#ifndef RL_BROKER_COMMANDS_H
#define RL_BROKER_COMMANDS_H

#include <stddef.h>

#include "../ctl_proto.h"
#include "state.h"

/* A growable text answer (buf is malloc'd; NULL until something is written). */
struct rl_text {
	char *buf;
	size_t len, cap;
};

/* Carries out request r (decoded and checked); writes the answer into o. 0 or a negative errno. */
int rl_commands_run(struct broker *b, const struct rl_ctl_request *r, struct rl_text *o);

/* The injector's timer (for `crash --every`): its descriptor to poll, or a negative errno. */
int rl_commands_injector_open(void);
/* The timer fired: injects the next crash. */
void rl_commands_injector_tick(struct broker *b);
void rl_commands_injector_close(void);

#endif /* RL_BROKER_COMMANDS_H */
