/* SPDX-License-Identifier: Apache-2.0 */
/* check_ftrack_batch.c: write batches, commits, isolation (emulator). */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ft_user.h"
#include "ftrack_api.h"
#include "h_ftrack.h"
#include "harness.h"

Suite *ftrack_batch_suite(void);

/* ---- writes ------------------------------------------------------------- */

START_TEST(test_update_only_changed)
{
	struct ft_user_list list = {NULL, 0, 0};
	struct ft_user u = h_ft_mkuser("jdoe", "Johnny", NULL, NULL);
	struct ftrack_batch *b = NULL;
	char err[256] = "", ops[512];
	char *id;
	json_t *r;

	h_ft_start(NULL);
	id = h_ft_create("jdoe", NULL);
	/* someone else changes the e-mail meanwhile */
	snprintf(
		ops, sizeof(ops),
		"[{\"action\":\"update\",\"entity_type\":\"User\",\"entity_key\":"
		"[\"%s\"],\"entity_data\":{\"__entity_type__\":\"User\","
		"\"email\":\"other@example.com\"}}]",
		id);
	r = h_emu_api(h_ft_emu, ops);
	ck_assert(json_is_array(r));
	json_decref(r);
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(
		ftrack_batch_update_user(b, id, &u, FTRACK_F_FIRST_NAME, NULL),
		FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ftrack_batch_free(b);
	h_ft_get_one("jdoe", &list);
	ck_assert_str_eq(list.v[0].first_name, "Johnny");
	ck_assert_str_eq(list.v[0].last_name, "Last");
	ck_assert_str_eq(list.v[0].email, "other@example.com"); /* untouched */
	ft_user_list_clear(&list);
	/* deactivate */
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	u.is_active = false;
	ck_assert_int_eq(
		ftrack_batch_update_user(b, id, &u, FTRACK_F_IS_ACTIVE, NULL),
		FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ftrack_batch_free(b);
	h_ft_get_one("jdoe", &list);
	ck_assert(!list.v[0].is_active);
	ck_assert_str_eq(list.v[0].first_name, "Johnny");
	ft_user_list_clear(&list);
	ft_user_clear(&u);
	free(id);
	h_ft_stop();
}

END_TEST

/* ---- batches ------------------------------------------------------------ */

START_TEST(test_batch_chunks)
{
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	char name[32], err[256] = "";
	long long before;
	json_t *all;
	size_t i;

	h_ft_start(NULL);
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	for (i = 0; i < 250; i++) {
		struct ft_user u;

		snprintf(name, sizeof(name), "user%03zu", i);
		u = h_ft_mkuser(name, "F", "L", NULL);
		ck_assert_int_eq(ftrack_batch_create_user(b, &u, NULL, NULL),
				 FT_OK);
		ft_user_clear(&u);
	}
	ck_assert_uint_eq(ftrack_batch_count(b), 250);
	before = h_ft_stat("requests");
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ck_assert_int_eq(h_ft_stat("requests") - before, 3);
	ck_assert_uint_eq(h_ft_requests(), 3);
	for (i = 0; i < 250; i++) {
		ck_assert_int_eq(ftrack_batch_result(b, i, &res), FT_OK);
		ck_assert_int_eq(res.code, FT_OK);
	}
	ck_assert_int_eq(ftrack_batch_result(b, 250, &res), FT_E_INVAL);
	/* a batch is committed once */
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_E_INVAL);
	ftrack_batch_free(b);
	all = h_emu_get(h_ft_emu, "/_emulator/users");
	ck_assert_uint_eq(json_array_size(all), 251); /* + the API user */
	json_decref(all);
	h_ft_stop();
}

END_TEST

/* Create three users (with markers) in one batch, "taken" already exists. */
START_TEST(test_batch_bad_record)
{
	const char *const names[] = {"alice", "taken", "bob"};
	struct ft_user_list list = {NULL, 0, 0};
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	char err[256] = "", uuid[32];
	size_t i, op[3];
	char *taken;

	h_ft_start(NULL);
	taken = h_ft_create("taken", "entry-taken");
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	for (i = 0; i < 3; i++) {
		struct ft_user u =
			h_ft_mkuser(names[i], "F", "L", "x@example.com");

		snprintf(uuid, sizeof(uuid), "entry-%zu", i);
		ck_assert_int_eq(ftrack_batch_create_user(b, &u, uuid, &op[i]),
				 FT_OK);
		ck_assert_uint_eq(op[i], 2 * i);
		ft_user_clear(&u);
	}
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_E_DATA);
	ck_assert_ptr_nonnull(strstr(err, "DuplicateEntryError"));
	/* 1 refused POST, then the 3 groups one by one, and for the refused
	 * one (a duplicate) a read: did another host create it? (no) */
	ck_assert_uint_eq(h_ft_requests(), 1 + 1 + 3 + 1);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(ftrack_batch_result(b, i, &res), FT_OK);
		ck_assert_int_eq(res.code, i / 2 == 1 ? FT_E_DATA : FT_OK);
		if (i / 2 == 1)
			ck_assert_ptr_nonnull(strstr(res.message, "Duplicate"));
		else
			ck_assert_ptr_null(res.message);
	}
	ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, names, 3, h_ft_none, 0,
					     &list, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(list.n, 3);
	for (i = 0; i < list.n; i++) {
		if (strcmp(list.v[i].username, "taken") == 0) {
			ck_assert_str_eq(list.v[i].id, taken);
			ck_assert_str_eq(list.v[i].uuid, "entry-taken");
		} else {
			ck_assert_str_eq(list.v[i].uuid,
					 strcmp(list.v[i].username, "alice") ==
							 0
						 ? "entry-0"
						 : "entry-2");
		}
	}
	ft_user_list_clear(&list);
	free(taken);
	ftrack_batch_free(b);
	h_ft_stop();
}

END_TEST

/* ---- seats: is_active read back --------------------------------------- */

static void
emu_config(const char *spec)
{
	ck_assert_int_eq(h_emu_control(h_ft_emu, "/_emulator/config", spec),
			 FT_OK);
}

/* An inactive user made by hand (no seat needed); returns its id. */
static char *
create_inactive(const char *name)
{
	char ops[512];
	json_t *r;
	char *id;

	snprintf(ops, sizeof(ops),
		 "[{\"action\":\"create\",\"entity_type\":\"User\","
		 "\"entity_data\":{\"__entity_type__\":\"User\","
		 "\"username\":\"%s\",\"is_active\":false}}]",
		 name);
	r = h_emu_api(h_ft_emu, ops);
	ck_assert(json_is_array(r));
	id = strdup(json_string_value(json_object_get(
		json_object_get(json_array_get(r, 0), "data"), "id")));
	json_decref(r);
	ck_assert_ptr_nonnull(id);
	return id;
}

/*
 * One batch: a create that gets the last seat, a create and a
 * reactivation that ftrack keeps inactive, an update that asks nothing
 * of the seat, a marker.  The answers say which writes got a seat
 * (active 1 or 0); the others are not about it (-1).  read_by_query: the
 * answers carry no is_active, which is then read with one query.
 */
static void
check_read_back(bool read_by_query)
{
	struct ft_user a = h_ft_mkuser("a", NULL, NULL, NULL),
		       b2 = h_ft_mkuser("b", NULL, NULL, NULL),
		       c = h_ft_mkuser("c", "Cee", NULL, NULL);
	static const int want[] = {1, -1, 0, -1, 0, -1, -1};
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	char err[256] = "", *cid, *did;
	unsigned long before;
	size_t i;

	h_ft_start(NULL);
	cid = create_inactive("c");
	did = h_ft_create("d", NULL);
	/* the API user, d and one more */
	emu_config(read_by_query
			   ? "{\"seat_cap\": 3, \"write_answers\": \"id\"}"
			   : "{\"seat_cap\": 3}");
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_create_user(b, &a, "entry-a", NULL),
			 FT_OK);
	ck_assert_int_eq(ftrack_batch_create_user(b, &b2, "entry-b", NULL),
			 FT_OK);
	c.is_active = true;
	ck_assert_int_eq(ftrack_batch_update_user(b, cid, &c,
						  FTRACK_F_FIRST_NAME |
							  FTRACK_F_IS_ACTIVE,
						  NULL),
			 FT_OK);
	ck_assert_int_eq(
		ftrack_batch_update_user(b, did, &c, FTRACK_F_FIRST_NAME, NULL),
		FT_OK);
	ck_assert_int_eq(ftrack_batch_set_marker(b, did, "k", "v", false, NULL),
			 FT_OK);
	before = h_ft_requests();
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(h_ft_requests() - before, read_by_query ? 2 : 1);
	ck_assert_uint_eq(ftrack_batch_count(b), 7);
	for (i = 0; i < 7; i++) {
		ck_assert_int_eq(ftrack_batch_result(b, i, &res), FT_OK);
		ck_assert_int_eq(res.code, FT_OK);
		ck_assert_msg(res.active == want[i], "op %zu: active %d", i,
			      res.active);
	}
	ftrack_batch_free(b);
	ft_user_clear(&a);
	ft_user_clear(&b2);
	ft_user_clear(&c);
	free(cid);
	free(did);
	h_ft_stop();
}

START_TEST(test_batch_reads_back_activity)
{
	check_read_back(false);
}

END_TEST

START_TEST(test_batch_reads_back_by_query)
{
	check_read_back(true);
}

END_TEST

/*
 * A server that refuses a seat with an exception fails the whole POST:
 * the groups are sent again one by one, so only the one asking for the
 * seat is refused (FT_E_SEAT, with ftrack's words); the others land.
 */
START_TEST(test_batch_seat_refused_isolated)
{
	struct ft_user x = h_ft_mkuser("x", NULL, NULL, NULL),
		       e = h_ft_mkuser("e", NULL, NULL, "e@example.com");
	struct ft_user_list list = {NULL, 0, 0};
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	char err[256] = "", *eid;
	size_t i;

	h_ft_start(NULL);
	eid = h_ft_create("e", NULL);
	emu_config("{\"seat_cap\": 2, "
		   "\"seat_cap_exception\": \"LicenseError\"}");
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(
		ftrack_batch_update_user(b, eid, &e, FTRACK_F_EMAIL, NULL),
		FT_OK);
	ck_assert_int_eq(ftrack_batch_create_user(b, &x, "entry-x", NULL),
			 FT_OK);
	ck_assert_int_eq(ftrack_batch_set_marker(b, eid, "k", "v", false, NULL),
			 FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_E_SEAT);
	ck_assert_ptr_nonnull(strstr(err, "LicenseError"));
	/* the refused POST, then the three groups alone */
	ck_assert_uint_eq(h_ft_requests(), 1 + 1 + 3);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(ftrack_batch_result(b, i, &res), FT_OK);
		ck_assert_int_eq(res.code,
				 i == 1 || i == 2 ? FT_E_SEAT : FT_OK);
		if (res.code == FT_E_SEAT)
			ck_assert_ptr_nonnull(strstr(res.message, "licence"));
	}
	h_ft_get_one("e", &list);
	ck_assert_str_eq(list.v[0].email, "e@example.com");
	ft_user_list_clear(&list);
	ck_assert_int_eq(h_emu_named(h_ft_emu, "x"), 0);
	ftrack_batch_free(b);
	ft_user_clear(&x);
	ft_user_clear(&e);
	free(eid);
	h_ft_stop();
}

END_TEST

START_TEST(test_batch_stops_on_transient)
{
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	char err[256] = "";
	size_t i;

	h_ft_start(NULL);
	h_ft_client(H_EMU_KEY, 10, 2);
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	for (i = 0; i < 6; i++) {
		char name[16];
		struct ft_user u;

		snprintf(name, sizeof(name), "u%zu", i);
		u = h_ft_mkuser(name, NULL, NULL, NULL);
		ck_assert_int_eq(ftrack_batch_create_user(b, &u, NULL, NULL),
				 FT_OK);
		ft_user_clear(&u);
	}
	/* the first POST goes through, then the server stays down */
	h_ft_fault("{\"skip\":1,\"count\":100,\"status\":503}");
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_E_HTTP);
	ck_assert_ptr_nonnull(strstr(err, "503"));
	ck_assert_uint_eq(h_ft_requests(), 1 + 4); /* 4 tries of the 2nd POST */
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(ftrack_batch_result(b, i, &res), FT_OK);
		ck_assert_int_eq(res.code, i < 2 ? FT_OK : FT_E_HTTP);
	}
	ftrack_batch_free(b);
	h_ft_stop();
}

END_TEST

START_TEST(test_batch_auth_refused)
{
	struct ft_user u = h_ft_mkuser("x", NULL, NULL, NULL);
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	char err[256] = "";

	h_ft_start(NULL);
	h_ft_client("bad-key", 10, 100);
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_create_user(b, &u, "e", NULL), FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_E_AUTH);
	ck_assert_int_eq(ftrack_batch_result(b, 1, &res), FT_OK);
	ck_assert_int_eq(res.code, FT_E_AUTH);
	ck_assert_uint_eq(h_ft_requests(), 1);
	ftrack_batch_free(b);
	ft_user_clear(&u);
	h_ft_stop();
}

END_TEST

/*
 * The first attempt's answer is lost (client timeout) but the server
 * applies it; the resent create meets DuplicateEntryError, recognises its
 * own id and counts as done: one user, no error.
 */
START_TEST(test_lost_answer_no_duplicate)
{
	struct ft_user u = h_ft_mkuser("lost", NULL, NULL, NULL);
	struct ft_user_list list = {NULL, 0, 0};
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	struct ftrack_stats st;
	char err[256] = "";
	json_t *all;

	h_ft_start(NULL);
	h_ft_client(H_EMU_KEY, 1, 100);
	/* the resend must come after the slow first attempt was applied */
	ftrack_client_set_retry(
		h_ft_cl,
		&(struct ftrack_retry){.attempts = 3, .base_ms = 2000});
	h_ft_fault("{\"count\":1,\"delay_ms\":1200}");
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_create_user(b, &u, "entry-lost", NULL),
			 FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ck_assert_int_eq(ftrack_batch_result(b, 0, &res), FT_OK);
	ck_assert_int_eq(res.code, FT_OK);
	ftrack_client_stats(h_ft_cl, &st);
	ck_assert_uint_eq(st.retries, 1);
	ck_assert_int_eq(h_ft_stat("requests"), 3); /* slow, dup, check */
	h_ft_get_one("lost", &list);
	ck_assert_str_eq(list.v[0].id, res.id);
	ck_assert_str_eq(list.v[0].uuid, "entry-lost");
	all = h_emu_get(h_ft_emu, "/_emulator/users");
	ck_assert_uint_eq(json_array_size(all), 2);
	json_decref(all);
	ft_user_list_clear(&list);
	ftrack_batch_free(b);
	ft_user_clear(&u);
	h_ft_stop();
}

END_TEST

/* ---- ids derived from the LDAP uuid ------------------------------------ */

/*
 * uuid v5 (SHA-1) of the LDAP uuid in the fixed namespace; the expected
 * values are Python's uuid.uuid5(UUID("dba62b16-b96a-5883-95e6-
 * 35aea4dab109"), name), an independent implementation.
 */
START_TEST(test_user_id_for)
{
	char id[37], big[FTRACK_UUID_NAME_MAX + 2];

	ck_assert_int_eq(ftrack_user_id_for("abc", id), FT_OK);
	ck_assert_str_eq(id, "06cfaef1-29cb-5eb2-823a-72357769ed93");
	ck_assert_int_eq(ftrack_user_id_for("entry-race", id), FT_OK);
	ck_assert_str_eq(id, "15dba049-4996-580e-aa5c-1858b7b20e79");
	ck_assert_int_eq(
		ftrack_user_id_for("0a1b2c3d-0000-4000-8000-000000000001", id),
		FT_OK);
	ck_assert_str_eq(id, "bf03fdb3-a788-5c1d-b39b-760b8740f308");
	ck_assert_int_eq(ftrack_user_id_for("", id), FT_E_INVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(ftrack_user_id_for(big, id), FT_E_INVAL);
	big[FTRACK_UUID_NAME_MAX] = '\0';
	ck_assert_int_eq(ftrack_user_id_for(big, id), FT_OK);
}

END_TEST

/* Create "racer" for entry-race in a batch of its own; the commit's code. */
static int
create_racer(char *err, size_t errlen, struct ftrack_result *res)
{
	struct ftrack_batch *b = NULL;
	struct ft_user u = h_ft_mkuser("racer", "R", "Acer", "r@example.com");
	size_t op = 99;
	int r;

	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_create_user(b, &u, "entry-race", &op),
			 FT_OK);
	ft_user_clear(&u);
	r = ftrack_batch_commit(h_ft_cl, b, err, errlen);
	ck_assert_int_eq(ftrack_batch_result(b, op, res), FT_OK);
	res->message = NULL; /* owned by b */
	ftrack_batch_free(b);
	return r;
}

/*
 * Another host created the same person first (the same derived id): the
 * second create's DuplicateEntryError (on the username, or on the id when
 * ftrack does not enforce unique usernames) is read as "exists": FT_E_AGAIN,
 * never FT_E_DATA, and ftrack holds one user.
 */
START_TEST(test_batch_race_lost)
{
	struct ftrack_result res;
	char err[512] = "";
	json_t *cfg;
	int pass;

	h_ft_start(NULL);
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			cfg = h_emu_post(h_ft_emu, "/_emulator/config",
					 "{\"unique_usernames\": false}");
			ck_assert_ptr_nonnull(cfg);
			json_decref(cfg);
		}
		if (pass == 0)
			ck_assert_int_eq(create_racer(err, sizeof(err), &res),
					 FT_OK);
		err[0] = '\0';
		ck_assert_int_eq(create_racer(err, sizeof(err), &res),
				 FT_E_AGAIN);
		ck_assert_int_eq(res.code, FT_E_AGAIN);
		ck_assert_msg(strstr(err, "created at the same moment by "
					  "another host") != NULL,
			      "%s", err);
		ck_assert(ft_err_transient(res.code));
		ck_assert_int_eq(h_emu_named(h_ft_emu, "racer"), 1);
	}
}

END_TEST

Suite *
ftrack_batch_suite(void)
{
	Suite *s = suite_create("ftrack_batch");
	TCase *a = tcase_create("api");
	TCase *f = tcase_create("faults");

	tcase_set_timeout(a, 60);
	tcase_set_timeout(f, 60);
	tcase_add_test(a, test_update_only_changed);
	tcase_add_test(a, test_batch_chunks);
	tcase_add_test(a, test_batch_bad_record);
	tcase_add_test(a, test_batch_auth_refused);
	tcase_add_test(a, test_batch_reads_back_activity);
	tcase_add_test(a, test_batch_reads_back_by_query);
	tcase_add_test(a, test_batch_seat_refused_isolated);
	tcase_add_test(a, test_user_id_for);
	tcase_add_test(a, test_batch_race_lost);
	tcase_add_test(f, test_batch_stops_on_transient);
	tcase_add_test(f, test_lost_answer_no_duplicate);
	suite_add_tcase(s, a);
	suite_add_tcase(s, f);
	return s;
}
