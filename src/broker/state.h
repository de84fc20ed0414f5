/* SPDX-License-Identifier: MIT */
/*
 * The broker's state, at the bottom of its layers: the structs every other
 * part reads and writes, and the few services they all use (the log, the
 * bell, asking the broker to stop). Threads share it:
 *  - the proxy threads (1 to RL_MANIFEST_THREADS_MAX, `broker: {threads}`)
 *    own the call path: rings, capabilities, continuations and the
 *    registry. Proxy thread k (from 0) drains the tx rings of domains
 *    k + 1, k + 1 + n, ...; with more than one, validation runs under
 *    b->validation_lock, writes into a domain's rx ring under its rx_lock, and
 *    thread 0 handles deaths, restarts and the mailbox with the others
 *    parked (docs/design.md, "Proxy threads").
 *  - the event thread owns the control socket, signals and the pidfds; it
 *    reaps dead domains and hands the rest of their death to proxy thread 0
 *    (death_pending + the bell), and passes commands that need the proxy
 *    threads' state through the mailbox.
 * The layers above, each calling only those below it (docs/design.md,
 * "The broker's layers"): deliver, caps, conts, ownership, spawn,
 * recovery, service, calls, proxy, control, run.
 */
#ifndef RL_BROKER_STATE_H
#define RL_BROKER_STATE_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel.h"
#include "heap.h"
#include "registry.h"
#include "redleaf/idl.h"
#include "manifest.h"
#include "ring.h"
#include "seccomp_policy.h"

#define RL_MAX_CAPS 64
#define RL_MAX_CONTS 16384
#define RL_MAX_OUTSTANDING RL_MANIFEST_CALLS_DEFAULT /* calls one domain may have in flight, by default */
#define RL_MAX_GRAPH 256        /* heap objects one argument may carry (nested RRefs) */

/*
 * Quotas and fairness (docs/design.md, "Quotas and fairness"). A callee's
 * backlog holds three kinds of message: invocations others sent it, the
 * completions of its own calls, and the broker's answers to what it sent.
 * Only the first is others' doing, and it is bounded at admission: once a
 * callee's backlog holds RL_BACKLOG_ADMIT messages, a caller with
 * RL_INFLIGHT_FAIR or more calls in flight gets -EBUSY for calls into it
 * (one with fewer always gets through, so an honest caller is never
 * refused for a flood it did not send). So others can put at most
 * RL_BACKLOG_ADMIT + RL_INFLIGHT_FAIR per caller (+ the stages) there;
 * the rest is the domain's own, and only that can get it killed.
 */
#define RL_INFLIGHT_FAIR 64
#define RL_BACKLOG_ADMIT 1024
#define RL_BACKLOG_OWN 8192  /* the broker's answers to what a domain sent, waiting for it to read */
#define RL_BACKLOG_SLACK 256 /* invocations staged but not yet counted (8 per proxy thread) */
#define RL_BACKLOG_MAX (RL_BACKLOG_ADMIT + RL_INFLIGHT_FAIR * RL_MAX_DOMAINS + RL_BACKLOG_SLACK + RL_BACKLOG_OWN)
/* A domain whose backlog is at RL_BACKLOG_ADMIT and that read nothing for this long stopped consuming. */
#define RL_STUCK_NS (10ull * 1000000000ull)
#define RL_DRAIN_BATCH 64   /* messages a pass takes from one tx ring at most */
#define RL_PASS_OBJECTS 512 /* heap objects a pass visits for one domain's graphs before the next takes fewer */
#define RL_AUDIT_BURST 16 /* audits a domain may ask for at once, then `quota: {audits}` a second */

/* What a domain ran into, for its log line (once per kind and incarnation) and `ps`. */
enum rl_quota_kind {
	RL_QUOTA_CALLS,   /* its own calls in flight */
	RL_QUOTA_BUSY,    /* a callee's backlog full with its calls, among others' */
	RL_QUOTA_HEAP,    /* heap objects, bytes or share of a class */
	RL_QUOTA_AUDITS,  /* audits a second */
	RL_QUOTA_NKINDS,
};

enum dom_state {
	DOM_STOPPED = 0, /* never started (start: false) */
	DOM_RUNNING,
	DOM_DEAD,
};

struct cap_entry {
	uint16_t gen;         /* bumped at every grant and refresh; older handles are stale */
	uint8_t used;
	uint8_t export_index; /* which of the target's exports */
	uint16_t target;      /* domain id */
	uint16_t iface;       /* interface id */
	uint32_t incarnation; /* of the target when granted; a restart makes the entry stale */
	uint32_t deadline_ms; /* calls through it time out (manifest import `deadline`); 0 = never */
};

#define RL_RECOVERY_LOG 4096 /* recovery times kept per domain for `ps --json` */
#define RL_OUTPUT_LINE 512      /* a longer line of domain output is logged in pieces */
#define RL_OUTPUT_RATE 16384    /* bytes of output a second a domain may log ... */
#define RL_OUTPUT_BURST 65536   /* ... after a burst of this many */
/* Event-loop tag of a domain's output: RL_EV_OUTPUT | its id. */
#define RL_EV_OUTPUT 0x10000u
/* Event-loop tag of a domain's standby process: RL_EV_STANDBY | its id (one shot). */
#define RL_EV_STANDBY 0x20000u

/* Messages for a domain whose rx ring was full, in order. */
struct backlog {
	struct rl_msg *q;
	uint32_t head, tail, size;
};

struct broker;

/* A domain's process as the broker holds it (spawn.c): -1 for each descriptor it does not have. */
struct rl_uring_watch;

struct rl_proc {
	pid_t pid;
	int pidfd;
	int status_fd;  /* its namespace init reports how the domain ended */
	int start_pipe; /* why it could not start, if it could not */
	int out_fd;     /* its stdout and stderr */
	struct rl_uring_watch *ring; /* its ring, when it does direct I/O (uring.h), or NULL */
};

struct broker;

struct domain {
	struct broker *broker;
	uint16_t id;
	char name[RL_NAME_MAX];
	const struct rl_manifest_domain *m;
	char binary[PATH_MAX];
	_Atomic int state;
	_Atomic int death_pending;

	pid_t pid;
	int pidfd;
	/*
	 * A restart does not wait for exec: the read end of the pipe on which
	 * the child reports an exec failure stays here, and the event thread
	 * reads it when it reaps the process (-1 when none).
	 */
	int start_pipe;
	/*
	 * With namespaces of its own, pid is the domain's init and this pipe's
	 * read end gets how the domain itself ended (spawn.c); -1 otherwise.
	 */
	int status_fd;
	struct rl_seccomp_prog filter; /* built at its first start (spawn.c) */
	/*
	 * The warm standby (manifest `standby`, recovery.c): a successor
	 * spawned, confined and mapped, waiting in its launcher until a restart
	 * activates it (pidfd -1: none). Owned by proxy thread 0; the event
	 * thread only raises standby_event when its pidfd fires.
	 */
	struct rl_proc standby;
	uint32_t standby_token;      /* the last standby's (random); it runs once the channel's activate word holds it */
	unsigned standbys_started;   /* for the log: the first one is announced */
	_Atomic int standby_event;   /* its pidfd was readable: it may have died */
	uint64_t standby_at_ns;      /* when to prepare the next one (0 = not scheduled) */
	unsigned standby_deaths;     /* standbys that died in a row, waiting: drives a backoff */
	/*
	 * The read end of the domain's stdout and stderr (-1 when none): the
	 * event thread logs it line by line, prefixed with the domain's name,
	 * control characters escaped, at most RL_OUTPUT_RATE bytes a second.
	 * Written by whoever spawns the domain before the event thread polls it;
	 * closed by the event thread (at end of file or when it reaps the domain).
	 */
	int out_fd;
	char out_line[RL_OUTPUT_LINE];
	unsigned out_len;        /* bytes of a line not yet ended */
	uint64_t out_budget;     /* bytes it may still log now */
	uint64_t out_refill_ns;  /* when out_budget was last refilled */
	uint64_t out_dropped;    /* bytes dropped and not yet reported */
	int channel_fd;
	int devmem_fd; /* device memory kept across restarts, or -1 */
	int uring_files[RL_MANIFEST_MAX_URING_FILES]; /* opened at start for its ring (uring.c) */
	struct rl_uring_watch *ring; /* the running incarnation's ring with direct I/O, drained before reclaim */
	struct rl_chan *chan;
	struct rl_ring_cons tx; /* broker's private view: the domain cannot move it */
	struct rl_ring_prod rx;
	pthread_mutex_t rx_lock; /* with more than one proxy thread: rx, rx_dirty and backlog */
	bool rx_dirty;
	bool tx_insane; /* the domain published an impossible tail; reported once */
	/*
	 * Fair service: how many messages the next pass takes from its tx ring
	 * (0 = RL_DRAIN_BATCH). A batch whose graphs made the broker visit more
	 * than RL_PASS_OBJECTS objects shrinks the next one in proportion, so
	 * a domain's pass costs about the same whatever it sends.
	 */
	uint16_t drain_take;
	struct backlog backlog;

	struct cap_entry caps[RL_MAX_CAPS];
	uint16_t exports[RL_MAX_EXPORTS];
	unsigned nexports;
	uint32_t outstanding;
	/*
	 * do_call() looks at quotas only from this many calls in flight on
	 * (min(calls quota, RL_INFLIGHT_FAIR)): below it, the one compare
	 * it always made. 0 (a domain not set up by rl_quota_init()) = always.
	 */
	uint32_t inflight_check;
	uint32_t loans_head; /* first continuation lending to this domain, UINT32_MAX if none */
	rl_cap import_caps[RL_MAX_IMPORTS]; /* the broker's own record of the manifest imports */

	/* Restarts: incarnation counts starts; a restart makes capabilities to older ones stale. */
	uint32_t incarnation;
	uint64_t died_ns;         /* when the last death was seen (0 while running) */
	uint64_t restart_at_ns;   /* scheduled restart (0 = none) */
	unsigned quick_deaths;    /* consecutive deaths soon after a start: drives the backoff */
	bool gave_up;             /* the restart policy stopped trying */
	bool awaiting_service;    /* restarted, first reply not seen yet (recovery time) */
	bool served;              /* replied to a call since its last start */
	_Atomic bool injected;    /* a crash was injected from the CLI since its last start */
	uint16_t waiters[RL_MAX_DOMAINS];   /* domains waiting (RL_SYS_WAIT_ALIVE) for it */
	uint64_t waiter_tags[RL_MAX_DOMAINS];
	uint64_t waiter_deadline_ns[RL_MAX_DOMAINS]; /* -ETIMEDOUT at this rl_now_ns() (0 = never) */
	unsigned nwaiters;
	uint64_t recovery_ns[RL_RECOVERY_LOG]; /* death -> serving again, last RL_RECOVERY_LOG */
	_Atomic uint32_t nrecoveries;
	_Atomic uint64_t last_recovery_ns;

	/* Quotas from the manifest (rl_quota_init(); 0 = the default), and their state. */
	uint32_t calls_max;            /* calls in flight */
	uint32_t heap_class_max[RL_NCLASSES]; /* objects of each size class it may hold */
	uint64_t heap_objects_max;     /* UINT64_MAX = no total */
	uint64_t heap_bytes_max;
	uint32_t audits_per_s;
	uint32_t audit_tokens;         /* in 1/1000 of an audit */
	uint64_t audit_refill_ns;
	uint64_t rx_stall_ns;          /* since when its full ring took nothing from its backlog (0 = it does) */
	uint32_t quota_logged;         /* kinds logged (1 << enum rl_quota_kind) in incarnation quota_logged_inc */
	uint32_t quota_logged_inc;
	_Atomic uint64_t quota_hits[RL_QUOTA_NKINDS]; /* requests refused, per kind */

	/* Statistics, read racily by the event thread for `redleaf ps`. */
	_Atomic uint64_t calls_out, calls_in, rejected;
	_Atomic uint64_t timeouts; /* its calls that passed their deadline (-ETIMEDOUT) */
	_Atomic uint64_t backlogged; /* messages that waited for room in its rx ring */
	_Atomic uint32_t restarts;
	int exit_code;       /* waitid si_code */
	int exit_status;     /* waitid si_status */
	char cause[160];     /* last death, as text */
	char kill_reason[64]; /* set when the broker itself ended the domain */
	uint64_t started_ns;
};

/* A call in flight: what the broker must undo or complete when either side dies. */
struct cont {
	uint32_t gen;
	uint8_t used;
	uint8_t caller_dead;
	uint8_t timed_out;  /* the caller got -ETIMEDOUT; a late reply is dropped */
	uint8_t nborrow;
	uint16_t caller, callee;
	uint16_t iface, method;
	const struct rl_method_desc *md; /* rl_idl_ifaces[iface].methods[method] */
	uint64_t caller_tag;
	uint32_t borrow[RL_MSG_ARGS];
	uint32_t next_free;
	/* Calls with loans, listed per callee: what a callee may lend on (holds_loan). */
	uint32_t loan_next, loan_prev;
	uint32_t dl_pos; /* its place in the deadline heap (deadlines.h), UINT32_MAX when none */
};

/* A call's deadline: continuation ci times out at rl_now_ns() == at. */
struct rl_deadline {
	uint64_t at;
	uint32_t ci;
};

enum mailbox_op {
	MB_NONE = 0,
	MB_AUDIT,
	MB_RESTART, /* mb_arg = domain id */
};

struct broker {
	struct rl_manifest *m;
	/* Calls with deadlines, a min-heap by time (deadlines.c); allocated at the first one. */
	struct rl_deadline *deadlines;
	uint32_t ndeadlines;
	struct rl_heap heap;
	int bell_fd;
	struct rl_bell *bell;
	struct domain dom[RL_MAX_DOMAINS + 1]; /* index = domain id; 0 unused */
	unsigned ndom;
	uint32_t spin_ns;
	bool spin_yield; /* more processes than CPUs: spin by yielding */
	uint64_t start_ns;
	bool quiet;

	/*
	 * The proxy threads, and their load: each alone writes its msgs
	 * (messages taken from tx rings) and busy (clock ticks of the passes
	 * that found work); `redleaf ps` reads their sums. proxy_t0 and
	 * proxy_ns0 pair a tick count with a time at the threads' start, so
	 * ticks convert to ns.
	 */
	unsigned nworkers;
	struct rl_proxy_worker {
		struct broker *b;
		unsigned idx;
		pthread_t thread;
		bool started;
		_Alignas(64) _Atomic uint64_t msgs, busy;
	} workers[RL_MANIFEST_THREADS_MAX];
	uint64_t proxy_t0, proxy_ns0;
	/* More than one proxy thread: validation's lock, and thread 0's stop-the-others. */
	pthread_mutex_t validation_lock;
	_Alignas(64) _Atomic int quiesce;
	_Atomic unsigned parked;

	/*
	 * Graph walks mark the slots they reach (heap.graph_mark) with a new
	 * epoch each, so "reached twice" is one load, not a scan of what the
	 * walk found (a 255-object graph cost 32 000 compares); graph_visits
	 * counts objects visited (the drain's budget).
	 */
	uint32_t graph_epoch;
	uint64_t graph_visits;

	struct cont *conts;
	uint32_t cont_free; /* head of the free list, UINT32_MAX when empty */
	uint16_t *expected_borrows;

	unsigned restarts_pending; /* domains with a restart or a standby scheduled */
	_Atomic unsigned standby_events; /* raised by the event thread for proxy thread 0 */

	/* --until: the broker ends when all these domains ended; first failure is the status. */
	bool until[RL_MAX_DOMAINS + 1];
	unsigned until_left;
	_Atomic int stop;
	int exit_status;

	int control_fd;
	int epoll_fd; /* the event thread's; the proxy thread adds restarted domains' pidfds */
	int wake_fd; /* eventfd: the proxy thread wakes the event thread (stop) */
	char socket_path[108];

	/* Requests from the event thread to the proxy thread. */
	pthread_mutex_t mb_lock;
	pthread_cond_t mb_cond;
	_Atomic int mb_op;
	unsigned mb_arg;
	int mb_result;
	char mb_text[512];
};

/* The log: one line, prefixed with the time since the broker started. */
void rl_broker_log(struct broker *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One line of d's own output, as "[name] text" (text already made printable). */
void rl_broker_log_output(struct broker *b, const struct domain *d, const char *text);
/*
 * Sets d's quotas from its manifest entry (defaults for fields left 0) and
 * the heap's layout. Before d first runs.
 */
void rl_quota_init(struct broker *b, struct domain *d);
/* d was refused by quota kind: counts it and logs it once per kind and incarnation (what says which). */
void rl_quota_hit(struct broker *b, struct domain *d, enum rl_quota_kind kind, const char *what);
/* Wakes every sleeping proxy thread. */
void rl_broker_ring_bell(struct broker *b);
/* Asks the broker to stop (from any thread): ends the event loop promptly. */
void rl_broker_request_stop(struct broker *b);
struct domain *rl_broker_domain_by_name(struct broker *b, const char *name);
/* The continuation table (all free) and borrow counts, for a heap already created; 0 or -ENOMEM. */
int rl_broker_alloc_tables(struct broker *b);

/*
 * Statistics have one writer at a time (one proxy thread, or whoever holds
 * validation_lock); `redleaf ps` reads them from the event thread. A plain load
 * and store is enough and avoids a locked read-modify-write on every call.
 */
static inline void rl_stat_add(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void rl_stat_inc(_Atomic uint64_t *counter)
{
	rl_stat_add(counter, 1);
}

/* The proxy thread's clock: the TSC where there is one (cheap enough for every pass). */
static inline uint64_t rl_proxy_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return rl_now_ns();
#endif
}

/* The hot path's helpers, inlined into it from the private headers. */
#define RL_HOT static inline __attribute__((always_inline))

#endif /* RL_BROKER_STATE_H */
