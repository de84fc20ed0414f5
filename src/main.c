// SPDX-License-Identifier: MIT
/*
 * `redleaf`: one binary for the broker (`redleaf run`) and the commands that
 * talk to a running broker over its control socket.
 *
 * Options are data: one table says, for every option, its name, whether it
 * takes a value (and of what kind), which commands accept it and its help.
 * One parser reads every command's options from it, and every command's
 * --help lists what the table gives it, so help and parser cannot disagree.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "ctl_proto.h"
#include "rl_config.h"

enum command_id { CMD_RUN, CMD_PS, CMD_HEAP, CMD_CRASH, CMD_RESTART, CMD_STOP, CMD_BENCH, CMD_DEV, CMD_HELP, CMD_COUNT };

#define ON(cmd) (1u << (cmd))
#define CLIENTS (ON(CMD_PS) | ON(CMD_HEAP) | ON(CMD_CRASH) | ON(CMD_RESTART) | ON(CMD_STOP))
#define ALL_COMMANDS (ON(CMD_COUNT) - 1)

enum option_id {
	OPT_SOCKET,
	OPT_UNTIL,
	OPT_QUIET,
	OPT_JSON,
	OPT_AUDIT,
	OPT_SIGNAL,
	OPT_PANIC,
	OPT_AT_CALL,
	OPT_POINT,
	OPT_EVERY,
	OPT_RANDOM,
	OPT_STOP,
	OPT_HELP,
	OPT_COUNT,
};

/* What an option's value is; the parser converts it and says what is wrong with it. */
enum value_kind {
	VALUE_NONE,     /* a flag: takes no value */
	VALUE_TEXT,     /* any text */
	VALUE_COUNT,    /* 1..UINT32_MAX */
	VALUE_DURATION, /* "500ms", "1.5s", "250us", "1m": 1 ms to 1 day, kept in ns */
	VALUE_POINT,    /* before, during or after (enum rl_ctl_point) */
	VALUE_SIGNAL,   /* KILL, SIGSEGV, 9: 1 to RL_CTL_SIGNAL_MAX */
};

/*
 * One row per option and meaning: an option may have two rows with other
 * help for other commands (--socket is served by run, asked by the rest).
 * The rows a command accepts are listed in its --help in this order.
 */
static const struct option_row {
	enum option_id id;
	const char *name;
	char short_name; /* -s for --socket, ...; 0 for none */
	enum value_kind kind;
	const char *value; /* the value's name in help */
	unsigned commands; /* ON(CMD_...) */
	const char *help;  /* lines after the first are indented to the help column */
} options[] = {
	{ OPT_SOCKET, "socket", 's', VALUE_TEXT, "PATH", ON(CMD_RUN),
	  "control socket to serve (default: $REDLEAF_SOCKET, else\n"
	  "/run/redleaf/control.sock for root, else $XDG_RUNTIME_DIR/redleaf.sock)" },
	{ OPT_SOCKET, "socket", 's', VALUE_TEXT, "PATH", CLIENTS,
	  "the broker's control socket (default: $REDLEAF_SOCKET, else\n"
	  "/run/redleaf/control.sock for root, else $XDG_RUNTIME_DIR/redleaf.sock)" },
	{ OPT_UNTIL, "until", 'u', VALUE_TEXT, "D1[,D2...]", ON(CMD_RUN),
	  "stop when all these domains have ended; exit with the first\n"
	  "non-zero status among them (128+signal if one was killed), or 1\n"
	  "if the registry audit at the end finds a leak" },
	{ OPT_QUIET, "quiet", 'q', VALUE_NONE, NULL, ON(CMD_RUN), "no broker log lines on stderr (domains' output still shows)" },
	{ OPT_JSON, "json", 0, VALUE_NONE, NULL, ON(CMD_PS),
	  "as JSON, adding every recovery time kept (recoveries_ns), the\n"
	  "messages that waited for room in the domain's full rx ring\n"
	  "(backlogged), each running domain's nice value as the scheduler has\n"
	  "it (nice; null when not running) and the load (\"broker\", with the\n"
	  "number of proxy threads; busy_ns sums them)" },
	{ OPT_JSON, "json", 0, VALUE_NONE, NULL, ON(CMD_HEAP) | ON(CMD_DEV), "as JSON" },
	{ OPT_AUDIT, "audit", 0, VALUE_NONE, NULL, ON(CMD_HEAP),
	  "check the registry's invariants (one owner per object, loan counts\n"
	  "equal to the calls in flight); exit 1 when they do not hold" },
	{ OPT_SIGNAL, "signal", 0, VALUE_SIGNAL, "NAME", ON(CMD_CRASH),
	  "send this signal instead (e.g. SEGV, ABRT, TERM)" },
	{ OPT_PANIC, "panic", 0, VALUE_NONE, NULL, ON(CMD_CRASH), "make it panic inside its own code at its next call" },
	{ OPT_AT_CALL, "at-call", 0, VALUE_COUNT, "N", ON(CMD_CRASH),
	  "... at its Nth call from now (with --signal: it raises that signal\n"
	  "on itself there instead of panicking)" },
	{ OPT_POINT, "point", 0, VALUE_POINT, "P", ON(CMD_CRASH),
	  "where in that call: before (reading it), during (default), after (replying)" },
	{ OPT_EVERY, "every", 0, VALUE_DURATION, "DUR", ON(CMD_CRASH),
	  "repeat every DUR (e.g. 500ms, 1s) until 'redleaf crash --stop';\n"
	  "with several DOMAINs, take them in turn, or at random with --random" },
	{ OPT_RANDOM, "random", 0, VALUE_NONE, NULL, ON(CMD_CRASH), "with --every: pick the DOMAIN at random each time" },
	{ OPT_STOP, "stop", 0, VALUE_NONE, NULL, ON(CMD_CRASH), "end repeated injection" },
	{ OPT_HELP, "help", 'h', VALUE_NONE, NULL, ALL_COMMANDS, "show this help" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))
#define HELP_COLUMN 18 /* "  --socket PATH   " */

/* What the parser read: which options were given, their text and converted values. */
struct parsed {
	bool given[OPT_COUNT];
	const char *text[OPT_COUNT];
	union {
		uint32_t count;
		uint64_t ns;
		uint8_t point;
		int signal;
	} value[OPT_COUNT];
	int first; /* argv index of the first argument after the options */
};

struct command {
	enum command_id id;
	const char *name;
	const char *synopsis;
	const char *help; /* before the options */
	const char *more; /* after them, or NULL */
	int (*run)(const struct command *c, const struct parsed *p, int argc, char **argv);
};

#define HELP_SHOWN (-1) /* parse_options() printed the help: exit 0 */

static const struct command *find_command(const char *name);

static int usage(const struct command *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(const struct command *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "redleaf %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'redleaf %s --help')\n", c->name);
	return 2;
}

static void print_option(const struct option_row *o)
{
	char label[64];
	int n = snprintf(label, sizeof(label), "--%s%s%s", o->name, o->value ? " " : "", o->value ? o->value : "");
	int pad = n + 2 < HELP_COLUMN - 2 ? HELP_COLUMN - 2 - n : 2;

	printf("  %s%*s", label, pad, "");
	for (const char *line = o->help; *line;) {
		const char *nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);
		printf("%s%.*s\n", line == o->help ? "" : "                  ", len, line);
		line += len + (nl ? 1 : 0);
	}
}

static void print_help(const struct command *c)
{
	char shorts[128] = "";
	size_t n = 0;

	printf("usage: redleaf %s\n\n%s\n", c->synopsis, c->help);
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option_row *o = &options[i];
		if (!(o->commands & ON(c->id)))
			continue;
		print_option(o);
		if (o->short_name && n < sizeof(shorts))
			n += (size_t)snprintf(shorts + n, sizeof(shorts) - n, "%s-%c for --%s", n ? ", " : "",
					      o->short_name, o->name);
	}
	if (n)
		printf("  (short forms: %s)\n", shorts);
	if (c->more)
		printf("\n%s", c->more);
}

/* "500ms", "2s", "1.5s", "250us", "1m": nanoseconds, or 0 when malformed or out of range. */
static uint64_t parse_duration(const char *text)
{
	char *end;
	double v = strtod(text, &end);
	double unit = 0;

	if (end == text || !(v > 0))
		return 0;
	if (!strcmp(end, "s"))
		unit = 1e9;
	else if (!strcmp(end, "ms"))
		unit = 1e6;
	else if (!strcmp(end, "us"))
		unit = 1e3;
	else if (!strcmp(end, "m"))
		unit = 60e9;
	if (!unit || !(v * unit >= (double)RL_CTL_PERIOD_MIN_NS) || v * unit > (double)RL_CTL_PERIOD_MAX_NS)
		return 0;
	return (uint64_t)(v * unit);
}

/* KILL, SIGKILL, kill, 9: the signal's number, or -1. */
static int parse_signal(const char *name)
{
	const char *n = !strncasecmp(name, "SIG", 3) ? name + 3 : name;
	char *end;

	for (int s = 1; s <= RL_CTL_SIGNAL_MAX; s++) {
		const char *abbrev = sigabbrev_np(s);
		if (abbrev && *n && !strcasecmp(abbrev, n))
			return s;
	}
	long v = strtol(name, &end, 10);
	return *name && !*end && v > 0 && v <= RL_CTL_SIGNAL_MAX ? (int)v : -1;
}

/* Converts and records one option of c; 0, 2 after a usage error, or HELP_SHOWN. */
static int take_option(const struct command *c, const struct option_row *o, const char *text, struct parsed *p)
{
	char *end;

	p->given[o->id] = true;
	p->text[o->id] = text;
	switch (o->kind) {
	case VALUE_NONE:
		if (o->id == OPT_HELP) {
			print_help(c);
			return HELP_SHOWN;
		}
		return 0;
	case VALUE_TEXT:
		return 0;
	case VALUE_COUNT: {
		unsigned long v = strtoul(text, &end, 10);
		if (end == text || *end || !v || v > UINT32_MAX || text[0] == '-')
			return usage(c, "--%s takes a count from 1, not '%s'", o->name, text);
		p->value[o->id].count = (uint32_t)v;
		return 0;
	}
	case VALUE_DURATION:
		p->value[o->id].ns = parse_duration(text);
		if (!p->value[o->id].ns)
			return usage(c, "--%s takes a duration of at least 1ms and at most 1 day (e.g. 500ms, 1s), not '%s'",
				     o->name, text);
		return 0;
	case VALUE_POINT:
		if (!strcmp(text, "during"))
			p->value[o->id].point = RL_CTL_POINT_DURING;
		else if (!strcmp(text, "before"))
			p->value[o->id].point = RL_CTL_POINT_BEFORE;
		else if (!strcmp(text, "after"))
			p->value[o->id].point = RL_CTL_POINT_AFTER;
		else
			return usage(c, "--%s is before, during or after, not '%s'", o->name, text);
		return 0;
	case VALUE_SIGNAL:
		p->value[o->id].signal = parse_signal(text);
		if (p->value[o->id].signal < 0)
			return usage(c, "--%s takes a signal name or number (e.g. KILL, SEGV, ABRT, TERM, 9), not '%s'",
				     o->name, text);
		if (rl_ctl_signal_refused(p->value[o->id].signal))
			return usage(c, "--%s %s: that signal %s", o->name, text,
				     rl_ctl_signal_refused(p->value[o->id].signal));
		return 0;
	}
	return 0;
}

/* The row of c's options called --name (len bytes), or a unique prefix of one; NULL after a usage error. */
static const struct option_row *find_long(const struct command *c, const char *name, size_t len)
{
	const struct option_row *found = NULL;
	char also[128] = "";
	size_t n = 0;
	unsigned matches = 0;

	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option_row *o = &options[i];
		if (!(o->commands & ON(c->id)) || strncmp(o->name, name, len))
			continue;
		if (strlen(o->name) == len)
			return o;
		found = o;
		matches++;
		if (n < sizeof(also))
			n += (size_t)snprintf(also + n, sizeof(also) - n, "%s--%s", n ? ", " : "", o->name);
	}
	if (matches == 1)
		return found;
	if (matches > 1) {
		usage(c, "option '--%.*s' is ambiguous (%s)", (int)len, name, also);
		return NULL;
	}
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strlen(options[i].name) == len && !strncmp(options[i].name, name, len)) {
			usage(c, "this command takes no --%s", options[i].name);
			return NULL;
		}
	usage(c, "unknown option '--%.*s'", (int)len, name);
	return NULL;
}

static const struct option_row *find_short(const struct command *c, char ch)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (options[i].short_name == ch && (options[i].commands & ON(c->id)))
			return &options[i];
	usage(c, "unknown option '-%c'", ch);
	return NULL;
}

/*
 * Reads c's options from argv[1..] (argv[0] names the command) up to the
 * first argument that is not an option, or "--": "--name", "--name VALUE",
 * "--name=VALUE", a unique prefix of a name, "-s VALUE", "-sVALUE", "-qh".
 * Returns 0 with p->first set, 2 after a usage error, or HELP_SHOWN.
 */
static int parse_options(const struct command *c, int argc, char **argv, struct parsed *p)
{
	int i = 1, r;

	memset(p, 0, sizeof(*p));
	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		const char *arg = argv[i++];
		const struct option_row *o = NULL;
		const char *value = NULL;

		if (!strcmp(arg, "--"))
			break;
		if (arg[1] == '-') {
			const char *eq = strchr(arg + 2, '=');
			o = find_long(c, arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
			if (!o)
				return 2;
			if (eq && o->kind == VALUE_NONE)
				return usage(c, "--%s takes no value", o->name);
			value = eq ? eq + 1 : NULL;
		} else {
			/* Flags bundle ("-qh"); a value follows its letter or is the next argument. */
			for (const char *s = arg + 1; *s; s++) {
				if (!(o = find_short(c, *s)))
					return 2;
				if (o->kind != VALUE_NONE) {
					value = s[1] ? s + 1 : NULL;
					break;
				}
				if (s[1] && (r = take_option(c, o, NULL, p)))
					return r;
			}
		}
		if (o->kind != VALUE_NONE && !value) {
			/* The next argument, unless it is clearly another long option. */
			if (i >= argc || (!strncmp(argv[i], "--", 2) && argv[i][2]))
				return usage(c, "--%s needs a value (%s)", o->name, o->value);
			value = argv[i++];
		}
		if ((r = take_option(c, o, value, p)))
			return r;
	}
	p->first = i;
	return 0;
}

static const char *socket_of(const struct parsed *p)
{
	return p->text[OPT_SOCKET] ? p->text[OPT_SOCKET] : rl_default_socket();
}

/* Finishes req for op and sends it; a request the encoder refuses is a usage error. */
static int request(const struct command *c, const struct parsed *p, struct rl_ctl_request *req, enum rl_ctl_op op,
		   uint32_t flags)
{
	char err[160];

	if (rl_ctl_encode(req, op, flags, err, sizeof(err)))
		return usage(c, "%s", err);
	return rl_control_request(socket_of(p), req);
}

static int set_name(const struct command *c, char dst[RL_NAME_MAX], const char *name)
{
	char err[160];

	return rl_ctl_name_set(dst, name, err, sizeof(err)) ? usage(c, "%s", err) : 0;
}

static int cmd_run(const struct command *c, const struct parsed *p, int argc, char **argv)
{
	struct rl_run_options opt = { 0 };

	if (p->first != argc - 1)
		return p->first >= argc ? usage(c, "needs a MANIFEST")
				       : usage(c, "takes one MANIFEST, not also '%s'", argv[p->first + 1]);
	opt.manifest = argv[p->first];
	opt.socket = socket_of(p);
	opt.until = p->text[OPT_UNTIL];
	opt.quiet = p->given[OPT_QUIET];
	return rl_cmd_run_system(&opt);
}

/* ps, heap and stop: options, no arguments. */
static int simple_request(const struct command *c, const struct parsed *p, int argc, char **argv, enum rl_ctl_op op)
{
	struct rl_ctl_request req = { 0 };

	if (p->first != argc)
		return usage(c, "unexpected argument '%s'", argv[p->first]);
	return request(c, p, &req, op, p->given[OPT_JSON] ? RL_CTL_F_JSON : 0);
}

static int cmd_ps(const struct command *c, const struct parsed *p, int argc, char **argv)
{
	return simple_request(c, p, argc, argv, RL_CTL_OP_PS);
}

static int cmd_stop(const struct command *c, const struct parsed *p, int argc, char **argv)
{
	return simple_request(c, p, argc, argv, RL_CTL_OP_STOP);
}

static int cmd_heap(const struct command *c, const struct parsed *p, int argc, char **argv)
{
	if (p->given[OPT_AUDIT] && p->given[OPT_JSON])
		return usage(c, "--audit and --json do not go together");
	return simple_request(c, p, argc, argv, p->given[OPT_AUDIT] ? RL_CTL_OP_AUDIT : RL_CTL_OP_HEAP);
}

static int cmd_crash(const struct command *c, const struct parsed *p, int argc, char **argv)
{
	struct rl_ctl_request req = { 0 };
	bool sig = p->given[OPT_SIGNAL], panic = p->given[OPT_PANIC], at_call = p->given[OPT_AT_CALL];
	bool every = p->given[OPT_EVERY], random_pick = p->given[OPT_RANDOM];
	int ndomains = argc - p->first, r;

	if (p->given[OPT_STOP]) {
		if (ndomains || sig || panic || at_call || every || random_pick)
			return usage(c, "--stop takes nothing else");
		return request(c, p, &req, RL_CTL_OP_CRASH_STOP, 0);
	}
	if (!ndomains)
		return usage(c, "needs a DOMAIN");
	if (sig && panic)
		return usage(c, "--signal does not go with --panic");
	if (random_pick && !every)
		return usage(c, "--random picks a domain at each --every tick; give --every");
	if (p->given[OPT_POINT] && !at_call && !panic)
		return usage(c, "--point places a crash at a call: give --at-call N (or --panic)");

	if (every) {
		struct rl_ctl_crash_every *e = &req.body.every;
		if (at_call)
			return usage(c, "--every does not go with --at-call");
		if (ndomains > RL_CTL_NAMES_MAX)
			return usage(c, "takes at most %d DOMAINs, not %d", RL_CTL_NAMES_MAX, ndomains);
		for (int i = 0; i < ndomains; i++)
			if ((r = set_name(c, e->names[i], argv[p->first + i])))
				return r;
		e->nnames = (uint8_t)ndomains;
		e->period_ns = p->value[OPT_EVERY].ns;
		e->signal = panic ? 0 : sig ? p->value[OPT_SIGNAL].signal : SIGKILL;
		e->pick = random_pick ? RL_CTL_PICK_RANDOM : RL_CTL_PICK_IN_TURN;
		return request(c, p, &req, RL_CTL_OP_CRASH_EVERY, 0);
	}
	if (ndomains > 1)
		return usage(c, "takes one DOMAIN (several only with --every), not also '%s'", argv[p->first + 1]);
	struct rl_ctl_crash *k = &req.body.crash;
	if ((r = set_name(c, k->name, argv[p->first])))
		return r;
	if (panic || at_call) { /* in the domain's own call path: a panic, or --signal raised there */
		k->when = RL_CTL_CRASH_AT_CALL;
		k->at_call = at_call ? p->value[OPT_AT_CALL].count : 1;
		k->point = p->given[OPT_POINT] ? p->value[OPT_POINT].point : RL_CTL_POINT_DURING;
		k->signal = sig ? p->value[OPT_SIGNAL].signal : 0;
	} else {
		k->when = RL_CTL_CRASH_NOW;
		k->signal = sig ? p->value[OPT_SIGNAL].signal : SIGKILL;
	}
	return request(c, p, &req, RL_CTL_OP_CRASH, 0);
}

static int cmd_restart(const struct command *c, const struct parsed *p, int argc, char **argv)
{
	struct rl_ctl_request req = { 0 };
	int r;

	if (p->first != argc - 1)
		return usage(c, "needs exactly one DOMAIN");
	if ((r = set_name(c, req.body.domain.name, argv[p->first])))
		return r;
	return request(c, p, &req, RL_CTL_OP_RESTART, 0);
}

/* The benchmarks `redleaf bench` runs, by name, with their path in the build tree. */
static const struct {
	const char *name, *path;
} benches[] = {
	{ "ipc", "bench/ipc" },
	{ "recovery", "bench/recovery/recovery" },
	{ "proxycost", "bench/proxycost" },
	{ "storage", "bench/storage/storage" },
};

/*
 * Runs a benchmark program in place of this process. They live in the build
 * tree beside src/ (this binary is src/redleaf there), or in
 * $REDLEAF_BENCH_DIR, laid out the same way. Options after BENCHMARK are
 * the benchmark's own.
 */
static int cmd_bench(const struct command *c, const struct parsed *p, int argc, char **argv)
{
	if (p->first >= argc)
		return usage(c, "needs a BENCHMARK name");
	argc -= p->first;
	argv += p->first;
	const char *rel = NULL;
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		if (!strcmp(benches[i].name, argv[0]))
			rel = benches[i].path;
	if (!rel)
		return usage(c, "no benchmark named '%s'", argv[0]);

	char path[PATH_MAX], self[PATH_MAX];
	const char *dir = getenv("REDLEAF_BENCH_DIR");
	int n;
	if (dir && *dir) {
		n = snprintf(path, sizeof(path), "%s/%s", dir, rel);
	} else {
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (len < 0) {
			fprintf(stderr, "redleaf bench: cannot find this program: %s\n", strerror(errno));
			return 1;
		}
		self[len] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		n = snprintf(path, sizeof(path), "%s/../%s", self, rel);
	}
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "redleaf bench: path too long\n");
		return 1;
	}
	argv[0] = path;
	execv(path, argv);
	fprintf(stderr, "redleaf bench: cannot run %s: %s (benchmarks are run from the build tree, "
			"or set REDLEAF_BENCH_DIR)\n", path, strerror(errno));
	return 1;
}

static void main_help(FILE *f);

static int cmd_help(const struct command *c, const struct parsed *p, int argc, char **argv)
{
	if (p->first >= argc) {
		main_help(stdout);
		return 0;
	}
	if (p->first < argc - 1)
		return usage(c, "takes one COMMAND, not also '%s'", argv[p->first + 1]);
	const struct command *about = find_command(argv[p->first]);
	if (!about) {
		fprintf(stderr, "redleaf help: no command '%s' (see 'redleaf --help')\n", argv[p->first]);
		return 2;
	}
	print_help(about);
	return 0;
}

static int cmd_dev(const struct command *c, const struct parsed *p, int argc, char **argv)
{
	const char *sub = p->first < argc ? argv[p->first] : NULL;
	int rest = argc - p->first - 1;

	if (!sub)
		return usage(c, "needs list, bind BDF or unbind BDF");
	if (!strcmp(sub, "list")) {
		/* Options end at the first word: take `dev list --json` as `dev --json list`. */
		bool json = p->given[OPT_JSON] || (rest == 1 && !strcmp(argv[p->first + 1], "--json"));
		if (rest && !(rest == 1 && json))
			return usage(c, "list takes no argument, not '%s'", argv[p->first + 1]);
		return rl_cmd_dev_list(json);
	}
	if (strcmp(sub, "bind") && strcmp(sub, "unbind"))
		return usage(c, "no subcommand '%s' (list, bind BDF, unbind BDF)", sub);
	if (p->given[OPT_JSON])
		return usage(c, "--json goes with list only");
	if (rest != 1)
		return usage(c, "%s needs exactly one PCI address (BDF, like 0000:03:00.0)", sub);
	return !strcmp(sub, "bind") ? rl_cmd_dev_bind(argv[p->first + 1]) : rl_cmd_dev_unbind(argv[p->first + 1]);
}

static const struct command commands[] = {
	{ CMD_RUN, "run", "run [--socket PATH] [--until DOMAIN[,DOMAIN...]] [--quiet] MANIFEST",
	  "Start the broker for the system MANIFEST describes: create the shared heap and\n"
	  "registry, start every domain confined by seccomp, and proxy their calls until\n"
	  "stopped (Ctrl-C, SIGTERM or 'redleaf stop').\n",
	  NULL, cmd_run },
	{ CMD_PS, "ps", "ps [--socket PATH] [--json]",
	  "List the domains of the running system: id, pid, state, calls made and served,\n"
	  "messages the broker rejected as malformed or forbidden (not calls to a dead or\n"
	  "restarted domain), heap objects and bytes owned, restarts, the last recovery time\n"
	  "(RECOV-MS: from the broker seeing the death to the new incarnation's first reply;\n"
	  "the dying process's own teardown, about 1 ms, comes before) and the cause of the\n"
	  "last death. A last line gives the broker's load: messages its proxy threads took\n"
	  "from the domains' rings, their busy time per message, and the share of their life\n"
	  "they spent in passes that found work (near 100%: the proxy threads limit the system).\n",
	  NULL, cmd_ps },
	{ CMD_HEAP, "heap", "heap [--socket PATH] [--json | --audit]",
	  "Summarise the ownership registry: free slots per size class and objects per owner\n"
	  "and type.\n",
	  NULL, cmd_heap },
	{ CMD_CRASH, "crash", "crash [--socket PATH] [--signal NAME | --panic | --at-call N [--point P]]\n"
			      "                     [--every DURATION [--random]] DOMAIN...  |  crash --stop",
	  "Crash-inject DOMAIN. By default it is killed now with SIGKILL.\n",
	  "Calls in flight into the domain fail with -ECONNRESET, its heap objects are reclaimed,\n"
	  "and its manifest's restart policy decides whether it comes back.\n",
	  cmd_crash },
	{ CMD_RESTART, "restart", "restart [--socket PATH] DOMAIN",
	  "Start DOMAIN again after it died (or start one the manifest marks start: false).\n"
	  "Capabilities to its previous incarnation become stale (-ESTALE); importers named\n"
	  "in the manifest get fresh ones.\n",
	  NULL, cmd_restart },
	{ CMD_STOP, "stop", "stop [--socket PATH]", "Stop the running system and its broker.\n", NULL, cmd_stop },
	{ CMD_BENCH, "bench", "bench BENCHMARK [OPTIONS]",
	  "Run a benchmark with these OPTIONS ('redleaf bench BENCHMARK --help' lists them):\n\n"
	  "  ipc        cost of cross-domain calls next to floors measured on this machine\n"
	  "  recovery   block-device throughput while its driver is crash-injected\n"
	  "  proxycost  the broker's work per message, in one process (no scheduler, no\n"
	  "             other CPU); bench/proxycost.sh counts its instructions\n"
	  "  storage    NVMe block I/O through the driver domain, against the same driver\n"
	  "             without isolation and against io_uring and fio\n\n"
	  "The programs are found in the build tree beside this redleaf (bench/ipc,\n"
	  "bench/recovery/recovery, bench/proxycost, bench/storage/storage), or under\n"
	  "$REDLEAF_BENCH_DIR laid out the same way.\n",
	  NULL, cmd_bench },
	{ CMD_DEV, "dev", "dev list [--json] | dev bind BDF | dev unbind BDF",
	  "The devices a driver domain can take over: NVMe controllers and Intel 82599\n"
	  "ports, with their driver, IOMMU group and NUMA node. 'bind' hands one to\n"
	  "vfio-pci (driver_override, unbind, probe); 'unbind' gives it back to its\n"
	  "default driver. Changing drivers needs root, an IOMMU (intel_iommu=on or\n"
	  "amd_iommu=on) and the vfio-pci module; each missing piece is named.\n",
	  NULL, cmd_dev },
	{ CMD_HELP, "help", "help [COMMAND]", "Show help for redleaf or one of its commands.\n", NULL, cmd_help },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void main_help(FILE *f)
{
	fprintf(f, "usage: redleaf COMMAND [OPTIONS]\n\n"
		   "redleaf-lx: RedLeaf-style isolated domains as seccomp-confined processes sharing\n"
		   "an RRef heap, with a broker proxying and validating every cross-domain call.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fprintf(f, "\n'redleaf COMMAND --help' tells more. --version prints the version.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		main_help(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		main_help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("redleaf %s\n", RL_VERSION);
		return 0;
	}
	const struct command *c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "redleaf: unknown command '%s' (see 'redleaf --help')\n", argv[1]);
		return 2;
	}
	struct parsed p;
	int r = parse_options(c, argc - 1, argv + 1, &p);
	if (r)
		return r == HELP_SHOWN ? 0 : r;
	return c->run(c, &p, argc - 1, argv + 1);
}
