/* SPDX-License-Identifier: Apache-2.0 */
/* check_state.c: the state folder's rules: folders, listings, temps, locks. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "state.h"

Suite *state_suite(void);

static char dir[64];
static int dfd = -1;

static void
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/check_state.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
}

static void
teardown(void)
{
	char cmd[128];

	(void)close(dfd);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* truncate(2) of name in the test's folder. */
static int
truncate_at(const char *name, off_t size)
{
	char path[128];

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	return truncate(path, size);
}

START_TEST(test_open_dir_makes_0700)
{
	struct stat st;
	int fd = -1, again = -1;

	ck_assert_int_eq(state_open_dir(dfd, "queue", &fd), FT_OK);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	/* an existing safe folder opens again */
	ck_assert_int_eq(state_open_dir(dfd, "queue", &again), FT_OK);
	(void)close(fd);
	(void)close(again);
}

END_TEST

START_TEST(test_open_dir_refusals)
{
	int fd = -1;

	ck_assert_int_eq(symlinkat("/tmp", dfd, "link"), 0);
	ck_assert_int_eq(state_open_dir(dfd, "link", &fd), FT_E_PERM);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(mkdirat(dfd, "open", 0700), 0);
	ck_assert_int_eq(fchmodat(dfd, "open", 0770, 0), 0);
	ck_assert_int_eq(state_open_dir(dfd, "open", &fd), FT_E_PERM);
	ck_assert_int_eq(fchmodat(dfd, "open", 0702, 0), 0);
	ck_assert_int_eq(state_open_dir(dfd, "open", &fd), FT_E_PERM);
	/* a file where a folder should be */
	close(openat(dfd, "file", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	ck_assert_int_eq(state_open_dir(dfd, "file", &fd), FT_E_IO);
	/* a parent that is not there */
	ck_assert_int_eq(state_open_dir(dfd, "no/such", &fd), FT_E_IO);
	ck_assert_int_eq(fd, -1);
}

END_TEST

static int
count_name(void *ctx, int dirfd, const char *name)
{
	size_t *n = ctx;

	(void)dirfd;
	ck_assert_str_ne(name, ".");
	ck_assert_str_ne(name, "..");
	(*n)++;
	return strcmp(name, "stop") == 0 ? FT_E_AGAIN : FT_OK;
}

START_TEST(test_for_each_name)
{
	size_t n = 0;
	const char *names[] = {"a", "b", ".c"};
	size_t i;

	ck_assert_int_eq(state_for_each_name(dfd, count_name, &n), FT_OK);
	ck_assert_uint_eq(n, 0);
	for (i = 0; i < 3; i++)
		close(openat(dfd, names[i], O_CREAT | O_WRONLY | O_CLOEXEC,
			     0600));
	ck_assert_int_eq(state_for_each_name(dfd, count_name, &n), FT_OK);
	ck_assert_uint_eq(n, 3);
	/* a callback's failure stops the walk and is returned */
	close(openat(dfd, "stop", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	n = 0;
	ck_assert_int_eq(state_for_each_name(dfd, count_name, &n), FT_E_AGAIN);
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_le(n, 4);
}

END_TEST

/* Make name with an mtime age seconds ago. */
static void
make_aged(const char *name, time_t age)
{
	struct timespec t[2];
	int fd = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	(void)close(fd);
	t[0].tv_sec = t[1].tv_sec = time(NULL) - age;
	t[0].tv_nsec = t[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(dfd, name, t, 0), 0);
}

START_TEST(test_sweep_stale_temps_only)
{
	time_t now = time(NULL);
	struct stat st;

	make_aged(".old.tmp", 2 * STATE_STALE_TEMP_SECONDS);
	make_aged(".new.tmp", 1);
	make_aged("old-but-not-temp", 2 * STATE_STALE_TEMP_SECONDS);
	ck_assert_int_eq(mkdirat(dfd, ".olddir", 0700), 0);
	ck_assert_int_eq(state_for_each_name(dfd, state_sweep_one, &now),
			 FT_OK);
	ck_assert_int_lt(fstatat(dfd, ".old.tmp", &st, 0), 0);
	ck_assert_int_eq(fstatat(dfd, ".new.tmp", &st, 0), 0);
	ck_assert_int_eq(fstatat(dfd, "old-but-not-temp", &st, 0), 0);
	ck_assert_int_eq(fstatat(dfd, ".olddir", &st, 0), 0);
}

END_TEST

START_TEST(test_lock)
{
	int a = -1, b = -1;
	struct stat st;

	ck_assert_int_eq(state_lock(dfd, "reconcile.lock", &a), FT_OK);
	ck_assert_int_eq(fstatat(dfd, "reconcile.lock", &st, 0), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	/* held: a second taker is told to come back later */
	ck_assert_int_eq(state_lock(dfd, "reconcile.lock", &b), FT_E_AGAIN);
	ck_assert_int_eq(b, -1);
	(void)close(a);
	ck_assert_int_eq(state_lock(dfd, "reconcile.lock", &b), FT_OK);
	(void)close(b);
	/* never through a symlink */
	ck_assert_int_eq(symlinkat("/etc/passwd", dfd, "evil.lock"), 0);
	ck_assert_int_eq(state_lock(dfd, "evil.lock", &a), FT_E_IO);
}

END_TEST

/* A lock's note outlives its holder (the reconcile's lease nonce). */
START_TEST(test_lock_note)
{
	char buf[STATE_NOTE_MAX], big[STATE_NOTE_MAX + 8];
	int a = -1;

	ck_assert_int_eq(state_lock(dfd, "reconcile.lock", &a), FT_OK);
	ck_assert_int_eq(state_lock_note_read(a, buf, sizeof(buf)), FT_OK);
	ck_assert_str_eq(buf, ""); /* a new lock file is empty */
	ck_assert_int_eq(state_lock_note_write(a, "0123abcd"), FT_OK);
	ck_assert_int_eq(state_lock_note_write(a, "ff"), FT_OK);
	(void)close(a);
	/* the next holder reads what the last one left, and only that */
	ck_assert_int_eq(state_lock(dfd, "reconcile.lock", &a), FT_OK);
	ck_assert_int_eq(state_lock_note_read(a, buf, sizeof(buf)), FT_OK);
	ck_assert_str_eq(buf, "ff");
	ck_assert_int_eq(state_lock_note_read(a, buf, 2), FT_E_TOOBIG);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(state_lock_note_write(a, big), FT_E_TOOBIG);
	ck_assert_int_eq(state_lock_note_write(a, "two\nlines"), FT_E_TOOBIG);
	ck_assert_int_eq(state_lock_note_write(a, ""), FT_OK);
	ck_assert_int_eq(state_lock_note_read(a, buf, sizeof(buf)), FT_OK);
	ck_assert_str_eq(buf, "");
	(void)close(a);
}

END_TEST

/* ---- the one reader of state files ------------------------------------ */

static void
put(const char *name, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	(void)close(fd);
}

struct refusal {
	const char *name;
	int want;
	const char *why;
};

/* What is in the folder: see make_refusals(). */
static const struct refusal refusals[] = {
	{"missing", FT_E_NOTFOUND, "no such file"},
	{"link", FT_E_PERM, "a symbolic link"},
	{"fifo", FT_E_PERM, "not a regular file"},
	{"folder", FT_E_PERM, "not a regular file"},
	{"big", FT_E_TOOBIG, "too large"},
	{"sparse", FT_E_TOOBIG, "too large"},
};

#define NREFUSALS (sizeof(refusals) / sizeof(refusals[0]))

static void
make_refusals(void)
{
	put("target", "{}");
	ck_assert_int_eq(symlinkat("target", dfd, "link"), 0);
	ck_assert_int_eq(mkfifoat(dfd, "fifo", 0600), 0);
	ck_assert_int_eq(mkdirat(dfd, "folder", 0700), 0);
	put("big", "0123456789A"); /* 11 bytes: one over the cap below */
	put("sparse", "");
	ck_assert_int_eq(truncate_at("sparse", 1LL << 40), 0);
}

/*
 * Each refusal, with its words, without waiting (a FIFO with no writer:
 * the open does not block) and without an fd left open.
 */
START_TEST(test_read_file_refusals)
{
	const struct refusal *c = &refusals[_i];
	const char *why = NULL;
	char *buf = (char *)&why;
	size_t len = 99, size = 99;
	int fd = -1, lowest, again;

	make_refusals();
	lowest = dup(0); /* the lowest free fd, to see that none is left */
	ck_assert_int_ge(lowest, 0);
	(void)close(lowest);
	ck_assert_int_eq(state_open_file(dfd, c->name, 10, &fd, &size, &why),
			 c->want);
	ck_assert_int_eq(fd, -1);
	ck_assert_uint_eq(size, 99);
	ck_assert_str_eq(why, c->why);
	why = NULL;
	ck_assert_int_eq(state_read_file(dfd, c->name, 10, &buf, &len, &why),
			 c->want);
	ck_assert_ptr_eq(buf, (char *)&why);
	ck_assert_uint_eq(len, 99);
	ck_assert_str_eq(why, c->why);
	again = dup(0);
	ck_assert_int_eq(again, lowest); /* nothing left open */
	(void)close(again);
}

END_TEST

START_TEST(test_read_file)
{
	const char *why = NULL;
	char *buf = NULL;
	size_t len = 0, size = 0;
	int fd = -1;

	put("ok", "0123456789"); /* exactly the cap */
	ck_assert_int_eq(state_read_file(dfd, "ok", 10, &buf, &len, &why),
			 FT_OK);
	ck_assert_uint_eq(len, 10);
	ck_assert_str_eq(buf, "0123456789");
	free(buf);
	put("empty", "");
	ck_assert_int_eq(state_read_file(dfd, "empty", 10, &buf, &len, NULL),
			 FT_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(buf, "");
	free(buf);
	/* open and read in two steps, as the queue does into its buffer */
	ck_assert_int_eq(state_open_file(dfd, "ok", 10, &fd, &size, NULL),
			 FT_OK);
	ck_assert_uint_eq(size, 10);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(state_read_fd(fd, buf = malloc(16), 16, &len), FT_OK);
	ck_assert_uint_eq(len, 10);
	free(buf);
	(void)close(fd);
}

END_TEST

Suite *
state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_dir_makes_0700);
	tcase_add_test(tc, test_lock_note);
	tcase_add_test(tc, test_open_dir_refusals);
	tcase_add_test(tc, test_for_each_name);
	tcase_add_test(tc, test_sweep_stale_temps_only);
	tcase_add_test(tc, test_lock);
	tcase_add_loop_test(tc, test_read_file_refusals, 0, (int)NREFUSALS);
	tcase_add_test(tc, test_read_file);
	suite_add_tcase(s, tc);
	return s;
}
