// SPDX-License-Identifier: MIT
#include <zpci/ism.hpp>
#include <zpci/rules.hpp>

#include <algorithm>
#include <array>

namespace zpci::ism {

result<std::uint64_t> encode(std::uint64_t token, std::uint32_t index,
			     bool signal, std::uint64_t offset) noexcept
{
	if ((token & 0xffffffffULL) || index >= index_limit || offset >= offset_limit)
		return std::unexpected(make_error_code(errc::ism_encoding));
	return token | (static_cast<std::uint64_t>(index) << 24) |
	       (signal ? signal_flag : 0) | offset;
}

op move_planner::at(std::uint64_t pos) const noexcept
{
	const std::uint64_t rem = end_ - pos;
	const std::uint64_t to_4k = 4096 - (pos & 4095);
	const std::uint64_t n = std::min<std::uint64_t>({rem, to_4k, max_});
	const bool last = n == rem;
	op o;
	o.kind = insn::pcistb;
	o.pcias = static_cast<std::uint8_t>(req_.pcias);
	o.len = static_cast<std::uint32_t>(n);
	o.offset = req_.token | (static_cast<std::uint64_t>(req_.index) << 24) |
		   ((last && req_.signal) ? signal_flag : 0) | pos;
	o.addr = req_.src + (pos - req_.offset);
	return o;
}

result<move_planner> move_planner::make(const zpci_caps &caps,
					const move_request &req) noexcept
{
	if (!zpci_caps_valid(&caps))
		return std::unexpected(rule_error(ZPCI_RULE_CAPS));
	if (req.len == 0)
		return std::unexpected(make_error_code(errc::zero_length));
	if (req.pcias > ZPCI_PCIAS_BAR_MAX)
		return std::unexpected(rule_error(ZPCI_RULE_PCIAS));
	if (req.offset >= offset_limit || req.len > offset_limit - req.offset)
		return std::unexpected(make_error_code(errc::ism_encoding));
	if (auto e = encode(req.token, req.index, req.signal, req.offset); !e)
		return std::unexpected(e.error());
	move_planner p;
	p.req_ = req;
	p.max_ = zpci_caps_relaxed(&caps) ? caps.maxstbl : (caps.maxstbl & ~7u);
	p.pos_ = req.offset;
	p.end_ = req.offset + req.len;
	std::size_t n = 0;
	for (std::uint64_t pos = p.pos_; pos != p.end_; n++) {
		op o = p.at(pos);
		zpci_verdict v = check(caps, o);
		if (v.rule != ZPCI_RULE_OK)
			return std::unexpected(rule_error(v.rule));
		pos += o.len;
	}
	p.total_ = n;
	return p;
}

bool move_planner::next(op &out) noexcept
{
	if (pos_ == end_)
		return false;
	out = at(pos_);
	pos_ += out.len;
	return true;
}

std::size_t move_planner::fill(std::span<op> out) noexcept
{
	std::size_t i = 0;
	while (i < out.size() && next(out[i]))
		i++;
	return i;
}

result<std::size_t> plan_move(const zpci_caps &caps, const move_request &req,
			      std::span<op> out) noexcept
{
	auto p = move_planner::make(caps, req);
	if (!p)
		return std::unexpected(p.error());
	std::size_t n = p->fill(out);
	if (!p->done())
		return std::unexpected(make_error_code(errc::too_many_ops));
	return n;
}

result<void> move(io_path &path, const move_request &req, std::size_t *landed,
		  exec_status *st) noexcept
{
	if (landed)
		*landed = 0;
	if (st)
		st->clear();
	auto p = move_planner::make(path.caps(), req);
	if (!p) {
		if (st) {
			st->error = p.error();
			st->rule = rule_of(p.error());
		}
		return std::unexpected(p.error());
	}
	std::array<op, 64> buf;
	std::size_t done = 0, bytes = 0;
	while (!p->done()) {
		std::size_t n = p->fill(buf);
		exec_status local;
		// move_planner::make() checked every op against path.caps():
		// the path does not check them again (the driver does).
		auto r = path.execute_checked(std::span<const op>(buf.data(), n), &local);
		std::size_t ok = r ? n : std::min(local.done, n);
		for (std::size_t i = 0; i < ok; i++)
			bytes += buf[i].len;
		if (landed)
			*landed = bytes;
		if (!r) {
			if (st) {
				*st = local;
				st->done = done + ok;
			}
			return std::unexpected(r.error());
		}
		done += n;
	}
	if (st)
		st->done = done;
	return {};
}

void put_be16(std::byte *p, std::uint16_t v) noexcept
{
	p[0] = std::byte(v >> 8);
	p[1] = std::byte(v);
}

void put_be32(std::byte *p, std::uint32_t v) noexcept
{
	put_be16(p, static_cast<std::uint16_t>(v >> 16));
	put_be16(p + 2, static_cast<std::uint16_t>(v));
}

void put_be64(std::byte *p, std::uint64_t v) noexcept
{
	put_be32(p, static_cast<std::uint32_t>(v >> 32));
	put_be32(p + 4, static_cast<std::uint32_t>(v));
}

std::uint16_t get_be16(const std::byte *p) noexcept
{
	return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
					  std::to_integer<unsigned>(p[1]));
}

std::uint32_t get_be32(const std::byte *p) noexcept
{
	return (static_cast<std::uint32_t>(get_be16(p)) << 16) | get_be16(p + 2);
}

std::uint64_t get_be64(const std::byte *p) noexcept
{
	return (static_cast<std::uint64_t>(get_be32(p)) << 32) | get_be32(p + 4);
}

void put_request_header(std::span<std::byte, header_size> h, std::uint32_t cmd,
			std::uint16_t len) noexcept
{
	put_be32(h.data(), cmd);
	put_be16(h.data() + 4, 0);
	put_be16(h.data() + 6, len);
}

result<command_result> command(io_path &path, std::span<const std::byte> request,
			       std::span<std::byte> response, unsigned pcias,
			       exec_status *st) noexcept
{
	if (st)
		st->clear();
	if (request.size() < header_size || request.size() > 0xffff ||
	    get_be16(request.data() + 6) != request.size() ||
	    response.size() < header_size)
		return std::unexpected(make_error_code(errc::bad_argument));
	if (request.size() > header_size) {
		if (auto r = path.write(pcias, header_size, request.data() + header_size,
					request.size() - header_size, st); !r)
			return std::unexpected(r.error());
	}
	if (auto r = path.write(pcias, 0, request.data(), header_size, st); !r)
		return std::unexpected(r.error());
	if (auto r = path.read(pcias, 0, response.data(), header_size, st); !r)
		return std::unexpected(r.error());
	command_result res;
	res.ret = get_be16(response.data() + 4);
	res.len = get_be16(response.data() + 6);
	if (res.ret != 0)
		return res;
	if (res.len < header_size || res.len > response.size())
		return std::unexpected(make_error_code(errc::bad_argument));
	if (res.len > header_size) {
		if (auto r = path.read(pcias, header_size, response.data() + header_size,
				       res.len - header_size, st); !r)
			return std::unexpected(r.error());
	}
	return res;
}

} // namespace zpci::ism
