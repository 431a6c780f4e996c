/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The three non-MIO zPCI load/store instructions, issued once each.
 *
 * The kernel exports __zpci_load(), __zpci_store() and
 * __zpci_store_block(), but they retry busy without bound and fold the
 * condition code and the status byte into -EIO.  The region reports both
 * to user space (an emulator hands them to its guest), so the driver
 * issues the instructions itself.  A program exception (which the rules
 * checked before issue should make impossible, but a function may be
 * stricter than the rules know) is caught through the exception table and
 * reported as ZPCI_IO_INSN_EXCEPTION instead of an oops.
 *
 * These are the function-handle ("non-MIO") forms on purpose: ISM has no
 * MIO support, and an emulator must reproduce exactly the guest's PCISTB
 * instead of the 8-byte stores the MIO-based BAR access path makes.
 */
#ifndef ZPCI_IO_INSN_H
#define ZPCI_IO_INSN_H

#include <linux/types.h>
#include <asm/asm-extable.h>
#include <asm/types.h>

#ifndef CONFIG_S390
#error "zpci_io issues s390 instructions"
#endif

/* Result of one instruction: cc 0..3, or an exception. */
#define ZPCI_IO_INSN_EXCEPTION	(-1)

/* Request word: function handle, address space, length. */
static inline u64 zpci_io_req(u32 fh, u8 pcias, u32 len)
{
	return (u64)fh << 32 | (u64)pcias << 16 | len;
}

/* PCI Load: len (1..8) bytes, right-aligned in *data. */
static inline int zpci_io_pcilg(u64 *data, u64 req, u64 offset, u8 *status)
{
	union register_pair ro = { .even = req, .odd = offset, };
	int cc = ZPCI_IO_INSN_EXCEPTION;
	u64 val = 0;

	asm volatile("	.insn	rre,0xb9d20000,%[val],%[ro]\n"
		"0:	ipm	%[cc]\n"
		"	srl	%[cc],28\n"
		"1:\n"
		EX_TABLE(0b, 1b)
		: [cc] "+d" (cc), [val] "+d" (val), [ro] "+&d" (ro.pair)
		:
		: "cc", "memory");
	*status = ro.even >> 24 & 0xff;
	*data = val;
	return cc;
}

/* PCI Store: len (1..8) bytes, right-aligned in data. */
static inline int zpci_io_pcistg(u64 data, u64 req, u64 offset, u8 *status)
{
	union register_pair ro = { .even = req, .odd = offset, };
	int cc = ZPCI_IO_INSN_EXCEPTION;

	asm volatile("	.insn	rre,0xb9d00000,%[val],%[ro]\n"
		"0:	ipm	%[cc]\n"
		"	srl	%[cc],28\n"
		"1:\n"
		EX_TABLE(0b, 1b)
		: [cc] "+d" (cc), [ro] "+&d" (ro.pair)
		: [val] "d" (data)
		: "cc", "memory");
	*status = ro.even >> 24 & 0xff;
	return cc;
}

/* The PCISTB source operand, sized so the compiler knows what is read. */
struct zpci_io_block {
	u8 bytes[ZPCI_MAXSTBL_LIMIT];
};

/*
 * PCI Store Block: len bytes from src, a kernel virtual address that is
 * contiguous for len bytes (the instruction reads it in one go).
 */
static inline int zpci_io_pcistb(const void *src, u64 req, u64 offset,
				 u8 *status)
{
	const struct zpci_io_block *blk = src;
	int cc = ZPCI_IO_INSN_EXCEPTION;

	asm volatile("	.insn	rsy,0xeb00000000d0,%[req],%[off],%[blk]\n"
		"0:	ipm	%[cc]\n"
		"	srl	%[cc],28\n"
		"1:\n"
		EX_TABLE(0b, 1b)
		: [cc] "+d" (cc), [req] "+d" (req)
		: [off] "d" (offset), [blk] "Q" (*blk)
		: "cc", "memory");
	*status = req >> 24 & 0xff;
	return cc;
}

#endif /* ZPCI_IO_INSN_H */
