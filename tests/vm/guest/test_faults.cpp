// SPDX-License-Identifier: MIT
// Fault injection through the host control port (tests/vm/README.md,
// "Fault injection"): the test QEMU answers the wide function's next N
// BAR instructions with cc 2 (busy), cc 3 (invalid handle) or cc 1 + a
// status byte, and RECOVER gives the function a new handle through an
// error event that the guest kernel's recovery handles; errevent puts the
// function into the error state at its Nth instruction.  Each test drives
// the driver's real path and checks the errno, the status block, the
// bytes in the BAR (host verifier) and the driver's netlink counters.
// FunctionErrors: the PCI error recovery zpci_io takes part in
// (error_detected, slot_reset, resume): the owner's error eventfd, batches
// refused or stopped with EIO + STATUS_FUNC_ERROR, the region working
// again with the new handle.
//
// BAR area: wide [8, 15 MiB) (test_rig.cpp has [0, 8 MiB)); RecoveryEnd,
// run in a process of its own, [15 MiB, 15 MiB + 8 KiB).
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <linux/vfio.h>
#include <poll.h>
#include <string>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "common.hpp"
#include "nl_raw.hpp"
#include "suite.hpp"
#include "uffd_page.hpp"

#ifdef ZPCI_VM_HAVE_STATS
#include <zpci/stats.hpp>
#endif

using namespace zpci_vm;

namespace {

Layout g_area(8ULL << 20, 15ULL << 20);
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

// One PCISTB to the data BAR: len bytes from src to off.
struct Store {
	std::uint64_t off;
	const void *src;
	std::uint32_t len;
};

// The function-error tests issue all their I/O through this one helper:
// the stores in one request, in order.
SubmitResult stores(const Function &fn, const std::vector<Store> &v)
{
	Batch b;
	for (const Store &s : v)
		b.add(ZPCI_IO_OP_PCISTB, kDataBar, s.off, s.src, s.len);
	return submit(fn, b);
}

// n stores of len bytes, the i-th from src + i * stride to off + i * stride.
std::vector<Store> store_run(std::uint64_t off, const std::uint8_t *src, unsigned n,
			     std::uint32_t len, std::uint32_t stride)
{
	std::vector<Store> v;
	for (unsigned i = 0; i < n; i++)
		v.push_back({off + i * stride, src + i * stride, len});
	return v;
}

// The handle a function has once the kernel recovered it from an error
// event: the one RECOVER's answer names, enabled.  hostctl reads it back
// after the event, and by then the kernel's recovery may already have
// disabled the function for its reset (enable bit 0x80000000 clear).
std::uint32_t recovered_fh(const std::string &answer)
{
	return static_cast<std::uint32_t>(std::strtoul(answer.c_str() + 11, nullptr, 0)) |
	       0x80000000u;
}

// netlink's pins_held of a function (~0 when unreadable)
std::uint64_t pins_held_now(const Function &fn)
{
	NlFunc nf;
	if (nl_stats(fn.info().fid, &nf) || !nf.has(ZPCI_NL_S_PINS_HELD))
		return ~0ULL;
	return nf.counter(ZPCI_NL_S_PINS_HELD);
}

// The owner's side of vfio's error interrupt: an eventfd registered for
// VFIO_PCI_ERR_IRQ_INDEX, unregistered again at the end.
struct ErrFd {
	explicit ErrFd(const Function &f) : f_(f)
	{
		fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd_ < 0) {
			why = "eventfd: " + std::string(std::strerror(errno));
			return;
		}
		int rc = f_.set_err_eventfd(fd_);
		if (rc)
			why = "VFIO_DEVICE_SET_IRQS (ERR): " + std::string(std::strerror(-rc));
	}
	~ErrFd()
	{
		if (fd_ >= 0) {
			f_.set_err_eventfd(-1);
			::close(fd_);
		}
	}
	bool ok() const { return fd_ >= 0 && why.empty(); }
	// The count signalled so far (0 after ms without a signal).
	std::uint64_t wait(int ms)
	{
		pollfd p{fd_, POLLIN, 0};
		if (poll(&p, 1, ms) != 1)
			return 0;
		std::uint64_t v = 0;
		if (::read(fd_, &v, sizeof(v)) != sizeof(v))
			return 0;
		return v;
	}
	std::string why;

private:
	const Function &f_;
	int fd_ = -1;
};

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

	// wait_recovered(), then until the driver's recovery ended (resume:
	// the info block no longer says INFO_FUNC_ERROR).
	void wait_usable(std::uint32_t fh)
	{
		ASSERT_NO_FATAL_FAILURE(wait_recovered(fh));
		auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
		for (;;) {
			zpci_io_info in{};
			ASSERT_EQ(f().read_info(&in), 0);
			if (!(in.flags & ZPCI_IO_INFO_FUNC_ERROR))
				return;
			if (std::chrono::steady_clock::now() > end)
				FAIL() << "INFO_FUNC_ERROR still set 60 s after the recovery";
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
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
// state until the guest kernel's error recovery resets it.  In Debian's
// 6.12 that recovery needs error_detected, slot_reset and resume in the
// bound driver (zpci_io_err_handlers).  The owner hears of it through
// vfio's error interrupt, which zpci_io offers for every function (the
// test functions are not PCI Express, where vfio-pci-core has none).
TEST_F(Faults, ErrorEventRecoveredByTheKernel)
{
	const std::uint64_t b = area(4096);
	EXPECT_EQ(f().irq_count(VFIO_PCI_ERR_IRQ_INDEX), 1) << "no vfio error interrupt offered";
	ErrFd efd(f());
	ASSERT_TRUE(efd.ok()) << efd.why;
	std::string a;
	ASSERT_EQ(ctl_.request("RECOVER wide 11", &a), 0);
	ASSERT_EQ(a.compare(0, 11, "OK wide fh="), 0) << a;
	const std::uint32_t fh1 = recovered_fh(a);
	EXPECT_EQ(efd.wait(60000), 1u) << "the owner's error eventfd was not signalled once";
	ASSERT_NO_FATAL_FAILURE(wait_usable(fh1));
	SubmitResult r = store(b, 4096);
	EXPECT_EQ(r.err, 0) << describe(r);
	written(b, 4096);
	EXPECT_EQ(status().recoveries - recov0_, 1u);
#ifdef ZPCI_VM_HAVE_STATS
	auto k = counters();
	EXPECT_EQ(k.batches, 1u);
	EXPECT_EQ(k.errors, 0u);
#endif
	EXPECT_EQ(pins_held_now(f()), 0u);
}

// The function enters the error state at op 100 of a 256-op batch (the
// test QEMU's errevent): ops 0..99 landed and are reported done, op 100
// failed with the error state's cc 1 / status 12, ops 101..255 did not
// run.  Until the recovery ended every batch fails whole with one of the
// outcomes of the recovery's phases (old handle: ENODEV cc 3; error state:
// EIO cc 1 status 12; marked: EIO STATUS_FUNC_ERROR, REJECTED), nothing
// lands; afterwards a whole 256-op batch lands with the new handle.
TEST_F(Faults, ErrorDuring256OpBatch)
{
	constexpr unsigned kOps = 256, kLen = 128, kAt = 100;
	const std::uint64_t a = area(kOps * kLen), p = area(kLen), c = area(kOps * kLen);
	ErrFd efd(f());
	ASSERT_TRUE(efd.ok()) << efd.why;
	const std::uint32_t fh0 = sysfs_fh(f().addr());

	inject("errevent " + std::to_string(kAt + 1) + " 11");
	AlignedBuf src(kOps * kLen);
	pattern_fill(src.data(), kOps * kLen, seed_, a);
	SubmitResult r = stores(f(), store_run(a, src.data(), kOps, kLen, kLen));
	EXPECT_EQ(r.err, EIO) << describe(r);
	EXPECT_EQ(r.status.error, -EIO);
	EXPECT_EQ(r.status.done, kAt) << describe(r);
	EXPECT_EQ(r.status.failed, kAt) << describe(r);
	EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_CC_VALID) << describe(r);
	EXPECT_FALSE(r.status.flags & ZPCI_IO_STATUS_REJECTED) << describe(r);
	EXPECT_EQ(r.status.cc, 1u);
	EXPECT_EQ(r.status.status, 12u) << "the error state's status (blocked)";
	std::printf("faults: 256-op batch: %s\n", describe(r).c_str());
	written(a, kAt * kLen);
	untouched(a + kAt * kLen, (kOps - kAt) * kLen);

	// probes until the function works again: every failure is one of the
	// recovery's phases and changes nothing
	AlignedBuf one(kLen);
	pattern_fill(one.data(), kLen, seed_, p);
	unsigned failed = 0, marked = 0, stale = 0, blocked = 0;
	std::uint64_t errs_eio = 1, errs_enodev = 0;
	auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
	for (;;) {
		SubmitResult q = stores(f(), {{p, one.data(), kLen}});
		if (q.rc == 0 && q.status.done == 1)
			break;
		failed++;
		EXPECT_EQ(q.status.done, 0u) << describe(q);
		if (q.err == EIO && (q.status.flags & ZPCI_IO_STATUS_FUNC_ERROR) &&
		    (q.status.flags & ZPCI_IO_STATUS_REJECTED)) {
			marked++;
			errs_eio++;
		} else if (q.err == EIO && (q.status.flags & ZPCI_IO_STATUS_CC_VALID) &&
			   q.status.cc == 1 && q.status.status == 12) {
			blocked++;
			errs_eio++;
		} else if (q.err == ENODEV && (q.status.flags & ZPCI_IO_STATUS_CC_VALID) &&
			   q.status.cc == 3) {
			stale++;
			errs_enodev++;
		} else {
			ADD_FAILURE() << "not an outcome of a recovery: " << describe(q);
			break;
		}
		if (std::chrono::steady_clock::now() > end) {
			ADD_FAILURE() << "the function did not come back within 60 s";
			break;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(2));
	}
	std::printf("faults: until recovered: %u failed probes (%u stale handle, %u error state, "
		    "%u marked in recovery)\n", failed, stale, blocked, marked);
	written(p, kLen);
	EXPECT_EQ(efd.wait(60000), 1u) << "the owner's error eventfd was not signalled once";
	const std::uint32_t fh1 = sysfs_fh(f().addr());
	EXPECT_NE(fh1, fh0);
	ASSERT_NO_FATAL_FAILURE(wait_usable(fh1));

	AlignedBuf src2(kOps * kLen);
	pattern_fill(src2.data(), kOps * kLen, seed_, c);
	r = stores(f(), store_run(c, src2.data(), kOps, kLen, kLen));
	EXPECT_EQ(r.rc, 0L) << describe(r);
	EXPECT_EQ(r.err, 0) << describe(r);
	EXPECT_EQ(r.status.done, kOps);
	written(c, kOps * kLen);
	FaultState st = status();
	EXPECT_EQ(st.recoveries - recov0_, 1u);
	EXPECT_EQ(st.fh, fh1);
#ifdef ZPCI_VM_HAVE_STATS
	auto k = counters();
	EXPECT_EQ(k.batches, 2u + failed + 1u);
	EXPECT_EQ(k.errors, 1u + failed);
	EXPECT_EQ(count_of(k.by_errno, EIO), errs_eio);
	EXPECT_EQ(count_of(k.by_errno, ENODEV), errs_enodev);
	EXPECT_EQ(k.pcistb_ops, kAt + 1u + kOps);
	EXPECT_EQ(k.pcistb_bytes, (kAt + 1u + kOps) * kLen);
	EXPECT_EQ(count_of(k.by_cc, 1), 1u + blocked);
	EXPECT_EQ(count_of(k.by_cc, 3), static_cast<std::uint64_t>(stale));
#endif
	EXPECT_EQ(pins_held_now(f()), 0u);
}

// A second caller's request waits (parked in the driver's copy-in of a
// request whose op 1 block lies on a userfaultfd page: before anything is
// issued, holding nothing) on the same function, and a third on the
// strict function, while wide goes through an error and its recovery.
// Resolved afterwards, both complete: wide's with the new handle,
// strict's untouched by wide's error.  Nothing is pinned at any time
// (ABI 3 pins nothing).
TEST_F(Faults, ErrorWhileSecondCallersBatchWaits)
{
	std::string why = uffd_unusable();
	if (!why.empty())
		GTEST_SKIP() << why;
	const Function &s = fns().strict;
	if (fns().strict_rc != 0 || !has_ram_bar(s))
		GTEST_SKIP() << "no strict function with a RAM BAR";
	const std::uint64_t w = area(128);
	const std::uint64_t sa = take(s, 128);
	ErrFd efd(f());
	ASSERT_TRUE(efd.ok()) << efd.why;

	UffdPage uw, us;
	ASSERT_EQ(uw.open(&why), 0) << why;
	ASSERT_EQ(us.open(&why), 0) << why;
	AlignedBuf srcw(4096), srcs(4096), fill(4096);
	pattern_fill(srcw.data(), 64, seed_, w);
	pattern_fill(srcs.data(), 64, seed_, sa);
	pattern_fill(fill.data(), 64, seed_, 0);
	// op 0 from the ordinary page, op 1's block at the start of the
	// userfaultfd page (its bytes once resolved: fill)
	Batch bw, bs;
	bw.add(ZPCI_IO_OP_PCISTB, kDataBar, w, srcw.data(), 64);
	bw.add(ZPCI_IO_OP_PCISTB, kDataBar, w + 64, fill.data(), 64);
	bs.add(ZPCI_IO_OP_PCISTB, kDataBar, sa, srcs.data(), 64);
	bs.add(ZPCI_IO_OP_PCISTB, kDataBar, sa + 64, fill.data(), 64);
	std::uint8_t *atw = place_before_uffd(bw, 1, uw);
	std::uint8_t *ats = place_before_uffd(bs, 1, us);
	SubmitResult rw, rs;
	std::thread tw([&] { rw = submit_at(f(), bw, atw, bw.size()); });
	std::thread ts([&] { rs = submit_at(s, bs, ats, bs.size()); });
	const bool pw = uw.wait_fault(10000), ps = us.wait_fault(10000);
	EXPECT_TRUE(pw && ps) << "a request did not park";

	std::string a;
	std::uint32_t fh1 = 0;
	// no ASSERT until both threads are joined: they wait for resolve()
	if (pw && ps) {
		EXPECT_EQ(ctl_.request("RECOVER wide 11", &a), 0);
		EXPECT_EQ(a.compare(0, 11, "OK wide fh="), 0) << a;
		if (a.compare(0, 11, "OK wide fh=") == 0) {
			fh1 = recovered_fh(a);
			EXPECT_EQ(efd.wait(60000), 1u) << "the owner's error eventfd was not signalled once";
			wait_usable(fh1);
		}
	}
	const std::uint64_t held = pins_held_now(f());
	EXPECT_EQ(held, 0u) << "a parked request holds pinned pages";
	EXPECT_EQ(uw.resolve(fill.data()), 0);
	EXPECT_EQ(us.resolve(fill.data()), 0);
	tw.join();
	ts.join();
	std::printf("faults: parked during the recovery: wide %s; strict %s\n", describe(rw).c_str(),
		    describe(rs).c_str());
	EXPECT_EQ(rw.err, 0) << describe(rw);
	EXPECT_EQ(rw.status.done, 2u) << describe(rw);
	EXPECT_EQ(rs.err, 0) << describe(rs);
	EXPECT_EQ(rs.status.done, 2u) << describe(rs);
	Manifest::get().written(kFunc, w, 64, seed_, w, test_label());
	Manifest::get().written(kFunc, w + 64, 64, seed_, 0, test_label());
	Manifest::get().written(fname(s), sa, 64, seed_, sa, test_label());
	Manifest::get().written(fname(s), sa + 64, 64, seed_, 0, test_label());
	EXPECT_EQ(pins_held_now(f()), 0u);
	EXPECT_EQ(pins_held_now(s), 0u);
	EXPECT_EQ(status().fh, fh1);
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

// Run by guest.sh on its own, right before it unbinds every function and
// unloads zpci_io (tests/vm/guest/README.md, step 5): an error event and
// its recovery while the owner holds the device with its error eventfd
// armed and a batch of 16 stores lands after it; then a permanent failure
// (the refusal while marked); then the process exits (closing the device),
// and the unbind, rmmod and pin check that follow prove that neither left
// anything behind.
class RecoveryEnd : public Faults {};

TEST_F(RecoveryEnd, ErrorEventThenRelease)
{
	// its own place: this process's g_area starts again at 8 MiB
	const std::uint64_t b = 15ULL << 20;
	ErrFd efd(f());
	ASSERT_TRUE(efd.ok()) << efd.why;
	std::uint32_t fh1 = 0;
	std::string a;
	ASSERT_EQ(ctl_.request("RECOVER wide 11", &a), 0);
	ASSERT_EQ(a.compare(0, 11, "OK wide fh="), 0) << a;
	fh1 = recovered_fh(a);
	EXPECT_EQ(efd.wait(60000), 1u);
	ASSERT_NO_FATAL_FAILURE(wait_usable(fh1));
	AlignedBuf src(16 * 256);
	pattern_fill(src.data(), 16 * 256, seed_, b);
	SubmitResult r = stores(f(), store_run(b, src.data(), 16, 128, 256));
	EXPECT_EQ(r.err, 0) << describe(r);
	EXPECT_EQ(r.status.done, 16u) << describe(r);
	for (unsigned i = 0; i < 16; i++) {
		Manifest::get().written(kFunc, b + i * 256, 128, seed_, b + i * 256, test_label());
		untouched(b + i * 256 + 128, 128);
	}
	EXPECT_EQ(pins_held_now(f()), 0u);

	// Then a permanent failure (PEC 0x0040: Linux reports the function
	// failed and tries no recovery): the owner is told, the mark stays,
	// every batch is refused whole (EIO, STATUS_FUNC_ERROR, REJECTED) and
	// nothing lands, until guest.sh unbinds the function.
	const std::uint64_t z = b + 4096;
	ASSERT_EQ(ctl_.request("RECOVER wide 64", &a), 0);
	ASSERT_EQ(a.compare(0, 11, "OK wide fh="), 0) << a;
	EXPECT_EQ(efd.wait(60000), 1u) << "the owner was not told of the permanent failure";
	auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
	zpci_io_info in{};
	for (;;) {
		ASSERT_EQ(f().read_info(&in), 0);
		if ((in.flags & ZPCI_IO_INFO_FUNC_ERROR) || std::chrono::steady_clock::now() > end)
			break;
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
	EXPECT_TRUE(in.flags & ZPCI_IO_INFO_FUNC_ERROR) << "no INFO_FUNC_ERROR after a permanent failure";
	for (int i = 0; i < 2; i++) {
		r = stores(f(), {{z, src.data(), 128}});
		EXPECT_EQ(r.err, EIO) << describe(r);
		EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_FUNC_ERROR) << describe(r);
		EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_REJECTED) << describe(r);
		EXPECT_FALSE(r.status.flags & ZPCI_IO_STATUS_CC_VALID) << describe(r);
		EXPECT_EQ(r.status.done, 0u);
	}
	std::printf("recovery-end: after a permanent failure: %s\n", describe(r).c_str());
	untouched(z, 128);
	EXPECT_EQ(pins_held_now(f()), 0u);
	std::printf("recovery-end: wide recovered to fh 0x%08x, then failed for good; the process "
		    "exits, guest.sh unbinds and unloads zpci_io\n", fh1);
}
