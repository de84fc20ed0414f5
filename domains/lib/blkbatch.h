/* SPDX-License-Identifier: MIT */
/*
 * Batches of block requests (BDev.batch, idl/bdev.idl) for both sides.
 *
 * A batch is a deque<breq, BATCH_MAX>: its live requests (head .. tail-1)
 * each name a block number, an op (BREQ_READ, BREQ_WRITE) and a 4 KiB block
 * RRef that travels with the deque. The device works on all of them at
 * once and returns the deque with every request's status set: 0, or
 *   -EINVAL  an op that is neither, or a block number beyond the device
 *   -EPERM   no block, or a block that did not come with the deque
 *   or the device's own error for that request (-EIO, -EREMOTEIO, ...).
 * A request refused here never reaches the device.
 */
#ifndef RL_BLKBATCH_H
#define RL_BLKBATCH_H

#include <stdint.h>

#include "redleaf_idl.h"

#define BLKBATCH_MAX RL_CONST_BATCH_MAX

/* A received batch, checked: the requests in order, with their blocks. */
struct blkbatch {
	struct deque_breq_128 *q;
	unsigned n;                          /* live requests */
	struct breq *req[BLKBATCH_MAX];
	struct block *blk[BLKBATCH_MAX];     /* NULL where the request was refused (status set) */
	unsigned nvalid;                     /* requests with a block to work on */
};

/*
 * Device side: checks a batch the device received against a device of
 * nblocks blocks. Returns 0, or -EPERM when the deque is not ours (then
 * nothing is set). Valid requests get status 0 and blk[i].
 */
int blkbatch_open(rref_deque_breq_128 reqs, uint64_t nblocks, struct blkbatch *b);

/* Client side: a batch of n requests (1..BATCH_MAX), each with a fresh block; 0 or -errno. */
int blkbatch_new(unsigned n, rref_deque_breq_128 *out);

/* Client side: sets request i (0-based from head) to op on blockno, status 0. */
void blkbatch_set(struct deque_breq_128 *q, unsigned i, uint32_t op, uint64_t blockno);

/* Request i (0-based from head) of a deque with n live requests, n clamped to the capacity. */
struct breq *blkbatch_req(struct deque_breq_128 *q, unsigned i);
unsigned blkbatch_len(const struct deque_breq_128 *q);

/* Drops a batch and every block in it that is still ours. */
void blkbatch_free(rref_deque_breq_128 q);

#endif
