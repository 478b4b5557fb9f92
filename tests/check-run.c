/*
 * See check-run.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>

#include "check-run.h"
#include "test-util.h"

/* Objects the test cases left behind: counted, removed, and a failure. */
static int leaked;

static void sweep_teardown(void) {
        leaked += t_sweep();
}

TCase *t_case(Suite *s, const char *name, double timeout) {
        TCase *tc = tcase_create(name);
        tcase_add_unchecked_fixture(tc, NULL, sweep_teardown);
        tcase_set_timeout(tc, timeout);
        suite_add_tcase(s, tc);
        return tc;
}

int t_run(Suite *s, const char *name) {
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        /* Whatever a test left behind is a failure too, even if it passed. */
        leaked += t_sweep();
        if (leaked > 0)
                fprintf(stderr, "%s: %d IPC objects were left behind\n", name, leaked);
        return failed == 0 && leaked == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
