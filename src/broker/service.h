/* SPDX-License-Identifier: MIT */
/* The broker's services to domains (RL_MSG_SYS). See service.c. */
#ifndef RL_BROKER_SERVICE_H
#define RL_BROKER_SERVICE_H

#include "state.h"

/* Serves d's service request m (a private copy) and completes it, or rejects it. */
void rl_service_handle(struct broker *b, struct domain *d, const struct rl_msg *m);

#endif /* RL_BROKER_SERVICE_H */
