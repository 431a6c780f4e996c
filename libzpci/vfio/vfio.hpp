// SPDX-License-Identifier: MIT
// Internal: the real vfio paths behind lib's device interfaces.  The public
// declarations are in include/zpci/vfio.hpp; this header adds the seams the
// unit tests use (an injected sys_ops) and the vfio device handle.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <zpci/device.hpp>
#include <zpci/error.hpp>
#include <zpci/vfio.hpp>

#include "sys.hpp"

namespace zpci::vfio {

enum class access_mode { automatic, group, cdev };

// How to open: which system calls, which access.  The defaults are the
// real ones; automatic honours env ZPCI_VFIO_ACCESS.
struct open_options {
	const sys_ops *sys = nullptr;	// null: real_sys()
	access_mode mode = access_mode::automatic;
};

// An open vfio device: its fd and whatever keeps it usable (container and
// group, or iommufd).  Members are destroyed device first.
class vfio_handle {
public:
	static result<vfio_handle> open(std::string_view pci_addr,
					const open_options &opt) noexcept;
	// Use a device fd somebody else opened (an emulator's): it is never
	// closed, and no container, group or iommufd is touched.
	static vfio_handle borrow(int device_fd, const sys_ops *sys) noexcept;

	// VFIO_DEVICE_GET_INFO with the argsz grow-and-retry loop and the
	// zPCI capability chain; fills flags/num_*/zdev of info.
	result<void> get_info(device_info &info) const noexcept;
	// VFIO_DEVICE_GET_REGION_INFO; type/subtype from the TYPE capability
	// when present (has_type false otherwise).
	struct region {
		region_desc desc;
		bool has_type = false;
		std::uint32_t type = 0, subtype = 0;
	};
	result<region> get_region(std::uint32_t index) const noexcept;

	const sys_ops &sys() const noexcept { return *sys_; }
	int fd() const noexcept { return device_.get(); }
	const std::string &access() const noexcept { return access_; }

	vfio_handle(vfio_handle &&) noexcept = default;
	vfio_handle &operator=(vfio_handle &&) noexcept = default;

private:
	vfio_handle() = default;
	result<void> open_group(std::string_view addr) noexcept;
	result<void> open_cdev(std::string_view addr) noexcept;

	const sys_ops *sys_ = nullptr;
	// Declaration order = reverse destruction order: the device goes first.
	unique_fd container_;
	unique_fd group_;
	unique_fd iommufd_;
	unique_fd device_;
	std::string access_;
};

// Query, with the zpci_io device feature; the handle stays open for the caller.
result<device_info> query(vfio_handle &h) noexcept;

result<device_info> query_device(std::string_view pci_addr,
				 const open_options &opt) noexcept;
result<std::unique_ptr<zpci::region_device>>
open_region_device(std::string_view pci_addr, const open_options &opt) noexcept;
result<std::unique_ptr<zpci::bar_device>>
open_bar_device(std::string_view pci_addr, const open_options &opt) noexcept;
result<std::vector<std::string>> list_vfio_functions(const sys_ops &sys) noexcept;

// A region device on a borrowed vfio device fd (zpci_borrow_fd): ENODEV if
// the device has no zpci_io feature, EPROTO if its ABI is refused (or it is
// a driver of ABI 1/2, with the old region), EBADF for a negative fd.  The
// fd is never closed.
result<std::unique_ptr<zpci::region_device>>
borrow_region_device(int device_fd, const sys_ops *sys = nullptr) noexcept;

// "fid:N" / "uid:N" -> the PCI address of the one function under
// sysfs_root (normally /sys/bus/pci/devices) whose function_id / uid
// attribute has that value.  ENODEV: none; EEXIST: more than one (uid not
// unique); errc::bad_spec: malformed key.
result<std::string> resolve_function(std::string_view key, const sys_ops &sys,
				     std::string_view sysfs_root) noexcept;

} // namespace zpci::vfio
