// SPDX-License-Identifier: MIT
/*
 * Control protocol fuzz target. The broker runs rl_ctl_decode() on whatever
 * a client sends (and the CLI runs rl_ctl_reply_decode() on what comes
 * back), so every committed input under corpus/ is replayed in every CI
 * run, plain and under ASan/UBSan: whole, cut at every length, and with
 * every single edit of its fields (edit_and_replay). Besides "no crash", each result must keep
 * the API's promises, checked here independently of the decoder's own
 * code: a request it accepts is exactly the bytes sent, has every field in
 * range and encodes back to the same bytes; one it refuses gets one of the
 * documented errnos and a one-line printable message, and *out untouched.
 *
 * The corpus pins the wire format too: files named valid-* must decode,
 * bad-* must be refused with the errno their name gives (bad_kinds), and
 * reply-* must read as answers, so a layout change that is not a version bump
 * fails here. `fuzz-ctl --write-corpus DIR` writes the corpus (it was made
 * that way; regenerate it when RL_CTL_VERSION changes).
 *
 * Usage: fuzz-ctl DIR|FILE...   (exit 0 pass, 1 fail)
 * Built with -DRL_LIBFUZZER, only LLVMFuzzerTestOneInput() is compiled.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../corpus.h"
#include "ctl-requests.h"

static const char *current; /* the corpus file being replayed, for failure messages */

static void __attribute__((noreturn)) broken(const char *what, const char *err)
{
	fprintf(stderr, "FAIL: %s: %s (message: %s)\n", current ? current : "input", what, err ? err : "");
	exit(1);
}

static bool good_name(const char name[RL_NAME_MAX])
{
	size_t n = strnlen(name, RL_NAME_MAX);

	if (n == 0 || n == RL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_-", name[i]))
			return false;
	for (size_t i = n; i < RL_NAME_MAX; i++)
		if (name[i])
			return false;
	return true;
}

static bool zero(const void *p, size_t n)
{
	static const uint8_t zeros[sizeof(struct rl_ctl_request)];

	return n <= sizeof(zeros) && !memcmp(p, zeros, n);
}

/* What an accepted request must be, whatever the decoder thinks. */
static void check_request(const struct rl_ctl_request *r, const uint8_t *data, size_t len)
{
	const struct rl_ctl_crash *c = &r->body.crash;
	const struct rl_ctl_crash_every *e = &r->body.every;

	if (r->hdr.length != len || memcmp(r, data, len))
		broken("accepted request is not the bytes sent", NULL);
	if (r->hdr.magic != RL_CTL_MAGIC || r->hdr.version != RL_CTL_VERSION || !r->hdr.op ||
	    r->hdr.op >= RL_CTL_OP_END)
		broken("accepted a header out of range", NULL);
	if (r->hdr.flags & ~(uint32_t)RL_CTL_F_JSON ||
	    (r->hdr.flags && r->hdr.op != RL_CTL_OP_PS && r->hdr.op != RL_CTL_OP_HEAP))
		broken("accepted flags the op does not take", NULL);
	switch (r->hdr.op) {
	case RL_CTL_OP_RESTART:
		if (len != 16 + sizeof(struct rl_ctl_domain) || !good_name(r->body.domain.name))
			broken("accepted a bad restart", NULL);
		break;
	case RL_CTL_OP_CRASH:
		if (len != 16 + sizeof(*c) || !good_name(c->name) || !zero(c->reserved, sizeof(c->reserved)))
			broken("accepted a bad crash", NULL);
		if (c->when == RL_CTL_CRASH_NOW ? c->signal < 1 || c->signal > RL_CTL_SIGNAL_MAX || c->at_call || c->point
		    : c->when == RL_CTL_CRASH_AT_CALL ? c->signal < 0 || c->signal > RL_CTL_SIGNAL_MAX || !c->at_call ||
							 c->point > RL_CTL_POINT_AFTER
						       : true)
			broken("accepted a crash with a field out of range", NULL);
		break;
	case RL_CTL_OP_CRASH_EVERY:
		if (len != 16 + sizeof(*e) || e->nnames < 1 || e->nnames > RL_CTL_NAMES_MAX ||
		    e->period_ns < RL_CTL_PERIOD_MIN_NS || e->period_ns > RL_CTL_PERIOD_MAX_NS || e->signal < 0 ||
		    e->signal > RL_CTL_SIGNAL_MAX || e->pick > RL_CTL_PICK_RANDOM || !zero(e->reserved, sizeof(e->reserved)))
			broken("accepted a crash-every with a field out of range", NULL);
		for (unsigned i = 0; i < RL_CTL_NAMES_MAX; i++)
			if (i < e->nnames ? !good_name(e->names[i]) : !zero(e->names[i], RL_NAME_MAX))
				broken("accepted a crash-every with a bad name", e->names[i]);
		break;
	default:
		if (len != 16)
			broken("accepted a body on an op without one", NULL);
	}
	/* The encoder accepts what the decoder accepted, and makes the same bytes. */
	struct rl_ctl_request again = *r;
	char err[256];
	if (rl_ctl_encode(&again, r->hdr.op, r->hdr.flags, err, sizeof(err)) || memcmp(&again, data, len))
		broken("accepted request does not encode back to itself", err);
}

static void check_message(const char *err, size_t size)
{
	if (!memchr(err, 0, size))
		broken("message not terminated", NULL);
	if (!err[0])
		broken("empty message", NULL);
	for (const char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			broken("message holds an unprintable byte (it goes to a terminal)", err);
}

/* Returns the decoder's result, after checking every promise around it. */
static int replay(const uint8_t *data, size_t len)
{
	struct rl_ctl_request out, sentinel;
	struct rl_ctl_reply reply, reply_sentinel;
	char err[256];
	size_t total = 0;

	memset(&sentinel, 0xa5, sizeof(sentinel));
	out = sentinel;
	memset(err, 'Z', sizeof(err));
	int r = rl_ctl_decode(data, len, &out, err, sizeof(err));
	if (r == 0) {
		check_request(&out, data, len);
	} else {
		if (r != -EPROTO && r != -EPROTONOSUPPORT && r != -EOPNOTSUPP && r != -EBADMSG && r != -EINVAL)
			broken("unexpected return value", err);
		if (memcmp(&out, &sentinel, sizeof(out)))
			broken("out written on failure", err);
		check_message(err, sizeof(err));
		/* What the broker reads by: a header error is the request's error. */
		int h = rl_ctl_header_check(data, len, &total, NULL, 0);
		if (h && h != -EAGAIN && h != r)
			broken("header check and decoder disagree", err);
	}

	memset(&reply_sentinel, 0x5a, sizeof(reply_sentinel));
	reply = reply_sentinel;
	memset(err, 'Z', sizeof(err));
	int rr = rl_ctl_reply_decode(data, len, &reply, err, sizeof(err));
	if (rr == 0) {
		if (reply.magic != RL_CTL_REPLY_MAGIC || reply.status > 0 || reply.status < -4095 ||
		    reply.length > RL_CTL_REPLY_TEXT_MAX || memcmp(&reply, data, sizeof(reply)))
			broken("accepted a bad reply header", NULL);
	} else {
		if (rr != -EBADMSG || memcmp(&reply, &reply_sentinel, sizeof(reply)))
			broken("reply decoder: unexpected result or out written", err);
		check_message(err, sizeof(err));
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	replay(data, len);
	return 0;
}

#ifndef RL_LIBFUZZER

/* Values that steer the decoder into its corners, written over 1, 2, 4 or 8 bytes. */
static const uint64_t values[] = {
	0, 1, 2, 3, 7, RL_CTL_OP_END - 1, RL_CTL_OP_END, RL_CTL_OP_END + 1, 16, 17, 31, 32, 48, 63, 64, 65, 200, 255, 256, 2064, 2080, 0xffff, 0x7fffffff,
	0x80000000, 0xffffffff, RL_CTL_MAGIC, RL_CTL_REPLY_MAGIC, RL_CTL_PERIOD_MIN_NS - 1, RL_CTL_PERIOD_MAX_NS + 1,
	'A', '/', ' ', '\n', UINT64_MAX,
};

/* Corpus files are requests, with room for garbage around them. */
#define INPUT_MAX 8192

#define NVALUES (sizeof(values) / sizeof(values[0]))

/*
 * Every single edit of a fixed-layout message, the same on every run: each
 * bit flipped; each value written at every offset aligned for its width
 * (1, 2, 4 and 8 bytes: every field of every width gets every value); and
 * each value's low 4 bytes inserted at every 4-byte boundary (fields slid).
 */
static void edit_and_replay(const uint8_t *data, size_t len)
{
	static uint8_t buf[INPUT_MAX + 4];

	for (size_t at = 0; at < len; at++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			memcpy(buf, data, len);
			buf[at] ^= (uint8_t)(1u << bit);
			replay(buf, len);
		}
		for (size_t width = 1; width <= 8 && at % width == 0 && at + width <= len; width *= 2)
			for (size_t v = 0; v < NVALUES; v++) {
				memcpy(buf, data, len);
				memcpy(buf + at, &values[v], width);
				replay(buf, len);
			}
	}
	for (size_t at = 0; at <= len; at += 4)
		for (size_t v = 0; v < NVALUES; v++) {
			uint32_t low = (uint32_t)values[v];
			memcpy(buf, data, at);
			memcpy(buf + at, &low, 4);
			memcpy(buf + at + 4, data + at, len - at);
			replay(buf, len + 4);
		}
}

/* What a bad-* corpus file must be refused with, by the start of its name. */
static const struct {
	const char *prefix;
	int error;
} bad_kinds[] = {
	{ "bad-magic", -EPROTO }, { "bad-text", -EPROTO }, { "bad-garbage", -EPROTO },
	{ "bad-version", -EPROTONOSUPPORT }, { "bad-op", -EOPNOTSUPP },
	{ "bad-empty", -EBADMSG }, { "bad-truncated", -EBADMSG }, { "bad-trailing", -EBADMSG },
	{ "bad-length", -EBADMSG }, { "bad-", -EINVAL }, /* flags, names, fields: the last, catch-all */
};

static void replay_file(const char *path)
{
	static uint8_t data[INPUT_MAX + 1];
	const char *name = path, *base = path;
	FILE *f;
	size_t len;

	if ((f = fopen(path, "rb")))
		len = fread(data, 1, sizeof(data), f);
	if (!f || ferror(f)) {
		fprintf(stderr, "FAIL: cannot read %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
	if (strrchr(name, '/'))
		base = strrchr(name, '/') + 1;
	current = path;
	if (len > INPUT_MAX)
		broken("a corpus file longer than any request needs", NULL);
	int r = replay(data, len);
	if (!strncmp(base, "valid-", 6) && r)
		broken("a valid-* request is refused (did the layout change without a version bump?)", NULL);
	for (size_t k = 0; k < sizeof(bad_kinds) / sizeof(bad_kinds[0]); k++) {
		if (strncmp(base, bad_kinds[k].prefix, strlen(bad_kinds[k].prefix)))
			continue;
		if (r != bad_kinds[k].error)
			broken(r ? "a bad-* request is refused for another reason than its name says"
				 : "a bad-* request is accepted", strerror(r < 0 ? -r : 0));
		break;
	}
	struct rl_ctl_reply reply;
	if (!strncmp(base, "reply-", 6) && rl_ctl_reply_decode(data, len, &reply, NULL, 0))
		broken("a reply-* answer is refused", NULL);
	for (size_t cut = 0; cut < len; cut++)
		replay(data, cut);
	edit_and_replay(data, len);
}

/* ---- the corpus generator (--write-corpus DIR) ---- */

static const char *corpus_dir;

static void write_bytes(const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.bin", corpus_dir, name);
	if (!(f = fopen(path, "wb")) || fwrite(data, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void write_request(const char *name, struct rl_ctl_request req, enum rl_ctl_op op, uint32_t flags)
{
	req = t_ctl_encoded(req, op, flags);
	write_bytes(name, &req, req.hdr.length);
}

/* A valid request with one edit, written as it is (the encoder would refuse it). */
#define WRITE_EDITED(name, base, edit)                          \
	do {                                                    \
		struct rl_ctl_request m = (base);               \
		edit;                                           \
		write_bytes(name, &m, sizeof(struct rl_ctl_header) + \
			    (m.hdr.op == RL_CTL_OP_CRASH ? sizeof(m.body.crash) \
			     : m.hdr.op == RL_CTL_OP_CRASH_EVERY ? sizeof(m.body.every) \
			     : m.hdr.op == RL_CTL_OP_RESTART ? sizeof(m.body.domain) : 0)); \
	} while (0)

static void write_corpus(void)
{
	struct rl_ctl_request none = { 0 }, crash = { 0 }, every = { 0 }, restart = { 0 };

	write_request("valid-ps", none, RL_CTL_OP_PS, 0);
	write_request("valid-ps-json", none, RL_CTL_OP_PS, RL_CTL_F_JSON);
	write_request("valid-heap", none, RL_CTL_OP_HEAP, 0);
	write_request("valid-heap-json", none, RL_CTL_OP_HEAP, RL_CTL_F_JSON);
	write_request("valid-audit", none, RL_CTL_OP_AUDIT, 0);
	write_request("valid-crash-stop", none, RL_CTL_OP_CRASH_STOP, 0);
	write_request("valid-stop", none, RL_CTL_OP_STOP, 0);

	t_ctl_name(restart.body.domain.name, "blk-client_2");
	restart = t_ctl_encoded(restart, RL_CTL_OP_RESTART, 0);
	write_bytes("valid-restart", &restart, restart.hdr.length);

	t_ctl_name(crash.body.crash.name, "callee");
	crash.body.crash.when = RL_CTL_CRASH_NOW;
	crash.body.crash.signal = SIGKILL;
	write_request("valid-crash-now", crash, RL_CTL_OP_CRASH, 0);
	crash.body.crash.signal = SIGSEGV;
	write_request("valid-crash-now-segv", crash, RL_CTL_OP_CRASH, 0);
	crash.body.crash.when = RL_CTL_CRASH_AT_CALL;
	crash.body.crash.signal = 0;
	crash.body.crash.at_call = 3;
	crash.body.crash.point = RL_CTL_POINT_BEFORE;
	write_request("valid-crash-panic-at-call", crash, RL_CTL_OP_CRASH, 0);
	crash.body.crash.signal = SIGABRT;
	crash.body.crash.point = RL_CTL_POINT_AFTER;
	write_request("valid-crash-abort-at-call", crash, RL_CTL_OP_CRASH, 0);
	crash = t_ctl_encoded(crash, RL_CTL_OP_CRASH, 0);

	every.body.every.period_ns = 15000000;
	every.body.every.signal = SIGKILL;
	every.body.every.nnames = 1;
	t_ctl_name(every.body.every.names[0], "ramblk");
	write_request("valid-crash-every-one", every, RL_CTL_OP_CRASH_EVERY, 0);
	every.body.every.signal = 0;
	every.body.every.pick = RL_CTL_PICK_RANDOM;
	for (unsigned i = 0; i < RL_CTL_NAMES_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "d-%u", i);
		t_ctl_name(every.body.every.names[i], name);
	}
	every.body.every.nnames = RL_CTL_NAMES_MAX;
	write_request("valid-crash-every-64-random-panic", every, RL_CTL_OP_CRASH_EVERY, 0);
	/* One name more than fit, all 64 there valid: a decoder that believes the count reads past them. */
	WRITE_EDITED("bad-every-65-names", t_ctl_encoded(every, RL_CTL_OP_CRASH_EVERY, 0),
		     m.body.every.nnames = RL_CTL_NAMES_MAX + 1);
	every.body.every.nnames = 2;
	memset(every.body.every.names[2], 0, (RL_CTL_NAMES_MAX - 2) * RL_NAME_MAX);
	every = t_ctl_encoded(every, RL_CTL_OP_CRASH_EVERY, 0);

	struct rl_ctl_request ps = t_ctl_encoded(none, RL_CTL_OP_PS, 0);
	write_bytes("bad-empty", "", 0);
	write_bytes("bad-text-request", "ps json\n", 8);
	write_bytes("bad-garbage", "\x13\x37\xde\xad\xbe\xef\x00\x01\x02\x03\xff\xfe\xfd\xfc\x80\x7f\x41\x42", 18);
	write_bytes("bad-truncated-header", &ps, 11);
	write_bytes("bad-truncated-crash", &crash, 40);
	write_bytes("bad-trailing-byte", &(struct { struct rl_ctl_header h; char x; }){ ps.hdr, 'x' },
		    sizeof(ps.hdr) + 1);
	WRITE_EDITED("bad-magic", ps, m.hdr.magic = 0x74636c73);
	WRITE_EDITED("bad-version-2", ps, m.hdr.version = 2);
	WRITE_EDITED("bad-version-0", ps, m.hdr.version = 0);
	WRITE_EDITED("bad-op-0", ps, m.hdr.op = 0);
	WRITE_EDITED("bad-op-17", ps, m.hdr.op = 17);
	WRITE_EDITED("bad-op-end", ps, m.hdr.op = RL_CTL_OP_END);
	WRITE_EDITED("bad-length-short", crash, m.hdr.length = 48);
	WRITE_EDITED("bad-length-huge", ps, m.hdr.length = UINT32_MAX);
	WRITE_EDITED("bad-flags", ps, m.hdr.flags = 0x80000001);
	WRITE_EDITED("bad-flags-on-crash", crash, m.hdr.flags = RL_CTL_F_JSON);
	WRITE_EDITED("bad-name-no-nul", restart, memset(m.body.domain.name, 'a', RL_NAME_MAX));
	WRITE_EDITED("bad-name-empty", restart, m.body.domain.name[0] = 0);
	WRITE_EDITED("bad-name-chars", restart, memcpy(m.body.domain.name, "../../etc", 10));
	WRITE_EDITED("bad-name-escape", restart, memcpy(m.body.domain.name, "a\x1b[2Jb", 7));
	WRITE_EDITED("bad-name-padding", restart, m.body.domain.name[31] = 'x');
	WRITE_EDITED("bad-crash-when", crash, m.body.crash.when = 2);
	WRITE_EDITED("bad-crash-point", crash, m.body.crash.point = 3);
	WRITE_EDITED("bad-crash-signal", crash, m.body.crash.signal = 65);
	WRITE_EDITED("bad-crash-negative-signal", crash, m.body.crash.signal = -9);
	WRITE_EDITED("bad-crash-at-call-zero", crash, m.body.crash.at_call = 0);
	WRITE_EDITED("bad-crash-now-with-point", crash, (m.body.crash.when = RL_CTL_CRASH_NOW, m.body.crash.at_call = 0));
	WRITE_EDITED("bad-crash-reserved", crash, m.body.crash.reserved[0] = 1);
	WRITE_EDITED("bad-every-period", every, m.body.every.period_ns = 999999);
	WRITE_EDITED("bad-every-pick", every, m.body.every.pick = 9);
	WRITE_EDITED("bad-every-nnames-zero", every, m.body.every.nnames = 0);
	WRITE_EDITED("bad-every-nnames-many", every, m.body.every.nnames = 65);
	WRITE_EDITED("bad-every-names-after", every, m.body.every.names[9][3] = 'z');
	WRITE_EDITED("bad-every-second-name", every, m.body.every.names[1][0] = 'Q');

	struct rl_ctl_reply reply;
	rl_ctl_reply_init(&reply, RL_CTL_OP_CRASH, -ENOENT, 5);
	write_bytes("reply-error", &reply, sizeof(reply));
}

int main(int argc, char **argv)
{
	unsigned files = 0;

	if (argc == 3 && !strcmp(argv[1], "--write-corpus")) {
		corpus_dir = argv[2];
		write_corpus();
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...  |  %s --write-corpus DIR\n", argv[0], argv[0]);
		return 1;
	}
	files = t_corpus_walk(argc - 1, argv + 1, replay_file);
	if (files)
		printf("replayed %u corpus files, each whole, cut at every length and with every single edit\n", files);
	return files ? 0 : 1;
}

#endif /* RL_LIBFUZZER */
