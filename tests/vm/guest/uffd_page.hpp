// SPDX-License-Identifier: MIT
// A page that stays faulted until the test says so (userfaultfd), to park
// a request inside the driver's copy of it: the request ends in this page,
// which follows an ordinary page (before()) in one mapping.
#ifndef ZPCI_VM_UFFD_PAGE_HPP
#define ZPCI_VM_UFFD_PAGE_HPP

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

#include "vfio_raw.hpp"

namespace zpci_vm {

// Two anonymous pages, the second registered with a userfaultfd in
// "missing" mode: the first access to it (from user space, or from the
// kernel's copy_from_user()) waits until resolve() fills it.
class UffdPage {
public:
	~UffdPage()
	{
		if (mem_ != MAP_FAILED)
			munmap(mem_, 2 * 4096);
		if (fd_ >= 0)
			::close(fd_);
	}
	// 0, or -errno with the reason in *why.
	int open(std::string *why)
	{
		fd_ = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
		if (fd_ < 0)
			return fail(why, "userfaultfd()");
		uffdio_api api{};
		api.api = UFFD_API;
		if (ioctl(fd_, UFFDIO_API, &api) < 0)
			return fail(why, "UFFDIO_API");
		mem_ = mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem_ == MAP_FAILED)
			return fail(why, "mmap");
		uffdio_register reg{};
		reg.range.start = reinterpret_cast<std::uintptr_t>(data());
		reg.range.len = 4096;
		reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		if (ioctl(fd_, UFFDIO_REGISTER, &reg) < 0)
			return fail(why, "UFFDIO_REGISTER");
		return 0;
	}
	std::uint8_t *data() const { return static_cast<std::uint8_t *>(mem_) + 4096; }
	// The ordinary page right before data().
	std::uint8_t *before() const { return static_cast<std::uint8_t *>(mem_); }
	// True once a page fault on the page was reported (within ms).
	bool wait_fault(int ms)
	{
		pollfd p{fd_, POLLIN, 0};
		if (poll(&p, 1, ms) != 1)
			return false;
		uffd_msg m{};
		if (::read(fd_, &m, sizeof(m)) != sizeof(m))
			return false;
		return m.event == UFFD_EVENT_PAGEFAULT;
	}
	// Fills the page with content (4096 bytes) and wakes the waiter.
	int resolve(const void *content)
	{
		uffdio_copy c{};
		c.dst = reinterpret_cast<std::uintptr_t>(data());
		c.src = reinterpret_cast<std::uintptr_t>(content);
		c.len = 4096;
		if (ioctl(fd_, UFFDIO_COPY, &c) < 0 && errno != EEXIST)
			return -errno;
		return 0;
	}

private:
	static int fail(std::string *why, const char *what)
	{
		int e = errno;
		*why = std::string(what) + ": " + std::strerror(e);
		return -e;
	}
	int fd_ = -1;
	void *mem_ = MAP_FAILED;
};

// b (built) copied so that the block of its op i starts at the first
// byte of u's faulting page: everything before that block in the ordinary
// page before it, the block and the rest left to the page's content
// (resolve()).  Returns where the copy starts (kFeatHdr bytes of room,
// then the request): pass it to submit_at() with b.size().
inline std::uint8_t *place_before_uffd(Batch &b, std::size_t i, const UffdPage &u)
{
	std::vector<std::uint8_t> &buf = b.build();
	const std::size_t head = kFeatHdr + b.block_pos(i);
	std::uint8_t *at = u.data() - head;
	std::memcpy(at, buf.data(), head);
	return at;
}

// Why userfaultfd cannot be used here, or "".
inline std::string uffd_unusable()
{
	if (geteuid() != 0) {
		std::ifstream in("/proc/sys/vm/unprivileged_userfaultfd");
		int v = 0;
		if (!(in >> v) || v != 1)
			return "not root and vm.unprivileged_userfaultfd is not 1";
	}
	UffdPage p;
	std::string why;
	if (p.open(&why) < 0)
		return why;
	return "";
}

}  // namespace zpci_vm

#endif
