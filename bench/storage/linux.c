// SPDX-License-Identifier: MIT
/*
 * System (c), the Linux path, on a file holding the same blocks as the
 * model's namespace (c->file, in --dir: tmpfs by default, so the page
 * cache is the backing as RAM is the model's):
 *  - io_uring (liburing) in this process: each batch is qd SQEs (one per
 *    I/O: 4 KiB, or 128 KiB for the sequential workloads), submitted with
 *    one io_uring_submit_and_wait() for all of them, then reaped. O_DIRECT
 *    with --direct. CPU: this process's, io_uring's worker threads
 *    included (they are its threads).
 *  - fio's io_uring engine on the same file and patterns, as a separate
 *    program: --iodepth Q with --iodepth_batch_submit and
 *    --iodepth_batch_complete_min Q (a batch in, the whole batch out).
 *    Its figures are its own JSON output's: IOPS from total_ios over the
 *    direction's runtime, per-I/O completion latency percentiles (clat),
 *    CPU from usr_cpu + sys_cpu over job_runtime.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procs.h"
#include "storage.h"

#define RING_ENTRIES 256
#define LAT_CAP (1u << 18)
#define FILL_CHUNK 256u /* blocks per pwrite of the fill */

int st_file_fill(const struct st_config *c)
{
	uint8_t *buf = aligned_alloc(ST_BSIZE, (size_t)FILL_CHUNK * ST_BSIZE);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	memset(buf, 0, (size_t)FILL_CHUNK * ST_BSIZE);
	int fd = open(c->file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		fprintf(stderr, "storage: cannot create %s: %s\n", c->file, strerror(errno));
		free(buf);
		return ret;
	}
	for (uint64_t b = 0; b < c->blocks && !ret; b += FILL_CHUNK) {
		unsigned n = c->blocks - b < FILL_CHUNK ? (unsigned)(c->blocks - b) : FILL_CHUNK;
		for (unsigned i = 0; i < n; i++)
			st_fill(buf + (size_t)i * ST_BSIZE, b + i, 0);
		ssize_t w = pwrite(fd, buf, (size_t)n * ST_BSIZE, (off_t)(b * ST_BSIZE));
		if (w != (ssize_t)((size_t)n * ST_BSIZE))
			ret = w < 0 ? -errno : -EIO;
	}
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (ret)
		fprintf(stderr, "storage: cannot fill %s: %s\n", c->file, strerror(-ret));
	close(fd);
	free(buf);
	return ret;
}

struct uring {
	struct io_uring ring;
	int fd;
	uint8_t *buf; /* ST_MAX_BATCH blocks */
	uint8_t gens[ST_MAX_BLOCKS];
	double lat[LAT_CAP];
};

/*
 * One batch: qd I/Os of io_blocks blocks each at first[i], buffer slice i;
 * writes stamped with gen. Submitted together, all reaped. Returns 0 or a
 * negative errno (a short transfer is -EIO).
 */
static int batch(struct uring *u, unsigned qd, unsigned io_blocks, bool write, const uint64_t *first, uint8_t gen)
{
	size_t len = (size_t)io_blocks * ST_BSIZE;

	for (unsigned i = 0; i < qd; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
		uint8_t *p = u->buf + i * len;
		if (!sqe)
			return -EBUSY;
		if (write) {
			for (unsigned j = 0; j < io_blocks; j++)
				st_stamp(p + (size_t)j * ST_BSIZE, first[i] + j, gen);
			io_uring_prep_write(sqe, u->fd, p, (unsigned)len, first[i] * ST_BSIZE);
		} else {
			io_uring_prep_read(sqe, u->fd, p, (unsigned)len, first[i] * ST_BSIZE);
		}
	}
	int ret = io_uring_submit_and_wait(&u->ring, qd);
	if (ret < 0)
		return ret;
	if ((unsigned)ret != qd)
		return -EAGAIN;
	for (unsigned got = 0; got < qd;) {
		struct io_uring_cqe *cqes[ST_MAX_BATCH];
		unsigned n = io_uring_peek_batch_cqe(&u->ring, cqes, qd - got);
		if (!n) {
			struct io_uring_cqe *cqe;
			if ((ret = io_uring_wait_cqe(&u->ring, &cqe)) < 0)
				return ret;
			continue;
		}
		for (unsigned i = 0; i < n; i++)
			if (cqes[i]->res != (int)len)
				ret = cqes[i]->res < 0 ? cqes[i]->res : -EIO;
		io_uring_cq_advance(&u->ring, n);
		got += n;
	}
	return ret < 0 ? ret : 0;
}

/* Reads every block back through the ring and checks it. Returns the blocks checked or -errno. */
static int64_t verify(const struct st_config *c, struct uring *u)
{
	uint64_t first[ST_MAX_BATCH];
	int64_t checked = 0;

	for (uint64_t b = 0; b < c->blocks; b += ST_MAX_BATCH) {
		for (unsigned i = 0; i < ST_MAX_BATCH; i++)
			first[i] = b + i;
		int ret = batch(u, ST_MAX_BATCH, 1, false, first, 0);
		if (ret) {
			fprintf(stderr, "storage: (c) io_uring read at block %" PRIu64 ": %s\n", b, strerror(-ret));
			return ret;
		}
		for (unsigned i = 0; i < ST_MAX_BATCH; i++, checked++) {
			if (st_stamp_check(u->buf + (size_t)i * ST_BSIZE, b + i, u->gens[b + i])) {
				fprintf(stderr, "storage: (c) block %" PRIu64 " of %s does not hold what was last written there\n",
					b + i, c->file);
				return -EILSEQ;
			}
		}
	}
	return checked;
}

static int run_cell(const struct st_config *c, struct uring *u, unsigned k, struct st_result *r)
{
	const struct st_cell *cell = &c->cells[k];
	const struct st_wl_info *w = &st_wl[cell->wl];
	uint8_t gen = st_cell_gen(k);
	uint64_t first[ST_MAX_BATCH];
	struct st_cursor cur;
	struct st_lat lat;

	st_cursor_init(&cur, c->blocks, k);
	st_lat_init(&lat, u->lat, LAT_CAP);
	for (unsigned i = 0; w->write && i < ST_MAX_BATCH; i++)
		st_fill(u->buf + (size_t)i * ST_BSIZE, 0, gen);
	double cpu0 = st_self_cpu();
	uint64_t now = st_now_ns(), t0 = now, end = now + (uint64_t)c->ms * 1000000u;
	while (now < end) {
		st_cursor_next(&cur, cell, first);
		int ret = batch(u, cell->qd, w->io_blocks, w->write, first, gen);
		if (ret) {
			snprintf(r->why, sizeof(r->why), "an I/O failed: %s", strerror(-ret));
			fprintf(stderr, "storage: (c) io_uring %s qd %u: %s\n", w->name, cell->qd, r->why);
			return ret;
		}
		uint64_t after = st_now_ns();
		st_lat_add(&lat, (double)(after - now));
		now = after;
		r->ios += cell->qd;
		r->batches++;
		if (w->write)
			for (unsigned i = 0; i < cell->qd; i++)
				for (unsigned j = 0; j < w->io_blocks; j++)
					u->gens[first[i] + j] = gen;
	}
	st_result_finish(r, st_self_cpu() - cpu0, now - t0, &lat, "(c) io_uring", w->name, cell->qd);
	return 0;
}

int st_uring_round(const struct st_config *c, unsigned round, struct st_result *res, uint64_t *verified)
{
	struct uring *u = calloc(1, sizeof(*u));
	int ret;

	(void)round;
	*verified = 0;
	if (!u)
		return -ENOMEM;
	u->fd = -1;
	u->buf = aligned_alloc(ST_BSIZE, (size_t)ST_MAX_BATCH * ST_BSIZE);
	if (!u->buf) {
		free(u);
		return -ENOMEM;
	}
	if ((ret = st_file_fill(c)))
		goto out_free;
	u->fd = open(c->file, O_RDWR | O_CLOEXEC | (c->direct ? O_DIRECT : 0));
	if (u->fd < 0) {
		ret = -errno;
		fprintf(stderr, "storage: (c) cannot open %s%s: %s\n", c->file, c->direct ? " with O_DIRECT" : "",
			strerror(errno));
		goto out_free;
	}
	if ((ret = io_uring_queue_init(RING_ENTRIES, &u->ring, 0))) {
		fprintf(stderr, "storage: (c) io_uring_queue_init: %s\n", strerror(-ret));
		goto out_free;
	}
	int64_t v = verify(c, u);
	for (unsigned k = 0; v >= 0 && k < c->ncells; k++)
		if ((ret = run_cell(c, u, k, &res[k])))
			v = ret;
	if (v >= 0)
		v = verify(c, u);
	if (v < 0)
		ret = (int)v;
	else
		*verified = (uint64_t)v;
	io_uring_queue_exit(&u->ring);
out_free:
	if (u->fd >= 0)
		close(u->fd);
	free(u->buf);
	free(u);
	return ret;
}

/* The number after "key": inside [p, end), or -1 when there is none. */
static double json_number(const char *p, const char *end, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\"", key);
	for (const char *q = strstr(p, k); q && q < end; q = strstr(q + 1, k)) {
		const char *v = q + strlen(k);
		while (*v == ' ' || *v == ':' || *v == '\t')
			v++;
		char *stop;
		double x = strtod(v, &stop);
		if (stop != v)
			return x;
	}
	return -1;
}

/* Reads fio's JSON answer for one job into r. Returns 0 or -EPROTO with r->why set. */
static int fio_parse(const char *json, bool write, struct st_result *r)
{
	const char *job = strstr(json, "\"jobs\"");
	const char *dir = job ? strstr(job, write ? "\"write\" : {" : "\"read\" : {") : NULL;
	if (!dir) {
		snprintf(r->why, sizeof(r->why), "fio's answer has no %s section", write ? "write" : "read");
		return -EPROTO;
	}
	/* The direction's object ends before the next one ("trim" follows "write", "write" follows "read"). */
	const char *end = strstr(dir + 1, write ? "\"trim\" : {" : "\"write\" : {");
	if (!end)
		end = dir + strlen(dir);
	double ios = json_number(dir, end, "total_ios"), runtime_ms = json_number(dir, end, "runtime");
	const char *clat = strstr(dir, "\"clat_ns\"");
	double p50 = clat && clat < end ? json_number(clat, end, "50.000000") : -1;
	double p99 = clat && clat < end ? json_number(clat, end, "99.000000") : -1;
	double usr = json_number(end, end + strlen(end), "usr_cpu"), sys = json_number(end, end + strlen(end), "sys_cpu");
	double job_ms = json_number(job, job + strlen(job), "job_runtime");
	if (ios < 0 || runtime_ms <= 0 || usr < 0 || sys < 0) {
		snprintf(r->why, sizeof(r->why), "fio's answer lacks total_ios, runtime or CPU figures");
		return -EPROTO;
	}
	r->ios = (uint64_t)ios;
	r->seconds = runtime_ms / 1e3;
	r->batches = 0;
	r->cpu_s = job_ms > 0 ? (usr + sys) / 100.0 * job_ms / 1e3 : -1;
	r->batch_p50_us = r->batch_p99_us = -1;
	r->io_p50_us = p50 >= 0 ? p50 / 1e3 : -1;
	r->io_p99_us = p99 >= 0 ? p99 / 1e3 : -1;
	r->ran = r->ios > 0;
	if (!r->ran)
		snprintf(r->why, sizeof(r->why), "fio did no I/O");
	return 0;
}

int st_fio_round(const struct st_config *c, unsigned round, struct st_result *res)
{
	char out[PATH_MAX];
	int ret = 0;

	st_path(out, sizeof(out), "%s/fio-r%u.json", c->data_dir, round);
	for (unsigned k = 0; k < c->ncells; k++) {
		const struct st_cell *cell = &c->cells[k];
		const struct st_wl_info *w = &st_wl[cell->wl];
		struct st_result *r = &res[k];
		static const char *const rw[ST_NWL] = { "randread", "randwrite", "read", "write" };
		char a_file[PATH_MAX + 16], a_rw[32], a_bs[32], a_qd[32], a_sub[48], a_cmp[48], a_direct[32],
			a_size[48], a_runtime[48], a_out[PATH_MAX + 16];
		snprintf(a_file, sizeof(a_file), "--filename=%s", c->file);
		snprintf(a_rw, sizeof(a_rw), "--rw=%s", rw[cell->wl]);
		snprintf(a_bs, sizeof(a_bs), "--bs=%u", w->io_blocks * ST_BSIZE);
		snprintf(a_qd, sizeof(a_qd), "--iodepth=%u", cell->qd);
		snprintf(a_sub, sizeof(a_sub), "--iodepth_batch_submit=%u", cell->qd);
		snprintf(a_cmp, sizeof(a_cmp), "--iodepth_batch_complete_min=%u", cell->qd);
		snprintf(a_direct, sizeof(a_direct), "--direct=%d", c->direct ? 1 : 0);
		snprintf(a_size, sizeof(a_size), "--size=%llu", (unsigned long long)c->blocks * ST_BSIZE);
		snprintf(a_runtime, sizeof(a_runtime), "--runtime=%ums", c->ms);
		snprintf(a_out, sizeof(a_out), "--output=%s", out);
		char *argv[] = { "fio", "--name=storage", a_file, "--ioengine=io_uring", a_rw, a_bs, a_qd, a_sub, a_cmp,
				 a_direct, a_size, "--time_based=1", a_runtime, "--invalidate=0", "--norandommap=1",
				 "--randrepeat=0", "--output-format=json", a_out, NULL };
		char fio[PATH_MAX];
		if (st_which("fio", fio, sizeof(fio))) {
			snprintf(r->why, sizeof(r->why), "fio is not installed");
			ret = -ENOENT;
			break;
		}
		argv[0] = fio;
		char *text = NULL, *json = NULL;
		unlink(out);
		int rc = rl_procs_run(argv, (int)(c->ms + 30000), &text);
		FILE *f = fopen(out, "re");
		if (f) {
			size_t cap = 1 << 20;
			json = calloc(1, cap);
			if (json)
				json[fread(json, 1, cap - 1, f)] = 0;
			fclose(f);
		}
		if (rc != 0 || !json) {
			snprintf(r->why, sizeof(r->why), "fio failed (status %d): %.150s", rc, text ? text : "");
			fprintf(stderr, "storage: (c) fio %s qd %u: %s\n", w->name, cell->qd, r->why);
			ret = -EIO;
		} else if (fio_parse(json, w->write, r)) {
			fprintf(stderr, "storage: (c) fio %s qd %u: %s (its answer: %s)\n", w->name, cell->qd, r->why, out);
			ret = -EPROTO;
		} else {
			fprintf(stderr, "storage:   (c) fio      %-9s qd %3u: %8.0f IOPS, %6.0f ns CPU per I/O\n", w->name,
				cell->qd, st_iops(r), r->cpu_s >= 0 && r->ios ? r->cpu_s * 1e9 / (double)r->ios : -1);
		}
		free(text);
		free(json);
		if (ret)
			break;
	}
	unlink(out);
	return ret;
}
