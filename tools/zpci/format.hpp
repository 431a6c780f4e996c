// SPDX-License-Identifier: MIT
// Formatting shared by `zpci info` and `zpci stats`: numbers as the tool
// prints them, sysfs look-ups, and JSON output (nlohmann::ordered_json, so
// keys keep the order the commands add them in).
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include <zpci/stats.hpp>

namespace zpci::cli {

using json = nlohmann::ordered_json;

std::string hex(std::uint64_t v);
// 4096 -> "4K", 1 << 20 -> "1M", 1 << 30 -> "1G"; other values in bytes.
std::string size_str(std::uint64_t v);
// "EINVAL" for the errno values the driver's statistics can hold, else the number.
std::string errno_name(std::uint32_t e);
std::string hexbytes(const std::vector<std::uint8_t> &v);
// The driver bound to a PCI function, from sysfs ("" when none).
std::string driver_of(const std::string &addr);
// "zpci <cmd>: <what>: <error>" on stderr; returns exit_invalid.
int fail(const char *cmd, const std::string &what, const std::error_code &ec);
// The netlink family or the device is not there (driver not loaded).
bool driver_missing(const std::error_code &ec);
// One line of compact JSON on stdout; invalid UTF-8 (a sysfs name, say) is
// replaced, never thrown about.
void print_json(const json &j);
// The fields the driver reports for a function (fid, then uid, pft,
// maxstbl, relaxed when present), for `zpci info --json` and `zpci stats
// --json` alike.
void add_function_fields(json &j, const stats::function &f);

} // namespace zpci::cli
