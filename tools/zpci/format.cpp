// SPDX-License-Identifier: MIT
#include "format.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <unistd.h>

#include "args.hpp"

namespace zpci::cli {

std::string hex(std::uint64_t v)
{
	char b[24];
	std::snprintf(b, sizeof(b), "0x%" PRIx64, v);
	return b;
}

std::string size_str(std::uint64_t v)
{
	static const struct {
		unsigned shift;
		char suffix;
	} units[] = {{30, 'G'}, {20, 'M'}, {10, 'K'}};
	for (const auto &u : units)
		if (v && !(v & ((1ULL << u.shift) - 1)))
			return std::to_string(v >> u.shift) + u.suffix;
	return std::to_string(v);
}

std::string errno_name(std::uint32_t e)
{
	static const struct {
		int no;
		const char *name;
	} names[] = {
		{EPERM, "EPERM"}, {EINTR, "EINTR"}, {EIO, "EIO"}, {ENXIO, "ENXIO"},
		{E2BIG, "E2BIG"}, {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"},
		{EACCES, "EACCES"}, {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"},
		{ENODEV, "ENODEV"}, {EINVAL, "EINVAL"}, {ENOSPC, "ENOSPC"},
		{ENOTTY, "ENOTTY"}, {ERANGE, "ERANGE"}, {ENOSYS, "ENOSYS"},
		{EPROTO, "EPROTO"}, {EOVERFLOW, "EOVERFLOW"},
		{EOPNOTSUPP, "EOPNOTSUPP"}, {ETIMEDOUT, "ETIMEDOUT"},
	};
	for (const auto &n : names)
		if (static_cast<std::uint32_t>(n.no) == e)
			return n.name;
	return std::to_string(e);
}

std::string hexbytes(const std::vector<std::uint8_t> &v)
{
	static const char digits[] = "0123456789abcdef";
	std::string s;
	s.reserve(v.size() * 2);
	for (auto c : v) {
		s += digits[c >> 4];
		s += digits[c & 15];
	}
	return s;
}

std::string driver_of(const std::string &addr)
{
	std::string link = "/sys/bus/pci/devices/" + addr + "/driver";
	char buf[512];
	ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf) - 1);
	if (n <= 0)
		return "";
	std::string s(buf, static_cast<std::size_t>(n));
	return s.substr(s.rfind('/') + 1);
}

int fail(const char *cmd, const std::string &what, const std::error_code &ec)
{
	std::fprintf(stderr, "zpci %s: %s: %s\n", cmd, what.c_str(),
		     ec.message().c_str());
	return exit_invalid;
}

bool driver_missing(const std::error_code &ec)
{
	return ec == std::errc::no_such_file_or_directory;
}

void print_json(const json &j)
{
	std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
	std::printf("%s\n", s.c_str());
}

void add_function_fields(json &j, const stats::function &f)
{
	j["fid"] = f.fid;
	if (f.uid)
		j["uid"] = *f.uid;
	if (f.pft)
		j["pft"] = *f.pft;
	if (f.maxstbl)
		j["maxstbl"] = *f.maxstbl;
	if (f.relaxed)
		j["relaxed"] = *f.relaxed;
}

} // namespace zpci::cli
