#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# In the tests/vm guest (busybox sh), run by guest.sh as
# `sh /zpci/ism/guest-modules.sh RESULTS_DIR`: load Linux's ISM driver and
# SMC-D, built out of tree by tests/ism/build.sh (ism.ko, smc.ko with the
# ISM client, smc_diag.ko in /zpci/ism; the Debian modules smc needs in
# /zpci/ism/deps.list), check them, unload them again.
#
# Test cases (JUnit XML $R/gtest-ismmod.xml, suite IsmModules, counted with
# the guest suite's gtest*.xml):
#   Load            deps, then ism, smc, smc_diag (insmod, in that order)
#                   are in /proc/modules; smc holds ism (its ISM client uses
#                   ism's exports)
#   PciDriver       /sys/bus/pci/drivers/ism exists and binds nothing that
#                   is not an ISM function (1014:04ed)
#   Unload          rmmod smc_diag, smc, ism and the deps this script
#                   loaded; /sys/module/* and the PCI driver are gone
#   NoKernelReport  no new dmesg line matches /zpci/kernel-reports.ere
# Human-readable result (sizes, load times): $R/ism-modules.txt.
# Exit status 0 only if every case passed.

R=${1:-/results}
D=/zpci/ism
TXT=$R/ism-modules.txt
XML=$R/gtest-ismmod.xml
mkdir -p "$R"
: >"$TXT"
cases=
ncases=0
nfail=0
case_fail=0
case_msg=

say() { echo "ism-modules: $*"; echo "$*" >>"$TXT"; }
bad() { say "FAIL: $*"; case_fail=1; case_msg="${case_msg}$*; "; }
# centiseconds since boot (/proc/uptime: 10 ms resolution)
cs() { awk '{ split($1, a, "."); print a[1] * 100 + a[2] }' /proc/uptime; }
ms() { echo $(( ($2 - $1) * 10 )); }
loaded() { grep -q "^$1 " /proc/modules; }
xml_esc() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }
begin() { case_name=$1; case_fail=0; case_msg=; case_t0=$(cs); }
end() {
	t=$(ms "$case_t0" "$(cs)")
	sec=$(awk -v m="$t" 'BEGIN { printf "%.3f", m / 1000 }')
	ncases=$((ncases + 1))
	if [ $case_fail = 0 ]; then
		say "[       OK ] IsmModules.$case_name ($t ms)"
		cases="$cases<testcase name=\"$case_name\" classname=\"IsmModules\" status=\"run\" result=\"completed\" time=\"$sec\"/>
"
	else
		nfail=$((nfail + 1))
		say "[  FAILED  ] IsmModules.$case_name ($t ms)"
		m=$(printf '%s' "$case_msg" | xml_esc)
		cases="$cases<testcase name=\"$case_name\" classname=\"IsmModules\" status=\"run\" result=\"completed\" time=\"$sec\"><failure message=\"$m\"/></testcase>
"
	fi
}

kver=$(uname -r)
dmesg_n0=$(dmesg | wc -l)
t_all=$(cs)
say "kernel $kver; modules: $(cd "$D" && echo *.ko)"

# ---- Load
begin Load
ours=
for m in $(cat "$D/deps.list" 2>/dev/null); do
	n=$(basename "$m" .ko | tr - _)
	loaded "$n" && continue
	if insmod "/lib/modules/$m" 2>>"$TXT"; then
		ours="$n $ours"
	else
		bad "insmod $m (a dependency) failed"
	fi
done
say "dependencies loaded here: ${ours:-none}"
for m in ism smc smc_diag; do
	f=$D/$m.ko
	[ -f "$f" ] || { bad "no $f"; continue; }
	t0=$(cs)
	if insmod "$f" 2>>"$TXT"; then
		say "$m.ko: $(wc -c <"$f") bytes, insmod $(ms "$t0" "$(cs)") ms, $(awk -v m="$m" '$1 == m { print "size " $2 }' /proc/modules)"
	else
		bad "insmod $m.ko failed (kernel: $(dmesg | tail -n 3 | tr '\n' ' '))"
	fi
	loaded "$m" || bad "$m is not in /proc/modules"
done
# smc's ISM client is what makes it use ism's exports
if loaded smc; then
	[ -e /sys/module/ism/holders/smc ] ||
		bad "smc does not hold ism (/sys/module/ism/holders: $(ls /sys/module/ism/holders 2>/dev/null | tr '\n' ' '))"
fi
end

# ---- PciDriver
begin PciDriver
drv=/sys/bus/pci/drivers/ism
if [ -d "$drv" ]; then
	nb=0
	for l in "$drv"/*:*; do
		[ -e "$l" ] || continue
		a=$(basename "$l")
		v=$(cat "/sys/bus/pci/devices/$a/vendor")
		d=$(cat "/sys/bus/pci/devices/$a/device")
		nb=$((nb + 1))
		[ "$v:$d" = 0x1014:0x04ed ] || bad "ism bound $a ($v:$d), not an ISM function"
	done
	nall=0
	for a in /sys/bus/pci/devices/*; do
		[ -e "$a" ] && nall=$((nall + 1))
	done
	say "PCI driver ism registered; bound to $nb of $nall PCI functions (none of them 1014:04ed is expected here)"
else
	bad "no $drv: ism did not register its PCI driver"
fi
end

# ---- Unload
begin Unload
for m in smc_diag smc ism; do
	loaded "$m" || continue
	t0=$(cs)
	if rmmod "$m" 2>>"$TXT"; then
		say "rmmod $m: $(ms "$t0" "$(cs)") ms"
	else
		bad "rmmod $m failed (refcnt $(cat "/sys/module/$m/refcnt" 2>/dev/null))"
	fi
done
for m in ism smc smc_diag; do
	loaded "$m" && bad "$m still in /proc/modules"
	[ -e "/sys/module/$m" ] && bad "/sys/module/$m still exists"
done
[ -e "$drv" ] && bad "$drv still exists"
for n in $ours; do
	rmmod "$n" 2>>"$TXT" || bad "rmmod $n (a dependency) failed"
done
end

# ---- NoKernelReport
begin NoKernelReport
dmesg | tail -n +"$((dmesg_n0 + 1))" >"$R/ism-modules-dmesg.txt"
if grep -nE -f /zpci/kernel-reports.ere "$R/ism-modules-dmesg.txt" >"$R/ism-modules-reports.txt"; then
	bad "kernel reports: $(head -n 3 "$R/ism-modules-reports.txt" | tr '\n' ' ')"
fi
end

total=$(ms "$t_all" "$(cs)")
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo "<testsuites tests=\"$ncases\" failures=\"$nfail\" disabled=\"0\" errors=\"0\" name=\"ism-modules\">"
	echo "<testsuite name=\"IsmModules\" tests=\"$ncases\" failures=\"$nfail\" disabled=\"0\" skipped=\"0\" errors=\"0\">"
	printf '%s' "$cases"
	echo "</testsuite>"
	echo "</testsuites>"
} >"$XML"
if [ $nfail = 0 ]; then
	say "RESULT: PASS ($ncases cases, $total ms)"
	exit 0
fi
say "RESULT: FAIL ($nfail of $ncases cases, $total ms)"
exit 1
