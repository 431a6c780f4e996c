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
# Env:  ZPCI_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/zpci), DEBIAN_MIRROR
#       (default http://deb.debian.org/debian).  Downloads go through
#       scripts/debfetch.sh: SHA256-checked, and when the archive no longer
#       has the newest kernel its index names, the next-newest complete set
#       is used (and that is said on stderr).
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
# the work per kernel version.  Unpacked kernels no env file names and
# unused for 30 days are removed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/debfetch.sh
. "$repo/scripts/debfetch.sh"
cache=$ZPCI_CACHE
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
	-h|--help) sed -n '3,32p' "$0"; exit 0 ;;
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

for tool in dpkg-deb sort; do
	command -v "$tool" >/dev/null || {
		echo "fetch-kernel: '$tool' missing (scripts/install-deps.sh kmod)" >&2
		exit 1
	}
done
debfetch_need || exit 1
[ "$quiet" = 0 ] || export DEBFETCH_QUIET=1

log() { [ "$quiet" = 1 ] || echo "fetch-kernel: $*" >&2; }

kcache=$cache/kernel
mkdir -p "$kcache"

# A set already unpacked (stamp names the same packages) needs no download.
have_unpacked() {
	local stamp=$kcache/$1-s390x/.complete
	[ -e "$stamp" ] && [ "$(cat "$stamp")" = "$2" ]
}
# shellcheck disable=SC2034 # read by debfetch_kernel
DEBFETCH_KHAVE=have_unpacked
debfetch_kernel "$suite" "$series" || {
	echo "fetch-kernel: cannot fetch a ${series:-} kernel from $suite" >&2
	exit 1
}
abi=$DEBFETCH_KABI
kver=$abi-s390x
want_stamp=$DEBFETCH_KSET
log "kernel $kver from $suite"

root=$kcache/$kver/root
stamp=$kcache/$kver/.complete
mkdir -p "$kcache/$kver"

exec 9>"$kcache/$kver/.lock"
flock 9

if [ ! -e "$stamp" ] || [ "$(cat "$stamp")" != "$want_stamp" ]; then
	files=("${DEBFETCH_KDEBS[@]}")
	if [ ${#files[@]} -eq 0 ]; then
		# the stamp changed under us (another run): fetch the set again
		# shellcheck disable=SC2086
		out=$(debfetch_fetch_set "$suite" $want_stamp) ||
			{ echo "fetch-kernel: cannot fetch $kver" >&2; exit 1; }
		mapfile -t files <<<"$out"
	fi

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
	# (modules.order/builtin are build-tree files a binary package lacks)
	"$depmod" -b "$root" "$kver" 2>"$kcache/$kver/depmod.err" ||
		{ cat "$kcache/$kver/depmod.err" >&2; exit 1; }
	grep -v 'could not open modules\.' "$kcache/$kver/depmod.err" >&2 || true
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
touch "$stamp"
flock -u 9

# Unpacked kernels no env file names any more, unused for 30 days: remove.
for d in "$kcache"/*/; do
	d=${d%/}
	[ -e "$d/.complete" ] || continue
	[ -n "$(find "$d/.complete" -mtime +30)" ] || continue
	grep -qsxF "ZPCI_KVER=$(basename "$d")" "$kcache"/*.env && continue
	(flock -n 8 && rm -rf "$d" && echo "fetch-kernel: pruned $d" >&2) 8>"$d/.lock" || true
done
[ "$quiet" = 1 ] || cat "$envf"
