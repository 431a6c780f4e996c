// SPDX-License-Identifier: MIT
// zpci_soak: the guest side of `make soak` (tests/soak/README.md).  One
// binary, several roles, each a process of its own started by
// tests/soak/soak-guest.sh:
//
//   tenant  --fn NAME --addr A --win OFF:LEN --shadow FILE --seconds S
//           --seed N --gate FILE --out FILE
//       random valid and invalid ABI 3 requests (PCISTB/PCISTG/PCILG,
//       1..256 ops) to BAR 2 of one function for S seconds, keeping a
//       shadow of what [OFF, OFF + LEN) must hold (loaded from and saved
//       to FILE).  Invalid requests must be refused whole (REJECTED,
//       nothing done); loads must return the shadow's bytes; a failed
//       request's first status.done ops count as done, the rest not.
//       When the function is removed (ENODEV, no cc) it releases the
//       device and reopens it once GATE exists and zpci_io is bound again.
//   nlread  --stop FILE --out FILE
//       netlink GET_STATS dumps in a loop until FILE exists.
//   check   --fn NAME --win OFF --shadow FILE --tag T [--corrupt]
//       sends the shadow to the host (CHECK lines on the control port);
//       the host compares it with the function's shared-memory file.
//       --corrupt flips one byte of what is sent (the self-test).
//   fault   --fn NAME --addr A --kind busy|cc3|errevent --n N
//       injects the fault (FAULT on the control port) and waits until it
//       was consumed and, for cc3 / errevent, until the function has its
//       new handle again (QEMU's state "enabled", the guest's sysfs handle).
//   ctl     [--wait-deleted ID] REQUEST...
//       one control-port request; prints the answer.
//   sample  prints one JSON object: pins, kernel memory, driver counters.
//
// Every role prints what it measured as one JSON object (to --out or
// stdout) and exits 0 only when nothing went wrong.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "common.hpp"
#include "nl_raw.hpp"

using namespace zpci_vm;

namespace {

struct Args {
	std::map<std::string, std::string> kv;
	std::vector<std::string> rest;
	bool has(const std::string &k) const { return kv.count(k) != 0; }
	std::string get(const std::string &k, const std::string &d = "") const
	{
		auto it = kv.find(k);
		return it == kv.end() ? d : it->second;
	}
	std::uint64_t num(const std::string &k, std::uint64_t d = 0) const
	{
		auto it = kv.find(k);
		return it == kv.end() ? d : std::strtoull(it->second.c_str(), nullptr, 0);
	}
};

Args parse(int argc, char **argv, int first)
{
	Args a;
	for (int i = first; i < argc; i++) {
		std::string s = argv[i];
		if (s == "--corrupt") {
			a.kv["corrupt"] = "1";
		} else if (s.rfind("--", 0) == 0 && i + 1 < argc) {
			a.kv[s.substr(2)] = argv[++i];
		} else {
			a.rest.push_back(s);
		}
	}
	return a;
}

bool file_exists(const std::string &p)
{
	return access(p.c_str(), F_OK) == 0;
}

std::string driver_of(const std::string &addr)
{
	char buf[256];
	std::string link = "/sys/bus/pci/devices/" + addr + "/driver";
	ssize_t n = readlink(link.c_str(), buf, sizeof(buf) - 1);
	if (n <= 0)
		return "";
	buf[n] = 0;
	const char *s = std::strrchr(buf, '/');
	return s ? s + 1 : buf;
}

std::uint32_t sysfs_fh(const std::string &addr)
{
	std::string s = slurp(("/sys/bus/pci/devices/" + addr + "/function_handle").c_str());
	return static_cast<std::uint32_t>(std::strtoul(s.c_str(), nullptr, 0));
}

bool write_file(const std::string &path, const std::string &s)
{
	std::ofstream o(path, std::ios::binary | std::ios::trunc);
	o << s;
	return static_cast<bool>(o);
}

std::string jnum(const char *k, std::uint64_t v, bool comma = true)
{
	return std::string("\"") + k + "\": " + std::to_string(v) + (comma ? ", " : "");
}

// ------------------------------------------------------------------ tenant

struct Tenant {
	std::string fn, addr, shadow_path, gate;
	std::uint64_t win_off = 0, win_len = 0;
	std::mt19937_64 rng;
	Function f;
	bool relaxed = false;
	std::vector<std::uint8_t> shadow;

	// what happened
	std::uint64_t batches = 0, ok = 0, failed = 0, invalid_sent = 0, invalid_refused = 0;
	std::uint64_t invalid_accepted = 0, invalid_partial = 0, valid_refused = 0;
	std::uint64_t ops_done = 0, stb = 0, stg = 0, lg = 0, bytes_stored = 0, bytes_loaded = 0;
	std::uint64_t load_mismatch = 0, no_status = 0, releases = 0, reopens = 0;
	std::uint64_t ok_after_last_failure = 0, partial_failed = 0;
	std::map<std::string, std::uint64_t> fail_kinds;
	std::string error;

	std::uint64_t rnd(std::uint64_t n) { return n ? rng() % n : 0; }

	int open_fn(int timeout_s)
	{
		auto end = Clock::now() + std::chrono::seconds(timeout_s);
		for (;;) {
			if (file_exists(gate) && driver_of(addr) == "zpci_io") {
				std::string why;
				int rc = f.open(addr, &why);
				if (rc == 0) {
					relaxed = f.info().flags & ZPCI_IO_INFO_RELAXED;
					return 0;
				}
				if (Clock::now() > end) {
					error = "open " + addr + ": " + why;
					return rc;
				}
			}
			if (Clock::now() > end) {
				error = "function " + addr + " not back on zpci_io within " +
					std::to_string(timeout_s) + " s";
				return -ETIMEDOUT;
			}
			std::this_thread::sleep_for(std::chrono::milliseconds(50));
		}
	}

	struct Op {
		std::uint8_t insn;
		std::uint8_t bar;
		std::uint64_t off;
		std::uint32_t len;
		std::vector<std::uint8_t> bytes;	// stores: the bytes; loads: the result
	};

	// A valid op inside the window.
	Op valid_op()
	{
		const std::uint32_t maxstbl = f.info().maxstbl;
		const bool stg_ok = (f.info().pcistg_mask >> kDataBar) & 1;
		Op o{};
		o.bar = kDataBar;
		unsigned k = rnd(10);
		if (k < 5) {
			o.insn = ZPCI_IO_OP_PCISTB;
			for (;;) {
				o.off = win_off + rnd(win_len);
				if (!relaxed)
					o.off &= ~7ULL;
				std::uint64_t room = std::min<std::uint64_t>(
					4096 - (o.off & 4095), win_off + win_len - o.off);
				room = std::min<std::uint64_t>(room, maxstbl);
				// most blocks short (TCG), some up to the limit
				std::uint64_t cap = rnd(4) ? std::min<std::uint64_t>(room, 256) : room;
				if (relaxed) {
					o.len = 1 + rnd(cap);
				} else {
					if (cap < 16)
						continue;
					o.len = 16 + 8 * rnd((cap - 16) / 8 + 1);
				}
				break;
			}
		} else if (k < 7 && stg_ok) {
			o.insn = ZPCI_IO_OP_PCISTG;
			o.off = win_off + rnd(win_len);
			o.len = 1 + rnd(8 - (o.off & 7));
		} else {
			o.insn = ZPCI_IO_OP_PCILG;
			o.off = win_off + rnd(win_len);
			o.len = 1 + rnd(8 - (o.off & 7));
		}
		fill_bytes(o);
		return o;
	}

	// A store's bytes at random; a load's buffer zeroed.
	void fill_bytes(Op &o)
	{
		if (o.insn != ZPCI_IO_OP_PCILG) {
			o.bytes.resize(o.len);
			for (auto &b : o.bytes)
				b = static_cast<std::uint8_t>(rng());
		} else {
			o.bytes.assign(o.len, 0);
		}
	}

	// An op the driver must refuse (the rules, or its policy).
	Op invalid_op()
	{
		const zpci_io_info &in = f.info();
		const std::uint64_t page = win_off + (rnd(win_len / 4096)) * 4096;
		Op o{};
		o.bar = kDataBar;
		switch (rnd(7)) {
		case 0:	// PCISTB across 4 KiB
			o.insn = ZPCI_IO_OP_PCISTB;
			o.off = page + 4096 - 8;
			o.len = 16;
			break;
		case 1:	// PCISTB longer than maxstbl
			o.insn = ZPCI_IO_OP_PCISTB;
			o.off = page;
			o.len = in.maxstbl + 8;
			break;
		case 2:	// PCISTG / PCILG across a doubleword
			o.insn = rnd(2) ? ZPCI_IO_OP_PCILG : ZPCI_IO_OP_PCISTG;
			o.off = page + 5;
			o.len = 8;
			break;
		case 3:	// beyond the BAR
			o.insn = ZPCI_IO_OP_PCILG;
			o.off = in.bar_size[kDataBar];
			o.len = 8;
			break;
		case 4:	// strict: PCISTB off an 8-byte boundary; relaxed (ism):
			// PCISTG to its DMB BAR, which refuses it
			if (relaxed) {
				o.insn = ZPCI_IO_OP_PCISTG;
				o.off = page;
				o.len = 8;
			} else {
				o.insn = ZPCI_IO_OP_PCISTB;
				o.off = page + 4;
				o.len = 16;
			}
			break;
		case 5:	// the MSI-X table (policy, EACCES), or BAR 1 the
			// function lacks
			o.insn = ZPCI_IO_OP_PCILG;
			o.bar = 1;
			o.off = 0;
			o.len = 8;
			break;
		default:	// no such instruction
			o.insn = 9;
			o.off = page;
			o.len = 8;
			break;
		}
		fill_bytes(o);
		return o;
	}

	bool rules_accept(const Op &o)
	{
		zpci_caps c = f.caps();
		return zpci_verdict_ok(zpci_check(&c, o.insn, o.bar, o.off, o.len, 0));
	}

	// Applies op o to image img (window-relative); loads: fills want.
	void apply(std::vector<std::uint8_t> &img, const Op &o, std::vector<std::uint8_t> *want)
	{
		std::uint64_t rel = o.off - win_off;
		if (o.insn == ZPCI_IO_OP_PCILG) {
			if (want)
				want->assign(img.begin() + rel, img.begin() + rel + o.len);
			return;
		}
		std::copy(o.bytes.begin(), o.bytes.end(), img.begin() + rel);
	}

	// One request; false on a fatal finding (error set).
	bool round()
	{
		const unsigned n = rnd(2) ? 1 + rnd(16) : 1 + rnd(256);
		const unsigned bad_at = rnd(100) < 15 ? rnd(n) : n;
		bool invalid = false;
		std::vector<Op> ops;
		ops.reserve(n);
		std::uint64_t data = 0;
		for (unsigned i = 0; i < n; i++) {
			Op o = i == bad_at ? invalid_op() : valid_op();
			if (i != bad_at && !rules_accept(o)) {
				error = "generator made an op the rules refuse";
				return false;
			}
			if (i == bad_at && o.bar == kDataBar && o.insn <= ZPCI_IO_OP_PCISTB &&
			    rules_accept(o)) {
				error = "generator made an invalid op the rules accept";
				return false;
			}
			invalid = invalid || i == bad_at;
			data += o.len;
			ops.push_back(std::move(o));
			if (data > (256u << 10))
				break;
		}
		Batch b;
		for (Op &o : ops)
			b.add(o.insn, o.bar, o.off, o.bytes.data(), o.len);
		batches++;
		if (invalid)
			invalid_sent++;
		SubmitResult r = submit(f, b);
		std::uint32_t done = 0;
		if (r.rc == 0) {
			done = static_cast<std::uint32_t>(ops.size());
		} else if (!r.status_written) {
			no_status++;
			error = std::string("request failed without a status block: ") + errno_name(r.err);
			return false;
		} else {
			done = r.status.done;
		}
		if (done > ops.size()) {
			error = "status.done beyond nr_ops";
			return false;
		}
		if (invalid) {
			if (r.rc == 0) {
				invalid_accepted++;
				error = "an invalid request was accepted";
			} else if (done != 0 || !(r.status.flags & ZPCI_IO_STATUS_REJECTED)) {
				invalid_partial++;
				error = "an invalid request was partly issued";
			} else {
				invalid_refused++;
				fail_kinds[std::string("invalid-") + errno_name(r.err)]++;
				return true;	// nothing done: the shadow stands
			}
			// what ran changed the function: keep the shadow honest
		}
		// the shadow after the ops that ran; the loads among them
		std::vector<std::uint8_t> want;
		for (std::uint32_t i = 0; i < done; i++) {
			Op &o = ops[i];
			apply(shadow, o, &want);
			if (o.insn == ZPCI_IO_OP_PCILG) {
				lg++;
				bytes_loaded += o.len;
				if (want != o.bytes)
					load_mismatch++;
			} else {
				(o.insn == ZPCI_IO_OP_PCISTB ? stb : stg)++;
				bytes_stored += o.len;
			}
		}
		ops_done += done;
		if (!error.empty())
			return false;
		if (load_mismatch) {
			error = "a load returned other bytes than the shadow holds";
			return false;
		}
		if (r.rc == 0) {
			ok++;
			ok_after_last_failure++;
			return true;
		}
		failed++;
		ok_after_last_failure = 0;
		if (done)
			partial_failed++;
		const zpci_io_status &s = r.status;
		std::string kind = errno_name(r.err);
		if (s.flags & ZPCI_IO_STATUS_FUNC_ERROR)
			kind += "-funcerror";
		else if (s.flags & ZPCI_IO_STATUS_CC_VALID)
			kind += "-cc" + std::to_string(s.cc) +
				(s.cc == 1 ? "-st" + std::to_string(s.status) : "");
		if (s.flags & ZPCI_IO_STATUS_REJECTED)
			kind += "-rejected";
		fail_kinds[kind]++;
		switch (r.err) {
		case ENODEV:
			if (!(s.flags & ZPCI_IO_STATUS_CC_VALID)) {
				// being removed: release, wait until bound again
				f.close();
				releases++;
				if (open_fn(180))
					return false;
				reopens++;
				return true;
			}
			break;	// cc 3: stale handle, recovery under way
		case EBUSY:
		case EIO:
			break;
		default:
			valid_refused++;
			char msg[160];
			std::snprintf(msg, sizeof(msg), "a valid request failed: %s rule %s flags 0x%x",
				      errno_name(r.err), zpci_rule_name(s.rule), s.flags);
			error = msg;
			return false;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
		return true;
	}

	std::string json(double secs) const
	{
		std::string s = "{\"fn\": \"" + fn + "\", ";
		s += jnum("batches", batches) + jnum("ok", ok) + jnum("failed", failed);
		s += jnum("partial_failed", partial_failed);
		s += jnum("invalid_sent", invalid_sent) + jnum("invalid_refused", invalid_refused);
		s += jnum("invalid_accepted", invalid_accepted) + jnum("invalid_partial", invalid_partial);
		s += jnum("valid_refused", valid_refused) + jnum("ops_done", ops_done);
		s += jnum("pcistb", stb) + jnum("pcistg", stg) + jnum("pcilg", lg);
		s += jnum("bytes_stored", bytes_stored) + jnum("bytes_loaded", bytes_loaded);
		s += jnum("load_mismatch", load_mismatch) + jnum("no_status", no_status);
		s += jnum("releases", releases) + jnum("reopens", reopens);
		s += jnum("ok_after_last_failure", ok_after_last_failure);
		s += "\"fail_kinds\": {";
		bool first = true;
		for (auto &[k, v] : fail_kinds) {
			s += std::string(first ? "" : ", ") + "\"" + k + "\": " + std::to_string(v);
			first = false;
		}
		char t[64];
		std::snprintf(t, sizeof(t), "}, \"seconds\": %.1f, ", secs);
		s += t;
		s += "\"error\": \"" + error + "\"}";
		return s;
	}
};

int cmd_tenant(const Args &a)
{
	Tenant t;
	t.fn = a.get("fn");
	t.addr = a.get("addr");
	t.shadow_path = a.get("shadow");
	t.gate = a.get("gate");
	std::string win = a.get("win");
	t.win_off = std::strtoull(win.c_str(), nullptr, 0);
	auto colon = win.find(':');
	t.win_len = colon == std::string::npos ? 0 : std::strtoull(win.c_str() + colon + 1, nullptr, 0);
	const std::uint64_t secs = a.num("seconds", 20);
	t.rng.seed(a.num("seed", 1));
	if (t.fn.empty() || t.addr.empty() || t.shadow_path.empty() || t.gate.empty() ||
	    !t.win_len || (t.win_off | t.win_len) & 4095 || t.win_off + t.win_len > kBarSize) {
		std::fprintf(stderr, "zpci_soak tenant: --fn --addr --shadow --gate and a 4 KiB "
				     "aligned --win OFF:LEN inside the BAR are required\n");
		return 2;
	}
	t.shadow.assign(t.win_len, 0);
	{
		std::ifstream in(t.shadow_path, std::ios::binary);
		if (in) {
			in.read(reinterpret_cast<char *>(t.shadow.data()), t.win_len);
			if (in.gcount() != static_cast<std::streamsize>(t.win_len)) {
				std::fprintf(stderr, "zpci_soak tenant: %s is not %" PRIu64 " bytes\n",
					     t.shadow_path.c_str(), t.win_len);
				return 2;
			}
		}
	}
	auto t0 = Clock::now();
	auto end = t0 + std::chrono::seconds(secs);
	bool good = t.open_fn(120) == 0;
	// past the deadline only while the function has not served a request
	// since its last failure (a recovery or a reopen still going on), for
	// at most 180 s more: a fault is survived when requests land again
	while (good && (Clock::now() < end ||
			(t.failed && !t.ok_after_last_failure &&
			 Clock::now() < end + std::chrono::seconds(180))))
		good = t.round();
	// the shadow goes back whatever happened: it is what the function holds
	std::ofstream o(t.shadow_path + ".tmp", std::ios::binary | std::ios::trunc);
	o.write(reinterpret_cast<const char *>(t.shadow.data()), t.shadow.size());
	o.close();
	if (!o || std::rename((t.shadow_path + ".tmp").c_str(), t.shadow_path.c_str())) {
		std::fprintf(stderr, "zpci_soak tenant: cannot save %s\n", t.shadow_path.c_str());
		good = false;
	}
	t.f.close();
	std::string js = t.json(ms_since(t0) / 1000.0);
	if (a.has("out"))
		write_file(a.get("out"), js + "\n");
	std::printf("%s\n", js.c_str());
	return good ? 0 : 1;
}

// ------------------------------------------------------------------ nlread

volatile std::sig_atomic_t g_stop = 0;

int cmd_nlread(const Args &a)
{
	const std::string stop = a.get("stop");
	if (stop.empty()) {
		std::fprintf(stderr, "zpci_soak nlread: --stop FILE required\n");
		return 2;
	}
	std::uint64_t dumps = 0, errors = 0, funcs_seen = 0, max_pins_held = 0;
	std::map<std::string, std::uint64_t> errs;
	auto t0 = Clock::now();
	while (!file_exists(stop)) {
		std::vector<NlFunc> v;
		int rc = nl_dump(ZPCI_NL_CMD_GET_STATS, &v);
		if (rc) {
			errors++;
			errs[errno_name(-rc)]++;
		} else {
			dumps++;
			funcs_seen += v.size();
			for (auto &nf : v)
				max_pins_held = std::max(max_pins_held, nf.counter(ZPCI_NL_S_PINS_HELD));
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	std::string s = "{" + jnum("dumps", dumps) + jnum("errors", errors) +
			jnum("functions_seen", funcs_seen) + jnum("max_pins_held", max_pins_held);
	s += "\"errors_by_errno\": {";
	bool first = true;
	for (auto &[k, v] : errs) {
		s += std::string(first ? "" : ", ") + "\"" + k + "\": " + std::to_string(v);
		first = false;
	}
	char t[64];
	std::snprintf(t, sizeof(t), "}, \"seconds\": %.1f}", ms_since(t0) / 1000.0);
	s += t;
	if (a.has("out"))
		write_file(a.get("out"), s + "\n");
	std::printf("%s\n", s.c_str());
	// a reader that never got an answer read nothing
	return dumps ? 0 : 1;
}

// ------------------------------------------------------------------ check

int cmd_check(const Args &a)
{
	const std::string fn = a.get("fn"), path = a.get("shadow"), tag = a.get("tag", "0");
	const std::uint64_t off = a.num("win", ~0ULL);
	std::ifstream in(path, std::ios::binary);
	std::vector<std::uint8_t> img((std::istreambuf_iterator<char>(in)),
				      std::istreambuf_iterator<char>());
	if (fn.empty() || off == ~0ULL || img.empty()) {
		std::fprintf(stderr, "zpci_soak check: --fn, --win OFF and a non-empty --shadow required\n");
		return 2;
	}
	if (a.has("corrupt"))
		img[img.size() / 2] ^= 0x5a;	// the self-test: one wrong byte
	CtlPort c;
	std::string why;
	if (c.open(&why)) {
		std::fprintf(stderr, "zpci_soak check: %s\n", why.c_str());
		return 2;
	}
	static const char hex[] = "0123456789abcdef";
	std::uint64_t bytes = 0, wrong = 0;
	const std::size_t chunk = 2048;
	for (std::size_t pos = 0; pos < img.size(); pos += chunk) {
		std::size_t n = std::min(chunk, img.size() - pos);
		std::string req = "CHECK " + fn + " " + tag + " " + std::to_string(off + pos) + " ";
		for (std::size_t i = 0; i < n; i++) {
			req += hex[img[pos + i] >> 4];
			req += hex[img[pos + i] & 15];
		}
		std::string ans;
		int rc = c.request(req, &ans, 60000);
		unsigned long long got = 0, bad = 0;
		char id[64];
		if (rc || std::sscanf(ans.c_str(), "OK %63s %llu %llu", id, &got, &bad) != 3 ||
		    got != n) {
			std::fprintf(stderr, "zpci_soak check: %s at %" PRIu64 ": %s\n", fn.c_str(),
				     off + pos, rc ? std::strerror(-rc) : ans.c_str());
			return 2;
		}
		bytes += got;
		wrong += bad;
	}
	std::printf("{\"fn\": \"%s\", \"tag\": \"%s\", \"bytes\": %" PRIu64 ", \"wrong\": %" PRIu64 "}\n",
		    fn.c_str(), tag.c_str(), bytes, wrong);
	return wrong ? 1 : 0;
}

// ------------------------------------------------------------------ ctl

int cmd_ctl(const Args &a)
{
	std::string req;
	for (auto &w : a.rest)
		req += (req.empty() ? "" : " ") + w;
	CtlPort c;
	std::string why, ans;
	if (req.empty() || c.open(&why)) {
		std::fprintf(stderr, "zpci_soak ctl: %s\n", req.empty() ? "no request" : why.c_str());
		return 2;
	}
	int rc = c.request(req, &ans, 30000);
	if (rc) {
		std::fprintf(stderr, "zpci_soak ctl: %s: %s\n", req.c_str(), std::strerror(-rc));
		return 1;
	}
	std::printf("%s\n", ans.c_str());
	if (ans.rfind("OK", 0) != 0)
		return 1;
	const std::string dev = a.get("wait-deleted");
	if (!dev.empty()) {
		// DELETED comes once the guest released the function
		auto end = Clock::now() + std::chrono::seconds(120);
		for (;;) {
			for (auto &d : c.deleted())
				if (d == dev) {
					std::printf("DELETED %s\n", dev.c_str());
					return 0;
				}
			if (Clock::now() > end) {
				std::fprintf(stderr, "zpci_soak ctl: no DELETED %s in 120 s\n", dev.c_str());
				return 1;
			}
			std::string ping;
			c.request("PING", &ping, 2000);
			std::this_thread::sleep_for(std::chrono::milliseconds(200));
		}
	}
	return 0;
}

// ------------------------------------------------------------------ fault

int cmd_fault(const Args &a)
{
	const std::string fn = a.get("fn"), addr = a.get("addr"), kind = a.get("kind");
	const std::uint64_t n = a.num("n", 1);
	const int timeout_s = static_cast<int>(a.num("timeout", 120));
	std::string spec;
	if (kind == "busy")
		spec = "busy " + std::to_string(n);
	else if (kind == "cc3")
		spec = "inval " + std::to_string(n) + " recover";
	else if (kind == "errevent")
		spec = "errevent " + std::to_string(n) + " 11";
	if (fn.empty() || addr.empty() || spec.empty() || !n) {
		std::fprintf(stderr, "zpci_soak fault: --fn --addr --kind busy|cc3|errevent --n N\n");
		return 2;
	}
	CtlPort c;
	std::string why;
	if (c.open(&why)) {
		std::fprintf(stderr, "zpci_soak fault: %s\n", why.c_str());
		return 2;
	}
	FaultState s0, s;
	if (ctl_fault_status(c, fn, &s0, &why) || ctl_fault(c, fn, spec, &why)) {
		std::fprintf(stderr, "zpci_soak fault: %s\n", why.c_str());
		return 2;
	}
	auto t0 = Clock::now();
	bool done = false;
	std::uint32_t gfh = 0;
	while (!done) {
		if (ctl_fault_status(c, fn, &s, &why)) {
			std::fprintf(stderr, "zpci_soak fault: %s\n", why.c_str());
			return 2;
		}
		gfh = sysfs_fh(addr);
		const bool consumed = s.left == 0 && s.kind == "none";
		const bool recovered = s.recoveries > s0.recoveries && s.state == "enabled" &&
				       (gfh & 0x7fffffff) == (s.fh & 0x7fffffff);
		done = kind == "busy" ? s.left == 0 : consumed && recovered;
		if (!done && ms_since(t0) > timeout_s * 1000.0)
			break;
		if (!done)
			std::this_thread::sleep_for(std::chrono::milliseconds(50));
	}
	std::printf("{\"kind\": \"%s\", \"n\": %" PRIu64 ", \"answered\": %" PRIu64
		    ", \"recoveries\": %" PRIu64 ", \"left\": %" PRIu64 ", \"state\": \"%s\", "
		    "\"qemu_fh\": \"0x%08x\", \"guest_fh\": \"0x%08x\", \"waited_ms\": %.0f, "
		    "\"ok\": %d}\n",
		    kind.c_str(), n, s.hits - s0.hits, s.recoveries - s0.recoveries, s.left,
		    s.state.c_str(), s.fh, gfh, ms_since(t0), done ? 1 : 0);
	if (!done) {
		// leave nothing pending for the next phase
		ctl_fault(c, fn, "clear", &why);
		return 1;
	}
	return 0;
}

// ------------------------------------------------------------------ sample

std::uint64_t meminfo_kb(const std::string &text, const char *key)
{
	std::istringstream in(text);
	std::string line;
	const std::size_t kl = std::strlen(key);
	while (std::getline(in, line))
		if (line.compare(0, kl, key) == 0 && line.size() > kl && line[kl] == ':')
			return std::strtoull(line.c_str() + kl + 1, nullptr, 10);
	return 0;
}

int cmd_sample()
{
	PinCounters p = read_pin_counters();
	std::string mi = slurp("/proc/meminfo");
	std::vector<NlFunc> v;
	int rc = nl_dump(ZPCI_NL_CMD_GET_STATS, &v);
	std::uint64_t held = 0, allocs = 0, batches = 0, errors = 0;
	for (auto &nf : v) {
		held += nf.counter(ZPCI_NL_S_PINS_HELD);
		allocs += nf.counter(ZPCI_NL_S_REQ_ALLOCS);
		batches += nf.counter(ZPCI_NL_S_BATCHES);
		errors += nf.counter(ZPCI_NL_S_ERRORS);
	}
	std::string s = "{";
	if (p.valid)
		s += "\"pins_outstanding\": " +
		     std::to_string(static_cast<std::int64_t>(p.acquired - p.released)) + ", ";
	s += jnum("slab_kb", meminfo_kb(mi, "Slab")) + jnum("sunreclaim_kb", meminfo_kb(mi, "SUnreclaim"));
	s += jnum("vmalloc_used_kb", meminfo_kb(mi, "VmallocUsed")) + jnum("memfree_kb", meminfo_kb(mi, "MemFree"));
	s += std::string("\"nl_ok\": ") + (rc ? "false" : "true") + ", ";
	s += jnum("nl_functions", v.size()) + jnum("nl_pins_held", held);
	s += jnum("nl_req_allocs", allocs) + jnum("nl_batches", batches) + jnum("nl_errors", errors, false);
	s += "}";
	std::printf("%s\n", s.c_str());
	return p.valid && rc == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	if (argc < 2) {
		std::fprintf(stderr, "usage: zpci_soak tenant|nlread|check|fault|ctl|sample ...\n");
		return 2;
	}
	const std::string cmd = argv[1];
	Args a = parse(argc, argv, 2);
	if (cmd == "tenant")
		return cmd_tenant(a);
	if (cmd == "nlread")
		return cmd_nlread(a);
	if (cmd == "check")
		return cmd_check(a);
	if (cmd == "ctl")
		return cmd_ctl(a);
	if (cmd == "fault")
		return cmd_fault(a);
	if (cmd == "sample")
		return cmd_sample();
	std::fprintf(stderr, "zpci_soak: unknown role '%s'\n", cmd.c_str());
	return 2;
}
