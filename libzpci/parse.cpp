// SPDX-License-Identifier: MIT
#include <zpci/parse.hpp>

#include <charconv>

namespace zpci {

result<std::uint64_t> parse_u64(std::string_view s) noexcept
{
	int base = 10;
	if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s.remove_prefix(2);
	}
	if (s.empty())
		return std::unexpected(make_error_code(errc::bad_argument));
	std::uint64_t v = 0;
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
	if (ec != std::errc{} || p != s.data() + s.size())
		return std::unexpected(make_error_code(errc::bad_argument));
	return v;
}

} // namespace zpci
