/* SPDX-License-Identifier: MIT */
/*
 * The acceptance consumer of libzpci's emulator API: what a QEMU s390x
 * patch does with it, as a C11 program that includes nothing of libzpci but
 * <zpci/zpci.h> (it also compiles as C++17) and builds with QEMU's warning
 * flags.
 *
 *   emulator_consumer SPEC                  zpci_open(SPEC): sim:strict,
 *                                           sim:ism, region:<pci-addr>, ...
 *   emulator_consumer --borrow-group ADDR   open the vfio device the way
 *                                           QEMU does (container + group +
 *                                           VFIO_GROUP_GET_DEVICE_FD), turn
 *                                           memory decode on, then
 *                                           zpci_borrow_fd()
 *   options: --bar N --offset X             where to write (default: the
 *                                           first BAR taking PCISTG, 0)
 *
 * It prints the path decision, narrows the handle to the caps a guest would
 * be told, and issues guest instructions with register values: a PCISTB,
 * PCISTGs and PCILGs whose data it checks, and refused ones whose outcome
 * (program exception, cc 1 + status, "emulate it yourself") it checks.
 * Exit status: 0 all outcomes as expected, 1 a mismatch, 2 usage or open
 * failure, 77 the device has no zPCI I/O region (stock path; a skip).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include <zpci/zpci.h>

#ifndef ZPCI_CONSUMER_MAIN
#define ZPCI_CONSUMER_MAIN main
#else
int ZPCI_CONSUMER_MAIN(int argc, char **argv);
#endif

static int failures;

static void check(int ok, const char *what, int rc, const struct zpci_status *st)
{
	printf("%-52s %s", what, ok ? "ok" : "MISMATCH");
	printf("  (rc %d, action %u, cc %u, status %u, pgm 0x%02x%s%s)\n", rc,
	       (unsigned int)st->action, (unsigned int)st->cc,
	       (unsigned int)st->status, (unsigned int)st->pgm,
	       rc ? ": " : "", rc ? zpci_status_str(rc, st) : "");
	if (!ok)
		failures++;
}

/* What QEMU's vfio code does for a group-mode device. */
struct vfio_dev {
	int container, group, device;
};

static int vfio_open_group(const char *addr, struct vfio_dev *v)
{
	char link[256], target[256], path[300];
	const char *slash;
	struct vfio_group_status gs;
	struct vfio_region_info ri;
	ssize_t n;
	uint16_t cmd;

	v->container = v->group = v->device = -1;
	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", addr);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	slash = strrchr(target, '/');
	snprintf(path, sizeof(path), "/dev/vfio/%s", slash ? slash + 1 : target);

	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return -errno;
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return -EPROTO;
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		return -errno;
	memset(&gs, 0, sizeof(gs));
	gs.argsz = sizeof(gs);
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &gs) < 0)
		return -errno;
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0)
		return -errno;
	if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return -errno;
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, addr);
	if (v->device < 0)
		return -errno;

	/* The guest turns memory decode on before it touches BARs. */
	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
		return -errno;
	if (pread(v->device, &cmd, 2, (off_t)(ri.offset + 4)) != 2)
		return -EIO;
	cmd |= 0x2;	/* PCI_COMMAND_MEMORY, little-endian like config space */
	if (pwrite(v->device, &cmd, 2, (off_t)(ri.offset + 4)) != 2)
		return -EIO;
	return 0;
}

static void vfio_close(struct vfio_dev *v)
{
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
}

static int first_stg_bar(const struct zpci_info *info)
{
	int b;

	for (b = 0; b < 6; b++)
		if ((info->bar_mask & info->pcistg_mask) & (1U << b))
			return b;
	return -1;
}

static int run(struct zpci_handle *h, int bar, uint64_t off)
{
	struct zpci_info info;
	struct zpci_decision d;
	struct zpci_status st = ZPCI_STATUS_INIT;
	unsigned char block[4096 + 8], back[4096];
	uint32_t blk, i;
	uint64_t v, want;
	int rc, b;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	if (zpci_get_info(h, &info) || zpci_decide_handle(h, &d)) {
		fprintf(stderr, "emulator_consumer: get_info/decide failed\n");
		return 2;
	}
	printf("libzpci %u.%u.%u, backend %u, fid 0x%x uid 0x%x pft %u maxstbl %u%s, "
	       "BARs 0x%02x (PCISTG 0x%02x), max_ops %u, driver ABI %u, MSI-X %s\n",
	       zpci_version() >> 16, (zpci_version() >> 8) & 0xff, zpci_version() & 0xff,
	       (unsigned int)info.backend, (unsigned int)info.fid, (unsigned int)info.uid,
	       (unsigned int)info.pft, (unsigned int)info.maxstbl,
	       info.relaxed ? " relaxed" : "", (unsigned int)info.bar_mask,
	       (unsigned int)info.pcistg_mask, (unsigned int)info.max_ops,
	       (unsigned int)info.driver_abi, info.has_msix ? "yes" : "no");
	printf("decision: %s: %s\n", zpci_path_name(d.path), d.reason);
	if (d.path == ZPCI_PATH_REFUSE || d.path == ZPCI_PATH_FALLBACK)
		return 77;

	/* What the guest is told through CLP. */
	rc = zpci_set_guest_caps(h, info.maxstbl, info.relaxed);
	if (rc) {
		fprintf(stderr, "emulator_consumer: set_guest_caps: %s\n", zpci_strerror(rc));
		return 2;
	}
	if (bar < 0)
		bar = first_stg_bar(&info);
	if (bar < 0 || bar > 5 || !(info.bar_mask & (1U << bar))) {
		fprintf(stderr, "emulator_consumer: no such BAR (or none takes PCISTG)\n");
		return 2;
	}
	blk = info.maxstbl < 256 ? info.maxstbl : 256;
	if (off + blk + 16 > info.bar_size[bar] || (off & 4095) + blk + 16 > 4096) {
		fprintf(stderr, "emulator_consumer: offset 0x%" PRIx64 " does not fit BAR %d\n",
			off, bar);
		return 2;
	}
	printf("BAR %d, offset 0x%" PRIx64 ", block %u bytes\n", bar, off, (unsigned int)blk);

	/* PCISTB from a host buffer that is NOT doubleword aligned; the guest's
	 * own source address is, so the store is legal. */
	for (i = 0; i < blk; i++)
		block[3 + i] = (unsigned char)(i * 13 + 7);
	rc = zpci_pcistb(h, (unsigned int)bar, off, block + 3, blk, 0x20000, &st);
	check(rc == 0 && st.action == ZPCI_ACT_NONE && st.done == 1, "PCISTB block", rc, &st);

	/* Read it back doubleword by doubleword: register values, big-endian. */
	for (i = 0; i < blk; i += 8) {
		unsigned int k;

		rc = zpci_pcilg(h, (unsigned int)bar, off + i, 8, &v, &st);
		if (rc)
			break;
		for (k = 0; k < 8; k++)
			back[i + k] = (unsigned char)(v >> (56 - 8 * k));
	}
	check(rc == 0 && memcmp(back, block + 3, blk) == 0, "PCILG x8 reads the block back",
	      rc, &st);

	/* PCISTG of a register, 8 and 4 bytes (odd offset), read back; a
	 * PCISTB-only BAR (ISM's data space) gets cc 1 status 20 instead. */
	want = 0x0123456789abcdefULL;
	if (!(info.pcistg_mask & (1U << bar))) {
		rc = zpci_pcistg(h, (unsigned int)bar, off + blk, 8, want, &st);
		check(rc == -EINVAL && st.action == ZPCI_ACT_CC && st.cc == 1 &&
		      st.status == 20, "PCISTG to this PCISTB-only BAR: cc 1 status 20", rc, &st);
		goto refusals;
	}
	rc = zpci_pcistg(h, (unsigned int)bar, off + blk, 8, want, &st);
	check(rc == 0 && st.action == ZPCI_ACT_NONE, "PCISTG 8 bytes", rc, &st);
	rc = zpci_pcilg(h, (unsigned int)bar, off + blk, 8, &v, &st);
	check(rc == 0 && v == want, "PCILG 8 bytes returns the register", rc, &st);
	rc = zpci_pcilg(h, (unsigned int)bar, off + blk, 1, &v, &st);
	check(rc == 0 && v == 0x01, "PCILG 1 byte is the most significant", rc, &st);
	rc = zpci_pcistg(h, (unsigned int)bar, off + blk + 9, 4, 0xffffffffcafef00dULL, &st);
	check(rc == 0, "PCISTG 4 bytes at an odd offset", rc, &st);
	rc = zpci_pcilg(h, (unsigned int)bar, off + blk + 9, 4, &v, &st);
	check(rc == 0 && v == 0xcafef00dULL, "PCILG 4 bytes returns the low word", rc, &st);

	/* Refusals, each with the outcome the guest must see. */
refusals:
	if (!info.relaxed) {
		rc = zpci_pcistb(h, (unsigned int)bar, off, block, blk, 0x20004, &st);
		check(rc == -EINVAL && st.action == ZPCI_ACT_PGM && st.pgm == 0x06 &&
		      (st.flags & ZPCI_STATUS_REJECTED),
		      "PCISTB, guest source misaligned: specification", rc, &st);
	} else {
		rc = zpci_pcistb(h, (unsigned int)bar, (off | 4095) - 7, block, 16, 0x20003, &st);
		check(rc == -EINVAL && st.action == ZPCI_ACT_PGM && st.pgm == 0x06,
		      "PCISTB across 4 KiB (relaxed): specification", rc, &st);
	}
	rc = zpci_pcilg(h, (unsigned int)bar, off + 4, 8, &v, &st);
	check(rc == -EINVAL && st.action == ZPCI_ACT_PGM && st.pgm == 0x15,
	      "PCILG across a doubleword: operand", rc, &st);
	rc = zpci_pcistg(h, 9, 0, 8, 0, &st);
	check(rc == -EINVAL && st.action == ZPCI_ACT_CC && st.cc == 1 && st.status == 20,
	      "PCISTG to address space 9: cc 1 status 20", rc, &st);
	for (b = 0; b < 6; b++) {
		if (!((info.bar_mask & ~info.pcistg_mask) & (1U << b)))
			continue;
		rc = zpci_pcistg(h, (unsigned int)b, 0, 8, 0, &st);
		check(rc == -EINVAL && st.action == ZPCI_ACT_CC && st.cc == 1 &&
		      st.status == 20, "PCISTG to a PCISTB-only BAR: cc 1 status 20", rc, &st);
	}
	rc = zpci_pcilg(h, 15, 0, 4, &v, &st);
	check(rc == -EACCES && st.action == ZPCI_ACT_EMULATE,
	      "PCILG config space: emulate (vfio config region)", rc, &st);
	if (info.has_msix && info.msix_table_size) {
		rc = zpci_pcilg(h, info.msix_table_bar, info.msix_table_offset, 8, &v, &st);
		check(rc == -EACCES && st.action == ZPCI_ACT_EMULATE,
		      "PCILG MSI-X table: emulate (MSI-X emulation)", rc, &st);
	}
	/* A NULL source is the emulator's bug, not the guest's. */
	rc = zpci_pcistb(h, (unsigned int)bar, off, NULL, blk, 0x20000, &st);
	check(rc == -EINVAL && st.action == ZPCI_ACT_HOST_ERROR, "PCISTB NULL source: host error",
	      rc, &st);
	return failures ? 1 : 0;
}

int ZPCI_CONSUMER_MAIN(int argc, char **argv)
{
	struct zpci_handle *h = NULL;
	struct vfio_dev v = { -1, -1, -1 };
	const char *spec = "sim:strict", *borrow = NULL;
	int bar = -1, rc, i;
	uint64_t off = 0;

	failures = 0;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--borrow-group") && i + 1 < argc)
			borrow = argv[++i];
		else if (!strcmp(argv[i], "--bar") && i + 1 < argc)
			bar = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--offset") && i + 1 < argc)
			off = strtoull(argv[++i], NULL, 0);
		else if (argv[i][0] != '-')
			spec = argv[i];
		else {
			fprintf(stderr, "usage: emulator_consumer [SPEC | --borrow-group ADDR] "
				"[--bar N] [--offset X]\n");
			return 2;
		}
	}
	if (borrow) {
		rc = vfio_open_group(borrow, &v);
		if (rc) {
			fprintf(stderr, "emulator_consumer: vfio %s: %s\n", borrow, zpci_strerror(rc));
			vfio_close(&v);
			return 2;
		}
		rc = zpci_borrow_fd(v.device, 0, &h);
		if (rc == -ENODEV) {
			printf("%s: no zPCI I/O region: the stock path stays\n", borrow);
			vfio_close(&v);
			return 77;
		}
	} else {
		rc = zpci_open(spec, &h);
	}
	if (rc) {
		fprintf(stderr, "emulator_consumer: %s: %s\n", borrow ? borrow : spec,
			zpci_strerror(rc));
		vfio_close(&v);
		return 2;
	}
	rc = run(h, bar, off);
	zpci_close(h);
	/* The borrowed fd is still ours (and open). */
	if (borrow && fcntl(v.device, F_GETFD) < 0) {
		printf("borrowed fd was closed by the library: MISMATCH\n");
		rc = 1;
	}
	vfio_close(&v);
	printf("%s\n", rc == 0 ? "PASS" : rc == 77 ? "SKIP" : "FAIL");
	return rc;
}
