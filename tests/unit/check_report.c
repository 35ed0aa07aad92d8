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

	ck_assert_int_eq(report_write(&r, reports_fd, "last-reconcile.json"),
			 FT_OK);
	H_FMT(path, "%s/reports/last-reconcile.json", state);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	no_temp_files("reports");
	o = load("reports/last-reconcile.json");
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
	ck_assert_int_eq(report_write(&r, reports_fd, "last-reconcile.json"),
			 FT_OK);
	o = load("reports/last-reconcile.json");
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
	ck_assert_int_eq(report_write(&r, reports_fd, "last-reconcile.json"),
			 FT_OK);
	H_FMT(path, "%s/reports/last-reconcile.json", state);
	text = h_read_file(path, &len);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < len; i++)
		ck_assert_msg(text[i] == '\n' ||
				      (text[i] >= 0x20 && text[i] < 0x7f),
			      "byte 0x%02x at %zu", (unsigned char)text[i], i);
	ck_assert_ptr_nonnull(strstr(text, "ev\\u001B\\u009B\\u202E\\u007Fil"));
	free(text);
	o = load("reports/last-reconcile.json");
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

	ck_assert_int_eq(report_read_summary(reports_fd, &sum), FT_E_NOTFOUND);
	ck_assert_int_eq(report_write(&r, reports_fd, "last-reconcile.json"),
			 FT_OK);
	memset(&sum, 0xa5, sizeof(sum));
	ck_assert_int_eq(report_read_summary(reports_fd, &sum), FT_OK);
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
	ck_assert_int_eq(report_write(&r, reports_fd, "last-reconcile.json"),
			 FT_OK);
	ck_assert_int_eq(report_read_summary(reports_fd, &sum), FT_OK);
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

	put("reports/last-reconcile.json", bad_reports[_i]);
	memset(&sum, 0x5a, sizeof(sum));
	before = sum;
	ck_assert_msg(report_read_summary(reports_fd, &sum) == FT_E_PROTO,
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
	H_FMT(link, "%s/reports/last-reconcile.json", state);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(report_read_summary(reports_fd, &sum), FT_E_PROTO);
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(rename(target, link), 0);
	ck_assert_int_eq(report_read_summary(reports_fd, &sum), FT_OK);
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

	H_FMT(path, "%s/reports/last-reconcile.json", state);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(report_read_summary(reports_fd, &sum), FT_E_PROTO);
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
	 FINISHED ", errors: 1 create, 1 update, 1 deactivate"},
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
	ck_assert_int_eq(report_write(&r, reports_fd, "last-reconcile.json"),
			 FT_OK);
	got = status_line();
	H_FMT(want, "last reconcile:  %s (%s/reports/last-reconcile.json)\n",
	      c->want, state);
	ck_assert_str_eq(got, want);
	free(got);
}

END_TEST

/* No report, or one that is not JSON: "never". */
START_TEST(test_status_never)
{
	char want[1024];
	char *got;

	H_FMT(want, "last reconcile:  never (%s/reports/last-reconcile.json)\n",
	      state);
	got = status_line();
	ck_assert_str_eq(got, want);
	free(got);
	put("reports/last-reconcile.json", "{\"result\": ");
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

	put("reports/last-reconcile.json", "{\"counts\": {\"create\": 2}}");
	H_FMT(want,
	      "last reconcile:  ?, ?: 2 create "
	      "(%s/reports/last-reconcile.json)\n",
	      state);
	got = status_line();
	ck_assert_str_eq(got, want);
	free(got);
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

	tcase_add_checked_fixture(tw, setup, teardown);
	tcase_add_test(tw, test_write_full);
	tcase_add_test(tw, test_write_dry_run_and_no_plan);
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
	suite_add_tcase(s, ts);
	return s;
}
