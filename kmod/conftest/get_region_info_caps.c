// SPDX-License-Identifier: GPL-2.0
/* 6.19+: region info moved to vfio_device_ops.get_region_info_caps */
/* conftest-absent: get_region_info_caps|vfio_pci_ioctl_get_region_info */
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

const struct vfio_device_ops zpci_io_probe_ops = {
	.get_region_info_caps = vfio_pci_ioctl_get_region_info,
};
