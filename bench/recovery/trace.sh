#!/bin/sh
# SPDX-License-Identifier: MIT
# Where a driver recovery's time goes: runs the recovery system (read mode)
# with ramblk crashed every second while `perf record` takes kernel
# tracepoints (signals, exit, fork, unshare, exec, seccomp, waitid) on
# CLOCK_MONOTONIC, then splits every recovery into phases
# (trace-phases.py) and prints medians over the crashes.
#
#   sh bench/recovery/trace.sh [--build DIR] [--seconds N] [--heap SIZE]
#                              [--blocks N] [--keep DIR]
#
# --build DIR   the meson build folder (default: build)
# --seconds N   crash for N seconds, one crash a second (default 10)
# --heap SIZE   the shared heap (manifest heap.size, default 64M)
# --blocks N    ramblk's device size in 4 KiB blocks = its devmem (default 4096)
# --keep DIR    keep perf.data, the perf script text, ps --json and the log there
#
# Needs root (system-wide tracepoints), perf (linux-perf) and python3.
# Exits 77 (skip) without them. It uses its own perf session: no global
# tracefs state is changed.
set -eu

build=build
seconds=10
heap=64M
blocks=4096
keep=
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--heap) heap=$2; shift 2 ;;
	--blocks) blocks=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-h|--help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "trace.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case "$seconds" in ''|*[!0-9]*) echo "trace.sh: --seconds takes a number" >&2; exit 2 ;; esac
case "$blocks" in ''|*[!0-9]*) echo "trace.sh: --blocks takes a number" >&2; exit 2 ;; esac
case "$heap" in ''|*[!0-9KMGkmg]*) echo "trace.sh: --heap takes a size like 64M" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
redleaf=$build/src/redleaf
[ -x "$redleaf" ] || { echo "trace.sh: no $redleaf (build first, or give --build)" >&2; exit 2; }
[ -x "$build/bench/recovery/recbench" ] || { echo "trace.sh: no recbench in $build/bench/recovery" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "trace.sh: skip: needs root for system-wide tracepoints" >&2; exit 77; }
command -v perf >/dev/null || { echo "trace.sh: skip: perf is not installed (apt-get install linux-perf)" >&2; exit 77; }
command -v python3 >/dev/null || { echo "trace.sh: skip: python3 is not installed" >&2; exit 77; }

tmp=$(mktemp -d /tmp/redleaf-rectrace.XXXXXX)
broker=
perfpid=
cleanup() {
	[ -n "$perfpid" ] && kill -INT "$perfpid" 2>/dev/null && wait "$perfpid" 2>/dev/null || true
	[ -n "$broker" ] && kill -TERM "$broker" 2>/dev/null && wait "$broker" 2>/dev/null || true
	if [ -n "$keep" ]; then
		mkdir -p "$keep" && cp -r "$tmp"/. "$keep"/ 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

cat > "$tmp/recovery.yaml" <<EOF
system: recovery
heap: {size: $heap}
domains:
  - name: ramblk
    binary: ramblk
    args: [--blocks, "$blocks"]
    exports: [BDev]
    devmem: $((blocks * 4))K
    restart: always
  - name: bdev-shadow
    binary: shadow
    exports: [BDev]
    imports:
      - {name: target, iface: BDev, from: ramblk}
  - name: recbench
    binary: recbench
    args: [--mode, read, --seconds, "$((seconds + 4))", --tail-ms, "500"]
    imports:
      - {name: bdev, iface: BDev, from: bdev-shadow}
EOF

sock=$tmp/s
REDLEAF_DOMAIN_PATH=$build/bench/recovery:$build/domains \
	"$redleaf" run --socket "$sock" --until recbench "$tmp/recovery.yaml" > "$tmp/broker.log" 2>&1 &
broker=$!
i=0
until "$redleaf" ps --socket "$sock" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 250 ] || { echo "trace.sh: the broker did not come up; its log:" >&2; cat "$tmp/broker.log" >&2; exit 1; }
	sleep 0.02
done
until grep -q "RECBENCH START" "$tmp/broker.log"; do sleep 0.05; done

events=signal:signal_generate,sched:sched_process_exit,sched:sched_process_fork,sched:sched_process_exec
events=$events,syscalls:sys_enter_waitid,syscalls:sys_enter_execveat,syscalls:sys_enter_unshare
events=$events,syscalls:sys_exit_unshare,syscalls:sys_enter_seccomp,syscalls:sys_exit_seccomp
perf record -q -k mono -a -o "$tmp/perf.data" -e "$events" > "$tmp/perf.log" 2>&1 &
perfpid=$!
sleep 0.5
"$redleaf" crash --socket "$sock" --every 1s ramblk >&2
sleep "$seconds"
sleep 0.5
"$redleaf" crash --socket "$sock" --stop >&2
sleep 0.2
"$redleaf" ps --socket "$sock" --json > "$tmp/ps.json"
kill -INT "$perfpid"
wait "$perfpid" || true
perfpid=
broker_pid=$broker
wait "$broker" || { echo "trace.sh: the broker exited with status $?; its log:" >&2; cat "$tmp/broker.log" >&2; exit 1; }
broker=
perf script -i "$tmp/perf.data" -F comm,pid,tid,time,event,trace > "$tmp/perf.txt" 2>/dev/null
python3 "$here/trace-phases.py" "$tmp/perf.txt" "$tmp/ps.json" "$broker_pid"
