// SPDX-License-Identifier: MIT
/*
 * Infrastructure smoke test for the s390x test guest (not the product's test
 * suite): open a PCI function bound to vfio-pci (or a vfio-pci variant
 * driver), pwrite a byte pattern into one BAR region and pread it back. The
 * host then checks the same bytes in the ivshmem backing file.
 *
 * usage: vfio_poke ADDR BAR OFFSET LEN SEED   (LEN 0: only open + region info)
 *   pattern byte i = (SEED + i * 7) & 0xff
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <linux/vfio_zdev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* print what vfio reports about the zPCI function (pft, maxstbl) */
static void print_zpci_caps(int dev)
{
	struct vfio_device_info *info;
	struct vfio_info_cap_header *hdr;
	__u32 argsz = sizeof(*info), off;

	for (;;) {
		info = calloc(1, argsz);
		if (!info)
			return;
		info->argsz = argsz;
		if (ioctl(dev, VFIO_DEVICE_GET_INFO, info)) {
			free(info);
			return;
		}
		if (info->argsz <= argsz)
			break;
		argsz = info->argsz;
		free(info);
	}
	if (!(info->flags & VFIO_DEVICE_FLAGS_CAPS))
		goto out;
	for (off = info->cap_offset; off; off = hdr->next) {
		if (off + sizeof(*hdr) > argsz)
			break;
		hdr = (struct vfio_info_cap_header *)((char *)info + off);
		if (hdr->id == VFIO_DEVICE_INFO_CAP_ZPCI_BASE) {
			struct vfio_device_info_cap_zpci_base *b = (void *)hdr;
			printf("vfio_poke: zpci base pft %u gid %u\n", b->pft, b->gid);
		} else if (hdr->id == VFIO_DEVICE_INFO_CAP_ZPCI_GROUP) {
			struct vfio_device_info_cap_zpci_group *g = (void *)hdr;
			printf("vfio_poke: zpci group maxstbl %u imaxstbl %u version %u flags 0x%llx\n",
			       g->maxstbl, hdr->version >= 2 ? g->imaxstbl : 0,
			       hdr->version, (unsigned long long)g->flags);
		}
	}
out:
	free(info);
}

static int fail(const char *what)
{
	fprintf(stderr, "vfio_poke: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	char path[256], link[256];
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	unsigned char *buf, *back;
	unsigned long off, len, seed, i;
	int container, group, dev, bar;
	ssize_t n;

	if (argc != 6) {
		fprintf(stderr, "usage: vfio_poke ADDR BAR OFFSET LEN SEED\n");
		return 2;
	}
	bar = atoi(argv[2]);
	off = strtoul(argv[3], NULL, 0);
	len = strtoul(argv[4], NULL, 0);
	seed = strtoul(argv[5], NULL, 0);
	if (bar < 0 || bar > 5 || len > (1UL << 20)) {
		fprintf(stderr, "vfio_poke: bad BAR or length\n");
		return 2;
	}

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", argv[1]);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return fail(path);
	link[n] = 0;
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return fail("/dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));
	group = open(path, O_RDWR);
	if (group < 0)
		return fail(path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return fail("group not viable");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		return fail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
		return fail("VFIO_SET_IOMMU");
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
	if (dev < 0)
		return fail("VFIO_GROUP_GET_DEVICE_FD");
	print_zpci_caps(dev);
	ri.index = VFIO_PCI_BAR0_REGION_INDEX + bar;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return fail("VFIO_DEVICE_GET_REGION_INFO");
	printf("vfio_poke: %s BAR %d size %llu flags 0x%x\n", argv[1], bar,
	       (unsigned long long)ri.size, ri.flags);
	if (len == 0)
		return 0;
	if (off > ri.size || len > ri.size - off) {
		fprintf(stderr, "vfio_poke: range outside the BAR\n");
		return 1;
	}
	buf = malloc(len);
	back = malloc(len);
	if (!buf || !back)
		return fail("malloc");
	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed + i * 7);
	n = pwrite(dev, buf, len, ri.offset + off);
	if (n != (ssize_t)len)
		return fail("pwrite");
	memset(back, 0, len);
	n = pread(dev, back, len, ri.offset + off);
	if (n != (ssize_t)len)
		return fail("pread");
	if (memcmp(buf, back, len)) {
		for (i = 0; i < len && buf[i] == back[i]; i++)
			;
		fprintf(stderr, "vfio_poke: read back differs at byte %lu\n", i);
		return 1;
	}
	printf("vfio_poke: OK %lu bytes at BAR %d + 0x%lx\n", len, bar, off);
	return 0;
}
