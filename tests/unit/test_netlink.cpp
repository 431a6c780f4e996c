// SPDX-License-Identifier: MIT
// The statistics client's parser and request logic on synthetic generic
// netlink messages built with libnl; the live query skips unless the
// zpci_io family is registered.
#include <gtest/gtest.h>

#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <linux/genetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>

#include <zpci/stats.hpp>
#include <zpci/zpci_abi.h>

#include "netlink/libnl_transport.hpp"

using namespace zpci;
using namespace zpci::stats;

namespace {

constexpr int FAMILY = 0x1d;

using bytes = std::vector<std::uint8_t>;

// Builds one reply message the way the kernel would.
class msg_builder {
public:
	explicit msg_builder(std::uint8_t cmd = ZPCI_NL_CMD_GET_STATS)
		: m_(nlmsg_alloc())
	{
		genlmsg_put(m_.get(), 0, 1, FAMILY, 0, NLM_F_MULTI, cmd,
			    ZPCI_NL_VERSION);
	}
	nl_msg *get() { return m_.get(); }
	bytes done()
	{
		nlmsghdr *h = nlmsg_hdr(m_.get());
		auto *p = reinterpret_cast<const std::uint8_t *>(h);
		return bytes(p, p + h->nlmsg_len);
	}

private:
	struct del {
		void operator()(nl_msg *m) const { nlmsg_free(m); }
	};
	std::unique_ptr<nl_msg, del> m_;
};

void put_entries(nl_msg *m, int attr, std::initializer_list<entry> es)
{
	nlattr *n = nla_nest_start(m, attr);
	for (const entry &e : es) {
		nlattr *en = nla_nest_start(m, ZPCI_NL_S_ENTRY);
		nla_put_u32(m, ZPCI_NL_E_KEY, e.key);
		nla_put_u64(m, ZPCI_NL_E_COUNT, e.count);
		nla_nest_end(m, en);
	}
	nla_nest_end(m, n);
}

bytes full_function(std::uint32_t fid, bool with_stats = true)
{
	msg_builder b;
	nl_msg *m = b.get();
	nla_put_u32(m, ZPCI_NL_A_FID, fid);
	nla_put_u32(m, ZPCI_NL_A_UID, fid + 1);
	nla_put_u8(m, ZPCI_NL_A_PFT, 5);
	nla_put_u32(m, ZPCI_NL_A_MAXSTBL, 4096);
	nla_put_u8(m, ZPCI_NL_A_RELAXED, 1);
	nla_put_u8(m, ZPCI_NL_A_BAR_MASK, 0x5);
	nla_put_string(m, ZPCI_NL_A_PCI_ADDR, "0000:00:01.0");
	nlattr *bars = nla_nest_start(m, ZPCI_NL_A_BARS);
	for (unsigned i : {0u, 2u}) {
		nlattr *bar = nla_nest_start(m, ZPCI_NL_A_BAR);
		nla_put_u8(m, ZPCI_NL_BAR_A_INDEX, static_cast<std::uint8_t>(i));
		nla_put_u64(m, ZPCI_NL_BAR_A_SIZE, 0x1000ULL << i);
		nla_nest_end(m, bar);
	}
	nla_nest_end(m, bars);
	if (with_stats) {
		nlattr *s = nla_nest_start(m, ZPCI_NL_A_STATS);
		for (int a = ZPCI_NL_S_PCISTB_OPS; a <= ZPCI_NL_S_ERRORS; a++)
			nla_put_u64(m, a, 1000ULL * fid + a);
		put_entries(m, ZPCI_NL_S_BY_ERRNO, {{EIO, 3}, {EINVAL, 7}});
		put_entries(m, ZPCI_NL_S_BY_CC, {{1, 3}});
		put_entries(m, ZPCI_NL_S_BY_STATUS, {{8, 2}, {20, 1}});
		nla_nest_end(m, s);
	}
	return b.done();
}

struct call {
	std::uint8_t cmd;
	bool dump;
	std::optional<std::uint32_t> fid;
};

class fake_transport : public transport {
public:
	std::deque<result<std::vector<bytes>>> replies;
	std::vector<call> *calls;

	explicit fake_transport(std::vector<call> *c) : calls(c) {}

	result<std::vector<bytes>> request(std::uint8_t cmd, bool dump,
					   std::optional<std::uint32_t> fid) noexcept override
	{
		calls->push_back({cmd, dump, fid});
		if (replies.empty())
			return std::vector<bytes>{};
		auto r = std::move(replies.front());
		replies.pop_front();
		return r;
	}
};

const nlmsghdr *hdr(const bytes &b)
{
	return reinterpret_cast<const nlmsghdr *>(b.data());
}

} // namespace

TEST(NetlinkParse, FullFunctionWithStats)
{
	bytes m = full_function(0x10);
	auto f = parse_function(hdr(m));
	ASSERT_TRUE(f) << f.error().message();
	EXPECT_EQ(f->fid, 0x10u);
	EXPECT_EQ(f->uid, 0x11u);
	EXPECT_EQ(f->pft, 5);
	EXPECT_EQ(f->maxstbl, 4096u);
	EXPECT_EQ(f->relaxed, true);
	EXPECT_EQ(f->bar_mask, 0x5);
	EXPECT_EQ(f->pci_addr, "0000:00:01.0");
	EXPECT_EQ(f->bar_size[0], 0x1000u);
	EXPECT_EQ(f->bar_size[1], 0u);
	EXPECT_EQ(f->bar_size[2], 0x4000u);
	ASSERT_TRUE(f->stats);
	const counters &c = *f->stats;
	EXPECT_EQ(c.pcistb_ops, 16000u + ZPCI_NL_S_PCISTB_OPS);
	EXPECT_EQ(c.pcistg_ops, 16000u + ZPCI_NL_S_PCISTG_OPS);
	EXPECT_EQ(c.pcilg_ops, 16000u + ZPCI_NL_S_PCILG_OPS);
	EXPECT_EQ(c.pcistb_bytes, 16000u + ZPCI_NL_S_PCISTB_BYTES);
	EXPECT_EQ(c.pcistg_bytes, 16000u + ZPCI_NL_S_PCISTG_BYTES);
	EXPECT_EQ(c.pcilg_bytes, 16000u + ZPCI_NL_S_PCILG_BYTES);
	EXPECT_EQ(c.batches, 16000u + ZPCI_NL_S_BATCHES);
	EXPECT_EQ(c.pinned_pages, 16000u + ZPCI_NL_S_PINNED_PAGES);
	EXPECT_EQ(c.errors, 16000u + ZPCI_NL_S_ERRORS);
	EXPECT_EQ(c.by_errno, (std::vector<entry>{{EIO, 3}, {EINVAL, 7}}));
	EXPECT_EQ(c.by_cc, (std::vector<entry>{{1, 3}}));
	EXPECT_EQ(c.by_status, (std::vector<entry>{{8, 2}, {20, 1}}));
}

TEST(NetlinkParse, MinimalFunctionLeavesTheRestUnset)
{
	msg_builder b(ZPCI_NL_CMD_GET_FUNCS);
	nla_put_u32(b.get(), ZPCI_NL_A_FID, 7);
	bytes m = b.done();
	auto f = parse_function(hdr(m));
	ASSERT_TRUE(f);
	EXPECT_EQ(f->fid, 7u);
	EXPECT_FALSE(f->uid);
	EXPECT_FALSE(f->pft);
	EXPECT_FALSE(f->relaxed);
	EXPECT_FALSE(f->stats);
	EXPECT_TRUE(f->pci_addr.empty());
}

TEST(NetlinkParse, UnknownAndPadAttributesAreSkipped)
{
	msg_builder b;
	nl_msg *m = b.get();
	nla_put_u64(m, ZPCI_NL_A_PAD, 0);
	nla_put_u32(m, ZPCI_NL_A_FID, 9);
	nla_put_u32(m, ZPCI_NL_A_MAX + 5, 1234);	// a newer driver's attribute
	nlattr *s = nla_nest_start(m, ZPCI_NL_A_STATS);
	nla_put_u64(m, ZPCI_NL_S_BATCHES, 5);
	nla_put_u64(m, ZPCI_NL_S_MAX + 3, 99);
	nla_nest_end(m, s);
	bytes raw = b.done();
	auto f = parse_function(hdr(raw));
	ASSERT_TRUE(f) << f.error().message();
	EXPECT_EQ(f->fid, 9u);
	ASSERT_TRUE(f->stats);
	EXPECT_EQ(f->stats->batches, 5u);
}

TEST(NetlinkParse, MalformedMessagesAreEproto)
{
	std::vector<bytes> bad;
	{
		msg_builder b;	// no FID
		nla_put_u32(b.get(), ZPCI_NL_A_UID, 1);
		bad.push_back(b.done());
	}
	{
		msg_builder b;	// FID too short for a u32
		nla_put_u16(b.get(), ZPCI_NL_A_FID, 1);
		bad.push_back(b.done());
	}
	{
		msg_builder b;	// BAR index out of range
		nla_put_u32(b.get(), ZPCI_NL_A_FID, 1);
		nlattr *bars = nla_nest_start(b.get(), ZPCI_NL_A_BARS);
		nlattr *bar = nla_nest_start(b.get(), ZPCI_NL_A_BAR);
		nla_put_u8(b.get(), ZPCI_NL_BAR_A_INDEX, 6);
		nla_put_u64(b.get(), ZPCI_NL_BAR_A_SIZE, 1);
		nla_nest_end(b.get(), bar);
		nla_nest_end(b.get(), bars);
		bad.push_back(b.done());
	}
	{
		msg_builder b;	// BAR without its size
		nla_put_u32(b.get(), ZPCI_NL_A_FID, 1);
		nlattr *bars = nla_nest_start(b.get(), ZPCI_NL_A_BARS);
		nlattr *bar = nla_nest_start(b.get(), ZPCI_NL_A_BAR);
		nla_put_u8(b.get(), ZPCI_NL_BAR_A_INDEX, 1);
		nla_nest_end(b.get(), bar);
		nla_nest_end(b.get(), bars);
		bad.push_back(b.done());
	}
	{
		msg_builder b;	// counter of 4 bytes
		nla_put_u32(b.get(), ZPCI_NL_A_FID, 1);
		nlattr *s = nla_nest_start(b.get(), ZPCI_NL_A_STATS);
		nla_put_u32(b.get(), ZPCI_NL_S_ERRORS, 1);
		nla_nest_end(b.get(), s);
		bad.push_back(b.done());
	}
	{
		msg_builder b;	// histogram entry without a count
		nla_put_u32(b.get(), ZPCI_NL_A_FID, 1);
		nlattr *s = nla_nest_start(b.get(), ZPCI_NL_A_STATS);
		nlattr *n = nla_nest_start(b.get(), ZPCI_NL_S_BY_CC);
		nlattr *e = nla_nest_start(b.get(), ZPCI_NL_S_ENTRY);
		nla_put_u32(b.get(), ZPCI_NL_E_KEY, 1);
		nla_nest_end(b.get(), e);
		nla_nest_end(b.get(), n);
		nla_nest_end(b.get(), s);
		bad.push_back(b.done());
	}
	{
		msg_builder b;	// address string without its NUL
		nla_put_u32(b.get(), ZPCI_NL_A_FID, 1);
		nla_put(b.get(), ZPCI_NL_A_PCI_ADDR, 4, "0000");
		bad.push_back(b.done());
	}
	for (std::size_t i = 0; i < bad.size(); i++) {
		auto f = parse_function(hdr(bad[i]));
		ASSERT_FALSE(f) << "case " << i;
		EXPECT_EQ(f.error(), std::errc::protocol_error) << "case " << i;
	}
	// Too short for the generic netlink header.
	nlmsghdr h{};
	h.nlmsg_len = NLMSG_HDRLEN;
	EXPECT_EQ(parse_function(&h).error(), std::errc::protocol_error);
	EXPECT_EQ(parse_function(nullptr).error(), std::errc::protocol_error);
}

TEST(NetlinkClient, FunctionsIsAGetFuncsDump)
{
	std::vector<call> calls;
	auto t = std::make_unique<fake_transport>(&calls);
	t->replies.push_back(std::vector<bytes>{full_function(1, false),
						full_function(2, false)});
	client c = client::with(std::move(t));
	auto fns = c.functions();
	ASSERT_TRUE(fns) << fns.error().message();
	ASSERT_EQ(fns->size(), 2u);
	EXPECT_EQ((*fns)[0].fid, 1u);
	EXPECT_EQ((*fns)[1].fid, 2u);
	EXPECT_FALSE((*fns)[0].stats);
	ASSERT_EQ(calls.size(), 1u);
	EXPECT_EQ(calls[0].cmd, ZPCI_NL_CMD_GET_FUNCS);
	EXPECT_TRUE(calls[0].dump);
	EXPECT_FALSE(calls[0].fid);
}

TEST(NetlinkClient, StatsDumpAndSingleFunction)
{
	std::vector<call> calls;
	auto t = std::make_unique<fake_transport>(&calls);
	t->replies.push_back(std::vector<bytes>{full_function(1), full_function(2)});
	t->replies.push_back(std::vector<bytes>{full_function(2)});
	t->replies.push_back(std::vector<bytes>{full_function(3)});	// wrong fid
	t->replies.push_back(std::vector<bytes>{});			// no reply
	client c = client::with(std::move(t));
	auto all = c.stats();
	ASSERT_TRUE(all);
	ASSERT_EQ(all->size(), 2u);
	EXPECT_EQ((*all)[1].stats->errors, 2000u + ZPCI_NL_S_ERRORS);
	auto one = c.stats(2);
	ASSERT_TRUE(one) << one.error().message();
	EXPECT_EQ(one->fid, 2u);
	EXPECT_EQ(c.stats(2).error(), std::errc::protocol_error);
	EXPECT_EQ(c.stats(2).error(), std::errc::protocol_error);
	ASSERT_EQ(calls.size(), 4u);
	EXPECT_EQ(calls[0].cmd, ZPCI_NL_CMD_GET_STATS);
	EXPECT_TRUE(calls[0].dump);
	EXPECT_EQ(calls[1].cmd, ZPCI_NL_CMD_GET_STATS);
	EXPECT_FALSE(calls[1].dump);
	EXPECT_EQ(calls[1].fid, 2u);
}

TEST(NetlinkClient, ResetSendsTheFidAndPropagatesErrors)
{
	std::vector<call> calls;
	auto t = std::make_unique<fake_transport>(&calls);
	t->replies.push_back(std::vector<bytes>{});
	t->replies.push_back(std::vector<bytes>{});
	t->replies.push_back(std::unexpected(sys_error(EPERM)));
	t->replies.push_back(std::unexpected(sys_error(ENODEV)));
	client c = client::with(std::move(t));
	EXPECT_TRUE(c.reset(5));
	EXPECT_TRUE(c.reset());
	EXPECT_EQ(c.reset().error(), std::errc::operation_not_permitted);
	EXPECT_EQ(c.reset(9).error(), std::errc::no_such_device);
	ASSERT_EQ(calls.size(), 4u);
	EXPECT_EQ(calls[0].cmd, ZPCI_NL_CMD_RESET_STATS);
	EXPECT_FALSE(calls[0].dump);
	EXPECT_EQ(calls[0].fid, 5u);
	EXPECT_FALSE(calls[1].fid);
}

TEST(NetlinkClient, TruncatedOrBadMessageFailsTheWholeDump)
{
	std::vector<call> calls;
	auto t = std::make_unique<fake_transport>(&calls);
	bytes good = full_function(1);
	bytes cut(good.begin(), good.begin() + 24);	// nlmsg_len says more
	t->replies.push_back(std::vector<bytes>{good, cut});
	msg_builder nofid;
	nla_put_u32(nofid.get(), ZPCI_NL_A_UID, 1);
	t->replies.push_back(std::vector<bytes>{good, nofid.done()});
	t->replies.push_back(std::unexpected(sys_error(EACCES)));
	client c = client::with(std::move(t));
	EXPECT_EQ(c.stats().error(), std::errc::protocol_error);
	EXPECT_EQ(c.functions().error(), std::errc::protocol_error);
	EXPECT_EQ(c.functions().error(), std::errc::permission_denied);
}

TEST(NetlinkLive, QueriesTheDriverWhenLoaded)
{
	auto c = client::open();
	if (!c && c.error() == std::errc::no_such_file_or_directory)
		GTEST_SKIP() << "generic netlink family " ZPCI_NL_FAMILY
				" not registered (zpci_io not loaded)";
	// No generic netlink at all (e.g. under qemu-user, which does not
	// translate NETLINK_GENERIC).
	if (!c && (c.error() == std::errc::protocol_not_supported ||
		   c.error() == std::errc::address_family_not_supported))
		GTEST_SKIP() << "no generic netlink here: " << c.error().message();
	ASSERT_TRUE(c) << c.error().message();
	auto fns = c->functions();
	ASSERT_TRUE(fns) << fns.error().message();
	auto st = c->stats();
	ASSERT_TRUE(st) << st.error().message();
	EXPECT_EQ(st->size(), fns->size());
	for (const auto &f : *st)
		EXPECT_TRUE(f.stats) << "fid " << f.fid;
}

// The real libnl transport against the kernel's own "nlctrl" family, which
// every Linux has: a dump ends at NLMSG_DONE, a refused request comes back
// as its errno.
TEST(NetlinkTransport, DumpAndErrorAgainstNlctrl)
{
	auto t = open_libnl_transport("nlctrl");
	if (!t)
		GTEST_SKIP() << "no generic netlink here: " << t.error().message();
	auto fams = (*t)->request(CTRL_CMD_GETFAMILY, true, std::nullopt);
	ASSERT_TRUE(fams) << fams.error().message();
	ASSERT_FALSE(fams->empty());
	bool saw_nlctrl = false;
	for (const bytes &m : *fams) {
		ASSERT_GE(m.size(), NLMSG_HDRLEN + GENL_HDRLEN);
		nlattr *tb[CTRL_ATTR_MAX + 1] = {};
		auto *h = const_cast<nlmsghdr *>(hdr(m));
		ASSERT_GE(genlmsg_parse(h, 0, tb, CTRL_ATTR_MAX, nullptr), 0);
		if (tb[CTRL_ATTR_FAMILY_NAME] &&
		    !std::strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]), "nlctrl"))
			saw_nlctrl = true;
	}
	EXPECT_TRUE(saw_nlctrl);
	// GETFAMILY without a name or id: the kernel refuses it.
	auto bad = (*t)->request(CTRL_CMD_GETFAMILY, false, std::nullopt);
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().category(), std::system_category());
	EXPECT_NE(bad.error().value(), 0);
	// An unregistered family is ENOENT, which `zpci stats` reports as
	// "zpci_io driver not loaded".
	auto unknown = open_libnl_transport("zpci_no_such_family_x");
	ASSERT_FALSE(unknown);
	EXPECT_EQ(unknown.error(), std::errc::no_such_file_or_directory);
}
