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
 * written into) the caller's own pages, pinned for the duration of the
 * batch: no bounce copy (but for a block across two pages that are not
 * physically adjacent, copied from the pinned pages: see
 * zpci_io_block_src()), and PCISTB sees the whole block at once.  The
 * ops of a batch usually walk one buffer (a transfer split into blocks,
 * or many small blocks in one page), so consecutive ops whose buffers
 * share a page or continue one another are pinned with one call, each
 * page once: under TCG a pin_user_pages_fast() call per op cost more than
 * the instruction.
 *
 * Locking: everything that can wait on user space (copying the ops,
 * pinning their buffers and the status block, which may fault on a
 * userfaultfd, FUSE or NFS mapping for as long as user space likes)
 * happens before the batch lock is taken, and the lock is taken killable.
 * So a batch stuck in a fault holds nothing another function, an unbind,
 * a statistics reader or even another batch of the same function would
 * wait for; it ends when the fault is resolved or the process is killed.
 */
#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/pci.h>

#include "zpci_io.h"
#include "zpci_io_insn.h"

/*
 * An op's buffer in the caller's memory: its one or two pages, which
 * belong to the pin run that pinned them (struct zpci_io_run).
 */
struct zpci_io_pin {
	struct page *pages[2];	/* len <= 4096 spans at most two pages */
	unsigned int npages;
	unsigned int offset;	/* of the range in pages[0] */
	bool dirty;		/* written through the pin: dirty on unpin */
};

/*
 * Consecutive ops in the same direction (PCILG writes its pages, the
 * stores read theirs) whose buffers share a page or continue one another:
 * their pages, pinned once with one call, are
 * zpci_io_work.pages[first, first + npages).
 */
struct zpci_io_run {
	u32 first;
	u32 npages;
	u32 nr_ops;
};

/* Outcome of one op. */
struct zpci_io_result {
	int err;		/* 0 or -errno */
	int cc;			/* 0..3, ZPCI_IO_INSN_EXCEPTION, or not issued */
	u8 status;
	u8 pgm;
	bool decode_off;
};

#define ZPCI_IO_NOT_ISSUED	(-2)

/*
 * One batch on its way: what it was checked against, its ops and pins.
 * ops, pins, pages and runs share one allocation (ops first).
 */
struct zpci_io_work {
	struct zpci_io_func f;		/* the description, a snapshot */
	u32 nr_ops;
	u32 nr_pinned;			/* ops whose buffers are pinned */
	int pin_err;			/* why op nr_pinned is not, or 0 */
	u32 issued;			/* instructions issued */
	u32 nr_pages;			/* pinned pages, all runs */
	u32 nr_runs;
	struct zpci_io_op *ops;
	struct zpci_io_pin *pins;	/* one per op */
	struct page **pages;		/* at most two per op */
	struct zpci_io_run *runs;	/* at most one per op */
	u8 *bounce;			/* zpci_io_block_src(), or NULL */
};

static void zpci_io_count(atomic64_t *slots, unsigned int nr, unsigned int key)
{
	atomic64_inc(&slots[min(key, nr - 1)]);
}

/* Do [off, off + len) and [start, start + size) meet?  No sum can wrap. */
static bool zpci_io_overlaps(u64 off, u64 len, u64 start, u64 size)
{
	if (!len || !size)
		return false;
	if (off >= start)
		return off - start < size;
	return start - off < len;
}

/*
 * Driver policy on top of the instruction rules: config space is
 * virtualised by vfio-pci, and QEMU emulates the MSI-X table and PBA, so a
 * raw instruction must never reach either.  When their location is not
 * known for sure, no BAR is safe.
 */
static bool zpci_io_policy_denies(const struct zpci_io_func *f,
				  const struct zpci_io_op *op)
{
	const struct zpci_io_msix *m = &f->msix;

	if (op->pcias == ZPCI_PCIAS_CONFIG || m->fence_all)
		return true;
	if (!m->present)
		return false;
	if (op->pcias == m->table_bar &&
	    zpci_io_overlaps(op->offset, op->len, m->table_offset,
			     m->table_size))
		return true;
	if (op->pcias == m->pba_bar &&
	    zpci_io_overlaps(op->offset, op->len, m->pba_offset, m->pba_size))
		return true;
	return false;
}

/*
 * One op, in the order the ABI header gives: the instruction rules first,
 * exactly as zpci_check() decides them (its rule is reported), then the
 * ABI's reserved fields, then the driver's own policy.
 */
static int zpci_io_check_op(const struct zpci_io_func *f,
			    const struct zpci_io_op *op, u32 *rule)
{
	const struct zpci_caps *caps = &f->caps;
	struct zpci_caps c;
	struct zpci_verdict v;

	/*
	 * The rules take a maxstbl below 16 for invalid capabilities and
	 * refuse every op, but only PCISTB depends on it: a function with
	 * a smaller maxstbl (or none) still takes 1..8-byte PCILG and
	 * PCISTG.  Check against the smallest maxstbl the rules accept,
	 * then bound PCISTB by the function's own.
	 */
	if (caps->maxstbl < ZPCI_IO_RULES_MIN_MAXSTBL) {
		c = *caps;
		c.maxstbl = ZPCI_IO_RULES_MIN_MAXSTBL;
		caps = &c;
	}
	v = zpci_check(caps, op->insn, op->pcias, op->offset, op->len,
		       op->addr);
	if (zpci_verdict_ok(v) && op->insn == ZPCI_IO_OP_PCISTB &&
	    op->len > f->caps.maxstbl)
		v.rule = ZPCI_RULE_LEN_RANGE;
	if (!zpci_verdict_ok(v)) {
		*rule = v.rule;
		return -EINVAL;
	}
	if (op->flags || op->reserved)
		return -EINVAL;
	if (zpci_io_policy_denies(f, op))
		return -EACCES;
	/*
	 * access_ok() is always true on s390 (user space is its own
	 * address space); a buffer that wraps around is not, and any
	 * other unusable buffer shows when the op pins it.
	 */
	if (op->addr + op->len < op->addr ||
	    !access_ok(u64_to_user_ptr(op->addr), op->len))
		return -EFAULT;
	return 0;
}

/* Whole-batch validation of the ops; nothing has been issued yet. */
static int zpci_io_validate_ops(struct zpci_io_work *w,
				struct zpci_io_status *st)
{
	u32 i;
	int err;

	for (i = 0; i < w->nr_ops; i++) {
		err = zpci_io_check_op(&w->f, &w->ops[i], &st->rule);
		if (err) {
			st->failed = i;
			return err;
		}
	}
	return 0;
}

/*
 * Pins the nr pages from start, all or none.  May sleep on a fault for as
 * long as user space takes to resolve it (userfaultfd); a fatal signal
 * ends the wait with EINTR.  Called without the batch lock.
 */
static int zpci_io_pin_pages(unsigned long start, unsigned int nr,
			     bool write, struct page **pages)
{
	int n;

	n = pin_user_pages_fast(start, nr, write ? FOLL_WRITE : 0, pages);
	if (n == nr)
		return 0;
	if (n > 0)
		unpin_user_pages(pages, n);
	if (fatal_signal_pending(current))
		return -EINTR;
	return n < 0 && n != -EFAULT ? n : -EFAULT;
}

/* The first and last page of [addr, addr + len), len >= 1, no wrap. */
static unsigned long zpci_io_first_page(u64 addr)
{
	return addr & PAGE_MASK;
}

static unsigned long zpci_io_last_page(u64 addr, u64 len)
{
	return (addr + len - 1) & PAGE_MASK;
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
	if (to_pages)
		pin->dirty = true;
}

/* Is the pinned range contiguous in the direct map? */
static bool zpci_io_pin_contiguous(const struct zpci_io_pin *pin)
{
	return pin->npages == 1 ||
	       page_to_pfn(pin->pages[1]) == page_to_pfn(pin->pages[0]) + 1;
}

/*
 * The block's source must be contiguous in kernel virtual memory: one
 * page, or two pages that happen to be physically adjacent, are reached
 * through the direct map; a block across two other pinned pages (at most
 * maxstbl <= 4 KiB) is copied from them into the batch's bounce buffer,
 * which zpci_io_prepare() allocated before the batch lock was taken.
 * Mapping the two pages side by side with vmap() avoids that copy but
 * costs far more: a vmap() and vunmap() per op, whose TLB flush of the
 * kernel range made a 4 KiB PCISTB region call 10x slower in the nested
 * test (docs/ARCHITECTURE.md).
 */
static const void *zpci_io_block_src(struct zpci_io_work *w,
				     struct zpci_io_pin *pin, unsigned int len)
{
	if (zpci_io_pin_contiguous(pin))
		return (u8 *)page_address(pin->pages[0]) + pin->offset;
	if (WARN_ON_ONCE(!w->bounce))
		return NULL;
	zpci_io_pin_copy(pin, w->bounce, len, false);
	return w->bounce;
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
 * One instruction.  A program exception leaves its interruption code in
 * this CPU's lowcore, and the exception-table fixup does not hand it on,
 * so it is read from there after the fixup returned.  Interrupts (not
 * just preemption) are off from the instruction to that read: with them
 * on, an interrupt taken in between may itself raise a program
 * interruption (a kprobe, a WARN's monitor call) and overwrite the code.
 * The program-check handler keeps them off for the fixup, as the
 * interrupted PSW had them off.
 */
static int zpci_io_insn(const struct zpci_io_op *op, u64 req, const void *src,
			u64 *val, u8 *status, u8 *pgm)
{
	unsigned long flags;
	int cc;

	local_irq_save(flags);
	switch (op->insn) {
	case ZPCI_IO_OP_PCILG:
		cc = zpci_io_pcilg(val, req, op->offset, status);
		break;
	case ZPCI_IO_OP_PCISTG:
		cc = zpci_io_pcistg(*val, req, op->offset, status);
		break;
	default:
		cc = zpci_io_pcistb(src, req, op->offset, status);
		break;
	}
	/* the code without the PER and transaction bits */
	*pgm = cc == ZPCI_IO_INSN_EXCEPTION ? get_lowcore()->pgm_code & 0x7f : 0;
	local_irq_restore(flags);
	return cc;
}

/*
 * Issue one instruction with the function's current handle, read again
 * for every busy retry: recovery and re-enable replace zdev->fh, and a
 * handle read once would turn a recovery during the retries into a false
 * "invalid handle".  A stale or disabled handle only makes the instruction
 * end with cc 3 (or cc 1, "not enabled"), which is reported.
 * zdev->state_lock must not be taken here: the platform's hot-unplug path
 * holds it while it removes the PCI device, and our remove waits for user
 * space to close the vfio device, which the caller of this batch can only
 * do once the batch returns.  vfio's memory_lock keeps resets and
 * memory-disable out during the op, as for vfio-pci's own BAR access.
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
		res->decode_off = true;
		res->err = -EIO;
		return;
	}
	do {
		req = zpci_io_req(READ_ONCE(zdev->fh), op->pcias, op->len);
		res->cc = zpci_io_insn(op, req, src, val, &res->status,
				       &res->pgm);
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
			   struct zpci_io_work *w, u32 i,
			   struct zpci_io_result *res)
{
	const struct zpci_io_op *op = &w->ops[i];
	struct zpci_io_pin *pin = &w->pins[i];
	const void *src = NULL;
	u64 val = 0;

	res->cc = ZPCI_IO_NOT_ISSUED;
	res->status = 0;
	res->pgm = 0;
	res->decode_off = false;
	res->err = 0;

	if (op->insn == ZPCI_IO_OP_PCISTG) {
		zpci_io_pin_copy(pin, (u8 *)&val + 8 - op->len, op->len, false);
	} else if (op->insn == ZPCI_IO_OP_PCISTB) {
		src = zpci_io_block_src(w, pin, op->len);
		if (!src) {
			res->err = -ENOMEM;
			return;
		}
	}

	zpci_io_issue(zio, op, src, &val, res);

	if (!res->err && op->insn == ZPCI_IO_OP_PCILG)
		zpci_io_pin_copy(pin, (u8 *)&val + 8 - op->len, op->len, true);
}

/*
 * The s390dbf trace of failed instructions (zpci_io/sprintf), one area
 * for all functions: each function may write ZPCI_IO_DBF_BURST records
 * per ZPCI_IO_DBF_INTERVAL, so that a tenant whose instructions fail in a
 * loop cannot flush the other tenants' records out of the area.  The
 * next record a function writes tells how many of its own were dropped.
 */
static void zpci_io_trace(struct zpci_io_device *zio, u32 fid,
			  const struct zpci_io_op *op,
			  const struct zpci_io_result *res)
{
	if (!zpci_io_dbf)
		return;
	if (!__ratelimit(&zio->dbf_rs)) {
		atomic_inc(&zio->dbf_dropped);
		return;
	}
	debug_sprintf_event(zpci_io_dbf, 3,
			    "fid %lx insn %lu as %lu off %lx len %lu cc %ld st %lu pgm %lx dec %lu drop %lu\n",
			    (unsigned long)fid, (unsigned long)op->insn,
			    (unsigned long)op->pcias,
			    (unsigned long)op->offset,
			    (unsigned long)op->len, (long)res->cc,
			    (unsigned long)res->status,
			    (unsigned long)res->pgm,
			    (unsigned long)res->decode_off,
			    (unsigned long)atomic_xchg(&zio->dbf_dropped, 0));
}

static void zpci_io_account_op(struct zpci_io_device *zio, u32 fid,
			       const struct zpci_io_op *op,
			       const struct zpci_io_result *res)
{
	struct zpci_io_stats *s = &zio->stats;

	if (res->cc >= 0) {
		zpci_io_count(s->by_cc, ZPCI_IO_NR_CC, res->cc);
		if (res->cc == ZPCI_CC_ERROR)
			zpci_io_count(s->by_status, ZPCI_IO_NR_STATUS,
				      res->status);
	}
	if (!res->err) {
		atomic64_inc(&s->ops[op->insn - 1]);
		atomic64_add(op->len, &s->bytes[op->insn - 1]);
		return;
	}
	if (res->cc != ZPCI_IO_NOT_ISSUED || res->decode_off)
		zpci_io_trace(zio, fid, op, res);
}

/* Under the batch lock: the pinned ops, in order. */
static int zpci_io_run(struct zpci_io_device *zio, struct zpci_io_work *w,
		       struct zpci_io_status *st)
{
	struct zpci_io_result res;
	u32 i;
	int err;

	for (i = 0; i < w->nr_pinned; i++) {
		const struct zpci_io_op *op = &w->ops[i];

		/*
		 * Removal started (zpci_io_request()): stop before the next
		 * op, st->done tells how many ran.
		 */
		if (zpci_io_gone(zio)) {
			st->failed = i;
			return -ENODEV;
		}
		/* PCI error recovery (zpci_io_error_detected()): stop */
		err = zpci_io_func_error(zio);
		if (err) {
			st->failed = i;
			st->flags |= ZPCI_IO_STATUS_FUNC_ERROR;
			return err;
		}
		if (fatal_signal_pending(current)) {
			st->failed = i;
			return -EINTR;
		}
		/* up to 256 ops of up to 128 busy retries each */
		if (i)
			cond_resched();
		zpci_io_run_op(zio, w, i, &res);
		if (res.cc != ZPCI_IO_NOT_ISSUED)
			w->issued++;
		zpci_io_account_op(zio, w->f.fid, op, &res);
		if (res.err) {
			st->failed = i;
			if (res.cc >= 0) {
				st->flags |= ZPCI_IO_STATUS_CC_VALID;
				st->cc = res.cc;
				st->status = res.status;
			} else if (res.cc == ZPCI_IO_INSN_EXCEPTION) {
				st->flags |= ZPCI_IO_STATUS_PGM;
				st->pgm = res.pgm;
			}
			if (res.decode_off)
				st->flags |= ZPCI_IO_STATUS_DECODE_OFF;
			if (zpci_io_func_error(zio))
				st->flags |= ZPCI_IO_STATUS_FUNC_ERROR;
			return res.err;
		}
		st->done = i + 1;
	}
	/* the ops before an unpinnable buffer ran; its op fails */
	if (w->pin_err) {
		st->failed = w->nr_pinned;
		return w->pin_err;
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

/*
 * Ops [i, j) are pinned: their pages, from start, are the nr pages at
 * w->pages[w->nr_pages]; record the run and point each op's pin at its
 * one or two pages.
 */
static void zpci_io_add_run(struct zpci_io_device *zio, struct zpci_io_work *w,
			    u32 i, u32 j, unsigned long start, u32 nr)
{
	struct zpci_io_run *run = &w->runs[w->nr_runs++];
	struct page **pages = w->pages + w->nr_pages;

	run->first = w->nr_pages;
	run->npages = nr;
	run->nr_ops = j - i;
	for (; i < j; i++) {
		const struct zpci_io_op *op = &w->ops[i];
		struct zpci_io_pin *pin = &w->pins[i];
		unsigned long first = zpci_io_first_page(op->addr);
		u32 k = (first - start) / PAGE_SIZE;

		pin->offset = op->addr & ~PAGE_MASK;
		pin->dirty = false;
		pin->pages[0] = pages[k];
		pin->npages = 1;
		if (zpci_io_last_page(op->addr, op->len) != first) {
			pin->pages[1] = pages[k + 1];
			pin->npages = 2;
		}
	}
	w->nr_pages += nr;
	w->nr_pinned = j;
	atomic64_add(nr, &zio->stats.pinned_pages);
	atomic64_add(nr, &zio->stats.pins_held);
}

/*
 * Pins the buffers of ops [i, j), which cover the pages start..last: with
 * one call, or, when that fails, op by op, so that the ops before the
 * first buffer that cannot be pinned are pinned and its own error is the
 * one reported.  Returns 0 or that error, w->nr_pinned being its op.
 */
static int zpci_io_pin_ops(struct zpci_io_device *zio, struct zpci_io_work *w,
			   u32 i, u32 j, unsigned long start,
			   unsigned long last, bool write)
{
	u32 nr = (last - start) / PAGE_SIZE + 1;
	int err;

	if (j - i > 1 &&
	    !zpci_io_pin_pages(start, nr, write, w->pages + w->nr_pages)) {
		zpci_io_add_run(zio, w, i, j, start, nr);
		return 0;
	}
	for (; i < j; i++) {
		const struct zpci_io_op *op = &w->ops[i];

		start = zpci_io_first_page(op->addr);
		nr = (zpci_io_last_page(op->addr, op->len) - start) /
		     PAGE_SIZE + 1;
		err = zpci_io_pin_pages(start, nr, write,
					w->pages + w->nr_pages);
		if (err)
			return err;
		zpci_io_add_run(zio, w, i, i + 1, start, nr);
	}
	return 0;
}

/*
 * Without the batch lock: copy and check the ops, then pin their buffers
 * in order, a run of consecutive ops together when each buffer starts in
 * the page the run ends in or right where the previous buffer ends (so
 * the run's pages are contiguous, at most two per op: w->pages is large
 * enough).  Buffers that merely adjoin, maybe in another mapping, are
 * pinned apart: while the pin of one waits (userfaultfd), the pins of the
 * ops before it are held and counted.  A buffer that cannot be pinned
 * ends the pinning; the ops before it still run (the ABI's "first failing
 * op stops the batch"), unless the process is being killed.
 */
static int zpci_io_prepare(struct zpci_io_device *zio,
			   const struct zpci_io_batch *b,
			   const char __user *buf, struct zpci_io_work *w,
			   struct zpci_io_status *st)
{
	size_t ops_len = (size_t)b->nr_ops * sizeof(*w->ops);
	size_t pins_len = (size_t)b->nr_ops * sizeof(*w->pins);
	size_t pages_len = (size_t)b->nr_ops * 2 * sizeof(*w->pages);
	size_t runs_len = (size_t)b->nr_ops * sizeof(*w->runs);
	u32 i, j;
	int err;

	/* a block of at most maxstbl bytes spans at most two pages */
	BUILD_BUG_ON(ZPCI_MAXSTBL_LIMIT > PAGE_SIZE);
	/* the function is going away: refuse before looking at the batch */
	if (zpci_io_gone(zio))
		return -ENODEV;

	w->nr_ops = b->nr_ops;
	/* nr_ops <= ZPCI_IO_MAX_OPS: no overflow; every part 8-aligned */
	w->ops = kvmalloc(ops_len + pins_len + pages_len + runs_len,
			  GFP_KERNEL_ACCOUNT);
	if (!w->ops)
		return -ENOMEM;
	w->pins = (struct zpci_io_pin *)(w->ops + b->nr_ops);
	w->pages = (struct page **)(w->pins + b->nr_ops);
	w->runs = (struct zpci_io_run *)(w->pages + 2 * b->nr_ops);
	if (copy_from_user(w->ops, buf + sizeof(*b), ops_len))
		return -EFAULT;
	zpci_io_func_snapshot(zio, &w->f);
	err = zpci_io_validate_ops(w, st);
	if (err)
		return err;

	for (i = 0; i < w->nr_ops; i = j) {
		bool write = w->ops[i].insn == ZPCI_IO_OP_PCILG;
		unsigned long start = zpci_io_first_page(w->ops[i].addr);
		unsigned long last = zpci_io_last_page(w->ops[i].addr,
						       w->ops[i].len);

		for (j = i + 1; j < w->nr_ops; j++) {
			const struct zpci_io_op *op = &w->ops[j];
			const struct zpci_io_op *prev = op - 1;
			unsigned long first = zpci_io_first_page(op->addr);
			bool load = op->insn == ZPCI_IO_OP_PCILG;

			if (load != write ||
			    (first != last && op->addr != prev->addr + prev->len))
				break;
			last = zpci_io_last_page(op->addr, op->len);
		}
		err = zpci_io_pin_ops(zio, w, i, j, start, last, write);
		if (err == -EINTR) {
			st->failed = w->nr_pinned;
			return err;
		}
		if (err) {
			w->pin_err = err;
			break;
		}
	}

	/*
	 * The bounce buffer of a block across two pages that are not
	 * adjacent: allocated here, without the batch lock, so that a
	 * reclaim stalls this caller only, not every batch of the function.
	 */
	for (i = 0; i < w->nr_pinned; i++) {
		if (w->ops[i].insn != ZPCI_IO_OP_PCISTB ||
		    zpci_io_pin_contiguous(&w->pins[i]))
			continue;
		w->bounce = kmalloc(ZPCI_MAXSTBL_LIMIT, GFP_KERNEL_ACCOUNT);
		if (!w->bounce) {
			st->failed = i;
			return -ENOMEM;
		}
		break;
	}
	return 0;
}

/* Unpins every run, dirty when an op of the run wrote into its pages. */
static void zpci_io_release_work(struct zpci_io_device *zio,
				 struct zpci_io_work *w)
{
	const struct zpci_io_pin *pin = w->pins;
	u32 r, k;

	for (r = 0; r < w->nr_runs; r++) {
		const struct zpci_io_run *run = &w->runs[r];
		bool dirty = false;

		for (k = 0; k < run->nr_ops; k++, pin++)
			dirty |= pin->dirty;
		if (dirty)
			unpin_user_pages_dirty_lock(w->pages + run->first,
						    run->npages, true);
		else
			unpin_user_pages(w->pages + run->first, run->npages);
		atomic64_sub(run->npages, &zio->stats.pins_held);
	}
	kfree(w->bounce);
	kvfree(w->ops);
}

/*
 * One pwrite() at ZPCI_IO_REQ_OFFSET: the batch header, then its ops.
 * Returns count when every op ran, else -errno.  The status block is
 * written in both cases when the header could be read and names one; it
 * is cleared (so known to be writable) before anything is issued, and
 * written with copy_to_user() at the end: pinning it cost more than the
 * whole status write.  If user space unmaps it meanwhile, the final
 * write is lost and the return value alone tells the outcome.
 */
ssize_t zpci_io_submit(struct zpci_io_device *zio, const char __user *buf,
		       size_t count)
{
	struct zpci_io_status st = { .argsz = sizeof(st) };
	struct zpci_io_work w = { };
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
	} else {
		err = zpci_io_check_header(&b, count);
	}

	/*
	 * Never write more than the caller said its status block holds: an
	 * older library knows a shorter struct.  A size below the minimum
	 * is refused with the header, and gets no status at all.
	 */
	st_len = 0;
	if (b.status_addr && b.status_size >= ZPCI_IO_STATUS_MIN_SIZE)
		st_len = min_t(size_t, b.status_size, sizeof(st));
	if (!err && st_len &&
	    clear_user(u64_to_user_ptr(b.status_addr), st_len)) {
		/* a status that cannot be written: refuse, issue nothing */
		st_len = 0;
		err = fatal_signal_pending(current) ? -EINTR : -EFAULT;
	}
	if (!err)
		err = zpci_io_prepare(zio, &b, buf, &w, &st);
	if (!err) {
		if (mutex_lock_killable(&zio->lock)) {
			err = -EINTR;
		} else {
			err = zpci_io_run(zio, &w, &st);
			mutex_unlock(&zio->lock);
		}
	}
	zpci_io_release_work(zio, &w);

	st.error = err;
	if (!err)
		st.failed = 0;
	if (err && !w.issued)
		st.flags |= ZPCI_IO_STATUS_REJECTED;
	st.argsz = st_len;
	/* a failed write: the errno says what happened already */
	if (st_len &&
	    copy_to_user(u64_to_user_ptr(b.status_addr), &st, st_len))
		st_len = 0;
	if (err) {
		atomic64_inc(&zio->stats.errors);
		zpci_io_count(zio->stats.by_errno, ZPCI_IO_NR_ERRNO, -err);
	}
	return err ? err : count;
}

/*
 * vfio-pci's standard BAR regions of a relaxed-alignment (ISM) function,
 * served with function-handle instructions.  vfio-pci-core reads and
 * writes a BAR through ioread/iowrite, which on s390 become MIO
 * instructions whenever the machine has MIO; ISM has no MIO support, and
 * its DMB space refuses PCISTG altogether.  So for such a function a BAR
 * read is split into PCILG of 8, 4, 2 or 1 naturally aligned bytes, and a
 * write into PCISTB of at most maxstbl bytes that never cross 4 KiB (any
 * length and alignment is fine for a relaxed function), each from a kernel
 * copy of the caller's bytes.  Returns the bytes moved, or -errno when
 * not even the first piece was.
 */
ssize_t zpci_io_bar_rw(struct zpci_io_device *zio, const struct zpci_io_func *f,
		       unsigned int bar, char __user *buf, size_t count,
		       u64 pos, bool iswrite)
{
	struct zpci_io_result res;
	struct zpci_io_op op;
	size_t done = 0, n;
	u8 *kbuf;
	u64 val;
	int err = 0;

	if (bar >= ZPCI_NUM_BARS || !(f->caps.bar_mask & BIT(bar)) ||
	    pos >= f->caps.bar_size[bar])
		return -EINVAL;
	/* a function without PCISTB (maxstbl 0) has no writable BAR here */
	if (iswrite && !f->caps.maxstbl)
		return -EINVAL;
	count = min_t(u64, count, f->caps.bar_size[bar] - pos);
	kbuf = kmalloc(ZPCI_MAXSTBL_LIMIT, GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;

	/*
	 * A read of a large BAR is millions of loads: stop between two
	 * pieces when the caller is being killed or the function is being
	 * removed (zpci_io_request()), as a batch stops between its ops.
	 */
	while (done < count) {
		if (zpci_io_gone(zio)) {
			err = -ENODEV;
			break;
		}
		err = zpci_io_func_error(zio);
		if (err)
			break;
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		memset(&op, 0, sizeof(op));
		op.pcias = bar;
		op.offset = pos + done;
		val = 0;
		if (iswrite) {
			n = min_t(size_t, count - done, f->caps.maxstbl);
			n = min_t(size_t, n, ZPCI_BLOCK_BOUNDARY -
				  (op.offset & (ZPCI_BLOCK_BOUNDARY - 1)));
			if (copy_from_user(kbuf, buf + done, n)) {
				err = -EFAULT;
				break;
			}
			op.insn = ZPCI_IO_OP_PCISTB;
		} else {
			n = 8;
			while (n > 1 && ((op.offset & (n - 1)) || n > count - done))
				n >>= 1;
			op.insn = ZPCI_IO_OP_PCILG;
		}
		op.len = n;
		res.cc = ZPCI_IO_NOT_ISSUED;
		res.status = 0;
		res.pgm = 0;
		res.decode_off = false;
		zpci_io_issue(zio, &op, kbuf, &val, &res);
		zpci_io_account_op(zio, f->fid, &op, &res);
		if (res.err) {
			err = res.err;
			break;
		}
		if (!iswrite &&
		    copy_to_user(buf + done, (u8 *)&val + 8 - n, n)) {
			err = -EFAULT;
			break;
		}
		done += n;
		cond_resched();
	}
	kfree(kbuf);
	return done ? done : err;
}
