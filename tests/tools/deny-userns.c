// SPDX-License-Identifier: MIT
/*
 * deny-userns COMMAND [ARG...]: runs COMMAND where creating a user
 * namespace fails with EPERM, as on a kernel that forbids it to ordinary
 * users. Everything else is allowed.
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: deny-userns COMMAND [ARG...]\n");
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	/* clone3 passes its flags in memory the filter cannot read: make callers fall back to clone. */
	if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
			     SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
			     SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)) < 0 ||
	    seccomp_load(ctx) < 0) {
		fprintf(stderr, "deny-userns: cannot install the filter\n");
		return 1;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "deny-userns: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
