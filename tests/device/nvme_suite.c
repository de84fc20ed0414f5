// SPDX-License-Identifier: MIT
/* Back-end-neutral NVMe driver tests: see nvme_suite.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvme.h"
#include "nvme_suite.h"


void t_nvme_pattern(uint8_t *p, size_t len, uint64_t lba, uint32_t seed)
{
	uint64_t x = lba * 0x9e3779b97f4a7c15ull ^ seed;

	for (size_t i = 0; i < len; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(x >> 56);
	}
}

/* Prints a body's summary line, and keeps it in t->note when the caller asked for it. */
static void summary(const struct t_nvme_target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void summary(const struct t_nvme_target *t, const char *fmt, ...)
{
	va_list ap;
	char line[256];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("%s\n", line);
	if (t->note && t->note_len)
		snprintf(t->note, t->note_len, "%s", line);
}

static struct nvme_ctrl *open_ctrl(const struct t_nvme_target *t, unsigned depth, unsigned *fails)
{
	struct nvme_config cfg = {.queue_depth = depth, .timeout_ms = 2000};
	struct nvme_ctrl *c = NULL;
	int r = nvme_ctrl_open(t->dev, t->qmem, t->qmem_len, &cfg, &c);

	if (r) {
		fprintf(stderr, "FAIL: nvme_ctrl_open: %d (%s)\n", r, nvme_strerror(r));
		++*fails;
		return NULL;
	}
	return c;
}

unsigned t_nvme_identify(const struct t_nvme_target *t)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(t, 64, &fails);

	if (!c)
		return fails;
	const struct nvme_info *i = nvme_ctrl_info(c);
	printf("identify: model '%s' serial '%s' fw '%s' version %#x, %llu blocks of %u bytes, "
	       "max transfer %u, queue depth %u, DSTRD %u, volatile cache %d\n",
	       i->model, i->serial, i->firmware, i->version, (unsigned long long)i->nblocks, i->lba_size,
	       i->max_transfer, i->queue_depth, i->dstrd, i->volatile_cache);
	CHECK(i->version >= 0x00010400, "VS %#x", i->version);
	CHECK(i->lba_size >= 512 && i->lba_size <= 4096, "lba size %u", i->lba_size);
	CHECK(i->nblocks > 0, "no blocks");
	CHECK(i->max_transfer >= 128 * 1024, "max transfer %u", i->max_transfer);
	CHECK(i->queue_depth == 63, "queue depth %u", i->queue_depth);
	CHECK(i->model[0] && i->serial[0], "empty model or serial");
	/* The active namespace list (CNS 02h) must name namespace 1 first. */
	struct nvme_cmd id = {.opc = 0x06, .nsid = 0, .cdw10 = 0x02,
			      .prp1 = rl_dev_dma(t->dev, t->buf, 4096)};
	uint16_t st = 0;
	memset(t->buf, 0xee, 4096);
	int r = nvme_admin_raw(c, &id, NULL, &st);
	uint32_t first;
	memcpy(&first, t->buf, 4);
	CHECK(r == 0 && first == 1, "active namespace list: r=%d status %#x first %u", r, st, first);
	/* An unknown CNS is refused with Invalid Field in Command, and the controller carries on. */
	id.cdw10 = 0x7f;
	r = nvme_admin_raw(c, &id, NULL, &st);
	CHECK(r == -EREMOTEIO && NVME_SCT(st) == 0 && NVME_SC(st) == 0x02, "CNS 7Fh: r=%d status %#x", r, st);
	uint8_t *b = t->buf;
	uint32_t bs = i->lba_size; /* i dies with c */
	t_nvme_pattern(b, bs, 1, 1);
	CHECK(nvme_write(c, 0, 1, b) == 0, "write after identify");
	nvme_ctrl_close(c);
	/* A second bring-up over the closed (shut down, disabled) controller works too. */
	c = open_ctrl(t, 64, &fails);
	if (c) {
		memset(b + 4096, 0, bs);
		CHECK(nvme_read(c, 0, 1, b + 4096) == 0 && !memcmp(b, b + 4096, bs), "data after reopen");
		nvme_ctrl_close(c);
	}
	return fails;
}

/*
 * Every size class of the data pointer (section 4.3): within one page, two
 * pages (PRP2 a page), three or more (PRP2 a list), up to the largest
 * transfer; buffers at page offsets 0, 4 and 2052 (PRP1 with an offset).
 */
unsigned t_nvme_io_sizes(const struct t_nvme_target *t)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(t, 64, &fails);

	if (!c)
		return fails;
	const struct nvme_info *i = nvme_ctrl_info(c);
	uint32_t bs = i->lba_size;
	const uint32_t sizes[] = {bs, 2 * bs, 4096, 4096 + bs, 8192, 12288, 16384 + bs, 65536, 131072,
				  262144, i->max_transfer};
	const uint32_t offsets[] = {0, 4, 2052};
	size_t half = t->buf_len / 2;
	uint8_t *wbuf = t->buf, *rbuf = t->buf + half;
	uint64_t lba = 8;
	unsigned n = 0;

	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (unsigned o = 0; o < 3; o++) {
			uint32_t len = sizes[s] / bs * bs, off = offsets[o];
			if (!len || len > i->max_transfer || off + len + 4096 > half)
				continue;
			uint32_t nb = len / bs;
			t_nvme_pattern(wbuf + off, len, lba, s * 3 + o);
			int r = nvme_write(c, lba, nb, wbuf + off);
			CHECK(r == 0, "write %u bytes at offset %u: %d (%s)", len, off, r, nvme_strerror(r));
			memset(rbuf, 0xa5, off + len + 4096);
			r = nvme_read(c, lba, nb, rbuf + off);
			CHECK(r == 0, "read %u bytes at offset %u: %d", len, off, r);
			CHECK(!memcmp(wbuf + off, rbuf + off, len), "data of %u bytes at offset %u differs", len, off);
			/* Nothing written around the buffer: not before it, not past its end. */
			bool clean = true;
			for (uint32_t k = 0; k < off; k++)
				clean &= rbuf[k] == 0xa5;
			for (uint32_t k = 0; k < 4096; k++)
				clean &= rbuf[off + len + k] == 0xa5;
			CHECK(clean, "read of %u bytes at offset %u wrote outside its buffer", len, off);
			if (fails) /* each failure may cost a command timeout: report the first */
				goto out;
			lba += nb;
			n++;
		}
	}
	/* Every write again, read back in one pass: no write landed on another's blocks. */
	lba = 8;
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (unsigned o = 0; o < 3; o++) {
			uint32_t len = sizes[s] / bs * bs, off = offsets[o];
			if (!len || len > i->max_transfer || off + len + 4096 > half)
				continue;
			t_nvme_pattern(wbuf, len, lba, s * 3 + o);
			CHECK(nvme_read(c, lba, len / bs, rbuf) == 0 && !memcmp(wbuf, rbuf, len),
			      "blocks at %llu changed later", (unsigned long long)lba);
			lba += len / bs;
		}
	}
	summary(t, "io sizes: %u transfers of 1 block .. %u bytes verified", n, i->max_transfer);
	CHECK(n >= 30, "only %u transfers", n);
out:
	nvme_ctrl_close(c);
	return fails;
}

/* Batches of up to the queue depth, many times around a ring of 8 entries. */
unsigned t_nvme_ring_wrap(const struct t_nvme_target *t)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(t, 8, &fails);
	enum { COUNT = 600 };
	struct nvme_req reqs[COUNT], *ptrs[COUNT], *done[16];

	if (!c)
		return fails;
	const struct nvme_info *i = nvme_ctrl_info(c);
	CHECK(i->queue_depth == 7, "queue depth %u", i->queue_depth);
	uint32_t bs = i->lba_size;
	for (int pass = 0; pass < 2; pass++) {
		bool writing = pass == 0;
		unsigned next = 0, finished = 0;
		memset(reqs, 0, sizeof(reqs));
		for (unsigned k = 0; k < COUNT; k++) {
			reqs[k] = (struct nvme_req){.op = writing ? NVME_OP_WRITE : NVME_OP_READ, .lba = 100 + k,
						    .nblocks = 1, .buf = t->buf + (size_t)k * bs, .user = k};
			ptrs[k] = &reqs[k];
			if (writing)
				t_nvme_pattern(reqs[k].buf, bs, 100 + k, 7);
			else
				memset(reqs[k].buf, 0, bs);
		}
		while (finished < COUNT) {
			if (next < COUNT) {
				int n = nvme_submit(c, ptrs + next, COUNT - next < 5 ? COUNT - next : 5);
				CHECK(n >= 0, "submit: %d", n);
				if (n < 0)
					break;
				next += n;
			}
			unsigned got = nvme_poll(c, done, 16);
			for (unsigned k = 0; k < got; k++)
				CHECK(done[k]->status == 0, "request %llu: %d", (unsigned long long)done[k]->user,
				      done[k]->status);
			finished += got;
			CHECK(nvme_inflight(c) <= i->queue_depth, "in flight %u", nvme_inflight(c));
		}
	}
	uint8_t *expect = t->buf + t->buf_len / 2;
	unsigned bad = 0;
	for (unsigned k = 0; k < COUNT; k++) {
		t_nvme_pattern(expect, bs, 100 + k, 7);
		bad += memcmp(expect, t->buf + (size_t)k * bs, bs) != 0;
	}
	CHECK(bad == 0, "%u of %d blocks read back wrong", bad, COUNT);
	summary(t, "ring wrap: %d writes and %d reads through a queue of 8 entries", COUNT, COUNT);
	nvme_ctrl_close(c);
	return fails;
}

unsigned t_nvme_flush(const struct t_nvme_target *t)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(t, 16, &fails);

	if (!c)
		return fails;
	t_nvme_pattern(t->buf, 4096, 3, 3);
	CHECK(nvme_write(c, 0, 4096 / nvme_ctrl_info(c)->lba_size, t->buf) == 0, "write");
	int r = nvme_flush(c);
	CHECK(r == 0, "flush: %d (%s)", r, nvme_strerror(r));
	nvme_ctrl_close(c);
	return fails;
}

/* A request the driver must refuse itself: status, and the device saw no command. */
static unsigned refuse(const struct t_nvme_target *t, struct nvme_ctrl *c, struct nvme_req r, int want,
		       const char *what)
{
	unsigned fails = 0;
	uint64_t before = t->device_commands ? t->device_commands(t->arg) : 0;
	int got = nvme_sync(c, &r);

	CHECK(got == want, "%s: got %d (%s), want %d", what, got, nvme_strerror(got), want);
	if (t->device_commands)
		CHECK(t->device_commands(t->arg) == before, "%s reached the device", what);
	return fails;
}

unsigned t_nvme_bad_requests(const struct t_nvme_target *t)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(t, 16, &fails);
	static uint8_t outside[8192] __attribute__((aligned(4096)));

	if (!c)
		return fails;
	const struct nvme_info *i = nvme_ctrl_info(c);
	uint64_t end = i->nblocks;
	uint8_t *b = t->buf;
	fails += refuse(t, c, (struct nvme_req){.op = NVME_OP_READ, .lba = end, .nblocks = 1, .buf = b}, -ERANGE,
			"LBA at the end");
	fails += refuse(t, c, (struct nvme_req){.op = NVME_OP_WRITE, .lba = end - 1, .nblocks = 2, .buf = b},
			-ERANGE, "range past the end");
	fails += refuse(t, c, (struct nvme_req){.op = NVME_OP_READ, .lba = ~0ull, .nblocks = 2, .buf = b},
			-ERANGE, "LBA that wraps");
	fails += refuse(t, c, (struct nvme_req){.op = NVME_OP_READ, .lba = 0, .nblocks = 1, .buf = b + 2},
			-EINVAL, "buffer not 4-byte aligned");
	fails += refuse(t, c, (struct nvme_req){.op = NVME_OP_READ, .lba = 0, .nblocks = 0, .buf = b}, -EINVAL,
			"no blocks");
	fails += refuse(t, c, (struct nvme_req){.op = 99, .lba = 0, .nblocks = 1, .buf = b}, -EINVAL,
			"unknown op");
	fails += refuse(t, c, (struct nvme_req){.op = NVME_OP_READ, .lba = 0,
						.nblocks = i->max_transfer / i->lba_size + 1, .buf = b},
			-E2BIG, "over the largest transfer");
	fails += refuse(t, c, (struct nvme_req){.op = NVME_OP_READ, .lba = 0, .nblocks = 1, .buf = outside},
			-EFAULT, "buffer outside the DMA regions");
	fails += refuse(t, c, (struct nvme_req){.op = NVME_OP_READ, .lba = 0, .nblocks = 2,
						.buf = t->buf + t->buf_len - i->lba_size},
			-EFAULT, "buffer running off the end of its region");
	/* And the controller still works. */
	CHECK(nvme_read(c, 0, 1, b) == 0, "a good read after the refusals");
	nvme_ctrl_close(c);
	return fails;
}

static unsigned kicks;
static void (*real_kick)(struct rl_dev *, uint32_t);
static void counting_kick(struct rl_dev *d, uint32_t off)
{
	kicks++;
	real_kick(d, off);
}

/* One nvme_submit of N requests (some refused) and polling until all are back. */
unsigned t_nvme_batch(const struct t_nvme_target *t)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(t, 64, &fails);
	enum { N = 32 };
	struct nvme_req reqs[N + 2], *ptrs[N + 2], *done[N + 2];

	if (!c)
		return fails;
	uint32_t bs = nvme_ctrl_info(c)->lba_size;
	size_t len = 8192 / bs * bs;
	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned k = 0; k < N; k++) {
			uint8_t *p = t->buf + (size_t)k * 8192;
			reqs[k] = (struct nvme_req){.op = pass ? NVME_OP_READ : NVME_OP_WRITE, .lba = 1000 + k * 16,
						    .nblocks = len / bs, .buf = p, .user = k};
			if (pass)
				memset(p, 0, len);
			else
				t_nvme_pattern(p, len, k, 5);
			ptrs[k] = &reqs[k];
		}
		/* Two refused requests in the middle of the batch come back with the rest. */
		reqs[N] = (struct nvme_req){.op = NVME_OP_READ, .lba = ~0ull, .nblocks = 1, .buf = t->buf, .user = N};
		reqs[N + 1] = (struct nvme_req){.op = NVME_OP_READ, .nblocks = 1, .buf = t->buf + 1, .user = N + 1};
		ptrs[N] = ptrs[10];
		ptrs[10] = &reqs[N];
		ptrs[N + 1] = ptrs[20];
		ptrs[20] = &reqs[N + 1];
		kicks = 0;
		real_kick = NULL; /* a previous target's hook must not leak onto this one */
		if (t->dev->kick) {
			real_kick = t->dev->kick;
			t->dev->kick = counting_kick;
		}
		int n = nvme_submit(c, ptrs, N + 2);
		if (real_kick)
			t->dev->kick = real_kick;
		CHECK(n == N + 2, "submit took %d of %d", n, N + 2);
		if (real_kick)
			CHECK(kicks == 1, "%u doorbell stores for one batch", kicks);
		unsigned got = 0, seen[N + 2] = {0};
		for (unsigned spins = 0; got < N + 2 && spins < 100000000; spins++) {
			unsigned k = nvme_poll(c, done, N + 2);
			for (unsigned j = 0; j < k; j++) {
				struct nvme_req *r = done[j];
				seen[r->user]++;
				int want = r->user == N ? -ERANGE : r->user == N + 1 ? -EINVAL : 0;
				CHECK(r->status == want, "request %llu: %d, want %d", (unsigned long long)r->user,
				      r->status, want);
			}
			got += k;
		}
		CHECK(got == N + 2, "%u of %d came back", got, N + 2);
		for (unsigned k = 0; k < N + 2; k++)
			CHECK(seen[k] == 1, "request %u came back %u times", k, seen[k]);
		CHECK(nvme_inflight(c) == 0, "%u still in flight", nvme_inflight(c));
	}
	uint8_t *expect = t->buf + t->buf_len / 2;
	for (unsigned k = 0; k < N; k++) {
		t_nvme_pattern(expect, len, k, 5);
		CHECK(!memcmp(expect, t->buf + (size_t)k * 8192, len), "request %u's data", k);
	}
	summary(t, "batch: %d requests (and 2 refused) in one submit, %u doorbell store(s)", N, kicks);
	nvme_ctrl_close(c);
	return fails;
}

unsigned t_nvme_reset(const struct t_nvme_target *t)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(t, 16, &fails);

	if (!c)
		return fails;
	uint32_t bs = nvme_ctrl_info(c)->lba_size;
	t_nvme_pattern(t->buf, bs, 42, 42);
	CHECK(nvme_write(c, 42, 1, t->buf) == 0, "write");
	for (int k = 0; k < 3; k++) {
		int r = nvme_ctrl_reset(c);
		CHECK(r == 0, "reset %d: %d (%s)", k, r, nvme_strerror(r));
		memset(t->buf + 4096, 0, bs);
		CHECK(nvme_read(c, 42, 1, t->buf + 4096) == 0 && !memcmp(t->buf, t->buf + 4096, bs),
		      "data after reset %d", k);
	}
	CHECK(nvme_ctrl_info(c)->resets == 3, "resets %llu", (unsigned long long)nvme_ctrl_info(c)->resets);
	nvme_ctrl_close(c);
	return fails;
}
