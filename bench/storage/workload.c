// SPDX-License-Identifier: MIT
/* The cells, block numbers and stamps every system of bench/storage shares (workload.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

#define STAMP_MAGIC 0x53544230u /* "STB0" */

const struct st_wl_info st_wl[ST_NWL] = {
	[ST_RANDREAD] = { "randread", false, false, 1 },
	[ST_RANDWRITE] = { "randwrite", true, false, 1 },
	[ST_SEQREAD] = { "seqread", false, true, ST_SEQ_BLOCKS },
	[ST_SEQWRITE] = { "seqwrite", true, true, ST_SEQ_BLOCKS },
};

unsigned st_cells_default(struct st_cell out[ST_MAX_CELLS])
{
	static const struct st_cell cells[] = {
		{ ST_RANDREAD, 1 }, { ST_RANDREAD, 32 }, { ST_RANDREAD, 128 },
		{ ST_RANDWRITE, 1 }, { ST_RANDWRITE, 32 }, { ST_RANDWRITE, 128 },
		{ ST_SEQREAD, 1 }, { ST_SEQREAD, 4 },
		{ ST_SEQWRITE, 1 }, { ST_SEQWRITE, 4 },
	};
	_Static_assert(sizeof(cells) / sizeof(cells[0]) <= ST_MAX_CELLS, "too many cells");
	memcpy(out, cells, sizeof(cells));
	return sizeof(cells) / sizeof(cells[0]);
}

int st_cells_parse(const char *s, struct st_cell out[ST_MAX_CELLS])
{
	unsigned n = 0;

	while (*s) {
		const char *colon = strchr(s, ':');
		if (!colon || n == ST_MAX_CELLS)
			return -EINVAL;
		int wl = -1;
		for (int w = 0; w < ST_NWL; w++)
			if (strlen(st_wl[w].name) == (size_t)(colon - s) && !strncmp(s, st_wl[w].name, (size_t)(colon - s)))
				wl = w;
		char *end;
		errno = 0;
		unsigned long qd = strtoul(colon + 1, &end, 10);
		if (wl < 0 || colon[1] < '0' || colon[1] > '9' || errno || (*end && *end != ',') ||
		    (*end == ',' && !end[1]) || qd == 0 || qd > ST_MAX_BATCH || qd * st_wl[wl].io_blocks > ST_MAX_BATCH)
			return -EINVAL;
		out[n++] = (struct st_cell){ (enum st_wl)wl, (unsigned)qd };
		s = *end ? end + 1 : end;
	}
	return n ? (int)n : -EINVAL;
}

void st_cells_format(const struct st_cell *cells, unsigned n, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < n && at < len; i++) {
		int w = snprintf(buf + at, len - at, "%s%s:%u", i ? "," : "", st_wl[cells[i].wl].name, cells[i].qd);
		if (w < 0)
			break;
		at += (size_t)w;
	}
}

void st_cursor_init(struct st_cursor *c, uint64_t nblocks, unsigned cell_index)
{
	c->rng = 0x9e3779b97f4a7c15ull * (cell_index + 1);
	c->next = 0;
	c->nblocks = nblocks;
}

/* xorshift64*: cheap and good enough to spread requests over the device. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

void st_cursor_next(struct st_cursor *c, const struct st_cell *cell, uint64_t *first)
{
	const struct st_wl_info *w = &st_wl[cell->wl];

	for (unsigned i = 0; i < cell->qd; i++) {
		if (w->seq) {
			first[i] = c->next;
			c->next += w->io_blocks;
			if (c->next >= c->nblocks)
				c->next = 0;
		} else {
			first[i] = (rng_next(&c->rng) >> 11) % c->nblocks;
		}
	}
}

static uint64_t stamp_value(uint64_t blockno, uint8_t gen)
{
	return (uint64_t)(STAMP_MAGIC ^ gen) << 32 | (uint32_t)blockno;
}

void st_stamp(uint8_t *block, uint64_t blockno, uint8_t gen)
{
	uint64_t v = stamp_value(blockno, gen), w = ~v;
	memcpy(block, &v, sizeof(v));
	memcpy(block + ST_BSIZE - sizeof(w), &w, sizeof(w));
}

static uint64_t pattern_word(unsigned i, uint8_t gen)
{
	return 0x5354425000000000ull ^ (uint64_t)gen << 24 ^ i;
}

void st_fill(uint8_t *block, uint64_t blockno, uint8_t gen)
{
	for (unsigned i = 1; i < ST_BSIZE / 8 - 1; i++) {
		uint64_t v = pattern_word(i, gen);
		memcpy(block + 8 * i, &v, sizeof(v));
	}
	st_stamp(block, blockno, gen);
}

int st_stamp_check(const uint8_t *block, uint64_t blockno, uint8_t gen)
{
	uint64_t v, w, want = stamp_value(blockno, gen);
	memcpy(&v, block, sizeof(v));
	memcpy(&w, block + ST_BSIZE - sizeof(w), sizeof(w));
	if (v != want || w != ~want)
		return -EILSEQ;
	for (unsigned i = 1; i < ST_BSIZE / 8 - 1; i++) {
		memcpy(&v, block + 8 * i, sizeof(v));
		if (v != pattern_word(i, gen))
			return -EILSEQ;
	}
	return 0;
}

void st_lat_init(struct st_lat *l, double *storage, size_t cap)
{
	*l = (struct st_lat){ .v = storage, .cap = cap & ~(size_t)1, .stride = 1 };
}

void st_lat_add(struct st_lat *l, double x)
{
	if (l->seen++ % l->stride)
		return;
	if (l->n == l->cap) {
		for (size_t i = 0; i < l->n / 2; i++)
			l->v[i] = l->v[2 * i];
		l->n /= 2;
		l->stride *= 2;
		if ((l->seen - 1) % l->stride)
			return;
	}
	l->v[l->n++] = x;
}
