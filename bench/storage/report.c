// SPDX-License-Identifier: MIT
/* What bench/storage reports (storage.h): summaries over rounds, the table, the JSON file and the plot. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procs.h"
#include "storage.h"

const char *const st_sys_name[ST_NSYS] = { "redleaf", "native", "io_uring", "fio" };
const char *const st_sys_label[ST_NSYS] = { "(a) redleaf", "(b) native", "(c) io_uring", "(c) fio" };

/* The targets (docs/storage.md): at depth 32 of the random workloads. */
#define TARGET_QD 32
#define TARGET_CPU_RATIO 1.25

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void st_span(double *v, unsigned n, struct st_span *out)
{
	*out = (struct st_span){ .n = n, .median = NAN, .min = NAN, .max = NAN };
	if (!n)
		return;
	qsort(v, n, sizeof(v[0]), cmp_double);
	out->min = v[0];
	out->max = v[n - 1];
	out->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double mbps(const struct st_config *c, unsigned cell, const struct st_result *r)
{
	return st_iops(r) * st_wl[c->cells[cell].wl].io_blocks * ST_BSIZE / 1e6;
}

static double cpu_per_io_ns(const struct st_result *r)
{
	return r->ran && r->cpu_s >= 0 && r->ios ? r->cpu_s * 1e9 / (double)r->ios : -1;
}

void st_summarise(const struct st_config *c, struct st_result *all, struct st_summary *sum, struct st_ratio *ratio)
{
	double v[7][64], q[3][64];

	for (unsigned k = 0; k < c->ncells; k++) {
		for (unsigned s = 0; s < ST_NSYS; s++) {
			struct st_summary *o = &sum[s * c->ncells + k];
			unsigned n[7] = { 0 };
			memset(o, 0, sizeof(*o));
			for (unsigned round = 0; round < c->rounds && round < 64; round++) {
				const struct st_result *r = st_res(all, c, round, (enum st_system)s, k);
				if (!r->ran) {
					if (!o->why[0] && r->why[0])
						snprintf(o->why, sizeof(o->why), "%s", r->why);
					continue;
				}
				o->rounds_ok++;
				double x[7] = { st_iops(r), mbps(c, k, r), cpu_per_io_ns(r), r->batch_p50_us, r->batch_p99_us,
						r->io_p50_us, r->io_p99_us };
				for (unsigned i = 0; i < 7; i++)
					if (x[i] >= 0)
						v[i][n[i]++] = x[i];
			}
			struct st_span *spans[7] = { &o->iops, &o->mbps, &o->cpu_ns_per_io, &o->batch_p50, &o->batch_p99,
						     &o->io_p50, &o->io_p99 };
			for (unsigned i = 0; i < 7; i++)
				st_span(v[i], n[i], spans[i]);
		}
		unsigned n[3] = { 0 };
		for (unsigned round = 0; round < c->rounds && round < 64; round++) {
			const struct st_result *a = st_res(all, c, round, ST_SYS_REDLEAF, k);
			const struct st_result *b = st_res(all, c, round, ST_SYS_NATIVE, k);
			const struct st_result *u = st_res(all, c, round, ST_SYS_URING, k);
			if (a->ran && b->ran && cpu_per_io_ns(a) > 0 && cpu_per_io_ns(b) > 0)
				q[0][n[0]++] = cpu_per_io_ns(a) / cpu_per_io_ns(b);
			if (a->ran && b->ran)
				q[1][n[1]++] = st_iops(a) / st_iops(b);
			if (a->ran && u->ran)
				q[2][n[2]++] = st_iops(a) / st_iops(u);
		}
		st_span(q[0], n[0], &ratio[k].cpu_a_b);
		st_span(q[1], n[1], &ratio[k].iops_a_b);
		st_span(q[2], n[2], &ratio[k].iops_a_uring);
	}
}

/* "12345 (12000..13000)" or "-" into buf, with decimals digits after the point. */
static const char *fmt_span(char *buf, size_t len, const struct st_span *s, int decimals)
{
	if (!s->n)
		snprintf(buf, len, "-");
	else if (s->n == 1)
		snprintf(buf, len, "%.*f", decimals, s->median);
	else if (snprintf(buf, len, "%.*f (%.*f..%.*f)", decimals, s->median, decimals, s->min, decimals, s->max) >= (int)len)
		snprintf(buf, len, "%.*f", decimals, s->median);
	return buf;
}

static const char *fmt_pair(char *buf, size_t len, const struct st_span *p50, const struct st_span *p99)
{
	if (!p50->n || !p99->n)
		return snprintf(buf, len, "-"), buf;
	snprintf(buf, len, "%.1f / %.1f", p50->median, p99->median);
	return buf;
}

/* A target's verdict: the median of the per-round ratios against the bound, and the spread. */
static void target_line(FILE *f, const char *what, const struct st_span *s, double bound, bool at_most)
{
	if (!s->n) {
		fprintf(f, "  %-58s not measured\n", what);
		return;
	}
	bool met = at_most ? s->median <= bound : s->median > bound;
	bool all = at_most ? s->max <= bound : s->min > bound;
	fprintf(f, "  %-58s %.2f (rounds %.2f..%.2f): %s%s\n", what, s->median, s->min, s->max, met ? "MET" : "NOT MET",
		met && !all ? " (not in every round)" : "");
}

static int cell_index(const struct st_config *c, enum st_wl wl, unsigned qd)
{
	for (unsigned k = 0; k < c->ncells; k++)
		if (c->cells[k].wl == wl && c->cells[k].qd == qd)
			return (int)k;
	return -1;
}

void st_print_table(const struct st_config *c, const struct st_machine *m, struct st_result *all,
		    const struct st_summary *sum, const struct st_ratio *ratio, const struct st_verify *ver)
{
	FILE *f = stdout;
	char b1[64], b2[64], b3[64], b4[64];

	fprintf(f, "redleaf bench storage, %s; %ld CPUs; load average %.2f %.2f %.2f before, %.2f %.2f %.2f after\n",
		m->date, m->ncpu, m->load_before[0], m->load_before[1], m->load_before[2], m->load_after[0],
		m->load_after[1], m->load_after[2]);
	fprintf(f, "(a) stbench -> broker -> nvmedrv, (b) the driver library in one process: the NVMe model, namespace in RAM\n"
		   "(c) io_uring%s on %s, on %s, %s\n", c->no_fio ? " (fio left out)" : " and fio (io_uring engine)",
		c->file, c->file_fs, c->direct ? "O_DIRECT" : "buffered (no O_DIRECT)");
	fprintf(f, "%u blocks of 4 KiB (%u MiB); %u round(s) of %u ms per cell; median over rounds (min..max)",
		c->blocks, c->blocks / 256, c->rounds, c->ms);
	if (c->broker_spin_us >= 0)
		fprintf(f, "; (a) with broker spin_us %d", c->broker_spin_us);
	fprintf(f, "\n");
	fprintf(f, "I/O: 4 KiB (random), 128 KiB = 32 BDev blocks (sequential); QD = I/Os per batch, one batch in flight\n"
		   "CPU per I/O: (a) broker + stbench + nvmedrv (+ their namespaces' inits), (b) and io_uring: this process,\n"
		   "fio: its usr+sys; never the model's. Latency: batch = one batch call (QD I/Os), timed by the caller;\n"
		   "I/O = per I/O (fio's completion latency; it waits for whole batches too)\n\n");
	fprintf(f, "%-9s %3s  %-12s  %-28s  %-7s  %-17s  %-15s  %s\n", "workload", "QD", "system", "IOPS", "MB/s",
		"batch p50/p99 us", "I/O p50/p99 us", "CPU ns per I/O");
	for (unsigned k = 0; k < c->ncells; k++) {
		for (unsigned s = 0; s < ST_NSYS; s++) {
			const struct st_summary *o = &sum[s * c->ncells + k];
			if (s == ST_SYS_FIO && c->no_fio)
				continue;
			fprintf(f, "%-9s %3u  %-12s  ", st_wl[c->cells[k].wl].name, c->cells[k].qd, st_sys_label[s]);
			if (!o->rounds_ok) {
				fprintf(f, "FAILED: %s\n", o->why[0] ? o->why : "did not run");
				continue;
			}
			fprintf(f, "%-28s  %7.1f  %-17s  %-15s  %s\n", fmt_span(b1, sizeof(b1), &o->iops, 0),
				o->mbps.median, fmt_pair(b2, sizeof(b2), &o->batch_p50, &o->batch_p99),
				fmt_pair(b3, sizeof(b3), &o->io_p50, &o->io_p99),
				fmt_span(b4, sizeof(b4), &o->cpu_ns_per_io, 0));
		}
	}
	fprintf(f, "\nRatios, per round, median (min..max):\n%-9s %3s  %-24s  %-24s  %s\n", "workload", "QD",
		"CPU/I/O (a)/(b)", "IOPS (a)/(b)", "IOPS (a)/io_uring");
	for (unsigned k = 0; k < c->ncells; k++)
		fprintf(f, "%-9s %3u  %-24s  %-24s  %s\n", st_wl[c->cells[k].wl].name, c->cells[k].qd,
			fmt_span(b1, sizeof(b1), &ratio[k].cpu_a_b, 2), fmt_span(b2, sizeof(b2), &ratio[k].iops_a_b, 2),
			fmt_span(b3, sizeof(b3), &ratio[k].iops_a_uring, 2));
	fprintf(f, "\nTargets (QD %d, batches of %d; judged on the median of the per-round ratios):\n", TARGET_QD, TARGET_QD);
	const enum st_wl wls[] = { ST_RANDREAD, ST_RANDWRITE };
	for (unsigned i = 0; i < 2; i++) {
		int k = cell_index(c, wls[i], TARGET_QD);
		char what[96];
		if (k < 0)
			continue;
		snprintf(what, sizeof(what), "%s: CPU per I/O (a)/(b) at most %.2f", st_wl[wls[i]].name, TARGET_CPU_RATIO);
		target_line(f, what, &ratio[k].cpu_a_b, TARGET_CPU_RATIO, true);
		snprintf(what, sizeof(what), "%s: IOPS (a)/io_uring above 1", st_wl[wls[i]].name);
		target_line(f, what, &ratio[k].iops_a_uring, 1.0, false);
	}
	fprintf(f, "\nData verified (every block read back and checked after the cells, each round):");
	for (unsigned s = 0; s < ST_SYS_FIO; s++)
		fprintf(f, " %s %llu blocks%s", st_sys_label[s], (unsigned long long)ver->blocks[s], s + 1 < ST_SYS_FIO ? "," : "");
	fprintf(f, "; fio: not checked (it writes its own data)\n");
	fprintf(f, "Other processes' share of the machine while each system ran (max; (a): per cell):");
	for (unsigned s = 0; s < ST_NSYS; s++) {
		double mx = -1;
		for (unsigned round = 0; round < c->rounds; round++)
			for (unsigned k = 0; k < c->ncells; k++)
				if (st_res(all, c, round, (enum st_system)s, k)->others > mx)
					mx = st_res(all, c, round, (enum st_system)s, k)->others;
		if (mx >= 0)
			fprintf(f, " %s %.0f%%", st_sys_name[s], 100 * mx);
	}
	fprintf(f, "\n");
	unsigned late = 0;
	for (unsigned round = 0; round < c->rounds; round++)
		for (unsigned k = 0; k < c->ncells; k++)
			late += st_res(all, c, round, ST_SYS_REDLEAF, k)->late;
	if (late)
		fprintf(f, "(a): in %u cell(s) the harness read stbench's start or end line only after the cell had started\n"
			   "or the next one could have: their CPU time may be off by up to the gap (%u ms of idle)\n",
			late, c->gap_ms);
}

static void json_span(FILE *f, const char *name, const struct st_span *s, bool comma)
{
	if (!s->n)
		fprintf(f, "\"%s\":null%s", name, comma ? "," : "");
	else
		fprintf(f, "\"%s\":{\"median\":%.6g,\"min\":%.6g,\"max\":%.6g,\"n\":%u}%s", name, s->median, s->min, s->max,
			s->n, comma ? "," : "");
}

static void json_num(FILE *f, const char *name, double v, bool comma)
{
	if (v < 0 || isnan(v))
		fprintf(f, "\"%s\":null%s", name, comma ? "," : "");
	else
		fprintf(f, "\"%s\":%.6g%s", name, v, comma ? "," : "");
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

int st_write_json(const struct st_config *c, const struct st_machine *m, struct st_result *all,
		  const struct st_summary *sum, const struct st_ratio *ratio, const struct st_verify *ver)
{
	FILE *f = fopen(c->json_path, "w");
	if (!f) {
		int ret = -errno;
		fprintf(stderr, "storage: cannot write %s: %s\n", c->json_path, strerror(errno));
		return ret;
	}
	fprintf(f, "{\"benchmark\":\"storage\",\"date\":");
	json_str(f, m->date);
	fprintf(f, ",\"uname\":");
	json_str(f, m->uname);
	fprintf(f, ",\"cpus\":%ld,\"load_before\":[%.2f,%.2f,%.2f],\"load_after\":[%.2f,%.2f,%.2f],", m->ncpu,
		m->load_before[0], m->load_before[1], m->load_before[2], m->load_after[0], m->load_after[1],
		m->load_after[2]);
	fprintf(f, "\"config\":{\"rounds\":%u,\"ms\":%u,\"blocks\":%u,\"block_size\":4096,\"quick\":%s,\"file\":", c->rounds,
		c->ms, c->blocks, c->quick ? "true" : "false");
	json_str(f, c->file);
	fprintf(f, ",\"file_fs\":");
	json_str(f, c->file_fs);
	fprintf(f, ",\"o_direct\":%s,\"fio\":%s,", c->direct ? "true" : "false", c->no_fio ? "false" : "true");
	if (c->broker_spin_us >= 0)
		fprintf(f, "\"broker_spin_us\":%d},", c->broker_spin_us);
	else
		fprintf(f, "\"broker_spin_us\":null},");
	fprintf(f, "\"verified_blocks\":{\"redleaf\":%llu,\"native\":%llu,\"io_uring\":%llu},",
		(unsigned long long)ver->blocks[0], (unsigned long long)ver->blocks[1], (unsigned long long)ver->blocks[2]);
	fprintf(f, "\"cells\":[");
	for (unsigned k = 0; k < c->ncells; k++) {
		const struct st_cell *cell = &c->cells[k];
		fprintf(f, "%s{\"workload\":\"%s\",\"qd\":%u,\"io_bytes\":%u,\"requests_per_batch\":%u,\"systems\":{",
			k ? "," : "", st_wl[cell->wl].name, cell->qd, st_wl[cell->wl].io_blocks * ST_BSIZE,
			st_cell_requests(cell));
		for (unsigned s = 0; s < ST_NSYS; s++) {
			const struct st_summary *o = &sum[s * c->ncells + k];
			fprintf(f, "%s\"%s\":{\"rounds_ok\":%u,", s ? "," : "", st_sys_name[s], o->rounds_ok);
			json_span(f, "iops", &o->iops, true);
			json_span(f, "mbps", &o->mbps, true);
			json_span(f, "cpu_ns_per_io", &o->cpu_ns_per_io, true);
			json_span(f, "batch_p50_us", &o->batch_p50, true);
			json_span(f, "batch_p99_us", &o->batch_p99, true);
			json_span(f, "io_p50_us", &o->io_p50, true);
			json_span(f, "io_p99_us", &o->io_p99, true);
			fprintf(f, "\"rounds\":[");
			for (unsigned round = 0; round < c->rounds; round++) {
				const struct st_result *r = st_res(all, c, round, (enum st_system)s, k);
				fprintf(f, "%s{\"ran\":%s,", round ? "," : "", r->ran ? "true" : "false");
				if (!r->ran) {
					fprintf(f, "\"why\":");
					json_str(f, r->why);
					fprintf(f, "}");
					continue;
				}
				fprintf(f, "\"seconds\":%.6f,\"ios\":%llu,\"batches\":%llu,", r->seconds,
					(unsigned long long)r->ios, (unsigned long long)r->batches);
				json_num(f, "iops", st_iops(r), true);
				json_num(f, "cpu_s", r->cpu_s, true);
				json_num(f, "cpu_ns_per_io", cpu_per_io_ns(r), true);
				json_num(f, "batch_p50_us", r->batch_p50_us, true);
				json_num(f, "batch_p99_us", r->batch_p99_us, true);
				json_num(f, "io_p50_us", r->io_p50_us, true);
				json_num(f, "io_p99_us", r->io_p99_us, true);
				json_num(f, "others_share", r->others, true);
				fprintf(f, "\"cpu_sampled_late\":%s}", r->late ? "true" : "false");
			}
			fprintf(f, "]}");
		}
		fprintf(f, "},\"ratios\":{");
		json_span(f, "cpu_per_io_a_over_b", &ratio[k].cpu_a_b, true);
		json_span(f, "iops_a_over_b", &ratio[k].iops_a_b, true);
		json_span(f, "iops_a_over_io_uring", &ratio[k].iops_a_uring, false);
		fprintf(f, "}}");
	}
	fprintf(f, "],\"targets\":{\"qd\":%d,\"cpu_per_io_a_over_b_at_most\":%.2f,\"iops_a_over_io_uring_above\":1}}\n",
		TARGET_QD, TARGET_CPU_RATIO);
	if (fclose(f)) {
		int ret = -errno;
		fprintf(stderr, "storage: cannot write %s: %s\n", c->json_path, strerror(errno));
		return ret;
	}
	return 0;
}

int st_plot(const struct st_config *c, const struct st_summary *sum)
{
	char path[PATH_MAX], expr[3 * PATH_MAX];

	for (unsigned w = 0; w < ST_NWL; w++) {
		st_path(path, sizeof(path), "%s/%s.dat", c->data_dir, st_wl[w].name);
		FILE *f = fopen(path, "w");
		if (!f) {
			int ret = -errno;
			fprintf(stderr, "storage: cannot write %s: %s\n", path, strerror(errno));
			return ret;
		}
		fprintf(f, "# qd  IOPS medians: redleaf native io_uring fio (NaN: not measured)\n");
		for (unsigned k = 0; k < c->ncells; k++) {
			if (c->cells[k].wl != w)
				continue;
			fprintf(f, "%u", c->cells[k].qd);
			for (unsigned s = 0; s < ST_NSYS; s++) {
				const struct st_span *i = &sum[s * c->ncells + k].iops;
				fprintf(f, i->n ? " %.1f" : " NaN", i->median);
			}
			fprintf(f, "\n");
		}
		fclose(f);
	}
	char gnuplot[PATH_MAX];
	if (st_which("gnuplot", gnuplot, sizeof(gnuplot))) {
		fprintf(stderr, "storage: no plot: gnuplot is not installed (apt-get install gnuplot-nox); "
				"the data files are in %s\n", c->data_dir);
		return -ENOENT;
	}
	snprintf(expr, sizeof(expr), "datadir='%s'; out='%s'; rounds=%u; ms=%u", c->data_dir, c->plot_path, c->rounds,
		 c->ms);
	char *argv[] = { gnuplot, "-e", expr, (char *)c->plot_script, NULL };
	char *out = NULL;
	int rc = rl_procs_run(argv, 60000, &out);
	if (rc) {
		fprintf(stderr, "storage: gnuplot failed (%d): %s\n", rc, out ? out : "");
		free(out);
		return -EIO;
	}
	free(out);
	return 0;
}
