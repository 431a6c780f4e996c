// SPDX-License-Identifier: MIT
// Internal: the C API's handle and the one place where a C++ outcome
// (error_code + exec_status) becomes a struct zpci_status with its action.
#pragma once

#include <zpci/device.hpp>
#include <zpci/path.hpp>
#include <zpci/zpci.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <system_error>

namespace zpci::capi {

// The handle's lock: a three-state futex mutex (0 free, 1 held, 2 held with
// waiters) on C++20 atomic wait/notify.  Uncontended, lock and unlock are
// one compare-and-swap / exchange each: a pthread mutex cost the one-
// instruction calls ~60 instructions of a ~450-instruction library share
// (counted under icount, docs/ARCHITECTURE.md "Costs").  BasicLockable, so
// std::lock_guard takes it; not recursive.
class handle_lock {
public:
	void lock() noexcept
	{
		std::uint32_t c = 0;
		if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire))
			return;
		if (c != 2)
			c = state_.exchange(2, std::memory_order_acquire);
		while (c != 0) {
			state_.wait(2, std::memory_order_relaxed);
			c = state_.exchange(2, std::memory_order_acquire);
		}
	}
	void unlock() noexcept
	{
		if (state_.exchange(0, std::memory_order_release) == 2)
			state_.notify_one();
	}

private:
	std::atomic<std::uint32_t> state_{0};
};

} // namespace zpci::capi

struct zpci_handle {
	std::unique_ptr<zpci::io_path> path;
	std::uint32_t backend = 0;	// ZPCI_BACKEND_*
	// The device of the one-instruction calls' fast path (the zpci_io
	// feature's issue_one()), or null: then they go through the path.
	zpci::region_device *fast = nullptr;
	// The path's driver info (path->io_info(), fixed for the path's
	// life), or null: read by every precheck.
	const zpci_io_info *io = nullptr;
	// Serializes every call on the handle (zpci.h: "Threads").
	mutable zpci::capi::handle_lock lock;
	// zpci_pcistb_guest's source: one page-aligned block of
	// ZPCI_MAXSTBL_LIMIT bytes, allocated at its first use (under lock).
	struct free_deleter {
		void operator()(unsigned char *p) const noexcept { std::free(p); }
	};
	std::unique_ptr<unsigned char, free_deleter> source;
};

namespace zpci::capi {

// Backend of a freshly opened path.
std::uint32_t backend_of(const io_path &p) noexcept;

// A new handle around p (null on allocation failure).
zpci_handle *make_handle(std::unique_ptr<io_path> p) noexcept;

// The whole status of an outcome: error, done, rule, reason, action,
// cc/status/pgm, flags.  ec empty: success.  es may be null.
// guest_checked: the instruction already passed the guest's verdict, so a
// later rule refusal is the path's limitation, not the guest's fault.
zpci_status outcome(const std::error_code &ec, const exec_status *es,
		    bool guest_checked = false) noexcept;

// Copy at most st->size bytes (0: the 1.0 size) of full into st (may be
// null); returns full.error.
int put_status(zpci_status *st, const zpci_status &full) noexcept;

// -EINVAL, reason BAD_ARGUMENT, HOST_ERROR, REJECTED.
int bad_argument(zpci_status *st) noexcept;

// A refusal with a guest outcome from the rules' verdict (REJECTED).
int verdict_outcome(const zpci_verdict &v, zpci_status *st) noexcept;

// A refusal before anything was issued (REJECTED): error, reason, action.
int rejected(int error, std::uint32_t reason, std::uint8_t action, zpci_status *st) noexcept;
// ACT_EMULATE (-EACCES, REJECTED) with reason r.
int emulate(std::uint32_t reason, zpci_status *st) noexcept;

} // namespace zpci::capi

namespace zpci::capi {

// Host MIO from a /proc/cpuinfo-format file: 1 when its s390 "features"
// line lists "pcimio", 0 when it does not or there is no such line (not
// s390), -errno when the file cannot be read.
int host_mio_from_cpuinfo(const char *path) noexcept;

} // namespace zpci::capi
