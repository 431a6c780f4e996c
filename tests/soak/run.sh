#!/bin/bash
# make soak: a multi-tenant soak of zpci_io in the s390x test guest
# (tests/soak/README.md).  Boots the tests/vm rig (patched test QEMU, the
# strict, ism and wide functions) with /zpci/soak-guest.sh instead of the
# guest suite, then writes build/vm/results/soak/summary.json from what the
# guest and the host measured.
#
# Usage: tests/soak/run.sh
# Env:   ZPCI_SOAK_MINUTES (default 20), ZPCI_SOAK_PHASE_SECONDS (default 20),
#        ZPCI_SOAK_WINDOW_KIB (per function, default 64),
#        ZPCI_SOAK_SEED (default: the guest's clock),
#        ZPCI_SOAK_SELFTEST=1: a short soak whose first host check is sent
#        one wrong byte; passes only if the soak FAILS with exactly that
#        byte counted (results in build/vm/results/soak-selftest)
#        and everything of tests/vm/run.sh (ZPCI_VM_*).
# Exit 0 only if the guest passed, the host's checks found no lost or
# wrong byte, the final verifier passed and no kernel report was seen.
set -euo pipefail
SRC=$(cd "$(dirname "$0")" && pwd)
. "$SRC/../vm/lib.sh"

MIN=${ZPCI_SOAK_MINUTES:-20}
PHASE_S=${ZPCI_SOAK_PHASE_SECONDS:-20}
WIN=${ZPCI_SOAK_WINDOW_KIB:-64}
SELFTEST=${ZPCI_SOAK_SELFTEST:-0}
for v in "$MIN" "$PHASE_S" "$WIN" "${ZPCI_SOAK_SEED:-0}"; do
	case "$v" in ''|*[!0-9]*) die "ZPCI_SOAK_MINUTES/PHASE_SECONDS/WINDOW_KIB/SEED must be numbers" ;; esac
done
[ "$MIN" -ge 1 ] && [ "$PHASE_S" -ge 5 ] && [ "$WIN" -ge 8 ] && [ $((WIN % 4)) = 0 ] && [ "$WIN" -le 8192 ] ||
	die "ZPCI_SOAK_MINUTES >= 1, ZPCI_SOAK_PHASE_SECONDS >= 5, ZPCI_SOAK_WINDOW_KIB 8..8192 in 4 KiB steps"
case "$SELFTEST" in 0|1) ;; *) die "ZPCI_SOAK_SELFTEST must be 0 or 1" ;; esac

name=soak
append="ZPCI_SOAK_MINUTES=$MIN ZPCI_SOAK_PHASE_SECONDS=$PHASE_S ZPCI_SOAK_WINDOW_KIB=$WIN"
[ -z "${ZPCI_SOAK_SEED:-}" ] || append+=" ZPCI_SOAK_SEED=$ZPCI_SOAK_SEED"
if [ "$SELFTEST" = 1 ]; then
	name=soak-selftest
	append+=" ZPCI_SOAK_CORRUPT=1"
fi
res=$ZPCI_VM_DIR/results/$name

log "soak: $MIN min, phases of $PHASE_S s, $WIN KiB per function$([ "$SELFTEST" = 0 ] || echo ", SELF-TEST (one wrong byte)")"
t0=$(date +%s)
rc=0
# the guest's own time plus boot, builds and the end (unbind, rmmod, tar)
ZPCI_VM_RESULTS=$name ZPCI_VM_ISMMOD=0 \
ZPCI_VM_TIMEOUT=${ZPCI_VM_TIMEOUT:-$((MIN * 60 + 600))} \
ZPCI_VM_EXTRA="$SRC/soak-guest.sh${ZPCI_VM_EXTRA:+:$ZPCI_VM_EXTRA}" \
ZPCI_VM_APPEND="zpci.script=/zpci/soak-guest.sh $append ${ZPCI_VM_APPEND:-}" \
	"$SRC/../vm/run.sh" --no-bench || rc=$?
log "soak: tests/vm/run.sh exit $rc after $(($(date +%s) - t0)) s"

reports=$(vm_console_reports "$res/console.log" | wc -l)
src=0
python3 "$SRC/summary.py" --results "$res" --vm-rc "$rc" --console-reports "$reports" \
	--out "$res/summary.json" || src=$?
if [ "$SELFTEST" = 1 ]; then
	# the self-test passes when the soak failed on the one wrong byte
	wrong=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lost_or_wrong_bytes"])' \
		"$res/summary.json" 2>/dev/null || echo "?")
	if [ "$src" != 0 ] && [ "$wrong" = 1 ]; then
		echo "soak self-test: PASS (the soak failed, 1 wrong byte counted by the host) results in $res"
		exit 0
	fi
	echo "soak self-test: FAIL (summary exit $src, lost_or_wrong_bytes $wrong) results in $res"
	exit 1
fi
if [ "$src" = 0 ]; then
	echo "soak: PASS results in $res/summary.json"
else
	echo "soak: FAIL results in $res/summary.json"
fi
exit "$src"
