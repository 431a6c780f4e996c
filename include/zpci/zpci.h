/* SPDX-License-Identifier: MIT */
/*
 * libzpci C API.  Every function returns 0 (or a documented count) or a
 * negative errno; rule violations and the library's other validation
 * reasons are -EINVAL, with the details (rule, reason, the guest outcome,
 * instructions done) in an optional struct zpci_status.  Nothing here
 * throws or aborts, and no argument can crash the library: NULL handles,
 * buffers and out-pointers are refused with -EINVAL (ACT_HOST_ERROR,
 * REJECTED), lengths and address spaces are checked before any memory is
 * touched.
 *
 *   struct zpci_handle *h;
 *   if (zpci_open("sim:strict", &h) == 0) {
 *           struct zpci_status st = ZPCI_STATUS_INIT;
 *           int rc = zpci_write(h, 0, 0x1000, buf, len, &st);
 *           if (rc) fprintf(stderr, "%s\n", zpci_status_str(rc, &st));
 *           zpci_close(h);
 *   }
 *
 * An emulator (QEMU s390x) uses it like this: at plug time
 * zpci_borrow_fd(vfio_device_fd, 0, &h) (-ENODEV: no zpci_io driver, keep
 * the stock path), zpci_decide_handle() (log it), zpci_set_guest_caps()
 * with the maxstbl / relaxed bit the guest is told; then per intercepted
 * guest instruction zpci_pcistb() / zpci_pcistg() / zpci_pcilg() and
 * inject what st.action says.
 *
 * Host errno -> emulator action (st.action; cc/status/pgm are filled when
 * the action is CC or PGM).  The driver's errnos are those of zpci_abi.h.
 *
 *   errno    when                                   action / guest sees
 *   0        instruction completed                  NONE: cc 0
 *   EINVAL   rule violation (st.rule set)           CC (cc 1 + status 20:
 *                                                   address space invalid or
 *                                                   PCISTG-refusing) or PGM
 *                                                   (0x06 specification,
 *                                                   0x15 operand), as the
 *                                                   architecture's verdict
 *   EINVAL   bad argument from the emulator         HOST_ERROR (reason
 *            (NULL, flags, st.reason set)           BAD_ARGUMENT); fix the
 *                                                   caller
 *   EACCES   config space (pcias 15), or the        EMULATE: handle it
 *            MSI-X table / PBA (reason CONFIG_SPACE  without libzpci (vfio
 *            / MSIX)                                config region, MSI-X
 *                                                   emulation)
 *   EIO      the instruction ended with cc 1 or an  CC (cc 1 + the
 *            exception (CC_VALID / PGM set)         function's status byte)
 *                                                   or PGM, as issued
 *   EIO      no cc (not issued: memory decode off   HOST_ERROR; suggested:
 *            or D3 in the vfio config, or a short   cc 1 status 8 (in error)
 *            transfer)
 *   EBUSY    cc 2 after the driver's retries        CC: cc 2 (busy)
 *   ENODEV   cc 3, or the function is being         CC: cc 3 (invalid
 *            removed (hot-unplug, unbind)           handle); release the
 *                                                   device when asked
 *   EINTR    a signal before the instruction ran    RETRY (nothing done)
 *   EAGAIN   transient                              RETRY
 *   EFAULT   the host buffer could not be pinned    HOST_ERROR; suggested:
 *                                                   cc 1 status 8
 *   ENOMEM   host memory                            HOST_ERROR; suggested:
 *                                                   cc 1 status 16
 *                                                   (insufficient resources)
 *   EPROTO, E2BIG, other   driver/library mismatch  HOST_ERROR; suggested:
 *                                                   cc 1 status 8, log
 *
 * Every refusal carries either a guest outcome (CC, PGM), RETRY, EMULATE or
 * HOST_ERROR: never none.  REJECTED in st.flags means nothing was issued.
 *
 * Threads: a handle may be used from any thread, and calls on one handle
 * from several threads at once are safe: they are serialized by a mutex in
 * the handle (one call in flight per handle; a multi-instruction call such
 * as zpci_write() holds it for the whole call).  Different handles are
 * independent.  zpci_close() must not race with other calls on the same
 * handle.  Functions without a handle (zpci_check_op, zpci_plan,
 * zpci_decide, zpci_version, zpci_strerror, ...) are thread-safe.
 *
 * fork(): handles do not survive it.  A child must neither use nor close a
 * handle inherited from its parent (a simulated function's shared memory
 * would be removed for the parent as well); it should exec or _exit.  Every
 * descriptor the library opens is O_CLOEXEC; a borrowed fd is the caller's.
 *
 * Versioning: ZPCI_VERSION_* at compile time, zpci_version() at run time.
 * Structs that cross this API carry a size field and reserved room and
 * only grow at the end; within one major version nothing is removed or
 * renamed and enum values keep their numbers.
 */
#ifndef ZPCI_H
#define ZPCI_H

#include <stddef.h>
#include <stdint.h>

#include <zpci/zpci_rules.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libzpci is built with hidden visibility: what is declared here is the
 * exported API (and exactly that, libzpci.map). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

struct zpci_handle;

/* Library version (compile time) and zpci_version() (run time). */
#define ZPCI_VERSION_MAJOR 1
#define ZPCI_VERSION_MINOR 2
#define ZPCI_VERSION_PATCH 0
#define ZPCI_VERSION_NUM ((ZPCI_VERSION_MAJOR << 16) | \
			  (ZPCI_VERSION_MINOR << 8) | ZPCI_VERSION_PATCH)

/*
 * What an emulator does with a call's outcome (zpci_status.action).
 *
 *   NONE        cc 0: the instruction completed; nothing to inject.
 *   CC          set the guest's condition code to st->cc; when cc == 1,
 *               also put st->status into the status byte of the request
 *               register (bits 24..31 of R1's register pair, as the
 *               architecture does).  cc 2 = busy, cc 3 = invalid handle.
 *   PGM         inject program interruption st->pgm (0x0006
 *               specification, 0x0015 operand); the instruction did not
 *               complete and the cc is unchanged.
 *   RETRY       transient host condition (EINTR, EAGAIN) before the
 *               instruction ran: re-issue the same instruction (or
 *               re-execute the guest instruction).  Nothing was done.
 *   HOST_ERROR  a host failure the architecture has no answer for
 *               (EFAULT, ENOMEM, EPROTO, EIO without a cc, bad arguments
 *               from the emulator itself).  The emulator decides; the table
 *               below gives the suggested guest view.
 *   EMULATE     (added in 1.0) the access is not for this library: config
 *               space (pcias 15) belongs to vfio's config region, the MSI-X
 *               table and PBA to the emulator's MSI-X emulation.  Handle it
 *               the way the emulator does without libzpci.  Nothing was
 *               issued.
 *   SOURCE      (added in 1.1, zpci_pcistb_guest() only) the instruction
 *               passed every rule, then the emulator's source callback
 *               could not read the guest's data: raise the access
 *               exception the emulator recorded there.  Nothing was
 *               issued.
 */
enum zpci_action {
	ZPCI_ACT_NONE = 0,
	ZPCI_ACT_CC = 1,
	ZPCI_ACT_PGM = 2,
	ZPCI_ACT_RETRY = 3,
	ZPCI_ACT_HOST_ERROR = 4,
	ZPCI_ACT_EMULATE = 5,
	ZPCI_ACT_SOURCE = 6,
};

/* zpci_status.flags */
#define ZPCI_STATUS_CC_VALID	0x01U	/* cc (and status) are the guest's answer */
#define ZPCI_STATUS_PGM		0x02U	/* pgm is the guest's answer */
#define ZPCI_STATUS_REJECTED	0x04U	/* refused before anything was issued */

/*
 * zpci_status.reason: why the library (not the function) refused.  100..108
 * are the C++ API's zpci::errc reasons, 200.. the emulator API's own.
 */
enum zpci_reason {
	ZPCI_REASON_NONE = 0,
	ZPCI_REASON_NO_LEGAL_SEQUENCE = 100,	/* zpci_write/read: no legal plan */
	ZPCI_REASON_ZERO_LENGTH = 101,
	ZPCI_REASON_RANGE_OVERFLOW = 102,	/* offset + len wraps */
	ZPCI_REASON_BAD_SPEC = 103,		/* zpci_open() spec malformed */
	ZPCI_REASON_BAD_ARGUMENT = 104,		/* NULL pointer, bad flags, ... */
	ZPCI_REASON_TOO_MANY_OPS = 105,
	ZPCI_REASON_ISM_ENCODING = 106,
	ZPCI_REASON_NOT_ISM = 107,
	ZPCI_REASON_TIMEOUT = 108,
	ZPCI_REASON_MSIX = 200,		/* MSI-X table or PBA: ACT_EMULATE */
	ZPCI_REASON_CONFIG_SPACE = 201,	/* pcias 15: ACT_EMULATE */
	ZPCI_REASON_HOST = 202,		/* host errno, no guest meaning */
	ZPCI_REASON_SOURCE = 203,	/* source callback failed: ACT_SOURCE */
};

/*
 * The outcome of a call, every call's optional last argument.  The caller
 * sets st->size = sizeof(*st) (ZPCI_STATUS_INIT does); 0 means the 1.0 size.
 * The library writes at most that many bytes (whole struct prefix), and
 * sets size to the number of bytes it wrote, so a struct can be reused.
 * Written on success and failure alike.
 */
struct zpci_status {
	uint32_t size;		/* in: sizeof as known by the caller; out: bytes written */
	int32_t error;		/* 0 or -errno, same as the return value */
	uint64_t done;		/* instructions completed */
	uint32_t rule;		/* enum zpci_rule, 0 if not a rule violation */
	uint32_t reason;	/* enum zpci_reason, 0 if none */
	uint8_t action;		/* enum zpci_action */
	uint8_t cc;		/* condition code for the guest (ACT_CC; 0 with ACT_NONE) */
	uint8_t status;		/* status byte when cc == 1 */
	uint8_t flags;		/* ZPCI_STATUS_* */
	uint16_t pgm;		/* program interruption code (ACT_PGM), else 0 */
	uint16_t reserved0;
	uint32_t reserved1;
	uint32_t reserved2;	/* (explicit padding, always 0) */
	uint64_t reserved[4];
};
#define ZPCI_STATUS_SIZE_1_0	72U
#define ZPCI_STATUS_INIT	{ sizeof(struct zpci_status), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, { 0, 0, 0, 0 } }

/* One planned instruction (insn: enum zpci_insn). */
struct zpci_plan_op {
	uint8_t insn;
	uint8_t pcias;
	uint16_t reserved;
	uint32_t len;
	uint64_t offset;
	uint64_t addr;
};

/* Counters of the simulated function. */
struct zpci_sim_stats {
	uint64_t pcistb_ops, pcistg_ops, pcilg_ops;
	uint64_t pcistb_bytes, pcistg_bytes, pcilg_bytes;
	uint64_t submits, bar_calls, refused, signals;
};

/* Open a path by spec ("sim:strict", "sim:ism", "sim-fallback:strict",
 * "region:0000:00:00.0", "fallback:0000:00:00.0").  On IBM Z a function is
 * known by FID/UID (its PCI address is synthetic): "fid:0x10" and "uid:5"
 * open the region path of the function whose sysfs function_id / uid has
 * that value ("fallback:fid:0x10" the 8-byte path); -ENODEV if none has
 * it, -EEXIST if several do.  zpci_close() closes what zpci_open() opened;
 * for a borrowed fd (zpci_borrow_fd) it frees the handle only. */
int zpci_open(const char *spec, struct zpci_handle **out);
void zpci_close(struct zpci_handle *h);

int zpci_get_caps(const struct zpci_handle *h, struct zpci_caps *out);

/* Check one instruction against the rules: 0 if legal, else -EINVAL with
 * the verdict in *out (optional). */
int zpci_check_op(const struct zpci_caps *caps, unsigned int insn,
		  unsigned int pcias, uint64_t offset, uint64_t len,
		  uint64_t src, struct zpci_verdict *out);

/* Plan a write (is_read 0) or read (1).  Writes up to cap ops; *n gets the
 * number of ops of the whole plan.  -E2BIG if cap is too small. */
int zpci_plan(const struct zpci_caps *caps, int is_read, unsigned int pcias,
	      uint64_t offset, uint64_t len, uint64_t addr, int allow_pcistg,
	      struct zpci_plan_op *ops, size_t cap, size_t *n,
	      struct zpci_status *st);

int zpci_write(struct zpci_handle *h, unsigned int pcias, uint64_t offset,
	       const void *src, size_t len, struct zpci_status *st);
int zpci_read(struct zpci_handle *h, unsigned int pcias, uint64_t offset,
	      void *dst, size_t len, struct zpci_status *st);

/* Issue exactly these instructions (e.g. from zpci_plan(); addr is the
 * buffer: source of stores, destination of loads).  All are checked
 * against the rules first; st->done tells how many ran on failure. */
int zpci_execute(struct zpci_handle *h, const struct zpci_plan_op *ops,
		 size_t n, struct zpci_status *st);

/* ISM DMB move (dmb_pcias usually 0); *landed gets the bytes that reached
 * the DMB, also on failure. */
int zpci_ism_move(struct zpci_handle *h, uint64_t token, uint32_t index,
		  uint64_t offset, const void *src, size_t len, int signal,
		  unsigned int dmb_pcias, size_t *landed,
		  struct zpci_status *st);

/* ISM command: req (header + body, big-endian, header length field ==
 * req_len) to cmd_pcias (usually 2), body first, header last; then the
 * response header and, if its return code is 0, the rest into resp.
 * *ret gets the response return code. */
int zpci_ism_command(struct zpci_handle *h, const void *req, size_t req_len,
		     void *resp, size_t resp_len, unsigned int cmd_pcias,
		     uint16_t *ret, struct zpci_status *st);

/* -ENOTSUP if the handle is not a simulated function. */
int zpci_get_sim_stats(const struct zpci_handle *h, struct zpci_sim_stats *out);

/* Message of a negative errno. */
const char *zpci_strerror(int err);
/* Best message for a failed call: the rule or library reason if any, else
 * the errno's. */
const char *zpci_status_str(int err, const struct zpci_status *st);


/* ------------------------------------------------------------------------
 * The emulator API: borrow the emulator's vfio device, one call per guest
 * instruction, the guest outcome ready to inject, the path decision.
 * ------------------------------------------------------------------------ */

/* ZPCI_VERSION_NUM of the library actually loaded. */
unsigned int zpci_version(void);

/*
 * Borrow an already-open vfio device fd (group mode: from
 * VFIO_GROUP_GET_DEVICE_FD; cdev mode: /dev/vfio/devices/vfioN after
 * VFIO_DEVICE_BIND_IOMMUFD).  The library finds the zpci_io driver's device
 * feature on it (zpci_abi.h: VFIO_DEVICE_FEATURE PROBE and GET of
 * ZPCI_IO_FEATURE) and only ever issues VFIO_DEVICE_GET_INFO,
 * VFIO_DEVICE_GET_REGION_INFO and VFIO_DEVICE_FEATURE (ZPCI_IO_FEATURE
 * only: PROBE, GET, and a SET per request) on it; it never closes the fd
 * (zpci_close() neither), never touches the container, group, iommufd or
 * IOAS, and keeps no reference to it beyond the handle.  The fd must stay
 * open while the handle exists.  (The "region" in this API's names is the
 * zpci_io driver's path; its ABI 1 and 2 were a device region, ABI 3 is the
 * device feature, and libzpci 1.2 speaks ABI 3 only.)
 * flags: must be 0.
 * Returns 0, or
 *   -ENODEV  the device's driver is not zpci_io (stock vfio-pci): keep the
 *            emulator's own path;
 *   -EPROTO  a zpci_io whose ABI this library does not speak (an ABI 1/2
 *            driver's region, or a newer driver that no longer takes this
 *            library's requests), or malformed vfio replies;
 *   -EBADF / -ENOTTY  not a vfio device fd; -EINVAL bad arguments or flags.
 */
int zpci_borrow_fd(int device_fd, unsigned int flags, struct zpci_handle **out);

/*
 * Narrow the handle to what the guest was told through CLP: maxstbl
 * (16..device maxstbl; 0 keeps the current value) and relaxed alignment
 * (may be 1 only if the function is relaxed).  Else -EINVAL and nothing
 * changes.  Every later call (instruction calls, zpci_write/read/execute,
 * the planner behind them) checks against the narrowed caps;
 * zpci_get_caps() returns them.  Narrowing is final: caps can be narrowed
 * again but never widened beyond the device's.
 */
int zpci_set_guest_caps(struct zpci_handle *h, uint32_t maxstbl, int relaxed);

/*
 * One call = one instruction, checked against the guest caps with the
 * architecture's verdicts before anything is issued.  Return value: 0, or
 * a negative errno (the same value as st->error); st->action says what to
 * inject (see "host errno -> emulator action" below).
 *
 * PCISTG: the guest's R1 register holds the data right-aligned; the
 * rightmost len bytes of `value` are stored big-endian, i.e. the byte at
 * `offset` is the most significant of those len bytes (QEMU: the value of
 * a MO_BE access of len bytes).  Bytes of `value` above len are ignored.
 * len 1..8 within one doubleword of a BAR.
 */
int zpci_pcistg(struct zpci_handle *h, unsigned int pcias, uint64_t offset,
		unsigned int len, uint64_t value, struct zpci_status *st);

/*
 * PCILG: on success *value gets the len bytes at offset right-aligned,
 * big-endian (the byte at offset is the most significant), upper bytes
 * zero: exactly what the guest's R1 receives.  On failure *value is 0.
 */
int zpci_pcilg(struct zpci_handle *h, unsigned int pcias, uint64_t offset,
	       unsigned int len, uint64_t *value, struct zpci_status *st);

/*
 * PCISTB: store len bytes to offset of BAR pcias.  src is the host copy of
 * the guest's data (any alignment: the library copies it to an aligned
 * buffer when the function needs one); guest_addr is the GUEST's source
 * address from the instruction, which alone decides the source-alignment
 * rule (a strict function's guest gets a specification exception when it is
 * not doubleword aligned).  len 0 or > maxstbl is the guest's verdict, never
 * a read of src.
 */
int zpci_pcistb(struct zpci_handle *h, unsigned int pcias, uint64_t offset,
		const void *src, uint32_t len, uint64_t guest_addr,
		struct zpci_status *st);

/*
 * (Added in 1.1.)  PCISTB in the architecture's order: every rule first,
 * then the guest's source, then the store.  The library checks the
 * instruction as zpci_pcistb() does; only if it passes (and is not
 * ACT_EMULATE) does it call read(opaque, buf, len) once, where buf is the
 * library's own page-aligned buffer of ZPCI_MAXSTBL_LIMIT bytes (the very
 * buffer the store is issued from: no second copy, never across a page),
 * then issues the store.  read returns 0 when it filled buf with the
 * guest's len bytes, non-zero when the guest source is not accessible:
 * the call then returns -EFAULT with st->action ZPCI_ACT_SOURCE (reason
 * ZPCI_REASON_SOURCE) and nothing was issued.
 *
 * read runs with the handle's lock held: it must not call into the
 * library for the same handle, and it must return (an emulator that
 * raises guest exceptions by longjmp records the exception in read and
 * raises it after this call returns).
 */
typedef int (*zpci_source_fn)(void *opaque, void *buf, uint32_t len);
int zpci_pcistb_guest(struct zpci_handle *h, unsigned int pcias,
		      uint64_t offset, uint32_t len, uint64_t guest_addr,
		      zpci_source_fn read, void *opaque,
		      struct zpci_status *st);

/* zpci_info.backend */
#define ZPCI_BACKEND_REGION		1	/* zpci_io driver (vfio) */
#define ZPCI_BACKEND_FALLBACK		2	/* vfio-pci BAR pread/pwrite */
#define ZPCI_BACKEND_SIM		3	/* simulated function, region path */
#define ZPCI_BACKEND_SIM_FALLBACK	4	/* simulated function, 8-byte path */

/*
 * What the handle knows about its function.  out->size as zpci_status.size
 * (0: the 1.0 size; at most that many bytes are written; size gets the
 * count written).  fid/uid/driver_abi/MSI-X are 0 when the backend does not
 * report them (fallback: from vfio alone).
 */
struct zpci_info {
	uint32_t size;
	uint32_t backend;	/* ZPCI_BACKEND_* */
	uint32_t fid, uid;
	uint8_t pft, relaxed, bar_mask, pcistg_mask;
	uint32_t maxstbl;	/* the device's real maxstbl */
	uint32_t guest_maxstbl;	/* after zpci_set_guest_caps() */
	uint32_t max_ops;	/* instructions per driver call (1: fallback) */
	uint32_t driver_abi;	/* zpci_io ABI version of the driver, 0 if none */
	uint32_t guest_relaxed;	/* (added in 1.0) relaxed after zpci_set_guest_caps() */
	uint64_t bar_size[6];	/* bytes, 0: not implemented */
	uint8_t has_msix, msix_table_bar, msix_pba_bar;
	uint8_t fenced;		/* (added in 1.1; was reserved0) the region
				 * refuses every BAR access (ZPCI_ACT_EMULATE):
				 * the driver could not read the MSI-X location */
	uint32_t reserved1;
	uint64_t msix_table_offset, msix_table_size;
	uint64_t msix_pba_offset, msix_pba_size;
	uint64_t reserved[8];
};
#define ZPCI_INFO_SIZE_1_0	192U

int zpci_get_info(const struct zpci_handle *h, struct zpci_info *out);

/*
 * The path decision (docs/ARCHITECTURE.md, "Path decision", has the table).
 *   REGION                  use the zPCI I/O region for every BAR access;
 *   REGION_MSIX_EMULATED    the same, but accesses touching the MSI-X table
 *                           or PBA (zpci_info msix_*) stay with the
 *                           emulator's MSI-X emulation (the region refuses
 *                           them: ACT_EMULATE);
 *   FALLBACK                keep the emulator's stock path (<= 8-byte
 *                           vfio BAR accesses): no region, or (1.1) a
 *                           region that fences every BAR (zpci_info
 *                           fenced);
 *   REFUSE                  the function cannot work without the region
 *                           (a PCISTB-only address space: its stores would
 *                           be dropped); do not plug it.
 */
enum zpci_path_kind {
	ZPCI_PATH_REGION = 1,
	ZPCI_PATH_REGION_MSIX_EMULATED = 2,
	ZPCI_PATH_FALLBACK = 3,
	ZPCI_PATH_REFUSE = 4,
};

/* Inputs (booleans: 0 / non-zero).  size as zpci_status.size. */
struct zpci_decision_input {
	uint32_t size;
	int host_mio;		/* zpci_host_has_mio() > 0 */
	int has_msix;		/* the function has an MSI-X capability */
	int relaxed;		/* relaxed alignment (ISM) */
	uint8_t pft;		/* PCI function type; 5 (ISM) implies pcistb_only */
	int pcistb_only;	/* an address space refuses PCISTG */
	int region;		/* the zPCI I/O region is available */
	int fenced;		/* (added in 1.1) the region fences every BAR:
				 * the driver could not read where the MSI-X
				 * table and PBA are, so it serves none */
};

struct zpci_decision {
	uint32_t size;
	uint32_t path;		/* enum zpci_path_kind */
	const char *reason;	/* static string, one line */
};

/*
 * 1 if the host runs PCI instructions as MIO (s390x HWCAP bit 21,
 * "pcimio" in /proc/cpuinfo's features line), 0 if not (also on a host
 * that is not s390x), -errno if it cannot tell.
 */
int zpci_host_has_mio(void);

/* Pure function of the inputs: 0, or -EINVAL for NULL arguments. */
int zpci_decide(const struct zpci_decision_input *in, struct zpci_decision *out);

/* zpci_decide() with the inputs taken from the handle and the host. */
int zpci_decide_handle(const struct zpci_handle *h, struct zpci_decision *out);

/* Short name of a path kind ("region", "region+msix-emulated", ...). */
const char *zpci_path_name(unsigned int path);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* ZPCI_H */
