/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan.h: what to do about one person, as a pure function.
 *
 * plan_user() compares a person found in LDAP with the ftrack user of the
 * same username and the ftrack user carrying the same LDAP uuid marker
 * (plan_user_match(): and, with link_by = email, the ftrack users with the
 * same e-mail address), under the [policy] of the configuration, and says
 * what to write and why.
 * The on-demand path calls it for each login; the full reconcile for each
 * LDAP entry.  plan_missing() decides about an ftrack user that no LDAP
 * entry accounts for (reconcile only).  A user with the seat_waiting
 * marker (ftrack kept inactive a user the sync asked to be active: no free
 * seat) is asked again (PLAN_REACTIVATE) under any `reactivate`; once
 * active, its marker is removed; one that left LDAP is deactivated with
 * the deactivated marker in place of the seat_waiting one.
 *
 * No I/O, no allocation: results point into the caller's structs (borrowed)
 * and hold the reason in a fixed buffer.  Thread-safe.
 */
#ifndef PLAN_USER_H
#define PLAN_USER_H

#include <stdbool.h>

#include "config.h"
#include "ft_user.h"

enum plan_kind {
	PLAN_NONE,       /* in sync */
	PLAN_CREATE,     /* new ftrack user, active, with the uuid marker */
	PLAN_UPDATE,     /* changed fields */
	PLAN_LINK,       /* existing user gets the uuid marker (+ fields) */
	PLAN_RENAME,     /* same uuid, new username (+ fields) */
	PLAN_REACTIVATE, /* inactive user made active again (+ fields) */
	PLAN_DEACTIVATE, /* left LDAP: is_active false + deactivated marker */
	PLAN_DELETE,     /* left LDAP and missing = delete */
	PLAN_CONFLICT,   /* two records claim one identity: left alone */
	PLAN_SKIP,       /* policy says leave it (reason says which) */
};

/* What a plan writes (bits of plan_action.fields). */
enum plan_field {
	PLAN_F_USERNAME = 1u << 0,
	PLAN_F_EMAIL = 1u << 1,
	PLAN_F_FIRST_NAME = 1u << 2,
	PLAN_F_LAST_NAME = 1u << 3,
	PLAN_F_ACTIVATE = 1u << 4,     /* is_active = true */
	PLAN_F_DEACTIVATE = 1u << 5,   /* is_active = false */
	PLAN_F_MARK_UUID = 1u << 6,    /* create the uuid marker */
	PLAN_F_MARK_GONE = 1u << 8,    /* create the deactivated marker */
	PLAN_F_UNMARK_GONE = 1u << 9,  /* delete the deactivated marker */
	PLAN_F_UNMARK_WAIT = 1u << 10, /* delete the seat_waiting marker */
	PLAN_F_MARK_EMAIL = 1u << 11,  /* create the linked_by marker: linked
					* by e-mail, its username is kept */
	PLAN_F_UNMARK_UUID = 1u << 15, /* delete the uuid marker (an undone
					* link: `reconcile --undo`) */
};

#define PLAN_REASON_MAX 256

struct plan_action {
	enum plan_kind kind;
	unsigned fields;              /* enum plan_field bits */
	const struct ft_user *ldap;   /* borrowed; NULL for missing users */
	const struct ft_user *ftrack; /* borrowed; NULL for creates */
	char reason[PLAN_REASON_MAX];
};

/*
 * Decide for an LDAP person.  by_name: the ftrack user whose username is
 * ldap->username (or NULL); by_uuid: the ftrack user whose uuid marker is
 * ldap->uuid (or NULL; may be the same as by_name).  create_ok: whether a
 * missing user may be created (on_login = create, or reconcile_create).
 * api_user: the daemon's own ftrack account (never touched).
 */
void plan_user(const struct config_policy *pol, const char *api_user,
	       const struct ft_user *ldap, const struct ft_user *by_name,
	       const struct ft_user *by_uuid, bool create_ok,
	       struct plan_action *ret);

/*
 * The ftrack users an LDAP person may be, in the order they are tried:
 * the uuid marker, the exact username, then (link_by = email only) the
 * e-mail address.  by_email[0..n_email): every ftrack user whose email
 * equals the person's with ASCII case folded (ft_email_cmp), tried only
 * when by_uuid and by_name are NULL; one is linked, two or more are a
 * conflict (no link, no create; the reason names their usernames).
 * email_twin: another LDAP entry has the same address (the reconcile
 * knows; the login path cannot), so an e-mail match is a conflict too.
 * hand_made ([group_map]/[role_map] only; NULL: nothing, or not known):
 * the groups and roles an administrator gave by hand to the user a login
 * reused by a new LDAP entry would relink (by_name, else by_email[0]:
 * plan_groups_hand_made()); then it is a conflict, not a relink, and the
 * reason names them.
 */
struct plan_match {
	const struct ft_user *by_name;
	const struct ft_user *by_uuid;
	const struct ft_user *const *by_email; /* NULL when n_email is 0 */
	size_t n_email;
	bool email_twin;
	const char *hand_made;
};

/*
 * plan_user() with every candidate of m.  A user linked by e-mail (its
 * linked_by marker, or linked now) keeps its ftrack username: username is
 * not a synced field for it, and it is found by its uuid marker alone (an
 * ftrack user named like the LDAP login is then another user, not a
 * conflict).
 */
void plan_user_match(const struct config_policy *pol, const char *api_user,
		     const struct ft_user *ldap, const struct plan_match *m,
		     bool create_ok, struct plan_action *ret);

/*
 * How action a links its ftrack user to the LDAP entry: "username" or
 * "email" when it writes the uuid marker on an existing user (a link, or
 * a relink of a returning user), NULL when it makes no link.
 */
const char *plan_link_by(const struct plan_action *a);

/*
 * Decide for an ftrack user that no LDAP entry accounts for (left the
 * directory, or disabled there).  now_iso: the time for the marker text,
 * only used in the reason.
 */
void plan_missing(const struct config_policy *pol, const char *api_user,
		  const struct ft_user *ftrack, struct plan_action *ret);

/*
 * The text fields a plan writes: PLAN_FIELDS[i] is a PLAN_F_* bit of a
 * user field, plan_field_name() its name in ftrack ("username", "email",
 * "first_name", "last_name"), plan_field_slot() where u holds it and
 * plan_field_get() its value (NULL for a bit that is not one of them).
 */
#define PLAN_NFIELDS 4
extern const unsigned PLAN_FIELDS[PLAN_NFIELDS];
const char *plan_field_name(unsigned bit);
char **plan_field_slot(struct ft_user *u, unsigned bit);
const char *plan_field_get(const struct ft_user *u, unsigned bit);

/*
 * Why the configuration keeps ftrack user f out of the sync whatever LDAP
 * says ("the API user itself", "in protected_users", "in skip_users"), or
 * NULL.  plan_missing() keeps these first.
 */
const char *plan_protected_reason(const struct config_policy *pol,
				  const char *api_user,
				  const struct ft_user *f);

/* The word for a kind: "create", "update", ... */
const char *plan_kind_name(enum plan_kind kind);

#endif
