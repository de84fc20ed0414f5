#!/bin/sh
# SPDX-License-Identifier: MIT
# The io_uring group grants no more than its name: a domain gets only the
# ring the broker made, restricted to reads and writes on the manifest's
# files (docs/security.md). The uring fixture writes and reads its file
# through the ring, then tries what it was not given: openat and socket
# through the ring, a read by descriptor, a file index past its files,
# registering files, and a ring of its own. Run as root and as nobody.
#   uring-restricted.sh [--as-nobody]
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
: "${REDLEAF_DOMAIN_PATH:?REDLEAF_DOMAIN_PATH must name the built domains}"
. "$(dirname "$0")/lib.sh"
rl_test_setup rl-uring
rl_system_dir ${1:+"$1"} uring
: > "$dir/data"
chown 65534:65534 "$dir/data"
printf '%s\n' 'system: uring' 'domains:' '  - {name: uring, binary: uring, uring: {files: [data], entries: 8}}' \
	> "$dir/system.yaml"
REDLEAF_DOMAIN_PATH="$dir/bin" timeout 30 $as_user "$dir/bin/redleaf" run --until uring --socket "$dir/run/s" \
	"$dir/system.yaml" 2> "$dir/log" < /dev/null
st=$?
# --until passes on how the domain ended: killed by SIGSYS (128 + 31) for its own ring.
[ $st -eq 159 ] || fail "the broker exited with status $st, not 159 (the domain killed by SIGSYS)"
expect() { grep -qF -- "[uring] $1" "$dir/log" || fail "no line '[uring] $1'"; }
expect "nop: ok"
expect "write file 0: ok"
expect "read file 0: ok"
grep -q "written through the broker's ring" "$dir/data" || fail "the file does not hold what the domain wrote"
for probe in "openat" "openat fixed" "read stderr by descriptor" "socket" "register files"; do
	expect "$probe: EACCES"
done
expect "read file 1: EBADF"
expect "register buffers: ok"
grep -qF "uring: seccomp: refused syscall io_uring_setup" "$dir/log" || fail "a ring of its own was not refused"
grep -qF "registry audit: consistent" "$dir/log" || fail "no consistent audit"
echo "uring-restricted: file 0 read and written; 6 escapes refused"
