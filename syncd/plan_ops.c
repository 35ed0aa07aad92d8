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

/* Does a ask ftrack for is_active true (a create, a reactivation)? */
static bool
asks_seat(const struct plan_action *a)
{
	return a->kind == PLAN_CREATE || (a->fields & PLAN_F_ACTIVATE);
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
	if (r == FT_OK && (a->fields & PLAN_F_UNMARK_UUID))
		r = ftrack_batch_delete_marker(b, f->id, FTRACK_MARKER_UUID,
					       NULL);
	/* an undone link by e-mail: the marker that kept its username goes
	 * with the uuid marker it came with */
	if (r == FT_OK && (a->fields & PLAN_F_UNMARK_UUID) &&
	    f->linked_by != NULL)
		r = ftrack_batch_delete_marker(b, f->id,
					       FTRACK_MARKER_LINKED_BY, NULL);
	/* with the uuid marker, in the same group: a user linked by e-mail
	 * is never without the marker that keeps its username */
	if (r == FT_OK && (a->fields & PLAN_F_MARK_EMAIL))
		r = ftrack_batch_set_marker(b, f->id, FTRACK_MARKER_LINKED_BY,
					    FT_LINKED_BY_EMAIL,
					    f->linked_by != NULL, NULL);
	if (r == FT_OK && (a->fields & PLAN_F_MARK_GONE))
		r = ftrack_batch_set_marker(b, f->id, FTRACK_MARKER_DEACTIVATED,
					    now_iso, f->deactivated != NULL,
					    NULL);
	if (r == FT_OK && (a->fields & PLAN_F_UNMARK_GONE))
		r = ftrack_batch_delete_marker(b, f->id,
					       FTRACK_MARKER_DEACTIVATED, NULL);
	/* in the same group as the write asking for the seat, so that no
	 * crash leaves a user kept inactive without it (DESIGN.md 6) */
	if (r == FT_OK && asks_seat(a) && f->seat_waiting == NULL)
		r = ftrack_batch_set_marker(b, f->id,
					    FTRACK_MARKER_SEAT_WAITING, now_iso,
					    false, NULL);
	if (r == FT_OK && (a->fields & PLAN_F_UNMARK_WAIT))
		r = ftrack_batch_delete_marker(
			b, f->id, FTRACK_MARKER_SEAT_WAITING, NULL);
	return r;
}

/* A create, with its uuid marker and the seat marker, in one group. */
static int
add_create(struct ftrack_batch *b, const struct plan_action *a,
	   const char *now_iso, size_t *ret_op)
{
	struct ftrack_result fr;
	int r;

	r = ftrack_batch_create_user(b, a->ldap, a->ldap->uuid, ret_op);
	if (r == FT_OK)
		r = ftrack_batch_result(b, *ret_op, &fr);
	if (r == FT_OK)
		r = ftrack_batch_set_marker(b, fr.id,
					    FTRACK_MARKER_SEAT_WAITING, now_iso,
					    false, NULL);
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
		return add_create(b, a, now_iso, ret_op);
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

/*
 * A write of a that asked for a seat and landed: active, the user's id is
 * returned (its seat marker is to go; *code stays FT_OK); kept inactive,
 * FT_E_SEAT; not known, a transient FT_E_MALFORMED (the person is looked
 * at again).  NULL when there is no marker to remove.
 */
static const char *
settle_seat(const struct ftrack_batch *b, const struct plan_action *a,
	    size_t first, const char *now_iso, int *code, char **msg)
{
	struct ftrack_result fr;
	char text[160];

	if (*code != FT_OK || !asks_seat(a) ||
	    ftrack_batch_result(b, first, &fr) < 0)
		return NULL;
	if (fr.active == 1)
		return fr.id;
	*code = fr.active == 0 ? FT_E_SEAT : FT_E_MALFORMED;
	if (fr.active == 0)
		(void)snprintf(text, sizeof(text),
			       "ftrack kept the user inactive: no free seat in "
			       "the licence (waiting since %s)",
			       a->ftrack && a->ftrack->seat_waiting
				       ? a->ftrack->seat_waiting
				       : now_iso);
	else
		(void)snprintf(text, sizeof(text),
			       "written, but ftrack did not say whether the "
			       "user is active (is_active not read back)");
	*msg = strdup(text);
	return NULL;
}

/*
 * Every wanted action's code and message from the committed batch b; the
 * seat markers of those now active removed in one more commit, whose
 * result is returned.  When that cannot be done, or fails, the markers
 * stay on active users and plan_user removes them at the next look; the
 * writes themselves stand.
 */
static int
settle_all(struct ftrack_client *c, const struct ftrack_batch *b,
	   const struct plan_action *acts, const bool *want, size_t n,
	   const size_t *first, const size_t *nops, const char *now_iso,
	   int *codes, char **messages)
{
	struct ftrack_batch *cleanup = NULL;
	size_t i;
	int r = FT_OK;

	if (ftrack_batch_new(&cleanup) < 0)
		cleanup = NULL;
	for (i = 0; i < n; i++) {
		const char *id;

		if ((want != NULL && !want[i]) || codes[i] != FT_OK)
			continue;
		collect(b, first[i], nops[i], &codes[i], &messages[i]);
		id = settle_seat(b, &acts[i], first[i], now_iso, &codes[i],
				 &messages[i]);
		if (id != NULL && cleanup != NULL &&
		    ftrack_batch_delete_marker(cleanup, id,
					       FTRACK_MARKER_SEAT_WAITING,
					       NULL) < 0) {
			ftrack_batch_free(cleanup);
			cleanup = NULL;
		}
	}
	if (cleanup != NULL && ftrack_batch_count(cleanup) > 0) {
		char err[256];

		r = ftrack_batch_commit(c, cleanup, err, sizeof(err));
	}
	ftrack_batch_free(cleanup);
	return r;
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
		if (codes[i] != FT_OK) /* a person is written whole or not */
			ftrack_batch_truncate(b, before);
		nops[i] = ftrack_batch_count(b) - before;
	}
	r = FT_OK;
	if (ftrack_batch_count(b) > 0)
		r = ftrack_batch_commit(c, b, err, errlen);
	/* a failed cleanup is no failure of these writes (see above) */
	(void)settle_all(c, b, acts, want, n, first, nops, when, codes,
			 messages);
out:
	ftrack_batch_free(b);
	free(first);
	free(nops);
	return r;
}
