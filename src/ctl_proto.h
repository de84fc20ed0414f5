/* SPDX-License-Identifier: MIT */
/*
 * The control protocol between `redleaf` commands and a running broker, over
 * its Unix control socket: one request, one reply, one connection.
 *
 * A request is a fixed-layout binary message: a header (magic, version, op,
 * length, flags) and, for the ops that take one, a body of typed fields.
 * Both ends run on this machine, so fields are in host byte order. The
 * broker decodes every request with rl_ctl_decode(), which checks all of it
 * before the broker acts; the CLI builds them with rl_ctl_encode(), which
 * runs the same checks. A reply is a header (magic, version, the op, a
 * status: 0 or a negative errno, length) and that many bytes of text.
 *
 * Versioning: every version keeps magic and version first in both headers
 * and the reply header whole, so a broker can name the version it was sent
 * and a client can read any broker's answer. Anything else that changes
 * bumps RL_CTL_VERSION. docs/design.md, "Control protocol".
 */
#ifndef RL_CTL_PROTO_H
#define RL_CTL_PROTO_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "redleaf/types.h"

#define RL_CTL_MAGIC 0x74636c72u       /* "rlct" in memory on little-endian machines */
#define RL_CTL_REPLY_MAGIC 0x72636c72u /* "rlcr" */
#define RL_CTL_VERSION 1

#define RL_CTL_NAMES_MAX RL_MAX_DOMAINS            /* domain names in one crash --every */
#define RL_CTL_SIGNAL_MAX 64                       /* Linux signals are 1..64 (SIGRTMAX) */
#define RL_CTL_PERIOD_MIN_NS 1000000ull            /* crash --every: 1 ms .. */
#define RL_CTL_PERIOD_MAX_NS 86400000000000ull     /* .. 1 day */
#define RL_CTL_REPLY_TEXT_MAX (64u << 20)          /* text in one reply */

enum rl_ctl_op {
	RL_CTL_OP_PS = 1,          /* flags: RL_CTL_F_JSON */
	RL_CTL_OP_HEAP = 2,        /* flags: RL_CTL_F_JSON */
	RL_CTL_OP_AUDIT = 3,
	RL_CTL_OP_CRASH = 4,       /* body: struct rl_ctl_crash */
	RL_CTL_OP_CRASH_EVERY = 5, /* body: struct rl_ctl_crash_every */
	RL_CTL_OP_CRASH_STOP = 6,
	RL_CTL_OP_RESTART = 7,     /* body: struct rl_ctl_domain */
	RL_CTL_OP_STOP = 8,
	RL_CTL_OP_END,             /* one past the last; 0 is no op */
};

#define RL_CTL_F_JSON (1u << 0) /* answer in JSON */

/* When a crash lands. */
enum rl_ctl_crash_when {
	RL_CTL_CRASH_NOW = 0,     /* signal the process through its pidfd now */
	RL_CTL_CRASH_AT_CALL = 1, /* in its own call path at its at_call-th call from now */
};

/* Where in that call: the values of enum rl_inject_point (redleaf/channel.h). */
enum rl_ctl_point {
	RL_CTL_POINT_DURING = 0,
	RL_CTL_POINT_BEFORE = 1,
	RL_CTL_POINT_AFTER = 2,
};

/* Which of several domains each tick of a repeated crash takes. */
enum rl_ctl_pick {
	RL_CTL_PICK_IN_TURN = 0,
	RL_CTL_PICK_RANDOM = 1,
};

/* Names are [a-z0-9_-]{1,RL_NAME_MAX-1} (as in manifests), NUL-padded to the end. */
struct rl_ctl_domain {
	char name[RL_NAME_MAX];
};

struct rl_ctl_crash {
	char name[RL_NAME_MAX];
	int32_t signal;    /* 1..RL_CTL_SIGNAL_MAX; 0 = panic (RL_CTL_CRASH_AT_CALL only) */
	uint32_t at_call;  /* 1.. with RL_CTL_CRASH_AT_CALL, 0 with RL_CTL_CRASH_NOW */
	uint8_t when;      /* enum rl_ctl_crash_when */
	uint8_t point;     /* enum rl_ctl_point; 0 with RL_CTL_CRASH_NOW */
	uint8_t reserved[6]; /* 0 */
};

struct rl_ctl_crash_every {
	uint64_t period_ns; /* RL_CTL_PERIOD_MIN_NS..RL_CTL_PERIOD_MAX_NS */
	int32_t signal;     /* signal now at each tick, or 0: a panic at the next call */
	uint8_t pick;       /* enum rl_ctl_pick */
	uint8_t nnames;     /* 1..RL_CTL_NAMES_MAX */
	uint8_t reserved[2]; /* 0 */
	char names[RL_CTL_NAMES_MAX][RL_NAME_MAX]; /* unused ones all 0 */
};

struct rl_ctl_header {
	uint32_t magic;   /* RL_CTL_MAGIC */
	uint16_t version; /* RL_CTL_VERSION */
	uint16_t op;      /* enum rl_ctl_op */
	uint32_t length;  /* of the whole message, this header included: exact per op */
	uint32_t flags;   /* RL_CTL_F_*; only those the op takes */
};

/* A request as it travels: the first hdr.length bytes of this. */
struct rl_ctl_request {
	struct rl_ctl_header hdr;
	union {
		struct rl_ctl_domain domain;
		struct rl_ctl_crash crash;
		struct rl_ctl_crash_every every;
	} body;
};

struct rl_ctl_reply {
	uint32_t magic;   /* RL_CTL_REPLY_MAGIC */
	uint16_t version; /* the broker's RL_CTL_VERSION */
	uint16_t op;      /* the request's op, 0 if it could not be read */
	int32_t status;   /* 0, or a negative errno */
	uint32_t length;  /* bytes of text after this header, at most RL_CTL_REPLY_TEXT_MAX */
};

/* The wire layout (docs/design.md, "Control protocol"). */
static_assert(sizeof(struct rl_ctl_header) == 16, "request header is 16 bytes");
static_assert(offsetof(struct rl_ctl_header, magic) == 0 && offsetof(struct rl_ctl_header, version) == 4 &&
		      offsetof(struct rl_ctl_header, op) == 6 && offsetof(struct rl_ctl_header, length) == 8 &&
		      offsetof(struct rl_ctl_header, flags) == 12,
	      "request header fields");
static_assert(sizeof(struct rl_ctl_domain) == 32, "domain body");
static_assert(sizeof(struct rl_ctl_crash) == 48 && offsetof(struct rl_ctl_crash, signal) == 32 &&
		      offsetof(struct rl_ctl_crash, at_call) == 36 && offsetof(struct rl_ctl_crash, when) == 40 &&
		      offsetof(struct rl_ctl_crash, point) == 41 && offsetof(struct rl_ctl_crash, reserved) == 42,
	      "crash body");
static_assert(sizeof(struct rl_ctl_crash_every) == 16 + RL_CTL_NAMES_MAX * RL_NAME_MAX &&
		      offsetof(struct rl_ctl_crash_every, period_ns) == 0 &&
		      offsetof(struct rl_ctl_crash_every, signal) == 8 &&
		      offsetof(struct rl_ctl_crash_every, pick) == 12 &&
		      offsetof(struct rl_ctl_crash_every, nnames) == 13 &&
		      offsetof(struct rl_ctl_crash_every, names) == 16,
	      "crash-every body");
static_assert(offsetof(struct rl_ctl_request, body) == 16 &&
		      sizeof(struct rl_ctl_request) == 16 + sizeof(struct rl_ctl_crash_every),
	      "the body follows the header; the largest body sizes a request");
static_assert(sizeof(struct rl_ctl_reply) == 16 && offsetof(struct rl_ctl_reply, version) == 4 &&
		      offsetof(struct rl_ctl_reply, op) == 6 && offsetof(struct rl_ctl_reply, status) == 8 &&
		      offsetof(struct rl_ctl_reply, length) == 12,
	      "reply header fields");

/* "ps", "crash-every", ...; "op N" for one out of range (buf holds it). */
const char *rl_ctl_op_name(unsigned op, char *buf, size_t len);

/*
 * Copies a domain name into a name field, NUL-padded. 0, or -EINVAL (empty,
 * or a character other than a-z, 0-9, '_' and '-') or -ENAMETOOLONG, with a
 * one-line message in err; dst is untouched on failure.
 */
int rl_ctl_name_set(char dst[RL_NAME_MAX], const char *name, char *err, size_t errlen);

/*
 * Completes the request whose body the caller filled (zeroed where unused):
 * sets its header for op and flags, then checks it as the broker will.
 * 0, or the negative errno and message rl_ctl_decode() would give. The
 * bytes to send are the first req->hdr.length of *req.
 */
int rl_ctl_encode(struct rl_ctl_request *req, enum rl_ctl_op op, uint32_t flags, char *err, size_t errlen);

/*
 * Checks the first len bytes of a request as far as they go, to learn how
 * many to read: 0 and *total (at most sizeof(struct rl_ctl_request)) once
 * the header is whole and valid; -EAGAIN while it is incomplete but right so
 * far; else rl_ctl_decode()'s error for it.
 */
int rl_ctl_header_check(const void *buf, size_t len, size_t *total, char *err, size_t errlen);

/*
 * Validates a whole request of exactly len bytes and copies it into *out.
 * 0, or a negative errno and a one-line message (err may be NULL):
 *   -EPROTO           not a request (wrong magic)
 *   -EPROTONOSUPPORT  another protocol version
 *   -EOPNOTSUPP       op out of range
 *   -EBADMSG          empty, truncated, a length other than the op's, or bytes after it
 *   -EINVAL           a flag, name, enum, number or reserved byte out of range
 * *out is untouched on failure.
 */
int rl_ctl_decode(const void *buf, size_t len, struct rl_ctl_request *out, char *err, size_t errlen);

/* A reply header for op (0 if unknown), status and text_len bytes of text to follow. */
void rl_ctl_reply_init(struct rl_ctl_reply *reply, unsigned op, int status, size_t text_len);

/*
 * Validates a reply header of len bytes: 0, or -EBADMSG (short, wrong
 * magic, status or length out of range) with a message. Any version is
 * accepted (its header is the same). *out is untouched on failure.
 */
int rl_ctl_reply_decode(const void *buf, size_t len, struct rl_ctl_reply *out, char *err, size_t errlen);

/*
 * Why crash-injecting signal sig would not crash a domain (it stops it,
 * continues it, or is ignored by default: its callers would wait, or
 * nothing would happen), or NULL when it ends a process by default.
 */
const char *rl_ctl_signal_refused(int sig);

struct sockaddr_un;
/* The address of the socket at path; 0 or -ENAMETOOLONG. */
int rl_ctl_socket_address(const char *path, struct sockaddr_un *sa);
/* Sends all len bytes (no SIGPIPE); 0 or a negative errno. */
int rl_ctl_send_all(int fd, const void *buf, size_t len);
/* recv(), again when a signal interrupts it: the bytes read, 0 at end of file or on an error. */
size_t rl_ctl_recv(int fd, void *buf, size_t len, int flags);

#endif /* RL_CTL_PROTO_H */
