#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what is missing, builds, and runs the demo in two acts.
#  1. blockdemo: a client writes, reads back and verifies blocks through the
#     RAM block device domain while `redleaf ps` shows live state; the driver
#     is crashed from the CLI: the client sees the error, the heap is
#     reclaimed, the broker keeps serving.
#  2. shadowdemo: the same client behind a shadow; the driver is crashed every
#     300 ms for 3 seconds: the client never sees an error and every block
#     reads back; `redleaf ps` shows the restarts and recovery times.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=build
sh "$top/scripts/setup.sh"
redleaf="$top/build/src/redleaf"
dir=$(mktemp -d /tmp/redleaf-demo.XXXXXX)
export REDLEAF_SOCKET="$dir/control.sock"
broker=
finish() {
	[ -n "$broker" ] && kill "$broker" 2>/dev/null && wait "$broker" 2>/dev/null
	rm -rf "$dir"
}
trap finish EXIT
trap 'exit 1' INT TERM

start() {
	"$redleaf" run "$1" &
	broker=$!
	tries=0
	until "$redleaf" ps >/dev/null 2>&1; do
		tries=$((tries + 1))
		[ $tries -lt 100 ] || { echo "demo: the broker did not come up" >&2; exit 1; }
		sleep 0.1
	done
}
stop() {
	"$redleaf" stop
	wait "$broker" || true
	broker=
}
say() { printf '\n=== %s\n' "$*"; }

say "Act 1: examples/blockdemo.yaml -- a client and a RAM block device, no shadow"
start "$top/examples/blockdemo.yaml"
for i in 1 2; do
	sleep 2
	say "redleaf ps (after $((i * 2)) s)"
	"$redleaf" ps
done
say "redleaf heap"
"$redleaf" heap
say "redleaf crash ramblk -- the client's call in flight fails"
"$redleaf" crash ramblk
sleep 0.5
"$redleaf" ps
say "redleaf heap --audit -- nothing leaked"
"$redleaf" heap --audit
stop

say "Act 2: examples/shadowdemo.yaml -- the same client behind a shadow"
start "$top/examples/shadowdemo.yaml"
sleep 1
say "redleaf crash --every 300ms ramblk (for 3 s)"
"$redleaf" crash --every 300ms ramblk
sleep 3
"$redleaf" crash --stop
say "redleaf ps -- restarts and recovery time; the client never saw an error"
"$redleaf" ps
say "redleaf heap --audit"
"$redleaf" heap --audit
stop
