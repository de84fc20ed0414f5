/* SPDX-License-Identifier: MIT */
/*
 * The pieces of a mounted file system and the functions the library's
 * files share: the buffer cache (bcache.c), the log (log.c), inodes and
 * block maps (inode.c), directories and paths (dir.c).
 */
#ifndef RV6_FS_INTERNAL_H
#define RV6_FS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "rv6fs.h"

struct rv6_buf {
	uint32_t blockno;
	bool valid;		/* data holds the block */
	bool hashed;		/* on the chain of blockno */
	unsigned refcnt;	/* holders, the log's pin included */
	struct rv6_buf *prev, *next;	/* LRU list: most recently released first */
	struct rv6_buf *hnext;		/* hash chain by block number */
	void *data;
	uint64_t handle;
};

struct rv6_inode {
	uint32_t inum;
	unsigned ref;		/* 0: the slot is free */
	bool valid;		/* d was read from disk */
	bool reclaim;		/* on the reclaim list (holds one ref) */
	struct rv6_inode *next_reclaim;
	struct rv6_dinode d;
};

struct rv6_log {
	uint32_t start;		/* header block */
	uint32_t capacity;	/* slots this mount uses */
	uint32_t n;		/* blocks in the open transaction */
	uint32_t op_base;	/* n when the innermost operation began */
	unsigned outstanding;	/* operations begun and not ended */
	uint32_t *blocks;
	struct rv6_buf **pinned;
	void *hdr;		/* a buffer of its own for the header */
	uint64_t hdr_handle;
};

struct rv6_fs {
	struct rv6_bdev dev;
	struct rv6_buf_ops bufs;
	struct rv6_dsuper sb;
	uint32_t nbuf;
	struct rv6_buf *buf;
	struct rv6_buf lru;	/* list head */
	struct rv6_buf **hash;	/* nhash chains of the buffers holding a block */
	uint32_t nhash;		/* a power of two */
	struct rv6_log log;
	uint32_t ninode;
	struct rv6_inode *inode;
	struct rv6_inode *reclaim_list;
	bool reclaiming;
	uint32_t alloc_hint;	/* where the next block search starts */
	uint64_t freed;		/* blocks freed since the mount: truncation's progress */
	int dead;		/* 0, or the error of a failed commit */
};

/* bcache.c */
int __rv6_bcache_init(struct rv6_fs *fs, uint32_t nbuf);
void __rv6_bcache_free(struct rv6_fs *fs);
/* The buffer of blockno with its data read: 0 and *out, or a negative errno. */
int __rv6_bread(struct rv6_fs *fs, uint32_t blockno, struct rv6_buf **out);
/* The buffer of blockno zeroed, without reading it (a block about to be rewritten whole). */
int __rv6_bzero(struct rv6_fs *fs, uint32_t blockno, struct rv6_buf **out);
void __rv6_brelse(struct rv6_fs *fs, struct rv6_buf *b);
int __rv6_alloc_raw(const struct rv6_buf_ops *ops, void **data, uint64_t *handle);
void __rv6_free_raw(const struct rv6_buf_ops *ops, void *data, uint64_t handle);

/* log.c */
int __rv6_log_init(struct rv6_fs *fs);
void __rv6_log_free(struct rv6_fs *fs);
/* Records b as part of the open operation (pins it until the commit): 0 or -EIO. */
int __rv6_log_write(struct rv6_fs *fs, struct rv6_buf *b);
/* Log slots the innermost operation has left before it must end. */
uint32_t __rv6_log_room(const struct rv6_fs *fs);
/*
 * Ends the innermost operation; the outermost one commits the group. 0,
 * -EINVAL when no operation is open, the commit's error, or inside a group
 * the error of an earlier failed commit. rv6_end_op() (inode.c) adds the
 * reclaim of unnamed inodes, which the log must not call up to.
 */
int __rv6_log_end(struct rv6_fs *fs);

/* inode.c */
bool __rv6_data_block_ok(const struct rv6_fs *fs, uint32_t b);
int __rv6_balloc(struct rv6_fs *fs, uint32_t *out);
int __rv6_bfree(struct rv6_fs *fs, uint32_t b);
int __rv6_iget(struct rv6_fs *fs, uint32_t inum, struct rv6_inode **out);
/* Reads the dinode if not yet (validating it): 0 or -EUCLEAN, -EIO. */
int __rv6_iload(struct rv6_fs *fs, struct rv6_inode *ip);
int __rv6_iupdate(struct rv6_fs *fs, struct rv6_inode *ip);
int __rv6_ialloc(struct rv6_fs *fs, uint16_t type, struct rv6_inode **out);
/* Drops a reference inside an open operation; an unnamed inode goes to reclaim. */
void __rv6_iput(struct rv6_fs *fs, struct rv6_inode *ip);
ssize_t __rv6_readi(struct rv6_fs *fs, struct rv6_inode *ip, void *dst, uint64_t off, size_t n);
/* Writes inside the open operation: the caller keeps n within the log's room. */
ssize_t __rv6_writei(struct rv6_fs *fs, struct rv6_inode *ip, const void *src, uint64_t off,
		     size_t n);
/*
 * One transaction's worth of shrinking towards size: frees blocks from the
 * end while the operation has log room. Sets *done when the inode has
 * reached size. 0 or a negative errno.
 */
int __rv6_itrunc_step(struct rv6_fs *fs, struct rv6_inode *ip, uint64_t size, bool *done);
/* Runs the reclaim list (outside any operation). */
void __rv6_reclaim(struct rv6_fs *fs);

/* dir.c */
/* The entry named name in dp: 0 with *inum and *off, -ENOENT, -EUCLEAN. */
int __rv6_dirlookup(struct rv6_fs *fs, struct rv6_inode *dp, const char *name, uint32_t *inum,
		    uint64_t *off);
int __rv6_dirlink(struct rv6_fs *fs, struct rv6_inode *dp, const char *name, uint32_t inum);
/* Resolves path to an inode (a new reference). */
int __rv6_namei(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path,
		struct rv6_inode **out);
/* Resolves all but the last component: the parent (a reference) and the last name. */
int __rv6_nameiparent(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path,
		      struct rv6_inode **out, char name[RV6_NAME_MAX + 1]);
/*
 * Calls fn on every used entry of dp, a block at a time, until fn returns
 * non-zero (that value is returned) or the entries end (0). -EUCLEAN for an
 * entry that fails its checks.
 */
int __rv6_dir_scan(struct rv6_fs *fs, struct rv6_inode *dp,
		   int (*fn)(const struct rv6_ddirent *de, uint64_t off, void *arg), void *arg);
/* Whether a dirent's name is terminated, non-empty and free of '/'. */
bool __rv6_dirent_name_ok(const struct rv6_ddirent *de);

#endif
