// SPDX-License-Identifier: MIT
/*
 * Denial of service against the broker, and the honest domain beside it
 * (tests/hostile). An attacker runs until the system ends and logs, once
 * each, what the broker refused it; the honest one does a fixed amount of
 * work, checks every answer and exits 0 only if all were right.
 *   flood --honest N        N rounds of null() and take(a new payload) on import
 *                           "test": every one must succeed
 *   flood --audits          asks for heap audits back to back
 *   flood --inflight        keeps as many null() calls in flight on "test" as
 *                           the broker takes
 *   flood --heap            allocates until refused, then has "test" make()
 *                           objects for it until refused, holds them all and
 *                           keeps asking
 *   flood --tx              keeps its tx ring full of calls the broker must walk
 *                           a 255-object graph to refuse
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../testpair/check.h"
#include "redleaf/clock.h"
#include "redleaf_idl.h"

static rl_cap test;

/* An attacker has nothing to return to: it ends when the system does. */
static void __attribute__((noreturn)) idle(void)
{
	for (;;) {
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
	}
}

static int honest(unsigned long n)
{
	uint64_t start = rl_now_ns(), v;

	for (unsigned long i = 0; i < n; i++) {
		T_EQ(Test_null(test), 0);
		rref_payload p;
		int err = rref_payload_new(&p);
		T_EQ(err, 0);
		if (err)
			continue;
		memset(rref_payload_get(p)->data, 1, sizeof(struct payload));
		T_EQ(Test_take(test, p, &v), 0);
		T_EQ(v, sizeof(struct payload));
		if (t_failures > 10)
			break;
	}
	double s = (double)(rl_now_ns() - start) / 1e9;
	rl_log("honest: %lu rounds in %.2f s (%.0f a second)", n, s, s > 0 ? (double)n / s : 0.0);
	return t_report();
}

static void __attribute__((noreturn)) audits(void)
{
	unsigned long ok = 0, refused = 0;

	for (;;) {
		int r = rl_heap_audit();
		if (r == 0)
			ok++;
		else if (r == -EAGAIN && !refused++)
			rl_log("flood: audit refused with -EAGAIN after %lu", ok);
		else if (r != -EAGAIN)
			rl_panic("audit answered %d", r);
	}
}

static void __attribute__((noreturn)) inflight(void)
{
	static struct rl_completion c[256];
	unsigned long accepted = 0;
	bool seen_again = false, seen_busy = false;
	uint64_t tag = 1;
	unsigned in_flight = 0;

	for (;;) {
		/* Up to 256 at a time (the tx ring's share), 2 048 in all: the broker decides how many it takes. */
		for (unsigned i = 0; i < 256 && in_flight < 2048; i++, in_flight++)
			if (rl_call_submit(test, RL_METHOD_Test_null, NULL, 0, tag++) != 1)
				rl_panic("cannot submit");
		rl_call_flush();
		int k = rl_call_poll(c, 256, in_flight >= 2048);
		if (k < 0)
			rl_panic("poll: %d", k);
		for (int i = 0; i < k; i++) {
			in_flight--;
			if (c[i].status == 0) {
				accepted++;
			} else if (c[i].status == -EAGAIN) {
				if (!seen_again)
					rl_log("flood: call refused with -EAGAIN (calls quota)");
				seen_again = true;
			} else if (c[i].status == -EBUSY) {
				if (!seen_busy)
					rl_log("flood: call refused with -EBUSY (callee full) after %lu", accepted);
				seen_busy = true;
			} else {
				rl_panic("a call answered %d", c[i].status);
			}
		}
	}
}

static void __attribute__((noreturn)) heap(void)
{
	unsigned long held = 0, made = 0;
	rl_rref r;
	int err;

	while (!(err = rl_rref_alloc(0, 64, &r)))
		held++;
	rl_log("flood: heap refused with %s after %lu objects", err == -EDQUOT ? "-EDQUOT" : strerror(-err), held);
	/* Objects someone else makes for it count too: a reply that would pass the quota is refused. */
	for (;;) {
		rref_payload p;
		err = Test_make(test, made, &p);
		if (err)
			break;
		made++;
	}
	rl_log("flood: make() refused with %s after %lu objects", err == -EDQUOT ? "-EDQUOT" : strerror(-err), made);
	/* And it keeps asking: each refusal must stay cheap. */
	for (;;)
		if (!rl_rref_alloc(0, 64, &r))
			rl_panic("an allocation over the quota succeeded");
}

#define CHAIN 255

static void __attribute__((noreturn)) tx(void)
{
	static struct rl_completion c[256];
	rref_node head = { RL_RREF_NULL }, n;

	/* A chain of CHAIN nodes whose last points at a stale handle: refused only at its end. */
	for (unsigned i = 0; i < CHAIN; i++) {
		if (rref_node_new(&n))
			rl_panic("cannot allocate the chain");
		rref_node_get(n)->value = i;
		rref_node_get(n)->next = head;
		head = n;
	}
	rref_node last = head;
	while (!rl_rref_is_null(rref_node_get(last)->next.r))
		last = rref_node_get(last)->next;
	rref_node_get(last)->next = (rref_node){ { head.r.slot, head.r.gen + 1 } };
	uint64_t args[1] = { rl_rref_to_wire(head.r) };
	unsigned in_flight = 0;
	unsigned long refused = 0;
	for (;;) {
		while (in_flight < 512 && rl_call_submit(test, RL_METHOD_Test_sum_list, args, 1, 1) == 1)
			in_flight++;
		rl_call_flush();
		int k = rl_call_poll(c, 256, 1);
		if (k < 0)
			rl_panic("poll: %d", k);
		for (int i = 0; i < k; i++, in_flight--)
			if (c[i].status != -ESTALE)
				rl_panic("a poisoned chain answered %d", c[i].status);
		if (!refused && k > 0)
			rl_log("flood: graphs refused with -ESTALE");
		refused += (unsigned long)k;
	}
}

int rl_domain_main(int argc, char **argv)
{
	test = rl_cap_lookup("test");
	if (test == RL_CAP_INVALID)
		rl_panic("flood needs an import 'test'");
	if (argc == 3 && !strcmp(argv[1], "--honest")) {
		char *end;
		unsigned long n = strtoul(argv[2], &end, 10);
		if (*end || !n)
			rl_panic("--honest takes a count of rounds");
		return honest(n);
	}
	if (argc == 2 && !strcmp(argv[1], "--audits"))
		audits();
	if (argc == 2 && !strcmp(argv[1], "--inflight"))
		inflight();
	if (argc == 2 && !strcmp(argv[1], "--heap"))
		heap();
	if (argc == 2 && !strcmp(argv[1], "--tx"))
		tx();
	rl_panic("usage: flood --honest N | --audits | --inflight | --heap | --tx");
	idle();
}
