// SPDX-License-Identifier: MIT
/*
 * bench/ipc's verdicts: one figure per row out of the rounds (--repeat),
 * and the targets (--check) judged on the rounds in which the CPUs held
 * still (judge.c), with their printed list.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ipc.h"
#include "judge.h"
#include "samples.h"

/* ---- rounds (--repeat) ---- */

/*
 * One figure per row out of all rounds: the median of the rounds' medians
 * (and of their p99s and means), the smallest min and the largest max.
 * Placement by the scheduler (and of the VM's vCPUs by the host) shifts
 * whole rows between runs; the median over rounds is what --check judges.
 */
void ipc_rounds_aggregate(struct table *out, const struct table *rounds, unsigned nrounds)
{
	*out = rounds[0];
	for (unsigned i = 0; i < out->n; i++) {
		struct row *r = &out->rows[i];
		double med[MAX_ROUNDS], p99[MAX_ROUNDS], mean[MAX_ROUNDS];
		unsigned k = 0;
		size_t n = 0;
		double lo = 0, hi = 0;
		unsigned pairs = 0;
		for (unsigned j = 0; j < nrounds; j++) {
			const struct row *x = &rounds[j].rows[i];
			if (x->state == ROW_FAILED && r->state != ROW_FAILED) {
				r->state = ROW_FAILED;
				snprintf(r->note, sizeof(r->note), "round %u: %s", j + 1, x->note);
			}
			if (x->state != ROW_MEASURED)
				continue;
			if (!k || x->s.min < lo)
				lo = x->s.min;
			if (!k || x->s.max > hi)
				hi = x->s.max;
			r->round_median[k] = med[k] = x->s.median;
			if (x->pairs) {
				r->round_paired[r->npaired++] = x->paired;
				pairs += x->pairs;
			}
			p99[k] = x->s.p99;
			mean[k] = x->s.mean;
			n += x->s.n;
			k++;
		}
		r->nrounds = k;
		r->pairs = pairs;
		if (r->state == ROW_STARVED && k)
			r->state = ROW_MEASURED; /* measured in the other rounds */
		if (r->state != ROW_MEASURED || !k)
			continue;
		struct rl_stats t;
		if (r->npaired) {
			double v[MAX_ROUNDS];
			memcpy(v, r->round_paired, sizeof(v));
			rl_stats_compute(v, r->npaired, &t);
			r->paired = t.median;
		}
		rl_stats_compute(med, k, &t);
		r->s.median = t.median;
		rl_stats_compute(p99, k, &t);
		r->s.p99 = t.median;
		rl_stats_compute(mean, k, &t);
		r->s.mean = t.median;
		r->s.min = lo;
		r->s.max = hi;
		r->s.n = n;
	}
}

/* ---- targets ---- */

struct check ipc_checks[8];
unsigned ipc_nchecks;

/* Whether a row has a figure for every round (round_median[k] is then round k's). */
static bool every_round(const struct row *r)
{
	return ipc_row_measured(r) && r->nrounds == g.repeat;
}

unsigned ipc_judged_mask; /* the rounds in which the CPUs held still (all when none did) */
bool ipc_judged_steady;

/*
 * ours_id / base_id <= factor, per round, then the median over the judged
 * rounds: every round when the two ran interleaved in time, else those in
 * judged_mask.
 */
static void check_ratio(const char *name, const char *ours_id, struct table *bt, const char *base_id,
			double factor, bool interleaved)
{
	unsigned mask = interleaved ? (1u << g.repeat) - 1 : ipc_judged_mask;
	struct check *c = &ipc_checks[ipc_nchecks++];
	struct row *a = ipc_row_find(&g.ours, ours_id), *b = ipc_row_find(bt, base_id);

	c->interleaved = interleaved;

	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->rule, sizeof(c->rule), "%s <= %.2f x %s", ours_id, factor, base_id);
	if (!ipc_row_measured(a) || !ipc_row_measured(b) || b->s.median <= 0) {
		snprintf(c->why, sizeof(c->why), "not evaluated: a row is missing");
		return;
	}
	if (every_round(a) && every_round(b)) {
		double ratio[MAX_ROUNDS];
		for (unsigned k = 0; k < g.repeat; k++)
			ratio[k] = b->round_median[k] > 0 ? a->round_median[k] / b->round_median[k] : NAN;
		/* Time-shared in every round: each round's ratio is its slot pairs'. */
		if (a->npaired == g.repeat && ipc_pair_of_floor(base_id))
			memcpy(ratio, a->round_paired, sizeof(ratio));
		c->value = rl_judged_median(ratio, g.repeat, mask);
	} else {
		c->value = a->s.median / b->s.median;
	}
	c->evaluated = isfinite(c->value);
	if (!c->evaluated) {
		snprintf(c->why, sizeof(c->why), "not evaluated: a floor measured zero");
		return;
	}
	c->limit = factor;
	c->met = c->value <= factor;
}

void ipc_checks_evaluate(void)
{
	unsigned m = ipc_judged_mask = rl_judged_rounds(g.line_rt, g.repeat, g.usable_cpus >= 2, &ipc_judged_steady);

	/*
	 * A ratio whose two sides ran interleaved in time (a time-shared floor;
	 * take and via shadow in turns with null) saw the same machine on both
	 * sides, whatever the line probes did: every round counts.
	 */
	check_ratio("null call through the broker vs raw 3-process relay", "null", &g.floors, "raw3.b1", 1.25,
		    ipc_pair_of_floor("raw3.b1"));
	check_ratio("moving one RRef vs null call", "take", &g.ours, "null", 1.10, true);
	check_ratio("null call via a shadow vs direct null call", "shadow_null", &g.ours, "null", 2.3, true);
	check_ratio("batch 32 vs raw 3-process relay batch 32", "batch.32", &g.floors, "raw3.b32", 1.25,
		    ipc_pair_of_floor("raw3.b32"));
	check_ratio("batch 128 vs raw 3-process relay batch 128", "batch.128", &g.floors, "raw3.b128", 1.25,
		    ipc_pair_of_floor("raw3.b128"));
	struct check *c = &ipc_checks[ipc_nchecks++];
	struct row *p = ipc_row_find(&g.ours, "pipeline.512");
	snprintf(c->name, sizeof(c->name), "512 outstanding, per call");
	snprintf(c->rule, sizeof(c->rule), "pipeline.512 < 124 cycles");
	if (ipc_row_measured(p)) {
		c->evaluated = true;
		c->value = every_round(p) ? rl_judged_median(p->round_median, g.repeat, m) : p->s.median;
		c->limit = 124;
		c->met = c->value < 124;
	} else {
		snprintf(c->why, sizeof(c->why), "not evaluated: the row is missing");
	}
}

bool ipc_checks_print(void)
{
	bool all = true;

	if (g.repeat == 1)
		printf("\ntargets (this run's figures%s)\n",
		       ipc_judged_steady ? "" : "; the CPUs' distance changed during the run, see above");
	else if (!ipc_judged_steady)
		printf("\ntargets (per round, then the median over all %u rounds: in none of them did the\n"
		       "  CPUs' distance hold still, see above)\n", g.repeat);
	else {
		printf("\ntargets (per round, then the median over the rounds: every round for a ratio\n"
		       "  whose sides ran interleaved in time [i], else rounds");
		for (unsigned k = 0, n = 0; k < g.repeat; k++)
			if (ipc_judged_mask & (1u << k))
				printf("%s%u", n++ ? ", " : " ", k + 1);
		printf(" of %u, those in which the\n  CPUs' distance held still, within %.1fx)\n", g.repeat,
		       RL_JUDGE_STEADY);
	}
	for (unsigned i = 0; i < ipc_nchecks; i++) {
		struct check *c = &ipc_checks[i];
		if (!c->evaluated) {
			printf("  NOT EVALUATED %s: %s\n", c->name, c->why);
			all = false;
			continue;
		}
		bool ratio = c->limit < 10;
		printf("  %-6s %s: %s%.2f (%s)%s\n", c->met ? "MET" : "MISSED", c->name, ratio ? "ratio " : "",
		       c->value, c->rule, c->interleaved ? " [i]" : "");
		all &= c->met;
	}
	return all;
}
