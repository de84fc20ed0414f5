// SPDX-License-Identifier: MIT
/*
 * The trusted launcher: main() of every domain binary. It runs before any of
 * the domain's own code and leaves the process with nothing but the heap,
 * the read-only registry, the bell and its channel mapped, no descriptors
 * beyond stdin/stdout/stderr, no way to regain privileges, a parent-death
 * signal, tight rlimits, and -- installed last -- the seccomp filter.
 *
 * The broker has already (before exec) moved the process into fresh network,
 * IPC and UTS namespaces and switched it to an unprivileged user where it
 * could (see src/spawn.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "channel.h"
#include "redleaf/domain.h"
#include "heap.h"
#include "seccomp_policy.h"
#include "stack.h"
#include "rl_config.h"
#include "runtime.h"

static void *map_fd(int fd, size_t min_size)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || (size_t)st.st_size < min_size)
		return NULL;
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int fail(const char *prog, const char *what, int err)
{
	fprintf(stderr, "%s: domain launcher: %s: %s\n", prog, what, strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	const char *prog = argc > 0 ? argv[0] : "domain";
	struct rl_heap heap;
	int ret;

	if (!getenv("REDLEAF_DOMAIN")) {
		fprintf(stderr, "%s: this program is a redleaf domain; start it with 'redleaf run MANIFEST'\n",
			prog);
		return 2;
	}

	struct rl_chan *chan = map_fd(RL_FD_CHANNEL, sizeof(struct rl_chan));
	if (!chan || chan->ctl.magic != RL_CHAN_MAGIC)
		return fail(prog, "no channel from the broker", EPROTO);
	struct rl_bell *bell = map_fd(RL_FD_BELL, sizeof(struct rl_bell));
	if (!bell)
		return fail(prog, "no bell from the broker", EPROTO);
	ret = rl_heap_attach(&heap, RL_FD_HEAP, RL_FD_REGISTRY);
	if (ret)
		return fail(prog, "mapping the heap", -ret);
	if (chan->ctl.devmem_size) {
		void *mem = map_fd(RL_FD_DEVMEM, chan->ctl.devmem_size);
		if (!mem)
			return fail(prog, "mapping device memory", EPROTO);
		__rl_runtime_devmem(mem, chan->ctl.devmem_size);
	}

	/* Nothing but stdio survives: the mappings keep what the domain needs. */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		return fail(prog, "close_range", errno);
	heap.heap_fd = heap.registry_fd = -1;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return fail(prog, "PR_SET_PDEATHSIG", errno);
	if (getppid() != chan->ctl.broker_pid) /* the broker died before we got here */
		return 1;
	prctl(PR_SET_DUMPABLE, 0);

	const struct rlimit zero = { 0, 0 }, few_files = { 32, 32 };
	/* No RLIMIT_FSIZE: stderr may be a log file, and the domain cannot open others. */
	setrlimit(RLIMIT_CORE, &zero);
	setrlimit(RLIMIT_NOFILE, &few_files);

	const char *groups[RL_MAX_GROUPS + 1];
	unsigned ngroups = 0;
	for (unsigned i = 0; i < chan->ctl.ngroups && i < RL_MAX_GROUPS; i++) {
		chan->ctl.groups[i][RL_NAME_MAX - 1] = 0;
		groups[ngroups++] = chan->ctl.groups[i];
	}
	if (RL_SANITIZED)
		groups[ngroups++] = "sanitizer";

	__rl_runtime_init(chan, bell, &heap);

	ret = rl_seccomp_install(groups, ngroups, &chan->ctl.violation);
	if (ret)
		return fail(prog, "installing the seccomp filter", -ret);

	RL_STACK_PIN(); /* the domain's frames at the same place within a page, every run */
	ret = rl_domain_main(argc, argv);
	/* exit_group directly: no atexit handlers run under the filter. */
	syscall(SYS_exit_group, ret);
	return ret;
}
