// SPDX-License-Identifier: MIT
/*
 * What bench/storage's systems share (workload.h): the cell syntax, the
 * block numbers each system must agree on, the data check that decides
 * whether a driver returned what was written, and the latency sample.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "workload.h"

static int failures;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "test-workload: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                    \
		}                                                                      \
	} while (0)

static void t_cells(void)
{
	struct st_cell c[ST_MAX_CELLS];

	CHECK(st_cells_parse("randread:1,seqwrite:4", c) == 2);
	CHECK(c[0].wl == ST_RANDREAD && c[0].qd == 1 && c[1].wl == ST_SEQWRITE && c[1].qd == 4);
	CHECK(st_cell_requests(&c[1]) == 128);
	CHECK(st_cells_parse("randwrite:128", c) == 1);
	const char *bad[] = { "", "randread", "randread:", "randread:0", "randread:129", "seqread:5",
			      "rand:1", "randread:1,", "randread:1x", "randread:-1", ",randread:1" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(st_cells_parse(bad[i], c) == -EINVAL);
	char many[512] = "";
	for (unsigned i = 0; i <= ST_MAX_CELLS; i++)
		strcat(many, i ? ",randread:1" : "randread:1");
	CHECK(st_cells_parse(many, c) == -EINVAL);

	struct st_cell d[ST_MAX_CELLS];
	unsigned n = st_cells_default(d);
	char text[512];
	st_cells_format(d, n, text, sizeof(text));
	CHECK(st_cells_parse(text, c) == (int)n && !memcmp(c, d, n * sizeof(c[0])));
}

static void t_cursor(void)
{
	struct st_cursor a, b;
	struct st_cell rnd = { ST_RANDREAD, 32 }, seq = { ST_SEQREAD, 4 };
	uint64_t x[ST_MAX_BATCH], y[ST_MAX_BATCH];

	/* The same cell index gives every system the same blocks, inside the device. */
	st_cursor_init(&a, 4096, 3);
	st_cursor_init(&b, 4096, 3);
	for (unsigned round = 0; round < 100; round++) {
		st_cursor_next(&a, &rnd, x);
		st_cursor_next(&b, &rnd, y);
		CHECK(!memcmp(x, y, 32 * sizeof(x[0])));
		for (unsigned i = 0; i < 32; i++)
			CHECK(x[i] < 4096);
	}
	/* Sequential I/Os are consecutive and wrap at the end. */
	st_cursor_init(&a, 1024, 0);
	for (unsigned round = 0; round < 8; round++) {
		st_cursor_next(&a, &seq, x);
		for (unsigned i = 0; i < 4; i++)
			CHECK(x[i] == (round * 4 + i) * ST_SEQ_BLOCKS % 1024);
	}
}

static void t_stamp(void)
{
	static uint8_t blk[ST_BSIZE], other[ST_BSIZE];

	st_fill(blk, 77, 5);
	CHECK(st_stamp_check(blk, 77, 5) == 0);
	CHECK(st_stamp_check(blk, 78, 5) == -EILSEQ);
	CHECK(st_stamp_check(blk, 77, 4) == -EILSEQ);
	/* A stamp on a buffer prepared for the same generation makes the whole block. */
	st_fill(other, 0, 5);
	st_stamp(other, 77, 5);
	CHECK(!memcmp(blk, other, ST_BSIZE));
	/* One wrong byte anywhere fails it. */
	for (unsigned off = 0; off < ST_BSIZE; off += 511) {
		blk[off] ^= 0x40;
		CHECK(st_stamp_check(blk, 77, 5) == -EILSEQ);
		blk[off] ^= 0x40;
	}
	memset(blk, 0, sizeof(blk));
	CHECK(st_stamp_check(blk, 0, 0) == -EILSEQ);
}

static void t_lat(void)
{
	double store[16];
	struct st_lat l;

	st_lat_init(&l, store, 16);
	for (unsigned i = 0; i < 16; i++)
		st_lat_add(&l, i);
	CHECK(l.n == 16 && l.stride == 1);
	for (unsigned i = 16; i < 1000; i++)
		st_lat_add(&l, i);
	CHECK(l.n <= 16 && l.n >= 8 && l.seen == 1000);
	/* An even spread: every kept value is a multiple of the stride, in order. */
	for (size_t i = 0; i < l.n; i++)
		CHECK((uint64_t)l.v[i] == i * l.stride);
}

int main(void)
{
	t_cells();
	t_cursor();
	t_stamp();
	t_lat();
	if (failures) {
		fprintf(stderr, "test-workload: %d check(s) failed\n", failures);
		return 1;
	}
	return 0;
}
