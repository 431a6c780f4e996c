#!/bin/sh
# Guest side of make peer-bench (run by /init as zpci.script): bind the
# ISM-like function in turn to ism-vfio-pci, zpci_io and vfio-pci, run
# peer_bench for each path, the kernel loop module, the behaviour probes;
# results in $ZPCI_RESULTS/peer/, byte expectations in manifest.txt.
# BAR 2 of "ism" (16 MiB): ism-vfio-pci at 0, zpci_io 1 op/call at 3 MiB,
# zpci_io batched at 6 MiB, kernel loop at 9 MiB, probes of vfio-pci at
# 12 MiB, pin-vs-bounce writes at 14 MiB; vfio-pci 8-byte stores go to "strict" (PCISTG accepted) at 0;
# zpci_io batched also on "wide" at 0.
set -u
R=$ZPCI_RESULTS
P=$R/peer
mkdir -p "$P"
MIN=${ZPCI_PEER_MIN_TIME:-0.5}
rc=0
say() { echo "peer: $*"; echo "$*" >>"$P/log.txt"; }
# driver_of, bind_to, unbind_from: tests/vm/guest-lib.sh
. /zpci/lib.sh
bind() {	# ADDR DRIVER
	bind_to "$2" "$1" || { say "FAIL: cannot bind $1 to $2 (is '$(driver_of "$1")')"; return 1; }
	say "bound $1 to $2"
}
unbind() { unbind_from "" "$1"; }
bench() {	# NAME DEV FUNC PATH BASE SEED
	say "bench $1: $4 on $2 at $5"
	/zpci/peer_bench --dev "$2" --func "$3" --path "$4" --base "$5" --seed "$6" \
		--min-time "$MIN" --manifest "$R/manifest.txt" >>"$P/bench.jsonl" 2>>"$P/log.txt" ||
		{ say "FAIL: bench $1"; rc=1; }
}
probe() {	# DEV FUNC PATH BASE [KIND]: probes write the 12 KiB at BASE+1 MiB+192 KiB
	/zpci/peer_bench --dev "$1" --func "$2" --path "$3" --base "$4" --probe \
		>>"$P/behaviour.jsonl" 2>>"$P/log.txt" || { say "FAIL: probe $3"; rc=1; }
	echo "${5:-scratch} $2 $(($4 + 1048576 + 196608)) 12288 0 0 peer-probe-$3" >>"$R/manifest.txt"
}
echo "zpci-vm-manifest 1" >"$R/manifest.txt"
uname -r >"$P/kernel.txt"
# the kernel's crypto self-tests must not share the vCPU with the bench
# (tests/cost/quiet.sh)
. /zpci/quiet.sh
if q=$(wait_quiet 120); then say "$q"; else say "FAIL: $q"; rc=1; fi
for f in maxstbl pft; do say "ism $f: $(cat /sys/bus/pci/devices/$ZPCI_ISM/$f 2>/dev/null)"; done
ISM=$ZPCI_ISM

# 1. upstream ism-vfio-pci (its id table names only 1014:04ed; driver_override
# binds any); its pci_driver is named KBUILD_MODNAME, i.e. ism_vfio_pci
if insmod /zpci/ism-vfio-pci.ko 2>>"$P/log.txt"; then
	if bind "$ISM" ism_vfio_pci; then
		bench ism "$ISM" ism ism 0 100
		probe "$ISM" ism ism 0
	else rc=1; fi
	unbind "$ISM"
else
	say "FAIL: insmod ism-vfio-pci.ko"; rc=1
fi

# 2. zpci_io, 1 op per call and batched
if bind "$ISM" zpci_io; then
	bench zpci-1op "$ISM" ism zpci-1op 3145728 200
	bench zpci-batch "$ISM" ism zpci-batch 6291456 300
	probe "$ISM" ism zpci 3145728
else rc=1; fi
unbind "$ISM"

# 3. the kernel loop (no driver needed: the function stays enabled)
if insmod /zpci/zpci_peer_kloop.ko dev="$ISM" base=9437184 seed=400 min_ms=300 2>>"$P/log.txt"; then
	dmesg | grep 'zpci_peer_kloop: size=' >"$P/kloop.txt"
	while read -r line; do
		sz=$(echo "$line" | sed -n 's/.*size=\([0-9]*\).*/\1/p')
		case $sz in 128) sl=1179648 ;; 4096) sl=1114112 ;; 65536) sl=1048576 ;; *) sl=0 ;; esac
		off=$((9437184 + sl))
		echo "written ism $off $sz $((400 + sz)) $off peer-kernel-loop-$sz" >>"$R/manifest.txt"
	done <"$P/kloop.txt"
	[ "$(wc -l <"$P/kloop.txt")" = 4 ] || { say "FAIL: kernel loop reported $(wc -l <"$P/kloop.txt") sizes"; rc=1; }
	# pin vs bounce: the module's write() path, BAR 2 at 14 MiB
	/zpci/peer_bench --pinbounce --seed 600 --min-time "$MIN" --manifest "$R/manifest.txt" \
		>"$P/pinbounce.jsonl" 2>>"$P/log.txt" || { say "FAIL: pin/bounce"; rc=1; }
	rmmod zpci_peer_kloop
else
	say "FAIL: insmod zpci_peer_kloop.ko"; dmesg | tail -5 >>"$P/log.txt"; rc=1
fi

# 4. vfio-pci: 8-byte stores on strict; what it does with the ISM-like one
if bind "$ZPCI_STRICT" vfio-pci; then
	bench vfio-8B "$ZPCI_STRICT" strict vfio-8B 0 500
else rc=1; fi
unbind "$ZPCI_STRICT"
# vfio-pci's BAR writes are PCISTGs, which this BAR refuses: the host
# checks that nothing landed ("untouched"), whatever pwrite() returned
if bind "$ISM" vfio-pci; then
	probe "$ISM" ism vfio-8B 12582912 untouched
fi
unbind "$ISM"
# (extra, not in bench.json) zpci_io batched on "wide": strict alignment,
# maxstbl 4096, the same sizes
if bind "$ZPCI_WIDE" zpci_io; then
	/zpci/peer_bench --dev "$ZPCI_WIDE" --func wide --path zpci-batch --base 0 --seed 700 \
		--min-time "$MIN" --manifest "$R/manifest.txt" >"$P/wide.jsonl" 2>>"$P/log.txt" ||
		{ say "FAIL: bench zpci-batch on wide"; rc=1; }
else rc=1; fi
unbind "$ZPCI_WIDE"
dmesg >"$P/dmesg.txt"
say "status $rc"
exit $rc
