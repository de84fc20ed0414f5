// SPDX-License-Identifier: MIT
/* The CLI's side of the control socket: where it is, and one request and its answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "ctl_proto.h"

const char *rl_default_socket(void)
{
	static char path[108];
	const char *env = getenv("REDLEAF_SOCKET");

	if (env && *env)
		return env;
	if (geteuid() == 0)
		return "/run/redleaf/control.sock";
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/redleaf.sock", xdg);
	else
		snprintf(path, sizeof(path), "/tmp/redleaf-%u/control.sock", (unsigned)geteuid());
	return path;
}

int rl_control_request(const char *socket_path, const struct rl_ctl_request *req)
{
	struct sockaddr_un sa;
	struct rl_ctl_reply reply;
	char why[160];
	int fd, ret = 1;

	if (rl_ctl_socket_address(socket_path, &sa)) {
		fprintf(stderr, "redleaf: control socket path too long (%zu bytes, at most %zu): %s\n",
			strlen(socket_path), sizeof(sa.sun_path) - 1, socket_path);
		return 2;
	}
	/*
	 * The broker gives a connection 200 ms to deliver its request (a slow
	 * client must not hold its event thread). On a machine so loaded that
	 * this process did not run for that long between connecting and
	 * sending, the broker has closed before reading anything, so nothing
	 * was done: connect and send again, a few times.
	 */
	for (unsigned attempt = 1;; attempt++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "redleaf: no broker at %s: %s (start one with 'redleaf run MANIFEST')\n",
				socket_path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return 1;
		}
		int r = rl_ctl_send_all(fd, req, req->hdr.length);
		if (!r)
			break;
		close(fd);
		if ((r != -EPIPE && r != -ECONNRESET) || attempt == 3) {
			fprintf(stderr, "redleaf: cannot send to %s: %s\n", socket_path, strerror(-r));
			return 1;
		}
	}
	size_t got = rl_ctl_recv(fd, &reply, sizeof(reply), MSG_WAITALL);
	if (!got) {
		fprintf(stderr, "redleaf: the broker closed the connection without answering\n");
		goto out;
	}
	if (rl_ctl_reply_decode(&reply, got, &reply, why, sizeof(why))) {
		fprintf(stderr, "redleaf: the broker's answer is malformed: %s\n", why);
		goto out;
	}
	char *text = malloc(reply.length + 1);
	if (!text) {
		fprintf(stderr, "redleaf: no memory for the broker's answer of %u bytes\n", reply.length);
		goto out;
	}
	size_t n = reply.length ? rl_ctl_recv(fd, text, reply.length, MSG_WAITALL) : 0;
	if (n < reply.length) {
		fprintf(stderr, "redleaf: the broker's answer was cut short (%zu of %u bytes)\n", n, reply.length);
	} else if (reply.status == 0) {
		fwrite(text, 1, n, stdout);
		ret = 0;
	} else {
		/* One line: the broker's message, or the status when it gave none. */
		while (n && text[n - 1] == '\n')
			n--;
		text[n] = 0;
		fprintf(stderr, "redleaf: error: %s\n", n ? text : strerror(-reply.status));
	}
	free(text);
out:
	close(fd);
	return ret;
}
