// SPDX-License-Identifier: MIT
// Shared by the s390x guest suite and the host verifier: the deterministic
// byte pattern the guest writes into a function's RAM BAR and the manifest
// format that tells the host what to expect where.
//
// The pattern depends on the seed and on the *logical* position of a byte,
// so a write that lands at the wrong offset, twice, torn or byte-swapped is
// seen by the host.  The logical position is normally the BAR offset; for
// ISM moves it is the DMB offset, because the signalled last chunk lands at
// 8 MiB + offset (signal flag bit 23 with token 0).
//
// Manifest: a text file, one entry per line, '#' starts a comment.
//   zpci-vm-manifest 1                                first line
//   <kind> <func> <offset> <len> <seed> <pos> <label>
// kind:  written   bytes [offset, offset+len) equal pattern(seed, pos + i)
//        untouched bytes are still zero (a refused or not-issued request)
//        nosignal  like untouched: where an ISM signal chunk would have landed
//        scratch   any content allowed (benchmark, fuzz area checked by the
//                  guest itself against its shadow copy)
// func:  strict | ism | wide.  Numbers in decimal or 0x hex.  Every byte not covered
// by a written or scratch entry must still be zero.
#ifndef ZPCI_VM_PATTERN_HPP
#define ZPCI_VM_PATTERN_HPP

#include <cstddef>
#include <cstdint>

namespace zpci_vm {

inline constexpr std::uint64_t kBarSize = 16ULL << 20;   // ivshmem RAM BAR 2
inline constexpr std::uint64_t kIsmSignalBit = 1ULL << 23;
inline constexpr unsigned kDataBar = 2;

inline std::uint64_t splitmix64(std::uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

// Byte at logical position pos of the pattern for seed.  Never all-zero for
// long: a zero byte appears with probability 1/256, so an 8-byte run of
// zeros (what an unwritten BAR holds) is practically impossible.
inline std::uint8_t pattern_byte(std::uint64_t seed, std::uint64_t pos)
{
	std::uint64_t w = splitmix64(seed * 0x100000001b3ULL ^ (pos >> 3));
	return static_cast<std::uint8_t>(w >> (8 * (pos & 7)));
}

inline void pattern_fill(std::uint8_t *dst, std::size_t len,
			 std::uint64_t seed, std::uint64_t pos)
{
	for (std::size_t i = 0; i < len; i++)
		dst[i] = pattern_byte(seed, pos + i);
}

}  // namespace zpci_vm

#endif
