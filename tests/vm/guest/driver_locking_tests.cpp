// SPDX-License-Identifier: MIT
// Guest tests of the driver's locking (issue 9, item 1): a request whose
// memory faults and stays faulted (its last bytes on a userfaultfd-backed
// page that nobody fills yet) must hold nothing that anyone else waits
// for.  While it is parked in the driver's copy of it: the info block and
// the sysfs attributes of the same function answer, another request on
// the same function runs (it finds the function's buffer taken and gets
// one of its own), the OTHER function is unbound from zpci_io and bound
// again, and the netlink statistics of both are read; each must finish
// within a few seconds.  Nothing is pinned meanwhile (ABI 3 pins
// nothing).  Then the fault is resolved and the parked request completes
// with its data in the BAR; or its process is killed and nothing is left.
//
// BAR areas: taken from the strict function's test area (suite.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "nl_raw.hpp"
#include "suite.hpp"
#include "uffd_page.hpp"

using namespace zpci_vm;

namespace {


std::uint64_t pins_held(const Function &f, int *rc)
{
	NlFunc nf;
	*rc = nl_stats(f.info().fid, &nf);
	if (*rc == 0 && !nf.has(ZPCI_NL_S_PINS_HELD))
		*rc = -ENOTSUP;
	return nf.counter(ZPCI_NL_S_PINS_HELD);
}

// The request that parks: op 0 stores 64 bytes (in the ordinary page),
// op 1 the first 64 bytes of the userfaultfd page (its content once
// resolved: fill).  Both land in [area, area + 128).  Returns where the
// request starts, for submit_at().
std::uint8_t *build_parked(Batch &b, std::uint64_t area, const AlignedBuf &src,
			   const AlignedBuf &fill, const UffdPage &u)
{
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, area, src.data(), 64);
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, area + 64, fill.data(), 64);
	return place_before_uffd(b, 1, u);
}

std::string driver_of(const std::string &addr)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(("/sys/bus/pci/devices/" + addr + "/driver").c_str(), buf, sizeof(buf) - 1);
	if (n < 0)
		return "";
	buf[n] = 0;
	const char *s = std::strrchr(buf, '/');
	return s ? s + 1 : buf;
}

TEST(Locking, ParkedBatchBlocksNobody)
{
	REQUIRE_STRICT();
	REQUIRE_ISM();
	Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	std::string why = uffd_unusable();
	if (!why.empty())
		GTEST_SKIP() << "userfaultfd: " << why;

	UffdPage u;
	ASSERT_EQ(u.open(&why), 0) << why;
	const std::uint64_t seed = seed_for(test_label());
	AlignedBuf src(4096), fill(4096);
	pattern_fill(src.data(), 64, seed, 0);
	pattern_fill(fill.data(), 64, seed, 64);
	const std::uint64_t area = take(f, 4096);

	Batch b;
	std::uint8_t *at = build_parked(b, area, src, fill, u);
	std::atomic<bool> returned{false};
	SubmitResult parked_result;
	auto t_park = Clock::now();
	std::thread parked([&] {
		parked_result = submit_at(f, b, at, b.size());
		returned = true;
	});
	ASSERT_TRUE(u.wait_fault(10000)) << "the request did not fault on the userfaultfd page";
	double ms_to_park = ms_since(t_park);
	EXPECT_FALSE(returned.load()) << "the request returned although its bytes are not there";

	// A watchdog: if anything below blocks behind the parked batch, it
	// resolves the fault after 20 s so that the test can report instead
	// of hanging the guest.
	std::atomic<bool> done{false}, rescued{false};
	std::thread watchdog([&] {
		for (int i = 0; i < 400 && !done.load(); i++)
			usleep(50000);
		if (!done.load()) {
			rescued = true;
			u.resolve(fill.data());
		}
	});

	struct Step {
		std::string what;
		double ms;
		bool ok;
		std::string detail;
	};
	std::vector<Step> steps;
	auto step = [&](const std::string &what, const std::function<bool(std::string *)> &fn) {
		auto t0 = Clock::now();
		std::string detail;
		bool ok = fn(&detail);
		steps.push_back({what, ms_since(t0), ok && !returned.load(), detail});
	};
	int rc = 0;
	std::uint64_t held = pins_held(f, &rc);
	step("netlink GET_STATS (both functions)", [&](std::string *d) {
		std::vector<NlFunc> v;
		int r = nl_dump(ZPCI_NL_CMD_GET_STATS, &v);
		*d = "rc " + std::to_string(r) + ", " + std::to_string(v.size()) + " functions";
		return r == 0 && v.size() >= 2;
	});
	step("info read (same function)", [&](std::string *d) {
		zpci_io_info in{};
		int r = f.read_info(&in);
		*d = "rc " + std::to_string(r);
		return r == 0 && in.fid == f.info().fid;
	});
	step("sysfs show+store zpci_io_relaxed (same function)", [&](std::string *d) {
		std::string m = sysfs_read(f.addr(), "zpci_io_relaxed");
		int r = sysfs_write("/sys/bus/pci/devices/" + f.addr() + "/zpci_io_relaxed", m.empty() ? "auto" : m);
		*d = "'" + m + "' rc " + std::to_string(r);
		return !m.empty() && r == 0;
	});
	step("another request (same function)", [&](std::string *d) {
		std::uint8_t back[8];
		Batch lb;
		lb.add(ZPCI_IO_OP_PCILG, kDataBar, area + 1024, back, 8);
		SubmitResult r = submit(f, lb);
		*d = "rc " + std::to_string(r.rc) + " " + errno_name(r.err);
		return r.rc == 0L;
	});
	// The other function: release our own handle, unbind, bind again.
	Function &o = fns().ism;
	const std::string oaddr = o.addr();
	const std::string nostg = sysfs_read(oaddr, "zpci_io_nostg_bars");
	o.close();
	fns().ism_rc = -1;
	step("unbind the other function", [&](std::string *d) {
		int r = sysfs_write("/sys/bus/pci/drivers/zpci_io/unbind", oaddr);
		*d = "rc " + std::to_string(r) + ", driver now '" + driver_of(oaddr) + "'";
		return r == 0 && driver_of(oaddr).empty();
	});
	step("bind the other function again", [&](std::string *d) {
		int r = sysfs_write("/sys/bus/pci/drivers_probe", oaddr);
		*d = "rc " + std::to_string(r) + ", driver now '" + driver_of(oaddr) + "'";
		return driver_of(oaddr) == "zpci_io";
	});
	if (!nostg.empty()) {
		EXPECT_EQ(sysfs_write("/sys/bus/pci/devices/" + oaddr + "/zpci_io_nostg_bars", nostg), 0);
	}
	step("open the other function again", [&](std::string *d) {
		int r = o.open(oaddr, &fns().ism_err);
		fns().ism_rc = r;
		*d = "rc " + std::to_string(r) + " " + fns().ism_err;
		return r == 0;
	});
	step("netlink GET_FUNCS after the rebind", [&](std::string *d) {
		std::vector<NlFunc> v;
		int r = nl_dump(ZPCI_NL_CMD_GET_FUNCS, &v);
		*d = "rc " + std::to_string(r) + ", " + std::to_string(v.size()) + " functions";
		return r == 0 && v.size() >= 2;
	});
	done = true;
	watchdog.join();
	const bool still_parked = !returned.load();
	EXPECT_FALSE(rescued.load()) << "something waited for the parked request: the watchdog had to resolve the fault";
	EXPECT_TRUE(still_parked) << "the parked request returned before its fault was resolved";

	std::string report;
	double worst = 0;
	for (const Step &s : steps) {
		char l[256];
		std::snprintf(l, sizeof(l), "  %-50s %8.1f ms  %s  %s\n", s.what.c_str(), s.ms,
			      s.ok ? "ok" : "FAILED", s.detail.c_str());
		report += l;
		worst = std::max(worst, s.ms);
		EXPECT_TRUE(s.ok) << s.what << ": " << s.detail;
		EXPECT_LT(s.ms, 5000.0) << s.what << " took " << s.ms << " ms while a request was parked";
	}
	std::printf("locking: request parked in its copy after %.1f ms, %llu pages pinned while parked "
		    "(netlink pins_held, rc %d); while parked:\n%s",
		    ms_to_park, static_cast<unsigned long long>(held), rc, report.c_str());
	EXPECT_EQ(rc, 0) << "netlink pins_held not readable";
	EXPECT_EQ(held, 0u) << "pages pinned while a request is parked";

	// Resolve: the request goes on and both ops land.
	auto t_res = Clock::now();
	ASSERT_EQ(u.resolve(fill.data()), 0);
	parked.join();
	std::printf("locking: the parked request ended %.1f ms after the fault was resolved: rc %ld %s, done %u\n",
		    ms_since(t_res), parked_result.rc, errno_name(parked_result.err), parked_result.status.done);
	EXPECT_EQ(parked_result.rc, 0L) << errno_name(parked_result.err);
	EXPECT_EQ(parked_result.status.done, 2u);
	std::vector<std::uint8_t> got(128), want(128);
	ASSERT_EQ(region_load(f, kDataBar, area, got.data(), got.size()), 0);
	pattern_fill(want.data(), 128, seed, 0);
	EXPECT_EQ(got, want) << "the parked request's bytes did not land";
	Manifest::get().written(fname(f), area, 128, seed, 0, test_label());
	Manifest::get().untouched(fname(f), area + 128, 4096 - 128, test_label());
	held = pins_held(f, &rc);
	EXPECT_EQ(held, 0u) << "pins left after the request ended";
}

// The parked request's process is killed: the copy's wait ends, nothing
// was pinned, nothing is left behind, nothing was issued.
TEST(Locking, KilledWhileParkedLeavesNothing)
{
	REQUIRE_STRICT();
	Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	std::string why = uffd_unusable();
	if (!why.empty())
		GTEST_SKIP() << "userfaultfd: " << why;
	const std::uint64_t area = take(f, 4096);
	Manifest::get().untouched(fname(f), area, 4096, test_label());
	PinCounters p0 = read_pin_counters();

	int pfd[2];
	ASSERT_EQ(pipe(pfd), 0);
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		// The child: park a request, say so, wait to be killed.
		::close(pfd[0]);
		UffdPage u;
		std::string w;
		if (u.open(&w) < 0)
			_exit(2);
		AlignedBuf src(4096), fill(4096);
		Batch b;
		std::uint8_t *at = build_parked(b, area, src, fill, u);
		std::thread t([&] { submit_at(f, b, at, b.size()); });
		t.detach();
		if (!u.wait_fault(10000))
			_exit(3);
		char c = 'P';
		if (::write(pfd[1], &c, 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	::close(pfd[1]);
	pollfd p{pfd[0], POLLIN, 0};
	char c = 0;
	bool parked = poll(&p, 1, 20000) == 1 && ::read(pfd[0], &c, 1) == 1 && c == 'P';
	::close(pfd[0]);
	int rc = 0;
	std::uint64_t held = parked ? pins_held(f, &rc) : 0;
	auto t0 = Clock::now();
	int status = 0;
	bool reaped = kill_and_reap(pid, 10000, 10000, &status);
	double ms_kill = ms_since(t0);
	ASSERT_TRUE(parked) << "the child did not park its request (exit status of the child tells why)";
	ASSERT_TRUE(reaped) << "the killed child did not exit within 10 s (stuck in the driver?)";
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	std::uint64_t after = pins_held(f, &rc);
	PinCounters p1 = read_pin_counters();
	std::printf("locking: child parked with %llu pages pinned, killed and reaped in %.1f ms, "
		    "pins held afterwards %llu (netlink rc %d), nr_foll_pin acquired-released %lld\n",
		    static_cast<unsigned long long>(held), ms_kill, static_cast<unsigned long long>(after), rc,
		    p1.valid ? static_cast<long long>(p1.acquired - p1.released) : -1LL);
	EXPECT_EQ(rc, 0);
	EXPECT_EQ(held, 0u) << "pages pinned while a request is parked";
	EXPECT_EQ(after, 0u) << "pins left by the killed request";
	if (p0.valid && p1.valid) {
		EXPECT_EQ(p1.acquired, p1.released) << "nr_foll_pin_* unbalanced after the kill";
	}
	// The request never got past its copy: not even op 0 ran.
	std::vector<std::uint8_t> got(4096);
	ASSERT_EQ(region_load(f, kDataBar, area, got.data(), got.size()), 0);
	EXPECT_EQ(std::count(got.begin(), got.end(), 0), 4096) << "the killed request stored something";
}

}  // namespace
