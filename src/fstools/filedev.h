/* SPDX-License-Identifier: MIT */
/* An image file or block device as an Rv6 block device (rv6fs.h), for the host tools. */
#ifndef RL_FSTOOLS_FILEDEV_H
#define RL_FSTOOLS_FILEDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "rv6fs.h"

struct filedev {
	int fd;
	uint64_t nblocks;
	bool durable;		/* flush() calls fsync(); off while mkfs fills the image */
};

/*
 * Opens path (read-only unless writable) and sizes it: a regular file by
 * its length, a block device by BLKGETSIZE64. 0, or a negative errno.
 */
int filedev_open(struct filedev *fd, const char *path, bool writable);
void filedev_close(struct filedev *fd);
/* The callbacks over fd; writes fail with -EROFS on a read-only one. */
struct rv6_bdev filedev_bdev(struct filedev *fd);

#endif
