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

namespace zpci_vm {

namespace {

int fail(std::string *why, const std::string &what, int err)
{
	if (why)
		*why = what + ": " + std::strerror(err);
	return -err;
}

// VFIO_DEVICE_GET_REGION_INFO with the grow-and-retry loop for caps.
int region_info(int dev, unsigned index, std::vector<std::uint8_t> *out)
{
	std::vector<std::uint8_t> buf(sizeof(vfio_region_info));
	for (int tries = 0; tries < 4; tries++) {
		auto *ri = reinterpret_cast<vfio_region_info *>(buf.data());
		std::uint32_t want = buf.size();
		std::memset(buf.data(), 0, buf.size());
		ri->argsz = want;
		ri->index = index;
		if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, ri) < 0)
			return -errno;
		if (ri->argsz <= want) {
			*out = std::move(buf);
			return 0;
		}
		buf.resize(ri->argsz);
	}
	return -EOVERFLOW;
}

bool region_is_zpci_io(const std::vector<std::uint8_t> &buf)
{
	auto *ri = reinterpret_cast<const vfio_region_info *>(buf.data());
	if (!(ri->flags & VFIO_REGION_INFO_FLAG_CAPS) || !ri->cap_offset)
		return false;
	std::uint32_t off = ri->cap_offset;
	for (int guard = 0; off && guard < 64; guard++) {
		if (off + sizeof(vfio_info_cap_header) > buf.size())
			return false;
		auto *h = reinterpret_cast<const vfio_info_cap_header *>(buf.data() + off);
		if (h->id == VFIO_REGION_INFO_CAP_TYPE &&
		    off + sizeof(vfio_region_info_cap_type) <= buf.size()) {
			auto *t = reinterpret_cast<const vfio_region_info_cap_type *>(h);
			if (t->type == (VFIO_REGION_TYPE_PCI_VENDOR_TYPE | ZPCI_IO_VENDOR_IBM) &&
			    t->subtype == ZPCI_IO_REGION_SUBTYPE)
				return true;
		}
		off = h->next;
	}
	return false;
}

}  // namespace

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

	bool found = false;
	for (unsigned i = 0; i < di.num_regions; i++) {
		std::vector<std::uint8_t> buf;
		if (region_info(dev_, i, &buf) < 0)
			continue;	// unimplemented BARs report EINVAL
		auto *ri = reinterpret_cast<const vfio_region_info *>(buf.data());
		RegionRange r{ri->offset, ri->size, ri->flags};
		if (i <= VFIO_PCI_BAR5_REGION_INDEX)
			bars_[i] = r;
		else if (i == VFIO_PCI_CONFIG_REGION_INDEX)
			config_ = r;
		else if (i >= VFIO_PCI_NUM_REGIONS && !found && region_is_zpci_io(buf)) {
			io_ = r;
			found = true;
		}
	}
	if (!found)
		return fail(why, addr + ": no zPCI I/O region (is it bound to zpci_io?)", ENOENT);
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
		return fail(why, "read zpci_io_info", -rc);
	return 0;
}

int Function::read_info(zpci_io_info *out) const
{
	std::memset(out, 0, sizeof(*out));
	ssize_t n = pread(dev_, out, sizeof(*out), io_.offset + ZPCI_IO_INFO_OFFSET);
	if (n < 0)
		return -errno;
	if (n < static_cast<ssize_t>(offsetof(zpci_io_info, reserved)))
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
	c.pft = info_.pft;
	for (int i = 0; i < ZPCI_NUM_BARS; i++)
		c.bar_size[i] = info_.bar_size[i];
	return c;
}

long Function::write_raw(const void *buf, std::size_t len, int *err,
			 std::uint64_t region_off) const
{
	ssize_t n = pwrite(dev_, buf, len, io_.offset + region_off);
	*err = n < 0 ? errno : 0;
	return n;
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

Batch::Batch(std::uint64_t status_addr) : buf_(sizeof(zpci_io_batch), 0)
{
	auto &h = header();
	h.abi_version = ZPCI_IO_ABI_VERSION;
	h.op_size = sizeof(zpci_io_op);
	h.status_addr = status_addr;
	h.status_size = status_addr ? sizeof(zpci_io_status) : 0;
}

zpci_io_op &Batch::add(std::uint8_t insn, std::uint8_t pcias,
		       std::uint64_t offset, const void *addr, std::uint32_t len)
{
	buf_.resize(buf_.size() + sizeof(zpci_io_op), 0);
	nr_++;
	header().nr_ops = nr_;
	zpci_io_op &o = op(nr_ - 1);
	o.insn = insn;
	o.pcias = pcias;
	o.len = len;
	o.offset = offset;
	o.addr = reinterpret_cast<std::uintptr_t>(addr);
	return o;
}

zpci_io_op &Batch::op(std::size_t i)
{
	return *reinterpret_cast<zpci_io_op *>(buf_.data() + sizeof(zpci_io_batch) +
					       i * sizeof(zpci_io_op));
}

SubmitResult submit(const Function &f, Batch &b)
{
	SubmitResult r;
	std::memset(&r.status, 0xa5, sizeof(r.status));	// must be overwritten
	b.header().status_addr = reinterpret_cast<std::uintptr_t>(&r.status);
	b.header().status_size = sizeof(r.status);
	r.rc = f.write_raw(b.data(), b.size(), &r.err);
	return r;
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
