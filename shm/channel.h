/* SPDX-License-Identifier: MIT */
/*
 * A domain's channel: one memfd per domain, shared by that domain and the
 * broker only. It holds a control page (identity, imports, exports, seccomp
 * groups, heap grants) and two rings: tx (domain -> broker: calls, replies,
 * service requests) and rx (broker -> domain: invocations, completions).
 *
 * The domain can write every byte of it, so the broker treats all of it as
 * untrusted input: it copies entries out before validating them, and uses
 * control-page fields a domain writes (violation, panic text) only for logs.
 */
#ifndef REDLEAF_CHANNEL_H
#define REDLEAF_CHANNEL_H

#include <stdatomic.h>
#include <stdint.h>

#include "ring.h"
#include "redleaf/types.h"

#define RL_CHAN_MAGIC 0x524c4348u /* "RLCH" */
#define RL_GRANT_MAX 64
#define RL_MAX_GROUPS 8
#define RL_PANIC_MAX 200
#define RL_PANIC_STATUS 101 /* exit status of a domain that called rl_panic() */

/* Fixed descriptors a domain starts with (set up by the broker before exec). */
enum {
	RL_FD_HEAP = 3,
	RL_FD_REGISTRY = 4, /* read-only */
	RL_FD_BELL = 5,
	RL_FD_CHANNEL = 6,
	RL_FD_DEVMEM = 7, /* only when ctl.devmem_size > 0 */
	RL_FD_URING = 11, /* only when ctl.has_uring */
	RL_FD_DEVICE = 12, /* only when ctl.has_device: the device model's file (BAR0, control page) */
};

/*
 * ctl.has_device: which device is at RL_FD_DEVICE. A model's file is mapped
 * by the launcher and then closed; a VFIO device descriptor (vfio-pci, real
 * hardware) stays open for the driver, which maps its BAR itself.
 */
enum {
	RL_DEVICE_KIND_NONE = 0,
	RL_DEVICE_KIND_MODEL = 1,
	RL_DEVICE_KIND_VFIO = 2,
};

/* With a VFIO device, the launcher names its descriptor in this variable of the domain's environment. */
#define RL_DEVICE_VFIO_ENV "REDLEAF_VFIO_FD"
#define RL_DEVICE_VFIO_FD_TEXT "12"

/*
 * Where a domain with a device maps its device memory, in its own process
 * and in its device model's (IOVA = virtual address, as for the heap): clear
 * of the heap (RL_HEAP_BASE 0x200000000000, at most 16 GiB) and of what the
 * kernel hands out by default (below 0x7f0000000000).
 */
#define RL_DEVMEM_DEVICE_ADDR 0x300000000000UL

/* Service requests (RL_MSG_SYS method). */
enum rl_sys_op {
	RL_SYS_REFILL = 1, /* arg0 = class, arg1 = count: grant slots into ctl.grant[] */
	RL_SYS_FREE = 2,   /* arg0 = count of handles in ctl.give_back[] to free */
	RL_SYS_AUDIT = 3,  /* check the registry's invariants now */
	RL_SYS_WAIT_ALIVE = 4, /* arg0 = capability: completes when its domain runs (again) */
};

/* Where an injected panic happens in the serving of a call. */
enum rl_inject_point {
	RL_INJECT_DURING = 0, /* inside the call, before the method runs */
	RL_INJECT_BEFORE = 1, /* when the invocation is taken off the ring, before anything else */
	RL_INJECT_AFTER = 2,  /* right after the reply is published */
};

struct rl_chan_import {
	char name[RL_NAME_MAX];
	uint32_t cap;
	uint16_t iface_id;
};

struct rl_chan_ctl {
	uint32_t magic;
	uint16_t domain_id;
	uint16_t nimports;
	uint16_t nexports;
	uint16_t ngroups;
	int32_t broker_pid;
	uint32_t spin_ns;
	uint32_t spin_yield; /* spin by sched_yield (more processes than CPUs), else by pause */
	uint32_t incarnation;
	uint64_t devmem_size;
	char name[RL_NAME_MAX];
	struct rl_chan_import imports[RL_MAX_IMPORTS];
	uint16_t export_iface[RL_MAX_EXPORTS];
	char groups[RL_MAX_GROUPS][RL_NAME_MAX];
	/* Written by the domain's SIGSYS handler: the syscall that was refused. */
	volatile int32_t violation;
	/* Written by rl_panic() just before the domain exits with RL_PANIC_STATUS. */
	char panic_msg[RL_PANIC_MAX];
	/*
	 * Crash injection, written by the broker (`redleaf crash --panic/--at-call`):
	 * the runtime panics (or raises inject_signal on itself) in its own code
	 * path when inject_countdown reaches 0 at the point inject_point names.
	 * 0 = off.
	 */
	volatile uint32_t inject_countdown;
	volatile uint32_t inject_point;
	volatile uint32_t inject_signal; /* 0: rl_panic(); else the domain raises this signal on itself */
	/* Heap service: slots granted by RL_SYS_REFILL, handles given back by RL_SYS_FREE. */
	uint32_t grant[RL_GRANT_MAX];
	uint64_t give_back[RL_GRANT_MAX];
	/*
	 * The ring the broker made for the domain (manifest `uring:`) is at
	 * descriptor RL_FD_URING when has_uring; its io_uring_params are here.
	 */
	uint32_t has_uring;
	uint8_t uring_params[120];
	/*
	 * A standby's launcher waits (futex) until this holds the token it was
	 * started with (REDLEAF_STANDBY); the broker writes it to activate it.
	 */
	_Atomic uint32_t activate;
	/*
	 * A device (manifest `device:`): at RL_FD_DEVICE when has_device (an
	 * RL_DEVICE_KIND_*), and the launcher maps device memory at devmem_addr
	 * (RL_DEVMEM_DEVICE_ADDR; 0: wherever the kernel likes).
	 */
	uint32_t has_device;
	uint64_t devmem_addr;
};

#define RL_CHAN_CTL_SIZE 8192
static_assert(sizeof(struct rl_chan_ctl) <= RL_CHAN_CTL_SIZE, "control page fits");

struct rl_chan {
	union {
		struct rl_chan_ctl ctl;
		uint8_t pad[RL_CHAN_CTL_SIZE];
	};
	struct rl_ring tx;
	struct rl_ring rx;
};

/* The bell: one shared word all domains may ring to wake a sleeping broker. */
struct rl_bell {
	_Alignas(64) _Atomic uint32_t word;
};

#endif /* REDLEAF_CHANNEL_H */
