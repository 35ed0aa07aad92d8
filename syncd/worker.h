/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker.h: the provisioning thread of the daemon.
 *
 * The reader (cmd_run.c) journals each login into queue/ and submits the
 * user here; the worker thread takes every due user (up to 200 at once:
 * logins that arrived while the previous batch ran are provisioned
 * together; in standalone mode a lone login starts at once, with no
 * waiting, and in provisioner mode fewer than 200 wait up to
 * WORKER_LINGER_MS for more, the batch starting as soon as it fills),
 * runs sync_users() on them and then removes the queue file (success),
 * schedules a retry with back-off (transient failure, or no free seat in
 * the licence: SYNC_SEAT_WAITING, logged at warning at each try) or moves
 * the file to queue/failed/ (permanent failure).  One operation per user at a
 * time; a user provisioned within login_cooldown is not looked up again.
 *
 * Threading: every function here is called from the reader thread; the
 * worker's own thread only runs inside.  This is a driver: it logs one
 * line per change.
 */
#ifndef WORKER_H
#define WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ft_attrs.h"
#include "metrics.h"
#include "queue.h"
#include "sync.h"
#include "sync_groups.h"

struct worker;

/* Counts since start, by outcome, plus the work in hand. */
struct worker_stats {
	unsigned long outcomes[SYNC_FAILED + 1]; /* by enum sync_outcome */
	unsigned long errors[METRICS_ERR_COUNT]; /* failures by kind */
	unsigned long batches;
	unsigned long ldap_searches;
	unsigned long http_requests;
	size_t pending;      /* users queued or in flight */
	size_t seat_waiting; /* of them, waiting for a seat (last try) */
	unsigned long long hooks_dropped; /* changes not journaled for the
					   * on_change hook (hooks.h) */
	bool ldap_up;                     /* last LDAP contact worked */
	bool ftrack_up;                   /* last ftrack contact worked */
	bool transform;              /* a transform program is configured */
	struct transform_stats xf;   /* its counters (transform.h) */
	bool groups;                 /* [group_map] or [role_map] is set */
	struct sync_groups_stats gs; /* the login path's (sync_groups.h) */
};

/*
 * A worker for cfg (borrowed until replaced by worker_set_config) and the
 * queue q (borrowed).  Returns FT_OK, FT_E_NOMEM or FT_E_CONFIG.
 */
FT_MUST_USE int worker_new(const struct config *cfg, struct queue *q,
			   struct worker **ret);

/* Start the thread.  FT_OK or FT_E_IO. */
FT_MUST_USE int worker_start(struct worker *w);

/*
 * Ask the thread to stop after the batch in hand and wait for it; what is
 * still queued stays in queue/ for the next start.  Then free w.  NULL is
 * a no-op.
 */
void worker_free(struct worker *w);

/*
 * Queue user for provisioning (already journaled by the caller, or found
 * in queue/).  A user already queued or in flight is not added twice.
 * Returns FT_OK or FT_E_NOMEM.
 */
FT_MUST_USE int worker_submit(struct worker *w, const char *user);

/*
 * A new login of user (the socket, not a queue scan): as worker_submit,
 * and a user waiting on its back-off is tried again now, not at the end
 * of it: always when it waits for a seat (its last try:
 * SYNC_SEAT_WAITING), since a seat may have been freed; after a transient
 * failure at most once per login_cooldown (and at most once a
 * QUEUE_BACKOFF_BASE_MS).  The back-off goes on growing from where it was.
 */
FT_MUST_USE int worker_login(struct worker *w, const char *user);

/*
 * A not-ldap outcome is logged at info at most once every
 * WORKER_NOT_LDAP_EVERY_MS (with the count of those since that went to
 * debug only; a qualified name LDAP does not know gets a login_format
 * hint); tests may set another interval before worker_start().
 */
#define WORKER_NOT_LDAP_EVERY_MS 60000u
void worker_set_not_ldap_every(struct worker *w, uint64_t ms);

/*
 * In provisioner mode a batch of fewer than 200 due users waits up to
 * WORKER_LINGER_MS (counted from when the free worker finds them) for
 * more, and starts at once when it fills: with ftrack answering at once,
 * logins relayed by many hosts would otherwise go one person per batch.
 * Standalone never waits.  Tests may set another linger before
 * worker_start().
 */
#define WORKER_LINGER_MS 50u
void worker_set_linger(struct worker *w, uint64_t ms);

/*
 * Seat caps ([provisioner] new_seats_per_host, new_seats_total): a login
 * whose queue file carries host= (a provisioner's) and whose plan costs a
 * seat (a create or a reactivation) takes one of the clock hour's budget
 * (seats.h), else its file moves to queue/held/ (SYNC_HELD, a warning at
 * most once every WORKER_NOT_LDAP_EVERY_MS, the rest at debug).  At start,
 * after a reload and at the start of each hour, the held events the budget
 * has room for go back to queue/, oldest first.  Each change is logged
 * with the host that reported it ("created 'alice' (host ws1): ...").
 * Tests may set another period (seconds) before worker_start().
 */
void worker_set_seat_period(struct worker *w, long seconds);

/* True when user was provisioned within login_cooldown of now. */
bool worker_cooled(struct worker *w, const char *user);

/*
 * Use cfg (borrowed) from the next batch on.  The previous config may be
 * freed once worker_config_retired() returns true for it.
 */
void worker_set_config(struct worker *w, const struct config *cfg);

/* The cached ftrack group and role names are read again at the next
 * login with groups (after a reconcile the daemon ran). */
void worker_refresh_groups(struct worker *w);

/* True once the worker no longer uses old (after worker_set_config). */
bool worker_config_retired(struct worker *w, const struct config *old);

/* A snapshot of the counters. */
void worker_stats(struct worker *w, struct worker_stats *ret);

#endif
