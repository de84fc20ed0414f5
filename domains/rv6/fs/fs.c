// SPDX-License-Identifier: MIT
/*
 * Mounting and the file system's calls: each changing call is one
 * operation of the log (rv6_begin_op/rv6_end_op), except writes and
 * truncations, which take as many as their blocks need.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"

/* In-memory inodes: open files, cwds and the ones a call is using. */
#define RV6_NINODE 128u
/* Buffers beyond the log's pinned ones: the deepest call holds a few at once. */
#define RV6_SPARE_BUFS 32u

int __rv6_sb_check(const struct rv6_dsuper *sb, uint64_t dev_blocks, const char **why)
{
	uint64_t inode_blocks = ((uint64_t)sb->ninodes + RV6_IPB - 1) / RV6_IPB;

	if (sb->magic != RV6_MAGIC)
		*why = "bad magic: not an Rv6 file system";
	else if (sb->version != RV6_VERSION)
		*why = "unknown version";
	else if (sb->size > dev_blocks)
		*why = "the image is larger than the device";
	else if (sb->ninodes < 2)
		*why = "fewer than 2 inodes";
	else if (sb->nlog < RV6_LOG_MIN)
		*why = "the log is too small for one operation";
	else if (sb->log_start != RV6_SB_BLOCK + 1)
		*why = "the log does not follow the superblock";
	else if (sb->inode_start != (uint64_t)sb->log_start + sb->nlog)
		*why = "the inodes do not follow the log";
	else if (sb->bmap_start != sb->inode_start + inode_blocks)
		*why = "the bitmap does not follow the inodes";
	else if (sb->data_start != (uint64_t)sb->bmap_start + rv6_div_up(sb->size, RV6_BPB))
		*why = "the data blocks do not follow the bitmap";
	else if (sb->data_start >= sb->size)
		*why = "no data blocks";
	else
		return 0;
	return -EUCLEAN;
}

static void fs_free(struct rv6_fs *fs)
{
	__rv6_log_free(fs);
	__rv6_bcache_free(fs);
	free(fs->inode);
	free(fs);
}

/* Frees what a crash left allocated but unnamed: open-and-unlinked files, half-freed ones. */
static int reclaim_orphans(struct rv6_fs *fs)
{
	for (uint32_t inum = RV6_ROOT_INUM + 1; inum < fs->sb.ninodes; inum++) {
		struct rv6_inode *ip;
		int err;

		err = __rv6_iget(fs, inum, &ip);
		if (err)
			return err;
		err = __rv6_iload(fs, ip);
		if (err == -EUCLEAN) {
			ip->ref--;	/* a bad inode: calls that reach it will say so */
			continue;
		}
		if (err) {
			ip->ref--;
			return err;
		}
		__rv6_iput(fs, ip);
		if (fs->reclaim_list)
			__rv6_reclaim(fs);
		if (fs->dead)
			return fs->dead;
	}
	return 0;
}

int rv6_mount(const struct rv6_bdev *dev, const struct rv6_buf_ops *buf_ops, struct rv6_fs **out)
{
	struct rv6_fs *fs;
	struct rv6_inode *root;
	const char *why;
	void *tmp;
	uint64_t handle;
	int err;

	if (!dev || !dev->read || !dev->write || !dev->nblocks || !out)
		return -EINVAL;
	if (buf_ops && (!buf_ops->alloc || !buf_ops->free))
		return -EINVAL;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->dev = *dev;
	if (buf_ops)
		fs->bufs = *buf_ops;
	fs->lru.next = fs->lru.prev = &fs->lru;

	err = __rv6_alloc_raw(&fs->bufs, &tmp, &handle);
	if (err)
		goto err;
	err = dev->read(dev->ctx, RV6_SB_BLOCK, tmp, handle);
	memcpy(&fs->sb, tmp, sizeof(fs->sb));
	__rv6_free_raw(&fs->bufs, tmp, handle);
	if (err) {
		err = err < 0 ? err : -EIO;
		goto err;
	}
	err = __rv6_sb_check(&fs->sb, dev->nblocks(dev->ctx), &why);
	if (err)
		goto err;
	err = __rv6_log_init(fs);
	if (!err)
		err = __rv6_bcache_init(fs, fs->log.capacity + RV6_SPARE_BUFS);
	if (err)
		goto err;
	fs->ninode = RV6_NINODE;
	fs->inode = calloc(fs->ninode, sizeof(*fs->inode));
	if (!fs->inode) {
		err = -ENOMEM;
		goto err;
	}
	fs->alloc_hint = fs->sb.data_start;
	err = __rv6_iget(fs, RV6_ROOT_INUM, &root);
	if (err)
		goto err;
	err = __rv6_iload(fs, root);
	if (!err && root->d.type != RV6_T_DIR)
		err = -EUCLEAN;
	root->ref--;
	if (!err)
		err = reclaim_orphans(fs);
	if (err)
		goto err;
	*out = fs;
	return 0;
err:
	fs_free(fs);
	return err;
}

int rv6_unmount(struct rv6_fs *fs)
{
	int err = 0;

	if (!fs)
		return 0;
	if (fs->dev.flush)
		err = fs->dev.flush(fs->dev.ctx);
	if (err > 0)
		err = -EIO;
	fs_free(fs);
	return err;
}

int rv6_root(struct rv6_fs *fs, struct rv6_inode **out)
{
	return __rv6_iget(fs, RV6_ROOT_INUM, out);
}

int rv6_close(struct rv6_fs *fs, struct rv6_inode *ip)
{
	if (!ip)
		return 0;
	__rv6_iput(fs, ip);
	if (fs->reclaim_list && fs->log.outstanding == 0 && !fs->reclaiming)
		__rv6_reclaim(fs);
	return fs->dead;
}

/* Ends the operation, keeping the first error. */
static int end_op(struct rv6_fs *fs, int err)
{
	int e = rv6_end_op(fs);

	return err ? err : e;
}

static bool is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* Takes back a new inode whose naming failed, inside the same operation. */
static void undo_new(struct rv6_fs *fs, struct rv6_inode *ip)
{
	bool done;

	if (__rv6_itrunc_step(fs, ip, 0, &done) == 0 && done) {
		ip->d = (struct rv6_dinode){ 0 };
		__rv6_iupdate(fs, ip);
	}
	ip->d.nlink = 0;
	__rv6_iput(fs, ip);
}

/* Creates name in dp as a new inode of type; inside an operation. */
static int create_in(struct rv6_fs *fs, struct rv6_inode *dp, const char *name, uint16_t type,
		     struct rv6_inode **out)
{
	struct rv6_inode *ip;
	int err;

	if (dp->d.nlink == 0)
		return -ENOENT;		/* a removed directory */
	if (type == RV6_T_DIR && dp->d.nlink == UINT16_MAX)
		return -EMLINK;
	err = __rv6_ialloc(fs, type, &ip);
	if (err)
		return err;
	ip->d.nlink = 1;
	err = __rv6_iupdate(fs, ip);
	if (!err && type == RV6_T_DIR) {
		err = __rv6_dirlink(fs, ip, ".", ip->inum);
		if (!err)
			err = __rv6_dirlink(fs, ip, "..", dp->inum);
	}
	if (!err)
		err = __rv6_dirlink(fs, dp, name, ip->inum);
	if (err) {
		undo_new(fs, ip);
		return err;
	}
	if (type == RV6_T_DIR) {
		dp->d.nlink++;		/* the new directory's ".." */
		err = __rv6_iupdate(fs, dp);
	}
	if (err) {
		__rv6_iput(fs, ip);
		return err;
	}
	*out = ip;
	return 0;
}

int rv6_open(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path, unsigned flags,
	     struct rv6_inode **out)
{
	struct rv6_inode *ip = NULL, *dp;
	char name[RV6_NAME_MAX + 1];
	uint32_t inum;
	int err;

	if (fs->dead)
		return fs->dead;
	if (flags & ~(RV6_O_CREATE | RV6_O_EXCL | RV6_O_TRUNC | RV6_O_DIRECTORY))
		return -EINVAL;
	if (!(flags & RV6_O_CREATE)) {
		err = __rv6_namei(fs, cwd, path, &ip);
		if (!err)
			err = __rv6_iload(fs, ip);
		goto opened;
	}
	err = rv6_begin_op(fs);
	if (err)
		return err;
	err = __rv6_nameiparent(fs, cwd, path, &dp, name);
	if (err) {
		if (err == -EINVAL)
			err = -EISDIR;		/* "/" or the cwd itself */
		return end_op(fs, err);
	}
	err = __rv6_dirlookup(fs, dp, name, &inum, NULL);
	if (!err) {
		err = (flags & RV6_O_EXCL) ? -EEXIST : __rv6_iget(fs, inum, &ip);
		if (!err)
			err = __rv6_iload(fs, ip);
		if (!err && ip->d.type == RV6_T_DIR && !(flags & RV6_O_DIRECTORY))
			err = -EISDIR;
	} else if (err == -ENOENT) {
		err = (flags & RV6_O_DIRECTORY) ? -ENOENT : create_in(fs, dp, name, RV6_T_FILE, &ip);
	}
	__rv6_iput(fs, dp);
	err = end_op(fs, err);
opened:
	if (!err && (flags & RV6_O_DIRECTORY) && ip->d.type != RV6_T_DIR)
		err = -ENOTDIR;
	if (!err && ip->d.type == RV6_T_FREE)
		err = -EUCLEAN;		/* an entry naming a free inode */
	if (!err && (flags & RV6_O_TRUNC)) {
		if (ip->d.type == RV6_T_DIR)
			err = -EISDIR;
		else
			err = rv6_truncate(fs, ip, 0);
	}
	if (err) {
		if (ip)
			rv6_close(fs, ip);
		return err;
	}
	*out = ip;
	return 0;
}

/*
 * Loads ip for a call on a regular file, one that changes it with change
 * (refused once a commit has failed): 0, -EISDIR, -EUCLEAN, the error of
 * the failed commit or the load's error.
 */
static int load_file(struct rv6_fs *fs, struct rv6_inode *ip, bool change)
{
	int err;

	if (change && fs->dead)
		return fs->dead;
	err = __rv6_iload(fs, ip);
	if (err)
		return err;
	if (ip->d.type != RV6_T_FILE)
		return ip->d.type == RV6_T_DIR ? -EISDIR : -EUCLEAN;
	return 0;
}

ssize_t rv6_read(struct rv6_fs *fs, struct rv6_inode *ip, void *buf, size_t n, uint64_t off)
{
	int err = load_file(fs, ip, false);

	if (err)
		return err;
	return __rv6_readi(fs, ip, buf, off, n);
}

ssize_t rv6_write(struct rv6_fs *fs, struct rv6_inode *ip, const void *buf, size_t n,
		  uint64_t off)
{
	size_t tot = 0;
	int err;

	err = load_file(fs, ip, true);
	if (err)
		return err;
	if (off > RV6_MAX_FILE_SIZE || n > RV6_MAX_FILE_SIZE - off)
		return -EFBIG;
	while (tot < n) {
		ssize_t r;

		/* As many blocks as one transaction's room allows, then commit. */
		err = rv6_begin_op(fs);
		if (err)
			break;
		r = __rv6_writei(fs, ip, (const char *)buf + tot, off + tot, n - tot);
		err = end_op(fs, 0);
		if (r < 0) {
			err = (int)r;
			break;
		}
		if (r == 0) {
			err = -EBUSY;	/* no room inside the caller's group */
			break;
		}
		tot += (size_t)r;
		if (err)
			break;
	}
	return tot ? (ssize_t)tot : err;
}

int rv6_truncate(struct rv6_fs *fs, struct rv6_inode *ip, uint64_t size)
{
	bool done = false;
	int err;

	err = load_file(fs, ip, true);
	if (err)
		return err;
	if (size > RV6_MAX_FILE_SIZE)
		return -EFBIG;
	while (!done) {
		uint64_t before = ip->d.size, freed = fs->freed;

		err = rv6_begin_op(fs);
		if (err)
			return err;
		err = __rv6_itrunc_step(fs, ip, size, &done);
		err = end_op(fs, err);
		if (err)
			return err;
		/* No progress: the caller's group has no room left. */
		if (!done && ip->d.size == before && fs->freed == freed)
			return -EBUSY;
	}
	return 0;
}

int rv6_stat(struct rv6_fs *fs, struct rv6_inode *ip, struct rv6_stat *st)
{
	int err = __rv6_iload(fs, ip);

	if (err)
		return err;
	st->inum = ip->inum;
	st->type = ip->d.type;
	st->nlink = ip->d.nlink;
	st->size = ip->d.size;
	return 0;
}

/* Whether dp has no entry named name: 0, -EEXIST or the lookup's error. */
static int name_unused(struct rv6_fs *fs, struct rv6_inode *dp, const char *name)
{
	uint32_t inum;
	int err = __rv6_dirlookup(fs, dp, name, &inum, NULL);

	return err == 0 ? -EEXIST : err == -ENOENT ? 0 : err;
}

int rv6_link(struct rv6_fs *fs, struct rv6_inode *cwd, const char *old_path,
	     const char *new_path)
{
	struct rv6_inode *ip = NULL, *dp = NULL;
	char name[RV6_NAME_MAX + 1];
	int err;

	err = rv6_begin_op(fs);
	if (err)
		return err;
	err = __rv6_namei(fs, cwd, old_path, &ip);
	if (!err)
		err = __rv6_iload(fs, ip);
	if (!err && ip->d.type == RV6_T_DIR)
		err = -EPERM;
	if (!err && ip->d.type != RV6_T_FILE)
		err = -EUCLEAN;
	if (!err && ip->d.nlink == UINT16_MAX)
		err = -EMLINK;
	if (!err) {
		err = __rv6_nameiparent(fs, cwd, new_path, &dp, name);
		if (err == -EINVAL)
			err = -EEXIST;
	}
	if (!err && is_dot(name))
		err = -EEXIST;
	if (!err)
		err = name_unused(fs, dp, name);
	if (!err && dp->d.nlink == 0)
		err = -ENOENT;
	if (!err)
		err = __rv6_dirlink(fs, dp, name, ip->inum);
	if (!err) {
		ip->d.nlink++;
		err = __rv6_iupdate(fs, ip);
	}
	if (dp)
		__rv6_iput(fs, dp);
	if (ip)
		__rv6_iput(fs, ip);
	return end_op(fs, err);
}

/* Clears the entry at off in dp. */
static int clear_entry(struct rv6_fs *fs, struct rv6_inode *dp, uint64_t off)
{
	struct rv6_ddirent de = { 0 };
	ssize_t w = __rv6_writei(fs, dp, &de, off, sizeof(de));

	if (w < 0)
		return (int)w;
	return w == sizeof(de) ? 0 : -EIO;
}

/* The entry name in the parent of path: dp, ip and the entry's offset. */
static int find_entry(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path,
		      struct rv6_inode **dp, struct rv6_inode **ip, char name[RV6_NAME_MAX + 1],
		      uint64_t *off)
{
	uint32_t inum;
	int err;

	err = __rv6_nameiparent(fs, cwd, path, dp, name);
	if (err)
		return err;
	err = __rv6_dirlookup(fs, *dp, name, &inum, off);
	if (!err)
		err = __rv6_iget(fs, inum, ip);
	if (!err) {
		err = __rv6_iload(fs, *ip);
		if (!err && (*ip)->d.type == RV6_T_FREE)
			err = -EUCLEAN;
		if (err)
			__rv6_iput(fs, *ip);
	}
	if (err)
		__rv6_iput(fs, *dp);
	return err;
}

int rv6_mkdir(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path)
{
	struct rv6_inode *dp, *ip;
	char name[RV6_NAME_MAX + 1];
	int err;

	err = rv6_begin_op(fs);
	if (err)
		return err;
	err = __rv6_nameiparent(fs, cwd, path, &dp, name);
	if (err)
		return end_op(fs, err == -EINVAL ? -EEXIST : err);
	err = name_unused(fs, dp, name);
	if (!err)
		err = create_in(fs, dp, name, RV6_T_DIR, &ip);
	if (!err)
		__rv6_iput(fs, ip);
	__rv6_iput(fs, dp);
	return end_op(fs, err);
}

static int empty_fn(const struct rv6_ddirent *de, uint64_t off, void *arg)
{
	return is_dot(de->name) ? 0 : 1;
}

/* Whether ip, named name, may go as rmdir's target. */
static int rmdir_check(struct rv6_fs *fs, struct rv6_inode *ip, const char *name)
{
	int err;

	if (is_dot(name))
		return -EINVAL;
	if (ip->d.type != RV6_T_DIR)
		return -ENOTDIR;
	if (ip->inum == RV6_ROOT_INUM)
		return -EBUSY;
	err = __rv6_dir_scan(fs, ip, empty_fn, NULL);
	return err == 1 ? -ENOTEMPTY : err;
}

/* Removes the entry path names, a file's (unlink) or, with dir, an empty directory's (rmdir). */
static int remove_entry(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path, bool dir)
{
	struct rv6_inode *ip, *dp;
	char name[RV6_NAME_MAX + 1];
	uint64_t off;
	int err;

	err = rv6_begin_op(fs);
	if (err)
		return err;
	err = find_entry(fs, cwd, path, &dp, &ip, name, &off);
	if (err)	/* -EINVAL: no last component, "/" or the cwd itself */
		return end_op(fs, err == -EINVAL ? (dir ? -EBUSY : -EISDIR) : err);
	if (dir)
		err = rmdir_check(fs, ip, name);
	else if (ip->d.type == RV6_T_DIR || is_dot(name))
		err = -EISDIR;
	if (!err)
		err = clear_entry(fs, dp, off);
	if (!err && dir) {
		if (dp->d.nlink > 0)
			dp->d.nlink--;	/* its ".." */
		ip->d.nlink = 0;
		err = __rv6_iupdate(fs, dp);
	} else if (!err && ip->d.nlink > 0) {
		ip->d.nlink--;
	}
	if (!err)
		err = __rv6_iupdate(fs, ip);
	__rv6_iput(fs, ip);	/* the last reference to the last name queues its reclaim */
	__rv6_iput(fs, dp);
	return end_op(fs, err);
}

int rv6_unlink(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path)
{
	return remove_entry(fs, cwd, path, false);
}

int rv6_rmdir(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path)
{
	return remove_entry(fs, cwd, path, true);
}

int rv6_readdir(struct rv6_fs *fs, struct rv6_inode *dir, uint64_t *pos,
		struct rv6_dirent_info *out)
{
	struct rv6_ddirent de;
	uint64_t off;
	int err = __rv6_iload(fs, dir);

	if (err)
		return err;
	if (dir->d.type != RV6_T_DIR)
		return -ENOTDIR;
	for (off = *pos + (sizeof(de) - *pos % sizeof(de)) % sizeof(de); off < dir->d.size;
	     off += sizeof(de)) {
		ssize_t got = __rv6_readi(fs, dir, &de, off, sizeof(de));

		if (got < 0)
			return (int)got;
		if (got != sizeof(de))
			break;
		if (de.inum == 0)
			continue;
		if (!__rv6_dirent_name_ok(&de) || de.inum >= fs->sb.ninodes)
			return -EUCLEAN;
		out->inum = de.inum;
		memcpy(out->name, de.name, sizeof(out->name));
		*pos = off + sizeof(de);
		return 1;
	}
	*pos = dir->d.size;
	return 0;
}
