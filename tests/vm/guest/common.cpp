// SPDX-License-Identifier: MIT
#include "common.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <unistd.h>

namespace zpci_vm {

AlignedBuf::AlignedBuf(std::size_t len) : len_(len)
{
	std::size_t page = sysconf(_SC_PAGESIZE);
	std::size_t alloc = (len + page - 1) / page * page;
	if (alloc == 0)
		alloc = page;
	void *p = mmap(nullptr, alloc, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		std::abort();
	p_ = static_cast<std::uint8_t *>(p);
}

AlignedBuf::~AlignedBuf()
{
	std::size_t page = sysconf(_SC_PAGESIZE);
	munmap(p_, std::max<std::size_t>((len_ + page - 1) / page * page, page));
}

void *unmapped_page()
{
	static void *p = [] {
		std::size_t page = sysconf(_SC_PAGESIZE);
		void *m = mmap(nullptr, 4 * page, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			std::abort();
		munmap(m, 4 * page);
		// Keep something else from landing there: reserve the range
		// again with PROT_NONE (pinning a PROT_NONE page fails too).
		void *r = mmap(m, 4 * page, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		return r == MAP_FAILED ? m : r;
	}();
	return static_cast<std::uint8_t *>(p) + sysconf(_SC_PAGESIZE);
}

void *readonly_page()
{
	static void *p = [] {
		std::size_t page = sysconf(_SC_PAGESIZE);
		void *m = mmap(nullptr, page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			std::abort();
		std::memset(m, 0x5a, page);
		mprotect(m, page, PROT_READ);
		return m;
	}();
	return p;
}

static int run(const Function &f, Batch &b)
{
	SubmitResult r = submit(f, b);
	if (r.rc < 0)
		return r.err;
	if (static_cast<std::size_t>(r.rc) != b.size())
		return EIO;
	return 0;
}

int region_store(const Function &f, unsigned bar, std::uint64_t off,
		 const std::uint8_t *src, std::size_t len)
{
	const zpci_io_info &in = f.info();
	std::uint32_t maxops = std::max<std::uint32_t>(in.max_ops, 1);
	bool relaxed = in.flags & ZPCI_IO_INFO_RELAXED;
	Batch b;
	std::size_t done = 0;
	while (done < len) {
		std::uint64_t pos = off + done;
		std::size_t chunk = std::min<std::size_t>(len - done, in.maxstbl);
		chunk = std::min<std::size_t>(chunk, 4096 - (pos & 4095));
		if (!relaxed) {
			// Strict: 8-aligned target, 16..maxstbl multiples of 8.
			if ((pos & 7) || chunk < 16 || (chunk & 7))
				return EINVAL;
		}
		b.add(ZPCI_IO_OP_PCISTB, bar, pos, src + done, chunk);
		done += chunk;
		if (b.nr_ops() == maxops || done == len) {
			int rc = run(f, b);
			if (rc)
				return rc;
			b = Batch();
		}
	}
	return 0;
}

int region_load(const Function &f, unsigned bar, std::uint64_t off,
		std::uint8_t *dst, std::size_t len)
{
	std::uint32_t maxops = std::max<std::uint32_t>(f.info().max_ops, 1);
	Batch b;
	std::size_t done = 0;
	while (done < len) {
		std::uint64_t pos = off + done;
		std::size_t chunk = std::min<std::size_t>(len - done, 8 - (pos & 7));
		b.add(ZPCI_IO_OP_PCILG, bar, pos, dst + done, chunk);
		done += chunk;
		if (b.nr_ops() == maxops || done == len) {
			int rc = run(f, b);
			if (rc)
				return rc;
			b = Batch();
		}
	}
	return 0;
}

Functions &Functions::get()
{
	static Functions *fs = [] {
		auto *f = new Functions;
		f->mode = env_or("ZPCI_MODE", "patched");
		f->strict_addr = env_or("ZPCI_STRICT", "");
		f->ism_addr = env_or("ZPCI_ISM", "");
		if (!f->strict_addr.empty())
			f->strict_rc = f->strict.open(f->strict_addr, &f->strict_err);
		else
			f->strict_err = "ZPCI_STRICT not set";
		if (!f->ism_addr.empty())
			f->ism_rc = f->ism.open(f->ism_addr, &f->ism_err);
		else
			f->ism_err = "ZPCI_ISM not set";
		return f;
	}();
	return *fs;
}

bool has_ram_bar(const Function &f)
{
	const zpci_io_info &in = f.info();
	return (in.bar_mask & (1u << kDataBar)) && in.bar_size[kDataBar] == kBarSize;
}

}  // namespace zpci_vm
