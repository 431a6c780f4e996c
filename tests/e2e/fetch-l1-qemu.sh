#!/bin/bash
# Debian bookworm's stock s390x qemu-system-s390x (7.2, package
# qemu-system-misc) with every shared library it needs, for the L1 guest of
# the nested end-to-end test. Nothing is installed: the .debs are unpacked
# with dpkg -x and the NEEDED closure of the binary is copied into one tree:
#   <dir>/bin/qemu-system-s390x  <dir>/lib/*.so*  <dir>/share/qemu/s390-ccw.img
# Started in L1 as: <dir>/lib/ld64.so.1 --library-path <dir>/lib <dir>/bin/...
# Prints <dir> ($ZPCI_CACHE/e2e/qemu-stock-<hash of the .deb names>).
set -euo pipefail
. "$(dirname "$0")/../vm/lib.sh"

SUITE=bookworm
# qemu-system-misc's Depends that carry libraries, and their own library
# dependencies (checked below: a missing soname fails the script)
pkgs=(qemu-system-misc qemu-system-data libaio1 libbpf1 libcapstone4 libfdt1
	libfuse3-3 libgcc-s1 libglib2.0-0 libgmp10 libgnutls30 libhogweed6
	libibverbs1 libjpeg62-turbo libnettle8 libnuma1 libpixman-1-0 libpng16-16
	librdmacm1 libsasl2-2 libseccomp2 libslirp0 libudev1 liburing2 libvdeplug2
	libzstd1 zlib1g libelf1 libffi8 libmount1 libblkid1 libselinux1
	libpcre2-8-0 libidn2-0 libunistring2 libp11-kit0 libtasn1-6 libnl-3-200
	libnl-route-3-200 libuuid1 libcap2 libssl3 liblzma5 libkmod2 libgcrypt20
	libgpg-error0 libcrypt1 libstdc++6 libc6)

# resolving 50 packages one by one takes a minute: remember the result per
# content of their index stanzas
index=$(deb_index "$SUITE" s390x)
sig=$(awk -v list=" ${pkgs[*]} " 'BEGIN { RS = ""; FS = "\n" }
	{
		p = ""; v = ""; f = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^Package: /) p = substr($i, 10)
			else if ($i ~ /^Version: /) v = substr($i, 10)
			else if ($i ~ /^Filename: /) f = substr($i, 11)
		}
		if (p != "" && index(list, " " p " ")) print p, v, f
	}' "$index" | LC_ALL=C sort | sha256sum | cut -c1-16)
memo=$ZPCI_CACHE/e2e/.resolved-$sig
if [ -s "$memo" ] && [ -x "$(cat "$memo")/bin/qemu-system-s390x" ]; then
	cat "$memo"
	exit 0
fi

debs=()
for p in "${pkgs[@]}"; do
	debs+=("$(deb_fetch "$SUITE" s390x "$p")")
done
key=$(printf '%s\n' "${debs[@]##*/}" layout-1 | sha256sum | cut -c1-12)
dir=$ZPCI_CACHE/e2e/qemu-stock-$key
if [ -x "$dir/bin/qemu-system-s390x" ]; then
	echo "$dir" >"$memo"
	echo "$dir"
	exit 0
fi
mkdir -p "$ZPCI_CACHE/e2e"
tmp=$(mktemp -d "$dir.XXXXXX.part")
trap 'rm -rf "$tmp"' EXIT
for d in "${debs[@]}"; do
	dpkg -x "$d" "$tmp/root"
done
mkdir -p "$tmp/out/bin" "$tmp/out/lib" "$tmp/out/share/qemu"
cp "$tmp/root/usr/bin/qemu-system-s390x" "$tmp/out/bin/"
cp "$tmp/root/usr/share/qemu/s390-ccw.img" "$tmp/out/share/qemu/"
[ -e "$tmp/root/usr/share/qemu/s390-netboot.img" ] &&
	cp "$tmp/root/usr/share/qemu/s390-netboot.img" "$tmp/out/share/qemu/"

# NEEDED closure
libdirs=("$tmp/root/lib/s390x-linux-gnu" "$tmp/root/usr/lib/s390x-linux-gnu")
declare -A seen=()
need() {
	local elf=$1 lib d f
	for lib in $(s390x-linux-gnu-readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -n "${seen[$lib]:-}" ] && continue
		seen[$lib]=1
		f=
		for d in "${libdirs[@]}"; do
			[ -e "$d/$lib" ] && { f=$d/$lib; break; }
		done
		[ -n "$f" ] || die "fetch-l1-qemu: $lib (needed by ${elf##*/}) is in none of the unpacked packages"
		cp -L "$f" "$tmp/out/lib/$lib"
		need "$f"
	done
}
need "$tmp/out/bin/qemu-system-s390x"
cp -L "$tmp/root/lib/s390x-linux-gnu/ld64.so.1" "$tmp/out/lib/ld64.so.1" 2>/dev/null ||
	cp -L "$tmp/root/lib/ld64.so.1" "$tmp/out/lib/ld64.so.1"
mv -T "$tmp/out" "$dir" 2>/dev/null || true   # lost a race: the other copy is the same
echo "$dir" >"$memo"
log "fetch-l1-qemu: $dir ($(du -sh "$dir" | cut -f1), ${#seen[@]} libraries)"
echo "$dir"
