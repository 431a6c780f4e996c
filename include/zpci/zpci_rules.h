/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * zPCI instruction rules: the single definition of which PCISTB, PCISTG and
 * PCILG requests are legal for a function.
 *
 * This header is compiled by the zpci_io kernel module, by libzpci (C and
 * C++) and by libzpci's simulated function, so the three can never disagree
 * about what is legal.  It only depends on <linux/types.h>, has no state and
 * no allocation, and every function is static inline.
 *
 * For a strict function the verdicts (which check fails first, and what the
 * instruction would do: condition code and status byte, or a program
 * exception) follow the checks QEMU 7.2 makes for an emulated function, in
 * the same order.  "Relaxed alignment" functions (ISM, PFT 5) accept PCISTB
 * of any length 1..maxstbl at any byte alignment, never crossing 4 KiB.
 */
#ifndef ZPCI_RULES_H
#define ZPCI_RULES_H

#include <linux/types.h>

#define ZPCI_NUM_BARS		6
#define ZPCI_PCIAS_BAR_MAX	5
#define ZPCI_PCIAS_CONFIG	15
#define ZPCI_CONFIG_SIZE	4096ULL
#define ZPCI_BLOCK_BOUNDARY	4096ULL	/* PCISTB never crosses this */
#define ZPCI_MAXSTBL_LIMIT	4096U	/* largest maxstbl there is */
#define ZPCI_BAR_SIZE_ANY	(~0ULL)	/* BAR size unknown: no bound check */

/* The instructions, as numbered in the region ABI. */
enum zpci_insn {
	ZPCI_INSN_PCILG = 1,
	ZPCI_INSN_PCISTG = 2,
	ZPCI_INSN_PCISTB = 3,
};

/* Condition codes. */
#define ZPCI_CC_OK		0
#define ZPCI_CC_ERROR		1	/* status byte says why */
#define ZPCI_CC_BUSY		2	/* retry */
#define ZPCI_CC_INVALID_HANDLE	3

/* Status byte (request register bits 24..31) when cc == 1. */
#define ZPCI_ST_NOT_ENABLED	4
#define ZPCI_ST_IN_ERROR	8
#define ZPCI_ST_BLOCKED		12
#define ZPCI_ST_INSUF_RES	16
#define ZPCI_ST_INVALID_AS	20
#define ZPCI_ST_NOT_AVAILABLE	40

/* Program interruption codes the instructions can raise. */
#define ZPCI_PGM_NONE		0x00
#define ZPCI_PGM_SPECIFICATION	0x06
#define ZPCI_PGM_OPERAND	0x15

/* Which rule a request breaks; ZPCI_RULE_OK when it breaks none. */
enum zpci_rule {
	ZPCI_RULE_OK = 0,
	ZPCI_RULE_INSN,		/* not PCISTB, PCISTG or PCILG */
	ZPCI_RULE_PCIAS,	/* address space invalid or not implemented */
	ZPCI_RULE_OFFSET_ALIGN,	/* PCISTB target not 8-byte aligned */
	ZPCI_RULE_LEN_RANGE,	/* length outside what the insn takes */
	ZPCI_RULE_LEN_MULTIPLE,	/* PCISTB length not a multiple of 8 */
	ZPCI_RULE_CROSS_4K,	/* PCISTB target crosses a 4 KiB boundary */
	ZPCI_RULE_CROSS_8B,	/* PCISTG/PCILG crosses 8 bytes (4 in config) */
	ZPCI_RULE_SRC_ALIGN,	/* PCISTB source not 8-byte aligned */
	ZPCI_RULE_BEYOND_BAR,	/* range not inside the address space */
	ZPCI_RULE_NO_PCISTG,	/* address space accepts PCISTB only */
	ZPCI_RULE_CAPS,		/* the capabilities themselves are invalid */
	ZPCI_RULE_COUNT
};

/* Capability flags. */
#define ZPCI_CAPS_RELAXED	0x1U	/* relaxed alignment (ISM) */
#define ZPCI_CAPS_KNOWN_FLAGS	ZPCI_CAPS_RELAXED

#define ZPCI_PFT_ISM		5

/* What the rules need to know about a function. */
struct zpci_caps {
	__u32 maxstbl;		/* largest PCISTB, 16..4096 */
	__u32 flags;		/* ZPCI_CAPS_* */
	__u8 bar_mask;		/* bit n set: BAR n implemented */
	__u8 pcistg_mask;	/* bit n set: BAR n accepts PCISTG */
	__u8 pft;		/* PCI function type, informational */
	__u8 reserved[5];
	__u64 bar_size[ZPCI_NUM_BARS];	/* bytes, or ZPCI_BAR_SIZE_ANY */
};

/* What an instruction would do with a request. */
struct zpci_verdict {
	__u8 rule;	/* enum zpci_rule */
	__u8 cc;	/* condition code, meaningful when pgm == 0 */
	__u8 status;	/* status byte when cc == 1 */
	__u8 pgm;	/* program interruption code, or ZPCI_PGM_NONE */
};

static inline const char *zpci_rule_name(unsigned int rule)
{
	switch (rule) {
	case ZPCI_RULE_OK:		return "ok";
	case ZPCI_RULE_INSN:		return "instruction";
	case ZPCI_RULE_PCIAS:		return "address space";
	case ZPCI_RULE_OFFSET_ALIGN:	return "offset alignment";
	case ZPCI_RULE_LEN_RANGE:	return "length range";
	case ZPCI_RULE_LEN_MULTIPLE:	return "length multiple";
	case ZPCI_RULE_CROSS_4K:	return "4 KiB crossing";
	case ZPCI_RULE_CROSS_8B:	return "8-byte crossing";
	case ZPCI_RULE_SRC_ALIGN:	return "source alignment";
	case ZPCI_RULE_BEYOND_BAR:	return "beyond the BAR";
	case ZPCI_RULE_NO_PCISTG:	return "PCISTG not accepted";
	case ZPCI_RULE_CAPS:		return "capabilities";
	default:			return "unknown rule";
	}
}

static inline struct zpci_verdict zpci_verdict_make(unsigned int rule,
						    unsigned int cc,
						    unsigned int status,
						    unsigned int pgm)
{
	struct zpci_verdict v;

	v.rule = (__u8)rule;
	v.cc = (__u8)cc;
	v.status = (__u8)status;
	v.pgm = (__u8)pgm;
	return v;
}

/* An invalid address space ends with cc 1, status 20, no exception. */
static inline struct zpci_verdict zpci_verdict_bad_as(void)
{
	return zpci_verdict_make(ZPCI_RULE_PCIAS, ZPCI_CC_ERROR,
				 ZPCI_ST_INVALID_AS, ZPCI_PGM_NONE);
}

static inline struct zpci_verdict zpci_verdict_spec(unsigned int rule)
{
	return zpci_verdict_make(rule, 0, 0, ZPCI_PGM_SPECIFICATION);
}

static inline struct zpci_verdict zpci_verdict_operand(unsigned int rule)
{
	return zpci_verdict_make(rule, 0, 0, ZPCI_PGM_OPERAND);
}

static inline int zpci_verdict_ok(struct zpci_verdict v)
{
	return v.rule == ZPCI_RULE_OK;
}

static inline int zpci_caps_relaxed(const struct zpci_caps *caps)
{
	return (caps->flags & ZPCI_CAPS_RELAXED) != 0;
}

/* Capabilities that no function can have are refused up front. */
static inline int zpci_caps_valid(const struct zpci_caps *caps)
{
	if (caps->maxstbl < 16 || caps->maxstbl > ZPCI_MAXSTBL_LIMIT)
		return 0;
	if (caps->flags & ~ZPCI_CAPS_KNOWN_FLAGS)
		return 0;
	if (caps->bar_mask & ~0x3fU)
		return 0;
	return 1;
}

/* Does [offset, offset + len) fit inside an address space of size? */
static inline int zpci_range_fits(__u64 offset, __u64 len, __u64 size)
{
	if (size == ZPCI_BAR_SIZE_ANY)
		return offset + len >= offset;	/* only refuse wrap-around */
	return offset <= size && len <= size - offset;
}

static inline int zpci_bar_implemented(const struct zpci_caps *caps,
				       unsigned int pcias)
{
	return pcias <= ZPCI_PCIAS_BAR_MAX && (caps->bar_mask >> pcias) & 1;
}

/*
 * PCISTB: store len bytes from src to offset in BAR pcias.
 * Strict, in QEMU 7.2's order: address space (cc 1 / 20), then offset % 8,
 * 8 < len <= maxstbl with len % 8 == 0, no 4 KiB crossing, source % 8
 * (all specification exceptions), then the range must be inside the BAR
 * (operand exception).
 */
static inline struct zpci_verdict zpci_check_pcistb(const struct zpci_caps *caps,
						    unsigned int pcias,
						    __u64 offset, __u64 len,
						    __u64 src)
{
	int relaxed = zpci_caps_relaxed(caps);

	if (!zpci_caps_valid(caps))
		return zpci_verdict_make(ZPCI_RULE_CAPS, 0, 0, ZPCI_PGM_NONE);
	if (!zpci_bar_implemented(caps, pcias))
		return zpci_verdict_bad_as();
	if (!relaxed && (offset & 7))
		return zpci_verdict_spec(ZPCI_RULE_OFFSET_ALIGN);
	if (relaxed) {
		if (len == 0 || len > caps->maxstbl)
			return zpci_verdict_spec(ZPCI_RULE_LEN_RANGE);
	} else {
		if (len <= 8)
			return zpci_verdict_spec(ZPCI_RULE_LEN_RANGE);
		if (len & 7)
			return zpci_verdict_spec(ZPCI_RULE_LEN_MULTIPLE);
		if (len > caps->maxstbl)
			return zpci_verdict_spec(ZPCI_RULE_LEN_RANGE);
	}
	if ((offset & (ZPCI_BLOCK_BOUNDARY - 1)) + len > ZPCI_BLOCK_BOUNDARY)
		return zpci_verdict_spec(ZPCI_RULE_CROSS_4K);
	if (!relaxed && (src & 7))
		return zpci_verdict_spec(ZPCI_RULE_SRC_ALIGN);
	if (!zpci_range_fits(offset, len, caps->bar_size[pcias]))
		return zpci_verdict_operand(ZPCI_RULE_BEYOND_BAR);
	return zpci_verdict_make(ZPCI_RULE_OK, ZPCI_CC_OK, 0, ZPCI_PGM_NONE);
}

/*
 * PCISTG / PCILG: 1..8 bytes inside one doubleword of a BAR, or 1, 2 or 4
 * bytes inside one word of config space.  Address spaces 6..14 and
 * unimplemented BARs end with cc 1 / status 20; a bad length or a crossing
 * is an operand exception.  An address space outside pcistg_mask refuses
 * PCISTG (ISM's DMB space); this is modelled as cc 1 / status 20 too.
 */
static inline struct zpci_verdict zpci_check_pcistg_pcilg(const struct zpci_caps *caps,
							  unsigned int insn,
							  unsigned int pcias,
							  __u64 offset, __u64 len)
{
	if (!zpci_caps_valid(caps))
		return zpci_verdict_make(ZPCI_RULE_CAPS, 0, 0, ZPCI_PGM_NONE);
	if (pcias == ZPCI_PCIAS_CONFIG) {
		if (len == 0 || len == 3 || len > 4)
			return zpci_verdict_operand(ZPCI_RULE_LEN_RANGE);
		if (len > 4 - (offset & 3))
			return zpci_verdict_operand(ZPCI_RULE_CROSS_8B);
		if (!zpci_range_fits(offset, len, ZPCI_CONFIG_SIZE))
			return zpci_verdict_operand(ZPCI_RULE_BEYOND_BAR);
		return zpci_verdict_make(ZPCI_RULE_OK, ZPCI_CC_OK, 0,
					 ZPCI_PGM_NONE);
	}
	if (!zpci_bar_implemented(caps, pcias))
		return zpci_verdict_bad_as();
	if (insn == ZPCI_INSN_PCISTG && !((caps->pcistg_mask >> pcias) & 1))
		return zpci_verdict_make(ZPCI_RULE_NO_PCISTG, ZPCI_CC_ERROR,
					 ZPCI_ST_INVALID_AS, ZPCI_PGM_NONE);
	if (len == 0 || len > 8)
		return zpci_verdict_operand(ZPCI_RULE_LEN_RANGE);
	if (len > 8 - (offset & 7))
		return zpci_verdict_operand(ZPCI_RULE_CROSS_8B);
	if (!zpci_range_fits(offset, len, caps->bar_size[pcias]))
		return zpci_verdict_operand(ZPCI_RULE_BEYOND_BAR);
	return zpci_verdict_make(ZPCI_RULE_OK, ZPCI_CC_OK, 0, ZPCI_PGM_NONE);
}

/* Any instruction; src is only looked at for PCISTB. */
static inline struct zpci_verdict zpci_check(const struct zpci_caps *caps,
					     unsigned int insn,
					     unsigned int pcias,
					     __u64 offset, __u64 len, __u64 src)
{
	switch (insn) {
	case ZPCI_INSN_PCISTB:
		return zpci_check_pcistb(caps, pcias, offset, len, src);
	case ZPCI_INSN_PCISTG:
	case ZPCI_INSN_PCILG:
		return zpci_check_pcistg_pcilg(caps, insn, pcias, offset, len);
	default:
		return zpci_verdict_make(ZPCI_RULE_INSN, 0, 0, ZPCI_PGM_NONE);
	}
}

#endif /* ZPCI_RULES_H */
