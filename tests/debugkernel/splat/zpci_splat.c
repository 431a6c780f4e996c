// SPDX-License-Identifier: GPL-2.0
/*
 * Self-test module for the debug-kernel rig (tests/debugkernel/run.sh):
 * loading it makes one checker of the debug kernel print one known report,
 * so that the test can prove that tests/vm/run.sh's console scan fails such
 * a run.  Never loaded anywhere else.
 *
 * flavour=sleep (default): might_sleep() under a spinlock, which
 *   CONFIG_DEBUG_ATOMIC_SLEEP reports as "BUG: sleeping function called
 *   from invalid context".
 * flavour=kasan: a one-byte read just past the end of a kmalloc() object,
 *   which generic KASAN reports as "BUG: KASAN: slab-out-of-bounds".  The
 *   read is real (the byte lies in the slab's redzone, so nothing else is
 *   harmed); only KASAN's shadow check notices it.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *flavour = "sleep";
module_param(flavour, charp, 0444);
MODULE_PARM_DESC(flavour, "sleep (atomic-sleep report) or kasan (out-of-bounds read)");

static DEFINE_SPINLOCK(zpci_splat_lock);

static noinline void zpci_splat_sleep(void)
{
	spin_lock(&zpci_splat_lock);
	/* a sleep point inside an atomic section: the report we want */
	might_sleep();
	spin_unlock(&zpci_splat_lock);
	pr_info("zpci_splat: atomic-sleep report triggered\n");
}

static noinline int zpci_splat_kasan(void)
{
	size_t size = 20;
	char *buf;
	char val;

	buf = kmalloc(size, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	memset(buf, 0x5a, size);
	/* keep the compiler from seeing the index is out of bounds */
	OPTIMIZER_HIDE_VAR(size);
	val = READ_ONCE(buf[size]);
	kfree(buf);
	pr_info("zpci_splat: out-of-bounds read done (byte %#x)\n", val & 0xff);
	return 0;
}

static int __init zpci_splat_init(void)
{
	if (!strcmp(flavour, "sleep")) {
		zpci_splat_sleep();
		return 0;
	}
	if (!strcmp(flavour, "kasan"))
		return zpci_splat_kasan();
	pr_err("zpci_splat: unknown flavour '%s'\n", flavour);
	return -EINVAL;
}

static void __exit zpci_splat_exit(void)
{
}

module_init(zpci_splat_init);
module_exit(zpci_splat_exit);
MODULE_DESCRIPTION("debug-kernel rig self-test: one injected checker report");
MODULE_LICENSE("GPL");
