// SPDX-License-Identifier: MIT
/*
 * A 1 GiB file, sparse-ish: 1 MiB written every 32 MiB up to and across
 * 1 GiB (direct, single- and double-indirect blocks, many second-level
 * index blocks), 5 MiB in a row from 512 MiB, single blocks near the block-map boundaries and at the
 * largest offset a file may have; every byte read back, holes read as
 * zeros, the image checked, then truncated in steps back to nothing.
 * With --dense: a 1 GiB file written whole, 4 MiB a call, read back and
 * unlinked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers.h"
#include "t_rv6.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t used_blocks(const struct rv6_bdev *dev)
{
	struct rv6_check_stats st;

	t_assert_eq(t_check_image(dev, "bigfile", &st), 0);
	return st.blocks_used;
}

static int dense(void)
{
	const size_t chunk = 4 * MiB;
	uint8_t *buf = malloc(chunk), *back = malloc(chunk);
	struct rv6_check_stats cs;
	struct t_memdev md;
	struct rv6_bdev dev;
	struct rv6_inode *ip;
	struct rv6_fs *fs;
	double t0, t_write, t_read;

	t_memdev_init(&md, (uint32_t)((GiB + 64 * MiB) / RV6_BSIZE));
	dev = t_memdev_bdev(&md);
	T_EQ(rv6_mkfs(&dev, NULL), 0);
	T_EQ(rv6_mount(&dev, NULL, &fs), 0);
	T_EQ(rv6_open(fs, NULL, "/dense", RV6_O_CREATE, &ip), 0);
	t0 = now();
	for (uint64_t off = 0; off < GiB; off += chunk) {
		t_fill(buf, chunk, 5, off);
		if (rv6_write(fs, ip, buf, chunk, off) != (ssize_t)chunk) {
			t_assert(!"a 4 MiB write of the dense file");
			break;
		}
	}
	t_write = now() - t0;
	t_assert_eq(t_check_image(&dev, "dense", &cs), 0);
	/*
	 * 262144 data blocks; the single-indirect block, the double-indirect
	 * one and the 255 second-level blocks under it; the root's block.
	 */
	t_assert_eq(cs.blocks_used, 262144 + 1 + 1 + 255 + 1);
	t0 = now();
	for (uint64_t off = 0; off < GiB; off += chunk) {
		t_assert_eq(rv6_read(fs, ip, back, chunk, off), chunk);
		if (!t_is_pattern(back, chunk, 5, off)) {
			t_assert(!"the dense file reads back");
			break;
		}
	}
	t_read = now() - t0;
	t_assert_eq(rv6_close(fs, ip), 0);
	t0 = now();
	t_assert_eq(rv6_unlink(fs, NULL, "/dense"), 0);
	t_assert_eq(t_check_image(&dev, "dense unlinked", &cs), 0);
	t_assert_eq(cs.blocks_used, 1);
	printf("rv6 bigfile --dense: 1 GiB written in %.2f s (%lu device writes, %lu flushes), "
	       "read in %.2f s, freed in %.2f s\n", t_write, md.writes, md.flushes, t_read,
	       now() - t0);
	t_assert_eq(rv6_unmount(fs), 0);
	t_memdev_free(&md);
	free(buf);
	free(back);
	return t_result();
}

int main(int argc, char **argv)
{
	/* File offsets: boundaries of the block map, then 1 MiB pieces. */
	const uint64_t direct_end = (uint64_t)RV6_NDIRECT * RV6_BSIZE;
	const uint64_t ind_end = direct_end + (uint64_t)RV6_NINDIRECT * RV6_BSIZE;
	const uint64_t singles[] = {
		0, direct_end - 100, ind_end - 10, ind_end + RV6_NINDIRECT * RV6_BSIZE - 1,
		GiB - 3, RV6_MAX_FILE_SIZE - 4096 - 17,
	};
	uint8_t *buf, *back;
	struct t_memdev md;
	struct rv6_bdev dev;
	struct rv6_inode *ip;
	struct rv6_stat st;
	struct rv6_fs *fs;
	uint64_t pieces = 0, base_used;
	double t0 = now(), t_write, t_read;

	if (argc > 1 && strcmp(argv[1], "--dense") == 0)
		return dense();
	buf = malloc(MiB);
	back = malloc(MiB);
	if (!buf || !back)
		return 1;

	t_memdev_init(&md, 16384);	/* 64 MiB */
	dev = t_memdev_bdev(&md);
	T_EQ(rv6_mkfs(&dev, NULL), 0);
	T_EQ(rv6_mount(&dev, NULL, &fs), 0);
	base_used = used_blocks(&dev);
	T_EQ(rv6_open(fs, NULL, "/big", RV6_O_CREATE, &ip), 0);

	for (uint64_t off = 0; off <= GiB; off += 32 * MiB, pieces++) {
		t_fill(buf, MiB, 1, off);
		t_assert_eq(rv6_write(fs, ip, buf, MiB, off), MiB);
	}
	/* 5 MiB from 512 MiB: a whole second-level block's range and more. */
	for (uint64_t off = 512 * MiB + MiB; off < 512 * MiB + 5 * MiB; off += MiB) {
		t_fill(buf, MiB, 1, off);
		t_assert_eq(rv6_write(fs, ip, buf, MiB, off), MiB);
	}
	for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++) {
		t_fill(buf, 4096 + 17, 2, singles[i]);
		t_assert_eq(rv6_write(fs, ip, buf, 4096 + 17, singles[i]), 4096 + 17);
	}
	t_write = now() - t0;
	t_assert_eq(rv6_stat(fs, ip, &st), 0);
	t_assert_eq(st.size, RV6_MAX_FILE_SIZE);
	t_assert_eq(rv6_write(fs, ip, buf, 1, RV6_MAX_FILE_SIZE), -EFBIG);

	/* Read back through a fresh mount: the pieces, the singles, the holes between. */
	t_assert_eq(rv6_close(fs, ip), 0);
	t_assert_eq(rv6_unmount(fs), 0);
	T_EQ(rv6_mount(&dev, NULL, &fs), 0);
	T_EQ(rv6_open(fs, NULL, "/big", 0, &ip), 0);
	t0 = now();
	for (uint64_t off = 0; off <= GiB; off += 32 * MiB) {
		bool single_inside = false;

		t_assert_eq(rv6_read(fs, ip, back, MiB, off), MiB);
		for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++)
			single_inside |= singles[i] + 4096 + 17 > off && singles[i] < off + MiB;
		if (!single_inside && !t_is_pattern(back, MiB, 1, off))
			t_assert(!"a 1 MiB piece reads back");
		/* The hole right after it. */
		t_assert_eq(rv6_read(fs, ip, back, MiB, off + 16 * MiB), MiB);
		for (size_t k = 0; k < MiB; k++)
			if (back[k]) {
				t_assert(!"a hole reads as zeros");
				break;
			}
	}
	for (uint64_t off = 512 * MiB; off < 512 * MiB + 5 * MiB; off += MiB) {
		t_assert_eq(rv6_read(fs, ip, back, MiB, off), MiB);
		t_assert(t_is_pattern(back, MiB, 1, off));
	}
	for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++) {
		t_assert_eq(rv6_read(fs, ip, back, 4096 + 17, singles[i]), 4096 + 17);
		t_assert(t_is_pattern(back, 4096 + 17, 2, singles[i]));
	}
	t_read = now() - t0;
	{
		uint64_t used = used_blocks(&dev);

		/* Data, plus index blocks: at least one second-level block per 4 MiB piece. */
		t_assert(used >= base_used + pieces * 256 + pieces);
		printf("rv6 bigfile: %llu pieces of 1 MiB and %zu single writes up to %llu bytes; "
		       "%llu blocks used; writes %.2f s, reads %.2f s\n",
		       (unsigned long long)pieces, sizeof(singles) / sizeof(singles[0]),
		       (unsigned long long)RV6_MAX_FILE_SIZE, (unsigned long long)used, t_write,
		       t_read);
	}

	/* Truncation in steps: each keeps what is below it. */
	t0 = now();
	t_assert_eq(rv6_truncate(fs, ip, GiB + 5), 0);
	t_assert_eq(rv6_read(fs, ip, back, 10, GiB - 3), 8);
	t_assert(t_is_pattern(back, 8, 2, GiB - 3));
	t_assert_eq(used_blocks(&dev) > base_used, 1);
	t_assert_eq(rv6_truncate(fs, ip, 4 * MiB + 1), 0);
	t_assert_eq(rv6_read(fs, ip, back, MiB, 4 * MiB - 1), 2);
	t_assert_eq(rv6_truncate(fs, ip, 0), 0);
	t_assert_eq(rv6_stat(fs, ip, &st), 0);
	t_assert_eq(st.size, 0);
	t_assert_eq(used_blocks(&dev), base_used);
	printf("rv6 bigfile: truncated to nothing in %.2f s\n", now() - t0);
	t_assert_eq(rv6_close(fs, ip), 0);
	t_assert_eq(rv6_unlink(fs, NULL, "/big"), 0);
	t_assert_eq(rv6_unmount(fs), 0);
	t_memdev_free(&md);
	free(buf);
	free(back);
	return t_result();
}
