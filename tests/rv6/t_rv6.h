/* SPDX-License-Identifier: MIT */
/* Helpers shared by the Rv6 tests: checking an image, whole-file I/O, patterns. */
#ifndef RL_TEST_RV6_H
#define RL_TEST_RV6_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fs_internal.h"
#include "memdev.h"
#include "rv6fs.h"

/*
 * Held references once every call has returned and every inode the test
 * opened is closed: in-memory inodes (the reclaim list's included) and
 * buffers (the log's pins included). Both must be 0.
 */
static inline unsigned t_held_inodes(const struct rv6_fs *fs)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < fs->ninode; i++)
		n += fs->inode[i].ref;
	return n;
}

static inline unsigned t_held_buffers(const struct rv6_fs *fs)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < fs->nbuf; i++)
		n += fs->buf[i].refcnt;
	return n;
}

static inline void t_print_line(void *ctx, const char *line)
{
	fprintf(stderr, "  %s: %s\n", ctx ? (const char *)ctx : "fsck", line);
}

/* Runs the checker on dev: its count of problems (printed), or a negative errno. */
static inline long t_check_image(const struct rv6_bdev *dev, const char *tag,
				 struct rv6_check_stats *st)
{
	struct rv6_check_stats local;

	return rv6_check(dev, t_print_line, NULL, (void *)tag, st ? st : &local);
}

/* The test pattern: 8 bytes a hash of their offset / 8 and the seed. */
static inline uint64_t t_pattern_word(uint32_t seed, uint64_t word)
{
	uint64_t x = (word + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 32 | seed);

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return x;
}

static inline uint8_t t_pattern(uint32_t seed, uint64_t off)
{
	return (uint8_t)(t_pattern_word(seed, off / 8) >> ((off % 8) * 8));
}

static inline void t_fill(uint8_t *buf, size_t n, uint32_t seed, uint64_t off)
{
	size_t i = 0;

	for (; i < n && (off + i) % 8; i++)
		buf[i] = t_pattern(seed, off + i);
	for (; i + 8 <= n; i += 8) {
		uint64_t x = t_pattern_word(seed, (off + i) / 8);

		for (int k = 0; k < 8; k++)
			buf[i + k] = (uint8_t)(x >> (k * 8));
	}
	for (; i < n; i++)
		buf[i] = t_pattern(seed, off + i);
}

static inline bool t_is_pattern(const uint8_t *buf, size_t n, uint32_t seed, uint64_t off)
{
	uint8_t tmp[4096];

	for (size_t i = 0; i < n; i += sizeof(tmp)) {
		size_t m = n - i < sizeof(tmp) ? n - i : sizeof(tmp);

		t_fill(tmp, m, seed, off + i);
		if (memcmp(tmp, buf + i, m))
			return false;
	}
	return true;
}

#endif
