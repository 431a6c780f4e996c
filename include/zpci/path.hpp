// SPDX-License-Identifier: MIT
//
// io_path: "issue these instructions on this function".
//
//  * region path: plans each access (plan.hpp) and submits the ops in
//    batches of up to max_ops() to a region_device (the zpci_io driver's
//    device feature, or the simulated function): one call per batch.
//  * fallback path: what QEMU's intercept path does today: every access
//    becomes <= 8-byte naturally aligned stores/loads, one bar_device call
//    each.  An address space that refuses PCISTG (ISM's DMB space) cannot
//    be written this way: the path says so (rule "PCISTG not accepted")
//    before it issues anything.
//
// Every access is validated as a whole before the first instruction is
// issued; a refused access changes nothing.  Once issuing, the first
// failing instruction stops the access; exec_status.done says how many
// instructions of this access completed.
#ifndef ZPCI_PATH_HPP
#define ZPCI_PATH_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include <zpci/device.hpp>
#include <zpci/error.hpp>
#include <zpci/zpci_abi.h>
#include <zpci/zpci_rules.h>

namespace zpci {

class sim_function;

struct path_stats {
	std::uint64_t instructions = 0;	// issued (and completed)
	std::uint64_t calls = 0;	// device calls (submit / bar_*)
	std::uint64_t bytes_written = 0;
	std::uint64_t bytes_read = 0;
};

class io_path {
public:
	virtual ~io_path() = default;

	// "region" or "fallback".
	virtual std::string_view kind() const noexcept = 0;
	// The caps every access is checked and planned against: the
	// function's, or narrower after narrow().
	const zpci_caps &caps() const noexcept { return caps_; }
	// The function's own caps.
	virtual const zpci_caps &device_caps() const noexcept = 0;
	// Narrow caps() to what a guest was told: maxstbl 16..the device's
	// (0 keeps the current one), relaxed only if the device is relaxed.
	// errc::bad_argument otherwise, and nothing changes.
	result<void> narrow(std::uint32_t maxstbl, bool relaxed) noexcept;

	// Store len bytes from src at offset of address space pcias.
	virtual result<void> write(unsigned pcias, std::uint64_t offset,
				   const void *src, std::size_t len,
				   exec_status *st = nullptr) noexcept = 0;
	// Load len bytes at offset of pcias into dst.
	virtual result<void> read(unsigned pcias, std::uint64_t offset,
				  void *dst, std::size_t len,
				  exec_status *st = nullptr) noexcept = 0;
	// Issue exactly these instructions (each checked against the rules
	// first; the fallback path re-splits them into <= 8-byte accesses).
	virtual result<void> execute(std::span<const op> ops,
				     exec_status *st = nullptr) noexcept = 0;

	// Instructions per device call: the region device's max_ops, 1 for
	// the fallback path.
	// execute() for ops that the caller has just checked with zpci_check()
	// against caps(), under the lock that keeps caps() from changing (the
	// C API's one-instruction calls): a path may then skip its own
	// up-front check, so an instruction is checked once in the library.
	// The device behind the path (the driver, the simulator) still
	// checks every op: its verdict is the authority.
	virtual result<void> execute_checked(std::span<const op> ops,
					     exec_status *st) noexcept
	{
		return execute(ops, st);
	}
	// A PCISTB whose bytes the caller writes in place (the C API's
	// zpci_pcistb_guest()): block_buffer(len) is where, or null when the
	// path has no such buffer (then use execute_checked() with a buffer
	// of your own); execute_block() issues it, checked like
	// execute_checked() (the caller has checked it).
	virtual void *block_buffer(std::uint32_t len) noexcept
	{
		(void)len;
		return nullptr;
	}
	virtual result<void> execute_block(unsigned pcias, std::uint64_t offset,
					   std::uint32_t len, exec_status *st) noexcept
	{
		(void)pcias;
		(void)offset;
		(void)len;
		(void)st;
		return std::unexpected(std::make_error_code(std::errc::not_supported));
	}
	virtual std::uint32_t max_ops() const noexcept { return 1; }
	// The zpci_io driver's info block behind a region path, else null.
	virtual const zpci_io_info *io_info() const noexcept { return nullptr; }
	// The region device behind a region path, else null (the C API's
	// one-instruction calls use its issue_one()).
	virtual region_device *region() const noexcept { return nullptr; }

	const path_stats &stats() const noexcept { return stats_; }
	void reset_stats() noexcept { stats_ = {}; }

	// The simulated function behind this path, or null.
	sim_function *simulator() const noexcept { return sim_; }
	void set_simulator(sim_function *s) noexcept { sim_ = s; }

protected:
	explicit io_path(const zpci_caps &caps) noexcept : caps_(caps) {}

	path_stats stats_;
	sim_function *sim_ = nullptr;
	zpci_caps caps_;
};

// A region path over dev (kept alive by the path).  Allocates its batch
// buffer (min(max_ops, 4096) ops) once, here.
result<std::unique_ptr<io_path>> make_region_path(std::shared_ptr<region_device> dev) noexcept;
// A fallback path over dev.
result<std::unique_ptr<io_path>> make_fallback_path(std::shared_ptr<bar_device> dev) noexcept;

// Open a path by spec:
//   sim:strict | sim:ism             simulated function, region path
//   sim-fallback:strict | sim-fallback:ism   same, 8-byte fallback path
//     options after a comma: maxstbl=N, max_ops=N, shm=NAME,
//     syscall=0|1 (one real system call per device call)
//     (e.g. "sim:strict,maxstbl=4096")
//   region:<dddd:bb:dd.f>            zpci_io device feature (vfio)
//   fallback:<dddd:bb:dd.f>          vfio-pci BAR pread/pwrite
//   fid:<N> | uid:<N>                zpci_io feature of the function with
//                                    that FID / UID (sysfs function_id /
//                                    uid); region:fid:<N>, fallback:uid:<N>
//                                    ... work too
// Errors: errc::bad_spec for anything malformed, else what opening fails
// with.
result<std::unique_ptr<io_path>> open_path(std::string_view spec) noexcept;

} // namespace zpci

#endif // ZPCI_PATH_HPP
