// SPDX-License-Identifier: MIT
// peer_bench: inside the s390x guest, write buffers of 128 B, 4 KiB, 64 KiB
// and 1 MiB into BAR 2 of one function through the vfio driver bound to it,
// the way a user of that driver would, and print one JSON object per size:
//
//   --path ism        ism-vfio-pci (upstream): one pwrite() per PCISTB of at
//                     most maxstbl bytes not crossing 4 KiB, at the BAR's
//                     region offset (index << 48, from REGION_INFO)
//   --path zpci-1op   zpci_io: one PCISTB op per request (one
//                     VFIO_DEVICE_FEATURE ioctl of the zpci_io feature, ABI 3;
//                     the requests are built before the clock starts, with
//                     the buffer's bytes in their data areas)
//   --path zpci-batch zpci_io: all PCISTB ops of the buffer, up to max_ops
//                     per request
//   --path vfio-8B    vfio-pci: 8-byte BAR pwrite()s (the kernel issues a
//                     PCISTG each; only where the function accepts PCISTG)
//   --pinbounce       the kernel loop module's /dev/zpci_peer_kloop: the same
//                     PCISTBs from a user buffer, source bounced per op,
//                     pinned per op, or pinned once per write(); 1 and 256
//                     ops of 128 B and 4 KiB per write() (--dev unused)
//   --probe           instead of timing: try the requests of the behaviour
//                     table and print what the driver answered
//
// The buffer of each size holds the deterministic pattern of
// tests/vm/host/zpci_vm_pattern.hpp at its BAR offset; --manifest appends a
// "written" entry per size (zpci_vm_verify checks the bytes on the host).
// Layout of the 3 MiB area at --base: 1 MiB at +0, 64 KiB at +1 MiB, 4 KiB
// at +1 MiB+64 KiB, 128 B at +1 MiB+128 KiB (as the kernel loop module).
// TCG figures: compare paths with each other, never with hardware.
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/vfio.h>
#include <string>
#include <sys/ioctl.h>
#include <unistd.h>
#include <vector>

#include <zpci/zpci_abi.h>

#include "../vm/host/zpci_vm_pattern.hpp"

namespace {

[[noreturn]] void die(const char *what, int err = errno)
{
	std::fprintf(stderr, "peer_bench: %s: %s\n", what, err ? std::strerror(err) : "failed");
	std::exit(1);
}

double now()
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::uint64_t slot_of(std::uint32_t size)
{
	switch (size) {
	case 128: return (1ULL << 20) + (128ULL << 10);
	case 4096: return (1ULL << 20) + (64ULL << 10);
	case 65536: return 1ULL << 20;
	default: return 0;
	}
}

struct Vfio {
	int container = -1, group = -1, dev = -1;
	std::uint64_t bar2_off = 0, bar2_size = 0;
	bool have_zio = false;
	zpci_io_info zinfo{};
};

Vfio open_vfio(const std::string &bdf)
{
	Vfio v;
	char link[256];
	std::string p = "/sys/bus/pci/devices/" + bdf + "/iommu_group";
	ssize_t n = readlink(p.c_str(), link, sizeof(link) - 1);
	if (n < 0)
		die("iommu_group link");
	link[n] = 0;
	const char *g = std::strrchr(link, '/');
	std::string gpath = std::string("/dev/vfio/") + (g ? g + 1 : link);
	v.container = open("/dev/vfio/vfio", O_RDWR);
	v.group = open(gpath.c_str(), O_RDWR);
	if (v.container < 0 || v.group < 0)
		die("open vfio container/group");
	if (ioctl(v.group, VFIO_GROUP_SET_CONTAINER, &v.container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(v.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) &&
	    ioctl(v.container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
		die("VFIO_SET_IOMMU");
	v.dev = ioctl(v.group, VFIO_GROUP_GET_DEVICE_FD, bdf.c_str());
	if (v.dev < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
	vfio_region_info ri{};
	ri.argsz = sizeof(ri);
	ri.index = VFIO_PCI_BAR2_REGION_INDEX;
	if (ioctl(v.dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		die("REGION_INFO BAR 2");
	v.bar2_off = ri.offset;
	v.bar2_size = ri.size;
	// The zpci_io device feature (ABI 3): PROBE, then GET its info block.
	alignas(8) std::uint8_t get[sizeof(vfio_device_feature) + sizeof(zpci_io_info)] = {};
	vfio_device_feature f{};
	f.argsz = sizeof(f);
	f.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | ZPCI_IO_FEATURE;
	std::memcpy(get, &f, sizeof(f));
	if (ioctl(v.dev, VFIO_DEVICE_FEATURE, get) == 0) {
		f.argsz = sizeof(get);
		f.flags = VFIO_DEVICE_FEATURE_GET | ZPCI_IO_FEATURE;
		std::memcpy(get, &f, sizeof(f));
		if (ioctl(v.dev, VFIO_DEVICE_FEATURE, get))
			die("zpci_io info");
		std::memcpy(&v.zinfo, get + sizeof(f), sizeof(v.zinfo));
		v.have_zio = true;
	}
	return v;
}

// One PCISTB of a buffer: len bytes from src at BAR offset offset.
struct Store {
	std::uint64_t offset;
	std::uint32_t len;
	const std::uint8_t *src;
};

// The PCISTBs of a buffer at BAR offset off: <= maxstbl, no 4 KiB crossing.
std::vector<Store> split(const std::uint8_t *buf, std::uint32_t size, std::uint64_t off, std::uint32_t maxstbl)
{
	std::vector<Store> ops;
	for (std::uint32_t done = 0; done < size;) {
		std::uint64_t o = off + done;
		std::uint32_t n = size - done;
		n = std::min<std::uint32_t>(n, maxstbl);
		n = std::min<std::uint32_t>(n, static_cast<std::uint32_t>(4096 - (o & 4095)));
		ops.push_back({o, n, buf + done});
		done += n;
	}
	return ops;
}

// A request of zpci_abi.h (ABI 3) built once: the feature header, the
// request header, the ops and their blocks (each in the data area, never
// across 4 KiB of the request); no pointer in it.
struct Request {
	std::vector<std::uint64_t> words;
	std::size_t len = 0;	// request bytes (argsz - 16)
	std::uint8_t *bytes() { return reinterpret_cast<std::uint8_t *>(words.data()); }
};

Request build(const Store *ops, std::uint32_t n)
{
	const std::size_t fh = sizeof(vfio_device_feature);
	std::size_t end = sizeof(zpci_io_req) + n * sizeof(zpci_io_op);
	std::vector<std::size_t> at(n);
	for (std::uint32_t i = 0; i < n; i++) {
		end = (end + 7) & ~std::size_t(7);
		if ((end & 4095) + ops[i].len > 4096)
			end = (end + 4095) & ~std::size_t(4095);
		at[i] = end;
		end += ops[i].len;
	}
	Request r;
	r.len = end;
	r.words.assign((fh + end + 7) / 8, 0);
	std::uint8_t *q = r.bytes() + fh;
	vfio_device_feature f{};
	f.argsz = static_cast<__u32>(fh + end);
	f.flags = VFIO_DEVICE_FEATURE_SET | ZPCI_IO_FEATURE;
	std::memcpy(r.bytes(), &f, fh);
	zpci_io_req h{};
	h.hdr_size = sizeof(h);
	h.op_size = sizeof(zpci_io_op);
	h.nr_ops = n;
	h.total_size = static_cast<__u32>(end);
	std::memcpy(q, &h, sizeof(h));
	for (std::uint32_t i = 0; i < n; i++) {
		zpci_io_op o{};
		o.insn = ZPCI_IO_OP_PCISTB;
		o.pcias = 2;
		o.len = ops[i].len;
		o.offset = ops[i].offset;
		if (o.len <= ZPCI_IO_INLINE_MAX) {
			for (std::uint32_t k = 0; k < o.len; k++)
				o.data = o.data << 8 | ops[i].src[k];
		} else {
			o.data = at[i];
			std::memcpy(q + at[i], ops[i].src, o.len);
		}
		std::memcpy(q + sizeof(h) + i * sizeof(o), &o, sizeof(o));
	}
	return r;
}

struct Submitter {
	const Vfio &v;
	std::vector<Request> reqs;	// this size's requests, built before timing
	zpci_io_status st{};
	// returns 0 or -errno; fills st from the request on failure
	int submit(Request &r)
	{
		if (ioctl(v.dev, VFIO_DEVICE_FEATURE, r.bytes()) == 0)
			return 0;
		int e = errno;
		std::memcpy(&st, r.bytes() + sizeof(vfio_device_feature) + offsetof(zpci_io_req, status),
			    sizeof(st));
		return -e;
	}
	void prepare(const std::string &path, const std::vector<Store> &ops)
	{
		reqs.clear();
		std::uint32_t max = path == "zpci-batch" && v.zinfo.max_ops ? v.zinfo.max_ops : 1;
		for (std::size_t i = 0; i < ops.size(); i += max)
			reqs.push_back(build(&ops[i], static_cast<std::uint32_t>(
							      std::min<std::size_t>(max, ops.size() - i))));
	}
};

// one pass of the path over the buffer; returns the number of system calls, or -errno
long pass(const std::string &path, const Vfio &v, Submitter &sub, const std::uint8_t *buf,
	  std::uint32_t size, std::uint64_t off, const std::vector<Store> &ops)
{
	long calls = 0;
	if (path == "ism") {
		for (const auto &op : ops) {
			ssize_t r = pwrite(v.dev, op.src, op.len,
					   static_cast<off_t>(v.bar2_off + op.offset));
			if (r != static_cast<ssize_t>(op.len))
				return r < 0 ? -errno : -EIO;
			calls++;
		}
	} else if (path == "vfio-8B") {
		for (std::uint32_t i = 0; i < size; i += 8) {
			if (pwrite(v.dev, buf + i, 8, static_cast<off_t>(v.bar2_off + off + i)) != 8)
				return -errno;
			calls++;
		}
	} else if (path == "zpci-1op" || path == "zpci-batch") {
		for (auto &r : sub.reqs) {
			int rc = sub.submit(r);
			if (rc)
				return rc;
			calls++;
		}
	} else {
		return -EINVAL;
	}
	return calls;
}

const char *driver_label(const std::string &path)
{
	if (path == "ism") return "ism-vfio-pci";
	if (path == "zpci-1op") return "zpci_io-1op";
	if (path == "zpci-batch") return "zpci_io-batched";
	if (path == "vfio-8B") return "vfio-pci-8B";
	return "?";
}

// --probe: requests of the behaviour table, each against a scratch offset
// of the area's 128 B slot page (+1 MiB+192 KiB); prints one line each.
void probe(const std::string &path, const Vfio &v, std::uint64_t base)
{
	alignas(4096) static std::uint8_t buf[3 * 4096];
	std::memset(buf, 0xa5, sizeof(buf));
	std::uint64_t scratch = base + (1ULL << 20) + (192ULL << 10);
	struct Case { const char *name; std::uint64_t off; std::uint32_t len; };
	const Case cases[] = {
		{"aligned-4096", scratch, 4096},
		{"unaligned-count-13", scratch + 8, 13},
		{"unaligned-offset-3", scratch + 3, 64},
		{"cross-4k", scratch + 4096 - 64, 128},
		{"over-maxstbl-8192", scratch, 8192},
		{"store-8", scratch, 8},
	};
	Submitter sub{v, {}, {}};
	std::uint8_t fill = 0x10;
	(void)fill;
	for (const auto &c : cases) {
		int rc;
		std::memset(buf, ++fill, sizeof(buf));
		if (path == "zpci") {
			Store s{c.off, c.len, buf};
			Request r = build(&s, 1);
			if (c.len == 8) {	// a PCISTG: an 8-byte store carries its value
				zpci_io_op o;
				std::uint8_t *q = r.bytes() + sizeof(vfio_device_feature) + sizeof(zpci_io_req);
				std::memcpy(&o, q, sizeof(o));
				o.insn = ZPCI_IO_OP_PCISTG;
				std::memcpy(q, &o, sizeof(o));
			}
			sub.st = {};
			rc = sub.submit(r);
		} else {
			ssize_t r = pwrite(v.dev, buf, c.len, static_cast<off_t>(v.bar2_off + c.off));
			rc = r < 0 ? -errno : (r == c.len ? 0 : -EIO);
		}
		// did the first byte land? read back through the same device's BAR
		// region (PCILG of 1 byte; every driver here reads that way)
		std::uint8_t got = 0;
		const char *landed = pread(v.dev, &got, 1, static_cast<off_t>(v.bar2_off + c.off)) != 1 ? "unreadable" :
				     got == fill ? "landed" : "not landed";
		std::printf("{\"driver\": \"%s\", \"request\": \"%s\", \"result\": \"%s, %s\"}\n",
			    path == "zpci" ? "zpci_io" : driver_label(path), c.name,
			    rc ? std::strerror(-rc) : "ok", landed);
	}
}

bool set_param(const char *name, unsigned v)
{
	std::string p = std::string("/sys/module/zpci_peer_kloop/parameters/") + name;
	FILE *f = std::fopen(p.c_str(), "w");
	if (!f)
		return false;
	bool ok = std::fprintf(f, "%u\n", v) > 0;
	return std::fclose(f) == 0 && ok;
}

int pinbounce(double min_time, std::uint64_t seed, const std::string &manifest)
{
	const std::uint64_t pb_base = 14ULL << 20;
	int fd = open("/dev/zpci_peer_kloop", O_WRONLY);
	if (fd < 0)
		die("open /dev/zpci_peer_kloop");
	std::vector<std::uint8_t> store((1U << 20) + 4096);
	std::uint8_t *buf = store.data() + (4096 - (reinterpret_cast<std::uintptr_t>(store.data()) & 4095)) % 4096;
	zpci_vm::pattern_fill(buf, 1U << 20, seed, pb_base);
	static const char *names[] = {"kloop-bounce", "kloop-pin-op", "kloop-pin-batch"};
	int rc = 0;
	for (unsigned mode = 0; mode < 3; mode++) {
		for (unsigned opsize : {128U, 4096U}) {
			for (unsigned nops : {1U, 256U}) {
				if (!set_param("pb_mode", mode) || !set_param("pb_opsize", opsize))
					die("set pb_mode/pb_opsize");
				std::size_t len = static_cast<std::size_t>(opsize) * nops;
				std::uint64_t calls = 0;
				double t0 = now(), t;
				do {
					if (write(fd, buf, len) != static_cast<ssize_t>(len)) {
						std::fprintf(stderr, "peer_bench: %s %u x %u: %s\n", names[mode], nops, opsize, std::strerror(errno));
						rc = 1;
						break;
					}
					calls++;
					t = now();
				} while (t - t0 < min_time);
				if (!calls)
					continue;
				double el = t - t0;
				std::printf("{\"driver\": \"%s\", \"op_size\": %u, \"ops_per_call\": %u, \"calls_per_s\": %.1f, "
					    "\"ops_per_s\": %.1f, \"ns_per_op\": %.0f}\n", names[mode], opsize, nops,
					    static_cast<double>(calls) / el, static_cast<double>(calls * nops) / el,
					    el * 1e9 / static_cast<double>(calls * nops));
				std::fflush(stdout);
			}
		}
	}
	close(fd);
	if (!rc && !manifest.empty()) {
		FILE *mf = std::fopen(manifest.c_str(), "a");
		if (!mf)
			die("open manifest");
		std::fprintf(mf, "written ism %" PRIu64 " %u %" PRIu64 " %" PRIu64 " peer-pinbounce\n", pb_base, 1U << 20, seed, pb_base);
		std::fclose(mf);
	}
	return rc;
}

}  // namespace

int main(int argc, char **argv)
{
	std::string dev, path, func = "ism", manifest;
	std::uint64_t base = 0, seed = 1;
	double min_time = 0.3;
	bool do_probe = false;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto val = [&]() -> std::string {
			if (i + 1 >= argc)
				die(("missing value for " + a).c_str(), EINVAL);
			return argv[++i];
		};
		if (a == "--dev") dev = val();
		else if (a == "--path") path = val();
		else if (a == "--func") func = val();
		else if (a == "--base") base = std::strtoull(val().c_str(), nullptr, 0);
		else if (a == "--seed") seed = std::strtoull(val().c_str(), nullptr, 0);
		else if (a == "--min-time") min_time = std::atof(val().c_str());
		else if (a == "--manifest") manifest = val();
		else if (a == "--probe") do_probe = true;
		else if (a == "--pinbounce") path = "pinbounce";
		else die(("unknown argument " + a).c_str(), EINVAL);
	}
	if (path == "pinbounce")
		return pinbounce(min_time, seed, manifest);
	if (dev.empty() || path.empty() || (base & 4095) || base + (3ULL << 20) > zpci_vm::kBarSize)
		die("usage: peer_bench --dev BDF --path ism|zpci-1op|zpci-batch|vfio-8B [--probe] --base OFF(4K-aligned) [--seed N] [--func F] [--manifest FILE]", EINVAL);
	Vfio v = open_vfio(dev);
	if (path.rfind("zpci", 0) == 0 && !v.have_zio)
		die("no zpci_io device feature on this device (is zpci_io bound?)", ENODEV);
	if (do_probe) {
		probe(path, v, base);
		return 0;
	}
	std::uint32_t maxstbl = v.have_zio ? v.zinfo.maxstbl : 4096;
	Submitter sub{v, {}, {}};
	static const std::uint32_t sizes[] = {128, 4096, 65536, 1U << 20};
	std::vector<std::uint8_t> store((1U << 20) + 4096);
	std::uint8_t *buf = store.data() + (4096 - (reinterpret_cast<std::uintptr_t>(store.data()) & 4095)) % 4096;
	FILE *mf = manifest.empty() ? nullptr : std::fopen(manifest.c_str(), "a");
	if (!manifest.empty() && !mf)
		die("open manifest");
	int rc = 0;
	for (std::uint32_t size : sizes) {
		std::uint64_t off = base + slot_of(size), s = seed + size;
		zpci_vm::pattern_fill(buf, size, s, off);
		auto ops = split(buf, size, off, maxstbl);
		if (path.rfind("zpci", 0) == 0)
			sub.prepare(path, ops);
		long calls = 0;
		std::uint64_t reps = 0;
		double t0 = now(), t;
		do {
			long c = pass(path, v, sub, buf, size, off, ops);
			if (c < 0) {
				std::fprintf(stderr, "peer_bench: %s size %u: %s (status error %d done %u)\n",
					     path.c_str(), size, std::strerror(static_cast<int>(-c)), sub.st.error, sub.st.done);
				rc = 1;
				break;
			}
			calls += c;
			reps++;
			t = now();
		} while (t - t0 < min_time);
		if (!reps)
			continue;
		double el = t - t0;
		std::printf("{\"driver\": \"%s\", \"size\": %u, \"bytes_per_s\": %.1f, \"calls_per_s\": %.1f, "
			    "\"reps\": %" PRIu64 ", \"calls\": %ld, \"stores_per_rep\": %zu, \"seconds\": %.4f}\n",
			    driver_label(path), size, static_cast<double>(size) * static_cast<double>(reps) / el,
			    static_cast<double>(calls) / el, reps, calls, ops.size(), el);
		std::fflush(stdout);
		if (mf)
			std::fprintf(mf, "written %s %" PRIu64 " %u %" PRIu64 " %" PRIu64 " peer-%s-%u\n",
				     func.c_str(), off, size, s, off, driver_label(path), size);
	}
	if (mf)
		std::fclose(mf);
	return rc;
}
