#!/bin/bash
# Fetch and unpack the newest upstream QEMU source that the Debian archive
# actually serves.  The Sources indexes may list versions whose files the
# pool does not (or no longer) serve, so every candidate is tried, newest
# first, until its .dsc, orig and debian tarballs download and match the
# index's Checksums-Sha256.
#
#   fetch-source.sh [MIN_UPSTREAM]
#       -> prints "VERSION<TAB>ORIG_TARBALL<TAB>DEBIAN_TARBALL"
#
# MIN_UPSTREAM (e.g. 10.2) skips older upstream releases: the patch series
# is written against one release line.  Suites: $ZPCI_QEMU_SUITES
# (default "sid trixie-backports trixie").  Downloads are cached under
# $ZPCI_CACHE/debian/source (temp file + rename, see tests/vm/lib.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
: "${ZPCI_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/zpci}"
. "$HERE/../../tests/vm/lib.sh"

MIN=${1:-0}
SUITES=${ZPCI_QEMU_SUITES:-sid trixie-backports trixie}

# candidates: "version<TAB>directory<TAB>sha256 size name ..." per stanza
cands=$(mktemp)
trap 'rm -f "$cands"' EXIT
for s in $SUITES; do
	idx=$(deb_index "$s" source) || continue
	awk 'BEGIN { RS = ""; FS = "\n" }
	/(^|\n)Package: qemu\n/ {
		v = ""; d = ""; files = ""; insum = 0
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^Version: /) v = substr($i, 10)
			else if ($i ~ /^Directory: /) d = substr($i, 12)
			if ($i ~ /^Checksums-Sha256:/) { insum = 1; continue }
			if (insum && $i ~ /^ /) {
				split($i, a, " "); files = files " " a[1] ":" a[3]; continue
			}
			insum = 0
		}
		if (v != "" && files != "") printf "%s\t%s\t%s\n", v, d, files
	}' "$idx" >>"$cands"
done
[ -s "$cands" ] || die "no qemu source stanza with Checksums-Sha256 in: $SUITES"

# newest first (Debian version order), duplicates across suites dropped
mapfile -t versions < <(cut -f1 "$cands" | sort -u | python3 -c '
import sys, subprocess, functools
vs = [l.strip() for l in sys.stdin if l.strip()]
def cmp(a, b):
    if a == b: return 0
    r = subprocess.run(["dpkg", "--compare-versions", a, "gt", b])
    return -1 if r.returncode == 0 else 1
print("\n".join(sorted(vs, key=functools.cmp_to_key(cmp))))')

srcdl=$DEB_DIR/source
for v in "${versions[@]}"; do
	up=${v#*:}; up=${up%%+*}; up=${up%%-*}
	if [ "$(printf '%s\n%s\n' "$MIN" "$up" | sort -V | head -1)" != "$MIN" ]; then
		log "qemu source: $v older than $MIN, skipped"
		continue
	fi
	line=$(awk -F'\t' -v v="$v" '$1 == v { print; exit }' "$cands")
	dir=$(cut -f2 <<<"$line")
	ok=1
	orig=""
	debtar=""
	for ent in $(cut -f3 <<<"$line"); do
		sum=${ent%%:*}; f=${ent#*:}
		dest=$srcdl/$f
		if ! fetch_url "$DEBIAN_MIRROR/$dir/$f" "$dest" 2>/dev/null; then
			log "qemu source: $v not served ($f), trying an older version"
			ok=0; break
		fi
		if [ "$(sha256sum <"$dest" | cut -d' ' -f1)" != "$sum" ]; then
			rm -f "$dest"
			log "qemu source: $f checksum mismatch, trying an older version"
			ok=0; break
		fi
		case $f in
		*.orig.tar.*) orig=$dest ;;
		*.debian.tar.*) debtar=$dest ;;
		esac
	done
	if [ $ok = 1 ] && [ -n "$orig" ] && [ -n "$debtar" ]; then
		printf '%s\t%s\t%s\n' "$v" "$orig" "$debtar"
		exit 0
	fi
done
die "no qemu source >= $MIN downloadable from: $SUITES"
