// SPDX-License-Identifier: MIT
// The zpci tool's sub-commands.  Each gets argc/argv starting at the
// sub-command's name and returns the exit status: 0 ok/valid, 1 request
// invalid, 2 usage error (with a message naming the bad argument).
#pragma once

int zpci_cmd_check(int argc, char **argv);
int zpci_cmd_plan(int argc, char **argv);
int zpci_cmd_ism_move(int argc, char **argv);
int zpci_cmd_bench(int argc, char **argv);
int zpci_cmd_io(int argc, char **argv);
// tools/zpci/cmd_info.cpp and cmd_stats.cpp.
int zpci_cmd_info(int argc, char **argv);
int zpci_cmd_stats(int argc, char **argv);
