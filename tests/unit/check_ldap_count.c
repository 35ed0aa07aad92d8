/* SPDX-License-Identifier: Apache-2.0 */
/* check_ldap_count.c: ldap_count.c: the first page counted, on a real slapd. */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "h_ldapsrc.h"
#include "harness.h"
#include "ldap_src.h"

Suite *ldap_count_suite(void);

/* ldap_src_count on a fresh source of c; the code, *ret, the reason. */
static int
count(struct config *c, struct ldap_src_count *ret, char *err, size_t errlen)
{
	struct ldap_src *src = h_ls_src_new(c);
	int r;

	err[0] = '\0';
	r = ldap_src_count(src, ret, err, errlen);
	ldap_src_free(src);
	return r;
}

/* ---- the shared slapd ---------------------------------------------------- */

START_TEST(test_count_first_page)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src_count n;
	char err[LDAP_SRC_REASON_MAX];

	/* pages of 500: everyone on the first, nothing more */
	ck_assert_msg(count(c, &n, err, sizeof(err)) == FT_OK, "%s", err);
	ck_assert_uint_eq(n.entries, H_LDAP_NPEOPLE);
	ck_assert(!n.more);
	ck_assert_uint_eq(n.references, 0);
	ck_assert_uint_eq(n.ignored, 0);
	ck_assert_str_eq(n.referrals, "");
	/* a page exactly the population: the cookie may still say more,
	 * but every entry is on it */
	c->ldap.page_size = H_LDAP_NPEOPLE;
	ck_assert_msg(count(c, &n, err, sizeof(err)) == FT_OK, "%s", err);
	ck_assert_uint_eq(n.entries, H_LDAP_NPEOPLE);
	h_ls_cfg_free(c);
}

END_TEST

START_TEST(test_count_small_page)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src_count n;
	char err[LDAP_SRC_REASON_MAX];
	unsigned sizes[] = {1, 4};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		c->ldap.page_size = sizes[i];
		ck_assert_msg(count(c, &n, err, sizeof(err)) == FT_OK, "%s",
			      err);
		ck_assert_uint_eq(n.entries, sizes[i]);
		ck_assert(n.more);
		ck_assert_uint_eq(n.references, 0);
	}
	h_ls_cfg_free(c);
}

END_TEST

START_TEST(test_count_unpaged)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src_count n;
	char err[LDAP_SRC_REASON_MAX];

	c->ldap.page_size = 0;
	ck_assert_msg(count(c, &n, err, sizeof(err)) == FT_OK, "%s", err);
	ck_assert_uint_eq(n.entries, H_LDAP_NPEOPLE);
	ck_assert(!n.more);
	ck_assert_str_eq(err, "");
	h_ls_cfg_free(c);
}

END_TEST

START_TEST(test_count_bad_base)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src_count n;
	char err[LDAP_SRC_REASON_MAX];

	h_ls_set(&c->ldap.search_base, "ou=nowhere,dc=example,dc=com");
	ck_assert_int_eq(count(c, &n, err, sizeof(err)), FT_E_LDAP);
	ck_assert_msg(strstr(err, "unable to search search_base") != NULL, "%s",
		      err);
	ck_assert_uint_eq(n.entries, 0);
	ck_assert(!n.more);
	h_ls_cfg_free(c);
}

END_TEST

/* ---- slapds of their own -------------------------------------------------- */

START_TEST(test_count_down)
{
	/* nothing listens on port 1 */
	struct config *c = h_ls_cfg_new("ldap://127.0.0.1:1");
	struct ldap_src_count n;
	char err[LDAP_SRC_REASON_MAX];

	c->ldap.timeout = 2;
	ck_assert_int_eq(count(c, &n, err, sizeof(err)), FT_E_LDAP_DOWN);
	ck_assert_str_ne(err, "");
	ck_assert_uint_eq(n.entries, 0);
	h_ls_cfg_free(c);
}

END_TEST

/* slapd's own size limit under page_size 0: more is set. */
START_TEST(test_count_sizelimit)
{
	struct h_slapd *s = h_ls_own_slapd(5);
	struct config *c = h_ls_cfg_new(h_slapd_uri(s));
	struct ldap_src_count n;
	char err[LDAP_SRC_REASON_MAX];

	c->ldap.page_size = 0;
	ck_assert_msg(count(c, &n, err, sizeof(err)) == FT_OK, "%s", err);
	ck_assert_uint_eq(n.entries, 5);
	ck_assert(n.more);
	h_ls_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

/* Two continuation references under the base (as check_ldap_search.c). */
static const char refs_ldif[] =
	"dn: ou=zones,ou=people,dc=example,dc=com\n"
	"changetype: add\n"
	"objectClass: referral\n"
	"objectClass: extensibleObject\n"
	"ou: zones\n"
	"ref: ldap://127.0.0.1:1/DC=DomainDnsZones,DC=example,DC=com\n"
	"\n"
	"dn: ou=elsewhere,ou=people,dc=example,dc=com\n"
	"changetype: add\n"
	"objectClass: referral\n"
	"objectClass: extensibleObject\n"
	"ou: elsewhere\n"
	"ref: ldap://127.0.0.1:1/ou=elsewhere,dc=example,dc=com\n";

/* slapd writes the attribute types in lower case */
#define ZONES_URL "'ldap://127.0.0.1:1/dc=DomainDnsZones,dc=example,dc=com"
#define ELSE_URL  "'ldap://127.0.0.1:1/ou=elsewhere,dc=example,dc=com"

START_TEST(test_count_referrals)
{
	static char zones[] = "domaindnszones";
	char *names[] = {zones};
	struct h_slapd *s = h_ls_own_slapd(0);
	struct config *c = h_ls_cfg_new(h_slapd_uri(s));
	unsigned sizes[] = {0, 500};
	struct ldap_src_count n;
	char err[LDAP_SRC_REASON_MAX];
	size_t i;

	ck_assert_int_eq(h_slapd_modify(s, refs_ldif), FT_OK);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		c->ldap.page_size = sizes[i];
		/* none covered: both counted and named, not followed */
		ck_assert_msg(count(c, &n, err, sizeof(err)) == FT_OK, "%s",
			      err);
		ck_assert_uint_eq(n.entries, H_LDAP_NPEOPLE);
		ck_assert_uint_eq(n.references, 2);
		ck_assert_uint_eq(n.ignored, 0);
		ck_assert_msg(strstr(n.referrals, ZONES_URL) != NULL &&
				      strstr(n.referrals, ELSE_URL) != NULL,
			      "%s", n.referrals);
		/* the zones covered by ignore_referrals: ignored, not named */
		c->ldap.ignore_referrals.v = names;
		c->ldap.ignore_referrals.n = 1;
		ck_assert_msg(count(c, &n, err, sizeof(err)) == FT_OK, "%s",
			      err);
		ck_assert_uint_eq(n.entries, H_LDAP_NPEOPLE);
		ck_assert_uint_eq(n.references, 1);
		ck_assert_uint_eq(n.ignored, 1);
		ck_assert_msg(strstr(n.referrals, ELSE_URL) != NULL &&
				      strstr(n.referrals, ZONES_URL) == NULL,
			      "%s", n.referrals);
		c->ldap.ignore_referrals.v = NULL;
		c->ldap.ignore_referrals.n = 0;
	}
	h_ls_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

Suite *
ldap_count_suite(void)
{
	Suite *s = suite_create("ldap_count");
	TCase *tc = tcase_create("shared");
	TCase *tf = tcase_create("own");

	tcase_add_unchecked_fixture(tc, h_ls_shared_setup,
				    h_ls_shared_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_count_first_page);
	tcase_add_test(tc, test_count_small_page);
	tcase_add_test(tc, test_count_unpaged);
	tcase_add_test(tc, test_count_bad_base);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_count_down);
	tcase_add_test(tf, test_count_sizelimit);
	tcase_add_test(tf, test_count_referrals);
	suite_add_tcase(s, tf);
	return s;
}
