/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd_check.c: suite 'cmd_check': `ftrack-syncd check`
 * (syncd/cmd_check.c): exit 0 with a good config, 1 with a wrong API key
 * or LDAP password or an answer over the size cap, 2 and file:line: with
 * a bad line; the people counted under search_base (first page), a login
 * looked up (--user), the reads ftrack allows, the effective config
 * (--dump), nothing written to ftrack, and a refused [mapping] transform
 * failing the check.
 * The world is the daemon suites' fixture (tests/lib/h_fixture.c; see
 * check_cmd_run.c).
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"
#include "h_ldapsrc.h"
#include "harness.h"
#include "ldap_src.h"

Suite *cmd_check_suite(void);

/* ---- 12. check ------------------------------------------------------- */

START_TEST(test_check)
{
	static const char *const args[] = {"check", NULL};
	char path[PATH_MAX], where[PATH_MAX + 16];
	int line;

	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-ok.out"), 0);
	/* a wrong API key */
	H_FMT(path, "%s/ftrack.secret", h_fx.dir);
	ck_assert_int_eq(h_write_file(path, "wrong-key", 0600), FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-key.out"), 1);
	ck_assert_int_ge(h_fx_out_count("check-key.out", "ftrack:  FAILED"), 1);
	/* a wrong LDAP password */
	h_fx_config(NULL);
	H_FMT(path, "%s/ldap.secret", h_fx.dir);
	ck_assert_int_eq(h_write_file(path, "wrong-password", 0600), FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-ldap.out"), 1);
	ck_assert_int_ge(h_fx_out_count("check-ldap.out", "ldap:    FAILED"),
			 1);
	/* a bad line: exit 2 and file:line: on stderr */
	h_fx_config("ldap.no_such_key = 1\n");
	line = h_fx_line_of(h_fx.conf, "no_such_key");
	ck_assert_int_gt(line, 0);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-bad.out"), 2);
	H_FMT(where, "%s:%d:", h_fx.conf, line);
	ck_assert_int_ge(h_fx_out_count("check-bad.out", where), 1);
}

END_TEST

/*
 * cmd_check.c's part of [mapping] transform: the transform lines are
 * printed and their result is the exit status (the lines themselves are
 * tested in process in the cmd_check_transform suite).
 */
START_TEST(test_check_transform_exit)
{
	static const char *const args[] = {"check", NULL};
	char path[PATH_MAX], conf[PATH_MAX + 64];

	H_FMT(path, "%s/transform.sh", h_fx.dir);
	ck_assert_int_eq(h_write_file(path,
				      "#!/bin/sh\n"
				      "while read -r l; do :; done\n",
				      0755),
			 FT_OK);
	ck_assert_int_eq(chmod(path, 0777), 0);
	H_FMT(conf, "mapping.transform = %s\n", path);
	h_fx_config(conf);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-transform.out"), 1);
	ck_assert_int_eq(h_fx_out_count("check-transform.out",
					"transform: FAILED: refused:"),
			 1);
	/* without it, the same world passes */
	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-no-transform.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check-no-transform.out", "transform:"),
			 0);
}

END_TEST

/* The largest peak RSS of the children reaped so far, in KiB. */
static long
children_peak_kib(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
	return ru.ru_maxrss;
}

/*
 * The answer: ftrack answers the server-information request with
 * 250 MiB of [0,0,...] gzipped to about 250 KiB (it made `check` peak at
 * 5.2 GiB).  check says why, exits 1, and peaks where a good check does,
 * give or take the 8 MiB cap (the peak of every child this test reaped,
 * the good check's first).
 */
START_TEST(test_check_gzip_bomb)
{
	static const char *const args[] = {"check", NULL};
	long good, bomb;

	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-ok.out"), 0);
	good = children_peak_kib();
	ck_assert_int_eq(
		h_emu_control(h_fx_emu, "/_emulator/fault",
			      "{\"zeros\": 262144000, \"gzip\": true}"),
		FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-bomb.out"), 1);
	bomb = children_peak_kib();
	ck_assert_int_eq(
		h_fx_out_count("check-bomb.out",
			       "ftrack:  FAILED: answer over the 8 MiB limit, "
			       "counted after decompression (too large)\n"),
		1);
	ck_assert_int_eq(h_fx_out_count("check-bomb.out", "ldap:    ok"), 1);
	ck_assert_msg(bomb < good + 64 * 1024,
		      "check peaked at %ld KiB, a good check at %ld KiB", bomb,
		      good);
}

END_TEST

/* ---- transport security (issue 12) ------------------------------------ */

/*
 * A plain transport the config does not allow: exit 2 with file:line and
 * the reason, before anything is sent: a listening socket nobody serves
 * stands for LDAP and records that no client came.
 */
START_TEST(test_check_refuses_plain_transports)
{
	static const char *const args[] = {"check", NULL};
	char extra[256], where[PATH_MAX + 64], got[4096];
	long long seq = h_fx_emu_seq();
	int port, lfd = h_tcp_listen(&port), line;

	ck_assert_int_ge(lfd, 0);
	H_FMT(extra, "-ldap.insecure_ldap\nldap.uri = ldap://127.0.0.1:%d\n",
	      port);
	h_fx_config(extra);
	line = h_fx_line_of(h_fx.conf, "uri = ldap://127.0.0.1:");
	ck_assert_int_gt(line, 0);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-ldap.out"), 2);
	H_FMT(where,
	      "%s:%d: [ldap] uri: 'ldap://127.0.0.1:%d' would get the "
	      "bind password in clear text",
	      h_fx.conf, line, port);
	ck_assert_int_eq(h_fx_out_count("check-ldap.out", where), 1);
	ck_assert_int_eq(h_fx_out_count("check-ldap.out", "config:  ok"), 0);
	ck_assert_int_eq(h_tcp_take(lfd, got, sizeof(got), 500), -1);
	/* http:// without insecure_http */
	h_fx_config("-ftrack.insecure_http\n");
	line = h_fx_line_of(h_fx.conf, "server = http://127.0.0.1:");
	ck_assert_int_eq(h_fx_run_cmd(args, "check-http.out"), 2);
	H_FMT(where, "%s:%d: [ftrack] server: ", h_fx.conf, line);
	ck_assert_int_eq(h_fx_out_count("check-http.out", where), 1);
	ck_assert_int_eq(h_fx_out_count("check-http.out",
					"would get the API key in clear text"),
			 1);
	ck_assert_int_eq(h_fx_emu_seq(), seq);
	(void)close(lfd);
}

END_TEST

/* What the exceptions let through is printed, and check still passes. */
START_TEST(test_check_warns_insecure)
{
	static const char *const args[] = {"check", NULL};
	char want[512];

	h_fx_config("ldap.tls_require_cert = never\n");
	ck_assert_int_eq(h_fx_run_cmd(args, "check-warn.out"), 0);
	H_FMT(want,
	      "\nwarning: [ftrack] insecure_http = yes: the API key goes in "
	      "clear text to '%s'",
	      h_emu_url(h_fx_emu));
	ck_assert_int_eq(h_fx_out_count("check-warn.out", want), 1);
	H_FMT(want,
	      "\nwarning: [ldap] insecure_ldap = yes: the bind password goes "
	      "in clear text to '%s'",
	      h_slapd_uri(h_fx_slapd));
	ck_assert_int_eq(h_fx_out_count("check-warn.out", want), 1);
	ck_assert_int_eq(h_fx_out_count("check-warn.out",
					"\nwarning: [ldap] tls_require_cert = "
					"never: "),
			 1);
	ck_assert_int_eq(h_fx_out_count("check-warn.out", "config:  ok"), 1);
	ck_assert_int_eq(h_fx_out_count("check-warn.out", "ldap:    ok"), 1);
	ck_assert_int_eq(h_fx_out_count("check-warn.out", "ftrack:  ok"), 1);
	/* demand: no certificate warning */
	h_fx_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-demand.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check-demand.out", "warning: "), 2);
	ck_assert_int_eq(h_fx_out_count("check-demand.out", "tls_require_cert"),
			 0);
}

END_TEST

/*
 * A slapd of this test's own with StartTLS and a certificate that is its
 * own CA, copied to h_fx.dir/ca/server.crt.
 */
static struct h_slapd *
tls_slapd(void)
{
	struct h_slapd *s = h_slapd_start(H_LDIF_PEOPLE, 0);
	char path[PATH_MAX], *pem;

	ck_assert_ptr_nonnull(s);
	h_ls_enable_tls(s);
	H_FMT(path, "%s/server.crt", h_slapd_dir(s));
	pem = h_read_file(path, NULL);
	ck_assert_ptr_nonnull(pem);
	H_FMT(path, "%s/ca", h_fx.dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	H_FMT(path, "%s/ca/server.crt", h_fx.dir);
	ck_assert_int_eq(h_write_file(path, pem, 0644), FT_OK);
	free(pem);
	return s;
}

/* h_fx.conf for s: StartTLS (so no insecure_ldap), demand, then extra. */
static void
tls_config(const struct h_slapd *s, const char *extra)
{
	char text[1024];

	H_FMT(text, "%s-ldap.insecure_ldap\nldap.start_tls = yes\n%s",
	      H_FX_BASE_CONFIG, extra);
	free(h_fx.conf);
	h_fx.conf = h_write_config(h_fx.dir, s, h_fx_emu, text);
	ck_assert_ptr_nonnull(h_fx.conf);
}

/*
 * LDAPNOINIT: an ldaprc in the current folder (so in whatever folder the
 * daemon runs in) is not read.  This one binds the client's sockets to an
 * address that is not on this host (TEST-NET-1, RFC 5737), which libldap
 * would apply to every connection: nothing would connect.
 */
START_TEST(test_check_ignores_ldaprc)
{
	static const char *const args[] = {"check", NULL};
	char path[PATH_MAX];

	h_fx_config(NULL);
	H_FMT(path, "%s/ldaprc", h_fx.dir);
	ck_assert_int_eq(h_write_file(path,
				      "URI ldap://192.0.2.1\n"
				      "SOCKET_BIND_ADDRESSES 192.0.2.1\n",
				      0644),
			 FT_OK);
	ck_assert_int_eq(chdir(h_fx.dir), 0);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-ldaprc.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check-ldaprc.out", "ldap:    ok"), 1);
	/* nor ~/ldaprc, ~/.ldaprc, $LDAPRC or an LDAP* variable */
	ck_assert_int_eq(setenv("HOME", h_fx.dir, 1), 0);
	ck_assert_int_eq(setenv("LDAPRC", path, 1), 0);
	ck_assert_int_eq(setenv("LDAPSOCKET_BIND_ADDRESSES", "192.0.2.1", 1),
			 0);
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-home.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check-home.out", "ldap:    ok"), 1);
}

END_TEST

/*
 * Without ldap.conf (LDAPNOINIT), tls_ca_file unset still means the
 * system's bundle: in a private mount namespace the server's CA is
 * bind-mounted over LDAP_SRC_SYSTEM_CA.  Needs root.
 */
START_TEST(test_check_system_ca)
{
	static const char *const args[] = {"check", NULL};
	char path[PATH_MAX];
	struct h_slapd *s;

	if (geteuid() != 0 || access(LDAP_SRC_SYSTEM_CA, R_OK) != 0) {
		fprintf(stderr,
			"test_check_system_ca: not run: needs root and "
			"%s\n",
			LDAP_SRC_SYSTEM_CA);
		return;
	}
	s = tls_slapd();
	tls_config(s, "");
	/* the real bundle does not know this CA */
	ck_assert_int_eq(h_fx_run_cmd(args, "check-system.out"), 1);
	ck_assert_int_eq(h_fx_out_count("check-system.out",
					"ldap:    FAILED: StartTLS failed"),
			 1);
	H_FMT(path, "%s/ca/server.crt", h_fx.dir);
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL),
			 0);
	ck_assert_int_eq(mount(path, LDAP_SRC_SYSTEM_CA, NULL, MS_BIND, NULL),
			 0);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-bundle.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check-bundle.out", "ldap:    ok"), 1);
	h_slapd_stop(s);
}

END_TEST

/*
 * Issue 12: ftrack's error text reached the terminal with its C1 controls
 * and bidi overrides (only C0 ones were blanked).  `check` prints it
 * through the one cleaner: every one of them escaped, visibly.
 */
START_TEST(test_check_server_text_escaped)
{
	static const char *const args[] = {"check", NULL};

	h_fx_config(NULL);
	ck_assert_int_eq(
		h_emu_control(h_fx_emu, "/_emulator/fault",
			      "{\"status\": 400, \"exception\": "
			      "\"ValidationError\", \"content\": \"bad "
			      "\\u009b31m \\u202e \\u001b]0;x\\u0007 \\u0085 "
			      "end\"}"),
		FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-text.out"), 1);
	h_fx_assert_out_clean("check-text.out");
	ck_assert_int_eq(h_fx_out_count("check-text.out",
					"ftrack:  FAILED: ValidationError: bad "
					"\\u009b31m \\u202e \\x1b]0;x\\x07 "
					"\\u0085 end"),
			 1);
}

END_TEST

/* ---- the real path (issue 13) ---------------------------------------- */

/* The operations after seq that are neither queries nor server info. */
static size_t
writes_since(long long seq)
{
	json_t *w = h_emu_writes(h_fx_emu, seq), *op;
	size_t i, n = 0;

	ck_assert_ptr_nonnull(w);
	json_array_foreach(w, i, op)
	{
		const char *a =
			json_string_value(json_object_get(op, "action"));

		n += a == NULL || strcmp(a, "query_server_information") != 0;
	}
	json_decref(w);
	return n;
}

/* The generated people whose uid starts with prefix (H_FX_PREFIX%04u). */
static unsigned long
generated_with(const char *prefix)
{
	unsigned long n = 0;
	char uid[32];
	unsigned i;

	for (i = 0; i < H_FX_NPEOPLE; i++) {
		H_FMT(uid, "%s%04u", H_FX_PREFIX, i);
		n += strncmp(uid, prefix, strlen(prefix)) == 0 ? 1 : 0;
	}
	return n;
}

/*
 * check counts the entries of search_filter under search_base: all of
 * them when they fit in one page, "at least" a page when more follow;
 * none at all fails (a reconcile would be held by ldap_nonempty).
 */
START_TEST(test_check_counts_people)
{
	static const char *const args[] = {"check", NULL};
	char extra[256], want[512], prefix[16];
	unsigned long n;

	H_FMT(prefix, "%s00", H_FX_PREFIX);
	n = generated_with(prefix);
	ck_assert_uint_gt(n, 3);
	H_FMT(extra,
	      "ldap.search_filter = (&(objectClass=inetOrgPerson)"
	      "(uid=%s*))\n",
	      prefix);
	h_fx_config(extra);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-count.out"), 0);
	H_FMT(want,
	      "\nldap:    %lu entries under '%s' match "
	      "(&(objectClass=inetOrgPerson)(uid=%s*))\n",
	      n, H_LDAP_PEOPLE, prefix);
	ck_assert_int_eq(h_fx_out_count("check-count.out", want), 1);
	/* a page smaller than the population: at least a page */
	H_FMT(extra,
	      "ldap.search_filter = (&(objectClass=inetOrgPerson)"
	      "(uid=%s*))\nldap.page_size = %lu\n",
	      prefix, n - 2);
	h_fx_config(extra);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-page.out"), 0);
	H_FMT(want,
	      "\nldap:    at least %lu entries under '%s' match "
	      "(&(objectClass=inetOrgPerson)(uid=%s*)) (first page "
	      "only; more pages follow)\n",
	      n - 2, H_LDAP_PEOPLE, prefix);
	ck_assert_int_eq(h_fx_out_count("check-page.out", want), 1);
	/* nobody: exit 1, and why */
	h_fx_config("ldap.search_filter = (uid=no-such-person)\n");
	ck_assert_int_eq(h_fx_run_cmd(args, "check-none.out"), 1);
	ck_assert_int_eq(h_fx_out_count("check-none.out",
					"ldap:    FAILED: no entry under '"),
			 1);
	ck_assert_int_eq(h_fx_out_count("check-none.out", "ldap_nonempty"), 1);
	ck_assert_int_eq(h_fx_out_count("check-none.out", "ftrack:  ok"), 1);
}

END_TEST

/*
 * check --user: the entry, what the mapping makes of it, disabled or not
 * found, and what ftrack holds; nothing is written to ftrack.
 */
START_TEST(test_check_user)
{
	static const char *const alice[] = {"check", "--user", "alice", NULL};
	static const char *const gone[] = {"check", "--user", "gone", NULL};
	static const char *const nobody[] = {"check", "--user", "nobody", NULL};
	static const char *const sync[] = {"sync", "alice", NULL};
	long long seq;

	h_fx_config(NULL);
	seq = h_fx_emu_seq();
	ck_assert_int_eq(h_fx_run_cmd(alice, "check-alice.out"), 0);
	ck_assert_int_eq(
		h_fx_out_count("check-alice.out",
			       "\nuser:    'alice': uid=alice," H_LDAP_PEOPLE
			       "\n"),
		1);
	ck_assert_int_eq(h_fx_out_count("check-alice.out",
					"\nuser:    maps to username 'alice', "
					"email 'alice@example.com', first "
					"name 'Alice', last name 'Archer', "
					"uuid '"),
			 1);
	ck_assert_int_eq(h_fx_out_count("check-alice.out",
					"\nuser:    not in ftrack: its first "
					"login creates it (on_login = "
					"create)\n"),
			 1);
	ck_assert_uint_eq(writes_since(seq), 0);
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	/* once synced: the user and its marker */
	ck_assert_int_eq(h_fx_run_cmd(sync, "sync.out"), 0);
	ck_assert_int_eq(h_fx_run_cmd(alice, "check-synced.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check-synced.out",
					"\nuser:    in ftrack: 'alice' (id "),
			 1);
	ck_assert_int_eq(h_fx_out_count("check-synced.out",
					"), active, linked to this entry by "
					"its ftrack_syncd.uuid marker\n"),
			 1);
	/* disabled: said, and not a failure */
	ck_assert_int_eq(h_fx_run_cmd(gone, "check-gone.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check-gone.out",
					"\nuser:    'gone' is disabled "
					"(disabled_filter)"),
			 1);
	/* not found: exit 1 */
	ck_assert_int_eq(h_fx_run_cmd(nobody, "check-nobody.out"), 1);
	ck_assert_int_eq(h_fx_out_count("check-nobody.out",
					"\nuser:    FAILED: 'nobody': not "
					"found"),
			 1);
}

END_TEST

/* check --user applies login_format as the daemon does; a name it
 * leaves nothing of is a usage error. */
START_TEST(test_check_user_login_format)
{
	static const char *const qual[] = {
		"check", "--user", "CORP\\Alice@corp.example.com", NULL};
	static const char *const empty[] = {"check", "--user", "@corp", NULL};

	h_fx_config("ldap.login_format = strip-domain, strip-realm, lower\n");
	ck_assert_int_eq(h_fx_run_cmd(qual, "check-qual.out"), 0);
	ck_assert_int_eq(
		h_fx_out_count("check-qual.out",
			       "\nuser:    'CORP\\\\Alice@corp.example.com' "
			       "is the login 'alice' (login_format)\n"),
		1);
	ck_assert_int_eq(
		h_fx_out_count("check-qual.out",
			       "\nuser:    'alice': uid=alice," H_LDAP_PEOPLE
			       "\n"),
		1);
	ck_assert_int_eq(h_fx_run_cmd(empty, "check-empty.out"), 2);
	ck_assert_int_eq(h_fx_out_count("check-empty.out",
					"'@corp': [ldap] login_format leaves "
					"no valid login name"),
			 1);
}

END_TEST

/*
 * The reads a sync makes are tried, each on its own: a key that may not
 * read the markers fails check and says which read; create and update
 * are reported as not checked, never tried.
 */
START_TEST(test_check_rights)
{
	static const char *const args[] = {"check", NULL};
	static const char *const usage[] = {"check", "--user", NULL};
	long long seq;

	h_fx_config(NULL);
	seq = h_fx_emu_seq();
	ck_assert_int_eq(h_fx_run_cmd(args, "check-rights.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check-rights.out",
					"\nftrack:  read users: ok\n"),
			 1);
	ck_assert_int_eq(h_fx_out_count("check-rights.out",
					"\nftrack:  read the sync's markers "
					"(Metadata): ok\n"),
			 1);
	ck_assert_int_eq(h_fx_out_count("check-rights.out",
					"\nftrack:  create and update a user: "
					"not checked: "),
			 1);
	ck_assert_uint_eq(writes_since(seq), 0);
	/* the third request (server information, users, markers) refused */
	ck_assert_int_eq(
		h_emu_control(h_fx_emu, "/_emulator/fault",
			      "{\"skip\": 2, \"exception\": "
			      "\"PermissionError\", \"content\": \"Permission "
			      "denied: cannot read Metadata.\"}"),
		FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-denied.out"), 1);
	ck_assert_int_eq(h_fx_out_count("check-denied.out",
					"\nftrack:  read users: ok\n"),
			 1);
	ck_assert_int_eq(h_fx_out_count("check-denied.out",
					"\nftrack:  read the sync's markers "
					"(Metadata): FAILED: PermissionError: "
					"Permission denied: cannot read "
					"Metadata."),
			 1);
	/* --user without a login: usage */
	ck_assert_int_eq(h_fx_run_cmd(usage, "check-usage.out"), 2);
	ck_assert_int_eq(h_fx_out_count("check-usage.out",
					"usage: ftrack-syncd [-c FILE] check "
					"[--user LOGIN] [--dump]"),
			 1);
}

END_TEST

/*
 * A continuation reference under search_base (a referral object, as AD
 * sends for DomainDnsZones from the domain root): check counts the
 * people, names the reference in a warning and says a reconcile holds on
 * it; the people are still counted.  With the naming context in
 * ignore_referrals the reference is counted as skipped, no warning.  A
 * slapd of this test's own.
 */
START_TEST(test_check_names_referrals)
{
	static const char *const args[] = {"check", NULL};
	struct h_slapd *s = h_slapd_start(H_LDIF_PEOPLE, 0);
	char text[512];

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(
		h_slapd_modify(s, "dn: ou=zones," H_LDAP_PEOPLE "\n"
				  "changetype: add\n"
				  "objectClass: referral\n"
				  "objectClass: extensibleObject\n"
				  "ou: zones\n"
				  "ref: ldap://zones.example.com/"
				  "DC=DomainDnsZones,DC=example,DC=com\n"),
		FT_OK);
	H_FMT(text, "%s", H_FX_BASE_CONFIG);
	free(h_fx.conf);
	h_fx.conf = h_write_config(h_fx.dir, s, h_fx_emu, text);
	ck_assert_ptr_nonnull(h_fx.conf);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-ref.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check-ref.out",
					"\nwarning: [ldap] 1 continuation "
					"reference (not followed, not in "
					"ignore_referrals): "
					"'ldap://zones.example.com/"),
			 1);
	ck_assert_int_eq(h_fx_out_count("check-ref.out", "(ldap_complete)"), 1);
	H_FMT(text, "\nldap:    %d entries under '%s' match ", H_LDAP_NPEOPLE,
	      H_LDAP_PEOPLE);
	ck_assert_int_eq(h_fx_out_count("check-ref.out", text), 1);

	H_FMT(text, "%sldap.ignore_referrals = domaindnszones\n",
	      H_FX_BASE_CONFIG);
	free(h_fx.conf);
	h_fx.conf = h_write_config(h_fx.dir, s, h_fx_emu, text);
	ck_assert_ptr_nonnull(h_fx.conf);
	ck_assert_int_eq(h_fx_run_cmd(args, "check-ign.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check-ign.out",
					"\nldap:    1 continuation reference "
					"skipped (ignore_referrals)\n"),
			 1);
	ck_assert_int_eq(h_fx_out_count("check-ign.out", "warning: [ldap] 1 "
							 "continuation"),
			 0);
	h_slapd_stop(s);
}

END_TEST

/* --dump: every key once, defaults filled in, secrets never shown. */
START_TEST(test_check_dump)
{
	static const char *const args[] = {"check", "--dump", NULL};
	long long seq;
	char want[PATH_MAX + 64];

	h_fx_config(NULL);
	seq = h_fx_emu_seq();
	ck_assert_int_eq(h_fx_run_cmd(args, "check-dump.out"), 0);
	ck_assert_int_eq(
		h_fx_out_count("check-dump.out", "\nldap.timeout = 2\n"), 1);
	ck_assert_int_eq(h_fx_out_count("check-dump.out",
					"\npolicy.reconcile_interval = 0\n"),
			 1);
	ck_assert_int_eq(
		h_fx_out_count("check-dump.out", "\nftrack.api_key = (set)\n"),
		1);
	ck_assert_int_eq(h_fx_out_count("check-dump.out", H_EMU_KEY), 0);
	ck_assert_int_eq(h_fx_out_count("check-dump.out", "sync-secret"), 0);
	H_FMT(want, "\ndaemon.state_dir = %s\n", h_fx.state);
	ck_assert_int_eq(h_fx_out_count("check-dump.out", want), 1);
	ck_assert_int_eq(h_fx_out_count("check-dump.out", "ldap:    "), 0);
	ck_assert_int_eq(h_fx_emu_seq(), seq);
}

END_TEST

/* ---- check on a provisioner ------------------------------------------ */

static char pki[PATH_MAX];
static int prov_port, metrics_port;

/*
 * The config of a provisioner with the test PKI: listen and metrics_listen
 * on free ports, then extra (NULL: none).
 */
static void
prov_config(const char *extra)
{
	char lines[4 * PATH_MAX];
	char text[4096];

	if (pki[0] == '\0') {
		H_FMT(pki, "%s/pki", h_fx.dir);
		ck_assert_int_eq(mkdir(pki, 0700), 0);
		ck_assert_int_eq(h_ca_make(pki), FT_OK);
		prov_port = h_free_port();
		metrics_port = h_free_port();
		ck_assert_int_gt(prov_port, 0);
		ck_assert_int_gt(metrics_port, 0);
		ck_assert_int_ne(prov_port, metrics_port);
	}
	ck_assert_int_eq(h_prov_lines(lines, sizeof(lines), pki, prov_port,
				      metrics_port, false),
			 FT_OK);
	H_FMT(text, "%s%s", lines, extra != NULL ? extra : "");
	h_fx_config(text);
}

static const char *const check_args[] = {"check", NULL};

/* check's exit code is code and its output holds text (with its path). */
static void
check_says(int code, const char *out, const char *text)
{
	char path[PATH_MAX + 16], buf[16384];

	ck_assert_int_eq(h_fx_run_cmd(check_args, out), code);
	if (h_fx_out_count(out, text) >= 1)
		return;
	H_FMT(path, "%s/%s", h_fx.dir, out);
	(void)h_read_into(path, buf, sizeof(buf));
	ck_abort_msg("'%s' not in:\n%s", text, buf);
}

/*
 * A good provisioner: its certificate, key, CA, CRL, allow_hosts and
 * deny_file reported, both addresses bindable, then LDAP and ftrack as on
 * a standalone daemon: exit 0.  With the daemon running, its addresses
 * are bound already: said, still 0.  Another program on the port: 1.
 */
START_TEST(test_check_provisioner)
{
	char deny[PATH_MAX + 16], text[1024], extra[2048], fp[128], want[256];
	int lfd, lport;

	H_FMT(deny, "%s/denied-hosts", h_fx.dir);
	prov_config(NULL);
	H_FMT(text, "%s/host3.sha256", pki);
	ck_assert_int_gt(h_read_into(text, fp, sizeof(fp)), 0);
	fp[strcspn(fp, "\n")] = '\0';
	H_FMT(text,
	      "# shut out\nhost2.ws.example.com\n%s  # host3\n\nnot a host!\n",
	      fp);
	ck_assert_int_eq(h_write_file(deny, text, 0644), FT_OK);
	H_FMT(extra,
	      "provisioner.crl_file = %s/crl-revoked.pem\n"
	      "provisioner.deny_file = %s\n",
	      pki, deny);
	prov_config(extra);
	check_says(0, "prov-ok.out", "cert:    ok: '");
	ck_assert_int_eq(h_fx_out_count("prov-ok.out", "for localhost, key '"),
			 1);
	ck_assert_int_eq(h_fx_out_count("prov-ok.out", "ca:      ok: '"), 1);
	ck_assert_int_eq(h_fx_out_count("prov-ok.out", "crl:     ok: '"), 1);
	ck_assert_int_eq(
		h_fx_out_count("prov-ok.out", "from Test hosts CA, 1 revoked"),
		1);
	ck_assert_int_eq(h_fx_out_count("prov-ok.out", "allow:   1 glob"), 1);
	ck_assert_int_eq(
		h_fx_out_count("prov-ok.out", "1 host name, 1 fingerprint"), 1);
	H_FMT(want, "warning: %s:5: neither a host name", deny);
	ck_assert_int_eq(h_fx_out_count("prov-ok.out", want), 1);
	H_FMT(want, "listen:  ok: listen = 127.0.0.1:%d can be bound",
	      prov_port);
	ck_assert_int_eq(h_fx_out_count("prov-ok.out", want), 1);
	H_FMT(want, "listen:  ok: metrics_listen = 127.0.0.1:%d can be bound",
	      metrics_port);
	ck_assert_int_eq(h_fx_out_count("prov-ok.out", want), 1);
	ck_assert_int_eq(h_fx_out_count("prov-ok.out", "ldap:    ok"), 1);
	ck_assert_int_eq(h_fx_out_count("prov-ok.out", "ftrack:  ok"), 1);
	ck_assert_int_eq(h_fx_out_count("prov-ok.out", "FAILED"), 0);
	h_fx_assert_out_clean("prov-ok.out");
	/* the daemon holds both addresses */
	h_fx_daemon_start();
	h_fx_wait_or_fail(h_tcp_port_open, &prov_port, "the provisioner");
	check_says(0, "prov-running.out",
		   "is bound already, and the daemon "
		   "is running");
	ck_assert_int_eq(h_fx_out_count("prov-running.out",
					"is bound already, and the daemon"),
			 2);
	h_fx_daemon_stop();
	/* another program on the port, no daemon */
	lfd = h_tcp_listen(&lport);
	ck_assert_int_ge(lfd, 0);
	H_FMT(extra, "provisioner.listen = 127.0.0.1:%d\n", lport);
	prov_config(extra);
	check_says(1, "prov-taken.out",
		   "(by another program: the daemon is "
		   "not running)");
	(void)close(lfd);
	/* not numeric */
	prov_config("provisioner.metrics_listen = localhost:9464\n");
	check_says(1, "prov-name.out", "is not a numeric host:port");
	/* every host the CA signed: a warning only */
	prov_config("provisioner.allow_hosts = *\n");
	check_says(0, "prov-star.out",
		   "lets in every host the client CA "
		   "signed");
}

END_TEST

/*
 * What fails: an expired server certificate, a key of another, an
 * out-of-date CRL, a CRL of another CA, a file that is no CRL, a missing
 * deny_file: exit 1 each, LDAP and ftrack still checked; a key that group
 * or others may read: 2, naming the line.
 */
START_TEST(test_check_provisioner_fails)
{
	char extra[2048], key[PATH_MAX + 16], where[PATH_MAX + 32];
	char crl[PATH_MAX + 16];
	int line;

	prov_config(NULL);
	H_FMT(extra,
	      "provisioner.tls_cert_file = %s/expired.crt\n"
	      "provisioner.tls_key_file = %s/expired.key\n",
	      pki, pki);
	prov_config(extra);
	check_says(1, "prov-expired.out",
		   "expired on 2021-01-01T00:00:00Z: "
		   "the relays refuse this "
		   "provisioner");
	ck_assert_int_eq(h_fx_out_count("prov-expired.out", "ldap:    ok"), 1);
	ck_assert_int_eq(h_fx_out_count("prov-expired.out", "ftrack:  ok"), 1);
	H_FMT(extra, "provisioner.tls_key_file = %s/host1.key\n", pki);
	prov_config(extra);
	check_says(1, "prov-pair.out", "does not belong to the certificate");
	H_FMT(extra, "provisioner.crl_file = %s/crl-stale.pem\n", pki);
	prov_config(extra);
	check_says(1, "prov-stale.out",
		   "is out of date (its next update was "
		   "due on 2020-02-01T00:00:00Z)");
	H_FMT(extra, "provisioner.crl_file = %s/otherca/crl.pem\n", pki);
	{
		char cmd[3 * PATH_MAX];

		H_FMT(cmd,
		      "cd %s && openssl ca -batch -config otherca/ca.cnf "
		      "-cert otherca/ca.crt -keyfile otherca/ca.key -gencrl "
		      "-out otherca/crl.pem 2>/dev/null",
		      pki);
		ck_assert_int_eq(system(cmd), 0);
	}
	prov_config(extra);
	check_says(1, "prov-otherca.out", "trust:   FAILED: ");
	ck_assert_int_eq(h_fx_out_count("prov-otherca.out", "crl:     ok"), 1);
	H_FMT(crl, "%s/not-a-crl.pem", h_fx.dir);
	ck_assert_int_eq(h_write_file(crl, "hello\n", 0644), FT_OK);
	H_FMT(extra, "provisioner.crl_file = %s\n", crl);
	prov_config(extra);
	check_says(1, "prov-garbage.out",
		   "holds no certificate revocation "
		   "list");
	H_FMT(extra, "provisioner.deny_file = %s/no-such-file\n", h_fx.dir);
	prov_config(extra);
	check_says(1, "prov-nodeny.out", "deny:    FAILED: ");
	/* a key anyone may read: the config is refused */
	H_FMT(key, "%s/server-0644.key", h_fx.dir);
	{
		char src[PATH_MAX + 16], buf[8192];
		long n;

		H_FMT(src, "%s/server.key", pki);
		n = h_read_into(src, buf, sizeof(buf));
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(h_write_file(key, buf, 0644), FT_OK);
	}
	H_FMT(extra, "provisioner.tls_key_file = %s\n", key);
	prov_config(extra);
	line = h_fx_line_of(h_fx.conf, "server-0644.key");
	ck_assert_int_gt(line, 0);
	H_FMT(where, "%s:%d:", h_fx.conf, line);
	check_says(2, "prov-mode.out", where);
}

END_TEST

/* ---- the suite ------------------------------------------------------- */

Suite *
cmd_check_suite(void)
{
	Suite *s = suite_create("cmd_check");
	TCase *tc = tcase_create("cmd_check");

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, h_fx_servers_setup,
				    h_fx_servers_teardown);
	tcase_add_checked_fixture(tc, h_fx_world_setup, h_fx_world_teardown);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_check_transform_exit);
	tcase_add_test(tc, test_check_server_text_escaped);
	tcase_add_test(tc, test_check_refuses_plain_transports);
	tcase_add_test(tc, test_check_warns_insecure);
	tcase_add_test(tc, test_check_ignores_ldaprc);
	tcase_add_test(tc, test_check_system_ca);
	tcase_add_test(tc, test_check_gzip_bomb);
	tcase_add_test(tc, test_check_counts_people);
	tcase_add_test(tc, test_check_user);
	tcase_add_test(tc, test_check_user_login_format);
	tcase_add_test(tc, test_check_rights);
	tcase_add_test(tc, test_check_dump);
	tcase_add_test(tc, test_check_names_referrals);
	tcase_add_test(tc, test_check_provisioner);
	tcase_add_test(tc, test_check_provisioner_fails);
	suite_add_tcase(s, tc);
	return s;
}
