#!/bin/sh
# Guest script of tests/debugkernel/run.sh's reload phase
# (zpci.script=/zpci/reload.sh, optional zpci.reload=N cycles, default 10):
# N times insmod zpci_io.ko, bind the functions, real I/O through the
# region, `zpci stats --json`, unbind, rmmod, and check after each rmmod
# that nothing of the module is left (module, driver, sysfs, netlink
# family, s390dbf area, pinned pages) and that the kernel printed no
# report.  The debug kernel's checkers (lockdep, DEBUG_PAGEALLOC, atomic
# sleep, DEBUG_LIST) catch a use-after-free or a bad lock on unload; the
# host's console scan fails the run on any of them as well.
#
# Writes through the region land in the ivshmem files: the I/O step is a
# few tests of zpci_vm_tests (deterministic seeds and areas, so every
# cycle writes the same bytes and the host verifier checks them) and the
# emulator consumer, as guest.sh runs it.
# With a second build of the module (/zpci/zpci_io_alt.ko), the even
# cycles load that one: different code where the previous cycle's module
# was.  That alternation only tests what it claims if the kernel does put
# the new module where the old one was, so at least one cycle must reuse
# the previous cycle's module address (/proc/modules), or the run fails.
# Output: one "RELOAD: cycle I ..." line per cycle, then
# "RELOAD: PASS (N cycles ...)" or "RELOAD: FAIL (...)".

R=${ZPCI_RESULTS:-/results}
BIN=${ZPCI_BIN:-/zpci/bin}
KO=/zpci/zpci_io.ko
# a second build of the module (ZPCI_VM_EXTRA=.../zpci_io_alt.ko), loaded
# in the even cycles: different builds one after the other
KO_ALT=/zpci/zpci_io_alt.ko
DBF=/sys/kernel/debug/s390dbf/zpci_io
N=10
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	zpci.reload=*) N=${arg#zpci.reload=} ;;
	esac
done
mkdir -p "$R"
failures=0
first_fail=

say() { echo "RELOAD: $*"; echo "$*" >>"$R/reload.txt"; }
fail() {
	say "FAIL: cycle $cycle: $*"
	failures=$((failures + 1))
	[ -n "$first_fail" ] || first_fail="cycle $cycle: $*"
}
kmsg() { echo "zpci-reload: $*" >/dev/kmsg 2>/dev/null; }

# driver_of, bind_to, unbind_from, pins_outstanding, kernel_reports:
# tests/vm/guest-lib.sh
. /zpci/lib.sh
reports() { kernel_reports; }
bind() { bind_to zpci_io "$1"; }
unbind() { unbind_from zpci_io "$1"; }

# "fid batches" per function of a `zpci stats --json` reply
stats_batches() {
	awk '{ n = split($0, a, "\"fid\":")
	       for (i = 2; i <= n; i++) {
		       b = a[i]; sub(/.*"batches":/, "", b)
		       printf "%d %d\n", a[i] + 0, b + 0 } }' "$1"
}

echo on >/proc/sys/kernel/printk_devkmsg 2>/dev/null
: >"$R/reload.txt"
funcs="$ZPCI_STRICT $ZPCI_ISM $ZPCI_WIDE"
cycle=0
say "kernel $(uname -r), $N cycles, functions:$funcs$([ -f "$KO_ALT" ] && echo ", even cycles load $KO_ALT")"
[ -n "$ZPCI_STRICT" ] && [ -n "$ZPCI_ISM" ] || fail "strict or ism function missing"
[ -x "$BIN/zpci" ] && [ -x "$BIN/zpci_vm_tests" ] && [ -x "$BIN/zpci_vm_consumer" ] ||
	fail "zpci, zpci_vm_tests or zpci_vm_consumer missing in $BIN"
[ -f "$KO" ] || fail "no $KO"

# /init loaded zpci_io already: every cycle starts from an unloaded module
if grep -q '^zpci_io ' /proc/modules; then
	rmmod zpci_io || fail "initial rmmod zpci_io"
fi
pins0=$(pins_outstanding)
# the consumer writes only these areas (see guest.sh); the tests record
# their own entries, the same ones every cycle
[ -s "$R/manifest.txt" ] || echo "zpci-vm-manifest 1" >"$R/manifest.txt"
echo "scratch strict 0xf80000 8192 0 0 emulator_consumer" >>"$R/manifest.txt"
echo "scratch ism 0x780000 8192 0 0 emulator_consumer" >>"$R/manifest.txt"
# (DeviceRefusesPcistg: one failed instruction, i.e. one s390dbf record)
tests='Qemu.BlockStoreDropsStaleTranslatedCode:RoundTrip.StrictPcistb:RoundTrip.StrictMixedBatchRunsInOrder:RoundTrip.IsmRelaxedPcistb:Wide.FullPageAndOddBlocksLandAsSingleStores:InstructionErrors.DeviceRefusesPcistg'

t_start=$(date +%s)
prev_base=
reused=0
cycle=1
while [ $cycle -le "$N" ] && [ $failures -eq 0 ]; do
	t0=$(date +%s)
	kmsg "cycle $cycle start"
	ko=$KO
	[ -f "$KO_ALT" ] && [ $((cycle % 2)) = 0 ] && ko=$KO_ALT
	if ! insmod "$ko"; then
		fail "insmod $ko"
		break
	fi
	# where this load's code is, for reading an oops against the .ko
	text=$(cat /sys/module/zpci_io/sections/.text 2>/dev/null)
	kmsg "cycle $cycle: ${ko##*/} .text at ${text:-unknown}"
	# the module's memory (its .text lies at a build-dependent offset)
	base=$(awk '$1 == "zpci_io" { print $6 }' /proc/modules)
	[ -n "$base" ] && [ "$base" = "$prev_base" ] && reused=$((reused + 1))
	prev_base=$base
	[ -e /sys/kernel/debug/s390dbf ] && ! [ -e "$DBF" ] && fail "no s390dbf area after insmod"
	bound=
	for a in $funcs; do
		if bind "$a"; then
			bound="$bound $a"
		else
			fail "bind $a (driver '$(driver_of "$a")')"
		fi
	done
	nostg=/sys/bus/pci/devices/$ZPCI_ISM/zpci_io_nostg_bars
	[ -e "$nostg" ] && echo 0x4 >"$nostg"

	# I/O through the region
	timeout 120 "$BIN/zpci_vm_consumer" --borrow-group "$ZPCI_STRICT" --bar 2 \
		--offset 0xf80000 >"$R/consumer-strict-$cycle.txt" 2>&1 ||
		fail "zpci_vm_consumer on $ZPCI_STRICT (consumer-strict-$cycle.txt)"
	timeout 120 "$BIN/zpci_vm_consumer" --borrow-group "$ZPCI_ISM" --bar 2 \
		--offset 0x780000 >"$R/consumer-ism-$cycle.txt" 2>&1 ||
		fail "zpci_vm_consumer on $ZPCI_ISM (consumer-ism-$cycle.txt)"
	timeout 300 "$BIN/zpci_vm_tests" --gtest_filter="$tests" \
		>"$R/gtest-$cycle.txt" 2>&1 || fail "zpci_vm_tests (gtest-$cycle.txt)"
	passed=$(grep -c '^\[       OK \]' "$R/gtest-$cycle.txt")
	# the trace of this load's failed instruction, through the sprintf view
	if [ -e "$DBF" ]; then
		cat "$DBF/sprintf" >"$R/dbf-$cycle.txt" 2>&1 || fail "read $DBF/sprintf"
		# a fresh area per load: exactly this cycle's one record
		dbfn=$(grep -c ' insn ' "$R/dbf-$cycle.txt")
		[ "$dbfn" = 1 ] && grep -q ' insn 2 as 2 ' "$R/dbf-$cycle.txt" ||
			fail "$dbfn records in $DBF/sprintf, want 1 PCISTG (dbf-$cycle.txt)"
	fi
	"$BIN/zpci" info "$ZPCI_STRICT" >"$R/zpci-info-$cycle.txt" 2>&1 ||
		fail "zpci info $ZPCI_STRICT"

	# the driver's counters, fresh for this load: every function listed,
	# strict and ism with batches
	if "$BIN/zpci" stats --json >"$R/stats-$cycle.json" 2>"$R/stats-$cycle.err"; then
		stats_batches "$R/stats-$cycle.json" >"$R/batches-$cycle.txt"
		nf=$(wc -l <"$R/batches-$cycle.txt")
		[ "$nf" -eq "$(echo "$bound" | wc -w)" ] || fail "zpci stats lists $nf functions"
		for fid in 1 2; do
			n=$(awk -v f=$fid '$1 == f { print $2 }' "$R/batches-$cycle.txt")
			[ "${n:-0}" -gt 0 ] || fail "zpci stats: fid $fid has no batches"
		done
	else
		fail "zpci stats --json: $(head -c 200 "$R/stats-$cycle.err")"
	fi

	for a in $bound; do
		unbind "$a" || fail "unbind $a"
	done
	if ! rmmod zpci_io; then
		fail "rmmod (refcnt $(cat /sys/module/zpci_io/refcnt 2>/dev/null))"
		break
	fi
	# nothing left behind
	grep -q '^zpci_io ' /proc/modules && fail "still in /proc/modules"
	[ -e /sys/module/zpci_io ] && fail "/sys/module/zpci_io still exists"
	[ -e /sys/bus/pci/drivers/zpci_io ] && fail "driver still registered"
	[ -e "$DBF" ] && fail "s390dbf area still registered"
	"$BIN/zpci" stats --json >/dev/null 2>&1 && fail "netlink family still answers"
	pins=$(pins_outstanding)
	[ "$pins" = "$pins0" ] || fail "pinned pages: $pins0 before, $pins now"
	if reports >"$R/reports-$cycle.txt"; then
		fail "kernel report: $(head -n 1 "$R/reports-$cycle.txt")"
	fi
	kmsg "cycle $cycle end"
	verdict=ok
	[ $failures -eq 0 ] || verdict=FAILED
	avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
	say "cycle $cycle $verdict (${ko##*/} at ${base:-?}, .text ${text:-?}): ${passed:-0} tests passed, ${dbfn:-no} dbf record, batches $(tr '\n' ' ' <"$R/batches-$cycle.txt" 2>/dev/null)(MemAvailable ${avail:-?} MiB, $(($(date +%s) - t0)) s)"
	sleep 1
	cycle=$((cycle + 1))
done
done_cycles=$((cycle - 1))

dmesg >"$R/dmesg.txt"
if [ -f "$KO_ALT" ] && [ $failures -eq 0 ] && [ "$reused" -eq 0 ]; then
	cycle=$done_cycles
	fail "no cycle loaded its module where the previous cycle's was: the alternation tested nothing"
fi
if [ $failures -eq 0 ]; then
	say "PASS ($done_cycles cycles of insmod/bind/IO/stats/unbind/rmmod," \
		"$([ -f "$KO_ALT" ] && echo "two builds alternating, $reused loads where the previous one was,")" \
		"no kernel report, pins $pins0 -> $(pins_outstanding), $(($(date +%s) - t_start)) s)"
	exit 0
fi
say "FAIL ($failures failures in $done_cycles of $N cycles; first: $first_fail)"
exit 1
