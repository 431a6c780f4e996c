// SPDX-License-Identifier: GPL-2.0
/* Must compile: the vfio-pci-core API the driver cannot do without. */
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <asm/pci.h>

int zpci_io_probe_baseline(struct vfio_pci_core_device *vdev);
int zpci_io_probe_baseline(struct vfio_pci_core_device *vdev)
{
	return vfio_pci_core_register_dev_region(vdev, 0, 0, NULL, 0, 0,
						 to_zpci(vdev->pdev));
}
