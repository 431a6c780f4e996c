// SPDX-License-Identifier: GPL-2.0
/*
 * zpci_io: validating and running one request of the zPCI I/O feature.
 *
 * Why this path exists: without the MIO facility (and ISM never has it) a
 * zPCI BAR is only reachable through PCILG, PCISTG and PCISTB naming the
 * function handle.  vfio-pci's BAR read/write turns every access into
 * stores of at most 8 bytes, and QEMU's intercept splits a guest PCISTB the
 * same way; ISM's DMB space accepts PCISTB only, so it cannot work like
 * that at all, and everything else pays one syscall per 8 bytes.  Here the
 * caller's instruction is re-issued as it is.
 *
 * A request is one self-contained buffer (header, ops, data; no pointers),
 * copied into kernel memory once, before anything is checked: the driver
 * then reads nothing more from user space, so nothing the caller (or the
 * driver itself) writes there later can change what is issued, and no user
 * page is ever pinned.  The copy is page-aligned (or lies inside one page),
 * so a PCISTB whose bytes do not cross 4 KiB of the request (the ABI's
 * rule) does not cross a page of the copy, and the instruction reads its
 * block straight from there.  A request of up to ZPCI_IO_SPARE_SIZE bytes
 * (one op of up to 4 KiB) goes into the function's small buffer, so the
 * single-instruction path allocates nothing; a larger one into its large
 * buffer, allocated (vmalloc) by the first large request and kept until
 * the device is closed, so that a stream of large batches does not pay a
 * vmalloc() and vfree() of up to 2 MiB each (measured: more instructions
 * than the 256 ops of such a batch, docs/ARCHITECTURE.md).  A request
 * that finds its buffer in use by another gets one of its own.
 *
 * Locking: the copy, which may wait on user space (a userfaultfd, FUSE or
 * NFS mapping) for as long as user space likes, happens before any lock;
 * then the ops run under the core's memory_lock (read), taken once per
 * request, as vfio-pci holds it for its own BAR accesses: resets and
 * memory-decode changes wait for the request, nothing else does.  The
 * results are written back after memory_lock is dropped.
 */
#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <zpci/zpci_cost.h>
#include <asm/pci.h>

#include "zpci_io.h"
#include "zpci_io_insn.h"

/* Outcome of one op. */
struct zpci_io_result {
	int err;		/* 0 or -errno */
	int cc;			/* 0..3, -ENXIO (exception), or not issued */
	u8 status;
	u8 pgm;
	bool decode_off;
};

#define ZPCI_IO_NOT_ISSUED	(-1)

/* Where a request's copy lives. */
enum zpci_io_buf {
	ZPCI_IO_BUF_SPARE,		/* the function's small buffer */
	ZPCI_IO_BUF_BIG,		/* its large one, parked again after */
	ZPCI_IO_BUF_OWN,		/* allocated for this request only */
};

/* One request on its way: the driver's copy and what it was checked against. */
struct zpci_io_work {
	struct zpci_io_func f;		/* the description, a snapshot */
	u8 *buf;			/* the copy: argsz bytes */
	enum zpci_io_buf kind;
	u32 argsz;
	u32 hdr_size;
	u32 op_size;
	u32 nr_ops;
	u32 data_start;			/* end of the ops */
	u32 maxstbl;			/* the function's, for PCISTB */
	u32 issued;			/* instructions issued */
	u32 done;			/* ops completed */
	u32 loads;			/* PCILG among them: values to return */
};

static void zpci_io_count(atomic64_t *slots, unsigned int nr, unsigned int key)
{
	atomic64_inc(&slots[min(key, nr - 1)]);
}

/* Where op i's data field lies in the request (and in the copy). */
static u32 zpci_io_data_pos(const struct zpci_io_work *w, u32 i)
{
	return w->hdr_size + i * w->op_size + offsetof(struct zpci_io_op, data);
}

/*
 * The op whose bytes start at p in the copy.  An op of at least this
 * driver's size is used in place; a shorter (older caller's) one is read
 * zero-extended into *tmp, and of a longer one the known part
 * (zpci_io_check_op() made sure the rest is 0).
 */
static __always_inline const struct zpci_io_op *
zpci_io_op_norm(const u8 *p, u32 op_size, struct zpci_io_op *tmp)
{
	if (likely(op_size >= sizeof(*tmp)))
		return (const struct zpci_io_op *)p;
	memset(tmp, 0, sizeof(*tmp));
	memcpy(tmp, p, op_size);
	return tmp;
}

static __always_inline const struct zpci_io_op *
zpci_io_op_at(const struct zpci_io_work *w, u32 i, struct zpci_io_op *tmp)
{
	return zpci_io_op_norm(w->buf + w->hdr_size + (size_t)i * w->op_size,
			       w->op_size, tmp);
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
 * The bytes of a PCISTB longer than ZPCI_IO_INLINE_MAX: inside the data
 * area, and not across a 4 KiB boundary of the request.  The rules bound
 * len by maxstbl <= 4096 before this is asked.
 */
static bool zpci_io_data_ok(const struct zpci_io_work *w,
			    const struct zpci_io_op *op)
{
	return op->data >= w->data_start && op->data <= w->argsz &&
	       op->len <= w->argsz - op->data &&
	       (op->data & (ZPCI_BLOCK_BOUNDARY - 1)) + op->len <=
	       ZPCI_BLOCK_BOUNDARY;
}

/*
 * One op (its bytes at raw, its data field at pos in the request), in the
 * order the ABI header gives: the instruction rules first, exactly as
 * zpci_check() decides them (its rule is reported; the source address is
 * where the op's bytes are in the request), then the op's reserved fields
 * and data, then the driver's own policy.
 */
static __always_inline int zpci_io_check_op(const struct zpci_io_work *w,
					    const struct zpci_io_op *op,
					    const u8 *raw, u32 pos, u32 *rule)
{
	bool inline_data = op->len <= ZPCI_IO_INLINE_MAX;
	struct zpci_verdict v;

	v = zpci_check(&w->f.caps, op->insn, op->pcias, op->offset, op->len,
		       inline_data ? pos : op->data);
	if (zpci_verdict_ok(v) && op->insn == ZPCI_IO_OP_PCISTB &&
	    op->len > w->maxstbl)
		v.rule = ZPCI_RULE_LEN_RANGE;
	if (unlikely(!zpci_verdict_ok(v))) {
		*rule = v.rule;
		return -EINVAL;
	}
	if (unlikely(op->flags || op->reserved))
		return -EINVAL;
	if (unlikely(w->op_size > sizeof(*op)) &&
	    memchr_inv(raw + sizeof(*op), 0, w->op_size - sizeof(*op)))
		return -EINVAL;
	if (!inline_data && unlikely(!zpci_io_data_ok(w, op)))
		return -EINVAL;
	if (unlikely(zpci_io_policy_denies(&w->f, op)))
		return -EACCES;
	return 0;
}

/*
 * Whole-request validation of the ops; nothing has been issued yet.
 *
 * The rules take a maxstbl below 16 for invalid capabilities and refuse
 * every op, but only PCISTB depends on it: a function with a smaller
 * maxstbl (or none) still takes 1..8-byte PCILG and PCISTG.  So the ops
 * are checked against the smallest maxstbl the rules accept, and PCISTB
 * is bounded by the function's own (w->maxstbl).
 */
static int zpci_io_validate_ops(struct zpci_io_work *w,
				struct zpci_io_status *st)
{
	const u8 *raw = w->buf + w->hdr_size;
	u32 pos = w->hdr_size + offsetof(struct zpci_io_op, data);
	struct zpci_io_op tmp;
	u32 i;
	int err;

	w->maxstbl = w->f.caps.maxstbl;
	if (w->f.caps.maxstbl < ZPCI_IO_RULES_MIN_MAXSTBL)
		w->f.caps.maxstbl = ZPCI_IO_RULES_MIN_MAXSTBL;
	for (i = 0; i < w->nr_ops; i++, raw += w->op_size, pos += w->op_size) {
		err = zpci_io_check_op(w, zpci_io_op_norm(raw, w->op_size, &tmp),
				       raw, pos, &st->rule);
		if (unlikely(err)) {
			st->failed = i;
			return err;
		}
	}
	return 0;
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
static __always_inline int zpci_io_insn(const struct zpci_io_op *op, u64 req,
					const void *src, u64 *val, u8 *status,
					u8 *pgm)
{
	unsigned long flags;
	int cc;

	local_irq_save(flags);
	switch (op->insn) {
	case ZPCI_IO_OP_PCILG:
		cc = __pcilg(val, req, op->offset, status);
		break;
	case ZPCI_IO_OP_PCISTG:
		cc = __pcistg(*val, req, op->offset, status);
		break;
	default:
		cc = __pcistb(src, req, op->offset, status);
		break;
	}
	/* the code without the PER and transaction bits */
	*pgm = cc == -ENXIO ? get_lowcore()->pgm_code & 0x7f : 0;
	local_irq_restore(flags);
	return cc;
}

/*
 * Issue one instruction with the function's current handle, read again
 * for every busy retry (pci_insn.c's __zpci_load() and friends retry
 * without bound; here the retries are bounded and the cc and status byte
 * reported): recovery and re-enable replace zdev->fh, and a handle read
 * once would turn a recovery during the retries into a false "invalid
 * handle".  A stale or disabled handle only makes the instruction end
 * with cc 3 (or cc 1, "not enabled"), which is reported.
 * zdev->state_lock must not be taken here: the platform's hot-unplug path
 * holds it while it removes the PCI device, and our remove waits for user
 * space to close the vfio device, which the caller of this request can
 * only do once the request returns.  The caller holds vfio's memory_lock
 * (read) and has found memory decode on, as for vfio-pci's own BAR access.
 */
static __always_inline void
zpci_io_issue(struct zpci_io_device *zio, const struct zpci_io_op *op,
	      const void *src, u64 *val, struct zpci_io_result *res)
{
	struct zpci_dev *zdev = to_zpci(zio->core.pdev);
	unsigned int tries = 0;
	u64 req;

	lockdep_assert_held_read(&zio->core.memory_lock);
	do {
		req = zpci_io_req(READ_ONCE(zdev->fh), op->pcias, op->len);
		res->cc = zpci_io_insn(op, req, src, val, &res->status,
				       &res->pgm);
		if (res->cc != ZPCI_CC_BUSY)
			break;
		udelay(1);
	} while (++tries < ZPCI_IO_BUSY_RETRIES);

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

static void zpci_io_result_init(struct zpci_io_result *res)
{
	res->cc = ZPCI_IO_NOT_ISSUED;
	res->status = 0;
	res->pgm = 0;
	res->decode_off = false;
	res->err = 0;
}

/*
 * The s390dbf trace of failed instructions (zpci_io/sprintf), one area
 * for all functions: each function may write ZPCI_IO_DBF_BURST records
 * per ZPCI_IO_DBF_INTERVAL, so that a tenant whose instructions fail in a
 * loop cannot flush the other tenants' records out of the area.  The
 * next record a function writes tells how many of its own were dropped.
 * A program exception is "cc -1", as before the helpers' -ENXIO.
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
			    (unsigned long)op->len,
			    (long)(res->cc == -ENXIO ? -1 : res->cc),
			    (unsigned long)res->status,
			    (unsigned long)res->pgm,
			    (unsigned long)res->decode_off,
			    (unsigned long)atomic_xchg(&zio->dbf_dropped, 0));
}

/*
 * A failed op: its cc and status byte in the counters, and a trace record
 * when it was issued (or not, for memory decode off).
 */
static void zpci_io_account_failure(struct zpci_io_device *zio, u32 fid,
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
	if (res->cc != ZPCI_IO_NOT_ISSUED || res->decode_off)
		zpci_io_trace(zio, fid, op, res);
}

/*
 * The counters of the ops that succeeded, added once per request (or
 * piece of a BAR access): for a batch of 256, a few atomics instead of 768.
 * An op that succeeded ended with cc 0 and nothing else does, so the
 * cc 0 slot of by_cc is not counted here but reported as the sum of ops
 * (zpci_io_nl.c): one atomic less per request, the same figure.
 */
struct zpci_io_tally {
	u64 ops[3];		/* by insn - 1 */
	u64 bytes[3];
};

static void zpci_io_tally_add(struct zpci_io_tally *t, const struct zpci_io_op *op)
{
	t->ops[op->insn - 1]++;
	t->bytes[op->insn - 1] += op->len;
}

static void zpci_io_tally_flush(struct zpci_io_device *zio,
				const struct zpci_io_tally *t)
{
	struct zpci_io_stats *s = &zio->stats;
	int k;

	for (k = 0; k < 3; k++) {
		if (!t->ops[k])
			continue;
		atomic64_add(t->ops[k], &s->ops[k]);
		atomic64_add(t->bytes[k], &s->bytes[k]);
	}
}

/* The failed op's outcome in the status block. */
static void zpci_io_fail_status(struct zpci_io_status *st, u32 i,
				const struct zpci_io_result *res)
{
	st->failed = i;
	if (res->cc >= 0) {
		st->flags |= ZPCI_IO_STATUS_CC_VALID;
		st->cc = res->cc;
		st->status = res->status;
	} else if (res->cc == -ENXIO) {
		st->flags |= ZPCI_IO_STATUS_PGM;
		st->pgm = res->pgm;
	}
	if (res->decode_off)
		st->flags |= ZPCI_IO_STATUS_DECODE_OFF;
}

/* Memory decode off (or D3): refuse the request at its first op. */
static int zpci_io_decode_off(struct zpci_io_device *zio,
			      const struct zpci_io_work *w,
			      struct zpci_io_status *st)
{
	struct zpci_io_result res;
	struct zpci_io_op tmp;

	zpci_io_result_init(&res);
	res.decode_off = true;
	res.err = -EIO;
	zpci_io_account_failure(zio, w->f.fid, zpci_io_op_at(w, 0, &tmp), &res);
	zpci_io_fail_status(st, 0, &res);
	return res.err;
}

/*
 * Before op i: stop when removal started (zpci_io_request()), when the
 * function is in PCI error recovery (zpci_io_error_detected()) or when
 * the caller is being killed; st->done tells how many ran.
 */
static __always_inline int zpci_io_may_issue(struct zpci_io_device *zio,
					     struct zpci_io_status *st, u32 i)
{
	int err;

	if (unlikely(zpci_io_gone(zio))) {
		st->failed = i;
		return -ENODEV;
	}
	err = zpci_io_func_error(zio);
	if (unlikely(err)) {
		st->failed = i;
		st->flags |= ZPCI_IO_STATUS_FUNC_ERROR;
		return err;
	}
	if (unlikely(fatal_signal_pending(current))) {
		st->failed = i;
		return -EINTR;
	}
	return 0;
}

/* Op i failed: its counters, trace and status; returns its errno. */
static int zpci_io_op_failed(struct zpci_io_device *zio,
			     const struct zpci_io_work *w,
			     const struct zpci_io_op *op,
			     struct zpci_io_status *st, u32 i,
			     const struct zpci_io_result *res)
{
	zpci_io_account_failure(zio, w->f.fid, op, res);
	zpci_io_fail_status(st, i, res);
	/* an op that failed on the error itself (cc 1) */
	if (zpci_io_func_error(zio))
		st->flags |= ZPCI_IO_STATUS_FUNC_ERROR;
	return res->err;
}

/* Where a PCISTB's bytes are: the data field (short), else the copy. */
static __always_inline const void *
zpci_io_src(const struct zpci_io_work *w, const struct zpci_io_op *op)
{
	if (op->insn != ZPCI_IO_OP_PCISTB)
		return NULL;
	return op->len <= ZPCI_IO_INLINE_MAX ?
	       (const u8 *)&op->data + 8 - op->len : w->buf + op->data;
}

/* A PCILG's len bytes, zeros above them, into the op's data field. */
static __always_inline void zpci_io_store_load(u8 *raw, u32 len, u64 val)
{
	if (len < sizeof(val))
		val &= BIT_ULL(8 * len) - 1;
	memcpy(raw + offsetof(struct zpci_io_op, data), &val, sizeof(val));
}

/*
 * The ops of the copy, in order, under memory_lock.  A PCISTG's value and
 * a short PCISTB's bytes are the op's data field; a longer PCISTB reads
 * its block where it lies in the copy; a PCILG's value goes into the
 * copy's data field of the op, from where zpci_io_write_back() returns it.
 */
static int zpci_io_run(struct zpci_io_device *zio, struct zpci_io_work *w,
		       struct zpci_io_status *st)
{
	struct vfio_pci_core_device *core = &zio->core;
	const u32 nr_ops = w->nr_ops, op_size = w->op_size;
	u8 *raw = w->buf + w->hdr_size;
	struct zpci_io_tally tally = { };
	u32 i, issued = 0, loads = 0;
	struct zpci_io_result res;
	struct zpci_io_op tmp;
	int err = 0;

	down_read(&core->memory_lock);
	/* decode and power state cannot change under memory_lock */
	if (unlikely(!zpci_io_memory_enabled(core)))
		err = zpci_io_decode_off(zio, w, st);
	for (i = 0; !err && i < nr_ops; i++, raw += op_size) {
		const struct zpci_io_op *op = zpci_io_op_norm(raw, op_size,
							      &tmp);
		const void *src;
		u64 val = op->data;

		err = zpci_io_may_issue(zio, st, i);
		if (unlikely(err))
			break;
		/* up to 256 ops of up to 128 busy retries each */
		if (i && !(i % 16))
			cond_resched();
		zpci_io_result_init(&res);
		src = zpci_io_src(w, op);
		ZPCI_COST_MARK(ZPCI_COST_KMOD_INSN);
		zpci_io_issue(zio, op, src, &val, &res);
		ZPCI_COST_MARK(ZPCI_COST_KMOD_INSN_DONE);
		issued++;
		if (unlikely(res.err)) {
			err = zpci_io_op_failed(zio, w, op, st, i, &res);
			break;
		}
		zpci_io_tally_add(&tally, op);
		if (op->insn == ZPCI_IO_OP_PCILG) {
			zpci_io_store_load(raw, op->len, val);
			loads++;
		}
	}
	up_read(&core->memory_lock);
	zpci_io_tally_flush(zio, &tally);
	w->issued = issued;
	w->loads = loads;
	w->done = err ? st->failed : i;
	st->done = w->done;
	return err;
}

/*
 * zpci_io_run() for a request of one op, the single-instruction path
 * (QEMU's): the same steps in the same order under memory_lock, without
 * the loop, and its two counters added directly instead of through a
 * tally.  w and st start zeroed (zpci_io_submit()).
 */
static int zpci_io_run_one(struct zpci_io_device *zio, struct zpci_io_work *w,
			   struct zpci_io_status *st)
{
	struct vfio_pci_core_device *core = &zio->core;
	u8 *raw = w->buf + w->hdr_size;
	struct zpci_io_result res;
	const struct zpci_io_op *op;
	struct zpci_io_op tmp;
	unsigned int insn, len;
	const void *src;
	u64 val;
	int err;

	op = zpci_io_op_norm(raw, w->op_size, &tmp);
	insn = op->insn;
	len = op->len;
	val = op->data;
	down_read(&core->memory_lock);
	/* decode and power state cannot change under memory_lock */
	if (unlikely(!zpci_io_memory_enabled(core))) {
		err = zpci_io_decode_off(zio, w, st);
		goto out;
	}
	err = zpci_io_may_issue(zio, st, 0);
	if (unlikely(err))
		goto out;
	zpci_io_result_init(&res);
	src = zpci_io_src(w, op);
	ZPCI_COST_MARK(ZPCI_COST_KMOD_INSN);
	zpci_io_issue(zio, op, src, &val, &res);
	ZPCI_COST_MARK(ZPCI_COST_KMOD_INSN_DONE);
	w->issued = 1;
	if (unlikely(res.err)) {
		err = zpci_io_op_failed(zio, w, op, st, 0, &res);
		goto out;
	}
	if (insn == ZPCI_IO_OP_PCILG) {
		zpci_io_store_load(raw, len, val);
		w->loads = 1;
	}
	w->done = 1;
	st->done = 1;
out:
	up_read(&core->memory_lock);
	if (!err) {
		atomic64_inc(&zio->stats.ops[insn - 1]);
		atomic64_add(len, &zio->stats.bytes[insn - 1]);
	}
	return err;
}

/*
 * Step 7 of the ABI: the value of every PCILG that completed, nothing
 * else.  0, or -EFAULT when the caller's request is not writable.
 */
static int zpci_io_write_back(const struct zpci_io_work *w, u8 __user *arg)
{
	struct zpci_io_op tmp;
	int err = 0;
	u32 i, pos;

	for (i = 0; w->loads && i < w->done; i++) {
		if (zpci_io_op_at(w, i, &tmp)->insn != ZPCI_IO_OP_PCILG)
			continue;
		pos = zpci_io_data_pos(w, i);
		if (copy_to_user(arg + pos, w->buf + pos, sizeof(u64)))
			err = -EFAULT;
	}
	return err;
}

/*
 * The status block of a failed request, in the header.  If the write
 * faults, the errno alone tells what happened: returns -EFAULT then.
 */
static int zpci_io_write_status(const struct zpci_io_work *w, u8 __user *arg,
				struct zpci_io_status *st, int err)
{
	st->error = err;
	if (!w->issued)
		st->flags |= ZPCI_IO_STATUS_REJECTED;
	if (copy_to_user(arg + offsetof(struct zpci_io_req, status), st,
			 sizeof(*st)))
		return -EFAULT;
	return 0;
}

/*
 * Step 3 of the ABI: the header, read zero-extended when the caller's is
 * shorter than this driver's, with every byte beyond this driver's zero
 * when it is longer.
 */
static int zpci_io_check_header(struct zpci_io_work *w)
{
	const struct zpci_io_req *h = (const struct zpci_io_req *)w->buf;
	struct zpci_io_req tmp;
	u32 hs = h->hdr_size;

	if (hs < ZPCI_IO_REQ_MIN_SIZE || hs % 8 || hs > w->argsz)
		return -EINVAL;
	/*
	 * A header of at least this driver's size is read in place (the
	 * copy is page-aligned); a shorter one zero-extended.
	 */
	if (unlikely(hs < sizeof(tmp))) {
		memset(&tmp, 0, sizeof(tmp));
		memcpy(&tmp, h, hs);
		h = &tmp;
	} else if (unlikely(hs > sizeof(tmp)) &&
		   memchr_inv(w->buf + sizeof(tmp), 0, hs - sizeof(tmp))) {
		return -EINVAL;
	}
	if (h->flags || h->reserved0 || h->reserved[0] || h->reserved[1])
		return -EINVAL;
	if (h->total_size != w->argsz || !h->nr_ops ||
	    h->op_size < ZPCI_IO_OP_MIN_SIZE || h->op_size % 8)
		return -EINVAL;
	if (h->nr_ops > ZPCI_IO_MAX_OPS)
		return -E2BIG;
	if ((u64)h->nr_ops * h->op_size > w->argsz - hs)
		return -EINVAL;
	w->hdr_size = hs;
	w->op_size = h->op_size;
	w->nr_ops = h->nr_ops;
	w->data_start = hs + h->nr_ops * h->op_size;
	return 0;
}

/*
 * Step 2: the whole request into kernel memory, once.  The function's
 * small buffer for a small request, its large one for a large request
 * (allocated by the first); one of its own when that buffer is in use.
 * Every one keeps the ABI's promise on alignment: the small buffer is
 * page-aligned, kmalloc() aligns a power-of-two size to itself (a copy up
 * to ZPCI_IO_SPARE_SIZE then lies inside one page, or is page-aligned),
 * and vmalloc() gives whole pages.
 */
static int zpci_io_copy_in(struct zpci_io_device *zio, struct zpci_io_work *w,
			   const void __user *arg, u32 argsz)
{
	bool small = argsz <= ZPCI_IO_SPARE_SIZE;

	w->argsz = argsz;
	w->kind = small ? ZPCI_IO_BUF_SPARE : ZPCI_IO_BUF_BIG;
	w->buf = xchg(small ? &zio->spare : &zio->big, NULL);
	if (!w->buf) {
		if (small) {
			w->buf = kmalloc(roundup_pow_of_two(argsz),
					 GFP_KERNEL_ACCOUNT);
			w->kind = ZPCI_IO_BUF_OWN;
		} else {
			/* parked for the next large request (release) */
			w->buf = __vmalloc(ZPCI_IO_MAX_REQ_SIZE,
					   GFP_KERNEL_ACCOUNT);
		}
		if (!w->buf)
			return -ENOMEM;
		atomic64_inc(&zio->stats.req_allocs);
	}
	if (copy_from_user(w->buf, arg, argsz))
		return -EFAULT;
	atomic64_add(argsz, &zio->stats.req_bytes);
	return 0;
}

static void zpci_io_release_work(struct zpci_io_device *zio,
				 struct zpci_io_work *w)
{
	if (!w->buf)
		return;
	switch (w->kind) {
	case ZPCI_IO_BUF_SPARE:
		WARN_ON_ONCE(cmpxchg(&zio->spare, NULL, w->buf));
		break;
	case ZPCI_IO_BUF_BIG:
		/* another request parked one meanwhile: ours goes */
		if (cmpxchg(&zio->big, NULL, w->buf))
			vfree(w->buf);
		break;
	default:
		kfree(w->buf);
		break;
	}
}

/*
 * One VFIO_DEVICE_FEATURE_SET of ZPCI_IO_FEATURE: arg and argsz are the
 * feature's data (the request).  Returns 0 when every op ran, else -errno;
 * on failure after the request was copied in, the status block in the
 * header tells the rest (zpci_abi.h).  If user space unmapped its request
 * meanwhile, that write is lost and the return value alone tells the
 * outcome.
 */
int zpci_io_submit(struct zpci_io_device *zio, void __user *arg, size_t argsz)
{
	struct zpci_io_status st = { };
	struct zpci_io_work w = { };
	bool copied = false;
	int err, wb;

	ZPCI_COST_MARK(ZPCI_COST_KMOD_ENTRY);
	atomic64_inc(&zio->stats.batches);
	if (argsz < ZPCI_IO_REQ_MIN_SIZE) {
		err = -EINVAL;
	} else if (argsz > ZPCI_IO_MAX_REQ_SIZE) {
		err = -E2BIG;
	} else {
		err = zpci_io_copy_in(zio, &w, arg, argsz);
		copied = !err;
		ZPCI_COST_MARK(ZPCI_COST_KMOD_COPIED);
	}
	if (!err)
		err = zpci_io_check_header(&w);
	/* the function is going away: refuse before looking at the ops */
	if (!err && zpci_io_gone(zio))
		err = -ENODEV;
	if (!err) {
		zpci_io_func_snapshot(zio, &w.f);
		err = zpci_io_validate_ops(&w, &st);
	}
	ZPCI_COST_MARK(ZPCI_COST_KMOD_CHECKED);
	if (!err)
		err = w.nr_ops == 1 ? zpci_io_run_one(zio, &w, &st) :
		      zpci_io_run(zio, &w, &st);
	ZPCI_COST_MARK(ZPCI_COST_KMOD_RAN);

	if (copied) {
		wb = zpci_io_write_back(&w, arg);
		if (!err)
			err = wb;
		else
			zpci_io_write_status(&w, arg, &st, err);
	}
	zpci_io_release_work(zio, &w);
	if (err) {
		atomic64_inc(&zio->stats.errors);
		zpci_io_count(zio->stats.by_errno, ZPCI_IO_NR_ERRNO, -err);
	}
	ZPCI_COST_MARK(ZPCI_COST_KMOD_EXIT);
	return err;
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
 * copy of the caller's bytes (a 4 KiB kmalloc() is page-aligned).  Returns
 * the bytes moved, or -errno when not even the first piece was.
 */
ssize_t zpci_io_bar_rw(struct zpci_io_device *zio, const struct zpci_io_func *f,
		       unsigned int bar, char __user *buf, size_t count,
		       u64 pos, bool iswrite)
{
	struct vfio_pci_core_device *core = &zio->core;
	struct zpci_io_tally tally;
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
	 * removed (zpci_io_request()), as a request stops between its ops.
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
		zpci_io_result_init(&res);
		down_read(&core->memory_lock);
		if (zpci_io_memory_enabled(core)) {
			zpci_io_issue(zio, &op, kbuf, &val, &res);
		} else {
			res.decode_off = true;
			res.err = -EIO;
		}
		up_read(&core->memory_lock);
		if (res.err) {
			zpci_io_account_failure(zio, f->fid, &op, &res);
			err = res.err;
			break;
		}
		memset(&tally, 0, sizeof(tally));
		zpci_io_tally_add(&tally, &op);
		zpci_io_tally_flush(zio, &tally);
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
