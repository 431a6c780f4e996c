/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The three non-MIO zPCI load/store instructions, issued once each, in the
 * shape of arch/s390/pci/pci_insn.c: ____pcilg() (the raw instruction,
 * data whatever the cc), __pcilg() (data only with cc 0), __pcistg(),
 * __pcistb(); cc 0..3, or -ENXIO when the instruction raised a program
 * exception (the exception table skips the condition code).  The busy
 * retries around them (__zpci_load() and friends there) are
 * zpci_io_issue()'s, in zpci_io_batch.c.
 *
 * Why not the exported __zpci_load(), __zpci_store() and
 * __zpci_store_block(): they retry a busy function without bound and fold
 * the condition code and the status byte into -EIO, while a request
 * reports both to user space (an emulator hands them to its guest).  The
 * asm below is that of pci_insn.c, with one difference: __pcistb()'s
 * memory operand covers the whole block (struct zpci_io_block), so the
 * compiler knows that the instruction reads all of it.
 *
 * These are the function-handle ("non-MIO") forms on purpose: ISM has no
 * MIO support, and an emulator must reproduce exactly the guest's PCISTB
 * instead of the 8-byte stores the MIO-based BAR access path makes.
 */
#ifndef ZPCI_IO_INSN_H
#define ZPCI_IO_INSN_H

#include <linux/errno.h>
#include <linux/types.h>
#include <asm/asm-extable.h>
#include <asm/types.h>

#ifndef CONFIG_S390
#error "zpci_io issues s390 instructions"
#endif

/* Request word: function handle, address space, length (ZPCI_CREATE_REQ). */
static inline u64 zpci_io_req(u32 fh, u8 pcias, u32 len)
{
	return (u64)fh << 32 | (u64)pcias << 16 | len;
}

/* PCI Load: len (1..8) bytes, right-aligned in *data. */
static inline int ____pcilg(u64 *data, u64 req, u64 offset, u8 *status)
{
	union register_pair req_off = { .even = req, .odd = offset, };
	int cc = -ENXIO;
	u64 __data;

	asm volatile("	.insn	rre,0xb9d20000,%[data],%[req_off]\n"
		"0:	ipm	%[cc]\n"
		"	srl	%[cc],28\n"
		"1:\n"
		EX_TABLE(0b, 1b)
		: [cc] "+d" (cc), [data] "=d" (__data),
		  [req_off] "+&d" (req_off.pair) :: "cc");
	*status = req_off.even >> 24 & 0xff;
	*data = __data;
	return cc;
}

static inline int __pcilg(u64 *data, u64 req, u64 offset, u8 *status)
{
	u64 __data;
	int cc;

	cc = ____pcilg(&__data, req, offset, status);
	if (!cc)
		*data = __data;
	return cc;
}

/* PCI Store: len (1..8) bytes, right-aligned in data. */
static inline int __pcistg(u64 data, u64 req, u64 offset, u8 *status)
{
	union register_pair req_off = { .even = req, .odd = offset, };
	int cc = -ENXIO;

	asm volatile("	.insn	rre,0xb9d00000,%[data],%[req_off]\n"
		"0:	ipm	%[cc]\n"
		"	srl	%[cc],28\n"
		"1:\n"
		EX_TABLE(0b, 1b)
		: [cc] "+d" (cc), [req_off] "+&d" (req_off.pair)
		: [data] "d" (data)
		: "cc");
	*status = req_off.even >> 24 & 0xff;
	return cc;
}

/* The PCISTB source operand, sized so the compiler knows what is read. */
struct zpci_io_block {
	u8 bytes[ZPCI_MAXSTBL_LIMIT];
};

/*
 * PCI Store Block: the len bytes (in req) at data, a kernel address whose
 * block does not cross a page.
 */
static inline int __pcistb(const void *data, u64 req, u64 offset, u8 *status)
{
	const struct zpci_io_block *blk = data;
	int cc = -ENXIO;

	asm volatile("	.insn	rsy,0xeb00000000d0,%[req],%[offset],%[data]\n"
		"0:	ipm	%[cc]\n"
		"	srl	%[cc],28\n"
		"1:\n"
		EX_TABLE(0b, 1b)
		: [cc] "+d" (cc), [req] "+d" (req)
		: [offset] "d" (offset), [data] "Q" (*blk)
		: "cc");
	*status = req >> 24 & 0xff;
	return cc;
}

#endif /* ZPCI_IO_INSN_H */
