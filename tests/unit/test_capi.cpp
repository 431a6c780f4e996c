// SPDX-License-Identifier: MIT
// Runs the C API checks written in C (capi_test.c); a non-zero result is
// the line of the failed check there.
#include <gtest/gtest.h>

#include "capi_test.h"

TEST(CApi, CheckAndPlan)
{
	EXPECT_EQ(capi_test_check_and_plan(), 0) << "failed at capi_test.c line";
}

TEST(CApi, SimulatedIo)
{
	EXPECT_EQ(capi_test_sim_io(), 0) << "failed at capi_test.c line";
}
