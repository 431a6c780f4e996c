// SPDX-License-Identifier: MIT
// ISM helpers: offset encoding, move sequences, stop-on-failure, commands,
// and the two-process peer that waits for the signal.
#include <gtest/gtest.h>

#include <cstring>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <zpci/ism.hpp>
#include <zpci/path.hpp>
#include <zpci/rules.hpp>
#include <zpci/sim.hpp>

using namespace zpci;

namespace {

constexpr std::uint64_t TOKEN = 0x0000000500000000ULL;

std::vector<std::byte> pattern(std::size_t n, unsigned seed)
{
	std::vector<std::byte> v(n);
	for (std::size_t i = 0; i < n; i++)
		v[i] = std::byte((i * 29 + seed * 13 + 3) & 0xff);
	return v;
}

struct ism_fixture {
	std::shared_ptr<sim_function> sim;
	std::unique_ptr<io_path> path;

	explicit ism_fixture(const std::string &shm = {}, bool fallback = false)
	{
		sim_config cfg = sim_config::ism();
		cfg.dmb_token = TOKEN;
		cfg.shm_name = shm;
		auto s = sim_function::create(cfg);
		EXPECT_TRUE(s) << s.error().message();
		sim = std::move(*s);
		auto p = fallback ? make_fallback_path(sim) : make_region_path(sim);
		EXPECT_TRUE(p);
		path = std::move(*p);
	}
};

} // namespace

TEST(Ism, Encoding)
{
	EXPECT_EQ(ism::encode(TOKEN, 3, false, 0x10).value(), TOKEN | (3ULL << 24) | 0x10);
	EXPECT_EQ(ism::encode(TOKEN, 3, true, 0x10).value(),
		  TOKEN | (3ULL << 24) | (1ULL << 23) | 0x10);
	EXPECT_EQ(ism::encode(0, 255, false, (1u << 23) - 1).value(), 0xff7fffffULL);
	EXPECT_EQ(ism::encode(0x1234, 0, false, 0).error(), make_error_code(errc::ism_encoding));
	EXPECT_EQ(ism::encode(0, 256, false, 0).error(), make_error_code(errc::ism_encoding));
	EXPECT_EQ(ism::encode(0, 0, false, 1u << 23).error(), make_error_code(errc::ism_encoding));
}

TEST(Ism, MoveSplitsAt4KAndSignalsOnlyTheLastChunk)
{
	zpci_caps caps = ism_caps();
	ism::move_request req{TOKEN, 2, 4000, 9000, true, 0, 0x10000};
	std::vector<op> ops(8);
	auto n = ism::plan_move(caps, req, ops);
	ASSERT_TRUE(n);
	ASSERT_EQ(*n, 4u);	// 96 | 4096 | 4096 | 712
	const std::uint32_t lens[] = {96, 4096, 4096, 712};
	std::uint64_t pos = 4000;
	for (std::size_t i = 0; i < 4; i++) {
		EXPECT_EQ(ops[i].kind, insn::pcistb);
		EXPECT_EQ(ops[i].pcias, 0);
		EXPECT_EQ(ops[i].len, lens[i]);
		bool last = i == 3;
		EXPECT_EQ(ops[i].offset, ism::encode(TOKEN, 2, last, pos).value()) << i;
		EXPECT_EQ(ops[i].addr, 0x10000 + (pos - 4000));
		pos += lens[i];
	}
	// Without signal: no chunk has the flag.
	req.signal = false;
	ASSERT_TRUE(ism::plan_move(caps, req, ops));
	for (std::size_t i = 0; i < 4; i++)
		EXPECT_FALSE(ops[i].offset & ism::signal_flag);
	// A smaller maxstbl splits the chunks further; still one signal.
	caps.maxstbl = 1024;
	req.signal = true;
	ops.resize(32);
	n = ism::plan_move(caps, req, ops);
	ASSERT_TRUE(n);
	int signals = 0;
	for (std::size_t i = 0; i < *n; i++) {
		EXPECT_LE(ops[i].len, 1024u);
		signals += (ops[i].offset & ism::signal_flag) ? 1 : 0;
	}
	EXPECT_EQ(signals, 1);
	EXPECT_TRUE(ops[*n - 1].offset & ism::signal_flag);
	// Bad moves.
	EXPECT_FALSE(ism::plan_move(ism_caps(), {TOKEN, 0, 0, 0, true, 0, 0}, ops));
	EXPECT_FALSE(ism::plan_move(ism_caps(), {TOKEN, 0, (1u << 23) - 4, 8, true, 0, 0}, ops));
	EXPECT_FALSE(ism::plan_move(ism_caps(), {TOKEN, 300, 0, 8, true, 0, 0}, ops));
	EXPECT_EQ(rule_of(ism::plan_move(ism_caps(), {TOKEN, 0, 0, 8, true, 1, 0}, ops).error()),
		  unsigned(ZPCI_RULE_PCIAS));
	// A strict function cannot take an unaligned ISM move.
	EXPECT_FALSE(ism::plan_move(strict_caps(128), {0, 0, 3, 100, true, 0, 0}, ops));
}

TEST(Ism, MoveLandsAndSignals)
{
	ism_fixture f;
	auto data = pattern(9000, 1);
	ism::move_request req{TOKEN, 1, 4000, 9000, true, 0,
			      reinterpret_cast<std::uintptr_t>(data.data())};
	std::size_t landed = 0;
	exec_status st;
	auto r = ism::move(*f.path, req, &landed, &st);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(landed, 9000u);
	EXPECT_EQ(st.done, 4u);
	EXPECT_EQ(std::memcmp(f.sim->dmb(1).data() + 4000, data.data(), 9000), 0);
	sim_signal s = f.sim->last_signal();
	EXPECT_EQ(s.seq, 1u);
	EXPECT_EQ(s.index, 1u);
	EXPECT_EQ(s.offset, 4000u + 96 + 4096 + 4096);
	EXPECT_EQ(s.len, 712u);
	EXPECT_EQ(f.sim->stats().signals, 1u);
}

TEST(Ism, StopsAtTheFailedChunkAndNeverSignals)
{
	const std::uint32_t lens[] = {96, 4096, 4096, 712};
	for (std::size_t k = 0; k < 4; k++) {
		SCOPED_TRACE(::testing::Message() << "fail chunk " << k);
		ism_fixture f;
		auto data = pattern(9000, 2);
		f.sim->inject_failure(k, 1, ZPCI_ST_INSUF_RES);
		ism::move_request req{TOKEN, 0, 4000, 9000, true, 0,
				      reinterpret_cast<std::uintptr_t>(data.data())};
		std::size_t landed = 12345;
		exec_status st;
		auto r = ism::move(*f.path, req, &landed, &st);
		ASSERT_FALSE(r);
		EXPECT_EQ(r.error(), sys_error(EIO));
		std::size_t want = 0;
		for (std::size_t i = 0; i < k; i++)
			want += lens[i];
		EXPECT_EQ(landed, want);
		EXPECT_EQ(st.done, k);
		EXPECT_EQ(st.cc, 1);
		EXPECT_EQ(st.status, ZPCI_ST_INSUF_RES);
		auto dmb = f.sim->dmb(0);
		EXPECT_EQ(std::memcmp(dmb.data() + 4000, data.data(), want), 0);
		for (std::size_t i = 4000 + want; i < 4000 + 9000; i++)
			ASSERT_EQ(std::to_integer<int>(dmb[i]), 0) << "byte after the failure landed";
		EXPECT_EQ(f.sim->last_signal().seq, 0u) << "failed move signalled";
		EXPECT_EQ(f.sim->stats().total_ops(), k);
	}
}

TEST(Ism, FallbackPathCannotMove)
{
	ism_fixture f({}, true);
	auto data = pattern(100, 3);
	ism::move_request req{TOKEN, 0, 0, 100, true, 0,
			      reinterpret_cast<std::uintptr_t>(data.data())};
	std::size_t landed = 1;
	auto r = ism::move(*f.path, req, &landed);
	ASSERT_FALSE(r);
	EXPECT_EQ(rule_of(r.error()), unsigned(ZPCI_RULE_NO_PCISTG));
	EXPECT_EQ(landed, 0u);
	EXPECT_EQ(f.sim->stats().bar_calls, 0u);
	EXPECT_EQ(f.sim->last_signal().seq, 0u);
}

TEST(Ism, CommandBodyFirstHeaderLastThenResponse)
{
	ism_fixture f;
	bool body_seen_first = false;
	int executions = 0;
	f.sim->set_command_handler([&](std::span<std::byte> space) {
		executions++;
		// At header time the body must already be there.
		body_seen_first = ism::get_be64(space.data() + 8) == 0x0102030405060708ULL &&
				  ism::get_be32(space.data()) == 0x21;
		// Response: ret 0, 24 bytes, payload = body + 1.
		ism::put_be16(space.data() + 4, 0);
		ism::put_be16(space.data() + 6, 24);
		ism::put_be64(space.data() + 16, 0xcafef00dULL);
	});
	std::array<std::byte, 16> req{};
	ism::put_request_header(std::span<std::byte, 8>(req.data(), 8), 0x21, 16);
	ism::put_be64(req.data() + 8, 0x0102030405060708ULL);
	std::array<std::byte, 64> resp{};
	exec_status st;
	auto r = ism::command(*f.path, req, resp, ism::command_space, &st);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(executions, 1);
	EXPECT_TRUE(body_seen_first);
	EXPECT_EQ(r->ret, 0);
	EXPECT_EQ(r->len, 24);
	EXPECT_EQ(ism::get_be64(resp.data() + 16), 0xcafef00dULL);
	// 8-byte loads: header then two more doublewords.
	EXPECT_EQ(f.sim->stats().ops[ZPCI_INSN_PCILG], 3u);

	// Non-zero return code: only the header is read.
	f.sim->set_command_handler([](std::span<std::byte> space) {
		ism::put_be16(space.data() + 4, 0x0300);
		ism::put_be16(space.data() + 6, 40);
	});
	f.sim->reset_stats();
	resp.fill(std::byte{0});
	r = ism::command(*f.path, req, resp);
	ASSERT_TRUE(r);
	EXPECT_EQ(r->ret, 0x0300);
	EXPECT_EQ(f.sim->stats().ops[ZPCI_INSN_PCILG], 1u);

	// Malformed requests change nothing.
	f.sim->reset_stats();
	std::array<std::byte, 16> bad = req;
	ism::put_be16(bad.data() + 6, 99);	// length field lies
	EXPECT_FALSE(ism::command(*f.path, bad, resp));
	EXPECT_FALSE(ism::command(*f.path, std::span<const std::byte>(req.data(), 4), resp));
	EXPECT_FALSE(ism::command(*f.path, req, std::span<std::byte>(resp.data(), 4)));
	EXPECT_EQ(f.sim->stats().total_ops(), 0u);
}

// Writer in this process, the ISM peer in another one (fork): the peer
// attaches to the shared memory by name, waits for the signal and checks
// the whole payload landed before it; then a failed move must not signal.
TEST(Ism, TwoProcessPeerSeesCompletePayloadAtSignal)
{
	std::string name = "zpci-test-peer-" + std::to_string(::getpid());
	ism_fixture f(name);
	const std::size_t LEN = 20000, OFF = 1000;
	auto data = pattern(LEN, 9);
	int ready[2], go[2];
	ASSERT_EQ(::pipe(ready), 0);
	ASSERT_EQ(::pipe(go), 0);
	pid_t pid = ::fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		// Peer.  Exit codes: 0 ok, 10+ the failing step.
		::close(ready[0]);
		::close(go[1]);
		auto peer = sim_function::attach(name);
		if (!peer)
			::_exit(10);
		std::uint64_t seen = (*peer)->last_signal().seq;
		char c = 'r';
		if (::write(ready[1], &c, 1) != 1)
			::_exit(11);
		auto s = (*peer)->wait_signal(seen, std::chrono::seconds(20));
		if (!s)
			::_exit(12);
		if (s->seq != seen + 1 || s->index != 3)
			::_exit(13);
		// Everything the signal announces must be there already.
		auto dmb = (*peer)->dmb(3);
		for (std::size_t i = 0; i < LEN; i++)
			if (dmb[OFF + i] != data[i])
				::_exit(14);
		if (s->offset + s->len != OFF + LEN)
			::_exit(15);
		seen = s->seq;
		if (::write(ready[1], &c, 1) != 1)
			::_exit(11);
		// Wait until the writer's failed move is over.
		if (::read(go[0], &c, 1) != 1)
			::_exit(16);
		if ((*peer)->last_signal().seq != seen)
			::_exit(17);	// a failed move signalled
		::_exit(0);
	}
	::close(ready[1]);
	::close(go[0]);
	char c;
	ASSERT_EQ(::read(ready[0], &c, 1), 1);
	ism::move_request req{TOKEN, 3, OFF, LEN, true, 0,
			      reinterpret_cast<std::uintptr_t>(data.data())};
	ASSERT_TRUE(ism::move(*f.path, req));
	ASSERT_EQ(::read(ready[0], &c, 1), 1);
	// Now a move whose third chunk fails.
	f.sim->inject_failure(2, 1, ZPCI_ST_BLOCKED);
	std::size_t landed = 0;
	EXPECT_FALSE(ism::move(*f.path, req, &landed));
	EXPECT_GT(landed, 0u);
	EXPECT_LT(landed, LEN);
	ASSERT_EQ(::write(go[1], "g", 1), 1);
	int status = 0;
	ASSERT_EQ(::waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0) << "peer failed at step " << WEXITSTATUS(status);
	::close(ready[0]);
	::close(go[1]);
}
