/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harness.h: helpers for integration tests: temp folders, free ports,
 * child processes that die with the test, a throwaway slapd loaded from
 * LDIF, the ftrack emulator (tests/ftrack_emulator.py), the daemon's config
 * file and the daemon as a process.
 *
 * Test code only (libcheck suites); single-threaded.  No function aborts or
 * calls ck_assert: failures are reported on stderr as "harness: unable to
 * ...", and returned as NULL or a negative FT_E_* code, so that the caller
 * asserts (ck_assert_ptr_nonnull, ck_assert_int_eq(r, FT_OK)).  That makes
 * every function safe in unchecked fixtures, which run in the runner
 * process itself.
 *
 * Processes: every child is started in its own process group with
 * PR_SET_PDEATHSIG = SIGKILL, so it is killed when the process that started
 * it (a forked libcheck test, or the runner for unchecked fixtures) dies,
 * even by a crash.  Only the process that started a child may wait for,
 * stop or restart it (waitpid); any process may signal it.  Objects
 * created in an unchecked fixture must be kept in static variables (so
 * that LeakSanitizer in forked tests sees them reachable) and stopped in
 * the fixture's teardown.
 *
 * Ownership: h_* constructors return objects the caller releases with the
 * matching h_*_stop (NULL is a no-op); returned char * are the caller's to
 * free(); json_t * are new references the caller json_decref()s.  Strings
 * from h_*_uri/url/dir are borrowed and live as long as their object.
 */
#ifndef FT_HARNESS_H
#define FT_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ft_attrs.h"

/* Set by the Makefile for test objects; the fallbacks only serve linters. */
#ifndef FT_TEST_SRCDIR
#define FT_TEST_SRCDIR "."
#endif
#ifndef FT_TEST_BUILDDIR
#define FT_TEST_BUILDDIR "./build"
#endif

/* The seed directory and its names (see the header of people.ldif). */
#define H_LDIF_PEOPLE   FT_TEST_SRCDIR "/tests/data/people.ldif"
#define H_LDAP_SUFFIX   "dc=example,dc=com"
#define H_LDAP_PEOPLE   "ou=people,dc=example,dc=com"
#define H_LDAP_ROOT_DN  "cn=admin,dc=example,dc=com"
#define H_LDAP_ROOT_PW  "admin-secret"
#define H_LDAP_SYNC_DN  "cn=ftrack-sync,ou=services,dc=example,dc=com"
#define H_LDAP_SYNC_PW  "sync-secret"
#define H_LDAP_DISABLED "(employeeType=disabled)"
#define H_LDAP_NPEOPLE  15 /* entries under ou=people, "gone" included */

/* The emulator's API user and personal key, as started by h_emu_start. */
#define H_EMU_USER "ftrack-sync"
#define H_EMU_KEY  "test-key"

#define H_DAEMON_BIN FT_TEST_BUILDDIR "/syncd/ftrack-syncd"

/* ---- files, ports, waiting ------------------------------------------- */

/*
 * Create a fresh folder "ftsync-XXXXXX" (mode 0700) under $TMPDIR or /tmp.
 * Returns its path (caller frees), or NULL.
 */
FT_MUST_USE char *h_tmpdir(void);

/*
 * Remove path and everything below it (does not follow symlinks or cross
 * mounts).  As a guard, only paths containing "/ftsync-" (made by
 * h_tmpdir) are touched.  NULL is a no-op.
 */
void h_rmtree(const char *path);

/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
FT_MUST_USE int h_free_port(void);

/*
 * For the test relays and junk servers: a listening TCP socket on a free
 * port of 127.0.0.1 (*ret_port gets it), or -1; a connection to a port of
 * 127.0.0.1, or -1; and a full write (EINTR and short writes handled),
 * false when the peer is gone.  Every fd is close-on-exec.
 */
FT_MUST_USE int h_tcp_listen(int *ret_port);
FT_MUST_USE int h_tcp_connect(int port);
bool h_write_all(int fd, const char *p, size_t n);

/*
 * Read a whole file (at most 256 MiB), NUL-terminated; *ret_len (if not
 * NULL) gets its length.  Returns the bytes (caller frees) or NULL with
 * errno set.  Silent: a missing file is a normal answer while polling.
 */
FT_MUST_USE char *h_read_file(const char *path, size_t *ret_len);

/*
 * Write text to path (created or truncated, given mode).
 * Returns FT_OK or FT_E_IO.
 */
FT_MUST_USE int h_write_file(const char *path, const char *text, mode_t mode);

/*
 * Call cond(arg) every 10 ms until it returns true or timeout_ms passed.
 * Returns the last answer of cond (it is always asked at least once, and
 * once more at the deadline).
 */
bool h_wait_until(bool (*cond)(void *), void *arg, unsigned timeout_ms);

/* ---- child processes ------------------------------------------------- */

struct h_proc;

/*
 * Start argv[0] (searched in PATH when it has no '/') with argv, stdin
 * from /dev/null, stdout and stderr appended to log_path (created 0600; NULL:
 * /dev/null), every other fd closed, in a new process group, and killed by
 * SIGKILL when the starting process dies.  Returns the process (release
 * with h_proc_stop) or NULL.  An exec failure shows as exit status 127.
 */
FT_MUST_USE struct h_proc *h_proc_start(const char *const argv[],
					const char *log_path);

/* The process id (still valid after it exited: it is not reused until
 * h_proc_stop or h_proc_wait reaps it). */
pid_t h_proc_pid(const struct h_proc *p);

/*
 * Send sig to the process (not its group).  Returns FT_OK, FT_E_INVAL
 * when it was already reaped, or FT_E_IO.
 */
FT_MUST_USE int h_proc_signal(struct h_proc *p, int sig);

/*
 * Wait up to timeout_ms (0: just look) for the process to exit.  Returns
 * FT_OK with the raw wait status in *ret_status (if not NULL; use
 * WIFEXITED etc.), FT_E_AGAIN if it is still running, FT_E_IO on error
 * (ECHILD: not started by this process).
 */
FT_MUST_USE int h_proc_wait(struct h_proc *p, unsigned timeout_ms,
			    int *ret_status);

/*
 * Stop and release: SIGTERM (and SIGCONT, in case it is stopped) to its
 * process group, up to 5 s for it to exit, then SIGKILL; reap; free.
 * NULL is a no-op.
 */
void h_proc_stop(struct h_proc *p);

/*
 * Run argv to completion (h_proc_start with log_path), waiting at most
 * timeout_ms; on timeout the process is stopped and FT_E_AGAIN returned.
 * Returns FT_OK with the raw wait status in *ret_status, or an FT_E_* code.
 */
FT_MUST_USE int h_run(const char *const argv[], const char *log_path,
		      unsigned timeout_ms, int *ret_status);

/* ---- slapd ----------------------------------------------------------- */

struct h_slapd;

/*
 * Start a private slapd (tests/slapd.sh start) in a fresh h_tmpdir on a
 * free port of 127.0.0.1, loaded from ldif (e.g. H_LDIF_PEOPLE), and wait
 * up to 10 s until it answers an anonymous bind.  sizelimit > 0 caps every
 * non-root search at that many entries (more: LDAP_SIZELIMIT_EXCEEDED);
 * 0 leaves the sync account unlimited.  slapd's log is DIR/slapd.log.
 * Returns the server (release with h_slapd_stop) or NULL.
 */
FT_MUST_USE struct h_slapd *h_slapd_start(const char *ldif, unsigned sizelimit);

/* "ldap://127.0.0.1:PORT" (borrowed). */
const char *h_slapd_uri(const struct h_slapd *s);

/* Its folder: slapd.conf, slapd.log, db/ (borrowed). */
const char *h_slapd_dir(const struct h_slapd *s);

/* slapd's process id (0 after h_slapd_down). */
pid_t h_slapd_pid(const struct h_slapd *s);

/*
 * Apply LDIF change records (as for ldapmodify: "dn: ...\nchangetype:
 * modify\nreplace: mail\nmail: x\n") as the rootdn, with ldapmodify.
 * Returns FT_OK, FT_E_LDAP (ldapmodify failed; its output is printed) or
 * another FT_E_* code.
 */
FT_MUST_USE int h_slapd_modify(struct h_slapd *s, const char *ldif_text);

/* Freeze (SIGSTOP) and thaw (SIGCONT) slapd: the "slow or hung LDAP" fault.
 * Returns FT_OK or an FT_E_* code. */
FT_MUST_USE int h_slapd_pause(struct h_slapd *s);
FT_MUST_USE int h_slapd_resume(struct h_slapd *s);

/*
 * Stop slapd (SIGTERM, then SIGKILL), keeping its folder, data and port:
 * the "LDAP down" fault; h_slapd_restart brings it back.
 */
void h_slapd_down(struct h_slapd *s);

/*
 * Stop slapd (unless it is down) and start it again on the same port and
 * data (no reload), waiting until it answers.  Returns FT_OK or an FT_E_*
 * code.
 */
FT_MUST_USE int h_slapd_restart(struct h_slapd *s);

/* Stop slapd (SIGTERM, then SIGKILL) and remove its folder; free.  NULL is
 * a no-op. */
void h_slapd_stop(struct h_slapd *s);

/* ---- small LDAP client ----------------------------------------------- */

/*
 * Simple bind to uri as dn with pw (dn NULL: anonymous), 5 s timeouts.
 * Returns the LDAP result code (LDAP_SUCCESS, LDAP_INVALID_CREDENTIALS,
 * LDAP_SERVER_DOWN, LDAP_TIMEOUT, ...).
 */
int h_ldap_bind(const char *uri, const char *dn, const char *pw);

/*
 * Bind as dn/pw (dn NULL: anonymous), search the subtree of base for
 * filter and count the entries.  Returns the LDAP result code; *ret_count
 * (if not NULL) gets the entries received, also when the result is an
 * error such as LDAP_SIZELIMIT_EXCEEDED.
 */
int h_ldap_count(const char *uri, const char *dn, const char *pw,
		 const char *base, const char *filter, int *ret_count);

/*
 * Anonymous search of H_LDAP_PEOPLE for filter; returns every value of
 * attr of every matching entry, each followed by '\n', in server order
 * ("" when none), or NULL on error.  Caller frees.
 */
FT_MUST_USE char *h_ldap_values(const char *uri, const char *filter,
				const char *attr);

/* ---- the ftrack emulator --------------------------------------------- */

struct h_emu;

/*
 * Start `python3 -u tests/ftrack_emulator.py --port 0 --api-user
 * ftrack-sync --api-key test-key [extra_args...]` (extra_args: NULL or a
 * NULL-terminated list) in a fresh h_tmpdir, with stdout in DIR/stdout and
 * stderr in DIR/emulator.log (files, not pipes, so a chatty emulator can
 * never block); wait up to 10 s for the first stdout line "listening on
 * http://127.0.0.1:PORT".  Returns the emulator (h_emu_stop) or NULL.
 */
FT_MUST_USE struct h_emu *h_emu_start(const char *const extra_args[]);

/* "http://127.0.0.1:PORT", without a trailing slash (borrowed). */
const char *h_emu_url(const struct h_emu *e);

/* Its folder (stdout, emulator.log; free for --state files) (borrowed). */
const char *h_emu_dir(const struct h_emu *e);

/* The emulator's process (borrowed), e.g. to signal it. */
struct h_proc *h_emu_proc(const struct h_emu *e);

#define H_HTTP_AUTH   1 /* send ftrack-user / ftrack-api-key */
#define H_HTTP_STRICT 2 /* send ftrack-strict-api: true */

/*
 * One HTTP request to the emulator: method ("GET", "POST", ...), path
 * ("/api", "/_emulator/stats"), body (NULL: none; else sent as
 * application/json), flags H_HTTP_*.  30 s timeout.  Returns FT_OK with
 * the status in *ret_status and the NUL-terminated body in *ret_body
 * (caller frees) whatever the status; FT_E_HTTP when no answer came.
 */
FT_MUST_USE int h_emu_http(const struct h_emu *e, const char *method,
			   const char *path, const char *body, int flags,
			   long *ret_status, char **ret_body);

/* GET path; the parsed JSON body, or NULL (no answer, status not 2xx, not
 * JSON).  Caller json_decref()s. */
FT_MUST_USE json_t *h_emu_get(const struct h_emu *e, const char *path);

/* POST json_body (NULL: an empty body) to path; as h_emu_get. */
FT_MUST_USE json_t *h_emu_post(const struct h_emu *e, const char *path,
			       const char *json_body);

/*
 * POST ops_json (a JSON array of operations) to /api with ftrack-user,
 * ftrack-api-key and Content-Type: application/json (non-strict mode).
 * Returns the parsed body whatever the HTTP status (an array of results,
 * or an {"exception", ...} object), or NULL when there was no JSON answer.
 */
FT_MUST_USE json_t *h_emu_api(const struct h_emu *e, const char *ops_json);

/*
 * The User named username (select id, username, first_name, last_name,
 * email, is_active), or NULL when there is none (or on error).
 */
FT_MUST_USE json_t *h_emu_user(const struct h_emu *e, const char *username);

/* Stop the emulator (SIGTERM: it saves --state; then SIGKILL after 5 s),
 * remove its folder, free.  NULL is a no-op. */
void h_emu_stop(struct h_emu *e);

/* ---- the daemon ------------------------------------------------------ */

/*
 * Write DIR/ftrack-syncd.conf (mode 0600) for a daemon talking to s and e,
 * plus DIR/ldap.secret ("sync-secret") and DIR/ftrack.secret ("test-key"),
 * both 0600, and create DIR/state (0700).  The file holds:
 *   [ldap]   uri, bind_dn, bind_password_file, search_base,
 *            search_filter (objectClass=inetOrgPerson),
 *            disabled_filter (employeeType=disabled)
 *   [ftrack] server, api_user, api_key_file
 *   [daemon] socket DIR/notify.sock, state_dir DIR/state,
 *            log_target stderr, log_level debug
 * s or e NULL: the uri or server is a closed port (ldap://127.0.0.1:1,
 * http://127.0.0.1:1).
 *
 * extra (NULL or "") changes that table, one line each:
 *   section.key = value     set (replace, or add; a new section is
 *                           appended), e.g. "policy.reconcile_create = yes"
 *   section.key =           set to the empty value
 *   -section.key            remove a key written by default
 *   # or ; ...              comment; blank lines are ignored
 * Sections come out in order of first appearance, keys in insertion order.
 * Returns the config path (caller frees) or NULL (e.g. a malformed line).
 */
FT_MUST_USE char *h_write_config(const char *dir, const struct h_slapd *s,
				 const struct h_emu *e, const char *extra);

/*
 * Start `ftrack-syncd -c conf_path run` (H_DAEMON_BIN) with output to
 * log_path.  Returns the process (h_proc_stop) or NULL.
 */
FT_MUST_USE struct h_proc *h_daemon_start(const char *conf_path,
					  const char *log_path);

/*
 * Run `ftrack-syncd -c conf_path args...` (args NULL-terminated, e.g.
 * {"reconcile", "--apply", NULL}) to completion within timeout_ms, output
 * to log_path.  As h_run: FT_OK with the raw wait status in *ret_status.
 */
FT_MUST_USE int h_daemon_run(const char *conf_path, const char *const args[],
			     const char *log_path, unsigned timeout_ms,
			     int *ret_status);

#endif
