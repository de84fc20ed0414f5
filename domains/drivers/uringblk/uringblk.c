// SPDX-License-Identifier: MIT
/*
 * A block device exporting BDev over a file, through the io_uring the
 * broker made for this domain (manifest `uring: {files: [FILE]}`): the
 * broker opens FILE read-write and registers it as fixed file 0; this domain
 * can neither open nor fstat files, so everything goes through the ring.
 *
 *   uringblk [--blocks N] [--plain]
 *
 * Size: the file's whole 4 KiB blocks, found at start by probing with
 * one-byte reads (a read at offset o returns 1 byte if the file is longer
 * than o, 0 at its end): an exponential then a binary search, about
 * 2 log2(N) reads. --blocks N uses the first N blocks only, and refuses to
 * start when the file has fewer. A trailing partial block is not used.
 *
 * No copies: the heap's region of 4 KiB objects (where every block RRef
 * lives) is registered as fixed buffers, and reads and writes go straight
 * between the file and the caller's RRef with READ_FIXED / WRITE_FIXED.
 * Registering pins that region, charged to RLIMIT_MEMLOCK unless the
 * ring's maker (the broker) has CAP_IPC_LOCK; when the kernel refuses, the
 * driver says so once and uses plain READ / WRITE (still into the RRef, no
 * copy of ours: only the kernel's page lookup per request is not saved).
 * --plain does so on purpose, to compare the two.
 *
 * Batching: the runtime replies to an invocation when its method returns,
 * but a method may serve the invocations already waiting, nested inside
 * itself (rl_serve_pending(); docs/design.md, "serving inside a wait also
 * nests"). So a read or write prepares its SQE and serves what waits
 * first; the innermost one submits every prepared SQE with one
 * io_uring_enter, and each level then waits for its own completion (the
 * others' are recorded as they come). Replies go out innermost first. With
 * one synchronous client nothing waits and each call is one submission;
 * with several clients (or a shadow forwarding for several) the calls
 * queued meanwhile go in one. The depth is bounded by the SQ's size.
 *
 * A crash with a request in flight is safe for the heap: buffered I/O
 * copies in this task or in its io-wq workers, which are threads of its
 * group (a pidfd reports the death only once the group is empty), and a
 * retry queued for a task that has exited is cancelled, not run. So no
 * copy lands in an RRef after the broker has seen the death and reclaimed
 * it. (O_DIRECT, where the device writes pinned pages, would need more.)
 * Writes land in the page cache (the broker opens the file without
 * O_DIRECT) and BDev has no flush: they are durable only once the kernel
 * writes them back.
 */
#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkbatch.h"
#include "heap.h"
#include "redleaf_idl.h"
#include "runtime.h"

#define FILE_INDEX 0	      /* the manifest's first `uring:` file */
#define FIXED_CHUNK (1UL << 30) /* the kernel's limit on one registered buffer */
#define MAX_CHUNKS (RL_HEAP_MAX / FIXED_CHUNK)
#define MAX_BLOCKS (1ULL << 32) /* blockno is a u32 */
#define MAX_DEPTH 15		/* below the runtime's 16 levels of nested serving */

struct uringblk {
	struct io_uring ring;
	uint64_t nblocks;
	/* The registered region (the heap's 4 KiB class), or NULL: plain reads and writes. */
	uint8_t *fixed_base;
	uint64_t fixed_len;
	/* Batching: requests nested in one another's methods, SQEs prepared and not yet submitted. */
	unsigned depth, depth_max, unsubmitted, batch_max;
};

/* A request in flight: it lives in the frame of the method that waits for it. */
struct request {
	int res;
	bool done;
};

/*
 * Submits every prepared SQE. A ring that refuses them is a panic, not an
 * error return: the SQEs would stay behind, naming requests whose frames
 * are gone. The restart gets a fresh ring, and a shadow re-issues the call.
 */
static void submit_prepared(struct uringblk *d)
{
	int r;

	if (!d->unsubmitted)
		return;
	do
		r = io_uring_submit(&d->ring);
	while (r == -EINTR);
	if (r < 0)
		rl_panic("io_uring_enter refused %u request(s): %s", d->unsubmitted, strerrorname_np(-r));
	if ((unsigned)r > d->batch_max && r > 1) /* a new high: rare, so the log stays short */
		rl_log("%d requests in one submission", r);
	if ((unsigned)r > d->batch_max)
		d->batch_max = (unsigned)r;
	d->unsubmitted -= (unsigned)r < d->unsubmitted ? (unsigned)r : d->unsubmitted;
}

/*
 * Collects completions, for whichever request they belong to, until req's
 * has come; returns its result. Failing to wait is a panic, as in
 * submit_prepared(): requests in flight name frames that would be gone.
 */
static int wait_for(struct uringblk *d, struct request *req)
{
	struct io_uring_cqe *cqe;

	while (!req->done) {
		int r = io_uring_wait_cqe(&d->ring, &cqe);
		if (r == -EINTR)
			continue;
		if (r < 0)
			rl_panic("waiting for completions: %s", strerrorname_np(-r));
		struct request *owner = io_uring_cqe_get_data(cqe);
		owner->res = cqe->res;
		owner->done = true;
		io_uring_cqe_seen(&d->ring, cqe);
	}
	return req->res;
}

/*
 * Runs the SQE prepared for req (prep_block()): first serves the invocations already
 * waiting (their SQEs join this one's submission), then submits what is
 * prepared and waits for req. Returns req's result (bytes moved or a
 * negative errno).
 */
static int run(struct uringblk *d, struct request *req)
{
	if (d->depth < d->depth_max) {
		d->depth++;
		rl_serve_pending();
		d->depth--;
	}
	submit_prepared(d);
	return wait_for(d, req);
}

/* A free SQE: if none is, what is prepared is submitted first. NULL if the ring stays full. */
static struct io_uring_sqe *get_sqe(struct uringblk *d)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);

	if (!sqe) {
		submit_prepared(d);
		sqe = io_uring_get_sqe(&d->ring);
	}
	return sqe;
}

/* Queues a prepared SQE for req; it goes with the next submission. */
static void queue_sqe(struct uringblk *d, struct io_uring_sqe *sqe, struct request *req)
{
	sqe->flags |= IOSQE_FIXED_FILE; /* the ring's restrictions require it */
	io_uring_sqe_set_data(sqe, req);
	d->unsubmitted++;
}

/* Which registered buffer holds buf, or -1 when buf is outside the registered region. */
static int fixed_index(const struct uringblk *d, const void *buf)
{
	const uint8_t *p = buf;

	if (!d->fixed_base || p < d->fixed_base || p + RL_CONST_BSIZE > d->fixed_base + d->fixed_len)
		return -1;
	return (int)((uint64_t)(p - d->fixed_base) / FIXED_CHUNK);
}

/* Prepares the SQE of one block between the file and buf, for req; -EBUSY when the ring stays full. */
static int prep_block(struct uringblk *d, bool write, uint64_t blockno, void *buf, struct request *req)
{
	struct io_uring_sqe *sqe = get_sqe(d);
	uint64_t off = blockno * RL_CONST_BSIZE;
	int idx = fixed_index(d, buf);

	if (!sqe)
		return -EBUSY;
	if (write && idx >= 0)
		io_uring_prep_write_fixed(sqe, FILE_INDEX, buf, RL_CONST_BSIZE, off, idx);
	else if (write)
		io_uring_prep_write(sqe, FILE_INDEX, buf, RL_CONST_BSIZE, off);
	else if (idx >= 0)
		io_uring_prep_read_fixed(sqe, FILE_INDEX, buf, RL_CONST_BSIZE, off, idx);
	else
		io_uring_prep_read(sqe, FILE_INDEX, buf, RL_CONST_BSIZE, off);
	queue_sqe(d, sqe, req);
	return 0;
}

/* A block's result: 0, or a negative errno (-EIO for a short transfer: the file shrank, or a torn one). */
static int block_result(int res)
{
	return res < 0 ? res : res == RL_CONST_BSIZE ? 0 : -EIO;
}

/* One block between the file and buf. 0, or a negative errno. */
static int block_io(struct uringblk *d, bool write, uint32_t blockno, void *buf)
{
	struct request req = { 0 };
	int r = prep_block(d, write, blockno, buf, &req);

	return r ? r : block_result(run(d, &req));
}

static int b_read(void *self, uint32_t blockno, rref_block data, rref_block *out)
{
	struct uringblk *d = self;
	struct block *b = rref_block_get(data);

	if (!b)
		return -EPERM;
	if (blockno >= d->nblocks) {
		rref_block_drop(data);
		return -EINVAL;
	}
	int r = block_io(d, false, blockno, b->data);
	if (r) {
		rref_block_drop(data); /* as for a refused block: the caller moved it to us */
		return r;
	}
	*out = data;
	return 0;
}

static int b_write(void *self, uint32_t blockno, rref_block data)
{
	struct uringblk *d = self;
	const struct block *b = rref_block_borrow(data);

	if (!b)
		return -EPERM;
	if (blockno >= d->nblocks)
		return -EINVAL;
	/* The kernel only reads the buffer on a write; the cast is liburing's signature. */
	return block_io(d, true, blockno, (void *)b->data);
}

static int b_nblocks(void *self, uint64_t *out)
{
	*out = ((struct uringblk *)self)->nblocks;
	return 0;
}

/* A batch: every request's SQE in one submission, then each one's completion. */
static int b_batch(void *self, rref_deque_breq_128 reqs, rref_deque_breq_128 *out)
{
	struct uringblk *d = self;
	struct request req[BLKBATCH_MAX] = { 0 };
	struct blkbatch b;
	int r = blkbatch_open(reqs, d->nblocks, &b);

	if (r)
		return r;
	for (unsigned i = 0; i < b.n; i++) {
		if (b.blk[i] && (r = prep_block(d, b.req[i]->op == RL_CONST_BREQ_WRITE, b.req[i]->blockno,
						b.blk[i]->data, &req[i]))) {
			b.req[i]->status = r;
			b.blk[i] = NULL;
		}
	}
	submit_prepared(d);
	for (unsigned i = 0; i < b.n; i++)
		if (b.blk[i])
			b.req[i]->status = block_result(wait_for(d, &req[i]));
	*out = reqs;
	return 0;
}

/* Makes completed writes durable: an fsync of the file, through the ring. */
static int b_flush(void *self)
{
	struct uringblk *d = self;
	struct io_uring_sqe *sqe = get_sqe(d);
	struct request req = { 0 };

	if (!sqe)
		return -EBUSY;
	io_uring_prep_fsync(sqe, FILE_INDEX, 0);
	queue_sqe(d, sqe, &req);
	return run(d, &req);
}

static const struct BDev_ops ops = {
	.read = b_read,
	.write = b_write,
	.nblocks = b_nblocks,
	.batch = b_batch,
	.flush = b_flush,
};

/* Whether the file holds n whole blocks: 1, 0, or a negative errno. */
static int has_blocks(struct uringblk *d, uint64_t n)
{
	/* Aligned and whole, as direct I/O wants: the probe reads block n - 1. */
	static uint8_t probe[RL_CONST_BSIZE] __attribute__((aligned(RL_CONST_BSIZE)));
	struct io_uring_sqe *sqe = get_sqe(d);
	struct request req = { 0 };

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, FILE_INDEX, probe, RL_CONST_BSIZE, (n - 1) * RL_CONST_BSIZE);
	queue_sqe(d, sqe, &req);
	int res = run(d, &req); /* depth_max is 0 until serving starts: nothing is served here */
	return res < 0 ? res : res == RL_CONST_BSIZE;
}

/* The file's whole blocks, at most MAX_BLOCKS, into *out. 0 or a negative errno. */
static int probe_blocks(struct uringblk *d, uint64_t *out)
{
	uint64_t have = 0, lacks = 1; /* the file holds `have` blocks and not `lacks` */
	int r;

	while ((r = has_blocks(d, lacks)) == 1) {
		have = lacks;
		if (lacks == MAX_BLOCKS)
			break;
		lacks *= 2;
	}
	if (r < 0)
		return r;
	if (r == 1) { /* MAX_BLOCKS and more */
		*out = have;
		return 0;
	}
	while (lacks - have > 1) {
		uint64_t mid = have + (lacks - have) / 2;
		if ((r = has_blocks(d, mid)) < 0)
			return r;
		if (r)
			have = mid;
		else
			lacks = mid;
	}
	*out = have;
	return 0;
}

/*
 * Registers the heap's region of 4 KiB objects, where every struct block
 * lives, in chunks of at most FIXED_CHUNK. On refusal the driver goes on
 * with plain reads and writes. Returns a line for the log.
 */
static const char *register_heap(struct uringblk *d)
{
	static char why[96];
	const struct rl_heap_hdr *hdr = __rl_registry_hdr();
	int cls = rl_class_for(sizeof(struct block));
	struct iovec iov[MAX_CHUNKS];

	/* The registry is the broker's, mapped read-only: trusted, but checked as cheaply as it is read. */
	if (cls < 0 || !hdr || hdr->class_offset[cls] >= hdr->heap_size)
		return "plain reads and writes (no heap layout to register)";
	uint8_t *base = (uint8_t *)RL_HEAP_BASE + hdr->class_offset[cls];
	uint64_t len = (uint64_t)hdr->class_count[cls] * rl_class_size((unsigned)cls);
	if (len > hdr->heap_size - hdr->class_offset[cls])
		return "plain reads and writes (heap layout out of bounds)";
	unsigned n = 0;
	for (uint64_t off = 0; off < len && n < MAX_CHUNKS; off += FIXED_CHUNK, n++)
		iov[n] = (struct iovec){ base + off, len - off < FIXED_CHUNK ? len - off : FIXED_CHUNK };
	int r = io_uring_register_buffers(&d->ring, iov, n);
	if (r < 0) {
		snprintf(why, sizeof(why), "plain reads and writes (registering %llu KiB of heap: %s)",
			 (unsigned long long)(len >> 10), strerrorname_np(-r));
		return why;
	}
	d->fixed_base = base;
	d->fixed_len = len;
	snprintf(why, sizeof(why), "fixed buffers over the heap's %llu KiB of blocks", (unsigned long long)(len >> 10));
	return why;
}

struct options {
	uint64_t blocks; /* 0: the whole file */
	bool plain;	 /* no fixed buffers */
};

static struct options parse_options(int argc, char **argv)
{
	struct options o = { 0 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--blocks") && i + 1 < argc) {
			char *end;
			const char *v = argv[++i];
			unsigned long long n = strtoull(v, &end, 10);
			if (*v == '-' || *end || !n || n > MAX_BLOCKS)
				rl_panic("--blocks takes 1..%llu, not '%s'", MAX_BLOCKS, v);
			o.blocks = n;
		} else if (!strcmp(argv[i], "--plain")) {
			o.plain = true;
		} else {
			rl_panic("unknown argument '%s' (usage: uringblk [--blocks N] [--plain])", argv[i]);
		}
	}
	return o;
}

int rl_domain_main(int argc, char **argv)
{
	static struct uringblk dev;
	struct io_uring_params params;
	struct options opt = parse_options(argc, argv);
	uint64_t have;

	int fd = rl_uring_fd(&params, sizeof(params));
	if (fd < 0)
		rl_panic("no ring from the broker (the manifest needs `uring: {files: [FILE]}`): %d", fd);
	int r = io_uring_queue_mmap(fd, &params, &dev.ring);
	if (r < 0)
		rl_panic("mapping the ring: %s", strerror(-r));
	/* io_uring_queue_init fills the submission index array; io_uring_queue_mmap leaves it to us. */
	for (unsigned i = 0; i < *dev.ring.sq.kring_entries; i++)
		dev.ring.sq.array[i] = i;

	if ((r = probe_blocks(&dev, &have)) < 0)
		rl_panic("cannot probe the file's size: %s", strerrorname_np(-r));
	if (!have)
		rl_panic("the file holds no whole block of %d bytes", (int)RL_CONST_BSIZE);
	if (opt.blocks > have)
		rl_panic("--blocks %llu, but the file holds %llu blocks", (unsigned long long)opt.blocks,
			 (unsigned long long)have);
	dev.nblocks = opt.blocks ? opt.blocks : have;
	/* One SQE per level, and the runtime serves at most 16 levels deep anyway. */
	dev.depth_max = *dev.ring.sq.kring_entries - 1 < MAX_DEPTH ? *dev.ring.sq.kring_entries - 1 : MAX_DEPTH;
	const char *how = opt.plain ? "plain reads and writes (--plain)" : register_heap(&dev);
	rl_log("%llu blocks of %d bytes; %s", (unsigned long long)dev.nblocks, (int)RL_CONST_BSIZE, how);

	if ((r = BDev_export(&ops, &dev)))
		rl_panic("cannot export BDev: %d", r);
	rl_serve();
}
