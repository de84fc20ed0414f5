#!/bin/sh
# SPDX-License-Identifier: MIT
# /init of the guest that guest.sh boots: loads the VFIO modules, checks that
# redleaf refuses an NVMe controller not bound to vfio-pci and a missing
# device, binds the controller with `redleaf dev bind`, runs the NVMe driver
# domain on it under a verifying client, then kills the driver once under a
# shadow, then for good (bus mastering must be off afterwards), and powers off. Every result is a line "VFIO-..." on the console;
# guest.sh judges them. /rl/config (written by guest.sh) sets ADDR, MISSING,
# ROUNDS, BLOCKS, RUN_SECONDS and MODULES.
export PATH=/bin
export REDLEAF_DOMAIN_PATH=/rl/domains REDLEAF_SOCKET=/tmp/rl.sock

# Domains pivot into a private root, which the kernel refuses on the
# initramfs itself: move everything to a tmpfs first and start again there.
if [ ! -e /.stage2 ]; then
	/bin/busybox mkdir -p /proc /sys /dev /newroot
	/bin/busybox mount -t tmpfs -o size=256m,mode=0755 root /newroot
	for f in /*; do
		case $f in /proc|/sys|/dev|/newroot) ;; *) /bin/busybox cp -a "$f" /newroot/ ;; esac
	done
	/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev
	: > /newroot/.stage2
	exec /bin/busybox switch_root /newroot /init
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /run
. /rl/config

say() { echo "VFIO-$*"; }
finish() {
	say "END"
	sync
	poweroff -f
}
trap finish EXIT

say "BOOTED kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu, uptime $(cut -d' ' -f1 /proc/uptime) s"
for m in $MODULES; do
	insmod "/rl/modules/$m.ko" || { say "FAIL insmod $m"; exit 1; }
done
say "MODULES loaded: $MODULES"
say "IOMMU $(dmesg | grep -c 'DMAR: IOMMU enabled') DMAR lines, $(ls /sys/kernel/iommu_groups | wc -l) groups"
if [ ! -e /sys/bus/pci/devices/$ADDR ]; then
	say "FAIL no PCI device $ADDR"
	ls /sys/bus/pci/devices
	exit 1
fi
say "DEVICE $ADDR driver $(basename "$(readlink /sys/bus/pci/devices/$ADDR/driver)") group $(basename "$(readlink /sys/bus/pci/devices/$ADDR/iommu_group)")"

# run NAME MANIFEST ADDRESS [UNTIL]: redleaf run in the background on the manifest with the config's
# values, until UNTIL ended (default c1; "-": until `redleaf stop`); finish_run waits, $status, /tmp/NAME.log.
run() {
	sed -e "s/@ADDR@/$3/" -e "s/@ROUNDS@/$ROUNDS/" -e "s/@BLOCKS@/$BLOCKS/" -e "s/@RUN_SECONDS@/$RUN_SECONDS/" \
		"/rl/$2" > "/tmp/$1.yaml"
	until=${4:-c1}
	rl_start=$(cut -d' ' -f1 /proc/uptime)
	if [ "$until" = - ]; then
		/rl/redleaf run "/tmp/$1.yaml" > "/tmp/$1.log" 2>&1 &
	else
		/rl/redleaf run --until "$until" "/tmp/$1.yaml" > "/tmp/$1.log" 2>&1 &
	fi
	rl_pid=$!
}
# wait_log NAME PATTERN: until the run's log has PATTERN (60 s at most).
wait_log() {
	i=0
	while [ $i -lt 600 ] && ! grep -q "$2" "/tmp/$1.log"; do
		sleep 0.1
		i=$((i + 1))
	done
}
# The command register as the device has it (sysfs reads the device, not VFIO's view): 1 when bus mastering is on.
bus_master() {
	cmd=$(od -An -tu1 -j4 -N1 "/sys/bus/pci/devices/$ADDR/config" | tr -d ' ')
	echo $(((cmd >> 2) & 1))
}
finish_run() {
	wait "$rl_pid"
	status=$?
	rl_end=$(cut -d' ' -f1 /proc/uptime)
	sed "s/^/[$1] /" "/tmp/$1.log"
}

# 1. Not bound to vfio-pci yet (the kernel's nvme driver has it): refused, saying what to do.
run notbound verify.yaml "$ADDR"
finish_run notbound
if [ "$status" -ne 0 ] && grep -q "not bound to vfio-pci (its driver: nvme); run \`redleaf dev bind $ADDR\` first" /tmp/notbound.log; then
	say "NEG-NOTBOUND ok (status $status)"
else
	say "NEG-NOTBOUND bad (status $status)"
fi

# 2. A PCI address with no device behind it.
run missing verify.yaml "$MISSING"
finish_run missing
if [ "$status" -ne 0 ] && grep -q "device vfio $MISSING: no such PCI device" /tmp/missing.log; then
	say "NEG-MISSING ok (status $status)"
else
	say "NEG-MISSING bad (status $status)"
fi

# 3. Bind it and verify blocks through the driver domain.
/rl/redleaf dev bind "$ADDR" 2>&1 | sed 's/^/[bind] /'
group=$(basename "$(readlink /sys/bus/pci/devices/$ADDR/iommu_group)")
say "BOUND driver $(basename "$(readlink /sys/bus/pci/devices/$ADDR/driver)") /dev/vfio/$group $([ -e /dev/vfio/$group ] && echo present || echo missing)"
run verify verify.yaml "$ADDR"
finish_run verify
verified=$(grep -c "round(s) of $BLOCKS blocks written, read back and verified" /tmp/verify.log)
say "VERIFY status $status verified-lines $verified seconds $(echo "$rl_start $rl_end" | awk '{printf "%.2f", $2 - $1}')"

# 4. The driver killed once under a shadow: the device stops its DMA, the next driver brings it back.
run crash crash.yaml "$ADDR"
# Kill it only once it serves, in the middle of the client's rounds.
wait_log crash "controller .* up"
sleep 1
/rl/redleaf crash nvme 2>&1 | sed 's/^/[crash] /'
finish_run crash
stopped=$(grep -c "bus mastering off on $ADDR (its driver died)" /tmp/crash.log)
reclaimed=$(grep -c "reclaimed.* after its device stopped" /tmp/crash.log)
ups=$(grep -c "controller .* up" /tmp/crash.log)
cverified=$(grep -c "round(s) of $BLOCKS blocks written, read back and verified" /tmp/crash.log)
say "CRASH status $status bus-master-off $stopped reclaimed-after-stop $reclaimed bring-ups $ups verified-lines $cverified"
released=$(grep -c "device vfio $ADDR released" /tmp/crash.log)
say "RELEASED $released"

# 5. The driver killed for good: its device's bus mastering must be off while the broker still holds it.
run dead dead.yaml "$ADDR" -
wait_log dead "controller .* up"
sleep 0.5
before=$(bus_master)
/rl/redleaf crash nvme 2>&1 | sed 's/^/[dead] /'
wait_log dead "nvme: killed by signal KILL"
sleep 0.2
after=$(bus_master)
/rl/redleaf stop 2>&1 | sed 's/^/[dead] /'
finish_run dead
say "DEAD bus-master-before $before bus-master-after $after status $status"
