/* SPDX-License-Identifier: MIT */
/*
 * What every system of bench/storage runs, in the same order with the same
 * block numbers: the bench domain stbench (system a), the native driver
 * (b) and the Linux path (c) all link this, so a cell means the same I/O
 * everywhere.
 *
 * A cell is a workload at a queue depth. The depth counts I/Os: 4 KiB for
 * the random workloads, 128 KiB for the sequential ones. A BDev client does
 * a 128 KiB I/O as 32 consecutive 4 KiB requests, so a batch holds
 * depth x io_blocks requests, at most BDev's BATCH_MAX (128): the
 * sequential workloads run at depth 1 and 4. Each batch is submitted whole
 * and waited for whole: the batch is the queue depth.
 *
 * Data: a block written in generation g holds a pattern of g everywhere
 * and a stamp (its number and g) in its first and last 8 bytes. The fill
 * writes generation 0 everywhere; a write cell writes generation cell + 1
 * (the same in every request of the cell, so two writes of one block in
 * one batch, whose order the device does not fix, leave the same bytes).
 * A write cell fills its buffers with the pattern before its timed window
 * (st_fill) and only stamps them in it (st_stamp, 16 bytes a block), so
 * the timed loop costs the same in every system and little. A verifying
 * pass reads every block and compares all 4096 bytes with what the
 * generation last written there must have left: a driver that returns
 * another block, stale data or garbage anywhere in a block fails it.
 */
#ifndef RL_BENCH_STORAGE_WORKLOAD_H
#define RL_BENCH_STORAGE_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_BSIZE 4096u
#define ST_SEQ_BLOCKS 32u  /* 128 KiB */
#define ST_MAX_BATCH 128u  /* BDev's BATCH_MAX */
#define ST_MAX_CELLS 16u
#define ST_MIN_BLOCKS 1024u
#define ST_MAX_BLOCKS (1u << 20) /* 4 GiB */

enum st_wl {
	ST_RANDREAD,
	ST_RANDWRITE,
	ST_SEQREAD,
	ST_SEQWRITE,
	ST_NWL,
};

struct st_wl_info {
	const char *name;
	bool write, seq;
	unsigned io_blocks; /* 4 KiB blocks per I/O */
};

extern const struct st_wl_info st_wl[ST_NWL];

struct st_cell {
	enum st_wl wl;
	unsigned qd; /* I/Os per batch */
};

/* Requests of 4 KiB in one batch of the cell. */
static inline unsigned st_cell_requests(const struct st_cell *c)
{
	return c->qd * st_wl[c->wl].io_blocks;
}

/* The benchmark's cells: 4 KiB random read and write at 1, 32, 128; 128 KiB sequential at 1, 4. */
unsigned st_cells_default(struct st_cell out[ST_MAX_CELLS]);

/*
 * Parses "randread:32,seqwrite:4,..." into out. Returns the number of
 * cells, or -EINVAL (unknown workload, depth 0 or a batch beyond
 * ST_MAX_BATCH, too many cells, bad syntax).
 */
int st_cells_parse(const char *s, struct st_cell out[ST_MAX_CELLS]);

/* "randread:1,..." for the cells, into buf (NUL-terminated, cut at len). */
void st_cells_format(const struct st_cell *cells, unsigned n, char *buf, size_t len);

/* Where a cell's batches go: each system makes one per cell, from the same seed. */
struct st_cursor {
	uint64_t rng, next, nblocks;
};

void st_cursor_init(struct st_cursor *c, uint64_t nblocks, unsigned cell_index);

/*
 * The first block of each of the cell's next qd I/Os into first[0..qd):
 * random ones uniform over the device, sequential ones consecutive,
 * wrapping at the end (nblocks is a multiple of ST_MAX_BATCH).
 */
void st_cursor_next(struct st_cursor *c, const struct st_cell *cell, uint64_t *first);

/* The generation a cell's writes carry. */
static inline uint8_t st_cell_gen(unsigned cell_index)
{
	return (uint8_t)(cell_index + 1);
}

/* The whole block of generation gen: pattern and stamp. */
void st_fill(uint8_t *block, uint64_t blockno, uint8_t gen);

/* Only the stamp, on a block st_fill() prepared with the same gen. */
void st_stamp(uint8_t *block, uint64_t blockno, uint8_t gen);

/* 0 when all of block is what st_fill(block, blockno, gen) writes, else -EILSEQ. */
int st_stamp_check(const uint8_t *block, uint64_t blockno, uint8_t gen);

/*
 * Latency samples, a systematic sample of at most cap values: every value
 * while there is room, then every second one (the stored ones thinned to
 * match), every fourth, ... so a long cell keeps an even spread.
 */
struct st_lat {
	double *v;
	size_t cap, n;
	uint64_t seen, stride;
};

void st_lat_init(struct st_lat *l, double *storage, size_t cap);
void st_lat_add(struct st_lat *l, double x);

#endif /* RL_BENCH_STORAGE_WORKLOAD_H */
