// SPDX-License-Identifier: GPL-2.0
/*
 * zpci_io: vfio-pci variant driver for zPCI functions with the zPCI I/O
 * device feature.
 *
 * Everything a vfio-pci user sees stays as vfio-pci does it; next to it
 * the device answers one more VFIO_DEVICE_FEATURE (ZPCI_IO_FEATURE),
 * through which user space (an emulator such as QEMU, or a user-space
 * driver) reads what the function allows (GET) and hands requests of
 * PCISTB, PCISTG and PCILG to the host (SET).  s390 needs this because a
 * BAR has no MMIO mapping without the MIO facility: vfio's BAR access
 * turns into stores of at most 8 bytes, which costs a syscall per 8 bytes
 * for a guest's PCISTB and cannot drive ISM at all (its DMB space takes
 * PCISTB only, and ISM has no MIO).  The ABI is zpci/zpci_abi.h.
 *
 * Binding: echo zpci_io > /sys/bus/pci/devices/<addr>/driver_override,
 * then echo <addr> > /sys/bus/pci/drivers_probe.  Any zPCI function can be
 * bound; the driver has no automatic match.
 */
#include <linux/eventfd.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/vmalloc.h>
#include <linux/vfio.h>
#include <asm/pci.h>

#include "zpci_io.h"

/* the functions bound to zpci_io, for netlink; probe and remove edit it */
DEFINE_MUTEX(zpci_io_list_lock);
LIST_HEAD(zpci_io_devices);

/* s390dbf area "zpci_io": one sprintf record per failed instruction */
debug_info_t *zpci_io_dbf;

/* Does BAR bar exist as memory and hold [off, off + size)? */
static bool zpci_io_bar_holds(struct pci_dev *pdev, unsigned int bar, u64 off,
			      u64 size)
{
	u64 len;

	if (bar >= PCI_STD_NUM_BARS ||
	    !(pci_resource_flags(pdev, bar) & IORESOURCE_MEM))
		return false;
	len = pci_resource_len(pdev, bar);
	return off <= len && size <= len - off;
}

/*
 * Where the MSI-X table and PBA are, for the fence.  The table's place and
 * size come from what vfio-pci-core read at enable (msix_bar, msix_offset,
 * msix_size: the same values its own MSI-X emulation uses); the PBA, which
 * the core does not cache, from a config read whose error is checked.  Any
 * doubt (a failed read shows as all ones, BIR 7; a BAR or range the
 * function does not have) fails closed: every BAR is fenced.  Called after
 * vfio_pci_core_enable(), without func_lock (config reads).
 */
static void zpci_io_read_msix(struct zpci_io_device *zio,
			      struct zpci_io_msix *m)
{
	struct vfio_pci_core_device *core = &zio->core;
	struct pci_dev *pdev = core->pdev;
	u32 pba, nvec;
	u8 pba_bar;
	u64 pba_off, pba_size;

	memset(m, 0, sizeof(*m));
	m->table_bar = ZPCI_IO_NO_BAR;
	m->pba_bar = ZPCI_IO_NO_BAR;
	if (!pdev->msix_cap)
		return;
	m->fence_all = true;
	if (!core->msix_size ||
	    !zpci_io_bar_holds(pdev, core->msix_bar, core->msix_offset,
			       core->msix_size))
		return;
	if (pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_PBA, &pba) ||
	    PCI_POSSIBLE_ERROR(pba))
		return;
	nvec = core->msix_size / PCI_MSIX_ENTRY_SIZE;
	pba_bar = pba & PCI_MSIX_PBA_BIR;
	pba_off = pba & PCI_MSIX_PBA_OFFSET;
	pba_size = DIV_ROUND_UP(nvec, 64) * 8;
	if (!zpci_io_bar_holds(pdev, pba_bar, pba_off, pba_size))
		return;

	m->table_bar = core->msix_bar;
	m->table_offset = core->msix_offset;
	m->table_size = core->msix_size;
	m->pba_bar = pba_bar;
	m->pba_offset = pba_off;
	m->pba_size = pba_size;
	m->present = true;
	m->fence_all = false;
}

/*
 * (Re)build what the feature reports and checks for this function from the
 * platform's description, the administrator's overrides and the MSI-X
 * location last read (kept as it is).  Called at probe, at open and when
 * the administrator changes an override, with func_lock held: nothing here
 * sleeps.
 */
static void zpci_io_describe_locked(struct zpci_io_device *zio)
{
	struct pci_dev *pdev = zio->core.pdev;
	struct zpci_dev *zdev = to_zpci(pdev);
	struct zpci_io_func *f = &zio->func;
	bool relaxed;
	int i;

	lockdep_assert_held(&zio->func_lock);
	memset(&f->caps, 0, sizeof(f->caps));
	f->info_flags = 0;
	f->fid = zdev->fid;
	f->uid = zdev->uid;
	/*
	 * The function's own limit (vfio's CLP group info says 128), or
	 * the lower one the administrator set.
	 */
	f->caps.maxstbl = zdev->maxstbl;
	if (zio->maxstbl_limit != ZPCI_IO_MAXSTBL_AUTO &&
	    zio->maxstbl_limit < f->caps.maxstbl)
		f->caps.maxstbl = zio->maxstbl_limit;
	f->caps.pft = zdev->pft;
	for (i = 0; i < ZPCI_NUM_BARS; i++) {
		u64 len = pci_resource_len(pdev, i);

		if (!len || !(pci_resource_flags(pdev, i) & IORESOURCE_MEM))
			continue;
		f->caps.bar_mask |= BIT(i);
		f->caps.bar_size[i] = len;
	}

	/*
	 * No platform interface reports relaxed alignment; ISM (PFT 5) has
	 * it.  The administrator may say otherwise through sysfs.
	 */
	switch (zio->relaxed_mode) {
	case ZPCI_IO_RELAXED_ON:
		relaxed = true;
		f->info_flags |= ZPCI_IO_INFO_RELAXED_OVERRIDE;
		break;
	case ZPCI_IO_RELAXED_OFF:
		relaxed = false;
		f->info_flags |= ZPCI_IO_INFO_RELAXED_OVERRIDE;
		break;
	default:
		relaxed = zdev->pft == ZPCI_PFT_ISM;
		break;
	}
	if (relaxed) {
		f->caps.flags |= ZPCI_CAPS_RELAXED;
		f->info_flags |= ZPCI_IO_INFO_RELAXED;
	}

	/*
	 * ISM's DMB space (BAR 0) takes PCISTB only; nothing reports which
	 * address spaces refuse PCISTG, so the administrator may name them.
	 */
	f->caps.pcistg_mask = f->caps.bar_mask;
	if (zio->nostg_bars != ZPCI_IO_NOSTG_AUTO)
		f->caps.pcistg_mask &= ~zio->nostg_bars;
	else if (zdev->pft == ZPCI_PFT_ISM)
		f->caps.pcistg_mask &= ~BIT(0);

	if (f->msix.present)
		f->info_flags |= ZPCI_IO_INFO_MSIX;
	if (f->msix.fence_all)
		f->info_flags |= ZPCI_IO_INFO_FENCED;
}

static void zpci_io_describe(struct zpci_io_device *zio)
{
	spin_lock(&zio->func_lock);
	zpci_io_describe_locked(zio);
	spin_unlock(&zio->func_lock);
}

static void zpci_io_fill_info(const struct zpci_io_func *f,
			      struct zpci_io_info *info)
{
	int i;

	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->abi_version = ZPCI_IO_ABI_VERSION;
	info->abi_min_compat = ZPCI_IO_ABI_MIN_COMPAT;
	info->flags = f->info_flags;
	info->features = ZPCI_IO_FEAT_PCISTB | ZPCI_IO_FEAT_PCISTG |
			 ZPCI_IO_FEAT_PCILG | ZPCI_IO_FEAT_STATUS;
	info->fid = f->fid;
	info->uid = f->uid;
	info->bar_mask = f->caps.bar_mask;
	info->pcistg_mask = f->caps.pcistg_mask;
	info->msix_table_bar = f->msix.table_bar;
	info->msix_pba_bar = f->msix.pba_bar;
	info->maxstbl = f->caps.maxstbl;
	info->max_ops = ZPCI_IO_MAX_OPS;
	info->max_req_size = ZPCI_IO_MAX_REQ_SIZE;
	info->req_hdr_size = sizeof(struct zpci_io_req);
	info->op_size = sizeof(struct zpci_io_op);
	for (i = 0; i < ZPCI_NUM_BARS; i++)
		info->bar_size[i] = f->caps.bar_size[i];
	info->msix_table_offset = f->msix.table_offset;
	info->msix_table_size = f->msix.table_size;
	info->msix_pba_offset = f->msix.pba_offset;
	info->msix_pba_size = f->msix.pba_size;
}

/*
 * GET: min(argsz, sizeof(info)) bytes, their count in info.argsz, so that
 * a caller that knows a shorter (older) struct is never overrun.
 */
static int zpci_io_get_info(struct zpci_io_device *zio, void __user *arg,
			    size_t argsz)
{
	struct zpci_io_info info;
	struct zpci_io_func f;
	size_t n = min(argsz, sizeof(info));

	/* never behind a request: a snapshot of the description */
	zpci_io_func_snapshot(zio, &f);
	zpci_io_fill_info(&f, &info);
	if (zpci_io_func_error(zio))
		info.flags |= ZPCI_IO_INFO_FUNC_ERROR;
	info.argsz = n;
	return copy_to_user(arg, &info, n) ? -EFAULT : 0;
}

/*
 * VFIO_DEVICE_FEATURE: ZPCI_IO_FEATURE is ours (GET: the info block, SET:
 * a request; PROBE answers for both), every other feature is vfio-pci's,
 * untouched.
 */
static int zpci_io_device_feature(struct vfio_device *vdev, u32 flags,
				  void __user *arg, size_t argsz)
{
	struct vfio_pci_core_device *core =
		container_of(vdev, struct vfio_pci_core_device, vdev);
	struct zpci_io_device *zio = zpci_io_from_core(core);
	size_t minsz = flags & VFIO_DEVICE_FEATURE_SET ? ZPCI_IO_REQ_MIN_SIZE :
			ZPCI_IO_INFO_GET_MIN;
	int ret;

	if ((flags & VFIO_DEVICE_FEATURE_MASK) != ZPCI_IO_FEATURE)
		return vfio_pci_core_ioctl_feature(vdev, flags, arg, argsz);
	ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_GET |
				 VFIO_DEVICE_FEATURE_SET, minsz);
	if (ret != 1)
		return ret;
	if (flags & VFIO_DEVICE_FEATURE_SET)
		return zpci_io_submit(zio, arg, argsz);
	return zpci_io_get_info(zio, arg, argsz);
}

static int zpci_io_open_device(struct vfio_device *vdev)
{
	struct vfio_pci_core_device *core =
		container_of(vdev, struct vfio_pci_core_device, vdev);
	struct zpci_io_device *zio = zpci_io_from_core(core);
	struct zpci_io_msix msix;
	int ret;

	ret = vfio_pci_core_enable(core);
	if (ret)
		return ret;

	/* the core has just read the MSI-X capability: fence from that */
	zpci_io_read_msix(zio, &msix);
	spin_lock(&zio->func_lock);
	zio->func.msix = msix;
	zpci_io_describe_locked(zio);
	spin_unlock(&zio->func_lock);
	if (msix.fence_all)
		pci_warn(core->pdev,
			 "zpci_io: MSI-X table/PBA location unknown, every BAR is fenced\n");

	vfio_pci_core_finish_enable(core);
	return 0;
}

static int zpci_io_init_dev(struct vfio_device *vdev)
{
	struct vfio_pci_core_device *core =
		container_of(vdev, struct vfio_pci_core_device, vdev);
	struct zpci_io_device *zio = zpci_io_from_core(core);
	int ret;

	spin_lock_init(&zio->func_lock);
	spin_lock_init(&zio->err_lock);
	zio->err_ctx = NULL;
	INIT_LIST_HEAD(&zio->node);
	zio->relaxed_mode = ZPCI_IO_RELAXED_AUTO;
	zio->nostg_bars = ZPCI_IO_NOSTG_AUTO;
	zio->maxstbl_limit = ZPCI_IO_MAXSTBL_AUTO;
	zio->gone = false;
	zio->err_state = ZPCI_IO_ERR_NONE;
	ratelimit_state_init(&zio->dbf_rs, ZPCI_IO_DBF_INTERVAL,
			     ZPCI_IO_DBF_BURST);
	/* drops are told in the trace itself, never in the kernel log */
	ratelimit_set_flags(&zio->dbf_rs, RATELIMIT_MSG_ON_RELEASE);
	atomic_set(&zio->dbf_dropped, 0);
	/* until the first open has read it: fail closed */
	zio->func.msix.fence_all = true;
	zio->func.msix.table_bar = ZPCI_IO_NO_BAR;
	zio->func.msix.pba_bar = ZPCI_IO_NO_BAR;

	/* the single-instruction path's buffer: no allocation per request */
	zio->spare = (void *)__get_free_pages(GFP_KERNEL, ZPCI_IO_SPARE_ORDER);
	if (!zio->spare)
		return -ENOMEM;

	ret = vfio_pci_core_init_dev(vdev);
	if (ret)
		free_pages((unsigned long)zio->spare, ZPCI_IO_SPARE_ORDER);
	return ret;
}

static void zpci_io_release_dev(struct vfio_device *vdev)
{
	struct vfio_pci_core_device *core =
		container_of(vdev, struct vfio_pci_core_device, vdev);
	struct zpci_io_device *zio = zpci_io_from_core(core);

	/* no request runs any more: the buffer is back in its slot */
	free_pages((unsigned long)zio->spare, ZPCI_IO_SPARE_ORDER);
	vfio_pci_core_release_dev(vdev);
}

/*
 * vfio asks user space to release the device because the function is being
 * removed (hot-unplug, unbind) and waits for it.  Mark the function gone
 * first, so that every request from now on fails with ENODEV instead of
 * issuing to a function the platform is taking away; a request that is
 * running stops before its next op, so an ISM move cannot signal after the
 * removal started.  The store is ordered before the user's wake-up by the
 * eventfd signal in vfio_pci_core_request().  zio stays valid: vfio calls
 * this while the device is still registered, and frees it only after the
 * last close (zpci_io_release_dev()).
 */
static void zpci_io_request(struct vfio_device *vdev, unsigned int count)
{
	struct vfio_pci_core_device *core =
		container_of(vdev, struct vfio_pci_core_device, vdev);
	struct zpci_io_device *zio = zpci_io_from_core(core);

	WRITE_ONCE(zio->gone, true);
	vfio_pci_core_request(vdev, count);
}

/*
 * vfio-pci encodes the region index in bit 40 and up of the file offset,
 * so a BAR larger than 1 TiB (ISM's BAR 0 is 256 TiB) cannot be reached
 * whole through its standard region.  Such a BAR is not offered there:
 * its region info says size 0 and no access, read and write are refused.
 * Requests of the zPCI I/O feature, whose ops carry 64-bit offsets, reach
 * all of it.
 */
static bool zpci_io_bar_too_big(struct vfio_pci_core_device *core,
				unsigned int index)
{
	return index <= VFIO_PCI_BAR5_REGION_INDEX &&
	       pci_resource_len(core->pdev, index) > VFIO_PCI_OFFSET_MASK + 1;
}

#ifdef ZPCI_IO_HAVE_GET_REGION_INFO_CAPS
static int zpci_io_get_region_info_caps(struct vfio_device *vdev,
					struct vfio_region_info *info,
					struct vfio_info_cap *caps)
{
	struct vfio_pci_core_device *core =
		container_of(vdev, struct vfio_pci_core_device, vdev);
	int ret = vfio_pci_ioctl_get_region_info(vdev, info, caps);

	if (!ret && zpci_io_bar_too_big(core, info->index)) {
		info->size = 0;
		info->flags = 0;
	}
	return ret;
}
#else
/*
 * Kernels without .get_region_info_caps: answer GET_REGION_INFO for a
 * BAR region ourselves, from one copy of the request in kernel memory,
 * written back once; never read back what the core wrote (user space may
 * change it in between).  A BAR region has no capabilities here: s390
 * offers no BAR mmap, and a BAR the core could mmap is left to the core.
 * Everything else is the core's, untouched.
 */
static long zpci_io_region_info(struct vfio_device *vdev, unsigned long arg)
{
	struct vfio_pci_core_device *core =
		container_of(vdev, struct vfio_pci_core_device, vdev);
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	void __user *uarg = (void __user *)arg;
	struct vfio_region_info info;
	unsigned int index;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	index = info.index;
	if (index > VFIO_PCI_BAR5_REGION_INDEX ||
	    (core->bar_mmap_supported[index] &&
	     !zpci_io_bar_too_big(core, index)))
		return vfio_pci_core_ioctl(vdev, VFIO_DEVICE_GET_REGION_INFO,
					   arg);

	info.offset = VFIO_PCI_INDEX_TO_OFFSET(index);
	info.size = pci_resource_len(core->pdev, index);
	info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	info.cap_offset = 0;
	if (!info.size || zpci_io_bar_too_big(core, index)) {
		info.size = 0;
		info.flags = 0;
	}
	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}
#endif

/*
 * vfio's error interrupt (VFIO_PCI_ERR_IRQ_INDEX).  vfio-pci-core offers
 * it only for PCI Express functions (it stands for AER there), but on s390
 * every function can enter the error state and be recovered by the
 * platform, so zpci_io offers it for the others too, with its own eventfd,
 * signalled from zpci_io_error_detected().  For a PCI Express function the
 * core's stays.
 */
static bool zpci_io_own_err_irq(struct vfio_pci_core_device *core,
				unsigned int index)
{
	return index == VFIO_PCI_ERR_IRQ_INDEX && !pci_is_pcie(core->pdev);
}

/* Replaces the error eventfd (NULL: none); drops the old one. */
static void zpci_io_set_err_ctx(struct zpci_io_device *zio,
				struct eventfd_ctx *ctx)
{
	struct eventfd_ctx *old;

	spin_lock(&zio->err_lock);
	old = zio->err_ctx;
	zio->err_ctx = ctx;
	spin_unlock(&zio->err_lock);
	if (old)
		eventfd_ctx_put(old);
}

static void zpci_io_signal_err(struct zpci_io_device *zio)
{
	spin_lock(&zio->err_lock);
	if (zio->err_ctx)
		eventfd_signal(zio->err_ctx);
	spin_unlock(&zio->err_lock);
}

static long zpci_io_err_irq_info(struct vfio_device *vdev, unsigned long arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	if (!zpci_io_own_err_irq(container_of(vdev, struct vfio_pci_core_device,
					      vdev), info.index))
		return vfio_pci_core_ioctl(vdev, VFIO_DEVICE_GET_IRQ_INFO, arg);
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	info.count = 1;
	return copy_to_user((void __user *)arg, &info, minsz) ? -EFAULT : 0;
}

/*
 * SET_IRQS for the error interrupt, as vfio-pci-core does it for its own:
 * trigger only; an eventfd (-1: none), or count 0 to drop it; DATA_NONE
 * or a true DATA_BOOL signals it (a loopback test).
 */
static long zpci_io_err_set_irqs(struct vfio_device *vdev, unsigned long arg)
{
	struct vfio_pci_core_device *core =
		container_of(vdev, struct vfio_pci_core_device, vdev);
	struct zpci_io_device *zio = zpci_io_from_core(core);
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	struct eventfd_ctx *ctx;
	size_t data_size = 0;
	u8 data[sizeof(s32)];
	s32 fd;
	int ret;

	if (copy_from_user(&hdr, (void __user *)arg, minsz))
		return -EFAULT;
	if (!zpci_io_own_err_irq(core, hdr.index))
		return vfio_pci_core_ioctl(vdev, VFIO_DEVICE_SET_IRQS, arg);
	ret = vfio_set_irqs_validate_and_prepare(&hdr, 1, VFIO_PCI_NUM_IRQS,
						 &data_size);
	if (ret)
		return ret;
	if (!(hdr.flags & VFIO_IRQ_SET_ACTION_TRIGGER))
		return -EINVAL;
	if (data_size > sizeof(data))
		return -EINVAL;
	if (data_size &&
	    copy_from_user(data, (void __user *)(arg + minsz), data_size))
		return -EFAULT;

	if (hdr.flags & VFIO_IRQ_SET_DATA_NONE) {
		if (hdr.count)
			zpci_io_signal_err(zio);
		else
			zpci_io_set_err_ctx(zio, NULL);
		return 0;
	}
	if (hdr.flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (data[0])
			zpci_io_signal_err(zio);
		return 0;
	}
	memcpy(&fd, data, sizeof(fd));
	if (fd == -1) {
		zpci_io_set_err_ctx(zio, NULL);
		return 0;
	}
	ctx = eventfd_ctx_fdget(fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	zpci_io_set_err_ctx(zio, ctx);
	return 0;
}

static long zpci_io_ioctl(struct vfio_device *vdev, unsigned int cmd,
			  unsigned long arg)
{
	switch (cmd) {
	case VFIO_DEVICE_GET_IRQ_INFO:
		return zpci_io_err_irq_info(vdev, arg);
	case VFIO_DEVICE_SET_IRQS:
		return zpci_io_err_set_irqs(vdev, arg);
#ifndef ZPCI_IO_HAVE_GET_REGION_INFO_CAPS
	case VFIO_DEVICE_GET_REGION_INFO:
		return zpci_io_region_info(vdev, arg);
#endif
	default:
		return vfio_pci_core_ioctl(vdev, cmd, arg);
	}
}

/*
 * The last user is gone: no request runs, the large buffer goes, and so
 * does the error eventfd.
 */
static void zpci_io_close_device(struct vfio_device *vdev)
{
	struct vfio_pci_core_device *core =
		container_of(vdev, struct vfio_pci_core_device, vdev);
	struct zpci_io_device *zio = zpci_io_from_core(core);

	vfree(xchg(&zio->big, NULL));
	zpci_io_set_err_ctx(zio, NULL);
	vfio_pci_core_close_device(vdev);
}

/*
 * For a relaxed-alignment (ISM) function without MSI-X, the standard BAR
 * regions are served with function-handle instructions (zpci_io_bar_rw());
 * everything else is vfio-pci's.  With MSI-X the core's path stays, as it
 * knows to keep user space off the table.
 */
static bool zpci_io_own_bar(struct zpci_io_device *zio, loff_t pos,
			    struct zpci_io_func *f)
{
	unsigned int index = VFIO_PCI_OFFSET_TO_INDEX(pos);

	if (index > VFIO_PCI_BAR5_REGION_INDEX)
		return false;
	zpci_io_func_snapshot(zio, f);
	return (f->caps.flags & ZPCI_CAPS_RELAXED) && !f->msix.present &&
	       !f->msix.fence_all && !zio->core.pdev->msix_cap;
}

static ssize_t zpci_io_bar_access(struct vfio_device *vdev, char __user *buf,
				  size_t count, loff_t *ppos, bool iswrite)
{
	struct vfio_pci_core_device *core =
		container_of(vdev, struct vfio_pci_core_device, vdev);
	struct zpci_io_device *zio = zpci_io_from_core(core);
	struct zpci_io_func f;
	ssize_t ret;

	if (zpci_io_bar_too_big(core, VFIO_PCI_OFFSET_TO_INDEX(*ppos)))
		return -EINVAL;
	if (!zpci_io_own_bar(zio, *ppos, &f))
		return iswrite ?
		       vfio_pci_core_write(vdev, (const char __user *)buf, count,
					   ppos) :
		       vfio_pci_core_read(vdev, buf, count, ppos);
	ret = zpci_io_bar_rw(zio, &f, VFIO_PCI_OFFSET_TO_INDEX(*ppos), buf,
			     count, *ppos & VFIO_PCI_OFFSET_MASK, iswrite);
	if (ret > 0)
		*ppos += ret;
	return ret;
}

static ssize_t zpci_io_read(struct vfio_device *vdev, char __user *buf,
			    size_t count, loff_t *ppos)
{
	return zpci_io_bar_access(vdev, buf, count, ppos, false);
}

static ssize_t zpci_io_write(struct vfio_device *vdev, const char __user *buf,
			     size_t count, loff_t *ppos)
{
	return zpci_io_bar_access(vdev, (char __user *)buf, count, ppos, true);
}

static const struct vfio_device_ops zpci_io_vfio_ops = {
	.name = "zpci-io-vfio-pci",
	.init = zpci_io_init_dev,
	.release = zpci_io_release_dev,
	.open_device = zpci_io_open_device,
	.close_device = zpci_io_close_device,
	.ioctl = zpci_io_ioctl,
#ifdef ZPCI_IO_HAVE_GET_REGION_INFO_CAPS
	.get_region_info_caps = zpci_io_get_region_info_caps,
#endif
	.device_feature = zpci_io_device_feature,
	.read = zpci_io_read,
	.write = zpci_io_write,
	.mmap = vfio_pci_core_mmap,
	.request = zpci_io_request,
	.match = vfio_pci_core_match,
#ifdef ZPCI_IO_HAVE_MATCH_TOKEN_UUID
	.match_token_uuid = vfio_pci_core_match_token_uuid,
#endif
	.bind_iommufd = vfio_iommufd_physical_bind,
	.unbind_iommufd = vfio_iommufd_physical_unbind,
	.attach_ioas = vfio_iommufd_physical_attach_ioas,
	.detach_ioas = vfio_iommufd_physical_detach_ioas,
#ifdef ZPCI_IO_HAVE_PASID_ATTACH_IOAS
	.pasid_attach_ioas = vfio_iommufd_physical_pasid_attach_ioas,
	.pasid_detach_ioas = vfio_iommufd_physical_pasid_detach_ioas,
#endif
};

/*
 * /sys/bus/pci/devices/<addr>/zpci_io_relaxed: "auto" (relaxed alignment
 * when the function is ISM, PFT 5), "on" or "off".  Root only; takes
 * effect for the next request.
 */
static const char * const zpci_io_relaxed_names[] = {
	[ZPCI_IO_RELAXED_AUTO] = "auto",
	[ZPCI_IO_RELAXED_ON] = "on",
	[ZPCI_IO_RELAXED_OFF] = "off",
};

static struct zpci_io_device *zpci_io_from_dev(struct device *dev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(dev);

	return core ? zpci_io_from_core(core) : NULL;
}

static ssize_t zpci_io_relaxed_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct zpci_io_device *zio = zpci_io_from_dev(dev);
	enum zpci_io_relaxed_mode mode;

	if (!zio)
		return -ENODEV;
	spin_lock(&zio->func_lock);
	mode = zio->relaxed_mode;
	spin_unlock(&zio->func_lock);
	return sysfs_emit(buf, "%s\n", zpci_io_relaxed_names[mode]);
}

static ssize_t zpci_io_relaxed_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t count)
{
	struct zpci_io_device *zio = zpci_io_from_dev(dev);
	int mode;

	if (!zio)
		return -ENODEV;
	mode = sysfs_match_string(zpci_io_relaxed_names, buf);
	if (mode < 0)
		return -EINVAL;
	spin_lock(&zio->func_lock);
	zio->relaxed_mode = mode;
	zpci_io_describe_locked(zio);
	spin_unlock(&zio->func_lock);
	return count;
}

static DEVICE_ATTR_RW(zpci_io_relaxed);

/*
 * /sys/bus/pci/devices/<addr>/zpci_io_nostg_bars: "auto" (BAR 0 when the
 * function is ISM, none otherwise) or a mask of the BARs that refuse
 * PCISTG (0x0..0x3f, bit n = BAR n).  Root only; next request.
 */
static ssize_t zpci_io_nostg_bars_show(struct device *dev,
				       struct device_attribute *attr,
				       char *buf)
{
	struct zpci_io_device *zio = zpci_io_from_dev(dev);
	int mask;

	if (!zio)
		return -ENODEV;
	spin_lock(&zio->func_lock);
	mask = zio->nostg_bars;
	spin_unlock(&zio->func_lock);
	if (mask == ZPCI_IO_NOSTG_AUTO)
		return sysfs_emit(buf, "auto\n");
	return sysfs_emit(buf, "%#x\n", mask);
}

static ssize_t zpci_io_nostg_bars_store(struct device *dev,
					struct device_attribute *attr,
					const char *buf, size_t count)
{
	struct zpci_io_device *zio = zpci_io_from_dev(dev);
	unsigned int mask;
	int val, ret;

	if (!zio)
		return -ENODEV;
	if (sysfs_streq(buf, "auto")) {
		val = ZPCI_IO_NOSTG_AUTO;
	} else {
		ret = kstrtouint(buf, 0, &mask);
		if (ret)
			return ret;
		if (mask & ~0x3fU)
			return -EINVAL;
		val = mask;
	}
	spin_lock(&zio->func_lock);
	zio->nostg_bars = val;
	zpci_io_describe_locked(zio);
	spin_unlock(&zio->func_lock);
	return count;
}

static DEVICE_ATTR_RW(zpci_io_nostg_bars);

/*
 * /sys/bus/pci/devices/<addr>/zpci_io_maxstbl: "auto" (the function's
 * maxstbl) or a lower limit for PCISTB, 0..4096 (0: no PCISTB at all; a
 * value above the function's own has no effect).  PCILG and PCISTG do not
 * depend on it.  Root only; next request.
 */
static ssize_t zpci_io_maxstbl_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct zpci_io_device *zio = zpci_io_from_dev(dev);
	int limit;

	if (!zio)
		return -ENODEV;
	spin_lock(&zio->func_lock);
	limit = zio->maxstbl_limit;
	spin_unlock(&zio->func_lock);
	if (limit == ZPCI_IO_MAXSTBL_AUTO)
		return sysfs_emit(buf, "auto\n");
	return sysfs_emit(buf, "%d\n", limit);
}

static ssize_t zpci_io_maxstbl_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t count)
{
	struct zpci_io_device *zio = zpci_io_from_dev(dev);
	unsigned int limit;
	int val, ret;

	if (!zio)
		return -ENODEV;
	if (sysfs_streq(buf, "auto")) {
		val = ZPCI_IO_MAXSTBL_AUTO;
	} else {
		ret = kstrtouint(buf, 0, &limit);
		if (ret)
			return ret;
		if (limit > ZPCI_MAXSTBL_LIMIT)
			return -EINVAL;
		val = limit;
	}
	spin_lock(&zio->func_lock);
	zio->maxstbl_limit = val;
	zpci_io_describe_locked(zio);
	spin_unlock(&zio->func_lock);
	return count;
}

static DEVICE_ATTR_RW(zpci_io_maxstbl);

static struct attribute *zpci_io_attrs[] = {
	&dev_attr_zpci_io_relaxed.attr,
	&dev_attr_zpci_io_nostg_bars.attr,
	&dev_attr_zpci_io_maxstbl.attr,
	NULL,
};
ATTRIBUTE_GROUPS(zpci_io);

static int zpci_io_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct zpci_io_device *zio;
	int ret;

	/* only zPCI functions have a function handle to issue with */
	if (!to_zpci(pdev))
		return -ENODEV;

	zio = vfio_alloc_device(zpci_io_device, core.vdev, &pdev->dev,
				&zpci_io_vfio_ops);
	if (IS_ERR(zio))
		return PTR_ERR(zio);

	dev_set_drvdata(&pdev->dev, &zio->core);
	zpci_io_describe(zio);

	ret = vfio_pci_core_register_device(&zio->core);
	if (ret) {
		vfio_put_device(&zio->core.vdev);
		return ret;
	}

	mutex_lock(&zpci_io_list_lock);
	list_add_tail(&zio->node, &zpci_io_devices);
	mutex_unlock(&zpci_io_list_lock);

	pci_info(pdev, "zpci_io: fid %#x pft %u maxstbl %u bars %#x\n",
		 zio->func.fid, zio->func.caps.pft, zio->func.caps.maxstbl,
		 zio->func.caps.bar_mask);
	return 0;
}

static void zpci_io_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);
	struct zpci_io_device *zio = zpci_io_from_core(core);

	/* netlink readers hold the list lock while they look at zio */
	mutex_lock(&zpci_io_list_lock);
	list_del_init(&zio->node);
	mutex_unlock(&zpci_io_list_lock);

	vfio_pci_core_unregister_device(core);
	vfio_put_device(&core->vdev);
}

/*
 * PCI error recovery.  On an error event s390's recovery
 * (arch/s390/pci/pci_event.c) runs only if the bound driver has
 * error_detected, slot_reset and resume; without them the function stays
 * in the error state until it is unbound.  All three run under the
 * device lock (and the zPCI function's state lock), never concurrently
 * with probe or remove.
 *
 * error_detected: mark the function first, so that a running request
 * stops before its next op and every later one is refused (EIO,
 * ZPCI_IO_STATUS_FUNC_ERROR), then wait for the running requests to end
 * (they issue under vfio's memory_lock, read side, held only while
 * instructions are issued, never across a user-space fault; taking the
 * write side once waits for them), so that nothing is issued while the
 * platform resets the function.  Then tell the vfio owner through vfio's error
 * interrupt, as vfio-pci does.  A permanent failure keeps the mark.
 */
static pci_ers_result_t zpci_io_error_detected(struct pci_dev *pdev,
					       pci_channel_state_t state)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);
	struct zpci_io_device *zio = zpci_io_from_core(core);
	bool perm = state == pci_channel_io_perm_failure;

	WRITE_ONCE(zio->err_state, perm ? ZPCI_IO_ERR_PERM : ZPCI_IO_ERR_FROZEN);
	down_write(&core->memory_lock);
	up_write(&core->memory_lock);
	pci_info(pdev, "zpci_io: function error (%s), requests refused until %s\n",
		 perm ? "permanent" : "frozen", perm ? "unbind" : "recovery");
	/* the core's trigger (PCI Express functions), else our own */
	vfio_pci_core_aer_err_detected(pdev, state);
	zpci_io_signal_err(zio);
	/* s390's recovery resets (disables and enables) the function */
	return perm ? PCI_ERS_RESULT_DISCONNECT : PCI_ERS_RESULT_NEED_RESET;
}

/*
 * After the platform reset: put back the config space the PCI core saved
 * (vfio-pci-core saves it when the device is opened).  The function has a
 * new handle now, which every instruction reads afresh.
 */
static pci_ers_result_t zpci_io_slot_reset(struct pci_dev *pdev)
{
	pci_restore_state(pdev);
	pci_save_state(pdev);
	return PCI_ERS_RESULT_RECOVERED;
}

/* The recovery succeeded: requests run again. */
static void zpci_io_resume(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);
	struct zpci_io_device *zio = zpci_io_from_core(core);

	if (READ_ONCE(zio->err_state) != ZPCI_IO_ERR_FROZEN)
		return;
	WRITE_ONCE(zio->err_state, ZPCI_IO_ERR_NONE);
	pci_info(pdev, "zpci_io: recovered, fh %#x\n", to_zpci(pdev)->fh);
}

static const struct pci_error_handlers zpci_io_err_handlers = {
	.error_detected = zpci_io_error_detected,
	.slot_reset = zpci_io_slot_reset,
	.resume = zpci_io_resume,
};

static const struct pci_device_id zpci_io_table[] = {
	/* driver_override only: never claims a function on its own */
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(PCI_ANY_ID, PCI_ANY_ID) },
	{}
};
MODULE_DEVICE_TABLE(pci, zpci_io_table);

static struct pci_driver zpci_io_driver = {
	.name = KBUILD_MODNAME,
	.id_table = zpci_io_table,
	.probe = zpci_io_probe,
	.remove = zpci_io_remove,
	.err_handler = &zpci_io_err_handlers,
	.dev_groups = zpci_io_groups,
	.driver_managed_dma = true,
};

static int __init zpci_io_init(void)
{
	int ret;

	/* 4 pages, one area, records of a format pointer and 10 arguments */
	zpci_io_dbf = debug_register("zpci_io", 4, 1, 11 * sizeof(long));
	if (zpci_io_dbf)
		debug_register_view(zpci_io_dbf, &debug_sprintf_view);
	ret = zpci_io_nl_init();
	if (ret)
		goto out_dbf;
	ret = pci_register_driver(&zpci_io_driver);
	if (ret)
		goto out_nl;
	return 0;
out_nl:
	zpci_io_nl_exit();
out_dbf:
	debug_unregister(zpci_io_dbf);
	return ret;
}

static void __exit zpci_io_exit(void)
{
	pci_unregister_driver(&zpci_io_driver);
	zpci_io_nl_exit();
	debug_unregister(zpci_io_dbf);
}

module_init(zpci_io_init);
module_exit(zpci_io_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-pci variant driver with a zPCI I/O device feature for batched PCISTB/PCISTG/PCILG");
MODULE_VERSION("3.0");
