// SPDX-License-Identifier: MIT
// Internal: the real vfio paths behind lib's device interfaces.
#pragma once

#include <memory>
#include <string_view>

#include "zpci/device.hpp"
#include "zpci/error.hpp"

namespace zpci::vfio {

// The zPCI I/O region path (needs the zpci_io variant driver bound).
result<std::unique_ptr<zpci::region_device>>
open_region_device(std::string_view pci_addr) noexcept;

// The 8-byte fallback path through the plain vfio-pci BAR regions.
result<std::unique_ptr<zpci::bar_device>>
open_bar_device(std::string_view pci_addr) noexcept;

} // namespace zpci::vfio
