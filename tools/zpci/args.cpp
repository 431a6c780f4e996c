// SPDX-License-Identifier: MIT
#include "args.hpp"

#include <cstdio>

#include <zpci/parse.hpp>

namespace zpci::cli {

void args::usage_error(const std::string &msg)
{
	std::fprintf(stderr, "zpci %s: %s\n", cmd_.c_str(), msg.c_str());
	failed_ = true;
}

bool args::parse(std::string_view cmd, int argc, char **argv, int first,
		 std::initializer_list<option_spec> specs)
{
	cmd_ = std::string(cmd);
	for (int i = first; i < argc; i++) {
		std::string_view a = argv[i];
		if (a.size() < 2 || a.substr(0, 2) != "--") {
			positional_.emplace_back(a);
			continue;
		}
		std::string_view name = a.substr(2), val;
		bool inline_val = false;
		if (auto eq = name.find('='); eq != std::string_view::npos) {
			val = name.substr(eq + 1);
			name = name.substr(0, eq);
			inline_val = true;
		}
		const option_spec *spec = nullptr;
		for (const auto &s : specs)
			if (s.name == name)
				spec = &s;
		if (!spec) {
			usage_error("unknown option '" + std::string(a) + "'");
			return false;
		}
		if (values_.count(name) || flags_.count(name)) {
			usage_error("option --" + std::string(name) + " given twice");
			return false;
		}
		if (!spec->has_value) {
			if (inline_val) {
				usage_error("option --" + std::string(name) + " takes no value");
				return false;
			}
			flags_.emplace(std::string(name), true);
			continue;
		}
		if (!inline_val) {
			if (i + 1 >= argc) {
				usage_error("option --" + std::string(name) + " needs a value");
				return false;
			}
			val = argv[++i];
		}
		values_.emplace(std::string(name), std::string(val));
	}
	return true;
}

bool args::flag(std::string_view name) const
{
	return flags_.find(name) != flags_.end();
}

std::optional<std::string> args::value(std::string_view name) const
{
	auto it = values_.find(name);
	if (it == values_.end())
		return std::nullopt;
	return it->second;
}

std::optional<std::uint64_t> args::number(std::string_view name)
{
	auto v = value(name);
	if (!v)
		return std::nullopt;
	auto n = parse_u64(*v);
	if (!n) {
		usage_error("bad --" + std::string(name) + " value '" + *v +
			    "' (expected a decimal or 0x-hex number < 2^64)");
		return std::nullopt;
	}
	return *n;
}

std::optional<std::uint64_t> args::required(std::string_view name)
{
	if (!value(name)) {
		usage_error("missing --" + std::string(name));
		return std::nullopt;
	}
	return number(name);
}

} // namespace zpci::cli
