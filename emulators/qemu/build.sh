#!/bin/bash
# Cross-build qemu-system-s390x for an s390x host (to run inside the s390x
# test guest) from the newest QEMU source the Debian archive serves, plus the
# patch series in emulators/qemu/patches/, linked with libzpci (cross-built
# from this checkout, found by meson through pkg-config).
#
#   emulators/qemu/build.sh [--without-zpci] [--sanitize] [--native] [--cost] [--jobs N]
#
# --without-zpci builds the same patched source with libzpci absent
# (-Dzpci=auto, nothing to find): proves the dependency is optional.
# --sanitize adds AddressSanitizer and UndefinedBehaviorSanitizer
# (--enable-asan --enable-ubsan; the runtimes come from Debian's s390x
# cross toolchain and go into lib/ with the rest): make e2e-san-check.
# --native builds the same source for this host instead (s390x-softmmu,
# libzpci built for the host) with the series' qtest
# (tests/qtest/s390x-zpci-test), runs that qtest once through QEMU's own
# `meson test` before the result is cached, and keeps next to the binary
# the qtest executable and lib/libzpci.so.1: make qemu-qtest
# (emulators/qemu/qtest.sh).
# --cost is make cost-e2e's L1 QEMU (tests/cost/run.sh --e2e): libzpci
# compiled with -DZPCI_COST_MARKERS and tests/cost/qemu-markers.patch
# applied after the series (markers in QEMU's PCISTB path; the series
# itself is unchanged), cached as its own variant (zpci-cost).
#
# Prints the path of the binary on stdout; progress and phase times go to
# stderr.  The result is cached in
#   ${ZPCI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zpci}/qemu-e2e/<key>/
# where <key> hashes every input: QEMU source version, the Debian patches
# used, the patch series, libzpci's sources, CMake and configure arguments,
# compiler and meson versions, the sysroot packages.  Concurrent runs serialise on a flock per
# key; a build happens in a temp dir renamed into place.  Next to the binary:
# NEEDED (its direct shared libraries), lib/ (all of them, recursively, and
# the loader: run it as lib/ld64.so.1 --library-path lib qemu-system-s390x),
# build-info.txt.
# The whole script is one compound command, read before it runs: editing
# the file while a build is running cannot derail that build.
{
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
: "${ZPCI_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/zpci}"
export ZPCI_CACHE
. "$REPO/tests/vm/lib.sh"
log() { printf '[qemu-e2e %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[qemu-e2e] ERROR: %s\n' "$*" >&2; exit 1; }

WITH_ZPCI=1
WITH_SAN=0
NATIVE=0
WITH_COST=0
JOBS=${ZPCI_JOBS:-2}
while [ $# -gt 0 ]; do
	case $1 in
	--without-zpci) WITH_ZPCI=0 ;;
	--sanitize) WITH_SAN=1 ;;
	--native) NATIVE=1 ;;
	--cost) WITH_COST=1 ;;
	--jobs) JOBS=$2; shift ;;
	-h|--help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
	shift
done
[ $NATIVE = 1 ] && [ $WITH_SAN = 1 ] && die "--native and --sanitize: not together"
if [ $WITH_COST = 1 ] && { [ $WITH_ZPCI = 0 ] || [ $NATIVE = 1 ] || [ $WITH_SAN = 1 ]; }; then
	die "--cost: not with --without-zpci, --native or --sanitize"
fi
COST_PATCH=$REPO/tests/cost/qemu-markers.patch

# The series is written against this upstream release line; older sources
# are not tried.
QEMU_MIN=10.2
DEBIAN_PATCHES=(disable-pycotap.patch skip-install-dtb.patch)
SYSROOT_SUITE=bookworm
MESON_SUITE=bookworm-backports
SYSROOT_PKGS=(libglib2.0-dev libglib2.0-0 libffi-dev libffi8 libmount-dev
	libmount1 libblkid-dev libblkid1 uuid-dev libuuid1 libselinux1-dev
	libselinux1 libsepol-dev libsepol2 libpcre2-dev libpcre2-8-0
	libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 zlib1g zlib1g-dev)
TOP=$ZPCI_CACHE/qemu-e2e
mkdir -p "$TOP"

PHASES=()
t_start=$(date +%s.%N)
ptime() {	# ptime NAME T0: record the phase time since T0
	local dt
	dt=$(awk -v a="$2" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	PHASES+=("$(printf '%-10s %7s s' "$1" "$dt")")
	log "phase $1: $dt s"
}
report() {
	local p
	for p in "${PHASES[@]}"; do log "  $p"; done
}

# --- phase fetch: QEMU source, meson, sysroot packages (all cached) ------
# Resolving ~23 packages against the indexes costs ~40 s; the answer is
# kept in $TOP/.resolved and reused while the index files are unchanged
# (same size and mtime) and every file it names is still there.
t0=$(date +%s.%N)
RESOLVED=$TOP/.resolved
index_sig() {
	local f
	for f in "$DEB_DIR"/index/bookworm_s390x_Packages \
		"$DEB_DIR"/index/${MESON_SUITE}_amd64_Packages \
		"$DEB_DIR"/index/*_source_Sources; do
		stat -c '%n %s %Y' "$f" 2>/dev/null || echo "missing $f"
	done | sha256sum | cut -c1-16
	printf '%s\n' "${SYSROOT_PKGS[@]}" "$QEMU_MIN" | sha256sum | cut -c1-16
}
resolved=()
if [ -s "$RESOLVED" ] && [ "$(head -2 "$RESOLVED")" = "$(index_sig)" ]; then
	mapfile -t resolved < <(tail -n +3 "$RESOLVED")
	for f in "${resolved[@]:2}"; do
		[ -s "$f" ] || { resolved=(); break; }
	done
fi
if [ ${#resolved[@]} -gt 0 ]; then
	IFS=$'\t' read -r qver qorig qdebian <<<"${resolved[0]}"
	meson_deb=${resolved[4]}
	sysroot_debs=("${resolved[@]:5}")
	log "QEMU source $qver, packages as resolved before (indexes unchanged)"
else
	IFS=$'\t' read -r qver qorig qdebian < <("$HERE/fetch-source.sh" "$QEMU_MIN") ||
		die "cannot fetch the QEMU source"
	log "QEMU source $qver ($(basename "$qorig"))"
	meson_deb=$(deb_fetch "$MESON_SUITE" amd64 meson)
	sysroot_debs=()
	for p in "${SYSROOT_PKGS[@]}"; do
		sysroot_debs+=("$(deb_fetch "$SYSROOT_SUITE" s390x "$p")")
	done
	tmp=$(mktemp "$RESOLVED.XXXXXX")
	{
		index_sig
		printf '%s\t%s\t%s\n' "$qver" "$qorig" "$qdebian"
		printf '%s\n' "$qver" "$qorig" "$qdebian" "$meson_deb" "${sysroot_debs[@]}"
	} >"$tmp"
	mv -f "$tmp" "$RESOLVED"
fi
ptime fetch "$t0"

# meson >= 1.5 (QEMU 10.2 needs it; bookworm has 1.0)
MESON_DIR=$TOP/meson
deb_unpack "$meson_deb" "$MESON_DIR"
export PYTHONPATH=$MESON_DIR/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}
export PATH=$MESON_DIR/usr/bin:$PATH
meson_ver=$(meson --version)
case $(printf '%s\n1.5.0\n' "$meson_ver" | sort -V | head -1) in
1.5.0) ;;
*) die "meson $meson_ver from $(basename "$meson_deb") is older than 1.5" ;;
esac

# --- sysroot: the s390x -dev packages, usr-merged, symlinks fixed --------
t0=$(date +%s.%N)
sr_key=$( { printf '%s\n' "${sysroot_debs[@]##*/}"; echo usrmerge-1; } |
	sha256sum | cut -c1-12)
SYSROOT=$TOP/sysroot-$sr_key
# the native build uses the host's own -dev packages
if [ $NATIVE = 0 ] && [ ! -d "$SYSROOT" ]; then
	tmp=$(mktemp -d "$SYSROOT.XXXXXX.part")
	for d in "${sysroot_debs[@]}"; do
		dpkg -x "$d" "$tmp"
	done
	if [ -d "$tmp/lib" ] && [ ! -L "$tmp/lib" ]; then
		mkdir -p "$tmp/usr/lib"
		cp -a "$tmp/lib/." "$tmp/usr/lib/"
		rm -rf "$tmp/lib"
		ln -s usr/lib "$tmp/lib"
	fi
	# the packages' absolute links (libz.so -> /lib/...) into the sysroot;
	# the final path is used, so the link stays right after the rename
	find "$tmp" -type l -lname '/*' | while read -r l; do
		t=$(readlink "$l")
		t=${t#/}
		case $t in lib/*) t=usr/$t ;; esac
		ln -sfn "$SYSROOT/$t" "$l"
	done
	mv -T "$tmp" "$SYSROOT" 2>/dev/null || rm -rf "$tmp"
fi
ptime sysroot "$t0"

# --- the cache key ------------------------------------------------------
# a snapshot of the series: the key and the build see the same patches
# even if the directory changes meanwhile
shopt -s nullglob
SNAP=$(mktemp -d "$TOP/.series.XXXXXX")
trap 'rm -rf "$SNAP"' EXIT
src_patches=("$HERE"/patches/*.patch)
[ ${#src_patches[@]} -gt 0 ] || die "no patches in $HERE/patches"
cp "${src_patches[@]}" "$SNAP/"
patches=("$SNAP"/*.patch)
if [ $WITH_COST = 1 ]; then
	# after the series, outside it (its snapshot is not in $SNAP/*.patch)
	mkdir "$SNAP/cost"
	cp "$COST_PATCH" "$SNAP/cost/"
	patches+=("$SNAP/cost/$(basename "$COST_PATCH")")
fi
ZPCI_CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Release -DZPCI_BUILD_TESTS=OFF
	-DZPCI_BUILD_BENCH=OFF -DZPCI_BUILD_TOOLS=OFF -DZPCI_BUILD_EXAMPLES=OFF)
# options that exist in this checkout's CMakeLists.txt only (h3's static
# core without libnl/Boost)
for opt in ZPCI_WITH_NETLINK ZPCI_WITH_SIM; do
	grep -q "option($opt\b" "$REPO/CMakeLists.txt" &&
		ZPCI_CMAKE_ARGS+=("-D$opt=OFF")
done
CFG=(--cross-prefix=s390x-linux-gnu- --target-list=s390x-softmmu
	--without-default-features --enable-tcg --disable-docs
	--disable-install-blobs --disable-download --disable-fdt
	--disable-werror --python=/usr/bin/python3
	--enable-stack-protector)
# --without-default-features turns meson's auto stack_protector off; the L1
# QEMU runs guest-controlled input, so it gets one, and configure fails if
# the cross compiler cannot provide it
if [ $WITH_ZPCI = 1 ]; then
	CFG+=(--enable-zpci)
	variant=zpci
else
	CFG+=(-Dzpci=auto)
	variant=stock
fi
if [ $WITH_COST = 1 ]; then
	variant=$variant-cost
fi
if [ $WITH_SAN = 1 ]; then
	CFG+=(--enable-asan --enable-ubsan)
	variant=$variant-san
fi
QTEST=s390x-zpci-test
if [ $NATIVE = 1 ]; then
	# for this host: no cross prefix, and the stack protector check
	# below reads s390x binaries only
	cfg=()
	for c in "${CFG[@]}"; do
		case $c in
		--cross-prefix=*|--enable-stack-protector) ;;
		*) cfg+=("$c") ;;
		esac
	done
	CFG=("${cfg[@]}")
	variant=native-$variant
fi
zpci_src_hash() {
	(cd "$REPO" && find CMakeLists.txt cmake include libzpci -type f \
		\( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.txt' \
		-o -name '*.cmake' -o -name '*.in' \) -print0 | sort -z |
		xargs -0 sha256sum | sha256sum | cut -c1-16)
}
# bump when a change of this script changes what it builds
RECIPE=2
key_inputs() {
	echo "recipe $RECIPE"
	echo "qemu $qver"
	echo "debian patches ${DEBIAN_PATCHES[*]}"
	echo "variant $variant"
	(cd "$SNAP" && sha256sum -- *.patch)
	[ $WITH_COST = 0 ] || (cd "$SNAP/cost" && echo "cost markers: libzpci -DZPCI_COST_MARKERS" &&
		sha256sum -- *.patch)
	echo "cfg ${CFG[*]}"
	if [ $WITH_ZPCI = 1 ]; then
		echo "libzpci $(zpci_src_hash)"
		echo "cmake ${ZPCI_CMAKE_ARGS[*]}"
		[ $NATIVE = 1 ] ||
			sha256sum "$REPO/tests/vm/s390x-toolchain.cmake" | cut -c1-16
		s390x-linux-gnu-g++ --version | head -1
	fi
	s390x-linux-gnu-gcc --version | head -1
	echo "meson $meson_ver"
	if [ $NATIVE = 1 ]; then
		# bump when a change of the native steps changes what they give
		echo "native recipe 1"
		# the host's compilers and -dev packages instead of the sysroot
		gcc --version | head -1
		g++ --version | head -1
		echo "glib $(pkg-config --modversion glib-2.0)"
	else
		echo "sysroot $sr_key"
	fi
}
key=$(key_inputs | sha256sum | cut -c1-16)
tag=$(echo "${qver#*:}" | tr '~+:' '___')-$variant-$key
OUT=$TOP/$tag
BIN=$OUT/qemu-system-s390x

exec 9>"$TOP/.lock-$tag"
flock 9
if [ -x "$BIN" ]; then
	log "cached: $BIN"
	touch "$OUT"	# used: the pruning below keeps it a while
	ptime total "$t_start"
	report
	echo "$BIN"
	exit 0
fi

WORK=$(mktemp -d "$TOP/.build-$tag.XXXXXX")
# ZPCI_QEMU_KEEP_FAILED=1 keeps the work tree of a failed build to look at
cleanup() {
	local rc=$?
	rm -rf "$SNAP"
	if [ $rc -ne 0 ] && [ "${ZPCI_QEMU_KEEP_FAILED:-0}" = 1 ]; then
		log "failed; work tree kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
key_inputs >"$WORK/key-inputs.txt"

# --- phase libzpci: cross-build, install into a per-build sysroot --------
# The per-build sysroot is a hard-link copy of the cached one, so that
# pkg-config (PKG_CONFIG_SYSROOT_DIR) finds glib and libzpci the same way.
t0=$(date +%s.%N)
WS=$WORK/sysroot
if [ $NATIVE = 1 ]; then
	mkdir -p "$WS"
else
	cp -al "$SYSROOT" "$WS"
fi
if [ $WITH_ZPCI = 1 ] && [ $NATIVE = 1 ]; then
	# for this host, installed under $WS (its zpci.pc names that prefix)
	log "libzpci: building for this host from $REPO"
	cmake -S "$REPO" -B "$WORK/zpci-build" -G Ninja \
		-DCMAKE_INSTALL_PREFIX="$WS/usr" -DCMAKE_INSTALL_LIBDIR=lib \
		"${ZPCI_CMAKE_ARGS[@]}" >"$WORK/zpci-cmake.log" 2>&1 ||
		{ tail -30 "$WORK/zpci-cmake.log" >&2; die "libzpci cmake failed"; }
	cmake --build "$WORK/zpci-build" -j"$JOBS" >"$WORK/zpci-build.log" 2>&1 ||
		{ grep -m5 -A8 'error' "$WORK/zpci-build.log" >&2 ||
		  tail -40 "$WORK/zpci-build.log" >&2; die "libzpci build failed"; }
	cmake --install "$WORK/zpci-build" >"$WORK/zpci-install.log" 2>&1 ||
		{ tail -20 "$WORK/zpci-install.log" >&2; die "libzpci install failed"; }
	[ -s "$WS/usr/lib/pkgconfig/zpci.pc" ] || die "libzpci installed no zpci.pc"
	ptime libzpci "$t0"
elif [ $WITH_ZPCI = 1 ]; then
	# the toolchain file wants libnl & co (tests/vm/fetch.sh) as long as
	# this checkout's libzpci cannot be built without them
	if grep -q "option(ZPCI_WITH_NETLINK\b" "$REPO/CMakeLists.txt"; then
		export ZPCI_SYSROOT=$SYSROOT
	else
		ZPCI_SYSROOT=$("$REPO/tests/vm/fetch.sh") || die "tests/vm/fetch.sh failed"
		export ZPCI_SYSROOT
	fi
	log "libzpci: cross-building from $REPO"
	# --cost: the markers of include/zpci/zpci_cost.h (CXXFLAGS goes in
	# before the toolchain file's CMAKE_CXX_FLAGS_INIT)
	cost_flags=
	[ $WITH_COST = 0 ] || cost_flags=-DZPCI_COST_MARKERS
	CXXFLAGS="${CXXFLAGS:-} $cost_flags" CFLAGS="${CFLAGS:-} $cost_flags" \
	cmake -S "$REPO" -B "$WORK/zpci-build" -G Ninja \
		-DCMAKE_TOOLCHAIN_FILE="$REPO/tests/vm/s390x-toolchain.cmake" \
		-DCMAKE_INSTALL_PREFIX=/usr "${ZPCI_CMAKE_ARGS[@]}" \
		>"$WORK/zpci-cmake.log" 2>&1 ||
		{ tail -30 "$WORK/zpci-cmake.log" >&2; die "libzpci cmake failed"; }
	cmake --build "$WORK/zpci-build" -j"$JOBS" >"$WORK/zpci-build.log" 2>&1 ||
		{ grep -m5 -A8 'error' "$WORK/zpci-build.log" >&2 ||
		  tail -40 "$WORK/zpci-build.log" >&2; die "libzpci build failed"; }
	DESTDIR=$WS cmake --install "$WORK/zpci-build" >"$WORK/zpci-install.log" 2>&1 ||
		{ tail -20 "$WORK/zpci-install.log" >&2; die "libzpci install failed"; }
	[ -n "$(find "$WS/usr" -name zpci.pc)" ] || die "libzpci installed no zpci.pc"
	ptime libzpci "$t0"
fi
PKGDIRS=$WS/usr/lib/s390x-linux-gnu/pkgconfig:$WS/usr/lib/pkgconfig:$WS/usr/share/pkgconfig

# --- phase qemu: unpack, patch, configure, build ------------------------
t0=$(date +%s.%N)
log "qemu: unpacking $(basename "$qorig")"
mkdir -p "$WORK/src"
tar -xf "$qorig" -C "$WORK/src" --strip-components=1
mkdir -p "$WORK/debian"
tar -xf "$qdebian" -C "$WORK/debian"
# Debian's build-environment patches only (not its distribution changes):
# the +ds tarball ships no python wheels (pycotap, for the functional tests
# only, cannot be found offline) and no prebuilt dtb blobs
for p in "${DEBIAN_PATCHES[@]}"; do
	patch -d "$WORK/src" -p1 --no-backup-if-mismatch -s -f \
		<"$WORK/debian/debian/patches/$p" >"$WORK/patch.log" 2>&1 ||
		{ cat "$WORK/patch.log" >&2; die "Debian's $p does not apply to $qver"; }
done
for p in "${patches[@]}"; do
	patch -d "$WORK/src" -p1 --no-backup-if-mismatch -s -f <"$p" >"$WORK/patch.log" 2>&1 ||
		{ cat "$WORK/patch.log" >&2; die "$(basename "$p") does not apply to $qver"; }
done
ptime unpack "$t0"

t0=$(date +%s.%N)
export PKG_CONFIG=pkg-config
mkdir -p "$WORK/src/build"
if [ $NATIVE = 1 ]; then
	# the host's glib & co, and libzpci from $WS; no ccache (a cold
	# build is a cold build, and its objects would fill ~/.cache)
	export PKG_CONFIG_PATH=$WS/usr/lib/pkgconfig
	export CCACHE_DISABLE=1
	(cd "$WORK/src/build" && ../configure "${CFG[@]}" \
		>"$WORK/configure.log" 2>&1) ||
		{ tail -40 "$WORK/configure.log" >&2; die "qemu configure failed"; }
else
	export PKG_CONFIG_LIBDIR=$PKGDIRS
	export PKG_CONFIG_SYSROOT_DIR=$WS
	export PKG_CONFIG_PATH=
	libs=$WS/usr/lib/s390x-linux-gnu
	(cd "$WORK/src/build" && ../configure "${CFG[@]}" \
		--extra-cflags="-isystem $WS/usr/include" \
		--extra-ldflags="-L$libs -Wl,-rpath-link,$libs" \
		>"$WORK/configure.log" 2>&1) ||
		{ tail -40 "$WORK/configure.log" >&2; die "qemu configure failed"; }
fi
grep -F "zPCI I/O (libzpci)" "$WORK/configure.log" >&2 || true
ptime configure "$t0"

t0=$(date +%s.%N)
targets=(qemu-system-s390x)
[ $NATIVE = 1 ] && targets+=("tests/qtest/$QTEST")
log "qemu: building ${targets[*]} (-j$JOBS)"
(cd "$WORK/src/build" && ninja -j"$JOBS" "${targets[@]}" >"$WORK/build.log" 2>&1) ||
	{ grep -B2 -A12 -m3 'error' "$WORK/build.log" >&2 || tail -40 "$WORK/build.log" >&2
	  die "qemu build failed"; }
ptime build "$t0"

# meson writes "#define CONFIG_ZPCI_IO" or "#undef CONFIG_ZPCI_IO"
if [ $WITH_ZPCI = 1 ]; then
	grep -qE '^#define CONFIG_ZPCI_IO( |$)' "$WORK/src/build/config-host.h" ||
		die "configure did not enable CONFIG_ZPCI_IO"
else
	grep -qE '^#undef CONFIG_ZPCI_IO( |$)' "$WORK/src/build/config-host.h" ||
		die "the without-zpci build did not disable CONFIG_ZPCI_IO"
fi

mkdir -p "$WORK/out/lib"
if [ $NATIVE = 1 ]; then
	# the qtest's guest program: the committed header holds exactly what
	# the committed source builds to (Debian's s390x cross gcc)
	t0=$(date +%s.%N)
	gdir=$WORK/src/tests/qtest/s390x-zpci
	make -s -C "$gdir" CROSS_PREFIX=s390x-linux-gnu- zpci-clp.elf \
		>"$WORK/guest.log" 2>&1 ||
		{ cat "$WORK/guest.log" >&2; die "the qtest's guest program does not build"; }
	python3 - "$gdir/zpci-clp.h" "$gdir/zpci-clp.elf" <<'PY' ||
import re, sys
h = open(sys.argv[1]).read()
want = bytes(int(x, 16) for x in
             re.findall(r'0x([0-9a-fA-F]{2})', h[h.index('{'):h.rindex('}')]))
sys.exit(want != open(sys.argv[2], 'rb').read())
PY
		die "tests/qtest/s390x-zpci/zpci-clp.h is not what zpci-clp.c builds to"
	ptime guest "$t0"

	# the qtest through QEMU's own test runner, as it is registered
	t0=$(date +%s.%N)
	[ $WITH_ZPCI = 1 ] && cp -L "$WS/usr/lib/libzpci.so.1" "$WORK/out/lib/"
	(cd "$WORK/src/build" && LD_LIBRARY_PATH=$WORK/out/lib \
		meson test --no-rebuild --print-errorlogs "qtest-s390x/$QTEST" \
		>"$WORK/meson-test.log" 2>&1) ||
		{ tail -40 "$WORK/meson-test.log" >&2; die "meson test $QTEST failed"; }
	grep -E '^ *Ok: +1 *$' "$WORK/meson-test.log" >/dev/null ||
		{ cat "$WORK/meson-test.log" >&2; die "meson test ran no $QTEST"; }
	cp "$WORK/meson-test.log" "$WORK/src/build/meson-logs/testlog.txt" "$WORK/out/" 2>/dev/null || true
	ptime meson-test "$t0"

	# QEMU's own checkpatch on every patch of the series: an error fails
	# the build, warnings are kept in checkpatch.txt
	t0=$(date +%s.%N)
	cp_err=0
	for p in "${patches[@]}"; do
		echo "== $(basename "$p")"
		"$WORK/src/scripts/checkpatch.pl" --no-signoff -q "$p" 2>&1 || cp_err=1
	done >"$WORK/out/checkpatch.txt"
	[ $cp_err = 0 ] ||
		{ cat "$WORK/out/checkpatch.txt" >&2; die "QEMU's checkpatch.pl: errors in the series"; }
	log "checkpatch: $(grep -c '^WARNING' "$WORK/out/checkpatch.txt" || true) warning(s), no error, ${#patches[@]} patches"
	ptime checkpatch "$t0"

	strip -o "$WORK/out/qemu-system-s390x" "$WORK/src/build/qemu-system-s390x"
	strip -o "$WORK/out/$QTEST" "$WORK/src/build/tests/qtest/$QTEST"
	readelf -d "$WORK/out/qemu-system-s390x" |
		sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' >"$WORK/out/NEEDED"
else
# the stack protector is in (configure asked for it): its failure handler
# is linked
# (not `readelf | grep -q`: under pipefail, grep's early exit fails readelf)
dynsyms=$(s390x-linux-gnu-readelf -W --dyn-syms "$WORK/src/build/qemu-system-s390x")
[[ $dynsyms == *__stack_chk_fail* ]] ||
	die "qemu-system-s390x was built without a stack protector"
s390x-linux-gnu-strip -o "$WORK/out/qemu-system-s390x" "$WORK/src/build/qemu-system-s390x"
needed() {
	s390x-linux-gnu-readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}
needed "$WORK/out/qemu-system-s390x" >"$WORK/out/NEEDED"
# every shared library it needs, recursively, with the loader: the guest
# runs it as lib/ld64.so.1 --library-path lib qemu-system-s390x
todo=(ld64.so.1 $(cat "$WORK/out/NEEDED"))
while [ ${#todo[@]} -gt 0 ]; do
	l=${todo[0]}
	todo=("${todo[@]:1}")
	[ -e "$WORK/out/lib/$l" ] && continue
	f=""
	for d in "$WS/usr/lib/s390x-linux-gnu" "$WS/usr/lib" /usr/s390x-linux-gnu/lib; do
		[ -e "$d/$l" ] && { f=$d/$l; break; }
	done
	[ -n "$f" ] || die "runtime library $l not found"
	cp -L "$f" "$WORK/out/lib/$l"
	[ "$l" = ld64.so.1 ] || todo+=($(needed "$WORK/out/lib/$l"))
done
fi
{
	echo "variant: $variant"
	echo "qemu: $qver"
	echo "size: $(stat -c %s "$WORK/out/qemu-system-s390x") bytes (stripped)"
	echo "NEEDED: $(tr '\n' ' ' <"$WORK/out/NEEDED")"
	echo "lib/: $(ls "$WORK/out/lib" | tr '\n' ' ')($(du -sk "$WORK/out/lib" | cut -f1) KiB)"
	echo "phases:"
	printf '  %s\n' "${PHASES[@]}"
	echo "inputs:"
	sed 's/^/  /' "$WORK/key-inputs.txt"
} >"$WORK/out/build-info.txt"
rm -rf "$OUT"
mv -T "$WORK/out" "$OUT"
log "built $BIN ($(stat -c %s "$BIN") bytes, NEEDED: $(tr '\n' ' ' <"$OUT/NEEDED"))"
# older builds of the same variant are of no use to this clone; another
# clone (other inputs) may be about to run one it just built or used, so
# only those unused for 2 hours go, and never one whose lock is held
# (exactly this variant: <version>-zpci-<key> is not <version>-native-zpci-<key>)
for d in "$TOP"/*-"$variant"-*/; do
	d=${d%/}
	[ "$d" = "$OUT" ] && continue
	[[ $(basename "$d") =~ ^[0-9][^-]*-[^-]*-$variant-[0-9a-f]{16}$ ]] || continue
	[ -n "$(find "$d" -maxdepth 0 -mmin -120 2>/dev/null)" ] && continue
	(flock -n 8 && rm -rf "$d") 8>"$TOP/.lock-$(basename "$d")" || true
done
ptime total "$t_start"
report
echo "$BIN"
exit 0
}
