#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ok() never fails, so "cond && ok || bad" is an if/else here
# shellcheck disable=SC2015
#
# Test of scripts/debfetch.sh against a fake Debian mirror in a temp dir
# (file:// URLs): indexes that name files the pool does not have, a
# checksum that does not match, a kernel set with one package missing,
# Sources entries with only Checksums-Sha256, a refresh that fails, an
# InRelease signed by an unknown key, an index that does not match its
# InRelease.  The mirror's InRelease files are signed with a throwaway key
# (gpg).  Prints one line per case; exit 1 if any failed.  No network.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
df=$here/debfetch.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/debfetch-test.XXXXXX")
export GNUPGHOME=$tmp/gnupg
trap 'gpgconf --kill gpg-agent 2>/dev/null; rm -rf "$tmp"' EXIT
export DEBIAN_MIRROR=file://$tmp/mirror ZPCI_CACHE=$tmp/cache DEBFETCH_QUIET=1
export DEBFETCH_KEYRING=$tmp/keyring.gpg
for t in gpg gpgv gpgconf xz; do
	command -v $t >/dev/null || { echo "debfetch test: $t missing (apt-get install gpg gpgv)"; exit 1; }
done
mkdir -m 700 "$GNUPGHOME"
# key ids: "good" signs the mirror, "other" is a key the keyring lacks
for k in good other; do
	gpg --batch --quiet --passphrase '' --quick-gen-key "debfetch test $k" ed25519 sign 1d 2>/dev/null ||
		{ echo "debfetch test: cannot make a gpg key"; exit 1; }
done
gpg --batch --quiet --export "debfetch test good" >"$DEBFETCH_KEYRING"
unset ZPCI_REFRESH_INDEX
mirror=$tmp/mirror
pass=0 fail=0

ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# put NAME: a pool file with random contents; prints "path sha256"
put() {
	mkdir -p "$mirror/pool/main/x"
	head -c 2048 /dev/urandom >"$mirror/pool/main/x/$1"
	echo "pool/main/x/$1 $(sha256sum <"$mirror/pool/main/x/$1" | cut -c1-64)"
}
# stanza PKG VERSION FILE SHA256
stanza() { printf 'Package: %s\nVersion: %s\nArchitecture: any\nFilename: %s\nSize: 2048\nSHA256: %s\n\n' "$@"; }
# release SUITE [KEY]: (re)write the suite's InRelease over its index files
release() {
	local d=$mirror/dists/$1 f
	{
		printf 'Suite: %s\nSHA256:\n' "$1"
		for f in "$d"/main/*/*.xz; do
			printf ' %s %s %s\n' "$(sha256sum <"$f" | cut -c1-64)" "$(stat -c %s "$f")" "${f#"$d"/}"
		done
	} | gpg --batch --quiet --yes --local-user "debfetch test ${2:-good}" --clearsign \
		-o "$d/InRelease" 2>/dev/null
}
# index SUITE ARCH <stanzas on stdin>
index() {
	mkdir -p "$mirror/dists/$1/main/binary-$2"
	xz -c >"$mirror/dists/$1/main/binary-$2/Packages.xz"
	release "$1"
}
# listed PKG VERSION FILE: a stanza for FILE; "absent" = not in the pool
listed() {
	local f s
	if [ "$3" = absent ]; then
		f=pool/main/x/${1}_$2_s390x.deb
		s=$(printf '%064d' 0)
	else
		read -r f s < <(put "${1}_$2_s390x.deb")
	fi
	stanza "$1" "$2" "$f" "$s"
}

# 1. newest missing -> next-newest, said on stderr.  1.10 > 1.9 in dpkg's
#    order (a plain string sort would take 1.9 as the newest).
{
	listed demo 1.10-1 absent
	listed demo 1.9-1 present
	listed demo 1.2-1 present
	listed other 3.0-1 present
} | index t1 s390x
out=$("$df" deb t1 s390x demo 2>"$tmp/err"); rc=$?
if [ $rc -eq 0 ] && [ "$(basename "$out")" = demo_1.9-1_s390x.deb ] &&
   cmp -s "$out" "$mirror/pool/main/x/demo_1.9-1_s390x.deb" &&
   grep -q 'FALLBACK: demo 1.10-1 .*missing.*using 1.9-1' "$tmp/err"; then
	ok "newest listed version missing: fell back to 1.9-1 and said so"
else
	bad "fallback: rc=$rc out=$out err=$(cat "$tmp/err")"
fi
out=$("$df" versions t1 s390x demo | cut -f1 | tr '\n' ' ')
[ "$out" = "1.10-1 1.9-1 1.2-1 " ] && ok "versions in dpkg order: $out" ||
	bad "versions order: '$out'"

# 2. every listed version missing -> status 2 and a clear message
{ listed gone 1-1 absent; listed gone 2-1 absent; } | index t2 s390x
out=$("$df" deb t2 s390x gone 2>"$tmp/err"); rc=$?
if [ $rc -eq 2 ] && [ -z "$out" ] && grep -q 'every listed version' "$tmp/err"; then
	ok "all versions missing: status 2, said so"
else
	bad "all missing: rc=$rc out=$out err=$(cat "$tmp/err")"
fi
# not listed at all -> error
"$df" deb t2 s390x nosuch 2>"$tmp/err" >/dev/null; rc=$?
[ $rc -eq 1 ] && grep -q 'not in t2/s390x' "$tmp/err" && ok "unknown package: error" ||
	bad "unknown package: rc=$rc $(cat "$tmp/err")"

# 3. checksum mismatch: refused, nothing left in the pool, no fallback
read -r f s < <(put evil_2-1_s390x.deb)
read -r f1 s1 < <(put evil_1-1_s390x.deb)
{ stanza evil 2-1 "$f" "$(printf '%064d' 7)"; stanza evil 1-1 "$f1" "$s1"; } | index t3 s390x
out=$("$df" deb t3 s390x evil 2>"$tmp/err"); rc=$?
if [ $rc -eq 3 ] && [ -z "$out" ] && grep -q 'checksum mismatch' "$tmp/err" &&
   [ -z "$(find "$ZPCI_CACHE/debian/pool/" -name 'evil*')" ]; then
	ok "checksum mismatch: refused (status 3), no file kept, no fallback"
else
	bad "mismatch: rc=$rc out=$out err=$(cat "$tmp/err") pool=$(ls "$ZPCI_CACHE/debian/pool/")"
fi
# a corrupted cached copy is replaced by a verified one
echo garbage >"$ZPCI_CACHE/debian/pool/other_3.0-1_s390x.deb"
out=$("$df" deb t1 s390x other 2>"$tmp/err") &&
	cmp -s "$out" "$mirror/pool/main/x/other_3.0-1_s390x.deb" &&
	ok "corrupt cached file: downloaded again" || bad "corrupt cache: $(cat "$tmp/err")"

# 4. kernel sets: 6.12.9's headers are missing -> the whole set falls back
#    to 6.12.8 (image, headers, common, kbuild of one ABI); series 6.1 must
#    not match 6.12.x.
kset() {	# ABI MISSING-PKG
	local p
	for p in "linux-image-$1-s390x" "linux-headers-$1-s390x" "linux-headers-$1-common"; do
		listed "$p" "${1%%+*}-1" "$([ "$p" = "${2:-}" ] && echo absent || echo present)"
	done
}
{ kset 6.12.9+t4 linux-headers-6.12.9+t4-s390x; kset 6.12.8+t4; kset 6.1.5+t4; } | index t4 s390x
{ listed linux-kbuild-6.12.9+t4 6.12.9-1 present; listed linux-kbuild-6.12.8+t4 6.12.8-1 present
  listed linux-kbuild-6.1.5+t4 6.1.5-1 present; } | index t4 amd64
out=$("$df" kernel t4 6.12 2>"$tmp/err"); rc=$?
if [ $rc -eq 0 ] && [ "$(head -n 1 <<<"$out")" = "ABI 6.12.8+t4" ] &&
   [ "$(tail -n +2 <<<"$out" | grep -c '6\.12\.8+t4')" -eq 4 ] &&
   ! grep -q '6\.12\.9' <<<"$out" &&
   grep -q 'FALLBACK: kernel 6.12.9+t4 .*using 6.12.8+t4' "$tmp/err" &&
   grep -q 'linux-headers-6.12.9+t4-s390x .*missing' "$tmp/err"; then
	ok "kernel set with one package missing: whole set from 6.12.8+t4, said so"
else
	bad "kernel fallback: rc=$rc out=$out err=$(cat "$tmp/err")"
fi
out=$("$df" kernel t4 6.1 2>"$tmp/err" | head -n 1)
[ "$out" = "ABI 6.1.5+t4" ] && ok "series 6.1 picks 6.1.5, not 6.12.x" ||
	bad "series filter: $out $(cat "$tmp/err")"
# warm: the known-missing file is not asked for again, the answer is the same
rm -f "$mirror/pool/main/x/linux-image-6.12.9+t4-s390x_6.12.9-1_s390x.deb"
out=$("$df" kernel t4 6.12 2>"$tmp/err" | head -n 1)
[ "$out" = "ABI 6.12.8+t4" ] && grep -q FALLBACK "$tmp/err" &&
	ok "warm kernel fetch: same fallback, said again" || bad "warm kernel: $out"

# 5. Sources: newest version's orig tarball missing -> older version; an
#    entry with only Checksums-Sha256 (no Files:) is read; one whose files
#    have no SHA256 at all is refused.
src_entry() {	# VERSION ORIG-PRESENT(0/1) FIELDS(both|sha|md5)
	local v=$1 n sums='' files='' f s
	mkdir -p "$mirror/pool/main/x"
	for n in "hello_$v.dsc" "hello_${v%-*}.orig.tar.xz" "hello_$v.debian.tar.xz"; do
		read -r f s < <(put "$n")
		case $n in *.orig.*) [ "$2" = 1 ] || rm -f "$mirror/$f" ;; esac
		sums="$sums"$'\n'" $s 2048 $n"
		files="$files"$'\n'" $(printf '%032d' 1) 2048 $n"
	done
	printf 'Package: hello\nVersion: %s\nDirectory: pool/main/x\n' "$v"
	case $3 in
	both) printf 'Files:%s\nChecksums-Sha256:%s\n' "$files" "$sums" ;;
	sha) printf 'Checksums-Sha256:%s\n' "$sums" ;;
	md5) printf 'Files:%s\n' "$files" ;;
	esac
	echo
}
mkdir -p "$mirror/dists/t5/main/source"
{ src_entry 2.0-1 0 sha; src_entry 1.5-1 1 sha; src_entry 1.0-1 1 both; } |
	xz -c >"$mirror/dists/t5/main/source/Sources.xz"
release t5
out=$("$df" src t5 hello 2>"$tmp/err"); rc=$?
if [ $rc -eq 0 ] && [ "$(basename "$out")" = hello_1.5-1.dsc ] &&
   [ -s "$ZPCI_CACHE/debian/pool/hello_1.5.orig.tar.xz" ] &&
   grep -q 'FALLBACK: source hello 2.0-1 .*using 1.5-1' "$tmp/err"; then
	ok "source: Checksums-Sha256-only entries read, fell back to 1.5-1"
else
	bad "source fallback: rc=$rc out=$out err=$(cat "$tmp/err")"
fi
mkdir -p "$mirror/dists/t6/main/source"
src_entry 3.0-1 1 md5 | xz -c >"$mirror/dists/t6/main/source/Sources.xz"
release t6
out=$("$df" src t6 hello 2>"$tmp/err"); rc=$?
[ $rc -eq 3 ] && grep -q 'no SHA256' "$tmp/err" && ok "source without SHA256: refused" ||
	bad "source without sha: rc=$rc $(cat "$tmp/err")"

# 6. refresh fails (index gone from the mirror): the stale index is used
rm -rf "$mirror/dists/t1"
out=$(ZPCI_REFRESH_INDEX=1 "$df" deb t1 s390x demo 2>"$tmp/err"); rc=$?
[ $rc -eq 0 ] && grep -q 'using the stale index' "$tmp/err" &&
	ok "refresh failed: stale index used, said so" || bad "stale index: rc=$rc $(cat "$tmp/err")"

# 7. the index trust chain: an InRelease by a key the keyring lacks, and an
#    index that does not match its (validly signed) InRelease: refused
listed signed 1-1 present | index t7 s390x
release t7 other
out=$("$df" deb t7 s390x signed 2>"$tmp/err"); rc=$?
[ $rc -ne 0 ] && [ -z "$out" ] && grep -q 'bad or unknown signature' "$tmp/err" &&
	[ ! -e "$ZPCI_CACHE/debian/index/t7_s390x_Packages" ] &&
	ok "InRelease signed by an unknown key: refused, no index kept" ||
	bad "unknown key: rc=$rc out=$out $(cat "$tmp/err")"
release t7
listed signed 2-1 present | xz -c >"$mirror/dists/t7/main/binary-s390x/Packages.xz"
out=$("$df" deb t7 s390x signed 2>"$tmp/err"); rc=$?
[ $rc -ne 0 ] && [ -z "$out" ] && grep -q 'does not match the SHA256' "$tmp/err" &&
	ok "index not matching its InRelease: refused" ||
	bad "index mismatch: rc=$rc out=$out $(cat "$tmp/err")"
release t7
out=$("$df" deb t7 s390x signed 2>"$tmp/err") && [ "$(basename "$out")" = signed_2-1_s390x.deb ] &&
	ok "re-signed mirror: accepted" || bad "re-signed: $out $(cat "$tmp/err")"

"$df" deb 'a b' s390x demo >/dev/null 2>&1; rc=$?
[ $rc -ne 0 ] && ok "bad suite name refused" || bad "bad suite accepted"

echo "debfetch test: $pass passed, $fail failed"
[ $fail -eq 0 ]
