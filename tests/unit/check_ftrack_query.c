/* SPDX-License-Identifier: Apache-2.0 */
/* check_ftrack_query.c: look-ups, markers, renames, listings (emulator). */
#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ft_user.h"
#include "ftrack_api.h"
#include "h_ftrack.h"
#include "harness.h"

Suite *ftrack_query_suite(void);

/* ---- look-ups ----------------------------------------------------------- */

START_TEST(test_create_then_lookup)
{
	const char *const names[] = {"jdoe", "nobody", "o\"brien) or (x"};
	struct ft_user_list list = {NULL, 0, 0};
	char err[256] = "";
	unsigned long before;
	char *id;
	json_t *u;

	h_ft_start(NULL);
	id = h_ft_create("jdoe", "entry-uuid-1");
	u = h_emu_user(h_ft_emu, "jdoe");
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(json_string_value(json_object_get(u, "id")), id);
	ck_assert(json_is_true(json_object_get(u, "is_active")));
	json_decref(u);
	before = h_ft_requests();
	ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, names, 3, h_ft_none, 0,
					     &list, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(h_ft_requests() - before, 2); /* users, markers */
	ck_assert_uint_eq(list.n, 1);
	ck_assert_str_eq(list.v[0].id, id);
	ck_assert_str_eq(list.v[0].username, "jdoe");
	ck_assert_str_eq(list.v[0].first_name, "First");
	ck_assert_str_eq(list.v[0].last_name, "Last");
	ck_assert_ptr_null(list.v[0].email);
	ck_assert(list.v[0].is_active);
	ck_assert_str_eq(list.v[0].uuid, "entry-uuid-1");
	ck_assert_ptr_null(list.v[0].deactivated);
	ft_user_list_clear(&list);
	/* nobody found: one request, no marker query */
	before = h_ft_requests();
	ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, names + 1, 2, h_ft_none,
					     0, &list, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(list.n, 0);
	ck_assert_uint_eq(h_ft_requests() - before, 1);
	free(id);
	h_ft_stop();
}

END_TEST

/* Commit one marker change to user id; asserts success. */
static void
marker_op(const char *id, const char *key, const char *value, bool exists)
{
	struct ftrack_batch *b = NULL;
	char err[256] = "";

	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	if (value != NULL)
		ck_assert_int_eq(ftrack_batch_set_marker(b, id, key, value,
							 exists, NULL),
				 FT_OK);
	else
		ck_assert_int_eq(ftrack_batch_delete_marker(b, id, key, NULL),
				 FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ftrack_batch_free(b);
}

START_TEST(test_markers_and_rename)
{
	const char *const uuids[] = {"entry-2", "entry-unknown"};
	struct ft_user_list list = {NULL, 0, 0};
	struct ft_user nu = h_ft_mkuser("jd-renamed", NULL, NULL, NULL);
	struct ftrack_batch *b = NULL;
	char err[256] = "";
	unsigned long before;
	char *id;

	h_ft_start(NULL);
	id = h_ft_create("jd", "entry-2");
	marker_op(id, FTRACK_MARKER_DEACTIVATED, "2024-01-02T03:04:05Z", false);
	h_ft_get_one("jd", &list);
	ck_assert_str_eq(list.v[0].deactivated, "2024-01-02T03:04:05Z");
	ft_user_list_clear(&list);
	marker_op(id, FTRACK_MARKER_DEACTIVATED, "2025-06-07T08:09:10Z", true);
	h_ft_get_one("jd", &list);
	ck_assert_str_eq(list.v[0].deactivated, "2025-06-07T08:09:10Z");
	ft_user_list_clear(&list);
	marker_op(id, FTRACK_MARKER_DEACTIVATED, NULL, true);
	h_ft_get_one("jd", &list);
	ck_assert_ptr_null(list.v[0].deactivated);
	ck_assert_str_eq(list.v[0].uuid, "entry-2");
	ft_user_list_clear(&list);
	/* the LDAP account was renamed: find the user by its uuid marker */
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(
		ftrack_batch_update_user(b, id, &nu, FTRACK_F_USERNAME, NULL),
		FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ftrack_batch_free(b);
	before = h_ft_requests();
	/* the uuid markers, then the user known only by its marker */
	ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, h_ft_none, 0, uuids, 2,
					     &list, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(h_ft_requests() - before, 2);
	ck_assert_uint_eq(list.n, 1);
	ck_assert_str_eq(list.v[0].id, id);
	ck_assert_str_eq(list.v[0].username, "jd-renamed");
	ck_assert_str_eq(list.v[0].uuid, "entry-2");
	ft_user_list_clear(&list);
	ft_user_clear(&nu);
	free(id);
	h_ft_stop();
}

END_TEST

static int
keep_seat(void *ctx, struct ft_user *u)
{
	char **seat = ctx;

	if (u->seat_waiting != NULL) {
		ck_assert_ptr_null(*seat);
		*seat = u->seat_waiting; /* moved out: the client clears *u */
		u->seat_waiting = NULL;
	}
	return 0;
}

/* The seat marker is read with the others, by look-ups and listings. */
START_TEST(test_seat_marker)
{
	struct ft_user_list list = {NULL, 0, 0};
	char err[256] = "", *seat = NULL, *id;

	h_ft_start(NULL);
	id = h_ft_create("sw", "entry-sw");
	marker_op(id, FTRACK_MARKER_SEAT_WAITING, "2026-02-03T04:05:06Z",
		  false);
	marker_op(id, "another.key", "not ours", false);
	h_ft_get_one("sw", &list);
	ck_assert_str_eq(list.v[0].seat_waiting, "2026-02-03T04:05:06Z");
	ck_assert_str_eq(list.v[0].uuid, "entry-sw");
	ck_assert_ptr_null(list.v[0].deactivated);
	ft_user_list_clear(&list);
	ck_assert_int_eq(ftrack_users_all(h_ft_cl, 0, keep_seat, &seat, err,
					  sizeof(err)),
			 FT_OK);
	ck_assert_ptr_nonnull(seat);
	ck_assert_str_eq(seat, "2026-02-03T04:05:06Z");
	free(seat);
	marker_op(id, FTRACK_MARKER_SEAT_WAITING, NULL, true);
	h_ft_get_one("sw", &list);
	ck_assert_ptr_null(list.v[0].seat_waiting);
	ft_user_list_clear(&list);
	free(id);
	h_ft_stop();
}

END_TEST

/* The on-demand look-up: a first login costs one POST, others two. */
START_TEST(test_lookup_requests)
{
	const char *names[] = {"newbie", "al", "bo-new"};
	const char *uuids[] = {"u-newbie", "u-al", "u-bo"};
	struct ft_user_list list = {NULL, 0, 0};
	char err[256] = "";
	unsigned long before;
	char *al, *bo;
	size_t i;

	h_ft_start(NULL);
	al = h_ft_create("al", "u-al");
	bo = h_ft_create("bo", "u-bo"); /* renamed to bo-new in LDAP */
	marker_op(bo, FTRACK_MARKER_DEACTIVATED, "2026-01-01T00:00:00Z", false);
	before = h_ft_requests();
	ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, names, 1, uuids, 1, &list,
					     err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(h_ft_requests() - before, 1);
	ck_assert_uint_eq(list.n, 0);
	before = h_ft_requests();
	ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, names, 3, uuids, 3, &list,
					     err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(h_ft_requests() - before, 2);
	ck_assert_uint_eq(list.n, 2); /* each once */
	for (i = 0; i < list.n; i++) {
		const struct ft_user *u = &list.v[i];

		if (strcmp(u->id, al) == 0) {
			ck_assert_str_eq(u->username, "al");
			ck_assert_str_eq(u->uuid, "u-al");
			ck_assert_ptr_null(u->deactivated);
		} else {
			ck_assert_str_eq(u->id, bo);
			ck_assert_str_eq(u->username, "bo");
			ck_assert_str_eq(u->uuid, "u-bo");
			ck_assert_str_eq(u->deactivated,
					 "2026-01-01T00:00:00Z");
		}
	}
	ft_user_list_clear(&list);
	free(al);
	free(bo);
	h_ft_stop();
}

END_TEST

/* ---- the look-up by e-mail (link_by = email) ---------------------------- */

/* Create username with email (and a linked_by marker when linked). */
static char *
mail_user(const char *username, const char *email, bool linked)
{
	struct ft_user u = h_ft_mkuser(username, "First", "Last", email);
	struct ftrack_batch *b = NULL;
	struct ftrack_result fr;
	char err[256] = "";
	size_t op = 0;
	char *id;

	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_create_user(b, &u, NULL, &op), FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ck_assert_int_eq(ftrack_batch_result(b, op, &fr), FT_OK);
	id = strdup(fr.id);
	ftrack_batch_free(b);
	ft_user_clear(&u);
	if (linked)
		marker_op(id, FTRACK_MARKER_LINKED_BY, FT_LINKED_BY_EMAIL,
			  false);
	return id;
}

/* The usernames found for one address, sorted, "|"-joined, into buf. */
static size_t
by_email(const char *address, char *buf, size_t cap, unsigned long *ret_req)
{
	const char *const mails[] = {address};
	struct ft_user_list list = {NULL, 0, 0};
	char err[256] = "";
	unsigned long before = h_ft_requests();
	size_t i, j, n;

	ck_assert_int_eq(ftrack_users_by_email(h_ft_cl, mails, 1, &list, err,
					       sizeof(err)),
			 FT_OK);
	*ret_req = h_ft_requests() - before;
	buf[0] = '\0';
	for (i = 0; i < list.n; i++) /* few: a selection sort by username */
		for (j = i + 1; j < list.n; j++)
			if (strcmp(list.v[j].username, list.v[i].username) <
			    0) {
				struct ft_user t = list.v[i];

				list.v[i] = list.v[j];
				list.v[j] = t;
			}
	for (i = 0; i < list.n; i++) {
		ck_assert_int_eq(ft_email_cmp(list.v[i].email, address), 0);
		(void)snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s",
			       i ? "|" : "", list.v[i].username);
	}
	n = list.n;
	ft_user_list_clear(&list);
	return n;
}

/*
 * Both behaviours of `in` the protocol leaves open (case-sensitive, the
 * emulator's default, and folding case): the address is asked for as
 * given and in lower case, and the answers compared without case.
 */
START_TEST(test_lookup_by_email)
{
	static const char *const ci_args[] = {"--case-insensitive", NULL};
	bool ci = _i == 1;
	unsigned long req;
	char got[256];
	char *a, *b1, *b2, *q;

	h_ft_start(ci ? ci_args : NULL);
	a = mail_user("Alice.Smith@Studio.example",
		      "Alice.Smith@Studio.example", true);
	b1 = mail_user("bob", "bob@studio.example", false);
	b2 = mail_user("bob2", "BOB@Studio.example", false);
	q = mail_user("quote", "o\"brien') or (x@x", false);
	/* as given: found in both modes, with its markers */
	ck_assert_uint_eq(
		by_email("Alice.Smith@Studio.example", got, sizeof(got), &req),
		1);
	ck_assert_str_eq(got, "Alice.Smith@Studio.example");
	ck_assert_uint_eq(req, 2); /* the users, their markers */
	/* LDAP in another case than ftrack's mixed case: only a server
	 * that folds case finds it (the reconcile compares every user) */
	ck_assert_uint_eq(
		by_email("alice.smith@studio.example", got, sizeof(got), &req),
		ci ? 1 : 0);
	/* mixed case in LDAP, lower case in ftrack: found in both modes */
	ck_assert_uint_eq(
		by_email("Bob@Studio.Example", got, sizeof(got), &req),
		ci ? 2 : 1);
	ck_assert_str_eq(got, ci ? "bob|bob2" : "bob");
	/* a value with quotes stays one value */
	ck_assert_uint_eq(
		by_email("o\"brien') or (x@x", got, sizeof(got), &req), 1);
	ck_assert_str_eq(got, "quote");
	/* nobody: one request */
	ck_assert_uint_eq(by_email("nobody@x", got, sizeof(got), &req), 0);
	ck_assert_uint_eq(req, 1);
	free(a);
	free(b1);
	free(b2);
	free(q);
	h_ft_stop();
}

END_TEST

/* Several addresses, some shared: each user once, markers attached. */
START_TEST(test_lookup_by_email_many)
{
	const char *mails[150];
	char names[150][32], addr[150][40];
	struct ft_user_list list = {NULL, 0, 0};
	char err[256] = "";
	char *a;
	size_t i, linked = 0;

	h_ft_start(NULL);
	a = mail_user("Dup@X.example", "dup@x.example", true);
	free(a);
	for (i = 0; i < 150; i++) {
		(void)snprintf(names[i], sizeof(names[i]), "m%03zu", i);
		(void)snprintf(addr[i], sizeof(addr[i]), "M%03zu@x.example", i);
		mails[i] = i % 2 ? addr[i] : "DUP@x.example";
		if (i % 2)
			free(mail_user(names[i], addr[i], false));
	}
	/* 150 addresses: three chunks of 50 */
	ck_assert_int_eq(ftrack_users_by_email(h_ft_cl, mails, 150, &list, err,
					       sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(list.n, 75 + 1);
	for (i = 0; i < list.n; i++)
		linked += ft_user_linked_by_email(&list.v[i]);
	ck_assert_uint_eq(linked, 1);
	ft_user_list_clear(&list);
	h_ft_stop();
}

END_TEST

/* ---- paging and listing ------------------------------------------------- */

struct seen {
	size_t n;
	size_t with_uuid;
	size_t deactivated;
};

static int
count_user(void *ctx, struct ft_user *u)
{
	struct seen *s = ctx;

	ck_assert_ptr_nonnull(u->id);
	ck_assert_ptr_nonnull(u->username);
	s->n++;
	if (u->uuid != NULL) {
		ck_assert_int_eq(strncmp(u->uuid, "entry-", 6), 0);
		ck_assert_str_eq(u->uuid + 6, u->username);
		s->with_uuid++;
	}
	if (u->deactivated != NULL)
		s->deactivated++;
	return 0;
}

static int
stop_at_3(void *ctx, struct ft_user *u)
{
	size_t *n = ctx;

	(void)u;
	return ++*n == 3 ? FT_E_CONFLICT : 0;
}

/* ---- the API user's records --------------------------------------------- */

static int
check_api_user(void *ctx, struct ft_user *u)
{
	int *seen = ctx;

	if (strcmp(u->username, H_EMU_USER) == 0) {
		/* the reconcile's records are no person's markers */
		ck_assert_ptr_null(u->uuid);
		ck_assert_ptr_null(u->deactivated);
		ck_assert_ptr_null(u->seat_waiting);
		(*seen)++;
	}
	return 0;
}

START_TEST(test_own_records)
{
	struct ftrack_own o = {NULL, NULL, 0};
	char err[256] = "", *api, *jd;
	unsigned long before;
	int seen = 0;

	h_ft_start(NULL);
	api = h_emu_user_id(h_ft_emu, H_EMU_USER);
	ck_assert_ptr_nonnull(api);
	ck_assert_int_eq(
		ftrack_own_read(h_ft_cl, H_EMU_USER, &o, err, sizeof(err)),
		FT_OK);
	ck_assert_str_eq(o.user_id, api);
	ck_assert_uint_eq(o.n, 0);
	ftrack_own_clear(&o);
	marker_op(api, FTRACK_MARKER_LEASE, "h 1 2027-01-01T00:00:00Z n",
		  false);
	marker_op(api, FTRACK_MARKER_LEASE_TOKEN "abc", "t", false);
	marker_op(api, FTRACK_MARKER_SCHEMA, "1", false);
	marker_op(api, FTRACK_MARKER_LAST_GOOD, "15 2027-01-01T00:00:00Z h",
		  false);
	/* not the reconcile's: another key the pattern matches, and the
	 * same keys on a person */
	marker_op(api, "ftrack_syncd.reconcile_leases", "x", false);
	jd = h_ft_create("jd", "entry-9");
	marker_op(jd, FTRACK_MARKER_LEASE, "someone else's", false);
	marker_op(jd, FTRACK_MARKER_SCHEMA, "99", false);
	before = h_ft_requests();
	ck_assert_int_eq(
		ftrack_own_read(h_ft_cl, H_EMU_USER, &o, err, sizeof(err)),
		FT_OK);
	ck_assert_uint_eq(h_ft_requests() - before, 1);
	ck_assert_uint_eq(o.n, 4);
	ck_assert_str_eq(ftrack_own_get(&o, FTRACK_MARKER_LEASE),
			 "h 1 2027-01-01T00:00:00Z n");
	ck_assert_str_eq(ftrack_own_get(&o, FTRACK_MARKER_LEASE_TOKEN "abc"),
			 "t");
	ck_assert_str_eq(ftrack_own_get(&o, FTRACK_MARKER_SCHEMA), "1");
	ck_assert_str_eq(ftrack_own_get(&o, FTRACK_MARKER_LAST_GOOD),
			 "15 2027-01-01T00:00:00Z h");
	ck_assert_ptr_null(ftrack_own_get(&o, "ftrack_syncd.reconcile_leases"));
	ftrack_own_clear(&o);
	ftrack_own_clear(&o); /* twice: a no-op */
	/* the listing of users does not take them for markers */
	ck_assert_int_eq(ftrack_users_all(h_ft_cl, 0, check_api_user, &seen,
					  err, sizeof(err)),
			 FT_OK);
	ck_assert_int_eq(seen, 1);
	/* no such user */
	ck_assert_int_eq(
		ftrack_own_read(h_ft_cl, "nobody", &o, err, sizeof(err)),
		FT_E_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(err, "nobody"));
	ck_assert_ptr_null(o.user_id);
	free(jd);
	free(api);
	h_ft_stop();
}

END_TEST

START_TEST(test_paging_all)
{
	const char *const extra[] = {"--page-max", "7", NULL};
	const char *names[50];
	struct ft_user_list list = {NULL, 0, 0};
	struct ftrack_batch *b = NULL;
	struct seen seen = {0, 0, 0};
	char name[50][16], uuid[32], err[256] = "";
	unsigned long before;
	size_t i, n = 0;

	h_ft_start(extra);
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	for (i = 0; i < 50; i++) {
		struct ft_user u;

		snprintf(name[i], sizeof(name[i]), "p%02zu", i);
		names[i] = name[i];
		snprintf(uuid, sizeof(uuid), "entry-p%02zu", i);
		u = h_ft_mkuser(name[i], NULL, NULL, NULL);
		ck_assert_int_eq(ftrack_batch_create_user(b, &u, uuid, NULL),
				 FT_OK);
		ft_user_clear(&u);
	}
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(h_ft_requests(), 1); /* 100 operations in one POST */
	before = h_ft_requests();
	ck_assert_int_eq(ftrack_users_all(h_ft_cl, 500, count_user, &seen, err,
					  sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(seen.n, 51); /* + the API user */
	ck_assert_uint_eq(seen.with_uuid, 50);
	ck_assert_uint_eq(seen.deactivated, 0);
	/* 51 users and 50 markers, 7 a page, pages paired in one POST */
	ck_assert_uint_le(h_ft_requests() - before, 9);
	ck_assert_uint_ge(h_ft_requests() - before, 8);
	/* lookups follow the pages too */
	ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, names, 50, h_ft_none, 0,
					     &list, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(list.n, 50);
	for (i = 0; i < list.n; i++)
		ck_assert_ptr_nonnull(list.v[i].uuid);
	ft_user_list_clear(&list);
	/* the callback can stop the listing */
	ck_assert_int_eq(
		ftrack_users_all(h_ft_cl, 5, stop_at_3, &n, err, sizeof(err)),
		FT_E_CONFLICT);
	ck_assert_uint_eq(n, 3);
	ftrack_batch_free(b);
	h_ft_stop();
}

END_TEST

Suite *
ftrack_query_suite(void)
{
	Suite *s = suite_create("ftrack_query");
	TCase *a = tcase_create("api");

	tcase_set_timeout(a, 60);
	tcase_add_test(a, test_create_then_lookup);
	tcase_add_test(a, test_markers_and_rename);
	tcase_add_test(a, test_lookup_requests);
	tcase_add_test(a, test_seat_marker);
	tcase_add_loop_test(a, test_lookup_by_email, 0, 2);
	tcase_add_test(a, test_lookup_by_email_many);
	tcase_add_test(a, test_paging_all);
	tcase_add_test(a, test_own_records);
	suite_add_tcase(s, a);
	return s;
}
