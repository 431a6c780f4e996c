// SPDX-License-Identifier: MIT
// Internal: every system call the vfio paths make goes through sys_ops, so
// unit tests can inject EIO, EINTR, short transfers and bad ioctl payloads.
//
// Convention (like liburing's syscall layer): each call returns what the
// system call returns on success and -errno on failure; nothing here looks
// at the global errno afterwards and nothing retries.  Retrying on EINTR is
// a decision of the caller, because it is only correct for some calls (an
// interrupted batch pwrite must never simply be sent again).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace zpci::vfio {

class sys_ops {
public:
	virtual ~sys_ops() = default;
	virtual int open(const char *path, int flags) const noexcept;
	virtual int close(int fd) const noexcept;
	virtual int ioctl(int fd, unsigned long request, void *arg) const noexcept;
	virtual ssize_t pread(int fd, void *buf, size_t len, off_t off) const noexcept;
	virtual ssize_t pwrite(int fd, const void *buf, size_t len, off_t off) const noexcept;
	// Target of a symbolic link (no trailing NUL handling needed).
	virtual int readlink(const char *path, std::string &out) const noexcept;
	// Entry names of a directory, without "." and "..".
	virtual int list_dir(const char *path, std::vector<std::string> &out) const noexcept;
	// Whether a path exists (0) or -errno.
	virtual int access(const char *path) const noexcept;
};

// The real implementation; lives forever.
const sys_ops &real_sys() noexcept;

// A failed sys_ops call (-errno) as an error_code: converted once, here.
inline std::error_code neg_errno(long r) noexcept
{
	return {static_cast<int>(-r), std::system_category()};
}

// Owns a file descriptor; closes it through the sys_ops it came from.
class unique_fd {
public:
	unique_fd() noexcept = default;
	unique_fd(const sys_ops *sys, int fd) noexcept : sys_(sys), fd_(fd) {}
	unique_fd(const unique_fd &) = delete;
	unique_fd &operator=(const unique_fd &) = delete;
	unique_fd(unique_fd &&o) noexcept
		: sys_(o.sys_), fd_(std::exchange(o.fd_, -1)) {}
	unique_fd &operator=(unique_fd &&o) noexcept
	{
		if (this != &o) {
			reset();
			sys_ = o.sys_;
			fd_ = std::exchange(o.fd_, -1);
		}
		return *this;
	}
	~unique_fd() { reset(); }

	int get() const noexcept { return fd_; }
	explicit operator bool() const noexcept { return fd_ >= 0; }
	void reset() noexcept
	{
		// Never retry close(): on Linux the fd is gone even on EINTR.
		if (fd_ >= 0 && sys_)
			sys_->close(fd_);
		fd_ = -1;
	}

private:
	const sys_ops *sys_ = nullptr;
	int fd_ = -1;
};

} // namespace zpci::vfio
