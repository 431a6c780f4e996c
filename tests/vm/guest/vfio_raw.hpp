// SPDX-License-Identifier: MIT
// A small, raw vfio helper for the guest suite: open a function bound to
// zpci_io by its PCI address (group + type1 container), find the zpci_io
// device feature (VFIO_DEVICE_FEATURE, ZPCI_IO_FEATURE), read its info
// block, build and submit requests (zpci_abi.h, ABI 3), and reach the
// standard BAR and config regions.  Errors are returned as -errno with a
// message, never thrown, so a test can assert on them.
#ifndef ZPCI_VM_VFIO_RAW_HPP
#define ZPCI_VM_VFIO_RAW_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <linux/vfio.h>

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

// sizeof(struct vfio_device_feature) (argsz, flags): the feature's data
// follows it.
inline constexpr std::size_t kFeatHdr = sizeof(vfio_device_feature);
static_assert(kFeatHdr == 8);

// What one request did.
struct SubmitResult {
	long rc = 0;		// the ioctl's return value: 0 or -1
	int err = 0;		// errno when rc < 0, else 0
	// The status block: what the driver wrote into the request's header
	// on failure; on success (the driver writes nothing there) done is
	// the number of ops and the rest 0.
	zpci_io_status status{};
	bool status_written = false;	// the driver wrote the status block
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
	int device_fd() const { return dev_; }
	// The function type, from sysfs (the BASE capability's; the info
	// block does not repeat it since ABI 3).
	std::uint8_t pft() const { return pft_; }

	// The rules' view of this function, built from the info block.
	zpci_caps caps() const;

	// GET of the info block with argsz bytes of room (0 or -errno).
	int read_info(zpci_io_info *out, std::size_t argsz = sizeof(zpci_io_info)) const;

	// One VFIO_DEVICE_FEATURE ioctl of ZPCI_IO_FEATURE with flags
	// (VFIO_DEVICE_FEATURE_GET/SET/PROBE) and data of len bytes (argsz
	// = kFeatHdr + len).  buf points at kFeatHdr bytes of room followed
	// by the data: the header is written there.  Returns the ioctl's
	// result, errno in *err.
	long feature(std::uint32_t flags, void *buf, std::size_t len, int *err) const;
	// The ioctl of a buffer whose feature header is already there (e.g.
	// Batch::build()'s in a read-only copy): nothing is written to buf.
	long ioctl_ready(void *buf, int *err) const;
	// SET of the request at buf + kFeatHdr (len bytes).
	long request_raw(void *buf, std::size_t len, int *err) const
	{
		return feature(kSet, buf, len, err);
	}

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
	std::uint32_t num_regions() const { return num_regions_; }

	static const std::uint32_t kSet;

private:
	std::string addr_;
	int container_ = -1;
	int group_ = -1;
	int dev_ = -1;
	std::uint32_t num_regions_ = 0;
	std::uint8_t pft_ = 0;
	RegionRange bars_[6]{};
	RegionRange config_{};
	zpci_io_info info_{};
};

// Builds a request: ops added one by one (their bytes copied in: a store's
// value inline or its block in the data area, a load's destination kept
// here for after the call), laid out by build() as zpci_abi.h says:
// header, ops, then the data area, each block 8-aligned and never across
// 4 KiB of the request.  Tests may change any op or header field after
// add() and before submit(); build() does not touch what they set.
class Batch {
public:
	Batch();
	zpci_io_op &add(std::uint8_t insn, std::uint8_t pcias,
			std::uint64_t offset, const void *addr,
			std::uint32_t len);
	zpci_io_op &op(std::size_t i) { return ops_[i]; }
	std::size_t nr_ops() const { return ops_.size(); }

	// The header as build() writes it; a test may override any field
	// (hdr_size, op_size, ... and the bytes beyond, tail) here.
	zpci_io_req &header() { return hdr_; }
	std::vector<std::uint8_t> &hdr_tail() { return hdr_tail_; }	// bytes after the header
	std::vector<std::uint8_t> &op_tail() { return op_tail_; }	// bytes after every op
	// Op i's data field is given by the test (not the data area's
	// offset build() would put there).
	void keep_data(std::size_t i) { fixed_[i] = true; }

	// Lays the request out: kFeatHdr bytes of room, then the request.
	// Returns the buffer; size() is the request's size (argsz - kFeatHdr).
	std::vector<std::uint8_t> &build();
	std::size_t size() const { return size_; }
	std::vector<std::uint8_t> &bytes() { return buf_; }
	std::uint8_t *request() { return buf_.data() + kFeatHdr; }
	// Where op i's data field and op i's block are in the built request.
	std::size_t data_pos(std::size_t i) const;
	std::size_t block_pos(std::size_t i) const { return block_at_[i]; }

	// After a call: the values of the first n PCILG ops into their
	// destinations (from the built request or another copy of it).
	void unpack_loads(const std::uint8_t *req, std::size_t n) const;

private:
	zpci_io_req hdr_{};
	std::vector<std::uint8_t> hdr_tail_, op_tail_;
	std::vector<zpci_io_op> ops_;
	std::vector<std::vector<std::uint8_t>> blocks_;	// bytes of long PCISTBs
	std::vector<void *> dst_;
	std::vector<bool> fixed_;
	std::vector<std::size_t> block_at_;
	std::vector<std::uint8_t> buf_;
	std::size_t size_ = 0;
	bool hdr_set_ = false;
};

// Submits b (built now) and returns what happened; PCILG results land in
// the destinations given to add().
SubmitResult submit(const Function &f, Batch &b);
// The same for a request already built at buf (kFeatHdr bytes of room,
// then len bytes of request), e.g. placed next to a userfaultfd page.
SubmitResult submit_at(const Function &f, Batch &b, std::uint8_t *buf, std::size_t len);

// The request's status block, and whether it differs from the sentinel
// (0xa5 bytes) build() leaves there.
zpci_io_status status_of(const std::uint8_t *req, bool *written);

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
