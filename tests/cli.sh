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
expect 2 "redleaf crash: --signal STOP: that signal stops the domain without ending it" crash --signal STOP d
expect 2 "redleaf crash: --signal winch: that signal is ignored by default" crash --signal winch --every 1s d
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
# One parser for every command: the same forms everywhere (short, =value, unique prefix, --).
expect 1 "no broker at $sock" ps -s "$sock"
expect 1 "no broker at $sock" heap "-s$sock" --json
expect 1 "no broker at $sock" stop --sock="$sock"
expect 1 "no broker at $sock" crash --socket "$sock" --every 2s --random --panic -- a b
expect 1 "no broker at $sock" crash -s "$sock" --at-call=2 --point before --sig ABRT d
expect 2 "redleaf ps: unknown option '--bogus'" ps --bogus
expect 2 "redleaf ps: unknown option '-x'" ps -x
expect 2 "redleaf stop: this command takes no --json" stop --json
expect 2 "redleaf crash: this command takes no --audit" crash --audit d
expect 2 "redleaf run: this command takes no --signal" run --signal KILL x.yaml
expect 2 "redleaf ps: --socket needs a value \\(PATH\\)" ps --socket
expect 2 "redleaf ps: --socket needs a value \\(PATH\\)" ps --socket --json
expect 2 "redleaf crash: --signal needs a value \\(NAME\\)" crash --signal
expect 2 "redleaf crash: takes one DOMAIN \\(several only with --every\\), not also '--signal'" crash d --signal KILL
expect 2 "redleaf ps: --json takes no value" ps --json=yes
expect 2 "redleaf crash: option '--s' is ambiguous \\(--socket, --signal, --stop\\)" crash --s x d
expect 2 "redleaf crash: --signal takes a signal name or number .*not 'FOO'" crash --signal FOO d
expect 2 "redleaf crash: --signal takes a signal name or number .*not '65'" crash --signal 65 d
expect 2 "redleaf crash: --at-call takes a count from 1, not 'x'" crash --at-call x d
expect 2 "redleaf crash: --at-call takes a count from 1, not '4294967296'" crash --at-call 4294967296 d
expect 2 "redleaf crash: --every takes a duration of at least 1ms and at most 1 day .*not '0.5ms'" crash --every 0.5ms d
expect 2 "redleaf crash: --every takes a duration .*not '2d'" crash --every 2d d
expect 2 "redleaf crash: --every takes a duration .*not '86401s'" crash --every 86401s d
expect 2 "redleaf crash: --every takes a duration .*not 'nans'" crash --every nans d
expect 2 "redleaf crash: --every does not go with --at-call" crash --every 1s --at-call 2 d
expect 2 "redleaf crash: --stop takes nothing else" crash --stop d
expect 2 "redleaf crash: bad domain name 'Big': use only a-z, 0-9, '_' and '-'" crash Big
expect 2 "redleaf crash: bad domain name 'a,b'" crash --every 1s a,b
expect 2 "redleaf restart: domain name 'x{31}\\.\\.\\.' is too long \\(at most 31 characters\\)" \
	restart xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
expect 2 "redleaf crash: takes at most 64 DOMAINs, not 65" crash --every 1s $(seq -f 'd%g' 1 65)
expect 2 "redleaf restart: needs exactly one DOMAIN" restart a b
expect 2 "redleaf help: takes one COMMAND, not also 'extra'" help ps extra
expect 1 "no-such.yaml: error: cannot open: No such file or directory" run --socket "$sock" "$dir/no-such.yaml"
expect 1 "unknown-iface.yaml:5:15: error: unknown interface 'NoSuchInterface'" \
	run --socket "$sock" "$here/manifests/bad/unknown-iface.yaml"
expect 1 "missing-binary.yaml:3:5: error: domain 'a': binary 'no-such-domain-binary' not found" \
	run --socket "$sock" "$here/manifests/bad/missing-binary.yaml"
expect 1 "syntax.yaml:[0-9]+:[0-9]+: error: " run --socket "$sock" "$here/manifests/bad/syntax.yaml"
expect 1 "broker-cpus.yaml:2:15: error: broker: 16 proxy thread\\(s\\) from cpu 1000 need CPUs up to 1015 \\(this machine has [0-9]+\\)" \
	run --socket "$sock" "$here/manifests/bad/broker-cpus.yaml"
# --socket: never removes what is not a socket; a path over the limit is named with the limit.
printf 'keep me\n' > "$dir/plain"
printf '%s\n' 'system: t' 'domains:' '  - {name: t, binary: /bin/true}' > "$dir/true.yaml"
expect 1 "redleaf: $dir/plain exists and is not a socket; not removing it" run --socket "$dir/plain" "$dir/true.yaml"
[ "$(cat "$dir/plain")" = "keep me" ] || { echo "FAIL: run --socket removed or changed a plain file" >&2; fail=1; }
long=$dir/$(printf 'x%.0s' $(seq 110))
expect 2 "control socket path too long \\([0-9]+ bytes, at most 107\\)" ps --socket "$long"
expect 1 "control socket path too long \\([0-9]+ bytes, at most 107\\)" run --socket "$long" "$dir/true.yaml"
expect 2 "redleaf crash: --point places a crash at a call: give --at-call N \\(or --panic\\)" crash --point before d
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
	"$REDLEAF" "$cmd" --help > "$dir/help1" && "$REDLEAF" help "$cmd" > "$dir/help2" &&
		cmp -s "$dir/help1" "$dir/help2" || { echo "FAIL: $cmd --help is not help $cmd" >&2; fail=1; }
done

# ... and the whole truth: every option a command's help lists, the command
# accepts (followed by --help, which then prints the help and exits 0); every
# option only other commands list, it refuses with "takes no".
sample() {
	case "$1" in
	PATH) echo /nonexistent ;; N) echo 3 ;; P) echo after ;; DUR) echo 1s ;; NAME) echo SEGV ;;
	'D1[,D2...]') echo a,b ;; *) echo "?" ;;
	esac
}
all=$(for cmd in run ps heap crash restart stop bench help; do "$REDLEAF" help "$cmd"; done |
	sed -n 's/^  --\([a-z-]*\).*/\1/p' | sort -u)
for cmd in run ps heap crash restart stop bench help; do
	"$REDLEAF" help "$cmd" | sed -n 's/^  --\([a-z-]*\)\( [^ ][^ ]*\)\{0,1\} .*/\1\2/p' > "$dir/opts"
	grep -q '^help$' "$dir/opts" || { echo "FAIL: help $cmd lists no --help" >&2; fail=1; }
	while read -r name value; do
		set -- "--$name"
		[ -n "$value" ] && set -- "$@" "$(sample "$value")"
		"$REDLEAF" "$cmd" "$@" --help > "$dir/out" 2> "$dir/err" ||
			{ echo "FAIL: $cmd does not accept $*, which its help lists: $(cat "$dir/err")" >&2; fail=1; }
	done < "$dir/opts"
	for name in $all; do
		grep -q "^$name\( \|$\)" "$dir/opts" && continue
		"$REDLEAF" "$cmd" "--$name" x > "$dir/out" 2> "$dir/err"
		[ $? -eq 2 ] && grep -q "redleaf $cmd: this command takes no --$name" "$dir/err" ||
			{ echo "FAIL: $cmd accepts --$name, which its help does not list" >&2; fail=1; }
	done
done
exit $fail
