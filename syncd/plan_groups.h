/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan_groups.h: which memberships and security roles to add and take
 * back, as a pure function (the ownership rule of [group_map] and
 * [role_map]).
 *
 * Only what the sync created is recorded on the User and may be taken
 * back: ftrack_syncd.groups holds the ids of the Membership entities it
 * created (comma-separated; each id is ftrack_membership_id(user, group),
 * so an id tells its group), ftrack_syncd.roles holds, per role id,
 * whether the sync added the role ("a") and whether it granted it on all
 * open projects ("g") ("<role id>:ag,<role id>:g").  A membership or
 * grant that exists when the sync wants it is not recorded: it is the
 * administrator's (ftrack's default role on a new user too).
 *
 * Removal undoes only what is recorded: the Membership by its id, the
 * all-open-projects grant (revoke), the role itself only when the sync
 * added it and it holds no per-project grant.  A recorded pair whose
 * group or role is not mapped or did not resolve is frozen: reported,
 * never removed.  A recorded membership that is gone (taken away by
 * hand) is not made again.  Removals happen only when every guard lets
 * them: the whole group read complete (groups_complete, never forced),
 * the mapping lines of that group or role complete, remove = yes, and
 * at most max_removals (forceable).  Additions go ahead in every case.
 * Protected users and the API user are never touched.
 *
 * No I/O; everything is borrowed from the input but the plan's own
 * strings (plan_groups_free).
 */
#ifndef PLAN_GROUPS_H
#define PLAN_GROUPS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ft_attrs.h"
#include "ldap_groups.h"

#define FTRACK_MARKER_GROUPS     "ftrack_syncd.groups"
#define FTRACK_MARKER_ROLES      "ftrack_syncd.roles"
#define PLAN_GROUPS_RECORDED_MAX 24 /* pairs of one marker (1024 bytes) */

/* A managed ftrack user, with what LDAP and ftrack say of it. */
struct pg_user {
	const char *id;
	const char *login; /* the LDAP login (memberUid); NULL: not in LDAP */
	const char *dn;    /* its LDAP DN, ldap_groups_dn_norm() form */
	const char *groups_marker; /* value of ftrack_syncd.groups, or NULL */
	const char *roles_marker;  /* value of ftrack_syncd.roles, or NULL */
	bool untouchable;          /* protected, or the API user */
};

/* A mapped ftrack group or role, resolved, and the lines naming it. */
struct pg_target {
	const char *id;   /* ftrack id */
	const char *name; /* the config's key */
	const struct group_members **lines;
	size_t nlines;
};

/* A Membership of a mapped group, as read. */
struct pg_membership {
	const char *id, *user_id, *group_id;
};

/* A UserSecurityRole of a managed user, as read. */
struct pg_role {
	const char *user_id, *role_id;
	bool all_open;     /* is_all_open_projects */
	bool has_projects; /* holds a per-project grant */
};

struct pg_input {
	const struct config_groups *cfg;
	const struct pg_user *users;
	size_t nusers;
	const struct pg_target *groups, *roles;
	size_t ngroups, nroles;
	const struct pg_membership *memberships;
	size_t nmemberships;
	const struct pg_role *have_roles;
	size_t nhave_roles;
	bool groups_complete; /* the whole group read answered in full */
	bool force_max_removals;
};

enum pg_kind { PG_GROUP_ADD, PG_GROUP_REMOVE, PG_ROLE_GRANT, PG_ROLE_REVOKE };

struct pg_action {
	enum pg_kind kind;
	const char *user_id;
	size_t user;            /* its index in pg_input.users */
	const char *target_id;  /* the group or role id */
	const char *target;     /* its config name */
	char membership_id[37]; /* PG_GROUP_*: the Membership */
	bool role_add;          /* PG_ROLE_GRANT: add the role first */
	bool role_remove;       /* PG_ROLE_REVOKE: remove the role after */
	bool grant;             /* PG_ROLE_*: grant / revoke all open */
	const char *reason;
};

/* A marker to write: its new value (NULL: delete it). */
struct pg_marker {
	const char *user_id;
	const char *key;
	char *value;
	bool exists; /* the user has it now */
};

struct pg_plan {
	struct pg_action *actions;
	size_t n, cap;
	struct pg_marker *markers;
	size_t nmarkers, mcap;
	unsigned long frozen;   /* recorded pairs of unmapped or unresolved */
	unsigned long held;     /* removals held by a guard */
	unsigned long gone;     /* recorded memberships taken away by hand */
	unsigned long recorded; /* pairs recorded before the plan */
	const char *held_by;    /* NULL, "groups_complete", "remove", ... */
	unsigned long removals; /* removals planned (held or not) */
};

/*
 * Plan in into *ret (zeroed by the caller).  Returns FT_OK, FT_E_NOMEM
 * or FT_E_INTERNAL (an id cannot be derived); on failure free *ret.
 */
FT_MUST_USE int plan_groups_build(const struct pg_input *in,
				  struct pg_plan *ret);

/* Free the plan's strings and arrays. */
void plan_groups_free(struct pg_plan *p);

/*
 * Whether user u (of in->users or not: only its id and markers are read)
 * holds a Membership of a mapped group or a mapped role that its markers
 * do not record: something an administrator gave by hand.  A role counts
 * as the sync's only when the sync added it ("a"), holds no per-project
 * grant and is granted on all open projects only when the sync granted
 * that ("g").  The names of the hand-made groups and roles go into why
 * ("group 'Compositing', role 'Supervisor'", cut to fit; "" when none).
 * The rule for relinking a login reused by a new LDAP entry: the old
 * account is relinked only when this is false.
 */
bool plan_groups_hand_made(const struct pg_input *in, const struct pg_user *u,
			   char *why, size_t len);

/* "group_add", "group_remove", "role_grant", "role_revoke". */
const char *plan_groups_kind_name(enum pg_kind k);

#endif
