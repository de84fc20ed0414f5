#!/bin/sh
# SPDX-License-Identifier: MIT
# The warm standby (manifest `standby`, docs/recovery.md): a shadowed RAM
# disk keeps a successor ready. The test kills that standby before it is
# needed (the broker must notice and prepare another), then crashes the
# driver (the restart must come from the new standby), while a client
# writes and verifies blocks through the shadow without an error. At the end
# the audit is consistent, and no standby outlives the broker.
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
: "${REDLEAF_DOMAIN_PATH:?REDLEAF_DOMAIN_PATH must name the built domains}"
. "$(dirname "$0")/lib.sh"
rl_test_setup rl-standby
rl_system_dir ramblk shadow blkclient
cat > "$dir/system.yaml" << 'EOF'
system: standby
heap: {size: 32M}
domains:
  - {name: ramblk, binary: ramblk, args: [--blocks, "256"], exports: [BDev], devmem: 1M, restart: always}
  - name: bdev-shadow
    binary: shadow
    exports: [BDev]
    imports: [{name: target, iface: BDev, from: ramblk}]
  - name: client
    binary: blkclient
    args: [--rounds, "0", --seconds, "30", --blocks, "256"]
    imports: [{name: bdev, iface: BDev, from: bdev-shadow}]
EOF
REDLEAF_DOMAIN_PATH="$dir/bin" "$dir/bin/redleaf" run --socket "$dir/run/s" "$dir/system.yaml" \
	2> "$dir/log" < /dev/null &
pid=$!

# The standby's pid as ps says (0: none yet), waiting (at most 20 s) until it is not $1.
standby_other_than() {
	tries=0
	while :; do
		rl_cli ps --json > "$dir/ps" 2>&1 || fail "ps: $(cat "$dir/ps")"
		sb=$(sed -n 's/.*"name":"ramblk".*"standby_pid":\([0-9]*\).*"name":"bdev-shadow".*/\1/p' "$dir/ps")
		[ -n "$sb" ] && [ "$sb" != 0 ] && [ "$sb" != "$1" ] && { echo "$sb"; return; }
		tries=$((tries + 1))
		[ $tries -ge 400 ] && fail "no standby other than '$1': $(cat "$dir/ps")"
		sleep 0.05
	done
}

rl_wait_log "ramblk: standby ready"
rl_wait_log "[client] round"
first=$(standby_other_than 0)
kill -KILL "$first" || fail "cannot kill the standby $first"
rl_wait_log "ramblk: its standby (pid $first) was killed by signal 9 before it was needed"
second=$(standby_other_than "$first")
rl_cli crash ramblk > "$dir/out" 2>&1 || fail "crash ramblk failed: $(cat "$dir/out")"
rl_wait_log "ramblk: restarted from its standby, pid $second"
# The client goes on through the restart: two more progress lines (one every 2 s).
rl_wait_log "[client] round" $(($(grep -cF "[client] round" "$dir/log") + 2))
third=$(standby_other_than "$second")
rl_cli heap --audit > "$dir/audit" 2>&1 || fail "audit: $(cat "$dir/audit")"
grep -q consistent "$dir/audit" || fail "audit: $(cat "$dir/audit")"
grep -qE '\[client\].*(error|failed|panic)' "$dir/log" && fail "the client saw an error"
grep -qE 'client: (panic|killed|exited)' "$dir/log" && fail "the client ended"

kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ $st -eq 0 ] || fail "the broker exited with status $st"
for p in "$first" "$second" "$third"; do
	[ -d "/proc/$p" ] && fail "process $p (a standby's) outlived the broker"
done
echo "standby: a killed standby replaced ($first -> $second), the restart used it, the next is $third; no error, nothing left"
