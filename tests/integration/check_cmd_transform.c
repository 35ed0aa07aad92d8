/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd_transform.c: suite 'cmd_transform': [mapping] transform end to
 * end: a real slapd, the ftrack emulator, `ftrack-syncd reconcile`, `sync`
 * as processes, and transform programs written by the tests (python3).
 * Fields replaced; a skip that makes a managed account a leaver under the
 * guards; a bad answer that keeps the account; an outage that fails the
 * run and writes nothing; logins skipped, failed or left to retry.  What
 * `check` prints of the transform is cmd_check_transform.c's, tested in
 * process in the cmd_check_transform suite.
 */
#include <check.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ft_err.h"
#include "harness.h"

Suite *cmd_transform_suite(void);

#define N_ENABLED 14 /* enabled people of people.ldif */

/* ---- helpers that assert ------------------------------------------------- */

static struct h_world *
world(void)
{
	struct h_world *w;

	ck_assert_ptr_nonnull(h_suite_dir());
	w = h_world_start(H_LDIF_PEOPLE, 0, NULL);
	ck_assert_ptr_nonnull(w);
	return w;
}

/*
 * A transform in the world's folder: `skip` (a Python list of logins)
 * are skipped, `bad` get a first name with a control character, every
 * other person's last name becomes "N<uidNumber>".  exit_at_once: a
 * program that exits before answering.  Returns the config lines
 * (static) that name it, followed by extra.
 */
static const char *
transform(struct h_world *w, const char *skip, const char *bad,
	  bool exit_at_once, const char *extra)
{
	static char conf[PATH_MAX + 512];
	char path[PATH_MAX], text[2048];

	(void)snprintf(text, sizeof(text),
		       "#!/usr/bin/python3\n"
		       "import json, sys\n"
		       "if %s:\n"
		       "    sys.exit(0)\n"
		       "for line in sys.stdin:\n"
		       "    r = json.loads(line)\n"
		       "    a = {'id': r['id'], 'login': r['login']}\n"
		       "    n = r['attributes'].get('uidNumber', ['?'])[0]\n"
		       "    if r['login'] in %s:\n"
		       "        a['skip'] = 'left the studio'\n"
		       "    elif r['login'] in %s:\n"
		       "        a['user'] = {'first_name': 'bad\\x07'}\n"
		       "    else:\n"
		       "        a['user'] = {'last_name': 'N' + n}\n"
		       "    print(json.dumps(a), flush=True)\n",
		       exit_at_once ? "True" : "False", skip, bad);
	ck_assert_int_lt(
		snprintf(path, sizeof(path), "%s/transform.py", w->dir),
		(int)sizeof(path));
	ck_assert_int_eq(h_write_file(path, text, 0755), FT_OK);
	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert_int_lt(snprintf(conf, sizeof(conf),
				  "mapping.transform = %s\n"
				  "mapping.transform_attributes = uidNumber\n"
				  "mapping.transform_timeout = 10\n%s",
				  path, extra ? extra : ""),
			 (int)sizeof(conf));
	return conf;
}

static void
config(struct h_world *w, const char *extra)
{
	ck_assert_int_eq(h_world_config(w, extra), FT_OK);
}

static void
expect_run(struct h_world *w, const char *args, int code, struct h_cmd_out *r)
{
	ck_assert_int_eq(h_cmd(w, args, r), FT_OK);
	if (h_san_text(r->err))
		(void)fprintf(stderr, "%s:\n%s\n", args, r->err);
	ck_assert_msg(!h_san_text(r->err), "a sanitizer report in '%s'", args);
	if (r->code != code)
		(void)fprintf(stderr, "'%s':\nstdout:\n%s\nstderr:\n%s\n", args,
			      r->out, r->err);
	ck_assert_msg(r->code == code, "'%s' exited %d, expected %d", args,
		      r->code, code);
}

static void
expect(struct h_world *w, const char *args, int code)
{
	struct h_cmd_out r;

	expect_run(w, args, code, &r);
	h_cmd_clear(&r);
}

static json_t *
user(const struct h_world *w, const char *name)
{
	json_t *u = h_emu_user_row(w->emu, name);

	ck_assert_msg(u != NULL, "no ftrack user '%s'", name);
	return u;
}

static bool
is_active(const struct h_world *w, const char *name)
{
	json_t *u = user(w, name);
	bool yes = json_is_true(json_object_get(u, "is_active"));

	json_decref(u);
	return yes;
}

/* The field of the ftrack user name (a copy, caller frees). */
static char *
field(const struct h_world *w, const char *name, const char *key)
{
	json_t *u = user(w, name);
	const char *v = json_string_value(json_object_get(u, key));
	char *copy = v ? strdup(v) : NULL;

	json_decref(u);
	return copy;
}

/* "N" and the uidNumber of uid in LDAP. */
static void
want_last(const struct h_world *w, const char *uid, char *buf, size_t cap)
{
	char filter[64];
	char *v;

	(void)snprintf(filter, sizeof(filter), "(uid=%s)", uid);
	v = h_ldap_values(h_slapd_uri(w->slapd), filter, "uidNumber");
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_gt(strlen(v), 1);
	v[strcspn(v, "\n")] = '\0';
	(void)snprintf(buf, cap, "N%s", v);
	free(v);
}

static void
last_name_is_transformed(const struct h_world *w, const char *uid)
{
	char want[64];
	char *got = field(w, uid, "last_name");

	want_last(w, uid, want, sizeof(want));
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
}

static const char *
reason_of(const json_t *rep, const char *name)
{
	json_t *a = h_report_action(rep, name);

	ck_assert_msg(a != NULL, "no action about '%s'", name);
	return json_string_value(json_object_get(a, "reason"));
}

/* ---- the reconcile -------------------------------------------------------- */

START_TEST(test_reconcile_creates_transformed)
{
	struct h_world *w = world();

	config(w, transform(w, "['bob']", "['carol']", false,
			    "policy.reconcile_create = yes\n"));
	expect(w, "reconcile --apply", 0);
	last_name_is_transformed(w, "alice");
	last_name_is_transformed(w, "dave");
	/* bob is out of scope, carol cannot be used: neither created */
	ck_assert_int_eq(h_emu_named(w->emu, "bob"), 0);
	ck_assert_int_eq(h_emu_named(w->emu, "carol"), 0);
	ck_assert_int_eq(h_emu_people(w->emu), N_ENABLED - 2);
	h_world_stop(w);
}

END_TEST

/* Created without a transform first; then bob is skipped (a leaver,
 * under the guards) and carol's answer is bad (kept). */
START_TEST(test_reconcile_skip_is_leaver_bad_is_kept)
{
	struct h_world *w = world();
	struct h_cmd_out r;
	json_t *rep;

	config(w, "policy.reconcile_create = yes");
	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(h_emu_people(w->emu), N_ENABLED);
	/* a guard holds the leaver back */
	config(w, transform(w, "['bob']", "['carol']", false,
			    "policy.max_deactivate = 0\n"));
	expect(w, "reconcile --apply", 3);
	ck_assert(is_active(w, "bob"));
	/* without it bob leaves; carol stays, said why */
	config(w, transform(w, "['bob']", "['carol']", false, NULL));
	expect_run(w, "reconcile --apply", 0, &r);
	ck_assert_ptr_nonnull(strstr(r.err, "the transform failed"));
	h_cmd_clear(&r);
	ck_assert(!is_active(w, "bob"));
	ck_assert(is_active(w, "carol"));
	last_name_is_transformed(w, "alice");
	rep = h_report(w, "last-apply.json");
	ck_assert_ptr_nonnull(rep);
	ck_assert_msg(strstr(reason_of(rep, "carol"),
			     "kept: the transform failed:") != NULL,
		      "%s", reason_of(rep, "carol"));
	ck_assert_ptr_nonnull(
		strstr(reason_of(rep, "carol"), "control character"));
	json_decref(rep);
	h_world_stop(w);
}

END_TEST

START_TEST(test_reconcile_outage_writes_nothing)
{
	struct h_world *w = world();
	struct h_cmd_out r;
	json_t *before, *after;

	config(w, "policy.reconcile_create = yes");
	expect(w, "reconcile --apply", 0);
	config(w, transform(w, "[]", "[]", true, NULL));
	before = h_emu_snapshot(w->emu);
	ck_assert_ptr_nonnull(before);
	expect_run(w, "reconcile --apply", 1, &r);
	ck_assert_ptr_nonnull(strstr(r.err, "unable to transform"));
	h_cmd_clear(&r);
	after = h_emu_snapshot(w->emu);
	ck_assert_ptr_nonnull(after);
	ck_assert(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	h_world_stop(w);
}

END_TEST

/* ---- logins (sync) -------------------------------------------------------- */

START_TEST(test_sync_logins)
{
	struct h_world *w = world();
	struct h_cmd_out r;

	config(w, transform(w, "['bob']", "['carol']", false, NULL));
	expect_run(w, "sync alice bob carol", 1, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "alice: created"));
	ck_assert_ptr_nonnull(
		strstr(r.out, "bob: not-ldap: skipped by the transform: left "
			      "the studio"));
	ck_assert_ptr_nonnull(strstr(r.out, "carol: failed: the transform "
					    "failed"));
	h_cmd_clear(&r);
	last_name_is_transformed(w, "alice");
	ck_assert_int_eq(h_emu_named(w->emu, "bob"), 0);
	ck_assert_int_eq(h_emu_named(w->emu, "carol"), 0);
	h_world_stop(w);
}

END_TEST

START_TEST(test_sync_outage_retries)
{
	struct h_world *w = world();
	struct h_cmd_out r;

	config(w, transform(w, "[]", "[]", true, NULL));
	expect_run(w, "sync alice", 1, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "alice: retry:"));
	h_cmd_clear(&r);
	ck_assert_int_eq(h_emu_named(w->emu, "alice"), 0);
	h_world_stop(w);
}

END_TEST

/* ---- the daemon (run) ----------------------------------------------------- */

/* The h_fx world's transform: last name "N<uidNumber>", or (broken) a
 * program that exits at once. */
static void
fx_transform(bool broken)
{
	char path[PATH_MAX], text[1024], conf[PATH_MAX + 256];

	h_fx_fmt(path, sizeof(path), "%s/transform.py", h_fx.dir);
	h_fx_fmt(text, sizeof(text),
		 "#!/usr/bin/python3\n"
		 "import json, sys\n"
		 "if %s:\n"
		 "    sys.exit(3)\n"
		 "for line in sys.stdin:\n"
		 "    r = json.loads(line)\n"
		 "    n = r['attributes']['uidNumber'][0]\n"
		 "    print(json.dumps({'id': r['id'], 'login': r['login'],\n"
		 "          'user': {'last_name': 'N' + n}}), flush=True)\n",
		 broken ? "True" : "False");
	ck_assert_int_eq(h_write_file(path, text, 0755), FT_OK);
	ck_assert_int_eq(chmod(path, 0755), 0);
	h_fx_fmt(conf, sizeof(conf),
		 "mapping.transform = %s\n"
		 "mapping.transform_attributes = uidNumber\n",
		 path);
	h_fx_config(conf);
}

struct metric_wait {
	const char *sample;
	long long at_least;
};

static bool
metric_reached(void *arg)
{
	const struct metric_wait *m = arg;

	return h_metric(h_fx.state, m->sample) >= m->at_least;
}

/* One program for the daemon: logins provisioned through it. */
START_TEST(test_daemon_logins)
{
	static char own_rights[] = "itself, with its own rights";
	char want[64], *got;
	json_t *u;

	fx_transform(false);
	h_fx_daemon_start();
	/* said at start: no socket here, the daemon's own rights */
	h_fx_wait_or_fail(h_fx_log_has, own_rights,
			  "the start-up note on the transform");
	h_fx_login("alice");
	h_fx_login("bob");
	h_fx_wait_provisioned("alice");
	h_fx_wait_provisioned("bob");
	h_fx_daemon_stop();
	u = h_emu_user_row(h_fx_emu, "alice");
	ck_assert_ptr_nonnull(u);
	got = h_ldap_values(h_slapd_uri(h_fx_slapd), "(uid=alice)",
			    "uidNumber");
	ck_assert_ptr_nonnull(got);
	got[strcspn(got, "\n")] = '\0';
	h_fx_fmt(want, sizeof(want), "N%s", got);
	ck_assert_str_eq(json_string_value(json_object_get(u, "last_name")),
			 want);
	free(got);
	json_decref(u);
}

END_TEST

/* An outage: the login waits in the queue, the metrics and status say so;
 * mended, the retry provisions it. */
START_TEST(test_daemon_outage_waits)
{
	struct metric_wait m = {"transform_failing", 1};
	const char *const status[] = {"status", NULL};

	fx_transform(true);
	h_fx_daemon_start();
	h_fx_login("alice");
	h_fx_wait_or_fail(metric_reached, &m, "transform_failing >= 1");
	ck_assert(h_queued(h_fx.state, "alice"));
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	ck_assert_int_ge(h_metric(h_fx.state, "transform_outages_total"), 1);
	ck_assert_int_eq(h_fx_run_cmd(status, "status.out"), 0);
	ck_assert_int_eq(h_fx_out_count("status.out", "transform:       "
						      "FAILING: the last "),
			 1);
	/* the same path, now a working program: the retry provisions */
	fx_transform(false);
	h_fx_wait_provisioned("alice");
	h_fx_daemon_stop();
}

END_TEST

/* A program others can write: refused (said at start), never run; the
 * login waits in the queue. */
START_TEST(test_daemon_refused_program)
{
	static char refused[] = "[mapping] transform refused: ";
	static char retry[] = "the transform cannot be started";
	char path[PATH_MAX];

	fx_transform(false);
	h_fx_fmt(path, sizeof(path), "%s/transform.py", h_fx.dir);
	ck_assert_int_eq(chmod(path, 0757), 0);
	h_fx_daemon_start();
	h_fx_wait_or_fail(h_fx_log_has, refused, "the refusal at start");
	h_fx_login("alice");
	h_fx_wait_or_fail(h_fx_log_has, retry, "alice's retry");
	ck_assert(h_queued(h_fx.state, "alice"));
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	h_fx_daemon_stop();
}

END_TEST

Suite *
cmd_transform_suite(void)
{
	Suite *s = suite_create("cmd_transform");
	TCase *c = tcase_create("transform");
	TCase *d;

	tcase_add_unchecked_fixture(c, h_suite_setup, h_suite_teardown);
	tcase_set_timeout(c, 120);
	tcase_add_test(c, test_reconcile_creates_transformed);
	tcase_add_test(c, test_reconcile_skip_is_leaver_bad_is_kept);
	tcase_add_test(c, test_reconcile_outage_writes_nothing);
	tcase_add_test(c, test_sync_logins);
	tcase_add_test(c, test_sync_outage_retries);
	suite_add_tcase(s, c);
	d = tcase_create("daemon");
	tcase_add_unchecked_fixture(d, h_fx_servers_setup_people,
				    h_fx_servers_teardown);
	tcase_add_checked_fixture(d, h_fx_world_setup, h_fx_world_teardown);
	tcase_set_timeout(d, 120);
	tcase_add_test(d, test_daemon_logins);
	tcase_add_test(d, test_daemon_outage_waits);
	tcase_add_test(d, test_daemon_refused_program);
	suite_add_tcase(s, d);
	return s;
}
