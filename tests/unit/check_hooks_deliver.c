/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_hooks_deliver.c: hooks_deliver.c in process: journaled changes
 * (hooks.c) delivered in order to a real shell script and removed (two
 * writes' files in one batch); a
 * hook that always refuses: each change refused HOOKS_REFUSALS_MAX times
 * goes to hooks/failed/, one after the other; a program the file rule
 * refuses: the changes wait (no refusal); no on_change: no delivery.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "hooks.h"
#include "hooks_deliver.h"

Suite *hooks_deliver_suite(void);

#define WAIT_MS 20000

static char dir[64], prog[128], out[128];
static char server[] = "http://127.0.0.1:9";
static int dfd = -1;
static struct config cfg;

static void
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/check_hooks_deliver.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	(void)snprintf(prog, sizeof(prog), "%s/hook", dir);
	(void)snprintf(out, sizeof(out), "%s/out", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.hooks.on_change = prog;
	cfg.hooks.hook_timeout = 10;
	cfg.ftrack.server = server;
	cfg.ftrack.timeout = 1;
}

static void
teardown(void)
{
	char cmd[128];

	(void)close(dfd);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
script(const char *body)
{
	FILE *f = fopen(prog, "w");

	ck_assert_ptr_nonnull(f);
	(void)fprintf(f, "#!/bin/sh\nOUT='%s'\n%s\n", out, body);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(prog, 0755), 0);
}

static char n_a[] = "alice", u_a[] = "u-a", n_b[] = "bob", u_b[] = "u-b";
static struct ft_user ua = {.username = n_a, .uuid = u_a};
static struct ft_user ub = {.username = n_b, .uuid = u_b};

/* Journal a create of alice, then one of bob, both applied. */
static void
journal_two(void)
{
	struct hooks_origin o = {"login", "login", NULL, NULL};
	struct plan_action a;
	struct hooks_intent *in;
	struct hooks *h = NULL;
	int ok = FT_OK;

	ck_assert_int_eq(hooks_open(&cfg, dfd, &h), FT_OK);
	memset(&a, 0, sizeof(a));
	a.kind = PLAN_CREATE;
	a.ldap = &ua;
	in = hooks_intend(h, &a, NULL, 1, &o);
	ck_assert_ptr_nonnull(in);
	hooks_applied(h, in, &ok);
	a.ldap = &ub;
	in = hooks_intend(h, &a, NULL, 1, &o);
	ck_assert_ptr_nonnull(in);
	hooks_applied(h, in, &ok);
	hooks_free(h);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	(void)nanosleep(&ts, NULL);
}

static bool
wait_counts(bool (*cond)(const struct hooks_counts *))
{
	struct hooks_counts c;
	long waited;

	for (waited = 0; waited < WAIT_MS; waited += 20) {
		if (hooks_count(dfd, &c) == FT_OK && cond(&c))
			return true;
		sleep_ms(20);
	}
	return false;
}

static bool
nothing_pending(const struct hooks_counts *c)
{
	return c->pending == 0 && c->in_flight == 0;
}

static bool
two_failed(const struct hooks_counts *c)
{
	return c->failed == 2 && c->pending == 0;
}

START_TEST(test_delivered_in_order)
{
	struct hooks_deliver *d = NULL;
	struct hooks_deliver_stats st;
	char buf[4096], path[160];
	FILE *f;
	size_t n;

	script("echo run >>\"$OUT.runs\"; cat >>\"$OUT\"");
	journal_two();
	ck_assert_int_eq(hooks_deliver_new(&cfg, dfd, &d), FT_OK);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(hooks_deliver_start(d), FT_OK);
	ck_assert(wait_counts(nothing_pending));
	hooks_deliver_stats(d, &st);
	ck_assert_uint_eq(st.delivered, 2);
	ck_assert_uint_eq(st.refused, 0);
	hooks_deliver_free(d);
	f = fopen(out, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	(void)fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\"username\":\"alice\""));
	ck_assert(strstr(buf, "\"username\":\"alice\"") <
		  strstr(buf, "\"username\":\"bob\""));
	/* the two writes' files went in one batch */
	(void)snprintf(path, sizeof(path), "%s.runs", out);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	(void)fclose(f);
	ck_assert_str_eq(buf, "run\n");
}

END_TEST

START_TEST(test_refused_to_failed)
{
	struct hooks_deliver *d = NULL;
	struct hooks_deliver_stats st;

	script("cat >/dev/null; exit 1");
	journal_two();
	ck_assert_int_eq(hooks_deliver_new(&cfg, dfd, &d), FT_OK);
	hooks_deliver_set_backoff(d, 1, 1);
	ck_assert_int_eq(hooks_deliver_start(d), FT_OK);
	ck_assert(wait_counts(two_failed));
	hooks_deliver_stats(d, &st);
	hooks_deliver_free(d);
	ck_assert_uint_eq(st.failed, 2);
	ck_assert_uint_eq(st.delivered, 0);
	ck_assert_uint_eq(st.refused, 2 * HOOKS_REFUSALS_MAX);
}

END_TEST

/*
 * A program others may write is not run: the changes wait, refused by
 * nobody; made safe, it takes them.
 */
START_TEST(test_not_started_waits)
{
	struct hooks_deliver *d = NULL;
	struct hooks_deliver_stats st;
	struct hooks_counts c;
	long waited;

	script("cat >/dev/null");
	ck_assert_int_eq(chmod(prog, 0777), 0);
	journal_two();
	ck_assert_int_eq(hooks_deliver_new(&cfg, dfd, &d), FT_OK);
	hooks_deliver_set_backoff(d, 1, 1);
	ck_assert_int_eq(hooks_deliver_start(d), FT_OK);
	for (waited = 0; waited < WAIT_MS; waited += 20) {
		hooks_deliver_stats(d, &st);
		if (st.not_started >= 3)
			break;
		sleep_ms(20);
	}
	ck_assert_uint_ge(st.not_started, 3);
	ck_assert_uint_eq(st.refused, 0);
	ck_assert_int_eq(hooks_count(dfd, &c), FT_OK);
	ck_assert_uint_eq(c.pending, 2);
	ck_assert_uint_eq(c.failed, 0);
	ck_assert_int_eq(chmod(prog, 0755), 0);
	ck_assert(wait_counts(nothing_pending));
	hooks_deliver_stats(d, &st);
	hooks_deliver_free(d);
	ck_assert_uint_eq(st.delivered, 2);
	ck_assert_uint_eq(st.refused, 0);
}

END_TEST

START_TEST(test_no_on_change)
{
	struct hooks_deliver *d = NULL;

	cfg.hooks.on_change = NULL;
	ck_assert_int_eq(hooks_deliver_new(&cfg, dfd, &d), FT_OK);
	ck_assert_ptr_null(d);
	hooks_deliver_free(NULL);
}

END_TEST

Suite *
hooks_deliver_suite(void)
{
	Suite *s = suite_create("hooks_deliver");
	TCase *tc = tcase_create("hooks_deliver");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_delivered_in_order);
	tcase_add_test(tc, test_refused_to_failed);
	tcase_add_test(tc, test_not_started_waits);
	tcase_add_test(tc, test_no_on_change);
	suite_add_tcase(s, tc);
	return s;
}
