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
#include "harness.h"
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
	/* host= is the provisioner's alone: cleared from every datagram */
	send_str(0, "FTSYNC1\nuser=alice\nhost=forged.ws.example.com\n");
	ck_assert_int_eq(listener_recv(fd, &ev, &uid), FT_OK);
	ck_assert_str_eq(ev.user, "alice");
	ck_assert_str_eq(ev.host, "");
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

	ratelimit_init(&rl, 5, 60, 60000000); /* the non-root bucket: wide */
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

/* ---- listener_judge: the order of the checks, the memory ------------- */

/* A passwd of the test's own, counting the look-ups asked of it. */
static const struct fake_pw {
	const char *name;
	uid_t uid;
} fake_passwd[] = {
	{"alice", 1001}, {"bob", 1002}, {"carol", 1003}, {"nobody", 65534}};

static unsigned long fake_calls;
static bool fake_fail; /* the next look-up fails (EIO) */

static int
fake_getpw(const char *user, uid_t *ret_uid, void *arg)
{
	size_t i;

	ck_assert_ptr_eq(arg, &fake_calls);
	fake_calls++;
	if (fake_fail) {
		fake_fail = false;
		return -1;
	}
	for (i = 0; i < sizeof(fake_passwd) / sizeof(fake_passwd[0]); i++) {
		if (strcmp(fake_passwd[i].name, user) == 0) {
			*ret_uid = fake_passwd[i].uid;
			return 1;
		}
	}
	return 0;
}

static struct listener_senders *
fake_senders(void)
{
	struct listener_senders *ls = listener_senders_new();

	ck_assert_ptr_nonnull(ls);
	listener_senders_set_getpw(ls, fake_getpw, &fake_calls);
	fake_calls = 0;
	fake_fail = false;
	return ls;
}

#define JSTEPS_MAX 24

struct jstep {
	uid_t uid;
	const char *user;
	uint64_t t; /* ms */
	enum listener_verdict want;
	unsigned long lookups; /* look-ups so far, after this step */
};

struct jcase {
	const char *name;
	unsigned nonroot_per_minute;
	size_t nsteps;
	struct jstep step[JSTEPS_MAX];
};

#define J_OK LISTENER_OK
#define J_FO LISTENER_FORGED
#define J_RU LISTENER_RATE_UID
#define J_RN LISTENER_RATE_NONROOT
#define TTL  LISTENER_CACHE_OWN_MS
#define NEG  LISTENER_CACHE_NONE_MS

static const struct jcase jcases[] = {
	{"uid 0: anyone, nothing looked up",
	 240,
	 3,
	 {{0, "alice", 0, J_OK, 0},
	  {0, "no-such-user", 0, J_OK, 0},
	  {0, "root", 0, J_OK, 0}}},
	{"own account: one look-up, then remembered",
	 240,
	 4,
	 {{1001, "alice", 0, J_OK, 1},
	  {1001, "alice", 1, J_OK, 1},
	  {1001, "alice", TTL - 1, J_OK, 1},
	  {1001, "alice", TTL, J_OK, 2}}},
	/* the uid alone answers it once alice's uid is known */
	{"another's account: forged, remembered",
	 240,
	 5,
	 {{1002, "alice", 0, J_FO, 1},
	  {1002, "alice", 0, J_FO, 1},
	  {1003, "alice", 5, J_FO, 1},
	  {1001, "alice", 6, J_OK, 1},
	  {1002, "bob", 7, J_OK, 2}}},
	{"no such user: forged, remembered 20 s",
	 240,
	 5,
	 {{1002, "ghost", 0, J_FO, 1},
	  {1002, "ghost", NEG - 1, J_FO, 1},
	  {1003, "ghost", NEG - 1, J_FO, 1},
	  {1002, "ghost", NEG, J_FO, 2},
	  {1002, "ghost", NEG + 1, J_FO, 2}}},
	/* 12 a minute: 4 at once, the last one for known senders; each
	 * uid 1 at once: a look-up is made only within both limits */
	{"the rate limit before the look-up",
	 12,
	 7,
	 {{1001, "alice", 0, J_OK, 1},
	  {1001, "ghost", 0, J_RU, 1},
	  {1002, "bob", 0, J_OK, 2},
	  {1003, "carol", 0, J_OK, 3},
	  {1004, "dave", 0, J_RN, 3},
	  {1001, "alice", 0, J_RU, 3},
	  {0, "dave", 0, J_OK, 3}}},
	/* 3 a minute: 1 at once */
	{"the non-root bucket before the look-up",
	 3,
	 4,
	 {{1001, "alice", 0, J_OK, 1},
	  {1002, "bob", 0, J_RN, 1},
	  {1002, "bob", 1, J_RN, 1},
	  {0, "bob", 2, J_OK, 1}}},
	/* a remembered forgery takes no token: bob still has his */
	{"remembered forgeries cost no token",
	 3,
	 6,
	 {{1002, "bob", 0, J_OK, 1},
	  {1001, "bob", 0, J_FO, 1},
	  {1001, "bob", 0, J_FO, 1},
	  {1001, "bob", 0, J_FO, 1},
	  {1003, "carol", 20000, J_OK, 2},
	  {1001, "bob", 20000, J_FO, 2}}},
	{"nonroot_rate 0: only root",
	 0,
	 3,
	 {{1001, "alice", 0, J_RN, 0},
	  {0, "alice", 0, J_OK, 0},
	  {1001, "alice", 60000, J_RN, 0}}},
};

#define NJCASES (sizeof(jcases) / sizeof(jcases[0]))

START_TEST(test_judge_case)
{
	const struct jcase *c = &jcases[_i];
	struct listener_senders *ls = fake_senders();
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	size_t i;

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, 20, 60, c->nonroot_per_minute);
	for (i = 0; i < c->nsteps; i++) {
		const struct jstep *s = &c->step[i];
		enum listener_verdict got =
			listener_judge(ls, rl, s->uid, s->user, s->t);

		ck_assert_msg(got == s->want && fake_calls == s->lookups,
			      "%s: step %zu (uid %u reports '%s' at %llu ms): "
			      "got %d after %lu look-ups, want %d after %lu",
			      c->name, i, (unsigned)s->uid, s->user,
			      (unsigned long long)s->t, got, fake_calls,
			      s->want, s->lookups);
		ck_assert_uint_eq(listener_senders_lookups(ls), fake_calls);
	}
	free(rl);
	listener_senders_free(ls);
}

END_TEST

/* A failed look-up is forged and not remembered: the next one asks. */
START_TEST(test_judge_lookup_error)
{
	struct listener_senders *ls = fake_senders();
	struct ratelimit rl;

	ratelimit_init(&rl, 20, 60, 240);
	fake_fail = true;
	ck_assert_int_eq(listener_judge(ls, &rl, 1001, "alice", 0),
			 LISTENER_FORGED);
	ck_assert_int_eq(listener_judge(ls, &rl, 1001, "alice", 0),
			 LISTENER_OK);
	ck_assert_uint_eq(fake_calls, 2);
	/* getpwnam_r again (no fake): root is root, whatever the memory */
	listener_senders_set_getpw(ls, NULL, NULL);
	ck_assert_int_eq(listener_judge(ls, &rl, 0, "alice", 0), LISTENER_OK);
	ck_assert_int_eq(listener_judge(ls, &rl, 1001, "root", 0),
			 LISTENER_FORGED);
	ck_assert_uint_eq(fake_calls, 2);
	ck_assert_uint_eq(listener_senders_lookups(ls), 3);
	listener_senders_free(ls);
	listener_senders_free(NULL);
}

END_TEST

/*
 * A flood of other names cannot push out the name of a user seen
 * reporting itself: owned entries are forgotten last.
 */
START_TEST(test_judge_owned_kept)
{
	struct listener_senders *ls = fake_senders();
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	char name[32];
	unsigned i;

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, 1000000, 60000000, 60000000); /* never binds */
	ck_assert_int_eq(listener_judge(ls, rl, 1002, "bob", 0), LISTENER_OK);
	for (i = 0; i < 20 * LISTENER_CACHE_SIZE; i++) {
		H_FMT(name, "x%u", i);
		ck_assert_int_eq(listener_judge(ls, rl, 1001, name, 1 + i),
				 LISTENER_FORGED);
	}
	ck_assert_uint_eq(fake_calls, 1 + 20 * LISTENER_CACHE_SIZE);
	ck_assert_int_eq(listener_judge(ls, rl, 1002, "bob", 100000),
			 LISTENER_OK);
	ck_assert_uint_eq(fake_calls, 1 + 20 * LISTENER_CACHE_SIZE);
	free(rl);
	listener_senders_free(ls);
}

END_TEST

struct flood_tally {
	unsigned long v[LISTENER_RATE_NONROOT + 1];
};

/*
 * MANY_EACH datagrams from each of MANY_UIDS uids over the socket, each
 * sent as root with that uid in its credentials (as a user-namespace
 * root may send from any uid of its map), received and judged at now;
 * user NULL: a name of its own each.
 */
#define MANY_UIDS      300
#define MANY_EACH      25
#define MANY_FIRST_UID 100000u

static void
flood_judge(int rfd, int sfd, struct listener_senders *ls, struct ratelimit *rl,
	    const char *user, uint64_t now, struct flood_tally *t)
{
	char name[32], msg[FT_PROTO_MAX + 1];
	struct ft_event ev;
	unsigned i, j;
	uid_t got;

	for (i = 0; i < MANY_UIDS; i++) {
		for (j = 0; j < MANY_EACH; j++) {
			uid_t uid = MANY_FIRST_UID + i;
			size_t len;

			H_FMT(name, "f%ux%u", (unsigned)uid, j);
			len = h_event(user != NULL ? user : name, msg,
				      sizeof(msg));
			ck_assert_int_eq(h_sender_send_as(sfd, msg, len, 0, uid,
							  (gid_t)uid),
					 FT_OK);
			ck_assert_int_eq(listener_recv_raw(rfd, &ev, &got),
					 FT_OK);
			ck_assert_uint_eq(got, uid);
			t->v[listener_judge(ls, rl, got, ev.user, now)]++;
		}
	}
}

/*
 * Issue 12 item 4, at the listener: 300 uids x 25 forged datagrams of
 * one name cost one look-up (it was one per datagram within each uid's
 * burst: 6,000); of names of their own, the non-root bucket lets 58
 * through to a look-up (80 at once less the 20 kept for known senders
 * and the 2 taken before) and cuts the rest; bob, seen before, still
 * gets through at once, and a user not seen before once the bucket has
 * refilled (a second: 4 more).
 */
START_TEST(test_many_uids_flood)
{
	struct listener_senders *ls = fake_senders();
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	struct flood_tally same = {{0}}, own = {{0}};
	int rfd, sfd;

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, 20, 60, 240); /* the daemon's defaults */
	ck_assert_int_eq(listener_open(sock, &rfd), FT_OK);
	sfd = h_sender_open(sock);
	ck_assert_int_ge(sfd, 0);
	ck_assert_int_eq(listener_judge(ls, rl, 1002, "bob", 1000),
			 LISTENER_OK);
	flood_judge(rfd, sfd, ls, rl, "alice", 1000, &same);
	ck_assert_uint_eq(same.v[LISTENER_FORGED], MANY_UIDS * MANY_EACH);
	ck_assert_uint_eq(fake_calls, 2); /* bob, alice */
	flood_judge(rfd, sfd, ls, rl, NULL, 1000, &own);
	/* the first uid had 19 tokens left (its alice took one), the
	 * second 20: each is then over its own limit; the third takes the
	 * last 19 that look-ups may take, and the rest are cut */
	ck_assert_uint_eq(own.v[LISTENER_FORGED], 80 - 20 - 2);
	ck_assert_uint_eq(own.v[LISTENER_RATE_UID], (25 - 19) + (25 - 20));
	ck_assert_uint_eq(own.v[LISTENER_RATE_NONROOT],
			  MANY_UIDS * MANY_EACH - (80 - 20 - 2) - 11);
	ck_assert_uint_eq(own.v[LISTENER_OK], 0);
	ck_assert_uint_eq(fake_calls, 2 + 80 - 20 - 2);
	/* bob's screen locker, at once; carol's, once 4 more came */
	ck_assert_int_eq(listener_judge(ls, rl, 1002, "bob", 1000),
			 LISTENER_OK);
	ck_assert_int_eq(listener_judge(ls, rl, 1003, "carol", 1000),
			 LISTENER_RATE_NONROOT);
	ck_assert_int_eq(listener_judge(ls, rl, 1003, "carol", 2000),
			 LISTENER_OK);
	(void)close(sfd);
	(void)close(rfd);
	free(rl);
	listener_senders_free(ls);
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
	tcase_add_loop_test(tc, test_judge_case, 0, (int)NJCASES);
	tcase_add_test(tc, test_judge_lookup_error);
	tcase_add_test(tc, test_judge_owned_kept);
	tcase_add_test(tc, test_many_uids_flood);
	suite_add_tcase(s, tc);
	return s;
}
