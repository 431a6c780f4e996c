/* SPDX-License-Identifier: MIT */
#ifndef CAPI_TEST_H
#define CAPI_TEST_H
#ifdef __cplusplus
extern "C" {
#endif
int capi_test_check_and_plan(void);
int capi_test_sim_io(void);
#ifdef __cplusplus
}
#endif
#endif
