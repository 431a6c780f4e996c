/* SPDX-License-Identifier: MIT */
/*
 * libzpci C API.  Every function returns 0 or a negative errno; rule
 * violations and the library's other validation reasons are -EINVAL, with
 * the details (rule, library reason, cc/status/pgm, ops done) in an
 * optional struct zpci_status.  Nothing here throws or aborts.
 *
 *   struct zpci_handle *h;
 *   if (zpci_open("sim:strict", &h) == 0) {
 *           struct zpci_status st;
 *           int rc = zpci_write(h, 0, 0x1000, buf, len, &st);
 *           if (rc) fprintf(stderr, "%s\n", zpci_status_str(rc, &st));
 *           zpci_close(h);
 *   }
 */
#ifndef ZPCI_H
#define ZPCI_H

#include <stddef.h>
#include <stdint.h>

#include <zpci/zpci_rules.h>

#ifdef __cplusplus
extern "C" {
#endif

struct zpci_handle;

/* Details of a failed (or completed) call. */
struct zpci_status {
	uint64_t done;		/* instructions completed */
	int32_t error;		/* 0 or -errno, same as the return value */
	uint32_t rule;		/* enum zpci_rule, 0 if not a rule violation */
	uint32_t reason;	/* library reason (zpci::errc), 0 if none */
	uint8_t cc;		/* condition code of the failed instruction */
	uint8_t status;		/* its status byte (cc 1) */
	uint8_t pgm;		/* program interruption code, 0 if none */
	uint8_t cc_valid;	/* cc/status/pgm meaningful */
};

/* One planned instruction (insn: enum zpci_insn). */
struct zpci_plan_op {
	uint8_t insn;
	uint8_t pcias;
	uint16_t reserved;
	uint32_t len;
	uint64_t offset;
	uint64_t addr;
};

/* Counters of the simulated function. */
struct zpci_sim_stats {
	uint64_t pcistb_ops, pcistg_ops, pcilg_ops;
	uint64_t pcistb_bytes, pcistg_bytes, pcilg_bytes;
	uint64_t submits, bar_calls, refused, signals;
};

/* Open a path by spec ("sim:strict", "sim:ism", "sim-fallback:strict",
 * "region:0000:00:00.0", "fallback:0000:00:00.0"). */
int zpci_open(const char *spec, struct zpci_handle **out);
void zpci_close(struct zpci_handle *h);

int zpci_get_caps(const struct zpci_handle *h, struct zpci_caps *out);

/* Check one instruction against the rules: 0 if legal, else -EINVAL with
 * the verdict in *out (optional). */
int zpci_check_op(const struct zpci_caps *caps, unsigned int insn,
		  unsigned int pcias, uint64_t offset, uint64_t len,
		  uint64_t src, struct zpci_verdict *out);

/* Plan a write (is_read 0) or read (1).  Writes up to cap ops; *n gets the
 * number of ops of the whole plan.  -E2BIG if cap is too small. */
int zpci_plan(const struct zpci_caps *caps, int is_read, unsigned int pcias,
	      uint64_t offset, uint64_t len, uint64_t addr, int allow_pcistg,
	      struct zpci_plan_op *ops, size_t cap, size_t *n,
	      struct zpci_status *st);

int zpci_write(struct zpci_handle *h, unsigned int pcias, uint64_t offset,
	       const void *src, size_t len, struct zpci_status *st);
int zpci_read(struct zpci_handle *h, unsigned int pcias, uint64_t offset,
	      void *dst, size_t len, struct zpci_status *st);

/* Issue exactly these instructions (e.g. from zpci_plan(); addr is the
 * buffer: source of stores, destination of loads).  All are checked
 * against the rules first; st->done tells how many ran on failure. */
int zpci_execute(struct zpci_handle *h, const struct zpci_plan_op *ops,
		 size_t n, struct zpci_status *st);

/* ISM DMB move (dmb_pcias usually 0); *landed gets the bytes that reached
 * the DMB, also on failure. */
int zpci_ism_move(struct zpci_handle *h, uint64_t token, uint32_t index,
		  uint64_t offset, const void *src, size_t len, int signal,
		  unsigned int dmb_pcias, size_t *landed,
		  struct zpci_status *st);

/* ISM command: req (header + body, big-endian, header length field ==
 * req_len) to cmd_pcias (usually 2), body first, header last; then the
 * response header and, if its return code is 0, the rest into resp.
 * *ret gets the response return code. */
int zpci_ism_command(struct zpci_handle *h, const void *req, size_t req_len,
		     void *resp, size_t resp_len, unsigned int cmd_pcias,
		     uint16_t *ret, struct zpci_status *st);

/* -ENOTSUP if the handle is not a simulated function. */
int zpci_get_sim_stats(const struct zpci_handle *h, struct zpci_sim_stats *out);

/* Message of a negative errno. */
const char *zpci_strerror(int err);
/* Best message for a failed call: the rule or library reason if any, else
 * the errno's. */
const char *zpci_status_str(int err, const struct zpci_status *st);

#ifdef __cplusplus
}
#endif

#endif /* ZPCI_H */
