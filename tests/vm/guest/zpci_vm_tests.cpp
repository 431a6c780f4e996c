// SPDX-License-Identifier: MIT
// zpci_vm_tests: the integration suite that runs inside the s390x guest
// against the real zpci_io driver on QEMU's emulated zPCI functions.
//
// Everything that writes into a function's 16 MiB RAM BAR (ivshmem BAR 2,
// backed by a shared-memory file on the host) records what must be there
// afterwards in $ZPCI_RESULTS/manifest.txt; the host verifier checks it
// byte for byte after the guest powered off, and that every other byte is
// still zero.  The guest also reads everything back through PCILG.
//
// Environment (exported by the guest's /init): ZPCI_STRICT, ZPCI_ISM (PCI
// addresses), ZPCI_MODE (patched | stock), ZPCI_RESULTS (directory).
// Optional: ZPCI_FUZZ_ITERS (default 10000), ZPCI_SEED.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <chrono>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <linux/vfio.h>

#include "common.hpp"
#include "nl_raw.hpp"
#include "suite.hpp"
#include "uffd_page.hpp"

#ifdef ZPCI_VM_HAVE_LIBZPCI
#include <zpci/ism.hpp>
#include <zpci/path.hpp>
#ifdef ZPCI_VM_HAVE_STATS
#include <zpci/stats.hpp>
#endif
#include <zpci/vfio.hpp>
#include <zpci/zpci.h>
#endif

using namespace zpci_vm;

namespace {

constexpr std::uint64_t kHalf = kBarSize / 2;
// Test areas: strict [0, 15 MiB - 4 KiB), ISM data [0, 6 MiB) (signals
// land in the upper half); the benchmark owns strict [15, 16) and ISM
// [7, 8) MiB.  The hot-unplug process parks a strict batch in the last
// 4 KiB below 15 MiB.
Layout g_strict_layout(0, (15ULL << 20) - 4096);
Layout g_ism_layout(0, 6ULL << 20);
// The hot-unplug test runs in a process of its own: fixed ISM [6, 7) MiB.
constexpr std::uint64_t kHotUnplugArea = 6ULL << 20;

std::uint64_t base_seed()
{
	return std::strtoull(env_or("ZPCI_SEED", "0x5eed2026").c_str(), nullptr, 0);
}

Layout &layout(const Function &f) { return &f == &fns().ism ? g_ism_layout : g_strict_layout; }

}  // namespace

namespace zpci_vm {

std::string test_label()
{
	const auto *ti = ::testing::UnitTest::GetInstance()->current_test_info();
	return ti ? std::string(ti->test_suite_name()) + "." + ti->name() : "?";
}

std::uint64_t seed_for(const std::string &what)
{
	std::uint64_t h = base_seed();
	for (char c : what)
		h = splitmix64(h ^ static_cast<unsigned char>(c));
	return h;
}

const char *fname(const Function &f) { return &f == &fns().ism ? "ism" : "strict"; }

std::uint64_t take(const Function &f, std::uint64_t len)
{
	std::uint64_t off = layout(f).take(len);
	if (off == ~0ULL)
		ADD_FAILURE() << "BAR test area exhausted";
	return off;
}

std::string sysfs_read(const std::string &addr, const char *attr)
{
	std::ifstream in("/sys/bus/pci/devices/" + addr + "/" + attr);
	std::string s;
	in >> s;
	return s;
}

int sysfs_write(const std::string &path, const std::string &value)
{
	int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = ::write(fd, value.data(), value.size());
	int err = n < 0 ? errno : 0;
	::close(fd);
	return n == static_cast<ssize_t>(value.size()) ? 0 : -(err ? err : EIO);
}

bool wait_until(const std::function<bool()> &cond, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 50) {
		if (cond())
			return true;
		usleep(50000);
	}
	return cond();
}

}  // namespace zpci_vm

namespace {

// Expects a successful batch.
void expect_ok(const SubmitResult &r, const Batch &b, const char *what)
{
	EXPECT_EQ(r.rc, 0L)
		<< what << ": errno " << errno_name(r.err) << " status.error "
		<< r.status.error << " failed op " << r.status.failed << " rule "
		<< zpci_rule_name(r.status.rule);
	EXPECT_EQ(r.status.error, 0) << what;
	EXPECT_EQ(r.status.done, b.nr_ops()) << what;
	EXPECT_FALSE(r.status_written) << what << ": a successful request got a status";
}

// Checks that f's BAR bytes equal the pattern, read back through PCILG.
void expect_pattern(const Function &f, std::uint64_t off, std::size_t len,
		    std::uint64_t seed, std::uint64_t pos, const char *what)
{
	std::vector<std::uint8_t> got(len), want(len);
	ASSERT_EQ(region_load(f, kDataBar, off, got.data(), len), 0) << what;
	pattern_fill(want.data(), len, seed, pos);
	std::size_t bad = 0;
	while (bad < len && got[bad] == want[bad])
		bad++;
	EXPECT_EQ(bad, len) << what << ": first difference at BAR offset 0x"
			    << std::hex << off + bad;
}

void expect_zero(const Function &f, std::uint64_t off, std::size_t len, const char *what)
{
	std::vector<std::uint8_t> got(len);
	ASSERT_EQ(region_load(f, kDataBar, off, got.data(), len), 0) << what;
	auto it = std::find_if(got.begin(), got.end(), [](std::uint8_t c) { return c != 0; });
	EXPECT_TRUE(it == got.end()) << what << ": non-zero byte at BAR offset 0x"
				     << std::hex << off + (it - got.begin());
}

// ---------------------------------------------------------------- info

void check_info(const Function &f, bool ism)
{
	const zpci_io_info &in = f.info();
	EXPECT_GE(in.argsz, offsetof(zpci_io_info, reserved));
	EXPECT_GE(in.abi_version, ZPCI_IO_ABI_MIN_DRIVER);
	EXPECT_LE(in.abi_min_compat, ZPCI_IO_ABI_VERSION);
	EXPECT_LE(in.abi_min_compat, in.abi_version);
	const std::uint64_t need = ZPCI_IO_FEAT_PCISTB | ZPCI_IO_FEAT_PCISTG |
				   ZPCI_IO_FEAT_PCILG | ZPCI_IO_FEAT_STATUS;
	EXPECT_EQ(in.features & need, need);
	EXPECT_GE(in.max_ops, 1u);
	EXPECT_GE(in.maxstbl, 16u);
	EXPECT_LE(in.maxstbl, ZPCI_MAXSTBL_LIMIT);
	EXPECT_EQ(in.bar_mask & ~0x3fu, 0u);
	EXPECT_EQ(in.pcistg_mask & ~in.bar_mask, 0u) << "PCISTG on a missing BAR";
	for (int i = 0; i < 6; i++)
		EXPECT_EQ(in.bar_size[i] != 0, ((in.bar_mask >> i) & 1) != 0) << "BAR " << i;
	// ABI 3: the request limits and the driver's own structure sizes
	EXPECT_EQ(in.req_hdr_size, sizeof(zpci_io_req));
	EXPECT_EQ(in.op_size, sizeof(zpci_io_op));
	EXPECT_GE(in.max_req_size, sizeof(zpci_io_req) + in.max_ops * (sizeof(zpci_io_op) + 4096));
	zpci_caps c = f.caps();
	EXPECT_TRUE(zpci_caps_valid(&c));

	// The zPCI sysfs attributes of the same function must agree.
	std::string fid = sysfs_read(f.addr(), "function_id");
	if (!fid.empty()) {
		EXPECT_EQ(std::strtoul(fid.c_str(), nullptr, 0), in.fid);
	}
	std::string uid = sysfs_read(f.addr(), "uid");
	if (!uid.empty()) {
		EXPECT_EQ(std::strtoul(uid.c_str(), nullptr, 0), in.uid);
	}
	// (pft is the BASE capability's and sysfs's; ABI 3 does not repeat it)

	if (!fns().patched())
		return;
	// The contract's two test functions.
	EXPECT_TRUE(has_ram_bar(f)) << "BAR 2 is not the 16 MiB RAM BAR";
	if (ism) {
		EXPECT_EQ(in.fid, 2u);
		EXPECT_EQ(in.uid, 2u);
		EXPECT_EQ(f.pft(), ZPCI_PFT_ISM);
		EXPECT_TRUE(in.flags & ZPCI_IO_INFO_RELAXED);
		EXPECT_EQ(in.maxstbl, 4096u);
		EXPECT_FALSE((in.pcistg_mask >> kDataBar) & 1)
			<< "ISM data space must refuse PCISTG";
	} else {
		EXPECT_EQ(in.fid, 1u);
		EXPECT_EQ(in.uid, 1u);
		EXPECT_EQ(f.pft(), 0u);
		EXPECT_FALSE(in.flags & ZPCI_IO_INFO_RELAXED);
		EXPECT_EQ(in.maxstbl, 128u);
		EXPECT_TRUE((in.pcistg_mask >> kDataBar) & 1);
	}
}

TEST(Info, Strict)
{
	REQUIRE_STRICT();
	check_info(fns().strict, false);
}

TEST(Info, Ism)
{
	REQUIRE_ISM();
	check_info(fns().ism, true);
}

// ABI 3 has no device-specific region: the info block is a GET of the
// device feature, and a SET of its bytes is a (malformed) request, refused
// without changing anything.
TEST(Info, NoRegionAndTheInfoIsGetOnly)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	EXPECT_EQ(f.num_regions(), static_cast<std::uint32_t>(VFIO_PCI_NUM_REGIONS))
		<< "a device-specific region next to vfio-pci's";
	std::vector<std::uint8_t> junk(kFeatHdr + sizeof(zpci_io_info));
	std::memcpy(junk.data() + kFeatHdr, &f.info(), sizeof(zpci_io_info));
	int err = 0;
	EXPECT_LT(f.request_raw(junk.data(), sizeof(zpci_io_info), &err), 0)
		<< "an info block was taken as a request";
	EXPECT_EQ(err, EINVAL) << errno_name(err);
	zpci_io_info again{};
	ASSERT_EQ(f.read_info(&again), 0);
	EXPECT_EQ(std::memcmp(&again, &f.info(), sizeof(again)), 0);
}

// ---------------------------------------------------------------- round trips

TEST(RoundTrip, StrictPcistb)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	std::uint64_t area = take(f, 16384);
	AlignedBuf src(16384);
	pattern_fill(src.data(), 16384, seed, area);

	// Every legal length 16..128, one op per call, packed back to back
	// but never crossing 4 KiB; then one batch of max_ops ops.
	std::uint64_t pos = area;
	for (std::uint32_t len = 16; len <= f.info().maxstbl; len += 8) {
		if ((pos & 4095) + len > 4096)
			pos = (pos + 4095) & ~4095ULL;
		Batch b;
		b.add(ZPCI_IO_OP_PCISTB, kDataBar, pos, src.data() + (pos - area), len);
		SubmitResult r = submit(f, b);
		expect_ok(r, b, "single PCISTB");
		Manifest::get().written("strict", pos, len, seed, pos, test_label());
		pos += len;
	}
	pos = area + 8192;
	Batch b;
	std::uint32_t n = std::min<std::uint32_t>(f.info().max_ops, 32);
	for (std::uint32_t i = 0; i < n; i++) {
		b.add(ZPCI_IO_OP_PCISTB, kDataBar, pos, src.data() + (pos - area), 128);
		pos += 128;
	}
	SubmitResult r = submit(f, b);
	expect_ok(r, b, "batched PCISTB");
	Manifest::get().written("strict", area + 8192, pos - area - 8192, seed, area + 8192,
				test_label());
	expect_pattern(f, area + 8192, pos - area - 8192, seed, area + 8192, "batch readback");
}

TEST(RoundTrip, StrictPcistgPcilg)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	std::uint64_t area = take(f, 4096);
	std::uint8_t src[8];
	// Every (offset within a doubleword, length) pair that does not cross
	// 8 bytes, each in its own doubleword.
	std::uint64_t pos = area;
	for (unsigned len = 1; len <= 8; len++) {
		for (unsigned at = 0; at + len <= 8; at++) {
			std::uint64_t off = pos + at;
			pattern_fill(src, len, seed, off);
			Batch b;
			b.add(ZPCI_IO_OP_PCISTG, kDataBar, off, src, len);
			SubmitResult r = submit(f, b);
			expect_ok(r, b, "PCISTG");
			Manifest::get().written("strict", off, len, seed, off, test_label());
			// PCILG of exactly the same bytes, and of the whole doubleword.
			std::uint8_t got[8] = {}, dw[8] = {};
			Batch l;
			l.add(ZPCI_IO_OP_PCILG, kDataBar, off, got, len);
			l.add(ZPCI_IO_OP_PCILG, kDataBar, pos, dw, 8);
			r = submit(f, l);
			expect_ok(r, l, "PCILG");
			EXPECT_EQ(std::memcmp(got, src, len), 0) << "len " << len << " at " << at;
			for (unsigned i = 0; i < 8; i++) {
				std::uint8_t want = (i >= at && i < at + len) ? src[i - at] : 0;
				EXPECT_EQ(dw[i], want) << "len " << len << " at " << at << " byte " << i;
			}
			pos += 8;
		}
	}
}

TEST(RoundTrip, StrictMixedBatchRunsInOrder)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	std::uint64_t area = take(f, 4096);
	AlignedBuf src(256);
	pattern_fill(src.data(), 256, seed, area);
	std::uint8_t back[128] = {}, dw[8] = {};
	// PCISTB, then PCILG of what it wrote, then PCISTG over part of it,
	// then PCILG again: the loads see the earlier stores of the same batch.
	std::uint8_t over[4];
	pattern_fill(over, 4, seed ^ 1, area + 12);
	Batch b;
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, area, src.data(), 128);
	for (int i = 0; i < 16; i++)
		b.add(ZPCI_IO_OP_PCILG, kDataBar, area + 8 * i, back + 8 * i, 8);
	b.add(ZPCI_IO_OP_PCISTG, kDataBar, area + 12, over, 4);
	b.add(ZPCI_IO_OP_PCILG, kDataBar, area + 8, dw, 8);
	if (b.nr_ops() > f.info().max_ops)
		GTEST_SKIP() << "max_ops " << f.info().max_ops << " < " << b.nr_ops();
	SubmitResult r = submit(f, b);
	expect_ok(r, b, "mixed batch");
	EXPECT_EQ(std::memcmp(back, src.data(), 128), 0);
	EXPECT_EQ(std::memcmp(dw, src.data() + 8, 4), 0);
	EXPECT_EQ(std::memcmp(dw + 4, over, 4), 0);
	Manifest::get().written("strict", area, 12, seed, area, test_label());
	Manifest::get().written("strict", area + 12, 4, seed ^ 1, area + 12, test_label());
	Manifest::get().written("strict", area + 16, 112, seed, area + 16, test_label());
}

TEST(RoundTrip, IsmRelaxedPcistb)
{
	REQUIRE_ISM();
	const Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	// Odd lengths at odd offsets from odd source addresses: legal only
	// with relaxed alignment.  Each in its own 4 KiB page.
	const std::uint32_t lens[] = {1, 3, 7, 9, 100, 1001, 4095, 4096};
	std::uint64_t area = take(f, 4096 * std::size(lens));
	AlignedBuf buf(4096 + 64);
	for (std::size_t i = 0; i < std::size(lens); i++) {
		std::uint32_t len = lens[i];
		// Odd target offset and odd source address unless it fills the page.
		std::uint64_t off = area + 4096 * i + (len == 4096 ? 0 : 1);
		std::uint8_t *s = buf.data() + (len == 4096 ? 0 : 3);
		pattern_fill(s, len, seed, off);
		zpci_caps c = f.caps();
		ASSERT_TRUE(zpci_verdict_ok(zpci_check(&c, ZPCI_INSN_PCISTB, kDataBar, off, len,
						       reinterpret_cast<std::uintptr_t>(s))))
			<< "test bug: len " << len;
		Batch b;
		b.add(ZPCI_IO_OP_PCISTB, kDataBar, off, s, len);
		SubmitResult r = submit(f, b);
		expect_ok(r, b, "relaxed PCISTB");
		Manifest::get().written("ism", off, len, seed, off, test_label());
		expect_pattern(f, off, len, seed, off, "relaxed readback");
	}
}

// An ISM move of size bytes to DMB offset dmb (token 0, buffer 0): split at
// 4 KiB boundaries of the DMB offset, the signal flag on the last chunk.
struct Chunk {
	std::uint64_t dmb;	// logical DMB offset
	std::uint64_t target;	// PCI offset (with the signal bit)
	std::uint32_t len;
	std::size_t src_off;
};

std::vector<Chunk> ism_chunks(std::uint64_t dmb, std::size_t size, bool signal,
			      std::uint32_t maxstbl)
{
	std::vector<Chunk> v;
	std::size_t done = 0;
	while (done < size) {
		std::uint64_t pos = dmb + done;
		std::uint32_t len = std::min<std::uint64_t>({size - done, 4096 - (pos & 4095),
							      maxstbl});
		v.push_back({pos, pos, len, done});
		done += len;
	}
	if (signal && !v.empty())
		v.back().target |= kIsmSignalBit;
	return v;
}

TEST(RoundTrip, IsmMoveSignalsOnlyLastChunk)
{
	REQUIRE_ISM();
	const Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	const std::size_t size = 3 * 4096 + 1000;
	std::uint64_t area = take(f, 5 * 4096);
	std::uint64_t dmb = area + 0x123;
	AlignedBuf src(size);
	pattern_fill(src.data(), size, seed, dmb);
	auto chunks = ism_chunks(dmb, size, true, f.info().maxstbl);
	// 4096 - 0x123, 4096, 4096, the rest: the 4 KiB split of the DMB offset.
	ASSERT_EQ(chunks.size(), 4u);
	EXPECT_EQ(chunks[0].len, 4096u - 0x123);
	EXPECT_EQ(chunks[3].len, size - chunks[0].len - 2 * 4096);
	Batch b;
	for (auto &c : chunks)
		b.add(ZPCI_IO_OP_PCISTB, kDataBar, c.target, src.data() + c.src_off, c.len);
	SubmitResult r = submit(f, b);
	expect_ok(r, b, "ISM move");
	for (std::size_t i = 0; i + 1 < chunks.size(); i++) {
		Manifest::get().written("ism", chunks[i].dmb, chunks[i].len, seed, chunks[i].dmb,
					test_label());
		expect_pattern(f, chunks[i].dmb, chunks[i].len, seed, chunks[i].dmb, "chunk");
	}
	const Chunk &last = chunks.back();
	Manifest::get().written("ism", last.target, last.len, seed, last.dmb, test_label() + "/signal");
	Manifest::get().untouched("ism", last.dmb, last.len, test_label() + "/unsignalled-copy");
	expect_pattern(f, last.target, last.len, seed, last.dmb, "signalled chunk");
	expect_zero(f, last.dmb, last.len, "last chunk without signal");
}

TEST(RoundTrip, IsmMoveWithoutSignal)
{
	REQUIRE_ISM();
	const Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	const std::size_t size = 2 * 4096;
	std::uint64_t dmb = take(f, size);
	AlignedBuf src(size);
	pattern_fill(src.data(), size, seed, dmb);
	auto chunks = ism_chunks(dmb, size, false, f.info().maxstbl);
	Batch b;
	for (auto &c : chunks)
		b.add(ZPCI_IO_OP_PCISTB, kDataBar, c.target, src.data() + c.src_off, c.len);
	expect_ok(submit(f, b), b, "ISM move, no signal");
	Manifest::get().written("ism", dmb, size, seed, dmb, test_label());
	Manifest::get().nosignal("ism", dmb + kIsmSignalBit, size, test_label());
	expect_pattern(f, dmb, size, seed, dmb, "move");
	expect_zero(f, dmb + kIsmSignalBit, size, "signal area");
}

// ---------------------------------------------------------------- mid-batch failures

// The ISM-like function's BAR 2 refuses PCISTG (the device answers cc 1,
// status 20); with zpci_io_nostg_bars set to 0 the driver lets such a
// store through, which makes an op fail when it runs, after validation.
// (Before ABI 3 an unpinnable source did that; a request has no pointers
// any more, so an unreadable one fails whole at its copy, before anything
// runs: Request.UnreadableRequestIssuesNothing.)
class NostgOverride {
public:
	explicit NostgOverride(const Function &f)
		: attr_("/sys/bus/pci/devices/" + f.addr() + "/zpci_io_nostg_bars")
	{
		std::ifstream in(attr_);
		ok_ = static_cast<bool>(in >> saved_) && set("0");
	}
	~NostgOverride()
	{
		if (ok_ && !set(saved_))
			ADD_FAILURE() << "could not restore " << attr_;
	}
	bool ok() const { return ok_; }

private:
	bool set(const std::string &v)
	{
		std::ofstream out(attr_);
		out << v << "\n";
		out.flush();
		return static_cast<bool>(out);
	}
	std::string attr_, saved_;
	bool ok_ = false;
};

TEST(MidBatch, StopsAtTheFailedInstruction)
{
	REQUIRE_ISM();
	const Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	std::uint64_t area = take(f, 4096);
	AlignedBuf src(512);
	pattern_fill(src.data(), 512, seed, area);
	Batch b;
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, area, src.data(), 128);
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, area + 128, src.data() + 128, 128);
	b.add(ZPCI_IO_OP_PCISTG, kDataBar, area + 256, src.data() + 256, 8);
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, area + 384, src.data() + 384, 128);
	SubmitResult r;
	{
		NostgOverride o(f);
		if (!o.ok())
			GTEST_SKIP() << "no zpci_io_nostg_bars";
		r = submit(f, b);
	}
	EXPECT_EQ(r.rc, -1);
	EXPECT_EQ(r.err, EIO) << errno_name(r.err);
	EXPECT_EQ(r.status.error, -EIO);
	EXPECT_EQ(r.status.done, 2u) << "ops before the failed one must stay done";
	EXPECT_EQ(r.status.failed, 2u);
	EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_CC_VALID);
	EXPECT_FALSE(r.status.flags & ZPCI_IO_STATUS_REJECTED);
	EXPECT_EQ(r.status.cc, ZPCI_CC_ERROR);
	EXPECT_EQ(r.status.status, ZPCI_ST_INVALID_AS);
	Manifest::get().written("ism", area, 256, seed, area, test_label());
	Manifest::get().untouched("ism", area + 256, 256, test_label());
	expect_pattern(f, area, 256, seed, area, "ops 0-1");
	expect_zero(f, area + 256, 256, "ops 2-3");
}

// An ISM move whose third op fails when it runs: the signalled last chunk
// is never sent.
TEST(MidBatch, IsmFailedOpMeansNoSignal)
{
	REQUIRE_ISM();
	const Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	const std::size_t size = 4 * 4096;
	std::uint64_t dmb = take(f, size);
	AlignedBuf src(size);
	pattern_fill(src.data(), size, seed, dmb);
	auto chunks = ism_chunks(dmb, size, true, f.info().maxstbl);
	ASSERT_EQ(chunks.size(), 4u);
	Batch b;
	for (std::size_t i = 0; i < chunks.size(); i++) {
		const Chunk &c = chunks[i];
		if (i == 2)	// the lost chunk: a store the device refuses
			b.add(ZPCI_IO_OP_PCISTG, kDataBar, c.target, src.data() + c.src_off, 8);
		else
			b.add(ZPCI_IO_OP_PCISTB, kDataBar, c.target, src.data() + c.src_off, c.len);
	}
	SubmitResult r;
	{
		NostgOverride o(f);
		if (!o.ok())
			GTEST_SKIP() << "no zpci_io_nostg_bars";
		r = submit(f, b);
	}
	EXPECT_EQ(r.rc, -1);
	EXPECT_EQ(r.err, EIO) << errno_name(r.err);
	EXPECT_EQ(r.status.done, 2u);
	EXPECT_EQ(r.status.failed, 2u);
	Manifest::get().written("ism", dmb, 2 * 4096, seed, dmb, test_label());
	Manifest::get().untouched("ism", dmb + 2 * 4096, 2 * 4096, test_label());
	Manifest::get().nosignal("ism", chunks.back().target, chunks.back().len, test_label());
	expect_pattern(f, dmb, 2 * 4096, seed, dmb, "chunks 0-1");
	expect_zero(f, dmb + 2 * 4096, 2 * 4096, "chunks 2-3");
	expect_zero(f, chunks.back().target, chunks.back().len, "signal");
}

// ---------------------------------------------------------------- refusals

struct Refusal {
	std::string name;
	int err;		// expected errno
	int rule;		// expected status.rule, or -1
	// Fills the batch; the target area [area, area + 8 KiB) must stay zero.
	std::function<void(const Function &, Batch &, std::uint64_t area, AlignedBuf &)> build;
};

// The BAR a refused request aims at: the RAM BAR in patched mode, else the
// largest BAR the function has (nothing may ever reach it).
unsigned target_bar(const Function &f)
{
	if (has_ram_bar(f))
		return kDataBar;
	unsigned best = 0;
	for (unsigned i = 0; i < 6; i++)
		if (f.info().bar_size[i] > f.info().bar_size[best])
			best = i;
	return best;
}

std::vector<Refusal> refusals(const Function &f)
{
	const zpci_io_info &in = f.info();
	const bool relaxed = in.flags & ZPCI_IO_INFO_RELAXED;
	const unsigned bar = target_bar(f);
	std::vector<Refusal> v;
	auto stb = [bar](std::uint64_t o, std::uint32_t len) {
		return [=](const Function &, Batch &b, std::uint64_t area, AlignedBuf &buf) {
			b.add(ZPCI_IO_OP_PCISTB, bar, area + o, buf.data(), len);
		};
	};
	auto one = stb(0, 64);
	auto hdr = [=](const char *name, int err, std::function<void(zpci_io_req &)> edit) {
		return Refusal{name, err, -1, [=](auto &f2, Batch &b, auto a, auto &buf) {
				       one(f2, b, a, buf);
				       edit(b.header());
			       }};
	};

	v.push_back(hdr("request flags", EINVAL, [](zpci_io_req &h) { h.flags = 1; }));
	v.push_back(hdr("request flags, top bit", EINVAL, [](zpci_io_req &h) { h.flags = 1U << 31; }));
	v.push_back(hdr("request reserved0", EINVAL, [](zpci_io_req &h) { h.reserved0 = 1U << 20; }));
	v.push_back(hdr("request reserved[1]", EINVAL, [](zpci_io_req &h) { h.reserved[1] = 1; }));
	v.push_back(hdr("nr_ops 0", EINVAL, [](zpci_io_req &h) { h.nr_ops = 0; }));
	v.push_back(hdr("ops beyond the request", EINVAL, [](zpci_io_req &h) { h.nr_ops = 10; }));
	v.push_back(hdr("total_size not argsz", EINVAL, [](zpci_io_req &h) { h.total_size = 4096; }));
	v.push_back(hdr("hdr_size 40", EINVAL, [](zpci_io_req &h) { h.hdr_size = 40; }));
	v.push_back(hdr("hdr_size 68", EINVAL, [](zpci_io_req &h) { h.hdr_size = 68; }));
	v.push_back(hdr("op_size 16", EINVAL, [](zpci_io_req &h) { h.op_size = 16; }));
	v.push_back(hdr("op_size 36", EINVAL, [](zpci_io_req &h) { h.op_size = 36; }));
	v.push_back({"nr_ops > max_ops", E2BIG, -1, [=](auto &, Batch &b, auto a, auto &buf) {
			     for (std::uint32_t i = 0; i <= in.max_ops; i++)
				     b.add(ZPCI_IO_OP_PCISTB, bar, a, buf.data(), 64);
		     }});
	v.push_back({"unknown header tail", EINVAL, -1, [=](auto &f2, Batch &b, auto a, auto &buf) {
			     one(f2, b, a, buf);
			     b.header().hdr_size = sizeof(zpci_io_req) + 8;
			     b.hdr_tail() = {0, 0, 0, 0, 0, 0, 0, 1};
		     }});
	v.push_back({"unknown op tail", EINVAL, -1, [=](auto &f2, Batch &b, auto a, auto &buf) {
			     one(f2, b, a, buf);
			     b.header().op_size = sizeof(zpci_io_op) + 8;
			     b.op_tail() = {0x80};
		     }});
	v.push_back({"block in the op array", EINVAL, -1, [=](auto &f2, Batch &b, auto a, auto &buf) {
			     one(f2, b, a, buf);
			     b.keep_data(0);
			     b.op(0).data = sizeof(zpci_io_req);
		     }});
	v.push_back({"block in the header", EINVAL, -1, [=](auto &f2, Batch &b, auto a, auto &buf) {
			     one(f2, b, a, buf);
			     b.keep_data(0);
			     b.op(0).data = 8;
		     }});
	v.push_back({"block beyond the request", EINVAL, -1, [=](auto &f2, Batch &b, auto a, auto &buf) {
			     one(f2, b, a, buf);
			     b.keep_data(0);
			     b.op(0).data = 1 << 20;
		     }});
	v.push_back({"instruction 0", EINVAL, ZPCI_RULE_INSN, [=](auto &f2, Batch &b, auto a, auto &buf) {
			     one(f2, b, a, buf);
			     b.op(0).insn = 0;
		     }});
	v.push_back({"instruction 4", EINVAL, ZPCI_RULE_INSN, [=](auto &f2, Batch &b, auto a, auto &buf) {
			     one(f2, b, a, buf);
			     b.op(0).insn = 4;
		     }});
	v.push_back({"op flags", EINVAL, -1, [=](auto &f2, Batch &b, auto a, auto &buf) {
			     one(f2, b, a, buf);
			     b.op(0).flags = 0x8000;
		     }});
	v.push_back({"op reserved", EINVAL, -1, [=](auto &f2, Batch &b, auto a, auto &buf) {
			     one(f2, b, a, buf);
			     b.op(0).reserved = 1;
		     }});
	v.push_back({"config space PCILG", EACCES, -1, [=](auto &, Batch &b, auto, auto &buf) {
			     b.add(ZPCI_IO_OP_PCILG, ZPCI_PCIAS_CONFIG, 0, buf.data(), 4);
		     }});
	v.push_back({"config space PCISTG", EACCES, -1, [=](auto &, Batch &b, auto, auto &buf) {
			     b.add(ZPCI_IO_OP_PCISTG, ZPCI_PCIAS_CONFIG, 4, buf.data(), 2);
		     }});
	v.push_back({"address space 6", EINVAL, ZPCI_RULE_PCIAS, [=](auto &, Batch &b, auto, auto &buf) {
			     b.add(ZPCI_IO_OP_PCILG, 6, 0, buf.data(), 8);
		     }});
	for (unsigned i = 0; i < 6; i++) {
		if ((in.bar_mask >> i) & 1)
			continue;
		v.push_back({"unimplemented BAR " + std::to_string(i) + " PCILG", EINVAL,
			     ZPCI_RULE_PCIAS, [=](auto &, Batch &b, auto, auto &buf) {
				     b.add(ZPCI_IO_OP_PCILG, i, 0, buf.data(), 8);
			     }});
		v.push_back({"unimplemented BAR " + std::to_string(i) + " PCISTB", EINVAL,
			     ZPCI_RULE_PCIAS, [=](auto &, Batch &b, auto, auto &buf) {
				     b.add(ZPCI_IO_OP_PCISTB, i, 0, buf.data(), 64);
			     }});
		break;
	}
	if (!relaxed) {
		v.push_back({"PCISTB offset not 8-aligned", EINVAL, ZPCI_RULE_OFFSET_ALIGN, stb(4, 64)});
		v.push_back({"PCISTB length 8", EINVAL, ZPCI_RULE_LEN_RANGE, stb(0, 8)});
		v.push_back({"PCISTB length 20", EINVAL, ZPCI_RULE_LEN_MULTIPLE, stb(0, 24 - 4)});
		// the source address of the rules' check is the block's offset
		// in the request
		v.push_back({"PCISTB source not 8-aligned", EINVAL, ZPCI_RULE_SRC_ALIGN,
			     [=](auto &f2, Batch &b, auto a, auto &buf) {
				     one(f2, b, a, buf);
				     b.keep_data(0);
				     b.op(0).data = sizeof(zpci_io_req) + sizeof(zpci_io_op) + 4;
			     }});
	} else {
		v.push_back({"PCISTB length 0", EINVAL, ZPCI_RULE_LEN_RANGE, stb(1, 0)});
	}
	v.push_back({"PCISTB longer than maxstbl", EINVAL, ZPCI_RULE_LEN_RANGE, stb(0, in.maxstbl + 8)});
	v.push_back({"PCISTB crossing 4 KiB", EINVAL, ZPCI_RULE_CROSS_4K, stb(4096 - 64, 128)});
	v.push_back({"PCISTB beyond the BAR", EINVAL, ZPCI_RULE_BEYOND_BAR,
		     [=](auto &, Batch &b, auto, auto &buf) {
			     b.add(ZPCI_IO_OP_PCISTB, bar, in.bar_size[bar], buf.data(), 16);
		     }});
	v.push_back({"PCISTB offset wraps", EINVAL, ZPCI_RULE_BEYOND_BAR,
		     [=](auto &, Batch &b, auto, auto &buf) {
			     b.add(ZPCI_IO_OP_PCISTB, bar, ~0ULL & ~4095ULL, buf.data(), 16);
		     }});
	v.push_back({"PCILG beyond the BAR", EINVAL, ZPCI_RULE_BEYOND_BAR,
		     [=](auto &, Batch &b, auto, auto &buf) {
			     b.add(ZPCI_IO_OP_PCILG, bar, in.bar_size[bar], buf.data(), 8);
		     }});
	v.push_back({"PCILG length 0", EINVAL, ZPCI_RULE_LEN_RANGE, [=](auto &, Batch &b, auto a, auto &buf) {
			     b.add(ZPCI_IO_OP_PCILG, bar, a, buf.data(), 0);
		     }});
	v.push_back({"PCILG length 9", EINVAL, ZPCI_RULE_LEN_RANGE, [=](auto &, Batch &b, auto a, auto &buf) {
			     b.add(ZPCI_IO_OP_PCILG, bar, a, buf.data(), 9);
		     }});
	v.push_back({"PCILG crossing 8 bytes", EINVAL, ZPCI_RULE_CROSS_8B,
		     [=](auto &, Batch &b, auto a, auto &buf) {
			     b.add(ZPCI_IO_OP_PCILG, bar, a + 6, buf.data(), 4);
		     }});
	if ((in.pcistg_mask >> bar) & 1) {
		v.push_back({"PCISTG length 9", EINVAL, ZPCI_RULE_LEN_RANGE,
			     [=](auto &, Batch &b, auto a, auto &buf) {
				     b.add(ZPCI_IO_OP_PCISTG, bar, a, buf.data(), 9);
			     }});
		v.push_back({"PCISTG crossing 8 bytes", EINVAL, ZPCI_RULE_CROSS_8B,
			     [=](auto &, Batch &b, auto a, auto &buf) {
				     b.add(ZPCI_IO_OP_PCISTG, bar, a + 5, buf.data(), 4);
			     }});
	} else {
		v.push_back({"PCISTG on a PCISTB-only BAR", EINVAL, ZPCI_RULE_NO_PCISTG,
			     [=](auto &, Batch &b, auto a, auto &buf) {
				     b.add(ZPCI_IO_OP_PCISTG, bar, a, buf.data(), 8);
			     }});
	}
	// A whole batch is validated first: a good op before a bad one must
	// not run either.
	v.push_back({"good op then bad op", EINVAL, ZPCI_RULE_CROSS_4K,
		     [=](auto &, Batch &b, auto a, auto &buf) {
			     b.add(ZPCI_IO_OP_PCISTB, bar, a, buf.data(), 64);
			     b.add(ZPCI_IO_OP_PCISTB, bar, a + 4096 - 8, buf.data(), 64);
		     }});
	if (in.flags & ZPCI_IO_INFO_MSIX) {
		if (in.msix_table_bar < 6)
			v.push_back({"MSI-X table PCISTG", EACCES, -1, [=](auto &, Batch &b, auto, auto &buf) {
					     b.add(ZPCI_IO_OP_PCISTG, in.msix_table_bar,
						   in.msix_table_offset + 8, buf.data(), 4);
				     }});
		if (in.msix_pba_bar < 6)
			v.push_back({"MSI-X PBA PCILG", EACCES, -1, [=](auto &, Batch &b, auto, auto &buf) {
					     b.add(ZPCI_IO_OP_PCILG, in.msix_pba_bar,
						   in.msix_pba_offset, buf.data(), 8);
				     }});
	}
	return v;
}

void run_refusals(const Function &f)
{
	const bool verify = fns().patched() && has_ram_bar(f);
	AlignedBuf buf(8192);
	pattern_fill(buf.data(), 8192, seed_for(test_label()), 0);
	for (const Refusal &c : refusals(f)) {
		SCOPED_TRACE(c.name);
		// Each case aims at its own 8 KiB that must stay zero; in stock
		// mode at the start of the largest BAR (never reached).
		std::uint64_t area = verify ? take(f, 8192) : 0;
		Batch b;
		c.build(f, b, area, buf);
		std::vector<std::uint8_t> before = b.build();
		SubmitResult r = submit_at(f, b, b.bytes().data(), b.size());
		EXPECT_EQ(r.rc, -1);
		EXPECT_EQ(r.err, c.err) << "got " << errno_name(r.err) << " want " << errno_name(c.err);
		// Every refusal after the copy has a status, and changes nothing
		// else of the request.
		EXPECT_TRUE(r.status_written) << "status block not written";
		const zpci_io_status &st = r.status;
		EXPECT_EQ(st.error, -c.err);
		EXPECT_EQ(st.done, 0u);
		if (c.rule >= 0) {
			EXPECT_EQ(st.rule, static_cast<std::uint32_t>(c.rule))
				<< "got rule " << zpci_rule_name(st.rule);
		} else {
			EXPECT_EQ(st.rule, 0u) << "got rule " << zpci_rule_name(st.rule);
		}
		EXPECT_TRUE(st.flags & ZPCI_IO_STATUS_REJECTED);
		const std::size_t s0 = kFeatHdr + offsetof(zpci_io_req, status);
		for (std::size_t i = kFeatHdr; i < before.size(); i++)
			if (before[i] != b.bytes()[i] && (i < s0 || i >= s0 + sizeof(zpci_io_status))) {
				ADD_FAILURE() << "request byte " << i - kFeatHdr << " changed";
				break;
			}
		if (verify) {
			Manifest::get().untouched(fname(f), area, 8192, test_label() + "/" + c.name);
			expect_zero(f, area, 8192, c.name.c_str());
		}
	}
}

TEST(Refusals, Strict)
{
	REQUIRE_STRICT();
	run_refusals(fns().strict);
}

TEST(Refusals, Ism)
{
	REQUIRE_ISM();
	run_refusals(fns().ism);
}

// Refusals.BadStatusAddress and Status.SizeIsRespected of ABI 2 are gone
// with the status address: the status is a field of the request's header,
// written on failure only (tests/abi/request_tests.cpp checks that nothing
// else of a request is ever written).

// ---------------------------------------------------------------- instruction errors

// With the driver told (wrongly) that the ISM-like function's BAR 2 takes
// PCISTG, the instruction reaches the device, which refuses it: cc 1,
// status 20.  The driver reports EIO with the condition code and status
// byte, and nothing lands.
TEST(InstructionErrors, DeviceRefusesPcistg)
{
	REQUIRE_ISM();
	Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	const std::string attr = "/sys/bus/pci/devices/" + f.addr() + "/zpci_io_nostg_bars";
	std::string saved;
	{
		std::ifstream in(attr);
		if (!(in >> saved))
			GTEST_SKIP() << "no " << attr;
	}
	auto set = [&](const std::string &v) {
		std::ofstream out(attr);
		out << v << "\n";
		out.flush();
		return static_cast<bool>(out);
	};
	ASSERT_TRUE(set("0"));
	std::uint64_t area = take(f, 4096);
	std::uint8_t v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	Batch b;
	b.add(ZPCI_IO_OP_PCISTG, kDataBar, area, v, 8);
	SubmitResult r = submit(f, b);
	bool restored = set(saved);
	EXPECT_EQ(r.rc, -1);
	EXPECT_EQ(r.err, EIO) << errno_name(r.err);
	EXPECT_EQ(r.status.error, -EIO);
	EXPECT_EQ(r.status.done, 0u);
	EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_CC_VALID);
	EXPECT_FALSE(r.status.flags & ZPCI_IO_STATUS_REJECTED);
	EXPECT_EQ(r.status.cc, ZPCI_CC_ERROR);
	EXPECT_EQ(r.status.status, ZPCI_ST_INVALID_AS);
	ASSERT_TRUE(restored) << "could not restore " << attr;
	zpci_io_info in{};
	ASSERT_EQ(f.read_info(&in), 0);
	EXPECT_FALSE((in.pcistg_mask >> kDataBar) & 1) << "BAR 2 still takes PCISTG after restoring";
	Manifest::get().untouched("ism", area, 4096, test_label());
	expect_zero(f, area, 4096, "refused PCISTG");
}

// ---------------------------------------------------------------- stock QEMU (virtio)

// The virtio common configuration (BAR, offset) of a virtio function, found
// through its vendor capabilities in config space; false if there is none.
bool virtio_common_cfg(const Function &f, int *bar, std::uint32_t *off)
{
	std::uint8_t cfg[256];
	int err = 0;
	if (f.config_pread(cfg, sizeof(cfg), 0, &err) != static_cast<long>(sizeof(cfg)))
		return false;
	if (cfg[0] != 0xf4 || cfg[1] != 0x1a)
		return false;
	for (unsigned p = cfg[0x34], guard = 0; p && p + 16 <= sizeof(cfg) && guard < 48; guard++) {
		if (cfg[p] == 0x09 && cfg[p + 3] == 1) {
			*bar = cfg[p + 4];
			std::memcpy(off, cfg + p + 8, 4);
			*off = le32toh(*off);
			return *bar < 6;
		}
		p = cfg[p + 1];
	}
	return false;
}

TEST(Stock, VirtioCommonConfigRoundTrip)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	int bar = -1;
	std::uint32_t off = 0;
	if (!virtio_common_cfg(f, &bar, &off))
		GTEST_SKIP() << "not a virtio function with a common configuration";
	ASSERT_TRUE((f.info().bar_mask >> bar) & 1) << "BAR " << bar << " not reported";
	// device_feature_select := 1 (PCISTG), read it back and the feature
	// word 1 (PCILG): VIRTIO_F_VERSION_1 (feature 32) is set on a modern
	// device.  Registers are little-endian, stores keep memory order.
	std::uint8_t one[4] = {1, 0, 0, 0}, sel[4] = {}, feat[4] = {};
	Batch b;
	b.add(ZPCI_IO_OP_PCISTG, bar, off, one, 4);
	b.add(ZPCI_IO_OP_PCILG, bar, off, sel, 4);
	b.add(ZPCI_IO_OP_PCILG, bar, off + 4, feat, 4);
	SubmitResult r = submit(f, b);
	expect_ok(r, b, "virtio common cfg");
	EXPECT_EQ(std::memcmp(sel, one, 4), 0);
	EXPECT_TRUE(feat[0] & 1) << "VIRTIO_F_VERSION_1 not seen";
}

// ---------------------------------------------------------------- pins

// ABI 3 pins nothing: a load and a store leave the kernel's FOLL_PIN
// counters and the driver's own (netlink) pin counters where they were.
std::int64_t driver_pins(const Function &f)
{
	NlFunc nf;
	if (nl_stats(f.info().fid, &nf) != 0 || !nf.has(ZPCI_NL_S_PINNED_PAGES) ||
	    !nf.has(ZPCI_NL_S_PINS_HELD))
		return -1;
	return static_cast<std::int64_t>(nf.counter(ZPCI_NL_S_PINNED_PAGES) +
					 nf.counter(ZPCI_NL_S_PINS_HELD));
}

// Stock QEMU: a load from the virtio common configuration.
TEST(Pins, LoadPinsNothing)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	int bar = -1;
	std::uint32_t off = 0;
	if (has_ram_bar(f)) {
		bar = kDataBar;
		off = 0;
	} else if (!virtio_common_cfg(f, &bar, &off)) {
		GTEST_SKIP() << "no BAR known to be safe to read";
	}
	PinCounters p0 = read_pin_counters();
	if (!p0.valid)
		GTEST_SKIP() << "no nr_foll_pin_* in /proc/vmstat";
	std::int64_t d0 = driver_pins(f);
	std::uint8_t dst[4];
	Batch b;
	b.add(ZPCI_IO_OP_PCILG, bar, off, dst, 4);
	expect_ok(submit(f, b), b, "PCILG");
	PinCounters p1 = read_pin_counters();
	EXPECT_EQ(p1.acquired, p0.acquired) << "a page was pinned for a load";
	EXPECT_EQ(p1.acquired, p1.released) << "pins outstanding";
	EXPECT_GE(d0, 0) << "netlink pin counters not readable";
	EXPECT_EQ(driver_pins(f), d0) << "the driver counted pinned pages";
}

TEST(Pins, StorePinsNothing)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	PinCounters p0 = read_pin_counters();
	if (!p0.valid)
		GTEST_SKIP() << "no nr_foll_pin_* in /proc/vmstat";
	EXPECT_EQ(p0.acquired, p0.released) << "pins outstanding before the test";
	std::int64_t d0 = driver_pins(f);
	std::uint64_t seed = seed_for(test_label());
	std::uint64_t area = take(f, 4096);
	AlignedBuf src(128);
	pattern_fill(src.data(), 128, seed, area);
	Batch b;
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, area, src.data(), 128);
	expect_ok(submit(f, b), b, "PCISTB");
	Manifest::get().written("strict", area, 128, seed, area, test_label());
	PinCounters p1 = read_pin_counters();
	EXPECT_EQ(p1.acquired, p0.acquired) << "a page was pinned for a store";
	EXPECT_EQ(d0, 0) << "the driver's pin counters are not 0";
	EXPECT_EQ(driver_pins(f), d0);
}

// ---------------------------------------------------------------- fuzz

// The fuzz oracle: what the driver must answer to a request, from the
// rules header and the ABI alone, in the order zpci_abi.h gives: argsz,
// then the header (its checks in order), then for each op the rules
// (zpci_check(), whose rule the driver must report; the source address
// is where the op's bytes are in the request), the op's reserved fields,
// unknown tail and block placement, then policy (config space, MSI-X
// table/PBA).  No op names memory: there is no "bad buffer" any more.
struct Expect {
	bool ok = false;
	bool generator_bug = false;
	bool no_status = false;	// refused before the copy: nothing written
	bool header = false;	// refused by the header checks
	int err = 0;		// the errno when !ok
	std::uint32_t failed = 0;	// status.failed of an op refusal
	std::uint32_t rule = ZPCI_RULE_OK;	// status.rule of an op refusal
	bool op_refusal = false;	// failed and rule are meaningful
};

constexpr std::size_t kSrcBytes = 8192;	// pool of store bytes

struct FuzzCtx {
	const Function *f;
	zpci_caps caps;
	unsigned bar;
	std::uint64_t area, area_len;
	std::vector<std::uint8_t> shadow;	// what the area must hold
	std::vector<std::uint8_t> pool = std::vector<std::uint8_t>(kSrcBytes);
	std::mt19937_64 rng;
	std::size_t calls = 0, oks = 0, refused = 0, no_status = 0;
	std::size_t verdicts = 0, mismatches = 0;	// op refusals compared
	std::size_t sizes_older = 0, sizes_newer = 0;	// requests with other struct sizes
	std::string first_mismatch;
	std::map<int, std::size_t> by_errno;
};

// Does [off, off + len) meet [start, start + size)?  (No sum can wrap.)
bool overlaps(std::uint64_t off, std::uint64_t len, std::uint64_t start, std::uint64_t size)
{
	if (!len || !size)
		return false;
	return off >= start ? off - start < size : start - off < len;
}

// A request as the fuzz lays it out: the header's and ops' sizes, the ops
// (a struct zpci_io_op each, written op_size bytes long) and the bytes.
struct FuzzReq {
	std::vector<std::uint8_t> buf;	// kFeatHdr + request
	std::uint32_t hs = sizeof(zpci_io_req), os = sizeof(zpci_io_op);
	std::vector<zpci_io_op> ops;	// as written (known part)
	std::size_t argsz_override = 0;	// an argsz beyond the buffer (never read)
	std::size_t argsz() const { return argsz_override ? argsz_override : len(); }
	std::uint8_t *req() { return buf.data() + kFeatHdr; }
	const std::uint8_t *req() const { return buf.data() + kFeatHdr; }
	std::size_t len() const { return buf.size() - kFeatHdr; }
	std::size_t data_pos(std::size_t i) const
	{
		return hs + i * os + offsetof(zpci_io_op, data);
	}
};

std::uint32_t rd32(const std::uint8_t *p)
{
	std::uint32_t v;
	std::memcpy(&v, p, 4);
	return v;
}

// Op i of the request, read as the driver reads it: zero-extended when
// the caller's op is shorter than struct zpci_io_op.
zpci_io_op op_at(const FuzzReq &r, std::size_t i, std::uint32_t hs, std::uint32_t os)
{
	zpci_io_op o{};
	std::memcpy(&o, r.req() + hs + i * os, std::min<std::size_t>(os, sizeof(o)));
	return o;
}

bool op_inside(const FuzzCtx &c, const zpci_io_op &o)
{
	return o.pcias == c.bar && o.offset >= c.area && o.len <= c.area_len &&
	       o.offset - c.area <= c.area_len - o.len;
}

// The driver's verdict on op i: 0, or the errno (*rule for EINVAL by the
// rules).
int op_verdict(const FuzzCtx &c, const FuzzReq &r, std::uint32_t hs, std::uint32_t os,
	       std::uint32_t n, std::size_t i, std::uint32_t *rule)
{
	const zpci_io_info &in = c.f->info();
	const zpci_io_op o = op_at(r, i, hs, os);
	const bool inl = o.len <= ZPCI_IO_INLINE_MAX;
	const std::uint64_t src = inl ? hs + i * os + offsetof(zpci_io_op, data) : o.data;
	zpci_verdict v = zpci_check(&c.caps, o.insn, o.pcias, o.offset, o.len, src);
	*rule = ZPCI_RULE_OK;
	if (!zpci_verdict_ok(v)) {
		*rule = v.rule;
		return EINVAL;
	}
	if (o.flags || o.reserved)
		return EINVAL;
	const std::uint8_t *raw = r.req() + hs + i * os;
	for (std::size_t k = sizeof(zpci_io_op); k < os; k++)
		if (raw[k])
			return EINVAL;
	if (!inl) {
		const std::uint64_t start = hs + std::uint64_t(n) * os, total = r.len();
		if (o.data < start || o.data > total || o.len > total - o.data ||
		    (o.data & 4095) + o.len > 4096)
			return EINVAL;
	}
	if (o.pcias == ZPCI_PCIAS_CONFIG || (in.flags & ZPCI_IO_INFO_FENCED))
		return EACCES;
	if ((in.flags & ZPCI_IO_INFO_MSIX) &&
	    ((o.pcias == in.msix_table_bar &&
	      overlaps(o.offset, o.len, in.msix_table_offset, in.msix_table_size)) ||
	     (o.pcias == in.msix_pba_bar &&
	      overlaps(o.offset, o.len, in.msix_pba_offset, in.msix_pba_size))))
		return EACCES;
	return 0;
}

Expect oracle(const FuzzCtx &c, const FuzzReq &r)
{
	Expect e;
	const zpci_io_info &in = c.f->info();
	const std::size_t argsz = r.argsz();
	if (argsz < ZPCI_IO_REQ_MIN_SIZE || argsz > in.max_req_size) {
		e.no_status = true;
		e.err = argsz < ZPCI_IO_REQ_MIN_SIZE ? EINVAL : E2BIG;
		return e;
	}
	e.header = true;
	const std::uint8_t *q = r.req();
	const std::uint32_t hs = rd32(q + offsetof(zpci_io_req, hdr_size));
	if (hs < ZPCI_IO_REQ_MIN_SIZE || hs % 8 || hs > argsz) {
		e.err = EINVAL;
		return e;
	}
	zpci_io_req h{};
	std::memcpy(&h, q, std::min<std::size_t>(hs, sizeof(h)));
	for (std::size_t k = sizeof(zpci_io_req); k < hs; k++)
		if (q[k]) {
			e.err = EINVAL;
			return e;
		}
	if (h.flags || h.reserved0 || h.reserved[0] || h.reserved[1] || h.total_size != argsz ||
	    !h.nr_ops || h.op_size < ZPCI_IO_OP_MIN_SIZE || h.op_size % 8) {
		e.err = EINVAL;
		return e;
	}
	if (h.nr_ops > in.max_ops) {
		e.err = E2BIG;
		return e;
	}
	if (std::uint64_t(h.nr_ops) * h.op_size > argsz - hs) {
		e.err = EINVAL;
		return e;
	}
	e.header = false;
	for (std::uint32_t i = 0; i < h.nr_ops; i++) {
		std::uint32_t rule;
		int err = op_verdict(c, r, hs, h.op_size, h.nr_ops, i, &rule);
		if (err) {
			e.err = err;
			e.failed = i;
			e.rule = rule;
			e.op_refusal = true;
			return e;
		}
		if (!op_inside(c, op_at(r, i, hs, h.op_size))) {
			e.generator_bug = true;	// would touch bytes outside the area
			return e;
		}
	}
	e.ok = true;
	return e;
}

// A legal op inside the fuzz area, with its bytes (stores) from the pool.
struct GenOp {
	zpci_io_op o{};
	std::size_t src = 0;	// pool offset of a store's bytes
};

GenOp gen_valid(FuzzCtx &c)
{
	GenOp g;
	zpci_io_op &o = g.o;
	const bool relaxed = c.caps.flags & ZPCI_CAPS_RELAXED;
	std::uint64_t r = c.rng() % 3;
	o.pcias = c.bar;
	if (r == 0) {
		o.insn = ZPCI_IO_OP_PCISTB;
		std::uint32_t len;
		std::uint64_t off;
		if (relaxed) {
			len = 1 + c.rng() % c.caps.maxstbl;
			off = c.rng() % c.area_len;
		} else {
			len = 16 + 8 * (c.rng() % ((c.caps.maxstbl - 8) / 8));
			off = (c.rng() % c.area_len) & ~7ULL;
		}
		if ((off & 4095) + len > 4096)
			off = (off & ~4095ULL) + 4096 - len;
		o.offset = c.area + off;
		o.len = len;
		g.src = c.rng() % (kSrcBytes - len);
		return g;
	}
	o.insn = r == 1 ? ZPCI_IO_OP_PCISTG : ZPCI_IO_OP_PCILG;
	if (o.insn == ZPCI_IO_OP_PCISTG && !((c.caps.pcistg_mask >> c.bar) & 1))
		o.insn = ZPCI_IO_OP_PCILG;
	std::uint32_t len = 1 + c.rng() % 8;
	std::uint64_t off = c.rng() % (c.area_len - 8);
	if ((off & 7) + len > 8)
		off &= ~7ULL;
	o.offset = c.area + off;
	o.len = len;
	g.src = c.rng() % (kSrcBytes - 8);
	return g;
}

// Lays out ops (a header of hs bytes, ops of os bytes, the blocks placed
// as zpci_abi.h asks) with the pool bytes; the status gets the 0xa5
// sentinel.
FuzzReq lay_out(FuzzCtx &c, const std::vector<GenOp> &gs, std::uint32_t hs, std::uint32_t os)
{
	FuzzReq r;
	r.hs = hs;
	r.os = os;
	std::size_t end = hs + gs.size() * os;
	std::vector<std::size_t> at(gs.size(), 0);
	for (std::size_t i = 0; i < gs.size(); i++) {
		if (gs[i].o.insn != ZPCI_IO_OP_PCISTB || gs[i].o.len <= ZPCI_IO_INLINE_MAX)
			continue;
		std::size_t pos = (end + 7) & ~std::size_t(7);
		if ((pos & 4095) + gs[i].o.len > 4096)
			pos = (pos + 4095) & ~std::size_t(4095);
		at[i] = pos;
		end = pos + gs[i].o.len;
	}
	r.buf.assign(kFeatHdr + end, 0);
	zpci_io_req h{};
	h.hdr_size = hs;
	h.op_size = os;
	h.nr_ops = static_cast<std::uint32_t>(gs.size());
	h.total_size = static_cast<std::uint32_t>(end);
	std::memset(&h.status, 0xa5, sizeof(h.status));
	std::memcpy(r.req(), &h, std::min<std::size_t>(hs, sizeof(h)));
	for (std::size_t i = 0; i < gs.size(); i++) {
		zpci_io_op o = gs[i].o;
		const std::uint8_t *src = c.pool.data() + gs[i].src;
		if (o.insn == ZPCI_IO_OP_PCILG) {
			o.data = c.rng();	// input ignored
		} else if (o.len <= ZPCI_IO_INLINE_MAX) {
			o.data = 0;
			for (std::uint32_t k = 0; k < o.len; k++)
				o.data = o.data << 8 | src[k];
		} else {
			o.data = at[i];
			std::memcpy(r.req() + at[i], src, o.len);
		}
		r.ops.push_back(o);
		std::memcpy(r.req() + hs + i * os, &o, std::min<std::size_t>(os, sizeof(o)));
	}
	return r;
}

void put_op(FuzzReq &r, std::size_t i)
{
	std::memcpy(r.req() + r.hs + i * r.os, &r.ops[i], std::min<std::size_t>(r.os, sizeof(zpci_io_op)));
}

// Breaks op i.  If it is still legal it must stay inside the area;
// otherwise it is made illegal for sure.
void mutate_op(FuzzCtx &c, FuzzReq &r, std::size_t i, std::uint32_t n)
{
	zpci_io_op &o = r.ops[i];
	const std::uint64_t start = r.hs + std::uint64_t(n) * r.os;
	switch (c.rng() % 14) {
	case 0: o.insn = c.rng() % 256; break;
	case 1: o.pcias = c.rng() % 16; break;
	case 2: o.flags = 1u << (c.rng() % 16); break;
	case 3: o.reserved = c.rng() | 1; break;
	case 4: o.len = c.rng() % 9000; break;
	case 5: o.offset += (c.rng() % 64) - 32; break;
	case 6: o.offset = c.rng(); break;
	case 7: o.data += 1 + c.rng() % 7; break;		// misaligned / shifted block
	case 8: o.data = c.rng() % start; break;		// into the header or ops
	case 9: o.data = r.len() - c.rng() % 16; break;	// runs out of the request
	case 10: o.data = c.rng(); break;
	case 11: o.pcias = ZPCI_PCIAS_CONFIG; o.offset &= 0xffc; o.len = 4; break;
	case 12:
		if (r.os > sizeof(zpci_io_op))	// a non-zero unknown tail
			r.req()[r.hs + i * r.os + sizeof(zpci_io_op) + c.rng() % (r.os - sizeof(zpci_io_op))] = 1;
		else
			o.reserved = 2;
		break;
	default: o.offset = c.area + c.area_len + (c.rng() % 4096); break;
	}
	put_op(r, i);
	std::uint32_t rule;
	if (op_verdict(c, r, r.hs, r.os, n, i, &rule) == 0 && !op_inside(c, op_at(r, i, r.hs, r.os))) {
		o.reserved = 0xdead;
		put_op(r, i);
	}
}

// The sizes a (valid) request's header gives, as the driver reads them:
// a header mutation may have changed what lay_out() wrote.
struct Sizes {
	std::uint32_t hs, os, n;
};

Sizes sizes_of(const FuzzReq &r)
{
	return {rd32(r.req() + offsetof(zpci_io_req, hdr_size)),
		rd32(r.req() + offsetof(zpci_io_req, op_size)),
		rd32(r.req() + offsetof(zpci_io_req, nr_ops))};
}

// Runs the first done ops on the shadow in order: stores update it, loads
// must have returned its content at that point of the request (their
// values are in the request after the call).
void replay(FuzzCtx &c, const FuzzReq &r, std::size_t done, std::size_t iter)
{
	const Sizes z = sizes_of(r);
	for (std::size_t i = 0; i < done; i++) {
		const zpci_io_op o = op_at(r, i, z.hs, z.os);
		std::uint8_t *at = c.shadow.data() + (o.offset - c.area);
		if (o.insn == ZPCI_IO_OP_PCILG) {
			std::uint64_t v = o.data, want = 0;
			for (std::uint32_t k = 0; k < o.len; k++)
				want = want << 8 | at[k];
			EXPECT_EQ(v, want) << "iteration " << iter << " op " << i
					   << ": PCILG returned wrong bytes";
		} else if (o.len <= ZPCI_IO_INLINE_MAX) {
			for (std::uint32_t k = 0; k < o.len; k++)
				at[k] = static_cast<std::uint8_t>(o.data >> (8 * (o.len - 1 - k)));
		} else {
			std::memcpy(at, r.req() + o.data, o.len);
		}
	}
}

void fuzz(const Function &f, std::size_t iters, const char *func)
{
	FuzzCtx c;
	c.f = &f;
	c.caps = f.caps();
	c.bar = kDataBar;
	c.area_len = 65536;
	c.area = take(f, c.area_len);
	c.shadow.assign(c.area_len, 0);
	std::uint64_t seed = seed_for(test_label());
	c.rng.seed(seed);
	::testing::Test::RecordProperty("seed", std::to_string(seed));
	std::uint32_t maxops = std::min<std::uint32_t>(f.info().max_ops, 8);
	PinCounters p0 = read_pin_counters();
	std::size_t skipped = 0;
	auto t0 = std::chrono::steady_clock::now();

	for (std::size_t it = 0; it < iters; it++) {
		if (it % 64 == 0)
			for (auto &x : c.pool)
				x = static_cast<std::uint8_t>(c.rng());
		FuzzReq r;
		std::uint64_t roll = c.rng() % 100;
		if (roll < 3) {
			// Pure garbage of any length.
			r.buf.resize(kFeatHdr + c.rng() % 512);
			for (std::size_t k = kFeatHdr; k < r.buf.size(); k++)
				r.buf[k] = static_cast<std::uint8_t>(c.rng());
		} else {
			// Mostly this driver's sizes; sometimes an older caller's
			// (the minimum) or a newer one's (a zero tail).
			std::uint32_t hs = sizeof(zpci_io_req), os = sizeof(zpci_io_op);
			std::uint64_t sz = c.rng() % 20;
			if (sz == 0) {
				hs = ZPCI_IO_REQ_MIN_SIZE;
				os = ZPCI_IO_OP_MIN_SIZE;
				c.sizes_older++;
			} else if (sz == 1) {
				hs += 8 * (1 + c.rng() % 4);
				os += 8 * (1 + c.rng() % 2);
				c.sizes_newer++;
			}
			std::uint32_t n = 1 + c.rng() % maxops;
			std::vector<GenOp> gs;
			for (std::uint32_t i = 0; i < n; i++)
				gs.push_back(gen_valid(c));
			r = lay_out(c, gs, hs, os);
			if (roll >= 60)
				for (std::uint32_t i = 0; i < n; i++)
					if (c.rng() % 4 == 0)
						mutate_op(c, r, i, n);
			if (roll < 15) {
				zpci_io_req h{};
				std::memcpy(&h, r.req(), std::min<std::size_t>(hs, sizeof(h)));
				switch (c.rng() % 10) {
				case 0: h.hdr_size = c.rng() % 128; break;
				case 1: h.flags = 1u << (c.rng() % 32); break;
				case 2: h.reserved0 = c.rng() | 1; break;
				case 3: h.nr_ops = c.rng() % 3 ? 0 : f.info().max_ops + 1 + c.rng() % 100; break;
				case 4: h.op_size = c.rng() % 64; break;
				case 5: h.nr_ops = n + 1 + c.rng() % 4; break;
				case 6: h.total_size += (c.rng() % 2 ? 8 : -8); break;
				case 7:
					if (hs > sizeof(zpci_io_req))
						r.req()[sizeof(zpci_io_req) + c.rng() % (hs - sizeof(zpci_io_req))] = 0x40;
					else
						h.reserved[1] = 1;
					break;
				case 8:	// argsz below the minimum, or beyond max_req_size
					if (c.rng() % 2)
						r.buf.resize(kFeatHdr + c.rng() % ZPCI_IO_REQ_MIN_SIZE);
					else
						r.argsz_override = f.info().max_req_size + 8 + c.rng() % 4096;
					break;
				default: h.nr_ops = n > 1 ? n - 1 : 2; break;
				}
				if (r.len() >= ZPCI_IO_REQ_MIN_SIZE)
					std::memcpy(r.req(), &h, std::min<std::size_t>(hs, std::min(r.len(), sizeof(h))));
			}
		}
		Expect e = oracle(c, r);
		if (e.generator_bug) {
			skipped++;	// never submit what could touch other bytes
			continue;
		}
		const std::vector<std::uint8_t> before = r.buf;
		int err = 0;
		long rc = f.request_raw(r.buf.data(), r.argsz(), &err);
		c.calls++;
		if (rc == 0)
			c.oks++;
		else
			c.by_errno[err]++;
		bool written = false;
		zpci_io_status st{};
		if (r.len() >= ZPCI_IO_REQ_MIN_SIZE)
			st = status_of(r.req(), &written);
		// Nothing but the status (on failure) and the values of the
		// completed PCILGs may have changed.
		const std::size_t s0 = offsetof(zpci_io_req, status);
		const Sizes z = r.len() >= ZPCI_IO_REQ_MIN_SIZE ? sizes_of(r) : Sizes{0, 0, 0};
		std::size_t loads_done = rc == 0 ? z.n : 0;
		for (std::size_t k = 0; k < r.len(); k++) {
			if (before[kFeatHdr + k] == r.buf[kFeatHdr + k])
				continue;
			bool allowed = rc != 0 && k >= s0 && k < s0 + sizeof(zpci_io_status);
			for (std::size_t i = 0; i < loads_done && !allowed; i++) {
				const std::size_t at = z.hs + i * z.os + offsetof(zpci_io_op, data);
				allowed = op_at(r, i, z.hs, z.os).insn == ZPCI_IO_OP_PCILG && k >= at &&
					  k < at + 8;
			}
			ASSERT_TRUE(allowed) << "iteration " << it << ": request byte " << k
					     << " changed (rc " << rc << ")";
		}
		if (e.ok) {
			ASSERT_EQ(rc, 0) << "iteration " << it << ": valid request refused with "
					 << errno_name(err) << " rule " << zpci_rule_name(st.rule) << " op "
					 << st.failed;
			ASSERT_FALSE(written) << "iteration " << it << ": status written on success";
			replay(c, r, z.n, it);
			continue;
		}
		ASSERT_LT(rc, 0) << "iteration " << it << ": invalid request accepted";
		if (e.op_refusal) {
			// The driver's verdict against zpci_check()'s, op by op.
			c.verdicts++;
			c.refused++;
			bool same = err == e.err && written && st.error == -e.err && st.failed == e.failed &&
				    st.rule == e.rule && st.done == 0 && (st.flags & ZPCI_IO_STATUS_REJECTED);
			if (!same && !c.mismatches++) {
				std::ostringstream m;
				m << "iteration " << it << ": driver " << errno_name(err) << " op "
				  << st.failed << " rule " << zpci_rule_name(st.rule) << ", rules say "
				  << errno_name(e.err) << " op " << e.failed << " rule "
				  << zpci_rule_name(e.rule);
				c.first_mismatch = m.str();
			}
			continue;
		}
		ASSERT_EQ(err, e.err) << "iteration " << it << ": errno " << errno_name(err) << " expected "
				      << errno_name(e.err) << (e.header ? " (header)" : "");
		c.refused++;
		if (e.no_status) {
			c.no_status++;
			ASSERT_FALSE(written) << "iteration " << it << ": status written before the copy";
		} else {
			ASSERT_TRUE(written) << "iteration " << it << ": no status for a refused header";
			ASSERT_EQ(st.error, -e.err) << "iteration " << it;
			ASSERT_EQ(st.done, 0u) << "iteration " << it << ": refused request ran ops";
			ASSERT_EQ(st.rule, 0u) << "iteration " << it;
			ASSERT_TRUE(st.flags & ZPCI_IO_STATUS_REJECTED) << "iteration " << it;
		}
	}
	// The area holds exactly what the successful ops wrote.
	std::vector<std::uint8_t> got(c.area_len);
	ASSERT_EQ(region_load(f, c.bar, c.area, got.data(), got.size()), 0);
	std::size_t bad = 0;
	while (bad < got.size() && got[bad] == c.shadow[bad])
		bad++;
	EXPECT_EQ(bad, got.size()) << "fuzz area differs at BAR offset 0x" << std::hex << c.area + bad;
	std::string file = std::string("fuzz-") + func + ".bin";
	if (Manifest::get().enabled()) {
		ASSERT_TRUE(Manifest::get().save_file(file, c.shadow.data(), c.shadow.size()));
		Manifest::get().image(func, c.area, c.area_len, file, test_label());
	}
	double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	PinCounters p1 = read_pin_counters();
	if (p1.valid && p0.valid) {
		EXPECT_EQ(p1.acquired, p0.acquired) << "the fuzz pinned pages";
	}
	// The driver's own counters: nothing pinned, ever.
	NlFunc nf;
	std::int64_t pinned = -1;
	if (nl_stats(f.info().fid, &nf) == 0 && nf.has(ZPCI_NL_S_PINNED_PAGES))
		pinned = static_cast<std::int64_t>(nf.counter(ZPCI_NL_S_PINNED_PAGES) +
						   nf.counter(ZPCI_NL_S_PINS_HELD));
	EXPECT_EQ(pinned, 0) << "driver's pinned_pages + pins_held after the fuzz (-1: not reported)";
	std::ostringstream s;
	for (auto &[k, v] : c.by_errno)
		s << errno_name(k) << "=" << v << " ";
	std::printf("fuzz %s: %zu requests (%zu not submitted; %zu with an older caller's sizes, %zu with a "
		    "newer one's), %zu ok, %zu refused (%zu before the copy); %s; %zu op verdicts compared "
		    "with zpci_check(), %zu mismatches; pinned %lld; %.1f s\n",
		    func, c.calls, skipped, c.sizes_older, c.sizes_newer, c.oks, c.refused, c.no_status,
		    s.str().c_str(), c.verdicts, c.mismatches, static_cast<long long>(pinned), secs);
	EXPECT_EQ(c.mismatches, 0u) << "driver verdict differs from zpci_check(): " << c.first_mismatch;
	EXPECT_GT(c.verdicts, iters / 20) << "too few op refusals compared";
	::testing::Test::RecordProperty("requests", std::to_string(c.calls));
	::testing::Test::RecordProperty("ok", std::to_string(c.oks));
	::testing::Test::RecordProperty("verdicts", std::to_string(c.verdicts));
	::testing::Test::RecordProperty("mismatches", std::to_string(c.mismatches));
	EXPECT_GE(c.calls, iters * 9 / 10);
	EXPECT_GT(c.oks, iters / 4) << "too few valid requests to mean anything";
	EXPECT_GT(c.refused, iters / 20);
	EXPECT_GT(c.sizes_older, 0u);
	EXPECT_GT(c.sizes_newer, 0u);
}

std::size_t fuzz_iters()
{
	return std::strtoull(env_or("ZPCI_FUZZ_ITERS", "150000").c_str(), nullptr, 0);
}

TEST(Fuzz, Strict)
{
	REQUIRE_STRICT();
	REQUIRE_RAM_BAR(fns().strict);
	fuzz(fns().strict, fuzz_iters(), "strict");
}

TEST(Fuzz, Ism)
{
	REQUIRE_ISM();
	REQUIRE_RAM_BAR(fns().ism);
	fuzz(fns().ism, std::max<std::size_t>(fuzz_iters() / 2, 1000), "ism");
}

// ---------------------------------------------------------------- concurrency

// Two threads, each storing chunk i (PCISTB) and reading chunk i-1 back
// (16 PCILG) in one batch, on fn[0] and fn[1] (the same function or two).
void store_readback_pair(const Function *fn[2])
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	::testing::Test::RecordProperty("cpus", std::to_string(cpus));
	if (cpus < 2)
		std::printf("note: only %ld CPU online, threads interleave by preemption\n", cpus);
	const std::size_t per = 128 * 1024;
	std::uint64_t area[2], seed[2];
	for (int t = 0; t < 2; t++) {
		area[t] = take(*fn[t], per);
		seed[t] = seed_for(test_label() + std::to_string(t));
	}
	std::atomic<int> failures{0};
	std::atomic<int> ready{0};
	std::string why[2];
	auto worker = [&](int t) {
		const Function &f = *fn[t];
		AlignedBuf src(per);
		pattern_fill(src.data(), per, seed[t], area[t]);
		std::uint8_t back[128];
		const std::size_t loads = std::min<std::size_t>(16, f.info().max_ops - 1);
		ready++;
		while (ready.load() < 2) {
		}
		for (std::size_t i = 0; i < per / 128; i++) {
			Batch b;
			b.add(ZPCI_IO_OP_PCISTB, kDataBar, area[t] + 128 * i, src.data() + 128 * i, 128);
			std::size_t prev = i ? i - 1 : 0;
			for (std::size_t k = 0; k < loads; k++)
				b.add(ZPCI_IO_OP_PCILG, kDataBar, area[t] + 128 * prev + 8 * k, back + 8 * k, 8);
			SubmitResult r = submit(f, b);
			if (r.rc != 0L) {
				why[t] = std::string("batch ") + std::to_string(i) + ": " + errno_name(r.err);
				failures++;
				return;
			}
			if (std::memcmp(back, src.data() + 128 * prev, loads * 8) != 0) {
				why[t] = "readback mismatch at chunk " + std::to_string(prev);
				failures++;
				return;
			}
		}
	};
	std::thread a(worker, 0), b(worker, 1);
	a.join();
	b.join();
	EXPECT_EQ(failures.load(), 0) << why[0] << " / " << why[1];
	for (int t = 0; t < 2; t++)
		Manifest::get().written(fname(*fn[t]), area[t], per, seed[t], area[t], test_label());
	PinCounters p = read_pin_counters();
	if (p.valid) {
		EXPECT_EQ(p.acquired, p.released);
	}
}

TEST(Concurrency, TwoThreadsDisjointRanges)
{
	REQUIRE_STRICT();
	REQUIRE_RAM_BAR(fns().strict);
	const Function *fn[2] = {&fns().strict, &fns().strict};
	store_readback_pair(fn);
}

TEST(Concurrency, TwoFunctionsAtOnce)
{
	REQUIRE_STRICT();
	REQUIRE_ISM();
	REQUIRE_RAM_BAR(fns().strict);
	REQUIRE_RAM_BAR(fns().ism);
	const Function *fn[2] = {&fns().strict, &fns().ism};
	store_readback_pair(fn);
}

// ---------------------------------------------------------------- libzpci
#ifdef ZPCI_VM_HAVE_LIBZPCI

// The product's own path: libzpci opens the function through vfio, plans
// the instructions and drives the region (or the 8-byte fallback).  The
// raw handle of this process is closed meanwhile (one vfio group user).
class RawClosed {
public:
	explicit RawClosed(Function &f) : f_(f), addr_(f.addr()) { f_.close(); }
	~RawClosed()
	{
		std::string why;
		if (f_.open(addr_, &why) != 0)
			ADD_FAILURE() << "reopening " << addr_ << ": " << why;
	}

private:
	Function &f_;
	std::string addr_;
};

std::unique_ptr<zpci::io_path> lib_region_path(const std::string &addr)
{
	auto dev = zpci::vfio::open_region_device(addr);
	if (!dev) {
		ADD_FAILURE() << "open_region_device(" << addr << "): " << dev.error().message();
		return nullptr;
	}
	auto path = zpci::make_region_path(std::shared_ptr<zpci::region_device>(std::move(*dev)));
	if (!path) {
		ADD_FAILURE() << "make_region_path: " << path.error().message();
		return nullptr;
	}
	return std::move(*path);
}

TEST(Library, RegionPathUnalignedWrite)
{
	REQUIRE_STRICT();
	Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	const std::size_t len = 10000;
	std::uint64_t area = take(f, 16384);
	const std::uint64_t off = area + 3;	// unaligned: PCISTG edges, PCISTB body
	std::vector<std::uint8_t> src(len + 5), back(len);
	pattern_fill(src.data() + 5, len, seed, off);	// odd source address too
	RawClosed closed(f);
	auto path = lib_region_path(fns().strict_addr);
	ASSERT_TRUE(path);
	zpci::exec_status st;
	auto w = path->write(kDataBar, off, src.data() + 5, len, &st);
	ASSERT_TRUE(w) << w.error().message();
	Manifest::get().written("strict", off, len, seed, off, test_label());
	auto r = path->read(kDataBar, off, back.data(), len, &st);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(std::memcmp(back.data(), src.data() + 5, len), 0);
	const zpci::path_stats &ps = path->stats();
	std::printf("libzpci region path: %llu instructions in %llu calls\n",
		    (unsigned long long)ps.instructions, (unsigned long long)ps.calls);
	EXPECT_LT(ps.calls, ps.instructions) << "the region path did not batch";
}

TEST(Library, FallbackPathWrite)
{
	REQUIRE_STRICT();
	Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	const std::size_t len = 1000;
	std::uint64_t area = take(f, 4096);
	const std::uint64_t off = area + 5;
	std::vector<std::uint8_t> src(len), back(len);
	pattern_fill(src.data(), len, seed, off);
	RawClosed closed(f);
	auto dev = zpci::vfio::open_bar_device(fns().strict_addr);
	ASSERT_TRUE(dev) << dev.error().message();
	auto path = zpci::make_fallback_path(std::shared_ptr<zpci::bar_device>(std::move(*dev)));
	ASSERT_TRUE(path) << path.error().message();
	auto w = (*path)->write(kDataBar, off, src.data(), len);
	ASSERT_TRUE(w) << w.error().message();
	Manifest::get().written("strict", off, len, seed, off, test_label());
	auto r = (*path)->read(kDataBar, off, back.data(), len);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(std::memcmp(back.data(), src.data(), len), 0);
	EXPECT_GE((*path)->stats().calls, len / 8) << "the fallback path should need >= 1 call per 8 bytes";
}

TEST(Library, FallbackRefusedOnIsmDataSpace)
{
	REQUIRE_ISM();
	Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	std::uint64_t area = take(f, 4096);
	std::vector<std::uint8_t> src(256, 0x5a);
	RawClosed closed(f);
	auto dev = zpci::vfio::open_bar_device(fns().ism_addr);
	ASSERT_TRUE(dev) << dev.error().message();
	auto path = zpci::make_fallback_path(std::shared_ptr<zpci::bar_device>(std::move(*dev)));
	ASSERT_TRUE(path) << path.error().message();
	zpci::exec_status st;
	auto w = (*path)->write(kDataBar, area, src.data(), src.size(), &st);
	ASSERT_FALSE(w) << "the 8-byte path wrote ISM's PCISTB-only space";
	EXPECT_EQ(zpci::rule_of(w.error()), static_cast<unsigned>(ZPCI_RULE_NO_PCISTG))
		<< w.error().message();
	EXPECT_EQ(st.done, 0u);
	Manifest::get().untouched("ism", area, 4096, test_label());
}

// ISM moves through the library: the planner's chunks, the signal only on
// the last one, nothing after a failed chunk.
std::vector<zpci::op> planned(const zpci_caps &caps, const zpci::ism::move_request &req)
{
	std::vector<zpci::op> ops(64);
	auto n = zpci::ism::plan_move(caps, req, ops);
	if (!n) {
		ADD_FAILURE() << "plan_move: " << n.error().message();
		return {};
	}
	ops.resize(*n);
	return ops;
}

TEST(Library, IsmMoveSignalsLastChunk)
{
	REQUIRE_ISM();
	Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	const std::size_t len = 10000;
	std::uint64_t dmb = take(f, 4 * 4096) + 0x77;
	std::vector<std::uint8_t> src(len);
	pattern_fill(src.data(), len, seed, dmb);
	zpci_caps caps = f.caps();
	RawClosed closed(f);
	auto path = lib_region_path(fns().ism_addr);
	ASSERT_TRUE(path);
	zpci::ism::move_request req;
	req.offset = dmb;
	req.len = len;
	req.signal = true;
	req.pcias = kDataBar;	// the test function's DMB space is BAR 2
	req.src = reinterpret_cast<std::uintptr_t>(src.data());
	auto ops = planned(caps, req);
	ASSERT_GE(ops.size(), 3u);
	std::size_t landed = 0;
	zpci::exec_status st;
	auto m = zpci::ism::move(*path, req, &landed, &st);
	ASSERT_TRUE(m) << m.error().message();
	EXPECT_EQ(landed, len);
	for (std::size_t i = 0; i < ops.size(); i++) {
		const bool last = i + 1 == ops.size();
		EXPECT_EQ((ops[i].offset & kIsmSignalBit) != 0, last) << "chunk " << i;
		std::uint64_t pos = ops[i].offset & ~kIsmSignalBit;
		Manifest::get().written("ism", ops[i].offset, ops[i].len, seed, pos, test_label());
		if (last)
			Manifest::get().untouched("ism", pos, ops[i].len, test_label() + "/unsignalled");
	}
}

// Library.IsmMoveLostChunkNoSignal of ABI 2 unmapped a page of the move's
// source so that the driver failed to pin it mid-batch.  With ABI 3 the
// library copies the source into its request itself, so an unmapped
// source faults in the caller's own process (like any memcpy), never in
// the driver; the driver's stop at a failed op and the missing signal are
// MidBatch.IsmFailedOpMeansNoSignal's.

// The emulator's call for a guest PCISTB (what QEMU makes): the library
// checks every rule, then reads the guest's bytes straight into its
// request's data area through the callback, and the block lands.
TEST(Library, PcistbGuestReadsIntoTheRequest)
{
	REQUIRE_ISM();
	Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	std::uint64_t seed = seed_for(test_label());
	std::uint64_t area = take(f, 2 * 4096);
	std::vector<std::uint8_t> guest(4096);
	pattern_fill(guest.data(), 4096, seed, area);
	zpci_handle *h = nullptr;
	ASSERT_EQ(zpci_borrow_fd(f.device_fd(), 0, &h), 0);
	struct Src {
		const std::uint8_t *p;
		unsigned calls;
	} src{guest.data(), 0};
	auto read = [](void *opaque, void *buf, std::uint32_t len) {
		auto *s = static_cast<Src *>(opaque);
		s->calls++;
		std::memcpy(buf, s->p, len);
		return 0;
	};
	zpci_status st = ZPCI_STATUS_INIT;
	EXPECT_EQ(zpci_pcistb_guest(h, kDataBar, area, 4096, 0x10000, read, &src, &st), 0)
		<< zpci_status_str(st.error, &st);
	EXPECT_EQ(st.action, ZPCI_ACT_NONE);
	EXPECT_EQ(src.calls, 1u);
	// an odd length at an odd offset (relaxed), and a refused one: the
	// callback is not called for a block across 4 KiB
	EXPECT_EQ(zpci_pcistb_guest(h, kDataBar, area + 4096 + 3, 1001, 0x10001, read, &src, &st), 0)
		<< zpci_status_str(st.error, &st);
	EXPECT_EQ(zpci_pcistb_guest(h, kDataBar, area + 4096 + 4000, 200, 0x10000, read, &src, &st),
		  -EINVAL);
	EXPECT_EQ(st.rule, static_cast<std::uint32_t>(ZPCI_RULE_CROSS_4K));
	EXPECT_EQ(src.calls, 2u);
	zpci_close(h);
	Manifest::get().written("ism", area, 4096, seed, area, test_label());
	Manifest::get().written("ism", area + 4096 + 3, 1001, seed, area, test_label());
	expect_pattern(f, area, 4096, seed, area, "4 KiB guest PCISTB");
	std::vector<std::uint8_t> got(1001);
	ASSERT_EQ(region_load(f, kDataBar, area + 4096 + 3, got.data(), got.size()), 0);
	EXPECT_EQ(std::memcmp(got.data(), guest.data(), 1001), 0);
}

#ifdef ZPCI_VM_HAVE_STATS
std::uint64_t entry_count(const std::vector<zpci::stats::entry> &v, std::uint32_t key)
{
	for (auto &e : v)
		if (e.key == key)
			return e.count;
	return 0;
}

// The driver's generic-netlink counters, read with libzpci's client, count
// exactly what this test issued after a reset.
TEST(Stats, CountersMatchTheBatches)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	auto cl = zpci::stats::client::open();
	ASSERT_TRUE(cl) << "netlink family " ZPCI_NL_FAMILY ": " << cl.error().message();
	const std::uint32_t fid = f.info().fid;
	auto rs = cl->reset(fid);
	ASSERT_TRUE(rs) << "RESET_STATS: " << rs.error().message();
	auto z = cl->stats(fid);
	ASSERT_TRUE(z) << z.error().message();
	ASSERT_TRUE(z->stats);
	EXPECT_EQ(z->stats->batches, 0u);
	EXPECT_EQ(z->stats->pcistb_ops + z->stats->pcistg_ops + z->stats->pcilg_ops, 0u);

	std::uint64_t seed = seed_for(test_label());
	std::uint64_t area = take(f, 4096);
	AlignedBuf src(512);
	pattern_fill(src.data(), 512, seed, area);
	std::uint8_t l1[8], l2[8];
	// 1: three PCISTB, two PCILG, one PCISTG -- all succeed
	Batch a;
	for (int i = 0; i < 3; i++)
		a.add(ZPCI_IO_OP_PCISTB, kDataBar, area + 128 * i, src.data() + 128 * i, 128);
	a.add(ZPCI_IO_OP_PCILG, kDataBar, area, l1, 8);
	a.add(ZPCI_IO_OP_PCILG, kDataBar, area + 8, l2, 8);
	a.add(ZPCI_IO_OP_PCISTG, kDataBar, area + 384, src.data() + 384, 4);
	expect_ok(submit(f, a), a, "request 1");
	// 2: refused (crosses 4 KiB): counted as a failed request, nothing issued
	Batch b;
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, area + 4096 - 64, src.data(), 128);
	EXPECT_EQ(submit(f, b).err, EINVAL);
	// 3: a request that cannot be read (its last page is unmapped):
	// EFAULT, nothing issued, nothing copied
	std::size_t bytes3 = 0;
	{
		const long pg = sysconf(_SC_PAGESIZE);
		auto *m = static_cast<std::uint8_t *>(mmap(nullptr, 2 * pg, PROT_READ | PROT_WRITE,
							  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		ASSERT_NE(m, MAP_FAILED);
		ASSERT_EQ(munmap(m + pg, pg), 0);
		Batch c;
		c.add(ZPCI_IO_OP_PCISTB, kDataBar, area + 512, src.data(), 16);
		c.build();
		bytes3 = c.size();
		std::memcpy(m, c.bytes().data(), kFeatHdr + c.size());
		int err = 0;
		EXPECT_EQ(f.request_raw(m, c.size() + pg, &err), -1);	// runs into the hole
		EXPECT_EQ(err, EFAULT) << errno_name(err);
		munmap(m, pg);
	}
	Manifest::get().written("strict", area, 384, seed, area, test_label());
	Manifest::get().written("strict", area + 384, 4, seed, area + 384, test_label());
	Manifest::get().untouched("strict", area + 512, 16, test_label());

	auto got = cl->stats(fid);
	ASSERT_TRUE(got) << got.error().message();
	ASSERT_TRUE(got->stats);
	const zpci::stats::counters &k = *got->stats;
	EXPECT_EQ(k.batches, 3u);
	EXPECT_EQ(k.pcistb_ops, 3u);
	EXPECT_EQ(k.pcistb_bytes, 3u * 128);
	EXPECT_EQ(k.pcilg_ops, 2u);
	EXPECT_EQ(k.pcilg_bytes, 16u);
	EXPECT_EQ(k.pcistg_ops, 1u);
	EXPECT_EQ(k.pcistg_bytes, 4u);
	EXPECT_EQ(k.errors, 2u);
	EXPECT_EQ(entry_count(k.by_errno, EINVAL), 1u);
	EXPECT_EQ(entry_count(k.by_errno, EFAULT), 1u);
	EXPECT_EQ(entry_count(k.by_cc, 0), 6u);
	// ABI 3: nothing is pinned, ever; requests 1 and 2 were copied in
	// (3 faulted), each into the function's own buffer
	EXPECT_EQ(k.pinned_pages, 0u);
	EXPECT_EQ(k.pins_held, 0u);
	a.build();
	b.build();
	EXPECT_EQ(k.req_bytes, a.size() + b.size()) << "request 3 (" << bytes3 << " bytes) faulted";
	EXPECT_EQ(k.req_allocs, 0u);
	EXPECT_EQ(got->pci_addr, f.addr());
}
#endif  // ZPCI_VM_HAVE_STATS

#endif  // ZPCI_VM_HAVE_LIBZPCI

// ---------------------------------------------------------------- hot-unplug

// The host control port (tests/vm/hostctl.py): one request per line, one
// answer per line, DELETED <id> asynchronously when QEMU removed a device.
class CtlPort {
public:
	explicit CtlPort(const std::string &path)
	{
		fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
	}
	~CtlPort()
	{
		if (fd_ >= 0)
			::close(fd_);
	}
	bool ok() const { return fd_ >= 0; }
	bool send(const std::string &line)
	{
		std::string l = line + "\n";
		return ::write(fd_, l.data(), l.size()) == static_cast<ssize_t>(l.size());
	}
	// The next line starting with prefix (other lines are kept in log),
	// or "" after timeout_ms.
	std::string wait_for(const std::string &prefix, int timeout_ms)
	{
		auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
		for (;;) {
			std::size_t nl;
			while ((nl = buf_.find('\n')) != std::string::npos) {
				std::string line = buf_.substr(0, nl);
				buf_.erase(0, nl + 1);
				log += line + "; ";
				if (line.compare(0, prefix.size(), prefix) == 0)
					return line;
			}
			int left = std::chrono::duration_cast<std::chrono::milliseconds>(
					   deadline - std::chrono::steady_clock::now()).count();
			if (left <= 0)
				return "";
			pollfd p{fd_, POLLIN, 0};
			if (poll(&p, 1, left) <= 0)
				continue;
			char tmp[256];
			ssize_t n = ::read(fd_, tmp, sizeof(tmp));
			if (n > 0)
				buf_.append(tmp, n);
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				return "";
		}
	}
	std::string log;

private:
	int fd_ = -1;
	std::string buf_;
};

// QMP device_del of the ISM-like function while a thread keeps issuing
// batches on it.  The guest kernel's removal asks the user to release the
// device (vfio REQ eventfd) and waits.  The driver marks the function gone
// before it asks, so from the request on every call fails with ENODEV:
// a new batch is refused before anything is issued (REJECTED, done 0), a
// running one stops between ops (done = ops completed).  No call may
// succeed after the first ENODEV, none may fail otherwise, the info block
// still reads; after the release the function disappears, nothing stays
// pinned and the module's reference count drops back.  Run last (guest.sh
// sets ZPCI_HOTUNPLUG=1): the function is gone afterwards.
TEST(HotUnplug, IsmDuringIo)
{
	if (env_or("ZPCI_HOTUNPLUG", "0") != "1")
		GTEST_SKIP() << "removes the ISM-like function: guest.sh runs it last with ZPCI_HOTUNPLUG=1";
	REQUIRE_ISM();
	std::string ctl_path = env_or("ZPCI_CTL", "");
	if (ctl_path.empty())
		GTEST_SKIP() << "no host control port (ZPCI_CTL)";
	Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	const std::string addr = f.addr();
	const std::string qemu_id = env_or("ZPCI_ISM_QEMU_ID", "ism");

	CtlPort ctl(ctl_path);
	ASSERT_TRUE(ctl.ok()) << ctl_path << ": " << std::strerror(errno);
	ASSERT_TRUE(ctl.send("PING"));
	ASSERT_EQ(ctl.wait_for("PONG", 10000), "PONG") << "host control port silent: " << ctl.log;

	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_GE(efd, 0);
	ASSERT_EQ(f.set_req_eventfd(efd), 0) << "VFIO_DEVICE_SET_IRQS (REQ)";

	const std::uint64_t area_len = 64 * 1024;
	const std::uint64_t area = kHotUnplugArea;
	Manifest::get().scratch("ism", area, area_len, test_label());
	std::atomic<bool> stop{false};
	// set once the release request was seen: every batch started after
	// that must fail with ENODEV
	std::atomic<bool> req_seen{false};
	std::atomic<std::uint64_t> ok{0}, enodev{0}, enodev_mid{0}, bad{0}, bad_status{0};
	std::atomic<std::uint64_t> ok_after_enodev{0}, ok_after_request{0};
	std::atomic<int> bad_errno{0};
	std::atomic<std::uint32_t> mid_done{0};	// status.done of the last mid-batch stop
	std::atomic<bool> finished{false};
	std::atomic<long> worker_tid{0};
	std::string bad_status_what;	// the first inconsistent status, by the worker
	std::thread worker([&] {
		worker_tid = gettid();
		AlignedBuf src(4096);
		pattern_fill(src.data(), 4096, 99, 0);
		std::uint8_t back[8];
		for (std::uint64_t i = 0; !stop.load(); i++) {
			// 240 blocks (the area 15 times) and a load: the batch
			// takes far longer than the user space around it, so the
			// request usually lands inside one, which must stop
			// between two ops
			Batch b;
			for (std::uint64_t blk = 0; blk < 15 * (area_len / 4096); blk++)
				b.add(ZPCI_IO_OP_PCISTB, kDataBar, area + blk % (area_len / 4096) * 4096,
				      src.data(), 4096);
			b.add(ZPCI_IO_OP_PCILG, kDataBar, area + (i % (area_len / 4096)) * 4096, back, 8);
			bool after_request = req_seen.load();
			SubmitResult r = submit(f, b);
			if (r.rc == 0L) {
				ok++;
				if (enodev.load())
					ok_after_enodev++;
				if (after_request)
					ok_after_request++;
			} else if (r.err == ENODEV) {
				enodev++;
				const zpci_io_status &st = r.status;
				bool rejected = st.flags & ZPCI_IO_STATUS_REJECTED;
				if (st.done) {
					enodev_mid++;
					mid_done = st.done;
				}
				if (st.error != -ENODEV || st.done >= b.nr_ops() || st.failed != st.done ||
				    (st.flags & ZPCI_IO_STATUS_CC_VALID) || rejected != (st.done == 0)) {
					if (!bad_status.load())
						bad_status_what = "status.error " + std::to_string(st.error) +
								  " done " + std::to_string(st.done) +
								  " failed " + std::to_string(st.failed) +
								  " flags " + std::to_string(st.flags);
					bad_status++;
				}
			} else {
				bad++;
				bad_errno = r.err;
			}
		}
		finished = true;
	});
	ASSERT_TRUE(wait_until([&] { return ok.load() >= 20; }, 20000)) << "no I/O before the unplug";
	std::uint64_t ok_before = ok.load();

	// A request of the OTHER function (strict) parked in the driver's copy
	// of it (its last bytes are on a userfaultfd page) for the whole
	// unplug: the removal must not wait for it (issue 9, item 1).
	UffdPage upage;
	std::string uwhy = fns().strict_rc == 0 ? uffd_unusable() : "strict function not open";
	if (uwhy.empty() && upage.open(&uwhy) < 0 && uwhy.empty())
		uwhy = "userfaultfd";
	const std::uint64_t park_area = (15ULL << 20) - 4096;	// strict, bench-free page
	AlignedBuf park_src(4096), park_fill(4096);
	pattern_fill(park_fill.data(), 64, 4242, 0);
	Batch park_b;
	std::atomic<bool> park_returned{false};
	SubmitResult park_r;
	std::thread park_t;
	bool parked = false;
	if (uwhy.empty()) {
		park_b.add(ZPCI_IO_OP_PCISTB, kDataBar, park_area, park_src.data(), 64);
		// op 1's bytes: the faulting page's first 64 (park_fill, once resolved)
		park_b.add(ZPCI_IO_OP_PCISTB, kDataBar, park_area + 64, park_fill.data(), 64);
		std::uint8_t *park_at = place_before_uffd(park_b, 1, upage);
		park_t = std::thread([&, park_at] {
			park_r = submit_at(fns().strict, park_b, park_at, park_b.size());
			park_returned = true;
		});
		parked = upage.wait_fault(10000);
		EXPECT_TRUE(parked) << "the strict request did not park on the userfaultfd page";
	} else {
		std::printf("hot-unplug: no parked strict batch (%s)\n", uwhy.c_str());
	}
	// A read of the whole data BAR through the standard vfio region (the
	// driver's PCILG loop, two million loads) running when the removal
	// starts: it must stop there, short or with ENODEV, like a batch.
	std::atomic<long> long_rc{0};
	std::atomic<bool> long_started{false}, long_after_req{false};
	std::vector<std::uint8_t> big(f.info().bar_size[kDataBar], 1);
	std::thread long_reader([&] {
		int e = 0;
		long_started = true;
		long n = f.bar_pread(kDataBar, big.data(), big.size(), 0, &e);
		long_after_req = req_seen.load();
		long_rc = n < 0 ? -e : n;
	});
	EXPECT_TRUE(wait_until([&] { return long_started.load(); }, 10000));
	usleep(100000);
	auto t_del = std::chrono::steady_clock::now();
	ASSERT_TRUE(ctl.send("DEVICE_DEL " + qemu_id));
	std::string ans = ctl.wait_for("OK " + qemu_id, 10000);
	bool requested = false;
	if (ans.empty()) {
		ADD_FAILURE() << "device_del not accepted: " << ctl.log;
	} else {
		// The kernel asks us to release the device (vfio REQ).
		pollfd p{efd, POLLIN, 0};
		requested = poll(&p, 1, 60000) == 1;
		EXPECT_TRUE(requested) << "no vfio release request within 60 s";
		req_seen = requested;
		if (requested) {
			// the standard BAR region after the release request: the
			// driver's PCILG loop refuses it as a batch is refused
			std::uint8_t b8[8];
			int rerr = 0;
			long rn = f.bar_pread(kDataBar, b8, sizeof(b8), area, &rerr);
			EXPECT_EQ(rn, -1) << "a BAR region read after the release request read " << rn
					  << " bytes";
			EXPECT_EQ(rerr, ENODEV) << errno_name(rerr);
		}
		// Keep the I/O going a little while the removal waits for us.
		usleep(300000);
	}
	stop = true;
	if (!wait_until([&] { return finished.load(); }, 20000)) {
		// The worker is stuck inside a batch: the removal waits for the
		// device's release, and the batch waits for the removal.  It can
		// never return, so neither can this process: report and leave.
		std::string stack;
		std::ifstream st("/proc/self/task/" + std::to_string(worker_tid.load()) + "/stack");
		for (std::string l; std::getline(st, l);)
			stack += "    " + l + "\n";
		std::printf("zpci_vm_tests: HOTUNPLUG-HUNG: the I/O thread is blocked in the driver "
			    "%d s after device_del (release requested: %s; %llu batches ok before, %llu "
			    "in all); its kernel stack:\n%s",
			    20, requested ? "yes" : "no", (unsigned long long)ok_before,
			    (unsigned long long)ok.load(), stack.c_str());
		std::printf("[  FAILED  ] HotUnplug.IsmDuringIo (driver deadlock)\n");
		std::fflush(stdout);
		std::_Exit(3);
	}
	worker.join();
	long_reader.join();
	{
		const long full = static_cast<long>(f.info().bar_size[kDataBar]);
		std::printf("hot-unplug: the %ld-byte BAR region read returned %ld (%s the request was seen)\n",
			    full, long_rc.load(), long_after_req.load() ? "after" : "before");
		if (long_rc.load() == full)
			EXPECT_FALSE(long_after_req.load())
				<< "the BAR region read went on to its end after the release request";
		else
			EXPECT_TRUE(long_rc.load() == -ENODEV || (long_rc.load() > 0 && long_rc.load() < full))
				<< "BAR region read: " << long_rc.load();
	}
	::testing::Test::RecordProperty("ok_before_unplug", std::to_string(ok_before));
	::testing::Test::RecordProperty("ok_total", std::to_string(ok.load()));
	::testing::Test::RecordProperty("enodev", std::to_string(enodev.load()));
	::testing::Test::RecordProperty("enodev_mid_batch", std::to_string(enodev_mid.load()));
	std::printf("hot-unplug: %llu batches ok (%llu before device_del), %llu ENODEV (%llu mid-batch, done %u of %zu), "
		    "%llu ok after the first ENODEV, %llu ok after the release request, "
		    "%llu other errors, release requested: %s\n",
		    (unsigned long long)ok.load(), (unsigned long long)ok_before,
		    (unsigned long long)enodev.load(), (unsigned long long)enodev_mid.load(), mid_done.load(),
		    static_cast<std::size_t>(15 * (area_len / 4096) + 1),
		    (unsigned long long)ok_after_enodev.load(),
		    (unsigned long long)ok_after_request.load(), (unsigned long long)bad.load(),
		    requested ? "yes" : "no");
	EXPECT_EQ(bad.load(), 0u) << "errno other than ENODEV: " << errno_name(bad_errno.load());
	if (requested) {
		EXPECT_GE(enodev.load(), 1u) << "no call failed with ENODEV after the release request";
		EXPECT_EQ(ok_after_request.load(), 0u) << "batches succeeded after the release request";
	}
	EXPECT_EQ(ok_after_enodev.load(), 0u) << "batches succeeded after the first ENODEV";
	EXPECT_EQ(bad_status.load(), 0u) << "inconsistent ENODEV status: " << bad_status_what;

	if (requested) {
		// Still open, not yet released: a new batch is refused whole,
		// and the info block still reads.
		AlignedBuf src(4096);
		Batch b;
		b.add(ZPCI_IO_OP_PCISTB, kDataBar, area, src.data(), 4096);
		SubmitResult r = submit(f, b);
		EXPECT_EQ(r.err, ENODEV) << errno_name(r.err);
		EXPECT_EQ(r.status.error, -ENODEV);
		EXPECT_EQ(r.status.done, 0u);
		EXPECT_EQ(r.status.failed, 0u);
		EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_REJECTED) << "flags " << r.status.flags;
		zpci_io_info info{};
		EXPECT_EQ(f.read_info(&info), 0) << "info block after the release request";
		EXPECT_EQ(info.fid, f.info().fid);
	}

	// Release: the removal completes, QEMU reports the device deleted.
	f.close();
	::close(efd);
	if (!ans.empty()) {
		EXPECT_NE(ctl.wait_for("DELETED " + qemu_id, 60000), "")
			<< "QEMU did not report the device deleted: " << ctl.log;
		EXPECT_TRUE(wait_until([&] { return access(("/sys/bus/pci/devices/" + addr).c_str(), F_OK) != 0; },
				       30000))
			<< addr << " still present";
		if (parked) {
			double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_del)
					    .count();
			std::printf("hot-unplug: device_del to removal %.1f ms, with a strict batch parked in a page "
				    "fault throughout (still parked: %s)\n", ms, park_returned.load() ? "no" : "yes");
			EXPECT_FALSE(park_returned.load()) << "the parked strict batch returned before its fault was resolved";
		}
	}
	if (park_t.joinable()) {
		// Resolve the fault: the strict batch completes normally.
		EXPECT_EQ(upage.resolve(park_fill.data()), 0);
		park_t.join();
		EXPECT_EQ(park_r.rc, 0L) << errno_name(park_r.err);
		std::vector<std::uint8_t> got(128), want(128, 0);
		pattern_fill(want.data() + 64, 64, 4242, 0);
		ASSERT_EQ(region_load(fns().strict, kDataBar, park_area, got.data(), got.size()), 0);
		EXPECT_EQ(got, want) << "the parked strict batch's bytes";
		// park_src is zero: [area, area + 64) stays zero, the rest is
		// the filled page's pattern
		Manifest::get().untouched("strict", park_area, 64, test_label());
		Manifest::get().written("strict", park_area + 64, 64, 4242, 0, test_label());
		Manifest::get().untouched("strict", park_area + 128, 4096 - 128, test_label());
		Function again;
		std::string why;
		EXPECT_LT(again.open(addr, &why), 0) << "a removed function opened again";
	}
	PinCounters p = read_pin_counters();
	if (p.valid) {
		EXPECT_EQ(p.acquired, p.released) << "pins leaked by the unplug";
	}
	std::ifstream refcnt("/sys/module/zpci_io/refcnt");
	int rc = -1;
	if (refcnt >> rc) {
		// The strict function is still open by this process.
		EXPECT_LE(rc, fns().strict_rc == 0 ? 1 : 0) << "zpci_io references leaked";
	}
}

// ---------------------------------------------------------------- the end

TEST(Pins, BalancedAtTheEnd)
{
	PinCounters p = read_pin_counters();
	if (!p.valid)
		GTEST_SKIP() << "no nr_foll_pin_* in /proc/vmstat";
	::testing::Test::RecordProperty("acquired", std::to_string(p.acquired));
	EXPECT_EQ(p.acquired, p.released);
}

}  // namespace

// Marks every test in the kernel log and reads what the kernel logged while
// it ran: a warning, BUG, oops, lockdep or hung-task report fails the run
// and is attributed to the test.
class KernelLogListener : public ::testing::EmptyTestEventListener {
public:
	KernelLogListener()
	{
		kmsg_w_ = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
		kmsg_r_ = ::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	}
	void OnTestStart(const ::testing::TestInfo &ti) override
	{
		if (kmsg_r_ >= 0)
			lseek(kmsg_r_, 0, SEEK_END);
		mark(std::string("start ") + ti.test_suite_name() + "." + ti.name());
	}
	void OnTestEnd(const ::testing::TestInfo &ti) override
	{
		std::string name = std::string(ti.test_suite_name()) + "." + ti.name();
		mark("end " + name);
		if (kmsg_r_ < 0)
			return;
		// lockdep reports are "WARNING: ..." plus these named lines; a bare
		// "lockdep" would match the debug kernel's boot banner
		static const char *const bad[] = {"WARNING:", "BUG:", "Oops", "DEBUG_LOCKS_WARN_ON",
						  "lockdep is turned off", "locking correctness validator",
						  "possible recursive locking", "blocked for more than",
						  "KASAN:", "refcount_t:", "UBSAN"};
		char rec[8192];
		for (;;) {
			ssize_t n = ::read(kmsg_r_, rec, sizeof(rec) - 1);
			if (n < 0 && errno == EPIPE)
				continue;	// overwritten records: go on
			if (n <= 0)
				break;
			rec[n] = 0;
			for (const char *b : bad)
				if (std::strstr(rec, b)) {
					std::printf("KERNEL REPORT during %s: %s", name.c_str(), rec);
					reports++;
					break;
				}
		}
	}
	int reports = 0;

private:
	void mark(const std::string &what)
	{
		if (kmsg_w_ < 0)
			return;
		std::string l = "zpci_vm_tests: " + what + "\n";
		if (::write(kmsg_w_, l.data(), l.size()) < 0) {
		}
	}
	int kmsg_w_ = -1, kmsg_r_ = -1;
};

int main(int argc, char **argv)
{
	::testing::InitGoogleTest(&argc, argv);
	auto *klog = new KernelLogListener;
	::testing::UnitTest::GetInstance()->listeners().Append(klog);
	Functions &f = Functions::get();
	std::printf("zpci_vm_tests: mode %s, strict %s (%s), ism %s (%s), seed 0x%" PRIx64 "\n",
		    f.mode.c_str(), f.strict_addr.c_str(),
		    f.strict_rc ? f.strict_err.c_str() : "open",
		    f.ism_addr.c_str(), f.ism_rc ? f.ism_err.c_str() : "open", base_seed());
	int rc = RUN_ALL_TESTS();
	if (klog->reports) {
		std::printf("zpci_vm_tests: %d kernel reports while the tests ran\n", klog->reports);
		return 1;
	}
	return rc;
}
