// SPDX-License-Identifier: MIT
// Guest test of the test QEMU itself: code that the CPU runs must be the
// code in memory.  QEMU 7.2's TCG, after a block store (MVC, XC, MVCL, ...)
// into a page it had translated code from, dropped only the translations
// that overlap the store's first byte; the other bytes' old code kept
// running.  A kernel module loaded where an unloaded one's text was (the
// debug kernel's alternating reload, tests/debugkernel) then executed the
// old module's instructions.  tests/vm/qemu/0003-* fixes it; Debian's
// qemu-system-s390x 7.2 (--stock) still has it, so the test needs the
// patched QEMU.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "suite.hpp"

using namespace zpci_vm;

namespace {

using code_fn = long (*)();

// lghi %r2,N ; br %r14
void put_return(unsigned char *p, unsigned char n)
{
	const unsigned char code[6] = { 0xa7, 0x29, 0x00, n, 0x07, 0xfe };

	std::memcpy(p, code, sizeof(code));
}

}  // namespace

TEST(Qemu, BlockStoreDropsStaleTranslatedCode)
{
	if (!fns().patched())
		GTEST_SKIP() << "Debian's QEMU 7.2 (stock mode) keeps stale translated code";
	void *m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(m, MAP_FAILED) << "mmap of an executable page: " << std::strerror(errno);
	auto *page = static_cast<unsigned char *>(m);
	volatile unsigned char *vp = page;
	unsigned char one[6], two[32];

	// the first code goes in with byte stores, and runs once: QEMU now
	// holds a translation of the code at 0x100
	put_return(one, 1);
	for (int i = 0; i < 6; i++)
		vp[0x100 + i] = one[i];
	EXPECT_EQ(reinterpret_cast<code_fn>(page + 0x100)(), 1);

	// new code 16 bytes into one 32-byte MVC that starts at 0xf0
	std::memset(two, 0x07, sizeof(two));
	put_return(two + 0x10, 2);
	asm volatile("mvc 0(32,%0),0(%1)" : : "a"(page + 0xf0), "a"(two) : "memory");
	ASSERT_EQ(std::memcmp(page + 0x100, two + 0x10, 6), 0) << "the MVC did not store";
	EXPECT_EQ(reinterpret_cast<code_fn>(page + 0x100)(), 2)
		<< "memory holds 'lghi %r2,2' but the CPU ran the old 'lghi %r2,1'";
	munmap(m, 4096);
}
