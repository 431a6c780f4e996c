#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Stage 1 of issue 16 in the L1 guest (busybox sh), the script of
# tests/ism/run.sh's guest (zpci.script=/zpci/ism-stage1.sh, zpci.mode=ism):
# Linux's ism.ko binds to the test QEMU's ISM model functions (fid 0x10,
# 0x11: PCHID 0x04ed; 0x12: PCHID 0x0200) and our zpci_ism_test.ko runs its
# client checks through the driver's exports; then smc.ko's ISM client
# carries an AF_SMC connection over 127.0.0.1 (/zpci/smcd_xfer, SMC-D in
# L1); then both go and each function is reset.  Between the steps the
# host takes the model's statistics over the control port (ISM_STATS
# <tag>: probe, tested, smc, removed, reset); tests/ism/verify.py compares
# them afterwards.
#
# Results in $ZPCI_RESULTS: ism-stage1.txt (key=value lines), ism-test.txt
# (the module's kernel log lines), smcd.txt, ism-stage1-dmesg.txt.  Exit status 0
# only if every step passed and the kernel reported nothing.

R=${ZPCI_RESULTS:-/results}
D=/zpci/ism
OUT=$R/ism-stage1.txt
: >"$OUT"
fail=0

say() { echo "ism-stage1: $*"; }
kv() { echo "$1=$2" >>"$OUT"; }
bad() { say "FAIL: $*"; fail=1; }
# centiseconds since boot (/proc/uptime: 10 ms resolution)
cs() { awk '{ split($1, a, "."); print a[1] * 100 + a[2] }' /proc/uptime; }

dmesg_lines0=$(dmesg | wc -l)

# the control port: one request, one answer line
[ -n "$ZPCI_CTL" ] || { say "no control port"; exit 1; }
exec 3<>"$ZPCI_CTL"
ctl() {
	echo "$*" >&3
	ans=
	read -r -t 120 ans <&3
	echo "$ans"
}
stats() {
	a=$(ctl "ISM_STATS $1")
	case "$a" in
	"OK $1") say "host took the model's statistics ($1)" ;;
	*) bad "ISM_STATS $1: '$a'" ;;
	esac
}

# the functions
fids=
for d in /sys/bus/pci/devices/*; do
	[ -e "$d/function_id" ] || continue
	fid=$(($(cat "$d/function_id")))
	case $fid in 16|17|18) ;; *) continue ;; esac
	id="$(cat "$d/vendor"):$(cat "$d/device")"
	# BAR 0: "start end flags" (the first line of resource)
	bar0=$(head -n 1 "$d/resource" | (read -r s e f; echo $((e - s + 1))))
	say "${d##*/} fid $fid pft $(cat "$d/pft" 2>/dev/null) pchid $(cat "$d/pchid" 2>/dev/null) $id BAR 0 $bar0 bytes"
	[ "$id" = 0x1014:0x04ed ] || bad "fid $fid is $id, not 1014:04ed"
	[ "$(cat "$d/pft" 2>/dev/null)" = 0x05 ] || bad "fid $fid: pft $(cat "$d/pft" 2>/dev/null), not 0x05"
	kv "fid${fid}_bar0" "$bar0"
	kv "fid${fid}_addr" "${d##*/}"
	fids="$fids $fid"
done
nf=$(echo $fids | wc -w)
kv functions "$nf"
[ "$nf" = 3 ] || bad "$nf ISM model functions (fid 16, 17, 18), expected 3"

# 1. the driver binds
t0=$(cs)
if insmod $D/ism.ko; then
	say "ism.ko loaded"
else
	bad "insmod ism.ko"
fi
n=0
for i in $(seq 1 100); do
	n=$(ls /sys/bus/pci/drivers/ism 2>/dev/null | grep -c '^[0-9a-f]\{4\}:')
	[ "$n" -ge "$nf" ] && break
	sleep 0.1
done
kv probe_ms $(( ($(cs) - t0) * 10 ))
kv bound "$n"
[ "$n" = "$nf" ] || bad "ism bound $n of $nf functions"
stats probe

# 2. our client
t0=$(cs)
insmod $D/zpci_ism_test.ko || bad "insmod zpci_ism_test.ko"
kv test_ms $(( ($(cs) - t0) * 10 ))
dmesg | grep 'zpci_ism_test: ' >"$R/ism-test.txt"
# one run, every check passed
line=$(grep 'RESULT ' "$R/ism-test.txt")
say "${line#*zpci_ism_test: }"
case "$line" in
*"RESULT pass="*" fail=0 "*) kv test_rc 0 ;;
*) kv test_rc 1; bad "zpci_ism_test.ko: not one run with every check passed (ism-test.txt)" ;;
esac
stats tested

grep -q '^zpci_ism_test ' /proc/modules && { rmmod zpci_ism_test || bad "rmmod zpci_ism_test"; }

# 3. SMC-D (stage 3): smc.ko with its ISM client over the model functions,
# an AF_SMC connection over 127.0.0.1 moving $SMC_BYTES bytes, smc_diag
SMC_BYTES=4194304
smc_deps=
while read -r m; do
	[ -n "$m" ] || continue
	n=${m##*/}; n=${n%.ko}
	grep -q "^$n " /proc/modules && continue
	insmod "/lib/modules/$m" || bad "insmod $m"
	smc_deps="$n $smc_deps"
done <$D/deps.list
ip link set lo up || bad "ip link set lo up"
insmod $D/smc.ko || bad "insmod smc.ko"
insmod $D/smc_diag.ko || bad "insmod smc_diag.ko"
t0=$(cs)
if /zpci/smcd_xfer $SMC_BYTES >"$R/smcd.txt" 2>&1; then
	kv smcd_l1_bytes "$(sed -n 's/.*smcd_xfer: bytes \([0-9]*\) received \([0-9]*\) .*/\2/p' "$R/smcd.txt")"
else
	kv smcd_l1_bytes 0
	bad "smcd_xfer (smcd.txt)"
fi
kv smcd_ms $(( ($(cs) - t0) * 10 ))
cat "$R/smcd.txt"
grep -q 'mode SMCD' "$R/smcd.txt" && kv smcd_mode_seen 1 || kv smcd_mode_seen 0
kv smcd_my_gid "$(sed -n 's/.*dmbinfo my_gid \(0x[0-9a-f]*\) .*/\1/p' "$R/smcd.txt" | head -n 1)"
rmmod smc_diag || bad "rmmod smc_diag"
# closed SMC sockets and link groups are freed asynchronously: smc may be
# busy for a while
t0=$(cs)
for i in $(seq 1 60); do
	rmmod smc 2>/dev/null && break
	sleep 1
done
grep -q '^smc ' /proc/modules && bad "rmmod smc: still busy after 60 s"
kv smc_rmmod_ms $(( ($(cs) - t0) * 10 ))
for n in $smc_deps; do rmmod "$n" || bad "rmmod $n"; done
stats smc

# 4. remove: the driver unregisters SBA, IEQ and its VLAN id
t0=$(cs)
rmmod ism || bad "rmmod ism"
kv rmmod_ms $(( ($(cs) - t0) * 10 ))
[ ! -e /sys/module/ism ] || bad "ism still loaded"
stats removed

# 5. a function reset (Linux: the hotplug slot's reset, CLP disable and
# enable) reaches the model: its reset count grows by one per function
nreset=0
for fid in $fids; do
	addr=$(sed -n "s/^fid${fid}_addr=//p" "$OUT")
	if echo 1 >"/sys/bus/pci/devices/$addr/reset"; then
		nreset=$((nreset + 1))
	else
		bad "reset of $addr failed"
	fi
done
kv resets "$nreset"
stats reset
exec 3<&-

# 6. no kernel report since this script began
dmesg | tail -n +$((dmesg_lines0 + 1)) >"$R/ism-stage1-dmesg.txt"
if grep -E -f /zpci/kernel-reports.ere "$R/ism-stage1-dmesg.txt" >"$R/ism-stage1-reports.txt"; then
	bad "kernel reports (ism-stage1-reports.txt)"
	cat "$R/ism-stage1-reports.txt"
fi
kv status "$fail"
say "status $fail"
exit $fail
