/* SPDX-License-Identifier: Apache-2.0 */
/* sync_groups.c: the reconcile's groups phase, and `check`'s mapping lines. */
#include "sync_groups.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_clean.h"
#include "ft_err.h"
#include "ftrack_groups.h"
#include "hooks.h"
#include "ldap_groups.h"
#include "ldap_src.h"
#include "log.h"
#include "plan_groups.h"
#include "plan_user.h"
#include "timing.h"

/* A marker record, for the index. */
struct mref {
	const char *user, *key, *value;
};

/* Everything one phase read and derived; freed by ctx_free. */
struct ctx {
	const struct config *cfg;
	struct ftrack_client *ft;
	struct ldap_groups all;
	int ldap_status;
	struct group_members *gm, *rm; /* per line of group_map, role_map */
	struct ftrack_names names;
	const struct ftrack_names *nm; /* &names, or a login cache's */
	bool quiet;                    /* at login: the reconcile logs */
	struct hooks *hooks;           /* the journal of the changes, or NULL */
	const struct hooks_origin *origin;
	struct pg_target *groups, *roles;
	size_t ngroups, nroles;
	struct ftrack_rows mem, usr, usrp, markers;
	struct pg_user *users;
	const struct ft_user **who; /* users[i]'s ftrack user */
	char **dns;                 /* users[i].dn, owned */
	size_t nusers;
	struct pg_membership *pm;
	struct pg_role *pr;
	struct pg_plan plan;
	/* indexes, so that a reconcile of many users stays n log n */
	struct mref *mk;           /* markers by (user, key) */
	const struct ft_user **lk; /* LDAP people by uuid */
	const char **pk;           /* UserSecurityRoles with projects */
	size_t nmk, nlk, npk;
};

bool
sync_groups_enabled(const struct config *cfg)
{
	return cfg->groups.group_map.n + cfg->groups.role_map.n > 0;
}

static void
targets_free(struct pg_target *t, size_t n)
{
	size_t i;

	for (i = 0; t != NULL && i < n; i++)
		free(t[i].lines);
	free(t);
}

static void
ctx_free(struct ctx *c)
{
	size_t i;

	ldap_groups_clear(&c->all);
	ldap_groups_members_free(c->gm, c->cfg->groups.group_map.n);
	ldap_groups_members_free(c->rm, c->cfg->groups.role_map.n);
	ftrack_names_clear(&c->names);
	targets_free(c->groups, c->ngroups);
	targets_free(c->roles, c->nroles);
	ftrack_rows_clear(&c->mem);
	ftrack_rows_clear(&c->usr);
	ftrack_rows_clear(&c->usrp);
	ftrack_rows_clear(&c->markers);
	for (i = 0; c->dns != NULL && i < c->nusers; i++)
		free(c->dns[i]);
	free(c->dns);
	free(c->users);
	free(c->who);
	free(c->pm);
	free(c->pr);
	free(c->mk);
	free((void *)c->lk);
	free((void *)c->pk);
	plan_groups_free(&c->plan);
}

/* ---- LDAP --------------------------------------------------------------- */

static void
note_line(const char *section, const struct group_members *gm)
{
	if (gm->dn == NULL)
		log_warn("[%s] %s (line %d): LDAP group '%s' %s; its removals "
			 "are held",
			 section, gm->line->ftrack, gm->line->line,
			 gm->line->ldap,
			 gm->ambiguous ? "names two or more groups (use its DN)"
				       : "not found");
	else if (gm->ignored > 0)
		log_info("[%s] %s: %lu member(s) of '%s' ignored (not a person "
			 "under [ldap] search_base, nor a group followed)",
			 section, gm->line->ftrack, gm->ignored, gm->dn);
}

static int
read_ldap(struct ctx *c)
{
	struct ldap_src *src = NULL;
	size_t i;
	int r = ldap_src_new(c->cfg, &src);

	c->ldap_status = r;
	if (r == FT_OK)
		c->ldap_status = ldap_src_groups_read(src, &c->all);
	ldap_src_free(src);
	if (c->ldap_status != FT_OK)
		log_error("unable to read the LDAP groups completely: %s; no "
			  "membership or role is taken back in this run",
			  c->all.reason[0] ? c->all.reason
					   : ft_strerror(c->ldap_status));
	if (c->ldap_status == FT_E_NOMEM)
		return FT_E_NOMEM;
	r = ldap_groups_resolve(c->cfg, &c->all, &c->cfg->groups.group_map,
				&c->gm);
	if (r == FT_OK)
		r = ldap_groups_resolve(c->cfg, &c->all,
					&c->cfg->groups.role_map, &c->rm);
	for (i = 0;
	     r == FT_OK && c->gm != NULL && i < c->cfg->groups.group_map.n; i++)
		note_line("group_map", &c->gm[i]);
	for (i = 0;
	     r == FT_OK && c->rm != NULL && i < c->cfg->groups.role_map.n; i++)
		note_line("role_map", &c->rm[i]);
	return r;
}

/* ---- ftrack names ------------------------------------------------------- */

static const char *
why_text(int why, bool role)
{
	if (why == FT_E_CONFLICT)
		return role ? "names two or more roles"
			    : "names two or more groups (use its "
			      "parent/child path or its id)";
	if (why == FT_E_PERM)
		return "is a role of type API, which cannot be given to a "
		       "user";
	return role ? "no such security role" : "no such group";
}

/* The targets of one map: each resolved id once, with its lines. */
static int
make_targets(const struct ctx *c, const struct groupmap *map,
	     const struct group_members *gm, bool role, struct pg_target **ret,
	     size_t *ret_n)
{
	struct pg_target *t = calloc(map->n + 1, sizeof(*t));
	size_t i, k, n = 0;

	if (t == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < map->n; i++) {
		int why = FT_E_NOTFOUND;
		const char *id = role ? ftrack_role_resolve(
						c->nm, map->v[i].ftrack, &why)
				      : ftrack_group_resolve(
						c->nm, map->v[i].ftrack, &why);

		if (id == NULL && c->quiet)
			continue;
		if (id == NULL) {
			log_warn("[%s] %s (line %d): %s; the line is left out",
				 role ? "role_map" : "group_map",
				 map->v[i].ftrack, map->v[i].line,
				 why_text(why, role));
			continue;
		}
		for (k = 0; k < n && strcmp(t[k].id, id) != 0; k++)
			;
		if (k == n) {
			t[n].id = id;
			t[n].name = map->v[i].ftrack;
			t[n].lines = calloc(
				map->n, sizeof(const struct group_members *));
			if (t[n++].lines == NULL) {
				targets_free(t, n);
				return FT_E_NOMEM;
			}
		}
		if (gm != NULL) /* NULL: LDAP not read (sync_groups_owned) */
			t[k].lines[t[k].nlines++] = &gm[i];
	}
	*ret = t;
	*ret_n = n;
	return FT_OK;
}

static int
read_names(struct ctx *c, char *err, size_t errlen)
{
	int r;

	ftrack_names_init(&c->names);
	c->nm = &c->names;
	r = ftrack_names_read(c->ft, &c->names, err, errlen);
	if (r == FT_OK)
		r = make_targets(c, &c->cfg->groups.group_map, c->gm, false,
				 &c->groups, &c->ngroups);
	if (r == FT_OK)
		r = make_targets(c, &c->cfg->groups.role_map, c->rm, true,
				 &c->roles, &c->nroles);
	return r;
}

/* ---- ftrack state ------------------------------------------------------- */

static int
read_state(struct ctx *c, char *err, size_t errlen)
{
	const char **ids = calloc(c->ngroups + c->nroles + 1, sizeof(*ids));
	size_t i;
	int r = ids != NULL ? FT_OK : FT_E_NOMEM;

	for (i = 0; r == FT_OK && i < c->ngroups; i++)
		ids[i] = c->groups[i].id;
	if (r == FT_OK && c->ngroups > 0)
		r = ftrack_memberships_read(c->ft, ids, c->ngroups, &c->mem,
					    err, errlen);
	for (i = 0; r == FT_OK && i < c->nroles; i++)
		ids[i] = c->roles[i].id;
	if (r == FT_OK && c->nroles > 0)
		r = ftrack_role_grants_read(c->ft, ids, c->nroles, &c->usr,
					    &c->usrp, err, errlen);
	if (r == FT_OK)
		r = ftrack_group_markers_read(c->ft, &c->markers, err, errlen);
	free(ids);
	return r;
}

static int
cmp_mref(const void *a, const void *b)
{
	const struct mref *x = a, *y = b;
	int d = strcmp(x->user, y->user);

	return d != 0 ? d : strcmp(x->key, y->key);
}

static int
cmp_uuid(const void *a, const void *b)
{
	return strcmp((*(const struct ft_user *const *)a)->uuid,
		      (*(const struct ft_user *const *)b)->uuid);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The indexes of the markers, the LDAP people and the project grants. */
static int
make_index(struct ctx *c, const struct ft_user_list *ldap)
{
	size_t k;

	c->mk = calloc(c->markers.n + 1, sizeof(*c->mk));
	c->lk = calloc(ldap->n + 1, sizeof(const struct ft_user *));
	c->pk = calloc(c->usrp.n + 1, sizeof(*c->pk));
	if (c->mk == NULL || c->lk == NULL || c->pk == NULL)
		return FT_E_NOMEM;
	for (k = 0; k < c->markers.n; k++)
		c->mk[c->nmk++] = (struct mref){
			ftrack_rows_get(&c->markers, k, FK_PARENT),
			ftrack_rows_get(&c->markers, k, FK_KEY) != NULL
				? ftrack_rows_get(&c->markers, k, FK_KEY)
				: "",
			ftrack_rows_get(&c->markers, k, FK_VALUE)};
	for (k = 0; k < ldap->n; k++)
		if (ldap->v[k].uuid != NULL)
			c->lk[c->nlk++] = &ldap->v[k];
	for (k = 0; k < c->usrp.n; k++)
		if (ftrack_rows_get(&c->usrp, k, FP_USR) != NULL)
			c->pk[c->npk++] = ftrack_rows_get(&c->usrp, k, FP_USR);
	if (c->nmk > 0)
		qsort(c->mk, c->nmk, sizeof(*c->mk), cmp_mref);
	if (c->nlk > 0)
		qsort((void *)c->lk, c->nlk, sizeof(const struct ft_user *),
		      cmp_uuid);
	if (c->npk > 0)
		qsort((void *)c->pk, c->npk, sizeof(*c->pk), cmp_str);
	return FT_OK;
}

static const char *
marker_of(const struct ctx *c, const char *user_id, const char *key)
{
	struct mref want = {user_id, key, NULL};
	const struct mref *hit = c->nmk > 0 ? bsearch(&want, c->mk, c->nmk,
						      sizeof(*c->mk), cmp_mref)
					    : NULL;

	return hit != NULL ? hit->value : NULL;
}

static const struct ft_user *
ldap_of(const struct ctx *c, const char *uuid)
{
	struct ft_user key;
	const struct ft_user *kp = &key, *const * hit;

	memset(&key, 0, sizeof(key));
	memcpy(&key.uuid, &uuid, sizeof(key.uuid));
	hit = c->nlk > 0 ? bsearch(&kp, c->lk, c->nlk,
				   sizeof(const struct ft_user *), cmp_uuid)
			 : NULL;
	return hit != NULL ? *hit : NULL;
}

/* One managed user into users[c->nusers]. */
static int
add_user(struct ctx *c, const struct ft_user *u)
{
	const struct config *cfg = c->cfg;
	const struct ft_user *l = ldap_of(c, u->uuid);
	struct pg_user *p = &c->users[c->nusers];
	int r = FT_OK;

	memset(p, 0, sizeof(*p));
	p->id = u->id;
	p->untouchable =
		strlist_has(&cfg->policy.protected_users, u->username) ||
		(u->username != NULL &&
		 strcmp(u->username, cfg->ftrack.api_user) == 0);
	if (l != NULL && !l->disabled) {
		p->login = l->login;
		if (l->dn != NULL)
			r = ldap_groups_dn_norm(l->dn, &c->dns[c->nusers]);
		if (r == FT_E_INVAL)
			r = FT_OK; /* no DN: a member of nothing */
		p->dn = c->dns[c->nusers];
	}
	p->groups_marker = marker_of(c, u->id, FTRACK_MARKER_GROUPS);
	p->roles_marker = marker_of(c, u->id, FTRACK_MARKER_ROLES);
	c->who[c->nusers++] = u;
	return r;
}

static int
make_users(struct ctx *c, const struct ft_user_list *ftrack,
	   const struct ft_user_list *ldap)
{
	size_t i;
	int r = FT_OK;

	c->users = calloc(ftrack->n + 1, sizeof(*c->users));
	c->who = calloc(ftrack->n + 1, sizeof(const struct ft_user *));
	c->dns = calloc(ftrack->n + 1, sizeof(*c->dns));
	if (c->users == NULL || c->who == NULL || c->dns == NULL)
		return FT_E_NOMEM;
	r = make_index(c, ldap);
	for (i = 0; i < ftrack->n && r == FT_OK; i++)
		if (ftrack->v[i].uuid != NULL && ftrack->v[i].id != NULL)
			r = add_user(c, &ftrack->v[i]);
	return r;
}

static bool
has_projects(const struct ctx *c, const char *usr_id)
{
	return usr_id != NULL && c->npk > 0 &&
	       bsearch(&usr_id, c->pk, c->npk, sizeof(*c->pk), cmp_str) != NULL;
}

static int
make_have(struct ctx *c)
{
	size_t k;

	c->pm = calloc(c->mem.n + 1, sizeof(*c->pm));
	c->pr = calloc(c->usr.n + 1, sizeof(*c->pr));
	if (c->pm == NULL || c->pr == NULL)
		return FT_E_NOMEM;
	for (k = 0; k < c->mem.n; k++) {
		c->pm[k].id = ftrack_rows_get(&c->mem, k, FM_ID);
		c->pm[k].user_id = ftrack_rows_get(&c->mem, k, FM_USER);
		c->pm[k].group_id = ftrack_rows_get(&c->mem, k, FM_GROUP);
		if (c->pm[k].user_id == NULL || c->pm[k].group_id == NULL)
			c->pm[k].user_id = c->pm[k].group_id = "";
	}
	for (k = 0; k < c->usr.n; k++) {
		const char *ao = ftrack_rows_get(&c->usr, k, FU_ALL_OPEN);

		c->pr[k].user_id = ftrack_rows_get(&c->usr, k, FU_USER);
		c->pr[k].role_id = ftrack_rows_get(&c->usr, k, FU_ROLE);
		if (c->pr[k].user_id == NULL || c->pr[k].role_id == NULL)
			c->pr[k].user_id = c->pr[k].role_id = "";
		c->pr[k].all_open = ao != NULL && strcmp(ao, "true") == 0;
		c->pr[k].has_projects =
			has_projects(c, ftrack_rows_get(&c->usr, k, FU_ID));
	}
	return FT_OK;
}

static int
build(struct ctx *c, bool force)
{
	struct pg_input in = {
		.cfg = &c->cfg->groups,
		.users = c->users,
		.nusers = c->nusers,
		.groups = c->groups,
		.ngroups = c->ngroups,
		.roles = c->roles,
		.nroles = c->nroles,
		.memberships = c->pm,
		.nmemberships = c->mem.n,
		.have_roles = c->pr,
		.nhave_roles = c->usr.n,
		.groups_complete = c->ldap_status == FT_OK,
		.force_max_removals = force,
	};

	return plan_groups_build(&in, &c->plan);
}

/* ---- print, apply ------------------------------------------------------- */

static const char *
username_of(const struct ctx *c, const struct pg_action *a)
{
	return a->user < c->nusers && c->who[a->user]->username != NULL
		       ? c->who[a->user]->username
		       : a->user_id;
}

void
sync_groups_print(const struct sync_groups_result *r, FILE *out)
{
	const struct report_groups *g = &r->report;
	size_t i;

	for (i = 0; i < g->n; i++)
		ft_clean_print(out, "  %-13s %-20s %-20s %s%s", g->v[i].action,
			       g->v[i].user, g->v[i].target, g->v[i].reason,
			       g->v[i].code != FT_OK &&
					       g->v[i].code != FT_E_AGAIN
				       ? " (failed)"
				       : "");
	ft_clean_print(
		out,
		"Groups and roles: %zu change(s), %lu removal(s) held%s%s, "
		"%lu frozen (of groups or roles no longer mapped or "
		"resolved), %lu taken away by hand",
		g->n, g->held, g->held_by != NULL ? " by " : "",
		g->held_by != NULL ? g->held_by : "", g->frozen, g->gone);
}

void
sync_groups_result_clear(struct sync_groups_result *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* The report's view of the plan: every action, not sent yet. */
static int
fill_report(const struct ctx *c, struct sync_groups_result *ret)
{
	size_t i;

	ret->v = calloc(c->plan.n + 1, sizeof(*ret->v));
	if (ret->v == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < c->plan.n; i++) {
		const struct pg_action *a = &c->plan.actions[i];

		ret->v[i] = (struct report_group_change){
			plan_groups_kind_name(a->kind), username_of(c, a),
			a->target, a->reason, FT_E_AGAIN};
	}
	ret->report = (struct report_groups){
		ret->v,          c->plan.n,    c->ldap_status == FT_OK,
		c->plan.held_by, c->plan.held, c->plan.frozen,
		c->plan.gone};
	return FT_OK;
}

static int
add_action(struct ftrack_batch *b, const struct pg_action *a)
{
	int r = FT_OK;

	switch (a->kind) {
	case PG_GROUP_ADD:
		return ftrack_batch_add_membership(b, a->user_id, a->target_id,
						   NULL, NULL);
	case PG_GROUP_REMOVE:
		return ftrack_batch_delete_membership(b, a->user_id,
						      a->membership_id, NULL);
	case PG_ROLE_GRANT:
		if (a->role_add)
			r = ftrack_batch_role(b, FTRACK_ROLE_ADD, a->user_id,
					      a->target_id, NULL);
		if (r == FT_OK && a->grant)
			r = ftrack_batch_role(b, FTRACK_ROLE_GRANT_ALL_OPEN,
					      a->user_id, a->target_id, NULL);
		return r;
	case PG_ROLE_REVOKE:
		if (a->grant)
			r = ftrack_batch_role(b, FTRACK_ROLE_REVOKE_ALL_OPEN,
					      a->user_id, a->target_id, NULL);
		if (r == FT_OK && a->role_remove)
			r = ftrack_batch_role(b, FTRACK_ROLE_REMOVE, a->user_id,
					      a->target_id, NULL);
		return r;
	}
	return FT_E_INTERNAL;
}

static int
add_marker(struct ftrack_batch *b, const struct pg_marker *m)
{
	if (m->value == NULL)
		return ftrack_batch_delete_marker(b, m->user_id, m->key, NULL);
	return ftrack_batch_set_marker(b, m->user_id, m->key, m->value,
				       m->exists, NULL);
}

/*
 * Each user's actions, then the markers recording them: one group.  The
 * operations of action i are [first[i], first[i] + count[i]).
 */
static int
fill_batch(const struct ctx *c, struct ftrack_batch *b, size_t *first,
	   size_t *count)
{
	size_t u, i = 0, j = 0;
	int r = FT_OK;

	for (u = 0; u < c->nusers && r == FT_OK; u++) {
		const char *id = c->users[u].id;

		while (r == FT_OK && i < c->plan.n &&
		       c->plan.actions[i].user_id == id) {
			first[i] = ftrack_batch_count(b);
			r = add_action(b, &c->plan.actions[i]);
			count[i] = ftrack_batch_count(b) - first[i];
			i++;
		}
		while (r == FT_OK && j < c->plan.nmarkers &&
		       c->plan.markers[j].user_id == id)
			r = add_marker(b, &c->plan.markers[j++]);
	}
	return r;
}

/* Each action's code from its operations; the failures logged. */
static size_t
note_results(const struct ctx *c, const struct ftrack_batch *b,
	     const size_t *first, const size_t *count,
	     struct sync_groups_result *ret)
{
	struct ftrack_result res;
	size_t i, k, failed = 0;

	for (i = 0; i < c->plan.n; i++) {
		int code = FT_OK;
		const char *msg = NULL;

		for (k = first[i]; k < first[i] + count[i]; k++)
			if (ftrack_batch_result(b, k, &res) == FT_OK &&
			    res.code != FT_OK && code == FT_OK) {
				code = res.code;
				msg = res.message;
			}
		ret->v[i].code = code;
		if (code == FT_OK)
			continue;
		failed++;
		log_error("unable to %s '%s' '%s': %s", ret->v[i].action,
			  ret->v[i].user, ret->v[i].target,
			  msg != NULL ? msg : ft_strerror(code));
	}
	return failed;
}

static void
log_plan(const struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->plan.n; i++) {
		const struct pg_action *a = &c->plan.actions[i];

		log_info("%s '%s' '%s': %s", plan_groups_kind_name(a->kind),
			 username_of(c, a), a->target, a->reason);
	}
	if (c->plan.held > 0)
		log_warn("%lu membership or role removal(s) held%s%s",
			 c->plan.held, c->plan.held_by != NULL ? " by " : "",
			 c->plan.held_by != NULL ? c->plan.held_by : "");
}

static enum hooks_action
hook_action_of(enum pg_kind k)
{
	switch (k) {
	case PG_GROUP_ADD:
		return HOOKS_GROUP_ADD;
	case PG_GROUP_REMOVE:
		return HOOKS_GROUP_REMOVE;
	case PG_ROLE_GRANT:
		return HOOKS_ROLE_GRANT;
	case PG_ROLE_REVOKE:
		break;
	}
	return HOOKS_ROLE_REVOKE;
}

/* The plan's actions journaled for the on_change hook (NULL: none). */
static struct hooks_intent *
intend(const struct ctx *c)
{
	struct hooks_change *v;
	struct hooks_intent *in;
	size_t i, k = 0;

	if (!hooks_enabled(c->hooks) || c->origin == NULL || c->plan.n == 0)
		return NULL;
	v = calloc(c->plan.n, sizeof(*v));
	if (v == NULL) {
		log_warn("unable to journal %zu group and role change(s) for "
			 "the on_change hook: out of memory",
			 c->plan.n);
		return NULL;
	}
	for (i = 0; i < c->plan.n; i++) {
		const struct pg_action *a = &c->plan.actions[i];
		const bool group =
			a->kind == PG_GROUP_ADD || a->kind == PG_GROUP_REMOVE;

		if (a->user >= c->nusers)
			continue;
		v[k++] = (struct hooks_change){hook_action_of(a->kind),
					       i,
					       c->who[a->user],
					       a->user_id,
					       0,
					       a->reason,
					       group ? "group" : "role",
					       a->target};
	}
	in = hooks_intend_changes(c->hooks, v, k, c->origin);
	free(v);
	return in;
}

static int
apply_plan(const struct ctx *c, struct sync_groups_result *ret)
{
	struct ftrack_batch *b = NULL;
	size_t *first = calloc(c->plan.n + 1, sizeof(*first));
	size_t *count = calloc(c->plan.n + 1, sizeof(*count));
	int *codes = calloc(c->plan.n + 1, sizeof(*codes));
	int r = first != NULL && count != NULL && codes != NULL
			? ftrack_batch_new(&b)
			: FT_E_NOMEM;

	if (r == FT_OK)
		r = fill_batch(c, b, first, count);
	if (r == FT_OK && ftrack_batch_count(b) > 0) {
		struct hooks_intent *in = intend(c);
		char err[512] = "";

		if (ftrack_batch_commit(c->ft, b, err, sizeof(err)) < 0)
			log_warn("some group and role changes were not "
				 "applied: %s",
				 err);
		ret->failed = note_results(c, b, first, count, ret);
		for (size_t i = 0; i < c->plan.n; i++)
			codes[i] = ret->v[i].code;
		hooks_applied(c->hooks, in, codes);
	}
	free(codes);
	log_plan(c);
	ftrack_batch_free(b);
	free(first);
	free(count);
	return r;
}

int
sync_groups_reconcile(const struct config *cfg, struct ftrack_client *ft,
		      const struct ft_user_list *ftrack,
		      const struct ft_user_list *ldap, bool apply, bool force,
		      struct hooks *hooks, const struct hooks_origin *origin,
		      struct sync_groups_result *ret)
{
	struct ctx c;
	char err[512] = "";
	int r;

	memset(&c, 0, sizeof(c));
	memset(ret, 0, sizeof(*ret));
	c.cfg = cfg;
	c.ft = ft;
	c.hooks = hooks;
	c.origin = origin;
	r = read_ldap(&c);
	if (r == FT_OK)
		r = read_names(&c, err, sizeof(err));
	if (r == FT_OK)
		r = read_state(&c, err, sizeof(err));
	if (r != FT_OK && r != FT_E_NOMEM) {
		log_error(
			"unable to read the ftrack groups and roles: %s (%s); "
			"no membership or role changed",
			err, ft_strerror(r));
		ret->read_failed = true;
	}
	if (r == FT_OK)
		r = make_users(&c, ftrack, ldap);
	if (r == FT_OK)
		r = make_have(&c);
	if (r == FT_OK)
		r = build(&c, force);
	if (r == FT_OK) {
		ret->changes = c.plan.n;
		ret->held = c.plan.held;
		ret->frozen = c.plan.frozen;
		ret->held_by = c.plan.held_by;
		r = fill_report(&c, ret);
	}
	if (r == FT_OK && apply) {
		r = apply_plan(&c, ret);
	}
	ctx_free(&c);
	return ret->read_failed ? FT_OK : r;
}

/* ---- before the users' plan: what old accounts hold by hand ---------- */

struct sync_groups_owned {
	struct ctx c;
	char why[PLAN_REASON_MAX / 2];
};

int
sync_groups_owned_read(const struct config *cfg, struct ftrack_client *ft,
		       const struct ft_user_list *ftrack,
		       struct sync_groups_owned **ret)
{
	struct sync_groups_owned *o = calloc(1, sizeof(*o));
	const struct ft_user_list none = {NULL, 0, 0};
	char err[512] = "";
	int r = o != NULL ? FT_OK : FT_E_NOMEM;

	*ret = NULL;
	if (o == NULL)
		return r;
	o->c.cfg = cfg;
	o->c.ft = ft;
	o->c.quiet = true; /* the groups phase logs the names left out */
	r = read_names(&o->c, err, sizeof(err));
	if (r == FT_OK)
		r = read_state(&o->c, err, sizeof(err));
	if (r == FT_OK)
		r = make_users(&o->c, ftrack, &none);
	if (r == FT_OK)
		r = make_have(&o->c);
	if (r != FT_OK) {
		log_error(
			"unable to read the ftrack groups and roles: %s (%s); "
			"no login reused by a new LDAP entry is relinked",
			err[0] ? err : ft_strerror(r), ft_strerror(r));
		sync_groups_owned_free(o);
		return r;
	}
	*ret = o;
	return FT_OK;
}

void
sync_groups_owned_free(struct sync_groups_owned *o)
{
	if (o == NULL)
		return;
	ctx_free(&o->c);
	free(o);
}

const char *
sync_groups_hand_made(void *ctx, const struct ft_user *f)
{
	struct sync_groups_owned *o = ctx;
	struct ctx *c = &o->c;
	struct pg_input in = {
		.cfg = &c->cfg->groups,
		.groups = c->groups,
		.ngroups = c->ngroups,
		.roles = c->roles,
		.nroles = c->nroles,
		.memberships = c->pm,
		.nmemberships = c->mem.n,
		.have_roles = c->pr,
		.nhave_roles = c->usr.n,
	};
	size_t i;

	for (i = 0; i < c->nusers; i++)
		if (c->who[i] == f)
			break;
	if (i == c->nusers)
		return NULL; /* not managed: no relink to decide */
	in.users = &c->users[i];
	in.nusers = 1;
	return plan_groups_hand_made(&in, &c->users[i], o->why, sizeof(o->why))
		       ? o->why
		       : NULL;
}

/* ---- check ------------------------------------------------------------- */

static int
check_map(const struct ctx *c, const struct groupmap *map,
	  const struct group_members *gm, bool role, FILE *out)
{
	int problems = 0, why;
	size_t i;

	for (i = 0; i < map->n; i++) {
		const char *id =
			role ? ftrack_role_resolve(&c->names, map->v[i].ftrack,
						   &why)
			     : ftrack_group_resolve(&c->names, map->v[i].ftrack,
						    &why);
		const char *section = role ? "role_map" : "group_map";

		if (id == NULL)
			ft_clean_print(out, "[%s] %s (line %d): %s", section,
				       map->v[i].ftrack, map->v[i].line,
				       why_text(why, role));
		else if (gm[i].dn == NULL)
			ft_clean_print(out,
				       "[%s] %s (line %d): LDAP group '%s' %s",
				       section, map->v[i].ftrack,
				       map->v[i].line, map->v[i].ldap,
				       gm[i].ambiguous ? "names two or more "
							 "groups (use its DN)"
						       : "not found");
		else
			ft_clean_print(out,
				       "[%s] %s (line %d): ok, '%s', %zu "
				       "member(s), %lu ignored",
				       section, map->v[i].ftrack,
				       map->v[i].line, gm[i].dn, gm[i].n,
				       gm[i].ignored);
		problems += id == NULL || gm[i].dn == NULL;
	}
	return problems;
}

int
sync_groups_check(const struct config *cfg, struct ftrack_client *ft, FILE *out)
{
	struct ctx c;
	int r;

	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.ft = ft;
	r = read_ldap(&c);
	if (r == FT_OK && c.ldap_status != FT_OK)
		r = c.ldap_status;
	if (r == FT_OK) {
		char err[512] = "";

		ftrack_names_init(&c.names);
		r = ftrack_names_read(ft, &c.names, err, sizeof(err));
		if (r != FT_OK)
			ft_clean_print(out,
				       "unable to read the ftrack groups and "
				       "roles: %s",
				       err);
	}
	if (r == FT_OK)
		r = check_map(&c, &cfg->groups.group_map, c.gm, false, out) +
		    check_map(&c, &cfg->groups.role_map, c.rm, true, out);
	ctx_free(&c);
	return r;
}

/* ---- at login ----------------------------------------------------------- */

struct sync_groups_cache {
	struct ftrack_names names;
	double read_at;
};

void
sync_groups_cache_free(struct sync_groups_cache *c)
{
	if (c == NULL)
		return;
	ftrack_names_clear(&c->names);
	free(c);
}

/* The mapping lines of one map the names resolve, or not (logged). */
static void
count_names(const struct ftrack_names *nm, const struct groupmap *map,
	    bool role, struct sync_groups_stats *st)
{
	size_t i;

	for (i = 0; i < map->n; i++) {
		int why = FT_E_NOTFOUND;
		const char *id =
			role ? ftrack_role_resolve(nm, map->v[i].ftrack, &why)
			     : ftrack_group_resolve(nm, map->v[i].ftrack, &why);

		if (id != NULL) {
			st->resolved++;
			continue;
		}
		st->missing++;
		st->failures++;
		log_warn("[%s] %s (line %d): %s; the line is left out at login",
			 role ? "role_map" : "group_map", map->v[i].ftrack,
			 map->v[i].line, why_text(why, role));
	}
}

static int
cache_fresh(const struct config *cfg, struct ftrack_client *ft,
	    struct sync_groups_cache **cache, struct sync_groups_stats *st,
	    char *err, size_t errlen)
{
	struct sync_groups_cache *c = *cache;
	int r;

	if (c != NULL &&
	    timing_now_s() - c->read_at < SYNC_GROUPS_CACHE_SECONDS)
		return FT_OK;
	sync_groups_cache_free(c);
	*cache = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return FT_E_NOMEM;
	ftrack_names_init(&c->names);
	r = ftrack_names_read(ft, &c->names, err, errlen);
	if (r < 0) {
		sync_groups_cache_free(c);
		st->failures++;
		return r;
	}
	c->read_at = timing_now_s();
	*cache = c;
	st->read = true;
	st->resolved = st->missing = 0;
	count_names(&c->names, &cfg->groups.group_map, false, st);
	count_names(&c->names, &cfg->groups.role_map, true, st);
	return FT_OK;
}

/* One line's members for one person: [who] when in, else none. */
static void
person_lines(const struct groupmap *map, const struct ldap_groups *mine,
	     char **who, struct group_members *gm)
{
	size_t i;

	for (i = 0; i < map->n; i++) {
		memset(&gm[i], 0, sizeof(gm[i]));
		gm[i].line = &map->v[i];
		gm[i].members = who;
		gm[i].n = *who != NULL && ldap_groups_line_in(&map->v[i], mine)
				  ? 1
				  : 0;
		gm[i].dn = gm[i].n > 0 ? "" : NULL;
	}
}

/* Whether the person is in any role_map line (c->rm, one person's). */
static bool
person_has_roles(const struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->cfg->groups.role_map.n; i++)
		if (c->rm[i].n > 0)
			return true;
	return false;
}

/*
 * fresh: the user was created in this batch.  Nothing of theirs can exist
 * in ftrack then but the default role ftrack may give a new user, which
 * is not known without a read; so the read is skipped only when no role
 * is wanted for them (their memberships alone cannot exist yet).
 */
static int
person_plan(struct ctx *c, const struct ft_user *l, const char *id, bool fresh,
	    char *err, size_t errlen)
{
	const struct ft_user_list none = {NULL, 0, 0};
	int r;

	c->users = calloc(1, sizeof(*c->users));
	c->who = calloc(1, sizeof(const struct ft_user *));
	c->dns = calloc(1, sizeof(*c->dns));
	if (c->users == NULL || c->who == NULL || c->dns == NULL)
		return FT_E_NOMEM;
	c->users[0].id = id;
	c->users[0].login = l->login;
	r = l->dn != NULL ? ldap_groups_dn_norm(l->dn, &c->dns[0]) : FT_OK;
	if (r == FT_E_NOMEM)
		return r;
	c->users[0].dn = c->dns[0];
	c->who[0] = l;
	c->nusers = 1;
	if (!fresh || person_has_roles(c))
		r = ftrack_person_state_read(c->ft, &id, 1, &c->mem, &c->usr,
					     &c->markers, err, errlen);
	if (r == FT_OK)
		r = make_index(c, &none);
	if (r == FT_OK) {
		c->users[0].groups_marker =
			marker_of(c, id, FTRACK_MARKER_GROUPS);
		c->users[0].roles_marker =
			marker_of(c, id, FTRACK_MARKER_ROLES);
		r = make_have(c);
	}
	/* no removal at login: the read is one person's, never complete */
	c->ldap_status = FT_E_PARTIAL;
	return r == FT_OK ? build(c, false) : r;
}

static bool
person_untouchable(const struct config *cfg, const struct ft_user *l)
{
	return l->username == NULL ||
	       strlist_has(&cfg->policy.protected_users, l->username) ||
	       strcmp(l->username, cfg->ftrack.api_user) == 0;
}

/* One person: groups from LDAP, state from ftrack, the additions. */
/* The additions that landed, into st. */
static void
count_added(const struct sync_groups_result *res, const struct ctx *c,
	    struct sync_groups_stats *st)
{
	size_t i;

	for (i = 0; i < c->plan.n; i++) {
		if (res->v[i].code != FT_OK)
			continue;
		if (c->plan.actions[i].kind == PG_GROUP_ADD)
			st->memberships_added++;
		else if (c->plan.actions[i].kind == PG_ROLE_GRANT)
			st->roles_granted++;
	}
}

static int
login_one(struct ctx *c, struct ldap_src *src, const struct ft_user *l,
	  const char *id, bool fresh, struct sync_groups_stats *st,
	  size_t *ret_changes, char *err, size_t errlen)
{
	const struct config *cfg = c->cfg;
	char *norm = NULL, *who[1] = {NULL};
	int r = ldap_src_groups_of(src, l->dn, l->login, &c->all);

	if (r < 0 && c->all.n == 0) {
		(void)snprintf(err, errlen, "%s", c->all.reason);
		return r;
	}
	c->gm = calloc(cfg->groups.group_map.n + 1, sizeof(*c->gm));
	c->rm = calloc(cfg->groups.role_map.n + 1, sizeof(*c->rm));
	if (c->gm == NULL || c->rm == NULL)
		return FT_E_NOMEM;
	if (cfg->groups.member_attribute == MEMBER_ATTR_MEMBER_UID)
		memcpy(&who[0], &l->login, sizeof(who[0]));
	else if (l->dn != NULL && ldap_groups_dn_norm(l->dn, &norm) == FT_OK)
		who[0] = norm;
	person_lines(&cfg->groups.group_map, &c->all, who, c->gm);
	person_lines(&cfg->groups.role_map, &c->all, who, c->rm);
	r = make_targets(c, &cfg->groups.group_map, c->gm, false, &c->groups,
			 &c->ngroups);
	if (r == FT_OK)
		r = make_targets(c, &cfg->groups.role_map, c->rm, true,
				 &c->roles, &c->nroles);
	if (r == FT_OK)
		r = person_plan(c, l, id, fresh, err, errlen);
	if (r == FT_OK && c->plan.n > 0) {
		struct sync_groups_result res;

		memset(&res, 0, sizeof(res));
		r = fill_report(c, &res);
		if (r == FT_OK)
			r = apply_plan(c, &res);
		if (r == FT_OK)
			count_added(&res, c, st);
		free(res.v);
		*ret_changes = res.failed > 0 ? 0 : c->plan.n;
		if (r == FT_OK && res.failed > 0) {
			(void)snprintf(err, errlen,
				       "%zu group or role change(s) refused",
				       res.failed);
			r = FT_E_DATA;
		}
	}
	free(norm);
	return r;
}

/* ctx_free for a login ctx: its gm/rm were not made by resolve. */
static void
login_ctx_free(struct ctx *c)
{
	free(c->gm);
	free(c->rm);
	c->gm = c->rm = NULL;
	ctx_free(c);
}

/* The host of the person a login's hook origin is narrowed to. */
struct person_origin {
	const struct hooks_origin *o;
	size_t person;
};

static const char *
person_host(void *ctx, size_t i)
{
	const struct person_origin *p = ctx;

	(void)i; /* an action's index: each person has their own origin */
	return p->o->host != NULL ? p->o->host(p->o->ctx, p->person) : NULL;
}

int
sync_groups_login(const struct config *cfg, struct ldap_src *src,
		  struct ftrack_client *ft, struct sync_groups_cache **cache,
		  const struct ft_user *const people[], const char *const ids[],
		  const bool created[], size_t n, struct hooks *hooks,
		  const struct hooks_origin *origin,
		  struct sync_groups_stats *st, size_t ret_changes[],
		  unsigned long *ret_searches, char *err, size_t errlen)
{
	size_t i;
	int r = sync_groups_enabled(cfg)
			? cache_fresh(cfg, ft, cache, st, err, errlen)
			: FT_OK;

	/* every person's count is written, whatever happens to them */
	if (n > 0)
		memset(ret_changes, 0, n * sizeof(*ret_changes));
	for (i = 0; r == FT_OK && sync_groups_enabled(cfg) && i < n; i++) {
		struct ctx c;
		struct person_origin po = {origin, i};
		struct hooks_origin o;

		if (ids[i] == NULL || people[i] == NULL ||
		    person_untouchable(cfg, people[i]))
			continue;
		memset(&c, 0, sizeof(c));
		c.cfg = cfg;
		c.ft = ft;
		c.nm = &(*cache)->names;
		c.quiet = true;
		if (origin != NULL) {
			o = *origin;
			o.host = person_host;
			o.ctx = &po;
			c.hooks = hooks;
			c.origin = &o;
		}
		r = login_one(&c, src, people[i], ids[i], created[i], st,
			      &ret_changes[i], err, errlen);
		*ret_searches += c.all.searches;
		login_ctx_free(&c);
	}
	return r;
}
