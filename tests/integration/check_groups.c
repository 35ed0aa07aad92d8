/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_groups.c: suite 'groups': [group_map] and [role_map] end to end:
 * a real slapd with groupOfNames groups, the ftrack emulator with groups
 * and the shipped roles, and `ftrack-syncd reconcile` / `check` as
 * processes.  What is checked is what an administrator sees in ftrack:
 * memberships and role grants the sync adds and takes back, the ones made
 * by hand that survive, a person moving group, an unreadable group base
 * (nothing taken back), remove = no, and a mapping naming a group ftrack
 * does not have.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "harness.h"

Suite *groups_suite(void);

#define G     "ou=groups,dc=example,dc=com"
#define P     "ou=people,dc=example,dc=com"
#define COMP  "7a000000-0000-4000-8000-000000000001"
#define LIGHT "7a000000-0000-4000-8000-000000000002"

/* ---- fixture: one suite folder, removed whatever happens ---------------- */

/* ---- helpers that assert ------------------------------------------------- */

static const char ldap_groups[] =
	"dn: cn=comp," G "\nchangetype: add\nobjectClass: groupOfNames\n"
	"cn: comp\nmember: uid=alice," P "\nmember: uid=bob," P "\n\n"
	"dn: cn=lighting," G "\nchangetype: add\nobjectClass: groupOfNames\n"
	"cn: lighting\nmember: uid=carol," P "\n\n";

#define MAPPING                                                                \
	"policy.reconcile_create = yes\n"                                      \
	"groups.search_base = " G "\n"                                         \
	"group_map.Compositing = comp\n"                                       \
	"group_map.Lighting = cn=Lighting,OU=Groups,DC=example,DC=com\n"       \
	"role_map.Supervisor = comp\n"
#define ALL_REMOVALS "groups.max_removals = 100%\n"

static void
ftrack_group(struct h_world *w, const char *id, const char *name)
{
	char ops[512];
	json_t *res;

	(void)snprintf(ops, sizeof(ops),
		       "[{\"action\": \"create\", \"entity_type\": \"Group\", "
		       "\"entity_key\": [\"%s\"], \"entity_data\": "
		       "{\"__entity_type__\": \"Group\", \"id\": \"%s\", "
		       "\"name\": \"%s\", \"local\": false}}]",
		       id, id, name);
	res = h_emu_api(w->emu, ops);
	ck_assert_msg(json_is_array(res), "group %s not made", name);
	json_decref(res);
}

static struct h_world *
world(const char *extra)
{
	struct h_world *w;

	ck_assert_ptr_nonnull(h_suite_dir());
	w = h_world_start(H_LDIF_PEOPLE, 0, extra);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(h_slapd_modify(w->slapd, ldap_groups), FT_OK);
	ftrack_group(w, COMP, "Compositing");
	ftrack_group(w, LIGHT, "Lighting");
	return w;
}

static void
run(struct h_world *w, const char *args, int code, struct h_cmd_out *r)
{
	ck_assert_int_eq(h_cmd(w, args, r), FT_OK);
	if (h_san_text(r->err))
		ck_abort_msg("a sanitizer report in '%s': %s", args, r->err);
	if (r->code != code)
		(void)fprintf(stderr, "'%s':\nstdout:\n%s\nstderr:\n%s\n", args,
			      r->out, r->err);
	ck_assert_msg(r->code == code, "'%s' exited %d, expected %d", args,
		      r->code, code);
}

static void
expect(struct h_world *w, const char *args, int code)
{
	struct h_cmd_out r;

	run(w, args, code, &r);
	h_cmd_clear(&r);
}

/* The number of records the query expr answers. */
static size_t
count(struct h_world *w, const char *expr)
{
	char ops[1024];
	json_t *res;
	size_t n;

	(void)snprintf(ops, sizeof(ops),
		       "[{\"action\": \"query\", \"expression\": \"%s\"}]",
		       expr);
	res = h_emu_api(w->emu, ops);
	ck_assert_msg(json_is_array(res), "query '%s' failed", expr);
	n = json_array_size(json_object_get(json_array_get(res, 0), "data"));
	json_decref(res);
	return n;
}

/* Whether username is a member of group gid. */
static bool
member(struct h_world *w, const char *username, const char *gid)
{
	char *uid = h_emu_user_id(w->emu, username), expr[256];
	size_t n;

	ck_assert_msg(uid != NULL, "no user %s", username);
	(void)snprintf(expr, sizeof(expr),
		       "select id from Membership where user_id is \\\"%s\\\" "
		       "and group_id is \\\"%s\\\"",
		       uid, gid);
	n = count(w, expr);
	free(uid);
	ck_assert_uint_le(n, 1);
	return n == 1;
}

/* The number of roles username holds. */
static size_t
roles(struct h_world *w, const char *username)
{
	char *uid = h_emu_user_id(w->emu, username), expr[256];
	size_t n;

	ck_assert_msg(uid != NULL, "no user %s", username);
	(void)snprintf(expr, sizeof(expr),
		       "select id from UserSecurityRole where user_id is "
		       "\\\"%s\\\" and is_all_open_projects is true",
		       uid);
	n = count(w, expr);
	free(uid);
	return n;
}

/* A Membership made by hand (a random id) for username in gid. */
static void
hand_member(struct h_world *w, const char *username, const char *gid)
{
	char *uid = h_emu_user_id(w->emu, username), ops[768];
	json_t *res;

	ck_assert_ptr_nonnull(uid);
	(void)snprintf(ops, sizeof(ops),
		       "[{\"action\": \"create\", \"entity_type\": "
		       "\"Membership\", \"entity_data\": {\"__entity_type__\": "
		       "\"Membership\", \"user_id\": \"%s\", \"group_id\": "
		       "\"%s\"}}]",
		       uid, gid);
	res = h_emu_api(w->emu, ops);
	ck_assert(json_is_array(res));
	json_decref(res);
	free(uid);
}

/* ---- the tests ------------------------------------------------------------ */

/* Added from LDAP, a person moving group, hand-made memberships kept. */
START_TEST(test_add_move_keep_hand_made)
{
	struct h_world *w = world(MAPPING ALL_REMOVALS);
	struct h_cmd_out r;
	json_t *rep, *g;

	/* the people first: the groups phase works on users already there */
	expect(w, "reconcile --apply", 0);
	run(w, "reconcile", 4, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "group_add"));
	ck_assert_ptr_nonnull(strstr(r.out, "role_grant"));
	h_cmd_clear(&r);
	/* the JSON report: the same changes, planned */
	run(w, "reconcile --json", 4, &r);
	rep = json_loads(r.out, 0, NULL);
	ck_assert_ptr_nonnull(rep);
	g = json_object_get(rep, "groups");
	ck_assert_uint_eq(json_array_size(json_object_get(g, "changes")), 5);
	ck_assert(json_is_true(json_object_get(g, "complete")));
	ck_assert_str_eq(
		json_string_value(json_object_get(
			json_array_get(json_object_get(g, "changes"), 0),
			"result")),
		"planned");
	json_decref(rep);
	h_cmd_clear(&r);
	expect(w, "reconcile --apply", 0);
	rep = h_report(w, H_REPORT_LAST);
	ck_assert_ptr_nonnull(rep);
	g = json_object_get(json_object_get(rep, "groups"), "changes");
	ck_assert_uint_eq(json_array_size(g), 5);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(g, 3),
							   "result")),
			 "ok");
	json_decref(rep);
	ck_assert(member(w, "alice", COMP));
	ck_assert(member(w, "bob", COMP));
	ck_assert(member(w, "carol", LIGHT));
	ck_assert(!member(w, "dave", COMP));
	ck_assert_uint_eq(roles(w, "alice"), 1);
	ck_assert_uint_eq(roles(w, "carol"), 0);
	ck_assert_int_eq(h_emu_user_markers(w->emu, "alice",
					    "ftrack_syncd.groups", NULL),
			 1);
	expect(w, "reconcile", 0); /* in sync */
	/* by hand: dave into Compositing, carol too (she is not in comp) */
	hand_member(w, "dave", COMP);
	hand_member(w, "carol", COMP);
	/* bob moves from comp to lighting */
	ck_assert_int_eq(
		h_slapd_modify(w->slapd,
			       "dn: cn=comp," G "\nchangetype: modify\n"
			       "delete: member\nmember: uid=bob," P "\n\n"
			       "dn: cn=lighting," G "\nchangetype: "
			       "modify\nadd: member\nmember: uid=bob," P "\n"),
		FT_OK);
	run(w, "reconcile --apply", 0, &r);
	h_cmd_clear(&r);
	ck_assert(!member(w, "bob", COMP));
	ck_assert(member(w, "bob", LIGHT));
	ck_assert_uint_eq(roles(w, "bob"), 0); /* the role we granted: back */
	ck_assert(member(w, "dave", COMP));    /* hand-made: kept */
	ck_assert(member(w, "carol", COMP));
	ck_assert(member(w, "alice", COMP));
	expect(w, "reconcile", 0);
	h_world_stop(w);
}

END_TEST

/* An LDAP error reading the groups: additions only, nothing taken back. */
START_TEST(test_unreadable_groups_remove_nothing)
{
	struct h_world *w = world(MAPPING);
	struct h_cmd_out r;

	expect(w, "reconcile --apply", 0);
	expect(w, "reconcile --apply", 0);
	ck_assert(member(w, "alice", COMP));
	/* alice leaves comp, but the group base cannot be read */
	ck_assert_int_eq(
		h_slapd_modify(w->slapd,
			       "dn: cn=comp," G "\nchangetype: modify\n"
			       "delete: member\nmember: uid=alice," P "\n"),
		FT_OK);
	ck_assert_int_eq(h_world_config(w, MAPPING "groups.search_base = "
						   "ou=nowhere,dc=example,"
						   "dc=com\n"),
			 FT_OK);
	run(w, "reconcile --apply", 3, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "held by groups_complete"));
	h_cmd_clear(&r);
	ck_assert(member(w, "alice", COMP));
	/* remove = no: never taken back */
	ck_assert_int_eq(h_world_config(w, MAPPING "groups.remove = no\n"),
			 FT_OK);
	expect(w, "reconcile --apply", 0);
	ck_assert(member(w, "alice", COMP));
	ck_assert_uint_eq(roles(w, "alice"), 1);
	/* remove = yes, max_removals 5% of the recorded pairs: held */
	ck_assert_int_eq(h_world_config(w, MAPPING), FT_OK);
	run(w, "reconcile --apply", 3, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "held by max_removals"));
	h_cmd_clear(&r);
	ck_assert(member(w, "alice", COMP));
	/* forced: it goes, it was ours */
	expect(w, "reconcile --apply --force", 0);
	ck_assert(!member(w, "alice", COMP));
	ck_assert_uint_eq(roles(w, "alice"), 0);
	h_world_stop(w);
}

END_TEST

/* Whether username's ftrack user is active. */
static bool
active(struct h_world *w, const char *username)
{
	json_t *u = h_emu_user(w->emu, username);
	bool yes;

	ck_assert_msg(u != NULL, "no user %s", username);
	yes = json_is_true(json_object_get(u, "is_active"));
	json_decref(u);
	return yes;
}

#define BOB_LDIF                                                               \
	"dn: uid=bob," P "\nchangetype: add\nobjectClass: inetOrgPerson\n"     \
	"objectClass: posixAccount\nobjectClass: shadowAccount\nuid: bob\n"    \
	"cn: Bob Baker\ngivenName: Bob\nsn: Baker\nmail: bob@example.com\n"    \
	"uidNumber: 10002\ngidNumber: 10000\nhomeDirectory: /home/bob\n"       \
	"loginShell: /bin/bash\n"

/*
 * A login reused by a new person: bob leaves (his LDAP entry deleted, his
 * user deactivated), a new bob arrives with the same uid.  With a
 * Membership an administrator made, it is a conflict; without, a relink.
 */
static void
reused_login(bool by_hand)
{
	struct h_world *w = world(MAPPING ALL_REMOVALS);
	struct h_cmd_out r;
	char *uuid;
	json_t *rep;

	expect(w, "reconcile --apply", 0);
	expect(w, "reconcile --apply", 0);
	ck_assert(member(w, "bob", COMP));
	if (by_hand)
		hand_member(w, "bob", LIGHT);
	ck_assert_int_eq(h_slapd_modify(w->slapd, "dn: uid=bob," P
						  "\nchangetype: delete\n"),
			 FT_OK);
	expect(w, "reconcile --apply", 0);
	ck_assert(!active(w, "bob"));
	ck_assert(!member(w, "bob", COMP)); /* ours: taken back */
	ck_assert(member(w, "bob", LIGHT) == by_hand);
	ck_assert_int_eq(
		h_emu_user_markers(w->emu, "bob", "ftrack_syncd.uuid", &uuid),
		1);
	ck_assert_int_eq(h_slapd_modify(w->slapd, BOB_LDIF), FT_OK);
	run(w, "reconcile", by_hand ? 0 : 4, &r);
	ck_assert_ptr_nonnull(
		strstr(r.out, by_hand ? "not relinked" : "(relinked)"));
	if (by_hand)
		ck_assert_ptr_nonnull(strstr(r.out, "group 'Lighting'"));
	h_cmd_clear(&r);
	expect(w, "reconcile --apply", 0);
	rep = h_report(w, H_REPORT_LAST);
	ck_assert_ptr_nonnull(rep);
	{
		char *text = json_dumps(rep, 0);

		ck_assert_ptr_nonnull(text);
		ck_assert_ptr_nonnull(
			strstr(text, by_hand ? "not relinked" : "(relinked)"));
		free(text);
	}
	json_decref(rep);
	ck_assert(active(w, "bob") == !by_hand);
	/* the groups phase works on the users as read: the next run */
	expect(w, "reconcile --apply", 0);
	ck_assert(member(w, "bob", COMP) == !by_hand);
	ck_assert(member(w, "bob", LIGHT) == by_hand);
	{
		char *now = NULL;

		ck_assert_int_eq(h_emu_user_markers(w->emu, "bob",
						    "ftrack_syncd.uuid", &now),
				 1);
		ck_assert((strcmp(now, uuid) == 0) == by_hand);
		free(now);
	}
	free(uuid);
	h_world_stop(w);
}

START_TEST(test_reused_login_hand_made_conflict)
{
	reused_login(true);
}

END_TEST

START_TEST(test_reused_login_relinked)
{
	reused_login(false);
}

END_TEST

/* `check` names each line; a missing group is an error, left out. */
START_TEST(test_check_and_missing_group)
{
	struct h_world *w = world(MAPPING "group_map.Paris = comp\n"
					  "role_map.API = comp\n");
	struct h_cmd_out r;

	run(w, "check", 1, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "[group_map] Compositing"));
	ck_assert_ptr_nonnull(strstr(r.out, "ok, 'cn=comp," G "'"));
	ck_assert_ptr_nonnull(strstr(r.out, "[group_map] Paris"));
	ck_assert_ptr_nonnull(strstr(r.out, "no such group"));
	ck_assert_ptr_nonnull(strstr(r.out, "type API"));
	h_cmd_clear(&r);
	expect(w, "reconcile --apply", 0);
	run(w, "reconcile --apply", 0, &r);
	ck_assert_ptr_nonnull(strstr(r.err, "Paris"));
	h_cmd_clear(&r);
	ck_assert(member(w, "alice", COMP));
	h_world_stop(w);
}

END_TEST

/* The number of roles named name that username holds, any grant. */
static size_t
role_named(struct h_world *w, const char *username, const char *name)
{
	char *uid = h_emu_user_id(w->emu, username), expr[320];
	size_t n;

	ck_assert_msg(uid != NULL, "no user %s", username);
	(void)snprintf(expr, sizeof(expr),
		       "select id from UserSecurityRole where user_id is "
		       "\\\"%s\\\" and security_role.name is \\\"%s\\\"",
		       uid, name);
	n = count(w, expr);
	free(uid);
	return n;
}

/* First login: the person arrives in their team with their role. */
START_TEST(test_login_adds)
{
	struct h_world *w =
		world(MAPPING ALL_REMOVALS "role_map.User = comp\n");
	struct h_cmd_out r;
	char *value = NULL;

	/* new users get ftrack's default role "User" on this server */
	ck_assert_int_eq(h_emu_control(w->emu, "/_emulator/config",
				       "{\"default_role\": \"User\"}"),
			 FT_OK);
	run(w, "sync alice", 0, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "group and role addition"));
	h_cmd_clear(&r);
	ck_assert(member(w, "alice", COMP));
	ck_assert(!member(w, "alice", LIGHT));
	ck_assert_uint_eq(role_named(w, "alice", "Supervisor"), 1);
	ck_assert_uint_eq(role_named(w, "alice", "User"), 1);
	/* a login again: nothing more */
	run(w, "sync alice", 0, &r);
	ck_assert_ptr_null(strstr(r.out, "group and role addition"));
	h_cmd_clear(&r);
	/* a second group: added at the next login, both recorded */
	ck_assert_int_eq(h_slapd_modify(w->slapd,
					"dn: cn=lighting," G
					"\nchangetype: modify\nadd: member\n"
					"member: uid=alice," P "\n"),
			 FT_OK);
	expect(w, "sync alice", 0);
	ck_assert(member(w, "alice", LIGHT));
	ck_assert_int_eq(h_emu_user_markers(w->emu, "alice",
					    "ftrack_syncd.groups", &value),
			 1);
	ck_assert_msg(value != NULL && strchr(value, ',') != NULL,
		      "one id recorded: %s", value != NULL ? value : "(none)");
	free(value);
	/* she leaves comp: the reconcile takes back what the sync gave,
	 * never the default role ftrack gave her (not recorded) */
	ck_assert_int_eq(
		h_slapd_modify(w->slapd,
			       "dn: cn=comp," G "\nchangetype: modify\n"
			       "delete: member\nmember: uid=alice," P "\n"),
		FT_OK);
	expect(w, "reconcile --apply", 0);
	ck_assert(!member(w, "alice", COMP));
	ck_assert(member(w, "alice", LIGHT));
	ck_assert_uint_eq(role_named(w, "alice", "Supervisor"), 0);
	ck_assert_uint_eq(role_named(w, "alice", "User"), 1);
	h_world_stop(w);
}

END_TEST

/* A group renamed in ftrack no longer resolves: its pairs are frozen. */
START_TEST(test_renamed_in_ftrack_frozen)
{
	struct h_world *w = world(MAPPING ALL_REMOVALS);
	struct h_cmd_out r;
	json_t *res;

	expect(w, "reconcile --apply", 0);
	expect(w, "reconcile --apply", 0);
	ck_assert(member(w, "alice", COMP));
	res = h_emu_api(w->emu,
			"[{\"action\": \"update\", \"entity_type\": "
			"\"Group\", \"entity_key\": [\"" COMP "\"], "
			"\"entity_data\": {\"__entity_type__\": \"Group\", "
			"\"name\": \"Comp (old)\"}}]");
	ck_assert(json_is_array(res));
	json_decref(res);
	/* and alice left comp in LDAP: still nothing taken back */
	ck_assert_int_eq(
		h_slapd_modify(w->slapd,
			       "dn: cn=comp," G "\nchangetype: modify\n"
			       "delete: member\nmember: uid=alice," P "\n"),
		FT_OK);
	run(w, "reconcile --apply", 0, &r);
	ck_assert_ptr_nonnull(strstr(r.err, "Compositing"));
	ck_assert_ptr_nonnull(strstr(r.err, "no such group"));
	ck_assert_ptr_nonnull(strstr(r.out, "2 frozen"));
	h_cmd_clear(&r);
	ck_assert(member(w, "alice", COMP));
	ck_assert(member(w, "bob", COMP));
	h_world_stop(w);
}

END_TEST

/*
 * The cost of a first login with groups, as the emulator counts it: the
 * HTTP requests of `sync alice` (a new person in comp, mapped to a group
 * only) against those of a first login without [group_map] in the same
 * world.  The difference is the names read (two queries, Group and
 * SecurityRole: a one-shot command has no cache; a daemon keeps them)
 * and the one POST of the additions: for a person created in the batch
 * and wanting no role, their memberships are not read (before, one more).
 */
START_TEST(test_login_cost)
{
	struct h_world *w = world("");
	long long before, with, without;

	before = h_emu_stat(w->emu, "requests");
	expect(w, "sync alice", 0);
	without = h_emu_stat(w->emu, "requests") - before;
	h_world_stop(w);
	w = world("groups.search_base = " G "\n"
		  "group_map.Compositing = comp\n");
	before = h_emu_stat(w->emu, "requests");
	expect(w, "sync alice", 0);
	with = h_emu_stat(w->emu, "requests") - before;
	ck_assert(member(w, "alice", COMP));
	ck_assert_int_eq(with, without + 2 + 1);
	h_world_stop(w);
}

END_TEST

Suite *
groups_suite(void)
{
	Suite *s = suite_create("groups");
	TCase *tc = tcase_create("groups");

	tcase_add_unchecked_fixture(tc, h_suite_setup, h_suite_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_add_move_keep_hand_made);
	tcase_add_test(tc, test_reused_login_hand_made_conflict);
	tcase_add_test(tc, test_reused_login_relinked);
	tcase_add_test(tc, test_unreadable_groups_remove_nothing);
	tcase_add_test(tc, test_check_and_missing_group);
	tcase_add_test(tc, test_login_adds);
	tcase_add_test(tc, test_renamed_in_ftrack_frozen);
	tcase_add_test(tc, test_login_cost);
	suite_add_tcase(s, tc);
	return s;
}
