#!/bin/bash
# make cost: guest instructions per call, counted by a TCG plugin.
#
# Builds the test QEMU with TCG plugins (tests/vm/build-qemu.sh with
# ZPCI_VM_QEMU_PLUGINS=1, cached), the plugin tests/cost/insn_window.c,
# and the guest programs of tests/cost/CMakeLists.txt (libzpci and
# zpci_cost with the cost markers), then boots the tests/vm guest under
# icount with the plugin and runs tests/cost/cost.sh there; then once
# more on Debian sid's 7.x kernel for zpci_io's raw requests (zpci_io.ko
# built for that kernel, with its markers) and upstream's ism-vfio-pci
# and plain vfio-pci (the peers, tests/peer), one kernel, one boot; then
# the nested e2e under icount for the forwarded/stock instruction ratios
# (its results replace build/vm/results/e2e; a copy goes to
# results/cost/e2e-summary.json).
# ZPCI_COST_PEER=0 and ZPCI_COST_E2E=0 leave the peer boot and the e2e
# out (for measuring a change to zpci_io or libzpci alone).  The host
# checks the plugin against the calibration program (exact counts), takes
# medians per hop and per call, and writes
# build/vm/results/cost/summary.json.  See tests/cost/README.md.
#
# tests/cost/run.sh --e2e (make cost-e2e): one L2 PCISTB of the nested
# e2e, hop by hop, in L0 instructions instead: the same QEMU and plugin,
# then tests/e2e/run.sh in cost mode (ZPCI_E2E_COST: the L1 QEMU built
# with tests/cost/qemu-markers.patch and libzpci's markers, zpci_io with
# its markers, L2 running ZPCI_COST_E2E_N (default 1001) 128-byte
# PCISTBs on the forwarded strict function and as many on its stock
# copy instead of the timed rounds), then e2e_hops.py:
# build/vm/results/cost-e2e/summary.json.
set -euo pipefail
. "$(dirname "$0")/../vm/lib.sh"

E2E_HOPS=0
case "${1:-}" in
'') ;;
--e2e) E2E_HOPS=1 ;;
*) echo "tests/cost/run.sh: unknown argument '$1' (only --e2e)" >&2; exit 2 ;;
esac
B=$ZPCI_VM_DIR/cost
res=$ZPCI_VM_DIR/results/cost
[ $E2E_HOPS = 0 ] || res=$ZPCI_VM_DIR/results/cost-e2e
mkdir -p "$B"

do_qemu() {
	QEMU=$(ZPCI_VM_QEMU_PLUGINS=1 "$VM_SRC/build-qemu.sh") || return 1
	[ -f "$(dirname "$QEMU")/qemu-plugin.h" ] || { log "no qemu-plugin.h next to $QEMU"; return 1; }
}

do_plugin() {
	# shellcheck disable=SC2046 # pkg-config's words
	gcc -O2 -Wall -Wextra -shared -fPIC -I"$(dirname "$QEMU")" \
		$(pkg-config --cflags glib-2.0) -o "$B/insn_window.so" \
		"$REPO/tests/cost/insn_window.c"
}

do_cross() {
	cmake -S "$REPO/tests/cost" -B "$B/build" -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_TOOLCHAIN_FILE="$VM_SRC/s390x-toolchain.cmake" >"$B/configure.log" 2>&1 ||
		{ tail -20 "$B/configure.log" >&2; return 1; }
	cmake --build "$B/build" -j"${ZPCI_JOBS:-2}" >"$B/build.log" 2>&1 ||
		{ grep -E 'error|Error' "$B/build.log" | head -20 >&2; return 1; }
}

do_boot() {
	rm -f "$B/markers.log"
	# zpci_io.ko with its cost markers (kmod/Kbuild: ZPCI_COST=y)
	MAKEFLAGS="ZPCI_COST=y" \
	ZPCI_VM_ICOUNT=1 ZPCI_VM_QEMU_PLUGINS=1 ZPCI_VM_RESULTS=cost \
		ZPCI_VM_PLUGIN="$B/insn_window.so,out=$B/markers.log" \
		ZPCI_VM_EXTRA="$B/build/zpci_cost:$B/build/cost-selftest:$REPO/tests/cost/cost.sh:$REPO/tests/cost/quiet.sh" \
		ZPCI_VM_APPEND="zpci.script=/zpci/cost.sh" \
		"$VM_SRC/run.sh" --no-bench
}

# the peers on Debian sid's 7.x kernel (upstream's ism-vfio-pci needs it),
# built as make peer-bench builds them (tests/peer/build-peer.sh, cached)
do_peer() {
	local peer_env vm7=$REPO/build/vm7
	peer_env=$("$REPO/tests/peer/build-peer.sh") || return 1
	rm -f "$B/markers-peer.log"
	(
		eval "$peer_env"
		# shellcheck disable=SC1090
		. "$ZPCI_PEER_KENVFILE"
		export ZPCI_VM_KENV=$ZPCI_PEER_KENV ZPCI_VM_DIR=$vm7
		export KCC=$REPO/kmod/scripts/s390x-gcc-compat
		# zpci_io.ko for this kernel as make vm7-check builds it, plus
		# its cost markers (ZPCI_COST=y)
		export MAKEFLAGS="MODPOST=$ZPCI_MODPOST KCFLAGS=-fno-stack-protector CONFIG_DEBUG_INFO_BTF_MODULES= ZPCI_COST=y"
		ZPCI_VM_ICOUNT=1 ZPCI_VM_QEMU_PLUGINS=1 ZPCI_VM_RESULTS=cost-peer \
			ZPCI_VM_PLUGIN="$B/insn_window.so,out=$B/markers-peer.log" \
			ZPCI_VM_EXTRA="$B/build/zpci_cost:$B/build/cost-selftest:$ZPCI_ISM_KO:$REPO/tests/cost/cost.sh:$REPO/tests/cost/quiet.sh" \
			ZPCI_VM_APPEND="zpci.script=/zpci/cost.sh zpci.cost=peer" \
			"$VM_SRC/run.sh" --no-bench
	) || return 1
	PEER_RES=$vm7/results/cost-peer
}

# the nested e2e under icount: its forwarded/stock 4 KiB ratios are then
# ratios of L0 guest instructions (ZPCI_COST_E2E=0 leaves it out)
do_e2e() {
	ZPCI_VM_ICOUNT=1 "$REPO/tests/e2e/run.sh" || return 1
	cp "$ZPCI_VM_DIR/results/e2e/summary.json" "$res/e2e-summary.json"
}

do_report() {
	# this run's logs only: a boot that wrote none leaves its figures
	# missing (report.py fails), never last run's
	rm -f "$res/markers-peer.log" "$res/cost-peer.txt"
	cp "$B/markers.log" "$res/markers.log"
	local e2e=() peer=()
	[ -s "$res/e2e-summary.json" ] && e2e=(--e2e "$res/e2e-summary.json")
	if [ "${ZPCI_COST_PEER:-1}" = 1 ]; then
		cp "$B/markers-peer.log" "$res/markers-peer.log" 2>/dev/null || true
		[ -z "${PEER_RES:-}" ] || cp "$PEER_RES/cost.txt" "$res/cost-peer.txt" 2>/dev/null || true
		peer=(--peer "$res/markers-peer.log" --peer-text "$res/cost-peer.txt")
	fi
	python3 "$REPO/tests/cost/report.py" "$res/markers.log" --text "$res/cost.txt" \
		"${peer[@]}" --stats "$res/stats-emu.json" "${e2e[@]}" \
		--out "$res/summary.json"
}

# make cost-e2e: the nested e2e in cost mode under the plugin
E2E_N=${ZPCI_COST_E2E_N:-1001}
do_e2e_hops() {
	rm -f "$B/markers-e2e.log"
	rm -rf "$res"
	mkdir -p "$res"
	ZPCI_VM_ICOUNT=1 ZPCI_VM_QEMU_PLUGINS=1 ZPCI_E2E_COST=$E2E_N \
		ZPCI_VM_RESULTS=cost-e2e/e2e \
		ZPCI_VM_PLUGIN="$B/insn_window.so,out=$B/markers-e2e.log" \
		"$REPO/tests/e2e/run.sh"
}

do_e2e_report() {
	local con=$res/e2e/e2e/l2-console.log
	[ -s "$B/markers-e2e.log" ] || { log "no marker log ($B/markers-e2e.log)"; return 1; }
	gzip -c "$B/markers-e2e.log" >"$res/markers.log.gz"
	python3 "$REPO/tests/cost/e2e_hops.py" "$B/markers-e2e.log" --console "$con" \
		--n "$E2E_N" --clock "$res/e2e/clock.txt" --out "$res/summary.json"
}

rc=0
case "$E2E_N" in ''|*[!0-9]*) die "ZPCI_COST_E2E_N must be a number" ;; esac
phase "qemu (plugins)" do_qemu || exit 1
phase plugin do_plugin || exit 1
if [ $E2E_HOPS = 1 ]; then
	phase "e2e (cost mode)" do_e2e_hops || rc=1
	phase report do_e2e_report || rc=1
	printf '%s\n' "${PHASE_LOG[@]}"
	[ $rc -eq 0 ] && echo "cost-e2e: PASS, $res/summary.json" ||
		echo "cost-e2e: FAIL (results in $res)"
	exit $rc
fi
phase "cross build" do_cross || exit 1
phase "boot (tests/vm)" do_boot || rc=1
# ZPCI_COST_PEER=0 leaves the 7.x peer boot out (the peers' figures are
# then absent from summary.json; for measuring changes to zpci_io alone)
if [ "${ZPCI_COST_PEER:-1}" = 1 ]; then
	phase "boot (peers, 7.x)" do_peer || rc=1
else
	rm -f "$B/markers-peer.log" "$res/markers-peer.log" "$res/cost-peer.txt"
fi
rm -f "$res/e2e-summary.json"
if [ "${ZPCI_COST_E2E:-1}" = 1 ]; then
	phase "e2e (icount)" do_e2e || rc=1
fi
phase report do_report || rc=1
printf '%s\n' "${PHASE_LOG[@]}"
[ $rc -eq 0 ] && echo "cost: PASS, $res/summary.json" || echo "cost: FAIL (results in $res)"
exit $rc
