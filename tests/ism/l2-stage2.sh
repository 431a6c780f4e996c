#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L2 guest of stage 2 of issue 16 (tests/ism/run-l2.sh),
# busybox sh.  The three ISM model functions (fid 16, 17, 18) reach this
# guest through zpci_io in L1 and QEMU 10.2 with libzpci.  Steps, each
# followed by "ZISM-SYNC <tag>" and a wait for L1's answer on the console
# (L1 takes zpci_io's counters and the model's statistics in between):
#   pre-probe  the functions seen (CLP data: BAR 0 size)
#   probe      modprobe ism: the driver binds to the three
#   tested     insmod /ism/zpci_ism_test.ko (our client, with interrupts)
#   (xl, xl-back: one move from L1's own function into a DMB here and one
#   back, tests/ism/ktest/zpci_ism_xl.c; L1 answers xl with its token)
#   smc        SMC-D: smc + smc_diag, smcd_xfer over 127.0.0.1, unloaded
#   removed    rmmod ism
# Everything L1's host needs is printed on the console: "ZISM-L2: key=value"
# lines, the module's lines ("ZISM-TEST: "), smcd_xfer's ("ZISM-SMC: ").
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp
fail=0
say() { echo "ZISM-L2: $*"; }
kv() { echo "ZISM-L2: $1=$2"; }
bad() { say "FAIL: $*"; fail=1; }
cs() { awk '{ split($1, a, "."); print a[1] * 100 + a[2] }' /proc/uptime; }
sync_l1() {	# tag; L1's answer in $_ans
	echo "ZISM-SYNC $1"
	read -r _ans
}
say "start, kernel $(uname -r)"

fids=
for d in /sys/bus/pci/devices/*; do
	[ -e "$d/function_id" ] || continue
	fid=$(($(cat "$d/function_id")))
	id="$(cat "$d/vendor"):$(cat "$d/device")"
	bar0=$(head -n 1 "$d/resource" | (read -r s e f; echo $((e - s + 1))))
	say "${d##*/} fid $fid pft $(cat "$d/pft" 2>/dev/null) $id BAR 0 $bar0 bytes"
	kv "fid${fid}_bar0" "$bar0"
	[ "$id" = 0x1014:0x04ed ] || bad "fid $fid is $id"
	fids="$fids $fid"
done
nf=$(echo $fids | wc -w)
kv functions "$nf"
[ "$nf" = 3 ] || bad "$nf functions, expected 3"
sync_l1 pre-probe

# 1. the driver binds (its probe: 8 PCISTB + 30 PCILG per function)
t0=$(cs)
modprobe ism || bad "modprobe ism"
n=0
for i in $(seq 1 300); do
	n=$(ls /sys/bus/pci/drivers/ism 2>/dev/null | grep -c '^[0-9a-f]\{4\}:')
	[ "$n" -ge "$nf" ] && break
	sleep 0.1
done
kv probe_ms $(( ($(cs) - t0) * 10 ))
kv bound "$n"
[ "$n" = "$nf" ] || bad "ism bound $n of $nf functions"
sync_l1 probe

# 2. our client, with interrupts
t0=$(cs)
insmod /ism/zpci_ism_test.ko || bad "insmod zpci_ism_test.ko"
kv test_ms $(( ($(cs) - t0) * 10 ))
dmesg | grep 'zpci_ism_test: ' | sed 's/^/ZISM-TEST: /'
case "$(dmesg | grep 'zpci_ism_test: RESULT ')" in
*"RESULT pass="*" fail=0 "*) kv test_rc 0 ;;
*) kv test_rc 1; bad "zpci_ism_test.ko: not one run with every check passed" ;;
esac
rmmod zpci_ism_test || bad "rmmod zpci_ism_test"
sync_l1 tested

# 2b. one move across levels: L1's own function (fid 19, L1's ism.ko,
# the same fabric) into a DMB here, and back (tests/ism/ktest/zpci_ism_xl.c)
if insmod /ism/zpci_ism_xl.ko fid=16; then
	line=$(dmesg | grep 'zpci_ism_xl: ready' | tail -n 1)
	tok=${line##*token }
	tok=${tok%% *}
	sync_l1 "xl $tok"
	l1tok=$(echo "$_ans" | tr -dc '0-9a-fx')
	echo 1 >/sys/module/zpci_ism_xl/parameters/check
	echo "$l1tok:2" >/sys/module/zpci_ism_xl/parameters/move
	dmesg | grep 'zpci_ism_xl: ' | sed 's/^/ZISM-XL: /'
	sync_l1 xl-back
	rmmod zpci_ism_xl || bad "rmmod zpci_ism_xl"
else
	bad "insmod zpci_ism_xl.ko"
fi

# 3. SMC-D
SMC_BYTES=${SMC_BYTES:-1048576}
ip link set lo up || bad "ip link set lo up"
modprobe smc_diag || bad "modprobe smc_diag"
t0=$(cs)
if /ism/smcd_xfer $SMC_BYTES >/tmp/smcd.txt 2>&1; then
	kv smcd_l2_bytes "$(sed -n 's/.*smcd_xfer: bytes \([0-9]*\) received \([0-9]*\) .*/\2/p' /tmp/smcd.txt)"
else
	kv smcd_l2_bytes 0
	bad "smcd_xfer"
fi
kv smcd_ms $(( ($(cs) - t0) * 10 ))
sed 's/^/ZISM-SMC: /' /tmp/smcd.txt
grep -q 'mode SMCD' /tmp/smcd.txt && kv smcd_mode_seen 1 || kv smcd_mode_seen 0
kv smcd_my_gid "$(sed -n 's/.*dmbinfo my_gid \(0x[0-9a-f]*\) .*/\1/p' /tmp/smcd.txt | head -n 1)"
rmmod smc_diag || bad "rmmod smc_diag"
for i in $(seq 1 60); do
	rmmod smc 2>/dev/null && break
	sleep 1
done
grep -q '^smc ' /proc/modules && bad "rmmod smc: still busy after 60 s"
sync_l1 smc

# 4. remove
rmmod ism || bad "rmmod ism"
[ ! -e /sys/module/ism ] || bad "ism still loaded"
sync_l1 removed

# 5. no kernel report
if dmesg | grep -E -f /kernel-reports.ere >/tmp/reports.txt; then
	bad "kernel reports"
	sed 's/^/ZISM-L2: report: /' /tmp/reports.txt
fi
say "status $fail"
sync
poweroff -f
