#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build an s390x kernel from Debian's linux-source-6.12 (bookworm-backports):
# `make allnoconfig` plus a config fragment, cross-compiled with
# s390x-linux-gnu-gcc.  The default fragment is tests/debugkernel/debug.config
# (the guest rig with lockdep, atomic-sleep and page-allocation checkers);
# tests/e2e/l2.config is the nested test's trimmed L2 kernel.
#
# Usage: tests/debugkernel/build.sh [--config FRAGMENT] [--env NAME]
# Output: $ZPCI_CACHE/debug-kernel/src-<version>/ (source tree) and
# $ZPCI_CACHE/debug-kernel/<key>/ (O= build tree,
# modules staged by modules_install) and $ZPCI_CACHE/kernel/NAME.env
# (default NAME "debug") in fetch-kernel.sh's format, which
# ZPCI_VM_KENV=NAME tests/vm/run.sh boots.  <key> hashes the source
# package version, the fragment, this script and the compiler version;
# a finished build is reused (warm run: seconds).
# Env: ZPCI_CACHE, ZPCI_JOBS (default 2).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
: "${ZPCI_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/zpci}"
export ZPCI_CACHE
JOBS=${ZPCI_JOBS:-2}
envname=debug
frag=$HERE/debug.config
while [ $# -gt 0 ]; do
	case "$1" in
	--env) envname=${2:-}; shift 2 ;;
	--config) frag=${2:-}; shift 2 ;;
	-h|--help) sed -n '4,18p' "$0"; exit 0 ;;
	*) echo "debugkernel: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case "$envname" in *[!A-Za-z0-9._-]*|'') echo "debugkernel: bad env name" >&2; exit 2 ;; esac
[ -f "$frag" ] || { echo "debugkernel: no config fragment '$frag'" >&2; exit 2; }
frag=$(realpath "$frag")
case "$JOBS" in ''|*[!0-9]*) echo "debugkernel: ZPCI_JOBS must be a number" >&2; exit 2 ;; esac
log() { echo "debugkernel: $*" >&2; }
die() { log "$*"; exit 1; }
command -v s390x-linux-gnu-gcc >/dev/null ||
	die "s390x-linux-gnu-gcc missing (scripts/install-deps.sh vm)"
for t in flex bison bc; do
	command -v $t >/dev/null || die "$t missing (scripts/install-deps.sh vm)"
done

t0=$(date +%s)
deb=$("$REPO/scripts/debfetch.sh" deb bookworm-backports all linux-source-6.12) ||
	die "cannot fetch linux-source-6.12"
ver=$(dpkg-deb -f "$deb" Version)
cc=$(s390x-linux-gnu-gcc --version | head -n 1)
# (comment lines of this script do not count)
key=$( { echo "$ver"; echo "$cc"; cat "$frag"; grep -v '^[[:space:]]*#' "$0"; } |
	sha256sum | cut -c1-12)
dir=$ZPCI_CACHE/debug-kernel/$key
mkdir -p "$dir"
exec 8>"$ZPCI_CACHE/debug-kernel/.lock"
flock 8

# the unpacked source is shared by every config of the same version
src=$ZPCI_CACHE/debug-kernel/src-$ver out=$dir/out stage=$dir/stage
if [ ! -f "$dir/done" ]; then
	log "building $ver (key $key) in $dir"
	if [ ! -f "$src/Makefile" ]; then
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		dpkg-deb --fsys-tarfile "$deb" |
			tar -xO ./usr/src/linux-source-6.12.tar.xz |
			xz -dc -T2 |
			tar -x -C "$src.tmp" --strip-components=1 ||
			die "unpacking the source failed"
		mv "$src.tmp" "$src"
	fi
	t1=$(date +%s)
	log "source ready ($((t1 - t0)) s)"
	kmake=(make -C "$src" O="$out" ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- -j"$JOBS")
	mkdir -p "$out"
	"${kmake[@]}" -s allnoconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag" >"$dir/merge.log"
	"${kmake[@]}" -s olddefconfig
	# every symbol the fragment asks for must have the value asked for
	bad=0
	while IFS= read -r line; do
		case "$line" in CONFIG_*=*) ;; *) continue ;; esac
		grep -qxF "$line" "$out/.config" || { log "config: wanted $line, got: $(grep -E "^(# )?${line%%=*}[= ]" "$out/.config" || echo unset)"; bad=1; }
	done <"$frag"
	[ $bad = 0 ] || die "the config fragment did not apply (see above)"
	"${kmake[@]}" bzImage modules >"$dir/build.log" 2>&1 ||
		{ tail -40 "$dir/build.log" >&2; die "kernel build failed (see $dir/build.log)"; }
	rm -rf "$stage"
	"${kmake[@]}" -s INSTALL_MOD_PATH="$stage" modules_install >>"$dir/build.log" 2>&1 ||
		{ tail -20 "$dir/build.log" >&2; die "modules_install failed"; }
	t2=$(date +%s)
	log "kernel built ($((t2 - t1)) s)"
	touch "$dir/done"
fi
kver=$(cat "$out/include/config/kernel.release")
envf=$ZPCI_CACHE/kernel/$envname.env
mkdir -p "$ZPCI_CACHE/kernel"
tmp=$(mktemp "$envf.tmp.XXXXXX")
cat >"$tmp" <<EOT
# Written by tests/debugkernel/build.sh (linux-source-6.12 $ver, $(basename "$frag"), key $key)
ZPCI_KSUITE=$envname
ZPCI_KVER=$kver
ZPCI_KROOT=$dir
ZPCI_KDIR=$out
ZPCI_VMLINUZ=$out/arch/s390/boot/bzImage
ZPCI_MODDIR=$stage/lib/modules/$kver
ZPCI_SYSTEM_MAP=$out/System.map
ZPCI_KCONFIG=$out/.config
EOT
mv -f "$tmp" "$envf"
log "$envf: $kver ($(grep -c '=' "$out/.config") config symbols set), $(( $(date +%s) - t0 )) s"
