#!/bin/sh
# SPDX-License-Identifier: MIT
# The NVMe driver domain and the device model the broker starts for it
# (tests/manifests/nvmeblk.yaml):
#   nvme-domain.sh model-kill   a client verifies rounds; the model then
#                               sleeps (at most 3 clock ticks of CPU in 1 s);
#                               the test SIGKILLs it: the broker logs the
#                               death, and a client started afterwards gets
#                               an error from the driver (not a hang), twice;
#                               a driver restarted then serves -ENODEV
#   nvme-domain.sh teardown     the model is gone (reaped) once the broker
#                               has exited, after --until and after a failed
#                               start of a domain
#   nvme-domain.sh file         a namespace in a file: verified rounds, and
#                               the data is in the file afterwards
# Needs $REDLEAF (the redleaf binary) and $REDLEAF_DOMAIN_PATH. The broker
# (and with it, by PDEATHSIG, its domains and models) is ended on every way out.
set -u
. "$(dirname "$0")/lib.sh"
rl_test_setup rl-nvme
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
manifests=$(cd "$(dirname "$0")/manifests" && pwd)
mode=${1:-}
sock=$dir/control.sock
fail=0

die() { echo "FAIL: $*" >&2; cat "$dir/log" >&2; exit 1; }
cli() {
	cmd=$1
	shift
	"$REDLEAF" "$cmd" --socket "$sock" "$@" >&2 || die "redleaf $cmd $*"
}
# wait_log TEXT SECONDS: until the broker's log holds TEXT; fails if the broker exits first.
wait_log() {
	tries=$(($2 * 20))
	until grep -qF -- "$1" "$dir/log"; do
		kill -0 "$pid" 2>/dev/null || die "the broker exited before its log held: $1"
		tries=$((tries - 1))
		[ $tries -gt 0 ] || die "the log never held (in $2 s): $1"
		sleep 0.05
	done
}
# The model's pid, from the broker's line "NAME: device nvme (redleaf-nvme-model, pid N): ...".
model_pid() {
	sed -n 's/.*: device nvme (redleaf-nvme-model, pid \([0-9]*\)).*/\1/p' "$dir/log" | head -n 1
}
# utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat, after the name).
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
# The manifest, with sed expressions applied.
manifest() {
	sed -e "" "$@" "$manifests/nvmeblk.yaml" > "$dir/manifest.yaml"
}
start() {
	"$REDLEAF" run --socket "$sock" "$@" "$dir/manifest.yaml" 2> "$dir/log" &
	pid=$!
}
finish() {
	wait "$pid"
	status=$?
	pid=
	cat "$dir/log" >&2
	[ "$status" -eq "$1" ] || { echo "FAIL: broker exited with $status, expected $1" >&2; fail=1; }
}
# gone PID: the process no longer exists (reaped, not a zombie).
gone() {
	[ ! -e "/proc/$1" ] || { echo "FAIL: the model (pid $1) outlived the broker: $(cat /proc/$1/stat)" >&2; fail=1; }
}

case "$mode" in
model-kill)
	# c2 is started by the test, after the model died.
	manifest -e '$a\
  - name: c2\
    binary: blkclient\
    args: [--rounds, "1", --blocks, "8"]\
    imports: [{name: bdev, iface: BDev, from: nvme}]\
    start: false'
	start
	wait_log "c1: exited with status 0" 60
	model=$(model_pid)
	[ -n "$model" ] || die "no model pid in the log"
	# Only the model (and the broker) hold the device's file: not the driver, not its namespace's init.
	init=$(sed -n 's/.*: nvme: started, pid \([0-9]*\)$/\1/p' "$dir/log" | head -n 1)
	for p in $init $(cat "/proc/$init/task/$init/children" 2>/dev/null); do
		if ls -l "/proc/$p/fd" 2>/dev/null | grep -q "redleaf-device"; then
			echo "FAIL: process $p of the driver domain kept the device's file open" >&2
			fail=1
		fi
	done
	ls -l "/proc/$model/fd" | grep -q "redleaf-device" || { echo "FAIL: the model does not hold its file" >&2; fail=1; }
	sleep 0.3
	t0=$(cpu_ticks "$model")
	sleep 1
	t1=$(cpu_ticks "$model")
	echo "idle model: $((t1 - t0)) clock tick(s) of CPU in 1 s" >&2
	[ $((t1 - t0)) -le 3 ] || { echo "FAIL: the idle model used $((t1 - t0)) ticks in 1 s" >&2; fail=1; }
	kill -KILL "$model"
	wait_log "nvme: its device model (redleaf-nvme-model, pid $model) died: killed by signal KILL" 10
	s0=$(date +%s%N)
	cli restart c2
	wait_log "c2: panic: write of block 0 failed: -" 30
	s1=$(date +%s%N)
	echo "first client after the model died: error after $(((s1 - s0) / 1000000)) ms" >&2
	# The controller is dead now: the next client's call fails at once, with -ENODEV.
	n=$(grep -c "c2: panic:" "$dir/log")
	cli restart c2
	wait_log "c2: panic: write of block 0 failed: -19" 10
	wait_log "[nvme] the controller stopped answering" 10
	# A driver started while its model is gone cannot bring the controller up: it serves -ENODEV.
	cli crash nvme
	wait_log "nvme: killed by signal KILL" 10
	cli restart nvme
	wait_log "[nvme] cannot bring the controller up" 20
	cli restart c2
	wait_log "c2: panic: nblocks failed: -19" 10
	s2=$(date +%s%N)
	echo "second client: -ENODEV after $(((s2 - s1) / 1000000)) ms" >&2
	cli ps
	cli stop
	finish 0
	gone "$model"
	;;
teardown)
	manifest
	start --until c1
	wait_log "c1: exited with status 0" 60
	model=$(model_pid)
	finish 0
	[ -n "$model" ] || { echo "FAIL: no model pid in the log" >&2; exit 1; }
	grep -q "nvme: device model (redleaf-nvme-model, pid $model) ended with the system" "$dir/log" ||
		{ echo "FAIL: the broker did not end the model" >&2; fail=1; }
	gone "$model"
	# A domain that cannot start after the model started (a binary the kernel will not exec): the
	# error path ends the model too.
	printf 'not a program\n' > "$dir/garbage"
	chmod +x "$dir/garbage"
	manifest -e "s|binary: blkclient|binary: $dir/garbage|"
	start
	finish 1
	model=$(model_pid)
	[ -n "$model" ] || { echo "FAIL: the model did not start before the failing domain" >&2; exit 1; }
	grep -q "cannot start domain 'c1'" "$dir/log" || { echo "FAIL: no reason for the failed start" >&2; fail=1; }
	grep -q "nvme: device model (redleaf-nvme-model, pid $model) ended with the system" "$dir/log" ||
		{ echo "FAIL: the broker did not end the model on its error path" >&2; fail=1; }
	gone "$model"
	# A namespace file that is not whole 4 KiB blocks: the broker says so and stops.
	head -c 5000 /dev/zero > "$dir/odd.img"
	manifest -e "s|blocks: 16384, block_size: 512|file: $dir/odd.img|"
	start
	finish 1
	grep -q "nvme: device file '$dir/odd.img' is not a regular file of whole 4 KiB blocks (it has 5000 bytes)" \
		"$dir/log" || { echo "FAIL: no reason for the odd file" >&2; fail=1; }
	# A device file that does not exist.
	manifest -e 's|blocks: 16384, block_size: 512|file: no-such-file.img|'
	start
	finish 1
	grep -q "nvme: cannot open device file '.*no-such-file.img': No such file or directory" "$dir/log" ||
		{ echo "FAIL: no reason for the missing file" >&2; fail=1; }
	;;
file)
	truncate -s 4M "$dir/disk.img"
	manifest -e "s|blocks: 16384, block_size: 512|file: $dir/disk.img, block_size: 4096|"
	start --until c1
	finish 0
	grep -q "namespace in $dir/disk.img, 4096-byte blocks" "$dir/log" || { echo "FAIL: no file namespace" >&2; fail=1; }
	grep -q "c1\] 3 round(s) of 512 blocks written, read back and verified" "$dir/log" ||
		{ echo "FAIL: the client did not verify its rounds" >&2; fail=1; }
	# 512 blocks of 4 KiB were written: the first 2 MiB of the file are not zeros any more.
	if cmp -s -n 2097152 "$dir/disk.img" /dev/zero; then
		echo "FAIL: nothing was written to the file" >&2
		fail=1
	fi
	;;
*)
	echo "usage: nvme-domain.sh model-kill|teardown|file" >&2
	exit 2
	;;
esac
exit $fail
