/* SPDX-License-Identifier: Apache-2.0 */
/*
 * apply.h: turn a plan_action into ftrack write operations.
 *
 * Shared by the on-demand path and the reconcile, so that both write a
 * decision the same way: user fields, activation and the markers of
 * DESIGN.md section 6 go into one group of the batch.
 * Pure apart from the batch it appends to; non-logging.
 */
#ifndef PLAN_OPS_H
#define PLAN_OPS_H

#include <stddef.h>

#include "ft_attrs.h"
#include "ftrack_api.h"
#include "plan_user.h"

/*
 * Append the operations of a to b; *ret_op gets the index of the first
 * (when a writes nothing, the index the next would have).  now_iso is the
 * time written in a deactivated marker.  Returns FT_OK, FT_E_INVAL (the
 * action lacks an id or name it needs) or FT_E_NOMEM.
 */
FT_MUST_USE int plan_ops_add(struct ftrack_batch *b,
			     const struct plan_action *a, const char *now_iso,
			     size_t *ret_op);

#endif
