// SPDX-License-Identifier: MIT
/* TSC calibration for the harness (see tsc.h). */
#include <time.h>

#include "tsc.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One (tsc, ns) pair whose TSC bracket is the tightest of a few tries. */
static void stamp(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 16; i++) {
		uint64_t a = rl_tsc_begin();
		uint64_t n = mono_ns();
		uint64_t b = rl_tsc_end();
		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			*ns = n;
		}
	}
}

double rl_tsc_calibrate(uint64_t window_ns)
{
	uint64_t t0, n0, t1, n1;
	struct timespec nap = { (time_t)(window_ns / 1000000000ull), (long)(window_ns % 1000000000ull) };

	stamp(&t0, &n0);
	nanosleep(&nap, NULL);
	stamp(&t1, &n1);
	if (n1 <= n0)
		return 0;
	return (double)(t1 - t0) * 1e9 / (double)(n1 - n0);
}
