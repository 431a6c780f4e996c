#!/bin/bash
# `make check`: every phase in order, each with its wall time, then a
# summary.  A phase that fails does not stop the later ones (so one run
# shows everything), but the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOGS=$BUILD/check-logs
mkdir -p "$LOGS"

phases=(unit asan kmod vm vm-stock)
declare -A cmd=(
	[unit]="make unit-check BUILD=$BUILD"
	[asan]="make asan-check BUILD=$BUILD"
	[kmod]="make kmod-check"
	[vm]="make vm-check"
	[vm-stock]="make vm-stock-check"
)
declare -A result secs
total_pass=0
total_fail=0

# Test counts of one phase, from its log (ctest) or the guest's JUnit XML.
count_tests() {
	local phase=$1 log=$2 xml line t f
	case $phase in
	unit|asan)
		line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
		if [ -n "$line" ]; then
			f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
			t=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
			echo "$((t - f)) $f"
			return
		fi ;;
	vm|vm-stock)
		[ $phase = vm ] && xml=$BUILD/vm/results/patched/gtest.xml
		[ $phase = vm-stock ] && xml=$BUILD/vm/results/stock/gtest.xml
		if [ -s "$xml" ]; then
			line=$(grep -m1 -o '<testsuites [^>]*>' "$xml")
			t=$(grep -o 'tests="[0-9]*"' <<<"$line" | tr -dc 0-9)
			f=$(grep -o 'failures="[0-9]*"' <<<"$line" | tr -dc 0-9)
			local e d
			e=$(grep -o 'errors="[0-9]*"' <<<"$line" | tr -dc 0-9)
			d=$(grep -o 'disabled="[0-9]*"' <<<"$line" | tr -dc 0-9)
			f=$((f + ${e:-0}))
			echo "$((t - f - ${d:-0})) $f"
			return
		fi ;;
	esac
	echo ""
}

for p in "${phases[@]}"; do
	echo "=== check: phase $p: ${cmd[$p]}"
	start=$(date +%s)
	if ${cmd[$p]} 2>&1 | tee "$LOGS/$p.log"; then
		result[$p]=pass
	else
		result[$p]=FAIL
	fi
	secs[$p]=$(( $(date +%s) - start ))
	echo "=== check: phase $p: ${result[$p]} in ${secs[$p]} s"
	counts=$(count_tests "$p" "$LOGS/$p.log")
	if [ -n "$counts" ]; then
		read -r np nf <<<"$counts"
		# A phase that failed after its tests passed still counts a failure.
		if [ "${result[$p]}" = FAIL ] && [ "$nf" -eq 0 ]; then nf=1; fi
	else
		np=0; nf=0
		[ "${result[$p]}" = pass ] && np=1 || nf=1
	fi
	total_pass=$((total_pass + np))
	total_fail=$((total_fail + nf))
done

echo
echo "phase      result  seconds"
for p in "${phases[@]}"; do
	printf '%-10s %-7s %7s\n' "$p" "${result[$p]}" "${secs[$p]}"
done
echo "check: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
