/* SPDX-License-Identifier: Apache-2.0 */
/* h_fixture.c: test library: the daemon suites' shared world (asserts). */
#include "harness.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"

struct h_slapd *h_fx_slapd;
struct h_emu *h_fx_emu;
char *h_fx_base;
struct h_fx_world h_fx;

void
h_fmt_check(int n, size_t cap)
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

void
h_fx_servers_setup(void)
{
	char ldif[PATH_MAX];
	int n;

	h_fx_base = h_tmpdir();
	if (h_fx_base == NULL)
		return;
	n = snprintf(ldif, sizeof(ldif), "%s/people.ldif", h_fx_base);
	if (n < 0 || (size_t)n >= sizeof(ldif) ||
	    h_write_ldif(ldif, H_FX_PREFIX, H_FX_NPEOPLE, hostile_ldif()) !=
		    FT_OK) {
		(void)fprintf(stderr, "daemon: unable to write %s\n", ldif);
		return;
	}
	h_fx_slapd = h_slapd_start(ldif, 0);
	h_fx_emu = h_emu_start(NULL);
}

void
h_fx_servers_setup_people(void)
{
	h_fx_base = h_tmpdir();
	if (h_fx_base == NULL)
		return;
	h_fx_slapd = h_slapd_start(H_LDIF_PEOPLE, 0);
	h_fx_emu = h_emu_start(NULL);
}

void
h_fx_servers_teardown(void)
{
	h_emu_stop(h_fx_emu);
	h_fx_emu = NULL;
	h_slapd_stop(h_fx_slapd);
	h_fx_slapd = NULL;
	h_rmtree(h_fx_base);
	free(h_fx_base);
	h_fx_base = NULL;
}

void
h_fx_world_setup(void)
{
	char tmpl[PATH_MAX];

	ck_assert_msg(h_fx_slapd != NULL && h_fx_emu != NULL,
		      "slapd or the emulator did not start");
	ck_assert_int_eq(h_emu_reset(h_fx_emu), FT_OK);
	memset(&h_fx, 0, sizeof(h_fx));
	H_FMT(tmpl, "%s/t-XXXXXX", h_fx_base);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	H_FMT(h_fx.dir, "%s", tmpl);
	H_FMT(h_fx.state, "%s/state", h_fx.dir);
	H_FMT(h_fx.sock, "%s/notify.sock", h_fx.dir);
	H_FMT(h_fx.log, "%s/daemon.log", h_fx.dir);
}

void
h_fx_world_teardown(void)
{
	h_proc_stop(h_fx.d);
	h_fx.d = NULL;
	free(h_fx.conf);
	h_fx.conf = NULL;
}

/* ---- the daemon ------------------------------------------------------ */

void
h_fx_assert_no_sanitizer_report(const char *log)
{
	if (!h_san_file(log))
		return;
	h_show_tail(log);
	ck_abort_msg("sanitizer report in %s", log);
}

void
h_fx_wait_or_fail(bool (*cond)(void *), void *arg, const char *what)
{
	if (h_wait_until(cond, arg, H_FX_WAIT_MS))
		return;
	h_show_tail(h_fx.log);
	ck_abort_msg("timed out after %u ms waiting for %s", H_FX_WAIT_MS,
		     what);
}

/* Write h_fx.dir/ftrack-syncd.conf: H_FX_BASE_CONFIG, then extra. */
void
h_fx_config(const char *extra)
{
	char text[2048];
	int n;

	n = snprintf(text, sizeof(text), "%s%s", H_FX_BASE_CONFIG,
		     extra != NULL ? extra : "");
	ck_assert(n > 0 && (size_t)n < sizeof(text));
	free(h_fx.conf);
	h_fx.conf = h_write_config(h_fx.dir, h_fx_slapd, h_fx_emu, text);
	ck_assert_ptr_nonnull(h_fx.conf);
}

bool
h_fx_daemon_exited(void)
{
	return h_proc_wait(h_fx.d, 0, NULL) != FT_E_AGAIN;
}

bool
h_fx_daemon_ready(void *arg)
{
	int fd;

	(void)arg;
	if (h_fx_daemon_exited())
		return true; /* no point waiting */
	fd = h_sender_open(h_fx.sock);
	if (fd < 0)
		return false;
	(void)close(fd);
	return true;
}

/* Start `ftrack-syncd -c h_fx.conf run` and wait until it listens. */
void
h_fx_daemon_start(void)
{
	h_fx.d = h_daemon_start(h_fx.conf, h_fx.log);
	ck_assert_ptr_nonnull(h_fx.d);
	(void)h_wait_until(h_fx_daemon_ready, NULL, H_FX_WAIT_MS);
	if (h_fx_daemon_exited()) {
		h_show_tail(h_fx.log);
		ck_abort_msg("ftrack-syncd exited at start");
	}
	ck_assert_msg(h_fx_daemon_ready(NULL), "ftrack-syncd does not listen");
}

/* SIGTERM: it must exit 0 within H_FX_WAIT_MS, with a clean log. */
void
h_fx_daemon_stop(void)
{
	int st = 0, r;

	ck_assert_int_eq(h_proc_signal(h_fx.d, SIGTERM), FT_OK);
	r = h_proc_wait(h_fx.d, H_FX_WAIT_MS, &st);
	h_proc_stop(h_fx.d);
	h_fx.d = NULL;
	h_fx_assert_no_sanitizer_report(h_fx.log);
	if (r != FT_OK || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		h_show_tail(h_fx.log);
	ck_assert_msg(r == FT_OK, "ftrack-syncd did not stop on SIGTERM");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "ftrack-syncd: wait status 0x%x after SIGTERM", st);
}

/*
 * Run `ftrack-syncd -c h_fx.conf args...` to completion; its stdout and
 * stderr go to h_fx.dir/<out>.  Returns the exit code.
 */
int
h_fx_run_cmd(const char *const args[], const char *out)
{
	char path[PATH_MAX];
	int st = 0;

	H_FMT(path, "%s/%s", h_fx.dir, out);
	(void)unlink(path);
	ck_assert_int_eq(h_daemon_run(h_fx.conf, args, path, H_FX_WAIT_MS, &st),
			 FT_OK);
	h_fx_assert_no_sanitizer_report(path);
	ck_assert_msg(WIFEXITED(st), "ftrack-syncd: wait status 0x%x", st);
	return WEXITSTATUS(st);
}

/* Occurrences of text in h_fx.dir/<out>. */
long
h_fx_out_count(const char *out, const char *text)
{
	char path[PATH_MAX];

	H_FMT(path, "%s/%s", h_fx.dir, out);
	return h_file_count(path, text);
}

void
h_fx_assert_out_clean(const char *out)
{
	char path[PATH_MAX], *text;
	const char *bad;
	size_t len = 0;

	H_FMT(path, "%s/%s", h_fx.dir, out);
	text = h_read_file(path, &len);
	ck_assert_msg(text != NULL, "no output %s", path);
	bad = h_text_hidden(text, len);
	if (bad != NULL)
		h_show_log("output with a raw control or bidi character", path);
	ck_assert_msg(bad == NULL, "%s: byte 0x%02x at offset %ld is shown raw",
		      out, bad != NULL ? (unsigned char)*bad : 0,
		      bad != NULL ? (long)(bad - text) : -1L);
	free(text);
}

void
h_fx_login(const char *user)
{
	int r = h_login(h_fx.sock, user);

	ck_assert_msg(r == FT_OK, "unable to send the login of '%s': %s", user,
		      r == FT_E_IO ? strerror(errno) : ft_strerror(r));
}

/* ---- conditions to wait for ------------------------------------------ */

/* arg: a user name.  In ftrack, and its queue file is gone. */
bool
h_fx_provisioned(void *arg)
{
	const char *user = arg;

	return !h_queued(h_fx.state, user) && h_emu_named(h_fx_emu, user) >= 1;
}

void
h_fx_wait_provisioned(const char *user)
{
	char what[512], name[FT_PROTO_VALUE_MAX + 1];

	H_FMT(what, "'%s' to be provisioned", user);
	H_FMT(name, "%s", user);
	h_fx_wait_or_fail(h_fx_provisioned, name, what);
}

bool
h_fx_queue_empty(void *arg)
{
	(void)arg;
	return h_queue_count(h_fx.state, "queue") == 0;
}

/* arg: text expected in the daemon's log. */
bool
h_fx_log_has(void *arg)
{
	return h_file_count(h_fx.log, arg) > 0;
}

/* arg: struct h_fx_mention.  An /api request after since holds text. */
bool
h_fx_emu_mentions(void *arg)
{
	const struct h_fx_mention *m = arg;
	char *log = h_emu_log(h_fx_emu, m->since, NULL);
	bool yes = log != NULL && strstr(log, m->text) != NULL;

	free(log);
	return yes;
}

/* The emulator log's last seq now. */
long long
h_fx_emu_seq(void)
{
	long long seq = -1;
	char *log = h_emu_log(h_fx_emu, 0, &seq);

	ck_assert_ptr_nonnull(log);
	free(log);
	return seq;
}

/* Exactly one ftrack user named user, with exactly one uuid marker. */
void
h_fx_assert_once(const char *user)
{
	ck_assert_msg(h_emu_named(h_fx_emu, user) == 1,
		      "'%s': %ld ftrack users", user,
		      h_emu_named(h_fx_emu, user));
	ck_assert_msg(h_emu_user_markers(h_fx_emu, user, H_FX_UUID_KEY, NULL) ==
			      1,
		      "'%s': not exactly one uuid marker", user);
}

void
h_fx_assert_queue_clean(void)
{
	ck_assert_int_eq(h_queue_count(h_fx.state, "queue"), 0);
	ck_assert_int_eq(h_queue_count(h_fx.state, "queue/failed"), 0);
}

/* The entryUUID of the LDAP entry matching filter (caller frees). */
char *
h_fx_ldap_uuid(const char *filter)
{
	char *v = h_ldap_values(h_slapd_uri(h_fx_slapd), filter, "entryUUID");

	ck_assert_ptr_nonnull(v);
	ck_assert_msg(strchr(v, '\n') == v + strlen(v) - 1,
		      "%s: not exactly one entryUUID: '%s'", filter, v);
	v[strlen(v) - 1] = '\0';
	return v;
}

void
h_fx_assert_user(const char *user, const char *first, const char *last,
		 const char *email)
{
	json_t *u = h_emu_user(h_fx_emu, user);

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
void
h_fx_assert_marker(const char *user, const char *filter)
{
	char *want = h_fx_ldap_uuid(filter), *got = NULL;

	ck_assert_int_eq(
		h_emu_user_markers(h_fx_emu, user, H_FX_UUID_KEY, &got), 1);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
}

/* The 1-based number of the line of the file that holds text, or 0. */
int
h_fx_line_of(const char *path, const char *text)
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

void
h_fx_fmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, cap, f, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < cap, "'%s' does not fit", f);
}

void
h_fill_up(const char *path)
{
	static const char block[65536];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t chunk = sizeof(block);

	ck_assert_int_ge(fd, 0);
	for (;;) {
		ssize_t n = write(fd, block, chunk);

		if (n < 0 && errno == ENOSPC && chunk > 1) {
			chunk = 1; /* the last bytes, one at a time */
			continue;
		}
		if (n < 0)
			break;
	}
	ck_assert_int_eq(errno, ENOSPC);
	(void)close(fd);
}
