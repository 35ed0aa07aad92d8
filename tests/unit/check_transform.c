/* SPDX-License-Identifier: Apache-2.0 */
/* check_transform.c: the transform protocol against real programs (python3
 * and sh scripts written by the tests, and etc/examples): fields replaced,
 * skips, bad answers, answers out of step, outages, the pipelined window. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ft_err.h"
#include "harness.h"
#include "transform.h"

Suite *transform_suite(void);

#define NMAX 1200

static char *dir;
static struct config cfg;
static struct ft_user users[NMAX];
static struct transform_item items[NMAX];
static char err[TRANSFORM_REASON_MAX];
static char path[PATH_MAX];

static void
setup(void)
{
	dir = h_tmpdir();
	ck_assert_ptr_nonnull(dir);
	memset(&cfg, 0, sizeof(cfg));
	memset(users, 0, sizeof(users));
	memset(items, 0, sizeof(items));
	cfg.mapping.transform_timeout = 5;
	err[0] = '\0';
}

static void
teardown(void)
{
	size_t i;

	for (i = 0; i < NMAX; i++)
		ft_user_clear(&users[i]);
	h_rmtree(dir);
	free(dir);
	dir = NULL;
}

/* The program `name` (mode 0755) as [mapping] transform. */
static void
program(const char *name, const char *text)
{
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", dir, name),
			 (int)sizeof(path));
	ck_assert_int_eq(h_write_file(path, text, 0755), FT_OK);
	ck_assert_int_eq(chmod(path, 0755), 0);
	cfg.mapping.transform = path;
}

static char *
dup_ok(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	ck_assert(s == NULL || d != NULL);
	return d;
}

/* User i: login, mapped as login@example.com, "First Last". */
static void
user(size_t i, const char *login, const char *attrs)
{
	char mail[128];

	(void)snprintf(mail, sizeof(mail), "%s@example.com", login);
	users[i].login = dup_ok(login);
	users[i].username = dup_ok(login);
	users[i].email = dup_ok(mail);
	users[i].first_name = dup_ok("First");
	users[i].last_name = dup_ok("Last");
	users[i].dn = dup_ok("uid=x,ou=people,dc=example,dc=com");
	users[i].uuid = dup_ok("uuid-1");
	users[i].attrs_json = dup_ok(attrs ? attrs : "{}");
	items[i].user = &users[i];
}

static struct transform *
new_ok(void)
{
	struct transform *t = NULL;

	ck_assert_int_eq(transform_new(&cfg, "/nonexistent/t.sock", &t), FT_OK);
	return t;
}

static int
run_n(struct transform *t, size_t n)
{
	return transform_run(t, items, n, err, sizeof(err));
}

/* Answers with the request's user as it came: the identity. */
static const char identity_py[] =
	"#!/usr/bin/python3\n"
	"import json, sys\n"
	"for line in sys.stdin:\n"
	"    r = json.loads(line)\n"
	"    print(json.dumps({'id': r['id'], 'login': r['login'],\n"
	"                      'user': r['user']}), flush=True)\n";

/* Answers by login: a small table of behaviours. */
static const char by_login_py[] =
	"#!/usr/bin/python3\n"
	"import json, sys\n"
	"for line in sys.stdin:\n"
	"    r = json.loads(line)\n"
	"    a = {'id': r['id'], 'login': r['login']}\n"
	"    who = r['login']\n"
	"    if who == 'skip':\n"
	"        a['skip'] = 'not ours'\n"
	"    elif who == 'ctl':\n"
	"        a['user'] = {'first_name': 'A\\x1bB'}\n"
	"    elif who == 'unknown':\n"
	"        a['user'] = {'mail': 'x'}\n"
	"    elif who == 'neither':\n"
	"        pass\n"
	"    elif who == 'both':\n"
	"        a['user'] = {}\n"
	"        a['skip'] = 'x'\n"
	"    elif who == 'long':\n"
	"        a['user'] = {'last_name': 'x' * 257}\n"
	"    elif who == 'emptyname':\n"
	"        a['user'] = {'username': ''}\n"
	"    elif who == 'nullname':\n"
	"        a['user'] = {'username': None}\n"
	"    elif who == 'num':\n"
	"        a['user'] = {'email': 5}\n"
	"    else:\n"
	"        a['user'] = {'email': who + '@new.example.com',\n"
	"                     'first_name': None, 'username': 'u-' + who}\n"
	"    print(json.dumps(a), flush=True)\n";

START_TEST(test_identity_and_attributes)
{
	static const char text[] =
		"#!/usr/bin/python3\n"
		"import json, sys\n"
		"for line in sys.stdin:\n"
		"    r = json.loads(line)\n"
		"    assert set(r) == {'id', 'dn', 'login', 'attributes', 'user'}\n"
		"    d = r['attributes']['department'][0]\n"
		"    print(json.dumps({'id': r['id'], 'login': r['login'],\n"
		"                      'user': {'last_name': d}}), flush=True)\n";
	struct transform *t;
	struct transform_stats st;

	program("dept.py", text);
	user(0, "alice", "{\"department\":[\"VFX\"],\"uid\":[\"alice\"]}");
	t = new_ok();
	ck_assert_int_eq(run_n(t, 1), FT_OK);
	ck_assert_int_eq(items[0].verdict, TRANSFORM_USE);
	ck_assert_str_eq(users[0].last_name, "VFX");
	ck_assert_str_eq(users[0].email, "alice@example.com"); /* kept */
	transform_stats(t, &st);
	ck_assert(st.started);
	ck_assert(st.spawned);
	ck_assert_uint_eq(st.outages, 0);
	transform_free(t);
}

END_TEST

START_TEST(test_fields_skip_and_bad)
{
	static const char *const who[] = {
		"alice", "skip", "ctl",       "unknown",  "neither", "both",
		"long",  "num",  "emptyname", "nullname", "bob",
	};
	static const char *const why[] = {
		NULL,
		"not ours",
		"\"first_name\" holds a control character",
		"unknown field 'mail'",
		"neither",
		"both",
		"\"last_name\" is longer than 256 bytes",
		"\"email\" is not a string",
		"\"username\" is empty",
		"\"username\" is not a string",
		NULL,
	};
	size_t n = sizeof(who) / sizeof(who[0]), i;
	struct transform_stats st;
	struct transform *t;

	program("by_login.py", by_login_py);
	for (i = 0; i < n; i++)
		user(i, who[i], NULL);
	t = new_ok();
	ck_assert_int_eq(run_n(t, n), FT_OK);
	for (i = 0; i < n; i++) {
		enum transform_verdict want = why[i] == NULL ? TRANSFORM_USE
					      : i == 1       ? TRANSFORM_SKIP
							     : TRANSFORM_BAD;

		ck_assert_msg(items[i].verdict == want, "%s: %d (%s)", who[i],
			      items[i].verdict, items[i].reason);
		if (why[i] != NULL)
			ck_assert_msg(strstr(items[i].reason, why[i]) != NULL,
				      "%s: '%s'", who[i], items[i].reason);
	}
	/* replaced, emptied, kept */
	ck_assert_str_eq(users[0].email, "alice@new.example.com");
	ck_assert_str_eq(users[0].username, "u-alice");
	ck_assert_ptr_null(users[0].first_name);
	ck_assert_str_eq(users[0].last_name, "Last");
	/* a bad answer changes nothing */
	ck_assert_str_eq(users[2].first_name, "First");
	ck_assert_str_eq(users[10].email, "bob@new.example.com");
	transform_stats(t, &st);
	ck_assert_uint_eq(st.bad, 8);
	ck_assert_uint_eq(st.restarts, 0);
	transform_free(t);
}

END_TEST

/* A stray line: the open window cannot be used; the program is started
 * again for the rest, and answers never land on other people. */
static void
out_of_step(const char *name, const char *bad_answer)
{
	char text[2048];
	struct transform_stats st;
	struct transform *t;
	size_t i, n = TRANSFORM_WINDOW + 6;

	(void)snprintf(
		text, sizeof(text),
		"#!/usr/bin/python3\n"
		"import json, sys\n"
		"for line in sys.stdin:\n"
		"    r = json.loads(line)\n"
		"    if r['login'] == 'u2':\n"
		"        print(%s, flush=True)\n"
		"        continue\n"
		"    print(json.dumps({'id': r['id'], 'login': r['login'],\n"
		"          'user': {'last_name': r['login']}}), flush=True)\n",
		bad_answer);
	program(name, text);
	for (i = 0; i < n; i++) {
		char login[16];

		(void)snprintf(login, sizeof(login), "u%zu", i);
		user(i, login, NULL);
	}
	t = new_ok();
	ck_assert_int_eq(run_n(t, n), FT_OK);
	ck_assert_int_eq(items[0].verdict, TRANSFORM_USE);
	ck_assert_int_eq(items[1].verdict, TRANSFORM_USE);
	ck_assert_str_eq(users[1].last_name, "u1");
	/* u2 and every request open with it: the first window, refilled
	 * only when half of it is answered */
	for (i = 2; i < TRANSFORM_WINDOW; i++) {
		ck_assert_int_eq(items[i].verdict, TRANSFORM_BAD);
		ck_assert_ptr_nonnull(strstr(items[i].reason, "out of step"));
		ck_assert_str_eq(users[i].last_name, "Last");
	}
	/* the rest went to a new program and are right */
	for (i = TRANSFORM_WINDOW; i < n; i++) {
		char want[16];

		(void)snprintf(want, sizeof(want), "u%zu", i);
		ck_assert_int_eq(items[i].verdict, TRANSFORM_USE);
		ck_assert_str_eq(users[i].last_name, want);
	}
	transform_stats(t, &st);
	ck_assert_uint_ge(st.restarts, 1);
	ck_assert_uint_eq(st.outages, 0);
	transform_free(t);
}

START_TEST(test_garbage_line)
{
	out_of_step("garbage.py", "'debug: looking at', r['login']");
}

END_TEST

START_TEST(test_wrong_id)
{
	out_of_step("wrongid.py", "json.dumps({'id': r['id'] + 1, 'login': "
				  "r['login'], 'user': {}})");
}

END_TEST

START_TEST(test_wrong_login)
{
	out_of_step("wronglogin.py", "json.dumps({'id': r['id'], 'login': "
				     "'u3', 'user': {}})");
}

END_TEST

START_TEST(test_oversized_line)
{
	out_of_step("big.py", "json.dumps({'id': r['id'], 'login': "
			      "r['login'], 'user': {'email': 'x' * 70000}})");
}

END_TEST

START_TEST(test_timeout)
{
	static const char text[] = "#!/bin/sh\nread l\nsleep 30\n";
	struct transform_stats st;
	struct transform *t;

	cfg.mapping.transform_timeout = 1;
	program("slow", text);
	user(0, "alice", NULL);
	t = new_ok();
	ck_assert_int_eq(run_n(t, 1), FT_E_AGAIN);
	ck_assert_ptr_nonnull(strstr(err, "did not answer within 1 s"));
	transform_stats(t, &st);
	ck_assert_uint_eq(st.outages, 1);
	ck_assert_uint_eq(st.consecutive, 1);
	transform_free(t);
}

END_TEST

START_TEST(test_crash_mid_run)
{
	static const char text[] =
		"#!/usr/bin/python3\n"
		"import json, sys, os\n"
		"n = 0\n"
		"for line in sys.stdin:\n"
		"    r = json.loads(line)\n"
		"    n += 1\n"
		"    if n == 3:\n"
		"        os._exit(1)\n"
		"    print(json.dumps({'id': r['id'], 'login': r['login'],\n"
		"                      'user': {}}), flush=True)\n";
	struct transform_stats st;
	struct transform *t;
	size_t i;

	program("crash.py", text);
	for (i = 0; i < 5; i++)
		user(i, "p", NULL);
	t = new_ok();
	ck_assert_int_eq(run_n(t, 5), FT_E_AGAIN);
	ck_assert_ptr_nonnull(strstr(err, "the transform exited"));
	/* started again by the next call, and failing again */
	ck_assert_int_eq(run_n(t, 5), FT_E_AGAIN);
	transform_stats(t, &st);
	ck_assert_uint_eq(st.outages, 2);
	ck_assert_uint_eq(st.consecutive, 2);
	transform_free(t);
}

END_TEST

START_TEST(test_exits_at_once)
{
	struct transform *t;

	program("gone", "#!/bin/sh\nexit 0\n");
	user(0, "alice", NULL);
	t = new_ok();
	ck_assert_int_eq(run_n(t, 1), FT_E_AGAIN);
	ck_assert_msg(strstr(err, "the transform exited") != NULL ||
			      strstr(err, "stopped reading its input") != NULL,
		      "%s", err);
	transform_free(t);
}

END_TEST

START_TEST(test_refused_file)
{
	char sub[PATH_MAX / 2];
	struct transform *t;

	program("open", identity_py);
	ck_assert_int_eq(chmod(path, 0757), 0);
	user(0, "alice", NULL);
	t = new_ok();
	ck_assert_int_eq(run_n(t, 1), FT_E_AGAIN);
	ck_assert_msg(strstr(err, "cannot be started") != NULL, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, "writable by group or others"));
	transform_free(t);
	/* in a folder others can write */
	(void)snprintf(sub, sizeof(sub), "%s/shared", dir);
	ck_assert_int_eq(mkdir(sub, 0777), 0);
	ck_assert_int_eq(chmod(sub, 0777), 0);
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/t.py", sub),
			 (int)sizeof(path));
	ck_assert_int_eq(h_write_file(path, identity_py, 0755), FT_OK);
	ck_assert_int_eq(chmod(path, 0755), 0);
	t = new_ok();
	ck_assert_int_eq(run_n(t, 1), FT_E_AGAIN);
	ck_assert_ptr_nonnull(strstr(err, "/shared' is writable"));
	transform_free(t);
}

END_TEST

/* More entries than the window, many times over, in order. */
START_TEST(test_pipelined)
{
	struct transform *t;
	struct transform_stats st;
	size_t i, n = NMAX;

	program("id.py", identity_py);
	for (i = 0; i < n; i++) {
		char login[16];

		(void)snprintf(login, sizeof(login), "p%zu", i);
		user(i, login, NULL);
	}
	t = new_ok();
	ck_assert_int_eq(run_n(t, n), FT_OK);
	for (i = 0; i < n; i++) {
		char want[32];

		(void)snprintf(want, sizeof(want), "p%zu@example.com", i);
		ck_assert_int_eq(items[i].verdict, TRANSFORM_USE);
		ck_assert_str_eq(users[i].email, want);
	}
	/* the same program again: one per transform */
	ck_assert_int_eq(run_n(t, 3), FT_OK);
	transform_stats(t, &st);
	ck_assert_uint_eq(st.restarts, 0);
	transform_free(t);
}

END_TEST

START_TEST(test_attrs_json)
{
	static const struct map_val mail = {"a@b.c", 5}, bin = {"\x01\xff", 2},
				    nul = {"a\0b", 3};
	struct map_attr attrs[] = {
		{"mail", 1, &mail},
		{"objectGUID", 1, &bin},
		{"weird", 1, &nul},
	};
	struct map_entry e = {"uid=a,dc=x", 3, attrs};
	char *text = NULL;

	ck_assert_int_eq(transform_attrs_json(&e, &text), FT_OK);
	ck_assert_str_eq(text,
			 "{\"mail\":[\"a@b.c\"],\"objectGUID\":[\"01ff\"],"
			 "\"weird\":[\"610062\"]}");
	free(text);
}

END_TEST

/* etc/examples/transform-example.py with the real python3. */
START_TEST(test_example)
{
	char src[PATH_MAX], *text;
	struct transform *t;

	(void)snprintf(src, sizeof(src), "%s/etc/examples/transform-example.py",
		       FT_TEST_SRCDIR);
	text = h_read_file(src, NULL);
	ck_assert_ptr_nonnull(text);
	program("transform-example.py", text);
	free(text);
	user(0, "alice",
	     "{\"uid\":[\"alice\"],\"department\":[\"Visual Effects\"],"
	     "\"preferredName\":[\"Ally\"],\"employeeType\":[\"staff\"]}");
	user(1, "carl",
	     "{\"uid\":[\"carl\"],\"employeeType\":[\"Contractor\"]}");
	user(2, "dora", "{\"uid\":[\"dora\"]}");
	t = new_ok();
	ck_assert_int_eq(run_n(t, 3), FT_OK);
	ck_assert_int_eq(items[0].verdict, TRANSFORM_USE);
	ck_assert_str_eq(users[0].email, "alice@visual-effects.example.com");
	ck_assert_str_eq(users[0].first_name, "Ally");
	ck_assert_str_eq(users[0].last_name, "Last");
	ck_assert_int_eq(items[1].verdict, TRANSFORM_SKIP);
	ck_assert_str_eq(items[1].reason, "employeeType is contractor");
	ck_assert_int_eq(items[2].verdict, TRANSFORM_USE);
	ck_assert_str_eq(users[2].email, "dora@example.com");
	ck_assert_str_eq(users[2].first_name, "First");
	transform_free(t);
}

END_TEST

static int drops;

static void
count_drop(void *ctx, const struct ft_user *u, const struct transform_item *it)
{
	(void)ctx;
	ck_assert_ptr_nonnull(u->login);
	ck_assert(it->verdict != TRANSFORM_USE);
	drops++;
}

/* The reconcile's form: the list keeps the users to use, in order. */
START_TEST(test_list)
{
	static const char *const who[] = {"alice", "skip", "bob", "ctl", "eve"};
	struct ft_user_list l = {0};
	struct transform *t;
	size_t i;

	program("by_login.py", by_login_py);
	for (i = 0; i < 5; i++) {
		user(i, who[i], NULL);
		ck_assert_int_eq(ft_user_list_push(&l, &users[i]), FT_OK);
	}
	t = new_ok();
	drops = 0;
	ck_assert_int_eq(
		transform_list(t, &l, count_drop, NULL, err, sizeof(err)),
		FT_OK);
	ck_assert_int_eq(drops, 2);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.v[0].login, "alice");
	ck_assert_str_eq(l.v[1].login, "bob");
	ck_assert_str_eq(l.v[2].login, "eve");
	ck_assert_str_eq(l.v[2].email, "eve@new.example.com");
	ft_user_list_clear(&l);
	transform_free(t);
}

END_TEST

START_TEST(test_not_configured)
{
	struct transform *t = NULL;

	ck_assert(!transform_configured(&cfg));
	ck_assert_int_eq(transform_new(&cfg, NULL, &t), FT_E_CONFIG);
	ck_assert_ptr_null(t);
}

END_TEST

Suite *
transform_suite(void)
{
	Suite *s = suite_create("transform");
	TCase *c = tcase_create("protocol");

	tcase_add_checked_fixture(c, setup, teardown);
	tcase_set_timeout(c, 60);
	tcase_add_test(c, test_identity_and_attributes);
	tcase_add_test(c, test_fields_skip_and_bad);
	tcase_add_test(c, test_garbage_line);
	tcase_add_test(c, test_wrong_id);
	tcase_add_test(c, test_wrong_login);
	tcase_add_test(c, test_oversized_line);
	tcase_add_test(c, test_timeout);
	tcase_add_test(c, test_crash_mid_run);
	tcase_add_test(c, test_exits_at_once);
	tcase_add_test(c, test_refused_file);
	tcase_add_test(c, test_pipelined);
	tcase_add_test(c, test_attrs_json);
	tcase_add_test(c, test_example);
	tcase_add_test(c, test_list);
	tcase_add_test(c, test_not_configured);
	suite_add_tcase(s, c);
	return s;
}
