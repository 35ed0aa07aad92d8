/* SPDX-License-Identifier: Apache-2.0 */
/* check_plan_user.c: the per-person decision, table-driven. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "plan_user.h"

Suite *plan_user_suite(void);

static char skip0[] = "root";
static char prot0[] = "admin";
static char *skip_v[] = {skip0};
static char *prot_v[] = {prot0};

static struct config_policy
policy(void)
{
	struct config_policy p;

	memset(&p, 0, sizeof(p));
	p.on_login = ON_LOGIN_CREATE;
	p.missing = MISSING_DEACTIVATE;
	p.scope = SCOPE_MANAGED;
	p.reactivate = REACTIVATE_SYNC_DEACTIVATED;
	p.skip_users.v = skip_v;
	p.skip_users.n = 1;
	p.protected_users.v = prot_v;
	p.protected_users.n = 1;
	return p;
}

/* An LDAP person; strings are literals cast for the borrowed struct. */
static struct ft_user
L(const char *name, const char *uuid, const char *mail) {
	struct ft_user u;

	memset(&u, 0, sizeof(u));
	u.username = (char *)(uintptr_t)name;
	u.login = (char *)(uintptr_t)name;
	u.uuid = (char *)(uintptr_t)uuid;
	u.email = (char *)(uintptr_t)mail;
	u.first_name = (char *)(uintptr_t) "First";
	u.last_name = (char *)(uintptr_t) "Last";
	u.dn = (char *)(uintptr_t) "uid=x,ou=people,dc=example,dc=com";
	return u;

}

/* An ftrack user. */
static struct ft_user
F(const char *name, const char *uuid, const char *mail, bool active,
  const char *gone) {
	struct ft_user u = L(name, uuid, mail);

	u.login = NULL;
	u.dn = NULL;
	u.id = (char *)(uintptr_t) "00000000-0000-4000-8000-000000000001";
	u.is_active = active;
	u.deactivated = (char *)(uintptr_t)gone;
	return u;

}

START_TEST(test_create)

{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", "a@x");
	struct plan_action a;

	plan_user(&p, "ftrack-sync", &l, NULL, NULL, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CREATE);
	ck_assert(a.fields & PLAN_F_ACTIVATE);
	ck_assert(a.fields & PLAN_F_MARK_UUID);
	ck_assert_ptr_null(a.ftrack);
	plan_user(&p, "ftrack-sync", &l, NULL, NULL, false, &a);
	ck_assert_int_eq(a.kind, PLAN_SKIP);
	ck_assert_uint_eq(a.fields, 0);
}

END_TEST

START_TEST(test_in_sync_and_update)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", "a@x");
	struct ft_user f = F("alice", "u1", "a@x", true, NULL);
	struct plan_action a;

	plan_user(&p, "ftrack-sync", &l, &f, &f, true, &a);
	ck_assert_int_eq(a.kind, PLAN_NONE);
	ck_assert_uint_eq(a.fields, 0);
	f.email = (char *)(uintptr_t) "old@x";
	f.last_name = NULL;
	plan_user(&p, "ftrack-sync", &l, &f, &f, true, &a);
	ck_assert_int_eq(a.kind, PLAN_UPDATE);
	ck_assert_uint_eq(a.fields, PLAN_F_EMAIL | PLAN_F_LAST_NAME);
	ck_assert_str_eq(a.reason, "changed: email, last_name");
	/* LDAP without mail keeps ftrack's */
	l.email = NULL;
	plan_user(&p, "ftrack-sync", &l, &f, &f, true, &a);
	ck_assert_uint_eq(a.fields, PLAN_F_LAST_NAME);
}

END_TEST

START_TEST(test_link)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", "a@x");
	struct ft_user f = F("alice", NULL, "a@x", true, NULL);
	struct plan_action a;

	plan_user(&p, "ftrack-sync", &l, &f, NULL, false, &a);
	ck_assert_int_eq(a.kind, PLAN_LINK);
	ck_assert_uint_eq(a.fields, PLAN_F_MARK_UUID);
	ck_assert_ptr_eq(a.ftrack, &f);
}

END_TEST

START_TEST(test_rename)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice2", "u1", "a@x");
	struct ft_user f = F("alice", "u1", "a@x", true, NULL);
	struct plan_action a;

	plan_user(&p, "ftrack-sync", &l, NULL, &f, true, &a);
	ck_assert_int_eq(a.kind, PLAN_RENAME);
	ck_assert_uint_eq(a.fields, PLAN_F_USERNAME);
	ck_assert_str_eq(a.reason, "renamed in LDAP: 'alice' -> 'alice2'");
}

END_TEST

START_TEST(test_conflicts)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", "a@x");
	struct ft_user other = F("alice", "u2", "a@x", true, NULL);
	struct ft_user mine = F("alice-old", "u1", "a@x", true, NULL);
	struct plan_action a;

	/* the username is held by a user linked to another entry */
	plan_user(&p, "ftrack-sync", &l, &other, NULL, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CONFLICT);
	ck_assert_uint_eq(a.fields, 0);
	/* renamed onto a login that another ftrack user holds */
	plan_user(&p, "ftrack-sync", &l, &other, &mine, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CONFLICT);
	ck_assert_uint_eq(a.fields, 0);
}

END_TEST

static const struct {
	enum reactivate_policy pol;
	bool marker;
	enum plan_kind kind;
	unsigned fields;
} react[] = {
	{REACTIVATE_SYNC_DEACTIVATED, true, PLAN_REACTIVATE,
	 PLAN_F_ACTIVATE | PLAN_F_UNMARK_GONE},
	{REACTIVATE_SYNC_DEACTIVATED, false, PLAN_SKIP, 0},
	{REACTIVATE_ALWAYS, false, PLAN_REACTIVATE, PLAN_F_ACTIVATE},
	{REACTIVATE_ALWAYS, true, PLAN_REACTIVATE,
	 PLAN_F_ACTIVATE | PLAN_F_UNMARK_GONE},
	{REACTIVATE_NEVER, true, PLAN_SKIP, 0},
	{REACTIVATE_NEVER, false, PLAN_SKIP, 0},
};

START_TEST(test_reactivate)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", "a@x");
	struct ft_user f = F("alice", "u1", "a@x", false,
			     react[_i].marker ? "2026-11-01T00:00:00Z" : NULL);
	struct plan_action a;

	p.reactivate = react[_i].pol;
	plan_user(&p, "ftrack-sync", &l, &f, &f, true, &a);
	ck_assert_int_eq(a.kind, react[_i].kind);
	ck_assert_uint_eq(a.fields, react[_i].fields);
}

END_TEST

/* A leaver whose login comes back with a new LDAP entry (new uuid). */
START_TEST(test_returning_with_new_entry)
{
	struct config_policy p = policy();
	struct ft_user l = L("bob", "u-new", "b@x");
	struct ft_user f = F("bob", "u-old", "b@x", false, "2026-11-01");
	struct plan_action a;

	plan_user(&p, "ftrack-sync", &l, &f, NULL, true, &a);
	ck_assert_int_eq(a.kind, PLAN_REACTIVATE);
	ck_assert_uint_eq(a.fields, PLAN_F_MARK_UUID | PLAN_F_ACTIVATE |
					    PLAN_F_UNMARK_GONE);
	ck_assert_str_eq(a.reason, "back in LDAP with a new entry (relinked); "
				   "deactivated by the sync 2026-11-01");
	/* a seat taken back by hand, or reactivate = never: a person
	 * decides */
	f.deactivated = NULL;
	plan_user(&p, "ftrack-sync", &l, &f, NULL, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CONFLICT);
	f.deactivated = (char *)(uintptr_t) "2026-11-01";
	p.reactivate = REACTIVATE_NEVER;
	plan_user(&p, "ftrack-sync", &l, &f, NULL, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CONFLICT);
	/* still active under another entry: never taken over */
	p.reactivate = REACTIVATE_ALWAYS;
	f.is_active = true;
	plan_user(&p, "ftrack-sync", &l, &f, NULL, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CONFLICT);
}

END_TEST

START_TEST(test_stale_marker_on_active_user)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", "a@x");
	struct ft_user f = F("alice", "u1", "a@x", true, "2026-11-01");
	struct plan_action a;

	plan_user(&p, "ftrack-sync", &l, &f, &f, true, &a);
	ck_assert_int_eq(a.kind, PLAN_UPDATE);
	ck_assert_uint_eq(a.fields, PLAN_F_UNMARK_GONE);
}

END_TEST

/*
 * A user the sync asked to be active and ftrack kept inactive (the
 * seat_waiting marker): asked again, whatever `reactivate` says (the
 * write was decided already; nobody deactivated this user), never taken
 * for a seat an administrator took back.  Once active, the marker goes.
 */
#define SINCE "2026-11-02T00:00:00Z"

static const struct {
	enum reactivate_policy pol;
	bool active;
	const char *gone;     /* deactivated marker */
	const char *new_mail; /* LDAP's mail, when it differs */
	enum plan_kind kind;
	unsigned fields;
	const char *reason;
} waiting[] = {
	{REACTIVATE_SYNC_DEACTIVATED, false, NULL, NULL, PLAN_REACTIVATE,
	 PLAN_F_ACTIVATE, "waiting for a seat since " SINCE "; asked again"},
	{REACTIVATE_NEVER, false, NULL, NULL, PLAN_REACTIVATE, PLAN_F_ACTIVATE,
	 "waiting for a seat since " SINCE "; asked again"},
	{REACTIVATE_ALWAYS, false, NULL, NULL, PLAN_REACTIVATE, PLAN_F_ACTIVATE,
	 "waiting for a seat since " SINCE "; asked again"},
	/* both markers (a crash between two writes): the stale one goes */
	{REACTIVATE_NEVER, false, "2026-11-01", NULL, PLAN_REACTIVATE,
	 PLAN_F_ACTIVATE | PLAN_F_UNMARK_GONE,
	 "waiting for a seat since " SINCE "; asked again"},
	{REACTIVATE_SYNC_DEACTIVATED, false, NULL, "new@x", PLAN_REACTIVATE,
	 PLAN_F_ACTIVATE | PLAN_F_EMAIL,
	 "waiting for a seat since " SINCE "; asked again"},
	/* a seat given (by us, another host, or an administrator) */
	{REACTIVATE_SYNC_DEACTIVATED, true, NULL, NULL, PLAN_UPDATE,
	 PLAN_F_UNMARK_WAIT, "has a seat: waiting marker removed"},
	{REACTIVATE_NEVER, true, "2026-11-01", NULL, PLAN_UPDATE,
	 PLAN_F_UNMARK_WAIT | PLAN_F_UNMARK_GONE,
	 "has a seat: waiting marker removed"},
	{REACTIVATE_SYNC_DEACTIVATED, true, NULL, "new@x", PLAN_UPDATE,
	 PLAN_F_UNMARK_WAIT | PLAN_F_EMAIL, "changed: email"},
};

START_TEST(test_waiting_for_seat)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", "a@x");
	struct ft_user f =
		F("alice", "u1", "a@x", waiting[_i].active, waiting[_i].gone);
	struct plan_action a;

	f.seat_waiting = (char *)(uintptr_t)SINCE;
	if (waiting[_i].new_mail != NULL)
		l.email = (char *)(uintptr_t)waiting[_i].new_mail;
	p.reactivate = waiting[_i].pol;
	plan_user(&p, "ftrack-sync", &l, &f, &f, true, &a);
	ck_assert_int_eq(a.kind, waiting[_i].kind);
	ck_assert_uint_eq(a.fields, waiting[_i].fields);
	ck_assert_str_eq(a.reason, waiting[_i].reason);
	ck_assert_ptr_eq(a.ftrack, &f);
}

END_TEST

/* Waiting, and the login comes back with a new LDAP entry: relinked and
 * asked again, as a returning leaver is (even with reactivate = never:
 * the seat was asked for, not taken back). */
START_TEST(test_waiting_with_new_entry)
{
	struct config_policy p = policy();
	struct ft_user l = L("bob", "u-new", "b@x");
	struct ft_user f = F("bob", "u-old", "b@x", false, NULL);
	struct plan_action a;

	f.seat_waiting = (char *)(uintptr_t)SINCE;
	p.reactivate = REACTIVATE_NEVER;
	plan_user(&p, "ftrack-sync", &l, &f, NULL, true, &a);
	ck_assert_int_eq(a.kind, PLAN_REACTIVATE);
	ck_assert_uint_eq(a.fields, PLAN_F_MARK_UUID | PLAN_F_ACTIVATE);
	ck_assert_ptr_nonnull(strstr(a.reason, "new entry (relinked)"));
	ck_assert_ptr_nonnull(strstr(a.reason, "waiting for a seat"));
	/* active under the old entry: still a conflict */
	f.is_active = true;
	plan_user(&p, "ftrack-sync", &l, &f, NULL, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CONFLICT);
}

END_TEST

START_TEST(test_user_skips)
{
	struct config_policy p = policy();
	struct ft_user l = L("root", "u0", NULL);
	struct plan_action a;

	plan_user(&p, "ftrack-sync", &l, NULL, NULL, true, &a);
	ck_assert_int_eq(a.kind, PLAN_SKIP);
	ck_assert_str_eq(a.reason, "in skip_users");
	l = L("bob", "u3", NULL);
	l.disabled = true;
	plan_user(&p, "ftrack-sync", &l, NULL, NULL, true, &a);
	ck_assert_int_eq(a.kind, PLAN_SKIP);
	ck_assert_str_eq(a.reason, "disabled in LDAP");
	l = L("ftrack-sync", "u4", NULL);
	plan_user(&p, "ftrack-sync", &l, NULL, NULL, true, &a);
	ck_assert_int_eq(a.kind, PLAN_SKIP);
}

END_TEST

static const struct {
	const char *name;
	const char *uuid;
	bool active;
	enum missing_policy missing;
	enum scope_policy scope;
	enum plan_kind kind;
} miss[] = {
	{"bob", "u2", true, MISSING_DEACTIVATE, SCOPE_MANAGED, PLAN_DEACTIVATE},
	{"bob", "u2", false, MISSING_DEACTIVATE, SCOPE_MANAGED, PLAN_NONE},
	{"bob", NULL, true, MISSING_DEACTIVATE, SCOPE_MANAGED, PLAN_SKIP},
	{"bob", NULL, true, MISSING_DEACTIVATE, SCOPE_ALL, PLAN_DEACTIVATE},
	{"bob", "u2", true, MISSING_DELETE, SCOPE_MANAGED, PLAN_DELETE},
	{"bob", "u2", false, MISSING_DELETE, SCOPE_MANAGED, PLAN_DELETE},
	{"bob", "u2", true, MISSING_IGNORE, SCOPE_MANAGED, PLAN_SKIP},
	{"admin", "u2", true, MISSING_DEACTIVATE, SCOPE_ALL, PLAN_SKIP},
	{"admin", "u2", true, MISSING_DELETE, SCOPE_ALL, PLAN_SKIP},
	{"ftrack-sync", "u2", true, MISSING_DELETE, SCOPE_ALL, PLAN_SKIP},
	{"root", "u2", true, MISSING_DEACTIVATE, SCOPE_ALL, PLAN_SKIP},
};

START_TEST(test_missing)
{
	struct config_policy p = policy();
	struct ft_user f =
		F(miss[_i].name, miss[_i].uuid, NULL, miss[_i].active, NULL);
	struct plan_action a;

	p.missing = miss[_i].missing;
	p.scope = miss[_i].scope;
	plan_missing(&p, "ftrack-sync", &f, &a);
	ck_assert_int_eq(a.kind, miss[_i].kind);
	if (a.kind == PLAN_DEACTIVATE)
		ck_assert_uint_eq(a.fields,
				  PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE);
	else
		ck_assert_uint_eq(a.fields, 0);
}

END_TEST

/*
 * Left LDAP while waiting for a seat: the request is withdrawn (the
 * marker goes) and the user stays inactive, marked as the sync's own
 * deactivation, so that a return is a reactivation; unless kept.
 */
static const struct {
	const char *name;
	bool active;
	enum missing_policy missing;
	enum plan_kind kind;
	unsigned fields;
} miss_waiting[] = {
	{"bob", false, MISSING_DEACTIVATE, PLAN_DEACTIVATE,
	 PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE | PLAN_F_UNMARK_WAIT},
	{"bob", true, MISSING_DEACTIVATE, PLAN_DEACTIVATE,
	 PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE | PLAN_F_UNMARK_WAIT},
	{"bob", false, MISSING_DELETE, PLAN_DELETE, 0},
	{"bob", false, MISSING_IGNORE, PLAN_SKIP, 0},
	{"admin", false, MISSING_DEACTIVATE, PLAN_SKIP, 0},
};

START_TEST(test_missing_waiting)
{
	struct config_policy p = policy();
	struct ft_user f = F(miss_waiting[_i].name, "u2", NULL,
			     miss_waiting[_i].active, NULL);
	struct plan_action a;

	f.seat_waiting = (char *)(uintptr_t)SINCE;
	p.missing = miss_waiting[_i].missing;
	plan_missing(&p, "ftrack-sync", &f, &a);
	ck_assert_int_eq(a.kind, miss_waiting[_i].kind);
	ck_assert_uint_eq(a.fields, miss_waiting[_i].fields);
	if (a.kind == PLAN_DEACTIVATE)
		ck_assert_str_eq(a.reason, "not in LDAP (was waiting for a "
					   "seat since " SINCE ")");
}

END_TEST

/* ---- link_by = email -------------------------------------------------- */

#define MAIL_L "Alice.Smith@Studio.example"
#define MAIL_F "alice.smith@studio.example"

/* A match with the e-mail candidates c[0..n). */
static struct plan_match
M(const struct ft_user *by_name, const struct ft_user *by_uuid,
  const struct ft_user *const *c, size_t n) {
	struct plan_match m = {by_name, by_uuid, n ? c : NULL, n, false, NULL};

	return m;

}

START_TEST(test_link_by_email)

{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", MAIL_L);
	struct ft_user f = F(MAIL_F, NULL, MAIL_F, true, NULL);
	const struct ft_user *c[] = {&f};
	struct plan_match m = M(NULL, NULL, c, 1);
	struct plan_action a;

	plan_user_match(&p, "ftrack-sync", &l, &m, false, &a);
	ck_assert_int_eq(a.kind, PLAN_LINK);
	ck_assert_ptr_eq(a.ftrack, &f);
	/* the uuid and linked_by markers; the username stays the studio's */
	ck_assert_uint_eq(a.fields,
			  PLAN_F_MARK_UUID | PLAN_F_MARK_EMAIL | PLAN_F_EMAIL);
	ck_assert_str_eq(plan_link_by(&a), "email");
	ck_assert_ptr_nonnull(
		strstr(a.reason, "'" MAIL_F "' linked by e-mail"));
	ck_assert_ptr_nonnull(strstr(a.reason, "username is kept"));
	/* the same address: nothing to write but the markers */
	l.email = (char *)(uintptr_t)MAIL_F;
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_uint_eq(a.fields, PLAN_F_MARK_UUID | PLAN_F_MARK_EMAIL);
	/* no candidate: created (or skipped), as without link_by */
	m = M(NULL, NULL, NULL, 0);
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CREATE);
	ck_assert_ptr_null(plan_link_by(&a));
	/* an LDAP person without an address is never matched by one */
	l.email = NULL;
	m = M(NULL, NULL, c, 1);
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CREATE);
}

END_TEST

/* The order: uuid marker, then exact username, then e-mail. */
START_TEST(test_link_precedence)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", MAIL_F);
	struct ft_user mine = F("alice", "u1", MAIL_F, true, NULL);
	struct ft_user named = F("alice", NULL, "other@x", true, NULL);
	struct ft_user taken = F("alice", "u9", "other@x", true, NULL);
	struct ft_user mailed = F(MAIL_F, NULL, MAIL_F, true, NULL);
	const struct ft_user *c[] = {&mailed};
	struct plan_match m = M(NULL, &mine, c, 1);
	struct plan_action a;

	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_NONE);
	ck_assert_ptr_eq(a.ftrack, &mine);
	m = M(&named, NULL, c, 1);
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_LINK);
	ck_assert_ptr_eq(a.ftrack, &named);
	ck_assert_str_eq(plan_link_by(&a), "username");
	ck_assert_uint_eq(a.fields & PLAN_F_MARK_EMAIL, 0);
	/* a username conflict stays one: e-mail is not tried */
	m = M(&taken, NULL, c, 1);
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CONFLICT);
	ck_assert_ptr_nonnull(strstr(a.reason, "uuid u9"));
}

END_TEST

/* Cases where a single e-mail match is not linked: all conflicts. */
static const struct {
	const char *what;
	const char *uuid; /* the candidate's uuid marker */
	const char *gone; /* its deactivated marker */
	bool active, twin, api;
	const char *reason; /* part of the reason */
} email_conflicts[] = {
	{"linked to another entry", "u9", NULL, true, false, false,
	 "is linked to another LDAP entry (uuid u9)"},
	{"another LDAP entry has it", NULL, NULL, true, true, false,
	 "another LDAP entry has the e-mail"},
	{"the API user", NULL, NULL, true, false, true,
	 "is the API user's (not linked, not created)"},
};

START_TEST(test_link_by_email_refused)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", MAIL_L);
	struct ft_user f =
		F(MAIL_F, email_conflicts[_i].uuid, MAIL_F,
		  email_conflicts[_i].active, email_conflicts[_i].gone);
	const struct ft_user *c[] = {&f};
	struct plan_match m = M(NULL, NULL, c, 1);
	struct plan_action a;

	m.email_twin = email_conflicts[_i].twin;
	if (email_conflicts[_i].api)
		f.username = (char *)(uintptr_t) "ftrack-sync";
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_msg(a.kind == PLAN_CONFLICT, "%s: %s",
		      email_conflicts[_i].what, a.reason);
	ck_assert_ptr_null(a.ftrack);
	ck_assert_uint_eq(a.fields, 0);
	ck_assert_msg(strstr(a.reason, email_conflicts[_i].reason) != NULL,
		      "%s: %s", email_conflicts[_i].what, a.reason);
}

END_TEST

START_TEST(test_link_by_email_two_users)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", MAIL_L);
	struct ft_user f1 = F(MAIL_F, NULL, MAIL_F, true, NULL);
	struct ft_user f2 = F("asmith", NULL, MAIL_L, false, NULL);
	const struct ft_user *c[] = {&f1, &f2};
	struct plan_match m = M(NULL, NULL, c, 2);
	struct plan_action a;

	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CONFLICT);
	ck_assert_ptr_null(a.ftrack);
	ck_assert_str_eq(a.reason,
			 "2 ftrack users have the e-mail '" MAIL_L
			 "' (not linked, not created): '" MAIL_F "', 'asmith'");
}

END_TEST

/* A user linked by e-mail that left and came back with a new entry. */
START_TEST(test_link_by_email_returning)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u2", MAIL_F);
	struct ft_user f =
		F(MAIL_F, "u1", MAIL_F, false, "2026-01-01T00:00:00Z");
	const struct ft_user *c[] = {&f};
	struct plan_match m = M(NULL, NULL, c, 1);
	struct plan_action a;

	f.linked_by = (char *)(uintptr_t)FT_LINKED_BY_EMAIL;
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_REACTIVATE);
	ck_assert_uint_eq(a.fields, PLAN_F_MARK_UUID | PLAN_F_ACTIVATE |
					    PLAN_F_UNMARK_GONE);
	ck_assert_str_eq(plan_link_by(&a), "email");
	/* reactivate = never: left for a person */
	p.reactivate = REACTIVATE_NEVER;
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_CONFLICT);
}

END_TEST

/*
 * A login reused by a new LDAP entry, with [group_map]/[role_map]: the old
 * account is relinked only when it holds nothing given by hand.
 */
START_TEST(test_returning_hand_made)
{
	static const struct {
		const char *hand_made;
		bool by_email;
		enum plan_kind kind;
	} t[] = {
		{NULL, false, PLAN_REACTIVATE},
		{"group 'Compositing'", false, PLAN_CONFLICT},
		{"role 'Supervisor'", false, PLAN_CONFLICT},
		{NULL, true, PLAN_REACTIVATE},
		{"group 'Lighting', role 'Supervisor'", true, PLAN_CONFLICT},
	};
	struct config_policy p = policy();
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ft_user l = L("bob", "u-new", "b@x");
		struct ft_user f = F(t[i].by_email ? "robert" : "bob", "u-old",
				     "b@x", false, "2026-11-01");
		const struct ft_user *c[] = {&f};
		struct plan_match m = t[i].by_email ? M(NULL, NULL, c, 1)
						    : M(&f, NULL, NULL, 0);
		struct plan_action a;
		char want[PLAN_REASON_MAX];

		m.hand_made = t[i].hand_made;
		plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
		ck_assert_msg(a.kind == t[i].kind, "row %zu: %s (%s)", i,
			      plan_kind_name(a.kind), a.reason);
		if (t[i].kind != PLAN_CONFLICT) {
			ck_assert(a.fields & PLAN_F_MARK_UUID);
			ck_assert_ptr_eq(a.ftrack, &f);
			continue;
		}
		(void)snprintf(want, sizeof(want),
			       "'%s' is back in LDAP with a new entry but its "
			       "old account holds what an administrator gave "
			       "by hand (%s): not relinked",
			       f.username, t[i].hand_made);
		ck_assert_str_eq(a.reason, want);
		ck_assert_ptr_null(a.ftrack);
		ck_assert_uint_eq(a.fields, 0);
	}
}

END_TEST

/* hand_made changes nothing for a user that is not being relinked. */
START_TEST(test_hand_made_only_for_relinks)
{
	struct config_policy p = policy();
	struct ft_user l = L("bob", "u-old", "b@x");
	struct ft_user f = F("bob", "u-old", "b@x", true, NULL);
	struct plan_match m = M(&f, &f, NULL, 0);
	struct plan_action a;

	m.hand_made = "group 'Compositing'";
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_NONE);
	/* an unmanaged user of the same name: linked as before */
	f.uuid = NULL;
	f.deactivated = NULL;
	m.by_uuid = NULL;
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_LINK);
}

END_TEST

/* Linked by e-mail: username is not synced, the uuid marker decides. */
START_TEST(test_linked_by_email_keeps_username)
{
	struct config_policy p = policy();
	struct ft_user l = L("alice", "u1", MAIL_F);
	struct ft_user f = F(MAIL_F, "u1", MAIL_F, true, NULL);
	struct ft_user other = F("alice", NULL, "other@x", true, NULL);
	struct plan_match m = M(NULL, &f, NULL, 0);
	struct plan_action a;

	f.linked_by = (char *)(uintptr_t)FT_LINKED_BY_EMAIL;
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_NONE);
	ck_assert_uint_eq(a.fields, 0);
	/* other fields are still synced; the username never */
	f.first_name = (char *)(uintptr_t) "Old";
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_UPDATE);
	ck_assert_uint_eq(a.fields, PLAN_F_FIRST_NAME);
	/* an ftrack user named like the login is another user, no conflict */
	m = M(&other, &f, NULL, 0);
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_UPDATE);
	ck_assert_ptr_eq(a.ftrack, &f);
	/* without the marker (or with another value) it is a rename */
	f.linked_by = (char *)(uintptr_t) "username";
	m = M(NULL, &f, NULL, 0);
	plan_user_match(&p, "ftrack-sync", &l, &m, true, &a);
	ck_assert_int_eq(a.kind, PLAN_RENAME);
	ck_assert(a.fields & PLAN_F_USERNAME);
	f.linked_by = NULL;
	plan_user(&p, "ftrack-sync", &l, NULL, &f, true, &a);
	ck_assert_int_eq(a.kind, PLAN_RENAME);
}

END_TEST

START_TEST(test_protected_reason)
{
	struct config_policy p = policy();
	struct ft_user api = F("ftrack-sync", NULL, NULL, true, NULL);
	struct ft_user adm = F("admin", NULL, NULL, true, NULL);
	struct ft_user root = F("root", NULL, NULL, true, NULL);
	struct ft_user bob = F("bob", NULL, NULL, true, NULL);

	ck_assert_str_eq(plan_protected_reason(&p, "ftrack-sync", &api),
			 "the API user itself");
	ck_assert_str_eq(plan_protected_reason(&p, "ftrack-sync", &adm),
			 "in protected_users");
	ck_assert_str_eq(plan_protected_reason(&p, "ftrack-sync", &root),
			 "in skip_users");
	ck_assert_ptr_null(plan_protected_reason(&p, "ftrack-sync", &bob));
}

END_TEST

START_TEST(test_kind_names)
{
	ck_assert_str_eq(plan_kind_name(PLAN_CREATE), "create");
	ck_assert_str_eq(plan_kind_name(PLAN_SKIP), "skip");
	ck_assert_str_eq(plan_kind_name((enum plan_kind)99), "?");
}

END_TEST

/* The text fields' bits, names and slots agree, for `--undo` and the
 * reports' old and new values. */
START_TEST(test_field_names_and_slots)
{
	static const char *const names[PLAN_NFIELDS] = {
		"username", "email", "first_name", "last_name"};
	struct ft_user u = {0};
	char *vals[PLAN_NFIELDS] = {
		(char *)(uintptr_t) "u", (char *)(uintptr_t) "e",
		(char *)(uintptr_t) "f", (char *)(uintptr_t) "l"};
	size_t i;

	for (i = 0; i < PLAN_NFIELDS; i++) {
		unsigned bit = PLAN_FIELDS[i];

		ck_assert_str_eq(plan_field_name(bit), names[i]);
		*plan_field_slot(&u, bit) = vals[i];
		ck_assert_ptr_eq(plan_field_get(&u, bit), vals[i]);
	}
	ck_assert_ptr_eq(u.username, vals[0]);
	ck_assert_ptr_eq(u.email, vals[1]);
	ck_assert_ptr_eq(u.first_name, vals[2]);
	ck_assert_ptr_eq(u.last_name, vals[3]);
	ck_assert_ptr_null(plan_field_name(PLAN_F_ACTIVATE));
	ck_assert_ptr_null(plan_field_slot(&u, PLAN_F_MARK_UUID));
	ck_assert_ptr_null(plan_field_get(&u, PLAN_F_UNMARK_UUID));
}

END_TEST

Suite *
plan_user_suite(void)
{
	Suite *s = suite_create("plan_user");
	TCase *tc = tcase_create("user");

	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_field_names_and_slots);
	tcase_add_test(tc, test_in_sync_and_update);
	tcase_add_test(tc, test_link);
	tcase_add_test(tc, test_rename);
	tcase_add_test(tc, test_conflicts);
	tcase_add_loop_test(tc, test_reactivate, 0,
			    (int)(sizeof(react) / sizeof(react[0])));
	tcase_add_test(tc, test_returning_with_new_entry);
	tcase_add_test(tc, test_stale_marker_on_active_user);
	tcase_add_loop_test(tc, test_waiting_for_seat, 0,
			    (int)(sizeof(waiting) / sizeof(waiting[0])));
	tcase_add_test(tc, test_waiting_with_new_entry);
	tcase_add_test(tc, test_user_skips);
	tcase_add_loop_test(tc, test_missing, 0,
			    (int)(sizeof(miss) / sizeof(miss[0])));
	tcase_add_loop_test(
		tc, test_missing_waiting, 0,
		(int)(sizeof(miss_waiting) / sizeof(miss_waiting[0])));
	tcase_add_test(tc, test_link_by_email);
	tcase_add_test(tc, test_link_precedence);
	tcase_add_loop_test(tc, test_link_by_email_refused, 0,
			    sizeof(email_conflicts) /
				    sizeof(email_conflicts[0]));
	tcase_add_test(tc, test_link_by_email_two_users);
	tcase_add_test(tc, test_link_by_email_returning);
	tcase_add_test(tc, test_returning_hand_made);
	tcase_add_test(tc, test_hand_made_only_for_relinks);
	tcase_add_test(tc, test_linked_by_email_keeps_username);
	tcase_add_test(tc, test_protected_reason);
	tcase_add_test(tc, test_kind_names);
	suite_add_tcase(s, tc);
	return s;
}
