// SPDX-License-Identifier: MIT
/*
 * The write-ahead log (docs/rv6.md, "The log"). An operation's changed
 * blocks stay pinned in the cache until its group commits; a commit writes
 * them to the log's slots, then the header naming them (the commit point),
 * then to their homes, then an empty header, with a flush after each step,
 * so that a crash anywhere leaves either the old blocks or, after the
 * replay at mount, all of the new ones. rv6_end_op() is in inode.c: after
 * the commit it reclaims unnamed inodes, which the log must not call up to.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"

int __rv6_loghdr_check(const struct rv6_dsuper *sb, const struct rv6_dloghdr *lh, const char **why)
{
	if (lh->n > sb->nlog - 1 || lh->n > RV6_LOG_HDR_MAX) {
		*why = "log header counts more blocks than the log holds";
		return -EUCLEAN;
	}
	for (uint32_t i = 0; i < lh->n; i++) {
		/* A transaction only ever changes inode, bitmap and data blocks. */
		if (lh->block[i] < sb->inode_start || lh->block[i] >= sb->size) {
			*why = "log header names a block outside the inode, bitmap and data regions";
			return -EUCLEAN;
		}
	}
	return 0;
}

static int dev_write(struct rv6_fs *fs, uint32_t blockno, const void *data, uint64_t handle)
{
	int err = fs->dev.write(fs->dev.ctx, blockno, data, handle);

	return err > 0 ? -EIO : err;
}

static int dev_flush(struct rv6_fs *fs)
{
	int err = fs->dev.flush ? fs->dev.flush(fs->dev.ctx) : 0;

	return err > 0 ? -EIO : err;
}

static int write_head(struct rv6_fs *fs, uint32_t n, const uint32_t *blocks)
{
	struct rv6_dloghdr *lh = fs->log.hdr;

	memset(lh, 0, sizeof(*lh));
	lh->n = n;
	if (n)
		memcpy(lh->block, blocks, n * sizeof(blocks[0]));
	return dev_write(fs, fs->log.start, lh, fs->log.hdr_handle);
}

/*
 * Once a transaction's blocks are written home: makes them durable, then
 * empties the header. The empty header must be durable before the next
 * commit reuses the slots, or a crash then would replay this header over
 * new slots.
 */
static int finish_install(struct rv6_fs *fs)
{
	int err = dev_flush(fs);

	if (!err)
		err = write_head(fs, 0, NULL);
	if (!err)
		err = dev_flush(fs);
	return err;
}

/* Installs a committed transaction found at mount, reading each slot straight from the device. */
static int replay(struct rv6_fs *fs)
{
	struct rv6_dloghdr *lh = fs->log.hdr;
	const char *why;
	uint32_t n, *blocks = NULL;
	void *tmp = NULL;
	uint64_t tmp_handle = 0;
	int err;

	err = fs->dev.read(fs->dev.ctx, fs->log.start, lh, fs->log.hdr_handle);
	if (err)
		return err < 0 ? err : -EIO;
	err = __rv6_loghdr_check(&fs->sb, lh, &why);
	if (err || lh->n == 0)
		return err;
	n = lh->n;
	blocks = malloc(n * sizeof(*blocks));
	if (!blocks)
		return -ENOMEM;
	memcpy(blocks, lh->block, n * sizeof(*blocks));
	err = __rv6_alloc_raw(&fs->bufs, &tmp, &tmp_handle);
	if (err)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		err = fs->dev.read(fs->dev.ctx, fs->log.start + 1 + i, tmp, tmp_handle);
		if (err) {
			err = err < 0 ? err : -EIO;
			goto out;
		}
		err = dev_write(fs, blocks[i], tmp, tmp_handle);
		if (err)
			goto out;
	}
	err = finish_install(fs);
out:
	if (tmp)
		__rv6_free_raw(&fs->bufs, tmp, tmp_handle);
	free(blocks);
	return err;
}

int __rv6_log_init(struct rv6_fs *fs)
{
	struct rv6_log *log = &fs->log;
	uint32_t cap = fs->sb.nlog - 1;
	int err;

	if (cap > 3 * RV6_MAX_OP_BLOCKS)
		cap = 3 * RV6_MAX_OP_BLOCKS;
	log->start = fs->sb.log_start;
	log->capacity = cap;
	log->blocks = calloc(cap, sizeof(*log->blocks));
	log->pinned = calloc(cap, sizeof(*log->pinned));
	if (!log->blocks || !log->pinned)
		return -ENOMEM;
	err = __rv6_alloc_raw(&fs->bufs, &log->hdr, &log->hdr_handle);
	if (err) {
		log->hdr = NULL;
		return err;
	}
	return replay(fs);
}

void __rv6_log_free(struct rv6_fs *fs)
{
	if (fs->log.hdr)
		__rv6_free_raw(&fs->bufs, fs->log.hdr, fs->log.hdr_handle);
	free(fs->log.blocks);
	free(fs->log.pinned);
	memset(&fs->log, 0, sizeof(fs->log));
}

uint32_t __rv6_log_room(const struct rv6_fs *fs)
{
	uint32_t used = fs->log.n - fs->log.op_base;

	if (fs->log.outstanding == 0 || used >= RV6_MAX_OP_BLOCKS ||
	    fs->log.n >= fs->log.capacity)
		return 0;
	if (RV6_MAX_OP_BLOCKS - used > fs->log.capacity - fs->log.n)
		return fs->log.capacity - fs->log.n;
	return RV6_MAX_OP_BLOCKS - used;
}

int __rv6_log_write(struct rv6_fs *fs, struct rv6_buf *b)
{
	struct rv6_log *log = &fs->log;

	for (uint32_t i = 0; i < log->n; i++)
		if (log->blocks[i] == b->blockno)
			return 0;	/* absorbed: already in this transaction */
	/*
	 * Operations check their room before changing anything, so this is
	 * a bug; refuse the commit rather than overrun the log.
	 */
	if (log->outstanding == 0 || __rv6_log_room(fs) == 0) {
		fs->dead = -EIO;
		return -EIO;
	}
	log->blocks[log->n] = b->blockno;
	log->pinned[log->n] = b;
	log->n++;
	b->refcnt++;
	return 0;
}

int rv6_begin_op(struct rv6_fs *fs)
{
	struct rv6_log *log = &fs->log;

	if (fs->dead)
		return fs->dead;
	if (log->n + RV6_MAX_OP_BLOCKS > log->capacity)
		return -EBUSY;	/* only possible inside a caller's group */
	log->outstanding++;
	log->op_base = log->n;
	return 0;
}

static int commit(struct rv6_fs *fs)
{
	struct rv6_log *log = &fs->log;
	uint32_t i;
	int err = 0;

	if (log->n == 0)
		return 0;
	if (fs->dead) {
		err = fs->dead;
		goto unpin;
	}
	for (i = 0; i < log->n && !err; i++)
		err = dev_write(fs, log->start + 1 + i, log->pinned[i]->data, log->pinned[i]->handle);
	if (!err)
		err = dev_flush(fs);
	if (!err)
		err = write_head(fs, log->n, log->blocks);	/* the commit point */
	if (!err)
		err = dev_flush(fs);
	for (i = 0; i < log->n && !err; i++)
		err = dev_write(fs, log->blocks[i], log->pinned[i]->data, log->pinned[i]->handle);
	if (!err)
		err = finish_install(fs);
unpin:
	for (i = 0; i < log->n; i++)
		__rv6_brelse(fs, log->pinned[i]);
	log->n = 0;
	log->op_base = 0;
	if (err)
		fs->dead = -EIO;
	return err;
}

int __rv6_log_end(struct rv6_fs *fs)
{
	if (fs->log.outstanding == 0)
		return -EINVAL;
	if (--fs->log.outstanding > 0)
		return fs->dead;
	return commit(fs);
}
