// SPDX-License-Identifier: MIT
// Adversarial tests of the zpci_io ABI 3 request, written from
// include/zpci/zpci_abi.h alone: every request here is laid out by hand
// (no library, not the guest suite's Batch), sent with the raw
// VFIO_DEVICE_FEATURE ioctl, and the caller's whole buffer is compared
// byte for byte before and after.  The promises under test:
//  * nothing is written to the caller's memory before everything needed
//    was read, and afterwards only the status (on failure) and the values
//    of completed PCILGs: a refused request changes nothing else, a
//    successful request of stores changes nothing at all;
//  * no part of a request can name the header, the ops or another op's
//    value as a store's bytes (the data area starts after the ops);
//  * sizes: an older caller's shorter header and ops and a newer caller's
//    longer ones with a zero tail both work; a non-zero unknown tail, a
//    total_size that is not argsz, misaligned sizes are refused whole;
//  * an unreadable request issues nothing; a read-only one runs, and
//    only its write-back can fail;
//  * GET writes min(argsz, its size) and says how much; PROBE answers.
// Built into zpci_vm_tests (tests/vm/guest/CMakeLists.txt): runs in the
// s390x guest against the driver, on the strict and ISM-like functions.
#include <gtest/gtest.h>

#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "suite.hpp"

using namespace zpci_vm;

namespace {

constexpr std::size_t FH = sizeof(vfio_device_feature);

// A request in a buffer of its own: FH bytes of feature header, then the
// request, laid out by the test.
struct Raw {
	std::vector<std::uint8_t> buf;

	explicit Raw(std::size_t req_len) : buf(FH + req_len, 0) {}
	std::uint8_t *req() { return buf.data() + FH; }
	std::size_t len() const { return buf.size() - FH; }
	void header(std::uint32_t hdr_size, std::uint32_t op_size, std::uint32_t nr_ops,
		    std::uint32_t total)
	{
		zpci_io_req h{};
		h.hdr_size = hdr_size;
		h.op_size = op_size;
		h.nr_ops = nr_ops;
		h.total_size = total;
		std::memset(&h.status, 0xa5, sizeof(h.status));
		std::memcpy(req(), &h, std::min<std::size_t>(hdr_size, sizeof(h)));
	}
	// op i of op_size bytes (only what fits of struct zpci_io_op)
	void op(std::uint32_t hdr_size, std::uint32_t op_size, std::size_t i, std::uint8_t insn,
		std::uint8_t pcias, std::uint32_t len, std::uint64_t offset, std::uint64_t data)
	{
		zpci_io_op o{};
		o.insn = insn;
		o.pcias = pcias;
		o.len = len;
		o.offset = offset;
		o.data = data;
		std::memcpy(req() + hdr_size + i * op_size, &o,
			    std::min<std::size_t>(op_size, sizeof(o)));
	}
	zpci_io_status status() const
	{
		zpci_io_status st;
		std::memcpy(&st, buf.data() + FH + offsetof(zpci_io_req, status), sizeof(st));
		return st;
	}
};

long feature(const Function &f, std::uint32_t flags, void *buf, std::size_t len, int *err)
{
	vfio_device_feature h{};
	h.argsz = static_cast<__u32>(FH + len);
	h.flags = flags;
	std::memcpy(buf, &h, FH);
	long r = ioctl(f.device_fd(), VFIO_DEVICE_FEATURE, buf);
	*err = r < 0 ? errno : 0;
	return r;
}

long set(const Function &f, void *buf, std::size_t len, int *err)
{
	return feature(f, VFIO_DEVICE_FEATURE_SET | ZPCI_IO_FEATURE, buf, len, err);
}

long set(const Function &f, Raw &r, int *err)
{
	return set(f, r.buf.data(), r.len(), err);
}

// The byte ranges of req that may differ after the call.
struct Allowed {
	std::vector<std::pair<std::size_t, std::size_t>> ranges;
	bool has(std::size_t i) const
	{
		for (auto &[a, n] : ranges)
			if (i >= a && i < a + n)
				return true;
		return false;
	}
};

// Every byte of after equals before, except in allowed: the first that
// does not, or -1.
long first_change(const std::vector<std::uint8_t> &before, const std::vector<std::uint8_t> &after,
		  const Allowed &allowed, std::size_t skip = FH)
{
	for (std::size_t i = skip; i < before.size(); i++)
		if (before[i] != after[i] && !allowed.has(i - skip))
			return static_cast<long>(i - skip);
	return -1;
}

const Allowed kStatus{{{offsetof(zpci_io_req, status), sizeof(zpci_io_status)}}};
const Allowed kNothing{};

void expect_zero(const Function &f, std::uint64_t off, std::size_t len, const char *what)
{
	std::vector<std::uint8_t> got(len);
	ASSERT_EQ(region_load(f, kDataBar, off, got.data(), len), 0) << what;
	EXPECT_EQ(static_cast<std::size_t>(std::count(got.begin(), got.end(), 0)), len)
		<< what << ": something was stored";
}

void expect_bytes(const Function &f, std::uint64_t off, const std::uint8_t *want, std::size_t len,
		  const char *what)
{
	std::vector<std::uint8_t> got(len);
	ASSERT_EQ(region_load(f, kDataBar, off, got.data(), len), 0) << what;
	EXPECT_EQ(std::memcmp(got.data(), want, len), 0) << what;
}

constexpr std::uint32_t H = sizeof(zpci_io_req);
constexpr std::uint32_t O = sizeof(zpci_io_op);

// ---------------------------------------------------------------- write-back

// A refused request (its second op breaks a rule) ran nothing and changed
// nothing of the caller's buffer but the status: not the ops, not the
// store's bytes, not the header.
TEST(Request, RefusedRequestChangesNothingButItsStatus)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t area = take(f, 4096);
	Manifest::get().untouched(fname(f), area, 4096, test_label());
	Raw r(H + 2 * O + 128);
	r.header(H, O, 2, r.len());
	const std::uint32_t data = H + 2 * O;
	r.op(H, O, 0, ZPCI_IO_OP_PCISTB, kDataBar, 128, area, data);
	r.op(H, O, 1, ZPCI_IO_OP_PCILG, kDataBar, 4, area + 6, 0);	// crosses 8 bytes
	pattern_fill(r.req() + data, 128, seed_for(test_label()), 0);
	auto before = r.buf;
	int err = 0;
	EXPECT_EQ(set(f, r, &err), -1);
	EXPECT_EQ(err, EINVAL) << errno_name(err);
	zpci_io_status st = r.status();
	EXPECT_EQ(st.error, -EINVAL);
	EXPECT_EQ(st.failed, 1u);
	EXPECT_EQ(st.rule, static_cast<std::uint32_t>(ZPCI_RULE_CROSS_8B));
	EXPECT_TRUE(st.flags & ZPCI_IO_STATUS_REJECTED);
	EXPECT_EQ(st.done, 0u);
	EXPECT_EQ(first_change(before, r.buf, kStatus), -1) << "a byte outside the status changed";
	expect_zero(f, area, 4096, "refused request");
}

// A successful request of stores writes nothing back at all; one with
// loads writes only the loads' values.
TEST(Request, SuccessWritesOnlyTheLoadedValues)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t seed = seed_for(test_label());
	const std::uint64_t area = take(f, 4096);
	Raw s(H + 2 * O + 64);
	s.header(H, O, 2, s.len());
	s.op(H, O, 0, ZPCI_IO_OP_PCISTB, kDataBar, 64, area, H + 2 * O);
	std::uint8_t v[8];
	pattern_fill(v, 8, seed, area + 64);
	std::uint64_t val = 0;
	for (std::uint8_t b : v)
		val = val << 8 | b;
	s.op(H, O, 1, ZPCI_IO_OP_PCISTG, kDataBar, 8, area + 64, val);
	pattern_fill(s.req() + H + 2 * O, 64, seed, area);
	auto before = s.buf;
	int err = 0;
	ASSERT_EQ(set(f, s, &err), 0) << errno_name(err);
	EXPECT_EQ(first_change(before, s.buf, kNothing), -1) << "a successful store request wrote back";
	Manifest::get().written(fname(f), area, 72, seed, area, test_label());

	Raw l(H + 3 * O);
	l.header(H, O, 3, l.len());
	for (std::size_t i = 0; i < 3; i++)
		l.op(H, O, i, ZPCI_IO_OP_PCILG, kDataBar, 8, area + 8 * i, ~0ULL);
	before = l.buf;
	ASSERT_EQ(set(f, l, &err), 0) << errno_name(err);
	Allowed values;
	for (std::size_t i = 0; i < 3; i++)
		values.ranges.push_back({H + i * O + offsetof(zpci_io_op, data), 8});
	EXPECT_EQ(first_change(before, l.buf, values), -1) << "a load request wrote beyond its values";
	std::uint8_t want[24];
	pattern_fill(want, 24, seed, area);
	for (std::size_t i = 0; i < 3; i++) {
		std::uint64_t got;
		std::memcpy(&got, l.req() + H + i * O + offsetof(zpci_io_op, data), 8);
		std::uint64_t w = 0;
		for (int k = 0; k < 8; k++)
			w = w << 8 | want[8 * i + k];
		EXPECT_EQ(got, w) << "load " << i;
	}
}

// A PCILG of fewer than 8 bytes: the value is right-aligned with zeros
// above, whatever the field held on input.
TEST(Request, ShortLoadValueHasZerosAbove)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t seed = seed_for(test_label());
	const std::uint64_t area = take(f, 4096);
	std::uint8_t src[8];
	pattern_fill(src, 8, seed, area);
	Raw s(H + O);
	s.header(H, O, 1, s.len());
	s.op(H, O, 0, ZPCI_IO_OP_PCISTG, kDataBar, 2, area + 2,
	     std::uint64_t(src[2]) << 8 | src[3] | 0xdead0000ULL);	// bits above len ignored
	int err = 0;
	ASSERT_EQ(set(f, s, &err), 0) << errno_name(err);
	Manifest::get().written(fname(f), area + 2, 2, seed, area + 2, test_label());
	Raw l(H + O);
	l.header(H, O, 1, l.len());
	l.op(H, O, 0, ZPCI_IO_OP_PCILG, kDataBar, 2, area + 2, ~0ULL);
	ASSERT_EQ(set(f, l, &err), 0) << errno_name(err);
	std::uint64_t got;
	std::memcpy(&got, l.req() + H + offsetof(zpci_io_op, data), 8);
	EXPECT_EQ(got, std::uint64_t(src[2]) << 8 | src[3]);
}

// A store's bytes must lie in the data area, after the ops: a request
// naming its own header (the status), its ops or a PCILG's value as the
// bytes of a PCISTB is refused whole, so a write-back can never feed a
// store.
TEST(Request, StoreBytesCannotOverlapHeaderOrOps)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t area = take(f, 4096);
	Manifest::get().untouched(fname(f), area, 4096, test_label());
	struct Case {
		const char *what;
		std::uint64_t data;
	};
	const std::uint32_t n = 3, start = H + n * O;
	for (Case c : {Case{"the header (its status)", offsetof(zpci_io_req, status) & ~7ULL},
		       Case{"the op array", H},
		       Case{"a PCILG's value", H + 1 * O + offsetof(zpci_io_op, data)},
		       Case{"the last op's tail", start - 8},
		       Case{"beyond total_size", start + 64},
		       Case{"an offset that wraps", ~0ULL - 7}}) {
		SCOPED_TRACE(c.what);
		Raw r(start + 64);
		r.header(H, O, n, r.len());
		r.op(H, O, 0, ZPCI_IO_OP_PCILG, kDataBar, 8, area + 512, 0);
		r.op(H, O, 1, ZPCI_IO_OP_PCILG, kDataBar, 8, area + 520, 0);
		r.op(H, O, 2, ZPCI_IO_OP_PCISTB, kDataBar, 64, area, c.data);
		auto before = r.buf;
		int err = 0;
		EXPECT_EQ(set(f, r, &err), -1);
		EXPECT_EQ(err, EINVAL) << errno_name(err);
		zpci_io_status st = r.status();
		EXPECT_EQ(st.failed, 2u);
		EXPECT_EQ(st.rule, 0u) << zpci_rule_name(st.rule);
		EXPECT_TRUE(st.flags & ZPCI_IO_STATUS_REJECTED);
		EXPECT_EQ(first_change(before, r.buf, kStatus), -1);
	}
	expect_zero(f, area, 4096, "refused stores");
}

// The bytes of a PCISTB may not cross 4 KiB of the request (the driver
// issues from its page-aligned copy); the same block one byte earlier
// is fine.
TEST(Request, BlockAcrossFourKiBOfTheRequestIsRefused)
{
	REQUIRE_ISM();
	const Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t seed = seed_for(test_label());
	const std::uint64_t area = take(f, 8192);
	Raw r(8192);
	r.header(H, O, 1, r.len());
	r.op(H, O, 0, ZPCI_IO_OP_PCISTB, kDataBar, 100, area, 4096 - 99);
	int err = 0;
	EXPECT_EQ(set(f, r, &err), -1);
	EXPECT_EQ(err, EINVAL) << errno_name(err);
	EXPECT_EQ(r.status().rule, 0u);
	expect_zero(f, area, 8192, "block across 4 KiB of the request");
	r.op(H, O, 0, ZPCI_IO_OP_PCISTB, kDataBar, 100, area + 1, 4096 - 100);
	pattern_fill(r.req() + 4096 - 100, 100, seed, area + 1);
	ASSERT_EQ(set(f, r, &err), 0) << errno_name(err);
	Manifest::get().written(fname(f), area + 1, 100, seed, area + 1, test_label());
	Manifest::get().untouched(fname(f), area + 4096, 4096, test_label());
}

// The status block's input is ignored: garbage there does not refuse a
// request.
TEST(Request, StatusInputIsIgnored)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t area = take(f, 4096);
	Raw r(H + O);
	r.header(H, O, 1, r.len());
	r.op(H, O, 0, ZPCI_IO_OP_PCILG, kDataBar, 8, area, 0);
	std::memset(r.req() + offsetof(zpci_io_req, status), 0xff, sizeof(zpci_io_status));
	int err = 0;
	EXPECT_EQ(set(f, r, &err), 0) << errno_name(err);
}

// ---------------------------------------------------------------- sizes

// An older caller: header and ops of the minimum sizes (48 and 24 bytes,
// no reserved tails) are read as if zero-extended.
TEST(Request, OlderCallerShorterHeaderAndOps)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t seed = seed_for(test_label());
	const std::uint64_t area = take(f, 4096);
	const std::uint32_t hs = ZPCI_IO_REQ_MIN_SIZE, os = ZPCI_IO_OP_MIN_SIZE;
	ASSERT_LT(hs, H);
	ASSERT_LT(os, O);
	const std::uint32_t data = hs + 2 * os;
	Raw r(data + 128);
	r.header(hs, os, 2, r.len());
	r.op(hs, os, 0, ZPCI_IO_OP_PCISTB, kDataBar, 128, area, data);
	r.op(hs, os, 1, ZPCI_IO_OP_PCILG, kDataBar, 8, area + 120, 0);
	pattern_fill(r.req() + data, 128, seed, area);
	int err = 0;
	ASSERT_EQ(set(f, r, &err), 0) << errno_name(err) << " rule " << zpci_rule_name(r.status().rule);
	Manifest::get().written(fname(f), area, 128, seed, area, test_label());
	std::uint64_t got;
	std::memcpy(&got, r.req() + hs + os + offsetof(zpci_io_op, data), 8);
	std::uint64_t want = 0;
	for (int k = 0; k < 8; k++)
		want = want << 8 | r.req()[data + 120 + k];
	EXPECT_EQ(got, want) << "the short op's value";
	expect_bytes(f, area, r.req() + data, 128, "shorter header and ops");
}

// A newer caller: a longer header and longer ops whose unknown tails are
// zero are taken; a non-zero byte there is refused whole.
TEST(Request, NewerCallerLongerStructs)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t seed = seed_for(test_label());
	const std::uint64_t area = take(f, 4096);
	const std::uint32_t hs = H + 24, os = O + 16;
	const std::uint32_t data = hs + 2 * os;
	auto make = [&](Raw &r) {
		r.header(hs, os, 2, r.len());
		r.op(hs, os, 0, ZPCI_IO_OP_PCISTB, kDataBar, 64, area, data);
		r.op(hs, os, 1, ZPCI_IO_OP_PCILG, kDataBar, 8, area, 0);
		pattern_fill(r.req() + data, 64, seed, area);
	};
	{
		Raw r(data + 64);
		make(r);
		int err = 0;
		ASSERT_EQ(set(f, r, &err), 0) << errno_name(err);
		Manifest::get().written(fname(f), area, 64, seed, area, test_label());
	}
	for (std::size_t at : {std::size_t(H), std::size_t(hs - 1), std::size_t(hs + O),
			       std::size_t(hs + os + O + 15)}) {
		SCOPED_TRACE(at);
		Raw r(data + 64);
		make(r);
		// overwrite the store with other bytes: if it ran, they land
		pattern_fill(r.req() + data, 64, seed ^ 1, area);
		r.req()[at] = 0x01;
		int err = 0;
		EXPECT_EQ(set(f, r, &err), -1);
		EXPECT_EQ(err, EINVAL) << errno_name(err);
		EXPECT_TRUE(r.status().flags & ZPCI_IO_STATUS_REJECTED);
	}
	std::uint8_t want[64];
	pattern_fill(want, 64, seed, area);
	expect_bytes(f, area, want, 64, "only the zero-tail request landed");
}

TEST(Request, HeaderSizesMustAgree)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t area = take(f, 4096);
	Manifest::get().untouched(fname(f), area, 4096, test_label());
	struct Case {
		const char *what;
		std::uint32_t hs, os, n, total;	// total 0: the request's size
		int err;
	};
	const std::uint32_t len = H + 2 * O + 64;
	for (Case c : {Case{"total_size below argsz", H, O, 1, len - 8, EINVAL},
		       Case{"total_size above argsz", H, O, 1, len + 8, EINVAL},
		       Case{"hdr_size below the minimum", ZPCI_IO_REQ_MIN_SIZE - 8, O, 1, 0, EINVAL},
		       Case{"hdr_size not a multiple of 8", H + 4, O, 1, 0, EINVAL},
		       Case{"hdr_size beyond argsz", len + 8, O, 1, 0, EINVAL},
		       Case{"op_size below the minimum", H, ZPCI_IO_OP_MIN_SIZE - 8, 1, 0, EINVAL},
		       Case{"op_size not a multiple of 8", H, O + 4, 1, 0, EINVAL},
		       Case{"nr_ops 0", H, O, 0, 0, EINVAL},
		       Case{"ops beyond total_size", H, O, 5, 0, EINVAL},
		       Case{"nr_ops above max_ops", H, O, f.info().max_ops + 1, 0, E2BIG}}) {
		SCOPED_TRACE(c.what);
		Raw r(len);
		r.header(c.hs, c.os, c.n, c.total ? c.total : len);
		r.op(H, O, 0, ZPCI_IO_OP_PCISTB, kDataBar, 64, area, H + 2 * O);
		auto before = r.buf;
		int err = 0;
		EXPECT_EQ(set(f, r, &err), -1);
		EXPECT_EQ(err, c.err) << errno_name(err);
		zpci_io_status st = r.status();
		EXPECT_EQ(st.error, -c.err);
		EXPECT_TRUE(st.flags & ZPCI_IO_STATUS_REJECTED);
		EXPECT_EQ(first_change(before, r.buf, kStatus), -1);
	}
	for (std::uint32_t flag : {1u, 0x80000000u}) {
		Raw r(len);
		r.header(H, O, 1, len);
		zpci_io_req h;
		std::memcpy(&h, r.req(), sizeof(h));
		h.flags = flag;
		std::memcpy(r.req(), &h, sizeof(h));
		r.op(H, O, 0, ZPCI_IO_OP_PCISTB, kDataBar, 64, area, H + O);
		int err = 0;
		EXPECT_EQ(set(f, r, &err), -1);
		EXPECT_EQ(err, EINVAL) << "header flags " << flag;
	}
	expect_zero(f, area, 4096, "refused headers");
}

// argsz below the minimum header or above max_req_size: refused before
// anything is read, and nothing is written (not even a status).
TEST(Request, ArgszOutOfBoundsWritesNothing)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	for (std::size_t len : {std::size_t(0), std::size_t(8), std::size_t(ZPCI_IO_REQ_MIN_SIZE - 8)}) {
		SCOPED_TRACE(len);
		Raw r(H);
		r.header(H, O, 1, static_cast<std::uint32_t>(len));
		auto before = r.buf;
		int err = 0;
		EXPECT_EQ(set(f, r.buf.data(), len, &err), -1);
		EXPECT_EQ(err, EINVAL) << errno_name(err);
		EXPECT_EQ(first_change(before, r.buf, kNothing), -1);
	}
	const std::size_t big = f.info().max_req_size + 8;
	std::vector<std::uint8_t> buf(FH + big, 0);
	int err = 0;
	EXPECT_EQ(set(f, buf.data(), big, &err), -1);
	EXPECT_EQ(err, E2BIG) << errno_name(err);
	EXPECT_EQ(std::count(buf.begin() + FH, buf.end(), 0), static_cast<long>(big));
}

// ---------------------------------------------------------------- memory

// A request that runs into an unmapped page: EFAULT before anything is
// issued, no status, not even the ops whose bytes were readable.
TEST(Request, UnreadableRequestIssuesNothing)
{
	REQUIRE_ISM();
	const Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t area = take(f, 4 * 4096);
	Manifest::get().untouched(fname(f), area, 4 * 4096, test_label());
	const long pg = sysconf(_SC_PAGESIZE);
	auto *m = static_cast<std::uint8_t *>(mmap(nullptr, 4 * pg, PROT_READ | PROT_WRITE,
						  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_NE(m, MAP_FAILED);
	// [m, m + 2 pages) readable, the third unmapped; the request's first
	// block lies in the readable part, its last in the hole
	ASSERT_EQ(munmap(m + 2 * pg, pg), 0);
	std::uint8_t *buf = m + pg - FH - (H + 4 * O);
	std::memset(buf, 0, FH + H + 4 * O);
	const std::uint32_t total = static_cast<std::uint32_t>(2 * pg + FH + H + 4 * O) - FH;
	zpci_io_req h{};
	h.hdr_size = H;
	h.op_size = O;
	h.nr_ops = 4;
	h.total_size = total;
	std::memcpy(buf + FH, &h, sizeof(h));
	for (std::uint32_t i = 0; i < 4; i++) {
		zpci_io_op o{};
		o.insn = ZPCI_IO_OP_PCISTB;
		o.pcias = kDataBar;
		o.len = 512;
		o.offset = area + 4096 * i + (i == 3 ? kIsmSignalBit : 0);
		o.data = (H + 4 * O) + 1024 * i + (i == 3 ? pg : 0);
		std::memcpy(buf + FH + H + i * O, &o, sizeof(o));
	}
	std::vector<std::uint8_t> before(buf, buf + FH + H + 4 * O);
	int err = 0;
	EXPECT_EQ(set(f, buf, total, &err), -1);
	EXPECT_EQ(err, EFAULT) << errno_name(err);
	EXPECT_TRUE(std::equal(before.begin() + FH, before.end(), buf + FH)) << "the request was written";
	munmap(m, 2 * pg);
	munmap(m + 3 * pg, pg);
	expect_zero(f, area, 4 * 4096, "unreadable request");
	Manifest::get().nosignal(fname(f), area + 3 * 4096 + kIsmSignalBit, 512, test_label());
	expect_zero(f, area + 3 * 4096 + kIsmSignalBit, 512, "signal of the unreadable request");
}

// A read-only request: its stores run and nothing is written back (a
// success writes nothing); with a load, the ops run and only the
// write-back of its value fails: EFAULT, the stores landed.
TEST(Request, ReadOnlyRequest)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t seed = seed_for(test_label());
	const std::uint64_t area = take(f, 4096);
	const long pg = sysconf(_SC_PAGESIZE);
	for (bool with_load : {false, true}) {
		SCOPED_TRACE(with_load ? "stores and a load" : "stores only");
		auto *m = static_cast<std::uint8_t *>(mmap(nullptr, pg, PROT_READ | PROT_WRITE,
							  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		ASSERT_NE(m, MAP_FAILED);
		const std::uint64_t at = area + (with_load ? 2048 : 0);
		const std::uint32_t n = with_load ? 2 : 1, data = H + n * O;
		zpci_io_req h{};
		h.hdr_size = H;
		h.op_size = O;
		h.nr_ops = n;
		h.total_size = data + 128;
		std::memcpy(m + FH, &h, sizeof(h));
		zpci_io_op o{};
		o.insn = ZPCI_IO_OP_PCISTB;
		o.pcias = kDataBar;
		o.len = 128;
		o.offset = at;
		o.data = data;
		std::memcpy(m + FH + H, &o, sizeof(o));
		if (with_load) {
			o.insn = ZPCI_IO_OP_PCILG;
			o.len = 8;
			o.data = 0;
			std::memcpy(m + FH + H + O, &o, sizeof(o));
		}
		pattern_fill(m + FH + data, 128, seed, at);
		vfio_device_feature fh{};
		fh.argsz = static_cast<__u32>(FH + h.total_size);
		fh.flags = VFIO_DEVICE_FEATURE_SET | ZPCI_IO_FEATURE;
		std::memcpy(m, &fh, FH);
		ASSERT_EQ(mprotect(m, pg, PROT_READ), 0);
		long rc = ioctl(f.device_fd(), VFIO_DEVICE_FEATURE, m);
		int err = rc < 0 ? errno : 0;
		if (with_load) {
			EXPECT_EQ(rc, -1);
			EXPECT_EQ(err, EFAULT) << errno_name(err);
		} else {
			EXPECT_EQ(rc, 0) << errno_name(err);
		}
		Manifest::get().written(fname(f), at, 128, seed, at, test_label());
		expect_bytes(f, at, m + FH + data, 128, "the read-only request's store");
		munmap(m, pg);
	}
}

// ---------------------------------------------------------------- GET, PROBE

TEST(Request, GetWritesWhatFitsAndSaysHowMuch)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	for (std::size_t room : {std::size_t(ZPCI_IO_INFO_GET_MIN), std::size_t(16),
				 std::size_t(offsetof(zpci_io_info, reserved)), sizeof(zpci_io_info),
				 sizeof(zpci_io_info) + 64}) {
		SCOPED_TRACE(room);
		std::vector<std::uint8_t> buf(FH + room + 32, 0x5a);
		int err = 0;
		ASSERT_EQ(feature(f, VFIO_DEVICE_FEATURE_GET | ZPCI_IO_FEATURE, buf.data(), room, &err), 0)
			<< errno_name(err);
		zpci_io_info in{};
		std::memcpy(&in, buf.data() + FH, std::min(room, sizeof(in)));
		const std::size_t want = std::min(room, sizeof(zpci_io_info));
		EXPECT_EQ(in.argsz, want);
		EXPECT_EQ(in.abi_version, ZPCI_IO_ABI_VERSION);
		for (std::size_t i = FH + want; i < buf.size(); i++)
			if (buf[i] != 0x5a) {
				ADD_FAILURE() << "GET wrote byte " << i - FH << " beyond " << want;
				break;
			}
	}
	std::vector<std::uint8_t> small(FH + 4);
	int err = 0;
	EXPECT_EQ(feature(f, VFIO_DEVICE_FEATURE_GET | ZPCI_IO_FEATURE, small.data(), 4, &err), -1);
	EXPECT_EQ(err, EINVAL) << errno_name(err);
}

TEST(Request, ProbeAndTheFeaturesNextToIt)
{
	REQUIRE_STRICT();
	const Function &f = fns().strict;
	std::uint8_t buf[FH];
	int err = 0;
	for (std::uint32_t ops : {VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_SET,
				  VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET})
		EXPECT_EQ(feature(f, VFIO_DEVICE_FEATURE_PROBE | ops | ZPCI_IO_FEATURE, buf, 0, &err), 0)
			<< "PROBE " << ops << ": " << errno_name(err);
	// GET and SET together without PROBE: vfio refuses
	EXPECT_EQ(feature(f, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | ZPCI_IO_FEATURE, buf,
			  0, &err), -1);
	EXPECT_EQ(err, EINVAL);
	// a neighbouring index is not ours: vfio-pci's answer
	EXPECT_EQ(feature(f, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | (ZPCI_IO_FEATURE + 1),
			  buf, 0, &err), -1);
	EXPECT_EQ(err, ENOTTY) << errno_name(err);
	// and no device-specific region any more: only vfio-pci's
	EXPECT_EQ(f.num_regions(), static_cast<std::uint32_t>(VFIO_PCI_NUM_REGIONS));
}

}  // namespace
