// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filedev.h"

int filedev_open(struct filedev *fd, const char *path, bool writable)
{
	struct stat st;
	uint64_t bytes;

	fd->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd->fd < 0)
		return -errno;
	if (fstat(fd->fd, &st) < 0)
		goto err;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd->fd, BLKGETSIZE64, &bytes) < 0)
			goto err;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		errno = EINVAL;
		goto err;
	}
	fd->nblocks = bytes / RV6_BSIZE;
	fd->durable = true;
	return 0;
err:
	bytes = (uint64_t)errno;
	close(fd->fd);
	fd->fd = -1;
	return -(int)bytes;
}

void filedev_close(struct filedev *fd)
{
	if (fd->fd >= 0)
		close(fd->fd);
	fd->fd = -1;
}

static int fd_read(void *ctx, uint32_t blockno, void *data, uint64_t handle)
{
	struct filedev *fd = ctx;
	ssize_t n;

	if (blockno >= fd->nblocks)
		return -EINVAL;
	n = pread(fd->fd, data, RV6_BSIZE, (off_t)blockno * RV6_BSIZE);
	if (n < 0)
		return -errno;
	return n == RV6_BSIZE ? 0 : -EIO;
}

static int fd_write(void *ctx, uint32_t blockno, const void *data, uint64_t handle)
{
	struct filedev *fd = ctx;
	ssize_t n;

	if (blockno >= fd->nblocks)
		return -EINVAL;
	n = pwrite(fd->fd, data, RV6_BSIZE, (off_t)blockno * RV6_BSIZE);
	if (n < 0)
		return errno == EBADF ? -EROFS : -errno;
	return n == RV6_BSIZE ? 0 : -EIO;
}

static uint64_t fd_nblocks(void *ctx)
{
	return ((struct filedev *)ctx)->nblocks;
}

static int fd_flush(void *ctx)
{
	struct filedev *fd = ctx;

	if (fd->durable && fsync(fd->fd) < 0 && errno != EINVAL && errno != EBADF)
		return -errno;
	return 0;
}

struct rv6_bdev filedev_bdev(struct filedev *fd)
{
	return (struct rv6_bdev){
		.ctx = fd, .read = fd_read, .write = fd_write, .nblocks = fd_nblocks, .flush = fd_flush,
	};
}
