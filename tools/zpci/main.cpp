// SPDX-License-Identifier: MIT
// zpci: check, plan and issue zPCI instructions (see `zpci help`).
#include <cstdio>
#include <cstring>
#include <string_view>

#include "commands.hpp"

namespace {

const char usage_text[] =
	"usage: zpci <command> [options]\n"
	"  check {pcistb|pcistg|pcilg} --offset N --len N [--src ADDR]\n"
	"        [--maxstbl N] [--relaxed] [--pcias N]\n"
	"        prints 'ok' or 'invalid: <rule>'\n"
	"  plan {write|read} --offset N --len N [--src ADDR] [--maxstbl N]\n"
	"        [--relaxed] [--no-pcistg] [--pcias N] [--json]\n"
	"  ism-move --token N --index N --offset N --len N [--signal]\n"
	"        [--pcias N] [--maxstbl N] [--json]\n"
	"  io {write|read} --path SPEC --offset N --len N [--pcias N]\n"
	"        [--pattern BYTE] [--src-shift N] [--hex]\n"
	"        SPEC: sim:strict, sim:ism, sim-fallback:..., region:ADDR, fallback:ADDR\n"
	"  bench [--out FILE] [--filter REGEX] [--min-time SECONDS]\n"
	"        [-- google-benchmark options]\n"
	"  info [...]   functions bound to vfio / the zpci_io driver\n"
	"  stats [...]  zpci_io driver counters\n"
	"Numbers are decimal or 0x-hex.  Exit: 0 ok/valid, 1 request invalid,\n"
	"2 usage error.\n";

} // namespace

int main(int argc, char **argv)
{
	if (argc < 2) {
		std::fputs(usage_text, stderr);
		return 2;
	}
	std::string_view cmd = argv[1];
	if (cmd == "help" || cmd == "--help" || cmd == "-h") {
		std::fputs(usage_text, stdout);
		return 0;
	}
	if (cmd == "check")
		return zpci_cmd_check(argc - 1, argv + 1);
	if (cmd == "plan")
		return zpci_cmd_plan(argc - 1, argv + 1);
	if (cmd == "ism-move")
		return zpci_cmd_ism_move(argc - 1, argv + 1);
	if (cmd == "io")
		return zpci_cmd_io(argc - 1, argv + 1);
	if (cmd == "bench")
		return zpci_cmd_bench(argc - 1, argv + 1);
	if (cmd == "info")
		return zpci_cmd_info(argc - 1, argv + 1);
	if (cmd == "stats")
		return zpci_cmd_stats(argc - 1, argv + 1);
	std::fprintf(stderr, "zpci: unknown command '%s'\n%s", argv[1], usage_text);
	return 2;
}
