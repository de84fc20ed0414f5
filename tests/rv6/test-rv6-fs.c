// SPDX-License-Identifier: MIT
/*
 * Rv6's file system library over an in-memory device: every call and its
 * errors, paths, links, directories, name limits, holes, truncation,
 * transactions (big writes split, group commit), a full disk, a failing
 * device, and the buffers' allocator.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "t_rv6.h"

static struct t_memdev md;
static struct t_bufs tb;
static struct rv6_bdev dev;
static struct rv6_buf_ops bops;

static struct rv6_fs *fresh(uint32_t nblocks, uint32_t ninodes)
{
	struct rv6_mkfs_opts o = { .ninodes = ninodes };
	struct rv6_fs *fs = NULL;

	t_memdev_free(&md);
	t_memdev_init(&md, nblocks);
	md.check_handles = true;
	dev = t_memdev_bdev(&md);
	bops = t_bufs_ops(&tb);
	md.check_handles = false;	/* mkfs uses its own buffer */
	T_EQ(rv6_mkfs(&dev, &o), 0);
	md.check_handles = true;
	T_EQ(rv6_mount(&dev, &bops, &fs), 0);
	return fs;
}

static long check(void)
{
	long n;

	md.check_handles = false;	/* the checker reads with its own scratch blocks */
	n = t_check_image(&dev, "check", NULL);
	md.check_handles = true;
	return n;
}

static void put_file(struct rv6_fs *fs, const char *path, const void *data, size_t n)
{
	struct rv6_inode *ip;

	t_assert_eq(rv6_open(fs, NULL, path, RV6_O_CREATE | RV6_O_TRUNC, &ip), 0);
	t_assert_eq(rv6_write(fs, ip, data, n, 0), (long long)n);
	t_assert_eq(rv6_close(fs, ip), 0);
}

static struct rv6_stat stat_of(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path)
{
	struct rv6_stat st = { 0 };
	struct rv6_inode *ip;

	if (rv6_open(fs, cwd, path, 0, &ip) == 0) {
		rv6_stat(fs, ip, &st);
		rv6_close(fs, ip);
	}
	return st;
}

static void test_basics(void)
{
	struct rv6_fs *fs = fresh(4096, 0);
	struct rv6_inode *ip, *d, *root;
	uint8_t buf[20000];
	struct rv6_stat st;

	t_assert_eq(rv6_root(fs, &root), 0);
	t_assert_eq(rv6_stat(fs, root, &st), 0);
	t_assert_eq(st.type, RV6_T_DIR);
	t_assert_eq(st.inum, RV6_ROOT_INUM);
	t_assert_eq(st.nlink, 1);

	t_assert_eq(rv6_open(fs, NULL, "/a", RV6_O_CREATE, &ip), 0);
	t_assert_eq(rv6_write(fs, ip, "hello", 5, 0), 5);
	t_assert_eq(rv6_read(fs, ip, buf, sizeof(buf), 0), 5);
	t_assert(memcmp(buf, "hello", 5) == 0);
	/* A gap reads as zeros; the size follows the last byte. */
	t_assert_eq(rv6_write(fs, ip, "x", 1, 10000), 1);
	t_assert_eq(rv6_read(fs, ip, buf, sizeof(buf), 0), 10001);
	for (int i = 5; i < 10000; i++)
		if (buf[i]) {
			t_assert(!"hole reads as zeros");
			break;
		}
	t_assert_eq(buf[10000], 'x');
	t_assert_eq(rv6_read(fs, ip, buf, 10, 10001), 0);
	t_assert_eq(rv6_read(fs, ip, buf, 10, 1ull << 40), 0);
	t_assert_eq(rv6_stat(fs, ip, &st), 0);
	t_assert_eq(st.size, 10001);
	t_assert_eq(st.nlink, 1);
	t_assert_eq(rv6_close(fs, ip), 0);

	/* Lookups and their errors. */
	t_assert_eq(rv6_open(fs, NULL, "/nope", 0, &ip), -ENOENT);
	t_assert_eq(rv6_open(fs, NULL, "", 0, &ip), -ENOENT);
	t_assert_eq(rv6_open(fs, NULL, "/a/b", 0, &ip), -ENOTDIR);
	t_assert_eq(rv6_open(fs, NULL, "/a/b", RV6_O_CREATE, &ip), -ENOTDIR);
	t_assert_eq(rv6_open(fs, NULL, "/a", RV6_O_CREATE | RV6_O_EXCL, &ip), -EEXIST);
	t_assert_eq(rv6_open(fs, NULL, "/a", RV6_O_DIRECTORY, &ip), -ENOTDIR);
	t_assert_eq(rv6_open(fs, NULL, "/", RV6_O_CREATE, &ip), -EISDIR);
	t_assert_eq(rv6_open(fs, NULL, "/", 0x100, &ip), -EINVAL);
	t_assert_eq(rv6_read(fs, root, buf, 10, 0), -EISDIR);
	t_assert_eq(rv6_write(fs, root, buf, 10, 0), -EISDIR);
	t_assert_eq(rv6_truncate(fs, root, 0), -EISDIR);

	/* Directories, relative paths, ".." and link counts. */
	t_assert_eq(rv6_mkdir(fs, NULL, "/d"), 0);
	t_assert_eq(rv6_mkdir(fs, NULL, "/d"), -EEXIST);
	t_assert_eq(rv6_mkdir(fs, NULL, "/a/x"), -ENOTDIR);
	t_assert_eq(rv6_mkdir(fs, NULL, "/"), -EEXIST);
	t_assert_eq(rv6_mkdir(fs, NULL, "/d/e"), 0);
	t_assert_eq(rv6_open(fs, NULL, "/d", RV6_O_DIRECTORY, &d), 0);
	t_assert_eq(rv6_open(fs, NULL, "/d", RV6_O_CREATE, &ip), -EISDIR);
	t_assert_eq(rv6_open(fs, d, "f", RV6_O_CREATE, &ip), 0);
	t_assert_eq(rv6_write(fs, ip, "in d", 4, 0), 4);
	rv6_close(fs, ip);
	t_assert_eq(stat_of(fs, NULL, "/d/f").size, 4);
	t_assert_eq(stat_of(fs, d, "e/../f").size, 4);
	t_assert_eq(stat_of(fs, d, "./e/..//f").size, 4);
	t_assert_eq(stat_of(fs, d, "../a").size, 10001);
	t_assert_eq(stat_of(fs, d, "../..").inum, RV6_ROOT_INUM);
	t_assert_eq(stat_of(fs, NULL, "/d").nlink, 2);	/* its entry, e's ".." */
	t_assert_eq(stat_of(fs, NULL, "/").nlink, 2);	/* its own "..", d's ".." */
	t_assert_eq(stat_of(fs, NULL, "/d/e").nlink, 1);

	/* Links. */
	t_assert_eq(rv6_link(fs, NULL, "/a", "/d/a2"), 0);
	t_assert_eq(stat_of(fs, NULL, "/a").nlink, 2);
	t_assert_eq(rv6_link(fs, NULL, "/a", "/d/a2"), -EEXIST);
	t_assert_eq(rv6_link(fs, NULL, "/d", "/d2"), -EPERM);
	t_assert_eq(rv6_link(fs, NULL, "/nope", "/n2"), -ENOENT);
	t_assert_eq(rv6_link(fs, NULL, "/a", "/nodir/x"), -ENOENT);
	t_assert_eq(rv6_link(fs, NULL, "/a", "/d/."), -EEXIST);
	t_assert_eq(rv6_unlink(fs, NULL, "/a"), 0);
	t_assert_eq(rv6_unlink(fs, NULL, "/a"), -ENOENT);
	t_assert_eq(stat_of(fs, NULL, "/d/a2").nlink, 1);
	t_assert_eq(stat_of(fs, d, "a2").size, 10001);

	/* Removing. */
	t_assert_eq(rv6_unlink(fs, NULL, "/d"), -EISDIR);
	t_assert_eq(rv6_unlink(fs, NULL, "/"), -EISDIR);
	t_assert_eq(rv6_rmdir(fs, NULL, "/d"), -ENOTEMPTY);
	t_assert_eq(rv6_rmdir(fs, NULL, "/d/f"), -ENOTDIR);
	t_assert_eq(rv6_rmdir(fs, NULL, "/"), -EBUSY);
	t_assert_eq(rv6_rmdir(fs, NULL, "/d/."), -EINVAL);
	t_assert_eq(rv6_rmdir(fs, NULL, "/d/e"), 0);
	t_assert_eq(rv6_rmdir(fs, NULL, "/d/e"), -ENOENT);
	t_assert_eq(stat_of(fs, NULL, "/d").nlink, 1);
	t_assert_eq(rv6_unlink(fs, d, "f"), 0);
	t_assert_eq(rv6_unlink(fs, d, "a2"), 0);
	t_assert_eq(rv6_rmdir(fs, NULL, "d"), 0);
	t_assert_eq(stat_of(fs, NULL, "/").nlink, 1);
	/* The removed cwd: nothing may be created in it. */
	t_assert_eq(rv6_open(fs, d, "g", RV6_O_CREATE, &ip), -ENOENT);
	t_assert_eq(rv6_mkdir(fs, d, "g"), -ENOENT);
	t_assert_eq(rv6_close(fs, d), 0);
	t_assert_eq(rv6_close(fs, root), 0);
	t_assert_eq(check(), 0);

	/* Everything freed: only the root remains. */
	{
		struct rv6_check_stats cs;

		md.check_handles = false;
		t_assert_eq(t_check_image(&dev, "after removal", &cs), 0);
		md.check_handles = true;
		t_assert_eq(cs.inodes_used, 1);
		t_assert_eq(cs.blocks_used, 1);
	}
	t_assert_eq(t_held_inodes(fs), 0);
	t_assert_eq(t_held_buffers(fs), 0);
	t_assert_eq(rv6_unmount(fs), 0);
	t_assert_eq(tb.live, 0);
	t_assert(!tb.bad_handle);
	t_assert_eq(md.bad_handles, 0);
}

static void test_names(void)
{
	struct rv6_fs *fs = fresh(1024, 0);
	char longest[RV6_NAME_MAX + 2], path[200];
	struct rv6_dirent_info de;
	struct rv6_inode *ip, *root;
	uint64_t pos = 0;
	int found = 0, r;

	memset(longest, 'n', RV6_NAME_MAX);
	longest[RV6_NAME_MAX] = '\0';
	snprintf(path, sizeof(path), "/%s", longest);
	t_assert_eq(rv6_open(fs, NULL, path, RV6_O_CREATE, &ip), 0);
	rv6_close(fs, ip);
	t_assert_eq(rv6_mkdir(fs, NULL, "/dd"), 0);
	snprintf(path, sizeof(path), "/dd/%s", longest);
	t_assert_eq(rv6_mkdir(fs, NULL, path), 0);
	longest[RV6_NAME_MAX] = 'n';
	longest[RV6_NAME_MAX + 1] = '\0';
	snprintf(path, sizeof(path), "/%s", longest);
	t_assert_eq(rv6_open(fs, NULL, path, RV6_O_CREATE, &ip), -ENAMETOOLONG);
	t_assert_eq(rv6_open(fs, NULL, path, 0, &ip), -ENAMETOOLONG);
	t_assert_eq(rv6_mkdir(fs, NULL, path), -ENAMETOOLONG);
	snprintf(path, sizeof(path), "/%s/x", longest);
	t_assert_eq(rv6_open(fs, NULL, path, 0, &ip), -ENAMETOOLONG);
	longest[RV6_NAME_MAX] = '\0';

	t_assert_eq(rv6_root(fs, &root), 0);
	while ((r = rv6_readdir(fs, root, &pos, &de)) == 1) {
		if (strcmp(de.name, longest) == 0)
			found |= 1;
		else if (strcmp(de.name, ".") == 0 || strcmp(de.name, "..") == 0)
			found |= 2;
		else if (strcmp(de.name, "dd") == 0)
			found |= 4;
		else
			t_assert(!"unexpected entry");
	}
	t_assert_eq(r, 0);
	t_assert_eq(found, 7);
	t_assert_eq(rv6_readdir(fs, root, &pos, &de), 0);
	t_assert_eq(rv6_close(fs, root), 0);
	t_assert_eq(check(), 0);
	t_assert_eq(t_held_inodes(fs), 0);
	t_assert_eq(t_held_buffers(fs), 0);
	t_assert_eq(rv6_unmount(fs), 0);
}

static void test_open_unlinked(void)
{
	struct rv6_fs *fs = fresh(4096, 0);
	static uint8_t buf[100000], back[100000];
	struct rv6_check_stats cs;
	struct rv6_inode *ip, *ip2;

	t_fill(buf, sizeof(buf), 7, 0);
	t_assert_eq(rv6_open(fs, NULL, "/f", RV6_O_CREATE, &ip), 0);
	t_assert_eq(rv6_write(fs, ip, buf, sizeof(buf), 0), sizeof(buf));
	t_assert_eq(rv6_open(fs, NULL, "/f", 0, &ip2), 0);
	t_assert(ip == ip2);
	t_assert_eq(rv6_unlink(fs, NULL, "/f"), 0);
	t_assert_eq(rv6_open(fs, NULL, "/f", 0, &ip2), -ENOENT);
	/* Still open: still readable, and an orphan on disk. */
	t_assert_eq(rv6_read(fs, ip, back, sizeof(back), 0), sizeof(back));
	t_assert(memcmp(buf, back, sizeof(buf)) == 0);
	md.check_handles = false;
	t_assert_eq(t_check_image(&dev, "open unlinked", &cs), 0);
	md.check_handles = true;
	t_assert_eq(cs.orphans, 1);
	t_assert_eq(cs.blocks_used, 1 + 25 + 1);	/* root, data, indirect */
	t_assert_eq(rv6_close(fs, ip), 0);	/* one of two references */
	t_assert_eq(rv6_read(fs, ip, back, 10, 0), 10);
	t_assert_eq(rv6_close(fs, ip), 0);	/* the last: freed */
	md.check_handles = false;
	t_assert_eq(t_check_image(&dev, "closed", &cs), 0);
	md.check_handles = true;
	t_assert_eq(cs.orphans, 0);
	t_assert_eq(cs.inodes_used, 1);
	t_assert_eq(cs.blocks_used, 1);

	/* An orphan left open at unmount is freed by the next mount. */
	t_assert_eq(rv6_open(fs, NULL, "/g", RV6_O_CREATE, &ip), 0);
	t_assert_eq(rv6_write(fs, ip, buf, sizeof(buf), 0), sizeof(buf));
	t_assert_eq(rv6_unlink(fs, NULL, "/g"), 0);
	t_assert_eq(t_held_inodes(fs), 1);	/* /g, still open */
	t_assert_eq(t_held_buffers(fs), 0);
	t_assert_eq(rv6_unmount(fs), 0);
	md.check_handles = false;
	t_assert_eq(t_check_image(&dev, "orphan", &cs), 0);
	t_assert_eq(cs.orphans, 1);
	md.check_handles = true;
	t_assert_eq(rv6_mount(&dev, &bops, &fs), 0);
	md.check_handles = false;
	t_assert_eq(t_check_image(&dev, "remounted", &cs), 0);
	t_assert_eq(cs.orphans, 0);
	t_assert_eq(cs.blocks_used, 1);
	md.check_handles = true;
	t_assert_eq(t_held_inodes(fs), 0);
	t_assert_eq(t_held_buffers(fs), 0);
	t_assert_eq(rv6_unmount(fs), 0);
}

static void test_truncate(void)
{
	struct rv6_fs *fs = fresh(4096, 0);
	static uint8_t buf[60 * 4096], back[60 * 4096];
	struct rv6_check_stats cs;
	struct rv6_inode *ip;

	t_fill(buf, sizeof(buf), 3, 0);
	t_assert_eq(rv6_open(fs, NULL, "/t", RV6_O_CREATE, &ip), 0);
	t_assert_eq(rv6_write(fs, ip, buf, sizeof(buf), 0), sizeof(buf));
	t_assert_eq(rv6_truncate(fs, ip, 5000), 0);
	t_assert_eq(rv6_truncate(fs, ip, 3 * 4096), 0);	/* grows: a hole after 5000 */
	t_assert_eq(rv6_read(fs, ip, back, sizeof(back), 0), 3 * 4096);
	t_assert(memcmp(back, buf, 5000) == 0);
	for (int i = 5000; i < 3 * 4096; i++)
		if (back[i]) {
			t_assert(!"bytes past a truncation read as zeros");
			break;
		}
	md.check_handles = false;
	t_assert_eq(t_check_image(&dev, "truncated", &cs), 0);
	md.check_handles = true;
	t_assert_eq(cs.blocks_used, 1 + 2);
	t_assert_eq(rv6_truncate(fs, ip, RV6_MAX_FILE_SIZE + 1), -EFBIG);
	t_assert_eq(rv6_write(fs, ip, buf, 1, RV6_MAX_FILE_SIZE), -EFBIG);
	t_assert_eq(rv6_write(fs, ip, buf, 2, RV6_MAX_FILE_SIZE - 1), -EFBIG);
	t_assert_eq(rv6_close(fs, ip), 0);
	/* O_TRUNC */
	t_assert_eq(rv6_open(fs, NULL, "/t", RV6_O_TRUNC, &ip), 0);
	t_assert_eq(rv6_read(fs, ip, back, 10, 0), 0);
	t_assert_eq(rv6_close(fs, ip), 0);
	md.check_handles = false;
	t_assert_eq(t_check_image(&dev, "o_trunc", &cs), 0);
	md.check_handles = true;
	t_assert_eq(cs.blocks_used, 1);
	t_assert_eq(t_held_inodes(fs), 0);
	t_assert_eq(t_held_buffers(fs), 0);
	t_assert_eq(rv6_unmount(fs), 0);
}

/* A write far bigger than the log, in one call; group commit; -EBUSY inside a full group. */
static void test_transactions(void)
{
	struct rv6_fs *fs = fresh(8192, 0);
	size_t n = 5u << 20;
	uint8_t *buf = malloc(n), *back = malloc(n);
	unsigned long flushes;
	struct rv6_inode *ip;
	ssize_t w;

	t_fill(buf, n, 11, 0);
	flushes = md.flushes;
	t_assert_eq(rv6_open(fs, NULL, "/big", RV6_O_CREATE, &ip), 0);
	t_assert_eq(rv6_write(fs, ip, buf, n, 0), (long long)n);
	/* 4 flushes a commit: at least 1280 blocks / 64 commits. */
	t_assert(md.flushes - flushes >= 4 * (n / RV6_BSIZE / RV6_MAX_OP_BLOCKS));
	t_assert_eq(rv6_read(fs, ip, back, n, 0), (long long)n);
	t_assert(memcmp(buf, back, n) == 0);

	/* Three creations in one group: one commit. */
	flushes = md.flushes;
	t_assert_eq(rv6_begin_op(fs), 0);
	put_file(fs, "/g1", "1", 1);
	put_file(fs, "/g2", "22", 2);
	t_assert_eq(rv6_mkdir(fs, NULL, "/g3"), 0);
	t_assert_eq(md.flushes, flushes);
	t_assert_eq(rv6_end_op(fs), 0);
	t_assert_eq(md.flushes - flushes, 4);
	t_assert_eq(stat_of(fs, NULL, "/g2").size, 2);
	t_assert_eq(rv6_end_op(fs), -EINVAL);

	/* Inside a group the log fills: the write stops short, then -EBUSY. */
	t_assert_eq(rv6_begin_op(fs), 0);
	w = rv6_write(fs, ip, buf, n, n);
	t_assert(w > 0 && (size_t)w < n);
	t_assert_eq(rv6_write(fs, ip, buf, n, n + (size_t)w), -EBUSY);
	t_assert_eq(rv6_begin_op(fs), -EBUSY);
	t_assert_eq(rv6_end_op(fs), 0);
	t_assert_eq(stat_of(fs, NULL, "/big").size, n + (size_t)w);
	t_assert_eq(rv6_close(fs, ip), 0);
	t_assert_eq(check(), 0);
	t_assert_eq(t_held_inodes(fs), 0);
	t_assert_eq(t_held_buffers(fs), 0);
	t_assert_eq(rv6_unmount(fs), 0);
	free(buf);
	free(back);
}

static void test_full(void)
{
	struct rv6_fs *fs = fresh(600, 128);
	static uint8_t buf[4u << 20];
	struct rv6_inode *ip, *open_files[130];
	char name[32];
	ssize_t w;
	int i, err = 0;

	/* Data blocks run out: a short write, then -ENOSPC, and a consistent image. */
	t_assert_eq(rv6_open(fs, NULL, "/fill", RV6_O_CREATE, &ip), 0);
	w = rv6_write(fs, ip, buf, sizeof(buf), 0);
	t_assert(w > 0 && (size_t)w < sizeof(buf));
	t_assert_eq(rv6_write(fs, ip, buf, 4096, (uint64_t)w), -ENOSPC);
	t_assert_eq(rv6_mkdir(fs, NULL, "/nospace"), -ENOSPC);
	t_assert_eq(check(), 0);
	t_assert_eq(rv6_open(fs, NULL, "/nospace", 0, &ip), -ENOENT);
	t_assert_eq(rv6_truncate(fs, ip, 0), 0);
	t_assert_eq(rv6_close(fs, ip), 0);
	t_assert_eq(rv6_mkdir(fs, NULL, "/space"), 0);

	/* Inodes run out (127 usable, the root and /fill and /space taken). */
	for (i = 0; i < 200 && !err; i++) {
		snprintf(name, sizeof(name), "/space/f%d", i);
		err = rv6_open(fs, NULL, name, RV6_O_CREATE, &ip);
		if (!err)
			rv6_close(fs, ip);
	}
	t_assert_eq(err, -ENOSPC);
	t_assert_eq(i - 1, 128 - 4);
	t_assert_eq(check(), 0);

	t_assert_eq(t_held_inodes(fs), 0);
	t_assert_eq(t_held_buffers(fs), 0);
	t_assert_eq(rv6_unmount(fs), 0);

	/* In-memory inodes run out (128): -ENFILE, nothing created, nothing leaked. */
	fs = fresh(2048, 512);
	err = 0;
	for (i = 0; i < 130 && !err; i++) {
		snprintf(name, sizeof(name), "/o%d", i);
		err = rv6_open(fs, NULL, name, RV6_O_CREATE, &open_files[i]);
	}
	t_assert_eq(err, -ENFILE);
	t_assert_eq(i - 1, 127);	/* the root is held while the name is looked up */
	for (int k = 0; k < i - 1; k++)
		rv6_close(fs, open_files[k]);
	t_assert_eq(rv6_open(fs, NULL, name, 0, &ip), -ENOENT);
	t_assert_eq(check(), 0);
	t_assert_eq(t_held_inodes(fs), 0);
	t_assert_eq(t_held_buffers(fs), 0);
	t_assert_eq(rv6_unmount(fs), 0);
}

/* A device whose writes start failing: -EIO from then on, and the image stays mountable. */
static void test_eio(void)
{
	struct rv6_fs *fs = fresh(2048, 0);
	struct rv6_inode *ip;
	int err = 0, i;
	char name[16];

	put_file(fs, "/keep", "kept", 4);
	md.fail_writes_after = (long)md.writes + 7;	/* within the next commit */
	for (i = 0; i < 10 && !err; i++) {
		snprintf(name, sizeof(name), "/x%d", i);
		err = rv6_mkdir(fs, NULL, name);
	}
	t_assert_eq(err, -EIO);
	t_assert_eq(rv6_mkdir(fs, NULL, "/later"), -EIO);
	t_assert_eq(rv6_open(fs, NULL, "/later", RV6_O_CREATE, &ip), -EIO);
	t_assert_eq(rv6_begin_op(fs), -EIO);
	rv6_unmount(fs);
	md.fail_writes_after = -1;
	t_assert_eq(check(), 0);
	t_assert_eq(rv6_mount(&dev, &bops, &fs), 0);
	t_assert_eq(stat_of(fs, NULL, "/keep").size, 4);
	t_assert_eq(check(), 0);
	t_assert_eq(t_held_inodes(fs), 0);
	t_assert_eq(t_held_buffers(fs), 0);
	t_assert_eq(rv6_unmount(fs), 0);
	t_assert_eq(tb.live, 0);
}

/* What is written survives an unmount and a mount with the default allocator. */
static void test_persist(void)
{
	struct rv6_fs *fs = fresh(2048, 0);
	uint8_t back[16];
	struct rv6_inode *ip;

	t_assert_eq(rv6_mkdir(fs, NULL, "/p"), 0);
	put_file(fs, "/p/q", "persisted", 9);
	t_assert_eq(t_held_inodes(fs), 0);
	t_assert_eq(t_held_buffers(fs), 0);
	t_assert_eq(rv6_unmount(fs), 0);
	md.check_handles = false;
	t_assert_eq(rv6_mount(&dev, NULL, &fs), 0);
	t_assert_eq(rv6_open(fs, NULL, "p/q", 0, &ip), 0);
	t_assert_eq(rv6_read(fs, ip, back, sizeof(back), 0), 9);
	t_assert(memcmp(back, "persisted", 9) == 0);
	rv6_close(fs, ip);
	t_assert_eq(t_held_inodes(fs), 0);
	t_assert_eq(t_held_buffers(fs), 0);
	t_assert_eq(rv6_unmount(fs), 0);
	/* Bad arguments. */
	t_assert_eq(rv6_mount(NULL, NULL, &fs), -EINVAL);
	{
		struct rv6_buf_ops half = { .alloc = bops.alloc };

		t_assert_eq(rv6_mount(&dev, &half, &fs), -EINVAL);
	}
	t_assert_eq(rv6_mkfs(&dev, &(struct rv6_mkfs_opts){ .nblocks = md.nblocks + 1 }), -EINVAL);
	t_assert_eq(rv6_mkfs(&dev, &(struct rv6_mkfs_opts){ .nblocks = 100 }), -EINVAL);
	t_assert_eq(rv6_mkfs(&dev, &(struct rv6_mkfs_opts){ .nlog = 10 }), -EINVAL);
}

int main(void)
{
	t_memdev_init(&md, 1);
	test_basics();
	test_names();
	test_open_unlinked();
	test_truncate();
	test_transactions();
	test_full();
	test_eio();
	test_persist();
	t_memdev_free(&md);
	t_assert_eq(tb.live, 0);
	t_assert(!tb.bad_handle);
	t_assert_eq(md.bad_handles, 0);
	if (!t_failed)
		printf("rv6 fs: all checks passed (%lu buffers allocated and freed)\n", tb.allocs);
	return t_result();
}
