/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pamtest_suite.h: the shared fixture of the pam suite and the test
 * cases that live in their own files (hygiene, logs, end to end, a
 * session stack of only pam_ftrack).
 * check_pam.c assembles them into `pam`.  Test support code: the world
 * is set up in each test's own process (libcheck fork mode).
 */
#ifndef PAMTEST_SUITE_H
#define PAMTEST_SUITE_H

#include <check.h>

#include "harness.h"

#define PAMTEST_NOBODY 65534

/* The world of the running test (see h_pam_env.h). */
extern struct h_pam_env pamtest_world;

/* Checked fixture: build and remove pamtest_world (asserts root). */
void pamtest_world_setup(void);
void pamtest_world_teardown(void);

/*
 * One login through the whole stack, which must succeed whatever the
 * module does, then the same through pam_sm_open_session directly,
 * whose PAM code is returned.  extra: module arguments after the
 * world's own socket=, spool= and daemon_user=root.
 */
int pamtest_login2(const char *extra, const struct h_pam_login *l);

/* Assert that user's spool file holds exactly msg (root, 0600). */
void pamtest_assert_spooled(const char *user, const char *msg);

/* Assert that user has no spool file. */
void pamtest_assert_not_spooled(const char *user);

/* Remove user's spool file, asserting it was there. */
void pamtest_unspool(const char *user);

/* Entries in a folder, temp files included; -1 on error. */
int pamtest_count_entries(const char *dir);

TCase *pamtest_hygiene_tcase(void);
TCase *pamtest_logs_tcase(void);
TCase *pamtest_e2e_tcase(void);
TCase *pamtest_alone_tcase(void);

#endif
