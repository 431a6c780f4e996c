// SPDX-License-Identifier: MIT
// What the driver-facing guest test files share beyond common.hpp: the
// two functions, each test's own part of a function's RAM BAR, the test's
// label and seed, and the checks that a function is there.
#ifndef ZPCI_VM_SUITE_HPP
#define ZPCI_VM_SUITE_HPP

#include <cstdint>
#include <functional>
#include <string>

#include "common.hpp"

namespace zpci_vm {

inline Functions &fns() { return Functions::get(); }

// "Suite.Name" of the running test.
std::string test_label();
// A seed derived from ZPCI_SEED and what.
std::uint64_t seed_for(const std::string &what);
// "strict" or "ism", as the manifest names the function.
const char *fname(const Function &f);
// A part of f's RAM BAR test area of len bytes, 4 KiB aligned, for this
// test only (a failure is recorded when the area is exhausted).
std::uint64_t take(const Function &f, std::uint64_t len);
// One word from /sys/bus/pci/devices/<addr>/<attr> ("" on error).
std::string sysfs_read(const std::string &addr, const char *attr);
// Writes value to a sysfs file; 0 or -errno.
int sysfs_write(const std::string &path, const std::string &value);
// Polls cond every 50 ms for up to timeout_ms.
bool wait_until(const std::function<bool()> &cond, int timeout_ms);

}  // namespace zpci_vm

#define REQUIRE_STRICT()                                                       \
	do {                                                                   \
		if (fns().strict_rc != 0)                                      \
			GTEST_FAIL() << "strict function " << fns().strict_addr \
				     << ": " << fns().strict_err;              \
	} while (0)

#define REQUIRE_ISM()                                                          \
	do {                                                                   \
		if (!fns().patched())                                          \
			GTEST_SKIP() << "no ISM-like function in stock mode";  \
		if (fns().ism_rc != 0)                                         \
			GTEST_FAIL() << "ISM-like function " << fns().ism_addr \
				     << ": " << fns().ism_err;                 \
	} while (0)

#define REQUIRE_RAM_BAR(f)                                                     \
	do {                                                                   \
		if (!fns().patched() || !has_ram_bar(f))                       \
			GTEST_SKIP() << "no shared-memory RAM BAR 2 to verify " \
					"(stock QEMU)";                        \
	} while (0)

#endif
