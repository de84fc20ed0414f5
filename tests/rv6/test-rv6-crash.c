// SPDX-License-Identifier: MIT
/*
 * Crash consistency. A workload (creations, writes, links, unlinks of open
 * and closed files, mkdir, rmdir, truncation, a group of three calls) runs
 * once on a device that records every block write and flush. Then, for
 * every k from 0 to the number of writes, the disk as a crash after the
 * k-th write would leave it is rebuilt from the record:
 *   - in order: the first k writes, nothing after;
 *   - torn: the writes before the last flush, and a random subset of those
 *     issued since (a device may persist unflushed writes in any order),
 *     for a few seeds.
 * Each such disk must check clean before any mount (the checker reads a
 * committed transaction from the log), mount (replaying the log, freeing
 * orphans), check clean with no orphan left, and show exactly the tree and
 * contents after the last call that had returned, or after the call that
 * was running: nothing half-done. It must then take new work and stay clean.
 * The last calls span several transactions (a 300 KiB write, its
 * truncation, its unlink): there /stream may hold any committed prefix of
 * what was written, between its sizes before and after the call.
 *
 * Usage: test-rv6-crash [SEEDS]   torn subsets per crash point (default 2)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "t_rv6.h"

#define NBLOCKS 1024u

static struct t_memdev md;
static struct rv6_bdev dev;

#define STREAM "/stream"
#define STREAM_SIZE (300 * 1024)
#define STREAM_SEED 77

/* The tree as text: every path, type, link count, size and content hash, sorted by name. */
struct text {
	char *s;
	size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->len + (size_t)n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		if (!t->s)
			exit(1);
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct rv6_dirent_info *)a)->name,
		      ((const struct rv6_dirent_info *)b)->name);
}

/* Appends dir's subtree under prefix; negative errno on a failed call. */
static int dump_dir(struct rv6_fs *fs, struct rv6_inode *dir, const char *prefix, struct text *t)
{
	struct rv6_dirent_info ents[256];
	size_t n = 0;
	uint64_t pos = 0;
	int r;

	while ((r = rv6_readdir(fs, dir, &pos, &ents[n])) == 1) {
		if (strcmp(ents[n].name, ".") && strcmp(ents[n].name, ".."))
			n++;
		if (n == 256)
			return -E2BIG;
	}
	if (r < 0)
		return r;
	qsort(ents, n, sizeof(ents[0]), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct rv6_inode *ip;
		struct rv6_stat st;
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", prefix, ents[i].name);
		if (strcmp(path, STREAM) == 0) {
			/* Its size and contents are checked by stream_size(). */
			text_add(t, "%s (streamed)\n", path);
			continue;
		}
		r = rv6_open(fs, dir, ents[i].name, 0, &ip);
		if (r)
			return r;
		r = rv6_stat(fs, ip, &st);
		if (!r && st.type == RV6_T_DIR) {
			text_add(t, "%s/ nlink %u\n", path, st.nlink);
			r = dump_dir(fs, ip, path, t);
		} else if (!r) {
			static uint8_t buf[1 << 16];
			uint64_t h = 1469598103934665603ull;

			for (uint64_t off = 0; off < st.size && !r;) {
				ssize_t got = rv6_read(fs, ip, buf, sizeof(buf), off);

				if (got <= 0) {
					r = got < 0 ? (int)got : -EIO;
					break;
				}
				for (ssize_t k = 0; k < got; k++)
					h = (h ^ buf[k]) * 1099511628211ull;
				off += (uint64_t)got;
			}
			text_add(t, "%s nlink %u size %llu hash %016llx\n", path, st.nlink,
				 (unsigned long long)st.size, (unsigned long long)h);
		}
		rv6_close(fs, ip);
		if (r)
			return r;
	}
	return 0;
}

static char *dump(struct rv6_fs *fs)
{
	struct text t = { 0 };
	struct rv6_inode *root;
	int r;

	text_add(&t, "/\n");
	r = rv6_root(fs, &root);
	if (!r) {
		r = dump_dir(fs, root, "", &t);
		rv6_close(fs, root);
	}
	if (r) {
		free(t.s);
		return NULL;
	}
	return t.s;
}

/* The workload: calls whose effects are each committed in one transaction. */
struct state {
	struct rv6_fs *fs;
	struct rv6_inode *f1, *tmp;
};

static uint8_t data[STREAM_SIZE];

static int write_new(struct rv6_fs *fs, const char *path, size_t n, uint32_t seed)
{
	struct rv6_inode *ip;
	int err = rv6_open(fs, NULL, path, RV6_O_CREATE, &ip);

	if (err)
		return err;
	rv6_close(fs, ip);
	return 0;
	(void)n;
	(void)seed;
}

static int write_to(struct rv6_fs *fs, const char *path, size_t n, uint64_t off, uint32_t seed)
{
	struct rv6_inode *ip;
	ssize_t w;
	int err = rv6_open(fs, NULL, path, 0, &ip);

	if (err)
		return err;
	t_fill(data, n, seed, off);
	w = rv6_write(fs, ip, data, n, off);
	rv6_close(fs, ip);
	return w == (ssize_t)n ? 0 : w < 0 ? (int)w : -EIO;
}

#define NSTEPS 134
static int step(struct state *s, int i)
{
	struct rv6_fs *fs = s->fs;
	struct rv6_inode *ip;
	char name[32];
	ssize_t w;
	int err;

	switch (i) {
	case 0: return rv6_mkdir(fs, NULL, "/a");
	case 1: return rv6_mkdir(fs, NULL, "/a/b");
	case 2: return rv6_open(fs, NULL, "/a/f1", RV6_O_CREATE, &s->f1);
	case 3:
		t_fill(data, 3000, 1, 0);
		w = rv6_write(fs, s->f1, data, 3000, 0);
		return w == 3000 ? 0 : -EIO;
	case 4: return write_new(fs, "/big", 0, 0);
	case 5: return write_to(fs, "/big", 48 * 1024, 0, 2);	/* direct and indirect blocks */
	case 6:
		t_fill(data, 100, 3, 10000);
		w = rv6_write(fs, s->f1, data, 100, 10000);	/* past a hole */
		return w == 100 ? 0 : -EIO;
	case 7: return rv6_link(fs, NULL, "/a/f1", "/a/b/f1link");
	case 8: return write_new(fs, "/c", 0, 0);
	case 9: return write_to(fs, "/c", 5000, 0, 4);
	case 10: return rv6_unlink(fs, NULL, "/c");	/* freed after the commit */
	case 11: return rv6_mkdir(fs, NULL, "/d");
	case 12: return write_new(fs, "/d/x", 0, 0);
	case 13: return write_to(fs, "/d/x", 100, 0, 5);
	case 14: {
		struct rv6_inode *big;

		err = rv6_open(fs, NULL, "/big", 0, &big);
		if (err)
			return err;
		err = rv6_truncate(fs, big, 5000);
		rv6_close(fs, big);
		return err;
	}
	case 15: return rv6_open(fs, NULL, "/tmpf", RV6_O_CREATE, &s->tmp);
	case 16:
		t_fill(data, 20000, 6, 0);
		w = rv6_write(fs, s->tmp, data, 20000, 0);
		return w == 20000 ? 0 : -EIO;
	case 17: return rv6_unlink(fs, NULL, "/tmpf");	/* still open: an orphan */
	case 18: return rv6_unlink(fs, NULL, "/a/b/f1link");
	case 19: return rv6_rmdir(fs, NULL, "/a/b");
	case 20: return rv6_mkdir(fs, NULL, "/e");
	case 21: return write_new(fs, "/e/y", 0, 0);
	case 22: return write_to(fs, "/e/y", 70 * 1024, 0, 7);
	case 23:
		/* A group: three calls, one commit. */
		err = rv6_begin_op(fs);
		if (err)
			return err;
		err = rv6_open(fs, NULL, "/g1", RV6_O_CREATE, &ip);
		if (!err)
			rv6_close(fs, ip);
		if (!err)
			err = rv6_mkdir(fs, NULL, "/g2");
		if (!err)
			err = rv6_link(fs, NULL, "/d/x", "/g2/xlink");
		return rv6_end_op(fs) ? -EIO : err;
	case 24: return rv6_close(fs, s->tmp);	/* the orphan's last reference */
	case 25: return rv6_unlink(fs, NULL, "/big");
	case 26: return rv6_unlink(fs, NULL, "/d/x");
	case 27: return rv6_rmdir(fs, NULL, "/d");
	case 28: return rv6_close(fs, s->f1);
	case 29: return write_to(fs, "/e/y", 4096, 8000, 8);	/* overwrite in place */
	/* Calls of several transactions each, at the end. */
	case 130: return write_new(fs, STREAM, 0, 0);
	case 131: return write_to(fs, STREAM, STREAM_SIZE, 0, STREAM_SEED);
	case 132: {
		struct rv6_inode *st;

		err = rv6_open(fs, NULL, STREAM, 0, &st);
		if (err)
			return err;
		err = rv6_truncate(fs, st, 10000);
		rv6_close(fs, st);
		return err;
	}
	case 133: return rv6_unlink(fs, NULL, STREAM);
	default:
		/* Enough entries to take /many past its first directory block, some removed. */
		if (i == 30)
			return rv6_mkdir(fs, NULL, "/many");
		if (i % 8 == 0) {
			snprintf(name, sizeof(name), "/many/n%03d", i - 1);
			return rv6_unlink(fs, NULL, name);
		}
		if (i % 8 == 1) {
			snprintf(name, sizeof(name), "/many/d%03d", i);
			return rv6_mkdir(fs, NULL, name);
		}
		snprintf(name, sizeof(name), "/many/n%03d", i);
		return write_new(fs, name, 0, 0);
	}
}

static unsigned long checks, mounts, failures;

/* /stream's size, -1 when absent, -2 when its contents are not a prefix of what was written. */
static long long stream_size(struct rv6_fs *fs)
{
	static uint8_t buf[STREAM_SIZE];
	struct rv6_inode *ip;
	struct rv6_stat st;
	long long size;

	if (rv6_open(fs, NULL, STREAM, 0, &ip))
		return -1;
	rv6_stat(fs, ip, &st);
	size = (long long)st.size;
	if (st.size > STREAM_SIZE || rv6_read(fs, ip, buf, st.size, 0) != (ssize_t)st.size ||
	    !t_is_pattern(buf, st.size, STREAM_SEED, 0))
		size = -2;
	rv6_close(fs, ip);
	return size;
}

static long long streamed[NSTEPS + 1];

static void fail_at(const char *mode, unsigned long k, const char *what)
{
	if (failures++ < 10)
		fprintf(stderr, "FAIL: %s crash after write %lu: %s\n", mode, k, what);
}

/*
 * Mounts the image now in md and checks it: clean before and after the
 * mount, the tree one of the allowed snapshots.
 */
static void verify(const char *mode, unsigned long k, char **allowed, int nallowed, int j)
{
	long long ss, lo, hi;
	struct rv6_check_stats st;
	struct rv6_fs *fs;
	char *tree;
	bool match = false;
	long problems;
	int err;

	checks++;
	problems = t_check_image(&dev, "before mount", &st);
	if (problems)
		fail_at(mode, k, "the image does not check clean before the mount");
	err = rv6_mount(&dev, NULL, &fs);
	mounts++;
	if (err) {
		fail_at(mode, k, "mount failed");
		return;
	}
	problems = t_check_image(&dev, "after mount", &st);
	if (problems || st.orphans)
		fail_at(mode, k, "not clean after the mount (or orphans left)");
	tree = dump(fs);
	for (int i = 0; tree && i < nallowed; i++)
		match |= allowed[i] && strcmp(tree, allowed[i]) == 0;
	if (!match) {
		fail_at(mode, k, "the tree is neither the one before the running call nor after it");
		if (failures <= 2) {
			fprintf(stderr, "--- got:\n%s--- expected one of:\n", tree ? tree : "(dump failed)\n");
			for (int i = 0; i < nallowed; i++)
				fprintf(stderr, "%s---\n", allowed[i] ? allowed[i] : "(none)\n");
		}
	}
	free(tree);
	/* /stream: a prefix of its data, between its sizes around the running call. */
	ss = stream_size(fs);
	lo = streamed[j];
	hi = j < NSTEPS ? streamed[j + 1] : lo;
	if (lo > hi) {
		long long x = lo;

		lo = hi;
		hi = x;
	}
	if (ss == -2 || (ss >= 0 && lo >= 0 && (ss < lo || ss > hi)) || (ss >= 0 && hi < 0))
		fail_at(mode, k, "/stream is not a committed prefix of what was written");
	/* It takes new work and stays clean. */
	if (rv6_mkdir(fs, NULL, "/after-crash") || write_new(fs, "/after-crash/f", 0, 0) ||
	    write_to(fs, "/after-crash/f", 9000, 0, 9))
		fail_at(mode, k, "new work after the crash failed");
	if (t_held_inodes(fs) || t_held_buffers(fs))
		fail_at(mode, k, "inode or buffer references leaked");
	if (rv6_unmount(fs))
		fail_at(mode, k, "unmount failed");
	if (t_check_image(&dev, "after new work", NULL))
		fail_at(mode, k, "not clean after new work");
}

static uint64_t rng_state;
static uint32_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33);
}

int main(int argc, char **argv)
{
	const size_t image_bytes = (size_t)NBLOCKS * RV6_BSIZE;
	struct rv6_mkfs_opts opts = { .ninodes = 128 };	/* the default log: room for a group of 3 */
	int seeds = argc > 1 ? atoi(argv[1]) : 2;
	unsigned long *ends, nwrites = 0, *write_event;
	uint8_t *base, *run, *flushed;
	char *snap[NSTEPS + 1];
	struct state s = { 0 };

	t_memdev_init(&md, NBLOCKS);
	dev = t_memdev_bdev(&md);
	T_EQ(rv6_mkfs(&dev, &opts), 0);
	base = malloc(image_bytes);
	run = malloc(image_bytes);
	flushed = malloc(image_bytes);
	ends = calloc(NSTEPS + 1, sizeof(*ends));
	if (!base || !run || !flushed || !ends)
		return 1;
	memcpy(base, md.blocks, image_bytes);

	/* The recorded run: the tree after each call, and where its events end. */
	T_EQ(rv6_mount(&dev, NULL, &s.fs), 0);
	md.record = true;
	snap[0] = dump(s.fs);
	streamed[0] = stream_size(s.fs);
	for (int i = 0; i < NSTEPS; i++) {
		int err;

		err = step(&s, i);
		if (err) {
			fprintf(stderr, "FAIL: workload step %d: %s\n", i, strerror(-err));
			return 1;
		}
		ends[i + 1] = md.nevents;
		snap[i + 1] = dump(s.fs);
		streamed[i + 1] = stream_size(s.fs);
		T_EQ(snap[i + 1] != NULL, 1);
	}
	t_assert_eq(t_check_image(&dev, "recorded run", NULL), 0);
	{
		struct rv6_inode *many;
		struct rv6_stat st;

		T_EQ(rv6_open(s.fs, NULL, "/many", 0, &many), 0);
		T_EQ(rv6_stat(s.fs, many, &st), 0);
		t_assert(st.size > RV6_BSIZE);	/* its entries span two blocks */
		rv6_close(s.fs, many);
	}
	T_EQ(rv6_unmount(s.fs), 0);
	md.record = false;
	for (unsigned long e = 0; e < md.nevents; e++)
		nwrites += md.events[e].blockno != T_MEMDEV_FLUSH;
	write_event = calloc(nwrites + 1, sizeof(*write_event));
	for (unsigned long e = 0, w = 0; e < md.nevents; e++)
		if (md.events[e].blockno != T_MEMDEV_FLUSH)
			write_event[w++] = e;
	/* The streamed write is really several commits (headers naming blocks). */
	{
		unsigned long commits = 0;

		for (unsigned long e = ends[131]; e < ends[132]; e++)
			commits += md.events[e].blockno == 1 && *(uint32_t *)md.events[e].data != 0;
		t_assert(commits >= 2);
		printf("rv6 crash: the %d KiB write took %lu commits\n", STREAM_SIZE / 1024, commits);
	}
	printf("rv6 crash: workload of %d calls: %lu block writes, %lu events\n", NSTEPS, nwrites,
	       md.nevents);

	struct t_memdev_event *ev = md.events;
	unsigned long nev = md.nevents;

	md.events = NULL;
	md.nevents = md.cap = 0;

	/* In order: the first k writes. */
	memcpy(run, base, image_bytes);
	for (unsigned long k = 0, e = 0; k <= nwrites; k++) {
		/* Events up to and including the k-th write (and flushes right after it). */
		unsigned long upto = k == 0 ? 0 : write_event[k - 1] + 1;
		int j = 0;
		char *allowed[2];

		for (; e < upto; e++)
			if (ev[e].blockno != T_MEMDEV_FLUSH)
				memcpy(run + (size_t)ev[e].blockno * RV6_BSIZE, ev[e].data, RV6_BSIZE);
		while (j < NSTEPS && ends[j + 1] <= upto)
			j++;
		/* Up to call j all is in; call j + 1 may be in or not. */
		allowed[0] = snap[j];
		allowed[1] = j < NSTEPS ? snap[j + 1] : NULL;
		memcpy(md.blocks, run, image_bytes);
		verify("in-order", k, allowed, 2, j);
	}

	/* Torn: what was flushed, and any subset of what was not. */
	for (int seed = 1; seed <= seeds; seed++) {
		unsigned long last_flush_end = 0;

		rng_state = (uint64_t)seed;
		memcpy(flushed, base, image_bytes);
		for (unsigned long k = 1, e = 0; k <= nwrites; k++) {
			unsigned long upto = write_event[k - 1] + 1;
			int j = 0;
			char *allowed[2];

			/* Fold into flushed everything before the last flush at or before upto. */
			for (unsigned long f = e; f < upto; f++) {
				if (ev[f].blockno != T_MEMDEV_FLUSH)
					continue;
				for (; e <= f; e++)
					if (ev[e].blockno != T_MEMDEV_FLUSH)
						memcpy(flushed + (size_t)ev[e].blockno * RV6_BSIZE,
						       ev[e].data, RV6_BSIZE);
				last_flush_end = e;
			}
			memcpy(md.blocks, flushed, image_bytes);
			for (unsigned long p = last_flush_end; p < upto; p++)
				if (ev[p].blockno != T_MEMDEV_FLUSH && (rng() & 1))
					memcpy(md.blocks + (size_t)ev[p].blockno * RV6_BSIZE, ev[p].data,
					       RV6_BSIZE);
			while (j < NSTEPS && ends[j + 1] <= last_flush_end)
				j++;
			allowed[0] = snap[j];
			allowed[1] = j < NSTEPS ? snap[j + 1] : NULL;
			verify("torn", k, allowed, 2, j);
		}
	}
	printf("rv6 crash: %lu crash images checked (%lu in order, %d torn seeds), %lu mounts, "
	       "%lu failures\n", checks, nwrites + 1, seeds, mounts, failures);
	for (unsigned long e = 0; e < nev; e++)
		free(ev[e].data);
	free(ev);
	for (int i = 0; i <= NSTEPS; i++)
		free(snap[i]);
	free(base);
	free(run);
	free(flushed);
	free(ends);
	free(write_event);
	t_memdev_free(&md);
	return failures || t_result() ? 1 : 0;
}
