// SPDX-License-Identifier: MIT
// The simulated function (refusals with cc/status/pgm, stats, shared
// memory) and the two paths on top of it.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include <zpci/path.hpp>
#include <zpci/plan.hpp>
#include <zpci/rules.hpp>
#include <zpci/sim.hpp>

using namespace zpci;

namespace {

std::unique_ptr<sim_function> make_sim(sim_config cfg = sim_config::strict())
{
	auto s = sim_function::create(cfg);
	EXPECT_TRUE(s) << s.error().message();
	return s ? std::move(*s) : nullptr;
}

op mk(insn k, unsigned pcias, std::uint64_t off, std::uint32_t len, const void *buf)
{
	return op{k, static_cast<std::uint8_t>(pcias), 0, len, off,
		  reinterpret_cast<std::uintptr_t>(buf)};
}

std::vector<std::byte> pattern(std::size_t n, unsigned seed)
{
	std::vector<std::byte> v(n);
	for (std::size_t i = 0; i < n; i++)
		v[i] = std::byte((i * 131 + seed * 7 + 1) & 0xff);
	return v;
}

} // namespace

TEST(Sim, StrictExecutesLegalOpsAndCounts)
{
	auto sim = make_sim();
	alignas(8) std::uint8_t src[128];
	for (int i = 0; i < 128; i++)
		src[i] = std::uint8_t(i);
	std::uint8_t dst[8] = {};
	op ops[] = {mk(insn::pcistb, 0, 0x1000, 128, src),
		    mk(insn::pcistg, 2, 0x11, 1, src + 5),
		    mk(insn::pcilg, 0, 0x1008, 8, dst)};
	exec_status st;
	auto r = sim->submit(ops, &st);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(*r, 3u);
	EXPECT_EQ(st.done, 3u);
	EXPECT_FALSE(st.error);
	EXPECT_EQ(std::memcmp(sim->bar_memory(0).data() + 0x1000, src, 128), 0);
	EXPECT_EQ(std::to_integer<int>(sim->bar_memory(2)[0x11]), 5);
	EXPECT_EQ(std::memcmp(dst, src + 8, 8), 0);
	const sim_stats &s = sim->stats();
	EXPECT_EQ(s.ops[ZPCI_INSN_PCISTB], 1u);
	EXPECT_EQ(s.bytes[ZPCI_INSN_PCISTB], 128u);
	EXPECT_EQ(s.ops[ZPCI_INSN_PCISTG], 1u);
	EXPECT_EQ(s.ops[ZPCI_INSN_PCILG], 1u);
	EXPECT_EQ(s.submits, 1u);
	EXPECT_EQ(s.total_ops(), 3u);
}

struct refusal {
	const char *name;
	op o;
	int err;
	unsigned rule;
	std::uint8_t cc, status, pgm;
};

TEST(Sim, RefusesWhatTheRulesRefuseWithCcStatusPgm)
{
	alignas(8) static std::uint8_t buf[256];
	const refusal cases[] = {
		{"bar1", mk(insn::pcistb, 1, 0, 16, buf), EIO, ZPCI_RULE_PCIAS, 1, 20, 0},
		{"config", mk(insn::pcilg, 15, 0, 4, buf), EIO, ZPCI_RULE_PCIAS, 1, 20, 0},
		{"off", mk(insn::pcistb, 0, 4, 16, buf), EIO, ZPCI_RULE_OFFSET_ALIGN, 0, 0, 6},
		{"len", mk(insn::pcistb, 0, 0, 136, buf), EIO, ZPCI_RULE_LEN_RANGE, 0, 0, 6},
		{"4k", mk(insn::pcistb, 0, 0xff8, 16, buf), EIO, ZPCI_RULE_CROSS_4K, 0, 0, 6},
		{"src", mk(insn::pcistb, 0, 0, 16, buf + 1), EIO, ZPCI_RULE_SRC_ALIGN, 0, 0, 6},
		{"beyond", mk(insn::pcistb, 2, 0x10000, 16, buf), EIO, ZPCI_RULE_BEYOND_BAR, 0, 0, 0x15},
		{"cross8", mk(insn::pcistg, 0, 7, 2, buf), EIO, ZPCI_RULE_CROSS_8B, 0, 0, 0x15},
		{"insn", mk(static_cast<insn>(9), 0, 0, 8, buf), EINVAL, ZPCI_RULE_INSN, 0, 0, 0},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE(c.name);
		auto sim = make_sim();
		std::memset(sim->bar_memory(0).data(), 0, 0x2000);
		alignas(8) std::uint8_t good[16];
		std::memset(good, 0xab, sizeof(good));
		// One good op, the bad one, another good one: stop at the bad one.
		op ops[] = {mk(insn::pcistb, 0, 0x100, 16, good), c.o,
			    mk(insn::pcistb, 0, 0x200, 16, good)};
		exec_status st;
		auto r = sim->submit(ops, &st);
		ASSERT_FALSE(r);
		EXPECT_EQ(r.error(), sys_error(c.err));
		EXPECT_EQ(st.error, r.error());
		EXPECT_EQ(st.done, 1u);
		EXPECT_EQ(st.rule, c.rule);
		EXPECT_EQ(st.cc, c.cc);
		EXPECT_EQ(st.status, c.status);
		EXPECT_EQ(st.pgm, c.pgm);
		EXPECT_EQ(std::to_integer<int>(sim->bar_memory(0)[0x100]), 0xab);
		EXPECT_EQ(std::to_integer<int>(sim->bar_memory(0)[0x200]), 0) << "ran past the failure";
		EXPECT_EQ(sim->stats().refused, 1u);
	}
}

TEST(Sim, BatchLimitsAndFlags)
{
	sim_config cfg = sim_config::strict();
	cfg.max_ops = 2;
	auto sim = make_sim(cfg);
	alignas(8) std::uint8_t b[8] = {};
	op ops[3] = {mk(insn::pcistg, 0, 0, 8, b), mk(insn::pcistg, 0, 8, 8, b),
		     mk(insn::pcistg, 0, 16, 8, b)};
	exec_status st;
	EXPECT_EQ(sim->submit(ops, &st).error(), sys_error(E2BIG));
	EXPECT_EQ(sim->stats().total_ops(), 0u);
	EXPECT_EQ(sim->submit({}, &st).error(), sys_error(EINVAL));
	ops[0].flags = 1;
	EXPECT_EQ(sim->submit(std::span<const op>(ops, 1), &st).error(), sys_error(EINVAL));
}

TEST(Sim, InjectedFailuresMapToErrno)
{
	auto sim = make_sim();
	alignas(8) std::uint8_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct {
		std::uint8_t cc, status, pgm;
		int err;
	} cases[] = {{1, 16, 0, EIO}, {2, 0, 0, EBUSY}, {3, 0, 0, ENODEV}, {0, 0, 6, EIO}};
	for (auto c : cases) {
		sim->inject_failure(1, c.cc, c.status, c.pgm);
		op ops[] = {mk(insn::pcistg, 0, 0, 8, b), mk(insn::pcistg, 0, 8, 8, b)};
		exec_status st;
		auto r = sim->submit(ops, &st);
		ASSERT_FALSE(r);
		EXPECT_EQ(r.error(), sys_error(c.err));
		EXPECT_EQ(st.done, 1u);
		EXPECT_TRUE(st.cc_valid);
		EXPECT_EQ(st.cc, c.cc);
		EXPECT_EQ(st.status, c.status);
		EXPECT_EQ(st.pgm, c.pgm);
		// One-shot: the same batch now runs.
		EXPECT_TRUE(sim->submit(ops, &st));
	}
}

TEST(Sim, BarDeviceInterface)
{
	auto sim = make_sim();
	std::uint32_t v = 0xdeadbeef, back = 0;
	ASSERT_TRUE(sim->bar_write(0, 0x40, &v, 4));
	ASSERT_TRUE(sim->bar_read(0, 0x40, &back, 4));
	EXPECT_EQ(back, v);
	EXPECT_EQ(sim->bar_write(0, 0, &v, 9).error(), sys_error(EINVAL));
	EXPECT_EQ(sim->bar_write(0, 0, &v, 0).error(), sys_error(EINVAL));
	EXPECT_EQ(sim->bar_write(0, 6, &v, 4).error(), sys_error(EIO));	// crosses 8
	EXPECT_EQ(sim->bar_read(1, 0, &back, 4).error(), sys_error(EIO));	// no BAR 1
	EXPECT_EQ(sim->stats().bar_calls, 6u);
}

TEST(Sim, IsmModel)
{
	auto sim = make_sim(sim_config::ism());
	EXPECT_TRUE(zpci_caps_relaxed(&sim->caps()));
	EXPECT_EQ(sim->caps().pft, ZPCI_PFT_ISM);
	std::uint8_t b[16] = {9, 8, 7};
	exec_status st;
	// DMB space refuses PCISTG (cc 1, status 20), takes any PCISTB.
	op stg = mk(insn::pcistg, 0, 0, 8, b);
	auto r = sim->submit(std::span<const op>(&stg, 1), &st);
	ASSERT_FALSE(r);
	EXPECT_EQ(st.rule, unsigned(ZPCI_RULE_NO_PCISTG));
	EXPECT_EQ(st.cc, 1);
	EXPECT_EQ(st.status, 20);
	op stb = mk(insn::pcistb, 0, (1ULL << 24) | 5, 3, b);	// DMB 1, offset 5
	ASSERT_TRUE(sim->submit(std::span<const op>(&stb, 1), &st));
	EXPECT_EQ(std::to_integer<int>(sim->dmb(1)[5]), 9);
	EXPECT_EQ(std::to_integer<int>(sim->dmb(1)[7]), 7);
	EXPECT_EQ(sim->last_signal().seq, 0u);
	// Unknown DMB index: operand exception.
	op bad = mk(insn::pcistb, 0, (7ULL << 24), 3, b);
	EXPECT_FALSE(sim->submit(std::span<const op>(&bad, 1), &st));
	EXPECT_EQ(st.pgm, ZPCI_PGM_OPERAND);
	// Command space takes PCISTG.
	op cmd = mk(insn::pcistg, 2, 8, 8, b);
	EXPECT_TRUE(sim->submit(std::span<const op>(&cmd, 1), &st));
}

TEST(Sim, SharedMemoryLifetime)
{
	sim_config cfg = sim_config::strict();
	cfg.shm_name = "zpci-test-lifetime-" + std::to_string(::getpid());
	std::string name = cfg.shm_name;
	{
		auto sim = make_sim(cfg);
		ASSERT_TRUE(sim);
		EXPECT_EQ(sim->shm_name(), name);
		auto dup = sim_function::create(cfg);
		EXPECT_FALSE(dup);	// exists already
		auto peer = sim_function::attach(name);
		ASSERT_TRUE(peer) << peer.error().message();
		std::uint64_t v = 0x1122334455667788ULL;
		ASSERT_TRUE(sim->bar_write(2, 0x80, &v, 8));
		std::uint64_t back = 0;
		ASSERT_TRUE((*peer)->bar_read(2, 0x80, &back, 8));
		EXPECT_EQ(back, v);
		EXPECT_EQ((*peer)->caps().maxstbl, 128u);
	}
	EXPECT_FALSE(sim_function::attach(name)) << "shared memory not removed";
	EXPECT_FALSE(sim_function::attach("bad/name"));
	EXPECT_FALSE(sim_function::attach(""));
}

TEST(Sim, RejectsBadConfig)
{
	sim_config cfg = sim_config::strict();
	cfg.caps.maxstbl = 4;
	EXPECT_FALSE(sim_function::create(cfg));
	cfg = sim_config::strict();
	cfg.bar_bytes[0] = 0;	// BAR 0 implemented but no memory
	EXPECT_FALSE(sim_function::create(cfg));
	cfg = sim_config::ism();
	cfg.dmb_token = 0x1234;	// low bits of a token must be 0
	EXPECT_FALSE(sim_function::create(cfg));
}

// --- paths ---

TEST(Path, RegionRoundTripMatchesPlan)
{
	auto path = open_path("sim:strict");
	ASSERT_TRUE(path) << path.error().message();
	io_path &p = **path;
	EXPECT_EQ(p.kind(), "region");
	sim_function *sim = p.simulator();
	ASSERT_NE(sim, nullptr);
	std::mt19937 rng(7);
	for (int i = 0; i < 200; i++) {
		std::size_t len = 1 + rng() % 9000;
		std::uint64_t off = rng() % (0x100000 - len);
		std::size_t shift = rng() % 8;
		auto data = pattern(len + 8, i);
		const std::byte *src = data.data() + shift;
		p.reset_stats();
		sim->reset_stats();
		exec_status st;
		ASSERT_TRUE(p.write(0, off, src, len, &st));
		auto n = plan_count(p.caps(), {direction::write, 0, off, len,
					       reinterpret_cast<std::uintptr_t>(src)});
		ASSERT_TRUE(n);
		EXPECT_EQ(st.done, *n);
		EXPECT_EQ(p.stats().instructions, *n);
		EXPECT_EQ(sim->stats().total_ops(), *n);
		EXPECT_EQ(p.stats().calls, (*n + 255) / 256);	// max_ops 256
		std::vector<std::byte> back(len);
		ASSERT_TRUE(p.read(0, off, back.data(), len, &st));
		ASSERT_EQ(std::memcmp(back.data(), src, len), 0) << "off " << off << " len " << len;
	}
}

TEST(Path, FallbackSplitsIntoEightByteAccesses)
{
	auto path = open_path("sim-fallback:strict");
	ASSERT_TRUE(path);
	io_path &p = **path;
	EXPECT_EQ(p.kind(), "fallback");
	auto data = pattern(4096, 3);
	exec_status st;
	ASSERT_TRUE(p.write(0, 0x1000, data.data(), 4096, &st));
	EXPECT_EQ(st.done, 512u);	// one 4 KiB PCISTB would be 512 stores
	EXPECT_EQ(p.stats().calls, 512u);
	EXPECT_EQ(p.simulator()->stats().ops[ZPCI_INSN_PCISTG], 512u);
	std::vector<std::byte> back(4096);
	ASSERT_TRUE(p.read(0, 0x1000, back.data(), 4096));
	EXPECT_EQ(back, data);
	// Unaligned: 1 + 2 + 4 head, 8s, tail.
	p.reset_stats();
	ASSERT_TRUE(p.write(0, 0x2001, data.data(), 20, &st));
	EXPECT_EQ(st.done, 6u);	// 0x2001..0x2015: 1, 2, 4, 8, 4, 1
}

TEST(Path, FallbackCannotWriteIsmDmbAndSaysSo)
{
	auto path = open_path("sim-fallback:ism");
	ASSERT_TRUE(path);
	auto data = pattern(256, 1);
	exec_status st;
	auto r = (*path)->write(0, 0, data.data(), 256, &st);
	ASSERT_FALSE(r);
	EXPECT_EQ(rule_of(r.error()), unsigned(ZPCI_RULE_NO_PCISTG));
	EXPECT_EQ(st.done, 0u);
	EXPECT_EQ((*path)->stats().calls, 0u) << "issued something before refusing";
	// Loads work (PCILG is accepted everywhere implemented).
	EXPECT_TRUE((*path)->read(0, 0, data.data(), 16));
	// The region path writes it with PCISTB.
	auto region = open_path("sim:ism");
	ASSERT_TRUE(region);
	EXPECT_TRUE((*region)->write(0, 3, data.data(), 256, &st));
	EXPECT_EQ(st.done, 1u);
}

TEST(Path, BadInputChangesNothing)
{
	for (const char *spec : {"sim:strict", "sim-fallback:strict"}) {
		SCOPED_TRACE(spec);
		auto path = open_path(spec);
		ASSERT_TRUE(path);
		io_path &p = **path;
		auto data = pattern(64, 2);
		exec_status st;
		EXPECT_EQ(p.write(0, 0, data.data(), 0, &st).error(), make_error_code(errc::zero_length));
		EXPECT_EQ(p.write(0, ~0ULL - 3, data.data(), 8, &st).error(),
			  make_error_code(errc::range_overflow));
		EXPECT_EQ(rule_of(p.write(1, 0, data.data(), 8, &st).error()), unsigned(ZPCI_RULE_PCIAS));
		EXPECT_EQ(rule_of(p.write(9, 0, data.data(), 8, &st).error()), unsigned(ZPCI_RULE_PCIAS));
		EXPECT_EQ(rule_of(p.write(0, 0xfffc0, data.data(), 64 + 8, &st).error()),
			  unsigned(ZPCI_RULE_BEYOND_BAR));
		EXPECT_EQ(p.write(0, 0, nullptr, 8, &st).error(), make_error_code(errc::bad_argument));
		EXPECT_EQ(rule_of(st.error), 0u);
		EXPECT_EQ(p.stats().calls, 0u);
		EXPECT_EQ(p.simulator()->stats().total_ops(), 0u);
		EXPECT_EQ(p.simulator()->stats().bar_calls, 0u);
	}
}

TEST(Path, ExecuteChecksEveryOpFirst)
{
	auto path = open_path("sim:strict,max_ops=2");
	ASSERT_TRUE(path);
	io_path &p = **path;
	alignas(8) std::uint8_t b[64] = {};
	std::memset(b, 0x5a, sizeof(b));
	std::vector<op> ops;
	for (int i = 0; i < 5; i++)
		ops.push_back(mk(insn::pcistb, 0, 0x100 * i, 16, b));
	ops.push_back(mk(insn::pcistb, 0, 0x1004, 16, b));	// misaligned
	exec_status st;
	auto r = p.execute(ops, &st);
	ASSERT_FALSE(r);
	EXPECT_EQ(rule_of(r.error()), unsigned(ZPCI_RULE_OFFSET_ALIGN));
	EXPECT_EQ(st.pgm, ZPCI_PGM_SPECIFICATION);
	EXPECT_EQ(p.simulator()->stats().total_ops(), 0u);
	ops.pop_back();
	ASSERT_TRUE(p.execute(ops, &st));
	EXPECT_EQ(st.done, 5u);
	EXPECT_EQ(p.stats().calls, 3u);	// 2 + 2 + 1
	// A device failure in the middle: done counts what ran.
	p.simulator()->inject_failure(3, 1, 8);
	r = p.execute(ops, &st);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), sys_error(EIO));
	EXPECT_EQ(st.done, 3u);
	EXPECT_EQ(st.status, 8);
}

TEST(Path, OpenPathSpecs)
{
	for (const char *good : {"sim:strict", "sim:ism", "sim-fallback:strict",
				 "sim-fallback:ism", "sim:strict,maxstbl=4096",
				 "sim:strict,maxstbl=0x100,max_ops=16",
				 "sim-fallback:ism,syscall=1"}) {
		auto p = open_path(good);
		EXPECT_TRUE(p) << good << ": " << p.error().message();
	}
	auto p = open_path("sim:strict,maxstbl=4096");
	ASSERT_TRUE(p);
	EXPECT_EQ((*p)->caps().maxstbl, 4096u);
	for (const char *bad : {"", "sim", "sim:", "sim:foo", "sim:strict,", "sim:strict,maxstbl=8",
				"sim:strict,maxstbl=x", "sim:strict,bogus=1", "nope:x",
				"sim:strict,max_ops=0", ":strict", "sim:ism,syscall=2"}) {
		auto r = open_path(bad);
		ASSERT_FALSE(r) << bad;
		EXPECT_EQ(r.error(), make_error_code(errc::bad_spec)) << bad;
	}
	// vfio specs fail cleanly without a device (whatever the reason).
	EXPECT_FALSE(open_path("region:0000:ff:1f.7"));
	EXPECT_FALSE(open_path("fallback:not-an-address"));
}

namespace {
// A region device that lies about how many ops ran.
class short_device final : public region_device {
public:
	const zpci_caps &caps() const noexcept override { return caps_; }
	std::uint32_t max_ops() const noexcept override { return 8; }
	result<std::size_t> submit(std::span<const op> ops, exec_status *st) noexcept override
	{
		calls++;
		if (st)
			st->done = ops.size() / 2;
		return ops.size() / 2;
	}
	zpci_caps caps_ = strict_caps(128);
	int calls = 0;
};
} // namespace

TEST(Path, ShortBatchFromDeviceIsAnError)
{
	auto dev = std::make_shared<short_device>();
	auto path = make_region_path(dev);
	ASSERT_TRUE(path);
	alignas(8) std::uint8_t b[64] = {};
	exec_status st;
	auto r = (*path)->read(0, 0, b, 64, &st);	// 8 PCILGs, one batch
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), sys_error(EIO));
	EXPECT_EQ(st.done, 4u);
	EXPECT_EQ(dev->calls, 1);
	EXPECT_EQ((*path)->stats().instructions, 4u);
}

TEST(Sim, ConfigurableBarSizes)
{
	sim_config cfg = sim_config::strict(256);
	cfg.caps.bar_mask |= 1u << 4;
	cfg.caps.pcistg_mask |= 1u << 4;
	cfg.bar_bytes[4] = 8192;
	cfg.caps.bar_size[4] = 8192;
	auto sim = make_sim(cfg);
	ASSERT_TRUE(sim);
	EXPECT_EQ(sim->bar_memory(4).size(), 8192u);
	EXPECT_EQ(sim->caps().maxstbl, 256u);
	alignas(8) std::uint8_t b[256] = {1};
	exec_status st;
	op ok = mk(insn::pcistb, 4, 8192 - 256, 256, b);
	EXPECT_TRUE(sim->submit(std::span<const op>(&ok, 1), &st));
	op beyond = mk(insn::pcistb, 4, 8192, 16, b);
	EXPECT_FALSE(sim->submit(std::span<const op>(&beyond, 1), &st));
	EXPECT_EQ(st.rule, unsigned(ZPCI_RULE_BEYOND_BAR));
	EXPECT_EQ(st.pgm, ZPCI_PGM_OPERAND);
}
