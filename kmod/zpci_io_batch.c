// SPDX-License-Identifier: GPL-2.0
/*
 * zpci_io: validating and running one batch of the zPCI I/O region.
 *
 * Why this path exists: without the MIO facility (and ISM never has it) a
 * zPCI BAR is only reachable through PCILG, PCISTG and PCISTB naming the
 * function handle.  vfio-pci's BAR read/write turns every access into
 * stores of at most 8 bytes, and QEMU's intercept splits a guest PCISTB the
 * same way; ISM's DMB space accepts PCISTB only, so it cannot work like
 * that at all, and everything else pays one syscall per 8 bytes.  Here the
 * caller's instruction is re-issued as it is, its data read from (or
 * written into) the caller's own pages, pinned for the duration of the op:
 * no bounce copy, and PCISTB sees the whole block at once.
 */
#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/pci.h>

#include "zpci_io.h"
#include "zpci_io_insn.h"

/* The caller's buffer of one op, pinned. */
struct zpci_io_pin {
	struct page *pages[2];	/* len <= 4096 spans at most two pages */
	unsigned int npages;
	unsigned int offset;	/* of the buffer in pages[0] */
};

/* Outcome of one op. */
struct zpci_io_result {
	int err;		/* 0 or -errno */
	int cc;			/* 0..3, or ZPCI_IO_INSN_EXCEPTION, or -2 */
	u8 status;
};

#define ZPCI_IO_NOT_ISSUED	(-2)

static void zpci_io_count(atomic64_t *slots, unsigned int nr, unsigned int key)
{
	atomic64_inc(&slots[min(key, nr - 1)]);
}

static bool zpci_io_overlaps(u64 off, u64 len, u64 start, u64 size)
{
	return size && off < start + size && start < off + len;
}

/*
 * Driver policy on top of the instruction rules: config space is
 * virtualised by vfio-pci, and QEMU emulates the MSI-X table and PBA, so a
 * raw instruction must never reach either.
 */
static bool zpci_io_policy_denies(const struct zpci_io_func *f,
				  const struct zpci_io_op *op)
{
	if (op->pcias == ZPCI_PCIAS_CONFIG)
		return true;
	if (!(f->info_flags & ZPCI_IO_INFO_MSIX))
		return false;
	if (op->pcias == f->msix_table_bar &&
	    zpci_io_overlaps(op->offset, op->len, f->msix_table_offset,
			     f->msix_table_size))
		return true;
	if (op->pcias == f->msix_pba_bar &&
	    zpci_io_overlaps(op->offset, op->len, f->msix_pba_offset,
			     f->msix_pba_size))
		return true;
	return false;
}

/* Whole-batch validation of the ops; nothing has been issued yet. */
static int zpci_io_validate_ops(struct zpci_io_device *zio, u32 nr_ops,
				struct zpci_io_status *st)
{
	const struct zpci_io_func *f = &zio->func;
	u32 i;

	for (i = 0; i < nr_ops; i++) {
		const struct zpci_io_op *op = &zio->ops[i];
		struct zpci_verdict v;

		st->failed = i;
		if (op->flags || op->reserved)
			return -EINVAL;
		/* range checks below rely on the length fitting a block */
		if (op->len > ZPCI_MAXSTBL_LIMIT) {
			st->rule = ZPCI_RULE_LEN_RANGE;
			return -EINVAL;
		}
		if (zpci_io_policy_denies(f, op))
			return -EACCES;
		v = zpci_check(&f->caps, op->insn, op->pcias, op->offset,
			       op->len, op->addr);
		if (!zpci_verdict_ok(v)) {
			st->rule = v.rule;
			return -EINVAL;
		}
		/*
		 * access_ok() is always true on s390 (user space is its own
		 * address space); a buffer that wraps around is not, and any
		 * other unusable buffer shows when the op pins it.
		 */
		if (op->addr + op->len < op->addr ||
		    !access_ok(u64_to_user_ptr(op->addr), op->len))
			return -EFAULT;
	}
	return 0;
}

static int zpci_io_pin(struct zpci_io_device *zio, const struct zpci_io_op *op,
		       struct zpci_io_pin *pin)
{
	unsigned long start = op->addr & PAGE_MASK;
	unsigned long last = (op->addr + op->len - 1) & PAGE_MASK;
	unsigned int gup = op->insn == ZPCI_IO_OP_PCILG ? FOLL_WRITE : 0;
	int n;

	pin->npages = (last - start) / PAGE_SIZE + 1;
	pin->offset = op->addr & ~PAGE_MASK;
	if (pin->npages > ARRAY_SIZE(pin->pages))
		return -EINVAL;
	n = pin_user_pages_fast(start, pin->npages, gup, pin->pages);
	if (n != pin->npages) {
		if (n > 0)
			unpin_user_pages(pin->pages, n);
		pin->npages = 0;
		return n < 0 && n != -EFAULT ? n : -EFAULT;
	}
	atomic64_add(n, &zio->stats.pinned_pages);
	return 0;
}

static void zpci_io_unpin(struct zpci_io_pin *pin, bool dirty)
{
	if (dirty)
		unpin_user_pages_dirty_lock(pin->pages, pin->npages, true);
	else
		unpin_user_pages(pin->pages, pin->npages);
	pin->npages = 0;
}

/* Copy between a small kernel buffer and the pinned pages. */
static void zpci_io_pin_copy(struct zpci_io_pin *pin, void *kbuf,
			     unsigned int len, bool to_pages)
{
	unsigned int done = 0, off = pin->offset, i;

	for (i = 0; i < pin->npages && done < len; i++) {
		unsigned int n = min_t(unsigned int, len - done,
				       PAGE_SIZE - off);
		u8 *p = kmap_local_page(pin->pages[i]);

		if (to_pages)
			memcpy(p + off, (u8 *)kbuf + done, n);
		else
			memcpy((u8 *)kbuf + done, p + off, n);
		kunmap_local(p);
		done += n;
		off = 0;
	}
}

/*
 * The block's source must be contiguous in kernel virtual memory: one
 * page, or two pages that happen to be physically adjacent, are reached
 * through the direct map; otherwise the two pages are mapped side by side.
 */
static const void *zpci_io_block_map(struct zpci_io_pin *pin, void **vm)
{
	*vm = NULL;
	if (pin->npages == 1 ||
	    page_to_pfn(pin->pages[1]) == page_to_pfn(pin->pages[0]) + 1)
		return (u8 *)page_address(pin->pages[0]) + pin->offset;
	*vm = vmap(pin->pages, pin->npages, VM_MAP, PAGE_KERNEL_RO);
	if (!*vm)
		return NULL;
	return (u8 *)*vm + pin->offset;
}

/* Mirrors vfio-pci: no BAR access while memory decode is off or in D3. */
static bool zpci_io_memory_enabled(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;
	u16 cmd = le16_to_cpu(*(__le16 *)&core->vconfig[PCI_COMMAND]);

	/* pci_power_t is ordered D0 < D1 < D2 < D3hot, as vfio-pci relies on */
	return (__force int)pdev->current_state < (__force int)PCI_D3hot &&
	       (pdev->no_command_memory || (cmd & PCI_COMMAND_MEMORY));
}

/*
 * Issue one instruction with the function's current handle, read once per
 * op: recovery and re-enable replace zdev->fh, and a stale or disabled
 * handle only makes the instruction end with cc 3 (or cc 1, "not
 * enabled"), which is reported.  zdev->state_lock must not be taken here:
 * the platform's hot-unplug path holds it while it removes the PCI device,
 * and our remove waits for user space to close the vfio device, which the
 * caller of this batch can only do once the batch returns.  vfio's
 * memory_lock keeps resets and memory-disable out during the op, as for
 * vfio-pci's own BAR access.
 */
static void zpci_io_issue(struct zpci_io_device *zio,
			  const struct zpci_io_op *op, const void *src,
			  u64 *val, struct zpci_io_result *res)
{
	struct vfio_pci_core_device *core = &zio->core;
	struct zpci_dev *zdev = to_zpci(core->pdev);
	unsigned int tries = 0;
	u64 req;

	down_read(&core->memory_lock);
	if (!zpci_io_memory_enabled(core)) {
		up_read(&core->memory_lock);
		res->err = -EIO;
		return;
	}
	req = zpci_io_req(READ_ONCE(zdev->fh), op->pcias, op->len);
	do {
		switch (op->insn) {
		case ZPCI_IO_OP_PCILG:
			res->cc = zpci_io_pcilg(val, req, op->offset,
						&res->status);
			break;
		case ZPCI_IO_OP_PCISTG:
			res->cc = zpci_io_pcistg(*val, req, op->offset,
						 &res->status);
			break;
		default:
			res->cc = zpci_io_pcistb(src, req, op->offset,
						 &res->status);
			break;
		}
		if (res->cc != ZPCI_CC_BUSY)
			break;
		udelay(1);
	} while (++tries < ZPCI_IO_BUSY_RETRIES);
	up_read(&core->memory_lock);

	switch (res->cc) {
	case ZPCI_CC_OK:
		res->err = 0;
		break;
	case ZPCI_CC_BUSY:
		res->err = -EBUSY;
		break;
	case ZPCI_CC_INVALID_HANDLE:
		res->err = -ENODEV;
		break;
	default:		/* cc 1, or an exception */
		res->err = -EIO;
		break;
	}
}

/*
 * PCILG and PCISTG move 1..8 bytes through a register; the register holds
 * them right-aligned in memory order (s390 is big-endian), exactly as
 * they are in the caller's buffer.
 */
static void zpci_io_run_op(struct zpci_io_device *zio,
			   const struct zpci_io_op *op,
			   struct zpci_io_result *res)
{
	struct zpci_io_pin pin;
	const void *src = NULL;
	void *vm = NULL;
	u64 val = 0;

	res->cc = ZPCI_IO_NOT_ISSUED;
	res->status = 0;
	res->err = zpci_io_pin(zio, op, &pin);
	if (res->err)
		return;

	if (op->insn == ZPCI_IO_OP_PCISTG) {
		zpci_io_pin_copy(&pin, (u8 *)&val + 8 - op->len, op->len,
				 false);
	} else if (op->insn == ZPCI_IO_OP_PCISTB) {
		src = zpci_io_block_map(&pin, &vm);
		if (!src) {
			res->err = -ENOMEM;
			goto out;
		}
	}

	zpci_io_issue(zio, op, src, &val, res);

	if (!res->err && op->insn == ZPCI_IO_OP_PCILG)
		zpci_io_pin_copy(&pin, (u8 *)&val + 8 - op->len, op->len,
				 true);
out:
	if (vm)
		vunmap(vm);
	zpci_io_unpin(&pin, op->insn == ZPCI_IO_OP_PCILG && !res->err);
}

static void zpci_io_account_op(struct zpci_io_stats *s,
			       const struct zpci_io_op *op,
			       const struct zpci_io_result *res)
{
	if (res->cc >= 0) {
		zpci_io_count(s->by_cc, ZPCI_IO_NR_CC, res->cc);
		if (res->cc == ZPCI_CC_ERROR)
			zpci_io_count(s->by_status, ZPCI_IO_NR_STATUS,
				      res->status);
	}
	if (!res->err) {
		atomic64_inc(&s->ops[op->insn - 1]);
		atomic64_add(op->len, &s->bytes[op->insn - 1]);
	}
}

static int zpci_io_run(struct zpci_io_device *zio, u32 nr_ops,
		       struct zpci_io_status *st)
{
	struct zpci_io_result res;
	u32 i;

	for (i = 0; i < nr_ops; i++) {
		const struct zpci_io_op *op = &zio->ops[i];

		/*
		 * Removal started (zpci_io_request()): stop before the next
		 * op, st->done tells how many ran.  Nothing issued yet means
		 * the batch was refused as a whole.
		 */
		if (zpci_io_gone(zio)) {
			st->failed = i;
			if (!i)
				st->flags |= ZPCI_IO_STATUS_REJECTED;
			return -ENODEV;
		}
		if (i && fatal_signal_pending(current)) {
			st->failed = i;
			return -EINTR;
		}
		zpci_io_run_op(zio, op, &res);
		zpci_io_account_op(&zio->stats, op, &res);
		if (res.err) {
			st->failed = i;
			if (res.cc >= 0) {
				st->flags |= ZPCI_IO_STATUS_CC_VALID;
				st->cc = res.cc;
				st->status = res.status;
			}
			return res.err;
		}
		st->done = i + 1;
	}
	return 0;
}

static int zpci_io_check_header(const struct zpci_io_batch *b, size_t count)
{
	if (b->abi_version < ZPCI_IO_ABI_MIN_COMPAT ||
	    b->abi_version > ZPCI_IO_ABI_VERSION)
		return -EPROTO;
	if (b->flags || b->reserved)
		return -EINVAL;
	if (b->status_addr && b->status_size < ZPCI_IO_STATUS_MIN_SIZE)
		return -EINVAL;
	if (!b->status_addr && b->status_size)
		return -EINVAL;
	if (b->op_size != sizeof(struct zpci_io_op) || !b->nr_ops)
		return -EINVAL;
	if (b->nr_ops > ZPCI_IO_MAX_OPS)
		return -E2BIG;
	if (count != sizeof(*b) + (size_t)b->nr_ops * b->op_size)
		return -EINVAL;
	return 0;
}

/* Under the device lock: the rest of the batch, its validation, its run. */
static int zpci_io_submit_locked(struct zpci_io_device *zio,
				 const struct zpci_io_batch *b,
				 const char __user *buf, size_t count,
				 struct zpci_io_status *st)
{
	int err;

	/* the function is going away: refuse before looking at the batch */
	if (zpci_io_gone(zio)) {
		st->flags |= ZPCI_IO_STATUS_REJECTED;
		return -ENODEV;
	}
	err = zpci_io_check_header(b, count);
	if (!err && copy_from_user(zio->ops, buf + sizeof(*b),
				   (size_t)b->nr_ops * sizeof(*zio->ops)))
		err = -EFAULT;
	if (!err)
		err = zpci_io_validate_ops(zio, b->nr_ops, st);
	if (err) {
		/* nothing was issued */
		st->flags |= ZPCI_IO_STATUS_REJECTED;
		return err;
	}
	return zpci_io_run(zio, b->nr_ops, st);
}

/*
 * One pwrite() at ZPCI_IO_REQ_OFFSET: the batch header, then its ops.
 * Returns count when every op ran, else -errno.  The status block is
 * written in both cases when the header could be read and names one.
 */
ssize_t zpci_io_submit(struct zpci_io_device *zio, const char __user *buf,
		       size_t count)
{
	struct zpci_io_status st = { .argsz = sizeof(st) };
	struct zpci_io_batch b;
	size_t st_len;
	int err;

	atomic64_inc(&zio->stats.batches);
	memset(&b, 0, sizeof(b));
	if (count < sizeof(b)) {
		err = -EINVAL;
	} else if (copy_from_user(&b, buf, sizeof(b))) {
		memset(&b, 0, sizeof(b));
		err = -EFAULT;
	} else if (mutex_lock_killable(&zio->lock)) {
		err = -EINTR;
	} else {
		err = zpci_io_submit_locked(zio, &b, buf, count, &st);
		mutex_unlock(&zio->lock);
	}

	st.error = err;
	if (!err)
		st.failed = 0;
	/*
	 * Never write more than the caller said its status block holds: an
	 * older library knows a shorter struct.  A size below the minimum
	 * was refused with the header, and gets no status at all.
	 */
	st_len = min_t(size_t, b.status_size, sizeof(st));
	st.argsz = st_len;
	if (b.status_addr && st_len >= ZPCI_IO_STATUS_MIN_SIZE &&
	    copy_to_user(u64_to_user_ptr(b.status_addr), &st, st_len) &&
	    !err)
		err = -EFAULT;
	if (err) {
		atomic64_inc(&zio->stats.errors);
		zpci_io_count(zio->stats.by_errno, ZPCI_IO_NR_ERRNO, -err);
	}
	return err ? err : count;
}
