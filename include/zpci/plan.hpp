// SPDX-License-Identifier: MIT
//
// The planner: turns one write or read of a BAR range into the shortest
// sequence of legal instructions for a function.
//
// Writes: the largest PCISTB blocks the function allows (maxstbl, up to
// 4 KiB, never crossing 4 KiB; strict functions need target, source and
// length 8-aligned, relaxed ones take any alignment and length), PCISTG for
// unaligned heads and tails (and for everything when a strict function's
// source is misaligned relative to the target: the planner never copies).
// Reads: PCILG.  Every PCISTG/PCILG has a power-of-two length (1, 2, 4, 8)
// and stays inside one doubleword, at any alignment (4 bytes at offset 1 is
// one legal PCISTG, as Linux issues it): a doubleword with k bytes to move
// costs popcount(k) instructions; among equally short splits the naturally
// aligned one is used (1 + 2 + 4 for bytes 1..7).  The rules would also take lengths 3/5/6/7
// inside a doubleword, but Linux never issues them and QEMU 7.2 turns them
// into a 1-byte access (size_memop()), so they are not safe to rely on.
// Ops come out in ascending order and cover every byte exactly once; each
// passes zpci_check().  "Fewest" is over that instruction set (legal
// PCISTB, power-of-two PCISTG/PCILG); the tests check it against a
// brute-force optimum.  The result never has more instructions than
// Linux's zpci_memcpy_toio()/zpci_memcpy_fromio() (both the current
// zpci_get_max_io_size() splitter and the older zpci_get_max_write_size())
// on any request where Linux's own sequence is legal for the function
// (Linux can issue an 8-byte PCISTG at an unaligned offset, or a PCISTB
// longer than maxstbl; those sequences fail and are not a bound).
//
// Planning does not allocate: a planner is a small value that fills
// caller-provided spans.  make() validates the whole request first, so a
// request without a legal sequence fails before anything is issued.
#ifndef ZPCI_PLAN_HPP
#define ZPCI_PLAN_HPP

#include <cstddef>
#include <cstdint>
#include <span>

#include <zpci/device.hpp>
#include <zpci/error.hpp>
#include <zpci/zpci_rules.h>

namespace zpci {

enum class direction : std::uint8_t { write, read };

struct plan_request {
	direction dir = direction::write;
	std::uint8_t pcias = 0;		// BAR 0..5
	std::uint64_t offset = 0;	// in the address space
	std::uint64_t len = 0;		// bytes, > 0
	std::uint64_t addr = 0;		// buffer (source of writes, dest of reads)
};

struct plan_options {
	// PCISTG may be used (the address space must accept it too, see
	// zpci_caps.pcistg_mask).  false: PCISTB only.
	bool allow_pcistg = true;
};

class planner {
public:
	// Validates the request (length, wrap-around, address space, BAR
	// bounds, existence of a legal sequence) and returns a planner
	// positioned at the first op.  Errors: errc::zero_length,
	// errc::range_overflow, rule errors (address space, beyond the BAR,
	// capabilities), errc::no_legal_sequence.
	static result<planner> make(const zpci_caps &caps,
				    const plan_request &req,
				    const plan_options &opt = {}) noexcept;

	// Number of ops of the whole plan (computed on first use: one extra
	// pass, and each op is checked with zpci_check() on the way).
	std::size_t total() const noexcept { return count().value_or(0); }
	result<std::size_t> count() const noexcept;
	// Ops not yet handed out by fill()/next().
	std::size_t remaining() const noexcept { return total() - emitted_; }
	bool done() const noexcept { return pos_ == end_; }

	// Next op, false when done.
	bool next(op &out) noexcept;
	// Fill out with the next ops; returns how many were written.
	std::size_t fill(std::span<op> out) noexcept;
	// Back to the first op.
	void rewind() noexcept;

private:
	planner() = default;
	// Computes the op at pos_ without advancing; false if none is legal.
	bool peek(op &out) const noexcept;

	zpci_caps caps_{};
	plan_request req_{};
	bool pcistg_ = true;
	std::uint64_t pos_ = 0, end_ = 0;
	std::size_t emitted_ = 0;
	mutable std::size_t total_ = 0;
	mutable bool counted_ = false;
};

// Whole plan into out.  Returns the number of ops; errc::too_many_ops if out
// is too small (then out holds the first out.size() ops).
result<std::size_t> plan(const zpci_caps &caps, const plan_request &req,
			 std::span<op> out, const plan_options &opt = {}) noexcept;

// Number of ops a plan has (without writing them anywhere).
result<std::size_t> plan_count(const zpci_caps &caps, const plan_request &req,
			       const plan_options &opt = {}) noexcept;

} // namespace zpci

#endif // ZPCI_PLAN_HPP
