// SPDX-License-Identifier: MIT
#include <zpci/device.hpp>
#include <zpci/error.hpp>
#include <zpci/rules.hpp>
#include <zpci/zpci_rules.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <string.h>

namespace zpci {

namespace {

class zpci_category final : public std::error_category {
public:
	const char *name() const noexcept override { return "zpci"; }

	std::string message(int v) const override
	{
		if (v > 0 && v < ZPCI_RULE_COUNT)
			return zpci_rule_name(static_cast<unsigned>(v));
		switch (static_cast<errc>(v)) {
		case errc::no_legal_sequence:
			return "no legal instruction sequence for this access";
		case errc::zero_length:
			return "length is zero";
		case errc::range_overflow:
			return "offset + length overflows";
		case errc::bad_spec:
			return "malformed or unknown path spec";
		case errc::bad_argument:
			return "invalid argument";
		case errc::too_many_ops:
			return "too many instructions";
		case errc::ism_encoding:
			return "ISM token, index or offset out of range";
		case errc::not_ism:
			return "function has no ISM address spaces";
		case errc::timeout:
			return "timed out";
		default:
			return "unknown zpci error";
		}
	}

	// Lets callers test `ec == std::errc::invalid_argument` for any of
	// the library's validation reasons.
	std::error_condition default_error_condition(int v) const noexcept override
	{
		switch (static_cast<errc>(v)) {
		case errc::timeout:
			return std::errc::timed_out;
		case errc::too_many_ops:
			return std::errc::argument_list_too_long;
		default:
			return std::errc::invalid_argument;
		}
	}
};

} // namespace

const std::error_category &category() noexcept
{
	static const zpci_category cat;
	return cat;
}

unsigned rule_of(const std::error_code &ec) noexcept
{
	if (ec.category() != category())
		return 0;
	if (ec.value() > 0 && ec.value() < ZPCI_RULE_COUNT)
		return static_cast<unsigned>(ec.value());
	return 0;
}

int to_errno(const std::error_code &ec) noexcept
{
	if (!ec)
		return 0;
	if (ec.category() == category())
		return ec.default_error_condition().value();
	if (ec.category() == std::system_category() ||
	    ec.category() == std::generic_category())
		return ec.value() > 0 ? ec.value() : EIO;
	auto cond = ec.default_error_condition();
	if (cond.category() == std::generic_category() && cond.value() > 0)
		return cond.value();
	return EIO;
}

namespace {

// strerror_r is the XSI variant (int) on musl and with glibc in strict
// modes, the GNU variant (char *) with _GNU_SOURCE (g++'s default): take
// either result.
[[maybe_unused]] const char *strerror_result(int rc, const char *buf) noexcept
{
	return rc == 0 ? buf : nullptr;
}

[[maybe_unused]] const char *strerror_result(const char *p, const char *) noexcept
{
	return p;
}

} // namespace

const char *errno_text(int err) noexcept
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:		return "Success";
	case EPERM:	return "Operation not permitted";
	case ENOENT:	return "No such file or directory";
	case EINTR:	return "Interrupted system call";
	case EIO:	return "Input/output error";
	case ENXIO:	return "No such device or address";
	case E2BIG:	return "Argument list too long";
	case EBADF:	return "Bad file descriptor";
	case EAGAIN:	return "Resource temporarily unavailable";
	case ENOMEM:	return "Cannot allocate memory";
	case EACCES:	return "Permission denied";
	case EFAULT:	return "Bad address";
	case EBUSY:	return "Device or resource busy";
	case EEXIST:	return "File exists";
	case ENODEV:	return "No such device";
	case EINVAL:	return "Invalid argument";
	case ENOSPC:	return "No space left on device";
	case ENOTTY:	return "Inappropriate ioctl for device";
	case ERANGE:	return "Numerical result out of range";
	case ENOSYS:	return "Function not implemented";
	case EPROTO:	return "Protocol error";
	case EOVERFLOW:	return "Value too large for defined data type";
	case ENOTSUP:	return "Operation not supported";
	case ETIMEDOUT:	return "Connection timed out";
	case ECANCELED:	return "Operation canceled";
	default:
		break;
	}
	thread_local char bufs[4][64];
	thread_local unsigned next;
	char *buf = bufs[next++ % 4];
	buf[0] = '\0';
	const char *s = strerror_result(strerror_r(err, buf, sizeof(bufs[0])), buf);
	if (!s || !*s) {
		std::snprintf(buf, sizeof(bufs[0]), "Unknown error %d", err);
		s = buf;
	}
	return s;
}

const char *insn_name(insn k) noexcept
{
	switch (k) {
	case insn::pcilg:
		return "PCILG";
	case insn::pcistg:
		return "PCISTG";
	case insn::pcistb:
		return "PCISTB";
	}
	return "?";
}

std::error_code verdict_exec_error(const zpci_verdict &v) noexcept
{
	if (v.rule == ZPCI_RULE_OK)
		return {};
	if (v.rule == ZPCI_RULE_CAPS || v.rule == ZPCI_RULE_INSN)
		return sys_error(EINVAL);
	return insn_exec_error(v.cc, v.pgm);
}

std::error_code insn_exec_error(unsigned cc, unsigned pgm) noexcept
{
	if (pgm != ZPCI_PGM_NONE)
		return sys_error(EIO);
	switch (cc) {
	case ZPCI_CC_BUSY:
		return sys_error(EBUSY);
	case ZPCI_CC_INVALID_HANDLE:
		return sys_error(ENODEV);
	default:
		return sys_error(EIO);
	}
}

void verdict_to_status(const zpci_verdict &v, exec_status &st) noexcept
{
	st.rule = v.rule;
	st.cc = v.cc;
	st.status = v.status;
	st.pgm = v.pgm;
	st.cc_valid = v.rule != ZPCI_RULE_CAPS && v.rule != ZPCI_RULE_INSN;
}

result<void> check_op(const zpci_caps &caps, const op &o,
		      exec_status *st) noexcept
{
	zpci_verdict v = check(caps, o);
	if (st)
		verdict_to_status(v, *st);
	if (v.rule == ZPCI_RULE_OK)
		return {};
	if (st)
		st->error = rule_error(v.rule);
	return std::unexpected(rule_error(v.rule));
}

zpci_caps strict_caps(std::uint32_t maxstbl, std::uint8_t bar_mask,
		      std::uint64_t bar_size) noexcept
{
	zpci_caps c{};
	c.maxstbl = maxstbl;
	c.flags = 0;
	c.bar_mask = bar_mask;
	c.pcistg_mask = bar_mask;
	c.pft = 0;
	for (unsigned i = 0; i < ZPCI_NUM_BARS; i++)
		c.bar_size[i] = ((bar_mask >> i) & 1) ? bar_size : 0;
	return c;
}

zpci_caps ism_caps() noexcept
{
	zpci_caps c{};
	c.maxstbl = ZPCI_MAXSTBL_LIMIT;
	c.flags = ZPCI_CAPS_RELAXED;
	c.bar_mask = (1u << 0) | (1u << 2);
	c.pcistg_mask = 1u << 2;
	c.pft = ZPCI_PFT_ISM;
	c.bar_size[0] = ZPCI_BAR_SIZE_ANY;
	c.bar_size[2] = 4096;
	return c;
}

} // namespace zpci
