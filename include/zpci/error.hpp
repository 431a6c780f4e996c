// SPDX-License-Identifier: MIT
//
// libzpci error convention (THE convention, used by every part of libzpci):
//
//  * Every fallible C++ function is noexcept and returns zpci::result<T>,
//    which is std::expected<T, std::error_code>.  No exception ever crosses
//    the API.  Construction that can fail goes through a factory function
//    returning result<std::unique_ptr<X>> (or result<X>); constructors that
//    run are infallible.
//  * Two error domains:
//      - kernel / syscall errno  -> std::system_category()
//        (make it with zpci::sys_error(errno)); callers compare portably
//        with `ec == std::errc::xxx`.
//      - the library's own reasons -> zpci::category(), enum zpci::errc.
//        A rule violation of zpci_rules.h is an error_code whose value is the
//        enum zpci_rule number (errc::rule_*), so ec.message() is
//        zpci_rule_name(rule).  Use zpci::rule_error(rule) / is_rule_error().
//  * Instruction outcomes (cc, status byte, program interruption) travel in
//    zpci::exec_status (device.hpp) next to the error_code; the error_code
//    then is EIO (cc 1 or program exception), EBUSY (cc 2), ENODEV (cc 3)
//    in the system category, like the kernel driver reports them.
//  * The C API (zpci.h) maps all of this to 0 / negative errno: rule
//    violations and other zpci::errc reasons become -EINVAL (see
//    zpci::to_errno()), details travel in out-parameters.
#ifndef ZPCI_ERROR_HPP
#define ZPCI_ERROR_HPP

#include <cerrno>
#include <expected>
#include <system_error>
#include <type_traits>

namespace zpci {

template <class T>
using result = std::expected<T, std::error_code>;

// The library's own error reasons.  1..(ZPCI_RULE_COUNT-1) are exactly the
// enum zpci_rule values of zpci_rules.h; library reasons start at 100.
enum class errc : int {
	rule_insn = 1,		// ZPCI_RULE_INSN
	rule_pcias,		// ZPCI_RULE_PCIAS
	rule_offset_align,	// ZPCI_RULE_OFFSET_ALIGN
	rule_len_range,		// ZPCI_RULE_LEN_RANGE
	rule_len_multiple,	// ZPCI_RULE_LEN_MULTIPLE
	rule_cross_4k,		// ZPCI_RULE_CROSS_4K
	rule_cross_8b,		// ZPCI_RULE_CROSS_8B
	rule_src_align,		// ZPCI_RULE_SRC_ALIGN
	rule_beyond_bar,	// ZPCI_RULE_BEYOND_BAR
	rule_no_pcistg,		// ZPCI_RULE_NO_PCISTG
	rule_caps,		// ZPCI_RULE_CAPS

	no_legal_sequence = 100, // no sequence of legal instructions exists
	zero_length,		// a length of 0 where bytes are needed
	range_overflow,		// offset + length wraps around 2^64
	bad_spec,		// open_path(): malformed or unknown spec
	bad_argument,		// other malformed argument
	too_many_ops,		// more ops than the output/device can take
	ism_encoding,		// ISM token/index/offset do not fit the encoding
	not_ism,		// ISM helper on a function that is not ISM-like
	timeout,		// waiting for a peer timed out
};

const std::error_category &category() noexcept;

inline std::error_code make_error_code(errc e) noexcept
{
	return {static_cast<int>(e), category()};
}

// errno -> system category.
inline std::error_code sys_error(int err) noexcept
{
	return {err, std::system_category()};
}

// enum zpci_rule value -> error code; message() is zpci_rule_name(rule).
inline std::error_code rule_error(unsigned rule) noexcept
{
	return {static_cast<int>(rule), category()};
}

// If ec is a rule violation return the zpci_rule number, else 0.
unsigned rule_of(const std::error_code &ec) noexcept;

inline bool is_rule_error(const std::error_code &ec) noexcept
{
	return rule_of(ec) != 0;
}

// Positive errno for the C API: system/generic errors keep their value,
// every zpci::errc becomes EINVAL (except timeout -> ETIMEDOUT,
// too_many_ops -> E2BIG).
int to_errno(const std::error_code &ec) noexcept;

// Text of an errno value (sign ignored), portable to glibc and musl (no
// strerrordesc_np, no GNU-only strerror_r).  The errnos the library itself
// returns get a static string; any other value is formatted with
// strerror_r into one of a few thread-local buffers (valid until the same
// thread has made 4 more such calls).  Never null, thread-safe.
const char *errno_text(int err) noexcept;

} // namespace zpci

template <>
struct std::is_error_code_enum<zpci::errc> : std::true_type {};

#endif // ZPCI_ERROR_HPP
