#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest suite on the debug kernel (make debug-vm-check):
#  1. build (or reuse) the debug kernel: tests/debugkernel/build.sh
#  2. self-test of the console scan, two short smoke boots of that kernel:
#     a clean one, which must pass, and one that loads zpci_splat.ko (one
#     "BUG: sleeping function called from invalid context"), which must
#     fail with exactly that console report and nothing else wrong
#  3. reload: one boot whose guest runs reload.sh instead of the suite,
#     ZPCI_RELOAD_CYCLES (default 10) cycles of insmod zpci_io, bind,
#     region I/O, zpci stats, unbind, rmmod; the console scan and the
#     host verifier apply as for the suite
#  4. the full guest suite (tests/vm/run.sh) on the debug kernel
# Results: build/vm/results/{debug,debug-reload,debug-selftest-clean,
# debug-selftest-splat}/
# Usage: tests/debugkernel/run.sh [--selftest-only] [run.sh options...]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
: "${ZPCI_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/zpci}"
export ZPCI_CACHE
VMDIR=${ZPCI_VM_DIR:-$REPO/build/vm}
selftest_only=0
if [ "${1:-}" = --selftest-only ]; then
	selftest_only=1
	shift
fi
log() { echo "debugkernel: $*" >&2; }
die() { log "$*"; exit 1; }
times=()
phase() {
	local name=$1 t0 rc=0
	shift
	t0=$(date +%s)
	"$@" || rc=$?
	times+=("$(printf '%-22s %5d s%s' "$name" $(($(date +%s) - t0)) "$([ $rc = 0 ] || echo " (FAILED)")")")
	return $rc
}
summary() {
	echo "---- tests/debugkernel/run.sh wall time per phase"
	printf '  %s\n' "${times[@]}"
}

kbuild() {
	"$HERE/build.sh" --env debug
}

# shellcheck disable=SC1090
load_env() { . "$ZPCI_CACHE/kernel/debug.env"; }

SPLAT=$VMDIR/debugkernel-splat
splat_build() {
	rm -rf "$SPLAT"
	mkdir -p "$SPLAT"
	cp "$HERE/splat/zpci_splat.c" "$HERE/splat/Kbuild" "$SPLAT/"
	make -C "$ZPCI_KDIR" M="$SPLAT" ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- modules \
		>"$SPLAT/build.log" 2>&1 || { tail -20 "$SPLAT/build.log" >&2; return 1; }
	[ -f "$SPLAT/zpci_splat.ko" ]
}

# one smoke boot of the debug kernel; its output in $VMDIR/results/NAME.out
smoke_boot() {
	local name=$1 rc=0
	shift
	mkdir -p "$VMDIR/results"
	env ZPCI_VM_KENV=debug ZPCI_VM_RESULTS="$name" "$@" \
		"$REPO/tests/vm/run.sh" --smoke >"$VMDIR/results/$name.out" 2>&1 || rc=$?
	return $rc
}

selftest() {
	local out ok=0
	# clean boot: the console scan must find nothing
	if ! smoke_boot debug-selftest-clean; then
		log "selftest: the clean smoke boot failed:"
		tail -30 "$VMDIR/results/debug-selftest-clean.out" >&2
		return 1
	fi
	# injected report: the run must fail, because of the console scan only
	smoke_boot debug-selftest-splat \
		ZPCI_VM_EXTRA="$SPLAT/zpci_splat.ko:$HERE/splat.sh" \
		ZPCI_VM_APPEND="zpci.script=/zpci/splat.sh" && ok=1
	out=$VMDIR/results/debug-selftest-splat.out
	if [ $ok = 1 ]; then
		log "selftest: FAIL: run.sh passed a boot whose kernel printed an atomic-sleep report"
		return 1
	fi
	grep -q 'SPLAT: zpci_splat.ko loaded' "$VMDIR/results/debug-selftest-splat/console.log" ||
		{ log "selftest: zpci_splat.ko was not loaded (see $out)"; return 1; }
	grep -q '^verify: kernel reports on the console:' "$out" &&
		grep -q 'BUG: sleeping function called from invalid context' "$out" ||
		{ log "selftest: run.sh did not name the atomic-sleep report (see $out)"; return 1; }
	grep -q 'guest status 0)' "$out" && ! grep -q '^verify: guest status' "$out" &&
		grep -q '^smoke: .* verified' "$out" ||
		{ log "selftest: the splat boot failed for another reason too (see $out)"; return 1; }
	log "selftest: PASS (clean boot passes; the injected atomic-sleep report fails the run)"
}

# one boot: reload.sh cycles the module; its result line must say PASS
reload() {
	local out=$VMDIR/results/debug-reload.out rc=0
	mkdir -p "$VMDIR/results"
	ZPCI_VM_KENV=debug ZPCI_VM_RESULTS=debug-reload ZPCI_VM_EXTRA="$HERE/reload.sh" \
		ZPCI_VM_APPEND="zpci.script=/zpci/reload.sh zpci.reload=${ZPCI_RELOAD_CYCLES:-10}" \
		"$REPO/tests/vm/run.sh" --no-bench >"$out" 2>&1 || rc=$?
	grep -a '^RELOAD: \(PASS\|FAIL\)' "$VMDIR/results/debug-reload/console.log" >&2 ||
		log "reload: no result line (see $out)"
	if [ $rc != 0 ]; then
		log "reload: FAIL (see $out):"
		tail -20 "$out" >&2
	fi
	return $rc
}

suite() {
	ZPCI_VM_KENV=debug ZPCI_VM_RESULTS=debug "$REPO/tests/vm/run.sh" "$@"
}

rc=0
phase "kernel build" kbuild || { summary; exit 1; }
load_env
phase "splat module" splat_build || { summary; exit 1; }
phase "selftest (2 boots)" selftest || rc=1
if [ $selftest_only = 0 ]; then
	phase "reload (1 boot)" reload || rc=1
	phase "guest suite" suite "$@" || rc=1
fi
summary
echo "debug kernel: $ZPCI_KVER ($ZPCI_KCONFIG)"
[ $rc = 0 ] && echo "debug-vm: PASS" || echo "debug-vm: FAIL"
exit $rc
