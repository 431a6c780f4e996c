#!/bin/sh
# Guest side of make cost (tests/cost/run.sh): runs /init's script slot
# instead of guest.sh.  The programs execute marker instructions that the
# host's TCG plugin counts; their own output goes to /results.
set -u
. /zpci/lib.sh
out=$ZPCI_RESULTS
rc=0
say() { echo "cost.sh: $*"; echo "$*" >>"$out/cost.txt"; }

say "selftest"
/zpci/cost-selftest >>"$out/cost.txt" 2>&1 || { say "FAIL: cost-selftest"; rc=1; }
if [ -x /zpci/zpci_cost ]; then
	for a in $ZPCI_STRICT $ZPCI_ISM $ZPCI_WIDE; do
		bind_to zpci_io "$a" || { say "FAIL: bind $a (driver '$(driver_of "$a")')"; rc=1; }
	done
	say "pins before: $(pins_outstanding)"
	/zpci/zpci_cost --strict "$ZPCI_STRICT" --ism "$ZPCI_ISM" --wide "$ZPCI_WIDE" \
		--manifest "$out/manifest.txt" --json "$out/cost-guest.json" >>"$out/cost.txt" 2>&1 ||
		{ say "FAIL: zpci_cost"; rc=1; }
	say "pins after: $(pins_outstanding)"
	for a in $ZPCI_STRICT $ZPCI_ISM $ZPCI_WIDE; do
		unbind_from zpci_io "$a" || { say "FAIL: unbind $a"; rc=1; }
	done
fi
if kernel_reports >"$out/reports.txt"; then
	say "FAIL: kernel reports"
	rc=1
fi
exit $rc
