#!/bin/bash
# Smoke test of a cross-built qemu-system-s390x on this (non-s390x) host,
# under qemu-user, run the way the s390x guest runs it:
#   lib/ld64.so.1 --library-path lib qemu-system-s390x ...
#
#   emulators/qemu/smoke.sh [--stock] [PATH/TO/qemu-system-s390x]
#
# Without a path, the binary comes from build.sh (built if needed).
# Checks: --version; the zpci device has the zpci-io property; the
# machine starts (-M s390-ccw-virtio, stopped with -S) with two PCI
# functions and their zpci devices, one with zpci-io=off, and QMP reads
# the property back from both; the binary links libzpci (or, --stock, does
# not).  Prints "N passed, N failed".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
variant=zpci
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--stock) variant=stock; args+=(--without-zpci) ;;
	-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) bin=$1 ;;
	esac
	shift
done
if [ -z "${bin:-}" ]; then
	bin=$("$HERE/build.sh" "${args[@]}") || { echo "build failed" >&2; exit 1; }
fi
dir=$(dirname "$bin")
command -v qemu-s390x >/dev/null || { echo "qemu-s390x (package qemu-user) missing" >&2; exit 1; }
[ -f /usr/share/qemu/s390-ccw.img ] ||
	{ echo "/usr/share/qemu/s390-ccw.img (package qemu-system-data) missing" >&2; exit 1; }
run() { qemu-s390x "$dir/lib/ld64.so.1" --library-path "$dir/lib" "$bin" -L /usr/share/qemu "$@"; }

pass=0 fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

out=$(run --version 2>&1)
if grep -q '^QEMU emulator version [0-9]' <<<"$out"; then
	ok "--version: $(head -1 <<<"$out")"
else
	bad "--version: $out"
fi

out=$(run -device zpci,help 2>&1)
if grep -q 'zpci-io=<bool>' <<<"$out"; then
	ok "zpci device has the zpci-io property"
else
	bad "zpci,help lists no zpci-io: $out"
fi

if [ $variant = zpci ]; then
	if grep -qx 'libzpci.so.1' "$dir/NEEDED"; then
		ok "links libzpci.so.1"
	else
		bad "NEEDED has no libzpci.so.1: $(tr '\n' ' ' <"$dir/NEEDED")"
	fi
else
	if grep -q 'libzpci' "$dir/NEEDED"; then
		bad "the stock build links libzpci"
	else
		ok "the stock build does not link libzpci"
	fi
fi

qmp=$(printf '%s\n' \
	'{"execute":"qmp_capabilities"}' \
	'{"execute":"qom-get","arguments":{"path":"/machine/peripheral/z1","property":"zpci-io"}}' \
	'{"execute":"qom-get","arguments":{"path":"/machine/peripheral/z2","property":"zpci-io"}}' \
	'{"execute":"query-status"}' \
	'{"execute":"quit"}' |
	timeout 120 qemu-s390x "$dir/lib/ld64.so.1" --library-path "$dir/lib" "$bin" \
		-L /usr/share/qemu -M s390-ccw-virtio -accel tcg -m 128 -nodefaults \
		-display none -S -qmp stdio \
		-device zpci,id=z1,uid=1,fid=1,target=r1 -device virtio-rng-pci,id=r1 \
		-device zpci,id=z2,uid=2,fid=2,target=r2,zpci-io=off -device virtio-rng-pci,id=r2 \
		2>&1)
rc=$?
mapfile -t returns < <(grep -o '"return": [^}]*' <<<"$qmp")
if [ $rc -eq 0 ] && [ "${returns[1]:-}" = '"return": true' ] &&
   [ "${returns[2]:-}" = '"return": false' ] &&
   grep -q '"status": "prelaunch"' <<<"$qmp"; then
	ok "-M s390-ccw-virtio with two zpci functions starts; zpci-io reads true / false"
else
	bad "machine start / QMP (rc $rc): $qmp"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
