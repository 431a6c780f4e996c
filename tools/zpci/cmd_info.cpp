// SPDX-License-Identifier: MIT
// Placeholder: engineer "vfio" replaces this file with the real
// `zpci info` / `zpci stats`.
#include <cstdio>

#include "commands.hpp"

int zpci_cmd_info(int, char **)
{
	std::fprintf(stderr, "zpci info: not implemented yet\n");
	return 2;
}

int zpci_cmd_stats(int, char **)
{
	std::fprintf(stderr, "zpci stats: not implemented yet\n");
	return 2;
}
