/* SPDX-License-Identifier: Apache-2.0 */
/* check_listener.c: the event socket, the sender rule and the rate limit. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"
#include "listener.h"
#include "ratelimit.h"

Suite *listener_suite(void);

static char dir[64];
static char sock[100];

static void
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/ftl-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0); /* senders run as nobody */
	(void)snprintf(sock, sizeof(sock), "%s/run/notify.sock", dir);
}

static void
teardown(void)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Send msg to the socket, optionally as uid (in a child). */
static void
send_as(uid_t uid, const void *msg, size_t len, int pass_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int))];
		} ctl;
		struct iovec iov = {.iov_base = (void *)(uintptr_t)msg,
				    .iov_len = len};
		struct msghdr m = {.msg_name = &sa,
				   .msg_namelen = sizeof(sa),
				   .msg_iov = &iov,
				   .msg_iovlen = 1};
		int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

		(void)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		if (pass_fd >= 0) {
			struct cmsghdr *c;

			m.msg_control = ctl.buf;
			m.msg_controllen = sizeof(ctl.buf);
			c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
		}
		if (uid != 0 && setuid(uid) < 0)
			_exit(2);
		_exit(sendmsg(fd, &m, 0) == (ssize_t)len ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

static void
send_str(uid_t uid, const char *msg)
{
	send_as(uid, msg, strlen(msg), -1);
}

START_TEST(test_root_any_user)
{
	struct ft_event ev;
	struct stat st;
	uid_t uid = 42;
	int fd;

	ck_assert_int_eq(listener_open(sock, &fd), FT_OK);
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0666);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(listener_recv(fd, &ev, &uid), FT_E_AGAIN);
	send_str(0, "FTSYNC1\nuser=someone-not-in-passwd\nservice=sshd\n");
	ck_assert_int_eq(listener_recv(fd, &ev, &uid), FT_OK);
	ck_assert_uint_eq(uid, 0);
	ck_assert_str_eq(ev.user, "someone-not-in-passwd");
	ck_assert_str_eq(ev.service, "sshd");
	(void)close(fd);
}

END_TEST

START_TEST(test_forged_and_own)
{
	struct passwd *pw = getpwnam("nobody");
	char msg[128];
	struct ft_event ev;
	uid_t uid;
	int fd;

	ck_assert_ptr_nonnull(pw);
	ck_assert_int_eq(listener_open(sock, &fd), FT_OK);
	/* nobody reports a login of root: forged */
	send_str(pw->pw_uid, "FTSYNC1\nuser=root\n");
	ck_assert_int_eq(listener_recv(fd, &ev, &uid), FT_E_PERM);
	ck_assert_uint_eq(uid, pw->pw_uid);
	ck_assert_str_eq(ev.user, "root");
	/* nobody reports its own login (a screen locker): accepted */
	(void)snprintf(msg, sizeof(msg), "FTSYNC1\nuser=%s\n", pw->pw_name);
	send_str(pw->pw_uid, msg);
	ck_assert_int_eq(listener_recv(fd, &ev, &uid), FT_OK);
	ck_assert_str_eq(ev.user, pw->pw_name);
	(void)close(fd);
}

END_TEST

START_TEST(test_malformed_dropped)
{
	char big[FT_PROTO_MAX + 100];
	struct ft_event ev;
	uid_t uid;
	int fd;

	ck_assert_int_eq(listener_open(sock, &fd), FT_OK);
	send_str(0, "FTSYNC9\nuser=a\n");
	ck_assert_int_eq(listener_recv(fd, &ev, &uid), FT_E_PROTO);
	memset(big, 'a', sizeof(big));
	memcpy(big, "FTSYNC1\nuser=", 13);
	send_as(0, big, sizeof(big), -1);
	ck_assert_int_eq(listener_recv(fd, &ev, &uid), FT_E_PROTO);
	send_as(0, "", 0, -1);
	ck_assert_int_eq(listener_recv(fd, &ev, &uid), FT_E_PROTO);
	/* the next good one still comes through */
	send_str(0, "FTSYNC1\nuser=ok\n");
	ck_assert_int_eq(listener_recv(fd, &ev, &uid), FT_OK);
	ck_assert_str_eq(ev.user, "ok");
	(void)close(fd);
}

END_TEST

static int
count_fds(void)
{
	char path[64];
	int n = 0, i;

	for (i = 0; i < 4096; i++) {
		(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
		if (access(path, F_OK) == 0)
			n++;
	}
	return n;
}

START_TEST(test_passed_fds_closed)
{
	struct ft_event ev;
	uid_t uid;
	int fd, before, i;

	ck_assert_int_eq(listener_open(sock, &fd), FT_OK);
	before = count_fds();
	for (i = 0; i < 20; i++) {
		send_as(0, "FTSYNC1\nuser=a\n", 15, 0);
		ck_assert_int_ge(listener_recv(fd, &ev, &uid), FT_E_PROTO);
	}
	ck_assert_int_eq(count_fds(), before);
	(void)close(fd);
}

END_TEST

START_TEST(test_path_rules)
{
	int fd, fd2;

	/* a stale socket is replaced */
	ck_assert_int_eq(listener_open(sock, &fd), FT_OK);
	ck_assert_int_eq(listener_open(sock, &fd2), FT_OK);
	(void)close(fd);
	(void)close(fd2);
	/* a regular file or a symlink is not removed */
	ck_assert_int_eq(unlink(sock), 0);
	ck_assert_int_eq(symlink("/etc/passwd", sock), 0);
	ck_assert_int_eq(listener_open(sock, &fd), FT_E_PERM);
	ck_assert_int_eq(access("/etc/passwd", F_OK), 0);
	ck_assert_int_eq(unlink(sock), 0);
	fd = open(sock, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	(void)close(fd);
	ck_assert_int_eq(listener_open(sock, &fd), FT_E_PERM);
}

END_TEST

START_TEST(test_ratelimit)
{
	struct ratelimit rl;
	unsigned i, ok = 0;

	ratelimit_init(&rl, 5, 60);
	for (i = 0; i < 100; i++)
		ok += ratelimit_allow(&rl, 1000, 1000);
	ck_assert_uint_eq(ok, 5);
	/* another uid is not affected */
	ck_assert(ratelimit_allow(&rl, 1001, 1000));
	/* root is never limited */
	for (i = 0; i < 1000; i++)
		ck_assert(ratelimit_allow(&rl, 0, 1000));
	/* one token a second comes back */
	ck_assert(!ratelimit_allow(&rl, 1000, 1500));
	ck_assert(ratelimit_allow(&rl, 1000, 2600));
	ck_assert(!ratelimit_allow(&rl, 1000, 2600));
	/* many uids: the table forgets the oldest, never overflows */
	for (i = 0; i < 10 * RATELIMIT_SLOTS; i++)
		ck_assert(ratelimit_allow(&rl, 5000 + i, 3000 + i));
}

END_TEST

Suite *
listener_suite(void)
{
	Suite *s = suite_create("listener");
	TCase *tc = tcase_create("socket");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_root_any_user);
	tcase_add_test(tc, test_forged_and_own);
	tcase_add_test(tc, test_malformed_dropped);
	tcase_add_test(tc, test_passed_fds_closed);
	tcase_add_test(tc, test_path_rules);
	tcase_add_test(tc, test_ratelimit);
	suite_add_tcase(s, tc);
	return s;
}
