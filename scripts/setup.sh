#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what redleaf-lx needs on Debian 12 (only what is missing) and
# configures and builds it. Idempotent. Sourced by demo.sh and test.sh.
#   BUILD   build folder (default: build)
#   any arguments are passed to `meson setup`
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}

# What the build, the tests and the benchmarks' plots use (README, "Dependencies").
packages="meson ninja-build gcc pkg-config libseccomp-dev libyaml-dev liburing-dev gnuplot-nox python3"
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: missing packages:$missing; run this as root (sudo) to install them" >&2
		exit 1
	fi
	echo "setup: installing$missing"
	. "$top/scripts/apt.sh"
	if ! apt_update 60; then
		echo "setup: apt-get update kept failing for 10 minutes; see its messages above" >&2
		exit 1
	fi
	# shellcheck disable=SC2086
	apt_install $missing
fi

cd "$top"
opts="$*"
[ "${CI:-}" = true ] && opts="$opts -Dwerror=true"
if [ -f "$BUILD/build.ninja" ]; then
	# shellcheck disable=SC2086
	meson setup --reconfigure "$BUILD" $opts >/dev/null
else
	# shellcheck disable=SC2086
	meson setup "$BUILD" $opts >/dev/null
fi
ninja -C "$BUILD" >/dev/null
echo "setup: built redleaf-lx in $top/$BUILD"
