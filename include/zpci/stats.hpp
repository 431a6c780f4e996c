// SPDX-License-Identifier: MIT
//
// Statistics of the zpci_io driver over generic netlink (family
// ZPCI_NL_FAMILY of zpci_abi.h), parsed into plain structs.
//
//   auto c = zpci::stats::client::open();
//   if (!c && c.error() == std::errc::no_such_file_or_directory)
//           ...  // the family is not registered: zpci_io not loaded
//   auto fns = c->functions();        // GET_FUNCS dump
//   auto all = c->stats();            // GET_STATS dump
//   auto one = c->stats(fid);         // GET_STATS for one function
//   c->reset(fid) / c->reset();       // RESET_STATS (needs CAP_NET_ADMIN)
//
// Errors: errno values in the system category (the kernel's netlink error,
// or libnl's error mapped to the nearest errno); a malformed message is
// EPROTO.  Unknown attributes are skipped, so a newer driver that adds
// attributes still parses.
#ifndef ZPCI_STATS_HPP
#define ZPCI_STATS_HPP

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zpci/error.hpp>

struct nlmsghdr;

namespace zpci::stats {

struct entry {
	std::uint32_t key = 0;		// errno, cc or status byte
	std::uint64_t count = 0;
	friend bool operator==(const entry &, const entry &) = default;
};

struct counters {
	std::uint64_t pcistb_ops = 0, pcistg_ops = 0, pcilg_ops = 0;
	std::uint64_t pcistb_bytes = 0, pcistg_bytes = 0, pcilg_bytes = 0;
	std::uint64_t batches = 0;	// requests
	// Pages pinned so far and right now: 0 since driver ABI 3 (nothing
	// pins), reported so that a monitor can prove it.
	std::uint64_t pinned_pages = 0;
	std::uint64_t pins_held = 0;
	std::uint64_t req_bytes = 0;	// request bytes the driver copied in (ABI 3)
	std::uint64_t req_allocs = 0;	// requests that needed a buffer of their own (ABI 3)
	std::uint64_t errors = 0;	// failed batches, all causes
	std::vector<entry> by_errno, by_cc, by_status;
};

// One function bound to zpci_io.  Attributes the driver did not send stay
// unset (optional) or zero.
struct function {
	std::uint32_t fid = 0;
	std::optional<std::uint32_t> uid;
	std::optional<std::uint8_t> pft;
	std::optional<std::uint32_t> maxstbl;
	std::optional<bool> relaxed;
	std::optional<std::uint8_t> bar_mask;
	std::string pci_addr;
	std::array<std::uint64_t, 6> bar_size{};	// 0: not reported
	std::optional<counters> stats;
};

// The transport the client talks through; the real one is libnl.
class transport {
public:
	virtual ~transport() = default;
	// Send cmd (as a dump when dump is true, else as a request that the
	// kernel acknowledges), with ZPCI_NL_A_FID when fid is set; return
	// every reply message (whole netlink messages) until the dump ends or
	// the ack arrives.
	virtual result<std::vector<std::vector<std::uint8_t>>>
	request(std::uint8_t cmd, bool dump,
		std::optional<std::uint32_t> fid) noexcept = 0;
};

class client {
public:
	// Connect and resolve the family; ENOENT when it is not registered.
	static result<client> open() noexcept;
	// Use another transport (tests).
	static client with(std::unique_ptr<transport> t) noexcept;

	result<std::vector<function>> functions() noexcept;
	result<std::vector<function>> stats() noexcept;
	result<function> stats(std::uint32_t fid) noexcept;
	result<void> reset(std::optional<std::uint32_t> fid = std::nullopt) noexcept;

	client(client &&) noexcept = default;
	client &operator=(client &&) noexcept = default;
	~client();

private:
	explicit client(std::unique_ptr<transport> t) noexcept : t_(std::move(t)) {}
	result<std::vector<function>> dump(std::uint8_t cmd) noexcept;
	std::unique_ptr<transport> t_;
};

// Parse one GET_FUNCS / GET_STATS reply (a whole netlink message with the
// generic netlink header).  EPROTO when malformed or without ZPCI_NL_A_FID.
result<function> parse_function(const struct nlmsghdr *msg) noexcept;

} // namespace zpci::stats

#endif // ZPCI_STATS_HPP
