/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_hooks.c: hooks.c: the journal of changes for the on_change hook:
 * the actions, intents locked while in flight, only applied changes made
 * ready (seat_waiting for a seat refused), the bound, the names, the
 * cursor and the counts.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"
#include "hooks.h"
#include "hooks_int.h"

Suite *hooks_suite(void);

static char dir[64];
static int dfd = -1, hfd = -1;
static struct config cfg;
static char on_change[] = "/etc/ftrack-syncd/on-change";

static void
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/check_hooks.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.hooks.on_change = on_change;
	cfg.hooks.hook_timeout = 30;
	hfd = -1;
}

static void
teardown(void)
{
	char cmd[128];

	if (hfd >= 0)
		(void)close(hfd);
	(void)close(dfd);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The hooks folder, opened (after hooks_open made it). */
static int
hooks_dir(void)
{
	if (hfd < 0)
		hfd = openat(dfd, HOOKS_DIR, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(hfd, 0);
	return hfd;
}

/* Names in the hooks folder starting with c ('I', 'R'), the last one. */
static int
count_names(char c, char *last, size_t cap)
{
	int fd = dup(hooks_dir()), n = 0;
	DIR *d = fdopendir(fd);
	struct dirent *e;

	ck_assert_ptr_nonnull(d);
	rewinddir(d); /* the dup shares the offset of the last listing */
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] == c) {
			n++;
			if (last != NULL)
				(void)snprintf(last, cap, "%.63s", e->d_name);
		}
	(void)closedir(d);
	return n;
}

static char *
read_name(const char *name)
{
	char *buf = calloc(1, 1 << 16);
	int fd = openat(hooks_dir(), name, O_RDONLY);
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, (1 << 16) - 1);
	ck_assert_int_ge(n, 0);
	(void)close(fd);
	return buf;
}

static char n_alice[] = "alice", m_alice[] = "alice@example.com",
	    f_alice[] = "Alice", l_alice[] = "Archer", u_alice[] = "u-alice",
	    n_bob[] = "bob", u_bob[] = "u-bob", n_carol[] = "carol",
	    u_carol[] = "u-carol", i_carol[] = "id-carol", n_dave[] = "dave",
	    u_dave[] = "u-dave";
static struct ft_user alice = {.username = n_alice,
			       .email = m_alice,
			       .first_name = f_alice,
			       .last_name = l_alice,
			       .uuid = u_alice};
static struct ft_user bob = {.username = n_bob, .uuid = u_bob};
static struct ft_user carol_ft = {
	.username = n_carol, .uuid = u_carol, .id = i_carol, .is_active = true};
static struct ft_user dave = {.username = n_dave, .uuid = u_dave};

/* Four plans: a create, an update, a deactivation, one in sync. */
static void
plans(struct plan_action a[4])
{
	memset(a, 0, 4 * sizeof(*a));
	a[0].kind = PLAN_CREATE;
	a[0].fields = PLAN_F_USERNAME | PLAN_F_EMAIL;
	a[0].ldap = &alice;
	(void)snprintf(a[0].reason, sizeof(a[0].reason), "new in ftrack");
	a[1].kind = PLAN_UPDATE;
	a[1].fields = PLAN_F_EMAIL;
	a[1].ldap = &bob;
	a[2].kind = PLAN_DEACTIVATE;
	a[2].ftrack = &carol_ft;
	a[3].kind = PLAN_NONE;
	a[3].ldap = &dave;
}

static const char *
host_of(void *ctx, size_t i)
{
	(void)ctx;
	return i == 0 ? "ws1" : "";
}

START_TEST(test_actions)
{
	ck_assert_str_eq(hooks_action_name(HOOKS_CREATED), "created");
	ck_assert_str_eq(hooks_action_name(HOOKS_SEAT_WAITING), "seat_waiting");
	ck_assert_str_eq(hooks_action_name(HOOKS_ROLE_REVOKE), "role_revoke");
	ck_assert_str_eq(hooks_action_name(HOOKS_NACTIONS), "?");
	ck_assert_int_eq(HOOKS_NACTIONS, 13);
	ck_assert_int_eq(hooks_action_of(PLAN_CREATE, FT_OK), HOOKS_CREATED);
	ck_assert_int_eq(hooks_action_of(PLAN_CREATE, FT_E_SEAT),
			 HOOKS_SEAT_WAITING);
	ck_assert_int_eq(hooks_action_of(PLAN_REACTIVATE, FT_E_SEAT),
			 HOOKS_SEAT_WAITING);
	ck_assert_int_eq(hooks_action_of(PLAN_RENAME, FT_OK), HOOKS_RENAMED);
	ck_assert_int_eq(hooks_action_of(PLAN_DELETE, FT_OK), HOOKS_DELETED);
	ck_assert_int_eq(hooks_action_of(PLAN_NONE, FT_OK), HOOKS_NACTIONS);
	ck_assert_int_eq(hooks_action_of(PLAN_CONFLICT, FT_OK), HOOKS_NACTIONS);
	ck_assert_int_eq(hooks_action_of(PLAN_SKIP, FT_OK), HOOKS_NACTIONS);
}

END_TEST

/* No on_change: nothing journaled, no folder made. */
START_TEST(test_disabled)
{
	struct plan_action a[4];
	struct hooks *h = NULL;
	struct hooks_origin o = {"login", "login", NULL, NULL};
	struct stat st;

	cfg.hooks.on_change = NULL;
	ck_assert_int_eq(hooks_open(&cfg, dfd, &h), FT_OK);
	ck_assert(!hooks_enabled(h));
	plans(a);
	ck_assert_ptr_null(hooks_intend(h, a, NULL, 4, &o));
	hooks_applied(h, NULL, NULL);
	ck_assert_int_ne(fstatat(dfd, HOOKS_DIR, &st, 0), 0);
	ck_assert_ptr_null(hooks_intend(NULL, a, NULL, 4, &o));
	hooks_free(h);
	hooks_free(NULL);
}

END_TEST

/*
 * The intent holds every change (not the plan in sync), fsynced and
 * locked while the write is in flight; after it only the applied ones
 * are ready, the seat refused as seat_waiting, the failed one gone.
 */
START_TEST(test_intent_then_ready)
{
	struct plan_action a[4];
	struct hooks_intent *in;
	struct hooks *h = NULL;
	struct hooks_origin o = {"login", "login", host_of, NULL};
	struct hooks_counts c;
	int codes[4] = {FT_E_SEAT, FT_E_DATA, FT_OK, FT_OK}, fd;
	char name[HOOKS_NAME_MAX], *text;

	ck_assert_int_eq(hooks_open(&cfg, dfd, &h), FT_OK);
	ck_assert(hooks_enabled(h));
	plans(a);
	in = hooks_intend(h, a, NULL, 4, &o);
	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(count_names('I', name, sizeof(name)), 1);
	ck_assert(hooks_is_intent(name));
	text = read_name(name);
	ck_assert_ptr_nonnull(strstr(text, "\"action\":\"created\""));
	ck_assert_ptr_nonnull(strstr(text, "\"action\":\"updated\""));
	ck_assert_ptr_nonnull(strstr(text, "\"action\":\"deactivated\""));
	ck_assert_ptr_null(strstr(text, "dave"));
	ck_assert_ptr_nonnull(strstr(text, "\"host\":\"ws1\""));
	ck_assert_ptr_nonnull(strstr(text, "\"fields\":[\"username\","
					   "\"email\"]"));
	free(text);
	/* locked by its writer */
	fd = openat(hooks_dir(), name, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(flock(fd, LOCK_EX | LOCK_NB), 0);
	ck_assert_int_eq(hooks_count(dfd, &c), FT_OK);
	ck_assert_uint_eq(c.in_flight, 1);
	ck_assert_uint_eq(c.pending, 0);
	ck_assert_uint_gt(c.pending_bytes, 0);
	hooks_applied(h, in, codes);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	(void)close(fd);
	ck_assert_int_eq(count_names('I', NULL, 0), 0);
	ck_assert_int_eq(count_names('R', name, sizeof(name)), 1);
	ck_assert_uint_eq(hooks_ready_count(name), 2);
	text = read_name(name);
	ck_assert_ptr_nonnull(strstr(text, "\"action\":\"seat_waiting\""));
	ck_assert_ptr_nonnull(strstr(text, "\"action\":\"deactivated\""));
	ck_assert_ptr_null(strstr(text, "\"action\":\"updated\""));
	ck_assert_ptr_nonnull(strstr(text, "\"ftrack_id\":\"id-carol\""));
	ck_assert_ptr_nonnull(strstr(text, "-0\",\"time\""));
	ck_assert_ptr_nonnull(strstr(text, "-2\",\"time\""));
	free(text);
	ck_assert_int_eq(hooks_count(dfd, &c), FT_OK);
	ck_assert_uint_eq(c.in_flight, 0);
	ck_assert_uint_eq(c.pending, 2);
	ck_assert_uint_eq(hooks_dropped(h), 0);
	hooks_free(h);
}

END_TEST

/* Nothing landed: no ready file; want[] leaves out the unwanted. */
START_TEST(test_nothing_applied)
{
	struct plan_action a[4];
	struct hooks_intent *in;
	struct hooks *h = NULL;
	struct hooks_origin o = {"reconcile", "reconcile", NULL, NULL};
	int codes[4] = {FT_E_HTTP, FT_E_HTTP, FT_E_HTTP, FT_OK};
	bool want[4] = {true, false, true, true};
	char name[HOOKS_NAME_MAX], *text;

	ck_assert_int_eq(hooks_open(&cfg, dfd, &h), FT_OK);
	plans(a);
	in = hooks_intend(h, a, want, 4, &o);
	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(count_names('I', name, sizeof(name)), 1);
	text = read_name(name);
	ck_assert_ptr_null(strstr(text, "\"username\":\"bob\""));
	ck_assert_ptr_nonnull(strstr(text, "\"source\":\"reconcile\""));
	free(text);
	hooks_applied(h, in, codes);
	ck_assert_int_eq(count_names('I', NULL, 0), 0);
	ck_assert_int_eq(count_names('R', NULL, 0), 0);
	/* only plans in sync: no intent at all */
	a[0].kind = a[1].kind = a[2].kind = PLAN_NONE;
	ck_assert_ptr_null(hooks_intend(h, a, NULL, 4, &o));
	ck_assert_int_eq(count_names('I', NULL, 0), 0);
	hooks_free(h);
}

END_TEST

/* A change another feature describes (a group): its own member. */
START_TEST(test_generic_change)
{
	struct hooks_change c[2];
	struct hooks_intent *in;
	struct hooks *h = NULL;
	struct hooks_origin o = {"reconcile", "reconcile", NULL, NULL};
	int codes[6] = {FT_E_DATA, FT_E_DATA, FT_E_DATA,
			FT_OK,     FT_E_DATA, FT_OK};
	char name[HOOKS_NAME_MAX], *text;

	ck_assert_int_eq(hooks_open(&cfg, dfd, &h), FT_OK);
	memset(c, 0, sizeof(c));
	c[0].action = HOOKS_GROUP_ADD;
	c[0].index = 3;
	c[0].user = &alice;
	c[0].what_key = "group";
	c[0].what = "animators";
	c[1].action = HOOKS_ROLE_REVOKE;
	c[1].index = 4;
	c[1].user = &bob;
	c[1].what_key = "role";
	c[1].what = "Supervisor";
	in = hooks_intend_changes(h, c, 2, &o);
	ck_assert_ptr_nonnull(in);
	hooks_applied(h, in, codes);
	ck_assert_int_eq(count_names('R', name, sizeof(name)), 1);
	ck_assert_uint_eq(hooks_ready_count(name), 1);
	text = read_name(name);
	ck_assert_ptr_nonnull(strstr(text, "\"action\":\"group_add\""));
	ck_assert_ptr_nonnull(strstr(text, "\"group\":\"animators\""));
	ck_assert_ptr_null(strstr(text, "role_revoke"));
	free(text);
	hooks_free(h);
}

END_TEST

/* Past HOOKS_PENDING_MAX bytes pending: not journaled, counted. */
START_TEST(test_bound)
{
	struct plan_action a[4];
	struct hooks *h = NULL;
	struct hooks_origin o = {"login", "login", NULL, NULL};
	struct hooks_intent *in;
	int codes[4] = {FT_OK, FT_OK, FT_OK, FT_OK}, fd;
	char big[HOOKS_NAME_MAX];

	ck_assert_int_eq(hooks_open(&cfg, dfd, &h), FT_OK);
	(void)snprintf(big, sizeof(big), "R%016x-%08x-%06x.9.json", 1, 1, 1);
	fd = openat(hooks_dir(), big, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)HOOKS_PENDING_MAX), 0);
	(void)close(fd);
	plans(a);
	ck_assert_ptr_null(hooks_intend(h, a, NULL, 4, &o));
	ck_assert_uint_eq(hooks_dropped(h), 3);
	ck_assert_int_eq(count_names('I', NULL, 0), 0);
	ck_assert_int_eq(unlinkat(hooks_dir(), big, 0), 0);
	in = hooks_intend(h, a, NULL, 4, &o);
	ck_assert_ptr_nonnull(in);
	hooks_applied(h, in, codes);
	ck_assert_int_eq(count_names('R', NULL, 0), 1);
	hooks_free(h);
}

END_TEST

START_TEST(test_names_and_cursor)
{
	const char *v[] = {"I0000000000000002-00000001-000001.json",
			   "R0000000000000001-00000001-000001.3.json",
			   "I0000000000000001-00000001-000001.json"};
	struct hooks_cursor c, back;
	struct hooks *h = NULL;

	ck_assert(hooks_is_intent(v[0]));
	ck_assert(!hooks_is_ready(v[0]));
	ck_assert_uint_eq(hooks_ready_count(v[1]), 3);
	ck_assert_uint_eq(hooks_ready_count("R.json"), 0);
	ck_assert_uint_eq(
		hooks_ready_count("R0000000000000001-00000001-000001.x.json"),
		0);
	ck_assert(!hooks_is_intent("cursor"));
	qsort(v, 3, sizeof(v[0]), hooks_name_cmp);
	ck_assert_str_eq(v[0], "R0000000000000001-00000001-000001.3.json");
	ck_assert_str_eq(v[1], "I0000000000000001-00000001-000001.json");
	ck_assert_str_eq(v[2], "I0000000000000002-00000001-000001.json");
	ck_assert_int_eq(hooks_open(&cfg, dfd, &h), FT_OK);
	hooks_cursor_read(hooks_dir(), &back);
	ck_assert_str_eq(back.name, "");
	memset(&c, 0, sizeof(c));
	(void)snprintf(c.name, sizeof(c.name), "%s", v[0]);
	c.offset = 120;
	c.index = 2;
	c.attempts = 4;
	ck_assert_int_eq(hooks_cursor_write(hooks_dir(), &c), FT_OK);
	hooks_cursor_read(hooks_dir(), &back);
	ck_assert_str_eq(back.name, v[0]);
	ck_assert_uint_eq(back.offset, 120);
	ck_assert_uint_eq(back.index, 2);
	ck_assert_uint_eq(back.attempts, 4);
	hooks_free(h);
}

END_TEST

Suite *
hooks_suite(void)
{
	Suite *s = suite_create("hooks");
	TCase *tc = tcase_create("hooks");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_actions);
	tcase_add_test(tc, test_disabled);
	tcase_add_test(tc, test_intent_then_ready);
	tcase_add_test(tc, test_nothing_applied);
	tcase_add_test(tc, test_generic_change);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_names_and_cursor);
	suite_add_tcase(s, tc);
	return s;
}
