// SPDX-License-Identifier: MIT
/*
 * A program outside the project, built against the installed libzpci-dev
 * through pkg-config: the version it was compiled with must be the one it
 * runs with, and a 4 KiB write to the simulated strict function must come
 * back byte for byte, as 32 PCISTBs of 128 bytes (the simulator counts them).
 */
#include <stdio.h>
#include <string.h>
#include <zpci/zpci.h>

int main(void)
{
	/*
	 * PCISTB needs a doubleword-aligned source: an unaligned buffer is
	 * (correctly) planned as PCISTGs.  s390x gcc puts a plain char array
	 * on a 4-byte boundary, so the alignment is asked for.
	 */
	static _Alignas(4096) unsigned char out[4096], in[4096];
	struct zpci_sim_stats ss;
	struct zpci_handle *h;
	struct zpci_status st;
	unsigned int i;
	int rc;

	if (zpci_version() != ZPCI_VERSION_NUM) {
		fprintf(stderr, "consumer: built against 0x%x, runs with 0x%x\n",
			ZPCI_VERSION_NUM, zpci_version());
		return 1;
	}
	rc = zpci_open("sim:strict", &h);
	if (rc) {
		fprintf(stderr, "consumer: zpci_open(sim:strict): %s\n",
			zpci_strerror(rc));
		return 1;
	}
	for (i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)(i * 7 + 1);
	memset(&st, 0, sizeof(st));
	rc = zpci_write(h, 0, 0x1000, out, sizeof(out), &st);
	if (!rc)
		rc = zpci_read(h, 0, 0x1000, in, sizeof(in), &st);
	if (!rc)
		rc = zpci_get_sim_stats(h, &ss);
	if (rc) {
		fprintf(stderr, "consumer: %s\n", zpci_status_str(rc, &st));
		zpci_close(h);
		return 1;
	}
	zpci_close(h);
	if (memcmp(out, in, sizeof(out))) {
		fprintf(stderr, "consumer: read back differs\n");
		return 1;
	}
	/* 4 KiB aligned on a strict function: 32 PCISTBs of 128 bytes */
	if (ss.pcistb_ops != 32 || ss.pcistb_bytes != 4096 || ss.pcistg_ops) {
		fprintf(stderr, "consumer: sim stats %llu PCISTB ops, %llu bytes, %llu PCISTG ops; expected 32, 4096, 0\n",
			(unsigned long long)ss.pcistb_ops,
			(unsigned long long)ss.pcistb_bytes,
			(unsigned long long)ss.pcistg_ops);
		return 1;
	}
	printf("consumer: libzpci %u.%u.%u, 4096 bytes written and read back equal (sim stats: %llu PCISTB ops, %llu bytes)\n",
	       zpci_version() >> 16, (zpci_version() >> 8) & 0xff,
	       zpci_version() & 0xff, (unsigned long long)ss.pcistb_ops,
	       (unsigned long long)ss.pcistb_bytes);
	return 0;
}
