/* SPDX-License-Identifier: MIT */
/*
 * Rv6's file system as a library: an xv6-style file system with 4 KiB
 * blocks, a write-ahead log, a buffer cache, inodes with direct,
 * single-indirect and double-indirect blocks (files up to
 * RV6_MAX_FILE_SIZE), directories and path lookup. docs/rv6.md has the
 * on-disk layout and the log's rules.
 *
 * The library keeps no global state: each mounted file system is a struct
 * rv6_fs. It reaches its device only through struct rv6_bdev and gets the
 * memory of its block buffers only through struct rv6_buf_ops, so the Rv6
 * domain can back each buffer with an RRef block of the shared heap and the
 * host tools with plain memory and a file.
 *
 * It is not thread-safe: one caller at a time per struct rv6_fs.
 *
 * Errors: every int or ssize_t function returns 0 (or a count) or a
 * negative errno. Besides the usual ones (ENOENT, ENOTDIR, EISDIR, EEXIST,
 * ENAMETOOLONG, ENOSPC, EFBIG, ENOTEMPTY, EINVAL, EMLINK, EPERM):
 *   -EUCLEAN  the image is corrupt where the call looked (a block number out
 *             of range, a bad inode, a directory entry without a terminated
 *             name...); nothing was changed by the call
 *   -EIO      the device failed; after a failed commit every later call on
 *             this rv6_fs returns -EIO (unmount it)
 *   -ENFILE   all in-memory inodes are in use (close some)
 *   -EBUSY    rv6_begin_op(): the group the caller holds open has no room
 *             left in the log for another operation (end it first)
 */
#ifndef RV6_FS_H
#define RV6_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RV6_BSIZE 4096u
/* The longest name of a directory entry, in bytes, without its NUL. */
#define RV6_NAME_MAX 59u
#define RV6_NDIRECT 10u
#define RV6_NINDIRECT (RV6_BSIZE / 4u)
#define RV6_MAX_FILE_BLOCKS \
	((uint64_t)RV6_NDIRECT + RV6_NINDIRECT + (uint64_t)RV6_NINDIRECT * RV6_NINDIRECT)
#define RV6_MAX_FILE_SIZE (RV6_MAX_FILE_BLOCKS * RV6_BSIZE)
#define RV6_ROOT_INUM 1u
/*
 * A directory's largest size: its direct and single-indirect blocks, 66 176
 * entries ("." and ".." included). Past it, creating a name is -ENOSPC.
 */
#define RV6_DIR_MAX_SIZE (((uint64_t)RV6_NDIRECT + RV6_NINDIRECT) * RV6_BSIZE)

/* Inode types, as stored on disk. */
enum rv6_type {
	RV6_T_FREE = 0,
	RV6_T_DIR = 1,
	RV6_T_FILE = 2,
};

/*
 * The block device: 4 KiB blocks by number. read and write move one whole
 * block between the device and a buffer (data, with the handle its
 * allocator gave it) and return 0 or a negative errno. flush returns when
 * every write before it is durable. nblocks is the device's size in blocks.
 */
struct rv6_bdev {
	void *ctx;
	int (*read)(void *ctx, uint32_t blockno, void *data, uint64_t handle);
	int (*write)(void *ctx, uint32_t blockno, const void *data, uint64_t handle);
	uint64_t (*nblocks)(void *ctx);
	int (*flush)(void *ctx);
};

/*
 * Where block buffers come from: alloc sets *data to RV6_BSIZE bytes
 * (4 KiB aligned is best) and *handle to whatever the allocator wants back
 * in free and in the device's callbacks; it returns 0 or a negative errno.
 * NULL buf_ops in rv6_mount() means aligned_alloc().
 */
struct rv6_buf_ops {
	void *ctx;
	int (*alloc)(void *ctx, void **data, uint64_t *handle);
	void (*free)(void *ctx, void *data, uint64_t handle);
};

struct rv6_fs;
/* An in-memory inode with a reference held by the caller (an open file, a cwd). */
struct rv6_inode;

struct rv6_stat {
	uint32_t inum;
	uint16_t type;		/* enum rv6_type */
	uint16_t nlink;
	uint64_t size;
};

/*
 * Mounts the file system on dev: validates the superblock, replays a
 * committed transaction left in the log, checks the root directory and
 * reclaims orphans (allocated inodes no directory names, left by a crash
 * while they were open or being freed). Returns 0 and *out, -EUCLEAN for an
 * image it refuses, -EIO, -ENOMEM.
 */
int rv6_mount(const struct rv6_bdev *dev, const struct rv6_buf_ops *buf_ops, struct rv6_fs **out);
/*
 * Unmounts: every transaction is already committed; this flushes the
 * device and frees the rv6_fs and its buffers. Inodes the caller still
 * holds are dropped (an unlinked one stays an orphan until the next mount).
 * Returns 0 or the flush's error; fs is freed either way.
 */
int rv6_unmount(struct rv6_fs *fs);

/*
 * Transactions. Every call below that changes the file system runs in its
 * own transaction, committed before it returns. A caller may group several
 * calls between rv6_begin_op() and rv6_end_op(): they commit together (group
 * commit), all or nothing. rv6_begin_op() fails with -EBUSY when the open
 * group leaves no room in the log for one more operation, and with -EIO
 * after a failed commit. rv6_end_op() returns the commit's error.
 */
int rv6_begin_op(struct rv6_fs *fs);
int rv6_end_op(struct rv6_fs *fs);

/* open flags */
#define RV6_O_CREATE 0x1u	/* create a regular file if the name is free */
#define RV6_O_EXCL 0x2u		/* with RV6_O_CREATE: -EEXIST if it exists */
#define RV6_O_TRUNC 0x4u	/* truncate a regular file to 0 */
#define RV6_O_DIRECTORY 0x8u	/* -ENOTDIR unless it is a directory */

/*
 * Paths: absolute ("/a/b") or relative to cwd (a directory inode; NULL
 * means the root). Empty components are skipped ("a//b"); a component
 * longer than RV6_NAME_MAX bytes is -ENAMETOOLONG.
 */
int rv6_root(struct rv6_fs *fs, struct rv6_inode **out);
int rv6_open(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path, unsigned flags,
	     struct rv6_inode **out);
/* Another reference to ip (for a second cwd or a dup'ed file). */
struct rv6_inode *rv6_dup(struct rv6_inode *ip);
/*
 * Drops the caller's reference. The last reference to an inode no directory
 * names frees it and its blocks (in transactions of their own).
 */
int rv6_close(struct rv6_fs *fs, struct rv6_inode *ip);

/* Reads up to n bytes at off: the count (0 at or past the end), -EISDIR. */
ssize_t rv6_read(struct rv6_fs *fs, struct rv6_inode *ip, void *buf, size_t n, uint64_t off);
/*
 * Writes n bytes at off, growing the file (a gap reads as zeros). Big writes
 * are split into transactions that fit the log; a failure after some of
 * them returns the bytes written. -EFBIG when off + n passes
 * RV6_MAX_FILE_SIZE, -ENOSPC when the disk is full before anything was
 * written, -EISDIR.
 */
ssize_t rv6_write(struct rv6_fs *fs, struct rv6_inode *ip, const void *buf, size_t n,
		  uint64_t off);
/* Sets a regular file's size: shrinking frees blocks, growing leaves a hole. */
int rv6_truncate(struct rv6_fs *fs, struct rv6_inode *ip, uint64_t size);
int rv6_stat(struct rv6_fs *fs, struct rv6_inode *ip, struct rv6_stat *st);

/*
 * Creates new as another name of old (a regular file): -EPERM for a
 * directory, -EEXIST, -EMLINK at 65535 links.
 */
int rv6_link(struct rv6_fs *fs, struct rv6_inode *cwd, const char *old_path,
	     const char *new_path);
/* Removes a name of a regular file (-EISDIR for a directory). */
int rv6_unlink(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path);
int rv6_mkdir(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path);
/* Removes an empty directory: -ENOTEMPTY, -EINVAL for "." or "..", -EBUSY for the root. */
int rv6_rmdir(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path);

struct rv6_dirent_info {
	uint32_t inum;
	char name[RV6_NAME_MAX + 1];
};
/*
 * The directory entry at or after *pos (a byte offset, start at 0), "." and
 * ".." included: 1 and *out with *pos moved past it, 0 at the end.
 */
int rv6_readdir(struct rv6_fs *fs, struct rv6_inode *dir, uint64_t *pos,
		struct rv6_dirent_info *out);

/* Formatting. */
struct rv6_mkfs_opts {
	uint32_t nblocks;	/* 0: the whole device */
	uint32_t ninodes;	/* 0: one per 4 blocks, at least 64, at most RV6_DEFAULT_INODES_MAX */
	uint32_t nlog;		/* 0: RV6_LOG_DEFAULT; header included */
};
#define RV6_DEFAULT_INODES_MAX 65536u
#define RV6_MAX_OP_BLOCKS 64u	/* blocks one operation may log */
#define RV6_LOG_DEFAULT (3u * RV6_MAX_OP_BLOCKS + 1u)
#define RV6_LOG_MIN (RV6_MAX_OP_BLOCKS + 1u)
/*
 * Writes an empty file system (superblock, empty log, inodes, bitmap, root
 * directory) on dev. -EINVAL when the sizes do not fit (the device is too
 * small for the log, the inodes and one data block, or nblocks is larger
 * than the device).
 */
int rv6_mkfs(const struct rv6_bdev *dev, const struct rv6_mkfs_opts *opts);

/*
 * Checks an image without changing it, reading the blocks a committed
 * transaction still in the log would install from the log. Every problem is
 * reported through report (one line, no newline) and counted; notes that
 * are not problems (an orphan inode, a transaction waiting for replay) go
 * through note, which may be NULL. Returns the number of problems, or a
 * negative errno when the device cannot be read or memory runs out.
 */
struct rv6_check_stats {
	uint32_t inodes_used;
	uint32_t blocks_used;	/* data and index blocks */
	uint32_t orphans;
};
long rv6_check(const struct rv6_bdev *dev, void (*report)(void *ctx, const char *line),
	       void (*note)(void *ctx, const char *line), void *ctx, struct rv6_check_stats *stats);

#endif
