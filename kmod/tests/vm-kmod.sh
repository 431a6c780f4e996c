#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest script (zpci.script=/zpci/vm-kmod.sh) for the driver's own smoke
# test: bind each test function to zpci_io, run zpci_io_smoke on it (with a
# data round trip on the test QEMU's memory BAR), unbind, rmmod, and look
# for kernel warnings.  Started by kmod/scripts/vm-smoke.sh.
set -u
rc=0
say() { echo "vm-kmod: $*"; }
drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
man=${ZPCI_RESULTS:-/tmp}/manifest-smoke.txt
: >"$man"

grep -q '^zpci_io ' /proc/modules || { say "FAIL zpci_io not loaded"; exit 1; }
[ -n "${ZPCI_STRICT:-}" ] || { say "FAIL no test function"; exit 1; }
for a in ${ZPCI_STRICT:-} ${ZPCI_ISM:-}; do
	name=strict
	[ "$a" = "${ZPCI_ISM:-}" ] && name=ism
	d=/sys/bus/pci/devices/$a
	[ -n "$(drv "$a")" ] && echo "$a" >"$d/driver/unbind"
	echo zpci_io >"$d/driver_override"
	echo "$a" >/sys/bus/pci/drivers_probe
	if [ "$(drv "$a")" != zpci_io ]; then
		say "FAIL $a not bound (driver '$(drv "$a")')"
		rc=1
		continue
	fi
	say "bound $a ($name): relaxed=$(cat "$d/zpci_io_relaxed") nostg=$(cat "$d/zpci_io_nostg_bars")"
	if [ "$ZPCI_MODE" = patched ]; then
		/zpci/zpci_io_smoke "$a" "$name" "$man" || rc=1
	else
		/zpci/zpci_io_smoke "$a" || rc=1
	fi
	echo "$a" >/sys/bus/pci/drivers/zpci_io/unbind || { say "FAIL unbind $a"; rc=1; }
	echo >"$d/driver_override"
done
rmmod zpci_io || { say "FAIL rmmod"; rc=1; }
# every page the driver pinned is unpinned again
acq=$(awk '$1 == "nr_foll_pin_acquired" { print $2 }' /proc/vmstat)
rel=$(awk '$1 == "nr_foll_pin_released" { print $2 }' /proc/vmstat)
if [ -n "$acq" ] && [ "$acq" = "$rel" ]; then
	say "pins balanced: $acq acquired, $rel released"
else
	say "FAIL pins: ${acq:-?} acquired, ${rel:-?} released"
	rc=1
fi
[ -e /sys/module/zpci_io ] && { say "FAIL module still present"; rc=1; }
# the patterns of every kernel-report scan (tests/vm/kernel-reports.ere)
if dmesg | grep -E -f /zpci/kernel-reports.ere; then
	say "FAIL kernel reports"
	rc=1
fi
say "status $rc"
exit $rc
