/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_plan_ops.c: decisions written to ftrack (plan_ops_write) against
 * the real emulator: every kind of action, one person per group, a refused
 * POST isolated person by person, skipped and invalid actions, transient
 * failures, and a deactivation that never lands without its marker.
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
#include "h_ftrack.h"
#include "harness.h"
#include "plan_ops.h"
#include "plan_user.h"

Suite *plan_ops_suite(void);

/* h_ft_start(): one emulator and one client (h_ft_cl) per test; POSTs of
 * batch_size operations. */
static void
start(unsigned batch_size)
{
	h_ft_start(NULL);
	h_ft_client(H_EMU_KEY, 10, batch_size);
}

static struct ft_user
person(const char *username, const char *uuid)
{
	struct ft_user u;

	memset(&u, 0, sizeof(u));
	u.username = strdup(username);
	u.first_name = strdup("First");
	u.last_name = strdup("Last");
	u.email = strdup("someone@example.com");
	u.uuid = uuid != NULL ? strdup(uuid) : NULL;
	u.is_active = true;
	return u;
}

/* The ftrack user `username` as the client sees it (markers included). */
static struct ft_user
fetch(const char *username)
{
	const char *const names[] = {username};
	struct ft_user_list list = {NULL, 0, 0};
	struct ft_user u;
	char err[256] = "";

	ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, names, 1, NULL, 0, &list,
					     err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(list.n, 1);
	u = list.v[0];
	memset(&list.v[0], 0, sizeof(list.v[0]));
	ft_user_list_clear(&list);
	return u;
}

/* Write one action and return its code (asserting the call's own). */
static int
write_one(const struct plan_action *a, char **msg)
{
	char err[256] = "";
	int code = 12345;

	*msg = NULL;
	(void)plan_ops_write(h_ft_cl, a, NULL, 1, &code, msg, err, sizeof(err));
	return code;
}

static struct plan_action
action(enum plan_kind kind, unsigned fields, const struct ft_user *l,
       const struct ft_user *f)
{
	struct plan_action a;

	memset(&a, 0, sizeof(a));
	a.kind = kind;
	a.fields = fields;
	a.ldap = l;
	a.ftrack = f;
	return a;
}

START_TEST(test_each_kind)
{
	struct ft_user l = person("alice", "uuid-alice"), f, g;
	struct plan_action a;
	char *msg = NULL;

	start(100);
	/* create, with its uuid marker */
	a = action(PLAN_CREATE, 0, &l, NULL);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	ck_assert_ptr_null(msg);
	f = fetch("alice");
	ck_assert_str_eq(f.uuid, "uuid-alice");
	ck_assert(f.is_active);
	/* update the fields that differ */
	free(l.email);
	l.email = strdup("alice@example.com");
	a = action(PLAN_UPDATE, PLAN_F_EMAIL | PLAN_F_ACTIVATE, &l, &f);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	g = fetch("alice");
	ck_assert_str_eq(g.email, "alice@example.com");
	ft_user_clear(&g);
	/* deactivate: is_active false and the marker, together */
	a = action(PLAN_DEACTIVATE, PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE, NULL,
		   &f);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	g = fetch("alice");
	ck_assert(!g.is_active);
	ck_assert_ptr_nonnull(g.deactivated);
	ck_assert_uint_eq(strlen(g.deactivated), 20); /* an ISO 8601 time */
	ck_assert_int_eq(g.deactivated[19], 'Z');
	/* reactivate: the marker goes */
	a = action(PLAN_REACTIVATE, PLAN_F_ACTIVATE | PLAN_F_UNMARK_GONE, &l,
		   &g);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	ft_user_clear(&g);
	g = fetch("alice");
	ck_assert(g.is_active);
	ck_assert_ptr_null(g.deactivated);
	ck_assert_str_eq(g.uuid, "uuid-alice");
	/* nothing to do writes nothing and succeeds */
	a = action(PLAN_NONE, 0, &l, &g);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	ft_user_clear(&g);
	ft_user_clear(&f);
	ft_user_clear(&l);
	h_ft_stop();
}

END_TEST

/* A link marks an existing, unmarked account with the LDAP uuid. */
START_TEST(test_link_marks_uuid)
{
	struct ft_user l = person("bob", NULL), f, g;
	struct plan_action a;
	char *msg = NULL;

	start(100);
	a = action(PLAN_CREATE, 0, &l, NULL);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	f = fetch("bob");
	ck_assert_ptr_null(f.uuid);
	l.uuid = strdup("uuid-bob");
	a = action(PLAN_LINK, PLAN_F_MARK_UUID, &l, &f);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	g = fetch("bob");
	ck_assert_str_eq(g.uuid, "uuid-bob");
	/* a link without the uuid it needs is refused before any write */
	free(l.uuid);
	l.uuid = NULL;
	ck_assert_int_eq(write_one(&a, &msg), FT_E_INVAL);
	ft_user_clear(&g);
	ft_user_clear(&f);
	ft_user_clear(&l);
	h_ft_stop();
}

END_TEST

/* An undone link (`reconcile --undo`): the uuid marker goes, nothing else
 * of the user changes. */
START_TEST(test_unlink_removes_uuid)
{
	struct ft_user l = person("carl", "uuid-carl"), f, g;
	struct plan_action a;
	char *msg = NULL;

	start(100);
	a = action(PLAN_CREATE, 0, &l, NULL);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	f = fetch("carl");
	ck_assert_str_eq(f.uuid, "uuid-carl");
	a = action(PLAN_UPDATE, PLAN_F_UNMARK_UUID, &l, &f);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	g = fetch("carl");
	ck_assert_ptr_null(g.uuid);
	ck_assert(g.is_active);
	ck_assert_str_eq(g.email, "someone@example.com");
	ft_user_clear(&g);
	ft_user_clear(&f);
	ft_user_clear(&l);
	h_ft_stop();
}

END_TEST

/*
 * A link by e-mail: the uuid marker and the linked_by marker in one group,
 * and the ftrack username (the studio's e-mail login) left as it is; the
 * link undone removes both.
 */
START_TEST(test_link_by_email_marks)
{
	struct ft_user made = person("Carol.Ng@Studio.example", NULL), f, g;
	struct ft_user l = person("carol", "uuid-carol");
	struct plan_action a;
	char *msg = NULL;

	start(100);
	a = action(PLAN_CREATE, 0, &made, NULL);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	f = fetch("Carol.Ng@Studio.example");
	a = action(PLAN_LINK,
		   PLAN_F_MARK_UUID | PLAN_F_MARK_EMAIL | PLAN_F_FIRST_NAME, &l,
		   &f);
	free(l.first_name);
	l.first_name = strdup("Carol");
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	g = fetch("Carol.Ng@Studio.example");
	ck_assert_str_eq(g.uuid, "uuid-carol");
	ck_assert_str_eq(g.linked_by, FT_LINKED_BY_EMAIL);
	ck_assert_str_eq(g.first_name, "Carol");
	ck_assert(ft_user_linked_by_email(&g));
	ck_assert_int_eq(h_emu_named(h_ft_emu, "carol"), 0);
	/* undone (reconcile --undo): both markers go, the user stays */
	a = action(PLAN_UPDATE, PLAN_F_UNMARK_UUID, &l, &g);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	ft_user_clear(&f);
	f = fetch("Carol.Ng@Studio.example");
	ck_assert_ptr_null(f.uuid);
	ck_assert_ptr_null(f.linked_by);
	ck_assert(!ft_user_linked_by_email(&f));
	ft_user_clear(&g);
	ft_user_clear(&f);
	ft_user_clear(&l);
	ft_user_clear(&made);
	h_ft_stop();
}

END_TEST

/*
 * One POST of five persons is refused (one username is taken): each is
 * sent again alone, so only that one fails, with ftrack's words; every
 * other create lands with its marker.
 */
START_TEST(test_isolation_per_person)
{
	const char *names[] = {"p0", "p1", "taken", "p3", "p4"};
	struct ft_user l[5], taken = person("taken", "uuid-first");
	struct plan_action acts[5], a;
	int codes[5];
	char *msgs[5] = {NULL}, err[256] = "", *msg = NULL, uuid[16];
	size_t i;

	start(100);
	a = action(PLAN_CREATE, 0, &taken, NULL);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	for (i = 0; i < 5; i++) {
		(void)snprintf(uuid, sizeof(uuid), "uuid-%zu", i);
		l[i] = person(names[i], uuid);
		acts[i] = action(PLAN_CREATE, 0, &l[i], NULL);
		codes[i] = 12345;
	}
	ck_assert_int_eq(plan_ops_write(h_ft_cl, acts, NULL, 5, codes, msgs,
					err, sizeof(err)),
			 FT_E_DATA);
	ck_assert_ptr_nonnull(strstr(err, "Duplicate"));
	for (i = 0; i < 5; i++) {
		if (i == 2) {
			ck_assert_int_eq(codes[i], FT_E_DATA);
			ck_assert_ptr_nonnull(msgs[i]);
			ck_assert_ptr_nonnull(strstr(msgs[i], "Duplicate"));
		} else {
			struct ft_user f = fetch(names[i]);

			ck_assert_int_eq(codes[i], FT_OK);
			ck_assert_ptr_null(msgs[i]);
			ck_assert_str_eq(f.uuid, l[i].uuid);
			ft_user_clear(&f);
		}
		free(msgs[i]);
		ft_user_clear(&l[i]);
	}
	/* the account that was there keeps its own marker */
	{
		struct ft_user f = fetch("taken");

		ck_assert_str_eq(f.uuid, "uuid-first");
		ft_user_clear(&f);
	}
	ft_user_clear(&taken);
	h_ft_stop();
}

END_TEST

/* Entries not wanted are not written and their codes are left alone. */
START_TEST(test_want_and_invalid)
{
	struct ft_user l[3] = {person("w0", "u0"), person("w1", "u1"),
			       person("w2", "u2")};
	struct plan_action acts[3];
	bool want[3] = {true, false, true};
	int codes[3] = {111, 222, 333};
	char *msgs[3] = {NULL, NULL, NULL}, err[256] = "";
	const char *const names[] = {"w1"};
	struct ft_user_list list = {NULL, 0, 0};
	size_t i;

	start(100);
	for (i = 0; i < 3; i++)
		acts[i] = action(PLAN_CREATE, 0, &l[i], NULL);
	/* an update without the ftrack id it needs */
	acts[2] = action(PLAN_UPDATE, PLAN_F_EMAIL, &l[2], NULL);
	(void)plan_ops_write(h_ft_cl, acts, want, 3, codes, msgs, err,
			     sizeof(err));
	ck_assert_int_eq(codes[0], FT_OK);
	ck_assert_int_eq(codes[1], 222);
	ck_assert_int_eq(codes[2], FT_E_INVAL);
	ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, names, 1, NULL, 0, &list,
					     err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(list.n, 0); /* w1 was not created */
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_null(msgs[i]);
		ft_user_clear(&l[i]);
	}
	h_ft_stop();
}

END_TEST

/*
 * ftrack down after the first POST: what was sent stands, the rest gets a
 * transient code (to retry), and no deactivation is left without its
 * marker: each person's operations travel in one POST.
 */
START_TEST(test_transient_keeps_persons_whole)
{
	struct ft_user l[4], f[4];
	struct plan_action acts[4], a;
	int codes[4];
	char *msgs[4] = {NULL}, err[256] = "", *msg = NULL, name[8];
	size_t i;

	start(2); /* two operations a POST: one deactivation (user+marker) */
	for (i = 0; i < 4; i++) {
		(void)snprintf(name, sizeof(name), "d%zu", i);
		l[i] = person(name, NULL);
		a = action(PLAN_CREATE, 0, &l[i], NULL);
		ck_assert_int_eq(write_one(&a, &msg), FT_OK);
		f[i] = fetch(name);
		acts[i] = action(PLAN_DEACTIVATE,
				 PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE, NULL,
				 &f[i]);
	}
	h_ft_fault("{\"skip\":1,\"count\":100,\"status\":503}");
	ck_assert_int_eq(plan_ops_write(h_ft_cl, acts, NULL, 4, codes, msgs,
					err, sizeof(err)),
			 FT_E_HTTP);
	ck_assert_int_eq(codes[0], FT_OK);
	for (i = 1; i < 4; i++) {
		ck_assert_int_eq(codes[i], FT_E_HTTP);
		ck_assert(ft_err_transient(codes[i]));
	}
	h_ft_fault("{\"count\":0}");
	for (i = 0; i < 4; i++) {
		struct ft_user g = fetch(f[i].username);

		/* deactivated if and only if marked */
		ck_assert_int_eq(g.is_active, i != 0);
		ck_assert_int_eq(g.deactivated == NULL, i != 0);
		ft_user_clear(&g);
		ft_user_clear(&f[i]);
		ft_user_clear(&l[i]);
		free(msgs[i]);
	}
	h_ft_stop();
}

END_TEST

/* ---- seats ------------------------------------------------------------ */

#define SEAT FTRACK_MARKER_SEAT_WAITING

static void
emu_config(const char *spec)
{
	ck_assert_int_eq(h_emu_control(h_ft_emu, "/_emulator/config", spec),
			 FT_OK);
}

/* The requests after seq as text: "create User, create Metadata; query"
 * (each request's operations, requests apart by "; "). */
static void
requests_since(long long seq, char *out, size_t cap)
{
	char *text = h_emu_log(h_ft_emu, seq, NULL);
	json_t *log = text != NULL ? json_loads(text, 0, NULL) : NULL, *el, *op;
	size_t i, j, len = 0;

	ck_assert_ptr_nonnull(log);
	out[0] = '\0';
	json_array_foreach(log, i, el)
	{
		json_array_foreach(json_object_get(el, "ops"), j, op)
		{
			const char *t = json_string_value(
				json_object_get(op, "entity_type"));

			len += (size_t)snprintf(
				out + len, cap - len, "%s%s%s%s",
				j > 0 ? ", " : (i > 0 ? "; " : ""),
				json_string_value(
					json_object_get(op, "action")),
				t != NULL ? " " : "", t != NULL ? t : "");
			ck_assert_uint_lt(len, cap);
		}
	}
	json_decref(log);
	free(text);
}

/*
 * Every write asking for a seat carries the seat_waiting marker in its
 * own POST (a crash cannot lose it); ftrack answering the user active,
 * the marker is removed by one more POST.
 */
START_TEST(test_seat_marker_in_the_write)
{
	struct ft_user l = person("alice", "uuid-alice"), f;
	struct plan_action a;
	char *msg = NULL, seen[512];
	long long seq;

	start(100);
	seq = h_emu_last_seq(h_ft_emu);
	a = action(PLAN_CREATE, 0, &l, NULL);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	ck_assert_ptr_null(msg);
	requests_since(seq, seen, sizeof(seen));
	ck_assert_str_eq(seen, "create User, create Metadata, create Metadata; "
			       "delete Metadata");
	f = fetch("alice");
	ck_assert(f.is_active);
	ck_assert_ptr_null(f.seat_waiting);
	ck_assert_int_eq(h_emu_user_markers(h_ft_emu, "alice", SEAT, NULL), 0);
	ft_user_clear(&f);
	ft_user_clear(&l);
	h_ft_stop();
}

END_TEST

/*
 * ftrack keeps the users inactive (no free seat): FT_E_SEAT, the marker
 * stays, in the create's group, and in a reactivation's in place of the
 * deactivated marker it removes.  A seat freed: asked again, active, the
 * marker gone.
 */
START_TEST(test_seat_kept_inactive)
{
	struct ft_user l = person("alice", "uuid-alice"),
		       m = person("bob", "uuid-bob"), f, g;
	struct plan_action a;
	char *msg = NULL, *since = NULL;

	start(100);
	a = action(PLAN_CREATE, 0, &m, NULL);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	f = fetch("bob");
	a = action(PLAN_DEACTIVATE, PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE, NULL,
		   &f);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	ft_user_clear(&f);
	f = fetch("bob");
	emu_config("{\"seat_cap\": 1}"); /* the API user's */
	/* a create */
	a = action(PLAN_CREATE, 0, &l, NULL);
	ck_assert_int_eq(write_one(&a, &msg), FT_E_SEAT);
	ck_assert_ptr_nonnull(msg);
	ck_assert_ptr_nonnull(strstr(msg, "licence"));
	free(msg);
	g = fetch("alice");
	ck_assert(!g.is_active);
	ck_assert_str_eq(g.uuid, "uuid-alice");
	ck_assert_ptr_nonnull(g.seat_waiting);
	ck_assert_uint_eq(strlen(g.seat_waiting), 20); /* ISO 8601 UTC */
	since = strdup(g.seat_waiting);
	/* a reactivation */
	a = action(PLAN_REACTIVATE, PLAN_F_ACTIVATE | PLAN_F_UNMARK_GONE, &m,
		   &f);
	ck_assert_int_eq(write_one(&a, &msg), FT_E_SEAT);
	free(msg);
	ft_user_clear(&f);
	f = fetch("bob");
	ck_assert(!f.is_active);
	ck_assert_ptr_null(f.deactivated);
	ck_assert_ptr_nonnull(f.seat_waiting);
	/* still full: asked again, the marker kept as it was */
	a = action(PLAN_REACTIVATE, PLAN_F_ACTIVATE, &l, &g);
	ck_assert_int_eq(write_one(&a, &msg), FT_E_SEAT);
	free(msg);
	ft_user_clear(&g);
	g = fetch("alice");
	ck_assert_str_eq(g.seat_waiting, since);
	ck_assert_int_eq(h_emu_user_markers(h_ft_emu, "alice", SEAT, NULL), 1);
	/* a seat free */
	emu_config("{\"seat_cap\": null}");
	a = action(PLAN_REACTIVATE, PLAN_F_ACTIVATE, &l, &g);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	ft_user_clear(&g);
	g = fetch("alice");
	ck_assert(g.is_active);
	ck_assert_ptr_null(g.seat_waiting);
	/* a stale marker on an active user goes by itself */
	a = action(PLAN_REACTIVATE, PLAN_F_ACTIVATE, &m, &f);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	ft_user_clear(&f);
	f = fetch("bob");
	ck_assert(f.is_active);
	ck_assert_ptr_null(f.seat_waiting);
	free(since);
	ft_user_clear(&f);
	ft_user_clear(&g);
	ft_user_clear(&l);
	ft_user_clear(&m);
	h_ft_stop();
}

END_TEST

/*
 * A server that refuses the seat with an exception fails the whole POST:
 * the person asking is FT_E_SEAT with ftrack's words, nothing of theirs
 * written; the others of the batch get through.
 */
START_TEST(test_seat_refused_others_through)
{
	struct ft_user l[3] = {person("r0", "u0"), person("r1", "u1"),
			       person("r2", "u2")},
		       f1, f2;
	struct plan_action acts[3], a;
	int codes[3] = {1, 1, 1};
	char *msgs[3] = {NULL, NULL, NULL}, err[256] = "", *msg = NULL;
	size_t i;

	start(100);
	a = action(PLAN_CREATE, 0, &l[1], NULL);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	f1 = fetch("r1");
	free(l[2].uuid);
	l[2].uuid = NULL;
	a = action(PLAN_CREATE, 0, &l[2], NULL);
	ck_assert_int_eq(write_one(&a, &msg), FT_OK);
	f2 = fetch("r2");
	free(l[2].uuid);
	l[2].uuid = strdup("u2");
	emu_config("{\"seat_cap\": 3, "
		   "\"seat_cap_exception\": \"LicenseError\"}");
	free(l[1].email);
	l[1].email = strdup("new@example.com");
	acts[0] = action(PLAN_CREATE, 0, &l[0], NULL);
	acts[1] = action(PLAN_UPDATE, PLAN_F_EMAIL, &l[1], &f1);
	acts[2] = action(PLAN_LINK, PLAN_F_MARK_UUID, &l[2], &f2);
	(void)plan_ops_write(h_ft_cl, acts, NULL, 3, codes, msgs, err,
			     sizeof(err));
	ck_assert_int_eq(codes[0], FT_E_SEAT);
	ck_assert_ptr_nonnull(msgs[0]);
	ck_assert_ptr_nonnull(strstr(msgs[0], "LicenseError"));
	ck_assert_int_eq(codes[1], FT_OK);
	ck_assert_int_eq(codes[2], FT_OK);
	ck_assert_int_eq(h_emu_named(h_ft_emu, "r0"), 0);
	ft_user_clear(&f1);
	f1 = fetch("r1");
	ck_assert_str_eq(f1.email, "new@example.com");
	ft_user_clear(&f2);
	f2 = fetch("r2");
	ck_assert_str_eq(f2.uuid, "u2");
	for (i = 0; i < 3; i++) {
		free(msgs[i]);
		ft_user_clear(&l[i]);
	}
	ft_user_clear(&f1);
	ft_user_clear(&f2);
	h_ft_stop();
}

END_TEST

/* The answers do not say is_active and the query that would fails: the
 * write stands, the person is retried (transient), the marker kept. */
START_TEST(test_seat_not_read_back)
{
	struct ft_user l = person("alice", "uuid-alice"), f;
	struct plan_action a;
	char *msg = NULL;
	int code;

	start(100);
	emu_config("{\"write_answers\": \"id\"}");
	h_ft_fault("{\"skip\": 1, \"count\": 100, \"status\": 503}");
	a = action(PLAN_CREATE, 0, &l, NULL);
	code = write_one(&a, &msg);
	ck_assert_msg(code != FT_OK && ft_err_transient(code), "code %d (%s)",
		      code, msg ? msg : "");
	ck_assert_ptr_nonnull(msg);
	ck_assert_ptr_nonnull(strstr(msg, "is_active"));
	free(msg);
	h_ft_fault("{\"count\": 0}");
	f = fetch("alice");
	ck_assert(f.is_active);
	ck_assert_ptr_nonnull(f.seat_waiting); /* removed at the next look */
	ft_user_clear(&f);
	ft_user_clear(&l);
	h_ft_stop();
}

END_TEST

Suite *
plan_ops_suite(void)
{
	Suite *s = suite_create("plan_ops");
	TCase *tc = tcase_create("plan_ops");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_each_kind);
	tcase_add_test(tc, test_link_marks_uuid);
	tcase_add_test(tc, test_unlink_removes_uuid);
	tcase_add_test(tc, test_link_by_email_marks);
	tcase_add_test(tc, test_isolation_per_person);
	tcase_add_test(tc, test_want_and_invalid);
	tcase_add_test(tc, test_transient_keeps_persons_whole);
	tcase_add_test(tc, test_seat_marker_in_the_write);
	tcase_add_test(tc, test_seat_kept_inactive);
	tcase_add_test(tc, test_seat_refused_others_through);
	tcase_add_test(tc, test_seat_not_read_back);
	suite_add_tcase(s, tc);
	return s;
}
