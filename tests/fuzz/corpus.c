// SPDX-License-Identifier: MIT
/* The corpus walk every fuzz replay shares. See corpus.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

unsigned t_corpus_walk(int n, char **paths, void (*replay)(const char *path))
{
	unsigned files = 0;

	for (int i = 0; i < n; i++) {
		struct dirent **names;
		int k = scandir(paths[i], &names, NULL, alphasort);

		if (k < 0) { /* a file */
			replay(paths[i]);
			files++;
			continue;
		}
		for (int j = 0; j < k; j++) {
			char full[4096];

			if (names[j]->d_name[0] != '.' &&
			    snprintf(full, sizeof(full), "%s/%s", paths[i], names[j]->d_name) < (int)sizeof(full)) {
				replay(full);
				files++;
			}
			free(names[j]);
		}
		free(names);
	}
	if (!files)
		fprintf(stderr, "FAIL: no corpus files found\n");
	return files;
}

uint8_t *t_corpus_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 1 >= cap) {
			uint8_t *p = realloc(buf, cap ? cap * 2 : 65536);
			if (!p) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = p;
			cap = cap ? cap * 2 : 65536;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (!got)
			break;
	}
	int failed = ferror(f);
	fclose(f);
	if (failed) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}
