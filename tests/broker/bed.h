/* SPDX-License-Identifier: MIT */
/*
 * An in-process broker for tests and bench/proxycost: the broker's real
 * state and call path with domains that are only channels in this process
 * (no processes, no seccomp, no waiting). A test plays every domain's side
 * of the rings: it posts messages into a domain's tx ring, runs proxy
 * passes, and takes what the broker delivered from a domain's rx ring.
 */
#ifndef RL_TESTS_BROKER_BED_H
#define RL_TESTS_BROKER_BED_H

#include "../../src/broker/state.h"

struct t_bed_side {
	struct rl_ring_prod tx; /* the domain's end of its tx ring */
	struct rl_ring_cons rx;
};

struct t_bed {
	struct broker *b;
	struct t_bed_side side[RL_MAX_DOMAINS + 1];
	struct rl_manifest_domain manifest[RL_MAX_DOMAINS + 1]; /* restart: never */
};

/*
 * Domains 1..ndom named d1, d2, ..., running, with a heap of heap_bytes;
 * 0 or a negative errno. Destroy with t_bed_destroy() on every path.
 */
int t_bed_create(struct t_bed *bed, unsigned ndom, uint64_t heap_bytes);
void t_bed_destroy(struct t_bed *bed);
/* t_bed_create(), or exit(1) saying why; returns the broker. */
struct broker *t_bed_setup(struct t_bed *bed, unsigned ndom, uint64_t heap_bytes);
/* The registry's audit (rl_ownership_audit); false, after printing the violation and `when`, on a failure. */
bool t_bed_audit(struct t_bed *bed, const char *when);
/* Domain `who` exports iface; returns its export index. */
unsigned t_bed_export(struct t_bed *bed, unsigned who, uint16_t iface);
/* A capability in `from`'s table for `to`'s export of iface (which must exist). */
rl_cap t_bed_grant(struct t_bed *bed, unsigned from, unsigned to, uint16_t iface);
/* Writes m into who's tx ring as its runtime would (long when a word past the first is set); false when full. */
bool t_bed_post(struct t_bed *bed, unsigned who, struct rl_msg *m);
/* Publishes every domain's tx ring, then runs proxy passes until one finds nothing to do; returns the messages taken. */
unsigned t_bed_run(struct t_bed *bed);
/* Takes the next message the broker delivered to who; false when there is none. */
bool t_bed_take(struct t_bed *bed, unsigned who, struct rl_msg *out);
/* A heap object of at least size bytes owned by who, as a wire handle (0 when the heap is full). */
uint64_t t_bed_alloc(struct t_bed *bed, unsigned who, size_t size);

#endif /* RL_TESTS_BROKER_BED_H */
