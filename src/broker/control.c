// SPDX-License-Identifier: MIT
/*
 * The event thread and the control socket. A connection carries one
 * request and one reply in the control protocol (ctl_proto.h): a request is
 * decoded and checked whole before the broker acts on it, and anything
 * wrong with it is answered with an error status and a message. Only the
 * broker's own user (or root) may connect: the peer's credentials are
 * checked on every connection.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "control.h"
#include "recovery.h"
#include "spawn.h"

/*
 * A client has this long to send its whole request: one that connects and
 * says nothing, or dribbles, must not hold up death handling for long.
 */
#define REQUEST_TIMEOUT_NS 200000000ull

static void send_reply(int fd, unsigned op, int status, const char *text, size_t len)
{
	struct rl_ctl_reply reply;

	rl_ctl_reply_init(&reply, op, status, len);
	/* A client that went away is not the broker's problem. */
	if (!rl_ctl_send_all(fd, &reply, sizeof(reply)))
		rl_ctl_send_all(fd, text, reply.length);
}

static size_t read_request(int fd, unsigned char *buf)
{
	uint64_t deadline = rl_now_ns() + REQUEST_TIMEOUT_NS;
	size_t have = 0, want = sizeof(struct rl_ctl_header), total;

	for (;;) {
		int r = rl_ctl_header_check(buf, have, &total, NULL, 0);
		if (r == 0)
			want = total; /* at most sizeof(struct rl_ctl_request) */
		else if (r != -EAGAIN)
			break;
		if (have >= want)
			break;
		uint64_t now = rl_now_ns();
		if (now >= deadline)
			break;
		struct timeval tv = { 0, (suseconds_t)((deadline - now) / 1000) + 1 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		size_t n = rl_ctl_recv(fd, buf + have, want - have, 0);
		if (!n)
			break;
		have += n;
	}
	return have;
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t credlen = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0 &&
	       (cred.uid == 0 || cred.uid == geteuid());
}

static void handle_request(struct broker *b, int fd)
{
	unsigned char buf[sizeof(struct rl_ctl_request)];
	struct rl_ctl_request req;
	struct rl_text body = { 0 };
	char why[256];
	int ret = 0;

	/* A client that stops reading its answer must not hold up the event thread (and deaths) either. */
	struct timeval send_limit = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_limit, sizeof(send_limit));
	if (!peer_allowed(fd)) {
		static const char denied[] = "permission denied (not the broker's user)";
		send_reply(fd, 0, -EACCES, denied, sizeof(denied) - 1);
		return;
	}
	size_t len = read_request(fd, buf);
	ret = rl_ctl_decode(buf, len, &req, why, sizeof(why));
	if (ret) {
		rl_broker_log(b, "control: refused a request: %s", why);
		send_reply(fd, 0, ret, why, strlen(why));
		return;
	}
	ret = rl_commands_run(b, &req, &body);
	send_reply(fd, req.hdr.op, ret, body.buf ? body.buf : "", body.len);
	free(body.buf);
}

/* ---- the socket ---- */

int rl_control_open(struct broker *b)
{
	struct sockaddr_un sa;
	int fd = -1;

	if (rl_ctl_socket_address(b->socket_path, &sa)) {
		fprintf(stderr, "redleaf: control socket path too long (%zu bytes, at most %zu): %s\n",
			strlen(b->socket_path), sizeof(sa.sun_path) - 1, b->socket_path);
		return -ENAMETOOLONG;
	}
	/* Create the parent folder if it is missing (one level, private). */
	char dir[108];
	snprintf(dir, sizeof(dir), "%s", b->socket_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "redleaf: cannot create %s: %s\n", dir, strerror(errno));
			return -errno;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		fprintf(stderr, "redleaf: another broker is serving %s (stop it, or pick --socket)\n",
			b->socket_path);
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	/* Stale: nobody answered. Remove it only if it is a socket: the path may be a typo for a file. */
	struct stat st;
	if (lstat(b->socket_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "redleaf: %s exists and is not a socket; not removing it (pick another --socket)\n",
			b->socket_path);
		return -EEXIST;
	}
	unlink(b->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		fprintf(stderr, "redleaf: cannot listen on %s: %s\n", b->socket_path, strerror(errno));
		close(fd);
		return -errno;
	}
	b->control_fd = fd;
	b->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epoll_fd < 0) {
		fprintf(stderr, "redleaf: epoll_create1: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

void rl_control_close(struct broker *b)
{
	if (b->epoll_fd >= 0) { /* the event loop never ran */
		close(b->epoll_fd);
		b->epoll_fd = -1;
	}
	if (b->control_fd >= 0) {
		close(b->control_fd);
		unlink(b->socket_path);
		b->control_fd = -1;
	}
}

#define EV_CONTROL 0xffff0001u
#define EV_SIGNAL 0xffff0002u
#define EV_WAKE 0xffff0003u
#define EV_INJECT 0xffff0004u

/* ---- domains' output ---- */

/* One line (or piece of a long one) of d's output: rate-limited, control characters escaped, logged. */
static void output_emit(struct broker *b, struct domain *d, const char *p, size_t len)
{
	uint64_t now = rl_now_ns(), elapsed = now - d->out_refill_ns;

	if (elapsed > 10000000000ull)
		elapsed = 10000000000ull;
	uint64_t add = elapsed / 1000 * RL_OUTPUT_RATE / 1000000;
	if (add) {
		d->out_budget = d->out_budget + add > RL_OUTPUT_BURST ? RL_OUTPUT_BURST : d->out_budget + add;
		d->out_refill_ns = now;
	}
	if (len + 1 > d->out_budget) {
		d->out_dropped += len + 1;
		return;
	}
	d->out_budget -= len + 1;
	if (d->out_dropped) {
		rl_broker_log(b, "%s: %llu bytes of its output dropped (more than %u bytes a second)", d->name,
			      (unsigned long long)d->out_dropped, RL_OUTPUT_RATE);
		d->out_dropped = 0;
	}
	char text[RL_OUTPUT_LINE * 4 + 1];
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\t' || (c >= 0x20 && c != 0x7f))
			text[n++] = (char)c;
		else
			n += (size_t)snprintf(text + n, sizeof(text) - n, "\\x%02x", c);
	}
	text[n] = 0;
	rl_broker_log_output(b, d, text);
}

/* Ends d's output: its last unended line, what was dropped, the pipe. */
static void output_close(struct broker *b, struct domain *d, int epfd)
{
	if (d->out_len)
		output_emit(b, d, d->out_line, d->out_len);
	d->out_len = 0;
	if (d->out_dropped)
		rl_broker_log(b, "%s: %llu bytes of its output dropped (more than %u bytes a second)", d->name,
			      (unsigned long long)d->out_dropped, RL_OUTPUT_RATE);
	d->out_dropped = 0;
	if (epfd >= 0)
		epoll_ctl(epfd, EPOLL_CTL_DEL, d->out_fd, NULL);
	close(d->out_fd);
	d->out_fd = -1;
}

void rl_control_output(struct broker *b, struct domain *d, int epfd, bool to_end)
{
	char buf[4096];

	/* A bounded share per call unless the domain is dead: a chatty domain cannot starve the loop. */
	for (unsigned chunk = 0; d->out_fd >= 0 && (to_end || chunk < 16); chunk++) {
		ssize_t n = read(d->out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			output_close(b, d, epfd);
			return;
		}
		if (n < 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				output_emit(b, d, d->out_line, d->out_len);
				d->out_len = 0;
				continue;
			}
			d->out_line[d->out_len++] = buf[i];
			if (d->out_len == RL_OUTPUT_LINE) {
				output_emit(b, d, d->out_line, d->out_len);
				d->out_len = 0;
			}
		}
	}
	if (to_end && d->out_fd >= 0)
		output_close(b, d, epfd);
}

static void reap(struct broker *b, struct domain *d, int epfd)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)d->pidfd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, d->pidfd, NULL);
	close(d->pidfd);
	d->pidfd = -1;
	/* Its last words (a panic's message) come before its death in the log. */
	if (d->out_fd >= 0)
		rl_control_output(b, d, epfd, true);
	int code = si.si_code, status = si.si_status;
	rl_spawn_reaped(&d->status_fd, &code, &status);
	rl_describe_death(d, code, status);
	char why[sizeof(d->cause)];
	if (rl_spawn_failure(d, &d->start_pipe, why, sizeof(why)))
		memcpy(d->cause, why, sizeof(d->cause));
	atomic_store(&d->death_pending, 1);
	rl_broker_ring_bell(b);
}

void rl_control_loop(struct broker *b)
{
	int epfd = b->epoll_fd; /* made by rl_control_open(), before any proxy thread could add to it */
	sigset_t set;

	struct epoll_event ev;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

	ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = EV_CONTROL };
	epoll_ctl(epfd, EPOLL_CTL_ADD, b->control_fd, &ev);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = EV_SIGNAL };
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	if (b->wake_fd >= 0) {
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = EV_WAKE };
		epoll_ctl(epfd, EPOLL_CTL_ADD, b->wake_fd, &ev);
	}
	int timer_fd = rl_commands_injector_open();
	if (timer_fd >= 0) {
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = EV_INJECT };
		epoll_ctl(epfd, EPOLL_CTL_ADD, timer_fd, &ev);
	}
	for (unsigned i = 1; i <= b->ndom; i++) {
		if (b->dom[i].pidfd < 0)
			continue;
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = i };
		epoll_ctl(epfd, EPOLL_CTL_ADD, b->dom[i].pidfd, &ev);
		ev.data.u32 = RL_EV_OUTPUT | i;
		if (b->dom[i].out_fd >= 0)
			epoll_ctl(epfd, EPOLL_CTL_ADD, b->dom[i].out_fd, &ev);
	}

	while (!atomic_load(&b->stop)) {
		struct epoll_event evs[16];
		int n = epoll_wait(epfd, evs, 16, 100);
		for (int k = 0; k < n; k++) {
			uint32_t tag = evs[k].data.u32;
			if (tag == EV_SIGNAL) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					rl_broker_log(b, "SIG%s received: stopping", sigabbrev_np((int)si.ssi_signo));
					b->exit_status = 0;
					atomic_store(&b->stop, 1);
				}
			} else if (tag == EV_INJECT) {
				rl_commands_injector_tick(b);
			} else if (tag == EV_CONTROL) {
				int c = accept4(b->control_fd, NULL, NULL, SOCK_CLOEXEC);
				if (c >= 0) {
					handle_request(b, c);
					close(c);
				}
			} else if (tag >= 1 && tag <= b->ndom && b->dom[tag].pidfd >= 0) {
				reap(b, &b->dom[tag], epfd);
			} else if ((tag & RL_EV_STANDBY) && (tag & 0xffff) >= 1 && (tag & 0xffff) <= b->ndom) {
				/* A standby's pidfd (one shot): proxy thread 0 looks at it. */
				atomic_store(&b->dom[tag & 0xffff].standby_event, 1);
				atomic_fetch_add(&b->standby_events, 1);
				rl_broker_ring_bell(b);
			} else if ((tag & RL_EV_OUTPUT) && (tag & 0xffff) >= 1 && (tag & 0xffff) <= b->ndom &&
				   b->dom[tag & 0xffff].out_fd >= 0) {
				rl_control_output(b, &b->dom[tag & 0xffff], epfd, false);
			}
		}
	}
	close(sfd);
	rl_commands_injector_close();
	b->epoll_fd = -1;
	close(epfd);
}
