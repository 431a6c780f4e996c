// SPDX-License-Identifier: MIT
// The vfio paths against a fake kernel behind sys_ops: group/cdev opening,
// the argsz grow-and-retry loop, zPCI capability parsing, the zpci_io
// device feature (probe, info, the version handshake, requests built as
// one self-contained buffer) and the 8-byte fallback, with injected EINTR,
// EIO, short transfers and bad payloads.  The last test uses a real device
// when one is bound to vfio (ZPCI_TEST_PCI_ADDR or the first found).
#include <gtest/gtest.h>

#include <linux/vfio.h>
#include <linux/vfio_zdev.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <zpci/path.hpp>
#include <zpci/zpci.h>
#include <zpci/zpci_abi.h>

#include "vfio/vfio.hpp"

using namespace zpci;
using namespace zpci::vfio;

namespace {

constexpr const char *ADDR = "0000:00:01.0";
constexpr std::uint64_t REGION_STRIDE = 1ULL << 40;	// like vfio-pci
// Where a zpci_io driver of ABI 1/2 had its device-specific region.
constexpr std::uint32_t IO_INDEX = 9;
constexpr std::size_t FEAT = sizeof(vfio_device_feature);

// A capability chain as the kernel lays it out after a fixed struct.
class cap_chain {
public:
	explicit cap_chain(std::size_t fixed) : fixed_(fixed) {}
	template <class T> void add(T cap, std::uint16_t id, std::uint16_t ver,
				    std::size_t bytes = sizeof(T))
	{
		cap.header.id = id;
		cap.header.version = ver;
		cap.header.next = 0;
		add_raw(&cap, bytes);
	}
	void add_raw(const void *p, std::size_t bytes)
	{
		while (data_.size() % 8)
			data_.push_back(0);
		std::size_t off = data_.size();
		if (last_ >= 0) {
			auto next = static_cast<std::uint32_t>(fixed_ + off);
			std::memcpy(&data_[last_ + offsetof(vfio_info_cap_header, next)],
				    &next, 4);
		}
		auto *b = static_cast<const std::uint8_t *>(p);
		data_.insert(data_.end(), b, b + bytes);
		last_ = static_cast<long>(off);
	}
	std::vector<std::uint8_t> &bytes() { return data_; }

private:
	std::size_t fixed_;
	std::vector<std::uint8_t> data_;
	long last_ = -1;
};

struct fake_region {
	std::uint32_t flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	std::uint64_t size = 0;
	std::vector<std::uint8_t> caps;	// chain after vfio_region_info
};

// A request as the fake driver received it (a copy of the whole buffer).
struct batch_seen {
	zpci_io_req hdr{};
	std::vector<zpci_io_op> ops;
	std::vector<std::uint8_t> raw;	// the request, total_size bytes
	std::uint32_t argsz = 0;	// the feature's argsz

	// The bytes of op i: its inline value (big-endian, len bytes) or its
	// block in the data area.
	std::vector<std::uint8_t> bytes(std::size_t i) const
	{
		const zpci_io_op &o = ops[i];
		std::vector<std::uint8_t> b(o.len);
		if (o.len <= ZPCI_IO_INLINE_MAX) {
			for (std::uint32_t k = 0; k < o.len; k++)
				b[k] = static_cast<std::uint8_t>(o.data >> (8 * (o.len - 1 - k)));
		} else if (o.data + o.len <= raw.size()) {
			std::memcpy(b.data(), raw.data() + o.data, o.len);
		}
		return b;
	}
};

// The fake kernel.  Every call is counted; tests inject failures through
// the queues and hooks.
class fake_sys : public sys_ops {
public:
	// --- configuration ---
	bool has_group = true, has_cdev = false, viable = true;
	int group_no = 7;
	std::uint32_t num_regions = 10;
	std::vector<std::uint8_t> dev_caps;
	std::map<std::uint32_t, fake_region> regions;
	zpci_io_info io{};
	std::map<std::string, std::string> links;	// sysfs symlinks
	std::map<std::string, std::vector<std::string>> dirs;
	std::set<std::string> denied;			// open() -> EACCES

	// --- injection ---
	mutable std::map<unsigned long, std::deque<int>> ioctl_fail;	// -errno
	mutable std::deque<long> pread_res;	// forced results (-errno or count)
	mutable std::deque<long> pwrite_res;
	bool grow_forever = false;
	bool wrong_region_index = false;
	// The zpci_io feature: answers PROBE/GET/SET (else ENOTTY, as vfio-pci)
	bool has_feature = true;
	int get_error = 0;		// GET fails with it
	// The "driver": runs a request (the caller's buffer, req), may write
	// the status and PCILG values there; returns the ioctl's result.
	std::function<int(const batch_seen &, unsigned char *req)> driver;

	// --- observation ---
	mutable std::map<std::string, int> opened;
	mutable int open_fds = 0;
	mutable std::map<unsigned long, int> ioctls;
	mutable std::vector<batch_seen> batches;
	mutable std::vector<std::pair<off_t, std::vector<std::uint8_t>>> bar_writes;
	mutable std::vector<std::pair<off_t, std::size_t>> bar_reads;
	mutable int pwrites = 0;
	mutable int bind_iommufd = -1;
	mutable std::uint32_t attach_pt = 0;

	fake_sys()
	{
		std::string dev = std::string("/sys/bus/pci/devices/") + ADDR;
		links[dev + "/iommu_group"] = "../../../kernel/iommu_groups/7";
		for (unsigned i = 0; i < 6; i++)
			regions[i].size = (i == 0 || i == 2) ? 0x4000 : 0;
		for (unsigned i = 6; i < 9; i++)
			regions[i].size = 0;
		io.argsz = sizeof(io);
		io.abi_version = ZPCI_IO_ABI_VERSION;
		io.abi_min_compat = ZPCI_IO_ABI_MIN_COMPAT;
		io.features = ZPCI_IO_FEAT_PCISTB | ZPCI_IO_FEAT_PCISTG |
			      ZPCI_IO_FEAT_PCILG | ZPCI_IO_FEAT_STATUS;
		io.fid = 0x10;
		io.uid = 0x20;
		io.bar_mask = 0x5;
		io.pcistg_mask = 0x5;
		io.msix_table_bar = ZPCI_IO_NO_BAR;
		io.msix_pba_bar = ZPCI_IO_NO_BAR;
		io.maxstbl = 4096;
		io.max_ops = 16;
		io.max_req_size = 2 << 20;
		io.req_hdr_size = sizeof(zpci_io_req);
		io.op_size = sizeof(zpci_io_op);
		io.bar_size[0] = 0x4000;
		io.bar_size[2] = 0x4000;
		regions[IO_INDEX].size = 0;
		driver = [](const batch_seen &, unsigned char *) { return 0; };
	}

	// The device-specific region of a zpci_io driver of ABI 1 or 2 (vendor
	// type IBM, subtype "zio1"), or another vendor's region.
	void add_old_region(std::uint32_t subtype = 0x7a696f31)
	{
		fake_region r;
		r.size = 0x2000;
		cap_chain c(sizeof(vfio_region_info));
		vfio_region_info_cap_type t{};
		t.type = VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x1014;
		t.subtype = subtype;
		c.add(t, VFIO_REGION_INFO_CAP_TYPE, 1);
		r.caps = c.bytes();
		regions[IO_INDEX] = r;
	}

	// A PCILG result as the driver returns it: into op i's data field.
	static void put_value(unsigned char *req, const batch_seen &b, std::size_t i,
			      std::uint64_t v)
	{
		std::memcpy(req + b.hdr.hdr_size + i * b.hdr.op_size +
				    offsetof(zpci_io_op, data), &v, 8);
	}
	static void put_status(unsigned char *req, const zpci_io_status &st)
	{
		std::memcpy(req + offsetof(zpci_io_req, status), &st, sizeof(st));
	}

	void zpci_caps_default(std::uint8_t pft = 0)
	{
		cap_chain c(sizeof(vfio_device_info));
		vfio_device_info_cap_zpci_base b{};
		b.start_dma = 0x1000;
		b.end_dma = 0xffffffff;
		b.pchid = 0x1c0;
		b.vfn = 3;
		b.pft = pft;
		b.gid = 2;
		b.fh = 0x80000123;
		c.add(b, VFIO_DEVICE_INFO_CAP_ZPCI_BASE, 2);
		vfio_device_info_cap_zpci_group g{};
		g.dasm = ~0ULL;
		g.msi_addr = 0xfe00000000000000ULL;
		g.maxstbl = 128;
		g.version = 1;
		g.imaxstbl = 4096;
		c.add(g, VFIO_DEVICE_INFO_CAP_ZPCI_GROUP, 2);
		struct {
			vfio_info_cap_header header;
			__u32 size;
			__u8 s[4];
		} u{};
		u.size = 4;
		std::memcpy(u.s, "\xc1\xc2\xc3\xc4", 4);
		c.add(u, VFIO_DEVICE_INFO_CAP_ZPCI_UTIL, 1);
		struct {
			vfio_info_cap_header header;
			__u32 size;
			__u8 s[2];
		} f{};
		f.size = 2;
		f.s[0] = 0xaa;
		f.s[1] = 0x55;
		c.add(f, VFIO_DEVICE_INFO_CAP_ZPCI_PFIP, 1,
		      sizeof(vfio_info_cap_header) + 4 + 2);
		dev_caps = c.bytes();
	}

	void enable_cdev()
	{
		has_cdev = true;
		dirs[std::string("/sys/bus/pci/devices/") + ADDR + "/vfio-dev"] = {"vfio3"};
	}

	// --- sys_ops ---
	int open(const char *path, int) const noexcept override
	{
		std::string p(path);
		opened[p]++;
		if (denied.count(p))
			return -EACCES;
		std::string kind;
		if (p == "/dev/vfio/vfio")
			kind = "container";
		else if (p == "/dev/vfio/" + std::to_string(group_no) && has_group)
			kind = "group";
		else if (p == "/dev/iommu" && has_cdev)
			kind = "iommufd";
		else if (p == "/dev/vfio/devices/vfio3" && has_cdev)
			kind = "device";
		else
			return -ENOENT;
		return new_fd(kind);
	}
	int close(int fd) const noexcept override
	{
		if (!kinds.erase(fd))
			return -EBADF;
		open_fds--;
		return 0;
	}
	int ioctl(int fd, unsigned long req, void *arg) const noexcept override
	{
		ioctls[req]++;
		auto &q = ioctl_fail[req];
		if (!q.empty()) {
			int r = q.front();
			q.pop_front();
			return r;
		}
		auto it = kinds.find(fd);
		if (it == kinds.end())
			return -EBADF;
		const std::string &k = it->second;
		if (k == "container")
			return container_ioctl(req, arg);
		if (k == "group")
			return group_ioctl(req, arg);
		if (k == "iommufd") {
			if (req != _IO(';', 0x81))
				return -ENOTTY;
			static_cast<__u32 *>(arg)[2] = 42;	// out_ioas_id
			return 0;
		}
		if (k == "device")
			return device_ioctl(fd, req, arg);
		return -ENOTTY;
	}
	ssize_t pread(int fd, void *buf, size_t len, off_t off) const noexcept override
	{
		if (!pread_res.empty()) {
			long r = pread_res.front();
			pread_res.pop_front();
			if (r < 0)
				return r;
			len = std::min<size_t>(len, static_cast<size_t>(r));
		}
		if (kind(fd) != "device")
			return -EBADF;
		bar_reads.emplace_back(off, len);
		std::memset(buf, 0xab, len);
		return static_cast<ssize_t>(len);
	}
	ssize_t pwrite(int fd, const void *buf, size_t len, off_t off) const noexcept override
	{
		pwrites++;
		if (kind(fd) != "device")
			return -EBADF;
		if (!pwrite_res.empty()) {
			long r = pwrite_res.front();
			pwrite_res.pop_front();
			return r;
		}
		auto *p = static_cast<const std::uint8_t *>(buf);
		bar_writes.emplace_back(off, std::vector<std::uint8_t>(p, p + len));
		return static_cast<ssize_t>(len);
	}
	int readlink(const char *path, std::string &out) const noexcept override
	{
		auto it = links.find(path);
		if (it == links.end())
			return -ENOENT;
		out = it->second;
		return 0;
	}
	int list_dir(const char *path, std::vector<std::string> &out) const noexcept override
	{
		auto it = dirs.find(path);
		if (it == dirs.end())
			return -ENOENT;
		out = it->second;
		return 0;
	}
	int access(const char *path) const noexcept override
	{
		std::string p(path);
		if (dirs.count(p) || links.count(p))
			return 0;
		if (p == "/dev/iommu" && has_cdev)
			return 0;
		if (p == "/dev/vfio/" + std::to_string(group_no) && has_group)
			return 0;
		return -ENOENT;
	}

private:
	mutable std::map<int, std::string> kinds;
	mutable int next = 100;

	int new_fd(const std::string &k) const
	{
		kinds[next] = k;
		open_fds++;
		return next++;
	}
	std::string kind(int fd) const
	{
		auto it = kinds.find(fd);
		return it == kinds.end() ? "" : it->second;
	}
	// VFIO_DEVICE_FEATURE as vfio and zpci_io answer it.
	int feature(unsigned char *arg) const
	{
		vfio_device_feature f;
		std::memcpy(&f, arg, sizeof(f));
		if (f.argsz < FEAT)
			return -EINVAL;
		if ((f.flags & VFIO_DEVICE_FEATURE_MASK) != ZPCI_IO_FEATURE || !has_feature)
			return -ENOTTY;
		const std::size_t argsz = f.argsz - FEAT;
		if (f.flags & VFIO_DEVICE_FEATURE_PROBE)
			return 0;
		unsigned char *data = arg + FEAT;
		if (f.flags & VFIO_DEVICE_FEATURE_GET) {
			if (get_error)
				return get_error;
			zpci_io_info i = io;
			std::size_t n = std::min(argsz, sizeof(i));
			i.argsz = static_cast<__u32>(std::min<std::size_t>(n, io.argsz));
			std::memcpy(data, &i, n);
			return 0;
		}
		if (!(f.flags & VFIO_DEVICE_FEATURE_SET) || argsz < ZPCI_IO_REQ_MIN_SIZE)
			return -EINVAL;
		batch_seen b;
		b.argsz = static_cast<std::uint32_t>(argsz);
		b.raw.assign(data, data + argsz);
		std::memcpy(&b.hdr, data, sizeof(b.hdr));
		for (std::uint32_t i = 0; i < b.hdr.nr_ops && b.hdr.op_size >= sizeof(zpci_io_op) &&
					  b.hdr.hdr_size + (i + 1) * b.hdr.op_size <= argsz; i++) {
			zpci_io_op op;
			std::memcpy(&op, data + b.hdr.hdr_size + i * b.hdr.op_size, sizeof(op));
			b.ops.push_back(op);
		}
		batches.push_back(b);
		return driver(b, data);
	}

	int container_ioctl(unsigned long req, void *arg) const
	{
		if (req == VFIO_GET_API_VERSION)
			return VFIO_API_VERSION;
		if (req == VFIO_CHECK_EXTENSION)
			return reinterpret_cast<unsigned long>(arg) == VFIO_TYPE1v2_IOMMU;
		if (req == VFIO_SET_IOMMU)
			return 0;
		return -ENOTTY;
	}
	int group_ioctl(unsigned long req, void *arg) const
	{
		if (req == VFIO_GROUP_GET_STATUS) {
			auto *gs = static_cast<vfio_group_status *>(arg);
			gs->flags = viable ? VFIO_GROUP_FLAGS_VIABLE : 0;
			return 0;
		}
		if (req == VFIO_GROUP_SET_CONTAINER)
			return 0;
		if (req == VFIO_GROUP_GET_DEVICE_FD) {
			if (std::string(static_cast<const char *>(arg)) != ADDR)
				return -ENODEV;
			return new_fd("device");
		}
		return -ENOTTY;
	}
	int device_ioctl(int, unsigned long req, void *arg) const
	{
		if (req == _IO(VFIO_TYPE, VFIO_BASE + 18)) {	// BIND_IOMMUFD
			bind_iommufd = static_cast<__s32 *>(arg)[2];
			return 0;
		}
		if (req == _IO(VFIO_TYPE, VFIO_BASE + 19)) {	// ATTACH_IOMMUFD_PT
			attach_pt = static_cast<__u32 *>(arg)[2];
			return 0;
		}
		if (req == VFIO_DEVICE_FEATURE)
			return feature(static_cast<unsigned char *>(arg));
		if (req == VFIO_DEVICE_GET_INFO) {
			auto *di = static_cast<vfio_device_info *>(arg);
			std::uint32_t given = di->argsz;
			if (given < sizeof(*di))
				return -EINVAL;
			std::uint32_t need = sizeof(*di) + dev_caps.size();
			di->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
			di->num_regions = num_regions;
			di->num_irqs = 5;
			di->cap_offset = 0;
			if (!dev_caps.empty())
				di->flags |= VFIO_DEVICE_FLAGS_CAPS;
			if (grow_forever) {
				di->argsz = given + 8;
			} else if (given < need) {
				di->argsz = need;
			} else if (!dev_caps.empty()) {
				std::memcpy(reinterpret_cast<char *>(arg) + sizeof(*di),
					    dev_caps.data(), dev_caps.size());
				di->cap_offset = sizeof(*di);
			}
			return 0;
		}
		if (req == VFIO_DEVICE_GET_REGION_INFO) {
			auto *ri = static_cast<vfio_region_info *>(arg);
			std::uint32_t given = ri->argsz;
			if (given < sizeof(*ri))
				return -EINVAL;
			auto it = regions.find(ri->index);
			if (it == regions.end())
				return -EINVAL;
			const fake_region &r = it->second;
			std::uint32_t need = sizeof(*ri) + r.caps.size();
			ri->flags = r.size ? r.flags : 0;
			ri->size = r.size;
			ri->offset = ri->index * REGION_STRIDE;
			ri->cap_offset = 0;
			if (wrong_region_index)
				ri->index += 1;
			if (!r.caps.empty())
				ri->flags |= VFIO_REGION_INFO_FLAG_CAPS;
			if (given < need) {
				ri->argsz = need;
			} else if (!r.caps.empty()) {
				std::memcpy(reinterpret_cast<char *>(arg) + sizeof(*ri),
					    r.caps.data(), r.caps.size());
				ri->cap_offset = sizeof(*ri);
			}
			return 0;
		}
		return -ENOTTY;
	}
};

open_options opts(const fake_sys &s, access_mode m = access_mode::group)
{
	open_options o;
	o.sys = &s;
	o.mode = m;
	return o;
}

op make_op(insn k, std::uint8_t as, std::uint32_t len, std::uint64_t off,
	   const void *buf)
{
	op o;
	o.kind = k;
	o.pcias = as;
	o.len = len;
	o.offset = off;
	o.addr = reinterpret_cast<std::uintptr_t>(buf);
	return o;
}

} // namespace

TEST(VfioOpen, RejectsMalformedAddressWithoutSyscalls)
{
	fake_sys s;
	for (const char *a : {"", "0000:00:01", "00:01.0", "0000:00:01.8",
			      "0000:00:01.0/../x", "0000:0g:01.0", "0000-00:01.0"}) {
		auto r = query_device(a, opts(s));
		ASSERT_FALSE(r) << a;
		EXPECT_EQ(r.error(), make_error_code(errc::bad_argument)) << a;
	}
	EXPECT_TRUE(s.opened.empty());
	EXPECT_TRUE(valid_pci_addr("0000:00:01.0"));
	EXPECT_TRUE(valid_pci_addr("abcd:EF:1f.7"));
}

TEST(VfioOpen, GroupPathReadsZdevCapsAndClosesEverything)
{
	fake_sys s;
	s.zpci_caps_default();
	{
		auto r = query_device(ADDR, opts(s));
		ASSERT_TRUE(r) << r.error().message();
		const device_info &i = *r;
		EXPECT_EQ(i.access, "group 7");
		EXPECT_EQ(i.pci_addr, ADDR);
		EXPECT_EQ(i.num_regions, 10u);
		EXPECT_EQ(i.num_irqs, 5u);
		ASSERT_TRUE(i.zdev.has_base);
		EXPECT_EQ(i.zdev.base_version, 2);
		EXPECT_TRUE(i.zdev.has_fh);
		EXPECT_EQ(i.zdev.fh, 0x80000123u);
		EXPECT_EQ(i.zdev.pchid, 0x1c0);
		EXPECT_EQ(i.zdev.vfn, 3);
		EXPECT_EQ(i.zdev.gid, 2);
		EXPECT_EQ(i.zdev.start_dma, 0x1000u);
		EXPECT_EQ(i.zdev.end_dma, 0xffffffffu);
		ASSERT_TRUE(i.zdev.has_group);
		EXPECT_EQ(i.zdev.maxstbl, 128);
		EXPECT_TRUE(i.zdev.has_imaxstbl);
		EXPECT_EQ(i.zdev.imaxstbl, 4096);
		ASSERT_TRUE(i.zdev.has_util);
		EXPECT_EQ(i.zdev.util, (std::vector<std::uint8_t>{0xc1, 0xc2, 0xc3, 0xc4}));
		ASSERT_TRUE(i.zdev.has_pfip);
		EXPECT_EQ(i.zdev.pfip, (std::vector<std::uint8_t>{0xaa, 0x55}));
		EXPECT_EQ(i.bars[0].size, 0x4000u);
		EXPECT_EQ(i.bars[1].size, 0u);
		EXPECT_EQ(i.bars[2].offset, 2 * REGION_STRIDE);
		EXPECT_TRUE(i.io_feature);
		ASSERT_TRUE(i.io);
		EXPECT_FALSE(i.io_error);
		EXPECT_EQ(i.io->fid, 0x10u);
	}
	EXPECT_EQ(s.opened["/dev/vfio/vfio"], 1);
	EXPECT_EQ(s.opened["/dev/vfio/7"], 1);
	EXPECT_EQ(s.ioctls[VFIO_SET_IOMMU], 1);
	EXPECT_EQ(s.open_fds, 0) << "file descriptors leaked";
}

TEST(VfioOpen, GrowAndRetryUsesTheSizeTheKernelAsks)
{
	fake_sys s;
	s.zpci_caps_default();
	auto r = query_device(ADDR, opts(s));
	ASSERT_TRUE(r);
	// First call with the bare struct, second with room for the chain.
	EXPECT_EQ(s.ioctls[VFIO_DEVICE_GET_INFO], 2);
	EXPECT_TRUE(r->zdev.has_pfip);
}

TEST(VfioOpen, NoCapsMeansNoZdevInfo)
{
	fake_sys s;
	auto r = query_device(ADDR, opts(s));
	ASSERT_TRUE(r);
	EXPECT_FALSE(r->zdev.has_base);
	EXPECT_FALSE(r->zdev.has_group);
	EXPECT_EQ(s.ioctls[VFIO_DEVICE_GET_INFO], 1);
}

TEST(VfioOpen, EintrOnIoctlIsRetried)
{
	fake_sys s;
	s.zpci_caps_default();
	s.ioctl_fail[VFIO_DEVICE_GET_INFO] = {-EINTR, -EINTR};
	s.ioctl_fail[VFIO_GROUP_GET_DEVICE_FD] = {-EINTR};
	auto r = query_device(ADDR, opts(s));
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_TRUE(r->zdev.has_group);
}

TEST(VfioOpen, IoctlErrorsPropagateAndNothingLeaks)
{
	fake_sys s;
	s.ioctl_fail[VFIO_DEVICE_GET_REGION_INFO] = {-EIO};
	auto r = query_device(ADDR, opts(s));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::io_error);
	EXPECT_EQ(s.open_fds, 0);
}

TEST(VfioOpen, GroupNotViableIsBusy)
{
	fake_sys s;
	s.viable = false;
	auto r = open_bar_device(ADDR, opts(s));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::device_or_resource_busy);
	EXPECT_EQ(s.open_fds, 0);
}

TEST(VfioOpen, PermissionDeniedOnContainer)
{
	fake_sys s;
	s.denied.insert("/dev/vfio/vfio");
	auto r = open_bar_device(ADDR, opts(s));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::permission_denied);
}

TEST(VfioOpen, UnknownDeviceHasNoIommuGroup)
{
	fake_sys s;
	auto r = open_bar_device("0000:00:02.0", opts(s));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::no_such_file_or_directory);
	EXPECT_TRUE(s.opened.empty());
}

TEST(VfioOpen, CdevPathBindsAndAttaches)
{
	fake_sys s;
	s.enable_cdev();
	s.has_group = false;
	auto r = query_device(ADDR, opts(s, access_mode::automatic));
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(r->access, "cdev /dev/vfio/devices/vfio3");
	EXPECT_GE(s.bind_iommufd, 100);
	EXPECT_EQ(s.attach_pt, 42u);
	EXPECT_EQ(s.opened.count("/dev/vfio/vfio"), 0u);
	EXPECT_EQ(s.open_fds, 0);
}

TEST(VfioOpen, CdevFailureFallsBackToGroup)
{
	fake_sys s;
	s.enable_cdev();
	s.ioctl_fail[_IO(VFIO_TYPE, VFIO_BASE + 18)] = {-ENOTTY};
	auto r = query_device(ADDR, opts(s, access_mode::automatic));
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(r->access, "group 7");
	EXPECT_EQ(s.open_fds, 0);

	// Forced cdev mode reports the cdev error instead.
	fake_sys s2;
	s2.enable_cdev();
	s2.ioctl_fail[_IO(VFIO_TYPE, VFIO_BASE + 18)] = {-ENOTTY};
	auto r2 = query_device(ADDR, opts(s2, access_mode::cdev));
	ASSERT_FALSE(r2);
	EXPECT_EQ(r2.error(), std::errc::inappropriate_io_control_operation);
	EXPECT_EQ(s2.open_fds, 0);
}

// --- bad payloads ---

TEST(VfioPayload, InfoThatNeverStopsGrowingIsRefused)
{
	fake_sys s;
	s.grow_forever = true;
	auto r = query_device(ADDR, opts(s));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::protocol_error);
	EXPECT_LE(s.ioctls[VFIO_DEVICE_GET_INFO], 4);
}

TEST(VfioPayload, CapChainPointingBackwardsIsRefused)
{
	fake_sys s;
	s.zpci_caps_default();
	// Make the second capability's next point at the first one.
	auto &b = s.dev_caps;
	vfio_info_cap_header h0, h1;
	std::memcpy(&h0, b.data(), sizeof(h0));
	std::size_t off1 = h0.next - sizeof(vfio_device_info);
	std::memcpy(&h1, b.data() + off1, sizeof(h1));
	h1.next = sizeof(vfio_device_info);
	std::memcpy(b.data() + off1, &h1, sizeof(h1));
	auto r = query_device(ADDR, opts(s));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::protocol_error);
	EXPECT_EQ(s.open_fds, 0);
}

TEST(VfioPayload, CapBeyondTheBufferIsRefused)
{
	fake_sys s;
	s.zpci_caps_default();
	vfio_info_cap_header h0;
	std::memcpy(&h0, s.dev_caps.data(), sizeof(h0));
	h0.next = 0x8000;
	std::memcpy(s.dev_caps.data(), &h0, sizeof(h0));
	auto r = query_device(ADDR, opts(s));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::protocol_error);
}

TEST(VfioPayload, UtilStringLongerThanItsCapIsRefused)
{
	fake_sys s;
	cap_chain c(sizeof(vfio_device_info));
	struct {
		vfio_info_cap_header header;
		__u32 size;
		__u8 s[4];
	} u{};
	u.size = 200;
	c.add(u, VFIO_DEVICE_INFO_CAP_ZPCI_UTIL, 1);
	s.dev_caps = c.bytes();
	auto r = query_device(ADDR, opts(s));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::protocol_error);
}

TEST(VfioPayload, TruncatedBaseCapIsRefused)
{
	fake_sys s;
	cap_chain c(sizeof(vfio_device_info));
	vfio_device_info_cap_zpci_base b{};
	c.add(b, VFIO_DEVICE_INFO_CAP_ZPCI_BASE, 1, 12);
	s.dev_caps = c.bytes();
	auto r = query_device(ADDR, opts(s));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::protocol_error);
}

TEST(VfioPayload, VersionOneCapsHaveNoFhNorImaxstbl)
{
	fake_sys s;
	cap_chain c(sizeof(vfio_device_info));
	vfio_device_info_cap_zpci_base b{};
	b.pft = 5;
	c.add(b, VFIO_DEVICE_INFO_CAP_ZPCI_BASE, 1,
	      offsetof(vfio_device_info_cap_zpci_base, fh));
	vfio_device_info_cap_zpci_group g{};
	g.maxstbl = 128;
	c.add(g, VFIO_DEVICE_INFO_CAP_ZPCI_GROUP, 1,
	      offsetof(vfio_device_info_cap_zpci_group, version) + 1);
	s.dev_caps = c.bytes();
	auto r = query_device(ADDR, opts(s));
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_TRUE(r->zdev.has_base);
	EXPECT_FALSE(r->zdev.has_fh);
	EXPECT_EQ(r->zdev.pft, 5);
	EXPECT_TRUE(r->zdev.has_group);
	EXPECT_FALSE(r->zdev.has_imaxstbl);
	EXPECT_EQ(r->zdev.maxstbl, 128);
}

TEST(VfioPayload, RegionInfoForAnotherIndexIsRefused)
{
	fake_sys s;
	s.wrong_region_index = true;
	auto r = query_device(ADDR, opts(s));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::protocol_error);
}

// --- the zpci_io device feature and the version handshake ---

TEST(VfioFeature, CapsComeFromTheInfoAndTheBaseCap)
{
	fake_sys s;
	s.zpci_caps_default(ZPCI_PFT_ISM);
	s.io.flags = ZPCI_IO_INFO_RELAXED;
	s.io.pcistg_mask = 0x4;
	s.io.max_ops = 8;
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d) << d.error().message();
	const zpci_caps &c = (*d)->caps();
	EXPECT_EQ(c.maxstbl, 4096u);
	EXPECT_EQ(c.flags, ZPCI_CAPS_RELAXED);
	EXPECT_EQ(c.bar_mask, 0x5);
	EXPECT_EQ(c.pcistg_mask, 0x4);
	// ABI 3 does not repeat the function type: the BASE capability's.
	EXPECT_EQ(c.pft, ZPCI_PFT_ISM);
	EXPECT_EQ(c.bar_size[0], 0x4000u);
	EXPECT_EQ(c.bar_size[1], 0u);
	EXPECT_EQ((*d)->max_ops(), 8u);
	// PROBE, then GET: nothing else was asked of the feature.
	EXPECT_EQ(s.ioctls[VFIO_DEVICE_FEATURE], 2);
}

TEST(VfioFeature, NoFeatureIsEnodevAndTheFallbackStillOpens)
{
	fake_sys s;
	s.has_feature = false;
	s.add_old_region(0x12345678);	// another vendor's region is nothing
	auto q = query_device(ADDR, opts(s));
	ASSERT_TRUE(q);
	EXPECT_FALSE(q->io_feature);
	EXPECT_FALSE(q->io_legacy_region);
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::no_such_device);
	auto b = open_bar_device(ADDR, opts(s));
	EXPECT_TRUE(b) << b.error().message();
}

TEST(VfioFeature, DriverOfAbiTwoWithItsRegionIsTooOld)
{
	fake_sys s;
	s.has_feature = false;
	s.add_old_region();
	auto q = query_device(ADDR, opts(s));
	ASSERT_TRUE(q);
	EXPECT_TRUE(q->io_legacy_region);
	EXPECT_EQ(q->io_error, std::errc::protocol_error);
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::protocol_error);
}

TEST(VfioFeature, DriverTooOldIsRefused)
{
	fake_sys s;
	s.io.abi_version = ZPCI_IO_ABI_MIN_DRIVER - 1;
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::protocol_error);
	// query_device still shows what the driver said.
	auto q = query_device(ADDR, opts(s));
	ASSERT_TRUE(q);
	ASSERT_TRUE(q->io);
	EXPECT_EQ(q->io->abi_version, ZPCI_IO_ABI_MIN_DRIVER - 1);
	EXPECT_EQ(q->io_error, std::errc::protocol_error);
	EXPECT_EQ(s.open_fds, 0);
}

TEST(VfioFeature, DriverRequiringNewerLibraryIsRefused)
{
	fake_sys s;
	s.io.abi_version = ZPCI_IO_ABI_VERSION + 1;
	s.io.abi_min_compat = ZPCI_IO_ABI_VERSION + 1;
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::protocol_error);
}

TEST(VfioFeature, NewerDriverStillAcceptingUsWorks)
{
	fake_sys s;
	s.io.abi_version = ZPCI_IO_ABI_VERSION + 1;
	s.io.abi_min_compat = ZPCI_IO_ABI_VERSION;
	s.io.req_hdr_size = sizeof(zpci_io_req) + 16;	// knows more fields
	s.io.op_size = sizeof(zpci_io_op) + 8;
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d) << d.error().message();
	// The library sends its own sizes; a newer driver reads them
	// zero-extended (zpci_abi.h).
	alignas(8) std::uint8_t buf[8] = {};
	op o = make_op(insn::pcistg, 0, 8, 0, buf);
	ASSERT_TRUE((*d)->submit({&o, 1}, nullptr));
	EXPECT_EQ(s.batches.at(0).hdr.hdr_size, sizeof(zpci_io_req));
	EXPECT_EQ(s.batches.at(0).hdr.op_size, sizeof(zpci_io_op));
}

TEST(VfioFeature, InvalidInfoValuesAreRefused)
{
	for (int which = 0; which < 5; which++) {
		fake_sys s;
		switch (which) {
		case 0: s.io.max_ops = 0; break;
		case 1: s.io.maxstbl = 8; break;
		case 2: s.io.bar_mask = 0x40; break;
		case 3: s.io.argsz = 16; break;
		case 4: s.io.max_req_size = 64; break;
		}
		auto d = open_region_device(ADDR, opts(s));
		ASSERT_FALSE(d) << which;
		EXPECT_EQ(d.error(), std::errc::protocol_error) << which;
	}
}

TEST(VfioFeature, InfoErrorsPropagateAndEintrIsRetried)
{
	fake_sys s;
	s.get_error = -EIO;
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::io_error);
	EXPECT_EQ(s.open_fds, 0);
	fake_sys t;
	t.ioctl_fail[VFIO_DEVICE_FEATURE] = {-EINTR, -EINTR};
	auto e = open_region_device(ADDR, opts(t));
	EXPECT_TRUE(e) << e.error().message();
}

TEST(VfioFeature, InfoShorterThanAbiThreeIsRefused)
{
	// The driver writes min(argsz, its size) and says how much: an info
	// block that ends before reserved[] is not ABI 3.
	fake_sys s;
	s.io.argsz = offsetof(zpci_io_info, reserved) - 8;
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::protocol_error);
	fake_sys t;
	t.io.argsz = offsetof(zpci_io_info, reserved);
	EXPECT_TRUE(open_region_device(ADDR, opts(t)));
}

// --- submit: one request, no pointers ---

TEST(VfioSubmit, OneBatchOneSelfContainedRequest)
{
	fake_sys s;
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	alignas(8) std::uint8_t buf[256];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = static_cast<std::uint8_t>(i * 7 + 1);
	op ops[] = {
		make_op(insn::pcistb, 0, 128, 0x100, buf),
		make_op(insn::pcistg, 2, 8, 0x8, buf + 128),
		make_op(insn::pcilg, 0, 4, 0x4, buf + 136),
		make_op(insn::pcistg, 2, 3, 0x13, buf + 140),
	};
	exec_status st;
	auto r = (*d)->submit(ops, &st);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(*r, 4u);
	EXPECT_EQ(st.done, 4u);
	EXPECT_FALSE(st.error);
	ASSERT_EQ(s.batches.size(), 1u);
	const batch_seen &b = s.batches[0];
	EXPECT_EQ(b.hdr.hdr_size, sizeof(zpci_io_req));
	EXPECT_EQ(b.hdr.op_size, sizeof(zpci_io_op));
	EXPECT_EQ(b.hdr.total_size, b.argsz);
	EXPECT_EQ(b.hdr.nr_ops, 4u);
	EXPECT_EQ(b.hdr.flags, 0u);
	EXPECT_EQ(b.hdr.reserved0, 0u);
	EXPECT_EQ(b.hdr.reserved[0], 0u);
	EXPECT_EQ(b.hdr.reserved[1], 0u);
	const std::uint64_t data_start = sizeof(zpci_io_req) + 4 * sizeof(zpci_io_op);
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(b.ops[i].insn, static_cast<std::uint8_t>(ops[i].kind));
		EXPECT_EQ(b.ops[i].pcias, ops[i].pcias);
		EXPECT_EQ(b.ops[i].flags, 0);
		EXPECT_EQ(b.ops[i].len, ops[i].len);
		EXPECT_EQ(b.ops[i].offset, ops[i].offset);
		EXPECT_EQ(b.ops[i].reserved, 0u);
	}
	// The PCISTB's 128 bytes are in the data area, 8-aligned; the
	// stores of <= 8 bytes carry their bytes inline, big-endian; no
	// pointer of this process is anywhere in the request.
	EXPECT_GE(b.ops[0].data, data_start);
	EXPECT_EQ(b.ops[0].data % 8, 0u);
	EXPECT_EQ(b.bytes(0), std::vector<std::uint8_t>(buf, buf + 128));
	EXPECT_EQ(b.bytes(1), std::vector<std::uint8_t>(buf + 128, buf + 136));
	EXPECT_EQ(b.ops[3].data, (std::uint64_t(buf[140]) << 16) | (buf[141] << 8) | buf[142]);
	EXPECT_EQ(b.hdr.total_size, b.ops[0].data + 128);
	for (std::size_t k = 0; k + 8 <= b.raw.size(); k += 8) {
		std::uint64_t w;
		std::memcpy(&w, b.raw.data() + k, 8);
		EXPECT_NE(w, reinterpret_cast<std::uintptr_t>(buf)) << k;
	}
	// A null status works too; an empty span issues nothing.
	EXPECT_TRUE((*d)->submit(ops, nullptr));
	EXPECT_EQ(*(*d)->submit({}, &st), 0u);
	EXPECT_EQ(s.ioctls[VFIO_DEVICE_FEATURE], 2 + 2);	// PROBE, GET, 2 SETs
}

TEST(VfioSubmit, BlocksNeverCrossFourKiBOfTheRequest)
{
	fake_sys s;
	s.io.max_ops = 16;
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	static std::uint8_t src[3 * 4096];
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = static_cast<std::uint8_t>(i ^ (i >> 8));
	std::vector<op> ops;
	std::uint64_t off = 0;
	for (std::uint32_t len : {4096u, 3000u, 2000u, 16u, 4096u, 1200u}) {
		ops.push_back(make_op(insn::pcistb, 2, len, off, src + (off % 4096)));
		off += 4096;
	}
	ASSERT_TRUE((*d)->submit(ops, nullptr));
	const batch_seen &b = s.batches.at(0);
	for (std::size_t i = 0; i < ops.size(); i++) {
		const zpci_io_op &o = b.ops[i];
		EXPECT_LE(o.data % 4096 + o.len, 4096u) << i;
		EXPECT_EQ(o.data % 8, 0u) << i;
		EXPECT_GE(o.data, sizeof(zpci_io_req) + ops.size() * sizeof(zpci_io_op)) << i;
		const std::uint8_t *want = src + (ops[i].offset % 4096);
		EXPECT_EQ(b.bytes(i), std::vector<std::uint8_t>(want, want + o.len)) << i;
	}
}

TEST(VfioSubmit, LoadsComeBackIntoTheCallersBuffers)
{
	fake_sys s;
	s.driver = [](const batch_seen &b, unsigned char *req) {
		for (std::size_t i = 0; i < b.ops.size(); i++)
			fake_sys::put_value(req, b, i, 0x1122334455667788ULL >> (64 - 8 * b.ops[i].len));
		return 0;
	};
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	std::uint8_t b8[8] = {}, b4[4] = {}, b1[1] = {};
	op ops[] = {make_op(insn::pcilg, 0, 8, 0, b8), make_op(insn::pcilg, 0, 4, 8, b4),
		    make_op(insn::pcilg, 2, 1, 3, b1)};
	ASSERT_TRUE((*d)->submit(ops, nullptr));
	EXPECT_EQ(std::vector<std::uint8_t>(b8, b8 + 8),
		  (std::vector<std::uint8_t>{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}));
	EXPECT_EQ(std::vector<std::uint8_t>(b4, b4 + 4),
		  (std::vector<std::uint8_t>{0x11, 0x22, 0x33, 0x44}));
	EXPECT_EQ(b1[0], 0x11);
}

TEST(VfioSubmit, TooManyOpsIsE2bigWithoutSyscall)
{
	fake_sys s;
	s.io.max_ops = 2;
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	alignas(8) std::uint8_t buf[64] = {};
	std::vector<op> ops(3, make_op(insn::pcistg, 0, 8, 0, buf));
	exec_status st;
	const int before = s.ioctls[VFIO_DEVICE_FEATURE];
	auto r = (*d)->submit(ops, &st);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::argument_list_too_long);
	EXPECT_EQ(st.error, r.error());
	EXPECT_EQ(s.ioctls[VFIO_DEVICE_FEATURE], before);
}

TEST(VfioSubmit, ADriverWithASmallMaxReqSizeGetsSeveralRequests)
{
	fake_sys s;
	s.io.max_req_size = 3 * 4096;	// two 4 KiB blocks per request at most
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d) << d.error().message();
	static std::uint8_t src[4096];
	std::vector<op> ops;
	for (unsigned i = 0; i < 5; i++)
		ops.push_back(make_op(insn::pcistb, 2, 4096, i * 4096ULL, src));
	exec_status st;
	ASSERT_TRUE((*d)->submit(ops, &st));
	EXPECT_EQ(st.done, 5u);
	ASSERT_EQ(s.batches.size(), 3u);
	std::size_t total = 0;
	for (const auto &b : s.batches) {
		EXPECT_LE(b.argsz, s.io.max_req_size);
		total += b.hdr.nr_ops;
	}
	EXPECT_EQ(total, 5u);
}

TEST(VfioSubmit, InstructionFailureCarriesCcAndStatus)
{
	fake_sys s;
	s.driver = [](const batch_seen &, unsigned char *req) {
		zpci_io_status st{};
		st.done = 1;
		st.error = -EIO;
		st.failed = 1;
		st.flags = ZPCI_IO_STATUS_CC_VALID;
		st.cc = 1;
		st.status = ZPCI_ST_IN_ERROR;
		fake_sys::put_status(req, st);
		return -EIO;
	};
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	alignas(8) std::uint8_t buf[64] = {};
	std::vector<op> ops(3, make_op(insn::pcistg, 0, 8, 0, buf));
	exec_status st;
	auto r = (*d)->submit(ops, &st);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::io_error);
	EXPECT_EQ(st.done, 1u);
	EXPECT_TRUE(st.cc_valid);
	EXPECT_EQ(st.cc, 1);
	EXPECT_EQ(st.status, ZPCI_ST_IN_ERROR);
	EXPECT_EQ(st.pgm, 0);
}

TEST(VfioSubmit, LoadsBeforeTheFailedOpStillComeBack)
{
	fake_sys s;
	s.driver = [](const batch_seen &b, unsigned char *req) {
		fake_sys::put_value(req, b, 0, 0xabcdef01);
		zpci_io_status st{};
		st.done = 1;
		st.error = -EIO;
		st.failed = 1;
		st.flags = ZPCI_IO_STATUS_CC_VALID;
		st.cc = 1;
		st.status = ZPCI_ST_INVALID_AS;
		fake_sys::put_status(req, st);
		return -EIO;
	};
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	std::uint8_t a[4] = {}, b[4] = {0x5a, 0x5a, 0x5a, 0x5a};
	op ops[] = {make_op(insn::pcilg, 0, 4, 0, a), make_op(insn::pcilg, 0, 4, 4, b)};
	exec_status st;
	ASSERT_FALSE((*d)->submit(ops, &st));
	EXPECT_EQ(st.done, 1u);
	EXPECT_EQ(std::vector<std::uint8_t>(a, a + 4),
		  (std::vector<std::uint8_t>{0xab, 0xcd, 0xef, 0x01}));
	EXPECT_EQ(b[0], 0x5a) << "the failed load's buffer was written";
}

TEST(VfioSubmit, RuleRefusalCarriesTheRule)
{
	fake_sys s;
	s.driver = [](const batch_seen &, unsigned char *req) {
		zpci_io_status st{};
		st.error = -EINVAL;
		st.rule = ZPCI_RULE_CROSS_4K;
		st.flags = ZPCI_IO_STATUS_REJECTED;
		fake_sys::put_status(req, st);
		return -EINVAL;
	};
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	alignas(8) std::uint8_t buf[64] = {};
	op o = make_op(insn::pcistb, 0, 64, 0xff8, buf);
	exec_status st;
	auto r = (*d)->submit({&o, 1}, &st);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::invalid_argument);
	EXPECT_EQ(st.rule, static_cast<std::uint32_t>(ZPCI_RULE_CROSS_4K));
	EXPECT_FALSE(st.cc_valid);
	EXPECT_EQ(st.done, 0u);
}

TEST(VfioSubmit, EintrBetweenOpsResumesWithTheRest)
{
	fake_sys s;
	int calls = 0;
	s.driver = [&calls](const batch_seen &, unsigned char *req) {
		if (calls++ == 0) {
			zpci_io_status st{};
			st.done = 2;
			st.error = -EINTR;
			fake_sys::put_status(req, st);
			return -EINTR;
		}
		return 0;
	};
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	alignas(8) std::uint8_t buf[64] = {};
	std::vector<op> ops;
	for (unsigned i = 0; i < 4; i++)
		ops.push_back(make_op(insn::pcistg, 0, 8, 8 * i, buf));
	exec_status st;
	auto r = (*d)->submit(ops, &st);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(*r, 4u);
	EXPECT_EQ(st.done, 4u);
	ASSERT_EQ(s.batches.size(), 2u);
	EXPECT_EQ(s.batches[1].hdr.nr_ops, 2u);
	EXPECT_EQ(s.batches[1].ops[0].offset, 16u);
	EXPECT_EQ(s.batches[1].ops[1].offset, 24u);
}

TEST(VfioSubmit, EintrWithoutStatusIsReportedNotRetried)
{
	fake_sys s;
	s.driver = [](const batch_seen &, unsigned char *) { return -EINTR; };
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	alignas(8) std::uint8_t buf[64] = {};
	std::vector<op> ops(2, make_op(insn::pcistg, 0, 8, 0, buf));
	exec_status st;
	auto r = (*d)->submit(ops, &st);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::interrupted);
	EXPECT_EQ(st.done, 0u);
	EXPECT_EQ(s.batches.size(), 1u);
}

TEST(VfioSubmit, EintrWithoutProgressGivesUp)
{
	fake_sys s;
	s.driver = [](const batch_seen &, unsigned char *req) {
		zpci_io_status st{};
		st.error = -EINTR;
		fake_sys::put_status(req, st);
		return -EINTR;
	};
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	alignas(8) std::uint8_t buf[64] = {};
	op o = make_op(insn::pcistg, 0, 8, 0, buf);
	exec_status st;
	auto r = (*d)->submit({&o, 1}, &st);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::interrupted);
	EXPECT_LE(s.batches.size(), 100u);
}

TEST(VfioSubmit, BogusStatusDoneIsNotBelieved)
{
	fake_sys s;
	s.driver = [](const batch_seen &, unsigned char *req) {
		zpci_io_status st{};
		st.done = 99;
		st.error = -EIO;
		fake_sys::put_status(req, st);
		return -EIO;
	};
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	alignas(8) std::uint8_t buf[64] = {};
	std::vector<op> ops(2, make_op(insn::pcistg, 0, 8, 0, buf));
	exec_status st;
	ASSERT_FALSE((*d)->submit(ops, &st));
	EXPECT_EQ(st.done, 0u);
	EXPECT_EQ(st.error, std::errc::io_error);
}

TEST(VfioSubmit, AStaleStatusOfAnEarlierRequestIsNotBelieved)
{
	// The driver writes a status on failure only; a failure without one
	// (EFAULT before anything was read) must not be read with the
	// previous request's status.
	fake_sys s;
	int calls = 0;
	s.driver = [&calls](const batch_seen &, unsigned char *req) {
		if (calls++ == 0) {
			zpci_io_status st{};
			st.done = 1;
			st.error = -EIO;
			st.flags = ZPCI_IO_STATUS_CC_VALID;
			st.cc = 1;
			st.status = ZPCI_ST_IN_ERROR;
			fake_sys::put_status(req, st);
		}
		return -EIO;
	};
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	alignas(8) std::uint8_t buf[8] = {};
	std::vector<op> ops(2, make_op(insn::pcistg, 0, 8, 0, buf));
	exec_status st;
	ASSERT_FALSE((*d)->submit(ops, &st));
	EXPECT_TRUE(st.cc_valid);
	ASSERT_FALSE((*d)->submit(ops, &st));
	EXPECT_FALSE(st.cc_valid);
	EXPECT_EQ(st.done, 0u);
	EXPECT_EQ(st.error, std::errc::io_error);
}

TEST(VfioSubmit, StagedBlockGoesStraightIntoTheRequest)
{
	fake_sys s;
	auto d = open_region_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	for (std::uint32_t len : {4096u, 4000u, 128u, 5u}) {
		s.batches.clear();
		auto *p = static_cast<std::uint8_t *>((*d)->stage_block(len));
		ASSERT_NE(p, nullptr);
		EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 8, 0u);
		for (std::uint32_t i = 0; i < len; i++)
			p[i] = static_cast<std::uint8_t>(i * 3 + len);
		std::vector<std::uint8_t> want(p, p + len);
		exec_status st;
		auto r = (*d)->submit_block(2, 0x1000, len, &st);
		ASSERT_TRUE(r) << len << ": " << r.error().message();
		EXPECT_EQ(st.done, 1u);
		ASSERT_EQ(s.batches.size(), 1u);
		const batch_seen &b = s.batches[0];
		ASSERT_EQ(b.ops.size(), 1u);
		EXPECT_EQ(b.ops[0].insn, ZPCI_IO_OP_PCISTB);
		EXPECT_EQ(b.ops[0].len, len);
		EXPECT_EQ(b.ops[0].offset, 0x1000u);
		EXPECT_EQ(b.bytes(0), want) << len;
		if (len > ZPCI_IO_INLINE_MAX) {
			EXPECT_LE(b.ops[0].data % 4096 + len, 4096u);
			EXPECT_EQ(b.hdr.total_size, b.ops[0].data + len);
		} else {
			EXPECT_EQ(b.hdr.total_size, sizeof(zpci_io_req) + sizeof(zpci_io_op));
		}
	}
	// submit_block() without the matching stage_block() issues nothing.
	s.batches.clear();
	(*d)->stage_block(64);
	EXPECT_FALSE((*d)->submit_block(2, 0, 128, nullptr));
	EXPECT_TRUE(s.batches.empty());
}

// --- the 8-byte fallback ---

TEST(VfioBar, CapsFromZdevAndBarRegions)
{
	fake_sys s;
	s.has_feature = false;
	s.zpci_caps_default();
	auto d = open_bar_device(ADDR, opts(s));
	ASSERT_TRUE(d) << d.error().message();
	const zpci_caps &c = (*d)->caps();
	EXPECT_EQ(c.maxstbl, 128u);
	EXPECT_EQ(c.flags, 0u);
	EXPECT_EQ(c.bar_mask, 0x5);
	EXPECT_EQ(c.pcistg_mask, 0x5);
	EXPECT_EQ(c.bar_size[2], 0x4000u);
	EXPECT_EQ(open_region_device(ADDR, opts(s)).error(), std::errc::no_such_device);
}

TEST(VfioBar, IsmFallbackCapsAreRelaxedWithoutPcistgOnBar0)
{
	fake_sys s;
	s.has_feature = false;
	s.zpci_caps_default(ZPCI_PFT_ISM);
	auto q = query_device(ADDR, opts(s));
	ASSERT_TRUE(q);
	zpci_caps c = fallback_caps(*q);
	EXPECT_EQ(c.flags, ZPCI_CAPS_RELAXED);
	EXPECT_EQ(c.pft, ZPCI_PFT_ISM);
	EXPECT_EQ(c.bar_mask, 0x5);
	EXPECT_EQ(c.pcistg_mask, 0x4);
}

TEST(VfioBar, WithoutZdevCapsDefaultsToMaxstbl128)
{
	fake_sys s;
	s.has_feature = false;
	auto q = query_device(ADDR, opts(s));
	ASSERT_TRUE(q);
	EXPECT_EQ(fallback_caps(*q).maxstbl, 128u);
}

TEST(VfioBar, AccessesAreSingleSmallPreadPwrite)
{
	fake_sys s;
	auto d = open_bar_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	std::uint64_t v = 0x1122334455667788ULL;
	ASSERT_TRUE((*d)->bar_write(2, 0x10, &v, 8));
	ASSERT_EQ(s.bar_writes.size(), 1u);
	EXPECT_EQ(s.bar_writes[0].first, static_cast<off_t>(2 * REGION_STRIDE + 0x10));
	EXPECT_EQ(s.bar_writes[0].second.size(), 8u);
	EXPECT_EQ(std::memcmp(s.bar_writes[0].second.data(), &v, 8), 0);
	std::uint32_t r32 = 0;
	ASSERT_TRUE((*d)->bar_read(0, 0x4, &r32, 4));
	EXPECT_EQ(r32, 0xababababu);
	ASSERT_EQ(s.bar_reads.size(), 1u);
	EXPECT_EQ(s.bar_reads[0].first, static_cast<off_t>(0x4));
}

TEST(VfioBar, BadAccessesAreRefusedBeforeAnySyscall)
{
	fake_sys s;
	auto d = open_bar_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	std::uint8_t b[16] = {};
	EXPECT_EQ((*d)->bar_write(0, 0, b, 9).error(), rule_error(ZPCI_RULE_LEN_RANGE));
	EXPECT_EQ((*d)->bar_write(0, 0, b, 0).error(), rule_error(ZPCI_RULE_LEN_RANGE));
	EXPECT_EQ((*d)->bar_write(0, 6, b, 4).error(), rule_error(ZPCI_RULE_CROSS_8B));
	EXPECT_EQ((*d)->bar_read(0, 0x4000, b, 8).error(), rule_error(ZPCI_RULE_BEYOND_BAR));
	EXPECT_EQ((*d)->bar_read(1, 0, b, 8).error(), rule_error(ZPCI_RULE_PCIAS));
	EXPECT_EQ((*d)->bar_read(15, 0, b, 4).error(), rule_error(ZPCI_RULE_PCIAS));
	EXPECT_EQ((*d)->bar_read(6, 0, b, 4).error(), rule_error(ZPCI_RULE_PCIAS));
	EXPECT_EQ(s.pwrites, 0);
	EXPECT_TRUE(s.bar_reads.empty());
}

TEST(VfioBar, EintrRetriedShortIsEioErrorsPropagate)
{
	fake_sys s;
	auto d = open_bar_device(ADDR, opts(s));
	ASSERT_TRUE(d);
	std::uint64_t v = 1;
	s.pwrite_res = {-EINTR, -EINTR};
	EXPECT_TRUE((*d)->bar_write(0, 0, &v, 8));
	EXPECT_EQ(s.bar_writes.size(), 1u);
	s.pwrite_res = {4};
	EXPECT_EQ((*d)->bar_write(0, 0, &v, 8).error(), std::errc::io_error);
	s.pwrite_res = {-ENODEV};
	EXPECT_EQ((*d)->bar_write(0, 0, &v, 8).error(), std::errc::no_such_device);
	s.pread_res = {-EINTR};
	EXPECT_TRUE((*d)->bar_read(0, 0, &v, 8));
	s.pread_res = {2};
	EXPECT_EQ((*d)->bar_read(0, 0, &v, 8).error(), std::errc::io_error);
	s.pread_res = {-EIO};
	EXPECT_EQ((*d)->bar_read(0, 0, &v, 8).error(), std::errc::io_error);
}

TEST(VfioShare, RegionAndBarDevicesShareOneHandle)
{
	fake_sys s;
	{
		auto d = open_region_device(ADDR, opts(s));
		ASSERT_TRUE(d);
		auto b = open_bar_device(ADDR, opts(s));
		ASSERT_TRUE(b) << b.error().message();
		auto q = query_device(ADDR, opts(s));
		ASSERT_TRUE(q);
		// vfio opens a group once: the second and third open reuse it.
		EXPECT_EQ(s.opened["/dev/vfio/7"], 1);
		EXPECT_EQ(s.opened["/dev/vfio/vfio"], 1);
		d->reset();
		EXPECT_GT(s.open_fds, 0) << "closed while the bar device uses it";
		std::uint64_t v = 7;
		EXPECT_TRUE((*b)->bar_write(0, 0, &v, 8));
	}
	EXPECT_EQ(s.open_fds, 0);
	// Closed for good: the next open opens again.
	auto again = open_bar_device(ADDR, opts(s));
	ASSERT_TRUE(again);
	EXPECT_EQ(s.opened["/dev/vfio/7"], 2);
}

TEST(VfioList, FindsFunctionsBoundToVfioDrivers)
{
	fake_sys s;
	s.dirs["/sys/bus/pci/devices"] = {"0000:00:03.0", "0000:00:01.0",
					  "0000:00:02.0", "junk"};
	s.links["/sys/bus/pci/devices/0000:00:01.0/driver"] = "../../bus/pci/drivers/vfio-pci";
	s.links["/sys/bus/pci/devices/0000:00:02.0/driver"] = "../../bus/pci/drivers/virtio-pci";
	s.links["/sys/bus/pci/devices/0000:00:03.0/driver"] = "../../bus/pci/drivers/zpci_io";
	auto r = list_vfio_functions(s);
	ASSERT_TRUE(r);
	EXPECT_EQ(*r, (std::vector<std::string>{"0000:00:01.0", "0000:00:03.0"}));
}

// --- a real device, when there is one ---

namespace {

std::string real_addr()
{
	if (const char *e = std::getenv("ZPCI_TEST_PCI_ADDR"))
		return e;
	auto l = list_vfio_functions();
	return l && !l->empty() ? l->front() : std::string();
}

} // namespace

TEST(VfioReal, OpensTheBoundFunction)
{
	std::string addr = real_addr();
	if (addr.empty())
		GTEST_SKIP() << "no PCI function bound to vfio (set ZPCI_TEST_PCI_ADDR)";
	auto q = query_device(addr);
	if (!q && (q.error() == std::errc::permission_denied ||
		   q.error() == std::errc::operation_not_permitted))
		GTEST_SKIP() << addr << ": " << q.error().message();
	ASSERT_TRUE(q) << addr << ": " << q.error().message();
	if (!q->zdev.has_base)
		GTEST_SKIP() << addr << " is not a zPCI function";
	auto b = open_bar_device(addr);
	ASSERT_TRUE(b) << b.error().message();
	EXPECT_TRUE(zpci_caps_valid(&(*b)->caps()));
	if (!q->io_feature)
		GTEST_SKIP() << addr << " has no zpci_io feature (zpci_io not bound)";
	ASSERT_FALSE(q->io_error) << q->io_error.message();
	// Both paths of one function at the same time (one vfio handle).
	auto d = open_region_device(addr);
	ASSERT_TRUE(d) << d.error().message();
	EXPECT_GE((*d)->max_ops(), 1u);
	EXPECT_EQ((*d)->max_ops(), q->io->max_ops);
	EXPECT_EQ((*d)->caps().maxstbl, q->io->maxstbl);
}

// Opt-in, because it overwrites device memory: ZPCI_TEST_SCRATCH="bar:off"
// names 4 KiB (off 4 KiB aligned) of a memory BAR the test may clobber.
TEST(VfioReal, DataRoundTripThroughBothPaths)
{
	std::string addr = real_addr();
	const char *scratch = std::getenv("ZPCI_TEST_SCRATCH");
	if (addr.empty() || !scratch)
		GTEST_SKIP() << "set ZPCI_TEST_PCI_ADDR and ZPCI_TEST_SCRATCH=bar:offset";
	char *end = nullptr;
	unsigned bar = static_cast<unsigned>(std::strtoul(scratch, &end, 0));
	ASSERT_TRUE(end && *end == ':') << "ZPCI_TEST_SCRATCH=" << scratch;
	std::uint64_t base = std::strtoull(end + 1, nullptr, 0);
	ASSERT_EQ(base % 4096, 0u);

	auto d = open_region_device(addr);
	if (!d && d.error() == std::errc::no_such_device)
		GTEST_SKIP() << addr << " has no zpci_io feature";
	ASSERT_TRUE(d) << d.error().message();
	auto b = open_bar_device(addr);
	ASSERT_TRUE(b) << b.error().message();
	const zpci_caps &c = (*d)->caps();
	ASSERT_TRUE((c.bar_mask >> bar) & 1) << "BAR " << bar << " not implemented";
	ASSERT_GE(c.bar_size[bar], base + 4096);

	alignas(4096) static std::uint8_t src[4096], dst[4096];
	std::uint32_t seed = static_cast<std::uint32_t>(time(nullptr));
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = static_cast<std::uint8_t>((seed >> (i % 4 * 8)) + i * 7);
	std::uint32_t len = std::min<std::uint32_t>(c.maxstbl, 256) & ~7u;
	ASSERT_GE(len, 16u);
	ASSERT_LE(len / 8, (*d)->max_ops());

	// 1. PCISTB through the feature, PCILG back in one batch.
	op st_op = make_op(insn::pcistb, bar, len, base, src);
	exec_status es;
	auto r = (*d)->submit({&st_op, 1}, &es);
	ASSERT_TRUE(r) << r.error().message() << " rule " << es.rule
		       << " cc " << int(es.cc) << " status " << int(es.status);
	std::vector<op> loads;
	for (std::uint32_t o = 0; o < len; o += 8)
		loads.push_back(make_op(insn::pcilg, bar, 8, base + o, dst + o));
	std::memset(dst, 0, sizeof(dst));
	r = (*d)->submit(loads, &es);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(es.done, loads.size());
	EXPECT_EQ(std::memcmp(src, dst, len), 0) << "PCILG did not read what PCISTB wrote";

	// 2. The fallback path reads the same bytes.
	for (std::uint32_t o = 0; o < len; o += 8) {
		std::uint8_t v[8];
		ASSERT_TRUE((*b)->bar_read(bar, base + o, v, 8));
		ASSERT_EQ(std::memcmp(v, src + o, 8), 0) << "offset " << o;
	}

	// 3. A fallback store is seen by a region load.
	std::uint8_t w[8], back[8] = {};
	for (unsigned i = 0; i < 8; i++)
		w[i] = static_cast<std::uint8_t>(0xa0 + i + seed);
	if ((c.pcistg_mask >> bar) & 1) {
		ASSERT_TRUE((*b)->bar_write(bar, base + len, w, 8));
		op l = make_op(insn::pcilg, bar, 8, base + len, back);
		ASSERT_TRUE((*d)->submit({&l, 1}, &es));
		EXPECT_EQ(std::memcmp(w, back, 8), 0);
	}

	// 4. A batch with an op breaking the rules is refused whole: the
	// valid load before it does not run.
	std::memset(back, 0x5a, sizeof(back));
	op bad[2] = {make_op(insn::pcilg, bar, 8, base, back),
		     make_op(insn::pcistb, bar, 64, base + 4096 - 32, src)};
	r = (*d)->submit(bad, &es);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::invalid_argument);
	EXPECT_EQ(es.rule, static_cast<std::uint32_t>(ZPCI_RULE_CROSS_4K));
	EXPECT_EQ(es.done, 0u);
	for (auto v : back)
		ASSERT_EQ(v, 0x5a) << "an op of a refused batch ran";
}

// Opt-in like the test above: lib's paths over these devices, through the
// spec strings the benchmark uses.  4 KiB with odd length and offset goes
// down the region path and comes back through the fallback path and back.
TEST(VfioReal, LibraryPathsOverTheVfioDevices)
{
	std::string addr = real_addr();
	const char *scratch = std::getenv("ZPCI_TEST_SCRATCH");
	if (addr.empty() || !scratch)
		GTEST_SKIP() << "set ZPCI_TEST_PCI_ADDR and ZPCI_TEST_SCRATCH=bar:offset";
	char *end = nullptr;
	unsigned bar = static_cast<unsigned>(std::strtoul(scratch, &end, 0));
	ASSERT_TRUE(end && *end == ':');
	std::uint64_t base = std::strtoull(end + 1, nullptr, 0);
	auto rp = open_path("region:" + addr);
	if (!rp && rp.error() == std::errc::no_such_device)
		GTEST_SKIP() << addr << " has no zpci_io feature";
	ASSERT_TRUE(rp) << rp.error().message();
	auto fp = open_path("fallback:" + addr);
	ASSERT_TRUE(fp) << fp.error().message();

	static std::uint8_t src[4096], dst[4096];
	std::uint32_t seed = static_cast<std::uint32_t>(time(nullptr));
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = static_cast<std::uint8_t>(i * 13 + seed);
	const std::size_t len = 4096 - 24 - 5;
	exec_status st;
	auto w = (*rp)->write(bar, base + 3, src + 1, len, &st);
	ASSERT_TRUE(w) << w.error().message() << " rule " << st.rule;
	std::memset(dst, 0, sizeof(dst));
	auto r = (*fp)->read(bar, base + 3, dst, len, &st);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(std::memcmp(src + 1, dst, len), 0) << "fallback read != region write";
	std::memset(dst, 0, sizeof(dst));
	r = (*rp)->read(bar, base + 3, dst, len, &st);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(std::memcmp(src + 1, dst, len), 0) << "region read != region write";
	EXPECT_LT((*rp)->stats().calls, (*fp)->stats().calls)
		<< "the region path should need fewer device calls";
}

// --- zpci_borrow_fd(): a device fd the emulator opened itself ---

namespace {

// What an emulator does in group mode, on the fake kernel: group fd, then
// the device fd; returns the device fd (the group stays the caller's).
int emulator_device_fd(const fake_sys &s, int &group_fd)
{
	group_fd = s.open("/dev/vfio/7", O_RDWR);
	std::string name = ADDR;
	return s.ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name.data());
}

} // namespace

TEST(VfioBorrow, FindsTheFeatureAndNeverClosesOrTouchesTheContainer)
{
	fake_sys s;
	s.zpci_caps_default();
	s.io.flags = ZPCI_IO_INFO_MSIX;
	s.io.msix_table_bar = 2;
	s.io.msix_table_offset = 0x1000;
	s.io.msix_table_size = 0x100;
	int gfd = -1;
	int dfd = emulator_device_fd(s, gfd);
	ASSERT_GE(dfd, 0);
	const int fds = s.open_fds;
	const auto ioctls_before = s.ioctls;
	{
		auto d = borrow_region_device(dfd, &s);
		ASSERT_TRUE(d) << d.error().message();
		EXPECT_EQ((*d)->caps().maxstbl, 4096u);
		ASSERT_NE((*d)->io_info(), nullptr);
		EXPECT_EQ((*d)->io_info()->fid, 0x10u);
		EXPECT_EQ((*d)->io_info()->msix_table_offset, 0x1000u);
		// Instructions go through the borrowed fd: one ioctl.
		alignas(8) std::uint8_t buf[64] = {};
		std::vector<op> ops(2, make_op(insn::pcistg, 0, 8, 0, buf));
		auto r = (*d)->submit(ops, nullptr);
		ASSERT_TRUE(r) << r.error().message();
		EXPECT_EQ(s.batches.size(), 1u);
	}
	// The fds are all still open, nothing but device queries was issued.
	EXPECT_EQ(s.open_fds, fds);
	for (unsigned long req : {VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU,
				  VFIO_GROUP_GET_DEVICE_FD, VFIO_CHECK_EXTENSION})
		EXPECT_EQ(s.ioctls[req], ioctls_before.count(req) ? ioctls_before.at(req) : 0)
			<< req;
	EXPECT_EQ(s.opened.count("/dev/vfio/vfio"), 0u);
	EXPECT_EQ(s.close(dfd), 0);	// still ours to close
	EXPECT_EQ(s.close(gfd), 0);
}

TEST(VfioBorrow, NoFeatureIsEnodev)
{
	fake_sys s;
	s.has_feature = false;
	int gfd = -1;
	int dfd = emulator_device_fd(s, gfd);
	const int fds = s.open_fds;
	auto d = borrow_region_device(dfd, &s);
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::no_such_device);
	EXPECT_EQ(s.open_fds, fds);
	// Another vendor's region is not ours either.
	fake_sys o;
	o.has_feature = false;
	o.add_old_region(0x12345678);
	dfd = emulator_device_fd(o, gfd);
	d = borrow_region_device(dfd, &o);
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::no_such_device);
}

TEST(VfioBorrow, OldDriverOrRefusedAbiIsEproto)
{
	// A driver of ABI 1/2: its region, no feature.
	fake_sys s;
	s.has_feature = false;
	s.add_old_region();
	int gfd = -1;
	int dfd = emulator_device_fd(s, gfd);
	auto d = borrow_region_device(dfd, &s);
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::protocol_error);
	// A refused driver ABI too.
	fake_sys o;
	o.io.abi_version = ZPCI_IO_ABI_MIN_DRIVER - 1;
	dfd = emulator_device_fd(o, gfd);
	d = borrow_region_device(dfd, &o);
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::protocol_error);
}

TEST(VfioBorrow, NotAVfioDeviceFd)
{
	fake_sys s;
	auto d = borrow_region_device(-1, &s);
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::bad_file_descriptor);
	d = borrow_region_device(12345, &s);	// the fake knows no such fd
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error(), std::errc::bad_file_descriptor);
	// A real fd that is not a vfio device (the real system calls).
	int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	zpci_handle *h = nullptr;
	EXPECT_EQ(zpci_borrow_fd(fd, 0, &h), -ENOTTY);
	EXPECT_EQ(h, nullptr);
	EXPECT_EQ(::fcntl(fd, F_GETFD), FD_CLOEXEC);	// still open
	::close(fd);
}
