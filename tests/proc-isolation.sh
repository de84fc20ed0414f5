#!/bin/sh
# SPDX-License-Identifier: MIT
# A broker that does not run as root, and its domains, all run as one user:
# none of them may reach another's memory or descriptors through /proc. The
# broker and the domains are not dumpable, so /proc/PID/mem, environ and fd
# of each refuse a process of that same user. Run as root: the system runs
# as nobody, from copies of the binaries that nobody can read.
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
: "${REDLEAF_DOMAIN_PATH:?REDLEAF_DOMAIN_PATH must name the built domains}"
. "$(dirname "$0")/lib.sh"
rl_test_setup rl-prociso
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to run a system as nobody" >&2; exit 77; }
command -v setpriv > /dev/null || fail "setpriv (util-linux) is missing"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

chmod 0755 "$dir"
cp "$REDLEAF" "$dir/redleaf"
for d in $(printf '%s' "$REDLEAF_DOMAIN_PATH" | tr ':' ' '); do
	[ -x "$d/callee" ] && [ ! -e "$dir/callee" ] && cp "$d/callee" "$dir/callee"
done
[ -x "$dir/callee" ] || fail "no callee domain on REDLEAF_DOMAIN_PATH"
printf '%s\n' 'system: lone' 'domains:' '  - {name: callee, binary: callee, exports: [Test]}' > "$dir/lone.yaml"
mkdir "$dir/run" && chown 65534:65534 "$dir/run" || fail "cannot make a folder for nobody's socket"
# setpriv, not the function: $! must be the broker itself (setpriv execs it).
REDLEAF_DOMAIN_PATH="$dir" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$dir/redleaf" run --socket "$dir/run/s" "$dir/lone.yaml" 2> "$dir/log" < /dev/null &
pid=$!
tries=0
until as_nobody "$dir/redleaf" ps --json --socket "$dir/run/s" > "$dir/ps" 2>/dev/null; do
	tries=$((tries + 1))
	if [ $tries -ge 200 ] || ! kill -0 "$pid" 2>/dev/null; then
		fail "the broker never answered"
	fi
	sleep 0.05
done
domain=$(sed -n 's/.*"name":"callee","pid":\([0-9]*\).*/\1/p' "$dir/ps")
[ -n "$domain" ] || fail "no pid for callee in: $(cat "$dir/ps")"
[ "$(stat -c %u "/proc/$pid")" = 65534 ] || fail "the broker does not run as nobody"

# Each must be refused to a process of the same user (each would be open to it on a dumpable process).
for target in "$pid" "$domain"; do
	for what in mem environ; do
		if as_nobody sh -c "exec 3< /proc/$target/$what" 2>/dev/null; then
			fail "nobody opened /proc/$target/$what"
		fi
	done
	if as_nobody ls "/proc/$target/fd" > /dev/null 2>&1; then
		fail "nobody listed /proc/$target/fd"
	fi
done
# The same probe does reach a dumpable process of that user: the refusals above mean something.
if ! as_nobody sh -c 'exec 3< /proc/self/mem; ls /proc/self/fd > /dev/null' 2>/dev/null; then
	fail "the probe cannot open even its own /proc/self/mem: it proves nothing here"
fi
as_nobody "$dir/redleaf" stop --socket "$dir/run/s" > /dev/null || fail "stop was refused"
wait "$pid"
status=$?
pid=
[ "$status" -eq 0 ] || fail "the broker exited with status $status"
echo "ok: a broker run by nobody and its domain refuse /proc/PID/mem, environ and fd to nobody"
