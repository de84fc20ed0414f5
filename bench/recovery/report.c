// SPDX-License-Identifier: MIT
/*
 * The recovery harness's reports (report.h): medians over rounds, the
 * table, the JSON file and the plot.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "procs.h"
#include "report.h"

static void median_min_max(double *v, size_t n, double *median, double *min, double *max)
{
	struct rec_stats s;
	rec_stats(v, n, &s);
	*median = s.median;
	*min = s.min;
	*max = s.max;
}

static void crash_profile(const struct rec_run *runs, unsigned rounds, unsigned nsystems, unsigned system,
			  struct rec_system_summary *o)
{
	double sum[REC_PROFILE_LEN] = { 0 };
	double bucket_ms = 0;

	for (unsigned k = 0; k < rounds; k++) {
		const struct rec_run *r = &runs[k * nsystems + system];
		if (r->failure[0] || !r->bucket_ns)
			continue;
		double bucket_s = (double)r->bucket_ns / 1e9;
		bucket_ms = (double)r->bucket_ns / 1e6;
		for (unsigned i = 0; i < r->ncrashes; i++) {
			const struct rec_crash *c = &r->crashes[i];
			if (!c->in_window)
				continue;
			long long at = c->t_ns / (long long)r->bucket_ns;
			for (int off = -REC_PROFILE_BEFORE; off < REC_PROFILE_AFTER; off++) {
				long long b = at + off;
				if (b < 0 || b >= (long long)r->nbuckets)
					continue;
				sum[off + REC_PROFILE_BEFORE] += (double)r->buckets[b] * (double)r->bsize / 1e6 / bucket_s;
				o->profile_n[off + REC_PROFILE_BEFORE]++;
			}
		}
	}
	double level = 0;
	unsigned nlevel = 0;
	for (unsigned i = 0; i < REC_PROFILE_LEN; i++) {
		o->profile[i] = o->profile_n[i] ? sum[i] / o->profile_n[i] : 0;
		if (i < REC_PROFILE_BEFORE && o->profile_n[i]) {
			level += o->profile[i];
			nlevel++;
		}
	}
	o->profile_level = nlevel ? level / nlevel : 0;
	if (!o->profile_level)
		return;
	o->crash_bucket_share = o->profile[REC_PROFILE_BEFORE] / o->profile_level;
	for (unsigned i = REC_PROFILE_BEFORE; i < REC_PROFILE_LEN; i++)
		o->loss_ms += (o->profile_level - o->profile[i]) / o->profile_level * bucket_ms;
}

void rec_summarise(const struct rec_config *c, struct rec_run *runs, unsigned rounds,
		   struct rec_system_summary out[REC_MAX_SYSTEMS])
{
	(void)c;
	size_t cap = (size_t)rounds * REC_MAX_RECOVERIES + 1;
	double *v = calloc(cap, sizeof(double));
	double *w = calloc(rounds + 1, sizeof(double));
	double *x = calloc(rounds + 1, sizeof(double));
	double *y = calloc(rounds + 1, sizeof(double));

	memset(out, 0, sizeof(*out) * REC_MAX_SYSTEMS);
	if (!v || !w || !x || !y)
		goto out;
	for (unsigned s = 0; s < c->nsystems; s++) {
		struct rec_system_summary *o = &out[s];
		o->mode = runs[s].mode;
		o->crash = runs[s].crash;
		o->batch = runs[s].batch;
		size_t n = 0;
		for (unsigned k = 0; k < rounds; k++) {
			const struct rec_run *r = &runs[k * c->nsystems + s];
			if (r->failure[0])
				continue;
			w[n] = r->mean_mbps;
			x[n] = r->mbps.median;
			n++;
			o->crashes_in_window += r->crashes_in_window;
			if (r->foreign_share > o->others_share_max)
				o->others_share_max = r->foreign_share;
			o->crashes_total += r->ncrashes;
		}
		o->runs = (unsigned)n;
		median_min_max(w, n, &o->mean_mbps_median, &o->mean_mbps_min, &o->mean_mbps_max);
		n = 0;
		for (unsigned k = 0; k < rounds; k++) {
			const struct rec_run *r = &runs[k * c->nsystems + s];
			if (!r->failure[0])
				x[n++] = r->mbps.median;
		}
		double lo, hi;
		median_min_max(x, n, &o->bucket_median_median, &lo, &hi);
		n = 0;
		for (unsigned k = 0; k < rounds; k++) {
			const struct rec_run *r = &runs[k * c->nsystems + s];
			if (!r->failure[0])
				x[n++] = r->mbps.p5;
		}
		median_min_max(x, n, &o->bucket_p5_median, &lo, &hi);
		n = 0;
		for (unsigned k = 0; k < rounds; k++) {
			const struct rec_run *r = &runs[k * c->nsystems + s];
			if (!r->failure[0])
				x[n++] = r->mbps.p95;
		}
		median_min_max(x, n, &o->bucket_p95_median, &lo, &hi);

		/* Ratios pair each crash run with the run without crashes of its own round. */
		if (o->crash) {
			n = 0;
			size_t m = 0;
			for (unsigned k = 0; k < rounds; k++) {
				const struct rec_run *r = &runs[k * c->nsystems + s], *b = &runs[k * c->nsystems + s - 1];
				if (r->failure[0] || b->failure[0] || !b->mean_mbps || !b->mbps.median)
					continue;
				x[n++] = r->mean_mbps / b->mean_mbps;
				y[m++] = r->mbps.median / b->mbps.median;
			}
			median_min_max(x, n, &o->ratio_mean_median, &o->ratio_mean_min, &o->ratio_mean_max);
			median_min_max(y, m, &o->ratio_median_median, &lo, &hi);
		}

		if (o->crash)
			crash_profile(runs, rounds, c->nsystems, s, o);

		/* Recovery times and stalls: every one of every round, pooled. */
		n = 0;
		for (unsigned k = 0; k < rounds; k++) {
			const struct rec_run *r = &runs[k * c->nsystems + s];
			for (unsigned i = 0; i < r->nrecoveries && n < cap; i++)
				v[n++] = (double)r->recoveries_ns[i] / 1e6;
		}
		rec_stats(v, n, &o->recovery_ms);
		n = 0;
		for (unsigned k = 0; k < rounds; k++) {
			const struct rec_run *r = &runs[k * c->nsystems + s];
			for (unsigned i = 0; i < r->ncrashes && n < cap; i++)
				if (r->crashes[i].in_window && r->crashes[i].stall_ns >= 0)
					v[n++] = (double)r->crashes[i].stall_ns / 1e6;
		}
		o->stalls_matched = (unsigned)n;
		rec_stats(v, n, &o->stall_ms);
	}
out:
	free(v);
	free(w);
	free(x);
	free(y);
}

/* A system's name in the table: "read/32" for reads in batches of 32. */
static const char *label(const struct rec_system_summary *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%u", o->mode, o->batch);
	return buf;
}

void rec_print_table(FILE *f, const struct rec_config *c, const struct rec_system_summary s[REC_MAX_SYSTEMS])
{
	fprintf(f, "\nRecovery: sequential %u-byte %s through a shadow of %s, %u s per run, %u ms samples, "
		   "%u round(s)\n", 4096, "reads / writes", c->nvme ? "nvmedrv (NVMe model, RAM)" : "ramblk", c->seconds, c->bucket_ms, c->rounds);
	fprintf(f, "MB/s = 10^6 B/s. 'samples' = per-%u-ms-bucket throughput: median [p5 .. p95] "
		   "(medians over rounds); 'mean' = bytes / window (median over rounds, min..max).\n",
		c->bucket_ms);
	fprintf(f, "Ratios pair each crash run with the run without crashes of the same round "
		   "(median over rounds, min..max).\n\n");
	fprintf(f, "%-9s %-9s %-22s %-20s %-24s %-8s %-7s %-22s %-22s %s\n", "mode/batch", "crashes", "samples MB/s",
		"mean MB/s", "ratio of means", "ratio of", "crashes", "recovery ms (broker)",
		"stall ms (client)", "others");
	fprintf(f, "%-9s %-9s %-22s %-20s %-24s %-8s %-7s %-22s %-22s %s\n", "", "", "median [p5 .. p95]", "(min..max)",
		"(min..max)", "medians", "in win.", "median / p99 (n)", "median / p99 (n)", "CPU max");
	for (unsigned i = 0; i < c->nsystems; i++) {
		const struct rec_system_summary *o = &s[i];
		char samples[64], mean[64], ratio[64], ratio_med[32], crashes[32], recov[48], stall[48];
		char every[24], name[24];
		snprintf(every, sizeof(every), "every %s", c->every);
		label(o, name, sizeof(name));
		if (!o->runs) {
			fprintf(f, "%-9s %-9s (no run succeeded)\n", name, o->crash ? every : "none");
			continue;
		}
		snprintf(samples, sizeof(samples), "%.0f [%.0f .. %.0f]", o->bucket_median_median, o->bucket_p5_median,
			 o->bucket_p95_median);
		snprintf(mean, sizeof(mean), "%.0f (%.0f..%.0f)", o->mean_mbps_median, o->mean_mbps_min,
			 o->mean_mbps_max);
		if (o->crash) {
			snprintf(ratio, sizeof(ratio), "%.1f%% (%.1f..%.1f%%)", 100 * o->ratio_mean_median,
				 100 * o->ratio_mean_min, 100 * o->ratio_mean_max);
			snprintf(ratio_med, sizeof(ratio_med), "%.1f%%", 100 * o->ratio_median_median);
			snprintf(crashes, sizeof(crashes), "%u", o->crashes_in_window);
			snprintf(recov, sizeof(recov), "%.2f / %.2f (%zu)", o->recovery_ms.median, o->recovery_ms.p99,
				 o->recovery_ms.n);
			snprintf(stall, sizeof(stall), "%.2f / %.2f (%zu)", o->stall_ms.median, o->stall_ms.p99,
				 o->stall_ms.n);
		} else {
			snprintf(ratio, sizeof(ratio), "(baseline)");
			snprintf(ratio_med, sizeof(ratio_med), "-");
			snprintf(crashes, sizeof(crashes), "0");
			snprintf(recov, sizeof(recov), "-");
			snprintf(stall, sizeof(stall), "-");
		}
		fprintf(f, "%-9s %-9s %-22s %-20s %-24s %-8s %-7s %-22s %-22s %.0f%%\n", name,
			o->crash ? every : "none", samples, mean, ratio, ratio_med, crashes, recov, stall,
			100 * o->others_share_max);
	}
	for (unsigned i = 0; i < c->nsystems; i++) {
		const struct rec_system_summary *o = &s[i];
		if (!o->crash || !o->profile_level)
			continue;
		double next = 0, later = 0;
		char name[24];
		for (unsigned b = REC_PROFILE_BEFORE + 1; b <= REC_PROFILE_BEFORE + 10; b++)
			next += o->profile[b] / 10;
		for (unsigned b = REC_PROFILE_BEFORE + 11; b < REC_PROFILE_LEN; b++)
			later += o->profile[b] / (REC_PROFILE_AFTER - 11);
		fprintf(f, "%s%-9s around a crash (mean of %u): %.0f MB/s in the %u ms before; the crash's bucket at "
			   "%.0f%% of that, the next %u ms at %.0f%%, the %u ms after at %.0f%%; lost per crash: %.1f ms\n",
			i == 1 ? "\n" : "", label(o, name, sizeof(name)), o->profile_n[REC_PROFILE_BEFORE], o->profile_level,
			REC_PROFILE_BEFORE * c->bucket_ms, 100 * o->crash_bucket_share, 10 * c->bucket_ms,
			100 * next / o->profile_level, (REC_PROFILE_AFTER - 11) * c->bucket_ms,
			100 * later / o->profile_level, o->loss_ms);
	}
	fprintf(f, "\nrecovery (broker): the driver's death seen -> first reply served by the new incarnation "
		   "('redleaf ps --json' recoveries_ns).\n"
		   "stall (client): the recbench call in flight at the crash, start to completion "
		   "(calls of at least 1 ms are recorded).\n"
		   "lost per crash: the crash's bucket and the %u ms after it against the level before, in ms of\n"
		   "throughput (a 4 ms outage alone would lose 4 ms; expect noise of a few ms either way).\n"
		   "others: the largest share of the machine's CPU time that processes other than this\n"
		   "harness and its children used during one run of the row (/proc/stat minus our rusage).\n",
		(REC_PROFILE_AFTER - 1) * c->bucket_ms);
}

/* ---- JSON ---- */

static void json_stats(FILE *f, const char *name, const struct rec_stats *s)
{
	fprintf(f, "\"%s\":{\"n\":%zu,\"min\":%.4f,\"p5\":%.4f,\"median\":%.4f,\"p95\":%.4f,\"p99\":%.4f,"
		   "\"max\":%.4f,\"mean\":%.4f}", name, s->n, s->min, s->p5, s->median, s->p95, s->p99, s->max, s->mean);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_run(FILE *f, const struct rec_run *r)
{
	fprintf(f, "{\"mode\":\"%s\",\"batch\":%u,\"crash\":%s,\"round\":%u,\"attempts\":%u,\"ok\":%s,\"failure\":",
		r->mode, r->batch, r->crash ? "true" : "false", r->round, r->attempts, r->failure[0] ? "false" : "true");
	json_string(f, r->failure);
	fprintf(f, ",\"exit_status\":%d,\"log\":", r->exit_status);
	json_string(f, r->log_path);
	fprintf(f, ",\"t0_ns\":%llu,\"broker_launch_ns\":%llu,\"broker_start_upper_ns\":%llu,"
		   "\"alignment_slack_ms\":%.3f,\"bucket_ns\":%llu,\"bsize\":%llu,\"device_blocks\":%llu,"
		   "\"ops\":%llu,\"errors\":%ld,\"verified_blocks\":%llu,\"restarts\":%u,",
		r->t0_ns, r->launch_ns, r->start_upper_ns == ~0ull ? 0 : r->start_upper_ns, r->align_slack_ms,
		r->bucket_ns, r->bsize, r->dev_blocks, r->ops, r->errors, r->verified, r->restarts);
	json_stats(f, "mbps", &r->mbps);
	fprintf(f, ",\"mean_mbps\":%.3f,\"crashes_in_window\":%u,", r->mean_mbps, r->crashes_in_window);
	fprintf(f, "\"cpu\":{\"wall_s\":%.3f,\"machine_busy_s\":%.2f,\"ours_s\":%.2f,\"others_s\":%.2f,"
		   "\"others_share\":%.4f,\"steal_s\":%.2f,\"busy_share_before\":%.4f},", r->wall_s, r->busy_s,
		r->ours_s, r->foreign_s, r->foreign_share, r->steal_s, r->settle_busy);
	json_stats(f, "recovery_ms", &r->recovery_ms);
	fputc(',', f);
	json_stats(f, "client_stall_ms", &r->stall_ms);
	fprintf(f, ",\n   \"crashes\":[");
	for (unsigned i = 0; i < r->ncrashes; i++) {
		const struct rec_crash *c = &r->crashes[i];
		fprintf(f, "%s{\"n\":%u,\"t_ns\":%lld,\"log_ms\":%llu,\"arrival_t_ns\":%lld,\"in_window\":%s,"
			   "\"recovery_ns\":%lld,\"client_stall_ns\":%lld}", i ? "," : "", c->number,
			(long long)c->t_ns, (unsigned long long)c->log_ms, (long long)(c->arrival_ns - r->t0_ns),
			c->in_window ? "true" : "false", (long long)c->recovery_ns, (long long)c->stall_ns);
	}
	fprintf(f, "],\n   \"recoveries_ns\":[");
	for (unsigned i = 0; i < r->nrecoveries; i++)
		fprintf(f, "%s%lld", i ? "," : "", (long long)r->recoveries_ns[i]);
	fprintf(f, "],\n   \"stalls\":[");
	for (unsigned i = 0; i < r->nstalls; i++)
		fprintf(f, "%s[%llu,%llu]", i ? "," : "", (unsigned long long)r->stalls[i].start_ns,
			(unsigned long long)r->stalls[i].latency_ns);
	fprintf(f, "],\n   \"samples\":[");
	for (unsigned i = 0; i < r->nbuckets; i++)
		fprintf(f, "%s[%llu,%llu]", i ? (i % 8 ? "," : ",\n    ") : "", (unsigned long long)i * r->bucket_ns,
			(unsigned long long)r->buckets[i] * r->bsize);
	fprintf(f, "]}");
}

int rec_write_json(const struct rec_config *c, const struct rec_run *runs, unsigned rounds,
		   const struct rec_system_summary s[REC_MAX_SYSTEMS], const char *uname_text)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->json_path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		int err = errno;
		fprintf(stderr, "recovery: cannot write %s: %s\n", tmp, strerror(err));
		return -err;
	}
	time_t now = time(NULL);
	char when[64];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(f, "{\"benchmark\":\"recovery\",\"date\":\"%s\",\"machine\":", when);
	json_string(f, uname_text);
	fprintf(f, ",\n \"config\":{\"seconds\":%u,\"rounds\":%u,\"bucket_ms\":%u,\"tail_ms\":%u,\"settle_s\":%u,\"max_others_pct\":%u,\"every\":",
		c->seconds, c->rounds, c->bucket_ms, c->tail_ms, c->settle_s, c->max_others_pct);
	json_string(f, c->every);
	fprintf(f, ",\"device_blocks\":%u,\"block_bytes\":4096,\"standby\":%s,\"redleaf\":", c->blocks,
		c->standby ? "true" : "false");
	json_string(f, c->redleaf);
	fprintf(f, "},\n \"units\":{\"samples\":\"[t_ns, bytes]: bytes completed in [t0 + t_ns, t0 + t_ns + "
		   "bucket_ns) of recbench's CLOCK_MONOTONIC\",\"mbps\":\"10^6 bytes per second\","
		   "\"crashes.t_ns\":\"crash time on the samples' time base (ns after t0), an upper bound: the smaller "
		   "of the arrival of its log line and broker start + T + 1 ms, where broker start = min over the "
		   "run's broker log lines of (arrival - T) and T is the line's ms since broker start\","
		   "\"crashes.arrival_t_ns\":\"when the injection's log line reached the harness, same base (a check)\","
		   "\"recovery_ns\":\"the broker's: death seen -> first reply of the new incarnation\","
		   "\"client_stall_ns\":\"recbench's call in flight at the crash, start to completion\"},\n");
	fprintf(f, " \"summary\":[");
	for (unsigned i = 0; i < c->nsystems; i++) {
		const struct rec_system_summary *o = &s[i];
		fprintf(f, "%s\n  {\"mode\":\"%s\",\"batch\":%u,\"crash\":%s,\"runs_ok\":%u,\"mean_mbps\":{\"median\":%.3f,\"min\":%.3f,"
			   "\"max\":%.3f},\"others_cpu_share_max\":%.4f,\"sample_mbps_median\":%.3f,\"sample_mbps_p5\":%.3f,\"sample_mbps_p95\":%.3f,",
			i ? "," : "", o->mode, o->batch, o->crash ? "true" : "false", o->runs, o->mean_mbps_median,
			o->mean_mbps_min, o->mean_mbps_max, o->others_share_max, o->bucket_median_median, o->bucket_p5_median,
			o->bucket_p95_median);
		if (o->crash)
			fprintf(f, "\"ratio_of_means\":{\"median\":%.4f,\"min\":%.4f,\"max\":%.4f},"
				   "\"ratio_of_sample_medians\":%.4f,",
				o->ratio_mean_median, o->ratio_mean_min, o->ratio_mean_max, o->ratio_median_median);
		fprintf(f, "\"crashes_in_window\":%u,\"crashes_total\":%u,", o->crashes_in_window, o->crashes_total);
		if (o->crash) {
			fprintf(f, "\"crash_profile\":{\"bucket_offsets\":[%d,%d],\"level_mbps\":%.3f,"
				   "\"crash_bucket_share\":%.4f,\"loss_ms\":%.3f,\"mbps\":[",
				-REC_PROFILE_BEFORE, REC_PROFILE_AFTER - 1, o->profile_level, o->crash_bucket_share,
				o->loss_ms);
			for (unsigned b = 0; b < REC_PROFILE_LEN; b++)
				fprintf(f, "%s%.2f", b ? "," : "", o->profile[b]);
			fprintf(f, "]},");
		}
		json_stats(f, "recovery_ms", &o->recovery_ms);
		fputc(',', f);
		json_stats(f, "client_stall_ms", &o->stall_ms);
		fputc('}', f);
	}
	fprintf(f, "],\n \"runs\":[");
	for (unsigned i = 0; i < rounds * c->nsystems; i++) {
		fprintf(f, "%s\n  ", i ? "," : "");
		json_run(f, &runs[i]);
	}
	fprintf(f, "\n]}\n");
	if (ferror(f) | fclose(f)) {
		fprintf(stderr, "recovery: cannot write %s\n", tmp);
		unlink(tmp);
		return -EIO;
	}
	if (rename(tmp, c->json_path) < 0) {
		int err = errno;
		fprintf(stderr, "recovery: cannot rename %s: %s\n", tmp, strerror(err));
		unlink(tmp);
		return -err;
	}
	return 0;
}

/* ---- plot ---- */

static int write_series(const char *dir, const char *name, const struct rec_run *r, double *ymax)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s.dat", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "# %s %s: t (s, bucket start after t0), MB/s in the %llu ms bucket\n", r->mode,
		r->crash ? "crash" : "no crash", r->bucket_ns / 1000000ull);
	double bucket_s = (double)r->bucket_ns / 1e9;
	for (unsigned i = 0; i < r->nbuckets; i++) {
		double mbps = (double)r->buckets[i] * (double)r->bsize / 1e6 / bucket_s;
		if (mbps > *ymax)
			*ymax = mbps;
		fprintf(f, "%.3f %.3f\n", i * bucket_s, mbps);
	}
	return fclose(f) ? -errno : 0;
}

static int write_crashes(const char *dir, const char *name, const struct rec_run *r)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s.dat", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "# crash times in the window (s after t0), crash number, broker recovery (ms)\n");
	unsigned n = 0;
	for (unsigned i = 0; i < r->ncrashes; i++)
		if (r->crashes[i].in_window) {
			fprintf(f, "%.4f %u %.3f\n", (double)r->crashes[i].t_ns / 1e9, r->crashes[i].number,
				r->crashes[i].recovery_ns >= 0 ? r->crashes[i].recovery_ns / 1e6 : -1.0);
			n++;
		}
	if (!n) /* gnuplot refuses an empty file: a point far outside the x range */
		fprintf(f, "-1000 0 -1\n");
	return fclose(f) ? -errno : 0;
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	if (!path)
		path = "/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, prog);
		if (len && !access(buf, X_OK))
			return true;
		p += len + (colon ? 1 : 0);
	}
	return false;
}

int rec_plot(const struct rec_config *c, const struct rec_run *runs)
{
	/* Round 0: one run per system. */
	static const char *const names[4] = { "read-nocrash", "read-crash", "write-nocrash",
							"write-crash" };
	double ymax[2] = { 0, 0 };
	int ret;

	for (unsigned s = 0; s < 4; s++)
		if (!runs[s].buckets) {
			fprintf(stderr, "recovery: no plot: the %s run has no samples\n", names[s]);
			return -ENODATA;
		}
	for (unsigned s = 0; s < 4; s++)
		if ((ret = write_series(c->data_dir, names[s], &runs[s], &ymax[s / 2])))
			goto fail;
	if ((ret = write_crashes(c->data_dir, "read-crashes", &runs[1])) ||
	    (ret = write_crashes(c->data_dir, "write-crashes", &runs[3])))
		goto fail;

	char gnuplot[PATH_MAX] = "/usr/bin/gnuplot";
	if (access(gnuplot, X_OK)) {
		if (!in_path("gnuplot")) {
			fprintf(stderr, "recovery: no plot: gnuplot is not installed (apt-get install gnuplot-nox); "
					"data files are in %s\n", c->data_dir);
			return -ENOENT;
		}
		snprintf(gnuplot, sizeof(gnuplot), "/usr/bin/env");
	}
	char vars[3 * PATH_MAX];
	snprintf(vars, sizeof(vars),
		 "datadir='%s'; out='%s'; ymax_read=%.1f; ymax_write=%.1f; every='%s'; seconds=%u; bucket_ms=%u; "
		 "batch=%u", c->data_dir, c->plot_path, ymax[0] * 1.12, ymax[1] * 1.12, c->every, c->seconds,
		 c->bucket_ms, c->batch);
	if (strchr(c->data_dir, '\'') || strchr(c->plot_path, '\'')) {
		fprintf(stderr, "recovery: no plot: paths with quotes are not passed to gnuplot\n");
		return -EINVAL;
	}
	char *argv_direct[] = { gnuplot, "-e", vars, (char *)c->plot_script, NULL };
	char *argv_env[] = { gnuplot, "gnuplot", "-e", vars, (char *)c->plot_script, NULL };
	char *out = NULL;
	ret = rl_procs_run(strcmp(gnuplot, "/usr/bin/env") ? argv_direct : argv_env, 60000, &out);
	if (ret) {
		fprintf(stderr, "recovery: gnuplot failed (%d): %s\n", ret, out ? out : "");
		free(out);
		return -EIO;
	}
	free(out);
	return 0;
fail:
	fprintf(stderr, "recovery: no plot: cannot write data files in %s: %s\n", c->data_dir, strerror(-ret));
	return ret;
}
