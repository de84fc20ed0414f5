#!/bin/sh
# SPDX-License-Identifier: MIT
# Crash soak with the warm standby on: a shadowed RAM disk serves three
# verifying clients (one a block per call, one in batches of 32, one in
# batches of 128: BDev.batch, which the shadow re-issues whole) while its driver is crashed N times, spread over the
# kinds (SIGKILL, SIGSEGV, SIGABRT and a panic, each repeated every 2 ms)
# and, for panics placed in its own call path, over the points (before,
# during and after a call, one at a time). After each batch the registry
# audit must be consistent; at the end no client may have seen an error or
# lost a write, most restarts must have come from a standby, and no process
# of the driver's binary (standby or not) may outlive the broker.
#   standby-soak.sh [N] [nvme]   N crashes in all (default 200; the soak suite
#                                runs 10000); with nvme the driver is the NVMe
#                                driver domain on its model (RAM namespace),
#                                whose every start resets the controller
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
: "${REDLEAF_DOMAIN_PATH:?REDLEAF_DOMAIN_PATH must name the built domains}"
. "$(dirname "$0")/lib.sh"
rl_test_setup rl-soak
total=${1:-200}
if [ "${2:-}" = nvme ]; then
	drv=nvme
	rl_system_dir nvmedrv shadow blkclient
	model="$(dirname "$REDLEAF")/broker/devices/redleaf-nvme-model"
	[ -x "$model" ] || fail "no NVMe model beside redleaf ($model)"
	cp "$model" "$dir/bin/"
	driver_entry='{name: nvme, binary: nvmedrv, exports: [BDev], devmem: 1M, restart: always,
     device: {model: nvme, blocks: 384, block_size: 4096}}'
else
	drv=ramblk
	rl_system_dir ramblk shadow blkclient
	driver_entry='{name: ramblk, binary: ramblk, args: [--blocks, "384"], exports: [BDev], devmem: 2M, restart: always}'
fi
cat > "$dir/system.yaml" << EOF
system: soak
heap: {size: 32M}
domains:
  - $driver_entry
  - name: bdev-shadow
    binary: shadow
    exports: [BDev]
    imports: [{name: target, iface: BDev, from: $drv}]
  - {name: c1, binary: blkclient, args: [--rounds, "0", --first, "0", --blocks, "128"],
     imports: [{name: bdev, iface: BDev, from: bdev-shadow}]}
  - {name: c2, binary: blkclient, args: [--rounds, "0", --first, "128", --blocks, "128", --batch, "32"],
     imports: [{name: bdev, iface: BDev, from: bdev-shadow}]}
  - {name: c3, binary: blkclient, args: [--rounds, "0", --first, "256", --blocks, "128", --batch, "128"],
     imports: [{name: bdev, iface: BDev, from: bdev-shadow}]}
EOF
REDLEAF_DOMAIN_PATH="$dir/bin" "$dir/bin/redleaf" run --socket "$dir/run/s" "$dir/system.yaml" \
	2> "$dir/log" < /dev/null &
pid=$!
tries=0
until rl_cli ps > /dev/null 2>&1; do
	tries=$((tries + 1))
	[ $tries -ge 400 ] && fail "the broker never answered"
	sleep 0.05
done
# Restarts as ps counts them (the log has them too).
restarts() { rl_cli ps --json | sed -n 's/.*"name":"'$drv'","pid":[0-9]*,"state":"[^"]*",.*"restarts":\([0-9]*\).*"name":"bdev-shadow".*/\1/p'; }
audit() {
	rl_cli heap --audit > "$dir/audit" 2>&1 || fail "audit after $1: $(cat "$dir/audit")"
	grep -q consistent "$dir/audit" || fail "audit after $1: $(cat "$dir/audit")"
}
running() { rl_cli ps --json | grep -q '"name":"'$drv'","pid":[0-9]*,"state":"running"'; }
# Waits (at most 60 s) until the driver has restarted at least $1 times in all and runs again.
# Callers count from the restarts before their crash command: a periodic
# injection stopped by `crash --stop` may still land once more.
wait_restarts() {
	tries=0
	until [ "$(restarts)" -ge "$1" ] && running; do
		tries=$((tries + 1))
		[ $tries -ge 1200 ] && fail "$drv restarted $(restarts) times, not $1, in 60 s"
		kill -0 "$pid" 2> /dev/null || fail "the broker ended"
		sleep 0.05
	done
}

share=$((total / 5))
done_so_far=0
for kind in "--signal KILL" "--signal SEGV" "--signal ABRT" "--panic"; do
	base=$(restarts)
	# shellcheck disable=SC2086
	rl_cli crash --every 2ms $kind $drv > /dev/null || fail "crash --every $kind refused"
	done_so_far=$((done_so_far + share))
	wait_restarts $((base + share))
	rl_cli crash --stop > /dev/null
	audit "$kind"
done
# Panics at each point of a call, one at a time: each waits for its restart.
while [ "$done_so_far" -lt "$total" ]; do
	for point in before during after; do
		[ "$done_so_far" -ge "$total" ] && break
		base=$(restarts)
		rl_cli crash --panic --at-call 1 --point "$point" $drv > /dev/null || fail "crash --point $point refused"
		done_so_far=$((done_so_far + 1))
		wait_restarts $((base + 1))
	done
done
audit "the points"
final=$(restarts)
# Each client goes on verifying after it all (blkclient reports every 2 s; a mismatch would be a panic).
for c in c1 c2 c3; do
	rl_wait_log "[$c] round"
done

rl_cli ps --json > "$dir/ps"
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ $st -eq 0 ] || fail "the broker exited with status $st"
grep -E '^\[c[123]\]' "$dir/log" | grep -vE 'round [0-9]+ verified|written, read back and verified' > "$dir/bad"
[ -s "$dir/bad" ] && fail "a client saw an error: $(head -3 "$dir/bad")"
grep -qE 'c[123]: (panic|killed|exited)' "$dir/log" && fail "a client ended: $(grep -E 'c[123]: ' "$dir/log" | head -3)"
left=0
for p in /proc/[0-9]*; do
	case "$(readlink "$p/exe" 2> /dev/null)" in
	"$dir/bin/"*) left=$((left + 1)) ;;
	esac
done
[ $left -eq 0 ] || fail "$left process(es) of the system's binaries (standby or not) outlived the broker"
warm=$(grep -c "$drv: restarted from its standby" "$dir/log")
[ "$warm" -gt 0 ] || fail "no restart came from a standby"
echo "standby-soak ($drv): $final crashes (KILL, SEGV, ABRT, panic; panics before, during and after a call), $warm restarts from a standby; no client error, audits consistent, nothing left"
