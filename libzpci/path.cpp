// SPDX-License-Identifier: MIT
#include <zpci/parse.hpp>
#include <zpci/path.hpp>
#include <zpci/plan.hpp>
#include <zpci/rules.hpp>
#include <zpci/sim.hpp>
#include <zpci/vfio.hpp>

#include <algorithm>
#include <bit>
#include <vector>

namespace zpci {

namespace {

std::unexpected<std::error_code> fail(exec_status *st, std::error_code ec,
				      std::size_t done = 0) noexcept
{
	if (st) {
		st->done = done;
		st->error = ec;
		if (unsigned r = rule_of(ec))
			st->rule = r;
	}
	return std::unexpected(ec);
}

// Largest power of two <= 8 that pos is aligned to and fits in rem.
std::size_t natural_size(std::uint64_t pos, std::uint64_t rem) noexcept
{
	std::uint64_t size = 8;
	if (pos != 0)
		size = std::min<std::uint64_t>(size, pos & (~pos + 1));
	return static_cast<std::size_t>(std::min<std::uint64_t>(size, std::bit_floor(rem)));
}

// Up-front validation of a plain range (both paths).
std::error_code check_range(const zpci_caps &caps, unsigned pcias,
			    std::uint64_t offset, std::uint64_t len,
			    const void *buf) noexcept
{
	if (len == 0)
		return make_error_code(errc::zero_length);
	if (!buf)
		return make_error_code(errc::bad_argument);
	if (len > UINT64_MAX - offset)
		return make_error_code(errc::range_overflow);
	if (!zpci_bar_implemented(&caps, pcias))
		return rule_error(ZPCI_RULE_PCIAS);
	if (!zpci_range_fits(offset, len, caps.bar_size[pcias]))
		return rule_error(ZPCI_RULE_BEYOND_BAR);
	return {};
}

// Up-front validation of ops as the caller gave them (both paths): every op
// must be a legal instruction on a BAR; the fallback path additionally
// needs PCISTG on every BAR it stores to, since it replays stores as such.
result<void> check_ops(const zpci_caps &caps, std::span<const op> ops,
		       bool needs_pcistg, exec_status *st, bool rules = true) noexcept
{
	if (st)
		st->clear();
	for (const op &o : ops) {
		if (o.flags != 0)
			return fail(st, make_error_code(errc::bad_argument));
		zpci_verdict v = rules ? check(caps, o) : zpci_verdict{};
		if (v.rule != ZPCI_RULE_OK) {
			if (st)
				verdict_to_status(v, *st);
			return fail(st, rule_error(v.rule));
		}
		if (o.pcias > ZPCI_PCIAS_BAR_MAX)
			return fail(st, rule_error(ZPCI_RULE_PCIAS));
		if (needs_pcistg && o.kind != insn::pcilg &&
		    !((caps.pcistg_mask >> o.pcias) & 1))
			return fail(st, rule_error(ZPCI_RULE_NO_PCISTG));
	}
	return {};
}

class region_path final : public io_path {
public:
	region_path(std::shared_ptr<region_device> dev, std::vector<op> buf) noexcept
		: io_path(dev->caps()), dev_(std::move(dev)), buf_(std::move(buf)) {}

	std::string_view kind() const noexcept override { return "region"; }
	const zpci_caps &device_caps() const noexcept override { return dev_->caps(); }
	const zpci_io_info *io_info() const noexcept override { return dev_->io_info(); }
	region_device *region() const noexcept override { return dev_.get(); }
	std::uint32_t max_ops() const noexcept override { return dev_->max_ops(); }

	result<void> write(unsigned pcias, std::uint64_t offset, const void *src,
			   std::size_t len, exec_status *st) noexcept override
	{
		return access(direction::write, pcias, offset,
			      const_cast<void *>(src), len, st);
	}

	result<void> read(unsigned pcias, std::uint64_t offset, void *dst,
			  std::size_t len, exec_status *st) noexcept override
	{
		return access(direction::read, pcias, offset, dst, len, st);
	}

	result<void> execute(std::span<const op> ops, exec_status *st) noexcept override
	{
		if (auto r = check_ops(caps(), ops, false, st); !r)
			return r;
		return run(ops, st);
	}

	// The driver checks every op again; the library's check was the
	// caller's.
	result<void> execute_checked(std::span<const op> ops, exec_status *st) noexcept override
	{
		if (st)
			st->clear();
		return run(ops, st);
	}

	void *block_buffer(std::uint32_t len) noexcept override
	{
		return dev_->stage_block(len);
	}

	result<void> execute_block(unsigned pcias, std::uint64_t offset,
				   std::uint32_t len, exec_status *st) noexcept override
	{
		exec_status local;
		stats_.calls++;
		auto r = dev_->submit_block(static_cast<std::uint8_t>(pcias), offset,
					    len, &local);
		if (r && *r != 1) {
			local.done = 0;
			r = std::unexpected(sys_error(EIO));
		}
		if (r) {
			stats_.instructions++;
			stats_.bytes_written += len;
			local.done = 1;
		} else {
			local.error = r.error();
		}
		if (st)
			*st = local;
		if (!r)
			return std::unexpected(r.error());
		return {};
	}

private:
	result<void> run(std::span<const op> ops, exec_status *st) noexcept
	{
		std::size_t done = 0;
		const std::size_t max = dev_->max_ops();
		while (done < ops.size()) {
			auto chunk = ops.subspan(done, std::min(max, ops.size() - done));
			if (auto r = submit(chunk, st, done); !r)
				return std::unexpected(r.error());
			done += chunk.size();
		}
		if (st)
			st->done = done;
		return {};
	}

	result<void> submit(std::span<const op> ops, exec_status *st,
			    std::size_t done_before) noexcept
	{
		exec_status local;
		stats_.calls++;
		auto r = dev_->submit(ops, &local);
		// A device that claims success for fewer ops than given broke
		// its contract: report it, never continue as if all ran.
		if (r && *r != ops.size()) {
			local.done = std::min(*r, ops.size());
			r = std::unexpected(sys_error(EIO));
		}
		std::size_t ok = r ? ops.size() : std::min(local.done, ops.size());
		for (std::size_t i = 0; i < ok; i++) {
			stats_.instructions++;
			if (ops[i].kind == insn::pcilg)
				stats_.bytes_read += ops[i].len;
			else
				stats_.bytes_written += ops[i].len;
		}
		if (!r) {
			if (st) {
				*st = local;
				st->done = done_before + ok;
				st->error = r.error();
			}
			return std::unexpected(r.error());
		}
		return {};
	}

	result<void> access(direction dir, unsigned pcias, std::uint64_t offset,
			    void *buf, std::size_t len, exec_status *st) noexcept
	{
		if (st)
			st->clear();
		if (std::error_code ec = check_range(caps(), pcias, offset, len, buf))
			return fail(st, ec);
		plan_request req;
		req.dir = dir;
		req.pcias = static_cast<std::uint8_t>(pcias);
		req.offset = offset;
		req.len = len;
		req.addr = reinterpret_cast<std::uintptr_t>(buf);
		auto p = planner::make(caps(), req);
		if (!p)
			return fail(st, p.error());
		std::size_t done = 0;
		while (!p->done()) {
			std::size_t n = p->fill(buf_);
			if (auto r = submit(std::span<const op>(buf_.data(), n), st, done); !r)
				return std::unexpected(r.error());
			done += n;
		}
		if (st)
			st->done = done;
		return {};
	}

	std::shared_ptr<region_device> dev_;
	std::vector<op> buf_;
};

class fallback_path final : public io_path {
public:
	explicit fallback_path(std::shared_ptr<bar_device> dev) noexcept
		: io_path(dev->caps()), dev_(std::move(dev)) {}

	std::string_view kind() const noexcept override { return "fallback"; }
	const zpci_caps &device_caps() const noexcept override { return dev_->caps(); }

	result<void> write(unsigned pcias, std::uint64_t offset, const void *src,
			   std::size_t len, exec_status *st) noexcept override
	{
		if (st)
			st->clear();
		if (std::error_code ec = check_range(caps(), pcias, offset, len, src))
			return fail(st, ec);
		if (!((caps().pcistg_mask >> pcias) & 1))
			return fail(st, rule_error(ZPCI_RULE_NO_PCISTG));
		std::size_t done = 0;
		if (auto r = split(true, pcias, offset, const_cast<void *>(src), len, done); !r)
			return fail(st, r.error(), done);
		if (st)
			st->done = done;
		return {};
	}

	result<void> read(unsigned pcias, std::uint64_t offset, void *dst,
			  std::size_t len, exec_status *st) noexcept override
	{
		if (st)
			st->clear();
		if (std::error_code ec = check_range(caps(), pcias, offset, len, dst))
			return fail(st, ec);
		std::size_t done = 0;
		if (auto r = split(false, pcias, offset, dst, len, done); !r)
			return fail(st, r.error(), done);
		if (st)
			st->done = done;
		return {};
	}

	// Like QEMU's intercept: check the instruction as the guest issued
	// it, then replay it as <= 8-byte accesses.  done counts whole ops.
	result<void> execute(std::span<const op> ops, exec_status *st) noexcept override
	{
		if (auto r = check_ops(caps(), ops, true, st); !r)
			return r;
		return replay(ops, st);
	}

	// The rules were the caller's; the replay's own limit (every store
	// becomes PCISTGs) is still checked.
	result<void> execute_checked(std::span<const op> ops, exec_status *st) noexcept override
	{
		if (auto r = check_ops(caps(), ops, true, st, false); !r)
			return r;
		return replay(ops, st);
	}

private:
	result<void> replay(std::span<const op> ops, exec_status *st) noexcept
	{
		std::size_t done = 0;
		for (const op &o : ops) {
			std::size_t pieces = 0;
			auto *buf = reinterpret_cast<void *>(static_cast<std::uintptr_t>(o.addr));
			if (auto r = split(o.kind != insn::pcilg, o.pcias, o.offset,
					   buf, o.len, pieces); !r)
				return fail(st, r.error(), done);
			done++;
		}
		if (st)
			st->done = done;
		return {};
	}

	result<void> split(bool store, unsigned pcias, std::uint64_t offset,
			   void *buf, std::uint64_t len, std::size_t &done) noexcept
	{
		auto *p = static_cast<std::byte *>(buf);
		std::uint64_t pos = offset, end = offset + len;
		while (pos < end) {
			std::size_t n = natural_size(pos, end - pos);
			stats_.calls++;
			auto r = store ? dev_->bar_write(pcias, pos, p, n)
				       : dev_->bar_read(pcias, pos, p, n);
			if (!r)
				return std::unexpected(r.error());
			stats_.instructions++;
			(store ? stats_.bytes_written : stats_.bytes_read) += n;
			pos += n;
			p += n;
			done++;
		}
		return {};
	}

	std::shared_ptr<bar_device> dev_;
};

#ifndef ZPCI_NO_SIM	// built without the simulator: sim specs fail ENOTSUP
// "key=value" options of a sim spec.
result<void> apply_sim_option(std::string_view kv, sim_config &cfg) noexcept
{
	auto eq = kv.find('=');
	if (eq == std::string_view::npos)
		return std::unexpected(make_error_code(errc::bad_spec));
	std::string_view key = kv.substr(0, eq), val = kv.substr(eq + 1);
	if (key == "syscall") {
		if (val != "0" && val != "1")
			return std::unexpected(make_error_code(errc::bad_spec));
		cfg.syscall_per_call = val == "1";
		return {};
	}
	if (key == "shm") {
		if (val.empty())
			return std::unexpected(make_error_code(errc::bad_spec));
		cfg.shm_name = std::string(val);
		return {};
	}
	auto n = parse_u64(val);
	if (!n)
		return std::unexpected(make_error_code(errc::bad_spec));
	if (key == "maxstbl") {
		if (*n < 16 || *n > ZPCI_MAXSTBL_LIMIT)
			return std::unexpected(make_error_code(errc::bad_spec));
		cfg.caps.maxstbl = static_cast<std::uint32_t>(*n);
	} else if (key == "max_ops") {
		if (*n < 1 || *n > 65536)
			return std::unexpected(make_error_code(errc::bad_spec));
		cfg.max_ops = static_cast<std::uint32_t>(*n);
	} else {
		return std::unexpected(make_error_code(errc::bad_spec));
	}
	return {};
}

result<std::unique_ptr<io_path>> open_sim(std::string_view rest, bool fallback) noexcept
{
	std::string_view model = rest.substr(0, rest.find(','));
	sim_config cfg;
	if (model == "strict")
		cfg = sim_config::strict();
	else if (model == "ism")
		cfg = sim_config::ism();
	else
		return std::unexpected(make_error_code(errc::bad_spec));
	rest.remove_prefix(model.size());
	while (!rest.empty()) {
		rest.remove_prefix(1);	// ','
		std::string_view kv = rest.substr(0, rest.find(','));
		if (auto r = apply_sim_option(kv, cfg); !r)
			return std::unexpected(r.error());
		rest.remove_prefix(kv.size());
	}
	auto sim = sim_function::create(cfg);
	if (!sim)
		return std::unexpected(sim.error());
	std::shared_ptr<sim_function> shared(std::move(*sim));
	sim_function *raw = shared.get();
	auto path = fallback ? make_fallback_path(shared) : make_region_path(shared);
	if (path)
		(*path)->set_simulator(raw);
	return path;
}
#endif

// "fid:N" / "uid:N" -> the PCI address; anything else is taken as one.
result<std::string> function_address(std::string_view rest) noexcept
{
	if (rest.starts_with("fid:") || rest.starts_with("uid:"))
		return vfio::resolve_function(rest);
	try {
		return std::string(rest);
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
}

} // namespace

result<void> io_path::narrow(std::uint32_t maxstbl, bool relaxed) noexcept
{
	const zpci_caps &dev = device_caps();
	zpci_caps c = caps_;
	if (maxstbl) {
		if (maxstbl < 16 || maxstbl > dev.maxstbl)
			return std::unexpected(make_error_code(errc::bad_argument));
		c.maxstbl = maxstbl;
	}
	if (relaxed && !(dev.flags & ZPCI_CAPS_RELAXED))
		return std::unexpected(make_error_code(errc::bad_argument));
	c.flags = relaxed ? (c.flags | ZPCI_CAPS_RELAXED) : (c.flags & ~ZPCI_CAPS_RELAXED);
	if (!zpci_caps_valid(&c))
		return std::unexpected(make_error_code(errc::bad_argument));
	caps_ = c;
	return {};
}

result<std::unique_ptr<io_path>> make_region_path(std::shared_ptr<region_device> dev) noexcept
{
	if (!dev || dev->max_ops() == 0 || !zpci_caps_valid(&dev->caps()))
		return std::unexpected(make_error_code(errc::bad_argument));
	try {
		std::vector<op> buf(std::min<std::uint32_t>(dev->max_ops(), 4096));
		return std::make_unique<region_path>(std::move(dev), std::move(buf));
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
}

result<std::unique_ptr<io_path>> make_fallback_path(std::shared_ptr<bar_device> dev) noexcept
{
	if (!dev || !zpci_caps_valid(&dev->caps()))
		return std::unexpected(make_error_code(errc::bad_argument));
	auto *p = new (std::nothrow) fallback_path(std::move(dev));
	if (!p)
		return std::unexpected(sys_error(ENOMEM));
	return std::unique_ptr<io_path>(p);
}

result<std::unique_ptr<io_path>> open_path(std::string_view spec) noexcept
{
	auto colon = spec.find(':');
	if (colon == std::string_view::npos || colon + 1 == spec.size())
		return std::unexpected(make_error_code(errc::bad_spec));
	std::string_view scheme = spec.substr(0, colon), rest = spec.substr(colon + 1);
#ifdef ZPCI_NO_SIM
	if (scheme == "sim" || scheme == "sim-fallback")
		return std::unexpected(sys_error(ENOTSUP));
#else
	if (scheme == "sim")
		return open_sim(rest, false);
	if (scheme == "sim-fallback")
		return open_sim(rest, true);
#endif
	if (scheme == "fid" || scheme == "uid") {
		rest = spec;
		scheme = "region";
	}
	if (scheme == "region") {
		auto addr = function_address(rest);
		if (!addr)
			return std::unexpected(addr.error());
		auto dev = vfio::open_region_device(*addr);
		if (!dev)
			return std::unexpected(dev.error());
		return make_region_path(std::shared_ptr<region_device>(std::move(*dev)));
	}
	if (scheme == "fallback") {
		auto addr = function_address(rest);
		if (!addr)
			return std::unexpected(addr.error());
		auto dev = vfio::open_bar_device(*addr);
		if (!dev)
			return std::unexpected(dev.error());
		return make_fallback_path(std::shared_ptr<bar_device>(std::move(*dev)));
	}
	return std::unexpected(make_error_code(errc::bad_spec));
}

} // namespace zpci
