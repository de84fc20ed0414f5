/* SPDX-License-Identifier: MIT */
/* Assertions for test domains: log the failing expression, count, go on. */
#ifndef RL_DOMAIN_CHECK_H
#define RL_DOMAIN_CHECK_H

#include "redleaf/domain.h"

static unsigned t_failures, t_checks;

#define T_CHECK(cond)                                                                   \
	do {                                                                            \
		t_checks++;                                                             \
		if (!(cond)) {                                                          \
			t_failures++;                                                   \
			rl_log("FAIL %s:%d: %s", __FILE__, __LINE__, #cond);            \
		}                                                                       \
	} while (0)

#define T_EQ(a, b)                                                                      \
	do {                                                                            \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                 \
		t_checks++;                                                             \
		if (t_a_ != t_b_) {                                                     \
			t_failures++;                                                   \
			rl_log("FAIL %s:%d: %s == %lld, expected %s == %lld", __FILE__, \
			       __LINE__, #a, t_a_, #b, t_b_);                           \
		}                                                                       \
	} while (0)

static inline int t_report(void)
{
	rl_log("%u checks, %u failed", t_checks, t_failures);
	return t_failures ? 1 : 0;
}

#endif
