#!/bin/sh
# SPDX-License-Identifier: MIT
# A hostile client against a running broker: tests/ctl-hostile.c sends
# garbage, truncated and hanging messages, a wrong version, an unknown op,
# an over-long name, out-of-range enums and more, each on its own
# connection, and checks every one gets an error reply that says what is
# wrong. Then the broker must still serve: `redleaf ps` lists the domain,
# `redleaf crash` with a bad name is an error with exit status 1, the log
# names every refused request, and `redleaf stop` ends it with status 0.
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
: "${REDLEAF_DOMAIN_PATH:?REDLEAF_DOMAIN_PATH must name the built domains}"
: "${CTL_HOSTILE:?CTL_HOSTILE must name the ctl-hostile client}"
. "$(dirname "$0")/lib.sh"
rl_test_setup rl-ctlhostile

cat > "$dir/system.yaml" << EOF
system: ctlhostile
domains:
  - {name: callee, binary: callee, exports: [Test]}
EOF
"$REDLEAF" run --socket "$dir/s" "$dir/system.yaml" 2> "$dir/log" < /dev/null &
pid=$!
n=0
until "$REDLEAF" ps --socket "$dir/s" > /dev/null 2>&1; do
	n=$((n + 1))
	[ "$n" -ge 500 ] && fail "the broker never answered"
	kill -0 "$pid" 2> /dev/null || fail "the broker exited"
	sleep 0.02
done

"$CTL_HOSTILE" "$dir/s" callee || fail "the hostile client's checks failed"
kill -0 "$pid" 2> /dev/null || fail "the broker died"

"$REDLEAF" ps --socket "$dir/s" > "$dir/ps" 2> "$dir/err" || fail "ps after the hostile client: $(cat "$dir/err")"
grep -Eq '^1 +callee +[0-9]+ +running ' "$dir/ps" || fail "ps does not list callee running: $(cat "$dir/ps")"
"$REDLEAF" crash --socket "$dir/s" ghost > "$dir/out" 2> "$dir/err"
status=$?
[ "$status" -eq 1 ] && grep -q "^redleaf: error: no domain named 'ghost'$" "$dir/err" ||
	fail "crash ghost: status $status, $(cat "$dir/err")"
refused=$(grep -c 'control: refused a request: ' "$dir/log")
[ "$refused" -ge 29 ] || fail "the log names $refused refused requests, expected 29 or more"

"$REDLEAF" stop --socket "$dir/s" > /dev/null || fail "stop was refused"
wait "$pid"
status=$?
pid=
[ "$status" -eq 0 ] || fail "the broker exited with status $status"
echo "ok: every hostile request answered with an error; the broker served on"
