/* SPDX-License-Identifier: MIT */
/*
 * The recovery harness's child processes (brokers and `redleaf` CLI
 * commands) and its temporary files, ended and removed on every path:
 * normal return, error, and SIGINT/SIGTERM/SIGHUP. Every child also gets a
 * parent-death signal, so even a harness killed with SIGKILL leaves no
 * broker running (a broker that gets SIGTERM stops its system itself).
 */
#ifndef RL_BENCH_RECOVERY_CHILD_H
#define RL_BENCH_RECOVERY_CHILD_H

#include <stddef.h>
#include <sys/types.h>

/* Installs the handler for SIGINT/SIGTERM/SIGHUP and an atexit cleanup. */
void rl_child_init(void);

/*
 * Starts argv[0] (a path) with envp (NULL: ours), stdin from /dev/null and
 * stdout and stderr both into out_fd. Returns the pid, or a negative errno.
 */
pid_t rl_child_start(char *const argv[], char *const envp[], int out_fd);

/*
 * Waits at most timeout_ms (-1: no limit) for pid to exit by itself.
 * Returns its wait status (unregistering it), or -ETIMEDOUT.
 */
int rl_child_wait(pid_t pid, int timeout_ms);

/* Ends pid (SIGTERM, SIGKILL after 3 s) and reaps it. Returns its wait status. */
int rl_child_stop(pid_t pid);

/*
 * Runs argv to its end with a time limit, collecting stdout and stderr
 * together into a NUL-terminated malloc'd *out (may be NULL on no memory).
 * Returns the exit status (0..255), 128+signal, or a negative errno
 * (-ETIMEDOUT: it was killed after timeout_ms).
 */
int rl_child_run(char *const argv[], int timeout_ms, char **out);

/* Remembers a file (or, with is_dir, an empty directory) to remove at exit or on a signal. */
void rl_child_remove_at_exit(const char *path, int is_dir);

/* Stops every child and removes every registered file now. */
void rl_child_cleanup(void);

/* CLOCK_MONOTONIC in nanoseconds: the clock the broker and the domains read. */
unsigned long long rl_child_now_ns(void);

#endif /* RL_BENCH_RECOVERY_CHILD_H */
