// SPDX-License-Identifier: MIT
/*
 * A domain with the ring the broker made for it (manifest `uring:` with one
 * file): it must be able to read and write that file, and nothing else.
 * Each probe is reported on stderr as "probe: result", result "ok" or the
 * errno name the kernel gave. Last, it tries to make a ring of its own,
 * which the filter refuses (the domain dies by SIGSYS).
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "redleaf/domain.h"

static struct io_uring ring;

static void report(const char *probe, int res)
{
	rl_log("%s: %s", probe, res < 0 ? strerrorname_np(-res) : "ok");
}

/* Submits the one prepared SQE and returns its completion's result. */
static int run(struct io_uring_sqe *sqe, unsigned flags)
{
	struct io_uring_cqe *cqe;

	sqe->flags |= (uint8_t)flags;
	int r = io_uring_submit(&ring);
	if (r < 0)
		return r;
	r = io_uring_wait_cqe(&ring, &cqe);
	if (r < 0)
		return r;
	r = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return r;
}

int rl_domain_main(int argc, char **argv)
{
	struct io_uring_params params;
	char buf[64] = { 0 };
	static const char text[] = "written through the broker's ring";

	int fd = rl_uring_fd(&params, sizeof(params));
	if (fd < 0)
		rl_panic("no ring from the broker: %d", fd);
	int r = io_uring_queue_mmap(fd, &params, &ring);
	if (r < 0)
		rl_panic("mapping the ring: %s", strerror(-r));
	/* io_uring_queue_init fills the submission index array; io_uring_queue_mmap leaves it to us. */
	for (unsigned i = 0; i < *ring.sq.kring_entries; i++)
		ring.sq.array[i] = i;

	/* What it was given: file 0, by index. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	report("nop", run(sqe, IOSQE_FIXED_FILE));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write(sqe, 0, text, sizeof(text), 0);
	r = run(sqe, IOSQE_FIXED_FILE);
	report("write file 0", r == (int)sizeof(text) ? 0 : r < 0 ? r : -EIO);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, 0, buf, sizeof(text), 0);
	r = run(sqe, IOSQE_FIXED_FILE);
	report("read file 0", r == (int)sizeof(text) && !memcmp(buf, text, sizeof(text)) ? 0 : r < 0 ? r : -EIO);

	/* What it was not given. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	report("openat", run(sqe, 0));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	report("openat fixed", run(sqe, IOSQE_FIXED_FILE));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, 2, buf, sizeof(buf), 0);
	report("read stderr by descriptor", run(sqe, 0));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_socket(sqe, AF_INET, SOCK_STREAM, 0, 0);
	report("socket", run(sqe, IOSQE_FIXED_FILE));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, 1, buf, sizeof(buf), 0);
	report("read file 1", run(sqe, IOSQE_FIXED_FILE));
	int fds[1] = { 2 };
	report("register files", io_uring_register_files(&ring, fds, 1));
	report("register buffers", io_uring_register_buffers(&ring, &(struct iovec){ buf, sizeof(buf) }, 1));

	rl_log("trying a ring of its own");
	struct io_uring_params own = { 0 };
	report("io_uring_setup", (int)syscall(SYS_io_uring_setup, 4, &own));
	return 0;
}
