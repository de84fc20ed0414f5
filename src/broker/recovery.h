/* SPDX-License-Identifier: MIT */
/* Recovery: the rest of a death, restarts, and waiting for a domain to run again. See recovery.c. */
#ifndef RL_BROKER_RECOVERY_H
#define RL_BROKER_RECOVERY_H

#include "state.h"

/* The event thread: puts the death's cause (waitid's code and status) into words in d->cause. */
void rl_describe_death(struct domain *d, int code, int status);
/*
 * The proxy thread, after taking the replies d published before dying:
 * fails and frees d's calls, reclaims its objects, and schedules the
 * restart the policy asks for.
 */
void rl_recovery_handle_death(struct broker *b, struct domain *d);
/* Restarts a dead (or never started) domain now; 0 or a negative errno (-EBUSY: it runs). */
int rl_recovery_restart(struct broker *b, struct domain *d);
/*
 * Runs restarts whose time has come and times out waiters whose deadline
 * passed; returns ns until the next such event (UINT64_MAX if none).
 */
uint64_t rl_recovery_tick(struct broker *b, uint64_t now);
/* Ns from now until the next restart or waiter deadline still ahead (UINT64_MAX if none); *due: one's time has come. */
uint64_t rl_recovery_next(const struct broker *b, uint64_t now, bool *due);
/* The first reply of a restarted domain: it serves again (its recovery time is recorded). */
void rl_recovery_serving(struct broker *b, struct domain *d);

/* d's next standby is to be prepared at `at` (rl_now_ns()), or earlier if already due sooner. */
void rl_recovery_schedule_standby(struct broker *b, struct domain *d, uint64_t at);

/* Looks at the standbys whose pidfd fired (the event thread raised them); returns the work done. */
unsigned rl_recovery_standby_events(struct broker *b);
/*
 * RL_SYS_WAIT_ALIVE: complete at once if running, else when restarted (0),
 * given up (-EHOSTDOWN) or at deadline_ns on rl_now_ns()'s clock (-ETIMEDOUT;
 * 0 = no deadline).
 */
void rl_recovery_wait_alive(struct broker *b, struct domain *waiter, uint64_t tag, struct domain *target,
			    uint64_t deadline_ns);

#endif /* RL_BROKER_RECOVERY_H */
