/* SPDX-License-Identifier: MIT */
/* The event thread: the control socket, signals, and reaping dead domains. See control.c. */
#ifndef RL_BROKER_CONTROL_H
#define RL_BROKER_CONTROL_H

#include "state.h"

/* Opens b->socket_path (refusing a live broker's socket); 0 or a negative errno after saying why. */
int rl_control_open(struct broker *b);
/* The event thread's loop; returns when the broker stops. */
void rl_control_loop(struct broker *b);
void rl_control_close(struct broker *b);

#endif /* RL_BROKER_CONTROL_H */
