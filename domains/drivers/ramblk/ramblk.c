// SPDX-License-Identifier: MIT
/*
 * A RAM block device exporting BDev: 4 KiB blocks in this domain's private
 * memory. read() fills the caller's buffer (moved in, moved back out);
 * write() copies from a buffer lent for the call; batch() does either for
 * each request of a deque.
 *
 *   ramblk [--blocks N]     (default 1024 blocks = 4 MiB)
 *
 * With device memory from the manifest (`devmem:`) the blocks live there and
 * survive a restart of this driver, as a disk's contents survive its driver;
 * --blocks is then capped by the device memory's size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blkbatch.h"
#include "redleaf_idl.h"

struct ramblk {
	uint8_t *data;
	uint64_t nblocks;
};

static int b_read(void *self, uint32_t blockno, rref_block data, rref_block *out)
{
	struct ramblk *d = self;
	struct block *b = rref_block_get(data);

	if (!b)
		return -EPERM;
	if (blockno >= d->nblocks) {
		rref_block_drop(data);
		return -EINVAL;
	}
	memcpy(b->data, d->data + (uint64_t)blockno * RL_CONST_BSIZE, RL_CONST_BSIZE);
	*out = data;
	return 0;
}

static int b_write(void *self, uint32_t blockno, rref_block data)
{
	struct ramblk *d = self;
	const struct block *b = rref_block_borrow(data);

	if (!b)
		return -EPERM;
	if (blockno >= d->nblocks)
		return -EINVAL;
	memcpy(d->data + (uint64_t)blockno * RL_CONST_BSIZE, b->data, RL_CONST_BSIZE);
	return 0;
}

static int b_nblocks(void *self, uint64_t *out)
{
	*out = ((struct ramblk *)self)->nblocks;
	return 0;
}

static int b_batch(void *self, rref_deque_breq_128 reqs, rref_deque_breq_128 *out)
{
	struct ramblk *d = self;
	struct blkbatch b;
	int r = blkbatch_open(reqs, d->nblocks, &b);

	if (r)
		return r;
	for (unsigned i = 0; i < b.n; i++) {
		if (!b.blk[i])
			continue;
		uint8_t *at = d->data + b.req[i]->blockno * RL_CONST_BSIZE;
		if (b.req[i]->op == RL_CONST_BREQ_WRITE)
			memcpy(at, b.blk[i]->data, RL_CONST_BSIZE);
		else
			memcpy(b.blk[i]->data, at, RL_CONST_BSIZE);
	}
	*out = reqs;
	return 0;
}

static int b_flush(void *self)
{
	return 0; /* RAM: a completed write is as durable as it gets */
}

static const struct BDev_ops ops = {
	.read = b_read,
	.write = b_write,
	.nblocks = b_nblocks,
	.batch = b_batch,
	.flush = b_flush,
};

int rl_domain_main(int argc, char **argv)
{
	static struct ramblk dev = { .nblocks = 1024 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--blocks") && i + 1 < argc) {
			char *end;
			unsigned long long n = strtoull(argv[++i], &end, 10);
			if (*end || !n || n > (1ULL << 20))
				rl_panic("--blocks takes 1..1048576, not '%s'", argv[i]);
			dev.nblocks = n;
		} else {
			rl_panic("unknown argument '%s' (usage: ramblk [--blocks N])", argv[i]);
		}
	}
	size_t devsize;
	void *mem = rl_devmem(&devsize);
	if (mem) {
		if (dev.nblocks > devsize / RL_CONST_BSIZE)
			dev.nblocks = devsize / RL_CONST_BSIZE;
		dev.data = mem;
	} else {
		dev.data = calloc(dev.nblocks, RL_CONST_BSIZE);
	}
	if (!dev.data || !dev.nblocks)
		rl_panic("cannot have %llu blocks", (unsigned long long)dev.nblocks);
	int ret = BDev_export(&ops, &dev);
	if (ret)
		rl_panic("cannot export BDev: %d", ret);
	rl_serve();
}
