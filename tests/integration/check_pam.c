/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_pam.c: pam_ftrack.so driven by the real libpam (pam_start_confdir
 * with a service file written at test time) and called directly: the
 * event on the wire, every fault of issue 3 and its fallback, arguments,
 * su-like callers, exported symbols.  Runs as root (chown, setresuid).
 * Hygiene, logs, the pamtester end-to-end test and a session stack of
 * only pam_ftrack: pamtest_hygiene.c, pamtest_logs.c, pamtest_e2e.c,
 * pamtest_alone.c.
 */
#include <check.h>
#include <fcntl.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_proto.h"
#include "harness.h"
#include "pamtest_suite.h"

Suite *pam_suite(void);

#define W       pamtest_world
#define NOBODY  PAMTEST_NOBODY
#define LOGIN2  pamtest_login2
#define SPOOLED pamtest_assert_spooled
#define NOSPOOL pamtest_assert_not_spooled
#define DIRECT  "pam_sm_open_session"

static const struct h_pam_login alice = {"alice", "10.1.2.3", "ssh", NULL};

static const char alice_msg[] =
	"FTSYNC1\nuser=alice\nservice=ftest\nrhost=10.1.2.3\ntty=ssh\n";

/* A login with only a user name, and its event. */
#define BARE(u)                                                                \
	{                                                                      \
		(u), NULL, NULL, NULL                                          \
	}
#define BARE_MSG(u) "FTSYNC1\nuser=" u "\nservice=ftest\n"

static int
listen_sock(void)
{
	int fd = h_pam_listen(W.sock, 0666);

	ck_assert_int_ge(fd, 0);
	return fd;
}

START_TEST(test_event_fields)
{
	struct h_pam_dgram d;
	int fd = listen_sock(), i;

	ck_assert_int_eq(LOGIN2(NULL, &alice), PAM_SUCCESS);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(h_pam_recv(fd, 2000, &d), 1);
		ck_assert_uint_eq(d.len, strlen(alice_msg));
		ck_assert(memcmp(d.data, alice_msg, d.len) == 0);
		ck_assert(d.decoded);
		ck_assert_str_eq(d.ev.user, "alice");
		ck_assert_str_eq(d.ev.service, "ftest");
		ck_assert_str_eq(d.ev.rhost, "10.1.2.3");
		ck_assert_str_eq(d.ev.tty, "ssh");
		ck_assert(d.has_cred);
		ck_assert_int_eq(d.cred.uid, 0);
		ck_assert_int_eq(d.cred.gid, 0);
		ck_assert_int_eq(d.cred.pid, getpid());
	}
	ck_assert_int_eq(h_pam_drain(fd), 0);
	NOSPOOL("alice");
	close(fd);
}

END_TEST

START_TEST(test_entry_points)
{
	static const struct h_pam_login bob = BARE("bob");
	struct h_pam_dgram d;
	char args[512];
	int fd = listen_sock();

	h_pam_args(&W, NULL, args, sizeof(args));
	/* auth and account report the login but never vouch for it */
	ck_assert_int_eq(h_pam_call(&W, "pam_sm_authenticate", &bob, args),
			 PAM_IGNORE);
	ck_assert_int_eq(h_pam_call(&W, "pam_sm_acct_mgmt", &bob, args),
			 PAM_IGNORE);
	ck_assert_int_eq(h_pam_drain(fd), 2);
	/* a session entry point always succeeds (issue 12 item 6) */
	ck_assert_int_eq(h_pam_call(&W, "pam_sm_close_session", &bob, args),
			 PAM_SUCCESS);
	/* setcred is part of auth: it vouches for nothing either */
	ck_assert_int_eq(h_pam_call(&W, "pam_sm_setcred", &bob, args),
			 PAM_IGNORE);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	ck_assert_int_eq(h_pam_call(&W, DIRECT, &bob, args), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_recv(fd, 2000, &d), 1);
	ck_assert_uint_eq(d.len, strlen(BARE_MSG("bob")));
	ck_assert(memcmp(d.data, BARE_MSG("bob"), d.len) == 0);
	/* not exported: no password stack entry */
	ck_assert_int_eq(h_pam_call(&W, "pam_sm_chauthtok", &bob, args), -1);
	close(fd);
}

END_TEST

START_TEST(test_no_socket)
{
	ck_assert_int_eq(LOGIN2(NULL, &alice), PAM_SUCCESS);
	SPOOLED("alice", alice_msg);
	ck_assert_int_eq(pamtest_count_entries(W.spool), 1); /* no temp file */
}

END_TEST

START_TEST(test_socket_is_regular_file)
{
	char buf[16];
	int fd = open(W.sock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	ck_assert_int_eq(LOGIN2(NULL, &alice), PAM_SUCCESS);
	SPOOLED("alice", alice_msg);
	ck_assert_int_eq(h_read_into(W.sock, buf, sizeof(buf)), 1);
}

END_TEST

START_TEST(test_socket_is_symlink)
{
	char real[160];
	int fd;

	snprintf(real, sizeof(real), "%s/real.sock", W.run);
	fd = h_pam_listen(real, 0666);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(symlink(real, W.sock), 0);
	ck_assert_int_eq(LOGIN2(NULL, &alice), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	SPOOLED("alice", alice_msg);
	close(fd);
}

END_TEST

START_TEST(test_socket_owner)
{
	static const struct h_pam_login bob = BARE("bob");
	int fd = listen_sock();

	ck_assert_int_eq(chown(W.sock, NOBODY, NOBODY), 0);
	ck_assert_int_eq(LOGIN2(NULL, &alice), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	SPOOLED("alice", alice_msg);
	/* the daemon's own account may own it (the later one wins) */
	ck_assert_int_eq(LOGIN2("daemon_user=nobody", &bob), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 2);
	NOSPOOL("bob");
	/* a daemon user that does not resolve trusts nobody but root */
	ck_assert_int_eq(LOGIN2("daemon_user=no-such-user-ftest", &bob),
			 PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	SPOOLED("bob", BARE_MSG("bob"));
	close(fd);
}

END_TEST

/* The socket's folder must be closed to others and owned by root. */
START_TEST(test_socket_folder)
{
	static const unsigned int modes[] = {0775, 0757, 01777};
	static const struct h_pam_login bob = BARE("bob");
	int fd = listen_sock();
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		ck_assert_int_eq(chmod(W.run, modes[i]), 0);
		ck_assert_int_eq(LOGIN2(NULL, &bob), PAM_SUCCESS);
		ck_assert_int_eq(h_pam_drain(fd), 0);
		SPOOLED("bob", BARE_MSG("bob"));
		pamtest_unspool("bob");
	}
	ck_assert_int_eq(chmod(W.run, 0755), 0);
	ck_assert_int_eq(chown(W.run, NOBODY, NOBODY), 0);
	ck_assert_int_eq(LOGIN2(NULL, &bob), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	ck_assert_int_eq(LOGIN2("daemon_user=nobody", &alice), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 2);
	close(fd);
}

END_TEST

/* A listener that never reads: the queue fills, the spool takes over. */
START_TEST(test_queue_full)
{
	static const struct h_pam_login bob = BARE("bob");
	char args[512];
	int fd = listen_sock(), i, queued;

	h_pam_args(&W, NULL, args, sizeof(args));
	for (i = 0; i < 64; i++)
		ck_assert_int_eq(h_pam_call(&W, DIRECT, &bob, args),
				 PAM_SUCCESS);
	queued = h_pam_drain(fd);
	ck_assert_int_ge(queued, 1);
	ck_assert_int_lt(queued, 64);
	SPOOLED("bob", BARE_MSG("bob"));
	ck_assert_int_eq(pamtest_count_entries(W.spool), 1);
	close(fd);
}

END_TEST

/*
 * No socket and no usable spool: the login goes on, the event is lost
 * (the callers check that nothing was written), and the session entry
 * point still answers PAM_SUCCESS (issue 12 item 6).
 */
static void
assert_dropped(const char *extra)
{
	static const struct h_pam_login bob = BARE("bob");

	ck_assert_int_eq(LOGIN2(extra, &bob), PAM_SUCCESS);
}

START_TEST(test_spool_unusable)
{
	char other[160], buf[16];
	int fd;

	ck_assert_int_eq(rmdir(W.spool), 0); /* missing */
	assert_dropped(NULL);
	ck_assert_int_eq(access(W.spool, F_OK), -1);
	fd = open(W.spool, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0); /* a regular file */
	close(fd);
	assert_dropped(NULL);
	ck_assert_int_eq(h_read_into(W.spool, buf, sizeof(buf)), 0);
	ck_assert_int_eq(unlink(W.spool), 0);
	snprintf(other, sizeof(other), "%s/other", W.dir); /* a symlink */
	ck_assert_int_eq(mkdir(other, 0700), 0);
	ck_assert_int_eq(symlink(other, W.spool), 0);
	assert_dropped(NULL);
	ck_assert_int_eq(pamtest_count_entries(other), 0);
	ck_assert_int_eq(unlink(W.spool), 0);
	ck_assert_int_eq(mkdir(W.spool, 0770), 0); /* open to its group */
	ck_assert_int_eq(chmod(W.spool, 0770), 0);
	assert_dropped(NULL);
	ck_assert_int_eq(chmod(W.spool, 0700), 0); /* an untrusted owner */
	ck_assert_int_eq(chown(W.spool, NOBODY, NOBODY), 0);
	assert_dropped(NULL);
	ck_assert_int_eq(pamtest_count_entries(W.spool), 0);
}

END_TEST

/* A spool folder of the daemon user: the file is handed over to it. */
START_TEST(test_spool_daemon_owned)
{
	static const struct h_pam_login bob = BARE("bob");
	char path[700];
	struct stat st;

	ck_assert_int_eq(chown(W.spool, NOBODY, NOBODY), 0);
	ck_assert_int_eq(LOGIN2("daemon_user=nobody", &bob), PAM_SUCCESS);
	h_pam_spool_path(&W, "bob", path, sizeof(path));
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_uid, NOBODY);
	ck_assert_int_eq(st.st_gid, NOBODY);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
}

END_TEST

/*
 * The same event spooled again (a login storm while the daemon is down):
 * the file stays, its time moves on.  A file that differs in bytes,
 * owner or links is replaced as before.
 */
START_TEST(test_spool_same_event)
{
	static const struct h_pam_login alice2 = {"alice", "10.9.9.9", "ssh",
						  NULL};
	const struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	char path[700], other[700], buf[256];
	struct stat st, st2;

	h_pam_spool_path(&W, "alice", path, sizeof(path));
	ck_assert_int_eq(LOGIN2(NULL, &alice), PAM_SUCCESS);
	SPOOLED("alice", alice_msg);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(LOGIN2(NULL, &alice), PAM_SUCCESS);
	SPOOLED("alice", alice_msg);
	ck_assert_int_eq(stat(path, &st2), 0);
	ck_assert_uint_eq(st2.st_ino, st.st_ino); /* not rewritten */
	ck_assert_int_gt(st2.st_mtime, old[1].tv_sec);
	/* another owner in a root folder: replaced, root's again */
	ck_assert_int_eq(chown(path, NOBODY, NOBODY), 0);
	ck_assert_int_eq(LOGIN2(NULL, &alice), PAM_SUCCESS);
	SPOOLED("alice", alice_msg);
	ck_assert_int_eq(stat(path, &st2), 0);
	ck_assert_uint_eq(st2.st_uid, 0);
	ck_assert_uint_ne(st2.st_ino, st.st_ino);
	/* a second link: replaced, the other name keeps its bytes */
	snprintf(other, sizeof(other), "%s/linked", W.dir);
	ck_assert_int_eq(link(path, other), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(LOGIN2(NULL, &alice), PAM_SUCCESS);
	ck_assert_int_eq(stat(path, &st2), 0);
	ck_assert_uint_ne(st2.st_ino, st.st_ino);
	ck_assert_uint_eq(st2.st_nlink, 1);
	ck_assert_int_eq(h_read_into(other, buf, sizeof(buf)),
			 (int)strlen(alice_msg));
	ck_assert_int_eq(unlink(other), 0);
	/* another event: replaced by the newer one */
	ck_assert_int_eq(LOGIN2(NULL, &alice2), PAM_SUCCESS);
	SPOOLED("alice",
		"FTSYNC1\nuser=alice\nservice=ftest\nrhost=10.9.9.9\ntty=ssh\n");
	ck_assert_int_eq(pamtest_count_entries(W.spool), 1);
}

END_TEST

/* Symlinks planted at the queue file and at the temp file: not followed. */
START_TEST(test_spool_symlink_planted)
{
	char target[160], target2[160], path[700], tmp[800], buf[64];
	struct stat st;

	snprintf(target, sizeof(target), "%s/target", W.dir);
	snprintf(target2, sizeof(target2), "%s/target2", W.dir);
	ck_assert_int_eq(h_write_file(target, "original", 0644), 0);
	ck_assert_int_eq(h_write_file(target2, "original2", 0644), 0);
	h_pam_spool_path(&W, "alice", path, sizeof(path));
	ck_assert_int_eq(symlink(target, path), 0);
	/* ft_write_atomic's temp name for this thread */
	snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.%ld", W.spool,
		 strrchr(path, '/') + 1, (long)getpid(), (long)gettid());
	ck_assert_int_eq(symlink(target2, tmp), 0);
	ck_assert_int_eq(LOGIN2(NULL, &alice), PAM_SUCCESS);
	SPOOLED("alice", alice_msg);
	ck_assert_int_eq(h_read_into(target, buf, sizeof(buf)), 8);
	ck_assert(memcmp(buf, "original", 8) == 0);
	ck_assert_int_eq(h_read_into(target2, buf, sizeof(buf)), 9);
	ck_assert(memcmp(buf, "original2", 9) == 0);
	ck_assert_int_eq(lstat(tmp, &st), -1);
	ck_assert_int_eq(pamtest_count_entries(W.spool), 1);
}

END_TEST

START_TEST(test_bad_args)
{
	char extra[512], longpath[200];
	int fd = listen_sock();

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	/* each is logged and ignored: the good socket= and spool= stay */
	snprintf(extra, sizeof(extra),
		 "frobnicate min_uid=abc min_uid=-1 min_uid=99999999999 "
		 "socket=relative.sock socket= socket=%s spool= "
		 "spool=queue daemon_user= debug=1 skip_users =x",
		 longpath);
	ck_assert_int_eq(LOGIN2(extra, &alice), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 2);
	NOSPOOL("alice");
	close(fd);
}

END_TEST

START_TEST(test_user_unresolved)
{
	static const struct h_pam_login ghost = BARE("no-such-user-ftest");
	struct h_pam_dgram d;
	int fd = listen_sock();

	/* min_uid applies only to users that resolve: the daemon decides */
	ck_assert_int_eq(LOGIN2("min_uid=1000", &ghost), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_recv(fd, 2000, &d), 1);
	ck_assert(d.decoded);
	ck_assert_str_eq(d.ev.user, "no-such-user-ftest");
	ck_assert_int_eq(h_pam_drain(fd), 1);
	close(fd);
}

END_TEST

START_TEST(test_skip_users)
{
	static const struct h_pam_login root = BARE("root");
	static const struct h_pam_login bob = BARE("bob");
	static const struct h_pam_login bo = BARE("bo");
	static const struct h_pam_login carol = BARE("carol");
	int fd = listen_sock();

	/* skipped: nothing sent, and still PAM_SUCCESS (issue 12 item 6) */
	ck_assert_int_eq(LOGIN2(NULL, &root), PAM_SUCCESS); /* default: root */
	ck_assert_int_eq(h_pam_drain(fd), 0);
	ck_assert_int_eq(LOGIN2("skip_users=alice,bob", &bob), PAM_SUCCESS);
	ck_assert_int_eq(LOGIN2("skip_users=alice,bob", &alice), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	ck_assert_int_eq(LOGIN2("skip_users=alice,bob", &root), PAM_SUCCESS);
	ck_assert_int_eq(LOGIN2("skip_users=alice,bob", &bo), PAM_SUCCESS);
	ck_assert_int_eq(LOGIN2("skip_users=alice,bob", &carol), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 6);
	ck_assert_int_eq(LOGIN2("skip_users=", &root), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 2);
	NOSPOOL("root");
	close(fd);
}

END_TEST

START_TEST(test_min_uid)
{
	static const struct h_pam_login daemon = BARE("daemon"); /* uid 1 */
	static const struct h_pam_login nobody = BARE("nobody");
	int fd = listen_sock();

	ck_assert_int_eq(LOGIN2("min_uid=1000", &daemon), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	ck_assert_int_eq(LOGIN2("min_uid=1000", &nobody), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 2);
	ck_assert_int_eq(LOGIN2("min_uid=1", &daemon), PAM_SUCCESS);
	ck_assert_int_eq(LOGIN2(NULL, &daemon), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 4);
	close(fd);
}

END_TEST

/* Values the codec refuses: an optional field is left out, a user not. */
START_TEST(test_bad_values)
{
	static const struct h_pam_login bad_user = BARE("al\xffice");
	static const struct h_pam_login ctl_user = BARE("al\nice");
	static const struct h_pam_login fields = {"bob", "10.0.0.\xc3\x28",
						  "\x01tty", NULL};
	struct h_pam_login big = BARE(NULL);
	char user[300], args[512];
	struct h_pam_dgram d;
	int fd = listen_sock();

	ck_assert_int_eq(LOGIN2(NULL, &bad_user), PAM_SUCCESS);
	ck_assert_int_eq(LOGIN2(NULL, &ctl_user), PAM_SUCCESS);
	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	big.user = user; /* 299 bytes: over FT_PROTO_VALUE_MAX */
	ck_assert_int_eq(LOGIN2(NULL, &big), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	/* direct only: libpam's audit code would try to resolve the rhost */
	h_pam_args(&W, NULL, args, sizeof(args));
	ck_assert_int_eq(h_pam_call(&W, DIRECT, &fields, args), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_recv(fd, 2000, &d), 1);
	ck_assert_uint_eq(d.len, strlen(BARE_MSG("bob")));
	ck_assert(memcmp(d.data, BARE_MSG("bob"), d.len) == 0);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	close(fd);
}

END_TEST

/* Four fields of 256 bytes do not fit 1024: tty is left out. */
START_TEST(test_long_fields)
{
	char user[257], service[257], rhost[257], tty[257];
	struct h_pam_login big = {user, rhost, tty, service};
	struct h_pam_dgram d;
	char args[512];
	int fd = listen_sock();

	memset(user, 'u', 256);
	memset(service, 's', 256);
	memset(rhost, 'r', 256);
	memset(tty, 't', 256);
	user[256] = service[256] = rhost[256] = tty[256] = '\0';
	h_pam_args(&W, NULL, args, sizeof(args));
	ck_assert_int_eq(h_pam_call(&W, DIRECT, &big, args), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_recv(fd, 2000, &d), 1);
	ck_assert(d.decoded);
	ck_assert_str_eq(d.ev.user, user);
	ck_assert_str_eq(d.ev.service, service);
	ck_assert_str_eq(d.ev.rhost, rhost);
	ck_assert_str_eq(d.ev.tty, "");
	close(fd);
}

END_TEST

START_TEST(test_no_user)
{
	static const struct h_pam_login nouser = BARE(NULL);
	static const struct h_pam_login empty = BARE("");
	char args[512];
	int fd = listen_sock();

	h_pam_args(&W, NULL, args, sizeof(args));
	ck_assert_int_eq(h_pam_call(&W, DIRECT, &nouser, args), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_call(&W, DIRECT, &empty, args), PAM_SUCCESS);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	close(fd);
}

END_TEST

/*
 * Fork; the child takes the ids (ruid, euid) and runs one login through
 * the stack and one direct call, each expected to return want.  Returns
 * the child's pid after it exited 0.
 */
static pid_t
login_as(uid_t ruid, uid_t euid, int want)
{
	static const struct h_pam_login carol = BARE("carol");
	char args[512];
	pid_t pid;
	int status = -1;

	h_pam_args(&W, NULL, args, sizeof(args));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		gid_t g = euid == 0 ? 0 : NOBODY;

		if (setresgid(g, g, g) < 0 || setresuid(ruid, euid, 0) < 0 ||
		    (euid != 0 && setresuid(ruid, euid, euid) < 0))
			_exit(10);
		if (getuid() != ruid || geteuid() != euid)
			_exit(11);
		if (h_pam_session(W.confdir, "ftest", &carol, NULL) !=
		    PAM_SUCCESS)
			_exit(12);
		_exit(h_pam_call(&W, DIRECT, &carol, args) == want ? 0 : 13);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child failed: status %d", status);
	return pid;
}

/* su or sudo: real uid of a user, effective uid 0: the event says 0. */
START_TEST(test_su_like)
{
	struct h_pam_dgram d;
	int fd = listen_sock(), i;
	pid_t pid;

	pid = login_as(NOBODY, 0, PAM_SUCCESS);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(h_pam_recv(fd, 2000, &d), 1);
		ck_assert(d.decoded);
		ck_assert_str_eq(d.ev.user, "carol");
		ck_assert(d.has_cred);
		ck_assert_int_eq(d.cred.uid, 0);
		ck_assert_int_eq(d.cred.pid, pid);
	}
	close(fd);
}

END_TEST

/* A screen locker runs PAM as the user: sent as that uid, never spooled. */
START_TEST(test_not_root)
{
	struct h_pam_dgram d;
	int fd = listen_sock(), i;

	ck_assert_int_eq(chmod(W.dir, 0755), 0);
	ck_assert_int_eq(chmod(W.confdir, 0755), 0);
	login_as(NOBODY, NOBODY, PAM_SUCCESS);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(h_pam_recv(fd, 2000, &d), 1);
		ck_assert(d.has_cred);
		ck_assert_int_eq(d.cred.uid, NOBODY);
		ck_assert_int_eq(d.cred.gid, NOBODY);
	}
	close(fd);
	ck_assert_int_eq(unlink(W.sock), 0);
	login_as(NOBODY, NOBODY, PAM_SUCCESS); /* dropped, still a success */
	NOSPOOL("carol");
	ck_assert_int_eq(pamtest_count_entries(W.spool), 0);
}

END_TEST

/* The .so exports pam_sm_* and nothing else (STYLE.md 10.5). */
START_TEST(test_exports)
{
	char cmd[PATH_MAX + 64], line[256], type[8], name[128];
	int n = 0;
	FILE *f;

	if (system("command -v nm >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_exports: nm not installed, skipped\n");
		return;
	}
	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s'", W.module);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *sp = strrchr(line, ' ');

		ck_assert_ptr_nonnull(sp);
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(sp + 1, "\n"),
			 sp + 1);
		snprintf(type, sizeof(type), "%c", sp > line ? sp[-1] : '?');
		ck_assert_msg(strncmp(name, "pam_sm_", 7) == 0,
			      "exported: %s %s", type, name);
		n++;
	}
	ck_assert_int_eq(pclose(f), 0);
	ck_assert_int_eq(n, 5);
}

END_TEST

Suite *
pam_suite(void)
{
	Suite *s = suite_create("pam");
	TCase *tc = tcase_create("module");

	tcase_add_checked_fixture(tc, pamtest_world_setup,
				  pamtest_world_teardown);
	tcase_add_test(tc, test_event_fields);
	tcase_add_test(tc, test_entry_points);
	tcase_add_test(tc, test_no_socket);
	tcase_add_test(tc, test_socket_is_regular_file);
	tcase_add_test(tc, test_socket_is_symlink);
	tcase_add_test(tc, test_socket_owner);
	tcase_add_test(tc, test_socket_folder);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_spool_unusable);
	tcase_add_test(tc, test_spool_daemon_owned);
	tcase_add_test(tc, test_spool_same_event);
	tcase_add_test(tc, test_spool_symlink_planted);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_user_unresolved);
	tcase_add_test(tc, test_skip_users);
	tcase_add_test(tc, test_min_uid);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_long_fields);
	tcase_add_test(tc, test_no_user);
	tcase_add_test(tc, test_su_like);
	tcase_add_test(tc, test_not_root);
	tcase_add_test(tc, test_exports);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, pamtest_hygiene_tcase());
	suite_add_tcase(s, pamtest_logs_tcase());
	suite_add_tcase(s, pamtest_e2e_tcase());
	suite_add_tcase(s, pamtest_alone_tcase());
	return s;
}
