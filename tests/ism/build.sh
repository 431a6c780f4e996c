#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build Linux's own ISM driver and SMC-D for Debian's s390x 6.12 kernel (the
# guest kernel of tests/vm), out of tree, from Debian's linux-source-6.12
# package; nothing of Linux is copied into this project:
#
#   ism.ko       drivers/s390/net/ism_drv.c (Debian: "# CONFIG_ISM is not
#                set"), built with our Kbuild.ism and CONFIG_ISM=m.
#   smc.ko,      net/smc with its own Makefile (CONFIG_SMC=m, CONFIG_SMC_DIAG=m
#   smc_diag.ko  from the headers' auto.conf, as Debian builds them) plus
#                -DCONFIG_ISM_MODULE=1, which turns on IS_ENABLED(CONFIG_ISM)
#                in net/smc/smc_ism.c: the "SMC-D" ISM client
#                (ism_register_client at smc_init).  Debian's smc.ko has it
#                compiled out.  Linked against ism.ko's Module.symvers.
#
# Cross-compiled with s390x-linux-gnu-gcc against the same Debian headers
# as zpci_io (kmod/scripts/fetch-kernel.sh, the "current" kernel).  The
# source package version must match the kernel's.  Checked afterwards:
# vermagic = Debian's smc.ko's, ism.ko exports ism_register_client,
# smc.ko imports ism_register_client/ism_unregister_client and depends on
# ism, smc_diag.ko depends on smc.
#
# Usage: tests/ism/build.sh      prints "KEY=path" lines:
#   ZPCI_ISMMOD_DIR, ZPCI_ISMMOD_ISM, ZPCI_ISMMOD_SMC, ZPCI_ISMMOD_SMC_DIAG,
#   ZPCI_ISMMOD_KVER
# Cached in $ZPCI_CACHE/ism-modules/<kver>-<key>/, <key> = hash of the
# source .deb, its version, the kernel release and its headers set, this
# script and Kbuild.ism, the compiler and pahole versions and the config
# symbols set (flock; 3 kept).  Each phase prints its wall time; the cold
# build's times are kept in build-times.txt there.
# Env: ZPCI_CACHE, ZPCI_JOBS (default 2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/debfetch.sh
. "$repo/scripts/debfetch.sh"
cache=$ZPCI_CACHE
JOBS=${ZPCI_JOBS:-2}
case "$JOBS" in ''|*[!0-9]*) echo "ism-modules: ZPCI_JOBS must be a number" >&2; exit 2 ;; esac
log() { echo "ism-modules: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
debfetch_need || exit 1
export DEBFETCH_QUIET=1
for t in s390x-linux-gnu-gcc s390x-linux-gnu-nm s390x-linux-gnu-objcopy s390x-linux-gnu-strip pahole; do
	command -v $t >/dev/null || die "$t missing (scripts/install-deps.sh kmod vm)"
done

# The config symbols this build sets (everything else is Debian's config,
# read from the headers).  Part of the cache key.
ISM_MAKE_CONFIG=(CONFIG_ISM=m)
ISM_CFLAGS=-DCONFIG_ISM_MODULE=1

t0=$(now)
"$repo/kmod/scripts/fetch-kernel.sh" --quiet >/dev/null || die "cannot fetch the kernel headers"
# shellcheck disable=SC1091
. "$cache/kernel/current.env"
srcdeb=$("$repo/scripts/debfetch.sh" deb bookworm-backports all linux-source-6.12) ||
	die "cannot fetch linux-source-6.12"
ver=$(dpkg-deb -f "$srcdeb" Version)
# 6.12.95-1~bpo12+1 (source) vs 6.12.95+deb12-s390x (kernel): same upstream
[ "${ver%%-*}" = "${ZPCI_KVER%%+*}" ] ||
	die "linux-source-6.12 is $ver but the kernel is $ZPCI_KVER (not the same version)"
auto=$ZPCI_KDIR/include/config/auto.conf
grep -qx 'CONFIG_SMC=m' "$auto" && grep -qx 'CONFIG_SMC_DIAG=m' "$auto" ||
	die "$auto: Debian's config no longer has CONFIG_SMC=m and CONFIG_SMC_DIAG=m"
! grep -q '^CONFIG_ISM=' "$auto" || log "note: the headers already set $(grep '^CONFIG_ISM=' "$auto")"
log "phase fetch: $(since "$t0") s (linux-source-6.12 $ver, kernel $ZPCI_KVER)"

key=$( {
	basename "$srcdeb"; echo "$ver"; echo "$ZPCI_KVER"
	cat "$ZPCI_KROOT/../.complete" 2>/dev/null || true
	cat "$0" "$here/Kbuild.ism" "$here/ktest/Kbuild" "$here/ktest/zpci_ism_test.c" \
		"$here/ktest/zpci_ism_xl.c"
	s390x-linux-gnu-gcc --version | head -1; pahole --version
	printf '%s\n' "${ISM_MAKE_CONFIG[@]}" "$ISM_CFLAGS"
} | sha256sum | cut -c1-16)
out=$cache/ism-modules/$ZPCI_KVER-$key
mkdir -p "$cache/ism-modules"
exec 8>"$cache/ism-modules/.lock-$key"
flock 8

if [ -f "$out/smc_diag.ko" ] && [ -f "$out/smc.ko" ] && [ -f "$out/ism.ko" ] &&
	[ -f "$out/zpci_ism_test.ko" ] && [ -f "$out/zpci_ism_xl.ko" ]; then
	log "cached: $out (key $key; cold build: $(tr '\n' ' ' <"$out/build-times.txt" 2>/dev/null))"
else
	log "building (key $key) into $out"
	tmp=$(mktemp -d "$cache/ism-modules/.tmp-XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	times=()
	t=$(now)
	top=linux-source-6.12
	files=("$top/drivers/s390/net/ism_drv.c" "$top/drivers/s390/net/ism.h" "$top/net/smc")
	dbg=$cache/debug-kernel/src-$ver
	if [ -f "$dbg/Makefile" ]; then
		# tests/debugkernel/build.sh already unpacked this version
		mkdir -p "$tmp/$top"
		(cd "$dbg" && tar -cf - "${files[@]#"$top"/}") | tar -xf - -C "$tmp/$top"
		how="from $dbg"
	else
		dpkg-deb --fsys-tarfile "$srcdeb" |
			tar -xO "./usr/src/$top.tar.xz" | xz -dc -T2 |
			tar -x -C "$tmp" "${files[@]}"
		how="from $(basename "$srcdeb")"
	fi
	src=$tmp/$top
	[ -f "$src/drivers/s390/net/ism_drv.c" ] && [ -f "$src/net/smc/smc_ism.c" ] ||
		die "$top has no ism_drv.c / net/smc"
	grep -q 'IS_ENABLED(CONFIG_ISM)' "$src/net/smc/smc_ism.c" ||
		die "net/smc/smc_ism.c no longer tests IS_ENABLED(CONFIG_ISM): revisit $ISM_CFLAGS"
	times+=("extract $(since "$t") s")
	log "phase extract: ${times[-1]#extract } ($how)"

	kmake=(make -C "$ZPCI_KDIR" ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- -j"$JOBS")
	# ism.ko
	t=$(now)
	mkdir -p "$tmp/ism"
	cp "$src/drivers/s390/net/ism_drv.c" "$src/drivers/s390/net/ism.h" "$tmp/ism/"
	cp "$here/Kbuild.ism" "$tmp/ism/Kbuild"
	"${kmake[@]}" M="$tmp/ism" "${ISM_MAKE_CONFIG[@]}" KCFLAGS="$ISM_CFLAGS" modules \
		>"$tmp/ism-build.log" 2>&1 || { tail -30 "$tmp/ism-build.log" >&2; die "ism.ko build failed"; }
	[ -f "$tmp/ism/ism.ko" ] || { tail -30 "$tmp/ism-build.log" >&2; die "no ism.ko"; }
	times+=("ism.ko $(since "$t") s")
	log "phase ism.ko: ${times[-1]#ism.ko }"

	# zpci_ism_test.ko: our client of ism.ko's exports (tests/ism/ktest)
	t=$(now)
	mkdir -p "$tmp/ktest"
	cp "$here/ktest/Kbuild" "$here/ktest/zpci_ism_test.c" "$here/ktest/zpci_ism_xl.c" "$tmp/ktest/"
	"${kmake[@]}" M="$tmp/ktest" KBUILD_EXTRA_SYMBOLS="$tmp/ism/Module.symvers" modules \
		>"$tmp/ktest-build.log" 2>&1 || { tail -30 "$tmp/ktest-build.log" >&2; die "zpci_ism_test.ko build failed"; }
	[ -f "$tmp/ktest/zpci_ism_test.ko" ] && [ -f "$tmp/ktest/zpci_ism_xl.ko" ] ||
		{ tail -30 "$tmp/ktest-build.log" >&2; die "no zpci_ism_test.ko or zpci_ism_xl.ko"; }
	! grep -q 'warning:' "$tmp/ktest-build.log" ||
		{ grep 'warning:' "$tmp/ktest-build.log" >&2; die "zpci_ism_test.ko: compiler warnings"; }
	times+=("zpci_ism_test.ko $(since "$t") s")
	log "phase zpci_ism_test.ko: ${times[-1]#* }"

	# smc.ko + smc_diag.ko: net/smc with Linux's own Makefile
	t=$(now)
	"${kmake[@]}" M="$src/net/smc" "${ISM_MAKE_CONFIG[@]}" KCFLAGS="$ISM_CFLAGS" \
		KBUILD_EXTRA_SYMBOLS="$tmp/ism/Module.symvers" modules \
		>"$tmp/smc-build.log" 2>&1 || { tail -30 "$tmp/smc-build.log" >&2; die "smc.ko build failed"; }
	for m in smc smc_diag; do
		[ -f "$src/net/smc/$m.ko" ] || { tail -30 "$tmp/smc-build.log" >&2; die "no $m.ko"; }
	done
	times+=("smc.ko+smc_diag.ko $(since "$t") s")
	log "phase smc.ko+smc_diag.ko: ${times[-1]#* }"

	# checks: the ISM client is really in, and everything fits the kernel
	t=$(now)
	modinfo_of() {	# KO FIELD
		s390x-linux-gnu-objcopy -O binary -j .modinfo "$1" /dev/stdout |
			tr '\0' '\n' | sed -n "s/^$2=//p"
	}
	want_vm=$(xz -dc "$ZPCI_MODDIR/kernel/net/smc/smc.ko.xz" >"$tmp/debian-smc.ko" &&
		modinfo_of "$tmp/debian-smc.ko" vermagic)
	for m in ism/ism.ko ktest/zpci_ism_test.ko ktest/zpci_ism_xl.ko "${src#"$tmp"/}/net/smc/smc.ko" "${src#"$tmp"/}/net/smc/smc_diag.ko"; do
		vm=$(modinfo_of "$tmp/$m" vermagic)
		[ "$vm" = "$want_vm" ] || die "$m: vermagic '$vm', the kernel's is '$want_vm'"
	done
	# (nm's output read whole: grep -q closing the pipe would fail it
	# under pipefail)
	defs=$(s390x-linux-gnu-nm "$tmp/ism/ism.ko")
	grep -q ' T ism_register_client$' <<<"$defs" ||
		die "ism.ko does not define ism_register_client"
	grep -qP '\tism_register_client\t' "$tmp/ism/Module.symvers" ||
		die "ism.ko does not export ism_register_client"
	undef=$(s390x-linux-gnu-nm -u "$src/net/smc/smc.ko")
	for s in ism_register_client ism_unregister_client; do
		grep -q " $s\$" <<<"$undef" || die "smc.ko does not use $s: the ISM client is not compiled in"
	done
	# Debian's smc.ko for comparison: no ISM client
	dundef=$(s390x-linux-gnu-nm -u "$tmp/debian-smc.ko")
	! grep -q ' ism_register_client$' <<<"$dundef" ||
		log "note: Debian's smc.ko already imports ism_register_client"
	dep=$(modinfo_of "$src/net/smc/smc.ko" depends)
	case ",$dep," in *,ism,*) ;; *) die "smc.ko depends on '$dep', not on ism" ;; esac
	ddep=$(modinfo_of "$src/net/smc/smc_diag.ko" depends)
	case ",$ddep," in *,smc,*) ;; *) die "smc_diag.ko depends on '$ddep', not on smc" ;; esac
	times+=("verify $(since "$t") s")
	log "phase verify: ${times[-1]#verify } (vermagic '$want_vm'; smc.ko imports ism_register_client, depends=$dep)"

	rm -rf "$out.new"
	mkdir -p "$out.new"
	cp "$tmp/ism/ism.ko" "$src/net/smc/smc.ko" "$src/net/smc/smc_diag.ko" \
		"$tmp/ktest/zpci_ism_test.ko" "$tmp/ktest/zpci_ism_xl.ko" \
		"$tmp/ism-build.log" "$tmp/smc-build.log" \
		"$tmp/ktest-build.log" "$out.new/"
	# as Debian installs its modules: no DWARF (smc.ko 12 MB -> <1 MB);
	# .BTF and .modinfo stay
	for m in ism smc smc_diag zpci_ism_test zpci_ism_xl; do
		s390x-linux-gnu-strip --strip-debug "$out.new/$m.ko"
	done
	printf '%s\n' "${times[@]}" "total $(since "$t0") s" >"$out.new/build-times.txt"
	{
		echo "linux-source-6.12 $ver ($(basename "$srcdeb")), kernel $ZPCI_KVER, key $key"
		echo "config: Debian's (headers' auto.conf) + ${ISM_MAKE_CONFIG[*]} $ISM_CFLAGS"
		echo "compiler: $(s390x-linux-gnu-gcc --version | head -1); pahole $(pahole --version)"
		echo "smc.ko depends=$dep; smc_diag.ko depends=$ddep; vermagic $want_vm"
		for m in ism smc smc_diag zpci_ism_test zpci_ism_xl; do echo "$m.ko $(stat -c %s "$out.new/$m.ko") bytes"; done
	} >"$out.new/info.txt"
	rm -rf "$out"
	mv "$out.new" "$out"
	log "built in $(since "$t0") s: $(tr '\n' ' ' <"$out/build-times.txt")"
	# keep the 3 newest builds
	find "$cache/ism-modules" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*' -printf '%T@ %p\n' |
		sort -rn | tail -n +4 | cut -d' ' -f2- | xargs -r rm -rf
fi
log "total $(since "$t0") s"
echo "ZPCI_ISMMOD_DIR=$out"
echo "ZPCI_ISMMOD_ISM=$out/ism.ko"
echo "ZPCI_ISMMOD_SMC=$out/smc.ko"
echo "ZPCI_ISMMOD_SMC_DIAG=$out/smc_diag.ko"
echo "ZPCI_ISMMOD_TEST=$out/zpci_ism_test.ko"
echo "ZPCI_ISMMOD_KVER=$ZPCI_KVER"
