#!/bin/bash
# Build the guest initramfs (uncompressed newc cpio).
# Usage: initramfs.sh --out FILE --kver KVER --moddir DIR [--ko zpci_io.ko]
#        [--bin DIR] [--guest-sh FILE] [--extra FILE]... [--ism-dir DIR]
#   --moddir: lib/modules/<kver> of the Debian image (with modules.dep), or
#             a directory holding lib/modules/<kver>
#   --bin:    s390x binaries for /zpci/bin (dynamic ones get their shared
#             libraries from $ZPCI_SYSROOT and the cross toolchain)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out= kver= moddir= ko= bindir= guestsh= ismdir=
extras=()
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--kver) kver=$2; shift 2 ;;
	--moddir) moddir=$2; shift 2 ;;
	--ko) ko=$2; shift 2 ;;
	--bin) bindir=$2; shift 2 ;;
	--guest-sh) guestsh=$2; shift 2 ;;
	--extra) extras+=("$2"); shift 2 ;;
	--ism-dir) ismdir=$2; shift 2 ;;
	*) die "initramfs.sh: unknown argument $1" ;;
	esac
done
[ -n "$out" ] && [ -n "$kver" ] && [ -n "$moddir" ] || die "initramfs.sh: --out, --kver and --moddir are required"
[ -d "$moddir/lib/modules/$kver" ] && moddir=$moddir/lib/modules/$kver
[ -d "$moddir/kernel" ] || die "no kernel modules in $moddir"
: "${ZPCI_SYSROOT:=$ZPCI_CACHE/s390x-sysroot}"

# modules.dep: the Debian package has none, depmod makes it (once)
if [ ! -s "$moddir/modules.dep" ]; then
	base=$(cd "$moddir/../../.." && pwd)
	depmod -b "$base" "$kver" || die "depmod failed for $moddir"
fi

# busybox (static s390x) from Debian
bbdeb=$(deb_fetch bookworm s390x busybox-static)
bbdir=$ZPCI_CACHE/busybox-s390x
deb_unpack "$bbdeb" "$bbdir"
[ -x "$bbdir/bin/busybox" ] || die "busybox-static has no bin/busybox"

root=$(mktemp -d "${out}.root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,results,zpci/bin,lib/modules/"$kver",etc}
cp "$bbdir/bin/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$VM_SRC/init" "$root/init"
chmod 755 "$root/init"

# vfio stack + results disk driver, dependencies first, decompressed so that
# busybox insmod needs no xz support
wanted=(vfio vfio_iommu_type1 vfio-pci-core vfio-pci virtio_blk)
declare -A seen=()
order=()
add_mod() {
	local rel=$1 dep
	[ -n "${seen[$rel]:-}" ] && return 0
	seen[$rel]=1
	for dep in $(awk -F': *' -v m="$rel" '$1 == m { print $2 }' "$moddir/modules.dep"); do
		add_mod "$dep"
	done
	order+=("$rel")
}
# (module names: '-' and '_' are the same)
mod_rel() {
	awk -F: -v m="$1" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", n);
		gsub(/-/, "_", n); gsub(/-/, "_", m); if (n == m) { print $1; exit } }' "$moddir/modules.dep"
}
for m in "${wanted[@]}"; do
	rel=$(mod_rel "$m")
	[ -n "$rel" ] || die "module $m not in $moddir/modules.dep"
	add_mod "$rel"
done
# copy_mods LIST: the modules of order[] into the image, their names to LIST
copy_mods() {
	local list=$1 rel plain
	: >"$list"
	for rel in "${order[@]}"; do
		plain=${rel%.xz}; plain=${plain%.zst}; plain=${plain%.gz}
		mkdir -p "$root/lib/modules/$kver/$(dirname "$plain")"
		case "$rel" in
		*.xz) xz -dc "$moddir/$rel" >"$root/lib/modules/$kver/$plain" ;;
		*.zst) zstd -qdc "$moddir/$rel" >"$root/lib/modules/$kver/$plain" ;;
		*.gz) gzip -dc "$moddir/$rel" >"$root/lib/modules/$kver/$plain" ;;
		*) cp "$moddir/$rel" "$root/lib/modules/$kver/$plain" ;;
		esac
		echo "$kver/$plain" >>"$list"
	done
}
copy_mods "$root/zpci/modules.list"
nmods=${#order[@]}

# Linux's ISM driver and SMC-D (tests/ism/build.sh): the three modules in
# /zpci/ism, the Debian modules smc.ko depends on (not yet in the image) in
# /lib/modules, in load order in /zpci/ism/deps.list; guest.sh loads them
if [ -n "$ismdir" ]; then
	mkdir -p "$root/zpci/ism"
	order=()
	for m in ism smc smc_diag; do
		[ -f "$ismdir/$m.ko" ] || die "no $ismdir/$m.ko"
		cp "$ismdir/$m.ko" "$root/zpci/ism/"
		deps=$(s390x-linux-gnu-objcopy -O binary -j .modinfo "$ismdir/$m.ko" /dev/stdout |
			tr '\0' '\n' | sed -n 's/^depends=//p')
		for dep in ${deps//,/ }; do
			case "$dep" in ism|smc|smc_diag) continue ;; esac
			rel=$(mod_rel "$dep")
			[ -n "$rel" ] || die "$m.ko needs $dep, which is not in $moddir/modules.dep"
			add_mod "$rel"
		done
	done
	copy_mods "$root/zpci/ism/deps.list"
	# our client of ism.ko's exports (tests/ism/ktest, tests/ism/run.sh)
	[ ! -f "$ismdir/zpci_ism_test.ko" ] || cp "$ismdir/zpci_ism_test.ko" "$root/zpci/ism/"
	cp "$REPO/tests/ism/guest-modules.sh" "$root/zpci/ism/"
	nmods=$((nmods + ${#order[@]}))
fi

[ -n "$ko" ] && cp "$ko" "$root/zpci/zpci_io.ko"
[ -n "$guestsh" ] && cp "$guestsh" "$root/zpci/guest.sh"
# the kernel-report patterns every scan uses (guest.sh, reload.sh, the hosts')
cp "$(dirname "$0")/kernel-reports.ere" "$root/zpci/kernel-reports.ere"
cp "$(dirname "$0")/guest-lib.sh" "$root/zpci/lib.sh"
for f in "${extras[@]}"; do cp "$f" "$root/zpci/"; done

# guest binaries, plus shared libraries for dynamically linked ones
libdirs=("$ZPCI_SYSROOT/usr/lib/s390x-linux-gnu" "$ZPCI_SYSROOT/lib/s390x-linux-gnu"
	/usr/s390x-linux-gnu/lib)
declare -A libseen=()
copy_libs() {
	local elf=$1 interp lib d found
	interp=$(s390x-linux-gnu-readelf -l "$elf" 2>/dev/null |
		sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	if [ -n "$interp" ] && [ -z "${libseen[$interp]:-}" ]; then
		libseen[$interp]=1
		mkdir -p "$root/$(dirname "$interp")"
		cp -L "/usr/s390x-linux-gnu/lib/$(basename "$interp")" "$root$interp"
	fi
	for lib in $(s390x-linux-gnu-readelf -d "$elf" 2>/dev/null |
		sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -n "${libseen[$lib]:-}" ] && continue
		libseen[$lib]=1
		found=
		for d in "${libdirs[@]}"; do
			if [ -e "$d/$lib" ]; then found=$d/$lib; break; fi
		done
		[ -n "$found" ] || die "shared library $lib (needed by $elf) not found"
		mkdir -p "$root/lib"
		cp -L "$found" "$root/lib/$lib"
		copy_libs "$found"
	done
}
if [ -n "$bindir" ] && [ -d "$bindir" ]; then
	for b in "$bindir"/*; do
		[ -f "$b" ] && [ -x "$b" ] || continue
		cp "$b" "$root/zpci/bin/"
		copy_libs "$b"
	done
fi
# the s390x dynamic loader looks in /lib and /lib64
[ -d "$root/lib" ] && ln -sfn lib "$root/lib64"

tmp=$(mktemp "$out.XXXXXX.part")
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) >"$tmp"
mv -f "$tmp" "$out"
log "initramfs: $out ($(du -h "$out" | cut -f1), $nmods modules$([ -z "$ismdir" ] || echo ", ism/smc/smc_diag"))"
