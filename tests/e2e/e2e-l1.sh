#!/bin/sh
# L1 side of the nested end-to-end test, run by tests/vm/init
# (zpci.script=/zpci/e2e-l1.sh). See tests/e2e/README.md.
#
# Reads /e2e/config (written by tests/e2e/run.sh):
#   E2E_FUNCS      "fid:name:mode ..." (mode forwarded|stock|fenced: bound to
#                  zpci_io like forwarded, but its region fences every BAR)
#   E2E_QEMU       directory of the L2 QEMU (bin/ lib/ share/qemu)
#   E2E_FWD_PROP   zpci device property that turns forwarding off (patched QEMU),
#                  empty with a stock QEMU (then only stock functions go to L2)
#   E2E_L2_MEM, E2E_L2_TIMEOUT, E2E_KSTART_TIMEOUT (s), E2E_L2_APPEND
# Binds the functions (forwarded and ISM-like: zpci_io, stock: vfio-pci),
# checks whether a stock QEMU can serve the ISM-like function, boots L2 once
# (up to L2_ATTEMPTS boots in all, each with 32 MiB more, if its kernel has
# not started within E2E_KSTART_TIMEOUT or died before /init), answers
# L2's ZE2E-SYNC lines after reading zpci_io's counters, and leaves
# everything in $ZPCI_RESULTS/e2e.
. /e2e/config
R=$ZPCI_RESULTS/e2e
mkdir -p "$R"
BIN=/zpci/bin
CR=$(printf '\r')
# boots of L2 at most: most that fail are the exec of /init failing with
# EFAULT in the nested emulation, within seconds (tests/e2e/README.md)
L2_ATTEMPTS=${L2_ATTEMPTS:-5}

note() { echo "ZPCI-VM: e2e: $*"; echo "$*" >>"$R/l1.log"; }
now() { read -r up _ </proc/uptime; echo "${up%.*}"; }
fail=0

addr_of() {
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d/function_id" ] || continue
		[ $(($(cat "$d/function_id"))) -eq "$1" ] && { echo "${d##*/}"; return 0; }
	done
	return 1
}

bind() {	# addr driver
	d=/sys/bus/pci/devices/$1
	if [ -e "$d/driver" ]; then
		echo "$1" >"$d/driver/unbind" || return 1
	fi
	echo "$2" >"$d/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe 2>/dev/null
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = "$2" ]
}

# ---------------------------------------------------------------- bind
ROLES=
DEVARGS=
ISM_ADDR=
for f in $E2E_FUNCS; do
	fid=${f%%:*}; rest=${f#*:}; name=${rest%%:*}; mode=${rest#*:}
	addr=$(addr_of "$fid") || { note "function fid $fid ($name $mode) not found"; fail=1; continue; }
	drv=zpci_io
	[ "$mode" = stock ] && drv=vfio-pci
	if bind "$addr" $drv; then
		note "fid $fid $name $mode: $addr bound to $drv"
	else
		note "fid $fid $name $mode: $addr cannot be bound to $drv"
		fail=1
		continue
	fi
	[ "$name" = ism ] && ISM_ADDR=$addr
	# a stock QEMU serves only the stock functions
	[ "$mode" != stock ] && [ -z "$E2E_FWD_PROP" ] && continue
	prop=
	[ "$mode" = stock ] && [ -n "$E2E_FWD_PROP" ] && prop=",$E2E_FWD_PROP"
	ROLES="$ROLES${ROLES:+,}$fid:$name:$mode"
	echo "$fid $addr" >>/tmp/e2e-addrs
	DEVARGS="$DEVARGS -device zpci,uid=$fid,fid=$fid,target=f$fid$prop -device vfio-pci,host=$addr,id=f$fid"
done
echo "$ROLES" >"$R/roles.txt"
QBIN="$E2E_QEMU/lib/ld64.so.1 --library-path $E2E_QEMU/lib $E2E_QEMU/bin/qemu-system-s390x"
# a sanitized QEMU (make e2e-san-check): a report ends QEMU with a non-zero
# status and its text in the QEMU log (both fail the run); QEMU's own
# allocations at exit are not leaks worth failing on
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
QCOMMON="-M s390-ccw-virtio -cpu max -accel tcg,thread=single -nodefaults -display none -L $E2E_QEMU/share/qemu"

# ------------------------------------------- can stock QEMU serve the ISM-like function?
if [ -n "$ISM_ADDR" ]; then
	prop=
	[ -n "$E2E_FWD_PROP" ] && prop=",$E2E_FWD_PROP"
	t0=$(now)
	# shellcheck disable=SC2086
	echo quit | $QBIN $QCOMMON -m 128 -S -monitor stdio \
		-device "zpci,uid=2,fid=2,target=ismprobe$prop" \
		-device "vfio-pci,host=$ISM_ADDR,id=ismprobe" >"$R/ism-stock-probe.log" 2>&1
	rc=$?
	echo "$rc" >"$R/ism-stock-probe.rc"
	note "ISM-like function with forwarding off: QEMU exit $rc in $(($(now) - t0)) s: $(grep -o 'qemu-system-s390x: .*' "$R/ism-stock-probe.log" | head -n 1)"
fi

# ---------------------------------------------------------------- L2
# CPU time of L1 (/proc/stat "cpu" line) and of each L2 QEMU thread
# (utime stime, in USER_HZ ticks) at each sync point; verify.py writes
# them per benchmark window to cputimes.json (where L1's time went)
cputimes() {	# tag
	read -r up </proc/uptime
	read -r cpu </proc/stat
	{
		echo "tag $1 $up"
		echo "$cpu"
		for t in /proc/"$qpid"/task/*/stat; do
			read -r s <"$t" 2>/dev/null || continue
			tid=${s%% *}
			s=${s##*) }
			# shellcheck disable=SC2086
			set -- $s
			echo "thread $tid ${12} ${13}"
		done
	} >>"$R/cputimes.txt"
}

# E2E_TRACE="fid-size-round ...": the L2 QEMU's pwrite64/pread64 system
# calls during those benchmarks, timestamped by the L1 kernel's tracefs,
# into trace-<tag>.txt (where the time of a forwarded or stock instruction
# goes: inside the system call, or between two of them)
TR=/sys/kernel/tracing
TRACE_EV="syscalls/sys_enter_pwrite64 syscalls/sys_exit_pwrite64 syscalls/sys_enter_pread64 syscalls/sys_exit_pread64 ${E2E_TRACE_MORE:-}"
traced() { case " ${E2E_TRACE:-} " in *" $1 "*) return 0 ;; esac; return 1; }
trace_on() {	# tag
	traced "$1" || return 0
	[ -d $TR/events ] || mount -t tracefs tracefs $TR 2>/dev/null || return 0
	echo 0 >$TR/tracing_on
	echo >$TR/trace
	echo 16384 >$TR/buffer_size_kb
	for e in $TRACE_EV; do
		echo 1 >$TR/events/$e/enable
	done
	echo 1 >$TR/tracing_on
}
trace_off() {	# tag
	traced "$1" && [ -d $TR/events ] || return 0
	echo 0 >$TR/tracing_on
	for e in $TRACE_EV; do
		echo 0 >$TR/events/$e/enable
	done
	cat $TR/trace >"$R/trace-$1.txt"
	echo >$TR/trace
}

stats() {	# tag
	[ -n "${qpid:-}" ] && cputimes "$1"
	[ -x "$BIN/zpci" ] || return 0
	"$BIN/zpci" stats --json >"$R/stats-$1.json" 2>>"$R/stats.err" ||
		echo "stats $1 failed" >>"$R/stats.err"
}

# QMP of the L2 QEMU (a pipe chardev: /tmp/l2qmp.in, .out into
# l2-qmp-<attempt>.log), for the hotplug test
qmp() {	# json (fd 7: /tmp/l2qmp.in, opened read-write so that it never blocks)
	echo "$1" >&7
}
deleted() {	# attempt fid: DEVICE_DELETED events of f<fid> so far
	grep -c "\"DEVICE_DELETED\".*\"f$2\"" "$R/l2-qmp-$1.log"
}
fds() { ls "/proc/$qpid/fd" 2>/dev/null | wc -l; }

# one cycle: device_del of f<fid> (the guest deconfigures the function,
# then QEMU removes it and its zpci device), device_add of both again
hotplug_cycle() {	# attempt fid cycle
	local before i addr
	[ "$3" = 0 ] && echo "fds before $(fds)" >>"$R/hotplug.txt"
	before=$(deleted "$1" "$2")
	qmp "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"f$2\"}}"
	i=0
	while [ "$(deleted "$1" "$2")" -le "$before" ] && [ $i -lt 1500 ]; do
		usleep 200000
		i=$((i + 1))
	done
	if [ "$(deleted "$1" "$2")" -le "$before" ]; then
		echo "cycle $3 not-deleted" >>"$R/hotplug.txt"
		return 1
	fi
	addr=$(sed -n "s/^$2 //p" /tmp/e2e-addrs)
	qmp "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"zpci\", \"uid\": $2, \"fid\": $2, \"target\": \"f$2\"}}"
	qmp "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"vfio-pci\", \"host\": \"$addr\", \"id\": \"f$2\"}}"
	usleep 500000
	echo "cycle $3 ok $((i / 5)) s fds $(fds)" >>"$R/hotplug.txt"
}

# The host's control port (tests/vm/hostctl.py on L0's QMP, found by
# tests/vm/init as $ZPCI_CTL): one request, one answer line, both into
# faults.txt.  For the fault tests (issue 17 item 4) on the L0 function of
# fid <fid> (its zpci device in L0 has the id zpci-<name>).
ctl() {	# request
	ans="ERR no control port"
	if [ -n "${ZPCI_CTL:-}" ] && exec 5<>"$ZPCI_CTL"; then
		echo "$1" >&5
		IFS= read -r -t 60 ans <&5 || ans="ERR no answer in 60 s"
		exec 5>&-
	fi
	echo "$1 -> $ans" >>"$R/faults.txt"
}
fault_inject() {	# kind fid
	name=
	for f in $E2E_FUNCS; do
		[ "${f%%:*}" = "$2" ] && { name=${f#*:}; name=${name%%:*}; }
	done
	[ -n "$name" ] || { echo "fault $1 $2 -> ERR unknown fid" >>"$R/faults.txt"; return 1; }
	ctl "FAULT_STATUS $name"
	case "$1" in
	busy) ctl "FAULT $name busy 300" ;;	# > 2 x the driver's 128 retries
	cc3) ctl "FAULT $name inval 1" ;;
	error) ctl "RECOVER $name 11" ;;	# an error event (pec 0x000b)
	end) ;;
	*) echo "fault $1 -> ERR unknown kind" >>"$R/faults.txt" ;;
	esac
	return 0
}

reader() {	# attempt
	while IFS= read -r line; do
		line=${line%"$CR"}
		echo "$line" >>"$R/l2-console-$1.log"
		case "$line" in
		*"ZE2E-SYNC hotplug "*)
			# shellcheck disable=SC2086
			set -- "$1" ${line##*ZE2E-SYNC hotplug }
			hotplug_cycle "$1" "$2" "$3" || note "hotplug cycle $3 of fid $2 failed"
			echo go >/tmp/l2con.in
			set -- "$1"
			;;
		*"ZE2E-SYNC fault "*)
			# shellcheck disable=SC2086
			set -- "$1" ${line##*ZE2E-SYNC fault }
			echo "== fault $2 $3 (L1 uptime $(now))" >>"$R/faults.txt"
			fault_inject "$2" "$3" || note "fault $2 on fid $3 not injected"
			stats "fault-$2-$3"
			echo go >/tmp/l2con.in
			set -- "$1"
			;;
		*"ZE2E-SYNC cost "*)
			# make cost-e2e: a marker for the L0 plugin's log where
			# an L2 cost row starts (fwd|stock) or ends (end)
			# shellcheck disable=SC2086
			set -- "$1" ${line##*ZE2E-SYNC cost }
			echo "$2 $3" >>"$R/cost-rows.txt"
			"$BIN/cost-mark" "$2" || note "cost-mark $2 (fid $3) failed"
			echo go >/tmp/l2con.in
			set -- "$1"
			;;
		*"ZE2E-SYNC "*)
			# shellcheck disable=SC2086
			set -- "$1" ${line##*ZE2E-SYNC }
			[ "$2" = post ] && trace_off "$3-$4-$5"
			stats "$2-$3-$4-$5"
			[ "$2" = pre ] && trace_on "$3-$4-$5"
			echo go >/tmp/l2con.in
			set -- "$1"
			;;
		*"ZE2E-INIT: "*start|*"Linux version"*|*"ZE2E-INIT: "*"done status"*)
			echo "$(cat /proc/uptime) $line" >>"$R/timing-$1.txt"
			echo "ZPCI-VM: e2e: L2: $line"
			;;
		*"ZE2E-INIT: "*)
			echo "ZPCI-VM: e2e: L2: $line"
			;;
		esac
	done </tmp/l2con.out
}

run_l2() {	# attempt
	rm -f /tmp/l2con.in /tmp/l2con.out /tmp/l2qmp.in /tmp/l2qmp.out
	mkfifo /tmp/l2con.in /tmp/l2con.out /tmp/l2qmp.in /tmp/l2qmp.out
	: >"$R/l2-qmp-$1.log"
	rm -f "$R/hotplug.txt"
	exec 7<>/tmp/l2qmp.in
	: >"$R/l2-console-$1.log"
	echo "$(cat /proc/uptime) qemu start" >"$R/timing-$1.txt"
	# shellcheck disable=SC2086
	# each retry with 32 MiB more: a boot that failed in the nested
	# emulation (decompressor fault, exec of /init failing with EFAULT)
	# gets a different memory layout
	$QBIN $QCOMMON -smp 1 -m "$((E2E_L2_MEM + 32 * ($1 - 1)))" -no-reboot \
		-kernel /e2e/l2/vmlinuz -initrd /e2e/l2/initrd.cpio \
		-append "console=ttysclp0 panic=-1 ze2e.roles=$ROLES ze2e.sync=1 $E2E_L2_APPEND" \
		-serial pipe:/tmp/l2con $DEVARGS \
		-chardev pipe,id=qmp0,path=/tmp/l2qmp -mon chardev=qmp0,mode=control \
		</dev/null >"$R/l2-qemu-$1.log" 2>&1 &
	qpid=$!
	cat /tmp/l2qmp.out >>"$R/l2-qmp-$1.log" &
	qmp '{"execute": "qmp_capabilities"}'
	reader "$1" &
	rpid=$!
	t0=$(now)
	result=timeout
	while kill -0 $qpid 2>/dev/null; do
		t=$(($(now) - t0))
		if [ $t -ge "$E2E_KSTART_TIMEOUT" ] && ! grep -q 'Linux version' "$R/l2-console-$1.log"; then
			note "attempt $1: the L2 kernel has not started after $t s"
			result=nostart
			break
		fi
		# started, but no /init after twice the start deadline (seen once
		# in nested TCG on a loaded host): boot again
		if [ $t -ge $((2 * E2E_KSTART_TIMEOUT)) ] &&
		   ! grep -q 'ZE2E-INIT: ' "$R/l2-console-$1.log"; then
			note "attempt $1: the L2 kernel has not reached /init after $t s"
			result=nostart
			break
		fi
		# a fault in the decompressor (seen in nested TCG): no point waiting
		if grep -q 'Kernel fault: interruption code' "$R/l2-console-$1.log" &&
		   ! grep -q 'ZE2E-INIT: ' "$R/l2-console-$1.log"; then
			sleep 2
			note "attempt $1: the L2 kernel faulted before /init"
			result=nostart
			break
		fi
		if [ $t -ge "$E2E_L2_TIMEOUT" ]; then
			note "attempt $1: L2 still running after $t s"
			break
		fi
		sleep 2
	done
	if kill -0 $qpid 2>/dev/null; then
		kill $qpid; sleep 3; kill -9 $qpid 2>/dev/null
	elif grep -q 'ZE2E-INIT: ' "$R/l2-console-$1.log"; then
		result=exited
	else
		# gone before /init ran (e.g. a decompressor fault): retry
		result=nostart
	fi
	wait $qpid
	qrc=$?
	exec 7>&-
	# the reader ends at EOF once it has drained the console; it never
	# sees one if QEMU died before opening the pipe
	i=0
	while kill -0 $rpid 2>/dev/null && [ $i -lt 10 ]; do
		sleep 1
		i=$((i + 1))
	done
	kill $rpid 2>/dev/null
	wait $rpid
	note "attempt $1: L2 QEMU $result (exit $qrc) after $(($(now) - t0)) s"
	echo "$result $qrc" >"$R/l2-result-$1.txt"
	# an L2 QEMU that ran /init and then did not exit 0 (killed by a
	# signal, an abort, a fault) fails the run by itself
	if [ $result = exited ] && [ "$qrc" != 0 ]; then
		note "attempt $1: the L2 QEMU exited with status $qrc"
		fail=1
	fi
	[ $result != nostart ]
}

if [ -z "$ROLES" ]; then
	note "no function for L2"
	fail=1
else
	stats begin
	note "L2: roles $ROLES"
	attempt=1
	while ! run_l2 $attempt && [ $attempt -lt "$L2_ATTEMPTS" ]; do
		attempt=$((attempt + 1))
	done
	echo $attempt >"$R/l2-attempts.txt"
	cp "$R/l2-console-$attempt.log" "$R/l2-console.log"
	cp "$R/l2-qemu-$attempt.log" "$R/l2-qemu.log"
	stats end
	if ! grep -q 'ZE2E-INIT: ' "$R"/l2-console-*.log; then
		# no attempt reached /init: the nested boot, not the product,
		# failed; the host reports the run as skipped, loudly
		note "L2 never reached /init in $attempt attempts"
		echo "$attempt" >"$R/l2-noboot.txt"
	elif ! grep -q 'ZE2E-INIT: .*done status 0' "$R/l2-console.log"; then
		note "L2 did not finish with status 0"
		fail=1
	fi
fi
dmesg >"$R/l1-dmesg.txt"
note "e2e-l1 done, fail=$fail"
exit $fail
