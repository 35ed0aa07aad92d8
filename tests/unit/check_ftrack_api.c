/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_ftrack_api.c: the ftrack client against the real emulator
 * (tests/ftrack_emulator.py, one per test): authentication, lookups with
 * markers, partial updates, batching, isolation of a bad record, retries
 * (503, 429 + Retry-After, dropped connection, timeout, lost answer),
 * paging and keep-alive.
 */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ft_err.h"
#include "ft_user.h"
#include "ftrack_api.h"
#include "harness.h"
#include "http.h"

Suite *ftrack_api_suite(void);

/* One emulator and one client per test (each test runs in its own fork). */
static struct h_emu *emu;
static struct ftrack_client *cl;
static struct config cfg;
static char cfg_server[256], cfg_user[64], cfg_key[64];

static void
client_for(const char *key, unsigned timeout, unsigned batch_size)
{
	struct ftrack_retry retry = {.attempts = 4,
				     .base_ms = 20,
				     .max_ms = 200,
				     .deadline_ms = 30000};

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg_server, sizeof(cfg_server), "%s/", h_emu_url(emu));
	snprintf(cfg_user, sizeof(cfg_user), "%s", H_EMU_USER);
	snprintf(cfg_key, sizeof(cfg_key), "%s", key);
	cfg.ftrack.server = cfg_server;
	cfg.ftrack.api_user = cfg_user;
	cfg.ftrack.api_key = cfg_key;
	cfg.ftrack.timeout = timeout;
	cfg.ftrack.batch_size = batch_size;
	ck_assert_int_eq(ftrack_client_new(&cfg, &cl), FT_OK);
	ftrack_client_set_retry(cl, &retry);
}

static void
start(const char *const extra[])
{
	emu = h_emu_start(extra);
	ck_assert_ptr_nonnull(emu);
	client_for(H_EMU_KEY, 10, 100);
}

static void
stop(void)
{
	ftrack_client_free(cl);
	cl = NULL;
	h_emu_stop(emu);
	emu = NULL;
}

/* An integer member of the emulator's /_emulator/stats. */
static long long
emu_stat(const char *name)
{
	json_t *st = h_emu_get(emu, "/_emulator/stats");
	long long v;

	ck_assert_ptr_nonnull(st);
	ck_assert(json_is_integer(json_object_get(st, name)));
	v = json_integer_value(json_object_get(st, name));
	json_decref(st);
	return v;
}

static void
emu_fault(const char *spec)
{
	json_t *r = h_emu_post(emu, "/_emulator/fault", spec);

	ck_assert_ptr_nonnull(r);
	json_decref(r);
}

static unsigned long
requests(void)
{
	struct ftrack_stats st;

	ftrack_client_stats(cl, &st);
	return st.requests;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A user with copies of the given strings (NULL stays NULL). */
static struct ft_user
mkuser(const char *username, const char *first, const char *last,
       const char *email)
{
	struct ft_user u;

	memset(&u, 0, sizeof(u));
	u.username = username ? strdup(username) : NULL;
	u.first_name = first ? strdup(first) : NULL;
	u.last_name = last ? strdup(last) : NULL;
	u.email = email ? strdup(email) : NULL;
	return u;
}

/* Create username (with uuid marker when uuid != NULL); its new id. */
static char *
create(const char *username, const char *uuid)
{
	struct ft_user u = mkuser(username, "First", "Last", NULL);
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	char err[256] = "";
	size_t op = 99;
	char *id;

	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_create_user(b, &u, uuid, &op), FT_OK);
	ck_assert_uint_eq(op, 0);
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)), FT_OK);
	ck_assert_int_eq(ftrack_batch_result(b, 0, &res), FT_OK);
	ck_assert_int_eq(res.code, FT_OK);
	ck_assert_uint_eq(strlen(res.id), 36);
	id = strdup(res.id);
	ftrack_batch_free(b);
	ft_user_clear(&u);
	return id;
}

/* Look up one username; asserts it is found exactly once. */
static void
get_one(const char *username, struct ft_user_list *list)
{
	const char *const names[] = {username};
	char err[256] = "";

	ck_assert_int_eq(ftrack_users_get(cl, names, 1, list, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(list->n, 1);
	ck_assert_str_eq(list->v[0].username, username);
}

/* ---- authentication ----------------------------------------------------- */

START_TEST(test_server_info)
{
	char version[64] = "", err[256] = "";

	start(NULL);
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_OK);
	ck_assert_uint_gt(strlen(version), 0);
	ck_assert_uint_eq(requests(), 1);
	ftrack_client_free(cl);
	client_for("wrong-key", 10, 100);
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_E_AUTH);
	ck_assert_ptr_nonnull(strstr(err, "InvalidCredentialsError"));
	ck_assert_ptr_null(strstr(err, "wrong-key")); /* the key never shows */
	ck_assert_uint_eq(requests(), 1);             /* not retried */
	stop();
}

END_TEST

START_TEST(test_unreachable)
{
	char version[64], err[256] = "";
	int port = h_free_port();

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg_server, sizeof(cfg_server), "http://127.0.0.1:%d", port);
	snprintf(cfg_user, sizeof(cfg_user), "%s", H_EMU_USER);
	snprintf(cfg_key, sizeof(cfg_key), "%s", H_EMU_KEY);
	cfg.ftrack.server = cfg_server;
	cfg.ftrack.api_user = cfg_user;
	cfg.ftrack.api_key = cfg_key;
	ck_assert_int_eq(ftrack_client_new(&cfg, &cl), FT_OK);
	ftrack_client_set_retry(
		cl, &(struct ftrack_retry){.attempts = 3, .base_ms = 10});
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_E_HTTP);
	ck_assert_uint_gt(strlen(err), 0);
	ck_assert_uint_eq(requests(), 3);
	ftrack_client_free(cl);
	/* only http and https */
	snprintf(cfg_server, sizeof(cfg_server), "file:///etc");
	ck_assert_int_eq(ftrack_client_new(&cfg, &cl), FT_OK);
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_E_CONFIG);
	ftrack_client_free(cl);
	/* no header injection through the user name */
	snprintf(cfg_user, sizeof(cfg_user), "a\r\nX-Evil: 1");
	ck_assert_int_eq(ftrack_client_new(&cfg, &cl), FT_E_INVAL);
}

END_TEST

/* ---- lookups and writes ------------------------------------------------- */

START_TEST(test_create_then_get)
{
	const char *const names[] = {"jdoe", "nobody", "o\"brien) or (x"};
	struct ft_user_list list = {NULL, 0, 0};
	char err[256] = "";
	unsigned long before;
	char *id;
	json_t *u;

	start(NULL);
	id = create("jdoe", "entry-uuid-1");
	u = h_emu_user(emu, "jdoe");
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(json_string_value(json_object_get(u, "id")), id);
	ck_assert(json_is_true(json_object_get(u, "is_active")));
	json_decref(u);
	before = requests();
	ck_assert_int_eq(
		ftrack_users_get(cl, names, 3, &list, err, sizeof(err)), FT_OK);
	ck_assert_uint_eq(requests() - before, 2); /* users, then markers */
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
	before = requests();
	ck_assert_int_eq(
		ftrack_users_get(cl, names + 1, 2, &list, err, sizeof(err)),
		FT_OK);
	ck_assert_uint_eq(list.n, 0);
	ck_assert_uint_eq(requests() - before, 1);
	free(id);
	stop();
}

END_TEST

START_TEST(test_update_only_changed)
{
	struct ft_user_list list = {NULL, 0, 0};
	struct ft_user u = mkuser("jdoe", "Johnny", NULL, NULL);
	struct ftrack_batch *b = NULL;
	char err[256] = "", ops[512];
	char *id;
	json_t *r;

	start(NULL);
	id = create("jdoe", NULL);
	/* someone else changes the e-mail meanwhile */
	snprintf(
		ops, sizeof(ops),
		"[{\"action\":\"update\",\"entity_type\":\"User\",\"entity_key\":"
		"[\"%s\"],\"entity_data\":{\"__entity_type__\":\"User\","
		"\"email\":\"other@example.com\"}}]",
		id);
	r = h_emu_api(emu, ops);
	ck_assert(json_is_array(r));
	json_decref(r);
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(
		ftrack_batch_update_user(b, id, &u, FTRACK_F_FIRST_NAME, NULL),
		FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)), FT_OK);
	ftrack_batch_free(b);
	get_one("jdoe", &list);
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
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)), FT_OK);
	ftrack_batch_free(b);
	get_one("jdoe", &list);
	ck_assert(!list.v[0].is_active);
	ck_assert_str_eq(list.v[0].first_name, "Johnny");
	ft_user_list_clear(&list);
	ft_user_clear(&u);
	free(id);
	stop();
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
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)), FT_OK);
	ftrack_batch_free(b);
}

START_TEST(test_markers_and_rename)
{
	const char *const uuids[] = {"entry-2", "entry-unknown"};
	struct ft_user_list list = {NULL, 0, 0};
	struct ft_user nu = mkuser("jd-renamed", NULL, NULL, NULL);
	struct ftrack_batch *b = NULL;
	char err[256] = "";
	unsigned long before;
	char *id;

	start(NULL);
	id = create("jd", "entry-2");
	marker_op(id, FTRACK_MARKER_DEACTIVATED, "2024-01-02T03:04:05Z", false);
	get_one("jd", &list);
	ck_assert_str_eq(list.v[0].deactivated, "2024-01-02T03:04:05Z");
	ft_user_list_clear(&list);
	marker_op(id, FTRACK_MARKER_DEACTIVATED, "2025-06-07T08:09:10Z", true);
	get_one("jd", &list);
	ck_assert_str_eq(list.v[0].deactivated, "2025-06-07T08:09:10Z");
	ft_user_list_clear(&list);
	marker_op(id, FTRACK_MARKER_DEACTIVATED, NULL, true);
	get_one("jd", &list);
	ck_assert_ptr_null(list.v[0].deactivated);
	ck_assert_str_eq(list.v[0].uuid, "entry-2");
	ft_user_list_clear(&list);
	/* the LDAP account was renamed: find the user by its uuid marker */
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(
		ftrack_batch_update_user(b, id, &nu, FTRACK_F_USERNAME, NULL),
		FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)), FT_OK);
	ftrack_batch_free(b);
	before = requests();
	ck_assert_int_eq(
		ftrack_users_by_uuid(cl, uuids, 2, &list, err, sizeof(err)),
		FT_OK);
	ck_assert_uint_eq(requests() - before, 2);
	ck_assert_uint_eq(list.n, 1);
	ck_assert_str_eq(list.v[0].id, id);
	ck_assert_str_eq(list.v[0].username, "jd-renamed");
	ck_assert_str_eq(list.v[0].uuid, "entry-2");
	ft_user_list_clear(&list);
	ft_user_clear(&nu);
	free(id);
	stop();
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

	start(NULL);
	al = create("al", "u-al");
	bo = create("bo", "u-bo"); /* renamed to bo-new in LDAP */
	marker_op(bo, FTRACK_MARKER_DEACTIVATED, "2026-01-01T00:00:00Z", false);
	before = requests();
	ck_assert_int_eq(ftrack_users_lookup(cl, names, 1, uuids, 1, &list, err,
					     sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(requests() - before, 1);
	ck_assert_uint_eq(list.n, 0);
	before = requests();
	ck_assert_int_eq(ftrack_users_lookup(cl, names, 3, uuids, 3, &list, err,
					     sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(requests() - before, 2);
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
	stop();
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

	start(NULL);
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	for (i = 0; i < 250; i++) {
		struct ft_user u;

		snprintf(name, sizeof(name), "user%03zu", i);
		u = mkuser(name, "F", "L", NULL);
		ck_assert_int_eq(ftrack_batch_create_user(b, &u, NULL, NULL),
				 FT_OK);
		ft_user_clear(&u);
	}
	ck_assert_uint_eq(ftrack_batch_count(b), 250);
	before = emu_stat("requests");
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)), FT_OK);
	ck_assert_int_eq(emu_stat("requests") - before, 3);
	ck_assert_uint_eq(requests(), 3);
	for (i = 0; i < 250; i++) {
		ck_assert_int_eq(ftrack_batch_result(b, i, &res), FT_OK);
		ck_assert_int_eq(res.code, FT_OK);
	}
	ck_assert_int_eq(ftrack_batch_result(b, 250, &res), FT_E_INVAL);
	/* a batch is committed once */
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)),
			 FT_E_INVAL);
	ftrack_batch_free(b);
	all = h_emu_get(emu, "/_emulator/users");
	ck_assert_uint_eq(json_array_size(all), 251); /* + the API user */
	json_decref(all);
	stop();
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

	start(NULL);
	taken = create("taken", "entry-taken");
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	for (i = 0; i < 3; i++) {
		struct ft_user u = mkuser(names[i], "F", "L", "x@example.com");

		snprintf(uuid, sizeof(uuid), "entry-%zu", i);
		ck_assert_int_eq(ftrack_batch_create_user(b, &u, uuid, &op[i]),
				 FT_OK);
		ck_assert_uint_eq(op[i], 2 * i);
		ft_user_clear(&u);
	}
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)),
			 FT_E_DATA);
	ck_assert_ptr_nonnull(strstr(err, "DuplicateEntryError"));
	/* 1 refused POST, then the 3 groups one by one */
	ck_assert_uint_eq(requests(), 1 + 1 + 3);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(ftrack_batch_result(b, i, &res), FT_OK);
		ck_assert_int_eq(res.code, i / 2 == 1 ? FT_E_DATA : FT_OK);
		if (i / 2 == 1)
			ck_assert_ptr_nonnull(strstr(res.message, "Duplicate"));
		else
			ck_assert_ptr_null(res.message);
	}
	ck_assert_int_eq(
		ftrack_users_get(cl, names, 3, &list, err, sizeof(err)), FT_OK);
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
	stop();
}

END_TEST

START_TEST(test_batch_stops_on_transient)
{
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	char err[256] = "";
	size_t i;

	start(NULL);
	ftrack_client_free(cl);
	client_for(H_EMU_KEY, 10, 2);
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	for (i = 0; i < 6; i++) {
		char name[16];
		struct ft_user u;

		snprintf(name, sizeof(name), "u%zu", i);
		u = mkuser(name, NULL, NULL, NULL);
		ck_assert_int_eq(ftrack_batch_create_user(b, &u, NULL, NULL),
				 FT_OK);
		ft_user_clear(&u);
	}
	/* the first POST goes through, then the server stays down */
	emu_fault("{\"skip\":1,\"count\":100,\"status\":503}");
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)),
			 FT_E_HTTP);
	ck_assert_ptr_nonnull(strstr(err, "503"));
	ck_assert_uint_eq(requests(), 1 + 4); /* 4 attempts of the 2nd POST */
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(ftrack_batch_result(b, i, &res), FT_OK);
		ck_assert_int_eq(res.code, i < 2 ? FT_OK : FT_E_HTTP);
	}
	ftrack_batch_free(b);
	stop();
}

END_TEST

START_TEST(test_batch_auth_refused)
{
	struct ft_user u = mkuser("x", NULL, NULL, NULL);
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	char err[256] = "";

	start(NULL);
	ftrack_client_free(cl);
	client_for("bad-key", 10, 100);
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_create_user(b, &u, "e", NULL), FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)),
			 FT_E_AUTH);
	ck_assert_int_eq(ftrack_batch_result(b, 1, &res), FT_OK);
	ck_assert_int_eq(res.code, FT_E_AUTH);
	ck_assert_uint_eq(requests(), 1);
	ftrack_batch_free(b);
	ft_user_clear(&u);
	stop();
}

END_TEST

/* ---- retries ------------------------------------------------------------ */

START_TEST(test_retry_503)
{
	char version[64], err[256] = "";
	struct ftrack_stats st;

	start(NULL);
	emu_fault("{\"count\":2,\"status\":503}");
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_OK);
	ftrack_client_stats(cl, &st);
	ck_assert_uint_eq(st.requests, 3);
	ck_assert_uint_eq(st.retries, 2);
	ck_assert_int_eq(emu_stat("requests"), 3);
	/* a 500 with an exception body is transient too */
	emu_fault("{\"count\":1,\"status\":500,\"exception\":\"ServerError\"}");
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_OK);
	ftrack_client_stats(cl, &st);
	ck_assert_uint_eq(st.retries, 3);
	stop();
}

END_TEST

START_TEST(test_retry_after)
{
	char version[64], err[256] = "";
	double t0, took;

	start(NULL);
	emu_fault("{\"count\":1,\"status\":429,\"retry_after\":1}");
	t0 = now_s();
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_OK);
	took = now_s() - t0;
	ck_assert_msg(took >= 1.0 && took < 10.0, "took %.3f s", took);
	ck_assert_uint_eq(requests(), 2);
	stop();
}

END_TEST

START_TEST(test_retry_dropped)
{
	const char *const names[] = {"ftrack-sync"};
	struct ft_user_list list = {NULL, 0, 0};
	char version[64], err[256] = "";

	start(NULL);
	/* on a fresh connection, and on a kept-alive one */
	emu_fault("{\"count\":1,\"drop\":true}");
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_OK);
	emu_fault("{\"count\":1,\"drop\":true}");
	ck_assert_int_eq(
		ftrack_users_get(cl, names, 1, &list, err, sizeof(err)), FT_OK);
	ck_assert_uint_eq(list.n, 1);
	ck_assert_int_eq(emu_stat("faults_pending"), 0);
	ck_assert_int_ge(emu_stat("requests"), 2 + 2);
	ft_user_list_clear(&list);
	stop();
}

END_TEST

START_TEST(test_timeout)
{
	char version[64], err[256] = "";
	double t0, took;

	start(NULL);
	ftrack_client_free(cl);
	client_for(H_EMU_KEY, 1, 100);
	ftrack_client_set_retry(
		cl, &(struct ftrack_retry){.attempts = 3, .base_ms = 10});
	emu_fault("{\"count\":3,\"delay_ms\":2500}");
	t0 = now_s();
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_E_HTTP);
	took = now_s() - t0;
	ck_assert_msg(took >= 2.9 && took < 8.0, "took %.3f s", took);
	ck_assert_uint_eq(requests(), 3);
	ck_assert_ptr_nonnull(strstr(err, "timed out"));
	stop();
}

END_TEST

START_TEST(test_stop_flag)
{
	static volatile sig_atomic_t stop_now = 1;
	char version[64], err[256] = "";

	start(NULL);
	ftrack_client_set_stop(cl, &stop_now);
	emu_fault("{\"count\":5,\"status\":503}");
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_E_HTTP);
	ck_assert_uint_eq(requests(), 1);
	stop();
}

END_TEST

/*
 * The first attempt's answer is lost (client timeout) but the server
 * applies it; the resent create meets DuplicateEntryError, recognises its
 * own id and counts as done: one user, no error.
 */
START_TEST(test_lost_answer_no_duplicate)
{
	struct ft_user u = mkuser("lost", NULL, NULL, NULL);
	struct ft_user_list list = {NULL, 0, 0};
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	struct ftrack_stats st;
	char err[256] = "";
	json_t *all;

	start(NULL);
	ftrack_client_free(cl);
	client_for(H_EMU_KEY, 1, 100);
	/* the resend must come after the slow first attempt was applied */
	ftrack_client_set_retry(
		cl, &(struct ftrack_retry){.attempts = 3, .base_ms = 2000});
	emu_fault("{\"count\":1,\"delay_ms\":1200}");
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_create_user(b, &u, "entry-lost", NULL),
			 FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)), FT_OK);
	ck_assert_int_eq(ftrack_batch_result(b, 0, &res), FT_OK);
	ck_assert_int_eq(res.code, FT_OK);
	ftrack_client_stats(cl, &st);
	ck_assert_uint_eq(st.retries, 1);
	ck_assert_int_eq(emu_stat("requests"), 3); /* slow, dup, check */
	get_one("lost", &list);
	ck_assert_str_eq(list.v[0].id, res.id);
	ck_assert_str_eq(list.v[0].uuid, "entry-lost");
	all = h_emu_get(emu, "/_emulator/users");
	ck_assert_uint_eq(json_array_size(all), 2);
	json_decref(all);
	ft_user_list_clear(&list);
	ftrack_batch_free(b);
	ft_user_clear(&u);
	stop();
}

END_TEST

START_TEST(test_malformed_answers)
{
	char version[64], err[256] = "";
	struct ftrack_stats st;

	start(NULL);
	/* a 200 that is not JSON: malformed, not sent again */
	emu_fault("{\"count\":1,\"status\":200,\"body\":\"<html>oops\"}");
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_E_MALFORMED);
	ck_assert_ptr_nonnull(strstr(err, "not JSON"));
	ck_assert_uint_eq(requests(), 1);
	/* a 500 error page: transient, sent again */
	emu_fault("{\"count\":1,\"status\":500}");
	ck_assert_int_eq(ftrack_server_info(cl, version, sizeof(version), err,
					    sizeof(err)),
			 FT_OK);
	ftrack_client_stats(cl, &st);
	ck_assert_uint_eq(st.requests, 3);
	ck_assert_uint_eq(st.retries, 1);
	stop();
}

END_TEST

/* The http unit: any status is a response; the body cap holds. */
START_TEST(test_http_cap)
{
	const char *q = "[{\"action\":\"query\",\"expression\":\"select id, "
			"username from User\"}]";
	struct http_opts o = {.user = H_EMU_USER,
			      .api_key = H_EMU_KEY,
			      .timeout = 5,
			      .max_body = 64};
	struct http *h = NULL;
	struct http_resp resp;
	char url[256], err[256] = "";

	emu = h_emu_start(NULL);
	ck_assert_ptr_nonnull(emu);
	snprintf(url, sizeof(url), "%s/api", h_emu_url(emu));
	o.url = url;
	ck_assert_int_eq(http_new(&o, &h), FT_OK);
	ck_assert_int_eq(http_post(h, q, strlen(q), &resp, err, sizeof(err)),
			 FT_E_TOOBIG);
	http_resp_clear(&resp);
	http_free(h);
	o.max_body = 0;
	ck_assert_int_eq(http_new(&o, &h), FT_OK);
	ck_assert_int_eq(http_post(h, q, strlen(q), &resp, err, sizeof(err)),
			 FT_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_uint_gt(resp.len, 64);
	ck_assert_uint_eq(strlen(resp.body), resp.len);
	http_resp_clear(&resp);
	/* an error status is still a response */
	ck_assert_int_eq(http_post(h, "nope", 4, &resp, err, sizeof(err)),
			 FT_OK);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_ptr_nonnull(strstr(resp.body, "ValidationError"));
	http_resp_clear(&resp);
	ck_assert_uint_eq(http_requests(h), 2);
	ck_assert_uint_eq(http_connections(h), 1);
	http_free(h);
	o.api_key = "k\nX-Injected: 1";
	ck_assert_int_eq(http_new(&o, &h), FT_E_INVAL);
	h_emu_stop(emu);
}

END_TEST

/* ---- paging and keep-alive ---------------------------------------------- */

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

	emu = h_emu_start(extra);
	ck_assert_ptr_nonnull(emu);
	client_for(H_EMU_KEY, 10, 100);
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	for (i = 0; i < 50; i++) {
		struct ft_user u;

		snprintf(name[i], sizeof(name[i]), "p%02zu", i);
		names[i] = name[i];
		snprintf(uuid, sizeof(uuid), "entry-p%02zu", i);
		u = mkuser(name[i], NULL, NULL, NULL);
		ck_assert_int_eq(ftrack_batch_create_user(b, &u, uuid, NULL),
				 FT_OK);
		ft_user_clear(&u);
	}
	ck_assert_int_eq(ftrack_batch_commit(cl, b, err, sizeof(err)), FT_OK);
	ck_assert_uint_eq(requests(), 1); /* 100 operations in one POST */
	before = requests();
	ck_assert_int_eq(
		ftrack_users_all(cl, 500, count_user, &seen, err, sizeof(err)),
		FT_OK);
	ck_assert_uint_eq(seen.n, 51); /* + the API user */
	ck_assert_uint_eq(seen.with_uuid, 50);
	ck_assert_uint_eq(seen.deactivated, 0);
	/* 51 users and 50 markers, 7 a page, pages paired in one POST */
	ck_assert_uint_le(requests() - before, 9);
	ck_assert_uint_ge(requests() - before, 8);
	/* lookups follow the pages too */
	ck_assert_int_eq(
		ftrack_users_get(cl, names, 50, &list, err, sizeof(err)),
		FT_OK);
	ck_assert_uint_eq(list.n, 50);
	for (i = 0; i < list.n; i++)
		ck_assert_ptr_nonnull(list.v[i].uuid);
	ft_user_list_clear(&list);
	/* the callback can stop the listing */
	ck_assert_int_eq(
		ftrack_users_all(cl, 5, stop_at_3, &n, err, sizeof(err)),
		FT_E_CONFLICT);
	ck_assert_uint_eq(n, 3);
	ftrack_batch_free(b);
	stop();
}

END_TEST

START_TEST(test_keepalive)
{
	const char *const names[] = {"ftrack-sync"};
	char version[64], err[256] = "";
	struct ftrack_stats st;
	int i;

	start(NULL);
	for (i = 0; i < 20; i++) {
		struct ft_user_list list = {NULL, 0, 0};

		ck_assert_int_eq(ftrack_server_info(cl, version,
						    sizeof(version), err,
						    sizeof(err)),
				 FT_OK);
		ck_assert_int_eq(
			ftrack_users_get(cl, names, 1, &list, err, sizeof(err)),
			FT_OK);
		ck_assert_uint_eq(list.n, 1);
		ft_user_list_clear(&list);
	}
	ftrack_client_stats(cl, &st);
	ck_assert_uint_eq(st.requests, 20 * 2 + 20);
	ck_assert_uint_eq(st.connections, 1);
	ck_assert_int_eq(emu_stat("api_connections"), 1);
	stop();
}

END_TEST

Suite *
ftrack_api_suite(void)
{
	Suite *s = suite_create("ftrack_api");
	TCase *a = tcase_create("api");
	TCase *f = tcase_create("faults");

	tcase_set_timeout(a, 60);
	tcase_set_timeout(f, 60);
	tcase_add_test(a, test_server_info);
	tcase_add_test(a, test_unreachable);
	tcase_add_test(a, test_create_then_get);
	tcase_add_test(a, test_update_only_changed);
	tcase_add_test(a, test_markers_and_rename);
	tcase_add_test(a, test_lookup_requests);
	tcase_add_test(a, test_batch_chunks);
	tcase_add_test(a, test_batch_bad_record);
	tcase_add_test(a, test_batch_auth_refused);
	tcase_add_test(a, test_paging_all);
	tcase_add_test(a, test_keepalive);
	tcase_add_test(f, test_batch_stops_on_transient);
	tcase_add_test(f, test_retry_503);
	tcase_add_test(f, test_retry_after);
	tcase_add_test(f, test_retry_dropped);
	tcase_add_test(f, test_timeout);
	tcase_add_test(f, test_stop_flag);
	tcase_add_test(f, test_lost_answer_no_duplicate);
	tcase_add_test(f, test_malformed_answers);
	tcase_add_test(f, test_http_cap);
	suite_add_tcase(s, a);
	suite_add_tcase(s, f);
	return s;
}
