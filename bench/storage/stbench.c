// SPDX-License-Identifier: MIT
/*
 * stbench: the bench domain of bench/storage, system (a). It imports BDev
 * ("bdev", the NVMe driver domain in the harness's manifest) and runs the
 * cells of workload.h through BDev.batch, the batch size being the queue
 * depth, one batch in flight.
 *
 *   stbench --cells LIST [--ms D] [--gap-ms G]
 *
 *  1. fill: every block written with generation 0, then read back and
 *     checked (untimed).
 *  2. per cell, in order: announce the start time t0 (now + G ms), sleep
 *     until t0, issue batches until D ms have passed, report. The harness
 *     reads the announcement and the report and samples the CPU time of
 *     the broker and the domains then, while everything is idle (G ms
 *     before t0 and G ms after the report).
 *  3. verify: every block read back and checked against the generation
 *     last written there (untimed).
 * Any error is a panic: a request with a status, a stamp that does not
 * match, a batch that comes back short.
 *
 * Lines (after the "[stbench] " prefix rl_log adds), times CLOCK_MONOTONIC:
 *   STBENCH START blocks=N cells=K
 *   STBENCH FILLED verified=N
 *   STBENCH CELL k wl=NAME qd=Q t0_ns=T
 *   STBENCH DONE k ios=N batches=B t0_ns=T t1_ns=T lat_p50_ns=X lat_p99_ns=Y
 *   STBENCH VERIFIED verified=N
 *   STBENCH END errors=0
 * lat_* are per batch call (BDev_batch's round trip), not per I/O: the
 * client sees only the batch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blkbatch.h"
#include "opts.h"
#include "redleaf/clock.h"
#include "redleaf/domain.h"
#include "redleaf_idl.h"
#include "samples.h"
#include "workload.h"

#define LAT_CAP (1u << 18)

/* Static: a domain has no business asking the broker for big private memory. */
static double lat_store[LAT_CAP];
static uint8_t gens[ST_MAX_BLOCKS];

static rl_cap dev;
static uint64_t nblocks;

/*
 * One batch: n requests of op on blocks[0..n), writes filled (full) or
 * stamped with gen. Checks that every request came back with status 0.
 */
static void batch(rref_deque_breq_128 *q, unsigned n, uint32_t op, bool full, const uint64_t *blocks, uint8_t gen)
{
	struct deque_breq_128 *d = rref_deque_breq_128_get(*q);
	if (!d)
		rl_panic("lost the batch deque");
	d->hdr.head = 0;
	d->hdr.tail = n;
	for (unsigned i = 0; i < n; i++) {
		blkbatch_set(d, i, op, blocks[i]);
		if (op == RL_CONST_BREQ_WRITE && full)
			st_fill(rref_block_get(d->items[i].data)->data, blocks[i], gen);
		else if (op == RL_CONST_BREQ_WRITE)
			st_stamp(rref_block_get(d->items[i].data)->data, blocks[i], gen);
	}
	rref_deque_breq_128 back;
	int ret = BDev_batch(dev, *q, &back);
	if (ret)
		rl_panic("batch of %u failed: %d", n, ret);
	*q = back;
	if (!(d = rref_deque_breq_128_get(back)) || blkbatch_len(d) != n)
		rl_panic("a batch of %u came back with %u requests", n, d ? blkbatch_len(d) : 0);
	for (unsigned i = 0; i < n; i++) {
		const struct breq *r = blkbatch_req(d, i);
		if (r->status)
			rl_panic("%s of block %" PRIu64 " failed: %d", op == RL_CONST_BREQ_WRITE ? "write" : "read",
				 blocks[i], r->status);
	}
}

/* Writes (gen 0) or reads and checks every block, in batches of ST_MAX_BATCH. Returns blocks checked. */
static uint64_t whole_pass(uint32_t op)
{
	rref_deque_breq_128 q;
	uint64_t blocks[ST_MAX_BATCH], checked = 0;
	int ret = blkbatch_new(ST_MAX_BATCH, &q);

	if (ret)
		rl_panic("cannot allocate a batch: %d", ret);
	for (uint64_t b = 0; b < nblocks; b += ST_MAX_BATCH) {
		for (unsigned i = 0; i < ST_MAX_BATCH; i++)
			blocks[i] = b + i;
		batch(&q, ST_MAX_BATCH, op, true, blocks, 0);
		if (op != RL_CONST_BREQ_READ)
			continue;
		struct deque_breq_128 *d = rref_deque_breq_128_get(q);
		for (unsigned i = 0; i < ST_MAX_BATCH; i++, checked++) {
			const struct block *blk = rref_block_get(blkbatch_req(d, i)->data);
			if (!blk || st_stamp_check(blk->data, b + i, gens[b + i]))
				rl_panic("block %" PRIu64 " does not hold what was last written there (generation %u)",
					 b + i, gens[b + i]);
		}
	}
	blkbatch_free(q);
	return checked;
}

static void sleep_until(uint64_t t_ns)
{
	struct timespec ts = { (time_t)(t_ns / 1000000000u), (long)(t_ns % 1000000000u) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void run_cell(unsigned k, const struct st_cell *cell, uint64_t ms, uint64_t gap_ms)
{
	const struct st_wl_info *w = &st_wl[cell->wl];
	unsigned nreq = st_cell_requests(cell);
	uint32_t op = w->write ? RL_CONST_BREQ_WRITE : RL_CONST_BREQ_READ;
	uint8_t gen = st_cell_gen(k);
	uint64_t first[ST_MAX_BATCH], blocks[ST_MAX_BATCH];
	rref_deque_breq_128 q;
	struct st_cursor cur;
	struct st_lat lat;
	int ret;

	if ((ret = blkbatch_new(nreq, &q)))
		rl_panic("cannot allocate a batch of %u: %d", nreq, ret);
	st_cursor_init(&cur, nblocks, k);
	st_lat_init(&lat, lat_store, LAT_CAP);
	if (op == RL_CONST_BREQ_WRITE) {
		struct deque_breq_128 *d = rref_deque_breq_128_get(q);
		for (unsigned i = 0; i < nreq; i++)
			st_fill(rref_block_get(d->items[i].data)->data, 0, gen);
	}

	uint64_t t0 = rl_now_ns() + gap_ms * 1000000u;
	rl_log("STBENCH CELL %u wl=%s qd=%u t0_ns=%" PRIu64, k, w->name, cell->qd, t0);
	sleep_until(t0);
	uint64_t end = t0 + ms * 1000000u, now = rl_now_ns(), ios = 0, batches = 0;
	t0 = now;
	while (now < end) {
		st_cursor_next(&cur, cell, first);
		for (unsigned i = 0; i < cell->qd; i++)
			for (unsigned j = 0; j < w->io_blocks; j++)
				blocks[i * w->io_blocks + j] = first[i] + j;
		batch(&q, nreq, op, false, blocks, gen);
		uint64_t after = rl_now_ns();
		st_lat_add(&lat, (double)(after - now));
		now = after;
		ios += cell->qd;
		batches++;
		if (op == RL_CONST_BREQ_WRITE)
			for (unsigned i = 0; i < nreq; i++)
				gens[blocks[i]] = gen;
	}
	blkbatch_free(q);
	struct rl_stats s;
	if (rl_stats_compute(lat.v, lat.n, &s))
		rl_panic("cell %u ran no batch", k);
	rl_log("STBENCH DONE %u ios=%" PRIu64 " batches=%" PRIu64 " t0_ns=%" PRIu64 " t1_ns=%" PRIu64
	       " lat_p50_ns=%.0f lat_p99_ns=%.0f", k, ios, batches, t0, now, s.median, s.p99);
	/* The harness samples CPU time on this line: be idle while it does. */
	sleep_until(rl_now_ns() + gap_ms * 1000000u);
}

int rl_domain_main(int argc, char **argv)
{
	struct st_cell cells[ST_MAX_CELLS];
	int ncells = -1;
	unsigned long long ms = 1000, gap_ms = 50;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cells") && i + 1 < argc) {
			if ((ncells = st_cells_parse(argv[++i], cells)) < 0)
				rl_panic("--cells: cannot use '%s'", argv[i]);
		} else if (!strcmp(argv[i], "--ms") && i + 1 < argc) {
			if (rl_parse_count(argv[++i], 1, 3600000, &ms))
				rl_panic("--ms takes 1..3600000, not '%s'", argv[i]);
		} else if (!strcmp(argv[i], "--gap-ms") && i + 1 < argc) {
			if (rl_parse_count(argv[++i], 1, 10000, &gap_ms))
				rl_panic("--gap-ms takes 1..10000, not '%s'", argv[i]);
		} else {
			rl_panic("unknown argument '%s' (usage: stbench --cells LIST [--ms D] [--gap-ms G])", argv[i]);
		}
	}
	if (ncells < 0)
		rl_panic("--cells is required");
	dev = rl_cap_lookup("bdev");
	if (dev == RL_CAP_INVALID)
		rl_panic("no import named 'bdev'");
	int ret = BDev_nblocks(dev, &nblocks);
	if (ret)
		rl_panic("nblocks failed: %d", ret);
	if (nblocks < ST_MIN_BLOCKS || nblocks > ST_MAX_BLOCKS || nblocks % ST_MAX_BATCH)
		rl_panic("a device of %" PRIu64 " blocks: need %u..%u blocks, a multiple of %u", nblocks,
			 ST_MIN_BLOCKS, ST_MAX_BLOCKS, ST_MAX_BATCH);
	rl_log("STBENCH START blocks=%" PRIu64 " cells=%d", nblocks, ncells);

	whole_pass(RL_CONST_BREQ_WRITE);
	rl_log("STBENCH FILLED verified=%" PRIu64, whole_pass(RL_CONST_BREQ_READ));
	for (int k = 0; k < ncells; k++)
		run_cell((unsigned)k, &cells[k], ms, gap_ms);
	rl_log("STBENCH VERIFIED verified=%" PRIu64, whole_pass(RL_CONST_BREQ_READ));
	rl_log("STBENCH END errors=0");
	return 0;
}
