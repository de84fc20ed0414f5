#!/bin/sh
# SPDX-License-Identifier: MIT
# A restart whose binary can no longer be executed. Restarts do not wait for
# exec (the proxy thread goes back to the other domains' calls), so the
# failure must still come back: as the death's cause in `redleaf ps`, and
# through the crash-loop policy, which must give up instead of spinning.
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
: "${REDLEAF_DOMAIN_PATH:?REDLEAF_DOMAIN_PATH must name the built domains}"
. "$(dirname "$0")/lib.sh"
rl_test_setup rl-execfail

# until SECONDS COMMAND...: runs COMMAND every 20 ms until it succeeds; fails after SECONDS.
until_ok() {
	limit=$(( $1 * 50 ))
	shift
	n=0
	until "$@" > /dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -ge "$limit" ] && return 1
		sleep 0.02
	done
}

callee=
for d in $(printf '%s' "$REDLEAF_DOMAIN_PATH" | tr ':' ' '); do
	[ -x "$d/callee" ] && { callee=$d/callee; break; }
done
[ -n "$callee" ] || fail "no callee domain on REDLEAF_DOMAIN_PATH ($REDLEAF_DOMAIN_PATH)"
cp "$callee" "$dir/victim"
cat > "$dir/system.yaml" << EOF
system: execfail
domains:
  - {name: victim, binary: ./victim, exports: [Test], restart: always, standby: false}
EOF
"$REDLEAF" run --socket "$dir/s" "$dir/system.yaml" 2> "$dir/log" < /dev/null &
pid=$!
until_ok 10 "$REDLEAF" ps --socket "$dir/s" || fail "the broker never answered"
grep -q 'victim: started' "$dir/log" || fail "victim did not start"

chmod a-x "$dir/victim"
"$REDLEAF" crash --socket "$dir/s" victim || fail "crash injection was refused"
has_cause() {
	"$REDLEAF" ps --json --socket "$dir/s" | grep -q "cannot start $dir/victim: executing: Permission denied"
}
until_ok 10 has_cause || fail "ps never gave the exec failure as the cause"
gave_up() {
	grep -q 'victim: died 8 times in a row before serving; not restarting it again' "$dir/log"
}
until_ok 20 gave_up || fail "the broker did not give up restarting"
"$REDLEAF" stop --socket "$dir/s" || fail "stop was refused"
wait "$pid"
status=$?
pid=
[ "$status" -eq 0 ] || fail "the broker exited with status $status"

# With a warm standby the restart does not exec at all: it activates the
# standby, already running; the next standby's exec fails, and says why.
chmod a+x "$dir/victim"
sed 's/standby: false/standby: true/' "$dir/system.yaml" > "$dir/warm.yaml"
"$REDLEAF" run --socket "$dir/s" "$dir/warm.yaml" 2> "$dir/log" < /dev/null &
pid=$!
until_ok 10 "$REDLEAF" ps --socket "$dir/s" || fail "the second broker never answered"
until_ok 10 grep -q 'victim: standby ready' "$dir/log" || fail "no standby"
chmod a-x "$dir/victim"
"$REDLEAF" crash --socket "$dir/s" victim || fail "crash injection was refused"
until_ok 10 grep -q 'victim: restarted from its standby' "$dir/log" || fail "the restart did not use the standby"
until_ok 10 grep -q "victim: its standby (pid [0-9]*) cannot start $dir/victim: executing: Permission denied" "$dir/log" ||
	fail "the next standby's exec failure was not reported"
"$REDLEAF" stop --socket "$dir/s" || fail "stop was refused"
wait "$pid"
status=$?
pid=
[ "$status" -eq 0 ] || fail "the second broker exited with status $status"
echo "ok: exec failure on restart reported and the restarts given up; with a standby, the restart used it and the next standby's failure was reported"
