// SPDX-License-Identifier: MIT
/*
 * A BDev client that sends what a block device must refuse, and waits for
 * a failure of its backing store (tests/uringblk.sh):
 *
 *   blkedge [--wait-eio]
 *
 * 1. Reads nblocks() = N, writes block N-1 with a pattern and reads it back.
 * 2. Writes and reads blocks N, N+1 and 0xffffffff: each must fail with
 *    -EINVAL (a moved-in read buffer is then gone, so each read gets a new
 *    one).
 * 3. A batch of five requests, of which one is good: a read of N-1, an op
 *    that is neither read nor write, blocks N and 2^40 and a request
 *    without a block must come back 0 (with the pattern), -EINVAL, -EINVAL,
 *    -EINVAL, -EPERM. A batch whose deque claims 1000 requests is clamped
 *    to its 128 slots. The broker refuses, and leaves with us, a batch that
 *    names one block twice (-EINVAL) or a block that is not ours (a handle
 *    we dropped: -ESTALE or -EPROTOTYPE, by when the drop reached it).
 * 4. With --wait-eio, logs "ready for truncation" and reads block N-1 until
 *    that fails (the test cuts the file inside that block, so the read comes
 *    back short), for at most 20 s: the failure must be -EIO.
 * Each step is logged; any unexpected result is a panic, and the domain
 * exits 0 after the last step.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "blkbatch.h"
#include "redleaf/clock.h"
#include "redleaf_idl.h"

#define MARK 0x5a

static rref_block new_block(void)
{
	rref_block b;
	int r = rref_block_new(&b);

	if (r)
		rl_panic("cannot allocate a block: %d", r);
	return b;
}

/* A read of blockno, whose result is returned; the buffer is dropped either way. */
static int read_status(rl_cap dev, uint32_t blockno, uint8_t first_byte_out[static 1])
{
	rref_block back;
	int r = BDev_read(dev, blockno, new_block(), &back);

	if (!r) {
		*first_byte_out = rref_block_get(back)->data[0];
		rref_block_drop(back);
	}
	return r;
}

static void expect_refused(rl_cap dev, uint32_t blockno)
{
	rref_block buf = new_block();
	uint8_t byte;

	memset(rref_block_get(buf)->data, MARK, RL_CONST_BSIZE);
	int w = BDev_write(dev, blockno, buf);
	rref_block_drop(buf);
	int r = read_status(dev, blockno, &byte);
	if (w != -EINVAL || r != -EINVAL)
		rl_panic("block %u: write returned %d, read %d; both should be -EINVAL", blockno, w, r);
	rl_log("block %u refused: -EINVAL for write and read", blockno);
}

static void batch_edge(rl_cap dev, uint64_t n)
{
	static const int want[] = { 0, -EINVAL, -EINVAL, -EINVAL, -EPERM };
	rref_deque_breq_128 q, back;
	rref_block stale = new_block();
	int r;

	rref_block_drop(stale); /* its handle now names an object of nobody's */
	if ((r = blkbatch_new(5, &q)))
		rl_panic("cannot allocate a batch: %d", r);
	struct deque_breq_128 *d = rref_deque_breq_128_get(q);
	blkbatch_set(d, 0, RL_CONST_BREQ_READ, n - 1);
	blkbatch_set(d, 1, 7, 0);
	blkbatch_set(d, 2, RL_CONST_BREQ_WRITE, n);
	blkbatch_set(d, 3, RL_CONST_BREQ_READ, 1ull << 40);
	blkbatch_set(d, 4, RL_CONST_BREQ_READ, 0);
	rref_block_drop(d->items[4].data);
	d->items[4].data = (rref_block){ RL_RREF_NULL };
	if ((r = BDev_batch(dev, q, &back)))
		rl_panic("a batch with bad requests failed as a whole: %d", r);
	if (!(d = rref_deque_breq_128_get(back)) || blkbatch_len(d) != 5)
		rl_panic("the batch came back with %u requests, not 5", d ? blkbatch_len(d) : 0);
	for (unsigned i = 0; i < 5; i++)
		if (d->items[i].status != want[i])
			rl_panic("batch request %u: status %d, not %d", i, d->items[i].status, want[i]);
	if (rref_block_get(d->items[0].data)->data[0] != MARK)
		rl_panic("the good request of the batch did not read the pattern");
	rl_log("batch: good request done, bad ones refused (-EINVAL x3, -EPERM)");

	/* A deque that claims more than it holds: clamped to its slots, the extra ones without blocks. */
	for (unsigned i = 5; i < BLKBATCH_MAX; i++)
		d->items[i] = (struct breq){ .data = { RL_RREF_NULL } };
	d->hdr.tail = d->hdr.head + 1000;
	if ((r = BDev_batch(dev, back, &q)))
		rl_panic("an overfull batch failed as a whole: %d", r);
	if (!(d = rref_deque_breq_128_get(q)))
		rl_panic("the overfull batch did not come back");
	for (unsigned i = 5; i < BLKBATCH_MAX; i++)
		if (d->items[i].status != -EPERM)
			rl_panic("request %u of the overfull batch: status %d, not -EPERM", i, d->items[i].status);
	rl_log("batch claiming 1000 requests: served as %u", blkbatch_len(d));

	/* One block named twice: not a single-owner graph, so it never leaves us. */
	d->hdr.head = 0;
	d->hdr.tail = 2;
	blkbatch_set(d, 0, RL_CONST_BREQ_READ, 0);
	blkbatch_set(d, 1, RL_CONST_BREQ_READ, 1);
	rref_block keep = d->items[1].data;
	d->items[1].data = d->items[0].data;
	r = BDev_batch(dev, q, &back);
	if (r != -EINVAL || !rref_deque_breq_128_get(q))
		rl_panic("a batch naming one block twice: %d, deque %s", r,
			 rref_deque_breq_128_get(q) ? "ours" : "gone");
	rl_log("batch naming one block twice refused: -EINVAL, still ours");

	/* A block we do not own: the broker checks every nested handle before anything moves. */
	d->items[1].data = stale;
	r = BDev_batch(dev, q, &back);
	if (r >= 0 || !rref_deque_breq_128_get(q) || !rref_block_get(d->items[0].data))
		rl_panic("a batch with a stale block: %d, deque %s", r, rref_deque_breq_128_get(q) ? "ours" : "gone");
	rl_log("batch with a block not ours refused (%d), still ours", r);
	d->items[1].data = keep;
	blkbatch_free(q);
}

static void wait_for_eio(rl_cap dev, uint32_t blockno)
{
	uint64_t until = rl_now_ns() + 20000000000ull;
	uint8_t byte;
	int r;

	rl_log("ready for truncation");
	while (!(r = read_status(dev, blockno, &byte)) && rl_now_ns() < until)
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	if (r != -EIO)
		rl_panic("reading block %u of a truncated file returned %d, not -EIO", blockno, r);
	rl_log("short read of block %u: -EIO", blockno);
}

int rl_domain_main(int argc, char **argv)
{
	rl_cap dev = rl_cap_lookup("bdev");
	uint64_t n = 0;
	uint8_t byte = 0;
	bool wait_eio = argc == 2 && !strcmp(argv[1], "--wait-eio");

	if (dev == RL_CAP_INVALID)
		rl_panic("no import named 'bdev'");
	if (argc > 1 && !wait_eio)
		rl_panic("usage: blkedge [--wait-eio]");
	int r = BDev_nblocks(dev, &n);
	if (r || !n || n > UINT32_MAX)
		rl_panic("nblocks: %d, %llu blocks", r, (unsigned long long)n);
	uint32_t last = (uint32_t)(n - 1);

	rref_block buf = new_block();
	memset(rref_block_get(buf)->data, MARK, RL_CONST_BSIZE);
	if ((r = BDev_write(dev, last, buf)))
		rl_panic("write of the last block %u failed: %d", last, r);
	rref_block_drop(buf);
	if ((r = read_status(dev, last, &byte)) || byte != MARK)
		rl_panic("read of the last block %u: %d, first byte %#x", last, r, byte);
	rl_log("last block %u written and read back", last);

	expect_refused(dev, last + 1);
	if (last + 2 != 0)
		expect_refused(dev, last + 2);
	expect_refused(dev, UINT32_MAX);
	batch_edge(dev, n);
	if (wait_eio)
		wait_for_eio(dev, last);
	return 0;
}
