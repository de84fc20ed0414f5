// SPDX-License-Identifier: MIT
/*
 * A hostile client of a running broker's control socket (started by
 * tests/ctl-hostile.sh; this program starts nothing). Each exchange is one
 * connection: garbage, a text request of the old kind, nothing at all,
 * truncated messages (closed early, or left hanging), a wrong version, an
 * unknown op, wrong lengths, an over-long name, names with bad bytes,
 * enums and numbers out of range, a flood, and a valid request sent one
 * byte at a time. Every bad one must get a well-formed error reply with
 * the right errno and a message saying what is wrong, promptly; after all
 * of them the broker must still answer a valid `ps` correctly.
 *
 * Usage: ctl-hostile SOCKET DOMAIN   (DOMAIN: a running domain of the system)
 * Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "ctl-requests.h"

static const char *socket_path;

enum how {
	SEND_CLOSE,   /* send, then shut down the write side */
	SEND_HANG,    /* send, then wait for the broker's answer without closing */
	SEND_DRIBBLE, /* one byte every 2 ms */
	SEND_FLOOD,   /* the bytes, then a MiB more, without waiting */
};

struct answer {
	bool got;        /* a well-formed reply header arrived */
	struct rl_ctl_reply reply;
	char text[8192]; /* NUL-terminated, cut if longer */
	double seconds;  /* from connecting to the whole answer */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_broker(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "FAIL: cannot connect to %s: %s\n", socket_path, strerror(errno));
		exit(1);
	}
	struct timeval tv = { 5, 0 }; /* the broker answers in 0.2 s at most; 5 s is "never" */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void send_bytes(int fd, const void *bytes, size_t len, enum how how)
{
	const char *p = bytes;

	if (how == SEND_DRIBBLE) {
		for (size_t i = 0; i < len; i++) {
			if (send(fd, p + i, 1, MSG_NOSIGNAL) != 1)
				return;
			usleep(2000);
		}
		return;
	}
	if (len && send(fd, p, len, MSG_NOSIGNAL) < 0)
		return;
	if (how == SEND_FLOOD) {
		static char junk[1 << 16];
		memset(junk, 0xee, sizeof(junk));
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		for (int i = 0; i < 16; i++)
			if (send(fd, junk, sizeof(junk), MSG_NOSIGNAL) < 0)
				break; /* full (the broker reads no more of it) or closed */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
	if (how == SEND_CLOSE)
		shutdown(fd, SHUT_WR);
}

/* Up to len bytes: fewer only at end of file or after the 5 s timeout. */
static size_t recv_all(int fd, void *buf, size_t len)
{
	ssize_t n = len ? recv(fd, buf, len, MSG_WAITALL) : 0;

	return n > 0 ? (size_t)n : 0;
}

static struct answer exchange(const void *bytes, size_t len, enum how how)
{
	struct answer a = { 0 };
	char err[160];
	double start = now_s();
	int fd = connect_broker();

	send_bytes(fd, bytes, len, how);
	size_t got = recv_all(fd, &a.reply, sizeof(a.reply));
	if (got && rl_ctl_reply_decode(&a.reply, got, &a.reply, err, sizeof(err)) == 0) {
		size_t want = a.reply.length, keep = want < sizeof(a.text) - 1 ? want : sizeof(a.text) - 1;
		size_t n = recv_all(fd, a.text, keep);
		a.text[n] = 0;
		a.got = n == keep;
		for (size_t rest = want - keep; rest && a.got;) { /* drain what does not fit */
			char sink[4096];
			size_t k = recv_all(fd, sink, rest < sizeof(sink) ? rest : sizeof(sink));
			a.got = k > 0;
			rest -= k;
		}
	} else {
		snprintf(a.text, sizeof(a.text), "%s", got ? err : "no answer");
	}
	a.seconds = now_s() - start;
	close(fd);
	return a;
}

/*
 * One bad exchange: the reply must say errno want and contain text. That it
 * comes at all proves the broker's deadline for a hanging client: its reply
 * is due after 0.2 s, and the 5 s receive limit is 25 times that (no tighter
 * time limit: a slow machine under ASan must not fail this).
 */
static void expect_error(const char *what, const void *bytes, size_t len, enum how how, int want, const char *text)
{
	struct answer a = exchange(bytes, len, how);

	if (!a.got) {
		t_check(false, "%s: no well-formed answer (%s)", what, a.text);
		return;
	}
	t_check(a.reply.status == want, "%s: status %d (%s), expected %d (%s); text: %s", what, (int)a.reply.status,
		strerror(-a.reply.status), want, strerror(-want), a.text);
	t_check(strstr(a.text, text) != NULL, "%s: answer '%s' does not say '%s'", what, a.text, text);
	t_check(a.reply.version == RL_CTL_VERSION, "%s: answer of version %u", what, a.reply.version);
	printf("ok: %s -> %s (%.2f s)\n", what, a.text, a.seconds);
}

static void expect_ps(const char *what, const char *domain, enum how how)
{
	struct rl_ctl_request none = { 0 };
	struct rl_ctl_request ps = t_ctl_encoded(none, RL_CTL_OP_PS, 0);
	struct answer a = exchange(&ps, ps.hdr.length, how);
	char line[64];

	snprintf(line, sizeof(line), " %s ", domain);
	t_check(a.got && a.reply.status == 0 && a.reply.op == RL_CTL_OP_PS, "%s: status %d: %s", what,
		(int)a.reply.status, a.text);
	t_check(strstr(a.text, "ID  NAME") && strstr(a.text, line) && strstr(a.text, "running") &&
			strstr(a.text, "messages proxied"),
		"%s: not a ps listing with %s running:\n%s", what, domain, a.text);
	printf("ok: %s\n", what);
}

int main(int argc, char **argv)
{
	struct rl_ctl_request none = { 0 }, m;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SOCKET DOMAIN\n", argv[0]);
		return 1;
	}
	socket_path = argv[1];
	const char *domain = argv[2];
	signal(SIGPIPE, SIG_IGN);

	expect_ps("a valid ps first", domain, SEND_CLOSE);

	struct rl_ctl_request ps = t_ctl_encoded(none, RL_CTL_OP_PS, 0);
	struct rl_ctl_request crash = none;
	t_ctl_name(crash.body.crash.name, domain);
	crash.body.crash.when = RL_CTL_CRASH_AT_CALL;
	crash.body.crash.at_call = 1000000;
	crash = t_ctl_encoded(crash, RL_CTL_OP_CRASH, 0);
	struct rl_ctl_request restart = none;
	t_ctl_name(restart.body.domain.name, domain);
	restart = t_ctl_encoded(restart, RL_CTL_OP_RESTART, 0);
	struct rl_ctl_request every = none;
	every.body.every.period_ns = 1000000000;
	every.body.every.nnames = 1;
	t_ctl_name(every.body.every.names[0], domain);
	every = t_ctl_encoded(every, RL_CTL_OP_CRASH_EVERY, 0);

	/* Not the protocol at all. */
	static const unsigned char garbage[] = { 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04,
						 0xff, 0xfe, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00 };
	expect_error("garbage", garbage, sizeof(garbage), SEND_CLOSE, -EPROTO, "not a redleaf control request");
	expect_error("garbage, connection left open", garbage, 3, SEND_HANG, -EPROTO, "starts with bytes de ad be");
	expect_error("an old text request", "ps json\n", 8, SEND_CLOSE, -EPROTO, "not a redleaf control request");
	expect_error("a flood of garbage", garbage, sizeof(garbage), SEND_FLOOD, -EPROTO, "not a redleaf control request");
	expect_error("nothing, then close", "", 0, SEND_CLOSE, -EBADMSG, "empty request");
	expect_error("nothing, connection left open", "", 0, SEND_HANG, -EBADMSG, "empty request");

	/* Truncated: closed early, or left hanging past the broker's deadline. */
	expect_error("half a header", &ps, 8, SEND_CLOSE, -EBADMSG, "truncated request header: 8 of 16 bytes");
	expect_error("half a header, left open", &ps, 8, SEND_HANG, -EBADMSG, "truncated request header: 8 of 16");
	expect_error("a crash cut in its name", &crash, 30, SEND_CLOSE, -EBADMSG, "truncated request crash: 30 of 64");
	expect_error("a crash cut, left open", &crash, 63, SEND_HANG, -EBADMSG, "truncated request crash: 63 of 64");

	/*
	 * A valid request (base) with one edit, its first len bytes sent: the
	 * broker must refuse it. Header fields, names, enums and numbers.
	 */
#define EDITED(what, base, edit, len, how, want, text)                 \
	do {                                                           \
		m = (base);                                            \
		edit;                                                  \
		expect_error(what, &m, (len), how, want, text);        \
	} while (0)
	EDITED("version 3", ps, m.hdr.version = 3, 16, SEND_CLOSE, -EPROTONOSUPPORT,
	       "control protocol version 3; this broker speaks 1");
	EDITED("version 0", ps, m.hdr.version = 0, 16, SEND_HANG, -EPROTONOSUPPORT, "control protocol version 0");
	EDITED("op 17", ps, m.hdr.op = 17, 16, SEND_CLOSE, -EOPNOTSUPP, "unknown request op 17");
	EDITED("op 0", ps, m.hdr.op = 0, 16, SEND_CLOSE, -EOPNOTSUPP, "unknown request op 0");
	EDITED("the op after the last", ps, m.hdr.op = RL_CTL_OP_END, 16, SEND_CLOSE, -EOPNOTSUPP,
	       "unknown request op 9");
	EDITED("ps claiming 4 GiB", ps, m.hdr.length = UINT32_MAX, 16, SEND_HANG, -EBADMSG,
	       "request ps has length 4294967295");
	EDITED("crash without its body", crash, m.hdr.length = 16, 16, SEND_CLOSE, -EBADMSG,
	       "request crash has length 16; in version 1 it has 64");
	EDITED("an unknown flag", ps, m.hdr.flags = 0x40, 16, SEND_CLOSE, -EINVAL, "flags 0x40 are not valid for ps");

	size_t rlen = restart.hdr.length, clen = crash.hdr.length, elen = every.hdr.length;
	EDITED("an over-long name", restart, memset(m.body.domain.name, 'a', RL_NAME_MAX), rlen, SEND_CLOSE, -EINVAL,
	       "is not NUL-terminated within 32 bytes");
	EDITED("a path for a name", restart, memcpy(m.body.domain.name, "../../etc/passwd", 17), rlen, SEND_CLOSE,
	       -EINVAL, "bad domain name '../../etc/passwd'");
	EDITED("terminal escapes in a name", restart, memcpy(m.body.domain.name, "x\033[2J\n", 6), rlen, SEND_CLOSE,
	       -EINVAL, "bad domain name 'x\\x1b[2J\\x0a'");
	EDITED("bytes after a name", restart, m.body.domain.name[RL_NAME_MAX - 1] = 'z', rlen, SEND_CLOSE, -EINVAL,
	       "has bytes other than 0 after its end");

	EDITED("inject point 9", crash, m.body.crash.point = 9, clen, SEND_CLOSE, -EINVAL, "crash: point 9 out of range");
	EDITED("crash 'when' 5", crash, m.body.crash.when = 5, clen, SEND_CLOSE, -EINVAL, "crash: 'when' 5 out of range");
	EDITED("signal 200", crash, m.body.crash.signal = 200, clen, SEND_CLOSE, -EINVAL,
	       "crash: signal 200 out of range");
	EDITED("at call 0", crash, m.body.crash.at_call = 0, clen, SEND_CLOSE, -EINVAL, "crash: at_call 0");
	EDITED("pick 3", every, m.body.every.pick = 3, elen, SEND_CLOSE, -EINVAL, "crash-every: pick 3 out of range");
	EDITED("a period of 1 ns", every, m.body.every.period_ns = 1, elen, SEND_CLOSE, -EINVAL,
	       "crash-every: period 1 ns out of range");
	EDITED("250 names", every, m.body.every.nnames = 250, elen, SEND_CLOSE, -EINVAL,
	       "crash-every: 250 domain names (1 to 64)");
#undef EDITED

	/* Well-formed requests the broker refuses: the typed status says why. */
	m = none;
	t_ctl_name(m.body.domain.name, "ghost");
	m = t_ctl_encoded(m, RL_CTL_OP_RESTART, 0);
	expect_error("restart a domain that does not exist", &m, m.hdr.length, SEND_CLOSE, -ENOENT, "no domain named 'ghost'");
	expect_error("restart a running domain", &restart, restart.hdr.length, SEND_CLOSE, -EBUSY,
		     "is running (crash it first)");

	/* A valid request in pieces, then the plain one: the broker serves on. */
	expect_ps("a valid ps sent one byte at a time", domain, SEND_DRIBBLE);
	expect_ps("a valid ps after all that", domain, SEND_HANG);

	if (t_failures) {
		fprintf(stderr, "%u of %u checks failed\n", t_failures, t_checks);
		return 1;
	}
	printf("%u checks passed\n", t_checks);
	return 0;
}
