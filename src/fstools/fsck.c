// SPDX-License-Identifier: MIT
/*
 * redleaf-fsck: checks an Rv6 file system image without changing it
 * (docs/rv6.md, "Tools"); one line per inconsistency.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "filedev.h"

static const char usage[] =
	"usage: redleaf-fsck [--quiet] IMAGE\n"
	"\n"
	"Checks the Rv6 file system in IMAGE, read-only: the superblock, the log\n"
	"header (a committed transaction still in the log is checked as replayed),\n"
	"every inode's block pointers (in range, no block used twice, none beyond\n"
	"the size), the bitmap against the blocks in use, directories (\".\" and\n"
	"\"..\", names, no entry naming a free inode), link counts and reachability.\n"
	"Prints one line per inconsistency on stdout.\n"
	"\n"
	"  --quiet   no notes and no summary, only the inconsistencies\n"
	"  --help    this text\n"
	"\n"
	"Exit status: 0 consistent, 1 inconsistencies found, 2 bad usage or the\n"
	"image could not be read.\n";

struct out {
	const char *image;
	bool quiet;
};

static void report(void *ctx, const char *line)
{
	printf("%s: %s\n", ((struct out *)ctx)->image, line);
}

static void note(void *ctx, const char *line)
{
	struct out *o = ctx;

	if (!o->quiet)
		printf("%s: note: %s\n", o->image, line);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct rv6_check_stats stats;
	struct filedev fd;
	struct rv6_bdev dev;
	struct out o = { 0 };
	long problems;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			return cli_usage(usage, true);
		default:
			return cli_usage(usage, false);
		}
	}
	if (argc - optind != 1)
		return cli_usage(usage, false);
	o.image = argv[optind];
	err = filedev_open(&fd, o.image, false);
	if (err) {
		fprintf(stderr, "redleaf-fsck: %s: %s\n", o.image, strerror(-err));
		return 2;
	}
	if (fd.nblocks == 0) {
		fprintf(stderr, "redleaf-fsck: %s: smaller than one 4096-byte block\n", o.image);
		filedev_close(&fd);
		return 2;
	}
	dev = filedev_bdev(&fd);
	problems = rv6_check(&dev, report, note, &o, &stats);
	filedev_close(&fd);
	if (problems < 0) {
		fprintf(stderr, "redleaf-fsck: %s: %s\n", o.image, strerror((int)-problems));
		return 2;
	}
	if (problems) {
		fprintf(stderr, "redleaf-fsck: %s: %ld inconsistenc%s\n", o.image, problems,
			problems == 1 ? "y" : "ies");
		return 1;
	}
	if (!o.quiet)
		printf("%s: consistent: %u inodes and %u data blocks in use, %u orphan(s)\n",
		       o.image, stats.inodes_used, stats.blocks_used, stats.orphans);
	return 0;
}
