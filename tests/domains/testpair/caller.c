// SPDX-License-Identifier: MIT
/*
 * The caller of the paper's test pair. `caller` runs the functional checks
 * of every kind of call (scalar, moved, borrowed and returned RRefs, a nested
 * graph moved whole, capabilities) and exits 0 only if all hold.
 * `caller --loop` keeps calling until the broker stops it (for demos).
 * `caller --crash-at N --point P` expects the callee to be armed (by
 * `redleaf crash --at-call N --point P callee`) to panic at its Nth call:
 * calls before it succeed, call N (a moved RRef) fails with -ECONNRESET --
 * or succeeds when the panic comes after the reply -- and later calls get
 * -EHOSTDOWN (restart policy never). The broker's audit checks the heap.
 * `caller --wait-crashy IMPORT` waits out a domain that crashes at every
 * start until its restart policy gives up, and checks it backed off.
 * `caller --victim IMPORT...` first calls null() on each named import, which
 * must crash during the call (-ECONNRESET) and then be dead (-EHOSTDOWN),
 * and then runs the checks: a dead neighbour must not disturb anyone.
 * `--survivor IMPORT...` (after or instead of the victims) names imports
 * whose null() must succeed.
 * `caller --burst N` submits N null() calls at once to import "burst", 20
 * times over, and checks that every one succeeds.
 * `caller --crash-in-batch N K P` submits N null() calls at once to a callee
 * armed to panic at its Kth call at point P: calls before K succeed (their
 * replies went out, even if the callee held them for a group), call K fails
 * with -ECONNRESET or, at point "after", succeeds, later calls fail.
 * `caller --checksum SECONDS` calls checksum() with payloads of known sums
 * for that long (0: until stopped, logging progress every 2 s); every
 * answer must be right.
 * `caller --checksum-fails ETIMEDOUT|EHOSTDOWN` makes one checksum() call,
 * which must fail with that error (a shadow's deadline, or a restart policy
 * giving up).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "redleaf/clock.h"
#include "redleaf_idl.h"

static rref_payload new_payload(uint8_t seed, uint64_t *sum)
{
	rref_payload r;
	T_EQ(rref_payload_new(&r), 0);
	struct payload *p = rref_payload_get(r);
	*sum = 0;
	for (unsigned i = 0; i < sizeof(p->data); i++) {
		p->data[i] = (uint8_t)(seed * i);
		*sum += p->data[i];
	}
	return r;
}

/*
 * Submits null() calls tagged 1..n to cap at once, flushes, and collects
 * their n completions: status[tag] for each. Returns how many came back.
 */
/* Collects n completions of calls tagged 1..n into status[tag]; returns how many came. */
static unsigned collect_status(unsigned n, int status[])
{
	unsigned got = 0;

	while (got < n) {
		struct rl_completion c[64];
		int k = rl_call_poll(c, 64, 1);
		T_CHECK(k > 0);
		if (k <= 0)
			break;
		for (int j = 0; j < k; j++) {
			T_CHECK(c[j].tag >= 1 && c[j].tag <= n);
			if (c[j].tag >= 1 && c[j].tag <= n)
				status[c[j].tag] = c[j].status;
		}
		got += (unsigned)k;
	}
	return got;
}

static unsigned null_batch(rl_cap cap, unsigned n, int status[])
{
	for (unsigned i = 1; i <= n; i++)
		T_EQ(rl_call_submit(cap, RL_METHOD_Test_null, NULL, 0, i), 1);
	rl_call_flush();
	return collect_status(n, status);
}

static int victim_null(void *self)
{
	return 0;
}

static void check_scalars(rl_cap t)
{
	uint64_t v = 0;
	int32_t n = 0;

	T_EQ(Test_null(t), 0);
	T_EQ(Test_add(t, 2, 3, &v), 0);
	T_EQ(v, 5);
	T_EQ(Test_add(t, UINT64_MAX, 2, &v), 0);
	T_EQ(v, 1);
	T_EQ(Test_neg(t, 5, &n), 0);
	T_EQ(n, -5);
	T_EQ(Test_neg(t, -2147483647, &n), 0);
	T_EQ(n, 2147483647);
}

static void check_moved(rl_cap t)
{
	uint64_t sum, got = 0;
	rref_payload x = new_payload(3, &sum);

	T_EQ(Test_take(t, x, &got), 0);
	T_EQ(got, sum);
	/* Moved: gone from us, and the broker refuses a second move. */
	T_CHECK(rref_payload_get(x) == NULL);
	/* -EPERM while the callee still holds the slot, -ESTALE once it was freed */
	int again = Test_take(t, x, &got);
	T_CHECK(again == -EPERM || again == -ESTALE);
	T_CHECK(rl_rpc_from_broker());
}

static void check_borrowed(rl_cap t)
{
	uint64_t sum, got = 0;
	rref_payload x = new_payload(5, &sum);

	T_EQ(rl_rref_borrows(x.r), 0);
	T_EQ(Test_peek(t, x, &got), 0); /* the callee checks the loan is visible while it runs */
	T_EQ(got, sum);
	T_CHECK(rref_payload_get(x) != NULL);
	T_EQ(rl_rref_borrows(x.r), 0);
	T_EQ(Test_fill(t, x, 7), 0);
	rref_payload_drop(x);
}

static void check_returned(rl_cap t)
{
	rref_payload r = { RL_RREF_NULL };

	T_EQ(Test_make(t, 11, &r), 0);
	struct payload *p = rref_payload_get(r);
	T_CHECK(p != NULL);
	if (p)
		for (unsigned i = 0; i < sizeof(p->data); i++)
			if (p->data[i] != (uint8_t)(11 + i)) {
				T_CHECK(!"returned payload content");
				break;
			}
	rref_payload_drop(r);
}

static void check_graph(rl_cap t)
{
	enum { N = 20 };
	rref_node nodes[N];
	uint64_t want = 0, got = 0;

	for (int i = N - 1; i >= 0; i--) {
		T_EQ(rref_node_new(&nodes[i]), 0);
		struct node *n = rref_node_get(nodes[i]);
		n->value = (uint64_t)i * 1000 + 7;
		n->next = i == N - 1 ? (rref_node){ RL_RREF_NULL } : nodes[i + 1];
		want += n->value;
	}
	T_EQ(Test_sum_list(t, nodes[0], &got), 0);
	T_EQ(got, want);
	for (int i = 0; i < N; i++)
		T_CHECK(rref_node_get(nodes[i]) == NULL);
}

static void check_vec(rl_cap t)
{
	rref_vec_u32 v;
	uint64_t want = 0, got = 0;

	T_EQ(rref_vec_u32_new(100, &v), 0);
	struct vec_u32 *p = rref_vec_u32_get(v);
	for (uint32_t i = 0; i < 100; i++) {
		p->items[i] = i * i;
		want += i * i;
	}
	p->hdr.len = 100;
	T_EQ(Test_sum_vec(t, v, &got), 0);
	T_EQ(got, want);
	T_CHECK(rref_vec_u32_get(v) == NULL);
}

/* A ring that wraps (head 6, tail 11 of 8), each element pointing to a node: moved whole. */
static void check_deque(rl_cap t)
{
	rref_deque_node_8 q;
	rref_node extra[5];
	uint64_t want = 0, got = 0;

	T_EQ(rref_deque_node_8_new(&q), 0);
	struct deque_node_8 *d = rref_deque_node_8_get(q);
	d->hdr.head = 6;
	d->hdr.tail = 11;
	for (unsigned i = 0; i < 5; i++) {
		struct node *e = &d->items[(6 + i) % 8];
		e->value = 100 + i;
		T_EQ(rref_node_new(&extra[i]), 0);
		rref_node_get(extra[i])->value = 1000 * (i + 1);
		e->next = extra[i];
		want += e->value + 1000 * (i + 1);
	}
	/* A dead element (outside head..tail) pointing somewhere bogus must be ignored. */
	d->items[4].next = (rref_node){ { 0x7ffffff0u, 1 } };
	T_EQ(Test_sum_ring(t, q, &got), 0);
	T_EQ(got, want);
	T_CHECK(rref_deque_node_8_get(q) == NULL);
	for (unsigned i = 0; i < 5; i++)
		T_CHECK(rref_node_get(extra[i]) == NULL);
}

static void check_caps(rl_cap t)
{
	uint64_t r = 99;

	/* Pass our capability on: the callee calls through it (back into itself). */
	T_EQ(Test_call_null(t, t, &r), 0);
	T_EQ(r, 0);
	T_EQ(Test_null(0x12345), -EBADF);
	T_EQ(Test_call_null(t, 0x7777, &r), -EBADF);
	T_EQ(Test_null(RL_CAP_INVALID), -EBADF);
}

int rl_domain_main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--wait-crashy")) {
		uint64_t t0 = rl_now_ns();
		unsigned restarts = 0;
		rl_cap c = rl_cap_lookup(argv[2]);
		for (unsigned spins = 0; spins < 100000; spins++) {
			int r = rl_cap_wait_alive(c);
			if (r == -EHOSTDOWN)
				break;
			T_EQ(r, 0);
			rl_cap fresh = rl_cap_lookup(argv[2]);
			if (fresh != c) { /* a new incarnation */
				restarts++;
				c = fresh;
			} else {
				/* Alive for now: a call waits until it dies again (it never serves). */
				int n = Test_null(c);
				T_CHECK(n == -ECONNRESET || n == -EHOSTDOWN || n == -ESTALE);
			}
		}
		uint64_t ms = (rl_now_ns() - t0) / 1000000;
		rl_log("crashy: given up after %u restarts seen, %llu ms", restarts, (unsigned long long)ms);
		T_CHECK(restarts <= 20); /* it gave up instead of spinning */
		T_CHECK(ms >= 300);      /* and backed off while trying (10 ms doubling) */
		return t_report();
	}
	rl_cap t = rl_cap_lookup("test");
	if (t == RL_CAP_INVALID)
		rl_panic("no import named 'test'");

	if (argc == 3 && !strcmp(argv[1], "--checksum-fails")) {
		int want = !strcmp(argv[2], "ETIMEDOUT") ? -ETIMEDOUT : !strcmp(argv[2], "EHOSTDOWN") ? -EHOSTDOWN : 0;
		if (!want)
			rl_panic("--checksum-fails takes ETIMEDOUT or EHOSTDOWN, not '%s'", argv[2]);
		uint64_t t0 = rl_now_ns(), sum, got = 0;
		int r = Test_checksum(t, new_payload(1, &sum), &got);
		rl_log("checksum() returned %d (%s) after %llu ms", r, r ? strerrorname_np(-r) : "ok",
		       (unsigned long long)((rl_now_ns() - t0) / 1000000));
		T_EQ(r, want);
		T_EQ(rl_heap_audit(), 0);
		return t_report();
	}
	if (argc == 5 && !strcmp(argv[1], "--crash-at")) {
		unsigned n = (unsigned)strtoul(argv[2], NULL, 10);
		bool after = !strcmp(argv[4], "after");
		for (unsigned i = 1; i < n; i++)
			T_EQ(Test_null(t), 0);
		uint64_t sum, got = 0;
		rref_payload x = new_payload(9, &sum);
		int r = Test_take(t, x, &got);
		if (after) {
			T_EQ(r, 0); /* replied before dying: the reply counts */
			T_EQ(got, sum);
		} else {
			T_EQ(r, -ECONNRESET);
			T_CHECK(rl_rpc_from_broker());
		}
		T_CHECK(rref_payload_get(x) == NULL); /* moved either way; the broker reclaimed it */
		/* After a reply the callee may not be dead yet: the next call may race its death. */
		int next = Test_null(t);
		T_CHECK(next == -EHOSTDOWN || (after && next == -ECONNRESET));
		T_EQ(Test_null(t), -EHOSTDOWN);
		T_EQ(rl_cap_wait_alive(t), -EHOSTDOWN); /* policy never: not coming back */
		T_EQ(rl_heap_audit(), 0);
		return t_report();
	}
	if (argc == 5 && !strcmp(argv[1], "--crash-in-batch")) {
		char *e1, *e2;
		unsigned long n = strtoul(argv[2], &e1, 10), k = strtoul(argv[3], &e2, 10);
		bool after = !strcmp(argv[4], "after");
		if (*e1 || *e2 || !n || n > 64 || !k || k > n)
			rl_panic("--crash-in-batch needs N (1..64), K (1..N) and a point");
		int status[65];
		T_EQ(null_batch(t, (unsigned)n, status), n);
		for (unsigned long i = 1; i <= n; i++) {
			if (i < k || (i == k && after))
				T_EQ(status[i], 0);
			else
				T_CHECK(status[i] == -ECONNRESET || status[i] == -EHOSTDOWN);
		}
		T_EQ(rl_heap_audit(), 0);
		return t_report();
	}
	if (argc == 3 && !strcmp(argv[1], "--deadline")) {
		/* The import "test" has a deadline of MS (manifest): a 2 s call must end in -ETIMEDOUT at MS. */
		uint64_t ms = strtoull(argv[2], NULL, 10), t0 = rl_now_ns(), v = 0;
		rref_payload r;
		int ret = Test_slow_make(t, 2000, 3, &r);
		uint64_t took = (rl_now_ns() - t0) / 1000000;
		rl_log("deadline: slow_make returned %s after %llu ms", ret ? strerrorname_np(-ret) : "ok",
		       (unsigned long long)took);
		T_EQ(ret, -ETIMEDOUT);
		T_CHECK(took >= ms);
		/* The callee is still in slow_make: calls queue behind it and time out, until it is done. */
		unsigned late = 0;
		while ((ret = Test_null(t)) == -ETIMEDOUT && late < 1000)
			late++;
		T_EQ(ret, 0);
		T_EQ(Test_add(t, 2, 3, &v), 0);
		T_EQ(v, 5);
		rl_log("deadline: %u null() call(s) timed out while the callee was busy; then served", late);
		T_EQ(rl_heap_audit(), 0); /* the late reply's payload was freed, not leaked */
		return t_report();
	}
	if (argc == 2 && !strcmp(argv[1], "--slow-victim")) {
		/* Dies (killed from the CLI) while this call is in flight: 4 s leave the test room on a slow machine. */
		static const struct Test_ops dummy = { .null = victim_null };
		Test_export(&dummy, NULL);
		rref_payload r;
		int ret = Test_slow_make(t, 4000, 3, &r);
		rl_panic("slow_make returned %d: this domain should have been killed during it", ret);
	}
	if (argc == 2 && !strcmp(argv[1], "--after-orphan")) {
		/* Waits for the victim to die, then for the callee to finish the orphaned call. */
		rl_cap v = rl_cap_lookup("victim");
		struct timespec pause = { 0, 5000000 };
		unsigned polls = 0;
		while (Test_null(v) == 0 && polls++ < 2000)
			nanosleep(&pause, NULL); /* polling a condition, bounded */
		T_EQ(Test_null(v), -EHOSTDOWN);
		T_EQ(Test_null(t), 0); /* served after the orphaned slow_make: its reply was handled */
		T_EQ(rl_heap_audit(), 0);
		return t_report();
	}
	if (argc == 3 && !strcmp(argv[1], "--checksum")) {
		/*
		 * checksum() of payloads with known sums, back to back for the given
		 * seconds: every answer must be right (a shadow in front of a
		 * crashing callee must send each call's own bytes again).
		 */
		char *end;
		double seconds = strtod(argv[2], &end);
		if (*end || !(seconds >= 0 && seconds <= 3600))
			rl_panic("--checksum takes a number of seconds up to 3600 (0: until stopped), not '%s'", argv[2]);
		uint64_t t0 = rl_now_ns(), last = t0, now;
		unsigned long calls = 0;
		do {
			uint64_t sum, got = 0;
			rref_payload x = new_payload((uint8_t)(calls * 7 + rl_domain_id()), &sum);
			int rc = Test_checksum(t, x, &got);
			T_EQ(rc, 0);
			T_EQ(got, sum);
			if (rc || got != sum)
				break;
			calls++;
			now = rl_now_ns();
			if (now - last >= 2000000000ull) { /* progress, for a test that waits for it */
				rl_log("%lu checksum calls answered right so far", calls);
				last = now;
			}
		} while (!seconds || (double)(now - t0) / 1e9 < seconds);
		rl_log("%lu checksum calls answered right before the loop ended", calls);
		T_CHECK(calls > 0);
		return t_report();
	}
	if (argc == 3 && !strcmp(argv[1], "--burst")) {
		/* N null calls into import "burst" submitted at once, then collected: all must succeed. */
		rl_cap b = rl_cap_lookup("burst");
		char *end;
		unsigned long n = strtoul(argv[2], &end, 10);
		unsigned done = 0;
		if (b == RL_CAP_INVALID || *end || !n || n > 256)
			rl_panic("--burst needs an import 'burst' and a count of 1..256");
		for (unsigned round = 0; round < 20; round++) {
			static int status[257];
			done += null_batch(b, (unsigned)n, status);
			for (unsigned i = 1; i <= n; i++)
				T_EQ(status[i], 0);
		}
		T_EQ(done, 20 * n);
		T_EQ(rl_heap_audit(), 0);
		return t_report();
	}
	if (argc == 3 && !strcmp(argv[1], "--backlog")) {
		/*
		 * One slow call (the callee sleeps 1 s in it), then N null calls
		 * at once: they pile up behind it, more than the callee's rx ring
		 * holds, and every one must still complete.
		 */
		char *end;
		unsigned long n = strtoul(argv[2], &end, 10);
		if (*end || !n || n > 1000) /* the broker allows 1 024 calls in flight per domain */
			rl_panic("--backlog takes a count of 1..1000");
		static int status[1002];
		/*
		 * A first make() fills the callee's allocator, so the slow call's
		 * allocation sends nothing to the broker: nothing the broker sends
		 * the callee while the calls wait can be what delivers them.
		 */
		rref_payload r = { RL_RREF_NULL };
		T_EQ(Test_make(t, 1, &r), 0);
		rref_payload_drop(r);
		uint64_t slow[2] = { 1000, 1 }; /* time enough for n submissions on a slow machine */
		T_EQ(rl_call_submit(t, RL_METHOD_Test_slow_make, slow, 2, n + 1), 1);
		for (unsigned long i = 1; i <= n + 1; i++)
			status[i] = 1; /* no completion yet */
		for (unsigned long i = 1; i <= n; i++)
			T_EQ(rl_call_submit(t, RL_METHOD_Test_null, NULL, 0, i), 1);
		rl_call_flush();
		T_EQ(collect_status((unsigned)n + 1, status), n + 1);
		for (unsigned long i = 1; i <= n + 1; i++)
			T_EQ(status[i], 0);
		return t_report();
	}
	if (argc > 1 && !strcmp(argv[1], "--loop")) {
		for (uint64_t i = 0;; i++) {
			uint64_t sum, got;
			rref_payload x = new_payload((uint8_t)i, &sum);
			if (Test_take(t, x, &got) || got != sum)
				rl_panic("call %llu failed", (unsigned long long)i);
		}
	}
	bool victims = true;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--victim") || !strcmp(argv[i], "--survivor")) {
			victims = !strcmp(argv[i], "--victim");
			continue;
		}
		rl_cap v = rl_cap_lookup(argv[i]);
		if (v == RL_CAP_INVALID)
			rl_panic("no import named '%s'", argv[i]);
		if (!victims) {
			T_EQ(Test_null(v), 0);
			continue;
		}
		T_EQ(Test_null(v), -ECONNRESET);
		T_CHECK(rl_rpc_from_broker());
		T_EQ(Test_null(v), -EHOSTDOWN);
	}
	check_scalars(t);
	check_moved(t);
	check_borrowed(t);
	check_returned(t);
	check_graph(t);
	check_vec(t);
	check_deque(t);
	check_caps(t);
	T_EQ(rl_heap_audit(), 0);
	return t_report();
}
