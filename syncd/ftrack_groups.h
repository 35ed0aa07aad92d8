/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ftrack_groups.h: ftrack's groups, memberships and security roles, as
 * the mapping of [group_map] and [role_map] reads them (ftrack-api.md
 * section 12).
 *
 * Part of the ftrack client (ftrack_api.h: its connection, retries and
 * errors).  Reads only: the write adders are ftrack_api.h's
 * ftrack_batch_*_membership and ftrack_batch_role.  Names are resolved
 * by pure functions over what one read returned, so that a daemon reads
 * once per run (and on SIGHUP) and resolves from its copy.
 *
 * Ownership: a struct ftrack_names and each struct ftrack_rows filled
 * here own their strings (ftrack_names_clear, ftrack_rows_clear).
 * Not thread-safe on one client.  Non-logging.
 */
#ifndef FTRACK_GROUPS_H
#define FTRACK_GROUPS_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"
#include "ftrack_api.h"
#include "ftrack_json.h"

#define FTRACK_GROUP_PATH_MAX 16 /* levels of a parent/child path */

/* Field indexes of the rows read here. */
enum { FG_ID, FG_NAME, FG_PARENT }; /* Group */

enum { FR_ID, FR_NAME, FR_TYPE }; /* SecurityRole */

enum { FM_ID, FM_USER, FM_GROUP }; /* Membership */

enum { FU_ID, FU_USER, FU_ROLE, FU_ALL_OPEN }; /* UserSecurityRole */

enum { FP_ID, FP_USR }; /* ...RoleProject */

/* Every studio-wide group (local is false) and every security role. */
struct ftrack_names {
	struct ftrack_rows groups; /* id, name, parent_id */
	struct ftrack_rows roles;  /* id, name, type */
};

/* Set the types and fields of n's lists (before reading into it). */
void ftrack_names_init(struct ftrack_names *n);
void ftrack_names_clear(struct ftrack_names *n);

/*
 * Read every Group with local false and every SecurityRole, paged, into
 * n (ftrack_names_init'ed, empty).  Returns FT_OK or the client's errors;
 * on failure n holds what was read (clear it).
 */
FT_MUST_USE int ftrack_names_read(struct ftrack_client *c,
				  struct ftrack_names *n, char *err,
				  size_t errlen);

/*
 * The id of the group key names (borrowed from n), or NULL with the
 * reason in *ret_why: the id of a group read; else a parent/child path
 * ("London/Lighting": each name the child of the one before, the first
 * one anywhere); else a name that exactly one group has.  FT_E_NOTFOUND
 * (no such group), FT_E_CONFLICT (the name or path names two or more).
 * Pure.
 */
const char *ftrack_group_resolve(const struct ftrack_names *n, const char *key,
				 int *ret_why);

/*
 * The id of the security role named name (exact), or NULL with
 * FT_E_NOTFOUND, FT_E_CONFLICT (two roles of that name) or FT_E_PERM (a
 * role of type API: it cannot be given to a user) in *ret_why.  Pure.
 */
const char *ftrack_role_resolve(const struct ftrack_names *n, const char *name,
				int *ret_why);

/*
 * Append to rows (set up here: cleared first) the Memberships whose
 * group_id is one of group_ids[0..n), paged, FTRACK_LOOKUP_CHUNK ids a
 * query: id, user_id, group_id.
 */
FT_MUST_USE int ftrack_memberships_read(struct ftrack_client *c,
					const char *const group_ids[], size_t n,
					struct ftrack_rows *rows, char *err,
					size_t errlen);

/*
 * The UserSecurityRoles of the users user_ids[0..n) into roles (id,
 * user_id, security_role_id, is_all_open_projects), and their per-project
 * grants into projects (id, user_security_role_id); both set up here.
 */
FT_MUST_USE int ftrack_user_roles_read(struct ftrack_client *c,
				       const char *const user_ids[], size_t n,
				       struct ftrack_rows *roles,
				       struct ftrack_rows *projects, char *err,
				       size_t errlen);

/*
 * The same rows as ftrack_user_roles_read(), of the UserSecurityRoles of
 * the roles role_ids[0..n) (every user's: the reconcile's read of the
 * mapped roles).
 */
FT_MUST_USE int ftrack_role_grants_read(struct ftrack_client *c,
					const char *const role_ids[], size_t n,
					struct ftrack_rows *roles,
					struct ftrack_rows *projects, char *err,
					size_t errlen);

/* Field indexes of the marker rows. */
enum { FK_PARENT, FK_KEY, FK_VALUE };

/*
 * Every ftrack_syncd.groups and ftrack_syncd.roles Metadata record, paged
 * (parent_id, key, value), into rows (set up here).
 */
FT_MUST_USE int ftrack_group_markers_read(struct ftrack_client *c,
					  struct ftrack_rows *rows, char *err,
					  size_t errlen);

/*
 * At login: the Memberships, UserSecurityRoles and ftrack_syncd.groups /
 * .roles records of the users user_ids[0..n), in one POST of three
 * queries (at most one page each: FT_E_TOOBIG beyond it), into mem,
 * usr and markers (set up here; usr without per-project grants).
 */
FT_MUST_USE int ftrack_person_state_read(struct ftrack_client *c,
					 const char *const user_ids[], size_t n,
					 struct ftrack_rows *mem,
					 struct ftrack_rows *usr,
					 struct ftrack_rows *markers, char *err,
					 size_t errlen);

#endif
