/* SPDX-License-Identifier: Apache-2.0 */
/* check_report.c: reconcile reports, last-good.json and the status line. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"
#include "harness.h"
#include "report.h"

Suite *report_suite(void);

#define S(lit) ((char *)(uintptr_t)(lit))

#define FINISHED      "2024-05-06T07:08:09Z"
#define FINISHED_UNIX 1714979289LL

/* The test's state folder with reports/ in it, and their fds. */
static char *state;
static int state_fd = -1, reports_fd = -1;

static void
setup(void)
{
	char path[512];

	state = h_tmpdir();
	ck_assert_ptr_nonnull(state);
	H_FMT(path, "%s/reports", state);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	state_fd = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	reports_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(state_fd, 0);
	ck_assert_int_ge(reports_fd, 0);
}

static void
teardown(void)
{
	if (state_fd >= 0)
		(void)close(state_fd);
	if (reports_fd >= 0)
		(void)close(reports_fd);
	state_fd = reports_fd = -1;
	h_rmtree(state);
	free(state);
	state = NULL;
}

/* ---- a plan built by hand ---------------------------------------------- */

static struct ft_user alice = {
	.username = S("alice"),
	.dn = S("uid=alice,ou=people,dc=example,dc=com")};
static struct ft_user bob = {.username = S("bob"),
			     .dn = S("uid=bob,ou=people,dc=example,dc=com")};
static struct ft_user bob_ft = {.username = S("bob"), .id = S("id-bob")};
static struct ft_user carol_ft = {.username = S("carol"), .id = S("id-carol")};

static const char *const guard_names[GUARD_COUNT] = {
	"ldap_complete", "nonempty",  "min_ldap_users",
	"max_shrink",    "sentinels", "max_deactivate"};

static struct plan_recon plan;
static struct plan_action actions[3];
static const int codes[3] = {FT_OK, FT_E_DATA, FT_E_HTTP};
static const char *const messages[3] = {NULL, "ftrack said no", NULL};
static const struct report_skip skips[2] = {
	{S("uid=x,ou=people,dc=example,dc=com"), S("no uid")},
	{S("uid=y,ou=people,dc=example,dc=com"), S("bad mail")},
};

static void
action(struct plan_action *a, enum plan_kind k, const struct ft_user *l,
       const struct ft_user *f, const char *reason)
{
	memset(a, 0, sizeof(*a));
	a->kind = k;
	a->ldap = l;
	a->ftrack = f;
	(void)snprintf(a->reason, sizeof(a->reason), "%s", reason);
}

static void
build_plan(void)
{
	size_t i;

	memset(&plan, 0, sizeof(plan));
	action(&actions[0], PLAN_CREATE, &alice, NULL, "new in LDAP");
	action(&actions[1], PLAN_UPDATE, &bob, &bob_ft, "mail changed");
	action(&actions[2], PLAN_DEACTIVATE, NULL, &carol_ft, "left LDAP");
	plan.v = actions;
	plan.n = 3;
	plan.count[PLAN_NONE] = 4;
	plan.count[PLAN_CREATE] = 1;
	plan.count[PLAN_UPDATE] = 1;
	plan.count[PLAN_DEACTIVATE] = 1;
	plan.count[PLAN_SKIP] = 2;
	for (i = 0; i < GUARD_COUNT; i++) {
		plan.guard[i].name = guard_names[i];
		plan.guard[i].ok = i != GUARD_MAX_DEACTIVATE;
		plan.guard[i].forceable = i >= GUARD_MIN_USERS;
		(void)snprintf(plan.guard[i].detail,
			       sizeof(plan.guard[i].detail), "detail %zu", i);
	}
	plan.population = 7;
}

/* An applied run with errors: every field set. */
static struct report
full_report(void)
{
	struct report r;

	build_plan();
	memset(&r, 0, sizeof(r));
	r.mode = "apply";
	r.result = "errors";
	r.forced = true;
	(void)snprintf(r.started, sizeof(r.started), "2024-05-06T07:08:01Z");
	(void)snprintf(r.finished, sizeof(r.finished), FINISHED);
	r.seconds = 8.5;
	r.ldap_seconds = 1.25;
	r.ftrack_seconds = 2.5;
	r.apply_seconds = 4.75;
	r.ldap_entries = 9;
	r.ldap_disabled = 1;
	r.ldap_skipped = 2;
	r.ldap_pages = 3;
	r.ldap_error = "";
	r.ftrack_users = 11;
	r.http_requests = 12;
	r.connections = 1;
	r.plan = &plan;
	r.codes = codes;
	r.messages = messages;
	r.skipped = skips;
	r.nskipped = 2;
	return r;
}

static json_t *
load(const char *rel)
{
	char path[512];
	json_error_t jerr;
	json_t *o;

	H_FMT(path, "%s/%s", state, rel);
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(o != NULL, "%s: %s", path, jerr.text);
	return o;
}

static const char *
str_at(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	ck_assert_msg(s != NULL, "no string '%s'", key);
	return s;
}

static long long
int_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "no integer '%s'", key);
	return (long long)json_integer_value(v);
}

static void
check_action(json_t *a, const char *kind, const char *user, const char *id,
	     const char *dn, const char *reason)
{
	ck_assert_str_eq(str_at(a, "action"), kind);
	ck_assert_str_eq(str_at(a, "user"), user);
	if (id)
		ck_assert_str_eq(str_at(a, "id"), id);
	else
		ck_assert(json_is_null(json_object_get(a, "id")));
	if (dn)
		ck_assert_str_eq(str_at(a, "dn"), dn);
	else
		ck_assert(json_is_null(json_object_get(a, "dn")));
	ck_assert_str_eq(str_at(a, "reason"), reason);
}

/* No ".name.pid.tid" temp file is left in the folder. */
static void
no_temp_files(const char *sub)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	H_FMT(path, "%s/%s", state, sub);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		ck_assert_msg(de->d_name[0] != '.' ||
				      !strcmp(de->d_name, ".") ||
				      !strcmp(de->d_name, ".."),
			      "temp file left: %s", de->d_name);
	(void)closedir(d);
}

/* ---- report_write, report_print_json ----------------------------------- */

START_TEST(test_write_full)
{
	struct report r = full_report();
	char path[512];
	struct stat st;
	json_t *o, *v, *a;
	size_t i;

	ck_assert_int_eq(report_write(&r, reports_fd, "last-apply.json"),
			 FT_OK);
	H_FMT(path, "%s/reports/last-apply.json", state);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	no_temp_files("reports");
	o = load("reports/last-apply.json");
	ck_assert_str_eq(str_at(o, "mode"), "apply");
	ck_assert_str_eq(str_at(o, "result"), "errors");
	ck_assert(json_is_true(json_object_get(o, "forced")));
	ck_assert_str_eq(str_at(o, "started"), "2024-05-06T07:08:01Z");
	ck_assert_str_eq(str_at(o, "finished"), FINISHED);
	ck_assert_double_eq(json_number_value(json_object_get(o, "seconds")),
			    8.5);
	v = json_object_get(o, "timings");
	ck_assert_double_eq(json_number_value(json_object_get(v, "ldap")),
			    1.25);
	ck_assert_double_eq(json_number_value(json_object_get(v, "ftrack")),
			    2.5);
	ck_assert_double_eq(json_number_value(json_object_get(v, "apply")),
			    4.75);
	v = json_object_get(o, "ldap");
	ck_assert_int_eq(int_at(v, "entries"), 9);
	ck_assert_int_eq(int_at(v, "disabled"), 1);
	ck_assert_int_eq(int_at(v, "skipped"), 2);
	ck_assert_int_eq(int_at(v, "pages"), 3);
	ck_assert_str_eq(str_at(v, "error"), "");
	v = json_object_get(o, "ftrack");
	ck_assert_int_eq(int_at(v, "users"), 11);
	ck_assert_int_eq(int_at(v, "requests"), 12);
	ck_assert_int_eq(int_at(v, "connections"), 1);
	v = json_object_get(o, "guards");
	ck_assert_uint_eq(json_array_size(v), GUARD_COUNT);
	for (i = 0; i < GUARD_COUNT; i++) {
		char want[32];

		a = json_array_get(v, i);
		H_FMT(want, "detail %zu", i);
		ck_assert_str_eq(str_at(a, "name"), guard_names[i]);
		ck_assert_str_eq(str_at(a, "detail"), want);
		ck_assert(json_is_true(json_object_get(a, "ok")) ==
			  (i != GUARD_MAX_DEACTIVATE));
		ck_assert(json_is_true(json_object_get(a, "forceable")) ==
			  (i >= GUARD_MIN_USERS));
	}
	v = json_object_get(o, "counts");
	ck_assert_uint_eq(json_object_size(v), PLAN_SKIP + 1);
	ck_assert_int_eq(int_at(v, "none"), 4);
	ck_assert_int_eq(int_at(v, "create"), 1);
	ck_assert_int_eq(int_at(v, "update"), 1);
	ck_assert_int_eq(int_at(v, "deactivate"), 1);
	ck_assert_int_eq(int_at(v, "skip"), 2);
	ck_assert_int_eq(int_at(v, "delete"), 0);
	v = json_object_get(o, "actions");
	ck_assert_uint_eq(json_array_size(v), 3);
	a = json_array_get(v, 0);
	check_action(a, "create", "alice", NULL, alice.dn, "new in LDAP");
	ck_assert(json_is_true(json_object_get(a, "ok")));
	ck_assert(json_is_null(json_object_get(a, "error")));
	a = json_array_get(v, 1);
	check_action(a, "update", "bob", "id-bob", bob.dn, "mail changed");
	ck_assert(json_is_false(json_object_get(a, "ok")));
	ck_assert_str_eq(str_at(a, "error"), "ftrack said no");
	a = json_array_get(v, 2);
	check_action(a, "deactivate", "carol", "id-carol", NULL, "left LDAP");
	ck_assert(json_is_false(json_object_get(a, "ok")));
	ck_assert_str_eq(str_at(a, "error"), ft_strerror(FT_E_HTTP));
	v = json_object_get(o, "skipped_entries");
	ck_assert_uint_eq(json_array_size(v), 2);
	ck_assert_str_eq(str_at(json_array_get(v, 1), "dn"), skips[1].dn);
	ck_assert_str_eq(str_at(json_array_get(v, 1), "reason"), "bad mail");
	json_decref(o);
}

END_TEST

/* An action waiting for a seat: not ok, ftrack's words, and flagged. */
START_TEST(test_write_seat_waiting)
{
	static const int seat_codes[3] = {FT_OK, FT_E_SEAT, FT_E_HTTP};
	static const char *const seat_msgs[3] = {
		NULL, "ftrack kept the user inactive: no free seat", NULL};
	struct report r = full_report();
	json_t *o, *v;

	r.codes = seat_codes;
	r.messages = seat_msgs;
	ck_assert_int_eq(report_write(&r, reports_fd, "seat.json"), FT_OK);
	o = load("reports/seat.json");
	v = json_object_get(o, "actions");
	ck_assert(json_is_false(
		json_object_get(json_array_get(v, 0), "waiting_for_seat")));
	ck_assert(json_is_true(
		json_object_get(json_array_get(v, 1), "waiting_for_seat")));
	ck_assert(json_is_false(json_object_get(json_array_get(v, 1), "ok")));
	ck_assert_str_eq(str_at(json_array_get(v, 1), "error"), seat_msgs[1]);
	ck_assert(json_is_false(
		json_object_get(json_array_get(v, 2), "waiting_for_seat")));
	json_decref(o);
}

END_TEST

/* A dry run (no codes) and a run without a plan. */
START_TEST(test_write_dry_run_and_no_plan)
{
	struct report r = full_report();
	json_t *o, *a;

	r.mode = "dry-run";
	r.result = "changes";
	r.forced = false;
	r.codes = NULL;
	r.messages = NULL;
	r.ldap_error = "size limit exceeded";
	ck_assert_int_eq(report_write(&r, reports_fd, "dry.json"), FT_OK);
	o = load("reports/dry.json");
	ck_assert(json_is_false(json_object_get(o, "forced")));
	ck_assert_str_eq(str_at(json_object_get(o, "ldap"), "error"),
			 "size limit exceeded");
	a = json_array_get(json_object_get(o, "actions"), 1);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(json_object_get(a, "ok"));
	ck_assert_ptr_null(json_object_get(a, "error"));
	json_decref(o);

	r.plan = NULL;
	r.ldap_error = NULL;
	r.nskipped = 0;
	r.result = "failed";
	ck_assert_int_eq(report_write(&r, reports_fd, "failed.json"), FT_OK);
	o = load("reports/failed.json");
	ck_assert_ptr_null(json_object_get(o, "guards"));
	ck_assert_ptr_null(json_object_get(o, "counts"));
	ck_assert_uint_eq(json_array_size(json_object_get(o, "actions")), 0);
	ck_assert_uint_eq(
		json_array_size(json_object_get(o, "skipped_entries")), 0);
	ck_assert_str_eq(str_at(json_object_get(o, "ldap"), "error"), "");
	json_decref(o);
}

END_TEST

/* The links (both names, by which rule) and the unaccounted users. */
START_TEST(test_write_links_and_unaccounted)
{
	static struct ft_user dana = {
		.username = S("dana"),
		.dn = S("uid=dana,ou=people,dc=example,dc=com")};
	static struct ft_user dana_ft = {.username = S("Dana.K@Studio.example"),
					 .id = S("id-dana")};
	static struct ft_user stray = {.username = S("Stray"),
				       .email = S("stray@x"),
				       .id = S("id-stray"),
				       .is_active = true};
	static struct ft_user quiet = {.username = S("quiet"),
				       .id = S("id-quiet")};
	const struct ft_user *un[] = {&stray, &quiet};
	struct plan_action acts[4];
	struct report r = full_report();
	json_t *o, *l, *u;

	action(&acts[0], PLAN_LINK, &dana, &dana_ft, "linked by e-mail");
	acts[0].fields = PLAN_F_MARK_UUID | PLAN_F_MARK_EMAIL;
	action(&acts[1], PLAN_LINK, &bob, &bob_ft, "linked");
	acts[1].fields = PLAN_F_MARK_UUID;
	action(&acts[2], PLAN_CREATE, &alice, NULL, "new");
	acts[2].fields = PLAN_F_MARK_UUID;
	action(&acts[3], PLAN_UPDATE, &bob, &bob_ft, "changed");
	plan.v = acts;
	plan.n = 4;
	plan.unaccounted = un;
	plan.n_unaccounted = 2;
	r.codes = NULL;
	r.messages = NULL;
	ck_assert_int_eq(report_write(&r, reports_fd, "links.json"), FT_OK);
	o = load("reports/links.json");
	l = json_object_get(o, "links");
	ck_assert_uint_eq(json_array_size(l), 2); /* not the create */
	ck_assert_str_eq(str_at(json_array_get(l, 0), "by"), "email");
	ck_assert_str_eq(str_at(json_array_get(l, 0), "ldap_user"), "dana");
	ck_assert_str_eq(str_at(json_array_get(l, 0), "ftrack_user"),
			 "Dana.K@Studio.example");
	ck_assert_str_eq(str_at(json_array_get(l, 0), "id"), "id-dana");
	ck_assert_str_eq(str_at(json_array_get(l, 0), "action"), "link");
	ck_assert_str_eq(str_at(json_array_get(l, 1), "by"), "username");
	ck_assert_str_eq(str_at(json_array_get(l, 1), "ftrack_user"), "bob");
	u = json_object_get(o, "unaccounted");
	ck_assert_uint_eq(json_array_size(u), 2);
	ck_assert_str_eq(str_at(json_array_get(u, 0), "username"), "Stray");
	ck_assert_str_eq(str_at(json_array_get(u, 0), "email"), "stray@x");
	ck_assert(
		json_is_true(json_object_get(json_array_get(u, 0), "active")));
	ck_assert(json_is_null(json_object_get(json_array_get(u, 1), "email")));
	ck_assert(
		json_is_false(json_object_get(json_array_get(u, 1), "active")));
	json_decref(o);
	/* no plan: both lists empty */
	r.plan = NULL;
	ck_assert_int_eq(report_write(&r, reports_fd, "none.json"), FT_OK);
	o = load("reports/none.json");
	ck_assert_uint_eq(json_array_size(json_object_get(o, "links")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(o, "unaccounted")),
			  0);
	json_decref(o);
}

END_TEST

/* A second write replaces the first whole. */
START_TEST(test_write_replaces)
{
	struct report r = full_report();
	json_t *o;

	ck_assert_int_eq(report_write(&r, reports_fd, "x.json"), FT_OK);
	r.result = "applied";
	r.plan = NULL;
	ck_assert_int_eq(report_write(&r, reports_fd, "x.json"), FT_OK);
	o = load("reports/x.json");
	ck_assert_str_eq(str_at(o, "result"), "applied");
	ck_assert_uint_eq(json_array_size(json_object_get(o, "actions")), 0);
	json_decref(o);
	no_temp_files("reports");
}

END_TEST

START_TEST(test_write_bad_dir)
{
	struct report r = full_report();

	ck_assert_int_eq(report_write(&r, -1, "x.json"), FT_E_IO);
	{
		struct report_last_good g = {3, FINISHED, "h"};

		ck_assert_int_eq(report_last_good_write(-1, &g), FT_E_IO);
	}
}

END_TEST

/*
 * Text that is not UTF-8 (the head of a proxy's binary answer in an error
 * message, a cut LDAP diagnostic) is stored through the one cleaner: the
 * report keeps the action, with the bad bytes escaped (JSON strings must
 * be UTF-8: jansson refused the whole action before).
 */
START_TEST(test_write_text_not_utf8)
{
	static const char *const bad_messages[3] = {
		NULL, "HTTP 502: response is not JSON: \xff\xfe<", NULL};
	static const struct report_skip bad_skip = {S("uid=z,dc=example"),
						    S("cut \xc3")};
	struct report r = full_report();
	json_t *o, *v;

	r.messages = bad_messages;
	r.ldap_error = "diagnostic \xe2\x80";
	r.skipped = &bad_skip;
	r.nskipped = 1;
	ck_assert_int_eq(report_write(&r, reports_fd, "last-apply.json"),
			 FT_OK);
	o = load("reports/last-apply.json");
	v = json_object_get(o, "actions");
	ck_assert_uint_eq(json_array_size(v), 3);
	ck_assert_str_eq(str_at(json_array_get(v, 1), "error"),
			 "HTTP 502: response is not JSON: \\xff\\xfe<");
	ck_assert_str_eq(str_at(json_object_get(o, "ldap"), "error"),
			 "diagnostic \\xe2\\x80");
	v = json_object_get(o, "skipped_entries");
	ck_assert_uint_eq(json_array_size(v), 1);
	ck_assert_str_eq(str_at(json_array_get(v, 0), "reason"), "cut \\xc3");
	json_decref(o);
}

END_TEST

/*
 * The files and --json are plain printable ASCII (a report read with cat
 * is safe on a terminal): controls, DEL, C1 and bidi as \uXXXX, decoding
 * to the same name.
 */
START_TEST(test_write_ascii)
{
	static struct ft_user evil = {
		.username = S("ev\x1b\xc2\x9b\xe2\x80\xae\x7fil"),
		.id = S("id-evil")};
	struct report r = full_report();
	char path[512], *text;
	size_t len = 0, i;
	json_t *o;

	action(&actions[2], PLAN_DEACTIVATE, NULL, &evil, "left LDAP");
	ck_assert_int_eq(report_write(&r, reports_fd, "last-apply.json"),
			 FT_OK);
	H_FMT(path, "%s/reports/last-apply.json", state);
	text = h_read_file(path, &len);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < len; i++)
		ck_assert_msg(text[i] == '\n' ||
				      (text[i] >= 0x20 && text[i] < 0x7f),
			      "byte 0x%02x at %zu", (unsigned char)text[i], i);
	ck_assert_ptr_nonnull(strstr(text, "ev\\u001B\\u009B\\u202E\\u007Fil"));
	free(text);
	o = load("reports/last-apply.json");
	ck_assert_str_eq(
		str_at(json_array_get(json_object_get(o, "actions"), 2),
		       "user"),
		evil.username);
	json_decref(o);
}

END_TEST

/* --json prints what report_write stores. */
START_TEST(test_print_json)
{
	struct report r = full_report();
	json_error_t jerr;
	json_t *printed, *stored;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(report_print_json(&r, f), FT_OK);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(text[len - 1], '\n');
	printed = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(printed != NULL, "%s", jerr.text);
	ck_assert_int_eq(report_write(&r, reports_fd, "p.json"), FT_OK);
	stored = load("reports/p.json");
	ck_assert(json_equal(printed, stored));
	ck_assert_str_eq(str_at(printed, "result"), "errors");
	json_decref(printed);
	json_decref(stored);
	free(text);
}

END_TEST

/* ---- report_read_summary ----------------------------------------------- */

START_TEST(test_summary_of_written)
{
	struct report r = full_report();
	struct report_summary sum;
	int k;

	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_APPLY, &sum),
			 FT_E_NOTFOUND);
	ck_assert_int_eq(report_write(&r, reports_fd, "last-apply.json"),
			 FT_OK);
	memset(&sum, 0xa5, sizeof(sum));
	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_APPLY, &sum),
			 FT_OK);
	ck_assert_int_eq(sum.finished, FINISHED_UNIX);
	ck_assert_double_eq(sum.seconds, 8.5);
	ck_assert(!sum.held);
	ck_assert(sum.failed);
	ck_assert(sum.applied);
	/* only the create went through */
	for (k = PLAN_NONE; k <= PLAN_SKIP; k++)
		ck_assert_uint_eq(sum.done[k], k == PLAN_CREATE ? 1 : 0);
}

END_TEST

struct result_case {
	const char *mode, *result;
	bool held, failed, applied;
};

static const struct result_case result_cases[] = {
	{"dry-run", "in-sync", false, false, false},
	{"dry-run", "changes", false, false, false},
	{"apply", "applied", false, false, true},
	{"apply", "errors", false, true, true},
	{"apply", "held", true, false, true},
	{"dry-run", "held", true, false, false},
	{"apply", "failed", false, true, true},
	{"dry-run", "failed", false, true, false},
};

START_TEST(test_summary_flags)
{
	const struct result_case *c = &result_cases[_i];
	struct report r = full_report();
	struct report_summary sum;

	r.mode = c->mode;
	r.result = c->result;
	ck_assert_int_eq(report_write(&r, reports_fd, "last-apply.json"),
			 FT_OK);
	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_APPLY, &sum),
			 FT_OK);
	ck_assert_msg(sum.held == c->held && sum.failed == c->failed &&
			      sum.applied == c->applied,
		      "%s/%s: held %d failed %d applied %d", c->mode, c->result,
		      sum.held, sum.failed, sum.applied);
}

END_TEST

/* Files that are not what report_write wrote. */
static const char *const bad_reports[] = {
	"",
	"not json",
	"[]",
	"{}",
	"{\"result\": \"in-sync\", \"mode\": \"apply\"}",
	"{\"result\": \"in-sync\", \"finished\": \"" FINISHED "\"}",
	"{\"mode\": \"apply\", \"finished\": \"" FINISHED "\"}",
	"{\"result\": 1, \"mode\": \"apply\", \"finished\": \"" FINISHED "\"}",
	"{\"result\": \"held\", \"mode\": \"apply\", \"finished\": 1714979289}",
	"{\"result\": \"held\", \"mode\": \"apply\", "
	"\"finished\": \"2024-05-06 07:08:09\"}",
	"{\"result\": \"held\", \"mode\": \"apply\", "
	"\"finished\": \"2024-05-06T07:08:09Z junk\"}",
	"{\"result\": \"held\", \"mode\": \"apply\", \"finished\": \"\"}",
	"{\"result\": \"held\", \"result\": \"held\", \"mode\": \"apply\", "
	"\"finished\": \"" FINISHED "\"}",
	"{\"result\": \"held\", \"mode\": \"apply\", \"finished\": \"" FINISHED
	"\"",
};

#define NBAD_REPORTS (sizeof(bad_reports) / sizeof(bad_reports[0]))

static void
put(const char *rel, const char *text)
{
	char path[512];

	H_FMT(path, "%s/%s", state, rel);
	ck_assert_int_eq(h_write_file(path, text, 0600), FT_OK);
}

START_TEST(test_summary_refuses_damaged)
{
	struct report_summary sum, before;

	put("reports/last-apply.json", bad_reports[_i]);
	memset(&sum, 0x5a, sizeof(sum));
	before = sum;
	ck_assert_msg(report_read_summary(reports_fd, REPORT_APPLY, &sum) ==
			      FT_E_PROTO,
		      "accepted: %s", bad_reports[_i]);
	ck_assert(memcmp(&sum, &before, sizeof(sum)) == 0); /* untouched */
}

END_TEST

/* The smallest file that is accepted, and a symlink that is not. */
START_TEST(test_summary_minimal_and_symlink)
{
	struct report_summary sum;
	char target[512], link[512];

	put("reports/real.json",
	    "{\"result\": \"held\", \"mode\": \"apply\", \"finished\": \"" FINISHED
	    "\"}");
	H_FMT(target, "%s/reports/real.json", state);
	H_FMT(link, "%s/reports/last-apply.json", state);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_APPLY, &sum),
			 FT_E_PROTO);
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(rename(target, link), 0);
	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_APPLY, &sum),
			 FT_OK);
	ck_assert(sum.held && sum.applied && !sum.failed);
	ck_assert_int_eq(sum.finished, FINISHED_UNIX);
	ck_assert_double_eq(sum.seconds, 0);
}

END_TEST

/*
 * A FIFO in place of the report or of last-good.json is refused at once
 * (before, the daemon's main loop and the reconcile waited for a writer);
 * a file over the cap is not read.
 */
START_TEST(test_read_fifo_and_cap)
{
	struct report_summary sum;
	char path[512];
	struct report_last_good n;

	H_FMT(path, "%s/reports/last-apply.json", state);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_APPLY, &sum),
			 FT_E_PROTO);
	H_FMT(path, "%s/last-good.json", state);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(report_last_good_read(state_fd, &n), FT_E_PROTO);
	ck_assert_uint_eq(n.population, 0);
	/* a last-good.json of 1 MiB (sparse): over its 4 KiB cap */
	ck_assert_int_eq(unlink(path), 0);
	put("last-good.json", "{\"population\": 12}");
	ck_assert_int_eq(truncate(path, 1 << 20), 0);
	ck_assert_int_eq(report_last_good_read(state_fd, &n), FT_E_PROTO);
	ck_assert_uint_eq(n.population, 0);
}

END_TEST

/* ---- last-good.json ---------------------------------------------------- */

static const unsigned long good_ns[] = {0, 1, 15, 100000, 4294967296UL};

START_TEST(test_last_good_round_trip)
{
	struct report_last_good g = {good_ns[_i], FINISHED, "recon1.example"};
	struct report_last_good n = {99, "x", "y"};
	json_t *o;

	ck_assert_int_eq(report_last_good_read(state_fd, &n), FT_OK);
	ck_assert_uint_eq(n.population, 0); /* none yet */
	ck_assert_str_eq(n.host, "");
	ck_assert_int_eq(report_last_good_write(state_fd, &g), FT_OK);
	ck_assert_int_eq(report_last_good_read(state_fd, &n), FT_OK);
	ck_assert_uint_eq(n.population, good_ns[_i]);
	ck_assert_str_eq(n.time, FINISHED);
	ck_assert_str_eq(n.host, "recon1.example");
	o = load("last-good.json");
	ck_assert_int_eq(int_at(o, "population"), (long long)good_ns[_i]);
	ck_assert_str_eq(str_at(o, "time"), FINISHED);
	ck_assert_str_eq(str_at(o, "host"), "recon1.example");
	json_decref(o);
	no_temp_files(".");
}

END_TEST

/* A last-good.json of an older version (no host) still reads. */
START_TEST(test_last_good_without_host)
{
	struct report_last_good n;

	put("last-good.json",
	    "{\"population\": 12, \"time\": \"" FINISHED "\"}");
	ck_assert_int_eq(report_last_good_read(state_fd, &n), FT_OK);
	ck_assert_uint_eq(n.population, 12);
	ck_assert_str_eq(n.time, FINISHED);
	ck_assert_str_eq(n.host, "");
}

END_TEST

static const char *const bad_last_good[] = {
	"",
	"garbage",
	"[]",
	"{}",
	"{\"population\": -1}",
	"{\"population\": \"15\"}",
	"{\"population\": 1.5}",
	"{\"population\": null}",
	"{\"population\": 3, \"population\": 4}",
	"{\"population\": 3",
	"{\"population\": 3, \"host\": 7}",
	"{\"population\": 3, \"time\": [\"x\"]}",
};

#define NBAD_LAST_GOOD (sizeof(bad_last_good) / sizeof(bad_last_good[0]))

START_TEST(test_last_good_refuses_damaged)
{
	struct report_last_good n = {99, "", ""};

	put("last-good.json", bad_last_good[_i]);
	ck_assert_msg(report_last_good_read(state_fd, &n) == FT_E_PROTO,
		      "accepted: %s", bad_last_good[_i]);
	ck_assert_uint_eq(n.population, 0);
}

END_TEST

START_TEST(test_last_good_symlink_and_folder)
{
	char target[512], link[512];
	struct report_last_good n;

	put("elsewhere.json", "{\"population\": 12}");
	H_FMT(target, "%s/elsewhere.json", state);
	H_FMT(link, "%s/last-good.json", state);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(report_last_good_read(state_fd, &n), FT_E_PROTO);
	ck_assert_uint_eq(n.population, 0);
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(mkdir(link, 0700), 0);
	ck_assert_int_eq(report_last_good_read(state_fd, &n), FT_E_PROTO);
	ck_assert_uint_eq(n.population, 0);
}

END_TEST

/* ---- report_print_status ----------------------------------------------- */

static char *
status_line(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	report_print_status(state, f);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

struct status_case {
	const char *result;
	size_t count[PLAN_SKIP + 1];
	bool plan;
	const char *want; /* before " (path)\n" */
};

static const struct status_case status_cases[] = {
	{"errors",
	 {4, 1, 1, 0, 0, 0, 1, 0, 0, 2},
	 true,
	 FINISHED ", errors: 1 create, 1 update, 1 deactivate, 2 failed"},
	{"in-sync",
	 {9, 0, 0, 0, 0, 0, 0, 0, 0, 3},
	 true,
	 FINISHED ", in-sync: nothing to change"},
	{"applied",
	 {0, 0, 0, 2, 3, 4, 0, 5, 6, 0},
	 true,
	 FINISHED ", applied: 2 link, 3 rename, 4 reactivate, 5 delete, "
		  "6 conflict"},
	{"failed", {0}, false, FINISHED ", failed: nothing to change"},
};

#define NSTATUS (sizeof(status_cases) / sizeof(status_cases[0]))

START_TEST(test_status_line)
{
	const struct status_case *c = &status_cases[_i];
	struct report r = full_report();
	char want[1024];
	char *got;

	memcpy(plan.count, c->count, sizeof(plan.count));
	r.result = c->result;
	if (!c->plan)
		r.plan = NULL;
	if (strcmp(c->result, "errors") != 0)
		r.codes = NULL; /* nothing failed */
	ck_assert_int_eq(report_write(&r, reports_fd, "last-apply.json"),
			 FT_OK);
	got = status_line();
	H_FMT(want,
	      "last apply:      %s (%s/reports/last-apply.json)\n"
	      "last dry run:    never (%s/reports/last-dry-run.json)\n",
	      c->want, state, state);
	ck_assert_str_eq(got, want);
	free(got);
}

END_TEST

/* No report, or one that is not JSON: "never". */
START_TEST(test_status_never)
{
	char want[1024];
	char *got;

	H_FMT(want,
	      "last apply:      never (%s/reports/last-apply.json)\n"
	      "last dry run:    never (%s/reports/last-dry-run.json)\n",
	      state, state);
	got = status_line();
	ck_assert_str_eq(got, want);
	free(got);
	put("reports/last-apply.json", "{\"result\": ");
	put("reports/last-dry-run.json", "{\"result\": ");
	got = status_line();
	ck_assert_str_eq(got, want);
	free(got);
}

END_TEST

/* A report without result or finished still prints, with '?'. */
START_TEST(test_status_partial)
{
	char want[1024];
	char *got;

	put("reports/last-dry-run.json", "{\"counts\": {\"create\": 2}}");
	H_FMT(want,
	      "last apply:      never (%s/reports/last-apply.json)\n"
	      "last dry run:    ?, ?: 2 create "
	      "(%s/reports/last-dry-run.json)\n",
	      state, state);
	got = status_line();
	ck_assert_str_eq(got, want);
	free(got);
}

END_TEST

/* ---- the last apply and the last dry run apart; older reports --------- */

/* A held apply then an in-sync dry run: status and the summaries show
 * both, each from its own file. */
START_TEST(test_status_apply_and_dry_run)
{
	struct report r = full_report();
	struct report_summary sum;
	char want[2048];
	char *got;

	r.result = "held";
	r.codes = NULL;
	r.run = "20240506T070801Z";
	ck_assert_int_eq(report_write(&r, reports_fd, report_last_name(&r)),
			 FT_OK);
	r = full_report();
	r.mode = "dry-run";
	r.result = "in-sync";
	r.codes = NULL;
	memset(plan.count, 0, sizeof(plan.count));
	ck_assert_str_eq(report_last_name(&r), "last-dry-run.json");
	ck_assert_int_eq(report_write(&r, reports_fd, report_last_name(&r)),
			 FT_OK);
	got = status_line();
	H_FMT(want,
	      "last apply:      " FINISHED ", held: 1 create, 1 update, "
	      "1 deactivate, run 20240506T070801Z (%s/reports/last-apply.json)\n"
	      "last dry run:    " FINISHED ", in-sync: nothing to change "
	      "(%s/reports/last-dry-run.json)\n",
	      state, state);
	ck_assert_str_eq(got, want);
	free(got);
	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_APPLY, &sum),
			 FT_OK);
	ck_assert(sum.held && sum.applied);
	ck_assert_uint_eq(sum.planned[PLAN_DEACTIVATE], 1);
	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_DRY_RUN, &sum),
			 FT_OK);
	ck_assert(!sum.held && !sum.applied && !sum.failed);
	ck_assert_uint_eq(sum.planned[PLAN_DEACTIVATE], 0);
}

END_TEST

/*
 * An older version's last-reconcile.json: read as the last apply when it
 * records one and there is no last-apply.json; a dry run's is ignored;
 * last-apply.json wins over it.
 */
START_TEST(test_old_report_upgrade)
{
	struct report r = full_report();
	struct report_summary sum;
	char want[2048];
	char *got;

	r.codes = NULL;
	r.result = "held";
	ck_assert_int_eq(report_write(&r, reports_fd, REPORT_LAST_OLD), FT_OK);
	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_APPLY, &sum),
			 FT_OK);
	ck_assert(sum.held && sum.applied);
	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_DRY_RUN, &sum),
			 FT_E_NOTFOUND);
	got = status_line();
	H_FMT(want,
	      "last apply:      " FINISHED ", held: 1 create, 1 update, "
	      "1 deactivate (%s/reports/last-reconcile.json)\n"
	      "last dry run:    never (%s/reports/last-dry-run.json)\n",
	      state, state);
	ck_assert_str_eq(got, want);
	free(got);
	r.mode = "dry-run";
	r.result = "changes";
	ck_assert_int_eq(report_write(&r, reports_fd, REPORT_LAST_OLD), FT_OK);
	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_APPLY, &sum),
			 FT_E_NOTFOUND);
	r.mode = "apply";
	ck_assert_int_eq(report_write(&r, reports_fd, REPORT_LAST_OLD), FT_OK);
	r.result = "applied";
	ck_assert_int_eq(report_write(&r, reports_fd, REPORT_LAST_APPLY),
			 FT_OK);
	ck_assert_int_eq(report_read_summary(reports_fd, REPORT_APPLY, &sum),
			 FT_OK);
	ck_assert(!sum.held); /* last-apply.json's, not the old file's */
}

END_TEST

/* ---- RUN ids, runs/RUN.json, and reading a run back -------------------- */

struct id_case {
	const char *s;
	bool ok;
};

static const struct id_case id_cases[] = {
	{"20240506T070809Z", true},
	{"20240506T070809Z-02", true},
	{"a", true},
	{"", false},
	{"../x", false},
	{"x/y", false},
	{"x.json", false},
	{"x y", false},
	{"-", true},
	{"0123456789012345678901234567890", true},
	{"01234567890123456789012345678901", false},
};

START_TEST(test_run_id_valid)
{
	const struct id_case *c = &id_cases[_i];

	ck_assert_msg(report_run_id_valid(c->s) == c->ok, "'%s'", c->s);
}

END_TEST

START_TEST(test_run_id_unique)
{
	struct report r = full_report();
	char id[REPORT_RUN_ID_MAX];
	int i;

	ck_assert_int_eq(report_run_id(reports_fd, "2024-05-06T07:08:01Z", id,
				       sizeof(id)),
			 FT_OK);
	ck_assert_str_eq(id, "20240506T070801Z");
	ck_assert_int_eq(report_run_id(reports_fd, "junk", id, sizeof(id)),
			 FT_E_INVAL);
	ck_assert_int_eq(
		report_run_id(reports_fd, "2024-05-06T07:08:01Z", id, 8),
		FT_E_INVAL);
	/* each id taken gives the next one */
	for (i = 1; i <= 3; i++) {
		char want[REPORT_RUN_ID_MAX];

		ck_assert_int_eq(report_run_id(reports_fd,
					       "2024-05-06T07:08:01Z", id,
					       sizeof(id)),
				 FT_OK);
		if (i == 1)
			H_FMT(want, "20240506T070801Z");
		else
			H_FMT(want, "20240506T070801Z-%02d", i);
		ck_assert_str_eq(id, want);
		r.run = id;
		ck_assert_int_eq(report_write_run(&r, reports_fd), FT_OK);
	}
	no_temp_files("reports/runs");
}

END_TEST

/* Only the newest REPORT_RUNS_KEPT run reports stay; "X-02" is newer
 * than "X". */
START_TEST(test_run_retention)
{
	struct report r = full_report();
	char id[REPORT_RUN_ID_MAX], path[512];
	struct stat st;
	int i;

	for (i = 0; i < REPORT_RUNS_KEPT + 5; i++) {
		H_FMT(id, "20240506T0708%02dZ", i / 2);
		if (i % 2)
			H_FMT(id, "20240506T0708%02dZ-02", i / 2);
		r.run = id;
		ck_assert_int_eq(report_write_run(&r, reports_fd), FT_OK);
	}
	for (i = 0; i < REPORT_RUNS_KEPT + 5; i++) {
		H_FMT(path, "%s/reports/runs/20240506T0708%02dZ%s.json", state,
		      i / 2, i % 2 ? "-02" : "");
		ck_assert_msg((stat(path, &st) == 0) == (i >= 5), "%s: kept %d",
			      path, stat(path, &st) == 0);
	}
	r.run = "../escape";
	ck_assert_int_eq(report_write_run(&r, reports_fd), FT_E_INVAL);
}

END_TEST

/* runs/ is never followed through a symlink, to write or to read. */
START_TEST(test_runs_symlink)
{
	struct report r = full_report();
	struct report_run rr;
	char target[512], link[512];
	const char *why = "";

	H_FMT(target, "%s/elsewhere", state);
	H_FMT(link, "%s/reports/runs", state);
	ck_assert_int_eq(mkdir(target, 0700), 0);
	ck_assert_int_eq(symlink(target, link), 0);
	r.run = "20240506T070801Z";
	ck_assert_int_eq(report_write_run(&r, reports_fd), FT_E_PERM);
	ck_assert_int_eq(report_read_run(reports_fd, r.run, &rr, &why),
			 FT_E_IO);
	no_temp_files("elsewhere");
	{
		char path[512];
		struct stat st;

		H_FMT(path, "%s/elsewhere/20240506T070801Z.json", state);
		ck_assert_int_ne(stat(path, &st), 0);
	}
}

END_TEST

/* The ftrack users as the run read them, and what LDAP says. */
static struct ft_user dan_ft = {.username = S("dan"),
				.id = S("id-dan"),
				.email = S("dan@old"),
				.uuid = S("u-dan"),
				.is_active = true};
static struct ft_user dan_l = {
	.username = S("dan"), .email = S("dan@new"), .uuid = S("u-dan")};
static struct ft_user eve_ft = {.username = S("eve"),
				.id = S("id-eve"),
				.uuid = S("u-eve"),
				.is_active = true};
static struct ft_user fay_ft = {
	.username = S("fay"), .id = S("id-fay"), .uuid = S("u-fay")};
static struct ft_user fay_l = {
	.username = S("faye"), .first_name = S("Faye"), .uuid = S("u-fay")};
static struct ft_user gil_ft = {.username = S("gil"), .id = S("id-gil")};
static struct ft_user gil_l = {.username = S("gil"), .uuid = S("u-gil")};

static const char *const run_msgs[5] = {NULL, NULL, NULL, NULL, "no"};

/* An applied run: an update, a deactivation, a rename with a first name
 * and a reactivation, a link, and a create that failed. */
static struct report
run_report(struct plan_action *acts, int *ok)
{
	struct report r = full_report();
	size_t i;

	memset(&plan, 0, sizeof(plan));
	action(&acts[0], PLAN_UPDATE, &dan_l, &dan_ft, "changed: email");
	acts[0].fields = PLAN_F_EMAIL;
	action(&acts[1], PLAN_DEACTIVATE, NULL, &eve_ft, "left LDAP");
	acts[1].fields = PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE;
	action(&acts[2], PLAN_REACTIVATE, &fay_l, &fay_ft, "back");
	acts[2].fields = PLAN_F_USERNAME | PLAN_F_FIRST_NAME | PLAN_F_ACTIVATE;
	action(&acts[3], PLAN_LINK, &gil_l, &gil_ft, "linked");
	acts[3].fields = PLAN_F_MARK_UUID;
	action(&acts[4], PLAN_CREATE, &alice, NULL, "new");
	acts[4].fields = PLAN_F_USERNAME | PLAN_F_ACTIVATE;
	plan.v = acts;
	plan.n = 5;
	for (i = 0; i < 5; i++) {
		plan.count[acts[i].kind]++;
		ok[i] = i == 4 ? FT_E_DATA : FT_OK;
	}
	r.plan = &plan;
	r.codes = ok;
	r.messages = run_msgs;
	r.result = "errors";
	r.run = "20240506T070801Z";
	return r;
}

START_TEST(test_run_round_trip)
{
	struct plan_action acts[5];
	int ok[5];
	struct report r = run_report(acts, ok);
	struct report_run rr;
	const struct report_change *c;
	const char *why = "x";

	ck_assert_int_eq(report_write_run(&r, reports_fd), FT_OK);
	ck_assert_int_eq(report_read_run(reports_fd, r.run, &rr, &why), FT_OK);
	ck_assert_str_eq(rr.run, "20240506T070801Z");
	ck_assert_str_eq(rr.result, "errors");
	ck_assert_str_eq(rr.finished, FINISHED);
	ck_assert(!rr.undo);
	ck_assert_uint_eq(rr.n, 5);
	c = &rr.v[0];
	ck_assert(c->kind == PLAN_UPDATE && c->ok);
	ck_assert_str_eq(c->id, "id-dan");
	ck_assert_uint_eq(c->fields, PLAN_F_EMAIL);
	ck_assert_str_eq(c->before.email, "dan@old");
	ck_assert_str_eq(c->after.email, "dan@new");
	c = &rr.v[1];
	ck_assert(c->kind == PLAN_DEACTIVATE && c->ok);
	ck_assert_uint_eq(c->fields, PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE);
	ck_assert(c->before.is_active && !c->after.is_active);
	ck_assert_ptr_null(c->before.deactivated);
	ck_assert_str_eq(c->after.deactivated, "set");
	c = &rr.v[2];
	ck_assert_uint_eq(c->fields, PLAN_F_USERNAME | PLAN_F_FIRST_NAME |
					     PLAN_F_ACTIVATE);
	ck_assert_str_eq(c->before.username, "fay");
	ck_assert_str_eq(c->after.username, "faye");
	ck_assert_ptr_null(c->before.first_name);
	ck_assert_str_eq(c->after.first_name, "Faye");
	ck_assert(!c->before.is_active && c->after.is_active);
	c = &rr.v[3];
	ck_assert_uint_eq(c->fields, PLAN_F_MARK_UUID);
	ck_assert_ptr_null(c->before.uuid);
	ck_assert_str_eq(c->after.uuid, "u-gil");
	c = &rr.v[4];
	ck_assert(c->kind == PLAN_CREATE && !c->ok);
	ck_assert_ptr_null(c->id);
	ck_assert_str_eq(c->user, "alice");
	ck_assert_uint_eq(c->fields, 0); /* a create records no old values */
	report_run_free(&rr);
	ck_assert_uint_eq(rr.n, 0);
}

END_TEST

/* Runs that are not there, not ours, or not a RUN id. */
START_TEST(test_run_read_refuses)
{
	struct plan_action acts[5];
	int ok[5];
	struct report r = run_report(acts, ok);
	struct report_run rr;
	const char *why = "";
	char path[512];

	ck_assert_int_eq(
		report_read_run(reports_fd, "20240506T070801Z", &rr, &why),
		FT_E_NOTFOUND);
	ck_assert_int_eq(
		report_read_run(reports_fd, "../last-apply", &rr, &why),
		FT_E_INVAL);
	ck_assert_int_eq(report_write_run(&r, reports_fd), FT_OK);
	H_FMT(path, "reports/runs/%s.json", r.run);
	put(path, "{\"mode\": \"apply\"");
	ck_assert_int_eq(report_read_run(reports_fd, r.run, &rr, &why),
			 FT_E_PROTO);
	ck_assert_str_eq(why, "not JSON");
	r.mode = "dry-run";
	ck_assert_int_eq(report_write_run(&r, reports_fd), FT_OK);
	ck_assert_int_eq(report_read_run(reports_fd, r.run, &rr, &why),
			 FT_E_PROTO);
	ck_assert_str_eq(why, "not a report of an applied run");
	/* a report filed under another run's name */
	r.mode = "apply";
	ck_assert_int_eq(report_write_run(&r, reports_fd), FT_OK);
	H_FMT(path, "%s/reports/runs/%s.json", state, r.run);
	{
		char other[512];

		H_FMT(other, "%s/reports/runs/20200101T000000Z.json", state);
		ck_assert_int_eq(rename(path, other), 0);
	}
	ck_assert_int_eq(
		report_read_run(reports_fd, "20200101T000000Z", &rr, &why),
		FT_E_PROTO);
	/* an action with a field it cannot have */
	put("reports/runs/20200101T000000Z.json",
	    "{\"mode\": \"apply\", \"result\": \"applied\", \"run\": "
	    "\"20200101T000000Z\", \"finished\": \"" FINISHED "\", "
	    "\"actions\": [{\"action\": \"update\", \"ok\": true, "
	    "\"changes\": {\"password\": {\"old\": \"a\", \"new\": \"b\"}}}]}");
	ck_assert_int_eq(
		report_read_run(reports_fd, "20200101T000000Z", &rr, &why),
		FT_E_PROTO);
	ck_assert_str_eq(why, "an action is not what the run wrote");
}

END_TEST

Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tw = tcase_create("write");
	TCase *tr = tcase_create("read");
	TCase *tg = tcase_create("last_good");
	TCase *ts = tcase_create("status");
	TCase *tu;

	tcase_add_checked_fixture(tw, setup, teardown);
	tcase_add_test(tw, test_write_full);
	tcase_add_test(tw, test_write_dry_run_and_no_plan);
	tcase_add_test(tw, test_write_links_and_unaccounted);
	tcase_add_test(tw, test_write_seat_waiting);
	tcase_add_test(tw, test_write_replaces);
	tcase_add_test(tw, test_write_bad_dir);
	tcase_add_test(tw, test_print_json);
	tcase_add_test(tw, test_write_text_not_utf8);
	tcase_add_test(tw, test_write_ascii);
	suite_add_tcase(s, tw);

	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_add_test(tr, test_summary_of_written);
	tcase_add_test(tr, test_read_fifo_and_cap);
	tcase_add_loop_test(
		tr, test_summary_flags, 0,
		(int)(sizeof(result_cases) / sizeof(result_cases[0])));
	tcase_add_loop_test(tr, test_summary_refuses_damaged, 0,
			    (int)NBAD_REPORTS);
	tcase_add_test(tr, test_summary_minimal_and_symlink);
	suite_add_tcase(s, tr);

	tcase_add_checked_fixture(tg, setup, teardown);
	tcase_add_loop_test(tg, test_last_good_round_trip, 0,
			    (int)(sizeof(good_ns) / sizeof(good_ns[0])));
	tcase_add_loop_test(tg, test_last_good_refuses_damaged, 0,
			    (int)NBAD_LAST_GOOD);
	tcase_add_test(tg, test_last_good_symlink_and_folder);
	tcase_add_test(tg, test_last_good_without_host);
	suite_add_tcase(s, tg);

	tcase_add_checked_fixture(ts, setup, teardown);
	tcase_add_loop_test(ts, test_status_line, 0, (int)NSTATUS);
	tcase_add_test(ts, test_status_never);
	tcase_add_test(ts, test_status_partial);
	tcase_add_test(ts, test_status_apply_and_dry_run);
	tcase_add_test(ts, test_old_report_upgrade);
	suite_add_tcase(s, ts);

	tu = tcase_create("runs");
	tcase_add_checked_fixture(tu, setup, teardown);
	tcase_add_loop_test(tu, test_run_id_valid, 0,
			    (int)(sizeof(id_cases) / sizeof(id_cases[0])));
	tcase_add_test(tu, test_run_id_unique);
	tcase_add_test(tu, test_run_retention);
	tcase_add_test(tu, test_runs_symlink);
	tcase_add_test(tu, test_run_round_trip);
	tcase_add_test(tu, test_run_read_refuses);
	suite_add_tcase(s, tu);
	return s;
}
