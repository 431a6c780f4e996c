// SPDX-License-Identifier: MIT
//
// A simulated zPCI function: implements region_device and bar_device, runs
// every instruction through zpci_check() and refuses exactly what the rules
// refuse, with the verdict's cc/status/pgm (program exceptions and cc 1 ->
// EIO, cc 2 -> EBUSY, cc 3 -> ENODEV, like the driver reports them).
//
// Models:
//  * strict: an emulated function under QEMU 7.2: maxstbl 128, PFT 0,
//    BARs 0 and 2 (sizes configurable), PCISTG on every BAR.
//  * ism: PFT 5, relaxed alignment, maxstbl 4096.  Address space 0 is the
//    DMB space (PCISTB only; the offset encodes token | index << 24 |
//    signal << 23 | offset), address space 2 the command space (4 KiB).
//    A store with the signal bit set is recorded as a "signal" after its
//    data has landed, so a peer can wait for it.
//
// BAR memory lives in a named POSIX shared-memory object (Boost
// .Interprocess); create() owns and removes it, attach() opens an existing
// one from another process (the ISM peer).
#ifndef ZPCI_SIM_HPP
#define ZPCI_SIM_HPP

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <zpci/device.hpp>
#include <zpci/error.hpp>
#include <zpci/zpci_rules.h>

namespace zpci {

enum class sim_model : std::uint8_t { strict = 0, ism = 1 };

struct sim_config {
	sim_model model = sim_model::strict;
	zpci_caps caps{};
	// Backing memory per BAR (ignored for the ISM DMB space, see below).
	std::array<std::uint64_t, ZPCI_NUM_BARS> bar_bytes{};
	std::uint32_t max_ops = 256;
	// Make one real (cheap) system call per device call (submit(),
	// bar_write(), bar_read()), so benchmarks on the simulated function
	// pay the user/kernel crossing a vfio pwrite/pread pays at least.
	bool syscall_per_call = false;
	// Shared-memory object name; empty: a unique name is generated.
	std::string shm_name;
	// ISM DMB space: dmb_count buffers of dmb_size bytes, registered
	// under dmb_token (low 32 bits zero).
	std::uint64_t dmb_token = 0;
	std::uint32_t dmb_count = 4;
	std::uint64_t dmb_size = 1u << 20;

	// strict: BAR 0 1 MiB, BAR 2 64 KiB.
	static sim_config strict(std::uint32_t maxstbl = 128) noexcept;
	static sim_config ism() noexcept;
};

struct sim_stats {
	std::uint64_t ops[4] = {};	// indexed by insn (1..3)
	std::uint64_t bytes[4] = {};
	std::uint64_t submits = 0;	// region submit() calls
	std::uint64_t bar_calls = 0;	// bar_write()/bar_read() calls
	std::uint64_t refused = 0;	// instructions that failed
	std::uint64_t signals = 0;	// ISM signals raised here

	std::uint64_t total_ops() const noexcept { return ops[1] + ops[2] + ops[3]; }
};

struct sim_signal {
	std::uint64_t seq = 0;		// 1 for the first signal, ...
	std::uint64_t encoded = 0;	// offset as issued (incl. signal bit)
	std::uint32_t index = 0;	// DMB index
	std::uint64_t offset = 0;	// offset inside the DMB
	std::uint32_t len = 0;		// bytes of the signalling store
};

class sim_function final : public region_device, public bar_device {
public:
	static result<std::unique_ptr<sim_function>> create(const sim_config &cfg) noexcept;
	// Open a function another process created (same name).
	static result<std::unique_ptr<sim_function>> attach(std::string_view shm_name) noexcept;
	~sim_function() override;

	sim_function(const sim_function &) = delete;
	sim_function &operator=(const sim_function &) = delete;

	const zpci_caps &caps() const noexcept override { return caps_; }
	std::uint32_t max_ops() const noexcept override { return max_ops_; }
	result<std::size_t> submit(std::span<const op> ops,
				   exec_status *status) noexcept override;
	result<void> bar_write(unsigned bar, std::uint64_t offset,
			       const void *src, std::size_t len) noexcept override;
	result<void> bar_read(unsigned bar, std::uint64_t offset, void *dst,
			      std::size_t len) noexcept override;

	sim_model model() const noexcept { return model_; }
	const std::string &shm_name() const noexcept { return name_; }

	// The backing memory of a BAR (empty if not implemented); for the ISM
	// DMB space all DMBs back to back.
	std::span<std::byte> bar_memory(unsigned bar) noexcept;
	// One DMB of the ISM model (empty if out of range).
	std::span<std::byte> dmb(std::uint32_t index) noexcept;

	const sim_stats &stats() const noexcept { return stats_; }
	void reset_stats() noexcept { stats_ = {}; }

	// The instruction `nth` instructions from now (0: the next one) fails
	// with cc/status/pgm and has no effect.  One-shot.
	void inject_failure(std::uint64_t nth, std::uint8_t cc,
			    std::uint8_t status = 0, std::uint8_t pgm = 0) noexcept;
	void clear_failure() noexcept { fail_at_ = UINT64_MAX; }

	// The latest signal (seq 0: none yet).  Works across processes.
	sim_signal last_signal() const noexcept;
	// Wait until the signal sequence number differs from `seen`.
	result<sim_signal> wait_signal(std::uint64_t seen,
				       std::chrono::milliseconds timeout) const noexcept;

	// ISM command space: called after a store that wrote the 8-byte
	// header (offset 0) of address space 2, with the whole space.
	void set_command_handler(std::function<void(std::span<std::byte>)> h) noexcept
	{
		command_handler_ = std::move(h);
	}

private:
	struct shm;
	struct header;
	sim_function() = default;
	result<void> map(bool create, const sim_config *cfg) noexcept;
	// The memory an access hits, or a verdict why not.
	std::byte *locate(unsigned pcias, std::uint64_t offset, std::uint32_t len,
			  zpci_verdict &v) noexcept;
	// One instruction; fills st on failure.
	std::error_code exec_one(const op &o, exec_status &st) noexcept;
	// One <= 8-byte access of the bar_device interface, as PCISTG/PCILG.
	result<void> bar_access(insn kind, unsigned bar, std::uint64_t offset,
				const void *buf, std::size_t len) noexcept;
	void raise_signal(const op &o) noexcept;

	std::unique_ptr<shm> shm_;
	header *hdr_ = nullptr;
	std::byte *base_ = nullptr;
	zpci_caps caps_{};
	sim_model model_ = sim_model::strict;
	std::uint32_t max_ops_ = 1;
	bool syscall_ = false;
	std::string name_;
	bool owner_ = false;
	sim_stats stats_;
	std::uint64_t executed_ = 0;
	std::uint64_t fail_at_ = UINT64_MAX;
	zpci_verdict fail_verdict_{};
	std::function<void(std::span<std::byte>)> command_handler_;
};

} // namespace zpci

#endif // ZPCI_SIM_HPP
