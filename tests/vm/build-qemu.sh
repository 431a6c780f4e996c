#!/bin/bash
# Build the test-only qemu-system-s390x: Debian bookworm's qemu 7.2 source
# package (with Debian's own patches, applied by dpkg-source) plus the small
# patches in tests/vm/qemu/*.patch.  The binary is cached in the user-level
# cache, shared by every clone:
#   $ZPCI_CACHE/vm-qemu/<source version>-<hash>/qemu-system-s390x
# where the hash covers everything the binary is made of: the source
# version, the patches, the configure arguments and the compiler's and
# ninja's versions.  One flock per key: concurrent runs build it once.
# Entries unused for 14 days are removed, and at most 6 are kept (the
# patches differ between branches and clones, so older ones still serve).
# Prints the path of the binary on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SUITE=${ZPCI_QEMU_SUITE:-bookworm}
JOBS=${ZPCI_JOBS:-2}
KEEP=6
KEEP_DAYS=14

dsc=$(debfetch_src "$SUITE" qemu) || die "cannot fetch the qemu source from $SUITE"
ver=$(sed -n 's/^Version: //p' "$dsc" | head -n 1)
[ -n "$ver" ] || die "no Version in $dsc"

shopt -s nullglob
patches=("$VM_SRC"/qemu/*.patch)
cfg=(--target-list=s390x-softmmu --without-default-features --disable-docs
	--disable-werror --enable-tcg --disable-install-blobs)
# ZPCI_VM_QEMU_PLUGINS=1: the same QEMU with TCG plugins (make cost), its
# own cache entry; qemu-plugin.h is kept next to the binary
if [ "${ZPCI_VM_QEMU_PLUGINS:-0}" = 1 ]; then
	cfg+=(--enable-plugins)
fi
cc_ver=$( (cc --version 2>/dev/null || echo no-cc) | head -n 1)
ninja_ver=$(ninja --version 2>/dev/null || echo no-ninja)
hash=$( { echo "recipe 2"; echo "$ver"; echo "${cfg[*]}"; echo "$cc_ver";
	echo "ninja $ninja_ver"; cat "${patches[@]}" /dev/null; } | sha256sum | cut -c1-12)
key=$(echo "$ver" | tr ':~+' '___')-$hash
top=$ZPCI_CACHE/vm-qemu
out=$top/$key
bin=$out/qemu-system-s390x
mkdir -p "$top"

# prune: other entries unused for KEEP_DAYS, and all but the KEEP newest
prune() {
	local d n=0
	while read -r d; do
		[ "$d" = "$out" ] && continue
		n=$((n + 1))
		if [ $n -ge "$KEEP" ] || [ -n "$(find "$d/.used" -mtime +"$KEEP_DAYS" 2>/dev/null)" ]; then
			# skip it if a run is building it right now
			(flock -n 8 && rm -rf "$d" && log "qemu: pruned $(basename "$d")") \
				8>"$d.lock" || true
		fi
	done < <(find "$top" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %p\n' |
		sort -rn | cut -d' ' -f2-)
	# builds killed before their trap ran
	find "$top" -mindepth 1 -maxdepth 1 -type d -name '.build-*' -mmin +1440 \
		-exec rm -rf {} + 2>/dev/null
	return 0
}

if [ -x "$bin" ]; then
	touch "$out/.used" "$out"
	log "qemu: cached $bin"
	prune
	echo "$bin"
	exit 0
fi

exec 9>"$out.lock"
flock 9
if [ -x "$bin" ]; then	# another run built it while this one waited
	touch "$out/.used" "$out"
	log "qemu: cached $bin (built by a concurrent run)"
	echo "$bin"
	exit 0
fi

# build in a private temp dir, then rename into place (safe if run twice)
work=$(mktemp -d "$top/.build-$key.XXXXXX")
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
if [ "${ZPCI_VM_QEMU_PLUGINS:-0}" = 1 ]; then
	cp "$work/src/include/qemu/qemu-plugin.h" "$work/out/"
fi
touch "$work/out/.used"
# s390-ccw.img (needed even with -kernel) is not in the dfsg source: run.sh
# passes -L /usr/share/qemu (package qemu-system-data)
rm -rf "$out"
mv -T "$work/out" "$out"
log "qemu: built $bin"
prune
echo "$bin"
