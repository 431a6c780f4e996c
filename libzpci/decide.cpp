// SPDX-License-Identifier: MIT
// The path decision (docs/ARCHITECTURE.md, "Path decision") and host MIO
// detection.
#include <zpci/path.hpp>
#include <zpci/zpci.h>

#include "capi_internal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#if defined(__s390x__)
#include <sys/auxv.h>
#endif

namespace zpci::capi {

int host_mio_from_cpuinfo(const char *path) noexcept
{
	if (!path)
		return -EINVAL;
	std::FILE *f = std::fopen(path, "re");
	if (!f)
		return -errno;
	int ret = 0;
	char line[4096];
	while (std::fgets(line, sizeof(line), f)) {
		std::string_view l(line);
		// s390: "features\t: esan3 zarch ... pcimio sie"
		if (!l.starts_with("features"))
			continue;
		auto colon = l.find(':');
		if (colon == std::string_view::npos)
			continue;
		std::string_view rest = l.substr(colon + 1);
		while (!rest.empty()) {
			auto b = rest.find_first_not_of(" \t\n");
			if (b == std::string_view::npos)
				break;
			rest.remove_prefix(b);
			auto e = rest.find_first_of(" \t\n");
			std::string_view tok = rest.substr(0, e);
			if (tok == "pcimio")
				ret = 1;
			rest.remove_prefix(tok.size());
		}
		break;
	}
	std::fclose(f);
	return ret;
}

} // namespace zpci::capi

namespace {

struct row {
	unsigned path;
	const char *reason;
};

// One row per cell of the table in docs/ARCHITECTURE.md.
constexpr row R_MSIX = {ZPCI_PATH_REGION_MSIX_EMULATED,
	"zPCI I/O region; MSI-X table and PBA stay with the emulator's MSI-X emulation"};
constexpr row R_REGION = {ZPCI_PATH_REGION,
	"zPCI I/O region: each guest instruction re-issued as is"};
constexpr row R_FENCED = {ZPCI_PATH_FALLBACK,
	"zPCI I/O region fences every BAR (MSI-X location unknown): stock path"};
constexpr row R_REFUSE = {ZPCI_PATH_REFUSE,
	"PCISTB-only address space without the zPCI I/O region: its stores would be dropped"};
constexpr row R_RELAXED = {ZPCI_PATH_FALLBACK,
	"no zPCI I/O region: relaxed-alignment PCISTBs split into <= 8-byte stores"};
constexpr row R_MIO = {ZPCI_PATH_FALLBACK,
	"no zPCI I/O region: stock <= 8-byte path (host MIO stores)"};
constexpr row R_LEGACY = {ZPCI_PATH_FALLBACK,
	"no zPCI I/O region: stock <= 8-byte path (non-MIO PCISTG/PCILG)"};

row decide(const zpci_decision_input &in) noexcept
{
	if (in.region && !in.fenced)
		return in.has_msix ? R_MSIX : R_REGION;
	if (in.pcistb_only || in.pft == ZPCI_PFT_ISM)
		return R_REFUSE;
	// A region that refuses every BAR access serves nothing: an emulator
	// that forwarded such a function would take every access back on its
	// own path, with the maxstbl the region advertised.
	if (in.region)
		return R_FENCED;
	if (in.relaxed)
		return R_RELAXED;
	return in.host_mio ? R_MIO : R_LEGACY;
}

int put_decision(const row &r, zpci_decision *out) noexcept
{
	zpci_decision d{};
	d.path = r.path;
	d.reason = r.reason;
	std::uint32_t n = out->size ? out->size : sizeof(zpci_decision);
	n = std::min<std::uint32_t>(n, sizeof(d));
	d.size = n;
	std::memcpy(out, &d, n);
	return 0;
}

} // namespace

extern "C" {

int zpci_host_has_mio(void)
{
#if defined(__s390x__)
	// HWCAP_S390_PCI_MIO: set by the kernel when it uses MIO itself.
	if (getauxval(AT_HWCAP) & (1UL << 21))
		return 1;
#endif
	return zpci::capi::host_mio_from_cpuinfo("/proc/cpuinfo");
}

int zpci_decide(const zpci_decision_input *in, zpci_decision *out)
{
	if (!in || !out)
		return -EINVAL;
	// Read what the caller's struct has; missing fields are 0.
	zpci_decision_input v{};
	std::uint32_t n = in->size ? in->size : sizeof(v);
	std::memcpy(&v, in, std::min<std::uint32_t>(n, sizeof(v)));
	return put_decision(decide(v), out);
}

int zpci_decide_handle(const zpci_handle *h, zpci_decision *out)
{
	if (!h || !out)
		return -EINVAL;
	zpci_decision_input in{};
	in.size = sizeof(in);
	{
		std::lock_guard g(h->lock);
		const zpci_caps &c = h->path->device_caps();
		const zpci_io_info *io = h->path->io_info();
		in.has_msix = io && (io->flags & ZPCI_IO_INFO_MSIX);
		in.fenced = io && (io->flags & ZPCI_IO_INFO_FENCED);
		in.relaxed = zpci_caps_relaxed(&c);
		in.pft = c.pft;
		in.pcistb_only = (c.bar_mask & ~c.pcistg_mask) != 0;
		in.region = h->backend == ZPCI_BACKEND_REGION ||
			    h->backend == ZPCI_BACKEND_SIM;
	}
	in.host_mio = zpci_host_has_mio() > 0;
	return zpci_decide(&in, out);
}

const char *zpci_path_name(unsigned int path)
{
	switch (path) {
	case ZPCI_PATH_REGION:
		return "region";
	case ZPCI_PATH_REGION_MSIX_EMULATED:
		return "region+msix-emulated";
	case ZPCI_PATH_FALLBACK:
		return "fallback";
	case ZPCI_PATH_REFUSE:
		return "refuse";
	default:
		return "unknown";
	}
}

} // extern "C"
