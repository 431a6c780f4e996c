// SPDX-License-Identifier: MIT
#include "common.hpp"

#include <csignal>
#include <fstream>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sstream>
#include <sys/mman.h>
#include <unistd.h>

namespace zpci_vm {

AlignedBuf::AlignedBuf(std::size_t len) : len_(len)
{
	std::size_t page = sysconf(_SC_PAGESIZE);
	std::size_t alloc = (len + page - 1) / page * page;
	if (alloc == 0)
		alloc = page;
	void *p = mmap(nullptr, alloc, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		std::abort();
	p_ = static_cast<std::uint8_t *>(p);
}

AlignedBuf::~AlignedBuf()
{
	std::size_t page = sysconf(_SC_PAGESIZE);
	munmap(p_, std::max<std::size_t>((len_ + page - 1) / page * page, page));
}

void *unmapped_page()
{
	static void *p = [] {
		std::size_t page = sysconf(_SC_PAGESIZE);
		void *m = mmap(nullptr, 4 * page, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			std::abort();
		munmap(m, 4 * page);
		// Keep something else from landing there: reserve the range
		// again with PROT_NONE (pinning a PROT_NONE page fails too).
		void *r = mmap(m, 4 * page, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		return r == MAP_FAILED ? m : r;
	}();
	return static_cast<std::uint8_t *>(p) + sysconf(_SC_PAGESIZE);
}

void *readonly_page()
{
	static void *p = [] {
		std::size_t page = sysconf(_SC_PAGESIZE);
		void *m = mmap(nullptr, page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			std::abort();
		std::memset(m, 0x5a, page);
		mprotect(m, page, PROT_READ);
		return m;
	}();
	return p;
}

static int run(const Function &f, Batch &b)
{
	SubmitResult r = submit(f, b);
	return r.rc < 0 ? r.err : 0;
}

int region_store(const Function &f, unsigned bar, std::uint64_t off,
		 const std::uint8_t *src, std::size_t len)
{
	const zpci_io_info &in = f.info();
	std::uint32_t maxops = std::max<std::uint32_t>(in.max_ops, 1);
	bool relaxed = in.flags & ZPCI_IO_INFO_RELAXED;
	Batch b;
	std::size_t done = 0;
	while (done < len) {
		std::uint64_t pos = off + done;
		std::size_t chunk = std::min<std::size_t>(len - done, in.maxstbl);
		chunk = std::min<std::size_t>(chunk, 4096 - (pos & 4095));
		if (!relaxed) {
			// Strict: 8-aligned target, 16..maxstbl multiples of 8.
			if ((pos & 7) || chunk < 16 || (chunk & 7))
				return EINVAL;
		}
		b.add(ZPCI_IO_OP_PCISTB, bar, pos, src + done, chunk);
		done += chunk;
		if (b.nr_ops() == maxops || done == len) {
			int rc = run(f, b);
			if (rc)
				return rc;
			b = Batch();
		}
	}
	return 0;
}

int region_load(const Function &f, unsigned bar, std::uint64_t off,
		std::uint8_t *dst, std::size_t len)
{
	std::uint32_t maxops = std::max<std::uint32_t>(f.info().max_ops, 1);
	Batch b;
	std::size_t done = 0;
	while (done < len) {
		std::uint64_t pos = off + done;
		std::size_t chunk = std::min<std::size_t>(len - done, 8 - (pos & 7));
		b.add(ZPCI_IO_OP_PCILG, bar, pos, dst + done, chunk);
		done += chunk;
		if (b.nr_ops() == maxops || done == len) {
			int rc = run(f, b);
			if (rc)
				return rc;
			b = Batch();
		}
	}
	return 0;
}

Functions &Functions::get()
{
	static Functions *fs = [] {
		auto *f = new Functions;
		f->mode = env_or("ZPCI_MODE", "patched");
		f->strict_addr = env_or("ZPCI_STRICT", "");
		f->ism_addr = env_or("ZPCI_ISM", "");
		if (!f->strict_addr.empty())
			f->strict_rc = f->strict.open(f->strict_addr, &f->strict_err);
		else
			f->strict_err = "ZPCI_STRICT not set";
		if (!f->ism_addr.empty())
			f->ism_rc = f->ism.open(f->ism_addr, &f->ism_err);
		else
			f->ism_err = "ZPCI_ISM not set";
		f->wide_addr = env_or("ZPCI_WIDE", "");
		return f;
	}();
	return *fs;
}

void Functions::open_wide()
{
	if (wide_tried)
		return;
	wide_tried = true;
	if (!wide_addr.empty())
		wide_rc = wide.open(wide_addr, &wide_err);
	else
		wide_err = "ZPCI_WIDE not set";
}

bool has_ram_bar(const Function &f)
{
	const zpci_io_info &in = f.info();
	return (in.bar_mask & (1u << kDataBar)) && in.bar_size[kDataBar] == kBarSize;
}

}  // namespace zpci_vm

namespace zpci_vm {

CtlPort::~CtlPort()
{
	if (fd_ >= 0)
		::close(fd_);
}

int CtlPort::open(std::string *why)
{
	std::string path = env_or("ZPCI_CTL", "");
	if (path.empty()) {
		*why = "ZPCI_CTL not set (no control port)";
		return -ENOENT;
	}
	fd_ = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd_ < 0) {
		int e = errno;
		*why = path + ": " + std::strerror(e);
		return -e;
	}
	return 0;
}

int CtlPort::read_line(std::string *line, int timeout_ms)
{
	auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
	for (;;) {
		auto nl = buf_.find('\n');
		if (nl != std::string::npos) {
			*line = buf_.substr(0, nl);
			buf_.erase(0, nl + 1);
			return 0;
		}
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			end - std::chrono::steady_clock::now()).count();
		if (left <= 0)
			return -ETIMEDOUT;
		pollfd p{fd_, POLLIN, 0};
		int r = poll(&p, 1, static_cast<int>(left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue;
		char tmp[512];
		ssize_t n = ::read(fd_, tmp, sizeof(tmp));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			// host side not connected yet (virtio-serial): retry
			usleep(10000);
			continue;
		}
		buf_.append(tmp, n);
	}
}

int CtlPort::request(const std::string &req, std::string *answer, int timeout_ms)
{
	if (fd_ < 0)
		return -EBADF;
	std::string line = req + "\n";
	if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
		return -errno;
	for (;;) {
		int rc = read_line(answer, timeout_ms);
		if (rc)
			return rc;
		if (answer->compare(0, 8, "DELETED ") == 0) {
			deleted_.push_back(answer->substr(8));
			continue;
		}
		return 0;
	}
}

static int ctl_ok(CtlPort &c, const std::string &req, const std::string &id,
		  std::string *answer, std::string *why)
{
	int rc = c.request(req, answer);
	if (rc) {
		*why = req + ": " + std::strerror(-rc);
		return rc;
	}
	const std::string ok = "OK " + id;
	if (answer->compare(0, ok.size(), ok) != 0 ||
	    (answer->size() > ok.size() && (*answer)[ok.size()] != ' ')) {
		*why = req + ": " + *answer;
		return -EIO;
	}
	return 0;
}

int ctl_fault(CtlPort &c, const std::string &id, const std::string &spec, std::string *why)
{
	std::string a;
	return ctl_ok(c, "FAULT " + id + " " + spec, id, &a, why);
}

int ctl_fault_status(CtlPort &c, const std::string &id, FaultState *st, std::string *why)
{
	std::string a;
	int rc = ctl_ok(c, "FAULT_STATUS " + id, id, &a, why);
	if (rc)
		return rc;
	std::istringstream in(a);
	std::string w;
	bool have_fh = false;
	*st = FaultState{};
	while (in >> w) {
		auto eq = w.find('=');
		if (eq == std::string::npos)
			continue;
		std::string k = w.substr(0, eq), v = w.substr(eq + 1);
		if (k == "kind")
			st->kind = v;
		else if (k == "left")
			st->left = std::strtoull(v.c_str(), nullptr, 0);
		else if (k == "hits")
			st->hits = std::strtoull(v.c_str(), nullptr, 0);
		else if (k == "recoveries")
			st->recoveries = std::strtoull(v.c_str(), nullptr, 0);
		else if (k == "fh")
			st->fh = std::strtoul(v.c_str(), nullptr, 0), have_fh = true;
		else if (k == "state")
			st->state = v;
	}
	if (!have_fh || st->kind.empty() || st->state.empty()) {
		*why = "FAULT_STATUS " + id + ": cannot parse '" + a + "'";
		return -EPROTO;
	}
	return 0;
}

int ctl_recover(CtlPort &c, const std::string &id, std::uint32_t *fh, std::string *why)
{
	std::string a;
	int rc = ctl_ok(c, "RECOVER " + id, id, &a, why);
	if (rc)
		return rc;
	auto p = a.find("fh=");
	if (p == std::string::npos) {
		*why = "RECOVER " + id + ": no fh in '" + a + "'";
		return -EPROTO;
	}
	*fh = std::strtoul(a.c_str() + p + 3, nullptr, 0);
	return 0;
}

bool kill_and_reap(pid_t pid, double timeout_ms, unsigned poll_us, int *status)
{
	auto t0 = Clock::now();
	kill(pid, SIGKILL);
	while (ms_since(t0) < timeout_ms) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		usleep(poll_us);
	}
	return false;
}

std::string slurp(const char *path)
{
	std::ifstream in(path);
	std::ostringstream s;
	s << in.rdbuf();
	return s.str();
}

}  // namespace zpci_vm
