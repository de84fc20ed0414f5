#!/bin/sh
# SPDX-License-Identifier: MIT
# Compares two builds' cost of one call row, time-shared: both systems run
# at once and take turns in slots of CLOCK_MONOTONIC (build A in the odd
# slots, build B in the even ones), the way bench/ipc time-shares a floor
# with our rows. The machine's speed changes every few seconds; one pair of
# slots sees one speed, so the ratio B / A it gives is about the code, not
# about the moment (docs/performance.md, "Comparing two builds").
#
#   bench/abshare.sh BUILD_A BUILD_B [ROW] [SECONDS] [SLOT_MS]
#
# ROW is null or batch.N (default batch.128), SECONDS the length of the
# shared phase (default 20), SLOT_MS the slot (default 25). Placement is
# --placed's: both brokers on the last usable CPU, all domains on the
# first. Prints each build's median over its slots and the median, the
# quartiles and the range of B's slot over A's slot just before it.
# ABSHARE_WRAP="setarch -R" runs both systems without address-space
# randomisation. Takes SECONDS plus ~3 s. Exits 0 with the figures, 77
# when fewer than 2 CPUs are usable, 1 when a system fails or too few
# slot pairs form, 2 for bad usage.
set -eu
usage() { awk 'NR >= 3 && !/^#/ { exit } NR >= 3 { sub(/^# ?/, ""); print }' "$0"; }
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
	usage
	exit 0
fi
if [ $# -lt 2 ] || [ $# -gt 5 ]; then
	usage >&2
	exit 2
fi
a=$1 b=$2 row=${3:-batch.128} secs=${4:-20} slot_ms=${5:-25}
case $row in null | batch.[0-9]*) ;; *) row=bad ;; esac
case $row in bad | batch.*[!0-9]*) echo "abshare.sh: ROW must be null or batch.N" >&2; exit 2 ;; esac
for n in "$secs" "$slot_ms"; do
	case $n in '' | *[!0-9]*) echo "abshare.sh: SECONDS and SLOT_MS are whole numbers" >&2; exit 2 ;; esac
done
[ "$secs" -ge 2 ] && [ "$slot_ms" -ge 5 ] || { echo "abshare.sh: at least 2 s and 5 ms slots" >&2; exit 2; }
for d in "$a" "$b"; do
	for x in src/redleaf bench/ipcbench; do
		[ -x "$d/$x" ] || { echo "abshare.sh: $d/$x not found: build first" >&2; exit 1; }
	done
	# The call pair: a test fixture (tests/domains), in domains/ in older builds.
	[ -x "$d/tests/domains/callee" ] || [ -x "$d/domains/callee" ] ||
		{ echo "abshare.sh: no callee domain in $d/tests/domains or $d/domains: build first" >&2; exit 1; }
done
cpus=$(python3 -c "import os; c=sorted(os.sched_getaffinity(0)); print(c[0], c[-1], len(c))")
set -- $cpus
cpu_first=$1 cpu_last=$2 ncpu=$3
if [ "$ncpu" -lt 2 ]; then
	echo "abshare.sh: skipped: needs 2 usable CPUs (has $ncpu)" >&2
	exit 77
fi
tmp=$(mktemp -d)
pids=
cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null || :; done
	for p in $pids; do wait "$p" 2>/dev/null || :; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # through the EXIT trap: systems stopped, files removed

slot_ns=$((slot_ms * 1000000))
# Startup takes well under a second; the phase starts 2 s from now.
now=$(python3 -c "import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))")
t0=$((now + 2000000000))
t0=$((t0 - t0 % (2 * slot_ns)))
t0=$((t0 + 2 * slot_ns))
end=$(( (secs * 1000 / slot_ms) / 2 * 2 ))
start() { # label build t0
	cat >"$tmp/$1.yaml" <<EOF
system: abshare-$1
heap: {size: 64M}
broker: {spin_us: 5, cpu: $cpu_last}
domains:
  - name: callee
    binary: callee
    exports: [Test]
    cpu: $cpu_first
  - name: ipcbench
    binary: ipcbench
    args: [--iterations, "1000", --warmup, "100", --only, "$row", --share-clock, "$3", "$slot_ns", --share, "$row", "0", "$end"]
    cpu: $cpu_first
    imports:
      - {name: test, iface: Test, from: callee}
EOF
	REDLEAF_DOMAIN_PATH="$2/bench:$2/domains:$2/tests/domains" ${ABSHARE_WRAP:-} "$2/src/redleaf" run --until ipcbench --socket "$tmp/$1.sock" \
		"$tmp/$1.yaml" >"$tmp/$1.log" 2>&1 &
	pids="$pids $!"
}
start a "$a" "$t0"
start b "$b" "$((t0 + slot_ns))"
echo "abshare.sh: $row, A = $a in the odd slots, B = $b in the even ones, ${secs} s of ${slot_ms} ms slots" >&2
fail=0
for p in $pids; do wait "$p" || fail=1; done
pids=
if [ $fail -ne 0 ]; then
	for l in a b; do echo "--- system $l:" >&2; tail -20 "$tmp/$l.log" >&2; done
	exit 1
fi
python3 - "$tmp/a.log" "$tmp/b.log" "$row" <<'EOF'
import json, statistics, sys
def slots(path, row):
    out = {}
    for line in open(path):
        i = line.find('BENCH ')
        if i < 0:
            continue
        r = json.loads(line[i + 6:])
        if r.get('op') == 'slot' and r.get('row') == row:
            out[r['slot']] = r['median']
    return out
a, b = slots(sys.argv[1], sys.argv[3]), slots(sys.argv[2], sys.argv[3])
# B's slot s starts one slot after A's slot s (its clock starts one slot later).
pairs = [b[s] / a[s] for s in sorted(b) if s in a]
if len(pairs) < 8:
    sys.exit('abshare.sh: only %d slot pairs (A %d slots, B %d)' % (len(pairs), len(a), len(b)))
q = statistics.quantiles(pairs, n=4)
print('A median %.1f over %d slots, B median %.1f over %d slots (ticks per call)' %
      (statistics.median(a.values()), len(a), statistics.median(b.values()), len(b)))
print('B / A: median %.3f, quartiles %.3f-%.3f, range %.3f-%.3f over %d slot pairs' %
      (statistics.median(pairs), q[0], q[2], min(pairs), max(pairs), len(pairs)))
EOF
