/* SPDX-License-Identifier: MIT */
/*
 * What an emulator's PCISTB / PCISTG / PCILG intercept does with libzpci.
 *
 * A guest issued one instruction; the emulator hands it to libzpci as it
 * is (one op, no splitting) and reflects the outcome back into the guest:
 * condition code 0, cc 1 with a status byte, cc 2/3, or a program
 * interruption (specification, operand).  On the region backend the
 * instruction is re-issued on the host by the zpci_io driver; rule
 * violations are answered before anything reaches the device, with the
 * same cc/status/exception the hardware (and QEMU 7.2) would give.
 *
 *   emulator_intercept [SPEC]     SPEC: sim:strict (default), sim:ism,
 *                                 region:<pci-addr>, ...
 *
 * It replays a few guest requests and prints one line per request:
 *   <insn> pcias=N offset=0x... len=N -> cc=N [status=N] | pgm=0x..
 * Exit status 0 when every outcome matched what it expected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <zpci/zpci.h>

/* What the emulator injects into the guest. */
struct guest_outcome {
	int cc;			/* condition code, when pgm == 0 */
	unsigned int status;	/* status byte, when cc == 1 */
	unsigned int pgm;	/* program interruption code, 0 if none */
	int host_err;		/* a host failure the architecture has no answer for */
};

static struct guest_outcome intercept(struct zpci_handle *h, unsigned int insn,
				      unsigned int pcias, uint64_t offset,
				      uint32_t len, void *guest_buf)
{
	struct zpci_plan_op op;
	struct zpci_status st = ZPCI_STATUS_INIT;
	struct guest_outcome out = { 0, 0, 0, 0 };
	int rc;

	memset(&op, 0, sizeof(op));
	op.insn = (uint8_t)insn;
	op.pcias = (uint8_t)pcias;
	op.len = len;
	op.offset = offset;
	op.addr = (uint64_t)(uintptr_t)guest_buf;

	rc = zpci_execute(h, &op, 1, &st);
	if (rc == 0)
		return out;
	if (st.flags & (ZPCI_STATUS_CC_VALID | ZPCI_STATUS_PGM)) {
		/* The instruction's own answer: pass it to the guest as is. */
		out.pgm = st.pgm;
		out.cc = st.cc;
		out.status = st.status;
		return out;
	}
	/*
	 * A host-side failure (EFAULT on the guest buffer, ENOMEM, EINTR):
	 * the emulator decides, e.g. retry EINTR, or report cc 1 with status
	 * 16 (insufficient resources).
	 */
	out.host_err = rc;
	return out;
}

struct request {
	unsigned int insn, pcias;
	uint64_t offset;
	uint32_t len;
	unsigned int buf_shift;		/* misalign the guest buffer */
	int want_cc, want_status, want_pgm;
};

static const char *insn_name(unsigned int insn)
{
	switch (insn) {
	case ZPCI_INSN_PCISTB: return "PCISTB";
	case ZPCI_INSN_PCISTG: return "PCISTG";
	case ZPCI_INSN_PCILG: return "PCILG";
	default: return "?";
	}
}

int main(int argc, char **argv)
{
	static const struct request strict[] = {
		/* a legal 128-byte block store */
		{ ZPCI_INSN_PCISTB, 0, 0x1000, 128, 0, 0, 0, 0 },
		/* target not doubleword aligned: specification exception */
		{ ZPCI_INSN_PCISTB, 0, 0x1004, 64, 0, 0, 0, ZPCI_PGM_SPECIFICATION },
		/* crosses 4 KiB: specification exception */
		{ ZPCI_INSN_PCISTB, 0, 0x1fc0, 128, 0, 0, 0, ZPCI_PGM_SPECIFICATION },
		/* guest buffer not doubleword aligned: specification */
		{ ZPCI_INSN_PCISTB, 0, 0x2000, 64, 4, 0, 0, ZPCI_PGM_SPECIFICATION },
		/* no such address space: cc 1, status 20 */
		{ ZPCI_INSN_PCISTB, 9, 0x0, 64, 0, 1, ZPCI_ST_INVALID_AS, 0 },
		/* 4 bytes across a doubleword: operand exception */
		{ ZPCI_INSN_PCISTG, 0, 0x1006, 4, 0, 0, 0, ZPCI_PGM_OPERAND },
		/* the first doubleword of the block back */
		{ ZPCI_INSN_PCILG, 0, 0x1000, 8, 0, 0, 0, 0 },
	};
	static const struct request ism[] = {
		/* relaxed alignment: any length at any byte, within 4 KiB */
		{ ZPCI_INSN_PCISTB, 0, 0x1003, 100, 1, 0, 0, 0 },
		/* but never across 4 KiB */
		{ ZPCI_INSN_PCISTB, 0, 0x1f80, 256, 0, 0, 0, ZPCI_PGM_SPECIFICATION },
		/* the DMB space takes PCISTB only */
		{ ZPCI_INSN_PCISTG, 0, 0x1000, 8, 0, 1, ZPCI_ST_INVALID_AS, 0 },
	};
	const char *spec = argc > 1 ? argv[1] : "sim:strict";
	const struct request *reqs = strict;
	size_t n = sizeof(strict) / sizeof(strict[0]), i;
	unsigned char guest_mem[4096 + 16] __attribute__((aligned(8)));
	struct zpci_handle *h;
	int rc, bad = 0;

	rc = zpci_open(spec, &h);
	if (rc) {
		fprintf(stderr, "emulator_intercept: %s: %s\n", spec,
			zpci_strerror(rc));
		return 2;
	}
	if (strncmp(spec, "sim:ism", 7) == 0) {
		reqs = ism;
		n = sizeof(ism) / sizeof(ism[0]);
	}
	for (i = 0; i < sizeof(guest_mem); i++)
		guest_mem[i] = (unsigned char)(i * 7 + 1);

	for (i = 0; i < n; i++) {
		const struct request *r = &reqs[i];
		struct guest_outcome o;

		o = intercept(h, r->insn, r->pcias, r->offset, r->len,
			      guest_mem + r->buf_shift);
		printf("%s pcias=%u offset=0x%" PRIx64 " len=%u -> ",
		       insn_name(r->insn), r->pcias, r->offset, r->len);
		if (o.host_err)
			printf("host error: %s\n", zpci_strerror(o.host_err));
		else if (o.pgm)
			printf("pgm=0x%02x\n", o.pgm);
		else if (o.cc == 1)
			printf("cc=1 status=%u\n", o.status);
		else
			printf("cc=%d\n", o.cc);
		if (o.host_err || o.pgm != (unsigned int)r->want_pgm ||
		    (!o.pgm && (o.cc != r->want_cc ||
				(o.cc == 1 && o.status != (unsigned int)r->want_status)))) {
			printf("  unexpected\n");
			bad++;
		}
	}
	/* loads return what the legal block store put there */
	if (reqs == strict) {
		unsigned char back[8];
		unsigned int k;

		for (k = 0; k < 128; k += 8) {
			int same = 1, j;

			if (intercept(h, ZPCI_INSN_PCILG, 0, 0x1000 + k, 8,
				      back).cc != 0)
				same = 0;
			for (j = 0; j < 8; j++)
				if (back[j] != (unsigned char)((k + j) * 7 + 1))
					same = 0;
			if (!same) {
				printf("PCILG 0x%x did not return the stored bytes\n",
				       0x1000 + k);
				bad++;
			}
		}
	}
	zpci_close(h);
	printf("%s: %d unexpected\n", spec, bad);
	return bad ? 1 : 0;
}
