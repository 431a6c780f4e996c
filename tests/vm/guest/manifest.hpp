// SPDX-License-Identifier: MIT
// Guest side of the manifest (format: ../host/zpci_vm_pattern.hpp) and the
// allocator that hands every test its own, non-overlapping part of a
// function's RAM BAR.
#ifndef ZPCI_VM_MANIFEST_HPP
#define ZPCI_VM_MANIFEST_HPP

#include <cstdint>
#include <mutex>
#include <string>

namespace zpci_vm {

class Manifest {
public:
	// Appends to $ZPCI_RESULTS/manifest.txt (writes the header line if
	// the file is new).  Without ZPCI_RESULTS nothing is recorded.
	static Manifest &get();

	bool enabled() const { return fd_ >= 0; }
	const std::string &dir() const { return dir_; }
	void written(const char *func, std::uint64_t off, std::uint64_t len,
		     std::uint64_t seed, std::uint64_t pos, const std::string &label);
	void untouched(const char *func, std::uint64_t off, std::uint64_t len,
		       const std::string &label);
	void nosignal(const char *func, std::uint64_t off, std::uint64_t len,
		      const std::string &label);
	void scratch(const char *func, std::uint64_t off, std::uint64_t len,
		     const std::string &label);
	// Bytes must equal the file (relative to the results dir).
	void image(const char *func, std::uint64_t off, std::uint64_t len,
		   const std::string &file, const std::string &label);
	// Writes a binary file into the results dir; false on error.
	bool save_file(const std::string &name, const void *data, std::size_t len);

private:
	Manifest();
	void line(const std::string &s);
	int fd_ = -1;
	std::string dir_;
	std::mutex mu_;
};

// Hands out disjoint areas of [base, limit), 4 KiB aligned.
class Layout {
public:
	Layout(std::uint64_t base, std::uint64_t limit) : next_(base), limit_(limit) {}
	// Returns the offset, or ~0 when the BAR part is exhausted.
	std::uint64_t take(std::uint64_t len)
	{
		std::lock_guard<std::mutex> g(mu_);
		std::uint64_t off = next_;
		std::uint64_t end = (off + len + 4095) & ~4095ULL;
		if (end > limit_)
			return ~0ULL;
		next_ = end;
		return off;
	}

private:
	std::uint64_t next_, limit_;
	std::mutex mu_;
};

}  // namespace zpci_vm

#endif
