/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target's replay shares (tests/fuzz/<target>/): walking
 * the committed corpus, reading a file, and the fixed-seed generator that
 * makes its mutations the same on every run, so a failure reproduces.
 */
#ifndef RL_TESTS_FUZZ_CORPUS_H
#define RL_TESTS_FUZZ_CORPUS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Calls replay(path) for every corpus file named by paths[0..n-1]: a
 * folder's files in name order (skipping dot files), or a file itself.
 * Returns how many; 0 (after saying so) when there were none.
 */
unsigned t_corpus_walk(int n, char **paths, void (*replay)(const char *path));

/* A whole file (malloc'd, with a NUL after its bytes), its length in *len; NULL and errno on failure. */
uint8_t *t_corpus_read(const char *path, size_t *len);

/* xorshift64 over *state (never 0). */
static inline uint64_t t_corpus_rng(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif /* RL_TESTS_FUZZ_CORPUS_H */
