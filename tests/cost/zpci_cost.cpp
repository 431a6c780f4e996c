// SPDX-License-Identifier: MIT
// Guest side of `make cost`: calls libzpci's C API (the calls QEMU makes
// for one guest instruction) between cost markers, so the host's TCG
// plugin counts the guest instructions of each call (tests/cost/README.md).
// Every measured call writes the deterministic pattern of
// tests/vm/host/zpci_vm_pattern.hpp, and the manifest tells the host
// verifier where: a call that did not store what it was asked to fails
// the run.
//
// Usage: zpci_cost --strict ADDR --ism ADDR --wide ADDR --manifest FILE
//        [--rounds N]
//        zpci_cost --peer --strict ADDR --ism ADDR --wide ADDR --manifest FILE
// The second form measures the peers with the same markers: upstream's
// ism-vfio-pci (bound to the ism function): one pwrite() per PCISTB of
// 4 KiB, 16 of them for 64 KiB, and a pwrite() of 0 bytes (the floor of
// its write path: syscall, vfs, vfio, its region switch, nothing else);
// and vfio-pci's plain BAR pwrite() of 4 and 8 bytes (strict and wide
// bound to vfio-pci).  The raw phase (--phase raw, zpci_io bound) ends
// with the floor of the ioctl path: a VFIO_DEVICE_FEATURE PROBE of
// ZPCI_IO_FEATURE (syscall, vfio's feature dispatch, zpci_io's
// vfio_check_feature(), nothing else).
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "zpci/zpci.h"
#include "zpci/zpci_abi.h"
#include "zpci/zpci_cost.h"
#include "../vm/host/zpci_vm_pattern.hpp"

namespace {

constexpr unsigned kBar = zpci_vm::kDataBar;

struct Args {
	std::string strict, ism, wide, manifest, json;
	bool peer = false;
	std::string phase = "all";	// emu (C API) | raw (ABI requests) | all
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
	MARK_PAIR(8); MARK_PAIR(9); MARK_PAIR(10); MARK_PAIR(11);
	MARK_PAIR(12); MARK_PAIR(13); MARK_PAIR(14);
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

// A vfio device fd in group mode (type1 IOMMU, as QEMU opens it); -errno
int vfio_open(const std::string &addr)
{
	char link[256];
	std::string p = "/sys/bus/pci/devices/" + addr + "/iommu_group";
	ssize_t n = readlink(p.c_str(), link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	const char *g = std::strrchr(link, '/');
	std::string gpath = std::string("/dev/vfio/") + (g ? g + 1 : link);
	int container = open("/dev/vfio/vfio", O_RDWR);
	int group = open(gpath.c_str(), O_RDWR);
	if (container < 0 || group < 0)
		return -errno;
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return -errno;
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return -errno;
	int dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, addr.c_str());
	return dev < 0 ? -errno : dev;
}

// ism-vfio-pci: PCISTBs as pwrite()s of BAR 2's region, 4 KiB and 64 KiB
int run_peer(const Args &a, std::vector<Written> &written)
{
	int dev = vfio_open(a.ism);
	if (dev < 0) {
		std::fprintf(stderr, "zpci_cost: vfio open %s: %s\n", a.ism.c_str(), std::strerror(-dev));
		return 1;
	}
	vfio_region_info ri{};
	ri.argsz = sizeof(ri);
	ri.index = VFIO_PCI_BAR2_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0 || !(ri.flags & VFIO_REGION_INFO_FLAG_WRITE)) {
		std::fprintf(stderr, "zpci_cost: BAR 2 region info: %s\n", std::strerror(errno));
		return 1;
	}
	std::printf("zpci_cost: ism-vfio-pci BAR 2 at region offset 0x%llx, %llu bytes\n",
		    (unsigned long long)ri.offset, (unsigned long long)ri.size);
	alignas(4096) static std::uint8_t src[65536];
	int failures = 0;
	// 6: one 4 KiB PCISTB = one pwrite()
	{
		const std::uint64_t off = 0x104000, seed = 0xc0574;
		zpci_vm::pattern_fill(src, 4096, seed, off);
		for (int r = 0; r < a.rounds && !failures; r++) {
			mark(6, true);
			ssize_t n = pwrite(dev, src, 4096, ri.offset + off);
			mark(6, false);
			if (n != 4096) {
				std::fprintf(stderr, "zpci_cost: ism-vfio-pci pwrite 4096: %zd %s\n", n, std::strerror(errno));
				failures++;
			}
		}
		written.push_back({"ism", off, 4096, seed, "cost:ism_vfio_pci_4k"});
	}
	// 7: 64 KiB = 16 pwrite()s of 4 KiB (ism-vfio-pci takes <= 4 KiB per call)
	{
		const std::uint64_t off = 0x110000, seed = 0xc0575;
		zpci_vm::pattern_fill(src, sizeof(src), seed, off);
		for (int r = 0; r < a.rounds && !failures; r++) {
			mark(7, true);
			for (unsigned i = 0; i < 16; i++) {
				ssize_t n = pwrite(dev, src + i * 4096, 4096, ri.offset + off + i * 4096);
				if (n != 4096) {
					std::fprintf(stderr, "zpci_cost: ism-vfio-pci pwrite 64k: %zd %s\n", n, std::strerror(errno));
					failures++;
					break;
				}
			}
			mark(7, false);
		}
		written.push_back({"ism", off, sizeof(src), seed, "cost:ism_vfio_pci_64k"});
	}
	// 14: a pwrite() of 0 bytes: ism-vfio-pci returns before any work
	// (count 0), so this is the floor of its write path
	for (int r = 0; r < a.rounds && !failures; r++) {
		mark(14, true);
		ssize_t n = pwrite(dev, src, 0, ri.offset + 0x104000);
		mark(14, false);
		if (n != 0) {
			std::fprintf(stderr, "zpci_cost: ism-vfio-pci pwrite 0: %zd %s\n", n, std::strerror(errno));
			failures++;
		}
	}
	close(dev);
	// 8, 9: vfio-pci BAR 2 pwrite() of 4 bytes (strict) and 8 bytes (wide)
	const struct {
		const std::string *addr;
		const char *func;
		unsigned len;
	} plain[] = {{&a.strict, "strict", 4}, {&a.wide, "wide", 8}};
	for (int k = 0; k < 2 && !failures; k++) {
		int d = vfio_open(*plain[k].addr);
		if (d < 0) {
			std::fprintf(stderr, "zpci_cost: vfio open %s: %s\n", plain[k].addr->c_str(), std::strerror(-d));
			return 1;
		}
		vfio_region_info bi{};
		bi.argsz = sizeof(bi);
		bi.index = VFIO_PCI_BAR2_REGION_INDEX;
		if (ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &bi) < 0) {
			std::fprintf(stderr, "zpci_cost: %s BAR 2 region info: %s\n", plain[k].func, std::strerror(errno));
			return 1;
		}
		const std::uint64_t off = 0x120000, seed = 0xc0576 + k;
		zpci_vm::pattern_fill(src, plain[k].len, seed, off);
		for (int r = 0; r < a.rounds && !failures; r++) {
			mark(8 + k, true);
			ssize_t n = pwrite(d, src, plain[k].len, bi.offset + off);
			mark(8 + k, false);
			if (n != (ssize_t)plain[k].len) {
				std::fprintf(stderr, "zpci_cost: vfio-pci pwrite %u: %zd %s\n", plain[k].len, n, std::strerror(errno));
				failures++;
			}
		}
		written.push_back({plain[k].func, off, plain[k].len, seed, "cost:vfio_pci_pwrite"});
		close(d);
	}
	return failures ? 1 : 0;
}

#ifdef ZPCI_IO_FEATURE
// v3 raw requests (no libzpci): one self-contained request through
// VFIO_DEVICE_FEATURE SET; the data of a PCISTB > 8 bytes sits in the
// request's data area at a 4 KiB-aligned offset of the request.
struct RawReq {
	std::vector<std::uint8_t> buf;	// vfio_device_feature + request
	zpci_io_req *hdr() { return reinterpret_cast<zpci_io_req *>(buf.data() + sizeof(vfio_device_feature)); }
	zpci_io_op *op(unsigned i) { return reinterpret_cast<zpci_io_op *>(reinterpret_cast<std::uint8_t *>(hdr()) + sizeof(zpci_io_req) + i * sizeof(zpci_io_op)); }
	std::uint8_t *req() { return reinterpret_cast<std::uint8_t *>(hdr()); }
};

// nr PCISTBs of 4 KiB to consecutive offsets from off, bytes from src
RawReq make_pcistb_req(unsigned nr, std::uint64_t off, const std::uint8_t *src)
{
	RawReq r;
	const std::size_t data0 = 4096;	// first data slot: after header + ops
	const std::size_t total = data0 + nr * 4096;
	r.buf.assign(sizeof(vfio_device_feature) + total + 4096, 0);
	auto *f = reinterpret_cast<vfio_device_feature *>(r.buf.data());
	f->argsz = sizeof(vfio_device_feature) + total;
	f->flags = VFIO_DEVICE_FEATURE_SET | ZPCI_IO_FEATURE;
	zpci_io_req *h = r.hdr();
	h->hdr_size = sizeof(zpci_io_req);
	h->op_size = sizeof(zpci_io_op);
	h->total_size = total;
	h->nr_ops = nr;
	for (unsigned i = 0; i < nr; i++) {
		zpci_io_op *o = r.op(i);
		o->insn = ZPCI_IO_OP_PCISTB;
		o->pcias = kBar;
		o->len = 4096;
		o->offset = off + i * 4096ULL;
		o->data = data0 + i * 4096ULL;
		std::memcpy(r.req() + o->data, src + i * 4096, 4096);
	}
	return r;
}

// One PCISTG of 8 bytes, the value inline
RawReq make_pcistg_req(std::uint64_t off, std::uint64_t value)
{
	RawReq r;
	const std::size_t total = sizeof(zpci_io_req) + sizeof(zpci_io_op);
	r.buf.assign(sizeof(vfio_device_feature) + total, 0);
	auto *f = reinterpret_cast<vfio_device_feature *>(r.buf.data());
	f->argsz = sizeof(vfio_device_feature) + total;
	f->flags = VFIO_DEVICE_FEATURE_SET | ZPCI_IO_FEATURE;
	zpci_io_req *h = r.hdr();
	h->hdr_size = sizeof(zpci_io_req);
	h->op_size = sizeof(zpci_io_op);
	h->total_size = total;
	h->nr_ops = 1;
	zpci_io_op *o = r.op(0);
	o->insn = ZPCI_IO_OP_PCISTG;
	o->pcias = kBar;
	o->len = 8;
	o->offset = off;
	o->data = value;
	return r;
}

// The ABI's own requests, no libzpci: 10 one PCISTB of 4 KiB (ism),
// 11 sixteen of them in one request (64 KiB), 12 one PCISTG of 8 bytes
// inline (strict); 13 a PROBE of the feature (ism), the ioctl path's
// floor.  The request is built once; each ioctl copies it in.
int run_raw(const Args &a, std::vector<Written> &written)
{
	int failures = 0;
	// one vfio device fd per function for the whole phase (a group is
	// attached to one container at a time)
	std::vector<std::pair<std::string, int>> devs;
	auto dev_of = [&](const std::string &addr) {
		for (auto &d : devs)
			if (d.first == addr)
				return d.second;
		int fd = vfio_open(addr);
		if (fd < 0)
			std::fprintf(stderr, "zpci_cost: vfio open %s: %s\n", addr.c_str(), std::strerror(-fd));
		else
			devs.emplace_back(addr, fd);
		return fd;
	};
	auto issue = [&](const char *what, int k, const std::string &addr, RawReq &r) {
		int dev = dev_of(addr);
		if (dev < 0) {
			failures++;
			return;
		}
		for (int i = 0; i < a.rounds; i++) {
			mark(k, true);
			int rc = ioctl(dev, VFIO_DEVICE_FEATURE, r.buf.data());
			mark(k, false);
			if (rc) {
				std::fprintf(stderr, "zpci_cost: raw %s: %s (status error %d failed %u rule %u)\n",
					     what, std::strerror(errno), r.hdr()->status.error,
					     r.hdr()->status.failed, r.hdr()->status.rule);
				failures++;
				break;
			}
		}
	};
	alignas(4096) static std::uint8_t src[65536];
	{
		const std::uint64_t off = 0x130000, seed = 0xc0580;
		zpci_vm::pattern_fill(src, 4096, seed, off);
		RawReq r = make_pcistb_req(1, off, src);
		issue("1 x PCISTB 4 KiB", 10, a.ism, r);
		written.push_back({"ism", off, 4096, seed, "cost:raw_1op_4k"});
	}
	{
		const std::uint64_t off = 0x140000, seed = 0xc0581;
		zpci_vm::pattern_fill(src, sizeof(src), seed, off);
		RawReq r = make_pcistb_req(16, off, src);
		issue("16 x PCISTB 4 KiB", 11, a.ism, r);
		written.push_back({"ism", off, sizeof(src), seed, "cost:batch_64k"});
	}
	{
		const std::uint64_t off = 0x150000, seed = 0xc0582;
		zpci_vm::pattern_fill(src, 8, seed, off);
		std::uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v = v << 8 | src[i];
		RawReq r = make_pcistg_req(off, v);
		issue("1 x PCISTG 8", 12, a.strict, r);
		written.push_back({"strict", off, 8, seed, "cost:raw_pcistg_8"});
	}
	{
		// PROBE: vfio core's feature dispatch and zpci_io's
		// vfio_check_feature() answer 0; no request is read
		vfio_device_feature probe{};
		probe.argsz = sizeof(probe);
		probe.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | ZPCI_IO_FEATURE;
		int dev = dev_of(a.ism);
		for (int i = 0; dev >= 0 && i < a.rounds; i++) {
			mark(13, true);
			int rc = ioctl(dev, VFIO_DEVICE_FEATURE, &probe);
			mark(13, false);
			if (rc) {
				std::fprintf(stderr, "zpci_cost: feature PROBE: %s\n", std::strerror(errno));
				failures++;
				break;
			}
		}
		if (dev < 0)
			failures++;
	}
	for (auto &d : devs)
		close(d.second);
	return failures;
}
#endif

int write_manifest(const std::string &path, const std::vector<Written> &written)
{
	// appended to: one manifest for several runs (--phase)
	bool fresh = access(path.c_str(), F_OK) != 0;
	FILE *m = std::fopen(path.c_str(), "a");
	if (!m) {
		std::perror(path.c_str());
		return 1;
	}
	if (fresh)
		std::fprintf(m, "zpci-vm-manifest 1\n");
	for (auto &w : written)
		std::fprintf(m, "written %s 0x%" PRIx64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n",
			     w.func, w.off, w.len, w.seed, w.off, w.label.c_str());
	return std::fclose(m) == 0 ? 0 : 1;
}

int run_emu(const Args &a, std::vector<Written> &written);

}  // namespace

int main(int argc, char **argv)
{
	Args a;
	for (int i = 1; i < argc; i += 2) {
		std::string k = argv[i];
		if (k != "--peer" && i + 1 >= argc) {
			std::fprintf(stderr, "zpci_cost: %s needs a value\n", k.c_str());
			return 2;
		}
		if (k == "--strict") a.strict = argv[i + 1];
		else if (k == "--ism") a.ism = argv[i + 1];
		else if (k == "--wide") a.wide = argv[i + 1];
		else if (k == "--manifest") a.manifest = argv[i + 1];
		else if (k == "--json") a.json = argv[i + 1];
		else if (k == "--rounds") a.rounds = std::atoi(argv[i + 1]);
		else if (k == "--phase") a.phase = argv[i + 1];
		else if (k == "--peer") {
			a.peer = true;
			i--;
		}
		else {
			std::fprintf(stderr, "zpci_cost: unknown argument %s\n", k.c_str());
			return 2;
		}
	}
	if (a.peer && !a.strict.empty() && !a.ism.empty() && !a.wide.empty() &&
	    !a.manifest.empty() && a.rounds >= 101) {
		std::vector<Written> written;
		int rc = run_peer(a, written);
		if (write_manifest(a.manifest, written))
			rc = 1;
		std::printf("zpci_cost: %s\n", rc ? "FAIL" : "ok");
		return rc;
	}
	if (a.strict.empty() || a.ism.empty() || a.wide.empty() || a.manifest.empty() || a.rounds < 101) {
		std::fprintf(stderr, "usage: zpci_cost --strict ADDR --ism ADDR --wide ADDR --manifest FILE [--json FILE] [--rounds N>=101]\n");
		return 2;
	}
	if (a.phase != "emu" && a.phase != "raw" && a.phase != "all") {
		std::fprintf(stderr, "zpci_cost: --phase emu|raw|all\n");
		return 2;
	}
	std::vector<Written> written;
	int failures = 0;
	if (a.phase != "raw")
		failures += run_emu(a, written);
	if (a.phase != "emu") {
#ifdef ZPCI_IO_FEATURE
		failures += run_raw(a, written);
#else
		std::printf("zpci_cost: ABI %u has no device feature: no raw requests measured\n",
			    ZPCI_IO_ABI_VERSION);
#endif
	}
	if (write_manifest(a.manifest, written))
		failures++;
	std::printf("zpci_cost: %s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}

namespace {

// The calls QEMU makes for one guest instruction, through the C API
int run_emu(const Args &a, std::vector<Written> &written)
{
	zpci_handle *strict = nullptr, *ism = nullptr, *wide = nullptr;
	if (open_region(a.strict, &strict) || open_region(a.ism, &ism) ||
	    open_region(a.wide, &wide))
		return 1;

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
	// 3 (ism: relaxed) and 5 (wide: strict alignment): PCISTB 4 KiB as
	// QEMU issues it, zpci_pcistb_guest, the guest's source read into the
	// library's buffer
	const struct {
		int k;
		zpci_handle *h;
		const char *func, *label;
		std::uint64_t off, seed, guest;
	} blocks[] = {
		{3, ism, "ism", "cost:pcistb_guest4k", 0x102000, 0xc0572, 0x20000},
		{5, wide, "wide", "cost:pcistb_guest4k_wide", 0x103000, 0xc0573, 0x30000},
	};
	for (const auto &b : blocks) {
		static std::uint8_t src[4096];
		zpci_vm::pattern_fill(src, sizeof(src), b.seed, b.off);
		Source s{src};
		for (int r = 0; r < a.rounds; r++) {
			zpci_status st = ZPCI_STATUS_INIT;
			mark(b.k, true);
			int rc = zpci_pcistb_guest(b.h, kBar, b.off, 4096, b.guest, read_source, &s, &st);
			mark(b.k, false);
			if (!check(b.label, rc, st))
				break;
		}
		written.push_back({b.func, b.off, 4096, b.seed, b.label});
	}
	// 4: the syscall floor: getppid
	for (int r = 0; r < a.rounds; r++) {
		mark(4, true);
		(void)getppid();
		mark(4, false);
	}

	zpci_close(strict);
	zpci_close(ism);
	zpci_close(wide);
	return failures;
}

}  // namespace
