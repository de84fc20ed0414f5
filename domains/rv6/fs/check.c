// SPDX-License-Identifier: MIT
/*
 * The checker behind redleaf-fsck and the crash tests. It reads the image
 * raw, never through a mount, trusts nothing in it, and reports each
 * inconsistency as one line: superblock, log header, inodes, block
 * ownership, the bitmap, directories, link counts, reachability. A
 * transaction committed in the log and not yet installed is read as if
 * installed (the overlay), which is what the next mount will see.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"

/* Past this many bitmap lines, the rest are counted in one. */
#define BITMAP_REPORTS_MAX 50u

struct checker {
	const struct rv6_bdev *dev;
	void (*report)(void *ctx, const char *line);
	void (*note)(void *ctx, const char *line);
	void *ctx;
	long problems;
	struct rv6_dsuper sb;
	struct rv6_dloghdr lh;	/* n 0 when the header was refused */
	void *buf;		/* scratch blocks, one per level of a walk */
	uint64_t handle;
	uint32_t *owner;	/* per block: the inode using it, 0 none */
	uint8_t *type;		/* per inode: its type, 0 free or unusable */
	uint16_t *nlink;
	uint32_t *links;	/* directory entries naming it ("." excluded) */
	uint32_t *parent;	/* per directory: the directory naming it */
	uint32_t *dotdot;	/* per directory: what its ".." names */
	uint32_t *named_in;	/* per inode: the first directory naming it */
	uint64_t dir_next;	/* the file block the directory being read should have next */
	struct rv6_check_stats stats;
};

static void say(struct checker *ck, bool problem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct checker *ck, bool problem, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (problem) {
		ck->problems++;
		if (ck->report)
			ck->report(ck->ctx, line);
	} else if (ck->note) {
		ck->note(ck->ctx, line);
	}
}

/* Reads block b into scratch block level, from the log when the log holds its new contents. */
static int rd(struct checker *ck, uint32_t b, unsigned level, void **out)
{
	void *dst = (char *)ck->buf + (size_t)level * RV6_BSIZE;
	uint32_t from = b;
	int err;

	for (uint32_t i = 0; i < ck->lh.n; i++)
		if (ck->lh.block[i] == b)
			from = ck->sb.log_start + 1 + i;	/* the last slot wins */
	err = ck->dev->read(ck->dev->ctx, from, dst, ck->handle);
	if (err)
		return err < 0 ? err : -EIO;
	*out = dst;
	return 0;
}

/* Claims block a for inode inum: false when it is out of range (reported). */
static bool claim(struct checker *ck, uint32_t inum, uint32_t a, const char *what)
{
	if (a < ck->sb.data_start || a >= ck->sb.size) {
		say(ck, true, "inode %u: %s block pointer %u out of range [%u, %u)", inum, what, a,
		    ck->sb.data_start, ck->sb.size);
		return false;
	}
	if (ck->owner[a])
		say(ck, true, "block %u referenced more than once (inodes %u and %u)", a,
		    ck->owner[a], inum);
	else
		ck->owner[a] = inum;
	ck->stats.blocks_used++;
	return true;
}

typedef int (*data_fn)(struct checker *ck, uint32_t inum, const struct rv6_dinode *d,
		       uint64_t idx, uint32_t a);

/* One data block of inode inum at file block idx: checks it lies within the size. */
static int data_claim(struct checker *ck, uint32_t inum, const struct rv6_dinode *d, uint64_t idx,
		      uint32_t a)
{
	if (!claim(ck, inum, a, "data"))
		return 0;
	if (idx * RV6_BSIZE >= d->size)
		say(ck, true, "inode %u: block %u at file block %llu lies beyond its size %llu",
		    inum, a, (unsigned long long)idx, (unsigned long long)d->size);
	return 0;
}

static bool in_data(const struct checker *ck, uint32_t a)
{
	return a >= ck->sb.data_start && a < ck->sb.size;
}

/* One walk(): whose blocks, and what to do with each. */
struct block_walk {
	struct checker *ck;
	uint32_t inum;
	const struct rv6_dinode *d;
	bool claim_index;
	data_fn fn;
};

/* Whether the walk follows index block pointer a: claimed with claim_index, else in range. */
static bool walk_into(const struct block_walk *w, uint32_t a, const char *what)
{
	if (!a)
		return false;
	return w->claim_index ? claim(w->ck, w->inum, a, what) : in_data(w->ck, a);
}

/* Data block pointer a at file block idx: fn on it unless it is 0 or out of range. */
static int walk_data(const struct block_walk *w, uint64_t idx, uint32_t a)
{
	if (!a)
		return 0;
	if (!in_data(w->ck, a)) {
		if (w->claim_index)
			claim(w->ck, w->inum, a, "data");
		return 0;
	}
	return w->fn(w->ck, w->inum, w->d, idx, a);
}

/* The data blocks of index block blk, file blocks base on, read into scratch level 1. */
static int walk_index(const struct block_walk *w, uint32_t blk, uint64_t base)
{
	uint32_t *ind;
	int err = rd(w->ck, blk, 1, (void **)&ind);

	/* fn may use scratch level 0 only: ind (level 1) stays intact. */
	for (uint32_t j = 0; !err && j < RV6_NINDIRECT; j++)
		err = walk_data(w, base + j, ind[j]);
	return err;
}

/*
 * Calls fn on each mapped data block of d, in file order. With claim_index,
 * index blocks are claimed; pointers out of range are reported then and
 * skipped always.
 */
static int walk(struct checker *ck, uint32_t inum, const struct rv6_dinode *d, bool claim_index,
		data_fn fn)
{
	const struct block_walk w = { ck, inum, d, claim_index, fn };
	uint32_t *top;
	int err = 0;

	for (uint32_t i = 0; !err && i < RV6_NDIRECT; i++)
		err = walk_data(&w, i, d->addrs[i]);
	if (!err && walk_into(&w, d->addrs[RV6_IND], "indirect"))
		err = walk_index(&w, d->addrs[RV6_IND], RV6_NDIRECT);
	if (!err && walk_into(&w, d->addrs[RV6_DIND], "double-indirect")) {
		err = rd(ck, d->addrs[RV6_DIND], 2, (void **)&top);
		for (uint32_t m = 0; !err && m < RV6_NINDIRECT; m++)
			if (walk_into(&w, top[m], "indirect"))
				err = walk_index(&w, top[m], RV6_NDIRECT + RV6_NINDIRECT +
							     (uint64_t)m * RV6_NINDIRECT);
	}
	return err;
}

static int read_dinode(struct checker *ck, uint32_t inum, struct rv6_dinode *d)
{
	void *blk;
	int err = rd(ck, ck->sb.inode_start + inum / (uint32_t)RV6_IPB, 0, &blk);

	if (!err)
		memcpy(d, (char *)blk + (inum % RV6_IPB) * sizeof(*d), sizeof(*d));
	return err;
}

static const char *entry_name(const struct rv6_ddirent *de, char out[RV6_NAME_MAX + 1])
{
	size_t i;

	for (i = 0; i < RV6_NAME_MAX && de->name[i]; i++)
		out[i] = de->name[i] >= 0x20 && de->name[i] < 0x7f ? de->name[i] : '?';
	out[i] = '\0';
	return out;
}

/* The entries of directory block a at file block idx of directory inum. */
static int dir_block(struct checker *ck, uint32_t inum, const struct rv6_dinode *d, uint64_t idx,
		     uint32_t a)
{
	struct rv6_ddirent *de;
	char name[RV6_NAME_MAX + 1];
	int err = rd(ck, a, 0, (void **)&de);

	if (err)
		return err;
	if (idx != ck->dir_next && idx * RV6_BSIZE < d->size)
		say(ck, true, "directory %u: a hole at file block %llu", inum,
		    (unsigned long long)ck->dir_next);
	ck->dir_next = idx + 1;
	for (uint32_t k = 0; k < RV6_DPB; k++) {
		uint64_t off = idx * RV6_BSIZE + k * sizeof(*de);
		uint32_t t = de[k].inum;
		bool dot, dotdot;

		if (off + sizeof(*de) > d->size)
			break;
		if (t == 0) {
			if (off == 0 || off == sizeof(*de))
				say(ck, true, "directory %u: no %s entry", inum, off ? "\"..\"" : "\".\"");
			continue;
		}
		if (!__rv6_dirent_name_ok(&de[k])) {
			say(ck, true, "directory %u: entry at offset %llu has a bad name "
				      "(unterminated, empty or with '/')", inum,
			    (unsigned long long)off);
			continue;
		}
		entry_name(&de[k], name);
		if (t >= ck->sb.ninodes) {
			say(ck, true, "directory %u: entry '%s' names inode %u, out of range", inum,
			    name, t);
			continue;
		}
		if (ck->type[t] == RV6_T_FREE) {
			say(ck, true, "directory %u: entry '%s' names free inode %u (dangling)", inum,
			    name, t);
			continue;
		}
		dot = strcmp(de[k].name, ".") == 0;
		dotdot = strcmp(de[k].name, "..") == 0;
		if (off == 0 && !dot)
			say(ck, true, "directory %u: no \".\" entry", inum);
		if (off == sizeof(*de) && !dotdot)
			say(ck, true, "directory %u: no \"..\" entry", inum);
		if ((dot && off != 0) || (dotdot && off != sizeof(*de))) {
			say(ck, true, "directory %u: '%s' entry at offset %llu", inum, name,
			    (unsigned long long)off);
			continue;
		}
		if (dot) {
			if (t != inum)
				say(ck, true, "directory %u: \".\" names inode %u", inum, t);
			continue;
		}
		if (dotdot) {
			ck->dotdot[inum] = t;
			if (ck->type[t] != RV6_T_DIR)
				say(ck, true, "directory %u: \"..\" names inode %u, not a directory",
				    inum, t);
			ck->links[t]++;
			continue;
		}
		ck->links[t]++;
		if (!ck->named_in[t])
			ck->named_in[t] = inum;
		if (ck->type[t] == RV6_T_DIR) {
			if (t == RV6_ROOT_INUM)
				say(ck, true, "directory %u: entry '%s' names the root", inum, name);
			else if (ck->parent[t])
				say(ck, true, "directory %u is named in two directories (%u and %u)",
				    t, ck->parent[t], inum);
			else
				ck->parent[t] = inum;
		}
	}
	return 0;
}

/* Whether directory inum leads up to the root through the directories naming it. */
static bool reachable(const struct checker *ck, uint32_t inum)
{
	for (uint32_t steps = 0; steps < ck->sb.ninodes; steps++) {
		if (inum == RV6_ROOT_INUM)
			return true;
		if (inum == 0 || ck->type[inum] != RV6_T_DIR)
			return false;
		inum = ck->parent[inum];
	}
	return false;
}

static int check_inodes(struct checker *ck)
{
	struct rv6_dinode d;
	int err;

	for (uint32_t inum = 1; inum < ck->sb.ninodes; inum++) {
		err = read_dinode(ck, inum, &d);
		if (err)
			return err;
		if (d.type == RV6_T_FREE)
			continue;
		if (d.type != RV6_T_DIR && d.type != RV6_T_FILE) {
			say(ck, true, "inode %u: unknown type %u", inum, d.type);
			continue;
		}
		ck->type[inum] = (uint8_t)d.type;
		ck->nlink[inum] = d.nlink;
		ck->stats.inodes_used++;
		if (d.size > RV6_MAX_FILE_SIZE)
			say(ck, true, "inode %u: size %llu beyond the largest file", inum,
			    (unsigned long long)d.size);
		if (d.type == RV6_T_DIR && d.size % sizeof(struct rv6_ddirent))
			say(ck, true, "directory %u: size %llu not a whole number of entries", inum,
			    (unsigned long long)d.size);
		if (d.type == RV6_T_DIR && d.size > RV6_DIR_MAX_SIZE)
			say(ck, true, "directory %u: size %llu beyond the largest directory", inum,
			    (unsigned long long)d.size);
		err = walk(ck, inum, &d, true, data_claim);
		if (err)
			return err;
	}
	return 0;
}

static int check_dirs(struct checker *ck)
{
	struct rv6_dinode d;
	int err;

	for (uint32_t inum = 1; inum < ck->sb.ninodes; inum++) {
		/*
		 * An orphan directory (removed, not yet freed) names nothing:
		 * its "." and ".." are on their way out with it.
		 */
		if (ck->type[inum] != RV6_T_DIR || ck->nlink[inum] == 0)
			continue;
		err = read_dinode(ck, inum, &d);
		if (err)
			return err;
		if (d.size < 2 * sizeof(struct rv6_ddirent))
			say(ck, true, "directory %u: too small for \".\" and \"..\"", inum);
		else if (d.addrs[0] == 0)
			say(ck, true, "directory %u: no \".\" and \"..\" entries", inum);
		ck->dir_next = 0;
		err = walk(ck, inum, &d, false, dir_block);
		if (err)
			return err;
		if ((uint64_t)ck->dir_next * RV6_BSIZE < d.size && d.size <= RV6_DIR_MAX_SIZE)
			say(ck, true, "directory %u: a hole at file block %llu", inum,
			    (unsigned long long)ck->dir_next);
	}
	return 0;
}

static void check_links(struct checker *ck)
{
	if (ck->type[RV6_ROOT_INUM] != RV6_T_DIR) {
		say(ck, true, "inode %u (the root) is not a directory", RV6_ROOT_INUM);
		return;
	}
	if (ck->dotdot[RV6_ROOT_INUM] != RV6_ROOT_INUM)
		say(ck, true, "the root's \"..\" names inode %u", ck->dotdot[RV6_ROOT_INUM]);
	for (uint32_t inum = 1; inum < ck->sb.ninodes; inum++) {
		if (ck->type[inum] == RV6_T_FREE)
			continue;
		if (ck->nlink[inum] == 0 && ck->links[inum] == 0) {
			ck->stats.orphans++;
			say(ck, false, "inode %u: orphan (no links, no entries); mount frees it", inum);
			continue;
		}
		if (ck->nlink[inum] != ck->links[inum])
			say(ck, true, "inode %u: link count %u, but %u directory entries name it",
			    inum, ck->nlink[inum], ck->links[inum]);
		if (ck->type[inum] == RV6_T_DIR) {
			if (inum != RV6_ROOT_INUM && ck->parent[inum] &&
			    ck->dotdot[inum] != ck->parent[inum])
				say(ck, true, "directory %u: \"..\" names inode %u, but it is in directory %u",
				    inum, ck->dotdot[inum], ck->parent[inum]);
			if (ck->links[inum] && !reachable(ck, inum))
				say(ck, true, "directory %u is not reachable from the root", inum);
		} else if (ck->links[inum] && !reachable(ck, ck->named_in[inum])) {
			say(ck, true, "inode %u is not reachable from the root", inum);
		}
	}
}

static int check_bitmap(struct checker *ck)
{
	uint32_t nbitmap = ck->sb.data_start - ck->sb.bmap_start;
	unsigned long long extra = 0;
	unsigned reported = 0;
	int err;

	for (uint32_t bi = 0; bi < nbitmap; bi++) {
		uint8_t *bits;

		err = rd(ck, ck->sb.bmap_start + bi, 0, (void **)&bits);
		if (err)
			return err;
		for (uint32_t i = 0; i < RV6_BPB; i++) {
			uint64_t b = (uint64_t)bi * RV6_BPB + i;
			bool set, used;

			if (b >= ck->sb.size)
				break;
			set = bits[i / 8] & (1u << (i % 8));
			used = b < ck->sb.data_start || ck->owner[b];
			if (set == used)
				continue;
			if (reported++ >= BITMAP_REPORTS_MAX) {
				extra++;
				continue;
			}
			if (used && b < ck->sb.data_start)
				say(ck, true, "block %llu: metadata marked free in the bitmap",
				    (unsigned long long)b);
			else if (used)
				say(ck, true, "block %llu: used by inode %u but marked free in the bitmap",
				    (unsigned long long)b, ck->owner[b]);
			else
				say(ck, true, "block %llu: marked in use in the bitmap but referenced by nothing",
				    (unsigned long long)b);
		}
	}
	if (extra)
		say(ck, true, "... and %llu more blocks whose bitmap bit is wrong", extra);
	return 0;
}

long rv6_check(const struct rv6_bdev *dev, void (*report)(void *ctx, const char *line),
	       void (*note)(void *ctx, const char *line), void *ctx, struct rv6_check_stats *stats)
{
	struct checker ck = { .dev = dev, .report = report, .note = note, .ctx = ctx };
	const char *why;
	void *blk;
	int err;

	if (!dev || !dev->read || !dev->nblocks)
		return -EINVAL;
	/* Three scratch blocks: an inode's walk goes two index levels deep. */
	ck.buf = aligned_alloc(RV6_BSIZE, 3 * RV6_BSIZE);
	if (!ck.buf)
		return -ENOMEM;
	err = dev->read(dev->ctx, RV6_SB_BLOCK, ck.buf, 0);
	if (err) {
		err = err < 0 ? err : -EIO;
		goto out;
	}
	memcpy(&ck.sb, ck.buf, sizeof(ck.sb));
	if (__rv6_sb_check(&ck.sb, dev->nblocks(dev->ctx), &why)) {
		say(&ck, true, "superblock: %s", why);
		goto out;
	}
	err = rd(&ck, ck.sb.log_start, 0, &blk);
	if (err)
		goto out;
	memcpy(&ck.lh, blk, sizeof(ck.lh));
	if (__rv6_loghdr_check(&ck.sb, &ck.lh, &why)) {
		say(&ck, true, "log: %s", why);
		ck.lh.n = 0;
	} else if (ck.lh.n) {
		say(&ck, false, "log: a committed transaction of %u blocks awaits replay; checked as replayed",
		    ck.lh.n);
	}
	ck.owner = calloc(ck.sb.size, sizeof(*ck.owner));
	ck.type = calloc(ck.sb.ninodes, sizeof(*ck.type));
	ck.nlink = calloc(ck.sb.ninodes, sizeof(*ck.nlink));
	ck.links = calloc(ck.sb.ninodes, sizeof(*ck.links));
	ck.parent = calloc(ck.sb.ninodes, sizeof(*ck.parent));
	ck.dotdot = calloc(ck.sb.ninodes, sizeof(*ck.dotdot));
	ck.named_in = calloc(ck.sb.ninodes, sizeof(*ck.named_in));
	if (!ck.owner || !ck.type || !ck.nlink || !ck.links || !ck.parent || !ck.dotdot ||
	    !ck.named_in) {
		err = -ENOMEM;
		goto out;
	}
	err = check_inodes(&ck);
	if (!err)
		err = check_dirs(&ck);
	if (!err) {
		check_links(&ck);
		err = check_bitmap(&ck);
	}
out:
	free(ck.buf);
	free(ck.owner);
	free(ck.type);
	free(ck.nlink);
	free(ck.links);
	free(ck.parent);
	free(ck.dotdot);
	free(ck.named_in);
	if (err)
		return err;
	if (stats)
		*stats = ck.stats;
	return ck.problems;
}
