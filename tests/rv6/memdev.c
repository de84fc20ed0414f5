// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memdev.h"

static void *t_xalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

void t_memdev_init(struct t_memdev *md, uint32_t nblocks)
{
	memset(md, 0, sizeof(*md));
	md->nblocks = nblocks;
	md->blocks = t_xalloc((size_t)nblocks * RV6_BSIZE);
	md->fail_writes_after = -1;
}

void t_memdev_clear_record(struct t_memdev *md)
{
	for (unsigned long i = 0; i < md->nevents; i++)
		free(md->events[i].data);
	md->nevents = 0;
}

void t_memdev_free(struct t_memdev *md)
{
	t_memdev_clear_record(md);
	free(md->events);
	free(md->blocks);
	memset(md, 0, sizeof(*md));
}

static void record(struct t_memdev *md, uint32_t blockno, const void *data)
{
	struct t_memdev_event *e;

	if (md->nevents == md->cap) {
		md->cap = md->cap ? 2 * md->cap : 1024;
		md->events = realloc(md->events, md->cap * sizeof(*md->events));
		if (!md->events) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
	e = &md->events[md->nevents++];
	e->blockno = blockno;
	e->data = NULL;
	if (data) {
		e->data = t_xalloc(RV6_BSIZE);
		memcpy(e->data, data, RV6_BSIZE);
	}
}

#define T_HANDLE_TAG 0x5a5a5a5a00000000ull

static bool handle_ok(struct t_memdev *md, const void *data, uint64_t handle)
{
	if (md->check_handles && (((uint64_t)(uintptr_t)data) ^ T_HANDLE_TAG) != handle) {
		md->bad_handles++;
		return false;
	}
	return true;
}

static int md_read(void *ctx, uint32_t blockno, void *data, uint64_t handle)
{
	struct t_memdev *md = ctx;

	if (blockno >= md->nblocks)
		return -EINVAL;
	if (!handle_ok(md, data, handle))
		return -EFAULT;
	md->reads++;
	memcpy(data, md->blocks + (size_t)blockno * RV6_BSIZE, RV6_BSIZE);
	return 0;
}

static int md_write(void *ctx, uint32_t blockno, const void *data, uint64_t handle)
{
	struct t_memdev *md = ctx;

	if (blockno >= md->nblocks)
		return -EINVAL;
	if (!handle_ok(md, data, handle))
		return -EFAULT;
	if (md->fail_writes_after >= 0 && (long)md->writes >= md->fail_writes_after)
		return -EIO;
	md->writes++;
	memcpy(md->blocks + (size_t)blockno * RV6_BSIZE, data, RV6_BSIZE);
	if (md->record)
		record(md, blockno, data);
	return 0;
}

static uint64_t md_nblocks(void *ctx)
{
	return ((struct t_memdev *)ctx)->nblocks;
}

static int md_flush(void *ctx)
{
	struct t_memdev *md = ctx;

	md->flushes++;
	if (md->record)
		record(md, T_MEMDEV_FLUSH, NULL);
	return 0;
}

struct rv6_bdev t_memdev_bdev(struct t_memdev *md)
{
	return (struct rv6_bdev){
		.ctx = md, .read = md_read, .write = md_write, .nblocks = md_nblocks, .flush = md_flush,
	};
}

/* A buffer's handle is its address xor a tag, checked on free and, if asked, on every I/O. */
static int tb_alloc(void *ctx, void **data, uint64_t *handle)
{
	struct t_bufs *tb = ctx;
	void *p = aligned_alloc(RV6_BSIZE, RV6_BSIZE);

	if (!p)
		return -ENOMEM;
	memset(p, 0xa5, RV6_BSIZE);	/* garbage: the library must not read a buffer before filling it */
	*data = p;
	*handle = ((uint64_t)(uintptr_t)p) ^ T_HANDLE_TAG;
	tb->live++;
	tb->allocs++;
	tb->next_handle++;
	return 0;
}

static void tb_free(void *ctx, void *data, uint64_t handle)
{
	struct t_bufs *tb = ctx;

	if ((((uint64_t)(uintptr_t)data) ^ T_HANDLE_TAG) != handle)
		tb->bad_handle = true;
	tb->live--;
	tb->frees++;
	free(data);
}

struct rv6_buf_ops t_bufs_ops(struct t_bufs *tb)
{
	return (struct rv6_buf_ops){ .ctx = tb, .alloc = tb_alloc, .free = tb_free };
}
