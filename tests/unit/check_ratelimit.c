/* SPDX-License-Identifier: Apache-2.0 */
/* check_ratelimit.c: the per-uid and non-root token buckets, table-driven. */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ratelimit.h"

Suite *ratelimit_suite(void);

#define STEPS_MAX 16
#define WIDE      60000000u /* nonroot_per_minute that never binds */
#define OK        RATELIMIT_OK
#define UID       RATELIMIT_UID
#define NR        RATELIMIT_NONROOT
#define L         true  /* a step judged only with a look-up (not known) */
#define K         false /* a step judged without one (known) */

struct step {
	uid_t uid;
	uint64_t t; /* ms */
	enum ratelimit_verdict want;
	bool lookup;
};

struct rl_case {
	const char *name;
	unsigned burst, per_minute, nonroot_per_minute;
	size_t nsteps;
	struct step step[STEPS_MAX];
};

static const struct rl_case cases[] = {
	/* ---- one uid's own bucket (the non-root one never binds) ---- */
	{"burst then empty",
	 3,
	 60,
	 WIDE,
	 5,
	 {{1000, 0, OK, K},
	  {1000, 0, OK, K},
	  {1000, 0, OK, K},
	  {1000, 0, UID, K},
	  {1000, 10, UID, K}}},
	/* 60 a minute: one token a second, in halves */
	{"refill one a second",
	 1,
	 60,
	 WIDE,
	 5,
	 {{1000, 0, OK, K},
	  {1000, 500, UID, K},
	  {1000, 1000, OK, K},
	  {1000, 1000, UID, K},
	  {1000, 2000, OK, K}}},
	{"refill capped at burst",
	 2,
	 60,
	 WIDE,
	 6,
	 {{7, 0, OK, K},
	  {7, 0, OK, K},
	  {7, 0, UID, K},
	  {7, 3600000, OK, K},
	  {7, 3600000, OK, K},
	  {7, 3600000, UID, K}}},
	{"uid 0 never limited",
	 1,
	 0,
	 WIDE,
	 5,
	 {{0, 0, OK, K},
	  {0, 0, OK, K},
	  {0, 0, OK, K},
	  {0, 1, OK, K},
	  {0, 1, OK, K}}},
	{"uids are independent",
	 1,
	 0,
	 WIDE,
	 5,
	 {{1, 0, OK, K},
	  {1, 0, UID, K},
	  {2, 0, OK, K},
	  {2, 0, UID, K},
	  {3, 0, OK, K}}},
	{"per_minute 0 never refills",
	 1,
	 0,
	 WIDE,
	 3,
	 {{5, 0, OK, K}, {5, 1000000000, UID, K}, {5, 2000000000, UID, K}}},
	{"burst 0 refuses all but root",
	 0,
	 600,
	 WIDE,
	 4,
	 {{5, 0, UID, K},
	  {5, 60000, UID, K},
	  {0, 60000, OK, K},
	  {6, 0, UID, K}}},
	/* a clock going back gives nothing, and forward again only the
	 * time since the last call */
	{"clock going back",
	 1,
	 60,
	 WIDE,
	 4,
	 {{9, 10000, OK, K},
	  {9, 0, UID, K},
	  {9, 500, UID, K},
	  {9, 1000, OK, K}}},
	/* 6000 a minute: 0.1 token per ms */
	{"fast rate",
	 1,
	 6000,
	 WIDE,
	 4,
	 {{4, 0, OK, K}, {4, 5, UID, K}, {4, 10, OK, K}, {4, 15, UID, K}}},
	/* ---- the non-root bucket ---- */
	/* 24 a minute: 8 at once; each uid 2 (its share, 1/4); a uid
	 * refused by its own bucket takes no non-root token */
	{"non-root bucket cuts many uids",
	 2,
	 0,
	 24,
	 11,
	 {{1, 0, OK, K},
	  {1, 0, OK, K},
	  {1, 0, UID, K},
	  {2, 0, OK, K},
	  {2, 0, OK, K},
	  {3, 0, OK, K},
	  {3, 0, OK, K},
	  {4, 0, OK, K},
	  {4, 0, OK, K},
	  {5, 0, NR, K},
	  {0, 0, OK, K}}},
	/* burst 100 and 6000 a minute asked, but one uid gets at most a
	 * quarter of 8 at once and of 24 a minute: 2 at once, 6 a minute */
	{"per-uid share",
	 100,
	 6000,
	 24,
	 8,
	 {{7, 0, OK, K},
	  {7, 0, OK, K},
	  {7, 0, UID, K},
	  {8, 0, OK, K},
	  {7, 9999, UID, K},
	  {7, 10000, OK, K},
	  {7, 10000, UID, K},
	  {8, 10000, OK, K}}},
	/* 12 a minute: 4 at once, one every 5 s; each uid 1 at once, 3
	 * a minute; refused by the non-root bucket, uid 5 keeps its own
	 * token for later */
	{"non-root refill",
	 1,
	 60,
	 12,
	 11,
	 {{1, 0, OK, K},
	  {2, 0, OK, K},
	  {3, 0, OK, K},
	  {4, 0, OK, K},
	  {5, 0, NR, K},
	  {5, 2500, NR, K},
	  {5, 5000, OK, K},
	  {6, 5000, NR, K},
	  {6, 10000, OK, K},
	  {1, 10000, UID, K},
	  {1, 20000, OK, K}}},
	/* 24 a minute: 8 at once, the last 2 (a share) only for senders
	 * judged without a look-up */
	{"look-ups leave the reserve",
	 2,
	 0,
	 24,
	 11,
	 {{1, 0, OK, L},
	  {1, 0, OK, L},
	  {2, 0, OK, L},
	  {2, 0, OK, L},
	  {3, 0, OK, L},
	  {3, 0, OK, L},
	  {4, 0, NR, L},
	  {4, 0, OK, K},
	  {5, 0, NR, L},
	  {5, 0, OK, K},
	  {6, 0, NR, K}}},
	/* 3 a minute: 1 at once; root takes none of it */
	{"uid 0 takes no non-root token",
	 20,
	 60,
	 3,
	 7,
	 {{0, 0, OK, K},
	  {0, 0, OK, K},
	  {0, 0, OK, L},
	  {1, 0, OK, K},
	  {2, 0, NR, K},
	  {0, 0, OK, K},
	  {0, 1, OK, L}}},
	{"nonroot_rate 0 refuses every non-root event",
	 20,
	 60,
	 0,
	 4,
	 {{1, 0, NR, K}, {1, 60000, NR, L}, {0, 0, OK, K}, {0, 60000, OK, L}}},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

START_TEST(test_case)
{
	const struct rl_case *c = &cases[_i];
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	size_t i;

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, c->burst, c->per_minute, c->nonroot_per_minute);
	if (c->nonroot_per_minute == WIDE) {
		ck_assert_uint_eq(rl->burst, c->burst);
		ck_assert_uint_eq(rl->per_minute, c->per_minute);
	}
	for (i = 0; i < c->nsteps; i++) {
		const struct step *s = &c->step[i];
		enum ratelimit_verdict got =
			ratelimit_take(rl, s->uid, !s->lookup, s->t);

		ck_assert_msg(got == s->want,
			      "%s: step %zu (uid %u at %llu ms%s): got %d "
			      "want %d",
			      c->name, i, (unsigned)s->uid,
			      (unsigned long long)s->t,
			      s->lookup ? ", look-up" : "", got, s->want);
		ck_assert(ratelimit_allow(rl, 0, s->t)); /* root, always */
	}
	free(rl);
}

END_TEST

/* What ratelimit_init derives from nonroot_per_minute. */
static const struct derived {
	unsigned burst, per_minute, nonroot; /* asked */
	unsigned want_burst, want_per_minute, want_nonroot_burst, want_reserve;
} deriveds[] = {
	{20, 60, 240, 20, 60, 80, 20},  /* the daemon's defaults */
	{20, 60, 600, 20, 60, 200, 50}, /* more: a uid keeps its own cap */
	{20, 60, 60, 5, 15, 20, 5},     /* less: a uid gets its share */
	{20, 60, 10, 1, 2, 4, 1},
	{20, 60, 1, 1, 1, 1, 0}, /* never 0 while nonroot_rate is not */
	{20, 60, 0, 0, 0, 0, 0},
	{5, 5, 60, 5, 5, 20, 5}, /* the daemon's log lines about drops */
};

START_TEST(test_derived)
{
	const struct derived *d = &deriveds[_i];
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, d->burst, d->per_minute, d->nonroot);
	ck_assert_uint_eq(rl->burst, d->want_burst);
	ck_assert_uint_eq(rl->per_minute, d->want_per_minute);
	ck_assert_uint_eq(rl->nonroot_burst, d->want_nonroot_burst);
	ck_assert_uint_eq(rl->nonroot_per_minute, d->nonroot);
	ck_assert_uint_eq(rl->reserve, d->want_reserve);
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
	ratelimit_init(rl, 1, 0, WIDE);
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

/*
 * Issue 12 item 4: far more uids than the table holds (a user namespace
 * maps 65,536) each get a fresh bucket, but all of them together get no
 * more than the non-root bucket: 80 at once with the daemon's defaults,
 * and then 4 a second.
 */
START_TEST(test_many_uids_cut)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	unsigned i, ok = 0;

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, 20, 60, 240);
	for (i = 0; i < 10 * RATELIMIT_SLOTS; i++)
		ok += ratelimit_allow(rl, 100000 + i, 1000) ? 1 : 0;
	ck_assert_uint_eq(ok, 80);
	for (i = 0, ok = 0; i < 10 * RATELIMIT_SLOTS; i++)
		ok += ratelimit_allow(rl, 200000 + i, 2000) ? 1 : 0;
	ck_assert_uint_eq(ok, 4);
	/* uid 0 is not counted and never cut */
	for (i = 0; i < 1000; i++)
		ck_assert(ratelimit_allow(rl, 0, 2000));
	free(rl);
}

END_TEST

/* ratelimit_init on a used struct starts every bucket afresh. */
START_TEST(test_reinit_resets)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, 1, 0, WIDE);
	ck_assert(ratelimit_allow(rl, 42, 0));
	ck_assert(!ratelimit_allow(rl, 42, 0));
	ratelimit_init(rl, 2, 0, WIDE);
	ck_assert(ratelimit_allow(rl, 42, 0));
	ck_assert(ratelimit_allow(rl, 42, 0));
	ck_assert(!ratelimit_allow(rl, 42, 0));
	/* the non-root bucket too */
	ratelimit_init(rl, 1, 0, 3);
	ck_assert(ratelimit_allow(rl, 1, 0));
	ck_assert_int_eq(ratelimit_take(rl, 2, true, 0), RATELIMIT_NONROOT);
	ratelimit_init(rl, 1, 0, 3);
	ck_assert(ratelimit_allow(rl, 2, 0));
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
	ratelimit_init(rl, 5, 120, WIDE); /* 2 a second */
	/* one attempt every 100 ms for 60 s (10 a second) */
	for (t = 0; t < 60000; t += 100)
		allowed += ratelimit_allow(rl, 1000, t) ? 1 : 0;
	/* 5 at once, then 2 a second over 59.9 s: 119 more */
	ck_assert_uint_ge(allowed, 5 + 118);
	ck_assert_uint_le(allowed, 5 + 120);
	free(rl);
}

END_TEST

/* The same for all non-root uids together, each new uid a fresh bucket. */
START_TEST(test_sustained_nonroot_rate)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	unsigned allowed = 0, i = 0, k;
	uint64_t t;

	ck_assert_ptr_nonnull(rl);
	ratelimit_init(rl, 20, 60, 240); /* 80 at once, 4 a second */
	/* 10 attempts every 100 ms for 60 s, from ever new uids */
	for (t = 0; t < 60000; t += 100)
		for (k = 0; k < 10; k++)
			allowed += ratelimit_allow(rl, 100000 + i++, t) ? 1 : 0;
	/* 80 at once, then 4 a second over 59.9 s: 239 more */
	ck_assert_uint_ge(allowed, 80 + 238);
	ck_assert_uint_le(allowed, 80 + 240);
	free(rl);
}

END_TEST

Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("buckets");

	tcase_add_loop_test(tc, test_case, 0, (int)NCASES);
	tcase_add_loop_test(tc, test_derived, 0,
			    (int)(sizeof(deriveds) / sizeof(deriveds[0])));
	tcase_add_test(tc, test_table_full_evicts_oldest);
	tcase_add_test(tc, test_many_uids_cut);
	tcase_add_test(tc, test_reinit_resets);
	tcase_add_test(tc, test_sustained_rate);
	tcase_add_test(tc, test_sustained_nonroot_rate);
	suite_add_tcase(s, tc);
	return s;
}
