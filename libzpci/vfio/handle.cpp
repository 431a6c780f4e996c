// SPDX-License-Identifier: MIT
// Opening a vfio device (iommufd cdev or group/container), the device info
// with its zPCI capabilities, and region info.
#include "vfio.hpp"

#include <fcntl.h>
#include <linux/vfio.h>
#include <linux/vfio_zdev.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace zpci::vfio {

namespace {

// The iommufd-based cdev interface (Linux 6.6+).  Bookworm's uapi headers
// predate it, so the few definitions needed live here under our own names.
struct cdev_bind {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
struct cdev_attach {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
struct ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
constexpr unsigned long CDEV_BIND = _IO(VFIO_TYPE, VFIO_BASE + 18);
constexpr unsigned long CDEV_ATTACH = _IO(VFIO_TYPE, VFIO_BASE + 19);
constexpr unsigned long IOAS_ALLOC = _IO(';', 0x81);

// A vfio info reply larger than this is not believed (bad payload).
constexpr std::size_t MAX_INFO_SIZE = 64 * 1024;
constexpr int MAX_EINTR = 100;

int ioctl_retry(const sys_ops &sys, int fd, unsigned long req, void *arg) noexcept
{
	int r;
	int n = 0;
	do
		r = sys.ioctl(fd, req, arg);
	while (r == -EINTR && ++n < MAX_EINTR);
	return r;
}

int open_retry(const sys_ops &sys, const char *path, int flags) noexcept
{
	int r;
	int n = 0;
	do
		r = sys.open(path, flags);
	while (r == -EINTR && ++n < MAX_EINTR);
	return r;
}

std::error_code bad_payload() noexcept
{
	return std::make_error_code(std::errc::protocol_error);
}

std::string sysfs_dev(std::string_view addr, const char *leaf)
{
	std::string p = "/sys/bus/pci/devices/";
	p.append(addr);
	if (leaf && *leaf) {
		p += '/';
		p += leaf;
	}
	return p;
}

// A buffer for variable-size vfio info structs, 8-byte aligned.
class info_buf {
public:
	result<void> resize(std::size_t bytes) noexcept
	{
		try {
			words_.assign((bytes + 7) / 8, 0);
		} catch (...) {
			return std::unexpected(sys_error(ENOMEM));
		}
		return {};
	}
	std::size_t size() const noexcept { return words_.size() * 8; }
	void *data() noexcept { return words_.data(); }
	const unsigned char *bytes() const noexcept
	{
		return reinterpret_cast<const unsigned char *>(words_.data());
	}
	template <class T> T *as() noexcept { return static_cast<T *>(data()); }

private:
	std::vector<std::uint64_t> words_;
};

// The grow-and-retry loop shared by VFIO_DEVICE_GET_INFO and
// VFIO_DEVICE_GET_REGION_INFO: argsz in, the size the kernel wants out.
// prepare() fills the fixed part before every call.  Returns the number of
// valid bytes.
template <class T, class Prep>
result<std::size_t> get_info_loop(const sys_ops &sys, int fd, unsigned long req,
				   info_buf &buf, Prep prepare) noexcept
{
	std::size_t want = sizeof(T);
	for (int attempt = 0; attempt < 4; attempt++) {
		if (auto r = buf.resize(want); !r)
			return std::unexpected(r.error());
		T *t = buf.as<T>();
		prepare(*t);
		t->argsz = static_cast<__u32>(buf.size());
		int rc = ioctl_retry(sys, fd, req, buf.data());
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		if (t->argsz < offsetof(T, argsz) + sizeof(t->argsz))
			return std::unexpected(bad_payload());
		if (t->argsz <= buf.size())
			return static_cast<std::size_t>(t->argsz);
		// The kernel needs more room for the capability chain.
		if (t->argsz > MAX_INFO_SIZE)
			return std::unexpected(bad_payload());
		want = t->argsz;
	}
	// Still growing after several rounds: not a believable reply.
	return std::unexpected(bad_payload());
}

// Walk a capability chain starting at first inside [0, valid); call
// visit(id, version, offset, length) for each.  Offsets must move forward,
// stay 4-byte aligned and keep each header inside the buffer.
template <class Visit>
result<void> walk_caps(const unsigned char *base, std::size_t fixed,
		       std::size_t valid, std::uint32_t first, Visit visit) noexcept
{
	std::size_t off = first;
	int count = 0;
	while (off) {
		if (off < fixed || off % 4 ||
		    off + sizeof(vfio_info_cap_header) > valid || ++count > 64)
			return std::unexpected(bad_payload());
		vfio_info_cap_header h;
		std::memcpy(&h, base + off, sizeof(h));
		if (h.next && h.next <= off)
			return std::unexpected(bad_payload());
		std::size_t end = h.next ? std::min<std::size_t>(h.next, valid) : valid;
		if (auto r = visit(h.id, h.version, off, end - off); !r)
			return r;
		off = h.next;
	}
	return {};
}

template <class T>
bool cap_fits(std::size_t len, std::size_t need = sizeof(T)) noexcept
{
	return len >= need;
}

result<void> parse_zdev_cap(zdev_caps &z, const unsigned char *p,
			    std::uint16_t id, std::uint16_t version,
			    std::size_t len) noexcept
{
	try {
		switch (id) {
		case VFIO_DEVICE_INFO_CAP_ZPCI_BASE: {
			vfio_device_info_cap_zpci_base b{};
			const std::size_t v1 = offsetof(vfio_device_info_cap_zpci_base, fh);
			if (len < v1)
				return std::unexpected(bad_payload());
			std::memcpy(&b, p, std::min(len, sizeof(b)));
			z.has_base = true;
			z.base_version = version;
			z.start_dma = b.start_dma;
			z.end_dma = b.end_dma;
			z.pchid = b.pchid;
			z.vfn = b.vfn;
			z.fmb_length = b.fmb_length;
			z.pft = b.pft;
			z.gid = b.gid;
			z.has_fh = version >= 2 && len >= offsetof(vfio_device_info_cap_zpci_base, fh) + 4;
			z.fh = z.has_fh ? b.fh : 0;
			break;
		}
		case VFIO_DEVICE_INFO_CAP_ZPCI_GROUP: {
			vfio_device_info_cap_zpci_group g{};
			const std::size_t v1 = offsetof(vfio_device_info_cap_zpci_group, version) + 1;
			if (len < v1)
				return std::unexpected(bad_payload());
			std::memcpy(&g, p, std::min(len, sizeof(g)));
			z.has_group = true;
			z.group_version = version;
			z.dasm = g.dasm;
			z.msi_addr = g.msi_addr;
			z.group_flags = g.flags;
			z.mui = g.mui;
			z.noi = g.noi;
			z.maxstbl = g.maxstbl;
			z.pci_version = g.version;
			z.has_imaxstbl = version >= 2 &&
				len >= offsetof(vfio_device_info_cap_zpci_group, imaxstbl) + 2;
			z.imaxstbl = z.has_imaxstbl ? g.imaxstbl : 0;
			break;
		}
		case VFIO_DEVICE_INFO_CAP_ZPCI_UTIL:
		case VFIO_DEVICE_INFO_CAP_ZPCI_PFIP: {
			// header + __u32 size + size bytes
			const std::size_t hdr = sizeof(vfio_info_cap_header) + 4;
			if (len < hdr)
				return std::unexpected(bad_payload());
			std::uint32_t n;
			std::memcpy(&n, p + sizeof(vfio_info_cap_header), 4);
			if (n > len - hdr)
				return std::unexpected(bad_payload());
			std::vector<std::uint8_t> v(p + hdr, p + hdr + n);
			if (id == VFIO_DEVICE_INFO_CAP_ZPCI_UTIL) {
				z.has_util = true;
				z.util = std::move(v);
			} else {
				z.has_pfip = true;
				z.pfip = std::move(v);
			}
			break;
		}
		default:
			break;	// capabilities of other kinds are not ours
		}
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
	return {};
}

access_mode env_mode() noexcept
{
	const char *e = std::getenv("ZPCI_VFIO_ACCESS");
	if (e && !std::strcmp(e, "group"))
		return access_mode::group;
	if (e && !std::strcmp(e, "cdev"))
		return access_mode::cdev;
	return access_mode::automatic;
}

} // namespace

bool valid_pci_addr(std::string_view a) noexcept
{
	// dddd:bb:dd.f
	if (a.size() != 12 || a[4] != ':' || a[7] != ':' || a[10] != '.')
		return false;
	for (std::size_t i = 0; i < a.size(); i++) {
		if (i == 4 || i == 7 || i == 10)
			continue;
		char c = a[i];
		bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			   (c >= 'A' && c <= 'F');
		if (!hex)
			return false;
	}
	return a[11] >= '0' && a[11] <= '7';
}

result<void> vfio_handle::open_group(std::string_view addr) noexcept
{
	try {
		std::string link;
		int rc = sys_->readlink(sysfs_dev(addr, "iommu_group").c_str(), link);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		std::string grp = link.substr(link.rfind('/') + 1);
		if (grp.empty() || grp.find_first_not_of("0123456789") != std::string::npos)
			return std::unexpected(bad_payload());

		rc = open_retry(*sys_, "/dev/vfio/vfio", O_RDWR);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		container_ = unique_fd(sys_, rc);
		rc = ioctl_retry(*sys_, container_.get(), VFIO_GET_API_VERSION, nullptr);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		if (rc != VFIO_API_VERSION)
			return std::unexpected(bad_payload());

		// A no-IOMMU group has its own node name.
		std::string path = "/dev/vfio/" + grp;
		bool noiommu = false;
		if (sys_->access(path.c_str()) < 0 &&
		    sys_->access(("/dev/vfio/noiommu-" + grp).c_str()) == 0) {
			path = "/dev/vfio/noiommu-" + grp;
			noiommu = true;
		}
		rc = open_retry(*sys_, path.c_str(), O_RDWR);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		group_ = unique_fd(sys_, rc);

		vfio_group_status gs{};
		gs.argsz = sizeof(gs);
		rc = ioctl_retry(*sys_, group_.get(), VFIO_GROUP_GET_STATUS, &gs);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		// Not viable: another device of the group is bound to a host driver.
		if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
			return std::unexpected(sys_error(EBUSY));

		int cfd = container_.get();
		rc = ioctl_retry(*sys_, group_.get(), VFIO_GROUP_SET_CONTAINER, &cfd);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));

		unsigned long types[] = {VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU};
		unsigned long type = 0;
		if (noiommu) {
			type = VFIO_NOIOMMU_IOMMU;
		} else {
			for (unsigned long t : types) {
				rc = ioctl_retry(*sys_, container_.get(),
						 VFIO_CHECK_EXTENSION,
						 reinterpret_cast<void *>(t));
				if (rc > 0) {
					type = t;
					break;
				}
			}
			if (!type)
				return std::unexpected(sys_error(ENOTSUP));
		}
		rc = ioctl_retry(*sys_, container_.get(), VFIO_SET_IOMMU,
				 reinterpret_cast<void *>(type));
		if (rc < 0)
			return std::unexpected(neg_errno(rc));

		std::string name(addr);
		rc = ioctl_retry(*sys_, group_.get(), VFIO_GROUP_GET_DEVICE_FD,
				 name.data());
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		device_ = unique_fd(sys_, rc);
		access_ = (noiommu ? "noiommu group " : "group ") + grp;
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
	return {};
}

result<void> vfio_handle::open_cdev(std::string_view addr) noexcept
{
	try {
		std::vector<std::string> names;
		int rc = sys_->list_dir(sysfs_dev(addr, "vfio-dev").c_str(), names);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		std::string node;
		for (auto &n : names)
			if (n.rfind("vfio", 0) == 0 &&
			    n.size() > 4 &&
			    n.find_first_not_of("0123456789", 4) == std::string::npos)
				node = n;
		if (node.empty())
			return std::unexpected(sys_error(ENOENT));

		rc = open_retry(*sys_, "/dev/iommu", O_RDWR);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		iommufd_ = unique_fd(sys_, rc);
		ioas_alloc ioas{};
		ioas.size = sizeof(ioas);
		rc = ioctl_retry(*sys_, iommufd_.get(), IOAS_ALLOC, &ioas);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));

		std::string path = "/dev/vfio/devices/" + node;
		rc = open_retry(*sys_, path.c_str(), O_RDWR);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		device_ = unique_fd(sys_, rc);

		cdev_bind bind{};
		bind.argsz = sizeof(bind);
		bind.iommufd = iommufd_.get();
		rc = ioctl_retry(*sys_, device_.get(), CDEV_BIND, &bind);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		cdev_attach att{};
		att.argsz = sizeof(att);
		att.pt_id = ioas.out_ioas_id;
		rc = ioctl_retry(*sys_, device_.get(), CDEV_ATTACH, &att);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		access_ = "cdev " + path;
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
	return {};
}

result<vfio_handle> vfio_handle::open(std::string_view addr,
				      const open_options &opt) noexcept
{
	if (!valid_pci_addr(addr))
		return std::unexpected(make_error_code(errc::bad_argument));
	const sys_ops &sys = opt.sys ? *opt.sys : real_sys();
	access_mode mode = opt.mode;
	if (mode == access_mode::automatic)
		mode = env_mode();

	vfio_handle h;
	h.sys_ = &sys;
	std::error_code cdev_err;
	bool cdev_tried = false;
	if (mode != access_mode::group) {
		bool avail = false;
		try {
			avail = sys.access(sysfs_dev(addr, "vfio-dev").c_str()) == 0 &&
				sys.access("/dev/iommu") == 0;
		} catch (...) {
			return std::unexpected(sys_error(ENOMEM));
		}
		if (avail || mode == access_mode::cdev) {
			cdev_tried = true;
			auto r = h.open_cdev(addr);
			if (r)
				return h;
			cdev_err = r.error();
			h.device_.reset();
			h.iommufd_.reset();
			if (mode == access_mode::cdev)
				return std::unexpected(cdev_err);
		}
	}
	auto r = h.open_group(addr);
	if (r)
		return h;
	// Both failed: the group's "no such file" says less than the cdev error.
	if (cdev_tried && r.error() == std::errc::no_such_file_or_directory)
		return std::unexpected(cdev_err);
	return std::unexpected(r.error());
}

vfio_handle vfio_handle::borrow(int device_fd, const sys_ops *sys) noexcept
{
	vfio_handle h;
	h.sys_ = sys ? sys : &real_sys();
	// No sys_ops in the unique_fd: it never closes the caller's fd.
	h.device_ = unique_fd(nullptr, device_fd);
	try {
		h.access_ = "borrowed fd " + std::to_string(device_fd);
	} catch (...) {
		// The description is cosmetic; an empty one is fine.
	}
	return h;
}

result<void> vfio_handle::get_info(device_info &info) const noexcept
{
	info_buf buf;
	auto valid = get_info_loop<vfio_device_info>(
		*sys_, device_.get(), VFIO_DEVICE_GET_INFO, buf,
		[](vfio_device_info &) {});
	if (!valid)
		return std::unexpected(valid.error());
	vfio_device_info di;
	std::memcpy(&di, buf.data(), sizeof(di));
	std::size_t n = std::min(*valid, buf.size());
	if (n < sizeof(di))
		return std::unexpected(bad_payload());
	info.flags = di.flags;
	info.num_regions = di.num_regions;
	info.num_irqs = di.num_irqs;
	info.zdev = zdev_caps{};
	if (!(di.flags & VFIO_DEVICE_FLAGS_CAPS) || !di.cap_offset)
		return {};
	const unsigned char *base = buf.bytes();
	return walk_caps(base, sizeof(di), n, di.cap_offset,
			 [&](std::uint16_t id, std::uint16_t ver, std::size_t off,
			     std::size_t len) {
				 return parse_zdev_cap(info.zdev, base + off, id,
						       ver, len);
			 });
}

result<vfio_handle::region> vfio_handle::get_region(std::uint32_t index) const noexcept
{
	info_buf buf;
	auto valid = get_info_loop<vfio_region_info>(
		*sys_, device_.get(), VFIO_DEVICE_GET_REGION_INFO, buf,
		[index](vfio_region_info &ri) { ri.index = index; });
	if (!valid)
		return std::unexpected(valid.error());
	std::size_t n = std::min(*valid, buf.size());
	vfio_region_info ri;
	if (n < sizeof(ri))
		return std::unexpected(bad_payload());
	std::memcpy(&ri, buf.data(), sizeof(ri));
	if (ri.index != index)
		return std::unexpected(bad_payload());
	region out;
	out.desc.index = index;
	out.desc.flags = ri.flags;
	out.desc.size = ri.size;
	out.desc.offset = ri.offset;
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_CAPS) || !ri.cap_offset)
		return out;
	const unsigned char *base = buf.bytes();
	auto w = walk_caps(base, sizeof(ri), n, ri.cap_offset,
			   [&](std::uint16_t id, std::uint16_t, std::size_t off,
			       std::size_t len) -> result<void> {
				   if (id != VFIO_REGION_INFO_CAP_TYPE)
					   return {};
				   vfio_region_info_cap_type t;
				   if (len < sizeof(t))
					   return std::unexpected(bad_payload());
				   std::memcpy(&t, base + off, sizeof(t));
				   out.has_type = true;
				   out.type = t.type;
				   out.subtype = t.subtype;
				   return {};
			   });
	if (!w)
		return std::unexpected(w.error());
	return out;
}

} // namespace zpci::vfio
