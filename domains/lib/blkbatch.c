// SPDX-License-Identifier: MIT
/* Batches of block requests (blkbatch.h). */
#include <errno.h>

#include "blkbatch.h"

unsigned blkbatch_len(const struct deque_breq_128 *q)
{
	/* Free-running counters written by whoever owned it last: clamp. */
	uint32_t live = q->hdr.tail - q->hdr.head;
	return live < BLKBATCH_MAX ? live : BLKBATCH_MAX;
}

struct breq *blkbatch_req(struct deque_breq_128 *q, unsigned i)
{
	return &q->items[(q->hdr.head + i) % BLKBATCH_MAX];
}

int blkbatch_open(rref_deque_breq_128 reqs, uint64_t nblocks, struct blkbatch *b)
{
	struct deque_breq_128 *q = rref_deque_breq_128_get(reqs);

	if (!q)
		return -EPERM;
	b->q = q;
	b->n = blkbatch_len(q);
	b->nvalid = 0;
	for (unsigned i = 0; i < b->n; i++) {
		struct breq *r = blkbatch_req(q, i);
		/* One read of each field: the sender may still be writing them. */
		uint64_t blockno = __atomic_load_n(&r->blockno, __ATOMIC_RELAXED);
		uint32_t op = __atomic_load_n(&r->op, __ATOMIC_RELAXED);
		rref_block data = r->data;
		struct block *blk = rref_block_get(data);
		b->req[i] = r;
		b->blk[i] = NULL;
		if (op != RL_CONST_BREQ_READ && op != RL_CONST_BREQ_WRITE)
			r->status = -EINVAL;
		else if (!blk)
			r->status = -EPERM;
		else if (blockno >= nblocks)
			r->status = -EINVAL;
		else {
			r->status = 0;
			r->blockno = blockno;
			r->op = op;
			b->blk[i] = blk;
			b->nvalid++;
		}
	}
	return 0;
}

int blkbatch_new(unsigned n, rref_deque_breq_128 *out)
{
	rref_deque_breq_128 q;
	int r;

	if (!n || n > BLKBATCH_MAX)
		return -EINVAL;
	if ((r = rref_deque_breq_128_new(&q)))
		return r;
	struct deque_breq_128 *d = rref_deque_breq_128_get(q);
	for (unsigned i = 0; i < n; i++) {
		struct breq *e = &d->items[i];
		e->blockno = 0;
		e->op = RL_CONST_BREQ_READ;
		e->status = 0;
		if ((r = rref_block_new(&e->data))) {
			d->hdr.tail = i;
			blkbatch_free(q);
			return r;
		}
		d->hdr.tail = i + 1;
	}
	*out = q;
	return 0;
}

void blkbatch_set(struct deque_breq_128 *q, unsigned i, uint32_t op, uint64_t blockno)
{
	struct breq *r = blkbatch_req(q, i);
	r->op = op;
	r->blockno = blockno;
	r->status = 0;
}

void blkbatch_free(rref_deque_breq_128 q)
{
	struct deque_breq_128 *d = rref_deque_breq_128_get(q);

	if (!d)
		return;
	for (unsigned i = 0, n = blkbatch_len(d); i < n; i++)
		rref_block_drop(blkbatch_req(d, i)->data);
	rref_deque_breq_128_drop(q);
}
