// SPDX-License-Identifier: MIT
/*
 * The buffer cache: a fixed pool of block buffers made at mount through
 * the caller's allocator, found by block number, recycled least recently
 * released first. A buffer the log has pinned stays until its commit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"

int __rv6_alloc_raw(const struct rv6_buf_ops *ops, void **data, uint64_t *handle)
{
	void *p;

	if (ops->alloc)
		return ops->alloc(ops->ctx, data, handle);
	p = aligned_alloc(RV6_BSIZE, RV6_BSIZE);
	if (!p)
		return -ENOMEM;
	*data = p;
	*handle = 0;
	return 0;
}

void __rv6_free_raw(const struct rv6_buf_ops *ops, void *data, uint64_t handle)
{
	if (ops->alloc)
		ops->free(ops->ctx, data, handle);
	else
		free(data);
}

static void lru_unlink(struct rv6_buf *b)
{
	b->prev->next = b->next;
	b->next->prev = b->prev;
}

static void lru_push_front(struct rv6_fs *fs, struct rv6_buf *b)
{
	b->next = fs->lru.next;
	b->prev = &fs->lru;
	fs->lru.next->prev = b;
	fs->lru.next = b;
}

static struct rv6_buf **chain(struct rv6_fs *fs, uint32_t blockno)
{
	return &fs->hash[(blockno * 2654435761u) & (fs->nhash - 1)];
}

static void hash_remove(struct rv6_fs *fs, struct rv6_buf *b)
{
	for (struct rv6_buf **p = chain(fs, b->blockno); *p; p = &(*p)->hnext) {
		if (*p == b) {
			*p = b->hnext;
			break;
		}
	}
	b->hnext = NULL;
}

int __rv6_bcache_init(struct rv6_fs *fs, uint32_t nbuf)
{
	for (fs->nhash = 16; fs->nhash < 2 * nbuf; fs->nhash *= 2)
		;
	fs->hash = calloc(fs->nhash, sizeof(*fs->hash));
	fs->buf = calloc(nbuf, sizeof(*fs->buf));
	if (!fs->buf || !fs->hash)
		return -ENOMEM;
	fs->lru.next = fs->lru.prev = &fs->lru;
	for (fs->nbuf = 0; fs->nbuf < nbuf; fs->nbuf++) {
		struct rv6_buf *b = &fs->buf[fs->nbuf];
		int err = __rv6_alloc_raw(&fs->bufs, &b->data, &b->handle);

		if (err)
			return err;	/* __rv6_bcache_free() frees the ones made */
		lru_push_front(fs, b);
	}
	return 0;
}

void __rv6_bcache_free(struct rv6_fs *fs)
{
	for (uint32_t i = 0; i < fs->nbuf; i++)
		__rv6_free_raw(&fs->bufs, fs->buf[i].data, fs->buf[i].handle);
	free(fs->buf);
	free(fs->hash);
	fs->buf = NULL;
	fs->hash = NULL;
	fs->nbuf = 0;
}

/* The buffer for blockno, holding a reference; -ENOBUFS when every buffer is held. */
static int bget(struct rv6_fs *fs, uint32_t blockno, struct rv6_buf **out)
{
	struct rv6_buf *b;

	for (b = *chain(fs, blockno); b; b = b->hnext) {
		if (b->blockno == blockno) {
			b->refcnt++;
			*out = b;
			return 0;
		}
	}
	/* Recycle the least recently released buffer nobody holds. */
	for (b = fs->lru.prev; b != &fs->lru; b = b->prev) {
		if (b->refcnt == 0) {
			if (b->hashed)
				hash_remove(fs, b);
			b->blockno = blockno;
			b->valid = false;
			b->hashed = true;
			b->hnext = *chain(fs, blockno);
			*chain(fs, blockno) = b;
			b->refcnt = 1;
			*out = b;
			return 0;
		}
	}
	return -ENOBUFS;
}

/* The buffer of blockno with its data: zeroed with zero set, else read unless it holds it. */
static int bget_data(struct rv6_fs *fs, uint32_t blockno, bool zero, struct rv6_buf **out)
{
	struct rv6_buf *b;
	int err;

	if (blockno >= fs->sb.size)
		return -EUCLEAN;
	err = bget(fs, blockno, &b);
	if (err)
		return err;
	if (zero) {
		memset(b->data, 0, RV6_BSIZE);
		b->valid = true;
	} else if (!b->valid) {
		err = fs->dev.read(fs->dev.ctx, blockno, b->data, b->handle);
		if (err) {
			b->refcnt--;
			return err < 0 ? err : -EIO;
		}
		b->valid = true;
	}
	*out = b;
	return 0;
}

int __rv6_bread(struct rv6_fs *fs, uint32_t blockno, struct rv6_buf **out)
{
	return bget_data(fs, blockno, false, out);
}

int __rv6_bzero(struct rv6_fs *fs, uint32_t blockno, struct rv6_buf **out)
{
	return bget_data(fs, blockno, true, out);
}

void __rv6_brelse(struct rv6_fs *fs, struct rv6_buf *b)
{
	if (--b->refcnt == 0) {
		lru_unlink(b);
		lru_push_front(fs, b);
	}
}
