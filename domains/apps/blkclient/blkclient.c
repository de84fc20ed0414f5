// SPDX-License-Identifier: MIT
/*
 * A client of BDev: writes a pattern derived from (block, round) to every
 * block, reads everything back through moved buffers and verifies it.
 *
 *   blkclient [--rounds N] [--seconds S] [--first B] [--blocks N] [--batch N]
 *
 * It uses blocks B .. B+N-1 (default: all of the device from 0), so several
 * clients can share one device.
 * --rounds 0 runs until the broker stops it (or, with --seconds, until the
 * first round that ends after S seconds), logging throughput every 2
 * seconds; otherwise it exits 0 after N verified rounds. Any failed call or
 * any block that does not read back what was written is a panic.
 * --batch N (1..BATCH_MAX) does the same through BDev.batch, N consecutive
 * blocks per call, and checks every request's status.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blkbatch.h"
#include "redleaf/clock.h"
#include "redleaf_idl.h"

static void pattern(uint8_t *buf, uint32_t blockno, uint64_t round)
{
	uint64_t x = ((uint64_t)blockno << 32) ^ (round * 0x9e3779b97f4a7c15ULL);
	for (unsigned i = 0; i < RL_CONST_BSIZE; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
}

static unsigned long long parse(const char *opt, const char *v)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	if (*end || *v == '-')
		rl_panic("%s takes a number, not '%s'", opt, v);
	return n;
}

/* One round over [first, first + blocks), a block per call: writes, then reads and verifies. */
static void single_round(rl_cap dev, rref_block *buf, uint64_t first, uint64_t blocks, uint64_t round)
{
	uint8_t expect[RL_CONST_BSIZE];
	int ret;

	for (uint32_t b = (uint32_t)first; b < first + blocks; b++) {
		pattern(rref_block_get(*buf)->data, b, round);
		if ((ret = BDev_write(dev, b, *buf)))
			rl_panic("write of block %u failed: %d", b, ret);
	}
	for (uint32_t b = (uint32_t)first; b < first + blocks; b++) {
		rref_block back;
		if ((ret = BDev_read(dev, b, *buf, &back)))
			rl_panic("read of block %u failed: %d", b, ret);
		*buf = back;
		pattern(expect, b, round);
		if (memcmp(rref_block_get(*buf)->data, expect, RL_CONST_BSIZE))
			rl_panic("block %u of round %llu does not read back what was written", b,
				 (unsigned long long)round);
	}
}

/* One round over [first, first + blocks) in batches of up to n: writes, then reads and verifies. */
static void batch_round(rl_cap dev, rref_deque_breq_128 *q, unsigned n, uint64_t first, uint64_t blocks,
			uint64_t round)
{
	uint8_t expect[RL_CONST_BSIZE];

	for (int op = RL_CONST_BREQ_WRITE; op >= RL_CONST_BREQ_READ; op--) {
		for (uint64_t b = first; b < first + blocks; b += n) {
			struct deque_breq_128 *d = rref_deque_breq_128_get(*q);
			unsigned k = first + blocks - b < n ? (unsigned)(first + blocks - b) : n;
			d->hdr.head = 0;
			d->hdr.tail = k;
			for (unsigned i = 0; i < k; i++) {
				blkbatch_set(d, i, (uint32_t)op, b + i);
				if (op == RL_CONST_BREQ_WRITE)
					pattern(rref_block_get(d->items[i].data)->data, (uint32_t)(b + i), round);
			}
			rref_deque_breq_128 back;
			int ret = BDev_batch(dev, *q, &back);
			if (ret)
				rl_panic("batch of %u at block %llu failed: %d", k, (unsigned long long)b, ret);
			*q = back;
			if (!(d = rref_deque_breq_128_get(back)) || blkbatch_len(d) != k)
				rl_panic("batch at block %llu came back with %u requests, not %u",
					 (unsigned long long)b, d ? blkbatch_len(d) : 0, k);
			for (unsigned i = 0; i < k; i++) {
				struct breq *r = blkbatch_req(d, i);
				const struct block *blk = rref_block_get(r->data);
				if (r->status || r->blockno != b + i || !blk)
					rl_panic("request for block %llu: status %d, block %llu, buffer %s",
						 (unsigned long long)(b + i), r->status, (unsigned long long)r->blockno,
						 blk ? "ours" : "lost");
				if (op == RL_CONST_BREQ_READ) {
					pattern(expect, (uint32_t)(b + i), round);
					if (memcmp(blk->data, expect, RL_CONST_BSIZE))
						rl_panic("block %llu of round %llu does not read back what was written",
							 (unsigned long long)(b + i), (unsigned long long)round);
				}
			}
		}
	}
}

int rl_domain_main(int argc, char **argv)
{
	unsigned long long rounds = 3, blocks = 0, first = 0, seconds = 0, batch = 0;
	rl_cap dev = rl_cap_lookup("bdev");

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = parse("--rounds", argv[++i]);
		else if (!strcmp(argv[i], "--blocks") && i + 1 < argc)
			blocks = parse("--blocks", argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = parse("--seconds", argv[++i]);
		else if (!strcmp(argv[i], "--first") && i + 1 < argc)
			first = parse("--first", argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
			batch = parse("--batch", argv[++i]);
			if (!batch || batch > BLKBATCH_MAX)
				rl_panic("--batch takes 1 to %d requests, not %llu", (int)BLKBATCH_MAX, batch);
		}
		else
			rl_panic("unknown argument '%s' (usage: blkclient [--rounds N] [--seconds S] [--first B] "
				 "[--blocks N] [--batch N])", argv[i]);
	}
	if (dev == RL_CAP_INVALID)
		rl_panic("no import named 'bdev'");
	uint64_t n = 0;
	int ret = BDev_nblocks(dev, &n);
	if (ret)
		rl_panic("nblocks failed: %d", ret);
	if (first >= n)
		rl_panic("--first %llu is past the device's %llu blocks", first, (unsigned long long)n);
	if (!blocks || blocks > n - first)
		blocks = n - first;

	rref_block buf;
	rref_deque_breq_128 q = { RL_RREF_NULL };
	if ((ret = rref_block_new(&buf)))
		rl_panic("cannot allocate a block: %d", ret);
	if (batch && (ret = blkbatch_new((unsigned)batch, &q)))
		rl_panic("cannot allocate a batch of %llu: %d", batch, ret);
	uint64_t t0 = rl_now_ns(), last = t0, bytes = 0;
	unsigned long long round;
	for (round = 0; !rounds || round < rounds; round++) {
		if (seconds && rl_now_ns() - t0 >= seconds * 1000000000ull)
			break;
		if (batch)
			batch_round(dev, &q, (unsigned)batch, first, blocks, round);
		else
			single_round(dev, &buf, first, blocks, round);
		bytes += 2 * blocks * RL_CONST_BSIZE;
		uint64_t now = rl_now_ns();
		if (!rounds && now - last > 2000000000ull) {
			rl_log("round %llu verified; %.1f MB/s (writes + reads%s)", round,
			       bytes / 1e6 / ((now - last) / 1e9), batch ? ", in batches" : "");
			last = now;
			bytes = 0;
		}
	}
	rref_block_drop(buf);
	if (batch)
		blkbatch_free(q);
	rl_log("%llu round(s) of %llu blocks written, read back and verified%s", round, blocks,
	       batch ? " in batches" : "");
	return 0;
}
