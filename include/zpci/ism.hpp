// SPDX-License-Identifier: MIT
//
// ISM (Internal Shared Memory, PFT 5) helpers, following the protocol of
// Linux's drivers/s390/net/ism_drv.c:
//  * DMB moves: PCISTB to the DMB address space (default 0) at the offset
//    token | (index << 24) | (signal << 23) | offset, split at 4 KiB
//    boundaries of the DMB offset (and at maxstbl if the function's is
//    smaller); the signal flag only on the very last instruction, so the
//    peer is interrupted once the whole payload has landed.  The first
//    failing instruction stops the move; a failed move never signals.
//  * Commands: to the command address space (default 2): body (after the
//    8-byte header) first, header last (it triggers execution), then the
//    8-byte response header is read and, if its return code is 0, the rest.
//    All ISM data is big-endian.
#ifndef ZPCI_ISM_HPP
#define ZPCI_ISM_HPP

#include <cstddef>
#include <cstdint>
#include <span>

#include <zpci/device.hpp>
#include <zpci/error.hpp>
#include <zpci/path.hpp>
#include <zpci/zpci_rules.h>

namespace zpci::ism {

inline constexpr unsigned dmb_space = 0;
inline constexpr unsigned command_space = 2;
inline constexpr std::uint64_t signal_flag = 1ULL << 23;
inline constexpr std::uint64_t offset_limit = 1ULL << 23;	// DMB offsets below
inline constexpr std::uint32_t index_limit = 256;
inline constexpr std::size_t header_size = 8;

// token | index << 24 | signal << 23 | offset.  errc::ism_encoding when the
// token has any of its low 32 bits set, index >= 256 or offset >= 8 MiB.
result<std::uint64_t> encode(std::uint64_t token, std::uint32_t index,
			     bool signal, std::uint64_t offset) noexcept;

struct move_request {
	std::uint64_t token = 0;
	std::uint32_t index = 0;
	std::uint64_t offset = 0;	// inside the DMB
	std::uint64_t len = 0;
	bool signal = false;
	unsigned pcias = dmb_space;
	std::uint64_t src = 0;		// source buffer address
};

// The instructions of a move, without allocation.  make() validates the
// whole move (encoding, every op against the rules) first.
class move_planner {
public:
	static result<move_planner> make(const zpci_caps &caps,
					 const move_request &req) noexcept;
	std::size_t total() const noexcept { return total_; }
	bool done() const noexcept { return pos_ == end_; }
	bool next(op &out) noexcept;
	std::size_t fill(std::span<op> out) noexcept;

private:
	move_planner() = default;
	op at(std::uint64_t pos) const noexcept;

	move_request req_{};
	std::uint32_t max_ = 0;
	std::uint64_t pos_ = 0, end_ = 0;
	std::size_t total_ = 0;
};

// Whole move into out; errc::too_many_ops if out is too small.
result<std::size_t> plan_move(const zpci_caps &caps, const move_request &req,
			      std::span<op> out) noexcept;

// Run a move on path (src = req.src).  landed (optional) gets the bytes
// that reached the DMB, also on failure; st (optional) the details of the
// failing instruction.
result<void> move(io_path &path, const move_request &req,
		  std::size_t *landed = nullptr, exec_status *st = nullptr) noexcept;

// Big-endian helpers (ISM data is big-endian).
void put_be16(std::byte *p, std::uint16_t v) noexcept;
void put_be32(std::byte *p, std::uint32_t v) noexcept;
void put_be64(std::byte *p, std::uint64_t v) noexcept;
std::uint16_t get_be16(const std::byte *p) noexcept;
std::uint32_t get_be32(const std::byte *p) noexcept;
std::uint64_t get_be64(const std::byte *p) noexcept;

// Request header: u32 command, u16 reserved, u16 length (incl. header).
void put_request_header(std::span<std::byte, header_size> h,
			std::uint32_t cmd, std::uint16_t len) noexcept;

struct command_result {
	std::uint16_t ret = 0;	// response return code (0: ok)
	std::uint16_t len = 0;	// response length incl. header
};

// Issue a command.  request = header + body, its header's length field
// must equal request.size(); response must hold at least the header.  When
// ret != 0 only the header was read.  errc::bad_argument for malformed
// requests or a response longer than the buffer.
result<command_result> command(io_path &path, std::span<const std::byte> request,
			       std::span<std::byte> response,
			       unsigned pcias = command_space,
			       exec_status *st = nullptr) noexcept;

} // namespace zpci::ism

#endif // ZPCI_ISM_HPP
