// SPDX-License-Identifier: MIT
//
// The two lower interfaces libzpci issues instructions through.
//
//  * region_device: a function that executes whole batches of PCISTB /
//    PCISTG / PCILG exactly as given (the zpci_io kernel driver's device
//    feature, or the simulated function).  Semantics follow zpci_abi.h:
//    the ops run in order, the first failing op stops the batch, ops
//    before it stay done, none after it run.  (The name is older than ABI
//    3, which replaced the driver's region by a VFIO device feature.)
//  * bar_device: plain BAR reads/writes of at most 8 bytes, one per call
//    (vfio-pci BAR pread/pwrite, or the simulated function); this is what
//    QEMU's intercept path does today ("the 8-byte fallback path").
//
// Both report errors by the convention of error.hpp.  Implementations must
// be usable from one thread at a time; they never throw.
#ifndef ZPCI_DEVICE_HPP
#define ZPCI_DEVICE_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include <zpci/error.hpp>
#include <zpci/zpci_abi.h>
#include <zpci/zpci_rules.h>

namespace zpci {

enum class insn : std::uint8_t {
	pcilg = ZPCI_INSN_PCILG,
	pcistg = ZPCI_INSN_PCISTG,
	pcistb = ZPCI_INSN_PCISTB,
};

// "PCILG" / "PCISTG" / "PCISTB", or "?" for anything else.
const char *insn_name(insn k) noexcept;

// One instruction.  addr is a buffer in the caller's address space: the
// source of PCISTB/PCISTG, the destination of PCILG (len bytes).  It never
// reaches the kernel: the zpci_io backend copies the bytes into its
// request (and a PCILG's result out of it).
struct op {
	insn kind = insn::pcilg;
	std::uint8_t pcias = 0;
	std::uint16_t flags = 0;	// none defined, must be 0
	std::uint32_t len = 0;
	std::uint64_t offset = 0;
	std::uint64_t addr = 0;

	friend bool operator==(const op &, const op &) = default;
};

// What happened to a batch (or a single access).  Filled by submit() in
// both the success and the failure case.
struct exec_status {
	std::size_t done = 0;		// ops (or accesses) completed
	std::error_code error;		// empty when everything ran
	std::uint32_t rule = 0;		// enum zpci_rule when refused by a rule
	std::uint8_t cc = 0;		// condition code of the failed insn
	std::uint8_t status = 0;	// its status byte when cc == 1
	std::uint8_t pgm = 0;		// program interruption code, 0 if none
	bool cc_valid = false;		// cc/status/pgm are meaningful

	void clear() noexcept { *this = exec_status{}; }
};

// Executes batches of instructions on one zPCI function.
class region_device {
public:
	virtual ~region_device() = default;

	// What the rules need to know about the function (maxstbl, relaxed,
	// BARs, which BARs take PCISTG, BAR sizes).
	virtual const zpci_caps &caps() const noexcept = 0;

	// Largest number of ops one submit() accepts (>= 1).
	virtual std::uint32_t max_ops() const noexcept = 0;

	// Run ops in order.  Returns ops.size() when every op succeeded.  On
	// failure returns the error (E2BIG when ops.size() > max_ops(), EINVAL
	// + status->rule for a refused op, EIO + cc/status/pgm when the
	// instruction failed, ...) and, if status is not null, status->done
	// tells how many ops completed.  status may be null.
	virtual result<std::size_t> submit(std::span<const op> ops,
					   exec_status *status) noexcept = 0;

	// The zpci_io driver's info block (fid, uid, MSI-X ranges, ABI
	// version), or null when the device is not the driver's.
	virtual const zpci_io_info *io_info() const noexcept { return nullptr; }

	// One PCISTB whose bytes the caller writes in place, straight into
	// the device's own request: stage_block(len) says where (len <=
	// ZPCI_MAXSTBL_LIMIT bytes, 8-byte aligned, not across a page), then
	// submit_block() issues it like submit() would the op {pcistb, pcias,
	// offset, len, that address}.  A device without such a buffer
	// returns null from stage_block(); the caller then uses its own
	// buffer and submit().
	virtual void *stage_block(std::uint32_t len) noexcept
	{
		(void)len;
		return nullptr;
	}
	virtual result<std::size_t> submit_block(std::uint8_t pcias,
						 std::uint64_t offset,
						 std::uint32_t len,
						 exec_status *status) noexcept
	{
		(void)pcias;
		(void)offset;
		(void)len;
		(void)status;
		return std::unexpected(std::make_error_code(std::errc::not_supported));
	}

	// One instruction straight into the device's own request, for the C
	// API's one-instruction calls (an emulator's), where the layers of
	// submit() -- spans, exec_status, the path's bookkeeping -- would
	// cost more than half of the driver's whole call.  value: a PCISTG's
	// value, right-aligned (bits above len ignored); a PCISTB's bytes are
	// at stage_block(len).  Returns 0 or -errno; on failure *st is the
	// driver's status block, zeroed when the driver wrote none.  *out
	// (may be null) gets a PCILG's value.  Only called when
	// has_issue_one().
	virtual bool has_issue_one() const noexcept { return false; }
	virtual int issue_one(std::uint8_t insn, std::uint8_t pcias,
			      std::uint64_t offset, std::uint32_t len,
			      std::uint64_t value, std::uint64_t *out,
			      zpci_io_status *st) noexcept
	{
		(void)insn;
		(void)pcias;
		(void)offset;
		(void)len;
		(void)value;
		(void)out;
		(void)st;
		return -ENOTSUP;
	}
};

// Plain BAR access, <= 8 bytes per call.
class bar_device {
public:
	virtual ~bar_device() = default;

	virtual const zpci_caps &caps() const noexcept = 0;

	// Store len (1..8) bytes from src at offset of BAR bar.
	virtual result<void> bar_write(unsigned bar, std::uint64_t offset,
				       const void *src,
				       std::size_t len) noexcept = 0;

	// Load len (1..8) bytes at offset of BAR bar into dst.
	virtual result<void> bar_read(unsigned bar, std::uint64_t offset,
				      void *dst, std::size_t len) noexcept = 0;
};

} // namespace zpci

#endif // ZPCI_DEVICE_HPP
