#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make -C kmod check: every stage must be clean (no warning at all).
#   fetcher     scripts/test-debfetch.sh: the Debian fetcher every stage
#               below depends on, against a fake mirror (missing newest
#               file -> fallback, checksum mismatch -> refused)
#   build       cross-build against the reference kernel (Debian
#               bookworm-backports s390x 6.12), full modpost and BTF
#   sparse      the same with C=2 CHECK=sparse
#   checkpatch  checkpatch.pl --strict on every C source and header
#   second      compile and link against other Debian s390x kernels
#               (ZPCI_SECOND_SUITES, default "sid trixie": 7.x and 6.12),
#               conftest decides the API differences; the kernel's own
#               gcc cannot run on bookworm, so bookworm's gcc 12 runs
#               through scripts/s390x-gcc-compat and the kernel's modpost
#               (built for a newer glibc) is replaced by a check that every
#               undefined symbol is exported by that kernel
# Usage: check.sh [stage...]   (default: all five)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kmod=$(cd "$here/.." && pwd)
repo=$(cd "$kmod/.." && pwd)
# ZPCI_CACHE: the user-level download cache (default ~/.cache/zpci)
# shellcheck source=../../scripts/debfetch.sh
. "$repo/scripts/debfetch.sh"
second_suites=${ZPCI_SECOND_SUITES:-sid trixie}
out=$repo/build/kmod-check
mkdir -p "$out"

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(fetcher build sparse checkpatch second)
failed=()

note() { echo "kmod-check: $*"; }
fail() { note "FAIL $1: $2"; failed+=("$1"); }

# Lines that are not clean: compiler/sparse warnings and errors, modpost
# complaints.  Kbuild's own progress lines never match.
dirty() { grep -E -i 'warning|error|undefined' "$1"; }

ref_env() {
	"$here/fetch-kernel.sh" --quiet || return 1
	# shellcheck disable=SC1091
	. "$ZPCI_CACHE/kernel/current.env"
}

stage_fetcher() {
	local log=$out/fetcher.log
	if ! "$repo/scripts/test-debfetch.sh" >"$log" 2>&1; then
		fail fetcher "see $log"
		return
	fi
	note "ok fetcher: $(tail -n 1 "$log")"
}

stage_build() {
	local log=$out/build.log bdir
	ref_env || { fail build "cannot fetch the reference kernel"; return; }
	bdir=$out/ref-$ZPCI_KVER
	rm -rf "$bdir"
	make -s -C "$kmod" KDIR="$ZPCI_KDIR" ARCH=s390 \
		CROSS_COMPILE=s390x-linux-gnu- BUILD="$bdir" modules >"$log" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || dirty "$log"; then
		fail build "see $log"
		return
	fi
	[ -s "$bdir/zpci_io.ko" ] || { fail build "no zpci_io.ko (pahole missing?)"; return; }
	# ABI 3: the driver pins no user page and maps none (zpci_abi.h)
	local pins
	pins=$(s390x-linux-gnu-nm -u "$bdir/zpci_io.ko" |
		grep -E ' (pin_user_pages|unpin_user_page|get_user_pages|vmap$|vm_map_ram)' | awk '{print $2}' | paste -sd' ')
	[ -z "$pins" ] || { fail build "the module imports $pins (ABI 3 pins nothing)"; return; }
	note "ok build: $bdir/zpci_io.ko ($ZPCI_KVER), no pinning or user mapping imported"
}

stage_sparse() {
	local log=$out/sparse.log bdir
	command -v sparse >/dev/null || { fail sparse "sparse not installed"; return; }
	ref_env || { fail sparse "cannot fetch the reference kernel"; return; }
	bdir=$out/sparse-$ZPCI_KVER
	rm -rf "$bdir"
	make -s -C "$kmod" KDIR="$ZPCI_KDIR" ARCH=s390 \
		CROSS_COMPILE=s390x-linux-gnu- BUILD="$bdir" conftest >"$log" 2>&1 &&
	make -C "$ZPCI_KDIR" M="$bdir" ZPCI_INC="$repo/include" ARCH=s390 \
		CROSS_COMPILE=s390x-linux-gnu- C=2 CHECK=sparse modules >>"$log" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || dirty "$log" || ! grep -q 'CHECK .*zpci_io_batch.c' "$log"; then
		fail sparse "see $log"
		return
	fi
	note "ok sparse: $(grep -c 'CHECK ' "$log") files checked"
}

stage_checkpatch() {
	local log=$out/checkpatch.log cp
	cp=$("$here/fetch-checkpatch.sh") || { fail checkpatch "cannot fetch checkpatch.pl"; return; }
	(cd "$kmod" && "$cp" --no-tree --strict --terse --show-types -f \
		./*.c ./*.h conftest/*.c) >"$log" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || [ -s "$log" ]; then
		fail checkpatch "see $log"
		return
	fi
	note "ok checkpatch --strict: $(cd "$kmod" && ls ./*.c ./*.h conftest/*.c | wc -l) files"
}

second_one() {
	local suite=$1 log=$out/second-$1.log env
	"$here/fetch-kernel.sh" --suite "$suite" --quiet ||
		{ fail "second($suite)" "cannot fetch the $suite kernel"; return; }
	env=$ZPCI_CACHE/kernel/$suite.env
	(
		# shellcheck disable=SC1090
		. "$env"
		grep -q '^CONFIG_VFIO_PCI_CORE=[ym]' "$ZPCI_KDIR/.config" ||
			{ echo "$ZPCI_KVER: no CONFIG_VFIO_PCI_CORE"; exit 1; }
		bdir=$out/second-$ZPCI_KVER
		rm -rf "$bdir"
		make -s -C "$kmod" KDIR="$ZPCI_KDIR" ARCH=s390 \
			CROSS_COMPILE=s390x-linux-gnu- \
			KCC="$here/s390x-gcc-compat" BUILD="$bdir" objects || exit 1
		echo "conftest for $ZPCI_KVER:"
		grep define "$bdir/zpci_io_conftest.h"
		missing=$(comm -23 \
			<(s390x-linux-gnu-nm -u "$bdir/zpci_io.o" | awk '{print $2}' | sort -u) \
			<({ awk '{print $2}' "$ZPCI_KDIR/Module.symvers"; echo __this_module; } | sort -u))
		if [ -n "$missing" ]; then
			echo "undefined, not exported by $ZPCI_KVER: $missing"
			exit 1
		fi
		echo "KVER=$ZPCI_KVER"
	) >"$log" 2>&1
	local rc=$?
	# the compat compiler's BTF toolchain differs by design
	if [ $rc -ne 0 ] || grep -v -e 'pahole version differs' "$log" | dirty - >/dev/null; then
		fail "second($suite)" "see $log"
		return
	fi
	note "ok second kernel: $(grep '^KVER=' "$log" | cut -d= -f2) ($suite), compile+link, symbols exported, probes: $(grep -c '^#define ZPCI_IO_HAVE' "$log")/4"
}

stage_second() {
	local suite
	for suite in $second_suites; do
		second_one "$suite"
	done
}

for s in "${stages[@]}"; do
	case "$s" in
	fetcher|build|sparse|checkpatch|second) "stage_$s" ;;
	*) echo "kmod-check: unknown stage '$s'" >&2; exit 2 ;;
	esac
done

if [ ${#failed[@]} -ne 0 ]; then
	note "FAILED: ${failed[*]}"
	exit 1
fi
note "all clean: ${stages[*]}"
