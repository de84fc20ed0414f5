#!/bin/sh
# SPDX-License-Identifier: MIT
# Bad command lines and bad manifests: each must give exactly one error line
# on stderr (and nothing on stdout) and the documented exit status.
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/rl-cli.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail=0

# expect STATUS PATTERN ARGS...: exit STATUS, one stderr line matching PATTERN.
expect() {
	want=$1 pattern=$2
	shift 2
	"$REDLEAF" "$@" > "$dir/out" 2> "$dir/err" < /dev/null
	got=$?
	lines=$(wc -l < "$dir/err")
	if [ "$got" -ne "$want" ] || [ "$lines" -ne 1 ] || ! grep -qE -- "$pattern" "$dir/err" ||
	   [ -s "$dir/out" ]; then
		echo "FAIL: redleaf $*: status $got (want $want), $lines stderr line(s):" >&2
		cat "$dir/err" "$dir/out" >&2
		fail=1
	fi
}

sock="$dir/none.sock"
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 "redleaf run: needs a MANIFEST" run
expect 2 "redleaf run: unknown option" run --bogus x.yaml
expect 2 "redleaf run: takes one MANIFEST, not also 'b.yaml'" run a.yaml b.yaml
expect 2 "redleaf ps: unexpected argument 'extra'" ps extra
expect 2 "redleaf heap: --audit and --json do not go together" heap --audit --json
expect 2 "redleaf crash: needs a DOMAIN" crash
expect 2 "redleaf crash: --at-call takes a count from 1, not '0'" crash --at-call 0 d
expect 2 "redleaf crash: --point is before, during or after, not 'later'" crash --point later d
expect 2 "redleaf crash: --every takes a duration of at least 1ms" crash --every 5parsecs d
expect 2 "redleaf crash: --random picks a domain" crash --random d
expect 2 "redleaf crash: --signal does not go with --panic" crash --signal KILL --panic d
expect 2 "redleaf restart: needs exactly one DOMAIN" restart
expect 2 "redleaf help: no command 'nope'" help nope
expect 2 "redleaf bench: needs a BENCHMARK name" bench
expect 2 "redleaf bench: no benchmark named 'nope'" bench nope
expect 2 "redleaf bench: unknown option '--fast'" bench --fast
export REDLEAF_BENCH_DIR="$dir"
expect 1 "redleaf bench: cannot run $dir/bench/ipc: No such file" bench ipc
unset REDLEAF_BENCH_DIR
expect 2 "ipc: --only: no part or row named 'bogus'" bench ipc --only raw3,bogus
expect 2 "ipc: --only: no part or row named 'load.batch.32'" bench ipc --only load,load.batch.32
expect 2 "proxycost: --method: 'foo' is not one of null add take mixed" bench proxycost --method foo
expect 2 "proxycost: --batch: '0' is not a number in 1..256" bench proxycost --batch 0
expect 1 "no broker at $sock" ps --socket "$sock"
expect 1 "no broker at $sock" crash --socket "$sock" d
expect 1 "no-such.yaml: error: cannot open: No such file or directory" run --socket "$sock" "$dir/no-such.yaml"
expect 1 "unknown-iface.yaml:5:15: error: unknown interface 'NoSuchInterface'" \
	run --socket "$sock" "$here/manifests/bad/unknown-iface.yaml"
expect 1 "missing-binary.yaml:3:5: error: domain 'a': binary 'no-such-domain-binary' not found" \
	run --socket "$sock" "$here/manifests/bad/missing-binary.yaml"
expect 1 "syntax.yaml:[0-9]+:[0-9]+: error: " run --socket "$sock" "$here/manifests/bad/syntax.yaml"
expect 1 "broker-cpus.yaml:2:15: error: broker: 16 proxy thread\\(s\\) from cpu 1000 need CPUs up to 1015 \\(this machine has [0-9]+\\)" \
	run --socket "$sock" "$here/manifests/bad/broker-cpus.yaml"
expect 2 "redleaf: --until: no domain named 'ghost'" \
	run --socket "$sock" --until ghost "$here/../examples/testpair.yaml"

# Lowering a domain's nice value needs CAP_SYS_NICE (root has it: drop it
# with setpriv). Without it the broker names the domain and the reason.
printf 'system: lownice\ndomains:\n  - {name: low, binary: callee, exports: [Test], nice: -20}\n' \
	> "$dir/lownice.yaml"
drop=
[ "$(id -u)" -ne 0 ] || drop="setpriv --bounding-set=-sys_nice --inh-caps=-sys_nice"
timeout 20 $drop "$REDLEAF" run --socket "$sock" "$dir/lownice.yaml" > "$dir/out" 2> "$dir/err" < /dev/null
got=$?
if [ "$got" -ne 1 ] || ! grep -qE "low: cannot start .*callee: setting its nice value \(lowering it needs root or CAP_SYS_NICE\): (Permission denied|Operation not permitted)" "$dir/err"; then
	echo "FAIL: a domain at nice -20 without CAP_SYS_NICE: status $got (want 1):" >&2
	cat "$dir/err" >&2
	fail=1
fi

# Help tells the truth: every command in the overview has its own help.
for cmd in run ps heap crash restart stop bench help; do
	"$REDLEAF" help "$cmd" | grep -q "usage: redleaf $cmd" || { echo "FAIL: help $cmd" >&2; fail=1; }
	"$REDLEAF" --help | grep -q "^  $cmd" || { echo "FAIL: --help lists no $cmd" >&2; fail=1; }
done
exit $fail
