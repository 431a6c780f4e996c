// SPDX-License-Identifier: MIT
// zpci bench: runs the Google Benchmark binary (bench/zpci_bench) on the
// default (simulated) backend and prints its table.
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include <unistd.h>

#include "args.hpp"
#include "commands.hpp"

namespace {

std::string self_dir()
{
	char buf[PATH_MAX];
	ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return {};
	buf[n] = 0;
	std::string s(buf);
	auto slash = s.rfind('/');
	return slash == std::string::npos ? std::string() : s.substr(0, slash);
}

std::string find_bench()
{
	if (const char *env = std::getenv("ZPCI_BENCH_BIN"))
		return env;
	std::string dir = self_dir();
	std::vector<std::string> cands;
	if (!dir.empty())
		cands.push_back(dir + "/../bench/zpci_bench");	// build tree
	cands.push_back(ZPCI_BENCH_INSTALLED);
	for (const auto &c : cands)
		if (::access(c.c_str(), X_OK) == 0)
			return c;
	return {};
}

} // namespace

int zpci_cmd_bench(int argc, char **argv)
{
	// Everything after "--" goes to the benchmark unchanged.
	int dashdash = argc;
	for (int i = 1; i < argc; i++)
		if (std::strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	zpci::cli::args a;
	if (!a.parse("bench", dashdash, argv, 1,
		     {{"out", true}, {"filter", true}, {"min-time", true}}))
		return zpci::cli::exit_usage;
	if (!a.positional().empty()) {
		a.usage_error("unexpected argument '" + a.positional()[0] + "'");
		return zpci::cli::exit_usage;
	}
	std::vector<std::string> args{std::string()};
	if (auto out = a.value("out")) {
		if (out->empty()) {
			a.usage_error("bad --out value ''");
			return zpci::cli::exit_usage;
		}
		args.push_back("--benchmark_out=" + *out);
		args.push_back("--benchmark_out_format=json");
	}
	if (auto f = a.value("filter"))
		args.push_back("--benchmark_filter=" + *f);
	if (auto t = a.value("min-time")) {
		char *end = nullptr;
		errno = 0;
		double d = std::strtod(t->c_str(), &end);
		if (t->empty() || *end || errno || !(d > 0 && d < 3600)) {
			a.usage_error("bad --min-time value '" + *t + "' (seconds, > 0)");
			return zpci::cli::exit_usage;
		}
		args.push_back("--benchmark_min_time=" + *t);
	}
	std::string bin = find_bench();
	if (bin.empty()) {
		std::fprintf(stderr, "zpci bench: benchmark binary not found (built with "
			     "-DZPCI_BUILD_BENCH=ON? or set ZPCI_BENCH_BIN)\n");
		return zpci::cli::exit_usage;
	}
	args[0] = bin;
	args.push_back("--benchmark_counters_tabular=true");
	for (int i = dashdash + 1; i < argc; i++)
		args.emplace_back(argv[i]);
	std::vector<char *> cargv;
	for (auto &s : args)
		cargv.push_back(s.data());
	cargv.push_back(nullptr);
	std::fflush(stdout);
	::execv(bin.c_str(), cargv.data());
	std::fprintf(stderr, "zpci bench: cannot run %s: %s\n", bin.c_str(),
		     std::strerror(errno));
	return zpci::cli::exit_usage;
}
