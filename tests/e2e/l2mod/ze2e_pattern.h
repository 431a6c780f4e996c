/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Byte pattern of the nested end-to-end test (tests/e2e), the same scheme
 * as tests/vm/host/zpci_vm_pattern.hpp: a byte depends on the seed and on
 * its logical position, so a misplaced, doubled, torn or byte-swapped write
 * is seen. tests/e2e/verify.py computes the same bytes on the host.
 */
#ifndef ZE2E_PATTERN_H
#define ZE2E_PATTERN_H

static inline u64 ze2e_mix(u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline u8 ze2e_byte(u64 seed, u64 pos)
{
	u64 w = ze2e_mix(seed * 0x100000001b3ULL ^ (pos >> 3));

	return (u8)(w >> (8 * (pos & 7)));
}

static inline void ze2e_fill(u8 *dst, size_t len, u64 seed, u64 pos)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = ze2e_byte(seed, pos + i);
}

#endif
