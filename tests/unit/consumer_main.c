/* SPDX-License-Identifier: MIT */
/*
 * examples/emulator_consumer.c inside the unit test binary (so it also runs
 * under ASan+UBSan and big-endian): its main() becomes
 * emulator_consumer_main(), called by test_capi_emulator.cpp.
 */
#define ZPCI_CONSUMER_MAIN emulator_consumer_main
#include "../../examples/emulator_consumer.c"
