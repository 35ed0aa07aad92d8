/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sync.h: provision a batch of logins: LDAP lookup, plan, ftrack upsert.
 *
 * The on-demand path of DESIGN.md section 4: for each login, look the
 * person up in LDAP, then fetch the matching ftrack users (by username and
 * by uuid marker; with link_by = email, by e-mail address for those found
 * neither way) for the whole batch in a few requests, decide with
 * plan_user_match() and write every change of the batch in batched
 * requests.
 *
 * A struct sync owns one LDAP connection and one ftrack connection
 * (keep-alive); it is used by one thread at a time.  Non-logging: each
 * login gets an outcome and a detail text for the caller to log.
 */
#ifndef SYNC_H
#define SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ft_attrs.h"
#include "hooks.h"
#include "plan_user.h"
#include "transform.h"

/* Most logins one sync_users() call takes. */
#define SYNC_BATCH_MAX 1000

enum sync_outcome {
	SYNC_CREATED,
	SYNC_UPDATED,
	SYNC_LINKED,
	SYNC_RENAMED,
	SYNC_REACTIVATED,
	SYNC_UNCHANGED,
	SYNC_NOT_LDAP,     /* not an LDAP user (or disabled): nothing to do */
	SYNC_SKIPPED,      /* policy left it alone (detail says why) */
	SYNC_SEAT_WAITING, /* no free seat in the licence: ftrack kept the
			    * user inactive (its seat_waiting marker set) or
			    * refused the write; keep queued, retry later */
	SYNC_HELD,         /* the seat gate said no (a seat cap): the
			    * caller holds the event; nothing written */
	SYNC_RETRY,        /* transient failure: keep queued, retry later */
	SYNC_FAILED,       /* permanent failure: move to failed/ */
};

struct sync_result {
	enum sync_outcome outcome;
	int err; /* FT_E_* for SYNC_RETRY, SYNC_FAILED and SYNC_SEAT_WAITING
		  * (FT_E_SEAT); SYNC_NOT_LDAP: FT_E_NOTFOUND when no entry
		  * matched, FT_OK when disabled; else FT_OK */
	char detail[PLAN_REASON_MAX + 64];
};

struct sync;

/*
 * A new sync for cfg (borrowed; must outlive the sync).  No network yet.
 * Returns FT_OK, FT_E_NOMEM or FT_E_CONFIG (reason in err).
 */
FT_MUST_USE int sync_new(const struct config *cfg, struct sync **ret, char *err,
			 size_t errlen);

/*
 * The seat gate (a provisioner's seat caps): asked before the write, for
 * each login i of the sync_users() call whose plan costs a seat (a create,
 * or a write that makes an inactive user active), with the plan's kind.
 * false: nothing is written for it, its outcome is SYNC_HELD with why
 * (whylen bytes) as the detail.  A plan that costs no seat (an update of
 * an active user) is never asked about.  NULL fn: no gate (the default).
 */
typedef bool (*sync_gate_fn)(void *ctx, size_t i, enum plan_kind kind,
			     char *why, size_t whylen);
void sync_set_gate(struct sync *s, sync_gate_fn fn, void *ctx);

/*
 * The on_change journal (hooks.h): every change sync_users() writes is
 * journaled in h before its write and marked applied after it, as from o
 * (copied; its host function is called with the login's index).  h is
 * borrowed and must outlive s or be replaced; NULL (the default): none.
 */
void sync_set_hooks(struct sync *s, struct hooks *h,
		    const struct hooks_origin *o);

/* Free s and close its connections; NULL is a no-op. */
void sync_free(struct sync *s);

/*
 * Provision logins[0..n) (n <= SYNC_BATCH_MAX; names may repeat) and
 * write one outcome per login into results[0..n).
 */
void sync_users(struct sync *s, const char *const logins[], size_t n,
		struct sync_result *results);

/* Counters since sync_new: LDAP searches and HTTP requests made. */
void sync_counts(const struct sync *s, unsigned long *ret_ldap_searches,
		 unsigned long *ret_http_requests);

/* The transform's counters (false, nothing written: no transform). */
bool sync_transform_stats(const struct sync *s, struct transform_stats *ret);

struct sync_groups_stats; /* sync_groups.h */

/* The groups' login counters (false, nothing written: no [group_map]
 * nor [role_map]). */
bool sync_groups_stats(const struct sync *s, struct sync_groups_stats *ret);

/* Forget the cached ftrack group and role names: the next login with
 * groups reads them again (after a reconcile, on SIGHUP). */
void sync_groups_refresh(struct sync *s);

/* The word for an outcome: "created", "updated", ...,
 * "waiting-for-seat", "held", "retry", "failed". */
const char *sync_outcome_name(enum sync_outcome o);

#endif
