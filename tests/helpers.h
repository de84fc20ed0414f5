/* SPDX-License-Identifier: MIT */
/* Test helpers: assertions that report and fail, skip with a reason. */
#ifndef RL_TEST_HELPERS_H
#define RL_TEST_HELPERS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define T_SKIP 77

static int t_failed;

#define t_assert(cond)                                                                     \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			t_failed = 1;                                                      \
		}                                                                          \
	} while (0)

#define t_assert_eq(a, b)                                                                  \
	do {                                                                               \
		long long t_a = (long long)(a), t_b = (long long)(b);                      \
		if (t_a != t_b) {                                                          \
			fprintf(stderr, "FAIL %s:%d: %s == %lld, expected %lld\n", __FILE__, \
				__LINE__, #a, t_a, t_b);                                   \
			t_failed = 1;                                                      \
		}                                                                          \
	} while (0)

/* Equality that ends the test at once, with both values in hex (layout and table checks). */
#define T_EQ(a, b)                                                                      \
	do {                                                                            \
		unsigned long long t_a = (unsigned long long)(a);                       \
		unsigned long long t_b = (unsigned long long)(b);                       \
		if (t_a != t_b) {                                                       \
			fprintf(stderr, "%s:%d: %s == %s failed: 0x%llx != 0x%llx\n",     \
				__FILE__, __LINE__, #a, #b, t_a, t_b);                  \
			exit(1);                                                        \
		}                                                                       \
	} while (0)

static inline int t_result(void)
{
	return t_failed ? 1 : 0;
}

/* Counted checks with a printf-style message: t_checks made, t_failures failed. */
static unsigned t_failures __attribute__((unused)), t_checks __attribute__((unused));

static inline void t_check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void t_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	t_checks++;
	if (ok)
		return;
	t_failures++;
	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#endif
