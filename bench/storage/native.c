// SPDX-License-Identifier: MIT
/*
 * System (b), the baseline: the NVMe driver library (nvme.h) linked into
 * this process, no isolation, no broker, driving a model process of its
 * own (redleaf-nvme-model, namespace in RAM, the arguments the broker
 * gives it: --lba-size 4096 --timeout 2). This process makes the memfds
 * and maps them at the same fixed addresses as the model: the BAR file,
 * the queue memory and the data buffers. The same batches as (a), each
 * submitted whole with nvme_run(), which is what nvmedrv does with a
 * BDev.batch. CPU time: this process (getrusage), the model left out.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"
#include "nvme.h"
#include "nvme_model.h"
#include "procs.h"
#include "storage.h"

/* Clear of the heap's place (0x200000000000) and of what the kernel hands out. */
#define QMEM_ADDR 0x300000000000UL
#define QMEM_LEN (4UL << 20)
#define BUF_ADDR 0x300040000000UL
#define BUF_LEN ((size_t)ST_MAX_BATCH * ST_BSIZE)
#define QUEUE_DEPTH 256
#define LAT_CAP (1u << 18)

struct native {
	int bar_fd, qmem_fd, buf_fd, ready[2];
	void *qmem;
	uint8_t *buf;
	pid_t model;
	const char *model_path;
	char arg_bar[32], arg_qmem[48], arg_buf[48], arg_ready[32], arg_ram[32];
	struct rl_dev dev;
	bool dev_open;
	struct nvme_ctrl *ctrl;
	struct nvme_req rq[ST_MAX_BATCH];
	uint8_t gens[ST_MAX_BLOCKS];
	double lat[LAT_CAP];
};

static int region(const char *name, size_t len, uintptr_t addr, int *fd, void **map)
{
	*fd = memfd_create(name, MFD_CLOEXEC);
	if (*fd < 0 || ftruncate(*fd, (off_t)len) < 0)
		return -errno;
	void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, *fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if ((uintptr_t)p != addr) {
		munmap(p, len);
		return -EEXIST;
	}
	*map = p;
	return 0;
}

/* In the child (rl_procs_fork): descriptors to 3..6, then the model. */
static void model_exec(void *arg)
{
	struct native *n = arg;
	int from[4] = { n->bar_fd, n->qmem_fd, n->buf_fd, n->ready[1] };

	/* Above every descriptor we have, then down to 3..6, so no dup2 overwrites a source. */
	for (unsigned i = 0; i < 4; i++)
		if ((from[i] = fcntl(from[i], F_DUPFD, 100)) < 0)
			_exit(127);
	for (unsigned i = 0; i < 4; i++)
		if (dup2(from[i], 3 + (int)i) < 0)
			_exit(127);
	char *argv[] = { (char *)n->model_path, "--bar-fd", "3", "--dma", n->arg_qmem, "--dma", n->arg_buf,
			 "--ready-fd", "6", "--ram", n->arg_ram, "--lba-size", "4096", "--timeout", "2",
			 "--serial", "storage-native", NULL };
	execv(argv[0], argv);
	fprintf(stderr, "storage: cannot execute %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int model_start(const struct st_config *c, struct native *n)
{
	int ret;

	n->bar_fd = memfd_create("storage-bar", MFD_CLOEXEC);
	if (n->bar_fd < 0 || ftruncate(n->bar_fd, (off_t)rl_model_file_size(NVME_MODEL_BAR_LEN)) < 0)
		return -errno;
	void *buf;
	if ((ret = region("storage-qmem", QMEM_LEN, QMEM_ADDR, &n->qmem_fd, &n->qmem)) ||
	    (ret = region("storage-buf", BUF_LEN, BUF_ADDR, &n->buf_fd, &buf))) {
		fprintf(stderr, "storage: (b) cannot map DMA memory at its fixed address: %s\n", strerror(-ret));
		return ret;
	}
	n->buf = buf;
	if (pipe2(n->ready, O_CLOEXEC) < 0)
		return -errno;
	snprintf(n->arg_qmem, sizeof(n->arg_qmem), "4@%#lx", QMEM_ADDR);
	snprintf(n->arg_buf, sizeof(n->arg_buf), "5@%#lx", BUF_ADDR);
	snprintf(n->arg_ram, sizeof(n->arg_ram), "%llu", (unsigned long long)c->blocks * ST_BSIZE);
	n->model_path = c->model;
	n->model = rl_procs_fork(model_exec, n);
	close(n->ready[1]);
	n->ready[1] = -1;
	if (n->model < 0)
		return n->model;
	struct pollfd p = { .fd = n->ready[0], .events = POLLIN };
	char byte;
	if (poll(&p, 1, 10000) != 1 || read(n->ready[0], &byte, 1) != 1) {
		fprintf(stderr, "storage: (b) the model (%s) did not become ready\n", c->model);
		return -EIO;
	}
	if ((ret = rl_dev_model_open(&n->dev, n->bar_fd))) {
		fprintf(stderr, "storage: (b) cannot open the model's registers: %s\n", strerror(-ret));
		return ret;
	}
	n->dev_open = true;
	if ((ret = rl_dev_add_region(&n->dev, n->qmem, QMEM_LEN)) || (ret = rl_dev_add_region(&n->dev, buf, BUF_LEN)))
		return ret;
	struct nvme_config cfg = { .queue_depth = QUEUE_DEPTH, .timeout_ms = 5000, .nsid = 1 };
	if ((ret = nvme_ctrl_open(&n->dev, n->qmem, nvme_qmem_size(QUEUE_DEPTH), &cfg, &n->ctrl))) {
		n->ctrl = NULL;
		fprintf(stderr, "storage: (b) cannot bring the controller up: %s\n", nvme_strerror(ret));
		return ret;
	}
	const struct nvme_info *info = nvme_ctrl_info(n->ctrl);
	if (info->lba_size != ST_BSIZE || info->nblocks != c->blocks || info->queue_depth < ST_MAX_BATCH) {
		fprintf(stderr, "storage: (b) the controller has %" PRIu64 " blocks of %u bytes and depth %u\n",
			info->nblocks, info->lba_size, info->queue_depth);
		return -EINVAL;
	}
	return 0;
}

static void model_stop(struct native *n)
{
	if (n->ctrl)
		nvme_ctrl_close(n->ctrl);
	if (n->model > 0)
		rl_procs_stop(n->model);
	if (n->dev_open)
		rl_dev_model_close(&n->dev);
	if (n->qmem)
		munmap(n->qmem, QMEM_LEN);
	if (n->buf)
		munmap(n->buf, BUF_LEN);
	int fds[] = { n->bar_fd, n->qmem_fd, n->buf_fd, n->ready[0], n->ready[1] };
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * One batch of nreq 4 KiB requests on blocks[], buffer i for request i;
 * writes filled (full) or stamped with gen.
 */
static int batch(struct native *n, unsigned nreq, bool write, bool full, const uint64_t *blocks, uint8_t gen)
{
	struct nvme_req *pend[ST_MAX_BATCH];

	for (unsigned i = 0; i < nreq; i++) {
		struct nvme_req *q = &n->rq[i];
		memset(q, 0, sizeof(*q));
		q->op = write ? NVME_OP_WRITE : NVME_OP_READ;
		q->lba = blocks[i];
		q->nblocks = 1;
		q->buf = n->buf + (size_t)i * ST_BSIZE;
		if (write && full)
			st_fill(q->buf, blocks[i], gen);
		else if (write)
			st_stamp(q->buf, blocks[i], gen);
		pend[i] = q;
	}
	int ret = nvme_run(n->ctrl, pend, nreq);
	if (ret)
		return ret;
	for (unsigned i = 0; i < nreq; i++)
		if (n->rq[i].status)
			return n->rq[i].status;
	return 0;
}

/* Writes generation 0 everywhere (write) or reads back and checks every block. Returns blocks checked or -errno. */
static int64_t whole_pass(const struct st_config *c, struct native *n, bool write)
{
	uint64_t blocks[ST_MAX_BATCH];
	int64_t checked = 0;

	for (uint64_t b = 0; b < c->blocks; b += ST_MAX_BATCH) {
		for (unsigned i = 0; i < ST_MAX_BATCH; i++)
			blocks[i] = b + i;
		int ret = batch(n, ST_MAX_BATCH, write, true, blocks, 0);
		if (ret) {
			fprintf(stderr, "storage: (b) %s at block %" PRIu64 ": %s\n", write ? "write" : "read", b,
				nvme_strerror(ret));
			return ret;
		}
		for (unsigned i = 0; !write && i < ST_MAX_BATCH; i++, checked++) {
			if (st_stamp_check(n->buf + (size_t)i * ST_BSIZE, b + i, n->gens[b + i])) {
				fprintf(stderr, "storage: (b) block %" PRIu64 " does not hold what was last written there\n",
					b + i);
				return -EILSEQ;
			}
		}
	}
	return checked;
}

static int run_cell(const struct st_config *c, struct native *n, unsigned k, struct st_result *r)
{
	const struct st_cell *cell = &c->cells[k];
	const struct st_wl_info *w = &st_wl[cell->wl];
	unsigned nreq = st_cell_requests(cell);
	uint8_t gen = st_cell_gen(k);
	uint64_t first[ST_MAX_BATCH], blocks[ST_MAX_BATCH];
	struct st_cursor cur;
	struct st_lat lat;

	st_cursor_init(&cur, c->blocks, k);
	st_lat_init(&lat, n->lat, LAT_CAP);
	for (unsigned i = 0; w->write && i < ST_MAX_BATCH; i++)
		st_fill(n->buf + (size_t)i * ST_BSIZE, 0, gen);
	double cpu0 = st_self_cpu();
	uint64_t now = st_now_ns(), t0 = now, end = now + (uint64_t)c->ms * 1000000u;
	while (now < end) {
		st_cursor_next(&cur, cell, first);
		for (unsigned i = 0; i < cell->qd; i++)
			for (unsigned j = 0; j < w->io_blocks; j++)
				blocks[i * w->io_blocks + j] = first[i] + j;
		int ret = batch(n, nreq, w->write, false, blocks, gen);
		if (ret) {
			snprintf(r->why, sizeof(r->why), "a request failed: %s", nvme_strerror(ret));
			return ret;
		}
		uint64_t after = st_now_ns();
		st_lat_add(&lat, (double)(after - now));
		now = after;
		r->ios += cell->qd;
		r->batches++;
		if (w->write)
			for (unsigned i = 0; i < nreq; i++)
				n->gens[blocks[i]] = gen;
	}
	st_result_finish(r, st_self_cpu() - cpu0, now - t0, &lat, "(b)", w->name, cell->qd);
	return 0;
}

int st_native_round(const struct st_config *c, unsigned round, struct st_result *res, uint64_t *verified)
{
	struct native *n = calloc(1, sizeof(*n));
	int ret;

	(void)round;
	*verified = 0;
	if (!n)
		return -ENOMEM;
	n->bar_fd = n->qmem_fd = n->buf_fd = n->ready[0] = n->ready[1] = -1;
	if ((ret = model_start(c, n)))
		goto out;
	int64_t v;
	if ((v = whole_pass(c, n, true)) < 0 || (v = whole_pass(c, n, false)) < 0) {
		ret = (int)v;
		goto out;
	}
	for (unsigned k = 0; k < c->ncells; k++)
		if ((ret = run_cell(c, n, k, &res[k])))
			goto out;
	if ((v = whole_pass(c, n, false)) < 0) {
		ret = (int)v;
		goto out;
	}
	*verified = (uint64_t)v;
	ret = 0;
out:
	model_stop(n);
	free(n);
	return ret;
}
