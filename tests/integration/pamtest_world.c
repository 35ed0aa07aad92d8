/* SPDX-License-Identifier: Apache-2.0 */
/* pamtest_world.c: the shared fixture of the pam suite (see .h). */
#include <dirent.h>
#include <security/pam_appl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_proto.h"
#include "pamtest_suite.h"

struct h_pam_env pamtest_world;

void
pamtest_world_setup(void)
{
	ck_assert_msg(geteuid() == 0, "the pam suite runs as root");
	ck_assert_msg(h_pam_env_init(&pamtest_world, NULL) == 0,
		      "unable to set up a PAM world for %s",
		      pamtest_world.module);
}

void
pamtest_world_teardown(void)
{
	h_pam_env_fini(&pamtest_world);
}

int
pamtest_login2(const char *extra, const struct h_pam_login *l)
{
	const struct h_pam_env *e = &pamtest_world;
	char args[1024];
	int rc_close = -1;

	h_pam_args(e, extra, args, sizeof(args));
	ck_assert_int_eq(h_pam_service(e->confdir, "ftest", e->module, args),
			 0);
	ck_assert_int_eq(h_pam_session(e->confdir, "ftest", l, &rc_close),
			 PAM_SUCCESS);
	ck_assert_int_eq(rc_close, PAM_SUCCESS);
	return h_pam_call(e, "pam_sm_open_session", l, args);
}

void
pamtest_assert_spooled(const char *user, const char *msg)
{
	char path[700], buf[2048];
	struct ft_event ev;
	struct stat st;
	long n;

	h_pam_spool_path(&pamtest_world, user, path, sizeof(path));
	ck_assert_msg(lstat(path, &st) == 0, "no spool file %s", path);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	n = h_read_into(path, buf, sizeof(buf));
	ck_assert_int_eq(n, (long)strlen(msg));
	ck_assert(memcmp(buf, msg, (size_t)n) == 0);
	ck_assert_int_eq(ft_event_decode(buf, (size_t)n, &ev), 0);
	ck_assert_str_eq(ev.user, user);
}

void
pamtest_assert_not_spooled(const char *user)
{
	char path[700];
	struct stat st;

	h_pam_spool_path(&pamtest_world, user, path, sizeof(path));
	ck_assert_msg(lstat(path, &st) < 0, "unexpected spool file %s", path);
}

void
pamtest_unspool(const char *user)
{
	char path[700];

	h_pam_spool_path(&pamtest_world, user, path, sizeof(path));
	ck_assert_msg(unlink(path) == 0, "no spool file %s", path);
}

int
pamtest_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	/* readdir is thread-safe on a DIR of one's own (glibc) */
	/* cppcheck-suppress readdirCalled */
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 &&
		     strcmp(de->d_name, "..") != 0;
	(void)closedir(d);
	return n;
}
