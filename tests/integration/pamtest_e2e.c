/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pamtest_e2e.c: the pam suite's end-to-end case: pamtester, a real PAM
 * application, run under pam_wrapper with a private service folder,
 * authenticates a user against pam_matrix (a password file) and opens
 * a session; pam_ftrack's event reaches the test's socket.  Then a
 * service whose only line is pam_ftrack's session line.
 *
 * pamtester is not built with sanitizers, and an ASan-instrumented
 * module cannot load into it; the sanitizer build therefore drives the
 * gcc build's module (FT_TEST_SRCDIR/build), or skips when there is none.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pamtest_suite.h"

#define W pamtest_world

#define PAMTESTER   "/usr/bin/pamtester"
#define PAM_WRAPPER "libpam_wrapper.so"
#define PAM_MATRIX  "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so"

#if defined(__SANITIZE_ADDRESS__)
#define PAMTEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PAMTEST_ASAN 1
#endif
#endif

/* The module pamtester can load, or NULL (with the reason printed). */
static const char *
e2e_module(void)
{
#ifdef PAMTEST_ASAN
	static const char plain[] =
		FT_TEST_SRCDIR "/build/pam_ftrack/pam_ftrack.so";

	if (access(plain, R_OK) != 0) {
		fprintf(stderr,
			"pam e2e: sanitizer build and no %s: skipped "
			"(the gcc build runs it)\n",
			plain);
		return NULL;
	}
	return plain;
#else
	return W.module;
#endif
}

/* Service "e2e" in W.confdir: pam_matrix, then pam_ftrack. */
static void
write_e2e(const char *module)
{
	char path[256], passdb[160];
	FILE *f;

	snprintf(passdb, sizeof(passdb), "%s/passdb", W.dir);
	ck_assert_int_eq(h_write_file(passdb, "alice:secret:e2e\n", 0644), 0);
	snprintf(path, sizeof(path), "%s/e2e", W.confdir);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"auth required %s passdb=%s\n"
		"account required %s passdb=%s\n"
		"session optional %s socket=%s spool=%s daemon_user=root\n"
		"session required %s passdb=%s\n",
		PAM_MATRIX, passdb, PAM_MATRIX, passdb, module, W.sock, W.spool,
		PAM_MATRIX, passdb);
	ck_assert_int_eq(fclose(f), 0);
}

/* One pamtester run: service, user and up to 4 operations (NULL ends). */
struct pamtester_run {
	const char *service;
	const char *user;
	const char *ops[4];
};

/* The whole stack of service "e2e" for alice. */
static const struct pamtester_run e2e_run = {
	"e2e",
	"alice",
	{"authenticate", "acct_mgmt", "open_session", "close_session"}};

static void
exec_pamtester(int in, int out, const struct pamtester_run *run)
{
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	if (setenv("LD_PRELOAD", PAM_WRAPPER, 1) < 0 ||
	    setenv("PAM_WRAPPER", "1", 1) < 0 ||
	    setenv("PAM_WRAPPER_SERVICE_DIR", W.confdir, 1) < 0)
		_exit(126);
	(void)unsetenv("ASAN_OPTIONS");
	/* the first NULL among ops ends the list */
	execl(PAMTESTER, "pamtester", "-v", run->service, run->user,
	      run->ops[0], run->ops[1], run->ops[2], run->ops[3], (char *)NULL);
	_exit(127);
}

/*
 * Run pamtester (run) with password on its stdin; its output goes to
 * W.dir/pamtester.out.  Returns its exit status.
 */
static int
run_pamtester_as(const char *password, const struct pamtester_run *run)
{
	char in_path[160], out_path[160];
	int in, out, status = -1;
	pid_t pid;

	snprintf(in_path, sizeof(in_path), "%s/pamtester.in", W.dir);
	snprintf(out_path, sizeof(out_path), "%s/pamtester.out", W.dir);
	(void)unlink(in_path);
	(void)unlink(out_path);
	ck_assert_int_eq(h_write_file(in_path, password, 0644), 0);
	in = open(in_path, O_RDONLY | O_CLOEXEC);
	out = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert(in >= 0 && out >= 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		exec_pamtester(in, out, run);
	close(in);
	close(out);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int
run_pamtester(const char *password)
{
	return run_pamtester_as(password, &e2e_run);
}

static const char *
pamtester_output(void)
{
	static char buf[4096];
	char path[160];
	long n;

	snprintf(path, sizeof(path), "%s/pamtester.out", W.dir);
	n = h_read_into(path, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

START_TEST(test_pamtester)
{
	const char *module = e2e_module();
	struct h_pam_dgram d;
	int fd;

	if (module == NULL)
		return;
	ck_assert_msg(access(PAMTESTER, X_OK) == 0,
		      "pamtester missing: run make deps");
	write_e2e(module);
	fd = h_pam_listen(W.sock, 0666);
	ck_assert_int_ge(fd, 0);
	/* a wrong password: no session, so no event */
	ck_assert_int_ne(run_pamtester("wrong\n"), 0);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	ck_assert_msg(run_pamtester("secret\n") == 0, "pamtester:\n%s",
		      pamtester_output());
	ck_assert_ptr_nonnull(
		strstr(pamtester_output(), "successfully opened a session"));
	ck_assert_int_eq(h_pam_recv(fd, 5000, &d), 1);
	ck_assert(d.decoded);
	ck_assert_str_eq(d.ev.user, "alice");
	ck_assert_str_eq(d.ev.service, "e2e");
	ck_assert(d.has_cred);
	ck_assert_int_eq(d.cred.uid, 0);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	close(fd);
	/* the daemon is down: the login still works and is spooled */
	ck_assert_int_eq(unlink(W.sock), 0);
	ck_assert_int_eq(run_pamtester("secret\n"), 0);
	pamtest_assert_spooled("alice", "FTSYNC1\nuser=alice\nservice=e2e\n");
}

END_TEST

/*
 * Issue 12 item 6: a service whose session stack holds only
 * `session required pam_ftrack.so ...` (and nothing else at all):
 * `pamtester -v alone USER open_session close_session` succeeds when
 * the event is sent, spooled or skipped.
 */
static void
assert_pamtester_alone(const char *what, const char *user)
{
	const struct pamtester_run run = {
		"alone", user, {"open_session", "close_session", NULL, NULL}};
	const char *out;
	int rc = run_pamtester_as("", &run);

	out = pamtester_output();
	ck_assert_msg(rc == 0, "%s: pamtester exit %d:\n%s", what, rc, out);
	ck_assert_msg(strstr(out, "successfully opened a session") != NULL,
		      "%s:\n%s", what, out);
	ck_assert_msg(strstr(out, "session has successfully been closed") !=
			      NULL,
		      "%s:\n%s", what, out);
}

START_TEST(test_pamtester_alone)
{
	const char *module = e2e_module();
	struct h_pam_dgram d;
	char args[512];
	int fd;

	if (module == NULL)
		return;
	ck_assert_msg(access(PAMTESTER, X_OK) == 0,
		      "pamtester missing: run make deps");
	h_pam_args(&W, NULL, args, sizeof(args));
	ck_assert_int_eq(h_pam_service_alone(W.confdir, "alone", "session",
					     "required", module, args),
			 0);
	fd = h_pam_listen(W.sock, 0666);
	ck_assert_int_ge(fd, 0);
	assert_pamtester_alone("sent", "alice");
	ck_assert_int_eq(h_pam_recv(fd, 5000, &d), 1);
	ck_assert(d.decoded);
	ck_assert_str_eq(d.ev.user, "alice");
	ck_assert_str_eq(d.ev.service, "alone");
	ck_assert_int_eq(h_pam_drain(fd), 0);
	assert_pamtester_alone("skipped (root)", "root");
	ck_assert_int_eq(h_pam_drain(fd), 0);
	close(fd);
	ck_assert_int_eq(unlink(W.sock), 0);
	assert_pamtester_alone("spooled", "alice");
	pamtest_assert_spooled("alice", "FTSYNC1\nuser=alice\nservice=alone\n");
}

END_TEST

TCase *
pamtest_e2e_tcase(void)
{
	TCase *tc = tcase_create("e2e");

	tcase_add_checked_fixture(tc, pamtest_world_setup,
				  pamtest_world_teardown);
	tcase_add_test(tc, test_pamtester);
	tcase_add_test(tc, test_pamtester_alone);
	return tc;
}
