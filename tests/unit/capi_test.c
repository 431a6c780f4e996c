/* SPDX-License-Identifier: MIT */
/*
 * The C API from a C translation unit (compiled as C11).  Each function
 * returns 0 on success or the line number of the first failed check;
 * test_capi.cpp runs them under GoogleTest.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <zpci/zpci.h>

#include "capi_test.h"

#define CHECK(cond) do { if (!(cond)) return __LINE__; } while (0)

int capi_test_check_and_plan(void)
{
	struct zpci_caps caps;
	struct zpci_verdict v;
	struct zpci_plan_op ops[16];
	struct zpci_status st = ZPCI_STATUS_INIT;
	size_t n = 0;

	memset(&caps, 0, sizeof(caps));
	caps.maxstbl = 128;
	caps.bar_mask = 0x3f;
	caps.pcistg_mask = 0x3f;
	for (int i = 0; i < ZPCI_NUM_BARS; i++)
		caps.bar_size[i] = ZPCI_BAR_SIZE_ANY;

	CHECK(zpci_check_op(&caps, ZPCI_INSN_PCISTB, 0, 0x1000, 128, 0, &v) == 0);
	CHECK(v.rule == ZPCI_RULE_OK);
	CHECK(zpci_check_op(&caps, ZPCI_INSN_PCISTB, 0, 0xff8, 16, 0, &v) == -EINVAL);
	CHECK(v.rule == ZPCI_RULE_CROSS_4K && v.pgm == ZPCI_PGM_SPECIFICATION);
	CHECK(zpci_check_op(&caps, ZPCI_INSN_PCISTG, 9, 0, 8, 0, &v) == -EINVAL);
	CHECK(v.cc == 1 && v.status == 20);
	CHECK(zpci_check_op(NULL, ZPCI_INSN_PCISTG, 0, 0, 8, 0, &v) == -EINVAL);

	CHECK(zpci_plan(&caps, 0, 0, 0xff9, 300, 1, 1, ops, 16, &n, &st) == 0);
	CHECK(n == 8);
	CHECK(ops[0].insn == ZPCI_INSN_PCISTG && ops[0].len == 1 && ops[0].offset == 0xff9);
	CHECK(ops[3].insn == ZPCI_INSN_PCISTB && ops[3].len == 128 && ops[3].offset == 0x1000);
	/* Too small an array: -E2BIG, n tells the size needed. */
	CHECK(zpci_plan(&caps, 0, 0, 0xff9, 300, 1, 1, ops, 2, &n, &st) == -E2BIG);
	CHECK(n == 8);
	/* No legal sequence without PCISTG: -EINVAL with a reason. */
	CHECK(zpci_plan(&caps, 0, 0, 0x1001, 64, 1, 0, ops, 16, &n, &st) == -EINVAL);
	CHECK(st.rule == 0 && st.reason != 0);
	CHECK(strstr(zpci_status_str(st.error, &st), "no legal") != NULL);
	CHECK(zpci_plan(&caps, 1, 0, 0, 0, 0, 1, ops, 16, &n, &st) == -EINVAL);
	CHECK(zpci_plan(&caps, 0, 7, 0, 8, 0, 1, ops, 16, &n, &st) == -EINVAL);
	CHECK(st.rule == ZPCI_RULE_PCIAS);
	CHECK(strcmp(zpci_status_str(st.error, &st), "address space") == 0);
	return 0;
}

int capi_test_sim_io(void)
{
	struct zpci_handle *h = NULL;
	struct zpci_status st = ZPCI_STATUS_INIT;
	struct zpci_sim_stats ss;
	struct zpci_caps caps;
	/* Source at 1 mod 8 like the target 0xff9: PCISTB possible. */
	_Alignas(8) unsigned char raw[320];
	unsigned char *buf = raw + 1, back[300];
	size_t landed = 0;

	CHECK(zpci_open("no-such-backend", &h) == -EINVAL);
	CHECK(h == NULL);
	CHECK(zpci_open(NULL, &h) == -EINVAL);

	CHECK(zpci_open("sim:strict", &h) == 0 && h != NULL);
	CHECK(zpci_get_caps(h, &caps) == 0 && caps.maxstbl == 128);
	for (int i = 0; i < 300; i++)
		buf[i] = (unsigned char)(i * 7);
	CHECK(zpci_write(h, 0, 0xff9, buf, 300, &st) == 0);
	CHECK(st.done == 8 && st.error == 0);
	CHECK(zpci_read(h, 0, 0xff9, back, 300, &st) == 0);
	CHECK(memcmp(buf, back, 300) == 0);
	CHECK(zpci_get_sim_stats(h, &ss) == 0);
	CHECK(ss.pcistb_ops == 3 && ss.pcistg_ops == 5);
	CHECK(ss.pcistb_bytes + ss.pcistg_bytes == 300 && ss.pcilg_bytes == 300);
	/* Refused before anything is issued. */
	CHECK(zpci_write(h, 1, 0, buf, 8, &st) == -EINVAL && st.rule == ZPCI_RULE_PCIAS);
	CHECK(zpci_write(h, 0, 0, buf, 0, &st) == -EINVAL && st.reason != 0);
	CHECK(zpci_write(h, 0, 0xfffff, buf, 2, &st) == -EINVAL &&
	      st.rule == ZPCI_RULE_BEYOND_BAR);
	CHECK(zpci_get_sim_stats(h, &ss) == 0 && ss.refused == 0);
	CHECK(strlen(zpci_strerror(-EIO)) > 0);
	zpci_close(h);

	CHECK(zpci_open("sim:ism", &h) == 0);
	CHECK(zpci_ism_move(h, 0, 1, 100, buf, 300, 1, 0, &landed, &st) == 0);
	CHECK(landed == 300);
	CHECK(zpci_get_sim_stats(h, &ss) == 0 && ss.signals == 1 && ss.pcistb_ops == 1);
	CHECK(zpci_ism_move(h, 0x1234, 1, 100, buf, 300, 1, 0, &landed, &st) == -EINVAL);
	{
		/* No command handler in the simulated function: the response
		 * is the request as written (ret field 0, len 16). */
		unsigned char req[16] = {0, 0, 0, 0x21, 0, 0, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8};
		unsigned char resp[32];
		uint16_t ret = 0xffff;
		memset(resp, 0xee, sizeof(resp));
		CHECK(zpci_ism_command(h, req, sizeof(req), resp, sizeof(resp), 2, &ret, &st) == 0);
		CHECK(ret == 0 && memcmp(req, resp, 16) == 0 && resp[16] == 0xee);
		req[7] = 17;	/* length field lies */
		CHECK(zpci_ism_command(h, req, sizeof(req), resp, sizeof(resp), 2, &ret, &st) ==
		      -EINVAL);
	}
	CHECK(landed == 0);
	zpci_close(h);

	/* Plan, then execute the plan; a bad op refuses the whole batch. */
	CHECK(zpci_open("sim:strict", &h) == 0);
	{
		struct zpci_plan_op ops[16];
		size_t nops = 0;
		CHECK(zpci_get_caps(h, &caps) == 0);
		CHECK(zpci_plan(&caps, 0, 0, 0x2001, 200, (uint64_t)(uintptr_t)buf, 1,
				ops, 16, &nops, &st) == 0);
		CHECK(zpci_execute(h, ops, nops, &st) == 0 && st.done == nops);
		memset(back, 0, sizeof(back));
		CHECK(zpci_read(h, 0, 0x2001, back, 200, &st) == 0);
		CHECK(memcmp(buf, back, 200) == 0);
		ops[1].len = 16;	/* a PCISTG of 16 bytes breaks the rules */
		CHECK(zpci_execute(h, ops, nops, &st) == -EINVAL && st.done == 0 &&
		      st.rule == ZPCI_RULE_LEN_RANGE && st.pgm == ZPCI_PGM_OPERAND);
		CHECK(zpci_execute(h, NULL, 1, &st) == -EINVAL);
	}
	zpci_close(h);

	CHECK(zpci_open("sim-fallback:ism", &h) == 0);
	CHECK(zpci_ism_move(h, 0, 0, 0, buf, 64, 1, 0, &landed, &st) == -EINVAL);
	CHECK(st.rule == ZPCI_RULE_NO_PCISTG && landed == 0);
	zpci_close(h);
	zpci_close(NULL);
	return 0;
}
