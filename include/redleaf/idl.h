/* SPDX-License-Identifier: MIT */
/*
 * Validation tables emitted by the IDL compiler (redleaf-idlc) and read by
 * the broker. One compiler run over every .idl file produces one set of
 * tables, so type and interface ids are global and dense:
 *   rl_idl_types[id]   for id in 1..rl_idl_ntypes-1 (entry 0 is unused)
 *   rl_idl_ifaces[id]  for id in 1..rl_idl_nifaces-1 (entry 0 is unused)
 */
#ifndef REDLEAF_IDL_H
#define REDLEAF_IDL_H

#include <stdint.h>

#include "redleaf/types.h"

/* How a heap object of a type is laid out. */
enum rl_type_kind {
	RL_TYPE_PLAIN = 1, /* a scalar, array or struct; size bytes */
	RL_TYPE_VEC = 2,   /* struct rl_vec_hdr, then elements; capacity from the slot size */
	RL_TYPE_DEQUE = 3, /* struct rl_deque_hdr, then exactly capacity elements */
};

/*
 * Heap layout of rref_vec<T>: the header, then elements at offset 8.
 * len is written by the owner and untrusted: readers clamp it to the
 * capacity the slot can hold.
 */
struct rl_vec_hdr {
	uint32_t len;
	uint32_t capacity;
};

/*
 * Heap layout of rref_deque<T, N>: free-running head (next pop) and tail
 * (next push) counters, then N elements at offset 8; element i lives at
 * index i % N. Readers clamp tail - head to N.
 */
struct rl_deque_hdr {
	uint32_t head;
	uint32_t tail;
};

#define RL_CONTAINER_HDR 8

/* An rref<T> field inside a heap object (or inside one element). */
struct rl_nested_rref {
	uint32_t offset;  /* byte offset of the 8-byte wire handle */
	uint16_t type_id; /* type the field refers to */
};

struct rl_type_desc {
	const char *name;   /* IDL spelling: "block", "vec<u8>", "deque<pkt,32>" */
	uint16_t id;
	uint8_t kind;       /* enum rl_type_kind */
	uint8_t align;      /* of the object (PLAIN) or of one element */
	uint32_t size;      /* PLAIN: sizeof; VEC: 8 (header only); DEQUE: 8 + capacity * elem_size */
	uint32_t elem_size; /* VEC/DEQUE: size of one element, else 0 */
	uint32_t capacity;  /* DEQUE: N, else 0 */
	uint16_t n_rrefs;   /* nested rref fields per object (PLAIN) or per element */
	const struct rl_nested_rref *rrefs;
};

/* Kinds of parameters and results. */
enum rl_param_kind {
	RL_PARAM_NONE = 0,
	RL_PARAM_U8, RL_PARAM_U16, RL_PARAM_U32, RL_PARAM_U64,
	RL_PARAM_I8, RL_PARAM_I16, RL_PARAM_I32, RL_PARAM_I64,
	RL_PARAM_BOOL,
	RL_PARAM_RREF,        /* rref<T>: ownership moves with the call */
	RL_PARAM_RREF_BORROW, /* &rref<T>: lent for the duration of the call */
	RL_PARAM_CAP,         /* an interface reference; id = interface id */
};

struct rl_param_desc {
	uint8_t kind; /* enum rl_param_kind */
	uint16_t id;  /* RREF/RREF_BORROW: type id; CAP: interface id; else 0 */
};

/* Method flags, from qualifiers in the IDL. */
#define RL_METHOD_IDEMPOTENT 0x01 /* a shadow may re-issue it after a crash */
#define RL_METHOD_INIT 0x02       /* a shadow records it and replays it on restart */

struct rl_method_desc {
	const char *name;
	uint8_t nparams;
	uint8_t flags;
	struct rl_param_desc params[RL_MSG_ARGS];
	struct rl_param_desc result; /* kind RL_PARAM_NONE when the method returns nothing */
};

struct rl_iface_desc {
	const char *name;
	uint16_t id;
	uint16_t nmethods;
	const struct rl_method_desc *methods;
};

extern const struct rl_type_desc rl_idl_types[];
extern const unsigned rl_idl_ntypes;
extern const struct rl_iface_desc rl_idl_ifaces[];
extern const unsigned rl_idl_nifaces;

/* Looks an interface up by name; NULL if the IDL has none of that name. */
const struct rl_iface_desc *rl_idl_iface_by_name(const char *name);

#endif /* REDLEAF_IDL_H */
