#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make peer-bench: one s390x guest on Debian sid's 7.x kernel runs the same
# writes (128 B, 4 KiB, 64 KiB, 1 MiB to the ISM-like function's RAM BAR)
# through upstream's ism-vfio-pci, zpci_io (1 op/call and batched),
# vfio-pci 8-byte stores and an in-kernel PCISTB loop; the host verifies
# every byte (tests/vm/run.sh's verifier on the guest's manifest).
# Results: build/vm/results/peer/{bench.json,bench.md,bench.svg,
# behaviour.md} (+ the raw guest files).  Arguments go to tests/vm/run.sh.
# Env: ZPCI_PEER_MIN_TIME (s per size and path, default 0.5).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
t0=$(date +%s)
eval "$("$here/build-peer.sh")"
# shellcheck disable=SC1090
. "$ZPCI_PEER_KENVFILE"
# shares build/vm7 with make vm7-check (same kernel, kmod and guest builds;
# run.sh's lock serialises the two)
vmdir=${ZPCI_PEER_VM_DIR:-$repo/build/vm7}
out=$repo/build/vm/results/peer
work=$vmdir/peer
mkdir -p "$work"

# the kernel loop module and the guest program
rm -rf "$work/kloop"
mkdir -p "$work/kloop"
cp "$here/kloop/Kbuild" "$here/kloop/zpci_peer_kloop.c" "$work/kloop/"
make -C "$ZPCI_KDIR" M="$work/kloop" ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- \
	CC="$repo/kmod/scripts/s390x-gcc-compat" MODPOST="$ZPCI_MODPOST" \
	KCFLAGS=-fno-stack-protector CONFIG_DEBUG_INFO_BTF_MODULES= modules \
	>"$work/kloop-build.log" 2>&1 || { tail -20 "$work/kloop-build.log" >&2; exit 1; }
s390x-linux-gnu-g++ -std=c++20 -O2 -Wall -Wextra -Werror -static -I"$repo/include" \
	-o "$work/peer_bench" "$here/peer_bench.cpp"
echo "peer: built kloop module, peer_bench, ism-vfio-pci ($ZPCI_ISM_KO) in $(( $(date +%s) - t0 )) s" >&2

export ZPCI_VM_KENV=$ZPCI_PEER_KENV ZPCI_VM_DIR=$vmdir
export KCC=$repo/kmod/scripts/s390x-gcc-compat
export MAKEFLAGS="MODPOST=$ZPCI_MODPOST KCFLAGS=-fno-stack-protector CONFIG_DEBUG_INFO_BTF_MODULES="
export ZPCI_VM_EXTRA="$work/peer_bench:$work/kloop/zpci_peer_kloop.ko:$ZPCI_ISM_KO:$here/peer-guest.sh:$repo/tests/cost/quiet.sh"
export ZPCI_VM_APPEND="zpci.script=/zpci/peer-guest.sh ZPCI_PEER_MIN_TIME=${ZPCI_PEER_MIN_TIME:-0.5} ${ZPCI_VM_APPEND:-}"
rc=0
"$repo/tests/vm/run.sh" "$@" || rc=$?
rm -rf "$out"
mkdir -p "$out"
res=$vmdir/results/patched
cp -r "$res"/peer/. "$out/" 2>/dev/null || true
cp "$res/manifest.txt" "$res/console.log" "$res/clock.txt" "$out/" 2>/dev/null || true
python3 "$here/report.py" "$out" || rc=1
echo "peer-bench: $( [ $rc = 0 ] && echo PASS || echo FAIL ) in $(( $(date +%s) - t0 )) s; results in $out"
exit $rc
