// SPDX-License-Identifier: MIT
/*
 * The broker's wait for a dead domain's direct I/O (src/broker/uring.c,
 * rl_uring_drain): a ring whose request cannot complete yet (a read of an
 * empty pipe) must not count as drained, even after its submitter let go
 * of the ring; once the request completes, it must. Also with the CQ full
 * (completions held back until someone consumes), and with nothing in
 * flight at all.
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uring.h"

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #c);   \
			exit(1);                                                          \
		}                                                                         \
	} while (0)

/* A ring with n reads of the pipe in flight, handed to a watch; the submitter's ring is gone after. */
static struct rl_uring_watch *ring_with_reads(int pipe_r, unsigned n, unsigned entries, char *buf)
{
	struct io_uring ring;
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	CHECK(io_uring_queue_init_params(entries, &ring, &p) == 0);
	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		if (!sqe) { /* the SQ is smaller than n: submit what is there */
			CHECK(io_uring_submit(&ring) > 0);
			sqe = io_uring_get_sqe(&ring);
		}
		CHECK(sqe);
		io_uring_prep_read(sqe, pipe_r, buf + i, 1, 0);
	}
	CHECK(io_uring_submit(&ring) >= 0);
	struct rl_uring_watch *w = rl_uring_watch(ring.ring_fd, &p);
	CHECK(w);
	io_uring_queue_exit(&ring); /* as a dead domain's: only the watch holds the ring now */
	return w;
}

int main(void)
{
	int fds[2];
	char buf[64];
	unsigned left = 99;

	CHECK(rl_uring_drain(NULL, 0, &left) && left == 0);

	/* Nothing in flight: drained at once. */
	CHECK(pipe(fds) == 0);
	struct rl_uring_watch *w = ring_with_reads(fds[0], 0, 4, buf);
	CHECK(rl_uring_drain(w, 100, &left) && left == 0);

	/* One read waiting for data: not drained within 100 ms, one left. */
	w = ring_with_reads(fds[0], 1, 4, buf);
	CHECK(!rl_uring_drain(w, 100, &left) && left == 1);
	CHECK(write(fds[1], "x", 1) == 1); /* completes that read, in a ring nobody holds now */
	close(fds[0]);
	close(fds[1]);

	/*
	 * Six reads in a ring whose CQ holds 4: once data comes, two completions
	 * wait behind a full CQ until someone consumes; the drain must do so.
	 */
	CHECK(pipe(fds) == 0);
	w = ring_with_reads(fds[0], 6, 2, buf);
	CHECK(write(fds[1], "abcdef", 6) == 6);
	CHECK(rl_uring_drain(w, 2000, &left) && left == 0);
	close(fds[0]);
	close(fds[1]);
	printf("ok: a ring drains only when every request it took has completed\n");
	return 0;
}
