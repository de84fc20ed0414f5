// SPDX-License-Identifier: MIT
/*
 * The control protocol's encoder and decoder (src/ctl_proto.h): every op
 * round-trips field for field; the bytes of a request are the documented
 * ones; every way a request can be wrong is refused with its errno and a
 * message that says what is wrong, leaving the output untouched; and the
 * reply header checks its own fields.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "../helpers.h"
#include "ctl-requests.h"

static char err[256];

static struct rl_ctl_request crash_request(const char *name, uint8_t when, int sig, uint32_t at_call, uint8_t point)
{
	struct rl_ctl_request req = { 0 };

	t_assert_eq(rl_ctl_name_set(req.body.crash.name, name, err, sizeof(err)), 0);
	req.body.crash.when = when;
	req.body.crash.signal = sig;
	req.body.crash.at_call = at_call;
	req.body.crash.point = point;
	return req;
}

/* Decodes len bytes of msg and checks the result is exactly msg. */
static void round_trip(const struct rl_ctl_request *msg, const char *what)
{
	struct rl_ctl_request out;
	size_t total = 0;

	memset(&out, 0x5a, sizeof(out));
	int r = rl_ctl_decode(msg, msg->hdr.length, &out, err, sizeof(err));
	t_check(r == 0, "%s: decode: %d (%s)", what, r, err);
	t_check(!memcmp(&out, msg, msg->hdr.length), "%s: decoded request differs from the encoded one", what);
	t_check(rl_ctl_header_check(msg, msg->hdr.length, &total, err, sizeof(err)) == 0 && total == msg->hdr.length,
		"%s: header check gives length %zu", what, total);
	/* Every proper prefix is "read more" to the header check and "truncated" to the decoder. */
	for (size_t cut = 0; cut < msg->hdr.length; cut++) {
		int h = rl_ctl_header_check(msg, cut, &total, err, sizeof(err));
		t_check(cut < sizeof(struct rl_ctl_header) ? h == -EAGAIN : h == 0, "%s: header check of %zu bytes: %d",
			what, cut, h);
		r = rl_ctl_decode(msg, cut, &out, err, sizeof(err));
		t_check(r == -EBADMSG && (strstr(err, "truncated") || strstr(err, "empty")),
			"%s: %zu of %u bytes: %d (%s)", what, cut, msg->hdr.length, r, err);
	}
}

static void test_round_trips(void)
{
	struct rl_ctl_request none = { 0 }, req;

	req = t_ctl_encoded(none, RL_CTL_OP_PS, 0);
	t_assert_eq(req.hdr.length, 16);
	round_trip(&req, "ps");
	req = t_ctl_encoded(none, RL_CTL_OP_PS, RL_CTL_F_JSON);
	t_assert_eq(req.hdr.flags, RL_CTL_F_JSON);
	round_trip(&req, "ps --json");
	req = t_ctl_encoded(none, RL_CTL_OP_HEAP, RL_CTL_F_JSON);
	round_trip(&req, "heap --json");
	req = t_ctl_encoded(none, RL_CTL_OP_AUDIT, 0);
	round_trip(&req, "audit");
	req = t_ctl_encoded(none, RL_CTL_OP_CRASH_STOP, 0);
	round_trip(&req, "crash --stop");
	req = t_ctl_encoded(none, RL_CTL_OP_STOP, 0);
	round_trip(&req, "stop");

	req = none;
	t_assert_eq(rl_ctl_name_set(req.body.domain.name, "blk-client_2", err, sizeof(err)), 0);
	req = t_ctl_encoded(req, RL_CTL_OP_RESTART, 0);
	t_assert_eq(req.hdr.length, 16 + 32);
	round_trip(&req, "restart");

	req = t_ctl_encoded(crash_request("callee", RL_CTL_CRASH_NOW, SIGKILL, 0, 0), RL_CTL_OP_CRASH, 0);
	t_assert_eq(req.hdr.length, 16 + 48);
	round_trip(&req, "crash now");
	req = t_ctl_encoded(crash_request("callee", RL_CTL_CRASH_AT_CALL, 0, 3, RL_CTL_POINT_AFTER), RL_CTL_OP_CRASH, 0);
	round_trip(&req, "crash --at-call 3 --point after");
	req = t_ctl_encoded(crash_request("callee", RL_CTL_CRASH_AT_CALL, RL_CTL_SIGNAL_MAX, UINT32_MAX, RL_CTL_POINT_BEFORE),
		      RL_CTL_OP_CRASH, 0);
	round_trip(&req, "crash at the last call with the last signal");

	/* A name of RL_NAME_MAX - 1 characters fills its field but for the NUL. */
	char longest[RL_NAME_MAX];
	memset(longest, 'z', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = 0;
	req = t_ctl_encoded(crash_request(longest, RL_CTL_CRASH_NOW, SIGSEGV, 0, 0), RL_CTL_OP_CRASH, 0);
	round_trip(&req, "crash a domain with the longest name");

	req = none;
	req.body.every.period_ns = RL_CTL_PERIOD_MIN_NS;
	req.body.every.signal = 0;
	req.body.every.pick = RL_CTL_PICK_RANDOM;
	for (unsigned i = 0; i < RL_CTL_NAMES_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "d%u", i);
		t_assert_eq(rl_ctl_name_set(req.body.every.names[i], name, err, sizeof(err)), 0);
	}
	req.body.every.nnames = RL_CTL_NAMES_MAX;
	req = t_ctl_encoded(req, RL_CTL_OP_CRASH_EVERY, 0);
	t_assert_eq(req.hdr.length, 16 + 16 + RL_CTL_NAMES_MAX * RL_NAME_MAX);
	round_trip(&req, "crash --every 1ms --random --panic (64 domains)");
	req.body.every.nnames = 1;
	memset(req.body.every.names[1], 0, sizeof(req.body.every.names) - RL_NAME_MAX);
	req.body.every.period_ns = RL_CTL_PERIOD_MAX_NS;
	req.body.every.signal = SIGTERM;
	req.body.every.pick = RL_CTL_PICK_IN_TURN;
	req = t_ctl_encoded(req, RL_CTL_OP_CRASH_EVERY, 0);
	round_trip(&req, "crash --every 1d --signal TERM (1 domain)");
}

/* The bytes on the wire, written out: what another implementation would have to send. */
static void test_wire_bytes(void)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	static const unsigned char ps_json[16] = {
		'r', 'l', 'c', 't', /* magic */
		1, 0,               /* version */
		RL_CTL_OP_PS, 0,    /* op */
		16, 0, 0, 0,        /* length */
		1, 0, 0, 0,         /* flags: RL_CTL_F_JSON */
	};
	static const unsigned char crash_tail[16] = {
		11, 0, 0, 0, /* signal: SIGSEGV */
		2, 0, 0, 0,  /* at_call */
		1,           /* when: at a call */
		1,           /* point: before */
		0, 0, 0, 0, 0, 0,
	};
	struct rl_ctl_request none = { 0 };
	struct rl_ctl_request req = t_ctl_encoded(none, RL_CTL_OP_PS, RL_CTL_F_JSON);

	t_check(!memcmp(&req, ps_json, sizeof(ps_json)), "ps --json is not the documented 16 bytes");
	t_check(rl_ctl_decode(ps_json, sizeof(ps_json), &req, err, sizeof(err)) == 0, "documented ps --json: %s", err);

	req = t_ctl_encoded(crash_request("ab", RL_CTL_CRASH_AT_CALL, SIGSEGV, 2, RL_CTL_POINT_BEFORE), RL_CTL_OP_CRASH, 0);
	const unsigned char *b = (const unsigned char *)&req;
	t_check(b[8] == 64 && b[16] == 'a' && b[17] == 'b' && b[18] == 0, "crash: length or name bytes");
	t_check(!memcmp(b + 48, crash_tail, sizeof(crash_tail)), "crash: the bytes after the name");
#endif
}

/* A bad request: the bytes of a good one with one thing changed, and what the decoder must say. */
struct bad {
	const char *what;
	int error;
	const char *message;
};

static void expect_bad(const void *buf, size_t len, const struct bad *b)
{
	struct rl_ctl_request out, before;

	memset(&out, 0xa5, sizeof(out));
	before = out;
	memset(err, 0, sizeof(err));
	int r = rl_ctl_decode(buf, len, &out, err, sizeof(err));
	t_check(r == b->error, "%s: decode returned %d, expected %d (%s)", b->what, r, b->error, err);
	t_check(strstr(err, b->message) != NULL, "%s: message '%s' does not say '%s'", b->what, err, b->message);
	t_check(!strchr(err, '\n'), "%s: message spans lines", b->what);
	t_check(!memcmp(&out, &before, sizeof(out)), "%s: output written on failure", b->what);
	/* Without a message buffer the result is the same. */
	t_check(rl_ctl_decode(buf, len, &out, NULL, 0) == r, "%s: result depends on the message buffer", b->what);
}

static void test_bad_headers(void)
{
	struct rl_ctl_request none = { 0 };
	struct rl_ctl_request ps = t_ctl_encoded(none, RL_CTL_OP_PS, 0), m;
	size_t total;

	expect_bad(&ps, 0, &(struct bad){ "nothing", -EBADMSG, "empty request" });
	expect_bad(&ps, 5, &(struct bad){ "5 bytes", -EBADMSG, "truncated request header: 5 of 16 bytes" });
	expect_bad("ps\n", 3, &(struct bad){ "a text request", -EPROTO, "not a redleaf control request" });
	expect_bad("ps\n", 3, &(struct bad){ "a text request", -EPROTO, "starts with bytes 70 73 0a" });
	/* Garbage is refused from its first wrong byte: the broker need not wait for more. */
	t_assert_eq(rl_ctl_header_check("x", 1, &total, err, sizeof(err)), -EPROTO);
	t_assert_eq(rl_ctl_header_check("rl", 2, &total, err, sizeof(err)), -EAGAIN);

	m = ps;
	m.hdr.magic ^= 0x100;
	expect_bad(&m, 16, &(struct bad){ "magic", -EPROTO, "not a redleaf control request" });
	m = ps;
	m.hdr.version = 3;
	expect_bad(&m, 16, &(struct bad){ "version 3", -EPROTONOSUPPORT, "control protocol version 3; this broker speaks 1" });
	expect_bad(&m, 6, &(struct bad){ "version 3, header cut", -EPROTONOSUPPORT, "version 3" });
	m.hdr.version = 0;
	expect_bad(&m, 16, &(struct bad){ "version 0", -EPROTONOSUPPORT, "control protocol version 0" });
	m = ps;
	m.hdr.op = 17;
	expect_bad(&m, 16, &(struct bad){ "op 17", -EOPNOTSUPP, "unknown request op 17" });
	m.hdr.op = 0;
	expect_bad(&m, 16, &(struct bad){ "op 0", -EOPNOTSUPP, "unknown request op 0" });
	m.hdr.op = RL_CTL_OP_END;
	expect_bad(&m, 16, &(struct bad){ "op END", -EOPNOTSUPP, "unknown request op" });
	m = ps;
	m.hdr.length = 17;
	expect_bad(&m, 17, &(struct bad){ "ps of 17 bytes", -EBADMSG, "request ps has length 17; in version 1 it has 16" });
	m.hdr.length = UINT32_MAX;
	expect_bad(&m, 16, &(struct bad){ "ps of 4 GiB", -EBADMSG, "has length 4294967295" });
	m = ps;
	expect_bad(&m, 17, &(struct bad){ "a byte after", -EBADMSG, "1 bytes after the request's 16" });
	m.hdr.flags = 0x80;
	expect_bad(&m, 16, &(struct bad){ "unknown flag", -EINVAL, "flags 0x80 are not valid for ps" });
	m = t_ctl_encoded(none, RL_CTL_OP_STOP, 0);
	m.hdr.flags = RL_CTL_F_JSON;
	expect_bad(&m, 16, &(struct bad){ "stop --json", -EINVAL, "flags 0x1 are not valid for stop" });

	m = t_ctl_encoded(crash_request("callee", RL_CTL_CRASH_NOW, SIGKILL, 0, 0), RL_CTL_OP_CRASH, 0);
	expect_bad(&m, 40, &(struct bad){ "crash cut", -EBADMSG, "truncated request crash: 40 of 64 bytes" });
	m.hdr.length = 16 + 32;
	expect_bad(&m, 48, &(struct bad){ "crash with restart's length", -EBADMSG, "request crash has length 48" });
}

static void test_bad_bodies(void)
{
	struct rl_ctl_request none = { 0 };
	struct rl_ctl_request good = t_ctl_encoded(crash_request("callee", RL_CTL_CRASH_AT_CALL, 0, 1, 0), RL_CTL_OP_CRASH, 0);
	struct rl_ctl_request m;
	struct rl_ctl_crash *c = &m.body.crash;

#define BAD(edit, errno_, text)                                                       \
	do {                                                                          \
		m = good;                                                             \
		edit;                                                                 \
		expect_bad(&m, m.hdr.length, &(struct bad){ #edit, errno_, text }); \
	} while (0)
	BAD(memset(c->name, 'a', RL_NAME_MAX), -EINVAL, "is not NUL-terminated within 32 bytes");
	BAD(memset(c->name, 0, RL_NAME_MAX), -EINVAL, "domain name is empty");
	BAD(c->name[0] = 'C', -EINVAL, "bad domain name 'Callee': use only a-z, 0-9, '_' and '-'");
	BAD(memcpy(c->name, "../x", 5), -EINVAL, "bad domain name '../x'");
	BAD(c->name[1] = '\n', -EINVAL, "bad domain name 'c\\x0allee'");
	BAD(c->name[20] = 'x', -EINVAL, "domain name 'callee' has bytes other than 0 after its end");
	BAD(c->when = 7, -EINVAL, "crash: 'when' 7 out of range");
	BAD(c->point = 3, -EINVAL, "crash: point 3 out of range");
	BAD(c->signal = 65, -EINVAL, "crash: signal 65 out of range (0 for a panic, or 1 to 64)");
	BAD(c->signal = -1, -EINVAL, "crash: signal -1 out of range");
	BAD(c->at_call = 0, -EINVAL, "crash: at_call 0");
	BAD(c->reserved[5] = 1, -EINVAL, "crash: reserved bytes are not 0");
	/* Signals that would not end the domain: a stopped one leaves its callers waiting. */
	BAD(c->signal = SIGSTOP, -EINVAL, "crash: signal 19 (SIGSTOP) stops the domain without ending it");
	BAD((c->when = RL_CTL_CRASH_NOW, c->at_call = 0, c->signal = SIGTSTP), -EINVAL, "(SIGTSTP) stops the domain");
	BAD((c->when = RL_CTL_CRASH_NOW, c->at_call = 0, c->signal = SIGCHLD), -EINVAL,
	    "(SIGCHLD) is ignored by default: it would not end the domain");
	BAD((c->when = RL_CTL_CRASH_NOW, c->at_call = 0), -EINVAL, "crash: signal 0 out of range (1 to 64)");
	BAD((c->when = RL_CTL_CRASH_NOW, c->signal = 9), -EINVAL, "at_call 1 and point 0 with a crash now");
	BAD((c->when = RL_CTL_CRASH_NOW, c->signal = 9, c->at_call = 0, c->point = 2), -EINVAL, "point 2 with a crash now");

	good = none;
	good.body.every.period_ns = 15000000;
	good.body.every.signal = SIGKILL;
	good.body.every.nnames = 2;
	t_assert_eq(rl_ctl_name_set(good.body.every.names[0], "ramblk1", err, sizeof(err)), 0);
	t_assert_eq(rl_ctl_name_set(good.body.every.names[1], "ramblk2", err, sizeof(err)), 0);
	good = t_ctl_encoded(good, RL_CTL_OP_CRASH_EVERY, 0);
	struct rl_ctl_crash_every *e = &m.body.every;
	BAD(e->period_ns = RL_CTL_PERIOD_MIN_NS - 1, -EINVAL, "period 999999 ns out of range (1 ms to 1 day)");
	BAD(e->period_ns = RL_CTL_PERIOD_MAX_NS + 1, -EINVAL, "period 86400000000001 ns out of range");
	BAD(e->signal = 99, -EINVAL, "crash-every: signal 99 out of range");
	BAD(e->pick = 2, -EINVAL, "crash-every: pick 2 out of range");
	BAD(e->signal = SIGCONT, -EINVAL, "crash-every: signal 18 (SIGCONT) is ignored by default");
	BAD(e->reserved[0] = 1, -EINVAL, "crash-every: reserved bytes are not 0");
	BAD(e->nnames = 0, -EINVAL, "crash-every: 0 domain names (1 to 64)");
	BAD(e->nnames = 200, -EINVAL, "crash-every: 200 domain names (1 to 64)");
	BAD(e->nnames = RL_CTL_NAMES_MAX + 1, -EINVAL, "crash-every: 65 domain names (1 to 64)");
	BAD(e->nnames = 3, -EINVAL, "domain name 3 is empty");
	BAD(e->names[1][0] = '/', -EINVAL, "bad domain name 2 '/amblk2'");
	BAD(e->names[RL_CTL_NAMES_MAX - 1][31] = 'x', -EINVAL, "bytes after the 2 domain names are not 0");
	BAD(e->names[1][31] = 'x', -EINVAL, "domain name 2 'ramblk2' has bytes other than 0 after its end");
	BAD(memset(e->names[1], 'q', RL_NAME_MAX), -EINVAL, "domain name 2 'qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq' is not NUL-terminated");

	good = none;
	t_assert_eq(rl_ctl_name_set(good.body.domain.name, "caller", err, sizeof(err)), 0);
	good = t_ctl_encoded(good, RL_CTL_OP_RESTART, 0);
	BAD(m.body.domain.name[6] = '!', -EINVAL, "bad domain name 'caller!'");
#undef BAD
}

static void test_encoder_refuses(void)
{
	struct rl_ctl_request req = { 0 };

	t_assert_eq(rl_ctl_encode(&req, 0, 0, err, sizeof(err)), -EOPNOTSUPP);
	t_assert_eq(rl_ctl_encode(&req, RL_CTL_OP_END, 0, err, sizeof(err)), -EOPNOTSUPP);
	t_assert_eq(rl_ctl_encode(&req, RL_CTL_OP_AUDIT, RL_CTL_F_JSON, err, sizeof(err)), -EINVAL);
	/* A body left zero is not a request: a crash needs a name and a signal. */
	t_assert_eq(rl_ctl_encode(&req, RL_CTL_OP_CRASH, 0, err, sizeof(err)), -EINVAL);
	t_check(strstr(err, "domain name is empty") != NULL, "empty crash: %s", err);
	req = crash_request("callee", RL_CTL_CRASH_NOW, 0, 0, 0);
	t_assert_eq(rl_ctl_encode(&req, RL_CTL_OP_CRASH, 0, err, sizeof(err)), -EINVAL);
	t_assert_eq(rl_ctl_encode(&req, RL_CTL_OP_CRASH_EVERY, 0, err, sizeof(err)), -EINVAL);
}

static void test_names(void)
{
	char field[RL_NAME_MAX], before[RL_NAME_MAX];
	char name[RL_NAME_MAX + 1];

	memset(field, 0x77, sizeof(field));
	memcpy(before, field, sizeof(field));
	t_assert_eq(rl_ctl_name_set(field, "", err, sizeof(err)), -EINVAL);
	t_assert_eq(rl_ctl_name_set(field, "Caps", err, sizeof(err)), -EINVAL);
	t_check(strstr(err, "use only a-z, 0-9, '_' and '-'") != NULL, "bad character: %s", err);
	t_assert_eq(rl_ctl_name_set(field, "a b", err, sizeof(err)), -EINVAL);
	t_assert_eq(rl_ctl_name_set(field, "a,b", err, sizeof(err)), -EINVAL);
	memset(name, 'n', RL_NAME_MAX);
	name[RL_NAME_MAX] = 0;
	t_assert_eq(rl_ctl_name_set(field, name, err, sizeof(err)), -ENAMETOOLONG);
	t_check(strstr(err, "is too long (at most 31 characters)") != NULL, "too long: %s", err);
	t_check(!memcmp(field, before, sizeof(field)), "name field written on failure");
	name[RL_NAME_MAX - 1] = 0;
	t_assert_eq(rl_ctl_name_set(field, name, err, sizeof(err)), 0);
	t_assert_eq(field[RL_NAME_MAX - 1], 0);
	t_assert_eq(rl_ctl_name_set(field, "x", err, sizeof(err)), 0);
	for (unsigned i = 1; i < RL_NAME_MAX; i++)
		t_check(field[i] == 0, "name field not NUL-padded at %u", i);
}

static void test_reply(void)
{
	struct rl_ctl_reply reply, out;

	rl_ctl_reply_init(&reply, RL_CTL_OP_CRASH, -ENOENT, 42);
	t_assert_eq(rl_ctl_reply_decode(&reply, sizeof(reply), &out, err, sizeof(err)), 0);
	t_check(out.magic == RL_CTL_REPLY_MAGIC && out.version == RL_CTL_VERSION && out.op == RL_CTL_OP_CRASH &&
			out.status == -ENOENT && out.length == 42,
		"reply fields do not round-trip");
	rl_ctl_reply_init(&reply, 999, 0, (size_t)RL_CTL_REPLY_TEXT_MAX + 5);
	t_check(reply.op == 0 && reply.length == RL_CTL_REPLY_TEXT_MAX, "reply op or length not clamped");

	/* Any version's reply is read: its header is the same in every version. */
	reply.version = 7;
	t_assert_eq(rl_ctl_reply_decode(&reply, sizeof(reply), &out, err, sizeof(err)), 0);

	struct rl_ctl_reply bad = reply;
	memset(&out, 0x33, sizeof(out));
	struct rl_ctl_reply before = out;
	t_assert_eq(rl_ctl_reply_decode(&bad, sizeof(bad) - 1, &out, err, sizeof(err)), -EBADMSG);
	bad.magic = RL_CTL_MAGIC; /* a request is not a reply */
	t_assert_eq(rl_ctl_reply_decode(&bad, sizeof(bad), &out, err, sizeof(err)), -EBADMSG);
	bad = reply;
	bad.status = 1;
	t_assert_eq(rl_ctl_reply_decode(&bad, sizeof(bad), &out, err, sizeof(err)), -EBADMSG);
	bad.status = -5000;
	t_assert_eq(rl_ctl_reply_decode(&bad, sizeof(bad), &out, err, sizeof(err)), -EBADMSG);
	bad = reply;
	bad.length = RL_CTL_REPLY_TEXT_MAX + 1;
	t_assert_eq(rl_ctl_reply_decode(&bad, sizeof(bad), &out, err, sizeof(err)), -EBADMSG);
	bad = reply;
	bad.version = 0;
	t_assert_eq(rl_ctl_reply_decode(&bad, sizeof(bad), &out, err, sizeof(err)), -EBADMSG);
	t_check(!memcmp(&out, &before, sizeof(out)), "reply output written on failure");
}

static void test_op_names(void)
{
	char buf[16];

	t_check(!strcmp(rl_ctl_op_name(RL_CTL_OP_CRASH_EVERY, buf, sizeof(buf)), "crash-every"), "op name");
	t_check(!strcmp(rl_ctl_op_name(17, buf, sizeof(buf)), "op 17"), "out-of-range op name");
	for (unsigned op = 1; op < RL_CTL_OP_END; op++)
		t_check(strncmp(rl_ctl_op_name(op, buf, sizeof(buf)), "op ", 3) != 0, "op %u has no name", op);
}

int main(void)
{
	test_round_trips();
	test_wire_bytes();
	test_bad_headers();
	test_bad_bodies();
	test_encoder_refuses();
	test_names();
	test_reply();
	test_op_names();
	if (t_failures)
		fprintf(stderr, "%u of %u checks failed\n", t_failures, t_checks);
	else
		printf("%u checks passed\n", t_checks);
	return t_failures || t_result() ? 1 : 0;
}
