// SPDX-License-Identifier: MIT
/*
 * What a run's output says (run.h): the broker's log lines, recbench's
 * RECBENCH lines and `redleaf ps --json`, and the summary of a run.
 * Everything parsed here comes from processes we started, but it is still
 * parsed defensively: a malformed line is ignored, never trusted.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define STALL_MATCH_SLACK_NS 1500000ll /* alignment error allowed when matching a stall to a crash */

void rec_run_reset(struct rec_run *r)
{
	const char *mode = r->mode;
	bool crash = r->crash;
	unsigned batch = r->batch;
	const char *driver = r->driver;
	unsigned round = r->round;
	double settle_busy = r->settle_busy;
	char log_path[sizeof(r->log_path)];

	memcpy(log_path, r->log_path, sizeof(log_path));
	free(r->buckets);
	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->crash = crash;
	r->batch = batch;
	r->driver = driver;
	r->round = round;
	r->settle_busy = settle_busy;
	memcpy(r->log_path, log_path, sizeof(log_path));
	r->start_upper_ns = ~0ull;
	r->errors = -1;
	r->exit_status = -EINPROGRESS;
}

void rec_run_free(struct rec_run *r)
{
	free(r->buckets);
	r->buckets = NULL;
}

/* "key=NUMBER" anywhere in s; 0 or -ENOENT. */
static int field(const char *s, const char *key, unsigned long long *out)
{
	size_t klen = strlen(key);
	for (const char *p = strstr(s, key); p; p = strstr(p + 1, key)) {
		if ((p == s || p[-1] == ' ') && p[klen] == '=') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(p + klen + 1, &end, 10);
			if (errno || end == p + klen + 1)
				return -ENOENT;
			*out = v;
			return 0;
		}
	}
	return -ENOENT;
}

/* "redleaf[  12.345]: text": the broker's log. */
static enum rec_event broker_line(struct rec_run *r, const char *line, unsigned long long arrival_ns)
{
	unsigned long long sec, msec;
	int consumed = 0;

	if (sscanf(line, "redleaf[ %llu.%3llu]: %n", &sec, &msec, &consumed) != 2 || !consumed)
		return REC_EV_NONE;
	uint64_t t_ms = sec * 1000 + msec;
	unsigned long long since = t_ms * 1000000ull;
	if (arrival_ns > since && arrival_ns - since < r->start_upper_ns)
		r->start_upper_ns = arrival_ns - since;
	r->nbroker_lines++;

	const char *text = line + consumed;
	unsigned number;
	char sig[16];
	size_t dlen = strlen(r->driver);
	if (!strncmp(text, r->driver, dlen) && sscanf(text + dlen, ": injected %15s (#%u)", sig, &number) == 2 &&
	    r->ncrashes < REC_MAX_CRASHES) {
		struct rec_crash *c = &r->crashes[r->ncrashes++];
		c->number = number;
		c->log_ms = t_ms;
		c->arrival_ns = arrival_ns;
		c->recovery_ns = -1;
		c->stall_ns = -1;
		return REC_EV_CRASH;
	}
	return REC_EV_NONE;
}

static enum rec_event bench_line(struct rec_run *r, const char *text, unsigned long long arrival_ns)
{
	unsigned long long v;

	if (!strncmp(text, "S ", 2)) {
		char *end;
		unsigned long long first = strtoull(text + 2, &end, 10);
		if (end == text + 2 || !r->buckets)
			return REC_EV_NONE;
		for (unsigned long long i = first; *end == ' '; i++) {
			const char *p = end + 1;
			unsigned long long n = strtoull(p, &end, 10);
			if (end == p || i >= r->nbuckets)
				break;
			r->buckets[i] = (uint32_t)n;
			if (i + 1 > r->nfilled)
				r->nfilled = (unsigned)(i + 1);
		}
		return REC_EV_NONE;
	}
	if (!strncmp(text, "STALL ", 6)) {
		unsigned long long start, lat;
		if (sscanf(text + 6, "%llu %llu", &start, &lat) == 2 && r->nstalls < REC_MAX_STALLS) {
			r->stalls[r->nstalls].start_ns = start;
			r->stalls[r->nstalls].latency_ns = lat;
			r->nstalls++;
		}
		return REC_EV_NONE;
	}
	if (!strncmp(text, "START ", 6)) {
		unsigned long long t0, bucket, n, blocks, bsize;
		if (field(text, "t0_ns", &t0) || field(text, "bucket_ns", &bucket) || field(text, "buckets", &n) ||
		    field(text, "blocks", &blocks) || field(text, "bsize", &bsize) || !bucket || !n ||
		    n > 10000000)
			return REC_EV_NONE;
		free(r->buckets);
		r->buckets = calloc(n, sizeof(*r->buckets));
		if (!r->buckets)
			return REC_EV_NONE;
		r->t0_ns = t0;
		r->bucket_ns = bucket;
		r->nbuckets = (unsigned)n;
		r->dev_blocks = blocks;
		r->bsize = bsize;
		if (field(text, "batch", &r->batch_seen))
			r->batch_seen = 1; /* a recbench from before batches */
		r->started = true;
		r->started_arrival_ns = arrival_ns;
		return REC_EV_START;
	}
	if (!strncmp(text, "TIMED-END", 9)) {
		r->timed_end = true;
		r->timed_end_arrival_ns = arrival_ns;
		return REC_EV_TIMED_END;
	}
	if (!strncmp(text, "END ", 4)) {
		if (!field(text, "errors", &v))
			r->errors = (long)v;
		if (!field(text, "ops", &v))
			r->ops = v;
		if (!field(text, "verified", &v))
			r->verified = v;
		r->ended = true;
		return REC_EV_END;
	}
	return REC_EV_NONE;
}

enum rec_event rec_run_line(struct rec_run *r, const char *line, unsigned long long arrival_ns)
{
	static const char bench[] = "[recbench] ";

	if (!strncmp(line, "redleaf[", 8))
		return broker_line(r, line, arrival_ns);
	if (strstr(line, "error") || strstr(line, "cannot")) {
		size_t n = strnlen(line, sizeof(r->last_error) - 1);
		memcpy(r->last_error, line, n);
		r->last_error[n] = 0;
	}
	if (strncmp(line, bench, sizeof(bench) - 1))
		return REC_EV_NONE;
	const char *text = line + sizeof(bench) - 1;
	if (!strncmp(text, "RECBENCH ", 9))
		return bench_line(r, text + 9, arrival_ns);
	if (!strncmp(text, "panic: ", 7)) {
		snprintf(r->panic, sizeof(r->panic), "%s", text + 7);
		return REC_EV_PANIC;
	}
	return REC_EV_NONE;
}

/*
 * The domain object whose "name" is the driver's, in the broker's own ps JSON
 * ({"system":..,"domains":[{"id":..,"name":"ramblk",...,"recoveries_ns":[..]},..]}).
 */
int rec_run_ps(struct rec_run *r, const char *json)
{
	char key[64];
	snprintf(key, sizeof(key), "\"name\":\"%s\"", r->driver);
	const char *d = strstr(json, key);
	if (!d)
		return -ENOENT;
	const char *next = strstr(d + 1, "\"name\":"); /* the next domain, if any */
	const char *p = strstr(d, "\"restarts\":");
	if (!p || (next && p > next))
		return -ENOENT;
	r->restarts = (unsigned)strtoul(p + 11, NULL, 10);
	p = strstr(d, "\"state\":\"");
	r->driver_running = p && (!next || p < next) && !strncmp(p + 9, "running\"", 8);
	p = strstr(d, "\"recoveries_ns\":[");
	if (!p || (next && p > next))
		return -ENOENT;
	p += 17;
	unsigned n = 0;
	while (*p && *p != ']' && n < REC_MAX_RECOVERIES) {
		char *end;
		long long v = strtoll(p, &end, 10);
		if (end == p)
			break;
		r->recoveries_ns[n++] = v;
		p = *end == ',' ? end + 1 : end;
	}
	r->nrecoveries = n;
	r->ps_seen = true;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least q of the samples at or below it. */
static double rank(const double *v, size_t n, double q)
{
	size_t k = (size_t)ceil(q * (double)n);
	return v[k ? k - 1 : 0];
}

void rec_stats(double *v, size_t n, struct rec_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	out->n = n;
	out->min = v[0];
	out->max = v[n - 1];
	out->p5 = rank(v, n, 0.05);
	out->median = rank(v, n, 0.5);
	out->p95 = rank(v, n, 0.95);
	out->p99 = rank(v, n, 0.99);
	out->mean = sum / (double)n;
}

void rec_run_summarise(struct rec_run *r)
{
	double *v = calloc(r->nbuckets + REC_MAX_CRASHES + 1, sizeof(double));
	if (!v)
		return;

	/* throughput */
	double bucket_s = (double)r->bucket_ns / 1e9;
	unsigned long long total = 0;
	for (unsigned i = 0; i < r->nbuckets; i++) {
		v[i] = (double)r->buckets[i] * (double)r->bsize / 1e6 / bucket_s;
		total += r->buckets[i];
	}
	rec_stats(v, r->nbuckets, &r->mbps);
	r->mean_mbps = r->nbuckets ? (double)total * (double)r->bsize / 1e6 / (bucket_s * r->nbuckets) : 0;

	/* crash times on recbench's clock, recoveries and client stalls */
	long long window_ns = (long long)r->nbuckets * (long long)r->bucket_ns;
	r->align_slack_ms = r->start_upper_ns != ~0ull && r->start_upper_ns >= r->launch_ns
			    ? (double)(r->start_upper_ns - r->launch_ns) / 1e6 : -1;
	r->crashes_in_window = 0;
	size_t nstall = 0;
	for (unsigned i = 0; i < r->ncrashes; i++) {
		struct rec_crash *c = &r->crashes[i];
		/* The tighter of two upper bounds: its line's arrival, and broker start + T + 1 ms. */
		unsigned long long at = c->arrival_ns;
		if (r->start_upper_ns != ~0ull && r->start_upper_ns + c->log_ms * 1000000ull + 1000000ull < at)
			at = r->start_upper_ns + c->log_ms * 1000000ull + 1000000ull;
		c->t_ns = (int64_t)at - (int64_t)r->t0_ns;
		c->in_window = r->started && c->t_ns != INT64_MIN && c->t_ns >= 0 && c->t_ns < window_ns;
		r->crashes_in_window += c->in_window;
		/* The i-th recovery the broker logged is the i-th death, and every death was injected. */
		c->recovery_ns = i < r->nrecoveries ? r->recoveries_ns[i] : -1;
		c->stall_ns = -1;
		if (!c->in_window)
			continue;
		for (unsigned k = 0; k < r->nstalls; k++) {
			const struct rec_stall *s = &r->stalls[k];
			long long start = (long long)s->start_ns, end = start + (long long)s->latency_ns;
			if (start <= c->t_ns + STALL_MATCH_SLACK_NS && end >= c->t_ns - STALL_MATCH_SLACK_NS &&
			    (long long)s->latency_ns > c->stall_ns)
				c->stall_ns = (int64_t)s->latency_ns;
		}
		if (c->stall_ns >= 0)
			v[nstall++] = (double)c->stall_ns / 1e6;
	}
	rec_stats(v, nstall, &r->stall_ms);
	for (unsigned i = 0; i < r->nrecoveries; i++)
		v[i] = (double)r->recoveries_ns[i] / 1e6;
	rec_stats(v, r->nrecoveries, &r->recovery_ms);
	free(v);
}
