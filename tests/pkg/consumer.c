// SPDX-License-Identifier: MIT
/*
 * A program outside the project, built against the installed libzpci-dev
 * through pkg-config: the version it was compiled with must be the one it
 * runs with, and a 4 KiB write to the simulated strict function must come
 * back byte for byte.
 */
#include <stdio.h>
#include <string.h>
#include <zpci/zpci.h>

int main(void)
{
	static unsigned char out[4096], in[4096];
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
	/* not checked: s390x under qemu-user reported 0 here (open question,
	 * see the pkg report); the read-back above is the check */
	printf("consumer: libzpci %u.%u.%u, 4096 bytes written and read back equal (sim stats: %llu PCISTB ops, %llu bytes)\n",
	       zpci_version() >> 16, (zpci_version() >> 8) & 0xff,
	       zpci_version() & 0xff, (unsigned long long)ss.pcistb_ops,
	       (unsigned long long)ss.pcistb_bytes);
	return 0;
}
