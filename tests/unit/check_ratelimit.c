/* SPDX-License-Identifier: Apache-2.0 */
/* check_ratelimit.c: the per-uid token buckets, table-driven. */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ratelimit.h"

Suite *ratelimit_suite(void);

#define STEPS_MAX 12

struct step {
	uid_t uid;
	uint64_t t; /* ms */
	bool allow;
};

struct rl_case {
	const char *name;
	unsigned burst, per_minute;
	size_t nsteps;
	struct step step[STEPS_MAX];
};

static const struct rl_case cases[] = {
	{"burst then empty",
	 3,
	 60,
	 5,
	 {{1000, 0, true},
	  {1000, 0, true},
	  {1000, 0, true},
	  {1000, 0, false},
	  {1000, 10, false}}},
	/* 60 a minute: one token a second, in halves */
	{"refill one a second",
	 1,
	 60,
	 5,
	 {{1000, 0, true},
	  {1000, 500, false},
	  {1000, 1000, true},
	  {1000, 1000, false},
	  {1000, 2000, true}}},
	{"refill capped at burst",
	 2,
	 60,
	 6,
	 {{7, 0, true},
	  {7, 0, true},
	  {7, 0, false},
	  {7, 3600000, true},
	  {7, 3600000, true},
	  {7, 3600000, false}}},
	{"uid 0 never limited",
	 1,
	 0,
	 5,
	 {{0, 0, true},
	  {0, 0, true},
	  {0, 0, true},
	  {0, 1, true},
	  {0, 1, true}}},
	{"uids are independent",
	 1,
	 0,
	 5,
	 {{1, 0, true},
	  {1, 0, false},
	  {2, 0, true},
	  {2, 0, false},
	  {3, 0, true}}},
	{"per_minute 0 never refills",
	 1,
	 0,
	 3,
	 {{5, 0, true}, {5, 1000000000, false}, {5, 2000000000, false}}},
	{"burst 0 refuses all but root",
	 0,
	 600,
	 4,
	 {{5, 0, false}, {5, 60000, false}, {0, 60000, true}, {6, 0, false}}},
	/* a clock going back gives nothing, and forward again only the
	 * time since the last call */
	{"clock going back",
	 1,
	 60,
	 4,
	 {{9, 10000, true}, {9, 0, false}, {9, 500, false}, {9, 1000, true}}},
	/* 6000 a minute: 0.1 token per ms */
	{"fast rate",
	 1,
	 6000,
	 4,
	 {{4, 0, true}, {4, 5, false}, {4, 10, true}, {4, 15, false}}},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

START_TEST(test_case)
{
	const struct rl_case *c = &cases[_i];
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	size_t i;

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, c->burst, c->per_minute);
	ck_assert_uint_eq(rl->burst, c->burst);
	ck_assert_uint_eq(rl->per_minute, c->per_minute);
	for (i = 0; i < c->nsteps; i++) {
		const struct step *s = &c->step[i];
		bool got = ratelimit_allow(rl, s->uid, s->t);

		ck_assert_msg(
			got == s->allow,
			"%s: step %zu (uid %u at %llu ms): got %d want %d",
			c->name, i, (unsigned)s->uid, (unsigned long long)s->t,
			got, s->allow);
	}
	free(rl);
}

END_TEST

/* When every slot is used, the least recently seen uid is forgotten
 * (and so comes back with a full bucket); the others are remembered. */
START_TEST(test_table_full_evicts_oldest)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	uid_t u;

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, 1, 0);
	for (u = 1; u <= RATELIMIT_SLOTS; u++)
		ck_assert(ratelimit_allow(rl, u, u));
	/* every uid has used its only token */
	ck_assert(ratelimit_allow(rl, RATELIMIT_SLOTS + 1, 1000));
	ck_assert(!ratelimit_allow(rl, 2, 1001)); /* still known */
	ck_assert(ratelimit_allow(rl, 1, 1002));  /* uid 1 was forgotten */
	ck_assert(ratelimit_allow(rl, 3, 1003));  /* uid 1 pushed out 3 */
	ck_assert(!ratelimit_allow(rl, RATELIMIT_SLOTS, 1004));
	free(rl);
}

END_TEST

/* ratelimit_init on a used struct starts every bucket afresh. */
START_TEST(test_reinit_resets)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, 1, 0);
	ck_assert(ratelimit_allow(rl, 42, 0));
	ck_assert(!ratelimit_allow(rl, 42, 0));
	ratelimit_init(rl, 2, 0);
	ck_assert(ratelimit_allow(rl, 42, 0));
	ck_assert(ratelimit_allow(rl, 42, 0));
	ck_assert(!ratelimit_allow(rl, 42, 0));
	free(rl);
}

END_TEST

/* A long steady stream gets exactly burst + rate * time through. */
START_TEST(test_sustained_rate)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	unsigned allowed = 0;
	uint64_t t;

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, 5, 120); /* 2 a second */
	/* one attempt every 100 ms for 60 s (10 a second) */
	for (t = 0; t < 60000; t += 100)
		allowed += ratelimit_allow(rl, 1000, t) ? 1 : 0;
	/* 5 at once, then 2 a second over 59.9 s: 119 more */
	ck_assert_uint_ge(allowed, 5 + 118);
	ck_assert_uint_le(allowed, 5 + 120);
	free(rl);
}

END_TEST

Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("buckets");

	tcase_add_loop_test(tc, test_case, 0, (int)NCASES);
	tcase_add_test(tc, test_table_full_evicts_oldest);
	tcase_add_test(tc, test_reinit_resets);
	tcase_add_test(tc, test_sustained_rate);
	suite_add_tcase(s, tc);
	return s;
}
