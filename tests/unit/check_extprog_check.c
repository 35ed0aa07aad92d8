/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_extprog_check.c: extprog_check.c, the file rule of external
 * programs, on real files in a fresh folder: the file and every folder
 * above it owned by root, neither writable by group or others (root's
 * sticky folder aside), a regular executable file, an absolute path;
 * links judged by what they resolve to, and the resolved form given back.
 */
#include <check.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extprog.h"
#include "extprog_int.h"
#include "ft_err.h"
#include "harness.h"

Suite *extprog_check_suite(void);

static char *dir;
static char why[EXTPROG_WHY_MAX];

static void
setup(void)
{
	dir = h_tmpdir();
	ck_assert_ptr_nonnull(dir);
	why[0] = '\0';
}

static void
teardown(void)
{
	h_rmtree(dir);
	free(dir);
	dir = NULL;
}

/* Write an executable program `name` into dir (mode), return its path
 * (static buffer). */
static const char *
prog(const char *name, const char *text, mode_t mode)
{
	static char path[PATH_MAX];

	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", dir, name),
			 (int)sizeof(path));
	ck_assert_int_eq(h_write_file(path, text, 0700), FT_OK);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static const char ok_text[] = "#!/bin/sh\nexit 0\n";

/* ---- extprog_check ------------------------------------------------------ */

START_TEST(test_check_good)
{
	const char *p = prog("good", ok_text, 0755);

	ck_assert_int_eq(extprog_check(p, why, sizeof(why)), FT_OK);
}

END_TEST

START_TEST(test_check_file_writable)
{
	const char *p = prog("ww", ok_text, 0757);

	ck_assert_int_eq(extprog_check(p, why, sizeof(why)), FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "writable by group or others"));
	ck_assert_ptr_nonnull(strstr(why, "/ww'"));
	p = prog("gw", ok_text, 0775);
	ck_assert_int_eq(extprog_check(p, why, sizeof(why)), FT_E_PERM);
}

END_TEST

START_TEST(test_check_folder_writable)
{
	char sub[PATH_MAX / 2], path[PATH_MAX];

	(void)snprintf(sub, sizeof(sub), "%s/open", dir);
	(void)snprintf(path, sizeof(path), "%s/prog", sub);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_eq(h_write_file(path, ok_text, 0755), FT_OK);
	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert_int_eq(extprog_check(path, why, sizeof(why)), FT_OK);
	ck_assert_int_eq(chmod(sub, 0777), 0);
	ck_assert_int_eq(extprog_check(path, why, sizeof(why)), FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "/open' is writable"));
	/* group-writable is refused too; root's sticky folder is not */
	ck_assert_int_eq(chmod(sub, 0775), 0);
	ck_assert_int_eq(extprog_check(path, why, sizeof(why)), FT_E_PERM);
	ck_assert_int_eq(chmod(sub, 01777), 0);
	ck_assert_int_eq(extprog_check(path, why, sizeof(why)),
			 getuid() == 0 ? FT_OK : FT_E_PERM);
}

END_TEST

START_TEST(test_check_owner)
{
	const char *p = prog("theirs", ok_text, 0755);

	if (getuid() != 0)
		return; /* only root can give a file away */
	ck_assert_int_eq(chown(p, 4242, (gid_t)-1), 0);
	ck_assert_int_eq(extprog_check(p, why, sizeof(why)), FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "owned by uid 4242"));
	ck_assert_int_eq(chown(p, 0, (gid_t)-1), 0);
	ck_assert_int_eq(chown(dir, 4242, (gid_t)-1), 0);
	ck_assert_int_eq(extprog_check(p, why, sizeof(why)), FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "owned by uid 4242"));
	ck_assert_int_eq(chown(dir, 0, (gid_t)-1), 0);
}

END_TEST

START_TEST(test_check_other)
{
	char link[PATH_MAX];
	const char *p;

	ck_assert_int_eq(extprog_check("relative/prog", why, sizeof(why)),
			 FT_E_INVAL);
	ck_assert_int_eq(extprog_check("/nonexistent/prog", why, sizeof(why)),
			 FT_E_IO);
	ck_assert_ptr_nonnull(strstr(why, "/nonexistent/prog"));
	p = prog("noexec", ok_text, 0644);
	ck_assert_int_eq(extprog_check(p, why, sizeof(why)), FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "not executable"));
	ck_assert_int_eq(extprog_check(dir, why, sizeof(why)), FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "not a regular file"));
	/* a link is judged by what it resolves to */
	p = prog("target", ok_text, 0757);
	(void)snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(symlink(p, link), 0);
	ck_assert_int_eq(extprog_check(link, why, sizeof(why)), FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "/target' is writable"));
}

END_TEST

/* No path, an empty one: not absolute, and the reason says so. */
START_TEST(test_check_no_path)
{
	ck_assert_int_eq(extprog_check(NULL, why, sizeof(why)), FT_E_INVAL);
	ck_assert_str_eq(why, "'' is not an absolute path");
	ck_assert_int_eq(extprog_check("", why, sizeof(why)), FT_E_INVAL);
	ck_assert_str_eq(why, "'' is not an absolute path");
	ck_assert_int_eq(extprog_check("./x", why, sizeof(why)), FT_E_INVAL);
	ck_assert_str_eq(why, "'./x' is not an absolute path");
}

END_TEST

/* The owner's execute bit is what counts: group or others' is not. */
START_TEST(test_check_exec_bits)
{
	const char *p = prog("uonly", ok_text, 0700);

	ck_assert_int_eq(extprog_check(p, why, sizeof(why)), FT_OK);
	p = prog("uxonly", ok_text, 0100);
	ck_assert_int_eq(extprog_check(p, why, sizeof(why)), FT_OK);
	p = prog("gxonly", ok_text, 0655);
	ck_assert_int_eq(extprog_check(p, why, sizeof(why)), FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "/gxonly' is not executable"));
}

END_TEST

/* The sticky exception is for folders only, never a file; a sticky
 * folder someone else owns is refused for its owner. */
START_TEST(test_check_sticky_only_root_folders)
{
	char sub[PATH_MAX / 2], path[PATH_MAX];
	const char *p = prog("sticky", ok_text, 01757);

	ck_assert_int_eq(extprog_check(p, why, sizeof(why)), FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "/sticky' is writable"));
	if (getuid() != 0)
		return; /* only root can give a folder away */
	(void)snprintf(sub, sizeof(sub), "%s/theirs", dir);
	(void)snprintf(path, sizeof(path), "%s/prog", sub);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_eq(h_write_file(path, ok_text, 0755), FT_OK);
	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert_int_eq(chmod(sub, 01777), 0);
	ck_assert_int_eq(extprog_check(path, why, sizeof(why)), FT_OK);
	ck_assert_int_eq(chown(sub, 4242, (gid_t)-1), 0);
	ck_assert_int_eq(extprog_check(path, why, sizeof(why)), FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "/theirs' is owned by uid 4242"));
}

END_TEST

/* EXTPROG_ACCOUNT may own the file and its folders, but its sticky
 * folder is no exception (root's only).  Runs where the account exists. */
START_TEST(test_check_account_owner)
{
	char sub[PATH_MAX / 2], path[PATH_MAX];
	struct passwd *pw = getpwnam(EXTPROG_ACCOUNT);

	if (getuid() != 0 || pw == NULL)
		return; /* no account here, or no right to give files away */
	(void)snprintf(sub, sizeof(sub), "%s/acct", dir);
	(void)snprintf(path, sizeof(path), "%s/prog", sub);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_eq(h_write_file(path, ok_text, 0755), FT_OK);
	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert_int_eq(chown(path, pw->pw_uid, (gid_t)-1), 0);
	ck_assert_int_eq(chown(sub, pw->pw_uid, (gid_t)-1), 0);
	ck_assert_int_eq(extprog_check(path, why, sizeof(why)), FT_OK);
	ck_assert_int_eq(chmod(sub, 01777), 0);
	ck_assert_int_eq(extprog_check(path, why, sizeof(why)), FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "/acct' is writable"));
}

END_TEST

/* A device, a link to nothing, a path longer than any path. */
START_TEST(test_check_not_a_program)
{
	char link[PATH_MAX], *longp;
	size_t i;

	ck_assert_int_eq(extprog_check("/dev/null", why, sizeof(why)),
			 FT_E_PERM);
	ck_assert_str_eq(why, "'/dev/null' is not a regular file");
	(void)snprintf(link, sizeof(link), "%s/dangling", dir);
	ck_assert_int_eq(symlink("/nonexistent/prog", link), 0);
	ck_assert_int_eq(extprog_check(link, why, sizeof(why)), FT_E_IO);
	ck_assert_ptr_nonnull(strstr(why, "unable to resolve '"));
	ck_assert_ptr_nonnull(strstr(why, "/dangling'"));
	longp = malloc(PATH_MAX + 2);
	ck_assert_ptr_nonnull(longp);
	for (i = 0; i < PATH_MAX + 1; i++)
		longp[i] = i % 64 == 0 ? '/' : 'a';
	longp[PATH_MAX + 1] = '\0';
	ck_assert_int_eq(extprog_check(longp, why, sizeof(why)), FT_E_IO);
	/* the reason would not hold the path: said so, within cap */
	ck_assert_str_eq(why, "a path is over its length limit");
	free(longp);
}

END_TEST

/* A reason longer than its room: the fixed sentence, never a cut path. */
START_TEST(test_check_why_bounded)
{
	const char *p = prog("noexec-with-a-rather-long-name", ok_text, 0644);
	char small[40];

	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(extprog_check(p, small, sizeof(small)), FT_E_PERM);
	ck_assert_str_eq(small, "a path is over its length limit");
}

END_TEST

/* ---- extprog_resolve ---------------------------------------------------- */

/* The form that is run: links resolved, "." and ".." gone. */
START_TEST(test_resolve_real)
{
	char real[PATH_MAX], base[PATH_MAX], link[PATH_MAX], dotted[PATH_MAX];
	char want[PATH_MAX + 64];
	const char *p = prog("target", ok_text, 0755);

	ck_assert_ptr_nonnull(realpath(dir, base));
	(void)snprintf(want, sizeof(want), "%s/target", base);
	(void)snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(symlink(p, link), 0);
	ck_assert_int_eq(extprog_resolve(link, real, why, sizeof(why)), FT_OK);
	ck_assert_str_eq(real, want);
	(void)snprintf(dotted, sizeof(dotted), "%s/./../%s/target", dir,
		       strrchr(dir, '/') + 1);
	ck_assert_int_eq(extprog_resolve(dotted, real, why, sizeof(why)),
			 FT_OK);
	ck_assert_str_eq(real, want);
	/* a refusal names the resolved file, not the link */
	ck_assert_int_eq(chmod(p, 0775), 0);
	ck_assert_int_eq(extprog_resolve(link, real, why, sizeof(why)),
			 FT_E_PERM);
	(void)snprintf(want, sizeof(want),
		       "'%s/target' is writable by group or others", base);
	ck_assert_str_eq(why, want);
}

END_TEST

/* A link that leads through a writable folder is refused there. */
START_TEST(test_resolve_link_into_open_folder)
{
	char sub[PATH_MAX / 2], path[PATH_MAX], link[PATH_MAX], real[PATH_MAX];

	(void)snprintf(sub, sizeof(sub), "%s/open", dir);
	(void)snprintf(path, sizeof(path), "%s/prog", sub);
	(void)snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_eq(h_write_file(path, ok_text, 0755), FT_OK);
	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert_int_eq(chmod(sub, 0777), 0);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(extprog_resolve(link, real, why, sizeof(why)),
			 FT_E_PERM);
	ck_assert_ptr_nonnull(strstr(why, "/open' is writable"));
}

END_TEST

Suite *
extprog_check_suite(void)
{
	Suite *s = suite_create("extprog_check");
	TCase *c = tcase_create("check");
	TCase *r = tcase_create("resolve");

	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, test_check_good);
	tcase_add_test(c, test_check_file_writable);
	tcase_add_test(c, test_check_folder_writable);
	tcase_add_test(c, test_check_owner);
	tcase_add_test(c, test_check_other);
	tcase_add_test(c, test_check_no_path);
	tcase_add_test(c, test_check_exec_bits);
	tcase_add_test(c, test_check_sticky_only_root_folders);
	tcase_add_test(c, test_check_account_owner);
	tcase_add_test(c, test_check_not_a_program);
	tcase_add_test(c, test_check_why_bounded);
	suite_add_tcase(s, c);
	tcase_add_checked_fixture(r, setup, teardown);
	tcase_add_test(r, test_resolve_real);
	tcase_add_test(r, test_resolve_link_into_open_folder);
	suite_add_tcase(s, r);
	return s;
}
