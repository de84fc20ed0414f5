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

# For tests that run a system from private copies, maybe as nobody:
#   rl_system_dir [--as-nobody] NAME...
# after rl_test_setup: defines fail() (the broker's log from $dir/log comes
# with the message), sets $as_user to a command prefix that runs as nobody
# with --as-nobody (a plain prefix, not a function, so that $! of a
# background broker is the broker itself) or to nothing, and puts redleaf
# and the named domains from REDLEAF_DOMAIN_PATH in $dir/bin, with $dir/run
# writable by nobody for the control socket. Exits 77 for --as-nobody when
# not root.
fail() {
	echo "FAIL: $*" >&2
	echo "--- broker log ---" >&2
	cat "$dir/log" >&2 2>/dev/null
	exit 1
}

rl_system_dir() {
	as_user=
	if [ "${1:-}" = --as-nobody ]; then
		shift
		[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to run a system as nobody" >&2; exit 77; }
		command -v setpriv > /dev/null || fail "setpriv (util-linux) is missing"
		as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
	fi
	chmod 0755 "$dir"
	mkdir "$dir/bin" "$dir/run"
	chown 65534:65534 "$dir/run"
	cp "$REDLEAF" "$dir/bin/redleaf"
	for name in "$@"; do
		for d in $(printf '%s' "$REDLEAF_DOMAIN_PATH" | tr ':' ' '); do
			[ -x "$d/$name" ] && [ ! -e "$dir/bin/$name" ] && cp "$d/$name" "$dir/bin/$name"
		done
		[ -x "$dir/bin/$name" ] || fail "no $name domain on REDLEAF_DOMAIN_PATH"
	done
}

# rl_wait_log TEXT [N]: waits (at most 30 s, while the broker $pid lives) until
# $dir/log holds at least N (default 1) lines containing TEXT.
rl_wait_log() {
	tries=0
	until [ "$(grep -cF -- "$1" "$dir/log")" -ge "${2:-1}" ]; do
		tries=$((tries + 1))
		[ $tries -ge 600 ] && fail "fewer than ${2:-1} line(s) with '$1' in 30 s"
		kill -0 "$pid" 2> /dev/null || fail "the broker ended before ${2:-1} line(s) with '$1'"
		sleep 0.05
	done
}

# rl_cli COMMAND ARGS...: `redleaf COMMAND` against the system rl_system_dir set up ($dir/run/s).
rl_cli() {
	cmd=$1
	shift
	"$dir/bin/redleaf" "$cmd" --socket "$dir/run/s" "$@"
}
