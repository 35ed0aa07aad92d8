/* SPDX-License-Identifier: Apache-2.0 */
/* plan_undo.c: what puts back the changes of one applied run (see .h). */
#include "plan_undo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"

static bool
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void append(char *buf, size_t cap, const char *fmt, ...) FT_PRINTF(3, 4);

static void
append(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= cap)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

/* What one change's undo found, field by field, for the reason. */
struct notes {
	char restores[128]; /* "username, is_active" */
	char since[128];    /* changed since that run */
	char other[128];    /* left for another cause */
};

static void
note(char *buf, size_t cap, const char *what)
{
	append(buf, cap, "%s%s", buf[0] ? ", " : "", what);
}

/*
 * The ftrack users sorted by id and by username, looked up by bsearch: a
 * run of 100,000 changes against 100,000 users is two sorts, not 10^10
 * comparisons.  Users without the key are left out.
 */
struct index {
	const struct ft_user **by_id, **by_name;
	size_t n_id, n_name;
};

static int
cmp_id(const void *pa, const void *pb)
{
	const struct ft_user *a = *(const struct ft_user *const *)pa;
	const struct ft_user *b = *(const struct ft_user *const *)pb;

	return strcmp(a->id, b->id);
}

static int
cmp_name(const void *pa, const void *pb)
{
	const struct ft_user *a = *(const struct ft_user *const *)pa;
	const struct ft_user *b = *(const struct ft_user *const *)pb;

	return strcmp(a->username, b->username);
}

static int
index_build(const struct ft_user_list *l, struct index *ix)
{
	size_t i;

	memset(ix, 0, sizeof(*ix));
	ix->by_id = calloc(l->n + 1, sizeof(const struct ft_user *));
	ix->by_name = calloc(l->n + 1, sizeof(const struct ft_user *));
	if (ix->by_id == NULL || ix->by_name == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < l->n; i++) {
		if (l->v[i].id != NULL)
			ix->by_id[ix->n_id++] = &l->v[i];
		if (l->v[i].username != NULL)
			ix->by_name[ix->n_name++] = &l->v[i];
	}
	if (ix->n_id > 1)
		qsort(ix->by_id, ix->n_id, sizeof(const struct ft_user *),
		      cmp_id);
	if (ix->n_name > 1)
		qsort(ix->by_name, ix->n_name, sizeof(const struct ft_user *),
		      cmp_name);
	return FT_OK;
}

static void
index_free(struct index *ix)
{
	free(ix->by_id);
	free(ix->by_name);
	memset(ix, 0, sizeof(*ix));
}

/* bsearch: the key is the text itself, the element a user */
static int
key_id(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct ft_user *const *)elem)->id);
}

static int
key_name(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct ft_user *const *)elem)->username);
}

static const struct ft_user *
by_id(const struct index *ix, const char *id)
{
	const struct ft_user *const *hit =
		id == NULL ? NULL
			   : bsearch(id, ix->by_id, ix->n_id,
				     sizeof(const struct ft_user *), key_id);

	return hit != NULL ? *hit : NULL;
}

static const struct ft_user *
by_name(const struct index *ix, const char *name)
{
	const struct ft_user *const *hit =
		name == NULL
			? NULL
			: bsearch(name, ix->by_name, ix->n_name,
				  sizeof(const struct ft_user *), key_name);

	return hit != NULL ? *hit : NULL;
}

/*
 * The text fields: each put back when ftrack still holds what the run
 * wrote; left when someone changed it since (or, for the username, when
 * another user has the old one now).
 */
static void
undo_fields(const struct index *ix, const struct report_change *c,
	    const struct ft_user *f, struct ft_user *t, struct plan_action *a,
	    struct notes *n)
{
	struct ft_user before = c->before; /* borrowed: a shallow copy */
	size_t i;

	for (i = 0; i < PLAN_NFIELDS; i++) {
		unsigned bit = PLAN_FIELDS[i];
		const char *now = plan_field_get(f, bit);
		const char *name = plan_field_name(bit);
		const struct ft_user *holder =
			bit == PLAN_F_USERNAME ? by_name(ix, c->before.username)
					       : NULL;

		if (!(c->fields & bit) ||
		    same(now, plan_field_get(&c->before, bit)))
			continue; /* not changed, or put back already */
		if (!same(now, plan_field_get(&c->after, bit))) {
			note(n->since, sizeof(n->since), name);
			continue;
		}
		if (plan_field_get(&c->before, bit) == NULL) {
			/* ftrack cannot be given "no value" by a write */
			note(n->other, sizeof(n->other), name);
			continue;
		}
		if (holder != NULL && holder != f) {
			note(n->other, sizeof(n->other),
			     "username (the old one is another user's now)");
			continue;
		}
		*plan_field_slot(t, bit) = *plan_field_slot(&before, bit);
		a->fields |= bit;
		note(n->restores, sizeof(n->restores), name);
	}
}

/* is_active and the deactivated marker. */
static void
undo_activity(const struct plan_undo_input *in, const struct report_change *c,
	      const struct ft_user *f, struct plan_action *a, struct notes *n)
{
	bool changed = (c->fields & (PLAN_F_ACTIVATE | PLAN_F_DEACTIVATE)) &&
		       c->before.is_active != c->after.is_active;

	if (!changed || f->is_active == c->before.is_active)
		return;
	if (f->is_active != c->after.is_active) {
		note(n->since, sizeof(n->since), "is_active");
		return;
	}
	if (!c->before.is_active &&
	    strlist_has(&in->policy->protected_users, f->username)) {
		note(n->other, sizeof(n->other),
		     "is_active (in protected_users: never deactivated)");
		return;
	}
	note(n->restores, sizeof(n->restores), "is_active");
	if (c->before.is_active) {
		a->fields |= PLAN_F_ACTIVATE;
		if (f->deactivated != NULL)
			a->fields |= PLAN_F_UNMARK_GONE;
		return;
	}
	a->fields |= PLAN_F_DEACTIVATE;
	if (c->before.deactivated != NULL && f->deactivated == NULL)
		a->fields |= PLAN_F_MARK_GONE;
}

/* The uuid marker: a link removed, a relink's old value put back. */
static void
undo_uuid(const struct report_change *c, const struct ft_user *f,
	  struct ft_user *t, struct plan_action *a, struct notes *n)
{
	if (!(c->fields & (PLAN_F_MARK_UUID | PLAN_F_UNMARK_UUID)) ||
	    same(f->uuid, c->before.uuid))
		return;
	if (!same(f->uuid, c->after.uuid)) {
		note(n->since, sizeof(n->since), "uuid marker");
		return;
	}
	note(n->restores, sizeof(n->restores), "uuid marker");
	if (c->before.uuid == NULL) {
		a->fields |= PLAN_F_UNMARK_UUID;
		return;
	}
	t->uuid = c->before.uuid;
	a->fields |= PLAN_F_MARK_UUID;
}

static void
set_reason(struct plan_action *a, const struct report_run *run,
	   const struct report_change *c, const struct notes *n)
{
	a->reason[0] = '\0';
	append(a->reason, sizeof(a->reason), "undo of %s %s", run->run,
	       plan_kind_name(c->kind));
	if (n->restores[0])
		append(a->reason, sizeof(a->reason), ": puts back %s",
		       n->restores);
	if (n->since[0])
		append(a->reason, sizeof(a->reason),
		       "; changed since that run, left as is: %s", n->since);
	if (n->other[0])
		append(a->reason, sizeof(a->reason), "; left as is: %s",
		       n->other);
	if (!n->restores[0] && !n->since[0] && !n->other[0])
		append(a->reason, sizeof(a->reason),
		       ": nothing to put back (as before that run already)");
}

static void
skip(struct plan_action *a, const char *why)
{
	a->kind = PLAN_SKIP;
	(void)snprintf(a->reason, sizeof(a->reason), "%s", why);
}

/*
 * The undo of change c into a (its values in t).  False when c is no
 * change at all (in sync, a skip or a conflict of that run): not listed.
 */
static bool
undo_one(const struct plan_undo_input *in, const struct index *ix,
	 const struct report_change *c, struct ft_user *t,
	 struct plan_action *a)
{
	const struct ft_user *f;
	struct notes n = {"", "", ""};

	memset(a, 0, sizeof(*a));
	memset(t, 0, sizeof(*t));
	t->username = c->user;
	a->ldap = t;
	if (c->kind == PLAN_NONE || c->kind == PLAN_SKIP ||
	    c->kind == PLAN_CONFLICT)
		return false;
	if (!c->ok) {
		skip(a, "not done by that run (failed, or waiting for a "
			"seat): nothing to undo");
		return true;
	}
	if (c->kind == PLAN_CREATE) {
		skip(a, "created by that run: left as is (never deleted or "
			"deactivated by an undo)");
		return true;
	}
	if (c->kind == PLAN_DELETE) {
		skip(a, "deleted by that run: cannot be brought back");
		return true;
	}
	f = by_id(ix, c->id);
	if (f == NULL) {
		skip(a, "no longer in ftrack: left as is");
		return true;
	}
	a->ftrack = f;
	if (same(in->api_user, f->username)) {
		skip(a, "the API user itself: left as is");
		return true;
	}
	t->username = f->username; /* shown, and kept unless put back */
	undo_fields(ix, c, f, t, a, &n);
	undo_activity(in, c, f, a, &n);
	undo_uuid(c, f, t, a, &n);
	set_reason(a, in->run, c, &n);
	a->kind = (a->fields & PLAN_F_ACTIVATE)     ? PLAN_REACTIVATE
		  : (a->fields & PLAN_F_DEACTIVATE) ? PLAN_DEACTIVATE
		  : (a->fields & PLAN_F_USERNAME)   ? PLAN_RENAME
		  : a->fields                       ? PLAN_UPDATE
						    : PLAN_SKIP;
	return true;
}

int
plan_undo_build(const struct plan_undo_input *in, struct plan_undo *ret)
{
	const struct report_run *run = in->run;
	struct plan_undo u;
	struct index ix;
	size_t i;

	memset(&u, 0, sizeof(u));
	u.plan.v = calloc(run->n + 1, sizeof(*u.plan.v));
	u.target = calloc(run->n + 1, sizeof(*u.target));
	if (index_build(in->ftrack, &ix) < 0 || u.plan.v == NULL ||
	    u.target == NULL) {
		index_free(&ix);
		plan_undo_free(&u);
		return FT_E_NOMEM;
	}
	for (i = 0; i < run->n; i++) {
		struct plan_action *a = &u.plan.v[u.plan.n];

		if (!undo_one(in, &ix, &run->v[i], &u.target[u.plan.n], a))
			continue;
		/* the action points at its own target: fixed in place */
		a->ldap = &u.target[u.plan.n];
		u.plan.count[a->kind]++;
		u.plan.n++;
	}
	index_free(&ix);
	for (i = 0; i < GUARD_COUNT; i++) {
		u.plan.guard[i].ok = true;
		u.plan.guard[i].name = "";
	}
	*ret = u;
	return FT_OK;
}

void
plan_undo_free(struct plan_undo *u)
{
	plan_recon_free(&u->plan);
	free(u->target); /* its strings are borrowed */
	memset(u, 0, sizeof(*u));
}
