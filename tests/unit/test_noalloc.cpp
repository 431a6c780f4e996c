// SPDX-License-Identifier: MIT
// "No allocation per request on hot paths": count operator new calls while
// planning, writing and reading through both paths and moving ISM data.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include <zpci/ism.hpp>
#include <zpci/path.hpp>
#include <zpci/plan.hpp>
#include <zpci/rules.hpp>
#include <zpci/sim.hpp>

namespace {
std::atomic<bool> counting{false};
std::atomic<unsigned long> allocations{0};

void *counted_alloc(std::size_t n)
{
	if (counting.load(std::memory_order_relaxed))
		allocations.fetch_add(1, std::memory_order_relaxed);
	if (void *p = std::malloc(n ? n : 1))
		return p;
	throw std::bad_alloc();
}

struct count_scope {
	count_scope()
	{
		allocations = 0;
		counting = true;
	}
	~count_scope() { counting = false; }
};
} // namespace

// Replaces the global allocation functions for this test binary (all
// non-aligned forms, so sanitizers never see mismatched pairs).
void *operator new(std::size_t n) { return counted_alloc(n); }
void *operator new[](std::size_t n) { return counted_alloc(n); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept
{
	try {
		return counted_alloc(n);
	} catch (...) {
		return nullptr;
	}
}
void *operator new[](std::size_t n, const std::nothrow_t &t) noexcept
{
	return operator new(n, t);
}
void operator delete(void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }

using namespace zpci;

TEST(NoAlloc, CounterWorks)
{
	count_scope s;
	auto *v = new std::vector<int>(10);
	delete v;
	EXPECT_GE(allocations.load(), 2u);
}

TEST(NoAlloc, PlanningAndIoPaths)
{
	for (const char *spec : {"sim:strict", "sim-fallback:strict", "sim:ism"}) {
		SCOPED_TRACE(spec);
		auto path = open_path(spec);	// set-up may allocate
		ASSERT_TRUE(path);
		io_path &p = **path;
		std::vector<std::uint64_t> buf(64 << 10 >> 3, 0x55);
		exec_status st;
		{
			count_scope s;
			for (std::size_t len : {1u, 7u, 300u, 4096u, 65536u}) {
				ASSERT_TRUE(p.write(0, 0x3, buf.data(), len, &st));
				ASSERT_TRUE(p.read(0, 0x3, buf.data(), len, &st));
				ASSERT_TRUE(p.write(0, 0x1000, buf.data(), len, &st));
			}
			auto pl = planner::make(p.caps(), {direction::write, 0, 0x10, 9000, 0x10});
			ASSERT_TRUE(pl);
			op ops[16];
			while (!pl->done())
				pl->fill(ops);
			// Refusals do not allocate either.
			EXPECT_FALSE(p.write(1, 0, buf.data(), 8, &st));
			EXPECT_EQ(allocations.load(), 0u);
		}
	}
}

TEST(NoAlloc, IsmMove)
{
	auto path = open_path("sim:ism");
	ASSERT_TRUE(path);
	std::vector<std::byte> data(100000, std::byte{7});
	ism::move_request req{0, 1, 100, data.size(), true, 0,
			      reinterpret_cast<std::uintptr_t>(data.data())};
	std::size_t landed = 0;
	count_scope s;
	ASSERT_TRUE(ism::move(**path, req, &landed));
	EXPECT_EQ(landed, data.size());
	EXPECT_EQ(allocations.load(), 0u);
}
