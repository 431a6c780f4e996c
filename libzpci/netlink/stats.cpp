// SPDX-License-Identifier: MIT
// Generic netlink client of the zpci_io driver's statistics (libnl-3).
#include <zpci/stats.hpp>

#include "libnl_transport.hpp"

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include <zpci/zpci_abi.h>

#include <cerrno>
#include <cstring>

namespace zpci::stats {

namespace {

std::error_code proto() noexcept
{
	return sys_error(EPROTO);
}

// libnl reports its own error numbers; turn them into errno once, here.
int nl_to_errno(int nle) noexcept
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_SUCCESS: return 0;
	case NLE_INTR: return EINTR;
	case NLE_BAD_SOCK: return EBADF;
	case NLE_AGAIN: return EAGAIN;
	case NLE_NOMEM: return ENOMEM;
	case NLE_EXIST: return EEXIST;
	case NLE_INVAL: return EINVAL;
	case NLE_RANGE: return ERANGE;
	case NLE_MSGSIZE: return EMSGSIZE;
	case NLE_OPNOTSUPP: return EOPNOTSUPP;
	case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND: return ENOENT;
	case NLE_NOATTR: return ENOENT;
	case NLE_NOACCESS: return EACCES;
	case NLE_PERM: return EPERM;
	case NLE_PKTLOC_FILE: return ENOENT;
	case NLE_NODEV: return ENODEV;
	case NLE_BUSY: return EBUSY;
	case NLE_PROTO_MISMATCH: return EPROTONOSUPPORT;
	case NLE_SEQ_MISMATCH:
	case NLE_MSG_OVERFLOW:
	case NLE_MSG_TRUNC:
	case NLE_MSG_TOOSHORT:
	case NLE_DUMP_INTR:
	case NLE_PARSE_ERR:
		return EPROTO;
	default: return EIO;
	}
}

std::error_code nl_error(int nle) noexcept
{
	int e = nl_to_errno(nle);
	return sys_error(e ? e : EIO);
}

struct sock_deleter {
	void operator()(nl_sock *s) const noexcept { nl_socket_free(s); }
};
struct msg_deleter {
	void operator()(nl_msg *m) const noexcept { nlmsg_free(m); }
};
struct cb_deleter {
	void operator()(nl_cb *c) const noexcept { nl_cb_put(c); }
};

struct recv_ctx {
	std::vector<std::vector<std::uint8_t>> msgs;
	int err = 0;		// errno from an NLMSG_ERROR
	bool done = false;
	bool oom = false;
};

int on_valid(nl_msg *msg, void *arg)
{
	auto *c = static_cast<recv_ctx *>(arg);
	nlmsghdr *h = nlmsg_hdr(msg);
	try {
		auto *b = reinterpret_cast<const std::uint8_t *>(h);
		c->msgs.emplace_back(b, b + h->nlmsg_len);
	} catch (...) {
		c->oom = true;
		return NL_STOP;
	}
	return NL_OK;
}

int on_finish(nl_msg *, void *arg)
{
	static_cast<recv_ctx *>(arg)->done = true;
	return NL_STOP;
}

int on_error(sockaddr_nl *, nlmsgerr *e, void *arg)
{
	auto *c = static_cast<recv_ctx *>(arg);
	c->err = e->error < 0 ? -e->error : e->error;
	c->done = true;
	return NL_STOP;
}

class libnl_transport final : public transport {
public:
	static result<std::unique_ptr<transport>> open(const char *name) noexcept
	{
		std::unique_ptr<nl_sock, sock_deleter> sk(nl_socket_alloc());
		if (!sk)
			return std::unexpected(sys_error(ENOMEM));
		if (int r = genl_connect(sk.get()); r < 0)
			return std::unexpected(nl_error(r));
		int fam = genl_ctrl_resolve(sk.get(), name);
		if (fam < 0)
			return std::unexpected(nl_error(fam));
		try {
			return std::unique_ptr<transport>(
				new libnl_transport(std::move(sk), fam));
		} catch (...) {
			return std::unexpected(sys_error(ENOMEM));
		}
	}

	result<std::vector<std::vector<std::uint8_t>>>
	request(std::uint8_t cmd, bool dump,
		std::optional<std::uint32_t> fid) noexcept override
	{
		std::unique_ptr<nl_msg, msg_deleter> msg(nlmsg_alloc());
		if (!msg)
			return std::unexpected(sys_error(ENOMEM));
		// Dumps end with NLMSG_DONE; everything else asks for an ack.
		int flags = dump ? NLM_F_DUMP : NLM_F_ACK;
		if (!genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0,
				 flags, cmd, ZPCI_NL_VERSION))
			return std::unexpected(sys_error(ENOMEM));
		if (fid && nla_put_u32(msg.get(), ZPCI_NL_A_FID, *fid) < 0)
			return std::unexpected(sys_error(EMSGSIZE));
		std::unique_ptr<nl_cb, cb_deleter> cb(nl_cb_alloc(NL_CB_DEFAULT));
		if (!cb)
			return std::unexpected(sys_error(ENOMEM));
		recv_ctx ctx;
		nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_valid, &ctx);
		nl_cb_set(cb.get(), NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &ctx);
		nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, on_finish, &ctx);
		nl_cb_err(cb.get(), NL_CB_CUSTOM, on_error, &ctx);
		if (int r = nl_send_auto(sk_.get(), msg.get()); r < 0)
			return std::unexpected(nl_error(r));
		while (!ctx.done) {
			int r = nl_recvmsgs(sk_.get(), cb.get());
			if (ctx.oom)
				return std::unexpected(sys_error(ENOMEM));
			if (ctx.err)
				return std::unexpected(sys_error(ctx.err));
			if (r < 0 && r != -NLE_INTR)
				return std::unexpected(nl_error(r));
		}
		return std::move(ctx.msgs);
	}

private:
	libnl_transport(std::unique_ptr<nl_sock, sock_deleter> sk, int fam) noexcept
		: sk_(std::move(sk)), family_(fam)
	{
	}
	std::unique_ptr<nl_sock, sock_deleter> sk_;
	int family_;
};

// Policies: lengths are checked by nla_parse, strings must end in NUL.
struct policies {
	nla_policy attr[ZPCI_NL_A_MAX + 1] = {};
	nla_policy bar[ZPCI_NL_BAR_A_MAX + 1] = {};
	nla_policy stats[ZPCI_NL_S_MAX + 1] = {};
	nla_policy entry[ZPCI_NL_E_MAX + 1] = {};

	policies() noexcept
	{
		attr[ZPCI_NL_A_FID].type = NLA_U32;
		attr[ZPCI_NL_A_UID].type = NLA_U32;
		attr[ZPCI_NL_A_PFT].type = NLA_U8;
		attr[ZPCI_NL_A_MAXSTBL].type = NLA_U32;
		attr[ZPCI_NL_A_RELAXED].type = NLA_U8;
		attr[ZPCI_NL_A_BAR_MASK].type = NLA_U8;
		attr[ZPCI_NL_A_PCI_ADDR].type = NLA_STRING;
		attr[ZPCI_NL_A_PCI_ADDR].maxlen = 64;
		attr[ZPCI_NL_A_BARS].type = NLA_NESTED;
		attr[ZPCI_NL_A_STATS].type = NLA_NESTED;
		bar[ZPCI_NL_BAR_A_INDEX].type = NLA_U8;
		bar[ZPCI_NL_BAR_A_SIZE].type = NLA_U64;
		for (int a = ZPCI_NL_S_PCISTB_OPS; a <= ZPCI_NL_S_ERRORS; a++)
			stats[a].type = NLA_U64;
		stats[ZPCI_NL_S_BY_ERRNO].type = NLA_NESTED;
		stats[ZPCI_NL_S_BY_CC].type = NLA_NESTED;
		stats[ZPCI_NL_S_BY_STATUS].type = NLA_NESTED;
		for (int a = ZPCI_NL_S_PINS_HELD; a <= ZPCI_NL_S_REQ_ALLOCS; a++)
			stats[a].type = NLA_U64;
		entry[ZPCI_NL_E_KEY].type = NLA_U32;
		entry[ZPCI_NL_E_COUNT].type = NLA_U64;
	}
};

const policies &pol() noexcept
{
	static const policies p;
	return p;
}

// A nest of ZPCI_NL_S_ENTRY nests.
result<std::vector<entry>> parse_entries(nlattr *nest)
{
	std::vector<entry> out;
	nlattr *pos;
	int rem;
	nla_for_each_nested(pos, nest, rem) {
		if (nla_type(pos) != ZPCI_NL_S_ENTRY)
			continue;
		nlattr *tb[ZPCI_NL_E_MAX + 1] = {};
		if (nla_parse_nested(tb, ZPCI_NL_E_MAX, pos, pol().entry) < 0 ||
		    !tb[ZPCI_NL_E_KEY] || !tb[ZPCI_NL_E_COUNT])
			return std::unexpected(proto());
		out.push_back({nla_get_u32(tb[ZPCI_NL_E_KEY]),
			       nla_get_u64(tb[ZPCI_NL_E_COUNT])});
	}
	if (rem > 0)	// trailing bytes that are no attribute
		return std::unexpected(proto());
	return out;
}

result<counters> parse_counters(nlattr *nest)
{
	nlattr *tb[ZPCI_NL_S_MAX + 1] = {};
	if (nla_parse_nested(tb, ZPCI_NL_S_MAX, nest, pol().stats) < 0)
		return std::unexpected(proto());
	counters c;
	auto u64 = [&](int a) -> std::uint64_t {
		return tb[a] ? nla_get_u64(tb[a]) : 0;
	};
	c.pcistb_ops = u64(ZPCI_NL_S_PCISTB_OPS);
	c.pcistg_ops = u64(ZPCI_NL_S_PCISTG_OPS);
	c.pcilg_ops = u64(ZPCI_NL_S_PCILG_OPS);
	c.pcistb_bytes = u64(ZPCI_NL_S_PCISTB_BYTES);
	c.pcistg_bytes = u64(ZPCI_NL_S_PCISTG_BYTES);
	c.pcilg_bytes = u64(ZPCI_NL_S_PCILG_BYTES);
	c.batches = u64(ZPCI_NL_S_BATCHES);
	c.pinned_pages = u64(ZPCI_NL_S_PINNED_PAGES);
	c.errors = u64(ZPCI_NL_S_ERRORS);
	c.pins_held = u64(ZPCI_NL_S_PINS_HELD);
	c.req_bytes = u64(ZPCI_NL_S_REQ_BYTES);
	c.req_allocs = u64(ZPCI_NL_S_REQ_ALLOCS);
	struct {
		int attr;
		std::vector<entry> *dst;
	} lists[] = {{ZPCI_NL_S_BY_ERRNO, &c.by_errno},
		     {ZPCI_NL_S_BY_CC, &c.by_cc},
		     {ZPCI_NL_S_BY_STATUS, &c.by_status}};
	for (auto &l : lists) {
		if (!tb[l.attr])
			continue;
		auto e = parse_entries(tb[l.attr]);
		if (!e)
			return std::unexpected(e.error());
		*l.dst = std::move(*e);
	}
	return c;
}

} // namespace

result<std::unique_ptr<transport>> open_libnl_transport(const char *family) noexcept
{
	return libnl_transport::open(family);
}

result<function> parse_function(const nlmsghdr *msg) noexcept
{
	if (!msg || msg->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return std::unexpected(proto());
	auto *nlh = const_cast<nlmsghdr *>(msg);
	try {
		nlattr *tb[ZPCI_NL_A_MAX + 1] = {};
		if (genlmsg_parse(nlh, 0, tb, ZPCI_NL_A_MAX, pol().attr) < 0)
			return std::unexpected(proto());
		if (!tb[ZPCI_NL_A_FID])
			return std::unexpected(proto());
		function f;
		f.fid = nla_get_u32(tb[ZPCI_NL_A_FID]);
		if (tb[ZPCI_NL_A_UID])
			f.uid = nla_get_u32(tb[ZPCI_NL_A_UID]);
		if (tb[ZPCI_NL_A_PFT])
			f.pft = nla_get_u8(tb[ZPCI_NL_A_PFT]);
		if (tb[ZPCI_NL_A_MAXSTBL])
			f.maxstbl = nla_get_u32(tb[ZPCI_NL_A_MAXSTBL]);
		if (tb[ZPCI_NL_A_RELAXED])
			f.relaxed = nla_get_u8(tb[ZPCI_NL_A_RELAXED]) != 0;
		if (tb[ZPCI_NL_A_BAR_MASK])
			f.bar_mask = nla_get_u8(tb[ZPCI_NL_A_BAR_MASK]);
		if (tb[ZPCI_NL_A_PCI_ADDR])
			f.pci_addr = nla_get_string(tb[ZPCI_NL_A_PCI_ADDR]);
		if (tb[ZPCI_NL_A_BARS]) {
			nlattr *pos;
			int rem;
			nla_for_each_nested(pos, tb[ZPCI_NL_A_BARS], rem) {
				if (nla_type(pos) != ZPCI_NL_A_BAR)
					continue;
				nlattr *bt[ZPCI_NL_BAR_A_MAX + 1] = {};
				if (nla_parse_nested(bt, ZPCI_NL_BAR_A_MAX, pos,
						     pol().bar) < 0 ||
				    !bt[ZPCI_NL_BAR_A_INDEX] || !bt[ZPCI_NL_BAR_A_SIZE])
					return std::unexpected(proto());
				unsigned i = nla_get_u8(bt[ZPCI_NL_BAR_A_INDEX]);
				if (i >= f.bar_size.size())
					return std::unexpected(proto());
				f.bar_size[i] = nla_get_u64(bt[ZPCI_NL_BAR_A_SIZE]);
			}
			if (rem > 0)
				return std::unexpected(proto());
		}
		if (tb[ZPCI_NL_A_STATS]) {
			auto c = parse_counters(tb[ZPCI_NL_A_STATS]);
			if (!c)
				return std::unexpected(c.error());
			f.stats = std::move(*c);
		}
		return f;
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
}

result<client> client::open() noexcept
{
	auto t = libnl_transport::open(ZPCI_NL_FAMILY);
	if (!t)
		return std::unexpected(t.error());
	return client(std::move(*t));
}

client client::with(std::unique_ptr<transport> t) noexcept
{
	return client(std::move(t));
}

client::~client() = default;

result<std::vector<function>> client::dump(std::uint8_t cmd) noexcept
{
	auto msgs = t_->request(cmd, true, std::nullopt);
	if (!msgs)
		return std::unexpected(msgs.error());
	try {
		std::vector<function> out;
		for (const auto &m : *msgs) {
			if (m.size() < NLMSG_HDRLEN)
				return std::unexpected(proto());
			auto *h = reinterpret_cast<const nlmsghdr *>(m.data());
			if (h->nlmsg_len > m.size())
				return std::unexpected(proto());
			auto f = parse_function(h);
			if (!f)
				return std::unexpected(f.error());
			out.push_back(std::move(*f));
		}
		return out;
	} catch (...) {
		return std::unexpected(sys_error(ENOMEM));
	}
}

result<std::vector<function>> client::functions() noexcept
{
	return dump(ZPCI_NL_CMD_GET_FUNCS);
}

result<std::vector<function>> client::stats() noexcept
{
	return dump(ZPCI_NL_CMD_GET_STATS);
}

result<function> client::stats(std::uint32_t fid) noexcept
{
	auto msgs = t_->request(ZPCI_NL_CMD_GET_STATS, false, fid);
	if (!msgs)
		return std::unexpected(msgs.error());
	if (msgs->size() != 1 || msgs->front().size() < NLMSG_HDRLEN)
		return std::unexpected(proto());
	auto *h = reinterpret_cast<const nlmsghdr *>(msgs->front().data());
	if (h->nlmsg_len > msgs->front().size())
		return std::unexpected(proto());
	auto f = parse_function(h);
	if (f && f->fid != fid)
		return std::unexpected(proto());
	return f;
}

result<void> client::reset(std::optional<std::uint32_t> fid) noexcept
{
	auto msgs = t_->request(ZPCI_NL_CMD_RESET_STATS, false, fid);
	if (!msgs)
		return std::unexpected(msgs.error());
	return {};
}

} // namespace zpci::stats
