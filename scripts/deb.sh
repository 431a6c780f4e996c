#!/bin/bash
# `make deb`: the Debian packages (debian/) for the build machine's
# architecture and, cross-built, for s390x; then lintian on both.
#
#   scripts/deb.sh [--arch amd64|s390x|all] [--no-lintian]
#
# Builds from a copy of the checkout's files (git ls-files: tracked and
# untracked-but-not-ignored, as they are in the working tree), so build
# directories never end up in the source package.  Output in
# $BUILD/deb/<arch>/ (BUILD default: build).  The s390x build takes its
# libnl/libbenchmark from the sysroot of tests/vm/fetch.sh (no foreign
# architecture is added to the host's dpkg/apt).  nocheck: the unit tests
# run in their own phases of `make check`.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
OUT=$BUILD/deb
arches=all lint=1
while [ $# -gt 0 ]; do
	case $1 in
	--arch) arches=$2; shift 2 ;;
	--no-lintian) lint=0; shift ;;
	*) echo "usage: $0 [--arch amd64|s390x|all] [--no-lintian]" >&2; exit 2 ;;
	esac
done
native=$(dpkg --print-architecture)
[ "$arches" = all ] && arches="$native s390x"

ver=$(dpkg-parsechangelog -S Version)
cmake_ver=$(sed -n 's/^project(zpci VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
if [ "$ver" != "$cmake_ver" ]; then
	echo "deb: debian/changelog says $ver, CMakeLists.txt project() says $cmake_ver" >&2
	exit 1
fi
# the DKMS source tree's version is the package's
for f in kmod/Makefile:'^VERSION := \(.*\)$' kmod/dkms.conf:'^PACKAGE_VERSION="\(.*\)"$'; do
	v=$(sed -n "s/${f#*:}/\1/p" "${f%%:*}")
	if [ "$v" != "$ver" ]; then
		echo "deb: debian/changelog says $ver, ${f%%:*} says '$v'" >&2
		exit 1
	fi
done

# the source tree, as checked out
copy_tree() {
	local dst=$1
	rm -rf "$dst"
	mkdir -p "$dst"
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$dst"
}

# repeated builds compile from a cache: the build paths are the same every
# time, so ccache hits across runs
if [ -d /usr/lib/ccache ]; then
	export PATH=/usr/lib/ccache:$PATH
	export CCACHE_DIR=${ZPCI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zpci}/ccache
fi

t_all=$(date +%s)
rc=0
for arch in $arches; do
	t0=$(date +%s)
	dir=$OUT/$arch
	src=$dir/zpci-$ver
	copy_tree "$src"
	rm -f "$dir"/*.deb "$dir"/*.changes "$dir"/*.buildinfo "$dir"/*.dsc "$dir"/*.tar.*
	if [ "$arch" = "$native" ]; then
		# source (3.0 native) and binaries
		args=(-us -uc)
		env=(DEB_BUILD_OPTIONS="nocheck parallel=${JOBS:-2}")
	else
		sysroot=$(tests/vm/fetch.sh)
		args=(-us -uc -b -a "$arch" "-Pcross,nocheck" -d)
		env=(DEB_BUILD_OPTIONS="nocheck parallel=${JOBS:-2}" ZPCI_SYSROOT="$sysroot")
	fi
	echo "deb: building $arch in $src"
	if (cd "$src" && env "${env[@]}" dpkg-buildpackage "${args[@]}") >"$dir/build.log" 2>&1; then
		echo "deb: $arch built in $(( $(date +%s) - t0 )) s:"
		(cd "$dir" && ls -1 ./*.deb) | sed 's|^\./|  |'
	else
		echo "deb: $arch FAILED (log $dir/build.log):" >&2
		tail -n 40 "$dir/build.log" >&2
		rc=1
		continue
	fi
	if [ "$lint" = 1 ]; then
		changes=$(ls "$dir"/*.changes)
		# errors fail; warnings are printed (the justifications: debian/README.source)
		lintian --fail-on error --display-info "$changes" \
			>"$dir/lintian.log" 2>&1 ||
			{ echo "deb: lintian errors for $arch:" >&2; rc=1; }
		echo "deb: lintian $arch: $(grep -c '^E:' "$dir/lintian.log" || true) errors," \
			"$(grep -c '^W:' "$dir/lintian.log" || true) warnings," \
			"$(grep -c '^I:' "$dir/lintian.log" || true) infos ($dir/lintian.log)"
		grep -E '^(E|W):' "$dir/lintian.log" | sed 's/^/  /' || true
	fi
done
echo "deb: done in $(( $(date +%s) - t_all )) s"
exit $rc
