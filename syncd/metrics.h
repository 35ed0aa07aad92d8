/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h: the daemon's counters and gauges, and state_dir/metrics.prom
 * in the Prometheus text exposition format (node_exporter's textfile
 * collector reads it), see DESIGN.md section 4.
 *
 * struct metrics is plain data: zero it (memset or `= {0}`), update the
 * fields, write it out.  The caller owns any locking.  The formatter and
 * the writer are pure/self-contained and thread-safe for distinct buffers.
 * Non-logging unit.
 *
 * Exposed names (prefix ftrack_syncd_; counters end in _total):
 *   events_received_total                 counter  well-formed login events
 *   events_forged_total                   counter  sender not allowed
 *   events_dropped_total{reason}          counter  malformed, rate_limited
 *                                                  (a uid over its own rate),
 *                                                  skipped, journal,
 *                                                  nonroot_rate (all non-root
 *                                                  senders over it)
 *   sender_lookups_total                  counter  NSS (passwd) look-ups made
 *                                                  for the sender rule
 *   user_changes_total{action}            counter  created, updated,
 *                                                  deactivated, reactivated,
 *                                                  deleted, linked
 *   errors_total{kind}                    counter  ldap, ftrack, data, io
 *   http_requests_total                   counter  requests sent to ftrack
 *   queue_depth                           gauge    files in queue/
 *   queue_failed_depth                    gauge    files in queue/failed/
 * The last reconcile of each kind, label run = apply (the last `--apply`
 * run: applied, partly failed, held or failed) or dry_run (the last dry
 * run), so that an hourly dry run never hides a held or failed apply:
 *   last_reconcile_timestamp_seconds{run} gauge    end of that run (unix
 *                                                  time), 0: never
 *   last_reconcile_duration_seconds{run}  gauge
 *   last_reconcile_result{run,result}     gauge    1 for its result (ok,
 *                                                  held, failed), 0 for the
 *                                                  others; all 0: never
 *   last_reconcile_changes{run,action}    gauge    apply: changes it made;
 *                                                  dry_run: changes planned
 *                                                  (create, update, link,
 *                                                  rename, reactivate,
 *                                                  deactivate, delete)
 *   ldap_up, ftrack_up                    gauge    1: last contact worked
 *   seat_waiting                          gauge    logins this daemon keeps
 *                                                  waiting for a seat (no
 *                                                  free seat in the licence)
 *   seat_refused_total                    counter  on-demand writes that
 *                                                  asked for a seat and got
 *                                                  none (kept inactive or
 *                                                  refused)
 *   held_seats                            gauge    files in queue/held/:
 *                                                  logins held beyond a
 *                                                  seat cap (provisioner)
 *   held_total                            counter  logins held so
 *   logins_not_ldap_total                 counter  logins looked up and found
 *                                                  no LDAP user (not in LDAP,
 *                                                  or disabled)
 * With [hooks] on_change set (hooks is true):
 *   hook_pending                          gauge    applied changes waiting
 *                                                  for the hook
 *   hook_pending_bytes                    gauge    their bytes (and those of
 *                                                  changes being written)
 *   hook_delivered_total                  counter  changes the hook took
 *   hook_refused_total                    counter  runs that failed
 *   hook_failed_total                     counter  changes moved to
 *                                                  hooks/failed/
 *   hook_failed_depth                     gauge    files in hooks/failed/
 *   hook_dropped_total                    counter  changes not journaled
 *                                                  (past the bound)
 * With [mapping] transform (transform set), on-demand logins only:
 *   transform_outages_total               counter  transform calls that
 *                                                  failed as a whole (could
 *                                                  not start, exited, timed
 *                                                  out): logins retried
 *   transform_bad_answers_total           counter  entries its answers made
 *                                                  unusable (failed/)
 *   transform_failing                     gauge    outages in a row since
 *                                                  the last call that worked
 * With [group_map] or [role_map] (groups set), on-demand logins only:
 *   group_changes_total{action}           counter  group_add (Memberships
 *                                                  created), role_grant
 *                                                  (roles given); the login
 *                                                  path never removes
 *   group_name_failures_total             counter  reads of the mapped
 *                                                  ftrack names that failed,
 *                                                  and at each read the
 *                                                  mapping lines it left
 *                                                  unresolved
 *   group_names_resolved                  gauge    mapping lines resolved at
 *                                                  the last read (written
 *                                                  once read)
 *   group_names_missing                   gauge    mapping lines left out:
 *                                                  missing, ambiguous, API
 * Forged events are counted only in events_forged_total, not as dropped.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"

/* Why a received datagram was dropped (label reason=...). */
enum metrics_drop {
	METRICS_DROP_MALFORMED,    /* "malformed": did not decode */
	METRICS_DROP_RATE_LIMITED, /* "rate_limited": sender over its rate */
	METRICS_DROP_SKIPPED,      /* "skipped": skip_users, on_login=ignore */
	METRICS_DROP_JOURNAL,      /* "journal": could not write the queue */
	METRICS_DROP_NONROOT_RATE, /* "nonroot_rate": all non-root over it */
	METRICS_DROP_COUNT
};

/* A change made to an ftrack user (label action=...). */
enum metrics_action {
	METRICS_USER_CREATED,
	METRICS_USER_UPDATED,
	METRICS_USER_DEACTIVATED,
	METRICS_USER_REACTIVATED,
	METRICS_USER_DELETED,
	METRICS_USER_LINKED,
	METRICS_USER_COUNT
};

/* Upstreams a relay reports (RELAY_UP_MAX). */
#define METRICS_RELAY_MAX 8

/* The kind of an error (label kind=...); see metrics_error_kind(). */
enum metrics_error {
	METRICS_ERR_LDAP,
	METRICS_ERR_FTRACK,
	METRICS_ERR_DATA,
	METRICS_ERR_IO,
	METRICS_ERR_COUNT
};

/* Which last reconcile (label run=...). */
enum metrics_run {
	METRICS_RUN_APPLY, /* "apply" */
	METRICS_RUN_DRY,   /* "dry_run" */
	METRICS_RUN_COUNT
};

/* A change a reconcile made or plans (label action=...): the plan's words. */
enum metrics_change {
	METRICS_CHANGE_CREATE,
	METRICS_CHANGE_UPDATE,
	METRICS_CHANGE_LINK,
	METRICS_CHANGE_RENAME,
	METRICS_CHANGE_REACTIVATE,
	METRICS_CHANGE_DEACTIVATE,
	METRICS_CHANGE_DELETE,
	METRICS_CHANGE_COUNT
};

enum metrics_result {
	METRICS_RESULT_NONE, /* no reconcile yet */
	METRICS_RESULT_OK,
	METRICS_RESULT_HELD,
	METRICS_RESULT_FAILED
};

struct metrics {
	unsigned long long events_received;
	unsigned long long events_forged;
	unsigned long long events_dropped[METRICS_DROP_COUNT];
	unsigned long long sender_lookups;
	unsigned long long user_changes[METRICS_USER_COUNT];
	unsigned long long errors[METRICS_ERR_COUNT];
	unsigned long long http_requests;
	unsigned long long queue_depth;
	unsigned long long failed_depth;

	struct metrics_reconcile {
		long long time;  /* unix seconds; 0: never */
		double duration; /* seconds */
		enum metrics_result result;
		unsigned long long changes[METRICS_CHANGE_COUNT];
	} last_reconcile[METRICS_RUN_COUNT];

	bool ldap_up;
	bool ftrack_up;
	bool groups;           /* the group_* families below are written */
	bool group_names_read; /* with their two gauges */
	unsigned long long seat_waiting;    /* gauge */
	unsigned long long seat_refused;    /* counter */
	unsigned long long logins_not_ldap; /* counter: not-ldap outcomes */
	unsigned long long held_seats;      /* gauge: files in queue/held/ */
	unsigned long long held;            /* counter: logins held */
	/* with [mapping] transform only: when transform is set, written */
	bool transform;
	unsigned long long transform_outages; /* counter: runs that failed */
	unsigned long long transform_bad;     /* counter: entries refused */
	unsigned long long transform_failing; /* gauge: outages in a row */

	/* [hooks] on_change set: when hooks is true, its families too */
	bool hooks;
	unsigned long long hook_pending;       /* gauge */
	unsigned long long hook_pending_bytes; /* gauge */
	unsigned long long hook_delivered;     /* counter */
	unsigned long long hook_refused;       /* counter */
	unsigned long long hook_failed;        /* counter */
	unsigned long long hook_failed_depth;  /* gauge */
	unsigned long long hook_dropped;       /* counter */

	/* [group_map] or [role_map] set: when groups is true (above) */
	unsigned long long group_added;    /* counter: Memberships at login */
	unsigned long long role_granted;   /* counter: roles at login */
	unsigned long long group_failures; /* counter: names not resolved */
	unsigned long long group_names_resolved; /* gauge */
	unsigned long long group_names_missing;  /* gauge */

	/* relay mode only: when relay is set, its families are written */
	bool relay;
	unsigned long long relay_forwarded; /* events accepted upstream */
	unsigned long long relay_invalid;   /* events refused as invalid */
	unsigned long long relay_requests;  /* POSTs to the upstreams */
	size_t relay_n;                     /* upstreams below */
	const char *relay_url[METRICS_RELAY_MAX]; /* borrowed */
	bool relay_up[METRICS_RELAY_MAX];
};

/*
 * The error kind of an FT_E_* code: LDAP_DOWN, LDAP, PARTIAL -> ldap;
 * HTTP, AUTH, MALFORMED, SEAT -> ftrack; DATA, CONFLICT, PROTO, INVAL ->
 * data; anything else (IO, NOMEM, ...) -> io.
 */
enum metrics_error metrics_error_kind(int ft_err);

/*
 * The value of the unlabelled sample `name` (without the ftrack_syncd_
 * prefix: "transform_failing") in text, metrics file contents of len
 * bytes, into *ret.  FT_OK, or FT_E_NOTFOUND (absent or not a whole
 * number).  Pure.
 */
FT_MUST_USE int metrics_sample(const char *text, size_t len, const char *name,
			       unsigned long long *ret);

/*
 * Format m as Prometheus text (every metric with # HELP and # TYPE, one
 * trailing newline) into buf (capacity cap, NUL-terminated).  Returns
 * FT_OK and the length without the NUL in *ret_len, or FT_E_TOOBIG.
 * Pure.  METRICS_TEXT_MAX is always enough.
 */
#define METRICS_TEXT_MAX 16384
FT_MUST_USE int metrics_format(const struct metrics *m, char *buf, size_t cap,
			       size_t *ret_len);

/*
 * v as a label value into out (capacity cap): '\\', '"' and a line feed
 * escaped, cut at 512 bytes of output (or what cap holds).  Pure.
 */
void metrics_label_value(char *out, size_t cap, const char *v);

/*
 * Write the text of m as file `name` in the folder dirfd, atomically and
 * with mode 0644 (node_exporter runs as another user and must read it;
 * the numbers are not secret): ft_write_atomic() to the staging name
 * ".<name>.<pid>.stage", chmod 0644, rename over name, fsync the folder.
 * A reader sees the old or the new file, always readable.  One writer
 * per name at a time.  Returns FT_OK, FT_E_TOOBIG, FT_E_INVAL (name too
 * long or containing '/'), FT_E_IO (errno set; the staging file is
 * removed).
 */
FT_MUST_USE int metrics_write(const struct metrics *m, int dirfd,
			      const char *name);

#endif
