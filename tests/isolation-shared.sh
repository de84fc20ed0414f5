#!/bin/sh
# SPDX-License-Identifier: MIT
# A broker that is not root, on a kernel that refuses it user namespaces
# (tests/tools/deny-userns stands in for such a kernel): a domain that asks
# for namespaces of its own (the default) is refused with a clear message,
# and one whose manifest accepts `isolation: shared` runs, still under its
# seccomp filter from the first instruction.
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
: "${REDLEAF_DOMAIN_PATH:?REDLEAF_DOMAIN_PATH must name the built domains}"
: "${DENY_USERNS:?DENY_USERNS must name tests/tools/deny-userns}"
. "$(dirname "$0")/lib.sh"
rl_test_setup rl-shared
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to run a system as nobody" >&2; exit 77; }
rl_system_dir --as-nobody callee caller rogue
cp "$DENY_USERNS" "$dir/bin/"
# run MANIFEST UNTIL: the system as nobody where user namespaces are refused, until UNTIL have ended.
run() {
	REDLEAF_DOMAIN_PATH="$dir/bin" timeout 30 $as_user "$dir/bin/deny-userns" "$dir/bin/redleaf" run --until "$2" --socket "$dir/run/s" "$1" \
		2> "$dir/log" < /dev/null
}

printf '%s\n' 'system: own' 'domains:' '  - {name: callee, binary: callee, exports: [Test]}' \
	'  - {name: caller, binary: caller, imports: [{name: test, iface: Test, from: callee}]}' > "$dir/own.yaml"
run "$dir/own.yaml" caller
st=$?
[ $st -ne 0 ] && [ $st -ne 124 ] || fail "a domain without namespaces of its own started (status $st)"
grep -q "callee: cannot start it in namespaces of its own: Operation not permitted" "$dir/log" ||
	fail "no clear refusal in the log"
grep -q "'isolation: shared'" "$dir/log" || fail "the refusal does not say how to accept weaker confinement"

printf '%s\n' 'system: shared' 'domains:' '  - {name: callee, binary: callee, exports: [Test], isolation: shared}' \
	'  - {name: caller, binary: caller, imports: [{name: test, iface: Test, from: callee}], isolation: shared}' \
	'  - {name: rogue, binary: rogue, args: [signal], isolation: shared}' > "$dir/shared.yaml"
run "$dir/shared.yaml" caller,rogue
st=$?
# --until passes on a death by a signal among them: the rogue's SIGSYS (128 + 31).
[ $st -eq 159 ] || fail "the system with isolation: shared ended with status $st, not 159"
grep -q '\[caller\] [0-9]* checks, 0 failed' "$dir/log" || fail "the honest caller's checks failed"
grep -q "rogue: seccomp: refused a syscall before its launcher ran" "$dir/log" ||
	fail "the rogue program was not confined from its first instruction"
grep -q "registry audit: consistent" "$dir/log" || fail "no consistent audit"
echo "isolation-shared: refused without namespaces, ran with 'isolation: shared', filter still first"
