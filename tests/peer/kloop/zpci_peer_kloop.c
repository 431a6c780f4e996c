// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module for tests/peer: the ceiling of the peer benchmark.
 * On load it issues, from kernel memory and in a loop (no system call, no
 * pinning, no copy), the same PCISTB sequence the user-space paths issue:
 * a buffer of each size split into stores of at most maxstbl bytes that
 * do not cross 4 KiB, to BAR <bar> at offset <base> + a per-size slot.
 * The buffer holds the deterministic pattern of tests/vm/host
 * (zpci_vm_pattern.hpp), so the host can verify the bytes. One line per
 * size goes to the kernel log:
 *   zpci_peer_kloop: size=N reps=R stores=S ns=T
 * Then it registers /dev/zpci_peer_kloop for the pin-vs-bounce question:
 * a write() of a page-aligned user buffer of at most 1 MiB is issued as
 * PCISTBs of pb_opsize bytes (not crossing 4 KiB) to BAR <bar> at pb_base,
 * the source taken per pb_mode: 0 bounce (copy_from_user into a kernel
 * page per op, as ism-vfio-pci does), 1 pin per op (pin_user_pages_fast
 * of the op's page, as zpci_io does), 2 pin once per write (all pages of
 * the buffer, then every op).  Both parameters are writable in sysfs.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/ktime.h>
#include <linux/gfp.h>
#include <linux/sizes.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/pci.h>
#include <asm/pci_insn.h>
#include <asm/pci_io.h>

static char *dev;
module_param(dev, charp, 0444);
MODULE_PARM_DESC(dev, "PCI address dddd:bb:dd.f of the function");
static uint bar = 2;
module_param(bar, uint, 0444);
static ulong base;
module_param(base, ulong, 0444);
MODULE_PARM_DESC(base, "BAR offset of the 1 MiB slot; sizes go to base + slot");
static ulong seed = 1;
module_param(seed, ulong, 0444);
static uint min_ms = 300;
module_param(min_ms, uint, 0444);
MODULE_PARM_DESC(min_ms, "time each size at least this long");

static uint pb_mode;
module_param(pb_mode, uint, 0644);
MODULE_PARM_DESC(pb_mode, "write(): 0 bounce per op, 1 pin per op, 2 pin once per write");
static uint pb_opsize = 4096;
module_param(pb_opsize, uint, 0644);
static ulong pb_base = 14UL << 20;
module_param(pb_base, ulong, 0444);

#define KLOOP_MAX SZ_1M
static const u32 sizes[] = { 128, 4096, 65536, KLOOP_MAX };

/* the slot of each size inside the 3 MiB area (guest.sh's layout) */
static u64 slot_of(u32 size)
{
	switch (size) {
	case 128: return (1ULL << 20) + (128ULL << 10);
	case 4096: return (1ULL << 20) + (64ULL << 10);
	case 65536: return 1ULL << 20;
	default: return 0;
	}
}

static u64 splitmix64(u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static u8 pattern_byte(u64 s, u64 pos)
{
	u64 w = splitmix64(s * 0x100000001b3ULL ^ (pos >> 3));

	return (u8)(w >> (8 * (pos & 7)));
}

static int kloop_one(struct zpci_dev *zdev, u8 *buf, u32 size)
{
	u64 off0 = base + slot_of(size), s = seed + size, reps = 0, stores = 0;
	u32 maxstbl = zdev->maxstbl;
	ktime_t t0, t;
	u32 i;
	int rc;

	for (i = 0; i < size; i++)
		buf[i] = pattern_byte(s, off0 + i);
	t0 = ktime_get();
	do {
		u32 done = 0;

		while (done < size) {
			u64 off = off0 + done;
			u32 n = min3(size - done, maxstbl,
				     (u32)(4096 - (off & 4095)));
			u64 req = ZPCI_CREATE_REQ(READ_ONCE(zdev->fh), bar, n);

			rc = __zpci_store_block((const u64 *)(buf + done), req, off);
			if (rc) {
				pr_err("zpci_peer_kloop: PCISTB %u at %llu: %d\n",
				       n, off, rc);
				return rc;
			}
			done += n;
			stores++;
		}
		reps++;
		t = ktime_get();
		cond_resched();
	} while (ktime_ms_delta(t, t0) < min_ms);
	pr_info("zpci_peer_kloop: size=%u reps=%llu stores=%llu ns=%lld\n",
		size, reps, stores, ktime_to_ns(ktime_sub(t, t0)));
	return 0;
}

static struct pci_dev *kl_pdev;
static struct zpci_dev *kl_zdev;
static u8 *kl_bounce;
static DEFINE_MUTEX(kl_lock);

static int kl_store(const void *src, u64 off, u32 n)
{
	u64 req = ZPCI_CREATE_REQ(READ_ONCE(kl_zdev->fh), bar, n);

	return __zpci_store_block(src, req, off);
}

static ssize_t kl_write_locked(const char __user *ubuf, size_t len)
{
	unsigned long ua = (unsigned long)ubuf;
	u32 opsize = READ_ONCE(pb_opsize), mode = READ_ONCE(pb_mode);
	struct page **pages = NULL;
	int npages = 0, rc = 0;
	size_t done = 0;

	if (!len || len > KLOOP_MAX || (ua & ~PAGE_MASK) || !opsize ||
	    opsize > kl_zdev->maxstbl || opsize > PAGE_SIZE || mode > 2)
		return -EINVAL;
	if (mode == 2) {
		npages = DIV_ROUND_UP(len, PAGE_SIZE);
		pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
		if (!pages)
			return -ENOMEM;
		rc = pin_user_pages_fast(ua, npages, 0, pages);
		if (rc != npages) {
			if (rc > 0)
				unpin_user_pages(pages, rc);
			kvfree(pages);
			return rc < 0 ? rc : -EFAULT;
		}
		rc = 0;
	}
	while (done < len && !rc) {
		u64 off = pb_base + done;
		u32 n = min3((u32)min_t(size_t, len - done, opsize), kl_zdev->maxstbl,
			     (u32)(PAGE_SIZE - (off & ~PAGE_MASK)));
		unsigned long a = ua + done;
		struct page *pg;

		if (mode == 0) {
			if (copy_from_user(kl_bounce, (const void __user *)a, n))
				rc = -EFAULT;
			else
				rc = kl_store(kl_bounce, off, n);
		} else if (mode == 1) {
			rc = pin_user_pages_fast(a & PAGE_MASK, 1, 0, &pg);
			if (rc == 1) {
				rc = kl_store(page_address(pg) + (a & ~PAGE_MASK), off, n);
				unpin_user_page(pg);
			} else {
				rc = rc < 0 ? rc : -EFAULT;
			}
		} else {
			pg = pages[(a - ua) >> PAGE_SHIFT];
			rc = kl_store(page_address(pg) + (a & ~PAGE_MASK), off, n);
		}
		done += n;
	}
	if (pages) {
		unpin_user_pages(pages, npages);
		kvfree(pages);
	}
	return rc ? rc : (ssize_t)len;
}

static ssize_t kl_write(struct file *file, const char __user *ubuf,
			size_t len, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&kl_lock);
	ret = kl_write_locked(ubuf, len);
	mutex_unlock(&kl_lock);
	return ret;
}

static const struct file_operations kl_fops = {
	.owner = THIS_MODULE,
	.write = kl_write,
};

static struct miscdevice kl_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "zpci_peer_kloop",
	.fops = &kl_fops,
};

static int __init kloop_init(void)
{
	unsigned int d, b, s, f;
	struct pci_dev *pdev;
	struct zpci_dev *zdev;
	u8 *buf;
	int rc = 0;
	size_t i;

	if (!dev || sscanf(dev, "%x:%x:%x.%x", &d, &b, &s, &f) != 4 || bar > 5)
		return -EINVAL;
	if (base & 4095 || base + (KLOOP_MAX + (256U << 10)) < base)
		return -EINVAL;
	pdev = pci_get_domain_bus_and_slot(d, b, PCI_DEVFN(s, f));
	if (!pdev)
		return -ENODEV;
	zdev = to_zpci(pdev);
	if (!zdev || !zdev_enabled(zdev) ||
	    base + KLOOP_MAX + (256U << 10) > pci_resource_len(pdev, bar)) {
		pci_dev_put(pdev);
		return -ENODEV;
	}
	buf = (u8 *)__get_free_pages(GFP_KERNEL, get_order(KLOOP_MAX));
	if (!buf) {
		pci_dev_put(pdev);
		return -ENOMEM;
	}
	for (i = 0; i < ARRAY_SIZE(sizes) && !rc; i++)
		rc = kloop_one(zdev, buf, sizes[i]);
	free_pages((unsigned long)buf, get_order(KLOOP_MAX));
	if (!rc && (pb_base & ~PAGE_MASK ||
		    pb_base + KLOOP_MAX > pci_resource_len(pdev, bar)))
		rc = -EINVAL;
	if (!rc) {
		kl_bounce = (u8 *)__get_free_page(GFP_KERNEL);
		rc = kl_bounce ? 0 : -ENOMEM;
	}
	if (rc) {
		pci_dev_put(pdev);
		return rc;
	}
	kl_pdev = pdev;
	kl_zdev = zdev;
	rc = misc_register(&kl_misc);
	if (rc) {
		free_page((unsigned long)kl_bounce);
		pci_dev_put(pdev);
	}
	return rc;
}

static void __exit kloop_exit(void)
{
	misc_deregister(&kl_misc);
	free_page((unsigned long)kl_bounce);
	pci_dev_put(kl_pdev);
}

module_init(kloop_init);
module_exit(kloop_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("tests/peer: PCISTB loop from kernel memory (the ceiling)");
