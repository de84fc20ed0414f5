#!/bin/sh
# SPDX-License-Identifier: MIT
# The io_uring block device (domains/drivers/uringblk) over a file this
# script makes in a private folder, named in a copy of the manifest
# (tests/manifests/uringblk*.yaml, @DATA@), removed on every way out.
#   uringblk.sh verify     blkclient's verified rounds; then the file holds
#                          the last round's data (dd + cmp, block by block),
#                          and its partial last block was neither counted nor
#                          touched
#   uringblk.sh plain      the same with --plain: plain reads and writes
#   uringblk.sh batchcall  the same as verify in batches of 32 (BDev.batch)
#   uringblk.sh direct     the same with the file opened for direct I/O
#                          (manifest `uring: {direct: true}`)
#   uringblk.sh direct-shadow  shadow, with direct I/O and batches of 32: each
#                          death drains the ring before its objects are reclaimed
#   uringblk.sh direct-nofs    direct I/O on a filesystem without it (ramfs): a clear error
#   uringblk.sh shadow     three clients through a shadow, the driver killed
#                          every 20 ms for 2 s: no client error, a consistent
#                          registry, and the file holds each client's last round
#   uringblk.sh batch      three clients straight into the driver: it submits
#                          calls that queued meanwhile together, and each
#                          client's last round is in the file
#   uringblk.sh edge       blocks past the end refused with -EINVAL and the file
#                          not grown; a read cut short by truncation is -EIO
#                          ($BLKEDGE names the fixture tests/domains/blkedge)
#   uringblk.sh bench [N]  blkclient's rounds per second against ramblk,
#                          uringblk and uringblk --plain, N runs of each
#                          interleaved (default 5): the medians and ratios
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
: "${REDLEAF_DOMAIN_PATH:?REDLEAF_DOMAIN_PATH must name the built domains}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
rl_test_setup rl-uringblk
BSIZE=4096
fail() {
	echo "FAIL: $*" >&2
	[ -s "$dir/log" ] && { echo "--- broker log ---" >&2; cat "$dir/log" >&2; }
	exit 1
}
command -v python3 > /dev/null || { echo "SKIP: python3 computes blkclient's pattern" >&2; exit 77; }

# expect_blocks FILE ROUND BLOCK...: each BLOCK of FILE holds what blkclient
# writes there in round ROUND (its pattern, computed here independently,
# one file per block, then compared with the block dd reads).
expect_blocks() {
	file=$1 round=$2
	shift 2
	python3 - "$dir" "$round" "$@" << 'EOF' || fail "cannot compute the pattern"
import sys
out_dir, rnd, m = sys.argv[1], int(sys.argv[2]), (1 << 64) - 1
for b in map(int, sys.argv[3:]):
    x = ((b << 32) ^ (rnd * 0x9e3779b97f4a7c15)) & m
    out = bytearray()
    for _ in range(4096 // 8):
        x ^= (x << 13) & m
        x ^= x >> 7
        x ^= (x << 17) & m
        out += x.to_bytes(8, "little")
    with open(f"{out_dir}/expected.{b}", "wb") as f:
        f.write(out)
EOF
	for b in "$@"; do
		dd if="$file" of="$dir/got" bs=$BSIZE skip="$b" count=1 status=none || fail "cannot read block $b"
		cmp -s "$dir/expected.$b" "$dir/got" || fail "block $b of the file is not blkclient's round $round"
	done
}

# make_file BLOCKS [EXTRA_BYTES]: $dir/data, zeros.
make_file() {
	dd if=/dev/zero of="$dir/data" bs=$BSIZE count="$1" status=none || fail "cannot make the file"
	[ -n "${2:-}" ] && head -c "$2" /dev/zero >> "$dir/data"
	:
}

size_of() { stat -c %s "$1"; }

# verify DRIVER_ARGS HOW [BATCH]: as above, the driver started with
# DRIVER_ARGS (a YAML sequence's items) and saying HOW it moves blocks;
# blkclient a block per call, or in batches of BATCH. With DIRECT set
# (", direct: true") the broker opens the file for direct I/O.
verify() {
	blocks=96 rounds=3
	make_file $blocks 100
	if [ -n "${3:-}" ]; then
		client="\"$rounds\", --batch, \"$3\"]" done_line="verified in batches"
	else
		client="\"$rounds\"]" done_line="verified"
	fi
	"$here/run-system.sh" --until blkclient --set "@DATA@=$dir/data" --set "\"ROUNDS\"]=$client" \
		--set "DRIVER_ARGS=$1" --set "entries: 8}=entries: 8${DIRECT:-}}" \
		--expect-log "[uringblk] $blocks blocks of $BSIZE bytes; $2" \
		--expect-log "[blkclient] $rounds round(s) of $blocks blocks written, read back and $done_line" \
		--expect-log "registry audit: consistent" \
		"$here/manifests/uringblk.yaml" 2> "$dir/log" || fail "the system failed"
	expect_blocks "$dir/data" $((rounds - 1)) 0 1 47 94 95
	[ "$(size_of "$dir/data")" -eq $((blocks * BSIZE + 100)) ] || fail "the file changed size"
	tail -c 100 "$dir/data" | cmp -s - /dev/zero -n 100 || fail "the partial last block was written"
	grep -F "[uringblk] $blocks blocks" "$dir/log" | sed 's/^/uringblk: /'
	echo "uringblk verify (driver args: $1): $rounds rounds of $blocks blocks verified through the driver and in the file"
}

# shadow [BATCH]: with DIRECT set, the file does direct I/O, the clients
# go in batches of BATCH, and every death must drain the ring before reclaim.
shadow() {
	make_file 192
	set -- --set "entries: 8}=entries: 8${DIRECT:-}}"
	[ -n "${DIRECT:-}" ] && set -- "$@" --set '"64"]="64", --batch, "32"]' \
		--expect-count "after its ring drained" 10
	"$here/run-system.sh" --until c1,c2,c3 --set "@DATA@=$dir/data" --set SECONDS=2 "$@" \
		--cli "crash --every 20ms uringblk" \
		--expect-count "uringblk: injected SIGKILL" 10 \
		--expect-log "registry audit: consistent" \
		"$here/manifests/uringblk-shadow.yaml" 2> "$dir/log" || fail "the system failed"
	first=0
	for c in c1 c2 c3; do
		done_rounds=$(sed -n "s/^\[$c\] \([0-9]*\) round(s) of 64 blocks .*/\1/p" "$dir/log")
		[ -n "$done_rounds" ] && [ "$done_rounds" -gt 0 ] || fail "$c reported no verified round"
		expect_blocks "$dir/data" $((done_rounds - 1)) $first $((first + 31)) $((first + 63))
		first=$((first + 64))
	done
	kills=$(grep -cF "uringblk: injected SIGKILL" "$dir/log")
	fixed=$(grep -cF "[uringblk] 192 blocks of $BSIZE bytes; fixed buffers" "$dir/log")
	plain=$(grep -cF "[uringblk] 192 blocks of $BSIZE bytes; plain" "$dir/log")
	grep -F "[uringblk] 192 blocks of $BSIZE bytes; plain" "$dir/log" | sort | uniq -c | sed 's/^/uringblk shadow: /'
	echo "uringblk shadow: $kills kills, no client error, each client's last round in the file;" \
		"incarnations with fixed buffers $fixed, with plain reads and writes $plain"
}

# A file on ramfs, which has no direct I/O: the broker refuses the manifest
# with a clear error before anything starts. The ramfs is mounted in a mount
# namespace of the test's own, so it goes away with it on every path.
direct_nofs() {
	[ "$(id -u)" -eq 0 ] || { echo "SKIP: mounting a ramfs needs root"; exit 77; }
	mkdir "$dir/ramfs" || fail "cannot make the mount point"
	unshare -m sh -c 'mount -t ramfs none "$1" && dd if=/dev/zero of="$1/data" bs=4096 count=16 status=none &&
		"$2/run-system.sh" --until blkclient --set "@DATA@=$1/data" --set "\"ROUNDS\"]=\"1\"]" \
			--set "DRIVER_ARGS=--plain" --set "entries: 8}=entries: 8, direct: true}" --expect-status 1 \
			--expect-log "cannot open uring file '"'"'$1/data'"'"' for direct I/O (its filesystem does none)" \
			"$2/manifests/uringblk.yaml"' sh "$dir/ramfs" "$here" 2> "$dir/log" || fail "no clear refusal"
	echo "uringblk direct-nofs: direct I/O on ramfs refused with a clear error"
}

batch() {
	make_file 192
	"$here/run-system.sh" --until c1,c2,c3 --set "@DATA@=$dir/data" \
		--expect-log "[uringblk] 192 blocks of $BSIZE bytes; " \
		--expect-log "requests in one submission" \
		--expect-log "registry audit: consistent" \
		"$here/manifests/uringblk-batch.yaml" 2> "$dir/log" || fail "the system failed"
	expect_blocks "$dir/data" 19 0 63 64 127 128 191
	largest=$(sed -n 's/^\[uringblk\] \([0-9]*\) requests in one submission$/\1/p' "$dir/log" | sort -n | tail -n 1)
	echo "uringblk batch: up to $largest requests in one submission; each client's last round in the file"
}

edge() {
	: "${BLKEDGE:?BLKEDGE must name the blkedge fixture}"
	blocks=16
	make_file $blocks
	sed -e "s|@DATA@|$dir/data|" -e "s|@BLKEDGE@|$BLKEDGE|" "$here/manifests/uringblk-edge.yaml" > "$dir/system.yaml"
	"$REDLEAF" run --socket "$dir/s" --until blkedge "$dir/system.yaml" 2> "$dir/log" < /dev/null &
	pid=$!
	tries=0
	until grep -qF "[blkedge] ready for truncation" "$dir/log"; do
		kill -0 "$pid" 2> /dev/null || fail "the system ended before blkedge was ready"
		tries=$((tries + 1))
		[ $tries -lt 400 ] || fail "blkedge never got ready"
		sleep 0.05
	done
	# Refused blocks past the end must not have grown the file.
	[ "$(size_of "$dir/data")" -eq $((blocks * BSIZE)) ] || fail "a refused write changed the file's size"
	truncate -s $(((blocks - 1) * BSIZE + 100)) "$dir/data" || fail "cannot truncate the file"
	wait "$pid"
	st=$?
	pid=
	[ $st -eq 0 ] || fail "the broker exited with status $st"
	for b in 16 17 4294967295; do
		grep -qF "[blkedge] block $b refused: -EINVAL for write and read" "$dir/log" || fail "block $b not refused"
	done
	grep -qF "[blkedge] short read of block 15: -EIO" "$dir/log" || fail "no -EIO for the short read"
	grep -qF "registry audit: consistent" "$dir/log" || fail "no consistent audit"
	[ "$(size_of "$dir/data")" -eq $(((blocks - 1) * BSIZE + 100)) ] || fail "the failed read changed the file"
	echo "uringblk edge: blocks 16, 17, 2^32-1 refused, the file not grown; a short read is -EIO"
}

# rate DRIVER ROUNDS: blkclient's rounds per second against DRIVER, from the
# broker's timestamps of its start and its exit.
rate() {
	"$here/run-system.sh" --until blkclient --set "@DATA@=$dir/data" --set DRIVER="$1" --set ROUNDS="$2" \
		"$here/manifests/uringblk-bench.yaml" 2> "$dir/log" || fail "the $1 run failed"
	awk -v r="$2" '
		/: blkclient: started/ { s = $0; sub(/^redleaf\[ */, "", s); sub(/\].*/, "", s) }
		/: blkclient: exited with status 0/ { e = $0; sub(/^redleaf\[ */, "", e); sub(/\].*/, "", e) }
		END { if (e > s) printf "%.1f\n", r / (e - s); else exit 1 }' "$dir/log" || fail "no timing for $1"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

bench() {
	runs=${1:-5} rounds=200
	make_file 256
	drivers="ramblk uringblk uringblk-plain"
	for d in $drivers; do : > "$dir/$d"; done
	for i in $(seq "$runs"); do
		for d in $drivers; do
			rate $d $rounds >> "$dir/$d"
		done
	done
	grep -F "] 256 blocks of $BSIZE bytes; " "$dir/log" | sed 's/^/uringblk: /'
	for d in $drivers; do
		echo "$d rounds/s: $(tr '\n' ' ' < "$dir/$d")"
	done
	awk -v a="$(median < "$dir/ramblk")" -v b="$(median < "$dir/uringblk")" \
		-v c="$(median < "$dir/uringblk-plain")" -v n="$runs" -v r=$rounds 'BEGIN {
		printf "bench: blkclient, 256 blocks written + read back a round, %d rounds a run, medians of %d interleaved runs: ramblk %.1f rounds/s, uringblk %.1f (%.2f of ramblk), uringblk --plain %.1f (%.2f)\n", r, n, a, b, b / a, c, c / a }'
	# Each run beside the ramblk run just before it: steadier than the medians' ratio on a busy machine.
	paired() { paste "$dir/ramblk" "$dir/$1" | awk '{ print $2 / $1 }' | median; }
	echo "bench: median of the per-run ratios to ramblk: uringblk $(paired uringblk), uringblk --plain $(paired uringblk-plain)"
}

case "${1:-}" in
verify) verify '--blocks, "96"' "fixed buffers over the heap's " ;;
plain) verify '--plain' "plain reads and writes (--plain)" ;;
batchcall) verify '--blocks, "96"' "fixed buffers over the heap's " 32 ;;
direct) DIRECT=", direct: true" verify '--blocks, "96"' "fixed buffers over the heap's " 32 ;;
direct-shadow) DIRECT=", direct: true" shadow ;;
direct-nofs) direct_nofs ;;
shadow) shadow ;;
batch) batch ;;
edge) edge ;;
bench) bench "${2:-}" ;;
*) echo "usage: uringblk.sh verify|plain|shadow|batch|edge|bench [RUNS]" >&2; exit 2 ;;
esac
