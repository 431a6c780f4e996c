// SPDX-License-Identifier: MIT
// zpci_vm_bench: inside the s390x guest, write a buffer of 8 B .. 64 KiB
// into a function's BAR 2 four ways and report bytes/s and calls/s:
//
//   region_single  the zPCI I/O region, one instruction per pwrite()
//   region_batch   the region, all instructions of the buffer in batches
//                  of up to max_ops per pwrite()
//   bar_8byte      vfio-pci BAR pwrite() of 8 bytes per call: the
//                  "8-byte fallback path" QEMU's intercept takes today
//   bar_whole      one vfio-pci BAR pwrite() of the whole buffer (the
//                  kernel still issues <= 8-byte stores, in one syscall)
//
// on the strict function (maxstbl 128) and the ISM-like one (relaxed,
// maxstbl 4096; its BAR 2 refuses PCISTG, so the two BAR paths cannot
// write it at all and are reported as skipped, with the reason).
// Every benchmark reads the first and last doubleword back afterwards and
// fails if the data did not land.  These are QEMU TCG figures: emulated
// instructions on an x86 host; use them to compare paths, not hardware.
//
// Env: ZPCI_STRICT, ZPCI_ISM, ZPCI_RESULTS (a scratch entry for the
// benchmark areas goes into the manifest), ZPCI_BENCH_MIN_TIME (s, 0.05),
// ZPCI_BENCH_MAX_SIZE (bytes, 65536).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/utsname.h>
#include <vector>

#include "common.hpp"

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

// The region ops for one buffer: PCISTB chunks legal for the function
// (an 8-byte buffer on a strict function is one PCISTG: PCISTB needs > 8).
std::vector<zpci_io_op> plan(const Function &f, std::uint64_t off, const std::uint8_t *src,
			     std::size_t len)
{
	std::vector<zpci_io_op> ops;
	const zpci_io_info &in = f.info();
	bool relaxed = in.flags & ZPCI_IO_INFO_RELAXED;
	std::size_t done = 0;
	while (done < len) {
		std::uint64_t pos = off + done;
		std::size_t chunk = std::min<std::size_t>({len - done, in.maxstbl,
							   4096 - (pos & 4095)});
		zpci_io_op o{};
		o.insn = (!relaxed && chunk <= 8) ? ZPCI_IO_OP_PCISTG : ZPCI_IO_OP_PCISTB;
		o.pcias = kDataBar;
		o.len = chunk;
		o.offset = pos;
		o.addr = reinterpret_cast<std::uintptr_t>(src + done);
		ops.push_back(o);
		done += chunk;
	}
	return ops;
}

std::vector<std::uint8_t> batch_bytes(const std::vector<zpci_io_op> &ops, std::size_t first,
				      std::size_t n)
{
	std::vector<std::uint8_t> b(sizeof(zpci_io_batch) + n * sizeof(zpci_io_op));
	zpci_io_batch h{};
	h.abi_version = ZPCI_IO_ABI_VERSION;
	h.nr_ops = n;
	h.op_size = sizeof(zpci_io_op);
	std::memcpy(b.data(), &h, sizeof(h));
	std::memcpy(b.data() + sizeof(h), ops.data() + first, n * sizeof(zpci_io_op));
	return b;
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
	std::vector<zpci_io_op> ops = plan(f, off, src.data(), size);
	std::uint32_t maxops = std::max<std::uint32_t>(f.info().max_ops, 1);
	std::vector<std::vector<std::uint8_t>> batches;
	if (p == Path::region_single) {
		for (std::size_t i = 0; i < ops.size(); i++)
			batches.push_back(batch_bytes(ops, i, 1));
	} else if (p == Path::region_batch) {
		for (std::size_t i = 0; i < ops.size(); i += maxops)
			batches.push_back(batch_bytes(ops, i, std::min<std::size_t>(maxops, ops.size() - i)));
	}
	std::uint64_t calls = 0;
	int err = 0;
	for (auto _ : state) {
		switch (p) {
		case Path::region_single:
		case Path::region_batch:
			for (auto &b : batches) {
				if (f.write_raw(b.data(), b.size(), &err) != static_cast<long>(b.size())) {
					fail(state, "region pwrite failed: " + std::string(errno_name(err)));
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
		(p == Path::region_single || p == Path::region_batch) ? ops.size() : (size + 7) / 8;
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
	benchmark::AddCustomContext("platform", "QEMU TCG (emulated s390x on an x86-64 host): "
						"relative figures only");
	// The benchmark owns strict [15, 16) MiB and ISM [7, 8) MiB of BAR 2.
	std::vector<Target> targets;
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
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return g_failed ? 1 : 0;
}
