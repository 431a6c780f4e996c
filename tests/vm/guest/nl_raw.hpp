// SPDX-License-Identifier: MIT
// A raw generic netlink client for the driver's "zpci_io" family, for the
// guest suite: no libnl, so it also runs after setresuid() in a child and
// reports the kernel's own error (EPERM for an unprivileged caller).
#ifndef ZPCI_VM_NL_RAW_HPP
#define ZPCI_VM_NL_RAW_HPP

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace zpci_vm {

// One function of a GET_FUNCS / GET_STATS dump.
struct NlFunc {
	std::uint32_t fid = 0;
	std::string pci_addr;
	// ZPCI_NL_S_* -> value, for the plain u64 counters of GET_STATS
	std::map<int, std::uint64_t> counters;
	std::uint64_t counter(int attr) const
	{
		auto it = counters.find(attr);
		return it == counters.end() ? 0 : it->second;
	}
	bool has(int attr) const { return counters.count(attr) != 0; }
};

// Dumps cmd (ZPCI_NL_CMD_GET_FUNCS or ZPCI_NL_CMD_GET_STATS) into *out.
// 0, or -errno: the kernel's answer (EPERM, ...) or a socket error;
// -ENOENT when the family is not registered.
int nl_dump(int cmd, std::vector<NlFunc> *out);

// The function with this fid from a GET_STATS dump (0 or -errno).
int nl_stats(std::uint32_t fid, NlFunc *out);

}  // namespace zpci_vm

#endif
