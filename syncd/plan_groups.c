/* SPDX-License-Identifier: Apache-2.0 */
/* plan_groups.c: memberships and roles to add and take back (pure). */
#include "plan_groups.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "ft_err.h"
#include "ftrack_api.h"

#define ID_MAX 64 /* bytes of an id in a marker */

/* One recorded pair: an id (Membership or role) and the role's flags. */
struct rec {
	char id[ID_MAX + 1];
	bool added, granted; /* roles: "a", "g" */
	bool seen;           /* matched by a mapped target */
	bool keep;           /* stays in the new value */
};

struct recs {
	struct rec v[PLAN_GROUPS_RECORDED_MAX * 2];
	size_t n;
};

/* Parse "id,id" or "id:ag,id:g"; pairs past the bound are kept apart. */
static void
parse_recs(const char *s, bool roles, struct recs *r)
{
	r->n = 0;
	while (s != NULL && *s != '\0' &&
	       r->n < sizeof(r->v) / sizeof(r->v[0])) {
		size_t len = strcspn(s, ",");
		const char *colon = memchr(s, ':', len);
		size_t idlen =
			roles && colon != NULL ? (size_t)(colon - s) : len;
		struct rec *e = &r->v[r->n];

		memset(e, 0, sizeof(*e));
		if (idlen > 0 && idlen <= ID_MAX) {
			memcpy(e->id, s, idlen);
			e->keep = true;
			e->added = roles && colon != NULL &&
				   memchr(colon, 'a', len - idlen) != NULL;
			e->granted = roles && colon != NULL &&
				     memchr(colon, 'g', len - idlen) != NULL;
			r->n++;
		}
		s += len;
		s += *s == ',' ? 1 : 0;
	}
}

static struct rec *
rec_find(struct recs *r, const char *id)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].id, id) == 0)
			return &r->v[i];
	return NULL;
}

/* Whether user u is a member through any line of t. */
static bool
wanted(const struct pg_input *in, const struct pg_user *u,
       const struct pg_target *t)
{
	const char *who = in->cfg->member_attribute == MEMBER_ATTR_MEMBER_UID
				  ? u->login
				  : u->dn;
	size_t i;

	for (i = 0; who != NULL && i < t->nlines; i++)
		if (ldap_groups_has_member(t->lines[i], who))
			return true;
	return false;
}

/* Whether every line naming t was read in full. */
static bool
complete(const struct pg_input *in, const struct pg_target *t)
{
	size_t i;

	for (i = 0; i < t->nlines; i++)
		if (!t->lines[i]->complete)
			return false;
	return in->groups_complete && t->nlines > 0;
}

/* The pass over one user: count removals, or plan them too. */
struct pass {
	const struct pg_input *in;
	const struct pg_membership **mem; /* by user_id (index_by_user) */
	const struct pg_role **roles;     /* by user_id */
	struct pg_plan *p;
	bool apply;        /* second pass: write actions and markers */
	bool allow_remove; /* the guards let removals through */
};

static int
push_action(struct pass *ps, const struct pg_action *a)
{
	struct pg_plan *p = ps->p;
	int r;

	if (!ps->apply)
		return FT_OK;
	r = array_grow(&p->actions, &p->cap, p->n + 1, sizeof(*p->actions), 16,
		       0);
	if (r < 0)
		return r;
	p->actions[p->n++] = *a;
	return FT_OK;
}

/* A removal the guards decide on: planned, or held. */
static bool
may_remove(struct pass *ps, const struct pg_target *t)
{
	if (!complete(ps->in, t) || !ps->in->cfg->remove) {
		ps->p->held += ps->apply ? 1 : 0;
		return false;
	}
	ps->p->removals += ps->apply ? 0 : 1;
	if (!ps->allow_remove)
		ps->p->held += ps->apply ? 1 : 0;
	return ps->allow_remove;
}

static int
cmp_mem(const void *a, const void *b)
{
	return strcmp((*(const struct pg_membership *const *)a)->user_id,
		      (*(const struct pg_membership *const *)b)->user_id);
}

static int
cmp_role(const void *a, const void *b)
{
	return strcmp((*(const struct pg_role *const *)a)->user_id,
		      (*(const struct pg_role *const *)b)->user_id);
}

/* The first index of v (n entries sorted by user_id) for user_id. */
static size_t
first_of(const void *const *v, size_t n, const char *user_id,
	 const char *(*user_of)(const void *e))
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(user_of(v[mid]), user_id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const char *
mem_user(const void *e)
{
	return ((const struct pg_membership *)e)->user_id;
}

static const char *
role_user(const void *e)
{
	return ((const struct pg_role *)e)->user_id;
}

/* The user's Membership in group_id (id NULL), or the one with id. */
static const struct pg_membership *
find_membership(const struct pass *ps, const char *user_id,
		const char *group_id, const char *id)
{
	size_t n = ps->in->nmemberships;
	size_t i = first_of((const void *const *)ps->mem, n, user_id, mem_user);

	for (; i < n && strcmp(ps->mem[i]->user_id, user_id) == 0; i++) {
		const struct pg_membership *m = ps->mem[i];

		if (id != NULL ? strcmp(m->id, id) == 0
			       : group_id != NULL &&
					 strcmp(m->group_id, group_id) == 0)
			return m;
	}
	return NULL;
}

static int
plan_group(struct pass *ps, const struct pg_user *u, const struct pg_target *t,
	   struct recs *rg, char added[][37], size_t *nadded)
{
	struct pg_action a;
	struct rec *rc;
	bool want = wanted(ps->in, u, t);
	bool have;

	memset(&a, 0, sizeof(a));
	if (ftrack_membership_id(u->id, t->id, a.membership_id) != FT_OK)
		return FT_E_INTERNAL;
	rc = rec_find(rg, a.membership_id);
	if (rc != NULL)
		rc->seen = true;
	have = find_membership(ps, u->id, t->id, NULL) != NULL;
	a.user_id = u->id;
	a.user = (size_t)(u - ps->in->users);
	a.target_id = t->id;
	a.target = t->name;
	if (want && !have && rc != NULL) {
		ps->p->gone += ps->apply ? 1 : 0; /* taken away by hand */
		return FT_OK;
	}
	if (want && !have) {
		if (rg->n + *nadded >= PLAN_GROUPS_RECORDED_MAX)
			return FT_OK; /* XXX: reported only as not added */
		memcpy(added[(*nadded)++], a.membership_id, 37);
		a.kind = PG_GROUP_ADD;
		a.reason = "a member of the mapped LDAP group";
		return push_action(ps, &a);
	}
	if (want || rc == NULL)
		return FT_OK;
	if (find_membership(ps, u->id, NULL, a.membership_id) == NULL) {
		rc->keep = false; /* gone, and not wanted: forget it */
		return FT_OK;
	}
	if (!may_remove(ps, t))
		return FT_OK;
	rc->keep = false;
	a.kind = PG_GROUP_REMOVE;
	a.reason = "no longer a member of the mapped LDAP groups";
	return push_action(ps, &a);
}

static const struct pg_role *
find_role(const struct pass *ps, const char *user_id, const char *role_id)
{
	size_t n = ps->in->nhave_roles;
	size_t i =
		first_of((const void *const *)ps->roles, n, user_id, role_user);

	for (; i < n && strcmp(ps->roles[i]->user_id, user_id) == 0; i++)
		if (strcmp(ps->roles[i]->role_id, role_id) == 0)
			return ps->roles[i];
	return NULL;
}

/* A new recorded role (the array has room: the caller checked). */
static void
rec_add(struct recs *r, const char *id, bool added, bool granted)
{
	struct rec *e = &r->v[r->n++];

	memset(e, 0, sizeof(*e));
	(void)snprintf(e->id, sizeof(e->id), "%s", id);
	e->added = added;
	e->granted = granted;
	e->seen = e->keep = true;
}

static int
role_grant(struct pass *ps, const struct pg_user *u, const struct pg_target *t,
	   const struct pg_role *have, struct rec *rc, struct recs *rr)
{
	struct pg_action a;

	memset(&a, 0, sizeof(a));
	if ((have == NULL && rc != NULL && rc->added) ||
	    (have != NULL && !have->all_open && rc != NULL && rc->granted)) {
		ps->p->gone += ps->apply ? 1 : 0; /* taken away by hand */
		return FT_OK;
	}
	if (have != NULL && have->all_open)
		return FT_OK;
	if (rc == NULL && rr->n >= PLAN_GROUPS_RECORDED_MAX)
		return FT_OK;
	a.kind = PG_ROLE_GRANT;
	a.user_id = u->id;
	a.user = (size_t)(u - ps->in->users);
	a.target_id = t->id;
	a.target = t->name;
	a.role_add = have == NULL;
	a.grant = true;
	a.reason = "a member of the mapped LDAP group";
	if (rc != NULL) {
		rc->added = rc->added || a.role_add;
		rc->granted = true;
	} else {
		rec_add(rr, t->id, a.role_add, true);
	}
	return push_action(ps, &a);
}

static int
plan_role(struct pass *ps, const struct pg_user *u, const struct pg_target *t,
	  struct recs *rr)
{
	const struct pg_role *have = find_role(ps, u->id, t->id);
	struct rec *rc = rec_find(rr, t->id);
	struct pg_action a;

	if (rc != NULL)
		rc->seen = true;
	if (wanted(ps->in, u, t))
		return role_grant(ps, u, t, have, rc, rr);
	if (rc == NULL)
		return FT_OK;
	if (have == NULL) {
		rc->keep = false;
		return FT_OK;
	}
	memset(&a, 0, sizeof(a));
	a.grant = rc->granted && have->all_open;
	a.role_remove = rc->added && !have->has_projects;
	if (!a.grant && !a.role_remove)
		return FT_OK;
	if (!may_remove(ps, t))
		return FT_OK;
	a.kind = PG_ROLE_REVOKE;
	a.user_id = u->id;
	a.user = (size_t)(u - ps->in->users);
	a.target_id = t->id;
	a.target = t->name;
	a.reason = "no longer a member of the mapped LDAP groups";
	rc->granted = false;
	rc->keep = !a.role_remove && rc->added;
	return push_action(ps, &a);
}

/* The marker value of r (and added), NULL when empty. */
static int
format_recs(const struct recs *r, bool roles, char added[][37], size_t nadded,
	    char **ret)
{
	char buf[(ID_MAX + 4) * PLAN_GROUPS_RECORDED_MAX * 2 + 1];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < r->n; i++) {
		if (!r->v[i].keep)
			continue;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s%s%s%s",
				      n > 0 ? "," : "", r->v[i].id,
				      roles ? ":" : "",
				      roles && r->v[i].added ? "a" : "",
				      roles && r->v[i].granted ? "g" : "");
	}
	for (i = 0; i < nadded; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
				      n > 0 ? "," : "", added[i]);
	*ret = NULL;
	if (n == 0)
		return FT_OK;
	*ret = strdup(buf);
	return *ret != NULL ? FT_OK : FT_E_NOMEM;
}

static int
set_marker(struct pass *ps, const struct pg_user *u, const char *key,
	   const char *old, const struct recs *r, bool roles, char added[][37],
	   size_t nadded)
{
	struct pg_plan *p = ps->p;
	char *value = NULL;
	int rc;

	if (!ps->apply)
		return FT_OK;
	rc = format_recs(r, roles, added, nadded, &value);
	if (rc < 0)
		return rc;
	if ((value == NULL && old == NULL) ||
	    (value != NULL && old != NULL && strcmp(value, old) == 0)) {
		free(value);
		return FT_OK;
	}
	rc = array_grow(&p->markers, &p->mcap, p->nmarkers + 1,
			sizeof(*p->markers), 16, 0);
	if (rc < 0) {
		free(value);
		return rc;
	}
	p->markers[p->nmarkers++] =
		(struct pg_marker){u->id, key, value, old != NULL};
	return FT_OK;
}

static void
count_frozen(struct pass *ps, const struct recs *r)
{
	size_t i;

	for (i = 0; ps->apply && i < r->n; i++)
		if (!r->v[i].seen)
			ps->p->frozen++;
}

static int
plan_user(struct pass *ps, const struct pg_user *u)
{
	struct recs rg, rr;
	char added[PLAN_GROUPS_RECORDED_MAX][37];
	size_t i, nadded = 0;
	int r = FT_OK;

	parse_recs(u->groups_marker, false, &rg);
	parse_recs(u->roles_marker, true, &rr);
	if (ps->apply)
		ps->p->recorded += rg.n + rr.n;
	for (i = 0; i < ps->in->ngroups && r == FT_OK; i++)
		r = plan_group(ps, u, &ps->in->groups[i], &rg, added, &nadded);
	for (i = 0; i < ps->in->nroles && r == FT_OK; i++)
		r = plan_role(ps, u, &ps->in->roles[i], &rr);
	count_frozen(ps, &rg);
	count_frozen(ps, &rr);
	if (r == FT_OK)
		r = set_marker(ps, u, FTRACK_MARKER_GROUPS, u->groups_marker,
			       &rg, false, added, nadded);
	if (r == FT_OK)
		r = set_marker(ps, u, FTRACK_MARKER_ROLES, u->roles_marker, &rr,
			       true, added, 0);
	return r;
}

static int
run_pass(struct pass *ps)
{
	size_t i;
	int r = FT_OK;

	for (i = 0; i < ps->in->nusers && r == FT_OK; i++)
		if (!ps->in->users[i].untouchable)
			r = plan_user(ps, &ps->in->users[i]);
	return r;
}

/* The pairs max_removals lets go at once. */
static unsigned long
removal_limit(const struct config_groups *c, unsigned long recorded)
{
	if (!c->max_removals.percent)
		return c->max_removals.value;
	return (unsigned long)((unsigned long long)recorded *
			       c->max_removals.value / 100);
}

/* The memberships and roles of in, sorted by user, into ps. */
static int
index_by_user(const struct pg_input *in, struct pass *ps)
{
	size_t i;

	ps->mem = calloc(in->nmemberships + 1,
			 sizeof(const struct pg_membership *));
	ps->roles = calloc(in->nhave_roles + 1, sizeof(const struct pg_role *));
	if (ps->mem == NULL || ps->roles == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < in->nmemberships; i++)
		ps->mem[i] = &in->memberships[i];
	for (i = 0; i < in->nhave_roles; i++)
		ps->roles[i] = &in->have_roles[i];
	if (in->nmemberships > 0)
		qsort((void *)ps->mem, in->nmemberships,
		      sizeof(const struct pg_membership *), cmp_mem);
	if (in->nhave_roles > 0)
		qsort((void *)ps->roles, in->nhave_roles,
		      sizeof(const struct pg_role *), cmp_role);
	return FT_OK;
}

int
plan_groups_build(const struct pg_input *in, struct pg_plan *ret)
{
	struct pass ps = {in, NULL, NULL, ret, false, true};
	unsigned long recorded = 0;
	size_t i;
	int r = index_by_user(in, &ps);

	/* first pass: how many removals the mapping asks for */
	if (r == FT_OK)
		r = run_pass(&ps);
	for (i = 0; i < in->nusers; i++) {
		struct recs t;

		parse_recs(in->users[i].groups_marker, false, &t);
		recorded += t.n;
		parse_recs(in->users[i].roles_marker, true, &t);
		recorded += t.n;
	}
	if (!in->groups_complete)
		ret->held_by = "groups_complete";
	else if (!in->cfg->remove)
		ret->held_by = "remove";
	else if (ret->removals > removal_limit(in->cfg, recorded) &&
		 !in->force_max_removals)
		ret->held_by = "max_removals";
	ps.allow_remove = ret->held_by == NULL;
	ps.apply = true;
	if (r == FT_OK)
		r = run_pass(&ps);
	free((void *)ps.mem);
	free((void *)ps.roles);
	return r;
}

/* Append "kind 'name'" to why (cut to fit). */
static void
name_hand_made(char *why, size_t len, const char *kind, const char *name)
{
	size_t n = strnlen(why, len);

	if (n + 1 < len)
		(void)snprintf(why + n, len - n, "%s%s '%s'", n > 0 ? ", " : "",
			       kind, name);
}

static const struct pg_target *
target_of(const struct pg_target *t, size_t n, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < n; i++)
		if (strcmp(t[i].id, id) == 0)
			return &t[i];
	return NULL;
}

/* A role u holds that is not all the sync's own (recorded in rr). */
static bool
role_by_hand(const struct pg_role *h, struct recs *rr)
{
	const struct rec *rc = rec_find(rr, h->role_id);

	return rc == NULL || !rc->added || h->has_projects ||
	       (h->all_open && !rc->granted);
}

bool
plan_groups_hand_made(const struct pg_input *in, const struct pg_user *u,
		      char *why, size_t len)
{
	struct recs rg, rr;
	bool any = false;
	size_t i;

	if (len > 0)
		why[0] = '\0';
	parse_recs(u->groups_marker, false, &rg);
	parse_recs(u->roles_marker, true, &rr);
	for (i = 0; i < in->nmemberships; i++) {
		const struct pg_membership *m = &in->memberships[i];
		const struct pg_target *t =
			target_of(in->groups, in->ngroups, m->group_id);

		if (t == NULL || m->user_id == NULL || m->id == NULL ||
		    strcmp(m->user_id, u->id) != 0 ||
		    rec_find(&rg, m->id) != NULL)
			continue;
		any = true;
		name_hand_made(why, len, "group", t->name);
	}
	for (i = 0; i < in->nhave_roles; i++) {
		const struct pg_role *h = &in->have_roles[i];
		const struct pg_target *t =
			target_of(in->roles, in->nroles, h->role_id);

		if (t == NULL || h->user_id == NULL ||
		    strcmp(h->user_id, u->id) != 0 || !role_by_hand(h, &rr))
			continue;
		any = true;
		name_hand_made(why, len, "role", t->name);
	}
	return any;
}

void
plan_groups_free(struct pg_plan *p)
{
	size_t i;

	for (i = 0; i < p->nmarkers; i++)
		free(p->markers[i].value);
	free(p->markers);
	free(p->actions);
	memset(p, 0, sizeof(*p));
}

const char *
plan_groups_kind_name(enum pg_kind k)
{
	switch (k) {
	case PG_GROUP_ADD:
		return "group_add";
	case PG_GROUP_REMOVE:
		return "group_remove";
	case PG_ROLE_GRANT:
		return "role_grant";
	case PG_ROLE_REVOKE:
		return "role_revoke";
	}
	return "?";
}
