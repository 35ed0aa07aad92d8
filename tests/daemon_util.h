/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon_util.h: support for the daemon suite (tests/check_daemon.c):
 * login datagrams sent as root or as another uid, the PAM module's spool
 * fallback done by hand, the daemon's queue and metrics files, counts read
 * from the ftrack emulator, a process's memory, one PAM session through
 * the real libpam, and a seed LDIF with extra people.
 *
 * Test code only.  Like harness.h, nothing here calls ck_assert or aborts:
 * failures come back as FT_E_* codes, -1 or NULL (with a line on stderr
 * where the reason is not obvious), so that the caller asserts.  Returned
 * char * are the caller's to free().
 */
#ifndef FT_DAEMON_UTIL_H
#define FT_DAEMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ft_attrs.h"
#include "harness.h"

/* ---- login datagrams ------------------------------------------------- */

/*
 * A datagram socket connected to the daemon's socket at path, sending
 * with SCM_CREDENTIALS (this process's pid, euid and egid) like
 * pam_ftrack does.  Returns the fd (close it) or -1 with errno set.
 */
FT_MUST_USE int du_sender_open(const char *path);

/*
 * Send len bytes of msg on fd as one datagram with credentials; flags 0
 * (block until the daemon's queue has room) or MSG_DONTWAIT.  Returns
 * FT_OK, FT_E_AGAIN (queue full, with MSG_DONTWAIT) or FT_E_IO (errno).
 */
FT_MUST_USE int du_sender_send(int fd, const void *msg, size_t len, int flags);

/*
 * The login event of user (service "ftest") as FTSYNC1 text into buf.
 * Returns its length, or 0 when the user cannot be encoded.
 */
size_t du_event(const char *user, char *buf, size_t cap);

/*
 * One login of user sent as root (blocking) to the socket at path.
 * Returns FT_OK or an FT_E_* code.
 */
FT_MUST_USE int du_login(const char *path, const char *user);

/* A child process sending datagrams (see du_flood_start). */
struct du_flood;

/*
 * Fork a child that connects to the socket at path, then (uid != 0)
 * drops to uid/gid, as a screen locker running PAM as the user would,
 * and sends len bytes of msg again and again, blocking while the
 * daemon's queue is full, until it has sent at least min datagrams and
 * du_flood_finish() was called, and never more than max.  The child dies
 * with the caller.  Returns the flood (du_flood_finish) or NULL.
 */
FT_MUST_USE struct du_flood *du_flood_start(const char *path, uid_t uid,
					    gid_t gid, const char *msg,
					    size_t len, long min, long max);

/* Datagrams the child has sent so far (each one is in the daemon's queue). */
long du_flood_sent(const struct du_flood *f);

/*
 * Tell the child to stop once it has sent min, wait up to timeout_ms for
 * it and free f (NULL: -1).  Returns the number of datagrams it sent, or
 * -1 when it failed (could not connect, drop privileges or send) or hung.
 */
long du_flood_finish(struct du_flood *f, unsigned timeout_ms);

/* du_flood_start(..., n, n) then du_flood_finish: n datagrams as uid/gid.
 * Returns the number sent, or -1. */
long du_send_as(const char *path, uid_t uid, gid_t gid, const char *msg,
		size_t len, long n);

/* ---- the state folder ------------------------------------------------ */

/* state/queue/<hex of user> into buf.  Returns FT_OK or FT_E_TOOBIG. */
FT_MUST_USE int du_queue_path(const char *state, const char *user, char *buf,
			      size_t cap);

/* True when user's queue file exists. */
bool du_queued(const char *state, const char *user);

/*
 * Files in state/<sub> ("queue" or "queue/failed") that are not folders
 * and do not start with '.'; -1 when the folder cannot be read.
 */
long du_queue_count(const char *state, const char *sub);

/*
 * What pam_ftrack does when the daemon cannot be reached: write the
 * login of user as state/queue/<hex> through a temp file and a rename.
 * Returns FT_OK or an FT_E_* code.
 */
FT_MUST_USE int du_spool(const char *state, const char *user);

/*
 * The value of sample (the name after the "ftrack_syncd_" prefix, with
 * its labels if any, e.g. "events_dropped_total{reason=\"malformed\"}")
 * in state/metrics.prom; -1 when the file or the sample is missing.
 */
long long du_metric(const char *state, const char *sample);

/* ---- files and processes --------------------------------------------- */

/* Occurrences of text in the file at path; -1 when it cannot be read. */
long du_file_count(const char *path, const char *text);

/*
 * True when the log at path holds an AddressSanitizer, LeakSanitizer or
 * UndefinedBehaviorSanitizer report (printed on stderr).
 */
bool du_sanitizer_report(const char *path);

/* The resident set of pid (VmRSS) in KiB, or -1. */
long du_rss_kib(pid_t pid);

/* ---- the emulator ---------------------------------------------------- */

/* An integer member of /_emulator/stats ("requests"), or -1. */
long long du_emu_stat(const struct h_emu *e, const char *name);

/* /_emulator/stats operations[action] (0 when absent), or -1. */
long long du_emu_ops(const struct h_emu *e, const char *action);

/* User rows named username (any activity), or -1. */
long du_emu_users_named(const struct h_emu *e, const char *username);

/* Every User row except the API user, or -1. */
long du_emu_user_count(const struct h_emu *e);

/*
 * Metadata rows with key on the user named username; *ret_value (if not
 * NULL) gets the value of the first one (caller frees; NULL when none).
 * Returns the count, or -1.
 */
long du_emu_markers(const struct h_emu *e, const char *username,
		    const char *key, char **ret_value);

/*
 * The /_emulator/log entries after seq (0: all), as JSON text (caller
 * frees), or NULL.  *ret_last (if not NULL) gets the highest seq seen
 * (seq when none).
 */
FT_MUST_USE char *du_emu_log(const struct h_emu *e, long long seq,
			     long long *ret_last);

/* Reset the emulator: counters, faults, log, every entity except the API
 * user, and latency 0.  Returns FT_OK or FT_E_HTTP. */
FT_MUST_USE int du_emu_reset(const struct h_emu *e);

/* ---- PAM ------------------------------------------------------------- */

/*
 * Write confdir/service: `session optional <module> <args>` then
 * `session required pam_permit.so`.  Returns FT_OK or FT_E_IO.
 */
FT_MUST_USE int du_pam_service(const char *confdir, const char *service,
			       const char *module, const char *args);

/*
 * pam_start_confdir(service, user), pam_open_session, pam_close_session,
 * pam_end.  Returns the pam_open_session code (or the pam_start one).
 */
int du_pam_session(const char *confdir, const char *service, const char *user);

/* ---- LDAP ------------------------------------------------------------ */

/*
 * Write to path the seed people.ldif followed by n generated people
 * uid=<prefix>NNNN (0 <= NNNN < n, four digits), each with cn, sn,
 * givenName and mail, then the LDIF text extra (NULL: none).  Returns
 * FT_OK or an FT_E_* code.
 */
FT_MUST_USE int du_write_ldif(const char *path, const char *prefix, unsigned n,
			      const char *extra);

#endif
