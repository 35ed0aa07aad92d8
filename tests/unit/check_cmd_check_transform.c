/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd_check_transform.c: cmd_check_transform.c, the [mapping]
 * transform lines of `check`, called in process on a loaded config with a
 * real slapd (people.ldif), the emulator and transform programs written
 * by the tests (python3); stdout captured: the file rule (a program
 * others can write, a missing one: refused, never run), the note on whose
 * rights it runs with (no systemd socket here), the first SAMPLE entries
 * printed (changed, skipped, a bad answer), a program that exits before
 * answering, and a directory it cannot read (nothing to try it on).
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "ft_err.h"
#include "harness.h"
#include "ldap_src.h"
#include "transform.h"

Suite *cmd_check_transform_suite(void);

#define SAMPLE 5 /* entries cmd_check_transform gives the program */

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
 * A transform in the world's folder, as the cmd_transform suite's: `skip`
 * (a Python list of logins) are skipped, `bad` get a first name with a
 * control character, every other person's last name becomes
 * "N<uidNumber>"; exit_at_once: a program that exits before answering.
 * It appends a line to DIR/ran each time it starts.  The config names it
 * (extra after it).
 */
static void
transform(struct h_world *w, const char *skip, const char *bad,
	  bool exit_at_once, const char *extra)
{
	char path[PATH_MAX], text[2048], conf[PATH_MAX + 512];

	H_FMT(text,
	      "#!/usr/bin/python3\n"
	      "import json, sys\n"
	      "open('%s/ran', 'a').write('ran\\n')\n"
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
	      w->dir, exit_at_once ? "True" : "False", skip, bad);
	H_FMT(path, "%s/transform.py", w->dir);
	ck_assert_int_eq(h_write_file(path, text, 0755), FT_OK);
	ck_assert_int_eq(chmod(path, 0755), 0);
	H_FMT(conf,
	      "mapping.transform = %s\n"
	      "mapping.transform_attributes = uidNumber\n"
	      "mapping.transform_timeout = 10\n%s",
	      path, extra != NULL ? extra : "");
	ck_assert_int_eq(h_world_config(w, conf), FT_OK);
}

/* How many times the program started. */
static long
runs(const struct h_world *w)
{
	char path[PATH_MAX];
	long n;

	H_FMT(path, "%s/ran", w->dir);
	if (access(path, F_OK) != 0)
		return 0;
	n = h_file_count(path, "ran\n");
	ck_assert_int_ge(n, 0);
	return n;
}

/* cmd_check_transform on the world's config, stdout into out (cap). */
static bool
check(struct h_world *w, char *out, size_t cap)
{
	char cap_path[PATH_MAX], err[1024] = "";
	struct config *cfg = NULL;
	struct ldap_src *src = NULL;
	FILE *tmp;
	int saved;
	bool ok;
	long n;

	H_FMT(cap_path, "%s/stdout.txt", w->dir);
	ck_assert_msg(config_load(w->conf, &cfg, err, sizeof(err)) == FT_OK,
		      "config_load: %s", err);
	ck_assert_int_eq(ldap_src_new(cfg, &src), FT_OK);
	tmp = fopen(cap_path, "w+");
	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_eq(fflush(stdout), 0);
	saved = dup(1);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(tmp), 1), 0);
	ok = cmd_check_transform(cfg, src);
	(void)fflush(stdout);
	ck_assert_int_ge(dup2(saved, 1), 0);
	ck_assert_int_eq(close(saved), 0);
	ck_assert_int_eq(fclose(tmp), 0);
	ldap_src_free(src);
	config_free(cfg);
	n = h_read_into(cap_path, out, cap - 1);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	return ok;
}

static void
has(const char *out, const char *text)
{
	ck_assert_msg(strstr(out, text) != NULL, "'%s' not in:\n%s", text, out);
}

static void
has_not(const char *out, const char *text)
{
	ck_assert_msg(strstr(out, text) == NULL, "'%s' in:\n%s", text, out);
}

/* Occurrences of text in out. */
static int
count(const char *out, const char *text)
{
	int n = 0;

	for (const char *p = strstr(out, text); p != NULL;
	     p = strstr(p + 1, text))
		n++;
	return n;
}

/* Moved from the cmd_transform suite (then run as `check`). */
START_TEST(test_check_runs_it)
{
	struct h_world *w = world();
	char path[PATH_MAX], out[8192];

	transform(w, "['bob']", "[]", false, NULL);
	ck_assert(check(w, out, sizeof(out)));
	has(out, "transform: WARNING: no ");
	has(out, "with its own rights");
	has(out, "transform: 'alice': username 'alice'");
	has(out, "last name 'N");
	/* a program others can write is refused, and check says so */
	H_FMT(path, "%s/transform.py", w->dir);
	ck_assert_int_eq(chmod(path, 0777), 0);
	ck_assert(!check(w, out, sizeof(out)));
	has(out, "transform: FAILED: refused:");
	has(out, "writable by group or others");
	h_world_stop(w);
}

END_TEST

/*
 * The first SAMPLE entries only, each on a line: changed, skipped with the
 * program's reason, a bad answer FAILED with why (the check itself
 * passes: the program answered); the program ran once.
 */
START_TEST(test_sample_lines)
{
	struct h_world *w = world();
	char out[8192];

	transform(w, "['bob']", "['carol']", false, NULL);
	ck_assert(check(w, out, sizeof(out)));
	ck_assert_int_eq(count(out, "transform: '"), SAMPLE);
	has(out, "transform: 'bob': skipped: left the studio");
	has(out, "transform: 'carol': FAILED: ");
	has(out, "control character");
	has_not(out, "first name 'bad");
	has(out, "WARNING: no " TRANSFORM_SOCKET);
	ck_assert_int_eq(runs(w), 1);
	h_world_stop(w);
}

END_TEST

/* A program that exits before answering: FAILED, no entry printed. */
START_TEST(test_program_exits)
{
	struct h_world *w = world();
	char out[8192];

	transform(w, "[]", "[]", true, NULL);
	ck_assert(!check(w, out, sizeof(out)));
	has(out, "transform: FAILED: ");
	ck_assert_int_eq(count(out, "transform: '"), 0);
	ck_assert_int_ge(runs(w), 1);
	h_world_stop(w);
}

END_TEST

/* A missing program, or one in a folder others can write: refused by the
 * file rule, never started, no entry read. */
START_TEST(test_refused_never_run)
{
	struct h_world *w = world();
	char path[PATH_MAX], sub[PATH_MAX], out[8192], text[PATH_MAX + 512];

	transform(w, "[]", "[]", false, NULL);
	H_FMT(path, "%s/transform.py", w->dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert(!check(w, out, sizeof(out)));
	has(out, "transform: FAILED: refused:");
	ck_assert_int_eq(count(out, "transform: '"), 0);
	has_not(out, "WARNING");
	/* an open folder: the program inside is refused */
	H_FMT(sub, "%s/open", w->dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(chmod(sub, 0777), 0);
	H_FMT(path, "%s/open/t.py", w->dir);
	H_FMT(text, "#!/bin/sh\necho ran >>'%s/ran'\n", w->dir);
	ck_assert_int_eq(h_write_file(path, text, 0755), FT_OK);
	H_FMT(text, "mapping.transform = %s\n", path);
	ck_assert_int_eq(h_world_config(w, text), FT_OK);
	ck_assert(!check(w, out, sizeof(out)));
	has(out, "transform: FAILED: refused:");
	ck_assert_int_eq(runs(w), 0);
	h_world_stop(w);
}

END_TEST

/* The directory cannot be read: FAILED, nothing to try it on; the
 * program is not started. */
START_TEST(test_no_entries)
{
	struct h_world *w = world();
	char out[8192];

	transform(w, "[]", "[]", false, NULL);
	h_slapd_stop(w->slapd);
	w->slapd = NULL;
	ck_assert(!check(w, out, sizeof(out)));
	has(out, "transform: FAILED: no entries to try it on: ");
	ck_assert_int_eq(count(out, "transform: '"), 0);
	ck_assert_int_eq(runs(w), 0);
	h_world_stop(w);
}

END_TEST

Suite *
cmd_check_transform_suite(void)
{
	Suite *s = suite_create("cmd_check_transform");
	TCase *c = tcase_create("cmd_check_transform");

	tcase_add_unchecked_fixture(c, h_suite_setup, h_suite_teardown);
	tcase_set_timeout(c, 120);
	tcase_add_test(c, test_check_runs_it);
	tcase_add_test(c, test_sample_lines);
	tcase_add_test(c, test_program_exits);
	tcase_add_test(c, test_refused_never_run);
	tcase_add_test(c, test_no_entries);
	suite_add_tcase(s, c);
	return s;
}
