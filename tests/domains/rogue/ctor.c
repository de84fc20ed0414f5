// SPDX-License-Identifier: MIT
/*
 * A domain whose ELF constructor attacks before the launcher runs, and a
 * plain program (built without the runtime, -DROGUE) that never calls it.
 * Both must be confined from their first instruction (docs/security.md).
 *
 *   ctor|rogue look       report what the private root shows, then go on
 *   ctor|rogue signal     kill(-1, SIGSTOP): every process it could signal
 *   ctor|rogue fork       start a process that would outlive the system
 *   ctor|rogue create     create a file
 *   ctor|rogue exec       execute a shell
 *   ctor       late-open  (after the launcher) open a library: the start-up
 *                         allowance must be gone
 *
 * Reports go to stderr (fd 2; write to it is always allowed) as one line
 * per probe: "probe: result", result being "ok" or an errno name.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *probe, long r)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "%s: %s\n", probe, r < 0 ? strerrorname_np(errno) : "ok");
	(void)!write(2, line, (size_t)n);
}

/* Raw calls throughout: libc wrappers would use calls of their own. */
static void attack(const char *how)
{
	if (!strcmp(how, "look")) {
		long fd = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
		report("read /etc/passwd", fd);
		fd = syscall(SYS_openat, AT_FDCWD, "/proc/1/environ", O_RDONLY);
		report("read /proc/1/environ", fd);
		fd = syscall(SYS_openat, AT_FDCWD, "/usr/bin/env", O_RDONLY);
		report("read /usr/bin/env", fd);
		fd = syscall(SYS_openat, AT_FDCWD, "/lib64", O_RDONLY);
		report("read /lib64", fd);
	} else if (!strcmp(how, "signal")) {
		report("signal", syscall(SYS_kill, -1, SIGSTOP));
	} else if (!strcmp(how, "fork")) {
		report("fork", syscall(SYS_clone, SIGCHLD, 0L, NULL, NULL, 0L));
	} else if (!strcmp(how, "create")) {
		report("create", syscall(SYS_openat, AT_FDCWD, "/rogue", O_WRONLY | O_CREAT, 0600));
	} else if (!strcmp(how, "exec")) {
		char *argv[] = { "sh", "-c", "true", NULL };
		report("exec", syscall(SYS_execve, "/bin/sh", argv, NULL));
	}
}

#ifdef ROGUE
int main(int argc, char **argv)
{
	if (argc > 1)
		attack(argv[1]);
	(void)!write(2, "rogue: done\n", 12);
	return 0;
}
#else
#include "redleaf/domain.h"

/* glibc hands constructors the program's argc, argv and environment. */
static void __attribute__((constructor)) before_the_launcher(int argc, char **argv)
{
	if (argc > 1)
		attack(argv[1]);
}

int rl_domain_main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "late-open"))
		report("late open", syscall(SYS_openat, AT_FDCWD, "/lib64", O_RDONLY));
	rl_log("ctor: main reached");
	return 0;
}
#endif
