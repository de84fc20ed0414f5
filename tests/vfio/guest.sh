#!/bin/sh
# SPDX-License-Identifier: MIT
# The vfio-pci back end under a real kernel's VFIO and IOMMU, in an emulated
# guest (docs/storage.md, "vfio-pci back end"; /work/shared/DEVICES.md 2):
# QEMU (TCG, q35, an emulated Intel IOMMU) boots Debian's cloud kernel with
# a busybox initramfs that holds this build's redleaf, its domains and their
# shared libraries, and the VFIO modules; QEMU's NVMe controller sits on a
# raw image file. The guest's /init (init.sh) checks two refusals, binds the
# controller to vfio-pci, verifies blocks through the NVMe driver domain,
# kills the driver once behind a shadow, kills it for good and reads the
# command register (bus mastering must be off), and powers off. This script then
# judges the console's VFIO-* lines and checks that the client's last round
# is in the image file, where only DMA through the IOMMU can have put it.
#
# As root it installs QEMU when missing (need-qemu.sh); busybox-static and
# the kernel package are downloaded with apt-get and unpacked into a cache
# under the build folder ($VFIO_CACHE). Exit 77 only when QEMU cannot run.
#   REDLEAF      the redleaf binary of the build under test (required)
#   VFIO_LIMIT   seconds the guest may take (default 400)
#   VFIO_KEEP    keep the work folder (console log, initramfs, image)
#   VFIO_AW_BITS the emulated IOMMU's address width (default 48; 39 shows the broker's refusal)
set -u
: "${REDLEAF:?REDLEAF must name the redleaf binary}"
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "$(dirname "$REDLEAF")/.." && pwd)
cache=${VFIO_CACHE:-$build/tests/vfio/cache}
limit=${VFIO_LIMIT:-400}
qemu=${QEMU:-qemu-system-x86_64}
ADDR=0000:00:03.0     # where QEMU puts the controller (-device nvme,addr=3)
MISSING=0000:00:1d.7  # no device there on q35 without USB
ROUNDS=3 BLOCKS=256 RUN_SECONDS=4
MODULES="irqbypass vfio vfio_virqfd vfio_iommu_type1 vfio-pci-core vfio-pci" # in dependency order

work=$(mktemp -d /tmp/rl-vfio.XXXXXX)
qemu_pid=
cleanup() {
	if [ -n "$qemu_pid" ]; then
		kill -9 "$qemu_pid" 2> /dev/null
		wait "$qemu_pid" 2> /dev/null
	fi
	if [ -n "${VFIO_KEEP:-}" ]; then echo "guest.sh: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
note() { echo "guest.sh: $*"; }

# ---- what the guest needs ----
sh "$top/tests/mpqemu/need-qemu.sh" || exit $?
if ! "$qemu" -machine q35 -accel tcg -device intel-iommu,help > /dev/null 2>&1; then
	echo "SKIP: $qemu cannot run an emulated q35 with an Intel IOMMU here" >&2
	exit 77
fi
mkdir -p "$cache" || fail "cannot make the cache folder $cache"
# One download at a time; a second test run waits and finds the cache filled.
exec 9> "$cache/.lock"
flock 9
if [ ! -x "$cache/busybox/bin/busybox" ]; then
	(cd "$cache" && rm -f busybox-static_*.deb && apt-get download -q busybox-static > /dev/null 2>&1) ||
		fail "cannot download busybox-static with apt-get download"
	dpkg-deb -x "$cache"/busybox-static_*.deb "$cache/busybox" || fail "cannot unpack busybox-static"
	rm -f "$cache"/busybox-static_*.deb
	note "downloaded busybox-static into $cache"
fi
kernel=$(ls "$cache"/kernel/boot/vmlinuz-* 2> /dev/null | head -n 1)
if [ -z "$kernel" ]; then
	# The metapackage names the real image package; that is the one to download.
	pkg=$(apt-cache depends linux-image-cloud-amd64 2> /dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
	[ -n "$pkg" ] || fail "apt-cache knows no linux-image-cloud-amd64 (apt-get update?)"
	(cd "$cache" && rm -f linux-image-*.deb && apt-get download -q "$pkg" > /dev/null 2>&1) ||
		fail "cannot download $pkg with apt-get download"
	dpkg-deb -x "$cache"/linux-image-*.deb "$cache/kernel" || fail "cannot unpack $pkg"
	rm -f "$cache"/linux-image-*.deb
	kernel=$(ls "$cache"/kernel/boot/vmlinuz-* | head -n 1)
	note "downloaded $pkg into $cache"
fi
flock -u 9
release=${kernel##*/vmlinuz-}
modules=$cache/kernel/lib/modules/$release/kernel
busybox=$cache/busybox/bin/busybox

# ---- the initramfs ----
root=$work/root
mkdir -p "$root/bin" "$root/rl/domains" "$root/rl/modules" "$root/tmp" || fail "cannot make $root"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
cp "$REDLEAF" "$root/rl/redleaf"
for d in nvmedrv blkclient shadow; do
	cp "$build/domains/$d" "$root/rl/domains/$d" || fail "no domain $d in $build/domains"
done
# Their shared libraries, at the paths the loader looks in (the broker binds /lib, /lib64 and /usr/lib into domains).
for bin in "$root/rl/redleaf" "$root"/rl/domains/*; do
	ldd "$bin" | awk '/=> \// { print $3 } /^\t\/[^ ]* \(/ { print $1 }'
done | sort -u > "$work/libs"
while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib" || fail "cannot copy $lib"
done < "$work/libs"
for m in $MODULES; do
	ko=$(find "$modules" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n 1)
	[ -n "$ko" ] || fail "module $m is not in $modules"
	case $ko in
	*.xz) xz -dc "$ko" > "$root/rl/modules/$m.ko" ;;
	*.zst) zstd -qdc "$ko" > "$root/rl/modules/$m.ko" ;;
	*) cp "$ko" "$root/rl/modules/$m.ko" ;;
	esac || fail "cannot unpack module $ko"
done
cp "$here/init.sh" "$root/init" && chmod 755 "$root/init"
cp "$here/verify.yaml" "$here/crash.yaml" "$here/dead.yaml" "$root/rl/"
cat > "$root/rl/config" << EOF
ADDR=$ADDR
MISSING=$MISSING
ROUNDS=$ROUNDS
BLOCKS=$BLOCKS
RUN_SECONDS=$RUN_SECONDS
MODULES="$MODULES"
EOF
(cd "$root" && find . | "$busybox" cpio -o -H newc 2> /dev/null) | gzip -1 > "$work/initrd.gz" ||
	fail "cannot pack the initramfs"
note "initramfs: $(wc -c < "$work/initrd.gz") bytes, kernel $release, $(wc -l < "$work/libs") shared libraries"

# ---- the guest ----
img=$work/disk.img
truncate -s 64M "$img"
start=$(date +%s.%N)
"$qemu" -machine q35,kernel-irqchip=split -accel tcg -m 512 -smp 1 -nographic -no-reboot -net none \
	-device intel-iommu,intremap=on,caching-mode=on,aw-bits=${VFIO_AW_BITS:-48} \
	-kernel "$kernel" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 intel_iommu=on iommu=pt quiet panic=-1" \
	-drive id=n0,if=none,format=raw,file="$img" -device nvme,serial=rlvfio,drive=n0,addr=03.0 \
	< /dev/null > "$work/console.raw" 2>&1 &
qemu_pid=$!
waited=0
while kill -0 "$qemu_pid" 2> /dev/null; do
	if [ "$waited" -ge "$limit" ]; then
		kill -9 "$qemu_pid" 2> /dev/null
		note "the guest did not power off within $limit s; killed QEMU"
		break
	fi
	sleep 1
	waited=$((waited + 1))
done
wait "$qemu_pid"
qemu_status=$?
qemu_pid=
end=$(date +%s.%N)
# Without the firmware's terminal controls, which share a line with the first one of init.
esc=$(printf '\033')
tr -d '\r' < "$work/console.raw" | sed "s/${esc}\[[0-9;?]*[A-Za-z]//g; s/${esc}c//g" > "$work/console"
note "QEMU ended with status $qemu_status after $(echo "$start $end" | awk '{ printf "%.1f", $2 - $1 }') s wall; the guest said:"
grep -E '^(VFIO-|\[(notbound|missing|bind|verify|crash|dead)\])' "$work/console" | sed 's/^/  /'

# ---- judging ----
line() { grep "^VFIO-$1" "$work/console" | tail -n 1; }
[ -n "$(line BOOTED)" ] || { sed 's/^/  console: /' "$work/console" | tail -n 40; fail "the guest never reached its init"; }
[ -n "$(line 'MODULES loaded')" ] || fail "the VFIO modules did not load"
line NEG-NOTBOUND | grep -q " ok " || fail "a controller still bound to nvme was not refused with 'run redleaf dev bind'"
line NEG-MISSING | grep -q " ok " || fail "a PCI address without a device was not refused with 'no such PCI device'"
line BOUND | grep -q "driver vfio-pci .* present" || fail "redleaf dev bind did not hand the controller to vfio-pci"
set -- $(line VERIFY)
[ "${3:-}" = 0 ] && [ "${5:-}" = 1 ] || fail "the verifying run failed: $(line VERIFY)"
verify_s=${7:-?}
set -- $(line CRASH)
[ "${3:-}" = 0 ] || fail "the run with a driver crash failed: $(line CRASH)"
[ "${5:-0}" -ge 1 ] || fail "the broker did not turn bus mastering off when the driver died: $(line CRASH)"
[ "${7:-0}" -ge 1 ] || fail "the dead driver's objects were not reclaimed after its device stopped: $(line CRASH)"
[ "${9:-0}" -ge 2 ] || fail "the restarted driver did not bring the controller up again: $(line CRASH)"
[ "${11:-0}" = 1 ] || fail "the client behind the shadow did not verify its rounds: $(line CRASH)"
line RELEASED | grep -q "RELEASED [1-9]" || fail "the broker did not release the device at teardown"
set -- $(line DEAD)
[ "${3:-}" = 1 ] || fail "bus mastering was not on while the driver ran: $(line DEAD)"
[ "${5:-}" = 0 ] || fail "bus mastering stayed on after the driver died for good: $(line DEAD)"
[ -n "$(line END)" ] || fail "the guest did not finish"
# A sanitizer build's findings in the broker or a domain fail the test even when the runs succeeded.
! grep -qE "runtime error:|ERROR: (Address|Undefined|Leak)Sanitizer" "$work/console" ||
	fail "a sanitizer reported an error in the guest: $(grep -m1 -E 'runtime error:|ERROR: [A-Za-z]*Sanitizer' "$work/console")"

# blkclient's pattern (domains/apps/blkclient) for its last round, at each block's place in the image.
python3 - "$img" "$ROUNDS" "$BLOCKS" << 'EOF' || fail "the image file does not hold the client's last round"
import struct, sys
img, rounds, blocks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
M = (1 << 64) - 1
def pattern(block, rnd):
    x = ((block << 32) ^ (rnd * 0x9e3779b97f4a7c15)) & M
    out = bytearray()
    for _ in range(4096 // 8):
        x ^= (x << 13) & M
        x ^= x >> 7
        x ^= (x << 17) & M
        out += struct.pack('<Q', x)
    return bytes(out)
with open(img, 'rb') as f:
    for b in range(blocks):
        f.seek(b * 4096)
        if f.read(4096) != pattern(b, rounds - 1):
            sys.exit('block %d does not hold round %d' % (b, rounds - 1))
print('guest.sh: the image holds round %d of all %d blocks' % (rounds - 1, blocks))
EOF
note "PASS: refusals, bind, $ROUNDS verified rounds of $BLOCKS blocks in ${verify_s} s guest time, a driver crash with DMA stopped and recovered, bus mastering off after a driver's death"
exit 0
