/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack_probe.c: what the API user may read, asked without writing. */
#include "ftrack_api.h"

#include <stdio.h>
#include <string.h>

#include "ft_err.h"
#include "ftrack_int.h"

/* One query of at most one record, alone in its POST. */
static int
probe_query(struct ftrack_client *c, const char *expr, char *err, size_t errlen)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ftrack_reply *rep = NULL;
	struct call k;
	int r;

	if (ops == NULL) {
		snprintf(err, errlen, "out of memory");
		return FT_E_NOMEM;
	}
	r = ftrack_ops_query(ops, expr);
	if (r == FT_OK)
		r = ftrack_call_ops(c, ops, 0, 1, &k, &rep, err, errlen);
	ftrack_reply_free(rep);
	ftrack_ops_free(ops);
	return r;
}

void
ftrack_probe(struct ftrack_client *c, struct ftrack_probe *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->users = probe_query(c, "select id from User limit 1",
				 ret->users_err, sizeof(ret->users_err));
	ret->markers = probe_query(
		c, MARKER_SELECT " where key in " MARKER_KEYS " limit 1",
		ret->markers_err, sizeof(ret->markers_err));
}
