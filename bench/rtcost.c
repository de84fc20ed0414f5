// SPDX-License-Identifier: MIT
/*
 * rtcost: the domain runtime's work per call, alone.
 *
 * The real runtime (src/domain/runtime.c, the IDL stubs) runs in this one
 * process as a domain would after its launcher, and this program plays
 * the broker around it, writing into the runtime's rx ring and reading
 * its tx ring directly. Three phases of a batch of null calls are timed
 * and checked, each on the side of the domains that runs it:
 *   submit   rl_call_submit() for each call, then rl_call_flush()  (caller)
 *   serve    rl_serve_pending() over a batch of invocations        (callee)
 *   collect  rl_call_poll() over a batch of completions           (caller)
 * No seccomp, no broker, no other CPU: what is left is the runtime's code,
 * which on this machine shares one CPU between caller and callee in the
 * batched rows (docs/performance.md). Under callgrind the three phase
 * functions' inclusive counts divided by the calls give instructions per
 * call (bench/proxycost.sh prints them with the broker's).
 *
 * Exits 1 when a message comes out wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/domain/runtime.h"
#include "opts.h"
#include "channel.h"
#include "redleaf/domain.h"
#include "heap.h"
#include "registry.h"
#include "ring.h"
#include "redleaf_idl.h"
#include "samples.h"

#define MAX_BATCH 256
#define CAP 1 /* the caller's handle for the callee; the runtime passes it through */

static struct rl_chan *chan;
static struct rl_bell bell;
static struct rl_heap heap;
static struct rl_ring_prod to_rx;   /* the broker's end of the runtime's rx ring */
static struct rl_ring_cons from_tx; /* the broker's end of the runtime's tx ring */
static unsigned long served_calls;

static int fail(const char *what, unsigned i, long long got, long long want)
{
	fprintf(stderr, "rtcost: message %u: %s is %lld, expected %lld\n", i, what, got, want);
	exit(1);
}

static int h_null(void *self)
{
	(void)self;
	served_calls++;
	return 0;
}

static const struct Test_ops ops = { .null = h_null };

static void setup(void)
{
	int err = rl_heap_create(&heap, 16ull << 20, false);
	if (err) {
		fprintf(stderr, "rtcost: cannot create the heap: %s\n", strerror(-err));
		exit(1);
	}
	size_t size = (sizeof(struct rl_chan) + 4095) & ~(size_t)4095; /* whole pages for aligned_alloc() */
	chan = aligned_alloc(4096, size);
	if (!chan) {
		fprintf(stderr, "rtcost: out of memory\n");
		exit(1);
	}
	memset(chan, 0, sizeof(*chan));
	chan->ctl.magic = RL_CHAN_MAGIC;
	chan->ctl.domain_id = 1;
	snprintf(chan->ctl.name, sizeof(chan->ctl.name), "rtcost");
	chan->ctl.nexports = 1;
	chan->ctl.export_iface[0] = RL_IFACE_Test;
	__rl_runtime_init(chan, &bell, &heap);
	if (rl_export(RL_IFACE_Test, Test_dispatch, &ops, NULL)) {
		fprintf(stderr, "rtcost: cannot export Test\n");
		exit(1);
	}
	rl_ring_prod_init(&to_rx, &chan->rx);
	rl_ring_cons_init(&from_tx, &chan->tx);
}

static void teardown(void)
{
	free(chan);
	rl_heap_destroy(&heap);
}

/* The phases measured. Not inlined: callgrind counts each. */
static __attribute__((noipa)) void submit_batch(unsigned batch, uint64_t seq)
{
	for (unsigned i = 0; i < batch; i++)
		if (rl_call_submit(CAP, RL_METHOD_Test_null, NULL, 0, seq + i) != 1)
			fail("rl_call_submit()", i, 0, 1);
	rl_call_flush();
}

static __attribute__((noipa)) int serve_batch(void)
{
	return rl_serve_pending();
}

static __attribute__((noipa)) int collect_batch(struct rl_completion *out, unsigned batch)
{
	return rl_call_poll(out, batch, 0);
}

/* What the broker does between the phases: take what the runtime wrote, write what it reads next. */
static void broker_write(const struct rl_msg *m)
{
	if (!rl_ring_write(&to_rx, m))
		fail("room in rx", 0, 0, 1);
}

static void broker_take(struct rl_msg *m, uint8_t kind, unsigned i)
{
	if (rl_ring_take(&from_tx, m) != 1)
		fail("messages in tx", i, 0, 1);
	if (m->kind != kind)
		fail("kind", i, m->kind, kind);
}

static void round_trip(unsigned batch, uint64_t seq, uint64_t t[3])
{
	struct rl_completion done[MAX_BATCH];
	struct rl_msg m;

	uint64_t t0 = __builtin_ia32_rdtsc();
	submit_batch(batch, seq);
	uint64_t t1 = __builtin_ia32_rdtsc();
	for (unsigned i = 0; i < batch; i++) {
		broker_take(&m, RL_MSG_CALL, i);
		if (m.tag != seq + i || m.cap != CAP || m.method != RL_METHOD_Test_null)
			fail("call tag", i, (long long)m.tag, (long long)(seq + i));
		/* Forward it back to the same runtime as an invocation (continuation = its tag). */
		struct rl_msg inv = { .kind = RL_MSG_INVOKE, .method = RL_METHOD_Test_null,
				      .cap = 0, .aux = RL_IFACE_Test, .tag = m.tag };
		broker_write(&inv);
	}
	rl_ring_release(&from_tx);
	rl_ring_publish(&to_rx);

	unsigned long before = served_calls;
	uint64_t t2 = __builtin_ia32_rdtsc();
	int n = serve_batch();
	uint64_t t3 = __builtin_ia32_rdtsc();
	if (n != (int)batch || served_calls - before != batch)
		fail("invocations served", 0, n, batch);
	for (unsigned i = 0; i < batch; i++) {
		broker_take(&m, RL_MSG_REPLY, i);
		if (m.tag != seq + i || m.status != 0)
			fail("reply", i, m.status, 0);
		struct rl_msg c = { .kind = RL_MSG_COMPLETE, .tag = m.tag, .arg = { seq + i } };
		broker_write(&c);
	}
	rl_ring_release(&from_tx);
	rl_ring_publish(&to_rx);

	uint64_t t4 = __builtin_ia32_rdtsc();
	n = collect_batch(done, batch);
	uint64_t t5 = __builtin_ia32_rdtsc();
	if (n != (int)batch)
		fail("completions collected", 0, n, batch);
	for (unsigned i = 0; i < batch; i++)
		if (done[i].tag != seq + i || done[i].status != 0 || done[i].ret != seq + i)
			fail("completion", i, (long long)done[i].tag, (long long)(seq + i));
	t[0] = t1 - t0;
	t[1] = t3 - t2;
	t[2] = t5 - t4;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rtcost [--batch N] [--rounds N]\n"
		"\n"
		"Runs the domain runtime's side of batches of null calls in this one\n"
		"process -- submitting and flushing them, serving them, collecting\n"
		"their completions -- with this program in the broker's place, and\n"
		"checks every message. Prints TSC ticks per call of each phase\n"
		"(median and p99 over rounds). Run it under callgrind\n"
		"(bench/proxycost.sh) for instructions per call.\n"
		"\n"
		"  --batch N    calls per batch, 1..%d (default 64)\n"
		"  --rounds N   rounds measured, after as many again of warm-up\n"
		"               (default 10000)\n",
		MAX_BATCH);
}

int main(int argc, char **argv)
{
	struct rl_bench_opts o = { .prog = "rtcost", .max_batch = MAX_BATCH, .usage = usage,
				   .batch = 64, .rounds = 10000 };
	int status;

	if (rl_bench_opts_parse(&o, argc, argv, &status))
		return status;
	unsigned long long batch = o.batch, rounds = o.rounds;

	setup();
	double *v[3];
	for (int k = 0; k < 3; k++)
		if (!(v[k] = malloc(rounds * sizeof(double)))) {
			fprintf(stderr, "rtcost: out of memory\n");
			return 1;
		}
	uint64_t seq = 1;
	for (unsigned long long r = 0; r < 2 * rounds; r++, seq += batch) {
		uint64_t t[3];
		round_trip((unsigned)batch, seq, t);
		if (r >= rounds)
			for (int k = 0; k < 3; k++)
				v[k][r - rounds] = (double)t[k] / (double)batch;
	}
	static const char *const names[] = { "submit", "serve", "collect" };
	printf("batch %llu, %llu rounds: every message checked\n", batch, rounds);
	for (int k = 0; k < 3; k++) {
		struct rl_stats s;
		rl_stats_compute(v[k], rounds, &s);
		printf("ticks per call, %-8s median %.1f, p99 %.1f\n", names[k], s.median, s.p99);
		free(v[k]);
	}
	teardown();
	return 0;
}
