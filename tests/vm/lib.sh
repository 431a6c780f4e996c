# shellcheck shell=bash
# Shared helpers for the s390x test machine scripts (sourced, not run).
# Debian packages come through scripts/debfetch.sh (SHA256-checked, atomic,
# next-newest version when the archive lost the newest) into
# $ZPCI_CACHE/debian (the user-level cache shared by every clone, default
# ${XDG_CACHE_HOME:-~/.cache}/zpci); VM run products go to $ZPCI_VM_DIR.

VM_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_SRC/../.." && pwd)
# shellcheck source=../../scripts/debfetch.sh
. "$REPO/scripts/debfetch.sh"
: "${ZPCI_VM_DIR:=$REPO/build/vm}"
export ZPCI_CACHE ZPCI_VM_DIR DEBIAN_MIRROR
# shellcheck disable=SC2034 # for the scripts that source this
DEB_DIR=$DEBFETCH_DIR

log() { printf '[vm %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[vm] ERROR: %s\n' "$*" >&2; exit 1; }

# fetch_url URL DEST: download once (atomic rename), nothing verified.
# Existing DEST is kept.  Debian files: use deb_fetch / debfetch_src.
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

# The guest clock of the L0 QEMU.  ZPCI_VM_ICOUNT=1: -icount
# shift=0,sleep=off, so the guest clock advances 1 ns per guest instruction
# and every time the guests measure (ktime, clock_gettime, the benchmarks'
# ns and the nested e2e's 100 ms slices) counts L0 guest instructions, the
# same from boot to boot (../shared/FACTS.md section 9); guest-side timeouts
# then count instructions too.  Default: wall time.  Under icount the
# default is one vCPU (two stalled the nested boot for minutes).
# vm_clock: "icount" or "wall"; vm_clock_args: the QEMU arguments;
# vm_default_smp: the vCPU count when ZPCI_VM_SMP is not set.
vm_clock() {
	case "${ZPCI_VM_ICOUNT:-0}" in
	1) echo icount ;;
	0) echo wall ;;
	*) die "ZPCI_VM_ICOUNT must be 0 or 1" ;;
	esac
}
vm_clock_args() {
	[ "$(vm_clock)" = icount ] && echo "-icount shift=0,sleep=off"
	return 0
}
vm_default_smp() {
	if [ "$(vm_clock)" = icount ]; then echo 1; else echo 2; fi
}

# vm_mark_clock RESDIR: the clock in RESDIR/clock.txt, and in the
# "context" of a Google Benchmark RESDIR/bench.json (zpci_clock, and
# zpci_time_unit: "ns" or "L0 guest instructions"), so that no figure is
# read in the wrong unit
vm_mark_clock() {
	local clock
	clock=$(vm_clock) || return 1
	echo "$clock" >"$1/clock.txt"
	[ -s "$1/bench.json" ] || return 0
	python3 - "$1/bench.json" "$clock" <<'PY' || log "bench.json: cannot mark the clock"
import json, sys
path, clock = sys.argv[1], sys.argv[2]
with open(path) as f:
    d = json.load(f)
ctx = d.setdefault("context", {})
ctx["zpci_clock"] = clock
ctx["zpci_time_unit"] = "L0 guest instructions" if clock == "icount" else "ns"
with open(path, "w") as f:
    json.dump(d, f, indent=1)
PY
	# the per-call cost figures (cost/* benchmarks), in the context as
	# zpci_cost and in RESDIR/cost-summary.json
	if grep -q '"cost/' "$1/bench.json"; then
		python3 "$REPO/bench/cost_summary.py" "$1/bench.json" --write >/dev/null ||
			log "bench.json: no cost summary"
	fi
}

# kernel_reports_re: the kernel-report patterns of tests/vm/kernel-reports.ere
# (one per line; the guest scans use the file itself) as one ERE alternation
kernel_reports_re() {
	local f=$VM_SRC/kernel-reports.ere
	! grep -q '^$' "$f" || die "$f: an empty line would match every line"
	paste -sd'|' "$f"
}

# deb_index SUITE ARCH -> path of the uncompressed Packages index (ARCH=source
# gives Sources); ZPCI_REFRESH_INDEX=1 forces a refresh.
deb_index() {
	debfetch_index "$1" "$2" || die "cannot fetch the $1/$2 index"
}

# deb_field INDEX PKG FIELD -> value of FIELD in the newest stanza of PKG
deb_field() {
	local index=$1 pkg=$2 field=$3
	awk -v pkg="$pkg" -v field="$field" '
		BEGIN { RS = ""; FS = "\n" }
		{
			p = ""; v = ""; f = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Package: /) p = substr($i, 10)
				if ($i ~ /^Version: /) v = substr($i, 10)
				if (index($i, field ": ") == 1) f = substr($i, length(field) + 3)
			}
			if (p == pkg) printf "%s\t%s\n", v, f
		}' "$index" | debfetch_sort_desc | head -n 1 | cut -f2 | grep .
}

# deb_fetch SUITE ARCH PKG -> path of the downloaded .deb (cached)
deb_fetch() {
	debfetch_deb "$1" "$2" "$3" || die "cannot fetch $3 from $1/$2"
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

# ---------------------------------------------------------------- booting
# Shared by tests/vm/run.sh and tests/ism/run.sh.

# vm_fetch: the kernel of $ZPCI_CACHE/kernel/$ZPCI_VM_KENV.env (default
# "current", fetched by kmod/scripts/fetch-kernel.sh; other names are
# written beforehand by fetch-kernel.sh --env NAME, e.g. make vm7-check),
# the s390x sysroot and busybox.  Sets and exports ZPCI_KVER, ZPCI_KDIR,
# ZPCI_VMLINUZ, ZPCI_MODDIR, ... (the .env file) and ZPCI_SYSROOT.
vm_fetch() {
	local envf kenv=${ZPCI_VM_KENV:-current}
	case "$kenv" in *[!A-Za-z0-9._-]*|'') die "bad ZPCI_VM_KENV '$kenv'" ;; esac
	[ "$kenv" != current ] ||
		"$REPO/kmod/scripts/fetch-kernel.sh" --quiet >/dev/null || return 1
	envf=$ZPCI_CACHE/kernel/$kenv.env
	[ -s "$envf" ] || die "no $envf (kmod/scripts/fetch-kernel.sh --env $kenv)"
	# shellcheck disable=SC1090
	. "$envf"
	[ -f "$ZPCI_VMLINUZ" ] && [ -d "$ZPCI_MODDIR" ] || die "kernel image/modules missing ($envf)"
	ZPCI_SYSROOT=$("$VM_SRC/fetch.sh") || return 1
	export ZPCI_SYSROOT
	deb_fetch bookworm s390x busybox-static >/dev/null || return 1
}

# l2_kernel_build DIR ENV: the trimmed L2 kernel of the nested rigs
# (tests/e2e and stage 2 of tests/ism), built by tests/debugkernel/build.sh
# from one fragment, tests/e2e/l2.config followed by tests/ism/l2.config
# (what Linux's ism and SMC-D need, as modules: nothing more at boot), so
# both rigs share one cached build.  The fragment is written to DIR; ENV
# names the $ZPCI_CACHE/kernel/ENV.env that build.sh writes.
l2_kernel_build() {
	local dir=$1 env=$2
	mkdir -p "$dir"
	cat "$REPO/tests/e2e/l2.config" "$REPO/tests/ism/l2.config" >"$dir/l2.config"
	"$REPO/tests/debugkernel/build.sh" --config "$dir/l2.config" --env "$env"
}

# vm_wait_qemu PID CONSOLE TIMEOUT: wait for the QEMU process PID (a child
# of this shell) with a deadline of TIMEOUT s; once CONSOLE has the guest's
# "ZPCI-VM: status" line the guest has 60 s to power off.  Kills QEMU
# (TERM, then KILL) at the deadline.  Returns QEMU's exit status, or 124
# when it had to be killed.
vm_wait_qemu() {
	local pid=$1 console=$2 timeout=$3 t=0 done_at= rc=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ -z "$done_at" ] && grep -aq 'ZPCI-VM: status ' "$console" 2>/dev/null; then
			done_at=$t
		fi
		if [ $t -ge "$timeout" ] || { [ -n "$done_at" ] && [ $((t - done_at)) -ge 60 ]; }; then
			if [ -n "$done_at" ]; then
				log "boot: guest reported its status but did not power off in 60 s, killing QEMU"
			else
				log "boot: guest still running after ${timeout}s, killing QEMU"
			fi
			kill "$pid" 2>/dev/null
			sleep 5
			kill -9 "$pid" 2>/dev/null
			rc=124
			break
		fi
		sleep 1
		t=$((t + 1))
	done
	wait "$pid" 2>/dev/null || { [ $rc -ne 0 ] || rc=$?; }
	return $rc
}

# vm_console_reports CONSOLE: print (up to 20) kernel lines of CONSOLE that
# match tests/vm/kernel-reports.ere (kernel lines only: "[ time] ...", so
# that test output quoting such words cannot match)
vm_console_reports() {
	grep -naE "\[ *[0-9]+\.[0-9]{6}\] .*($(kernel_reports_re))" "$1" | head -20 || true
}

# vm_guest_status CONSOLE: the number of the guest's last "ZPCI-VM: status
# N" line, or "none"
vm_guest_status() {
	local line st
	line=$(grep -a 'ZPCI-VM: status ' "$1" | tail -n 1 || true)
	st=${line##*status }
	st=$(echo "$st" | tr -dc '0-9')
	echo "${st:-none}"
}
