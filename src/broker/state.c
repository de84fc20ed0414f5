// SPDX-License-Identifier: MIT
/* The broker's state: the log, the bell, stopping, and the tables every layer shares. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void rl_broker_log(struct broker *b, const char *fmt, ...)
{
	va_list ap;
	uint64_t t = rl_now_ns() - b->start_ns;

	if (b->quiet)
		return;
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "redleaf[%4llu.%03llu]: ", (unsigned long long)(t / 1000000000ull),
		(unsigned long long)(t / 1000000ull % 1000));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
}

void rl_broker_log_output(struct broker *b, const struct domain *d, const char *text)
{
	/* Not silenced by --quiet: that quiets the broker's own lines, as before output went through it. */
	(void)b;
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "[%s] %s\n", d->name, text);
	pthread_mutex_unlock(&log_lock);
}

void rl_broker_ring_bell(struct broker *b)
{
	atomic_fetch_add(&b->bell->word, 1);
	rl_futex_wake(&b->bell->word, INT_MAX); /* every sleeping proxy thread */
}

void rl_broker_request_stop(struct broker *b)
{
	uint64_t one = 1;

	atomic_store(&b->stop, 1);
	if (b->wake_fd >= 0)
		(void)!write(b->wake_fd, &one, sizeof(one));
	rl_broker_ring_bell(b);
}

struct domain *rl_broker_domain_by_name(struct broker *b, const char *name)
{
	for (unsigned i = 1; i <= b->ndom; i++)
		if (!strcmp(b->dom[i].name, name))
			return &b->dom[i];
	return NULL;
}

int rl_broker_alloc_tables(struct broker *b)
{
	b->conts = calloc(RL_MAX_CONTS, sizeof(*b->conts));
	b->expected_borrows = calloc(b->heap.hdr->nslots, sizeof(uint16_t));
	if (!b->conts || !b->expected_borrows)
		return -ENOMEM;
	for (uint32_t i = 0; i < RL_MAX_CONTS; i++)
		b->conts[i].next_free = i + 1 < RL_MAX_CONTS ? i + 1 : UINT32_MAX;
	b->cont_free = 0;
	return 0;
}

void rl_quota_init(struct broker *b, struct domain *d)
{
	const struct rl_manifest_quota *q = &d->m->quota;
	const struct rl_heap_hdr *hd = b->heap.hdr;
	unsigned share = q->heap_share ? q->heap_share : RL_MANIFEST_HEAP_SHARE_DEFAULT;

	d->calls_max = q->calls ? q->calls : RL_MANIFEST_CALLS_DEFAULT;
	d->inflight_check = d->calls_max < RL_INFLIGHT_FAIR ? d->calls_max : RL_INFLIGHT_FAIR;
	for (unsigned c = 0; c < RL_NCLASSES; c++) {
		/* At least one object of a class, so a small share of a small heap still allocates. */
		uint64_t n = (uint64_t)hd->class_count[c] * share / 100;
		d->heap_class_max[c] = n ? (uint32_t)n : 1;
	}
	d->heap_objects_max = q->heap_objects ? q->heap_objects : UINT64_MAX;
	d->heap_bytes_max = q->heap_bytes ? q->heap_bytes : UINT64_MAX;
	d->audits_per_s = q->audits ? q->audits : RL_MANIFEST_AUDITS_DEFAULT;
	d->audit_tokens = RL_AUDIT_BURST * 1000;
	d->audit_refill_ns = 0;
}

void rl_quota_hit(struct broker *b, struct domain *d, enum rl_quota_kind kind, const char *what)
{
	static const char *const name[RL_QUOTA_NKINDS] = {
		[RL_QUOTA_CALLS] = "calls in flight",
		[RL_QUOTA_BUSY] = "a busy callee",
		[RL_QUOTA_HEAP] = "heap",
		[RL_QUOTA_AUDITS] = "audits",
	};

	rl_stat_inc(&d->quota_hits[kind]);
	if (d->quota_logged_inc != d->incarnation) {
		d->quota_logged_inc = d->incarnation;
		d->quota_logged = 0;
	}
	if (d->quota_logged & 1u << kind)
		return;
	d->quota_logged |= 1u << kind;
	/* Once: a domain that floods would otherwise flood the log too. `ps` counts every one. */
	rl_broker_log(b, "%s: %s quota: %s (said once; `redleaf ps` counts them)", d->name, name[kind], what);
}
