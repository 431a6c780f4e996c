// SPDX-License-Identifier: MIT
// The real system calls.  The only file of the vfio paths that reads errno.
#include "sys.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zpci::vfio {

int sys_ops::open(const char *path, int flags) const noexcept
{
	int fd = ::open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int sys_ops::close(int fd) const noexcept
{
	return ::close(fd) < 0 ? -errno : 0;
}

int sys_ops::ioctl(int fd, unsigned long request, void *arg) const noexcept
{
	int r = ::ioctl(fd, request, arg);
	return r < 0 ? -errno : r;
}

ssize_t sys_ops::pread(int fd, void *buf, size_t len, off_t off) const noexcept
{
	ssize_t r = ::pread(fd, buf, len, off);
	return r < 0 ? -errno : r;
}

ssize_t sys_ops::pwrite(int fd, const void *buf, size_t len, off_t off) const noexcept
{
	ssize_t r = ::pwrite(fd, buf, len, off);
	return r < 0 ? -errno : r;
}

int sys_ops::readlink(const char *path, std::string &out) const noexcept
{
	char buf[PATH_MAX];
	ssize_t n = ::readlink(path, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if (static_cast<size_t>(n) >= sizeof(buf))
		return -ENAMETOOLONG;
	try {
		out.assign(buf, static_cast<size_t>(n));
	} catch (...) {
		return -ENOMEM;
	}
	return 0;
}

int sys_ops::list_dir(const char *path, std::vector<std::string> &out) const noexcept
{
	DIR *d = ::opendir(path);
	if (!d)
		return -errno;
	int ret = 0;
	try {
		out.clear();
		errno = 0;
		while (struct dirent *e = ::readdir(d)) {
			if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, ".."))
				continue;
			out.emplace_back(e->d_name);
		}
		if (errno)
			ret = -errno;
	} catch (...) {
		ret = -ENOMEM;
	}
	::closedir(d);
	return ret;
}

int sys_ops::access(const char *path) const noexcept
{
	return ::access(path, F_OK) < 0 ? -errno : 0;
}

const sys_ops &real_sys() noexcept
{
	static const sys_ops real;
	return real;
}

} // namespace zpci::vfio
