/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_seats.c: the seat budget (syncd/seats.c): per host and in total,
 * the period rolling over, the seats file surviving a restart, a damaged
 * file starting from zero.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"
#include "harness.h"
#include "seats.h"

Suite *seats_suite(void);

static char dir[64];
static int dfd = -1;

static void
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/ftseats.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
}

static void
teardown(void)
{
	char path[128];

	(void)snprintf(path, sizeof(path), "%s/%s", dir, SEATS_FILE);
	(void)unlink(path);
	(void)close(dfd);
	(void)rmdir(dir);
}

static struct seats *
open_ok(unsigned long per_host, unsigned long total, time_t now)
{
	struct seats *s = NULL;
	const char *why = NULL;

	ck_assert_int_eq(seats_open(dfd, per_host, total, 0, now, &s, &why),
			 FT_OK);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* 10:00:00 UTC on some day, and 10:59:59 / 11:00:00 of it. */
#define T0 ((time_t)1764756000)

START_TEST(test_caps)
{
	struct seats *s = open_ok(2, 3, T0);
	char why[256];

	ck_assert(seats_take(s, "h1", T0, why, sizeof(why)));
	ck_assert(seats_take(s, "h1", T0 + 1, why, sizeof(why)));
	ck_assert(!seats_take(s, "h1", T0 + 2, why, sizeof(why)));
	ck_assert_str_eq(why, "new_seats_per_host: host h1 reached 2 new "
			      "seats this hour");
	ck_assert(seats_take(s, "h2", T0 + 3, why, sizeof(why)));
	ck_assert(!seats_take(s, "h3", T0 + 4, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "new_seats_total: all hosts "
					  "reached 3"));
	ck_assert_ptr_nonnull(strstr(why, "host h3"));
	/* room with what the caller already promised */
	seats_set_caps(s, 5, 10);
	ck_assert(seats_room(s, "h2", T0 + 5, 3, 0, why, sizeof(why)));
	ck_assert(!seats_room(s, "h2", T0 + 5, 4, 0, why, sizeof(why)));
	ck_assert(!seats_room(s, "h4", T0 + 5, 0, 7, why, sizeof(why)));
	/* the last second of the hour still counts; the next hour is new */
	seats_set_caps(s, 2, 3);
	ck_assert(!seats_take(s, "h1", T0 + 3599, why, sizeof(why)));
	ck_assert(seats_take(s, "h1", T0 + 3600, why, sizeof(why)));
	ck_assert(seats_take(s, "h1", T0 + 3600, why, sizeof(why)));
	ck_assert_int_eq(seats_period_start(s, T0 + 3700), T0 + 3600);
	/* a seat whose write did not happen goes back (not across hours) */
	ck_assert(!seats_take(s, "h1", T0 + 3600, why, sizeof(why)));
	seats_refund(s, "h1", T0 + 3600);
	ck_assert(seats_take(s, "h1", T0 + 3600, why, sizeof(why)));
	seats_refund(s, "h1", T0 + 7200);
	ck_assert(seats_take(s, "h1", T0 + 7200, why, sizeof(why)));
	seats_refund(s, "nobody", T0 + 7200);
	/* a cap of 0 holds every seat */
	seats_set_caps(s, 0, 3);
	ck_assert(!seats_take(s, "h9", T0 + 3601, why, sizeof(why)));
	seats_free(s);
	seats_free(NULL);
}

END_TEST

START_TEST(test_survives_restart)
{
	struct seats *s = open_ok(2, 500, T0);
	char why[256], path[128], *text;

	ck_assert(seats_take(s, "ws1.example.com", T0, why, sizeof(why)));
	ck_assert(seats_take(s, "ws1.example.com", T0, why, sizeof(why)));
	ck_assert(seats_take(s, "ws2.example.com", T0, why, sizeof(why)));
	ck_assert_int_eq(seats_save(s), FT_OK);
	seats_free(s);
	(void)snprintf(path, sizeof(path), "%s/%s", dir, SEATS_FILE);
	text = h_read_file(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "FTSEATS1\nperiod=1764756000\n"
					   "total=3\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nhost=ws1.example.com 2\n"));
	free(text);
	/* the same hour after a restart: ws1 is full, ws2 has one left */
	s = open_ok(2, 500, T0 + 1800);
	ck_assert(
		!seats_take(s, "ws1.example.com", T0 + 1800, why, sizeof(why)));
	ck_assert(
		seats_take(s, "ws2.example.com", T0 + 1800, why, sizeof(why)));
	ck_assert(
		!seats_take(s, "ws2.example.com", T0 + 1800, why, sizeof(why)));
	seats_free(s);
	/* the next hour: from zero */
	s = open_ok(2, 500, T0 + 3600);
	ck_assert(
		seats_take(s, "ws1.example.com", T0 + 3600, why, sizeof(why)));
	seats_free(s);
}

END_TEST

START_TEST(test_damaged_file)
{
	static const char *const bad[] = {
		"junk\n",
		"FTSEATS1\nperiod=1764756000\ntotal=x\n",
		"FTSEATS1\nperiod=1764756000\nhost=a_b 2\n",
		"FTSEATS1\nperiod=1764756000\nother=1\n",
	};
	char path[128], why[256];
	struct seats *s = NULL;
	const char *what = NULL;
	size_t i;
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, SEATS_FILE);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		ck_assert_int_ge(fputs(bad[i], f), 0);
		ck_assert_int_eq(fclose(f), 0);
		ck_assert_int_eq(seats_open(dfd, 1, 1, 0, T0, &s, &what),
				 FT_E_PROTO);
		ck_assert_ptr_nonnull(what);
		ck_assert_ptr_nonnull(s);
		ck_assert(seats_take(s, "h1", T0, why, sizeof(why)));
		seats_free(s);
		s = NULL;
	}
	/* a symlink in its place is refused, not followed */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(seats_open(dfd, 1, 1, 0, T0, &s, &what), FT_E_PROTO);
	seats_free(s);
}

END_TEST

Suite *
seats_suite(void)
{
	Suite *s = suite_create("seats");
	TCase *tc = tcase_create("budget");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_survives_restart);
	tcase_add_test(tc, test_damaged_file);
	suite_add_tcase(s, tc);
	return s;
}
