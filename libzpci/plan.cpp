// SPDX-License-Identifier: MIT
#include <zpci/plan.hpp>
#include <zpci/rules.hpp>

#include <algorithm>
#include <bit>

namespace zpci {

namespace {

// PCISTG/PCILG length at pos.  The rules only forbid crossing the
// doubleword, so the k bytes to move in pos's doubleword take popcount(k)
// power-of-two instructions at best, placed anywhere (4 bytes at offset 1
// are one PCISTG, as Linux issues them).  Among the choices that keep that
// count, prefer the naturally aligned one (the largest power of two pos is
// aligned to), so aligned plans stay what they always were; otherwise the
// largest power of two that fits.
std::uint32_t dword_size(std::uint64_t pos, std::uint64_t rem) noexcept
{
	const std::uint64_t k = std::min<std::uint64_t>(rem, 8 - (pos & 7));
	const std::uint64_t aligned = std::min<std::uint64_t>(
		std::bit_floor(k), (pos & 7) ? pos & (~pos + 1) : 8);
	if (1 + std::popcount(k - aligned) == std::popcount(k))
		return static_cast<std::uint32_t>(aligned);
	return static_cast<std::uint32_t>(std::bit_floor(k));
}

} // namespace

bool planner::peek(op &out) const noexcept
{
	const std::uint64_t rem = end_ - pos_;
	const std::uint64_t src = req_.addr + (pos_ - req_.offset);

	out = op{};
	out.pcias = req_.pcias;
	out.offset = pos_;
	out.addr = src;

	if (req_.dir == direction::read) {
		out.kind = insn::pcilg;
		out.len = dword_size(pos_, rem);
		return true;
	}

	const std::uint64_t to_4k = ZPCI_BLOCK_BOUNDARY - (pos_ & (ZPCI_BLOCK_BOUNDARY - 1));
	if (zpci_caps_relaxed(&caps_)) {
		out.kind = insn::pcistb;
		out.len = static_cast<std::uint32_t>(
			std::min<std::uint64_t>({rem, caps_.maxstbl, to_4k}));
		return true;
	}

	// Strict PCISTB: target, source and length 8-aligned, 16..maxstbl.
	if ((pos_ & 7) == 0 && (src & 7) == 0) {
		const std::uint64_t max = caps_.maxstbl & ~7u;
		const std::uint64_t seg = std::min<std::uint64_t>(rem & ~7ull, to_4k);
		if (seg >= 16) {
			std::uint64_t n = std::min(seg, max);
			// Without PCISTG an 8-byte leftover could never be
			// stored: leave 16 for the next block instead.
			if (!pcistg_ && seg - n == 8 && n >= 24)
				n -= 8;
			out.kind = insn::pcistb;
			out.len = static_cast<std::uint32_t>(n);
			return true;
		}
	}
	if (!pcistg_)
		return false;
	out.kind = insn::pcistg;
	out.len = dword_size(pos_, rem);
	return true;
}

result<planner> planner::make(const zpci_caps &caps, const plan_request &req,
			      const plan_options &opt) noexcept
{
	if (!zpci_caps_valid(&caps))
		return std::unexpected(rule_error(ZPCI_RULE_CAPS));
	if (req.dir != direction::write && req.dir != direction::read)
		return std::unexpected(make_error_code(errc::bad_argument));
	if (req.len == 0)
		return std::unexpected(make_error_code(errc::zero_length));
	if (req.len > UINT64_MAX - req.offset)
		return std::unexpected(make_error_code(errc::range_overflow));
	// Only BARs: config space is vfio-pci's business, never ours.
	if (!zpci_bar_implemented(&caps, req.pcias))
		return std::unexpected(rule_error(ZPCI_RULE_PCIAS));
	if (!zpci_range_fits(req.offset, req.len, caps.bar_size[req.pcias]))
		return std::unexpected(rule_error(ZPCI_RULE_BEYOND_BAR));

	planner p;
	p.caps_ = caps;
	p.req_ = req;
	p.pcistg_ = opt.allow_pcistg && ((caps.pcistg_mask >> req.pcias) & 1);
	p.pos_ = req.offset;
	p.end_ = req.offset + req.len;

	// Reads (PCILG of 1..8 bytes inside a doubleword is legal inside an
	// implemented BAR), relaxed writes (any PCISTB) and strict writes
	// with PCISTG (likewise) always have a sequence; only strict
	// writes without PCISTG need the dry run up front.  Keeps the hot
	// path to one pass.
	const bool always = req.dir == direction::read || zpci_caps_relaxed(&caps) ||
			    p.pcistg_;
	if (!always) {
		auto n = p.count();
		if (!n)
			return std::unexpected(n.error());
	}
	return p;
}

result<std::size_t> planner::count() const noexcept
{
	if (counted_)
		return total_;
	planner q = *this;
	q.pos_ = req_.offset;
	std::size_t n = 0;
	op o;
	while (q.pos_ != q.end_) {
		if (!q.peek(o))
			return std::unexpected(make_error_code(errc::no_legal_sequence));
		zpci_verdict v = check(caps_, o);
		if (v.rule != ZPCI_RULE_OK)
			return std::unexpected(rule_error(v.rule));
		q.pos_ += o.len;
		n++;
	}
	total_ = n;
	counted_ = true;
	return n;
}

void planner::rewind() noexcept
{
	pos_ = req_.offset;
	emitted_ = 0;
}

bool planner::next(op &out) noexcept
{
	if (pos_ == end_ || !peek(out))
		return false;
	pos_ += out.len;
	emitted_++;
	return true;
}

std::size_t planner::fill(std::span<op> out) noexcept
{
	std::size_t i = 0;
	while (i < out.size() && next(out[i]))
		i++;
	return i;
}

result<std::size_t> plan(const zpci_caps &caps, const plan_request &req,
			 std::span<op> out, const plan_options &opt) noexcept
{
	auto p = planner::make(caps, req, opt);
	if (!p)
		return std::unexpected(p.error());
	std::size_t n = p->fill(out);
	if (!p->done())
		return std::unexpected(make_error_code(errc::too_many_ops));
	return n;
}

result<std::size_t> plan_count(const zpci_caps &caps, const plan_request &req,
			       const plan_options &opt) noexcept
{
	auto p = planner::make(caps, req, opt);
	if (!p)
		return std::unexpected(p.error());
	return p->count();
}

} // namespace zpci
