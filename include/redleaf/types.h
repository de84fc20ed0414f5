/* SPDX-License-Identifier: MIT */
/*
 * Types shared by the broker, the domain runtime and IDL-generated code:
 * RRef handles, capability handles, call results and the wire message that
 * travels through the per-domain rings.
 */
#ifndef REDLEAF_TYPES_H
#define REDLEAF_TYPES_H

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* Limits that size shared-memory structures. */
#define RL_MAX_DOMAINS 64      /* domain ids are 1..RL_MAX_DOMAINS */
#define RL_MAX_IMPORTS 16      /* capabilities a domain gets from its manifest */
#define RL_MAX_EXPORTS 8       /* interfaces one domain can export */
#define RL_MSG_ARGS 5          /* scalar/RRef/capability words per call */
#define RL_NAME_MAX 32         /* domain, import and interface names, with NUL */

/*
 * An RRef names one object on the shared heap: its registry slot and the
 * slot's generation when the reference was made. On the wire it is one
 * 64-bit word (generation in the high half). The heap is mapped at the same
 * address in every process, so the object's address is the same everywhere.
 */
typedef struct rl_rref {
	uint32_t slot;
	uint32_t gen;
} __attribute__((aligned(8))) rl_rref;

static_assert(sizeof(rl_rref) == 8 && _Alignof(rl_rref) == 8,
	      "an RRef field in a heap object is one aligned 64-bit word");

#define RL_RREF_NULL ((rl_rref){ UINT32_MAX, 0 })

static inline uint64_t rl_rref_to_wire(rl_rref r)
{
	return ((uint64_t)r.gen << 32) | r.slot;
}

static inline rl_rref rl_rref_from_wire(uint64_t w)
{
	return (rl_rref){ (uint32_t)w, (uint32_t)(w >> 32) };
}

static inline int rl_rref_is_null(rl_rref r)
{
	return r.slot == UINT32_MAX;
}

/*
 * A capability handle indexes the holder's capability table inside the
 * broker: index in the low 16 bits, table-entry generation in the high 16.
 * A domain can only name entries of its own table.
 */
typedef uint32_t rl_cap;
#define RL_CAP_INVALID UINT32_MAX

/*
 * rpc_result: every stub returns 0 on success or a negative errno. The
 * broker uses these for transport-level failures:
 *   -EHOSTDOWN   callee is dead (not restarted yet)
 *   -ECONNRESET  callee crashed while the call was in flight
 *   -EBADF       capability handle not in the caller's table (or revoked)
 *   -ENOSYS      method id out of range for the interface
 *   -EINVAL      scalar argument out of range for its IDL type
 *   -EPERM       an RRef argument is not owned by the caller (or is lent out)
 *   -EPROTOTYPE  an RRef argument has another type than the IDL says
 *   -EMSGSIZE    an RRef argument's slot is too small for its IDL type
 *   -ESTALE      an RRef's generation does not match (freed and reused)
 *   -EAGAIN      too many calls outstanding
 *   -ENOMEM      heap exhausted
 *   -EPROTO      malformed message or reply
 * A callee's own error (a negative errno in [-4095, -1]) is passed through;
 * rl_rpc_from_broker() tells the two apart.
 */
typedef int rpc_result;

/* Message kinds on the rings. */
enum rl_msg_kind {
	RL_MSG_CALL = 1,     /* domain -> broker: call through a capability */
	RL_MSG_INVOKE = 2,   /* broker -> callee: a call to serve */
	RL_MSG_REPLY = 3,    /* callee -> broker: result of an INVOKE */
	RL_MSG_COMPLETE = 4, /* broker -> caller: result of a CALL */
	RL_MSG_SYS = 5,      /* domain -> broker: service request (heap, log) */
	RL_MSG_SYS_DONE = 6, /* broker -> domain: result of a SYS */
	RL_MSG_PAD = 7,      /* one ring unit of nothing, so a long message never wraps */
};

/* RL_MSG_COMPLETE flag: the status was produced by the broker, not the callee. */
#define RL_MSG_F_BROKER 0x01
/* The message fills two ring units: arg[1..4] travel too (ring.h). */
#define RL_MSG_F_LONG 0x80

/*
 * A message: a short one is its first 32 bytes (one ring unit, arg[0] the
 * only argument word; arg[1..4] read as zero), a long one all 64 (two
 * units, RL_MSG_F_LONG set). Every field a domain writes is untrusted:
 * the broker copies each message out of the ring before looking at it.
 *   CALL:     cap = caller's handle, method, tag = caller's cookie, arg[]
 *   INVOKE:   cap = callee's export index, aux = interface id, method,
 *             tag = continuation id (opaque to the callee), arg[]
 *   REPLY:    tag = the INVOKE's tag, status, arg[0] = result word
 *   COMPLETE: tag = the CALL's tag, status, flags, arg[0] = result word
 *   SYS:      method = enum rl_sys_op, tag = cookie, arg[]
 *   SYS_DONE: tag, status, arg[]
 */
struct rl_msg {
	uint8_t kind;
	uint8_t flags;
	uint16_t method;
	uint32_t cap;
	uint64_t tag;
	int32_t status;
	uint32_t aux;
	uint64_t arg[RL_MSG_ARGS];
};

static_assert(sizeof(struct rl_msg) == 64, "a long message is one cache line");
static_assert(offsetof(struct rl_msg, arg) == 24, "wire layout");
static_assert(offsetof(struct rl_msg, arg[1]) == 32, "a short message ends after arg[0]");

#endif /* REDLEAF_TYPES_H */
