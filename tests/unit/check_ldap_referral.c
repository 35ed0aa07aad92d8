/* SPDX-License-Identifier: Apache-2.0 */
/* check_ldap_referral.c: ldap_referral.c: what ignore_referrals covers (the
 * references themselves, on a slapd, are in check_ldap_search and
 * check_ldap_lookup). */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ldap_src.h"

Suite *ldap_referral_suite(void);

struct rcase {
	const char *url;
	bool ignored;
};

static const struct rcase rcases[] = {
	{"ldap://corp.example.com/DC=DomainDnsZones,DC=corp,DC=example,DC=com",
	 true},
	{"ldap://ForestDnsZones.corp.example.com/"
	 "DC=ForestDnsZones,DC=corp,DC=example,DC=com",
	 true},
	{"ldap://corp.example.com/CN=Configuration,DC=corp,DC=example,DC=com",
	 true},
	{"ldap://corp.example.com/dc=domaindnszones,dc=corp,dc=example,dc=com"
	 "??sub",
	 true},
	{"ldap://corp.example.com/DC=Domain%44nsZones,DC=corp", true},
	{"ldap://corp.example.com/DC=Domain\\44nsZones,DC=corp", true},
	/* libldap's DN reader drops the blank before a value */
	{"ldap://corp.example.com/DC=%20DomainDnsZones,DC=corp", true},
	{"ldap://corp.example.com/OU=Staff,DC=corp,DC=example,DC=com", false},
	{"ldap://corp.example.com/OU=Staff,DC=DomainDnsZones,DC=corp", false},
	{"ldap://corp.example.com/DC=DomainDnsZonesX,DC=corp", false},
	{"ldap://corp.example.com/DC=DomainDnsZones+CN=x,DC=corp", false},
	{"ldap://corp.example.com/DC=#04024869,DC=corp", false},
	{"ldap://corp.example.com/", false},
	{"ldap://corp.example.com", false},
	{"ldaps://gc.corp.example.com:3269/OU=Staff,DC=corp", true},
	{"ldaps://GC.corp.example.com:3269/OU=Staff,DC=corp", true},
	{"ldaps://gc.corp.example.com/OU=Staff,DC=corp", false},
	{"ldap://gc.corp.example.com:3269/OU=Staff,DC=corp", false},
	{"DomainDnsZones", false},
	{"not a URL at all", false},
	{"ldap://corp.example.com/DomainDnsZones", false},
	{"", false},
};

START_TEST(test_referral_ignored_table)
{
	static char n1[] = "DomainDnsZones", n2[] = "ForestDnsZones",
		    n3[] = "configuration",
		    p1[] = "ldaps://gc.corp.example.com:*";
	char *names[] = {n1, n2, n3, p1};
	struct strlist list = {names, 4};
	const struct rcase *c = &rcases[_i];

	ck_assert_msg(ldap_src_referral_ignored(&list, c->url) == c->ignored,
		      "'%s': expected %s", c->url,
		      c->ignored ? "ignored" : "not ignored");
}

END_TEST

START_TEST(test_referral_ignored_lists)
{
	static char all[] = "ldap://*", none[] = "";
	char *v1[] = {all}, *v2[] = {none};
	struct strlist every = {v1, 1}, empty = {v2, 1}, nothing = {NULL, 0};
	const char *url = "ldap://x.example.com/OU=Staff,DC=example,DC=com";

	ck_assert(ldap_src_referral_ignored(&every, url));
	ck_assert(!ldap_src_referral_ignored(&every, "ldaps://x/OU=y"));
	ck_assert(!ldap_src_referral_ignored(&empty, url));
	ck_assert(!ldap_src_referral_ignored(&nothing, url));
	ck_assert(!ldap_src_referral_ignored(NULL, url));
	ck_assert(!ldap_src_referral_ignored(&every, NULL));
}

END_TEST

Suite *
ldap_referral_suite(void)
{
	Suite *s = suite_create("ldap_referral");
	TCase *tc = tcase_create("ignored");

	tcase_add_loop_test(tc, test_referral_ignored_table, 0,
			    (int)(sizeof(rcases) / sizeof(rcases[0])));
	tcase_add_test(tc, test_referral_ignored_lists);
	suite_add_tcase(s, tc);
	return s;
}
