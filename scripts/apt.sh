# SPDX-License-Identifier: MIT
# Sourced by scripts/setup.sh and tests/mpqemu/need-qemu.sh: apt-get that
# waits for another package manager (an unattended upgrade, a second shell,
# a parallel test) instead of failing.
export DEBIAN_FRONTEND=noninteractive
apt_wait_lock="-o DPkg::Lock::Timeout=600"

# apt_update TRIES: `apt-get update`, tried up to TRIES times 10 s apart; 1 if it never succeeded.
apt_update() {
	tries=0
	# shellcheck disable=SC2086
	until apt-get $apt_wait_lock update -qq; do
		tries=$((tries + 1))
		[ $tries -ge "$1" ] && return 1
		echo "apt: apt-get update failed (another package manager running, or no mirror?); trying again in 10 s" >&2
		sleep 10
	done
}

# apt_install PACKAGE...: quietly, without recommends.
apt_install() {
	# shellcheck disable=SC2086
	apt-get $apt_wait_lock install -y -qq --no-install-recommends "$@" >/dev/null
}
