/* SPDX-License-Identifier: MIT */
/*
 * The compiler's data model: one idl_unit per run holds every source file,
 * the declarations the parser found (AST), the types the checker resolved
 * them to, and the diagnostics. All of it lives in the unit's arena.
 */
#ifndef IDLC_AST_H
#define IDLC_AST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "map.h"

/* Limits on untrusted input (documented in docs/idl.md). */
#define IDL_MAX_FILE_SIZE ((size_t)1 << 20) /* bytes per .idl file */
#define IDL_MAX_FILES 256
#define IDL_MAX_NAME 63          /* characters in a name */
#define IDL_MAX_TYPE_DEPTH 32    /* nesting of one type expression */
#define IDL_MAX_STRUCT_DEPTH 32  /* structs inside structs, by value */
#define IDL_MAX_ERRORS 50
#define IDL_MAX_OBJECT 65536     /* largest heap object: bound on every rref target */
#define IDL_MAX_IDS 65535        /* type, interface and method ids are uint16_t */
#define IDL_MAX_NESTED_TOTAL (1u << 18) /* nested-rref table entries, all types together */

/* A place in a source file; file indexes idl_unit.files. line and col are 1-based, col in bytes. */
struct idl_pos {
	uint32_t file, line, col;
};

enum idl_scalar {
	IDL_U8, IDL_U16, IDL_U32, IDL_U64,
	IDL_I8, IDL_I16, IDL_I32, IDL_I64,
	IDL_BOOL,
	IDL_NSCALARS,
};

struct idl_scalar_info {
	const char *name;  /* IDL spelling, also its mangled name */
	const char *ctype; /* in parameters and results */
	const char *heap_ctype; /* inside heap objects: bool is a byte there (see docs) */
	const char *utype; /* the unsigned type of the same width, for packing */
	uint8_t size;
	bool is_signed;
	uint8_t param_kind; /* enum rl_param_kind */
};

extern const struct idl_scalar_info idl_scalars[IDL_NSCALARS];

/* ---- syntax (parser output) ---- */

enum idl_tx_kind {
	TX_SCALAR,  /* u8 ... bool */
	TX_NAME,    /* a struct, interface (or something unknown) */
	TX_ARRAY,   /* [inner; len] */
	TX_RREF,    /* rref<inner> */
	TX_RVEC,    /* rref_vec<inner> */
	TX_RDEQUE,  /* rref_deque<inner, len> */
	TX_BORROW,  /* &inner, inner being one of the three rref forms */
};

/* An array length or deque capacity as written: a literal or a constant's name. */
struct idl_len {
	struct idl_pos pos;
	const char *name; /* NULL for a literal */
	uint64_t magnitude;
	bool negative;
};

struct idl_tyexpr {
	enum idl_tx_kind kind;
	struct idl_pos pos;
	enum idl_scalar scalar;
	const char *name;
	struct idl_tyexpr *inner;
	struct idl_len len;
};

struct idl_type;

/* A struct field or a method parameter. */
struct idl_field {
	struct idl_field *next;
	const char *name;
	struct idl_pos pos;
	struct idl_tyexpr *tx;
	/* checker: */
	struct idl_type *type;      /* field: its type; parameter: see idl_param_* */
	uint8_t param_kind;         /* parameters: enum rl_param_kind */
	struct idl_decl *iface;     /* capability parameters */
	uint64_t offset;            /* fields */
};

struct idl_method {
	struct idl_method *next;
	const char *name;
	struct idl_pos pos;
	uint8_t flags; /* RL_METHOD_* */
	bool duplicate; /* checker: a second method of the same name (already reported) */
	struct idl_field *params;
	unsigned nparams;
	struct idl_tyexpr *result_tx; /* NULL: no result */
	/* checker: */
	struct idl_field result; /* param_kind RL_PARAM_NONE when there is none */
};

enum idl_decl_kind { DECL_CONST, DECL_STRUCT, DECL_IFACE };

struct idl_decl {
	struct idl_decl *next; /* all declarations, files in command-line order */
	enum idl_decl_kind kind;
	const char *name;
	struct idl_pos pos;
	/* const */
	struct idl_len value;
	int64_t cvalue; /* checker: the value, when in range */
	bool cvalid;
	/* struct */
	struct idl_field *fields;
	unsigned nfields;
	struct idl_type *type; /* checker */
	/* interface */
	struct idl_method *methods;
	unsigned nmethods;
	bool shadow;       /* `shadow interface`: a shadow domain may wrap it */
	uint16_t iface_id; /* checker */
};

/* ---- resolved types (checker output) ---- */

enum idl_type_kind {
	T_SCALAR, T_ARRAY, T_STRUCT,
	T_HANDLE, /* an rref field: 8 bytes naming an object of type elem */
	T_VEC,    /* the heap object behind rref_vec<elem> */
	T_DEQUE,  /* the heap object behind rref_deque<elem, len> */
};

struct idl_nested {
	uint32_t offset;
	struct idl_type *target;
};

/* Types are interned by canonical name: [u8;BSIZE] and [u8;4096] are one type. */
struct idl_type {
	enum idl_type_kind kind;
	enum idl_scalar scalar;
	struct idl_type *elem; /* array/vec/deque element, handle target */
	uint32_t len;          /* array length, deque capacity */
	struct idl_decl *decl; /* struct */
	const char *name;      /* IDL spelling: "u64", "[u8;4096]", "vec<u8>", "rref<node>" */
	const char *mangled;   /* C spelling: "u64", "arr_u8_4096", "vec_u8", "rref_node" */
	uint16_t id;           /* 0: not an rref target (and not a struct) */
	struct idl_pos first_use;
	/* layout, in bytes; sizes saturate at IDL_SIZE_CAP */
	uint64_t size;
	uint32_t align;
	uint8_t layout_state; /* 0 not done, 1 in progress (structs), 2 done */
	bool poisoned;        /* an error was reported about it or something inside */
	/* nested handles: for PLAIN types inside one object, for VEC/DEQUE inside one element */
	struct idl_nested *nested;
	uint32_t nnested;
	bool nested_done;
};

#define IDL_SIZE_CAP ((uint64_t)1 << 40)

struct idl_source {
	const char *name;
	const char *text;
	size_t len;
};

struct idl_diag {
	struct idl_pos pos;
	bool has_pos;
	unsigned seq;
	const char *msg;
};

struct idl_unit {
	struct idl_arena *arena;
	FILE *diag_out; /* NULL: diagnostics are only counted */
	struct idl_source files[IDL_MAX_FILES];
	unsigned nfiles;

	struct idl_diag *diags;
	unsigned ndiags, diags_cap;
	unsigned nerrors;
	unsigned nhidden; /* errors past IDL_MAX_ERRORS, counted but not kept */
	bool syntax_failed;

	struct idl_decl *decls, **decls_tail;

	/* checker */
	bool checked, check_ok;
	struct idl_map globals;  /* name -> decl */
	struct idl_map interned; /* canonical name -> type */
	struct idl_type **types; /* by id; [0] unused */
	unsigned ntypes, types_cap;
	bool too_many_types;
	struct idl_decl **ifaces; /* by id; [0] unused */
	unsigned nifaces;
	struct idl_type **struct_order; /* structs, each after the structs it contains */
	unsigned nstruct_order;
	unsigned nested_total;
};

/* ---- diagnostics (diag.c) ---- */

/* Records "file:line:col: error: msg". Errors past IDL_MAX_ERRORS are counted, not kept. */
void idl_error(struct idl_unit *u, struct idl_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An error about a whole file or the run: "file: error: msg" or "redleaf-idlc: error: msg". */
void idl_error_nopos(struct idl_unit *u, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prints the recorded diagnostics sorted by position, then forgets them. */
void idl_diag_flush(struct idl_unit *u);
/* "'abc'" for short text; longer text is cut and ends in "...". Non-printable bytes are escaped. */
const char *idl_quote(struct idl_unit *u, const char *s, size_t n);

#endif /* IDLC_AST_H */
