// SPDX-License-Identifier: MIT
#include <zpci/rules.hpp>
#include <zpci/sim.hpp>

#include <atomic>
#include <cstring>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

namespace bip = boost::interprocess;

namespace zpci {

namespace {

// The cheapest real system call: only the kernel entry/exit is paid.
void kernel_crossing() noexcept
{
	(void)::syscall(SYS_getppid);
}

constexpr std::uint64_t shm_magic = 0x7a7063692d73696dULL;	// "zpci-sim"
constexpr std::uint32_t shm_version = 1;
constexpr std::uint64_t header_bytes = 4096;
constexpr std::uint64_t ism_offset_bits = 23;
constexpr std::uint64_t ism_offset_mask = (1ULL << ism_offset_bits) - 1;
constexpr std::uint64_t ism_signal_bit = 1ULL << 23;

std::uint64_t round_up(std::uint64_t v, std::uint64_t a) noexcept
{
	return (v + a - 1) / a * a;
}

std::error_code ipc_error(const bip::interprocess_exception &e) noexcept
{
	int err = e.get_native_error();
	return sys_error(err > 0 ? err : EIO);
}

} // namespace

// Lives at the start of the shared-memory object; plain data only, the
// fields a peer reads concurrently are accessed through std::atomic_ref.
struct sim_function::header {
	std::uint64_t magic;
	std::uint32_t version;
	std::uint32_t model;
	std::uint32_t max_ops;
	std::uint32_t dmb_count;
	zpci_caps caps;
	std::uint64_t mem_off[ZPCI_NUM_BARS];
	std::uint64_t mem_bytes[ZPCI_NUM_BARS];
	std::uint64_t dmb_token;
	std::uint64_t dmb_size;
	std::uint64_t total_bytes;
	// Signal record: fields first, then seq (release).
	alignas(8) std::uint64_t sig_seq;
	std::uint64_t sig_encoded;
	std::uint64_t sig_index;
	std::uint64_t sig_offset;
	std::uint64_t sig_len;
};

struct sim_function::shm {
	bip::shared_memory_object object;
	bip::mapped_region region;
};

sim_config sim_config::strict(std::uint32_t maxstbl) noexcept
{
	sim_config c;
	c.model = sim_model::strict;
	c.bar_bytes = {1u << 20, 0, 64u << 10, 0, 0, 0};
	c.caps = strict_caps(maxstbl, 0x05, 0);
	c.caps.bar_size[0] = c.bar_bytes[0];
	c.caps.bar_size[2] = c.bar_bytes[2];
	return c;
}

sim_config sim_config::ism() noexcept
{
	sim_config c;
	c.model = sim_model::ism;
	c.caps = ism_caps();
	c.bar_bytes = {0, 0, 4096, 0, 0, 0};
	return c;
}

result<std::unique_ptr<sim_function>> sim_function::create(const sim_config &cfg) noexcept
{
	if (!zpci_caps_valid(&cfg.caps))
		return std::unexpected(rule_error(ZPCI_RULE_CAPS));
	if (cfg.max_ops == 0 || cfg.max_ops > 65536)
		return std::unexpected(make_error_code(errc::bad_argument));
	if (cfg.model == sim_model::ism &&
	    ((cfg.dmb_token & 0xffffffffULL) || cfg.dmb_count == 0 ||
	     cfg.dmb_count > 256 || cfg.dmb_size == 0 ||
	     cfg.dmb_size > (1ULL << ism_offset_bits) ||
	     !(cfg.caps.bar_mask & 1)))
		return std::unexpected(make_error_code(errc::bad_argument));
	for (unsigned i = 0; i < ZPCI_NUM_BARS; i++) {
		bool impl = (cfg.caps.bar_mask >> i) & 1;
		bool dmb = cfg.model == sim_model::ism && i == 0;
		if (!impl || dmb)
			continue;
		// Memory must back the whole BAR the rules let through.
		if (cfg.bar_bytes[i] == 0 || cfg.bar_bytes[i] > (1ULL << 32) ||
		    cfg.caps.bar_size[i] != cfg.bar_bytes[i])
			return std::unexpected(make_error_code(errc::bad_argument));
	}
	static std::atomic<unsigned> counter{0};
	auto f = std::unique_ptr<sim_function>(new (std::nothrow) sim_function());
	if (!f)
		return std::unexpected(sys_error(ENOMEM));
	if (cfg.shm_name.empty())
		f->name_ = "zpci-sim-" + std::to_string(::getpid()) + "-" +
			   std::to_string(counter++);
	else
		f->name_ = cfg.shm_name;
	if (f->name_.size() > 200 || f->name_.find('/') != std::string::npos)
		return std::unexpected(make_error_code(errc::bad_argument));
	if (auto r = f->map(true, &cfg); !r)
		return std::unexpected(r.error());
	f->syscall_ = cfg.syscall_per_call;
	return f;
}

result<std::unique_ptr<sim_function>> sim_function::attach(std::string_view name) noexcept
{
	if (name.empty() || name.size() > 200 || name.find('/') != std::string_view::npos)
		return std::unexpected(make_error_code(errc::bad_argument));
	auto f = std::unique_ptr<sim_function>(new (std::nothrow) sim_function());
	if (!f)
		return std::unexpected(sys_error(ENOMEM));
	f->name_ = std::string(name);
	if (auto r = f->map(false, nullptr); !r)
		return std::unexpected(r.error());
	return f;
}

result<void> sim_function::map(bool create, const sim_config *cfg) noexcept
{
	try {
		auto s = std::make_unique<shm>();
		if (create) {
			std::uint64_t off = header_bytes;
			std::uint64_t mem_off[ZPCI_NUM_BARS] = {};
			std::uint64_t mem_bytes[ZPCI_NUM_BARS] = {};
			for (unsigned i = 0; i < ZPCI_NUM_BARS; i++) {
				if (!((cfg->caps.bar_mask >> i) & 1))
					continue;
				std::uint64_t n = cfg->bar_bytes[i];
				if (cfg->model == sim_model::ism && i == 0)
					n = cfg->dmb_size * cfg->dmb_count;
				mem_off[i] = off;
				mem_bytes[i] = n;
				off = round_up(off + n, 4096);
			}
			s->object = bip::shared_memory_object(bip::create_only,
				name_.c_str(), bip::read_write);
			owner_ = true;
			s->object.truncate(static_cast<bip::offset_t>(off));
			s->region = bip::mapped_region(s->object, bip::read_write);
			auto *h = static_cast<header *>(s->region.get_address());
			std::memset(h, 0, sizeof(*h));
			h->version = shm_version;
			h->model = static_cast<std::uint32_t>(cfg->model);
			h->max_ops = cfg->max_ops;
			h->dmb_count = cfg->dmb_count;
			h->caps = cfg->caps;
			for (unsigned i = 0; i < ZPCI_NUM_BARS; i++) {
				h->mem_off[i] = mem_off[i];
				h->mem_bytes[i] = mem_bytes[i];
			}
			h->dmb_token = cfg->dmb_token;
			h->dmb_size = cfg->dmb_size;
			h->total_bytes = off;
			std::atomic_ref<std::uint64_t>(h->magic).store(shm_magic,
				std::memory_order_release);
		} else {
			s->object = bip::shared_memory_object(bip::open_only,
				name_.c_str(), bip::read_write);
			bip::offset_t size = 0;
			if (!s->object.get_size(size) ||
			    size < static_cast<bip::offset_t>(header_bytes))
				return std::unexpected(make_error_code(errc::bad_argument));
			s->region = bip::mapped_region(s->object, bip::read_write);
			auto *h = static_cast<header *>(s->region.get_address());
			if (std::atomic_ref<std::uint64_t>(h->magic).load(
				    std::memory_order_acquire) != shm_magic ||
			    h->version != shm_version ||
			    h->total_bytes > static_cast<std::uint64_t>(size))
				return std::unexpected(make_error_code(errc::bad_argument));
		}
		hdr_ = static_cast<header *>(s->region.get_address());
		base_ = static_cast<std::byte *>(s->region.get_address());
		caps_ = hdr_->caps;
		model_ = static_cast<sim_model>(hdr_->model);
		max_ops_ = hdr_->max_ops;
		shm_ = std::move(s);
		return {};
	} catch (const bip::interprocess_exception &e) {
		return std::unexpected(ipc_error(e));
	} catch (const std::bad_alloc &) {
		return std::unexpected(sys_error(ENOMEM));
	} catch (...) {
		return std::unexpected(sys_error(EIO));
	}
}

sim_function::~sim_function()
{
	shm_.reset();
	if (owner_)
		bip::shared_memory_object::remove(name_.c_str());
}

std::span<std::byte> sim_function::bar_memory(unsigned bar) noexcept
{
	if (bar >= ZPCI_NUM_BARS || !hdr_ || hdr_->mem_bytes[bar] == 0)
		return {};
	return {base_ + hdr_->mem_off[bar], hdr_->mem_bytes[bar]};
}

std::span<std::byte> sim_function::dmb(std::uint32_t index) noexcept
{
	if (model_ != sim_model::ism || index >= hdr_->dmb_count)
		return {};
	return bar_memory(0).subspan(index * hdr_->dmb_size, hdr_->dmb_size);
}

std::byte *sim_function::locate(unsigned pcias, std::uint64_t offset,
				std::uint32_t len, zpci_verdict &v) noexcept
{
	if (model_ == sim_model::ism && pcias == 0) {
		// token | index << 24 | signal << 23 | offset
		std::uint64_t tok = offset & ~0xffffffffULL;
		std::uint64_t idx = (offset >> 24) & 0xff;
		std::uint64_t off = offset & ism_offset_mask;
		if (tok != hdr_->dmb_token || idx >= hdr_->dmb_count ||
		    off + len > hdr_->dmb_size) {
			v = zpci_verdict_operand(ZPCI_RULE_BEYOND_BAR);
			return nullptr;
		}
		return base_ + hdr_->mem_off[0] + idx * hdr_->dmb_size + off;
	}
	// zpci_check already bounded the range by bar_size == mem_bytes.
	return base_ + hdr_->mem_off[pcias] + offset;
}

void sim_function::inject_failure(std::uint64_t nth, std::uint8_t cc,
				  std::uint8_t status, std::uint8_t pgm) noexcept
{
	fail_at_ = executed_ + nth;
	fail_verdict_ = zpci_verdict_make(ZPCI_RULE_OK, cc, status, pgm);
}

void sim_function::raise_signal(const op &o) noexcept
{
	hdr_->sig_encoded = o.offset;
	hdr_->sig_index = (o.offset >> 24) & 0xff;
	hdr_->sig_offset = o.offset & ism_offset_mask;
	hdr_->sig_len = o.len;
	// The data and the record are published by this release.
	std::atomic_ref<std::uint64_t>(hdr_->sig_seq).fetch_add(1, std::memory_order_acq_rel);
	stats_.signals++;
}

std::error_code sim_function::exec_one(const op &o, exec_status &st) noexcept
{
	zpci_verdict v;
	std::uint64_t n = executed_++;
	if (n == fail_at_) {
		fail_at_ = UINT64_MAX;
		v = fail_verdict_;
		st.rule = 0;
		st.cc = v.cc;
		st.status = v.status;
		st.pgm = v.pgm;
		st.cc_valid = true;
		stats_.refused++;
		return insn_exec_error(v.cc, v.pgm);
	}
	if (o.flags != 0) {
		st.rule = 0;
		stats_.refused++;
		return sys_error(EINVAL);
	}
	v = check(caps_, o);
	std::byte *mem = nullptr;
	if (v.rule == ZPCI_RULE_OK && o.pcias <= ZPCI_PCIAS_BAR_MAX)
		mem = locate(o.pcias, o.offset, o.len, v);
	else if (v.rule == ZPCI_RULE_OK)
		v = zpci_verdict_bad_as();	// config space is not simulated
	if (v.rule != ZPCI_RULE_OK) {
		verdict_to_status(v, st);
		stats_.refused++;
		return verdict_exec_error(v);
	}
	auto *buf = reinterpret_cast<std::byte *>(static_cast<std::uintptr_t>(o.addr));
	if (o.kind == insn::pcilg)
		std::memcpy(buf, mem, o.len);
	else
		std::memcpy(mem, buf, o.len);
	auto k = static_cast<unsigned>(o.kind);
	stats_.ops[k]++;
	stats_.bytes[k] += o.len;
	if (model_ == sim_model::ism && o.kind != insn::pcilg) {
		if (o.pcias == 0 && (o.offset & ism_signal_bit))
			raise_signal(o);
		else if (o.pcias == 2 && o.offset < 8 && command_handler_)
			command_handler_(bar_memory(2));
	}
	return {};
}

result<std::size_t> sim_function::submit(std::span<const op> ops,
					 exec_status *status) noexcept
{
	exec_status local;
	exec_status &st = status ? *status : local;
	st.clear();
	stats_.submits++;
	if (syscall_)
		kernel_crossing();
	if (ops.empty() || ops.size() > max_ops_) {
		st.error = sys_error(ops.empty() ? EINVAL : E2BIG);
		return std::unexpected(st.error);
	}
	for (const op &o : ops) {
		if (std::error_code ec = exec_one(o, st)) {
			st.error = ec;
			return std::unexpected(ec);
		}
		st.done++;
	}
	return st.done;
}

result<void> sim_function::bar_write(unsigned bar, std::uint64_t offset,
				     const void *src, std::size_t len) noexcept
{
	return bar_access(insn::pcistg, bar, offset, src, len);
}

result<void> sim_function::bar_read(unsigned bar, std::uint64_t offset,
				    void *dst, std::size_t len) noexcept
{
	return bar_access(insn::pcilg, bar, offset, dst, len);
}

result<void> sim_function::bar_access(insn kind, unsigned bar,
				      std::uint64_t offset, const void *buf,
				      std::size_t len) noexcept
{
	stats_.bar_calls++;
	if (syscall_)
		kernel_crossing();
	if (len == 0 || len > 8 || bar > ZPCI_PCIAS_BAR_MAX || !buf)
		return std::unexpected(sys_error(EINVAL));
	op o;
	o.kind = kind;
	o.pcias = static_cast<std::uint8_t>(bar);
	o.len = static_cast<std::uint32_t>(len);
	o.offset = offset;
	o.addr = reinterpret_cast<std::uintptr_t>(buf);
	exec_status st;
	if (std::error_code ec = exec_one(o, st))
		return std::unexpected(ec);
	return {};
}

sim_signal sim_function::last_signal() const noexcept
{
	sim_signal s;
	s.seq = std::atomic_ref<std::uint64_t>(hdr_->sig_seq).load(std::memory_order_acquire);
	s.encoded = hdr_->sig_encoded;
	s.index = static_cast<std::uint32_t>(hdr_->sig_index);
	s.offset = hdr_->sig_offset;
	s.len = static_cast<std::uint32_t>(hdr_->sig_len);
	return s;
}

result<sim_signal> sim_function::wait_signal(std::uint64_t seen,
					     std::chrono::milliseconds timeout) const noexcept
{
	auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		sim_signal s = last_signal();
		if (s.seq != seen)
			return s;
		if (std::chrono::steady_clock::now() >= deadline)
			return std::unexpected(make_error_code(errc::timeout));
		std::this_thread::sleep_for(std::chrono::microseconds(200));
	}
}

} // namespace zpci
