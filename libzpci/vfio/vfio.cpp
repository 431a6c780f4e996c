// SPDX-License-Identifier: MIT
// The region path and the 8-byte fallback path over vfio, and the queries
// `zpci info` uses.
#include "vfio.hpp"

#include <fcntl.h>
#include <linux/vfio.h>

#include <zpci/parse.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <map>
#include <mutex>

namespace zpci::vfio {

namespace {

constexpr int MAX_EINTR = 100;
constexpr std::uint32_t IO_REGION_TYPE =
	VFIO_REGION_TYPE_PCI_VENDOR_TYPE | ZPCI_IO_VENDOR_IBM;
// Bytes of struct zpci_io_info version 1 (everything before reserved[]).
constexpr std::size_t IO_INFO_V1 = offsetof(zpci_io_info, reserved);
// Bytes of struct zpci_io_status the library needs the driver to write.
constexpr std::size_t IO_STATUS_V1 = offsetof(zpci_io_status, reserved0);

std::error_code proto() noexcept
{
	return std::make_error_code(std::errc::protocol_error);
}

// The zPCI I/O region path: one pwrite per batch into a buffer allocated
// once, status written by the driver into st_.
class vfio_region_device final : public zpci::region_device {
public:
	vfio_region_device(std::shared_ptr<vfio_handle> h, const zpci_caps &caps,
			   const zpci_io_info &io, std::uint64_t req_off,
			   std::vector<std::uint64_t> buf) noexcept
		: h_(std::move(h)), caps_(caps), io_(io), req_off_(req_off),
		  buf_(std::move(buf)), st_room_{}
	{
	}

	const zpci_caps &caps() const noexcept override { return caps_; }
	std::uint32_t max_ops() const noexcept override { return io_.max_ops; }
	const zpci_io_info *io_info() const noexcept override { return &io_; }

	result<std::size_t> submit(std::span<const op> ops,
				   exec_status *status) noexcept override
	{
		exec_status local;
		exec_status &es = status ? *status : local;
		es.clear();
		if (ops.empty())
			return 0;
		if (ops.size() > io_.max_ops) {
			es.error = sys_error(E2BIG);
			return std::unexpected(es.error);
		}
		std::size_t base = 0;
		int stalls = 0;
		for (;;) {
			std::span<const op> rest = ops.subspan(base);
			std::size_t bytes = build(rest);
			std::memset(st_room_, 0, sizeof(st_room_));
			ssize_t r = h_->sys().pwrite(h_->fd(), buf_.data(), bytes,
						    static_cast<off_t>(req_off_));
			if (r >= 0 && static_cast<std::size_t>(r) == bytes) {
				es.done = ops.size();
				return ops.size();
			}
			bool st_ok = st_.argsz >= IO_STATUS_V1 &&
				     st_.done <= rest.size();
			if (r >= 0) {
				// Never a silent partial batch.
				es.done = base + (st_ok ? st_.done : 0);
				es.error = sys_error(EIO);
				return std::unexpected(es.error);
			}
			if (r == -EINTR && st_ok && st_.error == -EINTR &&
			    !(st_.flags & ZPCI_IO_STATUS_REJECTED)) {
				// Interrupted between two ops: the first
				// st_.done ran, send the rest.
				if (st_.done == 0 && ++stalls >= MAX_EINTR) {
					es.done = base;
					es.error = sys_error(EINTR);
					return std::unexpected(es.error);
				}
				base += st_.done;
				if (base == ops.size()) {
					es.done = base;
					return base;
				}
				continue;
			}
			es.error = neg_errno(r);
			es.done = base + (st_ok ? st_.done : 0);
			if (st_ok) {
				es.rule = st_.rule;
				if (st_.flags & ZPCI_IO_STATUS_CC_VALID) {
					es.cc_valid = true;
					es.cc = st_.cc;
					es.status = st_.status;
					es.pgm = st_.pgm;
				} else if (st_.flags & ZPCI_IO_STATUS_PGM) {
					// ABI v2: a program exception, no cc
					es.cc_valid = true;
					es.pgm = st_.pgm;
				}
			}
			return std::unexpected(es.error);
		}
	}

private:
	std::size_t build(std::span<const op> ops) noexcept
	{
		auto *p = reinterpret_cast<unsigned char *>(buf_.data());
		zpci_io_batch b{};
		b.abi_version = ZPCI_IO_ABI_VERSION;
		b.nr_ops = static_cast<__u32>(ops.size());
		b.op_size = sizeof(zpci_io_op);
		b.status_addr = reinterpret_cast<std::uintptr_t>(&st_);
		b.status_size = sizeof(st_);
		std::memcpy(p, &b, sizeof(b));
		p += sizeof(b);
		for (const op &o : ops) {
			zpci_io_op w{};
			w.insn = static_cast<__u8>(o.kind);
			w.pcias = o.pcias;
			w.flags = o.flags;
			w.len = o.len;
			w.offset = o.offset;
			w.addr = o.addr;
			std::memcpy(p, &w, sizeof(w));
			p += sizeof(w);
		}
		return sizeof(zpci_io_batch) + ops.size() * sizeof(zpci_io_op);
	}

	std::shared_ptr<vfio_handle> h_;
	zpci_caps caps_;
	zpci_io_info io_;
	std::uint64_t req_off_;
	std::vector<std::uint64_t> buf_;
	// The driver writes its own struct zpci_io_status; a newer driver's may
	// be longer (fields are added at the end), so leave room behind ours.
	union {
		zpci_io_status st_;
		unsigned char st_room_[256];
	};
};

// The fallback path: one pread/pwrite of <= 8 bytes per access.
class vfio_bar_device final : public zpci::bar_device {
public:
	vfio_bar_device(std::shared_ptr<vfio_handle> h, const zpci_caps &caps,
			const std::array<region_desc, ZPCI_NUM_BARS> &bars) noexcept
		: h_(std::move(h)), caps_(caps), bars_(bars)
	{
	}

	const zpci_caps &caps() const noexcept override { return caps_; }

	result<void> bar_write(unsigned bar, std::uint64_t offset, const void *src,
			       std::size_t len) noexcept override
	{
		if (auto r = check(ZPCI_INSN_PCISTG, bar, offset, len); !r)
			return r;
		return xfer(bar, offset, const_cast<void *>(src), len, true);
	}

	result<void> bar_read(unsigned bar, std::uint64_t offset, void *dst,
			      std::size_t len) noexcept override
	{
		if (auto r = check(ZPCI_INSN_PCILG, bar, offset, len); !r)
			return r;
		return xfer(bar, offset, dst, len, false);
	}

private:
	result<void> check(unsigned insn, unsigned bar, std::uint64_t offset,
			   std::size_t len) const noexcept
	{
		// Config space goes through vfio-pci's config region, never here.
		if (bar > ZPCI_PCIAS_BAR_MAX)
			return std::unexpected(rule_error(ZPCI_RULE_PCIAS));
		zpci_verdict v = zpci_check(&caps_, insn, bar, offset, len, 0);
		if (!zpci_verdict_ok(v))
			return std::unexpected(rule_error(v.rule));
		return {};
	}

	result<void> xfer(unsigned bar, std::uint64_t offset, void *buf,
			  std::size_t len, bool write) noexcept
	{
		const off_t off = static_cast<off_t>(bars_[bar].offset + offset);
		for (int n = 0;; n++) {
			ssize_t r = write ? h_->sys().pwrite(h_->fd(), buf, len, off)
					  : h_->sys().pread(h_->fd(), buf, len, off);
			// One access that did not happen: safe to repeat.
			if (r == -EINTR && n < MAX_EINTR)
				continue;
			if (r < 0)
				return std::unexpected(neg_errno(r));
			if (static_cast<std::size_t>(r) != len)
				return std::unexpected(sys_error(EIO));
			return {};
		}
	}

	std::shared_ptr<vfio_handle> h_;
	zpci_caps caps_;
	std::array<region_desc, ZPCI_NUM_BARS> bars_;
};

// vfio lets a group (and a cdev) be opened once: devices of the same
// function in one process share one handle, kept while any device uses it.
result<std::shared_ptr<vfio_handle>> acquire(std::string_view addr,
					     const open_options &opt) noexcept
{
	static std::mutex lock;
	static std::map<std::pair<std::string, const sys_ops *>,
			std::weak_ptr<vfio_handle>> open_handles;
	const sys_ops *sys = opt.sys ? opt.sys : &real_sys();
	try {
		std::lock_guard<std::mutex> g(lock);
		for (auto it = open_handles.begin(); it != open_handles.end();)
			it = it->second.expired() ? open_handles.erase(it) : std::next(it);
		auto key = std::make_pair(std::string(addr), sys);
		if (auto sp = open_handles[key].lock())
			return sp;
		auto h = vfio_handle::open(addr, opt);
		if (!h) {
			open_handles.erase(key);
			return std::unexpected(h.error());
		}
		auto sp = std::make_shared<vfio_handle>(std::move(*h));
		open_handles[key] = sp;
		return sp;
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
}

} // namespace

result<zpci_caps> region_caps(const zpci_io_info &io) noexcept
{
	if (io.argsz < IO_INFO_V1 || io.abi_version < ZPCI_IO_ABI_MIN_DRIVER ||
	    io.abi_min_compat > ZPCI_IO_ABI_VERSION || io.max_ops == 0)
		return std::unexpected(proto());
	zpci_caps c{};
	c.maxstbl = io.maxstbl;
	c.flags = (io.flags & ZPCI_IO_INFO_RELAXED) ? ZPCI_CAPS_RELAXED : 0;
	c.bar_mask = io.bar_mask;
	c.pcistg_mask = io.pcistg_mask & io.bar_mask;
	c.pft = io.pft;
	for (unsigned i = 0; i < ZPCI_NUM_BARS; i++)
		c.bar_size[i] = ((io.bar_mask >> i) & 1) ? io.bar_size[i] : 0;
	if (!zpci_caps_valid(&c))
		return std::unexpected(proto());
	return c;
}

zpci_caps fallback_caps(const device_info &info) noexcept
{
	zpci_caps c{};
	const zdev_caps &z = info.zdev;
	c.maxstbl = 128;
	if (z.has_group && z.maxstbl >= 16 && z.maxstbl <= ZPCI_MAXSTBL_LIMIT)
		c.maxstbl = z.maxstbl;
	c.pft = z.has_base ? z.pft : 0;
	c.flags = c.pft == ZPCI_PFT_ISM ? ZPCI_CAPS_RELAXED : 0;
	for (unsigned i = 0; i < ZPCI_NUM_BARS; i++) {
		const region_desc &b = info.bars[i];
		bool rw = (b.flags & VFIO_REGION_INFO_FLAG_READ) &&
			  (b.flags & VFIO_REGION_INFO_FLAG_WRITE);
		if (b.size && rw) {
			c.bar_mask |= 1U << i;
			c.bar_size[i] = b.size;
		}
	}
	// ISM's DMB space (BAR 0) takes PCISTB only, the same default the
	// zpci_io driver uses.  The fallback path cannot notice a refused
	// store itself: vfio-pci's BAR write drops the instruction's cc
	// (seen in the s390x guest: pwrite returned 8, nothing was stored).
	c.pcistg_mask = c.pft == ZPCI_PFT_ISM ? c.bar_mask & ~1U : c.bar_mask;
	return c;
}

result<device_info> query(vfio_handle &h) noexcept
{
	device_info info;
	try {
		info.access = h.access();
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
	if (auto r = h.get_info(info); !r)
		return std::unexpected(r.error());
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions < VFIO_PCI_NUM_REGIONS)
		return std::unexpected(sys_error(ENODEV));
	for (std::uint32_t i = 0; i < ZPCI_NUM_BARS; i++) {
		auto r = h.get_region(VFIO_PCI_BAR0_REGION_INDEX + i);
		if (!r)
			return std::unexpected(r.error());
		info.bars[i] = r->desc;
	}
	for (std::uint32_t i = VFIO_PCI_NUM_REGIONS; i < info.num_regions; i++) {
		auto r = h.get_region(i);
		if (!r)
			return std::unexpected(r.error());
		if (!r->has_type || r->type != IO_REGION_TYPE ||
		    r->subtype != ZPCI_IO_REGION_SUBTYPE)
			continue;
		info.io_region = r->desc;
		zpci_io_info io{};
		if (r->desc.size < ZPCI_IO_REQ_OFFSET + sizeof(zpci_io_batch) +
					   sizeof(zpci_io_op)) {
			info.io_error = proto();
			break;
		}
		auto rd = h.read_exact(&io, sizeof(io),
				       r->desc.offset + ZPCI_IO_INFO_OFFSET);
		if (!rd) {
			info.io_error = rd.error();
			break;
		}
		info.io = io;
		if (auto c = region_caps(io); !c)
			info.io_error = c.error();
		else if (r->desc.size < ZPCI_IO_REQ_OFFSET + sizeof(zpci_io_batch) +
			 std::uint64_t(io.max_ops) * sizeof(zpci_io_op))
			info.io_error = proto();
		break;
	}
	return info;
}

// The shared handle of a function and what its vfio device reports.
struct opened {
	std::shared_ptr<vfio_handle> h;
	device_info info;
};

result<opened> acquire_and_query(std::string_view pci_addr,
				 const open_options &opt) noexcept
{
	auto h = acquire(pci_addr, opt);
	if (!h)
		return std::unexpected(h.error());
	auto info = query(**h);
	if (!info)
		return std::unexpected(info.error());
	return opened{std::move(*h), std::move(*info)};
}

result<device_info> query_device(std::string_view pci_addr,
				 const open_options &opt) noexcept
{
	auto h = acquire(pci_addr, opt);
	if (!h)
		return std::unexpected(h.error());
	auto info = query(**h);
	if (info) {
		try {
			info->pci_addr = std::string(pci_addr);
		} catch (...) {
			return std::unexpected(sys_error(ENOMEM));
		}
	}
	return info;
}

namespace {

// The region device of an open handle, from what query() found: one
// implementation for the spec-based open and for a borrowed fd.
result<std::unique_ptr<zpci::region_device>>
make_region_device(std::shared_ptr<vfio_handle> h, const device_info &info) noexcept
{
	if (!info.io_region)
		return std::unexpected(sys_error(ENODEV));
	if (info.io_error)
		return std::unexpected(info.io_error);
	auto caps = region_caps(*info.io);
	if (!caps)
		return std::unexpected(caps.error());
	try {
		std::size_t bytes = sizeof(zpci_io_batch) +
				    std::size_t(info.io->max_ops) * sizeof(zpci_io_op);
		std::vector<std::uint64_t> buf((bytes + 7) / 8);
		std::uint64_t req = info.io_region->offset + ZPCI_IO_REQ_OFFSET;
		return std::make_unique<vfio_region_device>(
			std::move(h), *caps, *info.io, req, std::move(buf));
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
}

// A small sysfs attribute through sys_ops (so tests can fake it).
result<std::string> read_attr(const sys_ops &sys, const std::string &path) noexcept
{
	int fd = sys.open(path.c_str(), O_RDONLY);
	if (fd < 0)
		return std::unexpected(neg_errno(fd));
	char buf[64];
	ssize_t n;
	int eintr = 0;
	do
		n = sys.pread(fd, buf, sizeof(buf) - 1, 0);
	while (n == -EINTR && ++eintr < MAX_EINTR);
	sys.close(fd);
	if (n < 0)
		return std::unexpected(neg_errno(n));
	try {
		std::string v(buf, static_cast<std::size_t>(n));
		while (!v.empty() && (v.back() == '\n' || v.back() == ' '))
			v.pop_back();
		return v;
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
}

} // namespace

result<std::unique_ptr<zpci::region_device>>
open_region_device(std::string_view pci_addr, const open_options &opt) noexcept
{
	auto o = acquire_and_query(pci_addr, opt);
	if (!o)
		return std::unexpected(o.error());
	return make_region_device(std::move(o->h), o->info);
}

result<std::unique_ptr<zpci::region_device>>
borrow_region_device(int device_fd, const sys_ops *sys) noexcept
{
	if (device_fd < 0)
		return std::unexpected(sys_error(EBADF));
	std::shared_ptr<vfio_handle> h;
	try {
		h = std::make_shared<vfio_handle>(vfio_handle::borrow(device_fd, sys));
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
	auto info = query(*h);
	if (!info) {
		// "Not a vfio device" is ENOTTY from the kernel; an emulation
		// layer that does not know the ioctl (qemu-user) says ENOSYS.
		// Callers get one answer for both.
		if (info.error() == std::errc::function_not_supported)
			return std::unexpected(sys_error(ENOTTY));
		return std::unexpected(info.error());
	}
	return make_region_device(std::move(h), *info);
}

result<std::string> resolve_function(std::string_view key, const sys_ops &sys,
				     std::string_view sysfs_root) noexcept
{
	const char *attr;
	if (key.starts_with("fid:"))
		attr = "function_id";
	else if (key.starts_with("uid:"))
		attr = "uid";
	else
		return std::unexpected(make_error_code(errc::bad_spec));
	auto want = parse_u64(key.substr(4));
	if (!want || *want > UINT32_MAX)
		return std::unexpected(make_error_code(errc::bad_spec));
	try {
		std::string root(sysfs_root);
		std::vector<std::string> all;
		int rc = sys.list_dir(root.c_str(), all);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		std::sort(all.begin(), all.end());
		std::string found;
		for (const auto &a : all) {
			if (!valid_pci_addr(a))
				continue;
			auto v = read_attr(sys, root + "/" + a + "/" + attr);
			if (!v)
				continue;	// not a zPCI function, or unreadable
			auto n = parse_u64(*v);
			if (!n || *n != *want)
				continue;
			if (!found.empty())
				return std::unexpected(sys_error(EEXIST));
			found = a;
		}
		if (found.empty())
			return std::unexpected(sys_error(ENODEV));
		return found;
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
}

result<std::unique_ptr<zpci::bar_device>>
open_bar_device(std::string_view pci_addr, const open_options &opt) noexcept
{
	auto o = acquire_and_query(pci_addr, opt);
	if (!o)
		return std::unexpected(o.error());
	const device_info &info = o->info;
	// With the driver bound its info is the better source, if acceptable.
	zpci_caps caps = fallback_caps(info);
	if (info.io && !info.io_error) {
		if (auto c = region_caps(*info.io))
			caps = *c;
	}
	if (!zpci_caps_valid(&caps))
		return std::unexpected(proto());
	try {
		return std::make_unique<vfio_bar_device>(o->h, caps,
							 info.bars);
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
}

result<std::vector<std::string>> list_vfio_functions(const sys_ops &sys) noexcept
{
	try {
		std::vector<std::string> all, out;
		int rc = sys.list_dir("/sys/bus/pci/devices", all);
		if (rc < 0)
			return std::unexpected(neg_errno(rc));
		for (const auto &a : all) {
			if (!valid_pci_addr(a))
				continue;
			std::string base = "/sys/bus/pci/devices/" + a;
			std::string drv;
			if (sys.readlink((base + "/driver").c_str(), drv) < 0)
				continue;
			drv = drv.substr(drv.rfind('/') + 1);
			if (drv.rfind("vfio", 0) == 0 || drv == "zpci_io" ||
			    sys.access((base + "/vfio-dev").c_str()) == 0)
				out.push_back(a);
		}
		std::sort(out.begin(), out.end());
		return out;
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
}

// The public entry points use the real system calls.
result<device_info> query_device(std::string_view pci_addr) noexcept
{
	return query_device(pci_addr, open_options{});
}

result<std::unique_ptr<zpci::region_device>>
open_region_device(std::string_view pci_addr) noexcept
{
	return open_region_device(pci_addr, open_options{});
}

result<std::unique_ptr<zpci::bar_device>>
open_bar_device(std::string_view pci_addr) noexcept
{
	return open_bar_device(pci_addr, open_options{});
}

result<std::vector<std::string>> list_vfio_functions() noexcept
{
	return list_vfio_functions(real_sys());
}

result<std::string> resolve_function(std::string_view key) noexcept
{
	return resolve_function(key, real_sys(), "/sys/bus/pci/devices");
}

} // namespace zpci::vfio
