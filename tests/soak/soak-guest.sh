#!/bin/sh
# The guest side of `make soak` (tests/soak/README.md), run by the test
# guest's /init as /zpci/soak-guest.sh (zpci.script=) with the environment
# of tests/vm/README.md (ZPCI_STRICT, ZPCI_ISM, ZPCI_WIDE, ZPCI_CTL,
# ZPCI_RESULTS) and, from the kernel command line, ZPCI_SOAK_MINUTES,
# ZPCI_SOAK_PHASE_SECONDS, ZPCI_SOAK_WINDOW_KIB, ZPCI_SOAK_SEED,
# ZPCI_SOAK_CORRUPT=1 (self-test: one wrong byte sent to the host).
#
# One tenant process per function (strict, ism = relaxed, wide), each
# bound to zpci_io, issuing random valid and invalid requests into a
# window of its BAR 2; two netlink readers throughout; phases cycling
# steady, unbind/rebind, hot-unplug/replug, busy, cc3 and error event,
# each on one function in turn.  After every phase: the host compares every
# window with the tenants' shadows (CHECK), pins and kernel memory are
# sampled.  One JSON line per phase in soak-phases.jsonl; exit 0 only if
# nothing failed.
R=${ZPCI_RESULTS:-/results}
BIN=${ZPCI_BIN:-/zpci/bin}
S=$BIN/zpci_soak
MIN=${ZPCI_SOAK_MINUTES:-20}
PHASE_S=${ZPCI_SOAK_PHASE_SECONDS:-20}
WIN_OFF=$((1 << 20))
WIN_LEN=$((${ZPCI_SOAK_WINDOW_KIB:-64} * 1024))
SEED=${ZPCI_SOAK_SEED:-$(date +%s)}
T=/tmp/soak
mkdir -p "$R" "$T"
SUMMARY=$R/soak-guest.txt
PHASES=$R/soak-phases.jsonl
: >"$SUMMARY"
: >"$PHASES"
failures=0

note() { echo "soak: $*"; echo "$*" >>"$SUMMARY"; }
fail() { note "FAIL: $*"; failures=$((failures + 1)); }
kmsg() { echo "zpci-soak: $*" >/dev/kmsg 2>/dev/null; }

# driver_of, bind_to, unbind_from, pins_outstanding: tests/vm/guest-lib.sh
. /zpci/lib.sh

addr_of() {
	case $1 in
	strict) echo "$ZPCI_STRICT" ;;
	ism) echo "$ZPCI_ISM" ;;
	wide) echo "$ZPCI_WIDE" ;;
	esac
}
FNS="strict ism wide"

# bind FN: FN's function to zpci_io (ism: BAR 2 refuses PCISTG, as
# guest.sh tells the driver), then open the tenant's gate
bind_fn() {
	a=$(addr_of "$1")
	bind_to zpci_io "$a" || { fail "bind $1 ($a): bound to '$(driver_of "$a")'"; return 1; }
	if [ "$1" = ism ]; then
		echo 0x4 >"/sys/bus/pci/devices/$a/zpci_io_nostg_bars" ||
			{ fail "ism: cannot set zpci_io_nostg_bars"; return 1; }
	fi
	touch "$T/gate-$1"
}

recovered_lines() { dmesg | grep -c "$1: zpci_io: recovered"; }

echo on >/proc/sys/kernel/printk_devkmsg 2>/dev/null
note "kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs, minutes $MIN, phase ${PHASE_S}s, window $WIN_LEN B at $WIN_OFF, seed $SEED"
for f in $FNS; do
	[ -n "$(addr_of $f)" ] || fail "no $f function"
done
[ -x "$S" ] || fail "no $S"
[ -n "${ZPCI_CTL:-}" ] || fail "no control port"
if [ $failures -ne 0 ]; then
	note "RESULT: FAIL (setup)"
	exit 1
fi
for f in $FNS; do bind_fn $f; done

"$S" sample >"$R/soak-sample-start.json" || fail "sample at the start"
pins0=$(pins_outstanding)
rm -f "$T/stop"
"$S" nlread --stop "$T/stop" --out "$R/soak-nlread-1.json" >/dev/null 2>&1 &
nl1=$!
"$S" nlread --stop "$T/stop" --out "$R/soak-nlread-2.json" >/dev/null 2>&1 &
nl2=$!

t_start=$(date +%s)
t_end=$((t_start + MIN * 60))
kinds="steady unbind unplug busy cc3 errevent"
k=0
while [ $(($(date +%s) + PHASE_S + 10)) -le $t_end ] || [ $k -eq 0 ]; do
	kind=$(echo $kinds | cut -d' ' -f$((k % 6 + 1)))
	fn=$(echo $FNS | cut -d' ' -f$(((k + k / 6) % 3 + 1)))
	a=$(addr_of $fn)
	t0=$(date +%s)
	kmsg "phase $k $kind $fn"
	pids=
	for f in $FNS; do
		"$S" tenant --fn $f --addr "$(addr_of $f)" --win "$WIN_OFF:$WIN_LEN" \
			--shadow "$T/shadow-$f.bin" --gate "$T/gate-$f" --seconds "$PHASE_S" \
			--seed $((SEED + k * 3 + ${#f})) --out "$T/tenant-$f.json" \
			>"$T/tenant-$f.out" 2>&1 &
		pids="$pids $!"
	done
	sleep 3
	action='{}'
	act_ok=1
	case $kind in
	steady) ;;
	unbind)
		rm -f "$T/gate-$fn"
		if unbind_from zpci_io "$a"; then
			bind_fn $fn || act_ok=0
		else
			act_ok=0
			fail "phase $k: unbind $fn ($a)"
		fi
		;;
	unplug)
		rm -f "$T/gate-$fn"
		if "$S" ctl --wait-deleted $fn DEVICE_DEL $fn >"$T/act.txt" 2>&1 &&
		   "$S" ctl DEVICE_ADD $fn >>"$T/act.txt" 2>&1; then
			n=0
			while [ ! -e "/sys/bus/pci/devices/$a" ] && [ $n -lt 600 ]; do
				sleep 0.1
				n=$((n + 1))
			done
			bind_fn $fn || act_ok=0
		else
			act_ok=0
			fail "phase $k: unplug/replug $fn: $(tr '\n' ' ' <"$T/act.txt")"
		fi
		;;
	busy|cc3|errevent)
		case $kind in
		# from the seed: a run can be repeated
		busy) n=$((1 + (SEED / 7 + k * 7919) % 300)) ;;
		cc3) n=$((1 + (SEED / 7 + k * 7919) % 40)) ;;
		errevent) n=$((1 + (SEED / 7 + k * 7919) % 200)) ;;
		esac
		rec0=$(recovered_lines "$a")
		if action=$("$S" fault --fn $fn --addr "$a" --kind $kind --n $n 2>"$T/act.txt"); then
			if [ $kind = errevent ]; then
				# the driver's resume: "zpci_io: recovered"
				w=0
				while [ "$(recovered_lines "$a")" -le "$rec0" ] && [ $w -lt 600 ]; do
					sleep 0.1
					w=$((w + 1))
				done
				[ "$(recovered_lines "$a")" -gt "$rec0" ] ||
					{ act_ok=0; fail "phase $k: no 'zpci_io: recovered' for $fn"; }
			fi
		else
			act_ok=0
			fail "phase $k: fault $kind $n on $fn: $action $(cat "$T/act.txt")"
		fi
		[ -n "$action" ] || action='{}'
		;;
	esac
	t_act=$(($(date +%s) - t0))
	for p in $pids; do
		wait $p || true
	done
	tj=
	for f in $FNS; do
		j=$(cat "$T/tenant-$f.json" 2>/dev/null)
		if [ -z "$j" ]; then
			fail "phase $k: tenant $f wrote no result: $(tail -n 3 "$T/tenant-$f.out" | tr '\n' ' ')"
			j="{\"fn\": \"$f\", \"error\": \"no result\"}"
		else
			err=$(echo "$j" | sed -n 's/.*"error": "\([^"]*\)".*/\1/p')
			[ -z "$err" ] || fail "phase $k: tenant $f: $err"
			# survived: the function served the tenant again at the end
			tail_ok=$(echo "$j" | sed -n 's/.*"ok_after_last_failure": \([0-9]*\).*/\1/p')
			[ "${tail_ok:-0}" -gt 0 ] || fail "phase $k: tenant $f ended without a successful request after its last failure"
		fi
		rm -f "$T/tenant-$f.json"
		tj="$tj${tj:+, }$j"
	done
	# the host compares every window with its tenant's shadow
	cj=
	for f in $FNS; do
		corrupt=
		[ "${ZPCI_SOAK_CORRUPT:-0}" = 1 ] && [ $k -eq 0 ] && [ $f = strict ] && corrupt=--corrupt
		j=$("$S" check --fn $f --win $WIN_OFF --shadow "$T/shadow-$f.bin" --tag "p$k" $corrupt 2>"$T/check.err")
		rc=$?
		[ $rc -eq 0 ] || fail "phase $k: host check of $f: rc $rc $j $(cat "$T/check.err")"
		[ -n "$j" ] || j="{\"fn\": \"$f\", \"error\": \"check failed\"}"
		cj="$cj${cj:+, }$j"
	done
	sj=$("$S" sample) || fail "phase $k: sample"
	[ -n "$sj" ] || sj='{}'
	echo "{\"phase\": $k, \"kind\": \"$kind\", \"fn\": \"$fn\", \"action_ok\": $act_ok, \"action_seconds\": $t_act, \"seconds\": $(($(date +%s) - t0)), \"action\": $action, \"tenants\": [$tj], \"checks\": [$cj], \"sample\": $sj}" >>"$PHASES"
	note "phase $k $kind $fn: action_ok $act_ok, $(($(date +%s) - t0)) s"
	k=$((k + 1))
	[ $failures -eq 0 ] || [ "${ZPCI_SOAK_KEEP_GOING:-0}" = 1 ] || break
done
t_stop=$(date +%s)
touch "$T/stop"
wait $nl1 || fail "netlink reader 1 (see soak-nlread-1.json)"
wait $nl2 || fail "netlink reader 2 (see soak-nlread-2.json)"
"$S" sample >"$R/soak-sample-end.json" || fail "sample at the end"
note "soak: $k phases in $((t_stop - t_start)) s"
echo "{\"phases\": $k, \"soak_seconds\": $((t_stop - t_start)), \"minutes_requested\": $MIN, \"phase_seconds\": $PHASE_S, \"window_bytes\": $WIN_LEN, \"window_offset\": $WIN_OFF, \"seed\": $SEED}" >"$R/soak-run.json"

# the final bytes for the host's verifier (tests/vm/host): every window
# must equal its shadow, every other byte of the BARs must still be zero
echo "zpci-vm-manifest 1" >"$R/manifest.txt"
for f in $FNS; do
	cp "$T/shadow-$f.bin" "$R/soak-shadow-$f.bin"
	echo "image $f $WIN_OFF $WIN_LEN 0 0 soak-shadow-$f.bin:soak" >>"$R/manifest.txt"
done

# release everything, unload the driver: nothing may be left behind
for f in $FNS; do
	rm -f "$T/gate-$f"
	unbind_from zpci_io "$(addr_of $f)" || fail "unbind $f"
done
rmmod zpci_io || fail "rmmod zpci_io (refcnt $(cat /sys/module/zpci_io/refcnt 2>/dev/null))"
pins1=$(pins_outstanding)
echo "{\"pins_outstanding_start\": \"$pins0\", \"pins_outstanding_end\": \"$pins1\"}" >"$R/soak-pins.json"
[ "$pins1" = "$pins0" ] || fail "pins outstanding: $pins0 at the start, $pins1 after rmmod"
dmesg >"$R/dmesg.txt"
if grep -nE -f /zpci/kernel-reports.ere "$R/dmesg.txt" >"$R/dmesg-reports.txt"; then
	fail "kernel reports in dmesg: $(head -n 3 "$R/dmesg-reports.txt" | tr '\n' ' ')"
fi
if dmesg | grep -q "does not support error recovery\|Automatic recovery failed"; then
	fail "an error event was not recovered: $(dmesg | grep 'does not support error recovery\|Automatic recovery failed' | head -n 1)"
fi
if [ $failures -eq 0 ]; then
	note "RESULT: PASS"
	exit 0
fi
note "RESULT: FAIL ($failures failures)"
exit 1
