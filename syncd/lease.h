/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lease.h: the reconcile's records in ftrack, Metadata on the API user
 * (DESIGN.md section 6): the reconcile lease, the last good run and the
 * marker schema.  ftrack is the one store every host shares, so these
 * make one reconciler at a time across hosts, and keep max_shrink's mark
 * when the job moves to another host.
 *
 * The records (keys in ftrack_api.h), each value one line of words
 * separated by single spaces:
 *   ftrack_syncd.reconcile_lease   "HOST PID EXPIRY NONCE": the host that
 *       holds the lease, its process, until when (ISO 8601 UTC), and a
 *       random 32-hex-digit nonce naming this taking of the lease.
 *   ftrack_syncd.reconcile_lease.NONCE   the lease's token, same value:
 *       it exists exactly while that taking of the lease is current.
 *   ftrack_syncd.last_good   "POPULATION TIME HOST": the last applied run
 *       whose guards passed, whichever host ran it.
 *   ftrack_syncd.schema      "N": the newest marker schema a binary wrote.
 *
 * Why it is atomic.  The Metadata primary key is (parent_id, key), and
 * ftrack runs each POST as one transaction: a create of a key the API
 * user has already is a DuplicateEntryError, and an update or delete of
 * one it has not is a ValueError, and either makes the whole POST apply
 * nothing.  So:
 *   - taking a free lease is one POST [create lease, create token]: of
 *     two hosts, the second create fails, and that host reads the holder;
 *   - taking over an expired lease (or one a dead run of this host left)
 *     is one POST [delete old token, update lease, create new token]: the
 *     old token can be deleted once, so of two hosts that both saw the
 *     same expired lease only the first succeeds (a delete of the
 *     lease itself would not do: it would succeed twice);
 *   - renewing is [update own token, update lease] and releasing is
 *     [delete own token, delete lease, last_good]: they fail, changing
 *     nothing, once another host has taken the lease over.
 * A lease expires LEASE_SECONDS after it was taken or renewed, and counts
 * as expired for another host LEASE_SKEW_SECONDS later still (clocks
 * differ).  The local lock file (state.h) keeps two runs of one state
 * folder apart, and its note keeps the nonce, so that a run that finds
 * the lease its own dead predecessor left takes it over at once.
 *
 * Non-logging (the caller logs), except lease_print_status, which prints
 * `status`'s lines.  Not thread-safe on one client.
 */
#ifndef LEASE_H
#define LEASE_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "ft_attrs.h"
#include "ftrack_api.h"
#include "report.h"

/*
 * How long a lease lasts from its taking or renewal.  A constant, not a
 * key: the run renews it after reading both sides, right before it
 * writes, so it must outlast the apply of the largest plan (100,000
 * creates at batch_size 100 take minutes), and it is how long another
 * host waits after a crash.  An hour covers the first and bounds the
 * second; a lease left on this host is taken over at once.
 */
#define LEASE_SECONDS      3600
#define LEASE_SKEW_SECONDS 120 /* clock difference between hosts allowed */
#define LEASE_NONCE_LEN    32  /* hex digits */
#define LEASE_HOST_MAX     255

/* A lease record's value. */
struct lease_value {
	char host[LEASE_HOST_MAX + 1];
	unsigned long long pid;
	long long expiry; /* unix seconds */
	char nonce[LEASE_NONCE_LEN + 1];
};

/* Parse "HOST PID EXPIRY NONCE": FT_OK or FT_E_PROTO. */
FT_MUST_USE int lease_value_parse(const char *text, struct lease_value *ret);

/* Format v into out (capacity cap): FT_OK or FT_E_TOOBIG. */
FT_MUST_USE int lease_value_format(const struct lease_value *v, char *out,
				   size_t cap);

/* Parse "POPULATION TIME HOST": FT_OK or FT_E_PROTO. */
FT_MUST_USE int lease_last_good_parse(const char *text,
				      struct report_last_good *ret);

/* Format g into out (capacity cap): FT_OK, FT_E_INVAL (a field with a
 * space, an empty one) or FT_E_TOOBIG. */
FT_MUST_USE int lease_last_good_format(const struct report_last_good *g,
				       char *out, size_t cap);

/* This host's name as a lease names it (gethostname; "unknown" when it
 * cannot be had or holds a space or a control character). */
void lease_host(char *buf, size_t cap);

/* What ftrack holds on the API user (lease_view_read). */
struct lease_view {
	char *user_id; /* the API user's id (owned) */
	bool lease;    /* a lease record exists... */
	bool lease_ok; /* ...and its value parsed into held */
	struct lease_value held;
	char lease_text[512]; /* its value (cut), for a message */
	bool token;           /* the token of held.nonce exists */
	bool schema;          /* a schema record exists... */
	bool schema_ok;       /* ...and it is a number */
	unsigned long long schema_version;
	bool last_good;    /* a last_good record exists... */
	bool last_good_ok; /* ...and it parsed into good */
	struct report_last_good good;
};

/*
 * Read the API user's records (ftrack_own_read: one POST) into *ret
 * (clear it with lease_view_clear).  FT_OK or ftrack_own_read's errors.
 */
FT_MUST_USE int lease_view_read(struct ftrack_client *c, const char *api_user,
				struct lease_view *ret, char *err,
				size_t errlen);

/* Free what v holds; v is left empty. */
void lease_view_clear(struct lease_view *v);

/* Whether a run can take the lease, and how. */
enum lease_state {
	LEASE_FREE,    /* no lease: create it */
	LEASE_LEFT,    /* left by a dead run of this state folder (note) */
	LEASE_EXPIRED, /* another's, expired: take it over */
	LEASE_HELD,    /* another's, current: refuse */
	LEASE_STUCK,   /* unreadable, or its token is missing: refuse */
};

/*
 * The state of v's lease for a run at unix time now whose lock note (the
 * nonce of the lease the last run of this state folder took; "" none) is
 * note.
 */
enum lease_state lease_state_of(const struct lease_view *v, const char *note,
				long long now);

/*
 * The schema rule: FT_OK when v has no schema record or one no newer
 * than FTRACK_MARKER_SCHEMA_VERSION; FT_E_CONFIG when it is newer, or not
 * a number (a newer binary's, perhaps): this binary must not reconcile.
 */
FT_MUST_USE int lease_schema_check(const struct lease_view *v);

/* The lease a run holds. */
struct lease {
	struct ftrack_client *c; /* borrowed */
	char *user_id;           /* owned */
	struct lease_value mine;
	bool held;
};

/*
 * Take the lease for this run (host, pid, now + LEASE_SECONDS, a new
 * nonce) given what *view says ftrack holds and the lock note.  On a
 * duplicate or a vanished token (another host was quicker) *view is read
 * again and the decision made again (three times at most).  Returns
 * FT_OK (l->held; l->mine.nonce is what to note), FT_E_AGAIN (another
 * host holds it: *view says who), FT_E_PROTO (the lease is stuck: err
 * says why), FT_E_IO (no randomness) or ftrack's errors.  l is zeroed
 * first; release it with lease_release (and free with lease_clear).
 */
FT_MUST_USE int lease_take(struct lease *l, struct ftrack_client *c,
			   const char *api_user, const char *note,
			   long long now, struct lease_view *view, char *err,
			   size_t errlen);

/*
 * Renew the held lease to now + LEASE_SECONDS, and write our schema
 * number when view has none or an older one, in one POST.  Returns FT_OK,
 * FT_E_CONFLICT (the lease is no longer ours: another host took it over;
 * *view is read again and says who), FT_E_CONFIG (a newer schema
 * appeared: *view read again) or ftrack's errors.
 */
FT_MUST_USE int lease_renew(struct lease *l, const char *api_user,
			    long long now, struct lease_view *view, char *err,
			    size_t errlen);

/*
 * Release the held lease (delete its token and itself), writing g as
 * ftrack's last_good in the same POST when g is not NULL (good_exists:
 * the record exists, so an update).  Returns FT_OK, FT_E_CONFLICT (it
 * was taken over: nothing written) or ftrack's errors.  Not held: FT_OK.
 */
FT_MUST_USE int lease_release(struct lease *l, const char *api_user,
			      const struct report_last_good *g,
			      bool good_exists, char *err, size_t errlen);

/* Free what l holds. */
void lease_clear(struct lease *l);

/*
 * Print `status`'s lines "reconcile lease:" (who holds it, until when)
 * and "last good run:" (its population, time and host) from ftrack; when
 * ftrack cannot be read, say so and show the host's cache
 * (state_dir/last-good.json).
 */
void lease_print_status(const struct config *cfg, FILE *out);

#endif
