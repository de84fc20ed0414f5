// SPDX-License-Identifier: MIT
/*
 * A domain that breaks its seccomp policy on request: it exports Test, and
 * its null() makes the system call named on its command line (openat,
 * socket, ptrace, execve, or allowed: getpid). The broker must see it die
 * by SIGSYS, log which syscall, and fail the call in flight. With "qsort"
 * it sorts a 256 KiB array with glibc's qsort(), which calls sysinfo():
 * the policy refuses that with ENOSYS, and the domain must live on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "redleaf_idl.h"

static const char *what = "getpid";

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static void sort_big(void)
{
	static uint32_t v[64 * 1024];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		v[i] = (uint32_t)(i * 2654435761u);
	qsort(v, sizeof(v) / sizeof(v[0]), sizeof(v[0]), cmp_u32);
}

static int p_null(void *self)
{
	if (!strcmp(what, "openat"))
		syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
	else if (!strcmp(what, "socket"))
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	else if (!strcmp(what, "ptrace"))
		syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
	else if (!strcmp(what, "execve"))
		syscall(SYS_execve, "/bin/true", NULL, NULL);
	else if (!strcmp(what, "qsort"))
		sort_big();
	else
		syscall(SYS_getpid);
	return 0;
}

static const struct Test_ops ops = { .null = p_null };

int rl_domain_main(int argc, char **argv)
{
	if (argc > 1)
		what = argv[1];
	int ret = Test_export(&ops, NULL);
	if (ret)
		rl_panic("cannot export Test: %d", ret);
	rl_serve();
}
