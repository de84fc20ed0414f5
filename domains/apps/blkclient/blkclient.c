// SPDX-License-Identifier: MIT
/*
 * A client of BDev: writes a pattern derived from (block, round) to every
 * block, reads everything back through moved buffers and verifies it.
 *
 *   blkclient [--rounds N] [--seconds S] [--first B] [--blocks N]
 *
 * It uses blocks B .. B+N-1 (default: all of the device from 0), so several
 * clients can share one device.
 * --rounds 0 runs until the broker stops it (or, with --seconds, until the
 * first round that ends after S seconds), logging throughput every 2
 * seconds; otherwise it exits 0 after N verified rounds. Any failed call or
 * any block that does not read back what was written is a panic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int rl_domain_main(int argc, char **argv)
{
	unsigned long long rounds = 3, blocks = 0, first = 0, seconds = 0;
	rl_cap dev = rl_cap_lookup("bdev");
	uint8_t expect[RL_CONST_BSIZE];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = parse("--rounds", argv[++i]);
		else if (!strcmp(argv[i], "--blocks") && i + 1 < argc)
			blocks = parse("--blocks", argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = parse("--seconds", argv[++i]);
		else if (!strcmp(argv[i], "--first") && i + 1 < argc)
			first = parse("--first", argv[++i]);
		else
			rl_panic("unknown argument '%s' (usage: blkclient [--rounds N] [--seconds S] [--first B] [--blocks N])",
				 argv[i]);
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
	if ((ret = rref_block_new(&buf)))
		rl_panic("cannot allocate a block: %d", ret);
	uint64_t t0 = rl_now_ns(), last = t0, bytes = 0;
	unsigned long long round;
	for (round = 0; !rounds || round < rounds; round++) {
		if (seconds && rl_now_ns() - t0 >= seconds * 1000000000ull)
			break;
		for (uint32_t b = (uint32_t)first; b < first + blocks; b++) {
			pattern(rref_block_get(buf)->data, b, round);
			if ((ret = BDev_write(dev, b, buf)))
				rl_panic("write of block %u failed: %d", b, ret);
		}
		for (uint32_t b = (uint32_t)first; b < first + blocks; b++) {
			rref_block back;
			if ((ret = BDev_read(dev, b, buf, &back)))
				rl_panic("read of block %u failed: %d", b, ret);
			buf = back;
			pattern(expect, b, round);
			if (memcmp(rref_block_get(buf)->data, expect, RL_CONST_BSIZE))
				rl_panic("block %u of round %llu does not read back what was written", b, round);
		}
		bytes += 2 * blocks * RL_CONST_BSIZE;
		uint64_t now = rl_now_ns();
		if (!rounds && now - last > 2000000000ull) {
			rl_log("round %llu verified; %.1f MB/s (writes + reads)", round,
			       bytes / 1e6 / ((now - last) / 1e9));
			last = now;
			bytes = 0;
		}
	}
	rref_block_drop(buf);
	rl_log("%llu round(s) of %llu blocks written, read back and verified", round, blocks);
	return 0;
}
