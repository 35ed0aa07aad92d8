/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_hooks_recheck.c: hooks_recheck.c in process against the emulator:
 * an intent whose writer is gone, settled by asking ftrack: the changes
 * ftrack shows applied become one ready file (a creation ftrack kept
 * inactive with the seat_waiting marker as seat_waiting), the others are
 * dropped and the intent removed; a torn line is skipped; a failed
 * look-up or an unreadable intent leaves the intent as it was.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ft_err.h"
#include "ftrack_api.h"
#include "h_ftrack.h"
#include "harness.h"
#include "hooks.h"
#include "hooks_int.h"

Suite *hooks_recheck_suite(void);

#define SEQ    "0000000000000001-00000001-000001"
#define INTENT "I" SEQ ".json"

static char *dir;
static int dfd = -1;

static void
setup(void)
{
	dir = h_tmpdir();
	ck_assert_ptr_nonnull(dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
}

static void
teardown(void)
{
	if (dfd >= 0)
		(void)close(dfd);
	dfd = -1;
	h_rmtree(dir);
	free(dir);
	dir = NULL;
}

/* The intent INTENT with text (its lines). */
static void
intent(const char *text)
{
	char path[512];

	H_FMT(path, "%s/%s", dir, INTENT);
	ck_assert_int_eq(h_write_file(path, text, 0600), FT_OK);
}

/* One change line: action, user (username, uuid, email), fields. */
static void
line(char *buf, size_t cap, const char *action, const char *name,
     const char *uuid, const char *email, const char *fields)
{
	int n = snprintf(buf, cap,
			 "{\"action\":\"%s\",\"username\":\"%s\","
			 "\"fields\":%s,\"user\":{\"username\":\"%s\","
			 "\"email\":%s%s%s,\"uuid\":%s%s%s}}\n",
			 action, name, fields, name, email ? "\"" : "",
			 email ? email : "null", email ? "\"" : "",
			 uuid ? "\"" : "", uuid ? uuid : "null",
			 uuid ? "\"" : "");

	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, (int)cap);
}

static bool
exists(const char *name)
{
	return faccessat(dfd, name, F_OK, 0) == 0;
}

/* Names in the folder (but the intent) other than want: none. */
static int
others(const char *want)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && strcmp(e->d_name, INTENT) != 0 &&
		    (want == NULL || strcmp(e->d_name, want) != 0))
			n++;
	(void)closedir(d);
	return n;
}

/* The lines of the ready file name, parsed (an array). */
static json_t *
ready(const char *name)
{
	char path[512], text[8192];
	json_t *a = json_array();
	char *p, *save = NULL;
	long n;

	H_FMT(path, "%s/%s", dir, name);
	n = h_read_into(path, text, sizeof(text) - 1);
	ck_assert_int_ge(n, 0);
	text[n] = '\0';
	for (p = strtok_r(text, "\n", &save); p != NULL;
	     p = strtok_r(NULL, "\n", &save)) {
		json_t *c = json_loads(p, JSON_REJECT_DUPLICATES, NULL);

		ck_assert_msg(c != NULL, "not JSON: %s", p);
		ck_assert_int_eq(json_array_append_new(a, c), 0);
	}
	return a;
}

static const char *
action_of(json_t *a, size_t i)
{
	return json_string_value(
		json_object_get(json_array_get(a, i), "action"));
}

static const char *
name_of(json_t *a, size_t i)
{
	return json_string_value(json_object_get(
		json_object_get(json_array_get(a, i), "user"), "username"));
}

static void
marker(const char *id, const char *key, const char *value)
{
	struct ftrack_batch *b = NULL;
	char err[256] = "";

	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(
		ftrack_batch_set_marker(b, id, key, value, false, NULL), FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ftrack_batch_free(b);
}

static void
set_inactive(const char *id)
{
	struct ftrack_batch *b = NULL;
	struct ft_user u = h_ft_mkuser(NULL, NULL, NULL, NULL);
	char err[256] = "";

	u.is_active = false;
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(
		ftrack_batch_update_user(b, id, &u, FTRACK_F_IS_ACTIVE, NULL),
		FT_OK);
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ftrack_batch_free(b);
	ft_user_clear(&u);
}

/*
 * Creations: one that landed is kept, one that did not (nobody in
 * ftrack) is dropped, one whose field ftrack does not hold is dropped,
 * one ftrack kept inactive with the seat marker becomes seat_waiting, one
 * inactive without the marker is dropped.
 */
START_TEST(test_creations)
{
	char text[4096], l[5][512], *ids[4];
	json_t *a;

	h_ft_start(NULL);
	ids[0] = h_ft_create("alice", "u-alice");
	ids[1] = h_ft_create("carol", "u-carol");
	ids[2] = h_ft_create("dave", "u-dave");
	ids[3] = h_ft_create("erin", "u-erin");
	set_inactive(ids[2]);
	marker(ids[2], FTRACK_MARKER_SEAT_WAITING, "2026-02-03T04:05:06Z");
	set_inactive(ids[3]);
	line(l[0], sizeof(l[0]), "created", "alice", "u-alice", NULL,
	     "[\"username\"]");
	line(l[1], sizeof(l[1]), "created", "bob", "u-bob", NULL,
	     "[\"username\"]");
	line(l[2], sizeof(l[2]), "created", "carol", "u-carol",
	     "carol@example.com", "[\"username\",\"email\"]");
	line(l[3], sizeof(l[3]), "created", "dave", "u-dave", NULL,
	     "[\"username\"]");
	line(l[4], sizeof(l[4]), "reactivated", "erin", "u-erin", NULL, "[]");
	H_FMT(text, "%s%s%s%s%s", l[0], l[1], l[2], l[3], l[4]);
	intent(text);
	ck_assert_int_eq(hooks_recheck(dfd, h_ft_cl, INTENT), FT_OK);
	ck_assert(!exists(INTENT));
	ck_assert(exists("R" SEQ ".2.json"));
	ck_assert_int_eq(others("R" SEQ ".2.json"), 0);
	a = ready("R" SEQ ".2.json");
	ck_assert_uint_eq(json_array_size(a), 2);
	ck_assert_str_eq(name_of(a, 0), "alice");
	ck_assert_str_eq(action_of(a, 0), "created");
	ck_assert_str_eq(name_of(a, 1), "dave");
	ck_assert_str_eq(action_of(a, 1), "seat_waiting");
	json_decref(a);
	for (size_t i = 0; i < 4; i++)
		free(ids[i]);
	h_ft_stop();
}

END_TEST

/*
 * Deactivations and deletions: kept when ftrack shows them (inactive;
 * gone), dropped when it does not; an update by its fields; a link to
 * another uuid dropped; the subject found by its uuid after a rename.
 */
START_TEST(test_other_actions)
{
	char text[4096], l[7][512], *ids[4];
	json_t *a;

	h_ft_start(NULL);
	ids[0] = h_ft_create("off", "u-off");
	ids[1] = h_ft_create("on", "u-on");
	ids[2] = h_ft_create("kept", "u-kept");
	ids[3] = h_ft_create("renamed-in-ftrack", "u-ren");
	set_inactive(ids[0]);
	line(l[0], sizeof(l[0]), "deactivated", "off", "u-off", NULL, "[]");
	line(l[1], sizeof(l[1]), "deactivated", "on", "u-on", NULL, "[]");
	line(l[2], sizeof(l[2]), "deleted", "gone", "u-gone", NULL, "[]");
	line(l[3], sizeof(l[3]), "deleted", "kept", "u-kept", NULL, "[]");
	line(l[4], sizeof(l[4]), "updated", "on", "u-on", "on@example.com",
	     "[\"email\"]");
	line(l[5], sizeof(l[5]), "linked", "kept", "u-other", NULL, "[]");
	/* a username ftrack no longer has: its field held, so it was found
	 * by its uuid (kept); the same change asking the old name: dropped */
	H_FMT(l[6], "{\"action\":\"updated\",\"fields\":[\"first_name\"],"
		    "\"user\":{\"username\":\"old-name\",\"uuid\":\"u-ren\","
		    "\"first_name\":\"First\"}}\n"
		    "{\"action\":\"updated\",\"fields\":[\"username\"],"
		    "\"user\":{\"username\":\"old-name\",\"uuid\":\"u-ren\"}}"
		    "\n");
	H_FMT(text, "%s%s%s%s%s%s%s", l[0], l[1], l[2], l[3], l[4], l[5], l[6]);
	intent(text);
	ck_assert_int_eq(hooks_recheck(dfd, h_ft_cl, INTENT), FT_OK);
	ck_assert(!exists(INTENT));
	ck_assert_int_eq(others("R" SEQ ".3.json"), 0);
	a = ready("R" SEQ ".3.json");
	ck_assert_uint_eq(json_array_size(a), 3);
	ck_assert_str_eq(name_of(a, 0), "off");
	ck_assert_str_eq(action_of(a, 0), "deactivated");
	ck_assert_str_eq(name_of(a, 1), "gone");
	ck_assert_str_eq(action_of(a, 1), "deleted");
	ck_assert_str_eq(name_of(a, 2), "old-name");
	ck_assert_str_eq(action_of(a, 2), "updated");
	json_decref(a);
	for (size_t i = 0; i < 4; i++)
		free(ids[i]);
	h_ft_stop();
}

END_TEST

/* A torn last line (a crash while writing) and lines without a user are
 * skipped; nothing applied: the intent is removed, no ready file. */
START_TEST(test_torn_and_none_applied)
{
	char text[2048], l[512];

	h_ft_start(NULL);
	line(l, sizeof(l), "created", "nobody", "u-nobody", NULL,
	     "[\"username\"]");
	H_FMT(text, "%s{\"action\":\"created\"}\n[1,2]\n%.40s", l, l);
	intent(text);
	ck_assert_int_eq(hooks_recheck(dfd, h_ft_cl, INTENT), FT_OK);
	ck_assert(!exists(INTENT));
	ck_assert_int_eq(others(NULL), 0);
	h_ft_stop();
}

END_TEST

/* Only torn lines: nothing to look up, no request; the intent goes. */
START_TEST(test_nothing_to_ask)
{
	unsigned long before;

	h_ft_start(NULL);
	intent("{\"action\":\"created\",\"user\":{\"user");
	before = h_ft_requests();
	ck_assert_int_eq(hooks_recheck(dfd, h_ft_cl, INTENT), FT_OK);
	ck_assert_uint_eq(h_ft_requests(), before);
	ck_assert(!exists(INTENT));
	ck_assert_int_eq(others(NULL), 0);
	h_ft_stop();
}

END_TEST

/* ftrack cannot answer: the intent stays as it was, nothing ready. */
START_TEST(test_lookup_fails_keeps_intent)
{
	char text[1024], path[512], back[1024], *id;
	long n;

	h_ft_start(NULL);
	id = h_ft_create("alice", "u-alice");
	line(text, sizeof(text), "created", "alice", "u-alice", NULL,
	     "[\"username\"]");
	intent(text);
	h_ft_fault("{\"status\":500,\"count\":100}");
	ck_assert_int_lt(hooks_recheck(dfd, h_ft_cl, INTENT), 0);
	ck_assert(exists(INTENT));
	ck_assert_int_eq(others(NULL), 0);
	H_FMT(path, "%s/%s", dir, INTENT);
	n = h_read_into(path, back, sizeof(back) - 1);
	ck_assert_int_ge(n, 0);
	back[n] = '\0';
	ck_assert_str_eq(back, text);
	free(id);
	h_ft_stop();
}

END_TEST

/* No such intent, one through a symlink, or one larger than any writer
 * makes: an error, nothing written, nothing asked. */
START_TEST(test_unreadable_intent)
{
	char *big;
	unsigned long before;

	h_ft_start(NULL);
	before = h_ft_requests();
	ck_assert_int_lt(hooks_recheck(dfd, h_ft_cl, INTENT), 0);
	ck_assert_int_eq(others(NULL), 0);
	ck_assert_int_eq(symlinkat("/etc/hostname", dfd, INTENT), 0);
	ck_assert_int_lt(hooks_recheck(dfd, h_ft_cl, INTENT), 0);
	ck_assert(exists(INTENT));
	ck_assert_int_eq(unlinkat(dfd, INTENT, 0), 0);
	big = malloc(HOOKS_PENDING_MAX + HOOKS_LINE_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', HOOKS_PENDING_MAX + HOOKS_LINE_MAX + 1);
	big[HOOKS_PENDING_MAX + HOOKS_LINE_MAX + 1] = '\0';
	intent(big);
	free(big);
	ck_assert_int_lt(hooks_recheck(dfd, h_ft_cl, INTENT), 0);
	ck_assert(exists(INTENT));
	ck_assert_int_eq(others(NULL), 0);
	ck_assert_uint_eq(h_ft_requests(), before);
	h_ft_stop();
}

END_TEST

Suite *
hooks_recheck_suite(void)
{
	Suite *s = suite_create("hooks_recheck");
	TCase *tc = tcase_create("hooks_recheck");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_creations);
	tcase_add_test(tc, test_other_actions);
	tcase_add_test(tc, test_torn_and_none_applied);
	tcase_add_test(tc, test_nothing_to_ask);
	tcase_add_test(tc, test_lookup_fails_keeps_intent);
	tcase_add_test(tc, test_unreadable_intent);
	suite_add_tcase(s, tc);
	return s;
}
