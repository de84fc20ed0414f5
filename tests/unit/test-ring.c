// SPDX-License-Identifier: MIT
/*
 * The SPSC ring between two real processes: order and completeness of
 * short and long messages (with pads where a long one would wrap) under
 * batching with futex sleeps, and robustness against impossible indices
 * and a producer that lies about a message's length.
 */
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../helpers.h"
#include "ring.h"

#define COUNT 1000000u

static void produce(struct rl_ring *r)
{
	struct rl_ring_prod p;
	uint32_t seq = 0, batch = 1;

	rl_ring_prod_init(&p, r);
	while (seq < COUNT) {
		batch = batch * 1103515245u + 12345u;
		uint32_t n = 1 + (batch >> 16) % 64;
		for (uint32_t i = 0; i < n && seq < COUNT; i++) {
			struct rl_msg *m;
			unsigned units = seq % 3 ? 1 : 2; /* every third message is long */
			while (!(m = rl_ring_reserve(&p, units))) {
				if (rl_ring_publish(&p))
					rl_ring_wake(r);
				sched_yield();
			}
			memset(m, 0, units * RL_UNIT_BYTES);
			m->flags = units == 2 ? RL_MSG_F_LONG : 0;
			m->tag = seq;
			m->arg[0] = seq;
			if (units == 2)
				m->arg[4] = ~(uint64_t)seq;
			rl_ring_commit(&p, units);
			seq++;
		}
		if (rl_ring_publish(&p))
			rl_ring_wake(r);
	}
}

static int consume(struct rl_ring *r)
{
	struct rl_ring_cons c;
	uint32_t want = 0;

	rl_ring_cons_init(&c, r);
	while (want < COUNT) {
		int n = rl_ring_ready(&c);
		if (n < 0)
			return 1;
		if (!n) {
			atomic_store(&r->consumer_sleeping, 1);
			atomic_thread_fence(memory_order_seq_cst);
			uint32_t t = atomic_load(&r->tail);
			if (t == c.head)
				rl_futex_wait(&r->tail, t, NULL);
			atomic_store(&r->consumer_sleeping, 0);
			continue;
		}
		struct rl_msg m;
		while ((n = rl_ring_take(&c, &m)) > 0) {
			uint64_t last = want % 3 ? 0 : ~(uint64_t)want;
			if (m.tag != want || m.arg[0] != want || m.arg[4] != last) {
				fprintf(stderr, "FAIL: got %llu, expected %u\n", (unsigned long long)m.tag, want);
				return 1;
			}
			want++;
		}
		if (n < 0)
			return 1;
		rl_ring_release(&c);
	}
	return 0;
}

static void test_two_processes(void)
{
	struct rl_ring *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	t_assert(r != MAP_FAILED);
	memset(r, 0, sizeof(*r));
	pid_t pid = fork();
	if (pid == 0) {
		produce(r);
		_exit(0);
	}
	t_assert_eq(consume(r), 0);
	int status;
	waitpid(pid, &status, 0);
	t_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	munmap(r, sizeof(*r));
}

static void test_impossible_indices(void)
{
	static struct rl_ring r;
	struct rl_ring_prod p;
	struct rl_ring_cons c;

	rl_ring_prod_init(&p, &r);
	rl_ring_cons_init(&c, &r);
	/* A tail more than a ring ahead, or behind the consumer, is refused. */
	atomic_store(&r.tail, RL_RING_UNITS + 1);
	t_assert_eq(rl_ring_ready(&c), -EPROTO);
	atomic_store(&r.tail, (uint32_t)-5);
	t_assert_eq(rl_ring_ready(&c), -EPROTO);
	atomic_store(&r.tail, RL_RING_UNITS);
	t_assert_eq(rl_ring_ready(&c), (int)RL_RING_UNITS); /* exactly full is fine */
	atomic_store(&r.tail, 0);
	c.tail_cache = 0;

	/* A consumer head that is ahead of the producer makes the ring look full, never out of bounds. */
	for (unsigned i = 0; i < RL_RING_UNITS; i++) {
		t_assert(rl_ring_reserve(&p, 1) != NULL);
		rl_ring_commit(&p, 1);
	}
	t_assert(rl_ring_reserve(&p, 1) == NULL);
	atomic_store(&r.head, 12345);
	t_assert(rl_ring_reserve(&p, 1) == NULL);
	atomic_store(&r.head, 10);
	t_assert(rl_ring_reserve(&p, 1) != NULL);
}

/* Pads, partly published long messages, and a long flag on the ring's last unit. */
static void test_units(void)
{
	static struct rl_ring r;
	struct rl_ring_prod p;
	struct rl_ring_cons c;
	struct rl_msg m;
	/* Through a variable: only the first 32 bytes of a message at the last unit are in the ring. */
	volatile uint32_t last = RL_RING_MASK;

	/* A long message reserved at the last unit gets a pad first and starts at unit 0. */
	atomic_store(&r.tail, RL_RING_MASK);
	atomic_store(&r.head, RL_RING_MASK);
	rl_ring_prod_init(&p, &r);
	rl_ring_cons_init(&c, &r);
	struct rl_msg *slot = rl_ring_reserve(&p, 2);
	t_assert(slot == rl_ring_at(&r, 0));
	t_assert_eq(rl_ring_at(&r, last)->kind, RL_MSG_PAD);
	slot->kind = RL_MSG_CALL;
	slot->flags = RL_MSG_F_LONG;
	slot->tag = 7;
	slot->arg[4] = 9;
	rl_ring_commit(&p, 2);
	/* Only the pad and the first half published: nothing to take yet. */
	atomic_store(&r.tail, RL_RING_MASK + 2);
	t_assert_eq(rl_ring_take(&c, &m), 0);
	rl_ring_publish(&p);
	t_assert_eq(rl_ring_take(&c, &m), 1);
	t_assert(m.tag == 7 && m.arg[4] == 9);
	t_assert_eq(c.head, RL_RING_MASK + 3);
	/* A short one: arg[1..4] come out zero whatever lies in the next unit. */
	slot = rl_ring_reserve(&p, 1);
	memset(slot, 0xff, 2 * RL_UNIT_BYTES);
	slot->flags = 0;
	slot->tag = 8;
	rl_ring_commit(&p, 1);
	rl_ring_publish(&p);
	t_assert_eq(rl_ring_take(&c, &m), 1);
	t_assert(m.tag == 8 && m.arg[1] == 0 && m.arg[4] == 0);
	t_assert_eq(rl_ring_take(&c, &m), 0);

	/* Pads in a row: one is skipped, a second ends the take (a hostile producer cannot hold us). */
	memset(&r, 0, sizeof(r));
	rl_ring_cons_init(&c, &r);
	for (unsigned i = 0; i < 4; i++)
		rl_ring_at(&r, i)->kind = RL_MSG_PAD;
	rl_ring_at(&r, 4)->tag = 6;
	atomic_store(&r.tail, 5);
	t_assert_eq(rl_ring_take(&c, &m), 0);
	t_assert_eq(c.head, 2u);
	t_assert_eq(rl_ring_take(&c, &m), 0);
	t_assert_eq(rl_ring_take(&c, &m), 1);
	t_assert_eq(m.tag, 6u);

	/* A producer flagging its ring's last unit long: the second half is unit 0, never past the end. */
	memset(&r, 0, sizeof(r));
	atomic_store(&r.head, RL_RING_MASK);
	rl_ring_cons_init(&c, &r);
	rl_ring_at(&r, last)->flags = RL_MSG_F_LONG;
	rl_ring_at(&r, last)->tag = 5;
	rl_ring_at(&r, 0)->tag = 0x1234; /* lands in arg[1]'s place */
	atomic_store(&r.tail, RL_RING_MASK + 2);
	t_assert_eq(rl_ring_take(&c, &m), 1);
	t_assert(m.tag == 5 && m.arg[2] == 0x1234);
}

/*
 * Taking a batch: short and long messages and a pad in one call, a stop at
 * a long message whose second unit is not published yet (the messages
 * before it still count), a stop at a second pad in a row, and an
 * impossible tail reported only when nothing was taken.
 */
static void test_take_many(void)
{
	static struct rl_ring r;
	struct rl_ring_cons c;
	struct rl_msg out[8];

	rl_ring_cons_init(&c, &r);
	rl_ring_at(&r, 0)->tag = 1;
	rl_ring_at(&r, 1)->flags = RL_MSG_F_LONG;
	rl_ring_at(&r, 1)->tag = 2;
	rl_ring_at(&r, 2)->tag = 0x22; /* lands in the long one's arg[2] */
	rl_ring_at(&r, 3)->kind = RL_MSG_PAD;
	rl_ring_at(&r, 4)->tag = 3; /* short: its arg[1] would be unit 5's first word, which is not zero */
	rl_ring_at(&r, 5)->flags = RL_MSG_F_LONG;
	rl_ring_at(&r, 5)->tag = 4;
	atomic_store(&r.tail, 6); /* the last long message's second unit is not published */
	t_assert_eq(rl_ring_take_many(&c, out, 8), 3);
	t_assert(out[0].tag == 1 && out[1].tag == 2 && out[1].arg[2] == 0x22 && out[2].tag == 3);
	t_assert_eq(out[2].arg[1], 0);
	t_assert_eq(c.head, 5u); /* stopped in front of the half-published message */
	t_assert_eq(rl_ring_take_many(&c, out, 8), 0);
	atomic_store(&r.tail, 7);
	t_assert_eq(rl_ring_take_many(&c, out, 8), 1);
	t_assert_eq(out[0].tag, 4u);

	/* max bounds the batch; the rest stays for the next call. */
	for (unsigned i = 7; i < 12; i++) {
		memset(rl_ring_at(&r, i), 0, RL_UNIT_BYTES);
		rl_ring_at(&r, i)->tag = i;
	}
	atomic_store(&r.tail, 12);
	t_assert_eq(rl_ring_take_many(&c, out, 2), 2);
	t_assert(out[0].tag == 7 && out[1].tag == 8);
	t_assert_eq(rl_ring_take_many(&c, out, 8), 3);
	t_assert_eq(out[2].tag, 11u);

	/* Two pads in a row end the batch, with what came before them. */
	memset(&r, 0, sizeof(r));
	rl_ring_cons_init(&c, &r);
	rl_ring_at(&r, 0)->tag = 1;
	rl_ring_at(&r, 1)->kind = RL_MSG_PAD;
	rl_ring_at(&r, 2)->kind = RL_MSG_PAD;
	rl_ring_at(&r, 3)->tag = 2;
	atomic_store(&r.tail, 4);
	t_assert_eq(rl_ring_take_many(&c, out, 8), 1);
	t_assert_eq(rl_ring_take_many(&c, out, 8), 1);
	t_assert_eq(out[0].tag, 2u);

	/* An impossible tail behind good messages: they count, the error comes when there are none. */
	memset(&r, 0, sizeof(r));
	rl_ring_cons_init(&c, &r);
	rl_ring_at(&r, 0)->tag = 1;
	rl_ring_at(&r, 1)->tag = 2;
	atomic_store(&r.tail, 2);
	t_assert_eq(rl_ring_take_many(&c, out, 1), 1);
	atomic_store(&r.tail, 2 + RL_RING_UNITS + 1); /* read once the known message is taken */
	t_assert_eq(rl_ring_take_many(&c, out, 8), 1);
	t_assert_eq(out[0].tag, 2u);
	t_assert_eq(rl_ring_take_many(&c, out, 8), -EPROTO);
}

/*
 * A quiet publish (the middle of a stream) does not read the sleeping flag;
 * the publish that follows it must, even with nothing new to make visible,
 * or a consumer that fell asleep in between is never woken.
 */
static void test_quiet_publish(void)
{
	static struct rl_ring r;
	struct rl_ring_prod p;

	rl_ring_prod_init(&p, &r);
	t_assert(!rl_ring_publish(&p)); /* nothing committed: nothing to do */
	rl_ring_reserve(&p, 1)->tag = 1;
	rl_ring_commit(&p, 1);
	rl_ring_publish_quiet(&p);
	t_assert_eq(atomic_load(&r.tail), 1u); /* visible at once */
	atomic_store(&r.consumer_sleeping, 1); /* the consumer saw it, then fell asleep */
	t_assert(rl_ring_publish(&p));         /* the closing publish asks, and wakes it */
	/* Once asked, a publish with nothing new does not look again. */
	t_assert(!rl_ring_publish(&p));
}

int main(void)
{
	test_impossible_indices();
	test_units();
	test_take_many();
	test_quiet_publish();
	test_two_processes();
	return t_result();
}
