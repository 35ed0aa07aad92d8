/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_ad.c: ftrack-syncd (real processes) against a real Samba Active
 * Directory DC searched from the domain root: the continuation references
 * into DomainDnsZones, ForestDnsZones and Configuration hold the
 * reconcile until ignore_referrals lists them; accountExpires
 * (expires_attribute) makes a person disabled, at login and in the plan;
 * a nested AD group (a group of a group) named by its DN in another case
 * becomes the members of an ftrack group ([group_map], nested = yes).
 * The DC is provisioned once for the suite (tests/lib/h_samba.c); without
 * samba-tool the suite says so and passes.
 */
#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "harness.h"

Suite *ad_suite(void);

static struct h_samba *dc;         /* the suite's DC; NULL: see skip/failed */
static char skip[512];             /* not empty: the suite is skipped, why */
static const char *dc_failed = ""; /* not empty: the DC did not come up */

#define PEOPLE 5 /* alice bob carol dave erin; the built-in ones filtered */
#define IGNORE                                                                 \
	"ldap.ignore_referrals = DomainDnsZones, ForestDnsZones, "             \
	"Configuration\n"
#define EXPIRES "ldap.expires_attribute = accountExpires\n"
#define CREATE  "policy.reconcile_create = yes\n"

/* Each list a samba-tool command; the people in two OUs. */
static const char *const setup_cmds[][10] = {
	{"ou", "add", "OU=Staff," H_SAMBA_BASE, NULL},
	{"ou", "add", "OU=Contractors," H_SAMBA_BASE, NULL},
	{"user", "add", "alice", H_SAMBA_PW, "--userou=OU=Staff",
	 "--given-name=Alice", "--surname=Archer",
	 "--mail-address=alice@corp.example.com", NULL},
	{"user", "add", "bob", H_SAMBA_PW, "--userou=OU=Contractors",
	 "--given-name=Bob", "--surname=Baker", NULL},
	{"user", "add", "carol", H_SAMBA_PW, "--userou=OU=Staff", NULL},
	{"user", "disable", "carol", NULL},
	{"user", "add", "dave", H_SAMBA_PW, "--userou=OU=Contractors", NULL},
	/* accountExpires = now: in the past by the time anything reads it */
	{"user", "setexpiry", "dave", "--days=0", NULL},
	{"user", "add", "erin", H_SAMBA_PW, "--userou=OU=Staff", NULL},
	{"user", "setexpiry", "erin", "--days=30", NULL},
	/* Artists holds bob and the group Comp, which holds alice */
	{"ou", "add", "OU=Groups," H_SAMBA_BASE, NULL},
	{"group", "add", "Comp", "--groupou=OU=Groups", NULL},
	{"group", "add", "Artists", "--groupou=OU=Groups", NULL},
	{"group", "addmembers", "Comp", "alice", NULL},
	{"group", "addmembers", "Artists", "Comp,bob", NULL},
};

static void
ad_setup(void)
{
	size_t i;

	if (!h_samba_available(skip, sizeof(skip))) {
		(void)fprintf(stderr, "check_ad: skipped: %s\n", skip);
		return;
	}
	dc = h_samba_provision();
	if (dc == NULL) {
		dc_failed = "samba-tool domain provision failed (see stderr)";
		return;
	}
	for (i = 0; i < sizeof(setup_cmds) / sizeof(setup_cmds[0]); i++) {
		if (h_samba_tool(dc, setup_cmds[i]) < 0) {
			dc_failed = "samba-tool failed (see stderr)";
			return;
		}
	}
	if (h_samba_run(dc) < 0)
		dc_failed = "samba did not start (see stderr)";
}

static void
ad_teardown(void)
{
	h_samba_stop(dc);
	dc = NULL;
}

/* False when the suite is skipped (ad_setup said why, once). */
static bool
have_dc(void)
{
	if (skip[0] != '\0')
		return false;
	ck_assert_msg(dc != NULL && dc_failed[0] == '\0', "%s", dc_failed);
	return true;
}

static void
run(struct h_world *w, const char *args, int code, struct h_cmd_out *r)
{
	ck_assert_int_eq(h_cmd(w, args, r), FT_OK);
	ck_assert_msg(!h_san_text(r->err), "'%s': a sanitizer report:\n%s",
		      args, r->err);
	if (r->code != code)
		(void)fprintf(stderr, "'%s':\nstdout:\n%s\nstderr:\n%s\n", args,
			      r->out, r->err);
	ck_assert_msg(r->code == code, "'%s' exited %d, expected %d", args,
		      r->code, code);
}

/* `reconcile --json` (a dry run) exiting code; its report. */
static json_t *
reconcile(struct h_world *w, int code, struct h_cmd_out *r)
{
	json_error_t e;
	json_t *rep;

	run(w, "reconcile --json", code, r);
	rep = json_loads(r->out, 0, &e);
	ck_assert_msg(rep != NULL, "not JSON: %s", e.text);
	return rep;
}

static const char *
str_at(const json_t *o, const char *a, const char *b)
{
	const char *s =
		json_string_value(json_object_get(json_object_get(o, a), b));

	return s != NULL ? s : "";
}

static long
int_at(const json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(o, a), b);

	return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

/* Occurrences of text in s. */
static int
count_of(const char *s, const char *text)
{
	int n = 0;

	for (s = strstr(s, text); s != NULL; s = strstr(s + 1, text))
		n++;
	return n;
}

/* The action planned for user, or "" when none. */
static const char *
action_of(const json_t *rep, const char *user)
{
	const char *s = json_string_value(
		json_object_get(h_report_action(rep, user), "action"));

	return s != NULL ? s : "";
}

#define ZONES  "ldap://corp.example.com/DC=DomainDnsZones," H_SAMBA_BASE
#define FOREST "ldap://corp.example.com/DC=ForestDnsZones," H_SAMBA_BASE
#define CONFIG "ldap://corp.example.com/CN=Configuration," H_SAMBA_BASE

/* From the domain root without ignore_referrals: held, naming them. */
START_TEST(test_ad_root_held)
{
	struct h_world *w;
	struct h_cmd_out r;
	const char *err;
	json_t *rep;

	if (!have_dc())
		return;
	w = h_samba_world(EXPIRES CREATE);
	ck_assert_ptr_nonnull(w);
	rep = reconcile(w, 3, &r);
	ck_assert_str_eq(json_string_value(json_object_get(rep, "result")),
			 "held");
	err = str_at(rep, "ldap", "error");
	ck_assert_msg(strstr(err, ZONES) != NULL &&
			      strstr(err, FOREST) != NULL &&
			      strstr(err, CONFIG) != NULL &&
			      strstr(err, "ignore_referrals") != NULL,
		      "%s", err);
	ck_assert_msg(strstr(r.err, "unable to read LDAP completely") != NULL &&
			      strstr(r.err, ZONES) != NULL,
		      "%s", r.err);
	/* held by the guard nothing overrides */
	ck_assert(json_is_false(
		json_object_get(h_report_guard(rep, "ldap_complete"), "ok")));
	ck_assert(json_is_false(json_object_get(
		h_report_guard(rep, "ldap_complete"), "forceable")));
	json_decref(rep);
	h_cmd_clear(&r);
	/* a login found is provisioned; one not found may be behind the
	 * referrals: retried (exit 1), not dropped */
	run(w, "sync alice nobody", 1, &r);
	ck_assert_msg(strstr(r.out, "alice: created") != NULL &&
			      strstr(r.out, "nobody: retry") != NULL,
		      "%s", r.out);
	h_cmd_clear(&r);
	h_world_stop(w);
}

END_TEST

/* With the three naming contexts ignored: the plan is made; accountExpires
 * in the past is disabled, in the future not. */
START_TEST(test_ad_root_ignored)
{
	struct h_world *w;
	struct h_cmd_out r;
	json_t *rep;

	if (!have_dc())
		return;
	w = h_samba_world(IGNORE EXPIRES CREATE);
	ck_assert_ptr_nonnull(w);
	rep = reconcile(w, 4, &r);
	ck_assert_str_eq(str_at(rep, "ldap", "error"), "");
	ck_assert_int_eq(int_at(rep, "ldap", "entries"), PEOPLE);
	ck_assert_int_eq(int_at(rep, "ldap", "disabled"), 2); /* carol, dave */
	ck_assert_int_eq(int_at(rep, "ldap", "skipped"), 0);
	ck_assert_str_eq(action_of(rep, "alice"), "create"); /* OU=Staff */
	ck_assert_str_eq(action_of(rep, "bob"), "create");  /* OU=Contractors */
	ck_assert_str_eq(action_of(rep, "erin"), "create"); /* expires later */
	ck_assert_str_eq(action_of(rep, "carol"), "");      /* disabled */
	ck_assert_str_eq(action_of(rep, "dave"), "");       /* expired */
	ck_assert_int_eq(h_report_count(rep, "create"), 3);
	/* logged once for the run, naming them */
	ck_assert_msg(count_of(r.err, "skipped by ignore_referrals") == 1 &&
			      strstr(r.err, "skipped by ignore_referrals: 3") !=
				      NULL &&
			      strstr(r.err, CONFIG) != NULL,
		      "%s", r.err);
	json_decref(rep);
	h_cmd_clear(&r);
	/* at login: the expired and the disabled are not provisioned */
	run(w, "sync dave carol erin nobody", 0, &r);
	ck_assert_msg(
		strstr(r.out, "dave: not-ldap: disabled in LDAP") != NULL &&
			strstr(r.out, "carol: not-ldap") != NULL &&
			strstr(r.out, "erin: created") != NULL &&
			strstr(r.out, "nobody: not-ldap: not in LDAP") != NULL,
		"%s", r.out);
	h_cmd_clear(&r);
	h_world_stop(w);
}

END_TEST

/* Without expires_attribute the expired person is an ordinary one. */
START_TEST(test_ad_no_expires_attribute)
{
	struct h_world *w;
	struct h_cmd_out r;
	json_t *rep;

	if (!have_dc())
		return;
	w = h_samba_world(IGNORE CREATE);
	ck_assert_ptr_nonnull(w);
	rep = reconcile(w, 4, &r);
	ck_assert_int_eq(int_at(rep, "ldap", "disabled"), 1); /* carol */
	ck_assert_str_eq(action_of(rep, "dave"), "create");
	ck_assert_int_eq(h_report_count(rep, "create"), 4);
	json_decref(rep);
	h_cmd_clear(&r);
	h_world_stop(w);
}

END_TEST

#define ARTISTS "7a000000-0000-4000-8000-0000000000a1"
#define GROUPS                                                                 \
	"groups.search_base = OU=Groups," H_SAMBA_BASE "\n"                    \
	"groups.search_filter = (objectClass=group)\n"                         \
	"groups.nested = yes\n"                                                \
	"group_map.Artists = cn=artists,ou=groups,dc=corp,dc=example,dc=com\n"

/* Whether username is in the ftrack group ARTISTS. */
static bool
artist(struct h_world *w, const char *username)
{
	char *uid = h_emu_user_id(w->emu, username), ops[512];
	json_t *res;
	size_t n;

	ck_assert_msg(uid != NULL, "no user %s", username);
	(void)snprintf(ops, sizeof(ops),
		       "[{\"action\": \"query\", \"expression\": \"select id "
		       "from Membership where user_id is \\\"%s\\\" and "
		       "group_id is \\\"" ARTISTS "\\\"\"}]",
		       uid);
	res = h_emu_api(w->emu, ops);
	ck_assert(json_is_array(res));
	n = json_array_size(json_object_get(json_array_get(res, 0), "data"));
	json_decref(res);
	free(uid);
	return n == 1;
}

/* A nested AD group by its DN (another case): its people in ftrack. */
START_TEST(test_ad_nested_group)
{
	struct h_world *w;
	struct h_cmd_out r;
	json_t *res;

	if (!have_dc())
		return;
	w = h_samba_world(IGNORE CREATE GROUPS);
	ck_assert_ptr_nonnull(w);
	res = h_emu_api(w->emu,
			"[{\"action\": \"create\", \"entity_type\": "
			"\"Group\", \"entity_key\": [\"" ARTISTS "\"], "
			"\"entity_data\": {\"__entity_type__\": \"Group\", "
			"\"id\": \"" ARTISTS "\", \"name\": \"Artists\", "
			"\"local\": false}}]");
	ck_assert(json_is_array(res));
	json_decref(res);
	run(w, "check", 0, &r);
	ck_assert_msg(strstr(r.out, "[group_map] Artists") != NULL &&
			      strstr(r.out,
				     "ok, 'cn=artists,ou=groups,dc=corp,"
				     "dc=example,dc=com', 2 member(s)") != NULL,
		      "%s", r.out);
	h_cmd_clear(&r);
	run(w, "reconcile --apply", 0, &r);
	h_cmd_clear(&r);
	run(w, "reconcile --apply", 0, &r);
	h_cmd_clear(&r);
	ck_assert(artist(w, "alice")); /* through Comp */
	ck_assert(artist(w, "bob"));
	ck_assert(!artist(w, "erin"));
	h_world_stop(w);
}

END_TEST

Suite *
ad_suite(void)
{
	Suite *s = suite_create("ad");
	TCase *tc = tcase_create("samba");

	tcase_add_unchecked_fixture(tc, ad_setup, ad_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ad_root_held);
	tcase_add_test(tc, test_ad_root_ignored);
	tcase_add_test(tc, test_ad_no_expires_attribute);
	tcase_add_test(tc, test_ad_nested_group);
	suite_add_tcase(s, tc);
	return s;
}
