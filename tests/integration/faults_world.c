/* SPDX-License-Identifier: Apache-2.0 */
/* faults_world.c: the world of one row of the suite 'faults' (see .h). */
#include "faults_world.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"

/* Every row's config starts with these lines (then the row's own). */
#define BASE_CONFIG                                                            \
	"ldap.timeout = 2\nftrack.timeout = 2\n"                               \
	"policy.reconcile_interval = 0\n"

const char *const fw_seeded[FW_NSEEDED] = {"alice", "bob",   "carol", "dave",
					   "erin",  "frank", "joerg", "multi"};

const char *const fw_unseeded[FW_NUNSEEDED] = {"zoe",  "yamada", "nomail",
					       "star", "starx",  "st*r(x)\\5c"};

struct fw_world fw;

/* ---- fixtures (the suite's folder: h_suite_setup) ---------------------- */

void
fw_world_setup(void)
{
	ck_assert_msg(h_suite_dir() != NULL, "no suite folder");
	memset(&fw, 0, sizeof(fw));
}

void
fw_world_teardown(void)
{
	h_proc_stop(fw.d);
	h_relay_stop(fw.relay);
	/* a tmpfs over state/ lives in this process's own mount namespace */
	if (fw.w != NULL && fw.w->dir != NULL)
		(void)umount2(fw.w->state, MNT_DETACH);
	h_world_stop(fw.w);
	memset(&fw, 0, sizeof(fw));
}

/* ---- small helpers ---------------------------------------------------- */

void *
fw_arg(const char *s)
{
	void *v;

	memcpy(&v, &s, sizeof(v));
	return v;
}

double
fw_since_s(long long t0_ms)
{
	return (double)(h_now_ms() - t0_ms) / 1000.0;
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

bool
fw_skipped_by_env(const char *name)
{
	const char *only = getenv("FAULTS_ONLY");

	return only != NULL && strstr(name, only) == NULL;
}

int
fw_matrix_line(const char *kind, const char *const fields[], size_t n)
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

void
fw_wait_or_fail(bool (*cond)(void *), void *arg, const char *what)
{
	if (h_wait_until(cond, arg, FW_WAIT_MS))
		return;
	h_show_tail(fw.log);
	if (fw.w != NULL && fw.w->emu != NULL) {
		char emu_log[PATH_MAX];

		h_fx_fmt(emu_log, sizeof(emu_log), "%s/emulator.log",
			 h_emu_dir(fw.w->emu));
		h_show_tail(emu_log);
	}
	ck_abort_msg("timed out after %u ms waiting for %s", FW_WAIT_MS, what);
}

/* ---- the world -------------------------------------------------------- */

/* fw.sock and fw.log in the world's folder. */
static void
paths(void)
{
	h_fx_fmt(fw.sock, sizeof(fw.sock), "%s/notify.sock", fw.w->dir);
	h_fx_fmt(fw.log, sizeof(fw.log), "%s/daemon.log", fw.w->dir);
}

void
fw_config(const char *more)
{
	char text[4096];
	char *conf;

	h_fx_fmt(text, sizeof(text), "%s%s%s", BASE_CONFIG,
		 fw.extra != NULL ? fw.extra : "", more != NULL ? more : "");
	conf = h_write_config(fw.w->dir, fw.w->slapd, fw.w->emu, text);
	ck_assert_ptr_nonnull(conf);
	free(fw.w->conf);
	fw.w->conf = conf;
}

/* Provision the seeded people with `sync`. */
static void
seed(void)
{
	char words[256] = "sync";
	size_t i, len = strlen(words);

	for (i = 0; i < FW_NSEEDED; i++)
		len += (size_t)snprintf(words + len, sizeof(words) - len, " %s",
					fw_seeded[i]);
	ck_assert_uint_lt(len, sizeof(words));
	fw_expect_cmd(words, 0);
}

/* Start slapd from ldif and the emulator in a world of their own; the
 * config is the library's until the caller writes its own. */
static void
servers_up(const char *ldif, unsigned sizelimit)
{
	fw.w = h_world_start(ldif, sizelimit, NULL);
	ck_assert_msg(fw.w != NULL, "slapd or the emulator did not start");
	paths();
}

void
fw_world_up(unsigned sizelimit, const char *extra)
{
	servers_up(H_LDIF_PEOPLE, sizelimit);
	fw.extra = extra;
	fw_config(NULL);
	seed();
}

void
fw_many_people(const char *prefix, unsigned n)
{
	char path[PATH_MAX];
	char *dir = h_tmpdir();

	ck_assert_ptr_nonnull(dir);
	h_fx_fmt(path, sizeof(path), "%s/people.ldif", dir);
	ck_assert_int_eq(h_write_ldif(path, prefix, n, NULL), FT_OK);
	servers_up(path, 0);
	h_rmtree(dir); /* slapd has loaded it */
	free(dir);
}

void
fw_bound_config(const char *extra)
{
	char *conf;

	if (fw.w == NULL) { /* no servers: closed ports */
		fw.w = calloc(1, sizeof(*fw.w));
		ck_assert_ptr_nonnull(fw.w);
		fw.w->dir = h_tmpdir();
		ck_assert_ptr_nonnull(fw.w->dir);
		h_fx_fmt(fw.w->state, sizeof(fw.w->state), "%s/state",
			 fw.w->dir);
		paths();
	}
	conf = h_write_config(fw.w->dir, fw.w->slapd, fw.w->emu, extra);
	ck_assert_ptr_nonnull(conf);
	free(fw.w->conf);
	fw.w->conf = conf;
}

/* ---- commands --------------------------------------------------------- */

/* Run words within FW_WAIT_MS into *ret (h_cmd_clear); no sanitizer
 * report, not ended by a signal. */
static void
run(const char *words, struct h_cmd_out *ret)
{
	struct h_cmd_bg *bg = fw_bg_start(words);

	ck_assert_int_eq(h_cmd_finish(bg, FW_WAIT_MS, ret), FT_OK);
	if (h_san_text(ret->out) || h_san_text(ret->err)) {
		(void)fprintf(stderr, "%s%s", ret->out, ret->err);
		ck_abort_msg("sanitizer report from '%s'", words);
	}
	ck_assert_msg(ret->signal == 0, "'%s': ended by signal %d", words,
		      ret->signal);
}

/* run() that must exit with code and, unless text is NULL, say text. */
static void
expect(const char *words, int code, const char *text)
{
	struct h_cmd_out r;
	bool said;

	run(words, &r);
	said = text == NULL || strstr(r.out, text) != NULL ||
	       strstr(r.err, text) != NULL;
	if (r.code != code || !said)
		(void)fprintf(stderr, "%s%s", r.out, r.err);
	h_cmd_clear(&r);
	ck_assert_msg(r.code == code, "'%s' exited %d, expected %d", words,
		      r.code, code);
	ck_assert_msg(said, "'%s' did not say '%s'", words, text);
}

void
fw_expect_cmd(const char *words, int code)
{
	expect(words, code, NULL);
}

void
fw_expect_cmd_says(const char *words, int code, const char *text)
{
	expect(words, code, text);
}

struct h_cmd_bg *
fw_bg_start(const char *words)
{
	struct h_cmd_bg *bg = h_cmd_start(fw.w, words);

	ck_assert_msg(bg != NULL, "unable to start '%s'", words);
	return bg;
}

int
fw_bg_finish(struct h_cmd_bg *bg, int *ret_signal)
{
	struct h_cmd_out r;

	ck_assert_int_eq(h_cmd_finish(bg, FW_WAIT_MS, &r), FT_OK);
	h_cmd_clear(&r);
	if (ret_signal != NULL)
		*ret_signal = r.signal;
	return r.code;
}

long long
fw_dry_run_requests(void)
{
	long long before = fw_emu_requests();

	fw_expect_cmd(FW_DRY_RUN, 4);
	return fw_emu_requests() - before;
}

/* ---- the daemon ------------------------------------------------------- */

bool
fw_daemon_exited(void)
{
	return h_proc_wait(fw.d, 0, NULL) != FT_E_AGAIN;
}

static bool
daemon_ready(void *arg)
{
	int fd;

	(void)arg;
	if (fw_daemon_exited())
		return true;
	fd = h_sender_open(fw.sock);
	if (fd < 0)
		return false;
	(void)close(fd);
	return true;
}

void
fw_daemon_start(void)
{
	fw.d = h_daemon_start(fw.w->conf, fw.log);
	ck_assert_ptr_nonnull(fw.d);
	(void)h_wait_until(daemon_ready, NULL, FW_WAIT_MS);
	if (fw_daemon_exited()) {
		h_show_tail(fw.log);
		ck_abort_msg("ftrack-syncd exited at start");
	}
	ck_assert_msg(daemon_ready(NULL), "ftrack-syncd does not listen");
}

void
fw_daemon_stop(void)
{
	int st = 0, r;

	ck_assert_int_eq(h_proc_signal(fw.d, SIGTERM), FT_OK);
	r = h_proc_wait(fw.d, FW_WAIT_MS, &st);
	h_proc_stop(fw.d);
	fw.d = NULL;
	h_fx_assert_no_sanitizer_report(fw.log);
	if (r != FT_OK || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		h_show_tail(fw.log);
	ck_assert_msg(r == FT_OK, "ftrack-syncd did not stop on SIGTERM");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "ftrack-syncd: wait status 0x%x after SIGTERM", st);
}

void
fw_daemon_kill(void)
{
	int st = 0;

	ck_assert_int_eq(h_proc_signal(fw.d, SIGKILL), FT_OK);
	ck_assert_int_eq(h_proc_wait(fw.d, FW_WAIT_MS, &st), FT_OK);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	h_proc_stop(fw.d);
	fw.d = NULL;
	h_fx_assert_no_sanitizer_report(fw.log);
}

void
fw_daemon_signal(int sig)
{
	ck_assert_int_eq(h_proc_signal(fw.d, sig), FT_OK);
}

void
fw_fresh(const char *user)
{
	if (in_list(fw.fresh, fw.nfresh, user) ||
	    in_list(fw_seeded, FW_NSEEDED, user))
		return;
	ck_assert_uint_lt(fw.nfresh, FW_NAMES);
	fw.fresh[fw.nfresh++] = user;
}

void
fw_login(const char *user)
{
	int r = h_login(fw.sock, user);

	ck_assert_msg(r == FT_OK, "unable to send the login of '%s': %s", user,
		      r == FT_E_IO ? strerror(errno) : ft_strerror(r));
	fw_fresh(user);
}

void
fw_connected_daemon(void)
{
	fw_leaver("dave");
	fw_daemon_start();
	fw_login("zoe");
	fw_wait_provisioned("zoe");
}

void
fw_login_many(const char *prefix, unsigned n)
{
	char user[32];
	unsigned i;

	for (i = 0; i < n; i++) {
		h_fx_fmt(user, sizeof(user), "%s%04u", prefix, i);
		ck_assert_int_eq(h_login(fw.sock, user), FT_OK);
	}
}

/* ---- conditions to wait for, and waits ---------------------------------- */

bool
fw_provisioned(void *arg)
{
	return !h_queued(fw.w->state, arg) && h_emu_named(fw.w->emu, arg) >= 1;
}

bool
fw_in_ftrack(void *arg)
{
	return h_emu_named(fw.w->emu, arg) >= 1;
}

bool
fw_queued(void *arg)
{
	return h_queued(fw.w->state, arg);
}

bool
fw_queue_empty(void *arg)
{
	(void)arg;
	return h_queue_count(fw.w->state, "queue") == 0;
}

bool
fw_log_has(void *arg)
{
	return h_file_count(fw.log, arg) > 0;
}

bool
fw_log_count_at_least(void *arg)
{
	const struct fw_log_want *w = arg;

	return h_file_count(fw.log, w->text) >= w->times;
}

bool
fw_faults_taken(void *arg)
{
	(void)arg;
	return h_emu_stat(fw.w->emu, "faults_pending") == 0;
}

bool
fw_requests_at_least(void *arg)
{
	return h_emu_stat(fw.w->emu, "requests") >= *(const long long *)arg;
}

bool
fw_unread_at(void *arg)
{
	return h_tcp_unread(*(const int *)arg) == 1;
}

bool
fw_users_there(void *arg)
{
	return h_emu_people(fw.w->emu) >= *(const long *)arg &&
	       h_queue_count(fw.w->state, "queue") == 0;
}

void
fw_wait_provisioned(const char *user)
{
	char what[256];

	h_fx_fmt(what, sizeof(what), "'%s' to be provisioned", user);
	fw_wait_or_fail(fw_provisioned, fw_arg(user), what);
}

void
fw_wait_log(const char *text)
{
	char what[512];

	h_fx_fmt(what, sizeof(what), "'%s' in the daemon's log", text);
	fw_wait_or_fail(fw_log_has, fw_arg(text), what);
}

/* ---- the emulator ------------------------------------------------------- */

void
fw_emu_fault(const char *spec)
{
	ck_assert_msg(h_emu_control(fw.w->emu, "/_emulator/fault", spec) ==
			      FT_OK,
		      "POST /_emulator/fault %s refused", spec);
}

void
fw_emu_config(const char *spec)
{
	ck_assert_msg(h_emu_control(fw.w->emu, "/_emulator/config", spec) ==
			      FT_OK,
		      "POST /_emulator/config %s refused", spec);
}

long long
fw_emu_requests(void)
{
	long long n = h_emu_stat(fw.w->emu, "requests");

	ck_assert_int_ge(n, 0);
	return n;
}

/* Faulted requests in the emulator's log so far. */
static long
faulted(void)
{
	char *log = h_emu_log(fw.w->emu, 0, NULL);
	const char *p = log;
	long got = 0;

	while (p != NULL && (p = strstr(p, "\"fault\":true")) != NULL) {
		got++;
		p++;
	}
	free(log);
	return got;
}

void
fw_wait_faults_done(long n)
{
	unsigned i;

	fw_wait_or_fail(fw_faults_taken, NULL, "every fault to be taken");
	for (i = 0; i < FW_WAIT_MS / 10; i++) {
		if (faulted() >= n)
			return;
		h_sleep_ms(10);
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
	log = h_emu_get(fw.w->emu, path);
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

/* A logged operation on the reconcile lease (its record or token) or the
 * schema, on the API user: written around the reads, not a plan's write. */
static bool
lease_op(const json_t *op)
{
	const char *k = json_string_value(json_object_get(op, "key"));
	const char *t = json_string_value(json_object_get(op, "entity_type"));

	if (k == NULL)
		k = json_string_value(
			json_array_get(json_object_get(op, "entity_key"), 1));
	return t != NULL && strcmp(t, "Metadata") == 0 && k != NULL &&
	       (strncmp(k, "ftrack_syncd.reconcile_lease", 28) == 0 ||
		strcmp(k, "ftrack_syncd.schema") == 0);
}

/* True when every operation of the logged request e was a query (or the
 * reconcile lease's). */
static bool
only_queries(const json_t *e)
{
	const json_t *op;
	size_t i;

	if (json_array_size(json_object_get(e, "ops")) == 0)
		return false;
	json_array_foreach(json_object_get(e, "ops"), i, op)
	{
		const char *a =
			json_string_value(json_object_get(op, "action"));

		if ((a == NULL || strcmp(a, "query") != 0) && !lease_op(op))
			return false;
	}
	return true;
}

void
fw_assert_fault_hit_write(long long seq, long long reads)
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
			      "request %zu between the faults is not a read "
			      "(nor the lease's)",
			      i);
	json_decref(log);
}

void
fw_assert_no_exception(void)
{
	json_t *st = h_emu_get(fw.w->emu, "/_emulator/stats");

	ck_assert_ptr_nonnull(st);
	ck_assert_msg(json_object_size(json_object_get(st, "exceptions")) == 0,
		      "ftrack refused a request");
	json_decref(st);
}

/* No username twice in users; returns how many are inactive. */
static long
assert_once_each(const json_t *users)
{
	const json_t *u;
	long inactive = 0;
	size_t i, j;

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
	return inactive;
}

long
fw_distinct_users(void)
{
	json_t *users = h_emu_get(fw.w->emu, "/_emulator/users");
	size_t n;

	ck_assert_ptr_nonnull(users);
	(void)assert_once_each(users);
	n = json_array_size(users);
	json_decref(users);
	return (long)n - 1;
}

/* ---- LDAP --------------------------------------------------------------- */

void
fw_slapd_freeze(void)
{
	ck_assert_int_eq(h_slapd_pause(fw.w->slapd), FT_OK);
}

void
fw_leaver(const char *uid)
{
	char ldif[256];

	h_fx_fmt(ldif, sizeof(ldif),
		 "dn: uid=%s,ou=people,dc=example,dc=com\nchangetype: delete\n",
		 uid);
	ck_assert_int_eq(h_slapd_modify(fw.w->slapd, ldif), FT_OK);
	ck_assert_uint_lt(fw.ngone, FW_NAMES);
	fw.gone[fw.ngone++] = uid;
}

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

void
fw_add_person(const char *uid)
{
	char dn[512], ldif[1024];

	dn_escape(uid, dn, sizeof(dn));
	h_fx_fmt(ldif, sizeof(ldif),
		 "dn: uid=%s,ou=people,dc=example,dc=com\nchangetype: add\n"
		 "objectClass: inetOrgPerson\nuid: %s\ncn: Odd Name\nsn: Name\n"
		 "givenName: Odd\nmail: odd@example.com\n",
		 dn, uid);
	ck_assert_int_eq(h_slapd_modify(fw.w->slapd, ldif), FT_OK);
}

/* user's uuid marker equals the entryUUID of its LDAP entry. */
static void
assert_marker(const char *user)
{
	char *want, *got = NULL;

	/* NULL: no entry, or not exactly one entryUUID */
	want = h_ldap_entry_uuid(h_slapd_uri(fw.w->slapd), user);
	ck_assert_msg(want != NULL, "'%s': not exactly one entryUUID", user);
	ck_assert_int_eq(
		h_emu_user_markers(fw.w->emu, user, H_FX_UUID_KEY, &got), 1);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
}

/* ---- reports and outcomes ----------------------------------------------- */

void
fw_assert_result(const char *result)
{
	json_t *rep = h_report(fw.w, H_REPORT_LAST);
	const char *got = json_string_value(json_object_get(rep, "result"));

	ck_assert_msg(got != NULL, "no result in the last report");
	ck_assert_str_eq(got, result);
	json_decref(rep);
}

void
fw_assert_ldap_error(const char *text)
{
	json_t *rep = h_report(fw.w, H_REPORT_LAST);
	const char *err = json_string_value(
		json_object_get(json_object_get(rep, "ldap"), "error"));

	ck_assert_msg(err != NULL && strstr(err, text) != NULL, "ldap: %s",
		      err != NULL ? err : "(no error)");
	json_decref(rep);
}

void
fw_expect_held(void)
{
	json_t *rep;
	bool failed;

	fw_expect_cmd(FW_APPLY, 3);
	fw_assert_result("held");
	rep = h_report(fw.w, "held.json");
	ck_assert_msg(rep != NULL, "no held.json");
	failed = json_is_false(
		json_object_get(h_report_guard(rep, "ldap_complete"), "ok"));
	json_decref(rep);
	ck_assert_msg(failed, "the guard ldap_complete did not hold the run");
}

void
fw_expect_applied(void)
{
	fw_expect_cmd(FW_APPLY, 0);
	fw_assert_result("applied");
	fw.gone_done = true;
}

void
fw_assert_waiting(const char *user)
{
	ck_assert_msg(h_queued(fw.w->state, user), "'%s' is not in queue/",
		      user);
	ck_assert_int_eq(h_emu_named(fw.w->emu, user), 0);
}

/* One person: once in ftrack, one uuid marker; active, or deactivated
 * with one marker when a completed reconcile saw them leave. */
static void
assert_person(const char *name)
{
	json_t *u = h_emu_user_row(fw.w->emu, name);
	bool gone = in_list(fw.gone, fw.ngone, name);
	bool left = gone && fw.gone_done;

	ck_assert_msg(u != NULL, "'%s' is not in ftrack: lost", name);
	ck_assert_int_eq(
		h_emu_user_markers(fw.w->emu, name, H_FX_UUID_KEY, NULL), 1);
	if (!gone)
		assert_marker(name);
	ck_assert_msg(json_is_true(json_object_get(u, "is_active")) == !left,
		      "'%s' is %s", name, left ? "active" : "inactive");
	json_decref(u);
	ck_assert_msg(h_emu_user_markers(fw.w->emu, name, FW_GONE_KEY, NULL) ==
			      (left ? 1 : 0),
		      "'%s': wrong deactivated markers", name);
	ck_assert_msg(!h_queued(fw.w->state, name), "'%s' is still queued",
		      name);
}

/* Markers of key in ftrack. */
static long
marks_of(const char *key)
{
	json_t *meta = h_emu_get(fw.w->emu, "/_emulator/metadata"), *m;
	long marks = 0;
	size_t i;

	ck_assert_ptr_nonnull(meta);
	json_array_foreach(meta, i, m)
	{
		marks += strcmp(json_string_value(json_object_get(m, "key")),
				key) == 0;
	}
	json_decref(meta);
	return marks;
}

/* Nobody but the leavers inactive or marked; no user twice. */
static void
assert_nobody_else(void)
{
	json_t *users = h_emu_get(fw.w->emu, "/_emulator/users");
	long inactive, marks, want;

	ck_assert_ptr_nonnull(users);
	inactive = assert_once_each(users);
	json_decref(users);
	marks = marks_of(FW_GONE_KEY);
	want = fw.gone_done ? (long)fw.ngone : 0;
	ck_assert_msg(marks == want, "%ld deactivated markers, expected %ld",
		      marks, want);
	ck_assert_msg(inactive == want, "%ld inactive users, expected %ld",
		      inactive, want);
	marks = marks_of(FW_SEAT_KEY);
	ck_assert_msg(marks == 0, "%ld left waiting for a seat", marks);
}

void
fw_assert_outcome(void)
{
	size_t i;

	if (fw.d != NULL)
		fw_daemon_stop();
	assert_nobody_else(); /* nobody twice */
	for (i = 0; i < FW_NSEEDED; i++)
		assert_person(fw_seeded[i]);
	for (i = 0; i < fw.nfresh; i++)
		assert_person(fw.fresh[i]);
	ck_assert_int_eq(h_queue_count(fw.w->state, "queue"), 0);
	ck_assert_int_eq(h_queue_count(fw.w->state, "queue/failed"), 0);
}

/* ---- the state folder ------------------------------------------------- */

bool
fw_state_on_tmpfs(const char *size)
{
	char opts[64];

	h_fx_fmt(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fw.skipped = "not run: no private mount namespace here";
		return false;
	}
	if (mount("tmpfs", fw.w->state, "tmpfs", MS_NOSUID | MS_NODEV, opts) <
	    0) {
		fw.skipped = "not run: a tmpfs cannot be mounted here";
		return false;
	}
	return true;
}
