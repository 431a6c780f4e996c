// SPDX-License-Identifier: MIT
// Placeholder bodies until the real vfio paths land.
#include "vfio/vfio.hpp"

#include <system_error>

namespace zpci::vfio {

result<std::unique_ptr<zpci::region_device>>
open_region_device(std::string_view) noexcept
{
	return std::unexpected(std::make_error_code(std::errc::not_supported));
}

result<std::unique_ptr<zpci::bar_device>>
open_bar_device(std::string_view) noexcept
{
	return std::unexpected(std::make_error_code(std::errc::not_supported));
}

} // namespace zpci::vfio
