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
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "redleaf/clock.h"

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

struct rl_uring_watch {
	int fd;
	struct io_uring_params p;
};

struct rl_uring_watch *rl_uring_watch(int ring, const struct io_uring_params *params)
{
	struct rl_uring_watch *w = malloc(sizeof(*w));

	if (!w)
		return NULL;
	w->fd = fcntl(ring, F_DUPFD_CLOEXEC, 3);
	if (w->fd < 0) {
		free(w);
		return NULL;
	}
	w->p = *params;
	return w;
}

void rl_uring_watch_free(struct rl_uring_watch *w)
{
	if (!w)
		return;
	close(w->fd);
	free(w);
}

static uint32_t load(const uint8_t *ring, uint32_t off)
{
	return atomic_load_explicit((const _Atomic uint32_t *)(ring + off), memory_order_acquire);
}

bool rl_uring_drain(struct rl_uring_watch *w, int timeout_ms, unsigned *left)
{
	bool drained = false;

	*left = 0;
	if (!w)
		return true;
	size_t sq_len = w->p.sq_off.array + w->p.sq_entries * sizeof(uint32_t);
	size_t cq_len = w->p.cq_off.cqes + w->p.cq_entries * sizeof(struct io_uring_cqe);
	uint8_t *sq = mmap(NULL, sq_len, PROT_READ, MAP_SHARED, w->fd, IORING_OFF_SQ_RING);
	uint8_t *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, IORING_OFF_CQ_RING);
	if (sq == MAP_FAILED || cq == MAP_FAILED)
		goto out;
	uint64_t deadline = rl_now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		/* Every SQE the kernel took (head) but did not drop ends with one CQE (tail, or dropped itself). */
		uint32_t taken = load(sq, w->p.sq_off.head) - load(sq, w->p.sq_off.dropped);
		uint32_t ended = load(cq, w->p.cq_off.tail) + load(cq, w->p.cq_off.overflow);
		*left = taken - ended;
		if (!*left) {
			drained = true;
			break;
		}
		if (rl_now_ns() >= deadline)
			break;
		/* Consume what is posted, so completions held back by a full CQ are posted too. */
		atomic_store_explicit((_Atomic uint32_t *)(cq + w->p.cq_off.head), load(cq, w->p.cq_off.tail),
				      memory_order_release);
		syscall(SYS_io_uring_enter, w->fd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
		nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
out:
	if (sq != MAP_FAILED)
		munmap(sq, sq_len);
	if (cq != MAP_FAILED)
		munmap(cq, cq_len);
	rl_uring_watch_free(w);
	return drained;
}
