// SPDX-License-Identifier: MIT
/*
 * The NVMe model's cost as the driver sees it: 4 KiB reads through the
 * driver library against redleaf-nvme-model, one process pair, polled.
 *
 *   bench-nvme [--runs N] [--ops N]
 *
 * Queue depth 1: the round trip of one read (submit, the model's fetch,
 * copy and completion, the driver's reap). Queue depth 32: the time per
 * read with 32 in flight. Each is the median of N runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvme.h"
#include "nvme_fixture.h"

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* ns per read with depth requests kept in flight. */
static double run(struct nvme_ctrl *c, struct t_model *t, unsigned depth, unsigned ops)
{
	struct nvme_req reqs[64], *free_list[64], *sub[64], *done[64];
	uint32_t blocks = 4096 / nvme_ctrl_info(c)->lba_size;
	uint64_t span = nvme_ctrl_info(c)->nblocks / blocks;
	unsigned issued = 0, finished = 0, nfree = depth;

	for (unsigned k = 0; k < depth; k++) {
		reqs[k] = (struct nvme_req){.op = NVME_OP_READ, .nblocks = blocks, .buf = t->buf + (size_t)k * 4096};
		free_list[k] = &reqs[k];
	}
	uint64_t t0 = now_ns();
	while (finished < ops) {
		unsigned n = 0;
		while (nfree && issued < ops) {
			struct nvme_req *r = free_list[--nfree];
			r->lba = (issued * 7919ull % span) * blocks;
			sub[n++] = r;
			issued++;
		}
		if (n && nvme_submit(c, sub, n) != (int)n) {
			fprintf(stderr, "bench-nvme: submit failed\n");
			exit(1);
		}
		unsigned got = nvme_poll(c, done, 64);
		for (unsigned k = 0; k < got; k++) {
			if (done[k]->status) {
				fprintf(stderr, "bench-nvme: read failed: %d\n", done[k]->status);
				exit(1);
			}
			free_list[nfree++] = done[k];
		}
		finished += got;
	}
	return (double)(now_ns() - t0) / ops;
}

int main(int argc, char **argv)
{
	unsigned runs = 5, ops = 50000;
	struct t_model t;
	struct nvme_ctrl *c;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--runs"))
			runs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ops"))
			ops = atoi(argv[i + 1]);
	}
	if (runs < 1 || runs > 100 || ops < 100) {
		fprintf(stderr, "usage: bench-nvme [--runs 1..100] [--ops N>=100]\n");
		return 2;
	}
	int r = t_model_start(&t, NULL);
	if (r)
		return r;
	struct nvme_config cfg = {.queue_depth = 64};
	if ((r = nvme_ctrl_open(&t.dev, t.qmem, T_QMEM_LEN, &cfg, &c))) {
		fprintf(stderr, "bench-nvme: open: %d (%s)\n", r, nvme_strerror(r));
		return 1;
	}
	const unsigned depths[] = {1, 32};
	for (unsigned d = 0; d < 2; d++) {
		double v[100];
		run(c, &t, depths[d], ops / 10); /* warm up */
		for (unsigned k = 0; k < runs; k++)
			v[k] = run(c, &t, depths[d], ops);
		qsort(v, runs, sizeof(v[0]), cmp_double);
		printf("nvme model, 4 KiB reads, queue depth %2u: %7.0f ns per read (median of %u runs of %u; "
		       "min %.0f, max %.0f), %.0f kIOPS\n",
		       depths[d], v[runs / 2], runs, ops, v[0], v[runs - 1], 1e6 / v[runs / 2]);
	}
	nvme_ctrl_close(c);
	t_model_stop(&t);
	return 0;
}
