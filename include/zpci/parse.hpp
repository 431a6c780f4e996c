// SPDX-License-Identifier: MIT
// Strict number parsing shared by open_path() specs and the zpci tool.
#ifndef ZPCI_PARSE_HPP
#define ZPCI_PARSE_HPP

#include <cstdint>
#include <string_view>

#include <zpci/error.hpp>

namespace zpci {

// Decimal or 0x-hex, no sign, no spaces, no trailing garbage, no overflow;
// else errc::bad_argument.
result<std::uint64_t> parse_u64(std::string_view s) noexcept;

} // namespace zpci

#endif // ZPCI_PARSE_HPP
