/* SPDX-License-Identifier: MIT */
/* The command line of the host tools (redleaf-mkfs, redleaf-fsck). */
#ifndef RL_FSTOOLS_CLI_H
#define RL_FSTOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Prints usage: on stdout for --help, returning exit status 0, else on
 * stderr for bad usage, returning exit status 2.
 */
int cli_usage(const char *usage, bool help);

/*
 * Parses a size: digits with an optional K, M, G or T suffix (powers of
 * 1024). 0, or -EINVAL / -ERANGE.
 */
int parse_size(const char *s, uint64_t *out);

#endif
