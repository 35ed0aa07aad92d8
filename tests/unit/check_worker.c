/* SPDX-License-Identifier: Apache-2.0 */
/* check_worker.c: the provisioning thread against a slapd and the ftrack
 * emulator: queue files, outcomes, cooldown, back-off, config swaps. */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ft_err.h"
#include "harness.h"
#include "log.h"
#include "queue.h"
#include "worker.h"

Suite *worker_suite(void);

#define WAIT_MS 20000

/* Per test: a state folder and its queue, up to two configs, a worker. */
static struct {
	char dir[PATH_MAX], state[PATH_MAX + 16];
	struct queue *q;
	struct config *cfg[2];
	struct worker *w;
} W;

static void
world_setup(void)
{
	h_fx_world_setup(); /* the emulator reset, a fresh h_fx.dir */
	log_set(true, LOG_WARNING);
	memset(&W, 0, sizeof(W));
	H_FMT(W.dir, "%s", h_fx.dir);
	H_FMT(W.state, "%s/state", W.dir);
	ck_assert_int_eq(mkdir(W.state, 0700), 0);
	ck_assert_int_eq(queue_open(W.state, &W.q), FT_OK);
}

static void
world_teardown(void)
{
	h_fx_world_teardown();
	worker_free(W.w);
	config_free(W.cfg[0]);
	config_free(W.cfg[1]);
	queue_free(W.q);
	memset(&W, 0, sizeof(W));
}

/* Config number i (in its own folder) for slapd or a closed port. */
static struct config *
load_config(int i, bool ldap, const char *extra)
{
	char dir[PATH_MAX + 16], err[512] = "";
	char *conf;

	H_FMT(dir, "%s/c%d", W.dir, i);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	conf = h_write_config(dir, ldap ? h_fx_slapd : NULL, h_fx_emu, extra);
	ck_assert_ptr_nonnull(conf);
	ck_assert_msg(config_load(conf, &W.cfg[i], err, sizeof(err)) == FT_OK,
		      "%s", err);
	free(conf);
	return W.cfg[i];
}

static void
new_worker(bool ldap, const char *extra)
{
	ck_assert_int_eq(worker_new(load_config(0, ldap, extra), W.q, &W.w),
			 FT_OK);
}

/* Journal user (as the reader or the PAM fallback would) and submit. */
static void
submit(const char *user)
{
	ck_assert_int_eq(h_spool(W.state, user), FT_OK);
	ck_assert(h_queued(W.state, user));
	ck_assert_int_eq(worker_submit(W.w, user), FT_OK);
}

static struct worker_stats
stats(void)
{
	struct worker_stats st;

	worker_stats(W.w, &st);
	return st;
}

static bool
idle(void *arg)
{
	(void)arg;
	return stats().pending == 0;
}

static void
wait_idle(void)
{
	ck_assert_msg(h_wait_until(idle, NULL, WAIT_MS), "still %zu pending",
		      stats().pending);
}

static double
now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- outcomes and their queue files ------------------------------------ */

struct row {
	const char *name;
	const char *extra;
	const char *user;
	enum sync_outcome want;
	bool in_ftrack; /* the user exists in ftrack afterwards */
	bool cooled;    /* worker_cooled() afterwards */
};

static const struct row rows[] = {
	{"created", NULL, "alice", SYNC_CREATED, true, true},
	{"created, no cooldown", "policy.login_cooldown = 0", "bob",
	 SYNC_CREATED, true, false},
	{"not in LDAP", NULL, "nosuchuser", SYNC_NOT_LDAP, false, true},
	{"disabled", NULL, "gone", SYNC_NOT_LDAP, false, true},
	{"skipped", "policy.on_login = update-only", "carol", SYNC_SKIPPED,
	 false, true},
	{"failed", NULL, "", SYNC_FAILED, false, false},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

START_TEST(test_outcome)
{
	const struct row *r = &rows[_i];
	struct worker_stats st;
	int o;

	new_worker(true, r->extra);
	ck_assert(!worker_cooled(W.w, r->user));
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	if (r->user[0] == '\0') {
		/* no file can be spooled for an empty name */
		ck_assert_int_eq(worker_submit(W.w, r->user), FT_OK);
	} else {
		submit(r->user);
	}
	wait_idle();
	st = stats();
	for (o = SYNC_CREATED; o <= SYNC_FAILED; o++)
		ck_assert_msg(st.outcomes[o] == (o == (int)r->want ? 1u : 0u),
			      "%s: %lu %s", r->name, st.outcomes[o],
			      sync_outcome_name((enum sync_outcome)o));
	ck_assert_uint_eq(st.batches, 1);
	ck_assert(st.ldap_up);
	if (r->user[0] != '\0') {
		ck_assert(!h_queued(W.state, r->user));
		ck_assert_int_eq(h_emu_named(h_fx_emu, r->user),
				 r->in_ftrack ? 1 : 0);
	}
	ck_assert_int_eq(h_queue_count(W.state, "queue"), 0);
	ck_assert(worker_cooled(W.w, r->user) == r->cooled);
	ck_assert(!worker_cooled(W.w, "somebody-else"));
}

END_TEST

/* A permanent failure moves the file to failed/ with the reason. */
START_TEST(test_failed_file)
{
	char *id, ops[512], path[PATH_MAX + 64], *text;
	json_t *res;

	new_worker(true, NULL);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	/* erin's marker on "erin-old", and another "erin": a conflict */
	submit("erin");
	wait_idle();
	ck_assert_int_eq(h_emu_named(h_fx_emu, "erin"), 1);
	res = h_emu_user(h_fx_emu, "erin");
	id = strdup(json_string_value(json_object_get(res, "id")));
	json_decref(res);
	ck_assert_ptr_nonnull(id);
	H_FMT(ops,
	      "[{\"action\": \"update\", \"entity_type\": \"User\", "
	      "\"entity_key\": [\"%s\"], \"entity_data\": {\"__entity_type__\": "
	      "\"User\", \"username\": \"erin-old\"}}, {\"action\": \"create\", "
	      "\"entity_type\": \"User\", \"entity_data\": {\"__entity_type__\": "
	      "\"User\", \"username\": \"erin\", \"is_active\": true}}]",
	      id);
	free(id);
	res = h_emu_api(h_fx_emu, ops);
	ck_assert(json_is_array(res));
	json_decref(res);
	/* a new login after the cooldown would do the same; submit does */
	submit("erin");
	wait_idle();
	ck_assert_uint_eq(stats().outcomes[SYNC_FAILED], 1);
	ck_assert(!h_queued(W.state, "erin"));
	ck_assert_int_eq(h_queue_count(W.state, "queue/failed"), 1);
	ck_assert_int_eq(h_queue_path(W.state, "erin", path, sizeof(path)),
			 FT_OK);
	{
		char failed[PATH_MAX + 128];
		const char *slash = strrchr(path, '/');

		H_FMT(failed, "%s/queue/failed%s", W.state, slash);
		text = h_read_file(failed, NULL);
	}
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, "error=") && strstr(text, "erin-old"), "%s",
		      text);
	free(text);
	ck_assert_uint_ge(stats().errors[METRICS_ERR_DATA] +
				  stats().errors[METRICS_ERR_FTRACK] +
				  stats().errors[METRICS_ERR_LDAP] +
				  stats().errors[METRICS_ERR_IO],
			  1);
}

END_TEST

/* Logins before the start go in one batch; a repeat is not added twice. */
START_TEST(test_one_batch)
{
	static const char *const users[] = {"alice", "bob",  "carol",
					    "dave",  "erin", "frank",
					    "joerg", "zoe",  "yamada"};
	size_t i;

	new_worker(true, NULL);
	for (i = 0; i < 9; i++)
		submit(users[i]);
	ck_assert_int_eq(worker_submit(W.w, "alice"), FT_OK);
	ck_assert_uint_eq(stats().pending, 9);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	wait_idle();
	ck_assert_uint_eq(stats().batches, 1);
	ck_assert_uint_eq(stats().outcomes[SYNC_CREATED], 9);
	ck_assert_uint_eq(stats().ldap_searches, 9);
	ck_assert_uint_le(stats().http_requests, 3);
	ck_assert_int_eq(h_queue_count(W.state, "queue"), 0);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 9);
}

END_TEST

/* ---- cooldown ---------------------------------------------------------- */

static bool
not_cooled(void *arg)
{
	return !worker_cooled(W.w, arg);
}

START_TEST(test_cooldown_expires)
{
	double t0;

	new_worker(true, "policy.login_cooldown = 1");
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	submit("dave");
	wait_idle();
	t0 = now_s();
	ck_assert(worker_cooled(W.w, "dave"));
	ck_assert(h_wait_until(not_cooled, (void *)(uintptr_t) "dave", 3000));
	ck_assert_msg(now_s() - t0 <= 1.2, "cooled for %.2f s", now_s() - t0);
	/* a login after the cooldown is looked up again */
	submit("dave");
	wait_idle();
	ck_assert_uint_eq(stats().outcomes[SYNC_CREATED], 1);
	ck_assert_uint_eq(stats().outcomes[SYNC_UNCHANGED], 1);
	ck_assert_uint_eq(stats().batches, 2);
}

END_TEST

/* ---- retries ----------------------------------------------------------- */

static bool
retries_at_least(void *arg)
{
	return stats().outcomes[SYNC_RETRY] >= *(unsigned long *)arg;
}

/*
 * LDAP down: the file stays, the user is retried after about 1 s, then
 * 2 s (queue_backoff_ms, +-20%); with LDAP back (a new config) it goes
 * through and the file goes.
 */
START_TEST(test_retry_backoff_ldap_down)
{
	double t[4];
	unsigned long k;
	struct worker_stats st;

	new_worker(false, NULL);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	t[0] = now_s();
	submit("frank");
	for (k = 1; k <= 3; k++) {
		ck_assert_msg(h_wait_until(retries_at_least, &k, WAIT_MS),
			      "no retry %lu", k);
		t[k] = now_s();
		ck_assert(h_queued(W.state, "frank"));
	}
	st = stats();
	ck_assert(!st.ldap_up);
	ck_assert_uint_eq(st.pending, 1);
	ck_assert_uint_eq(st.outcomes[SYNC_RETRY], 3);
	ck_assert_uint_eq(st.errors[METRICS_ERR_LDAP], 3);
	ck_assert(!worker_cooled(W.w, "frank"));
	/*
	 * A retry never comes before its back-off (0.8-1.2 s, then
	 * 1.6-2.4 s); it may come late on a loaded machine (sanitizers, two
	 * cores), so the upper bounds only catch a wait far too long.
	 */
	ck_assert_msg(t[1] - t[0] < 3.0, "first try after %.2f s", t[1] - t[0]);
	ck_assert_msg(t[2] - t[1] >= 0.75 && t[2] - t[1] <= 3.0,
		      "first back-off %.2f s", t[2] - t[1]);
	ck_assert_msg(t[3] - t[2] >= 1.55 && t[3] - t[2] <= 5.0,
		      "second back-off %.2f s", t[3] - t[2]);
	/* LDAP is back */
	worker_set_config(W.w, load_config(1, true, NULL));
	wait_idle();
	st = stats();
	ck_assert_uint_eq(st.outcomes[SYNC_CREATED], 1);
	ck_assert(st.ldap_up);
	ck_assert(!h_queued(W.state, "frank"));
	ck_assert_int_eq(h_emu_named(h_fx_emu, "frank"), 1);
	ck_assert(worker_config_retired(W.w, W.cfg[0]));
	ck_assert(!worker_config_retired(W.w, W.cfg[1]));
}

END_TEST

/* A retry already scheduled is not made sooner by another submit. */
START_TEST(test_submit_while_waiting_retry)
{
	unsigned long one = 1;

	new_worker(false, NULL);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	submit("zoe");
	ck_assert(h_wait_until(retries_at_least, &one, WAIT_MS));
	ck_assert_int_eq(worker_submit(W.w, "zoe"), FT_OK);
	ck_assert_int_eq(worker_submit(W.w, "zoe"), FT_OK);
	ck_assert_uint_eq(stats().pending, 1);
	ck_assert_uint_eq(stats().outcomes[SYNC_RETRY], 1);
}

END_TEST

/*
 * A login of a person on back-off after a transient error is retried at
 * once, once per login_cooldown: the next login within it waits for the
 * back-off (4 s after the third failure: 3.2-4.8 s).
 */
START_TEST(test_login_retries_early)
{
	unsigned long two = 2, three = 3;
	double t0;

	new_worker(false, "policy.login_cooldown = 600");
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	submit("frank");
	ck_assert(h_wait_until(retries_at_least, &two, WAIT_MS));
	/* a queue scan finding the file changes nothing */
	ck_assert_int_eq(worker_submit(W.w, "frank"), FT_OK);
	t0 = now_s();
	ck_assert_int_eq(worker_login(W.w, "frank"), FT_OK);
	ck_assert(h_wait_until(retries_at_least, &three, WAIT_MS));
	ck_assert_msg(now_s() - t0 < 1.5, "retried after %.2f s", now_s() - t0);
	/* within login_cooldown: no second early retry */
	t0 = now_s();
	ck_assert_int_eq(worker_login(W.w, "frank"), FT_OK);
	usleep(1000 * 1000);
	if (now_s() - t0 < 3.0) /* else the back-off may be over */
		ck_assert_uint_eq(stats().outcomes[SYNC_RETRY], 3);
	ck_assert_uint_eq(stats().pending, 1);
	ck_assert(h_queued(W.state, "frank"));
}

END_TEST

/* ---- seats --------------------------------------------------------------- */

static void
emu_config(const char *spec)
{
	ck_assert_int_eq(h_emu_control(h_fx_emu, "/_emulator/config", spec),
			 FT_OK);
}

static bool
seat_waits_at_least(void *arg)
{
	return stats().outcomes[SYNC_SEAT_WAITING] >= *(unsigned long *)arg;
}

/*
 * No free seat: the login stays in queue/ and is asked again with the
 * back-off (a warning each time, not an error); a seat freed, the next
 * try activates the user and the file goes.
 */
START_TEST(test_seat_waiting_retried)
{
	unsigned long two = 2;
	struct worker_stats st;
	double t0, t1;

	new_worker(true, NULL);
	emu_config("{\"seat_cap\": 1}");
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	t0 = now_s();
	submit("alice");
	ck_assert(h_wait_until(seat_waits_at_least, &two, WAIT_MS));
	t1 = now_s();
	ck_assert_msg(t1 - t0 >= 0.75, "asked again after %.2f s", t1 - t0);
	st = stats();
	ck_assert(h_queued(W.state, "alice"));
	ck_assert_uint_eq(st.pending, 1);
	ck_assert_uint_eq(st.outcomes[SYNC_RETRY], 0);
	ck_assert_uint_eq(st.outcomes[SYNC_FAILED], 0);
	ck_assert_uint_eq(st.errors[METRICS_ERR_FTRACK] +
				  st.errors[METRICS_ERR_DATA] +
				  st.errors[METRICS_ERR_IO],
			  0);
	ck_assert(st.ftrack_up);
	ck_assert(!worker_cooled(W.w, "alice"));
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 1);
	ck_assert_int_eq(h_queue_count(W.state, "queue/failed"), 0);
	/* a seat free: the next try of the back-off activates alice */
	emu_config("{\"seat_cap\": null}");
	wait_idle();
	st = stats();
	ck_assert_uint_eq(st.outcomes[SYNC_REACTIVATED], 1);
	ck_assert(!h_queued(W.state, "alice"));
	ck_assert_int_eq(h_emu_user_markers(h_fx_emu, "alice",
					    "ftrack_syncd.seat_waiting", NULL),
			 0);
	ck_assert(worker_cooled(W.w, "alice"));
}

END_TEST

/*
 * A login while waiting for a seat is tried at once, not at the end of
 * the back-off (the third wait is 3.2-4.8 s); the count of people
 * waiting follows.
 */
START_TEST(test_seat_waiting_login_now)
{
	unsigned long three = 3;
	double t0;

	new_worker(true, NULL);
	emu_config("{\"seat_cap\": 1}");
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	submit("bob");
	ck_assert(h_wait_until(seat_waits_at_least, &three, WAIT_MS));
	ck_assert_uint_eq(stats().seat_waiting, 1);
	/* a queue scan finding the file changes nothing */
	ck_assert_int_eq(worker_submit(W.w, "bob"), FT_OK);
	ck_assert_uint_eq(stats().pending, 1);
	emu_config("{\"seat_cap\": null}");
	t0 = now_s();
	ck_assert_int_eq(worker_login(W.w, "bob"), FT_OK);
	wait_idle();
	ck_assert_msg(now_s() - t0 < 2.5, "activated after %.2f s",
		      now_s() - t0);
	ck_assert_uint_eq(stats().outcomes[SYNC_REACTIVATED], 1);
	ck_assert_uint_eq(stats().outcomes[SYNC_SEAT_WAITING], 3);
	ck_assert_uint_eq(stats().seat_waiting, 0);
	ck_assert(!h_queued(W.state, "bob"));
	/* a login of someone not queued is a submit */
	ck_assert_int_eq(h_spool(W.state, "carol"), FT_OK);
	ck_assert_int_eq(worker_login(W.w, "carol"), FT_OK);
	wait_idle();
	ck_assert_uint_eq(stats().outcomes[SYNC_CREATED], 1);
}

END_TEST

/* Stopping keeps what is still queued on disk for the next start. */
START_TEST(test_free_keeps_queue)
{
	unsigned long one = 1;

	new_worker(false, NULL);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	submit("yamada");
	submit("joerg");
	ck_assert(h_wait_until(retries_at_least, &one, WAIT_MS));
	worker_free(W.w);
	W.w = NULL;
	ck_assert(h_queued(W.state, "yamada"));
	ck_assert(h_queued(W.state, "joerg"));
	ck_assert_int_eq(h_queue_count(W.state, "queue"), 2);
}

END_TEST

/* worker_set_config before the start takes effect at once. */
START_TEST(test_config_before_start)
{
	new_worker(false, NULL);
	worker_set_config(W.w, load_config(1, true, NULL));
	ck_assert(worker_config_retired(W.w, W.cfg[0]));
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	submit("nomail");
	wait_idle();
	ck_assert_uint_eq(stats().outcomes[SYNC_CREATED], 1);
	ck_assert_uint_eq(stats().outcomes[SYNC_RETRY], 0);
}

END_TEST

START_TEST(test_free_unstarted)
{
	new_worker(true, NULL);
	submit("alice");
	worker_free(W.w);
	W.w = NULL;
	worker_free(NULL);
	ck_assert(h_queued(W.state, "alice"));
}

END_TEST

/* ---- not-ldap at info, at most once an interval -------------------------- */

/* The log (stderr) into path from here on, at info. */
static void
log_to(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	(void)close(fd);
	log_set(true, LOG_INFO);
}

/*
 * Two not-ldap logins in one batch: the first at info (with the hint: the
 * name is qualified), the second at debug only; after the interval the
 * next one at info says how many were not.  Disabled: no hint.
 */
START_TEST(test_not_ldap_quiet)
{
	char log[PATH_MAX + 16];

	H_FMT(log, "%s/worker.log", W.dir);
	log_to(log);
	new_worker(true, NULL);
	worker_set_not_ldap_every(W.w, 2000);
	submit("alice@corp.example.com");
	submit("bob@corp.example.com");
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	wait_idle();
	ck_assert_int_eq(
		h_file_count(log, "info: not-ldap 'alice@corp.example.com': "
				  "not in LDAP; the name holds '@' or '\\\\': "
				  "is [ldap] login_format (strip-realm, "
				  "strip-domain) wrong?\n"),
		1);
	ck_assert_int_eq(h_file_count(log, "not-ldap 'bob@"), 0);
	usleep(2100 * 1000);
	submit("gone");
	wait_idle();
	ck_assert_int_eq(h_file_count(log,
				      "info: not-ldap 'gone': disabled in "
				      "LDAP (and 1 more not-ldap logins "
				      "since the last such line, logged at "
				      "debug only)\n"),
			 1);
	ck_assert_uint_eq(stats().outcomes[SYNC_NOT_LDAP], 3);
	ck_assert_int_eq(h_queue_count(W.state, "queue"), 0);
}

END_TEST

/* ---- seat caps (a provisioner's host= logins) ----------------------------- */

static bool
idle_and_released(void *arg)
{
	(void)arg;
	return stats().pending == 0 && stats().outcomes[SYNC_CREATED] == 3 &&
	       h_queue_count(W.state, "queue/held") == 0;
}

#define CAPS                                                                   \
	"provisioner.new_seats_per_host = 2\n"                                 \
	"provisioner.new_seats_total = 3"

static void
submit_host(const char *user, const char *host)
{
	ck_assert_int_eq(h_spool_host(W.state, user, host), FT_OK);
	ck_assert_int_eq(worker_submit(W.w, user), FT_OK);
}

static bool
held_file(const char *user)
{
	char path[PATH_MAX + 64], held[PATH_MAX + 128];
	struct stat st;

	ck_assert_int_eq(h_queue_path(W.state, user, path, sizeof(path)),
			 FT_OK);
	H_FMT(held, "%s/queue/held%s", W.state, strrchr(path, '/'));
	return stat(held, &st) == 0;
}

/*
 * Per host and in total: creates beyond a cap are held in queue/held/ (a
 * warning naming the host and the cap), an update of an active user and a
 * local login are never held nor counted, each change names its host; the
 * counts survive a new worker; a new period releases the held, oldest
 * first, within its budget.
 */
START_TEST(test_seat_caps)
{
	char log[PATH_MAX + 16];

	H_FMT(log, "%s/worker.log", W.dir);
	log_to(log);
	new_worker(true, CAPS);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	submit("dave"); /* local: not counted */
	wait_idle();
	submit_host("alice", "h1.example.com");
	submit_host("bob", "h1.example.com");
	submit_host("carol", "h1.example.com"); /* over h1's 2 */
	submit_host("erin", "h2.example.com");
	submit_host("frank", "h2.example.com"); /* over the total of 3 */
	wait_idle();
	ck_assert_uint_eq(stats().outcomes[SYNC_CREATED], 4);
	ck_assert_uint_eq(stats().outcomes[SYNC_HELD], 2);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 4);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "carol"), 0);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "frank"), 0);
	ck_assert(held_file("carol") && held_file("frank"));
	ck_assert_int_eq(h_queue_count(W.state, "queue"), 0);
	ck_assert_int_eq(h_queue_count(W.state, "queue/held"), 2);
	ck_assert_int_eq(h_file_count(log, "info: created 'alice' (host "
					   "h1.example.com): "),
			 1);
	ck_assert_int_eq(h_file_count(log, "info: created 'dave': "), 1);
	ck_assert_int_eq(h_file_count(log, "warning: held 'carol' (host "
					   "h1.example.com) in queue/held/: "
					   "new_seats_per_host: host "
					   "h1.example.com reached 2"),
			 1);
	/* frank's line is within the interval: at debug only */
	ck_assert_int_eq(h_file_count(log, "held 'frank'"), 0);
	/* an update only (dave is active) from h1 over its cap: not held */
	submit_host("dave", "h1.example.com");
	wait_idle();
	ck_assert_uint_eq(stats().outcomes[SYNC_UNCHANGED], 1);
	ck_assert_uint_eq(stats().outcomes[SYNC_HELD], 2);
	ck_assert(!held_file("dave"));
	/* a new worker (a restart) keeps the hour's counts */
	worker_free(W.w);
	W.w = NULL;
	ck_assert_int_eq(worker_new(W.cfg[0], W.q, &W.w), FT_OK);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	submit_host("zoe", "h2.example.com");
	wait_idle();
	ck_assert_uint_eq(stats().outcomes[SYNC_HELD], 1);
	ck_assert_int_eq(h_queue_count(W.state, "queue/held"), 3);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 4);
	/* a new period: the budget releases them (3 of 3, oldest first) */
	worker_free(W.w);
	W.w = NULL;
	ck_assert_int_eq(worker_new(W.cfg[0], W.q, &W.w), FT_OK);
	worker_set_seat_period(W.w, 7);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	ck_assert(h_wait_until(idle_and_released, NULL, WAIT_MS));
	ck_assert_int_eq(h_emu_named(h_fx_emu, "carol"), 1);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "frank"), 1);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "zoe"), 1);
	ck_assert_int_eq(h_file_count(log, "info: released held 'carol' (host "
					   "h1.example.com) from this hour's "
					   "seat budget"),
			 1);
}

END_TEST

/*
 * A provisioner's login submitted from a queue file that is gone by its
 * batch (an earlier batch moved it to held/): its host is unknown, so it
 * is held, never taken as a local login past the seat caps; a login
 * handed over from memory (worker_login(), a local datagram) still is
 * local.
 */
START_TEST(test_gone_file_not_local)
{
	char pki[PATH_MAX + 16], extra[4 * PATH_MAX + 512], log[PATH_MAX + 16];
	char caps[4 * PATH_MAX + 1024];

	H_FMT(log, "%s/worker.log", W.dir);
	log_to(log);
	H_FMT(pki, "%s/pki", W.dir);
	ck_assert_int_eq(mkdir(pki, 0700), 0);
	ck_assert_int_eq(h_ca_make(pki), FT_OK);
	ck_assert_int_eq(h_prov_lines(extra, sizeof(extra), pki, 0, 0, false),
			 FT_OK);
	H_FMT(caps, "%s" CAPS, extra);
	new_worker(true, caps);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	ck_assert(!h_queued(W.state, "alice"));
	ck_assert_int_eq(worker_submit(W.w, "alice"), FT_OK);
	wait_idle();
	ck_assert_uint_eq(stats().outcomes[SYNC_HELD], 1);
	ck_assert_uint_eq(stats().outcomes[SYNC_CREATED], 0);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	ck_assert_int_eq(h_file_count(log, "warning: held 'alice' (host "
					   "unknown) in queue/held/: its queue "
					   "file is gone"),
			 1);
	ck_assert_int_eq(worker_login(W.w, "bob"), FT_OK);
	wait_idle();
	ck_assert_uint_eq(stats().outcomes[SYNC_CREATED], 1);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "bob"), 1);
}

END_TEST

/* ---- provisioner: a batch lingers for more logins ---------------------- */

/* A provisioner-mode worker (a throwaway CA for its HTTPS keys). */
static void
new_provisioner(void)
{
	char pki[PATH_MAX + 16], extra[4 * PATH_MAX + 512];

	H_FMT(pki, "%s/pki", W.dir);
	ck_assert_int_eq(mkdir(pki, 0700), 0);
	ck_assert_int_eq(h_ca_make(pki), FT_OK);
	ck_assert_int_eq(h_prov_lines(extra, sizeof(extra), pki, 0, 0, false),
			 FT_OK);
	new_worker(true, extra);
}

/*
 * Logins submitted one by one to a started provisioner make one batch:
 * the first waits (a linger far longer than the submits take) for the
 * others.
 */
START_TEST(test_linger_gathers)
{
	static const char *const users[] = {"alice", "bob", "carol", "dave",
					    "erin"};
	size_t i;

	new_provisioner();
	worker_set_linger(W.w, 3000);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	for (i = 0; i < 5; i++)
		submit(users[i]);
	wait_idle();
	ck_assert_uint_eq(stats().batches, 1);
	ck_assert_uint_eq(stats().outcomes[SYNC_CREATED], 5);
	ck_assert_uint_le(stats().http_requests, 3);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 5);
	ck_assert_int_eq(h_queue_count(W.state, "queue"), 0);
}

END_TEST

/*
 * A full batch (200) starts at once, whatever the linger (a minute here,
 * beyond wait_idle's 20 s); a login still lingering when the worker is
 * freed stays in queue/ for the next start.
 */
START_TEST(test_linger_full_starts)
{
	char user[32];
	int i;

	new_provisioner();
	worker_set_linger(W.w, 60000);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	for (i = 0; i < 200; i++) {
		H_FMT(user, "nobody%03d", i);
		submit(user);
	}
	wait_idle();
	ck_assert_uint_eq(stats().batches, 1);
	ck_assert_uint_eq(stats().outcomes[SYNC_NOT_LDAP], 200);
	submit("alice");
	ck_assert_uint_eq(stats().pending, 1);
	worker_free(W.w);
	W.w = NULL;
	ck_assert(h_queued(W.state, "alice"));
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
}

END_TEST

/*
 * Standalone never lingers: with a minute's linger set, a lone login is
 * provisioned within wait_idle's 20 s, in a batch of its own.
 */
START_TEST(test_standalone_no_linger)
{
	new_worker(true, NULL);
	worker_set_linger(W.w, 60000);
	ck_assert_int_eq(worker_start(W.w), FT_OK);
	submit("alice");
	wait_idle();
	ck_assert_uint_eq(stats().batches, 1);
	ck_assert_uint_eq(stats().outcomes[SYNC_CREATED], 1);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 1);
}

END_TEST

Suite *
worker_suite(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("servers");

	tcase_add_unchecked_fixture(tc, h_fx_servers_setup_people,
				    h_fx_servers_teardown);
	tcase_add_checked_fixture(tc, world_setup, world_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_outcome, 0, (int)NROWS);
	tcase_add_test(tc, test_failed_file);
	tcase_add_test(tc, test_one_batch);
	tcase_add_test(tc, test_cooldown_expires);
	tcase_add_test(tc, test_retry_backoff_ldap_down);
	tcase_add_test(tc, test_login_retries_early);
	tcase_add_test(tc, test_submit_while_waiting_retry);
	tcase_add_test(tc, test_free_keeps_queue);
	tcase_add_test(tc, test_seat_waiting_retried);
	tcase_add_test(tc, test_seat_waiting_login_now);
	tcase_add_test(tc, test_config_before_start);
	tcase_add_test(tc, test_free_unstarted);
	tcase_add_test(tc, test_not_ldap_quiet);
	tcase_add_test(tc, test_seat_caps);
	tcase_add_test(tc, test_gone_file_not_local);
	tcase_add_test(tc, test_linger_gathers);
	tcase_add_test(tc, test_linger_full_starts);
	tcase_add_test(tc, test_standalone_no_linger);
	suite_add_tcase(s, tc);
	return s;
}
