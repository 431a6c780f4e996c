// SPDX-License-Identifier: MIT
/*
 * smcd_xfer: an AF_SMC server and client over 127.0.0.1 (tests/ism, stage 3
 * in L1).  smc-tools is not in Debian, so this replaces smc_run + smcss.
 *
 *   smcd_xfer BYTES
 *
 * forks a server (accept, read BYTES, FNV-1a 64 of them, answer with the
 * count and the hash), the client sends BYTES of a pattern, compares the
 * answer with its own hash, and while the connection is up asks smc_diag
 * (NETLINK_SOCK_DIAG, AF_SMC, with SMC_DIAG_DMBINFO) for the mode and the
 * GIDs of every SMC socket.  Prints one "smcd_xfer:" line per fact; exit 0
 * only if the bytes and the hash match and a socket was in SMC-D mode.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/smc_diag.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_SMC
#define AF_SMC 43
#endif
#define SMCPROTO_SMC 0
#define CHUNK 65536

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void pattern(unsigned char *p, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((off + i) * 131 + ((off + i) >> 12));
}

static int full_write(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int full_read(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int server(int ls, uint64_t bytes)
{
	static unsigned char buf[CHUNK];
	uint64_t h = 0xcbf29ce484222325ULL, got = 0, ans[2];
	int s = accept(ls, NULL, NULL);

	if (s < 0) {
		perror("smcd_xfer: accept");
		return 1;
	}
	while (got < bytes) {
		ssize_t r = read(s, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		h = fnv(h, buf, (size_t)r);
		got += (uint64_t)r;
	}
	ans[0] = got;
	ans[1] = h;
	if (full_write(s, ans, sizeof(ans)))
		return 1;
	/* wait for the client's close: the connection stays up for its query */
	(void)read(s, buf, 1);
	close(s);
	return got == bytes ? 0 : 1;
}

/* smc_diag dump: print every SMC socket's mode and SMC-D GIDs */
static int diag(int *smcd_seen)
{
	struct {
		struct nlmsghdr nlh;
		struct smc_diag_req req;
	} q = {
		.nlh = {
			.nlmsg_len = sizeof(q),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		},
		.req = {
			.diag_family = AF_SMC,
			.diag_ext = 1 << (SMC_DIAG_DMBINFO - 1),
		},
	};
	static char buf[65536];
	int fd = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG), n = 0;

	if (fd < 0) {
		perror("smcd_xfer: netlink");
		return -1;
	}
	if (send(fd, &q, sizeof(q), 0) < 0) {
		perror("smcd_xfer: netlink send");
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len <= 0)
			break;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			struct smc_diag_msg *m = NLMSG_DATA(h);
			struct rtattr *a;
			int alen;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				goto out;
			n++;
			printf("smcd_xfer: diag socket state %u mode %s port %u->%u\n",
			       m->diag_state,
			       m->diag_mode == SMC_DIAG_MODE_SMCD ? "SMCD" :
			       m->diag_mode == SMC_DIAG_MODE_SMCR ? "SMCR" : "TCP",
			       ntohs(m->id.idiag_sport), ntohs(m->id.idiag_dport));
			alen = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
			for (a = (struct rtattr *)(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				struct smcd_diag_dmbinfo *d = RTA_DATA(a);

				if (a->rta_type != SMC_DIAG_DMBINFO)
					continue;
				printf("smcd_xfer: diag dmbinfo my_gid 0x%016" PRIx64
				       " peer_gid 0x%016" PRIx64 " token 0x%016" PRIx64
				       " peer_token 0x%016" PRIx64 "\n",
				       (uint64_t)d->my_gid, (uint64_t)d->peer_gid,
				       (uint64_t)d->token, (uint64_t)d->peer_token);
				if (m->diag_mode == SMC_DIAG_MODE_SMCD && d->my_gid)
					*smcd_seen = 1;
			}
		}
	}
out:
	close(fd);
	return n;
}

int main(int argc, char **argv)
{
	static unsigned char buf[CHUNK];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	uint64_t bytes, sent = 0, h = 0xcbf29ce484222325ULL, ans[2];
	int ls, s, st, smcd = 0, nsock;
	struct timespec t0, t1;
	pid_t pid;

	if (argc != 2 || !(bytes = strtoull(argv[1], NULL, 0))) {
		fprintf(stderr, "usage: smcd_xfer BYTES\n");
		return 2;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(ls, 1) || getsockname(ls, (struct sockaddr *)&sa, &sl)) {
		perror("smcd_xfer: listen");
		return 1;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid)
		_exit(server(ls, bytes));
	close(ls);
	s = socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("smcd_xfer: connect");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (sent < bytes) {
		size_t n = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;

		pattern(buf, n, sent);
		h = fnv(h, buf, n);
		if (full_write(s, buf, n)) {
			perror("smcd_xfer: write");
			return 1;
		}
		sent += n;
	}
	if (full_read(s, ans, sizeof(ans))) {
		perror("smcd_xfer: read");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	nsock = diag(&smcd);
	close(s);
	waitpid(pid, &st, 0);
	printf("smcd_xfer: bytes %" PRIu64 " received %" PRIu64 " hash 0x%016" PRIx64
	       " peer hash 0x%016" PRIx64 " in %.3f s; %d SMC sockets, SMC-D %s\n",
	       sent, ans[0], h, ans[1],
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       nsock, smcd ? "seen" : "not seen");
	return (ans[0] == sent && ans[1] == h && smcd &&
		WIFEXITED(st) && !WEXITSTATUS(st)) ? 0 : 1;
}
