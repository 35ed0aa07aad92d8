/* SPDX-License-Identifier: Apache-2.0 */
/* check_ldap_search.c: ldap_search.c: the paged full read, on a real slapd. */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "ft_user.h"
#include "h_ldapsrc.h"
#include "harness.h"
#include "ldap_src.h"

Suite *ldap_search_suite(void);

/* ---- search_all ---------------------------------------------------------- */

static const struct ft_user *
find(const struct h_ls_coll *c, const char *login)
{
	size_t i;

	for (i = 0; i < c->list.n; i++)
		if (strcmp(c->list.v[i].login, login) == 0)
			return &c->list.v[i];
	return NULL;
}

static bool
is_disabled(const struct h_ls_coll *c, const char *login)
{
	const struct ft_user *u = find(c, login);

	ck_assert_msg(u != NULL, "missing %s", login);
	return u != NULL && u->disabled;
}

/* Every person, each once, fully mapped, gone disabled. */
static void
assert_everyone(const struct h_ls_coll *c, const struct ldap_src_stats *st,
		bool disabled_filter)
{
	static const char *const logins[] = {
		"alice", "bob",         "carol", "dave",   "erin",
		"frank", "joerg",       "zoe",   "yamada", "nomail",
		"multi", H_LS_META_UID, "star",  "starx",  "gone"};
	size_t i;

	ck_assert_uint_eq(c->list.n, H_LDAP_NPEOPLE);
	ck_assert_uint_eq(st->entries, H_LDAP_NPEOPLE);
	ck_assert_uint_eq(st->skipped, 0);
	ck_assert_uint_eq(st->disabled, disabled_filter ? 1 : 0);
	ck_assert_str_eq(st->reason, "");
	ck_assert(st->seconds >= 0.0 && st->seconds < 30.0);
	for (i = 0; i < sizeof(logins) / sizeof(logins[0]); i++) {
		const struct ft_user *u = find(c, logins[i]);

		ck_assert_msg(u != NULL, "missing %s", logins[i]);
		ck_assert_str_eq(u->username, logins[i]);
		ck_assert_ptr_nonnull(u->uuid);
		ck_assert_ptr_nonnull(u->dn);
		ck_assert_int_eq(u->disabled,
				 disabled_filter &&
					 strcmp(logins[i], "gone") == 0);
	}
	ck_assert_str_eq(find(c, "multi")->email, "maria.multi@example.com");
	ck_assert_ptr_null(find(c, "nomail")->email);
	ck_assert_str_eq(find(c, "joerg")->first_name, "J\xc3\xb6rg");
}

START_TEST(test_search_all_paged)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src *src;
	struct ldap_src_stats st;
	struct h_ls_coll k = {0};

	c->ldap.page_size = 2;
	src = h_ls_src_new(c);
	ck_assert_msg(h_ls_search_all(src, &k, &st) == FT_OK, "%s", st.reason);
	assert_everyone(&k, &st, true);
	/* 1 page of disabled DNs, ceil(15 / 2) = 8 pages of people (slapd
	 * may add an empty last page) */
	ck_assert_uint_ge(st.pages, 9);
	ck_assert_uint_le(st.pages, 10);
	ft_user_list_clear(&k.list);
	/* again on the same connection: same answer */
	ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_OK);
	assert_everyone(&k, &st, true);
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	h_ls_cfg_free(c);
}

END_TEST

START_TEST(test_search_all_unpaged)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src *src;
	struct ldap_src_stats st;
	struct h_ls_coll k = {0};

	c->ldap.page_size = 0;
	src = h_ls_src_new(c);
	ck_assert_msg(h_ls_search_all(src, &k, &st) == FT_OK, "%s", st.reason);
	assert_everyone(&k, &st, true);
	ck_assert_uint_eq(st.pages, 2); /* disabled DNs, then people */
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	/* no disabled_filter: one search */
	h_ls_set(&c->ldap.disabled_filter, NULL);
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_OK);
	assert_everyone(&k, &st, false);
	ck_assert_uint_eq(st.pages, 1);
	ft_user_list_clear(&k.list);
	/* stats may be NULL */
	ck_assert_int_eq(
		ldap_src_search_all(src, h_ls_coll_user, NULL, &k, NULL),
		FT_OK);
	ck_assert_uint_eq(k.list.n, H_LDAP_NPEOPLE);
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	h_ls_cfg_free(c);
}

END_TEST

START_TEST(test_search_all_skip_and_stop)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src *src;
	struct ldap_src_stats st;
	struct h_ls_coll k = {0};

	/* username from mail: nomail cannot be mapped and is skipped */
	h_ls_set(&c->mapping.username, "mail");
	c->ldap.page_size = 4;
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_OK);
	ck_assert_uint_eq(k.list.n, H_LDAP_NPEOPLE - 1);
	ck_assert_uint_eq(st.entries, H_LDAP_NPEOPLE);
	ck_assert_uint_eq(st.skipped, 1);
	ck_assert_uint_eq(k.skips, 1);
	ck_assert_str_eq(k.skip_dn, "uid=nomail,ou=people,dc=example,dc=com");
	ck_assert_str_eq(k.skip_reason, "no 'mail' value");
	/* what can be told of it, so a reconcile keeps its ftrack user */
	ck_assert_str_eq(k.skip_login, "nomail");
	ck_assert_uint_eq(strlen(k.skip_uuid), 36); /* its entryUUID */
	ck_assert_str_eq(find(&k, "multi")->username,
			 "maria.multi@example.com");
	ft_user_list_clear(&k.list);
	/* on_user stops the run with its own code */
	k.stop_after = 5;
	ck_assert_int_eq(h_ls_search_all(src, &k, &st), -42);
	ck_assert_uint_eq(k.list.n, 5);
	ft_user_list_clear(&k.list);
	/* and the next run starts afresh */
	k.stop_after = 0;
	ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_OK);
	ck_assert_uint_eq(k.list.n, H_LDAP_NPEOPLE - 1);
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	h_ls_cfg_free(c);
}

END_TEST

/* ---- faults: each test has its own slapd --------------------------------- */

START_TEST(test_sizelimit_partial)
{
	struct h_slapd *s = h_ls_own_slapd(3);
	struct config *c = h_ls_cfg_new(h_slapd_uri(s));
	struct ldap_src_stats st;
	struct h_ls_coll k = {0};
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;
	unsigned sizes[] = {0, 2, 500};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct ldap_src *src;

		c->ldap.page_size = sizes[i];
		src = h_ls_src_new(c);
		ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_E_PARTIAL);
		ck_assert_msg(strstr(st.reason, "limit") != NULL,
			      "page_size %u: %s", sizes[i], st.reason);
		ck_assert_uint_le(k.list.n, 3);
		ft_user_list_clear(&k.list);
		/* one person at a time is within the limit */
		ck_assert_int_eq(
			h_ls_lookup(src, "alice", &u, err, sizeof(err)), FT_OK);
		ft_user_clear(&u);
		ldap_src_free(src);
	}
	h_ls_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

/* Two continuation references under the base: one into a naming context
 * holding no people, one into a subtree that may hold some. */
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

START_TEST(test_referral_partial)
{
	struct h_slapd *s = h_ls_own_slapd(0);
	struct config *c = h_ls_cfg_new(h_slapd_uri(s));
	struct ldap_src *src;
	struct ldap_src_stats st;
	struct h_ls_coll k = {0};
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_int_eq(h_slapd_modify(s, refs_ldif), FT_OK);
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_E_PARTIAL);
	/* the reason names every referral and how to ignore it */
	ck_assert_msg(strstr(st.reason, "continuation reference") != NULL &&
			      strstr(st.reason, ZONES_URL) != NULL &&
			      strstr(st.reason, ELSE_URL) != NULL &&
			      strstr(st.reason, "ignore_referrals") != NULL &&
			      strstr(st.reason, "3268") != NULL,
		      "%s", st.reason);
	ck_assert_uint_eq(st.referrals_ignored, 0);
	ft_user_list_clear(&k.list);
	/* a lookup does not follow continuation references either, and
	 * still finds the entry that is here */
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_OK);
	ft_user_clear(&u);
	ldap_src_free(src);
	h_ls_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

/* ignore_referrals: a name covers the one, a URL pattern the other. */
START_TEST(test_referral_ignored)
{
	static char zones[] = "domaindnszones", forest[] = "ForestDnsZones",
		    pat[] = "ldap://127.0.0.1:1/ou=elsewhere,*";
	char *names[] = {zones, forest, pat};
	struct h_slapd *s = h_ls_own_slapd(0);
	struct config *c = h_ls_cfg_new(h_slapd_uri(s));
	unsigned sizes[] = {0, 2};
	struct ldap_src_stats st;
	struct h_ls_coll k = {0};
	struct ldap_src *src;
	size_t i;

	ck_assert_int_eq(h_slapd_modify(s, refs_ldif), FT_OK);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* the name alone: the other still holds the run */
		c->ldap.page_size = sizes[i];
		c->ldap.ignore_referrals.v = names;
		c->ldap.ignore_referrals.n = 2;
		src = h_ls_src_new(c);
		ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_E_PARTIAL);
		ck_assert_msg(strstr(st.reason, ELSE_URL) != NULL &&
				      strstr(st.reason, ZONES_URL) == NULL,
			      "%s", st.reason);
		ft_user_list_clear(&k.list);
		/* both covered: the answer is complete */
		c->ldap.ignore_referrals.n = 3;
		ck_assert_msg(h_ls_search_all(src, &k, &st) == FT_OK, "%s",
			      st.reason);
		assert_everyone(&k, &st, true);
		ck_assert_uint_eq(st.referrals_ignored, 2);
		ck_assert_msg(strstr(st.ignored, ZONES_URL) != NULL &&
				      strstr(st.ignored, ELSE_URL) != NULL,
			      "%s", st.ignored);
		ft_user_list_clear(&k.list);
		ldap_src_free(src);
	}
	c->ldap.ignore_referrals.v = NULL;
	c->ldap.ignore_referrals.n = 0;
	h_ls_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

/* shadowExpire (nis schema; they are shadowAccounts) on four people; "gone" is disabled_filter's. */
static const char shadow_ldif[] = "dn: uid=alice,ou=people,dc=example,dc=com\n"
				  "changetype: modify\n"
				  "add: shadowExpire\nshadowExpire: 1\n"
				  "\n"
				  "dn: uid=bob,ou=people,dc=example,dc=com\n"
				  "changetype: modify\n"
				  "add: shadowExpire\nshadowExpire: 999999\n"
				  "\n"
				  "dn: uid=carol,ou=people,dc=example,dc=com\n"
				  "changetype: modify\n"
				  "add: shadowExpire\nshadowExpire: -1\n"
				  "\n"
				  "dn: uid=dave,ou=people,dc=example,dc=com\n"
				  "changetype: modify\n"
				  "add: shadowExpire\nshadowExpire: 0\n";

START_TEST(test_expires_shadow)
{
	struct h_slapd *s = h_ls_own_slapd(0);
	struct config *c = h_ls_cfg_new(h_slapd_uri(s));
	struct ldap_src_stats st;
	struct h_ls_coll k = {0};
	struct ldap_src *src;

	ck_assert_int_eq(h_slapd_modify(s, shadow_ldif), FT_OK);
	h_ls_set(&c->ldap.expires_attribute, "shadowExpire");
	c->ldap.page_size = 3;
	src = h_ls_src_new(c);
	ck_assert_msg(h_ls_search_all(src, &k, &st) == FT_OK, "%s", st.reason);
	/* dave's 0 cannot be judged: a bad entry, with its DN and reason */
	ck_assert_uint_eq(st.entries, H_LDAP_NPEOPLE);
	ck_assert_uint_eq(st.skipped, 1);
	ck_assert_str_eq(k.skip_dn, "uid=dave,ou=people,dc=example,dc=com");
	ck_assert_msg(strstr(k.skip_reason, "'shadowExpire' value '0'") != NULL,
		      "%s", k.skip_reason);
	ck_assert_str_eq(k.skip_login, "dave");
	/* alice expired in 1970: disabled, counted with "gone" */
	ck_assert_uint_eq(k.list.n, H_LDAP_NPEOPLE - 1);
	ck_assert_uint_eq(st.disabled, 2);
	ck_assert(is_disabled(&k, "alice"));
	ck_assert(is_disabled(&k, "gone"));
	ck_assert(!is_disabled(&k, "bob"));
	ck_assert(!is_disabled(&k, "carol"));
	ck_assert(!is_disabled(&k, "erin"));
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	/* without expires_attribute the values are not looked at */
	h_ls_set(&c->ldap.expires_attribute, NULL);
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_OK);
	assert_everyone(&k, &st, true);
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	h_ls_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

START_TEST(test_killed_mid_read)
{
	struct h_slapd *s = h_ls_own_slapd(0);
	struct config *c = h_ls_cfg_new(h_slapd_uri(s));
	struct ldap_src *src;
	struct ldap_src_stats st;
	struct h_ls_coll k = {0};

	c->ldap.page_size = 2;
	src = h_ls_src_new(c);
	k.kill = s;
	ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_E_LDAP_DOWN);
	ck_assert_uint_lt(k.list.n, H_LDAP_NPEOPLE);
	ck_assert_str_ne(st.reason, "");
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	h_ls_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

Suite *
ldap_search_suite(void)
{
	Suite *s = suite_create("ldap_search");
	TCase *tc = tcase_create("shared");
	TCase *tf = tcase_create("faults");

	tcase_add_unchecked_fixture(tc, h_ls_shared_setup,
				    h_ls_shared_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_search_all_paged);
	tcase_add_test(tc, test_search_all_unpaged);
	tcase_add_test(tc, test_search_all_skip_and_stop);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_sizelimit_partial);
	tcase_add_test(tf, test_referral_partial);
	tcase_add_test(tf, test_referral_ignored);
	tcase_add_test(tf, test_expires_shadow);
	tcase_add_test(tf, test_killed_mid_read);
	suite_add_tcase(s, tf);
	return s;
}
