// SPDX-License-Identifier: MIT
// Table-driven rule tests at every boundary: strict functions follow QEMU
// 7.2's checks and their order (FACTS §2), relaxed ones ISM's.
#include <gtest/gtest.h>

#include <zpci/error.hpp>
#include <zpci/rules.hpp>

using namespace zpci;

namespace {

constexpr std::uint64_t BAR = 0x10000;	// 64 KiB BARs 0 and 2

struct rule_case {
	const char *name;
	unsigned insn;
	unsigned pcias;
	std::uint64_t offset, len, src;
	std::uint32_t maxstbl;
	bool relaxed;
	unsigned rule;
	std::uint8_t cc, status, pgm;
};

zpci_caps caps_for(const rule_case &c)
{
	zpci_caps caps = strict_caps(c.maxstbl, 0x05, BAR);
	if (c.relaxed)
		caps.flags |= ZPCI_CAPS_RELAXED;
	return caps;
}

constexpr std::uint8_t SPEC = ZPCI_PGM_SPECIFICATION, OPND = ZPCI_PGM_OPERAND;
constexpr unsigned STB = ZPCI_INSN_PCISTB, STG = ZPCI_INSN_PCISTG, LG = ZPCI_INSN_PCILG;

const rule_case cases[] = {
	// PCISTB, strict: address space first (cc 1, status 20) ...
	{"stb_ok_16", STB, 0, 0, 16, 0, 128, false, ZPCI_RULE_OK, 0, 0, 0},
	{"stb_ok_128", STB, 2, 0x80, 128, 0x1000, 128, false, ZPCI_RULE_OK, 0, 0, 0},
	{"stb_bar1_unimpl", STB, 1, 0, 16, 0, 128, false, ZPCI_RULE_PCIAS, 1, 20, 0},
	{"stb_as6", STB, 6, 0, 16, 0, 128, false, ZPCI_RULE_PCIAS, 1, 20, 0},
	{"stb_config", STB, 15, 0, 16, 0, 128, false, ZPCI_RULE_PCIAS, 1, 20, 0},
	{"stb_as_before_align", STB, 1, 3, 3, 3, 128, false, ZPCI_RULE_PCIAS, 1, 20, 0},
	// ... then offset % 8 ...
	{"stb_off4", STB, 0, 4, 16, 0, 128, false, ZPCI_RULE_OFFSET_ALIGN, 0, 0, SPEC},
	{"stb_off1_badlen", STB, 0, 1, 3, 0, 128, false, ZPCI_RULE_OFFSET_ALIGN, 0, 0, SPEC},
	// ... 8 < len <= maxstbl, len % 8 == 0 ...
	{"stb_len0", STB, 0, 0, 0, 0, 128, false, ZPCI_RULE_LEN_RANGE, 0, 0, SPEC},
	{"stb_len8", STB, 0, 0, 8, 0, 128, false, ZPCI_RULE_LEN_RANGE, 0, 0, SPEC},
	{"stb_len12", STB, 0, 0, 12, 0, 128, false, ZPCI_RULE_LEN_MULTIPLE, 0, 0, SPEC},
	{"stb_len130", STB, 0, 0, 130, 0, 128, false, ZPCI_RULE_LEN_MULTIPLE, 0, 0, SPEC},
	{"stb_len136", STB, 0, 0, 136, 0, 128, false, ZPCI_RULE_LEN_RANGE, 0, 0, SPEC},
	{"stb_len4096_max4096", STB, 0, 0, 4096, 0, 4096, false, ZPCI_RULE_OK, 0, 0, 0},
	{"stb_len4104_max4096", STB, 0, 0, 4104, 0, 4096, false, ZPCI_RULE_LEN_RANGE, 0, 0, SPEC},
	// ... no 4 KiB crossing ...
	{"stb_ends_at_4k", STB, 0, 0xf80, 128, 0, 128, false, ZPCI_RULE_OK, 0, 0, 0},
	{"stb_cross_4k", STB, 0, 0xff8, 16, 0, 128, false, ZPCI_RULE_CROSS_4K, 0, 0, SPEC},
	{"stb_cross_4k_before_src", STB, 0, 0xff8, 16, 4, 128, false, ZPCI_RULE_CROSS_4K, 0, 0, SPEC},
	{"stb_4k_at_8_max4096", STB, 0, 8, 4096, 0, 4096, false, ZPCI_RULE_CROSS_4K, 0, 0, SPEC},
	// ... source 8-aligned ...
	{"stb_src4", STB, 0, 0, 16, 4, 128, false, ZPCI_RULE_SRC_ALIGN, 0, 0, SPEC},
	{"stb_src1", STB, 0, 0, 16, 0x1001, 128, false, ZPCI_RULE_SRC_ALIGN, 0, 0, SPEC},
	// ... and last the BAR bounds (operand exception).
	{"stb_ends_at_bar", STB, 0, BAR - 16, 16, 0, 128, false, ZPCI_RULE_OK, 0, 0, 0},
	{"stb_beyond_bar", STB, 0, BAR, 16, 0, 128, false, ZPCI_RULE_BEYOND_BAR, 0, 0, OPND},
	{"stb_beyond_bar_src_bad", STB, 0, BAR, 16, 1, 128, false, ZPCI_RULE_SRC_ALIGN, 0, 0, SPEC},

	// PCISTB, relaxed (ISM): any length 1..maxstbl, any alignment.
	{"rstb_len1_odd", STB, 0, 1, 1, 3, 4096, true, ZPCI_RULE_OK, 0, 0, 0},
	{"rstb_len0", STB, 0, 1, 0, 3, 4096, true, ZPCI_RULE_LEN_RANGE, 0, 0, SPEC},
	{"rstb_4096", STB, 0, 0, 4096, 5, 4096, true, ZPCI_RULE_OK, 0, 0, 0},
	{"rstb_4097", STB, 0, 0, 4097, 5, 4096, true, ZPCI_RULE_LEN_RANGE, 0, 0, SPEC},
	{"rstb_over_maxstbl", STB, 0, 0, 129, 0, 128, true, ZPCI_RULE_LEN_RANGE, 0, 0, SPEC},
	{"rstb_cross_4k", STB, 0, 1, 4096, 0, 4096, true, ZPCI_RULE_CROSS_4K, 0, 0, SPEC},
	{"rstb_tail_of_page", STB, 0, 0xfff, 1, 0, 4096, true, ZPCI_RULE_OK, 0, 0, 0},
	{"rstb_as", STB, 3, 0, 16, 0, 4096, true, ZPCI_RULE_PCIAS, 1, 20, 0},

	// PCISTG / PCILG on BARs: 1..8 bytes inside one doubleword.
	{"stg_8", STG, 0, 8, 8, 0, 128, false, ZPCI_RULE_OK, 0, 0, 0},
	{"stg_7_at_1", STG, 0, 1, 7, 0, 128, false, ZPCI_RULE_OK, 0, 0, 0},
	{"stg_8_at_1", STG, 0, 1, 8, 0, 128, false, ZPCI_RULE_CROSS_8B, 0, 0, OPND},
	{"stg_2_at_7", STG, 0, 7, 2, 0, 128, false, ZPCI_RULE_CROSS_8B, 0, 0, OPND},
	{"stg_len0", STG, 0, 0, 0, 0, 128, false, ZPCI_RULE_LEN_RANGE, 0, 0, OPND},
	{"stg_len9", STG, 0, 0, 9, 0, 128, false, ZPCI_RULE_LEN_RANGE, 0, 0, OPND},
	{"stg_bar1", STG, 1, 0, 8, 0, 128, false, ZPCI_RULE_PCIAS, 1, 20, 0},
	{"stg_as14", STG, 14, 0, 8, 0, 128, false, ZPCI_RULE_PCIAS, 1, 20, 0},
	{"stg_last_byte", STG, 0, BAR - 1, 1, 0, 128, false, ZPCI_RULE_OK, 0, 0, 0},
	{"stg_beyond", STG, 0, BAR, 1, 0, 128, false, ZPCI_RULE_BEYOND_BAR, 0, 0, OPND},
	{"stg_wrap", STG, 0, ~0ULL - 3, 4, 0, 128, false, ZPCI_RULE_BEYOND_BAR, 0, 0, OPND},
	{"lg_8", LG, 2, 0x100, 8, 0, 128, false, ZPCI_RULE_OK, 0, 0, 0},
	{"lg_cross", LG, 2, 0x104, 8, 0, 128, false, ZPCI_RULE_CROSS_8B, 0, 0, OPND},
	{"lg_bar5", LG, 5, 0, 1, 0, 128, false, ZPCI_RULE_PCIAS, 1, 20, 0},
	// Config space: 1, 2 or 4 bytes inside one word.
	{"cfg_4", LG, 15, 0x40, 4, 0, 128, false, ZPCI_RULE_OK, 0, 0, 0},
	{"cfg_len3", LG, 15, 0x40, 3, 0, 128, false, ZPCI_RULE_LEN_RANGE, 0, 0, OPND},
	{"cfg_len8", STG, 15, 0x40, 8, 0, 128, false, ZPCI_RULE_LEN_RANGE, 0, 0, OPND},
	{"cfg_cross", LG, 15, 0x42, 4, 0, 128, false, ZPCI_RULE_CROSS_8B, 0, 0, OPND},
	{"cfg_end", LG, 15, 0xffc, 4, 0, 128, false, ZPCI_RULE_OK, 0, 0, 0},
	{"cfg_beyond", LG, 15, 0x1000, 1, 0, 128, false, ZPCI_RULE_BEYOND_BAR, 0, 0, OPND},

	// Unknown instruction, invalid capabilities.
	{"insn0", 0, 0, 0, 8, 0, 128, false, ZPCI_RULE_INSN, 0, 0, 0},
	{"insn4", 4, 0, 0, 8, 0, 128, false, ZPCI_RULE_INSN, 0, 0, 0},
	{"caps_maxstbl8", STB, 0, 0, 16, 0, 8, false, ZPCI_RULE_CAPS, 0, 0, 0},
	{"caps_maxstbl8192", STG, 0, 0, 8, 0, 8192, false, ZPCI_RULE_CAPS, 0, 0, 0},
};

// Readable test output instead of a byte dump.
[[maybe_unused]] void PrintTo(const rule_case &c, std::ostream *os)
{
	*os << c.name;
}

class RuleTable : public ::testing::TestWithParam<rule_case> {};

} // namespace

TEST_P(RuleTable, Verdict)
{
	const rule_case &c = GetParam();
	zpci_caps caps = caps_for(c);
	zpci_verdict v = zpci_check(&caps, c.insn, c.pcias, c.offset, c.len, c.src);
	EXPECT_EQ(v.rule, c.rule) << zpci_rule_name(v.rule) << " vs " << zpci_rule_name(c.rule);
	EXPECT_EQ(v.cc, c.cc);
	EXPECT_EQ(v.status, c.status);
	EXPECT_EQ(v.pgm, c.pgm);

	// The C++ wrapper says the same, as an error code of the convention.
	if (c.insn >= 1 && c.insn <= 3 && c.len <= UINT32_MAX) {
		op o{static_cast<insn>(c.insn), static_cast<std::uint8_t>(c.pcias), 0,
		     static_cast<std::uint32_t>(c.len), c.offset, c.src};
		exec_status st;
		auto r = check_op(caps, o, &st);
		EXPECT_EQ(r.has_value(), c.rule == ZPCI_RULE_OK);
		if (!r) {
			EXPECT_EQ(rule_of(r.error()), c.rule);
			EXPECT_EQ(r.error().message(), zpci_rule_name(c.rule));
			EXPECT_EQ(st.rule, c.rule);
			EXPECT_EQ(st.pgm, c.pgm);
		}
	}
}

INSTANTIATE_TEST_SUITE_P(Boundaries, RuleTable, ::testing::ValuesIn(cases),
			 [](const auto &p) { return std::string(p.param.name); });

TEST(Rules, IsmDmbSpaceRefusesPcistgButLoads)
{
	zpci_caps caps = ism_caps();
	zpci_verdict v = zpci_check(&caps, STG, 0, 0, 8, 0);
	EXPECT_EQ(v.rule, ZPCI_RULE_NO_PCISTG);
	EXPECT_EQ(v.cc, 1);
	EXPECT_EQ(v.status, 20);
	EXPECT_EQ(zpci_check(&caps, LG, 0, 0, 8, 0).rule, ZPCI_RULE_OK);
	EXPECT_EQ(zpci_check(&caps, STG, 2, 0, 8, 0).rule, ZPCI_RULE_OK);
	EXPECT_EQ(zpci_check(&caps, STB, 0, 3, 4093, 1).rule, ZPCI_RULE_OK);
}

TEST(Rules, StrictPcistbEveryLengthAtBoundary)
{
	// Exhaustive over lengths 0..160 at an aligned offset: only 16..128
	// in steps of 8 are legal.
	zpci_caps caps = strict_caps(128);
	for (std::uint64_t len = 0; len <= 160; len++) {
		bool legal = len > 8 && len % 8 == 0 && len <= 128;
		EXPECT_EQ(zpci_check(&caps, STB, 0, 0x2000, len, 0).rule == ZPCI_RULE_OK, legal)
			<< "len " << len;
	}
	// Every offset in the last 128 bytes of a page with len 16.
	for (std::uint64_t off = 0xf80; off < 0x1000; off++) {
		unsigned r = zpci_check(&caps, STB, 0, off, 16, 0).rule;
		if (off % 8)
			EXPECT_EQ(r, ZPCI_RULE_OFFSET_ALIGN) << off;
		else if (off + 16 > 0x1000)
			EXPECT_EQ(r, ZPCI_RULE_CROSS_4K) << off;
		else
			EXPECT_EQ(r, ZPCI_RULE_OK) << off;
	}
}

TEST(ErrorConvention, CategoryAndErrno)
{
	std::error_code ec = rule_error(ZPCI_RULE_CROSS_4K);
	EXPECT_EQ(ec.category(), category());
	EXPECT_STREQ(ec.category().name(), "zpci");
	EXPECT_EQ(ec.message(), "4 KiB crossing");
	EXPECT_TRUE(ec == std::errc::invalid_argument);
	EXPECT_EQ(to_errno(ec), EINVAL);
	EXPECT_EQ(rule_of(ec), ZPCI_RULE_CROSS_4K);
	EXPECT_EQ(ec, make_error_code(errc::rule_cross_4k));

	std::error_code lib = errc::no_legal_sequence;
	EXPECT_EQ(rule_of(lib), 0u);
	EXPECT_FALSE(lib.message().empty());
	EXPECT_EQ(to_errno(lib), EINVAL);
	EXPECT_EQ(to_errno(make_error_code(errc::timeout)), ETIMEDOUT);
	EXPECT_EQ(to_errno(make_error_code(errc::too_many_ops)), E2BIG);

	std::error_code sys = sys_error(EIO);
	EXPECT_EQ(sys.category(), std::system_category());
	EXPECT_EQ(to_errno(sys), EIO);
	EXPECT_EQ(rule_of(sys), 0u);
	EXPECT_EQ(to_errno(std::make_error_code(std::errc::not_supported)), ENOTSUP);
	EXPECT_EQ(to_errno({}), 0);

	for (unsigned r = 1; r < ZPCI_RULE_COUNT; r++)
		EXPECT_EQ(rule_error(r).message(), zpci_rule_name(r));
}

TEST(ErrorConvention, ExecErrorFromVerdict)
{
	EXPECT_EQ(verdict_exec_error(zpci_verdict_bad_as()), sys_error(EIO));
	EXPECT_EQ(verdict_exec_error(zpci_verdict_spec(ZPCI_RULE_CROSS_4K)), sys_error(EIO));
	EXPECT_EQ(verdict_exec_error(zpci_verdict_make(ZPCI_RULE_OK, 0, 0, 0)), std::error_code{});
	EXPECT_EQ(verdict_exec_error(zpci_verdict_make(ZPCI_RULE_CAPS, 0, 0, 0)), sys_error(EINVAL));
}
