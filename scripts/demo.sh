#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what is missing, builds, and runs the block-device demo: a client
# writes, reads back and verifies blocks through the RAM block device domain
# while `redleaf ps` shows live state; then the driver is crashed from the CLI,
# the client sees the error, the heap is reclaimed and the broker keeps serving.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=build
sh "$top/scripts/setup.sh"
redleaf="$top/build/src/redleaf"
sock=$(mktemp -d /tmp/redleaf-demo.XXXXXX)/control.sock
export REDLEAF_SOCKET="$sock"

"$redleaf" run "$top/examples/blockdemo.yaml" &
broker=$!
trap 'kill $broker 2>/dev/null; wait $broker 2>/dev/null; rm -rf "$(dirname "$sock")"' EXIT INT TERM

for i in 1 2 3 4 5 6 7 8 9 10; do [ -S "$sock" ] && break; sleep 0.2; done
for i in 1 2 3; do
	sleep 2
	echo "--- redleaf ps ($((i * 2)) s)"
	"$redleaf" ps
done
echo "--- redleaf heap"
"$redleaf" heap
echo "--- redleaf crash ramblk"
"$redleaf" crash ramblk
sleep 1
"$redleaf" ps
echo "--- redleaf heap --audit"
"$redleaf" heap --audit
"$redleaf" stop
wait $broker
trap - EXIT INT TERM
rm -rf "$(dirname "$sock")"
