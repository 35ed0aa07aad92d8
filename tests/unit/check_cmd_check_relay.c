/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd_check_relay.c: cmd_check_relay.c, `check` on a relay, called
 * in-process on a loaded config with the certificates of tests/lib/ca.sh:
 * a good pair with its 30-day warning, a key that does not match, an
 * expired certificate, a missing CA file, and an upstream that is down;
 * the exit code and the printed lines (stdout captured).
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "ft_err.h"
#include "harness.h"

Suite *cmd_check_relay_suite(void);

static char *dir; /* the PKI, made once for the tcase */

static void
pki_setup(void)
{
	dir = h_tmpdir();
	ck_assert_ptr_nonnull(dir);
	ck_assert_int_eq(h_ca_make(dir), FT_OK);
}

static void
pki_teardown(void)
{
	h_rmtree(dir);
	free(dir);
	dir = NULL;
}

/* h_capture: cmd_check_relay(arg). */
static int
run_check(void *arg)
{
	return cmd_check_relay(arg);
}

/*
 * Load a relay config with the certificate NAME.crt, the key KEY.key, the
 * CA file ca (NULL: none) and one upstream on port, run cmd_check_relay
 * with stdout captured into out (capacity cap); returns its exit code.
 */
static int
check_relay(const char *name, const char *key, const char *ca, int port,
	    char *out, size_t cap)
{
	char conf[PATH_MAX], state[PATH_MAX];
	char text[4096], cal[PATH_MAX + 32] = "", err[1024] = "";
	struct config *cfg = NULL;
	int rc = 0;

	H_FMT(conf, "%s/relay.conf", dir);
	H_FMT(state, "%s/state", dir);
	(void)mkdir(state, 0700);
	if (ca != NULL)
		H_FMT(cal, "tls_ca_file = %s/%s\n", dir, ca);
	H_FMT(text,
	      "[daemon]\n"
	      "mode = relay\n"
	      "socket = %s/notify.sock\n"
	      "state_dir = %s\n"
	      "log_target = stderr\n"
	      "[relay]\n"
	      "upstream = https://127.0.0.1:%d\n"
	      "tls_cert_file = %s/%s.crt\n"
	      "tls_key_file = %s/%s.key\n"
	      "%s"
	      "timeout = 2\n",
	      dir, state, port, dir, name, dir, key, cal);
	ck_assert_int_eq(h_write_file(conf, text, 0600), FT_OK);
	ck_assert_msg(config_load(conf, &cfg, err, sizeof(err)) == FT_OK,
		      "config_load: %s", err);

	ck_assert_int_eq(h_capture(1, run_check, cfg, out, cap, &rc), FT_OK);
	config_free(cfg);
	return rc;
}

START_TEST(test_good_pair_upstream_down)
{
	char out[8192];
	int port = h_free_port();

	ck_assert_int_gt(port, 0);
	ck_assert_int_eq(
		check_relay("host1", "host1", "ca.crt", port, out, sizeof(out)),
		EXIT_ERRORS);
	ck_assert_msg(strstr(out, "cert:    ok: '") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "host1.ws.example.com, key '") != NULL, "%s",
		      out);
	/* ca.sh signs for 30 days: the warning is due */
	ck_assert_msg(
		strstr(out, "warning: [relay] tls_cert_file expires in") !=
			NULL,
		"%s", out);
	ck_assert_msg(strstr(out, "ca:      ok: '") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "(1 certificate)") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "upstream: FAILED: https://127.0.0.1:") !=
			      NULL,
		      "%s", out);
	ck_assert_int_eq(h_text_count(out, "FAILED"), 1);
}

END_TEST

START_TEST(test_key_mismatch)
{
	char out[8192];
	int port = h_free_port();

	ck_assert_int_gt(port, 0);
	ck_assert_int_eq(
		check_relay("host1", "host2", NULL, port, out, sizeof(out)),
		EXIT_ERRORS);
	ck_assert_msg(strstr(out, "cert:    FAILED: ") != NULL, "%s", out);
	ck_assert_ptr_null(strstr(out, "cert:    ok"));
	/* no tls_ca_file: the system store, not a failure */
	ck_assert_msg(strstr(out, "ca:      the system's CA store") != NULL,
		      "%s", out);
	ck_assert_int_eq(h_text_count(out, "FAILED"), 2);
}

END_TEST

START_TEST(test_expired)
{
	char out[8192];
	int port = h_free_port();

	ck_assert_int_gt(port, 0);
	ck_assert_int_eq(check_relay("expired", "expired", "ca.crt", port, out,
				     sizeof(out)),
			 EXIT_ERRORS);
	ck_assert_msg(strstr(out, "(host7.ws.example.com) expired on 2021-") !=
			      NULL,
		      "%s", out);
	ck_assert_msg(strstr(out, "renew it") != NULL, "%s", out);
	ck_assert_ptr_null(strstr(out, "cert:    ok"));
}

END_TEST

START_TEST(test_ca_missing)
{
	char out[8192];
	int port = h_free_port();

	ck_assert_int_gt(port, 0);
	ck_assert_int_eq(check_relay("host1", "host1", "no-such-ca.crt", port,
				     out, sizeof(out)),
			 EXIT_ERRORS);
	ck_assert_msg(strstr(out, "cert:    ok") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "ca:      FAILED: ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "no-such-ca.crt") != NULL, "%s", out);
}

END_TEST

Suite *
cmd_check_relay_suite(void)
{
	Suite *s = suite_create("cmd_check_relay");
	TCase *tc = tcase_create("cmd_check_relay");

	tcase_add_unchecked_fixture(tc, pki_setup, pki_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_good_pair_upstream_down);
	tcase_add_test(tc, test_key_mismatch);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_ca_missing);
	suite_add_tcase(s, tc);
	return s;
}
