/* SPDX-License-Identifier: Apache-2.0 */
/* check_plan_undo.c: the plan of `reconcile --undo RUN`, table-driven. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "harness.h"
#include "plan_undo.h"

Suite *plan_undo_suite(void);

#define S(lit) ((char *)(uintptr_t)(lit))

/*
 * One change of the run, the user as ftrack has it now, and what the undo
 * must do: its kind, the fields it writes, the values it writes back and
 * words its reason must hold.
 */
struct undo_case {
	const char *name;
	struct report_change c;
	bool gone;          /* the user is no longer in ftrack */
	struct ft_user now; /* the user now (id "id-x") */
	bool listed;        /* false: no action at all */
	enum plan_kind kind;
	unsigned fields;
	const char *username, *email, *uuid; /* written back; NULL: none */
	const char *reason;                  /* a part of the reason */
};

#define ID "id-x"

static const struct undo_case cases[] = {
	{"deactivated: reactivated, marker removed",
	 {PLAN_DEACTIVATE,
	  true,
	  S("x"),
	  S(ID),
	  PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE,
	  {.is_active = true},
	  {.is_active = false, .deactivated = S("set")}},
	 false,
	 {.username = S("x"), .id = S(ID), .deactivated = S("2024-05-06")},
	 true,
	 PLAN_REACTIVATE,
	 PLAN_F_ACTIVATE | PLAN_F_UNMARK_GONE,
	 "x",
	 NULL,
	 NULL,
	 "puts back is_active"},
	{"deactivated, reactivated by hand since: left as is",
	 {PLAN_DEACTIVATE,
	  true,
	  S("x"),
	  S(ID),
	  PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE,
	  {.is_active = true},
	  {.is_active = false, .deactivated = S("set")}},
	 false,
	 {.username = S("x"), .id = S(ID), .is_active = true},
	 true,
	 PLAN_SKIP,
	 0,
	 "x",
	 NULL,
	 NULL,
	 "as before that run already"},
	{"email changed: put back",
	 {PLAN_UPDATE,
	  true,
	  S("x"),
	  S(ID),
	  PLAN_F_EMAIL,
	  {.email = S("old@x")},
	  {.email = S("new@x")}},
	 false,
	 {.username = S("x"),
	  .id = S(ID),
	  .email = S("new@x"),
	  .is_active = true},
	 true,
	 PLAN_UPDATE,
	 PLAN_F_EMAIL,
	 "x",
	 "old@x",
	 NULL,
	 "puts back email"},
	{"email changed by hand since: left as is",
	 {PLAN_UPDATE,
	  true,
	  S("x"),
	  S(ID),
	  PLAN_F_EMAIL,
	  {.email = S("old@x")},
	  {.email = S("new@x")}},
	 false,
	 {.username = S("x"),
	  .id = S(ID),
	  .email = S("hand@x"),
	  .is_active = true},
	 true,
	 PLAN_SKIP,
	 0,
	 "x",
	 NULL,
	 NULL,
	 "changed since that run, left as is: email"},
	{"email had no value before: left (ftrack cannot be written none)",
	 {PLAN_UPDATE,
	  true,
	  S("x"),
	  S(ID),
	  PLAN_F_EMAIL,
	  {.email = NULL},
	  {.email = S("new@x")}},
	 false,
	 {.username = S("x"),
	  .id = S(ID),
	  .email = S("new@x"),
	  .is_active = true},
	 true,
	 PLAN_SKIP,
	 0,
	 "x",
	 NULL,
	 NULL,
	 "left as is: email"},
	{"renamed: the old username back",
	 {PLAN_RENAME,
	  true,
	  S("new"),
	  S(ID),
	  PLAN_F_USERNAME,
	  {.username = S("old")},
	  {.username = S("new")}},
	 false,
	 {.username = S("new"), .id = S(ID), .is_active = true},
	 true,
	 PLAN_RENAME,
	 PLAN_F_USERNAME,
	 "old",
	 NULL,
	 NULL,
	 "puts back username"},
	{"renamed, the old name taken since: left as is",
	 {PLAN_RENAME,
	  true,
	  S("new"),
	  S(ID),
	  PLAN_F_USERNAME,
	  {.username = S("taken")},
	  {.username = S("new")}},
	 false,
	 {.username = S("new"), .id = S(ID), .is_active = true},
	 true,
	 PLAN_SKIP,
	 0,
	 "new",
	 NULL,
	 NULL,
	 "the old one is another user's now"},
	{"reactivated with a rename and a mail: all of it back",
	 {PLAN_REACTIVATE,
	  true,
	  S("new"),
	  S(ID),
	  PLAN_F_USERNAME | PLAN_F_EMAIL | PLAN_F_ACTIVATE | PLAN_F_UNMARK_GONE,
	  {.username = S("old"),
	   .email = S("o@x"),
	   .is_active = false,
	   .deactivated = S("2024-01-01T00:00:00Z")},
	  {.username = S("new"), .email = S("n@x"), .is_active = true}},
	 false,
	 {.username = S("new"),
	  .id = S(ID),
	  .email = S("n@x"),
	  .is_active = true},
	 true,
	 PLAN_DEACTIVATE,
	 PLAN_F_USERNAME | PLAN_F_EMAIL | PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE,
	 "old",
	 "o@x",
	 NULL,
	 "puts back username, email, is_active"},
	{"reactivated, a protected user: never deactivated",
	 {PLAN_REACTIVATE,
	  true,
	  S("boss"),
	  S(ID),
	  PLAN_F_ACTIVATE,
	  {.is_active = false},
	  {.is_active = true}},
	 false,
	 {.username = S("boss"), .id = S(ID), .is_active = true},
	 true,
	 PLAN_SKIP,
	 0,
	 "boss",
	 NULL,
	 NULL,
	 "in protected_users"},
	{"linked: the uuid marker removed",
	 {PLAN_LINK,
	  true,
	  S("x"),
	  S(ID),
	  PLAN_F_MARK_UUID,
	  {.uuid = NULL},
	  {.uuid = S("u1")}},
	 false,
	 {.username = S("x"), .id = S(ID), .uuid = S("u1"), .is_active = true},
	 true,
	 PLAN_UPDATE,
	 PLAN_F_UNMARK_UUID,
	 "x",
	 NULL,
	 NULL,
	 "puts back uuid marker"},
	{"relinked: the old uuid marker back",
	 {PLAN_REACTIVATE,
	  true,
	  S("x"),
	  S(ID),
	  PLAN_F_MARK_UUID,
	  {.uuid = S("u0")},
	  {.uuid = S("u1")}},
	 false,
	 {.username = S("x"), .id = S(ID), .uuid = S("u1"), .is_active = true},
	 true,
	 PLAN_UPDATE,
	 PLAN_F_MARK_UUID,
	 "x",
	 NULL,
	 "u0",
	 "puts back uuid marker"},
	{"an undone link, undone: the marker back",
	 {PLAN_UPDATE,
	  true,
	  S("x"),
	  S(ID),
	  PLAN_F_UNMARK_UUID,
	  {.uuid = S("u1")},
	  {.uuid = NULL}},
	 false,
	 {.username = S("x"), .id = S(ID), .is_active = true},
	 true,
	 PLAN_UPDATE,
	 PLAN_F_MARK_UUID,
	 "x",
	 NULL,
	 "u1",
	 "puts back uuid marker"},
	{"created: left as is",
	 {PLAN_CREATE, true, S("x"), NULL, 0, {0}, {0}},
	 true,
	 {0},
	 true,
	 PLAN_SKIP,
	 0,
	 "x",
	 NULL,
	 NULL,
	 "created by that run: left as is"},
	{"deleted: cannot be brought back",
	 {PLAN_DELETE, true, S("x"), S(ID), 0, {0}, {0}},
	 true,
	 {0},
	 true,
	 PLAN_SKIP,
	 0,
	 "x",
	 NULL,
	 NULL,
	 "cannot be brought back"},
	{"failed in that run: nothing to undo",
	 {PLAN_UPDATE,
	  false,
	  S("x"),
	  S(ID),
	  PLAN_F_EMAIL,
	  {.email = S("o")},
	  {.email = S("n")}},
	 false,
	 {.username = S("x"), .id = S(ID), .email = S("n")},
	 true,
	 PLAN_SKIP,
	 0,
	 "x",
	 NULL,
	 NULL,
	 "not done by that run"},
	{"no longer in ftrack",
	 {PLAN_UPDATE,
	  true,
	  S("x"),
	  S(ID),
	  PLAN_F_EMAIL,
	  {.email = S("o")},
	  {.email = S("n")}},
	 true,
	 {0},
	 true,
	 PLAN_SKIP,
	 0,
	 "x",
	 NULL,
	 NULL,
	 "no longer in ftrack"},
	{"the API user: never touched",
	 {PLAN_UPDATE,
	  true,
	  S("api"),
	  S(ID),
	  PLAN_F_EMAIL,
	  {.email = S("o")},
	  {.email = S("n")}},
	 false,
	 {.username = S("api"), .id = S(ID), .email = S("n")},
	 true,
	 PLAN_SKIP,
	 0,
	 "api",
	 NULL,
	 NULL,
	 "the API user"},
	{"a conflict of that run: not listed",
	 {PLAN_CONFLICT, true, S("x"), NULL, 0, {0}, {0}},
	 true,
	 {0},
	 false,
	 PLAN_NONE,
	 0,
	 NULL,
	 NULL,
	 NULL,
	 NULL},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static bool
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

START_TEST(test_undo_table)
{
	const struct undo_case *t = &cases[_i];
	struct config_policy pol;
	struct ft_user_list ftrack = {0};
	struct ft_user taken = {.username = S("taken"), .id = S("id-t")};
	struct report_change c = t->c;
	struct report_run run = {.v = &c, .n = 1};
	struct ft_user users[2];
	char *prot[] = {S("boss")};
	struct plan_undo u;
	struct plan_undo_input in = {&pol, "api", &run, &ftrack};
	const struct plan_action *a;

	memset(&pol, 0, sizeof(pol));
	pol.protected_users.v = prot;
	pol.protected_users.n = 1;
	(void)snprintf(run.run, sizeof(run.run), "20240506T070809Z");
	users[0] = taken;
	users[1] = t->now;
	ftrack.v = users;
	ftrack.n = t->gone ? 1 : 2;
	ck_assert_int_eq(plan_undo_build(&in, &u), FT_OK);
	ck_assert_msg(u.plan.n == (t->listed ? 1u : 0u), "%s: %zu actions",
		      t->name, u.plan.n);
	if (!t->listed) {
		plan_undo_free(&u);
		return;
	}
	a = &u.plan.v[0];
	ck_assert_msg(a->kind == t->kind, "%s: kind %s", t->name,
		      plan_kind_name(a->kind));
	ck_assert_msg(a->fields == t->fields, "%s: fields %#x, want %#x",
		      t->name, a->fields, t->fields);
	ck_assert_uint_eq(u.plan.count[t->kind], 1);
	ck_assert_msg(same(a->ldap->username, t->username), "%s: user %s",
		      t->name, a->ldap->username);
	ck_assert_msg(same(a->ldap->email, t->email), "%s: email %s", t->name,
		      a->ldap->email);
	ck_assert_msg(same(a->ldap->uuid, t->uuid), "%s: uuid %s", t->name,
		      a->ldap->uuid);
	ck_assert_msg(strstr(a->reason, t->reason) != NULL,
		      "%s: reason '%s' lacks '%s'", t->name, a->reason,
		      t->reason);
	if (!t->gone && t->c.ok) /* found, and checked against now */
		ck_assert_ptr_eq(a->ftrack, &users[1]);
	ck_assert(!plan_recon_held(&u.plan, false));
	plan_undo_free(&u);
	ck_assert_uint_eq(u.plan.n, 0);
}

END_TEST

/* Several changes: one action each, in the run's order, the counts
 * summed; an empty run plans nothing. */
START_TEST(test_undo_counts)
{
	struct config_policy pol;
	struct ft_user now[3] = {
		{.username = S("a"), .id = S("1"), .email = S("n")},
		{.username = S("b"), .id = S("2")},
		{.username = S("c"), .id = S("3"), .is_active = true},
	};
	struct ft_user_list ftrack = {now, 3, 3};
	struct report_change ch[4] = {
		{PLAN_UPDATE,
		 true,
		 S("a"),
		 S("1"),
		 PLAN_F_EMAIL,
		 {.email = S("o")},
		 {.email = S("n")}},
		{PLAN_DEACTIVATE,
		 true,
		 S("b"),
		 S("2"),
		 PLAN_F_DEACTIVATE,
		 {.is_active = true},
		 {.is_active = false}},
		{PLAN_NONE, true, S("c"), S("3"), 0, {0}, {0}},
		{PLAN_CREATE, true, S("d"), NULL, 0, {0}, {0}},
	};
	struct report_run run = {.v = ch, .n = 4};
	struct plan_undo_input in = {&pol, "api", &run, &ftrack};
	struct plan_undo u;

	memset(&pol, 0, sizeof(pol));
	ck_assert_int_eq(plan_undo_build(&in, &u), FT_OK);
	ck_assert_uint_eq(u.plan.n, 3);
	ck_assert(u.plan.v[0].kind == PLAN_UPDATE);
	ck_assert(u.plan.v[1].kind == PLAN_REACTIVATE);
	ck_assert(u.plan.v[2].kind == PLAN_SKIP);
	ck_assert_uint_eq(plan_recon_changes(&u.plan), 2);
	/* each action's values are its own */
	ck_assert_ptr_eq(u.plan.v[0].ldap, &u.target[0]);
	ck_assert_ptr_eq(u.plan.v[2].ldap, &u.target[2]);
	plan_undo_free(&u);
	run.n = 0;
	ck_assert_int_eq(plan_undo_build(&in, &u), FT_OK);
	ck_assert_uint_eq(u.plan.n, 0);
	ck_assert_uint_eq(plan_recon_changes(&u.plan), 0);
	plan_undo_free(&u);
}

END_TEST

/* Many users, listed in no order: each change finds its own user (by
 * id, and the rename's old name by username). */
START_TEST(test_undo_many_unordered)
{
	enum { N = 2000 };

	static char ids[N][16], names[N][16], olds[N][16];
	static struct ft_user now[N];
	static struct report_change ch[N];
	struct config_policy pol;
	struct ft_user_list ftrack = {now, N, N};
	struct report_run run = {.v = ch, .n = N};
	struct plan_undo_input in = {&pol, "api", &run, &ftrack};
	struct plan_undo u;
	size_t i;

	memset(&pol, 0, sizeof(pol));
	for (i = 0; i < N; i++) {
		size_t k = (i * 7919) % N; /* a permutation of 0..N-1 */

		H_FMT(ids[k], "id-%05zu", k);
		H_FMT(names[k], "new%05zu", k);
		H_FMT(olds[k], "old%05zu", k);
		memset(&now[i], 0, sizeof(now[i]));
		now[i].id = ids[k];
		now[i].username = names[k];
	}
	/* user 0 of the list has taken the old name of change 1 */
	now[0].username = olds[1];
	for (i = 0; i < N; i++) {
		memset(&ch[i], 0, sizeof(ch[i]));
		ch[i].kind = PLAN_RENAME;
		ch[i].ok = true;
		ch[i].id = ids[i];
		ch[i].user = names[i];
		ch[i].fields = PLAN_F_USERNAME;
		ch[i].before.username = olds[i];
		ch[i].after.username = names[i];
	}
	ck_assert_int_eq(plan_undo_build(&in, &u), FT_OK);
	ck_assert_uint_eq(u.plan.n, N);
	for (i = 0; i < N; i++) {
		const struct plan_action *a = &u.plan.v[i];

		ck_assert_ptr_nonnull(a->ftrack);
		ck_assert_str_eq(a->ftrack->id, ids[i]);
		if (i == 1 || a->ftrack == &now[0]) {
			/* its old name is taken, or its name was changed */
			ck_assert_int_eq(a->kind, PLAN_SKIP);
			continue;
		}
		ck_assert_int_eq(a->kind, PLAN_RENAME);
		ck_assert_str_eq(a->ldap->username, olds[i]);
	}
	plan_undo_free(&u);
}

END_TEST

Suite *
plan_undo_suite(void)
{
	Suite *s = suite_create("plan_undo");
	TCase *t = tcase_create("plan");

	tcase_add_loop_test(t, test_undo_table, 0, (int)NCASES);
	tcase_add_test(t, test_undo_counts);
	tcase_add_test(t, test_undo_many_unordered);
	suite_add_tcase(s, t);
	return s;
}
