#!/bin/bash
# Cross-build the library, tool and unit tests for s390x (big-endian) and
# run the unit tests under qemu-user.  Needs the s390x sysroot of
# tests/vm/fetch.sh and Debian's qemu-user (qemu-s390x).
#   tests/unit/run-s390x.sh [BUILD_DIR] [gtest args...]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build/s390x-unit}
shift || true
command -v qemu-s390x >/dev/null || { echo "run-s390x: qemu-s390x missing (apt-get install qemu-user)" >&2; exit 2; }
SYSROOT=$(readlink -f "${ZPCI_SYSROOT:-${ZPCI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zpci}/s390x-sysroot}")
[ -d "$SYSROOT/usr/lib/s390x-linux-gnu" ] || { echo "run-s390x: no sysroot at $SYSROOT (tests/vm/fetch.sh)" >&2; exit 2; }
cmake -S . -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE=tests/vm/s390x-toolchain.cmake \
	-DZPCI_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" -j2
LIBS="$SYSROOT/usr/lib/s390x-linux-gnu"
wrapper="$(readlink -f "$BUILD")/zpci-qemu.sh"
cat > "$wrapper" <<EOW
#!/bin/sh
exec qemu-s390x -L /usr/s390x-linux-gnu -E LD_LIBRARY_PATH=$LIBS $(readlink -f "$BUILD")/tools/zpci "\$@"
EOW
chmod +x "$wrapper"
exec qemu-s390x -L /usr/s390x-linux-gnu -E LD_LIBRARY_PATH="$LIBS" -E ZPCI_CLI="$wrapper" \
	"$BUILD/tests/zpci_unit_tests" "$@"
