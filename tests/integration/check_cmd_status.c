/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd_status.c: suite 'cmd_status': `ftrack-syncd status`
 * (syncd/cmd_status.c) after LDAP data that cannot be mapped: the
 * daemon files the logins in queue/failed/, status counts them, and
 * `sync` says why; reports that are not ours, shown escaped or not read;
 * the last apply and the last dry run shown apart, and the report an
 * older version wrote.
 * The world is the daemon suites' fixture (tests/lib/h_fixture.c; see
 * check_cmd_run.c).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"
#include "harness.h"

Suite *cmd_status_suite(void);

/* ---- 14. data that cannot be mapped --------------------------------- */

/* state/queue/failed/<hex of user> holds user's event and the reason. */
static void
assert_failed_file(const char *user, const char *dn, const char *attr)
{
	char hex[2 * FT_PROTO_VALUE_MAX + 1], path[PATH_MAX], *text;
	struct ft_event ev;
	size_t len = 0;

	ck_assert_int_eq(ft_hex_encode(user, strlen(user), hex, sizeof(hex)),
			 FT_OK);
	H_FMT(path, "%s/queue/failed/%s", h_fx.state, hex);
	text = h_read_file(path, &len);
	ck_assert_msg(text != NULL, "no queue/failed/ file for '%s'", user);
	ck_assert_int_eq(ft_event_decode(text, len, &ev), FT_OK);
	ck_assert_str_eq(ev.user, user);
	ck_assert_msg(strstr(text, "\nerror=") != NULL, "no reason: %s", text);
	ck_assert_msg(strstr(text, dn) != NULL, "no DN: %s", text);
	ck_assert_msg(strstr(text, attr) != NULL, "no attribute: %s", text);
	free(text);
}

static bool
two_failed(void *arg)
{
	(void)arg;
	return h_queue_count(h_fx.state, "queue") == 0 &&
	       h_queue_count(h_fx.state, "queue/failed") == 2;
}

START_TEST(test_unmappable_data)
{
	static const char *const sync[] = {"sync", "hugesn", "badaudio", NULL};
	static const char *const status[] = {"status", NULL};

	h_fx_config("mapping.first_name = audio\n");
	h_fx_daemon_start();
	h_fx_login("hugesn");
	h_fx_login("badaudio");
	h_fx_login("bob"); /* barrier */
	h_fx_wait_provisioned("bob");
	h_fx_wait_or_fail(two_failed, NULL, "two files in queue/failed/");
	ck_assert_int_eq(h_emu_named(h_fx_emu, "hugesn"), 0);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "badaudio"), 0);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 1);
	assert_failed_file("hugesn", "uid=hugesn,ou=people", "'sn'");
	assert_failed_file("badaudio", "uid=badaudio,ou=people", "'audio'");
	ck_assert_int_eq(h_file_count(h_fx.log, "failed 'hugesn'"), 1);
	h_fx_daemon_stop();
	ck_assert_int_eq(h_fx_run_cmd(status, "status.out"), 0);
	ck_assert_int_eq(h_fx_out_count("status.out", "0 waiting, 2 failed"),
			 1);
	/* `sync` says why, and exits 1 */
	ck_assert_int_eq(h_fx_run_cmd(sync, "sync.out"), 1);
	ck_assert_int_eq(h_fx_out_count("sync.out", "hugesn: failed: "), 1);
	ck_assert_int_eq(h_fx_out_count("sync.out", "badaudio: failed: "), 1);
	ck_assert_int_eq(h_fx_out_count("sync.out", "uid=badaudio,ou=people"),
			 1);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 1);
}

END_TEST

/* ---- held logins (seat caps) ------------------------------------------ */

/* Write queue/held/<hex of user> as the worker holds it, held at t. */
static void
write_held(const char *user, const char *host, const char *reason, time_t t)
{
	char hex[2 * FT_PROTO_VALUE_MAX + 1], path[PATH_MAX];
	char text[FT_PROTO_MAX];
	struct timespec ts[2] = {{t, 0}, {t, 0}};
	FILE *f;

	ck_assert_int_eq(ft_hex_encode(user, strlen(user), hex, sizeof(hex)),
			 FT_OK);
	H_FMT(path, "%s/queue/held/%s", h_fx.state, hex);
	H_FMT(text, "FTSYNC1\nuser=%s\nservice=sshd\nhost=%s\nheld=%s\n", user,
	      host, reason);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/*
 * status lists the held logins oldest first: login, host, since when
 * (UTC), which cap.
 */
START_TEST(test_status_held)
{
	static const char *const status[] = {"status", NULL};
	char out[PATH_MAX + 16];

	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(status, "status0.out"), 0);
	ck_assert_int_eq(h_fx_out_count("status0.out", "held:            none"),
			 1);
	write_held("bob", "ws2.example.com",
		   "new_seats_total: all hosts reached 500 new seats this hour "
		   "(this one: host ws2.example.com)",
		   1764759600);
	write_held("alice", "ws1.example.com",
		   "new_seats_per_host: host ws1.example.com reached 20 new "
		   "seats this hour",
		   1764756000);
	ck_assert_int_eq(h_fx_run_cmd(status, "status.out"), 0);
	ck_assert_int_eq(h_fx_out_count("status.out", "held:            2 "
						      "beyond a seat cap"),
			 1);
	ck_assert_int_eq(h_fx_out_count("status.out",
					"  alice  host ws1.example.com  since "
					"2025-12-03T10:00:00Z  "
					"new_seats_per_host: host "
					"ws1.example.com reached 20"),
			 1);
	ck_assert_int_eq(
		h_fx_out_count("status.out",
			       "  bob  host ws2.example.com  since "
			       "2025-12-03T11:00:00Z  new_seats_total"),
		1);
	H_FMT(out, "%s/status.out", h_fx.dir);
	ck_assert_int_gt(h_fx_line_of(out, "  alice  "), 0);
	ck_assert_int_lt(h_fx_line_of(out, "  alice  "),
			 h_fx_line_of(out, "  bob  "));
	h_fx_assert_out_clean("status.out");
	ck_assert_int_eq(h_fx_out_count("status.out", "0 waiting, 0 failed"),
			 1);
}

END_TEST

/* status says how many mapping lines there are and what the daemon's
 * last read of the ftrack names made of them. */
START_TEST(test_status_groups)
{
	static const char *const status[] = {"status", NULL};
	char path[PATH_MAX];

	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(status, "status0.out"), 0);
	ck_assert_int_eq(h_fx_out_count("status0.out", "groups:"), 0);
	h_fx_config("groups.search_base = ou=groups,dc=example,dc=com\n"
		    "group_map.Compositing = comp\n"
		    "group_map.Lighting = lighting\n"
		    "role_map.Supervisor = comp\n");
	ck_assert_int_eq(h_fx_run_cmd(status, "status1.out"), 0);
	ck_assert_int_eq(h_fx_out_count("status1.out",
					"groups:          3 mapping line(s) "
					"([group_map] 2, [role_map] 1); the "
					"ftrack names not read yet"),
			 1);
	h_fx_fmt(path, sizeof(path), "%s/metrics.prom", h_fx.state);
	ck_assert_int_eq(h_write_file(path,
				      "ftrack_syncd_group_names_resolved 2\n"
				      "ftrack_syncd_group_names_missing 1\n",
				      0644),
			 FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(status, "status2.out"), 0);
	ck_assert_int_eq(h_fx_out_count("status2.out",
					"groups:          3 mapping line(s) "
					"([group_map] 2, [role_map] 1); ftrack "
					"names 2 resolved, 1 missing (left "
					"out: see the log or `check`)"),
			 1);
	h_fx_assert_out_clean("status2.out");
}

END_TEST

/* ---- a report an attacker wrote: shown escaped, read safely ---------- */

static const char *const status_args[] = {"status", NULL};

/* Run `status` once (it makes state/, queue/ and reports/); the path of
 * reports/last-apply.json into path. */
static void
status_world(char *path, size_t cap)
{
	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(status_args, "status-first.out"), 0);
	h_fx_fmt(path, cap, "%s/reports/last-apply.json", h_fx.state);
}

/*
 * Every field `status` prints from reports/last-apply.json passes
 * through the one cleaner: escapes that retitle the terminal and clear
 * the screen, a C1 CSI, bidi overrides and a line separator come out as
 * visible escapes (issue 12: ESC/BEL reached root's terminal).
 */
START_TEST(test_status_report_fields_escaped)
{
	char path[PATH_MAX];

	status_world(path, sizeof(path));
	ck_assert_int_eq(
		h_write_file(
			path,
			"{\"mode\": \"apply\", \"result\": "
			"\"app\\u001b]0;pwned\\u0007lied\\u009b2J\\u202e\", "
			"\"finished\": \"2026-01-01T00:00:00Z\\u001b[2J\", "
			"\"counts\": {\"cre\\u001b[31mate\\u2028\": 2, "
			"\"update\": 1}}\n",
			0600),
		FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(status_args, "status.out"), 0);
	h_fx_assert_out_clean("status.out");
	ck_assert_int_eq(
		h_fx_out_count("status.out",
			       "last apply:      2026-01-01T00:00:00Z\\x1b[2J, "
			       "app\\x1b]0;pwned\\x07lied\\u009b2J\\u202e: "
			       "2 cre\\x1b[31mate\\u2028, 1 update ("),
		1);
}

END_TEST

/*
 * A named pipe in place of the report: `status` must not wait for a
 * writer.  Run with a bound (10 s); killed at the bound is a failure.
 */
START_TEST(test_status_report_fifo)
{
	static const char *const args[] = {"status", NULL};
	char path[PATH_MAX], out[PATH_MAX];
	int st = 0;

	status_world(path, sizeof(path));
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	H_FMT(out, "%s/status-fifo.out", h_fx.dir);
	ck_assert_msg(
		h_daemon_run(h_fx.conf, args, out, 10000, &st) == FT_OK,
		"`status` still ran after 10 s with a FIFO as the report");
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(h_fx_out_count("status-fifo.out",
					"last apply:      unreadable: "
					"not a regular file ("),
			 1);
}

END_TEST

/* A symlink in place of the report is not followed; a file over the size
 * cap is not read. */
START_TEST(test_status_report_link_and_size)
{
	char path[PATH_MAX], target[PATH_MAX];

	status_world(path, sizeof(path));
	H_FMT(target, "%s/elsewhere.json", h_fx.dir);
	ck_assert_int_eq(h_write_file(target,
				      "{\"mode\": \"apply\", \"result\": "
				      "\"linked\", \"finished\": "
				      "\"2026-01-01T00:00:00Z\"}\n",
				      0600),
			 FT_OK);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(h_fx_run_cmd(status_args, "status-link.out"), 0);
	ck_assert_int_eq(h_fx_out_count("status-link.out", "linked"), 0);
	ck_assert_int_eq(h_fx_out_count("status-link.out",
					"last apply:      unreadable: "
					"a symbolic link ("),
			 1);
	/* 1 TiB, sparse: refused by its size, never read */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(h_write_file(path, "{}", 0600), FT_OK);
	ck_assert_int_eq(truncate(path, 1LL << 40), 0);
	ck_assert_int_eq(h_fx_run_cmd(status_args, "status-big.out"), 0);
	ck_assert_int_eq(h_fx_out_count("status-big.out",
					"last apply:      unreadable: "
					"larger than "),
			 1);
}

END_TEST

/* ---- the last apply and the last dry run -------------------------- */

/* h_fx.dir/<out> as text (the caller frees). */
static char *
out_text(const char *out)
{
	char path[PATH_MAX], *text;

	H_FMT(path, "%s/%s", h_fx.dir, out);
	text = h_read_file(path, NULL);
	ck_assert_ptr_nonnull(text);
	return text;
}

/* The line of text that starts with prefix (the caller frees), or NULL. */
static char *
line_of(const char *text, const char *prefix)
{
	const char *p = text;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, "\n");

		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return strndup(p, len);
		p = p[len] == '\n' ? p + len + 1 : NULL;
	}
	return NULL;
}

/*
 * A real apply held by a guard, then a real dry run that is not: `status`
 * shows each on its own line, the held apply not hidden by the dry run;
 * then the file an older version wrote, read as the last apply when it
 * records one and ignored when it records a dry run.
 */
START_TEST(test_status_apply_and_dry_run)
{
	static const char *const apply[] = {"reconcile", "--apply", NULL};
	static const char *const dry[] = {"reconcile", NULL};
	char path[PATH_MAX], *text, *a, *d;
	int code;

	h_fx_config("policy.sentinel_users = nosuchperson\n");
	ck_assert_int_eq(h_fx_run_cmd(apply, "apply.out"), 3);
	h_fx_config(NULL);
	code = h_fx_run_cmd(dry, "dry.out");
	ck_assert_msg(code == 0 || code == 4, "the dry run exited %d", code);
	ck_assert_int_eq(h_fx_run_cmd(status_args, "status.out"), 0);
	h_fx_assert_out_clean("status.out");
	text = out_text("status.out");
	a = line_of(text, "last apply:      ");
	d = line_of(text, "last dry run:    ");
	ck_assert_msg(a != NULL && d != NULL, "status:\n%s", text);
	ck_assert_msg(strstr(a, ", held:") && strstr(a, ", run ") &&
			      strstr(a, "/reports/last-apply.json)"),
		      "%s", a);
	ck_assert_msg(strstr(d, code == 0 ? ", in-sync:" : ", changes:") &&
			      strstr(d, "/reports/last-dry-run.json)") &&
			      !strstr(d, ", run "),
		      "%s", d);
	free(a);
	free(d);
	free(text);

	/* an upgrade: no last-apply.json, an older last-reconcile.json */
	H_FMT(path, "%s/reports/last-apply.json", h_fx.state);
	ck_assert_int_eq(unlink(path), 0);
	H_FMT(path, "%s/reports/last-reconcile.json", h_fx.state);
	ck_assert_int_eq(h_write_file(path,
				      "{\"mode\": \"apply\", \"result\": "
				      "\"errors\", \"finished\": "
				      "\"2025-01-02T03:04:05Z\", \"counts\": "
				      "{\"deactivate\": 3}}\n",
				      0600),
			 FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(status_args, "status-old.out"), 0);
	ck_assert_int_eq(
		h_fx_out_count("status-old.out",
			       "last apply:      2025-01-02T03:04:05Z, "
			       "errors: 3 deactivate ("),
		1);
	ck_assert_int_eq(h_fx_out_count("status-old.out",
					"/reports/last-reconcile.json)"),
			 1);
	ck_assert_int_eq(h_write_file(path,
				      "{\"mode\": \"dry-run\", \"result\": "
				      "\"in-sync\", \"finished\": "
				      "\"2025-01-02T03:04:05Z\"}\n",
				      0600),
			 FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(status_args, "status-old-dry.out"), 0);
	ck_assert_int_eq(h_fx_out_count("status-old-dry.out",
					"last apply:      never ("),
			 1);
	/* the dry run's own report is still there, and shown */
	ck_assert_int_eq(
		h_fx_out_count("status-old-dry.out", "last dry run:    never"),
		0);
}

END_TEST

/* ---- the suite ------------------------------------------------------- */

Suite *
cmd_status_suite(void)
{
	Suite *s = suite_create("cmd_status");
	TCase *tc = tcase_create("cmd_status");

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, h_fx_servers_setup,
				    h_fx_servers_teardown);
	tcase_add_checked_fixture(tc, h_fx_world_setup, h_fx_world_teardown);
	tcase_add_test(tc, test_unmappable_data);
	tcase_add_test(tc, test_status_report_fields_escaped);
	tcase_add_test(tc, test_status_report_fifo);
	tcase_add_test(tc, test_status_report_link_and_size);
	tcase_add_test(tc, test_status_apply_and_dry_run);
	tcase_add_test(tc, test_status_held);
	tcase_add_test(tc, test_status_groups);
	suite_add_tcase(s, tc);
	return s;
}
