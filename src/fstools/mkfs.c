// SPDX-License-Identifier: MIT
/*
 * redleaf-mkfs: makes an Rv6 file system image (docs/rv6.md, "Tools"),
 * optionally filled with a host folder's regular files and subfolders.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "filedev.h"

#define DEFAULT_SIZE (32ull << 20)

static const char usage[] =
	"usage: redleaf-mkfs [--size BYTES | --blocks N] [--inodes N] IMAGE [DIR]\n"
	"\n"
	"Makes an Rv6 file system in IMAGE (a file, created or cut to size, or a\n"
	"block device) and copies DIR's regular files and subfolders into it.\n"
	"Symbolic links, special files and IMAGE itself are skipped with a warning.\n"
	"\n"
	"  --size BYTES   image size, a multiple of 4096; suffixes K, M, G, T\n"
	"                 (default: a block device's size, else 32M)\n"
	"  --blocks N     image size in 4096-byte blocks\n"
	"  --inodes N     number of inodes (default: one per 4 blocks, at least 64,\n"
	"                 at most 65536)\n"
	"  --help         this text\n"
	"\n"
	"Exit status: 0 done, 1 the image could not be made or filled, 2 bad usage.\n";

struct copier {
	struct rv6_fs *fs;
	char *buf;
	unsigned long files, dirs, skipped;
	dev_t image_dev;	/* the image itself, if it lies inside DIR */
	ino_t image_ino;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "redleaf-mkfs: %s: %s\n", what,
		err == -ENOSPC ? "the image is full" :
		err == -ENAMETOOLONG ? "name longer than 59 bytes" : strerror(-err));
	return -1;
}

static int copy_file(struct copier *c, struct rv6_inode *dir, const char *name, const char *path)
{
	struct rv6_inode *ip;
	uint64_t off = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(path, -errno);
	err = rv6_open(c->fs, dir, name, RV6_O_CREATE | RV6_O_EXCL, &ip);
	if (err) {
		close(fd);
		return fail(path, err);
	}
	for (;;) {
		ssize_t n = read(fd, c->buf, 1 << 20), w;

		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		w = rv6_write(c->fs, ip, c->buf, (size_t)n, off);
		if (w < 0 || w != n) {
			err = w < 0 ? (int)w : -ENOSPC;
			break;
		}
		off += (uint64_t)n;
	}
	close(fd);
	rv6_close(c->fs, ip);
	if (err)
		return fail(path, err);
	c->files++;
	return 0;
}

static int copy_dir(struct copier *c, struct rv6_inode *dir, const char *path)
{
	struct dirent **names;
	int n, err = 0;

	n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return fail(path, -errno);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		struct rv6_inode *sub;
		struct stat st;
		char *child;

		if (err || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (asprintf(&child, "%s/%s", path, name) < 0) {
			err = fail(path, -ENOMEM);
			continue;
		}
		if (strlen(name) > RV6_NAME_MAX) {
			err = fail(child, -ENAMETOOLONG);
		} else if (lstat(child, &st) < 0) {
			err = fail(child, -errno);
		} else if (S_ISREG(st.st_mode) && st.st_dev == c->image_dev &&
			   st.st_ino == c->image_ino) {
			fprintf(stderr, "redleaf-mkfs: %s: skipped: the image itself\n", child);
			c->skipped++;
		} else if (S_ISREG(st.st_mode)) {
			err = copy_file(c, dir, name, child);
		} else if (S_ISDIR(st.st_mode)) {
			err = rv6_mkdir(c->fs, dir, name);
			if (!err)
				err = rv6_open(c->fs, dir, name, RV6_O_DIRECTORY, &sub);
			if (err) {
				err = fail(child, err);
			} else {
				c->dirs++;
				err = copy_dir(c, sub, child);
				rv6_close(c->fs, sub);
			}
		} else {
			fprintf(stderr, "redleaf-mkfs: %s: skipped: not a regular file or folder\n",
				child);
			c->skipped++;
		}
		free(child);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

/* Creates or sizes the image; *blocks in, 0 meaning the default. */
static int make_image(const char *path, uint64_t *blocks, struct filedev *fd)
{
	struct stat st;
	int err, f;

	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
		err = filedev_open(fd, path, true);
		if (err)
			return fail(path, err);
		if (!*blocks)
			*blocks = fd->nblocks;
		if (*blocks > fd->nblocks) {
			fprintf(stderr, "redleaf-mkfs: %s: the device has only %llu blocks\n", path,
				(unsigned long long)fd->nblocks);
			return -1;
		}
		return 0;
	}
	if (!*blocks)
		*blocks = DEFAULT_SIZE / RV6_BSIZE;
	f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (f < 0)
		return fail(path, -errno);
	/* Cut to nothing first: the image starts as zeros, sparse. */
	if (ftruncate(f, 0) < 0 || ftruncate(f, (off_t)(*blocks * RV6_BSIZE)) < 0) {
		err = -errno;
		close(f);
		return fail(path, err);
	}
	close(f);
	err = filedev_open(fd, path, true);
	return err ? fail(path, err) : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "inodes", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct rv6_mkfs_opts opts = { 0 };
	struct copier c = { 0 };
	struct filedev fd = { .fd = -1 };
	struct rv6_inode *root;
	struct rv6_bdev dev;
	uint64_t blocks = 0, v;
	const char *image, *dir;
	bool sized = false;
	int opt, err, status = 1;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
		case 'b':
			if (sized) {
				fprintf(stderr, "redleaf-mkfs: give one of --size and --blocks\n");
				return 2;
			}
			sized = true;
			if (parse_size(optarg, &v) || (opt == 'b' && strpbrk(optarg, "KkMmGgTt"))) {
				fprintf(stderr, "redleaf-mkfs: bad %s '%s'\n",
					opt == 's' ? "size" : "block count", optarg);
				return 2;
			}
			if (opt == 's' && v % RV6_BSIZE) {
				fprintf(stderr, "redleaf-mkfs: size %s is not a multiple of 4096\n", optarg);
				return 2;
			}
			blocks = opt == 's' ? v / RV6_BSIZE : v;
			if (blocks == 0 || blocks > UINT32_MAX) {
				fprintf(stderr, "redleaf-mkfs: size '%s' out of range (1 block to 2^32 - 1 blocks)\n",
					optarg);
				return 2;
			}
			break;
		case 'i':
			if (parse_size(optarg, &v) || strpbrk(optarg, "KkMmGgTt") || v < 2 ||
			    v > UINT32_MAX) {
				fprintf(stderr, "redleaf-mkfs: bad inode count '%s'\n", optarg);
				return 2;
			}
			opts.ninodes = (uint32_t)v;
			break;
		case 'h':
			return cli_usage(usage, true);
		default:
			return cli_usage(usage, false);
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage(usage, false);
	image = argv[optind];
	dir = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (dir) {
		struct stat st;

		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "redleaf-mkfs: %s: %s\n", dir,
				errno && stat(dir, &st) < 0 ? strerror(errno) : "not a folder");
			return 2;
		}
	}
	if (make_image(image, &blocks, &fd))
		goto out;
	opts.nblocks = (uint32_t)blocks;
	dev = filedev_bdev(&fd);
	fd.durable = false;	/* one fsync at the end: a half-made image is no image */
	err = rv6_mkfs(&dev, &opts);
	if (err == -EINVAL) {
		fprintf(stderr, "redleaf-mkfs: %s: %llu blocks cannot hold the log, the inodes "
			"and a root directory\n", image, (unsigned long long)blocks);
		goto out;
	}
	if (err) {
		fail(image, err);
		goto out;
	}
	if (dir) {
		struct stat st;

		if (fstat(fd.fd, &st) == 0) {
			c.image_dev = st.st_dev;
			c.image_ino = st.st_ino;
		}
		c.buf = malloc(1 << 20);
		if (!c.buf) {
			fail(image, -ENOMEM);
			goto out;
		}
		err = rv6_mount(&dev, NULL, &c.fs);
		if (err) {
			fail(image, err);
			goto out;
		}
		err = rv6_root(c.fs, &root);
		if (!err) {
			err = copy_dir(&c, root, dir);
			rv6_close(c.fs, root);
		} else {
			fail(image, err);
		}
		if (rv6_unmount(c.fs) && !err)
			err = fail(image, -EIO);
		if (err)
			goto out;
	}
	fd.durable = true;
	err = dev.flush(dev.ctx);
	if (err) {
		fail(image, err);
		goto out;
	}
	printf("%s: %llu blocks", image, (unsigned long long)blocks);
	if (dir)
		printf(", %lu files and %lu folders copied from %s (%lu skipped)", c.files, c.dirs,
		       dir, c.skipped);
	printf("\n");
	status = 0;
out:
	free(c.buf);
	filedev_close(&fd);
	return status;
}
