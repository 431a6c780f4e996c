#!/bin/bash
# Build the test-only qemu-system-s390x: Debian bookworm's qemu 7.2 source
# package (with Debian's own patches, applied by dpkg-source) plus the small
# patches in tests/vm/qemu/*.patch. The binary is cached under
# $ZPCI_VM_DIR/qemu/<source version>-<hash of patches + configure args>/.
# Prints the path of the binary on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SUITE=${ZPCI_QEMU_SUITE:-bookworm}
JOBS=${ZPCI_JOBS:-2}

sidx=$(deb_index "$SUITE" source)
ver=$(deb_field "$sidx" qemu Version) || die "qemu not in $SUITE Sources"
dir=$(deb_field "$sidx" qemu Directory)
# the Files: field is multi-line; pull the three file names of the stanza
mapfile -t files < <(awk -v want="$ver" '
	BEGIN { RS = ""; FS = "\n" }
	$0 ~ /(^|\n)Package: qemu\n/ && index($0, "\nVersion: " want "\n") {
		infiles = 0
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^Files:/) { infiles = 1; continue }
			if (infiles && $i ~ /^ /) { split($i, a, " "); print a[3]; continue }
			infiles = 0
		}
		exit
	}' "$sidx")
[ ${#files[@]} -ge 2 ] || die "cannot parse qemu source files from Sources index"

srcdl=$DEB_DIR/source
for f in "${files[@]}"; do
	fetch_url "$DEBIAN_MIRROR/$dir/$f" "$srcdl/$f" || die "cannot fetch $f"
done
dsc=$srcdl/$(printf '%s\n' "${files[@]}" | grep '\.dsc$')

shopt -s nullglob
patches=("$VM_SRC"/qemu/*.patch)
cfg=(--target-list=s390x-softmmu --without-default-features --disable-docs
	--disable-werror --enable-tcg --disable-install-blobs)
# the cache key covers the source version, the patches and the configure
# arguments
hash=$( { echo "$ver"; echo "${cfg[*]}"; cat "${patches[@]}" /dev/null; } | sha256sum | cut -c1-12)
key=$(echo "$ver" | tr ':~+' '___')-$hash
out=$ZPCI_VM_DIR/qemu/$key
bin=$out/qemu-system-s390x
if [ -x "$bin" ]; then
	log "qemu: cached $bin"
	echo "$bin"
	exit 0
fi

# build in a private temp dir, then rename into place (safe if run twice)
mkdir -p "$ZPCI_VM_DIR/qemu"
work=$(mktemp -d "$ZPCI_VM_DIR/qemu/.build-$key.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "qemu: unpacking $(basename "$dsc") (Debian patches applied by dpkg-source)"
(cd "$work" && dpkg-source --no-check -x "$dsc" src >/dev/null)
for p in "${patches[@]}"; do
	log "qemu: applying $(basename "$p")"
	patch -d "$work/src" -p1 --no-backup-if-mismatch -s <"$p" || die "patch $p does not apply"
done
mkdir -p "$work/src/build"
(cd "$work/src/build" &&
	../configure "${cfg[@]}" >"$work/configure.log" 2>&1) ||
	{ tail -30 "$work/configure.log" >&2; die "qemu configure failed"; }
log "qemu: building qemu-system-s390x (-j$JOBS)"
(cd "$work/src/build" && ninja -j"$JOBS" qemu-system-s390x >"$work/build.log" 2>&1) ||
	{ tail -40 "$work/build.log" >&2; die "qemu build failed"; }
mkdir -p "$work/out"
cp "$work/src/build/qemu-system-s390x" "$work/out/"
# s390-ccw.img (needed even with -kernel) is not in the dfsg source: run.sh
# passes -L /usr/share/qemu (package qemu-system-data)
rm -rf "$out"
mv "$work/out" "$out"
log "qemu: built $bin"
# binaries of older patch versions are of no use any more
for d in "$ZPCI_VM_DIR"/qemu/*/; do
	d=${d%/}
	[ "$d" = "$out" ] || rm -rf "$d"
done
echo "$bin"
