/* SPDX-License-Identifier: MIT */
/*
 * The system manifest: a YAML file naming the domains of one system, their
 * binaries, the interfaces each exports and imports and how they are wired,
 * per-domain seccomp groups, restart policy and CPU pinning. The format is
 * described in docs/manifest.md.
 *
 * Parsing validates everything that can be checked without the IDL tables
 * and the machine: names, limits, wiring between domains, seccomp group
 * names. Whether an interface name exists in the IDL and whether a CPU
 * exists on this machine are checked by the broker, which reports them at
 * the positions kept here.
 */
#ifndef REDLEAF_MANIFEST_H
#define REDLEAF_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redleaf/types.h"

#define RL_MANIFEST_MAX_BYTES (1u << 20)   /* larger files are refused */
#define RL_MANIFEST_MAX_SYSCALL_GROUPS 8   /* extra seccomp groups per domain */
#define RL_MANIFEST_MAX_ARGS 64            /* args per domain */
#define RL_MANIFEST_MAX_URING_FILES 16     /* files of a domain's ring */
#define RL_MANIFEST_URING_ENTRIES 64       /* default ring size */
#define RL_MANIFEST_ARG_MAX 1024           /* bytes per argument, with NUL */
#define RL_MANIFEST_PATH_MAX 4096          /* binary, path, dir; with NUL */

/* Heap size limits and default, in bytes. */
#define RL_MANIFEST_HEAP_MIN (4ull << 20)
#define RL_MANIFEST_HEAP_MAX (16ull << 30)
#define RL_MANIFEST_HEAP_DEFAULT (64ull << 20)
/* Per-domain device memory limits, in bytes. */
#define RL_MANIFEST_DEVMEM_MIN (4ull << 10)
#define RL_MANIFEST_DEVMEM_MAX (16ull << 30)
#define RL_MANIFEST_SPIN_US_MAX 1000
#define RL_MANIFEST_THREADS_MAX 16         /* the broker's proxy threads */
#define RL_MANIFEST_SPIN_US_DEFAULT 5

/* A position in the manifest, 1-based, for "path:line:col:" messages. */
struct rl_manifest_pos {
	unsigned line, col;
};

/*
 * Per-domain quotas (`quota:` in a domain, docs/manifest.md): what one
 * domain may take of the broker and the heap, so that it cannot starve the
 * others. A field left 0 takes the default below.
 */
#define RL_MANIFEST_CALLS_DEFAULT 1024     /* calls in flight */
#define RL_MANIFEST_CALLS_MAX 16384        /* the broker's continuation table */
#define RL_MANIFEST_HEAP_SHARE_DEFAULT 50  /* percent of any one size class */
#define RL_MANIFEST_AUDITS_DEFAULT 2       /* heap audits a second (after a burst) */
#define RL_MANIFEST_AUDITS_MAX 1000
#define RL_MANIFEST_HEAP_OBJECTS_MAX (1ull << 32)

struct rl_manifest_quota {
	uint64_t heap_objects; /* objects it may hold; 0 = no total (heap_share still holds) */
	uint64_t heap_bytes;   /* bytes of slots it may hold; 0 = no total */
	unsigned heap_share;   /* percent of one size class's slots it may hold, 1..100; 0 = default */
	unsigned calls;        /* calls in flight, 1..RL_MANIFEST_CALLS_MAX; 0 = default */
	unsigned audits;       /* heap audits a second, 1..RL_MANIFEST_AUDITS_MAX; 0 = default */
	struct rl_manifest_pos pos;
};

/* One capability wired by the manifest: "name" in this domain is "iface" exported by "from". */
struct rl_manifest_import {
	char name[RL_NAME_MAX];
	char iface[RL_NAME_MAX];
	char from[RL_NAME_MAX];
	struct rl_manifest_pos pos;       /* the import's mapping */
	struct rl_manifest_pos iface_pos; /* the iface value */
	struct rl_manifest_pos from_pos;  /* the from value */
	uint32_t deadline_ms;             /* calls through it fail with -ETIMEDOUT after this; 0 = none */
};

/*
 * A device the broker gives the domain (`device:` in a domain,
 * docs/manifest.md): a device model process it starts with the system and
 * keeps across the domain's restarts, whose BAR the domain gets mapped
 * (rl_device_bar()). The NVMe model serves one namespace, in RAM (`blocks`
 * of `block_size` bytes) or in a file (its size). Or a real PCI device bound
 * to vfio-pci (`vfio: ADDRESS`), whose VFIO device descriptor the domain gets
 * (src/broker/vfio.c).
 */
enum rl_device_model {
	RL_DEVICE_NONE = 0,
	RL_DEVICE_NVME,
	RL_DEVICE_VFIO,
};

/* A PCI address as sysfs spells it, "DDDD:BB:DD.F", with its NUL. */
#define RL_MANIFEST_PCI_ADDR_LEN 13

#define RL_MANIFEST_DEVICE_BYTES_MAX (1ull << 40) /* a RAM namespace: reserved lazily, at most 1 TiB */

struct rl_manifest_device {
	enum rl_device_model model;
	uint64_t blocks;        /* namespace in RAM, in blocks; 0 with file */
	unsigned block_size;    /* 512 (default), 1024, 2048 or 4096 */
	char *file;             /* namespace in this file (relative to the manifest's folder), or NULL */
	struct rl_manifest_pos pos;      /* the device mapping */
	struct rl_manifest_pos file_pos; /* the file value */
	char vfio[RL_MANIFEST_PCI_ADDR_LEN]; /* RL_DEVICE_VFIO: the PCI address, lower case */
};

enum rl_restart_policy {
	RL_RESTART_NEVER,
	RL_RESTART_ALWAYS,
	RL_RESTART_BACKOFF,
};

struct rl_manifest_domain {
	char name[RL_NAME_MAX];
	/* As written: a bare name, or a path (relative ones are relative to the manifest's dir). */
	char binary[RL_MANIFEST_PATH_MAX];
	struct rl_manifest_pos binary_pos;
	char **args;                      /* nargs strings, NULL when nargs == 0 */
	unsigned nargs;
	char exports[RL_MAX_EXPORTS][RL_NAME_MAX];
	struct rl_manifest_pos export_pos[RL_MAX_EXPORTS];
	unsigned nexports;
	struct rl_manifest_import imports[RL_MAX_IMPORTS];
	unsigned nimports;
	char syscalls[RL_MANIFEST_MAX_SYSCALL_GROUPS][RL_NAME_MAX]; /* extra groups, known names */
	struct rl_manifest_pos syscall_pos[RL_MANIFEST_MAX_SYSCALL_GROUPS];
	unsigned nsyscalls;
	enum rl_restart_policy restart;   /* default RL_RESTART_NEVER */
	int cpu;                          /* 0..CPU_SETSIZE-1, or -1 = not pinned */
	struct rl_manifest_pos cpu_pos;
	int nice;                         /* -20..19 when nice_set; else inherited from the broker */
	bool nice_set;
	struct rl_manifest_pos nice_pos;
	bool start;                       /* default true; false = created, started by `redleaf restart` */
	uint64_t devmem;                  /* bytes of device memory (survives restarts); 0 = none */
	struct rl_manifest_pos devmem_pos;
	/*
	 * uring: a ring the broker makes for the domain, restricted to reads
	 * and writes on these files (opened by the broker, read-write; relative
	 * paths are relative to the manifest's folder). nuring_files == 0 and
	 * uring_entries == 0: no ring.
	 */
	char **uring_files;
	unsigned nuring_files;
	unsigned uring_entries;
	bool uring_direct;                /* the files opened with O_DIRECT */
	struct rl_manifest_pos uring_pos;
	/* standby: keep a warm successor for restarts (default: when restart is not never) */
	bool standby;
	bool standby_set;
	struct rl_manifest_pos standby_pos;
	/* isolation: shared = the host's namespaces (weaker; for kernels that refuse new ones) */
	bool isolation_shared;
	struct rl_manifest_quota quota;   /* all 0 = the defaults */
	struct rl_manifest_device device; /* model RL_DEVICE_NONE = no device */
	struct rl_manifest_pos pos;       /* the domain's mapping */
};

struct rl_manifest {
	char path[RL_MANIFEST_PATH_MAX];  /* as given, used in messages */
	char dir[RL_MANIFEST_PATH_MAX];   /* folder relative binaries are resolved against */
	char system[RL_NAME_MAX];
	uint64_t heap_size;               /* bytes, multiple of 4 KiB (2 MiB with hugepages) */
	bool hugepages;
	unsigned spin_us;
	bool poll;                        /* pinned polling: waiters never sleep (benchmarks) */
	int broker_cpu;                   /* -1 = not pinned; proxy thread k goes on broker_cpu + k */
	struct rl_manifest_pos broker_cpu_pos;
	unsigned broker_threads;          /* proxy threads, 1..RL_MANIFEST_THREADS_MAX (default 1) */
	struct rl_manifest_pos broker_threads_pos;
	struct rl_manifest_domain *domains; /* in manifest order; index + 1 is a natural domain id */
	unsigned ndomains;
};

/*
 * Reads and parses the manifest at path (see rl_manifest_parse()). dir is
 * the folder of the file's real path. Extra errors, with messages of the
 * form "path: error: ..." (no position):
 *   -errno   the file cannot be opened or read (message includes strerror)
 *   -EFBIG   the file is larger than RL_MANIFEST_MAX_BYTES
 */
int rl_manifest_load(const char *path, struct rl_manifest **out, char *err, size_t errlen);

/*
 * Parses and validates len bytes of YAML. path_for_messages prefixes every
 * message and gives path and dir (its folder, "." if it has none).
 * On success stores a new manifest in *out (free with rl_manifest_free())
 * and returns 0. On failure leaves *out untouched, writes ONE line
 * "path:line:col: error: message" (no trailing newline, truncated to
 * errlen) into err when err is not NULL and errlen > 0, and returns:
 *   -EINVAL  invalid YAML or a manifest that breaks a rule of docs/manifest.md
 *   -EFBIG   len > RL_MANIFEST_MAX_BYTES ("path: error: ...", no position)
 *   -ENAMETOOLONG  path_for_messages does not fit into RL_MANIFEST_PATH_MAX
 *   -ENOMEM  out of memory
 */
int rl_manifest_parse(const char *path_for_messages, const char *buf, size_t len,
		      struct rl_manifest **out, char *err, size_t errlen);

/* Frees a manifest from rl_manifest_load()/rl_manifest_parse(); NULL is fine. */
void rl_manifest_free(struct rl_manifest *m);

/* The domain called name, or NULL. */
const struct rl_manifest_domain *rl_manifest_domain(const struct rl_manifest *m, const char *name);

/* "never", "always" or "backoff"; "?" for anything else. */
const char *rl_restart_policy_name(enum rl_restart_policy p);

#endif /* REDLEAF_MANIFEST_H */
