/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_lease.c: the values of the reconcile's records on the API user and
 * the rules that read them (syncd/lease.c): when a lease can be taken,
 * when a schema refuses the run.  The writes against ftrack are tested
 * end to end in tests/integration/check_cmd_reconcile.c.
 */
#include <check.h>
#include <string.h>

#include "ft_err.h"
#include "lease.h"
#include "timing.h"

Suite *lease_suite(void);

#define NONCE "0123456789abcdef0123456789abcdef"
#define T0    1800000000LL /* 2027-01-15T08:00:00Z */

START_TEST(test_value_round_trip)
{
	struct lease_value v = {"recon1.example.com", 4242, T0, NONCE}, w;
	char text[512];

	ck_assert_int_eq(lease_value_format(&v, text, sizeof(text)), FT_OK);
	ck_assert_str_eq(text, "recon1.example.com 4242 2027-01-15T08:00:00Z "
			       "0123456789abcdef0123456789abcdef");
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(lease_value_parse(text, &w), FT_OK);
	ck_assert_str_eq(w.host, v.host);
	ck_assert_uint_eq(w.pid, 4242);
	ck_assert_int_eq(w.expiry, T0);
	ck_assert_str_eq(w.nonce, NONCE);
	ck_assert_int_eq(lease_value_format(&v, text, 20), FT_E_TOOBIG);
}

END_TEST

static const char *const bad_leases[] = {
	"",
	"host",
	"host 1 2027-01-15T08:00:00Z",
	"host 1 2027-01-15T08:00:00Z " NONCE " extra",
	"host  1 2027-01-15T08:00:00Z " NONCE,
	"host x 2027-01-15T08:00:00Z " NONCE,
	"host -1 2027-01-15T08:00:00Z " NONCE,
	"host 1 2027-01-15 " NONCE,
	"host 1 2027-01-15T08:00:00Zjunk " NONCE,
	"host 1 2027-01-15T08:00:00Z 0123",
	"host 1 2027-01-15T08:00:00Z 0123456789ABCDEF0123456789ABCDEF",
	"host 1 2027-01-15T08:00:00Z " NONCE " ",
};

START_TEST(test_value_refuses)
{
	struct lease_value w;

	ck_assert_msg(lease_value_parse(bad_leases[_i], &w) == FT_E_PROTO,
		      "accepted '%s'", bad_leases[_i]);
}

END_TEST

START_TEST(test_last_good_round_trip)
{
	struct report_last_good g = {15, "2027-01-15T08:00:00Z", "recon1"}, h;
	struct report_last_good spaced = {15, "2027-01-15T08:00:00Z", "a b"};
	struct report_last_good empty = {15, "", "recon1"};
	char text[512];

	ck_assert_int_eq(lease_last_good_format(&g, text, sizeof(text)), FT_OK);
	ck_assert_str_eq(text, "15 2027-01-15T08:00:00Z recon1");
	ck_assert_int_eq(lease_last_good_parse(text, &h), FT_OK);
	ck_assert_uint_eq(h.population, 15);
	ck_assert_str_eq(h.time, g.time);
	ck_assert_str_eq(h.host, "recon1");
	ck_assert_int_eq(lease_last_good_format(&spaced, text, sizeof(text)),
			 FT_E_INVAL);
	ck_assert_int_eq(lease_last_good_format(&empty, text, sizeof(text)),
			 FT_E_INVAL);
	ck_assert_int_eq(lease_last_good_parse("15", &h), FT_E_PROTO);
	ck_assert_int_eq(lease_last_good_parse("x 2027-01-15T08:00:00Z h", &h),
			 FT_E_PROTO);
	ck_assert_int_eq(lease_last_good_parse("15 yesterday h", &h),
			 FT_E_PROTO);
	ck_assert_int_eq(
		lease_last_good_parse("15 2027-01-15T08:00:00Z h i", &h),
		FT_E_PROTO);
}

END_TEST

START_TEST(test_host)
{
	char host[LEASE_HOST_MAX + 1];
	size_t i;

	lease_host(host, sizeof(host));
	ck_assert_uint_gt(strlen(host), 0);
	for (i = 0; host[i] != '\0'; i++)
		ck_assert((unsigned char)host[i] > ' ');
}

END_TEST

static struct lease_view
held_view(long long expiry, bool token)
{
	struct lease_view v;

	memset(&v, 0, sizeof(v));
	v.lease = v.lease_ok = true;
	v.token = token;
	(void)snprintf(v.held.host, sizeof(v.held.host), "other");
	v.held.pid = 7;
	v.held.expiry = expiry;
	(void)snprintf(v.held.nonce, sizeof(v.held.nonce), NONCE);
	return v;
}

START_TEST(test_state_of)
{
	struct lease_view none, v = held_view(T0, true);
	struct lease_view orphan = held_view(T0, false);
	struct lease_view bad;

	memset(&none, 0, sizeof(none));
	memset(&bad, 0, sizeof(bad));
	bad.lease = true;
	ck_assert_int_eq(lease_state_of(&none, "", T0), LEASE_FREE);
	ck_assert_int_eq(lease_state_of(&none, NONCE, T0), LEASE_FREE);
	/* current, and while the clocks may differ: held */
	ck_assert_int_eq(lease_state_of(&v, "", T0 - 10), LEASE_HELD);
	ck_assert_int_eq(lease_state_of(&v, "", T0 + LEASE_SKEW_SECONDS),
			 LEASE_HELD);
	ck_assert_int_eq(lease_state_of(&v, "", T0 + LEASE_SKEW_SECONDS + 1),
			 LEASE_EXPIRED);
	/* ours, from a run of this state folder that died: at once */
	ck_assert_int_eq(lease_state_of(&v, NONCE, T0 - 3000), LEASE_LEFT);
	ck_assert_int_eq(lease_state_of(&v, "ffff", T0 - 3000), LEASE_HELD);
	ck_assert_int_eq(lease_state_of(&v, NULL, T0 - 3000), LEASE_HELD);
	/* nothing can be taken over safely: a person removes it */
	ck_assert_int_eq(lease_state_of(&orphan, "", T0 + 99999), LEASE_STUCK);
	ck_assert_int_eq(lease_state_of(&bad, "", T0 + 99999), LEASE_STUCK);
}

END_TEST

START_TEST(test_schema_check)
{
	struct lease_view v;

	memset(&v, 0, sizeof(v));
	ck_assert_int_eq(lease_schema_check(&v), FT_OK); /* none yet */
	v.schema = v.schema_ok = true;
	v.schema_version = FTRACK_MARKER_SCHEMA_VERSION;
	ck_assert_int_eq(lease_schema_check(&v), FT_OK);
	v.schema_version = 0;
	ck_assert_int_eq(lease_schema_check(&v), FT_OK); /* older */
	v.schema_version = FTRACK_MARKER_SCHEMA_VERSION + 1;
	ck_assert_int_eq(lease_schema_check(&v), FT_E_CONFIG);
	v.schema_ok = false; /* not a number: not ours to read */
	ck_assert_int_eq(lease_schema_check(&v), FT_E_CONFIG);
}

END_TEST

START_TEST(test_iso)
{
	char buf[32];
	long long t = 0;

	timing_iso(T0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2027-01-15T08:00:00Z");
	ck_assert_int_eq(timing_iso_parse(buf, &t), FT_OK);
	ck_assert_int_eq(t, T0);
	ck_assert_int_eq(timing_iso_parse("2027-01-15T08:00:00", &t),
			 FT_E_INVAL);
	ck_assert_int_eq(timing_iso_parse("2027-01-15T08:00:00Z ", &t),
			 FT_E_INVAL);
	ck_assert_int_eq(timing_iso_parse("", &t), FT_E_INVAL);
}

END_TEST

Suite *
lease_suite(void)
{
	Suite *s = suite_create("lease");
	TCase *tc = tcase_create("lease");

	tcase_add_test(tc, test_value_round_trip);
	tcase_add_loop_test(tc, test_value_refuses, 0,
			    (int)(sizeof(bad_leases) / sizeof(bad_leases[0])));
	tcase_add_test(tc, test_last_good_round_trip);
	tcase_add_test(tc, test_host);
	tcase_add_test(tc, test_state_of);
	tcase_add_test(tc, test_schema_check);
	tcase_add_test(tc, test_iso);
	suite_add_tcase(s, tc);
	return s;
}
