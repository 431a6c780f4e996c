// SPDX-License-Identifier: MIT
// What the guest suite and the guest benchmark share: the environment the
// guest's /init exports, the two functions, and small I/O helpers built on
// the raw zpci_io ABI (requests through the device feature).
#ifndef ZPCI_VM_COMMON_HPP
#define ZPCI_VM_COMMON_HPP

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include "manifest.hpp"
#include "vfio_raw.hpp"
#include "../host/zpci_vm_pattern.hpp"

namespace zpci_vm {

inline std::string env_or(const char *name, const char *dflt)
{
	const char *v = std::getenv(name);
	return v && *v ? v : dflt;
}

// 8-byte (in fact page) aligned, zeroed byte buffer.
class AlignedBuf {
public:
	explicit AlignedBuf(std::size_t len);
	~AlignedBuf();
	AlignedBuf(const AlignedBuf &) = delete;
	AlignedBuf &operator=(const AlignedBuf &) = delete;
	std::uint8_t *data() { return p_; }
	const std::uint8_t *data() const { return p_; }
	std::size_t size() const { return len_; }

private:
	std::uint8_t *p_ = nullptr;
	std::size_t len_ = 0;
};

// An address range that is certainly not mapped (a freed mapping), and a
// mapping that is read-only, for EFAULT cases.
void *unmapped_page();
void *readonly_page();

// Splits [off, off + len) of a BAR into PCISTB ops legal for f (maxstbl,
// 4 KiB boundaries, and for strict functions 8-byte alignment) and runs
// them in batches of at most max_ops.  0 or the errno of the first failure.
int region_store(const Function &f, unsigned bar, std::uint64_t off,
		 const std::uint8_t *src, std::size_t len);

// Reads [off, off + len) with PCILG ops of <= 8 bytes inside doublewords.
int region_load(const Function &f, unsigned bar, std::uint64_t off,
		std::uint8_t *dst, std::size_t len);

// The functions the guest's /init exported, opened once.  wide (fid 3:
// strict alignment, maxstbl 4096, MSI-X) exists in patched mode only and
// is opened by open_wide() on first use, so that a process that never uses
// it holds no reference to it (the hot-unplug test counts zpci_io's).
struct Functions {
	std::string mode;		// patched | stock
	std::string strict_addr, ism_addr, wide_addr;
	Function strict, ism, wide;
	std::string strict_err, ism_err, wide_err;
	int strict_rc = -1, ism_rc = -1, wide_rc = -1;
	bool wide_tried = false;

	static Functions &get();
	bool patched() const { return mode == "patched"; }
	void open_wide();
};

// True when f's BAR 2 is the 16 MiB shared-memory RAM BAR the host checks.
bool has_ram_bar(const Function &f);

// The host control port ($ZPCI_CTL, tests/vm/README.md "Control port"):
// one request line, one answer line.  Asynchronous lines (DELETED <id>)
// that arrive while waiting for an answer are kept in deleted().
class CtlPort {
public:
	CtlPort() = default;
	~CtlPort();
	CtlPort(const CtlPort &) = delete;
	CtlPort &operator=(const CtlPort &) = delete;

	// Opens $ZPCI_CTL; 0 or -errno (-ENOENT when ZPCI_CTL is not set).
	int open(std::string *why);
	// Sends req, waits up to timeout_ms for its answer; 0 or -errno
	// (-ETIMEDOUT).  The answer has no newline.
	int request(const std::string &req, std::string *answer, int timeout_ms = 10000);
	const std::vector<std::string> &deleted() const { return deleted_; }

private:
	int read_line(std::string *line, int timeout_ms);
	int fd_ = -1;
	std::string buf_;
	std::vector<std::string> deleted_;
};

// Fault injection through the control port (test QEMU only): what
// FAULT_STATUS reports for a function.
struct FaultState {
	std::string kind;		// none | busy | inval | error
	std::uint64_t left = 0;		// instructions still to answer
	std::uint64_t hits = 0;		// instructions answered so far
	std::uint64_t recoveries = 0;	// RECOVERs so far
	std::uint32_t fh = 0;		// the function handle QEMU accepts
	std::string state;		// enabled | error | blocked | ...
};

// "FAULT <id> <spec>" (spec: "busy N", "inval N", "error N STATUS", with
// " recover" appended for a recovery after the last one, or "clear").
// 0, or -EIO with the host's answer in *why.
int ctl_fault(CtlPort &c, const std::string &id, const std::string &spec, std::string *why);
int ctl_fault_status(CtlPort &c, const std::string &id, FaultState *st, std::string *why);
// "RECOVER <id>": new handle + error event; *fh gets the new handle.
int ctl_recover(CtlPort &c, const std::string &id, std::uint32_t *fh, std::string *why);

using Clock = std::chrono::steady_clock;

// Milliseconds since t0.
inline double ms_since(Clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// SIGKILL pid and wait up to timeout_ms for it (polling every poll_us):
// true if it was reaped, its wait status in *status.
bool kill_and_reap(pid_t pid, double timeout_ms, unsigned poll_us, int *status);

// The driver's s390dbf view of failed instructions.
inline constexpr char kDbf[] = "/sys/kernel/debug/s390dbf/zpci_io/sprintf";

// The whole of a small file, "" if it cannot be read.
std::string slurp(const char *path);

}  // namespace zpci_vm

#endif
