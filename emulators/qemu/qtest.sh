#!/bin/bash
# make qemu-qtest: the series' qtest (tests/qtest/s390x-zpci-test, patch
# 0011) on QEMU 10.2 with the series, built for this host with libzpci
# (emulators/qemu/build.sh --native: cached by its inputs; a fresh build
# runs the qtest once through QEMU's `meson test` before it is cached),
# then run here with the cached binaries.  Prints each phase's time and the
# qtest's TAP result (the log goes to $BUILD/qemu-qtest/qtest.log), and
# what QEMU's checkpatch.pl said on the series when it was built.
#
#   emulators/qemu/qtest.sh [--without-zpci] [--jobs N]
#
# --without-zpci: the same series without libzpci (the qtest must pass
# there too: nothing it checks may depend on the library).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
LOGDIR=$BUILD/qemu-qtest
QTEST=s390x-zpci-test
log() { printf '[qemu-qtest %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[qemu-qtest] ERROR: %s\n' "$*" >&2; exit 1; }
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

mkdir -p "$LOGDIR"
t0=$(date +%s.%N)
BIN=$(nice -n 10 "$HERE/build.sh" --native "$@") || die "the native QEMU build failed"
t_build=$(secs "$t0")
OUT=$(dirname "$BIN")
[ -x "$OUT/$QTEST" ] || die "no $QTEST next to $BIN"

t0=$(date +%s.%N)
rc=0
QTEST_QEMU_BINARY=$BIN LD_LIBRARY_PATH=$OUT/lib \
	timeout 600 "$OUT/$QTEST" --tap -k >"$LOGDIR/qtest.log" 2>&1 || rc=$?
t_run=$(secs "$t0")
plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$LOGDIR/qtest.log" | head -1)
pass=$(grep -cE '^ok [0-9]+ ' "$LOGDIR/qtest.log" || true)
fail=$(grep -cE '^not ok [0-9]+ ' "$LOGDIR/qtest.log" || true)
grep -E '^(ok|not ok) [0-9]+ |^Bail out|ERROR' "$LOGDIR/qtest.log" >&2 || true
log "phase build (cached or built): $t_build s"
log "phase qtest: $t_run s"
if [ -s "$OUT/meson-test.log" ]; then
	log "at build time, QEMU's meson test: $(grep -E 'qtest-s390x/'"$QTEST" "$OUT/meson-test.log" | head -1 | sed 's/  */ /g')"
fi
if [ -s "$OUT/checkpatch.txt" ]; then
	log "at build time, QEMU's checkpatch.pl on the $(grep -c '^== ' "$OUT/checkpatch.txt") patches: no error, $(grep -c '^WARNING' "$OUT/checkpatch.txt" || true) warning(s) ($OUT/checkpatch.txt)"
fi
[ -n "$plan" ] || die "$QTEST printed no TAP plan (exit $rc): see $LOGDIR/qtest.log"
echo "qemu-qtest: $pass of $plan passed, $fail failed (exit $rc); log $LOGDIR/qtest.log"
[ $rc = 0 ] && [ "$pass" = "$plan" ] && [ "$fail" = 0 ] ||
	die "$QTEST failed: see $LOGDIR/qtest.log"
