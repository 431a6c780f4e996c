#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch the kernel's checkpatch.pl (with spelling.txt and
# const_structs.checkpatch, which it reads from its own directory) out of
# Debian's linux-source package, into $ZPCI_CACHE/checkpatch/<version>/.
# Only those three files are kept.  Prints the path of checkpatch.pl.
#
# Usage: fetch-checkpatch.sh [--suite SUITE] [--series X.Y]
#   default: bookworm-backports, 6.12 (the reference kernel's source)
# Idempotent and safe to run concurrently (flock + temp dir + rename).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${ZPCI_CACHE:-$repo/build/cache}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm-backports
series=6.12

while [ $# -gt 0 ]; do
	case "$1" in
	--suite) suite=$2; shift 2 ;;
	--series) series=$2; shift 2 ;;
	*) echo "fetch-checkpatch: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case "$suite" in *[!a-z0-9-]*|'') echo "fetch-checkpatch: bad suite" >&2; exit 2 ;; esac
case "$series" in *[!0-9.]*|'') echo "fetch-checkpatch: bad series" >&2; exit 2 ;; esac

mkdir -p "$cache/checkpatch" "$cache/index"
exec 9>"$cache/checkpatch/.lock"
flock 9

idx=$cache/index/$suite-s390x.Packages
if [ ! -s "$idx" ] || [ -n "$(find "$idx" -mmin +60 2>/dev/null)" ]; then
	tmp=$(mktemp "$idx.tmp.XXXXXX")
	if curl -fsSL --retry 3 "$mirror/dists/$suite/main/binary-s390x/Packages.xz" |
	   xz -dc >"$tmp" && [ -s "$tmp" ]; then
		mv -f "$tmp" "$idx"
	else
		rm -f "$tmp"
		[ -s "$idx" ] || { echo "fetch-checkpatch: no index for $suite" >&2; exit 1; }
	fi
fi

read -r fn sum ver < <(awk -v want="linux-source-$series" '
	/^Package: / { p = $2; fn = ""; sum = ""; v = "" }
	/^Version: / { v = $2 }
	/^Filename: / { fn = $2 }
	/^SHA256: / { sum = $2 }
	/^$/ { if (p == want && fn != "") { print fn, sum, v; exit } p = "" }
	END { if (p == want && fn != "") print fn, sum, v }
' "$idx") || true
if [ -z "${fn:-}" ]; then
	echo "fetch-checkpatch: linux-source-$series not in $suite" >&2
	exit 1
fi

dest=$cache/checkpatch/$ver
if [ ! -x "$dest/checkpatch.pl" ]; then
	work=$(mktemp -d "$cache/checkpatch/tmp.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	echo "fetch-checkpatch: downloading $(basename "$fn")" >&2
	curl -fsSL --retry 3 -o "$work/src.deb" "$mirror/$fn"
	echo "$sum  $work/src.deb" | sha256sum -c --status ||
		{ echo "fetch-checkpatch: checksum mismatch" >&2; exit 1; }
	# The .deb holds usr/src/linux-source-X.Y.tar.xz; take three files.
	dpkg-deb --fsys-tarfile "$work/src.deb" |
		tar -xO --wildcards './usr/src/linux-source-*.tar.*' |
		tar -xJ -C "$work" --wildcards --strip-components=2 \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
			'*/scripts/const_structs.checkpatch'
	rm -f "$work/src.deb"
	mkdir -p "$work/out"
	mv "$work/checkpatch.pl" "$work/spelling.txt" \
		"$work/const_structs.checkpatch" "$work/out/"
	chmod +x "$work/out/checkpatch.pl"
	rm -rf "$dest"
	mv "$work/out" "$dest"
fi
ln -sfn "$ver" "$cache/checkpatch/current.tmp.$$"
mv -Tf "$cache/checkpatch/current.tmp.$$" "$cache/checkpatch/current"
echo "$cache/checkpatch/current/checkpatch.pl"
