// SPDX-License-Identifier: MIT
/*
 * cost-mark: one cost marker, executed by L1 around a measured stretch of
 * make cost-e2e (tests/e2e/e2e-l1.sh, when L2 prints "ZE2E-SYNC cost
 * <what> <fid>"), so that the L0 plugin's log shows where L2's workload
 * starts and ends.  what: fwd (a forwarded function's row starts), stock
 * (a stock copy's row starts), floor (the cc 3 floor's row starts) or
 * end.  Exit 2 on anything else.
 */
#include <stdio.h>
#include <string.h>

#define ZPCI_COST_MARKERS 1
#include <zpci/zpci_cost.h>

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "fwd"))
		ZPCI_COST_MARK(ZPCI_COST_E2E_FWD);
	else if (argc == 2 && !strcmp(argv[1], "stock"))
		ZPCI_COST_MARK(ZPCI_COST_E2E_STOCK);
	else if (argc == 2 && !strcmp(argv[1], "floor"))
		ZPCI_COST_MARK(ZPCI_COST_E2E_FLOOR);
	else if (argc == 2 && !strcmp(argv[1], "end"))
		ZPCI_COST_MARK(ZPCI_COST_E2E_END);
	else {
		fprintf(stderr, "usage: cost-mark fwd|stock|floor|end\n");
		return 2;
	}
	return 0;
}
