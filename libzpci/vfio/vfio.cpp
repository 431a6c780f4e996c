// SPDX-License-Identifier: MIT
// The zpci_io feature (region path) and the 8-byte fallback path over vfio,
// and the queries `zpci info` uses.
#include "vfio.hpp"

#include <fcntl.h>
#include <linux/vfio.h>

#include <zpci/parse.hpp>
#include <zpci/zpci_cost.h>

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
// Bytes of struct zpci_io_info version 3 (everything before reserved[]).
constexpr std::size_t IO_INFO_V3 = offsetof(zpci_io_info, reserved);
constexpr std::size_t FEAT_HDR = sizeof(vfio_device_feature);
constexpr std::size_t REQ_HDR = sizeof(zpci_io_req);
constexpr std::size_t OP_SIZE = sizeof(zpci_io_op);
constexpr std::size_t PAGE = ZPCI_BLOCK_BOUNDARY;
// The device-specific region of driver ABI 1 and 2 (vendor type IBM,
// subtype "zio1"), replaced by the device feature in ABI 3: only looked for
// to tell "driver too old" (EPROTO) from "no driver" (ENODEV).
constexpr std::uint32_t OLD_REGION_TYPE = VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x1014U;
constexpr std::uint32_t OLD_REGION_SUBTYPE = 0x7a696f31U;

std::error_code proto() noexcept
{
	return std::make_error_code(std::errc::protocol_error);
}

// Where the bytes of a PCISTB of len > ZPCI_IO_INLINE_MAX go, at or after
// cur: 8-byte aligned, and not across 4 KiB of the request (zpci_abi.h).
std::size_t place(std::size_t cur, std::uint32_t len) noexcept
{
	cur = (cur + 7) & ~std::size_t(7);
	if ((cur & (PAGE - 1)) + len > PAGE)
		cur = (cur + PAGE - 1) & ~(PAGE - 1);
	return cur;
}

// The len bytes at p as the instruction's register holds them:
// right-aligned, the first byte the most significant.
std::uint64_t pack(const unsigned char *p, std::uint32_t len) noexcept
{
	std::uint64_t v = 0;
	for (std::uint32_t i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

void unpack(std::uint64_t v, unsigned char *p, std::uint32_t len) noexcept
{
	for (std::uint32_t i = len; i-- > 0; v >>= 8)
		p[i] = static_cast<unsigned char>(v);
}

// The zpci_io device feature: one VFIO_DEVICE_FEATURE SET per batch, the
// whole request (header, ops, the bytes of the PCISTBs) built in one
// buffer allocated once, results read back from it.  No pointer reaches
// the kernel.
class vfio_feature_device final : public zpci::region_device {
public:
	vfio_feature_device(std::shared_ptr<vfio_handle> h, const zpci_caps &caps,
			    const zpci_io_info &io,
			    std::unique_ptr<std::uint64_t[]> buf,
			    std::size_t capacity, std::uint32_t max_ops) noexcept
		: h_(std::move(h)), caps_(caps), io_(io), buf_(std::move(buf)),
		  capacity_(capacity), max_ops_(max_ops)
	{
		// The fields no request changes, written once: the feature's
		// flags, the request header's sizes, its zero flags and
		// reserved fields (the driver writes nothing but the status).
		vfio_device_feature f{};
		f.flags = VFIO_DEVICE_FEATURE_SET | ZPCI_IO_FEATURE;
		std::memcpy(feat(), &f, sizeof(f));
		zpci_io_req r{};
		r.hdr_size = REQ_HDR;
		r.op_size = OP_SIZE;
		std::memcpy(req(), &r, sizeof(r));
	}

	const zpci_caps &caps() const noexcept override { return caps_; }
	std::uint32_t max_ops() const noexcept override { return max_ops_; }
	const zpci_io_info *io_info() const noexcept override { return &io_; }

	result<std::size_t> submit(std::span<const op> ops,
				   exec_status *status) noexcept override
	{
		exec_status local;
		exec_status &es = status ? *status : local;
		es.clear();
		if (ops.empty())
			return 0;
		if (ops.size() > max_ops_) {
			es.error = sys_error(E2BIG);
			return std::unexpected(es.error);
		}
		staged_len_ = 0;	// build() writes over a staged block
		std::size_t base = 0;
		int stalls = 0;
		while (base < ops.size()) {
			std::span<const op> rest = ops.subspan(base);
			std::size_t n = 0;
			std::size_t total = build(rest, n);
			if (!n) {
				// One op that no request of this driver holds.
				es.done = base;
				es.error = sys_error(E2BIG);
				return std::unexpected(es.error);
			}
			int r = call(total);
			zpci_io_status st;
			std::memcpy(&st, req() + offsetof(zpci_io_req, status), sizeof(st));
			// The driver writes a status on failure only, over the
			// zeros build() left there.
			bool st_ok = r < 0 && st.error == r && st.done <= n;
			std::size_t ran = r == 0 ? n : (st_ok ? st.done : 0);
			results(rest.first(ran), ran);
			if (r == 0) {
				base += n;
				continue;
			}
			if (r == -EINTR && st_ok && !(st.flags & ZPCI_IO_STATUS_REJECTED)) {
				// Interrupted between two ops: the first
				// st.done ran, send the rest.
				if (st.done == 0 && ++stalls >= MAX_EINTR) {
					es.done = base;
					es.error = sys_error(EINTR);
					return std::unexpected(es.error);
				}
				base += st.done;
				continue;
			}
			fail(es, r, st_ok ? &st : nullptr, base);
			return std::unexpected(es.error);
		}
		es.done = ops.size();
		return ops.size();
	}

	void *stage_block(std::uint32_t len) noexcept override
	{
		if (len == 0 || len > ZPCI_MAXSTBL_LIMIT)
			return nullptr;
		staged_ = place(REQ_HDR + OP_SIZE, len);
		staged_len_ = len;
		return req() + staged_;
	}

	result<std::size_t> submit_block(std::uint8_t pcias, std::uint64_t offset,
					 std::uint32_t len,
					 exec_status *status) noexcept override
	{
		exec_status local;
		exec_status &es = status ? *status : local;
		es.clear();
		// Only the block stage_block() placed (the bytes are there).
		if (len == 0 || len != staged_len_) {
			es.error = sys_error(EINVAL);
			return std::unexpected(es.error);
		}
		staged_len_ = 0;
		zpci_io_op o{};
		o.insn = ZPCI_IO_OP_PCISTB;
		o.pcias = pcias;
		o.len = len;
		o.offset = offset;
		std::size_t total = staged_ + len;
		if (len <= ZPCI_IO_INLINE_MAX) {
			o.data = pack(req() + staged_, len);
			total = REQ_HDR + OP_SIZE;
		} else {
			o.data = staged_;
		}
		header(total, 1);
		std::memcpy(req() + REQ_HDR, &o, sizeof(o));
		int r = call(total);
		if (r == 0) {
			es.done = 1;
			return 1;
		}
		zpci_io_status st;
		std::memcpy(&st, req() + offsetof(zpci_io_req, status), sizeof(st));
		fail(es, r, st.error == r && st.done == 0 ? &st : nullptr, 0);
		return std::unexpected(es.error);
	}

	bool has_issue_one() const noexcept override { return true; }

	int issue_one(std::uint8_t insn, std::uint8_t pcias, std::uint64_t offset,
		      std::uint32_t len, std::uint64_t value, std::uint64_t *out,
		      zpci_io_status *st) noexcept override
	{
		zpci_io_op o{};
		o.insn = insn;
		o.pcias = pcias;
		o.len = len;
		o.offset = offset;
		o.data = value;
		std::size_t total = REQ_HDR + OP_SIZE;
		if (insn == ZPCI_IO_OP_PCISTB) [[likely]] {
			// only the block stage_block() placed (the bytes are there)
			if (len == 0 || len != staged_len_)
				return -EINVAL;
			staged_len_ = 0;
			if (len <= ZPCI_IO_INLINE_MAX) {
				o.data = pack(req() + staged_, len);
			} else {
				o.data = staged_;
				total = staged_ + len;
			}
		}
		header(total, 1);
		std::memcpy(req() + REQ_HDR, &o, sizeof(o));
		int r = call(total);
		if (r == 0) {
			if (out)
				std::memcpy(out, req() + REQ_HDR + offsetof(zpci_io_op, data),
					    sizeof(*out));
			return 0;
		}
		std::memcpy(st, req() + offsetof(zpci_io_req, status), sizeof(*st));
		// the status of this request, or none (header() zeroed it)
		if (st->error != r || st->done > 1)
			*st = zpci_io_status{};
		return r;
	}

private:
	unsigned char *feat() noexcept { return reinterpret_cast<unsigned char *>(buf_.get()); }
	unsigned char *req() noexcept { return feat() + FEAT_HDR; }

	// The request's size and op count, its status cleared (the driver
	// writes one on failure only); the rest was written at construction.
	void header(std::size_t total, std::size_t n) noexcept
	{
		const __u32 t = static_cast<__u32>(total), c = static_cast<__u32>(n);
		std::memcpy(req() + offsetof(zpci_io_req, total_size), &t, sizeof(t));
		std::memcpy(req() + offsetof(zpci_io_req, nr_ops), &c, sizeof(c));
		std::memset(req() + offsetof(zpci_io_req, status), 0, sizeof(zpci_io_status));
	}

	// The request for as many ops of ops as fit (n of them, at most
	// max_ops, the request within capacity); returns its size.
	std::size_t build(std::span<const op> ops, std::size_t &n) noexcept
	{
		const std::size_t room = capacity_ - FEAT_HDR;
		std::size_t count = std::min<std::size_t>(ops.size(), max_ops_);
		std::size_t data = REQ_HDR + count * OP_SIZE;
		// Shrink count until the bytes fit (rare: a driver with a
		// small max_req_size).
		for (;;) {
			std::size_t end = data;
			for (std::size_t i = 0; i < count; i++)
				if (ops[i].len > ZPCI_IO_INLINE_MAX)
					end = place(end, ops[i].len) + ops[i].len;
			if (end <= room || count == 0) {
				n = end <= room ? count : 0;
				break;
			}
			count--;
			data = REQ_HDR + count * OP_SIZE;
		}
		if (!n)
			return 0;
		unsigned char *r = req();
		std::size_t end = data;
		for (std::size_t i = 0; i < n; i++) {
			const op &o = ops[i];
			const auto *src = reinterpret_cast<const unsigned char *>(
				static_cast<std::uintptr_t>(o.addr));
			zpci_io_op w{};
			w.insn = static_cast<__u8>(o.kind);
			w.pcias = o.pcias;
			w.flags = o.flags;
			w.len = o.len;
			w.offset = o.offset;
			if (o.kind == insn::pcilg) {
				w.data = 0;
			} else if (o.len <= ZPCI_IO_INLINE_MAX) {
				w.data = pack(src, o.len);
			} else {
				end = place(end, o.len);
				std::memcpy(r + end, src, o.len);
				w.data = end;
				end += o.len;
			}
			std::memcpy(r + REQ_HDR + i * OP_SIZE, &w, sizeof(w));
		}
		header(end, n);
		return end;
	}

	// One VFIO_DEVICE_FEATURE SET of the request of total bytes: 0 or
	// -errno.  Never repeated on EINTR: the caller looks at the status.
	int call(std::size_t total) noexcept
	{
		const __u32 argsz = static_cast<__u32>(FEAT_HDR + total);
		std::memcpy(feat() + offsetof(vfio_device_feature, argsz), &argsz,
			    sizeof(argsz));
		ZPCI_COST_MARK(ZPCI_COST_LIB_CALL);
		int r = h_->sys().ioctl(h_->fd(), VFIO_DEVICE_FEATURE, feat());
		ZPCI_COST_MARK(ZPCI_COST_LIB_RETURNED);
		return r < 0 ? r : 0;
	}

	// The values of the first ran ops that are PCILG, into their buffers.
	void results(std::span<const op> ops, std::size_t ran) noexcept
	{
		for (std::size_t i = 0; i < ran; i++) {
			const op &o = ops[i];
			if (o.kind != insn::pcilg)
				continue;
			std::uint64_t v;
			std::memcpy(&v, req() + REQ_HDR + i * OP_SIZE +
					       offsetof(zpci_io_op, data), sizeof(v));
			unpack(v, reinterpret_cast<unsigned char *>(
					  static_cast<std::uintptr_t>(o.addr)),
			       o.len);
		}
	}

	static void fail(exec_status &es, int r, const zpci_io_status *st,
			 std::size_t base) noexcept
	{
		es.error = neg_errno(r);
		es.done = base + (st ? st->done : 0);
		if (!st)
			return;
		es.rule = st->rule;
		if (st->flags & ZPCI_IO_STATUS_CC_VALID) {
			es.cc_valid = true;
			es.cc = st->cc;
			es.status = st->status;
			es.pgm = st->pgm;
		} else if (st->flags & ZPCI_IO_STATUS_PGM) {
			// a program exception, no cc
			es.cc_valid = true;
			es.pgm = st->pgm;
		}
	}

	std::shared_ptr<vfio_handle> h_;
	zpci_caps caps_;
	zpci_io_info io_;
	std::unique_ptr<std::uint64_t[]> buf_;
	std::size_t capacity_;
	std::uint32_t max_ops_;
	std::size_t staged_ = 0;		// stage_block(): where, and how long
	std::uint32_t staged_len_ = 0;
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

result<zpci_caps> region_caps(const zpci_io_info &io, const zdev_caps &zdev) noexcept
{
	if (io.argsz < IO_INFO_V3 || io.abi_version < ZPCI_IO_ABI_MIN_DRIVER ||
	    io.abi_min_compat > ZPCI_IO_ABI_VERSION || io.max_ops == 0 ||
	    io.max_req_size < REQ_HDR + OP_SIZE)
		return std::unexpected(proto());
	zpci_caps c{};
	c.maxstbl = io.maxstbl;
	c.flags = (io.flags & ZPCI_IO_INFO_RELAXED) ? ZPCI_CAPS_RELAXED : 0;
	c.bar_mask = io.bar_mask;
	c.pcistg_mask = io.pcistg_mask & io.bar_mask;
	// The function type is the BASE capability's, not repeated by the driver.
	c.pft = zdev.has_base ? zdev.pft : 0;
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

namespace {

int ioctl_eintr(const vfio_handle &h, void *arg) noexcept
{
	int r;
	int n = 0;
	do
		r = h.sys().ioctl(h.fd(), VFIO_DEVICE_FEATURE, arg);
	while (r == -EINTR && ++n < MAX_EINTR);
	return r;
}

} // namespace

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
	// The zpci_io device feature: PROBE, then GET of the info block.
	vfio_device_feature probe{};
	probe.argsz = sizeof(probe);
	probe.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_SET | ZPCI_IO_FEATURE;
	int rc = ioctl_eintr(h, &probe);
	if (rc == -ENOTTY || rc == -EINVAL || rc == -EOPNOTSUPP || rc == -ENOSYS) {
		// No feature.  A driver of ABI 1 or 2 still has its region:
		// too old for this library.
		for (std::uint32_t i = VFIO_PCI_NUM_REGIONS; i < info.num_regions; i++) {
			auto r = h.get_region(i);
			if (r && r->has_type && r->type == OLD_REGION_TYPE &&
			    r->subtype == OLD_REGION_SUBTYPE) {
				info.io_legacy_region = true;
				info.io_error = proto();
				break;
			}
		}
		return info;
	}
	info.io_feature = true;
	if (rc < 0) {
		info.io_error = neg_errno(rc);
		return info;
	}
	// vfio_device_feature ends in a flexible array: the info block
	// follows its 16 bytes.
	alignas(8) unsigned char get[FEAT_HDR + sizeof(zpci_io_info)] = {};
	vfio_device_feature f{};
	f.argsz = sizeof(get);
	f.flags = VFIO_DEVICE_FEATURE_GET | ZPCI_IO_FEATURE;
	std::memcpy(get, &f, sizeof(f));
	rc = ioctl_eintr(h, get);
	if (rc < 0) {
		info.io_error = neg_errno(rc);
		return info;
	}
	zpci_io_info io;
	std::memcpy(&io, get + FEAT_HDR, sizeof(io));
	info.io = io;
	if (io.argsz > sizeof(io))
		info.io_error = proto();
	else if (auto c = region_caps(io, info.zdev); !c)
		info.io_error = c.error();
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
	if (info.io_error)
		return std::unexpected(info.io_error);
	if (!info.io_feature || !info.io)
		return std::unexpected(sys_error(ENODEV));
	auto caps = region_caps(*info.io, info.zdev);
	if (!caps)
		return std::unexpected(caps.error());
	// Room for a full batch of the largest PCISTBs, each in a page of its
	// own (the worst place() can do), and no more than the driver takes.
	const std::uint32_t max_ops = std::min<std::uint32_t>(info.io->max_ops, 4096);
	std::size_t need = REQ_HDR + std::size_t(max_ops) * OP_SIZE + PAGE +
			   std::size_t(max_ops) * PAGE;
	std::size_t req = std::min<std::size_t>(need, info.io->max_req_size);
	std::size_t capacity = FEAT_HDR + req;
	try {
		// Not value-initialised: pages are touched only when used.
		std::unique_ptr<std::uint64_t[]> buf(new std::uint64_t[(capacity + 7) / 8]);
		return std::make_unique<vfio_feature_device>(
			std::move(h), *caps, *info.io, std::move(buf), capacity, max_ops);
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
		if (auto c = region_caps(*info.io, info.zdev))
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
