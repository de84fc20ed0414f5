// SPDX-License-Identifier: MIT
/*
 * bench/ipc's JSON: every number of a run, the machine and configuration
 * it ran on, the checks, and the systems it ran (command and manifest).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#include "ipc.h"
#include "rl_config.h"

/* ---- JSON ---- */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.3f", v);
	else
		fputs("null", f);
}

static void json_row(FILE *f, const struct row *r, const char *extra_floor, int paper)
{
	static const char *const state[] = { "pending", "measured", "skipped", "failed", "starved" };

	fprintf(f, "{\"id\":");
	json_string(f, r->id);
	fprintf(f, ",\"label\":");
	json_string(f, r->label);
	fprintf(f, ",\"state\":\"%s\"", state[r->state]);
	if (r->state == ROW_MEASURED) {
		fprintf(f, ",\"n\":%zu,\"cycles\":{\"min\":", r->s.n);
		json_num(f, r->s.min);
		fprintf(f, ",\"median\":");
		json_num(f, r->s.median);
		fprintf(f, ",\"p99\":");
		json_num(f, r->s.p99);
		fprintf(f, ",\"mean\":");
		json_num(f, r->s.mean);
		fprintf(f, ",\"max\":");
		json_num(f, r->s.max);
		fprintf(f, "},\"ns\":{\"min\":");
		json_num(f, ipc_ticks_ns(r->s.min));
		fprintf(f, ",\"median\":");
		json_num(f, ipc_ticks_ns(r->s.median));
		fprintf(f, ",\"p99\":");
		json_num(f, ipc_ticks_ns(r->s.p99));
		fprintf(f, ",\"mean\":");
		json_num(f, ipc_ticks_ns(r->s.mean));
		fprintf(f, ",\"max\":");
		json_num(f, ipc_ticks_ns(r->s.max));
		fprintf(f, "}");
	} else {
		fprintf(f, ",\"note\":");
		json_string(f, r->note);
	}
	if (r->state == ROW_MEASURED && g.repeat > 1) {
		fprintf(f, ",\"round_medians\":[");
		for (unsigned k = 0; k < r->nrounds; k++) {
			fprintf(f, "%s", k ? "," : "");
			json_num(f, r->round_median[k]);
		}
		fprintf(f, "]");
	}
	const struct shared_pair *sp = ipc_pair_of_floor(r->id);
	if (sp && r->state == ROW_MEASURED)
		fprintf(f, ",\"time_shared_with\":\"ours.%s\"", sp->ours);
	if (paper)
		fprintf(f, ",\"paper_cycles\":%d", paper);
	if (extra_floor) {
		const struct row *fl = ipc_ours_compared_row(extra_floor);
		fprintf(f, ",\"floor\":");
		json_string(f, extra_floor);
		if (ipc_row_measured(r) && ipc_row_measured(fl) && fl->s.median > 0) {
			fprintf(f, ",\"ratio_to_floor\":");
			json_num(f, r->s.median / fl->s.median);
		}
		if (ipc_row_measured(r) && r->pairs && ipc_pair_of_floor(extra_floor)) {
			fprintf(f, ",\"paired_ratio\":");
			json_num(f, r->paired);
			fprintf(f, ",\"pairs\":%u,\"round_paired\":[", r->pairs);
			for (unsigned k = 0; k < r->npaired; k++) {
				fprintf(f, "%s", k ? "," : "");
				json_num(f, r->round_paired[k]);
			}
			fprintf(f, "]");
		}
	}
	fprintf(f, "}");
}

static int mkdir_parents(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* The tool, the command and the machine, with the line probes of every round. */
static void json_machine(FILE *f)
{
	fprintf(f, "{\"tool\":\"bench/ipc\",\"version\":\"%s\",\"date\":\"%s\",\"command\":", RL_VERSION,
		g.date);
	json_string(f, g.command);
	fprintf(f, ",\n\"machine\":{\"nproc\":%ld,\"cpu_model\":", g.nproc);
	json_string(f, g.cpu_model);
	fprintf(f, ",\"kernel\":");
	json_string(f, g.kernel);
	fprintf(f, ",\"tsc_hz\":%.0f,\"others_busy_before\":", g.tsc_hz);
	json_num(f, g.busy_before);
	fprintf(f, ",\"others_busy_after\":");
	json_num(f, g.busy_after);
	fprintf(f, ",\"others_busy_floors\":");
	json_num(f, g.others_floors);
	fprintf(f, ",\"others_busy_ours\":");
	json_num(f, g.others_ours);
	fprintf(f, ",\"others_busy_scaling\":");
	json_num(f, g.others_scaling);
	fprintf(f, ",\"line_round_trip\":{\"cpus\":[%d,%d],\"per_round\":[", g.cpu_first, g.cpu_last);
	static const char *const when[3] = { "before_floors", "before_ours", "after_ours" };
	for (unsigned k = 0; k < g.repeat; k++) {
		for (unsigned i = 0; i < 3; i++) {
			fprintf(f, "%s\"%s\":", i ? "," : k ? ",{" : "{", when[i]);
			json_num(f, g.line_rt[k][i] < 0 ? NAN : g.line_rt[k][i]); /* not measured: null */
		}
		fprintf(f, "}");
	}
	fprintf(f, "]}},\n");
}

static void json_config(FILE *f)
{
	fprintf(f, "\"config\":{\"iterations\":%u,\"warmup\":%u,\"repeat\":%u,\"spin_us\":%u,\"slot_ms\":%u,\"quick\":%s,"
		   "\"waiting\":\"spin %u us, then futex; floors spin by %s (2 processes) and %s (3 processes)\","
		   "\"usable_cpus\":%ld,\"pinning\":\"%s\",\"weights\":\"%s\",\"cycles\":\"TSC ticks\"},\n",
		g.iterations, g.warmup, g.repeat, g.spin_us, g.slot_ms, g.quick ? "true" : "false", g.spin_us,
		2 > g.usable_cpus ? "yielding" : "pausing", 3 > g.usable_cpus ? "yielding" : "pausing",
		g.usable_cpus, g.placed ? "placed: broker/relay on the last CPU, domains on the first" : "none",
		ipc_system_weights().text);
	fprintf(f, "\"paper\":{\"clock_ghz\":2.6,\"cross_domain_call\":124,\"rref\":141,\"shadow\":279,"
		   "\"shadow_rref\":297,\"sel4_call_reply\":834,\"vmfunc_call_reply\":396},\n");
}

/* The floors, our rows and our rows under pinned polling. */
static void json_rows(FILE *f)
{
	fprintf(f, "\"floors\":[");
	for (unsigned i = 0; i < g.floors.n; i++) {
		fprintf(f, "%s\n ", i ? "," : "");
		json_row(f, &g.floors.rows[i], NULL, 0);
	}
	fprintf(f, "],\n\"ours\":[");
	for (unsigned i = 0; i < ipc_ntable_lines; i++) {
		const struct our_line *l = &ipc_table_lines[i];
		fprintf(f, "%s\n ", i ? "," : "");
		json_row(f, ipc_row_find(&g.ours, l->id), l->floor, l->paper);
	}
	fprintf(f, "],\n\"ours_pinned\":");
	if (g.usable_cpus < 3) {
		fprintf(f, "{\"state\":\"skipped\",\"note\":\"3 spinning processes need 3 cores; we may use %ld\"},\n",
			g.usable_cpus);
	} else {
		fprintf(f, "{\"state\":\"run\",\"cpus\":{\"ipcbench\":%d,\"callee\":%d,\"broker\":%d,\"shadow\":%d},"
			   "\"rows\":[", g.cpu_list[0], g.cpu_list[1], g.cpu_list[2], g.cpu_list[3]);
		for (unsigned i = 0; i < ipc_npinned_lines; i++) {
			fprintf(f, "%s\n ", i ? "," : "");
			json_row(f, ipc_row_find(&g.pinned, ipc_pinned_lines[i].id), ipc_pinned_lines[i].floor,
				 ipc_pinned_lines[i].paper);
		}
		fprintf(f, "]},\n");
	}
}

static void json_scaling(FILE *f, const struct scaling *sc, unsigned i)
{
	fprintf(f, "%s\n {\"clients\":%u,\"broker_threads\":%u,\"ok\":%s,\"skipped\":%s,\"window_s\":",
		i ? "," : "", sc->clients, sc->threads, sc->ok ? "true" : "false",
		sc->skipped ? "true" : "false");
	json_num(f, sc->window_s);
	fprintf(f, ",\"calls_per_s\":");
	json_num(f, sc->calls_per_s);
	fprintf(f, ",\"per_client\":[");
	for (unsigned c = 0; c < sc->clients; c++) {
		fprintf(f, "%s", c ? "," : "");
		json_num(f, sc->per_client[c]);
	}
	fprintf(f, "],\"late\":%s,\"note\":", sc->late ? "true" : "false");
	json_string(f, sc->note);
	fprintf(f, "}");
}

static void json_check(FILE *f, const struct check *c, unsigned i)
{
	fprintf(f, "%s\n {\"name\":", i ? "," : "");
	json_string(f, c->name);
	fprintf(f, ",\"rule\":");
	json_string(f, c->rule);
	fprintf(f, ",\"evaluated\":%s,\"met\":%s,\"value\":", c->evaluated ? "true" : "false",
		c->met ? "true" : "false");
	json_num(f, c->evaluated ? c->value : NAN);
	fprintf(f, ",\"limit\":");
	json_num(f, c->evaluated ? c->limit : NAN);
	fprintf(f, ",\"rounds\":\"%s\"}", c->interleaved ? "all (interleaved)" : "judged");
}

static void json_load(FILE *f, const struct load *l, bool first)
{
	fprintf(f, "%s\n {\"row\":", first ? "" : ",");
	json_string(f, l->id);
	fprintf(f, ",\"measured\":%s", l->state == ROW_MEASURED ? "true" : "false");
	if (l->state == ROW_MEASURED)
		fprintf(f, ",\"ticks_per_call\":%.1f,\"broker_ticks_per_message\":%.1f,"
			   "\"broker_ticks_per_call\":%.1f",
			   l->row_ticks, l->msg_ticks, 2 * l->msg_ticks);
	else {
		fprintf(f, ",\"note\":");
		json_string(f, l->note);
	}
	fprintf(f, "}");
}

static void json_system(FILE *f, const struct system_record *s, unsigned i)
{
	fprintf(f, "%s\n {\"what\":", i ? "," : "");
	json_string(f, s->what);
	fprintf(f, ",\"status\":%d,\"waiting\":", s->status);
	json_string(f, s->waiting);
	fprintf(f, ",\"command\":");
	json_string(f, s->command);
	fprintf(f, ",\"manifest\":");
	json_string(f, s->manifest);
	fprintf(f, "}");
}

int ipc_json_write(void)
{
	if (mkdir_parents(g.json_path))
		return -errno;
	FILE *f = fopen(g.json_path, "w");
	if (!f)
		return -errno;
	json_machine(f);
	json_config(f);
	json_rows(f);
	fprintf(f, "\"scaling\":[");
	for (unsigned i = 0; i < g.nscale; i++)
		json_scaling(f, &g.scale[i], i);
	fprintf(f, "],\n\"checks\":[");
	for (unsigned i = 0; i < ipc_nchecks; i++)
		json_check(f, &ipc_checks[i], i);
	fprintf(f, "],\n\"checks_rounds\":{\"steady\":%s,\"judged\":[", ipc_judged_steady ? "true" : "false");
	for (unsigned k = 0, n = 0; k < g.repeat; k++)
		if (ipc_judged_mask & (1u << k))
			fprintf(f, "%s%u", n++ ? "," : "", k + 1);
	fprintf(f, "]},\n\"broker_load\":[");
	bool first = true;
	for (unsigned i = 0; i < ipc_nloads; i++) {
		const struct load *l = &ipc_loads[i];
		if (l->state == ROW_PENDING)
			continue;
		json_load(f, l, first);
		first = false;
	}
	fprintf(f, "],\n\"systems\":[");
	for (unsigned i = 0; i < g.nsystems; i++)
		json_system(f, &g.systems[i], i);
	fprintf(f, "]}\n");
	return fclose(f) ? -errno : 0;
}
