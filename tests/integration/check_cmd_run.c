/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_daemon.c: ftrack-syncd as a real process against a real slapd and
 * the ftrack emulator (issue 4, "Tests"): a login becomes an up-to-date
 * ftrack user, coalescing, LDAP changes, people who are not (or no longer)
 * LDAP users, filter metacharacters, LDAP down, ftrack faults, SIGKILL
 * mid-batch, forged and malformed datagrams, a flood, the PAM stack end to
 * end, `check` and SIGHUP.  Each test asserts what a user sees (the ftrack
 * users, the commands' output and exit codes) and that nothing is lost
 * (the queue files, queue/failed/, duplicates).
 *
 * One slapd (the seed people plus DT_NPEOPLE generated ones) and one
 * emulator serve the whole test case (unchecked fixture, in the runner);
 * the emulator's store is reset before each test, and each test gets a
 * fresh folder (config, state, socket, log) and its own daemon.  No test
 * sleeps blindly: they poll with h_wait_until under generous bounds, and
 * where they assert that something did NOT happen they first wait for a
 * later login (a barrier) to be provisioned, since the daemon reads its
 * socket in order.  Every daemon is stopped with SIGTERM and must exit 0
 * with no sanitizer report in its log.
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

Suite *cmd_run_suite(void);

#define WAIT_MS     20000u /* bound of every wait for the daemon */
#define DT_NPEOPLE  1000   /* generated LDAP people p0000..p0999 */
#define DT_PREFIX   "p"
#define UUID_KEY    "ftrack_syncd.uuid"
#define META_USER   "st*r(x)\\5c" /* the ten characters s t * r ( x ) \ 5 c */
#define META_FILTER "(uid=st\\2ar\\28x\\29\\5c5c)"
#define PAM_MODULE  FT_TEST_BUILDDIR "/pam_ftrack/pam_ftrack.so"

/* Short timeouts so that faults resolve fast. */
#define BASE_CONFIG "ldap.timeout = 2\nftrack.timeout = 2\n"

/* Shared servers of the unchecked fixture (started in the runner). */
static struct h_slapd *g_slapd;
static struct h_emu *g_emu;
static char *g_base; /* holds the LDIF and every test's folder */

/* This test's world (each test runs in its own fork). */
static struct {
	char dir[PATH_MAX];
	char state[PATH_MAX];
	char sock[PATH_MAX];
	char log[PATH_MAX];
	char *conf;
	struct h_proc *d;
} W;

/* snprintf into an array, asserting that nothing was cut. */
#define FMT(buf, ...)                                                          \
	fmt_check(snprintf((buf), sizeof(buf), __VA_ARGS__), sizeof(buf))

static void
fmt_check(int n, size_t cap)
{
	ck_assert_msg(n >= 0 && (size_t)n < cap, "text cut");
}

/*
 * Two people whose data cannot be mapped: hugesn's sn is over the 256
 * bytes a value may have (slapd allows 32768), badaudio's audio (an
 * octet string, which slapd does not check) is not UTF-8.  Static text.
 */
static const char *
hostile_ldif(void)
{
	static char text[2048];
	char sn[1001];

	memset(sn, 'x', sizeof(sn) - 1);
	sn[sizeof(sn) - 1] = '\0';
	(void)!snprintf(text, sizeof(text),
			"dn: uid=hugesn,ou=people,dc=example,dc=com\n"
			"objectClass: inetOrgPerson\n"
			"uid: hugesn\ncn: Huge Surname\nsn: %s\n"
			"mail: hugesn@example.com\n\n"
			"dn: uid=badaudio,ou=people,dc=example,dc=com\n"
			"objectClass: inetOrgPerson\n"
			"uid: badaudio\ncn: Bad Audio\nsn: Audio\n"
			"audio:: /+4=\nmail: badaudio@example.com\n",
			sn);
	return text;
}

/* ---- fixtures -------------------------------------------------------- */

static void
servers_setup(void)
{
	char ldif[PATH_MAX];
	int n;

	g_base = h_tmpdir();
	if (g_base == NULL)
		return;
	n = snprintf(ldif, sizeof(ldif), "%s/people.ldif", g_base);
	if (n < 0 || (size_t)n >= sizeof(ldif) ||
	    h_write_ldif(ldif, DT_PREFIX, DT_NPEOPLE, hostile_ldif()) !=
		    FT_OK) {
		(void)fprintf(stderr, "daemon: unable to write %s\n", ldif);
		return;
	}
	g_slapd = h_slapd_start(ldif, 0);
	g_emu = h_emu_start(NULL);
}

static void
servers_teardown(void)
{
	h_emu_stop(g_emu);
	g_emu = NULL;
	h_slapd_stop(g_slapd);
	g_slapd = NULL;
	h_rmtree(g_base);
	free(g_base);
	g_base = NULL;
}

static void
world_setup(void)
{
	char tmpl[PATH_MAX];

	ck_assert_msg(g_slapd != NULL && g_emu != NULL,
		      "slapd or the emulator did not start");
	ck_assert_int_eq(h_emu_reset(g_emu), FT_OK);
	memset(&W, 0, sizeof(W));
	FMT(tmpl, "%s/t-XXXXXX", g_base);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	FMT(W.dir, "%s", tmpl);
	FMT(W.state, "%s/state", W.dir);
	FMT(W.sock, "%s/notify.sock", W.dir);
	FMT(W.log, "%s/daemon.log", W.dir);
}

static void
world_teardown(void)
{
	h_proc_stop(W.d);
	W.d = NULL;
	free(W.conf);
	W.conf = NULL;
}

/* ---- the daemon ------------------------------------------------------ */

static void
assert_no_sanitizer_report(const char *log)
{
	if (!h_san_file(log))
		return;
	h_show_tail(log);
	ck_abort_msg("sanitizer report in %s", log);
}

static void
wait_or_fail(bool (*cond)(void *), void *arg, const char *what)
{
	if (h_wait_until(cond, arg, WAIT_MS))
		return;
	h_show_tail(W.log);
	ck_abort_msg("timed out after %u ms waiting for %s", WAIT_MS, what);
}

/* Write W.dir/ftrack-syncd.conf: BASE_CONFIG, then extra. */
static void
config(const char *extra)
{
	char text[2048];
	int n;

	n = snprintf(text, sizeof(text), "%s%s", BASE_CONFIG,
		     extra != NULL ? extra : "");
	ck_assert(n > 0 && (size_t)n < sizeof(text));
	free(W.conf);
	W.conf = h_write_config(W.dir, g_slapd, g_emu, text);
	ck_assert_ptr_nonnull(W.conf);
}

static bool
daemon_exited(void)
{
	return h_proc_wait(W.d, 0, NULL) != FT_E_AGAIN;
}

static bool
daemon_ready(void *arg)
{
	int fd;

	(void)arg;
	if (daemon_exited())
		return true; /* no point waiting */
	fd = h_sender_open(W.sock);
	if (fd < 0)
		return false;
	(void)close(fd);
	return true;
}

/* Start `ftrack-syncd -c W.conf run` and wait until it listens. */
static void
daemon_start(void)
{
	W.d = h_daemon_start(W.conf, W.log);
	ck_assert_ptr_nonnull(W.d);
	(void)h_wait_until(daemon_ready, NULL, WAIT_MS);
	if (daemon_exited()) {
		h_show_tail(W.log);
		ck_abort_msg("ftrack-syncd exited at start");
	}
	ck_assert_msg(daemon_ready(NULL), "ftrack-syncd does not listen");
}

/* SIGTERM: it must exit 0 within WAIT_MS, with a clean log. */
static void
daemon_stop(void)
{
	int st = 0, r;

	ck_assert_int_eq(h_proc_signal(W.d, SIGTERM), FT_OK);
	r = h_proc_wait(W.d, WAIT_MS, &st);
	h_proc_stop(W.d);
	W.d = NULL;
	assert_no_sanitizer_report(W.log);
	if (r != FT_OK || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		h_show_tail(W.log);
	ck_assert_msg(r == FT_OK, "ftrack-syncd did not stop on SIGTERM");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "ftrack-syncd: wait status 0x%x after SIGTERM", st);
}

/*
 * Run `ftrack-syncd -c W.conf args...` to completion; its stdout and
 * stderr go to W.dir/<out>.  Returns the exit code.
 */
static int
run_cmd(const char *const args[], const char *out)
{
	char path[PATH_MAX];
	int st = 0;

	FMT(path, "%s/%s", W.dir, out);
	(void)unlink(path);
	ck_assert_int_eq(h_daemon_run(W.conf, args, path, WAIT_MS, &st), FT_OK);
	assert_no_sanitizer_report(path);
	ck_assert_msg(WIFEXITED(st), "ftrack-syncd: wait status 0x%x", st);
	return WEXITSTATUS(st);
}

/* Occurrences of text in W.dir/<out>. */
static long
out_count(const char *out, const char *text)
{
	char path[PATH_MAX];

	FMT(path, "%s/%s", W.dir, out);
	return h_file_count(path, text);
}

static void
login(const char *user)
{
	int r = h_login(W.sock, user);

	ck_assert_msg(r == FT_OK, "unable to send the login of '%s': %s", user,
		      r == FT_E_IO ? strerror(errno) : ft_strerror(r));
}

/* ---- conditions to wait for ------------------------------------------ */

/* arg: a user name.  In ftrack, and its queue file is gone. */
static bool
provisioned(void *arg)
{
	const char *user = arg;

	return !h_queued(W.state, user) && h_emu_named(g_emu, user) >= 1;
}

static void
wait_provisioned(const char *user)
{
	char what[512], name[FT_PROTO_VALUE_MAX + 1];

	FMT(what, "'%s' to be provisioned", user);
	FMT(name, "%s", user);
	wait_or_fail(provisioned, name, what);
}

static bool
queue_empty(void *arg)
{
	(void)arg;
	return h_queue_count(W.state, "queue") == 0;
}

/* arg: text expected in the daemon's log. */
static bool
log_has(void *arg)
{
	return h_file_count(W.log, arg) > 0;
}

struct emu_mention {
	long long since; /* emulator log seq */
	const char *text;
};

/* arg: struct emu_mention.  An /api request after since holds text. */
static bool
emu_mentions(void *arg)
{
	const struct emu_mention *m = arg;
	char *log = h_emu_log(g_emu, m->since, NULL);
	bool yes = log != NULL && strstr(log, m->text) != NULL;

	free(log);
	return yes;
}

/* The emulator log's last seq now. */
static long long
emu_seq(void)
{
	long long seq = -1;
	char *log = h_emu_log(g_emu, 0, &seq);

	ck_assert_ptr_nonnull(log);
	free(log);
	return seq;
}

/* Exactly one ftrack user named user, with exactly one uuid marker. */
static void
assert_once(const char *user)
{
	ck_assert_msg(h_emu_named(g_emu, user) == 1, "'%s': %ld ftrack users",
		      user, h_emu_named(g_emu, user));
	ck_assert_msg(h_emu_user_markers(g_emu, user, UUID_KEY, NULL) == 1,
		      "'%s': not exactly one uuid marker", user);
}

static void
assert_queue_clean(void)
{
	ck_assert_int_eq(h_queue_count(W.state, "queue"), 0);
	ck_assert_int_eq(h_queue_count(W.state, "queue/failed"), 0);
}

/* The entryUUID of the LDAP entry matching filter (caller frees). */
static char *
ldap_uuid(const char *filter)
{
	char *v = h_ldap_values(h_slapd_uri(g_slapd), filter, "entryUUID");

	ck_assert_ptr_nonnull(v);
	ck_assert_msg(strchr(v, '\n') == v + strlen(v) - 1,
		      "%s: not exactly one entryUUID: '%s'", filter, v);
	v[strlen(v) - 1] = '\0';
	return v;
}

static void
assert_user(const char *user, const char *first, const char *last,
	    const char *email)
{
	json_t *u = h_emu_user(g_emu, user);

	ck_assert_msg(u != NULL, "no ftrack user '%s'", user);
	ck_assert_str_eq(json_string_value(json_object_get(u, "username")),
			 user);
	ck_assert_str_eq(json_string_value(json_object_get(u, "first_name")),
			 first);
	ck_assert_str_eq(json_string_value(json_object_get(u, "last_name")),
			 last);
	ck_assert_str_eq(json_string_value(json_object_get(u, "email")), email);
	ck_assert(json_is_true(json_object_get(u, "is_active")));
	json_decref(u);
}

/* The uuid marker of user equals the entryUUID of the entry at filter. */
static void
assert_marker(const char *user, const char *filter)
{
	char *want = ldap_uuid(filter), *got = NULL;

	ck_assert_int_eq(h_emu_user_markers(g_emu, user, UUID_KEY, &got), 1);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
}

/* ---- 1. a login creates the user ------------------------------------- */

START_TEST(test_login_creates)
{
	config(NULL);
	daemon_start();
	login("alice");
	login("joerg");
	wait_provisioned("alice");
	wait_provisioned("joerg");
	assert_user("alice", "Alice", "Archer", "alice@example.com");
	assert_user("joerg", "J\xc3\xb6rg", "M\xc3\xbcller",
		    "joerg@example.com");
	assert_marker("alice", "(uid=alice)");
	assert_marker("joerg", "(uid=joerg)");
	assert_once("alice");
	assert_once("joerg");
	ck_assert_int_eq(h_emu_people(g_emu), 2);
	assert_queue_clean();
	ck_assert_int_ge(h_file_count(W.log, "created 'alice'"), 1);
	daemon_stop();
	ck_assert_int_eq(h_metric(W.state, "user_changes_total{action="
					   "\"created\"}"),
			 2);
}

END_TEST

/* multi has two mail and two givenName values: the first ones count. */
START_TEST(test_login_multi_valued)
{
	config(NULL);
	daemon_start();
	login("multi");
	wait_provisioned("multi");
	assert_user("multi", "Maria", "Multi", "maria.multi@example.com");
	assert_marker("multi", "(uid=multi)");
	assert_queue_clean();
	daemon_stop();
}

END_TEST

/* ---- 2. login_cooldown ----------------------------------------------- */

START_TEST(test_cooldown)
{
	long long seq, creates;
	char *log;

	config(NULL); /* login_cooldown = 600 by default */
	daemon_start();
	login("alice");
	wait_provisioned("alice");
	seq = emu_seq();
	creates = h_emu_stat2(g_emu, "operations", "create");
	login("alice");
	login("bob"); /* read after alice's: a barrier */
	wait_provisioned("bob");
	log = h_emu_log(g_emu, seq, NULL);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "bob") != NULL, "no request for bob");
	ck_assert_msg(strstr(log, "alice") == NULL,
		      "a login within login_cooldown made a request: %s", log);
	free(log);
	ck_assert_int_eq(h_emu_stat2(g_emu, "operations", "create"),
			 creates + 2);
	assert_once("alice");
	assert_queue_clean();
	daemon_stop();
}

END_TEST

/* With login_cooldown = 0 every login checks ftrack again (no create). */
START_TEST(test_cooldown_zero)
{
	struct emu_mention m = {0, "alice"};
	long long creates;
	int i;

	config("policy.login_cooldown = 0\n");
	daemon_start();
	login("alice");
	wait_provisioned("alice");
	creates = h_emu_stat2(g_emu, "operations", "create");
	for (i = 0; i < 2; i++) {
		m.since = emu_seq();
		login("alice");
		wait_or_fail(emu_mentions, &m, "an update check of alice");
		wait_or_fail(queue_empty, NULL, "the queue to empty");
	}
	ck_assert_int_eq(h_emu_stat2(g_emu, "operations", "create"), creates);
	ck_assert_int_eq(h_emu_stat2(g_emu, "operations", "update"), 0);
	assert_once("alice");
	assert_queue_clean();
	daemon_stop();
}

END_TEST

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

	config(NULL);
	ck_assert_int_eq(run_cmd(args, "sync1.out"), 0);
	ck_assert_int_eq(out_count("sync1.out", "alice: created: "), 1);
	ck_assert_int_eq(h_slapd_modify(g_slapd, modify), FT_OK);
	seq = emu_seq();
	ck_assert_int_eq(run_cmd(args, "sync2.out"), 0);
	ck_assert_int_eq(
		out_count("sync2.out", "alice: updated: changed: email\n"), 1);
	assert_user("alice", "Alice", "Archer", "alice.archer@example.com");
	assert_once("alice");
	log = h_emu_log(g_emu, seq, NULL);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "\"update\"") != NULL, "no update: %s", log);
	ck_assert_msg(strstr(log, "\"create\"") == NULL, "a create: %s", log);
	free(log);
	/* nothing differs now: no write at all */
	seq = emu_seq();
	ck_assert_int_eq(run_cmd(args, "sync3.out"), 0);
	ck_assert_int_eq(out_count("sync3.out", "alice: unchanged: "), 1);
	log = h_emu_log(g_emu, seq, NULL);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "\"update\"") == NULL, "an update: %s", log);
	free(log);
	ck_assert_int_eq(h_slapd_modify(g_slapd, restore), FT_OK);
}

END_TEST

/* ---- 4. not in LDAP, disabled ---------------------------------------- */

START_TEST(test_not_ldap_users)
{
	static const char *const args[] = {"sync", "gone", "nosuchuser", NULL};

	config(NULL);
	daemon_start();
	login("nosuchuser");
	login("gone");
	login("bob"); /* barrier */
	wait_provisioned("bob");
	wait_or_fail(queue_empty, NULL, "the queue to empty");
	ck_assert_int_eq(h_emu_named(g_emu, "nosuchuser"), 0);
	ck_assert_int_eq(h_emu_named(g_emu, "gone"), 0);
	ck_assert_int_eq(h_emu_people(g_emu), 1);
	assert_queue_clean();
	daemon_stop();
	/* the same through `sync`, which says why */
	ck_assert_int_eq(run_cmd(args, "sync.out"), 0);
	ck_assert_int_eq(out_count("sync.out", "gone: not-ldap: "), 1);
	ck_assert_int_eq(out_count("sync.out", "nosuchuser: not-ldap: "), 1);
	ck_assert_int_eq(h_emu_people(g_emu), 1);
}

END_TEST

/* ---- 5. filter metacharacters ---------------------------------------- */

START_TEST(test_metacharacters)
{
	static const char *const wild[] = {"star*", "*", "st*r", "st*r(x)*",
					   "*)(uid=*"};
	size_t i;

	ck_assert_uint_eq(strlen(META_USER), 10);
	config(NULL);
	daemon_start();
	login(META_USER);
	for (i = 0; i < sizeof(wild) / sizeof(wild[0]); i++)
		login(wild[i]);
	login("bob"); /* barrier */
	wait_provisioned("bob");
	wait_provisioned(META_USER);
	wait_or_fail(queue_empty, NULL, "the queue to empty");
	assert_once(META_USER);
	assert_marker(META_USER, META_FILTER);
	for (i = 0; i < sizeof(wild) / sizeof(wild[0]); i++)
		ck_assert_int_eq(h_emu_named(g_emu, wild[i]), 0);
	ck_assert_int_eq(h_emu_named(g_emu, "star"), 0);
	ck_assert_int_eq(h_emu_named(g_emu, "starx"), 0);
	ck_assert_int_eq(h_emu_people(g_emu), 2);
	assert_queue_clean();
	daemon_stop();
}

END_TEST

/* ---- 6. LDAP down ---------------------------------------------------- */

START_TEST(test_ldap_down)
{
	char retry[] = "retry 'alice'";
	struct h_slapd *own = h_slapd_start(H_LDIF_PEOPLE, 0);
	char *conf;

	/* a slapd of this test's own: only the process that started a
	 * slapd may stop and restart it */
	ck_assert_ptr_nonnull(own);
	conf = h_write_config(W.dir, own, g_emu, BASE_CONFIG);
	ck_assert_ptr_nonnull(conf);
	free(W.conf);
	W.conf = conf;
	daemon_start();
	login("bob"); /* the daemon is connected to slapd when it goes */
	wait_provisioned("bob");
	h_slapd_down(own);
	login("alice");
	wait_or_fail(log_has, retry, "a retry of alice");
	ck_assert(h_queued(W.state, "alice"));
	ck_assert_int_eq(h_emu_named(g_emu, "alice"), 0);
	ck_assert_int_eq(h_slapd_restart(own), FT_OK);
	wait_provisioned("alice");
	assert_once("alice");
	assert_user("alice", "Alice", "Archer", "alice@example.com");
	assert_once("bob");
	assert_queue_clean();
	daemon_stop();
	h_slapd_stop(own);
}

END_TEST

/* ---- 7. ftrack faults ------------------------------------------------ */

struct fault_case {
	const char *user;
	bool on_write;     /* let the look-ups of a first login pass */
	const char *fault; /* members of POST /_emulator/fault */
};

static const struct fault_case fault_cases[] = {
	{"alice", false,
	 "\"status\": 500, \"exception\": \"ServerError\", \"content\": \"x\""},
	{"bob", false, "\"status\": 429, \"retry_after\": 1"},
	{"carol", false, "\"delay_ms\": 3000"},
	{"dave", false, "\"drop\": true"},
	{"erin", true,
	 "\"status\": 500, \"exception\": \"ServerError\", \"content\": \"x\""},
	{"frank", true, "\"delay_ms\": 3000"}, /* the answer is lost */
	{"zoe", true, "\"drop\": true"},
};

/* HTTP requests of a first login without faults (look-ups + the write). */
static long long
first_login_requests(void)
{
	long long before = h_emu_stat(g_emu, "requests"), n;

	login("yamada");
	wait_provisioned("yamada");
	n = h_emu_stat(g_emu, "requests") - before;
	ck_assert_int_ge(n, 1);
	return n;
}

static void
fault_case_run(const struct fault_case *c, long long skip)
{
	struct emu_mention m = {emu_seq(), "\"fault\":true"};
	char body[256];
	json_t *r;

	FMT(body, "{\"skip\": %lld, %s}", c->on_write ? skip : 0, c->fault);
	r = h_emu_post(g_emu, "/_emulator/fault", body);
	ck_assert_ptr_nonnull(r);
	json_decref(r);
	login(c->user);
	wait_provisioned(c->user);
	ck_assert_msg(h_emu_stat(g_emu, "faults_pending") == 0,
		      "the fault for %s was not hit", c->user);
	/* a delayed request is logged once it is done: then its late
	 * write, if any, has happened */
	wait_or_fail(emu_mentions, &m, "the faulted request to end");
	assert_once(c->user);
}

START_TEST(test_ftrack_faults)
{
	size_t i, n = sizeof(fault_cases) / sizeof(fault_cases[0]);
	long long lookups;

	config(NULL);
	daemon_start();
	lookups = first_login_requests() - 1;
	for (i = 0; i < n; i++)
		fault_case_run(&fault_cases[i], lookups);
	/* a lost answer's late write must not have made a second user */
	ck_assert_int_eq(h_emu_people(g_emu), (long)n + 1);
	for (i = 0; i < n; i++)
		assert_once(fault_cases[i].user);
	assert_queue_clean();
	daemon_stop();
}

END_TEST

/* ---- 8. SIGKILL mid-batch -------------------------------------------- */

#define KILL_N 50

static bool
writes_started(void *arg)
{
	(void)arg;
	return h_emu_stat2(g_emu, "operations", "create") >= 1;
}

static bool
all_killed_users_there(void *arg)
{
	(void)arg;
	return h_emu_people(g_emu) >= KILL_N &&
	       h_queue_count(W.state, "queue") == 0;
}

START_TEST(test_sigkill_mid_batch)
{
	json_t *r;
	char user[16];
	int i, st = 0;
	long before;

	config("ftrack.batch_size = 10\n");
	daemon_start();
	r = h_emu_post(g_emu, "/_emulator/config", "{\"latency_ms\": 200}");
	ck_assert_ptr_nonnull(r);
	json_decref(r);
	for (i = 0; i < KILL_N; i++) {
		FMT(user, DT_PREFIX "%04d", i);
		login(user);
	}
	wait_or_fail(writes_started, NULL, "the first write");
	ck_assert_int_eq(h_proc_signal(W.d, SIGKILL), FT_OK);
	ck_assert_int_eq(h_proc_wait(W.d, WAIT_MS, &st), FT_OK);
	ck_assert(WIFSIGNALED(st));
	h_proc_stop(W.d);
	W.d = NULL;
	before = h_emu_people(g_emu);
	ck_assert_msg(before < KILL_N, "killed too late: all %d there", KILL_N);
	ck_assert_int_gt(h_queue_count(W.state, "queue"), 0);
	daemon_start(); /* replaces the stale socket */
	wait_or_fail(all_killed_users_there, NULL, "every user after restart");
	for (i = 0; i < KILL_N; i++) {
		FMT(user, DT_PREFIX "%04d", i);
		assert_once(user);
	}
	ck_assert_int_eq(h_emu_people(g_emu), KILL_N);
	assert_queue_clean();
	daemon_stop();
	(void)fprintf(stderr, "daemon: SIGKILL with %ld of %d users written\n",
		      before, KILL_N);
}

END_TEST

/*
 * After a stop, each of the KILL_N users is either in ftrack (once, with
 * its marker) and no longer queued, or not in ftrack and still queued.
 * Returns how many are in ftrack.
 */
static int
assert_written_or_queued(void)
{
	char user[16];
	int i, written = 0;

	for (i = 0; i < KILL_N; i++) {
		long in;
		bool queued;

		FMT(user, DT_PREFIX "%04d", i);
		in = h_emu_named(g_emu, user);
		queued = h_queued(W.state, user);
		ck_assert_msg((in == 1 && !queued) || (in == 0 && queued),
			      "'%s': %ld ftrack users, queue file %s", user, in,
			      queued ? "kept" : "gone");
		if (in == 1)
			assert_once(user);
		written += in == 1;
	}
	return written;
}

/* SIGTERM mid-batch: the batch in hand is finished (the rest stays
 * queued), exit 0; the next start provisions the rest. */
START_TEST(test_sigterm_mid_batch)
{
	json_t *r;
	char user[16];
	int i, written;

	config("ftrack.batch_size = 10\n");
	daemon_start();
	r = h_emu_post(g_emu, "/_emulator/config", "{\"latency_ms\": 200}");
	ck_assert_ptr_nonnull(r);
	json_decref(r);
	for (i = 0; i < KILL_N; i++) {
		FMT(user, DT_PREFIX "%04d", i);
		login(user);
	}
	wait_or_fail(writes_started, NULL, "the first write");
	ck_assert_int_lt(h_emu_people(g_emu), KILL_N);
	daemon_stop(); /* exit 0 */
	written = assert_written_or_queued();
	ck_assert_int_gt(written, 0);
	daemon_start();
	wait_or_fail(all_killed_users_there, NULL, "every user after restart");
	for (i = 0; i < KILL_N; i++) {
		FMT(user, DT_PREFIX "%04d", i);
		assert_once(user);
	}
	ck_assert_int_eq(h_emu_people(g_emu), KILL_N);
	assert_queue_clean();
	daemon_stop();
	(void)fprintf(stderr,
		      "daemon: SIGTERM mid-batch: %d of %d written before "
		      "exit, the rest kept queued\n",
		      written, KILL_N);
}

END_TEST

/* ---- 9. forged and malformed datagrams ------------------------------- */

static void
nobody_ids(uid_t *ret_uid, gid_t *ret_gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	ck_assert_int_eq(getpwnam_r("nobody", &pw, buf, sizeof(buf), &res), 0);
	ck_assert_ptr_nonnull(res);
	ck_assert_int_ne(pw.pw_uid, 0);
	*ret_uid = pw.pw_uid;
	*ret_gid = pw.pw_gid;
}

/* One raw datagram sent as root. */
static void
send_raw(const char *msg, size_t len)
{
	int fd = h_sender_open(W.sock);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(h_sender_send(fd, msg, len, 0), FT_OK);
	(void)close(fd);
}

START_TEST(test_forged_and_malformed)
{
	static const char forged[] = "FTSYNC1\nuser=alice\nservice=ftest\n";
	static const char own[] = "FTSYNC1\nuser=nobody\nservice=screen\n";
	static const char malformed[] = "FTSYNC2\nuser=alice\n";
	char line[128];
	uid_t uid;
	gid_t gid;
	long long limited;

	nobody_ids(&uid, &gid);
	config(NULL);
	daemon_start();
	ck_assert_int_eq(
		h_send_as(W.sock, uid, gid, forged, sizeof(forged) - 1, 1), 1);
	send_raw(malformed, sizeof(malformed) - 1);
	/* nobody may report itself, within its rate limit (burst 20) */
	ck_assert_int_eq(h_send_as(W.sock, uid, gid, own, sizeof(own) - 1, 25),
			 25);
	login("bob"); /* barrier */
	wait_provisioned("bob");
	wait_or_fail(queue_empty, NULL, "the queue to empty");
	ck_assert_int_eq(h_emu_named(g_emu, "alice"), 0);
	ck_assert_int_eq(h_emu_people(g_emu), 1);
	FMT(line,
	    "forged login event dropped: uid %u may not report "
	    "'alice'",
	    (unsigned)uid);
	ck_assert_int_eq(h_file_count(W.log, line), 1);
	daemon_stop();
	ck_assert_int_eq(h_metric(W.state, "events_forged_total"), 1);
	ck_assert_int_eq(h_metric(W.state, "events_dropped_total{reason="
					   "\"malformed\"}"),
			 1);
	limited = h_metric(W.state,
			   "events_dropped_total{reason=\"rate_limited\"}");
	/* burst 20 for nobody, less the forged one; 1 a second comes back */
	ck_assert_msg(limited >= 1 && limited <= 6, "rate_limited %lld",
		      limited);
	/* well-formed events: forged, own and bob, not the malformed one */
	ck_assert_int_eq(h_metric(W.state, "events_received_total"),
			 1 + 25 + 1);
}

END_TEST

/* ---- 10. a flood ----------------------------------------------------- */

#define FLOOD_JUNK_MIN 50000L /* each of the two junk senders */
#define FLOOD_JUNK_MAX 2000000L
#define FLOOD_VALID    DT_NPEOPLE
#define FLOOD_RSS_KIB  (64L * 1024L)
#define FLOOD_RSS_ASAN (128L * 1024L) /* shadow memory, 16 MiB quarantine */

struct flood_state {
	long rss_max; /* KiB */
	unsigned polls;
	char user[32]; /* provisioned() of it */
	bool all;      /* or: every user there and the queue empty */
};

/* Also samples the daemon's memory; asks the emulator every 100 ms. */
static bool
flood_cond(void *arg)
{
	struct flood_state *fs = arg;
	long rss = h_status_kib(h_proc_pid(W.d), "VmRSS");

	if (rss > fs->rss_max)
		fs->rss_max = rss;
	if (fs->polls++ % 10 != 0)
		return false;
	if (!fs->all)
		return provisioned(fs->user);
	return h_queue_count(W.state, "queue") == 0 &&
	       h_emu_people(g_emu) >= FLOOD_VALID + 2;
}

static void
flood_wait(struct flood_state *fs, const char *user, bool all)
{
	if (user != NULL)
		FMT(fs->user, "%s", user);
	fs->all = all;
	fs->polls = 0;
	wait_or_fail(flood_cond, fs, all ? "every flood login" : user);
}

struct flood_counts {
	long sent, resent, spooled;
};

/* The valid logins, without waiting; a full queue is handled like
 * pam_ftrack would (spool) or like a patient sender (send again). */
static void
flood_valid(struct flood_counts *c)
{
	char user[16], msg[FT_PROTO_MAX + 1];
	int fd = h_sender_open(W.sock), i;

	ck_assert_int_ge(fd, 0);
	for (i = 0; i < FLOOD_VALID; i++) {
		size_t len;
		int r;

		FMT(user, DT_PREFIX "%04d", i);
		len = h_event(user, msg, sizeof(msg));
		r = h_sender_send(fd, msg, len, MSG_DONTWAIT);
		if (r == FT_E_AGAIN && i % 2 == 0) {
			r = h_sender_send(fd, msg, len, 0);
			c->resent++;
		} else if (r == FT_E_AGAIN) {
			r = h_spool(W.state, user);
			c->spooled++;
		} else {
			c->sent++;
		}
		ck_assert_int_eq(r, FT_OK);
	}
	(void)close(fd);
}

/* What the flood test did, on stderr: what it proves depends on it. */
static void
flood_report(const struct flood_counts *c, long nm, long nf, long at_probe,
	     long rss_max)
{
	(void)fprintf(stderr,
		      "daemon: flood of %ld datagrams: %ld malformed, %ld "
		      "forged, %d valid (%ld sent, %ld sent again after "
		      "EAGAIN, %ld spooled after EAGAIN), 2 probes; carol "
		      "provisioned after %ld junk datagrams; peak RSS %ld "
		      "KiB\n",
		      nm + nf + FLOOD_VALID + 2, nm, nf, FLOOD_VALID, c->sent,
		      c->resent, c->spooled, at_probe, rss_max);
}

START_TEST(test_flood)
{
	static const char forged[] = "FTSYNC1\nuser=alice\n";
	static const char junk[] = "FTSYNC1\nuser=\n"; /* empty user */
	struct flood_state fs = {0, 0, "", false};
	struct flood_counts c = {0, 0, 0};
	struct h_flood *fm, *ff;
	long nm, nf, at_probe;
	uid_t uid;
	gid_t gid;

	nobody_ids(&uid, &gid);
	config("daemon.log_level = info\n");
	ck_assert_int_eq(h_san_small_quarantine(), FT_OK);
	daemon_start();
	fm = h_flood_start(W.sock, 0, 0, junk, sizeof(junk) - 1, FLOOD_JUNK_MIN,
			   FLOOD_JUNK_MAX);
	ff = h_flood_start(W.sock, uid, gid, forged, sizeof(forged) - 1,
			   FLOOD_JUNK_MIN, FLOOD_JUNK_MAX);
	ck_assert(fm != NULL && ff != NULL);
	flood_valid(&c);
	/* a fresh login while the junk keeps coming */
	login("carol");
	flood_wait(&fs, "carol", false);
	at_probe = h_flood_sent(fm) + h_flood_sent(ff);
	nm = h_flood_finish(fm, WAIT_MS);
	nf = h_flood_finish(ff, WAIT_MS);
	ck_assert(nm >= FLOOD_JUNK_MIN && nf >= FLOOD_JUNK_MIN);
	ck_assert_msg(at_probe < nm + nf,
		      "the junk had stopped before carol was provisioned");
	/* everything sent before dave is read once dave is provisioned */
	login("dave");
	flood_wait(&fs, "dave", false);
	flood_wait(&fs, NULL, true);
	flood_report(&c, nm, nf, at_probe, fs.rss_max);
	ck_assert_int_ge(nm + nf + FLOOD_VALID + 2, 100000);
	ck_assert_int_eq(h_emu_people(g_emu), FLOOD_VALID + 2);
	ck_assert_int_eq(h_emu_named(g_emu, "alice"), 0);
	assert_queue_clean();
	daemon_stop();
	/* forged ones past nobody's rate limit are dropped before the
	 * sender check, so each is either forged or rate_limited */
	ck_assert_int_eq(h_metric(W.state, "events_forged_total") +
				 h_metric(W.state, "events_dropped_total{"
						   "reason=\"rate_limited\"}"),
			 nf);
	ck_assert_int_eq(h_metric(W.state, "events_dropped_total{reason="
					   "\"malformed\"}"),
			 nm);
	ck_assert_int_lt(fs.rss_max, H_ASAN_OR(FLOOD_RSS_ASAN, FLOOD_RSS_KIB));
}

END_TEST

/* ---- 11. through the PAM stack --------------------------------------- */

/* pam.d/ftsync in W.dir: pam_ftrack pointing at this world. */
static void
pam_setup(char *confdir, size_t cap)
{
	char args[PATH_MAX * 2];

	fmt_check(snprintf(confdir, cap, "%s/pam.d", W.dir), cap);
	ck_assert_int_eq(mkdir(confdir, 0700), 0);
	FMT(args, "socket=%s spool=%s/queue daemon_user=root", W.sock, W.state);
	ck_assert_int_eq(h_pam_service(confdir, "ftsync", PAM_MODULE, args),
			 FT_OK);
}

/* One session of user through pam.d/ftsync; the pam_open_session code. */
static int
pam_session(const char *confdir, const char *user)
{
	const struct h_pam_login l = {user, "10.1.2.3", "ssh", NULL};

	return h_pam_session(confdir, "ftsync", &l, NULL);
}

static void
assert_spooled(const char *user)
{
	char path[PATH_MAX], *text;
	struct ft_event ev;
	size_t len = 0;

	ck_assert_int_eq(h_queue_path(W.state, user, path, sizeof(path)),
			 FT_OK);
	text = h_read_file(path, &len);
	ck_assert_msg(text != NULL, "no spool file for '%s'", user);
	ck_assert_int_eq(ft_event_decode(text, len, &ev), FT_OK);
	ck_assert_str_eq(ev.user, user);
	free(text);
}

START_TEST(test_pam_end_to_end)
{
	char confdir[PATH_MAX];
	int st = 0;

	config(NULL);
	daemon_start(); /* also creates state/queue, the module's spool */
	pam_setup(confdir, sizeof(confdir));
	ck_assert_int_eq(pam_session(confdir, "alice"), PAM_SUCCESS);
	wait_provisioned("alice");
	assert_once("alice");
	/* the daemon stopped: the module spools, the next start provisions */
	daemon_stop();
	ck_assert_int_eq(pam_session(confdir, "bob"), PAM_SUCCESS);
	assert_spooled("bob");
	ck_assert_int_eq(h_emu_named(g_emu, "bob"), 0);
	daemon_start();
	wait_provisioned("bob");
	/* the daemon killed (a stale socket): the same */
	ck_assert_int_eq(h_proc_signal(W.d, SIGKILL), FT_OK);
	ck_assert_int_eq(h_proc_wait(W.d, WAIT_MS, &st), FT_OK);
	h_proc_stop(W.d);
	W.d = NULL;
	ck_assert_int_eq(pam_session(confdir, "carol"), PAM_SUCCESS);
	assert_spooled("carol");
	daemon_start();
	wait_provisioned("carol");
	/* a spool file written while it runs is seen at once (inotify) */
	ck_assert_int_eq(h_spool(W.state, "dave"), FT_OK);
	wait_provisioned("dave");
	ck_assert_int_eq(h_emu_people(g_emu), 4);
	assert_queue_clean();
	daemon_stop();
}

END_TEST

/* ---- 12. check ------------------------------------------------------- */

/* The 1-based number of the line of the file that holds text, or 0. */
static int
line_of(const char *path, const char *text)
{
	char *buf = h_read_file(path, NULL), *p;
	int line = 1;

	ck_assert_ptr_nonnull(buf);
	p = strstr(buf, text);
	if (p == NULL) {
		free(buf);
		return 0;
	}
	for (const char *q = buf; q < p; q++)
		line += *q == '\n';
	free(buf);
	return line;
}

START_TEST(test_check)
{
	static const char *const args[] = {"check", NULL};
	char path[PATH_MAX], where[PATH_MAX + 16];
	int line;

	config(NULL);
	ck_assert_int_eq(run_cmd(args, "check-ok.out"), 0);
	/* a wrong API key */
	FMT(path, "%s/ftrack.secret", W.dir);
	ck_assert_int_eq(h_write_file(path, "wrong-key", 0600), FT_OK);
	ck_assert_int_eq(run_cmd(args, "check-key.out"), 1);
	ck_assert_int_ge(out_count("check-key.out", "ftrack:  FAILED"), 1);
	/* a wrong LDAP password */
	config(NULL);
	FMT(path, "%s/ldap.secret", W.dir);
	ck_assert_int_eq(h_write_file(path, "wrong-password", 0600), FT_OK);
	ck_assert_int_eq(run_cmd(args, "check-ldap.out"), 1);
	ck_assert_int_ge(out_count("check-ldap.out", "ldap:    FAILED"), 1);
	/* a bad line: exit 2 and file:line: on stderr */
	config("ldap.no_such_key = 1\n");
	line = line_of(W.conf, "no_such_key");
	ck_assert_int_gt(line, 0);
	ck_assert_int_eq(run_cmd(args, "check-bad.out"), 2);
	FMT(where, "%s:%d:", W.conf, line);
	ck_assert_int_ge(out_count("check-bad.out", where), 1);
}

END_TEST

/* ---- 13. SIGHUP ------------------------------------------------------ */

START_TEST(test_sighup)
{
	char reloaded[] = "reloaded";
	struct emu_mention m = {0, "alice"};
	char where[PATH_MAX + 16];
	int line;

	config(NULL);
	daemon_start();
	login("alice");
	wait_provisioned("alice");
	/* a broken config: logged, the old one kept */
	config("nosuchsection.key = 1\n");
	line = line_of(W.conf, "[nosuchsection]");
	ck_assert_int_gt(line, 0);
	FMT(where, "%s:%d:", W.conf, line);
	ck_assert_int_eq(h_proc_signal(W.d, SIGHUP), FT_OK);
	wait_or_fail(log_has, where, "the reload error in the log");
	ck_assert(!daemon_exited());
	login("bob");
	wait_provisioned("bob");
	/* a good one takes effect: login_cooldown 0 checks alice again */
	config("policy.login_cooldown = 0\n");
	ck_assert_int_eq(h_proc_signal(W.d, SIGHUP), FT_OK);
	wait_or_fail(log_has, reloaded, "the reload");
	m.since = emu_seq();
	login("alice");
	wait_or_fail(emu_mentions, &m, "an update check of alice");
	wait_or_fail(queue_empty, NULL, "the queue to empty");
	assert_once("alice");
	assert_once("bob");
	assert_queue_clean();
	daemon_stop();
}

END_TEST

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
	FMT(path, "%s/queue/failed/%s", W.state, hex);
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
	return h_queue_count(W.state, "queue") == 0 &&
	       h_queue_count(W.state, "queue/failed") == 2;
}

START_TEST(test_unmappable_data)
{
	static const char *const sync[] = {"sync", "hugesn", "badaudio", NULL};
	static const char *const status[] = {"status", NULL};

	config("mapping.first_name = audio\n");
	daemon_start();
	login("hugesn");
	login("badaudio");
	login("bob"); /* barrier */
	wait_provisioned("bob");
	wait_or_fail(two_failed, NULL, "two files in queue/failed/");
	ck_assert_int_eq(h_emu_named(g_emu, "hugesn"), 0);
	ck_assert_int_eq(h_emu_named(g_emu, "badaudio"), 0);
	ck_assert_int_eq(h_emu_people(g_emu), 1);
	assert_failed_file("hugesn", "uid=hugesn,ou=people", "'sn'");
	assert_failed_file("badaudio", "uid=badaudio,ou=people", "'audio'");
	ck_assert_int_eq(h_file_count(W.log, "failed 'hugesn'"), 1);
	daemon_stop();
	ck_assert_int_eq(run_cmd(status, "status.out"), 0);
	ck_assert_int_eq(out_count("status.out", "0 waiting, 2 failed"), 1);
	/* `sync` says why, and exits 1 */
	ck_assert_int_eq(run_cmd(sync, "sync.out"), 1);
	ck_assert_int_eq(out_count("sync.out", "hugesn: failed: "), 1);
	ck_assert_int_eq(out_count("sync.out", "badaudio: failed: "), 1);
	ck_assert_int_eq(out_count("sync.out", "uid=badaudio,ou=people"), 1);
	ck_assert_int_eq(h_emu_people(g_emu), 1);
}

END_TEST

/* ---- the suite ------------------------------------------------------- */

Suite *
cmd_run_suite(void)
{
	Suite *s = suite_create("cmd_run");
	TCase *tc = tcase_create("cmd_run");

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, servers_setup, servers_teardown);
	tcase_add_checked_fixture(tc, world_setup, world_teardown);
	tcase_add_test(tc, test_login_creates);
	tcase_add_test(tc, test_login_multi_valued);
	tcase_add_test(tc, test_cooldown);
	tcase_add_test(tc, test_cooldown_zero);
	tcase_add_test(tc, test_ldap_change_sync);
	tcase_add_test(tc, test_not_ldap_users);
	tcase_add_test(tc, test_metacharacters);
	tcase_add_test(tc, test_ldap_down);
	tcase_add_test(tc, test_ftrack_faults);
	tcase_add_test(tc, test_sigkill_mid_batch);
	tcase_add_test(tc, test_sigterm_mid_batch);
	tcase_add_test(tc, test_forged_and_malformed);
	tcase_add_test(tc, test_flood);
	tcase_add_test(tc, test_pam_end_to_end);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_sighup);
	tcase_add_test(tc, test_unmappable_data);
	suite_add_tcase(s, tc);
	return s;
}
