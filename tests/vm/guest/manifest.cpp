// SPDX-License-Identifier: MIT
#include "manifest.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace zpci_vm {

Manifest &Manifest::get()
{
	static Manifest m;
	return m;
}

Manifest::Manifest()
{
	const char *d = std::getenv("ZPCI_RESULTS");
	if (!d || !*d)
		return;
	dir_ = d;
	std::string path = dir_ + "/manifest.txt";
	fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd_ < 0) {
		std::perror(path.c_str());
		return;
	}
	struct stat st;
	if (fstat(fd_, &st) == 0 && st.st_size == 0)
		line("zpci-vm-manifest 1");
}

void Manifest::line(const std::string &s)
{
	std::string l = s + "\n";
	std::lock_guard<std::mutex> g(mu_);
	if (fd_ >= 0 && ::write(fd_, l.data(), l.size()) != static_cast<ssize_t>(l.size()))
		std::perror("manifest write");
}

static std::string entry(const char *kind, const char *func, std::uint64_t off,
			 std::uint64_t len, std::uint64_t seed, std::uint64_t pos,
			 const std::string &label)
{
	char buf[200];
	std::snprintf(buf, sizeof(buf), "%s %s 0x%" PRIx64 " %" PRIu64 " 0x%" PRIx64 " 0x%" PRIx64 " ",
		      kind, func, off, len, seed, pos);
	std::string l = buf;
	for (char c : label)
		l += (c == ' ' || c == '\n') ? '_' : c;
	return l;
}

void Manifest::written(const char *func, std::uint64_t off, std::uint64_t len,
		       std::uint64_t seed, std::uint64_t pos, const std::string &label)
{
	line(entry("written", func, off, len, seed, pos, label));
}

void Manifest::untouched(const char *func, std::uint64_t off, std::uint64_t len,
			 const std::string &label)
{
	line(entry("untouched", func, off, len, 0, 0, label));
}

void Manifest::nosignal(const char *func, std::uint64_t off, std::uint64_t len,
			const std::string &label)
{
	line(entry("nosignal", func, off, len, 0, 0, label));
}

void Manifest::scratch(const char *func, std::uint64_t off, std::uint64_t len,
		       const std::string &label)
{
	line(entry("scratch", func, off, len, 0, 0, label));
}

void Manifest::image(const char *func, std::uint64_t off, std::uint64_t len,
		     const std::string &file, const std::string &label)
{
	line(entry("image", func, off, len, 0, 0, file + ":" + label));
}

bool Manifest::save_file(const std::string &name, const void *data, std::size_t len)
{
	if (dir_.empty())
		return false;
	std::string path = dir_ + "/" + name;
	FILE *f = std::fopen(path.c_str(), "wb");
	if (!f)
		return false;
	bool ok = std::fwrite(data, 1, len, f) == len;
	return std::fclose(f) == 0 && ok;
}

}  // namespace zpci_vm
