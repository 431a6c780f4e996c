// SPDX-License-Identifier: GPL-2.0
/*
 * ze2e: the L2 guest's test module of the nested end-to-end test
 * (tests/e2e). It binds to the ivshmem functions QEMU passed through
 * (1af4:1110), maps the RAM BAR (BAR 2) and writes deterministic patterns
 * through Linux's own zPCI code, the way drivers do: memcpy_toio
 * (zpci_memcpy_toio: PCISTBs of at most 128 bytes, 8-byte and smaller
 * stores where unaligned), writeq/iowrite32 with read-back, and
 * __zpci_store_block in blocks of the function's advertised maxstbl as the
 * ISM driver does. Every write is announced on the console as a manifest
 * line so the host can check every byte of the shm file behind the BAR.
 *
 * Roles come from the module parameter roles="fid:name:mode,..." (name
 * strict|wide|ism|fenced, mode forwarded|stock|fenced: a function bound to
 * zpci_io whose region fences every BAR, which QEMU must not forward).
 * Commands are written to
 * /dev/ze2e by the L2 /init, one per write():
 *   verify <fid>          functional tests, read back in L2
 *   bench <fid> <size>    timed block writes of size bytes
 *   pair <fid> <fid2> <size>  the same for two functions, in turn in
 *                         slices of 100 ms (a forwarded function and its
 *                         stock copy: a change of the host's speed hits
 *                         both alike, so their ratio holds still)
 *   msix <fid>            allocate and free one MSI-X vector
 *   cost <fid> <n>        n PCISTBs of 128 bytes, back to back, cycling
 *                         over 4 KiB at 1 MiB (make cost-e2e: L0 counts
 *                         their instructions hop by hop); then read back
 *   floor <fid> [<n>]     the cost of an intercepted instruction that
 *                         reaches nothing: PCISTBs with the handle's
 *                         enable bit cleared, answered cc 3 by QEMU
 *                         (for 0.5 s, or about n of them: make cost-e2e)
 *   diff <fid> <fid2> <n> <seed>  n random PCISTB/PCISTG/PCILG, each on
 *                         a forwarded function and then its stock copy,
 *                         outcomes compared (issue 17)
 *   wait <fid> <ms>       until the function is plugged (again)
 *   touch <fid> <n>       4 KiB written and read back at 4 MiB + n * 4 KiB
 *                         (the hotplug test's I/O after each cycle)
 *   fault <fid> <kind>    after L1 had the host (L0) inject a fault into
 *                         the function (issue 17 item 4): kind 0 busy
 *                         (cc 2 after the host driver's retries: this
 *                         guest must see cc 2 and get through by
 *                         retrying), 1 a host cc 3 (the guest's handle is
 *                         valid: cc 1 status 8, the function in error, and
 *                         Linux's recovery), 2 a host function error (the
 *                         error state with an error event: Linux's
 *                         recovery); then 4 KiB written and read back
 *   overflow <fid>        PCISTBs of every length 16..4096 (multiples of
 *                         8, up to the page end) onto the MSI-X table and
 *                         onto the PBA: the accesses QEMU keeps on its
 *                         own path, whose buffer holds 128 bytes; and a
 *                         PCILG, PCISTG and PCISTB onto a BAR the
 *                         function does not implement
 * Console lines (prefix "ZE2E: "):
 *   F <fid> <name> <mode> <maxstbl> <pft> <barlen>     a function found
 *   M <fid> <offset> <len> <seed> <pos> <label>        bytes written
 *   R <fid> <test> ok|fail|stock-refused <rc> <insns>  a test's outcome
 *   B <fid> <name> <mode> <size> <reps> <ns> <stores> <loads> <cal>  a
 *     benchmark row: <stores> block stores in the timed loop, <loads> the
 *     PCILGs of the read-back that follows it (both inside one pair of
 *     sync lines), <cal> the ns an empty timed window takes
 *   X <fid> msix ok|fail|none <nvec or rc>              MSI-X set up
 *   N <fid> <insns> <ns>                               the floor
 *   C <fid> <name> <mode> <n> <ns>                     a cost row: n
 *     128-byte PCISTBs in ns (L0 instructions under icount)
 *   O <fid> table|pba <bar> <offset> <lens> <ok> <ok_max> <pgm> <pgm_min>
 *     <other> <first_other_len> <first_other_rc>        an overflow sweep:
 *     how many lengths stored (rc 0, the longest), ended in a program
 *     exception (-ENXIO, the shortest) or anything else
 *   U <fid> <bar> <pcilg rc> <pcistg rc> <pcistb rc>   one of each onto a
 *     BAR the function does not implement
 *   D <fid> <fid2> <i> <insn> <pcias> <offset> <len> <src> <fh_off>
 *     <outcome> <outcome2>                             a differential op
 *     whose outcomes differ without an intended reason (outcome: cc/status,
 *     pgm code or loaded value)
 *   H <fid> <plug> <maxstbl>                         plugged again
 *   Q <fid> <fid2> <ops> <seed> <same> <intended:D1> <intended:D2>
 *     <intended:D4> <intended:D5> <unexplained> <stores_landed>
 *                                                      a differential run
 *   T <fid> <kind> <first cc> <first status> <cc2 answers> <detected>
 *     <resumed> ok|fail                                a fault test
 *   E <fid> <label> <text>                             an error
 * <insns> counts the zPCI instructions the module issued (block stores
 * counted per call, memcpy_toio/fromio by Linux's own split function).
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/miscdevice.h>
#include <linux/ktime.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/vmalloc.h>
#include <linux/delay.h>
#include <linux/irqflags.h>
#include <asm/asm-extable.h>
#include <asm/lowcore.h>
#include <asm/pci.h>
#include <asm/pci_io.h>
#include <asm/pci_insn.h>
#include "ze2e_pattern.h"

#define ZE2E_BAR	2
#define ZE2E_MAXFN	8
#define ZE2E_BUFSZ	(64 * 1024)
#define ZE2E_SIGNAL	BIT_ULL(23)	/* ISM-like: signal flag of a DMB write */
#define ZE2E_BENCH_NS	(1000 * NSEC_PER_MSEC)
#define ZE2E_BENCH_MIN_REPS	4
/* empty timed windows per row, the cheapest of which ze2e_timer_cal() gives */
#define ZE2E_CAL_WINDOWS	64
/* a pair alternates in slices this long: warm caches, the same host time */
#define ZE2E_SLICE_NS	(100 * NSEC_PER_MSEC)

static char *roles = "";
module_param(roles, charp, 0444);
MODULE_PARM_DESC(roles, "fid:name:mode,... (name strict|wide|ism|fenced, mode forwarded|stock|fenced)");

struct ze2e_fn {
	struct pci_dev *pdev;
	void __iomem *bar;
	resource_size_t barlen;
	u32 fid;
	char name[8];
	char mode[12];
	u64 insns;
	unsigned int plugs;	/* times plugged again (hotplug test) */
	atomic_t err_detected;	/* PCI error recovery callbacks seen */
	atomic_t err_resumed;
	/*
	 * Their counts when the last fault test ended: a fault's recovery
	 * may be over before its test command comes (L1 answers the sync
	 * line only after the host injected it)
	 */
	int fault_detected;
	int fault_resumed;
};

static struct ze2e_fn ze2e_fns[ZE2E_MAXFN];
static int ze2e_nfns;
static DEFINE_MUTEX(ze2e_lock);
static u8 *srcbuf, *srcbuf2, *rdbuf;

/* the role of fid in roles ("fid:name:mode,..."), into name and mode */
static bool ze2e_role(u32 fid, char *name, char *mode)
{
	char buf[256], *rest = buf, *ent, *f, *n;
	unsigned int v;

	strscpy(buf, roles, sizeof(buf));
	while ((ent = strsep(&rest, ","))) {
		f = strsep(&ent, ":");
		n = strsep(&ent, ":");
		if (!f || !n || !ent || kstrtouint(f, 10, &v) || v != fid)
			continue;
		strscpy(name, n, 8);
		strscpy(mode, ent, 12);
		return true;
	}
	return false;
}

static struct ze2e_fn *ze2e_find(u32 fid)
{
	int i;

	for (i = 0; i < ze2e_nfns; i++)
		if (ze2e_fns[i].fid == fid)
			return &ze2e_fns[i];
	return NULL;
}

static bool ze2e_relaxed(struct ze2e_fn *f)
{
	return !strcmp(f->name, "ism");
}

static u16 ze2e_maxstbl(struct ze2e_fn *f)
{
	return to_zpci(f->pdev)->maxstbl;
}

static u64 ze2e_req(struct ze2e_fn *f, unsigned int len)
{
	return ZPCI_CREATE_REQ(READ_ONCE(to_zpci(f->pdev)->fh), ZE2E_BAR, len);
}

/* instructions zpci_memcpy_toio/fromio issue, by Linux's own split rule */
static u64 ze2e_split(u64 a, u64 b, unsigned long n, int max)
{
	u64 count = 0;
	int size;

	while (n > 0) {
		size = zpci_get_max_io_size(a, b, n, max);
		a += size;
		b += size;
		n -= size;
		count++;
	}
	return count;
}

static void ze2e_manifest(struct ze2e_fn *f, u64 off, size_t len, u64 seed,
			  u64 pos, const char *label)
{
	pr_info("ZE2E: M %u %llu %zu %llu %llu %s\n", f->fid, off, len, seed,
		pos, label);
}

/* seeds differ per function and test, so a write that lands on the wrong
 * function or area is seen
 */
static u64 ze2e_seed(struct ze2e_fn *f, unsigned int test)
{
	return (u64)f->fid << 16 | test;
}

/*
 * Read [off, off + len) back through PCILG and compare with the pattern.
 * The read covers the enclosing doublewords: zpci_memcpy_fromio issues
 * 8-byte loads, which must not cross a doubleword of the BAR.
 */
static int ze2e_readback(struct ze2e_fn *f, u64 off, size_t len, u64 seed,
			 u64 pos, const char *label)
{
	u64 start = round_down(off, 8), skip = off - start;
	size_t i, alen = round_up(off + len, 8) - start;
	int rc;

	rc = zpci_memcpy_fromio(rdbuf, f->bar + start, alen);
	f->insns += ze2e_split((u64 __force)(f->bar + start), (u64)rdbuf, alen,
			       ZPCI_MAX_READ_SIZE);
	if (rc) {
		pr_err("ZE2E: E %u %s read-back rc %d\n", f->fid, label, rc);
		return rc;
	}
	for (i = 0; i < len; i++) {
		if (rdbuf[skip + i] != ze2e_byte(seed, pos + i)) {
			pr_err("ZE2E: E %u %s read-back differs at +%zu (0x%02x, expected 0x%02x)\n",
			       f->fid, label, i, rdbuf[skip + i], ze2e_byte(seed, pos + i));
			return -EIO;
		}
	}
	return 0;
}

/* memcpy_toio from srcbuf + srcoff (any alignment) to off */
static int ze2e_toio(struct ze2e_fn *f, u64 off, unsigned int srcoff,
		     size_t len, unsigned int test, const char *label)
{
	u64 seed = ze2e_seed(f, test);
	const u8 *src = srcbuf + srcoff;
	int rc;

	ze2e_fill(srcbuf + srcoff, len, seed, off);
	rc = zpci_memcpy_toio(f->bar + off, src, len);
	f->insns += ze2e_split((u64 __force)(f->bar + off), (u64)src, len,
			       ZPCI_MAX_WRITE_SIZE);
	if (rc) {
		pr_err("ZE2E: E %u %s memcpy_toio rc %d\n", f->fid, label, rc);
		return rc;
	}
	ze2e_manifest(f, off, len, seed, off, label);
	return ze2e_readback(f, off, len, seed, off, label);
}

/*
 * Block stores as the ISM driver issues them: chunks of at most the
 * advertised maxstbl that never cross 4 KiB, one __zpci_store_block each.
 * Counts the chunks in *n.
 */
static int ze2e_blocks(struct ze2e_fn *f, u64 off, const u8 *src, size_t len,
		       u64 *n)
{
	unsigned int max = ze2e_maxstbl(f), chunk;
	int rc;

	while (len) {
		chunk = min3((size_t)max, len, (size_t)(PAGE_SIZE - (off & ~PAGE_MASK)));
		rc = __zpci_store_block((const u64 *)src, ze2e_req(f, chunk), off);
		(*n)++;
		if (rc)
			return rc;
		src += chunk;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

static int ze2e_block_test(struct ze2e_fn *f, u64 off, size_t len,
			   unsigned int srcoff, unsigned int test,
			   const char *label)
{
	u64 seed = ze2e_seed(f, test), n = 0;
	int rc;

	ze2e_fill(srcbuf + srcoff, len, seed, off);
	rc = ze2e_blocks(f, off, srcbuf + srcoff, len, &n);
	f->insns += n;
	if (rc) {
		pr_err("ZE2E: E %u %s block store rc %d after %llu blocks\n",
		       f->fid, label, rc, n);
		return rc;
	}
	ze2e_manifest(f, off, len, seed, off, label);
	return ze2e_readback(f, off, len, seed, off, label);
}

/*
 * writeq/readq, iowrite32/ioread32 and iowrite8/ioread8 of step bytes
 * each (8, 4, 1): little-endian on the bus, so the bytes of the pattern
 * arrive in order; every value is read back.
 */
static int ze2e_single_test(struct ze2e_fn *f, u64 off, size_t len,
			    unsigned int test, unsigned int step, const char *label)
{
	u64 seed = ze2e_seed(f, test);
	void __iomem *a;
	u64 v, got;
	size_t i;

	ze2e_fill(srcbuf, len, seed, off);
	for (i = 0; i < len; i += step) {
		a = f->bar + off + i;
		if (step == 8)
			writeq(get_unaligned_le64(srcbuf + i), a);
		else if (step == 4)
			iowrite32(get_unaligned_le32(srcbuf + i), a);
		else
			iowrite8(srcbuf[i], a);
		f->insns++;
	}
	ze2e_manifest(f, off, len, seed, off, label);
	for (i = 0; i < len; i += step) {
		a = f->bar + off + i;
		if (step == 8) {
			v = get_unaligned_le64(srcbuf + i);
			got = readq(a);
		} else if (step == 4) {
			v = get_unaligned_le32(srcbuf + i);
			got = ioread32(a);
		} else {
			v = srcbuf[i];
			got = ioread8(a);
		}
		f->insns++;
		if (got != v) {
			pr_err("ZE2E: E %u %s read +%zu: 0x%llx, expected 0x%llx\n",
			       f->fid, label, i, got, v);
			return -EIO;
		}
	}
	return 0;
}

/*
 * Print a test's outcome and instruction count; 1 if it failed.  Without
 * forwarding an instruction may end in a program exception (-ENXIO from
 * Linux's helpers) where the architecture allows it: stock QEMU refuses
 * an unaligned 2- or 4-byte PCISTG to a vfio BAR with an operand
 * exception.  That is the stock behaviour this test records, reported as
 * "stock-refused"; the host decides which refusals it accepts.
 */
static int ze2e_result(struct ze2e_fn *f, const char *test, int rc)
{
	/* a fenced function takes QEMU's stock path as well */
	bool refused = rc == -ENXIO && strcmp(f->mode, "forwarded");

	pr_info("ZE2E: R %u %s %s %d %llu\n", f->fid, test,
		!rc ? "ok" : refused ? "stock-refused" : "fail", rc, f->insns);
	f->insns = 0;
	return rc && !refused;
}

/* strict and wide: strict alignment, 8-byte multiples for PCISTB */
static int ze2e_verify_strict(struct ze2e_fn *f)
{
	int bad = 0;

	f->insns = 0;
	/* memcpy_toio: 4 KiB aligned (32 PCISTBs of 128 B) */
	bad += ze2e_result(f, "toio-4k", ze2e_toio(f, 0x0, 0, 4096, 1, "toio-4k"));
	/*
	 * An odd length: 128-byte PCISTBs, then 8/4/1-byte PCISTGs. Linux
	 * splits an unaligned target into 8-byte stores that cross a
	 * doubleword (an operand exception), so unaligned targets are only
	 * written in pieces that stay inside one: 4 + 1 bytes at 0x3ffb, and
	 * single bytes.
	 */
	bad += ze2e_result(f, "toio-odd", ze2e_toio(f, 0x1000, 0, 4093, 2, "toio-odd"));
	bad += ze2e_result(f, "toio-tail", ze2e_toio(f, 0x3ffb, 3, 5, 3, "toio-tail"));
	bad += ze2e_result(f, "iowrite8",
			   ze2e_single_test(f, 0x7001, 13, 9, 1, "iowrite8"));
	bad += ze2e_result(f, "writeq",
			   ze2e_single_test(f, 0x5000, 256, 4, 8, "writeq"));
	bad += ze2e_result(f, "iowrite32",
			   ze2e_single_test(f, 0x6000, 256, 5, 4, "iowrite32"));
	/* the ISM driver's way: blocks of the advertised maxstbl */
	bad += ze2e_result(f, "block-4k",
			   ze2e_block_test(f, 0x8000, 4096, 0, 6, "block-4k"));
	bad += ze2e_result(f, "block-64k",
			   ze2e_block_test(f, 0x10000, 65536, 0, 7, "block-64k"));
	/* an odd block size that is still a multiple of 8, across 4 KiB */
	bad += ze2e_result(f, "block-odd",
			   ze2e_block_test(f, 0x20f88, 2216, 0, 8, "block-odd"));
	return bad ? -EIO : 0;
}

/* one DMB-style move: split at 4 KiB boundaries of the DMB offset, the
 * signal flag on the last chunk only (it lands at dmb | bit 23)
 */
static int ze2e_ism_move(struct ze2e_fn *f, u64 dmb, size_t size, u64 seed)
{
	unsigned int max = ze2e_maxstbl(f), chunk;
	u64 pos = dmb, target;
	const u8 *src = srcbuf + 1;	/* relaxed: any source alignment */
	int rc;

	ze2e_fill(srcbuf + 1, size, seed, dmb);
	while (size) {
		chunk = min3((size_t)max, size, (size_t)(PAGE_SIZE - (pos & ~PAGE_MASK)));
		target = pos | (chunk == size ? ZE2E_SIGNAL : 0);
		rc = __zpci_store_block((const u64 *)src, ze2e_req(f, chunk), target);
		f->insns++;
		if (rc) {
			pr_err("ZE2E: E %u dmb-move chunk at %llu rc %d\n", f->fid, pos, rc);
			return rc;
		}
		ze2e_manifest(f, target, chunk, seed, pos,
			      chunk == size ? "dmb-move-signal" : "dmb-move");
		rc = ze2e_readback(f, target, chunk, seed, pos, "dmb-move");
		if (rc)
			return rc;
		src += chunk;
		pos += chunk;
		size -= chunk;
	}
	return 0;
}

/* ISM-like: relaxed PCISTB of any length/alignment, PCISTG refused */
static int ze2e_verify_ism(struct ze2e_fn *f)
{
	int rc, bad = 0;

	f->insns = 0;
	bad += ze2e_result(f, "relaxed-4k",
			   ze2e_block_test(f, 0x20000, 4096, 0, 1, "relaxed-4k"));
	bad += ze2e_result(f, "relaxed-odd",
			   ze2e_block_test(f, 0x21003, 4093, 5, 2, "relaxed-odd"));
	bad += ze2e_result(f, "relaxed-64k",
			   ze2e_block_test(f, 0x30000, 65536, 0, 3, "relaxed-64k"));
	bad += ze2e_result(f, "dmb-move",
			   ze2e_ism_move(f, 0x50123, 10000, ze2e_seed(f, 4)));
	/* PCISTG to the data BAR must be refused (cc 1) and change nothing */
	rc = __zpci_store(ze2e_seed(f, 5),
			  ZPCI_CREATE_REQ(READ_ONCE(to_zpci(f->pdev)->fh), ZE2E_BAR, 8),
			  0x60000);
	f->insns++;
	bad += ze2e_result(f, "pcistg-refused", rc ? 0 : -EIO);
	return bad ? -EIO : 0;
}

static u64 ze2e_bench_off(size_t size)
{
	return size <= 128 ? SZ_1M : size <= 4096 ? 2 * SZ_1M : 3 * SZ_1M;
}

struct ze2e_timed {
	struct ze2e_fn *f;
	const u8 *src;
	u64 off, seed, n, reps, ns;
};

/*
 * What the clock itself adds to a timed window: the part of two
 * ktime_get_ns() calls that lies between their clock reads, the cheapest
 * of ZE2E_CAL_WINDOWS empty windows (exact under icount, where an
 * interrupt only ever adds; the least disturbed one in wall time).  In
 * nested TCG a clock read is thousands of L0 instructions, about a third
 * of a forwarded 128-byte PCISTB, and every repetition below pays it once.
 */
static u64 ze2e_timer_cal(void)
{
	u64 best = U64_MAX, t0, t1;
	unsigned int i;

	for (i = 0; i < ZE2E_CAL_WINDOWS; i++) {
		t0 = ktime_get_ns();
		t1 = ktime_get_ns();
		best = min(best, t1 - t0);
	}
	return best;
}

/*
 * Timed block writes of size bytes to one function, or to two in turn in
 * slices of ZE2E_SLICE_NS (each repetition timed alone: the slices' own
 * loop is not counted), until each ran ZE2E_BENCH_MIN_REPS times and
 * ZE2E_BENCH_NS passed per function; then a read-back of each.  Slices,
 * not single repetitions: a function's first instructions after the other
 * one ran are slower (nested TCG's caches), which would cost a 4 KiB
 * write of one instruction far more than one of 32.  The B line gives
 * the raw time of the repetitions and, last, ze2e_timer_cal(): the host
 * takes that much off every repetition (tests/e2e/verify.py).
 */
static int ze2e_bench(struct ze2e_fn **fs, unsigned int nf, size_t size)
{
	struct ze2e_timed t[2] = { };
	struct ze2e_fn *failed = NULL;
	u64 start, t0, t1, cal;
	unsigned int i;
	bool more;
	int rc = 0;

	if (size > ZE2E_BUFSZ || size < 16 || size % 8 || !nf || nf > 2)
		return -EINVAL;
	for (i = 0; i < nf; i++) {
		t[i].f = fs[i];
		t[i].off = ze2e_bench_off(size);
		t[i].seed = ze2e_seed(fs[i], 100);
		t[i].src = i ? srcbuf2 : srcbuf;
		ze2e_fill((u8 *)t[i].src, size, t[i].seed, t[i].off);
	}
	cal = ze2e_timer_cal();
	start = ktime_get_ns();
	do {
		for (i = 0; i < nf && !rc; i++) {
			u64 slice = ktime_get_ns();

			do {
				t0 = ktime_get_ns();
				rc = ze2e_blocks(t[i].f, t[i].off, t[i].src,
						 size, &t[i].n);
				t1 = ktime_get_ns();
				t[i].ns += t1 - t0;
				t[i].reps++;
			} while (!rc && nf > 1 && t1 - slice < ZE2E_SLICE_NS);
			if (rc)
				failed = t[i].f;
		}
		more = ktime_get_ns() - start < nf * ZE2E_BENCH_NS;
		for (i = 0; i < nf; i++)
			more |= t[i].reps < ZE2E_BENCH_MIN_REPS;
	} while (!rc && more && t[0].reps < 100000);
	if (rc) {
		pr_err("ZE2E: E %u bench-%zu block store rc %d\n",
		       failed->fid, size, rc);
		return rc;
	}
	for (i = 0; i < nf; i++) {
		struct ze2e_fn *f = t[i].f;
		int err;

		ze2e_manifest(f, t[i].off, size, t[i].seed, t[i].off, "bench");
		f->insns = 0;
		err = ze2e_readback(f, t[i].off, size, t[i].seed, t[i].off,
				    "bench");
		pr_info("ZE2E: B %u %s %s %zu %llu %llu %llu %llu %llu\n",
			f->fid, f->name, f->mode, size, t[i].reps, t[i].ns,
			t[i].n, f->insns, cal);
		f->insns = 0;
		rc = rc ?: err;
	}
	return rc;
}

/*
 * make cost-e2e's workload: n PCISTBs of 128 bytes as Linux issues them
 * (__zpci_store_block), back to back, over the 4 KiB at 1 MiB (the 128-B
 * bench row's area; cost mode runs no bench), so that L0's marker log
 * has n samples of every hop of one PCISTB.  Announced and read back as
 * every other write, so the host checks its bytes.
 */
#define ZE2E_COST_MAX	100000

static int ze2e_cost(struct ze2e_fn *f, size_t n)
{
	u64 off = ze2e_bench_off(128), seed = ze2e_seed(f, 200), req, t0, ns;
	size_t i, len = min_t(size_t, n, 32) * 128;
	int rc = 0;

	if (!n || n > ZE2E_COST_MAX || ze2e_maxstbl(f) < 128)
		return -EINVAL;
	ze2e_fill(srcbuf, SZ_4K, seed, off);
	req = ze2e_req(f, 128);
	t0 = ktime_get_ns();
	for (i = 0; i < n && !rc; i++)
		rc = __zpci_store_block((const u64 *)(srcbuf + (i % 32) * 128),
					req, off + (i % 32) * 128);
	ns = ktime_get_ns() - t0;
	f->insns += i;
	if (rc) {
		pr_err("ZE2E: E %u cost store %zu rc %d\n", f->fid, i - 1, rc);
		return rc;
	}
	ze2e_manifest(f, off, len, seed, off, "cost");
	rc = ze2e_readback(f, off, len, seed, off, "cost");
	pr_info("ZE2E: C %u %s %s %zu %llu\n", f->fid, f->name, f->mode, n, ns);
	return rc;
}

/* PCISTB as Linux's ____pcistb issues it; returns the condition code */
static int ze2e_pcistb_raw(const u64 *data, u64 req, u64 offset)
{
	int cc;

	asm volatile (
		"	.insn	rsy,0xeb00000000d0,%[req],%[offset],%[data]\n"
		"	ipm	%[cc]\n"
		"	srl	%[cc],28\n"
		: [cc] "=d" (cc), [req] "+d" (req)
		: [offset] "d" (offset), [data] "Q" (*data)
		: "cc");
	return cc;
}

/*
 * The floor of a forwarded or stock PCISTB: the same loop as ze2e_blocks()
 * (32 instructions per timed repetition, as a 4 KiB write of 128-byte
 * blocks), but with the function handle's enable bit cleared, which QEMU
 * answers with cc 3 before it looks up the function: what remains is L2's
 * own loop, the intercept and QEMU's dispatch, with no call to the host.
 * Our own asm: Linux's __zpci_store_block would log every cc 3.
 */
#define ZE2E_FH_ENABLED	0x80000000U

static int ze2e_floor(struct ze2e_fn *f, u64 max)
{
	/* (Linux's ZPCI_CREATE_REQ does not parenthesize its handle) */
	u32 fh = READ_ONCE(to_zpci(f->pdev)->fh) & ~ZE2E_FH_ENABLED;
	u64 req = ZPCI_CREATE_REQ(fh, ZE2E_BAR, 128);
	u64 off = ze2e_bench_off(4096), n = 0, ns = 0, t0;
	unsigned int i;
	int cc = 3;

	do {
		t0 = ktime_get_ns();
		for (i = 0; i < 32 && cc == 3; i++, n++)
			cc = ze2e_pcistb_raw((const u64 *)srcbuf, req,
					     off + 128 * i);
		ns += ktime_get_ns() - t0;
	} while (cc == 3 && ns < ZE2E_BENCH_NS / 2 && n < max);
	if (cc != 3) {
		pr_err("ZE2E: E %u floor cc %d instead of 3\n", f->fid, cc);
		return -EIO;
	}
	pr_info("ZE2E: N %u %llu %llu\n", f->fid, n, ns);
	return 0;
}

/*
 * The stock path's 128-byte buffer (issue 17): QEMU keeps every access
 * that touches the MSI-X table or PBA on its own path, so a PCISTB onto
 * them must end there as stock QEMU ends it, whatever maxstbl the function
 * advertises: stored up to 128 bytes, a specification exception beyond
 * (Linux's helper: -ENXIO), and QEMU alive afterwards.  The data are 0x01
 * bytes: every table entry written stays masked (vector control bit 0).
 */
static int ze2e_overflow_area(struct ze2e_fn *f, const char *what, u32 reg,
			      const u64 *src)
{
	u8 bar = reg & PCI_MSIX_TABLE_BIR;
	u64 off = reg & PCI_MSIX_TABLE_OFFSET;
	unsigned int len, n = 0, ok = 0, ok_max = 0, pgm = 0, pgm_min = 0;
	unsigned int other = 0, other_len = 0;
	int rc, other_rc = 0;

	for (len = 16; len <= 4096 && (off & 0xfff) + len <= 4096; len += 8) {
		rc = __zpci_store_block(src, ZPCI_CREATE_REQ(READ_ONCE(to_zpci(f->pdev)->fh),
							     bar, len), off);
		n++;
		if (!rc) {
			ok++;
			ok_max = len;
		} else if (rc == -ENXIO) {
			pgm++;
			if (!pgm_min)
				pgm_min = len;
		} else if (!other++) {
			other_len = len;
			other_rc = rc;
		}
	}
	pr_info("ZE2E: O %u %s %u 0x%llx %u %u %u %u %u %u %u %d\n", f->fid, what,
		bar, off, n, ok, ok_max, pgm, pgm_min, other, other_len, other_rc);
	return other ? -EIO : 0;
}

/*
 * A BAR the function does not implement (BAR 5 of every ivshmem function
 * here): an invalid address space, cc 1 (Linux's helpers: -EIO).  Stock
 * QEMU dereferenced a null memory region for it.
 */
#define ZE2E_NO_BAR	5

static void ze2e_missing_bar(struct ze2e_fn *f, const u64 *src)
{
	u32 fh = READ_ONCE(to_zpci(f->pdev)->fh);
	u64 data = 0;
	int lg, stg, stb;

	lg = __zpci_load(&data, ZPCI_CREATE_REQ(fh, ZE2E_NO_BAR, 8), 0);
	stg = __zpci_store(0x0101010101010101ULL, ZPCI_CREATE_REQ(fh, ZE2E_NO_BAR, 8), 0);
	stb = __zpci_store_block(src, ZPCI_CREATE_REQ(fh, ZE2E_NO_BAR, 64), 0);
	pr_info("ZE2E: U %u %u %d %d %d\n", f->fid, ZE2E_NO_BAR, lg, stg, stb);
}

static int ze2e_overflow(struct ze2e_fn *f)
{
	struct pci_dev *pdev = f->pdev;
	u32 table, pba;
	u64 *src;
	int rc;

	if (pci_resource_len(pdev, ZE2E_NO_BAR))
		return -EINVAL;

	/* page-aligned: a doubleword-aligned source for every length */
	src = (u64 *)__get_free_page(GFP_KERNEL);
	if (!src)
		return -ENOMEM;
	memset(src, 0x01, PAGE_SIZE);
	ze2e_missing_bar(f, src);
	rc = 0;
	if (!pdev->msix_cap) {
		pr_info("ZE2E: O %u none\n", f->fid);
	} else if (pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_TABLE, &table) ||
		   pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_PBA, &pba)) {
		rc = -EIO;
	} else {
		rc = ze2e_overflow_area(f, "table", table, src);
		rc = ze2e_overflow_area(f, "pba", pba, src) ?: rc;
	}
	free_page((unsigned long)src);
	return rc;
}

/*
 * The differential test (issue 17): the same random instruction on a
 * forwarded function and on its stock copy (same L0 configuration, QEMU's
 * zpci-io=off), outcomes compared.  Our own instruction wrappers: Linux's
 * helpers fold every outcome into an errno, this needs the condition
 * code, the status byte, the program-interruption code and the loaded
 * value.  The code is read from lowcore with interrupts off, so no other
 * program check can come in between.  Each wrapper has a fixup for both
 * places a program check can leave the PSW (at the instruction:
 * nullified, e.g. a translation exception on the source; after it:
 * suppressed or completed).
 */
struct ze2e_out {
	int cc;			/* -1: program exception */
	u8 status;		/* with cc 1 */
	u16 pgm;		/* with cc -1 */
	u64 data;		/* PCILG with cc 0 */
};

#define ZE2E_OUT_EQ(a, b) ((a).cc == (b).cc && (a).status == (b).status && \
			   (a).pgm == (b).pgm && (a).data == (b).data)

/* (lowcore is under low-address protection: read only, never cleared) */
static void ze2e_pgm_begin(unsigned long *flags)
{
	local_irq_save(*flags);
}

static void ze2e_pgm_end(struct ze2e_out *o, unsigned long flags)
{
	o->pgm = o->cc < 0 ? get_lowcore()->pgm_code & 0x7f : 0;
	local_irq_restore(flags);
}

static void ze2e_do_pcistb(struct ze2e_out *o, const u8 *src, u64 req, u64 off)
{
	unsigned long flags;
	int cc = -1;

	ze2e_pgm_begin(&flags);
	asm volatile (
		"0:	.insn	rsy,0xeb00000000d0,%[req],%[off],%[src]\n"
		"1:	ipm	%[cc]\n"
		"	srl	%[cc],28\n"
		"2:\n"
		EX_TABLE(0b, 2b)
		EX_TABLE(1b, 2b)
		: [cc] "+d" (cc), [req] "+d" (req)
		: [off] "d" (off), [src] "Q" (*src)
		: "cc", "memory");
	o->cc = cc;
	o->status = cc == 1 ? (req >> 24) & 0xff : 0;
	o->data = 0;
	ze2e_pgm_end(o, flags);
}

static void ze2e_do_pcistg(struct ze2e_out *o, u64 val, u64 req, u64 off)
{
	union register_pair ro = { .even = req, .odd = off };
	unsigned long flags;
	int cc = -1;

	ze2e_pgm_begin(&flags);
	asm volatile (
		"0:	.insn	rre,0xb9d00000,%[val],%[ro]\n"
		"1:	ipm	%[cc]\n"
		"	srl	%[cc],28\n"
		"2:\n"
		EX_TABLE(0b, 2b)
		EX_TABLE(1b, 2b)
		: [cc] "+d" (cc), [ro] "+&d" (ro.pair)
		: [val] "d" (val)
		: "cc", "memory");
	o->cc = cc;
	o->status = cc == 1 ? (ro.even >> 24) & 0xff : 0;
	o->data = 0;
	ze2e_pgm_end(o, flags);
}

static void ze2e_do_pcilg(struct ze2e_out *o, u64 req, u64 off)
{
	union register_pair ro = { .even = req, .odd = off };
	unsigned long flags;
	u64 data = 0;
	int cc = -1;

	ze2e_pgm_begin(&flags);
	asm volatile (
		"0:	.insn	rre,0xb9d20000,%[data],%[ro]\n"
		"1:	ipm	%[cc]\n"
		"	srl	%[cc],28\n"
		"2:\n"
		EX_TABLE(0b, 2b)
		EX_TABLE(1b, 2b)
		: [cc] "+d" (cc), [data] "+d" (data), [ro] "+&d" (ro.pair)
		:
		: "cc", "memory");
	o->cc = cc;
	o->status = cc == 1 ? (ro.even >> 24) & 0xff : 0;
	o->data = cc == 0 ? data : 0;
	ze2e_pgm_end(o, flags);
}

/* where the hotplug test's 4 KiB writes go, one per cycle */
#define ZE2E_HOTPLUG_OFF	(4 * SZ_1M)

#define ZE2E_PGM_SPEC		0x06
#define ZE2E_PGM_OPERAND	0x15

/* the random instruction */
enum { ZE2E_STB, ZE2E_STG, ZE2E_LG };

struct ze2e_dop {
	int insn;
	u8 pcias;
	u64 off;
	u32 len;
	u32 src;		/* offset of the source in the diff buffer */
	bool disabled;		/* the handle's enable bit cleared */
	u64 val;		/* PCISTG */
};

/*
 * the windows of BAR 2 the test stores to; the host compares them between
 * the two functions (tests/e2e/verify.py DIFF_WINDOWS)
 */
#define ZE2E_DIFF_WIN	(8 * SZ_1M)
#define ZE2E_DIFF_WINSZ	SZ_64K
#define ZE2E_DIFF_TAIL	SZ_8K
/* the diff buffer: 3 pages, the last one unmapped (vmalloc's guard page) */
#define ZE2E_DIFF_BUF	(2 * PAGE_SIZE)

static u64 ze2e_rnd(u64 *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545F4914F6CDD1DULL;
}

static void ze2e_dop_make(struct ze2e_dop *d, u64 *x, resource_size_t barlen)
{
	u64 r = ze2e_rnd(x), k;
	static const u8 lens[] = { 1, 2, 4, 8, 1, 2, 4, 8, 3, 5, 6, 7, 0, 9 };

	memset(d, 0, sizeof(*d));
	k = r % 100;
	d->insn = k < 40 ? ZE2E_STB : k < 70 ? ZE2E_STG : ZE2E_LG;
	r = ze2e_rnd(x);
	k = r % 100;
	if (k < 66) {
		d->pcias = ZE2E_BAR;
		d->off = ZE2E_DIFF_WIN + (r >> 8) % ZE2E_DIFF_WINSZ;
	} else if (k < 74) {
		/* the end of BAR 2: the last 8 KiB, and beyond it */
		d->pcias = ZE2E_BAR;
		d->off = barlen - ZE2E_DIFF_TAIL + (r >> 8) % (ZE2E_DIFF_TAIL + 512);
	} else if (k < 80) {
		/*
		 * ivshmem registers, 256 B, and beyond; not the interrupt
		 * status at 4..7, which a read clears: its value depends on
		 * the read history, which the intended differences change
		 */
		d->pcias = 0;
		d->off = (r >> 8) % 512;
		if (d->off < 8)
			d->off = 8 + d->off;
	} else if (k < 86) {
		d->pcias = 1;			/* MSI-X table, PBA, the rest */
		d->off = (r >> 8) % 4608;
	} else if (k < 91) {
		d->pcias = (r >> 8) % 2 ? 3 : 5;	/* not implemented */
		d->off = (r >> 16) % 4096;
	} else if (k < 96) {
		d->pcias = 15;			/* config space: loads only */
		d->off = (r >> 8) % 256;
		if (d->insn == ZE2E_STG)
			d->insn = ZE2E_LG;
	} else {
		d->pcias = 6 + (r >> 8) % 8;	/* 6..13: invalid */
		d->off = (r >> 16) % 4096;
	}
	r = ze2e_rnd(x);
	if (r % 100 < 55)
		d->off &= ~7ULL;		/* aligned more often than not */
	if (d->insn == ZE2E_STB) {
		k = (r >> 8) % 100;
		if (k < 55)
			d->len = 16 + 8 * ((r >> 16) % 15);		/* 16..128 */
		else if (k < 80)
			d->len = 136 + 8 * ((r >> 16) % 496);		/* ..4096 */
		else if (k < 92)
			d->len = (r >> 16) % 200;			/* odd, 0 */
		else
			d->len = 4096 + (r >> 16) % 4096;		/* too long */
		d->len &= 0x1fff;
	} else {
		d->len = lens[(r >> 8) % ARRAY_SIZE(lens)];
	}
	r = ze2e_rnd(x);
	k = r % 100;
	if (k < 65)
		d->src = 8 * ((r >> 8) % 64);			/* aligned */
	else if (k < 85)
		d->src = (r >> 8) % 512;			/* any */
	else if (k < 97)
		d->src = PAGE_SIZE - 8 * (1 + (r >> 8) % 64);	/* across a page */
	else
		d->src = ZE2E_DIFF_BUF - 8 * ((r >> 8) % 2);	/* unmapped */
	d->disabled = (r >> 32) % 100 < 2;
	d->val = ze2e_rnd(x);
}

static void ze2e_dop_run(struct ze2e_fn *f, const struct ze2e_dop *d,
			 const u8 *buf, struct ze2e_out *o)
{
	u32 fh = READ_ONCE(to_zpci(f->pdev)->fh);
	u64 req;

	if (d->disabled)
		fh &= ~ZE2E_FH_ENABLED;
	req = ZPCI_CREATE_REQ(fh, d->pcias, d->len);
	switch (d->insn) {
	case ZE2E_STB:
		ze2e_do_pcistb(o, buf + d->src, req, d->off);
		break;
	case ZE2E_STG:
		ze2e_do_pcistg(o, d->val, req, d->off);
		break;
	default:
		ze2e_do_pcilg(o, req, d->off);
		break;
	}
}

/*
 * Which intended difference (docs/ARCHITECTURE.md, "Where a forwarded
 * function differs from stock QEMU") explains forwarded outcome a against
 * stock outcome b, if any: 1 (D1: a PCISTB longer than the stock 128 that
 * the forwarded function's larger maxstbl allows: stock refuses it with a
 * specification exception, forwarded it goes on to its other checks), 2 (D2: a PCISTG/PCILG
 * of 2..7 bytes inside one doubleword that stock refuses, as its access
 * of that size is not naturally aligned), 4 (D4: a 3-, 5-, 6- or 7-byte
 * PCISTG/PCILG, which stock QEMU moves as a smaller power of two), 5 (D5:
 * an access to the MSI-X BAR outside the table and PBA, where the test
 * function decodes nothing: the function answers with an operand
 * exception, which stock QEMU's vfio write swallows), 0 none.
 */
static int ze2e_intended(const struct ze2e_dop *d, const struct ze2e_out *a,
			 const struct ze2e_out *b, u16 maxstbl)
{
	bool in_dw = d->len >= 1 && d->len <= 8 && (d->off & 7) + d->len <= 8;

	/*
	 * whatever the rest of the instruction then gives forwarded: the
	 * source, the BAR's end, the function's answer
	 */
	if (d->insn == ZE2E_STB && b->cc == -1 && b->pgm == ZE2E_PGM_SPEC &&
	    d->len > 128 && d->len <= maxstbl)
		return 1;
	if (d->insn != ZE2E_STB && d->pcias <= 5 && in_dw && d->len >= 2 &&
	    a->cc == 0 && b->cc == -1 && b->pgm == ZE2E_PGM_OPERAND)
		return 2;
	/* a store of such a length even when both outcomes are cc 0 */
	if (d->insn != ZE2E_STB && d->pcias <= 5 && in_dw &&
	    (d->len & (d->len - 1)) && a->cc == 0 && b->cc == 0 &&
	    (d->insn == ZE2E_STG || a->data != b->data))
		return 4;
	if (d->pcias == 1 && a->cc == -1 && a->pgm == ZE2E_PGM_OPERAND &&
	    b->cc == 0)
		return 5;
	return 0;
}

/* make the stock copy hold what the forwarded store put there */
static void ze2e_dop_resync(struct ze2e_fn *g, const struct ze2e_dop *d,
			    const u8 *buf)
{
	u32 fh = READ_ONCE(to_zpci(g->pdev)->fh);
	struct ze2e_out o;
	u32 done, n;
	u64 v;
	int i;

	if (d->insn == ZE2E_STB) {
		/* 128-byte blocks; a last doubleword as a PCISTG (no PCISTB of 8) */
		for (done = 0; done < d->len; done += n) {
			n = min_t(u32, 128, d->len - done);
			if (n == 8)
				ze2e_do_pcistg(&o, get_unaligned_be64(buf + d->src + done),
					       ZPCI_CREATE_REQ(fh, d->pcias, 8), d->off + done);
			else
				ze2e_do_pcistb(&o, buf + d->src + done,
					       ZPCI_CREATE_REQ(fh, d->pcias, n),
					       d->off + done);
		}
	} else if (d->insn == ZE2E_STG) {
		/* the rightmost len bytes of val, big-endian, one at a time */
		for (i = 0; i < d->len; i++) {
			v = d->val >> (8 * (d->len - 1 - i));
			ze2e_do_pcistg(&o, v & 0xff, ZPCI_CREATE_REQ(fh, d->pcias, 1),
				       d->off + i);
		}
	}
}

static int ze2e_diff(struct ze2e_fn *f, struct ze2e_fn *g, u32 n, u64 seed)
{
	u64 x = seed | 1, same = 0, why[6] = { 0 }, bad = 0, landed = 0;
	u16 maxstbl = ze2e_maxstbl(f);
	struct ze2e_out a, b;
	struct ze2e_dop d;
	u8 *buf;
	u32 i;
	int w;

	/* two mapped pages and vmalloc's unmapped guard page after them */
	buf = vmalloc(ZE2E_DIFF_BUF);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ze2e_dop_make(&d, &x, f->barlen);
		/* new source bytes where this op reads them */
		if (d.insn == ZE2E_STB && d.src < ZE2E_DIFF_BUF)
			ze2e_fill(buf + d.src, min_t(u32, d.len, ZE2E_DIFF_BUF - d.src),
				  seed + i, 0);
		ze2e_dop_run(f, &d, buf, &a);
		ze2e_dop_run(g, &d, buf, &b);
		w = ze2e_intended(&d, &a, &b, maxstbl);
		if (!w && ZE2E_OUT_EQ(a, b)) {
			same++;
			landed += d.insn != ZE2E_LG && a.cc == 0;
			continue;
		}
		if (w) {
			why[w]++;
			if (a.cc == 0 && d.insn != ZE2E_LG)
				ze2e_dop_resync(g, &d, buf);
			landed += d.insn != ZE2E_LG && a.cc == 0;
			continue;
		}
		bad++;
		if (bad <= 40)
			pr_info("ZE2E: D %u %u %u %d %u 0x%llx %u %u %d %d/%u/0x%x/0x%llx %d/%u/0x%x/0x%llx\n",
				f->fid, g->fid, i, d.insn, d.pcias, d.off, d.len,
				d.src, d.disabled, a.cc, a.status, a.pgm, a.data,
				b.cc, b.status, b.pgm, b.data);
	}
	vfree(buf);
	pr_info("ZE2E: Q %u %u %u %llu %llu %llu %llu %llu %llu %llu %llu\n", f->fid,
		g->fid, n, seed, same, why[1], why[2], why[4], why[5], bad, landed);
	return 0;
}

/*
 * MSI-X of an MSI-X function: allocating a vector makes Linux write the
 * vector's table entry and mask bit (PCISTG to the table's BAR), which
 * QEMU must keep in its MSI-X emulation; the host checks that the region
 * saw no call meanwhile.  A function without MSI-X (ISM) says so.
 */
static int ze2e_msix(struct ze2e_fn *f)
{
	int nvec;

	if (!f->pdev->msix_cap) {
		pr_info("ZE2E: X %u msix none 0\n", f->fid);
		return 0;
	}
	nvec = pci_alloc_irq_vectors(f->pdev, 1, 1, PCI_IRQ_MSIX);
	if (nvec < 0) {
		pr_info("ZE2E: X %u msix fail %d\n", f->fid, nvec);
		return nvec;
	}
	pci_free_irq_vectors(f->pdev);
	pr_info("ZE2E: X %u msix ok %d\n", f->fid, nvec);
	return 0;
}

/* where the fault tests write: 64 KiB per kind */
#define ZE2E_FAULT_OFF		(5 * SZ_1M)
/* how long Linux's recovery may take in nested TCG */
#define ZE2E_FAULT_WAIT_MS	(240 * MSEC_PER_SEC)

/* until Linux's error recovery resumed the function n times, or timeout */
static bool ze2e_wait_resumed(struct ze2e_fn *f, int n)
{
	ktime_t end = ktime_add_ms(ktime_get(), ZE2E_FAULT_WAIT_MS);

	while (atomic_read(&f->err_resumed) < n && ktime_before(ktime_get(), end)) {
		if (msleep_interruptible(20))
			return false;
	}
	return atomic_read(&f->err_resumed) >= n;
}

/*
 * The fault tests.  Every instruction's outcome is seen as is (raw
 * wrappers); the data written at the end goes through Linux's block
 * store and is read back, and the host checks it like every other write.
 */
static int ze2e_fault(struct ze2e_fn *f, unsigned int kind)
{
	static const char *const names[] = { "busy", "cc3", "error" };
	u64 off = ZE2E_FAULT_OFF + kind * SZ_64K, seed = ze2e_seed(f, 200 + kind);
	int det0 = f->fault_detected;
	int res0 = f->fault_resumed;
	struct ze2e_out o = { .cc = 0 }, first = { .cc = -2 };
	unsigned int cc2 = 0, i;
	bool ok = false;
	char label[16];
	int rc = 0;

	if (kind > 2)
		return -EINVAL;
	snprintf(label, sizeof(label), "fault-%s", names[kind]);
	ze2e_fill(srcbuf, 8, seed, off);
	if (kind == 0) {
		/* cc 2 is the guest's to retry, as Linux's zpci_store does */
		for (i = 0; i < 100; i++) {
			ze2e_do_pcistg(&o, get_unaligned_be64(srcbuf), ze2e_req(f, 8), off);
			f->insns++;
			if (first.cc == -2)
				first = o;
			if (o.cc != 2)
				break;
			cc2++;
		}
		ok = first.cc == 2 && o.cc == 0;
	} else if (kind == 1) {
		/* the host answers cc 3 once: the guest's function is in error */
		ze2e_do_pcistg(&o, get_unaligned_be64(srcbuf), ze2e_req(f, 8), off);
		f->insns++;
		first = o;
		ok = o.cc == 1 && o.status == 8 && ze2e_wait_resumed(f, res0 + 1);
	} else {
		/*
		 * No instruction: the error event alone starts the recovery.
		 * This guest may be done before the host's own recovery is:
		 * then its next instruction puts the function in error again
		 * (cc 1 status 8) and another recovery follows.  A load probes
		 * for that without writing anything.
		 */
		for (i = 1; i <= 3; i++) {
			ok = ze2e_wait_resumed(f, res0 + i);
			if (!ok)
				break;
			ze2e_do_pcilg(&o, ze2e_req(f, 8), off);
			f->insns++;
			if (first.cc == -2)
				first = o;
			if (o.cc == 0)
				break;
			ok = false;
		}
	}
	if (ok) {
		if (kind == 0) {
			ze2e_manifest(f, off, 8, seed, off, label);
			rc = ze2e_readback(f, off, 8, seed, off, label);
		}
		if (!rc)
			rc = ze2e_block_test(f, off + SZ_4K, SZ_4K, 0, 200 + kind, label);
		ok = !rc;
	}
	f->fault_detected = atomic_read(&f->err_detected);
	f->fault_resumed = atomic_read(&f->err_resumed);
	pr_info("ZE2E: T %u %s %d %u %u %d %d %s\n", f->fid, names[kind], first.cc,
		first.status, cc2, f->fault_detected - det0, f->fault_resumed - res0,
		ok ? "ok" : "fail");
	return ze2e_result(f, label, ok ? 0 : rc ? rc : -EIO);
}

/* "pair <fid> <fid2> <size>": f and another function, timed in turn */
static int ze2e_pair(struct ze2e_fn *f, const char *cmd)
{
	struct ze2e_fn *fs[2] = { f };
	unsigned int fid2;
	size_t size;

	if (sscanf(cmd, "%*s %*u %u %zu", &fid2, &size) != 2)
		return -EINVAL;
	fs[1] = ze2e_find(fid2);
	if (!fs[1] || fs[1] == f)
		return -EINVAL;
	return ze2e_bench(fs, 2, size);
}

static ssize_t ze2e_write(struct file *file, const char __user *ubuf,
			  size_t count, loff_t *ppos)
{
	char cmd[64], op[16];
	unsigned int fid, fid2;
	unsigned long long seed;
	size_t size = 0;
	struct ze2e_fn *f;
	int n, rc;

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = 0;
	n = sscanf(cmd, "%15s %u %zu", op, &fid, &size);
	if (n < 2)
		return -EINVAL;
	f = ze2e_find(fid);
	if (!f)
		return -ENODEV;
	/* wait <fid> <ms>: until the function is plugged (again) */
	if (!strcmp(op, "wait") && n == 3) {
		while (!READ_ONCE(f->pdev) && size) {
			if (msleep_interruptible(10))
				return -EINTR;
			size = size > 10 ? size - 10 : 0;
		}
		return READ_ONCE(f->pdev) ? count : -ETIMEDOUT;
	}
	if (!READ_ONCE(f->pdev))
		return -ENODEV;
	mutex_lock(&ze2e_lock);
	if (!strcmp(op, "verify"))
		rc = ze2e_relaxed(f) ? ze2e_verify_ism(f) : ze2e_verify_strict(f);
	else if (!strcmp(op, "bench") && n == 3)
		rc = ze2e_bench(&f, 1, size);
	else if (!strcmp(op, "pair"))
		rc = ze2e_pair(f, cmd);
	else if (!strcmp(op, "msix"))
		rc = ze2e_msix(f);
	else if (!strcmp(op, "floor"))
		rc = ze2e_floor(f, n == 3 && size && size < 3200000 ? size : 3200000);
	else if (!strcmp(op, "cost") && n == 3)
		rc = ze2e_cost(f, size);
	else if (!strcmp(op, "overflow"))
		rc = ze2e_overflow(f);
	else if (!strcmp(op, "fault") && n == 3)
		rc = ze2e_fault(f, size);
	else if (!strcmp(op, "touch") && n == 3 && size < 64)
		rc = ze2e_result(f, "hotplug",
				 ze2e_block_test(f, ZE2E_HOTPLUG_OFF + size * SZ_4K, SZ_4K, 0,
						 100 + size, "hotplug"));
	else if (!strcmp(op, "diff") &&
		 sscanf(cmd, "%*s %*u %u %zu %llu", &fid2, &size, &seed) == 3 &&
		 ze2e_find(fid2) && ze2e_find(fid2) != f && size <= 1000000)
		rc = ze2e_diff(f, ze2e_find(fid2), size, seed);
	else
		rc = -EINVAL;
	mutex_unlock(&ze2e_lock);
	return rc ? rc : count;
}

static const struct file_operations ze2e_fops = {
	.owner = THIS_MODULE,
	.write = ze2e_write,
};

static struct miscdevice ze2e_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ze2e",
	.fops = &ze2e_fops,
};

static int ze2e_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct zpci_dev *zdev = to_zpci(pdev);
	struct ze2e_fn *f;
	int rc, i, replug = 0;

	/* a function plugged again takes the slot it had */
	f = NULL;
	for (i = 0; i < ze2e_nfns; i++) {
		if (ze2e_fns[i].fid == zdev->fid && !READ_ONCE(ze2e_fns[i].pdev)) {
			f = &ze2e_fns[i];
			replug = f->plugs + 1;
			break;
		}
	}
	if (!f) {
		if (ze2e_nfns >= ZE2E_MAXFN)
			return -ENOSPC;
		f = &ze2e_fns[ze2e_nfns];
	}
	memset(f, 0, sizeof(*f));
	f->plugs = replug;
	if (!ze2e_role(zdev->fid, f->name, f->mode)) {
		pci_info(pdev, "ze2e: fid %u has no role, not used\n", zdev->fid);
		return -ENODEV;
	}
	rc = pci_enable_device(pdev);
	if (rc)
		return rc;
	rc = pci_request_region(pdev, ZE2E_BAR, "ze2e");
	if (rc)
		goto disable;
	f->bar = pci_iomap(pdev, ZE2E_BAR, 0);
	if (!f->bar) {
		rc = -ENOMEM;
		goto release;
	}
	f->fid = zdev->fid;
	f->barlen = pci_resource_len(pdev, ZE2E_BAR);
	pci_set_drvdata(pdev, f);
	pci_save_state(pdev);
	WRITE_ONCE(f->pdev, pdev);
	if (!replug)
		ze2e_nfns++;
	else
		pr_info("ZE2E: H %u %u %u\n", f->fid, replug, zdev->maxstbl);
	pr_info("ZE2E: F %u %s %s %u %u %llu\n", f->fid, f->name, f->mode,
		zdev->maxstbl, zdev->pft, (u64)f->barlen);
	return 0;
release:
	pci_release_region(pdev, ZE2E_BAR);
disable:
	pci_disable_device(pdev);
	return rc;
}

static void ze2e_remove(struct pci_dev *pdev)
{
	struct ze2e_fn *f = pci_get_drvdata(pdev);

	pci_iounmap(pdev, f->bar);
	pci_release_region(pdev, ZE2E_BAR);
	pci_disable_device(pdev);
	WRITE_ONCE(f->pdev, NULL);
}

/*
 * Linux's zPCI error recovery (arch/s390/pci/pci_event.c) runs only for a
 * driver with all three callbacks: it resets the function (a CLP disable
 * and enable, which gives it its handle again) between error_detected and
 * slot_reset.  The BAR mapping stays: non-MIO iomap entries take the
 * function's current handle.
 */
static pci_ers_result_t ze2e_error_detected(struct pci_dev *pdev,
					    pci_channel_state_t state)
{
	struct ze2e_fn *f = pci_get_drvdata(pdev);

	atomic_inc(&f->err_detected);
	return state == pci_channel_io_perm_failure ?
	       PCI_ERS_RESULT_DISCONNECT : PCI_ERS_RESULT_NEED_RESET;
}

static pci_ers_result_t ze2e_slot_reset(struct pci_dev *pdev)
{
	pci_restore_state(pdev);
	pci_save_state(pdev);
	return PCI_ERS_RESULT_RECOVERED;
}

static void ze2e_resume(struct pci_dev *pdev)
{
	struct ze2e_fn *f = pci_get_drvdata(pdev);

	atomic_inc(&f->err_resumed);
}

static const struct pci_error_handlers ze2e_err_handlers = {
	.error_detected = ze2e_error_detected,
	.slot_reset = ze2e_slot_reset,
	.resume = ze2e_resume,
};

static const struct pci_device_id ze2e_ids[] = {
	{ PCI_DEVICE(0x1af4, 0x1110) },	/* ivshmem */
	{ }
};
MODULE_DEVICE_TABLE(pci, ze2e_ids);

static struct pci_driver ze2e_driver = {
	.name = "ze2e",
	.id_table = ze2e_ids,
	.probe = ze2e_probe,
	.remove = ze2e_remove,
	.err_handler = &ze2e_err_handlers,
};

static int __init ze2e_init(void)
{
	int rc;

	srcbuf = kmalloc(ZE2E_BUFSZ + PAGE_SIZE, GFP_KERNEL);
	srcbuf2 = kmalloc(ZE2E_BUFSZ, GFP_KERNEL);
	rdbuf = kmalloc(ZE2E_BUFSZ + PAGE_SIZE, GFP_KERNEL);
	if (!srcbuf || !srcbuf2 || !rdbuf) {
		rc = -ENOMEM;
		goto free;
	}
	rc = pci_register_driver(&ze2e_driver);
	if (rc)
		goto free;
	rc = misc_register(&ze2e_misc);
	if (rc) {
		pci_unregister_driver(&ze2e_driver);
		goto free;
	}
	return 0;
free:
	kfree(srcbuf);
	kfree(srcbuf2);
	kfree(rdbuf);
	return rc;
}

static void __exit ze2e_exit(void)
{
	misc_deregister(&ze2e_misc);
	pci_unregister_driver(&ze2e_driver);
	kfree(srcbuf);
	kfree(srcbuf2);
	kfree(rdbuf);
}

module_init(ze2e_init);
module_exit(ze2e_exit);
MODULE_DESCRIPTION("zpci end-to-end test: writes through Linux's zPCI helpers (L2 guest)");
MODULE_LICENSE("GPL");
