// SPDX-License-Identifier: GPL-2.0
/*
 * zpci_io: generic netlink family "zpci_io" with the bound functions and
 * their counters.
 *
 * The function list is maintained at probe and remove (not open/close), so
 * a function bound to zpci_io is listed and keeps its counters while no
 * one has it open.  Every handler looks at a device only under
 * zpci_io_list_lock, which remove takes before the device can go away,
 * and never sleeps on anything of the device while it holds it: the
 * function attributes are a snapshot taken under the device's func_lock
 * (a spinlock), the counters are atomics.  So a request stuck in a page
 * fault (copying itself in) can delay neither a reader nor, through the
 * list lock, another function's probe or remove.
 *
 * Every command needs CAP_NET_ADMIN (GENL_ADMIN_PERM): the replies show
 * all tenants' functions, PCI addresses and traffic.
 */
#include <linux/pci.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "zpci_io.h"

static struct genl_family zpci_io_nl_family;

#define ZPCI_IO_NL_STATS_SIZE	(16 * 1024)

/* Requests carry at most a function id; everything else is a reply. */
static const struct nla_policy zpci_io_nl_policy[ZPCI_NL_A_MAX + 1] = {
	[ZPCI_NL_A_FID] = { .type = NLA_U32 },
};

static int zpci_io_nl_put_func(struct sk_buff *skb, struct zpci_io_device *zio,
			       const struct zpci_io_func *f)
{
	struct nlattr *bars, *bar;
	int i;

	if (nla_put_u32(skb, ZPCI_NL_A_FID, f->fid) ||
	    nla_put_u32(skb, ZPCI_NL_A_UID, f->uid) ||
	    nla_put_u8(skb, ZPCI_NL_A_PFT, f->caps.pft) ||
	    nla_put_u32(skb, ZPCI_NL_A_MAXSTBL, f->caps.maxstbl) ||
	    nla_put_u8(skb, ZPCI_NL_A_RELAXED,
		       !!(f->caps.flags & ZPCI_CAPS_RELAXED)) ||
	    nla_put_u8(skb, ZPCI_NL_A_BAR_MASK, f->caps.bar_mask) ||
	    nla_put_string(skb, ZPCI_NL_A_PCI_ADDR, pci_name(zio->core.pdev)))
		return -EMSGSIZE;

	bars = nla_nest_start(skb, ZPCI_NL_A_BARS);
	if (!bars)
		return -EMSGSIZE;
	for (i = 0; i < ZPCI_NUM_BARS; i++) {
		if (!(f->caps.bar_mask & BIT(i)))
			continue;
		bar = nla_nest_start(skb, ZPCI_NL_A_BAR);
		if (!bar ||
		    nla_put_u8(skb, ZPCI_NL_BAR_A_INDEX, i) ||
		    nla_put_u64_64bit(skb, ZPCI_NL_BAR_A_SIZE,
				      f->caps.bar_size[i], ZPCI_NL_BAR_A_PAD))
			return -EMSGSIZE;
		nla_nest_end(skb, bar);
	}
	nla_nest_end(skb, bars);
	return 0;
}

/*
 * A nest of (key, count) entries for the non-zero slots; extra0 is added
 * to slot 0 (by_cc's cc 0: the ops that succeeded, not counted twice).
 */
static int zpci_io_nl_put_table(struct sk_buff *skb, int type,
				atomic64_t *slots, unsigned int nr, u64 extra0)
{
	struct nlattr *nest, *entry;
	unsigned int i;
	u64 v;

	nest = nla_nest_start(skb, type);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < nr; i++) {
		v = atomic64_read(&slots[i]) + (i ? 0 : extra0);
		if (!v)
			continue;
		entry = nla_nest_start(skb, ZPCI_NL_S_ENTRY);
		if (!entry ||
		    nla_put_u32(skb, ZPCI_NL_E_KEY, i) ||
		    nla_put_u64_64bit(skb, ZPCI_NL_E_COUNT, v, ZPCI_NL_E_PAD))
			return -EMSGSIZE;
		nla_nest_end(skb, entry);
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int zpci_io_nl_put_u64(struct sk_buff *skb, int type, atomic64_t *v)
{
	return nla_put_u64_64bit(skb, type, atomic64_read(v), ZPCI_NL_S_PAD);
}

static int zpci_io_nl_put_stats(struct sk_buff *skb, struct zpci_io_device *zio)
{
	struct zpci_io_stats *s = &zio->stats;
	struct nlattr *nest;
	u64 cc0;

	/* every op that succeeded ended with cc 0 (zpci_io_tally_flush()) */
	cc0 = atomic64_read(&s->ops[0]) + atomic64_read(&s->ops[1]) +
	      atomic64_read(&s->ops[2]);
	nest = nla_nest_start(skb, ZPCI_NL_A_STATS);
	if (!nest)
		return -EMSGSIZE;
	if (zpci_io_nl_put_u64(skb, ZPCI_NL_S_PCILG_OPS,
			       &s->ops[ZPCI_IO_OP_PCILG - 1]) ||
	    zpci_io_nl_put_u64(skb, ZPCI_NL_S_PCISTG_OPS,
			       &s->ops[ZPCI_IO_OP_PCISTG - 1]) ||
	    zpci_io_nl_put_u64(skb, ZPCI_NL_S_PCISTB_OPS,
			       &s->ops[ZPCI_IO_OP_PCISTB - 1]) ||
	    zpci_io_nl_put_u64(skb, ZPCI_NL_S_PCILG_BYTES,
			       &s->bytes[ZPCI_IO_OP_PCILG - 1]) ||
	    zpci_io_nl_put_u64(skb, ZPCI_NL_S_PCISTG_BYTES,
			       &s->bytes[ZPCI_IO_OP_PCISTG - 1]) ||
	    zpci_io_nl_put_u64(skb, ZPCI_NL_S_PCISTB_BYTES,
			       &s->bytes[ZPCI_IO_OP_PCISTB - 1]) ||
	    zpci_io_nl_put_u64(skb, ZPCI_NL_S_BATCHES, &s->batches) ||
	    zpci_io_nl_put_u64(skb, ZPCI_NL_S_PINNED_PAGES,
			       &s->pinned_pages) ||
	    zpci_io_nl_put_u64(skb, ZPCI_NL_S_ERRORS, &s->errors) ||
	    zpci_io_nl_put_u64(skb, ZPCI_NL_S_PINS_HELD, &s->pins_held) ||
	    zpci_io_nl_put_u64(skb, ZPCI_NL_S_REQ_BYTES, &s->req_bytes) ||
	    zpci_io_nl_put_u64(skb, ZPCI_NL_S_REQ_ALLOCS, &s->req_allocs) ||
	    zpci_io_nl_put_table(skb, ZPCI_NL_S_BY_ERRNO, s->by_errno,
				 ZPCI_IO_NR_ERRNO, 0) ||
	    zpci_io_nl_put_table(skb, ZPCI_NL_S_BY_CC, s->by_cc,
				 ZPCI_IO_NR_CC, cc0) ||
	    zpci_io_nl_put_table(skb, ZPCI_NL_S_BY_STATUS, s->by_status,
				 ZPCI_IO_NR_STATUS, 0))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static void zpci_io_nl_reset(struct zpci_io_stats *s)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(s->ops); i++) {
		atomic64_set(&s->ops[i], 0);
		atomic64_set(&s->bytes[i], 0);
	}
	atomic64_set(&s->batches, 0);
	atomic64_set(&s->pinned_pages, 0);
	atomic64_set(&s->req_bytes, 0);
	atomic64_set(&s->req_allocs, 0);
	atomic64_set(&s->errors, 0);
	for (i = 0; i < ZPCI_IO_NR_ERRNO; i++)
		atomic64_set(&s->by_errno[i], 0);
	for (i = 0; i < ZPCI_IO_NR_CC; i++)
		atomic64_set(&s->by_cc[i], 0);
	for (i = 0; i < ZPCI_IO_NR_STATUS; i++)
		atomic64_set(&s->by_status[i], 0);
}

/* One message for one function; zpci_io_list_lock held. */
static int zpci_io_nl_fill(struct sk_buff *skb, struct zpci_io_device *zio,
			   u32 portid, u32 seq, int flags, u8 cmd)
{
	struct zpci_io_func f;
	void *hdr;
	int ret;

	hdr = genlmsg_put(skb, portid, seq, &zpci_io_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	zpci_io_func_snapshot(zio, &f);
	ret = zpci_io_nl_put_func(skb, zio, &f);
	if (!ret && cmd == ZPCI_NL_CMD_GET_STATS)
		ret = zpci_io_nl_put_stats(skb, zio);
	if (ret) {
		genlmsg_cancel(skb, hdr);
		return ret;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static struct zpci_io_device *zpci_io_nl_find(u32 fid)
{
	struct zpci_io_device *zio;
	struct zpci_io_func f;

	list_for_each_entry(zio, &zpci_io_devices, node) {
		zpci_io_func_snapshot(zio, &f);
		if (f.fid == fid)
			return zio;
	}
	return NULL;
}

/*
 * Dumps resume by position: a function bound or unbound between two
 * parts of a dump can shift the list by one, as in other position-based
 * netlink dumps.
 */
static int zpci_io_nl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct zpci_io_device *zio;
	long idx = 0, start = cb->args[0];
	int ret = 0;

	mutex_lock(&zpci_io_list_lock);
	list_for_each_entry(zio, &zpci_io_devices, node) {
		if (idx++ < start)
			continue;
		ret = zpci_io_nl_fill(skb, zio, NETLINK_CB(cb->skb).portid,
				      cb->nlh->nlmsg_seq, NLM_F_MULTI,
				      info->op.cmd);
		if (ret) {
			idx--;
			break;
		}
	}
	mutex_unlock(&zpci_io_list_lock);
	cb->args[0] = idx;
	/* a message that did not fit an empty skb never will */
	if (ret && !skb->len)
		return ret;
	return skb->len;
}

static int zpci_io_nl_get_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct zpci_io_device *zio;
	struct sk_buff *msg;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, ZPCI_NL_A_FID))
		return -EINVAL;
	/* every errno, cc and status slot in use needs about 10 KiB */
	msg = genlmsg_new(ZPCI_IO_NL_STATS_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	mutex_lock(&zpci_io_list_lock);
	zio = zpci_io_nl_find(nla_get_u32(info->attrs[ZPCI_NL_A_FID]));
	if (!zio) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[ZPCI_NL_A_FID],
				    "no function with this fid is bound to zpci_io");
		ret = -ENODEV;
	} else {
		ret = zpci_io_nl_fill(msg, zio, info->snd_portid,
				      info->snd_seq, 0, ZPCI_NL_CMD_GET_STATS);
	}
	mutex_unlock(&zpci_io_list_lock);

	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int zpci_io_nl_reset_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct zpci_io_device *zio;
	int ret = 0;

	mutex_lock(&zpci_io_list_lock);
	if (info->attrs[ZPCI_NL_A_FID]) {
		zio = zpci_io_nl_find(nla_get_u32(info->attrs[ZPCI_NL_A_FID]));
		if (zio) {
			zpci_io_nl_reset(&zio->stats);
		} else {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    info->attrs[ZPCI_NL_A_FID],
					    "no function with this fid is bound to zpci_io");
			ret = -ENODEV;
		}
	} else {
		list_for_each_entry(zio, &zpci_io_devices, node)
			zpci_io_nl_reset(&zio->stats);
	}
	mutex_unlock(&zpci_io_list_lock);
	return ret;
}

static const struct genl_ops zpci_io_nl_ops[] = {
	{
		.cmd = ZPCI_NL_CMD_GET_FUNCS,
		.dumpit = zpci_io_nl_dump,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = ZPCI_NL_CMD_GET_STATS,
		.doit = zpci_io_nl_get_stats,
		.dumpit = zpci_io_nl_dump,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = ZPCI_NL_CMD_RESET_STATS,
		.doit = zpci_io_nl_reset_stats,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family zpci_io_nl_family = {
	.name = ZPCI_NL_FAMILY,
	.version = ZPCI_NL_VERSION,
	.maxattr = ZPCI_NL_A_MAX,
	.policy = zpci_io_nl_policy,
	/* every command of this family validates strictly */
	.resv_start_op = ZPCI_NL_CMD_RESET_STATS + 1,
	.module = THIS_MODULE,
	.ops = zpci_io_nl_ops,
	.n_ops = ARRAY_SIZE(zpci_io_nl_ops),
};

int zpci_io_nl_init(void)
{
	return genl_register_family(&zpci_io_nl_family);
}

void zpci_io_nl_exit(void)
{
	genl_unregister_family(&zpci_io_nl_family);
}
