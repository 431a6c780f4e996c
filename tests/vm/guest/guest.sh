#!/bin/sh
# The s390x test guest's test driver (busybox sh), run by /init as
# /zpci/guest.sh with ZPCI_STRICT, ZPCI_ISM, ZPCI_WIDE (PCI addresses), ZPCI_MODE
# (patched|stock), ZPCI_RESULTS (directory shipped back to the host),
# ZPCI_CTL (control port for hot-unplug, optional), ZPCI_NO_BENCH=1
# (optional).  Steps: bind both functions to zpci_io, run the integration
# suite, the benchmark, `zpci stats --json`, the hot-unplug test, a
# function error and its recovery, then unbind, rmmod zpci_io and check that nothing is left behind (module,
# driver, pinned pages, kernel reports).  Exit status 0 only if all passed.
#
# Outputs in $ZPCI_RESULTS: gtest.xml/gtest.txt, gtest-hotunplug.*,
# gtest-ismmod.xml + ism-modules.txt (Linux's ism/smc/smc_diag, step 5b),
# bench.json/bench.txt, stats.json, manifest.txt (+ fuzz-*.bin) for the host
# verifier, dmesg.txt, guest-summary.txt.

R=${ZPCI_RESULTS:-/results}
BIN=${ZPCI_BIN:-/zpci/bin}
MODE=${ZPCI_MODE:-patched}
TEST_TIMEOUT=${ZPCI_TEST_TIMEOUT:-1200}
mkdir -p "$R"
SUMMARY=$R/guest-summary.txt
: >"$SUMMARY"
failures=0

note() { echo "guest.sh: $*"; echo "$*" >>"$SUMMARY"; }
fail() { note "FAIL: $*"; failures=$((failures + 1)); }
kmsg() { echo "zpci-guest: $*" >/dev/kmsg 2>/dev/null; }

# driver_of, bind_to, unbind_from, pins_outstanding: tests/vm/guest-lib.sh
. /zpci/lib.sh

bind_zpci_io() {
	a=$1
	[ -e "/sys/bus/pci/devices/$a" ] || { fail "bind: no PCI device $a"; return 1; }
	if ! bind_to zpci_io "$a"; then
		fail "bind: $a is bound to '$(driver_of "$a")', not zpci_io"
		return 1
	fi
	note "bound $a to zpci_io (iommu group $(basename "$(readlink "/sys/bus/pci/devices/$a/iommu_group")"))"
}

unbind_zpci_io() {
	a=$1
	if [ ! -e "/sys/bus/pci/devices/$a" ]; then
		note "unbind: $a is gone (hot-unplugged)"
		return 0
	fi
	unbind_from zpci_io "$a" || fail "unbind $a: still bound to '$(driver_of "$a")'"
}

# run NAME TIMEOUT CMD...: output to $R/NAME.txt and the console
run() {
	name=$1 t=$2
	shift 2
	kmsg "start $name"
	note "run: $*"
	start=$(date +%s)
	timeout "$t" "$@" >"$R/$name.txt" 2>&1
	rc=$?
	cat "$R/$name.txt"
	kmsg "end $name rc=$rc"
	note "$name: exit $rc after $(($(date +%s) - start)) s"
	return $rc
}

# test marks in the kernel log must not be rate-limited away
echo on >/proc/sys/kernel/printk_devkmsg 2>/dev/null
note "mode $MODE, kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs, strict=$ZPCI_STRICT ism=$ZPCI_ISM wide=${ZPCI_WIDE:-none} ctl=${ZPCI_CTL:-none}"
grep -q '^zpci_io ' /proc/modules || fail "zpci_io is not loaded"
pins0=$(pins_outstanding)
note "pins outstanding at start: $pins0"

funcs=
for a in $ZPCI_STRICT $ZPCI_ISM $ZPCI_WIDE; do
	bind_zpci_io "$a" && funcs="$funcs $a"
done

# The test QEMU's ISM-like function refuses PCISTG on BAR 2 (its DMB space,
# nostg-bars=4 in run.sh); the driver's automatic choice for ISM is BAR 0
# (real ISM hardware), so tell it, as an administrator would.
if [ "$MODE" = patched ] && [ -n "$ZPCI_ISM" ]; then
	nostg=/sys/bus/pci/devices/$ZPCI_ISM/zpci_io_nostg_bars
	if [ -e "$nostg" ]; then
		echo "${ZPCI_ISM_NOSTG_BARS:-0x4}" >"$nostg" || fail "cannot set $nostg"
		note "ISM PCISTG-refusing BARs: $(cat "$nostg")"
	else
		fail "no $nostg: the driver cannot know that BAR 2 refuses PCISTG"
	fi
fi

# 0. the emulator API's acceptance consumer (examples/emulator_consumer.c):
# it opens each function's vfio group the way QEMU does, borrows the device
# fd (zpci_borrow_fd) and checks PCISTB/PCISTG/PCILG outcomes; it writes
# only the benchmark's areas (strict [15, 16) MiB, ism [7, 8) MiB), so
# they are declared scratch here.  `zpci info` must show the decision.
if [ "$MODE" = patched ] && [ -x "$BIN/zpci_vm_consumer" ]; then
	[ -s "$R/manifest.txt" ] || echo "zpci-vm-manifest 1" >"$R/manifest.txt"
	echo "scratch strict 0xf80000 8192 0 0 emulator_consumer" >>"$R/manifest.txt"
	run consumer-strict 120 "$BIN/zpci_vm_consumer" --borrow-group "$ZPCI_STRICT" \
		--bar 2 --offset 0xf80000 || fail "emulator_consumer on $ZPCI_STRICT"
	if [ -n "$ZPCI_ISM" ]; then
		echo "scratch ism 0x780000 8192 0 0 emulator_consumer" >>"$R/manifest.txt"
		run consumer-ism 120 "$BIN/zpci_vm_consumer" --borrow-group "$ZPCI_ISM" \
			--bar 2 --offset 0x780000 || fail "emulator_consumer on $ZPCI_ISM"
	fi
	if [ -x "$BIN/zpci" ]; then
		run zpci-info 60 "$BIN/zpci" info "$ZPCI_STRICT" || fail "zpci info $ZPCI_STRICT"
		grep -q "^path decision: region" "$R/zpci-info.txt" ||
			fail "zpci info: no region path decision for $ZPCI_STRICT"
	fi
elif [ "$MODE" = patched ]; then
	fail "no $BIN/zpci_vm_consumer"
fi

# 1. the integration suite (everything but hot-unplug, which goes last)
if [ -x "$BIN/zpci_vm_tests" ]; then
	run gtest "$TEST_TIMEOUT" "$BIN/zpci_vm_tests" --gtest_output="xml:$R/gtest.xml" \
		--gtest_filter='-HotUnplug.*:RecoveryEnd.*' || fail "zpci_vm_tests"
else
	fail "no $BIN/zpci_vm_tests"
fi

# 2. the benchmark (short repetitions: TCG is slow)
if [ "${ZPCI_NO_BENCH:-0}" = 1 ]; then
	note "benchmark skipped (ZPCI_NO_BENCH=1)"
elif [ -x "$BIN/zpci_vm_bench" ]; then
	run bench 900 "$BIN/zpci_vm_bench" --benchmark_out="$R/bench.json" \
		--benchmark_out_format=json || fail "zpci_vm_bench"
else
	fail "no $BIN/zpci_vm_bench"
fi

# 3. the driver's counters through the CLI's netlink client
if [ -x "$BIN/zpci" ]; then
	if "$BIN/zpci" stats --json >"$R/stats.json" 2>"$R/stats.err"; then
		note "zpci stats --json: $(wc -c <"$R/stats.json") bytes"
	else
		note "zpci stats --json failed: $(head -c 300 "$R/stats.err")"
	fi
else
	note "no $BIN/zpci: stats not collected"
fi

# 4. hot-unplug of the ISM-like function during I/O (needs the host's
# control port; the test skips itself without it)
# If the driver deadlocks, the test process cannot exit (a thread in D
# state): it prints HOTUNPLUG-HUNG and guest.sh stops waiting for it, then
# skips everything that would block behind it (unbind, rmmod).
hung=0
if [ -x "$BIN/zpci_vm_tests" ] && [ "$MODE" = patched ]; then
	kmsg "start gtest-hotunplug"
	note "run: zpci_vm_tests --gtest_filter=HotUnplug.* (ZPCI_HOTUNPLUG=1)"
	out=$R/gtest-hotunplug.txt
	ZPCI_HOTUNPLUG=1 "$BIN/zpci_vm_tests" --gtest_output="xml:$R/gtest-hotunplug.xml" \
		--gtest_filter='HotUnplug.*' >"$out" 2>&1 &
	pid=$!
	t=0
	while kill -0 "$pid" 2>/dev/null && [ $t -lt 240 ]; do
		grep -q HOTUNPLUG-HUNG "$out" 2>/dev/null && break
		sleep 1
		t=$((t + 1))
	done
	if grep -q HOTUNPLUG-HUNG "$out" || kill -0 "$pid" 2>/dev/null; then
		hung=1
		for s in /proc/$pid/task/*/stack; do
			echo "== $s"; cat "$s"
		done >"$R/hotunplug-stacks.txt" 2>&1
		fail "hot-unplug: the test process is stuck in the kernel (see gtest-hotunplug.txt, hotunplug-stacks.txt)"
	else
		wait "$pid" || fail "hot-unplug test"
	fi
	cat "$out"
	kmsg "end gtest-hotunplug"
fi

# 4b. a function error and its recovery, then a permanent failure, right
# before the unbind and rmmod of step 5 (patched QEMU: the error events
# come from the host's control port; the test skips itself without it).
# The kernel must have recovered every other error event (zpci_io's
# "recovered" lines) and never refused one.
if [ $hung = 0 ] && [ -x "$BIN/zpci_vm_tests" ] && [ "$MODE" = patched ] && [ -n "${ZPCI_WIDE:-}" ]; then
	run gtest-recovery-end 300 "$BIN/zpci_vm_tests" --gtest_output="xml:$R/gtest-recovery-end.xml" \
		--gtest_filter='RecoveryEnd.*' || fail "recovery before unbind"
	nrec=$(dmesg | grep -c "$ZPCI_WIDE: zpci_io: recovered")
	nerr=$(dmesg | grep -c "$ZPCI_WIDE: zpci_io: function error (frozen)")
	nperm=$(dmesg | grep -c "$ZPCI_WIDE: zpci_io: function error (permanent)")
	note "function errors on $ZPCI_WIDE: $nerr, recovered: $nrec, permanent: $nperm (then unbind, rmmod)"
	if dmesg | grep -q "does not support error recovery\|Automatic recovery failed"; then
		fail "a function error was not recovered: $(dmesg | grep 'does not support error recovery\|Automatic recovery failed' | head -n 1)"
	fi
	if grep -q '<testcase.*RecoveryEnd' "$R/gtest-recovery-end.xml" 2>/dev/null &&
		! grep -q 'skipped' "$R/gtest-recovery-end.xml"; then
		[ "$nrec" -ge 1 ] && [ "$nrec" = "$nerr" ] && [ "$nperm" = 1 ] ||
			fail "function errors $nerr, recoveries $nrec, permanent $nperm on $ZPCI_WIDE"
	fi
fi

# 5. unbind, rmmod, nothing left behind
if [ $hung = 1 ]; then
	note "unbind/rmmod skipped: they would block behind the stuck process"
	funcs=
fi
for a in $funcs; do
	unbind_zpci_io "$a"
done
if [ $hung = 1 ]; then
	:
elif rmmod zpci_io; then
	note "rmmod zpci_io ok"
else
	fail "rmmod zpci_io (refcnt $(cat /sys/module/zpci_io/refcnt 2>/dev/null))"
fi
if [ $hung = 0 ]; then
	grep -q '^zpci_io ' /proc/modules && fail "zpci_io still in /proc/modules"
	[ -e /sys/module/zpci_io ] && fail "/sys/module/zpci_io still exists"
	[ -e /sys/bus/pci/drivers/zpci_io ] && fail "/sys/bus/pci/drivers/zpci_io still exists"
	for a in $ZPCI_STRICT $ZPCI_ISM $ZPCI_WIDE; do
		[ -e "/sys/bus/pci/devices/$a" ] || continue
		[ "$(driver_of "$a")" = zpci_io ] && fail "$a still claims zpci_io"
	done
	if [ -x "$BIN/zpci" ] && "$BIN/zpci" stats --json >/dev/null 2>&1; then
		note "note: 'zpci stats' still exits 0 after rmmod (family should be gone)"
	fi
	pins1=$(pins_outstanding)
	note "pins outstanding at the end: $pins1"
	if [ "$pins1" != unknown ] && [ "$pins1" != "$pins0" ]; then
		fail "pinned pages leaked: $pins0 before, $pins1 after"
	fi
fi

# 5b. Linux's own ISM driver and SMC-D, built from linux-source-6.12 by
# tests/ism/build.sh (only for the reference kernel): load ism, smc (with
# its ISM client), smc_diag; `ism` registers as a PCI driver and binds no
# non-ISM function (the test functions are unbound now); unload; no kernel
# report.  Counted through $R/gtest-ismmod.xml; details in ism-modules.txt.
if [ -f /zpci/ism/guest-modules.sh ]; then
	kmsg "start ism-modules"
	note "run: /zpci/ism/guest-modules.sh"
	sh /zpci/ism/guest-modules.sh "$R" || fail "ism/smc/smc_diag modules (see ism-modules.txt)"
	kmsg "end ism-modules"
	grep -E '^(RESULT|ism|smc|smc_diag)' "$R/ism-modules.txt" | sed 's/^/ism-modules: /' >>"$SUMMARY"
else
	note "ism/smc/smc_diag modules: not in this image (tests/ism/build.sh builds them for the reference 6.12 kernel only)"
fi

# 6. kernel reports
dmesg >"$R/dmesg.txt"
# (tests/vm/kernel-reports.ere, one pattern per line: lockdep's reports are
# WARNING: lines plus the named ones; a bare "lockdep" would match the debug
# kernel's "RCU lockdep checking is enabled")
if grep -nE -f /zpci/kernel-reports.ere "$R/dmesg.txt" >"$R/dmesg-reports.txt"; then
	fail "kernel reports in dmesg: $(head -n 3 "$R/dmesg-reports.txt" | tr '\n' ' ')"
fi

if [ $failures -eq 0 ]; then
	note "RESULT: PASS"
	exit 0
fi
note "RESULT: FAIL ($failures failures)"
exit 1
