#!/bin/sh
# SPDX-License-Identifier: MIT
# redleaf-nvme-model's command line: --help, and a clear error (exit 2) for
# each kind of bad argument, never a crash or a silent start.
set -u
M=${NVME_MODEL:?NVME_MODEL names the model program}
fail=0

expect() { # expect STATUS PATTERN ARGS...
	want=$1 pattern=$2
	shift 2
	out=$("$M" "$@" 2>&1 9<&- 8<&-)
	got=$?
	if [ "$got" != "$want" ] || ! printf '%s\n' "$out" | grep -q -- "$pattern"; then
		echo "FAIL: redleaf-nvme-model $*: status $got (want $want), output:"
		printf '%s\n' "$out" | sed 's/^/    /'
		fail=1
	fi
}

expect 0 'usage: redleaf-nvme-model' --help
expect 2 '--bar-fd is required' --dma 0@0x300000000000
expect 2 'at least one --dma' --bar-fd 0
expect 2 'unknown option' --bar-fd 0 --dma 0@0x300000000000 --frobnicate
expect 2 'expected FD@ADDRESS' --bar-fd 0 --dma 0
expect 2 'not a non-zero multiple of 4096' --bar-fd 0 --dma 0@0x300000000001
expect 2 'descriptor 77 is not open' --bar-fd 77 --dma 0@0x300000000000
expect 2 "'x12' is not a number" --bar-fd x12 --dma 0@0x300000000000
expect 2 'not 512, 1024, 2048 or 4096' --bar-fd 0 --dma 0@0x300000000000 --lba-size 1000
expect 2 "--mdts: '11' is not a number in 0..10" --bar-fd 0 --dma 0@0x300000000000 --mdts 11
expect 2 "'-5' is not a number" --bar-fd 0 --dma 0@0x300000000000 --dstrd -5
expect 2 'is not a size' --bar-fd 0 --dma 0@0x300000000000 --ram 12Q
expect 2 'longer than 20 characters' --bar-fd 0 --dma 0@0x300000000000 --serial 123456789012345678901
expect 2 "unexpected argument 'extra'" --bar-fd 0 --dma 0@0x300000000000 extra
expect 1 "cannot open '/nonexistent/x'" --bar-fd 0 --dma 0@0x300000000000 --backing /nonexistent/x
# Well-formed but unusable: the descriptors are not memfds it can map.
expect 1 'MDTS must be 1..10' --bar-fd 0 --dma 0@0x300000000000 --mdts 0
expect 1 'cannot map a DMA region' --bar-fd 0 --dma 0@0x300000000000 </dev/null
exit $fail
