// SPDX-License-Identifier: MIT
/*
 * The SPSC ring between two real processes: order and completeness under
 * batching with futex sleeps, and robustness against impossible indices.
 */
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../helpers.h"
#include "redleaf/ring.h"

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
			while (!(m = rl_ring_reserve(&p))) {
				if (rl_ring_publish(&p))
					rl_ring_wake(r);
				sched_yield();
			}
			memset(m, 0, sizeof(*m));
			m->tag = seq;
			m->arg[4] = ~(uint64_t)seq;
			rl_ring_commit(&p);
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
		while (n--) {
			const struct rl_msg *m = rl_ring_peek(&c);
			if (m->tag != want || m->arg[4] != ~(uint64_t)want) {
				fprintf(stderr, "FAIL: got %llu, expected %u\n", (unsigned long long)m->tag, want);
				return 1;
			}
			rl_ring_pop(&c);
			want++;
		}
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
	atomic_store(&r.tail, RL_RING_SLOTS + 1);
	t_assert_eq(rl_ring_ready(&c), -EPROTO);
	atomic_store(&r.tail, (uint32_t)-5);
	t_assert_eq(rl_ring_ready(&c), -EPROTO);
	atomic_store(&r.tail, RL_RING_SLOTS);
	t_assert_eq(rl_ring_ready(&c), (int)RL_RING_SLOTS); /* exactly full is fine */
	atomic_store(&r.tail, 0);
	c.tail_cache = 0;

	/* A consumer head that is ahead of the producer makes the ring look full, never out of bounds. */
	for (unsigned i = 0; i < RL_RING_SLOTS; i++) {
		t_assert(rl_ring_reserve(&p) != NULL);
		rl_ring_commit(&p);
	}
	t_assert(rl_ring_reserve(&p) == NULL);
	atomic_store(&r.head, 12345);
	t_assert(rl_ring_reserve(&p) == NULL);
	atomic_store(&r.head, 10);
	t_assert(rl_ring_reserve(&p) != NULL);
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
	rl_ring_reserve(&p)->tag = 1;
	rl_ring_commit(&p);
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
	test_quiet_publish();
	test_two_processes();
	return t_result();
}
