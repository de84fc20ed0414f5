// SPDX-License-Identifier: MIT
/*
 * The control commands, on the event thread: what `redleaf ps`, `heap`,
 * `crash`, `restart` and `stop` do to a running system, given a request the
 * control protocol already decoded and checked (ctl_proto.h). Crash
 * injection lives here, the one way of ending a domain from the CLI; what
 * needs the proxy threads' state (an audit, a restart) goes through the
 * mailbox.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "commands.h"
#include "proxy.h"
#include "spawn.h"

/* ---- a growable text buffer for answers ---- */


static void out_printf(struct rl_text *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct rl_text *o, const char *fmt, ...)
{
	va_list ap;

	for (;;) {
		size_t room = o->cap - o->len;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf ? o->buf + o->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		size_t ncap = (o->cap + (size_t)n + 1) * 2;
		char *nb = realloc(o->buf, ncap);
		if (!nb)
			return;
		o->buf = nb;
		o->cap = ncap;
	}
}

/* A JSON string; names and causes are broker-made but may quote domain text. */
static void out_json_str(struct rl_text *o, const char *s)
{
	out_printf(o, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			out_printf(o, "\\%c", c);
		else if (c < 0x20)
			out_printf(o, "\\u%04x", c);
		else
			out_printf(o, "%c", c);
	}
	out_printf(o, "\"");
}

/*
 * Whether the domain's process is stopped by a signal (SIGSTOP from the
 * host: its callers wait). With namespaces of its own, pid is its init and
 * the domain is the init's one child.
 */
static bool process_stopped(const struct domain *d)
{
	char path[64], buf[256];
	pid_t pid = d->pid;
	FILE *f;

	if (d->status_fd >= 0) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
		if (!(f = fopen(path, "re")))
			return false;
		int child = 0;
		bool got = fscanf(f, "%d", &child) == 1;
		fclose(f);
		if (!got)
			return false;
		pid = child;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *paren = strrchr(buf, ')'); /* the name may hold anything but ends before the last ')' */
	return paren && paren[1] == ' ' && (paren[2] == 'T' || paren[2] == 't');
}

static const char *state_name(const struct domain *d)
{
	switch (atomic_load(&d->state)) {
	case DOM_RUNNING:
		if (atomic_load(&d->death_pending))
			return "dying";
		return process_stopped(d) ? "stopped (signal)" : "running";
	case DOM_DEAD:
		return d->restart_at_ns ? "restarting" : "dead";
	default:
		return "stopped";
	}
}

/* ---- quotas, as ps and heap show them ---- */

static uint64_t quota_refused(const struct domain *d)
{
	uint64_t n = 0;

	for (unsigned k = 0; k < RL_QUOTA_NKINDS; k++)
		n += atomic_load_explicit(&d->quota_hits[k], memory_order_relaxed);
	return n;
}

/* A limit for JSON: the number, or null for none. */
static void out_json_limit(struct rl_text *o, const char *key, uint64_t v)
{
	if (v == UINT64_MAX || !v)
		out_printf(o, "\"%s\":null", key);
	else
		out_printf(o, "\"%s\":%llu", key, (unsigned long long)v);
}

/*
 * d's quotas as JSON members (the manifest's, defaults filled in), flat:
 * `ps --json` keeps one level per domain, which the tests' patterns rely on.
 */
static void out_json_quota(struct rl_text *o, const struct domain *d)
{
	const struct rl_manifest_quota *q = &d->m->quota;

	out_printf(o, "\"quota_calls\":%u,", d->calls_max);
	out_json_limit(o, "quota_heap_objects", d->heap_objects_max);
	out_printf(o, ",");
	out_json_limit(o, "quota_heap_bytes", d->heap_bytes_max);
	out_printf(o, ",\"quota_heap_share\":%u,\"quota_heap_class_max\":[",
		   q->heap_share ? q->heap_share : RL_MANIFEST_HEAP_SHARE_DEFAULT);
	for (unsigned c = 0; c < RL_NCLASSES; c++)
		out_printf(o, "%s%u", c ? "," : "", d->heap_class_max[c]);
	out_printf(o, "],\"quota_audits_per_s\":%u", d->audits_per_s);
}

/* Requests refused per quota kind: "refused_calls", "refused_busy", "refused_heap", "refused_audits". */
static void out_json_quota_hits(struct rl_text *o, const struct domain *d)
{
	static const char *const key[RL_QUOTA_NKINDS] = {
		[RL_QUOTA_CALLS] = "calls", [RL_QUOTA_BUSY] = "busy",
		[RL_QUOTA_HEAP] = "heap", [RL_QUOTA_AUDITS] = "audits",
	};

	for (unsigned k = 0; k < RL_QUOTA_NKINDS; k++)
		out_printf(o, "%s\"refused_%s\":%llu", k ? "," : "", key[k],
			   (unsigned long long)atomic_load_explicit(&d->quota_hits[k], memory_order_relaxed));
}

/* "1234" or "-" for no limit, for the text tables. */
static const char *limit_text(uint64_t v, char *buf, size_t len)
{
	if (v == UINT64_MAX || !v)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/* ---- crash injection (event thread only) ---- */

static struct {
	int timer_fd;
	int sig;        /* signal to send, or 0 for an injected panic */
	bool random;
	uint16_t targets[RL_MAX_DOMAINS];
	unsigned ntargets, next;
	uint64_t period_ns;
	uint64_t fired;
} injector = { .timer_fd = -1 };

/* The protocol's inject points are the channel's (the domain reads them there). */
static_assert((int)RL_CTL_POINT_DURING == (int)RL_INJECT_DURING &&
		      (int)RL_CTL_POINT_BEFORE == (int)RL_INJECT_BEFORE && (int)RL_CTL_POINT_AFTER == (int)RL_INJECT_AFTER,
	      "enum rl_ctl_point is enum rl_inject_point");

/* "SIGKILL", or "signal 40" for one without a name. */
static const char *signal_text(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

/*
 * Ends domain d: with countdown 0, signal sig through its pidfd now; else at
 * its countdown-th call from now, at point, in its own code path (a panic,
 * or sig raised on itself). 0, -ESRCH when it is not running, or the
 * signal's error.
 */
static int inject(struct broker *b, struct domain *d, int sig, uint32_t countdown, uint32_t point)
{
	if (atomic_load(&d->state) != DOM_RUNNING || d->pidfd < 0)
		return -ESRCH;
	atomic_store(&d->injected, true);
	if (countdown) { /* at a call, in the domain's own code path: a panic or a self-raised signal */
		d->chan->ctl.inject_point = point;
		d->chan->ctl.inject_signal = (uint32_t)sig;
		d->chan->ctl.inject_countdown = countdown;
		return 0;
	}
	if (sig == SIGKILL)
		return rl_spawn_kill(d, d->pidfd);
	return syscall(SYS_pidfd_send_signal, d->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

void rl_commands_injector_tick(struct broker *b)
{
	uint64_t expirations;
	char sig[24];

	if (read(injector.timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	if (!injector.ntargets)
		return;
	unsigned pick = injector.random ? (unsigned)random() % injector.ntargets
					: injector.next++ % injector.ntargets;
	struct domain *d = &b->dom[injector.targets[pick]];
	if (!inject(b, d, injector.sig, injector.sig ? 0 : 1, RL_INJECT_DURING)) {
		injector.fired++;
		rl_broker_log(b, "%s: injected %s (#%llu)", d->name,
			      injector.sig ? signal_text(injector.sig, sig, sizeof(sig)) : "panic",
			      (unsigned long long)injector.fired);
	}
}

int rl_commands_injector_open(void)
{
	injector.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	srandom((unsigned)rl_now_ns());
	return injector.timer_fd;
}

void rl_commands_injector_close(void)
{
	if (injector.timer_fd >= 0)
		close(injector.timer_fd);
	injector.timer_fd = -1;
}

/* ---- commands ---- */

static void cmd_ps(struct broker *b, struct rl_text *o, bool json)
{
	struct rl_heap_usage u;

	rl_registry_usage(&b->heap, &u);
	if (json)
		out_printf(o, "{\"system\":");
	if (json) {
		out_json_str(o, b->m->system);
		out_printf(o, ",\"domains\":[");
	} else {
		out_printf(o, "%-3s %-16s %-8s %-8s %10s %10s %9s %8s %9s %8s %10s %8s %9s  %s\n", "ID", "NAME", "PID",
			   "STATE", "CALLS-OUT", "CALLS-IN", "REJECTED", "INFLIGHT", "REFUSED", "OBJECTS", "BYTES",
			   "RESTARTS", "RECOV-MS", "LAST-CAUSE");
	}
	for (unsigned i = 1; i <= b->ndom; i++) {
		struct domain *d = &b->dom[i];
		bool live = atomic_load(&d->state) == DOM_RUNNING;
		if (json) {
			out_printf(o, "%s{\"id\":%u,\"name\":", i > 1 ? "," : "", d->id);
			out_json_str(o, d->name);
			out_printf(o, ",\"pid\":%d,\"state\":\"%s\",\"calls_out\":%llu,\"calls_in\":%llu,"
				   "\"rejected\":%llu,\"backlogged\":%llu,\"objects\":%llu,\"bytes\":%llu,\"restarts\":%u,"
				   "\"incarnation\":%u,\"last_recovery_ns\":%llu,\"last_cause\":",
				   live ? d->pid : 0, state_name(d),
				   (unsigned long long)atomic_load(&d->calls_out),
				   (unsigned long long)atomic_load(&d->calls_in),
				   (unsigned long long)atomic_load(&d->rejected),
				   (unsigned long long)atomic_load(&d->backlogged),
				   (unsigned long long)u.objects[d->id], (unsigned long long)u.bytes[d->id],
				   atomic_load(&d->restarts), d->incarnation,
				   (unsigned long long)atomic_load(&d->last_recovery_ns));
			out_json_str(o, d->cause);
			/* outstanding is the proxy threads': a racy read, as the statistics. */
			/* standby.pid is proxy thread 0's: a racy read, as the statistics. */
			out_printf(o, ",\"in_flight\":%u,\"timeouts\":%llu,\"standby_pid\":%d,", d->outstanding,
				   (unsigned long long)atomic_load(&d->timeouts), d->standby.pid);
			out_json_quota(o, d);
			out_printf(o, ",");
			out_json_quota_hits(o, d);
			/* Every recovery time still in the log (the newest RL_RECOVERY_LOG), oldest first. */
			uint32_t n = atomic_load(&d->nrecoveries);
			uint32_t first = n > RL_RECOVERY_LOG ? n - RL_RECOVERY_LOG : 0;
			out_printf(o, ",\"recoveries_ns\":[");
			for (uint32_t k = first; k < n; k++)
				out_printf(o, "%s%llu", k > first ? "," : "",
					   (unsigned long long)d->recovery_ns[k % RL_RECOVERY_LOG]);
			/* The process's own nice value, as the scheduler sees it now. */
			errno = 0;
			int nice = live ? getpriority(PRIO_PROCESS, (id_t)d->pid) : 0;
			if (live && errno == 0)
				out_printf(o, "],\"nice\":%d}", nice);
			else
				out_printf(o, "],\"nice\":null}");
		} else {
			char recov[16] = "-";
			uint64_t r = atomic_load(&d->last_recovery_ns);
			if (r)
				snprintf(recov, sizeof(recov), "%.2f", r / 1e6);
			out_printf(o, "%-3u %-16s %-8d %-8s %10llu %10llu %9llu %8u %9llu %8llu %10llu %8u %9s  %s\n", d->id,
				   d->name, live ? d->pid : 0, state_name(d),
				   (unsigned long long)atomic_load(&d->calls_out),
				   (unsigned long long)atomic_load(&d->calls_in),
				   (unsigned long long)atomic_load(&d->rejected), d->outstanding,
				   (unsigned long long)quota_refused(d),
				   (unsigned long long)u.objects[d->id], (unsigned long long)u.bytes[d->id],
				   atomic_load(&d->restarts), recov, d->cause[0] ? d->cause : "-");
		}
	}
	struct rl_proxy_load load;
	rl_proxy_load(b, &load);
	if (json) {
		out_printf(o, "],\"broker\":{\"messages\":%llu,\"busy_ns\":%llu,\"up_ns\":%llu,\"threads\":%u}}\n",
			   (unsigned long long)load.messages, (unsigned long long)load.busy_ns,
			   (unsigned long long)load.up_ns, b->nworkers);
		return;
	}
	out_printf(o, "broker: %llu messages proxied", (unsigned long long)load.messages);
	if (load.messages)
		out_printf(o, ", %.0f ns each", (double)load.busy_ns / (double)load.messages);
	if (load.up_ns && b->nworkers > 1)
		out_printf(o, "; %u proxy threads busy %.1f%% of %.1f s on average", b->nworkers,
			   100.0 * (double)load.busy_ns / (double)load.up_ns / b->nworkers, load.up_ns / 1e9);
	else if (load.up_ns)
		out_printf(o, "; proxy thread busy %.1f%% of %.1f s", 100.0 * (double)load.busy_ns / (double)load.up_ns,
			   load.up_ns / 1e9);
	out_printf(o, "\n");
}

static void cmd_heap(struct broker *b, struct rl_text *o, bool json)
{
	const struct rl_heap *h = &b->heap;
	struct rl_heap_usage u;
	/* objects per (owner, type): owners 0..RL_MAX_DOMAINS, types as the IDL numbers them */
	unsigned ntypes = rl_idl_ntypes;
	uint64_t *count = calloc((size_t)(RL_MAX_DOMAINS + 1) * ntypes, sizeof(uint64_t));
	uint64_t free_per_class[RL_NCLASSES] = { 0 };

	if (!count) {
		out_printf(o, "out of memory\n");
		return;
	}
	rl_registry_usage(h, &u);
	for (uint32_t s = 0; s < h->hdr->nslots; s++) {
		const struct rl_obj *ob = &h->objs[s];
		if (ob->state == RL_OBJ_FREE) {
			free_per_class[ob->cls]++;
			continue;
		}
		unsigned owner = ob->state == RL_OBJ_ORPHAN ? 0 : ob->owner;
		if (owner <= RL_MAX_DOMAINS && ob->type_id < ntypes)
			count[owner * ntypes + ob->type_id]++;
	}
	if (json) {
		out_printf(o, "{\"heap_bytes\":%llu,\"slots\":%u,\"orphans\":%llu,\"classes\":[",
			   (unsigned long long)h->size, h->hdr->nslots, (unsigned long long)u.orphans);
		for (unsigned c = 0; c < RL_NCLASSES; c++)
			out_printf(o, "%s{\"size\":%u,\"slots\":%u,\"free\":%llu}", c ? "," : "",
				   rl_class_size(c), h->hdr->class_count[c],
				   (unsigned long long)free_per_class[c]);
		out_printf(o, "],\"owners\":[");
		bool first = true;
		for (unsigned d = 1; d <= b->ndom; d++) {
			out_printf(o, "%s{\"domain\":", first ? "" : ",");
			first = false;
			out_json_str(o, b->dom[d].name);
			out_printf(o, ",\"objects\":%llu,\"bytes\":%llu,",
				   (unsigned long long)u.objects[d], (unsigned long long)u.bytes[d]);
			out_json_quota(o, &b->dom[d]);
			out_printf(o, ",\"refused\":%llu,\"types\":{",
				   (unsigned long long)atomic_load(&b->dom[d].quota_hits[RL_QUOTA_HEAP]));
			bool tfirst = true;
			for (unsigned t = 0; t < ntypes; t++) {
				if (!count[d * ntypes + t])
					continue;
				out_printf(o, "%s", tfirst ? "" : ",");
				tfirst = false;
				out_json_str(o, t ? rl_idl_types[t].name : "untyped");
				out_printf(o, ":%llu", (unsigned long long)count[d * ntypes + t]);
			}
			out_printf(o, "}}");
		}
		out_printf(o, "]}\n");
	} else {
		out_printf(o, "heap: %llu MiB, %u slots, %llu free, %llu orphaned (owner dead, still lent)\n",
			   (unsigned long long)(h->size >> 20), h->hdr->nslots,
			   (unsigned long long)u.free_slots, (unsigned long long)u.orphans);
		out_printf(o, "%-10s %10s %10s\n", "CLASS", "SLOTS", "FREE");
		for (unsigned c = 0; c < RL_NCLASSES; c++)
			out_printf(o, "%-10u %10u %10llu\n", rl_class_size(c), h->hdr->class_count[c],
				   (unsigned long long)free_per_class[c]);
		out_printf(o, "%-16s %10s %12s %10s %12s %6s %8s\n", "OWNER", "OBJECTS", "MAX-OBJECTS", "BYTES",
			   "MAX-BYTES", "SHARE", "REFUSED");
		for (unsigned d = 1; d <= b->ndom; d++) {
			const struct domain *dom = &b->dom[d];
			char lo[24], lb[24];
			unsigned share = dom->m->quota.heap_share;
			out_printf(o, "%-16s %10llu %12s %10llu %12s %5u%% %8llu\n", dom->name,
				   (unsigned long long)u.objects[d], limit_text(dom->heap_objects_max, lo, sizeof(lo)),
				   (unsigned long long)u.bytes[d], limit_text(dom->heap_bytes_max, lb, sizeof(lb)),
				   share ? share : RL_MANIFEST_HEAP_SHARE_DEFAULT,
				   (unsigned long long)atomic_load(&dom->quota_hits[RL_QUOTA_HEAP]));
		}
		out_printf(o, "%-16s %-20s %10s\n", "OWNER", "TYPE", "OBJECTS");
		for (unsigned d = 1; d <= b->ndom; d++)
			for (unsigned t = 0; t < ntypes; t++)
				if (count[d * ntypes + t])
					out_printf(o, "%-16s %-20s %10llu\n", b->dom[d].name,
						   t ? rl_idl_types[t].name : "untyped",
						   (unsigned long long)count[d * ntypes + t]);
	}
	free(count);
}

static int cmd_audit(struct broker *b, struct rl_text *o)
{
	pthread_mutex_lock(&b->mb_lock);
	atomic_store(&b->mb_op, MB_AUDIT);
	rl_broker_ring_bell(b);
	while (atomic_load(&b->mb_op) != MB_NONE && !atomic_load(&b->stop))
		pthread_cond_wait(&b->mb_cond, &b->mb_lock);
	int ret = atomic_load(&b->mb_op) == MB_NONE ? b->mb_result : -ESHUTDOWN;
	atomic_store(&b->mb_op, MB_NONE);
	if (ret == -ESHUTDOWN)
		out_printf(o, "the broker is stopping\n");
	else if (ret)
		out_printf(o, "%s\n", b->mb_text);
	else
		out_printf(o, "registry consistent: every object has one owner, loans match calls in flight\n");
	pthread_mutex_unlock(&b->mb_lock);
	return ret;
}

/* A crash now (a signal) or at a call (a panic, or a signal the domain raises on itself). */
static int cmd_crash(struct broker *b, struct rl_text *o, const struct rl_ctl_crash *c)
{
	struct domain *d = rl_broker_domain_by_name(b, c->name);
	bool now = c->when == RL_CTL_CRASH_NOW;
	char sig[24];

	if (!d) {
		out_printf(o, "no domain named '%s'", c->name);
		return -ENOENT;
	}
	int ret = inject(b, d, c->signal, now ? 0 : c->at_call, c->point);
	if (ret == -ESRCH) {
		out_printf(o, "domain '%s' is not running", d->name);
		return ret;
	}
	if (ret) {
		out_printf(o, "cannot signal '%s': %s", d->name, strerror(-ret));
		return ret;
	}
	signal_text(c->signal, sig, sizeof(sig));
	if (now) {
		rl_broker_log(b, "%s: crash injected from the CLI (%s)", d->name, sig);
		out_printf(o, "sent %s to %s (pid %d)\n", sig, d->name, d->pid);
	} else {
		rl_broker_log(b, "%s: %s armed for call %u from now", d->name, c->signal ? sig : "panic", c->at_call);
		out_printf(o, "%s will %s at its call %u from now\n", d->name, c->signal ? "raise" : "panic",
			   c->at_call);
	}
	return 0;
}

static int cmd_restart(struct broker *b, struct rl_text *o, const struct rl_ctl_domain *target)
{
	struct domain *d = rl_broker_domain_by_name(b, target->name);
	if (!d) {
		out_printf(o, "no domain named '%s'", target->name);
		return -ENOENT;
	}
	pthread_mutex_lock(&b->mb_lock);
	b->mb_arg = d->id;
	atomic_store(&b->mb_op, MB_RESTART);
	rl_broker_ring_bell(b);
	while (atomic_load(&b->mb_op) != MB_NONE && !atomic_load(&b->stop))
		pthread_cond_wait(&b->mb_cond, &b->mb_lock);
	int ret = atomic_load(&b->mb_op) == MB_NONE ? b->mb_result : -ESHUTDOWN;
	atomic_store(&b->mb_op, MB_NONE);
	pthread_mutex_unlock(&b->mb_lock);
	if (ret == -EBUSY)
		out_printf(o, "domain '%s' is running (crash it first)", d->name);
	else if (ret)
		out_printf(o, "cannot restart '%s': %s", d->name, strerror(-ret));
	else
		out_printf(o, "restarted %s (pid %d)\n", d->name, d->pid);
	return ret;
}

/* Repeated injection: a signal now, or a panic at the next call, every period into the named domains. */
static int cmd_crash_every(struct broker *b, struct rl_text *o, const struct rl_ctl_crash_every *e)
{
	uint16_t targets[RL_CTL_NAMES_MAX];
	char sig[24];

	if (injector.timer_fd < 0) {
		out_printf(o, "repeated injection is unavailable: the broker has no timer");
		return -ENODEV;
	}
	for (unsigned i = 0; i < e->nnames; i++) {
		struct domain *d = rl_broker_domain_by_name(b, e->names[i]);
		if (!d) {
			out_printf(o, "no domain named '%s'", e->names[i]);
			return -ENOENT;
		}
		targets[i] = d->id;
	}
	if (injector.ntargets) { /* a run was going on: say what this one replaces */
		char was[160];
		snprintf(was, sizeof(was), "%s every %.3f s into %u domain(s)%s, after %llu crash(es)",
			 injector.sig ? signal_text(injector.sig, sig, sizeof(sig)) : "panic", injector.period_ns / 1e9,
			 injector.ntargets, injector.random ? " at random" : "", (unsigned long long)injector.fired);
		out_printf(o, "replacing: %s\n", was);
		rl_broker_log(b, "crash injection: a new run replaces %s", was);
	}
	memcpy(injector.targets, targets, e->nnames * sizeof(targets[0]));
	injector.ntargets = e->nnames;
	injector.fired = 0; /* counts are per run */
	injector.sig = e->signal;
	injector.random = e->pick == RL_CTL_PICK_RANDOM;
	injector.period_ns = e->period_ns;
	injector.next = 0;
	struct itimerspec its = {
		.it_interval = { (time_t)(e->period_ns / 1000000000), (long)(e->period_ns % 1000000000) },
		.it_value = { (time_t)(e->period_ns / 1000000000), (long)(e->period_ns % 1000000000) },
	};
	timerfd_settime(injector.timer_fd, 0, &its, NULL);
	out_printf(o, "injecting %s every %.3f s into %u domain(s)%s until 'redleaf crash --stop'\n",
		   e->signal ? signal_text(e->signal, sig, sizeof(sig)) : "panic", e->period_ns / 1e9, e->nnames,
		   injector.random ? " at random" : "");
	return 0;
}

static int cmd_crash_stop(struct broker *b, struct rl_text *o)
{
	struct itimerspec off = { 0 };

	if (injector.timer_fd >= 0)
		timerfd_settime(injector.timer_fd, 0, &off, NULL);
	/* A panic the last tick armed for a domain's next call would still land after the stop: disarm it. */
	for (unsigned i = 0; !injector.sig && i < injector.ntargets; i++)
		b->dom[injector.targets[i]].chan->ctl.inject_countdown = 0;
	out_printf(o, "stopped repeated injection after %llu crash(es)\n", (unsigned long long)injector.fired);
	injector.ntargets = 0;
	return 0;
}

/* Writes all of buf: 0, or a negative errno (-EPIPE when the peer went away; no SIGPIPE). */

int rl_commands_run(struct broker *b, const struct rl_ctl_request *r, struct rl_text *o)
{
	int ret = 0;

	bool json = r->hdr.flags & RL_CTL_F_JSON;
	switch ((enum rl_ctl_op)r->hdr.op) {
	case RL_CTL_OP_PS:
		cmd_ps(b, o, json);
		break;
	case RL_CTL_OP_HEAP:
		cmd_heap(b, o, json);
		break;
	case RL_CTL_OP_AUDIT:
		ret = cmd_audit(b, o);
		break;
	case RL_CTL_OP_CRASH:
		ret = cmd_crash(b, o, &r->body.crash);
		break;
	case RL_CTL_OP_CRASH_EVERY:
		ret = cmd_crash_every(b, o, &r->body.every);
		break;
	case RL_CTL_OP_CRASH_STOP:
		ret = cmd_crash_stop(b, o);
		break;
	case RL_CTL_OP_RESTART:
		ret = cmd_restart(b, o, &r->body.domain);
		break;
	case RL_CTL_OP_STOP:
		out_printf(o, "stopping system '%s'\n", b->m->system);
		rl_broker_request_stop(b);
		break;
	case RL_CTL_OP_END:
		break; /* rl_ctl_decode() let no such op through */
	}
	return ret;
}
