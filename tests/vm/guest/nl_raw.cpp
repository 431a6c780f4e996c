// SPDX-License-Identifier: MIT
#include "nl_raw.hpp"

#include <cerrno>
#include <cstring>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

extern "C" {
#include "zpci/zpci_abi.h"
}

namespace zpci_vm {
namespace {

class Sock {
public:
	Sock() : fd_(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC)) {}
	~Sock()
	{
		if (fd_ >= 0)
			::close(fd_);
	}
	Sock(const Sock &) = delete;
	Sock &operator=(const Sock &) = delete;
	int fd() const { return fd_; }

private:
	int fd_;
};

struct Req {
	nlmsghdr n;
	genlmsghdr g;
	char attrs[64];
};

void put_attr(Req &r, std::uint16_t type, const void *data, std::size_t len)
{
	auto *a = reinterpret_cast<nlattr *>(reinterpret_cast<char *>(&r) + NLMSG_ALIGN(r.n.nlmsg_len));
	a->nla_type = type;
	a->nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + len);
	std::memcpy(reinterpret_cast<char *>(a) + NLA_HDRLEN, data, len);
	r.n.nlmsg_len = NLMSG_ALIGN(r.n.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

// Sends r and hands every reply message to fn until DONE, an ACK or an
// error.  0 or -errno.
template <typename Fn> int transact(int fd, Req &r, Fn fn)
{
	sockaddr_nl sa{};
	sa.nl_family = AF_NETLINK;
	if (sendto(fd, &r, r.n.nlmsg_len, 0, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0)
		return -errno;
	std::vector<char> buf(65536);
	for (;;) {
		ssize_t n = recv(fd, buf.data(), buf.size(), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		int len = static_cast<int>(n);
		for (auto *h = reinterpret_cast<nlmsghdr *>(buf.data()); NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				auto *e = static_cast<nlmsgerr *>(NLMSG_DATA(h));
				return e->error;	// 0 for an ACK
			}
			fn(h);
			if (!(h->nlmsg_flags & NLM_F_MULTI))
				return 0;
		}
	}
}

// Calls fn(type, payload, len) for every attribute in [p, p + len).
template <typename Fn> void for_attrs(const char *p, int len, Fn fn)
{
	while (len >= static_cast<int>(NLA_HDRLEN)) {
		auto *a = reinterpret_cast<const nlattr *>(p);
		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			return;
		fn(a->nla_type & NLA_TYPE_MASK, p + NLA_HDRLEN, static_cast<int>(a->nla_len - NLA_HDRLEN));
		int step = NLA_ALIGN(a->nla_len);
		p += step;
		len -= step;
	}
}

int family_id(int fd, std::uint16_t *id)
{
	Req r{};
	r.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r.n.nlmsg_type = GENL_ID_CTRL;
	r.n.nlmsg_flags = NLM_F_REQUEST;
	r.g.cmd = CTRL_CMD_GETFAMILY;
	r.g.version = 1;
	put_attr(r, CTRL_ATTR_FAMILY_NAME, ZPCI_NL_FAMILY, sizeof(ZPCI_NL_FAMILY));
	*id = 0;
	int rc = transact(fd, r, [&](nlmsghdr *h) {
		const char *p = static_cast<const char *>(NLMSG_DATA(h)) + GENL_HDRLEN;
		for_attrs(p, static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN)),
			  [&](int type, const char *d, int l) {
				  if (type == CTRL_ATTR_FAMILY_ID && l >= 2)
					  std::memcpy(id, d, 2);
			  });
	});
	if (rc == 0 && *id == 0)
		return -ENOENT;
	return rc;
}

}  // namespace

int nl_dump(int cmd, std::vector<NlFunc> *out)
{
	Sock s;
	if (s.fd() < 0)
		return -errno;
	std::uint16_t id;
	int rc = family_id(s.fd(), &id);
	if (rc)
		return rc;
	Req r{};
	r.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r.n.nlmsg_type = id;
	r.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r.g.cmd = static_cast<std::uint8_t>(cmd);
	r.g.version = ZPCI_NL_VERSION;
	out->clear();
	return transact(s.fd(), r, [&](nlmsghdr *h) {
		NlFunc f;
		const char *p = static_cast<const char *>(NLMSG_DATA(h)) + GENL_HDRLEN;
		for_attrs(p, static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN)),
			  [&](int type, const char *d, int l) {
				  if (type == ZPCI_NL_A_FID && l >= 4)
					  std::memcpy(&f.fid, d, 4);
				  else if (type == ZPCI_NL_A_PCI_ADDR)
					  f.pci_addr.assign(d, strnlen(d, l));
				  else if (type == ZPCI_NL_A_STATS)
					  for_attrs(d, l, [&](int t, const char *v, int vl) {
						  std::uint64_t x;
						  if (vl == 8) {
							  std::memcpy(&x, v, 8);
							  f.counters[t] = x;
						  }
					  });
			  });
		out->push_back(f);
	});
}

int nl_stats(std::uint32_t fid, NlFunc *out)
{
	std::vector<NlFunc> v;
	int rc = nl_dump(ZPCI_NL_CMD_GET_STATS, &v);
	if (rc)
		return rc;
	for (const NlFunc &f : v)
		if (f.fid == fid) {
			*out = f;
			return 0;
		}
	return -ENODEV;
}

}  // namespace zpci_vm
