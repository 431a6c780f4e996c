// SPDX-License-Identifier: MIT
/*
 * /init of the L2 guest of the nested end-to-end test (tests/e2e), static:
 * in nested TCG every process start costs seconds, so this one process does
 * everything. It loads /ze2e.ko with the roles from the kernel command line
 * (ze2e.roles=fid:name:mode,...), asks the module to run the functional
 * tests of every function ("verify <fid>") and the benchmark rows, and
 * powers off.  A forwarded function and the stock copy of the same name
 * are timed together ("pair <fid> <fid2> <size>": each in turn, in slices
 * of 100 ms), any other function alone ("bench <fid> <size>"), except a
 * fenced one.  Then the hotplug cycles and the host-injected faults
 * ("fault <fid> <kind>", forwarded wide only).  Last, "overflow <fid>" for
 * every function.
 *
 * With ze2e.sync=1 every benchmark row is bracketed by
 *   ZE2E-SYNC pre|post <fid> <size> <round>
 * lines on the console (for a pair, <fid> is its first function), each
 * answered by a line from L1 on the console's input (any text), so that
 * L1 can read zpci_io's counters around exactly one row. Console lines of this program start with "ZE2E-INIT: "; the last
 * one is "ZE2E-INIT: done status N".
 *
 * With ze2e.cost=N (make cost-e2e, which needs ze2e.sync=1) the timed
 * rounds are replaced by cost rows: "cost <fid> N" (N back-to-back
 * 128-byte PCISTBs) on every forwarded strict function and then on its
 * stock copy, then "floor <fid> N" (about N PCISTBs that QEMU answers cc 3
 * at once), each between "ZE2E-SYNC cost fwd|stock|floor <fid>" and
 * "ZE2E-SYNC cost end <fid>", at which L1 runs a cost marker that the L0
 * plugin logs; everything else runs as without it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int con = -1;

static double uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "ZE2E-INIT: [%.1f] ", uptime());
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(con >= 0 ? con : 2, buf, (size_t)n) < 0)
		return;
}

/* wait for one line from L1 on the console */
static int wait_go(void)
{
	char c;
	ssize_t r;

	for (;;) {
		r = read(con, &c, 1);
		if (r == 1 && c == '\n')
			return 0;
		if (r == 0 || (r < 0 && errno != EINTR))
			return -1;
	}
}

static int command(int dev, const char *cmd)
{
	ssize_t r = write(dev, cmd, strlen(cmd));

	if (r < 0) {
		say("command '%s' failed: %s", cmd, strerror(errno));
		return -1;
	}
	return 0;
}

#define BENCH_ROUNDS 3
/* random instructions per forwarded/stock pair (issue 17: >= 20,000 a run) */
#define DIFF_OPS 10000
/* device_del/device_add cycles of the forwarded wide function */
#define HOTPLUG_CYCLES 20

int main(int argc, char **argv)
{
	static char cmdline[4096], roles[1024], params[1100], cmd[64];
	unsigned int fids[16];
	char names[16][8], modes[16][12];
	int mate[16];	/* the stock copy timed with a forwarded function */
	int nfid = 0, do_sync = 0, status = 0, fd, dev = -1, i, j, s, r;
	unsigned long cost = 0;
	static const unsigned int sizes[] = { 128, 4096, 65536 };
	struct termios t;
	struct timespec ts;
	char *tok, *p;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	con = open("/dev/console", O_RDWR | O_NOCTTY);
	if (con >= 0 && tcgetattr(con, &t) == 0) {
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(con, TCSANOW, &t);
	}
	say("%s: start", argc > 0 ? argv[0] : "init");

	fd = open("/proc/cmdline", O_RDONLY);
	if (fd < 0 || read(fd, cmdline, sizeof(cmdline) - 1) < 0) {
		say("cannot read /proc/cmdline");
		status = 1;
		goto out;
	}
	close(fd);
	for (tok = strtok(cmdline, " \n"); tok; tok = strtok(NULL, " \n")) {
		if (!strncmp(tok, "ze2e.roles=", 11))
			snprintf(roles, sizeof(roles), "%s", tok + 11);
		else if (!strcmp(tok, "ze2e.sync=1"))
			do_sync = 1;
		else if (!strncmp(tok, "ze2e.cost=", 10))
			cost = strtoul(tok + 10, NULL, 10);
	}
	for (p = roles; *p && nfid < 16;) {
		names[nfid][0] = modes[nfid][0] = 0;
		fids[nfid] = (unsigned int)strtoul(p, &p, 10);
		sscanf(p, ":%7[a-z]:%11[a-z]", names[nfid], modes[nfid]);
		nfid++;
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	if (!nfid) {
		say("no ze2e.roles= on the command line");
		status = 1;
		goto out;
	}

	snprintf(params, sizeof(params), "roles=%s", roles);
	fd = open("/ze2e.ko", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_finit_module, fd, params, 0) != 0) {
		say("loading /ze2e.ko failed: %s", strerror(errno));
		status = 1;
		goto out;
	}
	close(fd);
	say("ze2e.ko loaded (%s)", params);
	for (i = 0; i < 50 && dev < 0; i++) {
		dev = open("/dev/ze2e", O_WRONLY);
		if (dev < 0)
			usleep(100000);
	}
	if (dev < 0) {
		say("no /dev/ze2e: %s", strerror(errno));
		status = 1;
		goto out;
	}

	for (i = 0; i < nfid; i++) {
		snprintf(cmd, sizeof(cmd), "verify %u", fids[i]);
		if (command(dev, cmd))
			status = 1;
		say("verify %u done", fids[i]);
	}
	for (i = 0; i < nfid; i++) {
		if (do_sync) {
			say("ZE2E-SYNC pre %u msix 0", fids[i]);
			if (wait_go())
				do_sync = 0;
		}
		snprintf(cmd, sizeof(cmd), "msix %u", fids[i]);
		if (command(dev, cmd))
			status = 1;
		if (do_sync) {
			say("ZE2E-SYNC post %u msix 0", fids[i]);
			if (wait_go())
				do_sync = 0;
		}
	}
	/* pairs: a forwarded function and the stock copy of the same name */
	for (i = 0; i < nfid; i++)
		mate[i] = -1;
	for (i = 0; i < nfid; i++) {
		if (strcmp(modes[i], "forwarded"))
			continue;
		for (j = 0; j < nfid; j++) {
			if (!strcmp(modes[j], "stock") && mate[j] == -1 &&
			    !strcmp(names[j], names[i])) {
				mate[i] = j;
				mate[j] = i;
				break;
			}
		}
	}
	/*
	 * make cost-e2e: cost rows instead of the timed rounds, the
	 * forwarded strict function first, then its stock copy, then the
	 * cc 3 floor; L1 marks each row's start and end for the L0 plugin
	 */
	for (i = 0; i < nfid && cost; i++) {
		static const char *const kind[] = { "fwd", "stock", "floor" };
		int k, row[3];

		if (strcmp(modes[i], "forwarded") || strcmp(names[i], "strict") || mate[i] < 0)
			continue;
		row[0] = i;
		row[1] = mate[i];
		row[2] = i;
		for (k = 0; k < 3; k++) {
			if (!do_sync) {
				say("cost rows need ze2e.sync=1");
				status = 1;
				break;
			}
			say("ZE2E-SYNC cost %s %u", kind[k], fids[row[k]]);
			if (wait_go())
				do_sync = 0;
			snprintf(cmd, sizeof(cmd), "%s %u %lu", k == 2 ? "floor" : "cost",
				 fids[row[k]], cost);
			if (command(dev, cmd))
				status = 1;
			say("ZE2E-SYNC cost end %u", fids[row[k]]);
			if (wait_go())
				do_sync = 0;
		}
	}
	/*
	 * Rounds, and every function at one size before the next size, a
	 * forwarded function and its stock copy in turn within one row: a
	 * load change on the host then hits forwarded and stock alike, and
	 * the host takes the median of the rounds.
	 */
	for (r = 0; r < BENCH_ROUNDS && !cost; r++) {
		/* the intercept's floor, once per round (any function) */
		snprintf(cmd, sizeof(cmd), "floor %u", fids[0]);
		if (command(dev, cmd))
			status = 1;
		for (s = 0; s < 3; s++) {
			for (i = 0; i < nfid; i++) {
				/* a stock copy runs with its forwarded one */
				if (mate[i] >= 0 && strcmp(modes[i], "forwarded"))
					continue;
				/* a fenced function is not benchmarked */
				if (!strcmp(modes[i], "fenced"))
					continue;
				if (do_sync) {
					say("ZE2E-SYNC pre %u %u %d", fids[i], sizes[s], r);
					if (wait_go())
						do_sync = 0;
				}
				if (mate[i] >= 0)
					snprintf(cmd, sizeof(cmd), "pair %u %u %u", fids[i],
						 fids[mate[i]], sizes[s]);
				else
					snprintf(cmd, sizeof(cmd), "bench %u %u", fids[i], sizes[s]);
				if (command(dev, cmd))
					status = 1;
				if (do_sync) {
					say("ZE2E-SYNC post %u %u %d", fids[i], sizes[s], r);
					if (wait_go())
						do_sync = 0;
				}
			}
		}
	}
	/*
	 * The differential test: DIFF_OPS random instructions on each
	 * forwarded function and its stock copy, the same sequence on both
	 * (the seed differs per run and is printed by the module)
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (i = 0; i < nfid; i++) {
		if (mate[i] < 0 || strcmp(modes[i], "forwarded"))
			continue;
		snprintf(cmd, sizeof(cmd), "diff %u %u %u %llu", fids[i],
			 fids[mate[i]], DIFF_OPS,
			 (unsigned long long)ts.tv_nsec * 2654435761ULL + fids[i]);
		if (command(dev, cmd))
			status = 1;
		say("diff %u %u done", fids[i], fids[mate[i]]);
	}
	/*
	 * Hotplug (issue 17): HOTPLUG_CYCLES times, L1 removes the forwarded
	 * wide function with device_del and plugs it again with device_add
	 * (between the sync line and L1's answer); then this waits for the
	 * function to be back and writes and reads 4 KiB through it
	 */
	for (i = 0; i < nfid && do_sync; i++) {
		if (strcmp(modes[i], "forwarded") || strcmp(names[i], "wide"))
			continue;
		for (r = 0; r < HOTPLUG_CYCLES && do_sync; r++) {
			say("ZE2E-SYNC hotplug %u %d", fids[i], r);
			if (wait_go())
				do_sync = 0;
			snprintf(cmd, sizeof(cmd), "wait %u 300000", fids[i]);
			if (command(dev, cmd)) {
				status = 1;
				break;
			}
			snprintf(cmd, sizeof(cmd), "touch %u %d", fids[i], r);
			if (command(dev, cmd))
				status = 1;
		}
		say("hotplug %u: %d cycles", fids[i], r);
	}
	/*
	 * Faults from the host (issue 17 item 4): L1 has L0 inject one into
	 * the forwarded wide function (between the sync line and L1's
	 * answer), then the module checks what this guest sees: busy (cc 2,
	 * retried), a host cc 3 (the function in error, recovered) and a
	 * host function error (the error state, recovered).  The last sync
	 * lets L1 read the injections' counts.
	 */
	for (i = 0; i < nfid && do_sync; i++) {
		static const char *const kinds[] = { "busy", "cc3", "error" };

		if (strcmp(modes[i], "forwarded") || strcmp(names[i], "wide"))
			continue;
		for (r = 0; r < 3 && do_sync; r++) {
			say("ZE2E-SYNC fault %s %u", kinds[r], fids[i]);
			if (wait_go()) {
				do_sync = 0;
				break;
			}
			snprintf(cmd, sizeof(cmd), "fault %u %d", fids[i], r);
			if (command(dev, cmd))
				status = 1;
		}
		if (do_sync) {
			say("ZE2E-SYNC fault end %u", fids[i]);
			if (wait_go())
				do_sync = 0;
		}
		say("faults %u done", fids[i]);
	}
	/*
	 * Last, as it writes QEMU's MSI-X table: PCISTBs of every length
	 * onto the MSI-X table and PBA of every function (the stock path's
	 * 128-byte buffer must hold, whatever maxstbl is advertised)
	 */
	for (i = 0; i < nfid; i++) {
		snprintf(cmd, sizeof(cmd), "overflow %u", fids[i]);
		if (command(dev, cmd))
			status = 1;
	}
out:
	say("done status %d", status);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
