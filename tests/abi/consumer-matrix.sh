#!/bin/sh
# SPDX-License-Identifier: MIT
# The consumer matrix: install libzpci into a temporary prefix, then build
# out-of-tree consumers that find it ONLY through pkg-config or
# find_package(zpci), and run each one against the simulated function.
#
#   consumer-matrix.sh BUILD_DIR SOURCE_DIR WORK_DIR
#
# Cells: pkg-config checks (prefix-relative paths, install-time prefix,
# relocation, no libnl in --cflags, -lstdc++ in --static --libs); C11 with
# QEMU's warning flags, shared and -static; the same source as C++17
# (only zpci.h included), shared and -static; a CMake C++17 project
# (find_package(zpci), __cplusplus must stay 201703L, no -std=*23 in its
# compile commands), shared and static targets; a CMake C-only project
# (no C++ flags), shared and static targets; h2's emulator consumer
# (examples/emulator_consumer.c) when it exists.  Env: CC, CXX;
# ZPCI_CONSUMER_NO_SIM=1 for a library built without the simulator.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=$3
CC=${CC:-cc}
CXX=${CXX:-c++}
SPEC=${SPEC:-sim:strict}

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=$work/prefix
log=$work/log
fails=0
cells=0

pass() { cells=$((cells + 1)); printf '  %-58s ok\n' "$1"; }
fail() { cells=$((cells + 1)); fails=$((fails + 1)); printf '  %-58s FAIL\n' "$1"; shift
	 for f in "$@"; do [ -f "$f" ] && sed 's/^/      | /' "$f" | tail -n 30; done; }
# cell NAME CMD...: run CMD, output to a log, pass/fail on its status.
cell() {
	name=$1; shift
	out=$log.$cells
	if "$@" >"$out" 2>&1; then pass "$name"; else fail "$name" "$out"; fi
}

echo "consumer matrix: $build -> $prefix"
cmake --install "$build" --prefix "$prefix" >"$log.install" 2>&1 || {
	cat "$log.install"; exit 1; }
pc=$(find "$prefix" -name zpci.pc -path '*/pkgconfig/*' | head -n1)
[ -n "$pc" ] || { echo "no zpci.pc installed"; exit 1; }
pcdir=$(dirname "$pc")
# Only the temporary prefix: never a system-wide zpci.pc.
PKG_CONFIG_PATH=$pcdir
export PKG_CONFIG_PATH
libdir=$(pkg-config --variable=libdir zpci)
ver=$(sed -n 's/^#define ZPCI_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' \
	"$src/include/zpci/zpci.h" | paste -sd. -)

# --- pkg-config ---
cell "pkg-config: prefix is the install prefix" \
	test "$(pkg-config --variable=prefix zpci)" = "$prefix"
cell "pkg-config: libdir/includedir are \${prefix}-relative" \
	grep -Eq '^libdir=\$\{prefix\}/' "$pc"
cell "pkg-config: --cflags is just -I\${includedir} (no libnl)" \
	test "$(echo $(pkg-config --cflags zpci))" = "-I$prefix/include"
cell "pkg-config: --static --libs has -lstdc++" \
	sh -c 'pkg-config --static --libs zpci | grep -q -- -lstdc++'
cell "pkg-config: --modversion = zpci.h version ($ver)" \
	test "$(pkg-config --modversion zpci)" = "$ver"
cp -a "$prefix" "$work/moved"
cell "pkg-config: relocated tree (--define-prefix)" \
	sh -c "PKG_CONFIG_PATH='$work/moved/${pcdir#"$prefix"/}' pkg-config --define-prefix --variable=libdir zpci | grep -qx '$work/moved/${libdir#"$prefix"/}'"
DESTDIR=$work/destdir cmake --install "$build" --prefix /opt/zpci >"$log.destdir" 2>&1
cell "pkg-config: DESTDIR + --prefix /opt/zpci says /opt/zpci" \
	grep -qx 'prefix=/opt/zpci' "$work/destdir/opt/zpci/${pc#"$prefix"/}"

run_env() { env LD_LIBRARY_PATH="$libdir" "$@"; }
run() {
	if [ "${ZPCI_CONSUMER_NO_SIM:-}" ]; then run_env "$@"; else run_env "$@" "$SPEC"; fi
}

# --- C11 / C++17 through pkg-config ---
QEMU_CFLAGS="-std=gnu11 -Wall -Wextra -Werror -Wundef -Wwrite-strings -Wmissing-prototypes
 -Wstrict-prototypes -Wold-style-definition -Wtype-limits -Wformat-security
 -Wimplicit-fallthrough=2 -Wnested-externs"
CXX17_FLAGS="-std=c++17 -Wall -Wextra -Werror -Wundef -Wwrite-strings -Wtype-limits
 -Wformat-security -Wimplicit-fallthrough=2 -Wmissing-declarations"
consumers="$src/tests/abi/consumer.c"
if [ -f "$src/examples/emulator_consumer.c" ] && [ -z "${ZPCI_CONSUMER_NO_SIM:-}" ]; then
	consumers="$consumers $src/examples/emulator_consumer.c"
fi
for c in $consumers; do
	n=$(basename "$c" .c)
	# shellcheck disable=SC2046,SC2086
	cell "$n: C11 QEMU flags, pkg-config, shared: build" \
		$CC $QEMU_CFLAGS $(pkg-config --cflags zpci) "$c" -o "$work/$n-c11" \
		$(pkg-config --libs zpci)
	cell "$n: C11 shared: uses the installed libzpci.so.1" \
		sh -c "LD_LIBRARY_PATH='$libdir' ldd '$work/$n-c11' | grep -q '$libdir/libzpci.so.1'"
	cell "$n: C11 shared: run" run "$work/$n-c11"
	# shellcheck disable=SC2046,SC2086
	cell "$n: C11 QEMU flags, pkg-config --static, -static: build" \
		$CC $QEMU_CFLAGS -static $(pkg-config --cflags zpci) "$c" -o "$work/$n-c11-static" \
		$(pkg-config --static --libs zpci)
	cell "$n: C11 static: no dynamic section" \
		sh -c "! readelf -d '$work/$n-c11-static' | grep -q NEEDED"
	cell "$n: C11 static: run" run "$work/$n-c11-static"
	# shellcheck disable=SC2046,SC2086
	cell "$n: C++17, only zpci.h, pkg-config, shared: build" \
		$CXX $CXX17_FLAGS $(pkg-config --cflags zpci) -x c++ "$c" -x none -o "$work/$n-cxx17" \
		$(pkg-config --libs zpci)
	cell "$n: C++17 shared: run" run "$work/$n-cxx17"
	# shellcheck disable=SC2046,SC2086
	cell "$n: C++17, pkg-config --static: build" \
		$CXX $CXX17_FLAGS -static $(pkg-config --cflags zpci) -x c++ "$c" -x none \
		-o "$work/$n-cxx17-static" $(pkg-config --static --libs zpci)
	cell "$n: C++17 static: run" run "$work/$n-cxx17-static"
done

# --- CMake consumers: find_package(zpci) only ---
mk_project() {	# DIR LANGS STD_LINES
	mkdir -p "$1"
	cp "$src/tests/abi/consumer.c" "$1/consumer.c"
	cat >"$1/CMakeLists.txt" <<EOT
cmake_minimum_required(VERSION 3.20)
project(zpci_consumer LANGUAGES $2)
$3
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
find_package(zpci 1.0 REQUIRED)
EOT
}
cxxdir=$work/cmake-cxx17
mk_project "$cxxdir" CXX 'set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)'
cat >"$cxxdir/std_check.cpp" <<'EOT'
#include <zpci/zpci.h>
#if __cplusplus != 201703L
#error "the C++ standard of this C++17 project was changed"
#endif
EOT
cat >>"$cxxdir/CMakeLists.txt" <<'EOT'
set_source_files_properties(consumer.c PROPERTIES LANGUAGE CXX)
add_executable(cxx17_shared consumer.c std_check.cpp)
target_link_libraries(cxx17_shared PRIVATE zpci::zpci)
add_executable(cxx17_static consumer.c std_check.cpp)
target_link_libraries(cxx17_static PRIVATE zpci::zpci_static)
EOT
cdir=$work/cmake-c11
mk_project "$cdir" C 'set(CMAKE_C_STANDARD 11)'
cat >>"$cdir/CMakeLists.txt" <<'EOT'
add_executable(c_shared consumer.c)
target_link_libraries(c_shared PRIVATE zpci::zpci)
add_executable(c_static consumer.c)
target_link_libraries(c_static PRIVATE zpci::zpci_static)
EOT
for d in "$cxxdir" "$cdir"; do
	n=$(basename "$d")
	cell "$n: find_package(zpci) configure + build" sh -c \
		"cmake -S '$d' -B '$d/b' -DCMAKE_PREFIX_PATH='$prefix' -DCMAKE_C_COMPILER='$CC' \
		 -DCMAKE_CXX_COMPILER='$CXX' && cmake --build '$d/b'"
done
cell "cmake-cxx17: compile commands say -std=c++17 only" sh -c \
	"grep -o -- '-std=[a-z+0-9]*' '$cxxdir/b/compile_commands.json' | sort -u | grep -qx -- '-std=c++17' &&
	 ! grep -q -- '-std=[a-z+]*2[03b]' '$cxxdir/b/compile_commands.json'"
cell "cmake-c11: compile commands carry no C++ flags" sh -c \
	"! grep -Eq -- '-std=(gnu|c)\+\+|-fno-exceptions|-fvisibility' '$cdir/b/compile_commands.json'"
for e in "$cxxdir/b/cxx17_shared" "$cxxdir/b/cxx17_static" "$cdir/b/c_shared" "$cdir/b/c_static"; do
	cell "$(basename "$(dirname "$(dirname "$e")")")/$(basename "$e"): run" run "$e"
done
cell "cmake-c11/c_static: libzpci linked in, not loaded" sh -c \
	"! LD_LIBRARY_PATH='$libdir' ldd '$cdir/b/c_static' | grep -q libzpci"

echo "consumer matrix: $cells cells, $fails failed"
[ "$fails" -eq 0 ]
