# SPDX-License-Identifier: MIT
# Sourced by the test scripts that start a broker themselves:
#   rl_test_setup PREFIX
# makes a private temporary folder in $dir and sets $pid empty; put the
# background broker's process id in $pid. On every way out (EXIT, INT,
# TERM) the broker is ended and the folder removed.
rl_test_cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}

rl_test_setup() {
	dir=$(mktemp -d "/tmp/$1.XXXXXX")
	pid=
	trap rl_test_cleanup EXIT
	trap 'exit 1' INT TERM
}
