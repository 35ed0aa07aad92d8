/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan_ops.h: decisions (plan_action) written to ftrack as operations.
 *
 * Shared by the on-demand path and the reconcile, so that both write a
 * decision the same way: user fields, activation and the markers of
 * DESIGN.md section 6 go into one group of the batch.
 * Pure apart from the batch it appends to; non-logging.
 */
#ifndef PLAN_OPS_H
#define PLAN_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"
#include "ftrack_api.h"
#include "plan_user.h"

/*
 * Write the decisions acts[i] for which want is NULL or want[i] is true:
 * their operations go into one ftrack batch, in POSTs of whole persons
 * (all the operations of one action share its ftrack user id and travel
 * together, so a deactivation never lands without its marker); when
 * ftrack refuses a POST it is sent again one person at a time, so that
 * only the bad record fails.  now: the time written in a deactivated
 * marker comes from timing_now_iso().
 *
 * Seats: a write that asks for is_active true (a create, an action with
 * PLAN_F_ACTIVATE) carries the ftrack_syncd.seat_waiting marker (its value
 * now) in its group, unless the user has it already, and reads is_active
 * back: when ftrack shows the user active the marker is removed by one
 * more POST for all of them (if that fails, the marker stays on an active
 * user, and plan_user removes it at the next look); when ftrack kept the
 * user inactive, the marker stays and the code is FT_E_SEAT.
 *
 * codes[i] gets FT_OK when every operation of acts[i] landed (or it had
 * none), else the first failure: FT_E_INVAL (the action lacks an id or
 * name it needs; nothing of it is sent), FT_E_NOMEM, FT_E_SEAT (no free
 * seat: ftrack kept the user inactive, or refused the write with an
 * exception naming the licence), FT_E_MALFORMED (written, but is_active
 * could not be read back), or ftrack's answer (FT_E_DATA, or a transient
 * code for what was not sent).  messages[i] gets ftrack's words for it
 * (malloc'd, NULL when none; the caller frees them).  Entries not wanted
 * are left as they are.  Returns FT_OK, or the commit's first failure
 * with err filled (one line for the log).
 */
int plan_ops_write(struct ftrack_client *c, const struct plan_action *acts,
		   const bool *want, size_t n, int *codes, char **messages,
		   char *err, size_t errlen);

#endif
