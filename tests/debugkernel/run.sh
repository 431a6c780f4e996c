#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest suite on the debug kernel (make debug-vm-check):
#  1. build (or reuse) the debug kernel: tests/debugkernel/build.sh
#     (lockdep, atomic sleep, DEBUG_PAGEALLOC, DEBUG_LIST, generic KASAN)
#  2. self-test of the console scan, three short smoke boots of that
#     kernel: a clean one, which must pass and whose console must show
#     KASAN initialised, and two that load zpci_splat.ko, one flavour
#     each: "sleep" (one "BUG: sleeping function called from invalid
#     context") and "kasan" (one "BUG: KASAN: slab-out-of-bounds"); each
#     must fail with its own report named and nothing else wrong
#  3. reload: one boot whose guest runs reload.sh instead of the suite,
#     ZPCI_RELOAD_CYCLES (default 10) cycles of insmod zpci_io, bind,
#     region I/O, zpci stats, unbind, rmmod, alternating two different
#     builds of the module (the second built with other function
#     alignment); the console scan and the host verifier apply as for
#     the suite
#  4. the full guest suite (tests/vm/run.sh) on the debug kernel, its fuzz
#     cut to ZPCI_DEBUG_FUZZ (default 50000) batches on strict, half on ism
# The guest gets ZPCI_VM_MEM MiB (default here 2048: KASAN's shadow is
# 1/8 of it, its quarantine and the slab redzones come on top).
# Results: build/vm/results/{debug,debug-reload,debug-selftest-clean,
# debug-selftest-sleep,debug-selftest-kasan}/
# Usage: tests/debugkernel/run.sh [--selftest-only] [run.sh options...]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
: "${ZPCI_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/zpci}"
export ZPCI_CACHE
VMDIR=${ZPCI_VM_DIR:-$REPO/build/vm}
: "${ZPCI_VM_MEM:=2048}"
export ZPCI_VM_MEM
FUZZ=${ZPCI_DEBUG_FUZZ:-50000}
case "$FUZZ" in ''|*[!0-9]*) echo "debugkernel: ZPCI_DEBUG_FUZZ must be a number" >&2; exit 2 ;; esac
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

# generic KASAN announces itself on the SCLP console before printk runs
# (arch/s390/kernel/early.c), so the line has no timestamp
kasan_on() {
	grep -aq '^KernelAddressSanitizer initialized' "$VMDIR/results/$1/console.log" ||
		{ log "$1: the console does not show KASAN initialised"; return 1; }
}

# what each splat flavour must make the kernel print
splat_report() {
	case "$1" in
	sleep) echo 'BUG: sleeping function called from invalid context' ;;
	kasan) echo 'BUG: KASAN: slab-out-of-bounds in zpci_splat_kasan+' ;;
	esac
}

# one boot with zpci_splat.ko of flavour $1: run.sh must fail it, naming
# that report and only lines of it, with everything else passing
splat_boot() {
	local fl=$1 name=debug-selftest-$1 out want other named
	want=$(splat_report "$fl")
	if smoke_boot "$name" \
		ZPCI_VM_EXTRA="$SPLAT/zpci_splat.ko:$HERE/splat.sh" \
		ZPCI_VM_APPEND="zpci.script=/zpci/splat.sh zpci.splat=$fl"; then
		log "selftest: FAIL: run.sh passed a boot whose kernel printed '$want'"
		return 1
	fi
	out=$VMDIR/results/$name.out
	grep -q "SPLAT: zpci_splat.ko loaded (flavour $fl)" "$VMDIR/results/$name/console.log" ||
		{ log "selftest: zpci_splat.ko ($fl) was not loaded (see $out)"; return 1; }
	grep -q '^verify: kernel reports on the console:' "$out" && grep -qF "$want" "$out" ||
		{ log "selftest: run.sh did not name '$want' (see $out)"; return 1; }
	# the lines run.sh named: the report's first line, plus (sleep) the
	# "INFO: lockdep is turned off." lockdep adds to it; never the other
	# flavour's report
	named=$(sed -n '/^verify: kernel reports on the console:/,/^[^ ]/{/^  /p}' "$out")
	other=$(echo "$named" | grep -vF "$want" | grep -v 'INFO: lockdep is turned off' || true)
	[ -z "$other" ] ||
		{ log "selftest: the $fl boot printed other reports too (see $out):"; echo "$other" >&2; return 1; }
	grep -q 'guest status 0)' "$out" && ! grep -q '^verify: guest status' "$out" &&
		grep -q '^smoke: .* verified' "$out" ||
		{ log "selftest: the $fl boot failed for another reason too (see $out)"; return 1; }
	log "selftest: the injected '$want' fails the run, for that reason alone"
}

selftest() {
	# clean boot: the console scan must find nothing, KASAN must be on
	if ! smoke_boot debug-selftest-clean; then
		log "selftest: the clean smoke boot failed:"
		tail -30 "$VMDIR/results/debug-selftest-clean.out" >&2
		return 1
	fi
	kasan_on debug-selftest-clean || return 1
	splat_boot sleep || return 1
	splat_boot kasan || return 1
	log "selftest: PASS (clean boot passes with KASAN on; the injected atomic-sleep and KASAN reports each fail the run)"
}

# a second build of zpci_io.ko, different code at the same load address:
# every function aligned to 64 bytes shifts them all
ALT=$VMDIR/kmod-alt
alt_build() {
	rm -rf "$ALT"
	mkdir -p "$ALT"
	make -C "$REPO/kmod" KDIR="$ZPCI_KDIR" ARCH=s390 BUILD="$ALT/build" \
		CROSS_COMPILE=s390x-linux-gnu- KCFLAGS=-falign-functions=64 \
		>"$ALT/build.log" 2>&1 || { tail -20 "$ALT/build.log" >&2; return 1; }
	cp "$ALT/build/zpci_io.ko" "$ALT/zpci_io_alt.ko"
	# the point is different code: the two .text sections must differ
	local f
	for f in "$VMDIR/kmod/zpci_io.ko" "$ALT/zpci_io_alt.ko"; do
		s390x-linux-gnu-objcopy -O binary --only-section=.text "$f" "$ALT/$(basename "$f").text" ||
			return 1
	done
	if cmp -s "$ALT/zpci_io.ko.text" "$ALT/zpci_io_alt.ko.text"; then
		log "second build: its .text is the same as zpci_io.ko's"
		return 1
	fi
	log "second build: .text $(stat -c %s "$ALT/zpci_io.ko.text") bytes -> $(stat -c %s "$ALT/zpci_io_alt.ko.text") bytes"
}

# one boot: reload.sh cycles the module; its result line must say PASS
reload() {
	local out=$VMDIR/results/debug-reload.out rc=0
	mkdir -p "$VMDIR/results"
	ZPCI_VM_KENV=debug ZPCI_VM_RESULTS=debug-reload \
		ZPCI_VM_EXTRA="$HERE/reload.sh:$ALT/zpci_io_alt.ko" \
		ZPCI_VM_APPEND="zpci.script=/zpci/reload.sh zpci.reload=${ZPCI_RELOAD_CYCLES:-10}" \
		"$REPO/tests/vm/run.sh" --no-bench >"$out" 2>&1 || rc=$?
	grep -a '^RELOAD: \(PASS\|FAIL\)' "$VMDIR/results/debug-reload/console.log" >&2 ||
		log "reload: no result line (see $out)"
	kasan_on debug-reload || rc=1
	if [ $rc != 0 ]; then
		log "reload: FAIL (see $out):"
		tail -20 "$out" >&2
	fi
	return $rc
}

suite() {
	local rc=0
	ZPCI_VM_KENV=debug ZPCI_VM_RESULTS=debug \
		ZPCI_VM_APPEND="ZPCI_FUZZ_ITERS=$FUZZ ${ZPCI_VM_APPEND:-}" \
		"$REPO/tests/vm/run.sh" "$@" || rc=$?
	kasan_on debug || rc=1
	return $rc
}

rc=0
phase "kernel build" kbuild || { summary; exit 1; }
load_env
phase "splat module" splat_build || { summary; exit 1; }
phase "selftest (3 boots)" selftest || rc=1
if [ $selftest_only = 0 ]; then
	phase "second zpci_io build" alt_build || { summary; exit 1; }
	phase "reload (1 boot)" reload || rc=1
	phase "guest suite" suite "$@" || rc=1
fi
summary
echo "debug kernel: $ZPCI_KVER ($ZPCI_KCONFIG)"
[ $rc = 0 ] && echo "debug-vm: PASS" || echo "debug-vm: FAIL"
exit $rc
