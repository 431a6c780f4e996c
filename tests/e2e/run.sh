#!/bin/bash
# Nested end-to-end test: L0 (this host) runs the test QEMU with five zPCI
# functions backed by /dev/shm files; L1 (Debian's s390x 6.12 + zpci_io)
# runs a qemu-system-s390x that passes them through to L2 (the same kernel,
# a static /init and the ze2e module), which writes through Linux's own zPCI
# code; the host checks every byte of the shm files. See README.md.
#
# Usage: tests/e2e/run.sh [--keep]
# Env: ZPCI_E2E_QEMU     directory of an s390x QEMU for L1 (bin/qemu-system-s390x,
#                        lib/ with ld64.so.1, share/qemu/s390-ccw.img); default:
#                        the QEMU linked with libzpci (emulators/qemu/build.sh)
#      ZPCI_E2E_FWD_PROP zpci device property that turns forwarding off in
#                        ZPCI_E2E_QEMU (empty: a stock QEMU, no forwarding)
#      ZPCI_E2E_SANITIZE=1  the L1 QEMU built with ASan and UBSan
#                        (make e2e-san-check; outside make check)
#      ZPCI_E2E_STOCK_ONLY=1  Debian bookworm's stock 7.2 in L1
#                        (fetch-l1-qemu.sh): forwarded functions unused
#      ZPCI_E2E_TIMEOUT  L0 deadline in s (default 2700: three slow L2 attempts)
#      ZPCI_E2E_L2_TIMEOUT L2 deadline in s (default 900)
#      ZPCI_E2E_KSTART_TIMEOUT  L2 boots again (5 attempts at most) if its
#                        kernel printed nothing after this many s (default 300)
#      ZPCI_E2E_L2_KERNEL=trimmed (default: tests/e2e/l2.config plus
#                        tests/ism/l2.config built from Debian's
#                        linux-source-6.12 by tests/debugkernel/build.sh, cached
#                        by its key, the same kernel as tests/ism's stage 2:
#                        l2_kernel_build in tests/vm/lib.sh) or debian (L1's
#                        own Debian kernel)
#      ZPCI_VM_MEM (MiB, default 1536), ZPCI_VM_SMP (default 2; 1 with
#      ZPCI_VM_ICOUNT=1), ZPCI_JOBS
#      ZPCI_VM_ICOUNT=1  L0 runs with -icount shift=0,sleep=off: every L2
#                        timing (ns fields, rates) counts L0 guest
#                        instructions; summary.json "clock" says which
#      ZPCI_E2E_COST=N   make cost-e2e (tests/cost/run.sh --e2e): the L1
#                        QEMU with cost markers (emulators/qemu/build.sh
#                        --cost), zpci_io with ZPCI_COST=y, L1's cost-mark
#                        (tests/cost/mark.c), and L2 runs cost rows of N
#                        128-byte PCISTBs instead of the timed rounds
#                        (ze2e.cost=N); with ZPCI_VM_QEMU_PLUGINS=1 and
#                        ZPCI_VM_PLUGIN (L0's -plugin argument) from there
#      ZPCI_VM_RESULTS   results directory under $ZPCI_VM_DIR/results
#                        (default e2e)
# Results: $ZPCI_VM_DIR/results/e2e (summary.json, bench.json, bench.png,
# logs). Exit 0 only if verify.py passes.
set -euo pipefail
E2E_SRC=$(cd "$(dirname "$0")" && pwd)
. "$E2E_SRC/../vm/lib.sh"

keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--keep) keep=1 ;;
	-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
	*) echo "e2e/run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
TIMEOUT=${ZPCI_E2E_TIMEOUT:-2700}
L2_TIMEOUT=${ZPCI_E2E_L2_TIMEOUT:-900}
KSTART_TIMEOUT=${ZPCI_E2E_KSTART_TIMEOUT:-300}
CLOCK=$(vm_clock) || exit 1
SMP=${ZPCI_VM_SMP:-$(vm_default_smp)}
MEM=${ZPCI_VM_MEM:-1536}
JOBS=${ZPCI_JOBS:-2}
COST=${ZPCI_E2E_COST:-0}
for v in "$TIMEOUT" "$L2_TIMEOUT" "$KSTART_TIMEOUT" "$SMP" "$MEM" "$JOBS" "$COST"; do
	case "$v" in ''|*[!0-9]*) die "e2e: timeouts, ZPCI_VM_SMP/MEM, ZPCI_JOBS and ZPCI_E2E_COST must be numbers" ;; esac
done

mkdir -p "$ZPCI_VM_DIR"
exec 9>"$ZPCI_VM_DIR/.run.lock"
if ! flock -n 9; then
	log "another VM run is going on; waiting for it"
	flock 9
fi

OUT=$ZPCI_VM_DIR/e2e
RES=$ZPCI_VM_DIR/results/${ZPCI_VM_RESULTS:-e2e}
case "${ZPCI_VM_RESULTS:-e2e}" in *[!A-Za-z0-9._/-]*|*..*|/*) die "bad ZPCI_VM_RESULTS" ;; esac
mkdir -p "$OUT"
# the L0 functions: name fid zpci-options
# fenced: as wide, but after each enable (Linux resets the function at vfio
# open) the second read of the dword that says where the
# MSI-X PBA is fails (the first is vfio-pci-core's config snapshot at open,
# the second zpci_io's own), so zpci_io fences every BAR of it and a QEMU
# linked with libzpci must leave it on the stock path (issue 17)
FUNCS=("strict 1 " "ism 2 pft=5,relaxed-align=on,maxstbl=4096,nostg-bars=4"
	"wide 3 maxstbl=4096" "strict-stock 11 " "wide-stock 13 maxstbl=4096"
	"fenced 4 maxstbl=4096,pba-fail-skip=1,pba-fail-count=1")
# what L1 does with them (fid:name:mode)
L1_FUNCS="1:strict:forwarded 3:wide:forwarded 2:ism:forwarded 11:strict:stock 13:wide:stock 4:fenced:fenced"
SHM=/dev/shm/zpci-e2e-$$
qemu_pid=
srv_pid=
ctl_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
	[ -n "$ctl_pid" ] && kill "$ctl_pid" 2>/dev/null
	[ $keep = 1 ] || rm -f "$SHM"-*
}
trap cleanup EXIT

summary() {
	echo "---- tests/e2e/run.sh wall time per phase"
	printf '  %s\n' "${PHASE_LOG[@]}"
}

# ---------------------------------------------------------------- phases
L2_VMLINUZ=
L2_KDIR=
L2_APPEND=
do_fetch() {
	local envf
	"$REPO/kmod/scripts/fetch-kernel.sh" --quiet >/dev/null || return 1
	envf=$ZPCI_CACHE/kernel/current.env
	# shellcheck disable=SC1090
	. "$envf"
	[ -f "$ZPCI_VMLINUZ" ] && [ -d "$ZPCI_MODDIR" ] || die "kernel image/modules missing ($envf)"
	case "${ZPCI_E2E_L2_KERNEL:-trimmed}" in
	debian)
		# Debian's kernel boots faster without KASLR, LSMs and audit
		L2_APPEND="nokaslr lsm=capability audit=0"
		L2_VMLINUZ=$ZPCI_VMLINUZ L2_KDIR=$ZPCI_KDIR ;;
	trimmed)
		# a subshell: l2.env uses the same variable names as current.env
		l2_kernel_build "$OUT/l2k" e2e-l2 || return 1
		{ read -r L2_VMLINUZ; read -r L2_KDIR; } < <(. "$ZPCI_CACHE/kernel/e2e-l2.env" &&
			printf '%s\n%s\n' "$ZPCI_VMLINUZ" "$ZPCI_KDIR") ;;
	*) die "ZPCI_E2E_L2_KERNEL must be trimmed or debian" ;;
	esac
	[ -f "$L2_VMLINUZ" ] && [ -f "$L2_KDIR/Makefile" ] || die "L2 kernel image/tree missing"
	[ "$COST" = 0 ] || L2_APPEND="${L2_APPEND:+$L2_APPEND }ze2e.cost=$COST"
	log "fetch: L2 kernel $L2_VMLINUZ"
	ZPCI_SYSROOT=$("$VM_SRC/fetch.sh") || return 1
	export ZPCI_SYSROOT
	deb_fetch bookworm s390x busybox-static >/dev/null
}

QEMU0=
do_qemu0() {
	QEMU0=$("$VM_SRC/build-qemu.sh") || return 1
	[ -x "$QEMU0" ]
}

L1Q=
FWD_PROP=
do_qemu1() {
	local stock bin
	stock=$("$E2E_SRC/fetch-l1-qemu.sh") || return 1
	if [ -n "${ZPCI_E2E_QEMU:-}" ]; then
		L1Q=$ZPCI_E2E_QEMU
		FWD_PROP=${ZPCI_E2E_FWD_PROP:-}
	elif [ "${ZPCI_E2E_STOCK_ONLY:-0}" != 1 ] && [ -x "$REPO/emulators/qemu/build.sh" ]; then
		# the QEMU linked with libzpci (make qemu-e2e-build), forwarding
		# off per function with the zpci device's zpci-io=off
		# ZPCI_E2E_SANITIZE=1: the same QEMU with ASan and UBSan
		# ZPCI_E2E_COST: with the cost markers (make cost-e2e)
		local opt=()
		[ -z "${ZPCI_E2E_SANITIZE:-}" ] || opt+=(--sanitize)
		[ "$COST" = 0 ] || opt+=(--cost)
		bin=$("$REPO/emulators/qemu/build.sh" "${opt[@]}" | tail -n 1) ||
			return 1
		[ -x "$bin" ] && [ -e "$(dirname "$bin")/lib/ld64.so.1" ] ||
			{ log "qemu1: emulators/qemu/build.sh gave no binary with lib/ld64.so.1 ($bin)"; return 1; }
		L1Q=$OUT/l1qemu
		rm -rf "$L1Q"
		mkdir -p "$L1Q/bin"
		cp "$bin" "$L1Q/bin/qemu-system-s390x"
		cp -a "$(dirname "$bin")/lib" "$L1Q/lib"
		# firmware (s390-ccw.img): the build's own if it has one, else
		# bookworm's
		if [ -e "$(dirname "$bin")/share/qemu/s390-ccw.img" ]; then
			cp -a "$(dirname "$bin")/share" "$L1Q/share"
		else
			cp -a "$stock/share" "$L1Q/share"
		fi
		FWD_PROP=zpci-io=off
	else
		L1Q=$stock
	fi
	[ -x "$L1Q/bin/qemu-system-s390x" ] && [ -e "$L1Q/lib/ld64.so.1" ] &&
		[ -e "$L1Q/share/qemu/s390-ccw.img" ] ||
		{ log "qemu1: $L1Q lacks bin/qemu-system-s390x, lib/ld64.so.1 or share/qemu/s390-ccw.img"; return 1; }
	if [ -n "$FWD_PROP" ]; then
		log "qemu1: L2 runs under $L1Q (forwarding; off per function with $FWD_PROP)"
	else
		log "qemu1: L2 runs under $L1Q (stock: forwarded functions unused)"
	fi
}

KO=
do_build() {
	local cost=()
	# make cost-e2e: zpci_io's cost markers (kmod/Kbuild)
	[ "$COST" = 0 ] || cost=(ZPCI_COST=y)
	make -C "$REPO/kmod" KDIR="$ZPCI_KDIR" ARCH=s390 BUILD="$OUT/kmod" \
		CROSS_COMPILE=s390x-linux-gnu- "${cost[@]}" -j"$JOBS" >"$OUT/kmod-build.log" 2>&1 ||
		{ tail -30 "$OUT/kmod-build.log" >&2; return 1; }
	KO=$OUT/kmod/zpci_io.ko
	make -C "$E2E_SRC/l2mod" KDIR="$L2_KDIR" BUILD="$OUT/l2mod" >"$OUT/l2mod-build.log" 2>&1 ||
		{ tail -30 "$OUT/l2mod-build.log" >&2; return 1; }
	s390x-linux-gnu-gcc -O2 -Wall -Wextra -static -o "$OUT/l2init" "$E2E_SRC/l2init.c" ||
		return 1
	# the zpci CLI for zpci_io's counters in L1
	cmake -S "$REPO" -B "$OUT/cli-build" -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_TOOLCHAIN_FILE="$VM_SRC/s390x-toolchain.cmake" \
		-DZPCI_BUILD_TESTS=OFF -DZPCI_BUILD_BENCH=OFF -DZPCI_BUILD_TOOLS=ON \
		>"$OUT/cli-configure.log" 2>&1 &&
		cmake --build "$OUT/cli-build" -j"$JOBS" --target zpci_cli >"$OUT/cli-build.log" 2>&1 ||
		{ tail -30 "$OUT/cli-configure.log" "$OUT/cli-build.log" >&2; return 1; }
	rm -rf "$OUT/bin"
	mkdir -p "$OUT/bin"
	cp "$OUT/cli-build/tools/zpci" "$OUT/bin/zpci"
	if [ "$COST" != 0 ]; then
		s390x-linux-gnu-gcc -O2 -Wall -Wextra -static -I"$REPO/include" \
			-o "$OUT/bin/cost-mark" "$REPO/tests/cost/mark.c" || return 1
	fi
}

INITRD=
do_initramfs() {
	local l2=$OUT/l2root e2e=$OUT/e2eroot
	# L2: /init and the module, nothing else
	rm -rf "$l2" "$e2e"
	mkdir -p "$l2"/{proc,sys,dev,sbin}
	cp "$OUT/l2init" "$l2/init"
	# a second name the kernel tries when exec of /init fails (nested TCG
	# has failed it with EFAULT; l2init says which name it ran as)
	cp "$OUT/l2init" "$l2/sbin/init"
	cp "$OUT/l2mod/ze2e.ko" "$l2/ze2e.ko"
	mkdir -p "$e2e/e2e/l2"
	(cd "$l2" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) \
		>"$e2e/e2e/l2/initrd.cpio"
	cp "$L2_VMLINUZ" "$e2e/e2e/l2/vmlinuz"
	cp -a "$L1Q" "$e2e/e2e/qemu"
	cat >"$e2e/e2e/config" <<EOF
E2E_FUNCS="$L1_FUNCS"
E2E_QEMU=/e2e/qemu
E2E_FWD_PROP="$FWD_PROP"
E2E_L2_MEM=128
E2E_L2_TIMEOUT=$L2_TIMEOUT
E2E_KSTART_TIMEOUT=$KSTART_TIMEOUT
E2E_L2_APPEND="$L2_APPEND"
E2E_TRACE="${ZPCI_E2E_TRACE:-}"
E2E_TRACE_MORE="${ZPCI_E2E_TRACE_EVENTS:-}"
EOF
	# L1: the test machine's initramfs plus /e2e (a second cpio archive
	# appended: the kernel unpacks both)
	"$VM_SRC/initramfs.sh" --out "$OUT/initrd-l1-base.cpio" --kver "$ZPCI_KVER" \
		--moddir "$ZPCI_MODDIR" --ko "$KO" --bin "$OUT/bin" \
		--extra "$E2E_SRC/e2e-l1.sh" || return 1
	(cd "$e2e" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) \
		>"$OUT/initrd-e2e.cpio"
	cat "$OUT/initrd-l1-base.cpio" "$OUT/initrd-e2e.cpio" >"$OUT/initrd-l1.cpio"
	INITRD=$OUT/initrd-l1.cpio
	log "initramfs: $INITRD ($(du -h "$INITRD" | cut -f1))"
}

do_boot() {
	local disk=$OUT/results.img append qargs=() rc=0 t=0 done_at= f name fid opts
	local msix=plain srv_args=()
	rm -rf "$RES"
	mkdir -p "$RES"
	rm -f "$disk"
	truncate -s 256M "$disk"
	# MSI-X on ivshmem-plain (test QEMU patch) if the binary has it, else
	# ivshmem-doorbell (MSI-X) fed by a minimal ivshmem server
	if "$QEMU0" -device ivshmem-plain,help 2>/dev/null | grep -q vectors; then
		msix=plain
	else
		msix=doorbell
	fi
	for f in "${FUNCS[@]}"; do
		read -r name fid opts <<<"$f"
		rm -f "$SHM-$name"
		truncate -s 16M "$SHM-$name"
		qargs+=(-device "zpci,id=zpci-$name,uid=$fid,fid=$fid,target=$name${opts:+,$opts}")
		if [ "$name" = ism ]; then
			qargs+=(-object "memory-backend-file,id=mem-$name,share=on,mem-path=$SHM-$name,size=16M"
				-device "ivshmem-plain,id=$name,memdev=mem-$name")
		elif [ $msix = plain ]; then
			qargs+=(-object "memory-backend-file,id=mem-$name,share=on,mem-path=$SHM-$name,size=16M"
				-device "ivshmem-plain,id=$name,memdev=mem-$name,vectors=2")
		else
			srv_args+=("$OUT/ivshmem-$name.sock=$SHM-$name")
			qargs+=(-chardev "socket,id=chr-$name,path=$OUT/ivshmem-$name.sock"
				-device "ivshmem-doorbell,id=$name,chardev=chr-$name,vectors=1")
		fi
	done
	echo "$msix" >"$RES/l0-msix.txt"
	if [ ${#srv_args[@]} -gt 0 ]; then
		/usr/bin/python3 "$E2E_SRC/ivshmem_server.py" "${srv_args[@]}" >"$OUT/ivshmem-server.log" 2>&1 &
		srv_pid=$!
		for t in $(seq 50); do
			[ -S "$OUT/ivshmem-wide-stock.sock" ] && break
			sleep 0.1
		done
	fi
	append="console=ttysclp0 panic=-1 zpci.mode=patched zpci.script=/zpci/e2e-l1.sh"
	qargs=(-M s390-ccw-virtio -cpu max -accel tcg,thread=single $(vm_clock_args) -smp "$SMP" -m "$MEM"
		-L /usr/share/qemu -display none -monitor none -no-reboot
		-serial "file:$RES/console.log"
		-kernel "$ZPCI_VMLINUZ" -initrd "$INITRD" -append "$append"
		-drive "file=$disk,format=raw,if=none,id=results"
		-device virtio-blk-ccw,drive=results,serial=zpci-results "${qargs[@]}"
		-qmp "unix:$OUT/qmp.sock,server=on,wait=off"
		-chardev "socket,id=ctl,path=$OUT/ctl.sock,server=on,wait=off"
		-device virtio-serial-ccw -device virtserialport,chardev=ctl,name=zpci.ctl)
	# a TCG plugin (make cost-e2e: needs the QEMU built with
	# ZPCI_VM_QEMU_PLUGINS=1)
	[ -z "${ZPCI_VM_PLUGIN:-}" ] || qargs+=(-plugin "$ZPCI_VM_PLUGIN")
	printf '%q ' "$QEMU0" "${qargs[@]}" >"$OUT/qemu-cmdline.txt"
	echo >>"$OUT/qemu-cmdline.txt"
	rm -f "$OUT/qmp.sock" "$OUT/ctl.sock"
	"$QEMU0" "${qargs[@]}" </dev/null >"$RES/l0-qemu.log" 2>&1 &
	qemu_pid=$!
	# L0's fault control for the fault tests (FAULT, RECOVER, FAULT_STATUS
	# from L1's e2e-l1.sh through the zpci.ctl port): tests/vm's control
	# port server, on this QEMU's QMP
	python3 "$VM_SRC/hostctl.py" --qmp "$OUT/qmp.sock" --ctl "$OUT/ctl.sock" \
		--log "$RES/hostctl.log" >"$OUT/hostctl.out" 2>&1 &
	ctl_pid=$!
	t=0
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ -z "$done_at" ] && grep -aq 'ZPCI-VM: status ' "$RES/console.log" 2>/dev/null; then
			done_at=$t
		fi
		if [ $t -ge "$TIMEOUT" ] || { [ -n "$done_at" ] && [ $((t - done_at)) -ge 60 ]; }; then
			log "boot: killing L0 QEMU (${done_at:+no poweroff 60 s after the status}${done_at:-deadline ${TIMEOUT}s})"
			kill "$qemu_pid" 2>/dev/null
			sleep 5
			kill -9 "$qemu_pid" 2>/dev/null
			rc=124
			break
		fi
		if [ $((t % 60)) -eq 0 ] && [ $t -gt 0 ]; then
			log "boot: ${t}s: $(grep -a 'ZPCI-VM: ' "$RES/console.log" 2>/dev/null | tail -n 1 | cut -c1-150)"
		fi
		sleep 1
		t=$((t + 1))
	done
	wait "$qemu_pid" 2>/dev/null || { [ $rc -ne 0 ] || rc=$?; }
	qemu_pid=
	# hostctl.py exits when QEMU closes its sockets
	kill "$ctl_pid" 2>/dev/null || true
	wait "$ctl_pid" 2>/dev/null || true
	ctl_pid=
	if [ -s "$RES/l0-qemu.log" ]; then
		sed 's/^/  qemu: /' "$RES/l0-qemu.log" | tail -20 >&2
	fi
	tar -xf "$disk" -C "$RES" 2>/dev/null || log "boot: no results archive on the disk"
	vm_mark_clock "$RES"
	rm -f "$disk"
	return $rc
}

do_verify() {
	local args=() f name fid opts
	for f in "${FUNCS[@]}"; do
		read -r name fid opts <<<"$f"
		args+=(--shm "$fid=$SHM-$name")
	done
	/usr/bin/python3 "$E2E_SRC/verify.py" --results "$RES" "${args[@]}" \
		--phase-times "$(printf '%s;' "${PHASE_LOG[@]}")"
}

# ---------------------------------------------------------------- main
rc=0
phase fetch do_fetch || { summary; exit 1; }
phase "qemu L0" do_qemu0 || { summary; exit 1; }
phase "qemu L1" do_qemu1 || { summary; exit 1; }
phase build do_build || { summary; exit 1; }
phase initramfs do_initramfs || { summary; exit 1; }
phase "boot L1+L2" do_boot || rc=1
phase verify do_verify || rc=1
summary
[ $keep = 1 ] && echo "kept: $SHM-*"
if [ $rc -eq 0 ] && grep -q '"skipped": true' "$RES/summary.json" 2>/dev/null; then
	echo "e2e: SKIP (no L2 boot reached /init: nested TCG; nothing tested in L2), results in $RES"
elif [ $rc -eq 0 ]; then
	echo "e2e: PASS, results in $RES"
else
	echo "e2e: FAIL, results in $RES"
fi
exit $rc
