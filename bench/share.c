// SPDX-License-Identifier: MIT
/* Time-sharing a comparison between a floor and one of our rows: see share.h. */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "samples.h"
#include "share.h"

#define MAX_PAIRS 4096

uint64_t rl_share_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void rl_share_init(struct rl_share *s, uint64_t t0_ns, uint64_t slot_ns, unsigned first, unsigned end,
		   unsigned side)
{
	*s = (struct rl_share){ .t0_ns = t0_ns, .slot_ns = slot_ns, .first = first & ~1u, .end = end,
				.side = side & 1, .slot = -1, .warm = -1 };
}

bool rl_share_enter(struct rl_share *s)
{
	for (;;) {
		uint64_t now = rl_share_now_ns();
		uint64_t next; /* the side's next slot to sleep until */
		if (now < s->t0_ns) {
			next = s->first + s->side;
		} else {
			uint64_t cur = (now - s->t0_ns) / s->slot_ns;
			uint64_t cur_end = s->t0_ns + (cur + 1) * s->slot_ns;
			if (cur >= s->end)
				return false;
			if (cur >= s->first && cur % 2 == s->side && cur_end - now > RL_SHARE_GUARD_NS) {
				if ((long)cur != s->slot) {
					s->slot = (long)cur;
					s->slot_end_ns = cur_end;
					s->started = 0;
					if (s->warm < 0)
						s->warm = (long)cur;
				}
				s->started++;
				return true;
			}
			if (cur < s->first)
				next = s->first + s->side;
			else
				next = cur % 2 == s->side ? cur + 2 : cur + 1;
		}
		if (next >= s->end)
			return false;
		uint64_t at = s->t0_ns + next * s->slot_ns;
		struct timespec ts = { (time_t)(at / 1000000000ull), (long)(at % 1000000000ull) };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL); /* EINTR: look again */
	}
}

bool rl_share_keep(struct rl_share *s)
{
	if (rl_share_now_ns() > s->slot_end_ns)
		return false;
	return s->slot != s->warm && s->started > RL_SHARE_SKIP;
}

size_t rl_share_slot_medians(double *v, const uint32_t *slot, size_t n, struct rl_slot_median *out,
			     size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < max;) {
		size_t j = i + 1;
		while (j < n && slot[j] == slot[i])
			j++;
		struct rl_stats st;
		rl_stats_compute(v + i, j - i, &st);
		out[k++] = (struct rl_slot_median){ .slot = slot[i], .n = (uint32_t)(j - i), .median = st.median };
		i = j;
	}
	return k;
}

double rl_share_paired(const struct rl_slot_median *ours, size_t nours, const struct rl_slot_median *floor,
		       size_t nfloor, unsigned *pairs)
{
	double ratio[MAX_PAIRS];
	size_t n = 0, f = 0;

	for (size_t i = 0; i < nours && n < MAX_PAIRS; i++) {
		if (ours[i].n < RL_SHARE_MIN_SAMPLES || !ours[i].slot)
			continue;
		while (f < nfloor && floor[f].slot < ours[i].slot - 1)
			f++;
		if (f < nfloor && floor[f].slot == ours[i].slot - 1 && floor[f].n >= RL_SHARE_MIN_SAMPLES &&
		    floor[f].median > 0)
			ratio[n++] = ours[i].median / floor[f].median;
	}
	*pairs = (unsigned)n;
	struct rl_stats st;
	if (!n || rl_stats_compute(ratio, n, &st))
		return NAN;
	return st.median;
}
