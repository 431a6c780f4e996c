// SPDX-License-Identifier: MIT
// zpci io {write|read} --path SPEC --offset N --len N [--pcias N]
//          [--pattern BYTE] [--src-shift N] [--hex]
// Issues one access through a path (simulated function or vfio) and
// reports what it took: bytes, instructions, device calls, or why it
// failed (rule, cc/status/pgm).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <zpci/path.hpp>
#include <zpci/rules.hpp>
#include <zpci/sim.hpp>

#include "args.hpp"
#include "commands.hpp"

using namespace zpci;
using namespace zpci::cli;

namespace {

constexpr std::uint64_t io_len_limit = 64ULL << 20;

void print_failure(const std::error_code &ec, const exec_status &st)
{
	std::printf("failed: %s", ec.message().c_str());
	if (st.rule && !rule_of(ec))
		std::printf(" (rule: %s)", zpci_rule_name(st.rule));
	if (st.cc_valid)
		std::printf(" cc=%u status=%u pgm=0x%02x", st.cc, st.status, st.pgm);
	std::printf(" done=%zu\n", st.done);
}

} // namespace

int zpci_cmd_io(int argc, char **argv)
{
	args a;
	if (!a.parse("io", argc, argv, 1,
		     {{"path", true}, {"offset", true}, {"len", true}, {"pcias", true},
		      {"pattern", true}, {"src-shift", true}, {"hex", false}}))
		return exit_usage;
	if (a.positional().size() != 1 ||
	    (a.positional()[0] != "write" && a.positional()[0] != "read")) {
		a.usage_error(a.positional().empty() ? "missing direction (write|read)"
			: "bad direction or extra argument '" + a.positional().back() + "'");
		return exit_usage;
	}
	const bool write = a.positional()[0] == "write";
	auto spec = a.value("path");
	auto offset = a.required("offset");
	auto len = a.required("len");
	std::uint64_t pcias = a.number("pcias").value_or(0);
	std::uint64_t pattern = a.number("pattern").value_or(0xa5);
	std::uint64_t shift = a.number("src-shift").value_or(0);
	if (a.failed() || !offset || !len)
		return exit_usage;
	if (!spec || spec->empty()) {
		a.usage_error("missing --path (e.g. sim:strict, region:0000:00:00.0)");
		return exit_usage;
	}
	if (pcias > ZPCI_PCIAS_BAR_MAX) {
		a.usage_error("bad --pcias value " + std::to_string(pcias) + " (0..5)");
		return exit_usage;
	}
	if (*len == 0 || *len > io_len_limit) {
		a.usage_error("bad --len value " + std::to_string(*len) + " (1..64 MiB)");
		return exit_usage;
	}
	if (pattern > 0xff || shift > 7) {
		a.usage_error(pattern > 0xff ? "bad --pattern (0..255)" : "bad --src-shift (0..7)");
		return exit_usage;
	}
	auto path = open_path(*spec);
	if (!path) {
		std::fprintf(stderr, "zpci io: cannot open '%s': %s\n", spec->c_str(),
			     path.error().message().c_str());
		return path.error() == make_error_code(errc::bad_spec) ? exit_usage : exit_invalid;
	}
	// 8-aligned storage; --src-shift moves the buffer off alignment.
	std::vector<std::uint64_t> store(*len / 8 + 2);
	auto *buf = reinterpret_cast<unsigned char *>(store.data()) + shift;
	std::memset(buf, static_cast<int>(pattern), *len);
	exec_status st;
	auto r = write ? (*path)->write(static_cast<unsigned>(pcias), *offset, buf, *len, &st)
		       : (*path)->read(static_cast<unsigned>(pcias), *offset, buf, *len, &st);
	if (!r) {
		print_failure(r.error(), st);
		return exit_invalid;
	}
	const path_stats &ps = (*path)->stats();
	std::printf("ok: %s %llu bytes, %llu instructions, %llu calls (%s path)\n",
		    write ? "wrote" : "read", static_cast<unsigned long long>(*len),
		    static_cast<unsigned long long>(ps.instructions),
		    static_cast<unsigned long long>(ps.calls),
		    std::string((*path)->kind()).c_str());
	if (!write && a.flag("hex")) {
		for (std::uint64_t i = 0; i < *len; i++)
			std::printf("%02x%s", buf[i], (i % 16 == 15 || i + 1 == *len) ? "\n" : " ");
	}
	return exit_ok;
}
