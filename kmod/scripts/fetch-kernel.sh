#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch a Debian s390x kernel (image, modules, headers) plus the amd64 kbuild
# tools of the same version, unpack them into the shared cache and write an
# env file with the paths.  No apt sources or dpkg architectures are touched:
# the .debs come straight from deb.debian.org and are unpacked with dpkg -x.
#
# Usage: fetch-kernel.sh [--suite SUITE] [--series X.Y] [--env NAME] [--quiet]
#   --suite   Debian suite (default bookworm-backports, the reference kernel)
#   --series  kernel series prefix, e.g. 6.12 (default 6.12 for
#             bookworm-backports, else the newest the suite has)
#   --env     env file name under $ZPCI_CACHE/kernel (default: "current" for
#             the reference kernel, the suite's name otherwise)
# Env:  ZPCI_CACHE (default <repo>/build/cache), DEBIAN_MIRROR
#       (default http://deb.debian.org/debian).
#
# Result ($ZPCI_CACHE/kernel/<env>.env, shell syntax, also printed):
#   ZPCI_KVER      kernel release, e.g. 6.12.95+deb12-s390x (uname -r)
#   ZPCI_KROOT     the unpacked root (boot/, lib/modules/, usr/src/)
#   ZPCI_KDIR      headers dir to build modules against (KDIR)
#   ZPCI_VMLINUZ   the kernel image to boot
#   ZPCI_MODDIR    lib/modules/<kver> of the image (.ko.xz, modules.dep)
#   ZPCI_SYSTEM_MAP, ZPCI_KCONFIG
#
# Idempotent and safe to run concurrently: downloads go to a temporary name
# and are renamed after their SHA256 matched the index, unpacking happens
# in a temporary directory renamed into place, and one flock serialises
# the work per kernel version.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${ZPCI_CACHE:-$repo/build/cache}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm-backports
series=
envname=
quiet=0

while [ $# -gt 0 ]; do
	case "$1" in
	--suite) suite=$2; shift 2 ;;
	--series) series=$2; shift 2 ;;
	--env) envname=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	-h|--help) sed -n '3,27p' "$0"; exit 0 ;;
	*) echo "fetch-kernel: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case "$suite" in *[!a-z0-9-]*|'') echo "fetch-kernel: bad suite '$suite'" >&2; exit 2 ;; esac
case "$series" in *[!0-9.]*) echo "fetch-kernel: bad series '$series'" >&2; exit 2 ;; esac
if [ -z "$series" ] && [ "$suite" = bookworm-backports ]; then
	series=6.12
fi
if [ -z "$envname" ]; then
	if [ "$suite" = bookworm-backports ] && [ "$series" = 6.12 ]; then
		envname=current
	else
		envname=$suite
	fi
fi
case "$envname" in *[!A-Za-z0-9._-]*|'') echo "fetch-kernel: bad env name" >&2; exit 2 ;; esac

for tool in curl xz dpkg-deb sha256sum flock awk sort; do
	command -v "$tool" >/dev/null || {
		echo "fetch-kernel: '$tool' missing (scripts/install-deps.sh kmod)" >&2
		exit 1
	}
done

log() { [ "$quiet" = 1 ] || echo "fetch-kernel: $*" >&2; }

kcache=$cache/kernel
debs=$cache/debs
idx=$cache/index
mkdir -p "$kcache" "$debs" "$idx"

# Download $1 (URL) to $2 atomically; $3 = expected sha256 or empty.
fetch() {
	local url=$1 dst=$2 sum=${3:-} tmp
	if [ -s "$dst" ] && { [ -z "$sum" ] || echo "$sum  $dst" | sha256sum -c --status; }; then
		return 0
	fi
	tmp=$(mktemp "$dst.tmp.XXXXXX")
	log "downloading $url"
	if ! curl -fsSL --retry 3 -o "$tmp" "$url"; then
		rm -f "$tmp"
		echo "fetch-kernel: download failed: $url" >&2
		return 1
	fi
	if [ -n "$sum" ] && ! echo "$sum  $tmp" | sha256sum -c --status; then
		rm -f "$tmp"
		echo "fetch-kernel: checksum mismatch: $url" >&2
		return 1
	fi
	mv -f "$tmp" "$dst"
}

# The Packages index of one architecture, refreshed at most every hour.
index() {
	local arch=$1 f tmp
	f=$idx/$suite-$arch.Packages
	if [ ! -s "$f" ] || [ -n "$(find "$f" -mmin +60 2>/dev/null)" ]; then
		tmp=$(mktemp "$f.tmp.XXXXXX")
		log "fetching $suite/$arch Packages index"
		if curl -fsSL --retry 3 "$mirror/dists/$suite/main/binary-$arch/Packages.xz" |
		   xz -dc >"$tmp" && [ -s "$tmp" ]; then
			mv -f "$tmp" "$f"
		else
			rm -f "$tmp"
			# A stale index still names files that exist most of the time.
			[ -s "$f" ] || { echo "fetch-kernel: no index for $suite/$arch" >&2; return 1; }
			log "using stale index $f"
		fi
	fi
	echo "$f"
}

# Print "Filename SHA256" of package $2 in index $1.
lookup() {
	awk -v want="$2" '
		/^Package: / { p = $2; fn = ""; sum = "" }
		/^Filename: / { fn = $2 }
		/^SHA256: / { sum = $2 }
		/^$/ { if (p == want && fn != "") { print fn, sum; exit } p = "" }
		END { if (p == want && fn != "") print fn, sum }
	' "$1"
}

s390_idx=$(index s390x)
amd64_idx=$(index amd64)

# Newest linux-image-<abi>-s390x of the series (signed images are amd64/arm64
# only, so s390x has the plain package).
pattern='^linux-image-[0-9]+\.[0-9]+\.[0-9]+.*-s390x$'
abi=$(awk '/^Package: /{print $2}' "$s390_idx" | grep -E "$pattern" |
	sed -e 's/^linux-image-//' -e 's/-s390x$//' |
	{ if [ -n "$series" ]; then grep -F "$series." || true; else cat; fi } |
	awk -v s="$series" 'index($0, s ".") == 1 || s == ""' |
	grep -v -- '-dbg$' | sort -V | tail -n 1)
if [ -z "$abi" ]; then
	echo "fetch-kernel: no linux-image-${series:-*}*-s390x in $suite" >&2
	exit 1
fi
kver=$abi-s390x
log "kernel $kver from $suite"

pkgs_s390="linux-image-$kver linux-headers-$kver linux-headers-$abi-common"
# Newer Debian kernels split the image package: linux-image-* is then a
# small metapackage depending on linux-binary-* (vmlinuz, System.map) and
# linux-modules-* (the .ko files).  Take them when the suite has them.
for p in "linux-binary-$kver" "linux-modules-$kver"; do
	if [ -n "$(lookup "$s390_idx" "$p")" ]; then
		pkgs_s390="$pkgs_s390 $p"
	fi
done
pkgs_amd64="linux-kbuild-$abi"

root=$kcache/$kver/root
stamp=$kcache/$kver/.complete
mkdir -p "$kcache/$kver"

exec 9>"$kcache/$kver/.lock"
flock 9

want_stamp="$pkgs_s390 $pkgs_amd64"
if [ ! -e "$stamp" ] || [ "$(cat "$stamp")" != "$want_stamp" ]; then
	files=()
	for p in $pkgs_s390 $pkgs_amd64; do
		case " $pkgs_amd64 " in *" $p "*) ix=$amd64_idx ;; *) ix=$s390_idx ;; esac
		read -r fn sum < <(lookup "$ix" "$p") || true
		if [ -z "${fn:-}" ]; then
			echo "fetch-kernel: package $p not in $suite index" >&2
			exit 1
		fi
		fetch "$mirror/$fn" "$debs/$(basename "$fn")" "$sum"
		files+=("$debs/$(basename "$fn")")
		fn=
	done

	rm -rf "$kcache/$kver"/root.tmp.*
	tmproot=$(mktemp -d "$kcache/$kver/root.tmp.XXXXXX")
	for f in "${files[@]}"; do
		log "unpacking $(basename "$f")"
		dpkg-deb -x "$f" "$tmproot"
	done

	# The flavour headers' Makefile includes the common headers by their
	# installed absolute path (/usr/src/linux-headers-<abi>-common); point
	# it into this root instead.  Absolute symlinks get the same treatment.
	hdr=$tmproot/usr/src/linux-headers-$kver
	if [ ! -f "$hdr/Makefile" ]; then
		echo "fetch-kernel: $hdr/Makefile missing" >&2
		exit 1
	fi
	sed -i "s#/usr/src/linux-headers-#$root/usr/src/linux-headers-#g" "$hdr/Makefile"
	while IFS= read -r -d '' l; do
		t=$(readlink "$l")
		case "$t" in
		/usr/*|/lib/*) ln -sfn "$root$t" "$l" ;;
		esac
	done < <(find "$tmproot/usr/src" "$tmproot/usr/lib" "$tmproot/lib" -type l -print0 2>/dev/null)

	rm -rf "$root"
	mv "$tmproot" "$root"
	echo "$want_stamp" >"$stamp"
fi

kdir=$root/usr/src/linux-headers-$kver
moddir=$root/lib/modules/$kver
[ -d "$moddir" ] || moddir=$root/usr/lib/modules/$kver
# Merged-/usr packages (trixie and later) ship usr/lib/modules only; depmod
# -b and the guest's initramfs builder look for lib/modules.
if [ ! -e "$root/lib" ] && [ -d "$root/usr/lib/modules" ]; then
	ln -sfn usr/lib "$root/lib"
fi
# The image package leaves modules.dep to its postinst; build it here so
# the guest's modprobe finds vfio-pci-core and friends.
if [ ! -s "$moddir/modules.dep" ]; then
	depmod=$(command -v depmod || echo /sbin/depmod)
	if [ ! -x "$depmod" ]; then
		echo "fetch-kernel: depmod missing (apt-get install kmod)" >&2
		exit 1
	fi
	log "running depmod for $kver"
	"$depmod" -b "$root" "$kver"
fi
# pick FILE...: the first that exists (Debian moved these from /boot to the
# modules directory when it split the image package).
pick() {
	local f
	for f in "$@"; do
		[ -e "$f" ] && { echo "$f"; return 0; }
	done
	echo "$1"
}
vmlinuz=$(pick "$root/boot/vmlinuz-$kver" "$moddir/vmlinuz")
sysmap=$(pick "$root/boot/System.map-$kver" "$moddir/System.map")
kconfig=$(pick "$root/boot/config-$kver" "$moddir/config" "$kdir/.config")
for p in "$kdir/Makefile" "$vmlinuz" "$moddir/modules.dep"; do
	[ -e "$p" ] || { echo "fetch-kernel: expected $p, not found" >&2; exit 1; }
done

envf=$kcache/$envname.env
tmp=$(mktemp "$envf.tmp.XXXXXX")
cat >"$tmp" <<EOT
# Written by kmod/scripts/fetch-kernel.sh ($suite)
ZPCI_KSUITE=$suite
ZPCI_KVER=$kver
ZPCI_KROOT=$root
ZPCI_KDIR=$kdir
ZPCI_VMLINUZ=$vmlinuz
ZPCI_MODDIR=$moddir
ZPCI_SYSTEM_MAP=$sysmap
ZPCI_KCONFIG=$kconfig
EOT
mv -f "$tmp" "$envf"
flock -u 9
[ "$quiet" = 1 ] || cat "$envf"
