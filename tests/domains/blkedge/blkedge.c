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
 * 3. With --wait-eio, logs "ready for truncation" and reads block N-1 until
 *    that fails (the test cuts the file inside that block, so the read comes
 *    back short), for at most 20 s: the failure must be -EIO.
 * Each step is logged; any unexpected result is a panic, and the domain
 * exits 0 after the last step.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

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
	if (wait_eio)
		wait_for_eio(dev, last);
	return 0;
}
