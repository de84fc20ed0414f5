// SPDX-License-Identifier: MIT
/*
 * `redleaf`: one binary for the broker (`redleaf run`) and the commands that
 * talk to a running broker over its control socket.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "rl_config.h"

struct command {
	const char *name;
	const char *synopsis;
	const char *help;
	int (*run)(int argc, char **argv);
};

static const struct command *find_command(const char *name);

static const char *socket_option(const char *given)
{
	return given ? given : rl_default_socket();
}

static int usage_error(const char *cmd, const char *what, const char *arg)
{
	fprintf(stderr, "redleaf %s: %s%s%s%s (see 'redleaf %s --help')\n", cmd, what, arg ? " '" : "",
		arg ? arg : "", arg ? "'" : "", cmd);
	return 2;
}

static void print_help(const struct command *c)
{
	printf("usage: redleaf %s\n\n%s", c->synopsis, c->help);
}

/* Parses the options every client command shares: --socket, --json, --help. */
static int client_options(const char *cmd, int argc, char **argv, const char **socket, int *json,
			  int *first_arg)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*socket = NULL;
	if (json)
		*json = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			*socket = optarg;
			break;
		case 'j':
			if (!json)
				return usage_error(cmd, "this command takes no --json", NULL);
			*json = 1;
			break;
		case 'h':
			print_help(find_command(cmd));
			return -1;
		default:
			return usage_error(cmd, "unknown option", argv[optind - 1]);
		}
	}
	*first_arg = optind;
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rl_run_options opt = { 0 };
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:u:qh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.socket = optarg;
			break;
		case 'u':
			opt.until = optarg;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'h':
			print_help(find_command("run"));
			return 0;
		default:
			return usage_error("run", "unknown option or missing value for", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage_error("run", optind >= argc ? "needs a MANIFEST" : "takes one MANIFEST, not also", optind >= argc ? NULL : argv[optind + 1]);
	opt.manifest = argv[optind];
	opt.socket = socket_option(opt.socket);
	return rl_cmd_run_system(&opt);
}

static int simple_request(const char *cmd, int argc, char **argv, bool takes_json)
{
	const char *socket;
	int json = 0, first, r;
	char req[256];

	r = client_options(cmd, argc, argv, &socket, takes_json ? &json : NULL, &first);
	if (r)
		return r < 0 ? 0 : r;
	if (first != argc)
		return usage_error(cmd, "unexpected argument", argv[first]);
	snprintf(req, sizeof(req), "%s%s", cmd, json ? " json" : "");
	return rl_control_request(socket_option(socket), req);
}

static int cmd_ps(int argc, char **argv)
{
	return simple_request("ps", argc, argv, true);
}

static int cmd_stop(int argc, char **argv)
{
	return simple_request("stop", argc, argv, false);
}

static int cmd_heap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "audit", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket = NULL;
	int json = 0, audit = 0, c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'a':
			audit = 1;
			break;
		case 'h':
			print_help(find_command("heap"));
			return 0;
		default:
			return usage_error("heap", "unknown option", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("heap", "unexpected argument", argv[optind]);
	if (audit && json)
		return usage_error("heap", "--audit and --json do not go together", NULL);
	return rl_control_request(socket_option(socket), audit ? "audit" : json ? "heap json" : "heap");
}

/* "500ms", "2s", "1.5s", "250us", "1m": nanoseconds, or 0 when malformed. */
static uint64_t parse_duration(const char *text)
{
	char *end;
	double v = strtod(text, &end);
	double unit = 0;

	if (end == text || v <= 0)
		return 0;
	if (!strcmp(end, "s"))
		unit = 1e9;
	else if (!strcmp(end, "ms"))
		unit = 1e6;
	else if (!strcmp(end, "us"))
		unit = 1e3;
	else if (!strcmp(end, "m"))
		unit = 60e9;
	if (!unit || v * unit > 86400e9)
		return 0;
	return (uint64_t)(v * unit);
}

static int cmd_crash(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "signal", required_argument, NULL, 'S' },
		{ "panic", no_argument, NULL, 'p' },
		{ "at-call", required_argument, NULL, 'a' },
		{ "point", required_argument, NULL, 'P' },
		{ "every", required_argument, NULL, 'e' },
		{ "random", no_argument, NULL, 'r' },
		{ "stop", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket = NULL, *sig = NULL, *every = NULL;
	unsigned long at_call = 0, point = 0;
	bool panic = false, random_pick = false, stop = false;
	char req[512], *end;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket = optarg;
			break;
		case 'S':
			sig = optarg;
			break;
		case 'p':
			panic = true;
			break;
		case 'a':
			at_call = strtoul(optarg, &end, 10);
			if (*end || !at_call || at_call > UINT32_MAX)
				return usage_error("crash", "--at-call takes a count from 1, not", optarg);
			break;
		case 'P':
			if (!strcmp(optarg, "during"))
				point = 0;
			else if (!strcmp(optarg, "before"))
				point = 1;
			else if (!strcmp(optarg, "after"))
				point = 2;
			else
				return usage_error("crash", "--point is before, during or after, not", optarg);
			break;
		case 'e':
			every = optarg;
			break;
		case 'r':
			random_pick = true;
			break;
		case 'x':
			stop = true;
			break;
		case 'h':
			print_help(find_command("crash"));
			return 0;
		default:
			return usage_error("crash", "unknown option or missing value for", argv[optind - 1]);
		}
	}
	socket = socket_option(socket);
	if (stop) {
		if (optind != argc || sig || panic || at_call || every || random_pick)
			return usage_error("crash", "--stop takes nothing else", NULL);
		return rl_control_request(socket, "inject-stop");
	}
	if (optind >= argc)
		return usage_error("crash", "needs a DOMAIN", NULL);
	if (sig && panic)
		return usage_error("crash", "--signal does not go with --panic", NULL);
	if (random_pick && !every)
		return usage_error("crash", "--random picks a domain at each --every tick; give --every", NULL);
	for (int i = optind; i < argc; i++)
		if (strpbrk(argv[i], " ,\n"))
			return usage_error("crash", "domain names have no spaces or commas:", argv[i]);
	if (sig && strpbrk(sig, " \n"))
		return usage_error("crash", "bad signal name", sig);

	if (every) {
		uint64_t ns = parse_duration(every);
		if (ns < 1000000)
			return usage_error("crash", "--every takes a duration of at least 1ms (e.g. 500ms, 1s), not",
					   every);
		if (at_call)
			return usage_error("crash", "--every does not go with --at-call", NULL);
		int n = snprintf(req, sizeof(req), "inject-every %llu %d %s ", (unsigned long long)ns,
				 random_pick ? 1 : 0, panic ? "panic" : sig ? sig : "KILL");
		for (int i = optind; i < argc && n < (int)sizeof(req); i++)
			n += snprintf(req + n, sizeof(req) - (size_t)n, "%s%s", i > optind ? "," : "", argv[i]);
		if (n >= (int)sizeof(req))
			return usage_error("crash", "too many domain names", NULL);
		return rl_control_request(socket, req);
	}
	if (optind != argc - 1)
		return usage_error("crash", "takes one DOMAIN (several only with --every), not also", argv[optind + 1]);
	if (panic || at_call)
		snprintf(req, sizeof(req), "panic %s %lu %lu%s%s", argv[optind], at_call ? at_call : 1, point,
			 sig ? " " : "", sig ? sig : "");
	else
		snprintf(req, sizeof(req), "crash %s %s", argv[optind], sig ? sig : "KILL");
	return rl_control_request(socket, req);
}

static int cmd_restart(int argc, char **argv)
{
	const char *socket;
	int first, r;
	char req[256];

	r = client_options("restart", argc, argv, &socket, NULL, &first);
	if (r)
		return r < 0 ? 0 : r;
	if (first != argc - 1)
		return usage_error("restart", "needs exactly one DOMAIN", NULL);
	if (strchr(argv[first], ' '))
		return usage_error("restart", "domain names have no spaces:", argv[first]);
	snprintf(req, sizeof(req), "restart %s", argv[first]);
	return rl_control_request(socket_option(socket), req);
}

static int cmd_help(int argc, char **argv);

/* The benchmarks `redleaf bench` runs, by name, with their path in the build tree. */
static const struct {
	const char *name, *path;
} benches[] = {
	{ "ipc", "bench/ipc" },
	{ "recovery", "bench/recovery/recovery" },
	{ "proxycost", "bench/proxycost" },
};

/*
 * Runs a benchmark program in place of this process. They live in the build
 * tree beside src/ (this binary is src/redleaf there), or in
 * $REDLEAF_BENCH_DIR, laid out the same way.
 */
static int cmd_bench(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			print_help(find_command("bench"));
			return 0;
		}
		return usage_error("bench", argc < 2 ? "needs a BENCHMARK name" : "unknown option",
				   argc < 2 ? NULL : argv[1]);
	}
	const char *rel = NULL;
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		if (!strcmp(benches[i].name, argv[1]))
			rel = benches[i].path;
	if (!rel)
		return usage_error("bench", "no benchmark named", argv[1]);

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
	argv[1] = path;
	execv(path, argv + 1);
	fprintf(stderr, "redleaf bench: cannot run %s: %s (benchmarks are run from the build tree, "
			"or set REDLEAF_BENCH_DIR)\n", path, strerror(errno));
	return 1;
}

static const struct command commands[] = {
	{ "run", "run [--socket PATH] [--until DOMAIN[,DOMAIN...]] [--quiet] MANIFEST",
	  "Start the broker for the system MANIFEST describes: create the shared heap and\n"
	  "registry, start every domain confined by seccomp, and proxy their calls until\n"
	  "stopped (Ctrl-C, SIGTERM or 'redleaf stop').\n\n"
	  "  --socket PATH   control socket to serve (default: $REDLEAF_SOCKET, else\n"
	  "                  /run/redleaf/control.sock for root, else $XDG_RUNTIME_DIR/redleaf.sock)\n"
	  "  --until D1[,D2...]  stop when all these domains have ended; exit with the first\n"
	  "                  non-zero status among them (128+signal if one was killed), or 1\n"
	  "                  if the registry audit at the end finds a leak\n"
	  "  --quiet         do not log to stderr\n",
	  cmd_run },
	{ "ps", "ps [--socket PATH] [--json]",
	  "List the domains of the running system: id, pid, state, calls made and served,\n"
	  "messages the broker rejected as malformed or forbidden (not calls to a dead or\n"
	  "restarted domain), heap objects and bytes owned, restarts, the last recovery time\n"
	  "(RECOV-MS: from the broker seeing the death to the new incarnation's first reply;\n"
	  "the dying process's own teardown, about 1 ms, comes before) and the cause of the\n"
	  "last death. A last line gives the broker's load: messages its proxy threads took\n"
	  "from the domains' rings, their busy time per message, and the share of their life\n"
	  "they spent in passes that found work (near 100%: the proxy threads limit the system).\n"
	  "--json adds every recovery time kept (recoveries_ns), the messages that waited for\n"
	  "room in the domain's full rx ring (backlogged), each running domain's nice value as\n"
	  "the scheduler has it (nice; null when not running) and the load (\"broker\", with\n"
	  "the number of proxy threads; busy_ns sums them).\n",
	  cmd_ps },
	{ "heap", "heap [--socket PATH] [--json | --audit]",
	  "Summarise the ownership registry: free slots per size class and objects per owner\n"
	  "and type. --audit checks the registry's invariants (one owner per object, loan\n"
	  "counts equal to the calls in flight) and exits 1 when they do not hold.\n",
	  cmd_heap },
	{ "crash", "crash [--socket PATH] [--signal NAME | --panic | --at-call N [--point P]]\n"
		   "                     [--every DURATION [--random]] DOMAIN...  |  crash --stop",
	  "Crash-inject DOMAIN. By default it is killed now with SIGKILL.\n\n"
	  "  --signal NAME   send this signal instead (e.g. SEGV, ABRT, TERM)\n"
	  "  --panic         make it panic inside its own code at its next call\n"
	  "  --at-call N     ... at its Nth call from now (with --signal: it raises that signal\n"
	  "                  on itself there instead of panicking)\n"
	  "  --point P       where in that call: before (reading it), during (default), after (replying)\n"
	  "  --every DUR     repeat every DUR (e.g. 500ms, 1s) until 'redleaf crash --stop';\n"
	  "                  with several DOMAINs, take them in turn, or at random with --random\n"
	  "  --stop          end repeated injection\n\n"
	  "Calls in flight into the domain fail with -ECONNRESET, its heap objects are reclaimed,\n"
	  "and its manifest's restart policy decides whether it comes back.\n",
	  cmd_crash },
	{ "restart", "restart [--socket PATH] DOMAIN",
	  "Start DOMAIN again after it died (or start one the manifest marks start: false).\n"
	  "Capabilities to its previous incarnation become stale (-ESTALE); importers named\n"
	  "in the manifest get fresh ones.\n",
	  cmd_restart },
	{ "stop", "stop [--socket PATH]", "Stop the running system and its broker.\n", cmd_stop },
	{ "bench", "bench BENCHMARK [OPTIONS]",
	  "Run a benchmark with these OPTIONS ('redleaf bench BENCHMARK --help' lists them):\n\n"
	  "  ipc        cost of cross-domain calls next to floors measured on this machine\n"
	  "  recovery   block-device throughput while its driver is crash-injected\n"
	  "  proxycost  the broker's work per message, in one process (no scheduler, no\n"
	  "             other CPU); bench/proxycost.sh counts its instructions\n\n"
	  "The programs are found in the build tree beside this redleaf (bench/ipc,\n"
	  "bench/recovery/recovery, bench/proxycost), or under $REDLEAF_BENCH_DIR laid\n"
	  "out the same way.\n",
	  cmd_bench },
	{ "help", "help [COMMAND]", "Show help for redleaf or one of its commands.\n", cmd_help },
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

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		main_help(stdout);
		return 0;
	}
	const struct command *c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "redleaf help: no command '%s' (see 'redleaf --help')\n", argv[1]);
		return 2;
	}
	print_help(c);
	return 0;
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
	return c->run(argc - 1, argv + 1);
}
