// SPDX-License-Identifier: MIT
// zpci_vm_bench: inside the s390x guest, write a buffer of 8 B .. 64 KiB
// into a function's BAR 2 four ways and report bytes/s and calls/s:
//
//   region_single  the zpci_io device feature (ABI 3), one instruction per
//                  request (one VFIO_DEVICE_FEATURE ioctl)
//   region_batch   the same, all instructions of the buffer in requests of
//                  up to max_ops
//   bar_8byte      vfio-pci BAR pwrite() of 8 bytes per call: the
//                  "8-byte fallback path" QEMU's intercept takes today
//   bar_whole      one vfio-pci BAR pwrite() of the whole buffer (the
//                  kernel still issues <= 8-byte stores, in one syscall)
//
// on the strict function (maxstbl 128) and the ISM-like one (relaxed,
// maxstbl 4096; its BAR 2 refuses PCISTG, so the two BAR paths cannot
// write it at all and are reported as skipped, with the reason).
//
// Then the cost benchmarks (cost/<name>), one call per iteration, for the
// instruction counts of docs/ARCHITECTURE.md ("Cost"): with the guest
// clock counting instructions (ZPCI_VM_ICOUNT=1, tests/vm/lib.sh), a
// benchmark's real_time in ns is the guest instructions of one call,
// user space included.  getppid and a PROBE of the feature are the
// floors; raw_* are prebuilt requests, capi_* the same instructions
// through libzpci's C API (zpci_pcistb/_guest/_pcistg/_pcilg on the fd,
// as QEMU calls them), batch_* one request of many ops, bar_pwrite4 a
// bare vfio BAR pwrite of 4 bytes, bar_pwrite_refused one that vfio-pci
// refuses past the BAR (the region-write floor); pinned_pages_single counts the pages
// the driver pinned (netlink ZPCI_NL_S_PINNED_PAGES) over its loop of
// single-op requests.  bench/cost_summary.py turns them into the figures.
//
// Every benchmark reads the first and last doubleword back afterwards and
// fails if the data did not land.  These are QEMU TCG figures: emulated
// instructions on an x86 host; use them to compare paths, not hardware.
//
// Env: ZPCI_STRICT, ZPCI_ISM, ZPCI_RESULTS (a scratch entry for the
// benchmark areas goes into the manifest), ZPCI_BENCH_MIN_TIME (s, 0.05),
// ZPCI_BENCH_MAX_SIZE (bytes, 65536).
#include <benchmark/benchmark.h>
#include <linux/vfio.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <vector>

#include "common.hpp"
#include "nl_raw.hpp"

#ifdef ZPCI_VM_HAVE_LIBZPCI
#include <zpci/zpci.h>
#endif

using namespace zpci_vm;

namespace {

// Set by any failure other than the expected "cannot reach" skip.
bool g_failed = false;

void fail(benchmark::State &state, const std::string &why)
{
	g_failed = true;
	std::fprintf(stderr, "zpci_vm_bench: %s\n", why.c_str());
	state.SkipWithError(why.c_str());
}

struct Target {
	const char *name;
	Function *f;
	std::uint64_t area;	// benchmark part of BAR 2
	std::uint64_t area_len;
};

enum class Path { region_single, region_batch, bar_8byte, bar_whole };

const char *path_name(Path p)
{
	switch (p) {
	case Path::region_single: return "region_single";
	case Path::region_batch: return "region_batch";
	case Path::bar_8byte: return "bar_8byte";
	default: return "bar_whole";
	}
}

// One chunk of a buffer: legal for the function (an 8-byte buffer on a
// strict function is one PCISTG: PCISTB needs > 8).
struct Chunk {
	std::uint8_t insn;
	std::uint64_t off;
	std::size_t src;
	std::uint32_t len;
};

std::vector<Chunk> plan(const Function &f, std::uint64_t off, std::size_t len)
{
	std::vector<Chunk> v;
	const zpci_io_info &in = f.info();
	bool relaxed = in.flags & ZPCI_IO_INFO_RELAXED;
	std::size_t done = 0;
	while (done < len) {
		std::uint64_t pos = off + done;
		std::size_t chunk = std::min<std::size_t>({len - done, in.maxstbl,
							   4096 - (pos & 4095)});
		v.push_back({static_cast<std::uint8_t>((!relaxed && chunk <= 8) ? ZPCI_IO_OP_PCISTG
										 : ZPCI_IO_OP_PCISTB),
			     pos, done, static_cast<std::uint32_t>(chunk)});
		done += chunk;
	}
	return v;
}

// Built requests, ready for the ioctl.
struct Built {
	std::vector<std::uint8_t> buf;
	std::size_t size;
};

Built build(const std::vector<Chunk> &cs, std::size_t first, std::size_t n, const std::uint8_t *src)
{
	Batch b;
	for (std::size_t i = first; i < first + n; i++)
		b.add(cs[i].insn, kDataBar, cs[i].off, src + cs[i].src, cs[i].len);
	b.build();
	return {b.bytes(), b.size()};
}

bool landed(const Function &f, std::uint64_t off, const std::uint8_t *src, std::size_t len)
{
	std::uint8_t a[8], b[8];
	std::size_t n = std::min<std::size_t>(8, len);
	if (region_load(f, kDataBar, off, a, n) ||
	    region_load(f, kDataBar, off + len - n, b, n))
		return false;
	return !std::memcmp(a, src, n) && !std::memcmp(b, src + len - n, n);
}

void run(benchmark::State &state, Target t, Path p, std::size_t size)
{
	const Function &f = *t.f;
	if (!f.is_open()) {
		fail(state, "function not open");
		return;
	}
	if ((p == Path::bar_8byte || p == Path::bar_whole) &&
	    !((f.info().pcistg_mask >> kDataBar) & 1)) {
		state.SkipWithError("BAR 2 accepts PCISTB only: vfio BAR writes (<= 8-byte stores) "
				    "cannot reach it");
		return;
	}
	AlignedBuf src(size);
	std::uint64_t seed = splitmix64(size * 131 + static_cast<int>(p));
	pattern_fill(src.data(), size, seed, 0);
	const std::uint64_t off = t.area;
	std::vector<Chunk> cs = plan(f, off, size);
	std::uint32_t maxops = std::max<std::uint32_t>(f.info().max_ops, 1);
	std::vector<Built> reqs;
	if (p == Path::region_single) {
		for (std::size_t i = 0; i < cs.size(); i++)
			reqs.push_back(build(cs, i, 1, src.data()));
	} else if (p == Path::region_batch) {
		for (std::size_t i = 0; i < cs.size(); i += maxops)
			reqs.push_back(build(cs, i, std::min<std::size_t>(maxops, cs.size() - i),
					     src.data()));
	}
	std::uint64_t calls = 0;
	int err = 0;
	for (auto _ : state) {
		switch (p) {
		case Path::region_single:
		case Path::region_batch:
			for (auto &r : reqs) {
				if (f.request_raw(r.buf.data(), r.size, &err) != 0) {
					fail(state, "request failed: " + std::string(errno_name(err)));
					return;
				}
				calls++;
			}
			break;
		case Path::bar_8byte:
			for (std::size_t d = 0; d < size; d += 8) {
				std::size_t n = std::min<std::size_t>(8, size - d);
				if (f.bar_pwrite(kDataBar, src.data() + d, n, off + d, &err) !=
				    static_cast<long>(n)) {
					fail(state, "BAR pwrite failed: " + std::string(errno_name(err)));
					return;
				}
				calls++;
			}
			break;
		case Path::bar_whole:
			if (f.bar_pwrite(kDataBar, src.data(), size, off, &err) != static_cast<long>(size)) {
				fail(state, "BAR pwrite failed: " + std::string(errno_name(err)));
				return;
			}
			calls++;
			break;
		}
	}
	if (!landed(f, off, src.data(), size)) {
		fail(state, "the data did not land in the BAR");
		return;
	}
	state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * size);
	state.counters["calls"] = benchmark::Counter(static_cast<double>(calls),
						     benchmark::Counter::kIsRate);
	state.counters["calls_per_buffer"] = static_cast<double>(calls) / state.iterations();
	state.counters["size"] = static_cast<double>(size);
	state.counters["instructions_per_buffer"] =
		(p == Path::region_single || p == Path::region_batch) ? cs.size() : (size + 7) / 8;
}

// ---------------------------------------------------------------- cost

// One call per iteration: call() returns 0 or an errno.
void cost_loop(benchmark::State &state, const std::function<int()> &call)
{
	for (auto _ : state) {
		int e = call();
		if (e) {
			fail(state, std::string("call failed: ") + errno_name(e));
			return;
		}
	}
	state.counters["calls"] = benchmark::Counter(static_cast<double>(state.iterations()),
						     benchmark::Counter::kIsRate);
}

// A prebuilt request of ops on f (each {insn, offset, len} from src).
struct Request {
	const Function *f = nullptr;
	Built b;
	int call() const
	{
		int err = 0;
		auto *self = const_cast<Request *>(this);
		return f->request_raw(self->b.buf.data(), b.size, &err) == 0 ? 0 : err;
	}
};

Request make_request(const Function &f, const std::vector<Chunk> &cs, const std::uint8_t *src)
{
	Request r;
	r.f = &f;
	r.b = build(cs, 0, cs.size(), src);
	return r;
}

std::uint64_t pinned_pages(const Function &f)
{
	NlFunc nf;
	if (nl_stats(f.info().fid, &nf) != 0)
		return ~0ULL;
	return nf.counter(ZPCI_NL_S_PINNED_PAGES) + nf.counter(ZPCI_NL_S_PINS_HELD);
}

struct CostCtx {
	Target strict{}, ism{};
	bool have_strict = false, have_ism = false;
	AlignedBuf src{1 << 20};
#ifdef ZPCI_VM_HAVE_LIBZPCI
	zpci_handle *hs = nullptr, *hi = nullptr;
#endif
};

CostCtx *g_cost;

void register_cost(double min_time)
{
	CostCtx &c = *g_cost;
	pattern_fill(c.src.data(), c.src.size(), 0xc057, 0);
	auto reg = [&](const std::string &name, std::function<void(benchmark::State &)> fn) {
		benchmark::RegisterBenchmark(("cost/" + name).c_str(),
					     [fn](benchmark::State &s) { fn(s); })
			->MinTime(min_time)
			->Unit(benchmark::kNanosecond)
			->UseRealTime();
	};
	reg("getppid", [](benchmark::State &s) {
		cost_loop(s, [] {
			syscall(SYS_getppid);
			return 0;
		});
	});
	const Target *any = c.have_ism ? &c.ism : c.have_strict ? &c.strict : nullptr;
	if (!any)
		return;
	reg("feature_probe", [any](benchmark::State &s) {
		alignas(8) std::uint8_t buf[kFeatHdr];
		cost_loop(s, [&] {
			int err = 0;
			return any->f->feature(VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET,
					       buf, 0, &err) == 0 ? 0 : err;
		});
	});
	// a SET whose argsz is below the minimum: the ioctl and the driver's
	// entry, nothing copied
	reg("refused_argsz", [any](benchmark::State &s) {
		alignas(8) std::uint8_t buf[kFeatHdr + 8] = {};
		cost_loop(s, [&] {
			int err = 0;
			return any->f->request_raw(buf, 8, &err) == -1 && err == EINVAL ? 0 : EPROTO;
		});
	});
	if (c.have_strict) {
		const Function &f = *c.strict.f;
		const std::uint64_t a = c.strict.area;
		reg("bar_pwrite4", [&f, a, &c](benchmark::State &s) {
			cost_loop(s, [&] {
				int err = 0;
				return f.bar_pwrite(kDataBar, c.src.data(), 4, a, &err) == 4 ? 0 : err;
			});
		});
		// a pwrite that vfio-pci refuses past the BAR's end: the floor of
		// any region write (syscall, vfs, vfio and vfio-pci dispatch),
		// what the doorbell of an mmap-ed ring would cost at least
		reg("bar_pwrite_refused", [&f, &c](benchmark::State &s) {
			RegionRange rr{};
			if (f.region_range(kDataBar, &rr) != 0) {
				fail(s, "no BAR region");
				return;
			}
			cost_loop(s, [&] {
				int err = 0;
				return f.bar_pwrite(kDataBar, c.src.data(), 4, rr.size, &err) == -1 &&
				       err == EINVAL ? 0 : EPROTO;
			});
		});
		reg("raw_1op_128", [&f, a, &c](benchmark::State &s) {
			Request r = make_request(f, {{ZPCI_IO_OP_PCISTB, a, 0, 128}}, c.src.data());
			cost_loop(s, [&] { return r.call(); });
		});
		reg("raw_pcistg8", [&f, a, &c](benchmark::State &s) {
			Request r = make_request(f, {{ZPCI_IO_OP_PCISTG, a, 0, 8}}, c.src.data());
			cost_loop(s, [&] { return r.call(); });
		});
		reg("raw_pcilg8", [&f, a](benchmark::State &s) {
			std::uint8_t dst[8];
			Request r = make_request(f, {{ZPCI_IO_OP_PCILG, a, 0, 8}}, dst);
			cost_loop(s, [&] { return r.call(); });
		});
		reg("raw_256xpcistg8", [&f, a, &c](benchmark::State &s) {
			std::vector<Chunk> cs;
			for (std::uint64_t i = 0; i < 256; i++)
				cs.push_back({ZPCI_IO_OP_PCISTG, a + 8 * i, 8 * i, 8});
			Request r = make_request(f, cs, c.src.data());
			cost_loop(s, [&] { return r.call(); });
		});
#ifdef ZPCI_VM_HAVE_LIBZPCI
		zpci_handle *h = c.hs;
		reg("capi_pcistb_128", [h, a, &c](benchmark::State &s) {
			cost_loop(s, [&] {
				zpci_status st = ZPCI_STATUS_INIT;
				return -zpci_pcistb(h, kDataBar, a, c.src.data(), 128, 0x1000, &st);
			});
		});
		reg("capi_pcistg8", [h, a](benchmark::State &s) {
			cost_loop(s, [&] {
				zpci_status st = ZPCI_STATUS_INIT;
				return -zpci_pcistg(h, kDataBar, a, 8, 0x0102030405060708ULL, &st);
			});
		});
		reg("capi_pcilg8", [h, a](benchmark::State &s) {
			cost_loop(s, [&] {
				zpci_status st = ZPCI_STATUS_INIT;
				std::uint64_t v = 0;
				return -zpci_pcilg(h, kDataBar, a, 8, &v, &st);
			});
		});
#endif
	}
	if (c.have_ism) {
		const Function &f = *c.ism.f;
		const std::uint64_t a = c.ism.area;
		reg("raw_1op_4k", [&f, a, &c](benchmark::State &s) {
			Request r = make_request(f, {{ZPCI_IO_OP_PCISTB, a, 0, 4096}}, c.src.data());
			cost_loop(s, [&] { return r.call(); });
		});
		// n ops of 4 KiB in one request: marginal = (t(256) - t(1)) / 255
		for (unsigned n : {1u, 16u, 256u}) {
			if (n > f.info().max_ops)
				continue;
			std::string name = n == 16 ? "batch_64k" : "batch_" + std::to_string(n) + "x4k";
			reg(name, [&f, a, &c, n](benchmark::State &s) {
				std::vector<Chunk> cs;
				for (std::uint64_t i = 0; i < n; i++)
					cs.push_back({ZPCI_IO_OP_PCISTB, a + 4096 * i, 4096 * i, 4096});
				Request r = make_request(f, cs, c.src.data());
				cost_loop(s, [&] { return r.call(); });
				s.counters["ops"] = n;
			});
		}
		reg("pinned_pages_single", [&f, a, &c](benchmark::State &s) {
			Request r = make_request(f, {{ZPCI_IO_OP_PCISTB, a, 0, 4096}}, c.src.data());
			std::uint64_t p0 = pinned_pages(f);
			cost_loop(s, [&] { return r.call(); });
			std::uint64_t p1 = pinned_pages(f);
			if (p0 == ~0ULL || p1 == ~0ULL) {
				fail(s, "netlink statistics not readable");
				return;
			}
			s.counters["pinned_pages"] = static_cast<double>(p1 - p0);
			if (p1 != p0)
				fail(s, "the single-op path pinned " + std::to_string(p1 - p0) + " pages");
		});
#ifdef ZPCI_VM_HAVE_LIBZPCI
		zpci_handle *h = c.hi;
		reg("capi_pcistb_4k", [h, a, &c](benchmark::State &s) {
			cost_loop(s, [&] {
				zpci_status st = ZPCI_STATUS_INIT;
				return -zpci_pcistb(h, kDataBar, a, c.src.data(), 4096, 0x1000, &st);
			});
		});
		// what QEMU calls: the guest's bytes read straight into the request
		reg("capi_guest_4k", [h, a, &c](benchmark::State &s) {
			auto read = [](void *opaque, void *buf, std::uint32_t len) {
				std::memcpy(buf, opaque, len);
				return 0;
			};
			cost_loop(s, [&] {
				zpci_status st = ZPCI_STATUS_INIT;
				return -zpci_pcistb_guest(h, kDataBar, a, 4096, 0x1000, read,
							  c.src.data(), &st);
			});
		});
		reg("capi_guest_128", [h, a, &c](benchmark::State &s) {
			auto read = [](void *opaque, void *buf, std::uint32_t len) {
				std::memcpy(buf, opaque, len);
				return 0;
			};
			cost_loop(s, [&] {
				zpci_status st = ZPCI_STATUS_INIT;
				return -zpci_pcistb_guest(h, kDataBar, a, 128, 0x1000, read,
							  c.src.data(), &st);
			});
		});
#endif
	}
}

}  // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	Functions &fs = Functions::get();
	double min_time = std::strtod(env_or("ZPCI_BENCH_MIN_TIME", "0.05").c_str(), nullptr);
	std::size_t max_size = std::strtoull(env_or("ZPCI_BENCH_MAX_SIZE", "65536").c_str(), nullptr, 0);

	struct utsname u{};
	uname(&u);
	benchmark::AddCustomContext("guest_kernel", u.release);
	benchmark::AddCustomContext("zpci_mode", fs.mode);
	benchmark::AddCustomContext("zpci_abi", std::to_string(ZPCI_IO_ABI_VERSION));
	benchmark::AddCustomContext("platform", "QEMU TCG (emulated s390x on an x86-64 host): "
						"relative figures only");
	// The benchmark owns strict [15, 16) MiB and ISM [7, 8) MiB of BAR 2.
	std::vector<Target> targets;
	g_cost = new CostCtx;
	if (fs.strict_rc == 0) {
		targets.push_back({"strict", &fs.strict, 15ULL << 20, 1ULL << 20});
		benchmark::AddCustomContext("strict", fs.strict_addr + " maxstbl " +
						      std::to_string(fs.strict.info().maxstbl) + " max_ops " +
						      std::to_string(fs.strict.info().max_ops));
	} else {
		std::fprintf(stderr, "zpci_vm_bench: strict function: %s\n", fs.strict_err.c_str());
	}
	if (fs.ism_rc == 0) {
		targets.push_back({"ism", &fs.ism, 7ULL << 20, 1ULL << 20});
		benchmark::AddCustomContext("ism", fs.ism_addr + " maxstbl " +
						   std::to_string(fs.ism.info().maxstbl) + " max_ops " +
						   std::to_string(fs.ism.info().max_ops) + " relaxed");
	}
	if (targets.empty()) {
		std::fprintf(stderr, "zpci_vm_bench: no function to measure\n");
		return 1;
	}
	for (Target &t : targets) {
		if (!has_ram_bar(*t.f)) {
			std::fprintf(stderr, "zpci_vm_bench: %s has no 16 MiB RAM BAR 2, not measured\n",
				     t.name);
			continue;
		}
		if (Manifest::get().enabled())
			Manifest::get().scratch(t.name, t.area, t.area_len, "zpci_vm_bench");
		if (t.f == &fs.strict) {
			g_cost->strict = t;
			g_cost->have_strict = true;
		} else {
			g_cost->ism = t;
			g_cost->have_ism = true;
		}
		for (Path p : {Path::region_single, Path::region_batch, Path::bar_8byte, Path::bar_whole}) {
			for (std::size_t size = 8; size <= std::min<std::size_t>(max_size, t.area_len); size *= 2) {
				std::string name = std::string(t.name) + "/" + path_name(p) + "/" +
						   std::to_string(size);
				benchmark::RegisterBenchmark(name.c_str(), run, t, p, size)
					->MinTime(min_time)
					->Unit(benchmark::kMicrosecond)
					->UseRealTime();
			}
		}
	}
#ifdef ZPCI_VM_HAVE_LIBZPCI
	// The C API on the same device fds, as an emulator borrows them.
	if (g_cost->have_strict && zpci_borrow_fd(fs.strict.device_fd(), 0, &g_cost->hs) != 0) {
		std::fprintf(stderr, "zpci_vm_bench: zpci_borrow_fd(strict) failed\n");
		g_cost->hs = nullptr;
		g_failed = true;
	}
	if (g_cost->have_ism && zpci_borrow_fd(fs.ism.device_fd(), 0, &g_cost->hi) != 0) {
		std::fprintf(stderr, "zpci_vm_bench: zpci_borrow_fd(ism) failed\n");
		g_cost->hi = nullptr;
		g_failed = true;
	}
	if ((g_cost->have_strict && !g_cost->hs) || (g_cost->have_ism && !g_cost->hi))
		g_cost->have_strict = g_cost->have_ism = false;
#endif
	register_cost(min_time);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
#ifdef ZPCI_VM_HAVE_LIBZPCI
	zpci_close(g_cost->hs);
	zpci_close(g_cost->hi);
#endif
	return g_failed ? 1 : 0;
}
