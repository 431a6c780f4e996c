#!/bin/bash
# Fetch the newest upstream QEMU source that the Debian archive actually
# serves, through the project's Debian fetcher (scripts/debfetch.sh:
# SHA256-checked against the index, and the next-newest listed version when
# the archive lost the newest one's files).
#
#   fetch-source.sh [MIN_UPSTREAM]
#       -> prints "VERSION<TAB>ORIG_TARBALL<TAB>DEBIAN_TARBALL"
#
# Suites are tried in order ($ZPCI_QEMU_SUITES, default "sid testing
# trixie-backports trixie"), twice: first for a version on MIN_UPSTREAM's
# own release line (10.2.x for 10.2: the patch series is written against
# that line, and a newer release in sid must not break the build while
# another suite still serves the line), then for any version >= MIN_UPSTREAM
# (said loudly: the series may then need a rebase).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/debfetch.sh"
die() { printf '[qemu-e2e] ERROR: %s\n' "$*" >&2; exit 1; }

MIN=${1:-0}
LINE=$(printf '%s\n' "$MIN" | cut -d. -f1-2)
SUITES=${ZPCI_QEMU_SUITES:-sid testing trixie-backports trixie}

for pass in line newer; do
	for s in $SUITES; do
		dsc=$(debfetch_src "$s" qemu 2>/dev/null) || continue
		v=$(sed -n 's/^Version: //p' "$dsc" | head -1)
		up=${v#*:}; up=${up%%+*}; up=${up%%-*}
		if [ "$(printf '%s\n%s\n' "$MIN" "$up" | sort -V | head -1)" != "$MIN" ]; then
			echo "qemu source: $s serves $v, older than $MIN; next suite" >&2
			continue
		fi
		if [ $pass = line ] && [ "$(printf '%s\n' "$up" | cut -d. -f1-2)" != "$LINE" ]; then
			echo "qemu source: $s serves $v, not on the $LINE line; next suite" >&2
			continue
		fi
		[ $pass = newer ] &&
			echo "qemu source: WARNING: no suite serves QEMU $LINE.x; taking $v from $s (the patch series may need a rebase)" >&2
		dir=$(dirname "$dsc")
		orig=$(awk '/^Checksums-Sha256:/ { f = 1; next } /^[^ ]/ { f = 0 }
			f && $3 ~ /\.orig\.tar\./ { print $3; exit }' "$dsc")
		debtar=$(awk '/^Checksums-Sha256:/ { f = 1; next } /^[^ ]/ { f = 0 }
			f && $3 ~ /\.debian\.tar\./ { print $3; exit }' "$dsc")
		[ -n "$orig" ] && [ -s "$dir/$orig" ] || die "$dsc names no downloaded orig tarball"
		[ -n "$debtar" ] && [ -s "$dir/$debtar" ] || die "$dsc names no downloaded debian tarball"
		printf '%s\t%s\t%s\n' "$v" "$dir/$orig" "$dir/$debtar"
		exit 0
	done
done
die "no qemu source >= $MIN served by: $SUITES"
