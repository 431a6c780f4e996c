/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The zPCI I/O ABI, shared by the zpci_io kernel module and libzpci.
 *
 * zpci_io is a vfio-pci variant driver.  Everything of vfio-pci stays as
 * it is; the driver adds one device feature, reached through the
 * VFIO_DEVICE_FEATURE ioctl of the vfio device fd (linux/vfio.h) with
 *   flags = ZPCI_IO_FEATURE | VFIO_DEVICE_FEATURE_GET or _SET
 * (VFIO_DEVICE_FEATURE_PROBE with GET and/or SET answers 0 where the
 * driver is bound; stock vfio-pci answers ENOTTY).  ZPCI_IO_FEATURE is
 * this out-of-tree driver's own index, far above upstream's (which counts
 * up from 0); an upstream driver would take the next free index.
 *
 *   GET  struct zpci_io_info: what the function and the driver allow
 *        that the zPCI capabilities of VFIO_DEVICE_GET_INFO
 *        (linux/vfio_zdev.h) do not say.  The driver writes min(argsz,
 *        sizeof(struct zpci_io_info)) bytes and puts that count in
 *        info.argsz; argsz is the feature's argsz minus
 *        sizeof(struct vfio_device_feature), at least 8.
 *   SET  one request: a self-contained buffer (struct zpci_io_req, then
 *        nr_ops struct zpci_io_op, then the data area) of exactly
 *        total_size bytes, total_size == that argsz.  No field is a
 *        pointer: an op of at most 8 bytes carries its value in op.data,
 *        a longer PCISTB names its bytes by their offset in the request.
 *        Results come back in the same buffer (as VFIO_DEVICE_FEATURE
 *        _MIG_DEVICE_STATE returns its fd through a SET).
 *
 * What the zPCI capabilities already carry is not repeated: the function
 * type (pft) and the function's own maxstbl are in
 * VFIO_DEVICE_INFO_CAP_ZPCI_BASE and _GROUP (imaxstbl).  The info block
 * adds the function's fid and uid, the limits the driver enforces (its
 * maxstbl, which the administrator may lower; which address spaces refuse
 * PCISTG; relaxed alignment, which no platform interface reports), the
 * BARs with their sizes (a BAR above vfio's 1 TiB region window has size 0
 * in GET_REGION_INFO), the MSI-X table and PBA it fences, and its request
 * limits and structure sizes.
 *
 * A request is handled in this order, and the first step that fails
 * decides:
 *  1. argsz: below ZPCI_IO_REQ_MIN_SIZE is EINVAL, above info.max_req_size
 *     E2BIG; nothing is read or written.
 *  2. The driver copies the whole request into kernel memory, once; if
 *     that faults: EFAULT, nothing is issued or written.  From here on the
 *     driver works on its copy only: what the caller's memory holds after
 *     this point (its own writes from another thread, the driver's
 *     results) changes nothing.
 *  3. The header: hdr_size and op_size multiples of 8, at least the
 *     minimum sizes; total_size == argsz; 1 <= nr_ops (<= info.max_ops,
 *     else E2BIG); the ops inside total_size; flags and every reserved
 *     field zero, and so every byte of a header or op beyond the size
 *     this driver knows (a newer caller's fields this driver cannot
 *     honour); EINVAL otherwise.  A caller's header or op shorter than
 *     this driver's (an older caller) is read as if the missing fields
 *     were zero.
 *  4. The function is being removed: ENODEV, nothing issued.
 *  5. Every op, in order, each checked once in this order: the
 *     instruction rules (zpci_check() of zpci_rules.h with the source
 *     address taken as the offset of the op's bytes in the request;
 *     EINVAL, the rule in status.rule, so the driver's verdict is always
 *     the one zpci_check() gives), then the op's flags, reserved field and
 *     unknown tail, and for a PCISTB of more than 8 bytes its data: inside
 *     the data area (at or after the end of the ops, within total_size)
 *     and not across a 4 KiB boundary of the request (EINVAL, rule 0),
 *     then the driver's policy (EACCES).  A refused request issues
 *     nothing.
 *  6. The ops run in order from the driver's copy, under vfio's
 *     memory_lock (taken once per request); the first one that fails
 *     stops the request: ops before it stay done, none after it run.
 *  7. The driver writes back, and nothing else: the value (op.data) of
 *     every PCILG that completed, and, only when the request failed at
 *     step 3 or later, struct zpci_io_status in the header.  So a
 *     successful request of stores writes nothing at all.  If that write
 *     faults (the caller unmapped or write-protected its request), the
 *     ioctl returns EFAULT, or the request's own errno when it failed;
 *     the ops that ran stay done.
 * The ioctl returns 0 when every op succeeded, else -1 with errno set.
 *
 * Errno values of a request:
 *   EINVAL  argsz too small (no status), malformed header or op, rule
 *           violation (status.rule says which)
 *   E2BIG   argsz > info.max_req_size (no status), nr_ops > info.max_ops
 *   EACCES  driver policy: config space, MSI-X table or PBA, or every BAR
 *           when the MSI-X location could not be read (INFO_FENCED)
 *   EFAULT  the request could not be read (nothing issued, no status), or
 *           its results could not be written back (see 7)
 *   ENOMEM  no kernel memory for a copy of the request (nothing issued)
 *   EIO     the instruction ended with cc 1 (STATUS_CC_VALID, status byte
 *           in status.status), raised a program exception (STATUS_PGM, the
 *           interruption code in status.pgm), or was not issued because the
 *           function's memory decode is off or it is in D3
 *           (STATUS_DECODE_OFF), or the function is in PCI error recovery
 *           (STATUS_FUNC_ERROR: see "Function errors" below)
 *   ENODEV  the function is being removed (hot-unplug, unbind: vfio asked
 *           user space to release the device).  From that request on every
 *           request is refused before anything is issued (REJECTED), and a
 *           running one stops between two ops (status.done tells how many
 *           ran); the info block still reads.  Release the device (close
 *           it).  ENODEV with STATUS_CC_VALID and cc 3 instead means the
 *           instruction found the function handle invalid, which can be
 *           transient: platform recovery (error recovery, re-enable)
 *           replaces the handle, and the driver reads the current one for
 *           every instruction and every busy retry.  Treat the function as
 *           unavailable, and re-check with a fresh request (after the
 *           recovery event, or with a back-off) before giving it up.
 *   EBUSY   the function stayed busy (cc 2) after the driver's retries
 *   EINTR   a fatal signal arrived (only those stop a request: status.done
 *           tells how many ops ran; REJECTED when none did)
 *
 * STATUS_REJECTED is set whenever no instruction of the request was
 * issued, whatever the errno, so a caller can always tell "nothing
 * happened".
 *
 * Nothing is pinned: the request is copied in and its results copied out,
 * so no user page is held by the driver at any time (the netlink counters
 * ZPCI_NL_S_PINNED_PAGES and _PINS_HELD stay 0), and no path of the driver
 * follows an address that user space supplied in a payload.
 *
 * Function errors: when the platform reports an error for the function,
 * the host kernel runs PCI error recovery with the driver.  From the
 * driver's error_detected to its resume (and for good if the recovery
 * failed) the function is marked in error: every request ends with EIO and
 * STATUS_FUNC_ERROR, refused whole (REJECTED) or, if it was running,
 * stopped between two ops (status.done ops ran, each with cc 0; none
 * after them).  An op that failed on the error itself (cc 1, typically
 * status 12, before the event arrived) also gets STATUS_FUNC_ERROR if the
 * mark is set by the time the request ends.  error_detected signals the
 * vfio owner through vfio's error interrupt (VFIO_PCI_ERR_IRQ_INDEX);
 * info.flags has INFO_FUNC_ERROR while the mark is set.  Recovery resets
 * the function (new handle, adapter interrupts deregistered: re-arm them
 * with VFIO_DEVICE_SET_IRQS); then requests run again with the new handle.
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
 * flags, read/write EINVAL) -- requests, whose ops carry 64-bit offsets,
 * reach all of it.
 *
 * ABI evolution: fields are only ever added at the end of a struct, and
 * the sizes travel with the data (info.argsz, req.hdr_size, req.op_size):
 * an older caller's shorter structs are read as if zero-extended, a newer
 * caller's longer ones are taken when the bytes this driver does not know
 * are zero (the rule of copy_struct_from_user()).  The driver reports its
 * own sizes (info.req_hdr_size, info.op_size) and abi_version; the library
 * refuses a driver older than ZPCI_IO_ABI_MIN_DRIVER.
 *
 * Version history:
 *   1  the first ABI: a device-specific region (vendor type IBM, subtype
 *      "zio1") with the info block at offset 0 and batches written with
 *      pwrite() at 0x1000; ops named buffers in the caller's memory by
 *      address, pinned for the batch, and the status went to an address.
 *   2  adds (never changes): STATUS_PGM and STATUS_DECODE_OFF, INFO_FENCED,
 *      the status block probed before issue, REJECTED whenever nothing
 *      was issued, the netlink counter ZPCI_NL_S_PINS_HELD, and GET_FUNCS
 *      / GET_STATS restricted to CAP_NET_ADMIN.
 *   3  replaces the region: no device-specific region any more, info and
 *      requests go through VFIO_DEVICE_FEATURE (ZPCI_IO_FEATURE).  The
 *      write() batches of versions 1 and 2 are removed, with every user
 *      pointer (buffers, status address) and all pinning: a request is one
 *      self-contained buffer, copied in once, its results copied out.
 *      struct zpci_io_info loses pft (BASE capability) and gains max_req_size,
 *      req_hdr_size and op_size; the netlink counters gain
 *      ZPCI_NL_S_REQ_BYTES and ZPCI_NL_S_REQ_ALLOCS.
 */
#ifndef ZPCI_ABI_H
#define ZPCI_ABI_H

#include <linux/types.h>

#define ZPCI_IO_ABI_VERSION	3U
#define ZPCI_IO_ABI_MIN_COMPAT	3U	/* oldest request format the driver takes */
#define ZPCI_IO_ABI_MIN_DRIVER	3U	/* oldest driver the library takes */

/*
 * The feature index (the low 16 bits of vfio_device_feature.flags,
 * VFIO_DEVICE_FEATURE_MASK).  Out of tree: far from upstream's indices.
 */
#define ZPCI_IO_FEATURE		0x7a10U

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

/* The smallest argsz a GET takes: argsz and abi_version. */
#define ZPCI_IO_INFO_GET_MIN	8U

struct zpci_io_info {
	__u32 argsz;		/* bytes of this struct the driver wrote */
	__u32 abi_version;	/* ZPCI_IO_ABI_VERSION of the driver */
	__u32 abi_min_compat;	/* oldest request format accepted */
	__u32 flags;		/* ZPCI_IO_INFO_* */
	__u64 features;		/* ZPCI_IO_FEAT_* */
	__u32 fid;		/* function id */
	__u32 uid;		/* user-defined id */
	__u8 bar_mask;		/* bit n: BAR n implemented */
	__u8 pcistg_mask;	/* bit n: BAR n accepts PCISTG */
	__u8 msix_table_bar;	/* ZPCI_IO_NO_BAR without MSI-X */
	__u8 msix_pba_bar;	/* ZPCI_IO_NO_BAR without MSI-X */
	__u32 maxstbl;		/* the PCISTB limit the driver enforces: */
				/* the function's, or the admin's lower */
	__u32 max_ops;		/* largest nr_ops of one request */
	__u32 max_req_size;	/* largest request (argsz of a SET) */
	__u32 req_hdr_size;	/* sizeof(struct zpci_io_req) of the driver */
	__u32 op_size;		/* sizeof(struct zpci_io_op) of the driver */
	__u64 bar_size[6];	/* bytes; 0 when not implemented */
	__u64 msix_table_offset;
	__u64 msix_table_size;
	__u64 msix_pba_offset;
	__u64 msix_pba_size;
	__u64 reserved[4];
};

/* zpci_io_op.insn: enum zpci_insn of zpci_rules.h */
#define ZPCI_IO_OP_PCILG	1
#define ZPCI_IO_OP_PCISTG	2
#define ZPCI_IO_OP_PCISTB	3

/* An op of at most this many bytes carries its value in op.data. */
#define ZPCI_IO_INLINE_MAX	8U

/*
 * One instruction.  data, for len <= ZPCI_IO_INLINE_MAX: the value
 * itself, right-aligned as the instruction's register holds it (the
 * byte at offset is the most significant of the len bytes, bits above
 * them are ignored on input): the source of PCISTG and of such a short
 * PCISTB (relaxed functions only), the result of PCILG, which the driver
 * writes back (its input is ignored).  For a longer PCISTB: the offset of
 * its len bytes in the request, counted from the start of the header, in
 * the data area and not across a 4 KiB boundary of the request (the
 * driver issues the block from its page-aligned copy, and a block never
 * crosses a page there); for a strict function it is the source address
 * of the rules' alignment check, so it must be a multiple of 8.
 */
struct zpci_io_op {
	__u8 insn;		/* ZPCI_IO_OP_* */
	__u8 pcias;		/* BAR 0..5 */
	__u16 flags;		/* none defined: must be 0 */
	__u32 len;		/* bytes */
	__u64 offset;		/* in the address space */
	__u64 data;		/* the value, or the offset of the bytes */
	__u64 reserved;		/* must be 0 (not in ZPCI_IO_OP_MIN_SIZE) */
};

/* The smallest op_size: everything up to and including data. */
#define ZPCI_IO_OP_MIN_SIZE	24U

/* zpci_io_status.flags */
#define ZPCI_IO_STATUS_CC_VALID	(1U << 0)	/* cc and status are set */
#define ZPCI_IO_STATUS_REJECTED	(1U << 1)	/* nothing was issued */
/* the failed instruction raised a program exception; pgm says which */
#define ZPCI_IO_STATUS_PGM	(1U << 2)
/* the failed op was not issued: memory decode off, or D3 */
#define ZPCI_IO_STATUS_DECODE_OFF (1U << 3)
/* not issued, or stopped: the function is in PCI error recovery */
#define ZPCI_IO_STATUS_FUNC_ERROR (1U << 4)

/* The outcome of a failed request (written on failure only). */
struct zpci_io_status {
	__u32 done;		/* ops completed */
	__s32 error;		/* -errno, as the ioctl failed with */
	__u32 failed;		/* index of the op that failed, or 0 */
	__u32 rule;		/* enum zpci_rule when refused by the rules */
	__u32 flags;		/* ZPCI_IO_STATUS_* */
	__u8 cc;		/* condition code of the failed instruction */
	__u8 status;		/* its status byte when cc == 1 */
	__u8 pgm;		/* program interruption code when */
				/* STATUS_PGM, else 0 */
	__u8 reserved0;
};

/*
 * The request header.  The ops follow at hdr_size, nr_ops of them, op_size
 * bytes each; the data area (the bytes of PCISTBs longer than 8 bytes)
 * runs from the end of the ops to total_size.
 */
struct zpci_io_req {
	__u32 hdr_size;		/* in: sizeof as the caller knows it */
	__u32 op_size;		/* in: sizeof(struct zpci_io_op) likewise */
	__u32 total_size;	/* in: bytes of the request, == argsz */
	__u32 nr_ops;		/* in: 1..info.max_ops */
	__u32 flags;		/* in: none defined, must be 0 */
	__u32 reserved0;	/* in: must be 0 */
	struct zpci_io_status status;	/* out: on failure only; its */
					/* input is ignored */
	__u64 reserved[2];	/* in: must be 0 (not in the minimum) */
};

/* The smallest hdr_size (and argsz): everything up to the status. */
#define ZPCI_IO_REQ_MIN_SIZE	48U

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
	ZPCI_NL_S_BATCHES,	/* requests (SET calls) */
	ZPCI_NL_S_PINNED_PAGES,	/* pages pinned so far: 0 since v3 */
	ZPCI_NL_S_ERRORS,	/* failed batches, all causes */
	ZPCI_NL_S_BY_ERRNO,	/* nest of ZPCI_NL_S_ENTRY, key = errno */
	ZPCI_NL_S_BY_CC,	/* nest of ZPCI_NL_S_ENTRY, key = cc */
	ZPCI_NL_S_BY_STATUS,	/* nest of ZPCI_NL_S_ENTRY, key = status */
	ZPCI_NL_S_ENTRY,	/* nest of ZPCI_NL_E_* */
	ZPCI_NL_S_PINS_HELD,	/* pages pinned right now (v2): 0 since v3 */
	ZPCI_NL_S_REQ_BYTES,	/* request bytes copied in (v3) */
	ZPCI_NL_S_REQ_ALLOCS,	/* requests that did not fit the */
				/* function's own buffer and got one (v3) */
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
