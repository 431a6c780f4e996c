// SPDX-License-Identifier: MIT
//
// libzpci's real vfio paths: open a zPCI function bound to vfio by its PCI
// address and get one of the two lower devices of device.hpp.
//
//   auto dev = zpci::vfio::open_region_device("0000:00:00.0");
//   if (!dev) { ... dev.error().message() ... }   // e.g. "No such device"
//   zpci::exec_status st;
//   auto n = (*dev)->submit(ops, &st);           // one pwrite per call
//
//  * open_region_device(): the zpci_io variant driver's device feature
//    (VFIO_DEVICE_FEATURE, ZPCI_IO_FEATURE; the name is older than ABI 3,
//    when it was a region).  Fails with ENODEV when the function is bound
//    to vfio but has no such feature (plain vfio-pci), EPROTO when the
//    driver's ABI does not match this library (query_device() shows both
//    versions; a driver of ABI 1 or 2 is EPROTO too).  submit() takes at
//    most max_ops() ops (info.max_ops), builds one self-contained request
//    of them (the bytes of every store copied in, no pointer in it) and
//    issues it with one VFIO_DEVICE_FEATURE ioctl; PCILG results are
//    copied out of it.  If a signal interrupts the driver between two ops
//    (EINTR with status.done), submit() resumes with the remaining ops.
//  * open_bar_device(): the 8-byte fallback path, plain vfio-pci BAR
//    pread/pwrite of 1..8 bytes.  Works with or without the zpci_io driver;
//    without it the caps come from the vfio zPCI capabilities (GROUP
//    maxstbl, BASE pft) and the BAR region sizes.
//  * query_device(): everything vfio and the driver tell about a function,
//    for `zpci info` and for test set-up (e.g. to skip when there is no
//    region).  It opens and closes the device.
//
// Opening: the iommufd device node /dev/vfio/devices/vfioN (found under
// /sys/bus/pci/devices/<addr>/vfio-dev/) when the kernel has it and
// /dev/iommu exists, else the legacy group + container (type1 IOMMU, or
// no-IOMMU mode).  env ZPCI_VFIO_ACCESS=group|cdev forces one of them.
// The address is the full "dddd:bb:dd.f" form; anything else is
// zpci::errc::bad_argument.  vfio opens a group once, so the devices of
// one function in one process share one vfio handle: a region device and
// a bar device of the same function can be open at the same time (another
// process gets EBUSY).  Each device is used from one thread at a time; the
// handle's file descriptors close with the last device.
#ifndef ZPCI_VFIO_HPP
#define ZPCI_VFIO_HPP

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zpci/device.hpp>
#include <zpci/error.hpp>
#include <zpci/zpci_abi.h>
#include <zpci/zpci_rules.h>

namespace zpci::vfio {

// linux/vfio_zdev.h capabilities of the vfio device info, as reported.
struct zdev_caps {
	bool has_base = false;		// VFIO_DEVICE_INFO_CAP_ZPCI_BASE
	std::uint16_t base_version = 0;
	std::uint64_t start_dma = 0, end_dma = 0;
	std::uint16_t pchid = 0, vfn = 0, fmb_length = 0;
	std::uint8_t pft = 0, gid = 0;
	bool has_fh = false;		// BASE version >= 2
	std::uint32_t fh = 0;

	bool has_group = false;		// VFIO_DEVICE_INFO_CAP_ZPCI_GROUP
	std::uint16_t group_version = 0;
	std::uint64_t dasm = 0, msi_addr = 0, group_flags = 0;
	std::uint16_t mui = 0, noi = 0;
	std::uint16_t maxstbl = 0;	// 128 on the intercept path
	std::uint8_t pci_version = 0;
	bool has_imaxstbl = false;	// GROUP version >= 2
	std::uint16_t imaxstbl = 0;

	bool has_util = false;		// VFIO_DEVICE_INFO_CAP_ZPCI_UTIL
	std::vector<std::uint8_t> util;	// EBCDIC, as reported
	bool has_pfip = false;		// VFIO_DEVICE_INFO_CAP_ZPCI_PFIP
	std::vector<std::uint8_t> pfip;
};

struct region_desc {
	std::uint32_t index = 0;
	std::uint32_t flags = 0;	// VFIO_REGION_INFO_FLAG_*
	std::uint64_t size = 0;
	std::uint64_t offset = 0;	// file offset of the region in the device fd
};

struct device_info {
	std::string pci_addr;
	std::string access;		// "cdev /dev/vfio/devices/vfio0" or "group 3"
	std::uint32_t flags = 0;	// VFIO_DEVICE_FLAGS_*
	std::uint32_t num_regions = 0;
	std::uint32_t num_irqs = 0;
	std::array<region_desc, ZPCI_NUM_BARS> bars{};	// size 0: none
	zdev_caps zdev;
	// The zpci_io device feature (ZPCI_IO_FEATURE), when the zpci_io
	// driver is bound: PROBE answered, and its info block (GET).
	bool io_feature = false;
	std::optional<zpci_io_info> io;		// as read, even if refused
	std::error_code io_error;		// why open_region_device would refuse
	// No feature, but the region of a zpci_io driver of ABI 1 or 2: too
	// old for this library (io_error is EPROTO).
	bool io_legacy_region = false;
};

// "dddd:bb:dd.f" with hex digits and function 0..7, nothing else.
bool valid_pci_addr(std::string_view pci_addr) noexcept;

result<device_info> query_device(std::string_view pci_addr) noexcept;

result<std::unique_ptr<zpci::region_device>>
open_region_device(std::string_view pci_addr) noexcept;

result<std::unique_ptr<zpci::bar_device>>
open_bar_device(std::string_view pci_addr) noexcept;

// The caps the fallback path derives from vfio alone (no driver): maxstbl
// from the GROUP capability (128 if absent), relaxed for PFT 5 (ISM),
// BARs and sizes from the BAR regions, PCISTG on every BAR except ISM's
// BAR 0 (the driver's default too).  Note: a store the function refuses
// is not reported on this path; vfio-pci's BAR write has no error path
// for the instruction's condition code.
zpci_caps fallback_caps(const device_info &info) noexcept;

// The caps of the zpci_io feature's info block and the function type of
// the BASE capability, or the reason they are refused (version handshake
// of zpci_abi.h, invalid values): EPROTO.
result<zpci_caps> region_caps(const zpci_io_info &io, const zdev_caps &zdev) noexcept;

// "fid:N" or "uid:N" (decimal or 0x-hex) -> the PCI address of the
// function whose sysfs function_id / uid has that value (s390 only:
// /sys/bus/pci/devices/*/function_id, uid).  ENODEV when no function has
// it, EEXIST when several do, errc::bad_spec when malformed.
result<std::string> resolve_function(std::string_view key) noexcept;

// Devices bound to vfio (vfio-pci, zpci_io or another variant driver):
// PCI addresses from /sys/bus/pci/devices, sorted.
result<std::vector<std::string>> list_vfio_functions() noexcept;

} // namespace zpci::vfio

#endif // ZPCI_VFIO_HPP
