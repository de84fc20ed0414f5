// SPDX-License-Identifier: MIT
/* Formatting: an empty file system with a root directory. */
#include <errno.h>
#include <string.h>

#include "fs_internal.h"

static int put(const struct rv6_bdev *dev, uint32_t blockno, const void *data, uint64_t handle)
{
	int err = dev->write(dev->ctx, blockno, data, handle);

	return err > 0 ? -EIO : err;
}

int rv6_mkfs(const struct rv6_bdev *dev, const struct rv6_mkfs_opts *opts)
{
	struct rv6_mkfs_opts o = opts ? *opts : (struct rv6_mkfs_opts){ 0 };
	const struct rv6_buf_ops heap = { 0 };
	uint64_t dev_blocks, size, inode_blocks, data_start;
	struct rv6_dsuper sb = { .magic = RV6_MAGIC, .version = RV6_VERSION };
	struct rv6_dinode *di;
	struct rv6_ddirent *de;
	uint64_t handle;
	void *blk;
	int err;

	if (!dev || !dev->write || !dev->nblocks)
		return -EINVAL;
	dev_blocks = dev->nblocks(dev->ctx);
	size = o.nblocks ? o.nblocks : dev_blocks;
	if (size > dev_blocks || size > UINT32_MAX)
		return -EINVAL;
	if (!o.nlog)
		o.nlog = RV6_LOG_DEFAULT;
	if (o.nlog < RV6_LOG_MIN || o.nlog > RV6_LOG_HDR_MAX + 1)
		return -EINVAL;
	if (!o.ninodes) {
		/* The mount scans every inode for orphans: keep that scan within 4 MiB. */
		uint64_t n = size / 4;

		o.ninodes = n < 64 ? 64 : n > RV6_DEFAULT_INODES_MAX ? RV6_DEFAULT_INODES_MAX : (uint32_t)n;
		o.ninodes = (uint32_t)((o.ninodes + RV6_IPB - 1) / RV6_IPB * RV6_IPB);
	}
	if (o.ninodes < 2)
		return -EINVAL;
	inode_blocks = ((uint64_t)o.ninodes + RV6_IPB - 1) / RV6_IPB;
	sb.size = (uint32_t)size;
	sb.ninodes = o.ninodes;
	sb.nlog = o.nlog;
	sb.log_start = RV6_SB_BLOCK + 1;
	sb.inode_start = sb.log_start + o.nlog;
	data_start = sb.inode_start + inode_blocks + rv6_div_up(size, RV6_BPB);
	if (data_start + 1 > size)	/* room for the root directory's block */
		return -EINVAL;
	sb.bmap_start = (uint32_t)(sb.inode_start + inode_blocks);
	sb.data_start = (uint32_t)data_start;

	err = __rv6_alloc_raw(&heap, &blk, &handle);
	if (err)
		return err;
	/* Everything but the superblock first: an interrupted mkfs leaves no valid image. */
	memset(blk, 0, RV6_BSIZE);
	for (uint32_t b = RV6_SB_BLOCK + 1; b < sb.data_start && !err; b++) {
		if (b >= sb.bmap_start) {
			uint64_t lo = (uint64_t)(b - sb.bmap_start) * RV6_BPB;

			memset(blk, 0, RV6_BSIZE);
			/* Metadata and the root's block are in use. */
			for (uint64_t i = lo; i < lo + RV6_BPB && i <= sb.data_start; i++)
				((uint8_t *)blk)[(i - lo) / 8] |= (uint8_t)(1u << ((i - lo) % 8));
			err = put(dev, b, blk, handle);
			memset(blk, 0, RV6_BSIZE);
		} else if (b == sb.inode_start + RV6_ROOT_INUM / RV6_IPB) {
			di = (struct rv6_dinode *)blk + RV6_ROOT_INUM % RV6_IPB;
			di->type = RV6_T_DIR;
			di->nlink = 1;		/* its own ".." */
			di->size = 2 * sizeof(struct rv6_ddirent);
			di->addrs[0] = sb.data_start;
			err = put(dev, b, blk, handle);
			memset(blk, 0, RV6_BSIZE);
		} else {
			err = put(dev, b, blk, handle);
		}
	}
	if (!err) {
		de = blk;
		de[0].inum = RV6_ROOT_INUM;
		strcpy(de[0].name, ".");
		de[1].inum = RV6_ROOT_INUM;
		strcpy(de[1].name, "..");
		err = put(dev, sb.data_start, blk, handle);
	}
	if (!err && dev->flush)
		err = dev->flush(dev->ctx);
	if (!err) {
		memset(blk, 0, RV6_BSIZE);
		memcpy(blk, &sb, sizeof(sb));
		err = put(dev, RV6_SB_BLOCK, blk, handle);
	}
	if (!err && dev->flush)
		err = dev->flush(dev->ctx);
	__rv6_free_raw(&heap, blk, handle);
	return err > 0 ? -EIO : err;
}
