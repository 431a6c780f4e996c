/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The zPCI I/O region ABI, shared by the zpci_io kernel module and libzpci.
 *
 * zpci_io is a vfio-pci variant driver.  Next to the standard vfio-pci
 * regions it offers one device-specific region, found through
 * VFIO_DEVICE_GET_REGION_INFO's VFIO_REGION_INFO_CAP_TYPE capability with
 *   type    = VFIO_REGION_TYPE_PCI_VENDOR_TYPE | ZPCI_IO_VENDOR_IBM
 *   subtype = ZPCI_IO_REGION_SUBTYPE (this project's own number).
 *
 * Region layout (offsets relative to the region's start):
 *   ZPCI_IO_INFO_OFFSET  read-only struct zpci_io_info
 *   ZPCI_IO_REQ_OFFSET   write-only: one pwrite() submits one batch, a
 *                        struct zpci_io_batch immediately followed by
 *                        nr_ops struct zpci_io_op of op_size bytes each.
 *
 * A batch is checked as a whole before anything is issued: the header,
 * the status block (it must be writable), every op, and every op's buffer
 * is pinned.  Each op is checked in this order, the first failing check
 * deciding: the instruction rules (zpci_check() of zpci_rules.h, whose
 * rule lands in status.rule, so the driver's verdict is always the one
 * zpci_check() gives), then reserved fields and flags (EINVAL, rule 0),
 * then the driver's policy (EACCES).  A refused batch changes nothing.
 * Then the ops run in order; the first one that fails stops the batch:
 * ops before it stay done, none after it run.  A buffer that cannot be
 * pinned fails its op the same way (EFAULT) after the ops before it ran.
 * pwrite() returns the number of bytes written when every op succeeded,
 * else -1 with errno set; if status_addr is not 0 the driver writes a
 * struct zpci_io_status there in both cases, except when the status block
 * itself is not writable: then the batch is refused with EFAULT before
 * anything is issued and no status is written.
 *
 * Errno values:
 *   EINVAL  malformed batch or op, rule violation (status.rule says which),
 *           status_size too small (then no status is written)
 *   E2BIG   nr_ops > info.max_ops
 *   EPROTO  batch.abi_version older than info.abi_min_compat or newer than
 *           info.abi_version
 *   EACCES  driver policy: config space, MSI-X table or PBA, or every BAR
 *           when the MSI-X location could not be read (INFO_FENCED)
 *   EFAULT  the ops or the status block could not be read or written, or an
 *           op's buffer could not be pinned (status.failed names the op)
 *   EIO     the instruction ended with cc 1 (STATUS_CC_VALID, status byte in
 *           status.status), raised a program exception (STATUS_PGM, the
 *           interruption code in status.pgm), or was not issued because the
 *           function's memory decode is off or it is in D3
 *           (STATUS_DECODE_OFF), or the function is in PCI error recovery
 *           (STATUS_FUNC_ERROR: see "Function errors" below)
 *   ENODEV  the function is being removed (hot-unplug, unbind: vfio asked
 *           user space to release the device).  From that request on every
 *           batch is refused before anything is issued (REJECTED), and a
 *           running batch stops between two ops (status.done tells how many
 *           ran); the info block still reads.  Release the device (close
 *           it).  ENODEV with STATUS_CC_VALID and cc 3 instead means the
 *           instruction found the function handle invalid, which can be
 *           transient: platform recovery (error recovery, re-enable)
 *           replaces the handle, and the driver reads the current one for
 *           every instruction and every busy retry.  Treat the function as
 *           unavailable, and re-check with a fresh batch (after the
 *           recovery event, or with a back-off) before giving it up.
 *   EBUSY   the function stayed busy (cc 2) after the driver's retries
 *   EINTR   a fatal signal arrived (only those stop a batch: status.done
 *           tells how many ops ran; REJECTED when none did)
 *
 * STATUS_REJECTED is set whenever no instruction of the batch was issued,
 * whatever the errno, so a caller can always tell "nothing happened".
 *
 * Function errors: when the platform reports an error for the function,
 * the host kernel runs PCI error recovery with the driver.  From the
 * driver's error_detected to its resume (and for good if the recovery
 * failed) the function is marked in error: every batch ends with EIO and
 * STATUS_FUNC_ERROR, refused whole (REJECTED) or, if it was running,
 * stopped between two ops (status.done ops ran, each with cc 0; none
 * after them).  An op that failed on the error itself (cc 1, typically
 * status 12, before the event arrived) also gets STATUS_FUNC_ERROR if the
 * mark is set by the time the batch ends.  error_detected signals the
 * vfio owner through vfio's error interrupt (VFIO_PCI_ERR_IRQ_INDEX);
 * info.flags has INFO_FUNC_ERROR while the mark is set.  Recovery resets
 * the function (new handle, adapter interrupts deregistered: re-arm them
 * with VFIO_DEVICE_SET_IRQS); then batches run again with the new handle.
 * Nothing is replayed: re-issue what did not run.  A function whose
 * recovery failed stays marked until it is unbound.
 *
 * The standard vfio-pci regions stay vfio-pci's, with two exceptions:
 * for a relaxed-alignment (ISM) function without MSI-X, BAR read and
 * write are served with function-handle instructions (reads: PCILG of 8,
 * 4, 2 or 1 naturally aligned bytes; writes: PCISTB of at most maxstbl
 * bytes, never across 4 KiB), since ISM has no MIO and its DMB space takes
 * PCISTB only; and a BAR larger than vfio-pci's 1 TiB region index window
 * is not offered as a standard region (region info size 0, no access
 * flags, read/write EINVAL) -- the zPCI I/O region reaches all of it.
 *
 * ABI evolution: fields are only ever added at the end of a struct, sizes
 * travel with the data (info.argsz, batch.op_size) and every reserved field
 * and unknown flag must be zero.  Handshake both ways: the driver reports
 * abi_version and the oldest library ABI it accepts (abi_min_compat); the
 * library sends its own ABI version in every batch and refuses a driver
 * whose abi_version is older than the library's ZPCI_IO_ABI_MIN_DRIVER.
 *
 * Version history:
 *   1  the first region ABI
 *   2  adds (never changes): STATUS_PGM and STATUS_DECODE_OFF, INFO_FENCED,
 *      the status block probed before issue, REJECTED whenever nothing
 *      was issued, the netlink counter ZPCI_NL_S_PINS_HELD, and GET_FUNCS
 *      / GET_STATS restricted to CAP_NET_ADMIN.  Batches of version 1 are
 *      accepted unchanged (abi_min_compat stays 1).
 */
#ifndef ZPCI_ABI_H
#define ZPCI_ABI_H

#include <linux/types.h>

#define ZPCI_IO_ABI_VERSION	2U
#define ZPCI_IO_ABI_MIN_COMPAT	1U	/* oldest library the driver takes */
#define ZPCI_IO_ABI_MIN_DRIVER	1U	/* oldest driver the library takes */

#define ZPCI_IO_VENDOR_IBM	0x1014U
#define ZPCI_IO_REGION_SUBTYPE	0x7a696f31U	/* "zio1", this project's */

#define ZPCI_IO_INFO_OFFSET	0x0ULL
#define ZPCI_IO_REQ_OFFSET	0x1000ULL

/* zpci_io_info.features */
#define ZPCI_IO_FEAT_PCISTB	(1ULL << 0)
#define ZPCI_IO_FEAT_PCISTG	(1ULL << 1)
#define ZPCI_IO_FEAT_PCILG	(1ULL << 2)
#define ZPCI_IO_FEAT_STATUS	(1ULL << 3)	/* cc/status reported */

/* zpci_io_info.flags */
#define ZPCI_IO_INFO_RELAXED		(1U << 0)	/* relaxed alignment */
#define ZPCI_IO_INFO_RELAXED_OVERRIDE	(1U << 1)	/* set by the admin */
#define ZPCI_IO_INFO_MSIX		(1U << 2)	/* msix_* valid */
/*
 * The function has MSI-X but its table/PBA location could not be read
 * (a config read failed or named a BAR or range the function lacks): the
 * driver fails closed and refuses every BAR op with EACCES.  (v2)
 */
#define ZPCI_IO_INFO_FENCED		(1U << 3)
/* the function is in PCI error recovery, or its recovery failed */
#define ZPCI_IO_INFO_FUNC_ERROR		(1U << 4)

#define ZPCI_IO_NO_BAR		0xffU

struct zpci_io_info {
	__u32 argsz;		/* bytes of this struct the driver filled */
	__u32 abi_version;	/* ZPCI_IO_ABI_VERSION of the driver */
	__u32 abi_min_compat;	/* oldest batch.abi_version accepted */
	__u32 flags;		/* ZPCI_IO_INFO_* */
	__u64 features;		/* ZPCI_IO_FEAT_* */
	__u32 fid;		/* function id */
	__u32 uid;		/* user-defined id */
	__u8 pft;		/* PCI function type (5: ISM) */
	__u8 bar_mask;		/* bit n: BAR n implemented */
	__u8 pcistg_mask;	/* bit n: BAR n accepts PCISTG */
	__u8 msix_table_bar;	/* ZPCI_IO_NO_BAR without MSI-X */
	__u8 msix_pba_bar;	/* ZPCI_IO_NO_BAR without MSI-X */
	__u8 reserved0[3];
	__u32 maxstbl;		/* the function's real PCISTB limit */
	__u32 max_ops;		/* largest nr_ops in one batch */
	__u64 bar_size[6];	/* bytes; 0 when not implemented */
	__u64 msix_table_offset;
	__u64 msix_table_size;
	__u64 msix_pba_offset;
	__u64 msix_pba_size;
	__u64 reserved[8];
};

/* zpci_io_op.insn: enum zpci_insn of zpci_rules.h */
#define ZPCI_IO_OP_PCILG	1
#define ZPCI_IO_OP_PCISTG	2
#define ZPCI_IO_OP_PCISTB	3

struct zpci_io_op {
	__u8 insn;		/* ZPCI_IO_OP_* */
	__u8 pcias;		/* BAR 0..5 */
	__u16 flags;		/* none defined: must be 0 */
	__u32 len;		/* bytes */
	__u64 offset;		/* in the address space */
	__u64 addr;		/* caller's buffer: source of stores, */
				/* destination of loads (len bytes) */
	__u64 reserved;		/* must be 0 */
};

struct zpci_io_batch {
	__u32 abi_version;	/* the caller's ZPCI_IO_ABI_VERSION */
	__u32 flags;		/* none defined: must be 0 */
	__u32 nr_ops;		/* 1..info.max_ops */
	__u32 op_size;		/* sizeof(struct zpci_io_op) */
	__u64 status_addr;	/* struct zpci_io_status, or 0 */
	__u32 status_size;	/* bytes at status_addr the driver may */
				/* write, >= ZPCI_IO_STATUS_MIN_SIZE; */
				/* 0 when status_addr is 0 */
	__u32 reserved;		/* must be 0 */
	/* followed by nr_ops ops */
};

/* zpci_io_status.flags */
#define ZPCI_IO_STATUS_CC_VALID	(1U << 0)	/* cc and status are set */
#define ZPCI_IO_STATUS_REJECTED	(1U << 1)	/* nothing was issued */
/* v2: the failed instruction raised a program exception; pgm says which */
#define ZPCI_IO_STATUS_PGM	(1U << 2)
/* v2: the failed op was not issued: memory decode off, or D3 */
#define ZPCI_IO_STATUS_DECODE_OFF (1U << 3)
/* not issued, or stopped: the function is in PCI error recovery */
#define ZPCI_IO_STATUS_FUNC_ERROR (1U << 4)

/*
 * The driver writes min(batch.status_size, its own sizeof(struct
 * zpci_io_status)) bytes and says how many in argsz, so a library built
 * against an older, shorter status block is never overrun.
 */
#define ZPCI_IO_STATUS_MIN_SIZE	32U	/* up to and including pgm */

struct zpci_io_status {
	__u32 argsz;		/* bytes of this struct the driver wrote */
	__u32 done;		/* ops completed */
	__s32 error;		/* 0 or -errno */
	__u32 failed;		/* index of the failed op when error != 0 */
	__u32 rule;		/* enum zpci_rule when refused by the rules */
	__u32 flags;		/* ZPCI_IO_STATUS_* */
	__u8 cc;		/* condition code of the failed instruction */
	__u8 status;		/* its status byte when cc == 1 */
	__u8 pgm;		/* program interruption code when */
				/* STATUS_PGM, else 0 */
	__u8 reserved0[5];
	__u64 reserved[2];
};

/*
 * Generic netlink statistics: family ZPCI_NL_FAMILY, version
 * ZPCI_NL_VERSION.  GET_FUNCS dumps one message per bound function with the
 * function attributes; GET_STATS (dump, or doit with ZPCI_NL_A_FID) adds a
 * nested ZPCI_NL_A_STATS; RESET_STATS zeroes the counters of ZPCI_NL_A_FID,
 * or of every function without it.  Every command needs CAP_NET_ADMIN (in
 * the initial user namespace) since ABI version 2: the replies name every
 * tenant's functions, PCI addresses and traffic, which one tenant must not
 * learn about another.  Unprivileged requests fail with EPERM.
 */
#define ZPCI_NL_FAMILY		"zpci_io"
#define ZPCI_NL_VERSION		1

enum zpci_nl_cmd {
	ZPCI_NL_CMD_UNSPEC,
	ZPCI_NL_CMD_GET_FUNCS,
	ZPCI_NL_CMD_GET_STATS,
	ZPCI_NL_CMD_RESET_STATS,
	__ZPCI_NL_CMD_MAX,
};
#define ZPCI_NL_CMD_MAX (__ZPCI_NL_CMD_MAX - 1)

enum zpci_nl_attr {
	ZPCI_NL_A_UNSPEC,
	ZPCI_NL_A_PAD,
	ZPCI_NL_A_FID,		/* u32 */
	ZPCI_NL_A_UID,		/* u32 */
	ZPCI_NL_A_PFT,		/* u8 */
	ZPCI_NL_A_MAXSTBL,	/* u32 */
	ZPCI_NL_A_RELAXED,	/* u8: 0 or 1 */
	ZPCI_NL_A_BAR_MASK,	/* u8 */
	ZPCI_NL_A_PCI_ADDR,	/* string, "dddd:bb:dd.f" */
	ZPCI_NL_A_BARS,		/* nest of ZPCI_NL_A_BAR */
	ZPCI_NL_A_BAR,		/* nest of ZPCI_NL_BAR_A_* */
	ZPCI_NL_A_STATS,	/* nest of ZPCI_NL_S_* */
	__ZPCI_NL_A_MAX,
};
#define ZPCI_NL_A_MAX (__ZPCI_NL_A_MAX - 1)

enum zpci_nl_bar_attr {
	ZPCI_NL_BAR_A_UNSPEC,
	ZPCI_NL_BAR_A_PAD,
	ZPCI_NL_BAR_A_INDEX,	/* u8 */
	ZPCI_NL_BAR_A_SIZE,	/* u64 */
	__ZPCI_NL_BAR_A_MAX,
};
#define ZPCI_NL_BAR_A_MAX (__ZPCI_NL_BAR_A_MAX - 1)

/* Counters, all u64 unless said otherwise. */
enum zpci_nl_stats_attr {
	ZPCI_NL_S_UNSPEC,
	ZPCI_NL_S_PAD,
	ZPCI_NL_S_PCISTB_OPS,
	ZPCI_NL_S_PCISTG_OPS,
	ZPCI_NL_S_PCILG_OPS,
	ZPCI_NL_S_PCISTB_BYTES,
	ZPCI_NL_S_PCISTG_BYTES,
	ZPCI_NL_S_PCILG_BYTES,
	ZPCI_NL_S_BATCHES,
	ZPCI_NL_S_PINNED_PAGES,
	ZPCI_NL_S_ERRORS,	/* failed batches, all causes */
	ZPCI_NL_S_BY_ERRNO,	/* nest of ZPCI_NL_S_ENTRY, key = errno */
	ZPCI_NL_S_BY_CC,	/* nest of ZPCI_NL_S_ENTRY, key = cc */
	ZPCI_NL_S_BY_STATUS,	/* nest of ZPCI_NL_S_ENTRY, key = status */
	ZPCI_NL_S_ENTRY,	/* nest of ZPCI_NL_E_* */
	ZPCI_NL_S_PINS_HELD,	/* pages pinned right now (v2) */
	__ZPCI_NL_S_MAX,
};
#define ZPCI_NL_S_MAX (__ZPCI_NL_S_MAX - 1)

enum zpci_nl_entry_attr {
	ZPCI_NL_E_UNSPEC,
	ZPCI_NL_E_PAD,
	ZPCI_NL_E_KEY,		/* u32 */
	ZPCI_NL_E_COUNT,	/* u64 */
	__ZPCI_NL_E_MAX,
};
#define ZPCI_NL_E_MAX (__ZPCI_NL_E_MAX - 1)

#endif /* ZPCI_ABI_H */
