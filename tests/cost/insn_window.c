// SPDX-License-Identifier: MIT
/*
 * TCG plugin for make cost: counts the guest instructions executed between
 * marker instructions.
 *
 * A marker is `brcl 0,<id>` (bytes c0 04 + a 32-bit id) with 0x7a5a in
 * the id's high half (include/zpci/zpci_cost.h): a branch whose mask is
 * 0 is never taken, so without the plugin it costs one instruction and
 * changes nothing.  Other `brcl 0` (the kernel's jump labels) are not
 * markers.  Every executed instruction adds 1 to
 * one counter (the rig runs one vCPU: -smp 1, thread=single); every
 * executed marker appends "<id> <counter>" to the output file.  Hop costs
 * are differences between consecutive markers (tests/cost/hops.py).
 *
 * Arguments: out=<file> (required).
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "qemu-plugin.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static uint64_t insns;
static FILE *out;
static uint64_t markers;

static void on_marker(unsigned int vcpu, void *udata)
{
	uint32_t id = (uint32_t)(uintptr_t)udata;

	(void)vcpu;
	fprintf(out, "%08" PRIx32 " %" PRIu64 "\n", id, insns);
	markers++;
}

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *p = qemu_plugin_insn_data(insn);
		size_t len = qemu_plugin_insn_size(insn);

		qemu_plugin_register_vcpu_insn_exec_inline(insn,
			QEMU_PLUGIN_INLINE_ADD_U64, &insns, 1);
		if (len == 6 && p[0] == 0xc0 && p[1] == 0x04 &&
		    p[2] == 0x7a && p[3] == 0x5a) {
			uint32_t mid = (uint32_t)p[2] << 24 | (uint32_t)p[3] << 16 |
				       (uint32_t)p[4] << 8 | p[5];

			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker,
				QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)mid);
		}
	}
}

static void on_atexit(qemu_plugin_id_t id, void *p)
{
	(void)id;
	(void)p;
	fprintf(out, "# insns %" PRIu64 " markers %" PRIu64 "\n", insns, markers);
	fclose(out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *path = NULL;

	if (strcmp(info->target_name, "s390x") != 0) {
		fprintf(stderr, "insn_window: target %s is not s390x\n", info->target_name);
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0)
			path = argv[i] + 4;
		else {
			fprintf(stderr, "insn_window: unknown argument '%s'\n", argv[i]);
			return -1;
		}
	}
	if (!path) {
		fprintf(stderr, "insn_window: out=<file> is required\n");
		return -1;
	}
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return -1;
	}
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
	qemu_plugin_register_atexit_cb(id, on_atexit, NULL);
	return 0;
}
