#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs redleaf-idlc --check on inputs that must be rejected and compares its
# stderr with a golden file. Runs inside DIR with relative file names, so the
# file:line:col prefixes do not depend on where the tree is checked out.
# usage: run-bad.sh IDLC DIR EXPECTED.err FILE.idl...
set -u
if [ $# -lt 4 ]; then
	echo "usage: $0 IDLC DIR EXPECTED.err FILE.idl..." >&2
	exit 1
fi
idlc=$1 dir=$2 expected=$3
shift 3
cd "$dir" || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

"$idlc" --check "$@" >"$tmp/stdout" 2>"$tmp/stderr"
status=$?
fail=0
if [ "$status" -ne 1 ]; then
	echo "FAIL: exit status $status, expected 1"
	fail=1
fi
if [ -s "$tmp/stdout" ]; then
	echo "FAIL: unexpected output on stdout:"
	cat "$tmp/stdout"
	fail=1
fi
if ! diff -u "$expected" "$tmp/stderr"; then
	echo "FAIL: stderr differs from $dir/$expected"
	fail=1
fi
exit $fail
