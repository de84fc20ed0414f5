// SPDX-License-Identifier: MIT
/*
 * Blocks and inodes: the free-block bitmap, the in-memory inode table,
 * block maps (direct, single- and double-indirect), reads, writes and
 * truncation in steps that fit the log, and the reclaim of inodes no
 * directory names once their last reference is gone. Every block number
 * read from the image is checked against the data region before use.
 */
#include <errno.h>
#include <string.h>

#include "fs_internal.h"

/*
 * Log slots one more block of a write may need: itself and up to three
 * index blocks, each with its bitmap block, and the inode.
 */
#define WRITE_BLOCK_ROOM 9u
/* ... and one freed block: its bitmap block, two index blocks pointing to it, the inode. */
#define FREE_BLOCK_ROOM 4u

bool __rv6_data_block_ok(const struct rv6_fs *fs, uint32_t b)
{
	return b >= fs->sb.data_start && b < fs->sb.size;
}

int __rv6_balloc(struct rv6_fs *fs, uint32_t *out)
{
	uint32_t nbitmap = fs->sb.data_start - fs->sb.bmap_start;
	uint32_t first = fs->alloc_hint / RV6_BPB;

	for (uint32_t k = 0; k < nbitmap; k++) {
		uint32_t bi = (first + k) % nbitmap;
		uint64_t lo = (uint64_t)bi * RV6_BPB, hi = lo + RV6_BPB;
		struct rv6_buf *bp, *zp;
		uint8_t *bits;
		int err;

		if (hi > fs->sb.size)
			hi = fs->sb.size;
		if (lo < fs->sb.data_start)
			lo = fs->sb.data_start;	/* never hand out metadata, whatever the bitmap says */
		if (lo >= hi)
			continue;
		err = __rv6_bread(fs, fs->sb.bmap_start + bi, &bp);
		if (err)
			return err;
		bits = bp->data;
		for (uint64_t b = lo; b < hi; b++) {
			uint32_t bit = (uint32_t)(b - (uint64_t)bi * RV6_BPB);

			if ((bit & 7) == 0 && bits[bit / 8] == 0xff && b + 8 <= hi) {
				b += 7;
				continue;
			}
			if (bits[bit / 8] & (1u << (bit & 7)))
				continue;
			bits[bit / 8] |= (uint8_t)(1u << (bit & 7));
			err = __rv6_log_write(fs, bp);
			__rv6_brelse(fs, bp);
			if (err)
				return err;
			err = __rv6_bzero(fs, (uint32_t)b, &zp);
			if (err)
				return err;
			err = __rv6_log_write(fs, zp);
			__rv6_brelse(fs, zp);
			if (err)
				return err;
			fs->alloc_hint = (uint32_t)b + 1;
			*out = (uint32_t)b;
			return 0;
		}
		__rv6_brelse(fs, bp);
	}
	return -ENOSPC;
}

int __rv6_bfree(struct rv6_fs *fs, uint32_t b)
{
	struct rv6_buf *bp;
	uint32_t bit = b % RV6_BPB;
	uint8_t *bits;
	int err;

	if (!__rv6_data_block_ok(fs, b))
		return -EUCLEAN;
	err = __rv6_bread(fs, fs->sb.bmap_start + b / RV6_BPB, &bp);
	if (err)
		return err;
	bits = bp->data;
	if (!(bits[bit / 8] & (1u << (bit & 7)))) {
		__rv6_brelse(fs, bp);
		return -EUCLEAN;	/* freed twice: two owners on a corrupt image */
	}
	bits[bit / 8] &= (uint8_t)~(1u << (bit & 7));
	err = __rv6_log_write(fs, bp);
	__rv6_brelse(fs, bp);
	if (!err)
		fs->freed++;
	return err;
}

int __rv6_iget(struct rv6_fs *fs, uint32_t inum, struct rv6_inode **out)
{
	struct rv6_inode *empty = NULL;

	if (inum == 0 || inum >= fs->sb.ninodes)
		return -EUCLEAN;
	for (uint32_t i = 0; i < fs->ninode; i++) {
		struct rv6_inode *ip = &fs->inode[i];

		if (ip->ref > 0 && ip->inum == inum) {
			ip->ref++;
			*out = ip;
			return 0;
		}
		if (ip->ref == 0 && !empty)
			empty = ip;
	}
	if (!empty)
		return -ENFILE;
	memset(empty, 0, sizeof(*empty));
	empty->inum = inum;
	empty->ref = 1;
	*out = empty;
	return 0;
}

static uint32_t inode_block(const struct rv6_fs *fs, uint32_t inum)
{
	return fs->sb.inode_start + inum / (uint32_t)RV6_IPB;
}

int __rv6_iload(struct rv6_fs *fs, struct rv6_inode *ip)
{
	struct rv6_dinode d;
	struct rv6_buf *bp;
	int err;

	if (ip->valid)
		return 0;
	err = __rv6_bread(fs, inode_block(fs, ip->inum), &bp);
	if (err)
		return err;
	memcpy(&d, (char *)bp->data + (ip->inum % RV6_IPB) * sizeof(d), sizeof(d));
	__rv6_brelse(fs, bp);
	if (d.type != RV6_T_FREE && d.type != RV6_T_DIR && d.type != RV6_T_FILE)
		return -EUCLEAN;
	if (d.size > RV6_MAX_FILE_SIZE || (d.type == RV6_T_DIR && d.size > RV6_DIR_MAX_SIZE))
		return -EUCLEAN;
	ip->d = d;
	ip->valid = true;
	return 0;
}

int __rv6_iupdate(struct rv6_fs *fs, struct rv6_inode *ip)
{
	struct rv6_buf *bp;
	int err;

	err = __rv6_bread(fs, inode_block(fs, ip->inum), &bp);
	if (err)
		return err;
	memcpy((char *)bp->data + (ip->inum % RV6_IPB) * sizeof(ip->d), &ip->d, sizeof(ip->d));
	err = __rv6_log_write(fs, bp);
	__rv6_brelse(fs, bp);
	return err;
}

static bool inode_held(const struct rv6_fs *fs, uint32_t inum)
{
	for (uint32_t i = 0; i < fs->ninode; i++)
		if (fs->inode[i].ref > 0 && fs->inode[i].inum == inum)
			return true;
	return false;
}

int __rv6_ialloc(struct rv6_fs *fs, uint16_t type, struct rv6_inode **out)
{
	for (uint32_t inum = RV6_ROOT_INUM + 1; inum < fs->sb.ninodes; inum++) {
		struct rv6_dinode *dp;
		struct rv6_inode *ip;
		struct rv6_buf *bp;
		int err;

		err = __rv6_bread(fs, inode_block(fs, inum), &bp);
		if (err)
			return err;
		dp = (struct rv6_dinode *)bp->data + inum % RV6_IPB;
		if (dp->type != RV6_T_FREE || inode_held(fs, inum)) {
			__rv6_brelse(fs, bp);
			continue;
		}
		err = __rv6_iget(fs, inum, &ip);
		if (err) {
			__rv6_brelse(fs, bp);
			return err;
		}
		memset(dp, 0, sizeof(*dp));
		dp->type = type;
		err = __rv6_log_write(fs, bp);
		__rv6_brelse(fs, bp);
		if (err) {
			ip->ref--;
			return err;
		}
		ip->d = (struct rv6_dinode){ .type = type };
		ip->valid = true;
		*out = ip;
		return 0;
	}
	return -ENOSPC;
}

struct rv6_inode *rv6_dup(struct rv6_inode *ip)
{
	ip->ref++;
	return ip;
}

void __rv6_iput(struct rv6_fs *fs, struct rv6_inode *ip)
{
	if (ip->ref == 1 && ip->valid && ip->d.type != RV6_T_FREE && ip->d.nlink == 0 &&
	    !ip->reclaim) {
		/* The list keeps this last reference until the blocks are freed. */
		ip->reclaim = true;
		ip->next_reclaim = fs->reclaim_list;
		fs->reclaim_list = ip;
		return;
	}
	ip->ref--;
}

/*
 * Follows the block pointer *p, held in the inode (pb NULL) or in the
 * index block pb (logged when it changes); allocates a block for a hole
 * when alloc is set. *out 0 is a hole.
 */
static int follow(struct rv6_fs *fs, uint32_t *p, struct rv6_buf *pb, bool alloc, uint32_t *out)
{
	uint32_t a = *p;
	int err;

	if (a == 0) {
		*out = 0;
		if (!alloc)
			return 0;
		err = __rv6_balloc(fs, &a);
		if (err)
			return err;
		*p = a;
		if (pb) {
			err = __rv6_log_write(fs, pb);
			if (err)
				return err;
		}
	} else if (!__rv6_data_block_ok(fs, a)) {
		return -EUCLEAN;
	}
	*out = a;
	return 0;
}

static int follow_in(struct rv6_fs *fs, uint32_t blk, uint32_t idx, bool alloc, uint32_t *out)
{
	struct rv6_buf *bp;
	int err;

	err = __rv6_bread(fs, blk, &bp);
	if (err)
		return err;
	err = follow(fs, (uint32_t *)bp->data + idx, bp, alloc, out);
	__rv6_brelse(fs, bp);
	return err;
}

/* File block bn's block: *out 0 is a hole (when !alloc). The caller writes back the inode. */
static int bmap(struct rv6_fs *fs, struct rv6_inode *ip, uint64_t bn, bool alloc, uint32_t *out)
{
	uint32_t ind, mid;
	int err;

	if (bn < RV6_NDIRECT)
		return follow(fs, &ip->d.addrs[bn], NULL, alloc, out);
	bn -= RV6_NDIRECT;
	if (bn < RV6_NINDIRECT) {
		err = follow(fs, &ip->d.addrs[RV6_IND], NULL, alloc, &ind);
		if (err || !ind) {
			*out = 0;
			return err;
		}
		return follow_in(fs, ind, (uint32_t)bn, alloc, out);
	}
	bn -= RV6_NINDIRECT;
	if (bn >= (uint64_t)RV6_NINDIRECT * RV6_NINDIRECT)
		return -EFBIG;
	err = follow(fs, &ip->d.addrs[RV6_DIND], NULL, alloc, &ind);
	if (!err && ind)
		err = follow_in(fs, ind, (uint32_t)(bn / RV6_NINDIRECT), alloc, &mid);
	else
		mid = 0;
	if (err || !ind || !mid) {
		*out = 0;
		return err;
	}
	return follow_in(fs, mid, (uint32_t)(bn % RV6_NINDIRECT), alloc, out);
}

ssize_t __rv6_readi(struct rv6_fs *fs, struct rv6_inode *ip, void *dst, uint64_t off, size_t n)
{
	size_t tot = 0;
	int err = 0;

	if (off >= ip->d.size)
		return 0;
	if (n > ip->d.size - off)
		n = (size_t)(ip->d.size - off);
	while (tot < n) {
		uint32_t in_block = (uint32_t)(off % RV6_BSIZE), a;
		size_t m = RV6_BSIZE - in_block;
		struct rv6_buf *bp;

		if (m > n - tot)
			m = n - tot;
		err = bmap(fs, ip, off / RV6_BSIZE, false, &a);
		if (err)
			break;
		if (a == 0) {
			memset((char *)dst + tot, 0, m);
		} else {
			err = __rv6_bread(fs, a, &bp);
			if (err)
				break;
			memcpy((char *)dst + tot, (char *)bp->data + in_block, m);
			__rv6_brelse(fs, bp);
		}
		tot += m;
		off += m;
	}
	return tot ? (ssize_t)tot : err;
}

ssize_t __rv6_writei(struct rv6_fs *fs, struct rv6_inode *ip, const void *src, uint64_t off,
		     size_t n)
{
	size_t tot = 0;
	int err = 0;

	if (off > RV6_MAX_FILE_SIZE || n > RV6_MAX_FILE_SIZE - off)
		return -EFBIG;
	while (tot < n) {
		uint32_t in_block = (uint32_t)(off % RV6_BSIZE), a;
		size_t m = RV6_BSIZE - in_block;
		struct rv6_buf *bp;

		if (__rv6_log_room(fs) < WRITE_BLOCK_ROOM)
			break;	/* the caller goes on in a new transaction */
		if (m > n - tot)
			m = n - tot;
		err = bmap(fs, ip, off / RV6_BSIZE, true, &a);
		if (err)
			break;
		if (m == RV6_BSIZE)
			err = __rv6_bzero(fs, a, &bp);	/* rewritten whole: no need to read it */
		else
			err = __rv6_bread(fs, a, &bp);
		if (err)
			break;
		memcpy((char *)bp->data + in_block, (const char *)src + tot, m);
		err = __rv6_log_write(fs, bp);
		__rv6_brelse(fs, bp);
		if (err)
			break;
		tot += m;
		off += m;
	}
	if (off > ip->d.size)
		ip->d.size = off;
	/* Always: a block allocated before a failure may hang from the inode. */
	if (__rv6_iupdate(fs, ip) && !err)
		err = -EIO;
	return tot ? (ssize_t)tot : err;
}

/* Frees the block *p points to (in the inode, or in index block pb) and clears the pointer. */
static int free_ptr(struct rv6_fs *fs, uint32_t *p, struct rv6_buf *pb)
{
	int err = __rv6_bfree(fs, *p);

	if (err)
		return err;
	*p = 0;
	return pb ? __rv6_log_write(fs, pb) : 0;
}

/*
 * Frees the data blocks of index block blk for file blocks [base, base +
 * RV6_NINDIRECT) from the top down to keep, lowering *stop to the lowest
 * file block from which on nothing is mapped. Returns 1 when the room ran
 * out, else 0 or a negative errno.
 */
static int shrink_index(struct rv6_fs *fs, uint32_t blk, uint64_t base, uint64_t keep,
			uint64_t *stop)
{
	struct rv6_buf *bp;
	int err = 0;

	err = __rv6_bread(fs, blk, &bp);
	if (err)
		return err;
	for (uint32_t i = RV6_NINDIRECT; i-- > 0;) {
		uint32_t *p = (uint32_t *)bp->data + i;

		if (base + i < keep)
			break;
		if (*p) {
			if (__rv6_log_room(fs) < FREE_BLOCK_ROOM) {
				err = 1;
				break;
			}
			err = free_ptr(fs, p, bp);
			if (err)
				break;
		}
		*stop = base + i;
	}
	__rv6_brelse(fs, bp);
	return err;
}

int __rv6_itrunc_step(struct rv6_fs *fs, struct rv6_inode *ip, uint64_t size, bool *done)
{
	uint64_t keep = (size + RV6_BSIZE - 1) / RV6_BSIZE;
	uint64_t stop = RV6_MAX_FILE_BLOCKS;
	const uint64_t ind_base = RV6_NDIRECT, dind_base = RV6_NDIRECT + RV6_NINDIRECT;
	uint32_t *addrs = ip->d.addrs;
	int err = 0;

	*done = false;
	if (size > ip->d.size) {
		ip->d.size = size;
		*done = true;
		return __rv6_iupdate(fs, ip);
	}
	/* The double-indirect range, one second-level block at a time. */
	if (addrs[RV6_DIND]) {
		uint32_t top = addrs[RV6_DIND];

		if (!__rv6_data_block_ok(fs, top))
			return -EUCLEAN;
		for (uint32_t m = RV6_NINDIRECT; m-- > 0 && !err;) {
			uint64_t base = dind_base + (uint64_t)m * RV6_NINDIRECT;
			struct rv6_buf *tp;
			uint32_t *mp;

			if (base + RV6_NINDIRECT <= keep)
				break;
			err = __rv6_bread(fs, top, &tp);
			if (err)
				break;
			mp = (uint32_t *)tp->data + m;
			if (*mp) {
				if (!__rv6_data_block_ok(fs, *mp))
					err = -EUCLEAN;
				else
					err = shrink_index(fs, *mp, base, keep, &stop);
				if (!err && base >= keep) {
					if (__rv6_log_room(fs) < FREE_BLOCK_ROOM)
						err = 1;
					else
						err = free_ptr(fs, mp, tp);
				}
			} else {
				stop = base > keep ? base : keep;
			}
			__rv6_brelse(fs, tp);
		}
		if (!err && keep <= dind_base) {
			if (__rv6_log_room(fs) < FREE_BLOCK_ROOM)
				err = 1;
			else
				err = free_ptr(fs, &addrs[RV6_DIND], NULL);
		}
	}
	if (!err && keep < dind_base) {
		stop = dind_base;
		if (addrs[RV6_IND]) {
			if (!__rv6_data_block_ok(fs, addrs[RV6_IND]))
				err = -EUCLEAN;
			else
				err = shrink_index(fs, addrs[RV6_IND], ind_base, keep, &stop);
			if (!err && keep <= ind_base) {
				if (__rv6_log_room(fs) < FREE_BLOCK_ROOM)
					err = 1;
				else
					err = free_ptr(fs, &addrs[RV6_IND], NULL);
			}
		} else {
			stop = ind_base > keep ? ind_base : keep;
		}
	}
	for (uint32_t i = RV6_NDIRECT; !err && i-- > keep;) {
		if (addrs[i]) {
			if (__rv6_log_room(fs) < FREE_BLOCK_ROOM) {
				err = 1;
				break;
			}
			err = free_ptr(fs, &addrs[i], NULL);
			if (err)
				break;
		}
		stop = i;
	}
	if (err < 0)
		return err;
	if (err == 0) {
		stop = keep;
		/* Bytes past the end of the last block read as zeros when the file grows again. */
		if (size % RV6_BSIZE && size < ip->d.size) {
			uint32_t a;
			struct rv6_buf *bp;

			err = bmap(fs, ip, keep - 1, false, &a);
			if (!err && a) {
				err = __rv6_bread(fs, a, &bp);
				if (!err) {
					memset((char *)bp->data + size % RV6_BSIZE, 0,
					       RV6_BSIZE - size % RV6_BSIZE);
					err = __rv6_log_write(fs, bp);
					__rv6_brelse(fs, bp);
				}
			}
			if (err)
				return err;
		}
		*done = true;
	}
	/* Everything from block stop on is gone: the size may not reach past it. */
	if (ip->d.size > stop * RV6_BSIZE)
		ip->d.size = stop * RV6_BSIZE > size ? stop * RV6_BSIZE : size;
	if (*done)
		ip->d.size = size;
	return __rv6_iupdate(fs, ip);
}

void __rv6_reclaim(struct rv6_fs *fs)
{
	fs->reclaiming = true;
	while (fs->reclaim_list) {
		struct rv6_inode *ip = fs->reclaim_list;
		bool done = false;
		int err = 0;

		fs->reclaim_list = ip->next_reclaim;
		while (!done && !err) {
			uint64_t freed = fs->freed;

			err = rv6_begin_op(fs);
			if (err)
				break;
			err = __rv6_itrunc_step(fs, ip, 0, &done);
			if (!err && !done && fs->freed == freed)
				err = -EUCLEAN;	/* no progress: never loop */
			if (!err && done) {
				ip->d = (struct rv6_dinode){ 0 };
				err = __rv6_iupdate(fs, ip);
			}
			if (rv6_end_op(fs) && !err)
				err = -EIO;
		}
		/* On an error it stays an orphan on disk; the next mount tries again. */
		ip->reclaim = false;
		ip->ref--;
	}
	fs->reclaiming = false;
}

/*
 * Here rather than in log.c: once the group has committed, the inodes it
 * left unnamed are freed, in operations of their own.
 */
int rv6_end_op(struct rv6_fs *fs)
{
	int err = __rv6_log_end(fs);

	if (!err && fs->log.outstanding == 0 && fs->reclaim_list && !fs->reclaiming)
		__rv6_reclaim(fs);
	return err ? err : fs->dead;
}
