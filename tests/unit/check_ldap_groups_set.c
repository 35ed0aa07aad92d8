/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_ldap_groups_set.c: ldap_groups_set.c (pure), on reads built as
 * ldap_src_groups_read() gives them (DNs in normal form): which group a
 * line names (DN, name without case, ambiguous, not there), who its
 * members are (people under [ldap] search_base only, member groups with
 * nested, each group once, memberUid logins), completeness carried from
 * every group counted, sorted members each once, and the lookups
 * ldap_groups_has_member and ldap_groups_line_in.  The reads from a real
 * slapd are in check_ldap_groups.c.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "ldap_groups.h"

Suite *ldap_groups_set_suite(void);

#define G "ou=groups,dc=example,dc=com"
#define P "ou=people,dc=example,dc=com"

#define MAX_MEMBERS 8

/* One group given by hand: DN, name, members (NULL-ended), complete. */
struct given {
	const char *dn, *name;
	const char *members[MAX_MEMBERS];
	bool complete;
};

static struct config cfg;
static struct ldap_groups all;
static struct groupmap map;
static struct group_members *gm;

static char *
dup_of(const char *s)
{
	char *d = s != NULL ? strdup(s) : NULL;

	ck_assert(s == NULL || d != NULL);
	return d;
}

/* all: the n groups of g, owned as ldap_groups_clear frees them. */
static void
read_of(const struct given *g, size_t n)
{
	size_t i, k;

	ldap_groups_clear(&all);
	all.v = calloc(n + 1, sizeof(*all.v));
	ck_assert_ptr_nonnull(all.v);
	all.n = all.cap = n;
	all.complete = true;
	for (i = 0; i < n; i++) {
		struct ldap_group *x = &all.v[i];

		x->dn = dup_of(g[i].dn);
		x->name = dup_of(g[i].name);
		x->members = calloc(MAX_MEMBERS, sizeof(*x->members));
		ck_assert_ptr_nonnull(x->members);
		x->cap = MAX_MEMBERS;
		for (k = 0; k < MAX_MEMBERS && g[i].members[k] != NULL; k++)
			x->members[x->n++] = dup_of(g[i].members[k]);
		x->complete = g[i].complete;
	}
}

/* map: lines naming each of the n texts (ftrack key "L<i>"). */
static void
map_of(const char *const *ldap, size_t n)
{
	size_t i;

	map.v = calloc(n + 1, sizeof(*map.v));
	ck_assert_ptr_nonnull(map.v);
	map.n = n;
	for (i = 0; i < n; i++) {
		map.v[i].ftrack = dup_of("L");
		map.v[i].ldap = dup_of(ldap[i]);
		map.v[i].line = (int)i + 1;
	}
}

static void
map_clear(void)
{
	size_t i;

	for (i = 0; i < map.n; i++) {
		free(map.v[i].ftrack);
		free(map.v[i].ldap);
	}
	free(map.v);
	map.v = NULL;
	map.n = 0;
}

static void
resolve_ok(void)
{
	ldap_groups_members_free(gm, map.n);
	gm = NULL;
	ck_assert_int_eq(ldap_groups_resolve(&cfg, &all, &map, &gm), FT_OK);
	ck_assert_ptr_nonnull(gm);
}

/* gm[i]'s members are exactly want (NULL-ended, in strcmp order). */
static void
members_are(size_t i, const char *const *want)
{
	size_t k;

	for (k = 0; want[k] != NULL; k++) {
		ck_assert_uint_gt(gm[i].n, k);
		ck_assert_str_eq(gm[i].members[k], want[k]);
		ck_assert(ldap_groups_has_member(&gm[i], want[k]));
	}
	ck_assert_uint_eq(gm[i].n, k);
}

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&all, 0, sizeof(all));
	cfg.ldap.search_base = dup_of("OU=People, DC=Example,DC=com");
	cfg.groups.member_attribute = MEMBER_ATTR_MEMBER;
	gm = NULL;
}

static void
teardown(void)
{
	ldap_groups_members_free(gm, map.n);
	gm = NULL;
	map_clear();
	ldap_groups_clear(&all);
	free(cfg.ldap.search_base);
	cfg.ldap.search_base = NULL;
}

/* comp holds people, one outside the people, a member group, a service
 * account; juniors holds comp back (a loop); two groups named dup. */
static const struct given world[] = {
	{"cn=comp," G,
	 "comp",
	 {"uid=bob," P, "uid=alice," P, "cn=juniors," G, "uid=bob," P,
	  "cn=ftrack-sync,ou=services,dc=example,dc=com", NULL},
	 true},
	{"cn=juniors," G,
	 "Juniors",
	 {"uid=carol," P, "cn=comp," G, "uid=alice," P, NULL},
	 true},
	{"cn=dup," G, "dup", {"uid=alice," P, NULL}, true},
	{"cn=dup,ou=sub," G, "DUP", {"uid=bob," P, NULL}, true},
	{"cn=noname," G, NULL, {"uid=dave," P, NULL}, true},
};

#define WORLD_N (sizeof(world) / sizeof(world[0]))

/* ---- which group a line names ------------------------------------------- */

START_TEST(test_line_finds_its_group)
{
	static const char *const lines[] = {
		"COMP",          "CN=Comp, OU=Groups,DC=Example,DC=com",
		"dup",           "nothere",
		"cn=nothere," G, "cn=x,,=y",
		"cn=noname," G,  "noname",
	};

	read_of(world, WORLD_N);
	map_of(lines, sizeof(lines) / sizeof(lines[0]));
	resolve_ok();
	/* by name, case ignored; by DN in another form: the same group */
	ck_assert_ptr_eq(gm[0].line, &map.v[0]);
	ck_assert_str_eq(gm[0].dn, "cn=comp," G);
	ck_assert(gm[0].complete && !gm[0].ambiguous);
	ck_assert_str_eq(gm[1].dn, "cn=comp," G);
	ck_assert(gm[1].complete);
	ck_assert_uint_eq(gm[1].n, gm[0].n);
	/* a name two groups have: neither, never complete, no members */
	ck_assert(gm[2].ambiguous);
	ck_assert_ptr_null(gm[2].dn);
	ck_assert(!gm[2].complete);
	ck_assert_uint_eq(gm[2].n, 0);
	ck_assert(!ldap_groups_has_member(&gm[2], "uid=alice," P));
	/* not there by name, by DN, or not a DN at all: not complete */
	for (size_t i = 3; i <= 5; i++) {
		ck_assert_ptr_eq(gm[i].line, &map.v[i]);
		ck_assert(!gm[i].ambiguous && !gm[i].complete);
		ck_assert_ptr_null(gm[i].dn);
		ck_assert_uint_eq(gm[i].n, 0);
	}
	/* a group without a name is found by its DN only */
	ck_assert_str_eq(gm[6].dn, "cn=noname," G);
	ck_assert(gm[6].complete);
	ck_assert_ptr_null(gm[7].dn);
	ck_assert(!gm[7].complete);
}

END_TEST

/* ---- who its members are ------------------------------------------------ */

START_TEST(test_members_flat)
{
	static const char *const lines[] = {"comp"};
	static const char *const want[] = {"uid=alice," P, "uid=bob," P, NULL};

	read_of(world, WORLD_N);
	map_of(lines, 1);
	resolve_ok();
	/* sorted, bob once; the member group (nested off) and the account
	 * outside the people ignored */
	members_are(0, want);
	ck_assert_uint_eq(gm[0].ignored, 2);
	ck_assert_uint_eq(gm[0].loops, 0);
	ck_assert(gm[0].complete);
}

END_TEST

START_TEST(test_members_nested_loop)
{
	static const char *const lines[] = {"comp", "juniors"};
	static const char *const want[] = {"uid=alice," P, "uid=bob," P,
					   "uid=carol," P, NULL};

	cfg.groups.nested = true;
	read_of(world, WORLD_N);
	map_of(lines, 2);
	resolve_ok();
	/* comp -> juniors -> comp: carol too; the loop ends, counted */
	members_are(0, want);
	ck_assert_uint_eq(gm[0].loops, 1);
	ck_assert_uint_eq(gm[0].ignored, 1);
	/* each line is walked afresh: juniors reaches comp's people */
	members_are(1, want);
	ck_assert_uint_eq(gm[1].loops, 1);
	ck_assert(gm[0].complete && gm[1].complete);
}

END_TEST

/* a -> b, a -> c, b -> d, c -> d: d counted once, met again once. */
START_TEST(test_members_nested_diamond)
{
	static const struct given g[] = {
		{"cn=a," G, "a", {"cn=b," G, "cn=c," G, NULL}, true},
		{"cn=b," G, "b", {"cn=d," G, "uid=bob," P, NULL}, true},
		{"cn=c," G, "c", {"cn=d," G, NULL}, true},
		{"cn=d," G, "d", {"uid=dave," P, "uid=bob," P, NULL}, true},
	};
	static const char *const lines[] = {"a", "d"};
	static const char *const want_a[] = {"uid=bob," P, "uid=dave," P, NULL};

	cfg.groups.nested = true;
	read_of(g, 4);
	map_of(lines, 2);
	resolve_ok();
	members_are(0, want_a);
	ck_assert_uint_eq(gm[0].loops, 1);
	ck_assert_uint_eq(gm[0].ignored, 0);
	members_are(1, want_a);
	ck_assert_uint_eq(gm[1].loops, 0);
}

END_TEST

/* A group not read in full makes every line that counts it incomplete:
 * its own, and (nested only) a line that follows it. */
START_TEST(test_incomplete_carried)
{
	static const struct given g[] = {
		{"cn=top," G, "top", {"uid=alice," P, "cn=cut," G, NULL}, true},
		{"cn=cut," G, "cut", {"uid=bob," P, NULL}, false},
		{"cn=other," G, "other", {"uid=carol," P, NULL}, true},
	};
	static const char *const lines[] = {"top", "cut", "other"};

	read_of(g, 3);
	map_of(lines, 3);
	resolve_ok();
	ck_assert(gm[0].complete); /* cut not followed: not counted */
	ck_assert_uint_eq(gm[0].n, 1);
	ck_assert(!gm[1].complete);
	ck_assert_str_eq(gm[1].dn, "cn=cut," G);
	ck_assert(gm[2].complete);
	cfg.groups.nested = true;
	resolve_ok();
	ck_assert(!gm[0].complete);
	ck_assert_uint_eq(gm[0].n, 2);
	ck_assert(!gm[1].complete);
	ck_assert(gm[2].complete);
}

END_TEST

/* People are those under [ldap] search_base: none when it is unset or
 * not a DN (the safe side), never a look-alike suffix. */
START_TEST(test_people_base)
{
	static const struct given g[] = {
		{"cn=g," G,
		 "g",
		 {"uid=alice,ou=people,dc=example,dc=com",
		  "uid=x,ou=xpeople,dc=example,dc=com",
		  "uid=y\\,ou=people,dc=example,dc=com", P, NULL},
		 true},
	};
	static const char *const lines[] = {"g"};
	static const char *const want[] = {P, "uid=alice," P, NULL};

	read_of(g, 1);
	map_of(lines, 1);
	resolve_ok();
	members_are(0, want);
	ck_assert_uint_eq(gm[0].ignored, 2);
	free(cfg.ldap.search_base);
	cfg.ldap.search_base = NULL;
	resolve_ok();
	ck_assert_uint_eq(gm[0].n, 0);
	ck_assert_uint_eq(gm[0].ignored, 4);
	ck_assert(gm[0].complete); /* the group itself was read in full */
	cfg.ldap.search_base = dup_of("ou=people,,=dc");
	resolve_ok();
	ck_assert_uint_eq(gm[0].n, 0);
	ck_assert_uint_eq(gm[0].ignored, 4);
}

END_TEST

/* memberUid: the values are logins, taken as they are, never followed
 * or judged by the people base. */
START_TEST(test_member_uid)
{
	static const struct given g[] = {
		{"cn=staff," G,
		 "staff",
		 {"zoe", "alice", "cn=comp,ou=groups,dc=example,dc=com",
		  "alice", NULL},
		 true},
		{"cn=comp," G, "comp", {"bob", NULL}, true},
	};
	static const char *const lines[] = {"staff"};
	static const char *const want[] = {"alice", "cn=comp," G, "zoe", NULL};

	cfg.groups.member_attribute = MEMBER_ATTR_MEMBER_UID;
	cfg.groups.nested = true;
	free(cfg.ldap.search_base);
	cfg.ldap.search_base = NULL;
	read_of(g, 2);
	map_of(lines, 1);
	resolve_ok();
	members_are(0, want);
	ck_assert(!ldap_groups_has_member(&gm[0], "bob"));
	ck_assert_uint_eq(gm[0].ignored, 0);
	ck_assert_uint_eq(gm[0].loops, 0);
}

END_TEST

/* No group read, no line: answers with nothing in them. */
START_TEST(test_empty)
{
	static const char *const lines[] = {"comp"};

	resolve_ok(); /* no groups, no lines */
	ldap_groups_members_free(gm, 0);
	gm = NULL;
	ldap_groups_members_free(NULL, 3); /* a no-op */
	map_of(lines, 1);
	resolve_ok(); /* a line, no groups: not found */
	ck_assert(!gm[0].complete);
	ck_assert_ptr_null(gm[0].dn);
	ck_assert_uint_eq(gm[0].n, 0);
	ck_assert(!ldap_groups_line_in(&map.v[0], &all));
}

END_TEST

/* ---- the lookups -------------------------------------------------------- */

START_TEST(test_has_member)
{
	static const char *const lines[] = {"g", "empty"};
	static const struct given g[] = {
		{"cn=g," G,
		 "g",
		 {"uid=c," P, "uid=a," P, "uid=e," P, NULL},
		 true},
		{"cn=empty," G, "empty", {NULL}, true},
	};

	read_of(g, 2);
	map_of(lines, 2);
	resolve_ok();
	ck_assert(ldap_groups_has_member(&gm[0], "uid=a," P));
	ck_assert(ldap_groups_has_member(&gm[0], "uid=c," P));
	ck_assert(ldap_groups_has_member(&gm[0], "uid=e," P));
	ck_assert(!ldap_groups_has_member(&gm[0], "uid=b," P));
	ck_assert(!ldap_groups_has_member(&gm[0], "uid=f," P));
	ck_assert(!ldap_groups_has_member(&gm[0], "UID=a," P)); /* exact */
	ck_assert(!ldap_groups_has_member(&gm[0], ""));
	ck_assert(!ldap_groups_has_member(&gm[0], NULL));
	ck_assert(gm[1].complete);
	ck_assert_uint_eq(gm[1].n, 0);
	ck_assert(!ldap_groups_has_member(&gm[1], "uid=a," P));
}

END_TEST

/* A person's groups (ldap_src_groups_of's answer) against lines. */
START_TEST(test_line_in)
{
	static const char *const lines[] = {
		"COMP",     "cn=Juniors, " G, "cn=dup,ou=sub," G, "nothere",
		"cn=x,,=y", "noname",         "cn=noname," G,
	};

	read_of(world, WORLD_N);
	map_of(lines, sizeof(lines) / sizeof(lines[0]));
	ck_assert(ldap_groups_line_in(&map.v[0], &all));
	ck_assert(ldap_groups_line_in(&map.v[1], &all));
	ck_assert(ldap_groups_line_in(&map.v[2], &all));
	ck_assert(!ldap_groups_line_in(&map.v[3], &all));
	ck_assert(!ldap_groups_line_in(&map.v[4], &all));
	ck_assert(!ldap_groups_line_in(&map.v[5], &all));
	ck_assert(ldap_groups_line_in(&map.v[6], &all));
	/* one group only: the others are not there */
	read_of(world + 1, 1);
	ck_assert(!ldap_groups_line_in(&map.v[0], &all));
	ck_assert(ldap_groups_line_in(&map.v[1], &all));
}

END_TEST

Suite *
ldap_groups_set_suite(void)
{
	Suite *s = suite_create("ldap_groups_set");
	TCase *find = tcase_create("find");
	TCase *mem = tcase_create("members");
	TCase *look = tcase_create("lookups");

	tcase_add_checked_fixture(find, setup, teardown);
	tcase_add_test(find, test_line_finds_its_group);
	suite_add_tcase(s, find);
	tcase_add_checked_fixture(mem, setup, teardown);
	tcase_add_test(mem, test_members_flat);
	tcase_add_test(mem, test_members_nested_loop);
	tcase_add_test(mem, test_members_nested_diamond);
	tcase_add_test(mem, test_incomplete_carried);
	tcase_add_test(mem, test_people_base);
	tcase_add_test(mem, test_member_uid);
	tcase_add_test(mem, test_empty);
	suite_add_tcase(s, mem);
	tcase_add_checked_fixture(look, setup, teardown);
	tcase_add_test(look, test_has_member);
	tcase_add_test(look, test_line_in);
	suite_add_tcase(s, look);
	return s;
}
