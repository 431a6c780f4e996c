#!/bin/bash
# `make check`: every phase in order, each with its wall time, then a
# summary.  A phase that fails does not stop the later ones (so one run
# shows everything), but the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOGS=$BUILD/check-logs
mkdir -p "$LOGS"

# e2e: the nested test (an L2 guest's writes through QEMU linked with
# libzpci, tests/e2e/README.md); its cold builds (QEMU 10.2 for s390x, the
# trimmed L2 kernel) are cached by their inputs.
# ism: Linux's ism.ko and SMC-D on the test QEMU's ISM model, in the guest
# and in the nested L2 guest through zpci_io and QEMU 10.2 (after e2e, whose
# QEMU 10.2 and L2 kernel builds it shares; tests/ism/README.md).
phases=(unit asan unit-s390x kmod vm vm-stock e2e ism pkg)
declare -A cmd=(
	[unit]="make unit-check BUILD=$BUILD"
	[asan]="make asan-check BUILD=$BUILD"
	[unit-s390x]="make unit-s390x-check BUILD=$BUILD"
	[kmod]="make kmod-check"
	[vm]="make vm-check"
	[vm-stock]="make vm-stock-check"
	[ism]="make ism-check"
	[e2e]="make e2e-check"
	[pkg]="make pkg-check BUILD=$BUILD"
)
declare -A result secs tests
total_pass=0
total_fail=0
total_skip=0

# "passed failed skipped" of one phase, from its ctest log or the guest's
# JUnit XML files; nothing when the phase ran no test runner.
count_tests() {
	local phase=$1 log=$2 dir line t f s x
	case $phase in
	unit|asan)
		line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
		[ -n "$line" ] || return 0
		f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
		t=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
		s=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*Skipped' "$log")
		echo "$((t - f - s)) $f $s" ;;
	e2e)
		# a nested boot that never reached L2's /init is a skip (loud)
		x=$BUILD/vm/results/e2e/summary.json
		[ -s "$x" ] || return 0
		if grep -q '"skipped": true' "$x"; then echo "0 0 1"; fi ;;
	ism)
		# the host's checks (verify.py) of stage 1 and of stage 2 (L2)
		x=$BUILD/vm/results/ism/summary.json
		[ -s "$x" ] || return 0
		python3 -c 'import json, os, sys
t = f = 0
for p in sys.argv[1:]:
    if os.path.exists(p):
        d = json.load(open(p))
        t += d.get("host_checks") or 0
        f += d.get("host_checks_failed") or 0
print(t - f, f, 0) if t else None' "$x" "$BUILD/vm/results/ism-l2/summary-l2.json" ;;
	unit-s390x|vm|vm-stock)
		dir=$BUILD/vm/results/patched
		[ $phase = vm-stock ] && dir=$BUILD/vm/results/stock
		[ $phase = unit-s390x ] && dir=$BUILD-s390x-unit
		t=0 f=0 s=0
		for x in "$dir"/gtest*.xml; do
			[ -s "$x" ] || continue
			line=$(grep -m1 -o '<testsuites [^>]*>' "$x")
			t=$((t + $(grep -o ' tests="[0-9]*"' <<<"$line" | tr -dc 0-9)))
			f=$((f + $(grep -o ' failures="[0-9]*"' <<<"$line" | tr -dc 0-9)))
			f=$((f + $(grep -o ' errors="[0-9]*"' <<<"$line" | tr -dc 0-9)))
			s=$((s + $(grep -c 'result="skipped"' "$x")))
		done
		[ "$t" -gt 0 ] && echo "$((t - f - s)) $f $s" ;;
	esac
	return 0
}

for p in "${phases[@]}"; do
	echo "=== check: phase $p: ${cmd[$p]}"
	# never count a previous run's guest results
	[ "$p" = vm ] && rm -rf "$BUILD/vm/results/patched"
	[ "$p" = vm-stock ] && rm -rf "$BUILD/vm/results/stock"
	[ "$p" = e2e ] && rm -rf "$BUILD/vm/results/e2e"
	[ "$p" = ism ] && rm -rf "$BUILD/vm/results/ism" "$BUILD/vm/results/ism-l2"
	[ "$p" = unit-s390x ] && rm -f "$BUILD-s390x-unit/gtest.xml"
	start=$(date +%s)
	if ${cmd[$p]} 2>&1 | tee "$LOGS/$p.log"; then
		result[$p]=pass
	else
		result[$p]=FAIL
	fi
	secs[$p]=$(( $(date +%s) - start ))
	echo "=== check: phase $p: ${result[$p]} in ${secs[$p]} s"
	counts=$(count_tests "$p" "$LOGS/$p.log")
	ns=0
	if [ -n "$counts" ]; then
		read -r np nf ns <<<"$counts"
		# A phase that failed after its tests passed still counts a failure.
		if [ "${result[$p]}" = FAIL ] && [ "$nf" -eq 0 ]; then nf=1; fi
	else
		np=0; nf=0
		[ "${result[$p]}" = pass ] && np=1 || nf=1
	fi
	total_pass=$((total_pass + np))
	total_fail=$((total_fail + nf))
	total_skip=$((total_skip + ns))
	tests[$p]="$np passed, $nf failed, $ns skipped"
done

echo
echo "phase      result  seconds  tests"
for p in "${phases[@]}"; do
	printf '%-10s %-7s %7s  %s\n' "$p" "${result[$p]}" "${secs[$p]}" "${tests[$p]}"
done
echo "check: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
