// SPDX-License-Identifier: MIT
/*
 * The NVMe driver domain: BDev on the NVMe controller the broker gives it
 * (manifest `device: {model: nvme, ...}`, docs/storage.md).
 *
 *   nvmedrv [--depth N] [--timeout-ms N]
 *
 * The launcher has mapped the device model's file (rl_device_bar()) and the
 * device memory, at the address where the model maps it too. The driver
 * library (nvme.h) keeps its queues in device memory and DMAs straight into
 * and out of the callers' RRefs: the heap lies at the same address in the
 * model, so a block's address is its bus address and nothing is copied.
 *
 * Every start brings the controller up from scratch (nvme_ctrl_open():
 * CC.EN 1 -> 0, wait for RDY = 0, then enable; NVMe 1.4 section 7.6.1):
 * after a crash the model may still hold the dead incarnation's queues,
 * and disabling the controller drops them before new ones are made. The
 * namespace, like a disk, survives. When the controller cannot be brought
 * up, or is lost while serving (its model died), every call fails with the
 * library's errno (-ENODEV, -ETIMEDOUT, -EIO) instead of hanging.
 *
 * BDev blocks are RL_CONST_BSIZE (4 KiB): one block is BSIZE / LBA size
 * logical blocks of the namespace.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "redleaf/clock.h"
#include "blkbatch.h"
#include "nvme.h"
#include "nvmedev.h"
#include "redleaf_idl.h"

struct nvmedrv {
	struct rl_dev dev;
	struct nvme_ctrl *c;   /* NULL: the controller could not be brought up */
	int down;              /* with c == NULL: the errno every call gets */
	bool lost_logged;      /* the controller died while serving, and the log says so */
	uint32_t lbas_per_block;
	uint64_t nblocks;      /* BDev blocks */
	struct nvme_req rq[BLKBATCH_MAX]; /* a batch's commands */
};

static int bring_up(struct nvmedrv *d, const struct nvme_config *cfg)
{
	void *qmem;
	size_t qlen;
	uint64_t t0 = rl_now_ns();
	int r = nvmedrv_dev_open(&d->dev, &qmem, &qlen);

	if (r)
		return r;
	if (qlen < nvme_qmem_size(cfg->queue_depth))
		rl_panic("devmem is %zu bytes; the queues of depth %u need %zu", qlen, cfg->queue_depth,
			 nvme_qmem_size(cfg->queue_depth));
	if ((r = nvme_ctrl_open(&d->dev, qmem, nvme_qmem_size(cfg->queue_depth), cfg, &d->c))) {
		d->c = NULL;
		return r;
	}
	const struct nvme_info *info = nvme_ctrl_info(d->c);
	if (info->lba_size > RL_CONST_BSIZE || info->nblocks / (RL_CONST_BSIZE / info->lba_size) == 0)
		rl_panic("namespace of %llu blocks of %u bytes holds no %lld-byte block",
			 (unsigned long long)info->nblocks, info->lba_size, (long long)RL_CONST_BSIZE);
	d->lbas_per_block = (uint32_t)(RL_CONST_BSIZE / info->lba_size);
	uint64_t n = info->nblocks / d->lbas_per_block;
	d->nblocks = n > UINT32_MAX ? (uint64_t)UINT32_MAX + 1 : n; /* BDev block numbers are u32 */
	rl_log("controller %s (serial %s) up: %llu blocks of %u bytes, %llu BDev blocks, queue depth %u, in %llu us",
	       info->model, info->serial, (unsigned long long)info->nblocks, info->lba_size,
	       (unsigned long long)d->nblocks, info->queue_depth, (unsigned long long)(rl_now_ns() - t0) / 1000);
	return 0;
}

/* The errno for a call that cannot reach the device, or 0 when it can. */
static int unusable(const struct nvmedrv *d)
{
	return d->c ? 0 : d->down;
}

/* A request's result; the first sign of a dead controller goes to the log, once. */
static int io_result(struct nvmedrv *d, int r)
{
	if (r == -ENODEV && !d->lost_logged) {
		d->lost_logged = true;
		rl_log("the controller stopped answering and did not come back from a reset; "
		       "every request fails with -ENODEV");
	}
	return r;
}

static int b_read(void *self, uint32_t blockno, rref_block data, rref_block *out)
{
	struct nvmedrv *d = self;
	struct block *b = rref_block_get(data);
	int r;

	if (!b)
		return -EPERM;
	if ((r = unusable(d)) || blockno >= d->nblocks) {
		rref_block_drop(data);
		return r ? r : -EINVAL;
	}
	/* Straight into the caller's block: its address is in the heap region. */
	r = io_result(d, nvme_read(d->c, (uint64_t)blockno * d->lbas_per_block, d->lbas_per_block, b->data));
	if (r) {
		rref_block_drop(data);
		return r;
	}
	*out = data;
	return 0;
}

static int b_write(void *self, uint32_t blockno, rref_block data)
{
	struct nvmedrv *d = self;
	const struct block *b = rref_block_borrow(data);
	int r;

	if (!b)
		return -EPERM;
	if ((r = unusable(d)))
		return r;
	if (blockno >= d->nblocks)
		return -EINVAL;
	/* The device reads the lent block itself; the call (and so the loan) lasts until it completed. */
	return io_result(d, nvme_write(d->c, (uint64_t)blockno * d->lbas_per_block, d->lbas_per_block, b->data));
}

static int b_nblocks(void *self, uint64_t *out)
{
	struct nvmedrv *d = self;
	int r = unusable(d);

	if (r)
		return r;
	*out = d->nblocks;
	return 0;
}

/*
 * A batch: one command per valid request, all submitted before the first
 * poll (the batch is the queue depth; nvme_run() feeds the queue as it
 * drains when the batch is deeper). Each block is the command's buffer.
 */
static int b_batch(void *self, rref_deque_breq_128 reqs, rref_deque_breq_128 *out)
{
	struct nvmedrv *d = self;
	struct nvme_req *pend[BLKBATCH_MAX];
	struct blkbatch b;
	unsigned np = 0;
	int r = unusable(d);

	if (r) {
		blkbatch_free(reqs);
		return r;
	}
	if ((r = blkbatch_open(reqs, d->nblocks, &b)))
		return r;
	for (unsigned i = 0; i < b.n; i++) {
		if (!b.blk[i])
			continue;
		struct nvme_req *q = &d->rq[np];
		memset(q, 0, sizeof(*q));
		q->op = b.req[i]->op == RL_CONST_BREQ_WRITE ? NVME_OP_WRITE : NVME_OP_READ;
		q->lba = b.req[i]->blockno * d->lbas_per_block;
		q->nblocks = d->lbas_per_block;
		q->buf = b.blk[i]->data;
		q->user = i;
		pend[np++] = q;
	}
	r = np ? nvme_run(d->c, pend, np) : 0;
	for (unsigned k = 0; k < np; k++)
		b.req[pend[k]->user]->status = io_result(d, pend[k]->status);
	if (r == -ENODEV)
		io_result(d, r);
	*out = reqs;
	return 0;
}

static int b_flush(void *self)
{
	struct nvmedrv *d = self;
	int r = unusable(d);

	return r ? r : io_result(d, nvme_flush(d->c));
}

static const struct BDev_ops ops = {
	.read = b_read,
	.write = b_write,
	.nblocks = b_nblocks,
	.batch = b_batch,
	.flush = b_flush,
};

static unsigned number_arg(const char *opt, const char *s, unsigned min, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < min || v > max)
		rl_panic("%s takes %u..%u, not '%s'", opt, min, max, s);
	return (unsigned)v;
}

int rl_domain_main(int argc, char **argv)
{
	static struct nvmedrv drv;
	/*
	 * A command's deadline: long enough for a file namespace whose writes
	 * the kernel throttles (the model is single-threaded, so a read waits
	 * behind them), short enough that a dead model means errors, not a hang.
	 */
	struct nvme_config cfg = { .queue_depth = 64, .timeout_ms = 5000, .nsid = 1 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--depth") && i + 1 < argc)
			cfg.queue_depth = number_arg("--depth", argv[++i], 2, 4096);
		else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			cfg.timeout_ms = number_arg("--timeout-ms", argv[++i], 1, 600000);
		else
			rl_panic("unknown argument '%s' (usage: nvmedrv [--depth N] [--timeout-ms N])", argv[i]);
	}
	int r = bring_up(&drv, &cfg);
	if (r) {
		/* A controller that does not answer is as good as absent; other errors say more as they are. */
		drv.down = r == -ENODEV || r == -ETIMEDOUT || r == -EIO ? -ENODEV : r;
		rl_log("cannot bring the controller up: %s; every call fails with %d", nvme_strerror(r), drv.down);
	}
	r = BDev_export(&ops, &drv);
	if (r)
		rl_panic("cannot export BDev: %d", r);
	rl_serve();
}
