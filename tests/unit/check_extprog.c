/* SPDX-License-Identifier: Apache-2.0 */
/* check_extprog.c: external programs as real processes: the file rule
 * applied at start (the rule itself: check_extprog_check.c), the
 * environment, lines in and out, stderr, exit, timeouts, the socket. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "extprog.h"
#include "ft_err.h"
#include "harness.h"
#include "log.h"
#include "timing.h"

Suite *extprog_suite(void);

#define LINE_CAP 4096

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

static uint64_t
in_ms(unsigned ms)
{
	return timing_now_ms() + ms;
}

static struct extprog *
start_ok(const char *path)
{
	struct extprog *p = NULL;
	int r = extprog_start(path, NULL, "test", &p, why, sizeof(why));

	ck_assert_msg(r == FT_OK, "start: %s (%s)", ft_strerror(r), why);
	return p;
}

/* Read one line, asserting it is `want`. */
static void
line_is(struct extprog *p, const char *want)
{
	char buf[LINE_CAP];
	size_t n = 0;
	int r = extprog_read_line(p, buf, sizeof(buf), &n, in_ms(10000));

	ck_assert_msg(r == FT_OK, "read: %s", ft_strerror(r));
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_str_eq(buf, want);
}

static void
at_eof(struct extprog *p)
{
	char buf[LINE_CAP];
	size_t n;
	int r = extprog_read_line(p, buf, sizeof(buf), &n, in_ms(10000));

	ck_assert_int_eq(r, FT_E_IO);
	ck_assert_int_eq(errno, 0);
}

/* ---- the file rule (its tests: check_extprog_check.c) ----------------- */

static const char ok_text[] = "#!/bin/sh\nexit 0\n";

/* extprog_start applies the file rule: a program in a folder others can
 * write is refused before it runs. */
START_TEST(test_start_refused_by_rule)
{
	char sub[PATH_MAX / 2], path[PATH_MAX];
	struct extprog *x = NULL;

	(void)snprintf(sub, sizeof(sub), "%s/open", dir);
	(void)snprintf(path, sizeof(path), "%s/prog", sub);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_eq(h_write_file(path, ok_text, 0755), FT_OK);
	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert_int_eq(chmod(sub, 0777), 0);
	/* refused before it runs */
	ck_assert_int_eq(extprog_start(path, NULL, "t", &x, why, sizeof(why)),
			 FT_E_PERM);
	ck_assert_ptr_null(x);
	ck_assert_ptr_nonnull(strstr(why, "/open' is writable"));
}

END_TEST

/* ---- running ------------------------------------------------------------ */

static const char echo_text[] =
	"#!/bin/sh\n"
	"while IFS= read -r l; do echo \"got $l\"; done\n"
	"exit 3\n";

START_TEST(test_lines_and_status)
{
	struct extprog *p = start_ok(prog("echo", echo_text, 0755));
	int st = 0;

	ck_assert(extprog_spawned(p));
	ck_assert_int_gt(extprog_pid(p), 0);
	ck_assert_int_ge(extprog_fd_in(p), 0);
	ck_assert_int_ge(extprog_fd_out(p), 0);
	ck_assert_int_ge(extprog_fd_err(p), 0);
	ck_assert_int_ne(fcntl(extprog_fd_out(p), F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(extprog_fd_in(p), F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(extprog_write(p, "a\nb b\n", 6, in_ms(10000)), FT_OK);
	line_is(p, "got a");
	line_is(p, "got b b");
	extprog_close_input(p);
	ck_assert_int_eq(extprog_fd_in(p), -1);
	at_eof(p);
	ck_assert_int_eq(extprog_wait(p, in_ms(10000), &st), FT_OK);
	ck_assert_int_eq(st, 3);
	extprog_free(p);
}

END_TEST

/* More than a pipe holds, written at once, while it answers each line:
 * the write reads its answers meanwhile. */
START_TEST(test_pipelined_no_deadlock)
{
	struct extprog *p =
		start_ok(prog("cat", "#!/bin/sh\nexec cat\n", 0755));

	enum { N = 20000 };

	char *buf = malloc((size_t)N * 12), want[16];
	size_t len = 0;
	int i, st = -1;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < N; i++)
		len += (size_t)snprintf(buf + len, 12, "line %05d\n", i);
	ck_assert_int_eq(extprog_write(p, buf, len, in_ms(30000)), FT_OK);
	for (i = 0; i < N; i++) {
		(void)snprintf(want, sizeof(want), "line %05d", i);
		line_is(p, want);
	}
	free(buf);
	ck_assert_int_eq(extprog_wait(p, in_ms(10000), &st), FT_OK);
	ck_assert_int_eq(st, 0);
	extprog_free(p);
}

END_TEST

/* Its environment, folder and descriptors. */
START_TEST(test_minimal_environment)
{
	static const char text[] =
		"#!/usr/bin/python3\n"
		"import os\n"
		"print(' '.join(sorted(f'{k}={v}' for k, v in os.environ.items())))\n"
		"print(os.getcwd())\n"
		"print(' '.join(sorted(os.listdir('/proc/self/fd'))))\n"
		"print(os.getpgrp() == os.getpid())\n";
	struct extprog *p;
	char buf[LINE_CAP];
	size_t n;
	int st = -1, spare;

	setenv("FTRACK_API_KEY", "secret-key-never-given", 1);
	spare = open("/dev/null", O_RDONLY); /* not close-on-exec */
	ck_assert_int_ge(spare, 0);
	p = start_ok(prog("env.py", text, 0755));
	line_is(p, "LANG=C.UTF-8 PATH=/usr/bin:/bin");
	line_is(p, "/");
	/* 0, 1, 2 and the one listdir itself opened */
	ck_assert_int_eq(
		extprog_read_line(p, buf, sizeof(buf), &n, in_ms(10000)),
		FT_OK);
	ck_assert_str_eq(buf, "0 1 2 3");
	line_is(p, "True");
	ck_assert_int_eq(extprog_wait(p, in_ms(10000), &st), FT_OK);
	ck_assert_int_eq(st, 0);
	extprog_free(p);
	(void)close(spare);
	unsetenv("FTRACK_API_KEY");
}

END_TEST

START_TEST(test_exits_at_once)
{
	struct extprog *p = start_ok(prog("gone", "#!/bin/sh\nexit 7\n", 0755));
	char big[256 << 10];
	int st = -1, r;

	at_eof(p);
	memset(big, 'x', sizeof(big));
	r = extprog_write(p, big, sizeof(big), in_ms(10000));
	ck_assert_int_eq(r, FT_E_IO);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(extprog_wait(p, in_ms(10000), &st), FT_OK);
	ck_assert_int_eq(st, 7);
	extprog_free(p);
}

END_TEST

START_TEST(test_killed_by_signal)
{
	struct extprog *p =
		start_ok(prog("crash", "#!/bin/sh\nkill -SEGV $$\n", 0755));
	int st = -1;

	ck_assert_int_eq(extprog_wait(p, in_ms(10000), &st), FT_OK);
	ck_assert_int_eq(st, 128 + SIGSEGV);
	extprog_free(p);
}

END_TEST

START_TEST(test_oversized_line)
{
	static const char text[] =
		"#!/usr/bin/python3\n"
		"import sys\n"
		"sys.stdout.write('x' * 100000 + '\\nok\\n' + 'y' * 100 + '\\n')\n";
	struct extprog *p = start_ok(prog("big.py", text, 0755));
	char buf[64];
	size_t n;
	int st;

	ck_assert_int_eq(
		extprog_read_line(p, buf, sizeof(buf), &n, in_ms(10000)),
		FT_E_TOOBIG);
	ck_assert_int_eq(
		extprog_read_line(p, buf, sizeof(buf), &n, in_ms(10000)),
		FT_OK);
	ck_assert_str_eq(buf, "ok");
	/* one over: the line and its NUL do not fit */
	ck_assert_int_eq(
		extprog_read_line(p, buf, sizeof(buf), &n, in_ms(10000)),
		FT_E_TOOBIG);
	at_eof(p);
	ck_assert_int_eq(extprog_wait(p, in_ms(10000), &st), FT_OK);
	extprog_free(p);
}

END_TEST

START_TEST(test_read_deadline)
{
	struct extprog *p =
		start_ok(prog("mute", "#!/bin/sh\nread l\nexit 0\n", 0755));
	char buf[64];
	size_t n;
	int st = -1;

	ck_assert_int_eq(extprog_read_line(p, buf, sizeof(buf), &n, in_ms(100)),
			 FT_E_AGAIN);
	ck_assert_int_eq(extprog_read_line(p, buf, sizeof(buf), &n, 0),
			 FT_E_AGAIN);
	ck_assert_int_eq(extprog_wait(p, in_ms(10000), &st), FT_OK);
	ck_assert_int_eq(st, 0);
	extprog_free(p);
}

END_TEST

START_TEST(test_wait_timeout_term)
{
	struct extprog *p =
		start_ok(prog("hang", "#!/bin/sh\nsleep 100\n", 0755));
	int st = -1;

	ck_assert_int_eq(extprog_wait(p, in_ms(100), &st), FT_E_AGAIN);
	ck_assert_int_eq(st, 128 + SIGTERM);
	extprog_free(p);
}

END_TEST

START_TEST(test_wait_timeout_kill)
{
	static const char text[] = "#!/bin/sh\ntrap '' TERM\n"
				   "echo ready\nwhile :; do sleep 1; done\n";
	struct extprog *p = start_ok(prog("stubborn", text, 0755));
	int st = -1;

	line_is(p, "ready");
	ck_assert_int_eq(extprog_wait(p, in_ms(50), &st), FT_E_AGAIN);
	ck_assert_int_eq(st, 128 + SIGKILL);
	extprog_free(p);
}

END_TEST

START_TEST(test_free_running)
{
	struct extprog *p =
		start_ok(prog("run", "#!/bin/sh\nsleep 100\n", 0755));
	pid_t pid = extprog_pid(p);

	extprog_free(p);
	ck_assert_int_eq(kill(pid, 0), -1); /* reaped: no such process */
}

END_TEST

/* ---- stderr into the log ------------------------------------------------ */

static char *
stderr_of(const char *path)
{
	char logf[PATH_MAX];
	struct extprog *p;
	int saved, fd, st;
	char *text;

	(void)snprintf(logf, sizeof(logf), "%s/log", dir);
	fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	log_init("ftrack-syncd", true, LOG_DEBUG);
	p = start_ok(path);
	ck_assert_int_eq(extprog_wait(p, in_ms(20000), &st), FT_OK);
	extprog_free(p);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	(void)close(saved);
	(void)close(fd);
	text = h_read_file(logf, NULL);
	ck_assert_ptr_nonnull(text);
	return text;
}

START_TEST(test_stderr_logged_clean)
{
	static const char text[] = "#!/usr/bin/python3\n"
				   "import sys\n"
				   "sys.stderr.write('bad \\x1b[31mthing\\n')\n"
				   "sys.stderr.write('z' * 5000 + '\\n')\n"
				   "sys.stderr.write('last, no newline')\n";
	char *log = stderr_of(prog("err.py", text, 0755));

	ck_assert_ptr_nonnull(strstr(log, "test: stderr: bad \\x1b[31mthing"));
	ck_assert_ptr_null(strchr(log, '\x1b'));
	ck_assert_ptr_nonnull(strstr(log, "(cut)"));
	ck_assert_ptr_nonnull(strstr(log, "test: stderr: last, no newline"));
	free(log);
}

END_TEST

START_TEST(test_stderr_rate_limited)
{
	static const char text[] = "#!/bin/sh\n"
				   "i=0; while [ $i -lt 200 ]; do "
				   "echo \"noise $i\" >&2; i=$((i+1)); done\n";
	char *log = stderr_of(prog("noisy", text, 0755));

	ck_assert_int_eq(h_text_count(log, "test: stderr: noise"),
			 EXTPROG_ERR_PER_MIN);
	ck_assert_ptr_nonnull(strstr(log, "noise 0\n"));
	ck_assert_ptr_null(strstr(log, "noise 199"));
	free(log);
}

END_TEST

/* ---- through a socket, as systemd would run it --------------------------- */

/* A one-connection "systemd": accept, then the adapter runs the program
 * with the connection as stdin and stdout. */
static pid_t
fake_systemd(const char *sock, const char *program)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char adapter[PATH_MAX];
	int lfd, c;
	pid_t pid;

	(void)snprintf(adapter, sizeof(adapter),
		       "%s/etc/systemd/ftrack-syncd-ext-adapter",
		       FT_TEST_SRCDIR);
	(void)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		c = accept(lfd, NULL, NULL);
		if (c < 0 || dup2(c, 0) < 0 || dup2(c, 1) < 0)
			_exit(99);
		execl("/bin/sh", "sh", adapter, program, (char *)NULL);
		_exit(98);
	}
	(void)close(lfd);
	return pid;
}

START_TEST(test_socket)
{
	const char *path = prog("echo", echo_text, 0755);
	char sock[PATH_MAX], copy[PATH_MAX];
	struct extprog *p = NULL;
	pid_t sd;
	int st = -1, ws;

	(void)snprintf(copy, sizeof(copy), "%s", path);
	(void)snprintf(sock, sizeof(sock), "%s/t.sock", dir);
	sd = fake_systemd(sock, copy);
	ck_assert_int_eq(extprog_start(copy, sock, "t", &p, why, sizeof(why)),
			 FT_OK);
	ck_assert(!extprog_spawned(p));
	ck_assert_int_eq(extprog_pid(p), 0);
	ck_assert_int_eq(extprog_fd_err(p), -1);
	ck_assert_int_eq(extprog_write(p, "x\n", 2, in_ms(10000)), FT_OK);
	line_is(p, "got x");
	extprog_close_input(p);
	at_eof(p); /* the exit line is not output */
	ck_assert_int_eq(extprog_wait(p, in_ms(10000), &st), FT_OK);
	ck_assert_int_eq(st, 3);
	extprog_free(p);
	ck_assert_int_eq(waitpid(sd, &ws, 0), sd);
	ck_assert_int_eq(WEXITSTATUS(ws), 0);
}

END_TEST

/* No exit line (the output did not end in a newline): no status. */
START_TEST(test_socket_no_status)
{
	const char *path =
		prog("partial", "#!/bin/sh\nprintf 'half'\nexit 0\n", 0755);
	char sock[PATH_MAX], copy[PATH_MAX];
	struct extprog *p = NULL;
	pid_t sd;
	int st = 0;

	(void)snprintf(copy, sizeof(copy), "%s", path);
	(void)snprintf(sock, sizeof(sock), "%s/t.sock", dir);
	sd = fake_systemd(sock, copy);
	ck_assert_int_eq(extprog_start(copy, sock, "t", &p, why, sizeof(why)),
			 FT_OK);
	ck_assert_int_eq(extprog_wait(p, in_ms(10000), &st), FT_E_PROTO);
	ck_assert_int_eq(st, -1);
	extprog_free(p);
	ck_assert_int_eq(waitpid(sd, NULL, 0), sd);
}

END_TEST

/* A socket path with nothing there: started here. */
START_TEST(test_socket_absent)
{
	char sock[PATH_MAX];
	struct extprog *p = NULL;

	(void)snprintf(sock, sizeof(sock), "%s/none.sock", dir);
	ck_assert_int_eq(extprog_start(prog("ok", ok_text, 0755), sock, "t", &p,
				       why, sizeof(why)),
			 FT_OK);
	ck_assert(extprog_spawned(p));
	extprog_free(p);
}

END_TEST

Suite *
extprog_suite(void)
{
	Suite *s = suite_create("extprog");
	TCase *c = tcase_create("check");
	TCase *r = tcase_create("run");

	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, test_start_refused_by_rule);
	suite_add_tcase(s, c);
	tcase_add_checked_fixture(r, setup, teardown);
	tcase_set_timeout(r, 60);
	tcase_add_test(r, test_lines_and_status);
	tcase_add_test(r, test_pipelined_no_deadlock);
	tcase_add_test(r, test_minimal_environment);
	tcase_add_test(r, test_exits_at_once);
	tcase_add_test(r, test_killed_by_signal);
	tcase_add_test(r, test_oversized_line);
	tcase_add_test(r, test_read_deadline);
	tcase_add_test(r, test_wait_timeout_term);
	tcase_add_test(r, test_wait_timeout_kill);
	tcase_add_test(r, test_free_running);
	tcase_add_test(r, test_stderr_logged_clean);
	tcase_add_test(r, test_stderr_rate_limited);
	tcase_add_test(r, test_socket);
	tcase_add_test(r, test_socket_no_status);
	tcase_add_test(r, test_socket_absent);
	suite_add_tcase(s, r);
	return s;
}
