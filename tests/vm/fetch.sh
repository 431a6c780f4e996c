#!/bin/bash
# Fetch what the s390x guest build needs besides the kernel (which
# kmod/scripts/fetch-kernel.sh fetches): a sysroot of s390x -dev packages
# unpacked from Debian .debs. The host's apt configuration is not touched.
# Prints the sysroot path (also a stable symlink $ZPCI_CACHE/s390x-sysroot).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SUITE=${ZPCI_SYSROOT_SUITE:-bookworm}
pkgs=(libnl-3-dev libnl-3-200 libnl-genl-3-dev libnl-genl-3-200
	libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian
	nlohmann-json3-dev)

debs=()
for p in "${pkgs[@]}"; do
	d=$(deb_fetch "$SUITE" s390x "$p") || exit 1
	debs+=("$d")
done
key=$( { printf '%s\n' "${debs[@]##*/}"; echo usrmerge-2; } | sha256sum | cut -c1-12)
dir=$ZPCI_CACHE/s390x-sysroot-$key
if [ ! -d "$dir" ]; then
	tmp=$(mktemp -d "$dir.XXXXXX.part")
	for d in "${debs[@]}"; do
		dpkg -x "$d" "$tmp"
	done
	# merged /usr, as on a real system (libnl ships in /lib, its .pc says
	# /usr/lib)
	if [ -d "$tmp/lib" ] && [ ! -L "$tmp/lib" ]; then
		mkdir -p "$tmp/usr/lib"
		cp -a "$tmp/lib/." "$tmp/usr/lib/"
		rm -rf "$tmp/lib"
		ln -s usr/lib "$tmp/lib"
	fi
	# Boost is header-only for us: use the host's headers (same version)
	mkdir -p "$tmp/usr/include"
	[ -d /usr/include/boost ] && ln -s /usr/include/boost "$tmp/usr/include/boost"
	# absolute symlinks inside the packages (libfoo.so -> /usr/lib/...)
	# must point into the sysroot (its final name: $tmp is renamed)
	find "$tmp" -type l -lname '/usr/lib/*' | while read -r l; do
		ln -sfn "$dir$(readlink "$l")" "$l.tmp" && mv -Tf "$l.tmp" "$l"
	done
	mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"   # lost a race: fine
fi
ln -sfn "$(basename "$dir")" "$ZPCI_CACHE/s390x-sysroot.tmp.$$"
mv -Tf "$ZPCI_CACHE/s390x-sysroot.tmp.$$" "$ZPCI_CACHE/s390x-sysroot"
echo "$dir"
