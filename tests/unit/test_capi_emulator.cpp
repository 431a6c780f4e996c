// SPDX-License-Identifier: MIT
// The emulator C API: register-shaped PCISTG/PCILG, PCISTB with the guest's
// source address, guest caps, the outcome contract (every refusal has an
// action), size-aware status/info, NULL arguments everywhere, fid/uid specs,
// host MIO detection and one test per cell of the path decision table.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <zpci/path.hpp>
#include <zpci/sim.hpp>
#include <zpci/zpci.h>

#include "capi_internal.hpp"
#include "vfio/vfio.hpp"

namespace {

namespace fs = std::filesystem;

struct handle {
	zpci_handle *h = nullptr;
	explicit handle(const char *spec)
	{
		EXPECT_EQ(zpci_open(spec, &h), 0) << spec;
	}
	~handle() { zpci_close(h); }
	operator zpci_handle *() const { return h; }
	zpci::sim_function *sim() const { return h->path->simulator(); }
};

zpci_status fresh()
{
	zpci_status st = ZPCI_STATUS_INIT;
	return st;
}

std::vector<unsigned char> bytes_at(zpci_handle *h, unsigned pcias, std::uint64_t off,
				    std::size_t n)
{
	std::vector<unsigned char> v(n);
	zpci_status st = fresh();
	EXPECT_EQ(zpci_read(h, pcias, off, v.data(), n, &st), 0);
	return v;
}

// A temporary directory removed at the end of the test.
struct tmpdir {
	fs::path p;
	tmpdir()
	{
		char t[] = "/tmp/zpci-capi-XXXXXX";
		p = ::mkdtemp(t);
	}
	~tmpdir() { fs::remove_all(p); }
	void write(const fs::path &rel, const std::string &text) const
	{
		fs::create_directories((p / rel).parent_path());
		std::ofstream(p / rel) << text;
	}
};

} // namespace

TEST(CApiEmu, VersionMatchesTheHeader)
{
	EXPECT_EQ(zpci_version(), unsigned(ZPCI_VERSION_NUM));
	EXPECT_EQ(ZPCI_VERSION_NUM, (1 << 16) | (2 << 8) | 0);
}

TEST(CApiEmu, PcistgStoresTheRightmostBytesBigEndian)
{
	handle h("sim:strict");
	zpci_status st = fresh();
	const std::uint64_t reg = 0x1122334455667788ULL;
	ASSERT_EQ(zpci_pcistg(h, 0, 0x100, 8, reg, &st), 0);
	EXPECT_EQ(st.action, ZPCI_ACT_NONE);
	EXPECT_EQ(st.done, 1u);
	EXPECT_EQ(bytes_at(h, 0, 0x100, 8),
		  (std::vector<unsigned char>{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}));
	// 4 bytes: the low word of the register, most significant byte first,
	// also at an odd offset inside the doubleword.
	ASSERT_EQ(zpci_pcistg(h, 0, 0x201, 4, reg, &st), 0);
	EXPECT_EQ(bytes_at(h, 0, 0x201, 4), (std::vector<unsigned char>{0x55, 0x66, 0x77, 0x88}));
	ASSERT_EQ(zpci_pcistg(h, 0, 0x306, 2, reg, &st), 0);
	EXPECT_EQ(bytes_at(h, 0, 0x306, 2), (std::vector<unsigned char>{0x77, 0x88}));
	ASSERT_EQ(zpci_pcistg(h, 0, 0x407, 1, reg, &st), 0);
	EXPECT_EQ(bytes_at(h, 0, 0x407, 1), (std::vector<unsigned char>{0x88}));
	// One instruction per call.
	EXPECT_EQ(h.sim()->stats().ops[ZPCI_INSN_PCISTG], 4u);
}

TEST(CApiEmu, PcilgReturnsRightAlignedBigEndian)
{
	handle h("sim:strict");
	zpci_status st = fresh();
	const unsigned char data[8] = {0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18};
	ASSERT_EQ(zpci_write(h, 2, 0x40, data, 8, &st), 0);
	std::uint64_t v = 0xdead;
	ASSERT_EQ(zpci_pcilg(h, 2, 0x40, 8, &v, &st), 0);
	EXPECT_EQ(v, 0xa1b2c3d4e5f60718ULL);
	ASSERT_EQ(zpci_pcilg(h, 2, 0x43, 4, &v, &st), 0);
	EXPECT_EQ(v, 0xd4e5f607ULL);
	ASSERT_EQ(zpci_pcilg(h, 2, 0x47, 1, &v, &st), 0);
	EXPECT_EQ(v, 0x18ULL);
	// Round trip with PCISTG for every length.
	for (unsigned len = 1; len <= 8; len++) {
		std::uint64_t val = 0x0102030405060708ULL * len;
		std::uint64_t mask = len == 8 ? ~0ULL : (1ULL << (8 * len)) - 1;
		ASSERT_EQ(zpci_pcistg(h, 0, 0x800, len, val, &st), 0);
		ASSERT_EQ(zpci_pcilg(h, 0, 0x800, len, &v, &st), 0);
		EXPECT_EQ(v, val & mask) << len;
	}
	// A refused load leaves 0.
	v = 7;
	EXPECT_EQ(zpci_pcilg(h, 0, 0x806, 4, &v, &st), -EINVAL);
	EXPECT_EQ(v, 0u);
	EXPECT_EQ(st.action, ZPCI_ACT_PGM);
	EXPECT_EQ(st.pgm, ZPCI_PGM_OPERAND);
}

TEST(CApiEmu, PcistbSourceRuleUsesTheGuestAddress)
{
	handle h("sim:strict");
	alignas(8) unsigned char raw[256 + 8];
	for (unsigned i = 0; i < sizeof(raw); i++)
		raw[i] = static_cast<unsigned char>(i * 3 + 1);
	zpci_status st = fresh();
	// Aligned host buffer, misaligned guest address: specification.
	EXPECT_EQ(zpci_pcistb(h, 0, 0x1000, raw, 64, 0x10004, &st), -EINVAL);
	EXPECT_EQ(st.action, ZPCI_ACT_PGM);
	EXPECT_EQ(st.pgm, ZPCI_PGM_SPECIFICATION);
	EXPECT_EQ(st.rule, unsigned(ZPCI_RULE_SRC_ALIGN));
	EXPECT_TRUE(st.flags & ZPCI_STATUS_REJECTED);
	EXPECT_TRUE(st.flags & ZPCI_STATUS_PGM);
	EXPECT_EQ(h.sim()->stats().total_ops(), 0u);
	// Misaligned host buffer, aligned guest address: the guest's legal
	// instruction runs, once, and the bytes land.
	ASSERT_EQ(zpci_pcistb(h, 0, 0x1000, raw + 3, 128, 0x20000, &st), 0);
	EXPECT_EQ(st.action, ZPCI_ACT_NONE);
	EXPECT_EQ(h.sim()->stats().ops[ZPCI_INSN_PCISTB], 1u);
	auto back = bytes_at(h, 0, 0x1000, 128);
	EXPECT_EQ(std::memcmp(back.data(), raw + 3, 128), 0);
	// Length 0 and huge lengths are the guest's verdict; src is not read.
	EXPECT_EQ(zpci_pcistb(h, 0, 0x1000, nullptr, 0, 0, &st), -EINVAL);
	EXPECT_EQ(st.action, ZPCI_ACT_PGM);
	EXPECT_EQ(zpci_pcistb(h, 0, 0x1000, nullptr, 0xfffffff8u, 0, &st), -EINVAL);
	EXPECT_EQ(st.action, ZPCI_ACT_PGM);
	EXPECT_EQ(st.rule, unsigned(ZPCI_RULE_LEN_RANGE));
}

namespace {

// The emulator's side of zpci_pcistb_guest: counts its calls, checks where
// the library asks it to write, and fails when told to (an inaccessible
// guest source).
struct guest_source {
	const unsigned char *data = nullptr;
	int fail = 0;
	unsigned calls = 0;
	std::uint32_t last_len = 0;
	std::uintptr_t last_buf = 0;

	static int read(void *opaque, void *buf, std::uint32_t len)
	{
		auto *g = static_cast<guest_source *>(opaque);
		g->calls++;
		g->last_len = len;
		g->last_buf = reinterpret_cast<std::uintptr_t>(buf);
		if (g->fail)
			return g->fail;
		std::memcpy(buf, g->data, len);
		return 0;
	}
};

} // namespace

TEST(CApiEmu, PcistbGuestChecksEveryRuleBeforeReadingTheSource)
{
	handle h("sim:strict");
	alignas(8) unsigned char raw[256];
	for (unsigned i = 0; i < sizeof(raw); i++)
		raw[i] = static_cast<unsigned char>(i * 7 + 5);
	guest_source g;
	g.data = raw;
	// Even with a source the emulator could not read, a refused
	// instruction gets its own verdict and the source is never read:
	// the architecture's order (specification/operand/cc before access).
	g.fail = 1;
	struct {
		unsigned pcias;
		std::uint64_t offset;
		std::uint32_t len;
		std::uint64_t gaddr;
		std::uint8_t action;
	} refused[] = {
		{0, 0x1004, 64, 0x1000, ZPCI_ACT_PGM},		// offset alignment
		{0, 0x1000, 64, 0x1004, ZPCI_ACT_PGM},		// source alignment
		{0, 0x1000, 136, 0x1000, ZPCI_ACT_PGM},		// > maxstbl 128
		{0, 0x1000, 0, 0x1000, ZPCI_ACT_PGM},		// length 0
		{0, 0x1fc0, 128, 0x1000, ZPCI_ACT_PGM},		// crosses 4 KiB
		{7, 0x1000, 64, 0x1000, ZPCI_ACT_CC},		// invalid address space
		{15, 0x1000, 64, 0x1000, ZPCI_ACT_CC},		// config space: cc 1 st 20
	};
	for (auto r : refused) {
		zpci_status st = fresh();
		EXPECT_NE(zpci_pcistb_guest(h, r.pcias, r.offset, r.len, r.gaddr,
					    guest_source::read, &g, &st), 0);
		EXPECT_EQ(st.action, r.action) << r.pcias << " " << r.offset << " " << r.len;
		EXPECT_TRUE(st.flags & ZPCI_STATUS_REJECTED);
	}
	EXPECT_EQ(g.calls, 0u);
	EXPECT_EQ(h.sim()->stats().total_ops(), 0u);

	// A legal instruction whose source is inaccessible: ACT_SOURCE, after
	// one read attempt, nothing issued.
	zpci_status st = fresh();
	EXPECT_EQ(zpci_pcistb_guest(h, 0, 0x1000, 128, 0x2000, guest_source::read, &g, &st),
		  -EFAULT);
	EXPECT_EQ(st.action, ZPCI_ACT_SOURCE);
	EXPECT_EQ(st.reason, unsigned(ZPCI_REASON_SOURCE));
	EXPECT_TRUE(st.flags & ZPCI_STATUS_REJECTED);
	EXPECT_EQ(g.calls, 1u);
	EXPECT_EQ(h.sim()->stats().total_ops(), 0u);

	// Readable: read once into a buffer that does not cross a page, the
	// bytes land, one PCISTB.
	g.fail = 0;
	g.calls = 0;
	ASSERT_EQ(zpci_pcistb_guest(h, 0, 0x1000, 128, 0x2000, guest_source::read, &g, &st), 0)
		<< zpci_status_str(st.error, &st);
	EXPECT_EQ(st.action, ZPCI_ACT_NONE);
	EXPECT_EQ(g.calls, 1u);
	EXPECT_EQ(g.last_len, 128u);
	EXPECT_EQ(g.last_buf % ZPCI_MAXSTBL_LIMIT, 0u);
	EXPECT_EQ(h.sim()->stats().ops[ZPCI_INSN_PCISTB], 1u);
	auto back = bytes_at(h, 0, 0x1000, 128);
	EXPECT_EQ(std::memcmp(back.data(), raw, 128), 0);

	// No callback: the emulator's mistake, nothing read or issued.
	EXPECT_EQ(zpci_pcistb_guest(h, 0, 0x1000, 128, 0x2000, nullptr, &g, &st), -EINVAL);
	EXPECT_EQ(st.action, ZPCI_ACT_HOST_ERROR);
	EXPECT_EQ(zpci_pcistb_guest(nullptr, 0, 0x1000, 128, 0x2000, guest_source::read, &g,
				    &st), -EINVAL);
	EXPECT_EQ(h.sim()->stats().ops[ZPCI_INSN_PCISTB], 1u);
}

TEST(CApiEmu, PcistbGuestServesTheRelaxedFunctionsWholeBlock)
{
	handle h("sim:ism");
	std::vector<unsigned char> raw(4096);
	for (unsigned i = 0; i < raw.size(); i++)
		raw[i] = static_cast<unsigned char>(i * 13 + 1);
	guest_source g;
	g.data = raw.data();
	zpci_status st = fresh();
	// 4093 bytes at an odd offset from an odd guest address: legal on a
	// relaxed function, one PCISTB.
	ASSERT_EQ(zpci_pcistb_guest(h, 0, 0x2003, 4093, 0x7001, guest_source::read, &g, &st), 0)
		<< zpci_status_str(st.error, &st);
	EXPECT_EQ(g.last_len, 4093u);
	EXPECT_EQ(h.sim()->stats().ops[ZPCI_INSN_PCISTB], 1u);
	auto back = bytes_at(h, 0, 0x2003, 4093);
	EXPECT_EQ(std::memcmp(back.data(), raw.data(), 4093), 0);
}

TEST(CApiEmu, RelaxedFunctionTakesOddPcistbAndRefusesPcistgOnItsDmbSpace)
{
	handle h("sim:ism");
	unsigned char buf[100];
	std::memset(buf, 0x5a, sizeof(buf));
	zpci_status st = fresh();
	EXPECT_EQ(zpci_pcistb(h, 0, 0x1003, buf, 100, 0x7001, &st), 0) << zpci_status_str(st.error, &st);
	// PCISTG to the PCISTB-only DMB space: cc 1, status 20.
	EXPECT_EQ(zpci_pcistg(h, 0, 0x1000, 8, 1, &st), -EINVAL);
	EXPECT_EQ(st.action, ZPCI_ACT_CC);
	EXPECT_EQ(st.cc, 1);
	EXPECT_EQ(st.status, ZPCI_ST_INVALID_AS);
	EXPECT_EQ(st.rule, unsigned(ZPCI_RULE_NO_PCISTG));
	EXPECT_TRUE(st.flags & ZPCI_STATUS_CC_VALID);
	// Never across 4 KiB.
	EXPECT_EQ(zpci_pcistb(h, 0, 0x1fc0, buf, 100, 0, &st), -EINVAL);
	EXPECT_EQ(st.pgm, ZPCI_PGM_SPECIFICATION);
}

TEST(CApiEmu, GuestVisibleVerdicts)
{
	handle h("sim:strict");
	zpci_status st = fresh();
	std::uint64_t v;
	// Invalid / unimplemented address space: cc 1, status 20.
	for (unsigned as : {1u, 9u, 255u, 256u, 0xffffffffu}) {
		EXPECT_EQ(zpci_pcistg(h, as, 0, 8, 0, &st), -EINVAL) << as;
		EXPECT_EQ(st.action, ZPCI_ACT_CC) << as;
		EXPECT_EQ(st.cc, 1);
		EXPECT_EQ(st.status, ZPCI_ST_INVALID_AS);
	}
	// PCISTB to config space is an invalid address space too.
	unsigned char b[64] = {};
	EXPECT_EQ(zpci_pcistb(h, 15, 0, b, 64, 0, &st), -EINVAL);
	EXPECT_EQ(st.action, ZPCI_ACT_CC);
	EXPECT_EQ(st.status, ZPCI_ST_INVALID_AS);
	// Crossing a doubleword, bad lengths: operand exception.
	EXPECT_EQ(zpci_pcistg(h, 0, 0x1006, 4, 0, &st), -EINVAL);
	EXPECT_EQ(st.action, ZPCI_ACT_PGM);
	EXPECT_EQ(st.pgm, ZPCI_PGM_OPERAND);
	EXPECT_EQ(zpci_pcilg(h, 0, 0, 9, &v, &st), -EINVAL);
	EXPECT_EQ(st.pgm, ZPCI_PGM_OPERAND);
	EXPECT_EQ(zpci_pcilg(h, 0, 0, 0, &v, &st), -EINVAL);
	EXPECT_EQ(st.pgm, ZPCI_PGM_OPERAND);
	// Beyond the BAR: operand exception, also for a wrapping offset.
	EXPECT_EQ(zpci_pcistg(h, 0, 1u << 20, 8, 0, &st), -EINVAL);
	EXPECT_EQ(st.pgm, ZPCI_PGM_OPERAND);
	EXPECT_EQ(zpci_pcistb(h, 0, ~0ULL - 7, b, 16, 0, &st), -EINVAL);
	EXPECT_EQ(st.action, ZPCI_ACT_PGM);
	// Config space PCISTG/PCILG that the rules allow: not ours.
	EXPECT_EQ(zpci_pcilg(h, 15, 4, 4, &v, &st), -EACCES);
	EXPECT_EQ(st.action, ZPCI_ACT_EMULATE);
	EXPECT_EQ(st.reason, unsigned(ZPCI_REASON_CONFIG_SPACE));
	EXPECT_TRUE(st.flags & ZPCI_STATUS_REJECTED);
	EXPECT_EQ(zpci_pcistg(h, 15, 2, 2, 0, &st), -EACCES);
	EXPECT_EQ(st.action, ZPCI_ACT_EMULATE);
	// ... but a config access the rules refuse is the guest's exception.
	EXPECT_EQ(zpci_pcilg(h, 15, 2, 4, &v, &st), -EINVAL);
	EXPECT_EQ(st.action, ZPCI_ACT_PGM);
	EXPECT_EQ(h.sim()->stats().total_ops(), 0u);
}

TEST(CApiEmu, FunctionOutcomesBecomeActions)
{
	handle h("sim:strict");
	struct {
		std::uint8_t cc, status, pgm;
		int err;
		std::uint8_t action, want_cc, want_status;
		std::uint16_t want_pgm;
	} cases[] = {
		{1, 8, 0, -EIO, ZPCI_ACT_CC, 1, 8, 0},
		{1, 16, 0, -EIO, ZPCI_ACT_CC, 1, 16, 0},
		{2, 0, 0, -EBUSY, ZPCI_ACT_CC, 2, 0, 0},
		{3, 0, 0, -ENODEV, ZPCI_ACT_CC, 3, 0, 0},
		{0, 0, 6, -EIO, ZPCI_ACT_PGM, 0, 0, 6},
	};
	for (auto c : cases) {
		h.sim()->inject_failure(0, c.cc, c.status, c.pgm);
		zpci_status st = fresh();
		EXPECT_EQ(zpci_pcistg(h, 0, 0x10, 8, 1, &st), c.err);
		EXPECT_EQ(st.error, c.err);
		EXPECT_EQ(st.action, c.action) << int(c.cc);
		EXPECT_EQ(st.cc, c.want_cc);
		EXPECT_EQ(st.status, c.want_status);
		EXPECT_EQ(st.pgm, c.want_pgm);
		EXPECT_EQ(st.done, 0u);
		EXPECT_FALSE(st.flags & ZPCI_STATUS_REJECTED);
	}
}

TEST(CApiEmu, HostErrnoTable)
{
	using zpci::capi::outcome;
	zpci::exec_status none;
	struct {
		int err;
		std::uint8_t action;
		std::uint8_t cc;
	} rows[] = {
		{EINTR, ZPCI_ACT_RETRY, 0},	{EAGAIN, ZPCI_ACT_RETRY, 0},
		{EFAULT, ZPCI_ACT_HOST_ERROR, 0}, {ENOMEM, ZPCI_ACT_HOST_ERROR, 0},
		{EIO, ZPCI_ACT_HOST_ERROR, 0},	{EPROTO, ZPCI_ACT_HOST_ERROR, 0},
		{E2BIG, ZPCI_ACT_HOST_ERROR, 0}, {EACCES, ZPCI_ACT_EMULATE, 0},
		{EBUSY, ZPCI_ACT_CC, 2},	{ENODEV, ZPCI_ACT_CC, 3},
	};
	for (auto r : rows) {
		zpci_status s = outcome(zpci::sys_error(r.err), &none);
		EXPECT_EQ(s.error, -r.err);
		EXPECT_EQ(s.action, r.action) << r.err;
		EXPECT_EQ(s.cc, r.cc) << r.err;
		EXPECT_NE(s.action, ZPCI_ACT_NONE);
	}
	// EIO with the function's cc: the cc, not a host error.
	zpci::exec_status es;
	es.cc_valid = true;
	es.cc = 1;
	es.status = 12;
	zpci_status s = outcome(zpci::sys_error(EIO), &es);
	EXPECT_EQ(s.action, ZPCI_ACT_CC);
	EXPECT_EQ(s.status, 12);
	// EINTR after some instructions of a multi-instruction call: not a
	// blind retry.
	es = {};
	es.done = 2;
	EXPECT_EQ(outcome(zpci::sys_error(EINTR), &es).action, ZPCI_ACT_HOST_ERROR);
	// Every errno gets an action other than NONE.
	for (int e = 1; e < 134; e++)
		EXPECT_NE(outcome(zpci::sys_error(e), &none).action, ZPCI_ACT_NONE) << e;
}

TEST(CApiEmu, StatusWritesAtMostSizeBytes)
{
	handle h("sim:strict");
	unsigned char raw[sizeof(zpci_status) + 16];
	std::memset(raw, 0xee, sizeof(raw));
	auto *st = reinterpret_cast<zpci_status *>(raw);
	st->size = 8;	// size + error only
	EXPECT_EQ(zpci_pcistg(h, 9, 0, 8, 0, st), -EINVAL);
	EXPECT_EQ(st->size, 8u);
	EXPECT_EQ(st->error, -EINVAL);
	for (std::size_t i = 8; i < sizeof(raw); i++)
		ASSERT_EQ(raw[i], 0xee) << i;
	// 0 = the 1.0 size; nothing beyond it.
	std::memset(raw, 0xee, sizeof(raw));
	st->size = 0;
	EXPECT_EQ(zpci_pcistg(h, 9, 0, 8, 0, st), -EINVAL);
	EXPECT_EQ(st->size, ZPCI_STATUS_SIZE_1_0);
	EXPECT_EQ(st->cc, 1);
	for (std::size_t i = ZPCI_STATUS_SIZE_1_0; i < sizeof(raw); i++)
		ASSERT_EQ(raw[i], 0xee) << i;
	// A larger (newer) caller struct: only ours is written.
	std::memset(raw, 0xee, sizeof(raw));
	st->size = sizeof(raw);
	EXPECT_EQ(zpci_pcistg(h, 0, 0, 8, 0, st), 0);
	EXPECT_EQ(st->size, sizeof(zpci_status));
	EXPECT_EQ(raw[sizeof(zpci_status)], 0xee);

	zpci_info info;
	std::memset(&info, 0xee, sizeof(info));
	info.size = 12;
	ASSERT_EQ(zpci_get_info(h, &info), 0);
	EXPECT_EQ(info.size, 12u);
	EXPECT_EQ(info.backend, unsigned(ZPCI_BACKEND_SIM));
	EXPECT_EQ(info.uid, 0xeeeeeeeeu);	// beyond the 12 bytes
}

TEST(CApiEmu, GuestCapsNarrowOnly)
{
	handle h("sim:strict");
	unsigned char b[128] = {};
	zpci_status st = fresh();
	EXPECT_EQ(zpci_set_guest_caps(h, 256, 0), -EINVAL);	// wider than 128
	EXPECT_EQ(zpci_set_guest_caps(h, 8, 0), -EINVAL);
	EXPECT_EQ(zpci_set_guest_caps(h, 0, 1), -EINVAL);	// not relaxed
	ASSERT_EQ(zpci_pcistb(h, 0, 0, b, 128, 0, &st), 0);	// unchanged
	ASSERT_EQ(zpci_set_guest_caps(h, 64, 0), 0);
	EXPECT_EQ(zpci_pcistb(h, 0, 0, b, 128, 0, &st), -EINVAL);
	EXPECT_EQ(st.action, ZPCI_ACT_PGM);
	EXPECT_EQ(st.rule, unsigned(ZPCI_RULE_LEN_RANGE));
	EXPECT_EQ(zpci_pcistb(h, 0, 0, b, 64, 0, &st), 0);
	// The planner follows: a 128-byte write becomes two 64-byte blocks.
	h.sim()->reset_stats();
	EXPECT_EQ(zpci_write(h, 0, 0, b, 128, &st), 0);
	EXPECT_EQ(h.sim()->stats().ops[ZPCI_INSN_PCISTB], 2u);
	zpci_info info = {};
	info.size = sizeof(info);
	ASSERT_EQ(zpci_get_info(h, &info), 0);
	EXPECT_EQ(info.maxstbl, 128u);
	EXPECT_EQ(info.guest_maxstbl, 64u);
	zpci_caps caps;
	ASSERT_EQ(zpci_get_caps(h, &caps), 0);
	EXPECT_EQ(caps.maxstbl, 64u);

	// A relaxed function told "strict" gets the strict verdicts.
	handle ism("sim:ism");
	ASSERT_EQ(zpci_set_guest_caps(ism, 0, 1), 0);
	EXPECT_EQ(zpci_pcistb(ism, 0, 0x1003, b, 100, 0, &st), 0);
	ASSERT_EQ(zpci_set_guest_caps(ism, 128, 0), 0);
	EXPECT_EQ(zpci_pcistb(ism, 0, 0x1003, b, 100, 0, &st), -EINVAL);
	EXPECT_EQ(st.pgm, ZPCI_PGM_SPECIFICATION);
	EXPECT_EQ(st.rule, unsigned(ZPCI_RULE_OFFSET_ALIGN));
	info.size = sizeof(info);
	ASSERT_EQ(zpci_get_info(ism, &info), 0);
	EXPECT_EQ(info.relaxed, 1);
	EXPECT_EQ(info.guest_relaxed, 0u);
	EXPECT_EQ(info.pft, ZPCI_PFT_ISM);
	EXPECT_EQ(info.pcistg_mask & 1, 0);
}

TEST(CApiEmu, InfoOfTheSimulatedFunctions)
{
	handle h("sim:strict");
	zpci_info info = {};
	info.size = sizeof(info);
	ASSERT_EQ(zpci_get_info(h, &info), 0);
	EXPECT_EQ(info.size, sizeof(info));
	EXPECT_EQ(info.backend, unsigned(ZPCI_BACKEND_SIM));
	EXPECT_EQ(info.bar_mask, 0x5);
	EXPECT_EQ(info.bar_size[0], 1u << 20);
	EXPECT_EQ(info.bar_size[1], 0u);
	EXPECT_EQ(info.max_ops, 256u);
	EXPECT_EQ(info.driver_abi, 0u);
	EXPECT_EQ(info.has_msix, 0);
	EXPECT_EQ(info.msix_table_bar, ZPCI_IO_NO_BAR);
	handle f("sim-fallback:strict");
	info.size = sizeof(info);
	ASSERT_EQ(zpci_get_info(f, &info), 0);
	EXPECT_EQ(info.backend, unsigned(ZPCI_BACKEND_SIM_FALLBACK));
	EXPECT_EQ(info.max_ops, 1u);
}

// Every entry point with NULL / nonsense arguments: an error, no crash.
TEST(CApiEmu, NullArgumentsEverywhere)
{
	zpci_status st = fresh();
	zpci_handle *out = reinterpret_cast<zpci_handle *>(1);
	std::uint64_t v = 0;
	unsigned char b[16] = {};
	EXPECT_EQ(zpci_open(nullptr, &out), -EINVAL);
	EXPECT_EQ(zpci_open("sim:strict", nullptr), -EINVAL);
	EXPECT_EQ(zpci_borrow_fd(-1, 0, &out), -EBADF);
	EXPECT_EQ(out, nullptr);
	EXPECT_EQ(zpci_borrow_fd(0, 1, &out), -EINVAL);
	EXPECT_EQ(zpci_borrow_fd(0, 0, nullptr), -EINVAL);
	zpci_close(nullptr);
	EXPECT_EQ(zpci_set_guest_caps(nullptr, 0, 0), -EINVAL);
	EXPECT_EQ(zpci_get_caps(nullptr, nullptr), -EINVAL);
	EXPECT_EQ(zpci_get_info(nullptr, nullptr), -EINVAL);
	EXPECT_EQ(zpci_get_sim_stats(nullptr, nullptr), -EINVAL);
	EXPECT_EQ(zpci_check_op(nullptr, 0, 0, 0, 0, 0, nullptr), -EINVAL);
	EXPECT_EQ(zpci_plan(nullptr, 0, 0, 0, 8, 0, 1, nullptr, 0, nullptr, nullptr), -EINVAL);
	for (zpci_status *s : {&st, static_cast<zpci_status *>(nullptr)}) {
		EXPECT_EQ(zpci_pcistg(nullptr, 0, 0, 8, 0, s), -EINVAL);
		EXPECT_EQ(zpci_pcilg(nullptr, 0, 0, 8, &v, s), -EINVAL);
		EXPECT_EQ(zpci_pcistb(nullptr, 0, 0, b, 16, 0, s), -EINVAL);
		EXPECT_EQ(zpci_write(nullptr, 0, 0, b, 8, s), -EINVAL);
		EXPECT_EQ(zpci_read(nullptr, 0, 0, b, 8, s), -EINVAL);
		EXPECT_EQ(zpci_execute(nullptr, nullptr, 1, s), -EINVAL);
		EXPECT_EQ(zpci_ism_move(nullptr, 0, 0, 0, b, 8, 0, 0, nullptr, s), -EINVAL);
		EXPECT_EQ(zpci_ism_command(nullptr, b, 8, b, 8, 2, nullptr, s), -EINVAL);
	}
	EXPECT_EQ(st.action, ZPCI_ACT_HOST_ERROR);
	EXPECT_EQ(st.reason, unsigned(ZPCI_REASON_BAD_ARGUMENT));
	EXPECT_TRUE(st.flags & ZPCI_STATUS_REJECTED);
	EXPECT_EQ(zpci_decide(nullptr, nullptr), -EINVAL);
	EXPECT_EQ(zpci_decide_handle(nullptr, nullptr), -EINVAL);
	EXPECT_STRNE(zpci_status_str(-EINVAL, nullptr), "");
	EXPECT_STRNE(zpci_strerror(-99999), "");
	EXPECT_STREQ(zpci_path_name(99), "unknown");

	for (const char *spec : {"sim:strict", "sim-fallback:strict", "sim:ism", "sim-fallback:ism"}) {
		handle h(spec);
		zpci_plan_op op = {};
		op.insn = ZPCI_INSN_PCISTG;
		op.len = 8;
		EXPECT_EQ(zpci_write(h, 0, 0x100, nullptr, 8, &st), -EINVAL) << spec;
		EXPECT_EQ(zpci_read(h, 0, 0x100, nullptr, 8, &st), -EINVAL) << spec;
		EXPECT_EQ(zpci_write(h, 0, 0x100, b, SIZE_MAX, &st), -EINVAL) << spec;
		EXPECT_EQ(zpci_read(h, 2, ~0ULL, b, 16, &st), -EINVAL) << spec;
		EXPECT_EQ(zpci_execute(h, &op, 1, &st), -EINVAL) << spec;	// addr 0
		EXPECT_EQ(zpci_execute(h, nullptr, 0, &st), 0) << spec;
		EXPECT_EQ(zpci_pcilg(h, 2, 0, 8, nullptr, &st), -EINVAL) << spec;
		EXPECT_EQ(zpci_pcistb(h, 2, 0, nullptr, 16, 0, &st), -EINVAL) << spec;
		EXPECT_EQ(zpci_ism_move(h, 0, 0, 0, nullptr, 8, 0, 0, nullptr, &st), -EINVAL);
		EXPECT_EQ(zpci_ism_command(h, nullptr, 8, b, 8, 2, nullptr, &st), -EINVAL);
		EXPECT_EQ(zpci_ism_command(h, b, 8, nullptr, 8, 2, nullptr, &st), -EINVAL);
		EXPECT_EQ(zpci_get_caps(h, nullptr), -EINVAL);
		EXPECT_EQ(zpci_get_info(h, nullptr), -EINVAL);
		EXPECT_EQ(zpci_decide_handle(h, nullptr), -EINVAL);
		EXPECT_EQ(zpci_get_sim_stats(h, nullptr), -EINVAL);
		EXPECT_EQ(h.sim()->stats().total_ops(), 0u) << spec;
	}
}

TEST(CApiEmu, ConcurrentCallsOnOneHandle)
{
	handle h("sim:strict");
	constexpr int N = 2000;
	auto worker = [&](unsigned base) {
		zpci_status st = ZPCI_STATUS_INIT;
		alignas(8) unsigned char b[64];
		std::memset(b, static_cast<int>(base), sizeof(b));
		int bad = 0;
		for (int i = 0; i < N; i++) {
			std::uint64_t v = 0;
			bad += zpci_pcistg(h, 0, base + 8 * (i % 16), 8, base + i, &st) != 0;
			bad += zpci_pcilg(h, 0, base + 8 * (i % 16), 8, &v, &st) != 0;
			bad += v != base + i;
			bad += zpci_pcistb(h, 0, base + 0x800, b, 64, 0x1000, &st) != 0;
		}
		return bad;
	};
	int bad1 = 0, bad2 = 0;
	std::thread t1([&] { bad1 = worker(0x1000); });
	std::thread t2([&] { bad2 = worker(0x4000); });
	t1.join();
	t2.join();
	EXPECT_EQ(bad1, 0);
	EXPECT_EQ(bad2, 0);
	EXPECT_EQ(h.sim()->stats().total_ops(), 2u * 3 * N);
}

// The handle's futex lock excludes: four threads, each incrementing a
// plain counter under it, lose no increment (the contended path sleeps
// and is woken).
TEST(CApiEmu, HandleLockExcludesUnderContention)
{
	zpci::capi::handle_lock lock;
	long counter = 0;
	constexpr int N = 20000;
	std::vector<std::thread> ts;
	for (int t = 0; t < 4; t++)
		ts.emplace_back([&] {
			for (int i = 0; i < N; i++) {
				std::lock_guard g(lock);
				long v = counter;
				if (i % 1000 == 0)
					std::this_thread::yield();
				counter = v + 1;
			}
		});
	for (auto &t : ts)
		t.join();
	EXPECT_EQ(counter, 4L * N);
}

TEST(CApiEmu, FidAndUidResolveThroughSysfs)
{
	tmpdir d;
	d.write("0000:00:01.0/function_id", "0x00000010\n");
	d.write("0000:00:01.0/uid", "0x5\n");
	d.write("0000:00:02.0/function_id", "0x00000011\n");
	d.write("0000:00:02.0/uid", "0x5\n");
	d.write("0000:00:03.0/function_id", "0x00000012\n");
	d.write("0000:00:03.0/uid", "0x7\n");
	d.write("0000:00:04.0/vendor", "0x1af4\n");	// not zPCI
	d.write("not-an-address/function_id", "0x13\n");
	const auto &sys = zpci::vfio::real_sys();
	std::string root = d.p.string();
	auto r = zpci::vfio::resolve_function("fid:0x10", sys, root);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(*r, "0000:00:01.0");
	r = zpci::vfio::resolve_function("fid:18", sys, root);
	ASSERT_TRUE(r);
	EXPECT_EQ(*r, "0000:00:03.0");
	r = zpci::vfio::resolve_function("uid:7", sys, root);
	ASSERT_TRUE(r);
	EXPECT_EQ(*r, "0000:00:03.0");
	r = zpci::vfio::resolve_function("uid:5", sys, root);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::file_exists);
	r = zpci::vfio::resolve_function("fid:0x13", sys, root);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::no_such_device);
	for (const char *bad : {"fid:", "fid:x", "fid:-1", "uid:0x100000000", "pid:1", "fid:1 "}) {
		r = zpci::vfio::resolve_function(bad, sys, root);
		ASSERT_FALSE(r) << bad;
		EXPECT_EQ(r.error(), zpci::make_error_code(zpci::errc::bad_spec)) << bad;
	}
	r = zpci::vfio::resolve_function("fid:1", sys, (d.p / "missing").string());
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::no_such_file_or_directory);
	// Through zpci_open: a malformed key is a bad spec, not a crash.
	zpci_handle *h = nullptr;
	EXPECT_EQ(zpci_open("fid:zz", &h), -EINVAL);
	EXPECT_EQ(zpci_open("uid:", &h), -EINVAL);
	EXPECT_EQ(h, nullptr);
}

TEST(CApiEmu, HostMioFromCpuinfo)
{
	tmpdir d;
	d.write("s390-mio", "vendor_id       : IBM/S390\n# processors    : 2\n"
		"features\t: esan3 zarch stfle msa ldisp eimm dfp edat etf3eh highgprs te vx "
		"vxd vxe gs vxe2 vxp sort dflt vxp2 nnpa pcimio sie \n"
		"facilities      : 0 1 2\n");
	d.write("s390-nomio", "vendor_id       : IBM/S390\n"
		"features\t: esan3 zarch stfle msa ldisp eimm dfp edat etf3eh highgprs te vx sie\n");
	d.write("x86", "processor\t: 0\nflags\t\t: fpu vme de pse pcimio\n");
	d.write("tricky", "features\t: pcimiox xpcimio\n");
	using zpci::capi::host_mio_from_cpuinfo;
	EXPECT_EQ(host_mio_from_cpuinfo((d.p / "s390-mio").c_str()), 1);
	EXPECT_EQ(host_mio_from_cpuinfo((d.p / "s390-nomio").c_str()), 0);
	EXPECT_EQ(host_mio_from_cpuinfo((d.p / "x86").c_str()), 0);
	EXPECT_EQ(host_mio_from_cpuinfo((d.p / "tricky").c_str()), 0);
	EXPECT_EQ(host_mio_from_cpuinfo((d.p / "missing").c_str()), -ENOENT);
	EXPECT_EQ(host_mio_from_cpuinfo(nullptr), -EINVAL);
	int r = zpci_host_has_mio();
	EXPECT_TRUE(r == 0 || r == 1) << r;
#if !defined(__s390x__)
	EXPECT_EQ(r, 0);	// no MIO on a host that is not s390x
#endif
}

// --- the decision table (docs/ARCHITECTURE.md), one test per cell ---

namespace {

zpci_decision decide(int region, int msix, int pcistb_only, std::uint8_t pft, int relaxed,
		     int mio)
{
	zpci_decision_input in = {};
	in.size = sizeof(in);
	in.region = region;
	in.has_msix = msix;
	in.pcistb_only = pcistb_only;
	in.pft = pft;
	in.relaxed = relaxed;
	in.host_mio = mio;
	zpci_decision d = {};
	d.size = sizeof(d);
	EXPECT_EQ(zpci_decide(&in, &d), 0);
	EXPECT_NE(d.reason, nullptr);
	return d;
}

} // namespace

TEST(Decide, Cell1RegionWithMsixLeavesTableAndPbaToTheEmulator)
{
	for (int rest = 0; rest < 16; rest++) {
		auto d = decide(1, 1, rest & 1, (rest & 2) ? 5 : 0, rest & 4, rest & 8);
		EXPECT_EQ(d.path, unsigned(ZPCI_PATH_REGION_MSIX_EMULATED)) << rest;
		EXPECT_NE(std::strstr(d.reason, "MSI-X"), nullptr);
	}
}

TEST(Decide, Cell2RegionWithoutMsix)
{
	for (int rest = 0; rest < 16; rest++) {
		auto d = decide(2 /* any non-zero */, 0, rest & 1, (rest & 2) ? 5 : 0, rest & 4,
				rest & 8);
		EXPECT_EQ(d.path, unsigned(ZPCI_PATH_REGION)) << rest;
	}
}

TEST(Decide, Cell3PcistbOnlyWithoutRegionIsRefused)
{
	for (int rest = 0; rest < 8; rest++) {
		auto d = decide(0, rest & 1, 1, 0, rest & 2, rest & 4);
		EXPECT_EQ(d.path, unsigned(ZPCI_PATH_REFUSE)) << rest;
		// PFT 5 (ISM) implies the PCISTB-only DMB space.
		d = decide(0, rest & 1, 0, ZPCI_PFT_ISM, rest & 2, rest & 4);
		EXPECT_EQ(d.path, unsigned(ZPCI_PATH_REFUSE)) << rest;
		EXPECT_NE(std::strstr(d.reason, "PCISTB-only"), nullptr);
	}
}

TEST(Decide, Cell4RelaxedWithoutRegionFallsBackSplitting)
{
	for (int rest = 0; rest < 4; rest++) {
		auto d = decide(0, rest & 1, 0, 0, 1, rest & 2);
		EXPECT_EQ(d.path, unsigned(ZPCI_PATH_FALLBACK)) << rest;
		EXPECT_NE(std::strstr(d.reason, "relaxed"), nullptr);
	}
}

TEST(Decide, Cell5StockPathOnAnMioHost)
{
	for (int msix = 0; msix < 2; msix++) {
		auto d = decide(0, msix, 0, 0, 0, 1);
		EXPECT_EQ(d.path, unsigned(ZPCI_PATH_FALLBACK));
		EXPECT_NE(std::strstr(d.reason, "host MIO"), nullptr);
	}
}

TEST(Decide, Cell6StockPathWithoutMio)
{
	for (int msix = 0; msix < 2; msix++) {
		auto d = decide(0, msix, 0, 0, 0, 0);
		EXPECT_EQ(d.path, unsigned(ZPCI_PATH_FALLBACK));
		EXPECT_NE(std::strstr(d.reason, "non-MIO"), nullptr);
	}
}

TEST(Decide, SizeAwareInputAndOutput)
{
	// An older caller's shorter input: the missing fields count as 0.
	zpci_decision_input in;
	std::memset(&in, 0xff, sizeof(in));
	in.size = offsetof(zpci_decision_input, relaxed);	// host_mio, has_msix only
	in.host_mio = 1;
	in.has_msix = 1;
	zpci_decision d;
	std::memset(&d, 0xee, sizeof(d));
	d.size = 8;	// size + path only
	ASSERT_EQ(zpci_decide(&in, &d), 0);
	EXPECT_EQ(d.path, unsigned(ZPCI_PATH_FALLBACK));
	EXPECT_EQ(d.size, 8u);
	unsigned char tail[sizeof(d.reason)];
	std::memcpy(tail, &d.reason, sizeof(tail));
	for (unsigned char c : tail)
		EXPECT_EQ(c, 0xee);
	EXPECT_STREQ(zpci_path_name(ZPCI_PATH_REGION_MSIX_EMULATED), "region+msix-emulated");
}

TEST(Decide, RegionThatFencesEveryBarIsNotForwarded)
{
	// The driver could not read the MSI-X location, so it refuses every
	// BAR access: an emulator must not forward the function (it would take
	// every access back on its own path with the region's maxstbl).
	for (int rest = 0; rest < 8; rest++) {
		zpci_decision_input in = {};
		in.size = sizeof(in);
		in.region = 1;
		in.fenced = 1;
		in.has_msix = rest & 1;
		in.relaxed = 0;
		in.host_mio = rest & 2;
		zpci_decision d = {};
		d.size = sizeof(d);
		ASSERT_EQ(zpci_decide(&in, &d), 0);
		EXPECT_EQ(d.path, unsigned(ZPCI_PATH_FALLBACK)) << rest;
		EXPECT_NE(std::strstr(d.reason, "fences"), nullptr) << d.reason;
		// A PCISTB-only function cannot live on the stock path at all.
		in.pcistb_only = 1;
		ASSERT_EQ(zpci_decide(&in, &d), 0);
		EXPECT_EQ(d.path, unsigned(ZPCI_PATH_REFUSE)) << rest;
	}
	// A caller built against 1.0 does not know the field: not fenced.
	zpci_decision_input in = {};
	in.size = offsetof(zpci_decision_input, fenced);
	in.region = 1;
	in.fenced = 1;	// beyond the caller's size: ignored
	zpci_decision d = {};
	d.size = sizeof(d);
	ASSERT_EQ(zpci_decide(&in, &d), 0);
	EXPECT_EQ(d.path, unsigned(ZPCI_PATH_REGION));
}

TEST(Decide, FromTheHandle)
{
	struct {
		const char *spec;
		unsigned path;
	} cases[] = {
		{"sim:strict", ZPCI_PATH_REGION},
		{"sim:ism", ZPCI_PATH_REGION},
		{"sim-fallback:strict", ZPCI_PATH_FALLBACK},
		{"sim-fallback:ism", ZPCI_PATH_REFUSE},
	};
	for (auto c : cases) {
		handle h(c.spec);
		zpci_decision d = {};
		d.size = sizeof(d);
		ASSERT_EQ(zpci_decide_handle(h, &d), 0);
		EXPECT_EQ(d.path, c.path) << c.spec << ": " << d.reason;
	}
}

// The acceptance consumer (examples/emulator_consumer.c) against both
// simulated functions; consumer-matrix.sh builds it out of tree as well.
extern "C" int emulator_consumer_main(int argc, char **argv);

TEST(Consumer, RunsAgainstTheSimulatedFunctions)
{
	for (const char *spec : {"sim:strict", "sim:ism", "sim:strict,maxstbl=4096"}) {
		std::string s = spec;
		char name[] = "emulator_consumer";
		char *argv[] = {name, s.data(), nullptr};
		EXPECT_EQ(emulator_consumer_main(2, argv), 0) << spec;
	}
	{
		// ISM's PCISTB-only DMB space: PCISTB + PCILG, PCISTG refused.
		std::string s = "sim:ism", b = "--bar", n = "0";
		char name[] = "emulator_consumer";
		char *argv[] = {name, s.data(), b.data(), n.data(), nullptr};
		EXPECT_EQ(emulator_consumer_main(4, argv), 0);
	}
	// The 8-byte path: the consumer keeps the stock path (skip code).
	std::string s = "sim-fallback:strict";
	char name[] = "emulator_consumer";
	char *argv[] = {name, s.data(), nullptr};
	EXPECT_EQ(emulator_consumer_main(2, argv), 77);
	// Borrowing something that is not a vfio device is an open failure.
	std::string b = "--borrow-group", a = "0000:ff:1f.7";
	char *argv2[] = {name, b.data(), a.data(), nullptr};
	EXPECT_EQ(emulator_consumer_main(3, argv2), 2);
}

namespace {

// A region device with the one-instruction fast path (issue_one()), the
// way the zpci_io feature offers it, over a simulated function: every
// call is recorded, and the instruction runs on the simulator from the
// device's own staged block.
class fast_device final : public zpci::region_device {
public:
	explicit fast_device(std::unique_ptr<zpci::sim_function> sim) : sim_(std::move(sim)) {}
	const zpci_caps &caps() const noexcept override { return sim_->caps(); }
	std::uint32_t max_ops() const noexcept override { return sim_->max_ops(); }
	zpci::result<std::size_t> submit(std::span<const zpci::op> ops,
					 zpci::exec_status *st) noexcept override
	{
		submits++;
		return sim_->submit(ops, st);
	}
	void *stage_block(std::uint32_t len) noexcept override
	{
		staged = len;
		return block;
	}
	bool has_issue_one() const noexcept override { return true; }
	int issue_one(std::uint8_t insn, std::uint8_t pcias, std::uint64_t offset,
		      std::uint32_t len, std::uint64_t value, std::uint64_t *out,
		      zpci_io_status *st) noexcept override
	{
		calls++;
		last_insn = insn;
		last_value = value;
		alignas(8) unsigned char buf[8] = {};
		zpci::op o{static_cast<zpci::insn>(insn), pcias, 0, len, offset,
			   reinterpret_cast<std::uintptr_t>(insn == ZPCI_IO_OP_PCISTB ? block : buf)};
		if (insn == ZPCI_IO_OP_PCISTB && len != staged)
			return -EINVAL;
		if (insn == ZPCI_IO_OP_PCISTG)
			for (unsigned i = 0; i < len; i++)
				buf[i] = static_cast<unsigned char>(value >> (8 * (len - 1 - i)));
		zpci::exec_status es;
		auto r = sim_->submit(std::span<const zpci::op>(&o, 1), &es);
		if (r) {
			if (out) {
				std::uint64_t v = 0;
				for (unsigned i = 0; i < len; i++)
					v = v << 8 | buf[i];
				*out = v;
			}
			return 0;
		}
		*st = zpci_io_status{};
		st->error = -zpci::to_errno(r.error());
		st->done = 0;
		st->failed = 0;
		if (es.cc_valid && !es.pgm) {
			st->flags = ZPCI_IO_STATUS_CC_VALID;
			st->cc = es.cc;
			st->status = es.status;
		} else if (es.pgm) {
			st->flags = ZPCI_IO_STATUS_PGM;
			st->pgm = es.pgm;
		}
		return st->error;
	}
	zpci::sim_function &sim() { return *sim_; }

	alignas(4096) unsigned char block[ZPCI_MAXSTBL_LIMIT];
	std::uint32_t staged = 0;
	unsigned calls = 0, submits = 0;
	std::uint8_t last_insn = 0;
	std::uint64_t last_value = 0;

private:
	std::unique_ptr<zpci::sim_function> sim_;
};

} // namespace

// An emulator's one-instruction calls on a device with issue_one() (the
// zpci_io feature) take the fast path: one issue_one() each, no submit();
// the store's bytes go into the device's staged block, the outcomes are
// those of the path (every action as for the simulated function).
TEST(CApiEmu, OneInstructionCallsTakeTheFastPath)
{
	auto sim = zpci::sim_function::create(zpci::sim_config::ism());
	ASSERT_TRUE(sim);
	auto dev = std::make_shared<fast_device>(std::move(*sim));
	auto path = zpci::make_region_path(dev);
	ASSERT_TRUE(path);
	zpci_handle *h = zpci::capi::make_handle(std::move(*path));
	ASSERT_NE(h, nullptr);
	ASSERT_EQ(h->fast, dev.get());

	zpci_status st = fresh();
	// PCISTG on BAR 2 (the command space takes it) and PCILG back
	ASSERT_EQ(zpci_pcistg(h, 2, 0x10, 4, 0x11223344, &st), 0) << zpci_status_str(st.error, &st);
	EXPECT_EQ(dev->last_insn, ZPCI_IO_OP_PCISTG);
	EXPECT_EQ(dev->last_value, 0x11223344u);
	EXPECT_EQ(st.action, ZPCI_ACT_NONE);
	EXPECT_EQ(st.done, 1u);
	std::uint64_t v = 0;
	ASSERT_EQ(zpci_pcilg(h, 2, 0x10, 4, &v, &st), 0);
	EXPECT_EQ(v, 0x11223344u);
	// PCISTB from a host copy, and from the guest through the callback
	std::vector<unsigned char> raw(1001);
	for (unsigned i = 0; i < raw.size(); i++)
		raw[i] = static_cast<unsigned char>(i * 3 + 1);
	ASSERT_EQ(zpci_pcistb(h, 2, 0x103, raw.data() + 1, 1000, 0x2001, &st), 0);
	EXPECT_EQ(std::memcmp(dev->block, raw.data() + 1, 1000), 0);
	guest_source g;
	g.data = raw.data();
	ASSERT_EQ(zpci_pcistb_guest(h, 2, 0x800, 5, 0x3000, guest_source::read, &g, &st), 0);
	EXPECT_EQ(g.calls, 1u);
	EXPECT_EQ(g.last_buf, reinterpret_cast<std::uintptr_t>(dev->block));
	EXPECT_EQ(dev->calls, 4u);
	EXPECT_EQ(dev->submits, 0u) << "a one-instruction call went through submit()";
	std::uint64_t b = 0;
	ASSERT_EQ(zpci_pcilg(h, 2, 0x800, 5, &b, &st), 0);
	EXPECT_EQ(b, (std::uint64_t(raw[0]) << 32) | (std::uint64_t(raw[1]) << 24) |
		     (std::uint64_t(raw[2]) << 16) | (std::uint64_t(raw[3]) << 8) | raw[4]);
	// the rules are the library's once, before the device: no call
	const unsigned before = dev->calls;
	EXPECT_EQ(zpci_pcistb(h, 2, 0xff0, raw.data(), 32, 0x2000, &st), -EINVAL);
	EXPECT_EQ(st.action, ZPCI_ACT_PGM);
	EXPECT_EQ(dev->calls, before);
	// the function's refusal comes back as the guest's cc
	dev->sim().inject_failure(0, ZPCI_CC_ERROR, ZPCI_ST_IN_ERROR);
	EXPECT_EQ(zpci_pcilg(h, 2, 0, 8, &v, &st), -EIO);
	EXPECT_EQ(v, 0u);
	EXPECT_EQ(st.action, ZPCI_ACT_CC);
	EXPECT_EQ(st.cc, ZPCI_CC_ERROR);
	EXPECT_EQ(st.status, ZPCI_ST_IN_ERROR);
	EXPECT_FALSE(st.flags & ZPCI_STATUS_REJECTED);
	zpci_close(h);
}
