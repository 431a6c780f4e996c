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
 * then the module stays loaded, doing nothing, until removed.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/ktime.h>
#include <linux/gfp.h>
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

#define KLOOP_MAX (1U << 20)
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
	pci_dev_put(pdev);
	return rc;
}

static void __exit kloop_exit(void)
{
}

module_init(kloop_init);
module_exit(kloop_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("tests/peer: PCISTB loop from kernel memory (the ceiling)");
