/* SPDX-License-Identifier: Apache-2.0 */
/* plan_ops.c: decisions as ftrack batch operations, written and collected. */
#include "plan_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "timing.h"

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

/*
 * Append the operations of a to b; *ret_op gets the index of the first
 * (when a writes nothing, the index the next would have).
 */
static int
add_action(struct ftrack_batch *b, const struct plan_action *a,
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

/* The first failure among the n operations from first: *code, *msg. */
static void
collect(const struct ftrack_batch *b, size_t first, size_t n, int *code,
	char **msg)
{
	struct ftrack_result fr;
	size_t j;

	for (j = 0; j < n; j++) {
		if (ftrack_batch_result(b, first + j, &fr) < 0 ||
		    fr.code == FT_OK)
			continue;
		*code = fr.code;
		*msg = fr.message != NULL ? strdup(fr.message) : NULL;
		return;
	}
}

int
plan_ops_write(struct ftrack_client *c, const struct plan_action *acts,
	       const bool *want, size_t n, int *codes, char **messages,
	       char *err, size_t errlen)
{
	size_t *first = calloc(n + 1, sizeof(*first));
	size_t *nops = calloc(n + 1, sizeof(*nops));
	struct ftrack_batch *b = NULL;
	char when[32];
	size_t i;
	int r = FT_E_NOMEM;

	if (first == NULL || nops == NULL || ftrack_batch_new(&b) < 0) {
		for (i = 0; i < n; i++)
			if (want == NULL || want[i])
				codes[i] = FT_E_NOMEM;
		(void)snprintf(err, errlen, "%s", ft_strerror(r));
		goto out;
	}
	timing_now_iso(when, sizeof(when));
	for (i = 0; i < n; i++) {
		size_t before = ftrack_batch_count(b);

		if (want != NULL && !want[i])
			continue;
		codes[i] = add_action(b, &acts[i], when, &first[i]);
		nops[i] = ftrack_batch_count(b) - before;
	}
	r = FT_OK;
	if (ftrack_batch_count(b) > 0)
		r = ftrack_batch_commit(c, b, err, errlen);
	for (i = 0; i < n; i++)
		if ((want == NULL || want[i]) && codes[i] == FT_OK)
			collect(b, first[i], nops[i], &codes[i], &messages[i]);
out:
	ftrack_batch_free(b);
	free(first);
	free(nops);
	return r;
}
