#!/bin/bash
# The native install test: the s390x .debs of `make deb` installed in a
# bookworm s390x userland (tests/pkg/s390x-root.sh) under qemu-user, the
# module built there by DKMS for the bookworm-backports 6.12 kernel
# (tests/pkg/in-root.sh says what is checked).
#
#   tests/pkg/native-test.sh [DEB_DIR]   (default $BUILD/deb/s390x)
#
# The cached root is never changed: the test runs on an overlay (upper
# layer in $BUILD/pkg-native, removed afterwards) in a private mount
# namespace.  Results in $BUILD/pkg-native-out: times, dkms status,
# modinfo, and the DKMS-built zpci_io.ko (ZPCI_VM_KO for tests/vm/run.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/pkg/lib.sh
. "$here/lib.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
debs=${1:-$BUILD/deb/s390x}
shopt -s nullglob
list=()
for f in "$debs"/*_s390x.deb "$debs"/*_all.deb; do
	case $f in *-dbgsym_*) ;; *) list+=("$f") ;; esac
done
[ ${#list[@]} -eq 4 ] || die "want 4 packages (3 s390x, zpci-io-dkms) in $debs, found ${#list[@]} (make deb)"

t0=$(date +%s)
root=$("$here/s390x-root.sh")
log "root $root ready after $(( $(date +%s) - t0 )) s"
binfmt_s390x

work=$BUILD/pkg-native
out=$BUILD/pkg-native-out
rm -rf "$work" "$out"

# The result is cached by the hash of every input: the root (its path
# carries its key), this test's scripts, and each package's name, version
# and file contents.  Same inputs, same native build: the cached result
# (times, dkms status, the DKMS-built zpci_io.ko) is reused and says so;
# ZPCI_PKG_NATIVE_FRESH=1 runs the test anyway.
nkey=$( {
	basename "$root"
	sha256sum "$here/in-root.sh" "$here/consumer.c" "$here/native-test.sh" | cut -c1-64
	for f in "${list[@]}"; do
		dpkg-deb -f "$f" Package Version Architecture Depends
		dpkg-deb --fsys-tarfile "$f" | tar -xO | sha256sum
	done
} | sha256sum | cut -c1-16)
ncache=$ZPCI_CACHE/pkg-native/$nkey
if [ "${ZPCI_PKG_NATIVE_FRESH:-0}" != 1 ] && [ -f "$ncache/done" ]; then
	mkdir -p "$out"
	cp -a "$ncache/out/." "$out/"
	log "native s390x package test: inputs unchanged since $(cat "$ncache/done") (key $nkey): its result reused; ZPCI_PKG_NATIVE_FRESH=1 runs it again"
	[ -f "$out/times" ] && sed 's/^/[pkg] /' "$out/times"
	exit 0
fi
mkdir -p "$work/upper" "$work/work" "$work/merged" "$out"
t1=$(date +%s)
rc=0
unshare --mount --propagation private -- /bin/bash -c '
	set -e
	root=$1 work=$2 here=$3 out=$4; shift 4
	m=$work/merged
	mount -t overlay overlay \
		-o "lowerdir=$root,upperdir=$work/upper,workdir=$work/work" "$m"
	mkdir -p "$m/tmp/zpci-debs"
	cp "$@" "$m/tmp/zpci-debs/"
	cp "$here/in-root.sh" "$here/consumer.c" "$m/tmp/"
	cp -L /etc/resolv.conf "$m/etc/resolv.conf"
	mount -t proc proc "$m/proc"
	mount --rbind /sys "$m/sys"
	mount --rbind /dev "$m/dev"
	rc=0
	chroot "$m" /usr/bin/env -i HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin /tmp/in-root.sh || rc=$?
	cp -a "$m/tmp/zpci-out/." "$out/" 2>/dev/null || true
	exit $rc' native-test "$root" "$work" "$here" "$out" "${list[@]}" 2>&1 |
	tee "$out.log" || rc=$?
rm -rf "$work"
log "in-root test: $(( $(date +%s) - t1 )) s (rc=$rc)"
[ -f "$out/times" ] && sed 's/^/[pkg] /' "$out/times"
[ $rc -eq 0 ] || die "native s390x package test failed (log $out.log)"
log "native s390x package test passed in $(( $(date +%s) - t0 )) s; module: $out/zpci_io.ko"
rm -rf "$ncache.tmp"
mkdir -p "$ncache.tmp"
cp -a "$out" "$ncache.tmp/out"
date -u '+%Y-%m-%d %H:%M UTC' >"$ncache.tmp/done"
rm -rf "$ncache"
mv "$ncache.tmp" "$ncache"
# keep the newest three results
ls -1dt "$ZPCI_CACHE"/pkg-native/*/ 2>/dev/null | tail -n +4 | xargs -r rm -rf
