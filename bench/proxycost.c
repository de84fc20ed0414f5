// SPDX-License-Identifier: MIT
/*
 * proxycost: the broker's per-message work, alone.
 *
 * One process plays a caller and a callee around the broker's real proxy
 * code (src/broker/, linked in, in the bed of tests/broker/bed.c): the
 * caller writes a batch of calls into its tx ring, one proxy pass
 * validates and forwards them, the callee reads the
 * invocations and writes replies, another pass completes them, and the
 * caller checks every completion. No other process, no waiting, no line
 * transfers between CPUs: what is left is the instructions the broker
 * executes per message, which is what limits pipelined calls
 * (docs/performance.md, "Broker load").
 *
 * Under callgrind the two pass functions' inclusive counts divided by the
 * messages give instructions per call message and per reply message, the
 * same for every run of the same binary (bench/proxycost.sh does that).
 * Without valgrind it prints TSC ticks per message: an optimistic bound
 * (everything in one core's cache) that moves with the machine.
 *
 * Exits 1 when any message comes out wrong, so it doubles as a test of
 * the call path without processes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/broker/proxy.h"
#include "../tests/broker/bed.h"
#include "redleaf_idl.h"
#include "opts.h"
#include "samples.h"

enum { CALLER = 1, CALLEE = 2 };

static struct t_bed bed;
static struct broker *b;

static int fail(const char *what, unsigned i, long long got, long long want)
{
	fprintf(stderr, "proxycost: message %u: %s is %lld, expected %lld\n", i, what, got, want);
	exit(1);
}

static void setup(void)
{
	int err = t_bed_create(&bed, 2, 64ull << 20);
	if (err) {
		fprintf(stderr, "proxycost: cannot set up the broker: %s\n", strerror(-err));
		exit(1);
	}
	b = bed.b;
	snprintf(b->dom[CALLER].name, sizeof(b->dom[CALLER].name), "caller");
	snprintf(b->dom[CALLEE].name, sizeof(b->dom[CALLEE].name), "callee");
	t_bed_export(&bed, CALLEE, RL_IFACE_Test);
}

/* Batches up to this many calls: long messages (add) take two ring units each. */
#define MAX_BATCH (RL_RING_UNITS / 2)

/* Writes m as a domain's runtime would: long when an argument word past the first is set. */
static void post(unsigned who, struct rl_msg *m)
{
	if (!t_bed_post(&bed, who, m)) {
		fprintf(stderr, "proxycost: %s's tx ring is full\n", b->dom[who].name);
		exit(1);
	}
}

static const struct rl_msg *take(unsigned who)
{
	static struct rl_msg m;
	if (rl_ring_take(&bed.side[who].rx, &m) <= 0) {
		fprintf(stderr, "proxycost: %s's rx ring is empty\n", b->dom[who].name);
		exit(1);
	}
	return &m;
}

/*
 * The passes measured: over the calls, over the replies; as many passes as
 * it takes to drain want messages (a pass takes at most 64 from a ring).
 * Not inlined: callgrind counts each.
 */
static unsigned passes(unsigned want)
{
	unsigned total = 0, msgs;
	do {
		rl_proxy_pass(b, &msgs);
		total += msgs;
	} while (msgs && total < want);
	return total;
}

static __attribute__((noipa)) unsigned pass_calls(unsigned want)
{
	return passes(want);
}

static __attribute__((noipa)) unsigned pass_replies(unsigned want)
{
	return passes(want);
}

enum method { M_NULL, M_ADD, M_TAKE, M_MIXED };

/*
 * --method mixed: calls the broker must tell apart inside one batch, in
 * turn: null (served), an unknown method (-ENOSYS), neg() with a value out
 * of i32 range (-EINVAL), neg() in range (served). Each must come back
 * with its own status however the ones before it fared.
 */
static int mixed_status(unsigned i)
{
	static const int status[] = { 0, -ENOSYS, -EINVAL, 0 };
	return status[i % 4];
}

static void mixed_call(struct rl_msg *m, unsigned i)
{
	switch (i % 4) {
	case 0:
		m->method = RL_METHOD_Test_null;
		break;
	case 1:
		m->method = 999;
		break;
	case 2:
		m->method = RL_METHOD_Test_neg;
		m->arg[0] = 1ull << 40;
		break;
	case 3:
		m->method = RL_METHOD_Test_neg;
		m->arg[0] = 5;
		break;
	}
}

/* One round: batch calls there and back. Returns the ticks of the two passes. */
static void round_trip(rl_cap cap, enum method meth, unsigned batch, uint64_t seq, uint64_t *t_calls,
		       uint64_t *t_replies)
{
	uint32_t slots[MAX_BATCH];

	for (unsigned i = 0; i < batch; i++) {
		struct rl_msg m = { .kind = RL_MSG_CALL, .cap = cap, .tag = seq + i };
		switch (meth) {
		case M_NULL:
			m.method = RL_METHOD_Test_null;
			break;
		case M_ADD:
			m.method = RL_METHOD_Test_add;
			m.arg[0] = seq + i;
			m.arg[1] = 7;
			break;
		case M_TAKE:
			m.method = RL_METHOD_Test_take;
			if (rl_registry_alloc(&b->heap, (unsigned)rl_class_for(64), CALLER, &slots[i])) {
				fprintf(stderr, "proxycost: heap exhausted\n");
				exit(1);
			}
			m.arg[0] = rl_rref_to_wire((rl_rref){ slots[i], b->heap.objs[slots[i]].gen });
			break;
		case M_MIXED:
			mixed_call(&m, i);
			break;
		}
		post(CALLER, &m);
	}
	rl_ring_publish(&bed.side[CALLER].tx);

	uint64_t t0 = rl_proxy_ticks();
	unsigned n = pass_calls(batch);
	uint64_t t1 = rl_proxy_ticks();
	if (n != batch)
		fail("calls taken", 0, n, batch);

	unsigned served = batch;
	if (meth == M_MIXED)
		for (unsigned i = served = 0; i < batch; i++)
			served += !mixed_status(i);
	for (unsigned i = 0; i < served; i++) {
		const struct rl_msg *inv = take(CALLEE);
		if (inv->kind != RL_MSG_INVOKE)
			fail("invocation kind", i, inv->kind, RL_MSG_INVOKE);
		if (inv->aux != RL_IFACE_Test)
			fail("invocation interface", i, inv->aux, RL_IFACE_Test);
		struct rl_msg r = { .kind = RL_MSG_REPLY, .tag = inv->tag };
		switch (meth) {
		case M_NULL:
			if (inv->method != RL_METHOD_Test_null)
				fail("method", i, inv->method, RL_METHOD_Test_null);
			break;
		case M_ADD:
			if (inv->arg[0] != seq + i || inv->arg[1] != 7)
				fail("argument", i, (long long)inv->arg[0], (long long)(seq + i));
			r.arg[0] = inv->arg[0] + inv->arg[1];
			break;
		case M_TAKE:
			if (b->heap.objs[slots[i]].owner != CALLEE)
				fail("owner after the call", i, b->heap.objs[slots[i]].owner, CALLEE);
			r.arg[0] = i;
			break;
		case M_MIXED: {
			unsigned k = 4 * (i / 2) + 3 * (i % 2); /* the i-th served call: 0, 3, 4, 7, ... */
			uint16_t want = k % 4 ? RL_METHOD_Test_neg : RL_METHOD_Test_null;
			if (inv->method != want)
				fail("method", k, inv->method, want);
			if (k % 4 && inv->arg[0] != 5)
				fail("argument", k, (long long)inv->arg[0], 5);
			r.arg[0] = inv->arg[0];
			break;
		}
		}
		post(CALLEE, &r);
	}
	if (rl_ring_ready(&bed.side[CALLEE].rx) != 0)
		fail("invocations left over", 0, rl_ring_ready(&bed.side[CALLEE].rx), 0);
	rl_ring_release(&bed.side[CALLEE].rx);
	rl_ring_publish(&bed.side[CALLEE].tx);

	uint64_t t2 = rl_proxy_ticks();
	n = pass_replies(served);
	uint64_t t3 = rl_proxy_ticks();
	if (n != served)
		fail("replies taken", 0, n, served);

	if (meth == M_MIXED) {
		/* The rejections came back during the first pass, the rest after the second. */
		bool seen[MAX_BATCH] = { false };
		for (unsigned i = 0; i < batch; i++) {
			const struct rl_msg *c = take(CALLER);
			uint64_t k = c->tag - seq;
			if (c->kind != RL_MSG_COMPLETE || k >= batch || seen[k])
				fail("completion tag", i, (long long)c->tag, (long long)seq);
			seen[k] = true;
			if (c->status != mixed_status((unsigned)k))
				fail("completion status", (unsigned)k, c->status, mixed_status((unsigned)k));
			if ((c->status != 0) != ((c->flags & RL_MSG_F_BROKER) != 0))
				fail("broker flag", (unsigned)k, c->flags, c->status ? RL_MSG_F_BROKER : 0);
		}
		rl_ring_release(&bed.side[CALLER].rx);
		*t_calls = t1 - t0;
		*t_replies = t3 - t2;
		return;
	}
	for (unsigned i = 0; i < batch; i++) {
		const struct rl_msg *c = take(CALLER);
		if (c->kind != RL_MSG_COMPLETE || c->status != 0)
			fail("completion status", i, c->status, 0);
		if (c->tag != seq + i)
			fail("completion tag", i, (long long)c->tag, (long long)(seq + i));
		if (meth == M_ADD && c->arg[0] != seq + i + 7)
			fail("result", i, (long long)c->arg[0], (long long)(seq + i + 7));
		if (meth == M_TAKE) {
			if (c->arg[0] != i)
				fail("result", i, (long long)c->arg[0], i);
			rl_registry_free(&b->heap, slots[i]);
		}
	}
	rl_ring_release(&bed.side[CALLER].rx);
	if (b->dom[CALLER].outstanding)
		fail("calls outstanding", 0, b->dom[CALLER].outstanding, 0);
	*t_calls = t1 - t0;
	*t_replies = t3 - t2;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: proxycost [--method null|add|take|mixed] [--batch N] [--rounds N]\n"
		"\n"
		"Drives batches of calls and their replies through the broker's proxy\n"
		"code in this one process and checks every message that comes out.\n"
		"Prints TSC ticks per message (median and p99 over rounds) for the\n"
		"pass over the calls and the pass over the replies. Run it under\n"
		"callgrind (bench/proxycost.sh) for instructions per message.\n"
		"\n"
		"  --method M   Test method called: null (default), add (two scalars\n"
		"               and a result), take (moves one RRef), or mixed (calls\n"
		"               the broker must accept or reject one by one in a batch)\n"
		"  --batch N    calls per pass, 1..%u (default 64)\n"
		"  --rounds N   rounds measured, after as many again of warm-up\n"
		"               (default 10000)\n",
		MAX_BATCH);
}

int main(int argc, char **argv)
{
	static const char *const methods[] = { "null", "add", "take", "mixed", NULL };
	struct rl_bench_opts o = { .prog = "proxycost", .max_batch = MAX_BATCH, .methods = methods,
				   .usage = usage, .batch = 64, .rounds = 10000 };
	int status;

	if (rl_bench_opts_parse(&o, argc, argv, &status))
		return status;
	enum method meth = (enum method)o.method;
	unsigned long long batch = o.batch, rounds = o.rounds;

	setup();
	rl_cap cap = t_bed_grant(&bed, CALLER, CALLEE, RL_IFACE_Test);
	double *calls = malloc(rounds * sizeof(double)), *replies = malloc(rounds * sizeof(double));
	if (!calls || !replies) {
		fprintf(stderr, "proxycost: out of memory\n");
		return 1;
	}
	uint64_t seq = 1;
	for (unsigned long r = 0; r < 2 * rounds; r++, seq += batch) {
		uint64_t tc, tr;
		round_trip(cap, meth, (unsigned)batch, seq, &tc, &tr);
		if (r >= rounds) {
			calls[r - rounds] = (double)tc / (double)batch;
			replies[r - rounds] = (double)tr / (double)batch;
		}
	}
	/* With --method mixed only the served calls are forwarded and have a reply. */
	unsigned long long served = meth == M_MIXED ? batch / 4 * 2 + (batch % 4 > 0) + (batch % 4 > 3) : batch;
	for (unsigned long r = 0; r < rounds; r++)
		replies[r] *= (double)batch / (double)served;
	/* The statistics `redleaf ps` shows: every forwarded call counted once on each side. */
	uint64_t out = atomic_load(&b->dom[CALLER].calls_out), in = atomic_load(&b->dom[CALLEE].calls_in);
	if (out != 2 * rounds * served)
		fail("the caller's calls_out", 0, (long long)out, (long long)(2 * rounds * served));
	if (in != 2 * rounds * served)
		fail("the callee's calls_in", 0, (long long)in, (long long)(2 * rounds * served));
	struct rl_stats sc, sr;
	rl_stats_compute(calls, rounds, &sc);
	rl_stats_compute(replies, rounds, &sr);
	printf("method %s, batch %llu, %llu rounds: every message checked\n", methods[meth], batch, rounds);
	printf("ticks per call message:  median %.1f, p99 %.1f\n", sc.median, sc.p99);
	printf("ticks per reply message: median %.1f, p99 %.1f\n", sr.median, sr.p99);
	free(calls);
	free(replies);
	t_bed_destroy(&bed);
	return 0;
}
