// SPDX-License-Identifier: MIT
/*
 * The event thread and the control socket. Requests are one line of text
 * ("ps json", "crash client SIGKILL", ...); answers start with "ok" or
 * "error: ..." on their first line. Only the broker's own user (or root)
 * may connect: the peer's credentials are checked on every connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "cli.h"

#define REQUEST_MAX 512

/* ---- a growable text buffer for answers ---- */

struct out {
	char *buf;
	size_t len, cap;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
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
static void out_json_str(struct out *o, const char *s)
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

static const char *state_name(const struct domain *d)
{
	switch (atomic_load(&d->state)) {
	case DOM_RUNNING:
		return atomic_load(&d->death_pending) ? "dying" : "running";
	case DOM_DEAD:
		return d->restart_at_ns ? "restarting" : "dead";
	default:
		return "stopped";
	}
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

/* Ends domain d now: a signal through its pidfd, or a panic at its next call. */
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
	return syscall(SYS_pidfd_send_signal, d->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

static void injector_tick(struct broker *b)
{
	uint64_t expirations;

	if (read(injector.timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	if (!injector.ntargets)
		return;
	unsigned pick = injector.random ? (unsigned)random() % injector.ntargets
					: injector.next++ % injector.ntargets;
	struct domain *d = &b->dom[injector.targets[pick]];
	if (!inject(b, d, injector.sig, injector.sig ? 0 : 1, RL_INJECT_DURING)) {
		injector.fired++;
		rl_broker_log(b, "%s: injected %s%s (#%llu)", d->name, injector.sig ? "SIG" : "panic",
			      injector.sig ? sigabbrev_np(injector.sig) : "", (unsigned long long)injector.fired);
	}
}

/* ---- commands ---- */

static void cmd_ps(struct broker *b, struct out *o, bool json)
{
	struct rl_heap_usage u;

	rl_registry_usage(&b->heap, &u);
	if (json)
		out_printf(o, "{\"system\":");
	if (json) {
		out_json_str(o, b->m->system);
		out_printf(o, ",\"domains\":[");
	} else {
		out_printf(o, "%-3s %-16s %-8s %-8s %10s %10s %9s %8s %10s %8s %9s  %s\n", "ID", "NAME", "PID",
			   "STATE", "CALLS-OUT", "CALLS-IN", "REJECTED", "OBJECTS", "BYTES", "RESTARTS",
			   "RECOV-MS", "LAST-CAUSE");
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
			out_printf(o, "%-3u %-16s %-8d %-8s %10llu %10llu %9llu %8llu %10llu %8u %9s  %s\n", d->id,
				   d->name, live ? d->pid : 0, state_name(d),
				   (unsigned long long)atomic_load(&d->calls_out),
				   (unsigned long long)atomic_load(&d->calls_in),
				   (unsigned long long)atomic_load(&d->rejected),
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

static void cmd_heap(struct broker *b, struct out *o, bool json)
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
			out_printf(o, ",\"objects\":%llu,\"bytes\":%llu,\"types\":{",
				   (unsigned long long)u.objects[d], (unsigned long long)u.bytes[d]);
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

static int cmd_audit(struct broker *b, struct out *o)
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

static int signal_by_name(const char *name)
{
	const char *n = !strncmp(name, "SIG", 3) ? name + 3 : name;
	for (int s = 1; s < NSIG; s++) {
		const char *abbrev = sigabbrev_np(s);
		if (abbrev && !strcasecmp(abbrev, n))
			return s;
	}
	char *end;
	long v = strtol(name, &end, 10);
	return *name && !*end && v > 0 && v < NSIG ? (int)v : -1;
}

static int cmd_crash(struct broker *b, struct out *o, char **argv, int argc)
{
	if (argc < 2) {
		out_printf(o, "crash needs a domain name");
		return -EINVAL;
	}
	struct domain *d = rl_broker_domain_by_name(b, argv[1]);
	if (!d) {
		out_printf(o, "no domain named '%s'", argv[1]);
		return -ENOENT;
	}
	int sig = argc > 2 ? signal_by_name(argv[2]) : SIGKILL;
	if (sig < 0) {
		out_printf(o, "unknown signal '%s'", argv[2]);
		return -EINVAL;
	}
	if (atomic_load(&d->state) != DOM_RUNNING || d->pidfd < 0) {
		out_printf(o, "domain '%s' is not running", d->name);
		return -ESRCH;
	}
	atomic_store(&d->injected, true);
	if (syscall(SYS_pidfd_send_signal, d->pidfd, sig, NULL, 0) < 0) {
		out_printf(o, "cannot signal '%s': %s", d->name, strerror(errno));
		return -errno;
	}
	rl_broker_log(b, "%s: crash injected from the CLI (SIG%s)", d->name, sigabbrev_np(sig));
	out_printf(o, "sent SIG%s to %s (pid %d)\n", sigabbrev_np(sig), d->name, d->pid);
	return 0;
}

static int cmd_restart(struct broker *b, struct out *o, char **argv, int argc)
{
	if (argc != 2) {
		out_printf(o, "restart needs one domain name");
		return -EINVAL;
	}
	struct domain *d = rl_broker_domain_by_name(b, argv[1]);
	if (!d) {
		out_printf(o, "no domain named '%s'", argv[1]);
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

/*
 * "panic NAME COUNTDOWN POINT [SIGNAL]": an injected panic (or a signal the
 * domain raises on itself) inside the domain's own call path.
 */
static int cmd_panic(struct broker *b, struct out *o, char **argv, int argc)
{
	char *end;
	int sig = 0;
	if (argc != 4 && argc != 5) {
		out_printf(o, "panic needs NAME COUNTDOWN POINT [SIGNAL]");
		return -EINVAL;
	}
	if (argc == 5 && (sig = signal_by_name(argv[4])) < 0) {
		out_printf(o, "unknown signal '%s'", argv[4]);
		return -EINVAL;
	}
	struct domain *d = rl_broker_domain_by_name(b, argv[1]);
	unsigned long n = strtoul(argv[2], &end, 10);
	unsigned long point = strtoul(argv[3], NULL, 10);
	if (!d) {
		out_printf(o, "no domain named '%s'", argv[1]);
		return -ENOENT;
	}
	if (*end || !n || n > UINT32_MAX || point > RL_INJECT_AFTER) {
		out_printf(o, "bad countdown or point");
		return -EINVAL;
	}
	int ret = inject(b, d, sig, (uint32_t)n, (uint32_t)point);
	if (ret) {
		out_printf(o, "domain '%s' is not running", d->name);
		return ret;
	}
	char what[32] = "panic";
	if (sig)
		snprintf(what, sizeof(what), "SIG%s", sigabbrev_np(sig));
	rl_broker_log(b, "%s: %s armed for call %lu from now", d->name, what, n);
	out_printf(o, "%s will %s at its call %lu from now\n", d->name, sig ? "raise" : "panic", n);
	return 0;
}

/* "inject-every PERIOD_NS RANDOM SIGNAL NAME[,NAME...]" and "inject-stop". */
static int cmd_inject_every(struct broker *b, struct out *o, char **argv, int argc)
{
	if (argc == 1 && !strcmp(argv[0], "inject-stop")) {
		struct itimerspec off = { 0 };
		if (injector.timer_fd >= 0)
			timerfd_settime(injector.timer_fd, 0, &off, NULL);
		out_printf(o, "stopped repeated injection after %llu crash(es)\n",
			   (unsigned long long)injector.fired);
		injector.ntargets = 0;
		return 0;
	}
	if (argc != 5) {
		out_printf(o, "inject-every needs PERIOD_NS RANDOM SIGNAL NAMES");
		return -EINVAL;
	}
	uint64_t period = strtoull(argv[1], NULL, 10);
	int sig = strcmp(argv[3], "panic") ? signal_by_name(argv[3]) : 0;
	if (period < 1000000 || sig < 0) {
		out_printf(o, "period must be at least 1 ms and the signal known");
		return -EINVAL;
	}
	unsigned n = 0;
	char *save = NULL;
	for (char *name = strtok_r(argv[4], ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		struct domain *d = rl_broker_domain_by_name(b, name);
		if (!d) {
			out_printf(o, "no domain named '%s'", name);
			return -ENOENT;
		}
		if (n < RL_MAX_DOMAINS)
			injector.targets[n++] = d->id;
	}
	injector.ntargets = n;
	injector.sig = sig;
	injector.random = !strcmp(argv[2], "1");
	injector.period_ns = period;
	injector.next = 0;
	struct itimerspec its = {
		.it_interval = { (time_t)(period / 1000000000), (long)(period % 1000000000) },
		.it_value = { (time_t)(period / 1000000000), (long)(period % 1000000000) },
	};
	timerfd_settime(injector.timer_fd, 0, &its, NULL);
	out_printf(o, "injecting %s%s every %.3f s into %u domain(s)%s until 'redleaf crash --stop'\n",
		   sig ? "SIG" : "panic", sig ? sigabbrev_np(sig) : "", period / 1e9, n,
		   injector.random ? " at random" : "");
	return 0;
}

static void handle_request(struct broker *b, int fd)
{
	char req[REQUEST_MAX + 1];
	size_t len = 0;
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	struct out body = { 0 };
	int ret = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		static const char denied[] = "error: permission denied (not the broker's user)\n";
		(void)!write(fd, denied, sizeof(denied) - 1);
		return;
	}
	/* A client that connects and says nothing must not hold up death handling for long. */
	struct timeval tv = { 0, 200000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < REQUEST_MAX) {
		ssize_t n = read(fd, req + len, REQUEST_MAX - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(req, '\n', len))
			break;
	}
	req[len] = 0;
	char *nl = strchr(req, '\n');
	if (!nl) {
		static const char bad[] = "error: request not terminated by a newline\n";
		(void)!write(fd, bad, sizeof(bad) - 1);
		return;
	}
	*nl = 0;

	char *argv[8], *save = NULL;
	int argc = 0;
	for (char *t = strtok_r(req, " ", &save); t && argc < 8; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	bool json = argc > 1 && !strcmp(argv[argc - 1], "json");

	if (!argc) {
		out_printf(&body, "empty request");
		ret = -EINVAL;
	} else if (!strcmp(argv[0], "ps")) {
		cmd_ps(b, &body, json);
	} else if (!strcmp(argv[0], "heap")) {
		cmd_heap(b, &body, json);
	} else if (!strcmp(argv[0], "audit")) {
		ret = cmd_audit(b, &body);
	} else if (!strcmp(argv[0], "crash")) {
		ret = cmd_crash(b, &body, argv, argc);
	} else if (!strcmp(argv[0], "restart")) {
		ret = cmd_restart(b, &body, argv, argc);
	} else if (!strcmp(argv[0], "panic")) {
		ret = cmd_panic(b, &body, argv, argc);
	} else if (!strcmp(argv[0], "inject-every") || !strcmp(argv[0], "inject-stop")) {
		ret = cmd_inject_every(b, &body, argv, argc);
	} else if (!strcmp(argv[0], "stop")) {
		out_printf(&body, "stopping system '%s'\n", b->m->system);
		rl_broker_request_stop(b);
	} else {
		out_printf(&body, "unknown request '%s'", argv[0]);
		ret = -EINVAL;
	}
	char head[16];
	int hl = snprintf(head, sizeof(head), ret ? "error: " : "ok\n");
	(void)!write(fd, head, (size_t)hl);
	if (body.len)
		(void)!write(fd, body.buf, body.len);
	if (ret && (!body.len || body.buf[body.len - 1] != '\n'))
		(void)!write(fd, "\n", 1);
	free(body.buf);
}

/* ---- the socket ---- */

const char *rl_default_socket(void)
{
	static char path[108];
	const char *env = getenv("REDLEAF_SOCKET");

	if (env && *env)
		return env;
	if (geteuid() == 0)
		return "/run/redleaf/control.sock";
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/redleaf.sock", xdg);
	else
		snprintf(path, sizeof(path), "/tmp/redleaf-%u/control.sock", (unsigned)geteuid());
	return path;
}

static int socket_address(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int rl_control_open(struct broker *b)
{
	struct sockaddr_un sa;
	int fd = -1;

	if (socket_address(b->socket_path, &sa)) {
		fprintf(stderr, "redleaf: control socket path too long: %s\n", b->socket_path);
		return -ENAMETOOLONG;
	}
	/* Create the parent folder if it is missing (one level, private). */
	char dir[108];
	snprintf(dir, sizeof(dir), "%s", b->socket_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "redleaf: cannot create %s: %s\n", dir, strerror(errno));
			return -errno;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		fprintf(stderr, "redleaf: another broker is serving %s (stop it, or pick --socket)\n",
			b->socket_path);
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(b->socket_path); /* stale: nobody answered */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		fprintf(stderr, "redleaf: cannot listen on %s: %s\n", b->socket_path, strerror(errno));
		close(fd);
		return -errno;
	}
	b->control_fd = fd;
	return 0;
}

void rl_control_close(struct broker *b)
{
	if (b->control_fd >= 0) {
		close(b->control_fd);
		unlink(b->socket_path);
		b->control_fd = -1;
	}
}

#define EV_CONTROL 0xffff0001u
#define EV_SIGNAL 0xffff0002u
#define EV_WAKE 0xffff0003u
#define EV_INJECT 0xffff0004u

static void reap(struct broker *b, struct domain *d, int epfd)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)d->pidfd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, d->pidfd, NULL);
	close(d->pidfd);
	d->pidfd = -1;
	rl_describe_death(d, si.si_code, si.si_status);
	char why[sizeof(d->cause)];
	if (rl_spawn_failure(d, why, sizeof(why)))
		memcpy(d->cause, why, sizeof(d->cause));
	atomic_store(&d->death_pending, 1);
	rl_broker_ring_bell(b);
}

void rl_control_loop(struct broker *b)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	sigset_t set;

	b->epoll_fd = epfd;
	struct epoll_event ev;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

	ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = EV_CONTROL };
	epoll_ctl(epfd, EPOLL_CTL_ADD, b->control_fd, &ev);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = EV_SIGNAL };
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	if (b->wake_fd >= 0) {
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = EV_WAKE };
		epoll_ctl(epfd, EPOLL_CTL_ADD, b->wake_fd, &ev);
	}
	injector.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	srandom((unsigned)rl_now_ns());
	if (injector.timer_fd >= 0) {
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = EV_INJECT };
		epoll_ctl(epfd, EPOLL_CTL_ADD, injector.timer_fd, &ev);
	}
	for (unsigned i = 1; i <= b->ndom; i++) {
		if (b->dom[i].pidfd < 0)
			continue;
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = i };
		epoll_ctl(epfd, EPOLL_CTL_ADD, b->dom[i].pidfd, &ev);
	}

	while (!atomic_load(&b->stop)) {
		struct epoll_event evs[16];
		int n = epoll_wait(epfd, evs, 16, 100);
		for (int k = 0; k < n; k++) {
			uint32_t tag = evs[k].data.u32;
			if (tag == EV_SIGNAL) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					rl_broker_log(b, "SIG%s received: stopping", sigabbrev_np((int)si.ssi_signo));
					b->exit_status = 0;
					atomic_store(&b->stop, 1);
				}
			} else if (tag == EV_INJECT) {
				injector_tick(b);
			} else if (tag == EV_CONTROL) {
				int c = accept4(b->control_fd, NULL, NULL, SOCK_CLOEXEC);
				if (c >= 0) {
					handle_request(b, c);
					close(c);
				}
			} else if (tag >= 1 && tag <= b->ndom && b->dom[tag].pidfd >= 0) {
				reap(b, &b->dom[tag], epfd);
			}
		}
	}
	close(sfd);
	if (injector.timer_fd >= 0)
		close(injector.timer_fd);
	injector.timer_fd = -1;
	b->epoll_fd = -1;
	close(epfd);
}

/* ---- the client side ---- */

int rl_control_request(const char *socket_path, const char *request)
{
	struct sockaddr_un sa;
	char buf[4096];
	int fd;

	if (socket_address(socket_path, &sa)) {
		fprintf(stderr, "redleaf: control socket path too long: %s\n", socket_path);
		return 2;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "redleaf: no broker at %s: %s (start one with 'redleaf run MANIFEST')\n",
			socket_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	size_t len = strlen(request);
	if (write(fd, request, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "redleaf: cannot send to %s: %s\n", socket_path, strerror(errno));
		close(fd);
		return 1;
	}
	struct out all = { 0 };
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		out_printf(&all, "%.*s", (int)n, buf);
	close(fd);
	int ret = 1;
	if (all.len >= 3 && !strncmp(all.buf, "ok\n", 3)) {
		fwrite(all.buf + 3, 1, all.len - 3, stdout);
		ret = 0;
	} else if (all.len) {
		fprintf(stderr, "redleaf: %.*s", (int)all.len, all.buf);
	} else {
		fprintf(stderr, "redleaf: the broker closed the connection without answering\n");
	}
	free(all.buf);
	return ret;
}
