// SPDX-License-Identifier: MIT
// Internal: the libnl transport of the statistics client, for any generic
// netlink family (tests run it against the always-present "nlctrl").
#pragma once

#include <memory>

#include <zpci/stats.hpp>

namespace zpci::stats {

result<std::unique_ptr<transport>> open_libnl_transport(const char *family) noexcept;

} // namespace zpci::stats
