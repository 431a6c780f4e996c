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
# The .deb comes through scripts/debfetch.sh (SHA256-checked, next-newest
# version if the archive lost the newest).  Idempotent and safe to run
# concurrently (flock + temp dir + rename).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/debfetch.sh
. "$repo/scripts/debfetch.sh"
cache=$ZPCI_CACHE
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
debfetch_need || exit 1
export DEBFETCH_QUIET=1

mkdir -p "$cache/checkpatch"
exec 9>"$cache/checkpatch/.lock"
flock 9

# The version directory is named after the .deb; a cached one is used
# without downloading the (large) source .deb again.
index=$(debfetch_index "$suite" s390x) || exit 1
ver=''
while IFS=$'\t' read -r v _; do
	if [ -x "$cache/checkpatch/$v/checkpatch.pl" ]; then
		ver=$v
		break
	fi
done < <(debfetch_records "$index" "linux-source-$series" | cut -f2 | sed 's/$/\t-/' | debfetch_sort_desc)
if [ -z "$ver" ]; then
	deb=$(debfetch_deb "$suite" s390x "linux-source-$series") || {
		echo "fetch-checkpatch: cannot fetch linux-source-$series from $suite" >&2
		exit 1
	}
	ver=$(dpkg-deb -f "$deb" Version)
fi

dest=$cache/checkpatch/$ver
if [ ! -x "$dest/checkpatch.pl" ]; then
	work=$(mktemp -d "$cache/checkpatch/tmp.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	# The .deb holds usr/src/linux-source-X.Y.tar.xz; take three files.
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO --wildcards './usr/src/linux-source-*.tar.*' |
		tar -xJ -C "$work" --wildcards --strip-components=2 \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
			'*/scripts/const_structs.checkpatch'
	mkdir -p "$work/out"
	mv "$work/checkpatch.pl" "$work/spelling.txt" \
		"$work/const_structs.checkpatch" "$work/out/"
	chmod +x "$work/out/checkpatch.pl"
	rm -rf "$dest"
	mv "$work/out" "$dest"
	# the three files are what is kept: drop the 150 MB .deb
	rm -f "$deb"
fi
ln -sfn "$ver" "$cache/checkpatch/current.tmp.$$"
mv -Tf "$cache/checkpatch/current.tmp.$$" "$cache/checkpatch/current"
echo "$cache/checkpatch/current/checkpatch.pl"
