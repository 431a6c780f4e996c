#!/bin/bash
# Runs inside the s390x root (chroot under qemu-user), started by
# tests/pkg/native-test.sh with the s390x .debs in /tmp/zpci-debs: the
# packages as an administrator installs them, the module built by DKMS
# natively (no ARCH, no CROSS_COMPILE), a kernel headers update, removal,
# and a C program built through pkg-config.  Any failed check exits 1.
set -euo pipefail
kver=$(cat /.zpci-kver)
out=/tmp/zpci-out
mkdir -p "$out"
step() { printf '[s390x %(%H:%M:%S)T] %s\n' -1 "$*"; }
fail() { printf '[s390x] FAIL: %s\n' "$*"; exit 1; }
ko() { find "/lib/modules/$kver/updates" -name 'zpci_io.ko*' 2>/dev/null; }
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(uname -m)" = s390x ] || fail "uname -m says $(uname -m), not s390x"
[ -z "${ARCH:-}${CROSS_COMPILE:-}" ] || fail "ARCH/CROSS_COMPILE set in the environment"

step "1. dpkg -i $(cd /tmp/zpci-debs && echo *.deb)"
dpkg -i /tmp/zpci-debs/*.deb
dkms status zpci-io | tee "$out/status-1"
# the DKMS module version is the package's (kmod/Makefile, kmod/dkms.conf)
dv=$(dpkg-query -W -f='${Version}' zpci-io-dkms)
dv=${dv%%-*}
grep -q "^zpci-io/$dv: added" "$out/status-1" || fail "zpci-io/$dv not added to DKMS"
[ -z "$(ko)" ] || fail "a module was built before any headers were there"
[ -f /usr/src/zpci-io-$dv/dkms.conf ] || fail "no /usr/src/zpci-io-$dv/dkms.conf"

step "2. kernel headers $kver arrive: the DKMS hook builds the module"
t=$(date +%s.%N)
dpkg -i /var/cache/zpci-headers/*.deb
echo "hook_build_install_s=$(secs "$t")" >>"$out/times"
dkms status zpci-io | tee "$out/status-2"
grep -q "^zpci-io/$dv, $kver, s390x: installed" "$out/status-2" ||
	fail "the headers' DKMS hook did not install zpci-io for $kver"
m=$(ko)
[ -n "$m" ] || fail "no zpci_io.ko under /lib/modules/$kver/updates"
log=/var/lib/dkms/zpci-io/$dv/$kver/s390x/log/make.log
cp "$log" "$out/make.log"
grep -q 'ARCH=' "$log" && { grep 'ARCH=' "$log"; fail "ARCH= on the native kbuild command line"; }
grep -q '^zpci_io: conftest: have BASELINE$' "$log" ||
	fail "the conftest probes did not run (no baseline in $log)"
modinfo -k "$kver" zpci_io | tee "$out/modinfo"
grep -q "^vermagic: *$kver " "$out/modinfo" || fail "vermagic is not $kver"

# the native build's own time: from DKMS's make.log header to its last write
t_start=$(date -d "$(sed -n 2p "$log")" +%s) || fail "no start date in $log"
echo "dkms_build_s=$(( $(stat -c %Y "$log") - t_start ))" >>"$out/times"
case $m in
*.xz) xz -dc "$m" >"$out/zpci_io.ko" ;;
*) cp "$m" "$out/zpci_io.ko" ;;
esac
od -An -tx1 -j18 -N2 "$out/zpci_io.ko" | grep -q '00 16' ||
	fail "zpci_io.ko is not an s390 ELF object"

old=$(cat /.zpci-kver-old)
step "2b. kernel headers $old arrive (no CONFIG_VFIO_PCI_CORE): DKMS skips that kernel"
# dkms >= 3.0.11 skips a BUILD_EXCLUSIVE mismatch in autoinstall; bookworm's
# 3.0.10 reports it as a failed autoinstall, so the headers' postinst fails.
# Either way nothing may be compiled for that kernel.
if ! dpkg -i /var/cache/zpci-headers-old/*.deb >"$out/old-headers.log" 2>&1; then
	cat "$out/old-headers.log"
	grep -q 'BUILD_EXCLUSIVE directive which does not match' "$out/old-headers.log" ||
		fail "installing the $old headers failed for another reason than BUILD_EXCLUSIVE"
	echo "NOTE: dkms $(dpkg-query -W -f '${Version}' dkms) fails the $old headers' postinst on the BUILD_EXCLUSIVE skip (fixed in dkms 3.0.11)"
fi
grep -q 'Building module' "$out/old-headers.log" && fail "DKMS started a build for $old"
dkms status zpci-io | tee "$out/status-2b"
grep -q "^zpci-io/$dv, $old, s390x: installed" "$out/status-2b" &&
	fail "zpci-io installed for $old, which has no vfio-pci-core"
grep -q "^zpci-io/$dv, $kver, s390x: installed" "$out/status-2b" ||
	fail "zpci-io for $kver gone after installing the $old headers"
[ -z "$(find "/lib/modules/$old" -name 'zpci_io.ko*' 2>/dev/null)" ] ||
	fail "a zpci_io.ko for $old"

step "3. dkms remove"
dkms remove zpci-io/$dv -k "$kver"
[ -z "$(ko)" ] || fail "zpci_io.ko still there after dkms remove"
dkms status zpci-io | tee "$out/status-3"
grep -q "^zpci-io/$dv, $kver, s390x: installed" "$out/status-3" &&
	fail "DKMS still lists zpci-io as installed for $kver"

step "4. a C program through pkg-config (libzpci-dev)"
pkg-config --modversion zpci
# shellcheck disable=SC2046  # pkg-config's words are separate flags
gcc -Wall -Wextra -Werror -o /tmp/consumer /tmp/consumer.c \
	$(pkg-config --cflags --libs zpci)
/tmp/consumer
objdump -p /tmp/consumer | grep -q 'NEEDED *libzpci.so.1' || fail "consumer not linked to libzpci.so.1"
zpci plan write --offset 0x7f0 --len 300

step "5. dpkg --purge zpci-io-dkms"
dpkg --purge zpci-io-dkms
[ -z "$(ko)" ] || fail "zpci_io.ko still there after purging the package"
[ ! -e /usr/src/zpci-io-$dv ] || fail "/usr/src/zpci-io-$dv left behind"
! dkms status zpci-io | grep -q . || fail "DKMS still knows zpci-io"
step "all checks passed"
