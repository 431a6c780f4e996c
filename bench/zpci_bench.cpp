// SPDX-License-Identifier: MIT
// Region path (planned PCISTB batches) vs the 8-byte fallback path, writes
// and reads of 8 B .. 64 KiB, on the simulated strict and ISM functions
// (default) or on a real function bound to vfio (--zpci_pci=<addr>).
//
//   zpci_bench [google benchmark flags] [--zpci_pci=dddd:bb:dd.f]
//              [--zpci_bar=N] [--zpci_offset=N] [--zpci_syscall=0|1|both]
//
// Simulated functions run twice by default: as is ("strict", "ism": a
// device call is a function call) and with one real system call per
// device call ("strict+sys", "ism+sys"), the least a vfio pwrite/pread
// costs; --zpci_syscall=0 or 1 selects one of them.
//
// Counters per iteration: insns (instructions issued), calls (device
// calls: submit() batches or BAR accesses).  Where a path cannot do an
// access at all (the ISM DMB space refuses PCISTG, so the fallback path
// cannot write it) the benchmark is skipped with the library's reason.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zpci/parse.hpp>
#include <zpci/path.hpp>
#include <zpci/rules.hpp>

namespace {

struct backend {
	std::string name;	// "strict", "ism", or the PCI address
	std::string region_spec, fallback_spec;
	unsigned bar = 0;
	std::uint64_t offset = 0;
};

std::string caps_text(const zpci_caps &c)
{
	return "maxstbl=" + std::to_string(c.maxstbl) +
	       (zpci_caps_relaxed(&c) ? " relaxed" : " strict") +
	       " pft=" + std::to_string(c.pft);
}

void run_io(benchmark::State &state, const backend &be, bool fallback, bool write)
{
	const std::size_t size = static_cast<std::size_t>(state.range(0));
	auto path = zpci::open_path(fallback ? be.fallback_spec : be.region_spec);
	if (!path) {
		state.SkipWithError(("cannot open " +
				     (fallback ? be.fallback_spec : be.region_spec) + ": " +
				     path.error().message()).c_str());
		return;
	}
	zpci::io_path &p = **path;
	// 8-aligned buffer, same alignment as the target: the best case for
	// both paths (the planner needs it for strict PCISTB).
	std::vector<std::uint64_t> store(size / 8 + 2, 0x0123456789abcdefULL);
	auto *buf = reinterpret_cast<std::byte *>(store.data());
	zpci::exec_status st;
	// One untimed access: refuse honestly instead of measuring failures.
	auto first = write ? p.write(be.bar, be.offset, buf, size, &st)
			   : p.read(be.bar, be.offset, buf, size, &st);
	if (!first) {
		state.SkipWithError((std::string(p.kind()) + " path cannot " +
				     (write ? "write" : "read") + " this address space: " +
				     first.error().message()).c_str());
		return;
	}
	p.reset_stats();
	for (auto _ : state) {
		auto r = write ? p.write(be.bar, be.offset, buf, size, &st)
			       : p.read(be.bar, be.offset, buf, size, &st);
		if (!r) {
			state.SkipWithError(r.error().message().c_str());
			break;
		}
		benchmark::ClobberMemory();
	}
	state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
				static_cast<std::int64_t>(size));
	state.counters["insns"] = benchmark::Counter(
		static_cast<double>(p.stats().instructions), benchmark::Counter::kAvgIterations);
	state.counters["calls"] = benchmark::Counter(
		static_cast<double>(p.stats().calls), benchmark::Counter::kAvgIterations);
	state.SetLabel(caps_text(p.caps()));
}

bool has_flag(int argc, char **argv, const char *prefix)
{
	for (int i = 1; i < argc; i++)
		if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0)
			return true;
	return false;
}

// The caps of the function behind spec, read from the function itself,
// into the benchmark context under key_*.
void add_caps_context(const std::string &key, const std::string &spec)
{
	auto p = zpci::open_path(spec);
	if (!p) {
		benchmark::AddCustomContext(key, "unavailable: " + p.error().message());
		return;
	}
	const zpci_caps &c = (*p)->caps();
	benchmark::AddCustomContext(key + "_maxstbl", std::to_string(c.maxstbl));
	benchmark::AddCustomContext(key + "_relaxed", zpci_caps_relaxed(&c) ? "1" : "0");
	benchmark::AddCustomContext(key + "_pft", std::to_string(c.pft));
}

} // namespace

int main(int argc, char **argv)
{
	// A shorter default than Google Benchmark's 0.5 s: 64 benchmarks.
	std::vector<char *> args(argv, argv + argc);
	std::string min_time = "--benchmark_min_time=0.1";
	if (!has_flag(argc, argv, "--benchmark_min_time"))
		args.push_back(min_time.data());
	int n = static_cast<int>(args.size());
	args.push_back(nullptr);
	benchmark::Initialize(&n, args.data());

	std::string pci;
	unsigned bar = 0;
	std::uint64_t offset = 0;
	bool offset_set = false;
	std::string syscall_mode = "both";
	for (int i = 1; i < n; i++) {
		std::string_view a = args[i];
		auto value = [&](std::string_view key) -> std::optional<std::string_view> {
			if (a.substr(0, key.size()) == key)
				return a.substr(key.size());
			return std::nullopt;
		};
		if (auto v = value("--zpci_pci=")) {
			pci = std::string(*v);
		} else if (auto v2 = value("--zpci_bar=")) {
			auto b = zpci::parse_u64(*v2);
			if (!b || *b > 5) {
				std::fprintf(stderr, "zpci_bench: bad --zpci_bar '%s' (0..5)\n", args[i]);
				return 2;
			}
			bar = static_cast<unsigned>(*b);
		} else if (auto v4 = value("--zpci_syscall=")) {
			syscall_mode = std::string(*v4);
			if (syscall_mode != "0" && syscall_mode != "1" && syscall_mode != "both") {
				std::fprintf(stderr, "zpci_bench: bad --zpci_syscall '%s' (0|1|both)\n",
					     args[i]);
				return 2;
			}
		} else if (auto v3 = value("--zpci_offset=")) {
			auto o = zpci::parse_u64(*v3);
			if (!o) {
				std::fprintf(stderr, "zpci_bench: bad --zpci_offset '%s'\n", args[i]);
				return 2;
			}
			offset = *o;
			offset_set = true;
		} else {
			std::fprintf(stderr, "zpci_bench: unknown argument '%s'\n", args[i]);
			return 2;
		}
	}

	std::vector<backend> backends;
	if (pci.empty()) {
		std::vector<std::pair<std::string, std::string>> variants;
		if (syscall_mode != "1")
			variants.push_back({"", ""});
		if (syscall_mode != "0")
			variants.push_back({"+sys", ",syscall=1"});
		for (const auto &[suffix, opt] : variants) {
			backends.push_back({"strict" + suffix, "sim:strict" + opt,
					    "sim-fallback:strict" + opt, 0,
					    offset_set ? offset : 0x1000});
			backends.push_back({"ism" + suffix, "sim:ism" + opt,
					    "sim-fallback:ism" + opt, 0,
					    offset_set ? offset : 0});
		}
		benchmark::AddCustomContext("zpci_backend", "sim");
		// From the functions themselves, not restated here.
		for (const char *model : {"strict", "ism"})
			add_caps_context(std::string("zpci_") + model,
					 std::string("sim:") + model);
		benchmark::AddCustomContext("zpci_sim_syscall",
			"+sys: one real system call (getppid) per device call");
	} else {
		backends.push_back({pci, "region:" + pci, "fallback:" + pci, bar, offset});
		benchmark::AddCustomContext("zpci_backend", "vfio " + pci);
		benchmark::AddCustomContext("zpci_bar", std::to_string(bar));
		for (const char *kind : {"region", "fallback"})
			add_caps_context(std::string("zpci_") + kind,
					 std::string(kind) + ":" + pci);
	}

	static std::vector<backend> keep;
	keep = backends;
	for (const backend &be : keep) {
		for (bool write : {true, false}) {
			for (bool fallback : {false, true}) {
				std::string name = std::string(write ? "write" : "read") + "/" +
						   be.name + "/" + (fallback ? "fallback" : "region");
				benchmark::RegisterBenchmark(name.c_str(),
					[&be, fallback, write](benchmark::State &s) {
						run_io(s, be, fallback, write);
					})
					->RangeMultiplier(2)
					->Range(8, 64 << 10);
			}
		}
	}
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
