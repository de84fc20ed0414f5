#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what is missing, builds, and runs every test suite.
#   scripts/test.sh            plain build in build/
#   scripts/test.sh --asan     ASan/UBSan build in build-asan/
# Exit status: 0 when every test passed or skipped.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --asan ]; then
	export BUILD=build-asan
	sh "$top/scripts/setup.sh" -Db_sanitize=address,undefined -Db_lundef=false
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
else
	export BUILD=build
	sh "$top/scripts/setup.sh"
fi
cd "$top"
# The soak suite runs for minutes; run it by hand: meson test -C build --suite soak
meson test -C "$BUILD" --print-errorlogs --num-processes 2 --no-suite soak
