#!/bin/bash
# `make pkg-check`: the man pages render cleanly, the Debian packages build
# (amd64 and cross s390x) with no lintian error, and the s390x packages
# install and build the module by DKMS natively in an s390x userland
# (tests/pkg/native-test.sh).  Each step prints its time.
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
run man scripts/man-check.sh
run deb scripts/deb.sh && run native-s390x tests/pkg/native-test.sh
exit $rc
