/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zpci_io: vfio-pci variant driver with the zPCI I/O device feature.
 *
 * Internal declarations shared by the driver's source files.
 */
#ifndef ZPCI_IO_H
#define ZPCI_IO_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/ratelimit.h>
#include <linux/spinlock.h>
#include <linux/vfio_pci_core.h>

#include <asm/debug.h>

#include "zpci_io_conftest.h"
#include <zpci/zpci_abi.h>
#include <zpci/zpci_rules.h>

/* Largest nr_ops of one request (info.max_ops). */
#define ZPCI_IO_MAX_OPS		256U
/*
 * Largest request (info.max_req_size): max_ops PCISTBs of 4 KiB, each in a
 * page of its own, behind a header and ops of any size a caller may use.
 */
#define ZPCI_IO_MAX_REQ_SIZE	(2U << 20)
/*
 * The function's own request buffer: a request up to this size (one op of
 * up to 4 KiB, or a few small ones) is copied into it, so the
 * single-instruction path allocates nothing.  Page-aligned.
 */
#define ZPCI_IO_SPARE_ORDER	1
#define ZPCI_IO_SPARE_SIZE	(PAGE_SIZE << ZPCI_IO_SPARE_ORDER)

/*
 * The smallest maxstbl zpci_caps_valid() accepts.  Only PCISTB depends on
 * maxstbl: a function with a smaller one is checked as if it had this
 * and its PCISTB bounded by its own (zpci_io_check_op()).
 */
#define ZPCI_IO_RULES_MIN_MAXSTBL	16U

/* Failed-instruction trace: records per function and interval. */
#define ZPCI_IO_DBF_INTERVAL	(10 * HZ)
#define ZPCI_IO_DBF_BURST	20

/* How often a busy (cc 2) instruction is retried before EBUSY. */
#define ZPCI_IO_BUSY_RETRIES	128

/* Counter slots; errno values above the last slot share it. */
#define ZPCI_IO_NR_ERRNO	136
#define ZPCI_IO_NR_CC		4
#define ZPCI_IO_NR_STATUS	256

/* Relaxed-alignment override written through sysfs. */
enum zpci_io_relaxed_mode {
	ZPCI_IO_RELAXED_AUTO,	/* from the function type: PFT 5 (ISM) */
	ZPCI_IO_RELAXED_ON,
	ZPCI_IO_RELAXED_OFF,
};

/* PCISTG refusal from the function type: ISM's DMB space (BAR 0) */
#define ZPCI_IO_NOSTG_AUTO	(-1)

/* maxstbl as the platform reports it (no administrator's limit) */
#define ZPCI_IO_MAXSTBL_AUTO	(-1)

struct zpci_io_stats {
	atomic64_t ops[3];		/* by insn - 1 */
	atomic64_t bytes[3];		/* by insn - 1 */
	atomic64_t batches;		/* requests */
	/*
	 * Pages pinned so far and right now: nothing pins since ABI 3, and
	 * the counters stay (0) so that a monitor can prove it.
	 */
	atomic64_t pinned_pages;
	atomic64_t pins_held;
	atomic64_t req_bytes;		/* request bytes copied in */
	atomic64_t req_allocs;		/* buffers allocated for requests */
	atomic64_t errors;
	atomic64_t by_errno[ZPCI_IO_NR_ERRNO];
	/* cc 0 is not counted here: netlink reports it as the sum of ops */
	atomic64_t by_cc[ZPCI_IO_NR_CC];
	atomic64_t by_status[ZPCI_IO_NR_STATUS];
};

/*
 * Where the MSI-X table and PBA live, established at open from the vfio
 * core's cached table location and a checked PBA read.  fence_all: that
 * could not be established (a config read failed or names a BAR or range
 * the function does not have), so no BAR may be touched at all.
 */
struct zpci_io_msix {
	bool present;
	bool fence_all;
	u8 table_bar;
	u8 pba_bar;
	u64 table_offset;
	u64 table_size;
	u64 pba_offset;
	u64 pba_size;
};

/* What the driver knows about one function, beyond the rules' caps. */
struct zpci_io_func {
	struct zpci_caps caps;
	u32 fid;
	u32 uid;
	u32 info_flags;			/* ZPCI_IO_INFO_* */
	struct zpci_io_msix msix;
};

struct zpci_io_device {
	/* vfio_alloc_device() needs the core device (and its vdev) first */
	struct vfio_pci_core_device core;
	/*
	 * The function's request buffer (ZPCI_IO_SPARE_SIZE bytes, page
	 * aligned), or NULL while a request uses it: claimed and given back
	 * with xchg(), never waited for (a second request at the same time
	 * allocates its own).  No lock serialises requests: like vfio-pci's
	 * own BAR accesses, those of one function run side by side, and only
	 * the core's memory_lock (read) keeps resets and decode changes out.
	 */
	void *spare;
	/*
	 * Its large buffer (ZPCI_IO_MAX_REQ_SIZE, vmalloc), allocated by
	 * the first request larger than the small one and parked here
	 * between large requests, claimed the same way; freed when the
	 * device is closed.  NULL until then, and while a request uses it.
	 */
	void *big;
	/*
	 * Protects func, relaxed_mode and nostg_bars.  Readers (a request,
	 * the info GET, sysfs, netlink) copy what they need under it and
	 * never sleep while holding it.
	 */
	spinlock_t func_lock;
	struct zpci_io_func func;
	enum zpci_io_relaxed_mode relaxed_mode;
	int nostg_bars;			/* ZPCI_IO_NOSTG_AUTO or a BAR mask */
	int maxstbl_limit;		/* ZPCI_IO_MAXSTBL_AUTO or a limit */
	struct zpci_io_stats stats;
	/* this function's share of the s390dbf trace (zpci_io_trace()) */
	struct ratelimit_state dbf_rs;
	atomic_t dbf_dropped;		/* records dropped since the last */
	struct list_head node;		/* zpci_io_devices, under list lock */
	/*
	 * Set once by the vfio release request (hot-unplug, unbind) and
	 * never cleared: the device is being unregistered and cannot be
	 * opened again.  Read locklessly between ops, so that a request
	 * stops as soon as the removal waits for user space, instead of
	 * issuing to a function that is going away.  Lives in the vfio
	 * device, which is freed only after the last user closed it.
	 */
	bool gone;
	/*
	 * PCI error recovery (zpci_io_err_handlers): ZPCI_IO_ERR_* as the
	 * platform's recovery last left it.  Written under device_lock by
	 * the error handlers, read locklessly between ops like gone.
	 */
	int err_state;
	/*
	 * The owner's error eventfd (VFIO_PCI_ERR_IRQ_INDEX) of a function
	 * that is not PCI Express (vfio-pci-core has one for those only),
	 * or NULL; under err_lock.
	 */
	spinlock_t err_lock;
	struct eventfd_ctx *err_ctx;
};

/* zpci_io_device.err_state */
enum {
	ZPCI_IO_ERR_NONE,	/* usable */
	ZPCI_IO_ERR_FROZEN,	/* error_detected, until resume */
	ZPCI_IO_ERR_PERM,	/* recovery failed: until unbind */
};

static inline struct zpci_io_device *
zpci_io_from_core(struct vfio_pci_core_device *core)
{
	return container_of(core, struct zpci_io_device, core);
}

/* The function is going away: refuse requests, stop between ops. */
static inline bool zpci_io_gone(const struct zpci_io_device *zio)
{
	return READ_ONCE(zio->gone);
}

/*
 * -EIO while the function is in PCI error recovery, or after it failed,
 * else 0.  The submission path calls it before every op: a refused or
 * stopped request ends with this errno and ZPCI_IO_STATUS_FUNC_ERROR.
 */
static inline int zpci_io_func_error(const struct zpci_io_device *zio)
{
	return READ_ONCE(zio->err_state) != ZPCI_IO_ERR_NONE ? -EIO : 0;
}

/* A consistent copy of the function description. */
static inline void zpci_io_func_snapshot(struct zpci_io_device *zio,
					 struct zpci_io_func *f)
{
	spin_lock(&zio->func_lock);
	*f = zio->func;
	spin_unlock(&zio->func_lock);
}

/* zpci_io_main.c */
extern struct mutex zpci_io_list_lock;
extern struct list_head zpci_io_devices;
extern debug_info_t *zpci_io_dbf;

/* zpci_io_batch.c */
int zpci_io_submit(struct zpci_io_device *zio, void __user *arg,
		   size_t argsz);
ssize_t zpci_io_bar_rw(struct zpci_io_device *zio, const struct zpci_io_func *f,
		       unsigned int bar, char __user *buf, size_t count,
		       u64 pos, bool iswrite);

/* zpci_io_nl.c */
int zpci_io_nl_init(void);
void zpci_io_nl_exit(void);

#endif /* ZPCI_IO_H */
