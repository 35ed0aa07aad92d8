/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_qscan.c: queue scans and counts on the qscan's thread
 * (syncd/qscan.c) on real folders: every user once, oldest first, taken
 * one at a time; a damaged file told and moved; the scan limit; a scan
 * asked for while one runs; the counts; a stop with names not taken.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"
#include "harness.h"
#include "qscan.h"
#include "queue.h"

Suite *qscan_suite(void);

#define WAIT_MS 20000

static struct {
	char *dir;
	char state[PATH_MAX];
	struct queue *q;
	struct qscan *s;
	unsigned damaged;
} W;

static void
on_damaged(void *ctx, const char *name, const char *reason)
{
	(void)ctx;
	(void)name;
	(void)reason;
	__atomic_add_fetch(&W.damaged, 1, __ATOMIC_SEQ_CST);
}

static void
setup(void)
{
	memset(&W, 0, sizeof(W));
	W.dir = h_tmpdir();
	ck_assert_ptr_nonnull(W.dir);
	H_FMT(W.state, "%s/state", W.dir);
	ck_assert_int_eq(queue_open(W.state, &W.q), FT_OK);
}

static void
teardown(void)
{
	qscan_free(W.s);
	queue_free(W.q);
	h_rmtree(W.dir);
	free(W.dir);
}

/* n files u000 .. u<n-1>, each a second older than the next. */
static void
spool_n(int n)
{
	char user[16], hex[64], path[PATH_MAX + 64];
	struct timespec ts[2];
	int i;

	for (i = 0; i < n; i++) {
		H_FMT(user, "u%03d", i);
		ck_assert_int_eq(h_spool(W.state, user), FT_OK);
		ck_assert_int_eq(
			ft_hex_encode(user, strlen(user), hex, sizeof(hex)),
			FT_OK);
		H_FMT(path, "%s/queue/%s", W.state, hex);
		ts[0].tv_sec = ts[1].tv_sec = 1000000000 + i;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
}

/* Every user of one scan, in order, into got (cap names); its result. */
static int
take_all(char (*got)[QUEUE_USER_MAX + 1], size_t cap, size_t *ret_n)
{
	struct pollfd p = {.fd = qscan_fd(W.s), .events = POLLIN};
	int result = FT_E_INTERNAL, e = 0;
	size_t n = 0;
	unsigned waited = 0;

	for (;;) {
		char user[QUEUE_USER_MAX + 1];

		while (qscan_next(W.s, user, sizeof(user))) {
			ck_assert_uint_lt(n, cap);
			memcpy(got[n++], user, sizeof(user));
		}
		if (qscan_done(W.s, &result, &e))
			break;
		ck_assert_uint_lt(waited, WAIT_MS);
		(void)poll(&p, 1, 100);
		waited += 100;
	}
	*ret_n = n;
	return result;
}

static bool
counted(void *arg)
{
	struct qscan_counts c;

	qscan_counts(W.s, &c);
	return c.valid && c.depth == *(size_t *)arg;
}

static bool
idle(void *arg)
{
	(void)arg;
	return !qscan_busy(W.s);
}

START_TEST(test_scan_oldest_first)
{
	char got[16][QUEUE_USER_MAX + 1], path[PATH_MAX + 64];
	size_t n = 0;
	int i;

	spool_n(5);
	/* a damaged file: told, moved to failed/, not delivered */
	H_FMT(path, "%s/queue/zz", W.state);
	ck_assert_int_eq(h_write_file(path, "nonsense", 0600), 0);
	ck_assert_int_eq(qscan_new(W.q, on_damaged, NULL, &W.s), FT_OK);
	ck_assert(!qscan_busy(W.s));
	qscan_start(W.s);
	ck_assert_int_eq(take_all(got, 16, &n), FT_OK);
	ck_assert_uint_eq(n, 5);
	for (i = 0; i < 5; i++) {
		char want[16];

		H_FMT(want, "u%03d", i);
		ck_assert_str_eq(got[i], want);
	}
	ck_assert_uint_eq(__atomic_load_n(&W.damaged, __ATOMIC_SEQ_CST), 1);
	ck_assert_int_eq(h_queue_count(W.state, "queue/failed"), 1);
	/* the files stay: taking a name is not handling it */
	ck_assert_int_eq(h_queue_count(W.state, "queue"), 5);
	ck_assert(h_wait_until(idle, NULL, WAIT_MS));
}

END_TEST

/* More files than one scan takes: the oldest, then FT_E_AGAIN. */
START_TEST(test_scan_limit)
{
	char got[16][QUEUE_USER_MAX + 1];
	size_t n = 0;

	spool_n(5);
	queue_set_scan_limit(W.q, 3);
	ck_assert_int_eq(qscan_new(W.q, NULL, NULL, &W.s), FT_OK);
	qscan_start(W.s);
	ck_assert_int_eq(take_all(got, 16, &n), FT_E_AGAIN);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(got[0], "u000");
	ck_assert_str_eq(got[2], "u002");
}

END_TEST

/* A scan asked for while one has names not taken: a second one follows,
 * after the first one's names, with what turned up meanwhile. */
START_TEST(test_scan_again)
{
	char got[16][QUEUE_USER_MAX + 1], user[QUEUE_USER_MAX + 1];
	struct pollfd p = {.fd = -1, .events = POLLIN};
	size_t n = 0;

	spool_n(2);
	ck_assert_int_eq(qscan_new(W.q, NULL, NULL, &W.s), FT_OK);
	p.fd = qscan_fd(W.s);
	qscan_start(W.s);
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	ck_assert(qscan_next(W.s, user, sizeof(user)));
	ck_assert_str_eq(user, "u000");
	ck_assert_int_eq(h_spool(W.state, "late"), FT_OK);
	qscan_start(W.s);
	ck_assert_int_eq(take_all(got, 16, &n), FT_OK);
	ck_assert_uint_eq(n, 1); /* u001: the rest of the first scan */
	ck_assert_str_eq(got[0], "u001");
	ck_assert_int_eq(take_all(got, 16, &n), FT_OK);
	ck_assert_uint_eq(n, 3); /* the second scan: all three */
	ck_assert_str_eq(got[0], "u000");
	ck_assert_str_eq(got[2], "late");
	ck_assert(h_wait_until(idle, NULL, WAIT_MS));
}

END_TEST

START_TEST(test_counts)
{
	struct qscan_counts c;
	size_t want = 4;

	spool_n(4);
	ck_assert_int_eq(qscan_new(W.q, NULL, NULL, &W.s), FT_OK);
	qscan_counts(W.s, &c);
	ck_assert(!c.valid); /* none asked for yet */
	qscan_count(W.s);
	ck_assert(h_wait_until(counted, &want, WAIT_MS));
	ck_assert_int_eq(h_spool(W.state, "fifth"), FT_OK);
	want = 5;
	qscan_count(W.s);
	ck_assert(h_wait_until(counted, &want, WAIT_MS));
	qscan_counts(W.s, &c);
	ck_assert_uint_eq(c.failed, 0);
	ck_assert_uint_eq(c.held, 0);
}

END_TEST

/* Freed with names not taken (and maybe a scan under way): no leak, no
 * hang (the sanitizers' run checks the first). */
START_TEST(test_free_mid_scan)
{
	struct pollfd p = {.fd = -1, .events = POLLIN};

	spool_n(50);
	ck_assert_int_eq(qscan_new(W.q, NULL, NULL, &W.s), FT_OK);
	p.fd = qscan_fd(W.s);
	qscan_start(W.s);
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	qscan_free(W.s);
	W.s = NULL;
	ck_assert_int_eq(h_queue_count(W.state, "queue"), 50);
}

END_TEST

Suite *
qscan_suite(void)
{
	Suite *s = suite_create("qscan");
	TCase *tc = tcase_create("qscan");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_scan_oldest_first);
	tcase_add_test(tc, test_scan_limit);
	tcase_add_test(tc, test_scan_again);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_free_mid_scan);
	suite_add_tcase(s, tc);
	return s;
}
