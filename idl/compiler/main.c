/* SPDX-License-Identifier: MIT */
/* redleaf-idlc: the command line. See usage() and docs/idl.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idlc.h"

#ifndef IDLC_VERSION
#define IDLC_VERSION "unknown"
#endif

enum { OUT_HEADER, OUT_STUBS, OUT_TABLES, NOUT };

struct output {
	const char *option;
	const char *path; /* NULL: not requested */
	struct idl_buf buf;
	char *tmp;        /* temporary file, until renamed */
};

static void usage(FILE *f)
{
	fputs("usage: redleaf-idlc [--check] [--header OUT.h] [--stubs OUT.c] [--tables OUT.c] FILE.idl...\n"
	      "\n"
	      "Compiles RedLeaf IDL files (docs/idl.md) into C. The files of one run share one\n"
	      "namespace; type and interface ids are numbered across all of them, files in\n"
	      "command-line order.\n"
	      "\n"
	      "  --header OUT.h  write the header: ids, structs, typed RRefs, stub prototypes,\n"
	      "                  ops tables and export helpers\n"
	      "  --stubs OUT.c   write caller stubs, dispatchers and shadow dispatchers; the file\n"
	      "                  #includes the header by the base name given to --header\n"
	      "                  (\"redleaf_idl.h\" without --header)\n"
	      "  --tables OUT.c  write the broker's validation tables (rl_idl_types, rl_idl_ifaces,\n"
	      "                  rl_idl_iface_by_name)\n"
	      "  --check         only check the files, write nothing\n"
	      "  --version       print the version and exit\n"
	      "  -h, --help      print this help and exit\n"
	      "\n"
	      "Outputs are written only when every file is correct, each through a temporary\n"
	      "file renamed into place. Errors go to stderr as \"file:line:col: error: message\".\n"
	      "Exit status: 0 success, 1 errors in the input or while writing, 2 bad usage.\n",
	      f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns the exit status for bad usage, 2. */
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("redleaf-idlc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'redleaf-idlc --help'.\n", stderr);
	return 2;
}

/* Reads at most IDL_MAX_FILE_SIZE + 1 bytes: enough for the parser to say "too large". */
static char *read_file(const char *path, size_t *len)
{
	size_t cap = IDL_MAX_FILE_SIZE + 1, n = 0;
	char *data = malloc(cap);
	FILE *f;

	if (!data)
		return NULL;
	f = fopen(path, "rb");
	if (!f) {
		free(data);
		return NULL;
	}
	while (n < cap) {
		size_t got = fread(data + n, 1, cap - n, f);

		if (!got)
			break;
		n += got;
	}
	if (ferror(f)) {
		int err = errno;

		fclose(f);
		free(data);
		errno = err ? err : EIO;
		return NULL;
	}
	fclose(f);
	*len = n;
	return data;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes the buffer to a fresh temporary file beside the output. Returns 0 or a negative errno. */
static int write_temp(struct output *o)
{
	mode_t mask = umask(0);
	int fd, rc;

	umask(mask);
	o->tmp = malloc(strlen(o->path) + sizeof(".tmpXXXXXX"));
	if (!o->tmp)
		return -ENOMEM;
	sprintf(o->tmp, "%s.tmpXXXXXX", o->path);
	fd = mkstemp(o->tmp);
	if (fd < 0) {
		rc = -errno;
		free(o->tmp);
		o->tmp = NULL;
		return rc;
	}
	/* mkstemp makes 0600; generated sources should be as readable as any other file */
	rc = fchmod(fd, 0666 & ~mask) ? -errno : 0;
	if (!rc)
		rc = write_all(fd, o->buf.data ? o->buf.data : "", o->buf.len);
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

/* All outputs go to temporary files first, so a failed write leaves every old output alone. */
static int write_outputs(struct output *outs)
{
	int rc = 0;

	for (int i = 0; i < NOUT && !rc; i++) {
		if (!outs[i].path)
			continue;
		rc = write_temp(&outs[i]);
		if (rc)
			fprintf(stderr, "redleaf-idlc: error: cannot write '%s': %s\n", outs[i].path,
				strerror(-rc));
	}
	for (int i = 0; i < NOUT && !rc; i++) {
		if (outs[i].tmp && rename(outs[i].tmp, outs[i].path)) {
			rc = -errno;
			fprintf(stderr, "redleaf-idlc: error: cannot rename '%s' to '%s': %s\n",
				outs[i].tmp, outs[i].path, strerror(-rc));
		} else if (outs[i].tmp) {
			free(outs[i].tmp);
			outs[i].tmp = NULL;
		}
	}
	for (int i = 0; i < NOUT; i++) {
		if (outs[i].tmp) {
			unlink(outs[i].tmp);
			free(outs[i].tmp);
			outs[i].tmp = NULL;
		}
	}
	return rc;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
	struct output outs[NOUT] = {
		[OUT_HEADER] = { .option = "--header" },
		[OUT_STUBS] = { .option = "--stubs" },
		[OUT_TABLES] = { .option = "--tables" },
	};
	bool check_only = false, any_out = false, failed = false;
	struct idl_unit *u;
	int i, first_file = argc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool matched = false;

		if (!strcmp(a, "--")) {
			first_file = i + 1;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--version")) {
			printf("redleaf-idlc %s\n", IDLC_VERSION);
			return 0;
		}
		if (!strcmp(a, "--check")) {
			check_only = true;
			continue;
		}
		for (int k = 0; k < NOUT; k++) {
			size_t n = strlen(outs[k].option);

			if (strncmp(a, outs[k].option, n) || (a[n] && a[n] != '='))
				continue;
			matched = true;
			if (outs[k].path)
				return usage_error("%s given twice", outs[k].option);
			if (a[n] == '=')
				outs[k].path = a + n + 1;
			else if (i + 1 < argc)
				outs[k].path = argv[++i];
			else
				return usage_error("%s needs a file name", outs[k].option);
			if (!*outs[k].path)
				return usage_error("%s needs a file name", outs[k].option);
			any_out = true;
		}
		if (matched)
			continue;
		if (a[0] == '-' && a[1])
			return usage_error("unknown option '%s'", a);
		first_file = i;
		break;
	}
	if (first_file >= argc)
		return usage_error("no input files");
	if (check_only && any_out)
		return usage_error("--check writes nothing: drop --header, --stubs and --tables");
	if (!check_only && !any_out)
		return usage_error("nothing to do: give --check, or --header, --stubs or --tables");
	for (int a = 0; a < NOUT; a++)
		for (int b = a + 1; b < NOUT; b++)
			if (outs[a].path && outs[b].path && !strcmp(outs[a].path, outs[b].path))
				return usage_error("'%s' is given for two outputs", outs[a].path);

	/* the stubs file #includes the header by this name */
	if (outs[OUT_HEADER].path && strpbrk(base_name(outs[OUT_HEADER].path), "\"\\\n"))
		return usage_error("header name '%s' cannot appear in an #include", outs[OUT_HEADER].path);

	u = idl_unit_new(stderr);
	if (!u) {
		fputs("redleaf-idlc: out of memory\n", stderr);
		return 1;
	}
	for (i = first_file; i < argc; i++) {
		size_t len = 0;
		char *text = read_file(argv[i], &len);

		if (!text) {
			fprintf(stderr, "redleaf-idlc: error: cannot read '%s': %s\n", argv[i],
				strerror(errno));
			failed = true;
			continue;
		}
		if (idl_unit_add_source(u, argv[i], text, len))
			failed = true;
		free(text);
	}
	if (!failed)
		failed = idl_unit_check(u) != 0;
	if (!failed && !check_only) {
		const char *hname = outs[OUT_HEADER].path ? base_name(outs[OUT_HEADER].path) :
				    "redleaf_idl.h";

		if (outs[OUT_HEADER].path)
			idl_gen_header(u, &outs[OUT_HEADER].buf);
		if (outs[OUT_STUBS].path)
			idl_gen_stubs(u, hname, &outs[OUT_STUBS].buf);
		if (outs[OUT_TABLES].path)
			idl_gen_tables(u, &outs[OUT_TABLES].buf);
		failed = write_outputs(outs) != 0;
	}
	idl_unit_free(u);
	for (int k = 0; k < NOUT; k++)
		idl_buf_free(&outs[k].buf);
	return failed ? 1 : 0;
}
