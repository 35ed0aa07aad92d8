/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pamtest_alone.c: the pam suite's case of a session stack that holds
 * only pam_ftrack (issue 12 item 6).  libpam turns a stack whose every
 * module answered PAM_IGNORE into PAM_PERM_DENIED, so on each path
 * (sent, spooled, dropped as root and as a user, skipped, bad arguments)
 * pam_open_session and pam_close_session must still succeed, under
 * `required` and `optional`, and the module must still send or spool
 * exactly what it did before.
 */
#include <security/pam_appl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pamtest_suite.h"

#define W      pamtest_world
#define NOBODY PAMTEST_NOBODY
#define SVC    "alone"

static const char *const controls[] = {"required", "optional"};

#define NCONTROLS (sizeof(controls) / sizeof(controls[0]))

/* The steps of one login, in the order run_alone takes them. */
static const char *const steps[] = {
	"",
	"pam_open_session",
	"pam_close_session after it",
	"pam_close_session alone (no open_session on that handle)",
	"pam_sm_open_session",
	"pam_sm_close_session",
	"pam_start_confdir",
};

#define STEP_START 6

#define BARE(u)                                                                \
	{                                                                      \
		(u), NULL, NULL, NULL                                          \
	}

static const struct h_pam_login alice = BARE("alice");

static int
listen_sock(void)
{
	int fd = h_pam_listen(W.sock, 0666);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/*
 * One login of l through a stack of only `session control pam_ftrack
 * args` (the stack's open and close on one handle, a close on a handle
 * of its own), then both session entry points called directly.  Each
 * must answer PAM_SUCCESS.  Returns 0, or the failed step (index in
 * steps[]) with its code in *ret_code.  Asserts nothing: it also runs in
 * a child that has dropped root.
 */
static int
run_alone(const char *args, const struct h_pam_login *l, int *ret_code)
{
	pam_handle_t *pamh = NULL;
	int r, rc;

	*ret_code = -1;
	if (h_pam_start(W.confdir, SVC, l, &pamh) != PAM_SUCCESS)
		return STEP_START;
	r = pam_open_session(pamh, 0);
	rc = pam_close_session(pamh, 0);
	(void)pam_end(pamh, r);
	if (r != PAM_SUCCESS || rc != PAM_SUCCESS) {
		*ret_code = r != PAM_SUCCESS ? r : rc;
		return r != PAM_SUCCESS ? 1 : 2;
	}
	if (h_pam_start(W.confdir, SVC, l, &pamh) != PAM_SUCCESS)
		return STEP_START;
	rc = pam_close_session(pamh, 0);
	(void)pam_end(pamh, rc);
	if (rc != PAM_SUCCESS) {
		*ret_code = rc;
		return 3;
	}
	r = h_pam_call(&W, "pam_sm_open_session", l, args);
	if (r != PAM_SUCCESS) {
		*ret_code = r;
		return 4;
	}
	rc = h_pam_call(&W, "pam_sm_close_session", l, args);
	if (rc != PAM_SUCCESS) {
		*ret_code = rc;
		return 5;
	}
	return 0;
}

static void
write_alone(const char *control, const char *args)
{
	ck_assert_int_eq(h_pam_service_alone(W.confdir, SVC, "session", control,
					     W.module, args),
			 0);
}

/*
 * Assert that a login of l with module arguments extra succeeds through
 * a stack of only pam_ftrack, under each control.  what names the path.
 */
static void
assert_alone(const char *what, const char *extra, const struct h_pam_login *l)
{
	char args[1024];
	size_t i;
	int step, code;

	h_pam_args(&W, extra, args, sizeof(args));
	for (i = 0; i < NCONTROLS; i++) {
		write_alone(controls[i], args);
		step = run_alone(args, l, &code);
		ck_assert_msg(
			step == 0,
			"%s, 'session %s pam_ftrack.so' alone: %s answered %d (%s), not PAM_SUCCESS",
			what, controls[i], steps[step], code,
			code == PAM_PERM_DENIED ? "PAM_PERM_DENIED"
			: code == PAM_IGNORE    ? "PAM_IGNORE"
						: "?");
	}
}

/* The same as assert_alone, run by a child as uid and gid nobody. */
static void
assert_alone_as_nobody(const char *what, const char *extra,
		       const struct h_pam_login *l)
{
	char args[1024];
	size_t i;
	int status = -1;
	pid_t pid;

	ck_assert_int_eq(chmod(W.dir, 0755), 0);
	ck_assert_int_eq(chmod(W.confdir, 0755), 0);
	h_pam_args(&W, extra, args, sizeof(args));
	for (i = 0; i < NCONTROLS; i++) {
		write_alone(controls[i], args);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			int code;

			if (setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
			    setresuid(NOBODY, NOBODY, NOBODY) < 0)
				_exit(100);
			_exit(run_alone(args, l, &code));
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status), "child status %d", status);
		ck_assert_msg(
			WEXITSTATUS(status) == 0,
			"%s (as nobody), 'session %s pam_ftrack.so' alone: %s did not answer PAM_SUCCESS",
			what, controls[i],
			WEXITSTATUS(status) <= STEP_START
				? steps[WEXITSTATUS(status)]
				: "setresuid");
	}
}

/* Per control: the stack's open and the direct open each send one. */
#define EVENTS_PER_LOGIN (2 * (int)NCONTROLS)

START_TEST(test_alone_sent)
{
	struct h_pam_dgram d;
	int fd = listen_sock(), i;

	assert_alone("sent", NULL, &alice);
	for (i = 0; i < EVENTS_PER_LOGIN; i++) {
		ck_assert_int_eq(h_pam_recv(fd, 2000, &d), 1);
		ck_assert(d.decoded);
		ck_assert_str_eq(d.ev.user, "alice");
		ck_assert_int_eq(d.cred.uid, 0);
	}
	ck_assert_int_eq(h_pam_drain(fd), 0); /* close sends nothing */
	pamtest_assert_not_spooled("alice");
	close(fd);
}

END_TEST

START_TEST(test_alone_spooled)
{
	/* no socket: each open spools (the same file, rewritten) */
	assert_alone("spooled", NULL, &alice);
	pamtest_assert_spooled("alice", "FTSYNC1\nuser=alice\nservice=ftest\n");
	ck_assert_int_eq(pamtest_count_entries(W.spool), 1);
}

END_TEST

START_TEST(test_alone_dropped)
{
	char extra[160];

	/* no socket, and a spool folder that is not there: event lost */
	snprintf(extra, sizeof(extra), "spool=%s/missing", W.dir);
	assert_alone("dropped (no spool)", extra, &alice);
	ck_assert_int_eq(pamtest_count_entries(W.spool), 0);
	/* not root: no spooling at all */
	assert_alone_as_nobody("dropped (not root)", NULL, &alice);
	ck_assert_int_eq(pamtest_count_entries(W.spool), 0);
}

END_TEST

START_TEST(test_alone_sent_as_user)
{
	struct h_pam_dgram d;
	int fd = listen_sock(), i;

	assert_alone_as_nobody("sent (not root)", NULL, &alice);
	for (i = 0; i < EVENTS_PER_LOGIN; i++) {
		ck_assert_int_eq(h_pam_recv(fd, 2000, &d), 1);
		ck_assert(d.has_cred);
		ck_assert_int_eq(d.cred.uid, NOBODY);
	}
	ck_assert_int_eq(h_pam_drain(fd), 0);
	close(fd);
}

END_TEST

START_TEST(test_alone_skipped)
{
	static const struct h_pam_login root = BARE("root");
	static const struct h_pam_login daemon = BARE("daemon"); /* uid 1 */
	static const struct h_pam_login bad = BARE("al\xffice");
	static const struct h_pam_login nouser = BARE(NULL);
	int fd = listen_sock();

	assert_alone("skipped (root, the default skip_users)", NULL, &root);
	assert_alone("skipped (skip_users)", "skip_users=alice", &alice);
	assert_alone("skipped (min_uid)", "min_uid=1000", &daemon);
	assert_alone("skipped (user name not valid UTF-8)", NULL, &bad);
	assert_alone("skipped (no user name)", NULL, &nouser);
	assert_alone_as_nobody("skipped (not root, skip_users)",
			       "skip_users=alice", &alice);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	ck_assert_int_eq(pamtest_count_entries(W.spool), 0);
	close(fd);
}

END_TEST

START_TEST(test_alone_bad_args)
{
	static const char bad[] =
		"frobnicate min_uid=abc socket=relative.sock spool= daemon_user=";
	int fd = listen_sock();

	/* each bad argument is ignored: the good ones before it stay */
	assert_alone("bad arguments, sent", bad, &alice);
	ck_assert_int_eq(h_pam_drain(fd), EVENTS_PER_LOGIN);
	pamtest_assert_not_spooled("alice");
	close(fd);
	ck_assert_int_eq(unlink(W.sock), 0);
	assert_alone("bad arguments, spooled", bad, &alice);
	pamtest_assert_spooled("alice", "FTSYNC1\nuser=alice\nservice=ftest\n");
}

END_TEST

/*
 * auth and account keep PAM_IGNORE on every path: a stack that holds
 * only pam_ftrack authenticates nobody and admits nobody, and
 * pam_setcred answers nothing of its own either.
 */
START_TEST(test_alone_auth_account)
{
	static const struct h_pam_login root = BARE("root");
	static const char *const entries[] = {
		"pam_sm_authenticate", "pam_sm_acct_mgmt", "pam_sm_setcred"};
	const struct h_pam_login *users[] = {&alice, &root, &alice};
	char args[1024];
	pam_handle_t *pamh = NULL;
	int fd = listen_sock(), u;
	size_t i;

	h_pam_args(&W, NULL, args, sizeof(args));
	for (u = 0; u < 3; u++) { /* alice sent, root skipped, alice spooled */
		if (u == 2) {
			close(fd);
			ck_assert_int_eq(unlink(W.sock), 0);
		}
		for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
			ck_assert_msg(h_pam_call(&W, entries[i], users[u],
						 args) == PAM_IGNORE,
				      "%s of %s", entries[i], users[u]->user);
		ck_assert_int_eq(h_pam_service_alone(W.confdir, SVC, "auth",
						     "required", W.module,
						     args),
				 0);
		ck_assert_int_eq(h_pam_start(W.confdir, SVC, users[u], &pamh),
				 PAM_SUCCESS);
		ck_assert_int_ne(pam_authenticate(pamh, 0), PAM_SUCCESS);
		(void)pam_end(pamh, PAM_AUTH_ERR);
		ck_assert_int_eq(h_pam_service_alone(W.confdir, SVC, "account",
						     "required", W.module,
						     args),
				 0);
		ck_assert_int_eq(h_pam_start(W.confdir, SVC, users[u], &pamh),
				 PAM_SUCCESS);
		ck_assert_int_ne(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);
		(void)pam_end(pamh, PAM_PERM_DENIED);
	}
	/* still reported: the last stack spooled alice's event */
	pamtest_assert_spooled("alice",
			       "FTSYNC1\nuser=alice\nservice=" SVC "\n");
}

END_TEST

TCase *
pamtest_alone_tcase(void)
{
	TCase *tc = tcase_create("alone");

	tcase_add_checked_fixture(tc, pamtest_world_setup,
				  pamtest_world_teardown);
	tcase_add_test(tc, test_alone_sent);
	tcase_add_test(tc, test_alone_spooled);
	tcase_add_test(tc, test_alone_dropped);
	tcase_add_test(tc, test_alone_sent_as_user);
	tcase_add_test(tc, test_alone_skipped);
	tcase_add_test(tc, test_alone_bad_args);
	tcase_add_test(tc, test_alone_auth_account);
	return tc;
}
