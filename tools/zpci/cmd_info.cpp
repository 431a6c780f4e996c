// SPDX-License-Identifier: MIT
// `zpci info [--json] [<pci-addr>]`: functions bound to vfio / zpci_io, or
// everything vfio and the driver report about one of them.
// Exit: 0 ok, 1 failure (device or driver not there, permission), 2 usage.
#include <linux/vfio.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <zpci/stats.hpp>
#include <zpci/vfio.hpp>
#include <zpci/zpci.h>
#include <zpci/zpci_abi.h>

#include "args.hpp"
#include "commands.hpp"
#include "format.hpp"

using namespace zpci;
using namespace zpci::cli;

namespace {

// ---- the path decision (zpci_decide, docs/ARCHITECTURE.md) ----

// An MSI-X capability in the function's config space (sysfs; only root
// reads past the first 64 bytes, so without root this may say no).
bool has_msix_cap(const std::string &addr)
{
	std::string p = "/sys/bus/pci/devices/" + addr + "/config";
	std::FILE *f = std::fopen(p.c_str(), "rb");
	if (!f)
		return false;
	unsigned char c[256] = {};
	std::size_t n = std::fread(c, 1, sizeof(c), f);
	std::fclose(f);
	if (n < 64 || !(c[6] & 0x10))	// status: capabilities list
		return false;
	unsigned pos = c[0x34] & 0xfc;
	for (int guard = 0; pos >= 0x40 && pos + 1 < n && guard < 48; guard++) {
		if (c[pos] == 0x11)	// PCI_CAP_ID_MSIX
			return true;
		pos = c[pos + 1] & 0xfc;
	}
	return false;
}

zpci_decision decide_for(bool region, bool msix, bool relaxed, unsigned pft,
			 bool pcistb_only)
{
	zpci_decision_input in{};
	in.size = sizeof(in);
	in.host_mio = zpci_host_has_mio() > 0;
	in.has_msix = msix;
	in.relaxed = relaxed;
	in.pft = static_cast<std::uint8_t>(pft);
	in.pcistb_only = pcistb_only;
	in.region = region;
	zpci_decision d{};
	d.size = sizeof(d);
	if (zpci_decide(&in, &d) != 0)
		d.reason = "?";
	return d;
}

// ---- zpci info (list) ----

// The decision for a function the list shows: the driver's view of it
// when zpci_io has it, else what sysfs says.
zpci_decision decide_for_function(const std::string &addr, const stats::function *f)
{
	unsigned pft = f && f->pft ? *f->pft : 0;
	return decide_for(driver_of(addr) == "zpci_io", has_msix_cap(addr),
			  f && f->relaxed && *f->relaxed, pft, pft == ZPCI_PFT_ISM);
}

int info_list(bool as_json)
{
	auto fns = vfio::list_vfio_functions();
	if (!fns)
		return fail("info", "/sys/bus/pci/devices", fns.error());
	// The driver's view, when it is loaded.
	std::vector<stats::function> drv;
	std::error_code nl_err;
	if (auto c = stats::client::open()) {
		if (auto f = c->functions())
			drv = std::move(*f);
		else
			nl_err = f.error();
	} else {
		nl_err = c.error();
	}
	bool loaded = !nl_err;
	auto find = [&](const std::string &a) -> const stats::function * {
		for (const auto &f : drv)
			if (f.pci_addr == a)
				return &f;
		return nullptr;
	};
	// Functions the driver lists but sysfs did not show (unlikely) too.
	std::vector<std::string> addrs = *fns;
	for (const auto &f : drv)
		if (!f.pci_addr.empty() &&
		    std::find(addrs.begin(), addrs.end(), f.pci_addr) == addrs.end())
			addrs.push_back(f.pci_addr);

	if (as_json) {
		json j = {{"driver_loaded", loaded}};
		if (nl_err && !driver_missing(nl_err))
			j["driver_error"] = nl_err.message();
		json fjs = json::array();
		for (const auto &a : addrs) {
			const auto *f = find(a);
			json fj = {{"pci_addr", a}, {"driver", driver_of(a)}};
			zpci_decision d = decide_for_function(a, f);
			fj["path"] = zpci_path_name(d.path);
			fj["path_reason"] = d.reason;
			if (f) {
				add_function_fields(fj, *f);
				if (f->bar_mask)
					fj["bar_mask"] = *f->bar_mask;
				fj["bar_size"] = f->bar_size;
			}
			fjs.push_back(std::move(fj));
		}
		j["functions"] = std::move(fjs);
		print_json(j);
		return exit_ok;
	}
	if (loaded)
		std::printf("zpci_io driver: loaded, %zu function(s) bound\n", drv.size());
	else if (driver_missing(nl_err))
		std::printf("zpci_io driver: not loaded\n");
	else
		std::printf("zpci_io driver: unknown (%s)\n", nl_err.message().c_str());
	if (addrs.empty()) {
		std::printf("no PCI function is bound to vfio\n");
		return exit_ok;
	}
	std::printf("%-13s %-18s %-10s %-10s %-3s %-7s %-7s %-20s %s\n", "PCI address",
		    "driver", "fid", "uid", "pft", "maxstbl", "relaxed", "path", "BARs");
	std::vector<std::string> reasons;
	for (const auto &a : addrs) {
		const auto *f = find(a);
		std::string bars;
		if (f)
			for (unsigned i = 0; i < f->bar_size.size(); i++)
				if (f->bar_size[i])
					bars += (bars.empty() ? "" : " ") + std::to_string(i) +
						":" + size_str(f->bar_size[i]);
		zpci_decision d = decide_for_function(a, f);
		std::printf("%-13s %-18s %-10s %-10s %-3s %-7s %-7s %-20s %s\n", a.c_str(),
			    driver_of(a).c_str(), f ? hex(f->fid).c_str() : "-",
			    f && f->uid ? hex(*f->uid).c_str() : "-",
			    f && f->pft ? std::to_string(*f->pft).c_str() : "-",
			    f && f->maxstbl ? std::to_string(*f->maxstbl).c_str() : "-",
			    f && f->relaxed ? (*f->relaxed ? "yes" : "no") : "-",
			    zpci_path_name(d.path), bars.empty() ? "-" : bars.c_str());
		reasons.push_back(a + ": " + zpci_path_name(d.path) + ": " + d.reason);
	}
	std::printf("path decision (host MIO: %s):\n",
		    zpci_host_has_mio() > 0 ? "yes" : "no");
	for (const auto &r : reasons)
		std::printf("  %s\n", r.c_str());
	return exit_ok;
}

// ---- zpci info <addr> ----

json caps_json(const zpci_caps &c)
{
	return {{"maxstbl", c.maxstbl},
		{"relaxed", (c.flags & ZPCI_CAPS_RELAXED) != 0},
		{"bar_mask", c.bar_mask},
		{"pcistg_mask", c.pcistg_mask},
		{"pft", c.pft},
		{"bar_size", c.bar_size}};
}

void caps_text(const char *title, const zpci_caps &c)
{
	std::printf("%s: maxstbl %u, %s alignment, pft %u, BARs 0x%02x, PCISTG on 0x%02x\n",
		    title, c.maxstbl, (c.flags & ZPCI_CAPS_RELAXED) ? "relaxed" : "strict",
		    c.pft, c.bar_mask, c.pcistg_mask);
}

std::string features_str(std::uint64_t f)
{
	std::string s;
	auto add = [&](std::uint64_t bit, const char *n) {
		if (f & bit)
			s += (s.empty() ? "" : ",") + std::string(n);
	};
	add(ZPCI_IO_FEAT_PCISTB, "pcistb");
	add(ZPCI_IO_FEAT_PCISTG, "pcistg");
	add(ZPCI_IO_FEAT_PCILG, "pcilg");
	add(ZPCI_IO_FEAT_STATUS, "status");
	return s.empty() ? "-" : s;
}

json zdev_json(const vfio::zdev_caps &z)
{
	json j = json::object();
	if (z.has_base) {
		json b = {{"version", z.base_version}, {"start_dma", z.start_dma},
			  {"end_dma", z.end_dma}, {"pchid", z.pchid}, {"vfn", z.vfn},
			  {"fmb_length", z.fmb_length}, {"pft", z.pft}, {"gid", z.gid}};
		if (z.has_fh)
			b["fh"] = z.fh;
		j["base"] = std::move(b);
	}
	if (z.has_group) {
		json g = {{"version", z.group_version}, {"dasm", z.dasm},
			  {"msi_addr", z.msi_addr}, {"flags", z.group_flags},
			  {"mui", z.mui}, {"noi", z.noi}, {"maxstbl", z.maxstbl},
			  {"pci_version", z.pci_version}};
		if (z.has_imaxstbl)
			g["imaxstbl"] = z.imaxstbl;
		j["group"] = std::move(g);
	}
	if (z.has_util)
		j["util"] = hexbytes(z.util);
	if (z.has_pfip)
		j["pfip"] = hexbytes(z.pfip);
	return j;
}

json io_feature_json(const vfio::device_info &d)
{
	if (!d.io_feature && !d.io_legacy_region)
		return nullptr;
	json j = {{"feature", ZPCI_IO_FEATURE}, {"legacy_region", d.io_legacy_region}};
	if (d.io) {
		const zpci_io_info &io = *d.io;
		j.update(json{{"abi_version", io.abi_version},
			      {"abi_min_compat", io.abi_min_compat},
			      {"library_abi_version", ZPCI_IO_ABI_VERSION},
			      {"features", io.features}, {"flags", io.flags},
			      {"fid", io.fid}, {"uid", io.uid}, {"maxstbl", io.maxstbl},
			      {"max_ops", io.max_ops}, {"max_req_size", io.max_req_size},
			      {"req_hdr_size", io.req_hdr_size}, {"op_size", io.op_size},
			      {"bar_mask", io.bar_mask}, {"pcistg_mask", io.pcistg_mask}});
		if (io.flags & ZPCI_IO_INFO_MSIX)
			j.update(json{{"msix_table_bar", io.msix_table_bar},
				      {"msix_table_offset", io.msix_table_offset},
				      {"msix_table_size", io.msix_table_size},
				      {"msix_pba_bar", io.msix_pba_bar},
				      {"msix_pba_offset", io.msix_pba_offset},
				      {"msix_pba_size", io.msix_pba_size}});
	}
	j["usable"] = !d.io_error;
	if (d.io_error)
		j["error"] = d.io_error.message();
	return j;
}

json device_json(const std::string &addr, const vfio::device_info &d,
		 const zpci_caps &fb, const std::optional<zpci_caps> &rc,
		 const zpci_decision &dec, bool msix)
{
	json bars = json::array();
	for (unsigned i = 0; i < d.bars.size(); i++)
		bars.push_back({{"index", i}, {"size", d.bars[i].size},
				{"flags", d.bars[i].flags}});
	json j = {{"pci_addr", d.pci_addr}, {"driver", driver_of(addr)},
		  {"access", d.access}, {"num_regions", d.num_regions},
		  {"num_irqs", d.num_irqs}, {"bars", std::move(bars)},
		  {"zdev", zdev_json(d.zdev)}, {"io_feature", io_feature_json(d)},
		  {"fallback_caps", caps_json(fb)}};
	if (rc)
		j["region_caps"] = caps_json(*rc);
	j["decision"] = {{"path", zpci_path_name(dec.path)},
			 {"reason", dec.reason},
			 {"host_mio", zpci_host_has_mio() > 0},
			 {"has_msix", msix}};
	return j;
}

int info_device(const std::string &addr, bool as_json)
{
	auto q = vfio::query_device(addr);
	if (!q) {
		if (q.error() == std::errc::no_such_file_or_directory)
			std::fprintf(stderr, "zpci info: %s: no such PCI function, or it "
				     "is not bound to vfio (no IOMMU group)\n", addr.c_str());
		else
			fail("info", addr, q.error());
		return exit_invalid;
	}
	const vfio::device_info &d = *q;
	const vfio::zdev_caps &z = d.zdev;
	zpci_caps fb = vfio::fallback_caps(d);
	std::optional<zpci_caps> rc;
	if (d.io && !d.io_error)
		if (auto c = vfio::region_caps(*d.io, d.zdev))
			rc = *c;
	const zpci_caps &eff = rc ? *rc : fb;
	const bool msix = d.io ? (d.io->flags & ZPCI_IO_INFO_MSIX) != 0 : has_msix_cap(addr);
	const zpci_decision dec =
		decide_for(rc.has_value(), msix, eff.flags & ZPCI_CAPS_RELAXED, eff.pft,
			   (eff.bar_mask & ~eff.pcistg_mask) != 0);

	if (as_json) {
		print_json(device_json(addr, d, fb, rc, dec, msix));
		return exit_ok;
	}

	std::printf("%s  driver %s  (%s)\n", d.pci_addr.c_str(),
		    driver_of(addr).c_str(), d.access.c_str());
	std::printf("vfio: %u regions, %u irqs, flags 0x%x\n", d.num_regions,
		    d.num_irqs, d.flags);
	for (unsigned i = 0; i < d.bars.size(); i++)
		if (d.bars[i].size)
			std::printf("  BAR %u: %s bytes%s%s\n", i,
				    size_str(d.bars[i].size).c_str(),
				    d.bars[i].flags & VFIO_REGION_INFO_FLAG_READ ? " r" : "",
				    d.bars[i].flags & VFIO_REGION_INFO_FLAG_WRITE ? "w" : "");
	if (z.has_base)
		std::printf("zPCI base (v%u): pft %u, gid %u, pchid 0x%x, vfn %u, dma "
			    "0x%" PRIx64 "-0x%" PRIx64 "%s\n",
			    z.base_version, z.pft, z.gid, z.pchid, z.vfn, z.start_dma,
			    z.end_dma, z.has_fh ? (", fh " + hex(z.fh)).c_str() : "");
	if (z.has_group) {
		std::printf("zPCI group (v%u): maxstbl %u", z.group_version, z.maxstbl);
		if (z.has_imaxstbl)
			std::printf(", imaxstbl %u", z.imaxstbl);
		std::printf(", noi %u, pci version %u\n", z.noi, z.pci_version);
	}
	if (z.has_util)
		std::printf("zPCI util: %s\n", hexbytes(z.util).c_str());
	if (z.has_pfip)
		std::printf("zPCI pfip: %s\n", hexbytes(z.pfip).c_str());
	if (!z.has_base && !z.has_group)
		std::printf("no zPCI capabilities (not an s390 zPCI function)\n");
	if (d.io_legacy_region) {
		std::printf("zPCI I/O: a zpci_io driver of ABI 1 or 2 (region), too old "
			    "for this library (ABI %u)\n", ZPCI_IO_ABI_VERSION);
	} else if (!d.io_feature) {
		std::printf("zPCI I/O feature: none (zpci_io not bound)\n");
	} else {
		std::printf("zPCI I/O feature: VFIO_DEVICE_FEATURE 0x%x\n", ZPCI_IO_FEATURE);
		if (d.io) {
			const zpci_io_info &io = *d.io;
			std::printf("  driver ABI v%u (accepts requests >= v%u), library ABI v%u\n",
				    io.abi_version, io.abi_min_compat, ZPCI_IO_ABI_VERSION);
			std::printf("  max_req_size %u, header %u, op %u bytes\n",
				    io.max_req_size, io.req_hdr_size, io.op_size);
			std::printf("  fid %s, uid %s, maxstbl %u, max_ops %u, "
				    "features %s%s%s\n",
				    hex(io.fid).c_str(), hex(io.uid).c_str(),
				    io.maxstbl, io.max_ops, features_str(io.features).c_str(),
				    (io.flags & ZPCI_IO_INFO_RELAXED) ? ", relaxed" : "",
				    (io.flags & ZPCI_IO_INFO_RELAXED_OVERRIDE) ? " (admin)" : "");
			if (io.flags & ZPCI_IO_INFO_MSIX)
				std::printf("  MSI-X table BAR %u +0x%" PRIx64 " (%" PRIu64
					    "), PBA BAR %u +0x%" PRIx64 " (%" PRIu64 ")\n",
					    io.msix_table_bar,
					    std::uint64_t(io.msix_table_offset),
					    std::uint64_t(io.msix_table_size),
					    io.msix_pba_bar,
					    std::uint64_t(io.msix_pba_offset),
					    std::uint64_t(io.msix_pba_size));
		}
		if (d.io_error)
			std::printf("  NOT usable: %s%s\n", d.io_error.message().c_str(),
				    d.io_error == std::errc::protocol_error
					    ? " (ABI mismatch or bad values)"
					    : "");
	}
	caps_text("fallback path caps", fb);
	if (rc)
		caps_text("region path caps", *rc);
	std::printf("path decision: %s: %s\n", zpci_path_name(dec.path), dec.reason);
	return exit_ok;
}

} // namespace

int zpci_cmd_info(int argc, char **argv)
{
	cli::args a;
	if (!a.parse("info", argc, argv, 1, {{"json", false}}))
		return exit_usage;
	const auto &pos = a.positional();
	if (pos.size() > 1) {
		a.usage_error("at most one PCI address (usage: zpci info [--json] "
			      "[<dddd:bb:dd.f>])");
		return exit_usage;
	}
	bool as_json = a.flag("json");
	if (pos.empty())
		return info_list(as_json);
	if (!vfio::valid_pci_addr(pos[0])) {
		a.usage_error("bad PCI address '" + pos[0] +
			      "' (expected dddd:bb:dd.f, e.g. 0000:00:00.0)");
		return exit_usage;
	}
	return info_device(pos[0], as_json);
}

