// SPDX-License-Identifier: MIT
/*
 * Manifest fuzz target. rl_manifest_parse() reads untrusted text, so every
 * committed input under corpus/ is replayed in every CI run, plain and
 * under ASan/UBSan/LSan: whole, cut at many lengths (truncated files), and
 * with a fixed set of seeded mutations. Besides "no crash, no leak", each
 * result must keep the API's promises: one-line "path:..." errors, *out
 * untouched on failure, a consistent manifest on success.
 *
 * Usage: fuzz-manifest DIR|FILE...   (exit 0 pass, 1 fail)
 * Built with -DRL_LIBFUZZER, only LLVMFuzzerTestOneInput() is compiled, for
 * clang -fsanitize=fuzzer runs with corpus/ as the seed corpus.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../corpus.h"
#include "manifest.h"

#define FUZZ_PATH "fuzz.yaml"

static const char *current; /* the corpus file being replayed, for failure messages */

static void __attribute__((noreturn)) broken(const char *what, const char *err)
{
	fprintf(stderr, "FAIL: %s: %s (message: %s)\n", current ? current : "input", what,
		err ? err : "");
	exit(1);
}

static void check_manifest(const struct rl_manifest *m)
{
	if (m->ndomains < 1 || m->ndomains > RL_MAX_DOMAINS)
		broken("domain count out of range", NULL);
	if (strlen(m->system) < 1 || strlen(m->system) >= RL_NAME_MAX)
		broken("bad system name", NULL);
	if (m->heap_size < RL_MANIFEST_HEAP_MIN || m->heap_size > RL_MANIFEST_HEAP_MAX)
		broken("heap size out of range", NULL);
	for (unsigned i = 0; i < m->ndomains; i++) {
		const struct rl_manifest_domain *d = &m->domains[i];

		if (rl_manifest_domain(m, d->name) != d)
			broken("domain names not unique", d->name);
		if (d->binary[0] == '\0' || d->nexports > RL_MAX_EXPORTS ||
		    d->nimports > RL_MAX_IMPORTS || d->nargs > RL_MANIFEST_MAX_ARGS)
			broken("domain fields out of range", d->name);
		for (unsigned a = 0; a < d->nargs; a++)
			if (!d->args[a])
				broken("NULL argument", d->name);
		for (unsigned k = 0; k < d->nimports; k++) {
			const struct rl_manifest_domain *from = rl_manifest_domain(m, d->imports[k].from);
			bool exported = false;

			if (!from || from == d)
				broken("import from a missing domain or itself", d->imports[k].name);
			for (unsigned e = 0; e < from->nexports; e++)
				exported |= strcmp(from->exports[e], d->imports[k].iface) == 0;
			if (!exported)
				broken("import of an interface that is not exported", d->imports[k].name);
		}
	}
}

static void replay(const uint8_t *data, size_t len)
{
	struct rl_manifest *sentinel = (struct rl_manifest *)&current;
	struct rl_manifest *m = sentinel;
	char err[512];
	int r;

	memset(err, 'Z', sizeof(err));
	r = rl_manifest_parse(FUZZ_PATH, (const char *)data, len, &m, err, sizeof(err));
	if (r == 0) {
		if (m == sentinel || !m)
			broken("success without a manifest", NULL);
		check_manifest(m);
		rl_manifest_free(m);
		return;
	}
	if (r != -EINVAL && r != -EFBIG && r != -ENOMEM)
		broken("unexpected return value", err);
	if (m != sentinel)
		broken("out written on failure", err);
	if (!memchr(err, '\0', sizeof(err)))
		broken("message not terminated", NULL);
	if (strncmp(err, FUZZ_PATH ":", strlen(FUZZ_PATH ":")) != 0 || !strstr(err, " error: "))
		broken("message not in path:line:col: error: form", err);
	if (strchr(err, '\n'))
		broken("message spans lines", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	replay(data, len);
	return 0;
}

#ifndef RL_LIBFUZZER

/* The same mutations on every run, so a failure reproduces. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	return t_corpus_rng(&rng_state);
}

/* Bytes and tokens that steer libyaml and our schema into their corners. */
static const char *const tokens[] = {
	"[", "]", "{", "}", ":", ": ", "- ", ",", "\n", "\t", " ", "\"", "'", "#", "&a ", "*a",
	"!!str ", "? ", "---\n", "...\n", "|\n", ">\n", "\\", "%YAML 1.1\n", "\xff", "\xc3",
	"\0", "\r\n", "name", "domains", "imports", "from", "iface", "exports", "syscalls", "devmem",
	"0", "-1", "4294967296", "99999999999999999999", "16G", "4M", "true", "~", "null",
};

static void mutate_and_replay(const uint8_t *data, size_t len, unsigned rounds)
{
	size_t cap = len + 64;
	uint8_t *buf = malloc(cap);

	if (!buf)
		broken("out of memory", NULL);
	for (unsigned round = 0; round < rounds; round++) {
		size_t n = len;

		memcpy(buf, data, len);
		for (unsigned edits = 1 + rng() % 3; edits > 0; edits--) {
			size_t at = n ? rng() % (n + 1) : 0;

			switch (rng() % 4) {
			case 0: /* flip a byte */
				if (at < n)
					buf[at] ^= (uint8_t)(1u << (rng() % 8));
				break;
			case 1: /* delete a run */
				if (at < n) {
					size_t k = 1 + rng() % 8;

					if (k > n - at)
						k = n - at;
					memmove(buf + at, buf + at + k, n - at - k);
					n -= k;
				}
				break;
			default: { /* insert a token */
				const char *t = tokens[rng() % (sizeof(tokens) / sizeof(tokens[0]))];
				size_t k = t[0] ? strlen(t) : 1;

				if (n + k > cap)
					break;
				memmove(buf + at + k, buf + at, n - at);
				memcpy(buf + at, t, k);
				n += k;
				break;
			}
			}
		}
		replay(buf, n);
	}
	free(buf);
}

static void replay_file(const char *path)
{
	size_t len, step;
	uint8_t *data = t_corpus_read(path, &len);

	if (!data) {
		fprintf(stderr, "FAIL: cannot read %s: %s\n", path, strerror(errno));
		exit(1);
	}
	current = path;
	replay(data, len);
	/* Truncated files: every length of small inputs, 128 lengths of big ones. */
	step = len <= 4096 ? 1 : len / 128;
	for (size_t cut = 0; cut < len; cut += step)
		replay(data, cut);
	rng_state = 0x9e3779b97f4a7c15ull ^ len;
	mutate_and_replay(data, len, len <= 65536 ? 400 : 8);
	free(data);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 1;
	}
	unsigned files = t_corpus_walk(argc - 1, argv + 1, replay_file);
	if (!files)
		return 1;
	/* Inputs too large to commit: just over the size limit, and a huge valid-looking one. */
	current = "generated: 1 MiB + 1 of comments";
	{
		size_t len = RL_MANIFEST_MAX_BYTES + 1;
		uint8_t *big = malloc(len);

		if (!big)
			broken("out of memory", NULL);
		memset(big, '#', len);
		replay(big, len);
		replay(big, len - 1);
		free(big);
	}
	printf("replayed %u corpus files\n", files);
	return 0;
}

#endif /* RL_LIBFUZZER */
