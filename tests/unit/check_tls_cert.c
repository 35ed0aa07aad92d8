/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_tls_cert.c: tls_cert.c on the real certificates of tests/lib/ca.sh:
 * a good pair and its name and expiry, a key of another certificate, an
 * expired certificate, missing and garbage files; the CA bundle counted.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ft_err.h"
#include "harness.h"
#include "tls_cert.h"

Suite *tls_cert_suite(void);

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

static void
path(char *buf, size_t cap, const char *name)
{
	h_fmt_check(snprintf(buf, cap, "%s/%s", dir, name), cap);
}

START_TEST(test_good_pair)
{
	char c[PATH_MAX], k[PATH_MAX], err[512] = "";
	struct tls_cert_info ci;
	time_t now = time(NULL);

	memset(&ci, 0, sizeof(ci));
	path(c, sizeof(c), "host1.crt");
	path(k, sizeof(k), "host1.key");
	ck_assert_int_eq(tls_cert_check_pair(c, k, now, &ci, err, sizeof(err)),
			 FT_OK);
	ck_assert_str_eq(ci.name, "host1.ws.example.com");
	/* ca.sh signs for 30 days: inside the warning window, not expired */
	ck_assert_int_ge(ci.days_left, 28);
	ck_assert_int_le(ci.days_left, 30);
	ck_assert_int_lt(ci.days_left, TLS_CERT_WARN_DAYS + 1);
	ck_assert(ci.not_after > now);
	/* the same certificate seen 40 days on: expired */
	ck_assert_int_eq(tls_cert_check_pair(c, k, now + 40L * 86400, &ci, err,
					     sizeof(err)),
			 FT_OK);
	ck_assert_int_lt(ci.days_left, 0);
	/* the server certificate: the first DNS SAN */
	path(c, sizeof(c), "server.crt");
	path(k, sizeof(k), "server.key");
	ck_assert_int_eq(tls_cert_check_pair(c, k, now, &ci, err, sizeof(err)),
			 FT_OK);
	ck_assert_str_eq(ci.name, "localhost");
}

END_TEST

START_TEST(test_key_mismatch)
{
	char c[PATH_MAX], k[PATH_MAX], err[512] = "";
	struct tls_cert_info ci;

	path(c, sizeof(c), "host1.crt");
	path(k, sizeof(k), "host2.key");
	ck_assert_int_eq(
		tls_cert_check_pair(c, k, time(NULL), &ci, err, sizeof(err)),
		FT_E_CONFIG);
	ck_assert_str_ne(err, "");
	ck_assert_msg(strstr(err, "host2.key") != NULL ||
			      strstr(err, "match") != NULL ||
			      strstr(err, "pair") != NULL,
		      "err: %s", err);
}

END_TEST

START_TEST(test_expired)
{
	char c[PATH_MAX], k[PATH_MAX], err[512] = "";
	struct tls_cert_info ci;

	path(c, sizeof(c), "expired.crt");
	path(k, sizeof(k), "expired.key");
	/* a pair still: the caller decides on days_left */
	ck_assert_int_eq(
		tls_cert_check_pair(c, k, time(NULL), &ci, err, sizeof(err)),
		FT_OK);
	ck_assert_str_eq(ci.name, "host7.ws.example.com");
	ck_assert_int_lt(ci.days_left, -300);
	ck_assert(ci.not_after < time(NULL));
}

END_TEST

START_TEST(test_missing_and_garbage)
{
	char c[PATH_MAX], k[PATH_MAX], g[PATH_MAX], err[512] = "";
	struct tls_cert_info ci;
	size_t n = 99;

	path(c, sizeof(c), "host1.crt");
	path(k, sizeof(k), "host1.key");
	path(g, sizeof(g), "garbage.pem");
	ck_assert_int_eq(h_write_file(g, "this is not PEM\n", 0600), FT_OK);

	ck_assert_int_eq(tls_cert_check_pair("/nonexistent/x.crt", k,
					     time(NULL), &ci, err, sizeof(err)),
			 FT_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.crt"));
	err[0] = '\0';
	ck_assert_int_eq(tls_cert_check_pair(c, "/nonexistent/x.key",
					     time(NULL), &ci, err, sizeof(err)),
			 FT_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.key"));
	err[0] = '\0';
	ck_assert_int_eq(
		tls_cert_check_pair(g, k, time(NULL), &ci, err, sizeof(err)),
		FT_E_CONFIG);
	ck_assert_str_ne(err, "");
	err[0] = '\0';
	ck_assert_int_eq(
		tls_cert_check_pair(c, g, time(NULL), &ci, err, sizeof(err)),
		FT_E_CONFIG);
	ck_assert_str_ne(err, "");
	/* a key where the certificate belongs */
	err[0] = '\0';
	ck_assert_int_eq(
		tls_cert_check_pair(k, k, time(NULL), &ci, err, sizeof(err)),
		FT_E_CONFIG);
	ck_assert_str_ne(err, "");

	err[0] = '\0';
	ck_assert_int_eq(tls_cert_check_ca(g, &n, err, sizeof(err)),
			 FT_E_CONFIG);
	ck_assert_str_ne(err, "");
	err[0] = '\0';
	ck_assert_int_eq(
		tls_cert_check_ca("/nonexistent/ca.crt", &n, err, sizeof(err)),
		FT_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/ca.crt"));
}

END_TEST

START_TEST(test_ca_count)
{
	char ca[PATH_MAX], two[PATH_MAX], err[512] = "";
	char *a, *b, *both;
	size_t n = 0, la = 0, lb = 0;

	path(ca, sizeof(ca), "ca.crt");
	ck_assert_int_eq(tls_cert_check_ca(ca, &n, err, sizeof(err)), FT_OK);
	ck_assert_uint_eq(n, 1);
	/* a bundle of two */
	a = h_read_file(ca, &la);
	path(two, sizeof(two), "other.crt");
	b = h_read_file(two, &lb);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	both = malloc(la + lb + 1);
	ck_assert_ptr_nonnull(both);
	memcpy(both, a, la);
	memcpy(both + la, b, lb);
	both[la + lb] = '\0';
	path(two, sizeof(two), "bundle.pem");
	ck_assert_int_eq(h_write_file(two, both, 0644), FT_OK);
	free(a);
	free(b);
	free(both);
	n = 0;
	ck_assert_int_eq(tls_cert_check_ca(two, &n, err, sizeof(err)), FT_OK);
	ck_assert_uint_eq(n, 2);
}

END_TEST

/* A CRL, PEM or DER: its issuer, what it revokes, when it goes stale. */
START_TEST(test_crl)
{
	char crl[PATH_MAX], der[PATH_MAX], cmd[3 * PATH_MAX], err[512] = "";
	struct tls_crl_info ci;
	time_t now = time(NULL);

	path(crl, sizeof(crl), "crl-revoked.pem");
	ck_assert_int_eq(tls_cert_check_crl(crl, now, &ci, err, sizeof(err)),
			 FT_OK);
	ck_assert_str_eq(ci.issuer, "Test hosts CA");
	ck_assert_uint_eq(ci.revoked, 1);
	ck_assert(ci.next_update > now);
	ck_assert(!ci.stale);
	/* the same list a day after its next update */
	ck_assert_int_eq(tls_cert_check_crl(crl, ci.next_update + 86400, &ci,
					    err, sizeof(err)),
			 FT_OK);
	ck_assert(ci.stale);
	path(crl, sizeof(crl), "crl-empty.pem");
	path(der, sizeof(der), "crl-empty.der");
	h_fmt_check(snprintf(cmd, sizeof(cmd),
			     "openssl crl -in %s -outform DER -out %s", crl,
			     der),
		    sizeof(cmd));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(tls_cert_check_crl(der, now, &ci, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(ci.revoked, 0);
	path(crl, sizeof(crl), "crl-stale.pem");
	ck_assert_int_eq(tls_cert_check_crl(crl, now, &ci, err, sizeof(err)),
			 FT_OK);
	ck_assert(ci.stale);
	ck_assert_int_eq((long)ci.next_update, 1580515200L); /* 2020-02-01 */
	/* not a CRL, no file */
	path(crl, sizeof(crl), "ca.crt");
	ck_assert_int_eq(tls_cert_check_crl(crl, now, &ci, err, sizeof(err)),
			 FT_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "holds no certificate revocation"));
	path(crl, sizeof(crl), "no-such.pem");
	ck_assert_int_eq(tls_cert_check_crl(crl, now, &ci, err, sizeof(err)),
			 FT_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "cannot open"));
}

END_TEST

Suite *
tls_cert_suite(void)
{
	Suite *s = suite_create("tls_cert");
	TCase *tc = tcase_create("tls_cert");

	tcase_add_unchecked_fixture(tc, pki_setup, pki_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_good_pair);
	tcase_add_test(tc, test_key_mismatch);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_missing_and_garbage);
	tcase_add_test(tc, test_ca_count);
	tcase_add_test(tc, test_crl);
	suite_add_tcase(s, tc);
	return s;
}
