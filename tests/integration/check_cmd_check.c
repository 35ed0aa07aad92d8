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

/* ---- transport security (issue 12) ------------------------------------ */

/*
 * A plain transport the config does not allow: exit 2 with file:line and
 * the reason, before anything is sent: a listening socket nobody serves
 * stands for LDAP and records that no client came.
 */
START_TEST(test_check_refuses_plain_transports)
{
	static const char *const args[] = {"check", NULL};
	char extra[256], where[PATH_MAX + 64], got[4096];
	long long seq = h_fx_emu_seq();
	int port, lfd = h_tcp_listen(&port), line;

	ck_assert_int_ge(lfd, 0);
	H_FMT(extra, "-ldap.insecure_ldap\nldap.uri = ldap://127.0.0.1:%d\n",
	      port);
	h_fx_config(extra);
	line = h_fx_line_of(h_fx.conf, "uri = ldap://127.0.0.1:");
	ck_assert_int_gt(line, 0);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-ldap.out"), 2);
	H_FMT(where, "%s:%d: [ldap] uri: 'ldap://127.0.0.1:%d' would get the "
		     "bind password in clear text",
	      h_fx.conf, line, port);
	ck_assert_int_eq(h_fx_out_count("check-ldap.out", where), 1);
	ck_assert_int_eq(h_fx_out_count("check-ldap.out", "config:  ok"), 0);
	ck_assert_int_eq(h_tcp_take(lfd, got, sizeof(got), 500), -1);
	/* http:// without insecure_http */
	h_fx_config("-ftrack.insecure_http\n");
	line = h_fx_line_of(h_fx.conf, "server = http://127.0.0.1:");
	ck_assert_int_eq(h_fx_run_cmd(args, "check-http.out"), 2);
	H_FMT(where, "%s:%d: [ftrack] server: ", h_fx.conf, line);
	ck_assert_int_eq(h_fx_out_count("check-http.out", where), 1);
	ck_assert_int_eq(h_fx_out_count("check-http.out",
					"would get the API key in clear text"),
			 1);
	ck_assert_int_eq(h_fx_emu_seq(), seq);
	(void)close(lfd);
}

END_TEST

/* What the exceptions let through is printed, and check still passes. */
START_TEST(test_check_warns_insecure)
{
	static const char *const args[] = {"check", NULL};
	char want[512];

	h_fx_config("ldap.tls_require_cert = never\n");
	ck_assert_int_eq(h_fx_run_cmd(args, "check-warn.out"), 0);
	H_FMT(want,
	      "\nwarning: [ftrack] insecure_http = yes: the API key goes in "
	      "clear text to '%s'",
	      h_emu_url(h_fx_emu));
	ck_assert_int_eq(h_fx_out_count("check-warn.out", want), 1);
	H_FMT(want,
	      "\nwarning: [ldap] insecure_ldap = yes: the bind password goes "
	      "in clear text to '%s'",
	      h_slapd_uri(h_fx_slapd));
	ck_assert_int_eq(h_fx_out_count("check-warn.out", want), 1);
	ck_assert_int_eq(h_fx_out_count("check-warn.out",
					"\nwarning: [ldap] tls_require_cert = "
					"never: "),
			 1);
	ck_assert_int_eq(h_fx_out_count("check-warn.out", "config:  ok"), 1);
	ck_assert_int_eq(h_fx_out_count("check-warn.out", "ldap:    ok"), 1);
	ck_assert_int_eq(h_fx_out_count("check-warn.out", "ftrack:  ok"), 1);
	/* demand: no certificate warning */
	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-demand.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check-demand.out", "warning: "), 2);
	ck_assert_int_eq(h_fx_out_count("check-demand.out", "tls_require_cert"),
			 0);
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
	tcase_add_test(tc, test_check_refuses_plain_transports);
	tcase_add_test(tc, test_check_warns_insecure);
	suite_add_tcase(s, tc);
	return s;
}
