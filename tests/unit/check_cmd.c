/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd.c: what every command does first (cmd.c): the config with its
 * file:line error, the usage of a command without arguments, and becoming
 * the owner of state_dir when run as root.
 */
#include <check.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "ft_err.h"
#include "harness.h"

Suite *cmd_suite(void);

static char dir[64], cfgpath[128], state[128];

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

/* A valid config with extra appended to [daemon]. */
static void
write_cfg(const char *extra)
{
	char text[2048], secret[160];

	(void)snprintf(secret, sizeof(secret), "%s/key", dir);
	write_file(secret, "k3y\n", 0600);
	(void)snprintf(text, sizeof(text),
		       "[ldap]\nuri = ldap://127.0.0.1:1\n"
		       "search_base = dc=example,dc=com\n"
		       "[ftrack]\nserver = https://ftrack.example.com\n"
		       "api_user = sync\napi_key_file = %s\n"
		       "[daemon]\nstate_dir = %s\nlog_target = stderr\n%s\n",
		       secret, state, extra);
	write_file(cfgpath, text, 0644);
}

static void
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/check_cmd.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	(void)snprintf(cfgpath, sizeof(cfgpath), "%s/ftrack-syncd.conf", dir);
	(void)snprintf(state, sizeof(state), "%s/state", dir);
	ck_assert_int_eq(mkdir(state, 0700), 0);
}

static void
teardown(void)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Run f with stderr sent to a temp file; what it wrote, in buf. */
static int
call(void *f)
{
	return (*(int (**)(void))f)();
}

static int
capture(int (*f)(void), char *buf, size_t len)
{
	int code = -1;

	ck_assert_int_eq(h_capture(2, call, &f, buf, len, &code), FT_OK);
	return code;
}

static struct config *opened;

static int
open_it(void)
{
	opened = NULL;
	return cmd_open(cfgpath, true, &opened);
}

START_TEST(test_open_ok)
{
	char out[1024];

	write_cfg("");
	ck_assert_int_eq(capture(open_it, out, sizeof(out)), EXIT_OK);
	ck_assert_ptr_nonnull(opened);
	ck_assert_str_eq(opened->ftrack.api_key, "k3y");
	ck_assert_str_eq(opened->daemon.state_dir, state);
	ck_assert_str_eq(out, "");
	config_free(opened);
}

END_TEST

START_TEST(test_open_bad_config)
{
	char out[1024], want[256];

	write_cfg("nonsense = 1");
	ck_assert_int_eq(capture(open_it, out, sizeof(out)), EXIT_USAGE);
	ck_assert_ptr_null(opened);
	/* the error names the file and the line */
	(void)snprintf(want, sizeof(want), "ftrack-syncd: %s:11: ", cfgpath);
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "got '%s'", out);
	ck_assert_ptr_nonnull(strstr(out, "nonsense"));
	/* no file at all */
	(void)unlink(cfgpath);
	ck_assert_int_eq(capture(open_it, out, sizeof(out)), EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(out, cfgpath));
}

END_TEST

static int noargs_argc;

static int
open_noargs(void)
{
	char name[] = "status", extra[] = "extra";
	char *argv[] = {name, extra, NULL};

	opened = NULL;
	return cmd_open_noargs(noargs_argc, argv, cfgpath, true, &opened);
}

START_TEST(test_open_noargs)
{
	char out[1024];

	write_cfg("");
	noargs_argc = 2;
	ck_assert_int_eq(capture(open_noargs, out, sizeof(out)), EXIT_USAGE);
	ck_assert_str_eq(out, "usage: ftrack-syncd [-c FILE] status\n");
	ck_assert_ptr_null(opened);
	noargs_argc = 1;
	ck_assert_int_eq(capture(open_noargs, out, sizeof(out)), EXIT_OK);
	ck_assert_ptr_nonnull(opened);
	config_free(opened);
}

END_TEST

/*
 * As root, with state_dir owned by another account: become it, for good.
 * In a child of its own, so that the fixture can still clean up as root.
 */
START_TEST(test_become_owner)
{
	int status = -1;
	pid_t pid;

	if (geteuid() != 0)
		return; /* only root changes account */
	write_cfg("");
	ck_assert_int_eq(chown(state, 65534, 65534), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char out[1024];
		int code = capture(open_it, out, sizeof(out));
		bool ok = code == EXIT_OK && geteuid() == 65534 &&
			  getegid() == 65534 && getuid() == 65534 &&
			  setuid(0) != 0; /* no way back */

		config_free(opened);
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

END_TEST

/*
 * Every command holds the secrets once the config is read (and libcurl
 * and libldap keep copies in buffers we cannot wipe): cmd_open turns core
 * dumps off, both ways: RLIMIT_CORE 0 (soft and hard, inherited by the
 * reconcile child) and not dumpable (which also closes /proc/PID/mem and
 * ptrace to other processes of the same uid).  In a child of its own, as
 * a process that could dump before; also after becoming another account
 * (the kernel resets "dumpable" when the uid changes).
 */
START_TEST(test_open_no_core_dumps)
{
	int i, status = -1;
	pid_t pid;

	write_cfg("");
	for (i = 0; i < 2; i++) {
		if (i == 1 && geteuid() != 0)
			break; /* only root changes account */
		if (i == 1)
			ck_assert_int_eq(chown(state, 65534, 65534), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct rlimit rl = {1 << 20, RLIM_INFINITY};
			char out[1024];
			bool ok;

			ok = setrlimit(RLIMIT_CORE, &rl) == 0 &&
			     prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0 &&
			     prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1;
			ok = ok &&
			     capture(open_it, out, sizeof(out)) == EXIT_OK;
			ok = ok && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 &&
			     getrlimit(RLIMIT_CORE, &rl) == 0 &&
			     rl.rlim_cur == 0 && rl.rlim_max == 0;
			config_free(opened);
			_exit(ok ? 0 : 1);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status));
		ck_assert_msg(WEXITSTATUS(status) == 0,
			      "core dumps still on after cmd_open (case %d)",
			      i);
	}
}

END_TEST

/* A root-owned state_dir, or one not there: stay who we are. */
START_TEST(test_become_nobody_else)
{
	uid_t me = geteuid();
	struct config *cfg = NULL;
	char out[1024];

	write_cfg("");
	ck_assert_int_eq(capture(open_it, out, sizeof(out)), EXIT_OK);
	cfg = opened;
	ck_assert_uint_eq(geteuid(), me);
	ck_assert_int_eq(cmd_become_daemon_user(cfg), 0);
	ck_assert_int_eq(rmdir(state), 0);
	ck_assert_int_eq(cmd_become_daemon_user(cfg), 0);
	ck_assert_uint_eq(geteuid(), me);
	config_free(cfg);
}

END_TEST

Suite *
cmd_suite(void)
{
	Suite *s = suite_create("cmd");
	TCase *tc = tcase_create("cmd");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_ok);
	tcase_add_test(tc, test_open_bad_config);
	tcase_add_test(tc, test_open_noargs);
	tcase_add_test(tc, test_become_owner);
	tcase_add_test(tc, test_become_nobody_else);
	tcase_add_test(tc, test_open_no_core_dumps);
	suite_add_tcase(s, tc);
	return s;
}
