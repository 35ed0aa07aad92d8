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
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"
#include "harness.h"

Suite *faults_suite(void);

#define WAIT_MS  30000u /* bound of every wait */
#define UUID_KEY "ftrack_syncd.uuid"
#define GONE_KEY "ftrack_syncd.deactivated"
#define DRY_RUN  "reconcile"
#define APPLY    "reconcile --apply"

/* Every row's config starts with these lines (then the row's own). */
#define BASE_CONFIG                                                            \
	"ldap.timeout = 2\nftrack.timeout = 2\n"                               \
	"policy.reconcile_interval = 0\n"

/* Provisioned (`sync`) before each row; the rows delete some from LDAP. */
static const char *const seeded[] = {"alice", "bob",   "carol", "dave",
				     "erin",  "frank", "joerg", "multi"};
#define NSEEDED (sizeof(seeded) / sizeof(seeded[0]))

/* In LDAP, enabled, not seeded: what the rows log in or create. */
static const char *const unseeded[] = {"zoe",  "yamada", "nomail",
				       "star", "starx",  "st*r(x)\\5c"};
#define NUNSEEDED (sizeof(unseeded) / sizeof(unseeded[0]))

#define MAX_NAMES 16

/* The world of one row (each test runs in its own fork). */
static struct {
	char *dir; /* h_tmpdir: config, secrets, state/, logs, outputs */
	char state[PATH_MAX];
	char sock[PATH_MAX];
	char log[PATH_MAX];
	const char *extra; /* this row's config lines (static text) */
	struct h_slapd *slapd;
	struct h_emu *emu;
	char *conf;
	struct h_proc *d;
	struct h_relay *relay;
	const char *fresh[MAX_NAMES]; /* must end in ftrack once */
	size_t nfresh;
	const char *gone[MAX_NAMES]; /* deleted from LDAP */
	size_t ngone;
	bool gone_done;       /* a completed reconcile deactivated them */
	const char *seatless; /* created without a seat (seat cap) */
	const char *skipped;  /* why the row could not run here */
	unsigned nrun;        /* commands run (names their outputs) */
} W;

/* ---- fixture: one suite folder, removed whatever happens --------------- */

static char *suite_dir;
static char *saved_tmpdir;

static void
suite_setup(void)
{
	const char *t = getenv("TMPDIR");

	saved_tmpdir = t != NULL ? strdup(t) : NULL;
	suite_dir = h_tmpdir();
	if (suite_dir != NULL)
		(void)setenv("TMPDIR", suite_dir, 1);
}

static void
suite_teardown(void)
{
	if (saved_tmpdir != NULL)
		(void)setenv("TMPDIR", saved_tmpdir, 1);
	else
		(void)unsetenv("TMPDIR");
	h_rmtree(suite_dir);
	free(suite_dir);
	free(saved_tmpdir);
	suite_dir = saved_tmpdir = NULL;
}

static void
world_setup(void)
{
	ck_assert_msg(suite_dir != NULL, "no suite folder");
	memset(&W, 0, sizeof(W));
}

static void
world_teardown(void)
{
	h_proc_stop(W.d);
	h_relay_stop(W.relay);
	h_emu_stop(W.emu);
	h_slapd_stop(W.slapd);
	free(W.conf);
	/* a tmpfs over state/ lives in this process's own mount namespace */
	if (W.dir != NULL)
		(void)umount2(W.state, MNT_DETACH);
	h_rmtree(W.dir);
	free(W.dir);
	memset(&W, 0, sizeof(W));
}

/* ---- small helpers that assert -------------------------------------------- */

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	(void)nanosleep(&ts, NULL);
}

static double
now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
wait_or_fail(bool (*cond)(void *), void *arg, const char *what)
{
	if (h_wait_until(cond, arg, WAIT_MS))
		return;
	h_show_tail(W.log);
	if (W.emu != NULL) {
		char emu_log[PATH_MAX];

		h_fx_fmt(emu_log, sizeof(emu_log), "%s/emulator.log",
			 h_emu_dir(W.emu));
		h_show_tail(emu_log);
	}
	ck_abort_msg("timed out after %u ms waiting for %s", WAIT_MS, what);
}

/* A borrowed string as the argument of a wait condition (not written). */
static void *
arg_of(const char *s)
{
	void *v;

	memcpy(&v, &s, sizeof(v));
	return v;
}

static bool
in_list(const char *const *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return false;
}

/* FAULTS_ONLY=text: run only the rows and bounds whose name holds text. */
static bool
skipped_by_env(const char *name)
{
	const char *only = getenv("FAULTS_ONLY");

	return only != NULL && strstr(name, only) == NULL;
}

/*
 * Append one line "kind|field|field|...\n" to the file named by
 * $FAULT_MATRIX_OUT (nothing when it is unset or empty), in one write.
 * A field must not hold '|' or a line break.  Returns FT_OK, FT_E_INVAL
 * (a bad field) or FT_E_IO.
 */
static int
matrix_line(const char *kind, const char *const fields[], size_t n)
{
	const char *out = getenv("FAULT_MATRIX_OUT");
	char line[4096];
	size_t len, i;
	int fd, r = FT_OK;

	if (out == NULL || out[0] == '\0')
		return FT_OK;
	len = (size_t)snprintf(line, sizeof(line), "%s", kind);
	for (i = 0; i < n && len < sizeof(line); i++) {
		if (strpbrk(fields[i], "|\r\n") != NULL)
			return FT_E_INVAL;
		len += (size_t)snprintf(line + len, sizeof(line) - len, "|%s",
					fields[i]);
	}
	if (len + 1 >= sizeof(line))
		return FT_E_INVAL;
	line[len++] = '\n';
	fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return FT_E_IO;
	if (!h_write_all(fd, line, len))
		r = FT_E_IO;
	if (close(fd) < 0)
		r = FT_E_IO;
	return r;
}

/* ---- the world ------------------------------------------------------------ */

/* Write the config: BASE_CONFIG, the row's lines, then more. */
static void
config(const char *more)
{
	char text[4096];

	h_fx_fmt(text, sizeof(text), "%s%s%s", BASE_CONFIG,
		 W.extra != NULL ? W.extra : "", more != NULL ? more : "");
	free(W.conf);
	W.conf = h_write_config(W.dir, W.slapd, W.emu, text);
	ck_assert_ptr_nonnull(W.conf);
}

static bool
exited(void)
{
	return h_proc_wait(W.d, 0, NULL) != FT_E_AGAIN;
}

/* Run `ftrack-syncd -c CONF words...`; its output goes to DIR/cmd-N.out,
 * whose path lands in out (PATH_MAX).  Returns the exit code. */
static int
cmd(const char *words, char *out)
{
	char buf[512], *save = NULL, *w;
	const char *args[16];
	size_t n = 0;
	int st = 0;

	h_fx_fmt(buf, sizeof(buf), "%s", words);
	for (w = strtok_r(buf, " ", &save); w != NULL && n < 15;
	     w = strtok_r(NULL, " ", &save))
		args[n++] = w;
	args[n] = NULL;
	h_fx_fmt(out, PATH_MAX, "%s/cmd-%u.out", W.dir, ++W.nrun);
	ck_assert_int_eq(h_daemon_run(W.conf, args, out, WAIT_MS, &st), FT_OK);
	if (h_san_file(out)) {
		h_show_tail(out);
		ck_abort_msg("sanitizer report from '%s'", words);
	}
	ck_assert_msg(WIFEXITED(st), "'%s': wait status 0x%x", words, st);
	return WEXITSTATUS(st);
}

/* cmd() that must exit with code. */
static void
expect_cmd(const char *words, int code)
{
	char out[PATH_MAX];
	int got = cmd(words, out);

	if (got != code)
		h_show_tail(out);
	ck_assert_msg(got == code, "'%s' exited %d, expected %d", words, got,
		      code);
}

/* cmd() that must exit with code and say text (stdout or stderr). */
static void
expect_cmd_says(const char *words, int code, const char *text)
{
	char out[PATH_MAX];
	int got = cmd(words, out);

	if (got != code || h_file_count(out, text) < 1)
		h_show_tail(out);
	ck_assert_msg(got == code, "'%s' exited %d, expected %d", words, got,
		      code);
	ck_assert_msg(h_file_count(out, text) >= 1, "'%s' did not say '%s'",
		      words, text);
}

/* Provision the seeded people with `sync`. */
static void
seed(void)
{
	char words[256] = "sync";
	size_t i, len = strlen(words);

	for (i = 0; i < NSEEDED; i++)
		len += (size_t)snprintf(words + len, sizeof(words) - len, " %s",
					seeded[i]);
	ck_assert_uint_lt(len, sizeof(words));
	expect_cmd(words, 0);
}

/* A world: slapd (sizelimit as h_slapd_start), emulator, config with
 * the row's lines extra, the seeded people in ftrack. */
static void
world_up(unsigned sizelimit, const char *extra)
{
	W.dir = h_tmpdir();
	ck_assert_ptr_nonnull(W.dir);
	h_fx_fmt(W.state, sizeof(W.state), "%s/state", W.dir);
	h_fx_fmt(W.sock, sizeof(W.sock), "%s/notify.sock", W.dir);
	h_fx_fmt(W.log, sizeof(W.log), "%s/daemon.log", W.dir);
	W.extra = extra;
	W.slapd = h_slapd_start(H_LDIF_PEOPLE, sizelimit);
	ck_assert_msg(W.slapd != NULL, "slapd did not start");
	W.emu = h_emu_start(NULL);
	ck_assert_msg(W.emu != NULL, "the emulator did not start");
	config(NULL);
	seed();
}

/* ---- the daemon ----------------------------------------------------------- */

static bool
daemon_ready(void *arg)
{
	int fd;

	(void)arg;
	if (exited())
		return true;
	fd = h_sender_open(W.sock);
	if (fd < 0)
		return false;
	(void)close(fd);
	return true;
}

static void
daemon_start(void)
{
	W.d = h_daemon_start(W.conf, W.log);
	ck_assert_ptr_nonnull(W.d);
	(void)h_wait_until(daemon_ready, NULL, WAIT_MS);
	if (exited()) {
		h_show_tail(W.log);
		ck_abort_msg("ftrack-syncd exited at start");
	}
	ck_assert_msg(daemon_ready(NULL), "ftrack-syncd does not listen");
}

/* SIGTERM: exit 0 within WAIT_MS, and no sanitizer report. */
static void
daemon_stop(void)
{
	int st = 0, r;

	ck_assert_int_eq(h_proc_signal(W.d, SIGTERM), FT_OK);
	r = h_proc_wait(W.d, WAIT_MS, &st);
	h_proc_stop(W.d);
	W.d = NULL;
	if (h_san_file(W.log) || r != FT_OK || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		h_show_tail(W.log);
	ck_assert_msg(!h_san_file(W.log), "sanitizer report");
	ck_assert_msg(r == FT_OK, "ftrack-syncd did not stop on SIGTERM");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "ftrack-syncd: wait status 0x%x after SIGTERM", st);
}

/* SIGKILL, reaped. */
static void
daemon_kill(void)
{
	int st = 0;

	ck_assert_int_eq(h_proc_signal(W.d, SIGKILL), FT_OK);
	ck_assert_int_eq(h_proc_wait(W.d, WAIT_MS, &st), FT_OK);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	h_proc_stop(W.d);
	W.d = NULL;
	ck_assert_msg(!h_san_file(W.log), "sanitizer report");
}

static void
daemon_signal(int sig)
{
	ck_assert_int_eq(h_proc_signal(W.d, sig), FT_OK);
}

/* A login of user through the socket, as root; user must end in ftrack. */
static void
login(const char *user)
{
	int r = h_login(W.sock, user);

	ck_assert_msg(r == FT_OK, "unable to send the login of '%s': %s", user,
		      r == FT_E_IO ? strerror(errno) : ft_strerror(r));
	if (!in_list(W.fresh, W.nfresh, user) &&
	    !in_list(seeded, NSEEDED, user)) {
		ck_assert_uint_lt(W.nfresh, MAX_NAMES);
		W.fresh[W.nfresh++] = user;
	}
}

/* ---- conditions to wait for ---------------------------------------------- */

/* arg: a user.  In ftrack, and its queue file gone. */
static bool
provisioned(void *arg)
{
	return !h_queued(W.state, arg) && h_emu_named(W.emu, arg) >= 1;
}

static void
wait_provisioned(const char *user)
{
	char what[256];

	h_fx_fmt(what, sizeof(what), "'%s' to be provisioned", user);
	wait_or_fail(provisioned, arg_of(user), what);
}

/* arg: a user.  In ftrack (its queue file may stay). */
static bool
in_ftrack(void *arg)
{
	return h_emu_named(W.emu, arg) >= 1;
}

/* arg: text expected in the daemon's log. */
static bool
log_has(void *arg)
{
	return h_file_count(W.log, arg) > 0;
}

static void
wait_log(const char *text)
{
	char what[512];

	h_fx_fmt(what, sizeof(what), "'%s' in the daemon's log", text);
	wait_or_fail(log_has, arg_of(text), what);
}

static bool
queue_empty(void *arg)
{
	(void)arg;
	return h_queue_count(W.state, "queue") == 0;
}

/* arg: a user.  Journaled in queue/. */
static bool
queued(void *arg)
{
	return h_queued(W.state, arg);
}

/* No emulator fault is waiting to be taken. */
static bool
faults_taken(void *arg)
{
	(void)arg;
	return h_emu_stat(W.emu, "faults_pending") == 0;
}

/* arg: long long *: the emulator answered at least that many requests. */
static bool
requests_at_least(void *arg)
{
	return h_emu_stat(W.emu, "requests") >= *(const long long *)arg;
}

/* arg: int *: a request waits unread in the socket of that port. */
static bool
unread_at(void *arg)
{
	return h_tcp_unread(*(const int *)arg) == 1;
}

/* The user is journaled and not in ftrack (yet). */
static void
assert_waiting(const char *user)
{
	ck_assert_msg(h_queued(W.state, user), "'%s' is not in queue/", user);
	ck_assert_int_eq(h_emu_named(W.emu, user), 0);
}

/* ---- the emulator ---------------------------------------------------------- */

static void
emu_post(const char *path, const char *body)
{
	json_t *r = h_emu_post(W.emu, path, body);

	ck_assert_msg(r != NULL, "POST %s %s refused", path, body);
	json_decref(r);
}

static void
emu_fault(const char *spec)
{
	emu_post("/_emulator/fault", spec);
}

static void
emu_config(const char *spec)
{
	emu_post("/_emulator/config", spec);
}

/* Requests the emulator answered so far. */
static long long
emu_requests(void)
{
	long long n = h_emu_stat(W.emu, "requests");

	ck_assert_int_ge(n, 0);
	return n;
}

/* The seq of the last request logged so far. */
static long long
emu_last_seq(void)
{
	long long seq = -1;
	char *log = h_emu_log(W.emu, 0, &seq);

	ck_assert_ptr_nonnull(log);
	free(log);
	return seq;
}

/* Requests of a dry run (which must exit 4: the rows plan changes). */
static long long
dry_run_requests(void)
{
	long long before = emu_requests();

	expect_cmd(DRY_RUN, 4);
	return emu_requests() - before;
}

/* Wait until every fault was taken and n faulted requests were answered
 * (a delayed one is logged once it is done). */
static void
wait_faults_done(long n)
{
	unsigned i;

	wait_or_fail(faults_taken, NULL, "every fault to be taken");
	for (i = 0; i < WAIT_MS / 10; i++) {
		char *log = h_emu_log(W.emu, 0, NULL);
		const char *p = log;
		long got = 0;

		while (p != NULL && (p = strstr(p, "\"fault\":true")) != NULL) {
			got++;
			p++;
		}
		free(log);
		if (got >= n)
			return;
		sleep_ms(10);
	}
	ck_abort_msg("fewer than %ld faulted requests answered", n);
}

/* The log of the requests after seq, sorted by arrival. */
static json_t *
log_by_arrival(long long seq)
{
	char path[64];
	json_t *log, *sorted;
	size_t i, j, n;

	h_fx_fmt(path, sizeof(path), "/_emulator/log?since=%lld", seq);
	log = h_emu_get(W.emu, path);
	ck_assert_ptr_nonnull(log);
	n = json_array_size(log);
	sorted = json_array();
	for (i = 0; i < n; i++) { /* insertion sort: a few dozen entries */
		json_t *e = json_array_get(log, i);
		double t = json_number_value(json_object_get(e, "time"));

		for (j = json_array_size(sorted); j > 0; j--)
			if (json_number_value(json_object_get(
				    json_array_get(sorted, j - 1), "time")) <=
			    t)
				break;
		ck_assert_int_eq(json_array_insert(sorted, j, e), 0);
	}
	json_decref(log);
	return sorted;
}

/* True when every operation of the logged request e was a query. */
static bool
only_queries(const json_t *e)
{
	const json_t *a;
	size_t i;

	if (json_array_size(json_object_get(e, "actions")) == 0)
		return false;
	json_array_foreach(json_object_get(e, "actions"), i, a)
	{
		if (strcmp(json_string_value(a), "query") != 0)
			return false;
	}
	return true;
}

/*
 * In the requests after seq, by arrival: the first two faulted ones have
 * exactly `reads` requests between them, each a query that went through:
 * so the second fault hit the write that follows the reads.
 */
static void
assert_fault_hit_write(long long seq, long long reads)
{
	json_t *log = log_by_arrival(seq), *e;
	long long first = -1, second = -1;
	size_t i;

	json_array_foreach(log, i, e)
	{
		if (!json_is_true(json_object_get(e, "fault")))
			continue;
		if (first < 0)
			first = (long long)i;
		else if (second < 0)
			second = (long long)i;
	}
	ck_assert_msg(first >= 0 && second == first + reads + 1,
		      "faulted requests at %lld and %lld, %lld reads apart",
		      first, second, reads);
	for (i = (size_t)first + 1; i < (size_t)second; i++)
		ck_assert_msg(only_queries(json_array_get(log, i)),
			      "request %zu between the faults is not a read",
			      i);
	json_decref(log);
}

/* arg: NULL.  W.slapd is stopped. */
static bool
slapd_stopped(void *arg)
{
	(void)arg;
	return h_pid_stopped(h_slapd_pid(W.slapd));
}

/* Freeze slapd (SIGSTOP) and wait until it is stopped. */
static void
slapd_freeze(void)
{
	ck_assert_int_eq(h_slapd_pause(W.slapd), FT_OK);
	wait_or_fail(slapd_stopped, NULL, "slapd to stop");
}

/* ---- LDAP ------------------------------------------------------------------- */

/* Delete person uid from LDAP: a leaver the reconcile may deactivate. */
static void
leaver(const char *uid)
{
	char ldif[256];

	h_fx_fmt(ldif, sizeof(ldif),
		 "dn: uid=%s,ou=people,dc=example,dc=com\nchangetype: delete\n",
		 uid);
	ck_assert_int_eq(h_slapd_modify(W.slapd, ldif), FT_OK);
	ck_assert_uint_lt(W.ngone, MAX_NAMES);
	W.gone[W.ngone++] = uid;
}

/* user's uuid marker equals the entryUUID of its LDAP entry. */
static void
assert_marker(const char *user)
{
	char *want, *got = NULL;

	/* NULL: no entry, or not exactly one entryUUID */
	want = h_ldap_entry_uuid(h_slapd_uri(W.slapd), user);
	ck_assert_msg(want != NULL, "'%s': not exactly one entryUUID", user);
	ck_assert_int_eq(h_emu_user_markers(W.emu, user, UUID_KEY, &got), 1);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
}

/* ---- reports ------------------------------------------------------------- */

/* state/reports/<name> parsed (caller decrefs), or NULL. */
static json_t *
report(const char *name)
{
	char path[PATH_MAX];
	json_error_t je;

	h_fx_fmt(path, sizeof(path), "%s/reports/%s", W.state, name);
	return json_load_file(path, 0, &je);
}

/* The last reconcile's result is `result`. */
static void
assert_result(const char *result)
{
	json_t *rep = report("last-reconcile.json");
	const char *got = json_string_value(json_object_get(rep, "result"));

	ck_assert_msg(got != NULL, "no result in last-reconcile.json");
	ck_assert_str_eq(got, result);
	json_decref(rep);
}

/* reconcile --apply held by ldap_complete: exit 3, nothing written. */
static void
expect_held(void)
{
	json_t *rep, *g;
	size_t i;
	bool failed = false;

	expect_cmd(APPLY, 3);
	assert_result("held");
	rep = report("held.json");
	ck_assert_msg(rep != NULL, "no held.json");
	json_array_foreach(json_object_get(rep, "guards"), i, g)
	{
		if (strcmp(json_string_value(json_object_get(g, "name")),
			   "ldap_complete") == 0)
			failed = json_is_false(json_object_get(g, "ok"));
	}
	json_decref(rep);
	ck_assert_msg(failed, "the guard ldap_complete did not hold the run");
}

/* reconcile --apply completed (exit 0): the leavers may now be gone. */
static void
expect_applied(void)
{
	expect_cmd(APPLY, 0);
	assert_result("applied");
	W.gone_done = true;
}

/* ---- the closing checks -------------------------------------------------- */

static bool
is_gone(const char *name)
{
	return in_list(W.gone, W.ngone, name);
}

/* The row of /_emulator/users named name (borrowed from users), or NULL. */
static json_t *
user_row(const json_t *users, const char *name)
{
	json_t *u;
	size_t i;

	json_array_foreach(users, i, u)
	{
		const char *n =
			json_string_value(json_object_get(u, "username"));

		if (n != NULL && strcmp(n, name) == 0)
			return u;
	}
	return NULL;
}

/* One person: once in ftrack, one uuid marker; active, or deactivated
 * with one marker when a completed reconcile saw them leave. */
static void
assert_person(const json_t *users, const char *name)
{
	const json_t *u = user_row(users, name);
	bool inactive_ok = W.seatless != NULL && !strcmp(name, W.seatless);
	bool left = is_gone(name) && W.gone_done;

	ck_assert_msg(u != NULL, "'%s' is not in ftrack: lost", name);
	ck_assert_int_eq(h_emu_user_markers(W.emu, name, UUID_KEY, NULL), 1);
	if (!is_gone(name))
		assert_marker(name);
	if (!inactive_ok)
		ck_assert_msg(json_is_true(json_object_get(u, "is_active")) ==
				      !left,
			      "'%s' is %s", name, left ? "active" : "inactive");
	ck_assert_msg(h_emu_user_markers(W.emu, name, GONE_KEY, NULL) ==
			      (left ? 1 : 0),
		      "'%s': wrong deactivated markers", name);
	ck_assert_msg(!h_queued(W.state, name), "'%s' is still queued", name);
}

/* Nobody but the leavers inactive or marked; no user twice. */
static void
assert_nobody_else(void)
{
	json_t *users = h_emu_get(W.emu, "/_emulator/users"), *u, *meta;
	long inactive = 0, marks = 0, want;
	size_t i, j;

	ck_assert_ptr_nonnull(users);
	json_array_foreach(users, i, u)
	{
		const char *name =
			json_string_value(json_object_get(u, "username"));

		inactive += !json_is_true(json_object_get(u, "is_active"));
		for (j = 0; j < i; j++)
			ck_assert_msg(strcmp(json_string_value(json_object_get(
						     json_array_get(users, j),
						     "username")),
					     name) != 0,
				      "'%s' twice in ftrack", name);
	}
	json_decref(users);
	meta = h_emu_get(W.emu, "/_emulator/metadata");
	ck_assert_ptr_nonnull(meta);
	json_array_foreach(meta, i, u)
	{
		marks += strcmp(json_string_value(json_object_get(u, "key")),
				GONE_KEY) == 0;
	}
	json_decref(meta);
	want = W.gone_done ? (long)W.ngone : 0;
	ck_assert_msg(marks == want, "%ld deactivated markers, expected %ld",
		      marks, want);
	ck_assert_msg(inactive == want + (W.seatless != NULL),
		      "%ld inactive users, expected %ld", inactive,
		      want + (W.seatless != NULL));
}

/* Nothing lost, nobody wrongly deactivated. */
static void
assert_outcome(void)
{
	json_t *users;
	size_t i;

	if (W.d != NULL)
		daemon_stop();
	assert_nobody_else(); /* nobody twice */
	users = h_emu_get(W.emu, "/_emulator/users");
	ck_assert_ptr_nonnull(users);
	for (i = 0; i < NSEEDED; i++)
		assert_person(users, seeded[i]);
	for (i = 0; i < W.nfresh; i++)
		assert_person(users, W.fresh[i]);
	json_decref(users);
	ck_assert_int_eq(h_queue_count(W.state, "queue"), 0);
	ck_assert_int_eq(h_queue_count(W.state, "queue/failed"), 0);
}

/* ---- a private tmpfs over state/ ----------------------------------------- */

/*
 * Mount a tmpfs of size over W.state in a private mount namespace of this
 * test's process (its children, the daemon included, see it).  False
 * (with the reason in W.skipped) where that is not allowed.
 */
static bool
state_on_tmpfs(const char *size)
{
	char opts[64];

	h_fx_fmt(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		W.skipped = "not run: no private mount namespace here";
		return false;
	}
	if (mount("tmpfs", W.state, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		W.skipped = "not run: a tmpfs cannot be mounted here";
		return false;
	}
	return true;
}

/* Fill the file system of path until ENOSPC. */
static void
fill_up(const char *path)
{
	static char block[65536];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t chunk = sizeof(block);

	ck_assert_int_ge(fd, 0);
	for (;;) {
		ssize_t n = write(fd, block, chunk);

		if (n < 0 && errno == ENOSPC && chunk > 1) {
			chunk = 1;
			continue;
		}
		if (n < 0)
			break;
	}
	ck_assert_int_eq(errno, ENOSPC);
	(void)close(fd);
}

/* ---- rows: LDAP ------------------------------------------------------------ */

/* The daemon is connected to LDAP (zoe provisioned) and dave has left. */
static void
connected_daemon(void)
{
	leaver("dave");
	daemon_start();
	login("zoe");
	wait_provisioned("zoe");
}

static void
row_ldap_down(void)
{
	world_up(0, NULL);
	connected_daemon();
	h_slapd_down(W.slapd);
	login("yamada");
	wait_log("retry 'yamada'");
	assert_waiting("yamada");
	expect_held();
	ck_assert_int_eq(h_slapd_restart(W.slapd), FT_OK);
	wait_provisioned("yamada");
	expect_applied();
}

static void
row_ldap_slow(void)
{
	double t0;

	world_up(0, "ldap.timeout = 1\n");
	connected_daemon();
	slapd_freeze();
	login("yamada");
	wait_log("retry 'yamada'");
	assert_waiting("yamada");
	t0 = now_s();
	expect_held();
	ck_assert_msg(now_s() - t0 < 20.0, "the held run took %.1f s",
		      now_s() - t0);
	ck_assert_int_eq(h_slapd_resume(W.slapd), FT_OK);
	wait_provisioned("yamada");
	expect_applied();
}

static void
row_ldap_failover(void)
{
	char extra[512];
	int closed = h_free_port();

	ck_assert_int_gt(closed, 0);
	world_up(0, NULL);
	h_fx_fmt(extra, sizeof(extra), "ldap.uri = ldap://127.0.0.1:%d %s\n",
		 closed, h_slapd_uri(W.slapd));
	config(extra);
	connected_daemon();
	login("yamada");
	wait_provisioned("yamada");
	expect_applied();
}

/* The last report's LDAP error holds text. */
static void
assert_ldap_error(const char *text)
{
	json_t *rep = report("last-reconcile.json");
	const char *err = json_string_value(
		json_object_get(json_object_get(rep, "ldap"), "error"));

	ck_assert_msg(err != NULL && strstr(err, text) != NULL, "ldap: %s",
		      err != NULL ? err : "(no error)");
	json_decref(rep);
}

static void
row_ldap_sizelimit(void)
{
	world_up(3, NULL); /* the sync account gets 3 entries at most */
	connected_daemon();
	expect_held();
	assert_ldap_error("limit");
}

static void
row_ldap_referral(void)
{
	world_up(0, NULL);
	ck_assert_int_eq(h_slapd_modify(W.slapd,
					"dn: ou=elsewhere,ou=people,"
					"dc=example,dc=com\n"
					"changetype: add\n"
					"objectClass: referral\n"
					"objectClass: extensibleObject\n"
					"ou: elsewhere\n"
					"ref: ldap://127.0.0.1:1/"
					"ou=elsewhere,dc=example,dc=com\n"),
			 FT_OK);
	connected_daemon();
	expect_held();
	assert_ldap_error("reference");
}

static void
row_ldap_garbage(void)
{
	char extra[128];

	world_up(0, NULL);
	W.relay = h_relay_start(H_RELAY_JUNK, 0);
	ck_assert_ptr_nonnull(W.relay);
	h_fx_fmt(extra, sizeof(extra), "ldap.uri = ldap://127.0.0.1:%d\n",
		 h_relay_port(W.relay));
	config(extra);
	leaver("dave");
	daemon_start();
	login("zoe");
	wait_log("retry 'zoe'");
	assert_waiting("zoe");
	expect_held();
	ck_assert_int_ge(h_relay_accepted(W.relay), 2);
	config(NULL); /* LDAP again: the login waiting is provisioned */
	daemon_signal(SIGHUP);
	wait_log("configuration reloaded");
	wait_provisioned("zoe");
	expect_applied();
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
static void
http_row(const char *spec, bool transient, const char *extra)
{
	char faults[512];
	long long reads, seq;

	world_up(0, extra);
	leaver("dave");
	daemon_start();
	h_fx_fmt(faults, sizeof(faults),
		 "[{\"count\": 1, %s}, {\"skip\": 1, \"count\": 1, %s}]", spec,
		 spec);
	emu_fault(faults);
	login("zoe");
	wait_provisioned("zoe");
	wait_faults_done(2);
	assert_fault_hit_write(0, 1); /* one look-up, then the write */
	reads = dry_run_requests();
	seq = emu_last_seq();
	h_fx_fmt(faults, sizeof(faults),
		 "[{\"count\": 1, %s}, {\"skip\": %lld, \"count\": 1, %s}]",
		 spec, reads, spec);
	emu_fault(faults);
	if (!transient) {
		expect_cmd(APPLY, 1);
		assert_result("failed"); /* the listing failed */
		expect_cmd(APPLY, 1);
		assert_result("errors"); /* the write failed */
	}
	expect_applied();
	wait_faults_done(4);
	assert_fault_hit_write(seq, reads);
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
	st = h_emu_get(W.emu, "/_emulator/stats");
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

/* Start `reconcile --apply` in the background (output to DIR/bg.out). */
static struct h_proc *
reconcile_bg(void)
{
	static const char bin[] = H_DAEMON_BIN;
	const char *argv[] = {bin, "-c", W.conf, "reconcile", "--apply", NULL};
	char out[PATH_MAX];
	struct h_proc *p;

	h_fx_fmt(out, sizeof(out), "%s/bg-%u.out", W.dir, ++W.nrun);
	p = h_proc_start(argv, out);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Wait for a background command; returns its raw wait status. */
static int
bg_finish(struct h_proc *p)
{
	int st = 0;

	ck_assert_int_eq(h_proc_wait(p, WAIT_MS, &st), FT_OK);
	h_proc_stop(p);
	return st;
}

static void
row_auth_revoked(void)
{
	char path[PATH_MAX];
	long long reads, target;
	struct h_proc *bg;
	int st;

	world_up(0, NULL);
	leaver("dave");
	/* the reconcile: the key is revoked after its reads, before its
	 * write authenticates (the emulator waits 1.5 s before it checks) */
	reads = dry_run_requests();
	emu_config("{\"latency_ms\": 1500}");
	target = emu_requests() + reads;
	bg = reconcile_bg();
	wait_or_fail(requests_at_least, &target, "the reconcile's reads");
	emu_config("{\"personal_keys\": {\"" H_EMU_USER "\": null}}");
	st = bg_finish(bg);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status 0x%x", st);
	assert_result("errors");
	ck_assert_int_ge(h_emu_stat(W.emu, "requests"), target + 1);
	/* logins while revoked wait */
	emu_config("{\"latency_ms\": 0}");
	daemon_start();
	login("zoe");
	wait_log("retry 'zoe': InvalidCredentialsError");
	assert_waiting("zoe");
	/* a new key: the key file rewritten and a reload */
	emu_config("{\"personal_keys\": {\"" H_EMU_USER "\": \"new-key\"}}");
	h_fx_fmt(path, sizeof(path), "%s/ftrack.secret", W.dir);
	ck_assert_int_eq(h_write_file(path, "new-key", 0600), FT_OK);
	daemon_signal(SIGHUP);
	wait_log("configuration reloaded");
	wait_provisioned("zoe");
	expect_applied();
}

static void
row_seat_cap(void)
{
	char spec[64];
	json_t *u;

	world_up(0, "policy.login_cooldown = 0\n");
	daemon_start();
	/* every seat taken: the API user and the seeded people */
	h_fx_fmt(spec, sizeof(spec), "{\"seat_cap\": %zu}", NSEEDED + 1);
	emu_config(spec);
	login("zoe");
	wait_provisioned("zoe");
	W.seatless = "zoe";
	wait_log("created 'zoe'");
	u = h_emu_user(W.emu, "zoe");
	ck_assert_ptr_nonnull(u);
	ck_assert_msg(json_is_false(json_object_get(u, "is_active")),
		      "zoe got a seat past the cap");
	json_decref(u);
	/* a seat free again: the next login does not take it */
	emu_config("{\"seat_cap\": null}");
	login("zoe");
	wait_log("skipped 'zoe'");
	/* the reconcile leaves everyone as they are */
	expect_cmd(APPLY, 0);
	assert_result("applied");
}

/* ---- rows: SIGKILL ---------------------------------------------------------- */

/* Killed with zoe journaled, the worker still busy with yamada. */
static void
row_kill_queued(void)
{
	long long answered;

	world_up(0, "ftrack.timeout = 10\n");
	daemon_start();
	emu_fault("{\"count\": 1, \"delay_ms\": 4000}");
	login("yamada"); /* its ftrack look-up is held 4 s */
	wait_or_fail(faults_taken, NULL, "yamada's look-up to reach ftrack");
	answered = emu_requests();
	login("zoe");
	wait_or_fail(queued, arg_of("zoe"), "zoe to be journaled");
	/* the one worker thread is still in yamada's request */
	ck_assert_int_eq(emu_requests(), answered);
	daemon_kill();
	assert_waiting("zoe");
	assert_waiting("yamada");
	answered++; /* the held request is answered to nobody */
	wait_or_fail(requests_at_least, &answered, "the held request");
	daemon_start();
	wait_provisioned("zoe");
	wait_provisioned("yamada");
}

/* Killed while its LDAP search waits in a frozen slapd's socket. */
static void
row_kill_lookup(void)
{
	int port;

	world_up(0, "ldap.timeout = 10\n");
	port = h_uri_port(h_slapd_uri(W.slapd));
	ck_assert_int_gt(port, 0);
	daemon_start();
	login("zoe");
	wait_provisioned("zoe"); /* connected */
	slapd_freeze();
	login("yamada");
	wait_or_fail(unread_at, &port, "yamada's search to reach slapd");
	daemon_kill();
	ck_assert_int_eq(h_slapd_resume(W.slapd), FT_OK);
	assert_waiting("yamada");
	daemon_start();
	wait_provisioned("yamada");
}

/* Killed while its write waits in ftrack; the write lands afterwards. */
static void
row_kill_write(void)
{
	world_up(0, "ftrack.timeout = 10\n");
	daemon_start();
	emu_fault("{\"skip\": 1, \"count\": 1, \"delay_ms\": 3000}");
	login("zoe");
	wait_or_fail(faults_taken, NULL, "zoe's write to reach ftrack");
	daemon_kill();
	ck_assert(h_queued(W.state, "zoe"));
	wait_or_fail(in_ftrack, arg_of("zoe"), "the write to land");
	ck_assert(h_queued(W.state, "zoe")); /* nobody took the answer */
	daemon_start();
	wait_or_fail(queue_empty, NULL, "the queue to empty");
	wait_log("unchanged 'zoe'");
}

/* A reconcile killed while its LDAP read waits in a frozen slapd. */
static void
row_kill_reconcile_reads(void)
{
	struct h_proc *bg;
	int port, st;

	world_up(0, "ldap.timeout = 10\n");
	leaver("dave");
	port = h_uri_port(h_slapd_uri(W.slapd));
	slapd_freeze();
	bg = reconcile_bg();
	wait_or_fail(unread_at, &port, "the reconcile's request in slapd");
	ck_assert_int_eq(h_proc_signal(bg, SIGKILL), FT_OK);
	st = bg_finish(bg);
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(h_slapd_resume(W.slapd), FT_OK);
	ck_assert_int_eq(h_emu_stat2(W.emu, "operations", "update"), 0);
	expect_applied();
}

#define KILL_LEAVERS 4

/* A reconcile killed after some of its writes (one per request). */
static void
row_kill_reconcile_apply(void)
{
	static const char *const gone[KILL_LEAVERS] = {"dave", "erin", "frank",
						       "joerg"};
	long long target, writes;
	struct h_proc *bg;
	size_t i;
	int st;

	world_up(0,
		 "ftrack.batch_size = 1\npolicy.max_deactivate = 100%\n"
		 "policy.max_shrink = 100%\npolicy.reconcile_create = yes\n");
	for (i = 0; i < KILL_LEAVERS; i++)
		leaver(gone[i]);
	for (i = 0; i < NUNSEEDED; i++)
		W.fresh[W.nfresh++] = unseeded[i];
	target = dry_run_requests();
	target += emu_requests() + 3;
	writes = -(h_emu_stat2(W.emu, "operations", "create") +
		   h_emu_stat2(W.emu, "operations", "update"));
	emu_config("{\"latency_ms\": 300}");
	bg = reconcile_bg();
	wait_or_fail(requests_at_least, &target, "three writes");
	ck_assert_int_eq(h_proc_signal(bg, SIGKILL), FT_OK);
	st = bg_finish(bg);
	ck_assert(WIFSIGNALED(st));
	/* each creation and each deactivation is two operations */
	writes += h_emu_stat2(W.emu, "operations", "create") +
		  h_emu_stat2(W.emu, "operations", "update");
	ck_assert_msg(writes >= 6 && writes < (long long)(2 * (KILL_LEAVERS +
							       NUNSEEDED)),
		      "%lld writes before the kill", writes);
	emu_config("{\"latency_ms\": 0}");
	expect_applied();
	expect_cmd(DRY_RUN, 0); /* in sync */
}

/* ---- rows: the state folder ------------------------------------------------ */

static void
row_state_full(void)
{
	char filler[PATH_MAX];

	world_up(0, NULL);
	if (!state_on_tmpfs("512k"))
		return;
	leaver("dave");
	daemon_start();
	h_fx_fmt(filler, sizeof(filler), "%s/filler", W.state);
	fill_up(filler);
	login("zoe");
	wait_log("unable to journal the login of 'zoe'");
	wait_or_fail(in_ftrack, arg_of("zoe"), "zoe, from memory");
	/* not journaled and ftrack failing: retried from memory */
	emu_fault("{\"count\": 1, \"body\": \"not JSON\"}");
	login("yamada");
	wait_log("retry 'yamada'");
	wait_or_fail(in_ftrack, arg_of("yamada"), "yamada, from memory");
	/* the reconcile applies, but cannot write its report */
	expect_cmd_says(APPLY, 0, "unable to write the reconcile report");
	W.gone_done = true;
	ck_assert_int_eq(unlink(filler), 0);
	expect_cmd(DRY_RUN, 0);
	assert_result("in-sync");
}

static void
row_state_readonly(void)
{
	world_up(0, NULL);
	if (!state_on_tmpfs("1m"))
		return;
	leaver("dave");
	daemon_start();
	ck_assert_int_eq(mount(NULL, W.state, NULL,
			       MS_REMOUNT | MS_BIND | MS_RDONLY, NULL),
			 0);
	login("zoe");
	wait_log("unable to journal the login of 'zoe': Read-only");
	wait_or_fail(in_ftrack, arg_of("zoe"), "zoe, from memory");
	/* the reconcile cannot take its lock: it does not run */
	expect_cmd_says(APPLY, 1, "unable to start the reconcile");
	ck_assert_int_eq(h_emu_stat2(W.emu, "operations", "update"), 0);
	ck_assert_int_eq(mount(NULL, W.state, NULL, MS_REMOUNT | MS_BIND, NULL),
			 0);
	expect_applied();
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

/* Rewrite the last report's "finished" time. */
static void
report_finished(const char *iso)
{
	char path[PATH_MAX];
	json_t *rep = report("last-reconcile.json");

	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(json_object_set_new(rep, "finished", json_string(iso)),
			 0);
	h_fx_fmt(path, sizeof(path), "%s/reports/last-reconcile.json", W.state);
	ck_assert_int_eq(json_dump_file(rep, path, 0), 0);
	json_decref(rep);
}

/* arg: NULL.  The metrics show a reconcile that finished about now. */
static bool
metrics_recent(void *arg)
{
	long long t = h_metric(W.state, "last_reconcile_timestamp_seconds");

	(void)arg;
	return t > (long long)time(NULL) - 120 &&
	       t < (long long)time(NULL) + 120;
}

static void
row_clock(void)
{
	char *value = NULL;
	json_t *rep;

	world_up(0, NULL);
	leaver("dave");
	/* a report of a run when the clock was far ahead */
	expect_cmd(DRY_RUN, 4);
	report_finished("2099-01-01T00:00:00Z");
	/* local time far from UTC: nothing written may depend on it */
	ck_assert_int_eq(setenv("TZ", "Pacific/Kiritimati", 1), 0);
	daemon_start();
	daemon_signal(SIGUSR1); /* a reconcile run by the daemon */
	wait_or_fail(metrics_recent, NULL, "the metrics to show the run");
	assert_result("applied");
	W.gone_done = true;
	ck_assert_int_eq(h_metric(W.state, "user_changes_total{action="
					   "\"deactivated\"}"),
			 1);
	ck_assert_int_eq(h_emu_user_markers(W.emu, "dave", GONE_KEY, &value),
			 1);
	assert_utc_now("the deactivated marker", value);
	free(value);
	rep = report("last-reconcile.json");
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
	return h_file_count(W.log, "keeping the old one") >= 2;
}

static void
row_sighup_broken(void)
{
	char path[PATH_MAX];

	world_up(0, NULL);
	connected_daemon();
	/* an unknown section, and a wrong LDAP server with it */
	config("nosuchsection.key = 1\nldap.uri = ldap://127.0.0.1:1\n");
	daemon_signal(SIGHUP);
	wait_log("keeping the old one");
	/* a secret file others may read */
	config(NULL);
	h_fx_fmt(path, sizeof(path), "%s/ldap.secret", W.dir);
	ck_assert_int_eq(chmod(path, 0644), 0);
	daemon_signal(SIGHUP);
	wait_or_fail(two_refusals, NULL, "the second refused reload");
	login("yamada");
	wait_provisioned("yamada");
	ck_assert(!exited());
	expect_cmd_says(APPLY, 2, "ldap.secret");
	ck_assert_int_eq(h_emu_stat2(W.emu, "operations", "update"), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	daemon_signal(SIGHUP);
	wait_log("configuration reloaded");
	expect_applied();
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
	{"ftrack seat cap reached",
	 "the new user is created inactive (no seat); the daemon logs "
	 "'created', and at later logins 'skipped' (as if deactivated by "
	 "hand): no warning, and no seat once one is free",
	 "nothing (the account is there; its seat is never asked for again)",
	 "nobody", row_seat_cap},
	{"daemon SIGKILLed after journaling, before the look-up",
	 "the login stays in queue/ and is provisioned at the next start",
	 "nothing", "nobody", row_kill_queued},
	{"daemon SIGKILLed during the LDAP look-up",
	 "the login stays in queue/ and is provisioned at the next start",
	 "nothing", "nobody", row_kill_lookup},
	{"daemon SIGKILLed during the ftrack write (it lands later)",
	 "the login stays in queue/; the next start finds the user and "
	 "changes nothing (no duplicate)",
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
	double t0 = now_s();

	if (skipped_by_env(r->fault))
		return;
	r->run();
	if (W.skipped != NULL) {
		fields[1] = W.skipped;
		fields[2] = fields[3] = "-";
	} else {
		assert_outcome();
	}
	(void)fprintf(stderr, "faults: %-58.58s %5.1f s\n", r->fault,
		      now_s() - t0);
	ck_assert_int_eq(matrix_line("FAULT", fields, 4), FT_OK);
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

/* A folder for a bound test; s and e may be NULL (closed ports). */
static void
bound_world(struct h_slapd *s, struct h_emu *e, const char *extra)
{
	if (W.dir == NULL)
		W.dir = h_tmpdir();
	ck_assert_ptr_nonnull(W.dir);
	h_fx_fmt(W.state, sizeof(W.state), "%s/state", W.dir);
	h_fx_fmt(W.sock, sizeof(W.sock), "%s/notify.sock", W.dir);
	h_fx_fmt(W.log, sizeof(W.log), "%s/daemon.log", W.dir);
	free(W.conf);
	W.conf = h_write_config(W.dir, s, e, extra);
	ck_assert_ptr_nonnull(W.conf);
}

static void
bound_line(const char *what, const char *measured, const char *bound)
{
	const char *fields[3] = {what, measured, bound};

	(void)fprintf(stderr, "faults: %s: %s (bound: %s)\n", what, measured,
		      bound);
	ck_assert_int_eq(matrix_line("BOUND", fields, 3), FT_OK);
}

/* arg: NULL.  The worker has failed every queued user at least once. */
static bool
all_tried(void *arg)
{
	(void)arg;
	return h_metric(W.state, "errors_total{kind=\"ldap\"}") >= QUEUED_N;
}

START_TEST(test_bound_queued)
{
	char text[256], bound[64], probe[] = "probe";
	long hwm, limit = H_ASAN_OR(QUEUED_ASAN, QUEUED_KIB);
	double t0 = now_s(), t_fill, t_scan;

	if (skipped_by_env("100,000 queued"))
		return;

	bound_world(
		NULL, NULL, /* LDAP and ftrack down: nothing drains */
		"policy.reconcile_interval = 0\ndaemon.log_level = error\n");
	ck_assert_int_eq(h_queue_fill(W.state, "q", QUEUED_N), FT_OK);
	t_fill = now_s() - t0;
	ck_assert_int_eq(h_san_small_quarantine(), FT_OK);
	t0 = now_s();
	daemon_start();
	/* the reader journals a login only after its start-up scan */
	ck_assert_int_eq(h_login(W.sock, probe), FT_OK);
	wait_or_fail(queued, probe, "the probe login to be journaled");
	t_scan = now_s() - t0;
	wait_or_fail(all_tried, NULL, "every queued user to be tried");
	hwm = h_status_kib(h_proc_pid(W.d), "VmHWM");
	ck_assert_int_gt(hwm, 0);
	daemon_stop();
	ck_assert_int_eq(h_queue_count(W.state, "queue"), QUEUED_N + 1);
	ck_assert_int_eq(h_queue_count(W.state, "queue/failed"), 0);
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

/* arg: long *: ftrack holds that many users besides the API user. */
static bool
users_there(void *arg)
{
	return h_emu_people(W.emu) >= *(const long *)arg &&
	       h_queue_count(W.state, "queue") == 0;
}

/* n users named <prefix>NNNN in LDAP (with the seed people), slapd,
 * emulator. */
static void
many_people(const char *prefix, unsigned n)
{
	char path[PATH_MAX];

	W.dir = h_tmpdir();
	ck_assert_ptr_nonnull(W.dir);
	h_fx_fmt(path, sizeof(path), "%s/people.ldif", W.dir);
	ck_assert_int_eq(h_write_ldif(path, prefix, n, NULL), FT_OK);
	W.slapd = h_slapd_start(path, 0);
	ck_assert_msg(W.slapd != NULL, "slapd did not start");
	W.emu = h_emu_start(NULL);
	ck_assert_msg(W.emu != NULL, "the emulator did not start");
}

/* Log in <prefix>0000 .. <prefix>(n-1). */
static void
login_many(const char *prefix, unsigned n)
{
	char user[32];
	unsigned i;

	for (i = 0; i < n; i++) {
		h_fx_fmt(user, sizeof(user), "%s%04u", prefix, i);
		ck_assert_int_eq(h_login(W.sock, user), FT_OK);
	}
}

/* Every user of ftrack once; returns how many (the API user aside). */
static long
distinct_users(void)
{
	json_t *users = h_emu_get(W.emu, "/_emulator/users"), *u;
	size_t i, j;

	ck_assert_ptr_nonnull(users);
	json_array_foreach(users, i, u)
	{
		const char *name =
			json_string_value(json_object_get(u, "username"));

		for (j = 0; j < i; j++)
			ck_assert_msg(strcmp(json_string_value(json_object_get(
						     json_array_get(users, j),
						     "username")),
					     name) != 0,
				      "'%s' twice in ftrack", name);
	}
	i = json_array_size(users);
	json_decref(users);
	return (long)i - 1;
}

START_TEST(test_bound_ldap_reconnects)
{
	char extra[512], text[256];
	long fds0, fds1, acc0, acc, want = RECONNECTS + 1;
	pid_t pid;

	if (skipped_by_env("LDAP reconnects"))
		return;

	many_people("r", RECONNECTS);
	W.relay = h_relay_start(H_RELAY_LDAP, h_uri_port(h_slapd_uri(W.slapd)));
	ck_assert_ptr_nonnull(W.relay);
	/* one search per look-up: the relay cuts after each answer */
	h_fx_fmt(extra, sizeof(extra),
		 "ldap.uri = ldap://127.0.0.1:%d\n-ldap.disabled_filter\n"
		 "ldap.timeout = 5\nftrack.timeout = 10\n"
		 "policy.reconcile_interval = 0\ndaemon.log_level = info\n",
		 h_relay_port(W.relay));
	bound_world(W.slapd, W.emu, extra);
	daemon_start();
	pid = h_proc_pid(W.d);
	ck_assert_int_eq(h_login(W.sock, "alice"), FT_OK);
	wait_provisioned("alice");
	fds0 = h_fd_count(pid);
	acc0 = h_relay_accepted(W.relay);
	login_many("r", RECONNECTS);
	wait_or_fail(users_there, &want, "every login to be provisioned");
	acc = h_relay_accepted(W.relay) - acc0;
	fds1 = h_fd_count(pid);
	ck_assert_int_eq(distinct_users(), want);
	daemon_stop();
	ck_assert_int_eq(h_queue_count(W.state, "queue/failed"), 0);
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
	emu_fault(spec);
}

/* Log in fresh users one by one while faults are pending, each time
 * waiting (at most 2 s) for one more fault to be taken. */
static void
http_failures_drive(void)
{
	char user[32];
	long long pending = h_emu_stat(W.emu, "faults_pending"), now;
	unsigned i = 0;
	double deadline = now_s() + 150.0;

	while (pending > 0) {
		double wait_until = now_s() + 2.0;

		ck_assert_msg(now_s() < deadline, "%lld faults never taken",
			      pending);
		if (i < HTTP_FAILURES) {
			h_fx_fmt(user, sizeof(user), "h%04u", i++);
			ck_assert_int_eq(h_login(W.sock, user), FT_OK);
		}
		do {
			sleep_ms(5);
			now = h_emu_stat(W.emu, "faults_pending");
			ck_assert_int_ge(now, 0);
		} while (now == pending && now_s() < wait_until);
		pending = now;
	}
	for (; i < HTTP_FAILURES; i++) {
		h_fx_fmt(user, sizeof(user), "h%04u", i);
		ck_assert_int_eq(h_login(W.sock, user), FT_OK);
	}
}

START_TEST(test_bound_http_failures)
{
	char extra[512], text[256];
	long fds0, fds1, acc0, acc, want = HTTP_FAILURES + 1;
	double t0;
	pid_t pid;

	if (skipped_by_env("failed ftrack requests"))
		return;

	many_people("h", HTTP_FAILURES);
	W.relay = h_relay_start(H_RELAY_HTTP, h_uri_port(h_emu_url(W.emu)));
	ck_assert_ptr_nonnull(W.relay);
	/* every request on a connection of its own: the relay cuts */
	h_fx_fmt(extra, sizeof(extra),
		 "ftrack.server = http://127.0.0.1:%d\nldap.timeout = 5\n"
		 "ftrack.timeout = 5\npolicy.reconcile_interval = 0\n"
		 "daemon.log_level = error\n",
		 h_relay_port(W.relay));
	bound_world(W.slapd, W.emu, extra);
	daemon_start();
	pid = h_proc_pid(W.d);
	ck_assert_int_eq(h_login(W.sock, "alice"), FT_OK);
	wait_provisioned("alice");
	fds0 = h_fd_count(pid);
	acc0 = h_relay_accepted(W.relay);
	t0 = now_s();
	http_failures_faults();
	http_failures_drive();
	wait_or_fail(users_there, &want, "every login to be provisioned");
	acc = h_relay_accepted(W.relay) - acc0;
	fds1 = h_fd_count(pid);
	ck_assert_int_eq(distinct_users(), want);
	daemon_stop();
	ck_assert_int_eq(h_queue_count(W.state, "queue/failed"), 0);
	h_fx_fmt(
		text, sizeof(text),
		"%d failed requests (%d invalid JSON or an exception, %d drops, "
		"%d 503s), %ld connections, in %.0f s; open fds %ld before, %ld "
		"after",
		HTTP_FAILURES, HTTP_FAILURES - 2 * HTTP_EACH, HTTP_EACH,
		HTTP_EACH, acc, now_s() - t0, fds0, fds1);
	bound_line("1,000 failed ftrack requests, each on a new connection",
		   text, "no fd leak: fds after <= before + 2");
	ck_assert_int_ge(acc, HTTP_FAILURES);
	ck_assert_int_le(fds1, fds0 + FD_SLACK);
}

END_TEST

/* ---- local attackers: what the other suites leave out ---------------------- */

/* name with the DN specials of RFC 4514 escaped, into buf. */
static void
dn_escape(const char *name, char *buf, size_t cap)
{
	size_t len = 0;

	for (; *name != '\0'; name++) {
		if (strchr(",+\"\\<>;=", *name) != NULL)
			buf[len++] = '\\';
		buf[len++] = *name;
		ck_assert_uint_lt(len + 2, cap);
	}
	buf[len] = '\0';
}

/* Add the person uid (cn, sn, givenName "Odd", mail odd@example.com). */
static void
add_person(const char *uid)
{
	char dn[512], ldif[1024];

	dn_escape(uid, dn, sizeof(dn));
	h_fx_fmt(ldif, sizeof(ldif),
		 "dn: uid=%s,ou=people,dc=example,dc=com\nchangetype: add\n"
		 "objectClass: inetOrgPerson\nuid: %s\ncn: Odd Name\nsn: Name\n"
		 "givenName: Odd\nmail: odd@example.com\n",
		 dn, uid);
	ck_assert_int_eq(h_slapd_modify(W.slapd, ldif), FT_OK);
}

/* The emulator saw no request it could not parse or refused. */
static void
assert_no_exception(void)
{
	json_t *st = h_emu_get(W.emu, "/_emulator/stats");

	ck_assert_ptr_nonnull(st);
	ck_assert_msg(json_object_size(json_object_get(st, "exceptions")) == 0,
		      "ftrack refused a request");
	json_decref(st);
}

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

	world_up(0, NULL);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add_person(names[i]);
	daemon_start();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		login(names[i]);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		wait_provisioned(names[i]);
	login("zoe"); /* one after them, with the same look-up */
	wait_provisioned("zoe");
	assert_no_exception();
	assert_outcome();
}

END_TEST

/*
 * A PAM user name that is not ftrack's: LDAP matches uid without regard
 * to case, so "ZOE" is zoe's entry, and ftrack gets the name LDAP holds.
 */
START_TEST(test_attack_case)
{
	world_up(0, "policy.login_cooldown = 0\n");
	daemon_start();
	ck_assert_int_eq(h_login(W.sock, "ZOE"), FT_OK);
	W.fresh[W.nfresh++] = "zoe";
	wait_provisioned("zoe");
	ck_assert(!h_queued(W.state, "ZOE"));
	ck_assert_int_eq(h_login(W.sock, "Alice"), FT_OK);
	ck_assert_int_eq(h_login(W.sock, "zoe"), FT_OK);
	ck_assert_int_eq(h_login(W.sock, "bob"), FT_OK); /* a barrier */
	wait_log("unchanged 'bob'");
	wait_or_fail(queue_empty, NULL, "the queue to empty");
	ck_assert_int_eq(h_emu_named(W.emu, "ZOE"), 0);
	ck_assert_int_eq(h_emu_named(W.emu, "Alice"), 0);
	assert_outcome(); /* zoe and alice once each */
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
	world_up(0, NULL);
	add_person(name);
	daemon_start();
	login(name);
	wait_log("unable to journal the login of 'lllll");
	wait_or_fail(in_ftrack, name, "the long name");
	assert_outcome();
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
	tcase_add_unchecked_fixture(tm, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tm, world_setup, world_teardown);
	tcase_add_loop_test(tm, test_row, 0, (int)NROWS);
	suite_add_tcase(s, tm);
	tcase_set_timeout(tb, 240);
	tcase_add_unchecked_fixture(tb, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tb, world_setup, world_teardown);
	tcase_add_test(tb, test_bound_queued);
	tcase_add_test(tb, test_bound_ldap_reconnects);
	tcase_add_test(tb, test_bound_http_failures);
	suite_add_tcase(s, tb);
	tcase_set_timeout(ta, 120);
	tcase_add_unchecked_fixture(ta, suite_setup, suite_teardown);
	tcase_add_checked_fixture(ta, world_setup, world_teardown);
	tcase_add_test(ta, test_attack_query);
	tcase_add_test(ta, test_attack_case);
	tcase_add_test(ta, test_attack_long_name);
	suite_add_tcase(s, ta);
	return s;
}
