#!/bin/sh
# SPDX-License-Identifier: MIT
# redleaf-mkfs and redleaf-fsck (docs/rv6.md, "Tools"): an image made from a
# folder tree checks clean and holds the tree, byte for byte; one
# corrupted byte makes fsck fail and name the problem; bad arguments are
# refused with a message. Needs REDLEAF_MKFS, REDLEAF_FSCK, RV6_CAT (the
# test helper that reads a file out of an image) and python3.
set -u
mkfs=${REDLEAF_MKFS:?}
fsck=${REDLEAF_FSCK:?}
cat=${RV6_CAT:?}
dir=$(mktemp -d /tmp/rv6-tools.XXXXXX)
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM
failed=0
fail() {
	echo "FAIL: $*" >&2
	failed=1
}

# expect STATUS PATTERN CMD...: runs CMD, checks its exit status and that
# its output (stdout and stderr) matches the extended regular expression.
expect() {
	want=$1 pattern=$2
	shift 2
	"$@" > "$dir/out" 2>&1
	got=$?
	[ "$got" -eq "$want" ] || fail "$* exited $got, expected $want: $(cat "$dir/out")"
	grep -Eq -- "$pattern" "$dir/out" || fail "$*: no '$pattern' in: $(cat "$dir/out")"
}

# The tree: nested folders, an empty file, a file with indirect blocks, a
# 59-byte name, a symbolic link (skipped).
src=$dir/src
mkdir -p "$src/a/b/c" "$src/empty-dir"
printf 'hello\n' > "$src/hello.txt"
: > "$src/a/empty"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 1200)' > "$src/a/b/big.bin"
printf 'deep\n' > "$src/a/b/c/deep"
long=$(printf 'n%.0s' $(seq 1 59))
printf 'long\n' > "$src/$long"
ln -s hello.txt "$src/link"

expect 0 'usage: redleaf-mkfs' "$mkfs" --help
expect 0 'usage: redleaf-fsck' "$fsck" --help
expect 0 '5 files and 4 folders copied .* \(1 skipped\)' "$mkfs" --size 8M "$dir/img" "$src"
grep -q 'link: skipped' "$dir/out" || fail "mkfs did not say it skipped the link"
[ "$(stat -c %s "$dir/img")" -eq 8388608 ] || fail "the image is not 8 MiB"
# The root, 4 folders, 5 files.
expect 0 'consistent: 10 inodes' "$fsck" "$dir/img"
# Every file reads back the same, every folder lists the same names.
for f in hello.txt a/empty a/b/big.bin a/b/c/deep "$long"; do
	"$cat" "$dir/img" "/$f" > "$dir/copy" || fail "rv6-cat /$f failed"
	cmp -s "$src/$f" "$dir/copy" || fail "/$f differs from its source"
done
for d in . a a/b a/b/c empty-dir; do
	"$cat" "$dir/img" "/$d" | grep -v '^\.\.\?$' | sort > "$dir/names"
	(cd "$src/$d" && find . -mindepth 1 -maxdepth 1 ! -type l | sed 's|^\./||' | sort) > "$dir/want"
	cmp -s "$dir/names" "$dir/want" || fail "/$d lists $(cat "$dir/names"), expected $(cat "$dir/want")"
done

# A 60-byte name cannot be copied.
mkdir "$dir/toolong"
: > "$dir/toolong/${long}x"
expect 1 'name longer than 59 bytes' "$mkfs" --blocks 2048 "$dir/img2" "$dir/toolong"
# A tree bigger than the image.
expect 1 'the image is full' "$mkfs" --size 1M "$dir/img3" "$src"

# Bad arguments.
expect 2 'not a multiple of 4096' "$mkfs" --size 1000 "$dir/x"
expect 2 "bad size 'lots'" "$mkfs" --size lots "$dir/x"
expect 2 'one of --size and --blocks' "$mkfs" --size 8M --blocks 5 "$dir/x"
expect 2 "bad inode count '1'" "$mkfs" --inodes 1 "$dir/x"
expect 2 'usage:' "$mkfs"
expect 2 'usage:' "$mkfs" a b c
expect 2 'not a folder' "$mkfs" "$dir/x" "$src/hello.txt"
expect 1 'cannot hold the log' "$mkfs" --blocks 100 "$dir/x"
expect 2 'usage:' "$fsck"
expect 2 'No such file' "$fsck" "$dir/missing"
: > "$dir/tiny"
expect 2 'smaller than one' "$fsck" "$dir/tiny"
expect 1 'superblock: bad magic' "$fsck" "$src/a/b/big.bin"

# Corruptions, each on a fresh copy, each named by fsck. The layout comes
# from the superblock (docs/rv6.md): little-endian 32-bit fields.
field() {
	python3 -c 'import struct,sys; print(struct.unpack_from("<9I", open(sys.argv[1],"rb").read(36))[int(sys.argv[2])])' "$dir/img" "$1"
}
inode_start=$(field 6)
bmap_start=$(field 7)
data_start=$(field 8)
poke() {	# poke OFFSET BYTE: writes one byte into a copy of the image, $dir/bad
	cp "$dir/img" "$dir/bad"
	printf "$(printf '\\%03o' "$2")" | dd of="$dir/bad" bs=1 seek="$1" conv=notrunc status=none
}
# The bitmap byte of the root's block, cleared: the block is used but marked free.
poke $((bmap_start * 4096 + data_start / 8)) 0
expect 1 "block $data_start: used by inode 1 but marked free" "$fsck" "$dir/bad"
# The root's link count (inode 1, offset 2 in its 64 bytes) raised.
poke $((inode_start * 4096 + 64 + 2)) 9
expect 1 'inode 1: link count 9, but [0-9]+ directory entries name it' "$fsck" "$dir/bad"
# The root's first block pointer (offset 16) pointed past the image.
poke $((inode_start * 4096 + 64 + 16 + 3)) 127
expect 1 'inode 1: data block pointer [0-9]+ out of range' "$fsck" "$dir/bad"
# The superblock's magic.
poke 0 0
expect 1 'superblock: bad magic' "$fsck" "$dir/bad"
# The root directory's "." entry renamed with no terminating NUL.
cp "$dir/img" "$dir/bad"
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(int(sys.argv[2])*4096+4); f.write(b"X"*60)' "$dir/bad" "$data_start"
expect 1 'directory 1: entry at offset 0 has a bad name' "$fsck" "$dir/bad"
# The original is still clean, and --quiet prints nothing then.
"$fsck" --quiet "$dir/img" > "$dir/out" 2>&1 || fail "fsck --quiet failed on the clean image"
[ -s "$dir/out" ] && fail "fsck --quiet printed: $(cat "$dir/out")"

[ "$failed" -eq 0 ] && echo "rv6 tools: mkfs from a tree, fsck clean, 5 corruptions named, argument errors refused"
exit "$failed"
