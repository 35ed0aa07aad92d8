/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recon.h: the full reconcile's plan and safety guards, as a pure function.
 *
 * plan_recon_build() takes every LDAP entry, every ftrack user with its
 * markers, the policy and the population of the last good run, and
 * returns the ordered actions (each with its reason, decided per person
 * by plan_user() and plan_missing()) and the result of every guard of
 * DESIGN.md section 4.  Any failed guard holds the whole plan: nothing is
 * written.  The guards that doubt LDAP's answer itself (an error or
 * partial result, zero entries) can never be forced; the others (size of
 * the population, sentinels, number of deactivations) can be, by a person
 * who looked at the held plan (`reconcile --apply --force`).
 *
 * With link_by = email, an LDAP person with no ftrack user by uuid marker
 * or by username is matched by e-mail address (plan_match): against the
 * ftrack users that no other LDAP entry has by username or uuid marker.
 * The links the plan makes are its actions for which plan_link_by() is
 * not NULL; the ftrack users nobody accounts for are listed apart.
 *
 * No I/O.  The plan borrows the users of both lists: keep them alive
 * until plan_recon_free().  Not thread-safe on one plan.
 */
#ifndef PLAN_RECON_H
#define PLAN_RECON_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ft_attrs.h"
#include "ft_user.h"
#include "plan_user.h"

enum plan_guard_id {
	GUARD_LDAP_COMPLETE,  /* LDAP answered fully, without error */
	GUARD_NONEMPTY,       /* LDAP returned at least one entry */
	GUARD_MIN_USERS,      /* at least min_ldap_users entries */
	GUARD_MAX_SHRINK,     /* not shrunk more than max_shrink */
	GUARD_SENTINELS,      /* every sentinel_users account present */
	GUARD_MAX_DEACTIVATE, /* at most max_deactivate leavers */
	GUARD_COUNT
};

struct plan_guard {
	const char *name; /* "ldap_complete", "min_ldap_users", ... */
	bool ok;
	bool forceable;
	char detail[192];
};

struct plan_recon_input {
	const struct config_policy *policy;
	const char *api_user;
	const struct ft_user_list *ldap;   /* every entry, disabled included */
	int ldap_status;                   /* FT_OK or the read's FT_E_* */
	const char *ldap_reason;           /* why it failed, or "" */
	const struct ft_user_list *ftrack; /* every user, with markers */
	/* entries that could not be mapped: what could be told of each
	 * (ldap_map_identity); their ftrack users are kept, never treated as
	 * leavers, and one that cannot be identified at all holds the run */
	const struct ft_user_list *unmapped;
	unsigned long last_good; /* population then; 0: none */
	bool link_by_email;      /* [ftrack] link_by = email */
	/* [group_map]/[role_map]: the groups and roles an administrator gave
	 * ftrack user f by hand (plan_groups_hand_made()), NULL: none or not
	 * known; a returning login's old account with any is a conflict, not
	 * a relink (NULL function: no groups, as without a mapping) */
	const char *(*hand_made)(void *ctx, const struct ft_user *f);
	void *hand_made_ctx;
};

struct plan_recon {
	struct plan_action *v; /* the actions, in the order to apply */
	size_t n;
	size_t count[PLAN_SKIP + 1]; /* per kind, skips and no-ops too */
	struct plan_guard guard[GUARD_COUNT];
	unsigned long population; /* LDAP entries read */
	/* ftrack users no LDAP entry accounts for and no rule keeps: not
	 * linked (no uuid marker), not matched by username or e-mail, not
	 * the API user, not in protected_users or skip_users; sorted by
	 * username (borrowed, like the actions) */
	const struct ft_user **unaccounted;
	size_t n_unaccounted;
};

/*
 * Build the plan.  Returns FT_OK (*ret filled; free with
 * plan_recon_free) or FT_E_NOMEM.
 */
FT_MUST_USE int plan_recon_build(const struct plan_recon_input *in,
				 struct plan_recon *ret);

/* Free the actions; the plan is left empty. */
void plan_recon_free(struct plan_recon *p);

/* True when a guard holds the plan (with force: an unforceable one). */
bool plan_recon_held(const struct plan_recon *p, bool force);

/* Changes the plan would make (creates ... deletes, not conflicts). */
size_t plan_recon_changes(const struct plan_recon *p);

#endif
