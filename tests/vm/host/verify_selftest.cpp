// SPDX-License-Identifier: MIT
// Self-test of zpci_vm_verify: builds BAR files and manifests like a guest
// run would, then checks the verifier passes the good one and fails every
// kind of damage (wrong byte, stray byte, landed signal, image mismatch,
// malformed manifest).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "zpci_vm_pattern.hpp"

using namespace zpci_vm;

namespace {

std::string g_dir;
int g_failures = 0;

void write_file(const std::string &path, const std::vector<std::uint8_t> &d)
{
	std::ofstream o(path, std::ios::binary | std::ios::trunc);
	o.write(reinterpret_cast<const char *>(d.data()), d.size());
}

struct Scenario {
	std::vector<std::uint8_t> strict, ism, image;
	std::string manifest;
};

Scenario good()
{
	Scenario s;
	s.strict.assign(kBarSize, 0);
	s.ism.assign(kBarSize, 0);
	pattern_fill(s.strict.data() + 0x1000, 300, 42, 0x1000);
	// An ISM move whose last chunk landed at 8 MiB + its DMB offset.
	pattern_fill(s.ism.data() + 0x2000, 4096, 7, 0x2000);
	pattern_fill(s.ism.data() + kIsmSignalBit + 0x3000, 100, 7, 0x3000);
	s.image.resize(64);
	for (int i = 0; i < 64; i++)
		s.image[i] = i * 3 + 1;
	std::copy(s.image.begin(), s.image.end(), s.strict.begin() + 0x8000);
	s.strict[0x9000 + 5] = 0xee;	// scratch may hold anything
	s.manifest = "zpci-vm-manifest 1\n"
		     "# comment\n"
		     "written strict 0x1000 300 42 0x1000 T.a\n"
		     "untouched strict 0x2000 4096 0 0 T.b\n"
		     "image strict 0x8000 64 0 0 img.bin:T.c\n"
		     "scratch strict 0x9000 4096 0 0 T.d\n"
		     "written ism 0x2000 4096 7 0x2000 T.e\n"
		     "written ism 0x803000 100 7 0x3000 T.e/signal\n"
		     "untouched ism 0x3000 100 0 0 T.e/copy\n"
		     "nosignal ism 0x802000 4096 0 0 T.f\n";
	return s;
}

int run(const Scenario &s)
{
	write_file(g_dir + "/strict", s.strict);
	write_file(g_dir + "/ism", s.ism);
	write_file(g_dir + "/img.bin", s.image);
	std::ofstream(g_dir + "/manifest.txt", std::ios::trunc) << s.manifest;
	std::string cmd = std::string(ZPCI_VM_VERIFY) + " --quiet --strict " + g_dir + "/strict --ism " +
			  g_dir + "/ism --results " + g_dir + " >/dev/null";
	int st = std::system(cmd.c_str());
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void expect(const char *name, const Scenario &s, int want)
{
	int got = run(s);
	std::printf("%-40s exit %d (want %d) %s\n", name, got, want, got == want ? "ok" : "WRONG");
	if (got != want)
		g_failures++;
}

}  // namespace

int main()
{
	char tmpl[] = "/tmp/zpci-vm-verify-XXXXXX";
	if (!mkdtemp(tmpl))
		return 2;
	g_dir = tmpl;

	expect("good run", good(), 0);
	{
		Scenario s = good();
		s.strict[0x1000 + 299] ^= 1;
		expect("last byte of a written range", s, 1);
	}
	{
		Scenario s = good();
		s.strict[0x2000 + 17] = 1;
		expect("byte in an untouched range", s, 1);
	}
	{
		Scenario s = good();
		s.strict[0xfffff0] = 9;
		expect("stray byte elsewhere", s, 1);
	}
	{
		Scenario s = good();
		s.ism[0x802000] = 1;
		expect("signal landed", s, 1);
	}
	{
		Scenario s = good();
		// The signalled chunk written without the signal bit.
		pattern_fill(s.ism.data() + 0x3000, 100, 7, 0x3000);
		std::fill(s.ism.begin() + kIsmSignalBit + 0x3000, s.ism.begin() + kIsmSignalBit + 0x3000 + 100, 0);
		expect("chunk at the unsignalled offset", s, 1);
	}
	{
		Scenario s = good();
		// A byte-swapped doubleword (QEMU's MMIO PCISTB quirk).
		std::reverse(s.strict.begin() + 0x1008, s.strict.begin() + 0x1010);
		expect("byte-reversed doubleword", s, 1);
	}
	{
		Scenario s = good();
		s.image[10] ^= 0x80;
		expect("image mismatch", s, 1);
	}
	{
		Scenario s = good();
		s.manifest = "zpci-vm-manifest 2\n";
		expect("bad manifest header", s, 2);
	}
	{
		Scenario s = good();
		s.manifest += "written strict 0xfffff0 64 1 0 T.z\n";
		expect("entry beyond the BAR", s, 2);
	}
	{
		Scenario s = good();
		s.manifest = "zpci-vm-manifest 1\nuntouched strict 0x0 16 0 0 T\nuntouched ism 0x0 16 0 0 T\n";
		s.strict = std::vector<std::uint8_t>(kBarSize, 0);
		s.ism = std::vector<std::uint8_t>(kBarSize, 0);
		expect("nothing written at all", s, 1);
	}
	{
		// only image entries (make soak): the images are what was written
		Scenario s = good();
		s.manifest = "zpci-vm-manifest 1\nimage strict 0x8000 64 0 0 img.bin:T.c\n"
			     "image ism 0x8000 64 0 0 img.bin:T.c\n";
		s.strict = std::vector<std::uint8_t>(kBarSize, 0);
		s.ism = std::vector<std::uint8_t>(kBarSize, 0);
		std::copy(s.image.begin(), s.image.end(), s.strict.begin() + 0x8000);
		std::copy(s.image.begin(), s.image.end(), s.ism.begin() + 0x8000);
		expect("image entries only", s, 0);
		s.ism[0x8000 + 3] ^= 1;
		expect("image entries only, one byte wrong", s, 1);
	}
	{
		Scenario s = good();
		s.strict.resize(4096);
		expect("short BAR file", s, 2);
	}
	std::system(("rm -rf " + g_dir).c_str());
	std::printf("%s\n", g_failures ? "FAIL" : "PASS");
	return g_failures ? 1 : 0;
}
