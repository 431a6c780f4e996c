#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, at test time, what the peer benchmark needs for Debian sid's 7.x
# s390x kernel, from Debian's own packages (nothing of Linux is copied into
# this project):
#
#   modpost          a host modpost for bookworm: the one in sid's
#                    linux-kbuild needs glibc 2.38.  Built from
#                    scripts/mod of linux-source-7.x (elfconfig and
#                    devicetable offsets generated for s390x).
#   ism-vfio-pci.ko  upstream's vfio ISM variant driver
#                    (drivers/vfio/pci/ism/main.c of linux-source-7.x, which
#                    Debian builds with CONFIG_ISM_VFIO_PCI unset), built
#                    out of tree with CONFIG_ISM_VFIO_PCI=m.
#   sid7-peer.env    $ZPCI_CACHE/kernel/sid7.env plus ZPCI_MODPOST; run.sh
#                    boots it with ZPCI_VM_KENV=sid7-peer.
#
# The compiler is bookworm's gcc 12 through kmod/scripts/s390x-gcc-compat
# (sid's kernel was built with gcc 16); modules get -fno-stack-protector,
# because gcc 12 has no -mstack-protector-guard=global on s390 and its
# default (TLS) guard would read the canary from the user thread pointer.
# No module BTF: bookworm's pahole 1.24 lacks the options 7.x passes.
#
# Usage: tests/peer/build-peer.sh      prints "KEY=path" lines:
#   ZPCI_PEER_DIR, ZPCI_MODPOST, ZPCI_ISM_KO, ZPCI_PEER_KENV, ZPCI_PEER_KENVFILE
# Cached in $ZPCI_CACHE/peer/<hash of the inputs>/ (flock; 3 kept).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/debfetch.sh
. "$repo/scripts/debfetch.sh"
cache=$ZPCI_CACHE
series=${ZPCI_PEER_SERIES:-7.2}
case "$series" in *[!0-9.]*|'') echo "build-peer: bad ZPCI_PEER_SERIES" >&2; exit 2 ;; esac
log() { echo "build-peer: $*" >&2; }
debfetch_need || exit 1
export DEBFETCH_QUIET=1

"$repo/kmod/scripts/fetch-kernel.sh" --suite sid --series 7 --env sid7 --quiet >/dev/null
# shellcheck disable=SC1091
. "$cache/kernel/sid7.env"
case "$ZPCI_KVER" in "$series".*) ;; *)
	log "sid's kernel is $ZPCI_KVER, not $series.x (set ZPCI_PEER_SERIES)"; exit 1 ;;
esac
srcdeb=$("$repo/scripts/debfetch.sh" deb sid all "linux-source-$series")
[ -f "$srcdeb" ] || { log "no linux-source-$series .deb"; exit 1; }
compat=$repo/kmod/scripts/s390x-gcc-compat

key=$( {
	basename "$srcdeb"; echo "$ZPCI_KVER"
	cat "$0" "$here/ism/Kbuild" "$compat"
	gcc --version | head -1; s390x-linux-gnu-gcc --version | head -1
} | sha256sum | cut -c1-16)
out=$cache/peer/$ZPCI_KVER-$key
mkdir -p "$cache/peer"
exec 8>"$cache/peer/.lock-$key"
flock 8

if [ ! -f "$out/ism-vfio-pci.ko" ] || [ ! -x "$out/modpost" ]; then
	t0=$(date +%s)
	tmp=$(mktemp -d "$cache/peer/.tmp-XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	top=linux-source-$series
	# only what is needed: the ISM variant driver, the vfio-pci private
	# header it includes, and modpost's sources
	dpkg-deb --fsys-tarfile "$srcdeb" |
		tar -xO "./usr/src/$top.tar.xz" | xz -dc |
		tar -x -C "$tmp" --wildcards "$top/drivers/vfio/pci/ism/*" \
			"$top/drivers/vfio/pci/vfio_pci_priv.h" \
			"$top/scripts/mod/*" "$top/scripts/include/*" \
			"$top/include/linux/module_symbol.h" "$top/include/linux/license.h" \
			"$top/include/linux/mod_devicetable.h" "$top/include/linux/device-id/*"
	src=$tmp/$top
	[ -f "$src/drivers/vfio/pci/ism/main.c" ] ||
		{ log "$top has no drivers/vfio/pci/ism"; exit 1; }

	# modpost: generated headers first (kbuild's recipes, done by hand)
	kc=${ZPCI_KDIR%-s390x}-common
	m=$src/scripts/mod
	inc=(-nostdinc -D__KERNEL__ -I"$kc/arch/s390/include" -I"$ZPCI_KDIR/arch/s390/include/generated"
		-I"$kc/include" -I"$ZPCI_KDIR/include" -I"$kc/arch/s390/include/uapi"
		-I"$ZPCI_KDIR/arch/s390/include/generated/uapi" -I"$kc/include/uapi"
		-I"$ZPCI_KDIR/include/generated/uapi" -include "$kc/include/linux/kconfig.h")
	s390x-linux-gnu-gcc -S -O2 "${inc[@]}" -o "$m/devicetable-offsets.s" "$m/devicetable-offsets.c"
	{
		echo "#ifndef __DEVICETABLE_OFFSETS_H__"; echo "#define __DEVICETABLE_OFFSETS_H__"
		sed -ne 's:^[[:space:]]*\.ascii[[:space:]]*"\(.*\)".*:\1:; /^->/{s:->#\(.*\):/* \1 */:; s:^->\([^ ]*\) [\$#]*\([^ ]*\) \(.*\):#define \1 \2 /* \3 */:; s:->::; p;}' \
			"$m/devicetable-offsets.s"
		echo "#endif"
	} >"$m/devicetable-offsets.h"
	grep -q SIZE_pci_device_id "$m/devicetable-offsets.h" || { log "devicetable offsets empty"; exit 1; }
	s390x-linux-gnu-gcc -c -o "$m/empty.o" "$m/empty.c"
	gcc -O2 -o "$m/mk_elfconfig" "$m/mk_elfconfig.c"
	"$m/mk_elfconfig" <"$m/empty.o" >"$m/elfconfig.h"
	gcc -O2 -I"$src/scripts/include" -I"$m" -o "$tmp/modpost" \
		"$m/modpost.c" "$m/file2alias.c" "$m/sumversion.c" "$m/symsearch.c"

	# ism-vfio-pci: its main.c includes "../vfio_pci_priv.h"; our Kbuild
	mkdir -p "$tmp/build/pci/ism"
	cp "$src/drivers/vfio/pci/ism/main.c" "$tmp/build/pci/ism/"
	cp "$src/drivers/vfio/pci/vfio_pci_priv.h" "$tmp/build/pci/"
	cp "$here/ism/Kbuild" "$tmp/build/pci/ism/Kbuild"
	make -C "$ZPCI_KDIR" M="$tmp/build/pci/ism" ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- \
		CC="$compat" MODPOST="$tmp/modpost" KCFLAGS=-fno-stack-protector \
		CONFIG_ISM_VFIO_PCI=m CONFIG_DEBUG_INFO_BTF_MODULES= modules >"$tmp/ism-build.log" 2>&1 ||
		{ tail -30 "$tmp/ism-build.log" >&2; exit 1; }
	[ -f "$tmp/build/pci/ism/ism-vfio-pci.ko" ] ||
		{ tail -30 "$tmp/ism-build.log" >&2; log "no ism-vfio-pci.ko"; exit 1; }
	rm -rf "$out.new"
	mkdir -p "$out.new"
	cp "$tmp/modpost" "$tmp/build/pci/ism/ism-vfio-pci.ko" "$tmp/ism-build.log" "$out.new/"
	rm -rf "$out"
	mv "$out.new" "$out"
	log "built ism-vfio-pci.ko and modpost for $ZPCI_KVER in $(( $(date +%s) - t0 )) s"
	# keep the 3 newest builds
	find "$cache/peer" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*' -printf '%T@ %p\n' |
		sort -rn | tail -n +4 | cut -d' ' -f2- | xargs -r rm -rf
fi

{
	cat "$cache/kernel/sid7.env"
	echo "# tests/peer/build-peer.sh: the host modpost for this kernel"
	echo "ZPCI_MODPOST=$out/modpost"
	echo "ZPCI_KCC=$compat"
	echo "ZPCI_KBUILD_EXTRA='KCFLAGS=-fno-stack-protector CONFIG_DEBUG_INFO_BTF_MODULES='"
} >"$cache/kernel/sid7-peer.env.tmp"
mv "$cache/kernel/sid7-peer.env.tmp" "$cache/kernel/sid7-peer.env"
echo "ZPCI_PEER_DIR=$out"
echo "ZPCI_MODPOST=$out/modpost"
echo "ZPCI_ISM_KO=$out/ism-vfio-pci.ko"
echo "ZPCI_PEER_KENV=sid7-peer"
echo "ZPCI_PEER_KENVFILE=$cache/kernel/sid7-peer.env"
