/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Cost markers for `make cost` (tests/cost): ZPCI_COST_MARK(id) emits
 * `brcl 0,<id>`, a branch that is never taken (mask 0), which the TCG
 * plugin tests/cost/insn_window.c recognises by its bytes; the guest
 * instructions executed between two markers are the cost of that hop.
 * Compiled in only with -DZPCI_COST_MARKERS on s390x; elsewhere, and in
 * every shipped build, the macro is empty.
 */
#ifndef ZPCI_COST_H
#define ZPCI_COST_H

#if defined(ZPCI_COST_MARKERS) && defined(__s390x__)
#define ZPCI_COST_MARK(id) \
	__asm__ __volatile__(".byte 0xc0,0x04\n\t.long %0" : : "i" (id) : "memory")
#else
#define ZPCI_COST_MARK(id) do { } while (0)
#endif

/*
 * Marker ids: 0x7a5a<layer><point>.  As a branch offset, 0x7a5a in the
 * high half means +4 GiB, which no real `brcl 0` uses (s390 jump labels
 * are `brcl 0,<label>` while off), so the plugin ignores every `brcl 0`
 * with another high half.  Layers: 0x10 tests/cost's programs, 0x20
 * libzpci, 0x30 zpci_io, 0x40 the L1 QEMU of `make cost-e2e` (its markers
 * come from tests/cost/qemu-markers.patch, not from this header).
 */
#define ZPCI_COST_APP_BEGIN	0x7a5a1000U	/* before the measured call */
#define ZPCI_COST_APP_END	0x7a5a10ffU	/* after it returned */
#define ZPCI_COST_APP_CAL0	0x7a5a1001U	/* calibration pair */
#define ZPCI_COST_APP_CAL1	0x7a5a1002U
/* make cost-e2e: L1 (tests/cost/mark.c) around one of L2's cost rows */
#define ZPCI_COST_E2E_FWD	0x7a5a1201U	/* a forwarded row starts */
#define ZPCI_COST_E2E_STOCK	0x7a5a1202U	/* a stock copy's row starts */
#define ZPCI_COST_E2E_FLOOR	0x7a5a1203U	/* the cc 3 floor's row starts */
#define ZPCI_COST_E2E_END	0x7a5a12ffU	/* the row ended */
/* libzpci: the request's one ioctl */
#define ZPCI_COST_LIB_CALL	0x7a5a2001U	/* before VFIO_DEVICE_FEATURE */
#define ZPCI_COST_LIB_RETURNED	0x7a5a2002U	/* after it */
/* zpci_pcistb_guest(): the emulator's guest-source callback as a hop */
#define ZPCI_COST_LIB_GUEST_ENTRY 0x7a5a2010U	/* entered */
#define ZPCI_COST_LIB_SOURCE	0x7a5a2011U	/* rules passed, before read() */
#define ZPCI_COST_LIB_SOURCE_DONE 0x7a5a2012U	/* read() returned */
/* zpci_io_submit(): the request path of the device feature */
#define ZPCI_COST_KMOD_ENTRY	0x7a5a3001U	/* entered */
#define ZPCI_COST_KMOD_COPIED	0x7a5a3002U	/* request copied in */
#define ZPCI_COST_KMOD_CHECKED	0x7a5a3003U	/* header, rules, policy */
#define ZPCI_COST_KMOD_INSN	0x7a5a3004U	/* before each instruction */
#define ZPCI_COST_KMOD_INSN_DONE 0x7a5a3005U	/* after it */
#define ZPCI_COST_KMOD_RAN	0x7a5a3006U	/* memory_lock released */
#define ZPCI_COST_KMOD_EXIT	0x7a5a3007U	/* results written, freed */

#endif /* ZPCI_COST_H */
