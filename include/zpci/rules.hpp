// SPDX-License-Identifier: MIT
//
// C++ wrappers around the instruction rules of zpci_rules.h (the single
// definition shared with the kernel module).
#ifndef ZPCI_RULES_HPP
#define ZPCI_RULES_HPP

#include <cstdint>
#include <string_view>

#include <zpci/device.hpp>
#include <zpci/error.hpp>
#include <zpci/zpci_rules.h>

namespace zpci {

// The verdict of zpci_check() for one op.
inline zpci_verdict check(const zpci_caps &caps, const op &o) noexcept
{
	return zpci_check(&caps, static_cast<unsigned>(o.kind), o.pcias,
			  o.offset, o.len, o.addr);
}

// The error a refused op is reported with, by the error convention:
// a rule error (zpci::category()) carrying the rule.
inline std::error_code verdict_rule_error(const zpci_verdict &v) noexcept
{
	return rule_error(v.rule);
}

// The error the *instruction* ends with when issued anyway (simulated
// function, driver): program exception or cc 1 -> EIO, cc 2 -> EBUSY,
// cc 3 -> ENODEV, invalid caps/instruction (never issued) -> EINVAL.
std::error_code verdict_exec_error(const zpci_verdict &v) noexcept;

// The errno of an issued instruction that did not end with cc 0: a program
// exception (pgm != 0) or cc 1 -> EIO, cc 2 -> EBUSY, cc 3 -> ENODEV.
std::error_code insn_exec_error(unsigned cc, unsigned pgm) noexcept;

// Put the verdict into a status (rule, cc, status, pgm, cc_valid).
void verdict_to_status(const zpci_verdict &v, exec_status &st) noexcept;

// ok, or the rule error of the first rule the op breaks; st (optional) gets
// the verdict's details.
result<void> check_op(const zpci_caps &caps, const op &o,
		      exec_status *st = nullptr) noexcept;

// A strict function (QEMU 7.2 emulation): maxstbl, BARs of bar_mask with
// the given size (ZPCI_BAR_SIZE_ANY: unbounded), PCISTG on all of them.
zpci_caps strict_caps(std::uint32_t maxstbl = 128, std::uint8_t bar_mask = 0x3f,
		      std::uint64_t bar_size = ZPCI_BAR_SIZE_ANY) noexcept;

// An ISM-like function: PFT 5, relaxed, maxstbl 4096, BAR 0 (DMB space,
// PCISTB only, unbounded: the offset encodes token/index/signal) and BAR 2
// (command space, 4 KiB, PCISTG accepted).
zpci_caps ism_caps() noexcept;

// "ok", "length range", ... (zpci_rule_name).
inline std::string_view rule_name(unsigned rule) noexcept
{
	return zpci_rule_name(rule);
}

} // namespace zpci

#endif // ZPCI_RULES_HPP
