/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pamtest_logs.c: the pam suite's logging cases: what the module says
 * through pam_syslog, at which level, how often (one line per login at
 * most), and what `debug` and `quiet` change.  Read from a private
 * /dev/log (h_syslog_run, tests/lib/h_syslog.c).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "harness.h"
#include "pamtest_suite.h"

#define W pamtest_world

static char logbuf[65536];

#define LINES(prio, needle) h_syslog_count(logbuf, (prio), (needle))
#define ALL                 (-1)

struct log_run {
	const char *user;
	int n;         /* logins through the stack */
	int as_nobody; /* drop to uid/gid nobody first */
};

/* In the capturing child: n logins; 0 when each one succeeded. */
static int
log_fn(void *arg)
{
	const struct log_run *lr = arg;
	const struct h_pam_login l = {lr->user, NULL, NULL, NULL};
	int i, bad = 0;

	if (lr->as_nobody &&
	    (setresgid(PAMTEST_NOBODY, PAMTEST_NOBODY, PAMTEST_NOBODY) < 0 ||
	     setresuid(PAMTEST_NOBODY, PAMTEST_NOBODY, PAMTEST_NOBODY) < 0))
		return -1;
	for (i = 0; i < lr->n; i++)
		bad += h_pam_session(W.confdir, "ftest", &l, NULL) !=
		       PAM_SUCCESS;
	return bad;
}

/*
 * Capture the log of n logins of user with module arguments extra.
 * Returns 0, or 1 when this machine cannot run the capture (skipped).
 */
static int
capture(const char *extra, const char *user, int n, int as_nobody)
{
	struct log_run lr = {user, n, as_nobody};
	char args[512];
	int rc = -1, r;

	h_pam_args(&W, extra, args, sizeof(args));
	ck_assert_int_eq(h_pam_service(W.confdir, "ftest", W.module, args), 0);
	r = h_syslog_run(log_fn, &lr, &rc, logbuf, sizeof(logbuf));
	if (r == H_SYSLOG_UNSUPPORTED) {
		fprintf(stderr, "pam logs: no mount namespace here, skipped\n");
		return 1;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_msg(rc == 0, "%d logins failed; log:\n%s", rc, logbuf);
	return 0;
}

START_TEST(test_log_spooled_once)
{
	if (capture(NULL, "alice", 1, 0))
		return;
	ck_assert_msg(LINES(ALL, NULL) == 1, "log:\n%s", logbuf);
	ck_assert_int_eq(LINES(LOG_NOTICE, "pam_ftrack(ftest:session)"), 1);
	ck_assert_int_eq(LINES(LOG_NOTICE, "'alice'"), 1);
	ck_assert_int_eq(LINES(LOG_NOTICE, "spooled in"), 1);
	pamtest_assert_spooled("alice", "FTSYNC1\nuser=alice\nservice=ftest\n");
}

END_TEST

START_TEST(test_log_debug)
{
	int fd = h_pam_listen(W.sock, 0666);

	ck_assert_int_ge(fd, 0);
	if (capture(NULL, "alice", 1, 0))
		return;
	ck_assert_msg(LINES(ALL, NULL) == 0, "log:\n%s", logbuf);
	ck_assert_int_eq(capture("debug", "alice", 1, 0), 0);
	ck_assert_msg(LINES(ALL, NULL) == 1, "log:\n%s", logbuf);
	ck_assert_int_eq(LINES(LOG_DEBUG, "event for 'alice' sent to"), 1);
	ck_assert_int_eq(capture("debug", "root", 1, 0), 0);
	ck_assert_int_eq(LINES(LOG_DEBUG, "'root' skipped"), 1);
	ck_assert_int_eq(h_pam_drain(fd), 2);
	close(fd);
}

END_TEST

START_TEST(test_log_bad_args)
{
	int fd = h_pam_listen(W.sock, 0666);

	ck_assert_int_ge(fd, 0);
	if (capture("frobnicate min_uid=abc", "alice", 1, 0))
		return;
	ck_assert_msg(LINES(ALL, NULL) == 2, "log:\n%s", logbuf);
	ck_assert_int_eq(LINES(LOG_ERR, "'frobnicate'"), 1);
	ck_assert_int_eq(LINES(LOG_ERR, "'min_uid=abc'"), 1);
	ck_assert_int_eq(h_pam_drain(fd), 1);
	close(fd);
}

END_TEST

START_TEST(test_log_quiet)
{
	int fd;

	if (capture("quiet", "alice", 1, 0)) /* spooled, not a word */
		return;
	ck_assert_msg(LINES(ALL, NULL) == 0, "log:\n%s", logbuf);
	pamtest_assert_spooled("alice", "FTSYNC1\nuser=alice\nservice=ftest\n");
	ck_assert_int_eq(capture("quiet frobnicate", "alice", 1, 0), 0);
	ck_assert_int_eq(LINES(ALL, NULL), 1);
	ck_assert_int_eq(LINES(LOG_ERR, "'frobnicate'"), 1);
	ck_assert_int_eq(capture("quiet spool=/nonexistent", "alice", 1, 0), 0);
	ck_assert_int_eq(LINES(ALL, NULL), 1);
	ck_assert_int_eq(LINES(LOG_ERR, "unable to spool the event"), 1);
	fd = h_pam_listen(W.sock, 0666);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(capture("quiet debug", "alice", 1, 0), 0);
	ck_assert_int_eq(LINES(ALL, NULL), 0);
	close(fd);
}

END_TEST

/* A full queue: each spooled login says so once, at LOG_INFO only. */
START_TEST(test_log_busy)
{
	int fd = h_pam_listen(W.sock, 0666), spooled;

	ck_assert_int_ge(fd, 0);
	if (capture(NULL, "bob", 40, 0))
		return;
	spooled = LINES(LOG_INFO, "spooled in");
	ck_assert_int_ge(spooled, 1);
	ck_assert_int_eq(LINES(ALL, NULL), spooled);
	ck_assert_int_eq(h_pam_drain(fd) + spooled, 40);
	close(fd);
}

END_TEST

START_TEST(test_log_untrusted_socket)
{
	int fd = h_pam_listen(W.sock, 0666);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(chown(W.sock, PAMTEST_NOBODY, PAMTEST_NOBODY), 0);
	if (capture(NULL, "alice", 1, 0))
		return;
	ck_assert_msg(LINES(ALL, NULL) == 1, "log:\n%s", logbuf);
	ck_assert_int_eq(LINES(LOG_ERR, "not owned by root"), 1);
	ck_assert_int_eq(LINES(LOG_ERR, "spooled in"), 1);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	close(fd);
}

END_TEST

/* Not root and no daemon: dropped, said once at LOG_NOTICE. */
START_TEST(test_log_not_root)
{
	ck_assert_int_eq(chmod(W.dir, 0755), 0);
	ck_assert_int_eq(chmod(W.confdir, 0755), 0);
	if (capture(NULL, "carol", 1, 1))
		return;
	ck_assert_msg(LINES(ALL, NULL) == 1, "log:\n%s", logbuf);
	ck_assert_int_eq(LINES(LOG_NOTICE, "'carol'"), 1);
	ck_assert_int_eq(LINES(LOG_NOTICE, "event dropped (only root"), 1);
	ck_assert_int_eq(pamtest_count_entries(W.spool), 0);
}

END_TEST

/* A user name the codec refuses is not logged raw. */
START_TEST(test_log_bad_user)
{
	if (capture(NULL, "al\xffice", 1, 0))
		return;
	ck_assert_msg(LINES(ALL, NULL) == 1, "log:\n%s", logbuf);
	ck_assert_int_eq(LINES(LOG_NOTICE, "user name is not valid"), 1);
	ck_assert_ptr_null(strchr(logbuf, 0xff));
	ck_assert_int_eq(pamtest_count_entries(W.spool), 0);
}

END_TEST

/*
 * A user name the codec takes (valid UTF-8, no control character) but
 * that holds a bidi override is logged escaped (the one cleaner,
 * include/ft_clean.h); the event itself carries the name unchanged.
 */
START_TEST(test_log_bidi_user)
{
	if (capture(NULL, "evil\xe2\x80\xaegpj.exe", 1, 0))
		return;
	ck_assert_msg(LINES(ALL, NULL) == 1, "log:\n%s", logbuf);
	ck_assert_int_eq(LINES(LOG_NOTICE, "'evil\\u202egpj.exe'"), 1);
	ck_assert_msg(strstr(logbuf, "\xe2\x80\xae") == NULL, "raw U+202E: %s",
		      logbuf);
	pamtest_assert_spooled("evil\xe2\x80\xaegpj.exe",
			       "FTSYNC1\nuser=evil\xe2\x80\xaegpj.exe\n"
			       "service=ftest\n");
}

END_TEST

TCase *
pamtest_logs_tcase(void)
{
	TCase *tc = tcase_create("logs");

	tcase_add_checked_fixture(tc, pamtest_world_setup,
				  pamtest_world_teardown);
	tcase_add_test(tc, test_log_spooled_once);
	tcase_add_test(tc, test_log_debug);
	tcase_add_test(tc, test_log_bad_args);
	tcase_add_test(tc, test_log_quiet);
	tcase_add_test(tc, test_log_busy);
	tcase_add_test(tc, test_log_untrusted_socket);
	tcase_add_test(tc, test_log_not_root);
	tcase_add_test(tc, test_log_bad_user);
	tcase_add_test(tc, test_log_bidi_user);
	return tc;
}
