# shellcheck shell=bash
# Helpers for the package tests (sourced).  Downloads and the s390x root
# are cached in $ZPCI_CACHE (default ~/.cache/zpci).
PKG_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$PKG_SRC/../.." && pwd)
: "${ZPCI_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/zpci}"
export ZPCI_CACHE
# the archive index and .deb fetcher of the guest tests
# shellcheck source=tests/vm/lib.sh
. "$REPO/tests/vm/lib.sh"

log() { printf '[pkg %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[pkg] ERROR: %s\n' "$*" >&2; exit 1; }

# newest_bpo_headers -> "6.12.N+deb12-s390x", the newest 6.12 s390x
# headers bookworm-backports lists
newest_bpo_headers() {
	local idx
	idx=$(deb_index bookworm-backports s390x)
	sed -n 's/^Package: linux-headers-\(6\.12\.[0-9]*+deb12-s390x\)$/\1/p' "$idx" |
		sort -V | tail -1
}

# binfmt_s390x: make the kernel run s390x ELF files through the static
# qemu-user (flag F: the interpreter is opened now, so it works inside a
# chroot).  Host-wide until reboot; an existing registration is kept.
binfmt_s390x() {
	local bm=/proc/sys/fs/binfmt_misc conf=/usr/lib/binfmt.d/qemu-s390x.conf
	[ -e "$bm/register" ] || mount -t binfmt_misc binfmt_misc "$bm" ||
		die "cannot mount binfmt_misc"
	if [ -e "$bm/qemu-s390x" ]; then
		grep -q '^enabled' "$bm/qemu-s390x" || die "binfmt qemu-s390x is disabled"
		grep -q '^flags:.*F' "$bm/qemu-s390x" ||
			die "binfmt qemu-s390x registered without flag F (chroot needs it)"
		return 0
	fi
	[ -f "$conf" ] || die "$conf missing (package qemu-user-static)"
	grep -v '^#' "$conf" >"$bm/register" 2>/dev/null ||
		[ -e "$bm/qemu-s390x" ] || die "cannot register qemu-s390x with binfmt_misc"
}

# in_root ROOT CMD...: run CMD chrooted in ROOT with /proc, /sys, /dev and
# the host's resolv.conf, in a private mount namespace (the mounts vanish
# with it)
in_root() {
	local root=$1
	shift
	cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	unshare --mount --propagation private -- /bin/bash -c '
		set -e
		r=$1; shift
		mount -t proc proc "$r/proc"
		mount --rbind /sys "$r/sys"
		mount --rbind /dev "$r/dev"
		exec chroot "$r" /usr/bin/env -i HOME=/root LC_ALL=C.UTF-8 \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"' in_root "$root" "$@"
}
