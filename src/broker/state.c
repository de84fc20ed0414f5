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
