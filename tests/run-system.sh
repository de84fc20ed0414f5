#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one system under the broker for a test:
#   run-system.sh [--until D1,D2] [--expect-status N] [--expect-log TEXT]... MANIFEST
# with a private control socket; fails unless the broker exits with the
# expected status and its log holds every expected line. The broker and its
# domains are ended on every path (domains die with the broker: PDEATHSIG).
set -u
until_list= expect_status=0 manifest=
expect_file=$(mktemp)
dir=$(mktemp -d /tmp/rl-test.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir" "$expect_file"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

while [ $# -gt 0 ]; do
	case "$1" in
	--until) until_list=$2; shift 2 ;;
	--expect-status) expect_status=$2; shift 2 ;;
	--expect-log) printf '%s\n' "$2" >> "$expect_file"; shift 2 ;;
	*) manifest=$1; shift ;;
	esac
done
[ -n "$manifest" ] || { echo "run-system.sh: no manifest" >&2; exit 2; }
: "${REDLEAF:?REDLEAF must name the redleaf binary}"

"$REDLEAF" run --socket "$dir/control.sock" ${until_list:+--until "$until_list"} "$manifest" 2> "$dir/log" &
pid=$!
wait "$pid"
status=$?
pid=
cat "$dir/log" >&2
fail=0
if [ "$status" -ne "$expect_status" ]; then
	echo "FAIL: broker exited with status $status, expected $expect_status" >&2
	fail=1
fi
while IFS= read -r line; do
	if ! grep -qF -- "$line" "$dir/log"; then
		echo "FAIL: log has no line containing: $line" >&2
		fail=1
	fi
done < "$expect_file"
exit $fail
