#!/bin/sh
# SPDX-License-Identifier: MIT
# `redleaf dev list|bind|unbind` against a made-up sysfs tree
# ($REDLEAF_SYSFS): an NVMe controller bound to nvme in IOMMU group 7, an
# 82599 port with no driver and no IOMMU group, and a device we do not
# drive. A small stand-in for the kernel reads the BDFs written to
# drivers_probe (a FIFO) and binds each to its driver_override, or to nvme
# when that is empty. Checks what is listed, every refusal and its message,
# what bind and unbind write, and that they wait for the binding.
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
dir=$(mktemp -d /tmp/rl-dev.XXXXXX)
kernel=
cleanup() {
	[ -n "$kernel" ] && kill "$kernel" 2> /dev/null && wait "$kernel" 2> /dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
sys=$dir/sys
pci=$sys/bus/pci
mkdir -p "$pci/devices" "$pci/drivers/nvme" "$sys/kernel/iommu_groups/7"
: > "$pci/drivers/nvme/unbind"
device() { # BDF CLASS VENDOR DEVICE
	mkdir "$pci/devices/$1"
	echo "$2" > "$pci/devices/$1/class"
	echo "$3" > "$pci/devices/$1/vendor"
	echo "$4" > "$pci/devices/$1/device"
	echo 0 > "$pci/devices/$1/numa_node"
	: > "$pci/devices/$1/driver_override"
}
device 0000:03:00.0 0x010802 0x144d 0xa808
ln -s ../../drivers/nvme "$pci/devices/0000:03:00.0/driver"
ln -s ../../../../kernel/iommu_groups/7 "$pci/devices/0000:03:00.0/iommu_group"
device 0000:04:00.0 0x020000 0x8086 0x10fb
device 0000:00:01.0 0xffff00 0x1af4 0x1045
mkfifo "$pci/drivers_probe"
(
	while :; do
		# Opening the FIFO waits for a writer; what it writes has no newline, as sysfs takes it.
		bdf=
		read -r bdf < "$pci/drivers_probe"
		[ -n "$bdf" ] || continue
		override=$(cat "$pci/devices/$bdf/driver_override")
		ln -sfn "../../drivers/${override:-nvme}" "$pci/devices/$bdf/driver"
	done
) &
kernel=$!
export REDLEAF_SYSFS="$sys"

# expect STATUS PATTERN ARGS...: exit STATUS and PATTERN in its output (stdout and stderr).
expect() {
	want=$1 pattern=$2
	shift 2
	"$REDLEAF" "$@" > "$dir/out" 2>&1 < /dev/null
	got=$?
	[ "$got" -eq "$want" ] && grep -qE -- "$pattern" "$dir/out" ||
		fail "redleaf $*: status $got (want $want): $(cat "$dir/out")"
}

expect 0 '^0000:03:00.0 +nvme +144d:a808 +nvme +7 +0$' dev list
expect 0 '^0000:04:00.0 +82599 +8086:10fb +- +- +0$' dev list
grep -q 0000:00:01.0 "$dir/out" && fail "dev list shows a device that is neither NVMe nor 82599"
"$REDLEAF" dev list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)["devices"]
assert [x["bdf"] for x in d] == ["0000:03:00.0", "0000:04:00.0"], d
assert d[0]["driver"] == "nvme" and d[0]["iommu_group"] == "7" and d[1]["kind"] == "82599", d
' || fail "dev list --json"

expect 1 '0000:04:00.0 has no IOMMU group: the IOMMU is off' dev bind 0000:04:00.0
expect 1 'neither an NVMe controller nor an Intel 82599 port' dev bind 0000:00:01.0
expect 1 'no PCI device 0000:09:00.0' dev bind 0000:09:00.0
expect 2 "'../x' is not a PCI address" dev bind ../x
expect 1 'the vfio-pci driver is not loaded' dev bind 0000:03:00.0
expect 1 'is not bound to vfio-pci \(its driver is nvme\)' dev unbind 0000:03:00.0
expect 2 'needs list, bind BDF or unbind BDF' dev
expect 2 "no subcommand 'frob'" dev frob
expect 2 'bind needs exactly one PCI address' dev bind
expect 2 "list takes no argument, not 'x'" dev list x
expect 2 'json goes with list only' dev --json bind 0000:03:00.0

mkdir "$pci/drivers/vfio-pci"
: > "$pci/drivers/vfio-pci/unbind"
expect 0 '0000:03:00.0 \(nvme\) bound to vfio-pci: /dev/vfio/7' dev bind 0000:03:00.0
[ "$(cat "$pci/devices/0000:03:00.0/driver_override")" = vfio-pci ] || fail "driver_override is not vfio-pci"
[ "$(cat "$pci/drivers/nvme/unbind")" = 0000:03:00.0 ] || fail "nvme was not told to unbind 0000:03:00.0"
expect 0 'bound to vfio-pci already' dev bind 0000:03:00.0
expect 0 '0000:03:00.0 \(nvme\) released from vfio-pci; its driver is now nvme' dev unbind 0000:03:00.0
[ "$(cat "$pci/drivers/vfio-pci/unbind")" = 0000:03:00.0 ] || fail "vfio-pci was not told to unbind 0000:03:00.0"
echo "dev-cli: list, bind, unbind and 11 refusals checked against a made-up sysfs"
