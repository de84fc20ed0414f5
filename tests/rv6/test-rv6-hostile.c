// SPDX-License-Identifier: MIT
/*
 * Hostile images: one corruption of each kind the library must survive
 * (superblock fields, the log header, inodes, block pointers in the inode
 * and in index blocks, directory entries, the bitmap, shared blocks), then
 * random byte flips in metadata blocks. For each image: the checker runs
 * first and must report a problem for every named corruption; the mount
 * must refuse it with -EUCLEAN or succeed; a mounted image is then walked,
 * read, written, truncated and emptied, and every call must return a count
 * or a negative errno. The point is no crash and no out-of-bounds access:
 * run it under the ASan build too.
 *
 * Usage: test-rv6-hostile [FUZZ_ROUNDS]   (default 400)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "layout.h"
#include "t_rv6.h"

#define NBLOCKS 2048u

static struct t_memdev md;
static struct rv6_bdev dev;
static uint8_t *base;
static struct rv6_dsuper sb;
static unsigned long calls, refusals, mounted;

/* Every result must be a count or an errno a caller can show. */
static void result(long r, const char *what)
{
	calls++;
	if (r < -4095) {
		fprintf(stderr, "FAIL: %s returned %ld\n", what, r);
		t_failed = 1;
	}
}

static uint8_t *blk(uint32_t b)
{
	return md.blocks + (size_t)b * RV6_BSIZE;
}

static struct rv6_dinode *dinode(uint32_t inum)
{
	return (struct rv6_dinode *)blk(sb.inode_start + inum / (uint32_t)RV6_IPB) + inum % RV6_IPB;
}

static struct rv6_dsuper *super(void)
{
	return (struct rv6_dsuper *)blk(0);
}

static struct rv6_dloghdr *loghdr(void)
{
	return (struct rv6_dloghdr *)blk(sb.log_start);
}

/* The inode number of path in the base image, looked up through a mount. */
static uint32_t inum_of(const char *path)
{
	struct rv6_inode *ip;
	struct rv6_stat st = { 0 };
	struct rv6_fs *fs;

	T_EQ(rv6_mount(&dev, NULL, &fs), 0);
	T_EQ(rv6_open(fs, NULL, path, 0, &ip), 0);
	rv6_stat(fs, ip, &st);
	rv6_close(fs, ip);
	rv6_unmount(fs);
	return st.inum;
}

/* Reads, writes and removes what it finds below dir, depth-limited (cycles). */
static void exercise_dir(struct rv6_fs *fs, struct rv6_inode *dir, int depth)
{
	static uint8_t buf[64 * 1024];
	struct rv6_dirent_info de;
	uint64_t pos = 0;
	int r, n = 0;

	while ((r = rv6_readdir(fs, dir, &pos, &de)) == 1 && n++ < 200) {
		struct rv6_inode *ip;
		struct rv6_stat st;

		if (!strcmp(de.name, ".") || !strcmp(de.name, ".."))
			continue;
		r = rv6_open(fs, dir, de.name, 0, &ip);
		result(r, "open");
		if (r)
			continue;
		result(rv6_stat(fs, ip, &st), "stat");
		if (st.type == RV6_T_DIR && depth < 6) {
			exercise_dir(fs, ip, depth + 1);
		} else {
			result(rv6_read(fs, ip, buf, sizeof(buf), 0), "read");
			if (st.size > sizeof(buf))
				result(rv6_read(fs, ip, buf, sizeof(buf), st.size - sizeof(buf)), "read end");
			result(rv6_read(fs, ip, buf, sizeof(buf), 5u << 20), "read 5M");
			result(rv6_write(fs, ip, buf, 3 * RV6_BSIZE + 5, 40000), "write");
			result(rv6_write(fs, ip, buf, 100, 6u << 20), "write far");
			result(rv6_truncate(fs, ip, 1000), "truncate");
		}
		result(rv6_close(fs, ip), "close");
		result(rv6_unlink(fs, dir, de.name), "unlink");
		result(rv6_rmdir(fs, dir, de.name), "rmdir");
	}
	result(r, "readdir");
}

static void exercise(struct rv6_fs *fs)
{
	static uint8_t buf[100 * 1024];
	struct rv6_inode *root, *ip;
	int r;

	memset(buf, 0x5c, sizeof(buf));
	r = rv6_root(fs, &root);
	result(r, "root");
	if (r)
		return;
	/* New things first: the allocator meets the corrupt bitmap. */
	result(rv6_mkdir(fs, NULL, "/newdir"), "mkdir");
	r = rv6_open(fs, NULL, "/newdir/newfile", RV6_O_CREATE, &ip);
	result(r, "create");
	if (!r) {
		result(rv6_write(fs, ip, buf, sizeof(buf), 0), "write new");
		result(rv6_read(fs, ip, buf, sizeof(buf), 0), "read new");
		result(rv6_close(fs, ip), "close new");
	}
	result(rv6_link(fs, NULL, "/dir/file", "/newdir/l"), "link");
	exercise_dir(fs, root, 0);
	result(rv6_close(fs, root), "close root");
}

/* Runs the checker, the mount and the exercise on the image now in md. */
static void try_image(const char *name, bool must_report)
{
	long problems = t_check_image(&dev, NULL, NULL);
	struct rv6_fs *fs;
	int err;

	result(problems, "check");
	if (must_report && problems <= 0) {
		fprintf(stderr, "FAIL: %s: the checker found nothing\n", name);
		t_failed = 1;
	}
	err = rv6_mount(&dev, NULL, &fs);
	result(err, "mount");
	if (err) {
		refusals++;
		if (must_report && err != -EUCLEAN) {
			fprintf(stderr, "FAIL: %s: mount said %d, not -EUCLEAN\n", name, err);
			t_failed = 1;
		}
		return;
	}
	mounted++;
	exercise(fs);
	if (t_held_inodes(fs) || t_held_buffers(fs)) {
		fprintf(stderr, "FAIL: %s: %u inode and %u buffer references leaked\n", name,
			t_held_inodes(fs), t_held_buffers(fs));
		t_failed = 1;
	}
	result(rv6_unmount(fs), "unmount");
	/* Whatever the exercise left must still be readable by the checker and a mount. */
	result(t_check_image(&dev, NULL, NULL), "check after");
	if (rv6_mount(&dev, NULL, &fs) == 0) {
		exercise(fs);
		rv6_unmount(fs);
	}
}

static void restore(void)
{
	memcpy(md.blocks, base, (size_t)NBLOCKS * RV6_BSIZE);
}

/* Builds the base image: files with direct, single- and double-indirect blocks, folders. */
static void build(void)
{
	static uint8_t buf[64 * 1024];
	struct rv6_inode *ip;
	struct rv6_fs *fs;

	T_EQ(rv6_mkfs(&dev, &(struct rv6_mkfs_opts){ .ninodes = 256 }), 0);
	T_EQ(rv6_mount(&dev, NULL, &fs), 0);
	T_EQ(rv6_mkdir(fs, NULL, "/dir"), 0);
	T_EQ(rv6_mkdir(fs, NULL, "/dir/sub"), 0);
	T_EQ(rv6_open(fs, NULL, "/dir/file", RV6_O_CREATE, &ip), 0);
	t_fill(buf, sizeof(buf), 1, 0);
	T_EQ(rv6_write(fs, ip, buf, 5000, 0), 5000);
	rv6_close(fs, ip);
	T_EQ(rv6_open(fs, NULL, "/dir/sub/deep", RV6_O_CREATE, &ip), 0);
	T_EQ(rv6_write(fs, ip, buf, 100, 0), 100);
	rv6_close(fs, ip);
	T_EQ(rv6_open(fs, NULL, "/big", RV6_O_CREATE, &ip), 0);
	T_EQ(rv6_write(fs, ip, buf, sizeof(buf), 0), sizeof(buf));
	T_EQ(rv6_write(fs, ip, buf, 8192, 5u << 20), 8192);
	rv6_close(fs, ip);
	for (int i = 0; i < 70; i++) {
		char name[32];

		snprintf(name, sizeof(name), "/dir/f%02d", i);
		T_EQ(rv6_open(fs, NULL, name, RV6_O_CREATE, &ip), 0);
		rv6_close(fs, ip);
	}
	T_EQ(rv6_unmount(fs), 0);
	T_EQ(t_check_image(&dev, "base", NULL), 0);
	memcpy(&sb, blk(0), sizeof(sb));
	base = malloc((size_t)NBLOCKS * RV6_BSIZE);
	memcpy(base, md.blocks, (size_t)NBLOCKS * RV6_BSIZE);
}

static uint64_t rng_state = 42;
static uint32_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 400;
	uint32_t big, file, dir, sub, deep;
	struct rv6_ddirent *de;
	int named = 0;

	t_memdev_init(&md, NBLOCKS);
	dev = t_memdev_bdev(&md);
	build();
	big = inum_of("/big");
	file = inum_of("/dir/file");
	dir = inum_of("/dir");
	sub = inum_of("/dir/sub");
	deep = inum_of("/dir/sub/deep");

#define CASE(name, mutation)                   \
	do {                                   \
		restore();                     \
		mutation;                      \
		try_image(name, true);         \
		named++;                       \
	} while (0)

	/* The superblock. */
	CASE("bad magic", super()->magic ^= 1);
	CASE("unknown version", super()->version = 99);
	CASE("size beyond the device", super()->size = NBLOCKS + 1);
	CASE("size 0", super()->size = 0);
	CASE("size huge", super()->size = UINT32_MAX);
	CASE("no inodes", super()->ninodes = 0);
	CASE("inodes huge", super()->ninodes = UINT32_MAX);
	CASE("log too small", super()->nlog = 3);
	CASE("log huge", super()->nlog = UINT32_MAX - 1);
	CASE("log not after the superblock", super()->log_start = 0);
	CASE("inodes overlap the log", super()->inode_start -= 1);
	CASE("bitmap misplaced", super()->bmap_start += 1);
	CASE("data start past the end", super()->data_start = NBLOCKS);
	CASE("data start in the bitmap", super()->data_start -= 1);
	/* The log header. */
	CASE("log count beyond the log", loghdr()->n = sb.nlog);
	CASE("log count huge", loghdr()->n = UINT32_MAX);
	CASE("log block beyond the image", (loghdr()->n = 1, loghdr()->block[0] = NBLOCKS + 7));
	CASE("log block is the superblock", (loghdr()->n = 2, loghdr()->block[0] = sb.data_start,
					     loghdr()->block[1] = 0));
	CASE("log block inside the log", (loghdr()->n = 1, loghdr()->block[0] = sb.log_start + 3));
	/* The root. */
	CASE("root is a file", dinode(RV6_ROOT_INUM)->type = RV6_T_FILE);
	CASE("root type unknown", dinode(RV6_ROOT_INUM)->type = 77);
	CASE("root free", memset(dinode(RV6_ROOT_INUM), 0, sizeof(struct rv6_dinode)));
	/* Inodes and their block pointers. */
	CASE("inode type unknown", dinode(file)->type = 9);
	CASE("inode size huge", dinode(file)->size = ~0ull);
	CASE("direct pointer beyond the image", dinode(big)->addrs[0] = NBLOCKS + 5);
	CASE("direct pointer into the inodes", dinode(big)->addrs[1] = sb.inode_start);
	CASE("indirect pointer is the superblock", dinode(big)->addrs[RV6_IND] = 0 + 1);
	CASE("double-indirect pointer huge", dinode(big)->addrs[RV6_DIND] = UINT32_MAX);
	CASE("indirect block full of garbage",
	     memset(blk(dinode(big)->addrs[RV6_IND]), 0xff, RV6_BSIZE));
	CASE("double-indirect block full of garbage",
	     memset(blk(dinode(big)->addrs[RV6_DIND]), 0xee, RV6_BSIZE));
	CASE("second-level block full of garbage",
	     memset(blk(((uint32_t *)blk(dinode(big)->addrs[RV6_DIND]))[1]), 0xdd, RV6_BSIZE));
	CASE("indirect block points to itself",
	     ((uint32_t *)blk(dinode(big)->addrs[RV6_IND]))[5] = dinode(big)->addrs[RV6_IND]);
	CASE("two files share a block", dinode(file)->addrs[1] = dinode(big)->addrs[3]);
	CASE("file data past its size", dinode(deep)->addrs[7] = dinode(big)->addrs[4]);
	CASE("named file with no links", dinode(file)->nlink = 0);
	CASE("link count too high", dinode(deep)->nlink = 9);
	/* Directory entries. */
	de = NULL;
	CASE("unterminated name", (de = (struct rv6_ddirent *)blk(dinode(dir)->addrs[0]) + 3,
				   memset(de->name, 'A', sizeof(de->name))));
	CASE("empty name", (de = (struct rv6_ddirent *)blk(dinode(dir)->addrs[0]) + 4,
			    memset(de->name, 0, sizeof(de->name))));
	CASE("name with a slash", (de = (struct rv6_ddirent *)blk(dinode(dir)->addrs[0]) + 5,
				   de->name[0] = '/'));
	CASE("entry names inode out of range",
	     ((struct rv6_ddirent *)blk(dinode(dir)->addrs[0]) + 6)->inum = 0x7fffffff);
	CASE("entry names a free inode",
	     ((struct rv6_ddirent *)blk(dinode(dir)->addrs[0]) + 7)->inum = 200);
	CASE("no dot entry", ((struct rv6_ddirent *)blk(dinode(sub)->addrs[0]))->inum = 0);
	CASE("dotdot names a file", ((struct rv6_ddirent *)blk(dinode(sub)->addrs[0]) + 1)->inum = file);
	CASE("directory cycle", ((struct rv6_ddirent *)blk(dinode(sub)->addrs[0]) + 2)->inum = dir);
	CASE("directory size ragged", dinode(dir)->size += 13);
	CASE("directory size huge with holes", dinode(sub)->size = 3ull << 30);
	CASE("directory with a hole", dinode(sub)->size = 3 * RV6_BSIZE);
	/* The bitmap. */
	CASE("bitmap all free", memset(blk(sb.bmap_start), 0, RV6_BSIZE));
	CASE("bitmap all used", memset(blk(sb.bmap_start), 0xff, RV6_BSIZE));
	/* A committed transaction whose slots are garbage: replayed, then survived. */
	CASE("log replays garbage over the inodes",
	     (loghdr()->n = 2, loghdr()->block[0] = sb.inode_start, loghdr()->block[1] = sb.bmap_start,
	      memset(blk(sb.log_start + 1), 0xab, 2 * RV6_BSIZE)));
	printf("rv6 hostile: %d named corruptions: %lu refused at mount, %lu mounted and exercised\n",
	       named, refusals, mounted);

	/* Random byte flips in the metadata and the directories' and index blocks. */
	refusals = mounted = 0;
	for (int r = 0; r < rounds; r++) {
		uint32_t targets[] = {
			0, sb.log_start, sb.inode_start, sb.inode_start + 1, sb.bmap_start,
			dinode(dir)->addrs[0], dinode(dir)->addrs[1], dinode(sub)->addrs[0],
			dinode(big)->addrs[RV6_IND], dinode(big)->addrs[RV6_DIND],
		};
		int flips = 1 + (int)(rng() % 16);

		restore();
		for (int f = 0; f < flips; f++) {
			uint32_t b = targets[rng() % (sizeof(targets) / sizeof(targets[0]))];
			uint32_t at = rng() % (b == 0 ? sizeof(struct rv6_dsuper) : RV6_BSIZE);

			if (b < NBLOCKS)
				blk(b)[at] ^= (uint8_t)(1u << (rng() % 8));
		}
		try_image("fuzz", false);
	}
	printf("rv6 hostile: %d fuzz rounds: %lu refused at mount, %lu mounted and exercised; "
	       "%lu calls in all\n", rounds, refusals, mounted, calls);
	free(base);
	t_memdev_free(&md);
	return t_result();
}
