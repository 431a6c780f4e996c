# shellcheck shell=bash
# Shared helpers for the s390x test machine scripts (sourced, not run).
# Downloads go to $ZPCI_CACHE (shared by all parts of the project), VM build
# products to $ZPCI_VM_DIR. Every download lands in a temp file first and is
# renamed into place, so two concurrent runs never see a half-written file.

VM_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_SRC/../.." && pwd)
: "${ZPCI_CACHE:=$REPO/build/cache}"
: "${ZPCI_VM_DIR:=$REPO/build/vm}"
: "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"
export ZPCI_CACHE ZPCI_VM_DIR
DEB_DIR=$ZPCI_CACHE/debian

log() { printf '[vm %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[vm] ERROR: %s\n' "$*" >&2; exit 1; }

# fetch_url URL DEST: download once (atomic rename). Existing DEST is kept.
fetch_url() {
	local url=$1 dest=$2 tmp
	[ -s "$dest" ] && return 0
	mkdir -p "$(dirname "$dest")"
	tmp=$(mktemp "$dest.XXXXXX.part")
	if ! curl -sSfL --retry 3 --retry-delay 2 -o "$tmp" "$url"; then
		rm -f "$tmp"
		echo "[vm] download failed: $url" >&2
		return 1
	fi
	mv -f "$tmp" "$dest"
}

# deb_index SUITE ARCH -> path of the uncompressed Packages index
# (ARCH=source gives Sources). Re-downloaded when older than 12 hours or when
# ZPCI_REFRESH_INDEX=1, because the archive drops superseded versions.
deb_index() {
	local suite=$1 arch=$2 name url out tmp
	if [ "$arch" = source ]; then
		name=Sources; url=$DEBIAN_MIRROR/dists/$suite/main/source/Sources.xz
	else
		name=Packages; url=$DEBIAN_MIRROR/dists/$suite/main/binary-$arch/Packages.xz
	fi
	out=$DEB_DIR/index/${suite}_${arch}_$name
	if [ ! -s "$out" ] || [ "${ZPCI_REFRESH_INDEX:-0}" = 1 ] ||
	   [ -n "$(find "$out" -mmin +720 2>/dev/null)" ]; then
		mkdir -p "$DEB_DIR/index"
		tmp=$(mktemp "$out.XXXXXX.part")
		if curl -sSfL --retry 3 -o "$tmp.xz" "$url" && xz -dc "$tmp.xz" >"$tmp"; then
			mv -f "$tmp" "$out"
		elif [ ! -s "$out" ]; then
			rm -f "$tmp" "$tmp.xz"; die "cannot fetch index $url"
		fi
		rm -f "$tmp" "$tmp.xz"
	fi
	echo "$out"
}

# deb_field INDEX PKG FIELD -> value of FIELD in the newest stanza of PKG
deb_field() {
	local index=$1 pkg=$2 field=$3 best_v="" best_f="" v f
	while IFS=$'\t' read -r v f; do
		if [ -z "$best_v" ] || dpkg --compare-versions "$v" gt "$best_v"; then
			best_v=$v; best_f=$f
		fi
	done < <(awk -v pkg="$pkg" -v field="$field" '
		BEGIN { RS = ""; FS = "\n" }
		{
			p = ""; v = ""; f = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Package: /) p = substr($i, 10)
				if ($i ~ /^Version: /) v = substr($i, 10)
				if (index($i, field ": ") == 1) f = substr($i, length(field) + 3)
			}
			if (p == pkg) printf "%s\t%s\n", v, f
		}' "$index")
	[ -n "$best_v" ] || return 1
	echo "$best_f"
}

# deb_fetch SUITE ARCH PKG -> path of the downloaded .deb (cached)
deb_fetch() {
	local suite=$1 arch=$2 pkg=$3 index file dest
	index=$(deb_index "$suite" "$arch")
	file=$(deb_field "$index" "$pkg" Filename) || die "package $pkg not in $suite/$arch"
	dest=$DEB_DIR/pool/$(basename "$file")
	if ! fetch_url "$DEBIAN_MIRROR/$file" "$dest"; then
		# superseded since the index was cached: refresh once and retry
		index=$(ZPCI_REFRESH_INDEX=1 deb_index "$suite" "$arch")
		file=$(deb_field "$index" "$pkg" Filename) || die "package $pkg gone from $suite/$arch"
		dest=$DEB_DIR/pool/$(basename "$file")
		fetch_url "$DEBIAN_MIRROR/$file" "$dest" || die "cannot fetch $pkg"
	fi
	echo "$dest"
}

# deb_unpack DEB DIR: dpkg -x DEB into DIR (a directory of its own), once:
# unpacked into a temp dir renamed into place, so a concurrent run never
# sees half a package. DIR/.deb names the package version it holds.
deb_unpack() {
	local deb=$1 dir=$2 tmp
	[ "$(cat "$dir/.deb" 2>/dev/null)" = "$(basename "$deb")" ] && return 0
	mkdir -p "$(dirname "$dir")"
	tmp=$(mktemp -d "$dir.XXXXXX.part")
	dpkg -x "$deb" "$tmp" || { rm -rf "$tmp"; return 1; }
	basename "$deb" >"$tmp/.deb"
	rm -rf "$dir.old.$$"
	[ -e "$dir" ] && mv -T "$dir" "$dir.old.$$"
	mv -T "$tmp" "$dir" || rm -rf "$tmp"
	rm -rf "$dir.old.$$"
}

# phase NAME CMD...: run CMD and print its wall time (kept for the summary)
PHASE_LOG=()
phase() {
	local name=$1 t0 t1 rc=0
	shift
	t0=$(date +%s.%N)
	log "phase $name: start"
	"$@" || rc=$?
	t1=$(date +%s.%N)
	local dt
	dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	PHASE_LOG+=("$(printf '%-14s %7s s%s' "$name" "$dt" "$([ $rc -eq 0 ] || echo "  (FAILED rc=$rc)")")")
	log "phase $name: $dt s (rc=$rc)"
	return $rc
}
