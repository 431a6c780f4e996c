// SPDX-License-Identifier: GPL-2.0
/* vfio_device_ops.match_token_uuid and its vfio-pci-core helper */
/* conftest-absent: match_token_uuid */
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

const struct vfio_device_ops zpci_io_probe_ops = {
	.match_token_uuid = vfio_pci_core_match_token_uuid,
};
