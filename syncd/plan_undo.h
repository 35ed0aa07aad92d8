/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan_undo.h: the plan of `reconcile --undo RUN`, as a pure function.
 *
 * plan_undo_build() takes what one applied run did (its report, read back
 * by report_read_run) and every ftrack user as it is now, and returns the
 * actions that put back, field by field, what that run changed:
 *   - a user it deactivated is reactivated and its deactivated marker
 *     removed; a user it reactivated is deactivated again (with the
 *     marker when it had one before);
 *   - each field it changed (username, email, first_name, last_name) gets
 *     its old value; a rename is reversed (unless another user has taken
 *     the old username since: left as is);
 *   - a uuid marker it added (a link) is removed, one it replaced (a
 *     relink) gets its old value.
 * Only what is still as that run left it is put back: a field someone
 * changed since (by hand, or a later run) is left as is and named in the
 * reason ("changed since that run: left as is"), so nothing an
 * administrator did is undone.  Users it created are never deleted nor
 * deactivated ("created by that run: left as is"); users it deleted
 * cannot be brought back; the API user is never touched, and a user in
 * protected_users is never deactivated.  Each of these is listed as a
 * PLAN_SKIP action with its reason.
 *
 * No I/O.  The plan borrows the run's strings and the ftrack users: keep
 * both alive until plan_undo_free().  Not thread-safe on one plan.
 */
#ifndef PLAN_UNDO_H
#define PLAN_UNDO_H

#include "config.h"
#include "ft_attrs.h"
#include "ft_user.h"
#include "plan_recon.h"
#include "report.h"

struct plan_undo_input {
	const struct config_policy *policy; /* protected_users */
	const char *api_user;
	const struct report_run *run;      /* what that run did */
	const struct ft_user_list *ftrack; /* every user now, with markers */
};

struct plan_undo {
	/* the actions (kind, fields, reason; ldap: the values to write,
	 * ftrack: the user now) with their counts; guards all ok (an undo
	 * reads no LDAP: the guards about LDAP's answer do not apply) */
	struct plan_recon plan;
	struct ft_user *target; /* per action: the values to put back
				 * (borrowed strings) */
};

/*
 * Build the undo plan.  Returns FT_OK (*ret filled; free with
 * plan_undo_free) or FT_E_NOMEM.
 */
FT_MUST_USE int plan_undo_build(const struct plan_undo_input *in,
				struct plan_undo *ret);

/* Free the actions and targets; the plan is left empty. */
void plan_undo_free(struct plan_undo *u);

#endif
