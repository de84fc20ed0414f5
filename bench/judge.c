// SPDX-License-Identifier: MIT
/* Which rounds bench/ipc judges its targets on: see judge.h. */
#include <math.h>

#include "judge.h"
#include "samples.h"

unsigned rl_judged_rounds(const double probe[][3], unsigned nrounds, bool have_probes, bool *steady)
{
	unsigned mask = 0;

	if (nrounds > RL_JUDGE_MAX_ROUNDS)
		nrounds = RL_JUDGE_MAX_ROUNDS;
	for (unsigned k = 0; k < nrounds; k++) {
		double lo = probe[k][0], hi = lo;
		for (unsigned i = 1; i < 3; i++) {
			lo = fmin(lo, probe[k][i]);
			hi = fmax(hi, probe[k][i]);
		}
		if (!have_probes || (lo > 0 && hi <= RL_JUDGE_STEADY * lo))
			mask |= 1u << k;
	}
	*steady = mask != 0;
	return mask ? mask : (1u << nrounds) - 1;
}

double rl_judged_median(const double *v, unsigned nrounds, unsigned mask)
{
	double use[RL_JUDGE_MAX_ROUNDS];
	unsigned n = 0;

	for (unsigned k = 0; k < nrounds && k < RL_JUDGE_MAX_ROUNDS; k++) {
		if (!(mask & (1u << k)))
			continue;
		if (isnan(v[k]))
			return NAN;
		use[n++] = v[k];
	}
	struct rl_stats st;
	if (!n || rl_stats_compute(use, n, &st))
		return NAN;
	return st.median;
}
