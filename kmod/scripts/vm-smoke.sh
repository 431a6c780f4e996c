#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The driver's own smoke test in the s390x test guest: builds
# tests/zpci_io_smoke.c (static, s390x) and boots tests/vm/run.sh with
# kmod/tests/vm-kmod.sh as the guest script.  Default: --stock (Debian's
# QEMU, a virtio function with MSI-X); pass --patched for the project's
# test QEMU (ivshmem functions; builds that QEMU once).
# Env: ZPCI_VM_DIR (default build/kmod-vm, separate from engineer vm's runs).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
export ZPCI_VM_DIR=${ZPCI_VM_DIR:-$repo/build/kmod-vm}
mode=--stock
[ "${1:-}" = --patched ] && mode=
mkdir -p "$ZPCI_VM_DIR"
s390x-linux-gnu-gcc -O2 -Wall -Wextra -Wno-sign-compare -static \
	-I"$repo/include" -o "$ZPCI_VM_DIR/zpci_io_smoke" \
	"$repo/kmod/tests/zpci_io_smoke.c"
export ZPCI_VM_EXTRA="$ZPCI_VM_DIR/zpci_io_smoke:$repo/kmod/tests/vm-kmod.sh"
export ZPCI_VM_APPEND="zpci.script=/zpci/vm-kmod.sh"
export ZPCI_VM_TIMEOUT=${ZPCI_VM_TIMEOUT:-300}
# --smoke: no guest test-suite build; the script above replaces smoke.sh
# shellcheck disable=SC2086
exec "$repo/tests/vm/run.sh" $mode --smoke
