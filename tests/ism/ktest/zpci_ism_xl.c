// SPDX-License-Identifier: GPL-2.0
/*
 * zpci_ism_xl: one DMB move across levels (tests/ism stage 2, issue 16).
 *
 * Loaded in L1 on an ISM function that L1's own ism driver has, and in L2
 * on one that reaches L2 through zpci_io and QEMU (same PCHID in L0, so
 * one DMB table): each side registers a 16 KiB DMB (rgid 0: any mover)
 * and logs its token; the scripts exchange the tokens and then, through
 * the module's parameters in sysfs:
 *   move=<token>:<seed>  moves 4093 bytes of pattern <seed> from an odd
 *                        source to offset 5 of that DMB, signalled;
 *   check=<seed>         waits for one interrupt for our DMB's SBA bit
 *                        and compares the 4093 bytes with pattern <seed>.
 * Every outcome is one "zpci_ism_xl:" kernel log line ("ok: ..." or
 * "FAIL: ..."); the host's verify.py reads them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/ism.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/atomic.h>
#include <linux/dma-mapping.h>
#include <asm/pci.h>

#define XL_DMB_LEN	16384
#define XL_OFF		5
#define XL_LEN		4093
#define XL_IRQ_WAIT_MS	20000

static unsigned int xl_fid;
module_param_named(fid, xl_fid, uint, 0444);
MODULE_PARM_DESC(fid, "the ISM function (fid) to use");

static struct ism_dev *xl_ism;
static struct ism_dmb xl_dmb;
static bool xl_registered, xl_client_registered;
static atomic_t xl_irqs = ATOMIC_INIT(0);
static unsigned int xl_last_bit;
static DECLARE_WAIT_QUEUE_HEAD(xl_wq);

static void xl_add(struct ism_dev *ism)
{
	if (to_zpci(ism->pdev)->fid == xl_fid)
		xl_ism = ism;
}

static void xl_remove(struct ism_dev *ism)
{
	if (ism == xl_ism)
		xl_ism = NULL;
}

static void xl_handle_irq(struct ism_dev *ism, unsigned int bit, u16 mask)
{
	if (ism != xl_ism)
		return;
	WRITE_ONCE(xl_last_bit, bit);
	atomic_inc(&xl_irqs);
	wake_up(&xl_wq);
}

static void xl_handle_event(struct ism_dev *ism, struct ism_event *ev)
{
}

static struct ism_client xl_client = {
	.name = "zpci_ism_xl",
	.add = xl_add,
	.remove = xl_remove,
	.handle_event = xl_handle_event,
	.handle_irq = xl_handle_irq,
};

static u8 xl_byte(unsigned int seed, unsigned int i)
{
	return (u8)(seed * 131 + i * 7 + (i >> 8));
}

static int xl_move_set(const char *val, const struct kernel_param *kp)
{
	unsigned int seed, i;
	u64 tok;
	u8 *buf;
	int rc;

	if (sscanf(val, "%llx:%u", &tok, &seed) != 2)
		return -EINVAL;
	if (!xl_ism || !xl_registered)
		return -ENODEV;
	buf = kmalloc(XL_LEN + 1, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < XL_LEN; i++)
		buf[1 + i] = xl_byte(seed, i);
	rc = ism_move(xl_ism, tok, 0, true, XL_OFF, buf + 1, XL_LEN);
	kfree(buf);
	if (rc)
		pr_err("FAIL: move %u B of seed %u to token 0x%016llx: rc %d\n",
		       XL_LEN, seed, tok, rc);
	else
		pr_info("ok: move %u B of seed %u to token 0x%016llx: rc 0\n",
			XL_LEN, seed, tok);
	return 0;
}

static int xl_check_set(const char *val, const struct kernel_param *kp)
{
	unsigned int seed, i, bad = XL_LEN;
	long left;
	u8 *p;

	if (kstrtouint(val, 0, &seed))
		return -EINVAL;
	if (!xl_ism || !xl_registered)
		return -ENODEV;
	left = wait_event_timeout(xl_wq, atomic_read(&xl_irqs) > 0,
				  msecs_to_jiffies(XL_IRQ_WAIT_MS));
	dma_sync_single_for_cpu(&xl_ism->pdev->dev, xl_dmb.dma_addr,
				XL_DMB_LEN, DMA_FROM_DEVICE);
	p = (u8 *)xl_dmb.cpu_addr + XL_OFF;
	for (i = 0; i < XL_LEN; i++)
		if (p[i] != xl_byte(seed, i)) {
			bad = i;
			break;
		}
	if (left && atomic_read(&xl_irqs) == 1 &&
	    READ_ONCE(xl_last_bit) == xl_dmb.sba_idx && bad == XL_LEN)
		pr_info("ok: check seed %u: one interrupt (bit %u), %u B as expected\n",
			seed, xl_dmb.sba_idx, XL_LEN);
	else
		pr_err("FAIL: check seed %u: %d interrupts (last bit %u, DMB's %u), first difference at %u of %u\n",
		       seed, atomic_read(&xl_irqs), READ_ONCE(xl_last_bit),
		       xl_dmb.sba_idx, bad, XL_LEN);
	return 0;
}

static const struct kernel_param_ops xl_move_ops = { .set = xl_move_set };
static const struct kernel_param_ops xl_check_ops = { .set = xl_check_set };
module_param_cb(move, &xl_move_ops, NULL, 0200);
MODULE_PARM_DESC(move, "<token>:<seed>: move the pattern into that DMB");
module_param_cb(check, &xl_check_ops, NULL, 0200);
MODULE_PARM_DESC(check, "<seed>: check our DMB for that pattern");

static int __init xl_init(void)
{
	int rc;

	rc = ism_register_client(&xl_client);
	if (rc) {
		pr_err("FAIL: ism_register_client: %d\n", rc);
		return 0;
	}
	xl_client_registered = true;
	if (!xl_ism) {
		pr_err("FAIL: no ISM function with fid 0x%x\n", xl_fid);
		return 0;
	}
	memset(&xl_dmb, 0, sizeof(xl_dmb));
	xl_dmb.dmb_len = XL_DMB_LEN;
	rc = ism_register_dmb(xl_ism, &xl_dmb, &xl_client);
	if (rc) {
		pr_err("FAIL: register a DMB on fid 0x%x: %d\n", xl_fid, rc);
		return 0;
	}
	xl_registered = true;
	pr_info("ready fid 0x%x gid 0x%016llx token 0x%016llx sba_idx %u\n",
		xl_fid, xl_ism->local_gid, xl_dmb.dmb_tok, xl_dmb.sba_idx);
	return 0;
}

static void __exit xl_exit(void)
{
	if (xl_registered && xl_ism)
		ism_unregister_dmb(xl_ism, &xl_dmb);
	if (xl_client_registered)
		ism_unregister_client(&xl_client);
}

module_init(xl_init);
module_exit(xl_exit);
MODULE_DESCRIPTION("A DMB move across levels for the test QEMU's ISM model");
MODULE_LICENSE("GPL");
