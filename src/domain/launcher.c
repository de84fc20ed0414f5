// SPDX-License-Identifier: MIT
/*
 * The trusted launcher: main() of every domain binary. The broker's child
 * has already built the sandbox before the execve (src/broker/spawn.c):
 * namespaces, identity, rlimits, descriptors, no-new-privs and a seccomp
 * filter that also admits what the loader and this launcher need. The
 * launcher maps the heap, the read-only registry, the bell, its channel and
 * (with a device) the device model's file, closes every descriptor but
 * stdin/stdout/stderr (and its ring, and a VFIO device's), marks the process non-dumpable and stacks the
 * domain's own filter, which takes the start-up allowances away, before any
 * of the domain's code in main runs. (Its ELF constructors ran before,
 * under the first filter.)
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
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

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Maps all of fd shared, at addr exactly (never over another mapping) or, with addr 0, anywhere. */
static void *map_fd_at(int fd, size_t min_size, uintptr_t addr, size_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || (size_t)st.st_size < min_size)
		return NULL;
	int fixed = addr ? MAP_FIXED_NOREPLACE : 0;
	void *p = mmap((void *)addr, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | fixed, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (addr && (uintptr_t)p != addr) { /* a kernel that ignores the flag */
		munmap(p, (size_t)st.st_size);
		return NULL;
	}
	if (size)
		*size = (size_t)st.st_size;
	return p;
}

static void *map_fd(int fd, size_t min_size)
{
	return map_fd_at(fd, min_size, 0, NULL);
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
		/* With a device, at the address its model maps it too: queues and buffers are DMA targets. */
		errno = 0;
		void *mem = map_fd_at(RL_FD_DEVMEM, chan->ctl.devmem_size, (uintptr_t)chan->ctl.devmem_addr, NULL);
		if (!mem)
			return fail(prog, "mapping device memory", errno ? errno : EPROTO);
		__rl_runtime_devmem(mem, chan->ctl.devmem_size);
	}
	bool vfio = chan->ctl.has_device == RL_DEVICE_KIND_VFIO;
	if (vfio && setenv(RL_DEVICE_VFIO_ENV, RL_DEVICE_VFIO_FD_TEXT, 1) < 0)
		return fail(prog, "naming its device", errno);
	if (chan->ctl.has_device == RL_DEVICE_KIND_MODEL) {
		/* Mapped here, before the filter: the domain needs no system call to reach its registers. */
		size_t len;
		errno = 0;
		void *bar = map_fd_at(RL_FD_DEVICE, 2 * 4096, 0, &len);
		if (!bar)
			return fail(prog, "mapping its device", errno ? errno : EPROTO);
		__rl_runtime_device(bar, len);
	}

	/*
	 * Nothing but stdio, its ring and a VFIO device survive: the mappings
	 * keep what the domain needs. The VFIO device stays a descriptor, whose
	 * BAR the driver maps itself (seccomp group vfio-device: that one fd).
	 */
	static_assert(RL_FD_DEVICE == RL_FD_URING + 1, "the ring and the device are neighbours");
	if (syscall(SYS_close_range, 3U, RL_FD_URING - 1U, 0U) < 0 ||
	    (!chan->ctl.has_uring && syscall(SYS_close_range, RL_FD_URING + 0U, RL_FD_URING + 0U, 0U) < 0) ||
	    (!vfio && syscall(SYS_close_range, RL_FD_DEVICE + 0U, RL_FD_DEVICE + 0U, 0U) < 0) ||
	    syscall(SYS_close_range, RL_FD_DEVICE + 1U, ~0U, 0U) < 0)
		return fail(prog, "close_range", errno);
	heap.heap_fd = heap.registry_fd = -1;

	/* execve made it dumpable again: a peer of the same user must not read it. */
	prctl(PR_SET_DUMPABLE, 0);

	const char *groups[RL_MAX_GROUPS + 1];
	unsigned ngroups = 0;
	for (unsigned i = 0; i < chan->ctl.ngroups && i < RL_MAX_GROUPS; i++) {
		chan->ctl.groups[i][RL_NAME_MAX - 1] = 0;
		groups[ngroups++] = chan->ctl.groups[i];
	}
	if (RL_SANITIZED)
		groups[ngroups++] = "sanitizer";

	ret = rl_seccomp_install(groups, ngroups, &chan->ctl.violation);
	if (ret)
		return fail(prog, "installing the seccomp filter", -ret);

	/*
	 * A standby waits here, confined and mapped, until a restart activates
	 * it: until then the channel belongs to the incarnation it replaces.
	 */
	const char *standby = getenv("REDLEAF_STANDBY");
	if (standby) {
		uint32_t token = (uint32_t)strtoul(standby, NULL, 10), seen;
		while ((seen = atomic_load_explicit(&chan->ctl.activate, memory_order_acquire)) != token)
			syscall(SYS_futex, &chan->ctl.activate, FUTEX_WAIT, seen, NULL, NULL, 0);
	}
	__rl_runtime_init(chan, bell, &heap);

	RL_STACK_PIN(); /* the domain's frames at the same place within a page, every run */
	ret = rl_domain_main(argc, argv);
	/* exit_group directly: no atexit handlers run under the filter. */
	syscall(SYS_exit_group, ret);
	return ret;
}
