// SPDX-License-Identifier: MIT
/*
 * Calibration of tests/cost/insn_window.c, run in the guest by cost.sh:
 *   - two adjacent markers: the second one is counted 1 instruction after
 *     the first (the first marker itself);
 *   - a loop of known length between markers (brct: 2 instructions per
 *     round plus the setup), so the plugin's count can be checked exactly;
 *   - getppid() between markers (the syscall floor, FACTS section 9).
 * Each is repeated so the host takes medians.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "zpci/zpci_cost.h"

#define ROUNDS 201

int main(void)
{
	for (int i = 0; i < ROUNDS; i++) {
		ZPCI_COST_MARK(ZPCI_COST_APP_CAL0);
		ZPCI_COST_MARK(ZPCI_COST_APP_CAL1);
	}
	for (int i = 0; i < ROUNDS; i++) {
		/* lghi 1000, then 1000 x (ahi; brct): 1 + 2000 instructions */
		ZPCI_COST_MARK(0x7a5a1010U);
		__asm__ __volatile__(
			"	lghi	%%r1,1000\n"
			"0:	ahi	%%r0,1\n"
			"	brct	%%r1,0b\n"
			: : : "r0", "r1", "cc");
		ZPCI_COST_MARK(0x7a5a1011U);
	}
	for (int i = 0; i < ROUNDS; i++) {
		ZPCI_COST_MARK(0x7a5a1020U);
		(void)getppid();
		ZPCI_COST_MARK(0x7a5a1021U);
	}
	printf("cost selftest: %d rounds done\n", ROUNDS);
	return 0;
}
