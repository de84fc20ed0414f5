/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the IDL compiler: parser, checker and all three generators,
 * in memory. An input may hold several files separated by lines that start
 * with "//---" (a comment, so each piece is also valid alone), which fuzzes
 * the namespace shared across files too.
 *
 * Plain build (what CI runs): main() replays every file named on the command
 * line, or every file inside a named directory, and fails on nothing but a
 * crash or a sanitizer report: rejected inputs are the point.
 *
 * libFuzzer build (by hand, with clang):
 *   cd idl/compiler && clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -D_GNU_SOURCE -DRL_LIBFUZZER -I../../include -I. \
 *     ../../tests/fuzz/idl/fuzz-idl.c $(ls -- *.c | grep -v main.c) -o /tmp/fuzz-idl
 *   /tmp/fuzz-idl -max_len=65536 ../../tests/fuzz/idl/corpus
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "idlc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SPLIT "\n//---"

/* Diagnostics are formatted into /dev/null, so the printing code runs too. */
static FILE *sink(void)
{
	static FILE *f;

	if (!f)
		f = fopen("/dev/null", "w");
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct idl_unit *u = idl_unit_new(sink());
	unsigned n = 0;

	if (!u)
		return 0;
	while (p <= end) {
		const char *next = memmem(p, (size_t)(end - p), SPLIT, strlen(SPLIT));
		const char *stop = next ? next + 1 : end;
		char name[32];

		snprintf(name, sizeof(name), "fuzz%u.idl", n++);
		idl_unit_add_source(u, name, p, (size_t)(stop - p));
		if (!next)
			break;
		p = stop;
	}
	if (idl_unit_check(u) == 0) {
		struct idl_buf h = { 0 }, s = { 0 }, t = { 0 };

		idl_gen_header(u, &h);
		idl_gen_stubs(u, "fuzz.h", &s);
		idl_gen_tables(u, &t);
		idl_buf_free(&h);
		idl_buf_free(&s);
		idl_buf_free(&t);
	}
	idl_unit_free(u);
	return 0;
}

#ifndef RL_LIBFUZZER
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "fuzz-idl: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			uint8_t *more = realloc(data, cap ? cap * 2 : 4096);

			if (!more) {
				fclose(f);
				free(data);
				return -1;
			}
			data = more;
			cap = cap ? cap * 2 : 4096;
		}
		got = fread(data + len, 1, cap - len, f);
		if (!got)
			break;
		len += got;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays a directory's regular files in name order (stable logs). Returns how many, or -1. */
static int replay_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int count = 0;
	bool failed = false;

	if (!d) {
		fprintf(stderr, "fuzz-idl: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char *full;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&full, "%s/%s", path, e->d_name) < 0)
			break;
		if (stat(full, &st) || !S_ISREG(st.st_mode)) {
			free(full);
			continue;
		}
		if (n == cap) {
			char **more = realloc(names, (cap ? cap * 2 : 64) * sizeof(*names));

			if (!more) {
				free(full);
				break;
			}
			names = more;
			cap = cap ? cap * 2 : 64;
		}
		names[n++] = full;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (replay_file(names[i]) == 0)
			count++;
		else
			failed = true;
		free(names[i]);
	}
	free(names);
	return failed ? -1 : count;
}

int main(int argc, char **argv)
{
	int total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int n;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "fuzz-idl: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		n = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]) == 0 ? 1 : -1;
		if (n < 0)
			return 1;
		total += n;
	}
	if (sink())
		fclose(sink());
	printf("fuzz-idl: replayed %d inputs\n", total);
	return total > 0 ? 0 : 1;
}
#endif
