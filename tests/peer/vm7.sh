#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest suite on Debian sid's 7.x s390x kernel (make vm7-check):
# tests/vm/run.sh with ZPCI_VM_KENV=sid7-peer and zpci_io built for that
# kernel by bookworm's gcc 12 (kmod/scripts/s390x-gcc-compat,
# -fno-stack-protector, no module BTF) and the host modpost that
# tests/peer/build-peer.sh builds.  Arguments go to run.sh; the build and
# results live in build/vm7 (ZPCI_VM_DIR), apart from the 6.12 run's.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
eval "$("$repo/tests/peer/build-peer.sh")"
export ZPCI_VM_KENV=$ZPCI_PEER_KENV
export ZPCI_VM_DIR=${ZPCI_VM7_DIR:-$repo/build/vm7}
export KCC=$repo/kmod/scripts/s390x-gcc-compat
# command-line variables for every kbuild make below run.sh (MAKEFLAGS)
export MAKEFLAGS="MODPOST=$ZPCI_MODPOST KCFLAGS=-fno-stack-protector CONFIG_DEBUG_INFO_BTF_MODULES="
exec "$repo/tests/vm/run.sh" "$@"
