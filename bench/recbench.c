// SPDX-License-Identifier: MIT
/*
 * recbench: the bench domain behind bench/recovery (the paper's recovery
 * experiment). It imports BDev ("bdev") -- in bench/recovery.yaml from a
 * shadow of the RAM block device -- and does sequential 4 KiB reads or
 * writes over the whole device, wrapping around, for a fixed time, counting
 * the blocks completed in every bucket (10 ms) of CLOCK_MONOTONIC.
 *
 *   recbench --mode read|write [--batch N] [--seconds D] [--bucket-ms B]
 *            [--tail-ms T] [--stall-us S]
 *
 * --batch N (default 1): N consecutive blocks per call through BDev.batch,
 * as sequential I/O through a buffer cache would go (a batch never wraps
 * past the device's end, so the last one of a pass may be shorter); 1 is
 * the one-block synchronous mode, BDev.read and BDev.write.
 *
 * Phases:
 *  1. fill: every block is written once with a stamp (block number and
 *     pass in its first 8 bytes); untimed, and the warm-up of both modes.
 *  2. timed, D seconds from t0: each completed call adds to the bucket of
 *     its completion time; a call slower than S microseconds (default 1000)
 *     is recorded as a stall (start, latency). Reads check the stamp of
 *     every block they get back, so data lost across a driver restart is an
 *     error, not a number.
 *  3. tail, T ms (default 1000): untimed calls go on, so the harness can
 *     stop crash injection and read the broker's recovery times while a
 *     recovery still in progress completes (a recovery ends at the first
 *     reply the new incarnation serves). In write mode the tail starts with
 *     a read pass that checks every block holds the last stamp written.
 *  4. report through rl_log, then exit 0.
 *
 * Any error from a call is a panic: the client talks to a shadow, which must
 * hide every crash, so an error means recovery failed.
 *
 * Lines (after the "[recbench] " prefix rl_log adds; at most ~500 bytes):
 *   RECBENCH START mode=M t0_ns=T bucket_ns=B buckets=N blocks=K bsize=4096 batch=N
 *   RECBENCH TIMED-END ops=N
 *   RECBENCH S FIRST C C C ...     blocks completed in buckets FIRST, FIRST+1, ...
 *   RECBENCH STALL T_NS LAT_NS     call started T_NS after t0 and took LAT_NS
 *   RECBENCH END mode=M ops=N bytes=B errors=0 verified=V stalls=S
 * t0_ns is CLOCK_MONOTONIC, the same clock the harness and the broker read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkbatch.h"
#include "opts.h"
#include "redleaf/domain.h"
#include "redleaf/clock.h"
#include "redleaf_idl.h"

#define MAX_BUCKETS 200000u /* e.g. 2000 s of 10 ms */
#define MAX_STALLS 4096u
#define SAMPLES_PER_LINE 48u
#define STAMP_MAGIC 0x52424e43u /* "RBNC" */

/* Static: a domain has no business asking the broker for big private memory. */
static uint32_t buckets[MAX_BUCKETS];
static struct {
	uint64_t start, latency;
} stalls[MAX_STALLS];

static rl_cap dev;
static uint64_t nblocks;
static unsigned batch = 1;
static rref_deque_breq_128 q; /* with batch > 1: the batch, reused */

static unsigned long long parse(const char *opt, const char *v, unsigned long long max)
{
	unsigned long long n;
	if (rl_parse_count(v, 1, max, &n))
		rl_panic("%s takes a number from 1 to %llu, not '%s'", opt, max, v);
	return n;
}

static uint64_t stamp(uint32_t blockno, uint32_t pass)
{
	return (uint64_t)(STAMP_MAGIC ^ pass) << 32 | blockno;
}

/* Writes block b with its stamp for pass; panics on any error. */
static void write_block(rref_block buf, uint32_t b, uint32_t pass)
{
	struct block *p = rref_block_get(buf);
	if (!p)
		rl_panic("lost ownership of the write buffer");
	uint64_t s = stamp(b, pass);
	memcpy(p->data, &s, sizeof(s));
	int ret = BDev_write(dev, b, buf);
	if (ret)
		rl_panic("write of block %u failed: %d", b, ret);
}

/* Reads block b into *buf (moved out and back) and checks its stamp. */
static void read_block(rref_block *buf, uint32_t b, uint32_t pass)
{
	rref_block back;
	int ret = BDev_read(dev, b, *buf, &back);
	if (ret)
		rl_panic("read of block %u failed: %d", b, ret);
	*buf = back;
	const struct block *p = rref_block_get(back);
	if (!p)
		rl_panic("read of block %u returned a buffer we do not own", b);
	uint64_t got, want = stamp(b, pass);
	memcpy(&got, p->data, sizeof(got));
	if (got != want)
		rl_panic("block %u holds stamp %#" PRIx64 ", expected %#" PRIx64 " (data lost?)", b, got,
			 want);
}

/* Blocks [b, b + n) in one batch: written with their stamps for pass, or read and checked against it. */
static void batch_blocks(bool writing, uint32_t b, unsigned n, uint32_t pass)
{
	struct deque_breq_128 *d = rref_deque_breq_128_get(q);
	rref_deque_breq_128 back;

	if (!d)
		rl_panic("lost ownership of the batch");
	d->hdr.head = 0;
	d->hdr.tail = n;
	for (unsigned i = 0; i < n; i++) {
		blkbatch_set(d, i, writing ? RL_CONST_BREQ_WRITE : RL_CONST_BREQ_READ, b + i);
		if (writing) {
			uint64_t s = stamp(b + i, pass);
			memcpy(rref_block_get(d->items[i].data)->data, &s, sizeof(s));
		}
	}
	int ret = BDev_batch(dev, q, &back);
	if (ret)
		rl_panic("batch of %u at block %u failed: %d", n, b, ret);
	q = back;
	if (!(d = rref_deque_breq_128_get(q)) || blkbatch_len(d) != n)
		rl_panic("the batch at block %u came back with %u requests, not %u", b, d ? blkbatch_len(d) : 0, n);
	for (unsigned i = 0; i < n; i++) {
		const struct breq *r = blkbatch_req(d, i);
		const struct block *p = rref_block_get(r->data);
		if (r->status || !p)
			rl_panic("request for block %u of a batch: status %d, buffer %s", b + i, r->status,
				 p ? "ours" : "lost");
		uint64_t got, want = stamp(b + i, pass);
		memcpy(&got, p->data, sizeof(got));
		if (!writing && got != want)
			rl_panic("block %u holds stamp %#" PRIx64 ", expected %#" PRIx64 " (data lost?)", b + i,
				 got, want);
	}
}

/* Blocks [b, b + n): written with their stamps for pass, or read and checked against it. */
static void blocks_io(bool writing, uint32_t b, unsigned n, uint32_t pass, rref_block *buf)
{
	if (batch > 1) {
		batch_blocks(writing, b, n, pass);
		return;
	}
	if (writing)
		write_block(*buf, b, pass);
	else
		read_block(buf, b, pass);
}

/* The blocks of the call that starts at b: batch, or what is left of the pass. */
static unsigned span(uint32_t b)
{
	return nblocks - b < batch ? (unsigned)(nblocks - b) : batch;
}

static void print_samples(unsigned n)
{
	for (unsigned first = 0; first < n; first += SAMPLES_PER_LINE) {
		char line[SAMPLES_PER_LINE * 11 + 32];
		int len = snprintf(line, sizeof(line), "RECBENCH S %u", first);
		for (unsigned i = first; i < n && i < first + SAMPLES_PER_LINE; i++)
			len += snprintf(line + len, sizeof(line) - (size_t)len, " %" PRIu32, buckets[i]);
		rl_log("%s", line);
	}
}

int rl_domain_main(int argc, char **argv)
{
	const char *mode = NULL;
	unsigned long long seconds = 10, bucket_ms = 10, tail_ms = 1000, stall_us = 1000;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = parse("--seconds", argv[++i], 2000);
		else if (!strcmp(argv[i], "--bucket-ms") && i + 1 < argc)
			bucket_ms = parse("--bucket-ms", argv[++i], 1000);
		else if (!strcmp(argv[i], "--tail-ms") && i + 1 < argc)
			tail_ms = parse("--tail-ms", argv[++i], 60000);
		else if (!strcmp(argv[i], "--stall-us") && i + 1 < argc)
			stall_us = parse("--stall-us", argv[++i], 10000000);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			batch = (unsigned)parse("--batch", argv[++i], BLKBATCH_MAX);
		else
			rl_panic("unknown argument '%s' (usage: recbench --mode read|write [--batch N] [--seconds D] "
				 "[--bucket-ms B] [--tail-ms T] [--stall-us S])", argv[i]);
	}
	if (!mode || (strcmp(mode, "read") && strcmp(mode, "write")))
		rl_panic("--mode read or --mode write is required");
	bool writing = !strcmp(mode, "write");
	uint64_t bucket_ns = bucket_ms * 1000000ull;
	uint64_t nbuckets = seconds * 1000ull / bucket_ms;
	if (nbuckets > MAX_BUCKETS)
		rl_panic("%llu s of %llu ms buckets is more than %u buckets", seconds, bucket_ms, MAX_BUCKETS);

	dev = rl_cap_lookup("bdev");
	if (dev == RL_CAP_INVALID)
		rl_panic("no import named 'bdev'");
	int ret = BDev_nblocks(dev, &nblocks);
	if (ret)
		rl_panic("nblocks failed: %d", ret);
	if (!nblocks || nblocks > UINT32_MAX)
		rl_panic("a device of %" PRIu64 " blocks cannot be benchmarked", nblocks);

	rref_block buf;
	if ((ret = rref_block_new(&buf)))
		rl_panic("cannot allocate a block: %d", ret);
	if (batch > 1 && (ret = blkbatch_new(batch, &q)))
		rl_panic("cannot allocate a batch of %u: %d", batch, ret);

	/* 1. fill (and warm up): pass 0 stamps every block. */
	for (uint32_t b = 0; b < nblocks; b += span(b))
		blocks_io(true, b, span(b), 0, &buf);

	/* 2. timed */
	uint32_t block = 0, pass = writing ? 1 : 0, upto = 0;
	uint64_t ops = 0, nstalls = 0, dropped_stalls = 0;
	uint64_t t0 = rl_now_ns(), end = t0 + nbuckets * bucket_ns;
	rl_log("RECBENCH START mode=%s t0_ns=%" PRIu64 " bucket_ns=%" PRIu64 " buckets=%" PRIu64
	       " blocks=%" PRIu64 " bsize=%u batch=%u", mode, t0, bucket_ns, nbuckets, nblocks,
	       (unsigned)RL_CONST_BSIZE, batch);
	for (uint64_t before = t0;;) {
		unsigned n = span(block);
		blocks_io(writing, block, n, writing ? pass : 0, &buf);
		uint64_t after = rl_now_ns();
		upto = block + n;
		if (after >= end)
			break; /* completed past the window: not counted */
		buckets[(after - t0) / bucket_ns] += n;
		ops += n;
		if (after - before >= stall_us * 1000ull) {
			if (nstalls < MAX_STALLS) {
				stalls[nstalls].start = before - t0;
				stalls[nstalls].latency = after - before;
				nstalls++;
			} else {
				dropped_stalls++;
			}
		}
		if ((block += n) == nblocks) {
			block = 0;
			pass += writing;
		}
		before = after;
	}
	rl_log("RECBENCH TIMED-END ops=%" PRIu64, ops);

	/*
	 * 3. tail. Writes: blocks before `upto` hold `pass`, the others
	 * pass - 1 (the call that completed past the window still landed).
	 * Checked a block at a time, whatever the batch: the blocks' contents
	 * are checked through the other path too.
	 */
	uint64_t verified = 0;
	uint64_t tail_end = rl_now_ns() + tail_ms * 1000000ull;
	if (writing) {
		for (uint32_t b = 0; b < nblocks; b++, verified++)
			read_block(&buf, b, b < upto ? pass : pass - 1);
	}
	for (uint32_t b = 0; rl_now_ns() < tail_end; b = (uint32_t)((b + 1) % nblocks))
		read_block(&buf, b, writing ? (b < upto ? pass : pass - 1) : 0);
	rref_block_drop(buf);
	if (batch > 1)
		blkbatch_free(q);

	/* 4. report */
	print_samples((unsigned)nbuckets);
	for (uint64_t i = 0; i < nstalls; i++)
		rl_log("RECBENCH STALL %" PRIu64 " %" PRIu64, stalls[i].start, stalls[i].latency);
	rl_log("RECBENCH END mode=%s ops=%" PRIu64 " bytes=%" PRIu64 " errors=0 verified=%" PRIu64
	       " stalls=%" PRIu64 " stalls_dropped=%" PRIu64, mode, ops, ops * RL_CONST_BSIZE, verified,
	       nstalls, dropped_stalls);
	return 0;
}
