/* SPDX-License-Identifier: MIT */
/* The clock every domain and the broker agree on (deadlines cross domains). */
#ifndef REDLEAF_CLOCK_H
#define REDLEAF_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline uint64_t rl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* REDLEAF_CLOCK_H */
