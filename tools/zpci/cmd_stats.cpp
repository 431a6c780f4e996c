// SPDX-License-Identifier: MIT
// `zpci stats [--json] [--reset] [--fid N]`: the zpci_io driver's counters
// over generic netlink.
// Exit: 0 ok, 1 failure (driver not loaded, no such fid, permission), 2 usage.
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <zpci/stats.hpp>
#include <zpci/zpci_abi.h>

#include "args.hpp"
#include "commands.hpp"
#include "format.hpp"

using namespace zpci;
using namespace zpci::cli;

namespace {

// ---- zpci stats ----

json entries_json(const std::vector<stats::entry> &es)
{
	json a = json::array();
	for (const auto &e : es)
		a.push_back({{"key", e.key}, {"count", e.count}});
	return a;
}

json function_stats_json(const stats::function &f)
{
	json j = {{"fid", f.fid}, {"pci_addr", f.pci_addr}};
	add_function_fields(j, f);	// fid stays first
	if (f.stats) {
		const auto &c = *f.stats;
		j["stats"] = {{"pcistb_ops", c.pcistb_ops}, {"pcistb_bytes", c.pcistb_bytes},
			      {"pcistg_ops", c.pcistg_ops}, {"pcistg_bytes", c.pcistg_bytes},
			      {"pcilg_ops", c.pcilg_ops}, {"pcilg_bytes", c.pcilg_bytes},
			      {"batches", c.batches}, {"pinned_pages", c.pinned_pages},
			      {"pins_held", c.pins_held}, {"req_bytes", c.req_bytes},
			      {"req_allocs", c.req_allocs}, {"errors", c.errors},
			      {"by_errno", entries_json(c.by_errno)},
			      {"by_cc", entries_json(c.by_cc)},
			      {"by_status", entries_json(c.by_status)}};
	}
	return j;
}

void function_stats_text(const stats::function &f)
{
	std::printf("fid %s  %s", hex(f.fid).c_str(),
		    f.pci_addr.empty() ? "-" : f.pci_addr.c_str());
	if (f.uid)
		std::printf("  uid %s", hex(*f.uid).c_str());
	if (f.pft)
		std::printf("  pft %u", *f.pft);
	if (f.maxstbl)
		std::printf("  maxstbl %u", *f.maxstbl);
	if (f.relaxed)
		std::printf("  %s", *f.relaxed ? "relaxed" : "strict");
	std::printf("\n");
	if (!f.stats)
		return;
	const auto &c = *f.stats;
	std::printf("  %-7s %12s %16s\n", "", "ops", "bytes");
	std::printf("  %-7s %12" PRIu64 " %16" PRIu64 "\n", "PCISTB", c.pcistb_ops,
		    c.pcistb_bytes);
	std::printf("  %-7s %12" PRIu64 " %16" PRIu64 "\n", "PCISTG", c.pcistg_ops,
		    c.pcistg_bytes);
	std::printf("  %-7s %12" PRIu64 " %16" PRIu64 "\n", "PCILG", c.pcilg_ops,
		    c.pcilg_bytes);
	std::printf("  requests %" PRIu64 " (%" PRIu64 " bytes copied in, %" PRIu64
		    " with a buffer of their own), failed %" PRIu64 "\n",
		    c.batches, c.req_bytes, c.req_allocs, c.errors);
	std::printf("  pinned pages %" PRIu64 " (held now %" PRIu64 ")\n",
		    c.pinned_pages, c.pins_held);
	auto list = [](const char *title, const std::vector<stats::entry> &es,
		       bool is_errno) {
		if (es.empty())
			return;
		std::printf("  %s:", title);
		for (const auto &e : es)
			std::printf(" %s=%" PRIu64,
				    is_errno ? errno_name(e.key).c_str()
					     : std::to_string(e.key).c_str(),
				    e.count);
		std::printf("\n");
	};
	list("by errno", c.by_errno, true);
	list("by cc", c.by_cc, false);
	list("by status", c.by_status, false);
}

} // namespace

int zpci_cmd_stats(int argc, char **argv)
{
	cli::args a;
	if (!a.parse("stats", argc, argv, 1,
		     {{"json", false}, {"reset", false}, {"fid", true}}))
		return exit_usage;
	if (!a.positional().empty()) {
		a.usage_error("unexpected argument '" + a.positional()[0] +
			      "' (usage: zpci stats [--json] [--reset] [--fid N])");
		return exit_usage;
	}
	auto fid64 = a.number("fid");
	if (a.failed())
		return exit_usage;
	if (fid64 && *fid64 > UINT32_MAX) {
		a.usage_error("--fid must fit in 32 bits");
		return exit_usage;
	}
	std::optional<std::uint32_t> fid;
	if (fid64)
		fid = static_cast<std::uint32_t>(*fid64);
	bool as_json = a.flag("json");

	auto c = stats::client::open();
	if (!c) {
		if (driver_missing(c.error()))
			std::fprintf(stderr, "zpci stats: zpci_io driver not loaded "
				     "(generic netlink family '%s' not registered)\n",
				     ZPCI_NL_FAMILY);
		else
			fail("stats", "generic netlink", c.error());
		return exit_invalid;
	}
	auto fid_error = [&](const std::error_code &ec) {
		if (fid && ec == std::errc::no_such_device)
			std::fprintf(stderr, "zpci stats: no function with fid %s is "
				     "bound to zpci_io\n", hex(*fid).c_str());
		else if (ec == std::errc::operation_not_permitted)
			std::fprintf(stderr, "zpci stats: %s (resetting needs "
				     "CAP_NET_ADMIN)\n", ec.message().c_str());
		else
			fail("stats", "generic netlink", ec);
		return exit_invalid;
	};
	if (a.flag("reset")) {
		if (auto r = c->reset(fid); !r)
			return fid_error(r.error());
		if (as_json) {
			json j = {{"reset", true}, {"fid", nullptr}};
			if (fid)
				j["fid"] = *fid;
			print_json(j);
		} else if (fid) {
			std::printf("counters of fid %s reset\n", hex(*fid).c_str());
		} else {
			std::printf("counters of all functions reset\n");
		}
		return exit_ok;
	}
	std::vector<stats::function> fns;
	if (fid) {
		auto f = c->stats(*fid);
		if (!f)
			return fid_error(f.error());
		fns.push_back(std::move(*f));
	} else {
		auto all = c->stats();
		if (!all)
			return fid_error(all.error());
		fns = std::move(*all);
	}
	if (as_json) {
		json j = json::array();
		for (const auto &f : fns)
			j.push_back(function_stats_json(f));
		print_json(j);
		return exit_ok;
	}
	if (fns.empty())
		std::printf("no function is bound to zpci_io\n");
	for (const auto &f : fns)
		function_stats_text(f);
	return exit_ok;
}
