// SPDX-License-Identifier: MIT
// The C API: a thin layer over the C++ one; errors become -errno once, here.
#include <zpci/ism.hpp>
#include <zpci/path.hpp>
#include <zpci/plan.hpp>
#include <zpci/rules.hpp>
#include <zpci/sim.hpp>
#include <zpci/zpci.h>

#include "capi_internal.hpp"

#include <algorithm>
#include <cstring>
#include <string.h>

namespace {

using zpci::capi::put_status;

int to_status(const std::error_code &ec, const zpci::exec_status *es,
	      zpci_status *st) noexcept
{
	return put_status(st, zpci::capi::outcome(ec, es));
}

int ok_status(const zpci::exec_status *es, zpci_status *st) noexcept
{
	return put_status(st, zpci::capi::outcome({}, es));
}

} // namespace

extern "C" {

int zpci_open(const char *spec, zpci_handle **out)
{
	if (!spec || !out)
		return -EINVAL;
	*out = nullptr;
	auto p = zpci::open_path(spec);
	if (!p)
		return -zpci::to_errno(p.error());
	zpci_handle *h = zpci::capi::make_handle(std::move(*p));
	if (!h)
		return -ENOMEM;
	*out = h;
	return 0;
}

void zpci_close(zpci_handle *h)
{
	delete h;
}

int zpci_get_caps(const zpci_handle *h, zpci_caps *out)
{
	if (!h || !out)
		return -EINVAL;
	std::lock_guard g(h->lock);
	*out = h->path->caps();
	return 0;
}

int zpci_check_op(const zpci_caps *caps, unsigned int insn, unsigned int pcias,
		  uint64_t offset, uint64_t len, uint64_t src, zpci_verdict *out)
{
	if (!caps)
		return -EINVAL;
	zpci_verdict v = zpci_check(caps, insn, pcias, offset, len, src);
	if (out)
		*out = v;
	return v.rule == ZPCI_RULE_OK ? 0 : -EINVAL;
}

int zpci_plan(const zpci_caps *caps, int is_read, unsigned int pcias,
	      uint64_t offset, uint64_t len, uint64_t addr, int allow_pcistg,
	      zpci_plan_op *ops, size_t cap, size_t *n, zpci_status *st)
{
	if (!caps || (cap && !ops) || pcias > 0xff)
		return zpci::capi::bad_argument(st);
	zpci::plan_request req;
	req.dir = is_read ? zpci::direction::read : zpci::direction::write;
	req.pcias = static_cast<std::uint8_t>(pcias);
	req.offset = offset;
	req.len = len;
	req.addr = addr;
	zpci::plan_options opt;
	opt.allow_pcistg = allow_pcistg != 0;
	auto p = zpci::planner::make(*caps, req, opt);
	if (!p)
		return to_status(p.error(), nullptr, st);
	if (n)
		*n = p->total();
	for (size_t i = 0; i < cap; i++) {
		zpci::op o;
		if (!p->next(o))
			break;
		ops[i].insn = static_cast<uint8_t>(o.kind);
		ops[i].pcias = o.pcias;
		ops[i].reserved = 0;
		ops[i].len = o.len;
		ops[i].offset = o.offset;
		ops[i].addr = o.addr;
	}
	if (!p->done())
		return to_status(zpci::make_error_code(zpci::errc::too_many_ops), nullptr, st);
	return ok_status(nullptr, st);
}

int zpci_write(zpci_handle *h, unsigned int pcias, uint64_t offset,
	       const void *src, size_t len, zpci_status *st)
{
	if (!h || !src)
		return zpci::capi::bad_argument(st);
	std::lock_guard g(h->lock);
	zpci::exec_status es;
	auto r = h->path->write(pcias, offset, src, len, &es);
	if (!r)
		return to_status(r.error(), &es, st);
	return ok_status(&es, st);
}

int zpci_read(zpci_handle *h, unsigned int pcias, uint64_t offset, void *dst,
	      size_t len, zpci_status *st)
{
	if (!h || !dst)
		return zpci::capi::bad_argument(st);
	std::lock_guard g(h->lock);
	zpci::exec_status es;
	auto r = h->path->read(pcias, offset, dst, len, &es);
	if (!r)
		return to_status(r.error(), &es, st);
	return ok_status(&es, st);
}

int zpci_execute(zpci_handle *h, const zpci_plan_op *ops, size_t n, zpci_status *st)
{
	if (!h || (n && !ops))
		return zpci::capi::bad_argument(st);
	std::lock_guard g(h->lock);
	// Converted in fixed-size slices: no allocation, and all of them are
	// checked before the first one is issued.
	zpci::op buf[64];
	for (size_t i = 0; i < n; i++) {
		// A NULL buffer would be dereferenced by the simulated function.
		if (ops[i].reserved != 0 || ops[i].addr == 0)
			return zpci::capi::bad_argument(st);
		zpci::op o{static_cast<zpci::insn>(ops[i].insn), ops[i].pcias, 0, ops[i].len,
			   ops[i].offset, ops[i].addr};
		zpci::exec_status es;
		if (auto r = zpci::check_op(h->path->caps(), o, &es); !r)
			return to_status(r.error(), &es, st);
		// Config space is vfio's config region, never an op here.
		if (o.pcias > ZPCI_PCIAS_BAR_MAX)
			return to_status(zpci::rule_error(ZPCI_RULE_PCIAS), &es, st);
	}
	size_t done = 0;
	while (done < n) {
		size_t k = std::min<size_t>(n - done, 64);
		for (size_t i = 0; i < k; i++) {
			const zpci_plan_op &p = ops[done + i];
			buf[i] = zpci::op{static_cast<zpci::insn>(p.insn), p.pcias, 0, p.len,
					  p.offset, p.addr};
		}
		zpci::exec_status es;
		// Checked above, under h->lock: one library check per op.
		auto r = h->path->execute_checked(std::span<const zpci::op>(buf, k), &es);
		if (!r) {
			es.done += done;
			return to_status(r.error(), &es, st);
		}
		done += k;
	}
	zpci::exec_status es;
	es.done = done;
	return ok_status(&es, st);
}

int zpci_ism_command(zpci_handle *h, const void *req, size_t req_len, void *resp,
		     size_t resp_len, unsigned int cmd_pcias, uint16_t *ret,
		     zpci_status *st)
{
	if (!h || !req || !resp)
		return zpci::capi::bad_argument(st);
	std::lock_guard g(h->lock);
	zpci::exec_status es;
	auto r = zpci::ism::command(
		*h->path, std::span<const std::byte>(static_cast<const std::byte *>(req), req_len),
		std::span<std::byte>(static_cast<std::byte *>(resp), resp_len), cmd_pcias, &es);
	if (!r)
		return to_status(r.error(), &es, st);
	if (ret)
		*ret = r->ret;
	return ok_status(&es, st);
}

int zpci_ism_move(zpci_handle *h, uint64_t token, uint32_t index,
		  uint64_t offset, const void *src, size_t len, int signal,
		  unsigned int dmb_pcias, size_t *landed, zpci_status *st)
{
	if (landed)
		*landed = 0;
	if (!h || !src)
		return zpci::capi::bad_argument(st);
	std::lock_guard g(h->lock);
	zpci::ism::move_request req;
	req.token = token;
	req.index = index;
	req.offset = offset;
	req.len = len;
	req.signal = signal != 0;
	req.pcias = dmb_pcias;
	req.src = reinterpret_cast<std::uintptr_t>(src);
	zpci::exec_status es;
	auto r = zpci::ism::move(*h->path, req, landed, &es);
	if (!r)
		return to_status(r.error(), &es, st);
	return ok_status(&es, st);
}

int zpci_get_sim_stats(const zpci_handle *h, zpci_sim_stats *out)
{
	if (!h || !out)
		return -EINVAL;
	std::lock_guard g(h->lock);
	const zpci::sim_function *sim = h->path->simulator();
	if (!sim)
		return -ENOTSUP;
	const zpci::sim_stats &s = sim->stats();
	out->pcistb_ops = s.ops[ZPCI_INSN_PCISTB];
	out->pcistg_ops = s.ops[ZPCI_INSN_PCISTG];
	out->pcilg_ops = s.ops[ZPCI_INSN_PCILG];
	out->pcistb_bytes = s.bytes[ZPCI_INSN_PCISTB];
	out->pcistg_bytes = s.bytes[ZPCI_INSN_PCISTG];
	out->pcilg_bytes = s.bytes[ZPCI_INSN_PCILG];
	out->submits = s.submits;
	out->bar_calls = s.bar_calls;
	out->refused = s.refused;
	out->signals = s.signals;
	return 0;
}

const char *zpci_strerror(int err)
{
	// Static text for the library's errnos, portable to musl
	// (error.cpp: no strerrordesc_np).
	return zpci::errno_text(err);
}

const char *zpci_status_str(int err, const zpci_status *st)
{
	if (st && st->rule)
		return zpci_rule_name(st->rule);
	if (st && st->reason == ZPCI_REASON_MSIX)
		return "MSI-X table or PBA: for the emulator's MSI-X emulation";
	if (st && st->reason == ZPCI_REASON_CONFIG_SPACE)
		return "config space: for vfio's config region";
	if (st && st->reason && st->reason != ZPCI_REASON_HOST) {
		switch (static_cast<zpci::errc>(st->reason)) {
		case zpci::errc::no_legal_sequence:
			return "no legal instruction sequence for this access";
		case zpci::errc::zero_length:
			return "length is zero";
		case zpci::errc::range_overflow:
			return "offset + length overflows";
		case zpci::errc::bad_spec:
			return "malformed or unknown path spec";
		case zpci::errc::too_many_ops:
			return "too many instructions";
		case zpci::errc::ism_encoding:
			return "ISM token, index or offset out of range";
		case zpci::errc::timeout:
			return "timed out";
		default:
			return "invalid argument";
		}
	}
	return zpci_strerror(err);
}

} // extern "C"
