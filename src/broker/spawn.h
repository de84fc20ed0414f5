/* SPDX-License-Identifier: MIT */
/* Starting a domain's process (see spawn.c for what the child sets up). */
#ifndef RL_BROKER_SPAWN_H
#define RL_BROKER_SPAWN_H

#include <stddef.h>

#include "state.h"

/*
 * Starts d's process; 0 or a negative errno. With wait, returns once the
 * process has exec'd its binary (or failed to, which is then the error);
 * without, right after the fork, leaving d->start_pipe for
 * rl_spawn_failure().
 */
int rl_spawn_domain(struct broker *b, struct domain *d, bool wait);
/* Starts d's standby (d->standby) unless it has one; 0 or a negative errno. */
int rl_spawn_standby(struct broker *b, struct domain *d);
/* Makes d's standby its running process (channel reset first); -ENOENT when it has none. */
int rl_spawn_activate(struct broker *b, struct domain *d);
/* Closes what the broker holds of a process that is gone (or never was). */
void rl_spawn_close_proc(struct rl_proc *proc);
/*
 * After a process with status pipe *status_fd was reaped: replaces its
 * (code, status) by the domain's own, where an init stood between; closes
 * the pipe.
 */
void rl_spawn_reaped(int *status_fd, int *code, int *status);

/*
 * Kills d's process behind pidfd (the running one or its standby) with
 * SIGKILL. With a namespace of its own, the init is asked to do it, so the
 * domain is reaped by its parent and its CPU time is counted (a killed init
 * takes the time of what it leaves with it); the process still ends
 * "killed by signal KILL". 0 or a negative errno.
 */
int rl_spawn_kill(const struct domain *d, int pidfd);
/* After a process of d with start pipe *start_pipe ended: why it could not start, or NULL if it did start. */
const char *rl_spawn_failure(const struct domain *d, int *start_pipe, char *buf, size_t len);

#endif /* RL_BROKER_SPAWN_H */
