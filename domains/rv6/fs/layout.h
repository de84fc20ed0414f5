/* SPDX-License-Identifier: MIT */
/*
 * Rv6's on-disk format (docs/rv6.md, "On-disk layout"), little-endian:
 *
 *   block 0                      superblock
 *   log_start .. +nlog           log: a header block, then nlog - 1 slots
 *   inode_start ..               inodes, RV6_IPB to a block
 *   bmap_start ..                free-block bitmap, one bit per block of the image
 *   data_start .. size - 1       data and index blocks
 *
 * Every region follows the one before it with no gap; rv6_sb_check()
 * accepts only that shape.
 */
#ifndef RV6_LAYOUT_H
#define RV6_LAYOUT_H

#include <assert.h>
#include <stdint.h>

#include "rv6fs.h"

#define RV6_MAGIC 0x66367652u	/* "Rv6f" */
#define RV6_VERSION 1u
#define RV6_SB_BLOCK 0u

struct rv6_dsuper {
	uint32_t magic;
	uint32_t version;
	uint32_t size;		/* blocks in the image */
	uint32_t ninodes;	/* inode 0 is never used, the root is 1 */
	uint32_t nlog;		/* log blocks, header included */
	uint32_t log_start;
	uint32_t inode_start;
	uint32_t bmap_start;
	uint32_t data_start;
};
static_assert(sizeof(struct rv6_dsuper) == 36, "superblock layout");

/* Block pointers: RV6_NDIRECT direct, then one single- and one double-indirect. */
#define RV6_IND RV6_NDIRECT
#define RV6_DIND (RV6_NDIRECT + 1u)
#define RV6_NADDRS (RV6_NDIRECT + 2u)

struct rv6_dinode {
	uint16_t type;		/* enum rv6_type */
	uint16_t nlink;		/* directory entries naming it, "." excluded */
	uint32_t reserved;	/* 0 */
	uint64_t size;
	uint32_t addrs[RV6_NADDRS];	/* 0: a hole */
};
static_assert(sizeof(struct rv6_dinode) == 64, "dinode layout");
#define RV6_IPB (RV6_BSIZE / sizeof(struct rv6_dinode))

/* name is NUL-terminated within its 60 bytes; inum 0 marks a free entry. */
struct rv6_ddirent {
	uint32_t inum;
	char name[RV6_NAME_MAX + 1];
};
static_assert(sizeof(struct rv6_ddirent) == 64, "dirent layout");
#define RV6_DPB (RV6_BSIZE / sizeof(struct rv6_ddirent))

/* The log header: n blocks of a committed transaction, slot i holding block[i]. */
#define RV6_LOG_HDR_MAX (RV6_BSIZE / 4u - 1u)
struct rv6_dloghdr {
	uint32_t n;
	uint32_t block[RV6_LOG_HDR_MAX];
};
static_assert(sizeof(struct rv6_dloghdr) == RV6_BSIZE, "log header layout");

#define RV6_BPB (RV6_BSIZE * 8u)

static inline uint32_t rv6_div_up(uint64_t a, uint64_t b)
{
	return (uint32_t)((a + b - 1) / b);
}

/*
 * Checks a superblock against the device's size: 0, or -EUCLEAN with *why
 * naming the first problem.
 */
int __rv6_sb_check(const struct rv6_dsuper *sb, uint64_t dev_blocks, const char **why);
/* Checks a log header against sb: 0, or -EUCLEAN with *why. */
int __rv6_loghdr_check(const struct rv6_dsuper *sb, const struct rv6_dloghdr *lh, const char **why);

#endif
