#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# L1 side of stage 2 of issue 16 (tests/ism/run-l2.sh), run by
# tests/vm/init (zpci.mode=ism, zpci.script=/zpci/ism-l1-stage2.sh) with
# zpci_io loaded.  Binds the ISM model functions (fid 16, 17, 18) to
# zpci_io, tries QEMU 10.2 with zpci-io=off on the first (stock_served),
# boots L2 (/ism2: kernel, initrd, the QEMU tree) with the three
# forwarded, and answers L2's "ZISM-SYNC <tag>" lines after taking
# zpci_io's counters (stats-<tag>.json) and asking the host for the
# model's statistics (ISM_STATS l2-<tag>).  Everything goes into
# $ZPCI_RESULTS/l2: l1.log, l2-console-<attempt>.log (all attempts in
# l2-console.log, the last in l2-final-console.log), l2-qemu.log, stock-probe.log,
# stats-*.json, l1-dmesg.txt.
. /zpci/lib.sh
. /ism2/config
# no script 300 s after L2 started, or dead before it: boot again, up to
# L2_ATTEMPTS times (most deaths are the exec of init failing with EFAULT
# in the nested emulation, within seconds: tests/e2e/README.md)
L2_START_TIMEOUT=${L2_START_TIMEOUT:-300}
L2_ATTEMPTS=${L2_ATTEMPTS:-5}
R=$ZPCI_RESULTS/l2
mkdir -p "$R"
BIN=/zpci/bin
CR=$(printf '\r')
fail=0

note() { echo "ZPCI-VM: ism-l2: $*"; echo "$*" >>"$R/l1.log"; }
now() { read -r up _ </proc/uptime; echo "${up%.*}"; }

addr_of() {
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d/function_id" ] || continue
		[ $(($(cat "$d/function_id"))) -eq "$1" ] && { echo "${d##*/}"; return 0; }
	done
	return 1
}

# ---------------------------------------------------------------- bind
DEVARGS=
FIRST=
for fid in 16 17 18; do
	addr=$(addr_of $fid) || { note "fid $fid not found"; fail=1; continue; }
	if bind_to zpci_io "$addr"; then
		note "fid $fid: $addr bound to zpci_io"
	else
		note "fid $fid: $addr cannot be bound to zpci_io"
		fail=1
		continue
	fi
	[ -n "$FIRST" ] || FIRST=$addr
	DEVARGS="$DEVARGS -device zpci,uid=$fid,fid=$fid,target=f$fid -device vfio-pci,host=$addr,id=f$fid"
done
Q=/ism2/qemu
QBIN="$Q/lib/ld64.so.1 --library-path $Q/lib $Q/bin/qemu-system-s390x"
QCOMMON="-M s390-ccw-virtio -cpu max -accel tcg,thread=single -nodefaults -display none -L $Q/share/qemu"

# ------------------------------------ stock QEMU (zpci-io=off) on an ISM function
if [ -n "$FIRST" ]; then
	# shellcheck disable=SC2086
	echo quit | $QBIN $QCOMMON -m 128 -S -monitor stdio \
		-device "zpci,uid=16,fid=16,target=stock,zpci-io=off" \
		-device "vfio-pci,host=$FIRST,id=stock" >"$R/stock-probe.log" 2>&1
	echo $? >"$R/stock-probe.rc"
	note "stock probe: exit $(cat "$R/stock-probe.rc"): $(grep -o 'qemu-system-s390x: .*' "$R/stock-probe.log" | head -n 1)"
fi

# ------------------------- L1's own ISM function for the move across levels
# fid 19 (A's fabric), free of overrides, goes to L1's ism.ko (the three
# above have zpci_io by driver_override); zpci_ism_xl registers a DMB on
# it and logs its token (tests/ism/ktest/zpci_ism_xl.c)
XL_TOKEN=
if xaddr=$(addr_of 19); then
	if insmod /zpci/ism/ism.ko && insmod /zpci/zpci_ism_xl.ko fid=19; then
		line=$(dmesg | grep 'zpci_ism_xl: ready' | tail -n 1)
		XL_TOKEN=${line##*token }
		XL_TOKEN=${XL_TOKEN%% *}
		note "L1's fid 19: $xaddr bound to $(driver_of "$xaddr"); ${line#*zpci_ism_xl: }"
	else
		note "L1: insmod ism.ko / zpci_ism_xl.ko failed"
		fail=1
	fi
else
	note "fid 19 not found"
	fail=1
fi
[ -n "$XL_TOKEN" ] || XL_TOKEN=0

# ---------------------------------------------------------------- L2
# The host's control port (tests/vm/hostctl.py): one request, one answer
ctl() {
	ans="ERR no control port"
	if [ -n "${ZPCI_CTL:-}" ] && exec 5<>"$ZPCI_CTL"; then
		echo "$1" >&5
		IFS= read -r -t 120 ans <&5 || ans="ERR no answer in 120 s"
		exec 5>&-
	fi
	echo "$1 -> $ans" >>"$R/ctl.txt"
	[ "$ans" = "OK ${1#* }" ]
}
stats() {	# tag
	"$BIN/zpci" stats --json >"$R/stats-$1.json" 2>>"$R/stats.err" ||
		{ note "zpci stats $1 failed"; fail=1; }
	ctl "ISM_STATS l2-$1" || { note "ISM_STATS l2-$1 failed"; fail=1; }
}

reader() {	# console file
	while IFS= read -r line; do
		line=${line%"$CR"}
		echo "$line" >>"$1"
		case "$line" in
		*"ZISM-SYNC xl-back"*)
			# L2 moved its pattern (seed 2) into L1's DMB
			echo 2 >/sys/module/zpci_ism_xl/parameters/check
			dmesg | grep 'zpci_ism_xl: ' >"$R/xl-l1.txt"
			rmmod zpci_ism_xl || echo "rmmod zpci_ism_xl failed" >>"$R/xl-l1.txt"
			echo go >/tmp/l2con.in
			;;
		*"ZISM-SYNC xl "*)
			# L1's function moves seed 1 into L2's DMB; L2 gets L1's token
			echo "${line##*ZISM-SYNC xl }:1" >/sys/module/zpci_ism_xl/parameters/move
			echo "$XL_TOKEN" >/tmp/l2con.in
			;;
		*"ZISM-SYNC "*)
			tag=${line##*ZISM-SYNC }
			stats "$tag"
			echo go >/tmp/l2con.in
			;;
		*"ZISM-L2: "*)
			echo "ZPCI-VM: ism-l2: L2: ${line#*ZISM-L2: }"
			;;
		*)
			# L2's lines on L1's console too, to show how far L2
			# got ("[" as "(": the host checks L2's console for kernel
			# reports itself, only its last boot's)
			echo "L2| $line" | tr '[' '('
			;;
		esac
	done </tmp/l2con.out
}

# one L2 boot; its result: ok (L2's script ran), nostart (L2's kernel
# died or hung before the script started: nested TCG has failed the exec
# of init with EFAULT), timeout
run_l2() {	# attempt
	rm -f /tmp/l2con.in /tmp/l2con.out
	mkfifo /tmp/l2con.in /tmp/l2con.out
	C=$R/l2-console-$1.log
	: >"$C"
	echo "L2 attempt $1" >>"$R/l2-console.log"
	t0=$(now)
	# shellcheck disable=SC2086
	$QBIN $QCOMMON -smp 1 -m "$((256 + 32 * ($1 - 1)))" -no-reboot \
		-kernel /ism2/vmlinuz -initrd /ism2/initrd.cpio \
		-append "console=ttysclp0 panic=-1 rdinit=/bin/busybox -- sh /l2-stage2.sh" \
		-serial pipe:/tmp/l2con $DEVARGS \
		</dev/null >"$R/l2-qemu-$1.log" 2>&1 &
	qpid=$!
	reader "$C" &
	rpid=$!
	result=ok
	while kill -0 $qpid 2>/dev/null; do
		t=$(($(now) - t0))
		if ! grep -q 'ZISM-L2: start' "$C"; then
			if grep -q 'Kernel panic\|Kernel fault\|t execute' "$C" ||
			   [ $t -ge "$L2_START_TIMEOUT" ]; then
				result=nostart
				note "attempt $1: L2's script did not start after $t s"
				sleep 2
				break
			fi
		fi
		if [ $t -ge "$L2_TIMEOUT" ]; then
			note "attempt $1: L2 still running after $t s"
			result=timeout
			break
		fi
		sleep 2
	done
	if kill -0 $qpid 2>/dev/null; then
		kill $qpid; sleep 3; kill -9 $qpid 2>/dev/null
	fi
	wait $qpid
	qrc=$?
	i=0
	while kill -0 $rpid 2>/dev/null && [ $i -lt 10 ]; do
		sleep 1
		i=$((i + 1))
	done
	kill $rpid 2>/dev/null
	wait $rpid
	# gone before the script ran (a panic ends QEMU: -no-reboot)
	grep -q 'ZISM-L2: start' "$C" || result=nostart
	cat "$C" >>"$R/l2-console.log"
	note "attempt $1: L2 QEMU $result, exit $qrc after $(($(now) - t0)) s"
	echo "$result $qrc" >"$R/l2-result-$1.txt"
	[ $result != nostart ]
}

if [ -z "$DEVARGS" ]; then
	note "no function for L2"
	fail=1
else
	: >"$R/l2-console.log"
	attempt=1
	while ! run_l2 $attempt && [ $attempt -lt "$L2_ATTEMPTS" ]; do
		attempt=$((attempt + 1))
	done
	echo $attempt >"$R/l2-attempts.txt"
	cp "$R/l2-qemu-$attempt.log" "$R/l2-qemu.log"
	echo "$qrc" >"$R/l2-qemu.rc"
	[ "$result" = ok ] && [ "$qrc" = 0 ] || fail=1
	grep -q 'ZISM-L2: status 0' "$R/l2-console-$attempt.log" ||
		{ note "L2 did not end with status 0"; fail=1; }
	cp "$R/l2-console-$attempt.log" "$R/l2-final-console.log"
fi
grep -q '^ism ' /proc/modules && { rmmod ism || { note "rmmod ism failed"; fail=1; }; }
dmesg >"$R/l1-dmesg.txt"
if kernel_reports >"$R/l1-reports.txt"; then
	note "L1 kernel reports (l1-reports.txt)"
	fail=1
fi
note "done, fail=$fail"
exit $fail
