#!/bin/sh
# SPDX-License-Identifier: MIT
# Confinement from the first instruction (docs/security.md). Beside an
# honest caller/callee pair, hostile domains attack from an ELF constructor
# (before the launcher) and from a program that never calls the runtime:
# they look for the host's files, signal every process they could, fork,
# create a file, execute a shell, and open a file after the launcher took
# the start-up allowance away. Each attack must fail; the pair must finish
# its checks; the audit must be consistent. From outside, each domain must
# run with no-new-privs and stacked filters, in pid and mount namespaces of
# its own, with a root that holds no /etc, and (as root) under a user id of
# its own.
#   confinement.sh             the broker as root (the test's own user)
#   confinement.sh --as-nobody the broker as an ordinary user (user namespaces)
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
: "${REDLEAF_DOMAIN_PATH:?REDLEAF_DOMAIN_PATH must name the built domains}"
. "$(dirname "$0")/lib.sh"
rl_test_setup rl-confine
rl_system_dir ${1:+"$1"} callee caller ctor rogue
cat > "$dir/system.yaml" << 'EOF'
system: confine
domains:
  - {name: callee, binary: callee, exports: [Test]}
  - {name: caller, binary: caller, imports: [{name: test, iface: Test, from: callee}]}
  - {name: look, binary: ctor, args: [look]}
  - {name: rogue-look, binary: rogue, args: [look]}
  - {name: ctor-signal, binary: ctor, args: [signal]}
  - {name: rogue-signal, binary: rogue, args: [signal]}
  - {name: ctor-fork, binary: ctor, args: [fork]}
  - {name: rogue-create, binary: rogue, args: [create]}
  - {name: ctor-exec, binary: ctor, args: [exec]}
  - {name: late, binary: ctor, args: [late-open]}
EOF
REDLEAF_DOMAIN_PATH="$dir/bin" $as_user "$dir/bin/redleaf" run --socket "$dir/run/s" "$dir/system.yaml" \
	2> "$dir/log" < /dev/null &
pid=$!

expect() { grep -qF -- "$1" "$dir/log" || fail "no line with '$1'"; }
forbid() { ! grep -qF -- "$1" "$dir/log" || fail "a line with '$1': $(grep -F -- "$1" "$dir/log")"; }

before="seccomp: refused a syscall before its launcher ran"
for name in ctor-signal rogue-signal ctor-fork rogue-create ctor-exec; do
	rl_wait_log "$name: $before"
done
rl_wait_log "late: seccomp: refused syscall openat"
rl_wait_log "[look] ctor: main reached"
rl_wait_log "[rogue-look] rogue: done"
rl_wait_log "caller: exited with status 0"
# What the private root shows: libraries (so the probe can open at all), nothing else.
for who in look rogue-look; do
	expect "[$who] read /lib64: ok"
	expect "[$who] read /etc/passwd: ENOENT"
	expect "[$who] read /usr/bin/env: ENOENT"
	forbid "[$who] read /proc/1/environ: ok"
done
forbid "signal: ok"
forbid "fork: ok"
forbid "create: ok"
forbid "exec: ok"
forbid "late open: ok"
expect "[caller] "
grep -q '\[caller\] [0-9]* checks, 0 failed' "$dir/log" || fail "the honest caller's checks failed"

# From outside: the callee (still serving) and its namespace init.
$as_user "$dir/bin/redleaf" ps --json --socket "$dir/run/s" > "$dir/ps" 2>&1 || fail "ps: $(cat "$dir/ps")"
init=$(sed -n 's/.*"name":"callee","pid":\([0-9]*\).*/\1/p' "$dir/ps")
[ -n "$init" ] || fail "no pid for callee in: $(cat "$dir/ps")"
dom=$(cat "/proc/$init/task/$init/children" 2> /dev/null | tr -d ' ')
[ -n "$dom" ] && [ -d "/proc/$dom" ] || fail "callee's init $init has no child"
status=/proc/$dom/status
grep -q '^NoNewPrivs:[[:space:]]*1' "$status" || fail "callee runs without no-new-privs"
grep -q '^Seccomp:[[:space:]]*2' "$status" || fail "callee runs without a seccomp filter"
grep -q '^Seccomp_filters:[[:space:]]*2' "$status" || fail "callee's filters are not the broker's and the launcher's"
grep -q '^CapEff:[[:space:]]*0000000000000000' "$status" || fail "callee holds capabilities: $(grep Cap "$status")"
for ns in pid mnt net ipc; do
	[ "$(readlink "/proc/$dom/ns/$ns")" != "$(readlink "/proc/$pid/ns/$ns")" ] ||
		fail "callee shares the broker's $ns namespace"
done
[ "$(sed -n 's/^NSpid:[[:space:]]*[0-9]*[[:space:]]*//p' "$status")" = 2 ] ||
	fail "callee is not pid 2 of its namespace: $(grep NSpid "$status")"
ls "/proc/$dom/root/" > "$dir/root" 2>&1 || fail "cannot list callee's root: $(cat "$dir/root")"
grep -qx etc "$dir/root" && fail "callee's root has /etc: $(tr '\n' ' ' < "$dir/root")"
grep -qx usr "$dir/root" || fail "callee's root has no /usr: $(tr '\n' ' ' < "$dir/root")"
uid=$(stat -c %u "/proc/$dom")
if [ "${1:-}" = --as-nobody ]; then
	[ "$(readlink "/proc/$dom/ns/user")" != "$(readlink "/proc/$pid/ns/user")" ] ||
		fail "callee shares the broker's user namespace"
else
	[ "$uid" -ge 1073741824 ] || fail "callee runs as uid $uid, not an id of its own"
	[ "$(stat -c %u "/proc/$init")" != "$uid" ] || fail "callee runs as its init's uid"
fi

# A domain stopped from the host shows as stopped, and as running again after
# SIGCONT (the kernel stops it asynchronously: ps is asked until it says so, for 5 s at most).
ps_until() {
	tries=0
	until $as_user "$dir/bin/redleaf" ps --json --socket "$dir/run/s" > "$dir/ps" 2>&1 &&
		grep -q "\"name\":\"callee\",\"pid\":[0-9]*,\"state\":\"$1\"" "$dir/ps"; do
		tries=$((tries + 1))
		[ $tries -ge 100 ] && fail "callee never showed as $1: $(cat "$dir/ps")"
		sleep 0.05
	done
}
kill -STOP "$dom"
ps_until "stopped (signal)"
kill -CONT "$dom"
ps_until running

# The end: the registry is consistent, and the broker stops cleanly.
$as_user "$dir/bin/redleaf" heap --audit --socket "$dir/run/s" > "$dir/audit" 2>&1 || fail "audit: $(cat "$dir/audit")"
grep -q consistent "$dir/audit" || fail "audit: $(cat "$dir/audit")"
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ $st -eq 0 ] || fail "the broker exited with status $st"
[ -d "/proc/$dom" ] && fail "callee (pid $dom) outlived the system"
echo "confinement: 6 attacks refused before the launcher, 1 after; namespaces, filters and identity checked"
