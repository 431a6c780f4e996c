// SPDX-License-Identifier: GPL-2.0
/*
 * zpci_ism_test: a client of Linux's ism driver for the ISM model of the
 * test QEMU (tests/ism, stage 1 of issue 16).
 *
 * Everything runs at module load, through the driver's exported client API
 * (ism_register_client, ism_register_dmb, ism_move, ism_unregister_dmb and
 * the SMC-D ops of ism_get_smcd_ops() for QUERY_RGID and SIGNAL_IEQ), on
 * the ISM functions with fid 0x10 (A), 0x11 (B, same PCHID) and 0x12 (C,
 * another PCHID):
 *   - DMBs on B of 16 KiB and 1 MiB, one on A of 16 KiB (all for A's GID)
 *   - moves from A: 1 B; 4093 B at an odd offset from an odd source; 4 KiB;
 *     200 B across a 4 KiB boundary; 1 MiB (256 pieces) into the 1 MiB DMB;
 *     each signalled (on its last piece only, by the driver) and followed by
 *     exactly one interrupt for the DMB's SBA bit with the dmbe index bit;
 *     512 B unsignalled (no interrupt); 64 B from A into A's own DMB
 *   - every byte of the DMB compared with a shadow copy after each move
 *   - QUERY_RGID: A's own GID and B's reachable, C's not (other fabric)
 *   - SIGNAL_IEQ from A to B: B's client gets the event (type SWR, the code,
 *     A's GID as token, the info)
 *   - a move to the token of an unregistered DMB fails with -EIO
 *   - all DMBs unregistered, the client unregistered
 * Results in the kernel log, one "zpci_ism_test:" line per check, per
 * function what the client issued and saw ("dev" lines: the host compares
 * them with the model's statistics) and a final "RESULT pass=N fail=M"
 * line.  Loading succeeds whatever the result (busybox insmod runs a
 * failed init a second time, through init_module after finit_module);
 * the module does nothing after its init.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/ism.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <net/smc.h>
#include <asm/pci.h>

#define IST_FID_A	0x10
#define IST_FID_B	0x11
#define IST_FID_C	0x12
#define IST_IRQ_WAIT_MS	10000
#define IST_NO_IRQ_MS	500
#define IST_EVENT_CODE	0x1234
#define IST_EVENT_INFO	0x0123456789abcdefULL

struct ist_dev {
	struct ism_dev *ism;
	u32 fid;
	u64 gid;
	/* seen by the client (irq/event context, under lock) */
	spinlock_t lock;
	u64 irqs;		/* handle_irq calls */
	u64 events;		/* handle_event calls */
	unsigned int last_bit;
	u16 last_mask;
	struct ism_event last_event;
	/* issued by the client */
	u64 reg_dmb, unreg_dmb, query_rgid, signal_ieq;
	u64 moves, move_pieces, move_bytes, move_signals, move_errors;
};

static struct ist_dev ist_devs[3];
static DECLARE_WAIT_QUEUE_HEAD(ist_wq);
static int ist_fail, ist_pass;
static u64 ist_bytes_verified;

static struct ist_dev *ist_find(struct ism_dev *ism)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(ist_devs); i++)
		if (ist_devs[i].ism == ism)
			return &ist_devs[i];
	return NULL;
}

static void ist_add(struct ism_dev *ism)
{
	u32 fid = to_zpci(ism->pdev)->fid;
	struct ist_dev *d;

	if (fid < IST_FID_A || fid > IST_FID_C)
		return;
	d = &ist_devs[fid - IST_FID_A];
	d->ism = ism;
	d->fid = fid;
	d->gid = ism->local_gid;
	pr_info("add %s fid 0x%x pchid 0x%04x gid 0x%016llx\n",
		pci_name(ism->pdev), fid, to_zpci(ism->pdev)->pchid, d->gid);
}

static void ist_remove(struct ism_dev *ism)
{
	struct ist_dev *d = ist_find(ism);

	if (d)
		d->ism = NULL;
}

static void ist_handle_irq(struct ism_dev *ism, unsigned int bit, u16 mask)
{
	struct ist_dev *d = ist_find(ism);

	if (!d)
		return;
	spin_lock(&d->lock);
	d->irqs++;
	d->last_bit = bit;
	d->last_mask = mask;
	spin_unlock(&d->lock);
	wake_up(&ist_wq);
}

static void ist_handle_event(struct ism_dev *ism, struct ism_event *ev)
{
	struct ist_dev *d = ist_find(ism);

	if (!d)
		return;
	spin_lock(&d->lock);
	d->events++;
	d->last_event = *ev;
	spin_unlock(&d->lock);
	wake_up(&ist_wq);
}

static struct ism_client ist_client = {
	.name = "zpci_ism_test",
	.add = ist_add,
	.remove = ist_remove,
	.handle_event = ist_handle_event,
	.handle_irq = ist_handle_irq,
};

static void ist_check(bool ok, const char *what)
{
	if (ok) {
		ist_pass++;
		pr_info("ok: %s\n", what);
	} else {
		ist_fail++;
		pr_err("FAIL: %s\n", what);
	}
}

static u64 ist_irqs(struct ist_dev *d)
{
	u64 n;

	spin_lock_irq(&d->lock);
	n = d->irqs;
	spin_unlock_irq(&d->lock);
	return n;
}

static u64 ist_events(struct ist_dev *d)
{
	u64 n;

	spin_lock_irq(&d->lock);
	n = d->events;
	spin_unlock_irq(&d->lock);
	return n;
}

/* a DMB and the bytes it must hold */
struct ist_dmb {
	struct ism_dmb dmb;
	struct ist_dev *owner;
	u8 *shadow;
	bool registered;
};

static int ist_reg_dmb(struct ist_dev *owner, struct ist_dmb *b, u32 len,
		       u64 rgid)
{
	int rc;

	memset(&b->dmb, 0, sizeof(b->dmb));
	b->dmb.dmb_len = len;
	b->dmb.rgid = rgid;
	b->owner = owner;
	b->shadow = kvmalloc(len, GFP_KERNEL);
	if (!b->shadow)
		return -ENOMEM;
	owner->reg_dmb++;
	rc = ism_register_dmb(owner->ism, &b->dmb, &ist_client);
	if (rc) {
		kvfree(b->shadow);
		b->shadow = NULL;
		return rc;
	}
	b->registered = true;
	/* the DMB is not cleared by the driver: its bytes now are the base */
	dma_sync_single_for_cpu(&owner->ism->pdev->dev, b->dmb.dma_addr, len,
				DMA_FROM_DEVICE);
	memcpy(b->shadow, b->dmb.cpu_addr, len);
	pr_info("dmb %u B on fid 0x%x: token 0x%016llx sba_idx %u\n", len,
		owner->fid, b->dmb.dmb_tok, b->dmb.sba_idx);
	return 0;
}

static void ist_unreg_dmb(struct ist_dmb *b)
{
	int rc;

	if (!b->registered)
		return;
	b->owner->unreg_dmb++;
	rc = ism_unregister_dmb(b->owner->ism, &b->dmb);
	ist_check(!rc, "unregister a DMB");
	b->registered = false;
	kvfree(b->shadow);
	b->shadow = NULL;
}

static unsigned int ist_pieces(unsigned int off, unsigned int size)
{
	unsigned int n = 0, bytes;

	while (size) {
		bytes = min_t(unsigned int, PAGE_SIZE - (off & (PAGE_SIZE - 1)),
			      size);
		size -= bytes;
		off += bytes;
		n++;
	}
	return n;
}

/*
 * Move size bytes of src from a into b at off (dmbe index idx), check the
 * interrupt (one, for b's SBA bit, with idx in the mask, when signalled;
 * none otherwise) and every byte of the DMB.
 */
static void ist_move(struct ist_dev *a, struct ist_dmb *b, unsigned int idx,
		     bool sf, unsigned int off, const u8 *src,
		     unsigned int size, const char *what)
{
	struct ist_dev *t = b->owner;
	u64 irqs0 = ist_irqs(t);
	char msg[128];
	long left;
	int rc;

	a->moves++;
	a->move_pieces += ist_pieces(off, size);
	rc = ism_move(a->ism, b->dmb.dmb_tok, idx, sf, off, (void *)src, size);
	snprintf(msg, sizeof(msg), "move %s: %u B at %u, idx %u%s: rc %d", what,
		 size, off, idx, sf ? ", signalled" : "", rc);
	ist_check(!rc, msg);
	if (rc) {
		a->move_errors++;
		return;
	}
	a->move_bytes += size;
	if (sf) {
		a->move_signals++;
		left = wait_event_timeout(ist_wq, ist_irqs(t) != irqs0,
					  msecs_to_jiffies(IST_IRQ_WAIT_MS));
		snprintf(msg, sizeof(msg), "move %s: one interrupt, bit %u, mask 0x%04x",
			 what, b->dmb.sba_idx, 0x8000 >> idx);
		spin_lock_irq(&t->lock);
		ist_check(left && t->irqs == irqs0 + 1 &&
			  t->last_bit == b->dmb.sba_idx &&
			  (t->last_mask & (0x8000 >> idx)), msg);
		spin_unlock_irq(&t->lock);
	} else {
		msleep(IST_NO_IRQ_MS);
		snprintf(msg, sizeof(msg), "move %s: no interrupt in %u ms",
			 what, IST_NO_IRQ_MS);
		ist_check(ist_irqs(t) == irqs0, msg);
	}
	memcpy(b->shadow + off, src, size);
	dma_sync_single_for_cpu(&t->ism->pdev->dev, b->dmb.dma_addr,
				b->dmb.dmb_len, DMA_FROM_DEVICE);
	snprintf(msg, sizeof(msg), "move %s: all %u DMB bytes as expected",
		 what, b->dmb.dmb_len);
	if (memcmp(b->dmb.cpu_addr, b->shadow, b->dmb.dmb_len)) {
		unsigned int i;

		for (i = 0; i < b->dmb.dmb_len; i++)
			if (((u8 *)b->dmb.cpu_addr)[i] != b->shadow[i])
				break;
		pr_err("first difference at DMB byte %u: 0x%02x, expected 0x%02x\n",
		       i, ((u8 *)b->dmb.cpu_addr)[i], b->shadow[i]);
		ist_check(false, msg);
		return;
	}
	ist_check(true, msg);
	ist_bytes_verified += size;
}

static int ist_smcd(struct ist_dev *d, struct smcd_dev *smcd)
{
	memset(smcd, 0, sizeof(*smcd));
	smcd->ops = ism_get_smcd_ops();
	smcd->priv = d->ism;
	return smcd->ops ? 0 : -ENODEV;
}

static void ist_query(struct ist_dev *a, u64 gid, bool reachable,
		      const char *who)
{
	struct smcd_gid rgid = { .gid = gid };
	struct smcd_dev smcd;
	char msg[96];
	int rc;

	if (ist_smcd(a, &smcd)) {
		ist_check(false, "ism_get_smcd_ops");
		return;
	}
	a->query_rgid++;
	rc = smcd.ops->query_remote_gid(&smcd, &rgid, 0, 0);
	snprintf(msg, sizeof(msg), "QUERY_RGID %s: %s (rc %d)", who,
		 rc ? "unreachable" : "reachable", rc);
	ist_check(!rc == reachable, msg);
}

static void ist_event(struct ist_dev *a, struct ist_dev *b)
{
	struct smcd_gid rgid = { .gid = b->gid };
	struct smcd_dev smcd;
	u64 ev0 = ist_events(b);
	struct ism_event ev;
	long left;
	int rc;

	if (ist_smcd(a, &smcd)) {
		ist_check(false, "ism_get_smcd_ops");
		return;
	}
	a->signal_ieq++;
	rc = smcd.ops->signal_event(&smcd, &rgid, 1, IST_EVENT_CODE,
				    IST_EVENT_INFO);
	ist_check(!rc, "SIGNAL_IEQ A -> B accepted");
	if (rc)
		return;
	left = wait_event_timeout(ist_wq, ist_events(b) != ev0,
				  msecs_to_jiffies(IST_IRQ_WAIT_MS));
	spin_lock_irq(&b->lock);
	ev = b->last_event;
	spin_unlock_irq(&b->lock);
	pr_info("event at B: type %u code 0x%x tok 0x%016llx info 0x%016llx\n",
		ev.type, ev.code, ev.tok, ev.info);
	ist_check(left && ist_events(b) == ev0 + 1 && ev.type == ISM_EVENT_SWR &&
		  ev.code == IST_EVENT_CODE && ev.tok == a->gid &&
		  ev.info == IST_EVENT_INFO,
		  "SIGNAL_IEQ A -> B: one event at B (SWR, code, A's GID, info)");
}

static void ist_fill(u8 *p, unsigned int len, u8 seed)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		p[i] = seed + i * 7 + (i >> 9);
}

static void ist_run(void)
{
	struct ist_dev *a = &ist_devs[0], *b = &ist_devs[1], *c = &ist_devs[2];
	struct ist_dmb b16 = {}, b1m = {}, a16 = {};
	unsigned int len = SZ_1M + 64;
	u64 stale;
	u8 *src;
	int rc;

	src = kvmalloc(len, GFP_KERNEL);
	if (!src) {
		ist_check(false, "source buffer");
		return;
	}

	rc = ist_reg_dmb(b, &b16, SZ_16K, a->gid);
	ist_check(!rc, "register a 16 KiB DMB on B");
	if (!rc)
		rc = ist_reg_dmb(b, &b1m, SZ_1M, a->gid);
	ist_check(!rc, "register a 1 MiB DMB on B");
	if (!rc)
		rc = ist_reg_dmb(a, &a16, SZ_16K, a->gid);
	ist_check(!rc, "register a 16 KiB DMB on A");
	if (rc)
		goto out;

	ist_fill(src, len, 0x11);
	ist_move(a, &b16, 0, true, 0, src, 1, "1 byte");
	ist_fill(src, len, 0x22);
	ist_move(a, &b16, 0, true, 1001, src + 3, 4093,
		 "odd offset, odd source");
	ist_fill(src, len, 0x33);
	ist_move(a, &b16, 3, true, 8192, src, SZ_4K, "exactly 4 KiB");
	ist_fill(src, len, 0x44);
	ist_move(a, &b16, 0, true, 4096 - 100, src + 8, 200,
		 "across a 4 KiB boundary");
	ist_fill(src, len, 0x55);
	ist_move(a, &b16, 0, false, 12288, src, 512, "unsignalled");
	ist_fill(src, len, 0x66);
	ist_move(a, &b1m, 1, true, 0, src, SZ_1M, "1 MiB");
	ist_fill(src, len, 0x77);
	ist_move(a, &a16, 2, true, 100, src, 64, "into its own DMB");

	ist_query(a, a->gid, true, "of A's own GID");
	ist_query(a, b->gid, true, "of B (same PCHID)");
	ist_query(a, c->gid, false, "of C (another PCHID)");
	ist_event(a, b);

	stale = b16.dmb.dmb_tok;
	ist_unreg_dmb(&b16);
	a->moves++;
	a->move_pieces++;
	rc = ism_move(a->ism, stale, 0, true, 0, src, 8);
	if (rc)
		a->move_errors++;
	pr_info("move to the stale token 0x%016llx: rc %d\n", stale, rc);
	ist_check(rc == -EIO, "a move to a stale token fails with -EIO");
out:
	ist_unreg_dmb(&b16);
	ist_unreg_dmb(&b1m);
	ist_unreg_dmb(&a16);
	kvfree(src);
}

static int __init ist_init(void)
{
	int i, rc;

	for (i = 0; i < ARRAY_SIZE(ist_devs); i++)
		spin_lock_init(&ist_devs[i].lock);
	rc = ism_register_client(&ist_client);
	if (rc) {
		pr_err("ism_register_client: %d\n", rc);
		return rc;
	}
	for (i = 0; i < ARRAY_SIZE(ist_devs); i++)
		if (!ist_devs[i].ism)
			break;
	ist_check(i == ARRAY_SIZE(ist_devs),
		  "the client was given the ISM functions fid 0x10, 0x11, 0x12");
	if (i == ARRAY_SIZE(ist_devs))
		ist_run();
	rc = ism_unregister_client(&ist_client);
	ist_check(!rc, "unregister the client");

	for (i = 0; i < ARRAY_SIZE(ist_devs); i++) {
		struct ist_dev *d = &ist_devs[i];

		pr_info("dev fid=0x%x gid=%llu reg_dmb=%llu unreg_dmb=%llu query_rgid=%llu signal_ieq=%llu moves=%llu move_pieces=%llu move_bytes=%llu move_signals=%llu move_errors=%llu irqs=%llu events=%llu\n",
			d->fid, d->gid, d->reg_dmb, d->unreg_dmb, d->query_rgid,
			d->signal_ieq, d->moves, d->move_pieces, d->move_bytes,
			d->move_signals, d->move_errors, d->irqs, d->events);
	}
	pr_info("RESULT pass=%d fail=%d bytes_verified=%llu\n", ist_pass,
		ist_fail, ist_bytes_verified);
	return 0;
}

static void __exit ist_exit(void)
{
}

module_init(ist_init);
module_exit(ist_exit);
MODULE_DESCRIPTION("Client of Linux's ism driver for the test QEMU's ISM model");
MODULE_LICENSE("GPL");
