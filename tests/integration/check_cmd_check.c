/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd_check.c: suite 'cmd_check': `ftrack-syncd check`
 * (syncd/cmd_check.c): exit 0 with a good config, 1 with a wrong API key
 * or LDAP password or an answer over the size cap, 2 and file:line: with
 * a bad line.
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
#include <sys/resource.h>
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

/* The largest peak RSS of the children reaped so far, in KiB. */
static long
children_peak_kib(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
	return ru.ru_maxrss;
}

/*
 * The answer: ftrack answers the server-information request with
 * 250 MiB of [0,0,...] gzipped to about 250 KiB (it made `check` peak at
 * 5.2 GiB).  check says why, exits 1, and peaks where a good check does,
 * give or take the 8 MiB cap (the peak of every child this test reaped,
 * the good check's first).
 */
START_TEST(test_check_gzip_bomb)
{
	static const char *const args[] = {"check", NULL};
	long good, bomb;

	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-ok.out"), 0);
	good = children_peak_kib();
	ck_assert_int_eq(
		h_emu_control(h_fx_emu, "/_emulator/fault",
			      "{\"zeros\": 262144000, \"gzip\": true}"),
		FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-bomb.out"), 1);
	bomb = children_peak_kib();
	ck_assert_int_eq(
		h_fx_out_count("check-bomb.out",
			       "ftrack:  FAILED: answer over the 8 MiB limit, "
			       "counted after decompression (too large)\n"),
		1);
	ck_assert_int_eq(h_fx_out_count("check-bomb.out", "ldap:    ok"), 1);
	ck_assert_msg(bomb < good + 64 * 1024,
		      "check peaked at %ld KiB, a good check at %ld KiB", bomb,
		      good);
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
	tcase_add_test(tc, test_check_gzip_bomb);
	suite_add_tcase(s, tc);
	return s;
}
