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
/*
 * Logs what d wrote to its stdout and stderr (rate-limited, escaped, line
 * by line as "[name] text"): a share of it, or with to_end all of it and
 * then closes the pipe (epfd: the loop's, or -1 when there is none).
 */
void rl_control_output(struct broker *b, struct domain *d, int epfd, bool to_end);

#endif /* RL_BROKER_CONTROL_H */
