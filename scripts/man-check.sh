#!/bin/bash
# The man pages (man/) render without a single warning from man/groff.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
rc=0 n=0
for f in man/*.[1-9]; do
	n=$((n + 1))
	warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
		man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null)
	st=$?
	if [ $st -ne 0 ] || [ -n "$warn" ]; then
		echo "man-check: $f (exit $st):"
		echo "$warn" | sed 's/^/  /'
		rc=1
	fi
	# every page names itself and has the sections a reader looks for
	for s in NAME SYNOPSIS DESCRIPTION 'SEE ALSO'; do
		grep -q "^\.SH \"\?$s\"\?\$" "$f" || { echo "man-check: $f has no $s section"; rc=1; }
	done
done
[ $n -gt 0 ] || { echo "man-check: no pages in man/"; exit 1; }
[ $rc -eq 0 ] && echo "man-check: $n pages render without warnings"
exit $rc
