// SPDX-License-Identifier: MIT
// Planner: fixed cases, then property tests over many seeded random inputs:
// every op legal, exact ascending coverage, fewest instructions (checked
// against a brute-force optimum for small lengths) and never more than
// Linux's zpci_memcpy_toio / zpci_memcpy_fromio would issue.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <random>
#include <vector>

#include <zpci/plan.hpp>
#include <zpci/rules.hpp>

using namespace zpci;

namespace {

// Reference models of Linux's arch/s390/include/asm/pci_io.h helpers, as
// the op sequences they issue (dst/src: I/O offset and memory address).
// > 8 bytes is one PCISTB (zpci_write_block), else one PCISTG/PCILG.
//
// linux_v1: zpci_get_max_write_size() (older kernels): the largest power
// of two <= max to which both addresses are aligned and that fits.
// linux_v2: zpci_get_max_io_size() (current kernels): size = min(n, max,
// 4 KiB minus the 4 KiB offset of its second argument -- the MEMORY address
// in both helpers); size itself when both addresses and size are 8-aligned,
// else 8 when size >= 8, else the largest power of two <= size, at any
// alignment (e.g. 4 bytes at an odd offset).  v2 can produce illegal ops
// (8 bytes at an unaligned offset cross a doubleword).
enum class linux_variant { v1, v2 };

std::vector<op> linux_ops(linux_variant v, direction dir, std::uint64_t io,
			  std::uint64_t mem, std::uint64_t n, std::uint8_t pcias = 0)
{
	const std::uint64_t max = dir == direction::read ? 8 : 128;
	std::vector<op> ops;
	while (n > 0) {
		std::uint64_t size;
		if (v == linux_variant::v1) {
			std::uint64_t d = io, s = mem, lim = std::min(n, max);
			size = 1;
			while (!(d & 1) && !(s & 1) && (size << 1) <= lim) {
				d >>= 1;
				s >>= 1;
				size <<= 1;
			}
		} else {
			size = std::min({n, max, 4096 - (mem & 4095)});
			if (!(io & 7) && !(mem & 7) && !(size & 7))
				;	// size as is
			else if (size >= 8)
				size = 8;
			else
				size = std::bit_floor(size);
		}
		op o;
		o.kind = dir == direction::read ? insn::pcilg
			 : size > 8 ? insn::pcistb : insn::pcistg;
		o.pcias = pcias;
		o.len = static_cast<std::uint32_t>(size);
		o.offset = io;
		o.addr = mem;
		ops.push_back(o);
		io += size;
		mem += size;
		n -= size;
	}
	return ops;
}

// Would every op of a Linux sequence be legal for the function?
bool linux_legal(const zpci_caps &caps, const std::vector<op> &ops, bool pcistg)
{
	for (const op &o : ops) {
		if (o.kind == insn::pcistg && !pcistg)
			return false;
		if (check(caps, o).rule != ZPCI_RULE_OK)
			return false;
	}
	return true;
}

std::size_t linux_toio(std::uint64_t dst, std::uint64_t src, std::uint64_t n,
		       linux_variant v = linux_variant::v1)
{
	return linux_ops(v, direction::write, dst, src, n).size();
}

std::size_t linux_fromio(std::uint64_t io, std::uint64_t dst, std::uint64_t n,
			 linux_variant v = linux_variant::v1)
{
	return linux_ops(v, direction::read, io, dst, n).size();
}

std::vector<op> plan_all(const zpci_caps &caps, const plan_request &req,
			 const plan_options &opt = {})
{
	auto p = planner::make(caps, req, opt);
	EXPECT_TRUE(p.has_value()) << p.error().message();
	std::vector<op> ops;
	if (!p)
		return ops;
	op o;
	while (p->next(o))
		ops.push_back(o);
	EXPECT_EQ(ops.size(), p->total());
	return ops;
}

// Brute force: fewest legal instructions covering the range, with the
// rules (zpci_check) as the only oracle; PCISTG/PCILG of every power-of-two
// length at every offset (aligned or not: zpci_check decides), PCISTB of
// every length.  SIZE_MAX: impossible.
std::size_t optimum(const zpci_caps &caps, const plan_request &req, bool pcistg)
{
	const std::uint64_t n = req.len;
	std::vector<std::size_t> best(n + 1, SIZE_MAX);
	best[0] = 0;
	const unsigned k = req.dir == direction::read ? ZPCI_INSN_PCILG : ZPCI_INSN_PCISTG;
	for (std::uint64_t p = 0; p < n; p++) {
		if (best[p] == SIZE_MAX)
			continue;
		std::uint64_t pos = req.offset + p;
		auto relax = [&](std::uint64_t len) {
			if (best[p] + 1 < best[p + len])
				best[p + len] = best[p] + 1;
		};
		if (k == ZPCI_INSN_PCILG || pcistg) {
			for (std::uint64_t s = 1; s <= 8 && p + s <= n; s <<= 1)
				if (zpci_check(&caps, k, req.pcias, pos, s, 0).rule == ZPCI_RULE_OK)
					relax(s);
		}
		if (req.dir == direction::write) {
			for (std::uint64_t len = 1; len <= caps.maxstbl && p + len <= n; len++)
				if (zpci_check(&caps, ZPCI_INSN_PCISTB, req.pcias, pos, len,
					       req.addr + p).rule == ZPCI_RULE_OK)
					relax(len);
		}
	}
	return best[n];
}

void check_plan_properties(const zpci_caps &caps, const plan_request &req,
			   const std::vector<op> &ops)
{
	ASSERT_FALSE(ops.empty());
	std::uint64_t pos = req.offset;
	for (const op &o : ops) {
		ASSERT_EQ(o.offset, pos) << "gap or overlap";
		EXPECT_EQ(o.pcias, req.pcias);
		EXPECT_EQ(o.addr, req.addr + (o.offset - req.offset));
		EXPECT_GT(o.len, 0u);
		if (req.dir == direction::read)
			EXPECT_EQ(o.kind, insn::pcilg);
		else
			EXPECT_NE(o.kind, insn::pcilg);
		zpci_verdict v = check(caps, o);
		ASSERT_EQ(v.rule, ZPCI_RULE_OK)
			<< insn_name(o.kind) << " off " << o.offset << " len " << o.len
			<< ": " << zpci_rule_name(v.rule);
		if (o.kind != insn::pcistb) {
			EXPECT_TRUE(o.len == 1 || o.len == 2 || o.len == 4 || o.len == 8)
				<< "PCISTG/PCILG length " << o.len << " is not a power of two";
			EXPECT_LE((o.offset & 7) + o.len, 8u) << "crosses a doubleword";
		}
		pos += o.len;
	}
	EXPECT_EQ(pos, req.offset + req.len) << "not covered exactly";
}

} // namespace

TEST(Plan, AlignedStrictWriteUsesMaxstblBlocks)
{
	zpci_caps caps = strict_caps(128);
	auto ops = plan_all(caps, {direction::write, 0, 0x1000, 512, 0x8000});
	ASSERT_EQ(ops.size(), 4u);
	for (std::size_t i = 0; i < 4; i++) {
		EXPECT_EQ(ops[i].kind, insn::pcistb);
		EXPECT_EQ(ops[i].len, 128u);
		EXPECT_EQ(ops[i].offset, 0x1000 + 128 * i);
	}
}

TEST(Plan, UnalignedHeadAndTail)
{
	zpci_caps caps = strict_caps(128);
	// 0xff9..0x1125: head 1+2+4 to 0x1000 (naturally aligned: as few as
	// any other split), blocks, tail 4+1.
	auto ops = plan_all(caps, {direction::write, 0, 0xff9, 300, 0x1});
	std::vector<std::pair<insn, std::uint32_t>> want = {
		{insn::pcistg, 1}, {insn::pcistg, 2}, {insn::pcistg, 4},
		{insn::pcistb, 128}, {insn::pcistb, 128}, {insn::pcistb, 32},
		{insn::pcistg, 4}, {insn::pcistg, 1}};
	ASSERT_EQ(ops.size(), want.size());
	for (std::size_t i = 0; i < want.size(); i++) {
		EXPECT_EQ(ops[i].kind, want[i].first) << i;
		EXPECT_EQ(ops[i].len, want[i].second) << i;
	}
}

TEST(Plan, NeverCrosses4KAndUses4KBlocksWhenAllowed)
{
	zpci_caps caps = strict_caps(4096);
	auto ops = plan_all(caps, {direction::write, 0, 0x800, 0x2000, 0});
	ASSERT_EQ(ops.size(), 3u);
	EXPECT_EQ(ops[0].len, 0x800u);
	EXPECT_EQ(ops[1].len, 0x1000u);
	EXPECT_EQ(ops[2].len, 0x800u);

	zpci_caps ism = ism_caps();
	auto r = plan_all(ism, {direction::write, 0, 0x123, 0x3000, 0x7});
	ASSERT_EQ(r.size(), 4u);
	for (const op &o : r)
		EXPECT_EQ(o.kind, insn::pcistb);
	EXPECT_EQ(r[0].len, 0x1000u - 0x123);
}

TEST(Plan, MisalignedSourceOnStrictFallsBackToPcistg)
{
	zpci_caps caps = strict_caps(128);
	auto ops = plan_all(caps, {direction::write, 0, 0x1000, 64, 0x4});
	ASSERT_EQ(ops.size(), 8u);
	for (const op &o : ops) {
		EXPECT_EQ(o.kind, insn::pcistg);
		EXPECT_EQ(o.len, 8u);
	}
}

TEST(Plan, NoLegalSequenceIsAClearError)
{
	zpci_caps caps = strict_caps(128);
	plan_options no_stg{false};
	auto r = planner::make(caps, {direction::write, 0, 0x1001, 64, 0x1}, no_stg);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), make_error_code(errc::no_legal_sequence));
	// Misaligned source relative to the target: no PCISTB, no PCISTG.
	r = planner::make(caps, {direction::write, 0, 0x1000, 64, 0x4}, no_stg);
	EXPECT_FALSE(r);
	// 8 bytes cannot be one strict PCISTB.
	r = planner::make(caps, {direction::write, 0, 0x1000, 8, 0}, no_stg);
	EXPECT_FALSE(r);
	// 136 bytes without PCISTG: 120 + 16 instead of 128 + 8.
	auto ops = plan_all(caps, {direction::write, 0, 0x1000, 136, 0}, no_stg);
	ASSERT_EQ(ops.size(), 2u);
	EXPECT_EQ(ops[0].len, 120u);
	EXPECT_EQ(ops[1].len, 16u);
	// The ISM DMB space refuses PCISTG but relaxed PCISTB covers anything.
	zpci_caps ism = ism_caps();
	EXPECT_TRUE(planner::make(ism, {direction::write, 0, 3, 5, 1}));
}

TEST(Plan, BadRequestsChangeNothingAndSayWhy)
{
	zpci_caps caps = strict_caps(128, 0x05, 0x10000);
	auto err = [&](plan_request req) {
		auto r = planner::make(caps, req);
		EXPECT_FALSE(r);
		return r ? std::error_code{} : r.error();
	};
	EXPECT_EQ(err({direction::write, 0, 0, 0, 0}), make_error_code(errc::zero_length));
	EXPECT_EQ(err({direction::write, 0, ~0ULL - 4, 8, 0}), make_error_code(errc::range_overflow));
	EXPECT_EQ(rule_of(err({direction::write, 1, 0, 8, 0})), unsigned(ZPCI_RULE_PCIAS));
	EXPECT_EQ(rule_of(err({direction::read, 15, 0, 4, 0})), unsigned(ZPCI_RULE_PCIAS));
	EXPECT_EQ(rule_of(err({direction::write, 0, 0xfff8, 16, 0})), unsigned(ZPCI_RULE_BEYOND_BAR));
	zpci_caps bad = caps;
	bad.maxstbl = 4;
	EXPECT_EQ(rule_of(planner::make(bad, {direction::write, 0, 0, 8, 0}).error()),
		  unsigned(ZPCI_RULE_CAPS));
}

TEST(Plan, ReadsArePowerOfTwoLoadsInsideDoublewords)
{
	zpci_caps caps = strict_caps(128);
	// Bytes 3..24: 5 in the first doubleword (1 at 3, 4 at 4: aligned,
	// and as few as 4 at 3 + 1 at 7), two full doublewords, 1 byte.
	auto ops = plan_all(caps, {direction::read, 0, 0x3, 22, 0x100});
	std::vector<std::pair<std::uint64_t, std::uint32_t>> want = {
		{3, 1}, {4, 4}, {8, 8}, {16, 8}, {24, 1}};
	ASSERT_EQ(ops.size(), want.size());
	for (std::size_t i = 0; i < want.size(); i++) {
		EXPECT_EQ(ops[i].offset, want[i].first) << i;
		EXPECT_EQ(ops[i].len, want[i].second) << i;
	}
}

// The issue-7 cases: power-of-two PCISTG/PCILG at unaligned offsets inside
// one doubleword, as Linux's zpci_get_max_io_size() splitter issues them.
TEST(Plan, UnalignedPowerOfTwoInsideADoubleword)
{
	zpci_caps caps = strict_caps(128);
	struct tc {
		direction dir;
		std::uint64_t off, len;
		std::vector<std::uint32_t> lens;
	} cases[] = {
		{direction::write, 0x1001, 4, {4}},		// was 1+2+1
		{direction::write, 0x1003, 4, {4}},
		{direction::write, 0x1001, 6, {4, 2}},		// was 1+2+2+1
		{direction::write, 0x1002, 4, {4}},		// was 2+2
		{direction::write, 0x1001, 7, {1, 2, 4}},	// aligned when as few
		{direction::write, 0x1005, 4, {1, 2, 1}},	// 3 left in the dword
		{direction::write, 0x1003, 5, {1, 4}},
		{direction::write, 0x1002, 6, {2, 4}},
		{direction::write, 0x1006, 5, {2, 2, 1}},	// 2, then 3 in the next
		{direction::read, 0x1001, 4, {4}},
		{direction::read, 0x1006, 2, {2}},
		{direction::read, 0x1003, 10, {1, 4, 4, 1}},	// 5 + 5
	};
	for (const tc &c : cases) {
		SCOPED_TRACE(::testing::Message() << "dir " << int(c.dir) << " off 0x"
			     << std::hex << c.off << std::dec << " len " << c.len);
		plan_request req{c.dir, 0, c.off, c.len, 0x2000 + (c.off & 7)};
		auto ops = plan_all(caps, req);
		ASSERT_EQ(ops.size(), c.lens.size());
		for (std::size_t i = 0; i < ops.size(); i++) {
			EXPECT_NE(ops[i].kind, insn::pcistb);
			EXPECT_EQ(ops[i].len, c.lens[i]) << i;
		}
		EXPECT_EQ(ops.size(), optimum(caps, req, true));
		auto lx = linux_ops(linux_variant::v2, c.dir, req.offset, req.addr, req.len);
		if (linux_legal(caps, lx, true)) {
			EXPECT_LE(ops.size(), lx.size());
		}
	}
	// The example of the issue: Linux (v2) issues 1 PCISTG here.
	EXPECT_EQ(linux_toio(0x1001, 0x2001, 4, linux_variant::v2), 1u);
	EXPECT_EQ(plan_count(caps, {direction::write, 0, 0x1001, 4, 0x2001}).value(), 1u);
}

TEST(Plan, FillInChunksEqualsNext)
{
	zpci_caps caps = strict_caps(128);
	plan_request req{direction::write, 0, 0x7, 5000, 0x7};
	auto all = plan_all(caps, req);
	auto p = planner::make(caps, req);
	ASSERT_TRUE(p);
	std::vector<op> got;
	op buf[3];
	while (!p->done()) {
		std::size_t n = p->fill(buf);
		ASSERT_GT(n, 0u);
		got.insert(got.end(), buf, buf + n);
		EXPECT_EQ(p->remaining(), all.size() - got.size());
	}
	EXPECT_EQ(got, all);
	std::vector<op> small(2);
	EXPECT_EQ(plan(caps, req, small).error(), make_error_code(errc::too_many_ops));
	std::vector<op> big(all.size());
	EXPECT_EQ(plan(caps, req, big).value(), all.size());
	EXPECT_EQ(plan_count(caps, req).value(), all.size());
}

// Property test: random functions and requests (seeded, reproducible).
TEST(PlanProperty, RandomRequests)
{
	std::mt19937_64 rng(20261121);
	const std::uint32_t maxstbls[] = {16, 24, 64, 128, 256, 1000, 4096};
	int checked_bound = 0, checked_opt = 0, impossible = 0;
	for (int iter = 0; iter < 4000; iter++) {
		std::uint32_t maxstbl = maxstbls[rng() % 7];
		bool relaxed = rng() % 3 == 0;
		bool pcistg = rng() % 4 != 0;
		zpci_caps caps = strict_caps(maxstbl);
		if (relaxed)
			caps.flags |= ZPCI_CAPS_RELAXED;
		plan_request req;
		req.dir = rng() % 4 == 0 ? direction::read : direction::write;
		req.pcias = static_cast<std::uint8_t>(rng() % 6);
		// Offsets near 4 KiB boundaries and anywhere.
		req.offset = (rng() % 2) ? (rng() % 64) * 4096 + 4096 - rng() % 300
					 : rng() % (1u << 24);
		req.len = (rng() % 3 == 0) ? 1 + rng() % 16 : 1 + rng() % ((iter % 10 == 0) ? 20000 : 300);
		req.addr = (rng() % 2) ? (rng() % (1u << 20)) * 8 + (req.offset & 7)
				       : rng();
		plan_options opt{pcistg};
		SCOPED_TRACE(::testing::Message() << "iter " << iter << " maxstbl " << maxstbl
			     << " relaxed " << relaxed << " pcistg " << pcistg << " dir "
			     << int(req.dir) << " off " << req.offset << " len " << req.len
			     << " src " << req.addr);
		auto p = planner::make(caps, req, opt);
		bool small = req.len <= 300;
		if (!p) {
			ASSERT_EQ(p.error(), make_error_code(errc::no_legal_sequence));
			impossible++;
			if (small) {
				EXPECT_EQ(optimum(caps, req, pcistg), SIZE_MAX)
					<< "planner gave up on a possible request";
			}
			continue;
		}
		std::vector<op> ops;
		op o;
		while (p->next(o))
			ops.push_back(o);
		ASSERT_EQ(ops.size(), p->total());
		check_plan_properties(caps, req, ops);
		if (HasFatalFailure())
			return;
		if (small) {
			EXPECT_EQ(ops.size(), optimum(caps, req, pcistg)) << "not the fewest";
			checked_opt++;
		}
		// The bound vs Linux (both splitters) holds wherever Linux's
		// own sequence is legal for the function.
		for (auto v : {linux_variant::v1, linux_variant::v2}) {
			auto lx = linux_ops(v, req.dir, req.offset, req.addr, req.len,
					    req.pcias);
			if (!linux_legal(caps, lx, pcistg))
				continue;
			EXPECT_LE(ops.size(), lx.size()) << "more than Linux v" << int(v) + 1;
			checked_bound++;
		}
	}
	EXPECT_GT(checked_bound, 1500);
	EXPECT_GT(checked_opt, 2000);
	EXPECT_GT(impossible, 10);	// the generator does reach impossible cases
}

// Exhaustive over short requests: every offset inside two doublewords next
// to a 4 KiB boundary and away from it, every length up to 40, every
// source misalignment, reads and writes, strict (maxstbl 16, 24, 128, with
// and without PCISTG) and relaxed.  Planner == brute-force optimum, and
// <= Linux (both splitters) wherever Linux's sequence is legal.
TEST(PlanProperty, ExhaustiveShortRequests)
{
	struct fn {
		zpci_caps caps;
		bool pcistg;
	};
	std::vector<fn> fns;
	for (std::uint32_t m : {16u, 24u, 128u})
		for (bool stg : {true, false})
			fns.push_back({strict_caps(m), stg});
	zpci_caps rel = strict_caps(128);
	rel.flags |= ZPCI_CAPS_RELAXED;
	fns.push_back({rel, true});
	std::size_t cases = 0, optimal = 0, bound = 0, linux_illegal = 0;
	std::size_t max_plan = 0, max_linux = 0, fewer = 0;
	for (const fn &f : fns)
		for (auto dir : {direction::write, direction::read})
			for (std::uint64_t base : {0x2000ull, 0x2ff0ull})
				for (std::uint64_t o = 0; o < 16; o++)
					for (std::uint64_t len = 1; len <= 40; len++)
						for (std::uint64_t sm = 0; sm < 8; sm++) {
		plan_request req{dir, 0, base + o, len, 0x10000 + sm};
		plan_options opt{f.pcistg};
		SCOPED_TRACE(::testing::Message() << "maxstbl " << f.caps.maxstbl
			     << " relaxed " << zpci_caps_relaxed(&f.caps) << " pcistg "
			     << f.pcistg << " dir " << int(dir) << " off 0x" << std::hex
			     << req.offset << " src 0x" << req.addr << std::dec << " len "
			     << len);
		cases++;
		auto p = planner::make(f.caps, req, opt);
		const std::size_t best = optimum(f.caps, req, f.pcistg);
		if (!p) {
			ASSERT_EQ(best, SIZE_MAX) << "planner gave up on a possible request";
			continue;
		}
		std::vector<op> ops;
		op x;
		while (p->next(x))
			ops.push_back(x);
		check_plan_properties(f.caps, req, ops);
		ASSERT_EQ(ops.size(), best) << "not the fewest";
		optimal++;
		max_plan = std::max(max_plan, ops.size());
		for (auto v : {linux_variant::v1, linux_variant::v2}) {
			auto lx = linux_ops(v, dir, req.offset, req.addr, len);
			if (!linux_legal(f.caps, lx, f.pcistg)) {
				linux_illegal++;
				continue;
			}
			ASSERT_LE(ops.size(), lx.size()) << "more than Linux v" << int(v) + 1;
			bound++;
			fewer += ops.size() < lx.size();
			max_linux = std::max(max_linux, lx.size());
		}
						}
	std::printf("[ plan ] %zu short requests: %zu optimal, %zu compared with a legal "
		    "Linux sequence (%zu strictly fewer), %zu Linux sequences illegal; "
		    "max ops planner %zu, Linux %zu\n", cases, optimal, bound, fewer,
		    linux_illegal, max_plan, max_linux);
	EXPECT_EQ(cases, fns.size() * 2 * 2 * 16 * 40 * 8);
	EXPECT_GT(bound, cases / 2);
	EXPECT_GT(linux_illegal, 0u);	// the v2 model does reach illegal 8-byte PCISTGs
}

TEST(PlanProperty, LinuxModelSanity)
{
	// The models themselves, on hand-computed inputs.
	using enum linux_variant;
	EXPECT_EQ(linux_toio(0x1000, 0x2000, 4096), 32u);	// 32 x 128
	EXPECT_EQ(linux_toio(0x1001, 0x2001, 8), 4u);		// 1,2,4,1
	EXPECT_EQ(linux_toio(0x1000, 0x2004, 16), 4u);		// 4 x 4
	EXPECT_EQ(linux_toio(0x1000, 0x2000, 24), 2u);		// 16 + 8
	EXPECT_EQ(linux_fromio(0x1003, 0x0, 8), 8u);		// src 3, dst 0: 1 each
	EXPECT_EQ(linux_toio(0x1000, 0x2000, 4096, v2), 32u);
	EXPECT_EQ(linux_toio(0x1000, 0x2000, 24, v2), 1u);	// one 24-byte PCISTB
	EXPECT_EQ(linux_toio(0x1001, 0x2001, 4, v2), 1u);	// 4 at an odd offset
	EXPECT_EQ(linux_toio(0x1001, 0x2001, 6, v2), 2u);	// 4 + 2
	EXPECT_EQ(linux_toio(0x1000, 0x2004, 16, v2), 2u);	// 8 + 8 (PCISTG)
	EXPECT_EQ(linux_fromio(0x1003, 0x0, 8, v2), 1u);	// 8 at offset 3
	// ...which crosses a doubleword: not legal, so not a bound.
	zpci_caps caps = strict_caps(128);
	EXPECT_FALSE(linux_legal(caps, linux_ops(v2, direction::read, 0x1003, 0, 8), true));
	EXPECT_TRUE(linux_legal(caps, linux_ops(v2, direction::write, 0x1001, 0x2001, 6), true));
	// v2 splits at the MEMORY address's 4 KiB boundary: 0xff8 in memory.
	auto ops = linux_ops(v2, direction::write, 0x1000, 0x2ff8, 24);
	ASSERT_EQ(ops.size(), 2u);
	EXPECT_EQ(ops[0].len, 8u);
	EXPECT_EQ(ops[1].len, 16u);
	// Planner beats it where alignment allows larger blocks.
	EXPECT_EQ(plan_count(caps, {direction::write, 0, 0x1000, 24, 0x2000}).value(), 1u);
}
