// SPDX-License-Identifier: MIT
// Guest tests of the standard vfio BAR regions of a relaxed-alignment (ISM)
// function (issue 9, item 6): the driver serves them with function-handle
// instructions, PCISTB for writes, so even ISM's PCISTB-only DMB space
// (the test function's BAR 2 refuses PCISTG) takes a plain pwrite, and
// PCILG for reads.  The strict function keeps vfio-pci's own path.
//
// BAR areas: taken from the functions' test areas (suite.hpp).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "suite.hpp"

using namespace zpci_vm;

namespace {

TEST(IsmBar, StandardRegionWriteAndRead)
{
	REQUIRE_ISM();
	Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	ASSERT_FALSE((f.info().pcistg_mask >> kDataBar) & 1) << "expected a PCISTB-only data BAR";
	const std::uint64_t seed = seed_for(test_label());
	const std::uint64_t area = take(f, 3 * 4096);
	// 5000 bytes at an odd offset: crosses a 4 KiB boundary and is longer
	// than one PCISTB may be, so the driver must split it.
	const std::uint64_t off = area + 4096 - 1001;
	const std::size_t len = 5000;
	std::vector<std::uint8_t> src(len), back(len);
	pattern_fill(src.data(), len, seed, off);
	int err = 0;
	long n = f.bar_pwrite(kDataBar, src.data(), len, off, &err);
	ASSERT_EQ(n, static_cast<long>(len)) << "pwrite of the standard BAR region: " << errno_name(err);
	Manifest::get().written("ism", off, len, seed, off, test_label());
	Manifest::get().untouched("ism", area, off - area, test_label());
	Manifest::get().untouched("ism", off + len, area + 3 * 4096 - off - len, test_label());
	// Read back through the region (PCILG) and through the standard BAR
	// region (the driver's PCILG split, 13 bytes at odd offsets too).
	ASSERT_EQ(region_load(f, kDataBar, off, back.data(), len), 0);
	EXPECT_EQ(back, src) << "bytes written through the standard BAR region";
	std::vector<std::uint8_t> rd(len);
	n = f.bar_pread(kDataBar, rd.data(), len, off, &err);
	ASSERT_EQ(n, static_cast<long>(len)) << "pread of the standard BAR region: " << errno_name(err);
	EXPECT_EQ(rd, src);
	std::uint8_t small[13];
	ASSERT_EQ(f.bar_pread(kDataBar, small, sizeof(small), off + 3, &err), static_cast<long>(sizeof(small)))
		<< errno_name(err);
	EXPECT_EQ(std::memcmp(small, src.data() + 3, sizeof(small)), 0);
	// Beyond the BAR: refused.
	EXPECT_LT(f.bar_pread(kDataBar, small, 1, f.info().bar_size[kDataBar], &err), 0);
}

// A BAR larger than vfio-pci's 1 TiB region index window (the test
// QEMU's ISM-like BAR 4 is 2 TiB, when the rig has it) is not offered as a
// standard vfio region: size 0, no access flags, pread refused.  The zPCI
// I/O region reaches it (tests in test_rig.cpp).
TEST(IsmBar, BarBeyondTheIndexWindowNotOffered)
{
	bool any = false;
	for (Function *f : {&fns().strict, &fns().ism}) {
		if (!f->is_open())
			continue;
		for (unsigned i = 0; i < 6; i++) {
			if (f->info().bar_size[i] <= (1ULL << 40))
				continue;
			any = true;
			SCOPED_TRACE(f->addr() + " BAR " + std::to_string(i));
			RegionRange rr;
			ASSERT_EQ(f->region_range(i, &rr), 0);
			EXPECT_EQ(rr.size, 0u) << "a BAR beyond the index window is advertised";
			EXPECT_EQ(rr.flags, 0u);
			std::uint8_t b[8];
			int err = 0;
			EXPECT_LT(f->bar_pread(i, b, 8, 0, &err), 0);
			EXPECT_EQ(err, EINVAL) << errno_name(err);
		}
	}
	if (!any)
		GTEST_SKIP() << "no BAR larger than 1 TiB on the test functions";
}

}  // namespace
