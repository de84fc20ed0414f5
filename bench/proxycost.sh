#!/bin/sh
# SPDX-License-Identifier: MIT
# Instructions the broker executes per message and the domain runtime per
# call, counted by callgrind: the same for every run of the same build,
# whatever else the machine is doing.
#
#   bench/proxycost.sh [BUILD_DIR] [ROUNDS]
#
# Runs bench/proxycost (batches of 64 calls and replies through the proxy
# code in one process) for each method and divides each pass's inclusive
# instruction count by the messages it handled; then bench/rtcost (the
# runtime's submit, serve and collect over batches of 64 null calls) and
# divides each phase's count by the calls. BUILD_DIR defaults to ./build;
# ROUNDS (default 500) are counted after as many of warm-up.
set -eu
build=${1:-build}
rounds=${2:-500}
batch=64
exe=$build/bench/proxycost
rtexe=$build/bench/rtcost
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	echo "proxycost.sh: needs valgrind (apt-get install valgrind)" >&2
	exit 77
fi
for x in "$exe" "$rtexe"; do
	if [ ! -x "$x" ]; then
		echo "proxycost.sh: $x not found: build first (meson setup $build && ninja -C $build)" >&2
		exit 1
	fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
printf '%-6s | %26s | %27s\n' method "instructions per call msg" "instructions per reply msg"
for m in null add take; do
	# Warm-up and timed rounds both pass through the counted functions.
	valgrind --tool=callgrind --callgrind-out-file="$tmp/$m.out" \
		"$exe" --method $m --batch $batch --rounds "$rounds" >"$tmp/$m.log" 2>&1 || {
		echo "proxycost.sh: $exe --method $m failed:" >&2
		cat "$tmp/$m.log" >&2
		exit 1
	}
	callgrind_annotate --inclusive=yes "$tmp/$m.out" >"$tmp/$m.txt"
	msgs=$((2 * rounds * batch))
	calls=$(awk '/proxycost\.c:pass_calls /{gsub(",","",$1); print $1; exit}' "$tmp/$m.txt")
	replies=$(awk '/proxycost\.c:pass_replies /{gsub(",","",$1); print $1; exit}' "$tmp/$m.txt")
	if [ -z "$calls" ] || [ -z "$replies" ]; then
		echo "proxycost.sh: no counts for pass_calls/pass_replies in callgrind's output" >&2
		exit 1
	fi
	awk -v m=$m -v c="$calls" -v r="$replies" -v n=$msgs \
		'BEGIN { printf "%-6s | %26.1f | %27.1f\n", m, c / n, r / n }'
done

# The runtime: three phases of a batch of null calls.
valgrind --tool=callgrind --callgrind-out-file="$tmp/rt.out" \
	"$rtexe" --batch $batch --rounds "$rounds" >"$tmp/rt.log" 2>&1 || {
	echo "proxycost.sh: $rtexe failed:" >&2
	cat "$tmp/rt.log" >&2
	exit 1
}
callgrind_annotate --inclusive=yes "$tmp/rt.out" >"$tmp/rt.txt"
calls=$((2 * rounds * batch))
printf '\n%-8s | %s\n' "runtime" "instructions per null call"
for phase in submit serve collect; do
	n=$(awk -v f="rtcost\\.c:${phase}_batch " '$0 ~ f {gsub(",","",$1); print $1; exit}' "$tmp/rt.txt")
	if [ -z "$n" ]; then
		echo "proxycost.sh: no count for ${phase}_batch in callgrind's output" >&2
		exit 1
	fi
	awk -v p=$phase -v n="$n" -v c=$calls 'BEGIN { printf "%-8s | %.1f\n", p, n / c }'
done
