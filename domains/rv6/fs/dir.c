// SPDX-License-Identifier: MIT
/*
 * Directories and paths. A directory is a file of 64-byte entries (inode
 * number, NUL-terminated name); entry 0 is ".", entry 1 is "..", inode
 * number 0 marks a free entry. An entry read from the image is used only
 * when its name is terminated, non-empty and free of '/', and its inode
 * number is in range.
 */
#include <errno.h>
#include <string.h>

#include "fs_internal.h"

bool __rv6_dirent_name_ok(const struct rv6_ddirent *de)
{
	size_t len = strnlen(de->name, sizeof(de->name));

	return len > 0 && len < sizeof(de->name) && !memchr(de->name, '/', len);
}

int __rv6_dir_scan(struct rv6_fs *fs, struct rv6_inode *dp,
		   int (*fn)(const struct rv6_ddirent *de, uint64_t off, void *arg), void *arg)
{
	struct rv6_ddirent ents[RV6_DPB];

	for (uint64_t base = 0; base < dp->d.size; base += RV6_BSIZE) {
		ssize_t got = __rv6_readi(fs, dp, ents, base, sizeof(ents));

		if (got < 0)
			return (int)got;
		for (size_t i = 0; i < (size_t)got / sizeof(ents[0]); i++) {
			int r;

			if (ents[i].inum == 0)
				continue;
			if (!__rv6_dirent_name_ok(&ents[i]) || ents[i].inum >= fs->sb.ninodes)
				return -EUCLEAN;
			r = fn(&ents[i], base + i * sizeof(ents[0]), arg);
			if (r)
				return r;
		}
	}
	return 0;
}

struct lookup_arg {
	const char *name;
	uint32_t inum;
	uint64_t off;
};

static int lookup_fn(const struct rv6_ddirent *de, uint64_t off, void *arg)
{
	struct lookup_arg *la = arg;

	if (strcmp(de->name, la->name) != 0)
		return 0;
	la->inum = de->inum;
	la->off = off;
	return 1;
}

int __rv6_dirlookup(struct rv6_fs *fs, struct rv6_inode *dp, const char *name, uint32_t *inum,
		    uint64_t *off)
{
	struct lookup_arg la = { .name = name };
	int r;

	if (dp->d.type != RV6_T_DIR)
		return -ENOTDIR;
	r = __rv6_dir_scan(fs, dp, lookup_fn, &la);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	*inum = la.inum;
	if (off)
		*off = la.off;
	return 0;
}

int __rv6_dirlink(struct rv6_fs *fs, struct rv6_inode *dp, const char *name, uint32_t inum)
{
	struct rv6_ddirent de;
	uint64_t off;
	ssize_t got;

	/* The first free entry, else a new one at the end. */
	for (off = 0; off + sizeof(de) <= dp->d.size; off += sizeof(de)) {
		got = __rv6_readi(fs, dp, &de, off, sizeof(de));
		if (got < 0)
			return (int)got;
		if (got != sizeof(de) || de.inum == 0)
			break;
	}
	off -= off % sizeof(de);
	if (off + sizeof(de) > RV6_DIR_MAX_SIZE)
		return -ENOSPC;
	memset(&de, 0, sizeof(de));
	de.inum = inum;
	strncpy(de.name, name, RV6_NAME_MAX);
	got = __rv6_writei(fs, dp, &de, off, sizeof(de));
	if (got < 0)
		return (int)got;
	return got == sizeof(de) ? 0 : -ENOSPC;
}

/*
 * Copies the next component of *path into name and moves *path past it and
 * the slashes after it. 0 at the end of the path, 1 for a component,
 * -ENAMETOOLONG.
 */
static int next_component(const char **path, char name[RV6_NAME_MAX + 1])
{
	const char *p = *path, *start;
	size_t len;

	while (*p == '/')
		p++;
	if (*p == '\0')
		return 0;
	start = p;
	while (*p != '/' && *p != '\0')
		p++;
	len = (size_t)(p - start);
	if (len > RV6_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(name, start, len);
	name[len] = '\0';
	while (*p == '/')
		p++;
	*path = p;
	return 1;
}

/* Resolves path; with parent set, stops before the last component and leaves it in name. */
static int namex(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path, bool parent,
		 struct rv6_inode **out, char name[RV6_NAME_MAX + 1])
{
	struct rv6_inode *ip, *next;
	uint32_t inum;
	int err, r;

	if (!path || *path == '\0')
		return -ENOENT;
	if (*path == '/' || !cwd) {
		err = __rv6_iget(fs, RV6_ROOT_INUM, &ip);
		if (err)
			return err;
	} else {
		ip = rv6_dup(cwd);
	}
	while ((r = next_component(&path, name)) == 1) {
		err = __rv6_iload(fs, ip);
		if (!err && ip->d.type != RV6_T_DIR)
			err = -ENOTDIR;
		if (err)
			goto err;
		if (parent && *path == '\0') {
			*out = ip;
			return 0;
		}
		err = __rv6_dirlookup(fs, ip, name, &inum, NULL);
		if (!err)
			err = __rv6_iget(fs, inum, &next);
		if (err)
			goto err;
		__rv6_iput(fs, ip);
		ip = next;
	}
	err = r;
	if (!err && parent)
		err = -EINVAL;	/* no last component: "/" or the cwd itself */
	if (!err) {
		*out = ip;
		return 0;
	}
err:
	__rv6_iput(fs, ip);
	return err;
}

int __rv6_namei(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path,
		struct rv6_inode **out)
{
	char name[RV6_NAME_MAX + 1];

	return namex(fs, cwd, path, false, out, name);
}

int __rv6_nameiparent(struct rv6_fs *fs, struct rv6_inode *cwd, const char *path,
		      struct rv6_inode **out, char name[RV6_NAME_MAX + 1])
{
	return namex(fs, cwd, path, true, out, name);
}
