/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_prov_tls.c: the host rules of a client certificate (names, the
 * allow_hosts globs, deny_file) and loading the trust.  Certificates
 * themselves are checked end to end in the provisioner suite.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "prov_tls.h"

Suite *prov_tls_suite(void);

#define FP1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FP2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const struct {
	const char *in, *out; /* out NULL: not a host name */
} names[] = {
	{"host1.ws.example.com", "host1.ws.example.com"},
	{"HOST1.WS.Example.COM", "host1.ws.example.com"},
	{"a", "a"},
	{"", NULL},
	{".example.com", NULL},
	{"-x.example.com", NULL},
	{"*.ws.example.com", NULL},
	{"host 1", NULL},
	{"host_1.example.com", NULL},
	{"h\xc3\xb6st", NULL},
	{"a\nb", NULL},
};

START_TEST(test_host_name)
{
	char buf[300];

	(void)snprintf(buf, sizeof(buf), "%s", names[_i].in);
	ck_assert_int_eq(prov_host_name(buf), names[_i].out != NULL);
	if (names[_i].out != NULL)
		ck_assert_str_eq(buf, names[_i].out);
}

END_TEST

START_TEST(test_host_name_length)
{
	char buf[300];

	memset(buf, 'a', 253);
	buf[253] = '\0';
	ck_assert(prov_host_name(buf));
	memset(buf, 'a', 254);
	buf[254] = '\0';
	ck_assert(!prov_host_name(buf));
}

END_TEST

START_TEST(test_allowed)
{
	char g1[] = "*.ws.example.com", g2[] = "render[0-9].farm.example.com";
	char *v[] = {g1, g2};
	struct strlist allow = {v, 2}, none = {NULL, 0};

	ck_assert(prov_host_allowed(&allow, "host1.ws.example.com"));
	ck_assert(prov_host_allowed(&allow, "a.b.ws.example.com"));
	ck_assert(prov_host_allowed(&allow, "render3.farm.example.com"));
	ck_assert(!prov_host_allowed(&allow, "render10.farm.example.com"));
	ck_assert(!prov_host_allowed(&allow, "ws.example.com"));
	ck_assert(!prov_host_allowed(&allow, "evil.example.org"));
	ck_assert(!prov_host_allowed(&allow, "host1.ws.example.com.evil.org"));
	ck_assert(!prov_host_allowed(&none, "host1.ws.example.com"));
	/* the class: the first glob that matches */
	ck_assert_int_eq(prov_host_class(&allow, "host1.ws.example.com"), 0);
	ck_assert_int_eq(prov_host_class(&allow, "render3.farm.example.com"),
			 1);
	ck_assert_int_eq(prov_host_class(&allow, "evil.example.org"), -1);
	v[1] = g1; /* the other order */
	v[0] = g2;
	ck_assert_int_eq(prov_host_class(&allow, "render3.farm.example.com"),
			 0);
	ck_assert_int_eq(prov_host_class(&allow, "host1.ws.example.com"), 1);
}

END_TEST

START_TEST(test_deny)
{
	static const char deny[] =
		"# revoked by hand\n"
		"\n"
		"  host2.ws.example.com  \n"
		"HOST3.ws.example.com # a comment to the end of the line\n"
		"# host5.ws.example.com\n"
		"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
		"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF\r\n"
		"host4.ws.example.com";

	ck_assert(prov_deny_match(deny, "host2.ws.example.com", FP2));
	ck_assert(prov_deny_match(deny, "host4.ws.example.com", FP2));
	ck_assert(prov_deny_match(deny, "host9.ws.example.com", FP1));
	ck_assert(prov_deny_match(deny, "host3.ws.example.com", FP2));
	ck_assert(!prov_deny_match(deny, "host5.ws.example.com", FP2));
	ck_assert(!prov_deny_match(deny, "host1.ws.example.com", FP2));
	ck_assert(!prov_deny_match(deny, "revoked", FP2));
	ck_assert(!prov_deny_match("", "host2.ws.example.com", FP1));
	ck_assert(prov_deny_match(FP1, "x", FP1));
	ck_assert(!prov_deny_match(FP1 "0", "x", FP1)); /* 65 digits */
}

END_TEST

/* What `check` says of a deny_file: host names, prints, bad lines. */
START_TEST(test_deny_count)
{
	static const char deny[] =
		"# revoked by hand\n"
		"\n"
		"  host2.ws.example.com  \n"
		"not a host!\n"
		"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
		"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF\r\n"
		"host_4\n"
		"host4.ws.example.com";
	struct prov_deny_count n;

	prov_deny_count(deny, &n);
	ck_assert_uint_eq(n.hosts, 2);
	ck_assert_uint_eq(n.prints, 1);
	ck_assert_uint_eq(n.bad, 2);
	ck_assert_uint_eq(n.first_bad, 4);
	prov_deny_count("", &n);
	ck_assert_uint_eq(n.hosts + n.prints + n.bad + n.first_bad, 0);
	prov_deny_count(FP1 "0\n", &n); /* 65 digits: a host name */
	ck_assert_uint_eq(n.hosts, 1);
	ck_assert_uint_eq(n.prints, 0);
}

END_TEST

START_TEST(test_refusal_names)
{
	int i;

	for (i = 0; i < PROV_REF_COUNT; i++)
		ck_assert_ptr_nonnull(prov_refusal_name((enum prov_refusal)i));
	ck_assert_str_eq(prov_refusal_name(PROV_REF_NO_CERT), "no_certificate");
	ck_assert_str_eq(prov_refusal_name(PROV_REF_DENIED), "denied");
	ck_assert_str_eq(prov_refusal_name(PROV_REF_COUNT), "invalid");
}

END_TEST

START_TEST(test_load_errors)
{
	struct config_provisioner p = {0};
	struct prov_trust *t = NULL;
	char err[512], missing[] = "/nonexistent/ca.crt", null[] = "/dev/null";

	ck_assert_int_eq(prov_trust_load(&p, &t, err, sizeof(err)),
			 FT_E_CONFIG);
	p.client_ca_file = missing;
	ck_assert_int_eq(prov_trust_load(&p, &t, err, sizeof(err)),
			 FT_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/ca.crt"));
	p.client_ca_file = null; /* no CA in it */
	ck_assert_int_eq(prov_trust_load(&p, &t, err, sizeof(err)),
			 FT_E_CONFIG);
	ck_assert_ptr_null(t);
	prov_trust_free(NULL);
}

END_TEST

Suite *
prov_tls_suite(void)
{
	Suite *s = suite_create("prov_tls");
	TCase *tc = tcase_create("rules");

	tcase_add_loop_test(tc, test_host_name, 0,
			    (int)(sizeof(names) / sizeof(names[0])));
	tcase_add_test(tc, test_host_name_length);
	tcase_add_test(tc, test_allowed);
	tcase_add_test(tc, test_deny);
	tcase_add_test(tc, test_deny_count);
	tcase_add_test(tc, test_refusal_names);
	tcase_add_test(tc, test_load_errors);
	suite_add_tcase(s, tc);
	return s;
}
