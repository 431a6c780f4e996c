// SPDX-License-Identifier: MIT
#include "vfio_raw.hpp"

#include <cerrno>
#include <climits>
#include <endian.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include <algorithm>

namespace zpci_vm {

namespace {

int fail(std::string *why, const std::string &what, int err)
{
	if (why)
		*why = what + ": " + std::strerror(err);
	return -err;
}

// Where the bytes of a PCISTB longer than 8 bytes go, at or after cur:
// 8-aligned, not across 4 KiB of the request (zpci_abi.h).
std::size_t place(std::size_t cur, std::uint32_t len)
{
	cur = (cur + 7) & ~std::size_t(7);
	if ((cur & 4095) + len > 4096)
		cur = (cur + 4095) & ~std::size_t(4095);
	return cur;
}

bool is_block(const zpci_io_op &o)
{
	return o.insn == ZPCI_IO_OP_PCISTB && o.len > ZPCI_IO_INLINE_MAX;
}

}  // namespace

const std::uint32_t Function::kSet = VFIO_DEVICE_FEATURE_SET;

Function::~Function() { close(); }

void Function::close()
{
	if (dev_ >= 0)
		::close(dev_);
	if (group_ >= 0)
		::close(group_);
	if (container_ >= 0)
		::close(container_);
	dev_ = group_ = container_ = -1;
}

int Function::open(const std::string &addr, std::string *why)
{
	close();
	addr_ = addr;
	std::string link = "/sys/bus/pci/devices/" + addr + "/iommu_group";
	char target[PATH_MAX];
	ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
	if (n < 0)
		return fail(why, "readlink " + link, errno);
	target[n] = 0;
	const char *slash = std::strrchr(target, '/');
	std::string group_path = std::string("/dev/vfio/") + (slash ? slash + 1 : target);

	container_ = ::open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container_ < 0)
		return fail(why, "open /dev/vfio/vfio", errno);
	if (ioctl(container_, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return fail(why, "vfio API version", EPROTO);
	group_ = ::open(group_path.c_str(), O_RDWR | O_CLOEXEC);
	if (group_ < 0)
		return fail(why, "open " + group_path, errno);
	vfio_group_status gs{};
	gs.argsz = sizeof(gs);
	if (ioctl(group_, VFIO_GROUP_GET_STATUS, &gs) < 0)
		return fail(why, "VFIO_GROUP_GET_STATUS", errno);
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return fail(why, "group " + group_path + " not viable", EBUSY);
	if (ioctl(group_, VFIO_GROUP_SET_CONTAINER, &container_) < 0)
		return fail(why, "VFIO_GROUP_SET_CONTAINER", errno);
	if (ioctl(container_, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
	    ioctl(container_, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return fail(why, "VFIO_SET_IOMMU type1", errno);
	dev_ = ioctl(group_, VFIO_GROUP_GET_DEVICE_FD, addr.c_str());
	if (dev_ < 0)
		return fail(why, "VFIO_GROUP_GET_DEVICE_FD " + addr, errno);

	vfio_device_info di{};
	di.argsz = sizeof(di);
	if (ioctl(dev_, VFIO_DEVICE_GET_INFO, &di) < 0)
		return fail(why, "VFIO_DEVICE_GET_INFO", errno);
	num_regions_ = di.num_regions;

	for (unsigned i = 0; i <= VFIO_PCI_CONFIG_REGION_INDEX && i < di.num_regions; i++) {
		vfio_region_info ri{};
		ri.argsz = sizeof(ri);
		ri.index = i;
		if (ioctl(dev_, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
			continue;	// unimplemented BARs report EINVAL
		RegionRange r{ri.offset, ri.size, ri.flags};
		if (i <= VFIO_PCI_BAR5_REGION_INDEX)
			bars_[i] = r;
		else if (i == VFIO_PCI_CONFIG_REGION_INDEX)
			config_ = r;
	}
	// The zpci_io device feature: PROBE for GET and SET.
	alignas(8) std::uint8_t probe[kFeatHdr];
	int err = 0;
	if (feature(VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET,
		    probe, 0, &err) < 0)
		return fail(why, addr + ": no zpci_io device feature (is it bound to zpci_io?)", err);
	{
		std::ifstream in("/sys/bus/pci/devices/" + addr + "/pft");
		unsigned long v = 0;
		std::string s;
		if (in >> s)
			v = std::strtoul(s.c_str(), nullptr, 0);
		pft_ = static_cast<std::uint8_t>(v);
	}
	// A user-space driver turns memory decode on before touching BARs;
	// vfio-pci (and zpci_io, mirroring it) refuse BAR access without it.
	std::uint16_t cmd = 0;
	if (pread(dev_, &cmd, 2, config_.offset + 4) == 2) {
		std::uint16_t le = le16toh(cmd);
		if (!(le & 0x2)) {
			le |= 0x2;
			cmd = htole16(le);
			if (pwrite(dev_, &cmd, 2, config_.offset + 4) != 2)
				return fail(why, "enable memory decode", errno);
		}
	}
	int rc = read_info(&info_);
	if (rc < 0)
		return fail(why, "GET zpci_io_info", -rc);
	return 0;
}

long Function::ioctl_ready(void *buf, int *err) const
{
	int r = ioctl(dev_, VFIO_DEVICE_FEATURE, buf);
	*err = r < 0 ? errno : 0;
	return r;
}

long Function::feature(std::uint32_t flags, void *buf, std::size_t len, int *err) const
{
	vfio_device_feature f{};
	f.argsz = static_cast<__u32>(kFeatHdr + len);
	f.flags = flags | ZPCI_IO_FEATURE;
	std::memcpy(buf, &f, kFeatHdr);
	int r = ioctl(dev_, VFIO_DEVICE_FEATURE, buf);
	*err = r < 0 ? errno : 0;
	return r;
}

int Function::read_info(zpci_io_info *out, std::size_t argsz) const
{
	std::vector<std::uint8_t> buf(kFeatHdr + std::max(argsz, sizeof(*out)), 0);
	int err = 0;
	std::memset(out, 0, sizeof(*out));
	if (feature(VFIO_DEVICE_FEATURE_GET, buf.data(), argsz, &err) < 0)
		return -err;
	std::memcpy(out, buf.data() + kFeatHdr, std::min(argsz, sizeof(*out)));
	if (argsz >= sizeof(*out) && out->argsz < offsetof(zpci_io_info, reserved))
		return -EIO;
	return 0;
}

zpci_caps Function::caps() const
{
	zpci_caps c{};
	c.maxstbl = info_.maxstbl;
	c.flags = (info_.flags & ZPCI_IO_INFO_RELAXED) ? ZPCI_CAPS_RELAXED : 0;
	c.bar_mask = info_.bar_mask;
	c.pcistg_mask = info_.pcistg_mask;
	c.pft = pft_;
	for (int i = 0; i < ZPCI_NUM_BARS; i++)
		c.bar_size[i] = info_.bar_size[i];
	return c;
}

namespace {

int set_trigger_eventfd(int dev, unsigned index, int efd)
{
	alignas(vfio_irq_set) std::uint8_t buf[sizeof(vfio_irq_set) + sizeof(std::int32_t)] = {};
	auto *set = reinterpret_cast<vfio_irq_set *>(buf);
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = 0;
	set->count = 1;
	std::int32_t fd = efd;
	std::memcpy(set->data, &fd, sizeof(fd));
	return ioctl(dev, VFIO_DEVICE_SET_IRQS, set) < 0 ? -errno : 0;
}

}  // namespace

int Function::set_req_eventfd(int efd) const
{
	return set_trigger_eventfd(dev_, VFIO_PCI_REQ_IRQ_INDEX, efd);
}

int Function::set_err_eventfd(int efd) const
{
	return set_trigger_eventfd(dev_, VFIO_PCI_ERR_IRQ_INDEX, efd);
}

int Function::irq_count(unsigned index) const
{
	vfio_irq_info info{};
	info.argsz = sizeof(info);
	info.index = index;
	if (ioctl(dev_, VFIO_DEVICE_GET_IRQ_INFO, &info) < 0)
		return -errno;
	return static_cast<int>(info.count);
}

int Function::region_range(unsigned index, RegionRange *out) const
{
	if (index <= VFIO_PCI_BAR5_REGION_INDEX) {
		*out = bars_[index];
		return 0;
	}
	if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
		*out = config_;
		return 0;
	}
	return -EINVAL;
}

long Function::bar_pwrite(unsigned bar, const void *buf, std::size_t len,
			  std::uint64_t off, int *err) const
{
	ssize_t n = pwrite(dev_, buf, len, bars_[bar].offset + off);
	*err = n < 0 ? errno : 0;
	return n;
}

long Function::bar_pread(unsigned bar, void *buf, std::size_t len,
			 std::uint64_t off, int *err) const
{
	ssize_t n = pread(dev_, buf, len, bars_[bar].offset + off);
	*err = n < 0 ? errno : 0;
	return n;
}

long Function::config_pread(void *buf, std::size_t len, std::uint64_t off,
			    int *err) const
{
	ssize_t n = pread(dev_, buf, len, config_.offset + off);
	*err = n < 0 ? errno : 0;
	return n;
}

Batch::Batch()
{
	hdr_.hdr_size = sizeof(zpci_io_req);
	hdr_.op_size = sizeof(zpci_io_op);
	hdr_.total_size = ~0u;	// build(): the request's size
	hdr_.nr_ops = ~0u;	// build(): the ops added
}

zpci_io_op &Batch::add(std::uint8_t insn, std::uint8_t pcias,
		       std::uint64_t offset, const void *addr, std::uint32_t len)
{
	zpci_io_op o{};
	o.insn = insn;
	o.pcias = pcias;
	o.len = len;
	o.offset = offset;
	const auto *src = static_cast<const std::uint8_t *>(addr);
	std::vector<std::uint8_t> block;
	if (insn == ZPCI_IO_OP_PCILG) {
		o.data = 0;
	} else if (is_block(o)) {
		block.assign(src, src + len);
	} else if (insn == ZPCI_IO_OP_PCISTB || insn == ZPCI_IO_OP_PCISTG) {
		for (std::uint32_t i = 0; i < len && i < 8; i++)
			o.data = o.data << 8 | src[i];
	}
	ops_.push_back(o);
	blocks_.push_back(std::move(block));
	dst_.push_back(insn == ZPCI_IO_OP_PCILG ? const_cast<void *>(addr) : nullptr);
	fixed_.push_back(false);
	block_at_.push_back(0);
	return ops_.back();
}

std::size_t Batch::data_pos(std::size_t i) const
{
	return hdr_.hdr_size + i * hdr_.op_size + offsetof(zpci_io_op, data);
}

std::vector<std::uint8_t> &Batch::build()
{
	const std::size_t hs = hdr_.hdr_size, os = hdr_.op_size, n = ops_.size();
	std::size_t end = hs + n * os;
	for (std::size_t i = 0; i < n; i++) {
		if (!is_block(ops_[i]) || blocks_[i].empty())
			continue;
		std::size_t pos = place(end, ops_[i].len);
		block_at_[i] = pos;
		if (!fixed_[i])
			ops_[i].data = pos;
		end = pos + ops_[i].len;
	}
	size_ = end;
	buf_.assign(kFeatHdr + size_, 0);
	// the feature header too: a built buffer is ready for the ioctl
	vfio_device_feature fh{};
	fh.argsz = static_cast<__u32>(kFeatHdr + size_);
	fh.flags = VFIO_DEVICE_FEATURE_SET | ZPCI_IO_FEATURE;
	std::memcpy(buf_.data(), &fh, kFeatHdr);
	std::uint8_t *r = request();
	zpci_io_req h = hdr_;
	if (h.nr_ops == ~0u)
		h.nr_ops = static_cast<__u32>(n);
	if (h.total_size == ~0u)
		h.total_size = static_cast<__u32>(size_);
	std::memset(&h.status, 0xa5, sizeof(h.status));	// never read by the driver
	std::memcpy(r, &h, std::min(hs, sizeof(h)));
	if (hs > sizeof(h))
		std::memcpy(r + sizeof(h), hdr_tail_.data(),
			    std::min(hdr_tail_.size(), hs - sizeof(h)));
	for (std::size_t i = 0; i < n; i++) {
		std::uint8_t *p = r + hs + i * os;
		std::memcpy(p, &ops_[i], std::min(os, sizeof(zpci_io_op)));
		if (os > sizeof(zpci_io_op))
			std::memcpy(p + sizeof(zpci_io_op), op_tail_.data(),
				    std::min(op_tail_.size(), os - sizeof(zpci_io_op)));
		if (is_block(ops_[i]) && !blocks_[i].empty())
			std::memcpy(r + block_at_[i], blocks_[i].data(), blocks_[i].size());
	}
	return buf_;
}

void Batch::unpack_loads(const std::uint8_t *req, std::size_t n) const
{
	for (std::size_t i = 0; i < n && i < ops_.size(); i++) {
		if (ops_[i].insn != ZPCI_IO_OP_PCILG || !dst_[i] || ops_[i].len > 8)
			continue;
		std::uint64_t v;
		std::memcpy(&v, req + data_pos(i), 8);
		auto *d = static_cast<std::uint8_t *>(dst_[i]);
		for (std::uint32_t k = ops_[i].len; k-- > 0; v >>= 8)
			d[k] = static_cast<std::uint8_t>(v);
	}
}

zpci_io_status status_of(const std::uint8_t *req, bool *written)
{
	zpci_io_status st;
	std::memcpy(&st, req + offsetof(zpci_io_req, status), sizeof(st));
	const auto *b = reinterpret_cast<const std::uint8_t *>(&st);
	bool same = true;
	for (std::size_t i = 0; i < sizeof(st); i++)
		same = same && b[i] == 0xa5;
	*written = !same;
	return st;
}

SubmitResult submit_at(const Function &f, Batch &b, std::uint8_t *buf, std::size_t len)
{
	SubmitResult r;
	r.rc = f.request_raw(buf, len, &r.err);
	std::uint8_t *req = buf + kFeatHdr;
	zpci_io_status st = status_of(req, &r.status_written);
	if (r.status_written)
		r.status = st;
	else if (r.rc == 0)
		r.status.done = static_cast<std::uint32_t>(b.nr_ops());
	std::size_t done = r.rc == 0 ? b.nr_ops() : (r.status_written ? r.status.done : 0);
	b.unpack_loads(req, done);
	return r;
}

SubmitResult submit(const Function &f, Batch &b)
{
	std::vector<std::uint8_t> &buf = b.build();
	return submit_at(f, b, buf.data(), b.size());
}

PinCounters read_pin_counters()
{
	PinCounters p;
	{
		// Folds per-cpu vmstat deltas so the two counters are exact.
		std::ofstream refresh("/proc/sys/vm/stat_refresh");
		if (refresh)
			refresh << "1\n";
	}
	std::ifstream in("/proc/vmstat");
	std::string key;
	std::uint64_t val;
	int seen = 0;
	while (in >> key >> val) {
		if (key == "nr_foll_pin_acquired") {
			p.acquired = val;
			seen |= 1;
		} else if (key == "nr_foll_pin_released") {
			p.released = val;
			seen |= 2;
		}
	}
	p.valid = seen == 3;
	return p;
}

const char *errno_name(int err)
{
	switch (err) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case E2BIG: return "E2BIG";
	case EPROTO: return "EPROTO";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EIO: return "EIO";
	case ENODEV: return "ENODEV";
	case EBUSY: return "EBUSY";
	case EINTR: return "EINTR";
	case ENXIO: return "ENXIO";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	default: return "E?";
	}
}

}  // namespace zpci_vm
