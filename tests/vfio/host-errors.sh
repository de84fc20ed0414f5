#!/bin/sh
# SPDX-License-Identifier: MIT
# What `redleaf run` says when a manifest's vfio device cannot be had, on
# the host, against a made-up sysfs tree ($REDLEAF_SYSFS, as for `redleaf
# dev`): no such device, no IOMMU group, bound to nvme, bound to no driver,
# and (bound to vfio-pci in the made-up tree) the real /dev/vfio it then
# opens. Each must end `redleaf run` with a non-zero status, one clear line,
# and no domain started. The guest test (guest.sh) checks the same refusal
# against a real kernel.
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/rl-vfio-host.XXXXXX)
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
pci=$dir/sys/bus/pci
mkdir -p "$pci/devices" "$pci/drivers/nvme" "$pci/drivers/vfio-pci" "$dir/sys/kernel/iommu_groups/7"
device() { # BDF DRIVER|- GROUP|-
	mkdir -p "$pci/devices/$1"
	[ "$2" = - ] || ln -s "../../drivers/$2" "$pci/devices/$1/driver"
	[ "$3" = - ] || ln -s "../../../../kernel/iommu_groups/$3" "$pci/devices/$1/iommu_group"
}
device 0000:01:00.0 nvme 7
device 0000:02:00.0 - 7
device 0000:03:00.0 vfio-pci -
device 0000:04:00.0 vfio-pci 7
export REDLEAF_SYSFS="$dir/sys"

# expect ADDRESS PATTERN: redleaf run refuses a driver of that device, saying PATTERN.
expect() {
	sed "s/@ADDR@/$1/; s/@ROUNDS@/1/; s/@BLOCKS@/8/" "$here/verify.yaml" > "$dir/m.yaml"
	"$REDLEAF" run --socket "$dir/sock" --until c1 "$dir/m.yaml" > "$dir/out" 2>&1 < /dev/null
	status=$?
	sed 's/^/  | /' "$dir/out"
	[ "$status" -ne 0 ] || fail "$1: redleaf run succeeded"
	grep -qF -- "$2" "$dir/out" || fail "$1: no line saying: $2"
	! grep -q ": started, pid" "$dir/out" || fail "$1: a domain started although its device is missing"
	echo "ok: $1 refused (status $status): $2"
}
expect 0000:09:00.0 "redleaf: domain 'nvme': device vfio 0000:09:00.0: no such PCI device ($dir/sys/bus/pci/devices/0000:09:00.0 is missing"
expect 0000:03:00.0 "device vfio 0000:03:00.0: it is in no IOMMU group: the IOMMU is off (boot with intel_iommu=on or amd_iommu=on)"
expect 0000:01:00.0 "device vfio 0000:01:00.0: it is not bound to vfio-pci (its driver: nvme); run \`redleaf dev bind 0000:01:00.0\` first"
expect 0000:02:00.0 "device vfio 0000:02:00.0: it is not bound to vfio-pci (its driver: no driver); run \`redleaf dev bind 0000:02:00.0\` first"
if [ -e /dev/vfio/vfio ]; then
	expect 0000:04:00.0 "device vfio 0000:04:00.0: cannot open /dev/vfio/7"
else
	expect 0000:04:00.0 "device vfio 0000:04:00.0: cannot open /dev/vfio/vfio: No such file or directory (load the vfio-pci module: modprobe vfio-pci)"
fi
# A malformed address never reaches the broker's checks.
expect 0000:4:00.0 "device vfio must be a PCI address DOMAIN:BUS:DEVICE.FUNCTION like 0000:00:03.0"
echo "all refusals clear"
