/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_hooks_exec.c: hooks_exec.c: one run of the on_change program (a
 * real shell script): its stdin, exit 0, a refusal, a signal, the
 * timeout, a file others may write, a missing file.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"
#include "hooks_exec.h"

Suite *hooks_exec_suite(void);

static char dir[64], prog[128], out[128];

static void
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/check_hooks_exec.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(prog, sizeof(prog), "%s/hook", dir);
	(void)snprintf(out, sizeof(out), "%s/out", dir);
}

static void
teardown(void)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The hook: a shell script with body (%s: the output file). */
static void
script(const char *body, mode_t mode)
{
	FILE *f = fopen(prog, "w");

	ck_assert_ptr_nonnull(f);
	(void)fprintf(f, "#!/bin/sh\nOUT='%s'\n%s\n", out, body);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(prog, mode), 0);
}

static long
out_text(char *buf, size_t cap)
{
	FILE *f = fopen(out, "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	(void)fclose(f);
	return (long)n;
}

static const char input[] = "{\"id\":\"a-0\"}\n{\"id\":\"a-1\"}\n";

START_TEST(test_taken)
{
	char why[256] = "", buf[256];

	script("cat >\"$OUT\"; echo \"PATH=$PATH HOME=${HOME-unset}\" >>\"$OUT\"",
	       0755);
	ck_assert_int_eq(hooks_exec_run(prog, input, strlen(input), 10, why,
					sizeof(why)),
			 FT_OK);
	ck_assert_int_gt(out_text(buf, sizeof(buf)), 0);
	ck_assert_int_eq(strncmp(buf, input, strlen(input)), 0);
	/* the minimal environment */
	ck_assert_ptr_nonnull(strstr(buf, "PATH=/usr/bin:/bin HOME=unset"));
}

END_TEST

START_TEST(test_refused)
{
	char why[256] = "";

	script("cat >/dev/null; echo 'nope' >&2; exit 3", 0755);
	ck_assert_int_eq(hooks_exec_run(prog, input, strlen(input), 10, why,
					sizeof(why)),
			 FT_E_DATA);
	ck_assert_str_eq(why, "exit status 3");
	/* one that does not read its input is judged by its status too */
	script("exit 0", 0755);
	ck_assert_int_eq(hooks_exec_run(prog, input, strlen(input), 10, why,
					sizeof(why)),
			 FT_OK);
	script("kill -9 $$", 0755);
	ck_assert_int_eq(hooks_exec_run(prog, input, strlen(input), 10, why,
					sizeof(why)),
			 FT_E_DATA);
	ck_assert_str_eq(why, "killed by signal 9");
}

END_TEST

START_TEST(test_timeout)
{
	char why[256] = "";

	script("exec sleep 300", 0755);
	ck_assert_int_eq(
		hooks_exec_run(prog, input, strlen(input), 1, why, sizeof(why)),
		FT_E_AGAIN);
	ck_assert_str_eq(why, "still running after 1 s: stopped");
}

END_TEST

START_TEST(test_file_rule)
{
	char why[256] = "";

	script("exit 0", 0775);
	ck_assert_int_eq(hooks_exec_run(prog, input, strlen(input), 10, why,
					sizeof(why)),
			 FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "writable by group or others"));
	(void)snprintf(prog, sizeof(prog), "%s/missing", dir);
	ck_assert_int_lt(hooks_exec_run(prog, input, strlen(input), 10, why,
					sizeof(why)),
			 0);
	ck_assert_ptr_nonnull(strstr(why, "missing"));
}

END_TEST

Suite *
hooks_exec_suite(void)
{
	Suite *s = suite_create("hooks_exec");
	TCase *tc = tcase_create("hooks_exec");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_taken);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_file_rule);
	suite_add_tcase(s, tc);
	return s;
}
