// SPDX-License-Identifier: MIT
// The zpci tool: output and exit codes (0 ok, 1 invalid, 2 usage).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <vector>
#include <unistd.h>

#ifdef ZPCI_CLI_PATH
#include <nlohmann/json.hpp>
#endif

namespace {

std::string cli_path()
{
	if (const char *e = std::getenv("ZPCI_CLI"))
		return e;
#ifdef ZPCI_CLI_PATH
	return ZPCI_CLI_PATH;
#else
	return {};
#endif
}

struct run_result {
	int code = -1;
	std::string out;	// stdout + stderr
};

run_result run(const std::string &args, bool with_stderr = true)
{
	run_result r;
	std::string cmd = "'" + cli_path() + "' " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
	FILE *f = ::popen(cmd.c_str(), "r");
	if (!f)
		return r;
	char buf[4096];
	std::size_t n;
	while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
		r.out.append(buf, n);
	int st = ::pclose(f);
	r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return r;
}

class Cli : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (cli_path().empty() || ::access(cli_path().c_str(), X_OK) != 0)
			GTEST_SKIP() << "zpci tool not built (set ZPCI_CLI)";
	}
};

} // namespace

TEST_F(Cli, Check)
{
	auto r = run("check pcistb --offset 0x1000 --len 128");
	EXPECT_EQ(r.code, 0);
	EXPECT_EQ(r.out, "ok\n");
	r = run("check pcistb --offset 0x1004 --len 128");
	EXPECT_EQ(r.code, 1);
	EXPECT_EQ(r.out, "invalid: offset alignment\n");
	r = run("check pcistb --offset 0 --len 16 --src 4");
	EXPECT_EQ(r.out, "invalid: source alignment\n");
	r = run("check pcistb --offset 0 --len 256 --maxstbl 256");
	EXPECT_EQ(r.code, 0);
	r = run("check pcistb --offset 3 --len 5 --relaxed --maxstbl 4096");
	EXPECT_EQ(r.code, 0);
	r = run("check pcistg --offset 7 --len 2");
	EXPECT_EQ(r.out, "invalid: 8-byte crossing\n");
	r = run("check pcilg --offset 0 --len 4 --pcias 15");
	EXPECT_EQ(r.code, 0);
	r = run("check pcilg --offset 0 --len 4 --pcias 7");
	EXPECT_EQ(r.code, 1);
	EXPECT_EQ(r.out, "invalid: address space\n");
	r = run("check pcistg --offset 0 --len 0");
	EXPECT_EQ(r.code, 1);
	EXPECT_EQ(r.out, "invalid: length range\n");
	// The range's end must be representable: 2^64 is not.
	r = run("check pcistg --offset 0xfffffffffffffff0 --len 8");
	EXPECT_EQ(r.code, 0);
	r = run("check pcistg --offset 0xffffffffffffffff --len 1");
	EXPECT_EQ(r.code, 1);
	EXPECT_EQ(r.out, "invalid: beyond the BAR\n");
}

TEST_F(Cli, Plan)
{
	auto r = run("plan write --offset 0xff9 --len 300 --src 0x1");
	EXPECT_EQ(r.code, 0);
	EXPECT_EQ(r.out,
		  "PCISTG offset=0xff9 len=1\n"
		  "PCISTG offset=0xffa len=2\n"
		  "PCISTG offset=0xffc len=4\n"
		  "PCISTB offset=0x1000 len=128\n"
		  "PCISTB offset=0x1080 len=128\n"
		  "PCISTB offset=0x1100 len=32\n"
		  "PCISTG offset=0x1120 len=4\n"
		  "PCISTG offset=0x1124 len=1\n");
	r = run("plan write --offset 0 --len 8192 --relaxed --maxstbl 4096 --json");
	EXPECT_EQ(r.code, 0);
	EXPECT_EQ(r.out,
		  "[\n"
		  "  {\"insn\": \"PCISTB\", \"offset\": 0, \"len\": 4096},\n"
		  "  {\"insn\": \"PCISTB\", \"offset\": 4096, \"len\": 4096}\n"
		  "]\n");
	r = run("plan read --offset 3 --len 6");
	EXPECT_EQ(r.out, "PCILG offset=0x3 len=1\nPCILG offset=0x4 len=4\nPCILG offset=0x8 len=1\n");
	r = run("plan write --offset 1 --len 16 --no-pcistg");
	EXPECT_EQ(r.code, 1);
	EXPECT_NE(r.out.find("invalid: no legal instruction sequence"), std::string::npos);
	r = run("plan write --offset 0 --len 16 --src 4 --no-pcistg --relaxed");
	EXPECT_EQ(r.code, 0);
}

TEST_F(Cli, IsmMove)
{
	auto r = run("ism-move --token 0x100000000 --index 3 --offset 4000 --len 9000 --signal");
	EXPECT_EQ(r.code, 0);
	EXPECT_EQ(r.out,
		  "PCISTB pcias=0 offset=0x103000fa0 len=96 signal=0\n"
		  "PCISTB pcias=0 offset=0x103001000 len=4096 signal=0\n"
		  "PCISTB pcias=0 offset=0x103002000 len=4096 signal=0\n"
		  "PCISTB pcias=0 offset=0x103803000 len=712 signal=1\n");
	r = run("ism-move --token 0 --index 0 --offset 0 --len 8");
	EXPECT_EQ(r.out, "PCISTB pcias=0 offset=0x0 len=8 signal=0\n");
	r = run("ism-move --token 0 --index 0 --offset 0 --len 8 --signal --json");
	EXPECT_EQ(r.out,
		  "[\n  {\"insn\": \"PCISTB\", \"pcias\": 0, \"offset\": 8388608, \"len\": 8, "
		  "\"signal\": 1}\n]\n");
	EXPECT_EQ(run("ism-move --token 1 --index 0 --offset 0 --len 8").code, 1);
	EXPECT_EQ(run("ism-move --token 0 --index 256 --offset 0 --len 8").code, 1);
	EXPECT_EQ(run("ism-move --token 0 --index 0 --offset 0x7fffff --len 2").code, 1);
	EXPECT_EQ(run("ism-move --token 0 --index 0 --offset 0 --len 0").code, 1);
	EXPECT_EQ(run("ism-move --token 0 --index 0 --offset 0").code, 2);
}

TEST_F(Cli, MalformedInputIsRefusedClearly)
{
	struct {
		const char *args;
		int code;
		const char *needle;
	} cases[] = {
		{"", 2, "usage"},
		{"frobnicate", 2, "unknown command 'frobnicate'"},
		{"check", 2, "missing instruction"},
		{"check pcistx --offset 0 --len 8", 2, "unknown instruction 'pcistx'"},
		{"check pcistg --len 8", 2, "missing --offset"},
		{"check pcistg --offset 0", 2, "missing --len"},
		{"check pcistg --offset abc --len 8", 2, "bad --offset value 'abc'"},
		{"check pcistg --offset 0x --len 8", 2, "bad --offset"},
		{"check pcistg --offset -1 --len 8", 2, "bad --offset"},
		{"check pcistg --offset 0x10000000000000000 --len 8", 2, "bad --offset"},
		{"check pcistg --offset 99999999999999999999 --len 8", 2, "bad --offset"},
		{"check pcistg --offset 0 --len 8 --pcias 16", 2, "bad --pcias"},
		{"check pcistg --offset 0 --len 8 --maxstbl 8", 2, "bad --maxstbl"},
		{"check pcistg --offset 0 --len 8 --maxstbl 8192", 2, "bad --maxstbl"},
		{"check pcistg --offset 0 --len 8 --bogus", 2, "unknown option '--bogus'"},
		{"check pcistg --offset 0 --len", 2, "--len needs a value"},
		{"check pcistg --offset 0 --offset 1 --len 8", 2, "given twice"},
		{"check pcistg --offset 0 --len 8 --relaxed=1", 2, "takes no value"},
		{"plan sideways --offset 0 --len 8", 2, "unknown direction"},
		{"plan write --offset 0 --len 0", 1, "length is zero"},
		{"plan write --offset 0xfffffffffffffff8 --len 16", 1, "overflows"},
		{"plan write --offset 0 --len 0x100000000", 2, "bad --len"},
		{"plan write --offset 0 --len 16 --pcias 6", 2, "bad --pcias"},
		{"plan read --offset 0 --len 8 extra", 2, "unexpected argument 'extra'"},
		{"ism-move --token 0 --index 0 --offset 0 --len 8 --pcias 9", 2, "bad --pcias"},
		{"bench --min-time abc", 2, "bad --min-time"},
		{"bench --what", 2, "unknown option"},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE(c.args);
		auto r = run(c.args);
		EXPECT_EQ(r.code, c.code) << r.out;
		EXPECT_NE(r.out.find(c.needle), std::string::npos) << r.out;
	}
	auto r = run("--help");
	EXPECT_EQ(r.code, 0);
	EXPECT_NE(r.out.find("ism-move"), std::string::npos);
}

TEST_F(Cli, EqualsSyntaxAndHexDecimal)
{
	auto a = run("plan write --offset=4096 --len=0x80");
	auto b = run("plan write --offset 0x1000 --len 128");
	EXPECT_EQ(a.code, 0);
	EXPECT_EQ(a.out, b.out);
	EXPECT_EQ(a.out, "PCISTB offset=0x1000 len=128\n");
}

// Random argument vectors (seeded): the tool never crashes and always
// exits 0, 1 or 2.
TEST_F(Cli, RandomArgumentsNeverCrash)
{
	const char *words[] = {"check", "plan", "ism-move", "pcistb", "pcistg", "pcilg",
			       "write", "read", "--offset", "--len", "--src", "--maxstbl",
			       "--relaxed", "--no-pcistg", "--json", "--pcias", "--token",
			       "--index", "--signal", "0", "1", "8", "0x1000", "4096",
			       "0xffffffffffffffff", "18446744073709551616", "-5", "0x",
			       "abc", "", "--", "--offset=", "--len=0x10", "15", "16",
			       "0x7fffff", "99999999999999999999999"};
	const std::size_t nwords = sizeof(words) / sizeof(words[0]);
	std::uint64_t seed = 12345;
	auto rnd = [&]() {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		return static_cast<std::size_t>(seed >> 33);
	};
	std::string cli = cli_path();
	for (int iter = 0; iter < 150; iter++) {
		std::vector<std::string> argv_s{cli};
		argv_s.push_back(words[rnd() % 3]);
		std::size_t n = rnd() % 9;
		for (std::size_t i = 0; i < n; i++)
			argv_s.push_back(words[rnd() % nwords]);
		std::vector<char *> argv;
		for (auto &s : argv_s)
			argv.push_back(s.data());
		argv.push_back(nullptr);
		pid_t pid = ::fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			std::freopen("/dev/null", "w", stdout);
			std::freopen("/dev/null", "w", stderr);
			::execv(cli.c_str(), argv.data());
			::_exit(127);
		}
		int st = 0;
		ASSERT_EQ(::waitpid(pid, &st, 0), pid);
		std::string line;
		for (std::size_t i = 1; i < argv_s.size(); i++)
			line += " '" + argv_s[i] + "'";
		ASSERT_TRUE(WIFEXITED(st)) << "crashed:" << line;
		EXPECT_LE(WEXITSTATUS(st), 2) << line;
	}
}

TEST_F(Cli, IoThroughSimulatedPaths)
{
	auto r = run("io write --path sim:strict --offset 0x1000 --len 4096");
	EXPECT_EQ(r.code, 0);
	EXPECT_EQ(r.out, "ok: wrote 4096 bytes, 32 instructions, 1 calls (region path)\n");
	r = run("io write --path sim-fallback:strict --offset 0x1000 --len 4096");
	EXPECT_EQ(r.out, "ok: wrote 4096 bytes, 512 instructions, 512 calls (fallback path)\n");
	r = run("io write --path sim-fallback:ism --offset 0 --len 64");
	EXPECT_EQ(r.code, 1);
	EXPECT_EQ(r.out, "failed: PCISTG not accepted done=0\n");
	r = run("io read --path sim:ism --offset 0 --len 3 --hex");
	EXPECT_EQ(r.out, "ok: read 3 bytes, 2 instructions, 1 calls (region path)\n00 00 00\n");
	r = run("io write --path sim:strict --offset 0xffff0 --len 64");
	EXPECT_EQ(r.code, 1);
	EXPECT_EQ(r.out, "failed: beyond the BAR done=0\n");
	EXPECT_EQ(run("io write --path nope --offset 0 --len 1").code, 2);
	EXPECT_EQ(run("io write --offset 0 --len 1").code, 2);
	EXPECT_EQ(run("io write --path sim:strict --offset 0 --len 0").code, 2);
	EXPECT_EQ(run("io write --path sim:strict --offset 0 --len 8 --pcias 6").code, 2);
	EXPECT_EQ(run("io write --path sim:strict --offset 0 --len 8 --src-shift 8").code, 2);
	EXPECT_EQ(run("io sideways --path sim:strict --offset 0 --len 8").code, 2);
}

#ifdef ZPCI_CLI_PATH
// `zpci info --json` is one JSON object, whatever this machine has bound to
// vfio: the driver's state and one object per function with its address,
// driver and path decision.
TEST_F(Cli, InfoJsonParses)
{
	auto r = run("info --json", false);
	ASSERT_EQ(r.code, 0) << r.out;
	auto j = nlohmann::json::parse(r.out, nullptr, false);
	ASSERT_FALSE(j.is_discarded()) << r.out;
	ASSERT_TRUE(j.is_object());
	ASSERT_TRUE(j["driver_loaded"].is_boolean());
	ASSERT_TRUE(j["functions"].is_array());
	for (const auto &f : j["functions"]) {
		EXPECT_TRUE(f["pci_addr"].is_string());
		EXPECT_TRUE(f["driver"].is_string());
		EXPECT_TRUE(f["path"].is_string());
		EXPECT_TRUE(f["path_reason"].is_string());
	}
	EXPECT_EQ(r.out.back(), '\n');
	EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line";
}

// Without the driver, `zpci stats` fails with exit 1 and says why, on
// stderr only: --json output is never half written.  (Why depends on the
// host: "driver not loaded" where generic netlink works, the socket's
// error under qemu-user, which has no netlink.)
TEST_F(Cli, StatsWithoutDriver)
{
	if (::access("/sys/module/zpci_io", F_OK) == 0)
		GTEST_SKIP() << "zpci_io is loaded here";
	auto r = run("stats --json", false);
	EXPECT_EQ(r.code, 1);
	EXPECT_EQ(r.out, "");
	r = run("stats");
	EXPECT_EQ(r.code, 1);
	EXPECT_EQ(r.out.rfind("zpci stats: ", 0), 0u) << r.out;
	EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line: " << r.out;
}
#endif
