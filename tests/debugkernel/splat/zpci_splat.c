// SPDX-License-Identifier: GPL-2.0
/*
 * Self-test module for the debug-kernel rig (tests/debugkernel/selftest.sh):
 * loading it makes CONFIG_DEBUG_ATOMIC_SLEEP print one known report,
 * "BUG: sleeping function called from invalid context", so that the test can
 * prove that tests/vm/run.sh's console scan fails such a run.  Never loaded
 * anywhere else.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/spinlock.h>

static DEFINE_SPINLOCK(zpci_splat_lock);

static int __init zpci_splat_init(void)
{
	spin_lock(&zpci_splat_lock);
	/* a sleep point inside an atomic section: the report we want */
	might_sleep();
	spin_unlock(&zpci_splat_lock);
	pr_info("zpci_splat: atomic-sleep report triggered\n");
	return 0;
}

static void __exit zpci_splat_exit(void)
{
}

module_init(zpci_splat_init);
module_exit(zpci_splat_exit);
MODULE_DESCRIPTION("debug-kernel rig self-test: one atomic-sleep report");
MODULE_LICENSE("GPL");
