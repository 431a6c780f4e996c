// SPDX-License-Identifier: MIT
// Guest side of `make cost`: calls libzpci's C API (the calls QEMU makes
// for one guest instruction) between cost markers, so the host's TCG
// plugin counts the guest instructions of each call (tests/cost/README.md).
// Every measured call writes the deterministic pattern of
// tests/vm/host/zpci_vm_pattern.hpp, and the manifest tells the host
// verifier where: a call that did not store what it was asked to fails
// the run.
//
// Usage: zpci_cost --strict ADDR --ism ADDR --wide ADDR --manifest FILE --json FILE
//        [--rounds N]
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include "zpci/zpci.h"
#include "zpci/zpci_cost.h"
#include "../vm/host/zpci_vm_pattern.hpp"

namespace {

constexpr unsigned kBar = zpci_vm::kDataBar;

struct Args {
	std::string strict, ism, wide, manifest, json;
	int rounds = 201;
};

struct Written {
	const char *func;
	std::uint64_t off, len, seed;
	std::string label;
};

// One measurement: its markers are 0x7a5a1100 + k (before) and 0x7a5a1180 + k
// (after).  The asm needs literal ids, hence the switch.
#define MARK_PAIR(k)                                           \
	case k:                                                \
		if (begin)                                     \
			ZPCI_COST_MARK(0x7a5a1100U + (k));       \
		else                                           \
			ZPCI_COST_MARK(0x7a5a1180U + (k));       \
		break

void mark(int k, bool begin)
{
	switch (k) {
	MARK_PAIR(0); MARK_PAIR(1); MARK_PAIR(2); MARK_PAIR(3);
	MARK_PAIR(4); MARK_PAIR(5); MARK_PAIR(6); MARK_PAIR(7);
	default:
		std::abort();
	}
}

int open_region(const std::string &addr, zpci_handle **h)
{
	std::string spec = "region:" + addr;
	int rc = zpci_open(spec.c_str(), h);
	if (rc)
		std::fprintf(stderr, "zpci_cost: open %s: %s\n", spec.c_str(), zpci_strerror(rc));
	return rc;
}

struct Source {
	const std::uint8_t *p;
};

int read_source(void *opaque, void *buf, std::uint32_t len)
{
	std::memcpy(buf, static_cast<Source *>(opaque)->p, len);
	return 0;
}

}  // namespace

int main(int argc, char **argv)
{
	Args a;
	for (int i = 1; i + 1 < argc; i += 2) {
		std::string k = argv[i];
		if (k == "--strict") a.strict = argv[i + 1];
		else if (k == "--ism") a.ism = argv[i + 1];
		else if (k == "--wide") a.wide = argv[i + 1];
		else if (k == "--manifest") a.manifest = argv[i + 1];
		else if (k == "--json") a.json = argv[i + 1];
		else if (k == "--rounds") a.rounds = std::atoi(argv[i + 1]);
		else {
			std::fprintf(stderr, "zpci_cost: unknown argument %s\n", k.c_str());
			return 2;
		}
	}
	if (a.strict.empty() || a.ism.empty() || a.wide.empty() || a.manifest.empty() || a.rounds < 101) {
		std::fprintf(stderr, "usage: zpci_cost --strict ADDR --ism ADDR --wide ADDR --manifest FILE [--json FILE] [--rounds N>=101]\n");
		return 2;
	}
	zpci_handle *strict = nullptr, *ism = nullptr, *wide = nullptr;
	if (open_region(a.strict, &strict) || open_region(a.ism, &ism) ||
	    open_region(a.wide, &wide))
		return 1;

	std::vector<Written> written;
	int failures = 0;
	auto check = [&](const char *what, int rc, const zpci_status &st) {
		if (rc) {
			std::fprintf(stderr, "zpci_cost: %s: %s\n", what, zpci_status_str(rc, &st));
			failures++;
		}
		return rc == 0;
	};

	alignas(4096) static std::uint8_t buf[4096];
	std::printf("zpci_cost: %d rounds per measurement\n", a.rounds);

	// 0: PCISTG 8 bytes (strict), the value as the guest's register holds it
	{
		const std::uint64_t off = 0x100000, seed = 0xc0570;
		zpci_vm::pattern_fill(buf, 8, seed, off);
		std::uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v = v << 8 | buf[i];
		for (int r = 0; r < a.rounds; r++) {
			zpci_status st = ZPCI_STATUS_INIT;
			mark(0, true);
			int rc = zpci_pcistg(strict, kBar, off, 8, v, &st);
			mark(0, false);
			if (!check("pcistg 8", rc, st))
				break;
		}
		written.push_back({"strict", off, 8, seed, "cost:pcistg8"});
	}
	// 1: PCILG 8 bytes (strict) of what 0 stored
	{
		const std::uint64_t off = 0x100000;
		std::uint64_t want = 0;
		zpci_vm::pattern_fill(buf, 8, 0xc0570, off);
		for (int i = 0; i < 8; i++)
			want = want << 8 | buf[i];
		for (int r = 0; r < a.rounds; r++) {
			zpci_status st = ZPCI_STATUS_INIT;
			std::uint64_t v = 0;
			mark(1, true);
			int rc = zpci_pcilg(strict, kBar, off, 8, &v, &st);
			mark(1, false);
			if (!check("pcilg 8", rc, st))
				break;
			if (v != want) {
				std::fprintf(stderr, "zpci_cost: pcilg read 0x%016" PRIx64 ", stored 0x%016" PRIx64 "\n", v, want);
				failures++;
				break;
			}
		}
	}
	// 2: PCISTB 128 bytes (strict)
	{
		const std::uint64_t off = 0x101000, seed = 0xc0571;
		zpci_vm::pattern_fill(buf, 128, seed, off);
		for (int r = 0; r < a.rounds; r++) {
			zpci_status st = ZPCI_STATUS_INIT;
			mark(2, true);
			int rc = zpci_pcistb(strict, kBar, off, buf, 128, 0x10000, &st);
			mark(2, false);
			if (!check("pcistb 128", rc, st))
				break;
		}
		written.push_back({"strict", off, 128, seed, "cost:pcistb128"});
	}
	// 3: PCISTB 4 KiB (ism: relaxed, maxstbl 4096) as QEMU issues it:
	// zpci_pcistb_guest, the guest's source read into the library's buffer
	{
		const std::uint64_t off = 0x102000, seed = 0xc0572;
		static std::uint8_t src[4096];
		zpci_vm::pattern_fill(src, sizeof(src), seed, off);
		Source s{src};
		for (int r = 0; r < a.rounds; r++) {
			zpci_status st = ZPCI_STATUS_INIT;
			mark(3, true);
			int rc = zpci_pcistb_guest(ism, kBar, off, 4096, 0x20000, read_source, &s, &st);
			mark(3, false);
			if (!check("pcistb_guest 4096", rc, st))
				break;
		}
		written.push_back({"ism", off, 4096, seed, "cost:pcistb_guest4k"});
	}
	// 5: PCISTB 4 KiB on wide (strict alignment, maxstbl 4096)
	{
		const std::uint64_t off = 0x103000, seed = 0xc0573;
		static std::uint8_t src[4096];
		zpci_vm::pattern_fill(src, sizeof(src), seed, off);
		Source s{src};
		for (int r = 0; r < a.rounds; r++) {
			zpci_status st = ZPCI_STATUS_INIT;
			mark(5, true);
			int rc = zpci_pcistb_guest(wide, kBar, off, 4096, 0x30000, read_source, &s, &st);
			mark(5, false);
			if (!check("pcistb_guest 4096 (wide)", rc, st))
				break;
		}
		written.push_back({"wide", off, 4096, seed, "cost:pcistb_guest4k_wide"});
	}
	// 4: the syscall floor: getppid
	for (int r = 0; r < a.rounds; r++) {
		mark(4, true);
		(void)getppid();
		mark(4, false);
	}

	FILE *m = std::fopen(a.manifest.c_str(), "w");
	if (!m) {
		std::perror(a.manifest.c_str());
		return 1;
	}
	std::fprintf(m, "zpci-vm-manifest 1\n");
	for (auto &w : written)
		std::fprintf(m, "written %s 0x%" PRIx64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n",
			     w.func, w.off, w.len, w.seed, w.off, w.label.c_str());
	std::fclose(m);
	zpci_close(strict);
	zpci_close(ism);
	zpci_close(wide);
	std::printf("zpci_cost: %s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
