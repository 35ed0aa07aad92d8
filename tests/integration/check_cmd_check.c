/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd_check.c: suite 'cmd_check': `ftrack-syncd check`
 * (syncd/cmd_check.c): exit 0 with a good config, 1 with a wrong API key
 * or LDAP password, 2 and file:line: with a bad line.
 * The world is the daemon suites' fixture (tests/lib/h_fixture.c; see
 * check_cmd_run.c).
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"
#include "harness.h"

Suite *cmd_check_suite(void);

/* ---- 12. check ------------------------------------------------------- */

START_TEST(test_check)
{
	static const char *const args[] = {"check", NULL};
	char path[PATH_MAX], where[PATH_MAX + 16];
	int line;

	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-ok.out"), 0);
	/* a wrong API key */
	H_FMT(path, "%s/ftrack.secret", h_fx.dir);
	ck_assert_int_eq(h_write_file(path, "wrong-key", 0600), FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-key.out"), 1);
	ck_assert_int_ge(h_fx_out_count("check-key.out", "ftrack:  FAILED"), 1);
	/* a wrong LDAP password */
	h_fx_config(NULL);
	H_FMT(path, "%s/ldap.secret", h_fx.dir);
	ck_assert_int_eq(h_write_file(path, "wrong-password", 0600), FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-ldap.out"), 1);
	ck_assert_int_ge(h_fx_out_count("check-ldap.out", "ldap:    FAILED"),
			 1);
	/* a bad line: exit 2 and file:line: on stderr */
	h_fx_config("ldap.no_such_key = 1\n");
	line = h_fx_line_of(h_fx.conf, "no_such_key");
	ck_assert_int_gt(line, 0);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-bad.out"), 2);
	H_FMT(where, "%s:%d:", h_fx.conf, line);
	ck_assert_int_ge(h_fx_out_count("check-bad.out", where), 1);
}

END_TEST

/*
 * Issue 12: ftrack's error text reached the terminal with its C1 controls
 * and bidi overrides (only C0 ones were blanked).  `check` prints it
 * through the one cleaner: every one of them escaped, visibly.
 */
START_TEST(test_check_server_text_escaped)
{
	static const char *const args[] = {"check", NULL};

	h_fx_config(NULL);
	ck_assert_int_eq(
		h_emu_control(h_fx_emu, "/_emulator/fault",
			      "{\"status\": 400, \"exception\": "
			      "\"ValidationError\", \"content\": \"bad "
			      "\\u009b31m \\u202e \\u001b]0;x\\u0007 \\u0085 "
			      "end\"}"),
		FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-text.out"), 1);
	h_fx_assert_out_clean("check-text.out");
	ck_assert_int_eq(h_fx_out_count("check-text.out",
					"ftrack:  FAILED: ValidationError: bad "
					"\\u009b31m \\u202e \\x1b]0;x\\x07 "
					"\\u0085 end"),
			 1);
}

END_TEST

/* ---- the suite ------------------------------------------------------- */

Suite *
cmd_check_suite(void)
{
	Suite *s = suite_create("cmd_check");
	TCase *tc = tcase_create("cmd_check");

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, h_fx_servers_setup,
				    h_fx_servers_teardown);
	tcase_add_checked_fixture(tc, h_fx_world_setup, h_fx_world_teardown);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_check_server_text_escaped);
	suite_add_tcase(s, tc);
	return s;
}
