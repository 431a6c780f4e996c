// SPDX-License-Identifier: GPL-2.0
/* vfio_device_ops.pasid_attach_ioas with the physical-device helpers */
/* conftest-absent: pasid_(attach|detach)_ioas */
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

const struct vfio_device_ops zpci_io_probe_ops = {
	.pasid_attach_ioas = vfio_iommufd_physical_pasid_attach_ioas,
	.pasid_detach_ioas = vfio_iommufd_physical_pasid_detach_ioas,
};
