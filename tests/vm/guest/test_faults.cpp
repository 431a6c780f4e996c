// SPDX-License-Identifier: MIT
// Fault injection through the host control port (tests/vm/README.md,
// "Fault injection"): the test QEMU answers the wide function's next N
// BAR instructions with cc 2 (busy), cc 3 (invalid handle) or cc 1 + a
// status byte, and RECOVER gives the function a new handle through an
// error event that the guest kernel's recovery handles.  Each test drives
// the driver's real path and checks the errno, the status block, the
// bytes in the BAR (host verifier) and the driver's netlink counters.
//
// BAR area: wide [8, 16 MiB) (test_rig.cpp has [0, 8 MiB)).
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "common.hpp"
#include "suite.hpp"

#ifdef ZPCI_VM_HAVE_STATS
#include <zpci/stats.hpp>
#endif

using namespace zpci_vm;

namespace {

Layout g_area(8ULL << 20, 16ULL << 20);
const char *const kFunc = "wide";

std::string describe(const SubmitResult &r)
{
	char s[200];
	std::snprintf(s, sizeof(s),
		      "rc %ld errno %s status.error %d done %u failed %u rule %s flags 0x%x cc %u status %u pgm %u",
		      r.rc, errno_name(r.err), r.status.error, r.status.done, r.status.failed,
		      zpci_rule_name(r.status.rule), r.status.flags, r.status.cc, r.status.status,
		      r.status.pgm);
	return s;
}

std::uint32_t sysfs_fh(const std::string &addr)
{
	std::ifstream in("/sys/bus/pci/devices/" + addr + "/function_handle");
	std::string s;
	in >> s;
	return static_cast<std::uint32_t>(std::strtoul(s.c_str(), nullptr, 0));
}

#ifdef ZPCI_VM_HAVE_STATS
std::uint64_t count_of(const std::vector<zpci::stats::entry> &v, std::uint32_t key)
{
	for (auto &e : v)
		if (e.key == key)
			return e.count;
	return 0;
}
#endif

// One test area of the wide function: a 4 KiB PCISTB source and helpers.
class Faults : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (!fns().patched())
			GTEST_SKIP() << "stock QEMU: no fault injection";
		fns().open_wide();
		if (fns().wide_rc != 0)
			GTEST_FAIL() << "wide function " << fns().wide_addr << ": " << fns().wide_err;
		std::string why;
		int rc = ctl_.open(&why);
		if (rc == -ENOENT)
			GTEST_SKIP() << why;
		ASSERT_EQ(rc, 0) << why;
		opened_ = true;
		FaultState st;
		ASSERT_EQ(ctl_fault_status(ctl_, kFunc, &st, &why), 0) << why;
		ASSERT_EQ(st.left, 0u) << "a fault is still pending from an earlier test";
		ASSERT_EQ(st.state, "enabled");
		hits0_ = st.hits;
		recov0_ = st.recoveries;
		seed_ = seed_for(test_label());
#ifdef ZPCI_VM_HAVE_STATS
		auto c = zpci::stats::client::open();
		ASSERT_TRUE(c) << "netlink: " << c.error().message();
		auto rs = c->reset(f().info().fid);
		ASSERT_TRUE(rs) << "RESET_STATS: " << rs.error().message();
#endif
	}

	void TearDown() override
	{
		std::string why;
		if (opened_)
			ctl_fault(ctl_, kFunc, "clear", &why);
	}

	const Function &f() const { return fns().wide; }

	std::uint64_t area(std::uint64_t len)
	{
		std::uint64_t off = g_area.take(len);
		if (off == ~0ULL)
			ADD_FAILURE() << "wide fault test area exhausted";
		return off;
	}

	// One PCISTB of len bytes at off, source = the pattern for off.
	SubmitResult store(std::uint64_t off, std::uint32_t len)
	{
		AlignedBuf src(len);
		pattern_fill(src.data(), len, seed_, off);
		Batch b;
		b.add(ZPCI_IO_OP_PCISTB, kDataBar, off, src.data(), len);
		return submit(f(), b);
	}

	FaultState status()
	{
		FaultState st;
		std::string why;
		EXPECT_EQ(ctl_fault_status(ctl_, kFunc, &st, &why), 0) << why;
		return st;
	}

	void inject(const std::string &spec)
	{
		std::string why;
		ASSERT_EQ(ctl_fault(ctl_, kFunc, spec, &why), 0) << why;
	}

	// Waits until the guest kernel adopted handle fh and QEMU sees the
	// function enabled again (the kernel's recovery reset its error and
	// blocked states).
	void wait_recovered(std::uint32_t fh)
	{
		auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
		FaultState st;
		std::uint32_t guest = 0;
		for (;;) {
			guest = sysfs_fh(f().addr());
			st = status();
			if (guest == fh && st.state == "enabled")
				break;
			if (std::chrono::steady_clock::now() > end)
				FAIL() << "no recovery after 60 s: guest fh 0x" << std::hex << guest
				       << ", QEMU fh 0x" << st.fh << " state " << st.state;
			std::this_thread::sleep_for(std::chrono::milliseconds(50));
		}
	}

	void written(std::uint64_t off, std::uint64_t len)
	{
		Manifest::get().written(kFunc, off, len, seed_, off, test_label());
	}
	void untouched(std::uint64_t off, std::uint64_t len)
	{
		Manifest::get().untouched(kFunc, off, len, test_label());
	}

#ifdef ZPCI_VM_HAVE_STATS
	zpci::stats::counters counters()
	{
		auto c = zpci::stats::client::open();
		EXPECT_TRUE(c) << c.error().message();
		if (!c)
			return {};
		auto s = c->stats(f().info().fid);
		EXPECT_TRUE(s && s->stats) << (s ? "no stats" : s.error().message());
		return s && s->stats ? *s->stats : zpci::stats::counters{};
	}
#endif

	CtlPort ctl_;
	bool opened_ = false;
	std::uint64_t hits0_ = 0, recov0_ = 0, seed_ = 0;
};

}  // namespace

// cc 2 a few times: the driver retries and the store lands.
TEST_F(Faults, BusyWithinRetryBudgetSucceeds)
{
	const std::uint64_t a = area(4096);
	inject("busy 3");
	SubmitResult r = store(a, 4096);
	EXPECT_EQ(r.rc, 0L) << describe(r);
	EXPECT_EQ(r.status.error, 0) << describe(r);
	EXPECT_EQ(r.status.done, 1u);
	FaultState st = status();
	EXPECT_EQ(st.hits - hits0_, 3u) << "busy answers consumed";
	EXPECT_EQ(st.left, 0u);
	written(a, 4096);
#ifdef ZPCI_VM_HAVE_STATS
	auto k = counters();
	EXPECT_EQ(k.batches, 1u);
	EXPECT_EQ(k.errors, 0u);
	EXPECT_EQ(k.pcistb_ops, 1u);
	EXPECT_EQ(k.pcistb_bytes, 4096u);
	EXPECT_EQ(count_of(k.by_cc, 0), 1u);
	EXPECT_EQ(count_of(k.by_cc, 2), 0u);
#endif
}

// cc 2 for longer than the driver retries: EBUSY, cc 2 in the status, the
// store did not land; afterwards the function works again.
TEST_F(Faults, BusyBeyondRetryBudgetIsEBUSY)
{
	const std::uint64_t a = area(4096), b = area(4096);
	constexpr std::uint64_t kMany = 100000;
	inject("busy " + std::to_string(kMany));
	SubmitResult r = store(a, 4096);
	EXPECT_EQ(r.err, EBUSY) << describe(r);
	EXPECT_EQ(r.status.error, -EBUSY);
	EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_CC_VALID) << describe(r);
	EXPECT_FALSE(r.status.flags & ZPCI_IO_STATUS_REJECTED) << describe(r);
	EXPECT_EQ(r.status.cc, 2u);
	EXPECT_EQ(r.status.done, 0u);
	EXPECT_EQ(r.status.failed, 0u);
	FaultState st = status();
	const std::uint64_t tries = st.hits - hits0_;
	std::printf("faults: the driver tried a busy PCISTB %" PRIu64 " times before EBUSY\n", tries);
	EXPECT_GT(tries, 1u) << "no retry at all";
	EXPECT_LT(tries, kMany);
	EXPECT_EQ(st.left, kMany - tries);
	untouched(a, 4096);

	inject("clear");
	r = store(b, 4096);
	EXPECT_EQ(r.status.error, 0) << describe(r);
	EXPECT_EQ(r.err, 0) << describe(r);
	written(b, 4096);
#ifdef ZPCI_VM_HAVE_STATS
	auto k = counters();
	EXPECT_EQ(k.batches, 2u);
	EXPECT_EQ(k.errors, 1u);
	EXPECT_EQ(count_of(k.by_errno, EBUSY), 1u);
	EXPECT_EQ(count_of(k.by_cc, 2), 1u);
	EXPECT_EQ(count_of(k.by_cc, 0), 1u);
	EXPECT_EQ(k.pcistb_ops, 1u);
#endif
}

// cc 3: ENODEV.  Then the platform recovers the function with a new handle
// (error event); once the kernel adopted it, the next batch works, so the
// driver issues with the current handle, not one it kept (the old handle
// now really is invalid: QEMU answers it with cc 3).
TEST_F(Faults, InvalidHandleThenRecoveryWithNewHandle)
{
	const std::uint64_t a = area(4096), b = area(4096);
	const std::uint32_t fh0 = sysfs_fh(f().addr());
	FaultState st0 = status();
	EXPECT_EQ(fh0, st0.fh) << "guest and QEMU disagree about the handle";

	inject("inval 1");
	SubmitResult r = store(a, 4096);
	EXPECT_EQ(r.err, ENODEV) << describe(r);
	EXPECT_EQ(r.status.error, -ENODEV);
	EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_CC_VALID) << describe(r);
	EXPECT_EQ(r.status.cc, 3u);
	EXPECT_EQ(r.status.done, 0u);
	untouched(a, 4096);

	std::uint32_t fh1 = 0;
	std::string why;
	ASSERT_EQ(ctl_recover(ctl_, kFunc, &fh1, &why), 0) << why;
	EXPECT_NE(fh1, fh0);
	std::printf("faults: recovery: handle 0x%08x -> 0x%08x\n", fh0, fh1);
	ASSERT_NO_FATAL_FAILURE(wait_recovered(fh1));

	r = store(b, 4096);
	EXPECT_EQ(r.err, 0) << describe(r);
	EXPECT_EQ(r.status.error, 0) << describe(r);
	written(b, 4096);
	FaultState st = status();
	EXPECT_EQ(st.hits - hits0_, 1u);
	EXPECT_EQ(st.recoveries - recov0_, 1u);
	EXPECT_EQ(st.fh, fh1);
#ifdef ZPCI_VM_HAVE_STATS
	auto k = counters();
	EXPECT_EQ(k.batches, 2u);
	EXPECT_EQ(k.errors, 1u);
	EXPECT_EQ(count_of(k.by_errno, ENODEV), 1u);
	EXPECT_EQ(count_of(k.by_cc, 3), 1u);
	EXPECT_EQ(count_of(k.by_cc, 0), 1u);
#endif
}

// The error-event flavour of a recovery: the function is in the error
// state until the guest kernel's error recovery resets it.  DISABLED: in
// Debian's 6.12 that recovery needs error_detected, slot_reset and resume
// in the bound driver; zpci_io has vfio-pci core's handlers (error_detected
// only), so the kernel logs "The zpci_io driver bound to the device does not
// support error recovery" and the function stays in the error state (seen
// 2026-12-01).  Enable when zpci_io recovers (issue 9 item 4).
TEST_F(Faults, DISABLED_ErrorEventRecoveredByTheKernel)
{
	const std::uint64_t b = area(4096);
	std::string a;
	ASSERT_EQ(ctl_.request("RECOVER wide 11", &a), 0);
	ASSERT_EQ(a.compare(0, 11, "OK wide fh="), 0) << a;
	const std::uint32_t fh1 = std::strtoul(a.c_str() + 11, nullptr, 0);
	ASSERT_NO_FATAL_FAILURE(wait_recovered(fh1));
	SubmitResult r = store(b, 4096);
	EXPECT_EQ(r.err, 0) << describe(r);
	written(b, 4096);
}

// cc 1 + status byte: EIO with cc and status in the status block; the batch
// stops at the failed op; the function works again afterwards.
TEST_F(Faults, ErrorStateIsEIOWithStatus)
{
	const std::uint64_t a = area(8192), c = area(4096);
	constexpr unsigned kStatus = 16;	// "insufficient resources"
	inject("error 1 " + std::to_string(kStatus));
	AlignedBuf src(8192);
	pattern_fill(src.data(), 8192, seed_, a);
	Batch b;
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, a, src.data(), 4096);
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, a + 4096, src.data() + 4096, 4096);
	SubmitResult r = submit(f(), b);
	EXPECT_EQ(r.err, EIO) << describe(r);
	EXPECT_EQ(r.status.error, -EIO);
	EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_CC_VALID) << describe(r);
	EXPECT_EQ(r.status.cc, 1u);
	EXPECT_EQ(r.status.status, kStatus);
	EXPECT_EQ(r.status.pgm, 0u);
	EXPECT_EQ(r.status.done, 0u);
	EXPECT_EQ(r.status.failed, 0u);
	untouched(a, 8192);
	FaultState st = status();
	EXPECT_EQ(st.hits - hits0_, 1u);

	r = store(c, 4096);
	EXPECT_EQ(r.err, 0) << describe(r);
	written(c, 4096);
#ifdef ZPCI_VM_HAVE_STATS
	auto k = counters();
	EXPECT_EQ(k.batches, 2u);
	EXPECT_EQ(k.errors, 1u);
	EXPECT_EQ(count_of(k.by_errno, EIO), 1u);
	EXPECT_EQ(count_of(k.by_cc, 1), 1u);
	EXPECT_EQ(count_of(k.by_status, kStatus), 1u);
	EXPECT_EQ(count_of(k.by_cc, 0), 1u);
#endif
}

// Bad requests change nothing.
TEST_F(Faults, ControlPortRefusesMalformedRequests)
{
	std::string a;
	for (const char *req : {"FAULT wide busy", "FAULT wide busy x", "FAULT wide error 1",
				"FAULT wide error 1 999", "FAULT wide nap 3", "FAULT nosuch busy 1",
				"FAULT wide busy 0", "RECOVER wide banana"}) {
		SCOPED_TRACE(req);
		ASSERT_EQ(ctl_.request(req, &a), 0);
		EXPECT_EQ(a.compare(0, 4, "ERR "), 0) << a;
	}
	FaultState st = status();
	EXPECT_EQ(st.left, 0u);
	EXPECT_EQ(st.kind, "none");
	EXPECT_EQ(st.recoveries, recov0_);
}
