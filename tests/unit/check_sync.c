/* SPDX-License-Identifier: Apache-2.0 */
/* check_sync.c: sync_users() in-process against a throwaway slapd and the
 * ftrack emulator: every outcome, batches, repeats, LDAP or ftrack down. */
#include <check.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "harness.h"
#include "sync.h"

Suite *sync_suite(void);

#define MARK_UUID "ftrack_syncd.uuid"
#define MAXLOGINS 6

/* One slapd and one emulator for the suite (unchecked fixture, runner). */
/* Per test: an empty ftrack, a config, a sync. */
static struct {
	char dir[PATH_MAX];
	char *conf;
	struct config *cfg;
	struct sync *s;
} W;

static void
world_setup(void)
{
	h_fx_world_setup(); /* the emulator reset, a fresh h_fx.dir */
	memset(&W, 0, sizeof(W));
	H_FMT(W.dir, "%s", h_fx.dir);
}

static void
world_teardown(void)
{
	h_fx_world_teardown();
	sync_free(W.s);
	config_free(W.cfg);
	free(W.conf);
	memset(&W, 0, sizeof(W));
}

/* Load a config for (slapd or none, emulator or none, extra) and a sync. */
static void
world_sync(bool ldap, bool ftrack, const char *extra)
{
	char err[512] = "";

	sync_free(W.s);
	config_free(W.cfg);
	free(W.conf);
	W.s = NULL;
	W.cfg = NULL;
	W.conf = h_write_config(W.dir, ldap ? h_fx_slapd : NULL,
				ftrack ? h_fx_emu : NULL, extra);
	ck_assert_ptr_nonnull(W.conf);
	ck_assert_msg(config_load(W.conf, &W.cfg, err, sizeof(err)) == FT_OK,
		      "%s", err);
	ck_assert_msg(sync_new(W.cfg, &W.s, err, sizeof(err)) == FT_OK, "%s",
		      err);
}

static void
run(const char *const logins[], size_t n, struct sync_result *res)
{
	memset(res, 0x5a, n * sizeof(*res));
	sync_users(W.s, logins, n, res);
}

/* Sync one login and require the outcome. */
static void
sync_one(const char *login, enum sync_outcome want)
{
	struct sync_result res;

	run(&login, 1, &res);
	ck_assert_msg(res.outcome == want, "'%s': %s (%s), want %s", login,
		      sync_outcome_name(res.outcome), res.detail,
		      sync_outcome_name(want));
}

/* ---- the emulator, by hand --------------------------------------------- */

static void
emu_ops(const char *ops)
{
	json_t *res = h_emu_api(h_fx_emu, ops);

	ck_assert_msg(json_is_array(res), "emulator refused %s", ops);
	json_decref(res);
}

static char *
emu_id(const char *username)
{
	json_t *u = h_emu_user(h_fx_emu, username);
	const char *id = json_string_value(json_object_get(u, "id"));
	char *ret;

	ck_assert_msg(id != NULL, "no ftrack user '%s'", username);
	ret = strdup(id);
	ck_assert_ptr_nonnull(ret);
	json_decref(u);
	return ret;
}

/* Update the User named username with data (JSON members). */
static void
emu_update(const char *username, const char *data)
{
	char *id = emu_id(username);
	char ops[1024];

	H_FMT(ops,
	      "[{\"action\": \"update\", \"entity_type\": \"User\", "
	      "\"entity_key\": [\"%s\"], \"entity_data\": "
	      "{\"__entity_type__\": \"User\", %s}}]",
	      id, data);
	emu_ops(ops);
	free(id);
}

static void
emu_create(const char *username)
{
	char ops[1024];

	H_FMT(ops,
	      "[{\"action\": \"create\", \"entity_type\": \"User\", "
	      "\"entity_data\": {\"__entity_type__\": \"User\", "
	      "\"username\": \"%s\", \"first_name\": \"By\", "
	      "\"last_name\": \"Hand\", \"is_active\": true}}]",
	      username);
	emu_ops(ops);
}

static char *
emu_field(const char *username, const char *field)
{
	json_t *u = h_emu_user(h_fx_emu, username);
	json_t *v = json_object_get(u, field);
	char *ret;

	ck_assert_msg(u != NULL, "no ftrack user '%s'", username);
	if (json_is_boolean(v))
		ret = strdup(json_is_true(v) ? "true" : "false");
	else
		ret = strdup(json_string_value(v) ? json_string_value(v)
						  : "(null)");
	ck_assert_ptr_nonnull(ret);
	json_decref(u);
	return ret;
}

static void
assert_field(const char *username, const char *field, const char *want)
{
	char *got = emu_field(username, field);

	ck_assert_msg(strcmp(got, want) == 0, "%s.%s: '%s', want '%s'",
		      username, field, got, want);
	free(got);
}

static long long
emu_writes(void)
{
	return h_emu_stat2(h_fx_emu, "operations", "create") +
	       h_emu_stat2(h_fx_emu, "operations", "update") +
	       h_emu_stat2(h_fx_emu, "operations", "delete");
}

/* ---- what each row does before and checks after ------------------------ */

static void
prep_none(void)
{
}

static void
prep_alice(void)
{
	sync_one("alice", SYNC_CREATED);
}

static void
prep_bob_stale(void)
{
	sync_one("bob", SYNC_CREATED);
	emu_update("bob", "\"email\": \"old@example.com\", "
			  "\"first_name\": \"Robert\"");
}

static void
prep_carol_unlinked(void)
{
	emu_create("carol");
}

static void
prep_dave_renamed(void)
{
	sync_one("dave", SYNC_CREATED);
	emu_update("dave", "\"username\": \"dave-old\"");
}

static void
prep_erin_inactive(void)
{
	sync_one("erin", SYNC_CREATED);
	emu_update("erin", "\"is_active\": false");
}

/* erin's marker on "erin-old", and another "erin" made by hand */
static void
prep_erin_conflict(void)
{
	sync_one("erin", SYNC_CREATED);
	emu_update("erin", "\"username\": \"erin-old\"");
	emu_create("erin");
}

/* hosted ftrack: alice's account is named by her (mixed-case) e-mail */
static void
prep_alice_by_mail(void)
{
	emu_create("Alice.L@Example.com");
	emu_update("Alice.L@Example.com", "\"email\": \"alice@example.com\"");
}

/* two accounts hold alice's address */
static void
prep_alice_two_mails(void)
{
	prep_alice_by_mail();
	emu_create("aliceold");
	emu_update("aliceold", "\"email\": \"alice@example.com\"");
}

/* more accounts with one address than logins in the batch */
static void
prep_alice_three_mails(void)
{
	prep_alice_two_mails();
	emu_create("alice-2019");
	emu_update("alice-2019", "\"email\": \"alice@example.com\"");
}

static void
post_alice_linked_by_mail(void)
{
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 1);
	ck_assert_int_eq(h_emu_user_markers(h_fx_emu, "Alice.L@Example.com",
					    MARK_UUID, NULL),
			 1);
	ck_assert_int_eq(h_emu_user_markers(h_fx_emu, "Alice.L@Example.com",
					    "ftrack_syncd.linked_by", NULL),
			 1);
	assert_field("Alice.L@Example.com", "first_name", "Alice");
}

static void
post_alice_second_user(void)
{
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 1);
	ck_assert_int_eq(h_emu_user_markers(h_fx_emu, "Alice.L@Example.com",
					    MARK_UUID, NULL),
			 0);
}

static void
post_alice_none_linked(void)
{
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 2);
	ck_assert_int_eq(h_emu_user_markers(h_fx_emu, "Alice.L@Example.com",
					    MARK_UUID, NULL),
			 0);
	ck_assert_int_eq(
		h_emu_user_markers(h_fx_emu, "aliceold", MARK_UUID, NULL), 0);
}

static void
post_no_alice(void)
{
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 3);
}

static void
post_alice_created(void)
{
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 1);
	assert_field("alice", "email", "alice@example.com");
	assert_field("alice", "is_active", "true");
	ck_assert_int_eq(h_emu_user_markers(h_fx_emu, "alice", MARK_UUID, NULL),
			 1);
}

static void
post_no_users(void)
{
	ck_assert_int_eq(h_emu_people(h_fx_emu), 0);
}

static void
post_bob_updated(void)
{
	assert_field("bob", "email", "bob@example.com");
	assert_field("bob", "first_name", "Bob");
}

static void
post_carol_linked(void)
{
	ck_assert_int_eq(h_emu_named(h_fx_emu, "carol"), 1);
	ck_assert_int_eq(h_emu_user_markers(h_fx_emu, "carol", MARK_UUID, NULL),
			 1);
}

static void
post_dave_renamed(void)
{
	ck_assert_int_eq(h_emu_named(h_fx_emu, "dave"), 1);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "dave-old"), 0);
	ck_assert_int_eq(h_emu_user_markers(h_fx_emu, "dave", MARK_UUID, NULL),
			 1);
}

static void
post_erin_active(void)
{
	assert_field("erin", "is_active", "true");
}

static void
post_erin_untouched(void)
{
	ck_assert_int_eq(h_emu_named(h_fx_emu, "erin"), 1);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "erin-old"), 1);
	ck_assert_int_eq(h_emu_user_markers(h_fx_emu, "erin", MARK_UUID, NULL),
			 0);
	ck_assert_int_eq(
		h_emu_user_markers(h_fx_emu, "erin-old", MARK_UUID, NULL), 1);
}

static void
post_batch(void)
{
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 1);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "bob"), 1);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 2);
}

struct want {
	const char *login; /* NULL: end of the batch */
	enum sync_outcome outcome;
	int err;
};

struct row {
	const char *name;
	bool no_ldap, no_ftrack; /* a closed port instead of the server */
	const char *extra;       /* config changes */
	void (*prep)(void);
	struct want login[MAXLOGINS + 1];
	const char *detail; /* in every result's detail; NULL: not checked */
	bool writes;        /* ftrack writes are expected */
	long searches;      /* LDAP searches made by the call */
	void (*post)(void);
};

static const struct row rows[] = {
	{.name = "linked by e-mail",
	 .extra = "ftrack.link_by = email",
	 .prep = prep_alice_by_mail,
	 .login = {{"alice", SYNC_LINKED, FT_OK}},
	 .detail = "'Alice.L@Example.com' linked by e-mail",
	 .writes = true,
	 .searches = 1,
	 .post = post_alice_linked_by_mail},
	{.name = "link_by = username: e-mail not looked at",
	 .prep = prep_alice_by_mail,
	 .login = {{"alice", SYNC_CREATED, FT_OK}},
	 .writes = true,
	 .searches = 1,
	 .post = post_alice_second_user},
	{.name = "two users with the e-mail",
	 .extra = "ftrack.link_by = email",
	 .prep = prep_alice_two_mails,
	 .login = {{"alice", SYNC_FAILED, FT_E_CONFLICT}},
	 .detail = "2 ftrack users have the e-mail 'alice@example.com'",
	 .searches = 1,
	 .post = post_alice_none_linked},
	{.name = "three users with the e-mail",
	 .extra = "ftrack.link_by = email",
	 .prep = prep_alice_three_mails,
	 .login = {{"alice", SYNC_FAILED, FT_E_CONFLICT}},
	 .detail = "3 ftrack users have the e-mail 'alice@example.com'",
	 .searches = 1,
	 .post = post_no_alice},
	{.name = "created",
	 .prep = prep_none,
	 .login = {{"alice", SYNC_CREATED, FT_OK}},
	 .writes = true,
	 .searches = 1,
	 .post = post_alice_created},
	{.name = "unchanged",
	 .prep = prep_alice,
	 .login = {{"alice", SYNC_UNCHANGED, FT_OK}},
	 .detail = "in sync",
	 .searches = 1,
	 .post = post_alice_created},
	{.name = "updated",
	 .prep = prep_bob_stale,
	 .login = {{"bob", SYNC_UPDATED, FT_OK}},
	 .detail = "email",
	 .writes = true,
	 .searches = 1,
	 .post = post_bob_updated},
	{.name = "linked",
	 .prep = prep_carol_unlinked,
	 .login = {{"carol", SYNC_LINKED, FT_OK}},
	 .writes = true,
	 .searches = 1,
	 .post = post_carol_linked},
	{.name = "renamed",
	 .prep = prep_dave_renamed,
	 .login = {{"dave", SYNC_RENAMED, FT_OK}},
	 .writes = true,
	 .searches = 1,
	 .post = post_dave_renamed},
	{.name = "reactivated",
	 .extra = "policy.reactivate = always",
	 .prep = prep_erin_inactive,
	 .login = {{"erin", SYNC_REACTIVATED, FT_OK}},
	 .writes = true,
	 .searches = 1,
	 .post = post_erin_active},
	{.name = "not in LDAP",
	 .prep = prep_none,
	 .login = {{"nosuchuser", SYNC_NOT_LDAP, FT_E_NOTFOUND}},
	 .detail = "not in LDAP",
	 .searches = 1,
	 .post = post_no_users},
	{.name = "disabled in LDAP",
	 .prep = prep_none,
	 .login = {{"gone", SYNC_NOT_LDAP, FT_OK}},
	 .detail = "disabled in LDAP",
	 .searches = 1,
	 .post = post_no_users},
	{.name = "skip_users",
	 .extra = "policy.skip_users = root frank",
	 .prep = prep_none,
	 .login = {{"frank", SYNC_SKIPPED, FT_OK}},
	 .detail = "skip_users",
	 .searches = 1,
	 .post = post_no_users},
	{.name = "update-only",
	 .extra = "policy.on_login = update-only",
	 .prep = prep_none,
	 .login = {{"frank", SYNC_SKIPPED, FT_OK}},
	 .searches = 1,
	 .post = post_no_users},
	{.name = "conflict",
	 .prep = prep_erin_conflict,
	 .login = {{"erin", SYNC_FAILED, FT_E_CONFLICT}},
	 .detail = "erin-old",
	 .searches = 1,
	 .post = post_erin_untouched},
	/* repeats share the first one's outcome and LDAP search */
	{.name = "batch",
	 .prep = prep_none,
	 .login = {{"alice", SYNC_CREATED, FT_OK},
		   {"nosuchuser", SYNC_NOT_LDAP, FT_E_NOTFOUND},
		   {"gone", SYNC_NOT_LDAP, FT_OK},
		   {"bob", SYNC_CREATED, FT_OK},
		   {"alice", SYNC_CREATED, FT_OK},
		   {"gone", SYNC_NOT_LDAP, FT_OK}},
	 .writes = true,
	 .searches = 4,
	 .post = post_batch},
	/* the first failed search stands for the rest of the batch */
	{.name = "LDAP down",
	 .no_ldap = true,
	 .prep = prep_none,
	 .login = {{"alice", SYNC_RETRY, FT_E_LDAP_DOWN},
		   {"bob", SYNC_RETRY, FT_E_LDAP_DOWN},
		   {"carol", SYNC_RETRY, FT_E_LDAP_DOWN}},
	 .searches = 1,
	 .post = post_no_users},
	{.name = "ftrack down",
	 .no_ftrack = true,
	 .prep = prep_none,
	 .login = {{"alice", SYNC_RETRY, FT_E_HTTP},
		   {"gone", SYNC_NOT_LDAP, FT_OK}},
	 .searches = 2,
	 .post = post_no_users},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

START_TEST(test_outcome)
{
	const struct row *r = &rows[_i];
	const char *logins[MAXLOGINS];
	struct sync_result res[MAXLOGINS];
	unsigned long searches0, http0, searches, http;
	long long writes0;
	size_t i, n;

	for (n = 0; r->login[n].login != NULL; n++)
		logins[n] = r->login[n].login;
	world_sync(!r->no_ldap, !r->no_ftrack, r->extra);
	r->prep();
	sync_counts(W.s, &searches0, &http0);
	writes0 = emu_writes();
	run(logins, n, res);
	for (i = 0; i < n; i++) {
		const struct want *w = &r->login[i];

		ck_assert_msg(
			res[i].outcome == w->outcome && res[i].err == w->err,
			"%s: '%s': %s err %d (%s), want %s err %d", r->name,
			w->login, sync_outcome_name(res[i].outcome), res[i].err,
			res[i].detail, sync_outcome_name(w->outcome), w->err);
		ck_assert_uint_lt(strlen(res[i].detail), sizeof(res[i].detail));
		if (r->detail != NULL)
			ck_assert_msg(strstr(res[i].detail, r->detail),
				      "%s: detail '%s' lacks '%s'", r->name,
				      res[i].detail, r->detail);
	}
	sync_counts(W.s, &searches, &http);
	ck_assert_uint_eq(searches - searches0, (unsigned long)r->searches);
	if (!r->no_ftrack)
		ck_assert_msg((emu_writes() > writes0) == r->writes,
			      "%s: writes %lld -> %lld", r->name, writes0,
			      emu_writes());
	r->post();
}

END_TEST

/* A batch is a few requests, not one per login. */
START_TEST(test_batch_requests)
{
	static const char *const logins[] = {"alice", "bob",   "carol",
					     "dave",  "erin",  "frank",
					     "zoe",   "joerg", "yamada"};
	struct sync_result res[9];
	unsigned long searches, http;
	size_t i;

	world_sync(true, true, NULL);
	run(logins, 9, res);
	for (i = 0; i < 9; i++)
		ck_assert_msg(res[i].outcome == SYNC_CREATED, "'%s': %s (%s)",
			      logins[i], sync_outcome_name(res[i].outcome),
			      res[i].detail);
	sync_counts(W.s, &searches, &http);
	ck_assert_uint_eq(searches, 9);
	ck_assert_uint_le(http, 3); /* the look-up and the writes */
	ck_assert_int_eq(h_emu_people(h_fx_emu), 9);
	assert_field("joerg", "last_name", "M\xc3\xbcller");
	/* the same batch again: nothing to write */
	run(logins, 9, res);
	for (i = 0; i < 9; i++)
		ck_assert_int_eq(res[i].outcome, SYNC_UNCHANGED);
}

END_TEST

/*
 * link_by = email costs one more request only for the logins found
 * neither by uuid marker nor by username, and none with the default.
 */
START_TEST(test_email_lookup_requests)
{
	static const char *const logins[] = {"alice", "bob"};
	struct sync_result res[2];
	unsigned long searches, h0, h1;

	world_sync(true, true, NULL);
	run(logins, 2, res);
	sync_counts(W.s, &searches, &h0); /* look-up, creates (+ read-back) */
	world_sync(true, true, "ftrack.link_by = email");
	run(logins, 2, res);
	ck_assert_int_eq(res[0].outcome, SYNC_UNCHANGED);
	sync_counts(W.s, &searches, &h1);
	ck_assert_uint_eq(h1, 2); /* by name and uuid, then the markers */
	ck_assert_int_eq(h_emu_reset(h_fx_emu), FT_OK);
	world_sync(true, true, "ftrack.link_by = email");
	run(logins, 2, res);
	ck_assert_int_eq(res[0].outcome, SYNC_CREATED);
	sync_counts(W.s, &searches, &h1);
	ck_assert_uint_eq(h1, h0 + 1); /* the one by e-mail, for both */
}

END_TEST

/* ftrack refuses the write as invalid data: failed, not retried. */
START_TEST(test_ftrack_rejects_write)
{
	struct sync_result res;
	const char *login = "alice";
	json_t *f;

	world_sync(true, true, NULL);
	/* the look-up passes, the write gets a ValidationError */
	f = h_emu_post(h_fx_emu, "/_emulator/fault",
		       "{\"count\": 1, \"skip\": 1, \"status\": 400, "
		       "\"exception\": \"ValidationError\", "
		       "\"content\": \"bad value\"}");
	ck_assert_ptr_nonnull(f);
	json_decref(f);
	run(&login, 1, &res);
	ck_assert_msg(res.outcome == SYNC_FAILED && res.err == FT_E_DATA,
		      "%s err %d (%s)", sync_outcome_name(res.outcome), res.err,
		      res.detail);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	/* and a later login goes through */
	sync_one("alice", SYNC_CREATED);
}

END_TEST

/* ftrack busy on every try of the write: retry later. */
START_TEST(test_ftrack_busy_write)
{
	struct sync_result res;
	const char *login = "bob";
	json_t *f;

	world_sync(true, true, NULL);
	f = h_emu_post(h_fx_emu, "/_emulator/fault",
		       "{\"count\": 50, \"skip\": 1, \"status\": 503}");
	ck_assert_ptr_nonnull(f);
	json_decref(f);
	run(&login, 1, &res);
	ck_assert_msg(res.outcome == SYNC_RETRY && res.err == FT_E_HTTP,
		      "%s err %d (%s)", sync_outcome_name(res.outcome), res.err,
		      res.detail);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "bob"), 0);
}

END_TEST

/* ---- seats: ftrack keeps a user inactive, or refuses the write ------- */

#define MARK_SEAT "ftrack_syncd.seat_waiting"
#define MARK_GONE "ftrack_syncd.deactivated"

static void
emu_config(const char *spec)
{
	ck_assert_int_eq(h_emu_control(h_fx_emu, "/_emulator/config", spec),
			 FT_OK);
}

/* One login: the outcome named want, and detail holding text. */
static void
sync_one_named(const char *login, const char *want, const char *text)
{
	struct sync_result res;

	run(&login, 1, &res);
	ck_assert_msg(strcmp(sync_outcome_name(res.outcome), want) == 0,
		      "'%s': %s (%s), want %s", login,
		      sync_outcome_name(res.outcome), res.detail, want);
	ck_assert_msg(text == NULL || strstr(res.detail, text) != NULL,
		      "'%s': detail '%s' lacks '%s'", login, res.detail, text);
	ck_assert_int_eq(res.err,
			 res.outcome == SYNC_SEAT_WAITING ? FT_E_SEAT : FT_OK);
}

static long
markers_of(const char *username, const char *key)
{
	return h_emu_user_markers(h_fx_emu, username, key, NULL);
}

/* The sync's own deactivation of username, as the reconcile makes it. */
static void
emu_sync_deactivated(const char *username)
{
	char *id = emu_id(username);
	char ops[1024];

	H_FMT(ops,
	      "[{\"action\": \"update\", \"entity_type\": \"User\", "
	      "\"entity_key\": [\"%s\"], \"entity_data\": "
	      "{\"__entity_type__\": \"User\", \"is_active\": false}}, "
	      "{\"action\": \"create\", \"entity_type\": \"Metadata\", "
	      "\"entity_data\": {\"__entity_type__\": \"Metadata\", "
	      "\"parent_id\": \"%s\", \"parent_type\": \"User\", "
	      "\"key\": \"" MARK_GONE "\", "
	      "\"value\": \"2026-11-01T00:00:00Z\"}}]",
	      id, id);
	emu_ops(ops);
	free(id);
}

/*
 * A new user that ftrack keeps inactive (the licence full, said only by
 * is_active false in the answer): waiting for a seat, with the marker, and
 * asked again until a seat is free; then active and the marker gone.
 */
START_TEST(test_seat_kept_inactive_create)
{
	world_sync(true, true, NULL);
	emu_config("{\"seat_cap\": 1}"); /* the API user holds the one seat */
	sync_one_named("alice", "waiting-for-seat", "licence");
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 1);
	assert_field("alice", "is_active", "false");
	ck_assert_int_eq(markers_of("alice", MARK_UUID), 1);
	ck_assert_int_eq(markers_of("alice", MARK_SEAT), 1);
	/* still full: asked again, still waiting, nobody twice */
	sync_one_named("alice", "waiting-for-seat", "licence");
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 1);
	ck_assert_int_eq(markers_of("alice", MARK_SEAT), 1);
	/* a seat free: activated, the marker removed */
	emu_config("{\"seat_cap\": null}");
	sync_one_named("alice", "reactivated", "seat");
	assert_field("alice", "is_active", "true");
	ck_assert_int_eq(markers_of("alice", MARK_SEAT), 0);
	ck_assert_int_eq(markers_of("alice", MARK_UUID), 1);
	sync_one("alice", SYNC_UNCHANGED);
}

END_TEST

/* A returning person's reactivation kept inactive: the deactivated marker
 * goes in the same write, so the seat marker must take its place. */
START_TEST(test_seat_kept_inactive_reactivation)
{
	world_sync(true, true, NULL);
	sync_one("bob", SYNC_CREATED);
	emu_sync_deactivated("bob");
	emu_config("{\"seat_cap\": 1}");
	sync_one_named("bob", "waiting-for-seat", "licence");
	assert_field("bob", "is_active", "false");
	ck_assert_int_eq(markers_of("bob", MARK_GONE), 0);
	ck_assert_int_eq(markers_of("bob", MARK_SEAT), 1);
	/* not taken for a seat an administrator took back by hand */
	sync_one_named("bob", "waiting-for-seat", "licence");
	emu_config("{\"seat_cap\": null}");
	sync_one_named("bob", "reactivated", NULL);
	assert_field("bob", "is_active", "true");
	ck_assert_int_eq(markers_of("bob", MARK_SEAT), 0);
	ck_assert_int_eq(markers_of("bob", MARK_GONE), 0);
}

END_TEST

/*
 * The other way a server may say it: an exception for the write that
 * asked for the seat, which fails its whole POST.  The others of the
 * batch still get through; the refused one waits, with nothing written.
 */
START_TEST(test_seat_refused_by_exception)
{
	static const char *const logins[] = {"alice", "bob", "carol"};
	struct sync_result res[3];

	world_sync(true, true, NULL);
	sync_one("bob", SYNC_CREATED);
	emu_update("bob", "\"email\": \"old@example.com\"");
	emu_create("carol"); /* by hand, active, not linked yet */
	/* the API user, bob and carol hold the three seats */
	emu_config("{\"seat_cap\": 3, "
		   "\"seat_cap_exception\": \"LicenseError\"}");
	run(logins, 3, res);
	ck_assert_msg(strcmp(sync_outcome_name(res[0].outcome),
			     "waiting-for-seat") == 0 &&
			      strstr(res[0].detail, "LicenseError") != NULL,
		      "alice: %s (%s)", sync_outcome_name(res[0].outcome),
		      res[0].detail);
	ck_assert_msg(res[1].outcome == SYNC_UPDATED, "bob: %s (%s)",
		      sync_outcome_name(res[1].outcome), res[1].detail);
	ck_assert_msg(res[2].outcome == SYNC_LINKED, "carol: %s (%s)",
		      sync_outcome_name(res[2].outcome), res[2].detail);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	assert_field("bob", "email", "bob@example.com");
	ck_assert_int_eq(markers_of("carol", MARK_UUID), 1);
	/* a seat free: created */
	emu_config("{\"seat_cap\": null}");
	sync_one("alice", SYNC_CREATED);
	assert_field("alice", "is_active", "true");
	ck_assert_int_eq(markers_of("alice", MARK_SEAT), 0);
}

END_TEST

/* A server whose write answers do not carry is_active: it is read back
 * with one query, and the outcome is the same. */
START_TEST(test_seat_read_back_by_query)
{
	world_sync(true, true, NULL);
	emu_config("{\"seat_cap\": 1, \"write_answers\": \"id\"}");
	sync_one_named("alice", "waiting-for-seat", "licence");
	ck_assert_int_eq(markers_of("alice", MARK_SEAT), 1);
	emu_config("{\"seat_cap\": null}");
	sync_one_named("dave", "created", NULL);
	assert_field("dave", "is_active", "true");
	ck_assert_int_eq(markers_of("dave", MARK_SEAT), 0);
	sync_one_named("alice", "reactivated", NULL);
	ck_assert_int_eq(markers_of("alice", MARK_SEAT), 0);
}

END_TEST

/* Odd logins: an empty one fails at once (not retried); control
 * characters are escaped in the filter and simply match nobody. */
static const struct {
	const char *login;
	enum sync_outcome want;
	int err;
} odd_logins[] = {
	{"", SYNC_FAILED, FT_E_INVAL},
	{"bad\x01name", SYNC_NOT_LDAP, FT_E_NOTFOUND},
	{"tab\tname", SYNC_NOT_LDAP, FT_E_NOTFOUND},
	{"alice)(uid=*", SYNC_NOT_LDAP, FT_E_NOTFOUND},
	{"*", SYNC_NOT_LDAP, FT_E_NOTFOUND},
};

START_TEST(test_odd_login)
{
	struct sync_result res;
	const char *login = odd_logins[_i].login;

	world_sync(true, true, NULL);
	run(&login, 1, &res);
	ck_assert_msg(res.outcome == odd_logins[_i].want &&
			      res.err == odd_logins[_i].err,
		      "'%s': %s err %d (%s)", login,
		      sync_outcome_name(res.outcome), res.err, res.detail);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 0);
}

END_TEST

/* ---- the seat gate ------------------------------------------------------ */

struct gate_log {
	size_t asked[8];
	enum plan_kind kind[8];
	size_t n;
	size_t refuse; /* this login index is refused */
};

static bool
gate(void *ctx, size_t i, enum plan_kind kind, char *why, size_t whylen)
{
	struct gate_log *g = ctx;

	ck_assert_uint_lt(g->n, 8);
	g->asked[g->n] = i;
	g->kind[g->n] = kind;
	g->n++;
	if (i != g->refuse)
		return true;
	(void)snprintf(why, whylen, "cap of test");
	return false;
}

/*
 * Asked only for the plans that cost a seat (a create, a reactivation),
 * before any write: a refused one is held with nothing written, the
 * others of the batch go through; an update of an active user is never
 * asked about.
 */
START_TEST(test_seat_gate)
{
	static const char *const logins[] = {"alice", "bob", "carol", "dave"};
	struct gate_log g = {.refuse = 2};
	struct sync_result res[4];

	world_sync(true, true, NULL);
	sync_one("alice", SYNC_CREATED); /* active: an update only later */
	sync_one("dave", SYNC_CREATED);
	emu_sync_deactivated("dave"); /* a reactivation later */
	sync_set_gate(W.s, gate, &g);
	run(logins, 4, res);
	ck_assert_int_eq(res[0].outcome, SYNC_UNCHANGED);
	ck_assert_int_eq(res[1].outcome, SYNC_CREATED);
	ck_assert_int_eq(res[2].outcome, SYNC_HELD);
	ck_assert_int_eq(res[2].err, FT_OK);
	ck_assert_str_eq(res[2].detail, "cap of test");
	ck_assert_int_eq(res[3].outcome, SYNC_REACTIVATED);
	ck_assert_uint_eq(g.n, 3);
	ck_assert_uint_eq(g.asked[0], 1);
	ck_assert_int_eq(g.kind[0], PLAN_CREATE);
	ck_assert_uint_eq(g.asked[1], 2);
	ck_assert_uint_eq(g.asked[2], 3);
	ck_assert_int_eq(g.kind[2], PLAN_REACTIVATE);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "carol"), 0);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "bob"), 1);
	/* no gate: carol is created */
	sync_set_gate(W.s, NULL, NULL);
	sync_one("carol", SYNC_CREATED);
}

END_TEST

/* ---- pure parts -------------------------------------------------------- */

static const struct {
	enum sync_outcome o;
	const char *name;
} names[] = {
	{SYNC_CREATED, "created"},
	{SYNC_UPDATED, "updated"},
	{SYNC_LINKED, "linked"},
	{SYNC_RENAMED, "renamed"},
	{SYNC_REACTIVATED, "reactivated"},
	{SYNC_UNCHANGED, "unchanged"},
	{SYNC_NOT_LDAP, "not-ldap"},
	{SYNC_SKIPPED, "skipped"},
	{SYNC_SEAT_WAITING, "waiting-for-seat"},
	{SYNC_HELD, "held"},
	{SYNC_RETRY, "retry"},
	{SYNC_FAILED, "failed"},
	{(enum sync_outcome)99, "?"},
	{(enum sync_outcome) - 1, "?"},
};

START_TEST(test_outcome_name)
{
	ck_assert_str_eq(sync_outcome_name(names[_i].o), names[_i].name);
}

END_TEST

/* sync_new makes no connection; sync_free(NULL) is a no-op. */
START_TEST(test_new_offline)
{
	unsigned long searches = 9, http = 9;

	world_sync(false, false, NULL);
	sync_counts(W.s, &searches, &http);
	ck_assert_uint_eq(searches, 0);
	ck_assert_uint_eq(http, 0);
	sync_free(NULL);
}

END_TEST

Suite *
sync_suite(void)
{
	Suite *s = suite_create("sync");
	TCase *tp = tcase_create("pure");
	TCase *tc = tcase_create("servers");

	tcase_add_loop_test(tp, test_outcome_name, 0,
			    (int)(sizeof(names) / sizeof(names[0])));
	suite_add_tcase(s, tp);

	tcase_add_unchecked_fixture(tc, h_fx_servers_setup_people,
				    h_fx_servers_teardown);
	tcase_add_checked_fixture(tc, world_setup, world_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_outcome, 0, (int)NROWS);
	tcase_add_test(tc, test_batch_requests);
	tcase_add_test(tc, test_email_lookup_requests);
	tcase_add_test(tc, test_ftrack_rejects_write);
	tcase_add_test(tc, test_ftrack_busy_write);
	tcase_add_test(tc, test_seat_kept_inactive_create);
	tcase_add_test(tc, test_seat_kept_inactive_reactivation);
	tcase_add_test(tc, test_seat_refused_by_exception);
	tcase_add_test(tc, test_seat_read_back_by_query);
	tcase_add_test(tc, test_seat_gate);
	tcase_add_loop_test(tc, test_odd_login, 0,
			    (int)(sizeof(odd_logins) / sizeof(odd_logins[0])));
	tcase_add_test(tc, test_new_offline);
	suite_add_tcase(s, tc);
	return s;
}
