/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sync_groups.h: the groups phase of the reconcile, and the checks of
 * `check`, for [group_map] and [role_map].
 *
 * A driver (it logs, once per finding, and prints): reads every LDAP
 * group (ldap_groups.h), the mapped ftrack groups and roles by name, their
 * Memberships and grants and the sync's records (ftrack_groups.h), plans
 * with plan_groups.h and, with apply, writes each person's operations and
 * the markers recording them in one group of one batch.  A mapping line
 * whose ftrack name is missing, ambiguous or a role of type API is left
 * out (logged); its recorded pairs are frozen.
 *
 * The users are those of the reconcile's own read, before its writes: a
 * person the same reconcile creates gets their groups at the next run.
 * Not thread-safe.
 */
#ifndef SYNC_GROUPS_H
#define SYNC_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "ft_attrs.h"
#include "ft_user.h"
#include "ftrack_api.h"
#include "hooks.h"
#include "ldap_src.h"
#include "report.h"

struct sync_groups_result {
	size_t changes;     /* actions planned (held removals not counted) */
	size_t failed;      /* actions ftrack refused or not done */
	unsigned long held; /* removals held by a guard */
	unsigned long frozen;
	const char *held_by; /* the guard that held them, or NULL */
	bool read_failed;    /* ftrack could not be read: nothing planned */
	/* for the run's report and its table: report.v is changes[], owned
	 * (sync_groups_result_clear); its strings borrow from the config
	 * and from the users given */
	struct report_groups report;
	struct report_group_change *v;
};

/* Free what r holds; r is left zeroed. */
void sync_groups_result_clear(struct sync_groups_result *r);

/* The table of r's changes and its summary line, to out. */
void sync_groups_print(const struct sync_groups_result *r, FILE *out);

/* Whether cfg maps any group or role. */
bool sync_groups_enabled(const struct config *cfg);

/*
 * The groups phase for the users ftrack (with their uuid markers) and the
 * LDAP people ldap: plan, apply when apply, into *ret (zeroed here).
 * force lets max_removals through.  With hooks (NULL: none), the changes
 * applied are journaled for the on_change hook as from origin (intent
 * before the write, applied after: hooks.h); a dry run journals none.
 * Returns FT_OK (see *ret) or FT_E_*
 * when the phase could not run at all.
 */
FT_MUST_USE int
sync_groups_reconcile(const struct config *cfg, struct ftrack_client *ft,
		      const struct ft_user_list *ftrack,
		      const struct ft_user_list *ldap, bool apply, bool force,
		      struct hooks *hooks, const struct hooks_origin *origin,
		      struct sync_groups_result *ret);

/*
 * `check`: every mapping line resolved on both sides, one line each to
 * out ("ok", or the problem: a missing or ambiguous name, a role of type
 * API, an LDAP group not found).  Returns the number of problems, or < 0
 * (FT_E_*) when ftrack or LDAP could not be read.
 */
int sync_groups_check(const struct config *cfg, struct ftrack_client *ft,
		      FILE *out);

/*
 * Before the reconcile's users are planned: the Memberships of the mapped
 * groups, the grants of the mapped roles and the sync's records of the
 * managed users ftrack, into *ret (free with sync_groups_owned_free).
 * sync_groups_hand_made(o, f) then names what an administrator gave f by
 * hand (plan_groups_hand_made()), NULL when nothing or f is not managed;
 * the string lives until the next call.  It is plan_recon_input's
 * hand_made: a login reused by a new LDAP entry relinks the old account
 * only when it holds nothing given by hand.  Returns FT_OK or FT_E_*
 * (logged).
 */
struct sync_groups_owned;
FT_MUST_USE int sync_groups_owned_read(const struct config *cfg,
				       struct ftrack_client *ft,
				       const struct ft_user_list *ftrack,
				       struct sync_groups_owned **ret);
void sync_groups_owned_free(struct sync_groups_owned *o);
const char *sync_groups_hand_made(void *ctx, const struct ft_user *f);

/* ---- at login ------------------------------------------------------- */

#define SYNC_GROUPS_CACHE_SECONDS 3600 /* the names are read again after */

/* The mapped names' ids, read once and kept (a daemon's sync). */
struct sync_groups_cache;

/* Free c; NULL is a no-op. */
void sync_groups_cache_free(struct sync_groups_cache *c);

/* The login path's counters (a daemon's metrics and `status`). */
struct sync_groups_stats {
	unsigned long memberships_added; /* Memberships created at login */
	unsigned long roles_granted;     /* roles given at login */
	unsigned long failures;   /* name-resolution failures: reads of the
				 * ftrack names that failed, and at each
				 * read the mapping lines left unresolved */
	bool read;                /* the names were read at least once */
	size_t resolved, missing; /* mapping lines at the last read */
};

/*
 * At login, after the person's user was written: add the memberships and
 * roles of people[i] (its LDAP entry) to its ftrack user ids[i] (NULL:
 * skip) for i < n; never takes one away.  Per person: one LDAP search
 * for its groups (more with nested), one POST reading its memberships,
 * roles and records, one POST writing the additions with the markers
 * recording them.  created[i]: the user was created in this batch; then
 * the read is skipped unless a role is wanted (ftrack's default role on a
 * new user cannot be known without it, and is never recorded).  The ftrack names are read into *cache (made when NULL)
 * and read again after SYNC_GROUPS_CACHE_SECONDS.  With hooks, the
 * additions are journaled as from origin (its host fn asked with i).
 * Returns FT_OK with the
 * changes made for person i in ret_changes[i] and the LDAP searches
 * added to *ret_searches, or the first failure with err filled; what a failure
 * leaves is added at the next login or reconcile.  Counts into *st;
 * logs only, at each read of the names, the mapping lines they leave
 * unresolved.
 */
FT_MUST_USE int
sync_groups_login(const struct config *cfg, struct ldap_src *src,
		  struct ftrack_client *ft, struct sync_groups_cache **cache,
		  const struct ft_user *const people[], const char *const ids[],
		  const bool created[], size_t n, struct hooks *hooks,
		  const struct hooks_origin *origin,
		  struct sync_groups_stats *st, size_t ret_changes[],
		  unsigned long *ret_searches, char *err, size_t errlen);

#endif
