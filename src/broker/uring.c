// SPDX-License-Identifier: MIT
/*
 * A domain's io_uring, made and restricted by the broker. The io_uring
 * group does not allow io_uring_setup: a domain can only use the ring it is
 * given, and the kernel checks every submission against the restrictions
 * registered here before the ring was enabled (io_uring_register(2),
 * IORING_REGISTER_RESTRICTIONS): the operations below, each on a file the
 * broker registered (IOSQE_FIXED_FILE is required, so no SQE can name a
 * descriptor of its own), and of the register operations only buffers.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uring.h"

static const unsigned char allowed_ops[] = {
	IORING_OP_NOP, IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
	IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED, IORING_OP_READ, IORING_OP_WRITE,
};

static const unsigned char allowed_register_ops[] = {
	IORING_REGISTER_BUFFERS, IORING_UNREGISTER_BUFFERS,
};

#define NRESTRICTIONS (sizeof(allowed_ops) + sizeof(allowed_register_ops) + 2)

static int reg(int fd, unsigned op, const void *arg, unsigned n)
{
	return syscall(SYS_io_uring_register, fd, op, arg, n) < 0 ? -errno : 0;
}

int rl_uring_make(const int *files, unsigned nfiles, unsigned entries, struct io_uring_params *params)
{
	struct io_uring_restriction res[NRESTRICTIONS];
	unsigned n = 0;
	int fd, r;

	memset(params, 0, sizeof(*params));
	params->flags = IORING_SETUP_R_DISABLED;
	fd = (int)syscall(SYS_io_uring_setup, entries, params);
	if (fd < 0)
		return -errno;
	memset(res, 0, sizeof(res));
	for (unsigned i = 0; i < sizeof(allowed_ops); i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = allowed_ops[i];
	}
	for (unsigned i = 0; i < sizeof(allowed_register_ops); i++) {
		res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
		res[n++].register_op = allowed_register_ops[i];
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE | IOSQE_IO_LINK | IOSQE_IO_DRAIN;
	if ((r = reg(fd, IORING_REGISTER_RESTRICTIONS, res, n)) < 0 ||
	    (r = reg(fd, IORING_REGISTER_FILES, files, nfiles)) < 0 ||
	    (r = reg(fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0)) < 0) {
		close(fd);
		return r;
	}
	return fd; /* io_uring_setup makes it close-on-exec */
}
