/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree consumer of the installed libzpci, found only through
 * pkg-config or find_package(zpci): built as C11 with QEMU's warning flags,
 * as C++17, shared and static (tests/abi/consumer-matrix.sh).  It issues
 * PCISTG/PCILG with register values and PCISTB with a guest address and
 * checks every outcome.
 *
 *   consumer [SPEC]     SPEC: sim:strict (default)
 * ZPCI_CONSUMER_NO_SIM=1: the library was built without the simulator;
 * opening SPEC must fail with -ENOTSUP.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zpci/zpci.h>

static int failures;

static void expect(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok)
		failures++;
}

static void reset(struct zpci_status *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
}

static void run(struct zpci_handle *h)
{
	struct zpci_status st;
	uint64_t v = 0;
	unsigned char buf[24];
	unsigned int i;
	int rc;

	/* PCISTG of a register value, 4 bytes at an odd offset inside a
	 * doubleword, read back whole and byte by byte (big-endian). */
	reset(&st);
	rc = zpci_pcistg(h, 0, 0x101, 4, UINT64_C(0xdeadbeef11223344), &st);
	expect(rc == 0 && st.action == ZPCI_ACT_NONE && st.done == 1,
	       "pcistg 4 bytes at 0x101");
	reset(&st);
	rc = zpci_pcilg(h, 0, 0x101, 4, &v, &st);
	expect(rc == 0 && v == UINT64_C(0x11223344), "pcilg 4 bytes at 0x101");
	rc = zpci_pcilg(h, 0, 0x101, 1, &v, NULL);
	expect(rc == 0 && v == 0x11, "pcilg 1 byte: most significant first");
	rc = zpci_pcilg(h, 0, 0x104, 1, &v, NULL);
	expect(rc == 0 && v == 0x44, "pcilg 1 byte: least significant last");

	/* PCISTB from the host copy (misaligned on purpose), alignment judged
	 * on the guest address. */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(0xa0 + i);
	reset(&st);
	rc = zpci_pcistb(h, 0, 0x200, buf + 1, 16, UINT64_C(0x10000), &st);
	expect(rc == 0 && st.action == ZPCI_ACT_NONE, "pcistb 16 bytes, guest source aligned");
	rc = zpci_pcilg(h, 0, 0x200, 8, &v, NULL);
	expect(rc == 0 && v == UINT64_C(0xa1a2a3a4a5a6a7a8), "pcistb data read back");

	reset(&st);
	rc = zpci_pcistb(h, 0, 0x208, buf, 16, UINT64_C(0x10004), &st);
	expect(rc < 0 && st.action == ZPCI_ACT_PGM && st.pgm == ZPCI_PGM_SPECIFICATION &&
	       (st.flags & ZPCI_STATUS_REJECTED) && st.done == 0,
	       "pcistb, guest source misaligned: specification exception, nothing issued");
	rc = zpci_pcilg(h, 0, 0x208, 8, &v, NULL);
	expect(rc == 0 && v == UINT64_C(0xa9aaabacadaeafb0), "refused pcistb changed nothing");

	/* Crossing a doubleword: operand exception. */
	reset(&st);
	rc = zpci_pcistg(h, 0, 0x105, 4, 0, &st);
	expect(rc < 0 && st.action == ZPCI_ACT_PGM && st.pgm == ZPCI_PGM_OPERAND,
	       "pcistg across a doubleword: operand exception");

	/* Bad input is an error, never a crash. */
	reset(&st);
	rc = zpci_pcilg(h, 0, 0, 8, NULL, &st);
	expect(rc == -EINVAL, "pcilg with a NULL value pointer: -EINVAL");
	expect(zpci_pcistb(h, 0, 0x200, NULL, 16, 0, NULL) < 0, "pcistb with a NULL source");
}

int main(int argc, char **argv)
{
	const char *spec = argc > 1 ? argv[1] : "sim:strict";
	int no_sim = getenv("ZPCI_CONSUMER_NO_SIM") != NULL;
	struct zpci_handle *h = NULL;
	int rc;

	expect(zpci_version() == ZPCI_VERSION_NUM, "zpci_version() == ZPCI_VERSION_NUM");
	expect(zpci_strerror(-ENOTSUP) != NULL && zpci_strerror(-ENOTSUP)[0] != '\0',
	       "zpci_strerror");
	rc = zpci_open(spec, &h);
	if (no_sim) {
		expect(rc == -ENOTSUP && h == NULL, "library without the simulator: open -ENOTSUP");
	} else {
		expect(rc == 0, "zpci_open");
		if (rc == 0) {
			run(h);
			zpci_close(h);
		} else {
			fprintf(stderr, "zpci_open(%s): %s\n", spec, zpci_strerror(rc));
		}
	}
	printf("%s: %d failure(s)\n", argv[0], failures);
	return failures ? 1 : 0;
}
