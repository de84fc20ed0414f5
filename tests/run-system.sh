#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one system under the broker for a test:
#   run-system.sh [--until D1,D2] [--expect-status N] [--expect-log TEXT]...
#                 [--expect-count TEXT MIN]... [--forbid-line-start TEXT]...
#                 [--set KEY=VALUE]...
#                 [--cli "ARGS" | --wait-ps REGEX | --wait-log TEXT MIN |
#                  --wait-log-new TEXT N]... [--threads N] MANIFEST
# --set replaces KEY by VALUE in a private copy of the manifest; --threads
# gives that copy `broker: {threads: N}` (it must have no broker key). Each --cli
# runs `redleaf ARGS` against the system once its control socket answers, in
# order, and must succeed; a --wait-ps step polls `redleaf ps --json` (for at
# most 10 s) until its output matches the extended regular expression REGEX;
# a --wait-log step polls the broker's log (for at most 120 s, and fails at
# once if the broker exits) until it holds MIN lines containing TEXT;
# --wait-log-new the same until N more such lines than when the step began.
# The test fails unless the broker exits with the
# expected status and its log holds every expected line (at least MIN times
# for --expect-count; the count seen and its rate over the broker's run are
# printed either way) and no line of it starts with a --forbid-line-start TEXT. The broker and its domains are ended on every path
# (domains die with the broker: PDEATHSIG).
set -u
until_list= expect_status=0 manifest= threads=
. "$(dirname "$0")/lib.sh"
rl_test_setup rl-test
: > "$dir/expect"; : > "$dir/count"; : > "$dir/cli"; : > "$dir/set"; : > "$dir/forbid"

while [ $# -gt 0 ]; do
	case "$1" in
	--until) until_list=$2; shift 2 ;;
	--expect-status) expect_status=$2; shift 2 ;;
	--expect-log) printf '%s\n' "$2" >> "$dir/expect"; shift 2 ;;
	--expect-count) printf '%s\t%s\n' "$3" "$2" >> "$dir/count"; shift 3 ;;
	--forbid-line-start) printf '%s\n' "$2" >> "$dir/forbid"; shift 2 ;;
	--set) printf '%s\n' "$2" >> "$dir/set"; shift 2 ;;
	--cli) printf 'cli %s\n' "$2" >> "$dir/cli"; shift 2 ;;
	--wait-ps) printf 'wait %s\n' "$2" >> "$dir/cli"; shift 2 ;;
	--wait-log) printf 'log %s\t%s\n' "$3" "$2" >> "$dir/cli"; shift 3 ;;
	--wait-log-new) printf 'new %s\t%s\n' "$3" "$2" >> "$dir/cli"; shift 3 ;;
	--threads) threads=$2; shift 2 ;;
	*) manifest=$1; shift ;;
	esac
done
[ -n "$manifest" ] || { echo "run-system.sh: no manifest" >&2; exit 2; }
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
cp "$manifest" "$dir/manifest.yaml"
while IFS= read -r kv; do
	sed -i "s|${kv%%=*}|${kv#*=}|g" "$dir/manifest.yaml"
done < "$dir/set"
if [ -n "$threads" ]; then
	if grep -q '^broker:' "$dir/manifest.yaml"; then
		echo "run-system.sh: --threads: $manifest has a broker key already" >&2
		exit 2
	fi
	printf 'broker: {threads: %s}\n' "$threads" >> "$dir/manifest.yaml"
fi

sock="$dir/control.sock"
"$REDLEAF" run --socket "$sock" ${until_list:+--until "$until_list"} "$dir/manifest.yaml" 2> "$dir/log" &
pid=$!
fail=0
# poll LIMIT WATCH MESSAGE COMMAND...: runs COMMAND every 50 ms until it
# succeeds; fails the test with MESSAGE after LIMIT tries, or at once when
# WATCH is "broker" and the broker has exited.
poll() {
	limit=$1 watch=$2 message=$3 tries=0
	shift 3
	until "$@"; do
		tries=$((tries + 1))
		if [ $tries -gt "$limit" ] || { [ "$watch" = broker ] && ! kill -0 "$pid" 2>/dev/null; }; then
			echo "FAIL: $message" >&2
			fail=1
			return 1
		fi
		sleep 0.05
	done
}
answers() { "$REDLEAF" ps --socket "$sock" > /dev/null 2>&1; }
ps_matches() { "$REDLEAF" ps --json --socket "$sock" 2>/dev/null | grep -qE -- "$1"; }
log_holds() { [ "$(grep -cF -- "$2" "$dir/log")" -ge "$1" ]; }
if [ -s "$dir/cli" ]; then
	# Wait until the broker answers (bounded), then drive it.
	poll 200 broker "the broker never answered on $sock" answers
	while [ $fail -eq 0 ] && IFS= read -r step; do
		args=${step#* }
		if [ "${step%% *}" = wait ]; then
			poll 200 any "redleaf ps --json never matched: $args" ps_matches "$args"
			continue
		fi
		if [ "${step%% *}" = log ] || [ "${step%% *}" = new ]; then
			min=${args%%	*} text=${args#*	}
			[ "${step%% *}" = new ] && min=$((min + $(grep -cF -- "$text" "$dir/log")))
			poll 2400 broker "the log never held $min lines containing '$text'" log_holds "$min" "$text"
			continue
		fi
		# shellcheck disable=SC2086
		set -- $args
		cmd=$1
		shift
		if ! "$REDLEAF" "$cmd" --socket "$sock" "$@" >&2; then
			echo "FAIL: redleaf $args" >&2
			fail=1
		fi
	done < "$dir/cli"
fi
# A failed step leaves the system waiting for what will not come: stop it.
[ $fail -eq 0 ] || kill "$pid" 2>/dev/null
wait "$pid"
status=$?
pid=
cat "$dir/log" >&2
if [ "$status" -ne "$expect_status" ]; then
	echo "FAIL: broker exited with status $status, expected $expect_status" >&2
	fail=1
fi
while IFS= read -r line; do
	if ! grep -qF -- "$line" "$dir/log"; then
		echo "FAIL: log has no line containing: $line" >&2
		fail=1
	fi
done < "$dir/expect"
while IFS= read -r start; do
	if awk -v s="$start" 'index($0, s) == 1 { found = 1 } END { exit !found }' "$dir/log"; then
		echo "FAIL: a log line starts with: $start" >&2
		fail=1
	fi
done < "$dir/forbid"
# The broker's run time, from its last timestamped line: "redleaf[  12.345]: ...".
secs=$(sed -n 's/^redleaf\[ *\([0-9]*\.[0-9]*\)\].*/\1/p' "$dir/log" | tail -n 1)
while IFS="$(printf '\t')" read -r min line; do
	n=$(grep -cF -- "$line" "$dir/log")
	echo "count: $n lines containing '$line' (at least $min wanted) in ${secs:-?} s," \
		"$(awk -v n="$n" -v s="${secs:-0}" 'BEGIN { if (s > 0) printf "%.1f per s", n / s; else print "rate unknown" }')" >&2
	if [ "$n" -lt "$min" ]; then
		echo "FAIL: log has $n lines containing '$line', expected at least $min" >&2
		fail=1
	fi
done < "$dir/count"
exit $fail
