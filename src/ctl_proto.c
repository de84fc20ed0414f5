// SPDX-License-Identifier: MIT
/*
 * The control protocol's one encoder and one decoder (ctl_proto.h). The
 * broker runs rl_ctl_decode() on every request before acting on it, so
 * nothing a client sends reaches the broker's commands unchecked; the CLI
 * runs the same checks through rl_ctl_encode() before sending.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ctl_proto.h"

/* What each op carries: body size, the flags it takes, and the checks of its body. */
static int check_domain(const struct rl_ctl_request *r, char *err, size_t errlen);
static int check_crash(const struct rl_ctl_request *r, char *err, size_t errlen);
static int check_crash_every(const struct rl_ctl_request *r, char *err, size_t errlen);

static const struct op_desc {
	const char *name;
	uint32_t body;  /* bytes after the header */
	uint32_t flags; /* RL_CTL_F_* it takes */
	int (*check)(const struct rl_ctl_request *r, char *err, size_t errlen);
} ops[RL_CTL_OP_END] = {
	[RL_CTL_OP_PS] = { "ps", 0, RL_CTL_F_JSON, NULL },
	[RL_CTL_OP_HEAP] = { "heap", 0, RL_CTL_F_JSON, NULL },
	[RL_CTL_OP_AUDIT] = { "audit", 0, 0, NULL },
	[RL_CTL_OP_CRASH] = { "crash", sizeof(struct rl_ctl_crash), 0, check_crash },
	[RL_CTL_OP_CRASH_EVERY] = { "crash-every", sizeof(struct rl_ctl_crash_every), 0, check_crash_every },
	[RL_CTL_OP_CRASH_STOP] = { "crash-stop", 0, 0, NULL },
	[RL_CTL_OP_RESTART] = { "restart", sizeof(struct rl_ctl_domain), 0, check_domain },
	[RL_CTL_OP_STOP] = { "stop", 0, 0, NULL },
};

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *rl_ctl_signal_refused(int sig)
{
	switch (sig) {
	case SIGSTOP:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
		return "stops the domain without ending it: its callers would wait for as long as it stays stopped";
	case SIGCONT:
	case SIGCHLD:
	case SIGURG:
	case SIGWINCH:
		return "is ignored by default: it would not end the domain";
	default:
		return NULL;
	}
}

/* A crash signal (0: a panic) that ends a domain; 0 or -EINVAL with why. */
static int check_signal(const char *what, int sig, char *err, size_t errlen)
{
	const char *why = sig > 0 ? rl_ctl_signal_refused(sig) : NULL;

	if (!why)
		return 0;
	return fail(err, errlen, -EINVAL, "%s: signal %d (SIG%s) %s", what, sig,
		    sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", why);
}

const char *rl_ctl_op_name(unsigned op, char *buf, size_t len)
{
	if (op && op < RL_CTL_OP_END)
		return ops[op].name;
	snprintf(buf, len, "op %u", op);
	return buf;
}

static bool is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

/* Up to n bytes of s (to a NUL) for a message, with anything unprintable as \xNN. */
static const char *show(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n && s[i] && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = 0;
	return out;
}

/* A name field as it arrived: terminated, not empty, allowed characters, zero after its end. */
static int check_name(const char name[RL_NAME_MAX], const char *what, char *err, size_t errlen)
{
	char shown[4 * RL_NAME_MAX + 1];
	const char *nul = memchr(name, 0, RL_NAME_MAX);

	if (!nul)
		return fail(err, errlen, -EINVAL, "%s '%s' is not NUL-terminated within %d bytes", what,
			    show(name, RL_NAME_MAX, shown, sizeof(shown)), RL_NAME_MAX);
	size_t len = (size_t)(nul - name);
	if (!len)
		return fail(err, errlen, -EINVAL, "%s is empty", what);
	for (size_t i = 0; i < len; i++)
		if (!is_name_char(name[i]))
			return fail(err, errlen, -EINVAL, "bad %s '%s': use only a-z, 0-9, '_' and '-'", what,
				    show(name, len, shown, sizeof(shown)));
	for (size_t i = len; i < RL_NAME_MAX; i++)
		if (name[i])
			return fail(err, errlen, -EINVAL, "%s '%s' has bytes other than 0 after its end", what,
				    show(name, len, shown, sizeof(shown)));
	return 0;
}

int rl_ctl_name_set(char dst[RL_NAME_MAX], const char *name, char *err, size_t errlen)
{
	char field[RL_NAME_MAX] = { 0 };
	char shown[4 * RL_NAME_MAX + 1];
	size_t len = strlen(name);

	if (len >= RL_NAME_MAX)
		return fail(err, errlen, -ENAMETOOLONG, "domain name '%s...' is too long (at most %d characters)",
			    show(name, RL_NAME_MAX - 1, shown, sizeof(shown)), RL_NAME_MAX - 1);
	memcpy(field, name, len);
	int r = check_name(field, "domain name", err, errlen);
	if (r)
		return r;
	memcpy(dst, field, RL_NAME_MAX);
	return 0;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int check_domain(const struct rl_ctl_request *r, char *err, size_t errlen)
{
	return check_name(r->body.domain.name, "domain name", err, errlen);
}

static int check_crash(const struct rl_ctl_request *r, char *err, size_t errlen)
{
	const struct rl_ctl_crash *c = &r->body.crash;
	int ret = check_name(c->name, "domain name", err, errlen);

	if (ret)
		return ret;
	if (!all_zero(c->reserved, sizeof(c->reserved)))
		return fail(err, errlen, -EINVAL, "crash: reserved bytes are not 0");
	switch (c->when) {
	case RL_CTL_CRASH_NOW:
		if (c->signal < 1 || c->signal > RL_CTL_SIGNAL_MAX)
			return fail(err, errlen, -EINVAL, "crash: signal %d out of range (1 to %d)", (int)c->signal,
				    RL_CTL_SIGNAL_MAX);
		if (c->at_call || c->point)
			return fail(err, errlen, -EINVAL, "crash: at_call %u and point %u with a crash now (both must be 0)",
				    c->at_call, c->point);
		return check_signal("crash", c->signal, err, errlen);
	case RL_CTL_CRASH_AT_CALL:
		if (c->signal < 0 || c->signal > RL_CTL_SIGNAL_MAX)
			return fail(err, errlen, -EINVAL, "crash: signal %d out of range (0 for a panic, or 1 to %d)",
				    (int)c->signal, RL_CTL_SIGNAL_MAX);
		if (!c->at_call)
			return fail(err, errlen, -EINVAL, "crash: at_call 0 (calls count from 1)");
		if (c->point > RL_CTL_POINT_AFTER)
			return fail(err, errlen, -EINVAL, "crash: point %u out of range (0 during, 1 before, 2 after)",
				    c->point);
		return check_signal("crash", c->signal, err, errlen);
	default:
		return fail(err, errlen, -EINVAL, "crash: 'when' %u out of range (0 now, 1 at a call)", c->when);
	}
}

static int check_crash_every(const struct rl_ctl_request *r, char *err, size_t errlen)
{
	const struct rl_ctl_crash_every *e = &r->body.every;
	char what[48];

	if (e->period_ns < RL_CTL_PERIOD_MIN_NS || e->period_ns > RL_CTL_PERIOD_MAX_NS)
		return fail(err, errlen, -EINVAL, "crash-every: period %llu ns out of range (1 ms to 1 day)",
			    (unsigned long long)e->period_ns);
	if (e->signal < 0 || e->signal > RL_CTL_SIGNAL_MAX)
		return fail(err, errlen, -EINVAL, "crash-every: signal %d out of range (0 for a panic, or 1 to %d)",
			    (int)e->signal, RL_CTL_SIGNAL_MAX);
	if (check_signal("crash-every", e->signal, err, errlen))
		return -EINVAL;
	if (e->pick > RL_CTL_PICK_RANDOM)
		return fail(err, errlen, -EINVAL, "crash-every: pick %u out of range (0 in turn, 1 at random)", e->pick);
	if (!all_zero(e->reserved, sizeof(e->reserved)))
		return fail(err, errlen, -EINVAL, "crash-every: reserved bytes are not 0");
	if (e->nnames < 1 || e->nnames > RL_CTL_NAMES_MAX)
		return fail(err, errlen, -EINVAL, "crash-every: %u domain names (1 to %d)", e->nnames,
			    RL_CTL_NAMES_MAX);
	for (unsigned i = 0; i < e->nnames; i++) {
		snprintf(what, sizeof(what), "domain name %u", i + 1);
		int ret = check_name(e->names[i], what, err, errlen);
		if (ret)
			return ret;
	}
	if (!all_zero(e->names[e->nnames], (size_t)(RL_CTL_NAMES_MAX - e->nnames) * RL_NAME_MAX))
		return fail(err, errlen, -EINVAL, "crash-every: bytes after the %u domain names are not 0", e->nnames);
	return 0;
}

int rl_ctl_header_check(const void *buf, size_t len, size_t *total, char *err, size_t errlen)
{
	const uint32_t magic = RL_CTL_MAGIC;
	struct rl_ctl_header h = { 0 };
	char name[16];

	memcpy(&h, buf, len < sizeof(h) ? len : sizeof(h));
	/* Each field is judged as soon as its bytes are in: garbage is refused without waiting for more. */
	if (memcmp(&h, &magic, len < sizeof(magic) ? len : sizeof(magic))) {
		const unsigned char *b = buf;
		char start[16] = "";
		size_t n = 0;
		for (size_t i = 0; i < len && i < sizeof(magic); i++)
			n += (size_t)snprintf(start + n, sizeof(start) - n, "%s%02x", i ? " " : "", b[i]);
		return fail(err, errlen, -EPROTO, "not a redleaf control request (it starts with bytes %s, not 'rlct')",
			    start);
	}
	if (len >= offsetof(struct rl_ctl_header, op) && h.version != RL_CTL_VERSION)
		return fail(err, errlen, -EPROTONOSUPPORT, "control protocol version %u; this broker speaks %d",
			    h.version, RL_CTL_VERSION);
	if (len >= offsetof(struct rl_ctl_header, length) && (!h.op || h.op >= RL_CTL_OP_END))
		return fail(err, errlen, -EOPNOTSUPP, "unknown request op %u", h.op);
	if (len >= offsetof(struct rl_ctl_header, flags) && h.length != sizeof(h) + ops[h.op].body)
		return fail(err, errlen, -EBADMSG, "request %s has length %u; in version %d it has %zu",
			    rl_ctl_op_name(h.op, name, sizeof(name)), h.length, RL_CTL_VERSION,
			    sizeof(h) + ops[h.op].body);
	if (len < sizeof(h))
		return -EAGAIN;
	if (h.flags & ~ops[h.op].flags)
		return fail(err, errlen, -EINVAL, "flags 0x%x are not valid for %s", h.flags & ~ops[h.op].flags,
			    ops[h.op].name);
	*total = h.length;
	return 0;
}

int rl_ctl_decode(const void *buf, size_t len, struct rl_ctl_request *out, char *err, size_t errlen)
{
	struct rl_ctl_request r;
	size_t total = 0;
	int ret = rl_ctl_header_check(buf, len, &total, err, errlen);

	if (ret == -EAGAIN)
		return len ? fail(err, errlen, -EBADMSG, "truncated request header: %zu of %zu bytes", len,
				  sizeof(struct rl_ctl_header))
			   : fail(err, errlen, -EBADMSG, "empty request");
	if (ret)
		return ret;
	memset(&r, 0, sizeof(r));
	memcpy(&r, buf, total < len ? total : len);
	if (len < total)
		return fail(err, errlen, -EBADMSG, "truncated request %s: %zu of %zu bytes", ops[r.hdr.op].name, len,
			    total);
	if (len > total)
		return fail(err, errlen, -EBADMSG, "%zu bytes after the request's %zu", len - total, total);
	if (ops[r.hdr.op].check && (ret = ops[r.hdr.op].check(&r, err, errlen)))
		return ret;
	memcpy(out, &r, sizeof(r));
	return 0;
}

int rl_ctl_encode(struct rl_ctl_request *req, enum rl_ctl_op op, uint32_t flags, char *err, size_t errlen)
{
	struct rl_ctl_request check;

	if ((unsigned)op == 0 || op >= RL_CTL_OP_END)
		return fail(err, errlen, -EOPNOTSUPP, "unknown request op %u", (unsigned)op);
	req->hdr = (struct rl_ctl_header){
		.magic = RL_CTL_MAGIC,
		.version = RL_CTL_VERSION,
		.op = (uint16_t)op,
		.length = (uint32_t)(sizeof(req->hdr) + ops[op].body),
		.flags = flags,
	};
	return rl_ctl_decode(req, req->hdr.length, &check, err, errlen);
}

void rl_ctl_reply_init(struct rl_ctl_reply *reply, unsigned op, int status, size_t text_len)
{
	*reply = (struct rl_ctl_reply){
		.magic = RL_CTL_REPLY_MAGIC,
		.version = RL_CTL_VERSION,
		.op = (uint16_t)(op < RL_CTL_OP_END ? op : 0),
		.status = status,
		.length = (uint32_t)(text_len < RL_CTL_REPLY_TEXT_MAX ? text_len : RL_CTL_REPLY_TEXT_MAX),
	};
}

int rl_ctl_reply_decode(const void *buf, size_t len, struct rl_ctl_reply *out, char *err, size_t errlen)
{
	struct rl_ctl_reply r;

	if (len < sizeof(r))
		return fail(err, errlen, -EBADMSG, "short answer header: %zu of %zu bytes", len, sizeof(r));
	memcpy(&r, buf, sizeof(r));
	if (r.magic != RL_CTL_REPLY_MAGIC)
		return fail(err, errlen, -EBADMSG, "not a redleaf control answer (magic 0x%08x)", r.magic);
	if (!r.version)
		return fail(err, errlen, -EBADMSG, "answer of control protocol version 0");
	if (r.status > 0 || r.status < -4095)
		return fail(err, errlen, -EBADMSG, "answer status %d is not 0 or a negative errno", (int)r.status);
	if (r.length > RL_CTL_REPLY_TEXT_MAX)
		return fail(err, errlen, -EBADMSG, "answer of %u bytes (at most %u)", r.length, RL_CTL_REPLY_TEXT_MAX);
	*out = r;
	return 0;
}

/* ---- the socket, both sides ---- */

int rl_ctl_socket_address(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int rl_ctl_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* recv() again when a signal interrupts it: the bytes read, 0 at end of file or on an error. */
size_t rl_ctl_recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t n;

	do
		n = recv(fd, buf, len, flags);
	while (n < 0 && errno == EINTR);
	return n > 0 ? (size_t)n : 0;
}

/*
 * Reads one request into buf: its header, then as many bytes as the header
 * says, and no more; stops early at a header that can never be valid, at
 * end of file, or when the whole request took longer than
 * REQUEST_TIMEOUT_NS. Returns the bytes read; rl_ctl_decode() says what is
 * wrong with them.
 */
