/* SPDX-License-Identifier: Apache-2.0 */
/*
 * faults_world.h: the world of one row of the suite 'faults'
 * (check_faults.c): slapd, emulator, config, state and daemon, the faults
 * made on them, and the assertions about what a user sees.
 *
 * Test support code, single-threaded.  Every test runs in its own fork
 * (libcheck fork mode) and has the world fw of its own, set up by the
 * checked fixture fw_world_setup and released by fw_world_teardown.
 * Unlike the test library (harness.h), every fw_* function asserts
 * (ck_assert), so they are for checked fixtures and tests only (the
 * unchecked fixture is the library's h_suite_setup and h_suite_teardown).
 * Strings given to fw_* functions are borrowed; those kept in fw (the
 * names of fw_login, fw_leaver, fw_fresh, fw.skipped) must
 * be static text or outlive the test.
 */
#ifndef FAULTS_WORLD_H
#define FAULTS_WORLD_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

#define FW_WAIT_MS  H_ASAN_OR(120000u, 30000u) /* every wait; ASan: slower */
#define FW_GONE_KEY "ftrack_syncd.deactivated"
#define FW_SEAT_KEY "ftrack_syncd.seat_waiting"
#define FW_DRY_RUN  "reconcile"
#define FW_APPLY    "reconcile --apply"
#define FW_NAMES    16 /* logins and leavers a world keeps track of */

/* Provisioned (`sync`) before each row; the rows delete some from LDAP. */
#define FW_NSEEDED 8
extern const char *const fw_seeded[FW_NSEEDED];

/* In LDAP, enabled, not seeded: what the rows log in or create. */
#define FW_NUNSEEDED 6
extern const char *const fw_unseeded[FW_NUNSEEDED];

/* The world of one test. */
struct fw_world {
	struct h_world *w; /* dir, slapd, emu, conf, state, nrun (owned) */
	char sock[PATH_MAX];
	char log[PATH_MAX];          /* the daemon's stdout and stderr */
	const char *extra;           /* this row's config lines (static text) */
	struct h_proc *d;            /* the daemon (fw_daemon_start), or NULL */
	struct h_relay *relay;       /* a row's relay (stopped at teardown) */
	const char *fresh[FW_NAMES]; /* must end in ftrack once */
	size_t nfresh;
	const char *gone[FW_NAMES]; /* deleted from LDAP */
	size_t ngone;
	bool gone_done;      /* a completed reconcile deactivated them */
	const char *skipped; /* why the row could not run here */
};

extern struct fw_world fw;

/* ---- fixtures ---------------------------------------------------------- */

/* Unchecked fixture: one folder for the test case, set as $TMPDIR (so
 * that every h_tmpdir lands in it), removed whatever happens; $TMPDIR
 * restored. */

/* Checked fixture: an empty fw; then stop everything fw holds (daemon,
 * relay, servers), unmount a tmpfs over state/ and remove the folder. */
void fw_world_setup(void);
void fw_world_teardown(void);

/* ---- small helpers ---------------------------------------------------- */

/* A borrowed string as the argument of a wait condition (not written). */
void *fw_arg(const char *s);

/* Seconds since t0_ms (h_now_ms). */
double fw_since_s(long long t0_ms);

/* FAULTS_ONLY=text: true when the row or bound name does not hold text
 * (it is to be skipped). */
bool fw_skipped_by_env(const char *name);

/*
 * Append one line "kind|field|field|...\n" to the file named by
 * $FAULT_MATRIX_OUT (nothing when it is unset or empty), in one write.
 * A field must not hold '|' or a line break.  Returns FT_OK, FT_E_INVAL
 * (a bad field) or FT_E_IO.
 */
FT_MUST_USE int fw_matrix_line(const char *kind, const char *const fields[],
			       size_t n);

/* Wait up to FW_WAIT_MS for cond(arg), else show the daemon's and the
 * emulator's logs and fail, naming what. */
void fw_wait_or_fail(bool (*cond)(void *), void *arg, const char *what);

/* ---- the world -------------------------------------------------------- */

/*
 * A world: slapd from people.ldif (sizelimit as h_slapd_start), the
 * emulator, the config with the row's lines extra (static text, kept in
 * fw.extra), and the seeded people provisioned with `sync`.
 */
void fw_world_up(unsigned sizelimit, const char *extra);

/*
 * A world for a bound test: slapd from people.ldif plus n people
 * <prefix>NNNN (h_write_ldif), and the emulator; no config yet
 * (fw_bound_config).
 */
void fw_many_people(const char *prefix, unsigned n);

/*
 * The config of a bound test: exactly extra (as h_write_config), towards
 * the servers of fw_many_people, or closed ports when there are none
 * (a folder is made then).
 */
void fw_bound_config(const char *extra);

/* Rewrite the config: ldap.timeout 2, ftrack.timeout 2, no periodic
 * reconcile, then the row's lines, then more (NULL: none). */
void fw_config(const char *more);

/* ---- commands --------------------------------------------------------- */

/* Run `ftrack-syncd -c CONF words...` (h_cmd_start) within FW_WAIT_MS,
 * asserting it exited with code and left no sanitizer report. */
void fw_expect_cmd(const char *words, int code);

/* fw_expect_cmd, and its stdout or stderr holds text. */
void fw_expect_cmd_says(const char *words, int code, const char *text);

/* Start `ftrack-syncd -c CONF words...` in the background (asserted);
 * finish it with fw_bg_finish. */
FT_MUST_USE struct h_cmd_bg *fw_bg_start(const char *words);

/* Wait up to FW_WAIT_MS for bg (asserted) and free it; returns its exit
 * code, or -1 when a signal ended it (*ret_signal, if not NULL, gets the
 * signal, else 0). */
int fw_bg_finish(struct h_cmd_bg *bg, int *ret_signal);

/* Requests of a dry run (which must exit 4: the rows plan changes). */
long long fw_dry_run_requests(void);

/* ---- the daemon ------------------------------------------------------- */

/* True when the daemon exited. */
bool fw_daemon_exited(void);

/* Start `ftrack-syncd -c CONF run` (output to fw.log); wait until it
 * listens. */
void fw_daemon_start(void);

/* SIGTERM: it must exit 0 within FW_WAIT_MS, with no sanitizer report. */
void fw_daemon_stop(void);

/* SIGKILL, reaped; no sanitizer report. */
void fw_daemon_kill(void);

/* Send sig to the daemon. */
void fw_daemon_signal(int sig);

/* A login of user through the socket, as root; user must then end in
 * ftrack once (fw_fresh, unless seeded). */
void fw_login(const char *user);

/* user (not seeded) must end in ftrack once, with its uuid marker. */
void fw_fresh(const char *user);

/* The daemon is connected to LDAP (zoe provisioned) and dave has left. */
void fw_connected_daemon(void);

/* Log in <prefix>0000 .. <prefix>(n-1), not tracked by fw_fresh. */
void fw_login_many(const char *prefix, unsigned n);

/* ---- conditions to wait for, and waits ---------------------------------- */

/* arg: a user.  In ftrack, and its queue file gone. */
bool fw_provisioned(void *arg);

/* arg: a user.  In ftrack (its queue file may stay). */
bool fw_in_ftrack(void *arg);

/* arg: a user.  Journaled in queue/. */
bool fw_queued(void *arg);

/* arg: NULL.  Nothing in queue/. */
bool fw_queue_empty(void *arg);

/* arg: text expected in the daemon's log. */
bool fw_log_has(void *arg);

/* A text and how often the daemon's log must hold it. */
struct fw_log_want {
	const char *text;
	long times;
};

/* arg: struct fw_log_want *.  The log holds text at least times times. */
bool fw_log_count_at_least(void *arg);

/* arg: NULL.  No emulator fault is waiting to be taken. */
bool fw_faults_taken(void *arg);

/* arg: long long *: the emulator answered at least that many requests. */
bool fw_requests_at_least(void *arg);

/* arg: int *: a request waits unread in the socket of that port. */
bool fw_unread_at(void *arg);

/* arg: long *: ftrack holds that many users besides the API user, and
 * nothing is in queue/. */
bool fw_users_there(void *arg);

/* Wait until user is provisioned (fw_provisioned). */
void fw_wait_provisioned(const char *user);

/* Wait until text is in the daemon's log. */
void fw_wait_log(const char *text);

/* ---- the emulator ------------------------------------------------------- */

/* POST spec to /_emulator/fault, asserted. */
void fw_emu_fault(const char *spec);

/* POST spec to /_emulator/config, asserted. */
void fw_emu_config(const char *spec);

/* Requests the emulator answered so far (asserted >= 0). */
long long fw_emu_requests(void);

/* Wait until every fault was taken and n faulted requests were answered
 * (a delayed one is logged once it is done). */
void fw_wait_faults_done(long n);

/*
 * In the requests after seq, by arrival: the first two faulted ones have
 * exactly `reads` requests between them, each a query (or the reconcile
 * lease's) that went through: so the second fault hit the write that
 * follows the reads.
 */
void fw_assert_fault_hit_write(long long seq, long long reads);

/* The emulator saw no request it could not parse or refused. */
void fw_assert_no_exception(void);

/* Every user of ftrack once; returns how many (the API user aside). */
long fw_distinct_users(void);

/* ---- LDAP --------------------------------------------------------------- */

/* Freeze slapd (SIGSTOP) and wait until it is stopped. */
void fw_slapd_freeze(void);

/* Delete person uid from LDAP: a leaver the reconcile may deactivate. */
void fw_leaver(const char *uid);

/* Add the person uid (DN-escaped; cn, sn, givenName "Odd", mail
 * odd@example.com). */
void fw_add_person(const char *uid);

/* ---- reports and outcomes ----------------------------------------------- */

/* The last reconcile's result is `result`. */
void fw_assert_result(const char *result);

/* The last report's LDAP error holds text. */
void fw_assert_ldap_error(const char *text);

/* reconcile --apply held by ldap_complete: exit 3, nothing written. */
void fw_expect_held(void);

/* reconcile --apply completed (exit 0): the leavers may now be gone. */
void fw_expect_applied(void);

/* The user is journaled and not in ftrack (yet). */
void fw_assert_waiting(const char *user);

/*
 * The closing checks of every row (the daemon stopped first, if it
 * runs): nothing lost (every seeded and fresh person once in ftrack with
 * one uuid marker, the one of its LDAP entry, nothing in queue/ nor
 * queue/failed/, nobody twice, nobody left waiting for a seat) and nobody
 * wrongly deactivated (only the leavers, and only after a completed
 * reconcile, inactive and marked).
 */
void fw_assert_outcome(void);

/* ---- the state folder ------------------------------------------------- */

/*
 * Mount a tmpfs of size over fw.w->state in a private mount namespace of
 * this test's process (its children, the daemon included, see it).
 * False (with the reason in fw.skipped) where that is not allowed.
 */
bool fw_state_on_tmpfs(const char *size);

#endif
