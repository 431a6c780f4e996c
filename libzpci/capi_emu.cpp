// SPDX-License-Identifier: MIT
// The emulator part of the C API: borrowing a vfio device fd, one call per
// guest instruction with its outcome ready to inject, guest caps, info.
#include <zpci/path.hpp>
#include <zpci/rules.hpp>
#include <zpci/zpci.h>
#include <zpci/zpci_cost.h>

#include "capi_internal.hpp"
#include "vfio/vfio.hpp"

#include <algorithm>
#include <cstring>
#include <new>

static_assert(sizeof(zpci_status) == ZPCI_STATUS_SIZE_1_0);
static_assert(sizeof(zpci_info) == ZPCI_INFO_SIZE_1_0);
static_assert(ZPCI_REASON_NO_LEGAL_SEQUENCE == int(zpci::errc::no_legal_sequence));
static_assert(ZPCI_REASON_BAD_ARGUMENT == int(zpci::errc::bad_argument));
static_assert(ZPCI_REASON_TIMEOUT == int(zpci::errc::timeout));

namespace zpci::capi {

namespace {

// The outcome of a rule refusal that came without a verdict (zpci_write /
// zpci_read range checks): the instruction's answer where the rule alone
// decides it, else nothing (host error).
bool rule_only_outcome(std::uint32_t rule, zpci_status &s) noexcept
{
	switch (rule) {
	case ZPCI_RULE_PCIAS:
	case ZPCI_RULE_NO_PCISTG:
		s.action = ZPCI_ACT_CC;
		s.cc = ZPCI_CC_ERROR;
		s.status = ZPCI_ST_INVALID_AS;
		s.flags |= ZPCI_STATUS_CC_VALID;
		return true;
	case ZPCI_RULE_BEYOND_BAR:
		s.action = ZPCI_ACT_PGM;
		s.pgm = ZPCI_PGM_OPERAND;
		s.flags |= ZPCI_STATUS_PGM;
		return true;
	default:
		return false;
	}
}

} // namespace

std::uint32_t backend_of(const io_path &p) noexcept
{
	bool sim = p.simulator() != nullptr;
	if (p.kind() == "region")
		return sim ? ZPCI_BACKEND_SIM : ZPCI_BACKEND_REGION;
	return sim ? ZPCI_BACKEND_SIM_FALLBACK : ZPCI_BACKEND_FALLBACK;
}

zpci_handle *make_handle(std::unique_ptr<io_path> p) noexcept
{
	auto *h = new (std::nothrow) zpci_handle;
	if (!h)
		return nullptr;
	h->backend = backend_of(*p);
	if (zpci::region_device *d = p->region(); d && d->has_issue_one())
		h->fast = d;
	h->io = p->io_info();
	h->path = std::move(p);
	return h;
}

zpci_status outcome(const std::error_code &ec, const exec_status *es,
		    bool guest_checked) noexcept
{
	zpci_status s{};
	s.size = sizeof(s);
	if (es)
		s.done = es->done;
	if (!ec) {
		s.action = ZPCI_ACT_NONE;
		s.flags = ZPCI_STATUS_CC_VALID;
		return s;
	}
	s.error = -to_errno(ec);
	const bool lib = ec.category() == zpci::category();
	if (es)
		s.rule = es->rule;
	if (unsigned r = rule_of(ec))
		s.rule = r;
	else if (lib)
		s.reason = static_cast<std::uint32_t>(ec.value());
	if (lib)
		s.flags |= ZPCI_STATUS_REJECTED;

	// The instruction's own answer (a verdict, or the function's cc).
	if (es && es->cc_valid && !(lib && guest_checked)) {
		if (es->pgm) {
			s.action = ZPCI_ACT_PGM;
			s.pgm = es->pgm;
			s.flags |= ZPCI_STATUS_PGM;
		} else {
			s.action = ZPCI_ACT_CC;
			s.cc = es->cc;
			s.status = es->cc == ZPCI_CC_ERROR ? es->status : 0;
			s.flags |= ZPCI_STATUS_CC_VALID;
		}
		return s;
	}
	if (lib) {
		if (s.rule && !guest_checked && rule_only_outcome(s.rule, s))
			return s;
		s.action = ZPCI_ACT_HOST_ERROR;
		return s;
	}
	switch (-s.error) {
	case EBUSY:		// cc 2 after the driver's retries
		s.action = ZPCI_ACT_CC;
		s.cc = ZPCI_CC_BUSY;
		s.flags |= ZPCI_STATUS_CC_VALID;
		break;
	case ENODEV:		// cc 3, or the function is going away
		s.action = ZPCI_ACT_CC;
		s.cc = ZPCI_CC_INVALID_HANDLE;
		s.flags |= ZPCI_STATUS_CC_VALID;
		break;
	case EINTR:
	case EAGAIN:
		s.action = s.done == 0 ? ZPCI_ACT_RETRY : ZPCI_ACT_HOST_ERROR;
		s.reason = ZPCI_REASON_HOST;
		break;
	case EACCES:		// the driver's fence: config space, MSI-X
		s.action = ZPCI_ACT_EMULATE;
		break;
	default:		// EFAULT, ENOMEM, EIO without a cc, EPROTO, ...
		s.action = ZPCI_ACT_HOST_ERROR;
		s.reason = ZPCI_REASON_HOST;
		break;
	}
	return s;
}

int put_status(zpci_status *st, const zpci_status &full) noexcept
{
	if (st) {
		std::uint32_t n = st->size ? st->size : ZPCI_STATUS_SIZE_1_0;
		n = std::min<std::uint32_t>(n, sizeof(zpci_status));
		zpci_status tmp = full;
		tmp.size = n;
		std::memcpy(st, &tmp, n);
	}
	return full.error;
}

int bad_argument(zpci_status *st) noexcept
{
	return put_status(st, outcome(make_error_code(errc::bad_argument), nullptr));
}

int verdict_outcome(const zpci_verdict &v, zpci_status *st) noexcept
{
	exec_status es;
	verdict_to_status(v, es);
	return put_status(st, outcome(rule_error(v.rule), &es));
}

// A refusal before anything was issued, with what the emulator does.
int rejected(int error, std::uint32_t reason, std::uint8_t action, zpci_status *st) noexcept
{
	zpci_status s{};
	s.error = error;
	s.reason = reason;
	s.action = action;
	s.flags = ZPCI_STATUS_REJECTED;
	return put_status(st, s);
}

int emulate(std::uint32_t reason, zpci_status *st) noexcept
{
	return rejected(-EACCES, reason, ZPCI_ACT_EMULATE, st);
}

} // namespace zpci::capi

namespace {

using namespace zpci::capi;

bool overlaps(std::uint64_t off, std::uint64_t len, std::uint64_t start,
	      std::uint64_t size) noexcept
{
	return size && off < start + size && start < off + len;
}

// Does the driver fence every BAR (it could not read the MSI-X location)?
bool fenced(const zpci_handle *h) noexcept
{
	const zpci_io_info *io = h->io;
	return io && (io->flags & ZPCI_IO_INFO_FENCED);
}

// Does the access touch the MSI-X table or PBA (the driver's fence)?
bool hits_msix(const zpci_handle *h, unsigned pcias, std::uint64_t offset,
	       std::uint64_t len) noexcept
{
	const zpci_io_info *io = h->io;
	if (!io || !(io->flags & ZPCI_IO_INFO_MSIX))
		return false;
	return (pcias == io->msix_table_bar &&
		overlaps(offset, len, io->msix_table_offset, io->msix_table_size)) ||
	       (pcias == io->msix_pba_bar &&
		overlaps(offset, len, io->msix_pba_offset, io->msix_pba_size));
}

// The guest's verdict, then the library's own routing; 1 = go ahead.
int precheck(const zpci_handle *h, unsigned insn, unsigned pcias,
	     std::uint64_t offset, std::uint64_t len, std::uint64_t src,
	     zpci_status *st, int &rc) noexcept
{
	zpci_verdict v = zpci_check(&h->path->caps(), insn, pcias, offset, len, src);
	if (v.rule != ZPCI_RULE_OK) {
		rc = verdict_outcome(v, st);
		return 0;
	}
	if (pcias == ZPCI_PCIAS_CONFIG) {
		rc = emulate(ZPCI_REASON_CONFIG_SPACE, st);
		return 0;
	}
	if (fenced(h) || hits_msix(h, pcias, offset, len)) {
		rc = emulate(ZPCI_REASON_MSIX, st);
		return 0;
	}
	return 1;
}

// zpci_pcistb_guest's source callback failed: nothing was issued.
int source_fault(zpci_status *st) noexcept
{
	return rejected(-EFAULT, ZPCI_REASON_SOURCE, ZPCI_ACT_SOURCE, st);
}

// The outcome of issue_one() on the fast path: success is the hot path
// (built here in place); a failure goes through outcome(), as the path's.
int fast_outcome(int rc, const zpci_io_status &ds, zpci_status *st) noexcept
{
	if (rc == 0) {
		if (!st)
			return 0;
		zpci_status s{};
		s.size = sizeof(s);
		s.done = 1;
		s.action = ZPCI_ACT_NONE;
		s.flags = ZPCI_STATUS_CC_VALID;
		// the caller's size is this library's: a plain store
		if (st->size == sizeof(s)) {
			*st = s;
			return 0;
		}
		return put_status(st, s);
	}
	zpci::exec_status es;
	es.done = ds.done;
	es.error = std::error_code(-rc, std::system_category());
	es.rule = ds.rule;
	if (ds.flags & ZPCI_IO_STATUS_CC_VALID) {
		es.cc_valid = true;
		es.cc = ds.cc;
		es.status = ds.status;
		es.pgm = ds.pgm;
	} else if (ds.flags & ZPCI_IO_STATUS_PGM) {
		es.cc_valid = true;
		es.pgm = ds.pgm;
	}
	return put_status(st, outcome(es.error, &es, true));
}

// One instruction on the fast path (h->fast): precheck() ran.
int fast_one(zpci_handle *h, std::uint8_t insn, unsigned pcias, std::uint64_t offset,
	     std::uint32_t len, std::uint64_t value, std::uint64_t *out, zpci_status *st) noexcept
{
	zpci_io_status ds{};
	int rc = h->fast->issue_one(insn, static_cast<std::uint8_t>(pcias), offset, len, value,
				    out, &ds);
	return fast_outcome(rc, ds, st);
}

int issue_one(zpci_handle *h, const zpci::op &o, zpci_status *st) noexcept
{
	zpci::exec_status es;
	// precheck() ran zpci_check() on this op under h->lock: one library
	// check per instruction; the driver still checks it
	auto r = h->path->execute_checked(std::span<const zpci::op>(&o, 1), &es);
	return put_status(st, outcome(r ? std::error_code{} : r.error(), &es, true));
}

} // namespace

extern "C" {

unsigned int zpci_version(void)
{
	return ZPCI_VERSION_NUM;
}

int zpci_borrow_fd(int device_fd, unsigned int flags, zpci_handle **out)
{
	if (!out)
		return -EINVAL;
	*out = nullptr;
	if (flags != 0)
		return -EINVAL;
	if (device_fd < 0)
		return -EBADF;
	auto dev = zpci::vfio::borrow_region_device(device_fd);
	if (!dev)
		return -zpci::to_errno(dev.error());
	auto p = zpci::make_region_path(std::shared_ptr<zpci::region_device>(std::move(*dev)));
	if (!p)
		return -zpci::to_errno(p.error());
	zpci_handle *h = make_handle(std::move(*p));
	if (!h)
		return -ENOMEM;
	*out = h;
	return 0;
}

int zpci_set_guest_caps(zpci_handle *h, uint32_t maxstbl, int relaxed)
{
	if (!h)
		return -EINVAL;
	std::lock_guard g(h->lock);
	auto r = h->path->narrow(maxstbl, relaxed != 0);
	return r ? 0 : -zpci::to_errno(r.error());
}

int zpci_pcistg(zpci_handle *h, unsigned int pcias, uint64_t offset,
		unsigned int len, uint64_t value, zpci_status *st)
{
	if (!h)
		return bad_argument(st);
	std::lock_guard g(h->lock);
	int rc = 0;
	if (!precheck(h, ZPCI_INSN_PCISTG, pcias, offset, len, 0, st, rc))
		return rc;
	if (h->fast)
		return fast_one(h, ZPCI_IO_OP_PCISTG, pcias, offset, len, value, nullptr, st);
	// len is 1..8 here: the rightmost len bytes, most significant first.
	unsigned char buf[8];
	for (unsigned i = 0; i < len; i++)
		buf[i] = static_cast<unsigned char>(value >> (8 * (len - 1 - i)));
	zpci::op o{zpci::insn::pcistg, static_cast<std::uint8_t>(pcias), 0, len, offset,
		   reinterpret_cast<std::uintptr_t>(buf)};
	return issue_one(h, o, st);
}

int zpci_pcilg(zpci_handle *h, unsigned int pcias, uint64_t offset,
	       unsigned int len, uint64_t *value, zpci_status *st)
{
	if (value)
		*value = 0;
	if (!h || !value)
		return bad_argument(st);
	std::lock_guard g(h->lock);
	int rc = 0;
	if (!precheck(h, ZPCI_INSN_PCILG, pcias, offset, len, 0, st, rc))
		return rc;
	if (h->fast)
		return fast_one(h, ZPCI_IO_OP_PCILG, pcias, offset, len, 0, value, st);
	unsigned char buf[8] = {};
	zpci::op o{zpci::insn::pcilg, static_cast<std::uint8_t>(pcias), 0, len, offset,
		   reinterpret_cast<std::uintptr_t>(buf)};
	rc = issue_one(h, o, st);
	if (rc == 0) {
		std::uint64_t v = 0;
		for (unsigned i = 0; i < len; i++)
			v = v << 8 | buf[i];
		*value = v;
	}
	return rc;
}

int zpci_pcistb(zpci_handle *h, unsigned int pcias, uint64_t offset,
		const void *src, uint32_t len, uint64_t guest_addr,
		zpci_status *st)
{
	if (!h)
		return bad_argument(st);
	std::lock_guard g(h->lock);
	int rc = 0;
	// The guest's address decides the source-alignment rule.
	if (!precheck(h, ZPCI_INSN_PCISTB, pcias, offset, len, guest_addr, st, rc))
		return rc;
	if (!src)
		return bad_argument(st);
	if (h->fast) {
		// one copy, straight into the request; its alignment is the
		// request's (8), whatever src's
		void *buf = h->fast->stage_block(len);
		if (!buf)
			return bad_argument(st);
		std::memcpy(buf, src, len);
		return fast_one(h, ZPCI_IO_OP_PCISTB, pcias, offset, len, 0, nullptr, st);
	}
	// len <= maxstbl <= 4096 here.  The host copy must satisfy the same
	// rule where the function has it (the driver checks the host buffer).
	alignas(8) unsigned char bounce[ZPCI_MAXSTBL_LIMIT];
	const void *p = src;
	if (!zpci_caps_relaxed(&h->path->caps()) &&
	    (reinterpret_cast<std::uintptr_t>(src) & 7)) {
		std::memcpy(bounce, src, len);
		p = bounce;
	}
	zpci::op o{zpci::insn::pcistb, static_cast<std::uint8_t>(pcias), 0, len, offset,
		   reinterpret_cast<std::uintptr_t>(p)};
	return issue_one(h, o, st);
}

int zpci_pcistb_guest(zpci_handle *h, unsigned int pcias, uint64_t offset,
		      uint32_t len, uint64_t guest_addr, zpci_source_fn read,
		      void *opaque, zpci_status *st)
{
	ZPCI_COST_MARK(ZPCI_COST_LIB_GUEST_ENTRY);
	if (!h || !read)
		return bad_argument(st);
	std::lock_guard g(h->lock);
	int rc = 0;
	// Every rule before the source is read: the architecture's order.
	if (!precheck(h, ZPCI_INSN_PCISTB, pcias, offset, len, guest_addr, st, rc))
		return rc;
	// len <= maxstbl <= ZPCI_MAXSTBL_LIMIT here (the precheck's verdict).
	// The zpci_io feature: the guest's bytes go straight into the
	// request's data area, the one copy the driver reads.
	if (h->fast) {
		void *buf = h->fast->stage_block(len);
		if (!buf)
			return bad_argument(st);
		ZPCI_COST_MARK(ZPCI_COST_LIB_SOURCE);
		const int rr = read(opaque, buf, len);
		ZPCI_COST_MARK(ZPCI_COST_LIB_SOURCE_DONE);
		if (rr != 0)
			return source_fault(st);
		return fast_one(h, ZPCI_IO_OP_PCISTB, pcias, offset, len, 0, nullptr, st);
	}
	if (void *buf = h->path->block_buffer(len)) {
		ZPCI_COST_MARK(ZPCI_COST_LIB_SOURCE);
		const int rr = read(opaque, buf, len);
		ZPCI_COST_MARK(ZPCI_COST_LIB_SOURCE_DONE);
		if (rr != 0)
			return source_fault(st);
		zpci::exec_status es;
		auto r = h->path->execute_block(pcias, offset, len, &es);
		return put_status(st, outcome(r ? std::error_code{} : r.error(), &es, true));
	}
	if (!h->source) {
		void *p = nullptr;
		if (posix_memalign(&p, ZPCI_MAXSTBL_LIMIT, ZPCI_MAXSTBL_LIMIT))
			return put_status(st, outcome(std::make_error_code(std::errc::not_enough_memory),
						      nullptr, true));
		h->source.reset(static_cast<unsigned char *>(p));
	}
	// len <= maxstbl <= ZPCI_MAXSTBL_LIMIT here (the precheck's verdict).
	ZPCI_COST_MARK(ZPCI_COST_LIB_SOURCE);
	const int rr = read(opaque, h->source.get(), len);
	ZPCI_COST_MARK(ZPCI_COST_LIB_SOURCE_DONE);
	if (rr != 0)
		return source_fault(st);
	zpci::op o{zpci::insn::pcistb, static_cast<std::uint8_t>(pcias), 0, len, offset,
		   reinterpret_cast<std::uintptr_t>(h->source.get())};
	return issue_one(h, o, st);
}

int zpci_get_info(const zpci_handle *h, zpci_info *out)
{
	if (!h || !out)
		return -EINVAL;
	std::lock_guard g(h->lock);
	zpci_info i{};
	const zpci_caps &dev = h->path->device_caps();
	const zpci_caps &cur = h->path->caps();
	i.backend = h->backend;
	i.pft = dev.pft;
	i.relaxed = zpci_caps_relaxed(&dev) ? 1 : 0;
	i.bar_mask = dev.bar_mask;
	i.pcistg_mask = dev.pcistg_mask;
	i.maxstbl = dev.maxstbl;
	i.guest_maxstbl = cur.maxstbl;
	i.guest_relaxed = zpci_caps_relaxed(&cur) ? 1 : 0;
	for (unsigned b = 0; b < ZPCI_NUM_BARS; b++)
		i.bar_size[b] = (dev.bar_mask >> b) & 1 ? dev.bar_size[b] : 0;
	i.max_ops = h->path->max_ops();
	if (const zpci_io_info *io = h->path->io_info()) {
		i.fid = io->fid;
		i.uid = io->uid;
		i.driver_abi = io->abi_version;
		if (io->flags & ZPCI_IO_INFO_MSIX) {
			i.has_msix = 1;
			i.msix_table_bar = io->msix_table_bar;
			i.msix_pba_bar = io->msix_pba_bar;
			i.msix_table_offset = io->msix_table_offset;
			i.msix_table_size = io->msix_table_size;
			i.msix_pba_offset = io->msix_pba_offset;
			i.msix_pba_size = io->msix_pba_size;
		}
	}
	if (!i.has_msix)
		i.msix_table_bar = i.msix_pba_bar = ZPCI_IO_NO_BAR;
	i.fenced = fenced(h) ? 1 : 0;
	std::uint32_t n = out->size ? out->size : ZPCI_INFO_SIZE_1_0;
	n = std::min<std::uint32_t>(n, sizeof(i));
	i.size = n;
	std::memcpy(out, &i, n);
	return 0;
}

} // extern "C"
