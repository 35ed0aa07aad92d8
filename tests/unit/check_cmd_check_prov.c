/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd_check_prov.c: cmd_check_prov.c, the HTTPS side of `check` on
 * a provisioner, called in-process on a loaded config with the
 * certificates of tests/lib/ca.sh (no LDAP or ftrack: those lines are
 * cmd_check.c's, tested with the daemon in the cmd_check suite): every
 * line of a good provisioner, IPv6 and several listen addresses, an
 * address in use with and without a daemon on the socket, the
 * allow_hosts warnings, an out-of-date CRL; the result and the printed
 * lines (stdout captured).
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "ft_err.h"
#include "harness.h"

Suite *cmd_check_prov_suite(void);

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

/* h_capture: cmd_check_prov(arg) as an int. */
static int
run_check(void *arg)
{
	return cmd_check_prov(arg) ? 1 : 0;
}

/*
 * Load a provisioner config on listen with the PKI's server files and
 * extra lines under [provisioner] (allow_hosts at least; a key repeated is
 * an error), run cmd_check_prov with stdout captured into out (capacity
 * cap); returns what it returned.
 */
static bool
check_prov(const char *listen, const char *extra, char *out, size_t cap)
{
	char conf[PATH_MAX], state[PATH_MAX];
	char text[4096], err[1024] = "";
	struct config *cfg = NULL;
	int rc = 0;

	H_FMT(conf, "%s/prov.conf", dir);
	H_FMT(state, "%s/state", dir);
	(void)mkdir(state, 0700);
	H_FMT(text,
	      "[ldap]\n"
	      "uri = ldaps://ldap.example.com\n"
	      "search_base = dc=example,dc=com\n"
	      "[ftrack]\n"
	      "server = https://ftrack.example.com\n"
	      "api_user = ftrack-sync\n"
	      "[daemon]\n"
	      "mode = provisioner\n"
	      "socket = %s/notify.sock\n"
	      "state_dir = %s\n"
	      "log_target = stderr\n"
	      "[provisioner]\n"
	      "listen = %s\n"
	      "tls_cert_file = %s/server.crt\n"
	      "tls_key_file = %s/server.key\n"
	      "client_ca_file = %s/ca.crt\n"
	      "%s",
	      dir, state, listen, dir, dir, dir, extra);
	ck_assert_int_eq(h_write_file(conf, text, 0600), FT_OK);
	ck_assert_int_eq(setenv("FTRACK_API_KEY", "unit-test", 1), 0);
	ck_assert_msg(config_load(conf, &cfg, err, sizeof(err)) == FT_OK,
		      "config_load: %s", err);

	ck_assert_int_eq(h_capture(1, run_check, cfg, out, cap, &rc), FT_OK);
	config_free(cfg);
	return rc != 0;
}

static void
has(const char *out, const char *text)
{
	ck_assert_msg(strstr(out, text) != NULL, "'%s' not in:\n%s", text, out);
}

/* Every line of a good provisioner; two addresses, one of them IPv6. */
START_TEST(test_good)
{
	char out[8192], listen[128], extra[1024], want[256];
	int p4 = h_free_port(), p6 = h_free_port();

	ck_assert_int_gt(p4, 0);
	ck_assert_int_gt(p6, 0);
	H_FMT(listen, "127.0.0.1:%d [::1]:%d", p4, p6);
	H_FMT(extra,
	      "allow_hosts = *.ws.example.com render?.farm.example.com\n"
	      "crl_file = %s/crl-empty.pem\n",
	      dir);
	ck_assert(check_prov(listen, extra, out, sizeof(out)));
	has(out, "cert:    ok: '");
	has(out, "for localhost, key '");
	has(out, "ca:      ok: '");
	has(out, "crl:     ok: '");
	has(out, "from Test hosts CA, 0 revoked, next update 20");
	has(out, "allow:   2 globs in allow_hosts\n");
	has(out, "deny:    none (no deny_file)\n");
	H_FMT(want, "listen:  ok: listen = 127.0.0.1:%d can be bound\n", p4);
	has(out, want);
	H_FMT(want, "listen:  ok: listen = [::1]:%d can be bound\n", p6);
	has(out, want);
	/* ca.sh signs for 30 days: the only warning is the expiry's */
	has(out, "warning: [provisioner] tls_cert_file expires in ");
	has(out, " days; renew it before the relays refuse this provisioner\n");
	ck_assert_msg(h_text_count(out, "warning:") == 1, "%s", out);
	ck_assert_ptr_null(strstr(out, "FAILED"));
}

END_TEST

/* In use: fails, unless a daemon answers on [daemon] socket. */
START_TEST(test_in_use)
{
	char out[8192], listen[64], sock[PATH_MAX];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd, port, ufd;

	lfd = h_tcp_listen(&port);
	ck_assert_int_ge(lfd, 0);
	H_FMT(listen, "127.0.0.1:%d", port);
	ck_assert(!check_prov(listen, "allow_hosts = *.ws.example.com\n", out,
			      sizeof(out)));
	has(out, "cannot be bound: Address already in use (by another "
		 "program: the daemon is not running)");
	/* a datagram socket bound where the daemon listens */
	H_FMT(sock, "%s/notify.sock", dir);
	H_FMT(sa.sun_path, "%s", sock);
	ufd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(ufd, 0);
	ck_assert_int_eq(bind(ufd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert(check_prov(listen, "allow_hosts = *.ws.example.com\n", out,
			     sizeof(out)));
	has(out, "is bound already, and the daemon is running (its socket '");
	(void)close(ufd);
	(void)unlink(sock);
	(void)close(lfd);
}

END_TEST

/*
 * Warnings (a glob of only '*', one that matches no host name) keep it
 * good; an out-of-date CRL and an address that is not numeric fail.
 */
START_TEST(test_warnings_and_failures)
{
	char out[8192], listen[64], extra[1024];
	int port = h_free_port();

	ck_assert_int_gt(port, 0);
	H_FMT(listen, "127.0.0.1:%d", port);
	ck_assert(check_prov(listen, "allow_hosts = * ws/1.example.com\n", out,
			     sizeof(out)));
	has(out, "warning: [provisioner] allow_hosts: '*' lets in every host "
		 "the client CA signed\n");
	has(out, "warning: [provisioner] allow_hosts: 'ws/1.example.com' "
		 "matches no host name");
	H_FMT(extra,
	      "allow_hosts = *.ws.example.com\n"
	      "crl_file = %s/crl-stale.pem\n",
	      dir);
	ck_assert(!check_prov(listen, extra, out, sizeof(out)));
	has(out, "crl:     FAILED: '");
	has(out, "is out of date (its next update was due on "
		 "2020-02-01T00:00:00Z)");
	ck_assert_ptr_null(strstr(out, "trust:"));
	ck_assert(!check_prov("localhost:8443",
			      "allow_hosts = *.ws.example.com\n", out,
			      sizeof(out)));
	has(out, "listen:  FAILED: [provisioner] listen: 'localhost:8443' is "
		 "not a numeric host:port or [v6]:port");
}

END_TEST

Suite *
cmd_check_prov_suite(void)
{
	Suite *s = suite_create("cmd_check_prov");
	TCase *tc = tcase_create("cmd_check_prov");

	tcase_add_unchecked_fixture(tc, pki_setup, pki_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_in_use);
	tcase_add_test(tc, test_warnings_and_failures);
	suite_add_tcase(s, tc);
	return s;
}
