/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_queue.c: the spool (syncd/queue.c) on real folders: round trips,
 * coalescing, failed/, damaged files, PAM fallback files, stale temps,
 * unsafe folders, a full disk (private tmpfs), scan order and limits, and
 * the back-off bounds.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"
#include "harness.h"
#include "queue.h"

Suite *queue_suite(void);

#define SET(dst, src) snprintf((dst), sizeof(dst), "%s", (src))
#define MAXSEEN       16

static char tmpdir[64];
static char state[128];
static struct queue *q;

struct seen {
	struct ft_event ev[MAXSEEN];
	size_t n;
	char damaged[MAXSEEN][NAME_MAX + 1];
	char reason[MAXSEEN][256];
	size_t nd;
	int stop_with; /* non-zero: return it from the first event */
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
setup(void)
{
	SET(tmpdir, "/tmp/ftq.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_lt(snprintf(state, sizeof(state), "%s/state", tmpdir),
			 (int)sizeof(state));
	q = NULL;
}

static void
teardown(void)
{
	queue_free(q);
	q = NULL;
	(void)nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A path under the state folder (static buffer, one at a time). */
static const char *
sp(const char *rel)
{
	static char p[PATH_MAX];

	ck_assert_int_lt(snprintf(p, sizeof(p), "%s/%s", state, rel),
			 (int)sizeof(p));
	return p;
}

static struct ft_event
mkev(const char *user, const char *service)
{
	struct ft_event ev;

	memset(&ev, 0, sizeof(ev));
	SET(ev.user, user);
	SET(ev.service, service);
	SET(ev.rhost, "10.1.2.3");
	SET(ev.tty, "ssh");
	return ev;
}

static void
hex(const char *user, char *out, size_t cap)
{
	ck_assert_int_eq(ft_hex_encode(user, strlen(user), out, cap), FT_OK);
}

static void
write_raw(const char *rel, const void *data, size_t len)
{
	int fd = open(sp(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* Read a file under state into buf (NUL-terminated); returns length. */
static size_t
read_rel(const char *rel, char *buf, size_t cap)
{
	int fd = open(sp(rel), O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, cap - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	(void)close(fd);
	return (size_t)n;
}

static bool
exists(const char *rel)
{
	struct stat st;

	return lstat(sp(rel), &st) == 0;
}

static void
set_mtime(const char *rel, time_t t)
{
	struct timespec ts[2] = {{t, 0}, {t, 0}};

	ck_assert_int_eq(utimensat(AT_FDCWD, sp(rel), ts, AT_SYMLINK_NOFOLLOW),
			 0);
}

static int
on_event(void *ctx, const struct ft_event *ev)
{
	struct seen *s = ctx;

	ck_assert_uint_lt(s->n, MAXSEEN);
	s->ev[s->n++] = *ev;
	return s->stop_with;
}

static void
on_damaged(void *ctx, const char *name, const char *reason)
{
	struct seen *s = ctx;

	ck_assert_uint_lt(s->nd, MAXSEEN);
	SET(s->damaged[s->nd], name);
	SET(s->reason[s->nd], reason);
	s->nd++;
}

static int
scan(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return queue_scan(q, on_event, on_damaged, s);
}

static size_t
depth(void)
{
	size_t n = 99999;

	ck_assert_int_eq(queue_depth(q, &n), FT_OK);
	return n;
}

static size_t
failed_count(void)
{
	size_t n = 99999;

	ck_assert_int_eq(queue_failed_count(q, &n), FT_OK);
	return n;
}

static void
put(const char *user, const char *service)
{
	struct ft_event ev = mkev(user, service);

	ck_assert_int_eq(queue_put(q, &ev), FT_OK);
}

START_TEST(test_open_creates)
{
	struct stat st;

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	ck_assert_int_eq(lstat(sp("queue/failed"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(lstat(sp("reports"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_ge(queue_state_dirfd(q), 0);
	ck_assert_int_ge(queue_reports_dirfd(q), 0);
	ck_assert_uint_eq(depth(), 0);
	ck_assert_uint_eq(failed_count(), 0);
	queue_free(q);
	/* opening again is fine; a missing parent is an I/O error */
	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	queue_free(q);
	q = NULL;
	ck_assert_int_eq(queue_open(sp("no/such"), &q), FT_E_IO);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(queue_open("", &q), FT_E_INVAL);
}

END_TEST

START_TEST(test_round_trip)
{
	struct seen s;
	char name[64];

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	put("alice", "sshd");
	put("bob", "login");
	hex("alice", name, sizeof(name));
	ck_assert_str_eq(name, "616c696365");
	ck_assert(exists("queue/616c696365"));
	ck_assert_uint_eq(depth(), 2);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(s.nd, 0);
	for (size_t i = 0; i < 2; i++) {
		bool a = strcmp(s.ev[i].user, "alice") == 0;

		ck_assert_str_eq(s.ev[i].service, a ? "sshd" : "login");
		ck_assert_str_eq(s.ev[i].rhost, "10.1.2.3");
		ck_assert_str_eq(s.ev[i].tty, "ssh");
	}
	ck_assert_str_ne(s.ev[0].user, s.ev[1].user);
	ck_assert_int_eq(queue_remove(q, "alice"), FT_OK);
	ck_assert_int_eq(queue_remove(q, "alice"), FT_OK); /* idempotent */
	ck_assert_uint_eq(depth(), 1);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.ev[0].user, "bob");
	/* a scan changes nothing: delivered again */
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 1);
}

END_TEST

START_TEST(test_replace)
{
	struct seen s;

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	put("alice", "sshd");
	put("alice", "gdm-password");
	ck_assert_uint_eq(depth(), 1);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.ev[0].user, "alice");
	ck_assert_str_eq(s.ev[0].service, "gdm-password");
}

END_TEST

/* The single error= value of a failed/ file (copied to out). */
static void
failed_error(const char *user, char *out, size_t cap, struct ft_event *ev)
{
	char name[600], rel[700], buf[FT_PROTO_MAX + 2];
	const char *e, *nl;
	size_t len;

	hex(user, name, sizeof(name));
	ck_assert_int_lt(snprintf(rel, sizeof(rel), "queue/failed/%s", name),
			 (int)sizeof(rel));
	len = read_rel(rel, buf, sizeof(buf));
	ck_assert_uint_le(len, FT_PROTO_MAX);
	ck_assert_int_eq(ft_event_decode(buf, len, ev), FT_OK);
	e = strstr(buf, "\nerror=");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(strstr(e + 1, "\nerror="));
	e += strlen("\nerror=");
	nl = strchr(e, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_int_eq(nl[1], '\0');
	ck_assert_int_eq(ft_proto_value_ok(e, (size_t)(nl - e)), FT_OK);
	ck_assert_uint_lt((size_t)(nl - e), cap);
	memcpy(out, e, (size_t)(nl - e));
	out[nl - e] = '\0';
}

START_TEST(test_put_rejects)
{
	struct ft_event ev = mkev("", "sshd");
	char longname[QUEUE_USER_MAX + 2];
	char reason[300], got[FT_PROTO_VALUE_MAX + 1];
	struct seen s;

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	ck_assert_int_eq(queue_put(q, &ev), FT_E_INVAL);
	ev = mkev("bad\nname", "sshd");
	ck_assert_int_eq(queue_put(q, &ev), FT_E_INVAL);
	memset(longname, 'u', sizeof(longname));
	longname[QUEUE_USER_MAX + 1] = '\0';
	ev = mkev(longname, "sshd");
	ck_assert_int_eq(queue_put(q, &ev), FT_E_TOOBIG);
	ck_assert_int_eq(queue_remove(q, longname), FT_E_TOOBIG);
	ck_assert_int_eq(queue_fail(q, "", "x"), FT_E_INVAL);
	ck_assert_uint_eq(depth(), 0);
	/* the longest spoolable name works, with every field at its maximum */
	longname[QUEUE_USER_MAX] = '\0';
	ev = mkev(longname, "sshd");
	memset(ev.service, 's', FT_PROTO_VALUE_MAX);
	memset(ev.rhost, 'r', FT_PROTO_VALUE_MAX);
	memset(ev.tty, 't', FT_PROTO_VALUE_MAX);
	ck_assert_int_eq(queue_put(q, &ev), FT_OK);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.ev[0].user, longname);
	ck_assert_uint_eq(strlen(s.ev[0].service), FT_PROTO_VALUE_MAX);
	/* and it can be failed: the error line is cut to fit FT_PROTO_MAX */
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	ck_assert_int_eq(queue_fail(q, longname, reason), FT_OK);
	ck_assert_uint_eq(failed_count(), 1);
	failed_error(longname, got, sizeof(got), &ev);
	ck_assert_uint_gt(strlen(got), 0);
	ck_assert_uint_lt(strlen(got), 200);
	ck_assert_str_eq(ev.user, longname);
}

END_TEST

START_TEST(test_fail)
{
	char err[FT_PROTO_VALUE_MAX + 1], big[2000], from[PATH_MAX];
	struct ft_event ev;
	struct seen s;

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	put("alice", "sshd");
	ck_assert_int_eq(
		queue_fail(q, "alice",
			   "HTTP 422:\nbad\x01 value \xff end \xc3\xa9"),
		FT_OK);
	ck_assert_uint_eq(depth(), 0);
	ck_assert_uint_eq(failed_count(), 1);
	failed_error("alice", err, sizeof(err), &ev);
	/* the reason through the one cleaner: escaped, still a codec value */
	ck_assert_str_eq(err, "HTTP 422:\\nbad\\x01 value \\xff end \xc3\xa9");
	ck_assert_str_eq(ev.user, "alice");
	ck_assert_str_eq(ev.service, "sshd");
	/* a bidi override (which the codec takes) and a C1 control: escaped,
	 * so that `cat queue/failed/...` shows them too */
	H_FMT(from, "%s", sp("queue/failed/616c696365"));
	ck_assert_int_eq(rename(from, sp("queue/616c696365")), 0);
	ck_assert_int_eq(queue_fail(q, "alice", "x\xe2\x80\xae\xc2\x9by"),
			 FT_OK);
	failed_error("alice", err, sizeof(err), &ev);
	ck_assert_str_eq(err, "x\\u202e\\u009by");
	/* nothing left to deliver; a later event is a fresh queue file */
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 0);
	put("alice", "login");
	ck_assert_uint_eq(depth(), 1);
	ck_assert_uint_eq(failed_count(), 1);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_str_eq(s.ev[0].service, "login");
	/* failing again replaces the failed/ file and its one error line */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(queue_fail(q, "alice", big), FT_OK);
	failed_error("alice", err, sizeof(err), &ev);
	ck_assert_uint_eq(strlen(err), FT_PROTO_VALUE_MAX);
	ck_assert_str_eq(err + FT_PROTO_VALUE_MAX - 4, "\\..."); /* cut, said */
	ck_assert_str_eq(ev.service, "login");
	/* an admin moves it back to retry: decodes (error= skipped) */
	H_FMT(from, "%s", sp("queue/failed/616c696365"));
	ck_assert_int_eq(rename(from, sp("queue/616c696365")), 0);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.nd, 0);
	ck_assert_int_eq(queue_fail(q, "alice", NULL), FT_OK);
	failed_error("alice", err, sizeof(err), &ev);
	ck_assert_str_eq(err, "unknown");
	ck_assert_int_eq(queue_fail(q, "nobody", "x"), FT_E_NOTFOUND);
}

END_TEST

struct damage {
	const char *name; /* in queue/ */
	const char *data; /* NULL: special (see setup_damage) */
	size_t len;
};

static const struct damage damages[] = {
	/* hex("carol"): cut short */
	{"6361726f6c", "FTSYNC1\nuser=car", 16},
	/* hex("dave"): bad bytes */
	{"64617665", "FTSYNC1\nuser=dave\nservice=\xff\n", 28},
	/* not a hex name, good content */
	{"notHex", "FTSYNC1\nuser=alice\n", 19},
	/* hex("eve"), content for mallory */
	{"657665", "FTSYNC1\nuser=mallory\n", 21},
	/* hex("ivy"): empty */
	{"697679", "", 0},
	/* hex("jo"): NUL inside */
	{"6a6f", "FTSYNC1\nuser=jo\0\n", 17},
	/* hex("kim"): wrong version word */
	{"6b696d", "FTSYNC2\nuser=kim\n", 17},
	/* odd hex, uppercase hex, hex of a control character */
	{"616", "FTSYNC1\nuser=a\n", 15},
	{"6A6F", "FTSYNC1\nuser=jo\n", 16},
	{"0a", "FTSYNC1\nuser=x\n", 15},
};

#define NDAMAGES (sizeof(damages) / sizeof(damages[0]))

/* The special cases: symlink, folder, FIFO, oversize. */
static void
setup_special_damage(void)
{
	char big[FT_PROTO_MAX + 100];
	size_t n;

	write_raw("target", "FTSYNC1\nuser=frank\n", 19);
	ck_assert_int_eq(symlink("../target", sp("queue/6672616e6b")), 0);
	ck_assert_int_eq(mkdir(sp("queue/67696e61"), 0700), 0);  /* gina */
	ck_assert_int_eq(mkfifo(sp("queue/68616e6b"), 0600), 0); /* hank */
	n = (size_t)snprintf(big, sizeof(big), "FTSYNC1\nuser=lou\nservice=");
	memset(big + n, 'a', sizeof(big) - n - 1);
	big[sizeof(big) - 1] = '\n';
	write_raw("queue/6c6f75", big, sizeof(big)); /* lou */
	/* an in-flight temp file: not ours to judge */
	write_raw("queue/.6d6178.1.2", "FTSYNC1\n", 8);
}

static bool
reported(const struct seen *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nd; i++) {
		if (strcmp(s->damaged[i], name) == 0) {
			ck_assert_str_ne(s->reason[i], "");
			ck_assert_ptr_null(strstr(s->reason[i], "not moved"));
			return true;
		}
	}
	return false;
}

START_TEST(test_damaged)
{
	static const char *const special[] = {"6672616e6b", "67696e61",
					      "68616e6b", "6c6f75"};
	char rel[300];
	struct seen s;
	size_t i;

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	put("alice", "sshd");
	for (i = 0; i < NDAMAGES; i++) {
		SET(rel, "queue/");
		ck_assert_uint_lt(strlen(rel) + strlen(damages[i].name),
				  sizeof(rel));
		memcpy(rel + 6, damages[i].name, strlen(damages[i].name) + 1);
		write_raw(rel, damages[i].data, damages[i].len);
	}
	setup_special_damage();
	put("bob", "sshd");
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_ne(s.ev[0].user, s.ev[1].user);
	for (i = 0; i < 2; i++)
		ck_assert(strcmp(s.ev[i].user, "alice") == 0 ||
			  strcmp(s.ev[i].user, "bob") == 0);
	ck_assert_uint_eq(s.nd, NDAMAGES + 4);
	for (i = 0; i < NDAMAGES; i++) {
		ck_assert_msg(reported(&s, damages[i].name), "%s",
			      damages[i].name);
		H_FMT(rel, "queue/failed/%s.damaged", damages[i].name);
		ck_assert_msg(exists(rel), "%s", rel);
	}
	for (i = 0; i < 4; i++) {
		ck_assert(reported(&s, special[i]));
		H_FMT(rel, "queue/failed/%s.damaged", special[i]);
		ck_assert_msg(exists(rel), "%s", rel);
	}
	/* the symlink was moved, not followed: its target is untouched */
	ck_assert(exists("target"));
	/* only the good ones (and the temp file) are left */
	ck_assert_uint_eq(depth(), 2);
	ck_assert(exists("queue/.6d6178.1.2"));
	ck_assert_uint_eq(failed_count(), NDAMAGES + 4);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(s.nd, 0);
}

END_TEST

START_TEST(test_damage_reasons)
{
	struct seen s;

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	write_raw("queue/6361726f6c", "FTSYNC1\nuser=carol", 18);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.nd, 1);
	ck_assert_ptr_nonnull(strstr(s.reason[0], "cut short"));
	write_raw("queue/64617665", "FTSYNC1\nuser=dave\xff\n", 19);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_ptr_nonnull(strstr(s.reason[0], "bad bytes"));
	write_raw("queue/657665", "FTSYNC1\nuser=mallory\n", 21);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_ptr_nonnull(strstr(s.reason[0], "does not match"));
	ck_assert_int_eq(symlink("/etc/passwd", sp("queue/6672616e6b")), 0);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_ptr_nonnull(strstr(s.reason[0], "symbolic link"));
	ck_assert_int_eq(mkdir(sp("queue/67696e61"), 0700), 0);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_ptr_nonnull(strstr(s.reason[0], "not a regular file"));
	/* a second damaged folder of the same name cannot replace a
	 * non-empty one: reported, left in place, the scan goes on */
	ck_assert_int_eq(mkdir(sp("queue/failed/6a6f.damaged"), 0700), 0);
	write_raw("queue/failed/6a6f.damaged/x", "x", 1);
	ck_assert_int_eq(mkdir(sp("queue/6a6f"), 0700), 0);
	put("alice", "sshd");
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.nd, 1);
	ck_assert_ptr_nonnull(strstr(s.reason[0], "not moved aside"));
	ck_assert_uint_eq(s.n, 1);
}

END_TEST

START_TEST(test_pam_fallback)
{
	struct ft_event ev = mkev("pat", "sshd"), got;
	char buf[FT_PROTO_MAX + 1], name[64];
	struct seen s;
	size_t len;
	int fd;

	/* the daemon created the folders once, then stopped */
	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	queue_free(q);
	q = NULL;
	/* the PAM module spools as its fallback */
	fd = open(sp("queue"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ft_event_encode(&ev, buf, sizeof(buf), &len), FT_OK);
	hex("pat", name, sizeof(name));
	ck_assert_int_eq(ft_write_atomic(fd, name, buf, len), FT_OK);
	(void)close(fd);
	/* the daemon starts and picks it up */
	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	ck_assert_uint_eq(depth(), 1);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 1);
	got = s.ev[0];
	ck_assert_str_eq(got.user, "pat");
	ck_assert_str_eq(got.service, "sshd");
	ck_assert_str_eq(got.rhost, "10.1.2.3");
}

END_TEST

/* A spool file of the name PAM had, journaled again as its login: the
 * other fields kept, an older event of the login replaced, one file. */
START_TEST(test_move)
{
	struct seen s;
	char from[128], rel[160];

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	put("alice", "sshd");
	put("ALICE@CORP", "gdm-password");
	ck_assert_uint_eq(depth(), 2);
	ck_assert_int_eq(queue_move(q, "ALICE@CORP", "alice"), FT_OK);
	ck_assert_uint_eq(depth(), 1);
	hex("ALICE@CORP", from, sizeof(from));
	(void)snprintf(rel, sizeof(rel), "queue/%s", from);
	ck_assert(!exists(rel));
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.nd, 0);
	ck_assert_str_eq(s.ev[0].user, "alice");
	ck_assert_str_eq(s.ev[0].service, "gdm-password");
	ck_assert_str_eq(s.ev[0].rhost, "10.1.2.3");
	/* gone, a bad target, a damaged source (left for the scan) */
	ck_assert_int_eq(queue_move(q, "ALICE@CORP", "alice"), FT_E_NOTFOUND);
	put("bob@corp", "sshd");
	ck_assert_int_eq(queue_move(q, "bob@corp", ""), FT_E_INVAL);
	ck_assert_int_eq(queue_move(q, "bob@corp", "bad\nname"), FT_E_INVAL);
	hex("bob@corp", from, sizeof(from));
	(void)snprintf(rel, sizeof(rel), "queue/%s", from);
	ck_assert(exists(rel));
	write_raw(rel, "FTSYNC1\nuser=someone-else\n", 26);
	ck_assert_int_eq(queue_move(q, "bob@corp", "bob"), FT_E_PROTO);
	ck_assert(exists(rel));
	ck_assert_int_eq(queue_move(q, "", "bob"), FT_E_INVAL);
}

END_TEST

START_TEST(test_stale_temps)
{
	time_t old = time(NULL) - (time_t)2 * QUEUE_STALE_TEMP_SECONDS;

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	queue_free(q);
	q = NULL;
	write_raw("queue/.616c696365.11.12", "FTSYNC1\n", 8);
	set_mtime("queue/.616c696365.11.12", old);
	write_raw("queue/.626f62.11.12", "FTSYNC1\n", 8); /* fresh */
	write_raw("queue/failed/.616c696365.1.2", "x", 1);
	set_mtime("queue/failed/.616c696365.1.2", old);
	write_raw(".metrics.prom.7.stage", "x", 1);
	set_mtime(".metrics.prom.7.stage", old);
	write_raw("reports/.held.json.1.2", "x", 1);
	set_mtime("reports/.held.json.1.2", old);
	write_raw("reports/held.json", "{}", 2); /* not a temp file */
	set_mtime("reports/held.json", old);
	ck_assert_int_eq(mkdir(sp("queue/.olddir"), 0700), 0);
	set_mtime("queue/.olddir", old);
	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	ck_assert(!exists("queue/.616c696365.11.12"));
	ck_assert(exists("queue/.626f62.11.12"));
	ck_assert(!exists("queue/failed/.616c696365.1.2"));
	ck_assert(!exists(".metrics.prom.7.stage"));
	ck_assert(!exists("reports/.held.json.1.2"));
	ck_assert(exists("reports/held.json"));
	ck_assert(exists("queue/.olddir"));
	ck_assert_uint_eq(depth(), 0);
}

END_TEST

START_TEST(test_unsafe_modes)
{
	ck_assert_int_eq(mkdir(state, 0700), 0);
	ck_assert_int_eq(mkdir(sp("queue"), 0700), 0);
	ck_assert_int_eq(chmod(sp("queue"), 0777), 0);
	ck_assert_int_eq(queue_open(state, &q), FT_E_PERM);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(chmod(sp("queue"), 0720), 0);
	ck_assert_int_eq(queue_open(state, &q), FT_E_PERM);
	ck_assert_int_eq(chmod(sp("queue"), 0702), 0);
	ck_assert_int_eq(queue_open(state, &q), FT_E_PERM);
	ck_assert_int_eq(chmod(sp("queue"), 0750), 0); /* readable is fine */
	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	queue_free(q);
	q = NULL;
	ck_assert_int_eq(chmod(sp("queue/failed"), 0777), 0);
	ck_assert_int_eq(queue_open(state, &q), FT_E_PERM);
	ck_assert_int_eq(chmod(sp("queue/failed"), 0700), 0);
	ck_assert_int_eq(chmod(state, 0777), 0);
	ck_assert_int_eq(queue_open(state, &q), FT_E_PERM);
	ck_assert_int_eq(chmod(state, 0700), 0);
	/* owned by someone else (not us, not root) */
	ck_assert_int_eq(chown(sp("reports"), 65534, 65534), 0);
	ck_assert_int_eq(queue_open(state, &q), FT_E_PERM);
	ck_assert_int_eq(chown(sp("reports"), 0, 0), 0);
	ck_assert_int_eq(queue_open(state, &q), FT_OK);
}

END_TEST

START_TEST(test_symlinks_refused)
{
	char elsewhere[128], link[128];

	ck_assert_int_eq(mkdir(state, 0700), 0);
	H_FMT(elsewhere, "%s/elsewhere", tmpdir);
	ck_assert_int_eq(mkdir(elsewhere, 0700), 0);
	ck_assert_int_eq(symlink("../elsewhere", sp("queue")), 0);
	ck_assert_int_eq(queue_open(state, &q), FT_E_PERM);
	ck_assert_ptr_null(q);
	/* nothing was created through the link */
	ck_assert_int_eq(rmdir(elsewhere), 0);
	/* a dangling one too */
	ck_assert_int_eq(queue_open(state, &q), FT_E_PERM);
	ck_assert_int_eq(unlink(sp("queue")), 0);
	/* and a symlinked state folder */
	H_FMT(link, "%s/link", tmpdir);
	ck_assert_int_eq(symlink("state", link), 0);
	ck_assert_int_eq(queue_open(link, &q), FT_E_PERM);
	ck_assert_int_eq(queue_open(state, &q), FT_OK);
}

END_TEST

START_TEST(test_order_and_limit)
{
	static const char *const users[] = {"u5", "u4", "u3", "u2", "u1"};
	char rel[64], name[16];
	struct seen s;
	size_t i;

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	for (i = 0; i < 5; i++) {
		put(users[i], "sshd");
		hex(users[i], name, sizeof(name));
		H_FMT(rel, "queue/%s", name);
		/* u1 oldest ... u5 newest, whatever the directory order */
		set_mtime(rel, (time_t)(1000000 + 100 * (5 - i)));
	}
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 5);
	for (i = 0; i < 5; i++)
		ck_assert_str_eq(s.ev[i].user, users[4 - i]);
	queue_set_scan_limit(q, 3);
	ck_assert_int_eq(scan(&s), FT_E_AGAIN);
	ck_assert_uint_eq(s.n, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(s.ev[i].user, users[4 - i]);
		ck_assert_int_eq(queue_remove(q, s.ev[i].user), FT_OK);
	}
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.ev[0].user, "u4");
	ck_assert_str_eq(s.ev[1].user, "u5");
	/* same mtime: by name */
	set_mtime("queue/7534", 5);
	set_mtime("queue/7535", 5);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_str_eq(s.ev[0].user, "u4");
	queue_set_scan_limit(q, 0);
}

END_TEST

START_TEST(test_callback_stops)
{
	struct seen s;

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	put("alice", "sshd");
	put("bob", "sshd");
	memset(&s, 0, sizeof(s));
	s.stop_with = 7;
	ck_assert_int_eq(queue_scan(q, on_event, NULL, &s), 7);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(depth(), 2);
}

END_TEST

START_TEST(test_depth_counts)
{
	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	put("alice", "sshd");
	put("bob", "sshd");
	put("carol", "sshd");
	write_raw("queue/.616c696365.1.2", "partial", 7);
	ck_assert_uint_eq(depth(), 3);
	ck_assert_int_eq(queue_fail(q, "bob", "rejected"), FT_OK);
	ck_assert_uint_eq(depth(), 2);
	ck_assert_uint_eq(failed_count(), 1);
	write_raw("queue/failed/.x.1.2", "partial", 7);
	ck_assert_uint_eq(failed_count(), 1);
}

END_TEST

/* host= (a provisioner's queue files): kept on the event when a DNS name. */
START_TEST(test_host)
{
	static const char *const bad[] = {
		"host=ws 1.example.com\n",
		"host=ws_1.example.com\n",
		"host=ws1.example.com\xc3\xa9\n",
		"host=*.example.com\n",
	};
	char buf[FT_PROTO_MAX + 1];
	struct ft_event ev = mkev("alice", "sshd");
	struct seen s;
	size_t i;
	int n;

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	SET(ev.host, "ws1.ws-2.example.com");
	ck_assert_int_eq(queue_put(q, &ev), FT_OK);
	read_rel("queue/616c696365", buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\nhost=ws1.ws-2.example.com\n"));
	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(queue_load(q, "alice", &ev), FT_OK);
	ck_assert_str_eq(ev.host, "ws1.ws-2.example.com");
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.ev[0].host, "ws1.ws-2.example.com");
	/* no host= (a local login or a PAM spool file): empty */
	put("bob", "sshd");
	ck_assert_int_eq(queue_load(q, "bob", &ev), FT_OK);
	ck_assert_str_eq(ev.host, "");
	ck_assert_int_eq(queue_load(q, "nobody", &ev), FT_E_NOTFOUND);
	/* anything but a DNS name is a damaged file, with the reason */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = snprintf(buf, sizeof(buf), "FTSYNC1\nuser=carol\n%s",
			     bad[i]);
		write_raw("queue/6361726f6c", buf, (size_t)n);
		ck_assert_int_eq(queue_load(q, "carol", &ev), FT_E_PROTO);
		ck_assert_int_eq(scan(&s), FT_OK);
		ck_assert_uint_eq(s.nd, 1);
		ck_assert_str_eq(s.damaged[0], "6361726f6c");
		ck_assert_ptr_nonnull(strstr(s.reason[0], "host="));
		ck_assert(exists("queue/failed/6361726f6c.damaged"));
		ck_assert_int_eq(unlink(sp("queue/failed/6361726f6c.damaged")),
				 0);
	}
	/* 253 bytes is a host name; 254 is not */
	n = snprintf(buf, sizeof(buf), "FTSYNC1\nuser=carol\nhost=%0253d\n", 0);
	write_raw("queue/6361726f6c", buf, (size_t)n);
	ck_assert_int_eq(queue_load(q, "carol", &ev), FT_OK);
	ck_assert_uint_eq(strlen(ev.host), 253);
	n = snprintf(buf, sizeof(buf), "FTSYNC1\nuser=carol\nhost=%0254d\n", 0);
	write_raw("queue/6361726f6c", buf, (size_t)n);
	ck_assert_int_eq(queue_load(q, "carol", &ev), FT_E_PROTO);
}

END_TEST

struct held_seen {
	char user[MAXSEEN][FT_PROTO_VALUE_MAX + 1];
	char host[MAXSEEN][FT_PROTO_VALUE_MAX + 1];
	char reason[MAXSEEN][FT_PROTO_VALUE_MAX + 1];
	long long since[MAXSEEN];
	size_t n;
};

static int
on_held(void *ctx, const struct ft_event *ev, const char *reason,
	long long since)
{
	struct held_seen *h = ctx;

	ck_assert_uint_lt(h->n, MAXSEEN);
	SET(h->user[h->n], ev->user);
	SET(h->host[h->n], ev->host);
	SET(h->reason[h->n], reason);
	h->since[h->n] = since;
	h->n++;
	return 0;
}

static size_t
held_count(void)
{
	size_t n = 99999;

	ck_assert_int_eq(queue_held_count(q, &n), FT_OK);
	return n;
}

/* held/: hold with a reason, list oldest first, release, remove. */
START_TEST(test_held)
{
	struct ft_event ev = mkev("alice", "sshd");
	struct held_seen h;
	struct seen s;
	char buf[FT_PROTO_MAX + 1];

	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	ck_assert(exists("queue/held"));
	SET(ev.host, "h1.example.com");
	ck_assert_int_eq(queue_put(q, &ev), FT_OK);
	SET(ev.user, "bob");
	ck_assert_int_eq(queue_put(q, &ev), FT_OK);
	put("carol", "sshd");
	ck_assert_int_eq(queue_hold(q, "bob",
				    "new_seats_per_host: host "
				    "h1.example.com\n(20)"),
			 FT_OK);
	ck_assert_int_eq(queue_hold(q, "alice", "new_seats_total"), FT_OK);
	ck_assert_int_eq(queue_hold(q, "nobody", "x"), FT_E_NOTFOUND);
	set_mtime("queue/held/616c696365", 2000);
	set_mtime("queue/held/626f62", 1000);
	/* held/ is neither in the queue's depth nor in its scan */
	ck_assert_uint_eq(depth(), 1);
	ck_assert_uint_eq(held_count(), 2);
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.ev[0].user, "carol");
	ck_assert_uint_eq(s.nd, 0);
	/* the reason is cleaned (one line) and comes back, oldest first */
	read_rel("queue/held/626f62", buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\nhost=h1.example.com\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nheld=new_seats_per_host: "));
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(queue_held_scan(q, on_held, NULL, &h), FT_OK);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_str_eq(h.user[0], "bob");
	ck_assert_str_eq(h.user[1], "alice");
	ck_assert_str_eq(h.host[0], "h1.example.com");
	ck_assert_int_eq(h.since[0], 1000);
	ck_assert_int_eq(h.since[1], 2000);
	ck_assert_ptr_nonnull(strstr(h.reason[0], "new_seats_per_host: host "
						  "h1.example.com"));
	ck_assert_ptr_null(strchr(h.reason[0], '\n'));
	ck_assert_str_eq(h.reason[1], "new_seats_total");
	/* released: back in queue/ without the held= line */
	ck_assert_int_eq(queue_unhold(q, "bob"), FT_OK);
	ck_assert(!exists("queue/held/626f62"));
	read_rel("queue/626f62", buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "held="));
	ck_assert_ptr_nonnull(strstr(buf, "\nhost=h1.example.com\n"));
	ck_assert_int_eq(queue_unhold(q, "bob"), FT_E_NOTFOUND);
	/* held again by a newer login: it keeps its time (its place) */
	ck_assert_int_eq(queue_hold(q, "bob", "first"), FT_OK);
	set_mtime("queue/held/626f62", 1500);
	put("bob", "gdm");
	ck_assert_int_eq(queue_hold(q, "bob", "second"), FT_OK);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(queue_held_scan(q, on_held, NULL, &h), FT_OK);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_str_eq(h.user[0], "bob");
	ck_assert_int_eq(h.since[0], 1500);
	ck_assert_str_eq(h.reason[0], "second");
	ck_assert_int_eq(queue_unhold(q, "bob"), FT_OK);
	/* a newer event of the user in queue/ wins over the held one */
	ck_assert_int_eq(queue_hold(q, "bob", "again"), FT_OK);
	put("bob", "login");
	ck_assert_int_eq(queue_unhold(q, "bob"), FT_OK);
	ck_assert_int_eq(queue_load(q, "bob", &ev), FT_OK);
	ck_assert_str_eq(ev.service, "login");
	ck_assert_str_eq(ev.host, "");
	/* removed (provisioned by hand) */
	ck_assert_int_eq(queue_held_remove(q, "alice"), FT_OK);
	ck_assert_int_eq(queue_held_remove(q, "alice"), FT_OK);
	ck_assert_uint_eq(held_count(), 0);
	/* a damaged held file goes to failed/ like a damaged queue file */
	write_raw("queue/held/6361726f6c", "junk", 4);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(queue_held_scan(q, on_held, NULL, &h), FT_OK);
	ck_assert_uint_eq(h.n, 0);
	ck_assert(exists("queue/failed/6361726f6c.damaged"));
}

END_TEST

static bool
private_tmpfs(const char *mnt)
{
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr,
			"check_queue: skipping ENOSPC test: no private "
			"mount namespace: %s\n",
			strerror(errno));
		return false;
	}
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=64k,mode=0700") < 0) {
		fprintf(stderr,
			"check_queue: skipping ENOSPC test: cannot "
			"mount a tmpfs: %s\n",
			strerror(errno));
		return false;
	}
	return true;
}

START_TEST(test_disk_full)
{
	char mnt[128], filler[160], rel[64];
	struct ft_event ev;
	struct seen s;

	H_FMT(mnt, "%s/mnt", tmpdir);
	ck_assert_int_eq(mkdir(mnt, 0700), 0);
	if (!private_tmpfs(mnt))
		return;
	H_FMT(state, "%s/state", mnt);
	ck_assert_int_eq(queue_open(state, &q), FT_OK);
	put("alice", "sshd");
	put("bob", "sshd");
	H_FMT(filler, "%s/filler", mnt);
	h_fill_up(filler);
	ev = mkev("alice", "newer");
	errno = 0;
	ck_assert_int_eq(queue_put(q, &ev), FT_E_IO);
	ck_assert_int_eq(errno, ENOSPC);
	ev = mkev("carol", "sshd");
	ck_assert_int_eq(queue_put(q, &ev), FT_E_IO);
	ck_assert_int_eq(errno, ENOSPC);
	/* what was queued is intact, no temp file is left behind */
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(s.nd, 0);
	for (size_t i = 0; i < 2; i++)
		ck_assert_str_eq(s.ev[i].service, "sshd");
	H_FMT(rel, "queue/.616c696365.%ld.%ld", (long)getpid(), (long)gettid());
	ck_assert(!exists(rel));
	/* space comes back: puts work again */
	ck_assert_int_eq(unlink(filler), 0);
	ev = mkev("alice", "newer");
	ck_assert_int_eq(queue_put(q, &ev), FT_OK);
	put("carol", "sshd");
	ck_assert_int_eq(scan(&s), FT_OK);
	ck_assert_uint_eq(s.n, 3);
	queue_free(q);
	q = NULL;
	ck_assert_int_eq(umount2(mnt, MNT_DETACH), 0);
}

END_TEST

struct backoff_row {
	unsigned attempt;
	unsigned long lo, hi;
};

static const struct backoff_row backoff_rows[] = {
	{0, 800, 1200},
	{1, 1600, 2400},
	{2, 3200, 4800},
	{5, 25600, 38400},
	{9, 409600, 614400},
	{10, 720000, 900000}, /* 1024 s capped at 15 min */
	{11, 720000, 900000},
	{31, 720000, 900000},
	{32, 720000, 900000},
	{64, 720000, 900000},
	{1000, 720000, 900000},
	{UINT_MAX, 720000, 900000},
};

START_TEST(test_backoff_bounds)
{
	static const unsigned long rnds[] = {
		0,        1,     2,         399,           400,
		401,      12345, 987654321, ULONG_MAX / 2, ULONG_MAX - 1,
		ULONG_MAX};
	const struct backoff_row *row = &backoff_rows[_i];
	size_t j;

	for (j = 0; j < sizeof(rnds) / sizeof(rnds[0]); j++) {
		unsigned long v = queue_backoff_ms(row->attempt, rnds[j]);

		ck_assert_uint_ge(v, row->lo);
		ck_assert_uint_le(v, row->hi);
		ck_assert_uint_le(v, QUEUE_BACKOFF_MAX_MS);
	}
	/* both ends are reachable: the jitter spans the whole range */
	ck_assert_uint_eq(queue_backoff_ms(row->attempt, 0), row->lo);
	ck_assert_uint_eq(queue_backoff_ms(row->attempt, row->hi - row->lo),
			  row->hi);
	ck_assert_uint_eq(queue_backoff_ms(row->attempt, row->hi - row->lo + 1),
			  row->lo);
}

END_TEST

START_TEST(test_backoff_monotone_base)
{
	unsigned a;

	/* the lower bound of one attempt never drops below the previous */
	for (a = 1; a < 40; a++)
		ck_assert_uint_ge(queue_backoff_ms(a, 0),
				  queue_backoff_ms(a - 1, 0));
	ck_assert_uint_ne(queue_backoff_ms(0, 1), queue_backoff_ms(0, 2));
}

END_TEST

Suite *
queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *files = tcase_create("files");
	TCase *pure = tcase_create("backoff");

	tcase_add_checked_fixture(files, setup, teardown);
	tcase_add_test(files, test_open_creates);
	tcase_add_test(files, test_round_trip);
	tcase_add_test(files, test_replace);
	tcase_add_test(files, test_put_rejects);
	tcase_add_test(files, test_fail);
	tcase_add_test(files, test_damaged);
	tcase_add_test(files, test_damage_reasons);
	tcase_add_test(files, test_pam_fallback);
	tcase_add_test(files, test_move);
	tcase_add_test(files, test_stale_temps);
	tcase_add_test(files, test_unsafe_modes);
	tcase_add_test(files, test_symlinks_refused);
	tcase_add_test(files, test_order_and_limit);
	tcase_add_test(files, test_callback_stops);
	tcase_add_test(files, test_depth_counts);
	tcase_add_test(files, test_disk_full);
	tcase_add_test(files, test_host);
	tcase_add_test(files, test_held);
	tcase_add_loop_test(
		pure, test_backoff_bounds, 0,
		(int)(sizeof(backoff_rows) / sizeof(backoff_rows[0])));
	tcase_add_test(pure, test_backoff_monotone_base);
	suite_add_tcase(s, files);
	suite_add_tcase(s, pure);
	return s;
}
