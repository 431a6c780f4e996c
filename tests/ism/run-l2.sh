#!/bin/bash
# make ism-l2-check: stage 2 of issue 16 (see README.md).  Linux's ism.ko
# in an L2 guest on ISM model functions of the test QEMU 7.2 (L0), which
# L1 binds to zpci_io and passes to L2 with the QEMU 10.2 linked with
# libzpci (emulators/qemu, patches 0001-0009); our zpci_ism_test.ko runs
# in L2 with interrupts, then SMC-D (smc.ko, smcd_xfer) in L2.
#
#   L0  test QEMU 7.2: zpci-ism fid 0x10, 0x11 (PCHID 0x04ed), 0x12 (0x0200),
#       0x13 (0x04ed: L1's own, for one move across levels)
#   L1  Debian 6.12 + zpci_io (tests/vm/init, /zpci/ism-l1-stage2.sh):
#       binds them to zpci_io, tries QEMU 10.2 with zpci-io=off on one
#       (stock_served), boots L2 with the three forwarded
#   L2  the trimmed 6.12 of tests/e2e/l2.config plus tests/ism/l2.config
#       (ism, smc, smc_diag as modules of that build), busybox sh
#       running tests/ism/l2-stage2.sh
#
# At each step L2 prints "ZISM-SYNC <tag>" and waits; L1 takes zpci_io's
# counters (zpci stats --json) and asks the host for the model's
# statistics (ISM_STATS l2-<tag> on the control port, tests/vm/hostctl.py),
# then answers.  tests/ism/verify.py --l2 checks them.
#
# Results: $ZPCI_VM_DIR/results/ism-l2/ (summary-l2.json, console.log,
# l2/ with L2's console and L1's files, ism-stats-l2-*.json, verify-l2.txt).
# Env: ZPCI_CACHE, ZPCI_VM_DIR, ZPCI_VM_TIMEOUT (s, default 2400),
#      ZPCI_ISM_L2_TIMEOUT (s, L2's time in L1, default 1500),
#      ZPCI_VM_SMP (default 2), ZPCI_VM_MEM (MiB, default 1536), ZPCI_JOBS,
#      ZPCI_ISM_L2_QEMU (a qemu-system-s390x of emulators/qemu/build.sh's
#      cache to use instead of building this checkout's).
# Exit 0 only if L1 and L2 reported status 0, no level printed a kernel
# report, no QEMU printed an error and verify.py --l2 passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../vm/lib.sh"
. "$here/lib.sh"

ism_args "$0" "$@"
TIMEOUT=${ZPCI_VM_TIMEOUT:-2400}
L2_TIMEOUT=${ZPCI_ISM_L2_TIMEOUT:-1500}
SMP=${ZPCI_VM_SMP:-$(vm_default_smp)}
MEM=${ZPCI_VM_MEM:-1536}
JOBS=${ZPCI_JOBS:-2}
for v in "$TIMEOUT" "$L2_TIMEOUT" "$SMP" "$MEM" "$JOBS"; do
	case "$v" in ''|*[!0-9]*) die "timeouts, ZPCI_VM_SMP/MEM and ZPCI_JOBS must be numbers" ;; esac
done
[ "${ZPCI_VM_KENV:-current}" = current ] || die "tests/ism/run-l2.sh boots the reference kernel in L1 only"

res=$ZPCI_VM_DIR/results/ism-l2
OUT=$ZPCI_VM_DIR/ism-l2
mkdir -p "$OUT"
qemu_pid=
ctl_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	[ -n "$ctl_pid" ] && kill "$ctl_pid" 2>/dev/null
	return 0
}
trap cleanup EXIT

L2_VMLINUZ='' L2_KDIR='' L2_MODDIR='' L2_KVER=''
do_fetch() {
	vm_fetch || return 1
	# the nested e2e's L2 kernel (one build for both, tests/vm/lib.sh)
	l2_kernel_build "$OUT/l2k" ism-l2 || return 1
	# a subshell: the env file uses the names of the L1 kernel's
	{ read -r L2_VMLINUZ; read -r L2_KDIR; read -r L2_MODDIR; read -r L2_KVER; } < <(
		. "$ZPCI_CACHE/kernel/ism-l2.env" &&
		printf '%s\n' "$ZPCI_VMLINUZ" "$ZPCI_KDIR" "$ZPCI_MODDIR" "$ZPCI_KVER")
	[ -f "$L2_VMLINUZ" ] && [ -f "$L2_MODDIR/modules.dep" ] || die "L2 kernel image/modules missing"
	for m in drivers/s390/net/ism.ko net/smc/smc.ko net/smc/smc_diag.ko; do
		[ -f "$L2_MODDIR/kernel/$m" ] || die "the L2 kernel has no $m"
	done
}

QEMU0=
do_qemu0() {
	QEMU0=$("$VM_SRC/build-qemu.sh") || return 1
	[ -x "$QEMU0" ]
}

# L1's QEMU: the one linked with libzpci (as tests/e2e/run.sh takes it),
# with the firmware of bookworm's stock QEMU when the build has none
L1Q=
do_qemu1() {
	local stock bin
	stock=$("$REPO/tests/e2e/fetch-l1-qemu.sh") || return 1
	if [ -n "${ZPCI_ISM_L2_QEMU:-}" ]; then
		bin=$ZPCI_ISM_L2_QEMU
	else
		bin=$("$REPO/emulators/qemu/build.sh" | tail -n 1) || return 1
	fi
	[ -x "$bin" ] && [ -e "$(dirname "$bin")/lib/ld64.so.1" ] ||
		{ log "qemu1: emulators/qemu/build.sh gave no binary with lib/ld64.so.1 ($bin)"; return 1; }
	L1Q=$OUT/l1qemu
	rm -rf "$L1Q"
	mkdir -p "$L1Q/bin"
	cp "$bin" "$L1Q/bin/qemu-system-s390x"
	cp -a "$(dirname "$bin")/lib" "$L1Q/lib"
	if [ -e "$(dirname "$bin")/share/qemu/s390-ccw.img" ]; then
		cp -a "$(dirname "$bin")/share" "$L1Q/share"
	else
		cp -a "$stock/share" "$L1Q/share"
	fi
	cp "$(dirname "$bin")/build-info.txt" "$OUT/l1qemu-build-info.txt" 2>/dev/null || true
}

# L1's own ism.ko and zpci_ism_xl.ko (tests/ism/build.sh, as stage 1)
ISMMOD_DIR=
do_ism_modules() {
	local o
	o=$("$here/build.sh" 2>"$OUT/ism-modules.log") ||
		{ tail -30 "$OUT/ism-modules.log" >&2; return 1; }
	ISMMOD_DIR=$(sed -n 's/^ZPCI_ISMMOD_DIR=//p' <<<"$o")
	[ -f "$ISMMOD_DIR/zpci_ism_xl.ko" ] || { log "no zpci_ism_xl.ko for L1"; return 1; }
}

KO=
do_build() {
	make -C "$REPO/kmod" KDIR="$ZPCI_KDIR" ARCH=s390 BUILD="$OUT/kmod" \
		CROSS_COMPILE=s390x-linux-gnu- -j"$JOBS" >"$OUT/kmod-build.log" 2>&1 ||
		{ tail -30 "$OUT/kmod-build.log" >&2; return 1; }
	KO=$OUT/kmod/zpci_io.ko
	# our client module, against the L2 kernel (its Module.symvers has ism's exports)
	rm -rf "$OUT/ktest"
	mkdir -p "$OUT/ktest"
	cp "$here/ktest/Kbuild" "$here/ktest/zpci_ism_test.c" "$here/ktest/zpci_ism_xl.c" "$OUT/ktest/"
	make -C "$L2_KDIR" ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- M="$OUT/ktest" modules \
		>"$OUT/ktest-build.log" 2>&1 || { tail -30 "$OUT/ktest-build.log" >&2; return 1; }
	! grep -q 'warning:' "$OUT/ktest-build.log" ||
		{ grep 'warning:' "$OUT/ktest-build.log" >&2; log "zpci_ism_test.ko: compiler warnings"; return 1; }
	s390x-linux-gnu-gcc -O2 -Wall -Wextra -Werror -static -o "$OUT/smcd_xfer" \
		"$here/smcd_xfer.c" || return 1
	# the zpci CLI for zpci_io's counters in L1
	cmake -S "$REPO" -B "$OUT/cli-build" -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_TOOLCHAIN_FILE="$VM_SRC/s390x-toolchain.cmake" \
		-DZPCI_BUILD_TESTS=OFF -DZPCI_BUILD_BENCH=OFF -DZPCI_BUILD_TOOLS=ON \
		>"$OUT/cli-configure.log" 2>&1 &&
		cmake --build "$OUT/cli-build" -j"$JOBS" --target zpci_cli >"$OUT/cli-build.log" 2>&1 ||
		{ tail -30 "$OUT/cli-configure.log" "$OUT/cli-build.log" >&2; return 1; }
	rm -rf "${OUT:?}/bin"
	mkdir -p "$OUT/bin"
	cp "$OUT/cli-build/tools/zpci" "$OUT/bin/zpci"
}

INITRD=
do_initramfs() {
	local l2=$OUT/l2root top=$OUT/l1extra bbdir=$ZPCI_CACHE/busybox-s390x m
	rm -rf "$l2" "$top"
	# L2: busybox, /init, the L2 kernel's modules (ism, smc and what they
	# need, with modules.dep), our module and smcd_xfer
	mkdir -p "$l2"/{bin,proc,sys,dev,tmp,ism} "$l2/lib/modules/$L2_KVER"
	cp "$bbdir/bin/busybox" "$l2/bin/busybox"
	ln -s busybox "$l2/bin/sh"
	# started by the kernel as rdinit=/bin/busybox -- sh /l2-stage2.sh:
	# the L2 kernel has no script binfmt
	cp "$here/l2-stage2.sh" "$l2/l2-stage2.sh"
	cp "$VM_SRC/kernel-reports.ere" "$l2/kernel-reports.ere"
	(cd "$L2_MODDIR" && cp -a --parents modules.dep modules.alias modules.symbols \
		modules.builtin modules.order "$l2/lib/modules/$L2_KVER/" 2>/dev/null || true)
	(cd "$L2_MODDIR" && find kernel -name '*.ko' -print0 |
		xargs -0 cp --parents -t "$l2/lib/modules/$L2_KVER/")
	cp "$OUT/ktest/zpci_ism_test.ko" "$OUT/ktest/zpci_ism_xl.ko" "$OUT/smcd_xfer" "$l2/ism/"
	mkdir -p "$top/ism2"
	(cd "$l2" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) \
		>"$top/ism2/initrd.cpio"
	cp "$L2_VMLINUZ" "$top/ism2/vmlinuz"
	cp -a "$L1Q" "$top/ism2/qemu"
	echo "L2_TIMEOUT=$L2_TIMEOUT" >"$top/ism2/config"
	"$VM_SRC/initramfs.sh" --out "$OUT/initrd-l1-base.cpio" --kver "$ZPCI_KVER" \
		--moddir "$ZPCI_MODDIR" --ko "$KO" --bin "$OUT/bin" --ism-dir "$ISMMOD_DIR" \
		--extra "$here/ism-l1-stage2.sh" --extra "$ISMMOD_DIR/zpci_ism_xl.ko" || return 1
	(cd "$top" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) \
		>"$OUT/initrd-l1-extra.cpio"
	cat "$OUT/initrd-l1-base.cpio" "$OUT/initrd-l1-extra.cpio" >"$OUT/initrd-l1.cpio"
	INITRD=$OUT/initrd-l1.cpio
	log "initramfs: $INITRD ($(du -h "$INITRD" | cut -f1))"
}

# the model's functions: id, fid (= uid), PCHID (as tests/ism/run.sh)
# plus ismd (fid 0x13, A's fabric), kept by L1's own ism.ko for the move
# across levels
FUNCS=("isma 16 0x04ed" "ismb 17 0x04ed" "ismc 18 0x0200" "ismd 19 0x04ed")
do_boot() {
	ism_l0_boot "$QEMU0" "$OUT" 256M \
		"console=ttysclp0 panic=-1 zpci.mode=ism zpci.script=/zpci/ism-l1-stage2.sh"
}

do_verify() {
	local st bad
	bad=$(vm_console_reports "$res/console.log")
	st=$(vm_guest_status "$res/console.log")
	python3 "$here/verify.py" --l2 --results "$res" --guest-status "$st" \
		--qemu-clean "$([ -s "$res/qemu-stdout.log" ] && echo 0 || echo 1)" \
		--console-clean "$([ -z "$bad" ] && echo 1 || echo 0)" \
		--phase-times "$(printf '%s;' "${PHASE_LOG[@]}")"
}

rc=0
phase fetch do_fetch || exit 1
phase "qemu L0" do_qemu0 || exit 1
phase "qemu L1" do_qemu1 || exit 1
phase "ism modules" do_ism_modules || exit 1
phase build do_build || exit 1
phase initramfs do_initramfs || exit 1
phase "boot L1+L2" do_boot || rc=1
phase verify do_verify || rc=1
ism_report tests/ism/run-l2.sh ism-l2 $rc "$res/summary-l2.json"
