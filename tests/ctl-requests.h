/* SPDX-License-Identifier: MIT */
/* Test helpers for the control protocol (src/ctl_proto.h): valid requests to start from. */
#ifndef RL_TEST_CTL_REQUESTS_H
#define RL_TEST_CTL_REQUESTS_H

#include <stdio.h>
#include <stdlib.h>

#include "ctl_proto.h"

/* req (its body filled in) encoded for op and flags; a refusal ends the test: it is the test's mistake. */
static inline struct rl_ctl_request t_ctl_encoded(struct rl_ctl_request req, enum rl_ctl_op op, uint32_t flags)
{
	char err[256];

	if (rl_ctl_encode(&req, op, flags, err, sizeof(err))) {
		fprintf(stderr, "FAIL: the encoder refuses op %d: %s\n", (int)op, err);
		exit(1);
	}
	return req;
}

/* A domain name into a name field; a refusal ends the test. */
static inline void t_ctl_name(char dst[RL_NAME_MAX], const char *name)
{
	char err[256];

	if (rl_ctl_name_set(dst, name, err, sizeof(err))) {
		fprintf(stderr, "FAIL: %s\n", err);
		exit(1);
	}
}

#endif
