#!/bin/sh
# SPDX-License-Identifier: MIT
# The command line of redleaf-idlc: usage errors, --help, outputs written
# atomically and only on success, and the limits on untrusted input.
# usage: test-idlc-cli.sh IDLC GOOD-DIR BAD-DIR
set -u
idlc=$1 good=$2 bad=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# expect STATUS CMD...: runs CMD with stdout/stderr in $tmp/out, $tmp/err
expect() {
	want=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$* exited $got, expected $want"
		sed 's/^/  stderr: /' "$tmp/err"
	fi
}

contains() {
	grep -q -e "$2" "$1" || fail "$1 lacks '$2': $(head -c 300 "$1")"
}

# ---- usage ----
expect 0 "$idlc" --help
for word in --check --header --stubs --tables --version 'file:line:col'; do
	contains "$tmp/out" "$word"
done
expect 0 "$idlc" --version
contains "$tmp/out" 'redleaf-idlc '
expect 2 "$idlc"
contains "$tmp/err" 'no input files'
expect 2 "$idlc" --bogus "$good/minimal.idl"
contains "$tmp/err" "unknown option '--bogus'"
expect 2 "$idlc" "$good/minimal.idl"
contains "$tmp/err" 'nothing to do'
expect 2 "$idlc" --check --header "$tmp/x.h" "$good/minimal.idl"
expect 2 "$idlc" --header "$tmp/x.h" --tables "$tmp/x.h" "$good/minimal.idl"
expect 2 "$idlc" --header
expect 2 "$idlc" --header "$tmp/a.h" --header "$tmp/b.h" "$good/minimal.idl"
[ -e "$tmp/x.h" ] && fail "a usage error wrote an output"

# ---- outputs ----
expect 0 "$idlc" --header "$tmp/o.h" --stubs "$tmp/o_stubs.c" --tables="$tmp/o_tables.c" \
	"$good/multi_a.idl" "$good/multi_b.idl"
for f in o.h o_stubs.c o_tables.c; do
	[ -s "$tmp/$f" ] || fail "$f was not written"
done
contains "$tmp/o_stubs.c" '#include "o.h"'
contains "$tmp/o_tables.c" 'rl_idl_iface_by_name'
ls "$tmp" | grep -q tmp && fail "temporary files left behind: $(ls "$tmp")"
# generated files are readable like any other (mkstemp makes 0600)
[ -n "$(find "$tmp/o.h" -perm -0044)" ] || [ "$(umask)" != 0022 ] || fail "o.h is not world-readable"
# same input, same output
expect 0 "$idlc" --header "$tmp/p.h" --stubs "$tmp/p_stubs.c" --tables "$tmp/p_tables.c" \
	"$good/multi_a.idl" "$good/multi_b.idl"
cmp -s "$tmp/o.h" "$tmp/p.h" || fail "header differs between two runs"
cmp -s "$tmp/o_tables.c" "$tmp/p_tables.c" || fail "tables differ between two runs"
# file names do not leak into the output
mkdir "$tmp/elsewhere" && cp "$good/multi_a.idl" "$good/multi_b.idl" "$tmp/elsewhere/"
expect 0 "$idlc" --tables "$tmp/q_tables.c" "$tmp/elsewhere/multi_a.idl" "$tmp/elsewhere/multi_b.idl"
cmp -s "$tmp/o_tables.c" "$tmp/q_tables.c" || fail "tables depend on the input's directory"
# a --stubs without --header includes the default name
expect 0 "$idlc" --stubs "$tmp/only_stubs.c" "$good/minimal.idl"
contains "$tmp/only_stubs.c" '#include "redleaf_idl.h"'

# a failing run writes nothing and leaves old outputs alone
echo old >"$tmp/o.h"
expect 1 "$idlc" --header "$tmp/o.h" --stubs "$tmp/new_stubs.c" "$bad/recursion.idl"
[ "$(cat "$tmp/o.h")" = old ] || fail "a failed run replaced the header"
[ -e "$tmp/new_stubs.c" ] && fail "a failed run wrote the stubs"
contains "$tmp/err" 'recursion.idl:5:15: error: '
# an unwritable output: error, status 1, nothing half-written
expect 1 "$idlc" --header "$tmp/no/such/dir/o.h" "$good/minimal.idl"
contains "$tmp/err" "cannot write '$tmp/no/such/dir/o.h'"

# ---- inputs ----
expect 1 "$idlc" --check "$tmp/missing.idl"
contains "$tmp/err" "cannot read '$tmp/missing.idl'"
expect 1 "$idlc" --check "$tmp"
# one bad file among good ones: still status 1
expect 1 "$idlc" --check "$good/minimal.idl" "$bad/syntax.idl"
# a file may be larger than nothing, but not larger than 1 MiB
head -c 1048576 /dev/zero | tr '\0' ' ' >"$tmp/big.idl"
echo 'interface Big { fn f(); }' >>"$tmp/big.idl"
expect 1 "$idlc" --check "$tmp/big.idl"
contains "$tmp/err" 'file is larger than 1048576 bytes'
head -c 1048000 /dev/zero | tr '\0' ' ' >"$tmp/fits.idl"
echo 'interface Fits { fn f(); }' >>"$tmp/fits.idl"
expect 0 "$idlc" --check "$tmp/fits.idl"
# more than 65535 types: 2200 fields of 30 nested rrefs each
awk 'BEGIN {
	printf "struct s {\n";
	for (i = 0; i < 2200; i++) {
		printf "f%d: ", i;
		for (j = 0; j < 30; j++) printf "rref<";
		printf "[u8; %d]", i + 1;
		for (j = 0; j < 30; j++) printf ">";
		printf ";\n";
	}
	printf "}\n";
}' >"$tmp/types.idl"
expect 1 "$idlc" --check "$tmp/types.idl"
contains "$tmp/err" 'error: more than 65535 types'
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "too many types is reported more than once"
# more than 2^18 nested rref entries in the tables
awk 'BEGIN { for (i = 0; i < 40; i++) printf "struct n%d { x: [rref<u8>; 8192]; }\n", i }' >"$tmp/nested.idl"
expect 1 "$idlc" --check "$tmp/nested.idl"
contains "$tmp/err" 'more than 262144 nested rref fields'
# many errors: at most 50 are shown, then a count
awk 'BEGIN { for (i = 0; i < 80; i++) printf "struct e%d { x: nope; }\n", i }' >"$tmp/errors.idl"
expect 1 "$idlc" --check "$tmp/errors.idl"
[ "$(grep -c ': error: ' "$tmp/err")" -eq 50 ] || fail "expected 50 errors shown"
contains "$tmp/err" '30 more errors not shown'

if [ "$fails" -ne 0 ]; then
	echo "$fails failures"
	exit 1
fi
echo "ok"
