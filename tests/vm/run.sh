#!/bin/bash
# Boot the s390x test guest and run the guest test suite; see README.md.
#
# Usage: tests/vm/run.sh [--stock] [--smoke] [--keep] [--no-bench]
#   (default)   patched test QEMU, three ivshmem functions ("strict",
#               "ism", "wide") backed by /dev/shm files, host verifier
#               afterwards
#   --stock     Debian's qemu-system-s390x, one virtio function ("strict")
#   --smoke     run the infrastructure smoke test instead of guest.sh
#   --keep      keep the /dev/shm files (paths are printed)
#   --no-bench  ask guest.sh to skip the benchmark (ZPCI_NO_BENCH=1)
# Env: ZPCI_CACHE, ZPCI_VM_DIR, ZPCI_VM_TIMEOUT (s, default 1800),
#      ZPCI_VM_SMP (default 2; 1 with ZPCI_VM_ICOUNT=1), ZPCI_VM_MEM (MiB, default 1024),
#      ZPCI_VM_ICOUNT=1 (the guest clock counts L0 guest instructions:
#      -icount shift=0,sleep=off; results say so in clock.txt and bench.json),
#      ZPCI_VM_APPEND (extra kernel command line), ZPCI_VM_EXTRA (files
#      to add to /zpci, colon-separated), ZPCI_VM_KO (prebuilt zpci_io.ko),
#      ZPCI_VM_ISMMOD=0 (leave out Linux's ism/smc/smc_diag, tests/ism),
#      ZPCI_VM_QEMU_PLUGINS=1 (the test QEMU built with TCG plugins) and
#      ZPCI_VM_PLUGIN (a -plugin argument for it; tests/cost).
# Exit 0 only if the guest reported status 0, the host verifier passed and
# the console log has no kernel warning/bug/lockdep/hung-task report.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=patched
smoke=0
keep=0
nobench=0
while [ $# -gt 0 ]; do
	case "$1" in
	--stock) mode=stock ;;
	--smoke) smoke=1 ;;
	--keep) keep=1 ;;
	--no-bench) nobench=1 ;;
	-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
TIMEOUT=${ZPCI_VM_TIMEOUT:-1800}
CLOCK=$(vm_clock) || exit 1
SMP=${ZPCI_VM_SMP:-$(vm_default_smp)}
MEM=${ZPCI_VM_MEM:-1024}
JOBS=${ZPCI_JOBS:-2}
for v in "$TIMEOUT" "$SMP" "$MEM" "$JOBS"; do
	case "$v" in ''|*[!0-9]*) die "ZPCI_VM_TIMEOUT/SMP/MEM/ZPCI_JOBS must be numbers" ;; esac
done

mkdir -p "$ZPCI_VM_DIR"
# one run at a time: both modes share the kmod, guest and CLI build trees
# (and there are only 2 cores)
exec 9>"$ZPCI_VM_DIR/.run.lock"
if ! flock -n 9; then
	log "another tests/vm/run.sh is running; waiting for it"
	flock 9
fi

# ZPCI_VM_RESULTS=NAME: results under results/NAME (tests/debugkernel)
res=$ZPCI_VM_DIR/results/${ZPCI_VM_RESULTS:-$mode}
case "${ZPCI_VM_RESULTS:-$mode}" in *[!A-Za-z0-9._-]*) die "bad ZPCI_VM_RESULTS" ;; esac
run=$ZPCI_VM_DIR/run-$mode
shm_strict=/dev/shm/zpci-vm-strict-$$
shm_ism=/dev/shm/zpci-vm-ism-$$
shm_wide=/dev/shm/zpci-vm-wide-$$
qemu_pid=
ctl_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	[ -n "$ctl_pid" ] && kill "$ctl_pid" 2>/dev/null
	if [ $keep -eq 0 ]; then
		rm -f "$shm_strict" "$shm_ism" "$shm_wide"
	fi
}
trap cleanup EXIT

summary() {
	echo "---- tests/vm/run.sh ($mode$([ $smoke = 1 ] && echo ", smoke")) wall time per phase"
	printf '  %s\n' "${PHASE_LOG[@]}"
}

# ---------------------------------------------------------------- phases
do_fetch() {
	vm_fetch
}

QEMU=
do_qemu() {
	if [ $mode = stock ]; then
		QEMU=$(command -v qemu-system-s390x) ||
			die "qemu-system-s390x missing (scripts/install-deps.sh vm)"
	else
		QEMU=$("$VM_SRC/build-qemu.sh") || return 1
	fi
	[ -x "$QEMU" ] || die "no QEMU binary"
}

KO=
do_kmod() {
	# (pkg) a module built elsewhere, e.g. by DKMS in tests/pkg/native-test.sh:
	# load that one instead of cross-building kmod/
	if [ -n "${ZPCI_VM_KO:-}" ]; then
		[ -f "$ZPCI_VM_KO" ] || { log "kmod: ZPCI_VM_KO=$ZPCI_VM_KO missing"; return 1; }
		KO=$ZPCI_VM_KO
		log "kmod: $KO (ZPCI_VM_KO), not built here"
		return 0
	fi
	if [ ! -f "$REPO/kmod/Makefile" ] && [ ! -f "$REPO/kmod/Kbuild" ]; then
		log "kmod: no kmod/Makefile yet"
		return 1
	fi
	# kmod/Makefile builds out of tree into BUILD (symlinked sources)
	rm -f "$ZPCI_VM_DIR/kmod/zpci_io.ko"
	make -C "$REPO/kmod" KDIR="$ZPCI_KDIR" ARCH=s390 BUILD="$ZPCI_VM_DIR/kmod" \
		CROSS_COMPILE=s390x-linux-gnu- -j"$JOBS" >"$run/kmod-build.log" 2>&1 ||
		{ tail -30 "$run/kmod-build.log" >&2; return 1; }
	[ -f "$ZPCI_VM_DIR/kmod/zpci_io.ko" ] ||
		{ log "kmod: no zpci_io.ko after make (see $run/kmod-build.log)"; return 1; }
	KO=$ZPCI_VM_DIR/kmod/zpci_io.ko
}

# Linux's ism.ko and SMC-D (smc.ko + smc_diag.ko with the ISM client),
# built from linux-source-6.12 by tests/ism/build.sh for the reference
# kernel only (other kernels, e.g. ZPCI_VM_KENV=debug or sid7, get none);
# guest.sh loads, checks and unloads them (tests/ism/guest-modules.sh)
ISMMOD_DIR=
do_ism_modules() {
	local o
	if [ "${ZPCI_VM_ISMMOD:-1}" = 0 ] || [ "${ZPCI_VM_KENV:-current}" != current ]; then
		log "ism modules: not for this run (ZPCI_VM_ISMMOD=${ZPCI_VM_ISMMOD:-1}, kernel env ${ZPCI_VM_KENV:-current})"
		return 0
	fi
	o=$("$REPO/tests/ism/build.sh" 2>"$run/ism-modules.log") ||
		{ tail -30 "$run/ism-modules.log" >&2; log "ism modules: tests/ism/build.sh failed"; return 1; }
	ISMMOD_DIR=$(sed -n 's/^ZPCI_ISMMOD_DIR=//p' <<<"$o")
	[ "$(sed -n 's/^ZPCI_ISMMOD_KVER=//p' <<<"$o")" = "$ZPCI_KVER" ] ||
		{ log "ism modules: built for another kernel than $ZPCI_KVER"; return 1; }
	grep '^ism-modules: \(phase\|cached\|built\)' "$run/ism-modules.log" >&2 || true
}

BIN=$ZPCI_VM_DIR/guest-bin
do_cross() {
	local gb=$ZPCI_VM_DIR/guest-build b f
	rm -rf "$BIN"
	mkdir -p "$BIN"
	# infrastructure smoke program (plain C, static)
	s390x-linux-gnu-gcc -O2 -Wall -static -o "$ZPCI_VM_DIR/vfio_poke" \
		"$VM_SRC/smoke/vfio_poke.c" || return 1
	[ $smoke = 1 ] && return 0
	[ -f "$VM_SRC/guest/CMakeLists.txt" ] || { log "cross: no tests/vm/guest/CMakeLists.txt"; return 1; }
	cmake -S "$VM_SRC/guest" -B "$gb" -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_TOOLCHAIN_FILE="$VM_SRC/s390x-toolchain.cmake" \
		>"$run/cross-configure.log" 2>&1 ||
		{ tail -30 "$run/cross-configure.log" >&2; return 1; }
	cmake --build "$gb" -j"$JOBS" >"$run/cross-build.log" 2>&1 ||
		{ grep -E 'error|Error' "$run/cross-build.log" | head -30 >&2; return 1; }
	for b in zpci_vm_tests zpci_vm_bench zpci_vm_consumer zpci_soak; do
		f=$(find "$gb" -type f -name "$b" -perm -u+x | head -n 1)
		if [ -n "$f" ]; then
			cp "$f" "$BIN/"
		else
			log "cross: $b was not built"
		fi
	done
	[ -x "$BIN/zpci_vm_tests" ] || { log "cross: zpci_vm_tests missing"; return 1; }
	# the zpci CLI from the top-level project (library + tool only)
	if cmake -S "$REPO" -B "$ZPCI_VM_DIR/cli-build" -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_TOOLCHAIN_FILE="$VM_SRC/s390x-toolchain.cmake" \
		-DZPCI_BUILD_TESTS=OFF -DZPCI_BUILD_BENCH=OFF -DZPCI_BUILD_TOOLS=ON \
		>"$run/cli-configure.log" 2>&1 &&
	   cmake --build "$ZPCI_VM_DIR/cli-build" -j"$JOBS" --target zpci_cli \
		>"$run/cli-build.log" 2>&1 &&
	   [ -x "$ZPCI_VM_DIR/cli-build/tools/zpci" ]; then
		cp "$ZPCI_VM_DIR/cli-build/tools/zpci" "$BIN/zpci"
	else
		# not fatal: the guest suite does not need the CLI
		log "cross: WARNING: the zpci CLI did not cross-build (see $run/cli-*.log)"
		CLI_MISSING=1
	fi
}
CLI_MISSING=0

INITRD=
do_initramfs() {
	local args=(--out "$ZPCI_VM_DIR/initrd-$mode.cpio" --kver "$ZPCI_KVER"
		--moddir "$ZPCI_MODDIR" --bin "$BIN" --extra "$ZPCI_VM_DIR/vfio_poke"
		--extra "$VM_SRC/smoke/smoke.sh")
	[ -n "$KO" ] && args+=(--ko "$KO")
	[ -n "$ISMMOD_DIR" ] && [ $smoke = 0 ] && args+=(--ism-dir "$ISMMOD_DIR")
	local f
	IFS=: read -r -a extra <<<"${ZPCI_VM_EXTRA:-}"
	for f in "${extra[@]}"; do
		[ -n "$f" ] && args+=(--extra "$f")
	done
	[ -f "$VM_SRC/guest/guest.sh" ] && args+=(--guest-sh "$VM_SRC/guest/guest.sh")
	"$VM_SRC/initramfs.sh" "${args[@]}" || return 1
	INITRD=$ZPCI_VM_DIR/initrd-$mode.cpio
}

do_boot() {
	local disk=$run/results.img append qargs rc=0 t
	rm -rf "$res"
	mkdir -p "$res"
	rm -f "$disk" "$run/qmp.sock" "$run/ctl.sock"
	truncate -s 256M "$disk"
	append="console=ttysclp0 panic=-1 zpci.mode=$mode"
	[ $smoke = 1 ] && append+=" zpci.script=/zpci/smoke.sh zpci.optional-ko=1"
	[ $nobench = 1 ] && append+=" zpci.nobench=1"
	append+=" ${ZPCI_VM_APPEND:-}"
	# thread=single: QEMU 7.2's multi-threaded TCG deadlocks in SIGP (the
	# guest's stop-the-other-CPUs at poweroff hangs QEMU, seen here); one
	# host thread still emulates $SMP guest CPUs
	qargs=(-M s390-ccw-virtio -cpu max -accel tcg,thread=single $(vm_clock_args) -smp "$SMP" -m "$MEM"
		-L /usr/share/qemu -display none -monitor none -no-reboot
		-serial "file:$res/console.log"
		-kernel "$ZPCI_VMLINUZ" -initrd "$INITRD" -append "$append"
		-qmp "unix:$run/qmp.sock,server=on,wait=off"
		-drive "file=$disk,format=raw,if=none,id=results"
		-device virtio-blk-ccw,drive=results,serial=zpci-results
		-chardev "socket,id=ctl,path=$run/ctl.sock,server=on,wait=off"
		-device virtio-serial-ccw -device virtserialport,chardev=ctl,name=zpci.ctl)
	# a TCG plugin (make cost: needs the QEMU built with ZPCI_VM_QEMU_PLUGINS=1)
	[ -z "${ZPCI_VM_PLUGIN:-}" ] || qargs+=(-plugin "$ZPCI_VM_PLUGIN")
	# The functions: "zpci device;PCI device" (device_add syntax), also the
	# specs for the control port's DEVICE_ADD (re-plug). The zpci device of
	# function X has id zpci-X (the control port's FAULT/RECOVER use it).
	# strict: maxstbl 128, MSI-X (BAR 1); ism: pft 5, relaxed, maxstbl 4096,
	# PCISTG refused on BAR 2, sparse 2 TiB MMIO BAR 4; wide: strict
	# alignment, maxstbl 4096, MSI-X (BAR 1). See README.md.
	local dev_strict="zpci,id=zpci-strict,uid=1,fid=1,target=strict;ivshmem-plain,id=strict,memdev=mem-strict,vectors=2"
	local dev_ism="zpci,id=zpci-ism,uid=2,fid=2,target=ism,pft=5,relaxed-align=on,maxstbl=4096,nostg-bars=4;ivshmem-plain,id=ism,memdev=mem-ism,bigbar=2199023255552"
	local dev_wide="zpci,id=zpci-wide,uid=3,fid=3,target=wide,maxstbl=4096;ivshmem-plain,id=wide,memdev=mem-wide,vectors=2"
	local plugs=() f
	if [ $mode = patched ]; then
		rm -f "$shm_strict" "$shm_ism" "$shm_wide"
		truncate -s 16M "$shm_strict" "$shm_ism" "$shm_wide"
		qargs+=(-object "memory-backend-file,id=mem-strict,share=on,mem-path=$shm_strict,size=16M"
			-object "memory-backend-file,id=mem-ism,share=on,mem-path=$shm_ism,size=16M"
			-object "memory-backend-file,id=mem-wide,share=on,mem-path=$shm_wide,size=16M")
		for f in strict ism wide; do
			local -n spec=dev_$f
			qargs+=(-device "${spec%%;*}" -device "${spec#*;}")
			plugs+=(--plug "$f=$spec")
		done
		# CHECK (tests/soak): the host compares the guest's view of a
		# function's RAM BAR with these files, logged to host-checks.jsonl
		plugs+=(--shm "strict=$shm_strict" --shm "ism=$shm_ism" --shm "wide=$shm_wide"
			--check-log "$res/host-checks.jsonl")
	else
		dev_strict="zpci,id=zpci-strict,uid=1,fid=1,target=strict;virtio-rng-pci,id=strict"
		qargs+=(-device "${dev_strict%%;*}" -device "${dev_strict#*;}")
		plugs+=(--plug "strict=$dev_strict")
	fi
	printf '%q ' "$QEMU" "${qargs[@]}" >"$run/qemu-cmdline.txt"
	echo >>"$run/qemu-cmdline.txt"
	"$QEMU" "${qargs[@]}" </dev/null >"$run/qemu-stdout.log" 2>&1 &
	qemu_pid=$!
	python3 "$VM_SRC/hostctl.py" --qmp "$run/qmp.sock" --ctl "$run/ctl.sock" \
		--log "$res/hostctl.log" "${plugs[@]}" \
		>>"$run/hostctl.out" 2>&1 &
	ctl_pid=$!
	# wait for QEMU with a deadline; once the guest printed its status it
	# has 60 s to power off
	vm_wait_qemu "$qemu_pid" "$res/console.log" "$TIMEOUT" || rc=$?
	qemu_pid=
	sleep 0.2
	kill "$ctl_pid" 2>/dev/null || true
	wait "$ctl_pid" 2>/dev/null || true
	ctl_pid=
	if [ -s "$run/qemu-stdout.log" ]; then
		sed 's/^/  qemu: /' "$run/qemu-stdout.log" | tail -20 >&2
	fi
	# the guest's results: a tar archive at the start of the raw disk
	tar -xf "$disk" -C "$res" 2>/dev/null || log "boot: no results archive on the disk"
	# how the ISM modules the guest loaded were built (tests/ism/build.sh)
	[ -z "$ISMMOD_DIR" ] || [ $smoke = 1 ] ||
		cat "$ISMMOD_DIR/info.txt" "$ISMMOD_DIR/build-times.txt" >"$res/ism-modules-build.txt" 2>/dev/null || true
	vm_mark_clock "$res"
	rm -f "$disk"
	return $rc
}

GUEST_STATUS=
do_verify() {
	local ok=0 bad st line
	# 1. kernel reports on the console (kernel lines only: "[ time] ...",
	# so that test output quoting such words cannot fail the run; lockdep's
	# reports are "WARNING: ..." plus the lines matched by name, not the
	# boot banner "RCU lockdep checking is enabled")
	bad=$(vm_console_reports "$res/console.log")
	if [ -n "$bad" ]; then
		echo "verify: kernel reports on the console:" >&2
		echo "$bad" | sed 's/^/  /' >&2
		ok=1
	fi
	# 2. the guest's own status (console line, then the results archive)
	GUEST_STATUS=$(vm_guest_status "$res/console.log")
	if [ "$GUEST_STATUS" != 0 ]; then
		echo "verify: guest status $GUEST_STATUS (see $res/console.log, $res/init.log)" >&2
		ok=1
	fi
	[ -f "$res/init-status" ] || { echo "verify: results archive missing" >&2; ok=1; }
	# 3. host-side byte check
	if [ $mode = patched ]; then
		if [ $smoke = 1 ]; then
			smoke_verify || ok=1
		else
			host_verify || ok=1
		fi
	fi
	return $ok
}

# smoke manifest lines: "<strict|ism> <offset> <len> <seed|zero>"
smoke_verify() {
	python3 - "$res/manifest-smoke.txt" "$shm_strict" "$shm_ism" <<'EOF'
import sys
man, files = sys.argv[1], {"strict": sys.argv[2], "ism": sys.argv[3]}
lines = [l.split() for l in open(man) if l.strip()]
if not lines:
    sys.exit("smoke: empty manifest")
for name, off, ln, seed in lines:
    off, ln = int(off), int(ln)
    data = open(files[name], "rb").read()
    if seed == "zero":
        exp = bytes(ln)
        rest_ok = data.count(0) == len(data)
    else:
        exp = bytes(((int(seed) + i * 7) & 0xFF) for i in range(ln))
        rest_ok = data[:off].count(0) == off and data[off + ln:].count(0) == len(data) - off - ln
    got = data[off:off + ln]
    if got != exp or not rest_ok:
        sys.exit("smoke: %s bytes at %d..%d differ from what the guest wrote" % (name, off, off + ln))
    print("smoke: %s %d bytes at %d verified (%s)" % (name, ln, off, seed))
EOF
}

host_verify() {
	local hb=$ZPCI_VM_DIR/host verify=$ZPCI_VM_DIR/host/zpci_vm_verify
	mkdir -p "$hb"
	if [ -f "$VM_SRC/host/CMakeLists.txt" ]; then
		cmake -S "$VM_SRC/host" -B "$hb/build" -DCMAKE_BUILD_TYPE=Release >"$run/host-configure.log" 2>&1 &&
			cmake --build "$hb/build" -j"$JOBS" >"$run/host-build.log" 2>&1 ||
			{ tail -30 "$run/host-build.log" "$run/host-configure.log" >&2; return 1; }
		cp "$(find "$hb/build" -type f -name zpci_vm_verify -perm -u+x | head -n 1)" "$verify"
	elif ls "$VM_SRC"/host/*.cpp >/dev/null 2>&1; then
		g++ -std=c++23 -O2 -Wall -I"$REPO/include" -o "$verify" "$VM_SRC"/host/*.cpp \
			-lrt -pthread >"$run/host-build.log" 2>&1 ||
			{ tail -30 "$run/host-build.log" >&2; return 1; }
	else
		echo "verify: no host verifier sources in tests/vm/host" >&2
		return 1
	fi
	"$verify" --strict "$shm_strict" --ism "$shm_ism" --wide "$shm_wide" --results "$res"
}

# ---------------------------------------------------------------- main
mkdir -p "$run"
rc=0
phase fetch do_fetch || { summary; exit 1; }
phase "qemu build" do_qemu || { summary; exit 1; }
if [ $smoke = 1 ]; then
	phase "kmod build" do_kmod || log "kmod: continuing the smoke run without zpci_io.ko"
else
	phase "kmod build" do_kmod || { summary; exit 1; }
fi
[ $smoke = 1 ] || phase "ism modules" do_ism_modules || { summary; exit 1; }
phase "cross build" do_cross || { summary; exit 1; }
phase initramfs do_initramfs || { summary; exit 1; }
phase "boot+tests" do_boot || rc=1
phase verify do_verify || rc=1
summary
[ $CLI_MISSING = 1 ] && echo "  (note: /zpci/bin/zpci missing: the CLI did not cross-build)"
[ -s "$res/ism-modules.txt" ] && sed 's/^/  guest ism\/smc\/smc_diag: /' "$res/ism-modules.txt"
[ $keep = 1 ] && [ $mode = patched ] && echo "kept: $shm_strict $shm_ism $shm_wide"
if [ $rc -eq 0 ]; then
	echo "vm: PASS ($mode) results in $res"
else
	echo "vm: FAIL ($mode, guest status $GUEST_STATUS) results in $res"
fi
exit $rc
