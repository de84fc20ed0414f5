// SPDX-License-Identifier: MIT
/*
 * The NVMe driver library against the NVMe model, one case per run:
 *
 *   test-nvme CASE
 *
 * Cases shared with other back ends (nvme_suite.c): identify, io-sizes,
 * ring-wrap, flush, bad-requests, batch, reset. Cases of the model: dstrd
 * (doorbell stride 2 and 4 KiB blocks), file-backing, bad-prp (hand-made
 * commands the model must refuse), cq-full, inject-status, inject-cfs,
 * inject-lost, idle-cpu.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "nvme.h"
#include "nvme_fixture.h"
#include "nvme_model.h"
#include "nvme_suite.h"


static struct t_model model;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + t.tv_nsec;
}

static struct nvme_model_shared *shared(void)
{
	return nvme_model_shared(model.ctl);
}

static uint64_t model_commands(void *arg)
{
	(void)arg;
	return atomic_load(&shared()->commands);
}

static struct t_nvme_target target(void)
{
	return (struct t_nvme_target){
		.dev = &model.dev, .qmem = model.qmem, .qmem_len = T_QMEM_LEN,
		.buf = model.buf, .buf_len = T_BUF_LEN, .device_commands = model_commands,
	};
}

static struct nvme_ctrl *open_ctrl(unsigned depth, unsigned timeout_ms)
{
	struct nvme_config cfg = {.queue_depth = depth, .timeout_ms = timeout_ms};
	struct nvme_ctrl *c;
	int r = nvme_ctrl_open(&model.dev, model.qmem, T_QMEM_LEN, &cfg, &c);

	if (r) {
		fprintf(stderr, "FAIL: nvme_ctrl_open: %d (%s)\n", r, nvme_strerror(r));
		exit(1);
	}
	return c;
}

static void inject(struct nvme_model_shared req)
{
	if (nvme_model_inject(model.ctl, &req, 2000)) {
		fprintf(stderr, "FAIL: the model did not take the injection request\n");
		exit(1);
	}
}

/* A raw I/O command through the driver's pass-through: the request's status, *st the device's. */
static int raw_io(struct nvme_ctrl *c, struct nvme_cmd cmd, uint16_t *st)
{
	struct nvme_req r = {0};
	struct nvme_req *done;

	if (nvme_submit_raw(c, &r, &cmd))
		return -EBUSY;
	while (!nvme_poll(c, &done, 1))
		;
	*st = r.nvme_status;
	return r.status;
}

/* Use through EXPECT_STATUS: the call must run before its status is read. */
#define EXPECT_STATUS(call, sct, sc, what)                          \
	do {                                                         \
		int r_ = (call);                                     \
		fails += expect_status(r_, st, sct, sc, what);       \
	} while (0)

static unsigned expect_status(int r, uint16_t st, unsigned sct, unsigned sc, const char *what)
{
	unsigned fails = 0;
	char s[80];

	CHECK(r == -EREMOTEIO && NVME_SCT(st) == sct && NVME_SC(st) == sc, "%s: r=%d, %s; want SCT %x SC %02x",
	      what, r, nvme_status_str(st, s, sizeof(s)), sct, sc);
	return fails;
}

/* Commands with bad data pointers, queues and fields: error statuses, and the model serves on. */
static unsigned case_bad_prp(void)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(16, 2000);
	uint8_t *b = model.buf;
	uint64_t bus = (uint64_t)(uintptr_t)b, outside = 0x400000000000ull;
	uint64_t dma_before = atomic_load(&shared()->dma_errors);
	uint16_t st = 0;
	uint64_t *list = (uint64_t *)(b + 64 * 4096);

	memset(b, 0x5a, 32 * 4096);
	struct nvme_cmd rd = {.opc = 0x02, .nsid = 1, .cdw12 = 0};
	rd.prp1 = outside;
	EXPECT_STATUS(raw_io(c, rd, &st), 0, 0x04, "PRP1 outside the regions");
	rd.prp1 = bus + 2;
	EXPECT_STATUS(raw_io(c, rd, &st), 0, 0x13, "PRP1 not dword aligned");
	/* 16 KiB at 512-byte blocks: 32 blocks, PRP1 plus a list of 3. */
	uint32_t blocks16k = 16384 / 512;
	rd = (struct nvme_cmd){.opc = 0x02, .nsid = 1, .cdw12 = blocks16k - 1, .prp1 = bus, .prp2 = (uint64_t)(uintptr_t)list};
	list[0] = bus + 4096;
	list[1] = outside;
	list[2] = bus + 3 * 4096;
	EXPECT_STATUS(raw_io(c, rd, &st), 0, 0x04, "a PRP list entry outside the regions");
	list[1] = bus + 2 * 4096 + 8;
	EXPECT_STATUS(raw_io(c, rd, &st), 0, 0x13, "a PRP list entry with an offset");
	rd.prp2 = outside;
	EXPECT_STATUS(raw_io(c, rd, &st), 0, 0x04, "the PRP list itself outside");
	rd.prp2 = (uint64_t)(uintptr_t)list + 3;
	EXPECT_STATUS(raw_io(c, rd, &st), 0, 0x13, "a PRP list pointer not qword aligned");
	/* A transfer that runs off the end of its region. */
	rd = (struct nvme_cmd){.opc = 0x02, .nsid = 1, .cdw12 = 1, .prp1 = T_BUF_BASE + T_BUF_LEN - 512,
			       .prp2 = T_BUF_BASE + T_BUF_LEN};
	EXPECT_STATUS(raw_io(c, rd, &st), 0, 0x04, "a transfer past the region's end");
	/* A PRP list page that holds only its chain pointer (it would chain to itself forever). */
	uint64_t *self = (uint64_t *)(b + 70 * 4096 + 4088);
	*self = (uint64_t)(uintptr_t)self;
	rd = (struct nvme_cmd){.opc = 0x02, .nsid = 1, .cdw12 = blocks16k - 1, .prp1 = bus,
			       .prp2 = (uint64_t)(uintptr_t)self};
	EXPECT_STATUS(raw_io(c, rd, &st), 0, 0x13, "a self-chaining PRP list");
	rd = (struct nvme_cmd){.opc = 0x02, .nsid = 5, .prp1 = bus};
	EXPECT_STATUS(raw_io(c, rd, &st), 0, 0x0b, "namespace 5");
	rd = (struct nvme_cmd){.opc = 0x02, .nsid = 1, .prp1 = bus, .cdw10 = 0xffffffff, .cdw11 = 0xff};
	EXPECT_STATUS(raw_io(c, rd, &st), 0, 0x80, "LBA beyond the namespace");
	rd = (struct nvme_cmd){.opc = 0x7e, .nsid = 1, .prp1 = bus};
	EXPECT_STATUS(raw_io(c, rd, &st), 0, 0x01, "unknown I/O opcode");
	/* Admin: Identify into nowhere, queues outside, misplaced, misnumbered, misordered. */
	struct nvme_cmd id = {.opc = 0x06, .cdw10 = 1, .prp1 = outside};
	EXPECT_STATUS(nvme_admin_raw(c, &id, NULL, &st), 0, 0x04, "Identify outside");
	uint64_t spare = T_QMEM_BASE + T_QMEM_LEN / 2;
	struct nvme_cmd dcq = {.opc = 0x04, .cdw10 = 1};
	EXPECT_STATUS(nvme_admin_raw(c, &dcq, NULL, &st), 1, 0x0c, "deleting a CQ with an SQ");
	/* Free queue ID 1 (the driver's, restored by a reset below) to reach the address checks. */
	struct nvme_cmd dsq = {.opc = 0x00, .cdw10 = 1};
	CHECK(nvme_admin_raw(c, &dsq, NULL, &st) == 0 && nvme_admin_raw(c, &dcq, NULL, &st) == 0, "delete queues");
	struct nvme_cmd cq = {.opc = 0x05, .prp1 = outside, .cdw10 = 1 | 15 << 16, .cdw11 = 1};
	EXPECT_STATUS(nvme_admin_raw(c, &cq, NULL, &st), 0, 0x04, "CQ outside");
	cq.prp1 = spare + 64;
	EXPECT_STATUS(nvme_admin_raw(c, &cq, NULL, &st), 0, 0x13, "CQ not page aligned");
	cq.prp1 = spare;
	cq.cdw11 = 0;
	EXPECT_STATUS(nvme_admin_raw(c, &cq, NULL, &st), 0, 0x02, "CQ not physically contiguous");
	cq.cdw11 = 1;
	cq.cdw10 = 1 | 0xffffu << 16;
	EXPECT_STATUS(nvme_admin_raw(c, &cq, NULL, &st), 1, 0x02, "CQ larger than CAP.MQES");
	cq.cdw10 = 0 | 15 << 16;
	EXPECT_STATUS(nvme_admin_raw(c, &cq, NULL, &st), 1, 0x01, "CQ 0");
	/* The model grants all 16 queue pairs whatever Set Features asked for (as QEMU does). */
	cq.cdw10 = 17 | 15 << 16;
	EXPECT_STATUS(nvme_admin_raw(c, &cq, NULL, &st), 1, 0x01, "CQ 17 beyond the queues granted");
	struct nvme_cmd sq = {.opc = 0x01, .prp1 = spare, .cdw10 = 1 | 15 << 16, .cdw11 = 1 | 1 << 16};
	EXPECT_STATUS(nvme_admin_raw(c, &sq, NULL, &st), 1, 0x00, "SQ on a CQ that does not exist");
	cq.cdw10 = 1 | 15 << 16;
	CHECK(nvme_admin_raw(c, &cq, NULL, &st) == 0, "CQ 1 at a good place");
	EXPECT_STATUS(nvme_admin_raw(c, &cq, NULL, &st), 1, 0x01, "CQ 1 again");
	struct nvme_cmd bad = {.opc = 0x7f};
	EXPECT_STATUS(nvme_admin_raw(c, &bad, NULL, &st), 0, 0x01, "unknown admin opcode");
	/* Nothing of that touched memory it was not given; the pattern at b is intact. */
	bool intact = true;
	for (unsigned k = 0; k < 4 * 4096; k++)
		intact &= b[k] == 0x5a;
	CHECK(intact, "a refused command wrote into the buffer");
	CHECK(atomic_load(&shared()->dma_errors) - dma_before >= 10, "dma_errors %llu",
	      (unsigned long long)(atomic_load(&shared()->dma_errors) - dma_before));
	CHECK(t_model_alive(&model), "the model died");
	CHECK(nvme_ctrl_reset(c) == 0, "reset (restores the driver's queues)");
	t_nvme_pattern(b, 65536, 9, 9);
	CHECK(nvme_write(c, 9, 128, b) == 0, "a good write afterwards");
	memset(b + 65536, 0, 65536);
	CHECK(nvme_read(c, 9, 128, b + 65536) == 0 && !memcmp(b, b + 65536, 65536), "a good read afterwards");
	nvme_ctrl_close(c);
	return fails;
}

/*
 * The model must not overwrite completions the host has not consumed
 * (section 4.1.1): a CQ of 4 entries, 10 commands, the head moved by hand.
 */
static unsigned case_cq_full(void)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(16, 2000);
	uint16_t st;
	uint8_t *area = (uint8_t *)model.qmem + T_QMEM_LEN / 2;
	volatile uint32_t *cqm = (volatile uint32_t *)area;
	struct nvme_cmd *sqm = (struct nvme_cmd *)(area + 65536);
	enum { CQ_SIZE = 4, COUNT = 10 };

	struct nvme_cmd dsq = {.opc = 0x00, .cdw10 = 1}, dcq = {.opc = 0x04, .cdw10 = 1};
	CHECK(nvme_admin_raw(c, &dsq, NULL, &st) == 0 && nvme_admin_raw(c, &dcq, NULL, &st) == 0, "delete queues");
	memset(area, 0, 2 * 65536);
	struct nvme_cmd cq = {.opc = 0x05, .prp1 = (uintptr_t)cqm, .cdw10 = 1 | (CQ_SIZE - 1) << 16, .cdw11 = 1};
	struct nvme_cmd sq = {.opc = 0x01, .prp1 = (uintptr_t)sqm, .cdw10 = 1 | 15 << 16, .cdw11 = 1 | 1 << 16};
	CHECK(nvme_admin_raw(c, &cq, NULL, &st) == 0 && nvme_admin_raw(c, &sq, NULL, &st) == 0, "create queues");
	for (unsigned k = 0; k < COUNT; k++)
		sqm[k] = (struct nvme_cmd){.opc = 0x02, .cid = (uint16_t)k, .nsid = 1, .cdw10 = k,
					   .prp1 = (uintptr_t)model.buf + k * 4096};
	uint64_t full_before = atomic_load(&shared()->cq_full);
	rl_dev_write32(&model.dev, 0x1008, COUNT); /* SQ1 tail doorbell, DSTRD 0 */
	unsigned head = 0, next_cid = 0;
	bool phase = true;
	uint64_t deadline = now_ns() + 5000000000ull;
	while (next_cid < COUNT && now_ns() < deadline) {
		uint32_t dw3 = __atomic_load_n(&cqm[head * 4 + 3], __ATOMIC_ACQUIRE);
		if (((dw3 >> 16) & 1) != phase)
			continue;
		/* Let the model find the queue full before consuming the first entries. */
		if (next_cid == 0) {
			usleep(20000);
			unsigned posted = 0;
			for (unsigned k = 0; k < CQ_SIZE; k++)
				posted += ((cqm[k * 4 + 3] >> 16) & 1) == 1;
			CHECK(posted == CQ_SIZE - 1, "%u entries posted into a CQ of %d", posted, CQ_SIZE);
		}
		CHECK((dw3 & 0xffff) == next_cid && (dw3 >> 17) == 0, "entry %u: cid %u status %#x", next_cid,
		      dw3 & 0xffff, dw3 >> 17);
		next_cid++;
		if (++head == CQ_SIZE) {
			head = 0;
			phase = !phase;
		}
		rl_dev_write32(&model.dev, 0x100c, head); /* CQ1 head doorbell */
	}
	CHECK(next_cid == COUNT, "%u of %d completions", next_cid, COUNT);
	CHECK(atomic_load(&shared()->cq_full) > full_before, "the model never found its CQ full");
	nvme_ctrl_close(c);
	return fails;
}

static unsigned case_inject_status(void)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(16, 2000);
	char s[80];

	inject((struct nvme_model_shared){.fail_count = 1, .fail_status = 2 << 8 | 0x81});
	struct nvme_req r = {.op = NVME_OP_READ, .lba = 0, .nblocks = 1, .buf = model.buf};
	int got = nvme_sync(c, &r);
	nvme_status_str(r.nvme_status, s, sizeof(s));
	printf("injected: %d (%s), %s\n", got, nvme_strerror(got), s);
	CHECK(got == -EREMOTEIO && NVME_SCT(r.nvme_status) == 2 && NVME_SC(r.nvme_status) == 0x81, "status %#x",
	      r.nvme_status);
	CHECK(strstr(s, "Unrecovered Read Error") != NULL, "%s", s);
	CHECK(nvme_read(c, 0, 1, model.buf) == 0, "the next read");
	/* Admin commands, when asked for. */
	inject((struct nvme_model_shared){.fail_count = 1, .fail_status = 0x06, .fail_admin = 1});
	struct nvme_cmd id = {.opc = 0x06, .cdw10 = 1, .prp1 = (uintptr_t)model.buf};
	uint16_t st = 0;
	EXPECT_STATUS(nvme_admin_raw(c, &id, NULL, &st), 0, 0x06, "injected admin failure");
	CHECK(nvme_admin_raw(c, &id, NULL, &st) == 0, "the next admin command");
	CHECK(nvme_ctrl_info(c)->resets == 0, "an error status must not reset the controller");
	nvme_ctrl_close(c);
	return fails;
}

static bool wait_for(_Atomic uint64_t *counter, uint64_t want, int ms)
{
	uint64_t deadline = now_ns() + (uint64_t)ms * 1000000;
	while (atomic_load(counter) < want)
		if (now_ns() > deadline)
			return false;
	return true;
}

/* Requests in flight at a fatal status fail with -EIO; the driver resets, and I/O works again. */
static unsigned case_inject_cfs(void)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(16, 5000);
	struct nvme_req reqs[4], *ptrs[4], *done[4];
	uint64_t resets_before = atomic_load(&shared()->resets);

	/* Held in flight: the model runs them but posts nothing. */
	inject((struct nvme_model_shared){.drop_count = 4});
	for (unsigned k = 0; k < 4; k++) {
		reqs[k] = (struct nvme_req){.op = NVME_OP_WRITE, .lba = k, .nblocks = 1, .buf = model.buf, .user = k};
		ptrs[k] = &reqs[k];
	}
	CHECK(nvme_submit(c, ptrs, 4) == 4, "submit");
	CHECK(wait_for(&shared()->dropped, 4, 2000), "the model did not take the commands");
	CHECK(nvme_poll(c, done, 4) == 0 && nvme_inflight(c) == 4, "in flight %u", nvme_inflight(c));
	inject((struct nvme_model_shared){.set_cfs = 1});
	uint64_t t0 = now_ns();
	unsigned got = 0;
	while (got < 4 && now_ns() - t0 < 3000000000ull) {
		unsigned n = nvme_poll(c, done, 4);
		for (unsigned k = 0; k < n; k++)
			CHECK(done[k]->status == -EIO, "request %llu: %d", (unsigned long long)done[k]->user,
			      done[k]->status);
		got += n;
	}
	printf("fatal status: %u requests failed with -EIO, recovered in %.2f ms\n", got, (now_ns() - t0) / 1e6);
	CHECK(got == 4, "%u of 4 came back", got);
	CHECK(nvme_ctrl_info(c)->resets == 1, "driver resets %llu", (unsigned long long)nvme_ctrl_info(c)->resets);
	CHECK(atomic_load(&shared()->resets) > resets_before, "the model was not reset");
	t_nvme_pattern(model.buf, 4096, 1, 1);
	CHECK(nvme_write(c, 16, 8, model.buf) == 0, "write after the reset");
	memset(model.buf + 8192, 0, 4096);
	CHECK(nvme_read(c, 16, 8, model.buf + 8192) == 0 && !memcmp(model.buf, model.buf + 8192, 4096),
	      "read after the reset");
	nvme_ctrl_close(c);
	return fails;
}

/* A completion that never comes: -ETIMEDOUT after the deadline, a reset, I/O again. */
static unsigned case_inject_lost(void)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(16, 200);
	struct nvme_req reqs[2], *ptrs[2], *done[2];

	inject((struct nvme_model_shared){.drop_count = 1});
	for (unsigned k = 0; k < 2; k++) {
		reqs[k] = (struct nvme_req){.op = NVME_OP_READ, .lba = k, .nblocks = 1, .buf = model.buf + k * 4096,
					    .user = k};
		ptrs[k] = &reqs[k];
	}
	uint64_t t0 = now_ns();
	CHECK(nvme_submit(c, ptrs, 2) == 2, "submit");
	unsigned got = 0;
	uint64_t t_timeout = 0;
	while (got < 2 && now_ns() - t0 < 5000000000ull) {
		unsigned n = nvme_poll(c, done, 2);
		for (unsigned k = 0; k < n; k++) {
			int want = done[k]->user == 0 ? -ETIMEDOUT : 0;
			CHECK(done[k]->status == want, "request %llu: %d, want %d", (unsigned long long)done[k]->user,
			      done[k]->status, want);
			if (done[k]->status == -ETIMEDOUT)
				t_timeout = now_ns() - t0;
		}
		got += n;
	}
	printf("lost completion: -ETIMEDOUT after %.1f ms (deadline 200 ms)\n", t_timeout / 1e6);
	CHECK(got == 2, "%u of 2 came back", got);
	CHECK(t_timeout >= 200000000ull && t_timeout < 1500000000ull, "timed out after %llu ns",
	      (unsigned long long)t_timeout);
	const struct nvme_info *i = nvme_ctrl_info(c);
	CHECK(i->timeouts == 1 && i->resets == 1, "timeouts %llu resets %llu", (unsigned long long)i->timeouts,
	      (unsigned long long)i->resets);
	CHECK(nvme_read(c, 5, 1, model.buf) == 0, "read after the reset");
	nvme_ctrl_close(c);
	return fails;
}

/* The model sleeps while idle: at most 2 clock ticks of CPU in a second of idleness. */
static unsigned case_idle_cpu(void)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(16, 2000);
	long hz = sysconf(_SC_CLK_TCK);

	for (unsigned k = 0; k < 200; k++)
		CHECK(nvme_read(c, k, 1, model.buf) == 0, "read %u", k);
	/* A real condition, not a guess: the model has gone to sleep. */
	uint64_t deadline = now_ns() + 2000000000ull;
	while (!atomic_load(&model.ctl->sleeping) && now_ns() < deadline)
		usleep(1000);
	CHECK(atomic_load(&model.ctl->sleeping), "the model never went to sleep");
	uint64_t wakeups = atomic_load(&model.ctl->wakeups);
	long t0 = t_model_cpu_ticks(&model);
	sleep(1);
	long t1 = t_model_cpu_ticks(&model);
	printf("idle: model used %ld tick(s) of CPU in 1 s (%ld ticks a second), %llu sleeps so far\n",
	       t1 - t0, hz, (unsigned long long)atomic_load(&model.ctl->sleeps));
	CHECK(t0 >= 0 && t1 - t0 <= 2, "the model used %ld ticks while idle", t1 - t0);
	uint64_t s = now_ns();
	CHECK(nvme_read(c, 0, 1, model.buf) == 0, "a read wakes the model");
	printf("idle: first read after sleeping took %.1f us\n", (now_ns() - s) / 1e3);
	CHECK(atomic_load(&model.ctl->wakeups) > wakeups, "no wake-up counted");
	nvme_ctrl_close(c);
	return fails;
}

/* A namespace in a file: written data is in the file after Flush. */
static unsigned case_file_backing(int backing)
{
	unsigned fails = 0;
	struct nvme_ctrl *c = open_ctrl(16, 2000);
	const struct nvme_info *i = nvme_ctrl_info(c);
	uint8_t back[65536];

	CHECK(i->volatile_cache, "a file namespace reports a volatile write cache");
	CHECK(i->nblocks == (16u << 20) / 512, "blocks %llu", (unsigned long long)i->nblocks);
	t_nvme_pattern(model.buf, 65536, 77, 77);
	CHECK(nvme_write(c, 77, 128, model.buf) == 0, "write");
	CHECK(nvme_flush(c) == 0, "flush");
	CHECK(pread(backing, back, sizeof(back), 77 * 512) == (ssize_t)sizeof(back) && !memcmp(back, model.buf, 65536),
	      "the file holds the data");
	/* And the other way: what is in the file is read. */
	memset(back, 0x3c, sizeof(back));
	CHECK(pwrite(backing, back, 4096, 0) == 4096, "pwrite");
	CHECK(nvme_read(c, 0, 8, model.buf) == 0 && !memcmp(model.buf, back, 4096), "read what the file holds");
	nvme_ctrl_close(c);
	return fails;
}

static int run(const char *name)
{
	static const char *const dstrd[] = {"--dstrd", "2", "--lba-size", "4096", NULL};
	static char fd_text[16];
	static const char *const file_args[] = {"--backing-fd", fd_text, NULL};
	const char *const *extra = NULL;
	int backing = -1;

	if (!strcmp(name, "dstrd")) {
		extra = dstrd;
	} else if (!strcmp(name, "file-backing")) {
		backing = memfd_create("nvme-backing", 0);
		if (backing < 0 || ftruncate(backing, 16u << 20) < 0)
			return 1;
		snprintf(fd_text, sizeof(fd_text), "%d", backing);
		extra = file_args;
	}
	int r = t_model_start(&model, extra);
	if (r)
		return r;
	struct t_nvme_target t = target();
	unsigned fails;
	if (!strcmp(name, "identify"))
		fails = t_nvme_identify(&t);
	else if (!strcmp(name, "io-sizes"))
		fails = t_nvme_io_sizes(&t);
	else if (!strcmp(name, "ring-wrap"))
		fails = t_nvme_ring_wrap(&t);
	else if (!strcmp(name, "flush"))
		fails = t_nvme_flush(&t);
	else if (!strcmp(name, "bad-requests"))
		fails = t_nvme_bad_requests(&t);
	else if (!strcmp(name, "batch"))
		fails = t_nvme_batch(&t);
	else if (!strcmp(name, "reset"))
		fails = t_nvme_reset(&t);
	else if (!strcmp(name, "dstrd"))
		fails = t_nvme_identify(&t) + t_nvme_io_sizes(&t);
	else if (!strcmp(name, "file-backing"))
		fails = case_file_backing(backing);
	else if (!strcmp(name, "bad-prp"))
		fails = case_bad_prp();
	else if (!strcmp(name, "cq-full"))
		fails = case_cq_full();
	else if (!strcmp(name, "inject-status"))
		fails = case_inject_status();
	else if (!strcmp(name, "inject-cfs"))
		fails = case_inject_cfs();
	else if (!strcmp(name, "inject-lost"))
		fails = case_inject_lost();
	else if (!strcmp(name, "idle-cpu"))
		fails = case_idle_cpu();
	else {
		fprintf(stderr, "test-nvme: unknown case '%s'\n", name);
		fails = 1;
	}
	if (!t_model_alive(&model)) {
		fprintf(stderr, "FAIL: the model is not running at the end\n");
		fails++;
	}
	t_model_stop(&model);
	printf("%s: %s\n", name, fails ? "FAILED" : "ok");
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test-nvme CASE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run(argv[1]);
}
