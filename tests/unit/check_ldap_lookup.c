/* SPDX-License-Identifier: Apache-2.0 */
/* check_ldap_lookup.c: ldap_lookup.c: one person by login, on a real slapd. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "ft_user.h"
#include "h_ldapsrc.h"
#include "harness.h"
#include "ldap_src.h"

Suite *ldap_lookup_suite(void);

/* ---- lookup ------------------------------------------------------------ */

START_TEST(test_lookup_alice)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src *src = h_ls_src_new(c);
	char err[LDAP_SRC_REASON_MAX], *uuid;
	struct ft_user u;

	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_OK);
	ck_assert_str_eq(u.username, "alice");
	ck_assert_str_eq(u.login, "alice");
	ck_assert_str_eq(u.email, "alice@example.com");
	ck_assert_str_eq(u.first_name, "Alice");
	ck_assert_str_eq(u.last_name, "Archer");
	ck_assert_str_eq(u.dn, "uid=alice,ou=people,dc=example,dc=com");
	uuid = h_ldap_values(h_ls_shared_uri(), "(uid=alice)", "entryUUID");
	ck_assert_ptr_nonnull(uuid);
	ck_assert_uint_eq(strlen(uuid), 37); /* 36 and '\n' */
	uuid[36] = '\0';
	ck_assert_str_eq(u.uuid, uuid);
	ck_assert(!u.disabled);
	ck_assert_ptr_null(u.id);
	ck_assert_ptr_null(u.deactivated);
	free(uuid);
	ft_user_clear(&u);
	/* LDAP's own matching rule decides: uid ignores case; login is
	 * the directory's spelling */
	ck_assert_int_eq(h_ls_lookup(src, "ALICE", &u, err, sizeof(err)),
			 FT_OK);
	ck_assert_str_eq(u.login, "alice");
	ft_user_clear(&u);
	/* the connection is kept and reused */
	ck_assert_int_eq(h_ls_lookup(src, "bob", &u, err, sizeof(err)), FT_OK);
	ck_assert_str_eq(u.email, "bob@example.com");
	ft_user_clear(&u);
	ldap_src_free(src);
	h_ls_cfg_free(c);
}

END_TEST

struct want {
	const char *login, *username, *email, *first, *last;
};

static const struct want people[] = {
	{"joerg", "joerg", "joerg@example.com", "J\xc3\xb6rg", "M\xc3\xbcller"},
	{"zoe", "zoe", "zoe@example.com", "Zo\xc3\xab",
	 "\xc3\x85ngstr\xc3\xb6m"},
	{"yamada", "yamada", "yamada@example.com", "\xe5\xa4\xaa\xe9\x83\x8e",
	 "\xe5\xb1\xb1\xe7\x94\xb0"},
	{"nomail", "nomail", NULL, "Nora", "Nomail"},
	{"multi", "multi", "maria.multi@example.com", "Maria", "Multi"},
	{H_LS_META_UID, H_LS_META_UID, "metachar@example.com", "Stan",
	 "Metachar"},
	{"star", "star", "star@example.com", "Stella", "Star"},
	{"starx", "starx", "starx@example.com", "Xavier", "Starx"},
};

START_TEST(test_lookup_people)
{
	const struct want *w = &people[_i];
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src *src = h_ls_src_new(c);
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_msg(h_ls_lookup(src, w->login, &u, err, sizeof(err)) == FT_OK,
		      "%s: %s", w->login, err);
	ck_assert_str_eq(u.login, w->login);
	ck_assert_str_eq(u.username, w->username);
	if (w->email == NULL)
		ck_assert_ptr_null(u.email);
	else
		ck_assert_str_eq(u.email, w->email);
	ck_assert_str_eq(u.first_name, w->first);
	ck_assert_str_eq(u.last_name, w->last);
	ck_assert_ptr_nonnull(u.uuid);
	ck_assert(!u.disabled);
	ft_user_clear(&u);
	ldap_src_free(src);
	h_ls_cfg_free(c);
}

END_TEST

/* Logins that must match nothing: filter metacharacters stay literal. */
static const char *const no_match[] = {
	"*",        "star*",        "st*r",           "st*",
	"*)(uid=*", "alice)(uid=*", "st\\2ar(x)\\5c", "nobody",
	"alic",     "\xff",
};

START_TEST(test_lookup_no_match)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src *src = h_ls_src_new(c);
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_msg(h_ls_lookup(src, no_match[_i], &u, err, sizeof(err)) ==
			      FT_E_NOTFOUND,
		      "'%s': %s", no_match[_i], err);
	ck_assert_ptr_null(u.username);
	ldap_src_free(src);
	h_ls_cfg_free(c);
}

END_TEST

START_TEST(test_lookup_disabled)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src *src = h_ls_src_new(c);
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_int_eq(h_ls_lookup(src, "gone", &u, err, sizeof(err)), FT_OK);
	ck_assert_str_eq(u.username, "gone");
	ck_assert(u.disabled);
	ft_user_clear(&u);
	ck_assert_int_eq(h_ls_lookup(src, "erin", &u, err, sizeof(err)), FT_OK);
	ck_assert(!u.disabled);
	ft_user_clear(&u);
	ldap_src_free(src);
	/* without disabled_filter nobody is disabled */
	h_ls_set(&c->ldap.disabled_filter, NULL);
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_lookup(src, "gone", &u, err, sizeof(err)), FT_OK);
	ck_assert(!u.disabled);
	ft_user_clear(&u);
	ldap_src_free(src);
	h_ls_cfg_free(c);
}

END_TEST

START_TEST(test_lookup_errors)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src *src = h_ls_src_new(c);
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_int_eq(h_ls_lookup(src, "", &u, err, sizeof(err)),
			 FT_E_INVAL);
	ck_assert_int_eq(h_ls_lookup(src, NULL, &u, err, sizeof(err)),
			 FT_E_INVAL);
	ldap_src_free(src);
	/* every person has gidNumber 10000: two entries for one login */
	h_ls_set(&c->ldap.login_attribute, "gidNumber");
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_lookup(src, "10000", &u, err, sizeof(err)),
			 FT_E_CONFLICT);
	ck_assert_ptr_nonnull(strstr(err, "ou=people,dc=example,dc=com"));
	ldap_src_free(src);
	/* an entry that cannot be mapped: the reason names the DN */
	h_ls_set(&c->ldap.login_attribute, "uid");
	h_ls_set(&c->mapping.username, "employeeNumber");
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_INVAL);
	ck_assert_ptr_nonnull(
		strstr(err, "'uid=alice,ou=people,dc=example,dc=com'"));
	ck_assert_ptr_nonnull(strstr(err, "no 'employeeNumber' value"));
	ck_assert_ptr_null(u.username);
	ldap_src_free(src);
	h_ls_cfg_free(c);
}

END_TEST

/* ---- referrals and expiry: a slapd of the test's own ----------------- */

static const char own_ldif[] =
	"dn: ou=elsewhere,ou=people,dc=example,dc=com\n"
	"changetype: add\n"
	"objectClass: referral\n"
	"objectClass: extensibleObject\n"
	"ou: elsewhere\n"
	"ref: ldap://127.0.0.1:1/ou=elsewhere,dc=example,dc=com\n"
	"\n"
	"dn: uid=alice,ou=people,dc=example,dc=com\n"
	"changetype: modify\n"
	"add: shadowExpire\nshadowExpire: 1\n"
	"\n"
	"dn: uid=bob,ou=people,dc=example,dc=com\n"
	"changetype: modify\n"
	"add: shadowExpire\nshadowExpire: 999999\n"
	"\n"
	"dn: uid=dave,ou=people,dc=example,dc=com\n"
	"changetype: modify\n"
	"add: shadowExpire\nshadowExpire: 0\n";

/* Not found here, and referred elsewhere: the person may be there. */
static void
lookup_referred(struct config *c)
{
	static char name[] = "Elsewhere";
	char *names[] = {name};
	char err[LDAP_SRC_REASON_MAX];
	struct ldap_src *src = h_ls_src_new(c);
	struct ft_user u;

	ck_assert_int_eq(h_ls_lookup(src, "nobody", &u, err, sizeof(err)),
			 FT_E_PARTIAL);
	ck_assert_msg(strstr(err, "'ldap://127.0.0.1:1/ou=elsewhere,") !=
				      NULL &&
			      strstr(err, "ignore_referrals") != NULL,
		      "%s", err);
	/* the entry that is here is the person, referral or not */
	ck_assert_int_eq(h_ls_lookup(src, "erin", &u, err, sizeof(err)), FT_OK);
	ft_user_clear(&u);
	ldap_src_free(src);
	/* the same rule as the full read: ignored, it is simply not found */
	c->ldap.ignore_referrals.v = names;
	c->ldap.ignore_referrals.n = 1;
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_lookup(src, "nobody", &u, err, sizeof(err)),
			 FT_E_NOTFOUND);
	ldap_src_free(src);
}

/* shadowExpire past: disabled; future: not; 0: a bad entry. */
static void
lookup_expired(struct config *c)
{
	char err[LDAP_SRC_REASON_MAX];
	struct ldap_src *src;
	struct ft_user u;

	h_ls_set(&c->ldap.expires_attribute, "shadowExpire");
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_OK);
	ck_assert(u.disabled);
	ft_user_clear(&u);
	ck_assert_int_eq(h_ls_lookup(src, "bob", &u, err, sizeof(err)), FT_OK);
	ck_assert(!u.disabled);
	ft_user_clear(&u);
	ck_assert_int_eq(h_ls_lookup(src, "gone", &u, err, sizeof(err)), FT_OK);
	ck_assert(u.disabled); /* disabled_filter still applies */
	ft_user_clear(&u);
	ck_assert_int_eq(h_ls_lookup(src, "dave", &u, err, sizeof(err)),
			 FT_E_INVAL);
	ck_assert_msg(strstr(err, "'uid=dave,ou=people,dc=example,dc=com'") !=
				      NULL &&
			      strstr(err, "'shadowExpire' value '0'") != NULL,
		      "%s", err);
	ldap_src_free(src);
	/* without the key the values are not looked at */
	h_ls_set(&c->ldap.expires_attribute, NULL);
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_OK);
	ck_assert(!u.disabled);
	ft_user_clear(&u);
	ldap_src_free(src);
}

START_TEST(test_lookup_referral_and_expiry)
{
	struct h_slapd *s = h_ls_own_slapd(0);
	struct config *c = h_ls_cfg_new(h_slapd_uri(s));

	ck_assert_int_eq(h_slapd_modify(s, own_ldif), FT_OK);
	lookup_referred(c);
	c->ldap.ignore_referrals.v = NULL;
	c->ldap.ignore_referrals.n = 0;
	lookup_expired(c);
	h_ls_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

Suite *
ldap_lookup_suite(void)
{
	Suite *s = suite_create("ldap_lookup");
	TCase *tc = tcase_create("shared");
	TCase *tf = tcase_create("own");

	tcase_add_unchecked_fixture(tc, h_ls_shared_setup,
				    h_ls_shared_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lookup_alice);
	tcase_add_loop_test(tc, test_lookup_people, 0,
			    (int)(sizeof(people) / sizeof(people[0])));
	tcase_add_loop_test(tc, test_lookup_no_match, 0,
			    (int)(sizeof(no_match) / sizeof(no_match[0])));
	tcase_add_test(tc, test_lookup_disabled);
	tcase_add_test(tc, test_lookup_errors);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_lookup_referral_and_expiry);
	suite_add_tcase(s, tf);
	return s;
}
