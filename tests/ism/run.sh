#!/bin/bash
# make ism-check: stage 1 of issue 16 (see README.md).  Boots the test
# QEMU 7.2 (tests/vm/build-qemu.sh, with tests/vm/qemu/0002-ism-model.patch)
# with three ISM model functions (zpci-ism: fid 0x10 and 0x11 on PCHID
# 0x04ed, 0x12 on PCHID 0x0200) and no other PCI function; the guest
# (tests/ism/guest-stage1.sh) loads Linux's ism.ko and our zpci_ism_test.ko
# (tests/ism/build.sh), then SMC-D over the model (smc.ko, our
# tests/ism/smcd_xfer.c); the host takes the model's statistics through QMP
# when the guest asks (tests/vm/hostctl.py ISM_STATS) and checks them
# against what the driver issued (tests/ism/verify.py).
#
# Results: $ZPCI_VM_DIR/results/ism/ (summary.json, console.log, the
# guest's files, ism-stats-*.json, verify.txt).
# Env: ZPCI_CACHE, ZPCI_VM_DIR, ZPCI_VM_TIMEOUT (s, default 900),
#      ZPCI_VM_SMP (default 2; 1 with ZPCI_VM_ICOUNT=1), ZPCI_VM_MEM (MiB,
#      default 1024), ZPCI_VM_ICOUNT=1 (-icount shift=0,sleep=off).
# Exit 0 only if the guest reported status 0, the console has no kernel
# report, QEMU printed nothing and verify.py passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../vm/lib.sh"
. "$here/lib.sh"

ism_args "$0" "$@"
TIMEOUT=${ZPCI_VM_TIMEOUT:-900}
SMP=${ZPCI_VM_SMP:-$(vm_default_smp)}
MEM=${ZPCI_VM_MEM:-1024}
for v in "$TIMEOUT" "$SMP" "$MEM"; do
	case "$v" in ''|*[!0-9]*) die "ZPCI_VM_TIMEOUT/SMP/MEM must be numbers" ;; esac
done
[ "${ZPCI_VM_KENV:-current}" = current ] || die "tests/ism/run.sh boots the reference kernel only"

res=$ZPCI_VM_DIR/results/ism
run=$ZPCI_VM_DIR/run-ism
mkdir -p "$run"
qemu_pid=
ctl_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	[ -n "$ctl_pid" ] && kill "$ctl_pid" 2>/dev/null
	return 0
}
trap cleanup EXIT

QEMU=
do_qemu() {
	QEMU=$("$VM_SRC/build-qemu.sh") || return 1
	[ -x "$QEMU" ] || die "no QEMU binary"
}

ISMMOD_DIR=
do_ism_modules() {
	local o
	o=$("$here/build.sh" 2>"$run/ism-modules.log") ||
		{ tail -30 "$run/ism-modules.log" >&2; return 1; }
	ISMMOD_DIR=$(sed -n 's/^ZPCI_ISMMOD_DIR=//p' <<<"$o")
	[ "$(sed -n 's/^ZPCI_ISMMOD_KVER=//p' <<<"$o")" = "$ZPCI_KVER" ] ||
		{ log "ism modules: built for another kernel than $ZPCI_KVER"; return 1; }
	[ -f "$ISMMOD_DIR/zpci_ism_test.ko" ] || { log "no zpci_ism_test.ko"; return 1; }
}

INITRD=
do_initramfs() {
	# the AF_SMC program (static: the image has no libc)
	s390x-linux-gnu-gcc -O2 -Wall -Wextra -Werror -static -o "$run/smcd_xfer" \
		"$here/smcd_xfer.c" || return 1
	"$VM_SRC/initramfs.sh" --out "$ZPCI_VM_DIR/initrd-ism.cpio" --kver "$ZPCI_KVER" \
		--moddir "$ZPCI_MODDIR" --ism-dir "$ISMMOD_DIR" \
		--extra "$here/guest-stage1.sh" --extra "$run/smcd_xfer" || return 1
	INITRD=$ZPCI_VM_DIR/initrd-ism.cpio
}

# the model's functions: id, fid (= uid), PCHID
FUNCS=("isma 16 0x04ed" "ismb 17 0x04ed" "ismc 18 0x0200")
do_boot() {
	local rc=0
	ism_l0_boot "$QEMU" "$run" 64M \
		"console=ttysclp0 panic=-1 zpci.mode=ism zpci.optional-ko=1 zpci.script=/zpci/guest-stage1.sh" ||
		rc=$?
	cat "$ISMMOD_DIR/info.txt" "$ISMMOD_DIR/build-times.txt" >"$res/ism-modules-build.txt" 2>/dev/null || true
	return $rc
}

do_verify() {
	local ok=0 bad st
	bad=$(vm_console_reports "$res/console.log")
	if [ -n "$bad" ]; then
		echo "verify: kernel reports on the console:" >&2
		echo "$bad" | sed 's/^/  /' >&2
		ok=1
	fi
	# a QEMU error or warning (the model reports nothing on stderr when
	# all is well)
	if [ -s "$res/qemu-stdout.log" ]; then
		echo "verify: QEMU printed:" >&2
		sed 's/^/  qemu: /' "$res/qemu-stdout.log" | tail -20 >&2
		ok=1
	fi
	st=$(vm_guest_status "$res/console.log")
	[ "$st" = 0 ] || { echo "verify: guest status $st (see $res/console.log)" >&2; ok=1; }
	python3 "$here/verify.py" --results "$res" --guest-status "$st" \
		--qemu-clean "$([ -s "$res/qemu-stdout.log" ] && echo 0 || echo 1)" \
		--console-clean "$([ -z "$bad" ] && echo 1 || echo 0)" ||
		ok=1
	return $ok
}

rc=0
phase fetch vm_fetch || exit 1
phase "qemu build" do_qemu || exit 1
phase "ism modules" do_ism_modules || exit 1
phase initramfs do_initramfs || exit 1
phase "boot+tests" do_boot || rc=1
phase verify do_verify || rc=1
ism_report tests/ism/run.sh ism $rc "$res/summary.json"
