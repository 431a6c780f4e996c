#!/bin/bash
# `make pkg-check`: the man pages render cleanly, the Debian packages build
# (amd64 and cross s390x) with no lintian error, the s390x packages install
# and build the module by DKMS natively in an s390x userland
# (tests/pkg/native-test.sh), and the s390x test guest loads that
# DKMS-built module and runs the driver's smoke test (kmod/scripts/vm-smoke.sh
# with ZPCI_VM_KO, Debian's stock QEMU).  Each step prints its time.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
export BUILD=${BUILD:-build}
rc=0
run() {
	local name=$1 t0 st
	shift
	t0=$(date +%s)
	"$@"
	st=$?
	echo "pkg-check: $name: $([ $st -eq 0 ] && echo pass || echo FAIL) in $(( $(date +%s) - t0 )) s"
	[ $st -eq 0 ] || rc=1
	return $st
}
guest_smoke() {
	local ko=$BUILD/pkg-native-out/zpci_io.ko
	case $ko in /*) ;; *) ko=$PWD/$ko ;; esac
	scripts/install-deps.sh vm && ZPCI_VM_KO=$ko kmod/scripts/vm-smoke.sh
}
run man scripts/man-check.sh
# ZPCI_PKG_NATIVE=0: man pages, packages and lintian only.  The native
# DKMS test under qemu-user costs 10-20 minutes (its s390x userland 20 more
# on a fresh machine); its result is cached by the hash of its inputs
# (tests/pkg/native-test.sh), so a repeated make check with unchanged
# packages reuses it and only boots the guest with the DKMS-built module.
if [ "${ZPCI_PKG_NATIVE:-1}" = 0 ]; then
	run deb scripts/deb.sh
	exit $rc
fi
run deb scripts/deb.sh &&
	run native-s390x tests/pkg/native-test.sh &&
	run guest-dkms-ko guest_smoke
exit $rc
