// SPDX-License-Identifier: MIT
// A small, raw vfio helper for the guest suite: open a function bound to
// zpci_io by its PCI address (group + type1 container), find the zPCI I/O
// region by its vendor type/subtype capability, submit batches, and reach
// the standard BAR and config regions.  Errors are returned as -errno with
// a message, never thrown, so a test can assert on them.
#ifndef ZPCI_VM_VFIO_RAW_HPP
#define ZPCI_VM_VFIO_RAW_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include "zpci/zpci_abi.h"
#include "zpci/zpci_rules.h"
}

namespace zpci_vm {

struct RegionRange {
	std::uint64_t offset = 0;	// file offset of the region in the device fd
	std::uint64_t size = 0;
	std::uint32_t flags = 0;
};

// What one pwrite of a batch did.
struct SubmitResult {
	long rc = 0;		// pwrite's return value
	int err = 0;		// errno when rc < 0, else 0
	zpci_io_status status{};	// filled when the batch had a status_addr
};

class Function {
public:
	Function() = default;
	~Function();
	Function(const Function &) = delete;
	Function &operator=(const Function &) = delete;

	// Opens addr ("dddd:bb:dd.f"); returns 0 or -errno, message in *why.
	int open(const std::string &addr, std::string *why);
	void close();
	bool is_open() const { return dev_ >= 0; }

	const std::string &addr() const { return addr_; }
	const zpci_io_info &info() const { return info_; }
	const RegionRange &io_region() const { return io_; }
	int device_fd() const { return dev_; }

	// The rules' view of this function, built from the region's info.
	zpci_caps caps() const;

	// Re-reads the info block from the region (0 or -errno).
	int read_info(zpci_io_info *out) const;

	// One pwrite of raw bytes at ZPCI_IO_REQ_OFFSET (or another offset
	// inside the region).  If the bytes carry a status_addr it is the
	// caller's business to read it.
	long write_raw(const void *buf, std::size_t len, int *err,
		       std::uint64_t region_off = ZPCI_IO_REQ_OFFSET) const;

	// Routes the kernel's "please release this device" request (vfio
	// REQ interrupt, sent when the function is being removed) to an
	// eventfd.  0 or -errno.
	int set_req_eventfd(int efd) const;
	// Routes vfio's error interrupt (VFIO_PCI_ERR_IRQ_INDEX, signalled
	// when the function enters PCI error recovery) to an eventfd (-1:
	// none).  0 or -errno.
	int set_err_eventfd(int efd) const;
	// VFIO_DEVICE_GET_IRQ_INFO's count for an interrupt index, or -errno.
	int irq_count(unsigned index) const;

	// Standard vfio-pci regions: BAR n, config space (index 7).
	int region_range(unsigned index, RegionRange *out) const;
	long bar_pwrite(unsigned bar, const void *buf, std::size_t len,
			std::uint64_t off, int *err) const;
	long bar_pread(unsigned bar, void *buf, std::size_t len,
		       std::uint64_t off, int *err) const;
	long config_pread(void *buf, std::size_t len, std::uint64_t off,
			  int *err) const;

private:
	std::string addr_;
	int container_ = -1;
	int group_ = -1;
	int dev_ = -1;
	RegionRange io_{};
	RegionRange bars_[6]{};
	RegionRange config_{};
	zpci_io_info info_{};
};

// Builds a batch in one contiguous buffer: header + ops.
class Batch {
public:
	explicit Batch(std::uint64_t status_addr = 0);
	zpci_io_op &add(std::uint8_t insn, std::uint8_t pcias,
			std::uint64_t offset, const void *addr,
			std::uint32_t len);
	zpci_io_batch &header() { return *reinterpret_cast<zpci_io_batch *>(buf_.data()); }
	zpci_io_op &op(std::size_t i);
	std::size_t nr_ops() const { return nr_; }
	const std::uint8_t *data() const { return buf_.data(); }
	std::size_t size() const { return buf_.size(); }
	std::vector<std::uint8_t> &bytes() { return buf_; }

private:
	std::vector<std::uint8_t> buf_;
	std::size_t nr_ = 0;
};

// Submits b with a status block and returns what happened.
SubmitResult submit(const Function &f, Batch &b);

// /proc/vmstat counters after folding the per-cpu deltas (stat_refresh).
struct PinCounters {
	std::uint64_t acquired = 0;
	std::uint64_t released = 0;
	bool valid = false;
};
PinCounters read_pin_counters();

const char *errno_name(int err);

}  // namespace zpci_vm

#endif
