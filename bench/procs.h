/* SPDX-License-Identifier: MIT */
/*
 * The harness's child processes (floor partners and the broker) and the
 * files it creates, ended and removed on every path: normal return, error,
 * and SIGINT/SIGTERM/SIGHUP. Children also get a parent-death signal, so
 * even a harness killed with SIGKILL leaves nothing running.
 */
#ifndef RL_BENCH_PROCS_H
#define RL_BENCH_PROCS_H

#include <sys/types.h>

/* Installs the SIGINT/SIGTERM/SIGHUP handler that ends everything registered here. */
void rl_procs_init(void);

/*
 * Forks a child that runs fn(arg) and exits; it dies with SIGKILL when the
 * harness dies. Returns the pid, or a negative errno.
 */
pid_t rl_procs_fork(void (*fn)(void *), void *arg);

/*
 * Starts argv[0] (a path) with envp (NULL: ours), stdin from /dev/null,
 * stdout to stdout_fd and stderr to stderr_fd (-1: /dev/null); no other
 * descriptor. The child gets SIGTERM when the harness dies (a broker then
 * tears its system down itself). Returns the pid or a negative errno.
 */
pid_t rl_procs_exec(char *const argv[], char *const envp[], int stdout_fd, int stderr_fd);

/*
 * The environment for a broker the harness starts: ours without the
 * variables that would send it or its domains elsewhere
 * (REDLEAF_DOMAIN_PATH, REDLEAF_DOMAIN, REDLEAF_SOCKET), plus
 * REDLEAF_DOMAIN_PATH=domain_path. NULL when out of memory; free it with
 * rl_procs_env_free().
 */
char **rl_procs_env(const char *domain_path);
void rl_procs_env_free(char **env);

/*
 * Runs argv[0] to completion for at most timeout_ms, collecting its stdout
 * and stderr into *out (malloc'd, NUL-terminated, also on failure). Returns
 * its exit code (128 + signal when killed), or a negative errno (-ETIMEDOUT).
 */
int rl_procs_run(char *const argv[], int timeout_ms, char **out);

/*
 * Ends pid (SIGKILL for forks, SIGTERM then SIGKILL after 3 s for execs) and
 * reaps it. Returns its wait status.
 */
int rl_procs_stop(pid_t pid);

/* CLOCK_MONOTONIC in nanoseconds: the clock every process of a run shares. */
unsigned long long rl_procs_now_ns(void);

/*
 * Waits for pid to exit by itself for at most timeout_ms (-1: no limit).
 * Returns its wait status, or -ETIMEDOUT (pid still running and registered).
 */
int rl_procs_wait(pid_t pid, int timeout_ms);

/* Remembers a file (or, with is_dir, an empty directory) to remove at exit or on a signal. */
void rl_procs_remove_at_exit(const char *path, int is_dir);

/* Stops every child and removes every registered file now. */
void rl_procs_cleanup(void);

/* The folder of this program's executable into out: 0 or a negative errno. */
int rl_procs_self_dir(char *out, size_t len);

/* Makes path and every folder above it (0755): 0 or a negative errno (-ENAMETOOLONG for a path too long). */
int rl_procs_mkdirs(const char *path);

#endif /* RL_BENCH_PROCS_H */
