/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_plan_groups.c: plan_groups.c, table by table: additions, the
 * ownership rule (only what is recorded is taken back; hand-made
 * memberships and grants survive), frozen pairs, memberships taken away
 * by hand, and every guard.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "ftrack_api.h"
#include "plan_groups.h"

Suite *plan_groups_suite(void);

#define U1  "11111111-1111-4111-8111-111111111111"
#define G1  "g-comp"
#define G2  "g-light"
#define R1  "r-sup"
#define DN1 "uid=alice,ou=people,dc=example,dc=com"
#define DN2 "uid=bob,ou=people,dc=example,dc=com"

/* One world: two groups and a role, each with one line. */
struct world {
	struct config_groups cfg;
	char *m1[2], *m2[2], *m3[2]; /* members of the lines (sorted) */
	struct group_members lines[3];
	const struct group_members *lp[3];
	struct pg_target groups[2], roles[1];
	struct pg_user user;
	struct pg_membership mem[4];
	struct pg_role have[2];
	struct pg_input in;
	struct pg_plan plan;
	char mid1[37], mid2[37]; /* the sync's ids for U1 in G1, G2 */
};

static struct world w;

/* members of line i: the DNs given (NULL: none), sorted by the caller */
static void
line(size_t i, char **store, const char *a, const char *b)
{
	size_t n = 0;

	memcpy(&store[0], &a, sizeof(a));
	memcpy(&store[1], &b, sizeof(b));
	n = a == NULL ? 0 : b == NULL ? 1 : 2;
	w.lines[i].members = store;
	w.lines[i].n = n;
	w.lines[i].complete = true;
	w.lp[i] = &w.lines[i];
}

static void
setup(void)
{
	memset(&w, 0, sizeof(w));
	w.cfg.member_attribute = MEMBER_ATTR_MEMBER;
	w.cfg.remove = true;
	w.cfg.max_removals.value = 100;
	w.cfg.max_removals.percent = true;
	line(0, w.m1, DN1, NULL); /* alice in comp */
	line(1, w.m2, DN2, NULL); /* bob in lighting */
	line(2, w.m3, DN1, NULL); /* alice in supervisors */
	w.groups[0] = (struct pg_target){G1, "Compositing", &w.lp[0], 1};
	w.groups[1] = (struct pg_target){G2, "Lighting", &w.lp[1], 1};
	w.roles[0] = (struct pg_target){R1, "Supervisor", &w.lp[2], 1};
	w.user = (struct pg_user){U1, "alice", DN1, NULL, NULL, false};
	w.in.cfg = &w.cfg;
	w.in.users = &w.user;
	w.in.nusers = 1;
	w.in.groups = w.groups;
	w.in.ngroups = 2;
	w.in.roles = w.roles;
	w.in.nroles = 1;
	w.in.memberships = w.mem;
	w.in.have_roles = w.have;
	w.in.groups_complete = true;
	ck_assert_int_eq(ftrack_membership_id(U1, G1, w.mid1), FT_OK);
	ck_assert_int_eq(ftrack_membership_id(U1, G2, w.mid2), FT_OK);
}

static void
teardown(void)
{
	plan_groups_free(&w.plan);
}

static void
build(void)
{
	plan_groups_free(&w.plan);
	ck_assert_int_eq(plan_groups_build(&w.in, &w.plan), FT_OK);
}

/* Action i is kind on target with those flags. */
static const struct pg_action *
action(size_t i, enum pg_kind kind, const char *target)
{
	const struct pg_action *a;

	ck_assert_uint_gt(w.plan.n, i);
	a = &w.plan.actions[i];
	ck_assert_str_eq(plan_groups_kind_name(a->kind),
			 plan_groups_kind_name(kind));
	ck_assert_str_eq(a->target_id, target);
	ck_assert_str_eq(a->user_id, U1);
	ck_assert_ptr_nonnull(a->reason);
	return a;
}

/* The marker key's new value is want (NULL: deleted); none: absent. */
static void
marker_is(const char *key, const char *want, bool present)
{
	size_t i;

	for (i = 0; i < w.plan.nmarkers; i++)
		if (strcmp(w.plan.markers[i].key, key) == 0)
			break;
	ck_assert_msg((i < w.plan.nmarkers) == present, "%s %s", key,
		      present ? "not written" : "written");
	if (!present)
		return;
	if (want == NULL)
		ck_assert_ptr_null(w.plan.markers[i].value);
	else
		ck_assert_str_eq(w.plan.markers[i].value, want);
}

START_TEST(test_first_run_adds_and_records)
{
	char roles[64];

	build();
	ck_assert_uint_eq(w.plan.n, 2);
	ck_assert_str_eq(action(0, PG_GROUP_ADD, G1)->membership_id, w.mid1);
	ck_assert(action(1, PG_ROLE_GRANT, R1)->role_add);
	ck_assert(w.plan.actions[1].grant);
	marker_is(FTRACK_MARKER_GROUPS, w.mid1, true);
	(void)snprintf(roles, sizeof(roles), "%s:ag", R1);
	marker_is(FTRACK_MARKER_ROLES, roles, true);
	ck_assert_ptr_null(w.plan.held_by);
	/* a second run, recorded and present: nothing to do */
	w.user.groups_marker = w.mid1;
	w.user.roles_marker = roles;
	w.mem[0] = (struct pg_membership){w.mid1, U1, G1};
	w.in.nmemberships = 1;
	w.have[0] = (struct pg_role){U1, R1, true, false};
	w.in.nhave_roles = 1;
	build();
	ck_assert_uint_eq(w.plan.n, 0);
	ck_assert_uint_eq(w.plan.nmarkers, 0);
	ck_assert_uint_eq(w.plan.recorded, 2);
}

END_TEST

/* What existed when the sync wanted it is the administrator's. */
START_TEST(test_hand_made_not_recorded_and_survives)
{
	/* a hand-made membership where alice belongs, one where she does
	 * not; ftrack's default role where the mapping gives it too */
	w.mem[0] = (struct pg_membership){"hand-1", U1, G1};
	w.mem[1] = (struct pg_membership){"hand-2", U1, G2};
	w.in.nmemberships = 2;
	w.have[0] = (struct pg_role){U1, R1, true, false};
	w.in.nhave_roles = 1;
	build();
	ck_assert_uint_eq(w.plan.n, 0);
	ck_assert_uint_eq(w.plan.nmarkers, 0);
	/* the role without all open projects: only the grant is ours */
	w.have[0].all_open = false;
	build();
	ck_assert_uint_eq(w.plan.n, 1);
	ck_assert(!action(0, PG_ROLE_GRANT, R1)->role_add);
	marker_is(FTRACK_MARKER_ROLES, R1 ":g", true);
	/* she leaves comp: the hand-made membership stays */
	w.m1[0] = NULL;
	w.lines[0].n = 0;
	w.have[0].all_open = true;
	build();
	ck_assert_uint_eq(w.plan.n, 0);
}

END_TEST

/* A person moving group: out of the one the sync added, into another. */
START_TEST(test_move_removes_only_recorded)
{
	char both[80];

	w.user.groups_marker = w.mid1;
	w.mem[0] = (struct pg_membership){w.mid1, U1, G1};
	w.in.nmemberships = 1;
	line(0, w.m1, NULL, NULL); /* alice left comp */
	line(1, w.m2, DN1, DN2);   /* and is in lighting */
	build();
	ck_assert_uint_eq(w.plan.n, 3);
	ck_assert_str_eq(action(0, PG_GROUP_REMOVE, G1)->membership_id, w.mid1);
	ck_assert_str_eq(action(1, PG_GROUP_ADD, G2)->membership_id, w.mid2);
	marker_is(FTRACK_MARKER_GROUPS, w.mid2, true);
	/* remove = no: the addition only, the record kept */
	w.cfg.remove = false;
	build();
	ck_assert_str_eq(w.plan.held_by, "remove");
	ck_assert_uint_eq(w.plan.held, 1);
	ck_assert_str_eq(action(0, PG_GROUP_ADD, G2)->membership_id, w.mid2);
	(void)snprintf(both, sizeof(both), "%s,%s", w.mid1, w.mid2);
	marker_is(FTRACK_MARKER_GROUPS, both, true);
	/* an incomplete group read: no removal at all, additions go on */
	w.cfg.remove = true;
	w.in.groups_complete = false;
	build();
	ck_assert_str_eq(w.plan.held_by, "groups_complete");
	ck_assert_str_eq(action(0, PG_GROUP_ADD, G2)->membership_id, w.mid2);
	marker_is(FTRACK_MARKER_GROUPS, both, true);
	/* one line incomplete: that group's removals held */
	w.in.groups_complete = true;
	w.lines[0].complete = false;
	build();
	ck_assert_ptr_null(w.plan.held_by);
	ck_assert_uint_eq(w.plan.held, 1);
	ck_assert_str_eq(action(0, PG_GROUP_ADD, G2)->membership_id, w.mid2);
}

END_TEST

START_TEST(test_max_removals)
{
	char rec[80];

	(void)snprintf(rec, sizeof(rec), "%s,%s", w.mid1, w.mid2);
	w.user.groups_marker = rec;
	w.mem[0] = (struct pg_membership){w.mid1, U1, G1};
	w.mem[1] = (struct pg_membership){w.mid2, U1, G2};
	w.in.nmemberships = 2;
	line(0, w.m1, NULL, NULL);
	line(1, w.m2, NULL, NULL);
	line(2, w.m3, NULL, NULL);
	w.cfg.max_removals.value = 1;
	w.cfg.max_removals.percent = false;
	build();
	ck_assert_str_eq(w.plan.held_by, "max_removals");
	ck_assert_uint_eq(w.plan.removals, 2);
	ck_assert_uint_eq(w.plan.held, 2);
	ck_assert_uint_eq(w.plan.n, 0);
	ck_assert_uint_eq(w.plan.nmarkers, 0);
	w.in.force_max_removals = true;
	build();
	ck_assert_ptr_null(w.plan.held_by);
	ck_assert_uint_eq(w.plan.n, 2);
	marker_is(FTRACK_MARKER_GROUPS, NULL, true);
	/* 50% of 2 recorded pairs lets one go: two is too many */
	w.in.force_max_removals = false;
	w.cfg.max_removals.value = 50;
	w.cfg.max_removals.percent = true;
	build();
	ck_assert_str_eq(w.plan.held_by, "max_removals");
}

END_TEST

/* Recorded pairs of unmapped groups are frozen; gone ones not re-made. */
START_TEST(test_frozen_and_gone)
{
	char rec[120];

	(void)snprintf(rec, sizeof(rec), "%s,%s",
		       "99999999-9999-5999-8999-999999999999", w.mid1);
	w.user.groups_marker = rec;
	w.user.roles_marker = "r-unmapped:ag";
	build();
	ck_assert_uint_eq(w.plan.frozen, 2);
	ck_assert_uint_eq(w.plan.gone, 1); /* mid1 recorded, not there */
	/* no group action: comp was taken away by hand */
	ck_assert_uint_eq(w.plan.n, 1);
	action(0, PG_ROLE_GRANT, R1);
	marker_is(FTRACK_MARKER_GROUPS, NULL, false);
	marker_is(FTRACK_MARKER_ROLES, "r-unmapped:ag," R1 ":ag", true);
}

END_TEST

START_TEST(test_role_revoke_rules)
{
	w.user.roles_marker = R1 ":ag";
	w.have[0] = (struct pg_role){U1, R1, true, false};
	w.in.nhave_roles = 1;
	line(2, w.m3, NULL, NULL); /* no longer a supervisor */
	build();
	ck_assert(action(1, PG_ROLE_REVOKE, R1)->grant);
	ck_assert(w.plan.actions[1].role_remove);
	marker_is(FTRACK_MARKER_ROLES, NULL, true);
	/* a per-project grant by hand keeps the role: only ours revoked */
	w.have[0].has_projects = true;
	build();
	ck_assert(action(1, PG_ROLE_REVOKE, R1)->grant);
	ck_assert(!w.plan.actions[1].role_remove);
	marker_is(FTRACK_MARKER_ROLES, R1 ":a", true);
	/* a role we did not add: the grant only */
	w.have[0].has_projects = false;
	w.user.roles_marker = R1 ":g";
	build();
	ck_assert(!action(1, PG_ROLE_REVOKE, R1)->role_remove);
	marker_is(FTRACK_MARKER_ROLES, NULL, true);
}

END_TEST

/* What an old account holds by hand, for relinking a reused login. */
START_TEST(test_hand_made_for_relink)
{
	static const struct {
		const char *groups_marker, *roles_marker;
		bool mem_sync, mem_hand, role, all_open, projects;
		const char *why;
	} t[] = {
		{NULL, NULL, false, false, false, false, false, ""},
		{"M1", R1 ":ag", true, false, true, true, false, ""},
		{NULL, NULL, false, true, false, false, false,
		 "group 'Compositing'"},
		{"M1", NULL, true, true, false, false, false,
		 "group 'Compositing'"},
		{NULL, NULL, false, false, true, true, false,
		 "role 'Supervisor'"},
		{NULL, R1 ":g", false, false, true, true, false,
		 "role 'Supervisor'"},
		{NULL, R1 ":a", false, false, true, true, false,
		 "role 'Supervisor'"},
		{NULL, R1 ":ag", false, false, true, true, true,
		 "role 'Supervisor'"},
		{NULL, R1 ":a", false, false, true, false, false, ""},
		{NULL, NULL, false, true, true, false, false,
		 "group 'Compositing', role 'Supervisor'"},
	};

	char why[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = 0;

		w.user.groups_marker = t[i].groups_marker ? w.mid1 : NULL;
		w.user.roles_marker = t[i].roles_marker;
		if (t[i].mem_sync)
			w.mem[n++] = (struct pg_membership){w.mid1, U1, G1};
		if (t[i].mem_hand)
			w.mem[n++] = (struct pg_membership){"hand-1", U1, G1};
		/* not a mapped group, another user: not counted */
		w.mem[n++] = (struct pg_membership){"other-1", U1, "g-other"};
		w.mem[n++] = (struct pg_membership){"hand-2", "u-other", G1};
		w.in.nmemberships = n;
		w.have[0] =
			(struct pg_role){U1, R1, t[i].all_open, t[i].projects};
		w.have[1] = (struct pg_role){U1, "r-unmapped", true, false};
		w.in.have_roles = t[i].role ? w.have : &w.have[1];
		w.in.nhave_roles = t[i].role ? 2 : 1;
		ck_assert_msg(plan_groups_hand_made(&w.in, &w.user, why,
						    sizeof(why)) ==
				      (t[i].why[0] != '\0'),
			      "row %zu: %s", i, why);
		ck_assert_str_eq(why, t[i].why);
	}
	/* cut to fit */
	w.in.have_roles = w.have;
	w.in.nhave_roles = 2;
	ck_assert(plan_groups_hand_made(&w.in, &w.user, why, 12));
	ck_assert_uint_lt(strlen(why), 12);
}

END_TEST

START_TEST(test_untouchable_and_member_uid)
{
	w.user.untouchable = true;
	build();
	ck_assert_uint_eq(w.plan.n, 0);
	ck_assert_uint_eq(w.plan.nmarkers, 0);
	/* memberUid: the login is the member */
	w.user.untouchable = false;
	w.cfg.member_attribute = MEMBER_ATTR_MEMBER_UID;
	line(0, w.m1, "alice", NULL);
	line(2, w.m3, "bob", NULL);
	build();
	ck_assert_uint_eq(w.plan.n, 1);
	action(0, PG_GROUP_ADD, G1);
	/* not in LDAP: nothing wanted */
	w.user.login = NULL;
	w.user.dn = NULL;
	build();
	ck_assert_uint_eq(w.plan.n, 0);
}

END_TEST

Suite *
plan_groups_suite(void)
{
	Suite *s = suite_create("plan_groups");
	TCase *tc = tcase_create("plan");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_first_run_adds_and_records);
	tcase_add_test(tc, test_hand_made_not_recorded_and_survives);
	tcase_add_test(tc, test_move_removes_only_recorded);
	tcase_add_test(tc, test_max_removals);
	tcase_add_test(tc, test_frozen_and_gone);
	tcase_add_test(tc, test_role_revoke_rules);
	tcase_add_test(tc, test_untouchable_and_member_uid);
	tcase_add_test(tc, test_hand_made_for_relink);
	suite_add_tcase(s, tc);
	return s;
}
