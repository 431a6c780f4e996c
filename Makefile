# Thin wrapper around CMake (library, CLI, tests, benchmark), the kernel
# module build (kmod/) and the s390x guest tests (tests/vm/).
BUILD ?= build
JOBS ?= 2
PREFIX ?= /usr/local
CMAKE_FLAGS ?=
# Downloads and expensive builds (kernels, sysroot, the test QEMU) are
# cached per user, shared by every clone: see scripts/debfetch.sh.
export ZPCI_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/zpci

.PHONY: all deps build check unit-check unit-s390x-check asan-check kmod-check vm-check vm-stock-check e2e-check \
	bench install clean kmod deb pkg-check

all: build

deps:
	scripts/install-deps.sh host

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

# Every phase, with its wall time and a closing summary: unit tests,
# sanitizer unit tests, module cross-build + checkpatch + sparse, the s390x
# guest on the patched QEMU and on Debian's stock QEMU.
check:
	scripts/check.sh

unit-check: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

asan-check: deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DZPCI_SANITIZE=ON \
		-DZPCI_BUILD_BENCH=OFF
	cmake --build $(BUILD)-asan -j$(JOBS)
	ctest --test-dir $(BUILD)-asan --output-on-failure -j$(JOBS)

# The unit tests once more, cross-built for s390x and run big-endian
# under qemu-user: the simulator, ABI structs and netlink parsing on the
# byte order the product runs on.
unit-s390x-check:
	scripts/install-deps.sh host vm
	tests/vm/fetch.sh >/dev/null
	tests/unit/run-s390x.sh $(BUILD)-s390x-unit --gtest_output=xml:$(BUILD)-s390x-unit/gtest.xml

kmod-check:
	scripts/install-deps.sh kmod
	$(MAKE) -C kmod check

kmod:
	scripts/install-deps.sh kmod
	$(MAKE) -C kmod cross

# The QEMU of the nested end-to-end test: upstream QEMU plus
# emulators/qemu/patches, linked with libzpci, cross-built for s390x and
# cached per user; prints the binary's path.  qemu-e2e-stock-build: the
# same source without libzpci (proves the dependency is optional).
.PHONY: qemu-e2e-build qemu-e2e-stock-build
qemu-e2e-build:
	@scripts/install-deps.sh vm
	@emulators/qemu/build.sh
qemu-e2e-stock-build:
	@scripts/install-deps.sh vm
	@emulators/qemu/build.sh --without-zpci

# The series' qtest (CLP data and plug decision, tests/qtest/s390x-zpci-test)
# on QEMU 10.2 + the series built for this host (s390x-softmmu, libzpci),
# cached by its inputs: emulators/qemu/qtest.sh.  Not part of `make check`
# (its cold build would push a fresh make check past 60 min: see
# emulators/qemu/README.md).
.PHONY: qemu-qtest
qemu-qtest:
	@scripts/install-deps.sh vm
	@emulators/qemu/qtest.sh

vm-check:
	scripts/install-deps.sh vm
	tests/vm/run.sh

vm-stock-check:
	scripts/install-deps.sh vm
	tests/vm/run.sh --stock

# The guest suite on Debian sid's 7.x s390x kernel; and, in one such guest,
# upstream's ism-vfio-pci (built at test time from linux-source-7.x) against
# zpci_io, vfio-pci and an in-kernel PCISTB loop (tests/peer/README.md).
.PHONY: vm7-check peer-bench
vm7-check:
	scripts/install-deps.sh vm
	tests/peer/vm7.sh
peer-bench:
	scripts/install-deps.sh vm
	tests/peer/run.sh

# Linux's own ism.ko and SMC-D (smc.ko + smc_diag.ko with the ISM client)
# for the guest's Debian 6.12 kernel, built out of tree from
# linux-source-6.12 and cached by input hash; prints the module paths.
# make vm-check loads them in the guest (tests/ism/README.md).
.PHONY: ism-modules
ism-modules:
	@scripts/install-deps.sh kmod vm
	@tests/ism/build.sh

# Linux's ism.ko on the test QEMU's ISM model (issue 16): stage 1 in the
# s390x guest (three model functions, our client module, SMC-D; the host
# checks the model's statistics), then stage 2 (ism-l2-check below);
# results in build/vm/results/ism/summary.json (stage 2's fields filled in)
.PHONY: ism-check
ism-check:
	@scripts/install-deps.sh kmod vm
	@tests/ism/run.sh
	@tests/ism/run-l2.sh

# Stage 2 of issue 16: the model's functions bound to zpci_io in L1 and
# passed to an L2 guest by QEMU 10.2 with libzpci; L2's own ism.ko, our
# client module with interrupts, SMC-D in L2; results in
# build/vm/results/ism-l2/summary-l2.json (tests/ism/README.md)
.PHONY: ism-l2-check
ism-l2-check:
	@scripts/install-deps.sh kmod vm
	@tests/ism/run-l2.sh

# The guest suite on an s390x debug kernel (lockdep, atomic-sleep and page
# allocation checkers) built from Debian's linux-source-6.12 and cached by
# config hash, after a self-test proving the console scan catches a report.
.PHONY: debug-vm-check
debug-vm-check:
	scripts/install-deps.sh vm
	tests/debugkernel/run.sh

# Guest instructions per call, counted exactly by a TCG plugin in the test
# QEMU (built with plugins, cached); per-hop markers in libzpci and
# zpci_io (tests/cost/README.md).  Outside make check.
.PHONY: cost
cost:
	scripts/install-deps.sh vm
	tests/cost/run.sh

# One L2 PCISTB of the nested e2e, hop by hop, in L0 instructions: L2 ->
# QEMU 10.2 + libzpci in L1 -> zpci_io -> L0 (tests/cost/README.md,
# "make cost-e2e").  Outside make check.
.PHONY: cost-e2e
cost-e2e:
	scripts/install-deps.sh vm
	tests/cost/run.sh --e2e

# A multi-tenant soak of zpci_io in the s390x test guest: tenants on the
# strict, ism and wide functions, netlink readers, unbind/rebind,
# hot-unplug/replug, busy/cc3/error-event faults, the host checking every
# window's bytes after each phase (tests/soak/README.md).  Outside make
# check.  ZPCI_SOAK_MINUTES (default 20); ZPCI_SOAK_SELFTEST=1 proves a
# wrong byte fails it.  Writes build/vm/results/soak/summary.json.
.PHONY: soak
soak:
	scripts/install-deps.sh vm
	tests/soak/run.sh

# Nested end-to-end test: an L2 guest's Linux writes through QEMU in the L1
# guest to the test functions; the host checks every byte (tests/e2e).
e2e-check:
	scripts/install-deps.sh host vm
	tests/e2e/run.sh

# The same with the L1 QEMU built with ASan and UBSan (outside make check:
# the sanitized build takes longer, and so does the nested run)
.PHONY: e2e-san-check
e2e-san-check:
	scripts/install-deps.sh host vm
	ZPCI_E2E_SANITIZE=1 tests/e2e/run.sh

# Debian packages (debian/) for this machine and cross-built for s390x,
# lintian-checked, in $(BUILD)/deb/<arch>/ (scripts/deb.sh).
deb:
	scripts/install-deps.sh pkg
	BUILD=$(BUILD) scripts/deb.sh

# Man pages render without warnings, make deb, and the s390x packages
# installed in an s390x userland under qemu-user with the module built
# natively by DKMS (tests/pkg/native-test.sh).
pkg-check:
	scripts/install-deps.sh pkg
	BUILD=$(BUILD) scripts/pkg-check.sh

# The main job: block path against the 8-byte fallback path on the default
# (simulated) backend; prints a table and writes $(BUILD)/bench.json.
bench: build
	$(BUILD)/tools/zpci bench --out $(BUILD)/bench.json
	/usr/bin/python3 bench/table.py $(BUILD)/bench.json --only 'write/(strict|ism)\+sys'
	/usr/bin/python3 bench/table.py $(BUILD)/bench.json --only 'write/(strict|ism)\+sys' --metric calls
	/usr/bin/python3 bench/plot.py $(BUILD)/bench.json $(BUILD)/bench.png

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD)-asan
	-$(MAKE) -C kmod clean
