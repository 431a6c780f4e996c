// SPDX-License-Identifier: MIT
// Guest tests of what the driver reports (issue 9, items 3-5, as ABI 3 has
// them): a read-only request loses only its report, a program exception is told
// apart from "memory decode off", failed instructions are traced in the
// s390dbf area, and the netlink statistics are for CAP_NET_ADMIN only.
//
// BAR areas: taken from the strict function's test area (suite.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <grp.h>
#include <linux/pci_regs.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nl_raw.hpp"
#include "suite.hpp"

using namespace zpci_vm;

namespace {


void expect_zero_area(const Function &f, std::uint64_t area, std::size_t len, const char *what)
{
	std::vector<std::uint8_t> got(len);
	ASSERT_EQ(region_load(f, kDataBar, area, got.data(), got.size()), 0) << what;
	EXPECT_EQ(static_cast<std::size_t>(std::count(got.begin(), got.end(), 0)), len)
		<< what << ": something was stored";
}

// ABI 2 probed the status block before issuing anything, so that a
// status the driver could not write refused the batch.  ABI 3 has no
// status address: the status is in the request, which the driver has
// read whole before it issues anything.  A caller that write-protects its
// request still gets its ops run; if one fails, only the report is lost:
// the ioctl returns that op's errno, and nothing of the read-only request
// changes.  (The ISM-like function's BAR 2 refuses PCISTG, which the
// driver lets through with zpci_io_nostg_bars 0: op 1 fails when it runs.)
TEST(Status, ReadOnlyRequestLosesOnlyItsReport)
{
	REQUIRE_ISM();
	Function &f = fns().ism;
	REQUIRE_RAM_BAR(f);
	const std::uint64_t seed = seed_for(test_label());
	const std::uint64_t area = take(f, 4096);
	const long pg = sysconf(_SC_PAGESIZE);
	AlignedBuf src(4096);
	pattern_fill(src.data(), 4096, seed, area);
	Batch b;
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, area, src.data(), 64);
	b.add(ZPCI_IO_OP_PCISTG, kDataBar, area + 64, src.data() + 64, 8);
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, area + 128, src.data() + 128, 64);
	std::vector<std::uint8_t> &req = b.build();
	auto *m = static_cast<std::uint8_t *>(
		mmap(nullptr, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_NE(m, MAP_FAILED);
	ASSERT_LE(req.size(), static_cast<std::size_t>(pg));
	std::memcpy(m, req.data(), req.size());
	ASSERT_EQ(mprotect(m, pg, PROT_READ), 0);
	const std::string attr = "/sys/bus/pci/devices/" + f.addr() + "/zpci_io_nostg_bars";
	const std::string saved = sysfs_read(f.addr(), "zpci_io_nostg_bars");
	if (saved.empty()) {
		munmap(m, pg);
		GTEST_SKIP() << "no " << attr;
	}
	ASSERT_EQ(sysfs_write(attr, "0"), 0);
	int err = 0;
	long rc = f.ioctl_ready(m, &err);	// m is read-only: nothing may write it
	EXPECT_EQ(sysfs_write(attr, saved), 0);
	EXPECT_EQ(rc, -1);
	EXPECT_EQ(err, EIO) << errno_name(err);
	EXPECT_EQ(std::memcmp(m, req.data(), req.size()), 0) << "the read-only request changed";
	munmap(m, pg);
	Manifest::get().written(fname(f), area, 64, seed, area, test_label());
	Manifest::get().untouched(fname(f), area + 64, 4096 - 64, test_label());
	std::vector<std::uint8_t> got(192);
	ASSERT_EQ(region_load(f, kDataBar, area, got.data(), got.size()), 0);
	EXPECT_EQ(std::memcmp(got.data(), src.data(), 64), 0) << "op 0 ran";
	EXPECT_EQ(std::count(got.begin() + 64, got.end(), 0), 128) << "ops 1-2 stored something";
}

// The strict function told (wrongly) that it has relaxed alignment: the
// driver lets a 12-byte PCISTB through, the function raises a
// specification exception.  EIO with STATUS_PGM and pgm 0x06, no cc, not
// REJECTED (the instruction was issued), nothing stored, and the s390dbf
// area has a record of it.
TEST(Status, ProgramExceptionSetsPgm)
{
	REQUIRE_STRICT();
	Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	const std::string attr = "/sys/bus/pci/devices/" + f.addr() + "/zpci_io_relaxed";
	const std::string before = sysfs_read(f.addr(), "zpci_io_relaxed");
	ASSERT_EQ(sysfs_write(attr, "on"), 0);
	std::uint64_t area = take(f, 4096);
	Manifest::get().untouched(fname(f), area, 4096, test_label());
	AlignedBuf src(4096);
	pattern_fill(src.data(), 64, seed_for(test_label()), 0);
	std::string dbf0 = slurp(kDbf);
	Batch b;
	b.add(ZPCI_IO_OP_PCISTB, kDataBar, area, src.data(), 12);
	SubmitResult r = submit(f, b);
	EXPECT_EQ(sysfs_write(attr, before.empty() ? "auto" : before), 0);
	EXPECT_EQ(r.err, EIO) << errno_name(r.err);
	EXPECT_EQ(r.status.error, -EIO);
	EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_PGM) << "flags " << r.status.flags;
	EXPECT_FALSE(r.status.flags & ZPCI_IO_STATUS_CC_VALID);
	EXPECT_FALSE(r.status.flags & ZPCI_IO_STATUS_REJECTED) << "the instruction was issued";
	EXPECT_FALSE(r.status.flags & ZPCI_IO_STATUS_DECODE_OFF);
	EXPECT_EQ(r.status.pgm, ZPCI_PGM_SPECIFICATION) << "pgm 0x" << std::hex << unsigned(r.status.pgm);
	EXPECT_EQ(r.status.done, 0u);
	expect_zero_area(f, area, 4096, "PCISTB that raised an exception");
	std::string dbf1 = slurp(kDbf);
	if (dbf0.empty() && dbf1.empty()) {
		ADD_FAILURE() << kDbf << " is empty or missing (debugfs not mounted, or no s390dbf area)";
		return;
	}
	char want[96];
	std::snprintf(want, sizeof(want), "fid %x insn 3 as 2 off %llx len 12 cc -1 st 0 pgm 6",
		      f.info().fid, static_cast<unsigned long long>(area));
	EXPECT_NE(dbf1.find(want), std::string::npos)
		<< "no s390dbf record '" << want << "' in " << kDbf << "; last lines:\n"
		<< dbf1.substr(dbf1.size() > 600 ? dbf1.size() - 600 : 0);
}

// Memory decode off (vfio's virtual command register): the op is not
// issued; EIO with STATUS_DECODE_OFF and REJECTED, no cc, no exception.
TEST(Status, DecodeOffIsFlagged)
{
	REQUIRE_STRICT();
	Function &f = fns().strict;
	REQUIRE_RAM_BAR(f);
	RegionRange cfg;
	ASSERT_EQ(f.region_range(7, &cfg), 0);
	std::uint16_t cmd = 0;
	ASSERT_EQ(pread(f.device_fd(), &cmd, 2, cfg.offset + PCI_COMMAND), 2);
	cmd = le16toh(cmd);
	ASSERT_TRUE(cmd & PCI_COMMAND_MEMORY) << "memory decode already off";
	std::uint16_t off = htole16(cmd & ~PCI_COMMAND_MEMORY), on = htole16(cmd);
	ASSERT_EQ(pwrite(f.device_fd(), &off, 2, cfg.offset + PCI_COMMAND), 2);
	std::uint8_t back[8];
	Batch b;
	b.add(ZPCI_IO_OP_PCILG, kDataBar, 0, back, 8);
	SubmitResult r = submit(f, b);
	ASSERT_EQ(pwrite(f.device_fd(), &on, 2, cfg.offset + PCI_COMMAND), 2);
	EXPECT_EQ(r.err, EIO) << errno_name(r.err);
	EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_DECODE_OFF) << "flags " << r.status.flags;
	EXPECT_TRUE(r.status.flags & ZPCI_IO_STATUS_REJECTED) << "nothing was issued";
	EXPECT_FALSE(r.status.flags & (ZPCI_IO_STATUS_PGM | ZPCI_IO_STATUS_CC_VALID));
	// and back on, it works again
	SubmitResult r2 = submit(f, b);
	EXPECT_EQ(r2.rc, 0L) << errno_name(r2.err);
}

// GET_FUNCS and GET_STATS show every tenant's functions: CAP_NET_ADMIN
// only.  Root gets them; a child that dropped to nobody gets EPERM.
TEST(Netlink, StatsNeedCapNetAdmin)
{
	REQUIRE_STRICT();
	std::vector<NlFunc> v;
	int rc = nl_dump(ZPCI_NL_CMD_GET_FUNCS, &v);
	if (rc == -ENOENT)
		GTEST_FAIL() << "no zpci_io netlink family";
	ASSERT_EQ(rc, 0) << std::strerror(-rc);
	EXPECT_TRUE(std::any_of(v.begin(), v.end(), [](const NlFunc &n) { return n.fid == fns().strict.info().fid; }));
	if (geteuid() != 0)
		GTEST_SKIP() << "not root: cannot compare with an unprivileged caller";
	int pfd[2];
	ASSERT_EQ(pipe(pfd), 0);
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		::close(pfd[0]);
		int res[3] = {1, 1, 1};
		if (setgroups(0, nullptr) == 0 && setresgid(65534, 65534, 65534) == 0 &&
		    setresuid(65534, 65534, 65534) == 0) {
			std::vector<NlFunc> w;
			res[0] = 0;
			res[1] = nl_dump(ZPCI_NL_CMD_GET_FUNCS, &w);
			res[2] = nl_dump(ZPCI_NL_CMD_GET_STATS, &w);
		}
		_exit(::write(pfd[1], res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	::close(pfd[1]);
	int res[3] = {1, 1, 1};
	ssize_t n = ::read(pfd[0], res, sizeof(res));
	::close(pfd[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	ASSERT_EQ(n, static_cast<ssize_t>(sizeof(res)));
	ASSERT_EQ(res[0], 0) << "could not drop to uid/gid 65534";
	EXPECT_EQ(res[1], -EPERM) << "unprivileged GET_FUNCS: " << std::strerror(-res[1]);
	EXPECT_EQ(res[2], -EPERM) << "unprivileged GET_STATS: " << std::strerror(-res[2]);
	std::printf("netlink: root GET_FUNCS rc 0 (%zu functions); uid 65534: GET_FUNCS %s, GET_STATS %s\n",
		    v.size(), std::strerror(-res[1]), std::strerror(-res[2]));
}

// The driver's s390dbf area is registered (debugfs, sprintf view).
TEST(Trace, S390dbfArea)
{
	if (access("/sys/kernel/debug/s390dbf", F_OK) != 0)
		GTEST_SKIP() << "no /sys/kernel/debug/s390dbf (debugfs not mounted)";
	EXPECT_EQ(access("/sys/kernel/debug/s390dbf/zpci_io", F_OK), 0) << "no zpci_io debug area";
	EXPECT_EQ(access(kDbf, R_OK), 0) << "no sprintf view";
	std::string level = slurp("/sys/kernel/debug/s390dbf/zpci_io/level");
	EXPECT_FALSE(level.empty());
}

}  // namespace
