/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_sync_groups.c: suite 'sync_groups': the public functions of
 * sync_groups.h in process, against a throwaway slapd with groupOfNames
 * groups and the ftrack emulator with groups and the shipped roles: the
 * reconcile phase (dry run and apply, the guards, frozen pairs), the
 * owned read (what was given by hand), `check`'s lines, the login step
 * and its names cache (ftrack's default role is never recorded).  What
 * is checked is what the emulator holds and the results.  The daemon as
 * a process is the suite 'groups' (tests/integration/check_groups.c).
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "ft_user.h"
#include "ftrack_api.h"
#include "harness.h"
#include "ldap_src.h"
#include "sync.h"
#include "sync_groups.h"

Suite *sync_groups_suite(void);

#define G     "ou=groups,dc=example,dc=com"
#define P     "ou=people,dc=example,dc=com"
#define COMP  "7a000000-0000-4000-8000-000000000001"
#define LIGHT "7a000000-0000-4000-8000-000000000002"

static const char ldap_groups[] =
	"dn: cn=comp," G "\nchangetype: add\nobjectClass: groupOfNames\n"
	"cn: comp\nmember: uid=alice," P "\nmember: uid=bob," P "\n\n"
	"dn: cn=lighting," G "\nchangetype: add\nobjectClass: groupOfNames\n"
	"cn: lighting\nmember: uid=carol," P "\n\n";

#define MAPPING                                                                \
	"groups.search_base = " G "\n"                                         \
	"group_map.Compositing = comp\n"                                       \
	"group_map.Lighting = cn=Lighting,OU=Groups,DC=example,DC=com\n"       \
	"role_map.Supervisor = comp\n"
#define ALL_REMOVALS "groups.max_removals = 100%\n"
#define ALICE_LEAVES                                                           \
	"dn: cn=comp," G "\nchangetype: modify\ndelete: member\n"              \
	"member: uid=alice," P "\n"

/* One world per test: slapd, the emulator, the config loaded, a client. */
static struct {
	struct h_world *w;
	struct config *cfg;
	struct ftrack_client *ft;
	struct ft_user_list ftrack, ldap;
} W;

static void
emu_ops(const char *ops)
{
	json_t *res = h_emu_api(W.w->emu, ops);

	ck_assert_msg(json_is_array(res), "emulator refused %s", ops);
	json_decref(res);
}

static void
ftrack_group(const char *id, const char *name)
{
	char ops[512];

	H_FMT(ops,
	      "[{\"action\": \"create\", \"entity_type\": \"Group\", "
	      "\"entity_key\": [\"%s\"], \"entity_data\": "
	      "{\"__entity_type__\": \"Group\", \"id\": \"%s\", "
	      "\"name\": \"%s\", \"local\": false}}]",
	      id, id, name);
	emu_ops(ops);
}

/* (Re)load the config: H_WORLD_BASE then extra; a new client. */
static void
load(const char *extra)
{
	char err[512] = "";

	ftrack_client_free(W.ft);
	W.ft = NULL;
	config_free(W.cfg);
	W.cfg = NULL;
	ck_assert_int_eq(h_world_config(W.w, extra), FT_OK);
	ck_assert_msg(config_load(W.w->conf, &W.cfg, err, sizeof(err)) == FT_OK,
		      "%s", err);
	ck_assert_int_eq(ftrack_client_new(W.cfg, &W.ft), FT_OK);
}

/* The people given made in ftrack by the login path, no groups mapped. */
static void
people(const char *const logins[], size_t n)
{
	struct sync *s = NULL;
	struct sync_result res[8];
	char err[512] = "";
	size_t i;

	ck_assert_uint_le(n, 8);
	load("");
	ck_assert_msg(sync_new(W.cfg, &s, err, sizeof(err)) == FT_OK, "%s",
		      err);
	sync_users(s, logins, n, res);
	for (i = 0; i < n; i++)
		ck_assert_msg(res[i].outcome == SYNC_CREATED, "%s: %s",
			      logins[i], res[i].detail);
	sync_free(s);
}

static const char *const four[] = {"alice", "bob", "carol", "dave"};

static void
setup(void)
{
	memset(&W, 0, sizeof(W));
	ck_assert_ptr_nonnull(h_suite_dir());
	W.w = h_world_start(H_LDIF_PEOPLE, 0, "");
	ck_assert_ptr_nonnull(W.w);
	ck_assert_int_eq(h_slapd_modify(W.w->slapd, ldap_groups), FT_OK);
	ftrack_group(COMP, "Compositing");
	ftrack_group(LIGHT, "Lighting");
}

static void
teardown(void)
{
	ft_user_list_clear(&W.ftrack);
	ft_user_list_clear(&W.ldap);
	ftrack_client_free(W.ft);
	config_free(W.cfg);
	h_world_stop(W.w);
	memset(&W, 0, sizeof(W));
}

static int
on_user(void *ctx, struct ft_user *u)
{
	return ft_user_list_push(ctx, u);
}

/* Both sides read as the reconcile reads them, into W.ftrack, W.ldap. */
static void
read_sides(void)
{
	struct ldap_src *src = NULL;
	char err[512] = "";

	ft_user_list_clear(&W.ftrack);
	ft_user_list_clear(&W.ldap);
	ck_assert_msg(ftrack_users_all(W.ft, 0, on_user, &W.ftrack, err,
				       sizeof(err)) == FT_OK,
		      "%s", err);
	ck_assert_int_eq(ldap_src_new(W.cfg, &src), FT_OK);
	ck_assert_int_eq(ldap_src_search_all(src, on_user, NULL, &W.ldap, NULL),
			 FT_OK);
	ldap_src_free(src);
}

/* The groups phase on freshly read sides; returns its code. */
static int
phase(bool apply, bool force, struct sync_groups_result *r)
{
	read_sides();
	return sync_groups_reconcile(W.cfg, W.ft, &W.ftrack, &W.ldap, apply,
				     force, NULL, NULL, r);
}

static long long
writes(void)
{
	return h_emu_stat2(W.w->emu, "operations", "create") +
	       h_emu_stat2(W.w->emu, "operations", "update") +
	       h_emu_stat2(W.w->emu, "operations", "delete");
}

static size_t
count(const char *expr)
{
	char ops[1024];
	json_t *res;
	size_t n;

	H_FMT(ops, "[{\"action\": \"query\", \"expression\": \"%s\"}]", expr);
	res = h_emu_api(W.w->emu, ops);
	ck_assert_msg(json_is_array(res), "query '%s' failed", expr);
	n = json_array_size(json_object_get(json_array_get(res, 0), "data"));
	json_decref(res);
	return n;
}

static bool
member(const char *username, const char *gid)
{
	char *uid = h_emu_user_id(W.w->emu, username), expr[256];
	size_t n;

	ck_assert_msg(uid != NULL, "no user %s", username);
	H_FMT(expr,
	      "select id from Membership where user_id is \\\"%s\\\" "
	      "and group_id is \\\"%s\\\"",
	      uid, gid);
	n = count(expr);
	free(uid);
	ck_assert_uint_le(n, 1);
	return n == 1;
}

static size_t
role_named(const char *username, const char *name)
{
	char *uid = h_emu_user_id(W.w->emu, username), expr[320];
	size_t n;

	ck_assert_msg(uid != NULL, "no user %s", username);
	H_FMT(expr,
	      "select id from UserSecurityRole where user_id is \\\"%s\\\" "
	      "and security_role.name is \\\"%s\\\"",
	      uid, name);
	n = count(expr);
	free(uid);
	return n;
}

/* The id of the SecurityRole named name (caller frees). */
static char *
role_id(const char *name)
{
	char ops[512], *ret;
	json_t *res, *row;

	H_FMT(ops,
	      "[{\"action\": \"query\", \"expression\": \"select id from "
	      "SecurityRole where name is \\\"%s\\\"\"}]",
	      name);
	res = h_emu_api(W.w->emu, ops);
	row = json_array_get(json_object_get(json_array_get(res, 0), "data"),
			     0);
	ck_assert_msg(json_string_value(json_object_get(row, "id")) != NULL,
		      "no role %s", name);
	ret = strdup(json_string_value(json_object_get(row, "id")));
	ck_assert_ptr_nonnull(ret);
	json_decref(res);
	return ret;
}

static void
hand_member(const char *username, const char *gid)
{
	char *uid = h_emu_user_id(W.w->emu, username), ops[768];

	ck_assert_ptr_nonnull(uid);
	H_FMT(ops,
	      "[{\"action\": \"create\", \"entity_type\": \"Membership\", "
	      "\"entity_data\": {\"__entity_type__\": \"Membership\", "
	      "\"user_id\": \"%s\", \"group_id\": \"%s\"}}]",
	      uid, gid);
	emu_ops(ops);
	free(uid);
}

/* The four people in ftrack, the mapping loaded and applied once. */
static void
applied(const char *extra)
{
	struct sync_groups_result r;
	char conf[1024];

	people(four, 4);
	H_FMT(conf, "%s%s", MAPPING, extra);
	load(conf);
	ck_assert_int_eq(phase(true, false, &r), FT_OK);
	ck_assert_uint_eq(r.changes, 5);
	ck_assert_uint_eq(r.failed, 0);
	sync_groups_result_clear(&r);
}

/* ---- the reconcile phase ------------------------------------------------ */

/* A dry run plans and writes nothing; apply writes it and records it. */
START_TEST(test_dry_run_then_apply)
{
	struct sync_groups_result r;
	long long before;
	char *buf = NULL, *value = NULL;
	size_t len = 0, i, adds = 0, grants = 0;
	FILE *out;

	people(four, 4);
	load(MAPPING);
	ck_assert(sync_groups_enabled(W.cfg));
	before = writes();
	ck_assert_int_eq(phase(false, false, &r), FT_OK);
	ck_assert_int_eq(writes(), before);
	ck_assert(!r.read_failed);
	ck_assert_uint_eq(r.changes, 5); /* alice, bob, carol; 2 Supervisor */
	ck_assert_uint_eq(r.report.n, 5);
	ck_assert(r.report.complete);
	ck_assert_ptr_null(r.held_by);
	for (i = 0; i < r.report.n; i++) {
		adds += strcmp(r.report.v[i].action, "group_add") == 0;
		grants += strcmp(r.report.v[i].action, "role_grant") == 0;
	}
	ck_assert_uint_eq(adds, 3);
	ck_assert_uint_eq(grants, 2);
	out = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(out);
	sync_groups_print(&r, out);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_ptr_nonnull(strstr(buf, "group_add"));
	ck_assert_ptr_nonnull(strstr(buf, "Compositing"));
	ck_assert_ptr_nonnull(strstr(buf, "role_grant"));
	free(buf);
	sync_groups_result_clear(&r);
	ck_assert_ptr_null(r.v);
	ck_assert_uint_eq(r.changes, 0);
	ck_assert(!member("alice", COMP));
	ck_assert_uint_eq(role_named("alice", "Supervisor"), 0);
	ck_assert_int_eq(h_emu_user_markers(W.w->emu, "alice",
					    "ftrack_syncd.groups", NULL),
			 0);
	/* apply */
	ck_assert_int_eq(phase(true, false, &r), FT_OK);
	ck_assert_uint_eq(r.changes, 5);
	ck_assert_uint_eq(r.failed, 0);
	for (i = 0; i < r.report.n; i++)
		ck_assert_int_eq(r.report.v[i].code, FT_OK);
	sync_groups_result_clear(&r);
	ck_assert(member("alice", COMP));
	ck_assert(member("bob", COMP));
	ck_assert(member("carol", LIGHT));
	ck_assert(!member("dave", COMP));
	ck_assert(!member("carol", COMP));
	ck_assert_uint_eq(role_named("alice", "Supervisor"), 1);
	ck_assert_uint_eq(role_named("carol", "Supervisor"), 0);
	ck_assert_int_eq(h_emu_user_markers(W.w->emu, "alice",
					    "ftrack_syncd.groups", &value),
			 1);
	ck_assert_ptr_nonnull(value);
	free(value);
	ck_assert_int_eq(h_emu_user_markers(W.w->emu, "alice",
					    "ftrack_syncd.roles", NULL),
			 1);
	/* in sync: nothing planned, nothing written */
	before = writes();
	ck_assert_int_eq(phase(true, false, &r), FT_OK);
	ck_assert_uint_eq(r.changes, 0);
	ck_assert_int_eq(writes(), before);
	sync_groups_result_clear(&r);
}

END_TEST

/* Without a mapping line the phase is not enabled. */
START_TEST(test_not_enabled)
{
	load("groups.search_base = " G "\n");
	ck_assert(!sync_groups_enabled(W.cfg));
	load("groups.search_base = " G "\nrole_map.Supervisor = comp\n");
	ck_assert(sync_groups_enabled(W.cfg));
}

END_TEST

/* The LDAP groups not read completely: nothing taken back, held. */
START_TEST(test_incomplete_read_removes_nothing)
{
	struct sync_groups_result r;
	long long before;

	applied(ALL_REMOVALS);
	ck_assert_int_eq(h_slapd_modify(W.w->slapd, ALICE_LEAVES), FT_OK);
	hand_member("dave", LIGHT); /* by hand: untouched too */
	load(MAPPING ALL_REMOVALS "groups.search_base = ou=nowhere,"
				  "dc=example,dc=com\n");
	before = writes();
	ck_assert_int_eq(phase(true, true, &r), FT_OK);
	ck_assert(!r.report.complete);
	ck_assert_ptr_nonnull(r.held_by);
	ck_assert_str_eq(r.held_by, "groups_complete");
	ck_assert_uint_eq(r.held, 5); /* every recorded pair: none resolves */
	ck_assert_uint_eq(r.changes, 0);
	sync_groups_result_clear(&r);
	ck_assert_int_eq(writes(), before);
	ck_assert(member("alice", COMP));
	ck_assert(member("bob", COMP));
	ck_assert(member("dave", LIGHT));
	ck_assert_uint_eq(role_named("alice", "Supervisor"), 1);
}

END_TEST

/* remove = no: alice left comp, nothing of hers is taken back. */
START_TEST(test_remove_no)
{
	struct sync_groups_result r;

	applied(ALL_REMOVALS);
	ck_assert_int_eq(h_slapd_modify(W.w->slapd, ALICE_LEAVES), FT_OK);
	load(MAPPING ALL_REMOVALS "groups.remove = no\n");
	ck_assert_int_eq(phase(true, true, &r), FT_OK);
	ck_assert_uint_eq(r.changes, 0);
	ck_assert_uint_eq(r.held, 2);
	ck_assert_str_eq(r.held_by, "remove");
	sync_groups_result_clear(&r);
	ck_assert(member("alice", COMP));
	ck_assert_uint_eq(role_named("alice", "Supervisor"), 1);
}

END_TEST

/* max_removals (5% of the recorded pairs by default) holds; force lets
 * them through, and only what the sync recorded goes. */
START_TEST(test_max_removals_and_force)
{
	struct sync_groups_result r;

	applied("");
	hand_member("carol", COMP); /* by hand: never ours to take back */
	ck_assert_int_eq(h_slapd_modify(W.w->slapd, ALICE_LEAVES), FT_OK);
	ck_assert_int_eq(phase(true, false, &r), FT_OK);
	ck_assert_str_eq(r.held_by, "max_removals");
	ck_assert_uint_eq(r.held, 2);
	ck_assert_uint_eq(r.changes, 0);
	sync_groups_result_clear(&r);
	ck_assert(member("alice", COMP));
	/* a dry run with force plans them and writes nothing */
	{
		long long before = writes();

		ck_assert_int_eq(phase(false, true, &r), FT_OK);
		ck_assert_uint_eq(r.changes, 2);
		ck_assert_ptr_null(r.held_by);
		sync_groups_result_clear(&r);
		ck_assert_int_eq(writes(), before);
		ck_assert(member("alice", COMP));
	}
	ck_assert_int_eq(phase(true, true, &r), FT_OK);
	ck_assert_uint_eq(r.changes, 2);
	ck_assert_uint_eq(r.failed, 0);
	sync_groups_result_clear(&r);
	ck_assert(!member("alice", COMP));
	ck_assert_uint_eq(role_named("alice", "Supervisor"), 0);
	ck_assert(member("bob", COMP));
	ck_assert(member("carol", COMP));
	ck_assert_uint_eq(role_named("bob", "Supervisor"), 1);
}

END_TEST

/* A group renamed in ftrack: its line is left out, its pairs frozen. */
START_TEST(test_renamed_group_frozen)
{
	struct sync_groups_result r;

	applied(ALL_REMOVALS);
	emu_ops("[{\"action\": \"update\", \"entity_type\": \"Group\", "
		"\"entity_key\": [\"" COMP "\"], \"entity_data\": "
		"{\"__entity_type__\": \"Group\", \"name\": \"Comp (old)\"}}]");
	ck_assert_int_eq(h_slapd_modify(W.w->slapd, ALICE_LEAVES), FT_OK);
	ck_assert_int_eq(phase(true, true, &r), FT_OK);
	ck_assert_uint_eq(r.frozen, 2); /* alice's and bob's memberships */
	/* the role is still mapped: alice's Supervisor goes */
	ck_assert_uint_eq(r.changes, 1);
	ck_assert_str_eq(r.report.v[0].action, "role_revoke");
	sync_groups_result_clear(&r);
	ck_assert(member("alice", COMP));
	ck_assert(member("bob", COMP));
	ck_assert_uint_eq(role_named("alice", "Supervisor"), 0);
}

END_TEST

/* ftrack unreachable: read_failed, FT_OK, nothing planned. */
START_TEST(test_ftrack_down)
{
	struct sync_groups_result r;

	people(four, 2);
	load(MAPPING);
	read_sides();
	h_emu_stop(W.w->emu);
	W.w->emu = NULL;
	ck_assert_int_eq(sync_groups_reconcile(W.cfg, W.ft, &W.ftrack, &W.ldap,
					       true, true, NULL, NULL, &r),
			 FT_OK);
	ck_assert(r.read_failed);
	ck_assert_uint_eq(r.changes, 0);
	ck_assert_uint_eq(r.report.n, 0);
	sync_groups_result_clear(&r);
	/* check: < 0 */
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);

		ck_assert_ptr_nonnull(out);
		ck_assert_int_lt(sync_groups_check(W.cfg, W.ft, out), 0);
		ck_assert_int_eq(fclose(out), 0);
		free(buf);
	}
}

END_TEST

/* ---- the owned read ---------------------------------------------------- */

START_TEST(test_owned_hand_made)
{
	struct sync_groups_owned *o = NULL;
	const struct ft_user *alice = NULL, *dave = NULL;
	struct ft_user unmanaged;
	const char *why;
	size_t i;

	applied("");
	hand_member("dave", COMP);
	read_sides();
	ck_assert_int_eq(sync_groups_owned_read(W.cfg, W.ft, &W.ftrack, &o),
			 FT_OK);
	ck_assert_ptr_nonnull(o);
	for (i = 0; i < W.ftrack.n; i++) {
		const char *u = W.ftrack.v[i].username;

		if (u != NULL && strcmp(u, "alice") == 0)
			alice = &W.ftrack.v[i];
		if (u != NULL && strcmp(u, "dave") == 0)
			dave = &W.ftrack.v[i];
	}
	ck_assert_ptr_nonnull(alice);
	ck_assert_ptr_nonnull(dave);
	/* alice holds only what the sync gave */
	ck_assert_ptr_null(sync_groups_hand_made(o, alice));
	why = sync_groups_hand_made(o, dave);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, "Compositing"));
	/* a user that is not managed (no uuid marker): NULL */
	unmanaged = *dave;
	unmanaged.uuid = NULL;
	ck_assert_ptr_null(sync_groups_hand_made(o, &unmanaged));
	sync_groups_owned_free(o);
	sync_groups_owned_free(NULL);
}

END_TEST

/* ---- check -------------------------------------------------------------- */

START_TEST(test_check_lines)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	load(MAPPING "group_map.Paris = comp\n"
		     "group_map.Nowhere = cn=none," G "\n"
		     "role_map.API = comp\n");
	out = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(sync_groups_check(W.cfg, W.ft, out), 3);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_ptr_nonnull(strstr(buf, "[group_map] Compositing"));
	ck_assert_ptr_nonnull(strstr(buf, "ok, 'cn=comp," G "'"));
	ck_assert_ptr_nonnull(strstr(buf, "[group_map] Paris"));
	ck_assert_ptr_nonnull(strstr(buf, "no such group"));
	ck_assert_ptr_nonnull(strstr(buf, "[group_map] Nowhere"));
	ck_assert_ptr_nonnull(strstr(buf, "type API"));
	free(buf);
	/* all resolved: 0 problems */
	buf = NULL;
	load(MAPPING);
	out = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(sync_groups_check(W.cfg, W.ft, out), 0);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_ptr_nonnull(strstr(buf, "[role_map] Supervisor"));
	free(buf);
}

END_TEST

/* ---- the login step and its cache -------------------------------------- */

/* One person's login step; returns its code, changes into *changes. */
static int
login(const char *username, bool created, struct sync_groups_cache **cache,
      struct sync_groups_stats *st, size_t *changes)
{
	struct ldap_src *src = NULL;
	struct ft_user person;
	const struct ft_user *pp[1];
	const char *ids[1];
	bool cr[1] = {created};
	unsigned long searches = 0;
	char err[512] = "", *id = h_emu_user_id(W.w->emu, username);
	int r;

	ck_assert_ptr_nonnull(id);
	memset(&person, 0, sizeof(person));
	ck_assert_int_eq(ldap_src_new(W.cfg, &src), FT_OK);
	ck_assert_msg(ldap_src_lookup(src, username, &person, err,
				      sizeof(err)) == FT_OK,
		      "%s", err);
	pp[0] = &person;
	ids[0] = id;
	/* left as it is for a person with nothing to add (sync.c zeroes) */
	*changes = 0;
	r = sync_groups_login(W.cfg, src, W.ft, cache, pp, ids, cr, 1, NULL,
			      NULL, st, changes, &searches, err, sizeof(err));
	if (r == FT_OK)
		ck_assert_uint_ge(searches, 1);
	ldap_src_free(src);
	ft_user_clear(&person);
	free(id);
	return r;
}

/*
 * ftrack gives a new user its default role "User"; the login step, with
 * role_map.User, finds it held: nothing granted, nothing recorded, and the
 * reconcile never takes it back.
 */
START_TEST(test_login_default_role_never_recorded)
{
	static const char *const alice[] = {"alice"};
	struct sync_groups_cache *cache = NULL;
	struct sync_groups_stats st;
	struct sync_groups_result r;
	char *value = NULL, *user_role = role_id("User"),
	     *sup = role_id("Supervisor");
	size_t changes;

	ck_assert_int_eq(h_emu_control(W.w->emu, "/_emulator/config",
				       "{\"default_role\": \"User\"}"),
			 FT_OK);
	people(alice, 1);
	ck_assert_uint_eq(role_named("alice", "User"), 1);
	load(MAPPING ALL_REMOVALS "role_map.User = comp\n");
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(login("alice", true, &cache, &st, &changes), FT_OK);
	ck_assert_ptr_nonnull(cache);
	ck_assert_uint_eq(changes, 2); /* Compositing, Supervisor */
	ck_assert_uint_eq(st.memberships_added, 1);
	ck_assert_uint_eq(st.roles_granted, 1);
	ck_assert(st.read);
	ck_assert_uint_eq(st.resolved, 4);
	ck_assert_uint_eq(st.missing, 0);
	ck_assert(member("alice", COMP));
	ck_assert_uint_eq(role_named("alice", "Supervisor"), 1);
	ck_assert_uint_eq(role_named("alice", "User"), 1);
	ck_assert_int_eq(h_emu_user_markers(W.w->emu, "alice",
					    "ftrack_syncd.roles", &value),
			 1);
	ck_assert_ptr_nonnull(value);
	ck_assert_msg(strstr(value, sup) != NULL, "roles marker: %s", value);
	ck_assert_msg(strstr(value, user_role) == NULL,
		      "the default role recorded: %s", value);
	free(value);
	/* again: nothing more, the names from the cache */
	ck_assert_int_eq(login("alice", false, &cache, &st, &changes), FT_OK);
	ck_assert_uint_eq(changes, 0);
	ck_assert_uint_eq(st.memberships_added, 1);
	ck_assert_uint_eq(st.roles_granted, 1);
	sync_groups_cache_free(cache);
	sync_groups_cache_free(NULL);
	/* alice leaves comp: what the sync gave goes, the default stays */
	ck_assert_int_eq(h_slapd_modify(W.w->slapd, ALICE_LEAVES), FT_OK);
	ck_assert_int_eq(phase(true, false, &r), FT_OK);
	ck_assert_uint_eq(r.changes, 2);
	ck_assert_uint_eq(r.failed, 0);
	sync_groups_result_clear(&r);
	ck_assert(!member("alice", COMP));
	ck_assert_uint_eq(role_named("alice", "Supervisor"), 0);
	ck_assert_uint_eq(role_named("alice", "User"), 1);
	free(user_role);
	free(sup);
}

END_TEST

/* The names are read once per cache: a second login makes fewer
 * requests; a missing name is counted as a failure at each read. */
START_TEST(test_login_cache_and_missing)
{
	static const char *const two[] = {"alice", "bob"};
	struct sync_groups_cache *cache = NULL;
	struct sync_groups_stats st;
	long long before, first, second;
	size_t changes;

	people(two, 2);
	load(MAPPING "group_map.Paris = comp\n");
	memset(&st, 0, sizeof(st));
	before = h_emu_stat(W.w->emu, "requests");
	ck_assert_int_eq(login("alice", false, &cache, &st, &changes), FT_OK);
	first = h_emu_stat(W.w->emu, "requests") - before;
	ck_assert_uint_eq(changes, 2);
	ck_assert_uint_eq(st.resolved, 3);
	ck_assert_uint_eq(st.missing, 1);
	ck_assert_uint_eq(st.failures, 1);
	before = h_emu_stat(W.w->emu, "requests");
	ck_assert_int_eq(login("bob", false, &cache, &st, &changes), FT_OK);
	second = h_emu_stat(W.w->emu, "requests") - before;
	ck_assert_uint_eq(changes, 2);
	ck_assert_uint_eq(st.failures, 1); /* not read again */
	ck_assert_uint_eq(st.memberships_added, 2);
	ck_assert_uint_eq(st.roles_granted, 2);
	ck_assert_int_lt(second, first);
	ck_assert(member("bob", COMP));
	ck_assert(!member("bob", LIGHT));
	/* a new cache reads the names again */
	sync_groups_cache_free(cache);
	cache = NULL;
	ck_assert_int_eq(login("bob", false, &cache, &st, &changes), FT_OK);
	ck_assert_uint_eq(changes, 0);
	ck_assert_uint_eq(st.failures, 2);
	sync_groups_cache_free(cache);
}

END_TEST

/* A login step never takes anything back, hand-made or recorded. */
START_TEST(test_login_never_removes)
{
	struct sync_groups_cache *cache = NULL;
	struct sync_groups_stats st;
	long long before;
	size_t changes;

	applied(ALL_REMOVALS);
	hand_member("alice", LIGHT);
	ck_assert_int_eq(h_slapd_modify(W.w->slapd, ALICE_LEAVES), FT_OK);
	memset(&st, 0, sizeof(st));
	before = h_emu_stat2(W.w->emu, "operations", "delete");
	ck_assert_int_eq(login("alice", false, &cache, &st, &changes), FT_OK);
	ck_assert_uint_eq(changes, 0);
	ck_assert_int_eq(h_emu_stat2(W.w->emu, "operations", "delete"), before);
	ck_assert(member("alice", COMP));
	ck_assert(member("alice", LIGHT));
	ck_assert_uint_eq(role_named("alice", "Supervisor"), 1);
	sync_groups_cache_free(cache);
}

END_TEST

Suite *
sync_groups_suite(void)
{
	Suite *s = suite_create("sync_groups");
	TCase *tc = tcase_create("sync_groups");

	tcase_add_unchecked_fixture(tc, h_suite_setup, h_suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_dry_run_then_apply);
	tcase_add_test(tc, test_not_enabled);
	tcase_add_test(tc, test_incomplete_read_removes_nothing);
	tcase_add_test(tc, test_remove_no);
	tcase_add_test(tc, test_max_removals_and_force);
	tcase_add_test(tc, test_renamed_group_frozen);
	tcase_add_test(tc, test_ftrack_down);
	tcase_add_test(tc, test_owned_hand_made);
	tcase_add_test(tc, test_check_lines);
	tcase_add_test(tc, test_login_default_role_never_recorded);
	tcase_add_test(tc, test_login_cache_and_missing);
	tcase_add_test(tc, test_login_never_removes);
	suite_add_tcase(s, tc);
	return s;
}
