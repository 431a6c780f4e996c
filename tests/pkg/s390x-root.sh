#!/bin/bash
# A Debian bookworm s390x userland for the native package test, run under
# qemu-user through binfmt_misc.  Two cached layers in $ZPCI_CACHE:
#   s390x-base-<key>  debootstrap --foreign on the host, second stage in a
#                     chroot: gcc, make, dkms, pkg-config (key: the
#                     debootstrap arguments)
#   s390x-root-<key>  a copy of the base plus, with the root's own apt, what
#                     the bookworm-backports 6.12 s390x headers need (gcc-12,
#                     pahole, ...) and the dependencies of zpci-tools;
#                     the kernel image is replaced by a stub package that
#                     provides linux-image-<kver> (a DKMS build needs only
#                     the headers, and unpacking the image's modules under
#                     qemu-user would take minutes);
#                     the headers packages themselves are downloaded into
#                     /var/cache/zpci-headers but not installed, so that the
#                     test can install them after the DKMS package, as a
#                     kernel update does; so are bookworm's 6.1 headers (no
#                     vfio-pci-core) in /var/cache/zpci-headers-old (key:
#                     base key, this script, the two kernel versions)
# The host's apt sources and architectures are not touched; the root has
# its own sources.list.
#
# Usage: tests/pkg/s390x-root.sh   -> prints the root's path
# A layer is complete when it holds .zpci-complete; half-built ones
# (*.part) are never used.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/pkg/lib.sh
. "$here/lib.sh"

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base_args=(--foreign --arch=s390x --variant=minbase
	"--include=gcc,make,dkms,pkg-config,libc6-dev,kmod,patch,openssl"
	bookworm)
kver=$(newest_bpo_headers)
[ -n "$kver" ] || die "no linux-headers-6.12.*-s390x in bookworm-backports"
# a second kernel: bookworm's own 6.1, which has no vfio-pci-core
old=$(sed -n 's/^Package: linux-headers-\(6\.1\.0-[0-9]*-s390x\)$/\1/p' \
	"$(deb_index bookworm s390x)" | sort -V | tail -1)
[ -n "$old" ] || die "no linux-headers-6.1.0-*-s390x in bookworm"
bkey=$(echo "${base_args[*]}" | sha256sum | cut -c1-12)
base=$ZPCI_CACHE/s390x-base-$bkey
rkey=$( { echo "$bkey"; sha256sum "$here/s390x-root.sh" | cut -d' ' -f1;
	echo "$kver $old"; } | sha256sum | cut -c1-12)
root=$ZPCI_CACHE/s390x-root-$rkey
if [ -f "$root/.zpci-complete" ]; then
	echo "$root"
	exit 0
fi

command -v debootstrap >/dev/null || die "debootstrap missing (scripts/install-deps.sh pkg)"
binfmt_s390x
mkdir -p "$ZPCI_CACHE"
exec 9>"$ZPCI_CACHE/s390x-root.lock"
flock 9
[ -f "$root/.zpci-complete" ] && { echo "$root"; exit 0; }
t0=$(date +%s)

if [ ! -f "$base/.zpci-complete" ]; then
	tmp=$base.part
	rm -rf "$tmp"
	log "debootstrap ${base_args[*]} into $tmp"
	debootstrap "${base_args[@]}" "$tmp" "$MIRROR" >"$tmp.log" 2>&1 ||
		{ tail -20 "$tmp.log" >&2; die "debootstrap (first stage) failed"; }
	log "second stage under qemu-user ($(( $(date +%s) - t0 )) s so far)"
	in_root "$tmp" /debootstrap/debootstrap --second-stage >>"$tmp.log" 2>&1 ||
		{ tail -20 "$tmp.log" >&2; die "debootstrap (second stage) failed"; }
	touch "$tmp/.zpci-complete"
	mv -T "$tmp" "$base"
	mv -f "$tmp.log" "$base.log"
	log "base ready in $(( $(date +%s) - t0 )) s: $base"
fi

tmp=$root.part
rm -rf "$tmp"
cp -a "$base" "$tmp"
rm -f "$tmp/.zpci-complete"
cat >"$tmp/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-backports main
EOF
cat >"$tmp/etc/dpkg/dpkg.cfg.d/01-zpci-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
EOF
hdrs="linux-headers-$kver linux-headers-${kver%-s390x}-common linux-kbuild-${kver%-s390x}"
imgver=$(deb_field "$(deb_index bookworm-backports s390x)" "linux-image-$kver" Version) ||
	die "linux-image-$kver not in bookworm-backports"
stub=$tmp/tmp/stub
mkdir -p "$stub/DEBIAN"
printf '%s\n' "Package: zpci-test-kernel-image-stub" "Version: $imgver" \
	"Architecture: s390x" "Maintainer: zpci tests <root@localhost>" \
	"Provides: linux-image-$kver (= $imgver)" \
	"Description: stands in for linux-image-$kver in the package test root" \
	>"$stub/DEBIAN/control"
dpkg-deb -Zgzip --root-owner-group --build "$stub" "$tmp/tmp/stub.deb" >/dev/null
rm -rf "$stub"
log "root: the headers' dependencies for $kver ($(( $(date +%s) - t0 )) s so far)"
in_root "$tmp" env DEBIAN_FRONTEND=noninteractive sh -ec "
	dpkg -i /tmp/stub.deb
	rm /tmp/stub.deb
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $hdrs \
		libnl-3-200 libnl-genl-3-200 libbenchmark1debian python3 \
		linux-compiler-gcc-12-s390
	mkdir -p /var/cache/zpci-headers /var/cache/zpci-headers-old
	for p in $hdrs; do
		cp /var/cache/apt/archives/\${p}_*.deb /var/cache/zpci-headers/
	done
	dpkg --purge $hdrs
	cd /var/cache/zpci-headers-old
	apt-get download -qq linux-headers-$old linux-headers-${old%-s390x}-common \
		linux-kbuild-6.1
	apt-get clean" >"$tmp.log" 2>&1 ||
	{ tail -20 "$tmp.log" >&2; die "installing the kernel packages failed"; }
for d in zpci-headers zpci-headers-old; do
	[ "$(find "$tmp/var/cache/$d" -name '*.deb' | wc -l)" = 3 ] ||
		die "the three headers packages are not in the root's /var/cache/$d"
done
echo "$kver" >"$tmp/.zpci-kver"
echo "$old" >"$tmp/.zpci-kver-old"
touch "$tmp/.zpci-complete"
mv -T "$tmp" "$root"
mv -f "$tmp.log" "$root.log"
log "s390x root ready in $(( $(date +%s) - t0 )) s: $root ($(du -sh "$root" | cut -f1))"
echo "$root"
