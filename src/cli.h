/* SPDX-License-Identifier: MIT */
/* The `redleaf` command line: options shared between main.c and the commands. */
#ifndef RL_CLI_H
#define RL_CLI_H

#include <stdbool.h>

#include "ctl_proto.h"

struct rl_run_options {
	const char *manifest;
	const char *socket;
	const char *until; /* domain name, or NULL */
	bool quiet;
};

/* broker.c: runs a system until it is stopped. Returns the process exit status. */
int rl_cmd_run_system(const struct rl_run_options *opt);

/*
 * control.c: sends one request (rl_ctl_encode()d) to a running broker and
 * prints its answer: the text on stdout when the status is 0, else one
 * "redleaf: error: ..." line on stderr. Returns the exit status: 0, 1 (no
 * broker, an error status, a malformed answer) or 2 (a bad socket path).
 */
int rl_control_request(const char *socket_path, const struct rl_ctl_request *req);

/* dev_cmd.c: `redleaf dev list|bind|unbind`. Each returns the exit status. */
int rl_cmd_dev_list(bool json);
int rl_cmd_dev_bind(const char *bdf);
int rl_cmd_dev_unbind(const char *bdf);

/* The control socket used when --socket and $REDLEAF_SOCKET are absent. */
const char *rl_default_socket(void);

#endif
