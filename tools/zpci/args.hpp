// SPDX-License-Identifier: MIT
// Small option parser for the zpci tool: "--name value", "--name=value" and
// flags; numbers are decimal or 0x-hex.  Errors name the bad argument.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zpci::cli {

enum exit_code { exit_ok = 0, exit_invalid = 1, exit_usage = 2 };

struct option_spec {
	std::string_view name;	// without "--"
	bool has_value;
};

class args {
public:
	// Parses argv[first..argc); false (after printing "zpci <cmd>: ...")
	// on an unknown option, a missing value or a repeated option.
	bool parse(std::string_view cmd, int argc, char **argv, int first,
		   std::initializer_list<option_spec> specs);

	bool flag(std::string_view name) const;
	// The option's number; nullopt when absent.  On a bad number prints
	// the error and sets failed().
	std::optional<std::uint64_t> number(std::string_view name);
	// Required number: prints "missing --name" when absent.
	std::optional<std::uint64_t> required(std::string_view name);
	std::optional<std::string> value(std::string_view name) const;
	const std::vector<std::string> &positional() const { return positional_; }
	bool failed() const { return failed_; }
	void usage_error(const std::string &msg);

private:
	std::string cmd_;
	std::map<std::string, std::string, std::less<>> values_;
	std::map<std::string, bool, std::less<>> flags_;
	std::vector<std::string> positional_;
	bool failed_ = false;
};

} // namespace zpci::cli
