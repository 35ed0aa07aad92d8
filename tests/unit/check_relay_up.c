/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_relay_up.c: relay_up.c: the upstream a relay uses and when, with
 * the time passed in: fail-over, back to the first after retry_primary,
 * back-off after a failed round, Retry-After, refusals.
 */
#include <check.h>
#include <stdint.h>

#include "ft_err.h"
#include "queue.h"
#include "relay_up.h"

Suite *relay_up_suite(void);

#define RND 12345UL

static size_t
pick(struct relay_up *s, uint64_t now, uint64_t *wait)
{
	return relay_up_pick(s, now, wait);
}

START_TEST(test_first_then_failover)
{
	struct relay_up s;
	uint64_t wait = 99;

	relay_up_init(&s, 2, 300);
	ck_assert_uint_eq(pick(&s, 1000, &wait), 0);
	ck_assert_uint_eq(wait, 0);
	ck_assert_int_eq(s.u[0].state, RELAY_UP_UNKNOWN);
	relay_up_done(&s, 0, RELAY_OUT_DOWN, 1000, 10, 0, RND, "refused");
	/* the next one at once, no wait */
	ck_assert_uint_eq(pick(&s, 1000, &wait), 1);
	ck_assert_uint_eq(wait, 0);
	ck_assert_int_eq(s.u[0].state, RELAY_UP_DOWN);
	ck_assert_str_eq(s.u[0].err, "refused");
	ck_assert_int_eq(s.u[0].last_fail, 10);
	relay_up_done(&s, 1, RELAY_OUT_OK, 1500, 11, 0, RND, NULL);
	ck_assert_int_eq(s.u[1].state, RELAY_UP_UP);
	ck_assert_int_eq(s.u[1].last_ok, 11);
	/* it stays on the second while retry_primary has not passed */
	ck_assert_uint_eq(pick(&s, 1000 + 299999, &wait), 1);
	ck_assert_uint_eq(wait, 0);
	/* then goes back to the first */
	ck_assert_uint_eq(pick(&s, 1000 + 300000, &wait), 0);
	relay_up_done(&s, 0, RELAY_OUT_OK, 301000, 12, 0, RND, NULL);
	ck_assert_uint_eq(pick(&s, 302000, &wait), 0);
	ck_assert_int_eq(s.u[0].state, RELAY_UP_UP);
}

END_TEST

/* Every upstream failed: back-off, 1 s doubling, jittered, capped. */
START_TEST(test_round_backoff)
{
	struct relay_up s;
	uint64_t wait = 0, now = 5000, prev = 0;
	unsigned round;

	relay_up_init(&s, 2, 300);
	for (round = 0; round < 14; round++) {
		uint64_t want = queue_backoff_ms(round, RND);

		ck_assert_uint_eq(pick(&s, now, &wait), 0);
		ck_assert_uint_eq(wait, 0);
		relay_up_done(&s, 0, RELAY_OUT_DOWN, now, 1, 0, RND, "down");
		ck_assert_uint_eq(pick(&s, now, &wait), 1);
		ck_assert_uint_eq(wait, 0);
		relay_up_done(&s, 1, RELAY_OUT_DOWN, now, 1, 0, RND, "down");
		/* back to the first, after the round's back-off */
		ck_assert_uint_eq(pick(&s, now, &wait), 0);
		ck_assert_uint_eq(wait, want);
		ck_assert_uint_le(wait, QUEUE_BACKOFF_MAX_MS);
		ck_assert_uint_ge(wait, prev > QUEUE_BACKOFF_MAX_MS * 4 / 5
						? QUEUE_BACKOFF_MAX_MS * 3 / 4
						: prev);
		prev = wait;
		ck_assert_uint_eq(pick(&s, now + wait - 1, &wait), 0);
		ck_assert_uint_eq(wait, 1);
		now += want;
	}
	/* a success resets the back-off */
	relay_up_done(&s, 0, RELAY_OUT_OK, now, 2, 0, RND, NULL);
	relay_up_done(&s, 0, RELAY_OUT_DOWN, now, 3, 0, RND, "down");
	relay_up_done(&s, 1, RELAY_OUT_DOWN, now, 3, 0, RND, "down");
	ck_assert_uint_eq(pick(&s, now, &wait), 0);
	ck_assert_uint_eq(wait, queue_backoff_ms(0, RND));
}

END_TEST

/* Retry-After (429) is honoured: at least that long before the next round. */
START_TEST(test_retry_after)
{
	struct relay_up s;
	uint64_t wait = 0;

	relay_up_init(&s, 1, 300);
	relay_up_done(&s, 0, RELAY_OUT_DOWN, 0, 1, 120, RND, "HTTP 429");
	ck_assert_uint_eq(pick(&s, 0, &wait), 0);
	ck_assert_uint_eq(wait, 120000);
	/* a shorter Retry-After than the back-off: the back-off wins */
	relay_up_init(&s, 1, 300);
	s.attempt = 12;
	relay_up_done(&s, 0, RELAY_OUT_DOWN, 0, 1, 1, RND, "HTTP 429");
	ck_assert_uint_eq(pick(&s, 0, &wait), 0);
	ck_assert_uint_eq(wait, queue_backoff_ms(12, RND));
}

END_TEST

/* Refused by every upstream (403): the longest wait, no hammering. */
START_TEST(test_refused)
{
	struct relay_up s;
	uint64_t wait = 0;

	relay_up_init(&s, 2, 300);
	relay_up_done(&s, 0, RELAY_OUT_REFUSED, 0, 1, 0, RND, "HTTP 403");
	ck_assert_uint_eq(pick(&s, 0, &wait), 1);
	ck_assert_uint_eq(wait, 0);
	relay_up_done(&s, 1, RELAY_OUT_REFUSED, 0, 1, 0, RND, "HTTP 403");
	ck_assert_uint_eq(pick(&s, 0, &wait), 0);
	ck_assert_uint_eq(wait, QUEUE_BACKOFF_MAX_MS);
	/* one refusal and one outage: the ordinary back-off */
	relay_up_init(&s, 2, 300);
	relay_up_done(&s, 0, RELAY_OUT_REFUSED, 0, 1, 0, RND, "HTTP 403");
	relay_up_done(&s, 1, RELAY_OUT_DOWN, 0, 1, 0, RND, "timeout");
	ck_assert_uint_eq(pick(&s, 0, &wait), 0);
	ck_assert_uint_eq(wait, queue_backoff_ms(0, RND));
}

END_TEST

/* On the second, a failure there tries the first again at once. */
START_TEST(test_second_fails_back)
{
	struct relay_up s;
	uint64_t wait = 0;

	relay_up_init(&s, 3, 300);
	relay_up_done(&s, 0, RELAY_OUT_DOWN, 0, 1, 0, RND, "down");
	relay_up_done(&s, 1, RELAY_OUT_OK, 10, 1, 0, RND, NULL);
	relay_up_done(&s, 1, RELAY_OUT_DOWN, 20, 2, 0, RND, "down");
	ck_assert_uint_eq(pick(&s, 20, &wait), 2);
	ck_assert_uint_eq(wait, 0);
	relay_up_done(&s, 2, RELAY_OUT_DOWN, 30, 3, 0, RND, "down");
	ck_assert_uint_eq(pick(&s, 30, &wait), 0);
	ck_assert_uint_eq(wait, 0);
	relay_up_done(&s, 0, RELAY_OUT_DOWN, 40, 4, 0, RND, "down");
	/* three failures in a row since the last success: a round */
	ck_assert_uint_eq(pick(&s, 40, &wait), 0);
	ck_assert_uint_eq(wait, queue_backoff_ms(0, RND));
	/* retry_primary 0: never stays on a later one */
	relay_up_init(&s, 2, 0);
	relay_up_done(&s, 0, RELAY_OUT_DOWN, 0, 1, 0, RND, "down");
	ck_assert_uint_eq(pick(&s, 1, &wait), 0);
}

END_TEST

/* Some events neither accepted nor invalid: a back-off, same upstream. */
START_TEST(test_defer)
{
	struct relay_up s;
	uint64_t wait = 0;

	relay_up_init(&s, 2, 300);
	relay_up_done(&s, 0, RELAY_OUT_OK, 0, 1, 0, RND, NULL);
	relay_up_defer(&s, 0, RND);
	ck_assert_uint_eq(pick(&s, 0, &wait), 0);
	ck_assert_uint_eq(wait, queue_backoff_ms(0, RND));
	relay_up_defer(&s, 0, RND);
	ck_assert_uint_eq(pick(&s, 0, &wait), 0);
	ck_assert_uint_eq(wait, queue_backoff_ms(1, RND));
	ck_assert_int_eq(s.u[0].state, RELAY_UP_UP);
}

END_TEST

struct class_case {
	int r;
	long status;
	enum relay_outcome want;
};

static const struct class_case class_cases[] = {
	{FT_OK, 202, RELAY_OUT_OK},         {FT_OK, 413, RELAY_OUT_OK},
	{FT_OK, 400, RELAY_OUT_REFUSED},    {FT_OK, 401, RELAY_OUT_REFUSED},
	{FT_OK, 403, RELAY_OUT_REFUSED},    {FT_OK, 404, RELAY_OUT_REFUSED},
	{FT_OK, 405, RELAY_OUT_REFUSED},    {FT_OK, 429, RELAY_OUT_DOWN},
	{FT_OK, 500, RELAY_OUT_DOWN},       {FT_OK, 503, RELAY_OUT_DOWN},
	{FT_OK, 200, RELAY_OUT_DOWN},       {FT_OK, 302, RELAY_OUT_DOWN},
	{FT_OK, 408, RELAY_OUT_DOWN},       {FT_E_HTTP, 0, RELAY_OUT_DOWN},
	{FT_E_TOOBIG, 202, RELAY_OUT_DOWN}, {FT_E_NOMEM, 0, RELAY_OUT_DOWN},
};

START_TEST(test_classify)
{
	const struct class_case *c = &class_cases[_i];

	ck_assert_int_eq(relay_up_classify(c->r, c->status), c->want);
}

END_TEST

Suite *
relay_up_suite(void)
{
	Suite *s = suite_create("relay_up");
	TCase *tc = tcase_create("relay_up");

	tcase_add_test(tc, test_first_then_failover);
	tcase_add_test(tc, test_round_backoff);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_second_fails_back);
	tcase_add_test(tc, test_defer);
	tcase_add_loop_test(
		tc, test_classify, 0,
		(int)(sizeof(class_cases) / sizeof(class_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}
