/* SPDX-License-Identifier: Apache-2.0 */
/* check_timing.c: the monotonic clock, UTC timestamps, jittered back-off. */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "timing.h"

Suite *timing_suite(void);

START_TEST(test_clock_monotonic)
{
	uint64_t a = timing_now_ms(), b;
	double s = timing_now_s(), t;
	struct timespec nap = {0, 20 * 1000 * 1000};

	(void)nanosleep(&nap, NULL);
	b = timing_now_ms();
	t = timing_now_s();
	ck_assert_uint_ge(b, a + 19);
	ck_assert(t - s >= 0.019);
	/* both read the same clock */
	ck_assert(t * 1000.0 >= (double)b - 1.0);
	ck_assert(t * 1000.0 <= (double)b + 1000.0);
}

END_TEST

START_TEST(test_now_iso)
{
	char buf[32], small[8] = "x";
	time_t before = time(NULL), after;
	struct tm tm;

	timing_now_iso(buf, sizeof(buf));
	after = time(NULL);
	ck_assert_uint_eq(strlen(buf), 20);
	ck_assert_int_eq(buf[4], '-');
	ck_assert_int_eq(buf[10], 'T');
	ck_assert_int_eq(buf[19], 'Z');
	memset(&tm, 0, sizeof(tm));
	ck_assert_ptr_nonnull(strptime(buf, "%Y-%m-%dT%H:%M:%SZ", &tm));
	ck_assert_int_ge(timegm(&tm), before);
	ck_assert_int_le(timegm(&tm), after);
	timing_now_iso(small, sizeof(small)); /* too small: empty, not cut */
	ck_assert_str_eq(small, "");
}

END_TEST

START_TEST(test_rand)
{
	uint64_t st = 42, a, b, zero = 0;

	a = timing_rand(&st);
	b = timing_rand(&st);
	ck_assert_uint_ne(a, b);
	ck_assert_uint_ne(st, 42);
	/* a zero state is not stuck at zero */
	ck_assert_uint_ne(timing_rand(&zero), 0);
	ck_assert_uint_ne(zero, 0);
	ck_assert_uint_ne(timing_seed(), 0);
}

END_TEST

/* attempt, base, max: the bounds every rnd must give. */
static const struct {
	unsigned attempt;
	uint64_t base, max, lo, hi;
} backoff_rows[] = {
	{0, 1000, 900000, 800, 1200},
	{1, 1000, 900000, 1600, 2400},
	{3, 1000, 900000, 6400, 9600},
	{9, 1000, 900000, 409600, 614400},
	{10, 1000, 900000, 720000, 900000}, /* capped: no jitter above max */
	{40, 1000, 900000, 720000, 900000}, /* no overflow at large counts */
	{0, 500, 30000, 400, 600},
	{6, 500, 30000, 24000, 30000},
	{0, 0, 100, 0, 0},
	{0, 1, 1, 1, 1},
};

START_TEST(test_backoff_table)
{
	uint64_t rnds[] = {0, 1, 7, 1000, 123456789, UINT64_MAX};
	const __typeof__(backoff_rows[0]) *row = &backoff_rows[_i];
	size_t j;

	for (j = 0; j < sizeof(rnds) / sizeof(rnds[0]); j++) {
		uint64_t v = timing_backoff_ms(row->attempt, row->base,
					       row->max, rnds[j]);

		ck_assert_uint_ge(v, row->lo);
		ck_assert_uint_le(v, row->hi);
	}
	/* the ends of the range are reached */
	ck_assert_uint_eq(
		timing_backoff_ms(row->attempt, row->base, row->max, 0),
		row->lo);
	ck_assert_uint_eq(timing_backoff_ms(row->attempt, row->base, row->max,
					    row->hi - row->lo),
			  row->hi);
}

END_TEST

START_TEST(test_backoff_grows)
{
	unsigned a;

	for (a = 1; a < 30; a++)
		ck_assert_uint_ge(timing_backoff_ms(a, 1000, 900000, 0),
				  timing_backoff_ms(a - 1, 1000, 900000, 0));
	ck_assert_uint_ne(timing_backoff_ms(0, 1000, 900000, 1),
			  timing_backoff_ms(0, 1000, 900000, 2));
}

END_TEST

Suite *
timing_suite(void)
{
	Suite *s = suite_create("timing");
	TCase *tc = tcase_create("timing");

	tcase_add_test(tc, test_clock_monotonic);
	tcase_add_test(tc, test_now_iso);
	tcase_add_test(tc, test_rand);
	tcase_add_loop_test(tc, test_backoff_table, 0,
			    sizeof(backoff_rows) / sizeof(backoff_rows[0]));
	tcase_add_test(tc, test_backoff_grows);
	suite_add_tcase(s, tc);
	return s;
}
