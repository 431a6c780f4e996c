#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debfetch: the one place where the project downloads Debian packages
# (binary .debs and source packages) straight from the archive, without
# touching apt's configuration.  Sourced as a library by
# kmod/scripts/fetch-kernel.sh, kmod/scripts/fetch-checkpatch.sh and
# tests/vm/lib.sh; also a small command line tool:
#
#   debfetch.sh index    SUITE ARCH        path of the Packages (ARCH=source:
#                                          Sources) index, refreshed if old
#   debfetch.sh versions SUITE ARCH PKG    versions the index lists, newest first
#   debfetch.sh deb      SUITE ARCH PKG    download the newest available .deb,
#                                          print its path
#   debfetch.sh src      SUITE PKG         download the newest available source
#                                          package, print the path of its .dsc
#   debfetch.sh kernel   SUITE [SERIES]    download the newest complete s390x
#                                          kernel set (image, binary, modules,
#                                          headers, common headers, amd64
#                                          kbuild), print "ABI <abi>" and paths
#   debfetch.sh prune                      drop pool files unused for
#                                          $DEBFETCH_KEEP_DAYS days
#
# Rules:
# - Indexes are trusted through the suite's InRelease, whose signature gpgv
#   checks against the Debian archive keyring ($DEBFETCH_KEYRING).
# - Every file is checked against the SHA256 its index gives; it is
#   downloaded to a temporary name and renamed into place only when it
#   matched, so concurrent runs never see half a file.  A mismatch is
#   refused (no fallback: that is corruption, not the archive moving).
# - The archive drops files before (or without) every index saying so.
#   When the newest listed version is missing (HTTP 404/410), the
#   next-newest listed version is used, and that is said on stderr; only
#   when no listed version is there is the index refreshed and the search
#   repeated once.  For kernels the fallback is per ABI: every package of
#   a set (image, headers, common headers, kbuild) has the same ABI.
# - Indexes are refreshed when older than $DEBFETCH_INDEX_AGE minutes
#   (default 60) or with ZPCI_REFRESH_INDEX=1; if a refresh fails the stale
#   index is used (and that is said).
#
# Env: ZPCI_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/zpci),
#      DEBIAN_MIRROR (default http://deb.debian.org/debian; file:// works),
#      DEBFETCH_QUIET=1 (only warnings and errors on stderr).
# Layout: $ZPCI_CACHE/debian/{index,pool}/.
#
# Exit status of the fetch functions: 0 ok, 1 error, 2 not available (every
# listed version missing from the archive), 3 checksum mismatch.

# The default user-level cache, shared by every clone of the project.
debfetch_default_cache() {
	local x=${XDG_CACHE_HOME:-}
	if [ -n "$x" ] && [ "${x#/}" != "$x" ]; then	# XDG: absolute only
		echo "$XDG_CACHE_HOME/zpci"
	elif [ -n "${HOME:-}" ] && [ "$HOME" != / ]; then
		echo "$HOME/.cache/zpci"
	else
		echo "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/cache"
	fi
}

: "${ZPCI_CACHE:=$(debfetch_default_cache)}"
: "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"
export ZPCI_CACHE DEBIAN_MIRROR
DEBFETCH_DIR=$ZPCI_CACHE/debian
: "${DEBFETCH_INDEX_AGE:=60}"
: "${DEBFETCH_KEEP_DAYS:=30}"

debfetch_log() { [ "${DEBFETCH_QUIET:-0}" = 1 ] || echo "debfetch: $*" >&2; }
debfetch_warn() { echo "debfetch: $*" >&2; }

debfetch_need() {
	local t
	for t in curl xz sha256sum flock awk dpkg gpgv; do
		command -v "$t" >/dev/null && continue
		debfetch_warn "'$t' missing (scripts/install-deps.sh)"
		return 1
	done
}

debfetch_check_name() {	# WHAT VALUE: refuse anything that is not a plain name
	case "$2" in
	''|*[!A-Za-z0-9.+~:_-]*|-*)
		debfetch_warn "bad $1 '$2'"
		return 1 ;;
	esac
}

# debfetch_index SUITE ARCH -> path of the uncompressed index.  ARCH=source
# gives Sources.  Refresh with a lock, so two runs do not fetch it twice.
debfetch_index() {
	local suite=$1 arch=$2 force=${3:-0} name rel url out t0 m
	debfetch_check_name suite "$suite" || return 1
	debfetch_check_name arch "$arch" || return 1
	if [ "$arch" = source ]; then
		name=Sources rel=main/source/Sources.xz
	else
		name=Packages rel=main/binary-$arch/Packages.xz
	fi
	url=$DEBIAN_MIRROR/dists/$suite/$rel
	out=$DEBFETCH_DIR/index/${suite}_${arch}_$name
	[ "${ZPCI_REFRESH_INDEX:-0}" = 1 ] && force=1
	if [ -s "$out" ] && [ "$force" = 0 ] &&
	   [ -z "$(find "$out" -mmin +"$DEBFETCH_INDEX_AGE" 2>/dev/null)" ]; then
		echo "$out"
		return 0
	fi
	mkdir -p "$DEBFETCH_DIR/index" || return 1
	t0=$(date +%s)
	(
		flock 8
		# someone else refreshed it while this run waited for the lock
		if [ -s "$out" ]; then
			m=$(stat -c %Y "$out")
			if [ "$m" -ge "$t0" ] ||
			   { [ "$force" = 0 ] && [ -z "$(find "$out" -mmin +"$DEBFETCH_INDEX_AGE")" ]; }; then
				exit 0
			fi
		fi
		tmp=$(mktemp "$out.XXXXXX.part") || exit 1
		trap 'rm -f "$tmp" "$tmp".*' EXIT
		debfetch_log "fetching $suite/$arch $name index"
		# the signed InRelease gives the index's SHA256
		if debfetch_release "$suite" "$tmp.rel" &&
		   want=$(awk -v f="$rel" '/^[^ ]/ { in_sha = ($1 == "SHA256:") ; next }
			in_sha && $3 == f { print $1; exit }' "$tmp.rel") &&
		   { [ -n "$want" ] || { debfetch_warn "$rel not in $suite's InRelease"; false; }; } &&
		   curl -fsSL --retry 3 --retry-delay 2 -o "$tmp.xz" "$url" &&
		   { echo "$want  $tmp.xz" | sha256sum -c --status ||
			{ debfetch_warn "$url does not match the SHA256 in $suite's InRelease; refused"; false; }; } &&
		   xz -dc "$tmp.xz" >"$tmp" && [ -s "$tmp" ] && grep -q '^Package: ' "$tmp"; then
			chmod 0644 "$tmp"
			mv -f "$tmp" "$out"
			exit 0
		fi
		if [ -s "$out" ]; then
			debfetch_warn "cannot refresh $url; using the stale index $out"
			exit 0
		fi
		debfetch_warn "cannot fetch index $url"
		exit 1
	) 8>"$out.lock" || return 1
	echo "$out"
}

# debfetch_release SUITE OUT: the archive's InRelease of SUITE, its OpenPGP
# signature checked by gpgv against $DEBFETCH_KEYRING (default: the Debian
# archive keyring); OUT gets the signed text only.
debfetch_release() {
	local suite=$1 out=$2 keyring=${DEBFETCH_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
	local tmp status
	if ! command -v gpgv >/dev/null || [ ! -r "$keyring" ]; then
		debfetch_warn "gpgv or the keyring $keyring missing (apt-get install gpgv debian-archive-keyring)"
		return 1
	fi
	tmp=$(mktemp "$out.XXXXXX") || return 1
	if ! curl -fsSL --retry 3 --retry-delay 2 -o "$tmp" "$DEBIAN_MIRROR/dists/$suite/InRelease"; then
		debfetch_warn "cannot fetch $DEBIAN_MIRROR/dists/$suite/InRelease"
		rm -f "$tmp"
		return 1
	fi
	status=$(gpgv --status-fd 1 --keyring "$keyring" --output "$out" "$tmp" 2>/dev/null)
	local rc=$?
	rm -f "$tmp"
	if [ $rc -ne 0 ] || ! grep -q '^\[GNUPG:\] VALIDSIG ' <<<"$status"; then
		debfetch_warn "$suite's InRelease: bad or unknown signature (keyring $keyring); refused"
		rm -f "$out"
		return 1
	fi
}

# debfetch_records INDEX NAME...: one line per listed version of the
# packages NAME (exact names), "pkg<TAB>version<TAB>file<TAB>sha256", from a
# Packages index.  With NAME of the form ~ERE, the names matching ^ERE$.
debfetch_records() {
	local index=$1
	shift
	printf '%s\n' "$@" | awk '
		NR == FNR {
			if (substr($0, 1, 1) == "~") re = re (re == "" ? "" : "|") substr($0, 2)
			else want[$0] = 1
			next
		}
		function out() {
			if (p != "" && fn != "" && (p in want || (re != "" && p ~ ("^(" re ")$"))))
				printf "%s\t%s\t%s\t%s\n", p, v, fn, s
			p = ""; v = ""; fn = ""; s = ""
		}
		/^$/ { out(); next }
		/^Package: / { p = $2; next }
		/^Version: / { v = $2; next }
		/^Filename: / { fn = $2; next }
		/^SHA256: / { s = $2; next }
		END { out() }
	' - "$index"
}

# debfetch_src_records INDEX PKG: one line per file of every listed version
# of source package PKG, "version<TAB>directory<TAB>name<TAB>sha256" (sha256
# "-" when the stanza gives none).  File names come from Files: and/or
# Checksums-Sha256: (an entry may have only one of them).
debfetch_src_records() {
	awk -v want="$2" '
		function out(   n) {
			if (p == want && v != "" && d != "")
				for (n in names)
					printf "%s\t%s\t%s\t%s\n", v, d, n, (n in sha ? sha[n] : "-")
			p = ""; v = ""; d = ""; f = ""
			split("", names); split("", sha)
		}
		/^$/ { out(); next }
		/^[^ \t]/ {
			f = $1
			if (f == "Package:") p = $2
			else if (f == "Version:") v = $2
			else if (f == "Directory:") d = $2
			next
		}
		f == "Files:" && NF >= 3 { names[$3] = 1; next }
		f == "Checksums-Sha256:" && NF >= 3 { names[$3] = 1; sha[$3] = $1; next }
		END { out() }
	' "$1"
}

# debfetch_sort_desc: lines "version<TAB>rest" -> the same lines, newest
# version first, in dpkg's version order (lists here are a handful long).
debfetch_sort_desc() {
	local lines=() line i j tmp
	while IFS= read -r line; do
		[ -n "$line" ] && lines+=("$line")
	done
	for ((i = 1; i < ${#lines[@]}; i++)); do
		for ((j = i; j > 0; j--)); do
			dpkg --compare-versions "${lines[j]%%$'\t'*}" gt "${lines[j-1]%%$'\t'*}" || break
			tmp=${lines[j]}; lines[j]=${lines[j-1]}; lines[j-1]=$tmp
		done
	done
	[ ${#lines[@]} -eq 0 ] || printf '%s\n' "${lines[@]}"
}

# debfetch_get URL DEST SHA256: download URL to DEST once, verified.  A
# cached DEST is reused if its checksum matches.  Status 0 ok, 1 failure,
# 2 missing (404/410, or no such file for file://), 3 checksum mismatch.
debfetch_get() {
	local url=$1 dest=$2 sum=$3 tmp code rc
	case "$sum" in
	*[!0-9a-f]*|'') debfetch_warn "no SHA256 for $url; refused"; return 3 ;;
	esac
	[ ${#sum} -eq 64 ] || { debfetch_warn "bad SHA256 for $url; refused"; return 3; }
	if [ -s "$dest" ]; then
		if echo "$sum  $dest" | sha256sum -c --status; then
			touch -c "$dest"
			return 0
		fi
		rm -f "$dest"
	fi
	mkdir -p "$(dirname "$dest")" || return 1
	tmp=$(mktemp "$dest.XXXXXX.part") || return 1
	debfetch_log "downloading $url"
	code=$(curl -sSL --retry 3 --retry-delay 2 -o "$tmp" -w '%{http_code}' "$url" 2>"$tmp.err")
	rc=$?
	if [ $rc -eq 37 ] || [ "$code" = 404 ] || [ "$code" = 410 ]; then
		rm -f "$tmp" "$tmp.err"
		return 2
	fi
	if [ $rc -ne 0 ] || { [ "$code" != 200 ] && [ "${url%%://*}" != file ]; }; then
		debfetch_warn "download failed (curl $rc, HTTP $code): $url $(head -c 300 "$tmp.err")"
		rm -f "$tmp" "$tmp.err"
		return 1
	fi
	rm -f "$tmp.err"
	if ! echo "$sum  $tmp" | sha256sum -c --status; then
		debfetch_warn "checksum mismatch for $url: expected $sum, got $(sha256sum <"$tmp" | cut -c1-64); refused"
		rm -f "$tmp"
		return 3
	fi
	chmod 0644 "$tmp"	# mktemp made it private
	mv -f "$tmp" "$dest"
}

# A missing file is remembered until its index is refreshed, so warm runs
# do not ask the archive again for what it no longer has.
debfetch_known_missing() {	# FILE INDEX
	local m
	m=$DEBFETCH_DIR/missing/$(basename "$1")
	[ -e "$m" ] && [ "$m" -nt "$2" ]
}
debfetch_mark_missing() {
	mkdir -p "$DEBFETCH_DIR/missing" && touch "$DEBFETCH_DIR/missing/$(basename "$1")"
}

# debfetch_pool_get FILE SHA256 INDEX: fetch $DEBIAN_MIRROR/FILE into the
# pool; print the local path.  Same status as debfetch_get.
debfetch_pool_get() {
	local file=$1 sum=$2 index=$3 dest rc=0 lock
	dest=$DEBFETCH_DIR/pool/$(basename "$file")
	if [ ! -s "$dest" ] && debfetch_known_missing "$file" "$index"; then
		return 2
	fi
	# one download per file: a concurrent run waits, then finds it cached
	mkdir -p "$DEBFETCH_DIR/locks" || return 1
	exec {lock}>"$DEBFETCH_DIR/locks/$(basename "$file").lock"
	flock "$lock"
	debfetch_get "$DEBIAN_MIRROR/$file" "$dest" "$sum" || rc=$?
	exec {lock}>&-
	[ $rc -eq 2 ] && debfetch_mark_missing "$file"
	[ $rc -eq 0 ] && echo "$dest"
	return $rc
}

# debfetch_versions SUITE ARCH PKG: "version<TAB>file" of every listed
# version, newest first (ARCH=source: "version<TAB>directory").
debfetch_versions() {
	local index
	index=$(debfetch_index "$1" "$2") || return 1
	if [ "$2" = source ]; then
		debfetch_src_records "$index" "$3" | cut -f1,2 | sort -u | debfetch_sort_desc
	else
		debfetch_records "$index" "$3" | cut -f2,3 | debfetch_sort_desc
	fi
}

# debfetch_deb SUITE ARCH PKG: the newest listed version of PKG that the
# archive still has; prints the path of the .deb.
debfetch_deb() {
	local suite=$1 arch=$2 pkg=$3 index pass v f s path rc first='' tried=''
	debfetch_check_name package "$pkg" || return 1
	for pass in 0 1; do
		index=$(debfetch_index "$suite" "$arch" "$pass") || return 1
		first='' tried=''
		while IFS=$'\t' read -r v f s; do
			rc=0
			path=$(debfetch_pool_get "$f" "$s" "$index") || rc=$?
			if [ $rc -eq 0 ]; then
				[ -z "$first" ] || debfetch_warn "FALLBACK: $pkg $first is listed in $suite/$arch but missing from the archive; using $v instead"
				echo "$path"
				return 0
			fi
			[ $rc -eq 2 ] || return $rc
			[ -n "$first" ] || first=$v
			tried="$tried $v"
		done < <(debfetch_records "$index" "$pkg" | cut -f2- | debfetch_sort_desc)
		if [ -z "$first" ]; then
			debfetch_warn "package $pkg not in $suite/$arch"
			return 1
		fi
		# a fresh index may already name a newer file
		[ $pass = 0 ] && debfetch_log "$pkg$tried missing from the archive; refreshing the $suite/$arch index"
	done
	debfetch_warn "$pkg: every listed version ($tried ) is missing from the archive"
	return 2
}

# debfetch_src SUITE PKG: download every file of the newest listed version
# of source package PKG that the archive has completely; prints the .dsc.
debfetch_src() {
	local suite=$1 pkg=$2 index pass v d n s rc first='' tried='' cur='' dsc='' ok=0 vers
	debfetch_check_name package "$pkg" || return 1
	for pass in 0 1; do
		index=$(debfetch_index "$suite" source "$pass") || return 1
		first='' tried=''
		vers=$(debfetch_src_records "$index" "$pkg" | cut -f1 | sort -u |
			sed 's/$/\t-/' | debfetch_sort_desc | cut -f1)
		for cur in $vers; do
			ok=1 dsc=''
			while IFS=$'\t' read -r v d n s; do
				rc=0
				debfetch_pool_get "$d/$n" "$s" "$index" >/dev/null || rc=$?
				[ $rc -eq 0 ] && { [ "${n%.dsc}" = "$n" ] || dsc=$DEBFETCH_DIR/pool/$n; continue; }
				[ $rc -eq 2 ] || return $rc
				ok=0
				debfetch_log "$pkg $cur: $d/$n missing from the archive"
				break
			done < <(debfetch_src_records "$index" "$pkg" | awk -F '\t' -v v="$cur" '$1 == v')
			if [ $ok = 1 ] && [ -n "$dsc" ]; then
				[ -z "$first" ] || debfetch_warn "FALLBACK: source $pkg $first is listed in $suite but missing from the archive; using $cur instead"
				echo "$dsc"
				return 0
			fi
			[ -n "$first" ] || first=$cur
			tried="$tried $cur"
		done
		if [ -z "$first" ]; then
			debfetch_warn "source package $pkg not in $suite"
			return 1
		fi
		[ $pass = 0 ] && debfetch_log "source $pkg$tried incomplete in the archive; refreshing the $suite Sources index"
	done
	debfetch_warn "source $pkg: every listed version ($tried ) is missing from the archive"
	return 2
}

# debfetch_kernel_sets SUITE SERIES: the s390x kernel sets the indexes list,
# newest ABI first, one per line: "ABI ARCH:PKG ..." (ABI e.g.
# 6.12.117+deb13).  SERIES (e.g. 6.12, 7) limits the ABIs; empty = all.
# Sets the indexes lack a package for are left out (and said).
debfetch_kernel_sets() {
	local suite=$1 series=$2 sidx aidx recs abi kver set p
	case "$series" in *[!0-9.]*) debfetch_warn "bad series '$series'"; return 1 ;; esac
	sidx=$(debfetch_index "$suite" s390x "${3:-0}") || return 1
	aidx=$(debfetch_index "$suite" amd64 "${3:-0}") || return 1
	recs=$( { debfetch_records "$sidx" '~linux-(image|binary|modules|headers)-[0-9].*';
		debfetch_records "$aidx" '~linux-kbuild-[0-9].*' | sed 's/^/amd64:/'; } | cut -f1)
	# signed images are amd64/arm64 only, so s390x has the plain package
	for abi in $(sed -n 's/^linux-image-\([0-9][0-9.]*[^ ]*\)-s390x$/\1/p' <<<"$recs" |
		awk -v s="$series" 's == "" || $0 == s || index($0, s ".") == 1 || index($0, s "-") == 1 || index($0, s "+") == 1' |
		sort -u | sed 's/$/\t-/' | debfetch_sort_desc | cut -f1); do
		kver=$abi-s390x
		set="s390x:linux-image-$kver s390x:linux-headers-$kver s390x:linux-headers-$abi-common amd64:linux-kbuild-$abi"
		# Newer kernels split the image: linux-image-* is then a small
		# metapackage for linux-binary-* (vmlinuz, System.map) and
		# linux-modules-* (the .ko files).
		for p in "linux-binary-$kver" "linux-modules-$kver"; do
			grep -qxF "$p" <<<"$recs" && set="$set s390x:$p"
		done
		for p in $set; do
			case $p in
			amd64:*) grep -qxF "$p" <<<"$recs" ;;
			*) grep -qxF "${p#s390x:}" <<<"$recs" ;;
			esac || { debfetch_warn "kernel $abi: $p not listed in $suite; that ABI skipped"; continue 2; }
		done
		echo "$abi $set"
	done
}

# debfetch_fetch_set SUITE ARCH:PKG...: download the newest listed version of
# each package; print the paths.  Status 2 as soon as one is missing.
debfetch_fetch_set() {
	local suite=$1 item arch pkg index v f s rc
	shift
	for item in "$@"; do
		arch=${item%%:*} pkg=${item#*:}
		index=$(debfetch_index "$suite" "$arch") || return 1
		IFS=$'\t' read -r v f s < <(debfetch_records "$index" "$pkg" | cut -f2- |
			debfetch_sort_desc | head -n 1) || true
		[ -n "${f:-}" ] || { debfetch_warn "$pkg not in $suite/$arch"; return 1; }
		rc=0
		debfetch_pool_get "$f" "$s" "$index" || rc=$?
		if [ $rc -eq 2 ]; then
			debfetch_warn "$pkg $v is listed in $suite/$arch but missing from the archive"
		fi
		[ $rc -eq 0 ] || return $rc
		f=
	done
}

# debfetch_kernel SUITE SERIES: download the newest kernel set the archive
# has completely.  Sets DEBFETCH_KABI and DEBFETCH_KDEBS (array).
# DEBFETCH_KHAVE, if set, names a function called with the ABI and the set:
# when it succeeds that set counts as present without downloading (used by
# fetch-kernel.sh for an already unpacked kernel).
debfetch_kernel() {
	local suite=$1 series=${2:-} pass abi set sets first='' tried='' out rc
	DEBFETCH_KABI='' DEBFETCH_KSET='' DEBFETCH_KDEBS=()
	for pass in 0 1; do
		sets=$(debfetch_kernel_sets "$suite" "$series" "$pass") || return 1
		first='' tried=''
		while read -r abi set; do
			[ -n "$abi" ] || continue
			if [ -n "${DEBFETCH_KHAVE:-}" ] && "$DEBFETCH_KHAVE" "$abi" "$set"; then
				out='' rc=0
			else
				rc=0
				# shellcheck disable=SC2086
				out=$(debfetch_fetch_set "$suite" $set) || rc=$?
			fi
			if [ $rc -eq 0 ]; then
				[ -z "$first" ] || debfetch_warn "FALLBACK: kernel $first is listed in $suite but not (completely) in the archive; using $abi instead"
				# shellcheck disable=SC2034 # for the caller
				DEBFETCH_KABI=$abi DEBFETCH_KSET=$set
				[ -z "$out" ] || mapfile -t DEBFETCH_KDEBS <<<"$out"
				return 0
			fi
			[ $rc -eq 2 ] || return $rc
			[ -n "$first" ] || first=$abi
			tried="$tried $abi"
		done <<<"$sets"
		if [ -z "$first" ]; then
			debfetch_warn "no complete s390x kernel set ${series:+of series $series }listed in $suite"
			return 1
		fi
		[ $pass = 0 ] && debfetch_log "kernel$tried incomplete in the archive; refreshing the $suite indexes"
	done
	debfetch_warn "kernel: every listed ABI ($tried ) is incomplete in the archive"
	return 2
}

# debfetch_prune: drop pool files not used for DEBFETCH_KEEP_DAYS days (the
# fetchers touch what they reuse).  Runs at most once a day.
debfetch_prune() {
	local stamp=$DEBFETCH_DIR/.pruned
	[ -d "$DEBFETCH_DIR/pool" ] || return 0
	[ "${1:-}" = force ] || [ ! -e "$stamp" ] ||
		[ -n "$(find "$stamp" -mmin +1440)" ] || return 0
	touch "$stamp"
	find "$DEBFETCH_DIR/pool" "$DEBFETCH_DIR/missing" -maxdepth 1 -type f \
		-mtime +"$DEBFETCH_KEEP_DAYS" -print -delete 2>/dev/null |
		sed 's/^/debfetch: pruned /' >&2
	# leftovers of interrupted downloads
	find "$DEBFETCH_DIR/pool" -maxdepth 1 -name '*.part*' -mmin +240 -delete 2>/dev/null
	find "$DEBFETCH_DIR/locks" -maxdepth 1 -name '*.lock' -mtime +"$DEBFETCH_KEEP_DAYS" -delete 2>/dev/null
	return 0
}

debfetch_main() {
	set -uo pipefail
	debfetch_need || exit 1
	local cmd=${1:-} rc=0 p
	shift || true
	case "$cmd" in
	index) [ $# -eq 2 ] || cmd=usage; [ "$cmd" = usage ] || debfetch_index "$1" "$2" || rc=$? ;;
	versions) [ $# -eq 3 ] || cmd=usage; [ "$cmd" = usage ] || debfetch_versions "$1" "$2" "$3" || rc=$? ;;
	deb) [ $# -eq 3 ] || cmd=usage; [ "$cmd" = usage ] || debfetch_deb "$1" "$2" "$3" || rc=$? ;;
	src) [ $# -eq 2 ] || cmd=usage; [ "$cmd" = usage ] || debfetch_src "$1" "$2" || rc=$? ;;
	kernel)
		{ [ $# -eq 1 ] || [ $# -eq 2 ]; } || cmd=usage
		if [ "$cmd" != usage ]; then
			debfetch_kernel "$1" "${2:-}" || rc=$?
			if [ $rc -eq 0 ]; then
				echo "ABI $DEBFETCH_KABI"
				for p in "${DEBFETCH_KDEBS[@]}"; do echo "$p"; done
			fi
		fi ;;
	prune) debfetch_prune force ;;
	*) cmd=usage ;;
	esac
	if [ "$cmd" = usage ]; then
		sed -n '/^#   debfetch.sh/,/^#$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
		exit 2
	fi
	[ $rc -ne 0 ] || debfetch_prune
	exit $rc
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	debfetch_main "$@"
fi
