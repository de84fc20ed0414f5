#!/bin/sh
# SPDX-License-Identifier: MIT
# Stands in for QEMU in tests/mpqemu/test-errors.c: with FAKE_QEMU_MODE=hang
# it never answers (the back end must time out and kill it), otherwise it
# complains on stderr and exits 3 (the back end must quote both).
case "${FAKE_QEMU_MODE:-fail}" in
hang) exec sleep 60 ;;
*)
	echo "fake-qemu: simulated failure to start" >&2
	exit 3
	;;
esac
