// SPDX-License-Identifier: MIT
// What the guest suite and the guest benchmark share: the environment the
// guest's /init exports, the two functions, and small I/O helpers built on
// the raw region ABI.
#ifndef ZPCI_VM_COMMON_HPP
#define ZPCI_VM_COMMON_HPP

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "manifest.hpp"
#include "vfio_raw.hpp"
#include "../host/zpci_vm_pattern.hpp"

namespace zpci_vm {

inline std::string env_or(const char *name, const char *dflt)
{
	const char *v = std::getenv(name);
	return v && *v ? v : dflt;
}

// 8-byte (in fact page) aligned, zeroed byte buffer.
class AlignedBuf {
public:
	explicit AlignedBuf(std::size_t len);
	~AlignedBuf();
	AlignedBuf(const AlignedBuf &) = delete;
	AlignedBuf &operator=(const AlignedBuf &) = delete;
	std::uint8_t *data() { return p_; }
	const std::uint8_t *data() const { return p_; }
	std::size_t size() const { return len_; }

private:
	std::uint8_t *p_ = nullptr;
	std::size_t len_ = 0;
};

// An address range that is certainly not mapped (a freed mapping), and a
// mapping that is read-only, for EFAULT cases.
void *unmapped_page();
void *readonly_page();

// Splits [off, off + len) of a BAR into PCISTB ops legal for f (maxstbl,
// 4 KiB boundaries, and for strict functions 8-byte alignment) and runs
// them in batches of at most max_ops.  0 or the errno of the first failure.
int region_store(const Function &f, unsigned bar, std::uint64_t off,
		 const std::uint8_t *src, std::size_t len);

// Reads [off, off + len) with PCILG ops of <= 8 bytes inside doublewords.
int region_load(const Function &f, unsigned bar, std::uint64_t off,
		std::uint8_t *dst, std::size_t len);

// The two functions the guest's /init exported, opened once.
struct Functions {
	std::string mode;		// patched | stock
	std::string strict_addr, ism_addr;
	Function strict, ism;
	std::string strict_err, ism_err;
	int strict_rc = -1, ism_rc = -1;

	static Functions &get();
	bool patched() const { return mode == "patched"; }
};

// True when f's BAR 2 is the 16 MiB shared-memory RAM BAR the host checks.
bool has_ram_bar(const Function &f);

}  // namespace zpci_vm

#endif
