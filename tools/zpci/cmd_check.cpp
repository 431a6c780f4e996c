// SPDX-License-Identifier: MIT
// zpci check / plan / ism-move: the rules and planners, no device needed.
#include <cstdio>
#include <string>

#include <zpci/ism.hpp>
#include <zpci/plan.hpp>
#include <zpci/rules.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "format.hpp"

using namespace zpci;
using namespace zpci::cli;

namespace {

// Caps of the function the offline commands reason about: all 6 BARs,
// unbounded, all accept PCISTG (unless no_pcistg).
bool make_caps(args &a, zpci_caps &caps, bool relaxed_default = false,
	       std::uint32_t maxstbl_default = 128)
{
	std::uint64_t maxstbl = a.number("maxstbl").value_or(maxstbl_default);
	if (a.failed())
		return false;
	if (maxstbl < 16 || maxstbl > ZPCI_MAXSTBL_LIMIT) {
		a.usage_error("bad --maxstbl value " + std::to_string(maxstbl) +
			      " (16..4096)");
		return false;
	}
	caps = strict_caps(static_cast<std::uint32_t>(maxstbl));
	if (relaxed_default || a.flag("relaxed"))
		caps.flags |= ZPCI_CAPS_RELAXED;
	if (a.flag("no-pcistg"))
		caps.pcistg_mask = 0;
	return true;
}

bool get_pcias(args &a, unsigned max, unsigned &pcias, unsigned def = 0)
{
	std::uint64_t v = a.number("pcias").value_or(def);
	if (a.failed())
		return false;
	if (v > max) {
		a.usage_error("bad --pcias value " + std::to_string(v) +
			      " (0.." + std::to_string(max) + ")");
		return false;
	}
	pcias = static_cast<unsigned>(v);
	return true;
}

int invalid(const char *cmd, const std::error_code &ec)
{
	if (unsigned r = rule_of(ec))
		std::printf("invalid: %s\n", zpci_rule_name(r));
	else
		std::printf("invalid: %s\n", ec.message().c_str());
	(void)cmd;
	return exit_invalid;
}

constexpr std::uint64_t plan_len_limit = 64ULL << 20;

} // namespace

int zpci_cmd_check(int argc, char **argv)
{
	args a;
	if (!a.parse("check", argc, argv, 1,
		     {{"offset", true}, {"len", true}, {"src", true},
		      {"maxstbl", true}, {"relaxed", false}, {"pcias", true}}))
		return exit_usage;
	if (a.positional().size() != 1) {
		a.usage_error(a.positional().empty()
			? "missing instruction (pcistb|pcistg|pcilg)"
			: "unexpected argument '" + a.positional()[1] + "'");
		return exit_usage;
	}
	const std::string &name = a.positional()[0];
	unsigned kind;
	if (name == "pcistb")
		kind = ZPCI_INSN_PCISTB;
	else if (name == "pcistg")
		kind = ZPCI_INSN_PCISTG;
	else if (name == "pcilg")
		kind = ZPCI_INSN_PCILG;
	else {
		a.usage_error("unknown instruction '" + name + "' (pcistb|pcistg|pcilg)");
		return exit_usage;
	}
	auto offset = a.required("offset");
	auto len = a.required("len");
	std::uint64_t src = a.number("src").value_or(0);
	zpci_caps caps;
	unsigned pcias = 0;
	if (a.failed() || !offset || !len || !make_caps(a, caps) ||
	    !get_pcias(a, ZPCI_PCIAS_CONFIG, pcias))
		return exit_usage;
	zpci_verdict v = zpci_check(&caps, kind, pcias, *offset, *len, src);
	if (v.rule == ZPCI_RULE_OK) {
		std::printf("ok\n");
		return exit_ok;
	}
	std::printf("invalid: %s\n", zpci_rule_name(v.rule));
	return exit_invalid;
}

int zpci_cmd_plan(int argc, char **argv)
{
	args a;
	if (!a.parse("plan", argc, argv, 1,
		     {{"offset", true}, {"len", true}, {"src", true},
		      {"maxstbl", true}, {"relaxed", false}, {"no-pcistg", false},
		      {"pcias", true}, {"json", false}}))
		return exit_usage;
	if (a.positional().size() != 1) {
		a.usage_error(a.positional().empty()
			? "missing direction (write|read)"
			: "unexpected argument '" + a.positional()[1] + "'");
		return exit_usage;
	}
	plan_request req;
	const std::string &dir = a.positional()[0];
	if (dir == "write")
		req.dir = direction::write;
	else if (dir == "read")
		req.dir = direction::read;
	else {
		a.usage_error("unknown direction '" + dir + "' (write|read)");
		return exit_usage;
	}
	auto offset = a.required("offset");
	auto len = a.required("len");
	std::uint64_t src = a.number("src").value_or(0);
	zpci_caps caps;
	unsigned pcias = 0;
	if (a.failed() || !offset || !len || !make_caps(a, caps) ||
	    !get_pcias(a, ZPCI_PCIAS_BAR_MAX, pcias))
		return exit_usage;
	if (*len > plan_len_limit) {
		a.usage_error("bad --len value " + std::to_string(*len) +
			      " (at most 64 MiB per plan)");
		return exit_usage;
	}
	req.pcias = static_cast<std::uint8_t>(pcias);
	req.offset = *offset;
	req.len = *len;
	req.addr = src;
	auto p = planner::make(caps, req);
	if (!p)
		return invalid("plan", p.error());
	bool json = a.flag("json");
	if (json)
		std::printf("[");
	op o;
	bool first = true;
	while (p->next(o)) {
		if (json)
			std::printf("%s\n  {\"insn\": \"%s\", \"offset\": %llu, \"len\": %u}",
				    first ? "" : ",", insn_name(o.kind),
				    static_cast<unsigned long long>(o.offset), o.len);
		else
			std::printf("%s offset=%s len=%u\n", insn_name(o.kind),
				    hex(o.offset).c_str(), o.len);
		first = false;
	}
	if (json)
		std::printf("\n]\n");
	return exit_ok;
}

int zpci_cmd_ism_move(int argc, char **argv)
{
	args a;
	if (!a.parse("ism-move", argc, argv, 1,
		     {{"token", true}, {"index", true}, {"offset", true},
		      {"len", true}, {"signal", false}, {"json", false},
		      {"pcias", true}, {"maxstbl", true}}))
		return exit_usage;
	if (!a.positional().empty()) {
		a.usage_error("unexpected argument '" + a.positional()[0] + "'");
		return exit_usage;
	}
	auto token = a.required("token");
	auto index = a.required("index");
	auto offset = a.required("offset");
	auto len = a.required("len");
	zpci_caps caps;
	unsigned pcias = 0;
	if (a.failed() || !token || !index || !offset || !len || !make_caps(a, caps, true, ZPCI_MAXSTBL_LIMIT) ||
	    !get_pcias(a, ZPCI_PCIAS_BAR_MAX, pcias))
		return exit_usage;
	if (*index > 0xffffffffULL) {
		a.usage_error("bad --index value " + std::to_string(*index));
		return exit_usage;
	}
	ism::move_request req;
	req.token = *token;
	req.index = static_cast<std::uint32_t>(*index);
	req.offset = *offset;
	req.len = *len;
	req.signal = a.flag("signal");
	req.pcias = pcias;
	auto p = ism::move_planner::make(caps, req);
	if (!p)
		return invalid("ism-move", p.error());
	bool json = a.flag("json");
	if (json)
		std::printf("[");
	op o;
	bool first = true;
	while (p->next(o)) {
		int sig = (o.offset & ism::signal_flag) ? 1 : 0;
		if (json)
			std::printf("%s\n  {\"insn\": \"%s\", \"pcias\": %u, \"offset\": %llu, "
				    "\"len\": %u, \"signal\": %d}",
				    first ? "" : ",", insn_name(o.kind), o.pcias,
				    static_cast<unsigned long long>(o.offset), o.len, sig);
		else
			std::printf("%s pcias=%u offset=%s len=%u signal=%d\n",
				    insn_name(o.kind), o.pcias, hex(o.offset).c_str(),
				    o.len, sig);
		first = false;
	}
	if (json)
		std::printf("\n]\n");
	return exit_ok;
}
