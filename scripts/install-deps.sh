#!/bin/bash
# Install the Debian packages this project needs, only those missing.
# Usage: scripts/install-deps.sh [host|kmod|vm|pkg|all]...   (default: host)
# Never changes the host's apt sources or architectures: s390x files are
# downloaded as .debs into the build directory by the kmod and vm scripts.
set -euo pipefail

pkgs_host=(cmake g++ make pkg-config libnl-3-dev libnl-genl-3-dev libboost-dev
	nlohmann-json3-dev
	libgtest-dev libgmock-dev googletest libbenchmark-dev python3-matplotlib)
pkgs_kmod=(gcc-s390x-linux-gnu sparse dwarves xz-utils curl ca-certificates perl
	bc flex bison kmod gpgv debian-archive-keyring gpg)
pkgs_vm=(gcc-s390x-linux-gnu g++-s390x-linux-gnu xz-utils curl ca-certificates
	zstd cpio python3 ninja-build meson libglib2.0-dev libpixman-1-dev
	libfdt-dev zlib1g-dev dpkg-dev qemu-system-misc qemu-system-data qemu-user
	patch kmod make cmake g++ pkg-config libboost-dev dwarves perl bc flex
	bison gpgv debian-archive-keyring)
# make deb / make pkg-check: packaging, lintian, man pages, the s390x
# cross compilers and sysroot tools, the s390x userland under qemu-user
pkgs_pkg=(debhelper dh-dkms dpkg-dev fakeroot lintian man-db groff-base ccache
	debootstrap qemu-user-static xz-utils curl ca-certificates
	gcc-s390x-linux-gnu g++-s390x-linux-gnu cmake g++ pkg-config
	libboost-dev libnl-3-dev libnl-genl-3-dev libbenchmark-dev nlohmann-json3-dev)

want=()
[ $# -eq 0 ] && set -- host
for part in "$@"; do
	case "$part" in
	host) want+=("${pkgs_host[@]}") ;;
	kmod) want+=("${pkgs_kmod[@]}") ;;
	vm) want+=("${pkgs_vm[@]}") ;;
	pkg) want+=("${pkgs_pkg[@]}") ;;
	all) want+=("${pkgs_host[@]}" "${pkgs_kmod[@]}" "${pkgs_vm[@]}" "${pkgs_pkg[@]}") ;;
	*) echo "install-deps: unknown part '$part' (host|kmod|vm|pkg|all)" >&2; exit 2 ;;
	esac
done

missing=()
for p in $(printf '%s\n' "${want[@]}" | sort -u); do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
