/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harness.h: the test library (tests/lib/h_*.c), one prefix h_: messages,
 * time, files, ports and waiting (h_util.c), /proc readers (h_util.c),
 * child processes that die with the test and one call's peak memory
 * measured in a child (h_proc.c), a small LDAP client,
 * a throwaway slapd loaded from LDIF and the LDIF writer (h_ldap.c), TCP,
 * HTTP and relays that cut connections or answer junk (h_net.c), the
 * ftrack emulator (tests/ftrack_emulator.py), its controls, store and
 * counters (h_emu.c), the daemon's config, process and socket (h_daemon.c),
 * its state folder (h_state.c), a "world" of slapd + emulator + config
 * with commands run as processes and their reports (h_world.c), a private
 * PAM world (h_pam.c), syslog capture (h_syslog.c) and sanitizer reports
 * (h_san.c); and the daemon suites' shared world, whose helpers assert
 * (h_fixture.c).  tests/integration/check_harness.c tests it.
 *
 * Test code only (libcheck suites); single-threaded.  No function (but the
 * h_fx_* of h_fixture.c, see there) aborts or
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
#include <limits.h>
#include <security/pam_appl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ft_attrs.h"
#include "ft_proto.h"

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

/* H_ASAN when built with AddressSanitizer; H_ASAN_OR(a, b): a then, else b. */
#if defined(__SANITIZE_ADDRESS__)
#define H_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H_ASAN 1
#endif
#endif
#ifdef H_ASAN
#define H_ASAN_OR(a, b) (a)
#else
#define H_ASAN_OR(a, b) (b)
#endif

/* ---- messages, time ---------------------------------------------------- */

/* "harness: " fmt "\n" on stderr. */
void h_err(const char *fmt, ...) FT_PRINTF(1, 2);

/* snprintf into buf; FT_OK, or FT_E_TOOBIG (said on stderr) when cut. */
FT_MUST_USE int h_fmt(char *buf, size_t cap, const char *fmt, ...)
	FT_PRINTF(3, 4);

/*
 * snprintf into an array, asserting (libcheck: for suites, not for the
 * rest of the library) that nothing was cut; h_fmt_check is in
 * h_fixture.c, with the other helpers that assert.
 */
#define H_FMT(buf, ...)                                                        \
	h_fmt_check(snprintf((buf), sizeof(buf), __VA_ARGS__), sizeof(buf))

/* Assert that snprintf's n fits cap. */
void h_fmt_check(int n, size_t cap);

/*
 * Write the file path (0600) until its file system is full (ENOSPC, the
 * last bytes one at a time), asserting; in h_fixture.c.  For a tmpfs the
 * test mounted itself.
 */
void h_fill_up(const char *path);

/* CLOCK_MONOTONIC in milliseconds. */
long long h_now_ms(void);

/* Sleep ms milliseconds (EINTR resumed). */
void h_sleep_ms(unsigned ms);

/* "harness: what (path):" then the whole file at path on stderr. */
void h_show_log(const char *what, const char *path);

/* The last 6000 bytes of the file at path on stderr, to explain a failure. */
void h_show_tail(const char *path);

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

/*
 * Run *ret = fn(arg) with the descriptor fd (1: stdout, 2: stderr) sent to
 * a temporary file, stdio flushed around it, then put back; what fn wrote
 * goes to out (at most cap - 1 bytes, NUL-terminated).  Returns FT_OK, or
 * FT_E_IO when the descriptor could not be redirected or restored.
 */
FT_MUST_USE int h_capture(int fd, int (*fn)(void *), void *arg, char *out,
			  size_t cap, int *ret);

/*
 * One folder for a whole suite, removed whatever happens: h_suite_setup
 * makes it (h_tmpdir) and points TMPDIR at it, so that every h_tmpdir of
 * the suite's tests lands inside; h_suite_teardown puts TMPDIR back and
 * removes it.  The pair is a tcase's unchecked fixture.  h_suite_dir: the
 * folder, or NULL (none made).
 */
void h_suite_setup(void);
void h_suite_teardown(void);
const char *h_suite_dir(void);

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
/* For h_wait_until: whether the port *(int *)arg of 127.0.0.1 takes a
 * connection now. */
bool h_tcp_port_open(void *arg);

/*
 * A recorder for a listening socket lfd (h_tcp_listen) that nobody serves:
 * accept the first client (waiting at most wait_ms for one; the kernel
 * keeps what it sent, even after it gave up and closed) and read what it
 * sent until it is quiet for 200 ms, into buf (capacity cap,
 * NUL-terminated; binary data may hold NULs).  Returns the byte count, or
 * -1 when no client came.
 */
long h_tcp_take(int lfd, char *buf, size_t cap, unsigned wait_ms);

/*
 * 1 when an established IPv4 TCP connection whose local port is port
 * holds bytes its owner has not read yet (a request waiting in a
 * stopped server's socket), 0 when none does, -1 on error.
 */
int h_tcp_unread(int port);

/* The port of a "scheme://host:PORT" URI, or -1. */
int h_uri_port(const char *uri);

/* ---- relays that cut, a server that answers junk --------------------- */

enum h_relay_kind {
	H_RELAY_LDAP,  /* cut after each LDAP SearchResultDone */
	H_RELAY_HTTP,  /* cut after each complete HTTP response */
	H_RELAY_JUNK,  /* no server: answer every client with junk, close */
	H_RELAY_BYTES, /* cut after n bytes (h_relay_cutter) */
};

struct h_relay;

/*
 * A child process listening on a free port of 127.0.0.1.  LDAP and HTTP:
 * each client is relayed to 127.0.0.1:port (one client at a time, in
 * order), and both connections are closed as soon as one complete answer
 * of that kind went back to the client, so that the client finds its
 * kept connection dead at its next request.  JUNK: port is unused; each
 * client gets a few bytes that are neither LDAP nor HTTP, then the
 * connection is closed.  The child dies with the caller.  Returns the
 * relay (h_relay_stop) or NULL.
 */
FT_MUST_USE struct h_relay *h_relay_start(enum h_relay_kind kind, int port);

/* The port clients connect to. */
int h_relay_port(const struct h_relay *r);

/* Connections accepted so far. */
long h_relay_accepted(const struct h_relay *r);

/* Connections cut after a complete answer so far. */
long h_relay_cuts(const struct h_relay *r);

/* Kill the child, reap it, free.  NULL is a no-op. */
void h_relay_stop(struct h_relay *r);

/*
 * A TCP relay on a free port of 127.0.0.1 towards 127.0.0.1:port, in a
 * child process.  Once it has relayed cut_after bytes from the server to
 * a client, it sends SIGKILL to kill_pid (when > 0), closes everything
 * and stops listening, so the client sees the server die in the middle
 * of an answer, and cannot reconnect.  Returns the relay (h_relay_stop)
 * or NULL.
 */
FT_MUST_USE struct h_relay *h_relay_cutter(int port, size_t cut_after,
					   pid_t kill_pid);

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
 * At most cap bytes of the file at path into buf (not NUL-terminated).
 * Returns the bytes copied, or -1 when it cannot be read.
 */
long h_read_into(const char *path, char *buf, size_t cap);

/* Occurrences of text in the file at path; -1 when it cannot be read. */
long h_file_count(const char *path, const char *text);

/* Occurrences of text in the string hay. */
long h_text_count(const char *hay, const char *text);

/*
 * The first thing in len bytes of text that the one cleaner hides
 * (include/ft_clean.h: a control character but '\n', DEL, a C1 control,
 * a bidi override or isolate, U+2028/U+2029, a byte that is not UTF-8),
 * or NULL when there is none: for output a person sees.
 */
const char *h_text_hidden(const char *text, size_t len);

/*
 * Call cond(arg) every 10 ms until it returns true or timeout_ms passed.
 * Returns the last answer of cond (it is always asked at least once, and
 * once more at the deadline).
 */
bool h_wait_until(bool (*cond)(void *), void *arg, unsigned timeout_ms);

/* ---- /proc ------------------------------------------------------------ */

/* Open file descriptors of pid (entries of /proc/PID/fd, without the one
 * used to read them when pid is this process), or -1. */
long h_fd_count(pid_t pid);

/* A "kB" field of /proc/PID/status ("VmHWM", "VmRSS") in KiB, or -1. */
long h_status_kib(pid_t pid, const char *field);

/* True when every thread of pid is stopped (state T in
 * /proc/PID/task/TID/stat, after SIGSTOP). */
bool h_pid_stopped(pid_t pid);

/*
 * Run fn(arg, out) in a forked child whose peak RSS is reset first
 * (/proc/self/clear_refs 5), then copy the out_size bytes fn wrote at out
 * back into out.  fn must not assert (it runs outside libcheck's view);
 * objects it uses may be made before.  Returns what the child's peak RSS
 * rose by during fn (VmHWM after minus VmRSS before) in KiB, or -1 on
 * failure (said on stderr).  In h_proc.c.
 */
long h_peak_kib_in_child(void (*fn)(void *arg, void *out), void *arg, void *out,
			 size_t out_size);

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
 * h_proc_start with stdout to fd out and stderr to fd err (both kept
 * open, the caller closes them).  Returns the process or NULL.
 */
FT_MUST_USE struct h_proc *h_proc_spawn(const char *const argv[], int out,
					int err);

/* Open path for appending (created 0600; NULL: /dev/null), close-on-exec.
 * Returns the fd or -1 (said on stderr). */
FT_MUST_USE int h_open_log(const char *path);

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

/*
 * h_slapd_modify, with the critical Relax Rules control when relax (so
 * that an add may carry the entry's old entryUUID).
 */
FT_MUST_USE int h_slapd_change(struct h_slapd *s, const char *ldif_text,
			       bool relax);

/* Freeze (SIGSTOP) and thaw (SIGCONT) slapd: the "slow or hung LDAP" fault.
 * h_slapd_pause returns once every thread of slapd is stopped.  Returns FT_OK
 * or an FT_E_* code. */
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

/* (uid=<uid escaped as RFC 4515 says>) into buf.  FT_OK or FT_E_TOOBIG. */
FT_MUST_USE int h_uid_filter(const char *uid, char *buf, size_t cap);

/* The entryUUID of the person uid at uri (caller frees), or NULL (none,
 * or more than one). */
FT_MUST_USE char *h_ldap_entry_uuid(const char *uri, const char *uid);

/*
 * Write to path the seed people.ldif followed by n generated people
 * uid=<prefix>NNNN (0 <= NNNN < n, four digits), each with cn, sn,
 * givenName and mail, then the LDIF text extra (NULL: none).  Returns
 * FT_OK or an FT_E_* code.
 */
FT_MUST_USE int h_write_ldif(const char *path, const char *prefix, unsigned n,
			     const char *extra);

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

/* ---- the emulator's store, counters and log (its /_emulator/ API) ---- */

/* POST body to path (a control); FT_OK when it answered 2xx JSON. */
FT_MUST_USE int h_emu_control(const struct h_emu *e, const char *path,
			      const char *body);

/* Reset the emulator: counters, faults, log, every entity except the API
 * user, latency 0, no seat cap, whole write answers.  Returns FT_OK or
 * FT_E_HTTP. */
FT_MUST_USE int h_emu_reset(const struct h_emu *e);

/* An integer member of /_emulator/stats ("requests"), or -1. */
long long h_emu_stat(const struct h_emu *e, const char *name);

/* /_emulator/stats <group>.<name> ("operations", "create"; 0 when absent),
 * or -1. */
long long h_emu_stat2(const struct h_emu *e, const char *group,
		      const char *name);

/* The User row named username from /_emulator/users, or NULL. */
FT_MUST_USE json_t *h_emu_user_row(const struct h_emu *e, const char *username);

/* The id of the (first) User named username (caller frees), or NULL. */
FT_MUST_USE char *h_emu_user_id(const struct h_emu *e, const char *username);

/* User rows named username (any activity), or -1. */
long h_emu_named(const struct h_emu *e, const char *username);

/* Every User row (the API user included), or -1. */
long h_emu_users(const struct h_emu *e);

/* Every User row except the API user, or -1. */
long h_emu_people(const struct h_emu *e);

/*
 * Metadata rows key on User user_id; *ret_value (if not NULL) gets the
 * value of the first one (caller frees; NULL when none).  Returns the
 * count or -1.
 */
long h_emu_markers(const struct h_emu *e, const char *user_id, const char *key,
		   char **ret_value);

/* h_emu_markers of the User named username; -1 when there is none. */
long h_emu_user_markers(const struct h_emu *e, const char *username,
			const char *key, char **ret_value);

/*
 * The whole store as {"users": [...], "metadata": [...]}, to compare
 * before and after a run that must write nothing.
 */
FT_MUST_USE json_t *h_emu_snapshot(const struct h_emu *e);

/*
 * The /_emulator/log entries after seq (0: all), as JSON text (caller
 * frees), or NULL.  *ret_last (if not NULL) gets the highest seq seen
 * (seq when none).
 */
FT_MUST_USE char *h_emu_log(const struct h_emu *e, long long seq,
			    long long *ret_last);

/* The highest seq of the request log (0 when empty), or -1. */
long long h_emu_last_seq(const struct h_emu *e);

/*
 * The operations that are not queries in the requests logged after seq,
 * as an array of {"action", "entity_type", "entity_key"}, or NULL.
 */
FT_MUST_USE json_t *h_emu_writes(const struct h_emu *e, long long seq);

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
 *            disabled_filter (employeeType=disabled),
 *            insecure_ldap yes (a password bind to slapd's high port)
 *   [ftrack] server, api_user, api_key_file,
 *            insecure_http yes (the emulator's http://127.0.0.1:PORT)
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

/* ---- login datagrams to the daemon (h_daemon.c) ---------------------- */

/*
 * A datagram socket connected to the daemon's socket at path, sending
 * with SCM_CREDENTIALS (this process's pid, euid and egid) like
 * pam_ftrack does.  Returns the fd (close it) or -1 with errno set.
 */
FT_MUST_USE int h_sender_open(const char *path);

/*
 * Send len bytes of msg on fd as one datagram with credentials; flags 0
 * (block until the daemon's queue has room) or MSG_DONTWAIT.  Returns
 * FT_OK, FT_E_AGAIN (queue full, with MSG_DONTWAIT) or FT_E_IO (errno).
 */
FT_MUST_USE int h_sender_send(int fd, const void *msg, size_t len, int flags);

/*
 * h_sender_send() with uid and gid in the credentials instead of this
 * process's: as root (CAP_SETUID, CAP_SETGID) any uid, as the kernel
 * lets a user-namespace root send from any uid of its uid_map; the
 * daemon sees that uid.
 */
FT_MUST_USE int h_sender_send_as(int fd, const void *msg, size_t len, int flags,
				 uid_t uid, gid_t gid);

/*
 * The login event of user (service "ftest") as FTSYNC1 text into buf.
 * Returns its length, or 0 when the user cannot be encoded.
 */
size_t h_event(const char *user, char *buf, size_t cap);

/*
 * One login of user sent as root (blocking) to the socket at path.
 * Returns FT_OK or an FT_E_* code.
 */
FT_MUST_USE int h_login(const char *path, const char *user);

/* A child process sending datagrams (see h_flood_start). */
struct h_flood;

/*
 * Fork a child that connects to the socket at path, then (uid != 0)
 * drops to uid/gid, as a screen locker running PAM as the user would,
 * and sends len bytes of msg again and again, blocking while the
 * daemon's queue is full, until it has sent at least min datagrams and
 * h_flood_finish() was called, and never more than max.  The child dies
 * with the caller.  Returns the flood (h_flood_finish) or NULL.
 */
FT_MUST_USE struct h_flood *h_flood_start(const char *path, uid_t uid,
					  gid_t gid, const char *msg,
					  size_t len, long min, long max);

/* Datagrams the child has sent so far (each one is in the daemon's queue). */
long h_flood_sent(const struct h_flood *f);

/*
 * Tell the child to stop once it has sent min, wait up to timeout_ms for
 * it and free f (NULL: -1).  Returns the number of datagrams it sent, or
 * -1 when it failed (could not connect, drop privileges or send) or hung.
 */
long h_flood_finish(struct h_flood *f, unsigned timeout_ms);

/* h_flood_start(..., n, n) then h_flood_finish: n datagrams as uid/gid.
 * Returns the number sent, or -1. */
long h_send_as(const char *path, uid_t uid, gid_t gid, const char *msg,
	       size_t len, long n);

/* ---- the daemon's state folder (h_state.c) --------------------------- */

/* state/queue/<hex of user> into buf.  Returns FT_OK or FT_E_TOOBIG. */
FT_MUST_USE int h_queue_path(const char *state, const char *user, char *buf,
			     size_t cap);

/* True when user's queue file exists. */
bool h_queued(const char *state, const char *user);

/*
 * Files in state/<sub> ("queue" or "queue/failed") that are not folders
 * and do not start with '.'; -1 when the folder cannot be read.
 */
long h_queue_count(const char *state, const char *sub);

/*
 * What pam_ftrack does when the daemon cannot be reached: write the
 * login of user as state/queue/<hex> through a temp file and a rename.
 * Returns FT_OK or an FT_E_* code.
 */
FT_MUST_USE int h_spool(const char *state, const char *user);

/*
 * What a provisioner journals for a login a relay host reported: the
 * login of user with host=host (as written: the test chooses it, also an
 * invalid one), as state/queue/<hex>.  Returns FT_OK or an FT_E_* code.
 */
FT_MUST_USE int h_spool_host(const char *state, const char *user,
			     const char *host);

/*
 * The value of sample (the name after the "ftrack_syncd_" prefix, with
 * its labels if any, e.g. "events_dropped_total{reason=\"malformed\"}")
 * in state/metrics.prom; -1 when the file or the sample is missing.
 */
long long h_metric(const char *state, const char *sample);

/*
 * Write n login events of the users <prefix>000000 .. into state/queue/
 * as the PAM module's spool would (one file per user, named by the hex
 * of the name), without fsync.  Returns FT_OK or an FT_E_* code.
 */
FT_MUST_USE int h_queue_fill(const char *state, const char *prefix, unsigned n);

/* ---- a world: slapd + emulator + config (h_world.c) ---------------- */

/*
 * The config lines every h_world_config() starts from: no periodic reconcile,
 * no login cooldown, and guards that stay out of the way (the tests of a
 * guard set it again).
 */
#define H_WORLD_BASE                                                           \
	"policy.reconcile_interval = 0\n"                                      \
	"policy.login_cooldown = 0\n"                                          \
	"policy.max_deactivate = 100%\n"                                       \
	"policy.max_shrink = 100%\n"

struct h_world {
	char *dir;             /* h_tmpdir: config, secrets, state/, outputs */
	struct h_slapd *slapd; /* owned */
	struct h_emu *emu;     /* owned */
	char *conf;            /* DIR/ftrack-syncd.conf */
	char state[PATH_MAX];  /* DIR/state */
	unsigned nrun;         /* commands run so far (names output files) */
};

/*
 * Start slapd (ldif, sizelimit: as h_slapd_start) and the emulator, and
 * write the config (H_WORLD_BASE, then extra as for h_write_config).
 * Returns the world (h_world_stop) or NULL.
 */
FT_MUST_USE struct h_world *h_world_start(const char *ldif, unsigned sizelimit,
					  const char *extra);

/* Rewrite the config: H_WORLD_BASE, then extra.  FT_OK or FT_E_*. */
FT_MUST_USE int h_world_config(struct h_world *w, const char *extra);

/* Stop both servers, remove the folder, free.  NULL is a no-op. */
void h_world_stop(struct h_world *w);

/* ---- ftrack-syncd commands in a world -------------------------------- */

/* What a command did. */
struct h_cmd_out {
	int code;   /* exit status, or -1 when a signal ended it */
	int signal; /* that signal, else 0 */
	char *out;  /* its stdout (never NULL after success) */
	char *err;  /* its stderr (never NULL after success) */
};

/* A command running in the background (h_cmd_start). */
struct h_cmd_bg;

/*
 * Start `ftrack-syncd -c CONF words...` where words is args split at
 * spaces (e.g. "reconcile --apply --json", "sync bob"), stdout and
 * stderr into their own files in the world's folder.  Returns the
 * command (finish with h_cmd_finish) or NULL.
 */
FT_MUST_USE struct h_cmd_bg *h_cmd_start(struct h_world *w, const char *args);

/* Its process id. */
pid_t h_cmd_pid(const struct h_cmd_bg *bg);

/*
 * Wait up to timeout_ms for the command (SIGKILL after that), fill *ret
 * (h_cmd_clear) and free bg.  Returns FT_OK, FT_E_AGAIN (it had to be
 * killed; *ret still filled) or another FT_E_* code.
 */
FT_MUST_USE int h_cmd_finish(struct h_cmd_bg *bg, unsigned timeout_ms,
			     struct h_cmd_out *ret);

/* h_cmd_start then h_cmd_finish within 60 s. */
FT_MUST_USE int h_cmd(struct h_world *w, const char *args,
		      struct h_cmd_out *ret);

/* Free the outputs of r. */
void h_cmd_clear(struct h_cmd_out *r);

/* ---- the reports -------------------------------------------------------- */

/*
 * The name that stands for the last run of either kind: the newer (by
 * modification time) of last-apply.json and last-dry-run.json.
 */
#define H_REPORT_LAST "(last run)"

/* state/reports/<name> parsed, or NULL (missing or not JSON); name may
 * be H_REPORT_LAST. */
FT_MUST_USE json_t *h_report(const struct h_world *w, const char *name);

/* True when state/reports/<name> exists (name: or H_REPORT_LAST). */
bool h_report_exists(const struct h_world *w, const char *name);

/* counts.<kind> of a report, or -1. */
long h_report_count(const json_t *rep, const char *kind);

/* The action of rep about user (borrowed), or NULL. */
json_t *h_report_action(const json_t *rep, const char *user);

/* The guard named name of rep (borrowed), or NULL. */
json_t *h_report_guard(const json_t *rep, const char *name);

/* ---- sanitizer reports (h_san.c) --------------------------------------- */

/*
 * True when text (NULL: false) holds a report of AddressSanitizer,
 * LeakSanitizer, UndefinedBehaviorSanitizer or ThreadSanitizer.
 */
bool h_san_text(const char *text);

/* h_san_text of the file at path (false when it cannot be read). */
bool h_san_file(const char *path);

/*
 * Under ASan (H_ASAN): append quarantine_size_mb=16 to $ASAN_OPTIONS, for
 * the children started after, so that their peak memory stays near what
 * a normal build uses.  Elsewhere a no-op.  Returns FT_OK or FT_E_*.
 */
FT_MUST_USE int h_san_small_quarantine(void);

/* ---- a private PAM world (h_pam.c) --------------------------------------- */

struct h_pam_env {
	char dir[64];          /* the temp folder */
	char run[96];          /* dir/run (0755): the socket's folder */
	char sock[128];        /* dir/run/notify.sock */
	char spool[96];        /* dir/queue (0700) */
	char confdir[96];      /* dir/pam.d */
	char module[PATH_MAX]; /* the pam_ftrack.so under test */
	void *dl;              /* its dlopen handle */
};

/* One login as an application would describe it (NULL: item unset). */
struct h_pam_login {
	const char *user;
	const char *rhost;
	const char *tty;
	const char *service; /* set PAM_SERVICE after pam_start (NULL: no) */
};

/* Build the world for the module at path (NULL: the build's module). */
int h_pam_env_init(struct h_pam_env *e, const char *module);

/* Remove the temp folder; keep the module loaded (RTLD_NODELETE). */
void h_pam_env_fini(struct h_pam_env *e);

/*
 * The module arguments pointing at this world, followed by extra
 * (may be NULL), into buf.  Returns buf.
 */
const char *h_pam_args(const struct h_pam_env *e, const char *extra, char *buf,
		       size_t cap);

/*
 * Write confdir/service: auth/account pam_permit, then `session optional
 * <module> args`, then `session required pam_permit`.  Returns FT_OK or
 * an FT_E_* code.
 */
FT_MUST_USE int h_pam_service(const char *confdir, const char *service,
			      const char *module, const char *args);

/*
 * Write confdir/service with one line, `<type> <control> <module> args`
 * (type: session, auth, account): a stack that holds only the module,
 * and no line of any other type.  Returns FT_OK or an FT_E_* code.
 */
FT_MUST_USE int h_pam_service_alone(const char *confdir, const char *service,
				    const char *type, const char *control,
				    const char *module, const char *args);

/*
 * pam_start_confdir(service, confdir) and set the items of l.  Returns a
 * PAM code; on PAM_SUCCESS *ret_pamh is the handle (pam_end is the
 * caller's).
 */
int h_pam_start(const char *confdir, const char *service,
		const struct h_pam_login *l, pam_handle_t **ret_pamh);

/*
 * h_pam_start, pam_open_session, pam_close_session, pam_end.  Returns the
 * pam_open_session code; *ret_close gets the pam_close_session code (may
 * be NULL).
 */
int h_pam_session(const char *confdir, const char *service,
		  const struct h_pam_login *l, int *ret_close);

/* Split buf in place on spaces into at most max argv.  Returns argc. */
int h_pam_split(char *buf, const char **argv, int max);

/* A pam_sm_* entry point of the module. */
typedef int (*h_pam_sm_fn)(pam_handle_t *, int, int, const char **);

/* The module's entry point `entry`, or NULL when it does not export it. */
h_pam_sm_fn h_pam_entry(const struct h_pam_env *e, const char *entry);

/*
 * Call the module's entry point `entry` (e.g. "pam_sm_open_session")
 * directly, with a real handle of service "ftest" and args split on
 * spaces.  Returns its PAM code, or -1 when the call could not be set up.
 */
int h_pam_call(const struct h_pam_env *e, const char *entry,
	       const struct h_pam_login *l, const char *args);

/* The spool file path of user into buf.  Returns buf. */
const char *h_pam_spool_path(const struct h_pam_env *e, const char *user,
			     char *buf, size_t cap);

/* ---- a stand-in for the daemon's socket (h_pam.c) ------------------- */

struct h_pam_dgram {
	char data[FT_PROTO_MAX + 64]; /* the datagram as received */
	size_t len;
	int has_cred; /* an SCM_CREDENTIALS message came with it */
	struct ucred cred;
	int decoded; /* ft_event_decode accepted it */
	struct ft_event ev;
};

/* Bind a close-on-exec datagram socket at path, SO_PASSCRED on, with
 * mode `mode`.  Returns the fd or -1. */
int h_pam_listen(const char *path, unsigned int mode);

/*
 * Wait up to timeout_ms for one datagram.  Returns 1 and fills *ret,
 * 0 on timeout, -1 on error.
 */
int h_pam_recv(int fd, int timeout_ms, struct h_pam_dgram *ret);

/* Read every datagram already queued.  Returns how many. */
int h_pam_drain(int fd);

/* ---- syslog capture (h_syslog.c) -------------------------------------- */

typedef int (*h_syslog_fn)(void *arg);

#define H_SYSLOG_UNSUPPORTED 1

/*
 * Run fn(arg) as above.  Returns 0, with fn's return value in *ret_rc
 * and the messages in buf, one per line, each as sent ("<PRI>... text");
 * H_SYSLOG_UNSUPPORTED when namespaces cannot be used; -1 on error.
 */
int h_syslog_run(h_syslog_fn fn, void *arg, int *ret_rc, char *buf, size_t cap);

/*
 * Count lines of buf at syslog priority prio (LOG_ERR...; -1: any) that
 * contain needle (NULL: any).
 */
int h_syslog_count(const char *buf, int prio, const char *needle);

/* ---- a throwaway PKI and HTTPS requests (h_https.c) ------------------- */

/*
 * Make the test PKI of tests/lib/ca.sh in dir (which must exist and be
 * empty): ca.crt, server, host1..host3, other (another CA), outside,
 * expired, wild, revoked (.crt, .key, .sha256), crl-empty.pem,
 * crl-revoked.pem and crl-stale.pem (nextUpdate in 2020).  FT_OK or FT_E_IO (the script's output in
 * dir/ca.log).
 */
FT_MUST_USE int h_ca_make(const char *dir);

/*
 * Into buf: the config override lines of a provisioner with the test PKI
 * in pki (h_ca_make): mode, its server certificate, key and client CA,
 * allow_hosts = *.ws.example.com; listen on 127.0.0.1:port and
 * metrics_listen on 127.0.0.1:mport when above 0; with revocation,
 * crl_file = pki/crl.pem and deny_file = pki/denied.  FT_OK or FT_E_TOOBIG.
 */
FT_MUST_USE int h_prov_lines(char *buf, size_t cap, const char *pki, int port,
			     int mport, bool revocation);

/* An HTTPS (or plain HTTP) request made with libcurl. */
struct h_https_req {
	const char *url;
	const char *method;       /* NULL: GET, or POST when body is set */
	const char *ca;           /* the CA file verifying the server */
	const char *cert, *key;   /* the client certificate; NULL: none */
	const char *content_type; /* NULL: none */
	const char *body;
	size_t len;
	bool chunked; /* send the body with Transfer-Encoding: chunked */
};

/* What came back: status 0 when no HTTP answer (a failed handshake). */
struct h_https_resp {
	long status;
	char body[16384];
	char retry_after[32]; /* the Retry-After header, "" when none */
};

/* Make the request (10 s timeout).  Returns FT_OK, FT_E_NOMEM. */
FT_MUST_USE int h_https(const struct h_https_req *rq, struct h_https_resp *ret);

/* ---- the daemon suites' shared world (h_fixture.c) -------------------- */

/*
 * Unlike everything above, these helpers assert (ck_assert): use them in
 * checked fixtures and tests only, never in unchecked fixtures, except
 * h_fx_servers_setup and h_fx_servers_teardown, which are the unchecked
 * fixture.  The suites cmd_run, cmd_sync, cmd_check and cmd_status share
 * them: one slapd (people.ldif, H_FX_NPEOPLE people p0000.., and two
 * people whose data cannot be mapped: hugesn and badaudio) and one
 * emulator per test case; per test a folder, a config and a daemon.
 */

#define H_FX_WAIT_MS  20000u /* bound of every wait for the daemon */
#define H_FX_NPEOPLE  1000   /* generated LDAP people p0000..p0999 */
#define H_FX_PREFIX   "p"
#define H_FX_UUID_KEY "ftrack_syncd.uuid"
/* The config every test starts from: short timeouts, so faults resolve fast. */
#define H_FX_BASE_CONFIG "ldap.timeout = 2\nftrack.timeout = 2\n"

/* The servers of the unchecked fixture (started in the runner). */
extern struct h_slapd *h_fx_slapd;
extern struct h_emu *h_fx_emu;
extern char *h_fx_base; /* holds the LDIF and every test's folder */

/* This test's world (each test runs in its own fork). */
struct h_fx_world {
	char dir[PATH_MAX];
	char state[PATH_MAX];
	char sock[PATH_MAX];
	char log[PATH_MAX];
	char *conf;       /* DIR/ftrack-syncd.conf (h_fx_config) */
	struct h_proc *d; /* the daemon (h_fx_daemon_start) */
};

extern struct h_fx_world h_fx;

/* vsnprintf into buf, asserting that nothing was cut. */
void h_fx_fmt(char *buf, size_t cap, const char *f, ...) FT_PRINTF(3, 4);

/* Unchecked fixture: start (say why on stderr when not) and stop the
 * servers. */
void h_fx_servers_setup(void);
void h_fx_servers_teardown(void);

/* h_fx_servers_setup with tests/data/people.ldif (H_LDIF_PEOPLE) instead
 * of the generated people: for the unit suites that run the product's
 * code in-process (sync, worker). */
void h_fx_servers_setup_people(void);

/* Checked fixture: reset the emulator, a fresh folder; stop the daemon. */
void h_fx_world_setup(void);
void h_fx_world_teardown(void);

/* Assert that the file at log holds no sanitizer report (else show it). */
void h_fx_assert_no_sanitizer_report(const char *log);

/* Wait up to H_FX_WAIT_MS for cond(arg), else show the log and fail. */
void h_fx_wait_or_fail(bool (*cond)(void *), void *arg, const char *what);

/* Write h_fx.dir/ftrack-syncd.conf: short timeouts, then extra (NULL: none). */
void h_fx_config(const char *extra);

/* True when the daemon exited. */
bool h_fx_daemon_exited(void);

/* arg: NULL.  The daemon's socket takes a connection (or it exited). */
bool h_fx_daemon_ready(void *arg);

/* Start `ftrack-syncd -c CONF run` and wait until it listens. */
void h_fx_daemon_start(void);

/* SIGTERM: it must exit 0 within H_FX_WAIT_MS, with a clean log. */
void h_fx_daemon_stop(void);

/*
 * Run `ftrack-syncd -c CONF args...` to completion; its stdout and stderr
 * go to h_fx.dir/<out>.  Returns the exit code.
 */
int h_fx_run_cmd(const char *const args[], const char *out);

/* Occurrences of text in h_fx.dir/<out>. */
long h_fx_out_count(const char *out, const char *text);

/* h_fx.dir/<out> holds nothing the one cleaner hides (h_text_hidden);
 * else it is shown on stderr and the test fails. */
void h_fx_assert_out_clean(const char *out);

/* One login of user sent to the daemon's socket, asserted. */
void h_fx_login(const char *user);

/* arg: a user name.  In ftrack, and its queue file is gone. */
bool h_fx_provisioned(void *arg);

/* Wait until user is provisioned. */
void h_fx_wait_provisioned(const char *user);

/* arg: NULL.  Nothing in state/queue/. */
bool h_fx_queue_empty(void *arg);

/* arg: text expected in the daemon's log. */
bool h_fx_log_has(void *arg);

struct h_fx_mention {
	long long since; /* emulator log seq */
	const char *text;
};

/* arg: struct h_fx_mention.  An /api request after since holds text. */
bool h_fx_emu_mentions(void *arg);

/* The emulator log's last seq now. */
long long h_fx_emu_seq(void);

/* Exactly one ftrack user named user, with exactly one uuid marker. */
void h_fx_assert_once(const char *user);

/* Nothing in queue/ nor in queue/failed/. */
void h_fx_assert_queue_clean(void);

/* The entryUUID of the LDAP entry matching filter (caller frees). */
char *h_fx_ldap_uuid(const char *filter);

/* The ftrack user named user is active with these names and email. */
void h_fx_assert_user(const char *user, const char *first, const char *last,
		      const char *email);

/* The uuid marker of user equals the entryUUID of the entry at filter. */
void h_fx_assert_marker(const char *user, const char *filter);

/* The 1-based number of the line of the file that holds text, or 0. */
int h_fx_line_of(const char *path, const char *text);

/* ---- a Samba Active Directory DC (h_samba.c) ------------------------- */

#define H_SAMBA_REALM "CORP.EXAMPLE.COM"
#define H_SAMBA_BASE  "DC=corp,DC=example,DC=com"
#define H_SAMBA_URI   "ldap://127.0.0.1" /* port 389: a loopback port < 1024 */
#define H_SAMBA_ADMIN "CN=Administrator,CN=Users," H_SAMBA_BASE
#define H_SAMBA_PW    "Ftr4ck!Sync-T3st" /* the Administrator's and users' */

struct h_samba;

/*
 * Whether this machine can run an AD DC: samba and samba-tool in PATH and
 * the provisioning data (Debian: samba samba-ad-provision
 * samba-dsdb-modules samba-vfs-modules).  When not, why says what is
 * missing (for the suite's "skipped" message).
 */
bool h_samba_available(char *why, size_t len);

/*
 * `samba-tool domain provision` of realm H_SAMBA_REALM (domain CORP, DC
 * dc1, --use-rfc2307, the internal DNS, so that the DomainDnsZones and
 * ForestDnsZones partitions exist) into a new h_tmpdir() folder, every
 * path of its smb.conf in that folder, interfaces 127.0.0.1 only with
 * `bind interfaces only`.  Not started yet: add people with
 * h_samba_tool, then h_samba_run.  Takes seconds: once per suite.
 * Returns the DC (h_samba_stop) or NULL (said on stderr, with the log).
 */
FT_MUST_USE struct h_samba *h_samba_provision(void);

/*
 * Run `samba-tool args... -H <its sam.ldb> -s <its smb.conf>` (args
 * NULL-terminated, e.g. {"user", "disable", "carol", NULL}) to completion
 * within 60 s, output appended to the DC's folder's samba-tool.log.
 * Returns FT_OK when it exited 0, else FT_E_IO (the log is shown).
 */
FT_MUST_USE int h_samba_tool(const struct h_samba *s, const char *const args[]);

/*
 * Start `samba -i -M single` (foreground, one process) serving only LDAP
 * (server services = ldap; simple binds over plain ldap:// allowed) on
 * 127.0.0.1 (ports 389, 636, 3268, 3269, fixed), and wait up to 60 s for
 * an anonymous bind at H_SAMBA_URI.  Returns FT_OK or FT_E_IO (the log
 * is shown; the process is stopped).
 */
FT_MUST_USE int h_samba_run(struct h_samba *s);

/* The DC's folder (its smb.conf is etc/smb.conf); borrowed. */
const char *h_samba_dir(const struct h_samba *s);

/* Stop the DC this process started (its pid: SIGTERM, then SIGKILL),
 * remove its folder, free.  NULL is a no-op. */
void h_samba_stop(struct h_samba *s);

/*
 * A world (struct h_world, no slapd) of the emulator and a config for the
 * DC: h_samba_world_config(w, extra).  Returns it (h_world_stop) or NULL.
 */
FT_MUST_USE struct h_world *h_samba_world(const char *extra);

/*
 * Rewrite w's config: H_WORLD_BASE, then the DC's [ldap] and [mapping]
 * (uri H_SAMBA_URI, bind as H_SAMBA_ADMIN with DIR/ad.secret, search_base
 * H_SAMBA_BASE (the domain root), search_filter
 * (&(objectCategory=person)(objectClass=user)(!(isCriticalSystemObject=TRUE))),
 * AD's disabled_filter, sAMAccountName, objectGUID, page_size 1000,
 * username = sAMAccountName), then extra (as for h_write_config).
 * Returns FT_OK or FT_E_*.
 */
FT_MUST_USE int h_samba_world_config(struct h_world *w, const char *extra);

#endif
