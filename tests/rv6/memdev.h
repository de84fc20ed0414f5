/* SPDX-License-Identifier: MIT */
/*
 * Test block devices for Rv6 (tests/rv6): a device in memory that counts
 * reads, writes and flushes, can record every write and flush in order (the
 * crash test rebuilds the disk as of any write from the record), and can
 * fail writes; and a buffer allocator that hands out numbered handles and
 * checks they come back.
 */
#ifndef RL_TEST_RV6_MEMDEV_H
#define RL_TEST_RV6_MEMDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "rv6fs.h"

/* One recorded event: a write of block blockno (data) or, blockno UINT32_MAX, a flush. */
struct t_memdev_event {
	uint32_t blockno;
	uint8_t *data;
};
#define T_MEMDEV_FLUSH UINT32_MAX

struct t_memdev {
	uint8_t *blocks;
	uint32_t nblocks;
	unsigned long reads, writes, flushes;
	bool record;
	struct t_memdev_event *events;
	unsigned long nevents, cap;
	long fail_writes_after;
	bool check_handles;		/* every I/O's handle must be the t_bufs one of its buffer */
	unsigned long bad_handles;		/* -1: never; else writes from this count on fail with -EIO */
};

/* A zeroed device of nblocks blocks; exits the test when memory runs out. */
void t_memdev_init(struct t_memdev *md, uint32_t nblocks);
void t_memdev_free(struct t_memdev *md);
struct rv6_bdev t_memdev_bdev(struct t_memdev *md);
/* Forgets the recorded events. */
void t_memdev_clear_record(struct t_memdev *md);

struct t_bufs {
	unsigned long live, allocs, frees;
	uint64_t next_handle;
	bool bad_handle;	/* a free or an I/O came with a handle that does not match */
};
struct rv6_buf_ops t_bufs_ops(struct t_bufs *tb);

#endif
