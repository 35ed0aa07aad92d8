/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_faults.c: suite 'faults': the fault matrix of issue 8 and the
 * daemon's resource bounds, against the real parts: ftrack-syncd as a
 * process (`run`, and `reconcile --apply` for the full reconcile), a
 * throwaway slapd and the ftrack emulator, each fault made for real
 * (a server stopped, frozen, cut or answering junk; emulator faults; a
 * SIGKILL at a known stage; a full or read-only state folder in a
 * private mount namespace).
 *
 * Each row of the matrix is one loop iteration with a world of its own
 * (slapd, emulator, config, state): eight people are provisioned first
 * (`sync`), the row makes its fault and asserts what a user sees (logins
 * provisioned, retried, or the reconcile held, failed or applied, with
 * its exit code and report), then the same closing checks for every row:
 * nothing lost (every login of the row is in ftrack exactly once with its
 * uuid marker, nothing left in queue/ or queue/failed/, nobody twice) and
 * nobody wrongly deactivated (only people deleted from LDAP, and only
 * after a reconcile that completed, are inactive or carry the
 * deactivated marker).  A row that passed appends its line to
 * $FAULT_MATRIX_OUT (see tests/fault_matrix.sh), so the table in
 * README.md shows what ran and passed.
 *
 * The resource bounds (second test case): 100,000 queued logins with LDAP
 * down (peak memory), 1,000 LDAP reconnects and 1,000 failed HTTP
 * requests (open fds before and after).
 *
 * This file holds the rows and the table; the world they run in (the
 * servers, config and daemon of a row, the waits, and the closing checks)
 * is faults_world.c, prefix fw_.
 */
#include <check.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "faults_world.h"
#include "ft_err.h"
#include "harness.h"

Suite *faults_suite(void);

/* ---- rows: LDAP ------------------------------------------------------------ */

static void
row_ldap_down(void)
{
	fw_world_up(0, NULL);
	fw_connected_daemon();
	h_slapd_down(fw.w->slapd);
	fw_login("yamada");
	fw_wait_log("retry 'yamada'");
	fw_assert_waiting("yamada");
	fw_expect_held();
	ck_assert_int_eq(h_slapd_restart(fw.w->slapd), FT_OK);
	fw_wait_provisioned("yamada");
	fw_expect_applied();
}

static void
row_ldap_slow(void)
{
	long long t0;

	fw_world_up(0, "ldap.timeout = 1\n");
	fw_connected_daemon();
	fw_slapd_freeze();
	fw_login("yamada");
	fw_wait_log("retry 'yamada'");
	fw_assert_waiting("yamada");
	t0 = h_now_ms();
	fw_expect_held();
	ck_assert_msg(fw_since_s(t0) < 20.0, "the held run took %.1f s",
		      fw_since_s(t0));
	ck_assert_int_eq(h_slapd_resume(fw.w->slapd), FT_OK);
	fw_wait_provisioned("yamada");
	fw_expect_applied();
}

static void
row_ldap_failover(void)
{
	char extra[512];
	int closed = h_free_port();

	ck_assert_int_gt(closed, 0);
	fw_world_up(0, NULL);
	h_fx_fmt(extra, sizeof(extra), "ldap.uri = ldap://127.0.0.1:%d %s\n",
		 closed, h_slapd_uri(fw.w->slapd));
	fw_config(extra);
	fw_connected_daemon();
	fw_login("yamada");
	fw_wait_provisioned("yamada");
	fw_expect_applied();
}

static void
row_ldap_sizelimit(void)
{
	fw_world_up(3, NULL); /* the sync account gets 3 entries at most */
	fw_connected_daemon();
	fw_expect_held();
	fw_assert_ldap_error("limit");
}

static void
row_ldap_referral(void)
{
	fw_world_up(0, NULL);
	ck_assert_int_eq(h_slapd_modify(fw.w->slapd,
					"dn: ou=elsewhere,ou=people,"
					"dc=example,dc=com\n"
					"changetype: add\n"
					"objectClass: referral\n"
					"objectClass: extensibleObject\n"
					"ou: elsewhere\n"
					"ref: ldap://127.0.0.1:1/"
					"ou=elsewhere,dc=example,dc=com\n"),
			 FT_OK);
	fw_connected_daemon();
	fw_expect_held();
	fw_assert_ldap_error("reference");
}

static void
row_ldap_garbage(void)
{
	char extra[128];

	fw_world_up(0, NULL);
	fw.relay = h_relay_start(H_RELAY_JUNK, 0);
	ck_assert_ptr_nonnull(fw.relay);
	h_fx_fmt(extra, sizeof(extra), "ldap.uri = ldap://127.0.0.1:%d\n",
		 h_relay_port(fw.relay));
	fw_config(extra);
	fw_leaver("dave");
	fw_daemon_start();
	fw_login("zoe");
	fw_wait_log("retry 'zoe'");
	fw_assert_waiting("zoe");
	fw_expect_held();
	ck_assert_int_ge(h_relay_accepted(fw.relay), 2);
	fw_config(NULL); /* LDAP again: the login waiting is provisioned */
	fw_daemon_signal(SIGHUP);
	fw_wait_log("configuration reloaded");
	fw_wait_provisioned("zoe");
	fw_expect_applied();
}

/* ---- rows: ftrack answers ------------------------------------------------- */

/*
 * The same fault (spec: members of a /_emulator/fault entry) on a first
 * login's look-up and then on its write, then on a reconcile's first
 * read and then on its write.  transient: the client retries it inside
 * the call (the reconcile completes); else the login is retried later
 * and the reconcile fails (exit 1, nothing written) until a run gets
 * through.
 */
/* The requests an apply sends beyond a dry run's before its first write:
 * the reconcile lease taken (before the reads) and renewed (after). */
#define LEASE_WRITES 2

static void
http_row(const char *spec, bool transient, const char *extra)
{
	char faults[512];
	long long reads, seq;

	fw_world_up(0, extra);
	fw_leaver("dave");
	fw_daemon_start();
	h_fx_fmt(faults, sizeof(faults),
		 "[{\"count\": 1, %s}, {\"skip\": 1, \"count\": 1, %s}]", spec,
		 spec);
	fw_emu_fault(faults);
	fw_login("zoe");
	fw_wait_provisioned("zoe");
	fw_wait_faults_done(2);
	fw_assert_fault_hit_write(0, 1); /* one look-up, then the write */
	reads = fw_dry_run_requests() + LEASE_WRITES;
	seq = h_emu_last_seq(fw.w->emu);
	ck_assert_int_ge(seq, 0);
	h_fx_fmt(faults, sizeof(faults),
		 "[{\"count\": 1, %s}, {\"skip\": %lld, \"count\": 1, %s}]",
		 spec, reads, spec);
	fw_emu_fault(faults);
	if (!transient) {
		fw_expect_cmd(FW_APPLY, 1);
		fw_assert_result("failed"); /* the first read failed */
		fw_expect_cmd(FW_APPLY, 1);
		fw_assert_result("errors"); /* the write failed */
	}
	fw_expect_applied();
	fw_wait_faults_done(4);
	fw_assert_fault_hit_write(seq, reads);
}

static void
row_http_500(void)
{
	http_row("\"status\": 500, \"exception\": \"ServerError\", "
		 "\"content\": \"injected\"",
		 true, NULL);
}

static void
row_http_502(void)
{
	http_row("\"status\": 502", true, NULL);
}

static void
row_http_503(void)
{
	http_row("\"status\": 503", true, NULL);
}

static void
row_http_429_retry_after(void)
{
	http_row("\"status\": 429, \"retry_after\": 1", true, NULL);
}

static void
row_http_429(void)
{
	http_row("\"status\": 429", true, NULL);
}

static void
row_http_timeout(void)
{
	json_t *st;

	/* applied 0.1 s after the client gave up, before its retry (0.25 s
	 * at the earliest): each retried write finds itself already made */
	http_row("\"delay_ms\": 1100", true, "ftrack.timeout = 1\n");
	st = h_emu_get(fw.w->emu, "/_emulator/stats");
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(st, "exceptions"),
				 "DuplicateEntryError")),
			 2);
	json_decref(st);
}

static void
row_http_drop(void)
{
	http_row("\"drop\": true", true, NULL);
}

static void
row_http_bad_json(void)
{
	http_row("\"body\": \"this is not JSON {\"", false, NULL);
}

static void
row_http_wrong_shape(void)
{
	http_row("\"body\": \"{\\\"hello\\\": [1, 2]}\"", false, NULL);
}

static void
row_http_200_exception(void)
{
	http_row("\"exception\": \"ServerError\", \"content\": \"injected\"",
		 true, NULL);
}

static void
row_auth_revoked(void)
{
	char path[PATH_MAX];
	long long reads, target;
	struct h_cmd_bg *bg;
	int code, sig;

	fw_world_up(0, NULL);
	fw_leaver("dave");
	/* the reconcile: the key is revoked after its reads, before its
	 * write authenticates (the emulator waits 1.5 s before it checks) */
	reads = fw_dry_run_requests() + LEASE_WRITES;
	fw_emu_config("{\"latency_ms\": 1500}");
	target = fw_emu_requests() + reads;
	bg = fw_bg_start(FW_APPLY);
	fw_wait_or_fail(fw_requests_at_least, &target, "the reconcile's reads");
	fw_emu_config("{\"personal_keys\": {\"" H_EMU_USER "\": null}}");
	code = fw_bg_finish(bg, &sig);
	ck_assert_msg(code == 1, "exit %d, signal %d", code, sig);
	fw_assert_result("errors");
	ck_assert_int_ge(h_emu_stat(fw.w->emu, "requests"), target + 1);
	/* logins while revoked wait */
	fw_emu_config("{\"latency_ms\": 0}");
	fw_daemon_start();
	fw_login("zoe");
	fw_wait_log("retry 'zoe': InvalidCredentialsError");
	fw_assert_waiting("zoe");
	/* a new key: the key file rewritten and a reload */
	fw_emu_config("{\"personal_keys\": {\"" H_EMU_USER "\": \"new-key\"}}");
	h_fx_fmt(path, sizeof(path), "%s/ftrack.secret", fw.w->dir);
	ck_assert_int_eq(h_write_file(path, "new-key", 0600), FT_OK);
	fw_daemon_signal(SIGHUP);
	fw_wait_log("configuration reloaded");
	fw_wait_provisioned("zoe");
	fw_expect_applied();
}

/* A metric of metrics.prom (rewritten every 10 s) has a value. */
struct metric_want {
	const char *sample;
	long long value;
};

static bool
metric_is(void *arg)
{
	const struct metric_want *m = arg;

	return h_metric(fw.w->state, m->sample) == m->value;
}

/* zoe in ftrack: active or not, and how many seat markers. */
static void
assert_zoe(bool active, long seat_marks)
{
	json_t *u = h_emu_user_row(fw.w->emu, "zoe");

	ck_assert_msg(u != NULL, "zoe is not in ftrack");
	ck_assert_msg(json_is_true(json_object_get(u, "is_active")) == active,
		      "zoe is %s", active ? "inactive" : "active");
	json_decref(u);
	ck_assert_int_eq(
		h_emu_user_markers(fw.w->emu, "zoe", FW_SEAT_KEY, NULL),
		seat_marks);
}

/*
 * Every seat taken, and ftrack keeps the new user inactive (is_active
 * false in its answer, no error): zoe waits for a seat, with the marker,
 * retried with back-off; the reconcile asks again and deactivates nobody;
 * a seat freed, her next login activates her.
 */
static void
row_seat_cap(void)
{
	struct metric_want waiting = {"seat_waiting", 1};
	char spec[64];
	json_t *rep, *a;

	fw_world_up(0, "policy.login_cooldown = 0\n");
	fw_daemon_start();
	/* every seat taken: the API user and the seeded people */
	h_fx_fmt(spec, sizeof(spec), "{\"seat_cap\": %d}", FW_NSEEDED + 1);
	fw_emu_config(spec);
	fw_login("zoe");
	fw_wait_log("warning: waiting-for-seat 'zoe': ");
	ck_assert_int_ge(h_file_count(fw.log, "licence"), 1);
	assert_zoe(false, 1);
	ck_assert(fw_queued(fw_arg("zoe")));
	fw_wait_or_fail(metric_is, &waiting, "seat_waiting 1 in metrics.prom");
	/* retried with back-off, still waiting */
	fw_wait_or_fail(fw_log_count_at_least,
			&(struct fw_log_want){"waiting-for-seat 'zoe'", 2},
			"a second try for zoe");
	/* the reconcile asks again, and takes her for no one's leaver */
	fw_expect_applied();
	rep = h_report(fw.w, H_REPORT_LAST);
	a = h_report_action(rep, "zoe");
	ck_assert_msg(a != NULL, "zoe is not in the reconcile's report");
	ck_assert_str_eq(json_string_value(json_object_get(a, "action")),
			 "reactivate");
	ck_assert(json_is_true(json_object_get(a, "waiting_for_seat")));
	json_decref(rep);
	assert_zoe(false, 1);
	/* a seat free again: the next login activates her */
	fw_emu_config("{\"seat_cap\": null}");
	fw_login("zoe");
	fw_wait_log("reactivated 'zoe'");
	fw_wait_provisioned("zoe");
	assert_zoe(true, 0);
	waiting.value = 0;
	fw_wait_or_fail(metric_is, &waiting, "seat_waiting 0 in metrics.prom");
}

/*
 * Every seat taken, and ftrack refuses the write with an exception (the
 * other way a server may say it; its whole POST fails): zoe waits, not in
 * ftrack; the reconcile applies; a seat freed, her next login creates her.
 */
static void
row_seat_cap_exception(void)
{
	char spec[128];

	fw_world_up(0, "policy.login_cooldown = 0\n");
	fw_daemon_start();
	h_fx_fmt(spec, sizeof(spec),
		 "{\"seat_cap\": %d, \"seat_cap_exception\": "
		 "\"LicenseError\"}",
		 FW_NSEEDED + 1);
	fw_emu_config(spec);
	fw_login("zoe");
	fw_wait_log("warning: waiting-for-seat 'zoe': LicenseError");
	fw_assert_waiting("zoe");
	fw_expect_applied();
	fw_emu_config("{\"seat_cap\": null}");
	fw_login("zoe");
	fw_wait_log("created 'zoe'");
	fw_wait_provisioned("zoe");
	assert_zoe(true, 0);
}

/* ---- rows: SIGKILL ---------------------------------------------------------- */

/* Killed with zoe journaled, the worker still busy with yamada. */
static void
row_kill_queued(void)
{
	long long answered;

	fw_world_up(0, "ftrack.timeout = 10\n");
	fw_daemon_start();
	fw_emu_fault("{\"count\": 1, \"delay_ms\": 4000}");
	fw_login("yamada"); /* its ftrack look-up is held 4 s */
	fw_wait_or_fail(fw_faults_taken, NULL,
			"yamada's look-up to reach ftrack");
	answered = fw_emu_requests();
	fw_login("zoe");
	fw_wait_or_fail(fw_queued, fw_arg("zoe"), "zoe to be journaled");
	/* the one worker thread is still in yamada's request */
	ck_assert_int_eq(fw_emu_requests(), answered);
	fw_daemon_kill();
	fw_assert_waiting("zoe");
	fw_assert_waiting("yamada");
	answered++; /* the held request is answered to nobody */
	fw_wait_or_fail(fw_requests_at_least, &answered, "the held request");
	fw_daemon_start();
	fw_wait_provisioned("zoe");
	fw_wait_provisioned("yamada");
}

/* Killed while its LDAP search waits in a frozen slapd's socket. */
static void
row_kill_lookup(void)
{
	int port;

	fw_world_up(0, "ldap.timeout = 10\n");
	port = h_uri_port(h_slapd_uri(fw.w->slapd));
	ck_assert_int_gt(port, 0);
	fw_daemon_start();
	fw_login("zoe");
	fw_wait_provisioned("zoe"); /* connected */
	fw_slapd_freeze();
	fw_login("yamada");
	fw_wait_or_fail(fw_unread_at, &port, "yamada's search to reach slapd");
	fw_daemon_kill();
	ck_assert_int_eq(h_slapd_resume(fw.w->slapd), FT_OK);
	fw_assert_waiting("yamada");
	fw_daemon_start();
	fw_wait_provisioned("yamada");
}

/* Killed while its write waits in ftrack; the write lands afterwards. */
static void
row_kill_write(void)
{
	fw_world_up(0, "ftrack.timeout = 10\n");
	fw_daemon_start();
	fw_emu_fault("{\"skip\": 1, \"count\": 1, \"delay_ms\": 3000}");
	fw_login("zoe");
	fw_wait_or_fail(fw_faults_taken, NULL, "zoe's write to reach ftrack");
	fw_daemon_kill();
	ck_assert(h_queued(fw.w->state, "zoe"));
	fw_wait_or_fail(fw_in_ftrack, fw_arg("zoe"), "the write to land");
	ck_assert(h_queued(fw.w->state, "zoe")); /* nobody took the answer */
	fw_daemon_start();
	fw_wait_or_fail(fw_queue_empty, NULL, "the queue to empty");
	/* the write carried the seat marker; its answer lost, the marker was
	 * not removed then: the next look at zoe (active) removes it */
	fw_wait_log("updated 'zoe': has a seat: waiting marker removed");
	ck_assert_int_eq(h_emu_named(fw.w->emu, "zoe"), 1);
}

/* A reconcile killed while its LDAP read waits in a frozen slapd. */
static void
row_kill_reconcile_reads(void)
{
	struct h_cmd_bg *bg;
	int port, sig;

	fw_world_up(0, "ldap.timeout = 10\n");
	fw_leaver("dave");
	port = h_uri_port(h_slapd_uri(fw.w->slapd));
	fw_slapd_freeze();
	bg = fw_bg_start(FW_APPLY);
	fw_wait_or_fail(fw_unread_at, &port,
			"the reconcile's request in slapd");
	ck_assert_int_eq(kill(h_cmd_pid(bg), SIGKILL), 0);
	(void)fw_bg_finish(bg, &sig);
	ck_assert(sig != 0);
	ck_assert_int_eq(h_slapd_resume(fw.w->slapd), FT_OK);
	ck_assert_int_eq(h_emu_stat2(fw.w->emu, "operations", "update"), 0);
	fw_expect_applied();
}

#define KILL_LEAVERS 4

/* A reconcile killed after some of its writes (one per request). */
static void
row_kill_reconcile_apply(void)
{
	static const char *const gone[KILL_LEAVERS] = {"dave", "erin", "frank",
						       "joerg"};
	long long target, writes;
	struct h_cmd_bg *bg;
	size_t i;
	int sig;

	fw_world_up(
		0, "ftrack.batch_size = 1\npolicy.max_deactivate = 100%\n"
		   "policy.max_shrink = 100%\npolicy.reconcile_create = yes\n");
	for (i = 0; i < KILL_LEAVERS; i++)
		fw_leaver(gone[i]);
	for (i = 0; i < FW_NUNSEEDED; i++)
		fw_fresh(fw_unseeded[i]);
	target = fw_dry_run_requests();
	target += fw_emu_requests() + 3;
	writes = -(h_emu_stat2(fw.w->emu, "operations", "create") +
		   h_emu_stat2(fw.w->emu, "operations", "update"));
	fw_emu_config("{\"latency_ms\": 300}");
	bg = fw_bg_start(FW_APPLY);
	fw_wait_or_fail(fw_requests_at_least, &target, "three writes");
	ck_assert_int_eq(kill(h_cmd_pid(bg), SIGKILL), 0);
	(void)fw_bg_finish(bg, &sig);
	ck_assert(sig != 0);
	/* each creation and each deactivation is two operations */
	writes += h_emu_stat2(fw.w->emu, "operations", "create") +
		  h_emu_stat2(fw.w->emu, "operations", "update");
	ck_assert_msg(writes >= 6 && writes < (long long)(2 * (KILL_LEAVERS +
							       FW_NUNSEEDED)),
		      "%lld writes before the kill", writes);
	fw_emu_config("{\"latency_ms\": 0}");
	fw_expect_applied();
	fw_expect_cmd(FW_DRY_RUN, 0); /* in sync */
}

/* ---- rows: the state folder ------------------------------------------------ */

static void
row_state_full(void)
{
	char filler[PATH_MAX];

	fw_world_up(0, NULL);
	if (!fw_state_on_tmpfs("512k"))
		return;
	fw_leaver("dave");
	fw_daemon_start();
	h_fx_fmt(filler, sizeof(filler), "%s/filler", fw.w->state);
	h_fill_up(filler);
	fw_login("zoe");
	fw_wait_log("unable to journal the login of 'zoe'");
	fw_wait_or_fail(fw_in_ftrack, fw_arg("zoe"), "zoe, from memory");
	/* not journaled and ftrack failing: retried from memory */
	fw_emu_fault("{\"count\": 1, \"body\": \"not JSON\"}");
	fw_login("yamada");
	fw_wait_log("retry 'yamada'");
	fw_wait_or_fail(fw_in_ftrack, fw_arg("yamada"), "yamada, from memory");
	/* the reconcile applies, but cannot write its report */
	fw_expect_cmd_says(FW_APPLY, 0, "unable to write the reconcile report");
	fw.gone_done = true;
	ck_assert_int_eq(unlink(filler), 0);
	fw_expect_cmd(FW_DRY_RUN, 0);
	fw_assert_result("in-sync");
}

static void
row_state_readonly(void)
{
	fw_world_up(0, NULL);
	if (!fw_state_on_tmpfs("1m"))
		return;
	fw_leaver("dave");
	fw_daemon_start();
	ck_assert_int_eq(mount(NULL, fw.w->state, NULL,
			       MS_REMOUNT | MS_BIND | MS_RDONLY, NULL),
			 0);
	fw_login("zoe");
	fw_wait_log("unable to journal the login of 'zoe': Read-only");
	fw_wait_or_fail(fw_in_ftrack, fw_arg("zoe"), "zoe, from memory");
	/* the reconcile cannot take its lock: it does not run */
	fw_expect_cmd_says(FW_APPLY, 1, "unable to start the reconcile");
	ck_assert_int_eq(h_emu_stat2(fw.w->emu, "operations", "update"), 0);
	ck_assert_int_eq(
		mount(NULL, fw.w->state, NULL, MS_REMOUNT | MS_BIND, NULL), 0);
	fw_expect_applied();
}

/* ---- rows: the clock, SIGHUP ------------------------------------------------ */

/* An ISO 8601 UTC time ("...Z") within 2 minutes of now. */
static void
assert_utc_now(const char *what, const char *iso)
{
	struct tm tm;
	const char *end;
	time_t t;

	ck_assert_msg(iso != NULL, "%s: no time", what);
	memset(&tm, 0, sizeof(tm));
	end = strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	ck_assert_msg(end != NULL && *end == '\0', "%s: '%s' is not UTC", what,
		      iso);
	t = timegm(&tm);
	ck_assert_msg(t > time(NULL) - 120 && t < time(NULL) + 120,
		      "%s: '%s' is not now in UTC", what, iso);
}

/* The last report, with its "finished" time rewritten, as the last
 * apply's. */
static void
report_finished(const char *iso)
{
	char path[PATH_MAX];
	json_t *rep = h_report(fw.w, H_REPORT_LAST);

	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(json_object_set_new(rep, "finished", json_string(iso)),
			 0);
	ck_assert_int_eq(json_object_set_new(rep, "mode", json_string("apply")),
			 0);
	h_fx_fmt(path, sizeof(path), "%s/reports/last-apply.json", fw.w->state);
	ck_assert_int_eq(json_dump_file(rep, path, 0), 0);
	json_decref(rep);
}

/* arg: NULL.  The metrics show a reconcile that finished about now. */
static bool
metrics_recent(void *arg)
{
	long long t = h_metric(
		fw.w->state, "last_reconcile_timestamp_seconds{run=\"apply\"}");

	(void)arg;
	return t > (long long)time(NULL) - 120 &&
	       t < (long long)time(NULL) + 120;
}

static void
row_clock(void)
{
	char *value = NULL;
	json_t *rep;

	fw_world_up(0, NULL);
	fw_leaver("dave");
	/* a report of a run when the clock was far ahead */
	fw_expect_cmd(FW_DRY_RUN, 4);
	report_finished("2099-01-01T00:00:00Z");
	/* local time far from UTC: nothing written may depend on it */
	ck_assert_int_eq(setenv("TZ", "Pacific/Kiritimati", 1), 0);
	fw_daemon_start();
	fw_daemon_signal(SIGUSR1); /* a reconcile run by the daemon */
	fw_wait_or_fail(metrics_recent, NULL, "the metrics to show the run");
	fw_assert_result("applied");
	fw.gone_done = true;
	ck_assert_int_eq(h_metric(fw.w->state, "user_changes_total{action="
					       "\"deactivated\"}"),
			 1);
	ck_assert_int_eq(
		h_emu_user_markers(fw.w->emu, "dave", FW_GONE_KEY, &value), 1);
	assert_utc_now("the deactivated marker", value);
	free(value);
	rep = h_report(fw.w, H_REPORT_LAST);
	assert_utc_now("started",
		       json_string_value(json_object_get(rep, "started")));
	assert_utc_now("finished",
		       json_string_value(json_object_get(rep, "finished")));
	json_decref(rep);
}

static bool
two_refusals(void *arg)
{
	(void)arg;
	return h_file_count(fw.log, "keeping the old one") >= 2;
}

static void
row_sighup_broken(void)
{
	char path[PATH_MAX];

	fw_world_up(0, NULL);
	fw_connected_daemon();
	/* an unknown section, and a wrong LDAP server with it */
	fw_config("nosuchsection.key = 1\nldap.uri = ldap://127.0.0.1:1\n");
	fw_daemon_signal(SIGHUP);
	fw_wait_log("keeping the old one");
	/* a secret file others may read */
	fw_config(NULL);
	h_fx_fmt(path, sizeof(path), "%s/ldap.secret", fw.w->dir);
	ck_assert_int_eq(chmod(path, 0644), 0);
	fw_daemon_signal(SIGHUP);
	fw_wait_or_fail(two_refusals, NULL, "the second refused reload");
	fw_login("yamada");
	fw_wait_provisioned("yamada");
	ck_assert(!fw_daemon_exited());
	fw_expect_cmd_says(FW_APPLY, 2, "ldap.secret");
	ck_assert_int_eq(h_emu_stat2(fw.w->emu, "operations", "update"), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	fw_daemon_signal(SIGHUP);
	fw_wait_log("configuration reloaded");
	fw_expect_applied();
}

/* ---- the matrix ------------------------------------------------------------ */

struct row {
	const char *fault; /* what goes wrong */
	const char *sees;  /* what a user sees: what the row asserts */
	const char *lost;  /* what is lost */
	const char *wrong; /* who is wrongly deactivated */
	void (*run)(void);
};

#define RETRIED_INSIDE                                                         \
	"retried inside the call (back-off from 0.25 s, 5 tries): the "        \
	"login is provisioned, the reconcile applies (exit 0)"
#define RETRIED_LATER                                                          \
	"the login is retried by the worker (back-off from 1 s) and "          \
	"provisioned; the reconcile fails (exit 1, report 'failed' or "        \
	"'errors', nothing written) and the next run applies"

static const struct row rows[] = {
	{"LDAP down (connection refused)",
	 "a login waits in queue/ (retried with back-off) and is provisioned "
	 "when LDAP is back; the reconcile is held by ldap_complete (exit 3)",
	 "nothing", "nobody", row_ldap_down},
	{"LDAP frozen past ldap.timeout (slapd stopped)",
	 "a login times out, waits, and is provisioned once LDAP answers; "
	 "the reconcile is held (exit 3) within the timeout",
	 "nothing", "nobody", row_ldap_slow},
	{"LDAP: first URI refused, second up",
	 "logins provisioned and the reconcile applied through the second URI",
	 "nothing", "nobody", row_ldap_failover},
	{"LDAP size limit (3 entries for the sync account)",
	 "logins provisioned (one entry each); the reconcile is held (exit 3, "
	 "the report names the size limit)",
	 "nothing", "nobody", row_ldap_sizelimit},
	{"LDAP referral under the search base",
	 "logins of people here provisioned (referrals are not followed); "
	 "the reconcile is held (exit 3)",
	 "nothing", "nobody", row_ldap_referral},
	{"LDAP server answering garbage",
	 "a login waits (retried) and is provisioned once the URI is fixed "
	 "and reloaded (SIGHUP); the reconcile is held (exit 3)",
	 "nothing", "nobody", row_ldap_garbage},
	{"ftrack 500 with an exception", RETRIED_INSIDE, "nothing", "nobody",
	 row_http_500},
	{"ftrack 502 (HTML page)", RETRIED_INSIDE, "nothing", "nobody",
	 row_http_502},
	{"ftrack 503 (HTML page)", RETRIED_INSIDE, "nothing", "nobody",
	 row_http_503},
	{"ftrack 429 with Retry-After: 1",
	 "retried inside the call after at least the Retry-After: the login "
	 "is provisioned, the reconcile applies (exit 0)",
	 "nothing", "nobody", row_http_429_retry_after},
	{"ftrack 429 without Retry-After", RETRIED_INSIDE, "nothing", "nobody",
	 row_http_429},
	{"ftrack answers after ftrack.timeout",
	 "timed out and retried; a write that landed late is recognised, not "
	 "made twice: the login is provisioned, the reconcile applies (exit 0)",
	 "nothing", "nobody", row_http_timeout},
	{"ftrack drops the connection", RETRIED_INSIDE, "nothing", "nobody",
	 row_http_drop},
	{"ftrack HTTP 200 with invalid JSON", RETRIED_LATER, "nothing",
	 "nobody", row_http_bad_json},
	{"ftrack JSON object of the wrong shape", RETRIED_LATER, "nothing",
	 "nobody", row_http_wrong_shape},
	{"ftrack HTTP 200 with an exception body", RETRIED_INSIDE, "nothing",
	 "nobody", row_http_200_exception},
	{"ftrack API key revoked mid-run",
	 "the reconcile's write is refused: exit 1 ('errors'), nothing "
	 "written; logins wait (retried) and are provisioned after a new key "
	 "in the key file and SIGHUP",
	 "nothing", "nobody", row_auth_revoked},
	{"ftrack seat cap reached (the user kept inactive)",
	 "the new user is created inactive with the seat_waiting marker; the "
	 "daemon warns 'waiting-for-seat' naming the licence, counts it "
	 "(ftrack_syncd_seat_waiting 1) and keeps it in queue/, retried with "
	 "back-off; the reconcile asks again (exit 0) and deactivates nobody; "
	 "once a seat is free the next login activates the user and the marker "
	 "goes",
	 "nothing", "nobody", row_seat_cap},
	{"ftrack seat cap reached (the write refused with an exception)",
	 "the create is refused (its POST fails whole; the others of a batch "
	 "are sent again without it); the daemon warns 'waiting-for-seat' "
	 "with ftrack's words and keeps the login in queue/, retried with "
	 "back-off; the reconcile applies (exit 0); once a seat is free the "
	 "next login creates the user",
	 "nothing", "nobody", row_seat_cap_exception},
	{"daemon SIGKILLed after journaling, before the look-up",
	 "the login stays in queue/ and is provisioned at the next start",
	 "nothing", "nobody", row_kill_queued},
	{"daemon SIGKILLed during the LDAP look-up",
	 "the login stays in queue/ and is provisioned at the next start",
	 "nothing", "nobody", row_kill_lookup},
	{"daemon SIGKILLed during the ftrack write (it lands later)",
	 "the login stays in queue/; the next start finds the user (no "
	 "duplicate) and only removes the seat marker the write carried",
	 "nothing", "nobody", row_kill_write},
	{"reconcile SIGKILLed during its reads",
	 "nothing written; the next run applies (exit 0)", "nothing", "nobody",
	 row_kill_reconcile_reads},
	{"reconcile SIGKILLed during its writes",
	 "the writes made stay; the next run makes the rest (exit 0), "
	 "nobody twice, one marker each",
	 "nothing", "nobody", row_kill_reconcile_apply},
	{"state folder full (ENOSPC on a tmpfs)",
	 "logins cannot be journaled (logged) but are provisioned, and "
	 "retried, from memory; the reconcile applies (exit 0) but cannot "
	 "write its report (logged)",
	 "nothing (a login not journaled is lost if the daemon also dies "
	 "before provisioning it)",
	 "nobody", row_state_full},
	{"state folder read-only",
	 "logins cannot be journaled (logged) but are provisioned from "
	 "memory; the reconcile cannot take its lock and does not run "
	 "(exit 1)",
	 "nothing", "nobody", row_state_readonly},
	{"the clock jumping",
	 "not injected (no faketime here): back-off, cooldown, rate limit and "
	 "timeouts use CLOCK_MONOTONIC; markers and reports are UTC whatever "
	 "TZ (tested); a report dated in the future, as after a clock that "
	 "was ahead, does not hide later runs from the metrics (tested)",
	 "nothing", "nobody", row_clock},
	{"SIGHUP with a broken config (unknown section; secret readable by "
	 "others)",
	 "the reload is refused and logged, the old config keeps working "
	 "(logins provisioned); a reconcile with that config exits 2, "
	 "writing nothing",
	 "nothing", "nobody", row_sighup_broken},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

START_TEST(test_row)
{
	const struct row *r = &rows[_i];
	const char *fields[4] = {r->fault, r->sees, r->lost, r->wrong};
	long long t0 = h_now_ms();

	if (fw_skipped_by_env(r->fault))
		return;
	r->run();
	if (fw.skipped != NULL) {
		fields[1] = fw.skipped;
		fields[2] = fields[3] = "-";
	} else {
		fw_assert_outcome();
	}
	(void)fprintf(stderr, "faults: %-58.58s %5.1f s\n", r->fault,
		      fw_since_s(t0));
	ck_assert_int_eq(fw_matrix_line("FAULT", fields, 4), FT_OK);
}

END_TEST

/* ---- resource bounds ---------------------------------------------------------- */

#define QUEUED_N      100000
#define QUEUED_KIB    (128L * 1024L) /* peak RSS bound */
#define QUEUED_ASAN   (256L * 1024L) /* shadow memory, 16 MiB quarantine */
#define RECONNECTS    1000
#define HTTP_FAILURES 1000
#define HTTP_EACH     10 /* drops, and 503s, of the HTTP failures */
#define FD_SLACK      2  /* fds that may come and go (a connection) */

static void
bound_line(const char *what, const char *measured, const char *bound)
{
	const char *fields[3] = {what, measured, bound};

	(void)fprintf(stderr, "faults: %s: %s (bound: %s)\n", what, measured,
		      bound);
	ck_assert_int_eq(fw_matrix_line("BOUND", fields, 3), FT_OK);
}

/* arg: NULL.  The worker has failed every queued user at least once. */
static bool
all_tried(void *arg)
{
	(void)arg;
	return h_metric(fw.w->state, "errors_total{kind=\"ldap\"}") >= QUEUED_N;
}

START_TEST(test_bound_queued)
{
	char text[256], bound[64], probe[] = "probe";
	long hwm, limit = H_ASAN_OR(QUEUED_ASAN, QUEUED_KIB);
	long long t0 = h_now_ms();
	double t_fill, t_scan;

	if (fw_skipped_by_env("100,000 queued"))
		return;

	/* no servers: LDAP and ftrack down, nothing drains */
	fw_bound_config(
		"policy.reconcile_interval = 0\ndaemon.log_level = error\n");
	ck_assert_int_eq(h_queue_fill(fw.w->state, "q", QUEUED_N), FT_OK);
	t_fill = fw_since_s(t0);
	ck_assert_int_eq(h_san_small_quarantine(), FT_OK);
	t0 = h_now_ms();
	fw_daemon_start();
	/* the reader journals a login only after its start-up scan */
	ck_assert_int_eq(h_login(fw.sock, probe), FT_OK);
	fw_wait_or_fail(fw_queued, probe, "the probe login to be journaled");
	t_scan = fw_since_s(t0);
	fw_wait_or_fail(all_tried, NULL, "every queued user to be tried");
	hwm = h_status_kib(h_proc_pid(fw.d), "VmHWM");
	ck_assert_int_gt(hwm, 0);
	fw_daemon_stop();
	ck_assert_int_eq(h_queue_count(fw.w->state, "queue"), QUEUED_N + 1);
	ck_assert_int_eq(h_queue_count(fw.w->state, "queue/failed"), 0);
	h_fx_fmt(
		text, sizeof(text),
		"peak RSS %ld MiB (written in %.1f s, start-up scan and a login "
		"journaled in %.1f s; every user tried, none lost)",
		hwm / 1024, t_fill, t_scan);
	h_fx_fmt(bound, sizeof(bound), "peak RSS < %ld MiB%s", limit / 1024,
		 H_ASAN_OR(" (ASan)", ""));
	bound_line("100,000 queued logins, LDAP down", text, bound);
	ck_assert_int_lt(hwm, limit);
}

END_TEST

START_TEST(test_bound_ldap_reconnects)
{
	char extra[512], text[256];
	long fds0, fds1, acc0, acc, want = RECONNECTS + 1;
	pid_t pid;

	if (fw_skipped_by_env("LDAP reconnects"))
		return;

	fw_many_people("r", RECONNECTS);
	fw.relay = h_relay_start(H_RELAY_LDAP,
				 h_uri_port(h_slapd_uri(fw.w->slapd)));
	ck_assert_ptr_nonnull(fw.relay);
	/* one search per look-up: the relay cuts after each answer */
	h_fx_fmt(extra, sizeof(extra),
		 "ldap.uri = ldap://127.0.0.1:%d\n-ldap.disabled_filter\n"
		 "ldap.timeout = 5\nftrack.timeout = 10\n"
		 "policy.reconcile_interval = 0\ndaemon.log_level = info\n",
		 h_relay_port(fw.relay));
	fw_bound_config(extra);
	fw_daemon_start();
	pid = h_proc_pid(fw.d);
	ck_assert_int_eq(h_login(fw.sock, "alice"), FT_OK);
	fw_wait_provisioned("alice");
	fds0 = h_fd_count(pid);
	acc0 = h_relay_accepted(fw.relay);
	fw_login_many("r", RECONNECTS);
	fw_wait_or_fail(fw_users_there, &want, "every login to be provisioned");
	acc = h_relay_accepted(fw.relay) - acc0;
	fds1 = h_fd_count(pid);
	ck_assert_int_eq(fw_distinct_users(), want);
	fw_daemon_stop();
	ck_assert_int_eq(h_queue_count(fw.w->state, "queue/failed"), 0);
	h_fx_fmt(text, sizeof(text),
		 "%ld reconnects; open fds %ld before, %ld after", acc, fds0,
		 fds1);
	bound_line("1,000 LDAP reconnects (a relay cuts every connection "
		   "after each answer) while logins flow",
		   text, "no fd leak: fds after <= before + 2");
	ck_assert_int_ge(acc, RECONNECTS);
	ck_assert_int_le(fds1, fds0 + FD_SLACK);
}

END_TEST

/* The faults of the HTTP test: HTTP_FAILURES in all. */
static void
http_failures_faults(void)
{
	char spec[8192];
	size_t len;
	int i, plain = HTTP_FAILURES - 2 * HTTP_EACH;

	len = (size_t)snprintf(
		spec, sizeof(spec),
		"[{\"count\": %d, \"body\": \"not JSON\"},"
		" {\"count\": %d, \"exception\": \"InvalidCredentialsError\","
		" \"content\": \"injected\"}",
		plain / 2, plain - plain / 2);
	for (i = 0; i < HTTP_EACH; i++)
		len += (size_t)snprintf(
			spec + len, sizeof(spec) - len,
			", {\"skip\": 1, \"count\": 1, \"drop\": true},"
			" {\"skip\": 1, \"count\": 1, \"status\": 503}");
	ck_assert_uint_lt(len + 2, sizeof(spec));
	spec[len++] = ']';
	spec[len] = '\0';
	fw_emu_fault(spec);
}

/* Log in fresh users one by one while faults are pending, each time
 * waiting (at most 2 s) for one more fault to be taken. */
static void
http_failures_drive(void)
{
	char user[32];
	long long pending = h_emu_stat(fw.w->emu, "faults_pending"), now;
	unsigned i = 0;
	long long deadline = h_now_ms() + 150000;

	while (pending > 0) {
		long long wait_until = h_now_ms() + 2000;

		ck_assert_msg(h_now_ms() < deadline, "%lld faults never taken",
			      pending);
		if (i < HTTP_FAILURES) {
			h_fx_fmt(user, sizeof(user), "h%04u", i++);
			ck_assert_int_eq(h_login(fw.sock, user), FT_OK);
		}
		do {
			h_sleep_ms(5);
			now = h_emu_stat(fw.w->emu, "faults_pending");
			ck_assert_int_ge(now, 0);
		} while (now == pending && h_now_ms() < wait_until);
		pending = now;
	}
	for (; i < HTTP_FAILURES; i++) {
		h_fx_fmt(user, sizeof(user), "h%04u", i);
		ck_assert_int_eq(h_login(fw.sock, user), FT_OK);
	}
}

START_TEST(test_bound_http_failures)
{
	char extra[512], text[256];
	long fds0, fds1, acc0, acc, want = HTTP_FAILURES + 1;
	long long t0;
	pid_t pid;

	if (fw_skipped_by_env("failed ftrack requests"))
		return;

	fw_many_people("h", HTTP_FAILURES);
	fw.relay =
		h_relay_start(H_RELAY_HTTP, h_uri_port(h_emu_url(fw.w->emu)));
	ck_assert_ptr_nonnull(fw.relay);
	/* every request on a connection of its own: the relay cuts */
	h_fx_fmt(extra, sizeof(extra),
		 "ftrack.server = http://127.0.0.1:%d\nldap.timeout = 5\n"
		 "ftrack.timeout = 5\npolicy.reconcile_interval = 0\n"
		 "daemon.log_level = error\n",
		 h_relay_port(fw.relay));
	fw_bound_config(extra);
	fw_daemon_start();
	pid = h_proc_pid(fw.d);
	ck_assert_int_eq(h_login(fw.sock, "alice"), FT_OK);
	fw_wait_provisioned("alice");
	fds0 = h_fd_count(pid);
	acc0 = h_relay_accepted(fw.relay);
	t0 = h_now_ms();
	http_failures_faults();
	http_failures_drive();
	fw_wait_or_fail(fw_users_there, &want, "every login to be provisioned");
	acc = h_relay_accepted(fw.relay) - acc0;
	fds1 = h_fd_count(pid);
	ck_assert_int_eq(fw_distinct_users(), want);
	fw_daemon_stop();
	ck_assert_int_eq(h_queue_count(fw.w->state, "queue/failed"), 0);
	h_fx_fmt(
		text, sizeof(text),
		"%d failed requests (%d invalid JSON or an exception, %d drops, "
		"%d 503s), %ld connections, in %.0f s; open fds %ld before, %ld "
		"after",
		HTTP_FAILURES, HTTP_FAILURES - 2 * HTTP_EACH, HTTP_EACH,
		HTTP_EACH, acc, fw_since_s(t0), fds0, fds1);
	bound_line("1,000 failed ftrack requests, each on a new connection",
		   text, "no fd leak: fds after <= before + 2");
	ck_assert_int_ge(acc, HTTP_FAILURES);
	ck_assert_int_le(fds1, fds0 + FD_SLACK);
}

END_TEST

/* ---- local attackers: what the other suites leave out ---------------------- */

/*
 * Login names made to break out of an ftrack query expression (quotes,
 * a backslash, "or ... like"): each is provisioned as exactly itself,
 * every query parses, and nobody else changes.
 */
START_TEST(test_attack_query)
{
	static const char *const names[] = {"q\" or username like \"%",
					    "b\\\" or \"1\"=\"1",
					    "x') or (username != '"};
	size_t i;

	fw_world_up(0, NULL);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		fw_add_person(names[i]);
	fw_daemon_start();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		fw_login(names[i]);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		fw_wait_provisioned(names[i]);
	fw_login("zoe"); /* one after them, with the same look-up */
	fw_wait_provisioned("zoe");
	fw_assert_no_exception();
	fw_assert_outcome();
}

END_TEST

/*
 * A PAM user name that is not ftrack's: LDAP matches uid without regard
 * to case, so "ZOE" is zoe's entry, and ftrack gets the name LDAP holds.
 */
START_TEST(test_attack_case)
{
	fw_world_up(0, "policy.login_cooldown = 0\n");
	fw_daemon_start();
	ck_assert_int_eq(h_login(fw.sock, "ZOE"), FT_OK);
	fw_fresh("zoe");
	fw_wait_provisioned("zoe");
	/* ZOE's file goes once its outcome is in, after the write's last
	 * request (the seat marker's removal), not with zoe in ftrack */
	fw_wait_or_fail(fw_queue_empty, NULL, "ZOE's queue file to go");
	ck_assert(!h_queued(fw.w->state, "ZOE"));
	ck_assert_int_eq(h_login(fw.sock, "Alice"), FT_OK);
	ck_assert_int_eq(h_login(fw.sock, "zoe"), FT_OK);
	ck_assert_int_eq(h_login(fw.sock, "bob"), FT_OK); /* a barrier */
	fw_wait_log("unchanged 'bob'");
	fw_wait_or_fail(fw_queue_empty, NULL, "the queue to empty");
	ck_assert_int_eq(h_emu_named(fw.w->emu, "ZOE"), 0);
	ck_assert_int_eq(h_emu_named(fw.w->emu, "Alice"), 0);
	fw_assert_outcome(); /* zoe and alice once each */
}

END_TEST

/*
 * A name valid for PAM and LDAP (150 bytes) but too long to be a queue
 * file's name: it cannot be journaled (logged), and is provisioned from
 * memory.
 */
START_TEST(test_attack_long_name)
{
	static char name[151];

	memset(name, 'l', sizeof(name) - 1);
	fw_world_up(0, NULL);
	fw_add_person(name);
	fw_daemon_start();
	fw_login(name);
	fw_wait_log("unable to journal the login of 'lllll");
	fw_wait_or_fail(fw_in_ftrack, name, "the long name");
	fw_assert_outcome();
}

END_TEST

/* ---- the suite ---------------------------------------------------------------- */

Suite *
faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tm = tcase_create("matrix");
	TCase *tb = tcase_create("bounds");
	TCase *ta = tcase_create("attackers");

	tcase_set_timeout(tm, 120);
	tcase_add_unchecked_fixture(tm, h_suite_setup, h_suite_teardown);
	tcase_add_checked_fixture(tm, fw_world_setup, fw_world_teardown);
	tcase_add_loop_test(tm, test_row, 0, (int)NROWS);
	suite_add_tcase(s, tm);
	tcase_set_timeout(tb, 240);
	tcase_add_unchecked_fixture(tb, h_suite_setup, h_suite_teardown);
	tcase_add_checked_fixture(tb, fw_world_setup, fw_world_teardown);
	tcase_add_test(tb, test_bound_queued);
	tcase_add_test(tb, test_bound_ldap_reconnects);
	tcase_add_test(tb, test_bound_http_failures);
	suite_add_tcase(s, tb);
	tcase_set_timeout(ta, 120);
	tcase_add_unchecked_fixture(ta, h_suite_setup, h_suite_teardown);
	tcase_add_checked_fixture(ta, fw_world_setup, fw_world_teardown);
	tcase_add_test(ta, test_attack_query);
	tcase_add_test(ta, test_attack_case);
	tcase_add_test(ta, test_attack_long_name);
	suite_add_tcase(s, ta);
	return s;
}
