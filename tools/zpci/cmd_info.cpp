// SPDX-License-Identifier: MIT
// `zpci info [--json] [<pci-addr>]`: functions bound to vfio / zpci_io, or
// everything vfio and the driver report about one of them.
// `zpci stats [--json] [--reset] [--fid N]`: the zpci_io driver's counters.
// Exit: 0 ok, 1 failure (device or driver not there, permission), 2 usage.
#include <cerrno>
#include <linux/vfio.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include <zpci/stats.hpp>
#include <zpci/vfio.hpp>
#include <zpci/zpci.h>
#include <zpci/zpci_abi.h>

#include "args.hpp"
#include "commands.hpp"

using namespace zpci;
using zpci::cli::exit_invalid;
using zpci::cli::exit_ok;
using zpci::cli::exit_usage;

namespace {

// A small JSON writer: commas and string escaping, nothing else.
class json {
public:
	json &obj(const char *k = nullptr) { return open(k, '{'); }
	json &arr(const char *k = nullptr) { return open(k, '['); }
	json &end()
	{
		char c = stack_.back() == '{' ? '}' : ']';
		stack_.pop_back();
		first_.pop_back();
		out_ += c;
		return *this;
	}
	json &num(const char *k, std::uint64_t v)
	{
		key(k);
		out_ += std::to_string(v);
		return *this;
	}
	json &boolean(const char *k, bool v)
	{
		key(k);
		out_ += v ? "true" : "false";
		return *this;
	}
	json &null(const char *k)
	{
		key(k);
		out_ += "null";
		return *this;
	}
	json &str(const char *k, const std::string &v)
	{
		key(k);
		out_ += '"';
		for (unsigned char c : v) {
			if (c == '"' || c == '\\') {
				out_ += '\\';
				out_ += static_cast<char>(c);
			} else if (c < 0x20) {
				char b[8];
				std::snprintf(b, sizeof(b), "\\u%04x", c);
				out_ += b;
			} else {
				out_ += static_cast<char>(c);
			}
		}
		out_ += '"';
		return *this;
	}
	void print() const { std::printf("%s\n", out_.c_str()); }

private:
	json &open(const char *k, char c)
	{
		key(k);
		out_ += c;
		stack_.push_back(c);
		first_.push_back(true);
		return *this;
	}
	void key(const char *k)
	{
		if (!first_.empty()) {
			if (!first_.back())
				out_ += ',';
			first_.back() = false;
		}
		if (k) {
			out_ += '"';
			out_ += k;
			out_ += "\":";
		}
	}
	std::string out_;
	std::string stack_;
	std::vector<bool> first_;
};

std::string hex(std::uint64_t v)
{
	char b[24];
	std::snprintf(b, sizeof(b), "0x%" PRIx64, v);
	return b;
}

std::string size_str(std::uint64_t v)
{
	char b[32];
	if (v && !(v % (1ULL << 30)))
		std::snprintf(b, sizeof(b), "%" PRIu64 "G", v >> 30);
	else if (v && !(v % (1ULL << 20)))
		std::snprintf(b, sizeof(b), "%" PRIu64 "M", v >> 20);
	else if (v && !(v % 1024))
		std::snprintf(b, sizeof(b), "%" PRIu64 "K", v >> 10);
	else
		std::snprintf(b, sizeof(b), "%" PRIu64, v);
	return b;
}

// The errno names the driver's statistics can hold (strerrorname_np is
// glibc-only); others print as numbers.
std::string errno_name(std::uint32_t e)
{
	static const struct {
		int no;
		const char *name;
	} names[] = {
		{EPERM, "EPERM"}, {EINTR, "EINTR"}, {EIO, "EIO"}, {ENXIO, "ENXIO"},
		{E2BIG, "E2BIG"}, {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"},
		{EACCES, "EACCES"}, {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"},
		{ENODEV, "ENODEV"}, {EINVAL, "EINVAL"}, {ENOSPC, "ENOSPC"},
		{ENOTTY, "ENOTTY"}, {ERANGE, "ERANGE"}, {ENOSYS, "ENOSYS"},
		{EPROTO, "EPROTO"}, {EOVERFLOW, "EOVERFLOW"},
		{EOPNOTSUPP, "EOPNOTSUPP"}, {ETIMEDOUT, "ETIMEDOUT"},
	};
	for (const auto &n : names)
		if (static_cast<std::uint32_t>(n.no) == e)
			return n.name;
	return std::to_string(e);
}

std::string hexbytes(const std::vector<std::uint8_t> &v)
{
	std::string s;
	char b[4];
	for (auto c : v) {
		std::snprintf(b, sizeof(b), "%02x", c);
		s += b;
	}
	return s;
}

// The driver bound to a PCI function, from sysfs ("" when none).
std::string driver_of(const std::string &addr)
{
	std::string link = "/sys/bus/pci/devices/" + addr + "/driver";
	char buf[512];
	ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf) - 1);
	if (n <= 0)
		return "";
	std::string s(buf, static_cast<std::size_t>(n));
	return s.substr(s.rfind('/') + 1);
}

int fail(const char *cmd, const std::string &what, const std::error_code &ec)
{
	std::fprintf(stderr, "zpci %s: %s: %s\n", cmd, what.c_str(),
		     ec.message().c_str());
	return exit_invalid;
}

bool driver_missing(const std::error_code &ec)
{
	return ec == std::errc::no_such_file_or_directory;
}

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
		json j;
		j.obj();
		j.boolean("driver_loaded", loaded);
		if (nl_err && !driver_missing(nl_err))
			j.str("driver_error", nl_err.message());
		j.arr("functions");
		for (const auto &a : addrs) {
			j.obj();
			j.str("pci_addr", a);
			j.str("driver", driver_of(a));
			{
				const auto *f = find(a);
				unsigned pft = f && f->pft ? *f->pft : 0;
				zpci_decision d = decide_for(driver_of(a) == "zpci_io",
							     has_msix_cap(a),
							     f && f->relaxed && *f->relaxed,
							     pft, pft == ZPCI_PFT_ISM);
				j.str("path", zpci_path_name(d.path));
				j.str("path_reason", d.reason);
			}
			if (const auto *f = find(a)) {
				j.num("fid", f->fid);
				if (f->uid)
					j.num("uid", *f->uid);
				if (f->pft)
					j.num("pft", *f->pft);
				if (f->maxstbl)
					j.num("maxstbl", *f->maxstbl);
				if (f->relaxed)
					j.boolean("relaxed", *f->relaxed);
				if (f->bar_mask)
					j.num("bar_mask", *f->bar_mask);
				j.arr("bar_size");
				for (auto s : f->bar_size)
					j.num(nullptr, s);
				j.end();
			}
			j.end();
		}
		j.end();
		j.end();
		j.print();
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
		unsigned pft = f && f->pft ? *f->pft : 0;
		zpci_decision d = decide_for(driver_of(a) == "zpci_io", has_msix_cap(a),
					     f && f->relaxed && *f->relaxed, pft,
					     pft == ZPCI_PFT_ISM);
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

void caps_json(json &j, const char *k, const zpci_caps &c)
{
	j.obj(k);
	j.num("maxstbl", c.maxstbl);
	j.boolean("relaxed", c.flags & ZPCI_CAPS_RELAXED);
	j.num("bar_mask", c.bar_mask);
	j.num("pcistg_mask", c.pcistg_mask);
	j.num("pft", c.pft);
	j.arr("bar_size");
	for (auto s : c.bar_size)
		j.num(nullptr, s);
	j.end();
	j.end();
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
		json j;
		j.obj();
		j.str("pci_addr", d.pci_addr);
		j.str("driver", driver_of(addr));
		j.str("access", d.access);
		j.num("num_regions", d.num_regions);
		j.num("num_irqs", d.num_irqs);
		j.arr("bars");
		for (unsigned i = 0; i < d.bars.size(); i++) {
			j.obj();
			j.num("index", i);
			j.num("size", d.bars[i].size);
			j.num("flags", d.bars[i].flags);
			j.end();
		}
		j.end();
		j.obj("zdev");
		if (z.has_base) {
			j.obj("base");
			j.num("version", z.base_version);
			j.num("start_dma", z.start_dma);
			j.num("end_dma", z.end_dma);
			j.num("pchid", z.pchid);
			j.num("vfn", z.vfn);
			j.num("fmb_length", z.fmb_length);
			j.num("pft", z.pft);
			j.num("gid", z.gid);
			if (z.has_fh)
				j.num("fh", z.fh);
			j.end();
		}
		if (z.has_group) {
			j.obj("group");
			j.num("version", z.group_version);
			j.num("dasm", z.dasm);
			j.num("msi_addr", z.msi_addr);
			j.num("flags", z.group_flags);
			j.num("mui", z.mui);
			j.num("noi", z.noi);
			j.num("maxstbl", z.maxstbl);
			j.num("pci_version", z.pci_version);
			if (z.has_imaxstbl)
				j.num("imaxstbl", z.imaxstbl);
			j.end();
		}
		if (z.has_util)
			j.str("util", hexbytes(z.util));
		if (z.has_pfip)
			j.str("pfip", hexbytes(z.pfip));
		j.end();
		if (d.io_feature || d.io_legacy_region) {
			j.obj("io_feature");
			j.num("feature", ZPCI_IO_FEATURE);
			j.boolean("legacy_region", d.io_legacy_region);
			if (d.io) {
				const zpci_io_info &io = *d.io;
				j.num("abi_version", io.abi_version);
				j.num("abi_min_compat", io.abi_min_compat);
				j.num("library_abi_version", ZPCI_IO_ABI_VERSION);
				j.num("features", io.features);
				j.num("flags", io.flags);
				j.num("fid", io.fid);
				j.num("uid", io.uid);
				j.num("maxstbl", io.maxstbl);
				j.num("max_ops", io.max_ops);
				j.num("max_req_size", io.max_req_size);
				j.num("req_hdr_size", io.req_hdr_size);
				j.num("op_size", io.op_size);
				j.num("bar_mask", io.bar_mask);
				j.num("pcistg_mask", io.pcistg_mask);
				if (io.flags & ZPCI_IO_INFO_MSIX) {
					j.num("msix_table_bar", io.msix_table_bar);
					j.num("msix_table_offset", io.msix_table_offset);
					j.num("msix_table_size", io.msix_table_size);
					j.num("msix_pba_bar", io.msix_pba_bar);
					j.num("msix_pba_offset", io.msix_pba_offset);
					j.num("msix_pba_size", io.msix_pba_size);
				}
			}
			j.boolean("usable", !d.io_error);
			if (d.io_error)
				j.str("error", d.io_error.message());
			j.end();
		} else {
			j.null("io_feature");
		}
		caps_json(j, "fallback_caps", fb);
		if (rc)
			caps_json(j, "region_caps", *rc);
		j.obj("decision");
		j.str("path", zpci_path_name(dec.path));
		j.str("reason", dec.reason);
		j.boolean("host_mio", zpci_host_has_mio() > 0);
		j.boolean("has_msix", msix);
		j.end();
		j.end();
		j.print();
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

// ---- zpci stats ----

void entries_json(json &j, const char *k, const std::vector<stats::entry> &es)
{
	j.arr(k);
	for (const auto &e : es) {
		j.obj();
		j.num("key", e.key);
		j.num("count", e.count);
		j.end();
	}
	j.end();
}

void function_stats_json(json &j, const stats::function &f)
{
	j.obj();
	j.num("fid", f.fid);
	j.str("pci_addr", f.pci_addr);
	if (f.uid)
		j.num("uid", *f.uid);
	if (f.pft)
		j.num("pft", *f.pft);
	if (f.maxstbl)
		j.num("maxstbl", *f.maxstbl);
	if (f.relaxed)
		j.boolean("relaxed", *f.relaxed);
	if (f.stats) {
		const auto &c = *f.stats;
		j.obj("stats");
		j.num("pcistb_ops", c.pcistb_ops);
		j.num("pcistb_bytes", c.pcistb_bytes);
		j.num("pcistg_ops", c.pcistg_ops);
		j.num("pcistg_bytes", c.pcistg_bytes);
		j.num("pcilg_ops", c.pcilg_ops);
		j.num("pcilg_bytes", c.pcilg_bytes);
		j.num("batches", c.batches);
		j.num("pinned_pages", c.pinned_pages);
		j.num("pins_held", c.pins_held);
		j.num("req_bytes", c.req_bytes);
		j.num("req_allocs", c.req_allocs);
		j.num("errors", c.errors);
		entries_json(j, "by_errno", c.by_errno);
		entries_json(j, "by_cc", c.by_cc);
		entries_json(j, "by_status", c.by_status);
		j.end();
	}
	j.end();
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
			json j;
			j.obj();
			j.boolean("reset", true);
			if (fid)
				j.num("fid", *fid);
			else
				j.null("fid");
			j.end();
			j.print();
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
		json j;
		j.arr();
		for (const auto &f : fns)
			function_stats_json(j, f);
		j.end();
		j.print();
		return exit_ok;
	}
	if (fns.empty())
		std::printf("no function is bound to zpci_io\n");
	for (const auto &f : fns)
		function_stats_text(f);
	return exit_ok;
}
