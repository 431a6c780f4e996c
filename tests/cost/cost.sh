#!/bin/sh
# Guest side of make cost (tests/cost/run.sh), run by /init as
# zpci.script.  The programs execute marker instructions that the host's
# TCG plugin counts; their own output goes to /results.
#   zpci.cost=main (default): the plugin's calibration, then zpci_cost
#     through libzpci and zpci_io (strict, ism, wide bound to zpci_io)
#   zpci.cost=peer (7.x kernel): the calibration, zpci_cost's raw
#     requests through zpci_io (strict, ism, wide bound to zpci_io: the
#     same-kernel comparison), then zpci_cost --peer, upstream's
#     ism-vfio-pci on ism, vfio-pci on strict and wide
set -u
. /zpci/lib.sh
out=$ZPCI_RESULTS
rc=0
say() { echo "cost.sh: $*"; echo "$*" >>"$out/cost.txt"; }
mode=main
for arg in $(cat /proc/cmdline); do
	case "$arg" in zpci.cost=*) mode=${arg#zpci.cost=} ;; esac
done

bind_all() {	# DRIVER-for-strict DRIVER-for-ism DRIVER-for-wide
	bind_to "$1" "$ZPCI_STRICT" || { say "FAIL: bind $ZPCI_STRICT to $1 (is '$(driver_of "$ZPCI_STRICT")')"; rc=1; }
	bind_to "$2" "$ZPCI_ISM" || { say "FAIL: bind $ZPCI_ISM to $2 (is '$(driver_of "$ZPCI_ISM")')"; rc=1; }
	bind_to "$3" "$ZPCI_WIDE" || { say "FAIL: bind $ZPCI_WIDE to $3 (is '$(driver_of "$ZPCI_WIDE")')"; rc=1; }
}
unbind_all() {
	for a in $ZPCI_STRICT $ZPCI_ISM $ZPCI_WIDE; do
		unbind_from "" "$a" || { say "FAIL: unbind $a"; rc=1; }
	done
}

say "mode $mode, kernel $(uname -r)"
# the kernel's crypto self-tests must not share the vCPU with the
# measurement (quiet.sh)
. /zpci/quiet.sh
q=$(wait_quiet 120) || { q="FAIL: $q"; rc=1; }
say "$q"
case $mode in
main)
	/zpci/cost-selftest >>"$out/cost.txt" 2>&1 || { say "FAIL: cost-selftest"; rc=1; }
	bind_all zpci_io zpci_io zpci_io
	say "pins before: $(pins_outstanding)"
	# the C API's single-instruction calls, then zpci_io's counters (the
	# functions were just bound: they count these calls only), then the
	# ABI's raw requests
	/zpci/zpci_cost --phase emu --strict "$ZPCI_STRICT" --ism "$ZPCI_ISM" --wide "$ZPCI_WIDE" \
		--manifest "$out/manifest.txt" >>"$out/cost.txt" 2>&1 || { say "FAIL: zpci_cost --phase emu"; rc=1; }
	/zpci/bin/zpci stats --json >"$out/stats-emu.json" 2>>"$out/cost.txt" || { say "FAIL: zpci stats"; rc=1; }
	/zpci/zpci_cost --phase raw --strict "$ZPCI_STRICT" --ism "$ZPCI_ISM" --wide "$ZPCI_WIDE" \
		--manifest "$out/manifest.txt" >>"$out/cost.txt" 2>&1 || { say "FAIL: zpci_cost --phase raw"; rc=1; }
	say "pins after: $(pins_outstanding)"
	unbind_all
	;;
peer)
	# zpci_io on this kernel first, so that its requests and the peers'
	# pwrite()s are counted in one boot on one kernel
	/zpci/cost-selftest >>"$out/cost.txt" 2>&1 || { say "FAIL: cost-selftest"; rc=1; }
	bind_all zpci_io zpci_io zpci_io
	/zpci/zpci_cost --phase raw --strict "$ZPCI_STRICT" --ism "$ZPCI_ISM" --wide "$ZPCI_WIDE" \
		--manifest "$out/manifest.txt" >>"$out/cost.txt" 2>&1 || { say "FAIL: zpci_cost --phase raw"; rc=1; }
	unbind_all
	# the pci_driver of ism-vfio-pci.ko is named KBUILD_MODNAME
	insmod /zpci/ism-vfio-pci.ko || { say "FAIL: insmod ism-vfio-pci.ko"; rc=1; }
	bind_all vfio-pci ism_vfio_pci vfio-pci
	/zpci/zpci_cost --peer --strict "$ZPCI_STRICT" --ism "$ZPCI_ISM" --wide "$ZPCI_WIDE" \
		--manifest "$out/manifest.txt" >>"$out/cost.txt" 2>&1 || { say "FAIL: zpci_cost --peer"; rc=1; }
	unbind_all
	;;
*) say "FAIL: unknown zpci.cost=$mode"; rc=1 ;;
esac
if kernel_reports >"$out/reports.txt"; then
	say "FAIL: kernel reports"
	rc=1
fi
exit $rc
