/* SPDX-License-Identifier: Apache-2.0 */
/* plan_ops.c: a plan_action as ftrack batch operations. */
#include "plan_ops.h"

#include <string.h>
#include <time.h>

#include "ft_err.h"

/* The FTRACK_F_* bits of the user attributes a writes. */
static unsigned
user_fields(unsigned f)
{
	unsigned out = 0;

	if (f & PLAN_F_USERNAME)
		out |= FTRACK_F_USERNAME;
	if (f & PLAN_F_EMAIL)
		out |= FTRACK_F_EMAIL;
	if (f & PLAN_F_FIRST_NAME)
		out |= FTRACK_F_FIRST_NAME;
	if (f & PLAN_F_LAST_NAME)
		out |= FTRACK_F_LAST_NAME;
	if (f & (PLAN_F_ACTIVATE | PLAN_F_DEACTIVATE))
		out |= FTRACK_F_IS_ACTIVE;
	return out;
}

static int
apply_markers(struct ftrack_batch *b, const struct plan_action *a,
	      const char *now_iso)
{
	const struct ft_user *f = a->ftrack;
	int r = FT_OK;

	if (a->fields & PLAN_F_MARK_UUID) {
		if (a->ldap == NULL || a->ldap->uuid == NULL)
			return FT_E_INVAL;
		r = ftrack_batch_set_marker(b, f->id, FTRACK_MARKER_UUID,
					    a->ldap->uuid, f->uuid != NULL,
					    NULL);
	}
	if (r == FT_OK && (a->fields & PLAN_F_MARK_GONE))
		r = ftrack_batch_set_marker(b, f->id, FTRACK_MARKER_DEACTIVATED,
					    now_iso, f->deactivated != NULL,
					    NULL);
	if (r == FT_OK && (a->fields & PLAN_F_UNMARK_GONE))
		r = ftrack_batch_delete_marker(b, f->id,
					       FTRACK_MARKER_DEACTIVATED, NULL);
	return r;
}

int
plan_ops_add(struct ftrack_batch *b, const struct plan_action *a,
	     const char *now_iso, size_t *ret_op)
{
	unsigned fields = user_fields(a->fields);
	struct ft_user u;
	int r = FT_OK;

	*ret_op = ftrack_batch_count(b);
	if (a->kind == PLAN_CREATE)
		return ftrack_batch_create_user(b, a->ldap, a->ldap->uuid,
						ret_op);
	if (a->ftrack == NULL || a->ftrack->id == NULL)
		return a->fields ? FT_E_INVAL : FT_OK;
	if (a->kind == PLAN_DELETE)
		return ftrack_batch_delete_user(b, a->ftrack->id, ret_op);
	memset(&u, 0, sizeof(u));
	if (a->ldap != NULL)
		u = *a->ldap; /* borrowed strings; nothing is freed */
	u.is_active = (a->fields & PLAN_F_ACTIVATE) != 0;
	if (fields != 0)
		r = ftrack_batch_update_user(b, a->ftrack->id, &u, fields,
					     NULL);
	if (r == FT_OK)
		r = apply_markers(b, a, now_iso);
	return r;
}
