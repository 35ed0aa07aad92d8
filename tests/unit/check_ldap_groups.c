/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_ldap_groups.c: ldap_groups.c and ldap_groups_set.c: DNs in one
 * form, ranged values, every group read from a real slapd (nested, a
 * loop, a member that is not there, members outside the people, a group
 * of more than 1,500 members, memberUid), one person's groups, and the
 * partial reads that must never look complete.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "h_ldapsrc.h"
#include "harness.h"
#include "ldap_groups.h"
#include "ldap_src.h"

Suite *ldap_groups_suite(void);

#define BIG_N 1600 /* members of cn=big: more than AD's 1,500 a range */

/* ---- pure: DNs and ranges ------------------------------------------------- */

static void
norm_is(const char *dn, const char *want)
{
	char *got = NULL;

	ck_assert_int_eq(ldap_groups_dn_norm(dn, &got), FT_OK);
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_dn_norm)
{
	char *got = NULL;

	norm_is("CN=Comp, OU=Groups,DC=Example,DC=com",
		"cn=comp,ou=groups,dc=example,dc=com");
	norm_is("cn=comp,ou=groups,dc=example,dc=com",
		"cn=comp,ou=groups,dc=example,dc=com");
	ck_assert_int_eq(ldap_groups_dn_norm("cn=x,,=y", &got), FT_E_INVAL);
	ck_assert_int_eq(ldap_groups_dn_norm("", &got), FT_E_INVAL);
	ck_assert_int_eq(ldap_groups_dn_norm(NULL, &got), FT_E_INVAL);
	ck_assert_ptr_null(got);
	ck_assert(
		ldap_groups_dn_under("uid=a,ou=people,dc=x", "ou=people,dc=x"));
	ck_assert(ldap_groups_dn_under("ou=people,dc=x", "ou=people,dc=x"));
	ck_assert(!ldap_groups_dn_under("uid=a,ou=xpeople,dc=x",
					"ou=people,dc=x"));
	ck_assert(!ldap_groups_dn_under("uid=a\\,ou=people,dc=x",
					"ou=people,dc=x"));
	ck_assert(!ldap_groups_dn_under("uid=a,ou=people,dc=x", NULL));
}

END_TEST

START_TEST(test_range)
{
	unsigned long next = 0;

	ck_assert_int_eq(
		ldap_groups_range("member;range=0-1499", "member", &next), 1);
	ck_assert_uint_eq(next, 1500);
	ck_assert_int_eq(
		ldap_groups_range("Member;Range=1500-2999", "member", &next),
		1);
	ck_assert_uint_eq(next, 3000);
	ck_assert_int_eq(
		ldap_groups_range("member;range=3000-*", "member", &next), 0);
	ck_assert_int_eq(ldap_groups_range("member", "member", &next), 0);
	ck_assert_int_eq(ldap_groups_range("memberUid", "member", &next), -1);
	ck_assert_int_eq(ldap_groups_range("cn", "member", &next), -1);
	ck_assert_int_eq(ldap_groups_range("member;range=0-x", "member", &next),
			 -1);
	ck_assert_int_eq(ldap_groups_range("member;range=-5", "member", &next),
			 -1);
}

END_TEST

/* ---- a slapd with groups ------------------------------------------------- */

#define G "ou=groups,dc=example,dc=com"
#define P "ou=people,dc=example,dc=com"

static const char groups_ldif[] =
	"dn: ou=sub," G "\nchangetype: add\nobjectClass: organizationalUnit\n"
	"ou: sub\n\n"
	"dn: cn=comp," G "\nchangetype: add\nobjectClass: groupOfNames\n"
	"cn: comp\nmember: uid=alice," P "\nmember: uid=bob," P "\n"
	"member: cn=comp-juniors," G "\nmember: uid=ghost," P "\n"
	"member: cn=ftrack-sync,ou=services,dc=example,dc=com\n\n"
	"dn: cn=comp-juniors," G "\nchangetype: add\n"
	"objectClass: groupOfNames\ncn: comp-juniors\n"
	"member: uid=carol," P "\nmember: CN=Comp,OU=Groups,DC=example,"
	"DC=com\n\n"
	"dn: cn=lighting," G "\nchangetype: add\nobjectClass: groupOfNames\n"
	"cn: lighting\nmember: uid=dave," P "\n"
	"member: UID=erin, OU=People, DC=Example, DC=Com\n\n"
	"dn: cn=dup," G "\nchangetype: add\nobjectClass: groupOfNames\n"
	"cn: dup\nmember: uid=alice," P "\n\n"
	"dn: cn=dup,ou=sub," G "\nchangetype: add\n"
	"objectClass: groupOfNames\ncn: dup\nmember: uid=bob," P "\n\n";

/* groups_ldif and cn=big, with BIG_N members. */
static struct h_slapd *
groups_slapd(unsigned sizelimit)
{
	struct h_slapd *s = h_ls_own_slapd(sizelimit);
	size_t cap = sizeof(groups_ldif) + 64 * BIG_N + 256, n;
	char *text = malloc(cap);
	int i;

	ck_assert_ptr_nonnull(text);
	n = (size_t)snprintf(text, cap,
			     "%sdn: cn=big," G "\nchangetype: add\n"
			     "objectClass: groupOfNames\ncn: big\n",
			     groups_ldif);
	for (i = 0; i < BIG_N; i++)
		n += (size_t)snprintf(text + n, cap - n,
				      "member: uid=p%04d," P "\n", i);
	ck_assert(n < cap);
	ck_assert_int_eq(h_slapd_modify(s, text), FT_OK);
	free(text);
	return s;
}

static struct config *
groups_cfg(const char *uri, bool nested)
{
	struct config *c = h_ls_cfg_new(uri);

	h_ls_set(&c->groups.search_base, G);
	h_ls_set(&c->groups.search_filter, "(objectClass=groupOfNames)");
	h_ls_set(&c->groups.name_attribute, "cn");
	c->groups.member_attribute = MEMBER_ATTR_MEMBER;
	c->groups.nested = nested;
	c->ldap.page_size = 2; /* several pages */
	return c;
}

static void
groups_cfg_free(struct config *c)
{
	free(c->groups.search_base);
	free(c->groups.search_filter);
	free(c->groups.name_attribute);
	h_ls_cfg_free(c);
}

static const char *const line_text[] = {
	"Compositing",
	"comp",
	"London/Lighting",
	"CN=Lighting,OU=Groups,DC=example,DC=com",
	"Big",
	"big",
	"Dup",
	"dup",
	"Missing",
	"no-such-group",
	"ByDn",
	"cn=nothere,ou=groups,dc=example,dc=com",
};

/* A map of n lines from pairs (ftrack, ldap); map_free. */
static struct groupmap
map_of(const char *const *pairs, size_t n)
{
	struct groupmap m = {calloc(n, sizeof(*m.v)), n};
	size_t i;

	ck_assert_ptr_nonnull(m.v);
	for (i = 0; i < n; i++) {
		m.v[i].ftrack = strdup(pairs[2 * i]);
		m.v[i].ldap = strdup(pairs[2 * i + 1]);
		m.v[i].line = (int)i + 1;
		ck_assert(m.v[i].ftrack != NULL && m.v[i].ldap != NULL);
	}
	return m;
}

static void
map_free(struct groupmap *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].ftrack);
		free(m->v[i].ldap);
	}
	free(m->v);
}

static struct groupmap map;

static void
map_setup(void)
{
	map = map_of(line_text, sizeof(line_text) / sizeof(line_text[0]) / 2);
}

static void
map_teardown(void)
{
	map_free(&map);
}

static void
has(const struct group_members *gm, const char *member)
{
	ck_assert_msg(ldap_groups_has_member(gm, member), "%s lacks %s",
		      gm->line->ftrack, member);
}

static void
resolve(const struct config *c, const struct ldap_groups *all,
	struct group_members **ret)
{
	ck_assert_int_eq(ldap_groups_resolve(c, all, &map, ret), FT_OK);
}

START_TEST(test_read_and_resolve)
{
	struct h_slapd *s = groups_slapd(0);
	struct config *c = groups_cfg(h_slapd_uri(s), false);
	struct ldap_src *src = h_ls_src_new(c);
	struct ldap_groups all = {0};
	struct group_members *gm = NULL;
	char big[64];

	ck_assert_msg(ldap_src_groups_read(src, &all) == FT_OK, "%s",
		      all.reason);
	ck_assert(all.complete);
	ck_assert_str_eq(all.reason, "");
	ck_assert_uint_eq(all.n, 6);        /* staff is a posixGroup */
	ck_assert_uint_ge(all.searches, 3); /* pages of 2 */
	resolve(c, &all, &gm);
	/* comp: the people and the missing one (the plan judges who is a
	 * person); the member group and the service account ignored */
	ck_assert(gm[0].complete);
	ck_assert_str_eq(gm[0].dn, "cn=comp," G);
	ck_assert_uint_eq(gm[0].n, 3);
	has(&gm[0], "uid=alice," P);
	has(&gm[0], "uid=bob," P);
	has(&gm[0], "uid=ghost," P);
	ck_assert_uint_eq(gm[0].ignored, 2);
	/* by DN, in another case: the same group; members normalised */
	ck_assert(gm[1].complete);
	ck_assert_uint_eq(gm[1].n, 2);
	has(&gm[1], "uid=dave," P);
	has(&gm[1], "uid=erin," P);
	ck_assert_uint_eq(gm[2].n, BIG_N);
	(void)snprintf(big, sizeof(big), "uid=p%04d," P, BIG_N - 1);
	has(&gm[2], big);
	/* a name two groups have, a name none has, a DN not there */
	ck_assert(gm[3].ambiguous && !gm[3].complete && gm[3].dn == NULL);
	ck_assert(!gm[4].ambiguous && !gm[4].complete && gm[4].dn == NULL);
	ck_assert(!gm[5].complete && gm[5].dn == NULL);
	ldap_groups_members_free(gm, map.n);
	ldap_groups_clear(&all);
	ldap_src_free(src);
	groups_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

START_TEST(test_nested_loop)
{
	struct h_slapd *s = groups_slapd(0);
	struct config *c = groups_cfg(h_slapd_uri(s), true);
	struct ldap_src *src = h_ls_src_new(c);
	struct ldap_groups all = {0}, mine = {0};
	struct group_members *gm = NULL;

	ck_assert_int_eq(ldap_src_groups_read(src, &all), FT_OK);
	resolve(c, &all, &gm);
	/* comp -> comp-juniors -> comp: carol too, the loop ends */
	ck_assert(gm[0].complete);
	ck_assert_uint_eq(gm[0].n, 4);
	has(&gm[0], "uid=carol," P);
	ck_assert_uint_eq(gm[0].loops, 1);
	ck_assert_uint_eq(gm[0].ignored, 1); /* the service account */
	ldap_groups_members_free(gm, map.n);
	/* one person's groups at login: carol is in comp-juniors, which is
	 * in comp, which is in comp-juniors */
	ck_assert_msg(ldap_src_groups_of(src, "uid=carol," P, "carol", &mine) ==
			      FT_OK,
		      "%s", mine.reason);
	ck_assert_uint_eq(mine.n, 2);
	ck_assert(ldap_groups_line_in(&map.v[0], &mine));
	ck_assert(!ldap_groups_line_in(&map.v[1], &mine));
	ldap_groups_clear(&mine);
	c->groups.nested = false;
	ck_assert_int_eq(ldap_src_groups_of(src,
					    "UID=Erin,OU=People,"
					    "DC=example,DC=com",
					    "erin", &mine),
			 FT_OK);
	ck_assert_uint_eq(mine.n, 1);
	ck_assert(ldap_groups_line_in(&map.v[1], &mine));
	ck_assert(!ldap_groups_line_in(&map.v[0], &mine));
	ldap_groups_clear(&mine);
	ldap_groups_clear(&all);
	ldap_src_free(src);
	groups_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

/* posixGroup: memberUid values are logins. */
START_TEST(test_member_uid)
{
	static const char *const uid_text[] = {"Staff", "staff"};
	struct groupmap uid_map = map_of(uid_text, 1);
	struct config *c = groups_cfg(h_ls_shared_uri(), false);
	struct ldap_src *src;
	struct ldap_groups all = {0}, mine = {0};
	struct group_members *gm = NULL;

	h_ls_set(&c->groups.search_filter, "(objectClass=posixGroup)");
	c->groups.member_attribute = MEMBER_ATTR_MEMBER_UID;
	src = h_ls_src_new(c);
	ck_assert_int_eq(ldap_src_groups_read(src, &all), FT_OK);
	ck_assert_int_eq(ldap_groups_resolve(c, &all, &uid_map, &gm), FT_OK);
	ck_assert(gm[0].complete);
	ck_assert_uint_eq(gm[0].n, 6);
	has(&gm[0], "alice");
	has(&gm[0], "frank");
	ck_assert(!ldap_groups_has_member(&gm[0], "zoe"));
	ldap_groups_members_free(gm, 1);
	ck_assert_int_eq(
		ldap_src_groups_of(src, "uid=alice," P, "alice", &mine), FT_OK);
	ck_assert_uint_eq(mine.n, 1);
	ck_assert(ldap_groups_line_in(&uid_map.v[0], &mine));
	ldap_groups_clear(&mine);
	ck_assert_int_eq(ldap_src_groups_of(src, "uid=zoe," P, "zoe", &mine),
			 FT_OK);
	ck_assert_uint_eq(mine.n, 0);
	ldap_groups_clear(&mine);
	ldap_groups_clear(&all);
	map_free(&uid_map);
	ldap_src_free(src);
	groups_cfg_free(c);
}

END_TEST

/* A size limit is a partial answer: never complete. */
START_TEST(test_size_limit_partial)
{
	struct h_slapd *s = groups_slapd(3);
	struct config *c = groups_cfg(h_slapd_uri(s), false);
	struct ldap_src *src;
	struct ldap_groups all = {0};

	c->ldap.page_size = 0; /* one search, cut by the limit */
	src = h_ls_src_new(c);
	ck_assert_int_eq(ldap_src_groups_read(src, &all), FT_E_PARTIAL);
	ck_assert(!all.complete);
	ck_assert_ptr_nonnull(strstr(all.reason, "limit"));
	ldap_groups_clear(&all);
	ldap_src_free(src);
	groups_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

/* slapd gone: an error, and nothing looks complete. */
START_TEST(test_down_not_complete)
{
	struct h_slapd *s = groups_slapd(0);
	struct config *c = groups_cfg(h_slapd_uri(s), true);
	struct ldap_src *src = h_ls_src_new(c);
	struct ldap_groups all = {0};

	h_slapd_down(s);
	ck_assert_int_eq(ldap_src_groups_read(src, &all), FT_E_LDAP_DOWN);
	ck_assert(!all.complete);
	ck_assert_str_ne(all.reason, "");
	ldap_groups_clear(&all);
	ck_assert_int_eq(ldap_src_groups_of(src, "uid=alice," P, "alice", &all),
			 FT_E_LDAP_DOWN);
	ck_assert(!all.complete);
	ldap_groups_clear(&all);
	ldap_src_free(src);
	groups_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

Suite *
ldap_groups_suite(void)
{
	Suite *s = suite_create("ldap_groups");
	TCase *pure = tcase_create("pure");
	TCase *tc = tcase_create("slapd");

	tcase_add_test(pure, test_dn_norm);
	tcase_add_test(pure, test_range);
	suite_add_tcase(s, pure);
	tcase_add_unchecked_fixture(tc, h_ls_shared_setup,
				    h_ls_shared_teardown);
	tcase_add_checked_fixture(tc, map_setup, map_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_read_and_resolve);
	tcase_add_test(tc, test_nested_loop);
	tcase_add_test(tc, test_member_uid);
	tcase_add_test(tc, test_size_limit_partial);
	tcase_add_test(tc, test_down_not_complete);
	suite_add_tcase(s, tc);
	return s;
}
