/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd_sync.c: suite 'cmd_sync': `ftrack-syncd sync USER...`
 * (syncd/cmd_sync.c) against a real slapd and the ftrack emulator: an
 * LDAP change updates the user (and nothing when nothing differs),
 * people who are not LDAP users are named and left alone.
 * The world is the daemon suites' fixture (tests/lib/h_fixture.c; see
 * check_cmd_run.c).
 */
#include <check.h>
#include <errno.h>
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
#include <unistd.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"
#include "harness.h"
#include "queue.h"

Suite *cmd_sync_suite(void);

/* ---- 3. a change in LDAP --------------------------------------------- */

START_TEST(test_ldap_change_sync)
{
	static const char *const args[] = {"sync", "alice", NULL};
	static const char modify[] =
		"dn: uid=alice,ou=people,dc=example,dc=com\n"
		"changetype: modify\n"
		"replace: mail\n"
		"mail: alice.archer@example.com\n";
	static const char restore[] =
		"dn: uid=alice,ou=people,dc=example,dc=com\n"
		"changetype: modify\n"
		"replace: mail\n"
		"mail: alice@example.com\n";
	long long seq;
	char *log;

	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(args, "sync1.out"), 0);
	ck_assert_int_eq(h_fx_out_count("sync1.out", "alice: created: "), 1);
	ck_assert_int_eq(h_slapd_modify(h_fx_slapd, modify), FT_OK);
	seq = h_fx_emu_seq();
	ck_assert_int_eq(h_fx_run_cmd(args, "sync2.out"), 0);
	ck_assert_int_eq(
		h_fx_out_count("sync2.out", "alice: updated: changed: email\n"),
		1);
	h_fx_assert_user("alice", "Alice", "Archer",
			 "alice.archer@example.com");
	h_fx_assert_once("alice");
	log = h_emu_log(h_fx_emu, seq, NULL);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "\"update\"") != NULL, "no update: %s", log);
	ck_assert_msg(strstr(log, "\"create\"") == NULL, "a create: %s", log);
	free(log);
	/* nothing differs now: no write at all */
	seq = h_fx_emu_seq();
	ck_assert_int_eq(h_fx_run_cmd(args, "sync3.out"), 0);
	ck_assert_int_eq(h_fx_out_count("sync3.out", "alice: unchanged: "), 1);
	log = h_emu_log(h_fx_emu, seq, NULL);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "\"update\"") == NULL, "an update: %s", log);
	free(log);
	ck_assert_int_eq(h_slapd_modify(h_fx_slapd, restore), FT_OK);
}

END_TEST

/* ---- 4. not in LDAP, disabled ---------------------------------------- */

START_TEST(test_not_ldap_users)
{
	static const char *const args[] = {"sync", "gone", "nosuchuser", NULL};

	h_fx_config(NULL);
	h_fx_daemon_start();
	h_fx_login("nosuchuser");
	h_fx_login("gone");
	h_fx_login("bob"); /* barrier */
	h_fx_wait_provisioned("bob");
	h_fx_wait_or_fail(h_fx_queue_empty, NULL, "the queue to empty");
	ck_assert_int_eq(h_emu_named(h_fx_emu, "nosuchuser"), 0);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "gone"), 0);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 1);
	h_fx_assert_queue_clean();
	h_fx_daemon_stop();
	/* the same through `sync`, which says why */
	ck_assert_int_eq(h_fx_run_cmd(args, "sync.out"), 0);
	ck_assert_int_eq(h_fx_out_count("sync.out", "gone: not-ldap: "), 1);
	ck_assert_int_eq(h_fx_out_count("sync.out", "nosuchuser: not-ldap: "),
			 1);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 1);
}

END_TEST

/*
 * Issue 12: the per-user lines of `sync` print the name and the detail
 * through the one cleaner: a name the codec takes (valid UTF-8, no
 * control character) may still hold a bidi override or a line separator.
 */
START_TEST(test_sync_line_escaped)
{
	static const char *const args[] = {
		"sync", "ev\xe2\x80\xaeil\xe2\x80\xa8x", NULL};

	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(args, "sync.out"), 0);
	h_fx_assert_out_clean("sync.out");
	ck_assert_int_eq(
		h_fx_out_count("sync.out", "ev\\u202eil\\u2028x: not-ldap: "),
		1);
}

END_TEST

/* `sync` applies [ldap] login_format as the daemon does, and names the
 * login it worked with; a name that leaves nothing is a usage error. */
START_TEST(test_sync_login_format)
{
	static const char *const args[] = {"sync", "ALICE@CORP.EXAMPLE.COM",
					   "CORP\\bob", NULL};
	static const char *const empty[] = {"sync", "alice", "@CORP", NULL};

	h_fx_config("ldap.login_format = strip-domain, strip-realm, lower\n");
	ck_assert_int_eq(h_fx_run_cmd(args, "sync.out"), 0);
	ck_assert_int_eq(h_fx_out_count("sync.out", "alice: created: "), 1);
	ck_assert_int_eq(h_fx_out_count("sync.out", "bob: created: "), 1);
	h_fx_assert_once("alice");
	h_fx_assert_once("bob");
	ck_assert_int_eq(h_emu_people(h_fx_emu), 2);
	ck_assert_int_eq(h_fx_run_cmd(empty, "empty.out"), 2);
	ck_assert_int_eq(h_fx_out_count("empty.out",
					"'@CORP': [ldap] login_format "
					"leaves no valid login name"),
			 1);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 2);
}

END_TEST

/* ---- link_by = email: a conflict at login ----------------------------- */

/* arg: the path of a failed/ file; it holds its error line (queue_fail
 * moves the file first, then rewrites it with the reason). */
static bool
failed_with_reason(void *arg)
{
	char *text = h_read_file(arg, NULL);
	bool yes = text != NULL && strstr(text, "\nerror=") != NULL;

	free(text);
	return yes;
}

/* The account alice@example.com has its uuid marker; the queue is empty. */
static bool
linked(void *arg)
{
	char *id = h_emu_user_id(h_fx_emu, "alice@example.com");
	long n = id ? h_emu_markers(h_fx_emu, id, "ftrack_syncd.uuid", NULL)
		    : -1;

	(void)arg;
	free(id);
	return n == 1 && !h_queued(h_fx.state, "alice");
}

/*
 * Two ftrack users hold alice's address: her login links neither and
 * creates nobody; it is a permanent failure (queue/failed/ with the
 * reason naming both), since only an administrator can settle it; her
 * next login after that is tried afresh and links the one left.
 */
START_TEST(test_link_conflict_at_login)
{
	char path[PATH_MAX], ops[1024], *text, *id;

	h_fx_config("ftrack.link_by = email\n");
	ck_assert_int_eq(
		h_emu_control(h_fx_emu, "/_emulator/users",
			      "[{\"username\": \"alice@example.com\", "
			      "\"email\": \"alice@example.com\", "
			      "\"is_active\": true},"
			      "{\"username\": \"aliceold\", \"email\": "
			      "\"alice@example.com\", \"is_active\": true}]"),
		FT_OK);
	h_fx_daemon_start();
	h_fx_login("alice");
	H_FMT(path, "%s/queue/failed/616c696365", h_fx.state);
	h_fx_wait_or_fail(failed_with_reason, path,
			  "alice's login in queue/failed");
	ck_assert_int_eq(h_queue_count(h_fx.state, "queue/failed"), 1);
	text = h_read_file(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, "error=2 ftrack users have the e-mail "
				   "'alice@example.com' (not linked, not "
				   "created): '") != NULL,
		      "%s", text);
	ck_assert_msg(strstr(text, "'aliceold'") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "'alice@example.com'") != NULL, "%s", text);
	free(text);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 2);
	/* the administrator retires the old account's address */
	h_fx_daemon_stop();
	id = h_emu_user_id(h_fx_emu, "aliceold");
	ck_assert_ptr_nonnull(id);
	H_FMT(ops,
	      "[{\"action\": \"update\", \"entity_type\": \"User\", "
	      "\"entity_key\": [\"%s\"], \"entity_data\": "
	      "{\"__entity_type__\": \"User\", \"email\": "
	      "\"old@example.com\"}}]",
	      id);
	free(id);
	json_decref(h_emu_api(h_fx_emu, ops));
	h_fx_daemon_start();
	h_fx_login("alice");
	h_fx_wait_or_fail(linked, NULL, "alice's account to be linked");
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	ck_assert_int_eq(h_emu_people(h_fx_emu), 2);
	h_fx_assert_marker("alice@example.com", "(uid=alice)");
	h_fx_daemon_stop();
}

END_TEST

/* ---- the suite ------------------------------------------------------- */

/* ---- sync --held: every login held beyond a seat cap ------------------- */

static void
hold(struct queue *q, const char *user)
{
	ck_assert_int_eq(h_spool_host(h_fx.state, user, "ws1.example.com"),
			 FT_OK);
	ck_assert_int_eq(queue_hold(q, user, "new_seats_per_host: test"),
			 FT_OK);
}

/*
 * `sync --held` provisions every held login, the caps bypassed, and
 * removes the held files of those it settled (created, or not in LDAP);
 * `sync USER` of a held user removes its held file too.
 */
START_TEST(test_sync_held)
{
	static const char *const status[] = {"status", NULL};
	static const char *const held[] = {"sync", "--held", NULL};
	static const char *const one[] = {"sync", H_FX_PREFIX "0003", NULL};
	struct queue *q = NULL;

	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(status, "status.out"), 0); /* folders */
	ck_assert_int_eq(queue_open(h_fx.state, &q), FT_OK);
	hold(q, H_FX_PREFIX "0001");
	hold(q, H_FX_PREFIX "0002");
	hold(q, H_FX_PREFIX "0003");
	hold(q, "nosuchuser");
	ck_assert_int_eq(h_fx_run_cmd(one, "one.out"), 0);
	ck_assert_int_eq(
		h_fx_out_count("one.out", H_FX_PREFIX "0003: created: "), 1);
	ck_assert_int_eq(h_queue_count(h_fx.state, "queue/held"), 3);
	ck_assert_int_eq(h_fx_run_cmd(held, "held.out"), 0);
	ck_assert_int_eq(
		h_fx_out_count("held.out", H_FX_PREFIX "0001: created: "), 1);
	ck_assert_int_eq(
		h_fx_out_count("held.out", H_FX_PREFIX "0002: created: "), 1);
	ck_assert_int_eq(h_fx_out_count("held.out", "nosuchuser: not-ldap: "),
			 1);
	ck_assert_int_eq(h_queue_count(h_fx.state, "queue/held"), 0);
	ck_assert_int_eq(h_queue_count(h_fx.state, "queue"), 0);
	ck_assert_int_eq(h_queue_count(h_fx.state, "queue/failed"), 0);
	h_fx_assert_once(H_FX_PREFIX "0001");
	h_fx_assert_once(H_FX_PREFIX "0002");
	h_fx_assert_once(H_FX_PREFIX "0003");
	ck_assert_int_eq(h_emu_people(h_fx_emu), 3);
	ck_assert_int_eq(h_fx_run_cmd(held, "held2.out"), 0);
	ck_assert_int_eq(h_fx_out_count("held2.out", "no held logins"), 1);
	queue_free(q);
}

END_TEST

Suite *
cmd_sync_suite(void)
{
	Suite *s = suite_create("cmd_sync");
	TCase *tc = tcase_create("cmd_sync");

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, h_fx_servers_setup,
				    h_fx_servers_teardown);
	tcase_add_checked_fixture(tc, h_fx_world_setup, h_fx_world_teardown);
	tcase_add_test(tc, test_ldap_change_sync);
	tcase_add_test(tc, test_not_ldap_users);
	tcase_add_test(tc, test_sync_login_format);
	tcase_add_test(tc, test_sync_line_escaped);
	tcase_add_test(tc, test_link_conflict_at_login);
	tcase_add_test(tc, test_sync_held);
	suite_add_tcase(s, tc);
	return s;
}
