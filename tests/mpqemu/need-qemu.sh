#!/bin/sh
# SPDX-License-Identifier: MIT
# Makes sure QEMU's x86 system emulator (Debian 12: QEMU 7.2, package
# qemu-system-x86) is installed, installing it with apt-get when it is not.
# Idempotent. Exit 0: QEMU is there. Exit 77 (a test skip) with a reason only
# when it truly cannot be had: not root and missing, or apt cannot reach a
# mirror. Any other apt failure is an error (exit 1), not a skip.
#   QEMU   the binary to look for (default qemu-system-x86_64)
set -u
qemu=${QEMU:-qemu-system-x86_64}
package=qemu-system-x86

command -v "$qemu" >/dev/null 2>&1 && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "need-qemu: $qemu is missing and only root can install it (apt-get install $package)" >&2
	exit 77
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "need-qemu: $qemu is missing and there is no apt-get to install $package with" >&2
	exit 77
fi

# The tests run this in parallel: one installs, the others wait for it and
# then find QEMU there.
if [ -z "${NEED_QEMU_LOCKED:-}" ] && [ -w /run/lock ] && command -v flock >/dev/null 2>&1; then
	NEED_QEMU_LOCKED=1 exec flock /run/lock/redleaf-need-qemu.lock "$0" "$@"
fi
command -v "$qemu" >/dev/null 2>&1 && exit 0

. "$(dirname "$0")/../../scripts/apt.sh"
if ! apt_update 6; then
	echo "need-qemu: apt-get update kept failing (no mirror reachable?); cannot install $package" >&2
	exit 77
fi
if ! apt_install $package; then
	# A package that cannot be downloaded is a missing mirror, not our bug.
	# shellcheck disable=SC2086
	if ! apt-get $apt_wait_lock install -y -qq --no-install-recommends --download-only $package >/dev/null 2>&1; then
		echo "need-qemu: $package could not be downloaded (no mirror reachable?)" >&2
		exit 77
	fi
	echo "need-qemu: apt-get install $package failed; see its messages above" >&2
	exit 1
fi
if ! command -v "$qemu" >/dev/null 2>&1; then
	echo "need-qemu: installed $package but $qemu is still not on PATH" >&2
	exit 1
fi
echo "need-qemu: installed $package ($("$qemu" --version | head -n 1))" >&2
exit 0
