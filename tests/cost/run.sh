#!/bin/bash
# make cost: guest instructions per call, counted by a TCG plugin.
#
# Builds the test QEMU with TCG plugins (tests/vm/build-qemu.sh with
# ZPCI_VM_QEMU_PLUGINS=1, cached), the plugin tests/cost/insn_window.c,
# and the guest programs of tests/cost/CMakeLists.txt (libzpci and
# zpci_cost with the cost markers), then boots the tests/vm guest under
# icount with the plugin and runs tests/cost/cost.sh there.  The host
# checks the plugin against the calibration program (exact counts), takes
# medians per hop and per call, and writes
# build/vm/results/cost/summary.json.  See tests/cost/README.md.
set -euo pipefail
. "$(dirname "$0")/../vm/lib.sh"

B=$ZPCI_VM_DIR/cost
res=$ZPCI_VM_DIR/results/cost
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
	ZPCI_VM_ICOUNT=1 ZPCI_VM_QEMU_PLUGINS=1 ZPCI_VM_RESULTS=cost \
		ZPCI_VM_PLUGIN="$B/insn_window.so,out=$B/markers.log" \
		ZPCI_VM_EXTRA="$B/build/zpci_cost:$B/build/cost-selftest:$REPO/tests/cost/cost.sh" \
		ZPCI_VM_APPEND="zpci.script=/zpci/cost.sh" \
		"$VM_SRC/run.sh" --no-bench
}

do_report() {
	cp "$B/markers.log" "$res/markers.log"
	python3 "$REPO/tests/cost/report.py" "$res/markers.log" --out "$res/summary.json"
}

rc=0
phase "qemu (plugins)" do_qemu || exit 1
phase plugin do_plugin || exit 1
phase "cross build" do_cross || exit 1
phase "boot (tests/vm)" do_boot || rc=1
phase report do_report || rc=1
printf '%s\n' "${PHASE_LOG[@]}"
[ $rc -eq 0 ] && echo "cost: PASS, $res/summary.json" || echo "cost: FAIL (results in $res)"
exit $rc
