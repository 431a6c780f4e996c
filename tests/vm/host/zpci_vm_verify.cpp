// SPDX-License-Identifier: MIT
// zpci_vm_verify: after the s390x guest powered off, check byte for byte
// what it wrote into the RAM BARs of its zPCI test functions.
//
//   zpci_vm_verify [--strict FILE] [--ism FILE] [--wide FILE] --results DIR [--quiet]
//
// FILE is the memory-backend-file of a function's 16 MiB RAM BAR (mapped
// read-only with Boost.Interprocess), DIR holds the guest's manifest.txt
// (format: zpci_vm_pattern.hpp).  Every manifest entry is checked; every
// byte not covered by a written/image/scratch entry must still be zero, and
// each function needs at least one written or image entry.
// Prints one summary line per function and a verdict; exit 0 only when
// everything matched, 1 on a mismatch, 2 on a usage, file or manifest error.
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <cerrno>
#include <sstream>
#include <string>
#include <vector>

#include "zpci_vm_pattern.hpp"

namespace bip = boost::interprocess;
using zpci_vm::pattern_byte;

namespace {

struct Entry {
	std::string kind, func, label;
	std::uint64_t off = 0, len = 0, seed = 0, pos = 0;
	int line = 0;
};

struct FuncCheck {
	std::string name, path;
	std::unique_ptr<bip::file_mapping> file;
	std::unique_ptr<bip::mapped_region> region;
	const std::uint8_t *mem = nullptr;
	std::uint64_t size = 0;
	std::vector<std::uint8_t> covered;	// 1: content declared by an entry
	std::map<std::string, std::uint64_t> entries, bytes;
	std::uint64_t mismatched_entries = 0;
	std::uint64_t stray_bytes = 0;
	std::uint64_t first_stray = 0;
};

bool g_quiet = false;

void complain(const Entry &e, const char *what, std::uint64_t at, unsigned got, unsigned want)
{
	if (g_quiet)
		return;
	std::fprintf(stderr,
		     "zpci_vm_verify: line %d: %s %s [0x%llx, +%llu) %s: %s at 0x%llx: "
		     "0x%02x, expected 0x%02x\n",
		     e.line, e.kind.c_str(), e.func.c_str(), (unsigned long long)e.off,
		     (unsigned long long)e.len, e.label.c_str(), what, (unsigned long long)at, got, want);
}

bool parse_num(const std::string &s, std::uint64_t *out)
{
	if (s.empty())
		return false;
	char *end = nullptr;
	errno = 0;
	*out = std::strtoull(s.c_str(), &end, 0);
	return errno == 0 && end && *end == 0;
}

int usage()
{
	std::fprintf(stderr,
		     "usage: zpci_vm_verify [--strict FILE] [--ism FILE] [--wide FILE] --results DIR [--quiet]\n"
		     "  checks the RAM BAR files against DIR/manifest.txt\n");
	return 2;
}

}  // namespace

int main(int argc, char **argv)
{
	std::map<std::string, FuncCheck> funcs;
	std::string results;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if ((a == "--strict" || a == "--ism" || a == "--wide") && i + 1 < argc) {
			FuncCheck &f = funcs[a.substr(2)];
			f.name = a.substr(2);
			f.path = argv[++i];
		} else if (a == "--results" && i + 1 < argc) {
			results = argv[++i];
		} else if (a == "--quiet") {
			g_quiet = true;
		} else {
			return usage();
		}
	}
	if (results.empty() || funcs.empty())
		return usage();

	for (auto &[name, f] : funcs) {
		try {
			f.file = std::make_unique<bip::file_mapping>(f.path.c_str(), bip::read_only);
			f.region = std::make_unique<bip::mapped_region>(*f.file, bip::read_only);
		} catch (const std::exception &ex) {
			std::fprintf(stderr, "zpci_vm_verify: %s: %s: %s\n", name.c_str(),
				     f.path.c_str(), ex.what());
			return 2;
		}
		f.mem = static_cast<const std::uint8_t *>(f.region->get_address());
		f.size = f.region->get_size();
		if (f.size != zpci_vm::kBarSize) {
			std::fprintf(stderr, "zpci_vm_verify: %s: %s is %llu bytes, expected %llu\n",
				     name.c_str(), f.path.c_str(), (unsigned long long)f.size,
				     (unsigned long long)zpci_vm::kBarSize);
			return 2;
		}
		f.covered.assign(f.size, 0);
	}

	std::string mpath = results + "/manifest.txt";
	std::ifstream in(mpath);
	if (!in) {
		std::fprintf(stderr, "zpci_vm_verify: cannot read %s\n", mpath.c_str());
		return 2;
	}
	std::string line;
	int lineno = 0;
	bool header = false;
	int manifest_errors = 0;
	std::vector<Entry> entries;
	while (std::getline(in, line)) {
		lineno++;
		if (line.empty() || line[0] == '#')
			continue;
		if (!header) {
			if (line != "zpci-vm-manifest 1") {
				std::fprintf(stderr, "zpci_vm_verify: %s: bad header '%s'\n",
					     mpath.c_str(), line.c_str());
				return 2;
			}
			header = true;
			continue;
		}
		std::istringstream ls(line);
		Entry e;
		std::string off, len, seed, pos;
		e.line = lineno;
		if (!(ls >> e.kind >> e.func >> off >> len >> seed >> pos) ||
		    !parse_num(off, &e.off) || !parse_num(len, &e.len) || !parse_num(seed, &e.seed) ||
		    !parse_num(pos, &e.pos)) {
			std::fprintf(stderr, "zpci_vm_verify: %s:%d: malformed entry\n", mpath.c_str(),
				     lineno);
			manifest_errors++;
			continue;
		}
		ls >> e.label;
		if (e.kind != "written" && e.kind != "untouched" && e.kind != "nosignal" &&
		    e.kind != "scratch" && e.kind != "image") {
			std::fprintf(stderr, "zpci_vm_verify: %s:%d: unknown kind '%s'\n", mpath.c_str(),
				     lineno, e.kind.c_str());
			manifest_errors++;
			continue;
		}
		if (e.func != "strict" && e.func != "ism" && e.func != "wide") {
			std::fprintf(stderr, "zpci_vm_verify: %s:%d: unknown function '%s'\n",
				     mpath.c_str(), lineno, e.func.c_str());
			manifest_errors++;
			continue;
		}
		if (e.len == 0 || e.off > zpci_vm::kBarSize || e.len > zpci_vm::kBarSize - e.off) {
			std::fprintf(stderr, "zpci_vm_verify: %s:%d: range outside the BAR\n",
				     mpath.c_str(), lineno);
			manifest_errors++;
			continue;
		}
		entries.push_back(e);
	}
	if (!header) {
		std::fprintf(stderr, "zpci_vm_verify: %s: empty manifest\n", mpath.c_str());
		return 2;
	}

	// Pass 1: what is declared.
	std::map<std::string, std::vector<std::uint8_t>> images;
	for (const Entry &e : entries) {
		auto it = funcs.find(e.func);
		if (it == funcs.end())
			continue;	// that function's file was not given
		FuncCheck &f = it->second;
		f.entries[e.kind]++;
		f.bytes[e.kind] += e.len;
		if (e.kind == "written" || e.kind == "scratch" || e.kind == "image")
			std::memset(f.covered.data() + e.off, 1, e.len);
		if (e.kind == "image") {
			std::string file = e.label.substr(0, e.label.find(':'));
			std::ifstream img(results + "/" + file, std::ios::binary);
			std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(img)),
						       std::istreambuf_iterator<char>());
			if (file.empty() || file.find('/') != std::string::npos || data.size() != e.len) {
				std::fprintf(stderr, "zpci_vm_verify: line %d: image '%s' missing or not "
						     "%llu bytes\n", e.line, file.c_str(),
					     (unsigned long long)e.len);
				manifest_errors++;
				continue;
			}
			images[std::to_string(e.line)] = std::move(data);
		}
	}

	// Pass 2: contents.
	for (const Entry &e : entries) {
		auto it = funcs.find(e.func);
		if (it == funcs.end())
			continue;
		FuncCheck &f = it->second;
		const std::uint8_t *m = f.mem + e.off;
		std::uint64_t bad = 0;
		if (e.kind == "written") {
			for (std::uint64_t i = 0; i < e.len; i++) {
				std::uint8_t want = pattern_byte(e.seed, e.pos + i);
				if (m[i] != want && bad++ == 0)
					complain(e, "differs", e.off + i, m[i], want);
			}
		} else if (e.kind == "untouched" || e.kind == "nosignal") {
			for (std::uint64_t i = 0; i < e.len; i++)
				if (m[i] != 0 && bad++ == 0)
					complain(e, e.kind == "nosignal" ? "signal landed" : "changed",
						 e.off + i, m[i], 0);
			// An untouched range inside a written one is a manifest bug.
			for (std::uint64_t i = 0; i < e.len; i++)
				if (f.covered[e.off + i]) {
					std::fprintf(stderr, "zpci_vm_verify: line %d: %s range overlaps "
							     "a written range at 0x%llx\n", e.line,
						     e.kind.c_str(), (unsigned long long)(e.off + i));
					manifest_errors++;
					break;
				}
		} else if (e.kind == "image") {
			auto img = images.find(std::to_string(e.line));
			if (img == images.end())
				continue;
			for (std::uint64_t i = 0; i < e.len; i++)
				if (m[i] != img->second[i] && bad++ == 0)
					complain(e, "differs from image", e.off + i, m[i], img->second[i]);
		}
		if (bad) {
			f.mismatched_entries++;
			if (!g_quiet)
				std::fprintf(stderr, "zpci_vm_verify: line %d: %llu bad bytes\n", e.line,
					     (unsigned long long)bad);
		}
	}

	// Pass 3: nothing else changed.
	bool pass = manifest_errors == 0;
	for (auto &[name, f] : funcs) {
		for (std::uint64_t i = 0; i < f.size; i++)
			if (!f.covered[i] && f.mem[i] != 0 && f.stray_bytes++ == 0)
				f.first_stray = i;
		if (f.stray_bytes && !g_quiet)
			std::fprintf(stderr, "zpci_vm_verify: %s: %llu bytes changed outside every "
					     "written range, first at 0x%llx (0x%02x)\n", name.c_str(),
				     (unsigned long long)f.stray_bytes,
				     (unsigned long long)f.first_stray, f.mem[f.first_stray]);
		// something must have been written: a pattern (written) or
		// bytes the guest kept a copy of (image: fuzz, make soak)
		const bool wrote = f.entries["written"] > 0 || f.entries["image"] > 0;
		bool ok = f.mismatched_entries == 0 && f.stray_bytes == 0 && wrote;
		if (!wrote)
			std::fprintf(stderr, "zpci_vm_verify: %s: the manifest has no written or image entry\n",
				     name.c_str());
		std::printf("zpci_vm_verify: %s: %llu written (%llu B), %llu image (%llu B), "
			    "%llu untouched, %llu nosignal, %llu scratch (%llu B); "
			    "%llu bad entries, %llu stray bytes: %s\n",
			    name.c_str(), (unsigned long long)f.entries["written"],
			    (unsigned long long)f.bytes["written"], (unsigned long long)f.entries["image"],
			    (unsigned long long)f.bytes["image"], (unsigned long long)f.entries["untouched"],
			    (unsigned long long)f.entries["nosignal"], (unsigned long long)f.entries["scratch"],
			    (unsigned long long)f.bytes["scratch"], (unsigned long long)f.mismatched_entries,
			    (unsigned long long)f.stray_bytes, ok ? "OK" : "FAIL");
		pass = pass && ok;
	}
	if (manifest_errors)
		std::printf("zpci_vm_verify: %d manifest errors\n", manifest_errors);
	std::printf("zpci_vm_verify: %s\n", pass ? "PASS" : "FAIL");
	if (manifest_errors)
		return 2;
	return pass ? 0 : 1;
}
