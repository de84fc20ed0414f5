// SPDX-License-Identifier: MIT
/*
 * Test helper: rv6-cat IMAGE PATH prints the file at PATH in the Rv6 image
 * (for a folder: its entries, one a line), so tests/rv6/tools.sh can
 * compare what redleaf-mkfs copied with the source tree.
 */
#include <stdio.h>
#include <string.h>

#include "filedev.h"

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	struct rv6_dirent_info de;
	struct rv6_inode *ip;
	struct rv6_stat st;
	struct filedev fd;
	struct rv6_bdev dev;
	struct rv6_fs *fs;
	uint64_t off = 0;
	ssize_t n;
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: rv6-cat IMAGE PATH\n");
		return 2;
	}
	err = filedev_open(&fd, argv[1], true);
	if (!err) {
		dev = filedev_bdev(&fd);
		err = rv6_mount(&dev, NULL, &fs);
	}
	if (err) {
		fprintf(stderr, "rv6-cat: %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	err = rv6_open(fs, NULL, argv[2], 0, &ip);
	if (!err)
		err = rv6_stat(fs, ip, &st);
	if (!err && st.type == RV6_T_DIR) {
		while ((err = rv6_readdir(fs, ip, &off, &de)) == 1)
			printf("%s\n", de.name);
	} else if (!err) {
		while ((n = rv6_read(fs, ip, buf, sizeof(buf), off)) > 0) {
			fwrite(buf, 1, (size_t)n, stdout);
			off += (uint64_t)n;
		}
		err = n < 0 ? (int)n : 0;
	}
	if (err < 0)
		fprintf(stderr, "rv6-cat: %s: %s\n", argv[2], strerror(-err));
	rv6_unmount(fs);
	filedev_close(&fd);
	return err < 0 ? 1 : 0;
}
